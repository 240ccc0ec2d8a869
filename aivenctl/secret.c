/*
 * secret.c - read a token from stdin without echo, and wipe it afterwards.
 *
 * Tokens never come from argv (visible in ps) or the environment.  On a
 * terminal the input is read with ECHO off; from a pipe everything up to
 * EOF is read (a token is one line; one trailing newline is dropped).
 * Input is capped at SECRET_READ_MAX bytes; whether it is token-shaped is
 * for the caller (verify lets the library say "not-token").
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "aivenctl.h"

void
secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

void
secret_free(char *buf, size_t len)
{
	(void)len;
	if (buf == NULL)
		return;
	/* The buffer is always SECRET_READ_MAX + 1 bytes. */
	aivenauth_secret_free(buf, SECRET_READ_MAX + 1);
}

/*
 * A signal while echo is off must not leave the terminal without echo:
 * restore it, then die of the signal as usual.
 */
static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_TTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

static void
restore_tty(int sig)
{
	if (tio_saved)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
tty_signals_set(bool on, struct sigaction *old)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_TTY_SIGNALS; i++) {
		if (on)
			sigaction(tty_signals[i], &sa, &old[i]);
		else
			sigaction(tty_signals[i], &old[i], NULL);
	}
}

static int
read_all(int fd, char *buf, size_t *lenp, bool line)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		if (len == SECRET_READ_MAX + 1)
			break;
		n = read(fd, buf + len, line ? 1 : SECRET_READ_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
		if (line && buf[len - 1] == '\n')
			break;
	}
	*lenp = len;
	return 0;
}

int
secret_read(char **bufp, size_t *lenp)
{
	struct sigaction oldsa[N_TTY_SIGNALS];
	struct termios old, noecho;
	bool tty = false;
	size_t len = 0;
	char *buf;
	int r, saved;

	*bufp = NULL;
	*lenp = 0;
	if ((buf = malloc(SECRET_READ_MAX + 1)) == NULL) {
		ctl_err("out of memory");
		return EX_OSERR;
	}
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
		tty = true;
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		noecho.c_lflag |= ECHONL;
		saved_tio = old;
		tio_saved = 1;
		tty_signals_set(true, oldsa);
		/* Echo off before the prompt, not after: TCSAFLUSH drops what
		 * was typed before it takes effect, and what is typed before
		 * echo is off is shown.  Once "Token: " is on the screen,
		 * typing is safe. */
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) != 0) {
			saved = errno;
			tty_signals_set(false, oldsa);
			tio_saved = 0;
			ctl_err("cannot turn off echo on the terminal: %s",
			    strerror(saved));
			aivenauth_secret_free(buf, SECRET_READ_MAX + 1);
			return EX_IOERR;
		}
		fputs("Token: ", stderr);
		fflush(stderr);
	}
	r = read_all(STDIN_FILENO, buf, &len, tty);
	saved = errno;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		tty_signals_set(false, oldsa);
		tio_saved = 0;
	}
	if (r != 0) {
		ctl_err("cannot read the token from stdin: %s", strerror(saved));
		aivenauth_secret_free(buf, SECRET_READ_MAX + 1);
		return EX_IOERR;
	}
	if (len > SECRET_READ_MAX) {
		ctl_err("stdin is not token-shaped (more than %d bytes)",
		    SECRET_READ_MAX);
		aivenauth_secret_free(buf, SECRET_READ_MAX + 1);
		return EX_DATAERR;
	}
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	memset(buf + len, 0, SECRET_READ_MAX + 1 - len);
	*bufp = buf;
	*lenp = len;
	return 0;
}
