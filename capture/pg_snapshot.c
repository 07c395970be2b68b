/*
 * capture/pg_snapshot.c: the initial snapshot of the captured tables.
 *
 * 'snapshot_workers' SQL connections import the snapshot exported when the
 * slot was created (REPEATABLE READ + SET TRANSACTION SNAPSHOT), so every
 * table is read as of the slot's consistent point, and copy the tables with
 * COPY ... TO STDOUT, one table per connection at a time.  The connections
 * run concurrently on the server; their rows are read here, in one thread,
 * with asynchronous libpq, parsed with sch_pg_parse and produced as op 'r'
 * events.  Progress (rows, rows/s, ETA per table) goes to stderr when it is
 * a terminal.  It does not create or drop slots: pg_source.c does.
 *
 * COPY TEXT ROW (one CopyData message per row)
 *   fields separated by TAB, ended by LF; "\N" is NULL; backslash escapes
 *   \b \f \n \r \t \v \\, \ooo (octal), \xhh (hex), and \c for any other c.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "capture/cap_pg.h"

struct snap_table {
	const struct cap_pg_table *t;
	struct cap_rel *rel;
	char *copy_sql;
	double estimate;		/* reltuples */
	uint64_t rows;
	int64_t start_ns;
	int done;
};

struct snap_progress {
	struct snap_table *tabs;
	size_t n;
};

struct snap_worker {
	PGconn *conn;
	struct snap_table *cur;		/* NULL when idle */
};

