/*
 * pamconv - full PAM conversations in one process, like a host (nginx,
 * saslauthd) does them: pam_start_confdir -> pam_authenticate ->
 * pam_acct_mgmt -> pam_end.  Linked with libpam only (built by
 * tools/run-bench, not the Makefile's bench rule, which links liblmdb and
 * libsodium into the program and would hide their per-call dlopen).
 *
 *   pamconv loop CONFDIR N ROUNDS OPS SVC...   SVC[0] vs SVC[1] (ratio)
 *   pamconv rss  CONFDIR N OPS SVC             RSS before/after OPS calls
 *   pamconv once CONFDIR N SVC                 one conversation, fresh process
 *
 * User of account i is "user%07zu" (i), its password/token bench_token(i).
 * BENCH_PRELOAD=a.so:b.so dlopens those RTLD_NODELETE first: what a module
 * linked -z nodelete would save (it then stays mapped across pam_end).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "../token.h"

static char cur_tok[BENCH_TOKEN_LEN + 1];

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)arg;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(cur_tok);
	*resp = r;
	return PAM_SUCCESS;
}

static int
one(const char *confdir, const char *svc, size_t i)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *h = NULL;
	char user[32];
	int rc;

	snprintf(user, sizeof(user), "user%07zu", i);
	bench_token(i, cur_tok);
	if ((rc = pam_start_confdir(svc, user, &c, confdir, &h)) != PAM_SUCCESS)
		return rc;
	if ((rc = pam_set_item(h, PAM_RHOST, "127.0.0.1")) == PAM_SUCCESS &&
	    (rc = pam_authenticate(h, 0)) == PAM_SUCCESS)
		rc = pam_acct_mgmt(h, 0);
	pam_end(h, rc);
	return rc;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long
status_kb(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void
preload(void)
{
	const char *p = getenv("BENCH_PRELOAD");
	char *s, *tok, *save = NULL;

	if (p == NULL || *p == '\0')
		return;
	s = strdup(p);
	for (tok = strtok_r(s, ":", &save); tok != NULL;
	    tok = strtok_r(NULL, ":", &save))
		if (dlopen(tok, RTLD_NOW | RTLD_NODELETE) == NULL) {
			fprintf(stderr, "pamconv: %s\n", dlerror());
			exit(1);
		}
	free(s);
}

int
main(int argc, char **argv)
{
	uint64_t seed = 42;

	preload();
	if (argc >= 5 && strcmp(argv[1], "once") == 0) {
		double t0 = bench_now();
		int rc = one(argv[2], argv[4], strtoul(argv[3], NULL, 10) / 2);

		printf("%.1f\n", (bench_now() - t0) * 1e6);
		return rc != PAM_SUCCESS;
	}
	if (argc >= 6 && strcmp(argv[1], "rss") == 0) {
		size_t n = strtoul(argv[3], NULL, 10), ops = strtoul(argv[4], NULL, 10), i;
		long before;
		double t0;

		for (i = 0; i < 1000; i++)
			if (one(argv[2], argv[5], (size_t)(bench_rand(&seed) % n)) != PAM_SUCCESS)
				return 1;
		before = status_kb("VmRSS");
		t0 = bench_now();
		for (i = 0; i < ops; i++)
			if (one(argv[2], argv[5], (size_t)(bench_rand(&seed) % n)) != PAM_SUCCESS)
				return 1;
		printf("FIGURE pam_rss_conversations %zu\nFIGURE pam_rss_seconds %.1f\n"
		    "FIGURE pam_rss_kb_before %ld\nFIGURE pam_rss_kb_after %ld\n"
		    "FIGURE pam_rss_anon_kb_after %ld\n", ops, bench_now() - t0,
		    before, status_kb("VmRSS"), status_kb("RssAnon"));
		return 0;
	}
	if (argc >= 7 && strcmp(argv[1], "loop") == 0) {
		const char *confdir = argv[2];
		size_t n = strtoul(argv[3], NULL, 10);
		unsigned rounds = (unsigned)strtoul(argv[4], NULL, 10), r;
		size_t ops = strtoul(argv[5], NULL, 10), i;
		int ns = argc - 6, k;
		double *us = calloc((size_t)ns * rounds, sizeof(double));
		double *ratio = calloc((size_t)ns * rounds, sizeof(double));

		for (k = 0; k < ns; k++)      /* warm: files in the page cache */
			for (i = 0; i < 50; i++)
				if (one(confdir, argv[6 + k], (size_t)(bench_rand(&seed) % n)) !=
				    PAM_SUCCESS) {
					fprintf(stderr, "pamconv: %s refused account\n", argv[6 + k]);
					return 1;
				}
		for (r = 0; r < rounds; r++) {
			for (k = 0; k < ns; k++) {
				int s = (k + (int)r) % ns;   /* rotate the order */
				double t0 = bench_now();

				for (i = 0; i < ops; i++)
					if (one(confdir, argv[6 + s],
					    (size_t)(bench_rand(&seed) % n)) != PAM_SUCCESS)
						return 1;
				us[(size_t)s * rounds + r] = (bench_now() - t0) / (double)ops * 1e6;
			}
			for (k = 0; k < ns; k++)
				ratio[(size_t)k * rounds + r] = us[(size_t)k * rounds + r] /
				    us[(ns > 1 ? 1 : 0) * rounds + r];
		}
		for (k = 0; k < ns; k++) {
			printf("%s %.1f %.3f\n", argv[6 + k],
			    median(us + (size_t)k * rounds, rounds),
			    median(ratio + (size_t)k * rounds, rounds));
		}
		return 0;
	}
	fprintf(stderr, "usage: pamconv loop|rss|once ...\n");
	return 2;
}
