/*
 * capture/cap_mysrc.h: the state of one running MySQL/MariaDB source,
 * shared by my_conn.c (connections, the binlog stream), my_source.c
 * (configuration, checks, catalog, snapshot, start) and my_capture.c (the
 * streaming loop).  Internal to capture/; the pure decoder is cap_my.h.
 */
#ifndef CAP_MYSRC_H
#define CAP_MYSRC_H

#include <signal.h>
#include <stdint.h>

#include "capture/cap_int.h"
#include "capture/cap_my.h"
#include "schemas/sch.h"

/* Largest binlog event accepted (MySQL's max_allowed_packet limit). */
#define CAP_MY_MAX_EVENT (1u << 30)

/* ------------------------------------------------------------ my_conn.c */

struct st_mysql;			/* libmariadb's MYSQL, opaque here */
struct cap_my_dump;

/* The dsn: "host=H port=P user=U password=W socket=S database=D". */
struct cap_my_dsn {
	char *host, *user, *password, *socket, *database;
	unsigned port, connect_timeout;
};

int cap_my_dsn_parse(const char *s, struct cap_my_dsn *d, struct sl_err *err);
void cap_my_dsn_free(struct cap_my_dsn *d);
/* "user@host:port" or "user@socket", never the password. */
void cap_my_dsn_where(const struct cap_my_dsn *d, char *buf, size_t size);

/* A SQL connection with time_zone '+00:00', utf8mb4 and sql_mode ''. */
int cap_my_sql_open(const struct cap_my_dsn *d, struct st_mysql **out, struct sl_err *err);
void cap_my_sql_close(struct st_mysql *);
/* Run a statement, discarding any result. */
int cap_my_exec(struct st_mysql *, const char *sql, struct sl_err *err);
/* Run a query; 'fn' gets each row (values NUL-terminated, NULL for NULL). */
typedef int cap_my_row_fn(void *ctx, const char *const *row, const unsigned long *lens,
    unsigned n, struct sl_err *err);
int cap_my_query(struct st_mysql *, const char *sql, cap_my_row_fn *fn, void *ctx,
    struct sl_err *err);
/* Column 'col' of the first row into 'buf'; SL_ENOTFOUND when no row. */
int cap_my_query_value(struct st_mysql *, const char *sql, unsigned col, char *buf,
    size_t size, struct sl_err *err);

struct cap_my_dump_opts {
	const char *file;
	uint32_t pos;
	const char *gtid;		/* MariaDB: resume after this GTID position
					   ("0-1-57"), 'file' and 'pos' unused */
	uint32_t server_id;
	int64_t heartbeat_ms;		/* the server's heartbeat while idle */
};

/*
 * Open a binlog connection and send COM_BINLOG_DUMP from 'o->file' at
 * 'o->pos'.  Errors from the server (a purged file: SL_ERANGE, missing
 * privileges) arrive with the first cap_my_dump_next.
 */
int cap_my_dump_open(const struct cap_my_dsn *d, const struct cap_my_dump_opts *o,
    struct cap_my_dump **out, struct sl_err *err);
int cap_my_dump_next(struct cap_my_dump *, int timeout_ms, const uint8_t **ev, size_t *len,
    struct sl_err *err);
void cap_my_dump_close(struct cap_my_dump *);
/* A reader of the packets arriving on 'fd' (not closed by it): for tests. */
struct cap_my_dump *cap_my_dump_fd(int fd);

/* ------------------------------------------------------------ state */

/* A binlog position: the file and the offset of the next event in it. */
struct cap_my_pos {
	char file[256];
	uint32_t pos;
};

/*
 * One captured table at its current schema version (from the latest Table
 * Map, or from the catalog before any).  Columns are owned copies.
 */
struct cap_my_rel {
	char *db, *name;
	char *collection;		/* "db.table" */
	struct sch_table table;
	struct sl_buf table_pb;		/* sch_table_encode_pb of 'table' */
	struct cap_my_column *cols;	/* every column, as the binlog has them */
	uint32_t n_cols;
	/*
	 * exclude_columns: 'table' holds the kept columns; keep[i] is the
	 * index in 'cols' of table column i.  NULL when all are kept.
	 */
	uint32_t *keep;
	uint8_t *mask;			/* mask_columns: per column of 'table', or NULL */
	int has_key;			/* the table's own key (the binlog's) */
	int key_override;		/* key_columns names the key instead */
	struct cap_topic *topic;	/* NULL for an outbox table */
	int outbox;			/* outbox.tables: its inserts are routed */
	int signal;			/* signal.table: its inserts are signals */
	int outbox_warned;		/* an UPDATE of it was warned about */
	struct cap_outbox_cols ob;
};

/* Table ids of the stream to tables: 'rel' NULL for a table not captured. */
struct cap_my_tmap {
	uint64_t table_id;
	struct cap_my_rel *rel;
};

/* An event group (transaction) being produced or acknowledged. */
struct cap_my_txn {
	uint64_t start;			/* packed position of its first event */
	struct cap_my_pos end;		/* after its commit: stored once done */
	char gtid[64];			/* "domain-server-seq" or "uuid:gno" */
	int standalone;			/* MariaDB DDL group: no XID follows */
	int begun;			/* BEGIN produced (transaction.topic) */
	uint64_t seq;			/* next sequence number */
	int64_t outstanding;
	int closed;
	uint64_t events;
	struct sch_tx_count *counts;
	uint32_t n_counts;
	int64_t ts_ms;
	char id[280];			/* the transaction block's id */
	struct cap_my_txn *next;
};

