/*
 * doctor_pam.c - the doctor's checks of the PAM services in /etc/pam.d
 * (under --root) that use pam_aiven, read only:
 *
 *   - every pam_aiven.so line's arguments, parsed by the module's own
 *     parser (pam_aiven/args.c, linked in): a line the module refuses
 *     fails here with its file, line number and "did you mean";
 *   - user_match=any (the client's account name is not checked);
 *   - a stack shared with human logins (pam_unix, common-auth...) where
 *     pam_aiven's failure ends the login (default=die, requisite...);
 *   - sshd: PermitRootLogin yes with a stack that accepts tokens;
 *   - per service: auth optional, no account line.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "doctor.h"
#include "../pam_aiven/args.h"

#define MAX_ARGS 64

/* What one file says about its use of pam_aiven. */
struct pam_use {
	char uses[256];          /* "auth required, account required" */
	bool auth, account, optional;
	bool human;              /* other password modules: people log in here */
	unsigned die_line;       /* pam_aiven auth line whose refusal fails it */
	bool die_fails_humans;   /* ... and refuses people's passwords too */
	bool any_token;          /* a line that accepts tokens at all */
	bool bad_line;           /* a line the module refuses (reported) */
};

/* The library's last error message, while a line's config is checked. */
struct capture {
	char msg[PA_ARGS_ERR];
};

static void
capture_log(void *arg, int level, const char *msg)
{
	struct capture *c = arg;

	if (level <= LOG_ERR && c->msg[0] == '\0')
		snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static enum aivenauth_status
set_key(void *arg, const char *key, const char *value)
{
	return aivenauth_config_set(arg, key, value);
}

/*
 * The arguments of one pam_aiven line, as the module will parse them.
 * Returns false (err set) where the module would refuse the line.
 */
static bool
parse_line_args(struct doctor *d, int argc, const char **argv,
    struct pa_opts *o, char *err, size_t errsize)
{
	struct aivenauth_ctx *ctx = NULL;
	struct capture cap = { "" };
	enum pa_args_rc rc;
	bool good = false;

	if (pa_args_first(argc, argv, o, err, errsize) != PA_ARGS_OK)
		return false;
	/* Values of config keys are checked by the library, as the module
	 * does; config=FILE is loaded as the module loads it. */
	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK) {
		d->nomem = true;
		return true;
	}
	aivenauth_set_log(ctx, capture_log, &cap, LOG_ERR);
	if (o->config_file != NULL) {
		char path[4096];
		enum aivenauth_status st;

		snprintf(path, sizeof(path), "%s%s", d->root, o->config_file);
		st = aivenauth_config_load(ctx, path, true);
		if (st != AIVENAUTH_OK) {
			/* Bounded so that it fits PA_ARGS_ERR whole. */
			snprintf(err, errsize, "config=%.100s: %.140s",
			    o->config_file,
			    cap.msg[0] != '\0' ? cap.msg :
			    aivenauth_strerror(st));
			goto out;
		}
	}
	rc = pa_args_apply(argc, argv, o, set_key, ctx, err, errsize);
	if (rc == PA_ARGS_NOMEM)
		d->nomem = true;
	good = rc != PA_ARGS_BAD;
out:
	aivenauth_ctx_free(ctx);
	return good;
}

/* Is this module one people log in with (a password checked locally or
 * by a directory)? */
static bool
human_module(const char *module)
{
	static const char *const mods[] = { "pam_unix", "pam_sss", "pam_ldap",
	    "pam_krb5", "pam_winbind", "pam_systemd_home", NULL };
	size_t i;

	for (i = 0; mods[i] != NULL; i++)
		if (strstr(module, mods[i]) != NULL)
			return true;
	return false;
}

/* Is this an include of the distribution's stack for people? */
static bool
human_include(const char *what)
{
	return strstr(what, "common-auth") != NULL ||
	    strstr(what, "system-auth") != NULL ||
	    strstr(what, "password-auth") != NULL ||
	    strstr(what, "system-login") != NULL;
}

/*
 * Does this auth control fail the login when pam_aiven refuses
 * (requisite, required, [... default=die|bad])?  *ignore_fails: PAM_IGNORE
 * (a password that is not a token, with non_token=ignore) fails it too,
 * as in a [...] control that does not say ignore=ignore.
 */
static bool
control_fails(const char *control, bool *ignore_fails)
{
	*ignore_fails = false;
	if (strcmp(control, "requisite") == 0 ||
	    strcmp(control, "required") == 0)
		return true;
	if (control[0] != '[')
		return false;
	if (strstr(control, "default=die") == NULL &&
	    strstr(control, "default=bad") == NULL)
		return false;
	*ignore_fails = strstr(control, "ignore=ignore") == NULL &&
	    strstr(control, "ignore=ok") == NULL;
	return true;
}

