/*
 * bench/encode.c: CPU per event of capture's two value formats.
 *
 *   encode [--events N]
 *
 * Encodes one change event shaped like bench/pg_capture.sh's rows (table
 * public.bench: id int8 key, v text of 32 characters, n int4, ts
 * timestamptz; source block, transaction block) N times (2,000,000) with
 * sch_event_encode_pb and with sch_event_encode_json (Debezium's envelope),
 * plus the key of each, into a reused buffer, and prints ns per event for
 * each and their ratio.  The protobuf encoder is the reference the JSON one
 * is held to: the same event, the same buffer, the same run.  A third run
 * encodes protobuf as capture does, the table encoded once beforehand
 * (sch_event_encode_pb_table).  Summary lines:
 *   bench encode_json: N ns/event (protobuf: M ns/event, ratio R)
 *   bench encode_pb_table: N ns/event (protobuf: M ns/event, ratio R)
 * It measures, it does not check: the encodings are tested in
 * tests/check_sch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sl.h"
#include "schemas/sch.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { PB, JSON, PB_TABLE };

/*
 * ns per event of encoding 'ev' (and its key) 'n' times: PB, JSON, or
 * PB_TABLE (protobuf with the table encoded once beforehand, as capture
 * does with sch_event_encode_pb_table).
 */
static double
run(const struct sch_event *ev, long n, int mode, size_t *len)
{
	struct sl_buf val = { 0 }, key = { 0 }, tab = { 0 };
	double t0, el;
	long i;
	int rc;

	if (mode == PB_TABLE)
		(void)sch_table_encode_pb(ev->table, &tab);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		sl_buf_reset(&val);
		sl_buf_reset(&key);
		if (mode == JSON)
			rc = sch_key_encode_json(ev, NULL, &key) != 0 ||
			    sch_event_encode_json(ev, NULL, &val) != 0;
		else if (mode == PB_TABLE)
			rc = sch_key_encode_pb(ev, &key) != 0 ||
			    sch_event_encode_pb_table(ev, sl_buf_slice(&tab), &val) != 0;
		else
			rc = sch_key_encode_pb(ev, &key) != 0 || sch_event_encode_pb(ev, &val) != 0;
		if (rc) {
			fprintf(stderr, "encode: the event did not encode\n");
			exit(1);
		}
	}
	el = now_s() - t0;
	*len = val.len + key.len;
	sl_buf_free(&val);
	sl_buf_free(&key);
	sl_buf_free(&tab);
	return el / (double)n * 1e9;
}

int
main(int argc, char **argv)
{
	struct sch_column cols[4] = {
		{ "id", 20, "int8", -1, 1, 0 }, { "v", 25, "text", -1, 0, 1 },
		{ "n", 23, "int4", -1, 0, 1 }, { "ts", 1184, "timestamptz", -1, 0, 1 } };
	struct sch_table t = { 7, "app", "public", "bench", cols, 4 };
	struct sch_value after[4];
	struct sch_event ev;
	long n = 2000000;
	double pb, js, pbt;
	size_t pb_len, js_len, pbt_len;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
			n = atol(argv[++i]);
		} else {
			fprintf(stderr, "usage: encode [--events N]\n");
			return 2;
		}
	}
	if (n <= 0) {
		fprintf(stderr, "encode: --events must be positive\n");
		return 2;
	}
	memset(after, 0, sizeof(after));
	after[0].kind = SCH_INT64;
	after[0].u.i64 = 123456;
	after[1] = sch_value_text("c4ca4238a0b923820dcc509a6f75849b", 32);
	after[2].kind = SCH_INT64;
	after[2].u.i64 = 42;
	after[3].kind = SCH_TIMESTAMPTZ;
	after[3].u.ts_us = INT64_C(1732800000123456);
	memset(&ev, 0, sizeof(ev));
	ev.op = SCH_OP_CREATE;
	ev.table = &t;
	ev.after = after;
	ev.source.connector = "postgresql";
	ev.source.name = "app";
	ev.source.db = "app";
	ev.source.schema = "public";
	ev.source.table = "bench";
	ev.source.ts_ms = INT64_C(1732800000123);
	ev.source.ts_us = INT64_C(1732800000123456);
	ev.source.has = SCH_SRC_LSN | SCH_SRC_LAST_COMMIT_LSN | SCH_SRC_TXID;
	ev.source.lsn = 0x1234567;
	ev.source.last_commit_lsn = 0x1234000;
	ev.source.txid = 789;
	ev.tx.id = "789:19088743";
	ev.tx.total_order = 5;
	ev.tx.data_collection_order = 5;
	ev.ts_ms = INT64_C(1732800000200);

	pb = run(&ev, n, PB, &pb_len);
	js = run(&ev, n, JSON, &js_len);
	pbt = run(&ev, n, PB_TABLE, &pbt_len);
	if (pbt_len != pb_len) {
		fprintf(stderr, "encode: %zu bytes with the table encoded beforehand, %zu without\n",
		    pbt_len, pb_len);
		return 1;
	}
	printf("encode: %ld events, protobuf %zu bytes (key and value), json %zu bytes\n",
	    n, pb_len, js_len);
	printf("  protobuf: %.0f ns/event\n  json:     %.0f ns/event\n"
	    "  protobuf, the table encoded once (capture): %.0f ns/event\n", pb, js, pbt);
	printf("bench encode_json: %.0f ns/event (protobuf: %.0f ns/event, ratio %.2f)\n",
	    js, pb, js / pb);
	printf("bench encode_pb_table: %.0f ns/event (protobuf: %.0f ns/event, ratio %.2f)\n",
	    pbt, pb, pbt / pb);
	return 0;
}
