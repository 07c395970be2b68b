/*
 * schemas/event.c: the change-event model: value names, deep copies,
 * equality and the consistency check that every encoder runs first.
 *
 * It is not an encoder (encode_pb.c, encode_json.c) and not a type mapper
 * (pg_types.c).
 */
#include <string.h>

#include "schemas/sch.h"

const char *
sch_kind_name(enum sch_kind k)
{
	static const char *const names[] = {
		[SCH_NULL] = "null", [SCH_UNCHANGED] = "unchanged",
		[SCH_BOOL] = "bool", [SCH_INT64] = "int64",
		[SCH_UINT64] = "uint64", [SCH_DOUBLE] = "double",
		[SCH_NUMERIC] = "numeric", [SCH_TEXT] = "text",
		[SCH_BYTES] = "bytes", [SCH_UUID] = "uuid", [SCH_JSON] = "json",
		[SCH_DATE] = "date", [SCH_TIME] = "time", [SCH_TIMETZ] = "timetz",
		[SCH_TIMESTAMP] = "timestamp", [SCH_TIMESTAMPTZ] = "timestamptz",
		[SCH_INTERVAL] = "interval", [SCH_INET] = "inet",
		[SCH_MACADDR] = "macaddr", [SCH_BITS] = "bits",
		[SCH_MONEY] = "money", [SCH_XML] = "xml", [SCH_ARRAY] = "array",
		[SCH_ENUM] = "enum", [SCH_OTHER] = "other",
	};

	if ((unsigned)k < SL_ARRAY_LEN(names) && names[k] != NULL)
		return names[k];
	return "?";
}

int
sch_kind_is_text(enum sch_kind k)
{
	switch (k) {
	case SCH_NUMERIC: case SCH_TEXT: case SCH_JSON: case SCH_INET:
	case SCH_MACADDR: case SCH_BITS: case SCH_MONEY: case SCH_XML:
	case SCH_ENUM: case SCH_OTHER:
		return 1;
	default:
		return 0;
	}
}

static struct sch_value
value_copy(const struct sch_value *src, struct sl_arena *a, int depth)
{
	struct sch_value v = *src;

	if (sch_kind_is_text(src->kind)) {
		char *p = sl_arena_alloc(a, src->u.s.len + 1);

		if (src->u.s.len > 0)
			memcpy(p, src->u.s.p, src->u.s.len);
		p[src->u.s.len] = '\0';
		v.u.s.p = p;
	} else if (src->kind == SCH_BYTES) {
		uint8_t *p = sl_arena_alloc(a, src->u.bytes.len);

		if (src->u.bytes.len > 0)
			memcpy(p, src->u.bytes.p, src->u.bytes.len);
		v.u.bytes.p = p;
	} else if (src->kind == SCH_ARRAY && depth < SCH_MAX_ARRAY_DEPTH) {
		struct sch_value *e = sl_arena_alloc(a,
		    (size_t)src->u.array.n * sizeof(*e));
		uint32_t i;

		for (i = 0; i < src->u.array.n; i++)
			e[i] = value_copy(&src->u.array.v[i], a, depth + 1);
		v.u.array.v = e;
	} else if (src->kind == SCH_ARRAY) {
		v.u.array.v = NULL;	/* deeper than any decoder makes */
		v.u.array.n = 0;
	}
	return v;
}

struct sch_value
sch_value_copy(const struct sch_value *src, struct sl_arena *a)
{
	return value_copy(src, a, 0);
}

