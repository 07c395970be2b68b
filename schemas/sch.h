/*
 * schemas/sch.h: the one public header of the schemas module.
 *
 * The change-event model (an event independent of any wire format), the
 * mapping of PostgreSQL's text output to typed values and back, and the two
 * encodings of an event: protobuf (schemas/event.proto, package sluice.v1)
 * and the Debezium JSON envelope (JsonConverter, schemas.enable=false).
 *
 * It is not a PostgreSQL client: nothing here talks to a server or includes
 * libpq, and protobuf-c types never appear in this header (they stay inside
 * schemas/encode_pb.c).  docs/events.md explains the model field by field
 * and docs/types.md the type table.
 *
 * MEMORY.  Every decoder (sch_pg_parse, sch_event_decode_pb) allocates from a
 * caller's struct sl_arena; what it returns stays valid until that arena is
 * reset or freed.  Encoders append to a caller's struct sl_buf and borrow
 * their inputs only for the call.  Every function is safe to call from
 * several threads at once on different data (the protobuf encoders keep a
 * per-thread scratch arena).
 *
 * INVARIANTS
 *  (1) A value of kind SCH_UNCHANGED is never NULL and never a placeholder
 *      string: it means "PostgreSQL did not send this TOASTed value because
 *      the update did not change it".  Only the JSON encoder turns it into
 *      Debezium's placeholder, and only there.
 *  (2) Every string a decoder returns (struct sch_str) is NUL-terminated in
 *      the arena, and 'len' excludes the NUL; embedded NULs cannot occur in
 *      PostgreSQL text but are not assumed absent by the encoders.
 *  (3) sch_key_encode_pb() is a pure function of the key columns' names,
 *      types and values: the same row key gives the same bytes, because the
 *      Kafka partition is murmur2(key) and compaction keys on those bytes.
 */
#ifndef SCH_H
#define SCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/sl.h"

/* ------------------------------------------------------------------ values */

/* Length + pointer text; NUL-terminated when a decoder of ours made it. (2) */
struct sch_str {
	const char *p;
	size_t len;
};

/*
 * What a value holds.  The numbers are the protobuf oneof field numbers of
 * sluice.v1.Value (event.proto) so both sides agree; never renumber.
 */
enum sch_kind {
	SCH_NULL = 1,		/* SQL NULL */
	SCH_UNCHANGED = 2,	/* unchanged TOASTed value, not sent (1) */
	SCH_BOOL = 3,		/* u.b: 0 or 1 */
	SCH_INT64 = 4,		/* u.i64: int2, int4, int8 */
	SCH_UINT64 = 5,		/* u.u64: oid, xid, cid, regproc..., MySQL unsigned */
	SCH_DOUBLE = 6,		/* u.f64: float4, float8; NaN, +-Inf, -0 kept */
	SCH_NUMERIC = 7,	/* u.s: decimal text as PG prints it, "NaN",
				   "Infinity", "-Infinity" */
	SCH_TEXT = 8,		/* u.s: text, varchar, bpchar, name, char, and
				   every type we keep as its text (see below) */
	SCH_BYTES = 9,		/* u.bytes: bytea */
	SCH_UUID = 10,		/* u.uuid: 16 bytes */
	SCH_JSON = 11,		/* u.s: json, jsonb text */
	SCH_DATE = 12,		/* u.date + inf: days since 1970-01-01 */
	SCH_TIME = 13,		/* u.time_us: micros since midnight (<= 24:00) */
	SCH_TIMETZ = 14,	/* u.timetz: micros + UTC offset seconds east */
	SCH_TIMESTAMP = 15,	/* u.ts_us + inf: micros since 1970-01-01 00:00,
				   no zone */
	SCH_TIMESTAMPTZ = 16,	/* u.ts_us + inf: micros since the epoch, UTC */
	SCH_INTERVAL = 17,	/* u.interval: months, days, micros */
	SCH_INET = 18,		/* u.s: inet, cidr text */
	SCH_MACADDR = 19,	/* u.s: macaddr, macaddr8 text */
	SCH_BITS = 20,		/* u.s: bit, varbit as a string of '0'/'1' */
	SCH_MONEY = 21,		/* u.s: money text (lc_monetary dependent) */
	SCH_XML = 22,		/* u.s: xml text */
	SCH_ARRAY = 23,		/* u.array: elements (multi-dim = nested arrays) */
	SCH_ENUM = 24,		/* u.s: enum label */
	SCH_OTHER = 25		/* u.s: composite, range, geometric, tsvector and
				   any other type kept as PG's text */
};