static void
add_use(struct pam_use *u, const char *type, const char *control)
{
	size_t n = strlen(u->uses);

	if (n + strlen(type) + strlen(control) + 4 < sizeof(u->uses))
		snprintf(u->uses + n, sizeof(u->uses) - n, "%s%s %s",
		    n != 0 ? ", " : "", type, control);
}

/* One pam_aiven line: its arguments, then what they mean for the file. */
static void
check_aiven_line(struct doctor *d, const char *path, unsigned lineno,
    const char *type, const char *control, char *rest, struct pam_use *u)
{
	const char *argv[MAX_ARGS];
	char err[PA_ARGS_ERR] = "", fix[FIX_MAX], *w;
	struct pa_opts o;
	int argc = 0;

	while ((w = next_word(&rest)) != NULL && argc < MAX_ARGS) {
		size_t len = strlen(w);

		/* [an argument with blanks] */
		if (w[0] == '[' && len >= 2 && w[len - 1] == ']') {
			w[len - 1] = '\0';
			w++;
		}
		argv[argc++] = w;
	}
	if (!parse_line_args(d, argc, argv, &o, err, sizeof(err))) {
		snprintf(fix, sizeof(fix), "correct line %u of %s", lineno,
		    path);
		report(d, FAIL, "pam", fix, "%s:%u: %s %s pam_aiven.so: %s: the "
		    "module refuses every token on this line", path, lineno,
		    type, control, err);
		u->bad_line = true;
		return;
	}
	u->any_token = true;
	if (o.user_match == AIVENAUTH_MATCH_ANY) {
		snprintf(fix, sizeof(fix), "use user_match=name (or id, email) "
		    "on line %u of %s", lineno, path);
		report(d, WARN, "pam", fix, "%s:%u: user_match=any: a valid "
		    "token is accepted for whatever account name the client "
		    "sends, not only for its own user; see pam_aiven(8) for "
		    "the accounts it never admits", path, lineno);
	}
	if (strcmp(type, "auth") == 0) {
		bool ignore_fails;

		if (control_fails(control, &ignore_fails)) {
			u->die_line = lineno;
			/* People's passwords come back as PAM_AUTH_ERR
			 * without non_token=ignore, as PAM_IGNORE with it. */
			u->die_fails_humans = !o.non_token_ignore ||
			    ignore_fails;
		}
	}
}

static void
check_pam_file(struct doctor *d, const char *path, const char *service,
    unsigned *n_services)
{
	char line[LINE_MAX_LEN], fix[FIX_MAX];
	struct pam_use u;
	unsigned lineno = 0;
	FILE *fp;

	memset(&u, 0, sizeof(u));
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *type, *control, *module, *hash;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		type = next_word(&p);
		control = next_word(&p);
		if (type == NULL || control == NULL)
			continue;
		if (strcmp(type, "@include") == 0) {
			if (human_include(control))
				u.human = true;
			continue;
		}
		if ((module = next_word(&p)) == NULL)
			continue;
		if (*type == '-')
			type++;
		if (strcmp(type, "auth") != 0 && strcmp(type, "account") != 0 &&
		    strcmp(type, "session") != 0 && strcmp(type, "password") != 0)
			continue;
		if (strcmp(control, "include") == 0 ||
		    strcmp(control, "substack") == 0) {
			if (strcmp(type, "auth") == 0 && human_include(module))
				u.human = true;
			continue;
		}
		if (strstr(module, "pam_aiven") == NULL) {
			if (strcmp(type, "auth") == 0 && human_module(module))
				u.human = true;
			continue;
		}
		if (strcmp(type, "auth") == 0) {
			u.auth = true;
			if (strcmp(control, "optional") == 0)
				u.optional = true;
		} else if (strcmp(type, "account") == 0) {
			u.account = true;
		}
		add_use(&u, type, control);
		check_aiven_line(d, path, lineno, type, control, p, &u);
	}
	fclose(fp);
	if (u.uses[0] == '\0')
		return;
	(*n_services)++;
	if (strcmp(service, "dovecot") == 0)
		d->dovecot_pam = true;
	if (strcmp(service, "sshd") == 0 && u.any_token)
		d->sshd_pam = true;
	if (u.human && u.die_line != 0 && u.die_fails_humans) {
		snprintf(fix, sizeof(fix), "add non_token=ignore and "
		    "ignore=ignore to line %u of %s, or give tokens a PAM "
		    "service of their own (pam_aiven(8))", u.die_line, path);
		report(d, FAIL, "pam", fix, "%s:%u: pam_aiven ends the login "
		    "when it does not accept the password, in a stack people "
		    "log in with: their passwords are refused", path,
		    u.die_line);
	} else if (u.human && u.die_line != 0) {
		snprintf(fix, sizeof(fix), "give people passwords that are not "
		    "token-shaped, or give tokens a PAM service of their own "
		    "(pam_aiven(8))");
		report(d, WARN, "pam", fix, "%s:%u: pam_aiven's refusal ends "
		    "the login (default=die) in a stack people log in with: a "
		    "person whose password looks like a token (32 or more "
		    "letters, digits, + or /) is refused", path, u.die_line);
	}
	if (u.optional) {
		report(d, WARN, "pam", "use required, requisite, sufficient or "
		    "[success=done default=die ...]", "%s: auth optional "
		    "pam_aiven: a refused token does not fail the stack (%s)",
		    path, u.uses);
	} else if (u.auth && !u.account) {
		snprintf(fix, sizeof(fix), "add `account required "
		    "pam_aiven.so` to %s", path);
		report(d, WARN, "pam", fix, "%s: no account line: a token "
		    "revoked after authentication is not re-checked (%s)",
		    path, u.uses);
	} else if (!u.bad_line) {
		report(d, OK, "pam", NULL, "%s: %s", path, u.uses);
	}
}

