/*
 * doctor_sasl.c - the doctor's checks of aivenauth-saslauthd's socket:
 * that it is there when its unit is enabled, that only its group can use
 * it, and that the SASL consumers on this host (postfix, openldap, cyrus)
 * are in that group, so their SASL checks reach it.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"

#define SASLD_SOCKET "/run/aivenauth-saslauthd/mux"
#define SASLD_ENABLED "/etc/systemd/system/sockets.target.wants/" \
    "aivenauth-saslauthd.socket"
#define SASLD_USER "aivenauth-sasl"

/* Is the user name in group gid (primary or listed)? */
static bool
in_group(const struct passwd *pw, gid_t gid)
{
	struct group *gr;
	char **m;

	if (pw->pw_gid == gid)
		return true;
	if ((gr = getgrgid(gid)) == NULL)
		return false;
	for (m = gr->gr_mem; m != NULL && *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return true;
	return false;
}

/* The responder's own user must read the cache through the group. */
static void
check_responder_user(struct doctor *d)
{
	struct passwd *pw = getpwnam(SASLD_USER);
	char fix[FIX_MAX];

	if (pw == NULL || d->sync_gid == (gid_t)-1)
		return;
	snprintf(fix, sizeof(fix), "adduser %s %s, then systemctl restart "
	    "aivenauth-saslauthd", SASLD_USER, SYNC_USER);
	if (in_group(pw, d->sync_gid))
		report(d, OK, "sasl", NULL, "%s is in group %s", SASLD_USER,
		    SYNC_USER);
	else
		report(d, FAIL, "sasl", fix, "%s is not in group %s: "
		    "aivenauth-saslauthd cannot read the cache and refuses "
		    "every token", SASLD_USER, SYNC_USER);
}

void
check_sasl_responder(struct doctor *d)
{
	static const char *const consumers[] = { "postfix", "openldap",
	    "cyrus" };
	char path[4096 + 64], en[4096 + 128], fix[FIX_MAX], desc[96], gbuf[32];
	struct stat sb, esb;
	unsigned mode;
	size_t i;

	snprintf(path, sizeof(path), "%s%s", d->root, SASLD_SOCKET);
	snprintf(en, sizeof(en), "%s%s", d->root, SASLD_ENABLED);
	if (lstat(path, &sb) != 0) {
		if (lstat(en, &esb) == 0)
			report(d, WARN, "sasl", "systemctl start "
			    "aivenauth-saslauthd.socket", "%s is missing although "
			    "aivenauth-saslauthd.socket is enabled: SASL checks "
			    "(Postfix, slapd) fail", path);
		return;     /* not in use on this host */
	}
	check_responder_user(d);
	if (!S_ISSOCK(sb.st_mode)) {
		report(d, FAIL, "sasl", "systemctl restart "
		    "aivenauth-saslauthd.socket", "%s is not a socket", path);
		return;
	}
	mode = (unsigned)(sb.st_mode & 0777);
	snprintf(fix, sizeof(fix), "chmod o-rwx %s (SocketMode=0660 in "
	    "aivenauth-saslauthd.socket)", path);
	if (mode & 0007)
		report(d, FAIL, "sasl", fix, "%s is %s: every local user can "
		    "ask it to check tokens", path, describe(&sb, desc));
	else
		report(d, OK, "sasl", NULL, "%s is %s", path, describe(&sb, desc));
	for (i = 0; i < sizeof(consumers) / sizeof(consumers[0]); i++) {
		struct passwd *pw = getpwnam(consumers[i]);

		if (pw == NULL)
			continue;
		if ((mode & 0006) == 0006 || pw->pw_uid == sb.st_uid ||
		    in_group(pw, sb.st_gid)) {
			report(d, OK, "sasl", NULL, "%s can reach %s (group %s)",
			    consumers[i], path, group_name(sb.st_gid, gbuf));
			continue;
		}
		snprintf(fix, sizeof(fix), "adduser %s %s, then restart it",
		    consumers[i], group_name(sb.st_gid, gbuf));
		report(d, WARN, "sasl", fix, "%s is not in group %s: its SASL "
		    "checks cannot reach %s", consumers[i],
		    group_name(sb.st_gid, gbuf), path);
	}
}
