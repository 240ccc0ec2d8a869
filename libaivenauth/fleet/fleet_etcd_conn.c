/*
 * fleet_etcd_conn.c - the fleet's connection to etcd (fleet_etcd.h):
 * opening the network module's etcd client as the configuration says,
 * with the etcd user's password read from its file like a secret, and
 * finding out without writing whether those credentials may write the
 * prefix (a follower's should not).  What is read and written over it is
 * in fleet_etcd_read.c and fleet_etcd_write.c; the leader key in
 * fleet_lead.c.
 */
#include <string.h>
#include <syslog.h>

#include "fleet/fleet_etcd.h"
#include "base/netload.h"

#define PASSWORD_FILE_MAX 4096

static void
etcd_log(void *arg, int level, const char *msg)
{
	ctx_log(arg, level, "%s", msg);
}

/* The etcd password: one line, blanks around it dropped. */
static enum aivenauth_status
read_password(struct aivenauth_ctx *ctx, const char *path, struct buf *out)
{
	enum aivenauth_status st;
	char *data = NULL;
	size_t len = 0, s, e;

	if ((st = read_trusted(ctx, path, TRUST_SECRET, PASSWORD_FILE_MAX,
	    &data, &len)) != AIVENAUTH_OK)
		return st;
	for (s = 0; s < len && strchr(" \t\r\n", data[s]) != NULL; s++)
		;
	for (e = len; e > s && strchr(" \t\r\n", data[e - 1]) != NULL; e--)
		;
	buf_init(out, PASSWORD_FILE_MAX, true);
	if (e == s || memchr(data + s, '\n', e - s) != NULL) {
		ctx_log(ctx, LOG_ERR, "etcd_password_file %s: expected one "
		    "line holding the password", path);
		st = AIVENAUTH_ERR_CONFIG;
	} else {
		st = buf_add(out, data + s, e - s);
	}
	aivenauth_secret_free(data, len + 1);
	if (st != AIVENAUTH_OK)
		buf_free(out);
	return st;
}

enum aivenauth_status
fleet_etcd_open(struct aivenauth_ctx *ctx, struct fleet_etcd *fe)
{
	const struct config *c = &ctx->cfg;
	const struct fleet_config *f = &c->fleet;
	struct etcd_params p;
	enum aivenauth_status st;
	struct buf pw;

	memset(fe, 0, sizeof(*fe));
	fe->ctx = ctx;
	fe->prefix = f->etcd_prefix != NULL ? f->etcd_prefix :
	    FLEET_DEFAULT_PREFIX;
	buf_init(&pw, 0, true);
	if (f->etcd_endpoints == NULL) {
		ctx_log(ctx, LOG_ERR, "etcd_endpoints is not set in %s",
		    c->source != NULL ? c->source : "the configuration");
		return AIVENAUTH_ERR_CONFIG;
	}
	if (f->etcd_user != NULL && f->etcd_password_file == NULL) {
		ctx_log(ctx, LOG_ERR, "etcd_user is set but "
		    "etcd_password_file is not");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((st = net_load(ctx)) != AIVENAUTH_OK)
		return st;
	if (ctx->net->etcd == NULL) {
		ctx_log(ctx, LOG_ERR, "the network client module has no etcd "
		    "client");
		return AIVENAUTH_ERR_NET_UNAVAILABLE;
	}
	fe->ops = ctx->net->etcd;
	if (f->etcd_user != NULL &&
	    (st = read_password(ctx, f->etcd_password_file, &pw)) !=
	    AIVENAUTH_OK)
		return st;
	memset(&p, 0, sizeof(p));
	p.endpoints = f->etcd_endpoints;
	p.ca_file = f->etcd_ca_file;
	p.user = f->etcd_user;
	p.password = pw.data;
	p.password_len = pw.len;
	p.timeout_ms = c->timeout * 1000;
	p.connect_timeout_ms = (c->connect_timeout < c->timeout ?
	    c->connect_timeout : c->timeout) * 1000;
	p.max_retries = 2;
	p.log = etcd_log;
	p.log_arg = ctx;
	p.log_max_level = ctx->log_fn != NULL ? ctx->log_max : -1;
	st = fe->ops->open(&p, &fe->c);
	buf_free(&pw);
	return st;
}

void
fleet_etcd_close(struct fleet_etcd *fe)
{
	if (fe->ops != NULL && fe->c != NULL)
		fe->ops->close(fe->c);
	fe->c = NULL;
}


/*
 * Can this client write the prefix?  A txn whose compare never holds
 * (the leader key's create_revision below 0) with a put in the branch
 * that is never taken: etcd checks the permissions of both branches
 * before it evaluates anything, so a read-only user gets "permission
 * denied" and a writer gets an untaken branch.  Nothing is written.
 */
enum aivenauth_status
fleet_probe_write(struct fleet_etcd *fe, bool *can_write)
{
	enum aivenauth_status st;
	struct etcd_cmp cmp;
	struct etcd_op put;
	struct buf key;
	bool ok = true;
	int saved;

	*can_write = false;
	buf_init(&key, FLEET_KEY_MAX, false);
	if ((st = fleet_key_leader(fe->prefix, &key)) != AIVENAUTH_OK)
		goto out;
	memset(&cmp, 0, sizeof(cmp));
	cmp.key = key.data;
	cmp.key_len = key.len;
	cmp.target = ETCD_CMP_CREATE;
	cmp.result = ETCD_CMP_LESS;
	cmp.number = 0;
	memset(&put, 0, sizeof(put));
	put.type = ETCD_OP_PUT;
	put.key = key.data;
	put.key_len = key.len;
	put.value = "probe";
	put.value_len = 5;
	/* A read-only follower's etcd answers 403 here: that is the answer
	 * hoped for, not an error to print ("permission denied" on a healthy
	 * follower reads as broken RBAC).  The client's own log is muted for
	 * this one request; any other failure is said below. */
	saved = fe->ctx->log_max;
	fe->ctx->log_max = -1;
	st = fe->ops->txn(fe->c, &cmp, 1, &put, 1, NULL, 0, &ok, NULL);
	fe->ctx->log_max = saved;
	if (st != AIVENAUTH_OK && st != AIVENAUTH_ERR_FORBIDDEN)
		ctx_log(fe->ctx, LOG_NOTICE, "etcd: the write probe (can this "
		    "host write the prefix?) failed: %s", aivenauth_strerror(st));
	if (st == AIVENAUTH_OK && ok) {
		ctx_log(fe->ctx, LOG_ERR, "etcd: a compare that cannot hold "
		    "held: the write probe wrote the leader key");
		st = AIVENAUTH_ERR_BAD_RESPONSE;
	} else if (st == AIVENAUTH_OK) {
		*can_write = true;
	} else if (st == AIVENAUTH_ERR_FORBIDDEN) {
		st = AIVENAUTH_OK;      /* read-only: what a follower should be */
	}
out:
	buf_free(&key);
	return st;
}