static int
snap_exec(PGconn *c, const char *sql, struct sl_err *err)
{
	PGresult *res = PQexec(c, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = sl_errf(err, SL_EPROTO, "postgres: snapshot: %s: %s", sql,
		    PQresultErrorMessage(res));
	PQclear(res);
	return rc;
}

/* Describe 'st->t' as pgoutput would, install it, and build its COPY. */
static int
snap_describe(struct cap_pg *s, struct snap_table *st, struct sl_err *err)
{
#define SNAP_COLS_SQL(pubcols) \
	    "SELECT a.attname, a.atttypid::text, a.atttypmod::text, " \
	    " (c.relreplident = 'f' OR a.attnum = ANY(coalesce((SELECT i.indkey::int2[] " \
	    "   FROM pg_index i WHERE i.indrelid = c.oid AND ((c.relreplident = 'd' AND " \
	    "   i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)) LIMIT 1), " \
	    "   '{}')))::text, c.relreplident::text, c.reltuples::text " \
	    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid " \
	    "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped " \
	    "AND a.attgenerated = '' " pubcols "ORDER BY a.attnum"
	/*
	 * PostgreSQL 15+: a publication's column list (FOR TABLE t (a, b))
	 * leaves columns out of what pgoutput sends; the snapshot leaves out
	 * the same ones, or its rows would hold what the stream does not.
	 */
	static const char sql[] = SNAP_COLS_SQL("");
	static const char sql15[] = SNAP_COLS_SQL(
	    "AND a.attname = ANY(coalesce((SELECT pt.attnames FROM pg_publication_tables pt "
	    "  JOIN pg_namespace n ON n.nspname = pt.schemaname "
	    "  WHERE pt.pubname = $2 AND n.oid = c.relnamespace AND pt.tablename = c.relname), "
	    "  ARRAY[a.attname])) ");
#undef SNAP_COLS_SQL
	char oid[16];
	const char *params[2] = { oid, s->conf.publication };
	int pub15 = !s->conf.plugin_sluice && s->conf.publication != NULL &&
	    PQserverVersion(s->sql) >= 150000;
	struct cap_pgo_msg m;
	struct sl_buf cols = { 0 };
	PGresult *res;
	char *id;
	int i, n, rc;

	snprintf(oid, sizeof(oid), "%u", st->t->oid);
	res = PQexecParams(s->sql, pub15 ? sql15 : sql, pub15 ? 2 : 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = sl_errf(err, SL_EPROTO, "postgres: columns of %s.%s: %s", st->t->schema,
		    st->t->name, PQresultErrorMessage(res));
		PQclear(res);
		return rc;
	}
	n = PQntuples(res);
	memset(&m, 0, sizeof(m));
	m.type = CAP_PGO_RELATION;
	m.u.rel.relid = st->t->oid;
	m.u.rel.nspname = st->t->schema;
	m.u.rel.relname = st->t->name;
	m.u.rel.replident = n ? (uint8_t)PQgetvalue(res, 0, 4)[0] : 'd';
	m.u.rel.ncols = (uint16_t)n;
	m.u.rel.cols = sl_arena_alloc(&s->arena, (size_t)(n ? n : 1) * sizeof(*m.u.rel.cols));
	st->estimate = n ? strtod(PQgetvalue(res, 0, 5), NULL) : 0;
	for (i = 0; i < n; i++) {
		m.u.rel.cols[i].name = PQgetvalue(res, i, 0);
		m.u.rel.cols[i].type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
		m.u.rel.cols[i].typmod = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
		m.u.rel.cols[i].flags = strcmp(PQgetvalue(res, i, 3), "true") == 0;
	}
	rc = cap_pg_on_relation(s, &m, err);
	PQclear(res);
	if (rc == 0) {
		char *sc = PQescapeIdentifier(s->sql, st->t->schema, strlen(st->t->schema));
		char *nm = PQescapeIdentifier(s->sql, st->t->name, strlen(st->t->name));
		struct cap_rel *r = cap_pg_rel_find(s, st->t->oid);

		/* the columns the relation kept (exclude_columns), in its order */
		n = r ? (int)r->table.n_columns : 0;
		for (i = 0; i < n; i++) {
			const char *cn = r->table.columns[i].name;

			id = PQescapeIdentifier(s->sql, cn, strlen(cn));
			sl_buf_printf(&cols, "%s%s", i ? ", " : "", id);
			PQfreemem(id);
		}
		sl_buf_add_u8(&cols, 0);
		/*
		 * A partitioned table has no rows of its own to COPY (its
		 * partitions do), and COPY t () is a syntax error for a table
		 * without columns: both take a SELECT.
		 */
		if (st->t->partitioned || n == 0)
			st->copy_sql = sl_asprintf("COPY (SELECT %s FROM %s.%s) TO STDOUT",
			    n ? (const char *)cols.p : "", sc, nm);
		else
			st->copy_sql = sl_asprintf("COPY %s.%s (%s) TO STDOUT", sc, nm,
			    n ? (const char *)cols.p : "");
		PQfreemem(sc);
		PQfreemem(nm);
		st->rel = r;
	}
	sl_buf_free(&cols);
	return rc;
}

/* Unescape one COPY text field [p, e) into 'out' (reset first). */
static void
copy_unescape(const char *p, const char *e, struct sl_buf *out)
{
	sl_buf_reset(out);
	while (p < e) {
		char c = *p++;

		if (c != '\\' || p >= e) {
			sl_buf_add_u8(out, (uint8_t)c);
			continue;
		}
		c = *p++;
		switch (c) {
		case 'b': sl_buf_add_u8(out, '\b'); break;
		case 'f': sl_buf_add_u8(out, '\f'); break;
		case 'n': sl_buf_add_u8(out, '\n'); break;
		case 'r': sl_buf_add_u8(out, '\r'); break;
		case 't': sl_buf_add_u8(out, '\t'); break;
		case 'v': sl_buf_add_u8(out, '\v'); break;
		case 'x': {
			int v = 0, k = 0;

			while (k < 2 && p < e && sl_hex_digit(*p) >= 0)
				v = v * 16 + sl_hex_digit(*p++), k++;
			if (k == 0)
				sl_buf_add_u8(out, 'x');
			else
				sl_buf_add_u8(out, (uint8_t)v);
			break;
		}
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0', k = 1;

				while (k < 3 && p < e && *p >= '0' && *p <= '7')
					v = v * 8 + (*p++ - '0'), k++;
				sl_buf_add_u8(out, (uint8_t)v);
			} else {
				sl_buf_add_u8(out, (uint8_t)c);
			}
		}
	}
}

