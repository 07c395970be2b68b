/*
 * capture/my_source.c: one [source "NAME"] with type = mysql, from its
 * configuration to a running binlog stream: parse the section, check the
 * server's settings and the user's privileges, open the topics, read the
 * stored position from `<prefix>.offsets`, take the initial snapshot when
 * there is none, then COM_BINLOG_DUMP and hand over to my_capture.c.
 *
 * START POSITION (the cases, in order)
 *   <prefix>.offsets holds a position  → stream from it; when the server
 *       no longer has its file (purged), stop with an error that says how
 *       to re-snapshot: changes are never silently skipped (1).
 *   snapshot = initial / initial_only → the snapshot below, then stream
 *       from its position (initial_only: stop there).
 *   snapshot = never                   → stream from the server's current
 *       position (SHOW MASTER STATUS).
 *
 * SNAPSHOT.  MariaDB: START TRANSACTION WITH CONSISTENT SNAPSHOT, whose
 * binlog position the server reports in binlog_snapshot_file/position
 * without any lock.  MySQL: the same under FLUSH TABLES WITH READ LOCK,
 * released as soon as the transaction and SHOW MASTER STATUS are done.
 * Rows are read with SELECT * (streamed, not buffered) and emitted as op
 * 'r'; the position is stored only once every row was acknowledged (2), so
 * an interrupted snapshot starts over at the next run (its rows are
 * preceded by a truncate marker on topics that already hold messages).
 *
 * INVARIANTS
 *  (1) A stored position whose binlog file the server no longer lists is
 *      an error, never a restart from somewhere else.
 *  (2) The position stored after a snapshot is the snapshot's own, written
 *      after every snapshot row was acknowledged by the broker.
 *  (3) The start waits for a killed predecessor's last produce requests to
 *      land (cap_producer_settle) unless the last stored record says its
 *      writer stopped cleanly with nothing in flight; that record is then
 *      superseded by one without the mark, acknowledged, before anything
 *      else is produced, so a crash of this run never leaves it last.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "capture/cap.h"
#include "capture/cap_mysrc.h"

const char *const cap_my_conf_keys[] = {
	"type", "dsn", "tables", "exclude_columns", "key_columns", "mask_columns", "mask_salt",
	"server_id", "position", "topic_prefix", "format", "snapshot", "heartbeat",
	"status_interval", "bootstrap", "tombstones", "topic.partitions",
	"topic.replication_factor", "topic.cleanup_policy", "topic.retention",
	"transaction.topic", "transaction.retention", "heartbeat.topic",
	"heartbeat.retention", "json.decimal_handling", "json.schemas", "http", "signal.table",
	"outbox.tables", "outbox.topic", "outbox.route_column", "outbox.key_column",
	"outbox.payload_column", "outbox.id_column", "producer.", NULL
};

/* ------------------------------------------------------------ tables */

/* One pattern against "db.table"; a pattern without a dot is a table of
 * the dsn's database. */
static int
match_one(const char *pat, size_t n, const char *default_db, const char *db,
    const char *table)
{
	char p[512], full[600];

	if (n == 0 || n >= sizeof(p))
		return 0;
	memcpy(p, pat, n);
	p[n] = '\0';
	snprintf(full, sizeof(full), "%s.%s", db, table);
	if (strchr(p, '.') == NULL) {
		if (default_db == NULL || strcmp(default_db, db) != 0)
			return 0;
		return fnmatch(p, table, 0) == 0;
	}
	return fnmatch(p, full, 0) == 0;
}

