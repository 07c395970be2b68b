/*
 * tests/fuzz/fuzz_pg_types.c: libFuzzer target for the schemas module:
 * PostgreSQL text parsing (schemas/pg_types.c) and protobuf event decoding
 * (schemas/encode_pb.c), with the encoders run on whatever decodes.
 *
 * Input layout: byte 0 picks the mode.
 *   mode 0 (even): bytes 1-2 pick a type oid from the list below (big-endian
 *     index, modulo its length); the rest is the text to parse.  When it
 *     parses, printing it back and parsing again must give an equal value
 *     (parse . print . parse == parse), and the JSON encoder must accept it.
 *   mode 1: the rest is a sluice.v1.Event; when it decodes, it must encode
 *     to protobuf and JSON, decode again and print every value.
 *   mode 2: the rest is tried as a Key, a TransactionEvent and a Heartbeat.
 * Any failure must be an error code with a message, never a crash.
 * Modes 1 and 2 are differential: Events and Keys are decoded by both the
 * direct decoders (schemas/decode_pb.c) and the protobuf-c references
 * (the *_ref functions); both must fail with the same code, or give results
 * equal field by field.  The one documented exception: the reference alone
 * may run out of its allocation budget.
 * Seeds: tests/fuzz/corpus/pg_types/ (docs/fuzzing.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemas/sch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t oids[] = {
	16, 17, 18, 19, 20, 21, 23, 25, 26, 28, 114, 142, 600, 650, 700, 701,
	774, 790, 829, 869, 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1266,
	1560, 1562, 1700, 2950, 3802, 3904, 5069, 1000, 1001, 1005, 1007, 1009,
	1016, 1021, 1022, 1115, 1182, 1183, 1185, 1187, 1231, 1270, 2951, 3807,
	1020, 1041, 1563, 791, 99999,
};

static void
must(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_pg_types: %s\n", what);
		abort();
	}
}

static void
fuzz_text(const uint8_t *p, size_t n, struct sl_arena *a)
{
	uint32_t oid;
	struct sch_value v, v2;
	struct sl_buf b = { 0 }, j = { 0 };
	struct sl_err err = { 0 };
	int rc;

	if (n < 2)
		return;
	oid = oids[((size_t)p[0] << 8 | p[1]) % SL_ARRAY_LEN(oids)];
	rc = sch_pg_parse(oid, -1, (const char *)p + 2, n - 2, a, &v, &err);
	if (rc != 0) {
		must(rc == SL_ECORRUPT && err.msg[0] != '\0', "parse error without message");
		return;
	}
	must(sch_value_to_pg_text(&v, oid, &b) == 0, "print failed");
	rc = sch_pg_parse(oid, -1, (const char *)b.p, b.len, a, &v2, &err);
	must(rc == 0, "printed text does not parse");
	must(sch_value_equal(&v, &v2), "parse(print(v)) != v");
	must(sch_value_encode_json(&v, oid, p[1] & 1 ? 3 : -1, NULL, &j) == 0,
	    "json failed");
	sl_buf_free(&b);
	sl_buf_free(&j);
}

/* ------------------------------------- direct vs protobuf-c decoders */

static int
cstr_eq(const char *x, const char *y)
{
	return x == NULL || y == NULL ? x == y : strcmp(x, y) == 0;
}

