/*
 * materialize/fts_sink.c: apply change events to a search view, an SQLite
 * database with an FTS5 index over the configured columns.
 *
 * The same contract as lmdb_sink.c (mat.h): one SQLite transaction covers
 * a batch of events, their row changes, the schemas they introduce and
 * the next offset of every partition they came from, so the view always
 * equals the log replayed to its stored offsets.  It is not the consumer
 * (consumer.c) and not the reader (search.c).
 *
 * TABLES of "search.db" (docs/views.md "Search views")
 *   tables(id INTEGER PRIMARY KEY, name)  "<schema>.<name>" of each table
 *   docs(id INTEGER PRIMARY KEY, tid, pk, part, row)
 *            one per source row: tid its table's id, pk the encoded
 *            primary key (mat_pk_encode), part the Kafka partition of
 *            the change that wrote it, row the row record of mat_int.h
 *            (the same bytes an LMDB view stores); UNIQUE(tid, pk)
 *   fts      FTS5, one column per configured column, rowid = docs.id:
 *            the value as text (mat_value_text), NULL for NULL or a
 *            column the table lacks
 *   schemas(id, rec)          the schema records rows point at (4)
 *   offsets(topic, part, next) the next offset to consume (1)
 *   meta(key, value)          "columns", "tokenize": what fts was built
 *                             with; "version" (MAT_FTS_VERSION)
 *
 * Per event, as the LMDB sink: c, r, u put the after image at its key
 * (unchanged values from the stored row; a before image under another
 * key removes that row first); d removes; t removes the table's rows
 * written from the event's partition; anything else only moves the
 * offset.  The fts entry of a row is rewritten only when its indexed
 * text changed, so updating another column of a row with a large body
 * does not re-tokenize the body.
 *
 * Durability: WAL mode, synchronous = FULL (sync = full) or NORMAL
 * (nometa, the default): a power loss may undo the last commits, data
 * and offsets together, never corrupt the database.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"


struct fts_schema {
	struct mat_schema s;
	int64_t tid;			/* its table's id in "tables" (event schemas) */
	struct sl_arena arena;
	int stored;			/* in "schemas" */
	int32_t *fcol;			/* per fts column: its column here, or -1 */
};

enum {
	ST_DOC_GET, ST_DOC_INS, ST_DOC_UPD, ST_DOC_DEL, ST_FTS_INS, ST_FTS_DEL,
	ST_SCHEMA_GET, ST_SCHEMA_PUT, ST_OFF_GET, ST_OFF_PUT, ST_TRUNC, ST_TAB_GET, ST_TAB_INS,
	ST__COUNT
};

struct mat_fts {
	sqlite3 *db;
	char *dir;
	const struct mat_view_conf *conf;
	int in_txn;
	sqlite3_stmt *st[ST__COUNT];
	struct fts_schema **schemas;
	size_t n_schemas;
	struct mat_offsets offs;
	struct fts_table { char *name; int64_t id; } *tables;	/* ids seen this transaction */
	size_t n_tables;
	struct sl_arena arena;		/* per event */
	struct sl_buf pk, pk2, row, txt;
	struct mat_sink_stats st_;
};