struct cap_my {
	struct cap_conf conf;
	struct sch_json_opts json_opts;
	struct cap_my_dsn dsn;
	char where[256];
	struct st_mysql *sql;
	struct cap_my_dump *dump;
	struct cap_my_decoder dec;
	struct sl_arena arena;		/* reset per event */
	struct sl_buf key, val;
	struct cap_outbox_msg ob_msg;	/* scratch of the outbox router */
	struct sl_arena mask_arena;	/* masked images, reset per row event */
	/*
	 * Ad-hoc snapshots: the table patterns execute-snapshot signals of
	 * the open transaction asked for (taken once it commits), and the
	 * packed position snapshot rows carry while one runs (0: the initial
	 * snapshot's).
	 */
	char *adhoc_pending;
	uint64_t snap_pos;
	struct cap_producer *prod;
	struct cap_topic *tx_topic, *hb_topic, *off_topic;
	char *off_topic_name;
	struct cap_my_rel **rels;
	size_t n_rels;
	struct cap_my_tmap *tmaps;
	size_t n_tmaps;
	struct cap_my_txn *txq_head, *txq_tail, *cur;
	struct cap_my_pos at;		/* position of the next event */
	struct cap_my_pos flushed;	/* everything before it acknowledged */
	char flushed_gtid[64];
	struct cap_my_pos stored;	/* last written to <prefix>.offsets */
	int have_stored;
	int64_t last_store_ns, last_hb_ns;
	uint64_t snap_seq;
	int snapshot_running;
	uint32_t source_server_id;	/* the server's @@server_id */
	uint32_t stored_server_id;	/* the one the stored position names */
	int mariadb;
	int have_domain;		/* position = gtid: the one domain seen */
	uint32_t gtid_domain;
	struct cap_http *http;
	int fatal;
	char fatal_msg[256];
	uint64_t produced, acked, skipped, txns, snap_rows, events_in;
};

/* 1 if outbox.tables names db.table (my_source.c) */
int cap_my_is_outbox(const struct cap_my *, const char *db, const char *table);
/* 1 if db.table is the signal table (signal.table) */
int cap_my_is_signal(const struct cap_my *, const char *db, const char *table);
/*
 * Take the ad-hoc snapshot s->adhoc_pending asks for, between two
 * transactions of the stream: the tables copied under a consistent
 * snapshot at binlog position Q (truncate, then rows, at Q), their stream
 * changes before Q skipped; then the binlog connection opened again after
 * the signal (my_source.c).
 */
int cap_my_adhoc_snapshot(struct cap_my *, volatile sig_atomic_t *stop, struct sl_err *err);

/* my_capture.c */
uint64_t cap_my_pack(const struct cap_my_pos *p);
/* Pop the closed, acknowledged transactions: 'flushed' moves. */
void cap_my_txq_advance(struct cap_my *);
int cap_my_stream(struct cap_my *, volatile sig_atomic_t *stop, struct sl_err *err);
/*
 * 'before' and 'after' are full-width (r->n_cols values, NULL when the op
 * has none); the columns exclude_columns leaves out are dropped in place.
 */
int cap_my_emit_row(struct cap_my *, struct cap_my_txn *, struct cap_my_rel *, enum sch_op,
    struct sch_value *before, struct sch_value *after, const struct cap_my_pos *at,
    uint32_t row, struct sl_err *err);
int cap_my_emit_truncate(struct cap_my *, struct cap_my_txn *, struct cap_my_rel *,
    const struct cap_my_pos *at, struct sl_err *err);
/*
 * Store 'flushed' in <prefix>.offsets now (also when it did not move);
 * 'clean' marks the store of a stop with nothing in flight (my_source.c).
 */
int cap_my_store(struct cap_my *, const char *snapshot_state, int clean, struct sl_err *err);
void cap_my_delivered(void *opaque, int error, const char *errstr, void *ctx);
int cap_my_http_render(void *ctx, const char *path, struct sl_buf *body);
void cap_my_state_free(struct cap_my *);

/* my_source.c */
/*
 * my_capture.c: the tables a Query event's text changes (an INSERT,
 * REPLACE, UPDATE or DELETE of a statement-based session, a TRUNCATE), as
 * capture reads them; for tests/fuzz/fuzz_my_query.c.
 */
unsigned cap_my_query_tables(const char *sql, const char *cur_db);
/*
 * Parse a value of <prefix>.offsets (cap_my_store's JSON) into 'pos',
 * 'gtid', 'state' ("done"), 'clean' and 'gtid_mode' (position = gtid).
 * Returns 0 or SL_ECORRUPT naming 'topic'.
 */
int cap_my_stored_parse(const char *topic, const struct sl_buf *v, struct cap_my_pos *pos,
    char *gtid, size_t gsize, char *state, size_t ssize, int *clean, int *gtid_mode,
    struct sl_err *err);
int cap_my_match(const char *patterns, const char *default_db, const char *db,
    const char *table);
/* The captured table "db.table" at its catalog shape, created when new. */
int cap_my_rel_catalog(struct cap_my *, const char *db, const char *table,
    struct cap_my_rel **out, struct sl_err *err);
/*
 * "db.table" that the catalog no longer has (dropped after the binlog
 * event capture is at): the known relation, or a new one without columns
 * whose topic takes what the binlog still holds of it (a truncate).
 */
int cap_my_rel_dropped(struct cap_my *, const char *db, const char *table,
    struct cap_my_rel **out, struct sl_err *err);
/* Install the shape a Table Map gives (a new version when it differs). */
int cap_my_rel_tmap(struct cap_my *, const struct cap_my_table_map *tm,
    struct cap_my_rel **out, struct sl_err *err);

#endif /* CAP_MYSRC_H */
