/*
 * materialize/mat.h: the public header of the materialize module, process
 * side: the [view "NAME"] configuration, the sinks that apply change events
 * (LMDB views, SQLite FTS5 search views), and the consumer loop behind
 * `sluice materialize`.
 *
 * Applications that only read a view use materialize/view.h instead.  No
 * third-party type appears here: LMDB, SQLite and librdkafka stay inside
 * the .c files of materialize/.  docs/views.md describes the on-disk layout and the
 * exactly-once argument; docs/config.md every key.
 */
#ifndef MAT_H
#define MAT_H

#include <signal.h>
#include <stdint.h>

#include "common/sl.h"
#include "schemas/sch.h"

/* ---------------------------------------------------------- configuration */

/* The keys a [view "NAME"] section accepts (NULL-terminated; "index."
 * accepts any key with that prefix). */
extern const char *const mat_view_conf_keys[];

enum mat_format { MAT_FORMAT_PROTOBUF = 0, MAT_FORMAT_JSON = 1 };
enum mat_sync { MAT_SYNC_FULL = 0, MAT_SYNC_NOMETA = 1, MAT_SYNC_NONE = 2 };

/* One secondary index: index.NAME = col[,col]. */
struct mat_index_conf {
	char *name;
	char **columns;
	uint32_t n_columns;
};

/* A [view "NAME"] section with defaults applied; owns every string. */
struct mat_view_conf {
	char *name;
	char *type;			/* "lmdb" or "sqlite-fts" */
	int fts;			/* type is sqlite-fts */
	char **topics;
	size_t n_topics;
	char *path;			/* the view's path (a symlink, see view.h);
					   NULL for a redis view */
	enum mat_format format;
	struct mat_index_conf *indexes;
	size_t n_indexes;
	char *bootstrap;
	char *group_id;			/* "sluice-view-NAME" */
	int64_t batch_events;		/* commit after this many events (10000) */
	int64_t batch_ms;		/* ... or this long after the first (50) */
	int64_t offset_commit_interval;	/* ms between offset commits to the
					   broker, for monitoring (5000) */
	int64_t map_size;		/* LMDB map size in bytes (1 GiB) */
	enum mat_sync sync;		/* durability of a commit (full) */
	char *http;			/* HOST:PORT for /metrics, or NULL */
	char **fts_columns;		/* sqlite-fts: the columns indexed */
	size_t n_fts_columns;
	char *tokenize;			/* sqlite-fts: the FTS5 tokenizer */
	int redis;			/* type is redis */
	char *redis_addr;		/* redis: HOST:PORT or unix:PATH */
	int64_t redis_db;		/* redis: SELECT this database */
	int64_t rebuild_db;		/* redis: rebuild there, swap by SWAPDB;
					   -1: under <key_prefix>__rebuild: */
	char *redis_password;		/* redis: AUTH, or NULL */
	char *key_prefix;		/* redis: every key starts with it */
	struct mat_kv { char *key, *value; } *consumer;	/* consumer.* */
	size_t n_consumer;
};

/*
 * Read the view section 'sec' of 'cfg' into '*out'.  'bootstrap_default'
 * (the [broker] listen of the same file, may be NULL) is used when the
 * section has no bootstrap.  Returns 0 or SL_ECONFIG with 'err' naming
 * the file, line and key.
 */
int mat_conf_load(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, struct mat_view_conf **out, struct sl_err *err);
void mat_conf_free(struct mat_view_conf *);

/* ------------------------------------------------------------ LMDB sink */

struct mat_lmdb;

/* Where an event came from: its topic partition and offset. */
struct mat_origin {
	const char *topic;
	int32_t partition;
	int64_t offset;
};

/*
 * Open (creating if needed) the LMDB environment in the directory 'dir'
 * for writing, with the indexes, map size and sync mode of 'conf' (which
 * must outlive the handle).  Returns 0, -errno, or SL_ECORRUPT.
 */
