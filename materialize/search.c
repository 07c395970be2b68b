/*
 * materialize/search.c: read a search view (type = sqlite-fts) — the
 * search API of materialize/view.h behind `sluice search`.
 *
 * A search view is the SQLite database "search.db" in the directory its
 * path links to (fts_sink.c describes the tables).  Each query runs in
 * one read transaction: SQLite's WAL mode gives it one committed state of
 * the view, never half a batch, and the writer never waits for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"
#include "materialize/view.h"

struct search_schema {
	struct mat_schema s;
	struct sl_arena arena;
};

struct mat_search {
	sqlite3 *db;
	char *path;			/* as given */
	struct search_schema **schemas;
	size_t n_schemas;
};

static int
search_fail(const struct mat_search *s, struct sl_err *err, int rc, const char *what)
{
	int code = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ?
	    SL_ECORRUPT : -EIO;

	return sl_errf(err, code, "search view %s: %s: %s", s->path, what,
	    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int
mat_search_open(const char *path, struct mat_search **out, struct sl_err *err)
{
	struct mat_search *s = sl_calloc(1, sizeof(*s));
	struct sl_buf d = { 0 };
	char real[PATH_MAX], *file = NULL, *mdb = NULL;
	struct stat st;
	sqlite3_stmt *q = NULL;
	int rc = 0, tries;

	*out = NULL;
	s->path = sl_strdup(path);
	/*
	 * A rebuild may swap the link and remove the old directory between
	 * our resolve and SQLite's opening of the file (or of its -wal and
	 * -shm, at the first query): resolve again and retry.
	 */
	for (tries = 0; tries < 5; tries++) {
		if (tries > 0)
			usleep(10000);
		if (s->db) {
			sqlite3_close(s->db);
			s->db = NULL;
		}
		if ((rc = mat_path_resolve(path, 0, &d, err)) != 0)
			goto fail;
		if (realpath((const char *)d.p, real) == NULL) {
			rc = errno == ENOENT ? SL_ENOTFOUND : -errno;
			sl_errf(err, rc, "search view %s: %s", path, strerror(errno));
			continue;
		}
		free(file);
		file = sl_asprintf("%s/%s", real, MAT_FTS_FILE);
		if (stat(file, &st) != 0) {
			free(mdb);
			mdb = sl_asprintf("%s/data.mdb", real);
			rc = sl_errf(err, SL_ENOTFOUND, "no search view at %s (%s)", path,
			    access(mdb, F_OK) == 0 ? "it holds an LMDB view: read it with sluice "
			    "view" : "nothing materialized yet");
			continue;
		}
		rc = sqlite3_open_v2(file, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_extended_result_codes(s->db, 1);
			sqlite3_busy_timeout(s->db, 5000);
			rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'version'",
			    -1, &q, NULL);
			if (rc == SQLITE_OK)
				rc = sqlite3_step(q);
		}
		if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR) {
			rc = search_fail(s, err, rc, "open");
			sqlite3_finalize(q);
			q = NULL;
			continue;	/* the directory went away under us */
		}
		break;
	}
	if (tries == 5)
		goto fail;
	if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(q, 0),
	    MAT_FTS_VERSION) != 0) {
		/* the materializer refuses it too: it says to rebuild */
		rc = sl_errf(err, SL_ECORRUPT, "search view %s: layout version %s, this sluice "
		    "reads %s: rebuild the view", path, (const char *)sqlite3_column_text(q, 0),
		    MAT_FTS_VERSION);
		sqlite3_finalize(q);
		goto fail;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE || (rc & 0xff) == SQLITE_ERROR ?
		    sl_errf(err, SL_ECORRUPT, "search view %s: %s has no search tables", path,
		    file) : search_fail(s, err, rc, "open");
		goto fail;
	}
	free(file);
	free(mdb);
	sl_buf_free(&d);
	*out = s;
	return 0;
fail:
	free(file);
	free(mdb);
	sl_buf_free(&d);
	mat_search_close(s);
	return rc;
}

void
mat_search_close(struct mat_search *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->db)
		sqlite3_close(s->db);
	for (i = 0; i < s->n_schemas; i++) {
		sl_arena_free(&s->schemas[i]->arena);
		free(s->schemas[i]);
	}
	free(s->schemas);
	free(s->path);
	free(s);
}

static int
schema_get(struct mat_search *s, uint64_t id, const struct mat_schema **out,
    struct sl_err *err)
{
	struct search_schema *ss;
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc;

