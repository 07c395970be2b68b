/*
 * materialize/view.h: read an LMDB view directly from an application.
 *
 * Link with libmat.a, libsch.a, libsl.a and -llmdb (and -lsqlite3 for the
 * search views at the end of this file).  A view is the
 * directory named by `path` in its [view "NAME"] section; `sluice
 * materialize` keeps it up to date in another process, and readers never
 * block it.  docs/views.md has a complete example program.
 *
 * LIFETIMES (as lmdb.h states them)
 *  - struct mat_view: from mat_view_open() to mat_view_close().  Schemas it
 *    hands out (struct mat_schema) live as long as the view.
 *  - struct mat_view_txn: a read snapshot, from mat_view_begin() to
 *    mat_view_end().  It sees one committed state of the view: never a
 *    half-applied batch.  Keep it short: a long reader holds old pages.
 *  - struct mat_row, and every value decoded from it with
 *    mat_row_values(): zero-copy pointers into the memory map, valid only
 *    until mat_view_end() of the transaction that produced them.  Copy
 *    (sch_value_copy) what must outlive it.
 *
 * REBUILDS.  The view path is a symlink that `sluice materialize --rebuild`
 * swaps atomically to a freshly built directory.  mat_view_open() resolves
 * the link once; an open view keeps reading the directory it resolved
 * (Linux keeps removed files readable while mapped) until
 * mat_view_reopen_if_swapped() moves it to the new one.
 */
#ifndef MAT_VIEW_H
#define MAT_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/sl.h"
#include "schemas/sch.h"

struct mat_view;
struct mat_view_txn;
struct mat_schema;			/* defined in materialize/mat_int.h */

/* A row as stored: bytes borrowed from the map (see LIFETIMES). */
struct mat_row {
	const char *table;		/* "<schema>.<name>" */
	struct sl_slice key;		/* encoded primary key */
	struct sl_slice raw;		/* row record (docs/views.md) */
	uint64_t schema_id;
	int32_t partition;		/* Kafka partition of the last change */
	int64_t offset;			/* its offset */
	uint64_t lsn;			/* its source position, 0 if none */
	const struct mat_schema *schema;	/* columns of this row */
};

/*
 * Open the view at 'path' (the symlink or a directory) read-only.
 * Returns 0, SL_ENOTFOUND when there is no view there, -errno, or an LMDB
 * failure as SL_ECORRUPT, with 'err' set.  SL_ECORRUPT also when the view
 * was written with sync = none and the system went down before it was
 * flushed (docs/views.md): its pages may never have reached the disk, and
 * `sluice materialize` rebuilds it.
 */
int mat_view_open(const char *path, struct mat_view **out, struct sl_err *err);
void mat_view_close(struct mat_view *);

/*
 * If the view's symlink now names another directory, reopen the view on
 * it; '*swapped' tells.  No transaction may be open.  0 or an error (the
 * old handle then stays usable).
 */
int mat_view_reopen_if_swapped(struct mat_view *, int *swapped, struct sl_err *err);

/* Begin / end a read snapshot (see LIFETIMES).  0 or an error. */
int mat_view_begin(struct mat_view *, struct mat_view_txn **out, struct sl_err *err);
void mat_view_end(struct mat_view_txn *);

/*
 * Call 'fn' for each partition whose offset the view stores: its topic,
 * partition and the next offset the view would apply (everything below it
 * is in the view).  Stops early and returns what 'fn' returns when not 0.
 * 'topic' is valid for the call.  A view with nothing applied yet calls
 * 'fn' never.  Returns 0, or SL_ECORRUPT for a malformed entry.
 */
int mat_view_offsets(struct mat_view_txn *,
    int (*fn)(const char *topic, int32_t partition, int64_t next, void *ctx), void *ctx,
    struct sl_err *err);

/*
 * Call 'fn' for each table of the view in name order; stops early and
 * returns what 'fn' returns when not 0.  'table' is valid for the call.
 */
int mat_view_tables(struct mat_view_txn *, int (*fn)(const char *table, void *ctx),
    void *ctx, struct sl_err *err);

/*
 * The table to use when the caller names none: 'table' if not NULL (then
 * checked), else the view's only table.  The name is written to 'out'.
 * Returns 0, SL_ENOTFOUND, or SL_EINVAL when the view has several.
 */
int mat_view_pick_table(struct mat_view_txn *, const char *table, struct sl_buf *out,
    struct sl_err *err);

