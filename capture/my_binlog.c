/*
 * capture/my_binlog.c: a pure decoder of MySQL/MariaDB binlog events (v4).
 *
 * Input is one whole event as a binlog file holds it after its 4-byte
 * magic, or as COM_BINLOG_DUMP sends it after the OK byte; output is a
 * struct cap_my_event whose strings live in the caller's arena and whose
 * rows borrow the event.  It does no I/O, keeps no table-map cache (the
 * capture loop does) and does not decode row images: my_value.c does,
 * through cap_my_rows_next().  Every read is bounds-checked; anything
 * short or inconsistent is SL_ECORRUPT naming the binlog file, the
 * position, the event type and the byte offset inside the event.
 *
 * All integers are little-endian unless the table says otherwise.
 * "packed" is the length-encoded integer of the client protocol: one byte
 * < 251 is the value, 252/253/254 introduce 2/3/8 more bytes (251 and 255
 * never occur here and are corruption).  The OFFSET/SIZE tables of every
 * event decoded here are in docs/binlog-format.md; the short ones:
 *
 * EVENT HEADER (v4)
 *   OFFSET SIZE DESCRIPTION
 *        0    4 timestamp, seconds since the epoch
 *        4    1 event type (enum cap_my_type)
 *        5    4 server_id
 *        9    4 event size: header, post-header, body and CRC trailer
 *       13    4 log_pos: position of the next event
 *       17    2 flags (0x80 LOG_EVENT_IGNORABLE_F)
 *       19    . post-header (length from the Format Description), body
 *      N-4    4 CRC32 (zlib) of bytes 0..N-5, when the binlog has checksums
 *
 * INVARIANTS
 *  (1) rd.end never exceeds the event's length less its trailer, and every
 *      read checks against it first: a read past it sets rd.rc once and
 *      returns zeros, so a caller checks rd.rc before using what it read
 *      to size anything.
 *  (2) Nothing is allocated from a length read off the wire before that
 *      many bytes are known to remain in the event.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "capture/cap_my.h"

#define MY_HEADER_LEN 19
#define MY_FLAG_IGNORABLE 0x80

/* A bounds-checked reader over one event (1). */
struct rd {
	const uint8_t *p;
	size_t end;			/* body end: length less the CRC trailer */
	size_t off;			/* next byte to read */
	int rc;				/* first failure, sticky */
	const char *file;
	uint64_t pos;
	uint8_t type;
	struct sl_err *err;
};

static int rd_fail(struct rd *r, int line, int code, size_t off,
    const char *fmt, ...) SL_PRINTF(5, 6);

static int
rd_fail(struct rd *r, int line, int code, size_t off, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	if (r->rc != 0)
		return r->rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == SL_ECORRUPT)
		sl_corrupt_at(r->err, __FILE__, line,
		    "binlog %s at %" PRIu64 ": %s event (type %u): %s at offset %zu",
		    r->file != NULL ? r->file : "?", r->pos, cap_my_type_label(r->type),
		    r->type, msg, off);
	else
		sl_errf(r->err, code,
		    "binlog %s at %" PRIu64 ": %s event (type %u): %s at offset %zu",
		    r->file != NULL ? r->file : "?", r->pos, cap_my_type_label(r->type),
		    r->type, msg, off);
	r->rc = code;
	return code;
}

#define RD_BAD(r, off, ...) rd_fail((r), __LINE__, SL_ECORRUPT, (off), __VA_ARGS__)
#define RD_UNSUP(r, off, ...) rd_fail((r), __LINE__, SL_EUNSUPPORTED, (off), __VA_ARGS__)

/* 1 when 'n' more bytes remain, else records the truncation and gives 0. */
static int
rd_have(struct rd *r, size_t n)
{
	if (r->rc != 0)
		return 0;
	if (r->off > r->end || n > r->end - r->off) {
		RD_BAD(r, r->off, "truncated: %zu bytes needed, %zu left", n,
		    r->off > r->end ? 0 : r->end - r->off);
		return 0;
	}
	return 1;
}

static size_t
rd_left(const struct rd *r)
{
	return r->rc != 0 || r->off > r->end ? 0 : r->end - r->off;
}

