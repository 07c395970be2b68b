/*
 * capture/cap_pg.h: the state of one running PostgreSQL source, shared by
 * pg_source.c (configuration, start-up), pg_capture.c (the streaming loop)
 * and pg_snapshot.c (the initial snapshot).  Internal to capture/.
 */
#ifndef CAP_PG_H
#define CAP_PG_H

#include <signal.h>
#include <stdint.h>

#include "capture/cap_int.h"
#include "schemas/sch.h"

/* A relation as the latest Relation message described it. */
struct cap_rel {
	uint32_t relid;
	struct sch_table table;		/* strings owned */
	struct sl_buf table_pb;		/* sch_table_encode_pb of 'table' */
	uint32_t *parse_oid;		/* per column: oid to parse the text as */
	int *is_enum;			/* per column */
	/*
	 * exclude_columns: 'table' holds the kept columns only; keep[i] is
	 * the index in the source's tuples (n_src values) of column i.
	 * NULL when every column is kept (n_src = table.n_columns).
	 */
	uint32_t *keep;
	uint32_t n_src;
	uint8_t *mask;			/* mask_columns: per column of 'table', or NULL */
	/* an outbox table (outbox.tables): its inserts are routed, 'topic' NULL */
	int outbox;
	int outbox_warned;		/* an UPDATE of it was warned about */
	int signal;			/* signal.table: its inserts are signals, no topic */
	struct cap_outbox_cols ob;
	int has_key;
	char *collection;		/* "schema.table" */
	struct cap_topic *topic;
	/*
	 * A partition's changes are its partition root's: 'table' and
	 * 'topic' are the root's, whose oid this is (0: not a partition).
	 */
	uint32_t root;
};

/* A transaction whose messages are being produced or acknowledged. */
struct cap_txn {
	uint32_t xid;
	uint64_t commit_lsn;		/* the position's LSN */
	uint64_t end_lsn;		/* flushed once it is done (1) */
	int64_t commit_ts_us;		/* µs since 1970 */
	uint64_t seq;			/* next sequence number */
	int64_t outstanding;		/* produced, not acknowledged */
	int closed;			/* Commit seen */
	uint64_t events;
	struct sch_tx_count *counts;
	uint32_t n_counts;
	char txid_str[48];		/* "xid:lsn" */
	struct cap_txn *next;
};

struct cap_type {
	uint32_t oid;
	uint32_t base;
	int is_enum;
	char *name;
};

struct cap_pg {
	struct cap_conf conf;
	struct sch_json_opts json_opts;
	char dbname[128];
	struct pg_conn *sql;		/* catalog queries */
	struct cap_pg_repl *repl;
	struct cap_producer *prod;
	struct cap_pgo_decoder dec;
	struct sl_arena arena;		/* reset per message */
	struct sl_buf key, val;
	struct cap_outbox_msg ob_msg;	/* scratch of the outbox router */
	struct sl_arena mask_arena;	/* masked images, reset per row event */

	struct cap_topic *tx_topic, *hb_topic, *msg_topic;
	struct cap_rel **rels;
	size_t n_rels;
	struct cap_type *types;
	size_t n_types;

	struct cap_txn *txq_head, *txq_tail;	/* commit order (1) */
	struct cap_txn *cur;		/* the open transaction */
	struct cap_spool **spools;	/* streamed transactions in progress */
	size_t n_spools;

	uint64_t write_lsn;
	uint64_t flush_lsn;		/* (1) */
	uint64_t last_commit_lsn;
	int64_t last_status_ns;

	uint64_t snap_seq;
	uint64_t snap_lsn;
	int64_t snap_ts_ms;
	/*
	 * An ad-hoc snapshot (a "sluice.snapshot" logical message, pg_source.c)
	 * runs while streaming: its rows are stored at position (snap_pos_lsn,
	 * seq) rather than (0, seq), each table's topic gets a truncate first,
	 * and the replication connection is kept alive with status updates.
	 */
	uint64_t snap_pos_lsn;
	int snap_adhoc;
	volatile sig_atomic_t *stop;	/* cap_pg_stream's, while it runs */

	struct cap_http *http;
	void *snap;			/* pg_snapshot.c's progress while it runs */
	uint64_t snap_rows;		/* rows copied by the snapshot */

