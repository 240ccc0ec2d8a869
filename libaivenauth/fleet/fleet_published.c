/*
 * fleet_published.c - what this publisher remembers of what it published
 * (fleet_published.h): two small files in cache_dir/writer, each written
 * atomically (fleet_writer_file_put) and read without following a
 * symlink.  Losing or damaging either costs work, never correctness:
 * without fleet-published the next run publishes a generation it could
 * have skipped; without a fleet-published-set that reads back whole, in
 * order and with the digest its header records, the next generation is a
 * full one instead of a delta.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "base/cache.h"
#include "writer/writer.h"
#include "fleet/fleet_lead.h"
#include "fleet/fleet_published.h"

#define PUBLISHED_FILE "fleet-published"
#define SET_FILE "fleet-published-set"
#define SET_FILE_MAX (512u << 20)

void
fleet_published_read(struct aivenauth_ctx *ctx, struct fleet_published *out)
{
	char *p = fleet_writer_path(ctx, PUBLISHED_FILE);
	int fd;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return;
	if (read(fd, out, sizeof(*out)) != (ssize_t)sizeof(*out) ||
	    out->magic != FLEET_PUBLISHED_MAGIC)
		memset(out, 0, sizeof(*out));
	close(fd);
}

/* Atomically: written aside, fsynced, renamed.  A failure costs one
 * needless generation next time, so it is only logged. */
void
fleet_published_write(struct aivenauth_ctx *ctx,
    const struct fleet_published *pb)
{
	(void)fleet_writer_file_put(ctx, PUBLISHED_FILE, pb, sizeof(*pb));
}

/* The set published last, or false (missing, damaged: publish full).  The
 * entries must be sorted and make the digest the header records. */
bool
fleet_published_set_read(struct aivenauth_ctx *ctx, struct fleet_set_hdr *h,
    struct fleet_dset *out)
{
	unsigned char d[FLEET_DIGEST_BYTES];
	char *p = fleet_writer_path(ctx, SET_FILE), *data = NULL;
	size_t len = 0, pos, i;
	struct stat sb;
	ssize_t r;
	bool ok = false;
	int fd;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return false;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return false;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size < (off_t)sizeof(*h) || sb.st_size > SET_FILE_MAX ||
	    (data = malloc((size_t)sb.st_size)) == NULL)
		goto out;
	while (len < (size_t)sb.st_size && (r = read(fd, data + len,
	    (size_t)sb.st_size - len)) > 0)
		len += (size_t)r;
	if (len != (size_t)sb.st_size)
		goto out;
	memcpy(h, data, sizeof(*h));
	if (h->magic != FLEET_SET_MAGIC ||
	    h->n > len / (4 + FLEET_DIGEST_BYTES) ||
	    (out->e = calloc(h->n + 1, sizeof(*out->e))) == NULL)
		goto out;
	for (pos = sizeof(*h), i = 0; i < h->n; i++) {
		uint32_t nl;

		if (len - pos < 4)
			goto out;
		memcpy(&nl, data + pos, 4);
		pos += 4;
		if (nl == 0 || nl > FLEET_KEY_MAX || len - pos < (size_t)nl +
		    FLEET_DIGEST_BYTES || (out->e[i].name = malloc(nl + 1)) ==
		    NULL)
			goto out;
		out->n = i + 1;
		memcpy(out->e[i].name, data + pos, nl);
		out->e[i].name[nl] = '\0';
		out->e[i].name_len = nl;
		memcpy(out->e[i].cd, data + pos + nl, FLEET_DIGEST_BYTES);
		pos += nl + FLEET_DIGEST_BYTES;
		if (memchr(out->e[i].name, '\0', nl) != NULL || (i > 0 &&
		    strcmp(out->e[i - 1].name, out->e[i].name) >= 0))
			goto out;
	}
	if (pos != len)
		goto out;
	/* fleet_dset_digest refuses nothing: order was checked above. */
	fleet_dset_digest(out, d);
	ok = sodium_memcmp(d, h->digest, sizeof(d)) == 0;
out:
	close(fd);
	free(data);
	if (!ok)
		fleet_dset_free(out);
	return ok;
}

/* Atomically, like fleet-published; a failure costs a full generation. */
void
fleet_published_set_write(struct aivenauth_ctx *ctx,
    const struct fleet_set_hdr *h,
    const struct fleet_dset *s)
{
	struct buf b;
	size_t i;
	bool ok;

	buf_init(&b, SET_FILE_MAX, false);
	ok = buf_add(&b, h, sizeof(*h)) == AIVENAUTH_OK;
	for (i = 0; ok && i < s->n; i++)
		ok = buf_add(&b, &s->e[i].name_len, 4) == AIVENAUTH_OK &&
		    buf_add(&b, s->e[i].name, s->e[i].name_len) ==
		    AIVENAUTH_OK && buf_add(&b, s->e[i].cd, FLEET_DIGEST_BYTES) ==
		    AIVENAUTH_OK;
	if (!ok || !fleet_writer_file_put(ctx, SET_FILE, b.data, b.len))
		ctx_log(ctx, LOG_WARNING, "fleet: the published set not "
		    "recorded: the next generation will be a full one");
	buf_free(&b);
}
