/*
 * materialize/row.c: the stored row and schema records of an LMDB view
 * (layouts in materialize/mat_int.h and docs/views.md), and a row value as
 * JSON for `sluice view`.
 *
 * It does not touch LMDB: callers hand it bytes.  Decoders never trust
 * the bytes: every length is checked against what remains before use, and
 * the error names the offset.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "materialize/mat_int.h"

/* A bounds-checked reader over a record. */
struct rd {
	const uint8_t *p;
	size_t len, at;
	const char *what;		/* "row" or "schema" */
	struct sl_err *err;
};

static int
rd_fail(struct rd *r, const char *why)
{
	return SL_CORRUPT(r->err, "%s record: %s at offset %zu", r->what, why, r->at);
}

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->at >= r->len)
		return rd_fail(r, "truncated");
	*v = r->p[r->at++];
	return 0;
}

static int
rd_uvar(struct rd *r, uint64_t *v)
{
	int n = sl_uvarint_get(r->p + r->at, r->len - r->at, v);

	if (n <= 0)
		return rd_fail(r, "bad varint");
	r->at += (size_t)n;
	return 0;
}

static int
rd_var(struct rd *r, int64_t *v)
{
	int n = sl_varint_get(r->p + r->at, r->len - r->at, v);

	if (n <= 0)
		return rd_fail(r, "bad varint");
	r->at += (size_t)n;
	return 0;
}

static int
rd_bytes(struct rd *r, size_t n, const uint8_t **p)
{
	if (n > r->len - r->at)
		return rd_fail(r, "length past the end");
	*p = r->p + r->at;
	r->at += n;
	return 0;
}

/* ----------------------------------------------------------- schema record */

void
mat_schema_encode(const struct mat_schema *s, struct sl_buf *out)
{
	uint32_t i;
	size_t tl = strlen(s->table);

	sl_buf_add_u8(out, MAT_SCHEMA_VERSION);
	sl_buf_add_uvarint(out, tl);
	sl_buf_add(out, s->table, tl);
	sl_buf_add_uvarint(out, s->n_columns);
	for (i = 0; i < s->n_columns; i++) {
		const struct mat_column *c = &s->columns[i];
		size_t nl = strlen(c->name);

		sl_buf_add_uvarint(out, nl);
		sl_buf_add(out, c->name, nl);
		sl_buf_add_uvarint(out, c->type_oid);
		sl_buf_add_varint(out, c->typmod);
		sl_buf_add_u8(out, c->kind);
		sl_buf_add_u8(out, c->is_key ? 1 : 0);
	}
}

static int
rd_str(struct rd *r, struct sl_arena *a, const char **out)
{
	const uint8_t *p = NULL;
	uint64_t n;
	char *s;
	int rc;

	if ((rc = rd_uvar(r, &n)) != 0)
		return rc;
	if (n > r->len - r->at)
		return rd_fail(r, "string past the end");
	if ((rc = rd_bytes(r, (size_t)n, &p)) != 0)
		return rc;
	s = sl_arena_alloc(a, (size_t)n + 1);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	*out = s;
	return 0;
}

int
mat_schema_decode(struct sl_slice in, uint64_t id, struct sl_arena *a,
    struct mat_schema *s, struct sl_err *err)
{
	struct rd r = { in.p, in.len, 0, "schema", err };
	uint64_t n, oid;
	int64_t typmod;
	uint8_t v = 0, kind = 0, flags = 0;
	uint32_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	s->id = id;
	if ((rc = rd_u8(&r, &v)) != 0)
		return rc;
	if (v != MAT_SCHEMA_VERSION)
		return rd_fail(&r, "unknown version");
	if ((rc = rd_str(&r, a, &s->table)) != 0 || (rc = rd_uvar(&r, &n)) != 0)
		return rc;
	if (n > (r.len - r.at) / 4)	/* each column takes at least 4 bytes */
		return rd_fail(&r, "column count past the end");
	s->n_columns = (uint32_t)n;
	s->columns = sl_arena_alloc(a, (size_t)n * sizeof(*s->columns) + 1);
	for (i = 0; i < s->n_columns; i++) {
		struct mat_column *c = &s->columns[i];

		if ((rc = rd_str(&r, a, &c->name)) != 0 || (rc = rd_uvar(&r, &oid)) != 0 ||
		    (rc = rd_var(&r, &typmod)) != 0 || (rc = rd_u8(&r, &kind)) != 0 ||
		    (rc = rd_u8(&r, &flags)) != 0)
			return rc;
		if (oid > UINT32_MAX || typmod < INT32_MIN || typmod > INT32_MAX)
			return rd_fail(&r, "column type out of range");
		c->type_oid = (uint32_t)oid;
		c->typmod = (int32_t)typmod;
		c->kind = kind;
		c->is_key = flags & 1;
	}
	if (r.at != r.len)
		return rd_fail(&r, "trailing bytes");
	return 0;
}

