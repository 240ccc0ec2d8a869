/*
 * check_etcd.c - the etcd v3 client of the network module (net/etcd.c)
 * against real etcd servers this suite starts on 127.0.0.1 (free ports,
 * data under a temp dir, stopped by pid):
 *   E1  plain http, no auth: kv, pages, txn, leases, watch, compaction
 *   E2  https (a CA made here), auth on, a read-write and a read-only
 *       user on /t/ (real-clients.md §11): RBAC through the gateway
 * SKIP (exit 0) when etcd is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <sodium.h>

#include "base/internal.h"
#include "base/etcd.h"
#include "fleet/fleet_lead.h"
#include "net/etcd_client.h"

#define OPS (&etcd_ops)

static char dir[] = "/tmp/check_etcd.XXXXXX";
static pid_t e1_pid = -1, e2_pid = -1;
static char e1_url[64], e2_url[64], ca_path[128], log_path[160];
static char logbuf[32768];

static void
log_cb(void *arg, int level, const char *msg)
{
	size_t n = strlen(logbuf);

	(void)arg;
	(void)level;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int
sh(const char *fmt, ...) PRINTF(1, 2);

/* Run a shell command (test setup only: openssl, etcdctl). */
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void
params(struct etcd_params *p, const char *url)
{
	memset(p, 0, sizeof(*p));
	p->endpoints = url;
	/* Generous: a test must not depend on how fast a loaded machine (or
	 * valgrind) does a TLS handshake; the tests that want a timeout set
	 * their own. */
	p->timeout_ms = 60000;
	p->connect_timeout_ms = 30000;
	p->max_retries = 2;
	p->log = log_cb;
	p->log_max_level = LOG_DEBUG;
}