static int
value_equal(const struct sch_value *x, const struct sch_value *y, int depth)
{
	uint32_t i;

	if (x->kind != y->kind)
		return 0;
	switch (x->kind) {
	case SCH_NULL:
	case SCH_UNCHANGED:
		return 1;
	case SCH_BOOL:
		return !x->u.b == !y->u.b;
	case SCH_INT64:
		return x->u.i64 == y->u.i64;
	case SCH_UINT64:
		return x->u.u64 == y->u.u64;
	case SCH_DOUBLE:
		/* bitwise: NaN equals NaN, -0 differs from 0 */
		return memcmp(&x->u.f64, &y->u.f64, sizeof(double)) == 0;
	case SCH_BYTES:
		return x->u.bytes.len == y->u.bytes.len && (x->u.bytes.len == 0 ||
		    memcmp(x->u.bytes.p, y->u.bytes.p, x->u.bytes.len) == 0);
	case SCH_UUID:
		return memcmp(x->u.uuid, y->u.uuid, 16) == 0;
	case SCH_DATE:
		return x->inf == y->inf && (x->inf != 0 || x->u.date == y->u.date);
	case SCH_TIME:
		return x->u.time_us == y->u.time_us;
	case SCH_TIMETZ:
		return x->u.timetz.time_us == y->u.timetz.time_us &&
		    x->u.timetz.offset_s == y->u.timetz.offset_s;
	case SCH_TIMESTAMP:
	case SCH_TIMESTAMPTZ:
		return x->inf == y->inf && (x->inf != 0 || x->u.ts_us == y->u.ts_us);
	case SCH_INTERVAL:
		return x->u.interval.months == y->u.interval.months &&
		    x->u.interval.days == y->u.interval.days &&
		    x->u.interval.us == y->u.interval.us;
	case SCH_ARRAY:
		if (x->u.array.n != y->u.array.n ||
		    x->u.array.elem_oid != y->u.array.elem_oid ||
		    depth >= SCH_MAX_ARRAY_DEPTH)
			return 0;
		for (i = 0; i < x->u.array.n; i++)
			if (!value_equal(&x->u.array.v[i], &y->u.array.v[i], depth + 1))
				return 0;
		return 1;
	default:
		if (!sch_kind_is_text(x->kind))
			return 0;
		return x->u.s.len == y->u.s.len && (x->u.s.len == 0 ||
		    memcmp(x->u.s.p, y->u.s.p, x->u.s.len) == 0);
	}
}

int
sch_value_equal(const struct sch_value *x, const struct sch_value *y)
{
	return value_equal(x, y, 0);
}