static uint64_t
rd_le(struct rd *r, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (!rd_have(r, n))
		return 0;
	for (i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += n;
	return v;
}

static uint64_t
rd_packed(struct rd *r)
{
	size_t at = r->off;
	uint8_t b = (uint8_t)rd_le(r, 1);

	if (r->rc != 0)
		return 0;
	if (b < 251)
		return b;
	if (b == 252)
		return rd_le(r, 2);
	if (b == 253)
		return rd_le(r, 3);
	if (b == 254)
		return rd_le(r, 8);
	RD_BAD(r, at, "bad packed integer prefix 0x%02x", b);
	return 0;
}

/*
 * A packed integer of at most 'max', or (max == RD_LEFT) of at most the
 * bytes left after it (2).
 */
#define RD_LEFT UINT64_MAX

static size_t
rd_packed_len(struct rd *r, uint64_t max, const char *what)
{
	size_t at = r->off;
	uint64_t v = rd_packed(r);

	if (r->rc != 0)
		return 0;
	if (max == RD_LEFT)
		max = r->end - r->off;
	if (v > max) {
		RD_BAD(r, at, "%s %" PRIu64 " is larger than its %" PRIu64 " bytes", what,
		    v, max);
		return 0;
	}
	return (size_t)v;
}

static const uint8_t *
rd_bytes(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (!rd_have(r, n))
		return NULL;
	q = r->p + r->off;
	r->off += n;
	return q;
}

/* 'n' bytes copied NUL-terminated into 'a'; "" after a failure. */
static char *
rd_str(struct rd *r, size_t n, struct sl_arena *a)
{
	const uint8_t *q = rd_bytes(r, n);
	char *s;

	if (q == NULL)
		return (char *)"";
	s = sl_arena_alloc(a, n + 1);
	memcpy(s, q, n);
	s[n] = '\0';
	return s;
}

const char *
cap_my_type_label(uint8_t type)
{
	switch (type) {
	case 1: return "Start_v3";
	case CAP_MY_QUERY: return "Query";
	case CAP_MY_STOP: return "Stop";
	case CAP_MY_ROTATE: return "Rotate";
	case CAP_MY_INTVAR: return "Intvar";
	case CAP_MY_RAND: return "Rand";
	case CAP_MY_USER_VAR: return "User_var";
	case CAP_MY_FORMAT_DESCRIPTION: return "Format_desc";
	case CAP_MY_XID: return "Xid";
	case 17: return "Begin_load_query";
	case 18: return "Execute_load_query";
	case CAP_MY_TABLE_MAP: return "Table_map";
	case CAP_MY_WRITE_ROWS_V1: return "Write_rows_v1";
	case CAP_MY_UPDATE_ROWS_V1: return "Update_rows_v1";
	case CAP_MY_DELETE_ROWS_V1: return "Delete_rows_v1";
	case CAP_MY_INCIDENT: return "Incident";
	case CAP_MY_HEARTBEAT: return "Heartbeat";
	case 28: return "Ignorable";
	case CAP_MY_ROWS_QUERY: return "Rows_query";
	case CAP_MY_WRITE_ROWS_V2: return "Write_rows";
	case CAP_MY_UPDATE_ROWS_V2: return "Update_rows";
	case CAP_MY_DELETE_ROWS_V2: return "Delete_rows";
	case CAP_MY_GTID_MYSQL: return "Gtid";
	case CAP_MY_ANONYMOUS_GTID: return "Anonymous_Gtid";
	case CAP_MY_PREVIOUS_GTIDS: return "Previous_gtids";
	case 36: return "Transaction_context";
	case 37: return "View_change";
	case 38: return "XA_prepare";
	case CAP_MY_PARTIAL_UPDATE_ROWS: return "Update_rows_partial";
	case 40: return "Transaction_payload";
	case 41: return "Heartbeat_v2";
	case CAP_MY_ANNOTATE_ROWS: return "Annotate_rows";
	case CAP_MY_BINLOG_CHECKPOINT: return "Binlog_checkpoint";
	case CAP_MY_GTID: return "Gtid (MariaDB)";
	case CAP_MY_GTID_LIST: return "Gtid_list";
	case CAP_MY_START_ENCRYPTION: return "Start_encryption";
	case 165: return "Query_compressed";
	case 166: return "Write_rows_compressed_v1";
	case 167: return "Update_rows_compressed_v1";
	case 168: return "Delete_rows_compressed_v1";
	case 169: return "Write_rows_compressed";
	case 170: return "Update_rows_compressed";
	case 171: return "Delete_rows_compressed";
	default: return "unknown";
	}
}

/*
 * Post-header lengths before any Format Description: those of MariaDB 10
 * and MySQL 5.6+ for the events decoded here (a server's own FDE replaces
 * them).
 */
void
cap_my_decoder_init(struct cap_my_decoder *d, int checksum)
{
	memset(d, 0, sizeof(*d));
	d->checksum = checksum != 0;
	d->verify_checksum = 1;
	d->post_header[CAP_MY_QUERY] = 13;
	d->post_header[CAP_MY_ROTATE] = 8;
	d->post_header[CAP_MY_FORMAT_DESCRIPTION] = 57;
	d->post_header[CAP_MY_TABLE_MAP] = 8;
	d->post_header[CAP_MY_WRITE_ROWS_V1] = 8;
	d->post_header[CAP_MY_UPDATE_ROWS_V1] = 8;
	d->post_header[CAP_MY_DELETE_ROWS_V1] = 8;
	d->post_header[CAP_MY_WRITE_ROWS_V2] = 10;
	d->post_header[CAP_MY_UPDATE_ROWS_V2] = 10;
	d->post_header[CAP_MY_DELETE_ROWS_V2] = 10;
	d->post_header[CAP_MY_GTID_MYSQL] = 42;
	d->post_header[CAP_MY_ANONYMOUS_GTID] = 42;
	d->post_header[CAP_MY_BINLOG_CHECKPOINT] = 4;
	d->post_header[CAP_MY_GTID] = 19;
	d->post_header[CAP_MY_GTID_LIST] = 4;
}

/*
 * Check that the post-header is at least 'need' bytes and present, and
 * move to the body after it.
 */
static void
rd_post_header(struct rd *r, const struct cap_my_decoder *d, size_t need)
{
	size_t ph = d->post_header[r->type];

	if (ph < need) {
		RD_BAD(r, MY_HEADER_LEN, "post-header length %zu, %zu needed", ph, need);
		return;
	}
	r->off = MY_HEADER_LEN;
	if (rd_have(r, ph))
		r->off += ph;
}

/*
 * 1 when 'v' ("10.11.6-MariaDB-log", "8.0.36") is a server that writes the
 * checksum algorithm byte in its Format Description: MySQL 5.6.1+, MariaDB
 * 5.3+.
 */
static int
version_has_checksum(const char *v)
{
	unsigned a = 0, b = 0, c = 0;

	if (sscanf(v, "%u.%u.%u", &a, &b, &c) < 2)
		return 1;
	if (strstr(v, "MariaDB") != NULL)
		return a > 5 || (a == 5 && b >= 3);
	return a > 5 || (a == 5 && (b > 6 || (b == 6 && c >= 1)));
}

/*
 * FORMAT_DESCRIPTION (15)
 *   OFFSET SIZE DESCRIPTION
 *       19    2 binlog version (4)
 *       21   50 server version, NUL-padded
 *       71    4 create timestamp
 *       75    1 header length (19)
 *       76    n post-header length of event type 1+i, i = 0..n-1
 *      N-5    1 checksum algorithm: 0 off, 1 CRC32 (checksum-aware servers)
 *      N-4    4 CRC32 of this event, whatever the algorithm says
 */
static void
decode_format(struct rd *r, struct cap_my_decoder *d, size_t len,
    struct cap_my_event *ev)
{
	const uint8_t *ver;
	size_t n, i, ph_end;
	uint8_t alg = 255;

	ev->u.format.binlog_version = (uint16_t)rd_le(r, 2);
	ver = rd_bytes(r, 50);
	(void)rd_le(r, 4);
	if (r->rc != 0)
		return;
	memcpy(ev->u.format.server_version, ver, 50);
	ev->u.format.server_version[50] = '\0';
	if (ev->u.format.binlog_version != 4) {
		RD_UNSUP(r, MY_HEADER_LEN, "binlog version %u (only 4 is read)",
		    ev->u.format.binlog_version);
		return;
	}
	if (rd_le(r, 1) != MY_HEADER_LEN) {
		RD_UNSUP(r, 75, "header length %u (only 19 is read)", r->p[75]);
		return;
	}
	ph_end = len;
	if (version_has_checksum(ev->u.format.server_version)) {
		if (len < r->off + 5) {
			RD_BAD(r, r->off, "no room for the checksum algorithm and CRC");
			return;
		}
		alg = r->p[len - 5];
		ph_end = len - 5;
		if (alg != 0 && alg != 1) {
			RD_UNSUP(r, len - 5, "checksum algorithm %u", alg);
			return;
		}
		if (alg == 1 && d->verify_checksum) {
			uint32_t want = (uint32_t)r->p[len - 4] | (uint32_t)r->p[len - 3] << 8 |
			    (uint32_t)r->p[len - 2] << 16 | (uint32_t)r->p[len - 1] << 24;
			uint32_t got;
			uint8_t fl = r->p[17] & ~1u;

			/* computed with LOG_EVENT_BINLOG_IN_USE_F (0x1) clear: the
			   server clears it in place when it closes the file */
			got = (uint32_t)crc32(0L, r->p, 17);
			got = (uint32_t)crc32(got, &fl, 1);
			got = (uint32_t)crc32(got, r->p + 18, (uInt)(len - 4 - 18));

			if (got != want) {
				RD_BAD(r, len - 4, "CRC32 mismatch: stored %08x, computed %08x",
				    want, got);
				return;
			}
		}
	}
	n = ph_end - r->off;
	if (n > 255)
		n = 255;
	memset(d->post_header, 0, sizeof(d->post_header));
	for (i = 0; i < n; i++)
		d->post_header[i + 1] = r->p[r->off + i];
	r->off = ph_end;
	d->have_format = 1;
	d->checksum = alg == 1;
	d->mariadb = strstr(ev->u.format.server_version, "MariaDB") != NULL;
	ev->u.format.checksum_alg = alg;
}

/*
 * QUERY (2)
 *   OFFSET SIZE DESCRIPTION
 *       19    4 thread id
 *       23    4 execution time, seconds
 *       27    1 length L of the default database name
 *       28    2 error code
 *       30    2 length V of the status variables
 *   19+ph     V status variables (skipped)
 *        .    L database name, then a NUL
 *        .    . statement text, to the end of the body
 */
static void
decode_query(struct rd *r, const struct cap_my_decoder *d, struct sl_arena *a,
    struct cap_my_event *ev)
{
	size_t db_len, status_len, at;

	ev->u.query.thread_id = (uint32_t)rd_le(r, 4);
	(void)rd_le(r, 4);
	db_len = (size_t)rd_le(r, 1);
	ev->u.query.error_code = (uint16_t)rd_le(r, 2);
	status_len = (size_t)rd_le(r, 2);
	r->off = MY_HEADER_LEN;
	rd_post_header(r, d, 13);
	r->off = MY_HEADER_LEN + d->post_header[CAP_MY_QUERY];
	(void)rd_bytes(r, status_len);
	ev->u.query.db = rd_str(r, db_len, a);
	at = r->off;
	if (rd_le(r, 1) != 0 && r->rc == 0)
		RD_BAD(r, at, "database name not NUL-terminated");
	ev->u.query.sql_len = rd_left(r);
	ev->u.query.sql = rd_str(r, ev->u.query.sql_len, a);
	if (r->rc != 0)
		ev->u.query.sql_len = 0;
}

/*
 * One list of the optional metadata: the columns it is over.  Which
 * columns count is part of the format (docs/binlog-format.md): numeric for
 * SIGNEDNESS (YEAR too on MariaDB, whose YEAR is a TINYINT with the
 * unsigned flag: leaving it out shifts the bits of every numeric column
 * after it, so an INT -1 read 4294967295), character (CHAR, VARCHAR,
 * TEXT/BLOB; GEOMETRY too on MariaDB) for the charsets, ENUM and SET for
 * theirs.
 */
static int
col_is_numeric(const struct cap_my_column *c, int mariadb)
{
	switch (c->type) {
	case CAP_MYT_TINY: case CAP_MYT_SHORT: case CAP_MYT_INT24: case CAP_MYT_LONG:
	case CAP_MYT_LONGLONG: case CAP_MYT_FLOAT: case CAP_MYT_DOUBLE:
	case CAP_MYT_NEWDECIMAL: case CAP_MYT_DECIMAL:
		return 1;
	case CAP_MYT_YEAR:
		return mariadb;
	default:
		return 0;
	}
}

static int
col_is_character(const struct cap_my_column *c, int mariadb)
{
	switch (c->type) {
	case CAP_MYT_STRING: case CAP_MYT_VAR_STRING: case CAP_MYT_VARCHAR:
	case CAP_MYT_BLOB:
		return 1;
	case CAP_MYT_GEOMETRY:
		return mariadb;
	default:
		return 0;
	}
}

static int
col_is_enum_set(const struct cap_my_column *c)
{
	return c->type == CAP_MYT_ENUM || c->type == CAP_MYT_SET;
}

/* The index of the 'k'-th column that 'pick' accepts, or n. */
static uint32_t
nth_col(const struct cap_my_table_map *tm, uint64_t k, int which, int mariadb)
{
	uint32_t i;

	for (i = 0; i < tm->n_columns; i++) {
		const struct cap_my_column *c = &tm->columns[i];
		int in = which == 0 ? col_is_character(c, mariadb) : col_is_enum_set(c);

		if (in && k-- == 0)
			return i;
	}
	return tm->n_columns;
}

/*
 * DEFAULT_CHARSET / ENUM_AND_SET_DEFAULT_CHARSET: packed default collation,
 * then (packed index among the list's columns, packed collation) pairs.
 * COLUMN_CHARSET / ENUM_AND_SET_COLUMN_CHARSET: one packed collation per
 * column of the list.
 */
static void
tlv_charsets(struct rd *r, struct cap_my_table_map *tm, int which, int per_column,
    int mariadb)
{
	uint32_t i;

	if (!per_column) {
		uint64_t def = rd_packed(r);

		for (i = 0; i < tm->n_columns && r->rc == 0; i++) {
			struct cap_my_column *c = &tm->columns[i];

			if (which == 0 ? col_is_character(c, mariadb) : col_is_enum_set(c))
				c->charset = (uint32_t)def;
		}
		while (rd_left(r) > 0) {
			size_t at = r->off;
			uint64_t k = rd_packed(r), cs = rd_packed(r);

			i = nth_col(tm, k, which, mariadb);
			if (r->rc == 0 && i == tm->n_columns) {
				RD_BAD(r, at, "charset for column #%" PRIu64 " of a list of fewer", k);
				return;
			}
			if (r->rc == 0)
				tm->columns[i].charset = (uint32_t)cs;
		}
		return;
	}
	for (i = 0; i < tm->n_columns && r->rc == 0; i++) {
		struct cap_my_column *c = &tm->columns[i];

		if (which == 0 ? col_is_character(c, mariadb) : col_is_enum_set(c))
			c->charset = (uint32_t)rd_packed(r);
	}
}

/* ENUM_STR_VALUE / SET_STR_VALUE: per column a packed count, then strings. */
static void
tlv_labels(struct rd *r, struct cap_my_table_map *tm, uint8_t type, struct sl_arena *a)
{
	uint32_t i, k;

	for (i = 0; i < tm->n_columns && r->rc == 0; i++) {
		struct cap_my_column *c = &tm->columns[i];
		size_t n;

		if (c->type != type)
			continue;
		/* (2): each label takes at least its length byte */
		n = rd_packed_len(r, RD_LEFT, "label count");
		if (r->rc != 0)
			return;
		c->labels = sl_arena_alloc(a, (n > 0 ? n : 1) * sizeof(*c->labels));
		c->n_labels = (uint32_t)n;
		for (k = 0; k < n; k++) {
			size_t l = rd_packed_len(r, RD_LEFT, "label length");

			c->labels[k] = rd_str(r, l, a);
		}
	}
}

/*
 * The optional metadata of binlog_row_metadata=FULL (MySQL 8.0.1+,
 * MariaDB 10.5+): TLVs of 1-byte type, packed length, value.
 */
static void
decode_table_metadata(struct rd *r, struct cap_my_table_map *tm, int mariadb,
    struct sl_arena *a)
{
	uint32_t i;

	while (rd_left(r) > 0) {
		size_t tlv_at = r->off, body_end, save_end;
		uint8_t t = (uint8_t)rd_le(r, 1);
		size_t l = rd_packed_len(r, RD_LEFT, "metadata length");

		if (r->rc != 0)
			return;
		body_end = r->off + l;
		save_end = r->end;
		r->end = body_end;	/* (1): a TLV cannot read past itself */
		switch (t) {
		case 1: {	/* SIGNEDNESS: bitmap over numeric columns, MSB first */
			uint32_t k = 0;

			for (i = 0; i < tm->n_columns; i++)
				if (col_is_numeric(&tm->columns[i], mariadb))
					k++;
			if (l < (k + 7) / 8) {
				RD_BAD(r, tlv_at, "signedness bitmap of %zu bytes for %u numeric columns",
				    l, k);
				break;
			}
			k = 0;
			for (i = 0; i < tm->n_columns; i++) {
				if (!col_is_numeric(&tm->columns[i], mariadb))
					continue;
				/* YEAR's bit takes its place; the year itself is a year */
				if (tm->columns[i].type != CAP_MYT_YEAR)
					tm->columns[i].is_unsigned =
					    (r->p[r->off + k / 8] >> (7 - k % 8)) & 1;
				k++;
			}
			tm->has_signedness = 1;
			r->off = body_end;
			break;
		}
		case 2:
			tlv_charsets(r, tm, 0, 0, mariadb);
			break;
		case 3:
			tlv_charsets(r, tm, 0, 1, mariadb);
			break;
		case 4:		/* COLUMN_NAME */
			for (i = 0; i < tm->n_columns && r->rc == 0; i++) {
				size_t n = rd_packed_len(r, RD_LEFT, "column name length");

				tm->columns[i].name = rd_str(r, n, a);
			}
			tm->has_names = 1;
			break;
		case 5:
			tlv_labels(r, tm, CAP_MYT_SET, a);
			break;
		case 6:
			tlv_labels(r, tm, CAP_MYT_ENUM, a);
			break;
		case 7:		/* GEOMETRY_TYPE: one packed per geometry column */
			for (i = 0; i < tm->n_columns && r->rc == 0; i++)
				if (tm->columns[i].type == CAP_MYT_GEOMETRY)
					(void)rd_packed(r);
			break;
		case 8:		/* SIMPLE_PRIMARY_KEY: packed column indexes */
		case 9:		/* PRIMARY_KEY_WITH_PREFIX: (index, prefix) pairs */
			while (rd_left(r) > 0) {
				size_t at = r->off;
				uint64_t k = rd_packed(r);

				if (t == 9)
					(void)rd_packed(r);
				if (r->rc == 0 && k >= tm->n_columns) {
					RD_BAD(r, at, "key column %" PRIu64 " of %u", k, tm->n_columns);
					break;
				}
				if (r->rc == 0)
					tm->columns[k].is_key = 1;
			}
			tm->has_key = 1;
			break;
		case 10:
			tlv_charsets(r, tm, 1, 0, mariadb);
			break;
		case 11:
			tlv_charsets(r, tm, 1, 1, mariadb);
			break;
		case 12:	/* COLUMN_VISIBILITY: bitmap over all columns */
			if (l < (tm->n_columns + 7) / 8)
				RD_BAD(r, tlv_at, "visibility bitmap of %zu bytes for %u columns", l,
				    tm->n_columns);
			r->off = body_end;
			break;
		default:	/* newer metadata: skipped, as servers do */
			r->off = body_end;
			break;
		}
		if (r->rc == 0 && r->off != body_end)
			RD_BAD(r, r->off, "metadata type %u: %zu bytes left over", t,
			    body_end - r->off);
		r->end = save_end;
		if (r->rc != 0)
			return;
	}
}

/*
 * Per-column metadata of a Table Map (the "metadata block"):
 *   FLOAT, DOUBLE                1 pack length (4, 8)
 *   BLOB, GEOMETRY, JSON         1 length bytes (1..4)
 *   TIME2, DATETIME2, TIMESTAMP2 1 fractional digits (0..6)
 *   VARCHAR, VAR_STRING          2 max length in bytes
 *   BIT                          2 bits % 8, bytes (M = 8*bytes + bits)
 *   NEWDECIMAL                   2 precision, scale
 *   STRING                       2 real type, length; if (real & 0x30) !=
 *                                  0x30, length |= ((real & 0x30) ^ 0x30) << 4
 *                                  and real |= 0x30 (CHAR over 255 bytes)
 *   others                       0
 */
static void
column_meta(struct rd *r, struct cap_my_column *c, uint32_t col)
{
	size_t at = r->off;
	uint8_t b0, b1;

	switch (c->type) {
	case CAP_MYT_FLOAT: case CAP_MYT_DOUBLE:
		c->meta = (uint16_t)rd_le(r, 1);
		break;
	case CAP_MYT_BLOB: case CAP_MYT_GEOMETRY: case CAP_MYT_JSON:
		c->meta = c->pack_len = (uint8_t)rd_le(r, 1);
		if (r->rc == 0 && (c->pack_len < 1 || c->pack_len > 4))
			RD_BAD(r, at, "column %u: length bytes %u", col, c->pack_len);
		break;
	case CAP_MYT_TIME2: case CAP_MYT_DATETIME2: case CAP_MYT_TIMESTAMP2:
		c->meta = c->fsp = (uint8_t)rd_le(r, 1);
		if (r->rc == 0 && c->fsp > 6)
			RD_BAD(r, at, "column %u: %u fractional digits", col, c->fsp);
		break;
	case CAP_MYT_VARCHAR: case CAP_MYT_VAR_STRING:
		c->meta = (uint16_t)rd_le(r, 2);
		c->max_len = c->meta;
		break;
	case CAP_MYT_BIT:
		b0 = (uint8_t)rd_le(r, 1);
		b1 = (uint8_t)rd_le(r, 1);
		c->meta = (uint16_t)(b1 << 8 | b0);
		c->bits = (uint16_t)(b1 * 8 + b0);
		if (r->rc == 0 && (b0 > 7 || c->bits < 1 || c->bits > 64))
			RD_BAD(r, at, "column %u: BIT metadata %u/%u", col, b0, b1);
		break;
	case CAP_MYT_NEWDECIMAL:
		c->precision = (uint8_t)rd_le(r, 1);
		c->scale = (uint8_t)rd_le(r, 1);
		c->meta = (uint16_t)(c->precision << 8 | c->scale);
		if (r->rc == 0 && (c->precision < 1 || c->precision > 65 ||
		    c->scale > c->precision))
			RD_BAD(r, at, "column %u: DECIMAL(%u,%u)", col, c->precision, c->scale);
		break;
	case CAP_MYT_STRING: case CAP_MYT_ENUM: case CAP_MYT_SET: {
		uint32_t l;
		uint8_t real;

		b0 = (uint8_t)rd_le(r, 1);
		b1 = (uint8_t)rd_le(r, 1);
		if (r->rc != 0)
			break;
		c->meta = (uint16_t)(b0 << 8 | b1);
		real = b0;
		l = b1;
		if ((b0 & 0x30) != 0x30) {
			l |= (uint32_t)((b0 & 0x30) ^ 0x30) << 4;
			real = b0 | 0x30;
		}
		if (real == CAP_MYT_ENUM || real == CAP_MYT_SET) {
			c->type = real;
			c->pack_len = (uint8_t)l;
			if (!(real == CAP_MYT_ENUM ? (l == 1 || l == 2) : (l >= 1 && l <= 8)))
				RD_BAD(r, at, "column %u: %s of %u bytes", col,
				    real == CAP_MYT_ENUM ? "ENUM" : "SET", l);
		} else if (real == CAP_MYT_STRING) {
			c->max_len = l;
		} else {
			RD_BAD(r, at, "column %u: CHAR metadata names type %u", col, real);
		}
		break;
	}
	case CAP_MYT_DECIMAL: case CAP_MYT_TINY: case CAP_MYT_SHORT: case CAP_MYT_LONG:
	case CAP_MYT_NULL: case CAP_MYT_TIMESTAMP: case CAP_MYT_LONGLONG:
	case CAP_MYT_INT24: case CAP_MYT_DATE: case CAP_MYT_TIME: case CAP_MYT_DATETIME:
	case CAP_MYT_YEAR: case CAP_MYT_NEWDATE:
		break;
	default:
		RD_BAD(r, at, "column %u: unknown column type %u", col, c->type);
		break;
	}
}

/*
 * TABLE_MAP (19)
 *   OFFSET SIZE DESCRIPTION
 *       19    6 table id (4 when the post-header is 6 bytes)
 *       25    2 flags
 *       27    1 length L of the database name
 *       28    L database name, then a NUL
 *        .    1 length T of the table name
 *        .    T table name, then a NUL
 *        .    p column count N (packed)
 *        .    N column types
 *        .    p length M of the metadata block (packed)
 *        .    M per-column metadata (column_meta)
 *        .  N/8 nullable bitmap, bit i of byte i/8 for column i
 *        .    . optional metadata TLVs (decode_table_metadata)
 */
static void
decode_table_map(struct rd *r, const struct cap_my_decoder *d, struct sl_arena *a,
    struct cap_my_table_map *tm)
{
	size_t ph = d->post_header[CAP_MY_TABLE_MAP], n, meta_len, meta_end, at;
	const uint8_t *types, *nulls;
	uint32_t i;

	if (ph != 6 && ph != 8) {
		RD_BAD(r, MY_HEADER_LEN, "post-header length %zu (6 or 8 expected)", ph);
		return;
	}
	tm->table_id = rd_le(r, ph - 2);
	tm->flags = (uint16_t)rd_le(r, 2);
	n = (size_t)rd_le(r, 1);
	tm->db = rd_str(r, n, a);
	at = r->off;
	if (rd_le(r, 1) != 0 && r->rc == 0)
		RD_BAD(r, at, "database name not NUL-terminated");
	n = (size_t)rd_le(r, 1);
	tm->table = rd_str(r, n, a);
	at = r->off;
	if (rd_le(r, 1) != 0 && r->rc == 0)
		RD_BAD(r, at, "table name not NUL-terminated");
	n = rd_packed_len(r, RD_LEFT, "column count");	/* (2) */
	types = rd_bytes(r, n);
	if (r->rc != 0)
		return;
	tm->n_columns = (uint32_t)n;
	tm->columns = sl_arena_alloc(a, (n > 0 ? n : 1) * sizeof(*tm->columns));
	memset(tm->columns, 0, (n > 0 ? n : 1) * sizeof(*tm->columns));
	meta_len = rd_packed_len(r, RD_LEFT, "metadata length");
	if (r->rc != 0)
		return;
	meta_end = r->off + meta_len;
	{
		size_t save_end = r->end;

		r->end = meta_end;	/* (1) */
		for (i = 0; i < n && r->rc == 0; i++) {
			tm->columns[i].type = types[i];
			column_meta(r, &tm->columns[i], i);
		}
		if (r->rc == 0 && r->off != meta_end)
			RD_BAD(r, r->off, "metadata block of %zu bytes, columns use %zu",
			    meta_len, r->off - (meta_end - meta_len));
		r->end = save_end;
	}
	nulls = rd_bytes(r, (n + 7) / 8);
	if (r->rc != 0)
		return;
	for (i = 0; i < n; i++)
		tm->columns[i].nullable = (nulls[i / 8] >> (i % 8)) & 1;
	decode_table_metadata(r, tm, d->mariadb, a);
}

/*
 * ROWS: WRITE/UPDATE/DELETE v1 (23..25, MariaDB) and v2 (30..32, MySQL)
 *   OFFSET SIZE DESCRIPTION
 *       19    6 table id (4 when the post-header is 6 bytes)
 *       25    2 flags (1 statement end)
 *       27    2 v2 only: length X of the extra data, these 2 bytes included
 *   19+ph   X-2 v2 only: extra data (NDB info, partition ids), skipped
 *        .    p column count N (packed)
 *        . N/8 columns-present bitmap of the (before) image
 *        . N/8 UPDATE only: columns-present bitmap of the after image
 *        .    . rows (my_value.c) to the end of the body
 */
static void
decode_rows(struct rd *r, const struct cap_my_decoder *d, struct cap_my_rows *rows)
{
	int v2 = r->type >= CAP_MY_WRITE_ROWS_V2 && r->type <= CAP_MY_DELETE_ROWS_V2;
	int update = r->type == CAP_MY_UPDATE_ROWS_V1 || r->type == CAP_MY_UPDATE_ROWS_V2;
	size_t ph = d->post_header[r->type], n, at;

	if (v2 ? ph != 10 : (ph != 6 && ph != 8)) {
		RD_BAD(r, MY_HEADER_LEN, "post-header length %zu", ph);
		return;
	}
	rows->table_id = rd_le(r, v2 ? 6 : ph - 2);
	rows->flags = (uint16_t)rd_le(r, 2);
	if (v2) {
		size_t x;

		at = r->off;
		x = (size_t)rd_le(r, 2);
		if (r->rc == 0 && x < 2) {
			RD_BAD(r, at, "extra data length %zu", x);
			return;
		}
		(void)rd_bytes(r, x - 2);
	}
	n = rd_packed_len(r, (uint64_t)rd_left(r) * 8, "column count");
	if (r->rc != 0)
		return;
	rows->n_columns = (uint32_t)n;
	rows->present = rd_bytes(r, (n + 7) / 8);
	if (update)
		rows->present_after = rd_bytes(r, (n + 7) / 8);
	if (r->rc != 0)
		return;
	rows->data = r->p + r->off;
	rows->data_len = r->end - r->off;
	r->off = r->end;
}

/*
 * MariaDB GTID (162)
 *   OFFSET SIZE DESCRIPTION
 *       19    8 sequence number
 *       27    4 replication domain
 *       31    1 flags: 1 standalone, 2 group commit id follows, 4 transactional...
 *       32    8 commit id, when flags & 2 (else 6 bytes of padding)
 *
 * MySQL GTID (33) / ANONYMOUS_GTID (34)
 *       19    1 flags (1: may commit in parallel)
 *       20   16 source server uuid
 *       36    8 transaction number (gno)
 *       44    . logical clock and later additions, skipped
 */
static void
decode_gtid(struct rd *r, struct cap_my_event *ev)
{
	if (r->type == CAP_MY_GTID) {
		ev->u.gtid.seq = rd_le(r, 8);
		ev->u.gtid.domain = (uint32_t)rd_le(r, 4);
		ev->u.gtid.flags = (uint8_t)rd_le(r, 1);
		if (ev->u.gtid.flags & 2)
			(void)rd_le(r, 8);
	} else {
		const uint8_t *sid;

		ev->u.gtid.flags = (uint8_t)rd_le(r, 1);
		sid = rd_bytes(r, 16);
		ev->u.gtid.seq = rd_le(r, 8);
		if (sid != NULL)
			memcpy(ev->u.gtid.sid, sid, 16);
	}
	r->off = r->end;
}

int
cap_my_decode(struct cap_my_decoder *d, const char *file, uint64_t pos,
    const uint8_t *p, size_t len, struct sl_arena *arena, struct cap_my_event *ev,
    struct sl_err *err)
{
	struct rd r;
	uint32_t size;
	int checksum;

	memset(ev, 0, sizeof(*ev));
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.end = len;
	r.file = file;
	r.pos = pos;
	r.err = err;
	r.type = len > 4 ? p[4] : 0;
	if (len < MY_HEADER_LEN)
		return RD_BAD(&r, len, "truncated header: %zu bytes of 19", len);
	ev->timestamp = (uint32_t)rd_le(&r, 4);
	ev->type = (uint8_t)rd_le(&r, 1);
	ev->server_id = (uint32_t)rd_le(&r, 4);
	size = (uint32_t)rd_le(&r, 4);
	ev->size = size;
	ev->next_pos = (uint32_t)rd_le(&r, 4);
	ev->flags = (uint16_t)rd_le(&r, 2);
	if (size != len)
		return RD_BAD(&r, 9, "event size %u in the header, %zu bytes given", size, len);

	checksum = ev->type != CAP_MY_FORMAT_DESCRIPTION && d->checksum;
	if (checksum) {
		uint32_t want, got;

		if (len < MY_HEADER_LEN + 4)
			return RD_BAD(&r, len, "no room for the CRC32 trailer");
		want = (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
		    (uint32_t)p[len - 2] << 16 | (uint32_t)p[len - 1] << 24;
		if (d->verify_checksum) {
			got = (uint32_t)crc32(0L, p, (uInt)(len - 4));
			if (got != want)
				return RD_BAD(&r, len - 4,
				    "CRC32 mismatch: stored %08x, computed %08x", want, got);
		}
		r.end = len - 4;
	}

	switch (ev->type) {
	case CAP_MY_FORMAT_DESCRIPTION:
		decode_format(&r, d, len, ev);
		break;
	case CAP_MY_ROTATE: {
		size_t ph = d->post_header[CAP_MY_ROTATE];

		if (ph < 8)
			return RD_BAD(&r, MY_HEADER_LEN, "post-header length %zu", ph);
		ev->u.rotate.pos = rd_le(&r, 8);
		r.off = MY_HEADER_LEN;
		(void)rd_bytes(&r, ph);
		ev->u.rotate.file = rd_str(&r, rd_left(&r), arena);
		break;
	}
	case CAP_MY_QUERY:
		decode_query(&r, d, arena, ev);
		break;
	case CAP_MY_XID:
		rd_post_header(&r, d, 0);
		ev->u.xid.xid = rd_le(&r, 8);
		break;
	case CAP_MY_TABLE_MAP:
		decode_table_map(&r, d, arena, &ev->u.table_map);
		break;
	case CAP_MY_WRITE_ROWS_V1: case CAP_MY_UPDATE_ROWS_V1: case CAP_MY_DELETE_ROWS_V1:
	case CAP_MY_WRITE_ROWS_V2: case CAP_MY_UPDATE_ROWS_V2: case CAP_MY_DELETE_ROWS_V2:
		decode_rows(&r, d, &ev->u.rows);
		break;
	case CAP_MY_GTID:
		rd_post_header(&r, d, 13);
		r.off = MY_HEADER_LEN;
		decode_gtid(&r, ev);
		break;
	case CAP_MY_GTID_MYSQL: case CAP_MY_ANONYMOUS_GTID:
		rd_post_header(&r, d, 25);
		r.off = MY_HEADER_LEN;
		decode_gtid(&r, ev);
		break;
	case CAP_MY_GTID_LIST: {
		/* 19: 4 count (low 28 bits) | flags; then count x (domain 4,
		   server_id 4, seq_no 8) */
		uint32_t count = (uint32_t)rd_le(&r, 4) & 0x0fffffff;

		r.off = MY_HEADER_LEN;
		rd_post_header(&r, d, 4);
		r.off = MY_HEADER_LEN + d->post_header[CAP_MY_GTID_LIST];
		(void)rd_bytes(&r, (size_t)count * 16);
		break;
	}
	case CAP_MY_BINLOG_CHECKPOINT: {
		/* 19: 4 length L of the file name; 19+ph: L file name */
		size_t l = (size_t)rd_le(&r, 4);

		r.off = MY_HEADER_LEN;
		rd_post_header(&r, d, 4);
		r.off = MY_HEADER_LEN + d->post_header[CAP_MY_BINLOG_CHECKPOINT];
		(void)rd_bytes(&r, l);
		break;
	}
	case CAP_MY_ANNOTATE_ROWS:
		rd_post_header(&r, d, 0);
		r.off = MY_HEADER_LEN + d->post_header[CAP_MY_ANNOTATE_ROWS];
		ev->u.annotate.len = rd_left(&r);
		ev->u.annotate.sql = rd_str(&r, ev->u.annotate.len, arena);
		break;
	case CAP_MY_ROWS_QUERY:
		/* 19+ph: 1 length (truncated to 255, ignored), then the text */
		rd_post_header(&r, d, 0);
		r.off = MY_HEADER_LEN + d->post_header[CAP_MY_ROWS_QUERY];
		(void)rd_le(&r, 1);
		ev->u.annotate.len = rd_left(&r);
		ev->u.annotate.sql = rd_str(&r, ev->u.annotate.len, arena);
		break;
	case CAP_MY_STOP: case CAP_MY_INTVAR: case CAP_MY_RAND: case CAP_MY_USER_VAR:
	case CAP_MY_INCIDENT: case CAP_MY_HEARTBEAT: case CAP_MY_PREVIOUS_GTIDS:
	case 28: case 36: case 37: case 38: case 41: case CAP_MY_START_ENCRYPTION:
		r.off = r.end;		/* header only */
		break;
	case CAP_MY_PARTIAL_UPDATE_ROWS:
		return RD_UNSUP(&r, 0, "MySQL partial JSON updates are not decoded "
		    "(set binlog_row_value_options='')");
	case 40:
		return RD_UNSUP(&r, 0, "compressed transaction payloads are not decoded "
		    "(set binlog_transaction_compression=OFF)");
	case 165: case 166: case 167: case 168: case 169: case 170: case 171:
		return RD_UNSUP(&r, 0, "compressed events are not decoded "
		    "(set log_bin_compress=OFF)");
	case 1: case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 17:
	case 18: case 20: case 21: case 22:
		return RD_UNSUP(&r, 0, "pre-5.1 or statement-based LOAD event");
	default:
		if (ev->flags & MY_FLAG_IGNORABLE) {
			r.off = r.end;
			break;
		}
		return RD_BAD(&r, 4, "unknown event type %u without the ignorable flag",
		    ev->type);
	}
	if (r.rc != 0) {
		memset(&ev->u, 0, sizeof(ev->u));
		return r.rc;
	}
	return 0;
}
