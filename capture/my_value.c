/*
 * capture/my_value.c: MySQL/MariaDB column values, both ways they reach
 * capture: the binary row images of binlog rows events
 * (cap_my_rows_next) and the text protocol of a snapshot's SELECT
 * (cap_my_parse_text), mapped to the same struct sch_value so a row reads
 * equal both ways (the mapping is in cap_my.h and docs/types.md).  Also
 * the column descriptions of both: a Table Map's (my_binlog.c fills it)
 * and information_schema's (cap_my_column_from_catalog).
 *
 * It is not an event decoder (my_binlog.c) and does no I/O.
 *
 * ROW IMAGE (one per WRITE/DELETE row, two per UPDATE row: before, after)
 *   OFFSET SIZE DESCRIPTION
 *        0  P/8 null bitmap over the P columns present in the image's
 *               columns-present bitmap, bit j of byte j/8
 *        .    . the value of each present, non-NULL column in order:
 *   TINY/SHORT/INT24/LONG/LONGLONG  1/2/3/4/8, little-endian
 *   FLOAT, DOUBLE          4, 8 IEEE-754, little-endian
 *   YEAR                   1: 0, or year - 1900
 *   NEWDECIMAL             decimal_size(p, s): groups of 9 digits in 4
 *                          bytes big-endian, partial groups in 1..4 bytes,
 *                          first bit set when positive, negative values
 *                          with every byte inverted
 *   DATE                   3 little-endian: day | month << 5 | year << 9
 *   TIME2                  3 big-endian + (fsp+1)/2 fraction bytes; value
 *                          offset by 0x800000 (see time2_micros)
 *   DATETIME2              5 big-endian + (fsp+1)/2: offset 0x8000000000,
 *                          ((year*13+month) << 5 | day) << 17 | h << 12 |
 *                          m << 6 | s
 *   TIMESTAMP2             4 big-endian seconds + (fsp+1)/2 fraction bytes
 *   VARCHAR, CHAR          1 length byte when max_len < 256, else 2; bytes
 *   BLOB/TEXT, GEOMETRY    pack_len length bytes; bytes
 *   ENUM                   pack_len (1, 2) bytes: 1-based label index
 *   SET                    pack_len (1..8) bytes: bitmask of labels
 *   BIT(M)                 (M+7)/8 bytes, big-endian
 *   fraction bytes: fsp 1-2: 1 byte (1/100 s), 3-4: 2 bytes big-endian
 *   (1/10000 s), 5-6: 3 bytes big-endian (micros)
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_my.h"

/* --------------------------------------------------------------- charsets */

enum cs_class { CS_UTF8, CS_LATIN1, CS_BINARY, CS_OTHER };

/*
 * Collation ids by character set, from MariaDB 10.11's
 * information_schema.COLLATION_CHARACTER_SET_APPLICABILITY and MySQL 8's
 * INFORMATION_SCHEMA.COLLATIONS.  0 means "not logged": strings pass
 * through as text.
 */
static enum cs_class
charset_class(uint32_t id)
{
	if (id == CAP_MY_CHARSET_BINARY)
		return CS_BINARY;
	switch (id) {
	case 0:
	case 11: case 65: case 1035: case 1089:			/* ascii */
	case 33: case 76: case 83: case 223: case 1057: case 1107:	/* utf8mb3 */
	case 1216: case 1238:
	case 45: case 46: case 1069: case 1070: case 1248: case 1270:	/* utf8mb4 */
		return CS_UTF8;
	case 5: case 8: case 15: case 31: case 47: case 48: case 49: case 94:
	case 1032: case 1071:					/* latin1 */
		return CS_LATIN1;
	default:
		break;
	}
	if ((id >= 192 && id <= 215) || (id >= 576 && id <= 578) ||
	    (id >= 2048 && id <= 2303))				/* utf8mb3 */
		return CS_UTF8;
	if ((id >= 224 && id <= 247) || (id >= 255 && id <= 323) ||
	    (id >= 608 && id <= 610) || (id >= 2304 && id <= 2559))	/* utf8mb4 */
		return CS_UTF8;
	return CS_OTHER;
}

/* MySQL's latin1 is Windows-1252, with 0x81 0x8D 0x8F 0x90 0x9D as C1. */
static const uint16_t cp1252_80[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178
};

/* 'n' latin1 bytes as NUL-terminated UTF-8 in 'a' (at most 3 bytes each). */
static struct sch_str
latin1_to_utf8(const uint8_t *p, size_t n, struct sl_arena *a)
{
	char *o = sl_arena_alloc(a, n * 3 + 1);
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		unsigned u = p[i];

		if (u >= 0x80 && u < 0xA0)
			u = cp1252_80[u - 0x80];
		if (u < 0x80) {
			o[k++] = (char)u;
		} else if (u < 0x800) {
			o[k++] = (char)(0xC0 | u >> 6);
			o[k++] = (char)(0x80 | (u & 0x3F));
		} else {
			o[k++] = (char)(0xE0 | u >> 12);
			o[k++] = (char)(0x80 | ((u >> 6) & 0x3F));
			o[k++] = (char)(0x80 | (u & 0x3F));
		}
	}
	o[k] = '\0';
	return (struct sch_str){ o, k };
}

static const char *
arena_copy(struct sl_arena *a, const void *p, size_t n)
{
	char *s = sl_arena_alloc(a, n + 1);

	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* --------------------------------------------------------------- numbers */


static const uint8_t dig2bytes[10] = { 0, 1, 1, 2, 2, 3, 3, 4, 4, 4 };

static size_t
decimal_size(unsigned precision, unsigned scale)
{
	unsigned intg = precision - scale;

	return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9];
}

static const uint32_t pow10_9[10] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000
};

/*
 * Write the decimal of 'p' (decimal_size bytes) as MySQL prints it into
 * 'out' (room for 80): no leading zeros, exactly 'scale' fraction digits,
 * no sign on zero.  Returns its length, or -1 if a group is out of range.
 */