/*
 * Infinity for dates and timestamps: PostgreSQL's 'infinity' and
 * '-infinity'.  When 'inf' is not 0 the numeric field is meaningless (0).
 */
enum sch_inf {
	SCH_INF_NONE = 0,
	SCH_INF_POS = 1,
	SCH_INF_NEG = -1
};

struct sch_value {
	enum sch_kind kind;
	int inf;			/* enum sch_inf; dates and timestamps only */
	union {
		int b;			/* SCH_BOOL */
		int64_t i64;		/* SCH_INT64 */
		uint64_t u64;		/* SCH_UINT64 */
		double f64;		/* SCH_DOUBLE */
		struct sch_str s;	/* the text-held kinds */
		struct sl_slice bytes;	/* SCH_BYTES */
		uint8_t uuid[16];	/* SCH_UUID, network order */
		int32_t date;		/* SCH_DATE */
		int64_t time_us;	/* SCH_TIME */
		struct {
			int64_t time_us;	/* local time of day, micros */
			int32_t offset_s;	/* seconds east of UTC (+02 = 7200) */
		} timetz;		/* SCH_TIMETZ */
		int64_t ts_us;		/* SCH_TIMESTAMP, SCH_TIMESTAMPTZ */
		struct {
			int32_t months;
			int32_t days;
			int64_t us;
		} interval;		/* SCH_INTERVAL */
		struct {
			struct sch_value *v;	/* 'n' elements */
			uint32_t n;
			uint32_t elem_oid;	/* PG element type oid, 0 if unknown */
		} array;		/* SCH_ARRAY */
	} u;
};

/* Constructors for tests and for capture's snapshot path; 's' is borrowed. */
static inline struct sch_value
sch_value_null(void)
{
	struct sch_value v;

	memset(&v, 0, sizeof(v));
	v.kind = SCH_NULL;
	return v;
}

static inline struct sch_value
sch_value_unchanged(void)
{
	struct sch_value v = sch_value_null();

	v.kind = SCH_UNCHANGED;
	return v;
}

static inline struct sch_value
sch_value_int64(int64_t i)
{
	struct sch_value v = sch_value_null();

	v.kind = SCH_INT64;
	v.u.i64 = i;
	return v;
}

static inline struct sch_value
sch_value_text(const char *s, size_t len)
{
	struct sch_value v = sch_value_null();

	v.kind = SCH_TEXT;
	v.u.s.p = s;
	v.u.s.len = len;
	return v;
}

/* The name of a kind ("timestamptz"); a static string, "?" if unknown. */
const char *sch_kind_name(enum sch_kind);
/* 1 for the kinds whose payload is the text u.s (NUMERIC, TEXT, JSON...). */
int sch_kind_is_text(enum sch_kind);

/*
 * Deep-copy 'src' (strings, bytes, array elements) into 'a'.  Returns the
 * copy by value; nothing of 'src' is borrowed afterwards.
 */
struct sch_value sch_value_copy(const struct sch_value *src, struct sl_arena *a);

/*
 * 1 if 'x' and 'y' hold the same value: same kind and same contents (NaN
 * equals NaN with the same bits, -0 differs from 0), else 0.  For tests and
 * for the materializer's "did it change" check.
 */
int sch_value_equal(const struct sch_value *x, const struct sch_value *y);

/* ------------------------------------------------------------- tables */

