/*
 * opts.c - table-driven parser of pam_aiven's module arguments.
 *
 * As pam_faillock's args_parse: config=FILE is found first and loaded, then
 * every argument is applied in order so that arguments override the file.
 * Unlike the stock modules, an unknown or malformed argument is fatal
 * (PAM_SERVICE_ERR): a typo in a security policy must not silently widen
 * it (design.md section 2, fail closed).
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "aivenauth.h"
#include "logfield.h"
#include "opts.h"
#include "base/suggest.h"

/* Library messages go to pam_syslog: the library never logs a secret. */
static void
pa_log_cb(void *arg, int level, const char *msg)
{
	pam_syslog((pam_handle_t *)arg, level, "%s", msg);
}

enum opt_kind {
	OPT_FLAG,   /* "name" alone */
	OPT_VALUE,  /* "name=value", value not empty */
};

struct opt_def {
	const char *name;
	enum opt_kind kind;
	/* Returns false if the value is malformed. */
	bool (*apply)(struct pa_opts *o, const char *value);
	/* The words the value may be (NULL-terminated), for "did you
	 * mean"; NULL for a free value. */
	const char *const *values;
};

static bool
set_debug(struct pa_opts *o, const char *v)
{
	(void)v;
	o->debug = true;
	return true;
}

static bool
set_use_first_pass(struct pa_opts *o, const char *v)
{
	(void)v;
	o->use_first_pass = true;
	return true;
}

static bool
set_try_first_pass(struct pa_opts *o, const char *v)
{
	(void)v;
	o->try_first_pass = true;
	return true;
}

static const struct {
	const char *name;
	enum aivenauth_user_match m;
} user_matches[] = {
	{ "name", AIVENAUTH_MATCH_NAME },
	{ "id", AIVENAUTH_MATCH_ID },
	{ "email", AIVENAUTH_MATCH_EMAIL },
	{ "any", AIVENAUTH_MATCH_ANY },
	{ "map", AIVENAUTH_MATCH_MAP },
};

const char *
pa_user_match_name(enum aivenauth_user_match m)
{
	size_t i;

	for (i = 0; i < sizeof(user_matches) / sizeof(user_matches[0]); i++)
		if (user_matches[i].m == m)
			return user_matches[i].name;
	return "?";
}

static const char *const user_match_words[] = {
	"name", "id", "email", "map", "any", NULL
};
static const char *const non_token_words[] = { "fail", "ignore", NULL };

static bool
set_user_match(struct pa_opts *o, const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(user_matches) / sizeof(user_matches[0]); i++) {
		if (strcmp(v, user_matches[i].name) == 0) {
			o->user_match = user_matches[i].m;
			return true;
		}
	}
	return false;
}

static bool
set_scope(struct pa_opts *o, const char *v)
{
	o->scope = v;
	return true;
}

/* The service's own account map: config account_map_file for this
 * context (applied after the loop, when the context is known). */
static bool
set_account_map(struct pa_opts *o, const char *v)
{
	if (v[0] != '/')
		return false;
	o->account_map = v;
	return true;
}

static bool
set_non_token(struct pa_opts *o, const char *v)
{
	if (strcmp(v, "fail") == 0)
		o->non_token_ignore = false;
	else if (strcmp(v, "ignore") == 0)
		o->non_token_ignore = true;
	else
		return false;
	return true;
}

/* config= was handled in the first pass. */
static bool
set_nothing(struct pa_opts *o, const char *v)
{
	(void)o;
	(void)v;
	return true;
}

static const struct opt_def opt_table[] = {
	{ "config", OPT_VALUE, set_nothing, NULL },
	{ "debug", OPT_FLAG, set_debug, NULL },
	{ "use_first_pass", OPT_FLAG, set_use_first_pass, NULL },
	{ "try_first_pass", OPT_FLAG, set_try_first_pass, NULL },
	{ "user_match", OPT_VALUE, set_user_match, user_match_words },
	{ "scope", OPT_VALUE, set_scope, NULL },
	{ "non_token", OPT_VALUE, set_non_token, non_token_words },
	{ "account_map", OPT_VALUE, set_account_map, NULL },
	/* max_stale=N and every other config key: aivenauth_config_set(). */
};

/* " (did you mean \"x\"?)" or "", for a log line. */
static const char *
did_you_mean(const struct suggest *s, char *buf, size_t size)
{
	const char *best = suggest_best(s);

	if (best == NULL)
		return "";
	snprintf(buf, size, " (did you mean \"%s\"?)", best);
	return buf;
}

/* The module option or config key nearest to an unknown argument name. */
static const char *
name_suggestion(const char *name, size_t nlen, char *buf, size_t size)
{
	struct suggest s;
	size_t i;

	suggest_init(&s, name, nlen);
	for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		suggest_consider(&s, opt_table[i].name);
	config_keys_suggest(&s);
	return did_you_mean(&s, buf, size);
}

