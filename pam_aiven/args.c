/*
 * args.c - table-driven parser of pam_aiven's module arguments, pure: it
 * neither logs nor touches a context, it fills struct pa_opts and says
 * what is wrong in a message.  opts.c logs that message with pam_syslog;
 * `aivenctl doctor` prints it next to the line of /etc/pam.d it came from.
 * One parser for both, so that the doctor cannot pass a line the module
 * will refuse (a typo such as "scpoe=projects:read").
 *
 * As pam_faillock's args_parse: config=FILE is found first, then every
 * argument is applied in order so that arguments override the file.
 * Unlike the stock modules, an unknown or malformed argument is fatal: a
 * typo in a security policy must not silently widen it (design.md
 * section 2, fail closed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "logfield.h"
#include "base/suggest.h"

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
	/* What a free value must be, for the message; or NULL. */
	const char *hint;
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
 * context (applied by the module after the arguments, when the context is
 * known). */
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
	{ "config", OPT_VALUE, set_nothing, NULL, NULL },
	{ "debug", OPT_FLAG, set_debug, NULL, NULL },
	{ "use_first_pass", OPT_FLAG, set_use_first_pass, NULL, NULL },
	{ "try_first_pass", OPT_FLAG, set_try_first_pass, NULL, NULL },
	{ "user_match", OPT_VALUE, set_user_match, user_match_words, NULL },
	{ "scope", OPT_VALUE, set_scope, NULL, NULL },
	{ "non_token", OPT_VALUE, set_non_token, non_token_words, NULL },
	{ "account_map", OPT_VALUE, set_account_map, NULL,
	  "an absolute path" },
	/* max_stale=N and every other config key: the caller's set(). */
};

static void say(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

/* " (did you mean \"x\"?)" or "", for a message. */
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
	const char *k;
	size_t i;

	suggest_init(&s, name, nlen);
	for (i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++)
		suggest_consider(&s, opt_table[i].name);
	for (i = 0; (k = aivenauth_config_key_at(i)) != NULL; i++)
		suggest_consider(&s, k);
	return did_you_mean(&s, buf, size);
}

/* The allowed value nearest to a bad one, for options with a fixed set;
 * what a free value must be for the others. */
static const char *
value_suggestion(const struct opt_def *d, const char *value, char *buf,
    size_t size)
{
	struct suggest s;
	size_t i;

	if (d->values == NULL) {
		if (d->hint == NULL)
			return "";
		snprintf(buf, size, " (%s)", d->hint);
		return buf;
	}
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

/* A config key with a value: applied through set, or only checked.
 * PA_ARGS_OK, PA_ARGS_BAD (err set), PA_ARGS_NOMEM; -1 if not a key. */
static int
config_key(const char *arg, size_t nlen, const char *value,
    pa_args_set_fn set, void *set_arg, char *err, size_t errsize)
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
		say(err, errsize, "module argument \"%s\" needs a value "
		    "(%s=VALUE)", key, key);
		return PA_ARGS_BAD;
	}
	if (set == NULL)
		return PA_ARGS_OK;
	st = set(set_arg, key, value);
	if (st == AIVENAUTH_ERR_NOMEM)
		return PA_ARGS_NOMEM;
	if (st != AIVENAUTH_OK) {
		say(err, errsize, "module argument %s: invalid value (%s)", key,
		    aivenauth_strerror(st));
		return PA_ARGS_BAD;
	}
	return PA_ARGS_OK;
}

/*
 * Is argv[i]'s name given again later?  The last one would win, and which
 * one is last is easy to miss in a long line: "user_match=name ...
 * user_match=any" would quietly widen the policy.  Refused, as the config
 * file refuses a duplicate key.  The name is quoted unless token-shaped.
 */
static bool
duplicate(int argc, const char **argv, int i, char *err, size_t errsize)
{
	size_t nlen, mlen;
	const char *value;
	int j;

	split_arg(argv[i], &nlen, &value);
	if (nlen == 0)
		return false;  /* reported by the second pass */
	for (j = i + 1; j < argc; j++) {
		if (argv[j] == NULL)
			continue;
		split_arg(argv[j], &mlen, &value);
		if (mlen != nlen || strncmp(argv[i], argv[j], nlen) != 0)
			continue;
		if (pa_token_run(argv[i], nlen))
			say(err, errsize, "module argument given twice "
			    "(token-shaped: not logged)");
		else
			say(err, errsize, "module argument \"%.*s\" given "
			    "twice: refused, as a config file refuses a "
			    "duplicate key", (int)(nlen > 40 ? 40 : nlen),
			    argv[i]);
		return true;
	}
	return false;
}

