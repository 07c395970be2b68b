/*
 * materialize/keyenc.c: the order-preserving key encoding of LMDB views,
 * and the parsing of key arguments typed on the command line.
 *
 * It is not the Kafka record key (schemas' sch_key_encode_pb): that one is
 * deterministic but not ordered.  The layout table is in docs/views.md.
 *
 * ENCODED COLUMN: 1 tag byte (enum sch_kind), then
 *   KIND             SIZE DESCRIPTION
 *   NULL                0 -
 *   BOOL                1 0 or 1
 *   INT64               8 big-endian, sign bit flipped
 *   UINT64              8 big-endian
 *   DOUBLE              8 IEEE bits, big-endian; negative: all bits
 *                         inverted, else sign bit set; NaN canonical (last)
 *   text kinds, BYTES   v bytes with 0x00 written 0x00 0xff, then 0x00 0x01
 *   UUID               16 network order
 *   DATE                5 class (0 -infinity, 1 finite, 2 infinity),
 *                         be32 days sign-flipped
 *   TIME                8 as INT64
 *   TIMETZ             12 as INT64 the UTC instant (micros - offset),
 *                         then be32 offset sign-flipped
 *   TIMESTAMP(TZ)       9 class, then micros as INT64
 *   INTERVAL           16 months, days (be32 sign-flipped), micros (INT64)
 *   ARRAY               v per element 0x01 + encoded element; then 0x00
 * Every form is self-delimiting (mat_int.h (3)).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "materialize/mat_int.h"

static void
put_i64(struct sl_buf *out, int64_t v)
{
	sl_buf_add_be64(out, (uint64_t)v ^ (UINT64_C(1) << 63));
}

static void
put_i32(struct sl_buf *out, int32_t v)
{
	sl_buf_add_be32(out, (uint32_t)v ^ (UINT32_C(1) << 31));
}

static void
put_escaped(struct sl_buf *out, const uint8_t *p, size_t len)
{
	size_t i, start = 0;

	sl_buf_reserve(out, len + 2);
	for (i = 0; i < len; i++) {
		if (p[i] != 0)
			continue;
		sl_buf_add(out, p + start, i - start + 1);	/* through the 0x00 */
		sl_buf_add_u8(out, 0xff);
		start = i + 1;
	}
	sl_buf_add(out, p + start, len - start);
	sl_buf_add_u8(out, 0x00);
	sl_buf_add_u8(out, 0x01);
}

static uint8_t
inf_class(int inf)
{
	return inf < 0 ? 0 : inf > 0 ? 2 : 1;
}

static int
key_encode(const struct sch_value *v, struct sl_buf *out, int depth)
{
	uint64_t bits;
	double d;
	uint32_t i;
	int rc;

	if (v->kind == SCH_UNCHANGED || (unsigned)v->kind > 255)
		return SL_EINVAL;
	sl_buf_add_u8(out, (uint8_t)v->kind);
	switch (v->kind) {
	case SCH_NULL:
		return 0;
	case SCH_BOOL:
		sl_buf_add_u8(out, v->u.b ? 1 : 0);
		return 0;
	case SCH_INT64:
		put_i64(out, v->u.i64);
		return 0;
	case SCH_UINT64:
		sl_buf_add_be64(out, v->u.u64);
		return 0;
	case SCH_DOUBLE:
		d = v->u.f64;
		if (isnan(d))
			bits = UINT64_C(0x7ff8000000000000);
		else
			memcpy(&bits, &d, sizeof(bits));
		bits = (bits >> 63) ? ~bits : bits | (UINT64_C(1) << 63);
		sl_buf_add_be64(out, bits);
		return 0;
	case SCH_NUMERIC: case SCH_TEXT: case SCH_JSON: case SCH_INET:
	case SCH_MACADDR: case SCH_BITS: case SCH_MONEY: case SCH_XML:
	case SCH_ENUM: case SCH_OTHER:
		put_escaped(out, (const uint8_t *)v->u.s.p, v->u.s.len);
		return 0;
	case SCH_BYTES:
		put_escaped(out, v->u.bytes.p, v->u.bytes.len);
		return 0;
	case SCH_UUID:
		sl_buf_add(out, v->u.uuid, 16);
		return 0;
	case SCH_DATE:
		sl_buf_add_u8(out, inf_class(v->inf));
		put_i32(out, v->inf ? 0 : v->u.date);
		return 0;
	case SCH_TIME:
		put_i64(out, v->u.time_us);
		return 0;
	case SCH_TIMETZ:
		put_i64(out, v->u.timetz.time_us - (int64_t)v->u.timetz.offset_s * 1000000);
		put_i32(out, v->u.timetz.offset_s);
		return 0;
	case SCH_TIMESTAMP: case SCH_TIMESTAMPTZ:
		sl_buf_add_u8(out, inf_class(v->inf));
		put_i64(out, v->inf ? 0 : v->u.ts_us);
		return 0;
	case SCH_INTERVAL:
		put_i32(out, v->u.interval.months);
		put_i32(out, v->u.interval.days);
		put_i64(out, v->u.interval.us);
		return 0;
	case SCH_ARRAY:
		if (depth >= MAT_MAX_DEPTH)
			return SL_EINVAL;
		for (i = 0; i < v->u.array.n; i++) {
			sl_buf_add_u8(out, 0x01);
			if ((rc = key_encode(&v->u.array.v[i], out, depth + 1)) != 0)
				return rc;
		}
		sl_buf_add_u8(out, 0x00);
		return 0;
	default:
		return SL_EINVAL;
	}
}

