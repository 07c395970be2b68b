/*
 * cli/cli.h: the subcommands of the `sluice` command.  Each takes the
 * arguments after "sluice" (argv[0] is the subcommand's name) and returns
 * the process exit status: 0 success, 1 a looked-up thing is absent, 2 a
 * usage or configuration error, 3 a runtime failure (DESIGN.md §4).
 */
#ifndef CLI_H
#define CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_ABSENT 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_RUNTIME 3

int cli_broker(int argc, char **argv);
int cli_topics(int argc, char **argv);
int cli_capture(int argc, char **argv);
int cli_log_dump(int argc, char **argv);	/* argv[0] = "dump" */
int cli_log_verify(int argc, char **argv);	/* argv[0] = "verify" */

int cli_up(int argc, char **argv);
int cli_materialize(int argc, char **argv);
int cli_view(int argc, char **argv);
int cli_search(int argc, char **argv);
int cli_status(int argc, char **argv);

struct sl_config;
struct sl_err;
/*
 * Reject sections no component owns ([broker], [source "NAME"],
 * [view "NAME"] are known); SL_ECONFIG naming file and line.
 */
int cli_config_check_sections(const struct sl_config *cfg, struct sl_err *err);

/* Print "sluice: <what>: <why>" to stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* CLI_H */
