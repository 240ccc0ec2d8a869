/*
 * policy.c - parse and look up the per-service policy (policy.h).
 *
 * Strict like pam_aiven's arguments: an unknown option, a malformed or
 * repeated value, a service named twice -- the whole file is refused and
 * the responder does not start.  A typo in a security policy must not
 * silently widen it.
 *
 * Every piece of the file a message shows goes through pa_log_field()
 * (pam_aiven/logfield.h), as the module's own parser does: a token pasted
 * into the file (as a bare word, a realm, a service name, a scope) must
 * not reach stderr or syslog, not even its first 64 characters.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "base/internal.h"
#include "policy.h"
#include "../pam_aiven/args.h"
#include "../pam_aiven/logfield.h"

#define POLICY_MAX_FILE (256 * 1024)
#define POLICY_MAX_LINES 4096
#define TOKEN_MAX 1024

static const char *const realm_names[] = {
	[SP_REALM_REJOIN] = "rejoin",
	[SP_REALM_IGNORE] = "ignore",
	[SP_REALM_LIST] = "list",
};

const char *
sp_realm_name(enum sp_realm r)
{
	return (unsigned)r < sizeof(realm_names) / sizeof(realm_names[0]) ?
	    realm_names[r] : "?";
}

static void
policy_init(struct sp_policy *p, const char *service, unsigned line)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->service, sizeof(p->service), "%s", service);
	p->user_match = AIVENAUTH_MATCH_NAME;
	p->realm = SP_REALM_REJOIN;
	p->line = line;
}

static void
policy_clear(struct sp_policy *p)
{
	size_t i;

	free(p->scope);
	free(p->account_map);
	for (i = 0; i < p->n_realms; i++)
		free(p->realms[i]);
	memset(p, 0, sizeof(*p));
}

void
sp_free(struct sp_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		policy_clear(&t->p[i]);
	free(t->p);
	policy_clear(&t->def);
	memset(t, 0, sizeof(*t));
	policy_init(&t->def, "*", 0);
}

/* s[0..n) for a message (a piece of a line: not NUL-terminated). */
static const char *
shown(const char *s, size_t n, char *buf, size_t size)
{
	char piece[TOKEN_MAX + 1];

	if (n > TOKEN_MAX)
		n = TOKEN_MAX;
	memcpy(piece, s, n);
	piece[n] = '\0';
	return pa_log_field(piece, buf, size);
}

/* SASL service names: what libsasl2 callers pass ("smtp", "ldap",
 * "imap", "sieve"...). */
static bool
service_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (strcmp(s, "*") == 0)
		return true;
	if (n == 0 || n > SA_SERVICE_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return false;
	return true;
}

/* A realm as libsasl2 splits it off: the part after the last '@', a
 * domain name.  "-" in the file stands for "no realm". */
static bool
realm_word_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 1 && s[0] == '-')
		return true;
	if (n == 0 || n > SA_REALM_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' &&
		    s[i] != '_')
			return false;
	return true;
}

static bool
set_realms(struct sp_policy *p, const char *v, char *err, size_t errsize)
{
	const char *s = v, *comma;
	char vbuf[PA_LOG_FIELD];
	size_t n, i;

	while (*s != '\0') {
		comma = strchr(s, ',');
		n = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if (!realm_word_ok(s, n)) {
			snprintf(err, errsize, "realms: \"%s\" is not a realm "
			    "(a domain name, or - for none)",
			    shown(s, n, vbuf, sizeof(vbuf)));
			return false;
		}
		if (p->n_realms == SP_REALMS_MAX) {
			snprintf(err, errsize, "realms: more than %d", SP_REALMS_MAX);
			return false;
		}
		p->realms[p->n_realms] = (n == 1 && s[0] == '-') ? strdup("") :
		    strndup(s, n);
		if (p->realms[p->n_realms] == NULL) {
			snprintf(err, errsize, "out of memory");
			return false;
		}
		for (i = 0; p->realms[p->n_realms][i] != '\0'; i++)
			p->realms[p->n_realms][i] = (char)tolower(
			    (unsigned char)p->realms[p->n_realms][i]);
		p->n_realms++;
		if (comma == NULL)
			break;
		s = comma + 1;
		if (*s == '\0') {
			snprintf(err, errsize, "realms: empty entry after ','");
			return false;
		}
	}
	return true;
}

/* The module's options a policy line takes, through the module's own
 * parser; realm= and realms= are the responder's. */
static const char *const pam_keys[] = { "user_match", "scope", "account_map",
	NULL };

