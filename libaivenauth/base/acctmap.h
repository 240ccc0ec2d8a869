/*
 * acctmap.h - the local account map (design.md section 8,
 * aivenauth-accounts(5)): which application users may log into which
 * local account.  Read on the reader's side (PAM, the SASL responder,
 * aivenctl verify), so it lives in base/ and depends on nothing else.
 */
#ifndef AIVENAUTH_ACCTMAP_H
#define AIVENAUTH_ACCTMAP_H

#include <sys/stat.h>

#include "base/internal.h"

#define ACCTMAP_MAX_FILE (8u << 20)   /* bytes: ~100,000 typical lines */
#define ACCTMAP_LINE_MAX 65536        /* bytes of one line */
#define ACCTMAP_FROM_MAX 64           /* CIDRs in one from= */
#define ACCTMAP_SCOPE_MAX 128         /* bytes of one scope= */

/* One line, parsed.  pub is what the public API hands out. */
struct acct_line {
	struct aivenauth_account_entry pub;
	struct cidr *from;
	size_t n_from;
};

struct aivenauth_account_map {
	char *text;                   /* the file, tokens NUL-split in place */
	char **users;                 /* every line's users, one array */
	struct cidr *cidrs;           /* every line's from=, one array */
	struct acct_line *lines;      /* file order */
	size_t n;
	struct acct_line **sorted;    /* by account, for bsearch */
};

/* The line of account, or NULL (account NULL: NULL). */
const struct acct_line *acctmap_find(const struct aivenauth_account_map *m,
    const char *account);
/* How a line lists a user, the most specific way it does: an id names
 * one user; a glob admits every name like it, by design; an exact name is
 * a display name, which several users may hold (verify.c refuses then). */
enum acct_match {
	ACCT_MATCH_NONE = 0,
	ACCT_MATCH_NAME,
	ACCT_MATCH_GLOB,
	ACCT_MATCH_ID,
};
/* Does the line list the user (name/id as (pointer, length), not NUL-
 * terminated: straight out of the cache record), and how? */
enum acct_match acct_line_lists(const struct acct_line *l, const char *name,
    size_t name_len, const char *id, size_t id_len);
/* Is rhost (an IP literal) inside the line's from=?  A line without
 * from= admits any address; with one, no usable address is refused. */
bool acct_line_from_ok(const struct acct_line *l, const char *rhost);

/*
 * The map as the verify path sees it: the file named by config
 * account_map_file, read again only when lstat() says it changed (or was
 * changed so recently that a same-size rewrite in the same clock tick
 * could hide).  *out stays valid until the next call on ctx.  On failure
 * (missing, unsafe, invalid) nothing is kept, so the next login reads
 * the file again and logs why again.
 */
enum aivenauth_status acctmap_current(struct aivenauth_ctx *ctx,
    const struct aivenauth_account_map **out);
/* How many times the file was read (tests, bench: "not re-read"). */
unsigned long acctmap_reads(const struct aivenauth_ctx *ctx);
void acctmap_cache_free(struct aivenauth_ctx *ctx);

#endif