/* Field-by-field equality, strings NUL-terminated (sch.h (2)). */
static int
val_eq(const struct sch_value *x, const struct sch_value *y)
{
	uint32_t i;

	if (x->kind != y->kind || x->inf != y->inf)
		return 0;
	switch (x->kind) {
	case SCH_NULL: case SCH_UNCHANGED: return 1;
	case SCH_BOOL: return x->u.b == y->u.b;
	case SCH_INT64: case SCH_TIME: case SCH_TIMESTAMP: case SCH_TIMESTAMPTZ:
		return x->u.i64 == y->u.i64;
	case SCH_UINT64: return x->u.u64 == y->u.u64;
	case SCH_DOUBLE: return memcmp(&x->u.f64, &y->u.f64, sizeof(double)) == 0;
	case SCH_BYTES:
		return x->u.bytes.len == y->u.bytes.len && (x->u.bytes.len == 0 ||
		    memcmp(x->u.bytes.p, y->u.bytes.p, x->u.bytes.len) == 0);
	case SCH_UUID: return memcmp(x->u.uuid, y->u.uuid, 16) == 0;
	case SCH_DATE: return x->u.date == y->u.date;
	case SCH_TIMETZ:
		return x->u.timetz.time_us == y->u.timetz.time_us &&
		    x->u.timetz.offset_s == y->u.timetz.offset_s;
	case SCH_INTERVAL:
		return x->u.interval.months == y->u.interval.months &&
		    x->u.interval.days == y->u.interval.days &&
		    x->u.interval.us == y->u.interval.us;
	case SCH_ARRAY:
		if (x->u.array.n != y->u.array.n ||
		    x->u.array.elem_oid != y->u.array.elem_oid)
			return 0;
		for (i = 0; i < x->u.array.n; i++)
			if (!val_eq(&x->u.array.v[i], &y->u.array.v[i]))
				return 0;
		return 1;
	default:
		return x->u.s.len == y->u.s.len && x->u.s.p[x->u.s.len] == '\0' &&
		    y->u.s.p[y->u.s.len] == '\0' &&
		    memcmp(x->u.s.p, y->u.s.p, x->u.s.len) == 0;
	}
}

static void
must_equal_events(const struct sch_event *x, const struct sch_event *y)
{
	const struct sch_source *sx = &x->source, *sy = &y->source;
	uint32_t i, n = 0;

	must(x->op == y->op && x->ts_ms == y->ts_ms, "decoders differ: op, ts_ms");
	must((x->table == NULL) == (y->table == NULL), "decoders differ: table");
	if (x->table != NULL) {
		const struct sch_table *tx = x->table, *ty = y->table;

		n = tx->n_columns;
		must(tx->schema_id == ty->schema_id && cstr_eq(tx->db, ty->db) &&
		    cstr_eq(tx->schema, ty->schema) && cstr_eq(tx->name, ty->name) &&
		    tx->n_columns == ty->n_columns, "decoders differ: table fields");
		for (i = 0; i < n; i++) {
			const struct sch_column *cx = &tx->columns[i], *cy = &ty->columns[i];

			must(cstr_eq(cx->name, cy->name) &&
			    cstr_eq(cx->type_name, cy->type_name) &&
			    cx->type_oid == cy->type_oid && cx->typmod == cy->typmod &&
			    cx->is_key == cy->is_key && cx->nullable == cy->nullable,
			    "decoders differ: column");
		}
	}
	must((x->before == NULL) == (y->before == NULL) &&
	    (x->after == NULL) == (y->after == NULL), "decoders differ: images");
	for (i = 0; i < n; i++) {
		must(x->before == NULL || val_eq(&x->before[i], &y->before[i]),
		    "decoders differ: before value");
		must(x->after == NULL || val_eq(&x->after[i], &y->after[i]),
		    "decoders differ: after value");
	}
	must(cstr_eq(sx->connector, sy->connector) && cstr_eq(sx->name, sy->name) &&
	    cstr_eq(sx->db, sy->db) && cstr_eq(sx->schema, sy->schema) &&
	    cstr_eq(sx->table, sy->table) &&
	    cstr_eq(sx->binlog_file, sy->binlog_file) && cstr_eq(sx->gtid, sy->gtid),
	    "decoders differ: source string");
	must(sx->ts_ms == sy->ts_ms && sx->ts_us == sy->ts_us &&
	    sx->snapshot == sy->snapshot && sx->has == sy->has &&
	    sx->lsn == sy->lsn && sx->last_commit_lsn == sy->last_commit_lsn &&
	    sx->txid == sy->txid && sx->xmin == sy->xmin &&
	    sx->binlog_pos == sy->binlog_pos && sx->server_id == sy->server_id &&
	    sx->row == sy->row && sx->sequence == sy->sequence,
	    "decoders differ: source scalar");
	must(cstr_eq(x->tx.id, y->tx.id) && x->tx.total_order == y->tx.total_order &&
	    x->tx.data_collection_order == y->tx.data_collection_order,
	    "decoders differ: transaction");
	must((x->message == NULL) == (y->message == NULL), "decoders differ: message");
	if (x->message != NULL)
		must(cstr_eq(x->message->prefix, y->message->prefix) &&
		    x->message->content.len == y->message->content.len &&
		    (x->message->content.len == 0 || memcmp(x->message->content.p,
		    y->message->content.p, x->message->content.len) == 0) &&
		    x->message->transactional == y->message->transactional &&
		    x->message->lsn == y->message->lsn, "decoders differ: message fields");
}