int mat_lmdb_open(const char *dir, const struct mat_view_conf *conf,
    struct mat_lmdb **out, struct sl_err *err);
void mat_lmdb_close(struct mat_lmdb *);

/* Begin the write transaction that following applies join.  0 or error. */
int mat_lmdb_begin(struct mat_lmdb *, struct sl_err *err);

/*
 * Apply one change 'ev' (may be NULL for a tombstone or an event that
 * does not touch a table) read from 'origin', and record origin->offset
 * + 1 as the partition's next offset, all inside the open transaction
 * (mat_int.h (1)).  Returns 0, 1 when the event was at or below
 * the stored offset and so skipped, SL_EINVAL (bad event: the caller
 * decides), or an LMDB failure (the transaction is then aborted).
 */
int mat_lmdb_apply(struct mat_lmdb *, const struct sch_event *ev,
    const struct mat_origin *origin, struct sl_err *err);

/* Commit the open transaction; 0 or an error (then nothing was written). */
int mat_lmdb_commit(struct mat_lmdb *, struct sl_err *err);
/* Drop the open transaction, as a crash would. */
void mat_lmdb_abort(struct mat_lmdb *);
/* 1 when a transaction is open. */
int mat_lmdb_in_txn(const struct mat_lmdb *);

/*
 * The next offset to consume for 'topic' 'partition' as stored in the view
 * (committed, or inside the open transaction): '*next' = -1 if none.
 * Returns 0 or an error.
 */
int mat_lmdb_offset_get(struct mat_lmdb *, const char *topic, int32_t partition,
    int64_t *next, struct sl_err *err);

/* Counters since open (of either sink). */
struct mat_sink_stats {
	uint64_t applied;		/* events applied to rows */
	uint64_t skipped;		/* duplicates, tombstones, non-row events */
	uint64_t unresolved;		/* unchanged markers with no stored row */
	uint64_t oversize;		/* rows or index entries past the key limit */
	uint64_t commits;
};
void mat_lmdb_stats(const struct mat_lmdb *, struct mat_sink_stats *out);

/* Check invariant (2) of mat_int.h over the whole view; 0 or SL_ECORRUPT. */
int mat_lmdb_check_(struct mat_lmdb *, struct sl_err *err);

/* ------------------------------------------------------ SQLite FTS5 sink */

/*
 * A search view (type = sqlite-fts): the same contract as the mat_lmdb_*
 * functions above, over the SQLite database "search.db" in 'dir'
 * (fts_sink.c, docs/views.md "Search views").  The configured columns of
 * every row are indexed with FTS5; the whole row is kept for results and
 * for resolving unchanged values.  mat_fts_open refuses a database built
 * with other columns or another tokenizer (SL_ECONFIG: rebuild the view).
 */
struct mat_fts;
int mat_fts_open(const char *dir, const struct mat_view_conf *conf,
    struct mat_fts **out, struct sl_err *err);
void mat_fts_close(struct mat_fts *);
int mat_fts_begin(struct mat_fts *, struct sl_err *err);
int mat_fts_apply(struct mat_fts *, const struct sch_event *ev,
    const struct mat_origin *origin, struct sl_err *err);
int mat_fts_commit(struct mat_fts *, struct sl_err *err);
void mat_fts_abort(struct mat_fts *);
int mat_fts_in_txn(const struct mat_fts *);
int mat_fts_offset_get(struct mat_fts *, const char *topic, int32_t partition,
    int64_t *next, struct sl_err *err);
void mat_fts_stats(const struct mat_fts *, struct mat_sink_stats *out);

/* The database file of a search view, inside its directory. */
#define MAT_FTS_FILE "search.db"

/* ------------------------------------------------------------ Redis sink */

/*
 * A cache view (type = redis): the same contract again, over Redis hashes
 * (redis_sink.c, docs/views.md "Cache views"); a batch is one MULTI/EXEC
 * with its offsets.  With 'rebuild' the sink writes under
 * "<key_prefix>__rebuild:" (cleared first) and mat_redis_swap_in() makes
 * it the live view in one script; or, with rebuild_db, into that database
 * under the same keys, swapped in by SWAPDB.  A live sink whose view was swapped
 * meanwhile refuses its batch (SL_ESTATE, nothing applied) and reports
 * itself swapped: reopen it.
 */
