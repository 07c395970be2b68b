/*
 * capture/cap_int.h: internals of the capture module, shared by the capture/ sources
 * and its tests only (never by cli/ or other modules: they use cap.h).
 *
 * The pgoutput decoder (pg_pgoutput.c) is pure: bytes in, a struct
 * cap_pgo_msg out, no I/O and no libpq.  Everything it returns borrows the
 * input buffer or the caller's arena.
 */
#ifndef CAP_INT_H
#define CAP_INT_H

#include <signal.h>
#include <stdint.h>

#include "common/sl.h"

/* ------------------------------------------------------- pgoutput decoder */

/* Message types of pgoutput (the first byte of each XLogData payload). */
enum cap_pgo_type {
	CAP_PGO_BEGIN = 'B',
	CAP_PGO_COMMIT = 'C',
	CAP_PGO_ORIGIN = 'O',
	CAP_PGO_RELATION = 'R',
	CAP_PGO_TYPE = 'Y',
	CAP_PGO_INSERT = 'I',
	CAP_PGO_UPDATE = 'U',
	CAP_PGO_DELETE = 'D',
	CAP_PGO_TRUNCATE = 'T',
	CAP_PGO_MESSAGE = 'M',
	CAP_PGO_STREAM_START = 'S',
	CAP_PGO_STREAM_STOP = 'E',
	CAP_PGO_STREAM_COMMIT = 'c',
	CAP_PGO_STREAM_ABORT = 'A'
};

/* One column value of a TupleData. */
struct cap_pgo_value {
	char kind;			/* 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary */
	uint32_t len;			/* bytes at 'data' ('t', 'b'), else 0 */
	const uint8_t *data;		/* borrowed from the message; NOT NUL-terminated */
};

struct cap_pgo_tuple {
	uint16_t ncols;
	struct cap_pgo_value *cols;	/* arena */
};

struct cap_pgo_column {
	uint8_t flags;			/* 1: part of the key (replica identity) */
	const char *name;		/* borrowed, NUL-terminated in the message */
	uint32_t type_oid;
	int32_t typmod;
};

/*
 * One decoded message.  Strings and tuple bytes borrow the message buffer;
 * arrays come from the arena given to cap_pgo_decode.  Both must outlive it.
 */
struct cap_pgo_msg {
	uint8_t type;			/* enum cap_pgo_type */
	int has_xid;			/* 1: sent inside a streamed block */
	uint32_t xid;			/* that block's (sub)transaction id */
	union {
		struct {
			uint64_t final_lsn;
			int64_t commit_ts;	/* µs since 2000-01-01 */
			uint32_t xid;
		} begin;
		struct {		/* Commit and Stream Commit */
			uint32_t xid;		/* Stream Commit only */
			uint8_t flags;
			uint64_t commit_lsn;
			uint64_t end_lsn;
			int64_t commit_ts;
		} commit;
		struct {
			uint64_t lsn;
			const char *name;
		} origin;
		struct {
			uint32_t relid;
			const char *nspname;
			const char *relname;
			uint8_t replident;	/* 'd', 'n', 'f' or 'i' */
			uint16_t ncols;
			struct cap_pgo_column *cols;
		} rel;
		struct {
			uint32_t oid;
			const char *nspname;
			const char *name;
		} type;
		struct {		/* Insert, Update, Delete */
			uint32_t relid;
			char old_kind;		/* 0, 'K' (old key) or 'O' (old tuple) */
			struct cap_pgo_tuple old_tuple;	/* when old_kind != 0 */
			struct cap_pgo_tuple new_tuple;	/* Insert, Update */
		} change;
		struct {
			uint32_t nrels;
			uint8_t options;	/* 1 CASCADE, 2 RESTART IDENTITY */
			uint32_t *relids;	/* arena */
		} truncate;
		struct {
			uint8_t flags;		/* 1: transactional */
			uint64_t lsn;
			const char *prefix;
			uint32_t len;
			const uint8_t *content;	/* borrowed */
		} message;
		struct {
			uint32_t xid;
			uint8_t first;		/* 1: first segment of this xid */
		} stream_start;
		struct {
			uint32_t xid;
			uint32_t subxid;	/* == xid: the whole transaction */
		} stream_abort;
	} u;
};

