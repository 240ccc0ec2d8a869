/*
 * table.c - tables like avn's: upper-case headers, a line of '=' as wide
 * as each column, columns joined by two spaces, trailing spaces stripped.
 * A missing value (NULL) is an empty cell.
 */
#include <stdlib.h>
#include <string.h>

#include "aivenctl.h"

struct table {
	size_t ncols;
	size_t nrows;      /* including the header row */
	size_t cap;
	char **cells;      /* nrows * ncols */
};

static bool
add_row(struct table *t, const char *const cells[])
{
	size_t i;

	if (t->nrows == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (c == NULL)
			return false;
		t->cells = c;
		t->cap = cap;
	}
	for (i = 0; i < t->ncols; i++) {
		/* One record per line, nothing for the terminal to act on:
		 * newlines, tabs and ESC are shown, not obeyed. */
		/* A value the API did not give is an empty cell, not
		 * "null": a table is for reading (JSON keeps null). */
		char *s = visible_dup(cells[i] != NULL ? cells[i] : "");

		if (s == NULL) {
			while (i-- > 0)
				free(t->cells[t->nrows * t->ncols + i]);
			return false;
		}
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->nrows++;
	return true;
}

struct table *
table_new(size_t ncols, const char *const headers[])
{
	struct table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ncols = ncols;
	if (!add_row(t, headers)) {
		free(t);
		return NULL;
	}
	return t;
}

bool
table_add(struct table *t, const char *const cells[])
{
	return add_row(t, cells);
}

static void
print_row(FILE *fp, char *const *cells, const size_t *w, size_t ncols)
{
	size_t i, last = 0, len;

	/* Stop after the last non-empty cell so no trailing spaces remain. */
	for (i = 0; i < ncols; i++)
		if (cells[i][0] != '\0')
			last = i;
	for (i = 0; i <= last; i++) {
		len = strlen(cells[i]);
		fputs(cells[i], fp);
		if (i < last)
			fprintf(fp, "%*s", (int)(w[i] - len + 2), "");
	}
	fputc('\n', fp);
}

void
table_print(const struct table *t, FILE *fp)
{
	size_t *w, r, i, j;

	if ((w = calloc(t->ncols, sizeof(*w))) == NULL)
		return;
	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols; i++) {
			size_t l = strlen(t->cells[r * t->ncols + i]);

			if (l > w[i])
				w[i] = l;
		}
	print_row(fp, t->cells, w, t->ncols);
	for (i = 0; i < t->ncols; i++) {
		for (j = 0; j < w[i]; j++)
			fputc('=', fp);
		if (i + 1 < t->ncols)
			fputs("  ", fp);
	}
	fputc('\n', fp);
	for (r = 1; r < t->nrows; r++)
		print_row(fp, t->cells + r * t->ncols, w, t->ncols);
	free(w);
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
