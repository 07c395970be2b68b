/*
 * cli/search_cmd.c: `sluice search -c FILE VIEW QUERY [--limit N]
 * [--table SCHEMA.NAME]`: full-text search of a search view (type =
 * sqlite-fts) through the search API of materialize/view.h.
 *
 * One JSON line per match, best first:
 *   {"table":"public.docs","rank":-1.52,"snippet":"... [word] ...",
 *    "row":{...as sluice view prints it}}
 * Exit status 1 when nothing matches, 2 for a usage error or a query FTS5
 * refuses, 3 when the view cannot be read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sl.h"
#include "materialize/view.h"

#define SEARCH_USAGE "usage: sluice search -c FILE VIEW QUERY [--limit N] " \
	"[--table SCHEMA.NAME]"
#define SEARCH_LIMIT_DEFAULT 20

struct search_print {
	size_t rows;
	struct sl_err *err;
	struct sl_buf line;
};

static void
json_str(struct sl_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	sl_buf_add_u8(b, '"');
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			sl_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			sl_buf_printf(b, "\\u%04x", *p);
		else
			sl_buf_add_u8(b, *p);
	}
	sl_buf_add_u8(b, '"');
}

static int
search_print_row(const struct mat_row *row, double rank, const char *snippet, void *arg)
{
	struct search_print *p = arg;
	int rc;

	sl_buf_reset(&p->line);
	sl_buf_printf(&p->line, "{\"table\":");
	json_str(&p->line, row->table);
	/* bm25 is finite; keep the line valid JSON whatever SQLite says */
	sl_buf_printf(&p->line, ",\"rank\":%.6g,\"snippet\":", isfinite(rank) ? rank : 0.0);
	json_str(&p->line, snippet ? snippet : "");
	sl_buf_printf(&p->line, ",\"row\":");
	if ((rc = mat_row_json(row, &p->line, p->err)) != 0)
		return rc;
	sl_buf_printf(&p->line, "}\n");
	if (fwrite(p->line.p, 1, p->line.len, stdout) != p->line.len)
		return -1;
	p->rows++;
	return 0;
}

static int
search_usage(void)
{
	cli_errorf("search: %s", SEARCH_USAGE);
	return CLI_EXIT_USAGE;
}

int
cli_search(int argc, char **argv)
{
	const char *path = NULL, *table = NULL, *vpath, *type, *pos[2];
	const struct sl_conf_section *sec;
	struct sl_config *cfg = NULL;
	struct mat_search *s = NULL;
	struct search_print pr = { 0 };
	struct sl_err err = { 0 };
	int64_t limit = SEARCH_LIMIT_DEFAULT;
	size_t n_pos = 0;
	int i, rc = 0, status = CLI_EXIT_OK;

	pr.err = &err;
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--table") == 0 && i + 1 < argc)
			table = argv[++i];
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			if (sl_parse_int64(argv[++i], &limit) != 0 || limit < 0)
				return search_usage();
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("%s\n", SEARCH_USAGE);
			return CLI_EXIT_OK;
		} else if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (n_pos == 2)
					return search_usage();
				pos[n_pos++] = argv[i];
			}
		} else if (n_pos < 2)
			pos[n_pos++] = argv[i];
		else
			return search_usage();	/* a query of several words goes in quotes */
	}
	if (path == NULL || n_pos != 2)
		return search_usage();
	if ((rc = sl_config_load(path, &cfg, &err)) != 0) {
		cli_errorf("search: %s", sl_err_msg(&err, rc));
		status = rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		goto out;
	}
	sec = sl_config_section(cfg, "view", pos[0]);
	if (sec == NULL || (vpath = sl_conf_get(sec, "path")) == NULL) {
		cli_errorf("search: %s has no [view \"%s\"] with a path", path, pos[0]);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	type = sl_conf_get(sec, "type");
	if (type == NULL || strcmp(type, "sqlite-fts") != 0) {
		cli_errorf("search: view %s is of type %s, not sqlite-fts: read it with sluice "
		    "view", pos[0], type ? type : "lmdb");
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if ((rc = mat_search_open(vpath, &s, &err)) == 0)
		rc = mat_search_query(s, pos[1], table, (size_t)limit, search_print_row, &pr,
		    &err);
	if (rc != 0) {
		cli_errorf("search: %s", sl_err_msg(&err, rc));
		status = rc == SL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	} else if (pr.rows == 0)
		status = CLI_EXIT_ABSENT;
	fflush(stdout);
out:
	mat_search_close(s);
	sl_config_free(cfg);
	sl_buf_free(&pr.line);
	return status;
}