int
mat_key_encode_value(const struct sch_value *v, struct sl_buf *out)
{
	return key_encode(v, out, 0);
}

static int
parse_as(const struct mat_column *col, uint32_t oid, const char *text, size_t len,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err)
{
	if (sch_pg_parse(oid, -1, text, len, a, out, err) != 0)
		return sl_errf(err, SL_EINVAL, "key column %s: '%s' is not a %s", col->name, text,
		    sch_kind_name((enum sch_kind)col->kind));
	return 0;
}

int
mat_key_parse_text(const struct mat_column *col, const char *text,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err)
{
	size_t len = strlen(text);
	char *end, *copy;
	int64_t i;
	double d;

	if (col->type_oid != 0)
		return sch_pg_parse(col->type_oid, col->typmod, text, len, a, out, err) == 0 ?
		    0 : sl_errf(err, SL_EINVAL, "key column %s: '%s' is not a %s", col->name,
		    text, sch_kind_name(sch_pg_type_kind(col->type_oid)));
	switch (col->kind) {
	case SCH_INT64:
		if (sl_parse_int64(text, &i) != 0)
			return sl_errf(err, SL_EINVAL, "key column %s: '%s' is not an integer",
			    col->name, text);
		*out = sch_value_int64(i);
		return 0;
	case SCH_DOUBLE:
		errno = 0;
		d = strtod(text, &end);
		if (errno != 0 || end == text || *end != '\0')
			return sl_errf(err, SL_EINVAL, "key column %s: '%s' is not a number",
			    col->name, text);
		*out = sch_value_null();
		out->kind = SCH_DOUBLE;
		out->u.f64 = d;
		return 0;
	case SCH_BOOL:
		*out = sch_value_null();
		out->kind = SCH_BOOL;
		if (strcmp(text, "true") == 0 || strcmp(text, "t") == 0)
			out->u.b = 1;
		else if (strcmp(text, "false") != 0 && strcmp(text, "f") != 0)
			return sl_errf(err, SL_EINVAL, "key column %s: '%s' is not a boolean",
			    col->name, text);
		return 0;
	case SCH_UINT64: {
		unsigned long long u;

		errno = 0;
		u = strtoull(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0' || text[0] < '0' || text[0] > '9')
			return sl_errf(err, SL_EINVAL, "key column %s: '%s' is not an unsigned "
			    "integer", col->name, text);
		*out = sch_value_null();
		out->kind = SCH_UINT64;
		out->u.u64 = u;
		return 0;
	}
	/* a MySQL column (no oid): PostgreSQL's text forms of these kinds */
	case SCH_DATE: return parse_as(col, SCH_OID_DATE, text, len, a, out, err);
	case SCH_TIME: return parse_as(col, SCH_OID_TIME, text, len, a, out, err);
	case SCH_TIMESTAMP: return parse_as(col, SCH_OID_TIMESTAMP, text, len, a, out, err);
	case SCH_TIMESTAMPTZ: return parse_as(col, SCH_OID_TIMESTAMPTZ, text, len, a, out, err);
	case SCH_BYTES: return parse_as(col, SCH_OID_BYTEA, text, len, a, out, err);
	default:
		copy = sl_arena_alloc(a, len + 1);
		memcpy(copy, text, len + 1);
		*out = sch_value_text(copy, len);
		if (sch_kind_is_text((enum sch_kind)col->kind))
			out->kind = (enum sch_kind)col->kind;	/* JSON, NUMERIC, ENUM... */
		return 0;
	}
}
