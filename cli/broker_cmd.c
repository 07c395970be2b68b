/*
 * cli/broker_cmd.c: `sluice broker [-c FILE] [--data-dir DIR]
 * [--listen HOST:PORT] [--http HOST:PORT]`.
 *
 * Reads the [broker] section of FILE (if given), lets the options override
 * it, and runs the broker until SIGTERM or SIGINT.  Exit status: 0 after a
 * clean shutdown, 2 for usage or configuration errors, 3 when the broker
 * cannot start or fails while running.
 */
#include <stdio.h>
#include <string.h>

#include "broker/brk.h"
#include "cli/cli.h"
#include "common/sl.h"

static int
usage(void)
{
	fprintf(stderr, "usage: sluice broker [-c FILE] [--data-dir DIR] "
	    "[--listen HOST:PORT] [--http HOST:PORT]\n");
	return CLI_EXIT_USAGE;
}

int
cli_broker(int argc, char **argv)
{
	const char *file = NULL, *data_dir = NULL, *listen = NULL, *http = NULL;
	struct sl_config *cfg = NULL;
	struct brk_broker *b = NULL;
	struct brk_config c;
	struct sl_err err = { 0 };
	int i, rc, status = CLI_EXIT_OK;

	for (i = 1; i < argc; i++) {
		const char **dst = NULL;
		const char *a = argv[i];

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
			dst = &file;
		else if (strcmp(a, "--data-dir") == 0)
			dst = &data_dir;
		else if (strcmp(a, "--listen") == 0)
			dst = &listen;
		else if (strcmp(a, "--http") == 0)
			dst = &http;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage();
			return CLI_EXIT_OK;
		} else {
			cli_errorf("broker: unknown argument %s", a);
			return usage();
		}
		if (i + 1 >= argc) {
			cli_errorf("broker: %s needs a value", a);
			return usage();
		}
		*dst = argv[++i];
	}
	sl_log_set_component("broker");
	brk_config_default(&c);
	if (file != NULL) {
		if ((rc = sl_config_load(file, &cfg, &err)) != 0 ||
		    (rc = cli_config_check_sections(cfg, &err)) != 0) {
			cli_errorf("broker: %s", sl_err_msg(&err, rc));
			status = CLI_EXIT_USAGE;
			goto out;
		}
		if ((rc = brk_config_apply(&c, cfg, &err)) != 0) {
			cli_errorf("broker: %s", sl_err_msg(&err, rc));
			status = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (data_dir != NULL)
		brk_config_set(&c.data_dir, data_dir);
	if (listen != NULL)
		brk_config_set(&c.listen, listen);
	if (http != NULL)
		brk_config_set(&c.http, http[0] != '\0' ? http : NULL);
	if ((rc = brk_open(&c, &b, &err)) != 0) {
		cli_errorf("broker: %s", sl_err_msg(&err, rc));
		status = rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		goto out;
	}
	if ((rc = brk_run(b)) != 0) {
		cli_errorf("broker: event loop: %s", sl_strerror(rc));
		status = CLI_EXIT_RUNTIME;
	}
	if ((rc = brk_close(b)) != 0) {
		cli_errorf("broker: shutdown: %s", sl_strerror(rc));
		status = CLI_EXIT_RUNTIME;
	} else {
		sl_info("broker: stopped cleanly");
	}
out:
	brk_config_free(&c);
	sl_config_free(cfg);
	return status;
}
