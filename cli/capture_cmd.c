/*
 * cli/capture_cmd.c: `sluice capture -c FILE [--source NAME]`.
 *
 * Loads the configuration, picks the source (the only one when --source is
 * not given), and runs it until SIGTERM or SIGINT.  The work is in
 * capture/; this file only parses arguments, maps errors to exit statuses
 * and logs the one final error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture/cap.h"
#include "cli/cli.h"
#include "common/sl.h"

static volatile sig_atomic_t capture_stop;

static void
capture_on_signal(int sig)
{
	(void)sig;
	capture_stop = 1;
}

static int
capture_usage(void)
{
	cli_errorf("capture: usage: sluice capture -c FILE [--source NAME]");
	return CLI_EXIT_USAGE;
}

int
cli_capture(int argc, char **argv)
{
	const char *path = NULL, *name = NULL, *type, *bootstrap = NULL;
	const struct sl_conf_section *sec = NULL, *brk;
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	struct sigaction sa;
	size_t i, n_sources = 0;
	int rc, status = CLI_EXIT_OK;

	for (i = 1; i < (size_t)argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < (size_t)argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--source") == 0 && i + 1 < (size_t)argc)
			name = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs("usage: sluice capture -c FILE [--source NAME]\n"
			    "\n"
			    "Streams every committed row change of a [source \"NAME\"] into Kafka\n"
			    "topics (one per table, keyed by primary key), exactly once, until\n"
			    "SIGTERM or SIGINT.\n"
			    "  type = postgres   logical replication through pgoutput, or through\n"
			    "                    sluice's own plugin with plugin = pg_sluice\n"
			    "                    (docs/capture-postgres.md, docs/pg_sluice.md)\n"
			    "  type = mysql      MySQL/MariaDB row binlogs (docs/capture-mysql.md)\n"
			    "\n"
			    "  -c, --config FILE  the configuration (keys: docs/config.md)\n"
			    "  --source NAME      which source, when FILE has more than one\n"
			    "\n"
			    "Exit status: 0 stopped cleanly, 2 bad usage or configuration,\n"
			    "3 failed while running (the last log line says why).\n", stdout);
			return CLI_EXIT_OK;
		} else
			return capture_usage();
	}
	if (path == NULL)
		return capture_usage();
	if ((rc = sl_config_load(path, &cfg, &err)) != 0) {
		cli_errorf("capture: %s", sl_err_msg(&err, rc));
		return rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
	if ((rc = cli_config_check_sections(cfg, &err)) != 0) {
		cli_errorf("capture: %s", sl_err_msg(&err, rc));
		sl_config_free(cfg);
		return CLI_EXIT_USAGE;
	}
	for (i = 0; i < cfg->n_sections; i++) {
		const struct sl_conf_section *s = &cfg->sections[i];

		if (strcmp(s->type, "source") != 0)
			continue;
		n_sources++;
		if (name == NULL ? sec == NULL : (s->name && strcmp(s->name, name) == 0))
			sec = s;
	}
	if (sec == NULL) {
		if (name)
			cli_errorf("capture: %s has no [source \"%s\"]", path, name);
		else
			cli_errorf("capture: %s has no [source \"NAME\"] section", path);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (name == NULL && n_sources > 1) {
		cli_errorf("capture: %s has %zu sources: choose one with --source NAME", path,
		    n_sources);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	type = sl_conf_get(sec, "type");
	if (type == NULL || (strcmp(type, "postgres") != 0 && strcmp(type, "mysql") != 0)) {
		cli_errorf("capture: %s:%d: [source \"%s\"] type = %s is not supported (postgres "
		    "or mysql)", path, sec->line, sec->name ? sec->name : "",
		    type ? type : "(unset)");
		status = CLI_EXIT_USAGE;
		goto out;
	}
	brk = sl_config_section(cfg, "broker", NULL);
	if (brk)
		bootstrap = sl_conf_get(brk, "listen");
	if (bootstrap == NULL && brk)
		bootstrap = "127.0.0.1:9092";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = capture_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(type, "mysql") == 0)
		rc = cap_my_run(cfg, sec, bootstrap, &capture_stop, &err);
	else
		rc = cap_pg_run(cfg, sec, bootstrap, &capture_stop, &err);
	if (rc != 0) {
		cli_errorf("capture: %s", sl_err_msg(&err, rc));
		status = rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
out:
	sl_config_free(cfg);
	return status;
}
