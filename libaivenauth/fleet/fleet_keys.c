/*
 * fleet_keys.c - the etcd key layout of a fleet (docs/FLEET.md, "Keys"):
 * PREFIX/leader, /current, /heartbeat, and each generation's records
 * under PREFIX/gen/<20-digit number>/ (u/USER_ID, t/TOKEN_PREFIX,
 * manifest).  One place builds every key, so publisher and follower can
 * never disagree on one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet_rec.h"

static enum aivenauth_status
key_base(const char *prefix, struct buf *out)
{
	size_t n;

	if (prefix == NULL || (n = strlen(prefix)) == 0 ||
	    prefix[n - 1] != '/')
		return AIVENAUTH_ERR_INVALID;
	return buf_add(out, prefix, n);
}

static enum aivenauth_status
key_fixed(const char *prefix, const char *name, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = key_base(prefix, out)) != AIVENAUTH_OK)
		return st;
	return buf_add(out, name, strlen(name));
}

enum aivenauth_status
fleet_key_leader(const char *prefix, struct buf *out)
{
	return key_fixed(prefix, "leader", out);
}

enum aivenauth_status
fleet_key_current(const char *prefix, struct buf *out)
{
	return key_fixed(prefix, "current", out);
}

enum aivenauth_status
fleet_key_heartbeat(const char *prefix, struct buf *out)
{
	return key_fixed(prefix, "heartbeat", out);
}

enum aivenauth_status
fleet_key_gen(const char *prefix, uint64_t gen, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = key_base(prefix, out)) != AIVENAUTH_OK)
		return st;
	return buf_addf(out, "gen/%020" PRIu64 "/", gen);
}

enum aivenauth_status
fleet_key_manifest(const char *prefix, uint64_t gen, struct buf *out)
{
	enum aivenauth_status st;

	if ((st = fleet_key_gen(prefix, gen, out)) != AIVENAUTH_OK)
		return st;
	return buf_add(out, "manifest", 8);
}

/*
 * An id or prefix as a key segment.  Token prefixes are base64 and may
 * hold '/' (Aiven's tokens do): '/', '%' and control characters are
 * written %XX, so that a segment never makes another key's path and the
 * mapping stays one to one (the follower recomputes the key from the
 * record's own id and compares).
 */
enum aivenauth_status
fleet_name(enum fleet_type kind, const char *id, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	enum aivenauth_status st;
	const unsigned char *p;
	char esc[3];

	if (id == NULL || id[0] == '\0' || strlen(id) > FLEET_STR_MAX ||
	    (kind != FLEET_T_USER && kind != FLEET_T_TOKEN))
		return AIVENAUTH_ERR_INVALID;
	if ((st = buf_add(out, kind == FLEET_T_USER ? "u/" : "t/", 2)) !=
	    AIVENAUTH_OK)
		return st;
	for (p = (const unsigned char *)id; *p != '\0' && st == AIVENAUTH_OK;
	    p++) {
		if (*p == '/' || *p == '%' || *p < 0x20 || *p == 0x7f) {
			esc[0] = '%';
			esc[1] = hex[*p >> 4];
			esc[2] = hex[*p & 15];
			st = buf_add(out, esc, 3);
		} else {
			st = buf_add(out, (const char *)p, 1);
		}
	}
	return st;
}

enum aivenauth_status
fleet_key_leaf(const char *prefix, uint64_t gen, enum fleet_type kind,
    const char *id, struct buf *out)
{
	enum aivenauth_status st;

	if (id == NULL || id[0] == '\0' || strlen(id) > FLEET_STR_MAX)
		return AIVENAUTH_ERR_INVALID;
	if ((st = fleet_key_gen(prefix, gen, out)) != AIVENAUTH_OK)
		return st;
	return fleet_name(kind, id, out);
}

enum aivenauth_status
fleet_key_user(const char *prefix, uint64_t gen, const char *user_id,
    struct buf *out)
{
	return fleet_key_leaf(prefix, gen, FLEET_T_USER, user_id, out);
}

enum aivenauth_status
fleet_key_token(const char *prefix, uint64_t gen, const char *token_prefix,
    struct buf *out)
{
	return fleet_key_leaf(prefix, gen, FLEET_T_TOKEN, token_prefix, out);
}
