/*
 * doctor.h - what the checks of `aivenctl doctor` share (cmd_doctor.c,
 * doctor_fleet.c): the run's state and one finding's report.
 */
#ifndef AIVENCTL_DOCTOR_H
#define AIVENCTL_DOCTOR_H

#include <sys/types.h>

#include "aivenctl.h"

#define SYNC_USER "aivenauth"
/* Room for two paths in a fix. */
#define FIX_MAX (2 * 4352 + 256)

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
};

enum level { OK, WARN, FAIL };

/* One line: "ok|warn|fail  CHECK  message; fix: FIX" (or a JSON object);
 * fix is shown unless the level is OK. */
void report(struct doctor *d, enum level lv, const char *check,
    const char *fix, const char *fmt, ...) PRINTF_LIKE(5, 6);

/* doctor_fleet.c: with fleet = publish or follow, the fleet's checks. */
void check_fleet(struct doctor *d, struct aivenauth_ctx *ctx);

#endif /* AIVENCTL_DOCTOR_H */
