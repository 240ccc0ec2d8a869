/*
 * rec.c - encode and decode cache records (see rec.h for the layout).
 */
#include <stdlib.h>
#include <string.h>

#include "base/rec.h"

static void
put_i64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

static int64_t
get_i64(const unsigned char *p)
{
	uint64_t u = 0;
	int i;

	for (i = 7; i >= 0; i--)
		u = (u << 8) | p[i];
	return (int64_t)u;
}

static enum aivenauth_status
put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	return buf_add(b, p, 4);
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static enum aivenauth_status
put_str(struct buf *b, const char *s)
{
	enum aivenauth_status st;
	size_t n = s != NULL ? strlen(s) : 0;

	if (n > REC_STR_MAX)
		return AIVENAUTH_ERR_TOO_LARGE;
	if ((st = put_u32(b, (uint32_t)n)) != AIVENAUTH_OK)
		return st;
	return buf_add(b, s, n);
}

static enum aivenauth_status
put_list(struct buf *b, char *const *v, size_t n)
{
	enum aivenauth_status st;
	size_t i;

	if (n > REC_LIST_MAX)
		return AIVENAUTH_ERR_TOO_LARGE;
	if ((st = put_u32(b, (uint32_t)n)) != AIVENAUTH_OK)
		return st;
	for (i = 0; i < n; i++)
		if ((st = put_str(b, v[i])) != AIVENAUTH_OK)
			return st;
	return AIVENAUTH_OK;
}

/* Read one length-prefixed string at *pos. */
static bool
get_str(const unsigned char *d, size_t size, size_t *pos, struct sv *out)
{
	uint32_t n;

	if (size - *pos < 4)
		return false;
	n = get_u32(d + *pos);
	*pos += 4;
	if (n > REC_STR_MAX || size - *pos < n)
		return false;
	out->p = (const char *)d + *pos;
	out->n = n;
	*pos += n;
	return true;
}

static bool
get_list(const unsigned char *d, size_t size, size_t *pos, uint32_t *count,
    const unsigned char **list, size_t *len)
{
	size_t start;
	uint32_t i, n;
	struct sv s;

	if (size - *pos < 4)
		return false;
	n = get_u32(d + *pos);
	*pos += 4;
	if (n > REC_LIST_MAX)
		return false;
	start = *pos;
	for (i = 0; i < n; i++)
		if (!get_str(d, size, pos, &s))
			return false;
	*count = n;
	*list = d + start;
	*len = *pos - start;
	return true;
}

bool
sv_list_next(const unsigned char *list, size_t len, size_t *pos, struct sv *out)
{
	if (*pos >= len)
		return false;
	return get_str(list, len, pos, out);
}

bool
tok_decode(const void *data, size_t size, struct tok_view *v)
{
	const unsigned char *d = data;
	size_t pos = TOK_HDR_SIZE;

	if (size < TOK_HDR_SIZE || d[0] != REC_VERSION)
		return false;
	v->flags = d[1];
	v->create_time = get_i64(d + 8);
	v->expiry_time = get_i64(d + 16);
	v->max_age = get_i64(d + 24);
	v->last_used_time = get_i64(d + 32);
	v->revoke_at = get_i64(d + 40);
	v->removed_time = get_i64(d + 48);
	v->local_expiry = get_i64(d + 56);
	v->hash = d + 64;
	return get_str(d, size, &pos, &v->user_id) &&
	    get_str(d, size, &pos, &v->user_name) &&
	    get_str(d, size, &pos, &v->user_email) &&
	    get_str(d, size, &pos, &v->description) &&
	    get_str(d, size, &pos, &v->last_ip) &&
	    get_str(d, size, &pos, &v->last_ua) &&
	    get_list(d, size, &pos, &v->n_scopes, &v->scopes, &v->scopes_len) &&
	    get_list(d, size, &pos, &v->n_ips, &v->ips, &v->ips_len) &&
	    pos == size;
}

enum aivenauth_status
tok_encode(const struct aivenauth_token *t, const unsigned char *hash,
    struct buf *out)
{
	unsigned char h[TOK_HDR_SIZE];
	enum aivenauth_status st;