static pid_t
etcd_start(const char *name, char *url, size_t urlsz, bool tls,
    const char *extra)
{
	int cp = free_port(), pp = free_port(), fd;
	char data[160], logf[160], c_url[64], p_url[64];
	pid_t pid;

	snprintf(data, sizeof(data), "%s/%s", dir, name);
	snprintf(logf, sizeof(logf), "%s/%s.log", dir, name);
	snprintf(c_url, sizeof(c_url), "%s://127.0.0.1:%d", tls ? "https" :
	    "http", cp);
	snprintf(p_url, sizeof(p_url), "http://127.0.0.1:%d", pp);
	snprintf(url, urlsz, "%s", c_url);
	if ((pid = fork()) == 0) {
		char cluster[128], cert[160], key[160];

		snprintf(cluster, sizeof(cluster), "%s=%s", name, p_url);
		snprintf(cert, sizeof(cert), "%s/server.crt", dir);
		snprintf(key, sizeof(key), "%s/server.key", dir);
		if ((fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (tls)
			execlp("etcd", "etcd", "--name", name, "--data-dir", data,
			    "--listen-client-urls", c_url,
			    "--advertise-client-urls", c_url,
			    "--listen-peer-urls", p_url,
			    "--initial-advertise-peer-urls", p_url,
			    "--initial-cluster", cluster, "--cert-file", cert,
			    "--key-file", key, extra, (char *)NULL);
		else
			execlp("etcd", "etcd", "--name", name, "--data-dir", data,
			    "--listen-client-urls", c_url,
			    "--advertise-client-urls", c_url,
			    "--listen-peer-urls", p_url,
			    "--initial-advertise-peer-urls", p_url,
			    "--initial-cluster", cluster, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static enum aivenauth_status
count_kv(void *arg, const struct etcd_kv *kv)
{
	(void)kv;
	(*(size_t *)arg)++;
	return AIVENAUTH_OK;
}

/* Wait until the server answers a range (1-2 s at start-up). */
static bool
etcd_wait(pid_t pid, const char *url, bool tls)
{
	struct etcd_params p;
	struct etcd_client *c;
	size_t n;
	int i;

	params(&p, url);
	p.timeout_ms = 1000;
	p.connect_timeout_ms = 500;
	p.max_retries = 0;
	p.ca_file = tls ? ca_path : NULL;
	for (i = 0; i < 150; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		if (OPS->open(&p, &c) == AIVENAUTH_OK) {
			n = 0;
			if (OPS->range(c, "/", 1, NULL, 0, 0, 0, count_kv, &n,
			    NULL) == AIVENAUTH_OK) {
				OPS->close(c);
				return true;
			}
			OPS->close(c);
		}
		usleep(100000);
	}
	return false;
}

static void
etcd_stop(pid_t *pid)
{
	int i;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid)
			break;
		usleep(100000);
	}
	if (i == 50) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

static bool
make_certs(void)
{
	snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", dir);
	return sh("cd %s && openssl req -x509 -newkey ed25519 -nodes "
	    "-keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca "
	    ">/dev/null 2>&1 && openssl req -newkey ed25519 -nodes "
	    "-keyout server.key -out server.csr -subj /CN=127.0.0.1 "
	    ">/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1\\n' "
	    "> ext && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
	    "-CAcreateserial -out server.crt -days 2 -extfile ext "
	    ">/dev/null 2>&1", dir) == 0;
}

/* Users and roles on E2 (real-clients.md §11), then auth on. */
static bool
setup_auth(void)
{
	return sh("E='etcdctl --endpoints=%s --cacert=%s'; "
	    "($E user add root:rootpw && $E role add root && "
	    "$E user grant-role root root && "
	    "$E user add pub:pubpw && $E role add pub && "
	    "$E role grant-permission pub --prefix=true readwrite /t/ && "
	    "$E user grant-role pub pub && "
	    "$E user add fol:folpw && $E role add fol && "
	    "$E role grant-permission fol --prefix=true read /t/ && "
	    "$E user grant-role fol fol && $E auth enable) >/dev/null",
	    e2_url, ca_path) == 0;
}

static void
setup(void)
{
	logbuf[0] = '\0';
}

static struct etcd_client *
open1(void)
{
	struct etcd_params p;
	struct etcd_client *c;

	params(&p, e1_url);
	ck_assert_int_eq(OPS->open(&p, &c), AIVENAUTH_OK);
	return c;
}

/* ------------------------------------------------------------ kv */

struct collect {
	size_t n;
	char keys[2000][32];
	unsigned char vals[8][64];
	size_t val_len[8];
};

static enum aivenauth_status
collect_kv(void *arg, const struct etcd_kv *kv)
{
	struct collect *s = arg;

	ck_assert_uint_lt(s->n, 2000);
	ck_assert_uint_lt(kv->key_len, 32);
	memcpy(s->keys[s->n], kv->key, kv->key_len);
	s->keys[s->n][kv->key_len] = '\0';
	if (s->n < 8) {
		ck_assert_uint_le(kv->value_len, 64);
		memcpy(s->vals[s->n], kv->value, kv->value_len);
		s->val_len[s->n] = kv->value_len;
	}
	s->n++;
	return AIVENAUTH_OK;
}

static struct collect col;

static void
range_prefix(struct etcd_client *c, const char *prefix, int64_t rev,
    size_t page, int64_t *rev_out)
{
	char end[64];
	size_t el = etcd_prefix_end(prefix, strlen(prefix), end);

	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(c, prefix, strlen(prefix), end, el, rev,
	    page, collect_kv, &col, rev_out), AIVENAUTH_OK);
}

START_TEST(test_put_range)
{
	struct etcd_client *c = open1();
	static const unsigned char bin[] = { 0, 1, 0xff, 0xfe, '\n', '"', 0 };
	int64_t r1 = 0, r2 = 0, rr = 0;

	ck_assert_int_eq(OPS->put(c, "/p/b", 4, "two", 3, 0, &r1),
	    AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/p/a", 4, bin, sizeof(bin), 0, &r2),
	    AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/p/c", 4, "", 0, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/pq", 3, "outside", 7, 0, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_gt(r2, r1);
	/* A page of 2 makes the 3 keys two requests. */
	range_prefix(c, "/p/", 0, 2, &rr);
	ck_assert_uint_eq(col.n, 3);
	ck_assert_str_eq(col.keys[0], "/p/a");
	ck_assert_str_eq(col.keys[1], "/p/b");
	ck_assert_str_eq(col.keys[2], "/p/c");
	ck_assert_uint_eq(col.val_len[0], sizeof(bin));
	ck_assert_mem_eq(col.vals[0], bin, sizeof(bin));
	ck_assert_uint_eq(col.val_len[2], 0);
	ck_assert_int_gt(rr, r2);
	/* One key; an absent key. */
	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(c, "/p/b", 4, NULL, 0, 0, 0, collect_kv,
	    &col, NULL), AIVENAUTH_OK);
	ck_assert_uint_eq(col.n, 1);
	ck_assert_mem_eq(col.vals[0], "two", 3);
	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(c, "/p/zz", 5, NULL, 0, 0, 0, collect_kv,
	    &col, NULL), AIVENAUTH_OK);
	ck_assert_uint_eq(col.n, 0);
	OPS->close(c);
}
END_TEST

/* A large prefix, read in pages, is one snapshot at one revision: keys
 * written after that revision do not appear in it. */
START_TEST(test_range_pages_at_revision)
{
	struct etcd_client *c = open1();
	struct etcd_op ops[100];
	char keys[100][32];
	int64_t rev = 0, rr = 0;
	bool ok;
	int b, i;

	for (b = 0; b < 13; b++) {
		for (i = 0; i < 100; i++) {
			snprintf(keys[i], sizeof(keys[i]), "/big/%04d",
			    b * 100 + i);
			memset(&ops[i], 0, sizeof(ops[i]));
			ops[i].type = ETCD_OP_PUT;
			ops[i].key = keys[i];
			ops[i].key_len = strlen(keys[i]);
			ops[i].value = "v";
			ops[i].value_len = 1;
		}
		ck_assert_int_eq(OPS->txn(c, NULL, 0, ops, 100, NULL, 0, &ok,
		    &rev), AIVENAUTH_OK);
		ck_assert(ok);
		if (b == 11)
			rr = rev;   /* 1200 keys at this revision */
	}
	range_prefix(c, "/big/", rr, 128, &rev);
	ck_assert_uint_eq(col.n, 1200);
	ck_assert_int_eq(rev, rr);
	ck_assert_str_eq(col.keys[1199], "/big/1199");
	range_prefix(c, "/big/", 0, 0, NULL);
	ck_assert_uint_eq(col.n, 1300);
	OPS->close(c);
}
END_TEST

START_TEST(test_txn_compare)
{
	struct etcd_client *c = open1();
	struct etcd_cmp cmp = { 0 };
	struct etcd_op put = { 0 }, del = { 0 };
	int64_t rev = 0, rev2 = 0;
	bool ok = false;

	/* Create if absent (leader election): once, then no more. */
	cmp.key = "/x/leader";
	cmp.key_len = 9;
	cmp.target = ETCD_CMP_CREATE;
	cmp.result = ETCD_CMP_EQUAL;
	cmp.number = 0;
	put.type = ETCD_OP_PUT;
	put.key = "/x/leader";
	put.key_len = 9;
	put.value = "host-a";
	put.value_len = 6;
	ck_assert_int_eq(OPS->txn(c, &cmp, 1, &put, 1, NULL, 0, &ok, &rev),
	    AIVENAUTH_OK);
	ck_assert(ok);
	put.value = "host-b";
	ck_assert_int_eq(OPS->txn(c, &cmp, 1, &put, 1, NULL, 0, &ok, NULL),
	    AIVENAUTH_OK);
	ck_assert(!ok);
	/* mod_revision guard: holds at rev, not after a change. */
	cmp.target = ETCD_CMP_MOD;
	cmp.number = rev;
	put.key = "/x/current";
	put.key_len = 10;
	put.value = "1";
	put.value_len = 1;
	ck_assert_int_eq(OPS->txn(c, &cmp, 1, &put, 1, NULL, 0, &ok, &rev2),
	    AIVENAUTH_OK);
	ck_assert(ok);
	ck_assert_int_eq(OPS->put(c, "/x/leader", 9, "host-a", 6, 0, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(OPS->txn(c, &cmp, 1, &put, 1, NULL, 0, &ok, NULL),
	    AIVENAUTH_OK);
	ck_assert(!ok);
	/* Value compare, and the failure branch runs (a delete). */
	cmp.target = ETCD_CMP_VALUE;
	cmp.result = ETCD_CMP_EQUAL;
	cmp.value = "host-b";
	cmp.value_len = 6;
	del.type = ETCD_OP_DELETE;
	del.key = "/x/current";
	del.key_len = 10;
	ck_assert_int_eq(OPS->txn(c, &cmp, 1, &put, 1, &del, 1, &ok, NULL),
	    AIVENAUTH_OK);
	ck_assert(!ok);
	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(c, "/x/current", 10, NULL, 0, 0, 0,
	    collect_kv, &col, NULL), AIVENAUTH_OK);
	ck_assert_uint_eq(col.n, 0);
	cmp.result = ETCD_CMP_NOT_EQUAL;
	ck_assert_int_eq(OPS->txn(c, &cmp, 1, &put, 1, &del, 1, &ok, NULL),
	    AIVENAUTH_OK);
	ck_assert(ok);
	OPS->close(c);
}
END_TEST

START_TEST(test_lease)
{
	struct etcd_client *c = open1();
	int64_t id = 0, ttl = 0, ttl2 = 0;
	int i;

	ck_assert_int_eq(OPS->lease_grant(c, 3, &id, &ttl), AIVENAUTH_OK);
	ck_assert_int_ne(id, 0);
	ck_assert_int_ge(ttl, 3);
	ck_assert_int_eq(OPS->put(c, "/l/a", 4, "x", 1, id, NULL),
	    AIVENAUTH_OK);
	range_prefix(c, "/l/", 0, 0, NULL);
	ck_assert_uint_eq(col.n, 1);
	ck_assert_int_eq(OPS->lease_keepalive(c, id, &ttl2), AIVENAUTH_OK);
	ck_assert_int_gt(ttl2, 0);
	/* Revoked: the key goes with it, and keepalive says so. */
	ck_assert_int_eq(OPS->lease_revoke(c, id), AIVENAUTH_OK);
	range_prefix(c, "/l/", 0, 0, NULL);
	ck_assert_uint_eq(col.n, 0);
	ck_assert_int_eq(OPS->lease_keepalive(c, id, &ttl2),
	    AIVENAUTH_ERR_API_NOT_FOUND);
	/* Not kept alive: it expires by itself and takes its key. */
	ck_assert_int_eq(OPS->lease_grant(c, 3, &id, &ttl), AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/l/b", 4, "x", 1, id, NULL),
	    AIVENAUTH_OK);
	for (i = 0; i < 300; i++) {
		range_prefix(c, "/l/", 0, 0, NULL);
		if (col.n == 0)
			break;
		usleep(100000);
	}
	ck_assert_uint_eq(col.n, 0);
	ck_assert_int_eq(OPS->lease_keepalive(c, id, &ttl2),
	    AIVENAUTH_ERR_API_NOT_FOUND);
	/* A put on a lease that is gone is refused. */
	ck_assert_int_eq(OPS->put(c, "/l/c", 4, "x", 1, id, NULL),
	    AIVENAUTH_ERR_API_NOT_FOUND);
	OPS->close(c);
}
END_TEST

/* ------------------------------------------------------------ watch */

struct wseen {
	size_t n, calls, want;
	char keys[16][32];
	enum etcd_event_type types[16];
	int64_t last_rev;
};

static bool
watch_cb(void *arg, const struct etcd_event *ev, size_t n, int64_t rev)
{
	struct wseen *w = arg;
	size_t i;

	w->calls++;
	w->last_rev = rev;
	for (i = 0; i < n && w->n < 16; i++) {
		memcpy(w->keys[w->n], ev[i].kv.key, ev[i].kv.key_len);
		w->keys[w->n][ev[i].kv.key_len] = '\0';
		w->types[w->n] = ev[i].type;
		w->n++;
	}
	return w->n < w->want;
}

START_TEST(test_watch_events)
{
	struct etcd_client *c = open1();
	struct etcd_watch_end end;
	struct wseen w;
	struct etcd_op del = { 0 };
	int64_t r0 = 0, r1 = 0;
	bool ok;
	char e[8];
	size_t el = etcd_prefix_end("/w/", 3, e);

	ck_assert_int_eq(OPS->put(c, "/w/a", 4, "1", 1, 0, &r0), AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/w/b", 4, "2", 1, 0, NULL),
	    AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/zz", 3, "not watched", 11, 0, NULL),
	    AIVENAUTH_OK);
	del.type = ETCD_OP_DELETE;
	del.key = "/w/a";
	del.key_len = 4;
	ck_assert_int_eq(OPS->txn(c, NULL, 0, &del, 1, NULL, 0, &ok, &r1),
	    AIVENAUTH_OK);
	/* From r0: the two puts and the delete, in order; the callback
	 * stops the watch when it has them (long before max_ms). */
	memset(&w, 0, sizeof(w));
	w.want = 3;
	ck_assert_int_eq(OPS->watch(c, "/w/", 3, e, el, r0, 20000, watch_cb,
	    &w, &end), AIVENAUTH_OK);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_str_eq(w.keys[0], "/w/a");
	ck_assert_int_eq(w.types[0], ETCD_EV_PUT);
	ck_assert_str_eq(w.keys[1], "/w/b");
	ck_assert_str_eq(w.keys[2], "/w/a");
	ck_assert_int_eq(w.types[2], ETCD_EV_DELETE);
	ck_assert(!end.canceled);
	ck_assert_int_eq(end.revision, r1);     /* the last event's */
	/* Nothing new: the watch ends at max_ms with OK, having seen the
	 * "created" answer. */
	memset(&w, 0, sizeof(w));
	w.want = 1;
	ck_assert_int_eq(OPS->watch(c, "/w/", 3, e, el, r1 + 1, 700, watch_cb,
	    &w, &end), AIVENAUTH_OK);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_ge(w.calls, 1);
	ck_assert(!end.canceled);
	OPS->close(c);
}
END_TEST

/* A watch from a compacted revision is canceled with compact_revision:
 * the caller's cue to re-read.  A range at that revision is refused. */
START_TEST(test_watch_compacted)
{
	struct etcd_client *c = open1();
	struct etcd_watch_end end;
	struct wseen w;
	int64_t r0 = 0, r1 = 0;
	char e[8];
	size_t el = etcd_prefix_end("/k/", 3, e);

	ck_assert_int_eq(OPS->put(c, "/k/a", 4, "1", 1, 0, &r0), AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/k/a", 4, "2", 1, 0, &r1), AIVENAUTH_OK);
	ck_assert_int_eq(sh("etcdctl --endpoints=%s compact %lld >/dev/null",
	    e1_url, (long long)r1), 0);
	memset(&w, 0, sizeof(w));
	w.want = 10;
	ck_assert_int_eq(OPS->watch(c, "/k/", 3, e, el, r0, 20000, watch_cb,
	    &w, &end), AIVENAUTH_OK);
	ck_assert(end.canceled);
	ck_assert_int_eq(end.compact_revision, r1);
	ck_assert_uint_eq(w.n, 0);
	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(c, "/k/", 3, e, el, r0, 0, collect_kv,
	    &col, NULL), AIVENAUTH_ERR_API_REJECTED);
	ck_assert(strstr(logbuf, "compacted") != NULL);
	OPS->close(c);
}
END_TEST

/* ------------------------------------------------------------ transport */

START_TEST(test_failover_and_limits)
{
	struct etcd_params p;
	struct etcd_client *c;
	char eps[160], big[4096];
	int dead = free_port();

	/* A dead endpoint first: the next one answers. */
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,%s", dead, e1_url);
	params(&p, eps);
	p.max_retries = 0;
	ck_assert_int_eq(OPS->open(&p, &c), AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/f/a", 4, "1", 1, 0, NULL), AIVENAUTH_OK);
	ck_assert(strstr(logbuf, "no answer; trying") != NULL);
	OPS->close(c);
	/* An answer over max_body is refused, not truncated. */
	params(&p, e1_url);
	p.max_body = 2048;
	ck_assert_int_eq(OPS->open(&p, &c), AIVENAUTH_OK);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(OPS->put(c, "/f/big", 6, big, sizeof(big), 0, NULL),
	    AIVENAUTH_OK);
	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(c, "/f/big", 6, NULL, 0, 0, 0, count_kv,
	    &col.n, NULL), AIVENAUTH_ERR_TOO_LARGE);
	OPS->close(c);
	/* Plain http to anything but loopback is refused before a byte. */
	params(&p, "http://192.0.2.1:2379");
	ck_assert_int_eq(OPS->open(&p, &c), AIVENAUTH_OK);
	ck_assert_int_eq(OPS->put(c, "/f/a", 4, "1", 1, 0, NULL),
	    AIVENAUTH_ERR_INVALID);
	ck_assert(strstr(logbuf, "must be https://") != NULL);
	OPS->close(c);
}
END_TEST

/* ------------------------------------------------------------ auth, TLS */

static struct etcd_client *
open2(const char *user, const char *pw, enum aivenauth_status want)
{
	struct etcd_params p;
	struct etcd_client *c = NULL;

	params(&p, e2_url);
	p.ca_file = ca_path;
	p.user = user;
	p.password = pw;
	p.password_len = pw != NULL ? strlen(pw) : 0;
	ck_assert_int_eq(OPS->open(&p, &c), want);
	return c;
}

START_TEST(test_auth_roles)
{
	struct etcd_client *pub = open2("pub", "pubpw", AIVENAUTH_OK);
	struct etcd_client *fol = open2("fol", "folpw", AIVENAUTH_OK);
	struct etcd_client *anon = open2(NULL, NULL, AIVENAUTH_OK);

	ck_assert_int_eq(OPS->put(pub, "/t/a", 4, "signed", 6, 0, NULL),
	    AIVENAUTH_OK);
	range_prefix(fol, "/t/", 0, 0, NULL);
	ck_assert_uint_eq(col.n, 1);
	/* The read-only role cannot write, in a put or a txn. */
	logbuf[0] = '\0';
	ck_assert_int_eq(OPS->put(fol, "/t/a", 4, "forged", 6, 0, NULL),
	    AIVENAUTH_ERR_FORBIDDEN);
	ck_assert(strstr(logbuf, "permission denied") != NULL);
	{
		struct etcd_op op = { 0 };
		bool ok;

		op.type = ETCD_OP_PUT;
		op.key = "/t/a";
		op.key_len = 4;
		op.value = "forged";
		op.value_len = 6;
		ck_assert_int_eq(OPS->txn(fol, NULL, 0, &op, 1, NULL, 0, &ok,
		    NULL), AIVENAUTH_ERR_FORBIDDEN);
	}
	/* Outside its prefix, even the publisher cannot read. */
	memset(&col, 0, sizeof(col));
	ck_assert_int_eq(OPS->range(pub, "/other", 6, NULL, 0, 0, 0,
	    collect_kv, &col, NULL), AIVENAUTH_ERR_FORBIDDEN);
	/* Without a user: refused. */
	ck_assert_int_ne(OPS->range(anon, "/t/a", 4, NULL, 0, 0, 0,
	    collect_kv, &col, NULL), AIVENAUTH_OK);
	range_prefix(fol, "/t/", 0, 0, NULL);
	ck_assert_mem_eq(col.vals[0], "signed", 6);
	OPS->close(pub);
	OPS->close(fol);
	OPS->close(anon);
	/* A wrong password: unauthorized, with the user named. */
	logbuf[0] = '\0';
	open2("fol", "NotThePassw0rd", AIVENAUTH_ERR_UNAUTHORIZED);
	ck_assert(strstr(logbuf, "etcd user fol: authentication failed") !=
	    NULL);
	ck_assert(strstr(logbuf, "NotThePassw0rd") == NULL);
}
END_TEST

/* etcd dropped our token (here: auth switched off and on, which clears
 * every token): the client authenticates again by itself. */
START_TEST(test_reauth)
{
	struct etcd_client *fol = open2("fol", "folpw", AIVENAUTH_OK);

	range_prefix(fol, "/t/", 0, 0, NULL);
	ck_assert_int_eq(sh("E='etcdctl --endpoints=%s --cacert=%s "
	    "--user root:rootpw'; $E auth disable >/dev/null && "
	    "etcdctl --endpoints=%s --cacert=%s auth enable >/dev/null",
	    e2_url, ca_path, e2_url, ca_path), 0);
	logbuf[0] = '\0';
	range_prefix(fol, "/t/", 0, 0, NULL);
	ck_assert(strstr(logbuf, "authenticating again") != NULL);
	OPS->close(fol);
}
END_TEST

START_TEST(test_tls_needs_ca)
{
	struct etcd_params p;
	struct etcd_client *c;

	params(&p, e2_url);
	p.user = "fol";
	p.password = "folpw";
	p.password_len = 5;
	p.max_retries = 0;
	/* Our test CA is not in the system store: the server is not
	 * trusted, and the password is never sent. */
	ck_assert_int_eq(OPS->open(&p, &c), AIVENAUTH_ERR_NET);
}
END_TEST

/* ------------------------------------------------------------ fleet */

static unsigned char fpk[FLEET_PK_BYTES], fsk[FLEET_SK_BYTES];
static unsigned char opk[FLEET_PK_BYTES], osk[FLEET_SK_BYTES];
static struct fleet_keys fkeys;
static struct aivenauth_ctx *fctx;
static struct fleet_etcd fe;

static void
fleet_setup(void)
{
	logbuf[0] = '\0';
	ck_assert_int_ge(sodium_init(), 0);
	crypto_sign_keypair(fpk, fsk);
	crypto_sign_keypair(opk, osk);
	memset(&fkeys, 0, sizeof(fkeys));
	fkeys.n = 1;
	memcpy(fkeys.pk[0], fpk, FLEET_PK_BYTES);
	ck_assert_int_eq(aivenauth_ctx_new(&fctx), AIVENAUTH_OK);
	aivenauth_set_log(fctx, log_cb, NULL, LOG_DEBUG);
	ck_assert_int_eq(aivenauth_config_set(fctx, "etcd_endpoints", e1_url),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(fctx, "etcd_prefix", "/fl/"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_etcd_open(fctx, &fe), AIVENAUTH_OK);
}

static void
fleet_teardown(void)
{
	fleet_etcd_close(&fe);
	aivenauth_ctx_free(fctx);
}

static char *s_users[3] = { "u1", "u2", "u3" };
static char *s_tok[4] = { "tokA0000", "tokB0000", "tokC0000", "tokD0000" };
static char *s_scope[1] = { "user:read" };

/* A generation as a sync would hand it: 3 users, 4 tokens, 2 hashes. */
static void
sample_gen(struct fleet_gen *g, size_t n_tokens)
{
	static struct aivenauth_user users[3];
	static struct aivenauth_token tokens[4];
	static bool has[4];
	static unsigned char hashes[4][HASH_BYTES];
	size_t i;

	memset(g, 0, sizeof(*g));
	memset(users, 0, sizeof(users));
	memset(tokens, 0, sizeof(tokens));
	for (i = 0; i < 3; i++) {
		users[i].user_id = s_users[i];
		users[i].name = s_users[i];
		users[i].create_time = 1000 + (int64_t)i;
	}
	for (i = 0; i < 4; i++) {
		tokens[i].prefix = s_tok[i];
		tokens[i].user_id = s_users[i % 3];
		tokens[i].description = "d";
		tokens[i].scopes = s_scope;
		tokens[i].n_scopes = 1;
		has[i] = i % 2 == 0;
		memset(hashes[i], 0x10 + (int)i, HASH_BYTES);
	}
	g->snap.organization_id = "org-f";
	g->snap.users = users;
	g->snap.n_users = 3;
	g->snap.tokens = tokens;
	g->snap.n_tokens = n_tokens;
	g->has_hash = has;
	g->hashes = hashes;
}

static struct fleet_heartbeat
hb_at(int64_t t)
{
	struct fleet_heartbeat hb;

	memset(&hb, 0, sizeof(hb));
	hb.last_sync_time = t;
	hb.published_time = t + 1;
	snprintf(hb.publisher_id, sizeof(hb.publisher_id), "pub-a");
	return hb;
}

START_TEST(test_fleet_publish_read)
{
	struct fleet_heartbeat hb = hb_at(5000);
	struct fleet_gen g, got;
	struct fleet_view v;
	int64_t lease = 0, lease_b = 0;
	bool leader = false;
	size_t i;

	ck_assert_int_eq(fleet_campaign(&fe, "pub-a", 5, &leader, &lease),
	    AIVENAUTH_OK);
	ck_assert(leader);
	/* A second publisher does not get the key while the first holds it. */
	ck_assert_int_eq(fleet_campaign(&fe, "pub-b", 5, &leader, &lease_b),
	    AIVENAUTH_OK);
	ck_assert(!leader);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 1, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(v.current, 1);
	ck_assert(v.has_leader);
	ck_assert_str_eq(v.leader, "pub-a");
	ck_assert_int_eq(v.leader_lease, lease);
	ck_assert(v.has_heartbeat);
	ck_assert_int_eq(v.hb_status, AIVENAUTH_OK);
	ck_assert_uint_eq(v.hb_generation, 1);
	ck_assert_int_eq(v.hb.last_sync_time, 5000);
	ck_assert_str_eq(v.hb.publisher_id, "pub-a");
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 1, v.revision,
	    &got, NULL, 0), AIVENAUTH_OK);
	ck_assert_uint_eq(got.generation, 1);
	ck_assert_uint_eq(got.snap.n_users, 3);
	ck_assert_uint_eq(got.snap.n_tokens, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(got.snap.tokens[i].prefix, s_tok[i]);
		ck_assert_str_eq(got.snap.tokens[i].user_id, s_users[i % 3]);
		ck_assert(got.has_hash[i] == (i % 2 == 0));
		if (got.has_hash[i])
			ck_assert_mem_eq(got.hashes[i], g.hashes[i], HASH_BYTES);
	}
	fleet_gen_free(&got);
	/* Generations 2 and 3: the oldest but one is dropped. */
	hb = hb_at(6000);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 2, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 1, 0, &got,
	    NULL, 0), AIVENAUTH_OK);
	fleet_gen_free(&got);
	sample_gen(&g, 3);      /* a token gone in generation 3 */
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 3, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 1, 0, &got,
	    NULL, 0), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 3, 0, &got,
	    NULL, 0), AIVENAUTH_OK);
	ck_assert_uint_eq(got.snap.n_tokens, 3);
	fleet_gen_free(&got);
	/* The heartbeat alone. */
	hb = hb_at(7000);
	ck_assert_int_eq(fleet_publish_heartbeat(&fe, fsk, lease, "org-f", 3,
	    &hb), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_int_eq(v.hb.last_sync_time, 7000);
	/* Signed by a key not pinned: the heartbeat is read but refused. */
	ck_assert_int_eq(fleet_publish_heartbeat(&fe, osk, lease, "org-f", 3,
	    &hb), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_int_eq(v.hb_status, AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert(strstr(v.hb_why, "signature") != NULL);
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, lease), AIVENAUTH_OK);
}
END_TEST

