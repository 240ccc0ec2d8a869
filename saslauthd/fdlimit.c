/*
 * fdlimit.c - the connection cap that fits RLIMIT_NOFILE (fdlimit.h).
 */
#include "fdlimit.h"

unsigned
sl_fd_slack(unsigned long long limit)
{
	unsigned long long s = limit / SL_FD_SLACK_DIV;

	if (limit == SL_FD_UNLIMITED)
		return 0;
	return s < SL_FD_SLACK_MIN ? SL_FD_SLACK_MIN :
	    s > 65536 ? 65536 : (unsigned)s;
}

unsigned
sl_conn_cap(unsigned want, unsigned long long limit, unsigned in_use,
    unsigned later)
{
	unsigned long long kept;

	if (limit == SL_FD_UNLIMITED)
		return want;
	kept = (unsigned long long)in_use + later + sl_fd_slack(limit);
	if (want == 0)
		return 0;
	if (limit <= kept)
		return 1;
	if (limit - kept >= want)
		return want;
	return (unsigned)(limit - kept);     /* below want: fits unsigned */
}
