/*
 * fuzz_acctmap.c - libFuzzer target: the local account map parser
 * (aivenauth-accounts(5)) and its matcher.  Oracles: no crash, no leak; a
 * refused map hands back nothing; an accepted map finds every one of its
 * accounts at its own line, accounts are unique, and matching any entry
 * against names and ids terminates (globs are not exponential); an
 * accepted map ends in a newline (a cut last line is a partial write).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aivenauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
quiet(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)strlen(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "ci-runner", "backup-nightly",
	    "", "u0123456789a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" };
	struct aivenauth_account_map *m = (void *)1;
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	size_t i, j, k;

	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		abort();
	aivenauth_set_log(ctx, quiet, NULL, 7);
	st = aivenauth_account_map_parse(ctx, "fuzz", (const char *)data, size,
	    &m);
	if (st != AIVENAUTH_OK) {
		if (m != NULL)
			abort();   /* a refused map handed something back */
		aivenauth_ctx_free(ctx);
		return 0;
	}
	if (size > 0 && data[size - 1] != '\n')
		abort();   /* a cut last line accepted (SECURITY.md O2) */
	for (i = 0; i < aivenauth_account_map_count(m); i++) {
		const struct aivenauth_account_entry *e =
		    aivenauth_account_map_entry(m, i);

		if (e == NULL || e->n_users == 0 ||
		    aivenauth_account_map_find(m, e->account) != e)
			abort();   /* lost, shadowed or empty line */
		for (j = 0; j < e->n_users; j++)
			(void)strlen(e->users[j]);
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			(void)aivenauth_account_entry_lists(e, names[k],
			    names[(k + 3) % 5]);
		if (e->n_users > 0)
			(void)aivenauth_account_entry_lists(e, e->users[0],
			    e->users[0]);
	}
	aivenauth_account_map_free(m);
	aivenauth_ctx_free(ctx);
	return 0;
}