/* -------------------------------------------------------------- row record */

static uint8_t
inf_byte(int inf)
{
	return inf > 0 ? 1 : inf < 0 ? 0xff : 0;
}

static void
value_encode(const struct sch_value *v, struct sl_buf *out, int depth)
{
	uint64_t bits;
	uint32_t i;

	sl_buf_add_u8(out, (uint8_t)v->kind);
	switch (v->kind) {
	case SCH_BOOL:
		sl_buf_add_u8(out, v->u.b ? 1 : 0);
		break;
	case SCH_INT64:
		sl_buf_add_varint(out, v->u.i64);
		break;
	case SCH_TIME:
		sl_buf_add_varint(out, v->u.time_us);
		break;
	case SCH_UINT64:
		sl_buf_add_uvarint(out, v->u.u64);
		break;
	case SCH_DOUBLE:
		memcpy(&bits, &v->u.f64, sizeof(bits));
		sl_buf_add_be64(out, bits);
		break;
	case SCH_BYTES:
		sl_buf_add_uvarint(out, v->u.bytes.len);
		sl_buf_add(out, v->u.bytes.p, v->u.bytes.len);
		sl_buf_add_u8(out, 0);
		break;
	case SCH_UUID:
		sl_buf_add(out, v->u.uuid, 16);
		break;
	case SCH_DATE:
		sl_buf_add_u8(out, inf_byte(v->inf));
		sl_buf_add_varint(out, v->u.date);
		break;
	case SCH_TIMESTAMP: case SCH_TIMESTAMPTZ:
		sl_buf_add_u8(out, inf_byte(v->inf));
		sl_buf_add_varint(out, v->u.ts_us);
		break;
	case SCH_TIMETZ:
		sl_buf_add_varint(out, v->u.timetz.time_us);
		sl_buf_add_varint(out, v->u.timetz.offset_s);
		break;
	case SCH_INTERVAL:
		sl_buf_add_varint(out, v->u.interval.months);
		sl_buf_add_varint(out, v->u.interval.days);
		sl_buf_add_varint(out, v->u.interval.us);
		break;
	case SCH_ARRAY:
		sl_buf_add_uvarint(out, v->u.array.elem_oid);
		if (depth >= MAT_MAX_DEPTH) {
			sl_buf_add_uvarint(out, 0);
			break;
		}
		sl_buf_add_uvarint(out, v->u.array.n);
		for (i = 0; i < v->u.array.n; i++)
			value_encode(&v->u.array.v[i], out, depth + 1);
		break;
	default:
		if (sch_kind_is_text(v->kind)) {
			sl_buf_add_uvarint(out, v->u.s.len);
			sl_buf_add(out, v->u.s.p, v->u.s.len);
			sl_buf_add_u8(out, 0);
		}
		break;		/* NULL, UNCHANGED: no payload */
	}
}

void
mat_row_encode(uint64_t schema_id, const struct mat_pos *pos,
    const struct sch_value *values, uint32_t n, struct sl_buf *out)
{
	uint32_t i;

	sl_buf_add_u8(out, MAT_ROW_VERSION);
	sl_buf_add_be64(out, schema_id);
	sl_buf_add_uvarint(out, (uint32_t)pos->partition);
	sl_buf_add_uvarint(out, (uint64_t)pos->offset);
	sl_buf_add_uvarint(out, pos->lsn);
	sl_buf_add_uvarint(out, n);
	for (i = 0; i < n; i++)
		value_encode(&values[i], out, 0);
}

