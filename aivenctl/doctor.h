/*
 * doctor.h - what the checks of `aivenctl doctor` share: the run's state,
 * one finding's report (doctor_common.c), and each area's checks, run in
 * order by cmd_doctor.c.
 */
#ifndef AIVENCTL_DOCTOR_H
#define AIVENCTL_DOCTOR_H

#include <sys/stat.h>
#include <sys/types.h>

#include "aivenctl.h"

#define SYNC_USER "aivenauth"
/* Room for two paths in a fix. */
#define FIX_MAX (2 * 4352 + 256)
/* Longest line read from a PAM or service config file. */
#define LINE_MAX_LEN 4096

struct doctor {
	const char *root;      /* "" or --root DIR */
	bool offline;
	bool follower;         /* fleet = follow: no API token, no API call */
	unsigned n_ok, n_warn, n_fail;
	json_t *json;
	bool nomem;
	uid_t sync_uid;        /* (uid_t)-1: no aivenauth user */
	gid_t sync_gid;        /* (gid_t)-1: no aivenauth group */
	bool dovecot_pam;      /* /etc/pam.d/dovecot uses pam_aiven */
	bool sshd_pam;         /* /etc/pam.d/sshd accepts tokens */
	unsigned aiven_services; /* PAM services that use pam_aiven */
	/* The fix of a cache_dir that readers and the sync both refuse:
	 * until it is applied, "run a sync" is no fix. */
	char cache_fix[FIX_MAX];
};

enum level { OK, WARN, FAIL };

/* One line: "ok|warn|fail  CHECK  message; fix: FIX" (or a JSON object);
 * fix is shown unless the level is OK. */
void report(struct doctor *d, enum level lv, const char *check,
    const char *fix, const char *fmt, ...) PRINTF_LIKE(5, 6);

/* "user:group 0640" of a file (owner and group by name when known). */
const char *describe(const struct stat *sb, char buf[static 96]);
const char *owner_name(uid_t uid, char buf[static 32]);
const char *group_name(gid_t gid, char buf[static 32]);
/* The next blank-separated word of *p (NUL-terminated in place), NULL at
 * the end. */
char *next_word(char **p);

/* The checks, by area. */
/* doctor_config.c */
/* why: NULL when the config loaded, else the library's first error. */
void check_config(struct doctor *d, struct aivenauth_ctx *ctx,
    const char *path, const char *why);
void check_token_file(struct doctor *d, struct aivenauth_ctx *ctx);
void check_sync_user(struct doctor *d);
/* doctor_cache.c */
void check_cache_dir(struct doctor *d, struct aivenauth_ctx *ctx);
void check_groups(struct doctor *d);
void check_fresh(struct doctor *d, struct aivenauth_ctx *ctx);
/* doctor_fs.c: a copy-on-write file system under cache_dir. */
void check_cache_fs(struct doctor *d, struct aivenauth_ctx *ctx);
/* doctor_api.c */
void check_api(struct doctor *d, const char *config,
    struct aivenauth_ctx *pctx);
/* doctor_pam.c */
void check_pam(struct doctor *d);
/* doctor_accounts.c: the local account map(s) */
void check_accounts(struct doctor *d, struct aivenauth_ctx *ctx);
/* doctor_downstream.c */
void check_saslauthd(struct doctor *d);
void check_dovecot(struct doctor *d);
/* doctor_sasl.c: aivenauth-saslauthd's socket and who can reach it. */
void check_sasl_responder(struct doctor *d);
/* doctor_revjournal.c: the writer's revocation journal. */
void check_revjournal(struct doctor *d, struct aivenauth_ctx *ctx);
/* doctor_fleet.c: with fleet = publish or follow, the fleet's checks. */
void check_fleet(struct doctor *d, struct aivenauth_ctx *ctx);

#endif /* AIVENCTL_DOCTOR_H */
