/*
 * metrics.c - node_exporter textfile metrics (`aivenctl status
 * --prometheus [FILE]`, `aivenctl sync --prometheus FILE`) and the record
 * of the last sync attempt they report.
 *
 * The cache says when the last *good* sync was; whether the last attempt
 * failed is not in it (a failed sync changes nothing, by design).  So
 * `aivenctl sync` records each attempt in cache_dir/sync-state, a small
 * "key value" text file written atomically in cache_dir, readable by
 * the cache's group.  LMDB ignores it.  (A schema field for it would need
 * a library API; this keeps the cache format untouched.)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops.h"

#define STATE_NAME "sync-state"
#define STATE_MAX 1024

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
prom_parse_opts(const char *path, int argc, char *argv[], bool file_optional,
    const char **prom)
{
	static const struct option longopts[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "prometheus", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option longopts_opt[] = {
		GLOBAL_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ "prometheus", optional_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*prom = NULL;
	while ((c = getopt_long(argc, argv, GLOBAL_SHORTOPTS "h",
	    file_optional ? longopts_opt : longopts, NULL)) != -1) {
		if (global_opt(c, optarg))
			continue;
		switch (c) {
		case 'h':
			usage_print(stdout, path);
			return 0;
		case 'P':
			if (optarg != NULL) {
				*prom = optarg;
			} else if (optind < argc && argv[optind][0] != '\0' &&
			    (argv[optind][0] != '-' ||
			    strcmp(argv[optind], "-") == 0)) {
				*prom = argv[optind++];
			} else {
				*prom = "-";
			}
			if (**prom == '\0') {
				ctl_err("%s: --prometheus needs a file name",
				    path);
				return usage_of(path);
			}
			break;
		default:
			return opt_error(path, argv);
		}
	}
	return -1;
}

/* cache_dir/NAME into buf; false if it does not fit. */
static bool
state_path(struct aivenauth_ctx *ctx, char *buf, size_t size)
{
	const char *dir = aivenauth_config_get(ctx, "cache_dir");

	return dir != NULL &&
	    (size_t)snprintf(buf, size, "%s/" STATE_NAME, dir) < size;
}

/*
 * Write text to path atomically: a temporary file next to it (mode
 * `mode`, not matched by node_exporter's *.prom glob), fsync, rename.
 * Returns 0 or errno.
 */
static int
write_atomic(const char *path, const char *text, size_t len, mode_t mode)
{
	char tmp[4096];
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	int fd, e = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int)dirlen,
	    path, path + dirlen) >= sizeof(tmp))
		return ENAMETOOLONG;
	if ((fd = mkstemp(tmp)) < 0)
		return errno;
	if (fchmod(fd, mode) != 0)
		e = errno;
	while (e == 0 && len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (e == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, path) != 0)
		e = errno;
	if (e != 0)
		unlink(tmp);
	return e;
}

void
sync_state_write(struct aivenauth_ctx *ctx, int64_t start_ms,
    enum aivenauth_status st)
{
	char path[4096], text[STATE_MAX];
	int64_t end = now_ms();
	struct stat sb;
	const char *dir = aivenauth_config_get(ctx, "cache_dir");
	int e, n;

	/* Never create the cache directory just for this. */
	if (dir == NULL || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
	    !state_path(ctx, path, sizeof(path)))
		return;
	n = snprintf(text, sizeof(text),
	    "# aivenctl sync: the last attempt (read by aivenctl status "
	    "--prometheus)\n"
	    "time %" PRId64 "\nduration_ms %" PRId64 "\nsuccess %d\n"
	    "exit %d\nunit %d\nerror %s\n", end / 1000,
	    end - start_ms > 0 ? end - start_ms : 0,
	    st == AIVENAUTH_OK ? 1 : 0, exit_code(st),
	    getenv("INVOCATION_ID") != NULL ? 1 : 0,
	    st == AIVENAUTH_OK ? "" : aivenauth_strerror(st));
	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	/* The sync's own admin token, for audit (which must never tell
	 * anyone to revoke it): known after a good sync, when the cache
	 * holds its prefix. */
	if (st == AIVENAUTH_OK) {
		struct aivenauth_token *t = NULL;
		char prefix[AIVENAUTH_PREFIX_MAX + 1];
		size_t nt = 0;
		int m;

		if (aivenauth_cache_tokens(ctx, NULL, &t, &nt) == AIVENAUTH_OK &&
		    admin_token_prefix(ctx, t, nt, prefix, sizeof(prefix))) {
			m = snprintf(text + n, sizeof(text) - (size_t)n,
			    "token_prefix %s\n", prefix);
			if (m > 0 && (size_t)m < sizeof(text) - (size_t)n)
				n += m;
		}
		aivenauth_tokens_free(t, nt);
	}
	if ((e = write_atomic(path, text, (size_t)n, 0640)) != 0)
		ctl_note("cannot record the sync result in %s: %s", path,
		    strerror(e));
}