/* The allowed value nearest to a bad one, for options with a fixed set. */
static const char *
value_suggestion(const struct opt_def *d, const char *value, char *buf,
    size_t size)
{
	struct suggest s;
	size_t i;

	if (d->values == NULL)
		return "";
	suggest_init(&s, value, strlen(value));
	for (i = 0; d->values[i] != NULL; i++)
		suggest_consider(&s, d->values[i]);
	return did_you_mean(&s, buf, size);
}

/* Split "name=value" without copying: *nlen = length of name, *value =
 * after '=' or NULL. */
static void
split_arg(const char *arg, size_t *nlen, const char **value)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL) {
		*nlen = strlen(arg);
		*value = NULL;
	} else {
		*nlen = (size_t)(eq - arg);
		*value = eq + 1;
	}
}

static const struct opt_def *
find_opt(const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		if (strlen(opt_table[i].name) == nlen &&
		    strncmp(opt_table[i].name, name, nlen) == 0)
			return &opt_table[i];
	return NULL;
}

static int
apply_config_key(pam_handle_t *pamh, struct aivenauth_ctx *ctx,
    const char *arg, size_t nlen, const char *value)
{
	char key[64];
	enum aivenauth_status st;

	if (nlen == 0 || nlen >= sizeof(key))
		return -1;
	memcpy(key, arg, nlen);
	key[nlen] = '\0';
	if (!aivenauth_config_is_key(key))
		return -1;
	if (value == NULL || *value == '\0') {
		pam_syslog(pamh, LOG_ERR, "module argument \"%s\" needs a value "
		    "(%s=VALUE)", key, key);
		return PAM_SERVICE_ERR;
	}
	st = aivenauth_config_set(ctx, key, value);
	if (st == AIVENAUTH_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (st != AIVENAUTH_OK) {
		pam_syslog(pamh, LOG_ERR, "module argument %s: invalid value "
		    "(%s)", key, aivenauth_strerror(st));
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

/* Without a context (a pooled one already has the config): is it a
 * config key with a value?  Same answers as apply_config_key's checks. */
static int
check_config_key(const char *arg, size_t nlen, const char *value)
{
	char key[64];

	if (nlen == 0 || nlen >= sizeof(key))
		return -1;
	memcpy(key, arg, nlen);
	key[nlen] = '\0';
	if (!aivenauth_config_is_key(key))
		return -1;
	return value != NULL && *value != '\0' ? PAM_SUCCESS : PAM_SERVICE_ERR;
}

/*
 * Is argv[i]'s name given again later?  The last one would win, and which
 * one is last is easy to miss in a long line: "user_match=name ...
 * user_match=any" would quietly widen the policy.  Refused, as the config
 * file refuses a duplicate key.  The name is logged unless token-shaped.
 */
static int
check_duplicate(pam_handle_t *pamh, int argc, const char **argv, int i)
{
	size_t nlen, mlen;
	const char *value;
	int j;

	split_arg(argv[i], &nlen, &value);
	if (nlen == 0)
		return PAM_SUCCESS;  /* reported by the second pass */
	for (j = i + 1; j < argc; j++) {
		if (argv[j] == NULL)
			continue;
		split_arg(argv[j], &mlen, &value);
		if (mlen != nlen || strncmp(argv[i], argv[j], nlen) != 0)
			continue;
		if (pa_token_run(argv[i], nlen))
			pam_syslog(pamh, LOG_ERR, "module argument given twice "
			    "(token-shaped: not logged)");
		else
			pam_syslog(pamh, LOG_ERR, "module argument \"%.*s\" "
			    "given twice: refused, as a config file refuses a "
			    "duplicate key", (int)(nlen > 40 ? 40 : nlen),
			    argv[i]);
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

/*
 * account_map=FILE is the short name of the config key account_map_file
 * for one service; both in one line would leave which one holds to the
 * reader.  Refused, like a duplicate argument.
 */
static int
apply_account_map(pam_handle_t *pamh, int argc, const char **argv,
    struct aivenauth_ctx *ctx, const struct pa_opts *o)
{
	enum aivenauth_status st;
	int i;

	if (o->account_map == NULL)
		return PAM_SUCCESS;
	for (i = 0; i < argc; i++) {
		if (argv[i] != NULL &&
		    strncmp(argv[i], "account_map_file=", 17) == 0) {
			pam_syslog(pamh, LOG_ERR, "module arguments account_map= "
			    "and account_map_file= both given: use one");
			return PAM_SERVICE_ERR;
		}
	}
	if (ctx == NULL)
		return PAM_SUCCESS;
	st = aivenauth_config_set(ctx, "account_map_file", o->account_map);
	if (st == AIVENAUTH_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (st != AIVENAUTH_OK) {
		pam_syslog(pamh, LOG_ERR, "module argument account_map: invalid "
		    "value (%s)", aivenauth_strerror(st));
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

void
pa_opts_set_log(pam_handle_t *pamh, struct aivenauth_ctx *ctx,
    const struct pa_opts *o)
{
	aivenauth_set_log(ctx, pa_log_cb, pamh, o->debug ? LOG_DEBUG : LOG_INFO);
}

int
pa_opts_parse(pam_handle_t *pamh, int flags, int argc, const char **argv,
    struct aivenauth_ctx *ctx, struct pa_opts *o)
{
	enum aivenauth_status st;
	size_t nlen;
	const char *value;
	int i, rc;

	memset(o, 0, sizeof(*o));
	o->user_match = AIVENAUTH_MATCH_NAME;
	o->silent = (flags & PAM_SILENT) != 0;

	/* First pass: duplicates, config= and debug (which decides the log
	 * level of what loading the file says). */
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			continue;
		rc = check_duplicate(pamh, argc, argv, i);
		if (rc != PAM_SUCCESS)
			return rc;
		if (strcmp(argv[i], "debug") == 0)
			o->debug = true;
		if (strncmp(argv[i], "config=", 7) == 0) {
			o->config_file = argv[i] + 7;
			if (*o->config_file == '\0') {
				pam_syslog(pamh, LOG_ERR,
				    "module argument config= needs a file name");
				return PAM_SERVICE_ERR;
			}
			/* Relative to what?  The caller's working directory
			 * is the caller's choice, not the administrator's. */
			if (*o->config_file != '/') {
				pam_syslog(pamh, LOG_ERR, "module argument "
				    "config= must be an absolute path");
				return PAM_SERVICE_ERR;
			}
		}
	}
	if (ctx != NULL) {
		aivenauth_set_log(ctx, pa_log_cb, pamh,
		    o->debug ? LOG_DEBUG : LOG_INFO);
		st = aivenauth_config_load(ctx, o->config_file,
		    o->config_file != NULL);
	} else {
		st = AIVENAUTH_OK;
	}
	if (st == AIVENAUTH_ERR_NOMEM)
		return PAM_BUF_ERR;
	if (st != AIVENAUTH_OK) {
		pam_syslog(pamh, LOG_ERR, "cannot load config %s: %s",
		    o->config_file != NULL ? o->config_file : "(default)",
		    aivenauth_strerror(st));
		return PAM_SERVICE_ERR;
	}

	/* Second pass: everything, in order. */
	for (i = 0; i < argc; i++) {
		const struct opt_def *d;

		if (argv[i] == NULL || argv[i][0] == '\0') {
			pam_syslog(pamh, LOG_ERR, "empty module argument");
			return PAM_SERVICE_ERR;
		}
		split_arg(argv[i], &nlen, &value);
		d = find_opt(argv[i], nlen);
		if (d == NULL) {
			rc = ctx != NULL ?
			    apply_config_key(pamh, ctx, argv[i], nlen, value) :
			    check_config_key(argv[i], nlen, value);
			if (rc == PAM_SUCCESS)
				continue;
			if (rc == -1) {
				/* The name only, and not even that if it
				 * looks like a token pasted by mistake. */
				char sbuf[80];

				if (pa_token_run(argv[i], nlen))
					pam_syslog(pamh, LOG_ERR, "unknown module "
					    "argument (token-shaped: not logged)");
				else
					pam_syslog(pamh, LOG_ERR,
					    "unknown module argument \"%.*s\"%s",
					    (int)(nlen > 40 ? 40 : nlen), argv[i],
					    name_suggestion(argv[i], nlen, sbuf,
					    sizeof(sbuf)));
				return PAM_SERVICE_ERR;
			}
			return rc;
		}
		if (d->kind == OPT_FLAG && value != NULL) {
			pam_syslog(pamh, LOG_ERR, "module argument \"%s\" takes "
			    "no value", d->name);
			return PAM_SERVICE_ERR;
		}
		if (d->kind == OPT_VALUE && (value == NULL || *value == '\0')) {
			pam_syslog(pamh, LOG_ERR, "module argument \"%s\" needs "
			    "a value (%s=VALUE)", d->name, d->name);
			return PAM_SERVICE_ERR;
		}
		if (!d->apply(o, value)) {
			char vbuf[PA_LOG_FIELD], sbuf[80];

			pam_syslog(pamh, LOG_ERR, "module argument %s: invalid "
			    "value \"%s\"%s", d->name,
			    pa_log_field(value, vbuf, sizeof(vbuf)),
			    value_suggestion(d, value, sbuf, sizeof(sbuf)));
			return PAM_SERVICE_ERR;
		}
	}
	return apply_account_map(pamh, argc, argv, ctx, o);
}
