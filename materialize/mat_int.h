/*
 * materialize/mat_int.h: internals of the materialize module, shared by its
 * files and its Check suite (tests/check_mat.c), never by other modules.
 *
 * It holds the byte layouts both sides of an LMDB view agree on: the
 * order-preserving key encoding (keyenc.c), the stored row and schema
 * records (row.c), the names of the named databases, and the JSON reader
 * (json.c).  lmdb.h and librdkafka stay out of this header too: handles
 * are opaque here and only the .c files of materialize/ include the libraries.
 *
 * NAMED DATABASES of a view environment (docs/views.md)
 *   "t:<table>"          rows: key = encoded primary key, value = row record
 *   "i:<table>:<index>"  secondary index: key = encoded index columns +
 *                        encoded primary key, value = encoded primary key
 *   "__offsets"          key = topic bytes, 0x00, be32 partition;
 *                        value = be64 next offset to consume
 *   "__schemas"          key = be64 schema id; value = schema record
 *   "__meta"             key = "index:<name>", value = "col[,col]" (the
 *                        view's declared indexes, for readers)
 * <table> is "<schema>.<name>" (PostgreSQL) or "<db>.<name>" (MySQL).
 *
 * INVARIANTS
 *  (1) Every change to "t:" and "i:" databases and the "__offsets" entry
 *      covering it are written in one LMDB write transaction, so a view
 *      always equals the log replayed up to its stored offsets.
 *  (2) An index entry exists exactly when its row exists and the row's
 *      indexed columns encode to that entry's prefix.
 *  (3) Key encodings compare with memcmp in the order of the values they
 *      encode (within one kind), and an encoded column is self-delimiting,
 *      so the encoding of a column list is a prefix of any longer list.
 *  (4) A row record's schema id is present in "__schemas" from the same
 *      transaction on.
 */
#ifndef MAT_INT_H
#define MAT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/sl.h"
#include "materialize/mat.h"
#include "schemas/sch.h"

#define MAT_ROW_VERSION 2		/* written; version 1 is still read */
#define MAT_ROW_VERSION_1 1
#define MAT_SCHEMA_VERSION 1
#define MAT_ROW_V1_HEADER_SIZE 29
#define MAT_MAX_DEPTH SCH_MAX_ARRAY_DEPTH
#define MAT_DB_OFFSETS "__offsets"
#define MAT_DB_SCHEMAS "__schemas"
#define MAT_DB_META "__meta"
/* Largest JSON document mat_json_parse accepts, and its nesting bound. */
#define MAT_JSON_MAX_SIZE (64u << 20)
#define MAT_JSON_MAX_DEPTH 64
/* Schema ids synthesized for JSON-format events have this bit set. */
#define MAT_SCHEMA_ID_JSON (UINT64_C(1) << 63)

/* ------------------------------------------------------------ key encoding */

/*
 * Append the order-preserving encoding of '*v' (a tag byte, the kind, then
 * the payload of docs/views.md's table) to 'out'.  Returns 0 or SL_EINVAL
 * for SCH_UNCHANGED or an array nested past MAT_MAX_DEPTH.  (3)
 */
int mat_key_encode_value(const struct sch_value *v, struct sl_buf *out);

/*
 * Parse one key argument 'text' (command line) as the column 'col' of a
 * table: with its PostgreSQL type when known, else by the kind hint.
 * Allocates from 'a'.  Returns 0 or SL_EINVAL with 'err' set.
 */
struct mat_column;
int mat_key_parse_text(const struct mat_column *col, const char *text,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err);

/* -------------------------------------------------------------- schemas */

/* One column as a view remembers it. */
struct mat_column {
	const char *name;
	uint32_t type_oid;		/* PostgreSQL type oid, 0 if unknown (json) */
	int32_t typmod;
	uint8_t kind;			/* enum sch_kind hint: what the values were */
	uint8_t is_key;
};

/* A table shape as stored in "__schemas". */
struct mat_schema {
	uint64_t id;
	const char *table;		/* "<schema>.<name>" */
	struct mat_column *columns;
	uint32_t n_columns;
};

/*
 * SCHEMA RECORD (value of "__schemas")
 *   OFFSET SIZE DESCRIPTION
 *        0    1 version = 1
 *        1    v uvarint length + table name bytes
 *        .    v uvarint column count
 *   per column:
 *        .    v uvarint length + name bytes
 *        .    v uvarint type oid
 *        .    v zigzag varint typmod
 *        .    1 kind hint (enum sch_kind)
 *        .    1 flags: bit 0 key column
 */
void mat_schema_encode(const struct mat_schema *s, struct sl_buf *out);
/* Decode into 's' allocating from 'a'; 0 or SL_ECORRUPT naming the offset. */
int mat_schema_decode(struct sl_slice in, uint64_t id, struct sl_arena *a,
    struct mat_schema *s, struct sl_err *err);