/* One column of a table as the source describes it. */
struct sch_column {
	const char *name;		/* column name */
	uint32_t type_oid;		/* PG type oid; for a domain its base type;
					   0 for MySQL */
	const char *type_name;		/* "int4", "varchar", an enum's name... */
	int32_t typmod;			/* PG atttypmod, -1 if none */
	int is_key;			/* 1: part of the replica identity / PK */
	int nullable;			/* 1: may be NULL, 0: NOT NULL, -1 unknown */
};

/*
 * A table's shape at one schema version.  'schema_id' changes whenever the
 * columns change (capture bumps it on a new pgoutput Relation message that
 * differs), so a consumer can cache decoded shapes by id.
 */
struct sch_table {
	uint64_t schema_id;
	const char *db;			/* database name */
	const char *schema;		/* PG schema (namespace); NULL for MySQL */
	const char *name;		/* table name */
	struct sch_column *columns;
	uint32_t n_columns;
};

/* ------------------------------------------------------------- events */

/* The Debezium op codes; the enum values are the ASCII letters. */
enum sch_op {
	SCH_OP_CREATE = 'c',		/* INSERT */
	SCH_OP_UPDATE = 'u',
	SCH_OP_DELETE = 'd',
	SCH_OP_READ = 'r',		/* a snapshot row */
	SCH_OP_TRUNCATE = 't',
	SCH_OP_MESSAGE = 'm'		/* pg_logical_emit_message */
};

/* Debezium's source.snapshot values ("true", "last", "false", ...). */
enum sch_snapshot {
	SCH_SNAPSHOT_FALSE = 0,		/* streamed change */
	SCH_SNAPSHOT_TRUE = 1,		/* a snapshot row */
	SCH_SNAPSHOT_FIRST = 2,		/* first row of the snapshot */
	SCH_SNAPSHOT_LAST = 3,		/* last row of the snapshot */
	SCH_SNAPSHOT_FIRST_IN_DATA_COLLECTION = 4,
	SCH_SNAPSHOT_LAST_IN_DATA_COLLECTION = 5,
	SCH_SNAPSHOT_INCREMENTAL = 6
};

/* Which optional fields of struct sch_source are set (bit mask 'has'). */
enum {
	SCH_SRC_LSN = 1 << 0,		/* lsn */
	SCH_SRC_LAST_COMMIT_LSN = 1 << 1,	/* last_commit_lsn */
	SCH_SRC_TXID = 1 << 2,		/* txid */
	SCH_SRC_XMIN = 1 << 3,		/* xmin */
	SCH_SRC_BINLOG = 1 << 4,	/* binlog_file, binlog_pos, server_id */
	SCH_SRC_GTID = 1 << 5,		/* gtid */
	SCH_SRC_SEQUENCE = 1 << 6	/* sequence */
};

/*
 * Where and when a change happened.  Strings are borrowed (capture's) or
 * arena-allocated (decoders').
 */
struct sch_source {
	const char *connector;		/* "postgresql" or "mysql" */
	const char *name;		/* the [source "NAME"] of the config */
	const char *db;
	const char *schema;		/* NULL for MySQL */
	const char *table;		/* NULL for transaction-level events */
	int64_t ts_ms;			/* commit time, ms since the epoch */
	int64_t ts_us;			/* the same in micros (PG gives micros) */
	enum sch_snapshot snapshot;
	unsigned has;			/* SCH_SRC_* bits */
	uint64_t lsn;			/* PG: LSN of this change */
	uint64_t last_commit_lsn;	/* PG: LSN of the previous commit, the
					   first element of Debezium's
					   source.sequence */
	uint64_t txid;			/* PG xid (64-bit epoch-extended ok) */
	uint64_t xmin;			/* PG: catalog_xmin, rarely set */
	const char *binlog_file;	/* MySQL: binlog file name */
	uint64_t binlog_pos;		/* MySQL: position in it */
	uint32_t server_id;		/* MySQL server_id */
	uint32_t row;			/* MySQL: row within the event */
	const char *gtid;		/* MySQL GTID "uuid:N" / MariaDB "d-s-n" */
	uint64_t sequence;		/* a source-defined ordering number */
};