int
mat_row_header(struct sl_slice row, uint64_t *schema_id, struct mat_pos *pos,
    uint32_t *n, size_t *values_at, struct sl_err *err)
{
	struct rd r = { row.p, row.len, 0, "row", err };
	struct mat_pos p;
	const uint8_t *id = NULL;
	uint64_t cnt, part, off;
	uint8_t version = 0;
	int rc;

	if ((rc = rd_u8(&r, &version)) != 0)
		return rc;
	if (version == MAT_ROW_VERSION_1) {
		/* fixed-width header, as views written before version 2 hold */
		if (row.len < MAT_ROW_V1_HEADER_SIZE)
			return rd_fail(&r, "shorter than its header");
		id = row.p + 1;
		p.partition = (int32_t)sl_get_be32(row.p + 9);
		p.offset = (int64_t)sl_get_be64(row.p + 13);
		p.lsn = sl_get_be64(row.p + 21);
		/* Kafka positions are never negative; version 2 cannot hold one */
		if (p.partition < 0 || p.offset < 0) {
			r.at = p.partition < 0 ? 9 : 13;
			return rd_fail(&r, p.partition < 0 ? "partition out of range" :
			    "offset out of range");
		}
		r.at = MAT_ROW_V1_HEADER_SIZE;
	} else if (version == MAT_ROW_VERSION) {
		if ((rc = rd_bytes(&r, 8, &id)) != 0 || (rc = rd_uvar(&r, &part)) != 0)
			return rc;
		if (part > INT32_MAX)
			return rd_fail(&r, "partition out of range");
		if ((rc = rd_uvar(&r, &off)) != 0)
			return rc;
		if (off > INT64_MAX)
			return rd_fail(&r, "offset out of range");
		if ((rc = rd_uvar(&r, &p.lsn)) != 0)
			return rc;
		p.partition = (int32_t)part;
		p.offset = (int64_t)off;
	} else if (version > MAT_ROW_VERSION) {
		return SL_CORRUPT(err, "row record: unknown version %u at offset 0 (this "
		    "program reads 1 to %d; if a newer sluice wrote the view, rebuild the "
		    "program against its materialize/view.h)", version, MAT_ROW_VERSION);
	} else {
		r.at = 0;
		return rd_fail(&r, "unknown version");
	}
	if (schema_id)
		*schema_id = sl_get_be64(id);
	if (pos)
		*pos = p;
	if ((rc = rd_uvar(&r, &cnt)) != 0)
		return rc;
	if (cnt > r.len - r.at)		/* each value takes at least 1 byte */
		return rd_fail(&r, "value count past the end");
	if (n)
		*n = (uint32_t)cnt;
	if (values_at)
		*values_at = r.at;
	return 0;
}