static int
decimal_text(const uint8_t *p, unsigned precision, unsigned scale, char *out)
{
	uint8_t b[40];
	unsigned intg = precision - scale, i, g;
	size_t n = decimal_size(precision, scale), at = 0;
	char digits[80];
	size_t nd = 0, k, z;
	int neg, all_zero = 1, len = 0;

	memcpy(b, p, n);
	neg = !(b[0] & 0x80);
	b[0] ^= 0x80;
	if (neg)
		for (k = 0; k < n; k++)
			b[k] ^= 0xFF;
	/* integer part: the partial group first, then whole groups */
	for (g = 0; g < 1 + intg / 9 + scale / 9 + 1; g++) {
		unsigned nd_g, nb;
		uint32_t v = 0;

		if (g == 0)
			nd_g = intg % 9;
		else if (g <= intg / 9)
			nd_g = 9;
		else if (g <= intg / 9 + scale / 9)
			nd_g = 9;
		else
			nd_g = scale % 9;
		nb = dig2bytes[nd_g];
		for (i = 0; i < nb; i++)
			v = v << 8 | b[at + i];
		at += nb;
		if (nd_g > 0 && v >= pow10_9[nd_g])
			return -1;
		for (i = nd_g; i > 0; i--) {
			digits[nd + i - 1] = (char)('0' + v % 10);
			v /= 10;
		}
		nd += nd_g;
	}
	for (k = 0; k < nd; k++)
		if (digits[k] != '0')
			all_zero = 0;
	if (neg && !all_zero)
		out[len++] = '-';
	for (z = 0; z < intg && digits[z] == '0'; z++)
		;
	if (z == intg)
		out[len++] = '0';
	for (k = z; k < intg; k++)
		out[len++] = digits[k];
	if (scale > 0) {
		out[len++] = '.';
		for (k = intg; k < nd; k++)
			out[len++] = digits[k];
	}
	out[len] = '\0';
	return len;
}

/* ------------------------------------------------------------ dates, times */

static int32_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

static struct sch_value
value_date(unsigned y, unsigned m, unsigned d)
{
	struct sch_value v = sch_value_null();

	if (m == 0 || d == 0)	/* zero dates are NULL, as Debezium has them */
		return v;
	v.kind = SCH_DATE;
	v.u.date = days_from_civil(y, m, d);
	return v;
}

static struct sch_value
value_datetime(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
    unsigned s, uint32_t us)
{
	struct sch_value v = sch_value_null();

	if (mo == 0 || d == 0)
		return v;
	v.kind = SCH_TIMESTAMP;
	v.u.ts_us = ((int64_t)days_from_civil(y, mo, d) * 86400 +
	    (int64_t)h * 3600 + mi * 60 + s) * 1000000 + us;
	return v;
}

/* ----------------------------------------------------------- row images */

/* One cap_my_rows_next call. */
struct vctx {
	const struct cap_my_event *ev;
	const struct cap_my_table_map *tm;
	const uint8_t *p;		/* the rows data */
	size_t len;
	size_t off;
	struct sl_arena *arena;
	/* the first failure, formatted once the row number is known */
	int code;
	int line;
	uint32_t col;
	size_t at;
	char msg[256];
};

static int vfail(struct vctx *v, int line, int code, uint32_t col, size_t at,
    const char *fmt, ...) SL_PRINTF(6, 7);

static int
vfail(struct vctx *v, int line, int code, uint32_t col, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (v->code != 0)
		return v->code;
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
	v->code = code;
	v->line = line;
	v->col = col;
	v->at = at;
	return code;
}

#define V_BAD(v, col, at, ...) vfail((v), __LINE__, SL_ECORRUPT, (col), (at), __VA_ARGS__)
#define V_UNSUP(v, col, at, ...) vfail((v), __LINE__, SL_EUNSUPPORTED, (col), (at), __VA_ARGS__)

static int
vneed(struct vctx *v, size_t n, uint32_t col)
{
	if (n > v->len - v->off)
		return V_BAD(v, col, v->off, "truncated: %zu bytes needed, %zu left", n,
		    v->len - v->off);
	return 0;
}

static uint64_t
vle(struct vctx *v, size_t n)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x |= (uint64_t)v->p[v->off + i] << (8 * i);
	v->off += n;
	return x;
}

static uint64_t
vbe(struct vctx *v, size_t n)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x = x << 8 | v->p[v->off + i];
	v->off += n;
	return x;
}

/* Fraction bytes of TIME2/DATETIME2/TIMESTAMP2 for 'fsp' digits. */
static size_t
frac_bytes(unsigned fsp)
{
	return (fsp + 1) / 2;
}

/* A string of column 'i' in its charset: text (UTF-8) or bytes. */
static int
string_value(struct vctx *v, uint32_t i, const uint8_t *p, size_t n, int blob,
    struct sch_value *out)
{
	const struct cap_my_column *c = &v->tm->columns[i];
	enum cs_class cls = charset_class(c->charset);

	if (cls == CS_BINARY || (blob && c->charset == 0)) {
		out->kind = SCH_BYTES;
		out->u.bytes.p = (const uint8_t *)arena_copy(v->arena, p, n);
		out->u.bytes.len = n;
		return 0;
	}
	if (cls == CS_OTHER)
		return V_UNSUP(v, i, v->off, "character set id %u is not supported "
		    "(utf8mb3, utf8mb4, ascii, latin1 and binary are)", c->charset);
	out->kind = SCH_TEXT;
	if (cls == CS_LATIN1)
		out->u.s = latin1_to_utf8(p, n, v->arena);
	else {
		out->u.s.p = arena_copy(v->arena, p, n);
		out->u.s.len = n;
	}
	return 0;
}

/*
 * TIME2 as signed micros.  The stored value, less its offset, is the
 * "packed" time (h << 12 | m << 6 | s) << 24 | micros, negative for
 * negative times; with fsp 1..4 the fraction is stored on its own, signed,
 * unsigned, and for negative times counts down from the next integer
 * (0x100 - frac hundredths below it): MySQL's my_time_packed_from_binary.
 */
