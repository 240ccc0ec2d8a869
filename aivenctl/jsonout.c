/*
 * jsonout.c - --json output: pretty-printed with a 4-space indent and
 * sorted keys (avn's json.dumps(indent=4, sort_keys=True)), snake_case keys,
 * times as RFC 3339 strings, null when absent.
 *
 * `token create --json` puts a full token into a jansson string, so jansson
 * allocates through a free that wipes, and the text is written with
 * write(2) from a buffer that is wiped too (stdio would keep a copy).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aivenctl.h"

static void
wiping_free(void *p)
{
	if (p == NULL)
		return;
	secret_wipe(p, malloc_usable_size(p));
	free(p);
}

void
json_init_alloc(void)
{
	json_set_alloc_funcs(malloc, wiping_free);
}

bool
write_stdout(const char *p, size_t len)
{
	ssize_t n;

	fflush(stdout);
	while (len > 0) {
		n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

int
json_print(json_t *v)
{
	size_t flags = JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENSURE_ASCII, need;
	char *buf;
	int rc = 0;

	if (v == NULL) {
		ctl_err("out of memory");
		return EX_OSERR;
	}
	need = json_dumpb(v, NULL, 0, flags);
	if (need == 0 || (buf = malloc(need + 1)) == NULL) {
		ctl_err("cannot format JSON output");
		return EX_OSERR;
	}
	if (json_dumpb(v, buf, need, flags) != need) {
		ctl_err("cannot format JSON output");
		rc = EX_SOFTWARE;
	} else {
		buf[need] = '\n';
		if (!write_stdout(buf, need + 1)) {
			ctl_err("cannot write to stdout: %s", strerror(errno));
			rc = EX_IOERR;
		}
	}
	secret_wipe(buf, need + 1);
	free(buf);
	return rc;
}

json_t *
json_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

json_t *
json_time(int64_t t)
{
	char buf[32];
	const char *s = fmt_time(t, buf);

	return t != 0 && strcmp(s, "null") != 0 ? json_string(s) : json_null();
}

json_t *
json_int_or_null(int64_t v)
{
	return v != 0 ? json_integer(v) : json_null();
}

json_t *
json_strv(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_str(v[i]));
	return a;
}

json_t *
json_user(const struct aivenauth_user *u)
{
	return json_pack("{s:o, s:o, s:o, s:o}",
	    "user_id", json_str(u->user_id),
	    "name", json_str(u->name),
	    "user_email", json_str(u->email),
	    "create_time", json_time(u->create_time));
}

json_t *
json_token(const struct aivenauth_token *t, int64_t now)
{
	char sb[64];
	json_t *o;

	o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:b, "
	    "s:o, s:o, s:o, s:o, s:o}",
	    "token_prefix", json_str(t->prefix),
	    "user_id", json_str(t->user_id),
	    "user_name", json_str(t->user_name),
	    "user_email", json_str(t->user_email),
	    "description", json_str(t->description),
	    "create_time", json_time(t->create_time),
	    "expiry_time", json_time(t->expiry_time),
	    "max_age_seconds", json_int_or_null(t->max_age_seconds),
	    "extend_when_used", t->extend_when_used,
	    "created_manually", t->created_manually,
	    "scopes", json_strv(t->scopes, t->n_scopes),
	    "ip_allowlist", json_strv(t->ip_allowlist, t->n_ip_allowlist),
	    "last_used_time", json_time(t->last_used_time),
	    "last_ip", json_str(t->last_ip),
	    "last_user_agent", json_str(t->last_user_agent));
	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "enrolled", json_boolean(t->enrolled)) ||
	    json_object_set_new(o, "revoked",
	    json_boolean(token_revoked_by(t, now) != NULL)) ||
	    json_object_set_new(o, "revoked_by",
	    json_str(token_revoked_by(t, now))) ||
	    json_object_set_new(o, "revoke_at", json_time(t->revoke_at)) ||
	    json_object_set_new(o, "removed_time",
	    json_time(t->removed_time)) ||
	    json_object_set_new(o, "local_expiry",
	    json_time(t->local_expiry)) ||
	    json_object_set_new(o, "effective_expiry_time",
	    json_time(aivenauth_token_expiry(t))) ||
	    json_object_set_new(o, "state",
	    json_string(token_state(t, now, sb)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
kv(const char *k, const char *v)
{
	printf("%-22s ", k);
	fput_visible(v, stdout);
	putchar('\n');
}

static void
kv_list(const char *k, char *const *v, size_t n)
{
	char *s = join_list(v, n);

	kv(k, s != NULL ? s : "?");
	free(s);
}

void
print_token_details(const struct aivenauth_token *t, int64_t now)
{
	char b[32], sb[64], nb[32];

	kv("token_prefix:", nn(t->prefix));
	kv("user_id:", nn(t->user_id));
	kv("user_name:", nn(t->user_name));
	kv("user_email:", nn(t->user_email));
	kv("description:", nn(t->description));
	kv("create_time:", fmt_time(t->create_time, b));
	kv("expiry_time:", fmt_time(t->expiry_time, b));
	if (t->max_age_seconds != 0)
		snprintf(nb, sizeof(nb), "%lld", (long long)t->max_age_seconds);
	kv("max_age_seconds:", t->max_age_seconds != 0 ? nb : "null");
	kv("extend_when_used:", t->extend_when_used ? "true" : "false");
	kv("created_manually:", t->created_manually ? "true" : "false");
	kv_list("scopes:", t->scopes, t->n_scopes);
	kv_list("ip_allowlist:", t->ip_allowlist, t->n_ip_allowlist);
	kv("last_used_time:", fmt_time(t->last_used_time, b));
	kv("last_ip:", nn(t->last_ip));
	kv("last_user_agent:", nn(t->last_user_agent));
	kv("enrolled:", t->enrolled ? "true" : "false");
	kv("revoked:", token_revoked_by(t, now) != NULL ? "true" : "false");
	kv("revoked_by:", nn(token_revoked_by(t, now)));
	kv("revoke_at:", fmt_time(t->revoke_at, b));
	kv("removed_time:", fmt_time(t->removed_time, b));
	kv("local_expiry:", fmt_time(t->local_expiry, b));
	kv("effective_expiry_time:", fmt_time(aivenauth_token_expiry(t), b));
	kv("state:", token_state(t, now, sb));
}