static int
snap_row(struct cap_pg *s, struct snap_table *st, const char *row, size_t len,
    struct sl_buf *field, struct sl_err *err)
{
	struct cap_rel *r = st->rel;
	struct sch_value *v;
	const char *p = row, *e = row + len;
	uint32_t i;
	int rc;

	if (len > 0 && e[-1] == '\n')
		e--;
	sl_arena_reset(&s->arena);
	v = sl_arena_alloc(&s->arena, (r->table.n_columns ? r->table.n_columns : 1) * sizeof(*v));
	for (i = 0; i < r->table.n_columns; i++) {
		const char *fe = memchr(p, '\t', (size_t)(e - p));

		if (fe == NULL)
			fe = e;
		if (fe - p == 2 && p[0] == '\\' && p[1] == 'N') {
			v[i] = sch_value_null();
		} else {
			copy_unescape(p, fe, field);
			if (r->is_enum[i])
				rc = sch_pg_parse_enum((const char *)field->p, field->len, &s->arena,
				    &v[i]);
			else
				rc = sch_pg_parse(r->parse_oid[i], r->table.columns[i].typmod,
				    field->len ? (const char *)field->p : "", field->len, &s->arena,
				    &v[i], err);
			if (rc != 0)
				return sl_errf(err, rc, "snapshot of %s, row %" PRIu64 ", column %s: %s",
				    r->collection, st->rows + 1, r->table.columns[i].name,
				    err ? err->msg : "");
		}
		p = fe < e ? fe + 1 : e;
	}
	st->rows++;
	s->snap_rows++;
	return cap_pg_emit_row(s, NULL, r, SCH_OP_READ, NULL, v, s->snap_lsn, 1, err);
}

static void
snap_progress(const struct snap_table *tabs, size_t n, int final)
{
	int64_t now = sl_mono_ns();
	size_t i;

	fputs("\r\033[K", stderr);
	for (i = 0; i < n; i++) {
		const struct snap_table *st = &tabs[i];
		double secs, rate, eta;

		if (st->start_ns == 0 || (st->done && !final))
			continue;
		secs = (double)(now - st->start_ns) / 1e9;
		rate = secs > 0 ? (double)st->rows / secs : 0;
		eta = rate > 0 && st->estimate > (double)st->rows ?
		    (st->estimate - (double)st->rows) / rate : 0;
		fprintf(stderr, "%s %" PRIu64 " rows %.0f/s%s", st->rel->collection, st->rows,
		    rate, st->done ? " done" : "");
		if (!st->done)
			fprintf(stderr, " ETA %.0fs", eta);
		fputs("  ", stderr);
	}
	if (final)
		fputc('\n', stderr);
}