/*
 * Both decoders' codes: equal, or the documented exception (the reference
 * alone out of its allocation budget, decode_pb.c's header).
 */
static int
both_ok(int rc, int rrc, const struct sl_err *rerr)
{
	if (rc != rrc)
		must(rc == 0 && strstr(rerr->msg, "bytes of memory") != NULL,
		    "decoders differ: one fails");
	return rc == 0 && rrc == 0;
}

static void
fuzz_event(const uint8_t *p, size_t n, struct sl_arena *a)
{
	struct sch_event ev, ev2, rev;
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 }, rerr = { 0 };
	uint32_t i;
	int rc, rrc;

	rc = sch_event_decode_pb(sl_slice_make(p, n), a, &ev, &err);
	rrc = sch_event_decode_pb_ref(sl_slice_make(p, n), a, &rev, &rerr);
	if (rrc != 0)
		must(rrc == SL_ECORRUPT && rerr.msg[0] != '\0',
		    "reference decode error without message");
	if (both_ok(rc, rrc, &rerr))
		must_equal_events(&ev, &rev);
	if (rc != 0) {
		must(rc == SL_ECORRUPT && err.msg[0] != '\0', "decode error without message");
		return;
	}
	must(sch_event_encode_pb(&ev, &b) == 0, "re-encode failed");
	rc = sch_event_decode_pb(sl_buf_slice(&b), a, &ev2, &err);
	must(rc == 0, "re-encoded event does not decode");
	must_equal_events(&ev, &ev2);
	sl_buf_reset(&b);
	(void)sch_event_encode_json(&ev, NULL, &b);
	sl_buf_reset(&b);
	(void)sch_key_encode_pb(&ev, &b);
	for (i = 0; ev.table != NULL && i < ev.table->n_columns; i++) {
		if (ev.after != NULL) {
			must(sch_value_equal(&ev.after[i], &ev2.after[i]), "value changed");
			sl_buf_reset(&b);
			(void)sch_value_to_pg_text(&ev.after[i],
			    ev.table->columns[i].type_oid, &b);
		}
	}
	sl_buf_free(&b);
}

static void
fuzz_other(const uint8_t *p, size_t n, struct sl_arena *a)
{
	const char **names;
	struct sch_value *vals;
	uint32_t k;
	struct sch_txevent tx;
	struct sch_heartbeat hb;
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 }, rerr = { 0 };
	const char **rnames;
	struct sch_value *rvals;
	uint32_t rk, i;
	int rc, rrc;

	rc = sch_key_decode_pb(sl_slice_make(p, n), a, &names, &vals, &k, &err);
	rrc = sch_key_decode_pb_ref(sl_slice_make(p, n), a, &rnames, &rvals, &rk, &rerr);
	if (rc == 0)
		must(names != NULL || k == 0, "key without names");
	if (both_ok(rc, rrc, &rerr)) {
		must(k == rk, "decoders differ: key columns");
		for (i = 0; i < k; i++)
			must(cstr_eq(names[i], rnames[i]) && val_eq(&vals[i], &rvals[i]),
			    "decoders differ: key column");
	}
	if (sch_txevent_decode_pb(sl_slice_make(p, n), a, &tx, &err) == 0) {
		(void)sch_txevent_encode_json(&tx, &b);
		(void)sch_txevent_encode_pb(&tx, &b);
	}
	if (sch_heartbeat_decode_pb(sl_slice_make(p, n), a, &hb, &err) == 0)
		(void)sch_heartbeat_encode_pb(&hb, &b);
	sl_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_arena a = { 0 };

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: fuzz_text(data + 1, size - 1, &a); break;
	case 1: fuzz_event(data + 1, size - 1, &a); break;
	default: fuzz_other(data + 1, size - 1, &a); break;
	}
	sl_arena_free(&a);
	return 0;
}
