/*
 * capture/pg_source.c: one [source "NAME"] with type = postgres, from its
 * configuration to a running stream: parse the section (defaults in
 * docs/config.md), resolve the tables, check privileges, create the
 * publication and the topics, create the slot (taking the initial
 * snapshot) when missing, then START_REPLICATION and hand over to
 * pg_capture.c.  The decoding and producing themselves live there.
 *
 * SLOT LIFE CYCLE (the transitions and who makes them)
 *   absent ──pg_source_snapshot──► "<slot>_snap" (exported snapshot, rows
 *   copied) ──pg_copy_logical_replication_slot──► "<slot>" ──stream──►
 *   A "<slot>_snap" found at start is an interrupted snapshot: dropped and
 *   the snapshot starts over (docs/capture-postgres.md).
 *   With snapshot = never, "<slot>" is created directly.
 *
 * INVARIANTS
 *  (1) "<slot>" exists only once every snapshot row was acknowledged by the
 *      broker: streaming never starts from a half-copied snapshot.
 *  (2) A slot whose wal_status is "lost" stops capture with an error; its
 *      missing changes are never silently skipped.
 *  (3) The start waits for a killed predecessor's last produce requests to
 *      land (cap_producer_settle) unless "<spool_dir>/clean-stop.<slot>"
 *      says the predecessor stopped with every message acknowledged and
 *      the slot has not moved since.  The file is removed, durably, before
 *      anything is produced, so a crash of this run never leaves it behind.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "capture/cap.h"
#include "capture/cap_pg.h"

const char *const cap_pg_conf_keys[] = {
	"type", "dsn", "tables", "exclude_columns", "key_columns", "mask_columns", "mask_salt",
	"slot", "publication", "plugin", "topic_prefix", "format", "snapshot",
	"snapshot_workers", "heartbeat", "status_interval", "bootstrap", "streaming",
	"tombstones", "spool_dir", "topic.partitions",
	"topic.replication_factor", "topic.cleanup_policy", "topic.retention",
	"transaction.topic", "transaction.retention", "heartbeat.topic",
	"heartbeat.retention", "messages.topic", "messages.retention",
	"json.decimal_handling", "json.schemas", "http", "signal.table", "outbox.tables", "outbox.topic",
	"outbox.route_column", "outbox.key_column", "outbox.payload_column",
	"outbox.id_column", "producer.", NULL
};

int
cap_pg_type_info(struct cap_pg *s, uint32_t oid, uint32_t *base, int *is_enum, char *name,
    size_t name_size, struct sl_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n_types; i++)
		if (s->types[i].oid == oid)
			goto found;
	if ((rc = cap_pg_type_lookup(s->sql, oid, base, is_enum, name, name_size, err)) != 0)
		return rc;
	s->types = sl_realloc(s->types, (s->n_types + 1) * sizeof(*s->types));
	s->types[s->n_types].oid = oid;
	s->types[s->n_types].base = *base;
	s->types[s->n_types].is_enum = *is_enum;
	s->types[s->n_types].name = sl_strdup(name);
	i = s->n_types++;
found:
	*base = s->types[i].base;
	*is_enum = s->types[i].is_enum;
	snprintf(name, name_size, "%s", s->types[i].name);
	return 0;
}

/* Remove spool files a previous run left (the server resends them). */
static int
spool_prepare(const char *dir, struct sl_err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = sl_mkdir_p(dir, 0700);

	if (rc != 0)
		return sl_errf(err, rc, "spool_dir %s: %s", dir, sl_strerror(rc));
	d = opendir(dir);
	if (d == NULL)
		return sl_errf(err, -errno, "spool_dir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 6 && strcmp(de->d_name + n - 6, ".spool") == 0) {
			char *p = sl_asprintf("%s/%s", dir, de->d_name);

			unlink(p);
			free(p);
		}
	}
	closedir(d);
	return 0;
}

/*
 * (3) The clean-stop file: "slot <slot> flushed <LSN as X/X>\n", written by a
 * capture that stopped with nothing left in flight, the LSN it confirmed
 * last.
 */
static char *
clean_stop_path(const struct cap_conf *c)
{
	return sl_asprintf("%s/clean-stop.%s", c->spool_dir, c->slot);
}