void
cap_pg_snapshot_metrics(const struct cap_pg *s, struct sl_buf *b)
{
	const struct snap_progress *pr = s->snap;
	int64_t now = sl_mono_ns();
	size_t i;

	if (pr == NULL)
		return;
	sl_buf_printf(b, "# TYPE sluice_capture_snapshot_table_rows gauge\n");
	for (i = 0; i < pr->n; i++)
		if (pr->tabs[i].rel)
			sl_buf_printf(b, "sluice_capture_snapshot_table_rows{source=\"%s\","
			    "table=\"%s\"} %" PRIu64 "\n", s->conf.name,
			    pr->tabs[i].rel->collection, pr->tabs[i].rows);
	sl_buf_printf(b, "# TYPE sluice_capture_snapshot_table_rows_per_second gauge\n");
	for (i = 0; i < pr->n; i++) {
		const struct snap_table *st = &pr->tabs[i];
		double secs = st->start_ns ? (double)(now - st->start_ns) / 1e9 : 0;

		if (st->rel && st->start_ns && !st->done)
			sl_buf_printf(b, "sluice_capture_snapshot_table_rows_per_second{source="
			    "\"%s\",table=\"%s\"} %.0f\n", s->conf.name, st->rel->collection,
			    secs > 0 ? (double)st->rows / secs : 0);
	}
	sl_buf_printf(b, "# TYPE sluice_capture_snapshot_table_eta_seconds gauge\n");
	for (i = 0; i < pr->n; i++) {
		const struct snap_table *st = &pr->tabs[i];
		double secs = st->start_ns ? (double)(now - st->start_ns) / 1e9 : 0;
		double rate = secs > 0 ? (double)st->rows / secs : 0;

		if (st->rel && st->start_ns && !st->done)
			sl_buf_printf(b, "sluice_capture_snapshot_table_eta_seconds{source=\"%s\","
			    "table=\"%s\"} %.0f\n", s->conf.name, st->rel->collection,
			    rate > 0 && st->estimate > (double)st->rows ?
			    (st->estimate - (double)st->rows) / rate : 0);
	}
}