/* ------------------------------------------------------------------ rows */

/* Where a row came from. */
struct mat_pos {
	int32_t partition;		/* Kafka partition */
	int64_t offset;			/* Kafka offset of the change */
	uint64_t lsn;			/* source position (PG LSN), 0 if none */
};

/*
 * ROW RECORD (value of "t:<table>"), version 2
 *   OFFSET SIZE DESCRIPTION
 *        0    1 version = 2
 *        1    8 schema id, big-endian (a key of "__schemas") (4)
 *        9    v uvarint Kafka partition of the change that wrote the row
 *        .    v uvarint its Kafka offset
 *        .    v uvarint source position: PostgreSQL LSN, 0 if none
 *        .    v uvarint value count
 *        .    . values, each a kind byte then its payload:
 *               NULL, UNCHANGED  nothing
 *               BOOL             1 byte
 *               INT64, TIME      zigzag varint
 *               UINT64           uvarint
 *               DOUBLE           8 bytes IEEE bits
 *               text kinds,      uvarint length, bytes, one NUL (so a
 *               BYTES            zero-copy string is NUL-terminated)
 *               UUID             16 bytes
 *               DATE             1 byte infinity (0, 1, 0xff), zigzag days
 *               TIMESTAMP(TZ)    1 byte infinity, zigzag micros
 *               TIMETZ           zigzag micros, zigzag offset seconds
 *               INTERVAL         zigzag months, days, micros
 *               ARRAY            uvarint elem oid, uvarint count, values
 * Version 1, which views built before version 2 hold, differs only in a
 * fixed 29-byte header: partition be32 at 9, offset be64 at 13, LSN be64
 * at 21, the count at 29.  mat_row_header() reads both; rows are written
 * as version 2 (11-16 bytes less per row, docs/views.md).
 */
void mat_row_encode(uint64_t schema_id, const struct mat_pos *pos,
    const struct sch_value *values, uint32_t n, struct sl_buf *out);

/* The header of a row record; 0 or SL_ECORRUPT. */
int mat_row_header(struct sl_slice row, uint64_t *schema_id, struct mat_pos *pos,
    uint32_t *n, size_t *values_at, struct sl_err *err);

/*
 * Decode every value of 'row' into '*values' (n entries from 'a').  Text
 * and bytes point into 'row' (zero-copy): they live as long as its bytes.
 * Returns 0 or SL_ECORRUPT naming the offset.
 */
int mat_row_decode(struct sl_slice row, struct sl_arena *a,
    struct sch_value **values, uint32_t *n, struct sl_err *err);

/*
 * The primary key of row image 'img' (one value per column of 'ms'): its
 * key columns encoded in order (3), or every column when the table has
 * none.  Replaces 'out'.  0 or SL_EINVAL (an unchanged or unencodable key).
 */
int mat_pk_encode(const struct mat_schema *ms, const struct sch_value *img,
    struct sl_buf *out);

/*
 * Fill 's' with the shape of event table 't': its schema id, name
 * "<schema|db>.<name>", and columns with their kind hints (from the type
 * oid, or a JSON view's type name).  Strings come from 'a'.
 */
void mat_schema_from_event(const struct sch_table *t, struct sl_arena *a,
    struct mat_schema *s);

/* Append '*v' as JSON for `sluice view` (PostgreSQL text in strings). */
void mat_value_json(const struct sch_value *v, const struct mat_column *col,
    struct sl_buf *out);
void mat_json_string(struct sl_buf *out, const char *p, size_t len);

/*
 * Append '*v' (not NULL or unchanged) as plain text, what search and
 * cache views store: text as it is, other values as PostgreSQL prints
 * them (numbers, true/false, "{a,b}", "2024-05-01 10:00:00+00"), or, for
 * a JSON view's values, as `sluice view` prints them without quotes.
 */
void mat_value_text(const struct sch_value *v, const struct mat_column *col,
    struct sl_buf *out);

/* ------------------------------------------------------------------ JSON */

enum mat_json_type {
	MAT_JSON_NULL, MAT_JSON_FALSE, MAT_JSON_TRUE, MAT_JSON_NUMBER,
	MAT_JSON_STRING, MAT_JSON_ARRAY, MAT_JSON_OBJECT
};

/* A parsed JSON value; everything lives in the parser's arena. */
struct mat_json {
	enum mat_json_type type;
	const char *s;			/* STRING: unescaped, NUL-terminated;
					   NUMBER: its text */
	size_t len;
	struct sl_slice raw;		/* the value's bytes in the input */
	struct mat_json *items;		/* ARRAY elements, OBJECT values */
	const char **keys;		/* OBJECT keys (unescaped) */
	size_t *key_lens;
	size_t n;
};

