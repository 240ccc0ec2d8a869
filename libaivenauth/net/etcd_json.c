/*
 * etcd_json.c - etcd v3 JSON gateway bodies (etcd_json.h says what the
 * gateway's dialect is).  Every decoded field is checked: a key or value
 * that is not base64, a revision that is not a number, is a bad answer,
 * never a zero.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "net/etcd_json.h"
#include "net/json_read.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

/* ------------------------------------------------------------ requests */

static json_t *
b64_json(const void *p, size_t n)
{
	size_t sz = sodium_base64_encoded_len(n, B64);
	char *s = malloc(sz);
	json_t *j;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, sz, n > 0 ? p : (const void *)"", n, B64);
	j = json_string(s);
	free(s);
	return j;
}

static json_t *
i64_json(int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

/* Set o[k] = v, taking v; false on no memory. */
static bool
set(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0;
}

static enum aivenauth_status
dump(json_t *o, struct buf *out)
{
	enum aivenauth_status st;
	char *s;

	if (o == NULL)
		return AIVENAUTH_ERR_NOMEM;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return AIVENAUTH_ERR_NOMEM;
	st = buf_add(out, s, strlen(s));
	free(s);
	return st;
}

static bool
set_range(json_t *o, const char *key, size_t key_len, const char *end,
    size_t end_len)
{
	if (!set(o, "key", b64_json(key, key_len)))
		return false;
	return end == NULL || set(o, "range_end", b64_json(end, end_len));
}

enum aivenauth_status
ej_range_req(const char *key, size_t key_len, const char *end,
    size_t end_len, int64_t rev, size_t limit, struct buf *out)
{
	json_t *o = json_object();

	if (o == NULL || !set_range(o, key, key_len, end, end_len) ||
	    (rev > 0 && !set(o, "revision", i64_json(rev))) ||
	    (limit > 0 && !set(o, "limit", i64_json((int64_t)limit)))) {
		json_decref(o);
		return AIVENAUTH_ERR_NOMEM;
	}
	return dump(o, out);
}

static json_t *
put_obj(const char *key, size_t key_len, const void *val, size_t val_len,
    int64_t lease)
{
	json_t *o = json_object();

	if (o == NULL || !set(o, "key", b64_json(key, key_len)) ||
	    !set(o, "value", b64_json(val, val_len)) ||
	    (lease != 0 && !set(o, "lease", i64_json(lease)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

enum aivenauth_status
ej_put_req(const char *key, size_t key_len, const void *val, size_t val_len,
    int64_t lease, struct buf *out)
{
	return dump(put_obj(key, key_len, val, val_len, lease), out);
}

static json_t *
op_obj(const struct etcd_op *op)
{
	json_t *o = json_object(), *inner = NULL;

	if (o == NULL)
		return NULL;
	if (op->type == ETCD_OP_PUT) {
		inner = put_obj(op->key, op->key_len, op->value, op->value_len,
		    op->lease);
		if (!set(o, "request_put", inner))
			goto fail;
	} else {
		inner = json_object();
		if (inner == NULL || !set_range(inner, op->key, op->key_len,
		    op->range_end, op->range_end_len)) {
			json_decref(inner);
			goto fail;
		}
		if (!set(o, "request_delete_range", inner))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *
cmp_obj(const struct etcd_cmp *c)
{
	static const char *const targets[] = { "VERSION", "CREATE", "MOD",
	    "VALUE", "LEASE" };
	static const char *const fields[] = { "version", "create_revision",
	    "mod_revision", "value", "lease" };
	static const char *const results[] = { "EQUAL", "GREATER", "LESS",
	    "NOT_EQUAL" };
	json_t *o;

	if ((unsigned)c->target > ETCD_CMP_LEASE ||
	    (unsigned)c->result > ETCD_CMP_NOT_EQUAL)
		return NULL;
	if ((o = json_object()) == NULL)
		return NULL;
	if (!set(o, "key", b64_json(c->key, c->key_len)) ||
	    !set(o, "target", json_string(targets[c->target])) ||
	    !set(o, "result", json_string(results[c->result])) ||
	    !set(o, fields[c->target], c->target == ETCD_CMP_VALUE ?
	    b64_json(c->value, c->value_len) : i64_json(c->number))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool
add_ops(json_t *o, const char *name, const struct etcd_op *ops, size_t n)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL || json_object_set_new(o, name, a) != 0)
		return false;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, op_obj(&ops[i])) != 0)
			return false;
	return true;
}

enum aivenauth_status
ej_txn_req(const struct etcd_cmp *cmp, size_t n_cmp,
    const struct etcd_op *success, size_t n_success,
    const struct etcd_op *failure, size_t n_failure, struct buf *out)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	if (o == NULL || a == NULL || json_object_set_new(o, "compare", a) != 0)
		goto fail;
	a = NULL;
	for (i = 0; i < n_cmp; i++)
		if (json_array_append_new(json_object_get(o, "compare"),
		    cmp_obj(&cmp[i])) != 0)
			goto fail;
	if (!add_ops(o, "success", success, n_success) ||
	    !add_ops(o, "failure", failure, n_failure))
		goto fail;
	return dump(o, out);
fail:
	json_decref(a);
	json_decref(o);
	return AIVENAUTH_ERR_NOMEM;
}

enum aivenauth_status
ej_lease_req(const char *field, int64_t v, struct buf *out)
{
	json_t *o = json_object();

	if (o == NULL || !set(o, field, i64_json(v))) {
		json_decref(o);
		return AIVENAUTH_ERR_NOMEM;
	}
	return dump(o, out);
}

enum aivenauth_status
ej_watch_req(const char *key, size_t key_len, const char *end,
    size_t end_len, int64_t start_rev, struct buf *out)
{
	json_t *o = json_object(), *c = json_object();

	if (o == NULL || c == NULL || !set_range(c, key, key_len, end, end_len) ||
	    (start_rev > 0 && !set(c, "start_revision", i64_json(start_rev))) ||
	    !set(c, "progress_notify", json_true()) ||
	    json_object_set_new(o, "create_request", c) != 0) {
		json_decref(c);
		json_decref(o);
		return AIVENAUTH_ERR_NOMEM;
	}
	return dump(o, out);
}

/* A JSON string of s, escaped (RFC 8259 §7). */
static enum aivenauth_status
add_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	enum aivenauth_status st = buf_addc(b, '"');
	unsigned char c;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i;

	for (i = 0; i < n && st == AIVENAUTH_OK; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if ((st = buf_addc(b, '\\')) == AIVENAUTH_OK)
				st = buf_addc(b, (char)c);
		} else if (c < 0x20) {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			st = buf_add(b, esc, sizeof(esc));
		} else {
			st = buf_addc(b, (char)c);
		}
	}
	return st == AIVENAUTH_OK ? buf_addc(b, '"') : st;
}

enum aivenauth_status
ej_auth_req(const char *name, const char *pw, size_t pw_len, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = buf_add(out, "{\"name\":", 8)) != AIVENAUTH_OK ||
	    (st = add_json_str(out, name, strlen(name))) != AIVENAUTH_OK ||
	    (st = buf_add(out, ",\"password\":", 12)) != AIVENAUTH_OK ||
	    (st = add_json_str(out, pw, pw_len)) != AIVENAUTH_OK)
		return st;
	return buf_addc(out, '}');
}