int
cap_my_match(const char *patterns, const char *default_db, const char *db, const char *table)
{
	const char *p = patterns;
	int in = 0;

	if (db == NULL || table == NULL)
		return 0;
	/*
	 * The server's own schemas are never captured, whatever the patterns
	 * (the snapshot leaves them out too): `*.*` would otherwise stream
	 * mysql.gtid_slave_pos and the like, with no snapshot of them.
	 */
	if (strcmp(db, "mysql") == 0 || strcmp(db, "information_schema") == 0 ||
	    strcmp(db, "performance_schema") == 0 || strcmp(db, "sys") == 0)
		return 0;
	while (*p) {
		const char *e;
		size_t n;
		int neg = 0;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		e = p;
		while (*e && *e != ',')
			e++;
		n = (size_t)(e - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (*p == '!') {
			neg = 1;
			p++;
			n--;
		}
		if (match_one(p, n, default_db, db, table)) {
			if (neg)
				return 0;
			in = 1;
		}
		p = e;
	}
	return in;
}

/* ------------------------------------------------------- relations */

static uint64_t
rel_schema_id(const struct cap_my_rel *r)
{
	uint64_t h = CAP_FNV_INIT;
	uint32_t i;

	h = cap_fnv1a(h, r->db, strlen(r->db) + 1);
	h = cap_fnv1a(h, r->name, strlen(r->name) + 1);
	for (i = 0; i < r->table.n_columns; i++) {
		const struct sch_column *c = &r->table.columns[i];

		h = cap_fnv1a(h, c->name, strlen(c->name) + 1);
		h = cap_fnv1a(h, c->type_name, strlen(c->type_name) + 1);
		h = cap_fnv1a(h, &c->typmod, sizeof(c->typmod));
		h = cap_fnv1a(h, &c->is_key, sizeof(c->is_key));
		h = cap_fnv1a(h, &c->nullable, sizeof(c->nullable));
	}
	return h & 0x7fffffffffffffffull;
}

static void
cols_free(struct cap_my_column *cols, uint32_t n)
{
	uint32_t k, l;

	for (k = 0; k < n; k++) {
		free((char *)cols[k].name);
		for (l = 0; l < cols[k].n_labels; l++)
			free((char *)cols[k].labels[l]);
		free(cols[k].labels);
	}
	free(cols);
}

static int
col_same(const struct cap_my_column *a, const struct cap_my_column *b)
{
	uint32_t l;

	if (a->type != b->type || a->meta != b->meta || a->max_len != b->max_len ||
	    a->precision != b->precision || a->scale != b->scale || a->fsp != b->fsp ||
	    a->pack_len != b->pack_len || a->bits != b->bits || a->nullable != b->nullable ||
	    a->is_unsigned != b->is_unsigned || a->is_key != b->is_key ||
	    a->charset != b->charset || a->n_labels != b->n_labels ||
	    (a->name == NULL) != (b->name == NULL) || (a->name && strcmp(a->name, b->name) != 0))
		return 0;
	for (l = 0; l < a->n_labels; l++)
		if (strcmp(a->labels[l], b->labels[l]) != 0)
			return 0;
	return 1;
}

/*
 * The typmod the encoders read, in PostgreSQL's sense, so Debezium's
 * encodings follow the column as its MySQL connector does: DECIMAL(p,s)
 * has a fixed scale ((p << 16 | s) + 4: `precise` is plain base64), BIT(1)
 * is a boolean and BIT(n) bytes, DATETIME(0..3) milliseconds and (4..6)
 * microseconds, TIMESTAMP prints its fraction digits.  TIME stays
 * microseconds at every precision (Debezium's adaptive_time_microseconds).
 */
static int32_t
col_typmod(const struct cap_my_column *c)
{
	switch (c->type) {
	case CAP_MYT_NEWDECIMAL:
		return ((int32_t)c->precision << 16 | c->scale) + 4;
	case CAP_MYT_BIT:
		return c->bits;
	case CAP_MYT_DATETIME2: case CAP_MYT_TIMESTAMP2:
		return c->fsp;
	default:
		return -1;
	}
}

/*
 * Replace the columns of 'r' with copies of 'cols' and rebuild its table,
 * leaving out the columns exclude_columns names (SL_ECONFIG for a key
 * column: 'r' is then left without columns).
 */
static int
rel_set_cols(struct cap_my *s, struct cap_my_rel *r, const struct cap_my_column *cols,
    uint32_t n, int has_key, struct sl_err *err)
{
	uint32_t i, k, l, n_keep;
	int rc;

	cols_free(r->cols, r->n_cols);
	free(r->table.columns);
	free(r->keep);
	r->keep = NULL;
	r->cols = sl_calloc(n + 1, sizeof(*r->cols));
	r->table.columns = sl_calloc(n + 1, sizeof(*r->table.columns));
	for (i = 0; i < n; i++) {
		struct cap_my_column *c = &r->cols[i];

		*c = cols[i];
		c->name = sl_strdup(cols[i].name ? cols[i].name : "");
		c->labels = cols[i].n_labels ? sl_calloc(cols[i].n_labels, sizeof(char *)) : NULL;
		for (l = 0; l < cols[i].n_labels; l++)
			c->labels[l] = sl_strdup(cols[i].labels[l]);
		r->table.columns[i].name = c->name;
		r->table.columns[i].type_oid = 0;
		r->table.columns[i].type_name = cap_my_type_name(c);
		r->table.columns[i].typmod = col_typmod(c);
		r->table.columns[i].is_key = c->is_key;
		r->table.columns[i].nullable = c->nullable;
	}
	r->n_cols = n;
	r->has_key = has_key;
	r->table.db = r->db;
	r->table.schema = NULL;
	r->table.name = r->name;
	r->table.n_columns = n;
	/*
	 * The binlog always has whole rows: any columns can be the key.  A
	 * table known only by name (dropped) has no columns to name.
	 */
	r->key_override = 0;
	if ((n > 0 && (rc = cap_key_columns_apply(s->conf.key_columns, r->db, r->name,
	    r->table.columns, n, &r->key_override, err)) != 0) ||
	    (rc = cap_columns_keep(s->conf.exclude_columns, r->db, r->name, r->table.columns, n,
	    &r->keep, &n_keep, err)) != 0) {
		cols_free(r->cols, r->n_cols);
		r->cols = NULL;
		r->n_cols = r->table.n_columns = 0;
		return rc;
	}
	if (r->keep != NULL) {
		struct sl_buf gone = { 0 };

		for (i = 0, k = 0; i < n; i++) {
			if (k < n_keep && r->keep[k] == i)
				r->table.columns[k++] = r->table.columns[i];
			else
				sl_buf_printf(&gone, "%s%s", gone.len ? ", " : "", r->cols[i].name);
		}
		r->table.n_columns = n_keep;
		sl_buf_add_u8(&gone, 0);
		sl_info("table %s: column%s %s left out of its events (exclude_columns)",
		    r->collection, n - n_keep > 1 ? "s" : "", (const char *)gone.p);
		sl_buf_free(&gone);
	}
	free(r->mask);
	r->mask = cap_columns_mask(s->conf.mask_columns, r->db, r->name, r->table.columns,
	    r->table.n_columns);
	r->table.schema_id = rel_schema_id(r);
	sl_buf_reset(&r->table_pb);
	sch_table_encode_pb(&r->table, &r->table_pb);
	if (r->outbox && n > 0)
		return cap_outbox_bind(&s->conf, &r->table, r->collection, &r->ob, err);
	return 0;
}

static struct cap_my_rel *
rel_find(struct cap_my *s, const char *db, const char *table)
{
	size_t i;

	for (i = 0; i < s->n_rels; i++)
		if (strcmp(s->rels[i]->db, db) == 0 && strcmp(s->rels[i]->name, table) == 0)
			return s->rels[i];
	return NULL;
}

int
cap_my_is_outbox(const struct cap_my *s, const char *db, const char *table)
{
	return s->conf.outbox_tables != NULL &&
	    cap_my_match(s->conf.outbox_tables, s->dsn.database, db, table);
}

int
cap_my_is_signal(const struct cap_my *s, const char *db, const char *table)
{
	return s->conf.signal_table != NULL &&
	    cap_my_match(s->conf.signal_table, s->dsn.database, db, table);
}

/* A new relation with its topic (created when missing; none for an outbox). */
static int
rel_new(struct cap_my *s, const char *db, const char *table, int has_key,
    struct cap_my_rel **out, struct sl_err *err)
{
	struct cap_my_rel *r = sl_calloc(1, sizeof(*r));
	int rc = 0;

	if (cap_my_is_signal(s, db, table)) {
		r->signal = 1;		/* read for its signals: no topic */
	} else if (cap_my_is_outbox(s, db, table)) {
		r->outbox = 1;
		sl_info("table %s.%s is an outbox: its inserts go to %s (outbox.topic), and the "
		    "snapshot leaves it out", db, table, s->conf.outbox_topic);
	} else {
		rc = cap_table_topic_open(s->prod, &s->conf, db, table,
		    has_key || cap_key_columns_named(s->conf.key_columns, db, table), 0,
		    &r->topic, err);
	}
	if (rc != 0) {
		free(r);
		return rc;
	}
	r->db = sl_strdup(db);
	r->name = sl_strdup(table);
	r->collection = sl_asprintf("%s.%s", db, table);
	s->rels = sl_realloc(s->rels, (s->n_rels + 1) * sizeof(*s->rels));
	s->rels[s->n_rels++] = r;
	*out = r;
	return 0;
}

int
cap_my_rel_tmap(struct cap_my *s, const struct cap_my_table_map *tm, struct cap_my_rel **out,
    struct sl_err *err)
{
	struct cap_my_rel *r = rel_find(s, tm->db, tm->table);
	uint32_t i;
	int rc;

	if (r == NULL && (rc = rel_new(s, tm->db, tm->table, tm->has_key, &r, err)) != 0)
		return rc;
	*out = r;
	if (r->n_cols == tm->n_columns && r->has_key == tm->has_key) {
		for (i = 0; i < tm->n_columns; i++)
			if (!col_same(&r->cols[i], &tm->columns[i]))
				break;
		if (i == tm->n_columns)
			return 0;
	}
	return rel_set_cols(s, r, tm->columns, tm->n_columns, tm->has_key, err);
}

struct catalog_ctx {
	struct sl_arena *arena;
	struct cap_my_column *cols;
	uint32_t n, cap;
	int has_key;
	const char *table;
};

static int
catalog_row(void *ctx, const char *const *row, const unsigned long *lens, unsigned n,
    struct sl_err *err)
{
	struct catalog_ctx *c = ctx;
	int rc;

	(void)lens;
	if (n < 6)
		return sl_errf(err, SL_EPROTO, "information_schema.COLUMNS: %u columns", n);
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->cols = sl_realloc(c->cols, c->cap * sizeof(*c->cols));
	}
	if ((rc = cap_my_column_from_catalog(row[0], row[1], row[2], row[3], row[4], row[5],
	    c->arena, &c->cols[c->n], err)) != 0)
		return sl_errf(err, rc, "table %s, column %s: %s", c->table, row[0], err->msg);
	if (c->cols[c->n].is_key)
		c->has_key = 1;
	c->n++;
	return 0;
}