int
cap_pg_snapshot(struct cap_pg *s, const char *snapshot_name, const struct cap_pg_table *tables,
    size_t n, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct snap_table *tabs = sl_calloc(n ? n : 1, sizeof(*tabs));
	struct snap_progress progress = { tabs, n };
	struct snap_worker *w = NULL;
	struct sl_buf field = { 0 };
	size_t i, next = 0, n_workers, done = 0;
	int tty = isatty(2), rc = 0;
	int64_t last_progress = 0;
	uint64_t total = 0;

	s->snap = &progress;
	for (i = 0; i < n; i++) {
		struct cap_topic *tp;
		int32_t p;
		int used = 0;

		tabs[i].t = &tables[i];
		if ((rc = snap_describe(s, &tabs[i], err)) != 0)
			goto out;
		/*
		 * A topic that already holds rows (an interrupted snapshot, a
		 * slot dropped after it was lost) may hold rows deleted since:
		 * a truncate first, so a replay keeps only this snapshot's.
		 */
		if (tabs[i].rel == NULL || (tp = tabs[i].rel->topic) == NULL) {
			rc = sl_errf(err, SL_ESTATE, "snapshot of %s.%s: the table has no topic "
			    "('tables' = %s)", tables[i].schema, tables[i].name,
			    s->conf.tables ? s->conf.tables : "");
			goto out;
		}
		for (p = 0; p < tp->partitions; p++)
			used |= tp->hi[p] > 0;
		if (used || s->snap_adhoc) {
			if (!s->snap_adhoc)
				sl_info("topic %s is not empty: a truncate precedes the snapshot "
				    "rows", tp->name);
			if ((rc = cap_pg_emit_truncate(s, NULL, tabs[i].rel, s->snap_lsn, err)) != 0)
				goto out;
		}
	}
	n_workers = (size_t)s->conf.snapshot_workers < n ? (size_t)s->conf.snapshot_workers : n;
	w = sl_calloc(n_workers ? n_workers : 1, sizeof(*w));
	for (i = 0; i < n_workers; i++) {
		char *set;

		if ((rc = cap_pg_sql_open(s->conf.dsn, (struct pg_conn **)&w[i].conn, err)) != 0 ||
		    (rc = snap_exec(w[i].conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		    err)) != 0)
			goto out;
		set = sl_asprintf("SET TRANSACTION SNAPSHOT '%s'", snapshot_name);
		rc = snap_exec(w[i].conn, set, err);
		free(set);
		if (rc != 0)
			goto out;
	}
	while (done < n) {
		int progressed = 0;

		if (*stop) {
			rc = sl_errf(err, SL_ESTATE, "snapshot interrupted; it restarts from the "
			    "beginning on the next start");
			goto out;
		}
		for (i = 0; i < n_workers; i++) {
			struct snap_worker *wk = &w[i];
			char *buf;
			int len, k;

			if (wk->cur == NULL) {
				PGresult *res;

				if (next >= n)
					continue;
				wk->cur = &tabs[next++];
				wk->cur->start_ns = sl_mono_ns();
				if (!PQsendQuery(wk->conn, wk->cur->copy_sql)) {
					rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s",
					    wk->cur->copy_sql, PQerrorMessage(wk->conn));
					goto out;
				}
				res = PQgetResult(wk->conn);
				if (PQresultStatus(res) != PGRES_COPY_OUT) {
					rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s",
					    wk->cur->copy_sql, PQresultErrorMessage(res));
					PQclear(res);
					goto out;
				}
				PQclear(res);
			}
			for (k = 0; k < 1000; k++) {
				len = PQgetCopyData(wk->conn, &buf, 1);
				if (len > 0) {
					rc = snap_row(s, wk->cur, buf, (size_t)len, &field, err);
					PQfreemem(buf);
					if (rc != 0)
						goto out;
					progressed = 1;
					total++;
					continue;
				}
				if (len == -1) {
					PGresult *res;

					while ((res = PQgetResult(wk->conn)) != NULL) {
						if (PQresultStatus(res) != PGRES_COMMAND_OK) {
							rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s",
							    wk->cur->copy_sql,
							    PQresultErrorMessage(res));
							PQclear(res);
							goto out;
						}
						PQclear(res);
					}
					wk->cur->done = 1;
					sl_info("snapshot of %s: %" PRIu64 " rows", wk->cur->rel->collection,
					    wk->cur->rows);
					wk->cur = NULL;
					done++;
					progressed = 1;
				} else if (len == -2) {
					rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s",
					    wk->cur->copy_sql, PQerrorMessage(wk->conn));
					goto out;
				}
				break;
			}
		}
		cap_producer_poll(s->prod, 0);
		cap_http_serve(s->http, cap_pg_http_render, s);
		/* streaming waits meanwhile: keep wal_sender_timeout away */
		if (s->snap_adhoc && (rc = cap_pg_status_due(s, err)) != 0)
			goto out;
		if (s->fatal) {
			rc = sl_errf(err, s->fatal, "%s", s->fatal_msg);
			goto out;
		}
		if (tty && sl_mono_ns() - last_progress > 1000000000) {
			snap_progress(tabs, n, 0);
			last_progress = sl_mono_ns();
		}
		if (!progressed) {
			struct pollfd pfd[64];
			size_t np = 0;

			for (i = 0; i < n_workers && np < SL_ARRAY_LEN(pfd); i++)
				if (w[i].cur) {
					pfd[np].fd = PQsocket(w[i].conn);
					pfd[np].events = POLLIN;
					pfd[np].revents = 0;
					np++;
				}
			if (np && poll(pfd, np, 100) < 0 && errno != EINTR) {
				rc = sl_errf(err, -errno, "poll: %s", strerror(errno));
				goto out;
			}
			for (i = 0; i < n_workers; i++)
				if (w[i].cur && !PQconsumeInput(w[i].conn)) {
					rc = sl_errf(err, SL_EPROTO, "postgres: snapshot: %s",
					    PQerrorMessage(w[i].conn));
					goto out;
				}
		}
	}
	if (tty)
		snap_progress(tabs, n, 1);
	sl_info("snapshot done: %" PRIu64 " rows from %zu tables", total, n);
out:
	s->snap = NULL;
	for (i = 0; w && i < n_workers; i++)
		cap_pg_sql_close((struct pg_conn *)w[i].conn);
	for (i = 0; i < n; i++)
		free(tabs[i].copy_sql);
	free(tabs);
	free(w);
	sl_buf_free(&field);
	return rc;
}