/* ------------------------------------------------------------ answers */

/* An int64 field: a decimal string or a JSON integer; absent = 0. */
static bool
get_i64(json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return true;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (s[0] == '\0' || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return false;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64_t)n;
	return true;
}

static bool
header_rev(json_t *o, int64_t *rev)
{
	json_t *h = json_object_get(o, "header");

	*rev = 0;
	return json_is_object(h) && get_i64(h, "revision", rev);
}

/* Decode base64 field k of o into a new buffer (absent: empty). */
static bool
get_b64(json_t *o, const char *k, unsigned char **out, size_t *n,
    bool required)
{
	json_t *v = json_object_get(o, k);
	const char *s;
	size_t sl;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v))
		return !required;
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	sl = json_string_length(v);
	if ((*out = malloc(sl / 4 * 3 + 3)) == NULL)
		return false;
	if (sodium_base642bin(*out, sl / 4 * 3 + 3, s, sl, NULL, n, NULL,
	    B64) != 0 || (required && *n == 0)) {
		free(*out);
		*out = NULL;
		return false;
	}
	return true;
}

struct kv_store {
	unsigned char *key, *val;
	struct etcd_kv kv;
};

static bool
kv_decode(json_t *o, struct kv_store *s)
{
	size_t kl = 0, vl = 0;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o) || !get_b64(o, "key", &s->key, &kl, true) ||
	    !get_b64(o, "value", &s->val, &vl, false) ||
	    !get_i64(o, "create_revision", &s->kv.create_revision) ||
	    !get_i64(o, "mod_revision", &s->kv.mod_revision) ||
	    !get_i64(o, "version", &s->kv.version) ||
	    !get_i64(o, "lease", &s->kv.lease)) {
		free(s->key);
		free(s->val);
		return false;
	}
	s->kv.key = (const char *)s->key;
	s->kv.key_len = kl;
	s->kv.value = s->val != NULL ? s->val : (const unsigned char *)"";
	s->kv.value_len = vl;
	return true;
}

