/*
 * suggest.c - "did you mean": Levenshtein distance to a list of known
 * words, capped (suggest.h).
 */
#include <stdint.h>
#include <string.h>

#include "base/suggest.h"

#define WORD_MAX 64             /* longer words get no suggestion */
#define DIST_LIMIT 3            /* suggest only within DIST_LIMIT - 1 edits */

static size_t
edit_distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), i, j;
	size_t row[WORD_MAX + 1], prev, tmp, best;

	if (la > WORD_MAX || lb > WORD_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

void
suggest_init(struct suggest *s, const char *word, size_t len)
{
	s->word = word;
	s->len = len;
	s->best = NULL;
	s->dist = DIST_LIMIT;
}

void
suggest_consider(struct suggest *s, const char *cand)
{
	size_t d;

	if (cand == NULL || s->word == NULL)
		return;
	d = edit_distance(s->word, s->len, cand);
	if (d < s->dist) {
		s->dist = d;
		s->best = cand;
	}
}

const char *
suggest_best(const struct suggest *s)
{
	return s->best;
}