static int
value_decode(struct rd *r, struct sl_arena *a, struct sch_value *v, int depth)
{
	const uint8_t *p = NULL;
	uint64_t u, cnt;
	int64_t i, j, k;
	uint8_t b = 0;
	uint32_t e;
	int rc;

	*v = sch_value_null();
	if ((rc = rd_u8(r, &b)) != 0)
		return rc;
	v->kind = (enum sch_kind)b;
	switch (b) {
	case SCH_NULL: case SCH_UNCHANGED:
		return 0;
	case SCH_BOOL:
		if ((rc = rd_u8(r, &b)) != 0)
			return rc;
		v->u.b = b != 0;
		return 0;
	case SCH_INT64:
		return rd_var(r, &v->u.i64);
	case SCH_TIME:
		return rd_var(r, &v->u.time_us);
	case SCH_UINT64:
		return rd_uvar(r, &v->u.u64);
	case SCH_DOUBLE:
		if ((rc = rd_bytes(r, 8, &p)) != 0)
			return rc;
		u = sl_get_be64(p);
		memcpy(&v->u.f64, &u, sizeof(u));
		return 0;
	case SCH_UUID:
		if ((rc = rd_bytes(r, 16, &p)) != 0)
			return rc;
		memcpy(v->u.uuid, p, 16);
		return 0;
	case SCH_DATE: case SCH_TIMESTAMP: case SCH_TIMESTAMPTZ:
		if ((rc = rd_u8(r, &b)) != 0 || (rc = rd_var(r, &i)) != 0)
			return rc;
		if (b != 0 && b != 1 && b != 0xff)
			return rd_fail(r, "bad infinity byte");
		v->inf = b == 1 ? SCH_INF_POS : b == 0xff ? SCH_INF_NEG : SCH_INF_NONE;
		if (v->kind == SCH_DATE) {
			if (i < INT32_MIN || i > INT32_MAX)
				return rd_fail(r, "date out of range");
			v->u.date = (int32_t)i;
		} else
			v->u.ts_us = i;
		return 0;
	case SCH_TIMETZ:
		if ((rc = rd_var(r, &i)) != 0 || (rc = rd_var(r, &j)) != 0)
			return rc;
		if (j < INT32_MIN || j > INT32_MAX)
			return rd_fail(r, "time zone offset out of range");
		v->u.timetz.time_us = i;
		v->u.timetz.offset_s = (int32_t)j;
		return 0;
	case SCH_INTERVAL:
		if ((rc = rd_var(r, &i)) != 0 || (rc = rd_var(r, &j)) != 0 ||
		    (rc = rd_var(r, &k)) != 0)
			return rc;
		if (i < INT32_MIN || i > INT32_MAX || j < INT32_MIN || j > INT32_MAX)
			return rd_fail(r, "interval out of range");
		v->u.interval.months = (int32_t)i;
		v->u.interval.days = (int32_t)j;
		v->u.interval.us = k;
		return 0;
	case SCH_ARRAY:
		if ((rc = rd_uvar(r, &u)) != 0 || (rc = rd_uvar(r, &cnt)) != 0)
			return rc;
		if (u > UINT32_MAX)
			return rd_fail(r, "element oid out of range");
		if (cnt > r->len - r->at)
			return rd_fail(r, "element count past the end");
		if (cnt > 0 && depth >= MAT_MAX_DEPTH)
			return rd_fail(r, "array nested too deep");
		v->u.array.elem_oid = (uint32_t)u;
		v->u.array.n = (uint32_t)cnt;
		v->u.array.v = sl_arena_alloc(a, (size_t)cnt * sizeof(*v) + 1);
		for (e = 0; e < v->u.array.n; e++)
			if ((rc = value_decode(r, a, &v->u.array.v[e], depth + 1)) != 0)
				return rc;
		return 0;
	case SCH_BYTES:
	default:
		if (b != SCH_BYTES && !sch_kind_is_text(b))
			return rd_fail(r, "unknown value kind");
		if ((rc = rd_uvar(r, &u)) != 0)
			return rc;
		if (u >= r->len - r->at)	/* bytes and the NUL */
			return rd_fail(r, "length past the end");
		if ((rc = rd_bytes(r, (size_t)u + 1, &p)) != 0)
			return rc;
		if (p[u] != 0)
			return rd_fail(r, "string without its NUL");
		if (b == SCH_BYTES)
			v->u.bytes = sl_slice_make(p, (size_t)u);
		else {
			v->u.s.p = (const char *)p;
			v->u.s.len = (size_t)u;
		}
		return 0;
	}
}

int
mat_row_decode(struct sl_slice row, struct sl_arena *a,
    struct sch_value **values, uint32_t *n, struct sl_err *err)
{
	struct rd r = { row.p, row.len, 0, "row", err };
	struct sch_value *v;
	uint32_t i, cnt;
	int rc;

	if ((rc = mat_row_header(row, NULL, NULL, &cnt, &r.at, err)) != 0)
		return rc;
	v = sl_arena_alloc(a, (size_t)cnt * sizeof(*v) + 1);
	for (i = 0; i < cnt; i++)
		if ((rc = value_decode(&r, a, &v[i], 0)) != 0)
			return rc;
	if (r.at != r.len)
		return rd_fail(&r, "trailing bytes");
	*values = v;
	*n = cnt;
	return 0;
}

/* ------------------------------------------------------------------ JSON */

void
mat_json_string(struct sl_buf *out, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;

	sl_buf_add_u8(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		char esc[7];
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sl_buf_add(out, p + start, i - start);
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
			break;
		}
		sl_buf_add(out, esc, el);
		start = i + 1;
	}
	sl_buf_add(out, p + start, len - start);
	sl_buf_add_u8(out, '"');
}

