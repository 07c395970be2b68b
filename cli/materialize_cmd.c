/*
 * cli/materialize_cmd.c: `sluice materialize -c FILE [--view NAME] [--rebuild]`.
 *
 * Loads the configuration and runs the chosen [view] section (every view,
 * each in its own thread, when --view is not given) until SIGTERM or
 * SIGINT; with --rebuild, rebuilds the view(s) from offset 0, swaps them
 * in, and exits.  The work is in materialize/; this file parses
 * arguments, maps errors to exit statuses and logs the one final error.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sl.h"
#include "materialize/mat.h"

static volatile sig_atomic_t materialize_stop;

struct mat_job {
	struct mat_view_conf *conf;
	int rebuild;
	int rc;
	struct sl_err err;
	pthread_t thread;
};

static void
materialize_on_signal(int sig)
{
	(void)sig;
	materialize_stop = 1;
}

static int
materialize_usage(void)
{
	cli_errorf("materialize: usage: sluice materialize -c FILE [--view NAME] [--rebuild]");
	return CLI_EXIT_USAGE;
}

static void *
materialize_job(void *arg)
{
	struct mat_job *j = arg;

	j->rc = mat_run(j->conf, j->rebuild, &materialize_stop, &j->err);
	if (j->rc != 0)
		materialize_stop = 1;	/* one view failing stops the process */
	return NULL;
}

int
cli_materialize(int argc, char **argv)
{
	const char *path = NULL, *name = NULL, *bootstrap = NULL;
	const struct sl_conf_section *brk;
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	struct mat_job *jobs = NULL;
	struct sigaction sa;
	size_t i, n_jobs = 0;
	int rc, rebuild = 0, status = CLI_EXIT_OK;

	for (i = 1; i < (size_t)argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < (size_t)argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--view") == 0 && i + 1 < (size_t)argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--rebuild") == 0)
			rebuild = 1;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: sluice materialize -c FILE [--view NAME] [--rebuild]\n");
			return CLI_EXIT_OK;
		} else
			return materialize_usage();
	}
	if (path == NULL)
		return materialize_usage();
	if ((rc = sl_config_load(path, &cfg, &err)) != 0 ||
	    (rc = cli_config_check_sections(cfg, &err)) != 0) {
		cli_errorf("materialize: %s", sl_err_msg(&err, rc));
		status = rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		goto out;
	}
	brk = sl_config_section(cfg, "broker", NULL);
	if (brk) {
		bootstrap = sl_conf_get(brk, "listen");
		if (bootstrap == NULL)
			bootstrap = "127.0.0.1:9092";
	}
	jobs = sl_calloc(cfg->n_sections + 1, sizeof(*jobs));
	for (i = 0; i < cfg->n_sections; i++) {
		const struct sl_conf_section *s = &cfg->sections[i];

		if (strcmp(s->type, "view") != 0 || (name && strcmp(s->name, name) != 0))
			continue;
		if ((rc = mat_conf_load(cfg, s, bootstrap, &jobs[n_jobs].conf, &err)) != 0) {
			cli_errorf("materialize: %s", sl_err_msg(&err, rc));
			status = CLI_EXIT_USAGE;
			goto out;
		}
		jobs[n_jobs++].rebuild = rebuild;
	}
	if (n_jobs == 0) {
		if (name)
			cli_errorf("materialize: %s has no [view \"%s\"]", path, name);
		else
			cli_errorf("materialize: %s has no [view \"NAME\"] section", path);
		status = CLI_EXIT_USAGE;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = materialize_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (n_jobs == 1) {
		materialize_job(&jobs[0]);
	} else {
		for (i = 0; i < n_jobs; i++)
			if (pthread_create(&jobs[i].thread, NULL, materialize_job, &jobs[i]) != 0) {
				cli_errorf("materialize: cannot start a thread");
				materialize_stop = 1;
				n_jobs = i;
				status = CLI_EXIT_RUNTIME;
				break;
			}
		for (i = 0; i < n_jobs; i++)
			pthread_join(jobs[i].thread, NULL);
	}
	for (i = 0; i < n_jobs; i++)
		if (jobs[i].rc != 0) {
			cli_errorf("materialize: %s", sl_err_msg(&jobs[i].err, jobs[i].rc));
			status = jobs[i].rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		}
out:
	if (jobs)
		for (i = 0; i < cfg->n_sections; i++)
			mat_conf_free(jobs[i].conf);
	free(jobs);
	sl_config_free(cfg);
	return status;
}