/* Debezium's "transaction" block; absent when 'id' is NULL. */
struct sch_txinfo {
	const char *id;			/* PG: "txid:lsn" as Debezium writes it */
	uint64_t total_order;		/* 1-based index of the event in its txn */
	uint64_t data_collection_order;	/* 1-based index among this table's */
};

/* pg_logical_emit_message (op 'm'). */
struct sch_message {
	const char *prefix;
	struct sl_slice content;	/* arbitrary bytes */
	int transactional;		/* 1: part of a transaction */
	uint64_t lsn;
};

/*
 * One change.  'table' describes the columns of 'before' and 'after', which
 * are arrays of table->n_columns values in column order, or NULL when the
 * image is absent (INSERT has no before; DELETE no after; with REPLICA
 * IDENTITY DEFAULT an UPDATE has no before and a DELETE's before has only
 * the key columns set, the others SCH_NULL).  'table' is NULL only for op
 * 'm'; a TRUNCATE has a table and no images.  'message' is set only for
 * op 'm'.
 */
struct sch_event {
	enum sch_op op;
	const struct sch_table *table;
	struct sch_value *before;
	struct sch_value *after;
	struct sch_source source;
	struct sch_txinfo tx;
	const struct sch_message *message;
	int64_t ts_ms;			/* when sluice processed it */
};

/*
 * A transaction boundary for `<topic_prefix>.transaction`, like Debezium's
 * transaction topic: BEGIN carries no counts, END the number of events in
 * total and per table ("schema.table" or "db.table").
 */
enum sch_tx_status { SCH_TX_BEGIN = 1, SCH_TX_END = 2 };

struct sch_tx_count {
	const char *data_collection;	/* "public.users" */
	uint64_t event_count;
};

struct sch_txevent {
	enum sch_tx_status status;
	const char *id;			/* the same id as struct sch_txinfo */
	uint64_t event_count;		/* END: events in the transaction */
	struct sch_tx_count *collections;	/* END: per table */
	uint32_t n_collections;
	int64_t ts_ms;			/* commit (END) or begin time */
	struct sch_source source;	/* connector, name, db, lsn, txid */
};

/* A heartbeat for `<topic_prefix>.heartbeat`: the source is alive at 'lsn'. */
struct sch_heartbeat {
	const char *connector;		/* "postgresql" or "mysql" */
	const char *name;		/* source name */
	int64_t ts_ms;
	uint64_t lsn;			/* PG: last confirmed flush LSN */
	const char *binlog_file;	/* MySQL */
	uint64_t binlog_pos;
	const char *gtid_set;		/* MySQL executed GTID set */
};

/*
 * Check an event's internal consistency (images sized by the table, no
 * UNCHANGED in a key column or an array, op 'm' has a message...).
 * Returns 0 or SL_EINVAL with 'err' naming the first problem.  Encoders
 * call it; tests call it after building events.
 */
int sch_event_check_(const struct sch_event *, struct sl_err *err);

/* ----------------------------------------------------- PostgreSQL types */

/* Built-in type oids that callers name; the full table is in pg_types.c. */
enum {
	SCH_OID_BOOL = 16, SCH_OID_BYTEA = 17, SCH_OID_CHAR = 18, SCH_OID_NAME = 19,
	SCH_OID_INT8 = 20, SCH_OID_INT2 = 21, SCH_OID_INT4 = 23, SCH_OID_TEXT = 25,
	SCH_OID_OID = 26, SCH_OID_JSON = 114, SCH_OID_XML = 142,
	SCH_OID_CIDR = 650, SCH_OID_FLOAT4 = 700, SCH_OID_FLOAT8 = 701,
	SCH_OID_MACADDR8 = 774, SCH_OID_MONEY = 790, SCH_OID_MACADDR = 829,
	SCH_OID_INET = 869, SCH_OID_BPCHAR = 1042, SCH_OID_VARCHAR = 1043,
	SCH_OID_DATE = 1082, SCH_OID_TIME = 1083, SCH_OID_TIMESTAMP = 1114,
	SCH_OID_TIMESTAMPTZ = 1184, SCH_OID_INTERVAL = 1186,
	SCH_OID_TIMETZ = 1266, SCH_OID_BIT = 1560, SCH_OID_VARBIT = 1562,
	SCH_OID_NUMERIC = 1700, SCH_OID_UUID = 2950, SCH_OID_JSONB = 3802,
	SCH_OID_INT4_ARRAY = 1007, SCH_OID_TEXT_ARRAY = 1009
};