static int
time2_value(struct vctx *v, uint32_t i, struct sch_value *out)
{
	const struct cap_my_column *c = &v->tm->columns[i];
	size_t at = v->off, fb = frac_bytes(c->fsp);
	int64_t intpart, frac = 0, packed, a;
	unsigned h, m, s;

	if (vneed(v, 3 + fb, i) != 0)
		return v->code;
	if (fb == 3) {
		packed = (int64_t)vbe(v, 6) - INT64_C(0x800000000000);
	} else {
		intpart = (int64_t)vbe(v, 3) - 0x800000;
		if (fb == 1) {
			frac = (int64_t)vbe(v, 1);
			if (intpart < 0 && frac != 0) {
				intpart++;
				frac -= 0x100;
			}
			frac *= 10000;
		} else if (fb == 2) {
			frac = (int64_t)vbe(v, 2);
			if (intpart < 0 && frac != 0) {
				intpart++;
				frac -= 0x10000;
			}
			frac *= 100;
		}
		packed = intpart * (INT64_C(1) << 24) + frac;
	}
	a = packed < 0 ? -packed : packed;
	m = (unsigned)((a >> 30) & 63);
	s = (unsigned)((a >> 24) & 63);
	h = (unsigned)((a >> 36) & 1023);
	if ((a & 0xFFFFFF) >= 1000000 || m > 59 || s > 59)
		return V_BAD(v, i, at, "TIME value out of range");
	out->kind = SCH_TIME;
	out->u.time_us = ((int64_t)h * 3600 + m * 60 + s) * 1000000 + (a & 0xFFFFFF);
	if (packed < 0)
		out->u.time_us = -out->u.time_us;
	return 0;
}

