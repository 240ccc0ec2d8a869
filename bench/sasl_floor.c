/*
 * sasl_floor.c - the saslauthd protocol's floor: the same event loop and
 * codec as aivenauth-saslauthd (saslauthd/loop.c, proto.c), answering
 * "OK" to every well-formed request without deciding anything.  What
 * aivenauth-saslauthd costs above it is the decision (policy, verify, the
 * log line).  Bench only: never install this.
 *
 *   bench_sasl_floor SOCKET      (until SIGTERM)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../saslauthd/listen.h"
#include "../saslauthd/log.h"
#include "../saslauthd/loop.h"

static size_t
ok_cb(void *arg, const unsigned char *req, const struct sa_fields *f,
    const struct sd_peer *peer, unsigned char *answer)
{
	(void)arg; (void)req; (void)f; (void)peer;
	return sa_answer(answer, true, "Success.");
}

static size_t
refuse_cb(void *arg, enum sa_parse why, const struct sd_peer *peer,
    unsigned char *answer)
{
	(void)arg; (void)why; (void)peer;
	return sa_answer(answer, false, "malformed request");
}

int
main(int argc, char **argv)
{
	struct sl_loop_opts lo;
	struct sl_stats st;
	sigset_t set;
	char err[256];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_sasl_floor SOCKET\n");
		return 64;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sl_log_init(true, false);
	fd = sln_bind(argv[1], 0600, (gid_t)-1, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "bench_sasl_floor: %s\n", err);
		return 71;
	}
	memset(&lo, 0, sizeof(lo));
	lo.listen_fds = &fd;
	lo.n_listen = 1;
	lo.max_conns = 1024;
	lo.timeout_ms = 10000;
	lo.decide = ok_cb;
	lo.refuse = refuse_cb;
	fprintf(stderr, "bench_sasl_floor: ready\n");
	(void)sl_run(&lo, &st);
	unlink(argv[1]);
	return 0;
}
