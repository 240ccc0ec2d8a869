/*
 * fleet_key.c - the publisher's Ed25519 key file: made once by
 * `aivenctl fleet keygen`, read by the publisher to sign.
 *
 * The file is created, never replaced: overwriting a publisher key by
 * mistake would make every follower refuse the fleet until re-pinned, and
 * a symlink planted at the path must not redirect the secret elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <sodium.h>

#include "aivenauth_fleet.h"
#include "fleet/fleet_key.h"
#include "fleet/fleet_rec.h"

#define SK_B64_LEN 88               /* base64 of 64 bytes, padded */
#define KEY_FILE_MAX 256

enum aivenauth_status
aivenauth_fleet_keygen(struct aivenauth_ctx *ctx, const char *path,
    char pk_b64[AIVENAUTH_FLEET_PK_B64_SIZE])
{
	unsigned char pk[FLEET_PK_BYTES], sk[FLEET_SK_BYTES];
	char line[SK_B64_LEN + 2];
	enum aivenauth_status st = AIVENAUTH_ERR_IO;
	size_t n, off = 0;
	ssize_t w;
	int fd, e;

	if (ctx == NULL || path == NULL || path[0] == '\0' || pk_b64 == NULL)
		return AIVENAUTH_ERR_INVALID;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		e = errno;
		ctx_log(ctx, LOG_ERR, "fleet key file %s: %s%s", path,
		    strerror(e), e == EEXIST ? " (a key file is never "
		    "overwritten; remove it first if you mean to replace the "
		    "key, and re-pin followers)" : "");
		return e == EEXIST ? AIVENAUTH_ERR_EXISTS : e == EACCES ?
		    AIVENAUTH_ERR_UNSAFE_FILE : AIVENAUTH_ERR_IO;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(line, sizeof(line), sk, sizeof(sk),
	    sodium_base64_VARIANT_ORIGINAL);
	n = strlen(line);
	line[n++] = '\n';
	/* umask may only have removed bits; make it exactly 0600. */
	if (fchmod(fd, 0600) != 0)
		goto fail;
	while (off < n) {
		w = write(fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	fleet_pk_b64(pk, pk_b64);
	st = AIVENAUTH_OK;
	goto out;
fail:
	e = errno;
	ctx_log(ctx, LOG_ERR, "fleet key file %s: cannot write: %s", path,
	    strerror(e));
	if (fd >= 0)
		close(fd);
	unlink(path);
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(line, sizeof(line));
	return st;
}

enum aivenauth_status
fleet_key_load(struct aivenauth_ctx *ctx, const char *path,
    unsigned char sk[FLEET_SK_BYTES], unsigned char pk[FLEET_PK_BYTES])
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk2[FLEET_PK_BYTES];
	unsigned char sk2[FLEET_SK_BYTES];
	enum aivenauth_status st;
	char *text = NULL;
	const char *end;
	size_t len = 0, bin = 0, n;

	if (path == NULL) {
		ctx_log(ctx, LOG_ERR, "fleet_signing_key_file is not set");
		return AIVENAUTH_ERR_CONFIG;
	}
	if ((st = read_trusted(ctx, path, TRUST_SECRET, KEY_FILE_MAX, &text,
	    &len)) != AIVENAUTH_OK)
		return st;
	n = len;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	st = AIVENAUTH_ERR_CONFIG;
	if (sodium_base642bin(sk, FLEET_SK_BYTES, text, n, NULL, &bin, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || bin != FLEET_SK_BYTES ||
	    end != text + n) {
		ctx_log(ctx, LOG_ERR, "fleet key file %s: not a key made by "
		    "`aivenctl fleet keygen` (one line of base64)", path);
		goto out;
	}
	/* The second half of a libsodium secret key is its public key:
	 * check that it is the one the seed makes (a damaged file would
	 * sign with a key no follower pinned). */
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_seed_keypair(pk2, sk2, seed);
	if (sodium_memcmp(sk2, sk, FLEET_SK_BYTES) != 0) {
		ctx_log(ctx, LOG_ERR, "fleet key file %s: damaged (its public "
		    "half does not match its seed)", path);
		goto out;
	}
	if (pk != NULL)
		memcpy(pk, pk2, FLEET_PK_BYTES);
	st = AIVENAUTH_OK;
out:
	if (st != AIVENAUTH_OK)
		sodium_memzero(sk, FLEET_SK_BYTES);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk2, sizeof(sk2));
	aivenauth_secret_free(text, len);
	return st;
}

enum aivenauth_status
aivenauth_fleet_pubkey(struct aivenauth_ctx *ctx, const char *path,
    char pk_b64[AIVENAUTH_FLEET_PK_B64_SIZE])
{
	unsigned char sk[FLEET_SK_BYTES], pk[FLEET_PK_BYTES];
	enum aivenauth_status st;

	if (ctx == NULL || pk_b64 == NULL)
		return AIVENAUTH_ERR_INVALID;
	st = fleet_key_load(ctx, path, sk, pk);
	sodium_memzero(sk, sizeof(sk));
	if (st == AIVENAUTH_OK)
		fleet_pk_b64(pk, pk_b64);
	return st;
}