static int
value_read(struct vctx *v, uint32_t i, struct sch_value *out)
{
	const struct cap_my_column *c = &v->tm->columns[i];
	size_t at = v->off, n;
	uint64_t x;

	*out = sch_value_null();
	switch (c->type) {
	case CAP_MYT_TINY: case CAP_MYT_SHORT: case CAP_MYT_INT24: case CAP_MYT_LONG:
	case CAP_MYT_LONGLONG:
		n = c->type == CAP_MYT_TINY ? 1 : c->type == CAP_MYT_SHORT ? 2 :
		    c->type == CAP_MYT_INT24 ? 3 : c->type == CAP_MYT_LONG ? 4 : 8;
		if (vneed(v, n, i) != 0)
			return v->code;
		x = vle(v, n);
		if (c->is_unsigned) {
			out->kind = SCH_UINT64;
			out->u.u64 = x;
		} else {
			out->kind = SCH_INT64;
			if (n < 8 && (x >> (8 * n - 1)) & 1)
				x |= ~UINT64_C(0) << (8 * n);
			out->u.i64 = (int64_t)x;
		}
		return 0;
	case CAP_MYT_YEAR:
		if (vneed(v, 1, i) != 0)
			return v->code;
		x = vle(v, 1);
		*out = sch_value_int64(x == 0 ? 0 : 1900 + (int64_t)x);
		return 0;
	case CAP_MYT_FLOAT: {
		uint32_t bits;
		float f;

		if (vneed(v, 4, i) != 0)
			return v->code;
		bits = (uint32_t)vle(v, 4);
		memcpy(&f, &bits, 4);
		out->kind = SCH_DOUBLE;
		out->u.f64 = (double)f;		/* exact */
		return 0;
	}
	case CAP_MYT_DOUBLE:
		if (vneed(v, 8, i) != 0)
			return v->code;
		x = vle(v, 8);
		out->kind = SCH_DOUBLE;
		memcpy(&out->u.f64, &x, 8);
		return 0;
	case CAP_MYT_NEWDECIMAL: {
		char buf[80];
		int len;

		n = decimal_size(c->precision, c->scale);
		if (vneed(v, n, i) != 0)
			return v->code;
		len = decimal_text(v->p + v->off, c->precision, c->scale, buf);
		if (len < 0)
			return V_BAD(v, i, at, "DECIMAL digit group out of range");
		v->off += n;
		out->kind = SCH_NUMERIC;
		out->u.s.p = arena_copy(v->arena, buf, (size_t)len);
		out->u.s.len = (size_t)len;
		return 0;
	}
	case CAP_MYT_DATE:
		if (vneed(v, 3, i) != 0)
			return v->code;
		x = vle(v, 3);
		if (((x >> 5) & 15) > 12)
			return V_BAD(v, i, at, "DATE month %u", (unsigned)((x >> 5) & 15));
		*out = value_date((unsigned)(x >> 9), (unsigned)((x >> 5) & 15),
		    (unsigned)(x & 31));
		return 0;
	case CAP_MYT_TIME2:
		return time2_value(v, i, out);
	case CAP_MYT_DATETIME2: {
		size_t fb = frac_bytes(c->fsp);
		uint64_t ymd, hms, ym;
		uint32_t us;

		if (vneed(v, 5 + fb, i) != 0)
			return v->code;
		x = vbe(v, 5);
		us = (uint32_t)vbe(v, fb);
		us *= fb == 1 ? 10000 : fb == 2 ? 100 : 1;
		if (x < UINT64_C(0x8000000000) || us >= 1000000)
			return V_BAD(v, i, at, "DATETIME value out of range");
		x -= UINT64_C(0x8000000000);
		ymd = x >> 17;
		hms = x & 0x1FFFF;
		ym = ymd >> 5;
		if (ym % 13 > 12 || (hms >> 12) > 23 || ((hms >> 6) & 63) > 59 ||
		    (hms & 63) > 59)
			return V_BAD(v, i, at, "DATETIME value out of range");
		*out = value_datetime((unsigned)(ym / 13), (unsigned)(ym % 13),
		    (unsigned)(ymd & 31), (unsigned)(hms >> 12), (unsigned)((hms >> 6) & 63),
		    (unsigned)(hms & 63), us);
		return 0;
	}
	case CAP_MYT_TIMESTAMP2: {
		size_t fb = frac_bytes(c->fsp);
		uint32_t us;

		if (vneed(v, 4 + fb, i) != 0)
			return v->code;
		x = vbe(v, 4);
		us = (uint32_t)vbe(v, fb);
		us *= fb == 1 ? 10000 : fb == 2 ? 100 : 1;
		if (us >= 1000000)
			return V_BAD(v, i, at, "TIMESTAMP fraction out of range");
		if (x == 0 && us == 0)
			return 0;	/* the zero timestamp: NULL */
		out->kind = SCH_TIMESTAMPTZ;
		out->u.ts_us = (int64_t)x * 1000000 + us;
		return 0;
	}
	case CAP_MYT_VARCHAR: case CAP_MYT_VAR_STRING: case CAP_MYT_STRING:
		n = c->max_len < 256 ? 1 : 2;
		if (vneed(v, n, i) != 0)
			return v->code;
		x = vle(v, n);
		if (vneed(v, (size_t)x, i) != 0)
			return v->code;
		v->off += (size_t)x;
		if (c->type == CAP_MYT_STRING && c->charset == CAP_MY_CHARSET_BINARY &&
		    x < c->max_len) {
			/* BINARY(n) is logged without its trailing zero bytes; the
			   column (and a SELECT) has all n */
			uint8_t *b = sl_arena_alloc(v->arena, c->max_len + 1);

			memcpy(b, v->p + v->off - x, (size_t)x);
			memset(b + x, 0, c->max_len - (size_t)x + 1);
			out->kind = SCH_BYTES;
			out->u.bytes.p = b;
			out->u.bytes.len = c->max_len;
			return 0;
		}
		return string_value(v, i, v->p + v->off - x, (size_t)x, 0, out);
	case CAP_MYT_BLOB: case CAP_MYT_GEOMETRY:
		if (vneed(v, c->pack_len, i) != 0)
			return v->code;
		x = vle(v, c->pack_len);
		if (vneed(v, (size_t)x, i) != 0)
			return v->code;
		v->off += (size_t)x;
		if (c->type == CAP_MYT_GEOMETRY) {
			out->kind = SCH_BYTES;
			out->u.bytes.p = (const uint8_t *)arena_copy(v->arena,
			    v->p + v->off - x, (size_t)x);
			out->u.bytes.len = (size_t)x;
			return 0;
		}
		return string_value(v, i, v->p + v->off - x, (size_t)x, 1, out);
	case CAP_MYT_ENUM:
		if (c->labels == NULL)
			return V_UNSUP(v, i, at, "ENUM labels not logged "
			    "(binlog_row_metadata=FULL is needed)");
		if (vneed(v, c->pack_len, i) != 0)
			return v->code;
		x = vle(v, c->pack_len);
		if (x > c->n_labels)
			return V_BAD(v, i, at, "ENUM index %" PRIu64 " of %u labels", x,
			    c->n_labels);
		out->kind = SCH_ENUM;
		out->u.s.p = x == 0 ? "" : c->labels[x - 1];
		out->u.s.len = strlen(out->u.s.p);
		return 0;
	case CAP_MYT_SET: {
		struct sl_buf b = { 0 };
		uint32_t k;

		if (c->labels == NULL)
			return V_UNSUP(v, i, at, "SET labels not logged "
			    "(binlog_row_metadata=FULL is needed)");
		if (vneed(v, c->pack_len, i) != 0)
			return v->code;
		x = vle(v, c->pack_len);
		if (c->n_labels < 64 && (x >> c->n_labels) != 0)
			return V_BAD(v, i, at, "SET bits 0x%" PRIx64 " beyond its %u labels", x,
			    c->n_labels);
		for (k = 0; k < c->n_labels && k < 64; k++) {
			if (!((x >> k) & 1))
				continue;
			if (b.len > 0)
				sl_buf_add_u8(&b, ',');
			sl_buf_add(&b, c->labels[k], strlen(c->labels[k]));
		}
		out->kind = SCH_TEXT;
		out->u.s.p = arena_copy(v->arena, b.p, b.len);
		out->u.s.len = b.len;
		sl_buf_free(&b);
		return 0;
	}
	case CAP_MYT_BIT: {
		char *s;
		unsigned k;

		n = (c->bits + 7u) / 8;
		if (vneed(v, n, i) != 0)
			return v->code;
		x = vbe(v, n);
		s = sl_arena_alloc(v->arena, (size_t)c->bits + 1);
		for (k = 0; k < c->bits; k++)
			s[k] = (char)('0' + ((x >> (c->bits - 1 - k)) & 1));
		s[c->bits] = '\0';
		out->kind = SCH_BITS;
		out->u.s.p = s;
		out->u.s.len = c->bits;
		return 0;
	}
	case CAP_MYT_JSON:
		return V_UNSUP(v, i, at, "MySQL binary JSON is not decoded");
	default:
		return V_UNSUP(v, i, at, "column type %u (%s) is not decoded", c->type,
		    cap_my_type_name(c));
	}
}

/* One image: null bitmap over the present columns, then their values. */
static int
image_read(struct vctx *v, const uint8_t *present, struct sch_value *out)
{
	const struct cap_my_table_map *tm = v->tm;
	uint32_t i, np = 0, j = 0;
	const uint8_t *nulls;
	struct sch_value scratch;

	for (i = 0; i < tm->n_columns; i++)
		np += (present[i / 8] >> (i % 8)) & 1;
	if (vneed(v, (np + 7) / 8, 0) != 0)
		return v->code;
	nulls = v->p + v->off;
	v->off += (np + 7) / 8;
	for (i = 0; i < tm->n_columns; i++) {
		struct sch_value *o = out != NULL ? &out[i] : &scratch;

		if (!((present[i / 8] >> (i % 8)) & 1)) {
			*o = sch_value_unchanged();
			continue;
		}
		if ((nulls[j / 8] >> (j % 8)) & 1)
			*o = sch_value_null();
		else if (value_read(v, i, o) != 0)
			return v->code;
		j++;
	}
	return 0;
}

static int
row_read(struct vctx *v, int update, int write, struct sch_value *before,
    struct sch_value *after)
{
	const struct cap_my_rows *r = &v->ev->u.rows;

	if (update) {
		if (image_read(v, r->present, before) != 0)
			return v->code;
		return image_read(v, r->present_after, after);
	}
	return image_read(v, r->present, write ? after : before);
}