enum pa_args_rc
pa_args_first(int argc, const char **argv, struct pa_opts *o, char *err,
    size_t errsize)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->user_match = AIVENAUTH_MATCH_NAME;
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL)
			continue;
		if (duplicate(argc, argv, i, err, errsize))
			return PA_ARGS_BAD;
		if (strcmp(argv[i], "debug") == 0)
			o->debug = true;
		if (strncmp(argv[i], "config=", 7) == 0) {
			o->config_file = argv[i] + 7;
			if (*o->config_file == '\0') {
				say(err, errsize, "module argument config= "
				    "needs a file name");
				return PA_ARGS_BAD;
			}
			/* Relative to what?  The caller's working directory
			 * is the caller's choice, not the administrator's. */
			if (*o->config_file != '/') {
				say(err, errsize, "module argument config= "
				    "must be an absolute path");
				return PA_ARGS_BAD;
			}
		}
	}
	return PA_ARGS_OK;
}

/* Apply one known option's value; the message says "module argument
 * NAME: ..." in the module's words, "NAME=VALUE: ..." in a file's. */
static enum pa_args_rc
apply_def(const struct opt_def *d, const char *value, struct pa_opts *o,
    bool module, char *err, size_t errsize)
{
	const char *what = module ? "module argument " : "option ";
	char vbuf[PA_LOG_FIELD], sbuf[80];

	if (d->kind == OPT_FLAG && value != NULL) {
		say(err, errsize, "%s\"%s\" takes no value", what, d->name);
		return PA_ARGS_BAD;
	}
	if (d->kind == OPT_VALUE && (value == NULL || *value == '\0')) {
		say(err, errsize, "%s\"%s\" needs a value (%s=VALUE)", what,
		    d->name, d->name);
		return PA_ARGS_BAD;
	}
	if (d->apply(o, value))
		return PA_ARGS_OK;
	if (module)
		say(err, errsize, "module argument %s: invalid value \"%s\"%s",
		    d->name, pa_log_field(value, vbuf, sizeof(vbuf)),
		    value_suggestion(d, value, sbuf, sizeof(sbuf)));
	else
		say(err, errsize, "%s=%s: invalid value%s", d->name,
		    pa_log_field(value, vbuf, sizeof(vbuf)),
		    value_suggestion(d, value, sbuf, sizeof(sbuf)));
	return PA_ARGS_BAD;
}

enum pa_args_rc
pa_args_option(const char *arg, const char *const *allowed,
    struct pa_opts *o, char *err, size_t errsize)
{
	const struct opt_def *d;
	const char *value;
	size_t nlen, i;

	split_arg(arg, &nlen, &value);
	d = find_opt(arg, nlen);
	for (i = 0; d != NULL && allowed[i] != NULL; i++)
		if (strcmp(allowed[i], d->name) == 0)
			return apply_def(d, value, o, false, err, errsize);
	say(err, errsize, "\"%.*s\" is not an option here",
	    (int)(nlen > 40 ? 40 : nlen), arg);
	return PA_ARGS_BAD;
}

enum pa_args_rc
pa_args_apply(int argc, const char **argv, struct pa_opts *o,
    pa_args_set_fn set, void *set_arg, char *err, size_t errsize)
{
	size_t nlen;
	const char *value;
	int i, rc;

	for (i = 0; i < argc; i++) {
		const struct opt_def *d;

		if (argv[i] == NULL || argv[i][0] == '\0') {
			say(err, errsize, "empty module argument");
			return PA_ARGS_BAD;
		}
		split_arg(argv[i], &nlen, &value);
		d = find_opt(argv[i], nlen);
		if (d == NULL) {
			rc = config_key(argv[i], nlen, value, set, set_arg, err,
			    errsize);
			if (rc >= 0) {
				if (rc != PA_ARGS_OK)
					return (enum pa_args_rc)rc;
				continue;
			}
			/* The name only, and not even that if it looks like
			 * a token pasted by mistake. */
			if (pa_token_run(argv[i], nlen)) {
				say(err, errsize, "unknown module argument "
				    "(token-shaped: not logged)");
			} else {
				char sbuf[80];

				say(err, errsize, "unknown module argument "
				    "\"%.*s\"%s", (int)(nlen > 40 ? 40 : nlen),
				    argv[i], name_suggestion(argv[i], nlen, sbuf,
				    sizeof(sbuf)));
			}
			return PA_ARGS_BAD;
		}
		rc = apply_def(d, value, o, true, err, errsize);
		if (rc != PA_ARGS_OK)
			return (enum pa_args_rc)rc;
	}
	return PA_ARGS_OK;
}