/*
 * Decoder state: the protocol version and whether we are between Stream
 * Start and Stream Stop (which adds an xid to most messages).
 */
struct cap_pgo_decoder {
	int proto;			/* 1 or 2 */
	int in_stream;			/* (1) set by Stream Start, cleared by Stop */
	uint32_t stream_xid;
};

void cap_pgo_decoder_init(struct cap_pgo_decoder *, int proto);

/*
 * Decode the pgoutput message 'p'/'len' that the server sent at 'lsn' (the
 * XLogData start LSN, used in error messages) into '*msg'.  Arrays are
 * taken from 'arena'.  Returns 0, or SL_ECORRUPT with 'err' naming the LSN
 * and the byte offset for an unknown, truncated or malformed message.
 */
int cap_pgo_decode(struct cap_pgo_decoder *, uint64_t lsn, const uint8_t *p,
    size_t len, struct sl_arena *arena, struct cap_pgo_msg *msg,
    struct sl_err *err);

/*
 * The next message of a pg_sluice batch (contrib/pg_sluice/pg_sluice.c):
 * the payload of one XLogData is messages of cap_pgo_decode's kind, each
 * after its LSN (8 bytes) and its length (4 bytes, > 0), network order.
 * From '*off' (0 at first) in 'p'/'len', the batch received at 'lsn':
 * returns 1 with '*msg_lsn', '*msg', '*msg_len' set and '*off' past it, 0
 * at the batch's end, or SL_ECORRUPT naming 'lsn' and the byte when a
 * header is cut short or a length is 0 or runs past the batch.
 */
#define CAP_PGS_HEADER 12
int cap_pgs_next(const uint8_t *p, size_t len, size_t *off, uint64_t lsn,
    uint64_t *msg_lsn, const uint8_t **msg, size_t *msg_len, struct sl_err *err);

/* "16/B374D848": the text form of an LSN, into 'buf' (>= 18 bytes). */
char *cap_lsn_fmt(uint64_t lsn, char *buf, size_t size);
/* Parse "X/Y"; 0 or SL_EINVAL. */
int cap_lsn_parse(const char *s, uint64_t *out);

/* The name of a message type for diagnostics ("Begin"), or "unknown". */
const char *cap_pgo_type_name(uint8_t type);


/* ------------------------------------------------ replication (pg_repl.c) */

struct pg_conn;			/* libpq's PGconn, opaque here */
struct cap_pg_repl;

struct cap_pg_sysinfo {
	char sysid[32];
	uint32_t timeline;
	uint64_t xlogpos;
	char dbname[128];
};

enum { CAP_PG_XLOG = 1, CAP_PG_KEEPALIVE = 2 };

/* One message of the replication stream. */
struct cap_pg_xlog {
	uint64_t start_lsn;		/* XLogData: LSN of this WAL data */
	uint64_t wal_end;		/* server's end of WAL */
	int reply;			/* keepalive: reply requested */
	const uint8_t *data;		/* XLogData payload; valid until the next call */
	size_t len;
};

/*
 * Connections.  Both set the session settings sch_pg_parse() expects
 * (DateStyle ISO, TimeZone UTC, IntervalStyle postgres, bytea_output hex,
 * extra_float_digits 1).  Return 0 or SL_EPROTO with the server's message.
 */
int cap_pg_sql_open(const char *dsn, struct pg_conn **out, struct sl_err *err);
void cap_pg_sql_close(struct pg_conn *);
int cap_pg_repl_open(const char *dsn, struct cap_pg_repl **out, struct sl_err *err);
void cap_pg_repl_close(struct cap_pg_repl *);
int cap_pg_repl_server_version(const struct cap_pg_repl *);
int cap_pg_repl_identify(struct cap_pg_repl *, struct cap_pg_sysinfo *out,
    struct sl_err *err);