static void
kv_free(struct kv_store *s)
{
	if (s->val != NULL)
		sodium_memzero(s->val, s->kv.value_len);
	free(s->key);
	free(s->val);
}

enum aivenauth_status
ej_range_parse(const char *body, size_t len, etcd_kv_fn *fn, void *arg,
    int64_t *rev, bool *more, size_t *n_kvs, struct buf *last, char *err,
    size_t errsz)
{
	enum aivenauth_status st;
	json_t *root, *kvs, *v;
	struct kv_store s;
	size_t i;

	*more = false;
	*n_kvs = 0;
	if ((st = json_load_object(body, len, "answer", true, &root,
	    err, errsz)) != AIVENAUTH_OK)
		return st;
	st = AIVENAUTH_ERR_BAD_RESPONSE;
	if (!header_rev(root, rev) || *rev <= 0) {
		json_seterr(err, errsz, "range answer without a header revision");
		goto out;
	}
	v = json_object_get(root, "more");
	if (v != NULL && !json_is_boolean(v)) {
		json_seterr(err, errsz, "range answer: \"more\" is not a boolean");
		goto out;
	}
	*more = json_is_true(v);
	kvs = json_object_get(root, "kvs");
	if (kvs != NULL && !json_is_array(kvs)) {
		json_seterr(err, errsz, "range answer: \"kvs\" is not an array");
		goto out;
	}
	json_array_foreach(kvs, i, v) {
		if (!kv_decode(v, &s)) {
			json_seterr(err, errsz, "range answer: key %zu is malformed",
			    i);
			goto out;
		}
		last->len = 0;
		if ((st = buf_add(last, s.kv.key, s.kv.key_len)) ==
		    AIVENAUTH_OK)
			st = fn(arg, &s.kv);
		kv_free(&s);
		if (st != AIVENAUTH_OK)
			goto out;
		st = AIVENAUTH_ERR_BAD_RESPONSE;
		(*n_kvs)++;
	}
	st = AIVENAUTH_OK;
out:
	json_decref(root);
	return st;
}

enum aivenauth_status
ej_header_parse(const char *body, size_t len, int64_t *rev, char *err,
    size_t errsz)
{
	enum aivenauth_status st;
	json_t *root;

	if ((st = json_load_object(body, len, "answer", true, &root,
	    err, errsz)) != AIVENAUTH_OK)
		return st;
	if (!header_rev(root, rev)) {
		json_seterr(err, errsz, "answer without a header revision");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
	}
	json_decref(root);
	return st;
}

enum aivenauth_status
ej_txn_parse(const char *body, size_t len, bool *succeeded, int64_t *rev,
    char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *root, *v;

	*succeeded = false;
	if ((st = json_load_object(body, len, "answer", true, &root,
	    err, errsz)) != AIVENAUTH_OK)
		return st;
	st = AIVENAUTH_ERR_BAD_RESPONSE;
	v = json_object_get(root, "succeeded");
	if (!header_rev(root, rev))
		json_seterr(err, errsz, "txn answer without a header revision");
	else if (v != NULL && !json_is_boolean(v))
		json_seterr(err, errsz, "txn answer: \"succeeded\" is not a boolean");
	else {
		*succeeded = json_is_true(v);
		st = AIVENAUTH_OK;
	}
	json_decref(root);
	return st;
}

enum aivenauth_status
ej_lease_parse(const char *body, size_t len, bool in_result, int64_t *id,
    int64_t *ttl, char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *root, *o;

	*id = *ttl = 0;
	if ((st = json_load_object(body, len, "answer", true, &root,
	    err, errsz)) != AIVENAUTH_OK)
		return st;
	o = in_result ? json_object_get(root, "result") : root;
	st = AIVENAUTH_ERR_BAD_RESPONSE;
	if (!json_is_object(o) || !get_i64(o, "ID", id) ||
	    !get_i64(o, "TTL", ttl) || *id == 0)
		json_seterr(err, errsz, "lease answer without an ID");
	else
		st = AIVENAUTH_OK;
	json_decref(root);
	return st;
}

