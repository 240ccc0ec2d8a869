/*
 * doctor_api.c - the doctor's check of the Aiven API: does it answer the
 * admin token (run as the token file's owner when started as root).
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
#include <time.h>
#include <unistd.h>

#include "doctor.h"

/*
 * The API check runs in a child: as root with a token file owned by the
 * sync user it switches to that user, whose file the library then trusts
 * (root must not trust a file another user can rewrite).  Its exit status
 * is the aivenauth_status.
 */
void
check_api(struct doctor *d, const char *config, struct aivenauth_ctx *pctx)
{
	const char *path = aivenauth_config_get(pctx, "api_token_file");
	const char *url = aivenauth_config_get(pctx, "api_url");
	struct aivenauth_ctx *ctx = NULL;
	struct aivenauth_user *u = NULL;
	enum aivenauth_status st;
	struct stat sb;
	size_t n = 0;
	pid_t pid;
	int ws;

	if (d->offline) {
		report(d, OK, "api", NULL, "not checked (--offline)");
		return;
	}
	if (d->follower) {
		report(d, OK, "api", NULL, "not checked: a fleet follower makes "
		    "no API call to sync");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		report(d, FAIL, "api", "retry", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		if (geteuid() == 0 && getenv("AIVEN_AUTH_TOKEN") == NULL &&
		    path != NULL && stat(path, &sb) == 0 && sb.st_uid != 0) {
			struct passwd *pw = getpwuid(sb.st_uid);

			if (pw == NULL || setgroups(0, NULL) != 0 ||
			    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
				_exit(AIVENAUTH_ERR_CONFIG);
		}
		st = aivenauth_ctx_new(&ctx);
		if (st == AIVENAUTH_OK) {
			aivenauth_set_log(ctx, ctl_log, NULL, ctl_log_level());
			st = aivenauth_config_load(ctx, config, config != NULL);
		}
		if (st == AIVENAUTH_OK)
			st = aivenauth_api_users(ctx, &u, &n);
		aivenauth_users_free(u, n);
		aivenauth_ctx_free(ctx);
		fflush(stderr);
		_exit(st);
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	st = WIFEXITED(ws) ? (enum aivenauth_status)WEXITSTATUS(ws) :
	    AIVENAUTH_ERR_INTERNAL;
	if (st == AIVENAUTH_OK)
		report(d, OK, "api", NULL, "%s accepts the admin token",
		    nn(url));
	else
		report(d, FAIL, "api", st == AIVENAUTH_ERR_UNAUTHORIZED ||
		    st == AIVENAUTH_ERR_FORBIDDEN ? "put a valid organization "
		    "admin application token in api_token_file" :
		    st == AIVENAUTH_ERR_NO_CREDENTIALS ||
		    st == AIVENAUTH_ERR_UNSAFE_FILE ||
		    st == AIVENAUTH_ERR_CONFIG ? "see the token line above" :
		    "check api_url, DNS, proxy and firewall; retry",
		    "%s: %s", nn(url), aivenauth_strerror(st));
}
