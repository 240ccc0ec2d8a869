/*
 * fuzz_config.c - libFuzzer target: the config parser, through the public
 * aivenauth_config_load() on a private 0600 file (the same path a PAM
 * host takes), then every key read back.  Oracles: no crash; a refused
 * file leaves the previous configuration in place (the parser swaps in a
 * copy only when every line is valid).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aivenauth.h"

static char path[64];

static const char *keys[] = { "api_url", "organization_id", "api_token_file",
	"cache_dir", "max_stale", "timeout", "connect_timeout", "ca_file",
	"online", "max_parallel" };

static void
cleanup(void)
{
	char dir[64];

	if (path[0] == '\0')
		return;
	unlink(path);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aivenauth_ctx *ctx;
	enum aivenauth_status st;
	const char *before;
	char saved[64];
	int fd;

	if (path[0] == '\0') {
		char tmpl[] = "/tmp/aivenauth-fuzz.XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/aivenauth.conf", tmpl);
		atexit(cleanup);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (aivenauth_ctx_new(&ctx) != AIVENAUTH_OK)
		abort();
	if (aivenauth_config_set(ctx, "timeout", "7") != AIVENAUTH_OK)
		abort();
	before = aivenauth_config_get(ctx, "timeout");
	snprintf(saved, sizeof(saved), "%s", before ? before : "");
	st = aivenauth_config_load(ctx, path, true);
	if (st != AIVENAUTH_OK) {
		const char *after = aivenauth_config_get(ctx, "timeout");

		if (after == NULL || strcmp(after, saved) != 0)
			abort();   /* a refused file changed the config */
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = aivenauth_config_get(ctx, keys[i]);

		if (v != NULL)
			(void)strlen(v);
	}
	aivenauth_ctx_free(ctx);
	return 0;
}