bool
sync_state_read(struct aivenauth_ctx *ctx, struct sync_state *s)
{
	char path[4096], text[STATE_MAX], *line, *save = NULL;
	int64_t v;
	bool have_time = false, have_success = false;
	ssize_t n;
	int fd;

	memset(s, 0, sizeof(*s));
	if (!state_path(ctx, path, sizeof(path)))
		return false;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');

		if (line[0] == '#' || val == NULL)
			continue;
		*val++ = '\0';
		if (strcmp(line, "time") == 0 && parse_i64(val, 0, INT64_MAX, &v)) {
			s->time = v;
			have_time = true;
		} else if (strcmp(line, "duration_ms") == 0 &&
		    parse_i64(val, 0, INT64_MAX, &v)) {
			s->duration_ms = v;
		} else if (strcmp(line, "success") == 0 &&
		    parse_i64(val, 0, 1, &v)) {
			s->success = v == 1;
			have_success = true;
		} else if (strcmp(line, "exit") == 0 &&
		    parse_i64(val, 0, 255, &v)) {
			s->exit_code = (int)v;
		} else if (strcmp(line, "unit") == 0 &&
		    parse_i64(val, 0, 1, &v)) {
			s->unit = v == 1;
		} else if (strcmp(line, "token_prefix") == 0) {
			snprintf(s->token_prefix, sizeof(s->token_prefix), "%s",
			    val);
		} else if (strcmp(line, "error") == 0) {
			snprintf(s->error, sizeof(s->error), "%s", val);
		}
	}
	return have_time && have_success;
}

/* A growing text buffer for the metrics (a few hundred bytes). */
struct text {
	char buf[8192];
	size_t len;
	bool overflow;
};

static void add(struct text *t, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		t->overflow = true;
	else
		t->len += (size_t)n;
}

static void
metric(struct text *t, const char *name, const char *help, int64_t v)
{
	add(t, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", name, help,
	    name, name, v);
}

/* Label values: escape backslash, quote and newline. */
static void
label_value(struct text *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			add(t, "\\%c", *s);
		else if (*s == '\n')
			add(t, "\\n");
		else
			add(t, "%c", *s);
	}
}