static bool
apply_pam_option(struct sp_policy *p, const char *opt, char *err,
    size_t errsize)
{
	struct pa_opts o;
	char vbuf[PA_LOG_FIELD];
	size_t i;

	memset(&o, 0, sizeof(o));
	o.user_match = p->user_match;
	if (pa_args_option(opt, pam_keys, &o, err, errsize) != PA_ARGS_OK)
		return false;
	p->user_match = o.user_match;
	if (o.scope != NULL) {
		/* One scope per line: the file is split on blanks, and a
		 * list would read as one scope that never matches. */
		for (i = 0; o.scope[i] != '\0'; i++)
			if (!isgraph((unsigned char)o.scope[i]) ||
			    o.scope[i] == ',') {
				snprintf(err, errsize, "scope=%s: one scope "
				    "name, printable, no ','",
				    pa_log_field(o.scope, vbuf, sizeof(vbuf)));
				return false;
			}
		if ((p->scope = strdup(o.scope)) == NULL) {
			snprintf(err, errsize, "out of memory");
			return false;
		}
	}
	if (o.account_map != NULL &&
	    (p->account_map = strdup(o.account_map)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return false;
	}
	return true;
}

/* One "key=value" of a line; seen[] refuses a repeated key. */
static bool
apply_option(struct sp_policy *p, const char *opt, unsigned *seen,
    char *err, size_t errsize)
{
	static const char *const keys[] = { "user_match", "scope", "realm",
		"realms", "account_map" };
	const char *eq = strchr(opt, '=');
	const char *v;
	char vbuf[PA_LOG_FIELD];
	size_t klen, k, i;

	if (eq == NULL || eq == opt || eq[1] == '\0') {
		snprintf(err, errsize, "\"%s\": an option is key=value "
		    "(user_match, scope, realm, realms, account_map)",
		    pa_log_field(opt, vbuf, sizeof(vbuf)));
		return false;
	}
	klen = (size_t)(eq - opt);
	v = eq + 1;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strlen(keys[k]) == klen && memcmp(keys[k], opt, klen) == 0)
			break;
	if (k == sizeof(keys) / sizeof(keys[0])) {
		snprintf(err, errsize, "unknown option \"%s\" (known: "
		    "user_match, scope, realm, realms, account_map)",
		    shown(opt, klen, vbuf, sizeof(vbuf)));
		return false;
	}
	if (*seen & (1u << k)) {
		snprintf(err, errsize, "%s given twice", keys[k]);
		return false;
	}
	*seen |= 1u << k;
	switch (k) {
	case 2:
		for (i = 0; i < sizeof(realm_names) / sizeof(realm_names[0]); i++)
			if (strcmp(v, realm_names[i]) == 0) {
				p->realm = (enum sp_realm)i;
				return true;
			}
		snprintf(err, errsize, "realm=%s: not one of rejoin, ignore, "
		    "list", pa_log_field(v, vbuf, sizeof(vbuf)));
		return false;
	case 3:
		return set_realms(p, v, err, errsize);
	default:
		return apply_pam_option(p, opt, err, errsize);
	}
}

/* Options that only make sense together. */
static bool
policy_consistent(const struct sp_policy *p, char *err, size_t errsize)
{
	if (p->realm == SP_REALM_LIST && p->n_realms == 0) {
		snprintf(err, errsize, "realm=list needs realms=LIST");
		return false;
	}
	if (p->account_map != NULL && p->user_match != AIVENAUTH_MATCH_MAP) {
		snprintf(err, errsize, "account_map= is only read with "
		    "user_match=map");
		return false;
	}
	if (p->realm != SP_REALM_LIST && p->n_realms != 0) {
		snprintf(err, errsize, "realms= is only read with realm=list");
		return false;
	}
	return true;
}

/* Split a line into blank-separated words, '#' to the end is a comment.
 * Returns the count (at most max), or -1 if a word is too long. */
static int
split_words(char *line, char **words, int max)
{
	int n = 0;
	char *s = line;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == max)
			return -1;
		words[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
		if (*s == '\0')
			return n;
		*s++ = '\0';
	}
}

#define WORDS_MAX 16