int
cap_my_rows_next(const struct cap_my_event *rows_ev, const struct cap_my_table_map *tm,
    const char *file, uint64_t pos, size_t *off, struct sch_value *before,
    struct sch_value *after, struct sl_arena *arena, struct sl_err *err)
{
	const struct cap_my_rows *r = &rows_ev->u.rows;
	struct vctx v;
	int update, write;
	uint32_t row = 0;
	const char *name = "", *type = "none";

	switch (rows_ev->type) {
	case CAP_MY_WRITE_ROWS_V1: case CAP_MY_WRITE_ROWS_V2:
		update = 0; write = 1;
		break;
	case CAP_MY_UPDATE_ROWS_V1: case CAP_MY_UPDATE_ROWS_V2:
		update = 1; write = 0;
		break;
	case CAP_MY_DELETE_ROWS_V1: case CAP_MY_DELETE_ROWS_V2:
		update = 0; write = 0;
		break;
	default:
		return sl_errf(err, SL_EINVAL, "binlog %s at %" PRIu64 ": %s event is not "
		    "a rows event", file != NULL ? file : "?", pos,
		    cap_my_type_label(rows_ev->type));
	}
	if (r->n_columns != tm->n_columns || r->table_id != tm->table_id)
		return SL_CORRUPT(err, "binlog %s at %" PRIu64 ": %s event for table id %"
		    PRIu64 " with %u columns, but its Table_map (%s.%s) has id %" PRIu64
		    " and %u columns", file != NULL ? file : "?", pos,
		    cap_my_type_label(rows_ev->type), r->table_id, r->n_columns, tm->db,
		    tm->table, tm->table_id, tm->n_columns);
	if (*off > r->data_len)
		return sl_errf(err, SL_EINVAL, "binlog %s at %" PRIu64 ": row offset %zu past "
		    "%zu bytes of rows", file != NULL ? file : "?", pos, *off, r->data_len);
	if (*off == r->data_len)
		return 0;
	memset(&v, 0, sizeof(v));
	v.ev = rows_ev;
	v.tm = tm;
	v.p = r->data;
	v.len = r->data_len;
	v.off = *off;
	v.arena = arena;
	if (row_read(&v, update, write, before, after) == 0) {
		if (v.off > *off) {
			*off = v.off;
			return 1;
		}
		/* a row of no bytes (no column present) would never end */
		V_BAD(&v, 0, v.off, "row of 0 bytes: no column present");
	}
	/* Count the rows before this one for the message. */
	{
		struct vctx w = v;

		w.code = 0;
		w.off = 0;
		while (w.off < *off && row_read(&w, update, write, NULL, NULL) == 0)
			row++;
	}
	if (v.col < tm->n_columns) {
		name = tm->columns[v.col].name != NULL ? tm->columns[v.col].name : "";
		type = cap_my_type_name(&tm->columns[v.col]);
	}
	if (v.code == SL_ECORRUPT)
		return sl_corrupt_at(err, __FILE__, v.line, "binlog %s at %" PRIu64
		    ": %s event on %s.%s, row %u, column %u %s (%s): %s at rows-data offset %zu",
		    file != NULL ? file : "?", pos, cap_my_type_label(rows_ev->type), tm->db,
		    tm->table, row, v.col, name, type, v.msg, v.at);
	return sl_errf(err, v.code, "binlog %s at %" PRIu64 ": %s event on %s.%s, row %u, "
	    "column %u %s (%s): %s at rows-data offset %zu", file != NULL ? file : "?",
	    pos, cap_my_type_label(rows_ev->type), tm->db, tm->table, row, v.col, name,
	    type, v.msg, v.at);
}

/* ------------------------------------------------------------ type names */

const char *
cap_my_type_name(const struct cap_my_column *c)
{
	static const char *const blobs[2][5] = {
		{ "blob", "tinyblob", "blob", "mediumblob", "longblob" },
		{ "text", "tinytext", "text", "mediumtext", "longtext" }
	};
	int text = c->charset != 0 && c->charset != CAP_MY_CHARSET_BINARY;

	switch (c->type) {
	case CAP_MYT_TINY: return c->is_unsigned ? "tinyint unsigned" : "tinyint";
	case CAP_MYT_SHORT: return c->is_unsigned ? "smallint unsigned" : "smallint";
	case CAP_MYT_INT24: return c->is_unsigned ? "mediumint unsigned" : "mediumint";
	case CAP_MYT_LONG: return c->is_unsigned ? "int unsigned" : "int";
	case CAP_MYT_LONGLONG: return c->is_unsigned ? "bigint unsigned" : "bigint";
	case CAP_MYT_FLOAT: return "float";
	case CAP_MYT_DOUBLE: return "double";
	case CAP_MYT_DECIMAL: case CAP_MYT_NEWDECIMAL: return "decimal";
	case CAP_MYT_DATE: case CAP_MYT_NEWDATE: return "date";
	case CAP_MYT_TIME: case CAP_MYT_TIME2: return "time";
	case CAP_MYT_DATETIME: case CAP_MYT_DATETIME2: return "datetime";
	case CAP_MYT_TIMESTAMP: case CAP_MYT_TIMESTAMP2: return "timestamp";
	case CAP_MYT_YEAR: return "year";
	case CAP_MYT_VARCHAR: case CAP_MYT_VAR_STRING:
		return c->charset == CAP_MY_CHARSET_BINARY ? "varbinary" : "varchar";
	case CAP_MYT_STRING:
		return c->charset == CAP_MY_CHARSET_BINARY ? "binary" : "char";
	case CAP_MYT_BLOB:
		return blobs[text][c->pack_len <= 4 ? c->pack_len : 0];
	case CAP_MYT_ENUM: return "enum";
	case CAP_MYT_SET: return "set";
	case CAP_MYT_BIT: return "bit";
	case CAP_MYT_GEOMETRY: return "geometry";
	case CAP_MYT_JSON: return "json";
	case CAP_MYT_NULL: return "null";
	default: return "unknown";
	}
}

/* ------------------------------------------------------------- catalog */