static int
value_check(const struct sch_value *v, int depth, const char *where,
    uint32_t col, struct sl_err *err)
{
	uint32_t i;

	if (v->kind < SCH_NULL || v->kind > SCH_OTHER)
		return sl_errf(err, SL_EINVAL, "%s column %u: bad value kind %d",
		    where, col, (int)v->kind);
	if ((v->kind == SCH_DATE || v->kind == SCH_TIMESTAMP ||
	    v->kind == SCH_TIMESTAMPTZ) && (v->inf < -1 || v->inf > 1))
		return sl_errf(err, SL_EINVAL, "%s column %u: bad infinity %d",
		    where, col, v->inf);
	if (sch_kind_is_text(v->kind) && v->u.s.p == NULL && v->u.s.len != 0)
		return sl_errf(err, SL_EINVAL, "%s column %u: NULL string", where, col);
	if (v->kind == SCH_BYTES && v->u.bytes.p == NULL && v->u.bytes.len != 0)
		return sl_errf(err, SL_EINVAL, "%s column %u: NULL bytes", where, col);
	if (v->kind != SCH_ARRAY)
		return 0;
	if (depth >= SCH_MAX_ARRAY_DEPTH)
		return sl_errf(err, SL_EINVAL, "%s column %u: arrays nested deeper than %d",
		    where, col, SCH_MAX_ARRAY_DEPTH);
	if (v->u.array.n > 0 && v->u.array.v == NULL)
		return sl_errf(err, SL_EINVAL, "%s column %u: NULL elements", where, col);
	for (i = 0; i < v->u.array.n; i++) {
		int rc;

		if (v->u.array.v[i].kind == SCH_UNCHANGED)	/* (1) */
			return sl_errf(err, SL_EINVAL,
			    "%s column %u: unchanged array element", where, col);
		rc = value_check(&v->u.array.v[i], depth + 1, where, col, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
image_check(const struct sch_table *t, const struct sch_value *img,
    const char *where, struct sl_err *err)
{
	uint32_t i;
	int rc;

	for (i = 0; i < t->n_columns; i++) {
		rc = value_check(&img[i], 0, where, i, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
sch_event_check_(const struct sch_event *ev, struct sl_err *err)
{
	const struct sch_table *t = ev->table;
	uint32_t i;
	int rc;

	switch (ev->op) {
	case SCH_OP_CREATE: case SCH_OP_UPDATE: case SCH_OP_DELETE:
	case SCH_OP_READ: case SCH_OP_TRUNCATE: case SCH_OP_MESSAGE:
		break;
	default:
		return sl_errf(err, SL_EINVAL, "event: bad op %d", (int)ev->op);
	}
	if (ev->op == SCH_OP_MESSAGE) {
		if (ev->message == NULL)
			return sl_errf(err, SL_EINVAL, "event: op 'm' without a message");
		if (ev->message->content.len > 0 && ev->message->content.p == NULL)
			return sl_errf(err, SL_EINVAL, "event: message content is NULL");
		if (ev->before != NULL || ev->after != NULL)
			return sl_errf(err, SL_EINVAL, "event: op 'm' with an image");
		return 0;
	}
	if (ev->message != NULL)
		return sl_errf(err, SL_EINVAL, "event: op '%c' with a message", ev->op);
	if (t == NULL)
		return sl_errf(err, SL_EINVAL, "event: op '%c' without a table", ev->op);
	if (t->name == NULL)
		return sl_errf(err, SL_EINVAL, "event: table without a name");
	if (t->n_columns > 0 && t->columns == NULL)
		return sl_errf(err, SL_EINVAL, "table %s: NULL columns", t->name);
	for (i = 0; i < t->n_columns; i++)
		if (t->columns[i].name == NULL)
			return sl_errf(err, SL_EINVAL, "table %s: column %u has no name",
			    t->name, i);
	switch (ev->op) {
	case SCH_OP_CREATE:
	case SCH_OP_READ:
		if (ev->after == NULL || ev->before != NULL)
			return sl_errf(err, SL_EINVAL,
			    "table %s: op '%c' needs an after image only", t->name, ev->op);
		break;
	case SCH_OP_UPDATE:
		if (ev->after == NULL)
			return sl_errf(err, SL_EINVAL,
			    "table %s: update without an after image", t->name);
		break;
	case SCH_OP_DELETE:
		if (ev->before == NULL || ev->after != NULL)
			return sl_errf(err, SL_EINVAL,
			    "table %s: delete needs a before image only", t->name);
		break;
	default:
		if (ev->before != NULL || ev->after != NULL)
			return sl_errf(err, SL_EINVAL,
			    "table %s: truncate with an image", t->name);
		break;
	}
	if (ev->before != NULL) {
		if ((rc = image_check(t, ev->before, "before", err)) != 0)
			return rc;
		for (i = 0; i < t->n_columns; i++)
			if (t->columns[i].is_key &&
			    ev->before[i].kind == SCH_UNCHANGED)
				return sl_errf(err, SL_EINVAL,
				    "table %s: key column %s is unchanged",
				    t->name, t->columns[i].name);
	}
	if (ev->after != NULL) {
		if ((rc = image_check(t, ev->after, "after", err)) != 0)
			return rc;
		for (i = 0; i < t->n_columns; i++)
			if (t->columns[i].is_key && ev->after[i].kind == SCH_UNCHANGED)
				return sl_errf(err, SL_EINVAL,
				    "table %s: key column %s is unchanged",
				    t->name, t->columns[i].name);
	}
	return 0;
}