	memset(h, 0, sizeof(h));
	h[0] = REC_VERSION;
	h[1] = (t->extend_when_used ? TOK_F_EXTEND : 0) |
	    (t->created_manually ? TOK_F_MANUAL : 0) |
	    (hash != NULL ? TOK_F_HASH : 0) | (t->revoked ? TOK_F_REVOKED : 0);
	put_i64(h + 8, t->create_time);
	put_i64(h + 16, t->expiry_time);
	put_i64(h + 24, t->max_age_seconds);
	put_i64(h + 32, t->last_used_time);
	put_i64(h + 40, t->revoke_at);
	put_i64(h + 48, t->removed_time);
	put_i64(h + 56, t->local_expiry);
	if (hash != NULL)
		memcpy(h + 64, hash, HASH_BYTES);
	if ((st = buf_add(out, h, sizeof(h))) != AIVENAUTH_OK ||
	    (st = put_str(out, t->user_id)) != AIVENAUTH_OK ||
	    (st = put_str(out, t->user_name)) != AIVENAUTH_OK ||
	    (st = put_str(out, t->user_email)) != AIVENAUTH_OK ||
	    (st = put_str(out, t->description)) != AIVENAUTH_OK ||
	    (st = put_str(out, t->last_ip)) != AIVENAUTH_OK ||
	    (st = put_str(out, t->last_user_agent)) != AIVENAUTH_OK ||
	    (st = put_list(out, t->scopes, t->n_scopes)) != AIVENAUTH_OK ||
	    (st = put_list(out, t->ip_allowlist, t->n_ip_allowlist)) != AIVENAUTH_OK)
		return st;
	return AIVENAUTH_OK;
}

char *
sv_dup(struct sv s)
{
	char *p;

	if ((p = malloc((size_t)s.n + 1)) == NULL)
		return NULL;
	memcpy(p, s.p, s.n);
	p[s.n] = '\0';
	return p;
}

bool
sv_eq(struct sv a, const char *s)
{
	size_t n = strlen(s);

	return n == a.n && memcmp(a.p, s, n) == 0;
}

/* Empty strings in a record mean "absent" (NULL in the public struct). */
static bool
dup_opt(struct sv s, char **out)
{
	*out = NULL;
	if (s.n == 0)
		return true;
	return (*out = sv_dup(s)) != NULL;
}

static bool
list_to_public(const unsigned char *list, size_t len, uint32_t n, char ***out,
    size_t *nout)
{
	size_t pos = 0, i = 0;
	struct sv s;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return true;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return false;
	*nout = n;   /* so token_clear frees what was filled */
	while (i < n && sv_list_next(list, len, &pos, &s)) {
		if (((*out)[i] = sv_dup(s)) == NULL)
			return false;
		i++;
	}
	return true;
}

enum aivenauth_status
tok_to_public(const struct tok_view *v, const char *prefix, size_t prefix_len,
    struct aivenauth_token *t)
{
	memset(t, 0, sizeof(*t));
	t->create_time = v->create_time;
	t->expiry_time = v->expiry_time;
	t->max_age_seconds = v->max_age;
	t->extend_when_used = (v->flags & TOK_F_EXTEND) != 0;
	t->created_manually = (v->flags & TOK_F_MANUAL) != 0;
	t->enrolled = (v->flags & TOK_F_HASH) != 0;
	t->revoked = (v->flags & TOK_F_REVOKED) != 0;
	t->last_used_time = v->last_used_time;
	t->revoke_at = v->revoke_at;
	t->removed_time = v->removed_time;
	t->local_expiry = v->local_expiry;
	if ((t->prefix = sv_dup((struct sv){ prefix, (uint32_t)prefix_len })) == NULL ||
	    !dup_opt(v->user_id, &t->user_id) ||
	    !dup_opt(v->user_name, &t->user_name) ||
	    !dup_opt(v->user_email, &t->user_email) ||
	    !dup_opt(v->description, &t->description) ||
	    !dup_opt(v->last_ip, &t->last_ip) ||
	    !dup_opt(v->last_ua, &t->last_user_agent) ||
	    !list_to_public(v->scopes, v->scopes_len, v->n_scopes, &t->scopes,
	    &t->n_scopes) ||
	    !list_to_public(v->ips, v->ips_len, v->n_ips, &t->ip_allowlist,
	    &t->n_ip_allowlist)) {
		aivenauth_token_clear(t);
		return AIVENAUTH_ERR_NOMEM;
	}
	return AIVENAUTH_OK;
}

/* User record: version byte, 7 reserved, create_time, name, email. */
enum aivenauth_status
user_encode(const struct aivenauth_user *u, struct buf *out)
{
	unsigned char h[16];
	enum aivenauth_status st;

	memset(h, 0, sizeof(h));
	h[0] = REC_VERSION;
	put_i64(h + 8, u->create_time);
	if ((st = buf_add(out, h, sizeof(h))) != AIVENAUTH_OK ||
	    (st = put_str(out, u->name)) != AIVENAUTH_OK ||
	    (st = put_str(out, u->email)) != AIVENAUTH_OK)
		return st;
	return AIVENAUTH_OK;
}

bool
user_decode(const void *data, size_t size, struct aivenauth_user *u,
    struct sv *name, struct sv *email)
{
	const unsigned char *d = data;
	size_t pos = 16;

	if (size < 16 || d[0] != REC_VERSION)
		return false;
	memset(u, 0, sizeof(*u));
	u->create_time = get_i64(d + 8);
	return get_str(d, size, &pos, name) && get_str(d, size, &pos, email) &&
	    pos == size;
}
