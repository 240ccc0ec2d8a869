/*
 * doctor_downstream.c - the doctor's checks of the services that cache a
 * decision downstream of pam_aiven, where a cached "yes" outlives a
 * revocation: saslauthd -c, dovecot's auth_cache_size.
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
 * saslauthd's -c caches credentials (hashed) for its -t timeout: a token
 * revoked in Aiven keeps working through it.  Flags in OPTIONS may be
 * grouped ("-cm /run/saslauthd"); letters after one that takes an argument
 * are that argument.
 */
static bool
sasl_cache_flag(const char *opts)
{
	static const char with_arg[] = "amnOstr";
	char buf[LINE_MAX_LEN], *p = buf, *w;

	snprintf(buf, sizeof(buf), "%s", opts);
	while ((w = next_word(&p)) != NULL) {
		if (w[0] != '-' || w[1] == '-' || w[1] == '\0')
			continue;
		for (w++; *w != '\0'; w++) {
			if (*w == 'c')
				return true;
			if (strchr(with_arg, *w) != NULL)
				break;
		}
	}
	return false;
}

void
check_saslauthd(struct doctor *d)
{
	char dir[4096], path[4096 + 256], line[LINE_MAX_LEN], fix[FIX_MAX];
	struct dirent *de;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/etc/default", d->root);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		bool cache = false, seen = false, pam = true;
		FILE *fp;

		if (strncmp(de->d_name, "saslauthd", 9) != 0 ||
		    strchr(de->d_name, '~') != NULL ||
		    strstr(de->d_name, ".dpkg-") != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			char *v = line;

			while (*v == ' ' || *v == '\t')
				v++;
			if (strncmp(v, "MECHANISMS=", 11) == 0) {
				v += 11;
				v[strcspn(v, "\r\n")] = '\0';
				/* -a pam, or -a pam among others. */
				pam = strstr(v, "pam") != NULL;
				continue;
			}
			if (strncmp(v, "OPTIONS=", 8) != 0)
				continue;
			v += 8;
			v[strcspn(v, "\r\n")] = '\0';
			/* Drop the shell quotes. */
			for (char *q = v; *q != '\0'; q++)
				if (*q == '"' || *q == '\'')
					*q = ' ';
			seen = true;
			if (sasl_cache_flag(v))
				cache = true;
		}
		fclose(fp);
		if (!seen)
			continue;
		/* Its cache matters here only if it asks PAM, and PAM asks
		 * pam_aiven somewhere: stock Debian's -c is not ours. */
		if (cache && (!pam || d->aiven_services == 0)) {
			report(d, OK, "saslauthd", NULL, "%s: saslauthd -c, but "
			    "%s: no token goes through it", path, !pam ?
			    "its MECHANISMS do not include pam" : "no PAM "
			    "service here uses pam_aiven");
			continue;
		}
		snprintf(fix, sizeof(fix), "remove -c from OPTIONS in %s and "
		    "restart saslauthd", path);
		if (cache)
			report(d, FAIL, "saslauthd", fix, "%s: saslauthd -c caches "
			    "credentials: a revoked token keeps working until "
			    "the entry expires", path);
		else
			report(d, OK, "saslauthd", NULL, "%s: no credential "
			    "cache (-c)", path);
	}
	closedir(dp);
}

/* auth_cache_size = N in one dovecot file ("0" = off). */
static void
check_dovecot_file(struct doctor *d, const char *path)
{
	char line[LINE_MAX_LEN], fix[FIX_MAX];
	unsigned lineno = 0;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *k = line, *v, *e, *hash;

		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		while (*k == ' ' || *k == '\t')
			k++;
		if (strncmp(k, "auth_cache_size", 15) != 0)
			continue;
		v = k + 15;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		e = v + strcspn(v, " \t\r\n");
		*e = '\0';
		if (*v == '\0' || strcmp(v, "0") == 0 || strcmp(v, "0k") == 0 ||
		    strcmp(v, "0M") == 0) {
			report(d, OK, "dovecot", NULL, "%s:%u: auth_cache_size "
			    "= %s (no cache)", path, lineno, *v != '\0' ? v : "0");
			continue;
		}
		snprintf(fix, sizeof(fix), "set auth_cache_size = 0 in %s "
		    "(or a short auth_cache_ttl) and reload dovecot", path);
		report(d, d->dovecot_pam ? FAIL : WARN, "dovecot", fix,
		    "%s:%u: auth_cache_size = %s: dovecot caches successful "
		    "logins, a revoked token keeps working for auth_cache_ttl",
		    path, lineno, v);
	}
	fclose(fp);
}

void
check_dovecot(struct doctor *d)
{
	char path[4096 + 256], dir[4096];
	struct dirent **list = NULL;
	int n, i;

	snprintf(path, sizeof(path), "%s/etc/dovecot/dovecot.conf", d->root);
	check_dovecot_file(d, path);
	snprintf(dir, sizeof(dir), "%s/etc/dovecot/conf.d", d->root);
	if ((n = scandir(dir, &list, NULL, alphasort)) < 0)
		return;
	for (i = 0; i < n; i++) {
		size_t l = strlen(list[i]->d_name);

		if (l > 5 && strcmp(list[i]->d_name + l - 5, ".conf") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    list[i]->d_name);
			check_dovecot_file(d, path);
		}
		free(list[i]);
	}
	free(list);
}