static void
clean_stop_write(const struct cap_conf *c, uint64_t flushed)
{
	char *path = clean_stop_path(c), *text, lb[32];
	int rc;

	text = sl_asprintf("slot %s flushed %s\n", c->slot, cap_lsn_fmt(flushed, lb, sizeof(lb)));
	if ((rc = sl_file_write_atomic(path, text, strlen(text))) != 0)
		sl_warn("%s: %s (the next start waits for late produce requests)", path,
		    sl_strerror(rc));
	free(text);
	free(path);
}

/*
 * Take the clean-stop file: 1 with '*flushed' when it was there and well
 * formed, else 0.  Removed whatever it holds; 0 also when it could not be
 * removed, or the removal not made durable.
 */
static int
clean_stop_take(const struct cap_conf *c, uint64_t *flushed)
{
	char *path = clean_stop_path(c), *want = sl_asprintf("slot %s flushed ", c->slot);
	struct sl_buf b = { 0 };
	int ok = 0;

	if (sl_file_read(path, 256, &b) == 0) {
		size_t wl = strlen(want);

		/* "slot <slot> flushed " and an LSN ending the one line */
		if (b.len > wl + 1 && memcmp(b.p, want, wl) == 0 && b.p[b.len - 1] == '\n') {
			b.p[b.len - 1] = '\0';
			ok = cap_lsn_parse((const char *)b.p + wl, flushed) == 0;
		}
	}
	if (unlink(path) == 0) {
		if (sl_dir_fsync(c->spool_dir) != 0)
			ok = 0;
	} else if (errno != ENOENT) {
		sl_warn("%s: %s (waiting for late produce requests)", path, strerror(errno));
		ok = 0;
	}
	sl_buf_free(&b);
	free(want);
	free(path);
	return ok;
}

