/*
 * etcd_json.h - the bodies of etcd's v3 JSON gateway, to and from the
 * plain types of etcd.h.  As json.c is for the Aiven API, this is the one
 * file of the etcd client that knows jansson.
 *
 * The gateway speaks proto3 JSON: bytes are base64, int64 are strings
 * (numbers accepted), and a field at its default (0, false, empty) is
 * absent.  Parsers take the raw body, never quote it in err (it may hold
 * a hash or a token), and ignore unknown fields.
 */
#ifndef AIVENAUTH_NET_ETCD_JSON_H
#define AIVENAUTH_NET_ETCD_JSON_H

#include "base/etcd.h"
#include "base/internal.h"

#define ETCD_ERR_SIZE 256

/* Requests: append the JSON body to out. */
enum aivenauth_status ej_range_req(const char *key, size_t key_len,
    const char *end, size_t end_len, int64_t rev, size_t limit,
    struct buf *out);
enum aivenauth_status ej_put_req(const char *key, size_t key_len,
    const void *val, size_t val_len, int64_t lease, struct buf *out);
enum aivenauth_status ej_txn_req(const struct etcd_cmp *cmp, size_t n_cmp,
    const struct etcd_op *success, size_t n_success,
    const struct etcd_op *failure, size_t n_failure, struct buf *out);
enum aivenauth_status ej_lease_req(const char *field, int64_t v,
    struct buf *out);
enum aivenauth_status ej_watch_req(const char *key, size_t key_len,
    const char *end, size_t end_len, int64_t start_rev, struct buf *out);
/* {"name": ..., "password": ...}, built by hand into a wiped buffer:
 * jansson would keep an unwiped copy of the password. */
enum aivenauth_status ej_auth_req(const char *name, const char *pw,
    size_t pw_len, struct buf *out);

/*
 * A range answer: fn for each kv; *rev the header revision; *more whether
 * etcd holds further keys; last gets the last key (for the next page).
 */
enum aivenauth_status ej_range_parse(const char *body, size_t len,
    etcd_kv_fn *fn, void *arg, int64_t *rev, bool *more, size_t *n_kvs,
    struct buf *last, char *err, size_t errsz);
/* Any answer with a header: its revision. */
enum aivenauth_status ej_header_parse(const char *body, size_t len,
    int64_t *rev, char *err, size_t errsz);
enum aivenauth_status ej_txn_parse(const char *body, size_t len,
    bool *succeeded, int64_t *rev, char *err, size_t errsz);
/* Lease grant ({ID, TTL}) and keepalive ({"result": {ID, TTL}}). */
enum aivenauth_status ej_lease_parse(const char *body, size_t len,
    bool in_result, int64_t *id, int64_t *ttl, char *err, size_t errsz);
/* The token of an authenticate answer, into *tok (malloc, NUL-ended,
 * release with a wipe); jansson's copy is wiped. */
enum aivenauth_status ej_auth_parse(const char *body, size_t len, char **tok,
    size_t *tok_len, char *err, size_t errsz);

/*
 * One line of a watch stream.  Calls fn with its events; fills end on a
 * cancel.  *stop when fn said stop or the watch ended.
 */
enum aivenauth_status ej_watch_line(const char *line, size_t len,
    etcd_watch_fn *fn, void *arg, struct etcd_watch_end *end, bool *stop,
    char *err, size_t errsz);

#endif /* AIVENAUTH_NET_ETCD_JSON_H */
