/*
 * sasl_load.c - a load client speaking the saslauthd protocol, the same
 * for every responder it measures (aivenauth-saslauthd, Cyrus saslauthd
 * -a pam + pam_aiven, the floor): N threads, each a loop of connect,
 * send one request, read the answer, close -- what libsasl2 does per
 * check.  Every answer is checked against EXPECT ("OK" or "NO").
 *
 *   bench_sasl_load SOCKET CLIENTS REQUESTS_PER_CLIENT LOGIN SERVICE EXPECT
 *                   [IDLE]                        < TOKENFILE
 *
 * IDLE: that many connections are opened first and held, silent, for
 * the whole run.  Prints one line:
 *   clients=16 requests=N seconds=S per_s=X p50_us=A p99_us=B max_us=C wrong=W
 */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path, *expect;
static unsigned char req[8192];
static size_t req_len;
static unsigned long per_client;

struct worker {
	pthread_t th;
	uint32_t *lat_us;
	unsigned long wrong;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
dial(void)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool
read_full(int fd, unsigned char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* One check; true if the answer starts with EXPECT. */
static bool
one(void)
{
	unsigned char hdr[2], body[512];
	size_t n;
	bool ok = false;
	int fd = dial();

	if (fd < 0)
		return false;
	if (write(fd, req, req_len) == (ssize_t)req_len &&
	    read_full(fd, hdr, 2)) {
		n = (size_t)hdr[0] << 8 | hdr[1];
		if (n >= 2 && n <= sizeof(body) && read_full(fd, body, n))
			ok = memcmp(body, expect, 2) == 0;
	}
	close(fd);
	return ok;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	unsigned long i;
	uint64_t t;

	for (i = 0; i < per_client; i++) {
		t = now_ns();
		if (!one())
			w->wrong++;
		w->lat_us[i] = (uint32_t)((now_ns() - t) / 1000);
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
put(const char *s, size_t n)
{
	req[req_len++] = (unsigned char)(n >> 8);
	req[req_len++] = (unsigned char)(n & 0xff);
	memcpy(req + req_len, s, n);
	req_len += n;
}

int
main(int argc, char **argv)
{
	static char token[2048];
	struct worker *w;
	uint32_t *all;
	unsigned long clients, idle = 0, i, total, wrong = 0;
	size_t tlen;
	uint64_t t0, t1;
	int *idle_fds = NULL;

	if (argc < 7) {
		fprintf(stderr, "usage: bench_sasl_load SOCKET CLIENTS REQUESTS "
		    "LOGIN SERVICE EXPECT [IDLE] < TOKENFILE\n");
		return 64;
	}
	sock_path = argv[1];
	clients = strtoul(argv[2], NULL, 10);
	per_client = strtoul(argv[3], NULL, 10);
	expect = argv[6];
	if (argc > 7)
		idle = strtoul(argv[7], NULL, 10);
	tlen = fread(token, 1, sizeof(token) - 1, stdin);
	while (tlen > 0 && (token[tlen - 1] == '\n' || token[tlen - 1] == '\r'))
		tlen--;
	if (clients == 0 || per_client == 0 || tlen == 0 || strlen(expect) != 2) {
		fprintf(stderr, "bench_sasl_load: bad arguments or no token\n");
		return 64;
	}
	put(argv[4], strlen(argv[4]));
	put(token, tlen);
	put(argv[5], strlen(argv[5]));
	put("", 0);
	memset(token, 0, sizeof(token));

	if (idle > 0) {
		idle_fds = calloc(idle, sizeof(*idle_fds));
		for (i = 0; i < idle; i++)
			if ((idle_fds[i] = dial()) < 0) {
				fprintf(stderr, "bench_sasl_load: idle connection "
				    "%lu: %s\n", i, strerror(errno));
				return 1;
			}
	}
	w = calloc(clients, sizeof(*w));
	for (i = 0; i < clients; i++)
		w[i].lat_us = calloc(per_client, sizeof(uint32_t));
	t0 = now_ns();
	for (i = 0; i < clients; i++)
		pthread_create(&w[i].th, NULL, run, &w[i]);
	for (i = 0; i < clients; i++)
		pthread_join(w[i].th, NULL);
	t1 = now_ns();
	total = clients * per_client;
	all = malloc(total * sizeof(*all));
	for (i = 0; i < clients; i++) {
		memcpy(all + i * per_client, w[i].lat_us,
		    per_client * sizeof(uint32_t));
		wrong += w[i].wrong;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("clients=%lu idle=%lu requests=%lu seconds=%.3f per_s=%.0f "
	    "p50_us=%u p99_us=%u max_us=%u wrong=%lu\n", clients, idle, total,
	    (double)(t1 - t0) / 1e9, (double)total / ((double)(t1 - t0) / 1e9),
	    all[total / 2], all[total * 99 / 100], all[total - 1], wrong);
	for (i = 0; i < idle; i++)
		close(idle_fds[i]);
	return wrong == 0 ? 0 : 1;
}