	for (i = 0; i < s->n_schemas; i++)
		if (s->schemas[i]->s.id == id) {
			*out = &s->schemas[i]->s;
			return 0;
		}
	rc = sqlite3_prepare_v2(s->db, "SELECT rec FROM schemas WHERE id = ?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (sqlite3_int64)id);
		rc = sqlite3_step(q);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(q);
		return rc == SQLITE_DONE ? SL_CORRUPT(err, "search view %s: row of schema %"
		    PRIu64 " but no such schema", s->path, id) :
		    search_fail(s, err, rc, "read schema");
	}
	ss = sl_calloc(1, sizeof(*ss));
	rc = mat_schema_decode(sl_slice_make(sqlite3_column_blob(q, 0),
	    (size_t)sqlite3_column_bytes(q, 0)), id, &ss->arena, &ss->s, err);
	sqlite3_finalize(q);
	if (rc != 0) {
		sl_arena_free(&ss->arena);
		free(ss);
		return rc;
	}
	s->schemas = sl_realloc(s->schemas, (s->n_schemas + 1) * sizeof(*s->schemas));
	s->schemas[s->n_schemas++] = ss;
	*out = &ss->s;
	return 0;
}

int
mat_search_query(struct mat_search *s, const char *query, const char *table, size_t limit,
    mat_match_fn *fn, void *ctx, struct sl_err *err)
{
	sqlite3_stmt *q = NULL;
	struct mat_row row;
	/* the snippet: the best column's matching words in [], ~12 tokens */
	const char *sql = table ?
	    "SELECT t.name, d.pk, d.row, fts.rank, snippet(fts, -1, '[', ']', '...', 12) "
	    "FROM fts JOIN docs d ON d.id = fts.rowid JOIN tables t ON t.id = d.tid "
	    "WHERE fts MATCH ?1 AND t.name = ?3 ORDER BY fts.rank LIMIT ?2" :
	    "SELECT t.name, d.pk, d.row, fts.rank, snippet(fts, -1, '[', ']', '...', 12) "
	    "FROM fts JOIN docs d ON d.id = fts.rowid JOIN tables t ON t.id = d.tid "
	    "WHERE fts MATCH ?1 ORDER BY fts.rank LIMIT ?2";
	int rc, src;

	/* one read transaction: the rows and their schemas from one state */
	if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return search_fail(s, err, rc, "begin");
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK) {
		rc = search_fail(s, err, rc, "prepare");
		goto out;
	}
	sqlite3_bind_text(q, 1, query, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, limit > 0 && limit < INT64_MAX ? (sqlite3_int64)limit : -1);
	if (table)
		sqlite3_bind_text(q, 3, table, -1, SQLITE_STATIC);
	rc = 0;
	while (rc == 0 && (src = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.table = (const char *)sqlite3_column_text(q, 0);
		row.key = sl_slice_make(sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1));
		row.raw = sl_slice_make(sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2));
		{
			struct mat_pos pos;

			if ((rc = mat_row_header(row.raw, &row.schema_id, &pos, NULL, NULL,
			    err)) != 0 || (rc = schema_get(s, row.schema_id, &row.schema,
			    err)) != 0)
				break;
			row.partition = pos.partition;
			row.offset = pos.offset;
			row.lsn = pos.lsn;
		}
		rc = fn(&row, sqlite3_column_double(q, 3), (const char *)sqlite3_column_text(q, 4),
		    ctx);
	}
	if (rc == 0 && src != SQLITE_DONE) {
		/* a query FTS5 cannot parse, or a column it does not have */
		if ((src & 0xff) == SQLITE_ERROR)
			rc = sl_errf(err, SL_EINVAL, "bad query '%s': %s", query,
			    sqlite3_errmsg(s->db));
		else
			rc = search_fail(s, err, src, "query");
	}
out:
	sqlite3_finalize(q);
	(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

int
mat_search_offsets(struct mat_search *s,
    int (*fn)(const char *topic, int32_t partition, int64_t next, void *ctx), void *ctx,
    struct sl_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc, src;

	rc = sqlite3_prepare_v2(s->db, "SELECT topic, part, next FROM offsets ORDER BY topic, "
	    "part", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return search_fail(s, err, rc, "read offsets");
	rc = 0;
	while (rc == 0 && (src = sqlite3_step(q)) == SQLITE_ROW)
		rc = fn((const char *)sqlite3_column_text(q, 0), sqlite3_column_int(q, 1),
		    sqlite3_column_int64(q, 2), ctx);
	if (rc == 0 && src != SQLITE_DONE)
		rc = search_fail(s, err, src, "read offsets");
	sqlite3_finalize(q);
	return rc;
}