/*
 * CREATE_REPLICATION_SLOT 'slot' LOGICAL 'plugin' (pgoutput or pg_sluice);
 * '*snapshot_name' (when 'export_snapshot') is the exported snapshot, valid
 * until the next command on this connection; the caller frees it.
 */
int cap_pg_slot_create(struct cap_pg_repl *, const char *slot, const char *plugin,
    int export_snapshot, uint64_t *consistent, char **snapshot_name, struct sl_err *err);
/* START_REPLICATION; 'sluice': the slot's plugin is pg_sluice (no streaming). */
int cap_pg_repl_start(struct cap_pg_repl *, const char *slot, const char *publication,
    uint64_t start, int proto, int streaming, int messages, int sluice, struct sl_err *err);
int cap_pg_repl_next(struct cap_pg_repl *, int timeout_ms, struct cap_pg_xlog *out,
    struct sl_err *err);
/* Send a standby status update; 'flush' is clamped never to go backwards. */
int cap_pg_repl_status(struct cap_pg_repl *, uint64_t write, uint64_t flush,
    int reply, struct sl_err *err);
uint64_t cap_pg_repl_flushed(const struct cap_pg_repl *);
void cap_pg_repl_stop(struct cap_pg_repl *);

/* ------------------------------------------ source configuration (conf.c) */

enum cap_snapshot_mode { CAP_SNAP_INITIAL, CAP_SNAP_NEVER, CAP_SNAP_INITIAL_ONLY };

/* A [source "NAME"] section, parsed with defaults (docs/config.md). */
struct cap_conf {
	const char *name;
	const char *dsn;			/* libpq conninfo, or the mysql dsn */
	const char *tables;
	const char *exclude_columns;	/* patterns ns.table.column, or NULL */
	const char *key_columns;	/* "pattern:col,col; ...", or NULL */
	const char *mask_columns;	/* patterns ns.table.column, or NULL */
	const char *mask_salt;		/* with mask_columns: required */
	const char *outbox_tables;	/* outbox.tables patterns, or NULL */
	const char *signal_table;	/* mysql: signal.table, or NULL */
	const char *outbox_topic;	/* "outbox.event.{route}" */
	const char *outbox_route, *outbox_key, *outbox_payload, *outbox_id;
	char *slot;			/* postgres */
	char *publication;		/* postgres */
	int plugin_sluice;		/* postgres: plugin = pg_sluice (contrib/) */
	uint32_t server_id;		/* mysql: the replica id capture registers */
	int position_gtid;		/* mysql: position = gtid (MariaDB) */
	char *topic_prefix;
	char *spool_dir;
	const char *bootstrap;
	const char *http;		/* /metrics and /health, or NULL */
	int json;			/* format = json */
	enum cap_snapshot_mode snapshot;
	int snapshot_workers;
	int64_t heartbeat_ms;
	int64_t status_ms;
	int topic_partitions;
	int topic_replication;
	int topic_compact;
	int64_t topic_retention_ms;	/* table topics with cleanup.policy=delete */
	int64_t tx_retention_ms;
	int64_t hb_retention_ms;
	int64_t msg_retention_ms;
	int streaming;			/* streaming 'on' when the server has it */
	int tombstones;
	int tx_topic;			/* produce <prefix>.transaction */
	int hb_topic;
	int messages_topic;
	struct cap_kv *producer;	/* producer.* */
	size_t n_producer;
};

struct sch_json_opts;

/*
 * Parse section 'sec' as a source of 'type' ("postgres" or "mysql") that
 * accepts the NULL-terminated 'keys' (a key ending in '.' takes any key
 * with that prefix).  Returns 0 or SL_ECONFIG naming the file and line.
 */
int cap_conf_parse(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, const char *type, const char *const *keys,
    struct cap_conf *c, struct sch_json_opts *jo, struct sl_err *err);
