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
#include "tests/sch_compare.h"

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

static void
must_equal_events(const struct sch_event *x, const struct sch_event *y)
{
	const char *d = sc_event_diff(x, y);
	char what[96];

	if (d != NULL) {
		snprintf(what, sizeof(what), "decoders differ: %s", d);
		must(0, what);
	}
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
			must(sc_cstr_eq(names[i], rnames[i]) && sc_val_eq(&vals[i], &rvals[i]),
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