/*
 * Encode a primary key (for get) or an index prefix (for lookup) from
 * 'n' text arguments, parsed with the types of the key columns of 'table'
 * (or of the columns of index 'index' when not NULL), as the newest
 * schema of the table records them.  Fewer arguments than columns make a
 * prefix.  Appends to 'out'.  Returns 0, SL_ENOTFOUND, or SL_EINVAL.
 */
int mat_view_key_from_text(struct mat_view_txn *, const char *table, const char *index,
    const char *const *args, size_t n, struct sl_buf *out, struct sl_err *err);

/* The row of 'table' whose encoded key is 'key'; 0 or SL_ENOTFOUND. */
int mat_view_get(struct mat_view_txn *, const char *table, struct sl_slice key,
    struct mat_row *out, struct sl_err *err);

/*
 * Call 'fn' for each row of 'table' whose encoded key starts with
 * 'prefix' (empty: every row), in key order, at most 'limit' rows (0: no
 * limit).  Stops and returns what 'fn' returns when not 0.  '*row' is
 * valid for the call (and the transaction).
 */
typedef int mat_row_fn(const struct mat_row *row, void *ctx);
int mat_view_scan(struct mat_view_txn *, const char *table, struct sl_slice prefix,
    size_t limit, mat_row_fn *fn, void *ctx, struct sl_err *err);

/*
 * The same through index 'index' of 'table': the rows whose indexed
 * columns encode to a key starting with 'prefix', in index order.
 * Returns 0, SL_ENOTFOUND when there is no such index, or what 'fn' returns.
 */
int mat_view_lookup(struct mat_view_txn *, const char *table, const char *index,
    struct sl_slice prefix, size_t limit, mat_row_fn *fn, void *ctx,
    struct sl_err *err);

/*
 * Decode the values of 'row' (one per column of row->schema) into
 * '*values' from 'a'; text and bytes point into the map (zero-copy, see
 * LIFETIMES).  Returns 0 or SL_ECORRUPT.
 */
int mat_row_values(const struct mat_row *row, struct sl_arena *a,
    struct sch_value **values, uint32_t *n, struct sl_err *err);

/* The name of column 'i' of 'row', or NULL past the end. */
const char *mat_row_column(const struct mat_row *row, uint32_t i);

/*
 * Append 'row' as one JSON object {"col":value,...} (no newline): numbers
 * and booleans as JSON, other values as PostgreSQL prints them.  0 or
 * SL_ECORRUPT.
 */
int mat_row_json(const struct mat_row *row, struct sl_buf *out, struct sl_err *err);

/* ------------------------------------------------------------ search views */

/*
 * A search view (type = sqlite-fts, docs/views.md "Search views") is read
 * through these instead.  Rows come out as struct mat_row, so
 * mat_row_values(), mat_row_column() and mat_row_json() work on them;
 * their bytes are valid only during the callback.
 */
struct mat_search;

/*
 * Open the search view at 'path' (the symlink or a directory) read-only.
 * Returns 0, SL_ENOTFOUND when nothing is materialized there yet (or it
 * is an LMDB view: the message says so), -errno, or SL_ECORRUPT.
 */
int mat_search_open(const char *path, struct mat_search **out, struct sl_err *err);
void mat_search_close(struct mat_search *);

/*
 * Call 'fn' for each row matching the FTS5 query 'query' (docs/views.md:
 * words, "phrases", column:word, AND OR NOT, prefix*), best match first
 * (FTS5's bm25 rank: lower is better), with a snippet of the best
 * matching column (matched words in [brackets], "..." where text was
 * cut; may be NULL), at most 'limit' rows (0: all),
 * only of 'table' when not NULL.  One read transaction: the rows come from
 * one committed state.  Stops and returns what 'fn' returns when not 0.
 * Returns 0, SL_EINVAL for a query FTS5 refuses (the message names it and
 * SQLite's reason), or an I/O or corruption error.
 */
typedef int mat_match_fn(const struct mat_row *row, double rank, const char *snippet,
    void *ctx);
int mat_search_query(struct mat_search *, const char *query, const char *table,
    size_t limit, mat_match_fn *fn, void *ctx, struct sl_err *err);

/* As mat_view_offsets(), for a search view. */
int mat_search_offsets(struct mat_search *,
    int (*fn)(const char *topic, int32_t partition, int64_t next, void *ctx), void *ctx,
    struct sl_err *err);

#endif /* MAT_VIEW_H */
