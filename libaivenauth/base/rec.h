/*
 * rec.h - on-disk encoding of user and token records (values in LMDB).
 *
 * A token record is a fixed 96-byte header (flags, times, hash) followed by
 * length-prefixed strings, so that verify reads what it needs straight out
 * of the memory map without allocating.  Every decode checks every length
 * against the value size: a damaged record is reported, never followed.
 * Integers are little-endian and read with memcpy (LMDB values are only
 * 2-byte aligned).
 */
#ifndef AIVENAUTH_REC_H
#define AIVENAUTH_REC_H

#include "base/internal.h"

#define REC_VERSION 1

#define TOK_F_EXTEND     0x01
#define TOK_F_MANUAL     0x02
#define TOK_F_HASH       0x04
#define TOK_F_REVOKED    0x08

#define TOK_HDR_SIZE 96
/* Longest string field a record may hold (names, descriptions, agents). */
#define REC_STR_MAX 4096
#define REC_LIST_MAX 100

struct sv {
	const char *p;
	uint32_t n;
};

struct tok_view {
	uint8_t flags;
	int64_t create_time, expiry_time, max_age, last_used_time;
	int64_t revoke_at, removed_time, local_expiry;
	const unsigned char *hash;          /* HASH_BYTES, valid if TOK_F_HASH */
	struct sv user_id, user_name, user_email, description, last_ip, last_ua;
	uint32_t n_scopes, n_ips;
	const unsigned char *scopes, *ips;  /* n × (u32 len, bytes) */
	size_t scopes_len, ips_len;
};

/* Decode and validate; false if the record is damaged. */
bool tok_decode(const void *data, size_t size, struct tok_view *v);
/* Iterate a list: *pos starts at 0; false at the end. */
bool sv_list_next(const unsigned char *list, size_t len, size_t *pos,
    struct sv *out);
/* Encode t (local state fields included); hash may be NULL. */
enum aivenauth_status tok_encode(const struct aivenauth_token *t,
    const unsigned char *hash, struct buf *out);
/* View → allocated public struct (prefix supplied separately). */
enum aivenauth_status tok_to_public(const struct tok_view *v, const char *prefix,
    size_t prefix_len, struct aivenauth_token *out);

bool user_decode(const void *data, size_t size, struct aivenauth_user *out_noalloc,
    struct sv *name, struct sv *email);
enum aivenauth_status user_encode(const struct aivenauth_user *u, struct buf *out);

bool sv_eq(struct sv a, const char *s);
char *sv_dup(struct sv s);

#endif
