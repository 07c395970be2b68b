/*
 * cli/log_verify.c: `sluice log verify DATA_DIR`.
 *
 * Runs lg_verify over a data folder (or one partition folder), printing
 * each file as it is checked.  Exit 0 when everything verifies, 2 on a
 * usage error, 3 naming the first bad file and byte position.  It only
 * reads: repairs happen when the broker opens the partition.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "log/lg.h"

static void
verify_progress(const char *file, void *arg)
{
	int *count = arg;

	(*count)++;
	printf("checking %s\n", file);
	fflush(stdout);
}

int
cli_log_verify(int argc, char **argv)
{
	struct sl_err err = { 0 };
	int rc, count = 0;

	if (argc != 2 || argv[1][0] == '-') {
		if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			printf("usage: sluice log verify DATA_DIR\n");
			return CLI_EXIT_OK;
		}
		cli_errorf("log verify: usage: sluice log verify DATA_DIR");
		return CLI_EXIT_USAGE;
	}
	rc = lg_verify(argv[1], verify_progress, &count, &err);
	if (rc != 0) {
		cli_errorf("log verify: %s", sl_err_msg(&err, rc));
		return CLI_EXIT_RUNTIME;
	}
	printf("ok: %d files verified\n", count);
	return CLI_EXIT_OK;
}