static void
value_json(const struct sch_value *v, uint32_t type_oid, struct sl_buf *out, int depth)
{
	static const char hex[] = "0123456789abcdef";
	struct sl_buf t = { 0 };
	uint32_t i;

	switch (v->kind) {
	case SCH_NULL:
		sl_buf_add(out, "null", 4);
		return;
	case SCH_UNCHANGED:
		mat_json_string(out, "__debezium_unavailable_value", 28);
		return;
	case SCH_BOOL:
		sl_buf_printf(out, "%s", v->u.b ? "true" : "false");
		return;
	case SCH_INT64:
		sl_buf_printf(out, "%" PRId64, v->u.i64);
		return;
	case SCH_UINT64:
		sl_buf_printf(out, "%" PRIu64, v->u.u64);
		return;
	case SCH_JSON:
		if (type_oid == 0) {	/* a nested JSON value of a json view */
			sl_buf_add(out, v->u.s.p, v->u.s.len);
			return;
		}
		break;
	case SCH_ARRAY:
		if (type_oid == 0 || depth >= MAT_MAX_DEPTH) {
			sl_buf_add_u8(out, '[');
			for (i = 0; i < v->u.array.n; i++) {
				if (i)
					sl_buf_add_u8(out, ',');
				value_json(&v->u.array.v[i], 0, out, depth + 1);
			}
			sl_buf_add_u8(out, ']');
			return;
		}
		break;
	default:
		break;
	}
	if (type_oid != 0 && sch_value_to_pg_text(v, type_oid, &t) == 0) {
		if (v->kind == SCH_DOUBLE && isfinite(v->u.f64))
			sl_buf_add(out, t.p, t.len);
		else
			mat_json_string(out, (const char *)t.p, t.len);
		sl_buf_free(&t);
		return;
	}
	sl_buf_reset(&t);
	/*
	 * No PostgreSQL type (a MySQL column): dates and times as PostgreSQL
	 * prints the same kind (ISO 8601, as MySQL prints them too), a MySQL
	 * TIME beyond 24:00 as its micros.
	 */
	if (type_oid == 0 && (v->kind == SCH_DATE || v->kind == SCH_TIME ||
	    v->kind == SCH_TIMESTAMP || v->kind == SCH_TIMESTAMPTZ) &&
	    sch_value_to_pg_text(v, v->kind == SCH_DATE ? SCH_OID_DATE : v->kind == SCH_TIME ?
	    SCH_OID_TIME : v->kind == SCH_TIMESTAMP ? SCH_OID_TIMESTAMP : SCH_OID_TIMESTAMPTZ,
	    &t) == 0) {
		mat_json_string(out, (const char *)t.p, t.len);
		sl_buf_free(&t);
		return;
	}
	sl_buf_free(&t);
	/* no PostgreSQL type: the kind decides */
	if (sch_kind_is_text(v->kind)) {
		mat_json_string(out, v->u.s.p, v->u.s.len);
	} else if (v->kind == SCH_DOUBLE) {
		if (isfinite(v->u.f64))
			sl_buf_printf(out, "%.17g", v->u.f64);
		else
			sl_buf_printf(out, "\"%s\"", isnan(v->u.f64) ? "NaN" :
			    v->u.f64 > 0 ? "Infinity" : "-Infinity");
	} else if (v->kind == SCH_BYTES) {
		sl_buf_add(out, "\"\\\\x", 4);
		for (i = 0; i < v->u.bytes.len; i++) {
			sl_buf_add_u8(out, (uint8_t)hex[v->u.bytes.p[i] >> 4]);
			sl_buf_add_u8(out, (uint8_t)hex[v->u.bytes.p[i] & 15]);
		}
		sl_buf_add_u8(out, '"');
	} else if (v->kind == SCH_DATE) {
		sl_buf_printf(out, "%" PRId32, v->u.date);
	} else if (v->kind == SCH_TIMESTAMP || v->kind == SCH_TIMESTAMPTZ) {
		sl_buf_printf(out, "%" PRId64, v->u.ts_us);
	} else if (v->kind == SCH_TIME) {
		sl_buf_printf(out, "%" PRId64, v->u.time_us);
	} else {
		mat_json_string(out, sch_kind_name(v->kind), strlen(sch_kind_name(v->kind)));
	}
}