/* The leader's lease lapses (revoked here, as a lapse would end it): its
 * next write is refused by the guard, and a second publisher takes over. */
START_TEST(test_fleet_leader_change)
{
	struct fleet_heartbeat hb = hb_at(8000);
	struct fleet_gen g;
	struct fleet_view v;
	int64_t la = 0, lb = 0;
	bool leader = false;

	ck_assert_int_eq(fleet_campaign(&fe, "pub-a", 5, &leader, &la),
	    AIVENAUTH_OK);
	ck_assert(leader);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, la, 10, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, la), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, la, 11, &g, &hb),
	    AIVENAUTH_ERR_FORBIDDEN);
	ck_assert(strstr(logbuf, "another publisher leads") != NULL);
	ck_assert_int_eq(fleet_campaign(&fe, "pub-b", 5, &leader, &lb),
	    AIVENAUTH_OK);
	ck_assert(leader);
	/* The old leader, even with a fresh idea of its lease, cannot. */
	ck_assert_int_eq(fleet_publish_heartbeat(&fe, fsk, la, "org-f", 10,
	    &hb), AIVENAUTH_ERR_FORBIDDEN);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lb, 11, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(v.current, 11);
	ck_assert_str_eq(v.leader, "pub-b");
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, lb), AIVENAUTH_OK);
}
END_TEST

