/*
 * main.c - aivenctl: the admin CLI of aivenauth.  The commands are in
 * commands.c, the command line in cli.c, what runs around a command in
 * fleet mode in fleet_hooks.c.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "aivenctl.h"

int
main(int argc, char *argv[])
{
	struct rlimit nocore = { 0, 0 };

	/* aivenctl holds the admin token and the tokens it creates or reads:
	 * no core file, no ptrace or /proc/PID/mem by other processes of the
	 * same user. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	json_init_alloc();
	sigbus_install();
	return cli_run(ctl_commands, &fleet_hooks, argc, argv);
}
