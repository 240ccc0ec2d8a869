/*
 * cmd_version.c - aivenctl version (and --version).
 */
#include "aivenctl.h"

int
cmd_version(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	if (g.json) {
		json_t *o = json_pack("{s:s, s:s}", "version",
		    AIVENAUTH_VERSION_STRING, "library_version",
		    aivenauth_version());
		int rc = json_print(o);

		json_decref(o);
		return rc;
	}
	printf("%s %s (libaivenauth %s)\n", PROG_NAME,
	    AIVENAUTH_VERSION_STRING, aivenauth_version());
	return 0;
}