/* Whoever can write the prefix (here: no auth) cannot make a follower
 * take a record: signed by another key, unsigned, or missing. */
START_TEST(test_fleet_hostile_writes)
{
	struct fleet_heartbeat hb = hb_at(9000);
	struct fleet_gen g, got;
	struct fleet_rec r;
	struct buf key, val;
	int64_t lease = 0;
	bool leader = false;
	char why[256];

	ck_assert_int_eq(fleet_campaign(&fe, "pub-a", 5, &leader, &lease),
	    AIVENAUTH_OK);
	ck_assert(leader);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 20, &g, &hb),
	    AIVENAUTH_OK);
	/* A token record replaced by one signed with another key, carrying
	 * a hash of the forger's choosing. */
	buf_init(&key, 1024, false);
	buf_init(&val, 65536, false);
	ck_assert_int_eq(fleet_key_token("/fl/", 20, "tokA0000", &key),
	    AIVENAUTH_OK);
	memset(&r, 0, sizeof(r));
	r.type = FLEET_T_TOKEN;
	r.generation = 20;
	r.org_id = "org-f";
	r.token = g.snap.tokens[0];
	r.has_hash = true;
	memset(r.hash, 0x66, HASH_BYTES);
	ck_assert_int_eq(fleet_rec_encode(osk, key.data, key.len, &r, &val),
	    AIVENAUTH_OK);
	ck_assert_int_eq(etcd_ops.put(fe.c, key.data, key.len, val.data,
	    val.len, 0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 20, 0, &got, why,
	    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "signature") != NULL, "%s", why);
	/* Unsigned bytes. */
	ck_assert_int_eq(etcd_ops.put(fe.c, key.data, key.len, "hash=fff", 8,
	    0, NULL), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 20, 0, &got, why,
	    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
	/* The record deleted: the manifest no longer matches. */
	{
		struct etcd_op del = { 0 };
		bool ok;

		del.type = ETCD_OP_DELETE;
		del.key = key.data;
		del.key_len = key.len;
		ck_assert_int_eq(etcd_ops.txn(fe.c, NULL, 0, &del, 1, NULL, 0,
		    &ok, NULL), AIVENAUTH_OK);
	}
	ck_assert_int_eq(fleet_read_gen(&fe, &fkeys, "org-f", 20, 0, &got, why,
	    sizeof(why)), AIVENAUTH_ERR_BAD_RESPONSE);
	ck_assert_msg(strstr(why, "manifest") != NULL, "%s", why);
	buf_free(&key);
	buf_free(&val);
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, lease), AIVENAUTH_OK);
}
END_TEST

