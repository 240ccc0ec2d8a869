/*
 * suggest.h - "did you mean": the nearest known word to a misspelt one.
 *
 * One helper for every place that names what it did not understand:
 * config keys (config.c) and pam_aiven's module arguments and their
 * values (pam_aiven/opts.c, which compiles the core in).  Not exported.
 */
#ifndef AIVENAUTH_SUGGEST_H
#define AIVENAUTH_SUGGEST_H

#include <stddef.h>

struct suggest {
	const char *word;       /* what was written (not owned) */
	size_t len;             /* its length: may be a slice of a longer string */
	const char *best;       /* nearest candidate so far, or NULL */
	size_t dist;            /* its distance (starts at the limit) */
};

/* Start looking for the nearest word to word[0..len). */
void suggest_init(struct suggest *s, const char *word, size_t len);
/* Take cand into account (NULL is ignored). */
void suggest_consider(struct suggest *s, const char *cand);
/* The nearest candidate within two edits, or NULL: a wild guess is worse
 * than none. */
const char *suggest_best(const struct suggest *s);

/* Every config key (config.c), for callers that also accept them. */
void config_keys_suggest(struct suggest *s);

#endif /* AIVENAUTH_SUGGEST_H */
