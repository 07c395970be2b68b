/*
 * capture/cap_my.h: the MySQL/MariaDB binlog decoder, internal to capture/
 * and its tests.
 *
 * The decoder (my_binlog.c, my_value.c) is pure: bytes in, structs out, no
 * I/O and no libmariadb.  It reads binlog events exactly as a server sends
 * them after COM_BINLOG_DUMP (and as they lie in a binlog file after its
 * 4-byte magic): a 19-byte v4 header, a body, and a 4-byte CRC32 trailer
 * when the Format Description event said so.  Everything it returns
 * borrows the event's bytes or the caller's arena; both must outlive the
 * result.
 *
 * Formats are documented with an OFFSET/SIZE table per event in
 * docs/binlog-format.md; the type mapping in docs/types.md.
 *
 * ERRORS.  A truncated, malformed or unknown-but-needed event gives
 * SL_ECORRUPT (SL_EUNSUPPORTED for a recognised feature we do not decode,
 * such as compressed events or MySQL's binary JSON) with 'err' naming the
 * binlog file and position passed in, the event type and the byte offset
 * inside the event.  Never a crash, never an allocation sized by an
 * unchecked length.
 */
#ifndef CAP_MY_H
#define CAP_MY_H

#include <stddef.h>
#include <stdint.h>

#include "common/sl.h"
#include "schemas/sch.h"

/* Event type codes (the byte at offset 4 of the header). */
enum cap_my_type {
	CAP_MY_QUERY = 2,
	CAP_MY_STOP = 3,
	CAP_MY_ROTATE = 4,
	CAP_MY_INTVAR = 5,
	CAP_MY_RAND = 13,
	CAP_MY_USER_VAR = 14,
	CAP_MY_FORMAT_DESCRIPTION = 15,
	CAP_MY_XID = 16,
	CAP_MY_TABLE_MAP = 19,
	CAP_MY_WRITE_ROWS_V1 = 23,
	CAP_MY_UPDATE_ROWS_V1 = 24,
	CAP_MY_DELETE_ROWS_V1 = 25,
	CAP_MY_INCIDENT = 26,
	CAP_MY_HEARTBEAT = 27,
	CAP_MY_ROWS_QUERY = 29,		/* MySQL */
	CAP_MY_WRITE_ROWS_V2 = 30,	/* MySQL 5.6+ */
	CAP_MY_UPDATE_ROWS_V2 = 31,
	CAP_MY_DELETE_ROWS_V2 = 32,
	CAP_MY_GTID_MYSQL = 33,
	CAP_MY_ANONYMOUS_GTID = 34,
	CAP_MY_PREVIOUS_GTIDS = 35,
	CAP_MY_PARTIAL_UPDATE_ROWS = 39,	/* MySQL 8, unsupported */
	CAP_MY_ANNOTATE_ROWS = 160,	/* MariaDB: the statement of the rows */
	CAP_MY_BINLOG_CHECKPOINT = 161,
	CAP_MY_GTID = 162,		/* MariaDB GTID: starts an event group */
	CAP_MY_GTID_LIST = 163,
	CAP_MY_START_ENCRYPTION = 164
	/* 165..171: MariaDB compressed query/rows events: SL_EUNSUPPORTED */
};

/* Column types of a Table Map (MYSQL_TYPE_*). */
enum cap_my_coltype {
	CAP_MYT_DECIMAL = 0, CAP_MYT_TINY = 1, CAP_MYT_SHORT = 2, CAP_MYT_LONG = 3,
	CAP_MYT_FLOAT = 4, CAP_MYT_DOUBLE = 5, CAP_MYT_NULL = 6, CAP_MYT_TIMESTAMP = 7,
	CAP_MYT_LONGLONG = 8, CAP_MYT_INT24 = 9, CAP_MYT_DATE = 10, CAP_MYT_TIME = 11,
	CAP_MYT_DATETIME = 12, CAP_MYT_YEAR = 13, CAP_MYT_NEWDATE = 14,
	CAP_MYT_VARCHAR = 15, CAP_MYT_BIT = 16, CAP_MYT_TIMESTAMP2 = 17,
	CAP_MYT_DATETIME2 = 18, CAP_MYT_TIME2 = 19, CAP_MYT_JSON = 245,
	CAP_MYT_NEWDECIMAL = 246, CAP_MYT_ENUM = 247, CAP_MYT_SET = 248,
	CAP_MYT_TINY_BLOB = 249, CAP_MYT_MEDIUM_BLOB = 250, CAP_MYT_LONG_BLOB = 251,
	CAP_MYT_BLOB = 252, CAP_MYT_VAR_STRING = 253, CAP_MYT_STRING = 254,
	CAP_MYT_GEOMETRY = 255
};

/* The binary character set: such a string or blob column is bytes. */
#define CAP_MY_CHARSET_BINARY 63