void cap_conf_free(struct cap_conf *c);
/* The output plugin a postgres source's slot uses. */
static inline const char *
cap_pg_plugin(const struct cap_conf *c)
{
	return c->plugin_sluice ? "pg_sluice" : "pgoutput";
}
/* SL_ECONFIG: "FILE:LINE: [source "NAME"] KEY: WHY" (the key's line). */
int cap_conf_bad(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, const char *why, struct sl_err *err);

/* ------------------------------------------------ catalog (pg_catalog.c) */

/* A captured table as resolved from the 'tables' patterns. */
struct cap_pg_table {
	char *schema;
	char *name;
	uint32_t oid;
	int has_key;			/* a primary key or replica identity index/full */
	int partitioned;		/* relkind 'p': COPY needs a SELECT */
};

/*
 * Resolve 'patterns' ("public.*, !public.audit": comma separated, shell
 * wildcards, a pattern without a dot means schema public) against the
 * database's ordinary and partitioned tables.  '*out' is sorted by schema
 * and name.  Returns 0, SL_ENOTFOUND naming the patterns when nothing
 * matches, SL_EINVAL for an empty pattern, or SL_EPROTO.
 */
int cap_pg_tables_resolve(struct pg_conn *, const char *patterns,
    struct cap_pg_table **out, size_t *n, struct sl_err *err);
void cap_pg_tables_free(struct cap_pg_table *, size_t n);
/* 1 if "schema.name" matches 'patterns' (same rules). */
int cap_pg_table_match(const char *patterns, const char *schema, const char *name);

/*
 * Check that the connected role can capture: REPLICATION attribute (or
 * superuser) and SELECT on every table.  Returns 0 or SL_EPROTO with a
 * sentence naming the missing privilege and the statement that grants it.
 */
/*
 * When 'relid' is a partition: the oid, schema and name (malloc'd) of its
 * partition root; '*root' 0 when it is not a partition (or is gone, or the
 * server predates PostgreSQL 12).
 */
int cap_pg_partition_root(struct pg_conn *, uint32_t relid, uint32_t *root, char **schema,
    char **name, struct sl_err *err);
/* '*n': the leaf partitions partitioned table 'root' has now. */
int cap_pg_partition_leaves(struct pg_conn *, uint32_t root, long *n, struct sl_err *err);
int cap_pg_privileges_check(struct pg_conn *, const struct cap_pg_table *, size_t n,
    struct sl_err *err);

/*
 * Create publication 'pub' FOR TABLE the list when it does not exist;
 * '*created' says whether it did.  A missing ownership gives SL_EPROTO
 * naming the table and what to do.
 */
int cap_pg_publication_ensure(struct pg_conn *, const char *pub,
    const struct cap_pg_table *, size_t n, int *created, struct sl_err *err);

/*
 * The primary key's column names of table 'relid' ('*n' = 0 when it has
 * none); the caller frees each name and the array.
 */
int cap_pg_pk_columns(struct pg_conn *, uint32_t relid, char ***names, size_t *n,
    struct sl_err *err);
/* The NOT NULL columns of 'relid' (names malloc'd, as cap_pg_pk_columns). */
int cap_pg_not_null_columns(struct pg_conn *, uint32_t relid, char ***names, size_t *n,
    struct sl_err *err);

struct cap_pg_slot_info {
	int exists;
	uint64_t confirmed_flush;
	uint64_t restart_lsn;
	char wal_status[16];		/* reserved, extended, unreserved, lost, "" */
	char plugin[64];
	char database[128];
	int active;
};
int cap_pg_slot_info(struct pg_conn *, const char *slot, struct cap_pg_slot_info *out,
    struct sl_err *err);

/*
 * What a type oid is: for a domain its base type's oid (recursively), for
 * an enum 'is_enum' = 1; the type's name into 'name'.  Returns 0,
 * SL_ENOTFOUND or SL_EPROTO.
 */
int cap_pg_type_lookup(struct pg_conn *, uint32_t oid, uint32_t *base_oid,
    int *is_enum, char *name, size_t name_size, struct sl_err *err);