static char *
sql_quote(struct st_mysql *m, const char *v)
{
	size_t n = strlen(v);
	char *o = sl_malloc(2 * n + 3);
	unsigned long k;

	o[0] = '\'';
	k = mysql_real_escape_string(m, o + 1, v, (unsigned long)n);
	o[k + 1] = '\'';
	o[k + 2] = '\0';
	return o;
}

/* The columns of "db.table" as the catalog describes them now. */
static int
catalog_columns(struct cap_my *s, struct st_mysql *m, const char *db, const char *table,
    struct sl_arena *arena, struct catalog_ctx *c, struct sl_err *err)
{
	char *qd = sql_quote(m, db), *qt = sql_quote(m, table), *sql;
	int rc;

	(void)s;
	memset(c, 0, sizeof(*c));
	c->arena = arena;
	c->table = table;
	sql = sl_asprintf("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, "
	    "COLUMN_KEY, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
	    "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", qd, qt);
	rc = cap_my_query(m, sql, catalog_row, c, err);
	free(sql);
	free(qd);
	free(qt);
	if (rc == 0 && c->n == 0)
		rc = sl_errf(err, SL_ENOTFOUND, "table %s.%s has no columns in "
		    "information_schema (dropped, or no SELECT privilege)", db, table);
	return rc;
}

/* cap_my_rel_catalog(), reading the catalog again when 'force' is set */
static int
rel_catalog(struct cap_my *s, const char *db, const char *table, int force,
    struct cap_my_rel **out, struct sl_err *err)
{
	struct cap_my_rel *r = rel_find(s, db, table);
	struct sl_arena arena = { 0 };
	struct catalog_ctx c;
	int rc;

	if (r != NULL && r->n_cols > 0 && !force) {
		*out = r;
		return 0;
	}
	rc = catalog_columns(s, s->sql, db, table, &arena, &c, err);
	if (rc == 0 && r == NULL)
		rc = rel_new(s, db, table, c.has_key, &r, err);
	if (rc == 0 && (rc = rel_set_cols(s, r, c.cols, c.n, c.has_key, err)) == 0)
		*out = r;
	free(c.cols);
	sl_arena_free(&arena);
	return rc;
}

int
cap_my_rel_catalog(struct cap_my *s, const char *db, const char *table,
    struct cap_my_rel **out, struct sl_err *err)
{
	return rel_catalog(s, db, table, 0, out, err);
}

int
cap_my_rel_dropped(struct cap_my *s, const char *db, const char *table,
    struct cap_my_rel **out, struct sl_err *err)
{
	struct cap_my_rel *r = rel_find(s, db, table);
	int rc;

	if (r == NULL) {
		/* no key known: a compacted topic would refuse a later keyless row */
		if ((rc = rel_new(s, db, table, 0, &r, err)) != 0 ||
		    (rc = rel_set_cols(s, r, NULL, 0, 0, err)) != 0)
			return rc;
		if (r->topic != NULL)
			sl_info("table %s.%s is no longer in the catalog (dropped since): its "
			    "changes in the binlog still go to topic %s", db, table,
			    r->topic->name);
	}
	*out = r;
	return 0;
}

/* ------------------------------------------------------------ checks */

struct grants_ctx {
	struct sl_buf text;
};

static int
grants_row(void *ctx, const char *const *row, const unsigned long *lens, unsigned n,
    struct sl_err *err)
{
	struct grants_ctx *g = ctx;

	(void)err;
	if (n > 0 && row[0]) {
		sl_buf_add(&g->text, row[0], lens[0]);
		sl_buf_add(&g->text, "\n", 1);
	}
	return 0;
}

static int
server_checks(struct cap_my *s, char *checksum, size_t csize, struct sl_err *err)
{
	char v[256];
	struct grants_ctx g = { { 0 } };
	int rc;

	if ((rc = cap_my_query_value(s->sql, "SELECT @@log_bin", 0, v, sizeof(v), err)) != 0)
		return rc;
	if (strcmp(v, "1") != 0)
		return sl_errf(err, SL_ESTATE, "%s: the binary log is off: start the server with "
		    "log_bin (and binlog_format=ROW, binlog_row_image=FULL, "
		    "binlog_row_metadata=FULL)", s->where);
	if ((rc = cap_my_query_value(s->sql, "SELECT @@binlog_format", 0, v, sizeof(v),
	    err)) != 0)
		return rc;
	if (strcasecmp(v, "ROW") != 0)
		return sl_errf(err, SL_ESTATE, "%s: binlog_format is %s; capture needs ROW "
		    "(SET GLOBAL binlog_format = 'ROW', and binlog_format=ROW in the server's "
		    "configuration file)", s->where, v);
	if ((rc = cap_my_query_value(s->sql, "SELECT @@binlog_row_image", 0, v, sizeof(v),
	    err)) != 0)
		return rc;
	if (strcasecmp(v, "FULL") != 0)
		return sl_errf(err, SL_ESTATE, "%s: binlog_row_image is %s; capture needs FULL "
		    "(every column in both images; SET GLOBAL binlog_row_image = 'FULL', and in "
		    "the configuration file)", s->where, v);
	if (cap_my_query_value(s->sql, "SELECT @@binlog_row_metadata", 0, v, sizeof(v),
	    err) != 0)
		return sl_errf(err, SL_EUNSUPPORTED, "%s: the server has no binlog_row_metadata "
		    "setting (MariaDB 10.5+ or MySQL 8.0.14+ needed: capture reads column names "
		    "and keys from the binlog with binlog_row_metadata=FULL)", s->where);
	if (strcasecmp(v, "FULL") != 0)
		return sl_errf(err, SL_ESTATE, "%s: binlog_row_metadata is %s; capture needs "
		    "FULL (column names, signedness and primary keys in every Table_map: SET "
		    "GLOBAL binlog_row_metadata = 'FULL', and in the configuration file)",
		    s->where, v);
	if ((rc = cap_my_query_value(s->sql, "SELECT @@binlog_checksum", 0, checksum, csize,
	    err)) != 0)
		return rc;
	if ((rc = cap_my_query_value(s->sql, "SELECT @@server_id", 0, v, sizeof(v), err)) != 0)
		return rc;
	s->source_server_id = (uint32_t)strtoul(v, NULL, 10);
	if (s->source_server_id == s->conf.server_id)
		return sl_errf(err, SL_ECONFIG, "%s: the server's own server_id is %s; set "
		    "server_id in [source \"%s\"] to a number no server or replica uses", s->where,
		    v, s->conf.name);
	if (cap_my_query(s->sql, "SHOW GRANTS", grants_row, &g, err) == 0) {
		const char *t = g.text.len ? (const char *)g.text.p : "";

		sl_buf_add(&g.text, "", 1);
		t = (const char *)g.text.p;
		if (strstr(t, "ALL PRIVILEGES ON *.*") == NULL &&
		    strstr(t, "REPLICATION SLAVE") == NULL && strstr(t, "REPLICATION REPLICA") == NULL) {
			sl_buf_free(&g.text);
			return sl_errf(err, SL_ESTATE, "%s: user %s lacks REPLICATION SLAVE, which "
			    "reading the binlog needs: GRANT REPLICATION SLAVE, BINLOG MONITOR, "
			    "SELECT ON *.* TO '%s'@'...' (MySQL: REPLICATION SLAVE, REPLICATION "
			    "CLIENT, SELECT, RELOAD)", s->where, s->dsn.user, s->dsn.user);
		}
	}
	sl_buf_free(&g.text);
	return 0;
}

/* --------------------------------------------------------- positions */

struct binlogs_ctx {
	const char *want;
	int found;
	char first[256];
};