/* The numbers inside the first "(...)" of 'ct': up to 2; returns how many. */
static int
type_args(const char *ct, unsigned *a, unsigned *b)
{
	const char *p = ct != NULL ? strchr(ct, '(') : NULL;
	char *e;
	unsigned long x;

	if (p == NULL)
		return 0;
	x = strtoul(p + 1, &e, 10);
	if (e == p + 1)
		return 0;
	*a = (unsigned)x;
	if (*e != ',')
		return 1;
	p = e;
	x = strtoul(p + 1, &e, 10);
	if (e == p + 1)
		return 1;
	*b = (unsigned)x;
	return 2;
}

/* The labels of "enum('a','b''q')" into 'out' (arena); -1 if malformed. */
static int
type_labels(const char *ct, struct sl_arena *a, struct cap_my_column *out)
{
	const char *p = strchr(ct, '(');
	struct sl_buf lab = { 0 };
	uint32_t n = 0, cap = 8;
	const char **v;

	if (p == NULL)
		return -1;
	v = sl_arena_alloc(a, cap * sizeof(*v));
	p++;
	while (*p == '\'') {
		p++;
		lab.len = 0;
		for (;;) {
			if (*p == '\0')
				goto bad;
			if (*p == '\'' && p[1] == '\'') {
				sl_buf_add_u8(&lab, '\'');
				p += 2;
			} else if (*p == '\'') {
				p++;
				break;
			} else {
				sl_buf_add_u8(&lab, (uint8_t)*p++);
			}
		}
		if (n == cap) {
			const char **w = sl_arena_alloc(a, 2 * cap * sizeof(*w));

			memcpy(w, v, cap * sizeof(*w));
			v = w;
			cap *= 2;
		}
		v[n++] = arena_copy(a, lab.p, lab.len);
		if (*p == ',')
			p++;
		else if (*p == ')')
			break;
		else
			goto bad;
	}
	sl_buf_free(&lab);
	if (*p != ')')
		return -1;
	out->labels = v;
	out->n_labels = n;
	return 0;
bad:
	sl_buf_free(&lab);
	return -1;
}

int
cap_my_column_from_catalog(const char *name, const char *data_type,
    const char *column_type, const char *charset_name, const char *column_key,
    const char *is_nullable, struct sl_arena *arena, struct cap_my_column *out,
    struct sl_err *err)
{
	static const char *const ints[] = { "tinyint", "smallint", "mediumint", "int",
	    "bigint" };
	static const uint8_t int_types[] = { CAP_MYT_TINY, CAP_MYT_SHORT, CAP_MYT_INT24,
	    CAP_MYT_LONG, CAP_MYT_LONGLONG };
	static const char *const blobs[] = { "tinyblob", "blob", "mediumblob", "longblob",
	    "tinytext", "text", "mediumtext", "longtext" };
	static const char *const geoms[] = { "geometry", "point", "linestring",
	    "polygon", "multipoint", "multilinestring", "multipolygon",
	    "geometrycollection" };
	const char *dt = data_type != NULL ? data_type : "";
	const char *ct = column_type != NULL ? column_type : dt;
	unsigned a1 = 0, a2 = 0, mb = 1;
	size_t k;

	memset(out, 0, sizeof(*out));
	out->name = name != NULL ? arena_copy(arena, name, strlen(name)) : NULL;
	out->nullable = is_nullable != NULL && strcmp(is_nullable, "YES") == 0;
	out->is_key = column_key != NULL && strcmp(column_key, "PRI") == 0;
	if (charset_name == NULL)
		out->charset = 0;
	else if (strcmp(charset_name, "binary") == 0)
		out->charset = CAP_MY_CHARSET_BINARY;
	else if (strcmp(charset_name, "utf8mb4") == 0)
		out->charset = 45, mb = 4;
	else if (strcmp(charset_name, "utf8mb3") == 0 || strcmp(charset_name, "utf8") == 0)
		out->charset = 33, mb = 3;
	else if (strcmp(charset_name, "latin1") == 0)
		out->charset = 8;
	else if (strcmp(charset_name, "ascii") == 0)
		out->charset = 11;
	else
		return sl_errf(err, SL_EUNSUPPORTED, "column %s (%s): character set %s is not "
		    "supported (utf8mb3, utf8mb4, ascii, latin1 and binary are)",
		    name != NULL ? name : "?", ct, charset_name);