/* Through the config, as publisher and follower would run: etcd users
 * with passwords from files (checked like the API token file), TLS with
 * etcd_ca_file; the follower reads what the publisher wrote and cannot
 * write anything itself (etcd refuses). */
static struct aivenauth_ctx *
rbac_ctx(const char *user, const char *pwfile)
{
	struct aivenauth_ctx *ctx;

	ck_assert_int_eq(aivenauth_ctx_new(&ctx), AIVENAUTH_OK);
	aivenauth_set_log(ctx, log_cb, NULL, LOG_DEBUG);
	ck_assert_int_eq(aivenauth_config_set(ctx, "etcd_endpoints", e2_url),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "etcd_ca_file", ca_path),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "etcd_prefix", "/t/"),
	    AIVENAUTH_OK);
	ck_assert_int_eq(aivenauth_config_set(ctx, "etcd_user", user),
	    AIVENAUTH_OK);
	if (pwfile != NULL)
		ck_assert_int_eq(aivenauth_config_set(ctx, "etcd_password_file",
		    pwfile), AIVENAUTH_OK);
	return ctx;
}

static void
write_pw(const char *path, const char *pw, mode_t mode)
{
	FILE *fp;

	unlink(path);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "%s\n", pw);
	fclose(fp);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_fleet_rbac)
{
	char pub_pw[192], fol_pw[192];
	struct aivenauth_ctx *pctx, *fctx2;
	struct fleet_etcd pe, fe2;
	struct fleet_heartbeat hb = hb_at(10000);
	struct fleet_gen g, got;
	struct fleet_view v;
	int64_t lease = 0, fl = 0;
	bool leader = false;

	snprintf(pub_pw, sizeof(pub_pw), "%s/pub.pw", dir);
	snprintf(fol_pw, sizeof(fol_pw), "%s/fol.pw", dir);
	write_pw(pub_pw, "pubpw", 0600);
	write_pw(fol_pw, "folpw", 0600);
	pctx = rbac_ctx("pub", pub_pw);
	fctx2 = rbac_ctx("fol", fol_pw);
	ck_assert_int_eq(fleet_etcd_open(pctx, &pe), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_etcd_open(fctx2, &fe2), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_campaign(&pe, "pub-a", 5, &leader, &lease),
	    AIVENAUTH_OK);
	ck_assert(leader);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_gen(&pe, fsk, lease, 1, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe2, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(v.current, 1);
	ck_assert_int_eq(v.hb_status, AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_gen(&fe2, &fkeys, "org-f", 1, v.revision,
	    &got, NULL, 0), AIVENAUTH_OK);
	ck_assert_uint_eq(got.snap.n_tokens, 4);
	fleet_gen_free(&got);
	/* The follower's credential cannot take the leader key nor write a
	 * heartbeat, even one it signed with the publisher's key. */
	logbuf[0] = '\0';
	ck_assert_int_ne(fleet_campaign(&fe2, "evil", 5, &leader, &fl),
	    AIVENAUTH_OK);
	ck_assert(!leader);
	ck_assert_int_eq(fleet_publish_heartbeat(&fe2, fsk, lease, "org-f", 1,
	    &hb), AIVENAUTH_ERR_FORBIDDEN);
	ck_assert(strstr(logbuf, "permission denied") != NULL);
	/* The write probe doctor uses: writes nothing, tells them apart. */
	{
		bool w = true;
		struct fleet_view before, after;

		ck_assert_int_eq(fleet_read_view(&pe, &fkeys, "org-f", &before),
		    AIVENAUTH_OK);
		ck_assert_int_eq(fleet_probe_write(&fe2, &w), AIVENAUTH_OK);
		ck_assert(!w);
		ck_assert_int_eq(fleet_probe_write(&pe, &w), AIVENAUTH_OK);
		ck_assert(w);
		ck_assert_int_eq(fleet_read_view(&pe, &fkeys, "org-f", &after),
		    AIVENAUTH_OK);
		ck_assert_int_eq(after.revision, before.revision);
		ck_assert_str_eq(after.leader, "pub-a");
	}
	ck_assert_int_eq(etcd_ops.lease_revoke(pe.c, lease), AIVENAUTH_OK);
	fleet_etcd_close(&pe);
	fleet_etcd_close(&fe2);
	aivenauth_ctx_free(pctx);
	/* A password file others may read is refused before any request. */
	write_pw(fol_pw, "folpw", 0644);
	logbuf[0] = '\0';
	ck_assert_int_eq(fleet_etcd_open(fctx2, &fe2),
	    AIVENAUTH_ERR_UNSAFE_FILE);
	ck_assert(strstr(logbuf, "chmod") != NULL);
	aivenauth_ctx_free(fctx2);
	/* A user without a password file is a configuration error. */
	fctx2 = rbac_ctx("fol", NULL);
	ck_assert_int_eq(fleet_etcd_open(fctx2, &fe2), AIVENAUTH_ERR_CONFIG);
	aivenauth_ctx_free(fctx2);
	/* The wrong password (a file with another one): unauthorized. */
	write_pw(fol_pw, "not-the-password", 0600);
	fctx2 = rbac_ctx("fol", fol_pw);
	ck_assert_int_eq(fleet_etcd_open(fctx2, &fe2),
	    AIVENAUTH_ERR_UNAUTHORIZED);
	ck_assert(strstr(logbuf, "not-the-password") == NULL);
	aivenauth_ctx_free(fctx2);
}
END_TEST

/* The follower's wake-ups: a new generation (its heartbeat), a lone
 * heartbeat, nothing (timeout, resume point unchanged), compaction. */
START_TEST(test_fleet_watch)
{
	struct fleet_heartbeat hb = hb_at(11000);
	struct fleet_change ch;
	struct fleet_view v;
	struct fleet_gen g;
	int64_t lease = 0, r0;
	bool leader = false;

	ck_assert_int_eq(aivenauth_config_set(fctx, "etcd_prefix", "/fw/"),
	    AIVENAUTH_OK);
	fleet_etcd_close(&fe);
	ck_assert_int_eq(fleet_etcd_open(fctx, &fe), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	r0 = v.revision;
	ck_assert_int_eq(fleet_campaign(&fe, "pub-a", 5, &leader, &lease),
	    AIVENAUTH_OK);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 30, &g, &hb),
	    AIVENAUTH_OK);
	/* From before the publish: only the heartbeat key is watched (no
	 * record streams to a follower); the txn that moved current wrote the
	 * generation's heartbeat, which wakes the watch first. */
	ck_assert_int_eq(fleet_watch(&fe, r0 + 1, 20000, &ch), AIVENAUTH_OK);
	ck_assert_int_eq(ch.kind, FLEET_CH_HEARTBEAT);
	ck_assert_int_gt(ch.revision, r0);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_uint_eq(v.current, 30);
	/* Then a lone heartbeat. */
	ck_assert_int_eq(fleet_publish_heartbeat(&fe, fsk, lease, "org-f", 30,
	    &hb), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_watch(&fe, ch.revision + 1, 20000, &ch),
	    AIVENAUTH_OK);
	ck_assert_int_eq(ch.kind, FLEET_CH_HEARTBEAT);
	/* Then nothing: a timeout that resumes where it was. */
	r0 = ch.revision;
	ck_assert_int_eq(fleet_watch(&fe, r0 + 1, 600, &ch), AIVENAUTH_OK);
	ck_assert_int_eq(ch.kind, FLEET_CH_TIMEOUT);
	ck_assert_int_eq(ch.revision, r0);
	/* A compaction past our revision (etcd keeps the revision compacted
	 * at, drops those before): read everything again. */
	ck_assert_int_eq(fleet_publish_heartbeat(&fe, fsk, lease, "org-f", 30,
	    &hb), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_read_view(&fe, &fkeys, "org-f", &v),
	    AIVENAUTH_OK);
	ck_assert_int_eq(sh("etcdctl --endpoints=%s compact %lld >/dev/null",
	    e1_url, (long long)v.revision), 0);
	ck_assert_int_eq(fleet_watch(&fe, r0, 20000, &ch), AIVENAUTH_OK);
	ck_assert_int_eq(ch.kind, FLEET_CH_COMPACTED);
	ck_assert_int_eq(ch.revision, v.revision);
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, lease), AIVENAUTH_OK);
}
END_TEST