int
metrics_write(struct aivenauth_ctx *ctx, const char *file)
{
	struct aivenauth_cache_info in;
	struct aivenauth_revocation_journal rj;
	size_t unconf;
	int64_t unconf_oldest;
	struct sync_state ss;
	struct text t = { .len = 0 };
	enum aivenauth_status st, jst;
	const char *ms;
	int64_t now = (int64_t)time(NULL), max_stale = 0;
	bool up, have_state;
	int e;

	ms = aivenauth_config_get(ctx, "max_stale");
	if (ms == NULL || !parse_i64(ms, 0, INT64_MAX, &max_stale))
		max_stale = 0;
	memset(&in, 0, sizeof(in));
	st = aivenauth_cache_open(ctx, AIVENAUTH_OPEN_RDONLY);
	if (st == AIVENAUTH_OK)
		st = aivenauth_cache_info(ctx, &in);
	up = st == AIVENAUTH_OK;
	if (!up)
		ctl_warn("cache %s: %s (metrics say aivenauth_cache_up 0)",
		    nn(aivenauth_config_get(ctx, "cache_dir")),
		    aivenauth_strerror(st));
	have_state = sync_state_read(ctx, &ss);

	add(&t, "# HELP aivenauth_info aivenctl version and the organization "
	    "the cache mirrors.\n# TYPE aivenauth_info gauge\n"
	    "aivenauth_info{version=\"%s\",organization_id=\"",
	    AIVENAUTH_VERSION_STRING);
	label_value(&t, in.organization_id);
	add(&t, "\"} 1\n");
	metric(&t, "aivenauth_cache_up",
	    "Whether the cache could be opened and read (1) or not (0).", up);
	if (up) {
		metric(&t, "aivenauth_last_sync_timestamp_seconds",
		    "Unix time of the last good sync (0: never synced).",
		    in.sync_time);
		if (in.sync_time != 0)
			metric(&t, "aivenauth_last_sync_age_seconds",
			    "Seconds since the last good sync.",
			    now - in.sync_time);
		metric(&t, "aivenauth_cache_stale",
		    "Whether logins are refused as cache-stale: never synced, or "
		    "the last good sync is older than max_stale.",
		    in.sync_time == 0 || in.generation == 0 ||
		    (max_stale != 0 && now - in.sync_time > max_stale));
		metric(&t, "aivenauth_max_stale_seconds",
		    "Configured max_stale (0: never stale).", max_stale);
		metric(&t, "aivenauth_cache_generation",
		    "Generation of the cache, bumped by every good sync.",
		    (int64_t)in.generation);
		metric(&t, "aivenauth_users",
		    "Application users in the cache.", (int64_t)in.users);
		metric(&t, "aivenauth_tokens",
		    "Tokens listed by the API at the last sync.",
		    (int64_t)in.tokens);
		metric(&t, "aivenauth_tokens_enrolled",
		    "Tokens whose hash this host knows (can log in here).",
		    (int64_t)in.enrolled);
		metric(&t, "aivenauth_tokens_revoked",
		    "Locally revoked tokens and tombstones of removed ones.",
		    (int64_t)in.revoked);
		metric(&t, "aivenauth_tokens_pending_revocation",
		    "Scheduled revocations (rotate --grace) not yet sent.",
		    (int64_t)in.pending_revocations);
		if (unconfirmed_revocations(ctx, &unconf, &unconf_oldest) ==
		    AIVENAUTH_OK)
			metric(&t, "aivenauth_revocations_unconfirmed",
			    "Tokens revoked here that the API still listed at "
			    "the last sync (DELETE not yet confirmed): refused "
			    "here, still valid at the API.", (int64_t)unconf);
		/* The revocation journal needs the writer's rights: as
		 * anyone else it is "not readable", never "empty". */
		jst = aivenauth_revocation_journal_info(ctx, &rj);
		metric(&t, "aivenauth_revocation_journal_readable",
		    "Whether the revocation journal could be read (1) or not "
		    "(0: not the writer's user, or unsafe: aivenctl doctor).",
		    jst == AIVENAUTH_OK);
		if (jst == AIVENAUTH_OK) {
			metric(&t, "aivenauth_revocations_pending",
			    "Revocations in the revocation journal not yet stored "
			    "in the cache (a full disk): aivenctl sync stores "
			    "them.", (int64_t)rj.pending);
			metric(&t, "aivenauth_revocation_journal_slots",
			    "Capacity of the revocation journal; when every slot "
			    "is taken, token revoke fails.", (int64_t)rj.slots);
		}
		metric(&t, "aivenauth_cache_file_size_bytes",
		    "Size of the published snapshot (snapshot.mdb).", (int64_t)in.file_size);
	}
	/* Without a record (no sync since install), the best answer is
	 * whether a good sync ever happened. */
	metric(&t, "aivenauth_sync_success",
	    "Whether the last sync attempt succeeded (1) or failed (0).",
	    have_state ? ss.success : (up && in.generation != 0));
	if (have_state) {
		metric(&t, "aivenauth_last_sync_attempt_timestamp_seconds",
		    "Unix time the last sync attempt ended.", ss.time);
		metric(&t, "aivenauth_last_sync_attempt_exit_code",
		    "Exit code of the last sync attempt (0: success; see "
		    "aivenctl(8), EXIT STATUS).", ss.exit_code);
		add(&t, "# HELP aivenauth_last_sync_duration_seconds Duration "
		    "of the last sync attempt.\n# TYPE "
		    "aivenauth_last_sync_duration_seconds gauge\n"
		    "aivenauth_last_sync_duration_seconds %" PRId64 ".%03" PRId64
		    "\n", ss.duration_ms / 1000, ss.duration_ms % 1000);
	}
	if (t.overflow) {
		ctl_err("metrics text too long");
		return EX_SOFTWARE;
	}
	if (file == NULL || strcmp(file, "-") == 0)
		return write_stdout(t.buf, t.len) ? 0 : EX_IOERR;
	if ((e = write_atomic(file, t.buf, t.len, 0644)) != 0) {
		ctl_err("cannot write metrics to %s: %s", file, strerror(e));
		return e == EACCES || e == EPERM ? EX_NOPERM : EX_CANTCREAT;
	}
	return 0;
}
