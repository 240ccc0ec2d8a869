/*
 * doctor_pam.c - the doctor's checks of the PAM services in /etc/pam.d
 * that use pam_aiven (read only).
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

static void
check_pam_file(struct doctor *d, const char *path, const char *service,
    unsigned *n_services)
{
	char line[LINE_MAX_LEN], uses[256] = "", fix[FIX_MAX];
	bool auth = false, account = false, optional = false;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *type, *control, *module, *hash;

		line[strcspn(line, "\r\n")] = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		if (strstr(line, "pam_aiven") == NULL)
			continue;
		type = next_word(&p);
		control = next_word(&p);
		module = next_word(&p);
		if (type == NULL || control == NULL || module == NULL)
			continue;
		if (*type == '-')
			type++;
		if (strstr(module, "pam_aiven") == NULL)
			continue;
		if (strcmp(type, "auth") == 0) {
			auth = true;
			if (strcmp(control, "optional") == 0)
				optional = true;
		} else if (strcmp(type, "account") == 0) {
			account = true;
		}
		if (strlen(uses) + strlen(type) + strlen(control) + 4 <
		    sizeof(uses))
			snprintf(uses + strlen(uses), sizeof(uses) -
			    strlen(uses), "%s%s %s", uses[0] != '\0' ? ", " :
			    "", type, control);
	}
	fclose(fp);
	if (uses[0] == '\0')
		return;
	(*n_services)++;
	if (strcmp(service, "dovecot") == 0)
		d->dovecot_pam = true;
	if (optional) {
		report(d, WARN, "pam", "use required, requisite, sufficient or "
		    "[success=done default=die ...]", "%s: auth optional "
		    "pam_aiven: a refused token does not fail the stack (%s)",
		    path, uses);
	} else if (auth && !account) {
		snprintf(fix, sizeof(fix), "add `account required "
		    "pam_aiven.so` to %s", path);
		report(d, WARN, "pam", fix, "%s: no account line: a token "
		    "revoked after authentication is not re-checked (%s)",
		    path, uses);
	} else {
		report(d, OK, "pam", NULL, "%s: %s", path, uses);
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
check_pam(struct doctor *d)
{
	char dir[4096], path[4096 + 256];
	unsigned n = 0;
	struct dirent *de;
	struct stat sb;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/etc/pam.d", d->root);
	if ((dp = opendir(dir)) == NULL) {
		report(d, WARN, "pam", "see pam_aiven(8)", "%s: %s", dir,
		    strerror(errno));
		return;
	}
	/* readdir order is arbitrary; collect and sort for stable output. */
	{
		char **names = NULL;
		size_t cnt = 0, cap = 0, i;

		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (cnt == cap) {
				char **nn2 = realloc(names, (cap = cap * 2 + 16) *
				    sizeof(*names));

				if (nn2 == NULL)
					break;
				names = nn2;
			}
			if ((names[cnt] = strdup(de->d_name)) == NULL)
				break;
			cnt++;
		}
		closedir(dp);
		qsort(names, cnt, sizeof(*names), cmp_names);
		for (i = 0; i < cnt; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				check_pam_file(d, path, names[i], &n);
			free(names[i]);
		}
		free(names);
	}
	if (n == 0)
		report(d, WARN, "pam", "add pam_aiven to the service's file in "
		    "/etc/pam.d, see pam_aiven(8)", "no PAM service in %s uses "
		    "pam_aiven", dir);
}