/* The follower's step: a new generation, nothing new, a replay of an
 * older one refused, a forged heartbeat refusing the step. */
START_TEST(test_fleet_follow_step)
{
	struct fleet_heartbeat hb = hb_at(12000);
	struct fleet_update u;
	struct fleet_gen g;
	int64_t lease = 0;
	bool leader = false;

	ck_assert_int_eq(aivenauth_config_set(fctx, "etcd_prefix", "/fs/"),
	    AIVENAUTH_OK);
	fleet_etcd_close(&fe);
	ck_assert_int_eq(fleet_etcd_open(fctx, &fe), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 0, &u),
	    AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NONE_PUBLISHED);
	fleet_update_free(&u);
	ck_assert_int_eq(fleet_campaign(&fe, "pub-a", 5, &leader, &lease),
	    AIVENAUTH_OK);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 40, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 0, &u),
	    AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NEW_GEN);
	ck_assert_uint_eq(u.gen.generation, 40);
	ck_assert_uint_eq(u.gen.snap.n_tokens, 4);
	ck_assert_int_eq(u.view.hb.last_sync_time, 12000);
	fleet_update_free(&u);
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 40, &u),
	    AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NOTHING_NEW);
	fleet_update_free(&u);
	/* 41 published, then someone with write access points current back
	 * at 40 (still there, signed and complete): a replay, refused. */
	ck_assert_int_eq(fleet_publish_gen(&fe, fsk, lease, 41, &g, &hb),
	    AIVENAUTH_OK);
	ck_assert_int_eq(etcd_ops.put(fe.c, "/fs/current", 11, "40", 2, 0,
	    NULL), AIVENAUTH_OK);
	logbuf[0] = '\0';
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 41, &u),
	    AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_REPLAY);
	ck_assert(strstr(logbuf, "older than the 41 applied") != NULL);
	fleet_update_free(&u);
	/* A heartbeat signed by another key: no step at all. */
	ck_assert_int_eq(fleet_publish_heartbeat(&fe, osk, lease, "org-f", 41,
	    &hb), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 0, &u),
	    AIVENAUTH_ERR_BAD_RESPONSE);
	fleet_update_free(&u);
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, lease), AIVENAUTH_OK);
}
END_TEST

