/*
 * cmd_doctor.c - aivenctl doctor [--offline] [--root DIR]: check this host
 * end to end, one line per finding ("ok", "warn" or "fail", what was seen
 * and, unless ok, the fix):
 *
 *   config    the config file: present, regular, owner root, not
 *             writable by others, readable by services, valid
 *   token     api_token_file: present, owned by the sync user, 0600
 *   user      the aivenauth user and group exist
 *   cache     cache_dir, snapshot.mdb, state, writer/: owner, group,
 *             modes; the first layout (a lock.mdb shared with readers)
 *   group     service users that exist (www-data, postgres, nginx) are
 *             in the cache's group, or they cannot verify
 *   fresh     the last good sync vs max_stale, and the last attempt
 *   revocations  writer/revocations, the revocation journal: private,
 *             allocated; revocations recorded but not stored (warn),
 *             every slot taken (fail)
 *   api       the API answers the admin token (skipped with --offline;
 *             run as the token file's owner when started as root)
 *   pam       services in /etc/pam.d that use pam_aiven (read only): each
 *             pam_aiven.so line parsed by the module's own parser,
 *             user_match=any, a stack shared with people, sshd's root
 *   accounts  the local account map(s): safe, valid (FILE:LINE:COLUMN),
 *             present where user_match=map needs one; entries naming
 *             unknown application users; lines mapping to uid 0
 *   saslauthd -c in /etc/default/saslauthd* (its cache outlives a
 *             revocation), when it asks PAM and pam_aiven is used
 *   dovecot   auth_cache_size in /etc/dovecot (the same)
 *   fleet     with fleet = publish or follow: the keys, etcd, the
 *             publisher's heartbeat, a follower caught up
 *
 * Each area's checks are in a file of their own (doctor_config.c,
 * doctor_cache.c, doctor_fs.c, doctor_api.c, doctor_pam.c,
 * doctor_accounts.c, doctor_downstream.c, doctor_revjournal.c,
 * doctor_fleet.c); this file runs them in order.
 *
 * Nothing is changed.  --root DIR reads /etc/pam.d, /etc/default and
 * /etc/dovecot under DIR (an image or a chroot).  Exit 0: no "fail";
 * 1: at least one "fail"; otherwise a sysexits code.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "fleetview.h"
#include "ops.h"

/* The first error loading the config says, for its report line. */
static void
capture_first(void *arg, int level, const char *msg)
{
	char *buf = arg;

	if (level <= LOG_ERR && buf[0] == '\0')
		snprintf(buf, 512, "%s", msg);
}

int
cmd_doctor(int argc, char *argv[])
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "offline", no_argument, NULL, 'o' },
		{ "root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor d = { .root = "" };
	struct aivenauth_ctx *ctx = NULL;
	enum aivenauth_status st;
	const char *config;
	char defpath[4096], why[512] = "";
	bool loaded;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h", longopts,
	    NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage_print(stdout, "doctor");
			return 0;
		case 'o':
			d.offline = true;
			break;
		case 'r':
			d.root = strcmp(optarg, "/") == 0 ? "" : optarg;
			break;
		default:
			return opt_error("doctor", argv);
		}
	}
	if (optind != argc) {
		ctl_err("doctor takes no arguments");
		return usage_of("doctor");
	}
	if ((st = aivenauth_ctx_new(&ctx)) != AIVENAUTH_OK) {
		ctl_err("cannot initialise the library: %s",
		    aivenauth_strerror(st));
		return exit_code(st);
	}
	/* The load's error goes in the config line, not on stderr. */
	aivenauth_set_log(ctx, capture_first, why, LOG_ERR);
	config = g.config != NULL ? g.config : secure_getenv("AIVENAUTH_CONFIG");
	if (config == NULL || *config == '\0') {
		snprintf(defpath, sizeof(defpath), "%s/aivenauth/aivenauth.conf",
		    AIVENAUTH_SYSCONFDIR);
		config = NULL;
	}
	st = aivenauth_config_load(ctx, config, false);
	loaded = st == AIVENAUTH_OK;
	if (!loaded && why[0] == '\0')
		snprintf(why, sizeof(why), "%s", aivenauth_strerror(st));
	aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	if (!loaded) {
		/* Go on with the defaults. */
		aivenauth_ctx_free(ctx);
		ctx = NULL;
		if ((st = aivenauth_ctx_new(&ctx)) != AIVENAUTH_OK) {
			rc = exit_code(st);
			goto out;
		}
		aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
	}
	if (g.json && (d.json = json_array()) == NULL) {
		rc = EX_OSERR;
		goto out;
	}
	d.follower = loaded && fleet_mode_of(ctx) == FLEET_MODE_FOLLOW;
	check_config(&d, ctx, config != NULL ? config : defpath,
	    loaded ? NULL : why);
	check_sync_user(&d);
	check_token_file(&d, ctx);
	check_cache_dir(&d, ctx);
	check_cache_fs(&d, ctx);
	check_groups(&d);
	check_fresh(&d, ctx);
	check_revjournal(&d, ctx);
	if (loaded)
		check_api(&d, config, ctx);
	check_pam(&d);
	check_accounts(&d, ctx);
	check_saslauthd(&d);
	check_dovecot(&d);
	check_sasl_responder(&d);
	if (loaded)
		check_fleet(&d, ctx);
	if (d.nomem) {
		rc = EX_OSERR;
		goto out;
	}
	if (g.json) {
		json_t *o = json_pack("{s:O, s:i, s:i, s:i}", "checks", d.json,
		    "ok", (int)d.n_ok, "warn", (int)d.n_warn, "fail",
		    (int)d.n_fail);

		rc = json_print(o);
		json_decref(o);
		if (rc != 0)
			goto out;
	} else {
		printf("%u ok, %u warn, %u fail\n", d.n_ok, d.n_warn, d.n_fail);
	}
	rc = d.n_fail != 0 ? 1 : 0;
out:
	json_decref(d.json);
	aivenauth_ctx_free(ctx);
	return rc;
}