enum aivenauth_status
ej_auth_parse(const char *body, size_t len, char **tok, size_t *tok_len,
    char *err, size_t errsz)
{
	enum aivenauth_status st;
	json_t *root, *v;
	size_t n;

	*tok = NULL;
	*tok_len = 0;
	if ((st = json_load_object(body, len, "answer", true, &root,
	    err, errsz)) != AIVENAUTH_OK)
		return st;
	v = json_object_get(root, "token");
	st = AIVENAUTH_ERR_BAD_RESPONSE;
	if (!json_is_string(v) || (n = json_string_length(v)) == 0 ||
	    n > 4096) {
		json_seterr(err, errsz, "authenticate answer without a token");
	} else if ((*tok = malloc(n + 1)) == NULL) {
		st = AIVENAUTH_ERR_NOMEM;
	} else {
		memcpy(*tok, json_string_value(v), n + 1);
		*tok_len = n;
		st = AIVENAUTH_OK;
	}
	/* jansson frees without wiping; the string is ours (refcount 1). */
	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v),
		    json_string_length(v));
	json_decref(root);
	return st;
}

#define WATCH_BATCH_MAX 100000

enum aivenauth_status
ej_watch_line(const char *line, size_t len, etcd_watch_fn *fn, void *arg,
    struct etcd_watch_end *end, bool *stop, char *err, size_t errsz)
{
	enum aivenauth_status st;
	struct etcd_event *ev = NULL;
	struct kv_store *ks = NULL;
	json_t *root, *res, *evs, *v, *t;
	size_t n = 0, i;
	int64_t rev = 0;

	*stop = false;
	if ((st = json_load_object(line, len, "answer", true, &root,
	    err, errsz)) != AIVENAUTH_OK)
		return st;
	st = AIVENAUTH_ERR_BAD_RESPONSE;
	res = json_object_get(root, "result");
	if (!json_is_object(res)) {
		/* {"error": {...}} mid-stream: the gateway lost the watch. */
		json_seterr(err, errsz, "watch answer without a result");
		goto out;
	}
	if (!header_rev(res, &rev)) {
		json_seterr(err, errsz, "watch answer without a header");
		goto out;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		end->canceled = true;
		if (!get_i64(res, "compact_revision", &end->compact_revision)) {
			json_seterr(err, errsz, "watch cancel: bad compact_revision");
			goto out;
		}
		v = json_object_get(res, "cancel_reason");
		snprintf(end->reason, sizeof(end->reason), "%s",
		    json_is_string(v) ? json_string_value(v) :
		    end->compact_revision > 0 ? "revision compacted" :
		    "canceled by etcd");
		*stop = true;
		st = AIVENAUTH_OK;
		goto out;
	}
	evs = json_object_get(res, "events");
	if (evs != NULL && !json_is_array(evs)) {
		json_seterr(err, errsz, "watch answer: \"events\" is not an array");
		goto out;
	}
	n = json_array_size(evs);
	if (n > WATCH_BATCH_MAX) {
		json_seterr(err, errsz, "watch answer with %zu events", n);
		goto out;
	}
	if (n > 0 && ((ev = calloc(n, sizeof(*ev))) == NULL ||
	    (ks = calloc(n, sizeof(*ks))) == NULL)) {
		st = AIVENAUTH_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		v = json_array_get(evs, i);
		t = json_object_get(v, "type");
		if (!json_is_object(v) || !kv_decode(json_object_get(v, "kv"),
		    &ks[i])) {
			json_seterr(err, errsz, "watch event %zu is malformed", i);
			n = i;
			goto out;
		}
		ev[i].kv = ks[i].kv;
		if (t == NULL || (json_is_string(t) &&
		    strcmp(json_string_value(t), "PUT") == 0))
			ev[i].type = ETCD_EV_PUT;
		else if (json_is_string(t) &&
		    strcmp(json_string_value(t), "DELETE") == 0)
			ev[i].type = ETCD_EV_DELETE;
		else {
			json_seterr(err, errsz, "watch event %zu of unknown type", i);
			kv_free(&ks[i]);
			n = i;
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		if (ev[i].kv.mod_revision > end->revision)
			end->revision = ev[i].kv.mod_revision;
	*stop = !fn(arg, ev, n, rev);
	st = AIVENAUTH_OK;
out:
	for (i = 0; ks != NULL && i < n; i++)
		kv_free(&ks[i]);
	free(ks);
	free(ev);
	json_decref(root);
	return st;
}
