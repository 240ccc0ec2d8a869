/*
 * args.h - the pure parser of pam_aiven's module arguments: no libpam, no
 * context.  The module (opts.c) and `aivenctl doctor` (doctor_pam.c)
 * both link it, so that the doctor judges a line in /etc/pam.d exactly as
 * the module will: same options, same values, same "did you mean".
 */
#ifndef PAM_AIVEN_ARGS_H
#define PAM_AIVEN_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "aivenauth.h"

struct pa_opts {
	bool debug;
	bool silent;               /* PAM_SILENT was passed */
	bool use_first_pass;       /* honoured by pam_get_authtok() itself */
	bool try_first_pass;       /* ditto */
	bool non_token_ignore;     /* non_token=ignore */
	enum aivenauth_user_match user_match;
	const char *scope;         /* points into argv, or NULL */
	const char *config_file;   /* points into argv, or NULL */
	const char *account_map;   /* account_map=FILE, in argv, or NULL */
};

/* Room for one error message (the log line without the syslog prefix). */
#define PA_ARGS_ERR 256

/* A config key given as a module argument, applied (or only checked) by
 * the caller: AIVENAUTH_OK, AIVENAUTH_ERR_NOMEM or a refusal (its
 * aivenauth_strerror() goes in the message). */
typedef enum aivenauth_status (*pa_args_set_fn)(void *arg, const char *key,
    const char *value);

/* Outcome of a pass. */
enum pa_args_rc {
	PA_ARGS_OK = 0,
	PA_ARGS_BAD,     /* unknown, malformed or repeated argument: err set */
	PA_ARGS_NOMEM,
};

/*
 * First pass, before any config is loaded: defaults into *o, duplicates
 * refused, debug and config= found (config= must be an absolute path).
 */
enum pa_args_rc pa_args_first(int argc, const char **argv, struct pa_opts *o,
    char *err, size_t errsize);

/*
 * Second pass: every argument in order.  Module options go into *o;
 * anything else must be a config key with a value, handed to set (NULL:
 * only checked for a value, as for a pooled context that already has
 * them).  An unknown name gets "did you mean" among the options and the
 * config keys; a bad value of an option with a fixed set, among its
 * values.  A token-shaped argument is never quoted in err.
 */
enum pa_args_rc pa_args_apply(int argc, const char **argv, struct pa_opts *o,
    pa_args_set_fn set, void *set_arg, char *err, size_t errsize);

/*
 * One option of the module's, "name=value", written in another file that
 * takes them (aivenauth-saslauthd's policy file): name must be one of
 * allowed (NULL-terminated), and the value is checked and applied to *o
 * by the same table as the module's arguments -- a user_match value the
 * module knows, the responder knows.  PA_ARGS_BAD with err set
 * ("user_match=nmae: invalid value (did you mean \"name\"?)").
 */
enum pa_args_rc pa_args_option(const char *arg, const char *const *allowed,
    struct pa_opts *o, char *err, size_t errsize);

/* The user_match value as written in arguments ("name", "id"...). */
const char *pa_user_match_name(enum aivenauth_user_match m);

#endif /* PAM_AIVEN_ARGS_H */
