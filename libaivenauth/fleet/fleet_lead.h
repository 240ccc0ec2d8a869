/*
 * fleet_lead.h - a publisher's hold on the leader key: the election, and
 * keeping the key across runs (fleet_lead.c).
 */
#ifndef AIVENAUTH_FLEET_LEAD_H
#define AIVENAUTH_FLEET_LEAD_H

#include "fleet/fleet_etcd.h"

/*
 * Leader election: take the leader key, bound to a lease of ttl seconds,
 * if nobody holds it (txn: create_revision == 0).  *leader says whether
 * we hold it now; *lease is the lease to keep alive (0 if not leader).
 * Losing the lease (keepalive: AIVENAUTH_ERR_API_NOT_FOUND) is losing the
 * leadership: stop publishing and campaign again.
 */
enum aivenauth_status fleet_campaign(struct fleet_etcd *fe, const char *id,
    int64_t ttl, bool *leader, int64_t *lease);

/* Take cache_dir/writer/fleet.lock exclusively (waits for the other run
 * on this host); *fd is released by fleet_lead_unlock. */
enum aivenauth_status fleet_lead_lock(struct aivenauth_ctx *ctx, int *fd);
void fleet_lead_unlock(int fd);

/*
 * Resume the lease an earlier run here stored, if the leader key is still
 * bound to it and it is alive; else campaign with a new lease of ttl
 * seconds (stored when won).  *leader false: another publisher holds the
 * key (its id in leader_id when etcd says).
 */
enum aivenauth_status fleet_lead_take(struct aivenauth_ctx *ctx,
    struct fleet_etcd *fe, const char *id, int64_t ttl, bool *leader,
    int64_t *lease, char *leader_id, size_t leader_id_size);

/* Give the key up now (revoke the lease) and forget it. */
enum aivenauth_status fleet_lead_resign(struct aivenauth_ctx *ctx,
    struct fleet_etcd *fe, int64_t lease);

/* The lease stored by this host (id) in this boot (0: none, or another
 * host's or boot's) / store one for id (0: forget). */
int64_t fleet_lead_stored(struct aivenauth_ctx *ctx, const char *id);
void fleet_lead_store(struct aivenauth_ctx *ctx, int64_t lease,
    const char *id);

/* cache_dir/writer/NAME, allocated (NULL: out of memory). */
char *fleet_writer_path(struct aivenauth_ctx *ctx, const char *name);
/* Write cache_dir/writer/NAME atomically (aside, fsync, rename; 0600,
 * never through a symlink, given the directory's owner when root writes
 * it); false (logged) on failure. */
bool fleet_writer_file_put(struct aivenauth_ctx *ctx, const char *name,
    const void *data, size_t len);

#endif /* AIVENAUTH_FLEET_LEAD_H */