/* An SQLite failure as an sl error: corruption or an I/O error. */
static int
fts_fail(struct mat_fts *s, struct sl_err *err, int rc, const char *what)
{
	int code = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ?
	    SL_ECORRUPT : (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;

	return sl_errf(err, code, "sqlite: %s/%s: %s: %s", s->dir, MAT_FTS_FILE, what,
	    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int
fts_exec(struct mat_fts *s, const char *sql, struct sl_err *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fts_fail(s, err, rc, sql);
}

/* Run a statement that returns no row, then reset it. */
static int
step_done(struct mat_fts *s, sqlite3_stmt *st, const char *what, struct sl_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : fts_fail(s, err, rc, what);
}

/* ----------------------------------------------------------------- open */

/* 'q' quoted as an SQL identifier (double quotes; conf.c refuses '"'). */
static void
add_ident(struct sl_buf *b, const char *q)
{
	sl_buf_printf(b, "\"%s\"", q);
}

static int
meta_get(struct mat_fts *s, const char *key, struct sl_buf *out, struct sl_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	sl_buf_reset(out);
	rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fts_fail(s, err, rc, "read meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sl_buf_printf(out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fts_fail(s, err, rc, "read meta");
	return rc == SQLITE_ROW ? 0 : SL_ENOTFOUND;
}

/*
 * Create the tables of a new database, or check that an existing one was
 * built with the configured columns and tokenizer.
 */
static int
schema_setup(struct mat_fts *s, struct sl_err *err)
{
	const struct mat_view_conf *c = s->conf;
	struct sl_buf cols = { 0 }, sql = { 0 }, have = { 0 };
	size_t i;
	int rc;

	for (i = 0; i < c->n_fts_columns; i++)
		sl_buf_printf(&cols, "%s%s", i ? "," : "", c->fts_columns[i]);
	sl_buf_add_u8(&cols, 0);
	if ((rc = fts_exec(s, "BEGIN IMMEDIATE", err)) != 0)
		goto out;
	if ((rc = fts_exec(s, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, "
	    "value TEXT NOT NULL)", err)) != 0)
		goto rollback;
	rc = meta_get(s, "version", &have, err);
	if (rc == 0) {
		sl_buf_add_u8(&have, 0);
		if (strcmp((const char *)have.p, MAT_FTS_VERSION) != 0) {
			rc = sl_errf(err, SL_ECONFIG, "view %s: %s holds search tables of version "
			    "%s; this sluice writes version %s: rebuild it (sluice materialize "
			    "--rebuild --view %s)", c->name, s->dir, (const char *)have.p,
			    MAT_FTS_VERSION, c->name);
			goto rollback;
		}
		rc = meta_get(s, "columns", &have, err);
	}
	if (rc == 0) {
		sl_buf_add_u8(&have, 0);
		if (strcmp((const char *)have.p, (const char *)cols.p) != 0) {
			rc = sl_errf(err, SL_ECONFIG, "view %s: %s was built with columns = %s, "
			    "the configuration says %s: rebuild it (sluice materialize "
			    "--rebuild --view %s)", c->name, s->dir, (const char *)have.p,
			    (const char *)cols.p, c->name);
			goto rollback;
		}
		if ((rc = meta_get(s, "tokenize", &have, err)) != 0)
			goto rollback;
		sl_buf_add_u8(&have, 0);
		if (strcmp((const char *)have.p, c->tokenize) != 0) {
			rc = sl_errf(err, SL_ECONFIG, "view %s: %s was built with tokenize = %s, "
			    "the configuration says %s: rebuild it (sluice materialize "
			    "--rebuild --view %s)", c->name, s->dir, (const char *)have.p,
			    c->tokenize, c->name);
			goto rollback;
		}
		rc = fts_exec(s, "COMMIT", err);
		goto out;
	}
	if (rc != SL_ENOTFOUND)
		goto rollback;
	sl_buf_printf(&sql,
	    "CREATE TABLE tables(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	    "CREATE TABLE docs(id INTEGER PRIMARY KEY, tid INTEGER NOT NULL, pk BLOB NOT NULL, "
	    "part INTEGER NOT NULL, row BLOB NOT NULL, UNIQUE(tid, pk));"
	    "CREATE TABLE schemas(id INTEGER PRIMARY KEY, rec BLOB NOT NULL);"
	    "CREATE TABLE offsets(topic TEXT NOT NULL, part INTEGER NOT NULL, "
	    "next INTEGER NOT NULL, PRIMARY KEY(topic, part));"
	    "CREATE VIRTUAL TABLE fts USING fts5(");
	for (i = 0; i < c->n_fts_columns; i++) {
		if (i)
			sl_buf_add_u8(&sql, ',');
		add_ident(&sql, c->fts_columns[i]);
	}
	sl_buf_printf(&sql, ", tokenize = '%s');", c->tokenize);
	sl_buf_add_u8(&sql, 0);
	rc = sqlite3_exec(s->db, (const char *)sql.p, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* most likely the tokenizer: SQLite names what it refused */
		rc = sl_errf(err, SL_ECONFIG, "view %s: creating the search tables "
		    "(columns = %s, tokenize = %s): %s", c->name, (const char *)cols.p,
		    c->tokenize, sqlite3_errmsg(s->db));
		goto rollback;
	}
	sl_buf_reset(&sql);
	sl_buf_printf(&sql, "INSERT INTO meta VALUES ('version', '%s'), ('columns', ?), "
	    "('tokenize', ?)", MAT_FTS_VERSION);
	sl_buf_add_u8(&sql, 0);
	{
		sqlite3_stmt *st = NULL;

		rc = sqlite3_prepare_v2(s->db, (const char *)sql.p, -1, &st, NULL);
		if (rc != SQLITE_OK) {
			rc = fts_fail(s, err, rc, "write meta");
			goto rollback;
		}
		sqlite3_bind_text(st, 1, (const char *)cols.p, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->tokenize, -1, SQLITE_STATIC);
		rc = step_done(s, st, "write meta", err);
		sqlite3_finalize(st);
		if (rc != 0)
			goto rollback;
	}
	rc = fts_exec(s, "COMMIT", err);
	goto out;
rollback:
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
	sl_buf_free(&cols);
	sl_buf_free(&sql);
	sl_buf_free(&have);
	return rc;
}

static int
prepare_all(struct mat_fts *s, struct sl_err *err)
{
	const struct mat_view_conf *c = s->conf;
	struct sl_buf ins = { 0 };
	const char *sql[ST__COUNT] = {
		[ST_DOC_GET] = "SELECT id, row FROM docs WHERE tid = ? AND pk = ?",
		[ST_DOC_INS] = "INSERT INTO docs(tid, pk, part, row) VALUES (?, ?, ?, ?) "
		    "ON CONFLICT (tid, pk) DO NOTHING",
		[ST_DOC_UPD] = "UPDATE docs SET part = ?, row = ? WHERE id = ?",
		[ST_DOC_DEL] = "DELETE FROM docs WHERE id = ?",
		[ST_FTS_DEL] = "DELETE FROM fts WHERE rowid = ?",
		[ST_SCHEMA_GET] = "SELECT rec FROM schemas WHERE id = ?",
		[ST_SCHEMA_PUT] = "INSERT OR REPLACE INTO schemas(id, rec) VALUES (?, ?)",
		[ST_OFF_GET] = "SELECT next FROM offsets WHERE topic = ? AND part = ?",
		[ST_OFF_PUT] = "INSERT OR REPLACE INTO offsets(topic, part, next) VALUES (?, ?, ?)",
		[ST_TRUNC] = "SELECT id FROM docs WHERE tid = ? AND part = ?",
		[ST_TAB_GET] = "SELECT id FROM tables WHERE name = ?",
		[ST_TAB_INS] = "INSERT INTO tables(name) VALUES (?)",
	};
	size_t i;
	int rc = 0;

	sl_buf_printf(&ins, "INSERT INTO fts(rowid");
	for (i = 0; i < c->n_fts_columns; i++) {
		sl_buf_add_u8(&ins, ',');
		add_ident(&ins, c->fts_columns[i]);
	}
	sl_buf_printf(&ins, ") VALUES (?");
	for (i = 0; i < c->n_fts_columns; i++)
		sl_buf_printf(&ins, ", ?");
	sl_buf_printf(&ins, ")");
	sl_buf_add_u8(&ins, 0);
	sql[ST_FTS_INS] = (const char *)ins.p;
	for (i = 0; i < ST__COUNT && rc == 0; i++) {
		int r = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &s->st[i], NULL);

		if (r != SQLITE_OK)
			rc = fts_fail(s, err, r, sql[i]);
	}
	sl_buf_free(&ins);
	return rc;
}

int
mat_fts_open(const char *dir, const struct mat_view_conf *conf, struct mat_fts **out,
    struct sl_err *err)
{
	struct mat_fts *s = sl_calloc(1, sizeof(*s));
	char *file = sl_asprintf("%s/%s", dir, MAT_FTS_FILE);
	int rc;

	*out = NULL;
	s->dir = sl_strdup(dir);
	s->conf = conf;
	rc = sqlite3_open_v2(file, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	free(file);
	if (rc != SQLITE_OK) {
		rc = fts_fail(s, err, rc, "open");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* readers (sluice search) take a moment; the writer waits for none */
	sqlite3_busy_timeout(s->db, 5000);
	/*
	 * Keys arrive in random order: a page cache of 64 MiB (SQLite's
	 * default is 8) and reads through a map keep the docs index's inner
	 * pages in memory as the view grows, as LMDB's map does.
	 */
	if ((rc = fts_exec(s, "PRAGMA journal_mode = WAL", err)) != 0 ||
	    (rc = fts_exec(s, "PRAGMA cache_size = -65536", err)) != 0 ||
	    (rc = fts_exec(s, "PRAGMA mmap_size = 1073741824", err)) != 0 ||
	    (rc = fts_exec(s, conf->sync == MAT_SYNC_FULL ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", err)) != 0 ||
	    (rc = schema_setup(s, err)) != 0 ||
	    (rc = prepare_all(s, err)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	mat_fts_close(s);
	return rc;
}

static void
caches_drop(struct mat_fts *s)
{
	size_t i;

	for (i = 0; i < s->n_schemas; i++) {
		sl_arena_free(&s->schemas[i]->arena);
		free(s->schemas[i]->fcol);
		free(s->schemas[i]);
	}
	free(s->schemas);
	s->schemas = NULL;
	s->n_schemas = 0;
	mat_offsets_clear(&s->offs);
	for (i = 0; i < s->n_tables; i++)
		free(s->tables[i].name);
	free(s->tables);
	s->tables = NULL;
	s->n_tables = 0;
}

void
mat_fts_close(struct mat_fts *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->in_txn)
		mat_fts_abort(s);
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		sqlite3_close(s->db);
	caches_drop(s);
	sl_arena_free(&s->arena);
	sl_buf_free(&s->pk);
	sl_buf_free(&s->pk2);
	sl_buf_free(&s->row);
	sl_buf_free(&s->txt);
	free(s->dir);
	free(s);
}

void
mat_fts_stats(const struct mat_fts *s, struct mat_sink_stats *out)
{
	*out = s->st_;
}

/* ------------------------------------------------------------ transactions */

int
mat_fts_begin(struct mat_fts *s, struct sl_err *err)
{
	int rc;

	if (s->in_txn)
		return 0;
	if ((rc = fts_exec(s, "BEGIN IMMEDIATE", err)) != 0)
		return rc;
	s->in_txn = 1;
	return 0;
}

int
mat_fts_in_txn(const struct mat_fts *s)
{
	return s->in_txn;
}

/*
 * After a rollback the caches may describe what was undone: schemas
 * marked stored, offsets moved.  Forget them; they are read again.
 */
void
mat_fts_abort(struct mat_fts *s)
{
	if (!s->in_txn)
		return;
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_txn = 0;
	caches_drop(s);
}

int
mat_fts_commit(struct mat_fts *s, struct sl_err *err)
{
	size_t i;
	int rc;

	if (!s->in_txn)
		return 0;
	for (i = 0; i < s->offs.n; i++) {
		sqlite3_stmt *st = s->st[ST_OFF_PUT];

		if (!s->offs.v[i].dirty)
			continue;
		sqlite3_bind_text(st, 1, s->offs.v[i].topic, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, s->offs.v[i].partition);
		sqlite3_bind_int64(st, 3, s->offs.v[i].next);
		if ((rc = step_done(s, st, "put offset", err)) != 0) {
			mat_fts_abort(s);
			return rc;
		}
		s->offs.v[i].dirty = 0;
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fts_fail(s, err, rc, "commit");
		mat_fts_abort(s);
		return rc;
	}
	s->in_txn = 0;
	s->st_.commits++;
	return 0;
}

/* ------------------------------------------------------------------ offsets */

/* The cached offset, read from "offsets" on first use; NULL on error. */
static struct mat_offset *
offset_find(struct mat_fts *s, const char *topic, int32_t partition, struct sl_err *err,
    int *rcp)
{
	sqlite3_stmt *st = s->st[ST_OFF_GET];
	struct mat_offset *o = mat_offsets_find(&s->offs, topic, partition);
	int rc;

	*rcp = 0;
	if (o)
		return o;
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, partition);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		o = mat_offsets_add(&s->offs, topic, partition,
		    rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1);
	else
		*rcp = fts_fail(s, err, rc, "get offset");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return o;
}

int
mat_fts_offset_get(struct mat_fts *s, const char *topic, int32_t partition, int64_t *next,
    struct sl_err *err)
{
	int rc;
	struct mat_offset *o = offset_find(s, topic, partition, err, &rc);

	*next = o ? o->next : -1;
	return o ? 0 : rc;
}

/* ------------------------------------------------------------------ schemas */

static struct fts_schema *
schema_add(struct mat_fts *s)
{
	struct fts_schema *fs = sl_calloc(1, sizeof(*fs));

	s->schemas = sl_realloc(s->schemas, (s->n_schemas + 1) * sizeof(*s->schemas));
	s->schemas[s->n_schemas++] = fs;
	return fs;
}

static void
schema_map(struct mat_fts *s, struct fts_schema *fs)
{
	size_t i;
	uint32_t k;

	fs->fcol = sl_calloc(s->conf->n_fts_columns + 1, sizeof(*fs->fcol));
	for (i = 0; i < s->conf->n_fts_columns; i++) {
		fs->fcol[i] = -1;
		for (k = 0; k < fs->s.n_columns; k++)
			if (strcmp(fs->s.columns[k].name, s->conf->fts_columns[i]) == 0)
				fs->fcol[i] = (int32_t)k;
	}
}

static struct fts_schema *
schema_cached(struct mat_fts *s, uint64_t id)
{
	size_t i;

	for (i = s->n_schemas; i-- > 0;)
		if (s->schemas[i]->s.id == id)
			return s->schemas[i];
	return NULL;
}

/* The id of table 'name' in "tables", made when new (in the open transaction). */
static int
table_id(struct mat_fts *s, const char *name, int64_t *id, struct sl_err *err)
{
	sqlite3_stmt *st = s->st[ST_TAB_GET];
	size_t i;
	int rc;

	for (i = 0; i < s->n_tables; i++)
		if (strcmp(s->tables[i].name, name) == 0) {
			*id = s->tables[i].id;
			return 0;
		}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE) {
		sqlite3_bind_text(s->st[ST_TAB_INS], 1, name, -1, SQLITE_STATIC);
		if ((rc = step_done(s, s->st[ST_TAB_INS], "add table", err)) != 0)
			return rc;
		*id = (int64_t)sqlite3_last_insert_rowid(s->db);
	} else if (rc != SQLITE_ROW)
		return fts_fail(s, err, rc, "get table");
	s->tables = sl_realloc(s->tables, (s->n_tables + 1) * sizeof(*s->tables));
	s->tables[s->n_tables].name = sl_strdup(name);
	s->tables[s->n_tables++].id = *id;
	return 0;
}

static int
schema_of_event(struct mat_fts *s, const struct sch_table *t, struct fts_schema **out,
    struct sl_err *err)
{
	struct fts_schema *fs = schema_cached(s, t->schema_id);
	sqlite3_stmt *st = s->st[ST_SCHEMA_PUT];
	int rc;

	if (fs == NULL) {
		fs = schema_add(s);
		mat_schema_from_event(t, &fs->arena, &fs->s);
		schema_map(s, fs);
		fs->tid = -1;
	}
	if (fs->tid < 0 && (rc = table_id(s, fs->s.table, &fs->tid, err)) != 0)
		return rc;
	if (!fs->stored) {
		sl_buf_reset(&s->row);
		mat_schema_encode(&fs->s, &s->row);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)fs->s.id);
		sqlite3_bind_blob(st, 2, s->row.p, (int)s->row.len, SQLITE_STATIC);
		if ((rc = step_done(s, st, "put schema", err)) != 0)	/* (4) */
			return rc;
		fs->stored = 1;
	}
	*out = fs;
	return 0;
}

static int
schema_by_id(struct mat_fts *s, uint64_t id, struct fts_schema **out, struct sl_err *err)
{
	struct fts_schema *fs = schema_cached(s, id);
	sqlite3_stmt *st = s->st[ST_SCHEMA_GET];
	int rc;

	if (fs) {
		*out = fs;
		return 0;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? SL_CORRUPT(err, "row of schema %" PRIu64
		    " but no such schema", id) : fts_fail(s, err, rc, "get schema");
	}
	fs = schema_add(s);
	rc = mat_schema_decode(sl_slice_make(sqlite3_column_blob(st, 0),
	    (size_t)sqlite3_column_bytes(st, 0)), id, &fs->arena, &fs->s, err);
	sqlite3_reset(st);
	if (rc != 0) {
		s->n_schemas--;
		sl_arena_free(&fs->arena);
		free(fs);
		return rc;
	}
	fs->stored = 1;
	schema_map(s, fs);
	*out = fs;
	return 0;
}

/* ------------------------------------------------------------------- rows */

/* A stored row: its docs id and decoded values (copied into the arena). */
struct old_row {
	int present;
	int64_t id;
	struct fts_schema *fs;
	struct sch_value *vals;
	uint32_t n;
};

static int
old_row_read(struct mat_fts *s, int64_t tid, struct sl_slice pk, struct old_row *o,
    struct sl_err *err)
{
	sqlite3_stmt *st = s->st[ST_DOC_GET];
	uint64_t sid;
	void *copy;
	size_t len;
	int rc;

	memset(o, 0, sizeof(*o));
	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_blob(st, 2, pk.p, (int)pk.len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return fts_fail(s, err, rc, "get row");
	}
	o->id = sqlite3_column_int64(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 1);
	copy = sl_arena_alloc(&s->arena, len + 1);
	if (len)
		memcpy(copy, sqlite3_column_blob(st, 1), len);
	sqlite3_reset(st);
	if ((rc = mat_row_header(sl_slice_make(copy, len), &sid, NULL, NULL, NULL, err)) != 0 ||
	    (rc = schema_by_id(s, sid, &o->fs, err)) != 0 ||
	    (rc = mat_row_decode(sl_slice_make(copy, len), &s->arena, &o->vals, &o->n,
	    err)) != 0)
		return rc;
	o->present = 1;
	return 0;
}

/*
 * The text fts indexes for value 'v' of column 'col', appended to 'out'
 * with a NUL; 0 when there is none (NULL, unchanged, absent), else 1.
 */
static int
value_text(const struct sch_value *v, const struct mat_column *col, struct sl_buf *out)
{
	if (v == NULL || v->kind == SCH_NULL || v->kind == SCH_UNCHANGED)
		return 0;
	mat_value_text(v, col, out);
	sl_buf_add_u8(out, 0);
	return 1;
}

/*
 * The indexed texts of a row, one after another in 'out' (each NUL
 * terminated), with 'at[i]' their starts or -1 for none.
 */
static void
row_texts(struct mat_fts *s, const struct fts_schema *fs, const struct sch_value *vals,
    uint32_t n, struct sl_buf *out, int64_t *at)
{
	size_t i;

	sl_buf_reset(out);
	for (i = 0; i < s->conf->n_fts_columns; i++) {
		int32_t c = fs->fcol[i];
		size_t start = out->len;

		at[i] = -1;
		if (c >= 0 && (uint32_t)c < n &&
		    value_text(&vals[c], &fs->s.columns[c], out))
			at[i] = (int64_t)start;
	}
}

static int
fts_put(struct mat_fts *s, int64_t id, const struct sl_buf *txt, const int64_t *at,
    struct sl_err *err)
{
	sqlite3_stmt *st = s->st[ST_FTS_INS];
	size_t i;

	sqlite3_bind_int64(st, 1, id);
	for (i = 0; i < s->conf->n_fts_columns; i++)
		if (at[i] >= 0)
			sqlite3_bind_text(st, (int)i + 2, (const char *)txt->p + at[i], -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, (int)i + 2);
	return step_done(s, st, "index row", err);
}

static int
fts_del(struct mat_fts *s, int64_t id, struct sl_err *err)
{
	sqlite3_bind_int64(s->st[ST_FTS_DEL], 1, id);
	return step_done(s, s->st[ST_FTS_DEL], "unindex row", err);
}

static int
row_delete(struct mat_fts *s, int64_t tid, struct sl_slice pk, struct sl_err *err)
{
	sqlite3_stmt *st = s->st[ST_DOC_GET];
	int64_t id;
	int rc;

	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_blob(st, 2, pk.p, (int)pk.len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fts_fail(s, err, rc, "get row");
	if ((rc = fts_del(s, id, err)) != 0)
		return rc;
	sqlite3_bind_int64(s->st[ST_DOC_DEL], 1, id);
	return step_done(s, s->st[ST_DOC_DEL], "delete row", err);
}

/* Remove the rows of table 'tid' last written from 'partition' (see lmdb_sink.c). */
static int
table_truncate(struct mat_fts *s, int64_t tid, int32_t partition, struct sl_err *err)
{
	sqlite3_stmt *st = s->st[ST_TRUNC];
	struct sl_buf ids = { 0 };
	size_t i;
	int rc;

	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_int(st, 2, partition);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		sl_buf_add(&ids, &id, sizeof(id));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		rc = fts_fail(s, err, rc, "truncate");
		goto out;
	}
	rc = 0;
	for (i = 0; i + sizeof(int64_t) <= ids.len && rc == 0; i += sizeof(int64_t)) {
		int64_t id;

		memcpy(&id, ids.p + i, sizeof(id));
		if ((rc = fts_del(s, id, err)) == 0) {
			sqlite3_bind_int64(s->st[ST_DOC_DEL], 1, id);
			rc = step_done(s, s->st[ST_DOC_DEL], "truncate", err);
		}
	}
out:
	sl_buf_free(&ids);
	return rc;
}

/* Insert a row not yet stored; '*done' = 0 when its key already is. */
static int
row_insert(struct mat_fts *s, int64_t tid, struct sl_slice pk, int32_t partition,
    const int64_t *at, int *done, struct sl_err *err)
{
	sqlite3_stmt *st = s->st[ST_DOC_INS];
	int rc;

	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_blob(st, 2, pk.p, (int)pk.len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, partition);
	sqlite3_bind_blob(st, 4, s->row.p, (int)s->row.len, SQLITE_STATIC);
	if ((rc = step_done(s, st, "insert row", err)) != 0)
		return rc;
	*done = sqlite3_changes(s->db) == 1;
	if (!*done)
		return 0;
	return fts_put(s, (int64_t)sqlite3_last_insert_rowid(s->db), &s->txt, at, err);
}

static int
row_upsert(struct mat_fts *s, struct fts_schema *fs, const struct sch_event *ev,
    const struct mat_pos *pos, struct sl_err *err)
{
	const struct sch_table *tab = ev->table;
	const char *tbl = fs->s.table;
	struct sch_value *vals = ev->after;
	struct old_row o = { 0 };
	size_t nf = s->conf->n_fts_columns;
	int64_t *at = sl_arena_alloc(&s->arena, (nf + 1) * sizeof(int64_t));
	int64_t *old_at = sl_arena_alloc(&s->arena, (nf + 1) * sizeof(int64_t));
	struct sl_buf old_txt = { 0 };
	struct sl_slice pk;
	uint32_t i, j;
	int rc, same, has_unchanged = 0, done = 0;
	size_t f;

	if (mat_pk_encode(&fs->s, vals, &s->pk) != 0)
		return sl_errf(err, SL_EINVAL, "view %s: %s: key not encodable", s->conf->name,
		    tbl);
	pk = sl_buf_slice(&s->pk);
	/* a before image under another key: that row moves */
	if (ev->before && mat_pk_encode(&fs->s, ev->before, &s->pk2) == 0 &&
	    (s->pk2.len != pk.len || memcmp(s->pk2.p, pk.p, pk.len) != 0) &&
	    (rc = row_delete(s, fs->tid, sl_buf_slice(&s->pk2), err)) != 0)
		return rc;
	for (i = 0; i < tab->n_columns; i++)
		has_unchanged |= vals[i].kind == SCH_UNCHANGED;
	/*
	 * An insert (or snapshot row) of a key not stored yet, the common case:
	 * one statement, no lookup first.  Otherwise, or when the key turns
	 * out to be stored (a replay after a crash), read the stored row.
	 */
	if (ev->op != SCH_OP_UPDATE && !has_unchanged) {
		sl_buf_reset(&s->row);
		mat_row_encode(fs->s.id, pos, vals, tab->n_columns, &s->row);
		row_texts(s, fs, vals, tab->n_columns, &s->txt, at);
		if ((rc = row_insert(s, fs->tid, pk, pos->partition, at, &done, err)) != 0 || done)
			return rc;
	}
	if ((rc = old_row_read(s, fs->tid, pk, &o, err)) != 0)
		return rc;
	for (i = 0; has_unchanged && i < tab->n_columns; i++) {
		if (vals[i].kind != SCH_UNCHANGED)
			continue;
		if (vals == ev->after) {
			struct sch_value *copy = sl_arena_alloc(&s->arena,
			    (size_t)tab->n_columns * sizeof(*copy) + 1);

			memcpy(copy, vals, (size_t)tab->n_columns * sizeof(*copy));
			vals = copy;
		}
		for (j = 0; o.present && j < o.fs->s.n_columns && j < o.n; j++)
			if (strcmp(o.fs->s.columns[j].name, fs->s.columns[i].name) == 0)
				break;
		if (o.present && j < o.fs->s.n_columns && j < o.n)
			vals[i] = o.vals[j];
		else
			s->st_.unresolved++;
	}
	sl_buf_reset(&s->row);
	mat_row_encode(fs->s.id, pos, vals, tab->n_columns, &s->row);
	row_texts(s, fs, vals, tab->n_columns, &s->txt, at);
	if (!o.present) {
		if ((rc = row_insert(s, fs->tid, pk, pos->partition, at, &done, err)) != 0)
			return rc;
		return done ? 0 : SL_CORRUPT(err, "view %s: %s: a row neither found nor "
		    "insertable", s->conf->name, tbl);
	}
	row_texts(s, o.fs, o.vals, o.n, &old_txt, old_at);
	same = old_txt.len == s->txt.len;
	for (f = 0; same && f < nf; f++)
		same = at[f] == old_at[f];
	same = same && memcmp(old_txt.p, s->txt.p, s->txt.len) == 0;
	sl_buf_free(&old_txt);
	sqlite3_bind_int(s->st[ST_DOC_UPD], 1, pos->partition);
	sqlite3_bind_blob(s->st[ST_DOC_UPD], 2, s->row.p, (int)s->row.len, SQLITE_STATIC);
	sqlite3_bind_int64(s->st[ST_DOC_UPD], 3, o.id);
	if ((rc = step_done(s, s->st[ST_DOC_UPD], "update row", err)) != 0)
		return rc;
	if (same)
		return 0;
	if ((rc = fts_del(s, o.id, err)) != 0)
		return rc;
	return fts_put(s, o.id, &s->txt, at, err);
}

static int
rule_put(void *sink, const struct sch_event *ev, const struct mat_pos *pos,
    struct sl_err *err)
{
	struct mat_fts *s = sink;
	struct fts_schema *fs;
	int rc;

	if ((rc = schema_of_event(s, ev->table, &fs, err)) != 0)
		return rc;
	return row_upsert(s, fs, ev, pos, err);
}

static int
rule_del(void *sink, const struct sch_event *ev, const struct sch_value *img,
    struct sl_err *err)
{
	struct mat_fts *s = sink;
	struct fts_schema *fs;
	int rc;

	if ((rc = schema_of_event(s, ev->table, &fs, err)) != 0)
		return rc;
	if (mat_pk_encode(&fs->s, img, &s->pk) != 0)
		return sl_errf(err, SL_EINVAL, "view %s: %s: key not encodable", s->conf->name,
		    fs->s.table);
	return row_delete(s, fs->tid, sl_buf_slice(&s->pk), err);
}

static int
rule_truncate(void *sink, const struct sch_event *ev, int32_t partition, struct sl_err *err)
{
	struct mat_fts *s = sink;
	struct fts_schema *fs;
	int rc;

	if ((rc = schema_of_event(s, ev->table, &fs, err)) != 0)
		return rc;
	return table_truncate(s, fs->tid, partition, err);
}

static const struct mat_sink_rules fts_rules = { rule_put, rule_del, rule_truncate };

int
mat_fts_apply(struct mat_fts *s, const struct sch_event *ev, const struct mat_origin *origin,
    struct sl_err *err)
{
	struct mat_offset *o;
	struct mat_pos pos;
	int rc;

	if ((rc = mat_fts_begin(s, err)) != 0)
		return rc;
	o = offset_find(s, origin->topic, origin->partition, err, &rc);
	if (o == NULL)
		goto fail;
	if (origin->offset < o->next) {
		s->st_.skipped++;
		return 1;	/* already in the view */
	}
	mat_pos_of(origin, ev, &pos);
	rc = mat_apply_event(&fts_rules, s, s->conf->name, ev, &pos, &s->st_, err);
	sl_arena_reset(&s->arena);
	if (rc == SL_EINVAL)
		return rc;	/* the caller decides; the transaction stays usable */
	if (rc != 0)
		goto fail;
	o->next = origin->offset + 1;	/* written at commit, same transaction (1) */
	o->dirty = 1;
	return 0;
fail:
	mat_fts_abort(s);
	return rc;
}
