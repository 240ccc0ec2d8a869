/*
 * record.c - lifetime of the public record structs (user, token): clear,
 * free, deep copy.  Compiled into the network module too, which returns
 * records the core frees.
 */
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"

char *
xstrdup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool
strv_copy(char ***dst, size_t *dn, char *const *src, size_t n)
{
	size_t i;

	*dst = NULL;
	*dn = 0;
	if (n == 0)
		return true;
	if ((*dst = calloc(n, sizeof(**dst))) == NULL)
		return false;
	for (i = 0; i < n; i++) {
		if (((*dst)[i] = xstrdup_or_null(src[i])) == NULL) {
			strv_free(*dst, i);
			*dst = NULL;
			return false;
		}
	}
	*dn = n;
	return true;
}

void
aivenauth_user_clear(struct aivenauth_user *u)
{
	if (u == NULL)
		return;
	free(u->user_id);
	free(u->name);
	free(u->email);
	memset(u, 0, sizeof(*u));
}

void
aivenauth_token_clear(struct aivenauth_token *t)
{
	if (t == NULL)
		return;
	free(t->prefix);
	free(t->user_id);
	free(t->user_name);
	free(t->user_email);
	free(t->description);
	strv_free(t->scopes, t->n_scopes);
	strv_free(t->ip_allowlist, t->n_ip_allowlist);
	free(t->last_ip);
	free(t->last_user_agent);
	memset(t, 0, sizeof(*t));
}

void
aivenauth_users_free(struct aivenauth_user *u, size_t n)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < n; i++)
		aivenauth_user_clear(&u[i]);
	free(u);
}

void
aivenauth_tokens_free(struct aivenauth_token *t, size_t n)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < n; i++)
		aivenauth_token_clear(&t[i]);
	free(t);
}

int64_t
aivenauth_token_expiry(const struct aivenauth_token *t)
{
	if (t->expiry_time == 0 && t->local_expiry == 0)
		return 0;
	return t->expiry_time > t->local_expiry ? t->expiry_time : t->local_expiry;
}

#define DUP(field) \
	do { \
		if (src->field != NULL && \
		    (dst->field = strdup(src->field)) == NULL) \
			goto fail; \
	} while (0)

bool
user_copy(struct aivenauth_user *dst, const struct aivenauth_user *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->create_time = src->create_time;
	DUP(user_id);
	DUP(name);
	DUP(email);
	return true;
fail:
	aivenauth_user_clear(dst);
	return false;
}

bool
token_copy(struct aivenauth_token *dst, const struct aivenauth_token *src)
{
	*dst = *src;
	dst->prefix = dst->user_id = dst->user_name = dst->user_email = NULL;
	dst->description = dst->last_ip = dst->last_user_agent = NULL;
	dst->scopes = dst->ip_allowlist = NULL;
	dst->n_scopes = dst->n_ip_allowlist = 0;
	DUP(prefix);
	DUP(user_id);
	DUP(user_name);
	DUP(user_email);
	DUP(description);
	DUP(last_ip);
	DUP(last_user_agent);
	if (!strv_copy(&dst->scopes, &dst->n_scopes, src->scopes, src->n_scopes) ||
	    !strv_copy(&dst->ip_allowlist, &dst->n_ip_allowlist,
	    src->ip_allowlist, src->n_ip_allowlist))
		goto fail;
	return true;
fail:
	aivenauth_token_clear(dst);
	return false;
}