static int
binlogs_row(void *ctx, const char *const *row, const unsigned long *lens, unsigned n,
    struct sl_err *err)
{
	struct binlogs_ctx *b = ctx;

	(void)lens;
	(void)err;
	if (n < 1 || row[0] == NULL)
		return 0;
	if (b->first[0] == '\0')
		snprintf(b->first, sizeof(b->first), "%s", row[0]);
	if (strcmp(row[0], b->want) == 0)
		b->found = 1;
	return 0;
}

static int
purged_error(struct cap_my *s, const char *oldest, struct sl_err *err)
{
	if (s->stored_server_id != 0 && s->stored_server_id != s->source_server_id)
		return sl_errf(err, SL_ESTATE, "%s: binlog %s:%" PRIu32 ", where capture stopped "
		    "(stored in topic %s), is a position on the server with server_id %" PRIu32
		    ", and this is server_id %" PRIu32 ": a binlog file and offset do not carry "
		    "over to another server; with MariaDB use position = gtid (on new topics), "
		    "or take a new snapshot: delete topic %s and start capture again with "
		    "snapshot = initial", s->where, s->flushed.file, s->flushed.pos,
		    s->off_topic_name, s->stored_server_id, s->source_server_id,
		    s->off_topic_name);
	return sl_errf(err, SL_ESTATE, "%s: binlog %s:%" PRIu32 ", where capture stopped (stored "
	    "in topic %s), was purged from the server (its oldest binlog is %s): the changes "
	    "since are gone and capture will not skip them; take a new snapshot: delete topic "
	    "%s (sluice topics delete %s) and start capture again with snapshot = initial",
	    s->where, s->flushed.file, s->flushed.pos, s->off_topic_name,
	    oldest && oldest[0] ? oldest : "unknown", s->off_topic_name, s->off_topic_name);
}

static int
master_status(struct cap_my *s, struct st_mysql *m, struct cap_my_pos *out, struct sl_err *err)
{
	char pos[32];
	int rc;

	if ((rc = cap_my_query_value(m, "SHOW MASTER STATUS", 0, out->file, sizeof(out->file),
	    err)) == 0)
		rc = cap_my_query_value(m, "SHOW MASTER STATUS", 1, pos, sizeof(pos), err);
	if (rc == SL_ENOTFOUND)
		return sl_errf(err, SL_ESTATE, "%s: SHOW MASTER STATUS returned nothing: is log_bin "
		    "on?", s->where);
	if (rc != 0)
		return sl_errf(err, rc, "%s: %s (the user needs BINLOG MONITOR on MariaDB, "
		    "REPLICATION CLIENT on MySQL)", s->where, err->msg);
	out->pos = (uint32_t)strtoul(pos, NULL, 10);
	return 0;
}

/* The stored position's JSON (cap_mysrc.h). */
int
cap_my_stored_parse(const char *topic, const struct sl_buf *v, struct cap_my_pos *pos,
    char *gtid, size_t gsize, char *state, size_t ssize, int *clean, int *gtid_mode,
    struct sl_err *err)
{
	char text[1024], *p, *e;
	unsigned long long n;

	if (v->len >= sizeof(text))
		return sl_errf(err, SL_ECORRUPT, "topic %s: a stored position of %zu bytes", topic,
		    v->len);
	memcpy(text, v->p, v->len);
	text[v->len] = '\0';
	if ((p = strstr(text, "\"file\":\"")) == NULL || (e = strchr(p + 8, '"')) == NULL ||
	    (size_t)(e - (p + 8)) >= sizeof(pos->file) || e == p + 8)
		goto bad;
	memcpy(pos->file, p + 8, (size_t)(e - (p + 8)));
	pos->file[e - (p + 8)] = '\0';
	if ((p = strstr(text, "\"pos\":")) == NULL)
		goto bad;
	n = strtoull(p + 6, &e, 10);
	if (e == p + 6 || n < 4 || n > 0xffffffffull)
		goto bad;
	pos->pos = (uint32_t)n;
	gtid[0] = '\0';
	if ((p = strstr(text, "\"gtid\":\"")) != NULL && (e = strchr(p + 8, '"')) != NULL &&
	    (size_t)(e - (p + 8)) < gsize) {
		memcpy(gtid, p + 8, (size_t)(e - (p + 8)));
		gtid[e - (p + 8)] = '\0';
	}
	snprintf(state, ssize, "done");
	if ((p = strstr(text, "\"snapshot\":\"")) != NULL && (e = strchr(p + 12, '"')) != NULL &&
	    (size_t)(e - (p + 12)) < ssize) {
		memcpy(state, p + 12, (size_t)(e - (p + 12)));
		state[e - (p + 12)] = '\0';
	}
	*clean = strstr(text, "\"stop\":\"clean\"") != NULL;
	*gtid_mode = strstr(text, "\"position\":\"gtid\"") != NULL;
	return 0;
bad:
	return sl_errf(err, SL_ECORRUPT, "topic %s: the stored position is not what capture "
	    "writes: %.200s", topic, text);
}

/* The stored position, from the last message of <prefix>.offsets. */
static int
stored_position(struct cap_my *s, int *found, char *state, size_t ssize, int *clean,
    int *gtid_mode, struct sl_err *err)
{
	int rc;

	*found = 0;
	if (!s->off_topic->has_last[0] || s->off_topic->last_val[0].len == 0)
		return 0;
	rc = cap_my_stored_parse(s->off_topic_name, &s->off_topic->last_val[0], &s->flushed,
	    s->flushed_gtid, sizeof(s->flushed_gtid), state, ssize, clean, gtid_mode, err);
	if (rc == 0) {
		const struct sl_buf *v = &s->off_topic->last_val[0];
		char text[1024], *p;

		*found = 1;
		memcpy(text, v->p, v->len);	/* < sizeof(text): checked by the parse */
		text[v->len] = '\0';
		if ((p = strstr(text, "\"server_id\":")) != NULL)
			s->stored_server_id = (uint32_t)strtoul(p + 12, NULL, 10);
	}
	return rc;
}

/* The one domain of s->flushed_gtid ("0-1-57"), or an error for several. */
static int
gtid_domain_of(struct cap_my *s, struct sl_err *err)
{
	if (!s->conf.position_gtid || s->flushed_gtid[0] == '\0')
		return 0;
	if (strchr(s->flushed_gtid, ',') != NULL)
		return sl_errf(err, SL_EUNSUPPORTED, "%s: the GTID position %s has several "
		    "domains: position = gtid needs a single GTID domain (use position = file)",
		    s->where, s->flushed_gtid);
	s->gtid_domain = (uint32_t)strtoul(s->flushed_gtid, NULL, 10);
	s->have_domain = 1;
	return 0;
}

/*
 * position = gtid: the GTID position of binlog position 'at'
 * (BINLOG_GTID_POS), into s->flushed_gtid; one domain at most.  Nothing
 * with position = file.
 */
static int
gtid_at(struct cap_my *s, struct st_mysql *m, const struct cap_my_pos *at,
    struct sl_err *err)
{
	char *q, *sql;
	int rc;

	if (!s->conf.position_gtid)
		return 0;
	q = sql_quote(m, at->file);
	sql = sl_asprintf("SELECT BINLOG_GTID_POS(%s, %" PRIu32 ")", q, at->pos);
	rc = cap_my_query_value(m, sql, 0, s->flushed_gtid, sizeof(s->flushed_gtid), err);
	free(sql);
	free(q);
	if (rc == SL_ENOTFOUND) {
		s->flushed_gtid[0] = '\0';
		rc = 0;
	}
	if (rc != 0)
		return rc;
	return gtid_domain_of(s, err);
}