/*
 * One column of a Table Map, with what the optional metadata of
 * binlog_row_metadata=FULL adds.  'type' is the real type: a STRING
 * column whose metadata says ENUM or SET has type ENUM or SET here.
 */
struct cap_my_column {
	uint8_t type;			/* enum cap_my_coltype, resolved */
	uint16_t meta;			/* the type's metadata, decoded: see below */
	uint32_t max_len;		/* CHAR/VARCHAR: max bytes; 0 if n/a */
	uint8_t precision, scale;	/* NEWDECIMAL */
	uint8_t fsp;			/* TIME2/DATETIME2/TIMESTAMP2 fraction digits */
	uint8_t pack_len;		/* BLOB/GEOMETRY length bytes; ENUM/SET storage
					   bytes */
	uint16_t bits;			/* BIT(M): M */
	int nullable;			/* from the null bitmap */
	int is_unsigned;		/* SIGNEDNESS metadata (numeric columns) */
	int is_key;			/* SIMPLE_PRIMARY_KEY / PRIMARY_KEY_WITH_PREFIX */
	uint32_t charset;		/* collation id; 0 if not given */
	const char *name;		/* COLUMN_NAME; NULL when not logged */
	const char **labels;		/* ENUM_STR_VALUE / SET_STR_VALUE labels */
	uint32_t n_labels;
};

struct cap_my_table_map {
	uint64_t table_id;		/* 6 bytes on the wire */
	uint16_t flags;
	const char *db;			/* NUL-terminated */
	const char *table;
	uint32_t n_columns;
	struct cap_my_column *columns;	/* arena */
	int has_names;			/* COLUMN_NAME metadata was present */
	int has_key;			/* a primary key was listed */
	int has_signedness;
};

/* Flags of a rows event. */
#define CAP_MY_ROWS_STMT_END 0x0001

/*
 * A rows event before its rows are read: use cap_my_rows_next with the
 * Table Map of 'table_id' to walk them.
 */
struct cap_my_rows {
	uint64_t table_id;
	uint16_t flags;
	uint32_t n_columns;
	const uint8_t *present;		/* columns-present bitmap, (n+7)/8 bytes */
	const uint8_t *present_after;	/* UPDATE: the after image's bitmap */
	const uint8_t *data;		/* the rows */
	size_t data_len;
};

/* One decoded event. */
struct cap_my_event {
	uint8_t type;			/* enum cap_my_type */
	uint32_t timestamp;		/* seconds since the epoch */
	uint32_t server_id;
	uint32_t size;			/* whole event, header and trailer */
	uint32_t next_pos;		/* log_pos: position after this event */
	uint16_t flags;
	union {
		struct {
			uint64_t pos;
			const char *file;	/* NUL-terminated in the arena */
		} rotate;
		struct {
			uint16_t binlog_version;
			char server_version[51];
			uint8_t checksum_alg;	/* 0 none, 1 CRC32, 255 undefined */
		} format;
		struct {
			uint32_t thread_id;
			uint16_t error_code;
			const char *db;		/* NUL-terminated in the arena */
			const char *sql;	/* NUL-terminated in the arena */
			size_t sql_len;
		} query;
		struct {
			uint64_t xid;
		} xid;
		struct {		/* MariaDB GTID, or MySQL's (gno, sid) */
			uint32_t domain;	/* MariaDB */
			uint64_t seq;		/* MariaDB seq_no, MySQL gno */
			uint8_t flags;		/* MariaDB: 1 standalone (no XID follows) */
			uint8_t sid[16];	/* MySQL source uuid */
		} gtid;
		struct cap_my_table_map table_map;
		struct cap_my_rows rows;
		struct {
			const char *sql;	/* ANNOTATE_ROWS / ROWS_QUERY, arena */
			size_t len;
		} annotate;
	} u;
};

/* Decoder state: what the Format Description event told us. */
struct cap_my_decoder {
	int have_format;		/* a Format Description was seen */
	int checksum;			/* 1: events carry a CRC32 trailer */
	int verify_checksum;		/* 1: check it (default) */
	uint8_t post_header[256];	/* post-header length by event type */
	int mariadb;			/* server_version contains "MariaDB" */
};

/*
 * Before the first Format Description (the server sends a fake Rotate
 * first, without checksum), 'checksum' says whether to expect a trailer:
 * capture sets it from @@binlog_checksum.
 */
void cap_my_decoder_init(struct cap_my_decoder *, int checksum);

/*
 * Decode the event 'p'/'len' found at binlog 'file' position 'pos' (both
 * used in error messages only).  'len' must equal the header's event size.
 * A Format Description updates the decoder.  Unknown event types that are
 * safe to ignore (flag LOG_EVENT_IGNORABLE 0x80, or types the list above
 * names) decode with only the header fields set.  Returns 0, SL_ECORRUPT
 * or SL_EUNSUPPORTED with 'err' set.
 */