	for (k = 0; k < SL_ARRAY_LEN(ints); k++)
		if (strcmp(dt, ints[k]) == 0) {
			out->type = int_types[k];
			out->is_unsigned = strstr(ct, "unsigned") != NULL;
			return 0;
		}
	for (k = 0; k < SL_ARRAY_LEN(blobs); k++)
		if (strcmp(dt, blobs[k]) == 0) {
			out->type = CAP_MYT_BLOB;
			out->pack_len = (uint8_t)(k % 4 + 1);
			out->meta = out->pack_len;
			if (k < 4)
				out->charset = CAP_MY_CHARSET_BINARY;
			return 0;
		}
	for (k = 0; k < SL_ARRAY_LEN(geoms); k++)
		if (strcmp(dt, geoms[k]) == 0) {
			out->type = CAP_MYT_GEOMETRY;
			out->meta = out->pack_len = 4;
			return 0;
		}
	out->is_unsigned = strstr(ct, "unsigned") != NULL &&
	    (strcmp(dt, "float") == 0 || strcmp(dt, "double") == 0 ||
	    strcmp(dt, "decimal") == 0);
	if (strcmp(dt, "float") == 0) {
		out->type = CAP_MYT_FLOAT;
		out->meta = 4;
	} else if (strcmp(dt, "double") == 0) {
		out->type = CAP_MYT_DOUBLE;
		out->meta = 8;
	} else if (strcmp(dt, "decimal") == 0) {
		a1 = 10;
		a2 = 0;
		(void)type_args(ct, &a1, &a2);
		if (a1 < 1 || a1 > 65 || a2 > a1)
			goto bad_type;
		out->type = CAP_MYT_NEWDECIMAL;
		out->precision = (uint8_t)a1;
		out->scale = (uint8_t)a2;
		out->meta = (uint16_t)(a1 << 8 | a2);
	} else if (strcmp(dt, "date") == 0) {
		out->type = CAP_MYT_DATE;
	} else if (strcmp(dt, "year") == 0) {
		out->type = CAP_MYT_YEAR;
	} else if (strcmp(dt, "time") == 0 || strcmp(dt, "datetime") == 0 ||
	    strcmp(dt, "timestamp") == 0) {
		out->type = strcmp(dt, "time") == 0 ? CAP_MYT_TIME2 :
		    strcmp(dt, "datetime") == 0 ? CAP_MYT_DATETIME2 : CAP_MYT_TIMESTAMP2;
		if (type_args(ct, &a1, &a2) >= 1 && a1 > 6)
			goto bad_type;
		out->meta = out->fsp = (uint8_t)a1;
	} else if (strcmp(dt, "char") == 0 || strcmp(dt, "varchar") == 0 ||
	    strcmp(dt, "binary") == 0 || strcmp(dt, "varbinary") == 0) {
		a1 = 1;
		(void)type_args(ct, &a1, &a2);
		out->type = dt[0] == 'v' ? CAP_MYT_VARCHAR : CAP_MYT_STRING;
		if (strcmp(dt, "binary") == 0 || strcmp(dt, "varbinary") == 0)
			out->charset = CAP_MY_CHARSET_BINARY, mb = 1;
		out->max_len = a1 * mb;
		out->meta = (uint16_t)(out->max_len > 0xFFFF ? 0xFFFF : out->max_len);
	} else if (strcmp(dt, "enum") == 0 || strcmp(dt, "set") == 0) {
		out->type = dt[0] == 'e' ? CAP_MYT_ENUM : CAP_MYT_SET;
		if (type_labels(ct, arena, out) != 0 ||
		    (out->type == CAP_MYT_SET && out->n_labels > 64))
			goto bad_type;
		if (out->type == CAP_MYT_ENUM)
			out->pack_len = out->n_labels < 256 ? 1 : 2;
		else
			out->pack_len = (uint8_t)((out->n_labels + 7) / 8 > 4 ? 8 :
			    (out->n_labels + 7) / 8 == 0 ? 1 : (out->n_labels + 7) / 8);
	} else if (strcmp(dt, "bit") == 0) {
		a1 = 1;
		(void)type_args(ct, &a1, &a2);
		if (a1 < 1 || a1 > 64)
			goto bad_type;
		out->type = CAP_MYT_BIT;
		out->bits = (uint16_t)a1;
		out->meta = (uint16_t)((a1 / 8) << 8 | a1 % 8);
	} else {
		return sl_errf(err, SL_EUNSUPPORTED, "column %s: type %s is not supported%s",
		    name != NULL ? name : "?", ct, strcmp(dt, "json") == 0 ?
		    " (MySQL's binary JSON)" : "");
	}
	return 0;
bad_type:
	return sl_errf(err, SL_EUNSUPPORTED, "column %s: cannot read type %s",
	    name != NULL ? name : "?", ct);
}

/* ------------------------------------------------------------ text values */

