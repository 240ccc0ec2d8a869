/*
 * acctmap.c - parse the local account map (aivenauth-accounts(5)); the
 * queries a login makes are in acctmap_match.c.
 *
 *   # local account   application users (names, u-ids, globs)   options
 *   deploy            ci-runner terraform-prod u1abc2345678
 *   backup            backup-*                    from=10.0.0.0/8
 *
 * The map decides who may log in as whom, root included, so it is parsed
 * like the config: strictly, and all or nothing.  Any mistake refuses the
 * whole map with FILE:LINE:COLUMN (a half-read map could drop the from=
 * of a line, or keep a line the admin just deleted), and so does a last
 * line without its newline: the sign of a half-written file.  Accounts are
 * matched literally and a duplicate account line is an error, not a
 * merge: which of two lines holds would depend on reading order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/acctmap.h"

struct parse {
	struct aivenauth_ctx *ctx;
	const char *name;
	unsigned lineno;
	const char *line;          /* start of the current line, for columns */
	struct aivenauth_account_map *m;
	size_t cap_lines;
	size_t *user_start;        /* per line: index into the users array */
	size_t *from_start;        /* per line: index into cidrs */
	char **users;
	size_t n_users, cap_users;
	struct cidr *cidrs;
	size_t n_cidrs, cap_cidrs;
};

static enum aivenauth_status PRINTF(3, 4)
perr(struct parse *ps, const char *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx_log(ps->ctx, LOG_ERR, "%s:%u:%u: %s; the whole account map is "
	    "refused", ps->name, ps->lineno, (unsigned)(at - ps->line) + 1, msg);
	return AIVENAUTH_ERR_CONFIG;
}

static bool
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return true;
	nc = *cap != 0 ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	if ((np = realloc(*p, nc * size)) == NULL)
		return false;
	*p = np;
	*cap = nc;
	return true;
}

static int
cmp_line(const void *a, const void *b)
{
	const struct acct_line *x = *(const struct acct_line *const *)a;
	const struct acct_line *y = *(const struct acct_line *const *)b;
	int c = strcmp(x->pub.account, y->pub.account);

	if (c != 0)
		return c;
	return x->pub.line < y->pub.line ? -1 : x->pub.line > y->pub.line;
}

/* A byte allowed inside a field: printable, not a space. */
static bool
field_byte(unsigned char c)
{
	return c > ' ' && c != 0x7f;
}

static enum aivenauth_status
parse_from(struct parse *ps, char *v)
{
	char *item = v, *comma;
	size_t count = 0;

	for (;;) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*item == '\0')
			return perr(ps, item, "empty address range in from= "
			    "(expected from=CIDR[,CIDR...])");
		if (++count > ACCTMAP_FROM_MAX)
			return perr(ps, item, "more than %d ranges in from=",
			    ACCTMAP_FROM_MAX);
		if (!grow((void **)&ps->cidrs, &ps->cap_cidrs, ps->n_cidrs + 1,
		    sizeof(*ps->cidrs)))
			return AIVENAUTH_ERR_NOMEM;
		if (!cidr_parse(item, strlen(item), &ps->cidrs[ps->n_cidrs]))
			return perr(ps, item, "\"%.64s\" is not an address range "
			    "(expected e.g. 10.0.0.0/8, 2001:db8::/32 or "
			    "192.0.2.7)", item);
		ps->n_cidrs++;
		if (comma == NULL)
			break;
		*comma = ',';      /* keep the text whole for display */
		item = comma + 1;
	}
	return AIVENAUTH_OK;
}

static enum aivenauth_status
parse_scope(struct parse *ps, const char *v)
{
	const char *c;

	if (*v == '\0')
		return perr(ps, v, "empty scope= (expected e.g. "
		    "scope=projects:read)");
	if (strlen(v) > ACCTMAP_SCOPE_MAX)
		return perr(ps, v, "scope= longer than %d bytes",
		    ACCTMAP_SCOPE_MAX);
	for (c = v; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == ':' || *c == '_' ||
		    *c == '-' || *c == '.'))
			return perr(ps, c, "character '%c' in scope= (a scope is "
			    "letters, digits and : _ - .)", *c);
	return AIVENAUTH_OK;
}

static enum aivenauth_status
parse_option(struct parse *ps, struct acct_line *l, char *tok, char *eq)
{
	enum aivenauth_status st;
	char *v = eq + 1;

	*eq = '\0';
	if (strcmp(tok, "from") == 0) {
		if (l->pub.from != NULL)
			return perr(ps, tok, "from= given twice on one line "
			    "(list the ranges in one from=, comma-separated)");
		if ((st = parse_from(ps, v)) != AIVENAUTH_OK)
			return st;
		l->pub.from = v;
	} else if (strcmp(tok, "scope") == 0) {
		if (l->pub.scope != NULL)
			return perr(ps, tok, "scope= given twice on one line");
		if ((st = parse_scope(ps, v)) != AIVENAUTH_OK)
			return st;
		l->pub.scope = v;
	} else {
		return perr(ps, tok, "unknown option \"%.64s=\" (the options "
		    "are from= and scope=)", tok);
	}
	return AIVENAUTH_OK;
}

