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
 * is held to: the same event, the same buffer, the same run.  Summary line:
 *   bench encode_json: N ns/event (protobuf: M ns/event, ratio R)
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

/* ns per event of encoding 'ev' (and its key) 'n' times in 'fmt'. */
static double
run(const struct sch_event *ev, long n, int json, size_t *len)
{
	struct sl_buf val = { 0 }, key = { 0 };
	double t0 = now_s(), el;
	long i;

	for (i = 0; i < n; i++) {
		sl_buf_reset(&val);
		sl_buf_reset(&key);
		if (json ? sch_key_encode_json(ev, NULL, &key) != 0 ||
		    sch_event_encode_json(ev, NULL, &val) != 0 :
		    sch_key_encode_pb(ev, &key) != 0 || sch_event_encode_pb(ev, &val) != 0) {
			fprintf(stderr, "encode: the event did not encode\n");
			exit(1);
		}
	}
	el = now_s() - t0;
	*len = val.len + key.len;
	sl_buf_free(&val);
	sl_buf_free(&key);
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
	double pb, js;
	size_t pb_len, js_len;
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

	pb = run(&ev, n, 0, &pb_len);
	js = run(&ev, n, 1, &js_len);
	printf("encode: %ld events, protobuf %zu bytes (key and value), json %zu bytes\n",
	    n, pb_len, js_len);
	printf("  protobuf: %.0f ns/event\n  json:     %.0f ns/event\n", pb, js);
	printf("bench encode_json: %.0f ns/event (protobuf: %.0f ns/event, ratio %.2f)\n",
	    js, pb, js / pb);
	return 0;
}
