/*
 * doctor_common.c - what every check of `aivenctl doctor` uses: one finding's
 * report (a line, or an object of the --json array), and how a file's
 * owner and mode are shown.
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

void
report(struct doctor *d, enum level lv, const char *check, const char *fix,
    const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	char msg[FIX_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lv == OK)
		d->n_ok++;
	else if (lv == WARN)
		d->n_warn++;
	else
		d->n_fail++;
	if (d->json != NULL) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "level",
		    names[lv], "check", check, "message", msg, "fix",
		    json_str(lv != OK ? fix : NULL));

		if (o == NULL || json_array_append_new(d->json, o) != 0)
			d->nomem = true;
		return;
	}
	/* Messages quote files, configs and etcd values: never raw. */
	if (lv == OK || fix == NULL)
		print_visible(stdout, "%-4s  %-9s %s", names[lv], check, msg);
	else
		print_visible(stdout, "%-4s  %-9s %s; fix: %s", names[lv],
		    check, msg, fix);
	putchar('\n');
}

const char *
owner_name(uid_t uid, char buf[static 32])
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, 32, "%s", pw->pw_name);
	else
		snprintf(buf, 32, "%u", (unsigned)uid);
	return buf;
}

const char *
group_name(gid_t gid, char buf[static 32])
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, 32, "%s", gr->gr_name);
	else
		snprintf(buf, 32, "%u", (unsigned)gid);
	return buf;
}

/* "owner:group mode" of a file for messages. */
const char *
describe(const struct stat *sb, char buf[static 96])
{
	char o[32], gname[32];

	snprintf(buf, 96, "%s:%s %04o", owner_name(sb->st_uid, o),
	    group_name(sb->st_gid, gname), (unsigned)(sb->st_mode & 07777));
	return buf;
}

/* Next whitespace-separated word of *p (PAM: [..] brackets kept whole). */
char *
next_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	w = s;
	if (*s == '[') {
		while (*s != '\0' && *s != ']')
			s++;
		if (*s == ']')
			s++;
	}
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}
