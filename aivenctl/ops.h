/*
 * ops.h - the operator commands of aivenctl (audit, doctor) and the
 * node_exporter metrics written by `status --prometheus` and
 * `sync --prometheus` (metrics.c).
 */
#ifndef AIVENCTL_OPS_H
#define AIVENCTL_OPS_H

#include "aivenctl.h"

int cmd_audit(int argc, char *argv[]);
int cmd_doctor(int argc, char *argv[]);

/*
 * Options of sync and status: the global ones, -h and --prometheus.
 * With file_optional, `--prometheus` alone or followed by "-" means
 * stdout and `--prometheus FILE` / `--prometheus=FILE` a file; otherwise
 * FILE is required.  *prom is NULL when --prometheus was not given.
 * Returns -1 to go on with the operands at argv[optind..], else the exit
 * code (0 after -h).
 */
int prom_parse_opts(const char *path, int argc, char *argv[],
    bool file_optional, const char **prom);

/*
 * The result of the last `aivenctl sync`, kept in cache_dir/sync-state
 * (a small text file in cache_dir, written atomically by the sync
 * user; the cache schema is left alone).
 */
struct sync_state {
	int64_t time;           /* when the attempt ended */
	int64_t duration_ms;
	bool success;
	int exit_code;
	char error[128];        /* aivenauth_strerror() of a failure */
	bool unit;              /* ran under a systemd unit (INVOCATION_ID):
	                           its journal has the details */
	char token_prefix[AIVENAUTH_PREFIX_MAX + 1];  /* the sync's own admin
	                           token, "" if unknown (admintoken.c) */
};
/* Record an attempt; failures to record are reported with -v only. */
void sync_state_write(struct aivenauth_ctx *ctx, int64_t start_ms,
    enum aivenauth_status st);
/*
 * admintoken.c: the prefix of the token `aivenctl sync` authenticates
 * with ($AIVEN_AUTH_TOKEN or api_token_file, if this process can read it)
 * among the tokens t[0..n), into out; false if unreadable or not among
 * them.  The token itself is wiped; only its public prefix comes out.
 */
bool admin_token_prefix(struct aivenauth_ctx *ctx,
    const struct aivenauth_token *t, size_t n, char *out, size_t outsize);
/* false if there is no (readable, valid) record. */
bool sync_state_read(struct aivenauth_ctx *ctx, struct sync_state *s);
/* Milliseconds since the epoch. */
int64_t now_ms(void);

/*
 * Write node_exporter textfile metrics about the cache and the last sync
 * to file (NULL or "-": stdout), atomically: a temporary file in the same
 * directory, fsync, rename.  Written even when the cache cannot be read
 * (aivenauth_cache_up 0).  Returns 0 or an exit code (message printed).
 */
int metrics_write(struct aivenauth_ctx *ctx, const char *file);

#endif /* AIVENCTL_OPS_H */