static enum aivenauth_status
check_user(struct parse *ps, const char *tok)
{
	const char *c;

	for (c = tok; *c != '\0'; c++)
		if (*c == '[' || *c == ']' || *c == '\\')
			return perr(ps, c, "character '%c' in application user "
			    "\"%.64s\" (globs have only * and ?)", *c, tok);
	if (strlen(tok) > AIVENAUTH_NAME_MAX)
		return perr(ps, tok, "application user longer than %d bytes",
		    AIVENAUTH_NAME_MAX);
	return AIVENAUTH_OK;
}

static enum aivenauth_status
check_account(struct parse *ps, const char *tok)
{
	const char *c;

	if ((c = strpbrk(tok, "*?")) != NULL)
		return perr(ps, c, "a local account is matched literally: "
		    "\"%.64s\" holds a glob character (globs are for "
		    "application users)", tok);
	if ((c = strchr(tok, '=')) != NULL)
		return perr(ps, tok, "a line starts with the local account, "
		    "not an option (\"%.64s\")", tok);
	if (strlen(tok) > AIVENAUTH_NAME_MAX)
		return perr(ps, tok, "local account longer than %d bytes",
		    AIVENAUTH_NAME_MAX);
	return AIVENAUTH_OK;
}

/* Room for one more line in the three per-line arrays (grown together:
 * they share cap_lines). */
static bool
grow_lines(struct parse *ps)
{
	size_t cap = ps->cap_lines, need = ps->m->n + 1;
	void *a, *b;

	if (need <= cap)
		return true;
	if (!grow((void **)&ps->m->lines, &cap, need, sizeof(*ps->m->lines)))
		return false;
	if ((a = realloc(ps->user_start, cap * sizeof(size_t))) != NULL)
		ps->user_start = a;
	if ((b = realloc(ps->from_start, cap * sizeof(size_t))) != NULL)
		ps->from_start = b;
	if (a == NULL || b == NULL)
		return false;      /* lines grew: harmless, freed with m */
	ps->cap_lines = cap;
	return true;
}

/* One line, [p, p + n) inside the writable copy; p[n] is '\n' or NUL. */
static enum aivenauth_status
parse_line(struct parse *ps, char *p, size_t n)
{
	struct acct_line *l = NULL;
	enum aivenauth_status st;
	char *end = p + n, *tok, *q, *eq;
	bool options = false;

	ps->line = p;
	if (n > 0 && end[-1] == '\r')
		*--end = '\0';
	*end = '\0';
	for (q = p; q < end; q++) {
		if (*q == '\0')
			return perr(ps, q, "NUL byte (is this a text file?)");
		if (*q != ' ' && *q != '\t' && !field_byte((unsigned char)*q))
			return perr(ps, q, "control character 0x%02x",
			    (unsigned)(unsigned char)*q);
	}
	q = p;
	for (;;) {
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0' || *q == '#')
			break;
		tok = q;
		while (field_byte((unsigned char)*q))
			q++;
		if (*q != '\0')
			*q++ = '\0';
		if (l == NULL) {
			if ((st = check_account(ps, tok)) != AIVENAUTH_OK)
				return st;
			if (!grow_lines(ps))
				return AIVENAUTH_ERR_NOMEM;
			l = &ps->m->lines[ps->m->n];
			memset(l, 0, sizeof(*l));
			l->pub.account = tok;
			l->pub.line = ps->lineno;
			ps->user_start[ps->m->n] = ps->n_users;
			ps->from_start[ps->m->n] = ps->n_cidrs;
			ps->m->n++;
			continue;
		}
		if ((eq = strchr(tok, '=')) != NULL) {
			if (l->pub.n_users == 0)
				return perr(ps, tok, "an option before any "
				    "application user (a line is: account, "
				    "users, then options)");
			options = true;
			if ((st = parse_option(ps, l, tok, eq)) != AIVENAUTH_OK)
				return st;
			continue;
		}
		if (options)
			return perr(ps, tok, "application user \"%.64s\" after "
			    "an option (options come last on a line)", tok);
		if ((st = check_user(ps, tok)) != AIVENAUTH_OK)
			return st;
		if (!grow((void **)&ps->users, &ps->cap_users, ps->n_users + 1,
		    sizeof(*ps->users)))
			return AIVENAUTH_ERR_NOMEM;
		ps->users[ps->n_users++] = tok;
		l->pub.n_users++;
	}
	if (l != NULL && l->pub.n_users == 0)
		return perr(ps, q, "local account \"%.64s\" lists no "
		    "application user", l->pub.account);
	return AIVENAUTH_OK;
}