int cap_my_decode(struct cap_my_decoder *, const char *file, uint64_t pos,
    const uint8_t *p, size_t len, struct sl_arena *arena, struct cap_my_event *ev,
    struct sl_err *err);

/*
 * Read the next row of rows event 'rows' (whose Table Map is 'tm'; the
 * column counts must agree) starting at '*off' (0 for the first).  Fills
 * 'before' and/or 'after' (arrays of tm->n_columns values, allocated by
 * the caller): WRITE fills 'after', DELETE 'before', UPDATE both.  A column
 * absent from the image's bitmap is SCH_UNCHANGED.  Strings and bytes are
 * allocated from 'arena'.  Returns 1 and advances '*off' when a row was
 * read, 0 at the end, or SL_ECORRUPT / SL_EUNSUPPORTED with 'err' naming
 * 'file', 'pos' (the rows event's position), the row number and column.
 */
int cap_my_rows_next(const struct cap_my_event *rows_ev, const struct cap_my_table_map *tm,
    const char *file, uint64_t pos, size_t *off, struct sch_value *before,
    struct sch_value *after, struct sl_arena *arena, struct sl_err *err);

/*
 * The value mapping (docs/types.md), shared by the binlog and the
 * snapshot so a row reads the same both ways:
 *   TINY..LONGLONG, YEAR      SCH_INT64, or SCH_UINT64 when unsigned
 *   FLOAT, DOUBLE             SCH_DOUBLE (FLOAT widened exactly)
 *   NEWDECIMAL                SCH_NUMERIC, text as MySQL prints it
 *                             ("-12.340", scale digits kept)
 *   DATE                      SCH_DATE; zero dates ('0000-00-00', or a zero
 *                             month or day) SCH_NULL, as Debezium does
 *   TIME2                     SCH_TIME, signed micros (-838:59:59..838:59:59)
 *   DATETIME2                 SCH_TIMESTAMP micros; zero datetime SCH_NULL
 *   TIMESTAMP2                SCH_TIMESTAMPTZ micros since the epoch (UTC);
 *                             0 SCH_NULL
 *   CHAR, VARCHAR, TEXT       SCH_TEXT (UTF-8; latin1, MySQL's cp1252,
 *                             converted; other non-UTF-8 charsets
 *                             SL_EUNSUPPORTED naming the column), or
 *                             SCH_BYTES when the charset is binary (63)
 *   BLOB                      SCH_BYTES
 *   ENUM                      SCH_ENUM label (index 0, the error value: "")
 *   SET                       SCH_TEXT "a,b" labels in definition order
 *   BIT(M)                    SCH_BITS, M characters '0'/'1'
 *   GEOMETRY                  SCH_BYTES (SRID + WKB as stored)
 *   JSON (MySQL binary)       SL_EUNSUPPORTED; MariaDB's JSON is LONGTEXT
 * The old (pre-5.6) TIME, DATETIME, TIMESTAMP and DECIMAL encodings are
 * SL_EUNSUPPORTED.
 */

/*
 * The type name capture puts in struct sch_column.type_name ("int",
 * "bigint unsigned", "varchar", "decimal", "enum", ...): the lower-case SQL
 * name of the column's type, "unsigned" appended for unsigned integers,
 * 'text'/'blob' families told apart by charset.  A static string.
 */
const char *cap_my_type_name(const struct cap_my_column *);

/*
 * The column a snapshot's SELECT reads, described from the catalog
 * (information_schema.COLUMNS): DATA_TYPE ("int"), COLUMN_TYPE ("int(10)
 * unsigned", "enum('a','b')", "bit(3)", "decimal(10,2)", "datetime(6)"),
 * CHARACTER_SET_NAME (NULL or "utf8mb4"/"binary"/...), COLUMN_KEY ("PRI"),
 * IS_NULLABLE ("YES").  Labels and names are allocated from 'arena'.
 * Returns 0, or SL_EUNSUPPORTED naming the type.
 */
int cap_my_column_from_catalog(const char *name, const char *data_type,
    const char *column_type, const char *charset_name, const char *column_key,
    const char *is_nullable, struct sl_arena *arena, struct cap_my_column *out,
    struct sl_err *err);

/*
 * Parse 'len' bytes of 'text', a non-NULL value of column 'c' as the text
 * protocol returns it (a SELECT with time_zone '+00:00'), into '*out' with
 * the same mapping as the binlog: for every value both paths give values
 * that sch_value_equal() calls equal.  BIT columns arrive as their bytes,
 * big-endian.  Returns 0 or SL_ECORRUPT naming the column and the text.
 */
int cap_my_parse_text(const struct cap_my_column *c, const char *text, size_t len,
    struct sl_arena *arena, struct sch_value *out, struct sl_err *err);

/* The name of an event type for diagnostics ("Table_map"), or "unknown". */
const char *cap_my_type_label(uint8_t type);

#endif /* CAP_MY_H */