/*
 * The kind sch_pg_parse() gives a built-in 'type_oid': SCH_ARRAY for the
 * built-in array types, SCH_TEXT for an oid it does not know (user types:
 * capture maps a domain to its base type's oid and an enum to SCH_ENUM via
 * sch_pg_parse_enum, before calling).  Never SCH_NULL or SCH_UNCHANGED.
 */
enum sch_kind sch_pg_type_kind(uint32_t type_oid);

/* The element oid of a built-in array type, or 0 if 'type_oid' is not one. */
uint32_t sch_pg_array_elem(uint32_t type_oid);

/* The array type of a built-in element type, or 0 (for tests, snapshots). */
uint32_t sch_pg_array_of(uint32_t elem_oid);

/* PG's name of a built-in type ("timestamptz", "_int4"), or NULL. */
const char *sch_pg_type_name(uint32_t type_oid);

/*
 * Parse 'len' bytes of 'text', PostgreSQL's text output of a non-NULL value
 * of type 'type_oid' (what pgoutput sends in text mode), into '*out'.
 * Strings and elements are allocated from 'a'; 'text' is not borrowed.
 * 'typmod' is accepted for future use (numeric scale) and may be -1.
 *
 * The server must run with the settings capture sets on its replication
 * connection: DateStyle=ISO, TimeZone=UTC, IntervalStyle=postgres,
 * bytea_output=hex, extra_float_digits=1 (the default).
 *
 * Unknown oids give SCH_TEXT holding the text.  Two valid inputs come back
 * as SCH_OTHER holding the text verbatim: arrays with explicit bounds
 * ("[0:1]={1,2}") and timestamps past 294247 AD (PostgreSQL counts micros
 * from 2000, we from 1970).  Returns 0, or SL_ECORRUPT
 * with 'err' naming the type and the (truncated) text when the text is not
 * what PostgreSQL prints for that type.
 */
int sch_pg_parse(uint32_t type_oid, int32_t typmod, const char *text, size_t len,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err);

/* An enum label: SCH_ENUM holding a copy of 'text'.  Always 0. */
int sch_pg_parse_enum(const char *text, size_t len, struct sl_arena *a,
    struct sch_value *out);

/*
 * Append to 'out' the exact text PostgreSQL prints for '*v' as type
 * 'type_oid' (same settings as above): the inverse of sch_pg_parse, so
 * parse followed by this is the identity on PG's output.  Floats use PG 12+
 * shortest round-trip digits.  SCH_NULL appends nothing and returns 0 (the
 * caller knows it is NULL).  SCH_OTHER prints its text for any oid.
 * Returns 0, or SL_EINVAL for SCH_UNCHANGED, a kind that does not fit a
 * built-in 'type_oid' or an out-of-range time; 'out' may then hold a
 * partial text.
 */
int sch_value_to_pg_text(const struct sch_value *v, uint32_t type_oid,
    struct sl_buf *out);

/* ---------------------------------------------------- MySQL / MariaDB */

/*
 * The kind capture gives a MySQL column whose sch_column.type_name is
 * 'type_name' ("int", "bigint unsigned", "datetime", "varbinary"...: the
 * names of docs/types.md's MySQL table); SCH_TEXT for a name it does not
 * know.  For readers of events from a mysql source (type_oid 0).
 */
enum sch_kind sch_my_type_kind(const char *type_name);

/* ------------------------------------------------------------- protobuf */

/* Largest serialized message sch_*_decode_pb accepts (64 MiB). */
#define SCH_PB_MAX_SIZE (64u << 20)
/* Deepest array nesting any decoder accepts (PostgreSQL's MAXDIM). */
#define SCH_MAX_ARRAY_DEPTH 6