void
mat_value_json(const struct sch_value *v, const struct mat_column *col,
    struct sl_buf *out)
{
	value_json(v, col ? col->type_oid : 0, out, 0);
}

/* ------------------------------------------------- shared by the sinks */

void
mat_value_text(const struct sch_value *v, const struct mat_column *col, struct sl_buf *out)
{
	struct sl_buf t = { 0 };
	struct sl_arena a = { 0 };
	struct mat_json j;

	if (sch_kind_is_text(v->kind)) {
		sl_buf_add(out, v->u.s.p, v->u.s.len);
		return;
	}
	if (v->kind == SCH_BOOL) {	/* as sluice view prints it, not PostgreSQL's t/f */
		sl_buf_printf(out, "%s", v->u.b ? "true" : "false");
		return;
	}
	if (col && col->type_oid != 0 && sch_value_to_pg_text(v, col->type_oid, &t) == 0) {
		sl_buf_add(out, t.p, t.len);
		sl_buf_free(&t);
		return;
	}
	sl_buf_reset(&t);
	value_json(v, col ? col->type_oid : 0, &t, 0);
	/* a JSON string: its characters, not its quotes and escapes */
	if (t.len >= 2 && t.p[0] == '"' && mat_json_parse(sl_buf_slice(&t), &a, &j, NULL) == 0 &&
	    j.type == MAT_JSON_STRING)
		sl_buf_add(out, j.s, j.len);
	else
		sl_buf_add(out, t.p, t.len);
	sl_arena_free(&a);
	sl_buf_free(&t);
}

int
mat_pk_encode(const struct mat_schema *ms, const struct sch_value *img, struct sl_buf *out)
{
	uint32_t i, n_keys = 0;
	int rc;

	sl_buf_reset(out);
	for (i = 0; i < ms->n_columns; i++)
		if (ms->columns[i].is_key) {
			n_keys++;
			if ((rc = mat_key_encode_value(&img[i], out)) != 0)
				return rc;
		}
	if (n_keys == 0)
		for (i = 0; i < ms->n_columns; i++)
			if ((rc = mat_key_encode_value(&img[i], out)) != 0)
				return rc;
	return 0;
}

/* The kind named 'name' (a JSON view's type_name), else SCH_TEXT. */
static enum sch_kind
kind_by_name(const char *name)
{
	int k;

	for (k = SCH_NULL; name && k <= SCH_OTHER; k++)
		if (strcmp(sch_kind_name((enum sch_kind)k), name) == 0)
			return (enum sch_kind)k;
	return SCH_TEXT;
}

void
mat_schema_from_event(const struct sch_table *t, struct sl_arena *a, struct mat_schema *s)
{
	const char *ns = t->schema ? t->schema : t->db ? t->db : "";
	size_t n = strlen(ns) + strlen(t->name) + 2;
	char *name = sl_arena_alloc(a, n);
	uint32_t i;

	snprintf(name, n, "%s.%s", ns, t->name);
	s->id = t->schema_id;
	s->table = name;
	s->n_columns = t->n_columns;
	s->columns = sl_arena_alloc(a, (size_t)t->n_columns * sizeof(*s->columns) + 1);
	for (i = 0; i < t->n_columns; i++) {
		struct mat_column *c = &s->columns[i];
		size_t nl = strlen(t->columns[i].name);
		char *nm = sl_arena_alloc(a, nl + 1);

		memcpy(nm, t->columns[i].name, nl + 1);
		c->name = nm;
		c->type_oid = t->columns[i].type_oid;
		c->typmod = t->columns[i].typmod;
		/* PostgreSQL: the oid; a JSON view: the kind's name; MySQL: its SQL name */
		c->kind = (uint8_t)(c->type_oid ? sch_pg_type_kind(c->type_oid) :
		    (t->schema_id & MAT_SCHEMA_ID_JSON) ? kind_by_name(t->columns[i].type_name) :
		    sch_my_type_kind(t->columns[i].type_name));
		c->is_key = t->columns[i].is_key ? 1 : 0;
	}
}