void
aivenauth_account_map_free(struct aivenauth_account_map *m)
{
	if (m == NULL)
		return;
	free(m->text);
	free(m->users);
	free(m->cidrs);
	free(m->lines);
	free(m->sorted);
	free(m);
}

/* Point each line at its slice of the shared arrays, sort, and refuse a
 * duplicate account. */
static enum aivenauth_status
finish(struct parse *ps)
{
	struct aivenauth_account_map *m = ps->m;
	size_t i, next;

	m->users = ps->users;
	ps->users = NULL;
	m->cidrs = ps->cidrs;
	ps->cidrs = NULL;
	for (i = 0; i < m->n; i++) {
		m->lines[i].pub.users = (const char *const *)m->users +
		    ps->user_start[i];
		next = i + 1 < m->n ? ps->from_start[i + 1] : ps->n_cidrs;
		m->lines[i].n_from = next - ps->from_start[i];
		m->lines[i].from = m->lines[i].n_from > 0 ?
		    m->cidrs + ps->from_start[i] : NULL;
	}
	if (m->n > 0 && (m->sorted = malloc(m->n * sizeof(*m->sorted))) == NULL)
		return AIVENAUTH_ERR_NOMEM;
	for (i = 0; i < m->n; i++)
		m->sorted[i] = &m->lines[i];
	if (m->n > 1)
		qsort(m->sorted, m->n, sizeof(*m->sorted), cmp_line);
	for (i = 1; i < m->n; i++) {
		if (strcmp(m->sorted[i]->pub.account,
		    m->sorted[i - 1]->pub.account) == 0) {
			ctx_log(ps->ctx, LOG_ERR, "%s:%u:1: a second line for "
			    "local account \"%.64s\" (the first is line %u): "
			    "merge them into one; the whole account map is "
			    "refused", ps->name, m->sorted[i]->pub.line,
			    m->sorted[i]->pub.account,
			    m->sorted[i - 1]->pub.line);
			return AIVENAUTH_ERR_CONFIG;
		}
	}
	return AIVENAUTH_OK;
}

enum aivenauth_status
aivenauth_account_map_parse(struct aivenauth_ctx *ctx, const char *name,
    const char *text, size_t len, struct aivenauth_account_map **mapp)
{
	enum aivenauth_status st = AIVENAUTH_OK;
	struct parse ps;
	char *p, *nl, *end;

	if (mapp != NULL)
		*mapp = NULL;
	if (ctx == NULL || mapp == NULL || (text == NULL && len > 0))
		return AIVENAUTH_ERR_INVALID;
	if (name == NULL)
		name = "account map";
	memset(&ps, 0, sizeof(ps));
	ps.ctx = ctx;
	ps.name = name;
	if (len > ACCTMAP_MAX_FILE) {
		ctx_log(ctx, LOG_ERR, "%s: account map too large (%zu bytes, at "
		    "most %u); the whole account map is refused", name, len,
		    ACCTMAP_MAX_FILE);
		return AIVENAUTH_ERR_TOO_LARGE;
	}
	if ((ps.m = calloc(1, sizeof(*ps.m))) == NULL ||
	    (ps.m->text = malloc(len + 1)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(ps.m->text, text, len);
	ps.m->text[len] = '\0';
	p = ps.m->text;
	end = p + len;
	while (p < end) {
		ps.lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) > ACCTMAP_LINE_MAX) {
			ps.line = p;
			st = perr(&ps, p + ACCTMAP_LINE_MAX, "line longer than "
			    "%d bytes", ACCTMAP_LINE_MAX);
			goto out;
		}
		if (nl == end) {
			/* A map is a text file: every line ends in a newline.
			 * A last line without one is what a reader sees of a
			 * map being rewritten in place (truncated, then written
			 * a page at a time), and a cut line can be wider than
			 * the whole one: "from=" or the end of a glob gone.
			 * Refusing it leaves only cuts at a line boundary, and
			 * those only drop whole accounts (one line per account,
			 * nothing later narrows an earlier line): narrower. */
			ps.line = p;
			st = perr(&ps, nl, "the last line does not end in a "
			    "newline: this looks like a partial write (a map "
			    "being rewritten in place); end the file with a "
			    "newline, and install edits by rename "
			    "(aivenauth-accounts(5))");
			goto out;
		}
		if ((st = parse_line(&ps, p, (size_t)(nl - p))) != AIVENAUTH_OK)
			goto out;
		p = nl + 1;
	}
	st = finish(&ps);
out:
	if (st == AIVENAUTH_ERR_NOMEM)
		ctx_log(ctx, LOG_ERR, "%s: out of memory reading the account map",
		    name);
	free(ps.users);
	free(ps.cidrs);
	free(ps.user_start);
	free(ps.from_start);
	if (st != AIVENAUTH_OK) {
		aivenauth_account_map_free(ps.m);
		return st;
	}
	*mapp = ps.m;
	return AIVENAUTH_OK;
}