/* ------------------------------------------------------ Kafka (produce.c) */

struct cap_kv {
	char *key;
	char *value;
};

/* A source position: commit LSN (or 0 for snapshot rows) and sequence. */
struct cap_pos {
	uint64_t lsn;
	uint64_t seq;
};

static inline int
cap_pos_cmp(const struct cap_pos *a, const struct cap_pos *b)
{
	if (a->lsn != b->lsn)
		return a->lsn < b->lsn ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

/*
 * The text of the sluice.pos header, "X/Y:SEQ" (capture/produce.c): at
 * most 17 + 1 + 20 bytes and a NUL.  cap_pos_fmt writes it to 'buf' ('size'
 * >= CAP_POS_TEXT_MAX) and returns its length (0 if 'size' is too small);
 * cap_pos_parse reads 'len' bytes at 'v' (not NUL-terminated) and returns
 * 0 or SL_EINVAL for anything else (empty, too long, a NUL, no colon, a
 * bad LSN, a sequence that is not all digits or overflows).
 */
#define CAP_POS_TEXT_MAX 40
size_t cap_pos_fmt(const struct cap_pos *pos, char *buf, size_t size);
int cap_pos_parse(const void *v, size_t len, struct cap_pos *pos);

/* A topic capture writes, with the positions found in it at start. */
struct cap_topic {
	char *name;
	char *source;			/* cap_topic_spec.source, or NULL */
	int32_t partitions;
	struct cap_pos *last;		/* per partition: highest stored position */
	int *has_last;			/* per partition: 'last' is set */
	int64_t *hi;			/* per partition: end offset when read */
	struct sl_buf *last_val;	/* per partition: the value of the message
					   holding 'last' (empty for a tombstone) */
	void *rkt;			/* rd_kafka_topic_t */
};

struct cap_topic_spec {
	const char *name;
	int partitions;
	int replication_factor;		/* -1: the broker's default */
	int compact;			/* cleanup.policy=compact, else delete */
	int64_t retention_ms;		/* delete policy only; 0: broker default */
	const struct cap_kv *configs;	/* more topic configs */
	size_t n_configs;
	/*
	 * The table whose topic this is ("schema.table"), or NULL: a second
	 * table mapping to the same topic (cap_table_topic_name() turns
	 * distinct names into one) is refused when 'strict' (at start, for the
	 * tables the patterns match), else only warned about (a table renamed
	 * or dropped and made again while capture runs may take the topic
	 * over); 'renamed' logs the mapping once.
	 */
	const char *source;
	int strict;
	int renamed;
};

/*
 * The topic of table 'ns'.'table': "<prefix>.<ns>.<table>" with every
 * character that Kafka does not allow in a topic name (anything but ASCII
 * letters, digits, '.', '_' and '-') replaced by '_', one '_' for each
 * UTF-8 character, as Debezium's topic naming does; '*renamed' says
 * whether anything was replaced.  Returns the name (malloc'd), or NULL and
 * SL_EINVAL in 'err' when it is longer than Kafka's 249 characters.
 */
char *cap_table_topic_name(const char *prefix, const char *ns, const char *table,
    int *renamed, struct sl_err *err);
/* Kafka's longest topic name. */
#define CAP_TOPIC_NAME_MAX 249
/*
 * Append the 'n' bytes at 'part' to 'b' with what a topic name cannot hold
 * replaced as cap_table_topic_name() does ('*renamed' set if anything was).
 */
void cap_topic_part(struct sl_buf *b, const char *part, size_t n, int *renamed);
struct cap_producer;
/*
 * The topic of table 'ns'.'table' of the source configured by 'c' (name,
 * partitions, replication, cleanup policy: compacted when 'compact' and
 * the source's topic.cleanup_policy say so), opened with cap_topic_open();
 * 'strict' as in cap_topic_spec.
 */
int cap_table_topic_open(struct cap_producer *, const struct cap_conf *c, const char *ns,
    const char *table, int compact, int strict, struct cap_topic **out, struct sl_err *err);
/* 0 when 'prefix' is a valid start of topic names, else SL_EINVAL naming the byte. */
int cap_topic_prefix_check(const char *prefix, struct sl_err *err);

struct cap_producer;

/* Called from cap_producer_poll for each message: 'error' 0 or librdkafka's. */
typedef void cap_delivery_fn(void *msg_opaque, int error, const char *errstr, void *ctx);

/*
 * An idempotent, acks=all producer on 'bootstrap' with librdkafka options
 * 'props' (copied; enable.idempotence and acks cannot be overridden).
 */
int cap_producer_open(const char *bootstrap, const struct cap_kv *props, size_t n_props,
    cap_delivery_fn *on_delivery, void *ctx, struct cap_producer **out,
    struct sl_err *err);
void cap_producer_close(struct cap_producer *);
/*
 * The topic 'spec->name': created when missing, its partition count from
 * metadata, and its partitions' last stored positions read.  The topic is
 * owned by the producer.  Returns 0, SL_EPROTO or SL_EINVAL.
 */
int cap_topic_open(struct cap_producer *, const struct cap_topic_spec *spec,
    struct cap_topic **out, struct sl_err *err);
/*
 * Wait 'settle_ms' and re-read the partitions whose end moved since they
 * were opened (a killed predecessor's last requests), until none moves.
 */
int cap_producer_settle(struct cap_producer *, int settle_ms, struct sl_err *err);
/*
 * The value of the message with the highest sluice.pos in 'partition' of
 * topic 'name' into 'value' ('*found' 0 when the topic does not exist or
 * holds none).  Never creates the topic.  Returns 0 or SL_EPROTO.
 */
int cap_topic_peek_last(struct cap_producer *, const char *name, int32_t partition,
    struct sl_buf *value, int *found, struct sl_err *err);
/* 1 if 'pos' is at or below what partition 'partition' already holds. */
int cap_topic_skip(const struct cap_topic *, int32_t partition, const struct cap_pos *pos);
/* Queue one message (copied); 'value' NULL is a tombstone. */
int cap_produce(struct cap_producer *, struct cap_topic *, int32_t partition,
    const void *key, size_t key_len, const void *value, size_t value_len,
    const struct cap_pos *pos, void *opaque, struct sl_err *err);
void cap_producer_poll(struct cap_producer *, int timeout_ms);
/*
 * Give the next cap_produce() one more header 'name' (with the 'len' bytes
 * at 'val', which must live until that call).
 */
void cap_producer_next_header(struct cap_producer *, const char *name, const void *val,
    size_t len);
int cap_producer_outstanding(const struct cap_producer *);
/* Times cap_produce() waited for room in a full producer queue. */
uint64_t cap_producer_full_waits(const struct cap_producer *);
int cap_producer_flush(struct cap_producer *, int timeout_ms);
/* While '*stop' is set, cap_produce gives up waiting for queue room. */
void cap_producer_set_stop(struct cap_producer *, volatile sig_atomic_t *stop);

/* ------------------------------------------------- events (event.c) */

struct sch_event;
struct sch_json_opts;
struct sch_tx_count;

/* murmur2(key) % partitions, as Kafka's default partitioner; 0 for no key. */
int32_t cap_key_partition(const struct cap_topic *topic, const struct sl_buf *key);
/*
 * The Kafka key and value of 'ev' in the source's format ('json': the
 * Debezium envelope with 'jo'; else protobuf, copying 'table_pb', the
 * encoded table of ev->table).  A table without a key gives an empty
 * 'key'.  Returns 0 or the encoder's code with 'err' naming the table.
 */
int cap_event_encode(int json, const struct sch_json_opts *jo, const struct sch_event *ev,
    struct sl_slice table_pb, struct sl_buf *key, struct sl_buf *val, struct sl_err *err);
/* FNV-1a 64 of 'n' bytes at 'p' continuing 'h' (start: CAP_FNV_INIT). */
#define CAP_FNV_INIT 1469598103934665603ull
uint64_t cap_fnv1a(uint64_t h, const void *p, size_t n);
/* Count one event of 'collection' in a transaction's per-table counts. */
uint64_t cap_tx_count(struct sch_tx_count **counts, uint32_t *n, const char *collection);

/*
 * exclude_columns (Debezium's column.exclude.list): comma-separated shell
 * patterns over "ns.table.column", ns the schema (PostgreSQL) or database
 * (MySQL).  A left-out column is in no event, no schema and no view.
 */
struct sch_column;
struct sch_value;
/* 1 if 'patterns' (NULL: none) name column 'column' of ns.table. */
int cap_column_excluded(const char *patterns, const char *ns, const char *table,
    const char *column);
/* 0, or -1 with 'why' naming the pattern that is not "ns.table.column". */
int cap_exclude_columns_check(const char *patterns, char *why, size_t whylen);
/*
 * Which of the 'n' columns 'cols' of ns.table stay: '*keep' NULL and
 * '*n_keep' = n when all do; else a new array (free()) of the indexes
 * kept, ascending.  SL_ECONFIG when a key column would be left out.
 */
int cap_columns_keep(const char *patterns, const char *ns, const char *table,
    const struct sch_column *cols, uint32_t n, uint32_t **keep, uint32_t *n_keep,
    struct sl_err *err);
/* Move the kept values of a full-width row 'v' to its front (keep NULL: none). */
void cap_values_keep(struct sch_value *v, const uint32_t *keep, uint32_t n_keep);

/*
 * key_columns (Debezium's message.key.columns): "pattern:col[,col]; ..."
 * names the columns of the Kafka key of the tables a pattern (over
 * "ns.table") matches; the first matching entry counts.
 */
/* 0, or -1 with 'why' naming the entry that is not pattern:columns. */
int cap_key_columns_check(const char *spec, char *why, size_t whylen);
/* 1 if 'spec' (NULL: none) names the key of ns.table. */
int cap_key_columns_named(const char *spec, const char *ns, const char *table);
/*
 * Set the key flags of 'cols' as 'spec' says for ns.table ('*applied' 1),
 * or leave them ('*applied' 0).  SL_ECONFIG naming a column the table
 * does not have.
 */
int cap_key_columns_apply(const char *spec, const char *ns, const char *table,
    struct sch_column *cols, uint32_t n, int *applied, struct sl_err *err);

/*
 * mask_columns: the columns its patterns (as exclude_columns') name carry
 * the lowercase hex SHA-256 of mask_salt followed by their value, so they
 * stay joinable without being readable.  The flags per column of 't', or
 * NULL when none is masked (free()).
 */
struct sch_table;
uint8_t *cap_columns_mask(const char *patterns, const char *ns, const char *table,
    const struct sch_column *cols, uint32_t n);
/*
 * '*out': 'v' (the values of 't') with the masked columns hashed, a copy
 * in 'a' ('v' itself when 'mask' is NULL or 'v' is NULL); nulls and
 * unchanged markers stay.  SL_ECONFIG naming a masked column that holds
 * neither text nor bytes.
 */
int cap_values_mask(const char *salt, const uint8_t *mask, const struct sch_table *t,
    const char *collection, const struct sch_value *v, struct sch_value **out,
    struct sl_arena *a, struct sl_err *err);

/*
 * The table patterns of an execute-snapshot signal's data: the strings of
 * the array in {"data-collections": ["db.t1", ...]}, joined with ", ", or
 * the data itself when it is not JSON.  0 with 'pat' NUL-terminated (not
 * counted in its len), or -1 when there are none, more than 4 KiB, or a NUL.
 */
int cap_signal_tables(const char *data, size_t len, struct sl_buf *pat);
/*
 * A row inserted into the signal table (Debezium's id, type, data; the
 * values 'v' of 't'): 1 with the table patterns in 'pat' for an
 * execute-snapshot naming tables, else 0, said in the log either way
 * ('where' names the position, 'when' ends the line).
 */
int cap_signal_row(const struct sch_table *t, const struct sch_value *v, const char *where,
    const char *when, struct sl_buf *pat);
/* The index of column 'name' in 't', or -1. */
int cap_column_index(const struct sch_table *t, const char *name);

/* ----------------------------------------------- outbox (outbox.c) */

struct sch_table;

/* Column indexes of an outbox table's route, key, payload and id (-1: none). */
struct cap_outbox_cols {
	int route, key, payload, id;
};

/* One outbox message: its topic (NUL-terminated), key, value and id. */
struct cap_outbox_msg {
	struct sl_buf topic, route, key, value, id;
	int null_key, null_value, has_id;
};

/*
 * Find the columns c->outbox_* name in table 't' ('collection' names it in
 * errors).  SL_ECONFIG when the route, key or payload column is missing.
 */
int cap_outbox_bind(const struct cap_conf *c, const struct sch_table *t, const char *collection,
    struct cap_outbox_cols *ob, struct sl_err *err);
/*
 * The message of an outbox row 'after' (the values of 't', as bound): the
 * topic is c->outbox_topic with "{route}" replaced by the route's text
 * (what a topic name cannot hold becomes '_'); a null payload is a null
 * value (a tombstone).  SL_EINVAL for a null route or a value kind that
 * has no bytes to send.
 */
int cap_outbox_event(const struct cap_conf *c, const struct cap_outbox_cols *ob,
    const struct sch_table *t, const char *collection, const struct sch_value *after,
    struct cap_outbox_msg *m, struct sl_err *err);
/*
 * The topic of message 'm' (opened, created when missing: c's partitions
 * and replication, cleanup.policy=delete, messages.retention) and its
 * partition (murmur2 of the key; 0 for a null key); header "id" set for the
 * next cap_produce().  The caller produces with its own position, then
 * clears the header (cap_producer_next_header(p, NULL, NULL, 0)), which a
 * skipped message would otherwise pass to the next.
 */
int cap_outbox_topic(struct cap_producer *p, const struct cap_conf *c,
    const struct cap_outbox_msg *m, struct cap_topic **topic, int32_t *partition,
    struct sl_err *err);
/* 0 when 'tmpl' makes topic names, else -1 and 'why'. */
int cap_outbox_topic_check(const char *tmpl, char *why, size_t whylen);
void cap_outbox_msg_free(struct cap_outbox_msg *m);

/* -------------------------------------------------- HTTP (http.c) */

struct cap_http;

/* Fill 'body' for 'path'; return the HTTP status (200, 404, 503). */
typedef int cap_http_render_fn(void *ctx, const char *path, struct sl_buf *body);

/* Listen on "HOST:PORT".  Returns 0, SL_ECONFIG or -errno. */
int cap_http_open(const char *addr, struct cap_http **out, struct sl_err *err);
/* Answer the pending requests (non-blocking when none); NULL-safe. */
void cap_http_serve(struct cap_http *, cap_http_render_fn *render, void *ctx);
void cap_http_close(struct cap_http *);

/* ---------------------------------------------- spool (pg_spool.c) */

struct cap_spool;

/* A new spool file for streamed xid 'xid' in 'dir' (replacing a stale one). */
int cap_spool_open(const char *dir, uint32_t xid, struct cap_spool **out,
    struct sl_err *err);
uint32_t cap_spool_xid(const struct cap_spool *);
int cap_spool_append(struct cap_spool *, uint64_t lsn, const uint8_t *p, size_t len,
    struct sl_err *err);
/* Remember that subtransaction 'subxid' aborted: its changes are skipped. */
void cap_spool_abort_sub(struct cap_spool *, uint32_t subxid);
int cap_spool_is_aborted(const struct cap_spool *, uint32_t subxid);
int cap_spool_rewind(struct cap_spool *, struct sl_err *err);
int cap_spool_next(struct cap_spool *, uint64_t *lsn, struct sl_buf *msg,
    struct sl_err *err);
/* Close and delete the file. */
void cap_spool_close(struct cap_spool *);

#endif /* CAP_INT_H */
