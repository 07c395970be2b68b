/*
 * cli/view_cmd.c: `sluice view -c FILE get VIEW KEY... | scan VIEW
 * [--prefix KEY] [--limit N] | lookup VIEW INDEX VALUE...`, with
 * `--table SCHEMA.NAME` when the view holds several tables.
 *
 * Rows are printed as JSON lines, one object per row, through the read
 * API of materialize/view.h.  Exit status 1 when `get` finds no row or
 * `lookup` no match; `scan` of an empty range exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sl.h"
#include "materialize/view.h"

#define VIEW_USAGE "usage: sluice view -c FILE [--table SCHEMA.NAME] get VIEW KEY... | " \
	"scan VIEW [--prefix KEY] [--limit N] | lookup VIEW INDEX VALUE..."

struct view_print {
	size_t rows;
	int rc;
	struct sl_err *err;
	struct sl_buf line;
};

static int
view_print_row(const struct mat_row *row, void *arg)
{
	struct view_print *p = arg;
	int rc;

	sl_buf_reset(&p->line);
	if ((rc = mat_row_json(row, &p->line, p->err)) != 0)
		return rc;
	sl_buf_add_u8(&p->line, '\n');
	if (fwrite(p->line.p, 1, p->line.len, stdout) != p->line.len)
		return -1;
	p->rows++;
	return 0;
}

static int
view_usage(void)
{
	cli_errorf("view: %s", VIEW_USAGE);
	return CLI_EXIT_USAGE;
}

int
cli_view(int argc, char **argv)
{
	const char *path = NULL, *table = NULL, *prefix = NULL, *vpath;
	const struct sl_conf_section *sec;
	const char **pos = sl_calloc((size_t)argc + 1, sizeof(*pos));
	struct sl_config *cfg = NULL;
	struct mat_view *v = NULL;
	struct mat_view_txn *t = NULL;
	struct sl_buf tname = { 0 }, key = { 0 };
	struct view_print pr = { 0 };
	struct sl_err err = { 0 };
	struct mat_row row;
	int64_t limit = 0;
	size_t i, n_pos = 0;
	int rc = 0, status = CLI_EXIT_OK;

	pr.err = &err;
	for (i = 1; i < (size_t)argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < (size_t)argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--table") == 0 && i + 1 < (size_t)argc)
			table = argv[++i];
		else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < (size_t)argc)
			prefix = argv[++i];
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < (size_t)argc) {
			if (sl_parse_int64(argv[++i], &limit) != 0 || limit < 0) {
				status = view_usage();
				goto out;
			}
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("%s\n", VIEW_USAGE);
			goto out;
		} else if (strcmp(argv[i], "--") == 0) {
			while (++i < (size_t)argc)
				pos[n_pos++] = argv[i];
		} else
			pos[n_pos++] = argv[i];
	}
	if (path == NULL || n_pos < 2 ||
	    (strcmp(pos[0], "get") == 0 ? n_pos < 3 :
	    strcmp(pos[0], "scan") == 0 ? n_pos != 2 :
	    strcmp(pos[0], "lookup") == 0 ? n_pos < 4 : 1)) {
		status = view_usage();
		goto out;
	}
	if ((rc = sl_config_load(path, &cfg, &err)) != 0) {
		cli_errorf("view: %s", sl_err_msg(&err, rc));
		status = rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		goto out;
	}
	sec = sl_config_section(cfg, "view", pos[1]);
	if (sec != NULL && sl_conf_get(sec, "type") &&
	    strcmp(sl_conf_get(sec, "type"), "redis") == 0) {
		cli_errorf("view: %s is a cache view (type = redis): read it with any Redis "
		    "client, e.g. redis-cli HGETALL '<key_prefix><schema>.<table>:<key>' "
		    "(docs/views.md)", pos[1]);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (sec == NULL || (vpath = sl_conf_get(sec, "path")) == NULL) {
		cli_errorf("view: %s has no [view \"%s\"] with a path", path, pos[1]);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if (sl_conf_get(sec, "type") && strcmp(sl_conf_get(sec, "type"), "sqlite-fts") == 0) {
		cli_errorf("view: %s is a search view (type = sqlite-fts): query it with "
		    "sluice search -c %s %s QUERY", pos[1], path, pos[1]);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	if ((rc = mat_view_open(vpath, &v, &err)) != 0 ||
	    (rc = mat_view_begin(v, &t, &err)) != 0 ||
	    (rc = mat_view_pick_table(t, table, &tname, &err)) != 0)
		goto fail;
	if (strcmp(pos[0], "get") == 0) {
		if ((rc = mat_view_key_from_text(t, (const char *)tname.p, NULL, pos + 2, n_pos - 2,
		    &key, &err)) != 0)
			goto fail;
		if ((rc = mat_view_get(t, (const char *)tname.p, sl_buf_slice(&key), &row,
		    &err)) != 0)
			goto fail;
		rc = view_print_row(&row, &pr);
	} else if (strcmp(pos[0], "scan") == 0) {
		if (prefix && (rc = mat_view_key_from_text(t, (const char *)tname.p, NULL,
		    &prefix, 1, &key, &err)) != 0)
			goto fail;
		rc = mat_view_scan(t, (const char *)tname.p, sl_buf_slice(&key), (size_t)limit,
		    view_print_row, &pr, &err);
	} else {
		if ((rc = mat_view_key_from_text(t, (const char *)tname.p, pos[2], pos + 3,
		    n_pos - 3, &key, &err)) != 0)
			goto fail;
		rc = mat_view_lookup(t, (const char *)tname.p, pos[2], sl_buf_slice(&key),
		    (size_t)limit, view_print_row, &pr, &err);
		if (rc == 0 && pr.rows == 0)
			status = CLI_EXIT_ABSENT;
	}
fail:
	if (rc != 0) {
		if (rc == SL_ENOTFOUND) {
			if (strcmp(pos[0], "get") != 0 || err.msg[0] == '\0' ||
			    strstr(err.msg, "no row") == NULL)
				cli_errorf("view: %s", sl_err_msg(&err, rc));
			status = CLI_EXIT_ABSENT;
		} else {
			cli_errorf("view: %s", sl_err_msg(&err, rc));
			status = rc == SL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
		}
	}
	fflush(stdout);
out:
	mat_view_end(t);
	mat_view_close(v);
	sl_config_free(cfg);
	sl_buf_free(&tname);
	sl_buf_free(&key);
	sl_buf_free(&pr.line);
	free(pos);
	return status;
}
