/*
 * exitcode.c - the one place where a library status becomes an exit code.
 * The table is documented in `aivenctl --help` and aivenctl(8); keep the
 * three in step.
 */
#include <sysexits.h>

#include "aivenctl.h"

int
exit_code(enum aivenauth_status st)
{
	switch (st) {
	case AIVENAUTH_OK:
		return 0;
	case AIVENAUTH_ERR_INVALID:
	case AIVENAUTH_ERR_EXISTS:
	case AIVENAUTH_ERR_MISMATCH:
	case AIVENAUTH_ERR_API_REJECTED:
		return EX_DATAERR;
	case AIVENAUTH_ERR_NOT_FOUND:
	case AIVENAUTH_ERR_API_NOT_FOUND:
		return EX_NOINPUT;
	case AIVENAUTH_ERR_CACHE_MISSING:
	case AIVENAUTH_ERR_CACHE_CORRUPT:
	case AIVENAUTH_ERR_CACHE_VERSION:
	case AIVENAUTH_ERR_NET_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case AIVENAUTH_ERR_INTERNAL:
		return EX_SOFTWARE;
	case AIVENAUTH_ERR_NOMEM:
		return EX_OSERR;
	case AIVENAUTH_ERR_IO:
	case AIVENAUTH_ERR_CACHE_FULL:
		return EX_IOERR;
	case AIVENAUTH_ERR_NET:
	case AIVENAUTH_ERR_TIMEOUT:
	case AIVENAUTH_ERR_RATE_LIMITED:
	case AIVENAUTH_ERR_SERVER:
		return EX_TEMPFAIL;
	case AIVENAUTH_ERR_LOCAL_LIMIT:
		return EX_TEMPFAIL;
	case AIVENAUTH_ERR_BAD_RESPONSE:
	case AIVENAUTH_ERR_TOO_LARGE:
		return EX_PROTOCOL;
	case AIVENAUTH_ERR_UNSAFE_FILE:
	case AIVENAUTH_ERR_READONLY:
	case AIVENAUTH_ERR_CACHE_ACCESS:
	case AIVENAUTH_ERR_UNAUTHORIZED:
	case AIVENAUTH_ERR_FORBIDDEN:
	case AIVENAUTH_ERR_IP_POLICY:
		return EX_NOPERM;
	case AIVENAUTH_ERR_CONFIG:
	case AIVENAUTH_ERR_NO_CREDENTIALS:
		return EX_CONFIG;
	}
	/* A status appended to the enum after this was written. */
	return EX_SOFTWARE;
}