/* Strict unsigned decimal of exactly the bytes [p, e). */
static int
parse_u64(const char *p, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (p == e)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/* 'n' digits at 'p' as a number; -1 if any is not a digit. */
static int64_t
digits(const char *p, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* ".ffffff" (1..6 digits) at 'p' up to 'e' as micros; -1 if malformed. */
static int64_t
fraction(const char *p, const char *e)
{
	int64_t us;
	size_t n = (size_t)(e - p), i;

	if (n == 0)
		return 0;
	if (*p != '.' || n < 2 || n > 7)
		return -1;
	us = digits(p + 1, n - 1);
	if (us < 0)
		return -1;
	for (i = n - 1; i < 6; i++)
		us *= 10;
	return us;
}

int
cap_my_parse_text(const struct cap_my_column *c, const char *text, size_t len,
    struct sl_arena *arena, struct sch_value *out, struct sl_err *err)
{
	const char *e = text + len;
	char buf[96];

	*out = sch_value_null();
	switch (c->type) {
	case CAP_MYT_TINY: case CAP_MYT_SHORT: case CAP_MYT_INT24: case CAP_MYT_LONG:
	case CAP_MYT_LONGLONG: case CAP_MYT_YEAR: {
		int neg = len > 0 && text[0] == '-';
		uint64_t u;

		if (parse_u64(text + neg, e, &u) != 0)
			goto bad;
		if (c->is_unsigned && c->type != CAP_MYT_YEAR) {
			if (neg)
				goto bad;
			out->kind = SCH_UINT64;
			out->u.u64 = u;
		} else {
			if (u > (uint64_t)INT64_MAX + neg)
				goto bad;
			*out = sch_value_int64(neg ? (int64_t)(0 - u) : (int64_t)u);
		}
		return 0;
	}
	case CAP_MYT_FLOAT: case CAP_MYT_DOUBLE: {
		char *end;

		if (len == 0 || len >= sizeof(buf))
			goto bad;
		memcpy(buf, text, len);
		buf[len] = '\0';
		out->kind = SCH_DOUBLE;
		/*
		 * A FLOAT printed by SELECT has 6 significant digits; the snapshot
		 * reads CAST(col AS DOUBLE), the float's exact value, and the
		 * narrowing to float here gives the binlog's bits back.
		 */
		if (c->type == CAP_MYT_FLOAT)
			out->u.f64 = (double)strtof(buf, &end);
		else
			out->u.f64 = strtod(buf, &end);
		if (end != buf + len || buf[0] == ' ')
			goto bad;
		return 0;
	}
	case CAP_MYT_NEWDECIMAL: case CAP_MYT_DECIMAL: {
		const char *p = text, *dot, *ip;
		size_t ni, nf, k, o = 0;
		int neg = 0, zero = 1;
		char *s;

		if (p < e && *p == '-')
			neg = 1, p++;
		dot = memchr(p, '.', (size_t)(e - p));
		ni = (size_t)((dot != NULL ? dot : e) - p);
		nf = dot != NULL ? (size_t)(e - dot - 1) : 0;
		if (ni == 0 || (dot != NULL && nf == 0) || nf > c->scale)
			goto bad;
		for (k = 0; k < ni; k++)
			if (p[k] < '0' || p[k] > '9')
				goto bad;
		for (k = 0; k < nf; k++)
			if (dot[1 + k] < '0' || dot[1 + k] > '9')
				goto bad;
		ip = p;
		while (ni > 1 && *ip == '0')
			ip++, ni--;
		s = sl_arena_alloc(arena, ni + c->scale + 3);
		for (k = 0; k < ni; k++)
			zero &= ip[k] == '0';
		for (k = 0; k < nf; k++)
			zero &= dot[1 + k] == '0';
		if (neg && !zero)
			s[o++] = '-';
		memcpy(s + o, ip, ni);
		o += ni;
		if (c->scale > 0) {
			s[o++] = '.';
			for (k = 0; k < c->scale; k++)
				s[o++] = k < nf ? dot[1 + k] : '0';
		}
		s[o] = '\0';
		out->kind = SCH_NUMERIC;
		out->u.s.p = s;
		out->u.s.len = o;
		return 0;
	}
	case CAP_MYT_DATE: case CAP_MYT_NEWDATE: {
		int64_t y, m, d;

		if (len != 10 || text[4] != '-' || text[7] != '-')
			goto bad;
		y = digits(text, 4);
		m = digits(text + 5, 2);
		d = digits(text + 8, 2);
		if (y < 0 || m < 0 || d < 0 || m > 12 || d > 31)
			goto bad;
		*out = value_date((unsigned)y, (unsigned)m, (unsigned)d);
		return 0;
	}
	case CAP_MYT_DATETIME2: case CAP_MYT_DATETIME: case CAP_MYT_TIMESTAMP2:
	case CAP_MYT_TIMESTAMP: {
		int64_t y, mo, d, h, mi, s, us;

		if (len < 19 || text[4] != '-' || text[7] != '-' || text[10] != ' ' ||
		    text[13] != ':' || text[16] != ':')
			goto bad;
		y = digits(text, 4);
		mo = digits(text + 5, 2);
		d = digits(text + 8, 2);
		h = digits(text + 11, 2);
		mi = digits(text + 14, 2);
		s = digits(text + 17, 2);
		us = fraction(text + 19, e);
		if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || us < 0 ||
		    mo > 12 || d > 31 || h > 23 || mi > 59 || s > 59)
			goto bad;
		*out = value_datetime((unsigned)y, (unsigned)mo, (unsigned)d, (unsigned)h,
		    (unsigned)mi, (unsigned)s, (uint32_t)us);
		if (out->kind == SCH_TIMESTAMP &&
		    (c->type == CAP_MYT_TIMESTAMP2 || c->type == CAP_MYT_TIMESTAMP))
			out->kind = SCH_TIMESTAMPTZ;
		return 0;
	}
	case CAP_MYT_TIME2: case CAP_MYT_TIME: {
		const char *p = text, *c1, *c2;
		int neg = 0;
		uint64_t h;
		int64_t m, s, us;

		if (p < e && *p == '-')
			neg = 1, p++;
		c1 = memchr(p, ':', (size_t)(e - p));
		if (c1 == NULL || c1 - p > 4 || parse_u64(p, c1, &h) != 0 || e - c1 < 6 ||
		    c1[3] != ':')
			goto bad;
		c2 = c1 + 3;
		m = digits(c1 + 1, 2);
		s = digits(c2 + 1, 2);
		us = fraction(c2 + 3, e);
		if (m < 0 || s < 0 || us < 0 || m > 59 || s > 59)
			goto bad;
		out->kind = SCH_TIME;
		out->u.time_us = (((int64_t)h * 3600 + m * 60 + s) * 1000000 + us) *
		    (neg ? -1 : 1);
		return 0;
	}
	case CAP_MYT_VARCHAR: case CAP_MYT_VAR_STRING: case CAP_MYT_STRING:
	case CAP_MYT_BLOB:
		/* The connection's charset is utf8mb4: the server converted. */
		if (c->charset == CAP_MY_CHARSET_BINARY ||
		    (c->type == CAP_MYT_BLOB && c->charset == 0)) {
			out->kind = SCH_BYTES;
			out->u.bytes.p = (const uint8_t *)arena_copy(arena, text, len);
			out->u.bytes.len = len;
		} else {
			out->kind = SCH_TEXT;
			out->u.s.p = arena_copy(arena, text, len);
			out->u.s.len = len;
		}
		return 0;
	case CAP_MYT_GEOMETRY:
		out->kind = SCH_BYTES;
		out->u.bytes.p = (const uint8_t *)arena_copy(arena, text, len);
		out->u.bytes.len = len;
		return 0;
	case CAP_MYT_ENUM: case CAP_MYT_SET:
		out->kind = c->type == CAP_MYT_ENUM ? SCH_ENUM : SCH_TEXT;
		out->u.s.p = arena_copy(arena, text, len);
		out->u.s.len = len;
		return 0;
	case CAP_MYT_BIT: {
		uint64_t x = 0;
		size_t k;
		char *s;

		if (c->bits < 1 || c->bits > 64 || len < 1 || len > 8)
			goto bad;
		for (k = 0; k < len; k++)
			x = x << 8 | (uint8_t)text[k];
		if (c->bits < 64 && (x >> c->bits) != 0)
			goto bad;
		s = sl_arena_alloc(arena, (size_t)c->bits + 1);
		for (k = 0; k < c->bits; k++)
			s[k] = (char)('0' + ((x >> (c->bits - 1 - k)) & 1));
		s[c->bits] = '\0';
		out->kind = SCH_BITS;
		out->u.s.p = s;
		out->u.s.len = c->bits;
		return 0;
	}
	default:
		return sl_errf(err, SL_EUNSUPPORTED, "column %s (%s): type is not supported",
		    c->name != NULL ? c->name : "?", cap_my_type_name(c));
	}
bad:
	*out = sch_value_null();
	return SL_CORRUPT(err, "column %s (%s): malformed value: \"%.*s\"",
	    c->name != NULL ? c->name : "?", cap_my_type_name(c),
	    (int)(len < 48 ? len : 48), text);
}