static int
sql_cmd(struct pg_conn *c, const char *sql, struct sl_err *err)
{
	PGresult *res = PQexec(c, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return rc;
}

static int
slot_drop(struct cap_pg *s, const char *slot, struct sl_err *err)
{
	char *lit = PQescapeLiteral(s->sql, slot, strlen(slot));
	char *sql = sl_asprintf("SELECT pg_drop_replication_slot(%s)", lit);
	int rc = sql_cmd(s->sql, sql, err);

	PQfreemem(lit);
	free(sql);
	return rc;
}

/* Drop 'slot' when it exists; '*dropped' (may be NULL) says whether it did. */
static int
slot_drop_if_exists(struct cap_pg *s, const char *slot, int *dropped, struct sl_err *err)
{
	struct cap_pg_slot_info si;
	int rc;

	if (dropped)
		*dropped = 0;
	if ((rc = cap_pg_slot_info(s->sql, slot, &si, err)) != 0 || !si.exists)
		return rc;
	if ((rc = slot_drop(s, slot, err)) == 0 && dropped)
		*dropped = 1;
	return rc;
}

/*
 * Create "<slot>_snap" with an exported snapshot, copy the tables, wait for
 * every row's acknowledgement, then copy the slot to "<slot>" (1).
 */
static int
source_snapshot(struct cap_pg *s, const struct cap_pg_table *tables, size_t n,
    volatile sig_atomic_t *stop, struct sl_err *err)
{
	char *tmp = sl_asprintf("%s_snap", s->conf.slot);
	struct cap_pg_repl *r = NULL;
	char *snapname = NULL, *a = NULL, *b = NULL, *sql = NULL;
	uint64_t consistent;
	int rc, dropped;

	if ((rc = slot_drop_if_exists(s, tmp, &dropped, err)) != 0)
		goto out;
	if (dropped)
		sl_warn("slot %s is left from an interrupted snapshot: dropping it and "
		    "taking the snapshot again", tmp);
	if ((rc = cap_pg_repl_open(s->conf.dsn, &r, err)) != 0)
		goto out;
	if ((rc = cap_pg_slot_create(r, tmp, cap_pg_plugin(&s->conf), 1, &consistent, &snapname,
	    err)) != 0)
		goto out;
	s->snap_lsn = consistent;
	s->snap_ts_ms = sl_now_ms();
	sl_info("slot %s created at %" PRIX64 "; snapshot %s of %zu tables", tmp, consistent,
	    snapname ? snapname : "?", n);
	if ((rc = cap_pg_snapshot(s, snapname, tables, n, stop, err)) != 0)
		goto out;
	/* every row acknowledged before the slot is kept (1) */
	while (cap_producer_outstanding(s->prod) > 0 && !s->fatal)
		cap_producer_poll(s->prod, 100);
	if (s->fatal) {
		rc = sl_errf(err, s->fatal, "%s", s->fatal_msg);
		goto out;
	}
	cap_pg_repl_close(r);
	r = NULL;
	if (s->conf.snapshot != CAP_SNAP_INITIAL_ONLY) {
		a = PQescapeLiteral(s->sql, tmp, strlen(tmp));
		b = PQescapeLiteral(s->sql, s->conf.slot, strlen(s->conf.slot));
		sql = sl_asprintf("SELECT pg_copy_logical_replication_slot(%s, %s)", a, b);
		if ((rc = sql_cmd(s->sql, sql, err)) != 0)
			goto out;
	}
	rc = slot_drop(s, tmp, err);
out:
	cap_pg_repl_close(r);
	PQfreemem(a);
	PQfreemem(b);
	free(sql);
	free(snapname);
	free(tmp);
	return rc;
}

/*
 * An ad-hoc snapshot, asked for with
 *   SELECT pg_logical_emit_message(true, 'sluice.snapshot', 'public.orders')
 * (patterns as in 'tables', among the tables the source captures): the
 * tables are copied again while streaming waits, under the snapshot of a
 * new slot "<slot>_adhoc" whose consistent point S is past the message.
 * Each table's topic gets a truncate and then the rows, all stored at
 * position (S, seq), so the stream's own changes of those tables up to S,
 * which the copy already holds, are skipped by the exactly-once rule (3 of
 * pg_capture.c), and later ones follow.  The message's transaction is not
 * confirmed before the copy is acknowledged: a crash in between makes the
 * next start read the message again and copy again, at a later S.
 */
int
cap_pg_adhoc_snapshot(struct cap_pg *s, const uint8_t *patterns, size_t len, uint64_t lsn,
    struct sl_err *err)
{
	char *pat = NULL, *tmp = sl_asprintf("%s_adhoc", s->conf.slot), *snapname = NULL;
	struct cap_pg_table *all = NULL, *pick = NULL;
	struct cap_rel **saved = NULL;
	struct cap_pg_repl *r = NULL;
	size_t n_all = 0, n = 0, i;
	uint64_t consistent, rows0 = s->snap_rows;
	int64_t t0 = sl_mono_ns();
	volatile sig_atomic_t never = 0;
	char lb[32], lb2[32];
	int rc = 0;

	cap_lsn_fmt(lsn, lb, sizeof(lb));
	{
		/* patterns as in 'tables', or Debezium's {"data-collections": [...]} */
		struct sl_buf b = { 0 };

		if (cap_signal_tables((const char *)patterns, len, &b) != 0) {
			sl_warn("%s message at LSN %s ignored: its content must be table "
			    "patterns (1 to 4096 bytes, no NUL), as in 'tables', or "
			    "{\"data-collections\": [\"schema.table\"]}", CAP_PG_SNAPSHOT_SIGNAL, lb);
			sl_buf_free(&b);
			goto out;
		}
		pat = (char *)b.p;	/* NUL-terminated, freed below */
	}
	if ((rc = cap_pg_tables_resolve(s->sql, s->conf.tables, &all, &n_all, err)) != 0)
		goto out;
	for (i = 0; i < n_all; i++)
		if (cap_pg_table_match(pat, all[i].schema, all[i].name) &&
		    !cap_pg_is_outbox(s, all[i].schema, all[i].name) &&
		    !cap_pg_is_signal(s, all[i].schema, all[i].name)) {
			pick = sl_realloc(pick, (n + 1) * sizeof(*pick));
			pick[n++] = all[i];
		}
	if (n == 0) {
		sl_warn("%s message at LSN %s ignored: '%s' matches none of the tables this "
		    "source captures (tables = %s)", CAP_PG_SNAPSHOT_SIGNAL, lb, pat,
		    s->conf.tables);
		goto out;
	}
	if ((rc = slot_drop_if_exists(s, tmp, NULL, err)) != 0)
		goto out;
	if ((rc = cap_pg_repl_open(s->conf.dsn, &r, err)) != 0 ||
	    (rc = cap_pg_slot_create(r, tmp, cap_pg_plugin(&s->conf), 1, &consistent, &snapname,
	    err)) != 0)
		goto out;
	sl_info("%s message at LSN %s: copying %zu table%s again under slot %s's snapshot "
	    "at %s (streaming waits)", CAP_PG_SNAPSHOT_SIGNAL, lb, n, n == 1 ? "" : "s", tmp,
	    cap_lsn_fmt(consistent, lb2, sizeof(lb2)));
	/*
	 * The copy describes each table as it is now; the stream still has
	 * changes from before, described as they were: set the stream's
	 * descriptions aside and put them back afterwards.
	 */
	saved = sl_calloc(n, sizeof(*saved));
	for (i = 0; i < n; i++)
		saved[i] = cap_pg_rel_take(s, pick[i].oid);
	s->snap_adhoc = 1;
	s->snap_lsn = s->snap_pos_lsn = consistent;
	s->snap_ts_ms = sl_now_ms();
	rc = cap_pg_snapshot(s, snapname, pick, n, s->stop ? s->stop : &never, err);
	while (rc == 0 && cap_producer_outstanding(s->prod) > 0 && !s->fatal) {
		cap_producer_poll(s->prod, 100);
		rc = cap_pg_status_due(s, err);
	}
	if (rc == 0 && s->fatal)
		rc = sl_errf(err, s->fatal, "%s", s->fatal_msg);
	if (rc == 0) {
		/* the stream's changes up to the copy's point are in it: skip them */
		for (i = 0; i < n; i++) {
			struct cap_rel *cr = cap_pg_rel_find(s, pick[i].oid);
			struct cap_topic *tp = cr ? cr->topic : NULL;
			struct cap_pos mark = { consistent, UINT64_MAX };
			int32_t p;

			for (p = 0; tp && p < tp->partitions; p++)
				if (!tp->has_last[p] || cap_pos_cmp(&mark, &tp->last[p]) > 0) {
					tp->last[p] = mark;
					tp->has_last[p] = 1;
				}
		}
		sl_info("%s message at LSN %s: %" PRIu64 " rows of %zu table%s copied in %.1f s; "
		    "streaming goes on", CAP_PG_SNAPSHOT_SIGNAL, lb, s->snap_rows - rows0, n,
		    n == 1 ? "" : "s", (double)(sl_mono_ns() - t0) / 1e9);
	}
	for (i = 0; i < n; i++)
		cap_pg_rel_restore(s, pick[i].oid, saved[i]);
	s->snap_adhoc = 0;
	s->snap_lsn = s->snap_pos_lsn = 0;
	cap_pg_repl_close(r);
	r = NULL;
	if (rc == 0) {
		rc = slot_drop(s, tmp, err);
	} else {
		/* a slot left behind would hold WAL back; the next start drops it too */
		struct sl_err ignored = { 0 };

		(void)slot_drop(s, tmp, &ignored);
	}
out:
	cap_pg_repl_close(r);
	free(saved);
	free(pick);
	cap_pg_tables_free(all, n_all);
	free(snapname);
	free(pat);
	free(tmp);
	return rc;
}

static int
source_aux_topic(struct cap_pg *s, const char *suffix, int64_t retention_ms,
    struct cap_topic **out, struct sl_err *err)
{
	struct cap_topic_spec spec;
	char *name = sl_asprintf("%s.%s", s->conf.topic_prefix, suffix);
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.name = name;
	spec.partitions = 1;
	spec.replication_factor = s->conf.topic_replication;
	spec.compact = 0;
	spec.retention_ms = retention_ms;
	rc = cap_topic_open(s->prod, &spec, out, err);
	free(name);
	return rc;
}

static int
lost_slot_error(const char *slot, struct sl_err *err)
{
	return sl_errf(err, SL_ESTATE, "postgres: replication slot \"%s\" was invalidated "
	    "(wal_status lost: the server removed WAL it still needed, see "
	    "max_slot_wal_keep_size); the changes in between are gone and capture will not "
	    "skip them silently.  To re-snapshot: SELECT pg_drop_replication_slot('%s'); "
	    "then start capture again with snapshot = initial (the table topics are "
	    "compacted, so the fresh 'r' rows replace the old ones)", slot, slot);
}

int
cap_pg_run(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct cap_pg *s = sl_calloc(1, sizeof(*s));
	struct cap_pg_table *tables = NULL, *snap_tables = NULL;
	struct cap_pg_slot_info si;
	struct cap_pg_sysinfo sys;
	size_t n_tables = 0, n_snap = 0, i;
	int rc, created, proto, ver, clean;
	uint64_t clean_lsn = 0;
	PGresult *res;

	if ((rc = cap_conf_parse(cfg, sec, bootstrap_default, "postgres",
	    cap_pg_conf_keys, &s->conf, &s->json_opts, err)) != 0)
		goto out;
	sl_log_set_component(s->conf.name);
	if (s->conf.http && (rc = cap_http_open(s->conf.http, &s->http, err)) != 0)
		goto out;
	if ((rc = cap_pg_sql_open(s->conf.dsn, &s->sql, err)) != 0)
		goto out;
	res = PQexec(s->sql, "SELECT current_database(), pg_encoding_to_char(encoding) "
	    "FROM pg_database WHERE datname = current_database()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		snprintf(s->dbname, sizeof(s->dbname), "%s", PQgetvalue(res, 0, 0));
		/* every other encoding is converted to UTF-8 on the way (pg_repl.c) */
		if (strcmp(PQgetvalue(res, 0, 1), "SQL_ASCII") == 0)
			sl_warn("database %s has encoding SQL_ASCII: PostgreSQL stores its text "
			    "as given and cannot convert it, so events carry those bytes as "
			    "they are, valid UTF-8 or not", s->dbname);
	}
	PQclear(res);
	if ((rc = cap_pg_tables_resolve(s->sql, s->conf.tables, &tables, &n_tables, err)) != 0 ||
	    (rc = cap_pg_privileges_check(s->sql, tables, n_tables, err)) != 0 ||
	    (rc = cap_pg_publication_ensure(s->sql, s->conf.publication, tables, n_tables,
	    &created, err)) != 0)
		goto out;
	if (created)
		sl_info("created publication %s for %zu tables", s->conf.publication, n_tables);
	if ((rc = spool_prepare(s->conf.spool_dir, err)) != 0)
		goto out;
	if ((rc = cap_producer_open(s->conf.bootstrap, s->conf.producer, s->conf.n_producer,
	    cap_pg_delivered, s, &s->prod, err)) != 0)
		goto out;
	cap_producer_set_stop(s->prod, stop);
	if ((s->conf.tx_topic && (rc = source_aux_topic(s, "transaction", s->conf.tx_retention_ms,
	    &s->tx_topic, err)) != 0) ||
	    (s->conf.hb_topic && (rc = source_aux_topic(s, "heartbeat", s->conf.hb_retention_ms,
	    &s->hb_topic, err)) != 0) ||
	    (s->conf.messages_topic && (rc = source_aux_topic(s, "messages",
	    s->conf.msg_retention_ms, &s->msg_topic, err)) != 0))
		goto out;
	/* outbox tables: no topic of their own, and nothing to copy */
	snap_tables = sl_calloc(n_tables ? n_tables : 1, sizeof(*snap_tables));
	if (s->conf.signal_table != NULL) {
		for (i = 0; i < n_tables; i++)
			if (cap_pg_is_signal(s, tables[i].schema, tables[i].name))
				break;
		if (i == n_tables)
			sl_warn("signal.table (%s) is none of the tables captured ('tables' = %s): "
			    "its signals are not read; add it to 'tables'", s->conf.signal_table,
			    s->conf.tables);
	}
	if (s->conf.outbox_tables != NULL) {
		for (i = 0; i < n_tables; i++)
			if (cap_pg_is_outbox(s, tables[i].schema, tables[i].name))
				break;
		if (i == n_tables)
			sl_warn("outbox.tables (%s) matches none of the tables captured "
			    "('tables' = %s): an outbox table must be captured too",
			    s->conf.outbox_tables, s->conf.tables);
	}
	for (i = 0; i < n_tables; i++) {
		struct cap_topic *t;

		if (cap_pg_is_signal(s, tables[i].schema, tables[i].name)) {
			sl_info("table %s.%s is the signal table: read for its signals, no topic, "
			    "no snapshot", tables[i].schema, tables[i].name);
			continue;
		}
		if (cap_pg_is_outbox(s, tables[i].schema, tables[i].name)) {
			sl_info("table %s.%s is an outbox: its inserts go to %s (outbox.topic), "
			    "and the snapshot leaves it out", tables[i].schema, tables[i].name,
			    s->conf.outbox_topic);
			continue;
		}
		snap_tables[n_snap++] = tables[i];
		if ((rc = cap_pg_table_topic(s, tables[i].schema, tables[i].name,
		    tables[i].has_key, 1, &t, err)) != 0)
			goto out;
	}

	{
		/* an ad-hoc snapshot cut short leaves its slot, which holds WAL back */
		char *adhoc = sl_asprintf("%s_adhoc", s->conf.slot);

		struct sl_err why = { 0 };
		int dropped;

		if (slot_drop_if_exists(s, adhoc, &dropped, &why) != 0)
			sl_warn("%s (the next ad-hoc snapshot drops it)", why.msg);
		else if (dropped)
			sl_info("dropping slot %s, left by an ad-hoc snapshot that did not end "
			    "(the message that asked for it is read again)", adhoc);
		free(adhoc);
	}
	clean = clean_stop_take(&s->conf, &clean_lsn);
	if ((rc = cap_pg_slot_info(s->sql, s->conf.slot, &si, err)) != 0)
		goto out;
	/* (3 of pg_capture.c) the positions must be the final ones; (3) */
	if (clean && si.exists && si.confirmed_flush == clean_lsn) {
		char lb[32];

		sl_info("the last run stopped cleanly at %s with nothing in flight: no late "
		    "produce requests to wait for", cap_lsn_fmt(clean_lsn, lb, sizeof(lb)));
	} else {
		if (clean) {
			char lb[32], lb2[32];

			sl_info("the clean-stop file names %s but slot %s is at %s: waiting for "
			    "late produce requests", cap_lsn_fmt(clean_lsn, lb, sizeof(lb)),
			    s->conf.slot, si.exists ? cap_lsn_fmt(si.confirmed_flush, lb2,
			    sizeof(lb2)) : "(absent)");
		}
		if ((rc = cap_producer_settle(s->prod, 300, err)) != 0)
			goto out;
	}
	if (si.exists && strcmp(si.wal_status, "lost") == 0) {
		rc = lost_slot_error(s->conf.slot, err);	/* (2) */
		goto out;
	}
	if (si.exists && strcmp(si.plugin, cap_pg_plugin(&s->conf)) != 0) {
		rc = sl_errf(err, SL_ECONFIG, "postgres: slot %s uses plugin %s, not %s (the "
		    "source's plugin); drop the slot to change plugins, or set plugin = %s",
		    s->conf.slot, si.plugin, cap_pg_plugin(&s->conf), si.plugin);
		goto out;
	}
	if (s->conf.snapshot == CAP_SNAP_INITIAL_ONLY) {
		rc = source_snapshot(s, snap_tables, n_snap, stop, err);
		goto out;
	}
	if (!si.exists) {
		if (s->conf.snapshot == CAP_SNAP_INITIAL) {
			if ((rc = source_snapshot(s, snap_tables, n_snap, stop, err)) != 0)
				goto out;
		} else {
			struct cap_pg_repl *r;
			uint64_t cp;

			if ((rc = cap_pg_repl_open(s->conf.dsn, &r, err)) != 0)
				goto out;
			rc = cap_pg_slot_create(r, s->conf.slot, cap_pg_plugin(&s->conf), 0, &cp,
			    NULL, err);
			cap_pg_repl_close(r);
			if (rc != 0)
				goto out;
			sl_info("slot %s created at %" PRIX64 " (snapshot = never)", s->conf.slot, cp);
		}
		if (*stop)
			goto out;
		if ((rc = cap_pg_slot_info(s->sql, s->conf.slot, &si, err)) != 0)
			goto out;
	}
	s->flush_lsn = s->write_lsn = si.confirmed_flush;

	if ((rc = cap_pg_repl_open(s->conf.dsn, &s->repl, err)) != 0 ||
	    (rc = cap_pg_repl_identify(s->repl, &sys, err)) != 0)
		goto out;
	ver = cap_pg_repl_server_version(s->repl);
	proto = ver >= 140000 ? 2 : 1;
	cap_pgo_decoder_init(&s->dec, proto);
	rc = cap_pg_repl_start(s->repl, s->conf.slot, s->conf.publication, 0, proto,
	    proto >= 2 && s->conf.streaming, ver >= 140000, s->conf.plugin_sluice, err);
	if (rc != 0) {
		if (err && strstr(err->msg, "can no longer get changes") != NULL)
			rc = lost_slot_error(s->conf.slot, err);
		goto out;
	}
	s->last_status_ns = sl_mono_ns();
	{
		char lb[32];

		sl_info("streaming from slot %s at %s (%s proto %d, system %s, db %s)",
		    s->conf.slot, cap_lsn_fmt(si.confirmed_flush, lb, sizeof(lb)),
		    cap_pg_plugin(&s->conf), proto,
		    sys.sysid, sys.dbname);
	}
	rc = cap_pg_stream(s, stop, err);
	/* a clean stop: confirm what the broker acknowledged, nothing more */
	{
		int64_t end = sl_mono_ns() + 10 * INT64_C(1000000000);
		int quiet;

		while (cap_producer_outstanding(s->prod) > 0 && sl_mono_ns() < end && !s->fatal)
			cap_producer_poll(s->prod, 100);
		cap_producer_poll(s->prod, 0);
		cap_pg_queue_advance(s);
		quiet = cap_producer_outstanding(s->prod) == 0;

		if (cap_pg_repl_status(s->repl, s->write_lsn, s->flush_lsn, 0, NULL) != 0)
			quiet = 0;
		cap_pg_repl_stop(s->repl);
		/* (3) on a requested stop with nothing in flight */
		if (quiet && rc == 0 && *stop && !s->fatal)
			clean_stop_write(&s->conf, s->flush_lsn);
	}
	sl_info("stopped: %" PRIu64 " messages produced, %" PRIu64 " skipped as already "
	    "stored, %" PRIu64 " transactions", s->produced, s->skipped, s->txns);
out:
	if (rc != 0 && *stop && rc != SL_ECONFIG) {
		/* a requested stop is not a failure, whatever it interrupted */
		sl_info("stopped on request: %s", err ? err->msg : sl_strerror(rc));
		rc = 0;
	}
	cap_pg_repl_close(s->repl);
	cap_http_close(s->http);
	cap_pg_state_free(s);
	cap_producer_close(s->prod);
	cap_pg_sql_close(s->sql);
	free(snap_tables);		/* its entries are the strings of 'tables' */
	cap_pg_tables_free(tables, n_tables);
	cap_conf_free(&s->conf);
	free(s);
	return rc;
}

int
cap_pg_status(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, struct cap_pg_status *out, struct sl_err *err)
{
	struct cap_conf c = { 0 };
	struct sch_json_opts jo;
	struct cap_pg_slot_info si;
	struct pg_conn *sql = NULL;
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cap_conf_parse(cfg, sec, bootstrap_default, "postgres",
	    cap_pg_conf_keys, &c, &jo, err)) != 0)
		goto out;
	snprintf(out->slot, sizeof(out->slot), "%s", c.slot);
	snprintf(out->topic_prefix, sizeof(out->topic_prefix), "%s", c.topic_prefix);
	snprintf(out->want_plugin, sizeof(out->want_plugin), "%s", cap_pg_plugin(&c));
	if ((rc = cap_pg_sql_open(c.dsn, &sql, err)) != 0 ||
	    (rc = cap_pg_slot_info(sql, c.slot, &si, err)) != 0)
		goto out;
	out->exists = si.exists;
	out->active = si.active;
	out->confirmed_flush = si.confirmed_flush;
	snprintf(out->plugin, sizeof(out->plugin), "%s", si.plugin);
	snprintf(out->wal_status, sizeof(out->wal_status), "%s", si.wal_status);
	res = PQexec(sql, "SELECT CASE WHEN pg_is_in_recovery() THEN "
	    "pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		(void)cap_lsn_parse(PQgetvalue(res, 0, 0), &out->current_lsn);
	else
		rc = sl_errf(err, SL_EPROTO, "postgres: current WAL position: %s",
		    PQresultErrorMessage(res));
	PQclear(res);
out:
	cap_pg_sql_close(sql);
	cap_conf_free(&c);
	return rc;
}