/*
 * PermitRootLogin as sshd reads it: the first value wins, and Debian's
 * sshd_config includes sshd_config.d/ (sorted) at its top.  Match blocks
 * are not followed.  Writes the value and where it was set; "" when unset
 * (the default, prohibit-password).
 */
static bool
root_login_in(const char *path, char *val, size_t vsize)
{
	char line[LINE_MAX_LEN];
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *k, *v, *hash;

		line[strcspn(line, "\r\n")] = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		if ((k = next_word(&p)) == NULL)
			continue;
		if (strcasecmp(k, "Match") == 0)
			break;
		if (strcasecmp(k, "PermitRootLogin") != 0 ||
		    (v = next_word(&p)) == NULL)
			continue;
		snprintf(val, vsize, "%s", v);
		fclose(fp);
		return true;
	}
	fclose(fp);
	return false;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of dir (sorted, with suffix when not NULL), malloc'd; *n. */
static char **
sorted_files(const char *dir, const char *suffix, size_t *n)
{
	char **names = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *dp;

	*n = 0;
	if ((dp = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (suffix != NULL && (len < strlen(suffix) ||
		    strcmp(de->d_name + len - strlen(suffix), suffix) != 0))
			continue;
		if (cnt == cap) {
			char **nn = realloc(names, (cap = cap * 2 + 16) *
			    sizeof(*names));

			if (nn == NULL)
				break;
			names = nn;
		}
		if ((names[cnt] = strdup(de->d_name)) == NULL)
			break;
		cnt++;
	}
	closedir(dp);
	if (cnt != 0)
		qsort(names, cnt, sizeof(*names), cmp_names);
	*n = cnt;
	return names;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* sshd lets root log in by password while its PAM stack takes tokens. */
static void
check_sshd_root(struct doctor *d)
{
	char dir[4096], path[4096 + 256], val[64] = "", where[4096 + 256] = "";
	char fix[FIX_MAX], **names;
	size_t n, i;
	bool found = false;

	if (!d->sshd_pam)
		return;
	snprintf(dir, sizeof(dir), "%s/etc/ssh/sshd_config.d", d->root);
	names = sorted_files(dir, ".conf", &n);
	for (i = 0; i < n && !found; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((found = root_login_in(path, val, sizeof(val))))
			snprintf(where, sizeof(where), "%s", path);
	}
	free_names(names, n);
	snprintf(path, sizeof(path), "%s/etc/ssh/sshd_config", d->root);
	if (!found && (found = root_login_in(path, val, sizeof(val))))
		snprintf(where, sizeof(where), "%s", path);
	if (found && strcasecmp(val, "yes") == 0) {
		snprintf(fix, sizeof(fix), "set PermitRootLogin "
		    "prohibit-password (or no) in %s", where);
		report(d, WARN, "pam", fix, "%s: PermitRootLogin yes, and "
		    "/etc/pam.d/sshd accepts tokens: root's login by password "
		    "goes through the same stack", where);
	} else {
		report(d, OK, "pam", NULL, "sshd: PermitRootLogin %s",
		    found ? val : "not set (prohibit-password)");
	}
}

void
check_pam(struct doctor *d)
{
	char dir[4096], path[4096 + 256], **names;
	unsigned n = 0;
	struct stat sb;
	size_t cnt, i;

	snprintf(dir, sizeof(dir), "%s/etc/pam.d", d->root);
	if (access(dir, R_OK | X_OK) != 0) {
		report(d, WARN, "pam", "see pam_aiven(8)", "%s: %s", dir,
		    strerror(errno));
		return;
	}
	/* readdir order is arbitrary: sorted for stable output. */
	names = sorted_files(dir, NULL, &cnt);
	for (i = 0; i < cnt; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			check_pam_file(d, path, names[i], &n);
	}
	free_names(names, cnt);
	d->aiven_services = n;
	if (n == 0)
		report(d, WARN, "pam", "add pam_aiven to the service's file in "
		    "/etc/pam.d, see pam_aiven(8)", "no PAM service in %s uses "
		    "pam_aiven", dir);
	check_sshd_root(d);
}