/* ---------------------------------------------------------- snapshot */

struct tables_ctx {
	struct cap_my *s;
	char (*names)[2][256];
	size_t n, cap;
	char versioned[520];		/* a matching system-versioned table */
};

static int
tables_row(void *ctx, const char *const *row, const unsigned long *lens, unsigned n,
    struct sl_err *err)
{
	struct tables_ctx *t = ctx;

	(void)lens;
	(void)err;
	if (n < 2 || row[0] == NULL || row[1] == NULL)
		return 0;
	if (!cap_my_match(t->s->conf.tables, t->s->dsn.database, row[0], row[1]))
		return 0;
	if (n > 2 && row[2] && strcmp(row[2], "SYSTEM VERSIONED") == 0 && !t->versioned[0])
		snprintf(t->versioned, sizeof(t->versioned), "%s.%s", row[0], row[1]);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->names = sl_realloc(t->names, t->cap * sizeof(*t->names));
	}
	snprintf(t->names[t->n][0], 256, "%s", row[0]);
	snprintf(t->names[t->n][1], 256, "%s", row[1]);
	t->n++;
	return 0;
}

static int
tables_resolve(struct cap_my *s, struct tables_ctx *t, struct sl_err *err)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->s = s;
	rc = cap_my_query(s->sql, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM "
	    "information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') "
	    "ORDER BY 1, 2", tables_row, t, err);	/* cap_my_match leaves out the server's */
	if (rc == 0 && t->n == 0)
		rc = sl_errf(err, SL_ENOTFOUND, "%s: no table matches tables = %s", s->where,
		    s->conf.tables);
	return rc;
}

struct snap_ctx {
	struct cap_my *s;
	struct cap_my_rel *r;
	struct sl_arena arena;
	struct sch_value *after;
	uint64_t rows;
	int64_t started_ns, last_progress_ns;
	int tty;
	volatile sig_atomic_t *stop;
	uint64_t estimate;
};

static int
snap_row(void *ctx, const char *const *row, const unsigned long *lens, unsigned n,
    struct sl_err *err)
{
	struct snap_ctx *c = ctx;
	struct cap_my_rel *r = c->r;
	uint32_t i;
	int rc;

	if (*c->stop)
		return SL_ESTATE;
	if (n != r->n_cols)
		return sl_errf(err, SL_EPROTO, "snapshot of %s: %u columns, the catalog said %u",
		    r->collection, n, r->n_cols);
	sl_arena_reset(&c->arena);
	for (i = 0; i < n; i++) {
		if (row[i] == NULL) {
			c->after[i] = sch_value_null();
			continue;
		}
		if ((rc = cap_my_parse_text(&r->cols[i], row[i], lens[i], &c->arena, &c->after[i],
		    err)) != 0)
			return sl_errf(err, rc, "snapshot of %s, row %" PRIu64 ": %s",
			    r->collection, c->rows + 1, err->msg);
	}
	if ((rc = cap_my_emit_row(c->s, NULL, r, SCH_OP_READ, NULL, c->after, NULL, 0, err)) != 0)
		return rc;
	c->rows++;
	c->s->snap_rows++;
	if ((c->rows & 1023) == 0) {
		int64_t now = sl_mono_ns();

		cap_producer_poll(c->s->prod, 0);
		cap_http_serve(c->s->http, cap_my_http_render, c->s);
		if (c->s->fatal)
			return sl_errf(err, c->s->fatal, "%s", c->s->fatal_msg);
		if (now - c->last_progress_ns >= 1000000000LL) {
			double secs = (double)(now - c->started_ns) / 1e9;
			double rate = secs > 0 ? (double)c->rows / secs : 0;

			c->last_progress_ns = now;
			if (c->tty)
				fprintf(stderr, "\rsnapshot %s: %" PRIu64 " of ~%" PRIu64 " rows, "
				    "%.0f rows/s, ETA %.0f s   ", r->collection, c->rows,
				    c->estimate, rate, rate > 0 && c->estimate > c->rows ?
				    (double)(c->estimate - c->rows) / rate : 0.0);
		}
	}
	return 0;
}

/* `name` with backticks doubled, appended to 'b'. */
static void
add_ident(struct sl_buf *b, const char *name)
{
	const char *p;

	sl_buf_add_u8(b, '`');
	for (p = name; *p; p++) {
		if (*p == '`')
			sl_buf_add_u8(b, '`');
		sl_buf_add_u8(b, (uint8_t)*p);
	}
	sl_buf_add_u8(b, '`');
}

/*
 * The snapshot's SELECT of 'r': its columns in order, a FLOAT as
 * CAST(col AS DOUBLE), because SELECT prints a FLOAT with 6 significant
 * digits and the binlog has all of its bits (cap_my_parse_text narrows the
 * exact text back to the same float).
 */
static char *
snapshot_select(const struct cap_my_rel *r)
{
	struct sl_buf b = { 0 };
	uint32_t i, k;
	char *out;

	sl_buf_printf(&b, "SELECT ");
	for (i = 0, k = 0; i < r->n_cols; i++) {
		if (i > 0)
			sl_buf_add(&b, ", ", 2);
		if (r->keep != NULL && !(k < r->table.n_columns && r->keep[k] == i)) {
			/* left out by exclude_columns: its values stay on the server */
			sl_buf_printf(&b, "NULL");
		} else if (r->cols[i].type == CAP_MYT_FLOAT) {
			sl_buf_printf(&b, "CAST(");
			add_ident(&b, r->cols[i].name);
			sl_buf_printf(&b, " AS DOUBLE)");
		} else {
			add_ident(&b, r->cols[i].name);
		}
		if (r->keep != NULL && k < r->table.n_columns && r->keep[k] == i)
			k++;
	}
	sl_buf_printf(&b, " FROM ");
	add_ident(&b, r->db);
	sl_buf_add_u8(&b, '.');
	add_ident(&b, r->name);
	sl_buf_add_u8(&b, 0);
	out = sl_strdup((const char *)b.p);
	sl_buf_free(&b);
	return out;
}

/*
 * Copy the tables under one consistent snapshot.  'pick' NULL: the initial
 * snapshot of every table 'tables' matches, after which the stream starts
 * at the snapshot's position.  Else an ad-hoc snapshot of the tables the
 * patterns 'pick' match among those, in the middle of the stream: each
 * described afresh from the catalog, emptied by a truncate, its rows at the
 * snapshot's position Q (packed, minus one: a transaction starting at Q is
 * not in the copy), and its topic's stream changes before Q skipped.
 */