bool
sp_parse(const char *text, size_t len, const char *name, struct sp_table *t,
    char *err, size_t errsize)
{
	struct sp_table nt;
	struct sp_policy p;
	char line[TOKEN_MAX + 1], why[200], *words[WORDS_MAX];
	char wbuf[PA_LOG_FIELD], obuf[PA_LOG_FIELD], nbuf[PA_LOG_PATH];
	const char *s = text, *end = text + len, *nl;
	unsigned lineno = 0, seen;
	bool have_def = false;
	int nw, i;
	size_t n;

	memset(&nt, 0, sizeof(nt));
	policy_init(&nt.def, "*", 0);
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		n = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		lineno++;
		if (lineno > POLICY_MAX_LINES || n > TOKEN_MAX) {
			snprintf(why, sizeof(why), lineno > POLICY_MAX_LINES ?
			    "more than %d lines" : "line longer than %d bytes",
			    lineno > POLICY_MAX_LINES ? POLICY_MAX_LINES : TOKEN_MAX);
			goto fail;
		}
		if (memchr(s, '\0', n) != NULL) {
			snprintf(why, sizeof(why), "NUL byte");
			goto fail;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		s += n + (nl != NULL);
		nw = split_words(line, words, WORDS_MAX);
		if (nw < 0) {
			snprintf(why, sizeof(why), "more than %d words", WORDS_MAX);
			goto fail;
		}
		if (nw == 0)
			continue;
		if (!service_ok(words[0])) {
			snprintf(why, sizeof(why), "\"%s\" is not a SASL service "
			    "name (letters, digits, . _ -) or *",
			    pa_log_field(words[0], wbuf, sizeof(wbuf)));
			goto fail;
		}
		if (strcmp(words[0], "*") == 0 && have_def) {
			snprintf(why, sizeof(why), "service * has a line already "
			    "(line %u)", nt.def.line);
			goto fail;
		}
		if (sp_lookup(&nt, words[0]) != &nt.def) {
			const struct sp_policy *o = sp_lookup(&nt, words[0]);

			if (strcmp(o->service, words[0]) == 0)
				snprintf(why, sizeof(why), "service %s has a "
				    "line already (line %u)",
				    pa_log_field(words[0], wbuf, sizeof(wbuf)),
				    o->line);
			else
				snprintf(why, sizeof(why), "service %s has a "
				    "line already (line %u, as %s: service names "
				    "are compared without case)",
				    pa_log_field(words[0], wbuf, sizeof(wbuf)),
				    o->line,
				    pa_log_field(o->service, obuf, sizeof(obuf)));
			goto fail;
		}
		policy_init(&p, words[0], lineno);
		seen = 0;
		for (i = 1; i < nw; i++)
			if (!apply_option(&p, words[i], &seen, why, sizeof(why))) {
				policy_clear(&p);
				goto fail;
			}
		if (!policy_consistent(&p, why, sizeof(why))) {
			policy_clear(&p);
			goto fail;
		}
		if (strcmp(p.service, "*") == 0) {
			policy_clear(&nt.def);
			nt.def = p;
			have_def = true;
			continue;
		}
		{
			struct sp_policy *np = realloc(nt.p, (nt.n + 1) * sizeof(*np));

			if (np == NULL) {
				policy_clear(&p);
				snprintf(why, sizeof(why), "out of memory");
				goto fail;
			}
			nt.p = np;
			nt.p[nt.n++] = p;
		}
	}
	sp_free(t);
	*t = nt;
	return true;
fail:
	snprintf(err, errsize, "%s:%u: %s", pa_log_path(name, nbuf,
	    sizeof(nbuf)), lineno, why);
	sp_free(&nt);
	return false;
}

bool
sp_load(struct aivenauth_ctx *ctx, const char *path, struct sp_table *t,
    char *err, size_t errsize)
{
	const char *file = path != NULL ? path : SP_DEFAULT_FILE;
	enum aivenauth_status st;
	char *text = NULL, nbuf[PA_LOG_PATH];
	size_t len = 0;
	bool ok;

	st = read_trusted(ctx, file, TRUST_CONFIG, POLICY_MAX_FILE, &text, &len);
	if (st == AIVENAUTH_ERR_NOT_FOUND && path == NULL) {
		sp_free(t);      /* no file: the built-in default */
		return true;
	}
	if (st != AIVENAUTH_OK) {
		snprintf(err, errsize, "policy file %s: %s",
		    pa_log_path(file, nbuf, sizeof(nbuf)), aivenauth_strerror(st));
		return false;
	}
	ok = sp_parse(text, len, file, t, err, errsize);
	free(text);
	return ok;
}

/* ASCII only, whatever the locale: "SMTP" and "smtp" are one service,
 * and no locale may fold some other byte onto a configured name. */
static bool
service_eq(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char)*a;
		y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
		if (x == '\0')
			return true;
	}
}

/*
 * Service names are compared without case: libsasl2 callers pass "smtp",
 * but nothing in the protocol says so, and a client sending "SMTP" (or an
 * operator writing "SMTP") must not fall through to the default policy
 * unnoticed.
 */
const struct sp_policy *
sp_lookup(const struct sp_table *t, const char *service)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (service_eq(t->p[i].service, service))
			return &t->p[i];
	return &t->def;
}

bool
sp_realm_listed(const struct sp_policy *p, const char *realm)
{
	size_t i;

	for (i = 0; i < p->n_realms; i++)
		if (strcasecmp(p->realms[i], realm) == 0)
			return true;
	return false;
}