/* ------------------------------------------------------------ deltas */

/* The follower's base for fleet_follow_step_base: what it read before. */
struct held {
	struct fleet_gen g;
	int calls;
};

static enum aivenauth_status
held_base(void *arg, uint64_t gen, struct fleet_gen *out)
{
	struct held *h = arg;

	h->calls++;
	if (h->g.generation != gen)
		return AIVENAUTH_ERR_CACHE_MISSING;
	*out = h->g;
	memset(&h->g, 0, sizeof(h->g));
	return AIVENAUTH_OK;
}

/* How many keys generation gen has under prefix /fd/. */
static size_t
gen_keys(uint64_t gen)
{
	struct buf k;
	char end[FLEET_KEY_MAX];
	size_t el, n = 0;

	buf_init(&k, FLEET_KEY_MAX, false);
	ck_assert_int_eq(fleet_key_gen("/fd/", gen, &k), AIVENAUTH_OK);
	el = etcd_prefix_end(k.data, k.len, end);
	ck_assert_int_eq(etcd_ops.range(fe.c, k.data, k.len, end, el, 0, 0,
	    count_kv, &n, NULL), AIVENAUTH_OK);
	buf_free(&k);
	return n;
}

/* Publish full then delta; a follower up to date reads only the delta, a
 * follower behind the chain's start reads it whole; a new full
 * generation drops the old chain. */