struct mat_redis;
int mat_redis_open(const struct mat_view_conf *conf, int rebuild,
    struct mat_redis **out, struct sl_err *err);
void mat_redis_close(struct mat_redis *);
int mat_redis_apply(struct mat_redis *, const struct sch_event *ev,
    const struct mat_origin *origin, struct sl_err *err);
int mat_redis_commit(struct mat_redis *, struct sl_err *err);
void mat_redis_abort(struct mat_redis *);
int mat_redis_in_txn(const struct mat_redis *);
int mat_redis_offset_get(struct mat_redis *, const char *topic, int32_t partition,
    int64_t *next, struct sl_err *err);
void mat_redis_stats(const struct mat_redis *, struct mat_sink_stats *out);
/* 1 once a refused batch or mat_redis_swapped() found the view swapped. */
int mat_redis_is_swapped(const struct mat_redis *);
/* Ask Redis whether a rebuild was swapped in since open; 0 or an error. */
int mat_redis_swapped(struct mat_redis *, int *swapped, struct sl_err *err);
int mat_redis_swap_in(struct mat_redis *, struct sl_err *err);
/* The offsets a cache view stores, as mat_view_offsets() gives an LMDB view's. */
int mat_redis_offsets(const struct mat_view_conf *conf,
    int (*fn)(const char *topic, int32_t partition, int64_t next, void *ctx), void *ctx,
    struct sl_err *err);

/* ----------------------------------------------------------- the process */

/*
 * Run the view 'conf' until '*stop' is set: consume its topics in group
 * 'conf->group_id', starting every assigned partition at the offset stored
 * in the view, applying batches of events per LMDB transaction.  With
 * 'rebuild', build a fresh environment beside the live one from offset 0
 * instead, swap it in when caught up, remove the old one, and return.
 * Returns 0, SL_ECONFIG, or another code with 'err' set.
 */
int mat_run(const struct mat_view_conf *conf, int rebuild,
    volatile sig_atomic_t *stop, struct sl_err *err);

/*
 * Resolve the view path 'path' (a symlink to a versioned directory
 * "<path>.vN", created on first use) to the directory to open, written
 * to 'out'.  With 'create', make "<path>.v1" and the link when 'path'
 * does not exist.  Returns 0, SL_ENOTFOUND, or -errno.
 */
int mat_path_resolve(const char *path, int create, struct sl_buf *out,
    struct sl_err *err);

/*
 * Make "<path>.v<N+1>" (N the current version) and return it in 'out';
 * mat_path_swap() then points 'path' at it atomically (rename(2) of a new
 * symlink) and returns the previous directory in 'old'.  0 or -errno.
 */
int mat_path_next(const char *path, struct sl_buf *out, struct sl_err *err);
int mat_path_swap(const char *path, const char *dir, struct sl_buf *old,
    struct sl_err *err);

/*
 * unsynced.c: the marker of an environment that may hold commits not yet
 * flushed (sync = none), and the boot it was written in.
 * mat_unsynced_check: 0 when 'dir' has no marker or one of this boot;
 * SL_ECORRUPT, with a message naming 'what', when the system restarted
 * since (the view may be corrupt).  mat_unsynced_marked: 1 when 'dir' has
 * a marker.  mat_unsynced_mark writes the marker durably;
 * mat_unsynced_clear removes it durably (after mdb_env_sync).
 */
#define MAT_UNSYNCED_FILE "unsynced"
int mat_unsynced_check(const char *dir, const char *what, struct sl_err *err);
int mat_unsynced_marked(const char *dir);
int mat_unsynced_mark(const char *dir, struct sl_err *err);
int mat_unsynced_clear(const char *dir, struct sl_err *err);

#endif /* MAT_H */