/*
 * Append the protobuf serialization of '*ev' (message sluice.v1.Event) to
 * 'out'.  Returns 0 or SL_EINVAL (sch_event_check_ failed; nothing
 * appended).
 */
int sch_event_encode_pb(const struct sch_event *ev, struct sl_buf *out);
/*
 * The Event's 'table' field (tag, length and Table message) for '*t', as
 * sch_event_encode_pb writes it, appended to 'out'.  A producer that
 * encodes many events of one table keeps it (capture keeps one per schema
 * version) and passes it to sch_event_encode_pb_table, which copies it
 * instead of encoding the table's names and columns again for every
 * event: a third of an event's bytes.  Returns 0.
 */
int sch_table_encode_pb(const struct sch_table *t, struct sl_buf *out);
/*
 * sch_event_encode_pb with 'table_pb' (from sch_table_encode_pb of
 * 'ev->table', unchanged since) in place of encoding 'ev->table': the same
 * bytes.  Returns 0 or SL_EINVAL.
 */
int sch_event_encode_pb_table(const struct sch_event *ev, struct sl_slice table_pb,
    struct sl_buf *out);

/*
 * Decode a sluice.v1.Event from 'in' into '*out'; everything (table,
 * images, strings) is allocated from 'a' and 'in' is not borrowed.
 * Returns 0, SL_ETOOBIG when 'in' is longer than SCH_PB_MAX_SIZE, or
 * SL_ECORRUPT with 'err' set when the bytes are not a valid Event (bad
 * wire format, unknown op, image not matching the columns, arrays nested
 * deeper than SCH_MAX_ARRAY_DEPTH...).
 */
int sch_event_decode_pb(struct sl_slice in, struct sl_arena *a,
    struct sch_event *out, struct sl_err *err);

/*
 * Append the Kafka message key of '*ev': a sluice.v1.Key holding the key
 * columns (is_key) of the after image, or of the before image when there
 * is no after (DELETE), in column order.  Deterministic (3).  Returns 0,
 * SL_ENOTFOUND when the table has no key column (the caller produces a
 * null key), or SL_EINVAL (no table, or a key value UNCHANGED).
 */
int sch_key_encode_pb(const struct sch_event *ev, struct sl_buf *out);

/*
 * Decode a sluice.v1.Key: '*names' and '*values' get '*n' entries from 'a'.
 * Returns 0, SL_ETOOBIG or SL_ECORRUPT.
 */
int sch_key_decode_pb(struct sl_slice in, struct sl_arena *a,
    const char ***names, struct sch_value **values, uint32_t *n,
    struct sl_err *err);

/*
 * The same two encodings through protobuf-c's generic packer: slower (a
 * message tree and a size pass per event), kept as the reference the
 * direct encoders above must match byte for byte (tests/check_pbdirect.c).
 */
int sch_event_encode_pb_ref(const struct sch_event *ev, struct sl_buf *out);
int sch_key_encode_pb_ref(const struct sch_event *ev, struct sl_buf *out);

/*
 * The two decoders above through protobuf_c_message_unpack and a
 * conversion of its tree: slower, same conventions and results, kept as
 * the reference the direct decoders must agree with on every input
 * (tests/check_pbdirect.c and the fuzz_pg_types target, which run both).
 * The known differences are listed at the top of schemas/decode_pb.c.
 */
int sch_event_decode_pb_ref(struct sl_slice in, struct sl_arena *a,
    struct sch_event *out, struct sl_err *err);
int sch_key_decode_pb_ref(struct sl_slice in, struct sl_arena *a,
    const char ***names, struct sch_value **values, uint32_t *n,
    struct sl_err *err);

/* sluice.v1.TransactionEvent and sluice.v1.Heartbeat, same conventions. */
int sch_txevent_encode_pb(const struct sch_txevent *, struct sl_buf *out);
int sch_txevent_decode_pb(struct sl_slice in, struct sl_arena *a,
    struct sch_txevent *out, struct sl_err *err);