	int fatal;			/* set by a failed delivery */
	char fatal_msg[256];
	uint64_t produced, acked, skipped, txns, stream_aborts;
	uint64_t xlog_msgs;		/* XLogData payloads received */
	uint64_t decoded_msgs;		/* protocol messages in them (pg_sluice: many) */
};

extern cap_delivery_fn *const cap_pg_delivered;

/* pg_capture.c */
/*
 * Handle one pg_sluice batch received at 'lsn': every message in turn, at
 * the LSN its header gives, as cap_pg_handle.  '*n' is set to the number
 * of messages handled (before the bad one, on an error).
 */
int cap_pg_handle_batch(struct cap_pg *, uint64_t lsn, const uint8_t *p, size_t len,
    unsigned *n, struct sl_err *err);
int cap_pg_handle(struct cap_pg *, uint64_t lsn, const uint8_t *p, size_t len,
    struct sl_err *err);
int cap_pg_stream(struct cap_pg *, volatile sig_atomic_t *stop, struct sl_err *err);
int cap_pg_emit(struct cap_pg *, struct cap_txn *, struct cap_topic *, int32_t partition,
    const struct sl_buf *key, const void *value, size_t value_len, int is_snapshot,
    struct sl_err *err);
int cap_pg_emit_row(struct cap_pg *, struct cap_txn *, struct cap_rel *, enum sch_op op,
    struct sch_value *before, struct sch_value *after, uint64_t lsn, int snapshot,
    struct sl_err *err);
/* Install a Relation message (or one built from the catalog) in the cache. */
int cap_pg_on_relation(struct cap_pg *, const struct cap_pgo_msg *m, struct sl_err *err);
/* 'strict': a second table on the same topic is an error, else a warning. */
int cap_pg_table_topic(struct cap_pg *, const char *schema, const char *name, int compact,
    int strict, struct cap_topic **out, struct sl_err *err);
int cap_pg_emit_truncate(struct cap_pg *, struct cap_txn *, struct cap_rel *, uint64_t lsn,
    struct sl_err *err);
int cap_pg_heartbeat(struct cap_pg *, struct sl_err *err);
void cap_pg_queue_advance(struct cap_pg *);
struct cap_rel *cap_pg_rel_find(struct cap_pg *, uint32_t relid);
/* 1 if outbox.tables names schema.name */
int cap_pg_is_outbox(const struct cap_pg *, const char *schema, const char *name);
/* 1 if schema.name is signal.table */
int cap_pg_is_signal(const struct cap_pg *, const char *schema, const char *name);
void cap_pg_rels_free(struct cap_pg *);
void cap_pg_state_free(struct cap_pg *);

/* pg_capture.c: answer /metrics and /health (cap_http_render_fn). */
int cap_pg_http_render(void *ctx, const char *path, struct sl_buf *body);
/* pg_snapshot.c: the snapshot's per-table progress as Prometheus lines. */
void cap_pg_snapshot_metrics(const struct cap_pg *, struct sl_buf *body);

/* pg_source.c */
int cap_pg_type_info(struct cap_pg *, uint32_t oid, uint32_t *base, int *is_enum,
    char *name, size_t name_size, struct sl_err *err);

/*
 * pg_source.c: the ad-hoc snapshot asked for at 'lsn' by 'patterns' (the
 * content of a logical message with prefix CAP_PG_SNAPSHOT_SIGNAL):
 * docs/capture-postgres.md, "Snapshotting tables again".
 */
#define CAP_PG_SNAPSHOT_SIGNAL "sluice.snapshot"
int cap_pg_adhoc_snapshot(struct cap_pg *, const uint8_t *patterns, size_t len, uint64_t lsn,
    struct sl_err *err);
/* pg_capture.c: a standby status update when one is due (reply 0). */
int cap_pg_status_due(struct cap_pg *, struct sl_err *err);
/* pg_capture.c: take relid's description out of the cache (NULL: none). */
struct cap_rel *cap_pg_rel_take(struct cap_pg *, uint32_t relid);
/* pg_capture.c: drop relid's description, then put 'r' (may be NULL) back. */
void cap_pg_rel_restore(struct cap_pg *, uint32_t relid, struct cap_rel *r);

/* pg_snapshot.c: copy 'tables' under 'snapshot_name' as op 'r' rows. */
int cap_pg_snapshot(struct cap_pg *, const char *snapshot_name,
    const struct cap_pg_table *tables, size_t n, volatile sig_atomic_t *stop,
    struct sl_err *err);

#endif /* CAP_PG_H */