static int
snapshot(struct cap_my *s, const char *pick, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct st_mysql *m = NULL;
	struct tables_ctx tabs;
	struct cap_my_pos at;
	char v[256];
	size_t i;
	int rc, locked = 0;

	memset(&at, 0, sizeof(at));
	if ((rc = tables_resolve(s, &tabs, err)) != 0)
		goto out;
	if (pick != NULL) {
		size_t k = 0;
		int versioned = 0;

		for (i = 0; i < tabs.n; i++) {
			char full[520];

			if (!cap_my_match(pick, s->dsn.database, tabs.names[i][0], tabs.names[i][1]) ||
			    cap_my_is_outbox(s, tabs.names[i][0], tabs.names[i][1]) ||
			    cap_my_is_signal(s, tabs.names[i][0], tabs.names[i][1]))
				continue;
			snprintf(full, sizeof(full), "%s.%s", tabs.names[i][0], tabs.names[i][1]);
			versioned |= strcmp(full, tabs.versioned) == 0;
			if (k != i)
				memcpy(tabs.names[k], tabs.names[i], sizeof(tabs.names[k]));
			k++;
		}
		tabs.n = k;
		if (!versioned)
			tabs.versioned[0] = '\0';
		if (k == 0) {
			sl_warn("ad-hoc snapshot of %s: no table this source captures matches "
			    "('tables' = %s): nothing copied", pick, s->conf.tables);
			goto out;
		}
	}
	if (tabs.versioned[0]) {
		/*
		 * MariaDB's TABLE_TYPE 'SYSTEM VERSIONED' was not 'BASE TABLE':
		 * such tables were left out of the snapshot without a word.
		 * Their binlog rows carry the history (row_start, row_end, and
		 * row_end in the primary key: a DELETE is an UPDATE of row_end),
		 * which SELECT does not give alike.
		 */
		rc = sl_errf(err, SL_EUNSUPPORTED, "%s: table %s is system-versioned (WITH SYSTEM "
		    "VERSIONING): the snapshot cannot copy it as the binlog has its rows (with "
		    "their history, row_end in the key); leave it out of tables (!%s), or use "
		    "snapshot = never to stream its changes only", s->where, tabs.versioned,
		    tabs.versioned);
		goto out;
	}
	if ((rc = cap_my_sql_open(&s->dsn, &m, err)) != 0)
		goto out;
	/*
	 * A streamed SELECT waits while the producer's queue is full (a slow
	 * broker): the server must not give up on writing to us after its
	 * default 60 s.
	 */
	if ((rc = cap_my_exec(m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
	    err)) != 0 || (rc = cap_my_exec(m, "SET SESSION net_write_timeout = 3600", err)) != 0)
		goto out;
	if (!s->mariadb) {
		if ((rc = cap_my_exec(m, "FLUSH TABLES WITH READ LOCK", err)) != 0) {
			rc = sl_errf(err, rc, "%s: %s (the snapshot of MySQL needs RELOAD)", s->where,
			    err->msg);
			goto out;
		}
		locked = 1;
	}
	if ((rc = cap_my_exec(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT", err)) != 0)
		goto out;
	if (s->mariadb && cap_my_query_value(m, "SHOW STATUS LIKE 'binlog_snapshot_file'", 1,
	    at.file, sizeof(at.file), err) == 0 && at.file[0] &&
	    cap_my_query_value(m, "SHOW STATUS LIKE 'binlog_snapshot_position'", 1, v, sizeof(v),
	    err) == 0) {
		at.pos = (uint32_t)strtoul(v, NULL, 10);
	} else if ((rc = master_status(s, m, &at, err)) != 0) {
		goto out;
	}
	if (locked) {
		if ((rc = cap_my_exec(m, "UNLOCK TABLES", err)) != 0)
			goto out;
		locked = 0;
	}
	if (pick != NULL) {
		s->snap_pos = cap_my_pack(&at) - 1;
		sl_info("ad-hoc snapshot of %zu table%s at binlog %s:%" PRIu32 " (streaming "
		    "waits)", tabs.n, tabs.n == 1 ? "" : "s", at.file, at.pos);
	} else {
		if ((rc = gtid_at(s, m, &at, err)) != 0)
			goto out;
		s->at = at;
		sl_info("snapshot of %zu tables at binlog %s:%" PRIu32, tabs.n, at.file, at.pos);
	}
	for (i = 0; i < tabs.n && !*stop; i++) {
		struct snap_ctx c;
		char *qd, *qt, *sql, est[32];
		struct cap_my_rel *r;

		if ((rc = rel_catalog(s, tabs.names[i][0], tabs.names[i][1], pick != NULL, &r,
		    err)) != 0)
			goto out;
		if (r->outbox || r->signal)
			continue;	/* their rows were events before capture began */
		if (pick != NULL) {
			/* a view of the table keeps only what this copy holds */
			if ((rc = cap_my_emit_truncate(s, NULL, r, &at, err)) != 0)
				goto out;
		} else if (r->topic->hi != NULL) {
			int32_t p;

			for (p = 0; p < r->topic->partitions; p++)
				if (r->topic->hi[p] > 0)
					break;
			if (p < r->topic->partitions) {
				sl_info("%s already holds messages (an earlier snapshot was "
				    "interrupted): a truncate marker goes first", r->topic->name);
				if ((rc = cap_my_emit_truncate(s, NULL, r, &at, err)) != 0)
					goto out;
			}
		}
		memset(&c, 0, sizeof(c));
		c.s = s;
		c.r = r;
		c.stop = stop;
		c.tty = isatty(2);
		c.started_ns = c.last_progress_ns = sl_mono_ns();
		c.after = sl_calloc(r->n_cols + 1, sizeof(*c.after));
		qd = sql_quote(m, r->db);
		qt = sql_quote(m, r->name);
		sql = sl_asprintf("SELECT TABLE_ROWS FROM information_schema.TABLES WHERE "
		    "TABLE_SCHEMA = %s AND TABLE_NAME = %s", qd, qt);
		if (cap_my_query_value(m, sql, 0, est, sizeof(est), err) == 0)
			c.estimate = strtoull(est, NULL, 10);
		free(sql);
		free(qd);
		free(qt);
		sql = snapshot_select(r);
		rc = cap_my_query(m, sql, snap_row, &c, err);
		free(sql);
		free(c.after);
		sl_arena_free(&c.arena);
		if (c.tty)
			fprintf(stderr, "\n");
		if (rc == SL_ESTATE && *stop) {
			rc = 0;
			break;
		}
		if (rc != 0)
			goto out;
		sl_info("snapshot of %s: %" PRIu64 " rows", r->collection, c.rows);
	}
	if (*stop)
		goto out;
	/* (2) every row acknowledged, then the position */
	while (cap_producer_outstanding(s->prod) > 0 && !s->fatal && !*stop)
		cap_producer_poll(s->prod, 100);
	if (s->fatal) {
		rc = sl_errf(err, s->fatal, "%s", s->fatal_msg);
		goto out;
	}
	if (*stop)
		goto out;
	if (pick != NULL) {
		/* the stream's changes of these tables up to Q are in the copy */
		struct cap_pos mark = { s->snap_pos, UINT64_MAX };

		for (i = 0; i < tabs.n; i++) {
			struct cap_my_rel *r = rel_find(s, tabs.names[i][0], tabs.names[i][1]);
			struct cap_topic *tp = r ? r->topic : NULL;
			int32_t p;

			for (p = 0; tp && p < tp->partitions; p++)
				if (!tp->has_last[p] || cap_pos_cmp(&mark, &tp->last[p]) > 0) {
					tp->last[p] = mark;
					tp->has_last[p] = 1;
				}
		}
		sl_info("ad-hoc snapshot done: rows of %zu table%s copied", tabs.n,
		    tabs.n == 1 ? "" : "s");
		goto out;
	}
	s->flushed = at;
	s->at = at;
	if ((rc = cap_my_store(s, "done", 0, err)) != 0)
		goto out;
	rc = cap_producer_flush(s->prod, 30000);
	if (rc != 0)
		rc = sl_errf(err, rc, "kafka: the snapshot's position was not acknowledged");
	else
		sl_info("snapshot done: %" PRIu64 " rows", s->snap_rows);
out:
	s->snap_pos = 0;
	if (m && locked)
		(void)cap_my_exec(m, "UNLOCK TABLES", NULL);
	cap_my_sql_close(m);
	free(tabs.names);
	return rc;
}

int
cap_my_adhoc_snapshot(struct cap_my *s, volatile sig_atomic_t *stop, struct sl_err *err)
{
	char *pick = s->adhoc_pending;
	struct cap_my_dump_opts o;
	int rc;

	s->adhoc_pending = NULL;
	/* what the stream produced so far acknowledged: the marks compare with it */
	while (cap_producer_outstanding(s->prod) > 0 && !s->fatal && !*stop)
		cap_producer_poll(s->prod, 100);
	if (s->fatal)
		rc = sl_errf(err, s->fatal, "%s", s->fatal_msg);
	else
		rc = snapshot(s, pick, stop, err);
	free(pick);
	if (rc != 0 || *stop)
		return rc;
	/*
	 * The server may have given up on a binlog connection nobody read
	 * while the tables were copied (net_write_timeout): open it again
	 * after the signal's transaction, where the stream is.
	 */
	cap_my_dump_close(s->dump);
	s->dump = NULL;
	memset(&o, 0, sizeof(o));
	o.file = s->at.file;
	o.pos = s->at.pos;
	o.server_id = s->conf.server_id;
	o.heartbeat_ms = s->conf.heartbeat_ms > 0 && s->conf.heartbeat_ms < 5000 ?
	    s->conf.heartbeat_ms : 5000;
	if ((rc = cap_my_dump_open(&s->dsn, &o, &s->dump, err)) != 0)
		return rc;
	sl_info("streaming again from binlog %s:%" PRIu32, s->at.file, s->at.pos);
	return 0;
}

/* ---------------------------------------------------------------- run */

static int
aux_topic(struct cap_my *s, const char *suffix, int compact, int64_t retention_ms,
    struct cap_topic **out, struct sl_err *err)
{
	struct cap_topic_spec spec;
	char *name = sl_asprintf("%s.%s", s->conf.topic_prefix, suffix);
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.name = name;
	spec.partitions = 1;
	spec.replication_factor = s->conf.topic_replication;
	spec.compact = compact;
	spec.retention_ms = retention_ms;
	rc = cap_topic_open(s->prod, &spec, out, err);
	free(name);
	return rc;
}

int
cap_my_run(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct cap_my *s = sl_calloc(1, sizeof(*s));
	struct cap_my_dump_opts o;
	struct binlogs_ctx bl;
	char checksum[32], state[32], version[128];
	int rc, found, clean = 0, gtid_mode = 0;

	if ((rc = cap_conf_parse(cfg, sec, bootstrap_default, "mysql", cap_my_conf_keys,
	    &s->conf, &s->json_opts, err)) != 0)
		goto out;
	if ((rc = cap_my_dsn_parse(s->conf.dsn, &s->dsn, err)) != 0) {
		rc = sl_errf(err, SL_ECONFIG, "%s: [source \"%s\"] %s", cfg->path, s->conf.name,
		    err->msg);
		goto out;
	}
	cap_my_dsn_where(&s->dsn, s->where, sizeof(s->where));
	sl_log_set_component(s->conf.name);
	if (s->conf.http && (rc = cap_http_open(s->conf.http, &s->http, err)) != 0)
		goto out;
	if ((rc = cap_my_sql_open(&s->dsn, &s->sql, err)) != 0)
		goto out;
	if ((rc = cap_my_query_value(s->sql, "SELECT VERSION()", 0, version, sizeof(version),
	    err)) != 0)
		goto out;
	s->mariadb = strstr(version, "MariaDB") != NULL;
	if (s->conf.position_gtid && !s->mariadb) {
		rc = cap_conf_bad(cfg, sec, "position", "gtid is for MariaDB servers (this is "
		    "MySQL: use position = file)", err);
		goto out;
	}
	if ((rc = server_checks(s, checksum, sizeof(checksum), err)) != 0)
		goto out;
	{
		struct tables_ctx t;

		if ((rc = tables_resolve(s, &t, err)) != 0) {
			free(t.names);
			goto out;
		}
		free(t.names);
	}
	if ((rc = cap_producer_open(s->conf.bootstrap, s->conf.producer, s->conf.n_producer,
	    cap_my_delivered, s, &s->prod, err)) != 0)
		goto out;
	cap_producer_set_stop(s->prod, stop);
	s->off_topic_name = sl_asprintf("%s.offsets", s->conf.topic_prefix);
	if ((rc = aux_topic(s, "offsets", 1, 0, &s->off_topic, err)) != 0 ||
	    (s->conf.tx_topic && (rc = aux_topic(s, "transaction", 0, s->conf.tx_retention_ms,
	    &s->tx_topic, err)) != 0) ||
	    (s->conf.hb_topic && (rc = aux_topic(s, "heartbeat", 0, s->conf.hb_retention_ms,
	    &s->hb_topic, err)) != 0))
		goto out;
	/* the table topics before the settle, so late requests are seen in all */
	{
		struct tables_ctx t;
		size_t i;

		size_t n_outbox = 0;

		if ((rc = tables_resolve(s, &t, err)) == 0)
			for (i = 0; i < t.n && rc == 0; i++) {
				struct cap_my_rel *r;

				rc = cap_my_rel_catalog(s, t.names[i][0], t.names[i][1], &r, err);
				n_outbox += rc == 0 && r->outbox;
			}
		if (rc == 0 && s->conf.outbox_tables != NULL && n_outbox == 0)
			sl_warn("outbox.tables (%s) matches none of the tables captured "
			    "('tables' = %s): an outbox table must be captured too",
			    s->conf.outbox_tables, s->conf.tables);
		free(t.names);
		if (rc != 0)
			goto out;
	}
	state[0] = '\0';
	if ((rc = stored_position(s, &found, state, sizeof(state), &clean, &gtid_mode,
	    err)) != 0)
		goto out;
	if (found && gtid_mode != s->conf.position_gtid) {
		/* positions of one kind do not compare with the other's */
		rc = cap_conf_bad(cfg, sec, "position", gtid_mode ? "the topics were written with "
		    "position = gtid; keep it, or use a new topic_prefix" : "the topics were written "
		    "with position = file; keep it, or use a new topic_prefix", err);
		goto out;
	}
	if (found && (rc = gtid_domain_of(s, err)) != 0)
		goto out;
	if (found && clean) {
		/*
		 * (3) nothing was in flight when the last run stopped: no late
		 * requests to wait for.  The mark goes first, acknowledged, so a
		 * crash of this run never leaves it as the last record.
		 */
		sl_info("the last run stopped cleanly at %s:%" PRIu32 ": no late produce "
		    "requests to wait for", s->flushed.file, s->flushed.pos);
		if ((rc = cap_my_store(s, state, 0, err)) != 0 ||
		    (rc = cap_producer_flush(s->prod, 30000)) != 0) {
			rc = sl_errf(err, rc ? rc : SL_EPROTO, "kafka: storing the position in %s: %s",
			    s->off_topic_name, err->msg[0] ? err->msg : "not acknowledged");
			goto out;
		}
	} else if ((rc = cap_producer_settle(s->prod, 300, err)) != 0) {
		goto out;
	}
	if (!found || strcmp(state, "done") != 0) {
		if (s->conf.snapshot == CAP_SNAP_NEVER) {
			if ((rc = master_status(s, s->sql, &s->flushed, err)) != 0 ||
			    (rc = gtid_at(s, s->sql, &s->flushed, err)) != 0)
				goto out;
			sl_info("no stored position and snapshot = never: streaming from the "
			    "server's current position");
			if ((rc = cap_my_store(s, "done", 0, err)) != 0)
				goto out;
		} else {
			if ((rc = snapshot(s, NULL, stop, err)) != 0 || *stop)
				goto out;
		}
	} else if (s->conf.snapshot == CAP_SNAP_INITIAL_ONLY) {
		sl_info("snapshot = initial_only and the snapshot was taken already: nothing "
		    "to do");
		goto out;
	}
	if (s->conf.snapshot == CAP_SNAP_INITIAL_ONLY)
		goto out;
	s->stored = s->flushed;
	s->have_stored = 1;
	s->at = s->flushed;
	memset(&o, 0, sizeof(o));
	if (s->conf.position_gtid && s->flushed_gtid[0]) {
		/* the server finds the GTID in its own binlogs: any server of the topology */
		o.gtid = s->flushed_gtid;
	} else {
		/* (1) the file must still be there, on the server that wrote it */
		memset(&bl, 0, sizeof(bl));
		bl.want = s->flushed.file;
		if ((rc = cap_my_query(s->sql, "SHOW BINARY LOGS", binlogs_row, &bl, err)) != 0)
			goto out;
		if (!bl.found || (s->stored_server_id != 0 &&
		    s->stored_server_id != s->source_server_id)) {
			rc = purged_error(s, bl.first, err);
			goto out;
		}
		o.file = s->flushed.file;
		o.pos = s->flushed.pos;
	}
	cap_my_decoder_init(&s->dec, strcasecmp(checksum, "NONE") != 0);
	o.server_id = s->conf.server_id;
	o.heartbeat_ms = s->conf.heartbeat_ms > 0 && s->conf.heartbeat_ms < 5000 ?
	    s->conf.heartbeat_ms : 5000;
	if ((rc = cap_my_dump_open(&s->dsn, &o, &s->dump, err)) != 0)
		goto out;
	if (o.gtid)
		sl_info("streaming from binlog after GTID %s (%s, server_id %" PRIu32 ", as "
		    "replica %" PRIu32 ")", o.gtid, version, s->source_server_id,
		    s->conf.server_id);
	else
		sl_info("streaming from binlog %s:%" PRIu32 " (%s, server_id %" PRIu32 ", as "
		    "replica %" PRIu32 ")", s->flushed.file, s->flushed.pos, version,
		    s->source_server_id, s->conf.server_id);
	rc = cap_my_stream(s, stop, err);
	if (rc == SL_ERANGE) {
		/*
		 * The server's error 1236 also means other things (another
		 * replica with our server_id, a damaged binlog): "purged" only
		 * when the file is gone; else the server's own words stand.
		 */
		struct sl_err e2 = { 0 };
		char said[sizeof(err->msg)];

		memset(&bl, 0, sizeof(bl));
		bl.want = s->at.file;
		snprintf(said, sizeof(said), "%s", err->msg);
		if (o.gtid && strstr(said, "GTID") != NULL)
			rc = sl_errf(err, SL_ESTATE, "%s: GTID %s, where capture stopped (stored in "
			    "topic %s), is in none of the server's binlogs (purged, or the server "
			    "is not of the same replication topology): capture will not skip "
			    "ahead; take a new snapshot: delete topic %s and start capture again "
			    "with snapshot = initial (the server said: %.200s)", s->where, o.gtid,
			    s->off_topic_name, s->off_topic_name, said);
		else if (cap_my_query(s->sql, "SHOW BINARY LOGS", binlogs_row, &bl, &e2) == 0 &&
		    !bl.found)
			rc = purged_error(s, bl.first, err);
		else
			rc = SL_EPROTO;
	}
	/* a stop: store what the broker acknowledged, nothing more */
	{
		int64_t end = sl_mono_ns() + 10 * INT64_C(1000000000);
		struct sl_err e2 = { 0 };

		while (cap_producer_outstanding(s->prod) > 0 && sl_mono_ns() < end && !s->fatal)
			cap_producer_poll(s->prod, 100);
		cap_producer_poll(s->prod, 0);
		if (rc == 0 && !s->fatal) {
			cap_my_txq_advance(s);
			/* (3) clean: everything acknowledged, no transaction open */
			if (cap_my_store(s, "done", *stop && s->txq_head == NULL && s->cur == NULL &&
			    cap_producer_outstanding(s->prod) == 0, &e2) == 0)
				(void)cap_producer_flush(s->prod, 5000);
		}
	}
	sl_info("stopped at binlog %s:%" PRIu32 ": %" PRIu64 " messages produced, %" PRIu64
	    " skipped as already stored", s->flushed.file, s->flushed.pos, s->produced,
	    s->skipped);
out:
	cap_my_dump_close(s->dump);
	cap_producer_close(s->prod);
	cap_my_sql_close(s->sql);
	cap_http_close(s->http);
	cap_my_state_free(s);
	cap_my_dsn_free(&s->dsn);
	cap_conf_free(&s->conf);
	free(s);
	return rc;
}

int
cap_my_status(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, struct cap_my_status *out, struct sl_err *err)
{
	struct cap_conf c = { 0 };
	struct sch_json_opts jo;
	struct cap_my_dsn d;
	struct cap_my s;
	struct cap_producer *prod = NULL;
	struct sl_buf v = { 0 };
	char *topic = NULL, state[32];
	struct cap_my_pos pos;
	int rc, found = 0;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	memset(&s, 0, sizeof(s));
	if ((rc = cap_conf_parse(cfg, sec, bootstrap_default, "mysql", cap_my_conf_keys, &c, &jo,
	    err)) != 0)
		goto out;
	if ((rc = cap_my_dsn_parse(c.dsn, &d, err)) != 0) {
		rc = sl_errf(err, SL_ECONFIG, "%s: [source \"%s\"] %s", cfg->path, c.name, err->msg);
		goto out;
	}
	snprintf(out->topic_prefix, sizeof(out->topic_prefix), "%s", c.topic_prefix);
	cap_my_dsn_where(&d, s.where, sizeof(s.where));
	if ((rc = cap_my_sql_open(&d, &s.sql, err)) != 0 ||
	    (rc = master_status(&s, s.sql, &pos, err)) != 0)
		goto out;
	snprintf(out->server_file, sizeof(out->server_file), "%s", pos.file);
	out->server_pos = pos.pos;
	topic = sl_asprintf("%s.offsets", c.topic_prefix);
	if ((rc = cap_producer_open(c.bootstrap, c.producer, c.n_producer, NULL, NULL, &prod,
	    err)) != 0 ||
	    (rc = cap_topic_peek_last(prod, topic, 0, &v, &found, err)) != 0)
		goto out;
	if (found && v.len > 0) {
		int clean, gtid_mode;

		if ((rc = cap_my_stored_parse(topic, &v, &pos, out->gtid, sizeof(out->gtid), state,
		    sizeof(state), &clean, &gtid_mode, err)) != 0)
			goto out;
		out->stored = strcmp(state, "done") == 0;
		snprintf(out->stored_file, sizeof(out->stored_file), "%s", pos.file);
		out->stored_pos = pos.pos;
	}
out:
	cap_producer_close(prod);
	cap_my_sql_close(s.sql);
	sl_buf_free(&v);
	free(topic);
	cap_my_dsn_free(&d);
	cap_conf_free(&c);
	return rc;
}