/*
 * Parse 'in' (one JSON text, RFC 8259, strict: no trailing commas, no
 * comments, UTF-8 checked, nesting at most MAT_JSON_MAX_DEPTH) into '*out'
 * from 'a'.  'raw' slices borrow 'in'.  Returns 0, SL_ETOOBIG, or
 * SL_ECORRUPT with 'err' naming the byte offset.
 */
int mat_json_parse(struct sl_slice in, struct sl_arena *a, struct mat_json *out,
    struct sl_err *err);
/* The member 'key' of object 'o', or NULL. */
const struct mat_json *mat_json_get(const struct mat_json *o, const char *key);

/*
 * Decode a Debezium envelope (value 'val', key 'key' may be empty) into
 * '*ev' with a synthesized table whose schema id has MAT_SCHEMA_ID_JSON
 * set.  Values: null, bool, integers (INT64), other numbers (DOUBLE),
 * strings (TEXT; the unavailable placeholder becomes SCH_UNCHANGED),
 * objects and arrays (JSON text).  Returns 0, SL_ENOTFOUND for an
 * envelope without a table (transaction, heartbeat, message), or
 * SL_ECORRUPT with 'err' set.
 */
int mat_json_event_decode(struct sl_slice key, struct sl_slice val,
    struct sl_arena *a, struct sch_event *ev, struct sl_err *err);

/* The layout of a search view's tables (fts_sink.c); 2: docs keyed by a
 * table number (tables), not the table's name. */
#define MAT_FTS_VERSION "2"

/* ----------------------------------------------------------------- sinks */

/*
 * What every sink shares (apply.c).  A sink's row operations: 'put' the
 * after image (c, r, u), 'del' the row of image 'img' (d), 'truncate' the
 * table's rows last written from 'partition' (t).  mat_apply_event picks
 * one per event, or none (tombstones, messages, other records: counted
 * skipped), refuses an event without the image it needs (SL_EINVAL), and
 * counts what was applied.
 */
struct mat_sink_rules {
	int (*put)(void *sink, const struct sch_event *ev, const struct mat_pos *pos,
	    struct sl_err *err);
	int (*del)(void *sink, const struct sch_event *ev, const struct sch_value *img,
	    struct sl_err *err);
	int (*truncate)(void *sink, const struct sch_event *ev, int32_t partition,
	    struct sl_err *err);
};
int mat_apply_event(const struct mat_sink_rules *r, void *sink, const char *view,
    const struct sch_event *ev, const struct mat_pos *pos, struct mat_sink_stats *st,
    struct sl_err *err);
/* Where a change came from, as a row records it. */
void mat_pos_of(const struct mat_origin *o, const struct sch_event *ev, struct mat_pos *pos);

/* A partition's next offset as a sink caches it within its transaction. */
struct mat_offset {
	char *topic;
	int32_t partition;
	int64_t next;			/* -1: none stored */
	int dirty;			/* moved in the open transaction */
};
struct mat_offsets {
	struct mat_offset *v;
	size_t n;
};
/* The cached entry, or NULL; mat_offsets_add appends one (not dirty). */
struct mat_offset *mat_offsets_find(struct mat_offsets *, const char *topic,
    int32_t partition);
struct mat_offset *mat_offsets_add(struct mat_offsets *, const char *topic,
    int32_t partition, int64_t next);
void mat_offsets_clear(struct mat_offsets *);

/* --------------------------------------------------------------- metrics */

enum {
	MAT_M_EVENTS,		/* counter: events applied */
	MAT_M_COMMITS,		/* counter: LMDB transactions committed */
	MAT_M_LAG,		/* gauge: messages behind the high watermarks */
	MAT_M_RATE,		/* gauge: events/s over the last second */
	MAT_M_REBUILD,		/* gauge: 1 while rebuilding */
	MAT_M_DELAY,		/* gauge: ms from the produce time of the last
				   committed message to its commit */
	MAT_M__COUNT
};

/*
 * Counters of one view, and (when 'listen' is HOST:PORT, not NULL) a
 * thread serving them as Prometheus text on GET /metrics, and "ok" on
 * GET /health.  '*out' is never NULL on success; every function accepts
 * a NULL handle.  Returns 0 or -errno naming the address.
 */
struct mat_metrics;
int mat_metrics_start(const char *listen, const char *view, struct mat_metrics **out,
    struct sl_err *err);
void mat_metrics_add(struct mat_metrics *, int which, int64_t n);
void mat_metrics_set(struct mat_metrics *, int which, int64_t v);
int64_t mat_metrics_get(const struct mat_metrics *, int which);
void mat_metrics_stop(struct mat_metrics *);

#endif /* MAT_INT_H */