START_TEST(test_fleet_delta)
{
	struct fleet_heartbeat hb = hb_at(13000);
	struct fleet_dset set1, set2, set3, set4;
	struct fleet_update u;
	struct fleet_gen g;
	struct held h;
	int64_t lease = 0;
	bool leader = false;
	size_t n = 0;

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(aivenauth_config_set(fctx, "etcd_prefix", "/fd/"),
	    AIVENAUTH_OK);
	fleet_etcd_close(&fe);
	ck_assert_int_eq(fleet_etcd_open(fctx, &fe), AIVENAUTH_OK);
	ck_assert_int_eq(fleet_campaign(&fe, "pub-a", 5, &leader, &lease),
	    AIVENAUTH_OK);
	ck_assert(leader);
	sample_gen(&g, 4);
	ck_assert_int_eq(fleet_publish_set(&fe, fsk, lease, 1, 1, &g, NULL, &hb,
	    &set1, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, 7);
	/* A new follower: the full generation (manifest probe + 8). */
	ck_assert_int_eq(fleet_follow_step_base(&fe, &fkeys, "org-f", 0,
	    held_base, &h, &u), AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NEW_GEN);
	ck_assert(!u.delta);
	ck_assert_uint_eq(u.records_read, 9);
	ck_assert_int_eq(h.calls, 0);
	h.g = u.gen;
	memset(&u.gen, 0, sizeof(u.gen));
	fleet_update_free(&u);

	/* Generation 2: token D revoked (gone), token B's description
	 * changed: a delta of two records. */
	sample_gen(&g, 3);
	g.snap.tokens[1].description = "changed";
	ck_assert_int_eq(fleet_publish_set(&fe, fsk, lease, 2, 1, &g, &set1,
	    &hb, &set2, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(gen_keys(2), 3);
	/* Up to date at 1: reads the manifest twice and the two records. */
	ck_assert_int_eq(fleet_follow_step_base(&fe, &fkeys, "org-f", 1,
	    held_base, &h, &u), AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NEW_GEN);
	ck_assert(u.delta);
	ck_assert_uint_eq(u.records_read, 4);
	ck_assert_int_eq(h.calls, 1);
	ck_assert_uint_eq(u.gen.generation, 2);
	ck_assert_uint_eq(u.gen.snap.n_users, 3);
	ck_assert_uint_eq(u.gen.snap.n_tokens, 3);
	ck_assert_str_eq(u.gen.snap.tokens[1].prefix, "tokB0000");
	ck_assert_str_eq(u.gen.snap.tokens[1].description, "changed");
	ck_assert(u.gen.has_hash[0]);
	ck_assert_mem_eq(u.gen.hashes[0], g.hashes[0], HASH_BYTES);
	fleet_update_free(&u);
	/* Without a base (a follower from before, or a new one): the full
	 * generation and the delta, and the same set. */
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 0, &u),
	    AIVENAUTH_OK);
	ck_assert(!u.delta);
	ck_assert_uint_eq(u.records_read, 1 + 8 + 3);
	ck_assert_uint_eq(u.gen.snap.n_tokens, 3);
	ck_assert_str_eq(u.gen.snap.tokens[1].description, "changed");
	fleet_update_free(&u);

	/* Generation 3 full (a rollover), 4 a delta on it (token C gone):
	 * a follower still at 1 is behind the chain's start and reads 3 and
	 * 4 whole; it never asks for its base. */
	ck_assert_int_eq(fleet_publish_set(&fe, fsk, lease, 3, 3, &g, NULL, &hb,
	    &set3, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(gen_keys(1), 0);      /* before 3 - 1: dropped */
	ck_assert_uint_eq(gen_keys(2), 3);      /* 3 - 1: kept */
	sample_gen(&g, 2);
	g.snap.tokens[1].description = "changed";
	ck_assert_int_eq(fleet_publish_set(&fe, fsk, lease, 4, 3, &g, &set3,
	    &hb, &set4, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(gen_keys(2), 0);      /* before the chain: dropped */
	ck_assert_uint_eq(gen_keys(3), 7);
	h.calls = 0;
	sample_gen(&h.g, 4);
	h.g.generation = 1;                     /* not freed: static arrays */
	ck_assert_int_eq(fleet_follow_step_base(&fe, &fkeys, "org-f", 1,
	    held_base, &h, &u), AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NEW_GEN);
	ck_assert(!u.delta);
	ck_assert_int_eq(h.calls, 0);
	ck_assert_uint_eq(u.records_read, 1 + 7 + 2);
	ck_assert_uint_eq(u.gen.snap.n_tokens, 2);
	fleet_update_free(&u);
	memset(&h.g, 0, sizeof(h.g));
	/* Delta 5 on 4: the chain's full generation 3 stays (only what is
	 * before it goes), and a new follower reads 3, 4 and 5. */
	sample_gen(&g, 1);
	ck_assert_int_eq(fleet_publish_set(&fe, fsk, lease, 5, 3, &g, &set4,
	    &hb, NULL, &n), AIVENAUTH_OK);
	ck_assert_uint_eq(n, 1);    /* token B gone */
	ck_assert_uint_eq(gen_keys(3), 7);
	ck_assert_uint_eq(gen_keys(4), 2);
	ck_assert_int_eq(fleet_follow_step(&fe, &fkeys, "org-f", 0, &u),
	    AIVENAUTH_OK);
	ck_assert_int_eq(u.result, FLEET_NEW_GEN);
	ck_assert_uint_eq(u.records_read, 1 + 7 + 2 + 2);
	ck_assert_uint_eq(u.gen.snap.n_tokens, 1);
	fleet_update_free(&u);
	fleet_dset_free(&set4);
	fleet_dset_free(&set1);
	fleet_dset_free(&set2);
	fleet_dset_free(&set3);
	ck_assert_int_eq(etcd_ops.lease_revoke(fe.c, lease), AIVENAUTH_OK);
}
END_TEST

static Suite *
etcd_suite(void)
{
	Suite *s = suite_create("etcd");
	TCase *tk = tcase_create("kv");
	TCase *ta = tcase_create("auth");
	TCase *tf = tcase_create("fleet");

	tcase_add_checked_fixture(tk, setup, NULL);
	tcase_set_timeout(tk, 60);
	tcase_add_test(tk, test_put_range);
	tcase_add_test(tk, test_range_pages_at_revision);
	tcase_add_test(tk, test_txn_compare);
	tcase_add_test(tk, test_lease);
	tcase_add_test(tk, test_watch_events);
	tcase_add_test(tk, test_watch_compacted);
	tcase_add_test(tk, test_failover_and_limits);
	suite_add_tcase(s, tk);
	tcase_add_checked_fixture(ta, setup, NULL);
	tcase_set_timeout(ta, 60);
	tcase_add_test(ta, test_auth_roles);
	tcase_add_test(ta, test_reauth);
	tcase_add_test(ta, test_tls_needs_ca);
	suite_add_tcase(s, ta);
	tcase_add_checked_fixture(tf, fleet_setup, fleet_teardown);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_fleet_publish_read);
	tcase_add_test(tf, test_fleet_leader_change);
	tcase_add_test(tf, test_fleet_hostile_writes);
	tcase_add_test(tf, test_fleet_rbac);
	tcase_add_test(tf, test_fleet_watch);
	tcase_add_test(tf, test_fleet_follow_step);
	tcase_add_test(tf, test_fleet_delta);
	suite_add_tcase(s, tf);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed = 1;

	setenv("no_proxy", "127.0.0.1,localhost,::1", 1);
	setenv("NO_PROXY", "127.0.0.1,localhost,::1", 1);
	setenv("ETCDCTL_API", "3", 1);
	if (sh("command -v etcd >/dev/null && command -v etcdctl >/dev/null "
	    "&& command -v openssl >/dev/null") != 0) {
		printf("SKIP: check_etcd: etcd, etcdctl or openssl not installed "
		    "(apt-get install etcd-server etcd-client)\n");
		return EXIT_SUCCESS;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mkdtemp(dir) == NULL || !make_certs()) {
		printf("check_etcd: cannot make the test certificates\n");
		goto out;
	}
	snprintf(log_path, sizeof(log_path), "%s/e1.log", dir);
	e1_pid = etcd_start("e1", e1_url, sizeof(e1_url), false, NULL);
	e2_pid = etcd_start("e2", e2_url, sizeof(e2_url), true,
	    "--auth-token=simple");
	if (!etcd_wait(e1_pid, e1_url, false) ||
	    !etcd_wait(e2_pid, e2_url, true)) {
		printf("check_etcd: etcd did not start; its log:\n");
		sh("tail -20 %s/e1.log %s/e2.log", dir, dir);
		goto out;
	}
	if (!setup_auth()) {
		printf("check_etcd: cannot set up etcd users and roles\n");
		goto out;
	}
	sr = srunner_create(etcd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
out:
	etcd_stop(&e1_pid);
	etcd_stop(&e2_pid);
	if (strncmp(dir, "/tmp/check_etcd.", 16) == 0 && dir[16] != 'X')
		sh("rm -rf %s", dir);
	curl_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