int sch_heartbeat_encode_pb(const struct sch_heartbeat *, struct sl_buf *out);
int sch_heartbeat_decode_pb(struct sl_slice in, struct sl_arena *a,
    struct sch_heartbeat *out, struct sl_err *err);

/* ------------------------------------------------------------ JSON */

/* Debezium's decimal.handling.mode. */
enum sch_decimal_mode {
	SCH_DECIMAL_PRECISE = 0,	/* base64 of the unscaled big-endian two's
					   complement (Kafka Connect Decimal);
					   NaN/Infinity numeric gives null */
	SCH_DECIMAL_STRING = 1,		/* "12.340" as PG printed it */
	SCH_DECIMAL_DOUBLE = 2		/* a JSON number (NaN -> "NaN") */
};

/*
 * JSON options, the connector settings a Debezium user would set.  A zeroed
 * struct (or NULL) means Debezium's defaults.
 */
struct sch_json_opts {
	enum sch_decimal_mode decimal;	/* decimal.handling.mode, precise */
	const char *unavailable;	/* unavailable.value.placeholder; NULL =
					   "__debezium_unavailable_value" */
	const char *version;		/* source.version; NULL = "sluice-"
					   SL_VERSION */
	int money_scale;		/* money.fraction.digits; 0 = 2 */
	/*
	 * JsonConverter's schemas.enable=true: keys and values as
	 * {"schema":{...},"payload":{...}}, the schema names starting with
	 * 'schema_prefix' (the topic prefix; NULL = the source's name).
	 */
	int schemas;
	const char *schema_prefix;
};

/*
 * Append '*ev' as Debezium's envelope (JsonConverter, schemas.enable=false):
 * {"before":...,"after":...,"source":{...},"op":"c","ts_ms":N,
 *  "transaction":{...}|null}; for op 'm' {"op":"m","ts_ms":N,"source":...,
 * "message":{"prefix":...,"content":base64}}.  Encodings per docs/types.md.
 * 'opts' may be NULL.  Returns 0 or SL_EINVAL (sch_event_check_ failed).
 */
int sch_event_encode_json(const struct sch_event *ev,
    const struct sch_json_opts *opts, struct sl_buf *out);

/*
 * A string key (a logical message's prefix, a transaction id, the source's
 * name on the heartbeat topic): as it is, or with opts->schemas a
 * JsonConverter string {"schema":...,"payload":"s"}.
 */
int sch_string_key_encode_json(const char *s, const struct sch_json_opts *opts,
    struct sl_buf *out);
struct sch_txevent;
struct sch_heartbeat;
/*
 * sch_txevent_encode_json and sch_heartbeat_encode_json, inside
 * {"schema","payload"} with opts->schemas (Debezium's
 * TransactionMetadataValue and Heartbeat schemas).
 */
int sch_txevent_encode_json_opts(const struct sch_txevent *tx,
    const struct sch_json_opts *opts, struct sl_buf *out);
int sch_heartbeat_encode_json_opts(const struct sch_heartbeat *hb,
    const struct sch_json_opts *opts, struct sl_buf *out);

/*
 * Append the JSON key {"col":value,...} of the key columns (as
 * sch_key_encode_pb chooses them).  Returns 0, SL_ENOTFOUND or SL_EINVAL.
 */
int sch_key_encode_json(const struct sch_event *ev,
    const struct sch_json_opts *opts, struct sl_buf *out);

/*
 * Append one value as Debezium encodes a column of 'type_oid' (for tests
 * and for views that store JSON).  Returns 0 or SL_EINVAL.
 */
int sch_value_encode_json(const struct sch_value *v, uint32_t type_oid,
    int32_t typmod, const struct sch_json_opts *opts, struct sl_buf *out);

/* Debezium's transaction-topic and heartbeat JSON. */
int sch_txevent_encode_json(const struct sch_txevent *, struct sl_buf *out);
int sch_heartbeat_encode_json(const struct sch_heartbeat *, struct sl_buf *out);

#endif /* SCH_H */
