/*
 * tests/sch_compare.h: field-by-field equality of decoded events, shared by
 * the Check suite that compares the direct and protobuf-c decoders
 * (tests/check_pbdirect.c) and the differential fuzz target
 * (tests/fuzz/fuzz_pg_types.c).  Stricter than sch_value_equal: it also
 * compares the infinity flag of every kind and requires decoded strings to
 * be NUL-terminated (sch.h invariant (2)).  Header-only, static inline.
 */
#ifndef SCH_COMPARE_H
#define SCH_COMPARE_H

#include <string.h>

#include "schemas/sch.h"

/* Strings the decoders return: NULL only where both give NULL. */
static inline int
sc_cstr_eq(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

/*
 * A decoded text value: equal bytes, NUL-terminated (sch.h (2)).  'x' is
 * the direct decoder's, 'y' the reference's: a text with an embedded NUL
 * is whole in 'x' and cut at the NUL in 'y' (schemas/decode_pb.c).
 */
static inline int
sc_sstr_eq(const struct sch_str *x, const struct sch_str *y)
{
	const char *nul;

	if (x->p == NULL || y->p == NULL || x->p[x->len] != '\0' || y->p[y->len] != '\0')
		return 0;
	if (x->len != y->len && (nul = memchr(x->p, '\0', x->len)) != NULL)
		return (size_t)(nul - x->p) == y->len && memcmp(x->p, y->p, y->len) == 0;
	return x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

static inline int
sc_val_eq(const struct sch_value *x, const struct sch_value *y)
{
	uint32_t i;

	if (x->kind != y->kind || x->inf != y->inf)
		return 0;
	switch (x->kind) {
	case SCH_NULL: case SCH_UNCHANGED: return 1;
	case SCH_BOOL: return x->u.b == y->u.b;
	case SCH_INT64: return x->u.i64 == y->u.i64;
	case SCH_UINT64: return x->u.u64 == y->u.u64;
	case SCH_DOUBLE: return memcmp(&x->u.f64, &y->u.f64, sizeof(double)) == 0;
	case SCH_BYTES:
		return x->u.bytes.len == y->u.bytes.len && (x->u.bytes.len == 0 ||
		    memcmp(x->u.bytes.p, y->u.bytes.p, x->u.bytes.len) == 0);
	case SCH_UUID: return memcmp(x->u.uuid, y->u.uuid, 16) == 0;
	case SCH_DATE: return x->u.date == y->u.date;
	case SCH_TIME: return x->u.time_us == y->u.time_us;
	case SCH_TIMETZ:
		return x->u.timetz.time_us == y->u.timetz.time_us &&
		    x->u.timetz.offset_s == y->u.timetz.offset_s;
	case SCH_TIMESTAMP: case SCH_TIMESTAMPTZ: return x->u.ts_us == y->u.ts_us;
	case SCH_INTERVAL:
		return x->u.interval.months == y->u.interval.months &&
		    x->u.interval.days == y->u.interval.days &&
		    x->u.interval.us == y->u.interval.us;
	case SCH_ARRAY:
		if (x->u.array.n != y->u.array.n ||
		    x->u.array.elem_oid != y->u.array.elem_oid)
			return 0;
		for (i = 0; i < x->u.array.n; i++)
			if (!sc_val_eq(&x->u.array.v[i], &y->u.array.v[i]))
				return 0;
		return 1;
	default:
		return sc_sstr_eq(&x->u.s, &y->u.s);
	}
}

/* NULL if 'x' and 'y' are equal field by field, else the first difference. */
static inline const char *
sc_event_diff(const struct sch_event *x, const struct sch_event *y)
{
	const struct sch_source *sx = &x->source, *sy = &y->source;
	uint32_t i, n;

	if (x->op != y->op) return "op";
	if (x->ts_ms != y->ts_ms) return "ts_ms";
	if ((x->table == NULL) != (y->table == NULL)) return "table presence";
	n = x->table != NULL ? x->table->n_columns : 0;
	if (x->table != NULL) {
		const struct sch_table *tx = x->table, *ty = y->table;

		if (tx->schema_id != ty->schema_id) return "schema_id";
		if (!sc_cstr_eq(tx->db, ty->db)) return "table db";
		if (!sc_cstr_eq(tx->schema, ty->schema)) return "table schema";
		if (!sc_cstr_eq(tx->name, ty->name)) return "table name";
		if (tx->n_columns != ty->n_columns) return "n_columns";
		for (i = 0; i < n; i++) {
			const struct sch_column *cx = &tx->columns[i], *cy = &ty->columns[i];

			if (!sc_cstr_eq(cx->name, cy->name)) return "column name";
			if (!sc_cstr_eq(cx->type_name, cy->type_name)) return "type_name";
			if (cx->type_oid != cy->type_oid || cx->typmod != cy->typmod ||
			    cx->is_key != cy->is_key || cx->nullable != cy->nullable)
				return "column scalars";
		}
	}
	if ((x->before == NULL) != (y->before == NULL)) return "before presence";
	if ((x->after == NULL) != (y->after == NULL)) return "after presence";
	for (i = 0; i < n; i++) {
		if (x->before != NULL && !sc_val_eq(&x->before[i], &y->before[i]))
			return "before value";
		if (x->after != NULL && !sc_val_eq(&x->after[i], &y->after[i]))
			return "after value";
	}
	if (!sc_cstr_eq(sx->connector, sy->connector) || !sc_cstr_eq(sx->name, sy->name) ||
	    !sc_cstr_eq(sx->db, sy->db) || !sc_cstr_eq(sx->schema, sy->schema) ||
	    !sc_cstr_eq(sx->table, sy->table) ||
	    !sc_cstr_eq(sx->binlog_file, sy->binlog_file) || !sc_cstr_eq(sx->gtid, sy->gtid))
		return "source string";
	if (sx->ts_ms != sy->ts_ms || sx->ts_us != sy->ts_us ||
	    sx->snapshot != sy->snapshot || sx->has != sy->has || sx->lsn != sy->lsn ||
	    sx->last_commit_lsn != sy->last_commit_lsn || sx->txid != sy->txid ||
	    sx->xmin != sy->xmin || sx->binlog_pos != sy->binlog_pos ||
	    sx->server_id != sy->server_id || sx->row != sy->row ||
	    sx->sequence != sy->sequence)
		return "source scalar";
	if (!sc_cstr_eq(x->tx.id, y->tx.id) || x->tx.total_order != y->tx.total_order ||
	    x->tx.data_collection_order != y->tx.data_collection_order)
		return "transaction";
	if ((x->message == NULL) != (y->message == NULL)) return "message presence";
	if (x->message != NULL) {
		const struct sch_message *mx = x->message, *my = y->message;

		if (!sc_cstr_eq(mx->prefix, my->prefix)) return "message prefix";
		if (mx->content.len != my->content.len || (mx->content.len > 0 &&
		    memcmp(mx->content.p, my->content.p, mx->content.len) != 0))
			return "message content";
		if (mx->transactional != my->transactional || mx->lsn != my->lsn)
			return "message scalars";
	}
	return NULL;
}

#endif /* SCH_COMPARE_H */
