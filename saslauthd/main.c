/*
 * main.c - aivenauth-saslauthd: options, start-up checks, run, clean exit.
 *
 * A reader like pam_aiven (docs/DESIGN.md): it decides with
 * aivenauth_verify() on the published snapshot, opened read-only, links
 * only the library's base/ and reader/ objects (tests/it_boundary.sh),
 * never reads the admin API token, and goes to the network only where
 * the PAM module would (online = learn).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include "aivenauth.h"
#include "decide.h"
#include "fdlimit.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "reader/reader.h"
#include "../pam_aiven/args.h"
#include "../pam_aiven/logfield.h"

#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_TIMEOUT 10

struct opts {
	const char *config;
	const char *policy;
	const char *listen[SLN_MAX];
	size_t n_listen;
	mode_t mode;
	const char *group;
	unsigned max_conns;
	unsigned timeout;
	bool to_stderr, debug, check;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: aivenauth-saslauthd [-c FILE] [--policy FILE] [--listen PATH]...\n"
	    "           [--socket-mode MODE] [--socket-group GROUP]\n"
	    "           [--max-connections N] [--timeout SECONDS] [--stderr] [--debug]\n"
	    "       aivenauth-saslauthd [-c FILE] [--policy FILE] --check\n"
	    "Answers the saslauthd socket protocol with aivenauth's decision.\n"
	    "Without --listen, the sockets come from systemd socket activation.\n"
	    "See aivenauth-saslauthd(8).\n");
}

static bool
parse_num(const char *s, unsigned long lo, unsigned long hi, int base,
    unsigned long *out)
{
	char *end;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoul(s, &end, base);
	return errno == 0 && *end == '\0' && *out >= lo && *out <= hi;
}

/*
 * Returns 0, or an exit code.  A value shown in a message goes through
 * pa_log_field (pa_log_path for a path): a token pasted into the wrong
 * argument must not reach the journal, even though argv is not secret
 * from this host's root.
 */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_POLICY = 256, O_LISTEN, O_MODE, O_GROUP, O_MAXC, O_TIMEOUT,
		O_STDERR, O_DEBUG, O_CHECK };
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "socket-mode", required_argument, NULL, O_MODE },
		{ "socket-group", required_argument, NULL, O_GROUP },
		{ "max-connections", required_argument, NULL, O_MAXC },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "stderr", no_argument, NULL, O_STDERR },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "check", no_argument, NULL, O_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char vbuf[PA_LOG_PATH];
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->mode = 0660;
	o->max_conns = DEFAULT_MAX_CONNS;
	o->timeout = DEFAULT_TIMEOUT;
	while ((c = getopt_long(argc, argv, "c:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case O_POLICY:
			o->policy = optarg;
			break;
		case O_LISTEN:
			if (o->n_listen == SLN_MAX) {
				fprintf(stderr, "aivenauth-saslauthd: at most %d "
				    "--listen\n", SLN_MAX);
				return EX_USAGE;
			}
			if (optarg[0] != '/') {
				fprintf(stderr, "aivenauth-saslauthd: --listen %s: "
				    "an absolute path, please\n",
				    pa_log_path(optarg, vbuf, sizeof(vbuf)));
				return EX_USAGE;
			}
			o->listen[o->n_listen++] = optarg;
			break;
		case O_MODE:
			if (!parse_num(optarg, 0, 0777, 8, &v)) {
				fprintf(stderr, "aivenauth-saslauthd: --socket-mode "
				    "%s: an octal mode such as 0660\n",
				    pa_log_field(optarg, vbuf, PA_LOG_FIELD));
				return EX_USAGE;
			}
			if (v & 0006)
				fprintf(stderr, "aivenauth-saslauthd: warning: "
				    "--socket-mode %s lets every local user ask\n",
				    pa_log_field(optarg, vbuf, PA_LOG_FIELD));
			o->mode = (mode_t)v;
			break;
		case O_GROUP:
			o->group = optarg;
			break;
		case O_MAXC:
			if (!parse_num(optarg, 1, 65536, 10, &v)) {
				fprintf(stderr, "aivenauth-saslauthd: "
				    "--max-connections %s: 1 to 65536\n",
				    pa_log_field(optarg, vbuf, PA_LOG_FIELD));
				return EX_USAGE;
			}
			o->max_conns = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (!parse_num(optarg, 1, 3600, 10, &v)) {
				fprintf(stderr, "aivenauth-saslauthd: --timeout %s: "
				    "1 to 3600 seconds\n",
				    pa_log_field(optarg, vbuf, PA_LOG_FIELD));
				return EX_USAGE;
			}
			o->timeout = (unsigned)v;
			break;
		case O_STDERR:
			o->to_stderr = true;
			break;
		case O_DEBUG:
			o->debug = true;
			break;
		case O_CHECK:
			o->check = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("aivenauth-saslauthd %s\n", aivenauth_version());
			exit(0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "aivenauth-saslauthd: unexpected argument %s\n",
		    pa_log_field(argv[optind], vbuf, PA_LOG_FIELD));
		return EX_USAGE;
	}
	return 0;
}

static size_t
decide_cb(void *arg, const unsigned char *req, const struct sa_fields *f,
    const struct sd_peer *peer, unsigned char *answer)
{
	return sd_decide(arg, req, f, peer, answer);
}

static size_t
refuse_cb(void *arg, enum sa_parse why, const struct sd_peer *peer,
    unsigned char *answer)
{
	(void)arg;
	return sd_refuse_request(why, peer, answer);
}

/* The online worker's decision; then its contexts hold no snapshot. */
static size_t
worker_cb(void *arg, const unsigned char *req, const struct sa_fields *f,
    const struct sd_peer *peer, unsigned char *answer)
{
	const struct sd_state *s = arg;
	size_t n = sd_decide(arg, req, f, peer, answer), i;

	aivenauth_cache_idle(s->ctx);
	for (i = 0; i <= s->policy->n; i++) {
		const struct sp_policy *p = i < s->policy->n ?
		    &s->policy->p[i] : &s->policy->def;

		if (p->wctx != NULL)
			aivenauth_cache_idle(p->wctx);
	}
	return n;
}

/* Going idle: hold no read snapshot while nobody asks. */
static void
idle_cb(void *arg)
{
	const struct sd_state *s = arg;
	size_t i;

	aivenauth_cache_idle(s->ctx);
	for (i = 0; i < s->policy->n; i++)
		if (s->policy->p[i].ctx != NULL)
			aivenauth_cache_idle(s->policy->p[i].ctx);
	if (s->policy->def.ctx != NULL)
		aivenauth_cache_idle(s->policy->def.ctx);
}

/* Descriptors are counted up to here: a cap is at most 65536, so a limit
 * past this bound leaves room enough whatever lies above it. */
#define FD_SCAN_MAX (1U << 17)

static unsigned long long
fd_limit_of(rlim_t cur)
{
	if (cur == RLIM_INFINITY)
		return SL_FD_UNLIMITED;
	return cur < FD_SCAN_MAX ? (unsigned long long)cur : FD_SCAN_MAX;
}

/* Descriptors open below limit: the numbers accept() cannot have (stdio,
 * the listening sockets, the cache, anything inherited). */
static unsigned
fds_open_below(unsigned long long limit)
{
	unsigned long long top = limit < FD_SCAN_MAX ? limit : FD_SCAN_MAX;
	unsigned n = 0;
	int fd;

	for (fd = 0; (unsigned long long)fd < top; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/*
 * The connection cap that fits RLIMIT_NOFILE (fdlimit.h): the soft limit
 * raised to the hard one if want does not fit, then the cap lowered (never
 * raised) to what the limit leaves after what is open now and `later`
 * descriptors the responder opens once running.
 */
static unsigned
fit_fd_limit(unsigned want, unsigned later)
{
	unsigned long long lim;
	struct rlimit rl;
	unsigned in_use, cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	lim = fd_limit_of(rl.rlim_cur);
	if (rl.rlim_cur < rl.rlim_max &&
	    sl_conn_cap(want, lim, fds_open_below(lim), later) < want) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 &&
		    getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return want;
		lim = fd_limit_of(rl.rlim_cur);
	}
	in_use = fds_open_below(lim);
	cap = sl_conn_cap(want, lim, in_use, later);
	if (cap < want)
		sl_log(LOG_WARNING, "--max-connections %u lowered to %u to fit "
		    "RLIMIT_NOFILE %llu (%u descriptors open, %u kept for the "
		    "responder's own; raise LimitNOFILE)", want, cap,
		    (unsigned long long)rl.rlim_cur, in_use,
		    later + sl_fd_slack(lim));
	return cap;
}

/*
 * online = learn: the event loop decides on the cache alone (its
 * contexts get online = off) and hands a token whose hash this host does
 * not know (not-enrolled) to one worker thread, whose contexts keep
 * online = learn: an API call takes up to `timeout` seconds, and the
 * loop must never wait for one (libsasl2 waits with no timeout of its
 * own).  What the API vouched for stays in the worker's memory, as in
 * pam_aiven.
 */
static bool
learning(struct aivenauth_ctx *c)
{
	const char *v = aivenauth_config_get(c, "online");

	return v != NULL && strcmp(v, "off") != 0;
}

static bool
cache_only(struct aivenauth_ctx *c)
{
	return !learning(c) ||
	    aivenauth_config_set(c, "online", "off") == AIVENAUTH_OK;
}

/* A context like the responder's: same config file, then key = value. */
static struct aivenauth_ctx *
make_ctx(const char *config, const char *key, const char *value, bool learn)
{
	struct aivenauth_ctx *c = NULL;

	if (aivenauth_ctx_new(&c) != AIVENAUTH_OK)
		return NULL;
	aivenauth_set_log(c, sl_lib_log, NULL, sl_log_max());
	reader_uid0_by_name_only(c);
	if (aivenauth_config_load(c, config, config != NULL) != AIVENAUTH_OK ||
	    (key != NULL && aivenauth_config_set(c, key, value) != AIVENAUTH_OK) ||
	    (!learn && !cache_only(c))) {
		aivenauth_ctx_free(c);
		return NULL;
	}
	return c;
}

/* Every policy entry, the default last. */
static struct sp_policy *
policy_at(struct sp_table *t, size_t i)
{
	return i < t->n ? &t->p[i] : &t->def;
}

/*
 * user_match=map: a context per account_map= file (the map is the
 * config key account_map_file of a context), and every map read once
 * now, so that a missing or broken map stops the start rather than
 * refuse every login later.  The library re-reads a map when it
 * changes, as for pam_aiven.
 */
static bool
prepare_maps(struct aivenauth_ctx *ctx, const char *config, struct sp_table *t,
    bool learn)
{
	struct aivenauth_account_map *m;
	struct aivenauth_ctx *c;
	struct sp_policy *p;
	enum aivenauth_status st;
	char sbuf[PA_LOG_FIELD], mbuf[PA_LOG_PATH];
	size_t i;

	for (i = 0; i <= t->n; i++) {
		p = policy_at(t, i);
		if (p->user_match != AIVENAUTH_MATCH_MAP)
			continue;
		c = ctx;
		if (p->account_map != NULL) {
			p->ctx = make_ctx(config, "account_map_file",
			    p->account_map, false);
			if (p->ctx == NULL)
				return false;
			c = p->ctx;
			if (learn && (p->wctx = make_ctx(config, "account_map_file",
			    p->account_map, true)) == NULL)
				return false;
		}
		m = NULL;
		st = aivenauth_account_map_load(c, NULL, &m);
		aivenauth_account_map_free(m);
		if (st != AIVENAUTH_OK) {
			sl_log(LOG_ERR, "policy %s: user_match=map: account map "
			    "%s: %s", pa_log_field(p->service, sbuf, sizeof(sbuf)),
			    pa_log_path(aivenauth_config_get(c,
			    "account_map_file"), mbuf, sizeof(mbuf)),
			    aivenauth_strerror(st));
			return false;
		}
	}
	return true;
}

static void
free_map_ctxs(struct sp_table *t)
{
	size_t i;

	for (i = 0; i <= t->n; i++) {
		aivenauth_ctx_free(policy_at(t, i)->ctx);
		aivenauth_ctx_free(policy_at(t, i)->wctx);
		policy_at(t, i)->ctx = policy_at(t, i)->wctx = NULL;
	}
}

static void
log_policy(const struct sp_table *t)
{
	char sbuf[PA_LOG_FIELD], mbuf[PA_LOG_PATH], cbuf[PA_LOG_FIELD];
	size_t i;
	const struct sp_policy *p;

	/* What the file says, through the same masking as its errors: a
	 * token pasted as a scope or a service name is a valid policy. */
	for (i = 0; i <= t->n; i++) {
		p = i < t->n ? &t->p[i] : &t->def;
		sl_log(LOG_INFO, "policy %s: user_match=%s%s%s%s%s realm=%s%s",
		    pa_log_field(p->service, sbuf, sizeof(sbuf)),
		    pa_user_match_name(p->user_match),
		    p->account_map != NULL ? " account_map=" : "",
		    p->account_map != NULL ?
		    pa_log_path(p->account_map, mbuf, sizeof(mbuf)) : "",
		    p->scope != NULL ? " scope=" : "",
		    p->scope != NULL ? pa_log_field(p->scope, cbuf, sizeof(cbuf)) :
		    "", sp_realm_name(p->realm),
		    p->line == 0 ? " (built-in default)" : "");
	}
}

int
main(int argc, char **argv)
{
	struct sp_table policy;
	static struct sd_scratch scratch, wscratch;
	struct sd_state state, wstate;
	struct aivenauth_ctx *wctx = NULL;
	bool learn;
	struct sl_loop_opts lo;
	struct sl_stats stats;
	struct opts o;
	struct stat bound[SLN_MAX];
	enum aivenauth_status st;
	struct aivenauth_ctx *ctx = NULL;
	int fds[SLN_MAX], n_fds = 0, n, rc;
	gid_t gid = (gid_t)-1;
	char err[512], vbuf[PA_LOG_PATH];
	sigset_t set;
	size_t i;

	/* Before anything else: SIGTERM is read from a signalfd by the loop,
	 * so it must never be delivered the default way. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A terminal hang-up or a stray `kill -HUP` must not end the mail and
	 * LDAP path's responder (the default action would, leaving its
	 * socket behind); the account map reloads by itself. */
	signal(SIGHUP, SIG_IGN);
	/* Passwords are tokens: no core file may carry one (as aivenctl). */
	{
		struct rlimit core = { 0, 0 };

		(void)setrlimit(RLIMIT_CORE, &core);
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}

	rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc;
	sl_log_init(o.to_stderr || o.check, o.debug);

	memset(&policy, 0, sizeof(policy));
	sp_free(&policy);
	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK) {
		sl_log(LOG_ERR, "cannot create a library context");
		return EX_OSERR;
	}
	aivenauth_set_log(ctx, sl_lib_log, NULL, sl_log_max());
	/* No NSS lookup inside the event loop (reader.h). */
	reader_uid0_by_name_only(ctx);
	st = aivenauth_config_load(ctx, o.config, o.config != NULL);
	if (st != AIVENAUTH_OK) {
		sl_log(LOG_ERR, "config %s: %s; not starting",
		    o.config != NULL ? pa_log_path(o.config, vbuf, sizeof(vbuf)) :
		    "(default)",
		    aivenauth_strerror(st));
		aivenauth_ctx_free(ctx);
		return EX_CONFIG;
	}
	learn = learning(ctx);
	if (learn && (wctx = make_ctx(o.config, NULL, NULL, true)) == NULL) {
		sl_log(LOG_ERR, "cannot make the online worker's context");
		aivenauth_ctx_free(ctx);
		return EX_CONFIG;
	}
	if (!cache_only(ctx)) {
		aivenauth_ctx_free(ctx);
		return EX_CONFIG;
	}
	if (!sp_load(ctx, o.policy, &policy, err, sizeof(err))) {
		sl_log(LOG_ERR, "%s; not starting", err);
		aivenauth_ctx_free(ctx);
		return EX_CONFIG;
	}
	if (!prepare_maps(ctx, o.config, &policy, learn)) {
		sl_log(LOG_ERR, "not starting");
		free_map_ctxs(&policy);
		sp_free(&policy);
		aivenauth_ctx_free(ctx);
		return EX_CONFIG;
	}
	if (o.check) {
		log_policy(&policy);
		printf("aivenauth-saslauthd: config and policy OK\n");
		free_map_ctxs(&policy);
		sp_free(&policy);
		aivenauth_ctx_free(ctx);
		return 0;
	}
	if (o.group != NULL) {
		struct group *gr = getgrnam(o.group);

		if (gr == NULL) {
			sl_log(LOG_ERR, "--socket-group %s: no such group",
			    pa_log_field(o.group, vbuf, PA_LOG_FIELD));
			return EX_USAGE;
		}
		gid = gr->gr_gid;
	}

	n = sln_from_systemd(fds, SLN_MAX, err, sizeof(err));
	if (n < 0) {
		sl_log(LOG_ERR, "%s", err);
		return EX_OSERR;
	}
	n_fds = n;
	for (i = 0; i < o.n_listen; i++) {
		if ((size_t)n_fds == SLN_MAX) {
			sl_log(LOG_ERR, "more than %d sockets", SLN_MAX);
			return EX_USAGE;
		}
		fds[n_fds] = sln_bind(o.listen[i], o.mode, gid, err, sizeof(err));
		if (fds[n_fds] < 0 || lstat(o.listen[i], &bound[i]) != 0) {
			sl_log(LOG_ERR, "%s", err);
			return EX_OSERR;
		}
		n_fds++;
	}
	if (n_fds == 0) {
		sl_log(LOG_ERR, "no socket: give --listen PATH, or start it "
		    "through its systemd .socket unit");
		return EX_USAGE;
	}

	/* Not required to start (the first sync may come later), but say
	 * so now rather than at the first login. */
	st = reader_attach(ctx);      /* the snapshot, read-only */
	if (st != AIVENAUTH_OK)
		sl_log(LOG_WARNING, "cache not readable yet (%s): every "
		    "request is refused until it is", aivenauth_strerror(st));
	aivenauth_cache_idle(ctx);

	log_policy(&policy);
	memset(&state, 0, sizeof(state));
	state.ctx = ctx;
	state.policy = &policy;
	state.scratch = &scratch;
	state.defer_not_enrolled = learn;
	memset(&wstate, 0, sizeof(wstate));
	wstate.ctx = wctx;
	wstate.policy = &policy;
	wstate.scratch = &wscratch;
	wstate.worker = true;
	memset(&lo, 0, sizeof(lo));
	lo.listen_fds = fds;
	lo.n_listen = (size_t)n_fds;
	{
		/* Opened once running: the loop's, the worker's, and a
		 * snapshot per policy context (attached at first use). */
		unsigned later = SL_FD_LATER + (learn ? SL_FD_WORKER : 0);

		for (i = 0; i <= policy.n; i++)
			later += (policy_at(&policy, i)->ctx != NULL) +
			    (policy_at(&policy, i)->wctx != NULL);
		lo.max_conns = fit_fd_limit(o.max_conns, later);
	}
	lo.timeout_ms = o.timeout * 1000;
	lo.decide = decide_cb;
	lo.refuse = refuse_cb;
	lo.idle = idle_cb;
	lo.arg = &state;
	if (learn) {
		lo.worker = worker_cb;
		lo.worker_arg = &wstate;
		sl_log(LOG_INFO, "online = learn: tokens this host has no hash "
		    "for are checked at the API by a worker thread; cached "
		    "decisions never wait for it");
	}
	sl_log(LOG_INFO, "ready: %d socket%s, up to %u connections, "
	    "%u s per request", n_fds, n_fds == 1 ? "" : "s", lo.max_conns,
	    o.timeout);
	rc = sl_run(&lo, &stats);

	for (i = 0; i < o.n_listen; i++) {
		struct stat now;

		/* Only our own socket: another instance may have replaced it. */
		if (lstat(o.listen[i], &now) == 0 && now.st_ino == bound[i].st_ino &&
		    now.st_dev == bound[i].st_dev)
			unlink(o.listen[i]);
	}
	for (n = 0; n < n_fds; n++)
		close(fds[n]);
	sl_log_limit_flush();
	sl_log(LOG_INFO, "stopping: %llu connections, %llu answered, %llu "
	    "malformed, %llu timed out, %llu evicted (%llu out of descriptors), "
	    "%llu dropped, %llu to the online worker, %llu refused out of "
	    "descriptors", stats.accepted, stats.answered, stats.refused_bad,
	    stats.timed_out, stats.evicted, stats.evicted_fd, stats.dropped,
	    stats.deferred, stats.fd_exhausted);
	free_map_ctxs(&policy);
	sp_free(&policy);
	aivenauth_ctx_free(wctx);
	aivenauth_ctx_free(ctx);
	return rc == 0 ? 0 : EX_OSERR;
}
