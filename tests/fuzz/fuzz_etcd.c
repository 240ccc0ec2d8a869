/*
 * fuzz_etcd.c - libFuzzer target: the etcd gateway answer parsers
 * (net/etcd_json.c) on arbitrary bytes, as a hostile or broken etcd (or
 * whatever answers on its port) would hand them to a follower.  The first
 * byte selects the parser; the watch parser is fed the rest line by line,
 * as the stream would.  Nothing may crash or leak, and a kv handed to a
 * callback must lie in memory the parser owns (ASan checks the reads).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/etcd_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned char sink;

static void
touch(const struct etcd_kv *kv)
{
	size_t i;

	for (i = 0; i < kv->key_len; i++)
		sink ^= (unsigned char)kv->key[i];
	for (i = 0; i < kv->value_len; i++)
		sink ^= kv->value[i];
}

static enum aivenauth_status
on_kv(void *arg, const struct etcd_kv *kv)
{
	(void)arg;
	touch(kv);
	return AIVENAUTH_OK;
}

static bool
on_watch(void *arg, const struct etcd_event *ev, size_t n, int64_t rev)
{
	size_t i;

	(void)arg;
	(void)rev;
	for (i = 0; i < n; i++)
		touch(&ev[i].kv);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_watch_end end;
	char err[ETCD_ERR_SIZE], *tok = NULL, *d;
	const char *p, *nl;
	struct buf last;
	int64_t a, b;
	size_t n, tl;
	bool more, stop, ok;

	if (size == 0)
		return 0;
	if ((d = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(d, data + 1, size - 1);
	n = size - 1;
	switch (data[0] % 6) {
	case 0:
		buf_init(&last, 1 << 20, false);
		(void)ej_range_parse(d, n, on_kv, NULL, &a, &more, &tl, &last,
		    err, sizeof(err));
		buf_free(&last);
		break;
	case 1:
		(void)ej_txn_parse(d, n, &ok, &a, err, sizeof(err));
		break;
	case 2:
		(void)ej_lease_parse(d, n, data[0] & 0x80, &a, &b, err,
		    sizeof(err));
		break;
	case 3:
		if (ej_auth_parse(d, n, &tok, &tl, err, sizeof(err)) ==
		    AIVENAUTH_OK)
			free(tok);
		break;
	case 4:
		(void)ej_header_parse(d, n, &a, err, sizeof(err));
		break;
	default:
		memset(&end, 0, sizeof(end));
		for (p = d; p < d + n; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(d + n - p));
			if (nl == NULL)
				nl = d + n;
			if (ej_watch_line(p, (size_t)(nl - p), on_watch, NULL,
			    &end, &stop, err, sizeof(err)) != AIVENAUTH_OK ||
			    stop)
				break;
		}
	}
	free(d);
	return 0;
}
