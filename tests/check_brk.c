/*
 * tests/check_brk.c: the broker's codec, request decoding, topic registry
 * and connection handling.  Requests go through brk_dispatch() on a
 * detached connection of a broker opened without sockets in a fresh
 * mkdtemp folder; the frame tests run the real loop on a thread and talk to
 * it over TCP.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/thread.h>

#include "broker/brk_int.h"
#include "log/lg.h"

static char tmpdir[64];
static struct brk_config cfg;
static struct brk_broker *b;
static struct brk_conn *c;

static void
setup(void)
{
	struct sl_err err = { 0 };

	strcpy(tmpdir, "/tmp/check_brk-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	brk_config_default(&cfg);
	brk_config_set(&cfg.data_dir, tmpdir);
	brk_config_set(&cfg.http, NULL);
	brk_config_set(&cfg.listen, "127.0.0.1:0");
	ck_assert_msg(brk_open_ex(&cfg, 0, &b, &err) == 0, "%s", err.msg);
	c = brk_conn_detached(b);
}

static void
teardown(void)
{
	brk_conn_free(c);
	c = NULL;
	brk_close(b);
	b = NULL;
	brk_config_free(&cfg);
	sl_rm_rf(tmpdir);
}

static void
reopen(void)
{
	struct sl_err err = { 0 };

	brk_conn_free(c);
	ck_assert_int_eq(brk_close(b), 0);
	ck_assert_msg(brk_open_ex(&cfg, 0, &b, &err) == 0, "%s", err.msg);
	c = brk_conn_detached(b);
}

/* Start a request frame (no size prefix): header v1 with client id "t". */
static void
req_begin(struct sl_buf *q, int16_t api, int16_t ver)
{
	sl_buf_reset(q);
	brk_wr_i16(q, api);
	brk_wr_i16(q, ver);
	brk_wr_i32(q, 77);
	brk_wr_string(q, "t");
}

/* Dispatch 'q'; on BRK_DONE the reader 'r' walks the response body. */
static int
run(struct sl_buf *q, struct brk_rd *r)
{
	int rc = brk_dispatch(b, c, q->p, q->len);

	if (rc == BRK_DONE || c->replied)
		brk_rd_init(r, c->resp.b.p, c->resp.b.len);
	return rc;
}

static void
create_topic(const char *name, int32_t parts, const char *key, const char *value)
{
	struct sl_buf q = { 0 };
	struct brk_rd r;
	struct sl_slice s;

	req_begin(&q, API_CREATE_TOPICS, 2);
	brk_wr_i32(&q, 1);
	brk_wr_string(&q, name);
	brk_wr_i32(&q, parts);
	brk_wr_i16(&q, 1);
	brk_wr_i32(&q, 0);
	if (key != NULL) {
		brk_wr_i32(&q, 1);
		brk_wr_string(&q, key);
		brk_wr_string(&q, value);
	} else {
		brk_wr_i32(&q, 0);
	}
	brk_wr_i32(&q, 1000);
	brk_wr_i8(&q, 0);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "n"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	sl_buf_free(&q);
}

/* A batch of 'n' records with keys "k<i>" (or null keys). */
static void
make_batch(struct sl_buf *out, int n, int null_keys, enum lg_codec codec)
{
	struct lg_batch_builder bb;
	int i;

	lg_batch_builder_init(&bb, codec, 0);
	for (i = 0; i < n; i++) {
		char k[16], v[32];

		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "value-%d", i);
		lg_batch_builder_add(&bb, i, 1700000000000LL + i, null_keys ? NULL : k,
		    strlen(k), v, strlen(v), NULL, 0);
	}
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, out), 0);
	lg_batch_builder_free(&bb);
}

/* The body of a Produce v7 request of 'batch' to topic/partition. */
static void
produce_body(struct sl_buf *q, const char *topic, int32_t part, int16_t acks,
    int32_t timeout_ms, const struct sl_buf *batch)
{
	brk_wr_string(q, NULL);
	brk_wr_i16(q, acks);
	brk_wr_i32(q, timeout_ms);
	brk_wr_i32(q, 1);
	brk_wr_string(q, topic);
	brk_wr_i32(q, 1);
	brk_wr_i32(q, part);
	brk_wr_bytes(q, batch->p, batch->len);
}

/* Produce v7 of 'batch' to topic/partition; returns the partition error, '*base'. */
static int
produce(const char *topic, int32_t part, int16_t acks, const struct sl_buf *batch,
    int64_t *base, int *rc_out)
{
	struct sl_buf q = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int rc;
	int16_t error;

	req_begin(&q, API_PRODUCE, 7);
	produce_body(&q, topic, part, acks, 1000, batch);
	rc = run(&q, &r);
	*rc_out = rc;
	if (rc == BRK_DEFER) {
		ck_assert_int_eq(c->replied, 0);
		ck_assert_int_eq(b->commit_scheduled, 1);	/* even for a duplicate */
		brk_commit_now(b);
		ck_assert_int_eq(c->replied, 1);
		brk_rd_init(&r, c->resp.b.p, c->resp.b.len);
	}
	if (rc == BRK_NORESP) {
		sl_buf_free(&q);
		return 0;
	}
	ck_assert_int_eq(brk_rd_i32(&r, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i32(&r, "parts"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "index"), part);
	error = brk_rd_i16(&r, "error");
	*base = brk_rd_i64(&r, "base");
	brk_rd_i64(&r, "append time");
	brk_rd_i64(&r, "log start");
	brk_rd_i32(&r, "throttle");
	ck_assert(brk_rd_ok(&r));
	ck_assert_int_eq(brk_rd_left(&r), 0);
	sl_buf_free(&q);
	return error;
}

START_TEST(writers_and_readers_round_trip_every_type)
{
	struct sl_buf w = { 0 };
	struct brk_rd r;
	struct sl_slice s;

	brk_wr_i8(&w, -5);
	brk_wr_i16(&w, -12345);
	brk_wr_i32(&w, -123456789);
	brk_wr_i64(&w, -1234567890123LL);
	brk_wr_string(&w, "hello");
	brk_wr_string(&w, NULL);
	brk_wr_bytes(&w, "\0\1\2", 3);
	brk_wr_bytes(&w, NULL, 0);
	brk_wr_i32(&w, -1);
	brk_rd_init(&r, w.p, w.len);
	ck_assert_int_eq(brk_rd_i8(&r, "a"), -5);
	ck_assert_int_eq(brk_rd_i16(&r, "b"), -12345);
	ck_assert_int_eq(brk_rd_i32(&r, "c"), -123456789);
	ck_assert(brk_rd_i64(&r, "d") == -1234567890123LL);
	ck_assert_int_eq(brk_rd_string(&r, &s, "e"), 0);
	ck_assert_int_eq(s.len, 5);
	ck_assert(memcmp(s.p, "hello", 5) == 0);
	ck_assert_int_eq(brk_rd_string(&r, &s, "f"), 1);
	ck_assert_ptr_null(s.p);
	ck_assert_int_eq(brk_rd_bytes(&r, &s, "g"), 0);
	ck_assert_int_eq(s.len, 3);
	ck_assert_int_eq(brk_rd_bytes(&r, &s, "h"), 1);
	{
		int is_null = 0;

		ck_assert_int_eq(brk_rd_array(&r, 4, &is_null, "i"), 0);
		ck_assert_int_eq(is_null, 1);
	}
	ck_assert(brk_rd_ok(&r));
	ck_assert_int_eq(brk_rd_left(&r), 0);
	sl_buf_free(&w);
}
END_TEST

START_TEST(a_reader_stops_at_its_end_and_stays_failed)
{
	uint8_t p[] = { 0x00, 0x10, 'a', 'b', 0x00, 0x00, 0x00, 0x07 };
	struct brk_rd r;
	struct sl_slice s;

	brk_rd_init(&r, p, sizeof(p));
	ck_assert_int_eq(brk_rd_string(&r, &s, "name"), -1);	/* 16 bytes claimed, 6 left */
	ck_assert(!brk_rd_ok(&r));
	ck_assert_int_eq(r.err, SL_ETRUNC);
	ck_assert_str_eq(r.what, "name");
	ck_assert_int_eq(brk_rd_i32(&r, "later"), 0);	/* stays failed */
	ck_assert_str_eq(r.what, "name");
	ck_assert_int_eq(brk_rd_left(&r), sizeof(p) - 2);

	p[0] = 0xff;
	p[1] = 0xfe;	/* length -2 */
	brk_rd_init(&r, p, sizeof(p));
	ck_assert_int_eq(brk_rd_string(&r, &s, "neg"), -1);
	ck_assert_int_eq(r.err, SL_ECORRUPT);
}
END_TEST

START_TEST(array_counts_are_checked_against_the_bytes_left)
{
	uint8_t big[] = { 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
	uint8_t neg[] = { 0x80, 0x00, 0x00, 0x00 };
	uint8_t ok[] = { 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2 };
	struct brk_rd r;

	brk_rd_init(&r, big, sizeof(big));
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "big"), 0);
	ck_assert(!brk_rd_ok(&r));
	brk_rd_init(&r, neg, sizeof(neg));
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "neg"), 0);
	ck_assert_int_eq(r.err, SL_ECORRUPT);
	brk_rd_init(&r, ok, sizeof(ok));
	ck_assert_int_eq(brk_rd_array(&r, 4, NULL, "ok"), 2);
	ck_assert(brk_rd_ok(&r));
	brk_rd_init(&r, ok, sizeof(ok));
	ck_assert_int_eq(brk_rd_array(&r, 5, NULL, "ok but too big"), 0);
	ck_assert(!brk_rd_ok(&r));
}
END_TEST

START_TEST(a_truncated_request_header_is_an_error)
{
	uint8_t h[] = { 0x00, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x09, 'x' };
	struct brk_req_hdr hdr;
	struct brk_rd r;
	size_t n;

	for (n = 0; n < sizeof(h); n++) {
		brk_rd_init(&r, h, n);
		ck_assert_int_ne(brk_req_hdr_decode(&r, &hdr), 0);
	}
	h[9] = 1;	/* client id of 1 byte: now complete */
	brk_rd_init(&r, h, sizeof(h));
	ck_assert_int_eq(brk_req_hdr_decode(&r, &hdr), 0);
	ck_assert_int_eq(hdr.api_key, API_API_VERSIONS);
	ck_assert_int_eq(hdr.api_version, 2);
	ck_assert_int_eq(hdr.correlation_id, 1);
	ck_assert_int_eq(hdr.client_id.len, 1);
}
END_TEST

START_TEST(api_versions_advertises_produce_0_to_7_and_answers_v3_in_v0_layout)
{
	struct sl_buf q = { 0 };
	struct brk_rd r;
	int32_t n, i;
	int found = 0;

	req_begin(&q, API_API_VERSIONS, 2);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	n = brk_rd_array(&r, 6, NULL, "keys");
	for (i = 0; i < n; i++) {
		int16_t k = brk_rd_i16(&r, "k"), lo = brk_rd_i16(&r, "lo"), hi = brk_rd_i16(&r, "hi");

		if (k == API_PRODUCE) {
			ck_assert_int_eq(lo, 0);
			ck_assert_int_eq(hi, 7);
			found++;
		}
		if (k == API_FETCH) {
			ck_assert_int_eq(lo, 4);
			ck_assert_int_eq(hi, 11);
			found++;
		}
	}
	ck_assert_int_eq(found, 2);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_left(&r), 0);

	req_begin(&q, API_API_VERSIONS, 3);
	sl_buf_add(&q, "\x00\x00", 2);	/* a flexible body we do not parse */
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_UNSUPPORTED_VERSION);
	ck_assert_int_gt(brk_rd_array(&r, 6, NULL, "keys"), 10);
	sl_buf_free(&q);
}
END_TEST

START_TEST(unknown_apis_and_versions_get_unsupported_version)
{
	struct sl_buf q = { 0 };
	struct brk_rd r;

	req_begin(&q, 42, 0);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_UNSUPPORTED_VERSION);
	req_begin(&q, API_FETCH, 3);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_UNSUPPORTED_VERSION);
	sl_buf_free(&q);
}
END_TEST

START_TEST(topic_config_survives_a_restart)
{
	struct brk_topic *t;

	create_topic("orders", 3, "cleanup.policy", "compact");
	t = brk_topic_find(b, "orders", 6);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->conf.partitions, 3);
	ck_assert_int_eq(t->conf.opts.compact, 1);
	reopen();
	t = brk_topic_find(b, "orders", 6);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->conf.partitions, 3);
	ck_assert_int_eq(t->conf.opts.compact, 1);
	ck_assert_ptr_null(brk_topic_find(b, "order", 5));
}
END_TEST

START_TEST(a_topic_config_file_with_an_unknown_key_is_refused)
{
	struct brk_topic_conf tc;
	struct sl_err err = { 0 };
	const char *text = "partitions=2\nretention.ms=5\nbogus=1\n";

	brk_topic_conf_default(b, &tc);
	ck_assert_int_eq(brk_topic_conf_parse(&tc, "x.conf",
	    sl_slice_make(text, strlen(text)), &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "x.conf:3"));
	text = "partitions=2\nretention.ms=5\nmessage.timestamp.type=LogAppendTime\n";
	ck_assert_int_eq(brk_topic_conf_parse(&tc, "x.conf",
	    sl_slice_make(text, strlen(text)), &err), 0);
	ck_assert_int_eq(tc.partitions, 2);
	ck_assert_int_eq(tc.opts.retention_ms, 5);
	ck_assert_int_eq(tc.opts.log_append_time, 1);
}
END_TEST

START_TEST(create_topics_reports_existing_and_illegal_names)
{
	struct sl_buf q = { 0 };
	struct brk_rd r;
	struct sl_slice s;

	create_topic("a", 1, NULL, NULL);
	req_begin(&q, API_CREATE_TOPICS, 1);
	brk_wr_i32(&q, 3);
	brk_wr_string(&q, "a");
	brk_wr_i32(&q, 1); brk_wr_i16(&q, 1); brk_wr_i32(&q, 0); brk_wr_i32(&q, 0);
	brk_wr_string(&q, "bad/name");
	brk_wr_i32(&q, 1); brk_wr_i16(&q, 1); brk_wr_i32(&q, 0); brk_wr_i32(&q, 0);
	brk_wr_string(&q, "c");
	brk_wr_i32(&q, 1); brk_wr_i16(&q, 1); brk_wr_i32(&q, 0);
	brk_wr_i32(&q, 1); brk_wr_string(&q, "no.such.config"); brk_wr_string(&q, "1");
	brk_wr_i32(&q, 1000);
	brk_wr_i8(&q, 0);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i32(&r, "n"), 3);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i16(&r, "e"), KERR_TOPIC_ALREADY_EXISTS);
	brk_rd_string(&r, &s, "msg");
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i16(&r, "e"), KERR_INVALID_TOPIC_EXCEPTION);
	brk_rd_string(&r, &s, "msg");
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i16(&r, "e"), KERR_INVALID_CONFIG);
	ck_assert_ptr_null(brk_topic_find(b, "c", 1));
	sl_buf_free(&q);
}
END_TEST

START_TEST(produce_then_fetch_serves_the_batch_after_the_commit)
{
	struct sl_buf batch = { 0 }, q = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int64_t base = -1;
	int rc;

	create_topic("ev", 2, NULL, NULL);
	make_batch(&batch, 10, 0, LG_CODEC_NONE);
	ck_assert_int_eq(produce("ev", 1, -1, &batch, &base, &rc), 0);
	ck_assert_int_eq(rc, BRK_DEFER);	/* acks=all waits for the sync */
	ck_assert_int_eq(base, 0);
	sl_buf_reset(&batch);
	make_batch(&batch, 5, 0, LG_CODEC_GZIP);
	ck_assert_int_eq(produce("ev", 1, 1, &batch, &base, &rc), 0);
	ck_assert_int_eq(rc, BRK_DONE);
	ck_assert_int_eq(base, 10);
	ck_assert_int_eq(lg_partition_synced_end(brk_part_find(b, "ev", 2, 1)->lg), 10);
	brk_commit_now(b);
	ck_assert_int_eq(produce("nope", 0, 1, &batch, &base, &rc),
	    KERR_UNKNOWN_TOPIC_OR_PARTITION);
	ck_assert_int_eq(produce("ev", 2, 1, &batch, &base, &rc),
	    KERR_UNKNOWN_TOPIC_OR_PARTITION);

	req_begin(&q, API_FETCH, 11);
	brk_wr_i32(&q, -1); brk_wr_i32(&q, 0); brk_wr_i32(&q, 1); brk_wr_i32(&q, 1 << 20);
	brk_wr_i8(&q, 0); brk_wr_i32(&q, 0); brk_wr_i32(&q, -1);
	brk_wr_i32(&q, 1);
	brk_wr_string(&q, "ev");
	brk_wr_i32(&q, 1);
	brk_wr_i32(&q, 1); brk_wr_i32(&q, 0); brk_wr_i64(&q, 0); brk_wr_i64(&q, -1);
	brk_wr_i32(&q, 1 << 20);
	brk_wr_i32(&q, 0);
	brk_wr_string(&q, "");
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "session"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i32(&r, "parts"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "index"), 1);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	ck_assert_int_eq(brk_rd_i64(&r, "hw"), 15);
	ck_assert_int_eq(brk_rd_i64(&r, "lso"), 15);
	ck_assert_int_eq(brk_rd_i64(&r, "start"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "aborted"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "replica"), -1);
	ck_assert_int_gt(brk_rd_i32(&r, "records len"), (int)batch.len);
	ck_assert_int_eq(brk_rd_left(&r), 0);	/* the records are a file piece */
	ck_assert_int_eq(c->resp.n_files, 1);
	ck_assert_int_eq(c->resp.files[0].range.first_offset, 0);
	brk_resp_reset(&c->resp);
	sl_buf_free(&q);
	sl_buf_free(&batch);
}
END_TEST

START_TEST(a_fetch_past_the_durable_end_is_out_of_range)
{
	struct sl_buf batch = { 0 }, q = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int64_t base;
	int rc;

	create_topic("ev", 1, NULL, NULL);
	make_batch(&batch, 3, 0, LG_CODEC_NONE);
	produce("ev", 0, 1, &batch, &base, &rc);	/* appended, not yet synced */
	req_begin(&q, API_FETCH, 4);
	brk_wr_i32(&q, -1); brk_wr_i32(&q, 0); brk_wr_i32(&q, 1); brk_wr_i32(&q, 1 << 20);
	brk_wr_i8(&q, 0);
	brk_wr_i32(&q, 1);
	brk_wr_string(&q, "ev");
	brk_wr_i32(&q, 1);
	brk_wr_i32(&q, 0); brk_wr_i64(&q, 2); brk_wr_i32(&q, 1 << 20);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	brk_rd_i32(&r, "throttle");
	brk_rd_i32(&r, "topics");
	brk_rd_string(&r, &s, "name");
	brk_rd_i32(&r, "parts");
	brk_rd_i32(&r, "index");
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_OFFSET_OUT_OF_RANGE);
	ck_assert_int_eq(brk_rd_i64(&r, "hw"), 0);	/* nothing durable yet */
	sl_buf_free(&q);
	sl_buf_free(&batch);
}
END_TEST

START_TEST(compacted_topics_refuse_null_keys_and_corrupt_batches_are_refused)
{
	struct sl_buf batch = { 0 };
	int64_t base;
	int rc;

	create_topic("kv", 1, "cleanup.policy", "compact");
	make_batch(&batch, 3, 1, LG_CODEC_NONE);
	ck_assert_int_eq(produce("kv", 0, 1, &batch, &base, &rc), KERR_INVALID_RECORD);
	sl_buf_reset(&batch);
	make_batch(&batch, 3, 0, LG_CODEC_NONE);
	ck_assert_int_eq(produce("kv", 0, 1, &batch, &base, &rc), 0);
	batch.p[batch.len - 1] ^= 0x40;	/* break the CRC */
	ck_assert_int_eq(produce("kv", 0, 1, &batch, &base, &rc), KERR_CORRUPT_MESSAGE);
	batch.p[batch.len - 1] ^= 0x40;
	batch.len -= 3;	/* shorter than its length field */
	ck_assert_int_eq(produce("kv", 0, 1, &batch, &base, &rc), KERR_CORRUPT_MESSAGE);
	sl_buf_free(&batch);
}
END_TEST

START_TEST(producer_ids_never_repeat_across_restarts)
{
	int64_t first, second;

	ck_assert_int_eq(brk_pid_alloc(b, &first, NULL), 0);
	reopen();
	ck_assert_int_eq(brk_pid_alloc(b, &second, NULL), 0);
	ck_assert_int_gt(second, first);
}
END_TEST

START_TEST(idempotent_retries_get_the_original_offset)
{
	struct sl_buf batch = { 0 };
	struct lg_batch_builder bb;
	int64_t base, pid;
	int rc;

	create_topic("idem", 1, NULL, NULL);
	ck_assert_int_eq(brk_pid_alloc(b, &pid, NULL), 0);
	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	bb.producer_id = pid;
	bb.producer_epoch = 0;
	bb.base_sequence = 0;
	lg_batch_builder_add(&bb, 0, 1, "k", 1, "v", 1, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &batch), 0);
	lg_batch_builder_free(&bb);
	ck_assert_int_eq(produce("idem", 0, -1, &batch, &base, &rc), 0);
	ck_assert_int_eq(base, 0);
	ck_assert_int_eq(produce("idem", 0, -1, &batch, &base, &rc), 0);	/* retry */
	ck_assert_int_eq(base, 0);
	ck_assert_int_eq(lg_partition_end(brk_part_find(b, "idem", 4, 0)->lg), 1);
	sl_buf_free(&batch);
}
END_TEST

START_TEST(metadata_names_unknown_topics_and_lists_all)
{
	struct sl_buf q = { 0 };
	struct brk_rd r;
	struct sl_slice s;

	create_topic("m1", 2, NULL, NULL);
	req_begin(&q, API_METADATA, 7);
	brk_wr_i32(&q, 2);
	brk_wr_string(&q, "m1");
	brk_wr_string(&q, "zz");
	brk_wr_i8(&q, 1);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	brk_rd_i32(&r, "throttle");
	ck_assert_int_eq(brk_rd_i32(&r, "brokers"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "node"), 0);
	brk_rd_string(&r, &s, "host");
	brk_rd_i32(&r, "port");
	brk_rd_string(&r, &s, "rack");
	brk_rd_string(&r, &s, "cluster");
	ck_assert_int_eq(brk_rd_i32(&r, "controller"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "topics"), 2);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	brk_rd_string(&r, &s, "name");
	brk_rd_i8(&r, "internal");
	ck_assert_int_eq(brk_rd_i32(&r, "parts"), 2);
	r.p += 2 * (2 + 4 + 4 + 4 + 8 + 8 + 4);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_UNKNOWN_TOPIC_OR_PARTITION);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(s.len, 2);
	brk_rd_i8(&r, "internal");
	ck_assert_int_eq(brk_rd_i32(&r, "parts"), 0);
	ck_assert(brk_rd_ok(&r));
	ck_assert_int_eq(brk_rd_left(&r), 0);
	sl_buf_free(&q);
}
END_TEST

START_TEST(truncated_bodies_of_every_api_are_refused_without_crashing)
{
	static const int16_t apis[][2] = {
		{ API_PRODUCE, 7 }, { API_FETCH, 11 }, { API_FETCH, 4 },
		{ API_LIST_OFFSETS, 5 }, { API_METADATA, 7 }, { API_CREATE_TOPICS, 4 },
		{ API_DELETE_TOPICS, 3 }, { API_DELETE_RECORDS, 1 },
		{ API_INIT_PRODUCER_ID, 1 }, { API_OFFSET_FOR_LEADER_EPOCH, 3 },
	};
	struct sl_buf q = { 0 };
	struct brk_rd r;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(apis); i++) {
		req_begin(&q, apis[i][0], apis[i][1]);
		brk_wr_i32(&q, 0x7fffffff);	/* a count no body can hold */
		ck_assert_msg(run(&q, &r) < 0, "api %d", apis[i][0]);
		brk_resp_reset(&c->resp);
	}
	sl_buf_free(&q);
}
END_TEST

START_TEST(produce_v2_is_refused_per_partition_and_log_append_time_is_reported)
{
	struct sl_buf batch = { 0 }, q = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int64_t t0 = sl_now_ms();

	create_topic("lat", 1, "message.timestamp.type", "LogAppendTime");
	make_batch(&batch, 2, 0, LG_CODEC_NONE);
	req_begin(&q, API_PRODUCE, 2);
	brk_wr_i16(&q, 1);
	brk_wr_i32(&q, 1000);
	brk_wr_i32(&q, 1);
	brk_wr_string(&q, "lat");
	brk_wr_i32(&q, 1);
	brk_wr_i32(&q, 0);
	brk_wr_bytes(&q, batch.p, batch.len);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	ck_assert_int_eq(brk_rd_i32(&r, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_i32(&r, "parts"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "index"), 0);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_UNSUPPORTED_VERSION);
	brk_rd_i64(&r, "base");
	brk_rd_i64(&r, "append time");
	brk_rd_i32(&r, "throttle");
	ck_assert_int_eq(brk_rd_left(&r), 0);

	req_begin(&q, API_PRODUCE, 5);
	brk_wr_string(&q, NULL);
	brk_wr_i16(&q, 1);
	brk_wr_i32(&q, 1000);
	brk_wr_i32(&q, 1);
	brk_wr_string(&q, "lat");
	brk_wr_i32(&q, 1);
	brk_wr_i32(&q, 0);
	brk_wr_bytes(&q, batch.p, batch.len);
	ck_assert_int_eq(run(&q, &r), BRK_DONE);
	brk_rd_i32(&r, "topics");
	brk_rd_string(&r, &s, "name");
	brk_rd_i32(&r, "parts");
	brk_rd_i32(&r, "index");
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	ck_assert_int_eq(brk_rd_i64(&r, "base"), 0);
	ck_assert_int_ge(brk_rd_i64(&r, "append time"), t0);
	ck_assert_int_eq(brk_rd_i64(&r, "log start"), 0);
	sl_buf_free(&q);
	sl_buf_free(&batch);
}
END_TEST

/* ----------------------------------------------------- over a real socket */

static void *
loop_main(void *arg)
{
	brk_run(arg);
	return NULL;
}

static int
connect_to(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* 1 when the peer closed 'fd' within a second. */
static int
closed_by_peer(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char tmp[256];

	while (poll(&pfd, 1, 1000) == 1) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n <= 0)
			return 1;
	}
	return 0;
}

START_TEST(bad_frame_sizes_close_only_that_connection)
{
	struct brk_broker *sb;
	struct sl_err err = { 0 };
	pthread_t th;
	uint8_t neg[4] = { 0xff, 0xff, 0xff, 0xf0 }, huge[4] = { 0x7f, 0, 0, 0 };
	uint8_t av[14] = { 0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 9, 0xff, 0xff };
	uint8_t resp[8];
	int fd1, fd2, fd3;

	evthread_use_pthreads();
	brk_conn_free(c);
	c = NULL;
	brk_close(b);
	b = NULL;
	brk_config_set(&cfg.listen, "127.0.0.1:0");
	ck_assert_msg(brk_open_ex(&cfg, 1, &sb, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(brk_port(sb), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, loop_main, sb), 0);
	fd1 = connect_to(brk_port(sb));
	fd2 = connect_to(brk_port(sb));
	fd3 = connect_to(brk_port(sb));
	ck_assert_int_eq(write(fd1, neg, 4), 4);
	ck_assert_int_eq(write(fd2, huge, 4), 4);
	ck_assert(closed_by_peer(fd1));
	ck_assert(closed_by_peer(fd2));
	/* The third still gets an ApiVersions v0 answer. */
	ck_assert_int_eq(write(fd3, av, sizeof(av)), (ssize_t)sizeof(av));
	ck_assert_int_eq(read(fd3, resp, 8), 8);
	ck_assert_int_eq((int32_t)sl_get_be32(resp + 4), 9);
	close(fd1);
	close(fd2);
	close(fd3);
	brk_stop(sb);
	pthread_join(th, NULL);
	ck_assert_int_eq(brk_close(sb), 0);
	b = NULL;
	ck_assert_int_eq(brk_open_ex(&cfg, 0, &b, &err), 0);
	c = brk_conn_detached(b);
}
END_TEST

/* Append one size-prefixed request frame: header v1, client id "t". */
static void
frame_add(struct sl_buf *out, int16_t api, int16_t ver, int32_t corr,
    const struct sl_buf *body)
{
	struct sl_buf f = { 0 };

	brk_wr_i16(&f, api);
	brk_wr_i16(&f, ver);
	brk_wr_i32(&f, corr);
	brk_wr_string(&f, "t");
	if (body != NULL)
		sl_buf_add(&f, body->p, body->len);
	brk_wr_i32(out, (int32_t)f.len);
	sl_buf_add(out, f.p, f.len);
	sl_buf_free(&f);
}

struct pipe_writer {
	int fd;
	const struct sl_buf *all;
	int ok;
};

static void *
pipe_writer_main(void *arg)
{
	struct pipe_writer *w = arg;
	size_t done = 0;

	while (done < w->all->len) {
		ssize_t n = write(w->fd, w->all->p + done, w->all->len - done);

		if (n <= 0)
			return NULL;
		done += (size_t)n;
	}
	w->ok = 1;
	return NULL;
}

/* Read one response frame into 'body'; returns its correlation id. */
static int32_t
frame_read(int fd, struct sl_buf *body)
{
	uint8_t hdr[8];
	size_t got = 0, size;

	while (got < sizeof(hdr)) {
		ssize_t n = read(fd, hdr + got, sizeof(hdr) - got);

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	size = sl_get_be32(hdr) - 4;
	sl_buf_reset(body);
	sl_buf_reserve(body, size);
	for (got = 0; got < size; ) {
		ssize_t n = read(fd, body->p + got, size - got);

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	body->len = size;
	return (int32_t)sl_get_be32(hdr + 4);
}

/*
 * One connection writes 40 acks=all produce requests in one go (more than
 * the 16 slots: the rest wait decoded by nobody until commits answer the
 * first ones, and no more bytes arrive to wake the broker), then 3000
 * ApiVersions requests whose answers overflow the socket while the client
 * does not read for a while.  Every request is answered,
 * in order: the paths where the broker writes directly, where it leaves
 * the rest to libevent, and where it resumes decoding after the slots or
 * the output drained.
 */
/*
 * Swap the fixture's broker for one on 'cfg' that serves its port, with a
 * committer, on a loop thread of its own.
 */
static struct brk_broker *
serving_open(pthread_t *th)
{
	struct brk_broker *sb;
	struct sl_err err = { 0 };

	evthread_use_pthreads();
	brk_conn_free(c);
	c = NULL;
	brk_close(b);
	b = NULL;
	ck_assert_msg(brk_open_ex(&cfg, 1, &sb, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pthread_create(th, NULL, loop_main, sb), 0);
	return sb;
}

/*
 * Stop what serving_open started and give the fixture its broker back;
 * '*delays' (if not NULL): the served broker's commit delays, read once
 * its loop has stopped.
 */
static void
serving_close(struct brk_broker *sb, pthread_t th, uint64_t *delays)
{
	struct sl_err err = { 0 };

	brk_stop(sb);
	pthread_join(th, NULL);
	if (delays != NULL)
		*delays = sb->m.commit_delays;
	ck_assert_int_eq(brk_close(sb), 0);
	ck_assert_int_eq(brk_open_ex(&cfg, 0, &b, &err), 0);
	c = brk_conn_detached(b);
}

/* Append a Produce v7 frame (acks=all) of 'batch' to topic/partition. */
static void
produce_frame_add(struct sl_buf *all, const char *topic, int32_t partition,
    const struct sl_buf *batch, int32_t corr)
{
	struct sl_buf q = { 0 };

	produce_body(&q, topic, partition, -1, 10000, batch);
	frame_add(all, API_PRODUCE, 7, corr, &q);
	sl_buf_free(&q);
}

START_TEST(pipelined_requests_past_the_slots_and_a_slow_reader_get_every_answer)
{
	struct brk_broker *sb;
	struct sl_buf all = { 0 }, body = { 0 }, batch = { 0 };
	struct pipe_writer w = { 0 };
	struct timespec nap = { 0, 300 * 1000000L };
	pthread_t th, wt;
	struct brk_rd r;
	struct sl_slice s;
	int i, fd;

	create_topic("pipe", 1, NULL, NULL);
	sb = serving_open(&th);
	make_batch(&batch, 50, 0, LG_CODEC_NONE);
	for (i = 0; i < 40; i++)
		produce_frame_add(&all, "pipe", 0, &batch, 1 + i);
	/* all 40 in one write, nothing after: only the broker can resume */
	fd = connect_to(brk_port(sb));
	w.fd = fd;
	w.all = &all;
	pipe_writer_main(&w);
	ck_assert_int_eq(w.ok, 1);
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(frame_read(fd, &body), 1 + i);
		brk_rd_init(&r, body.p, body.len);
		ck_assert_int_eq(brk_rd_i32(&r, "topics"), 1);
		brk_rd_string(&r, &s, "name");
		ck_assert_int_eq(brk_rd_i32(&r, "parts"), 1);
		ck_assert_int_eq(brk_rd_i32(&r, "index"), 0);
		ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
		ck_assert_int_eq(brk_rd_i64(&r, "base"), (int64_t)i * 50);
	}
	sl_buf_reset(&all);
	for (i = 0; i < 3000; i++)
		frame_add(&all, API_API_VERSIONS, 0, 1000 + i, NULL);
	w.ok = 0;
	ck_assert_int_eq(pthread_create(&wt, NULL, pipe_writer_main, &w), 0);
	nanosleep(&nap, NULL);	/* let the answers pile up unread */
	for (i = 0; i < 3000; i++) {
		ck_assert_int_eq(frame_read(fd, &body), 1000 + i);
		brk_rd_init(&r, body.p, body.len);
		ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	}
	pthread_join(wt, NULL);
	ck_assert_int_eq(w.ok, 1);
	close(fd);
	sl_buf_free(&all);
	sl_buf_free(&body);
	sl_buf_free(&batch);
	serving_close(sb, th, NULL);
}
END_TEST

/*
 * Send 'n' produce requests of 'batch' to partitions 0..parts-1 of 'topic'
 * in turn, all at once ('pipelined') or each after the answer to the one
 * before, and check every answer (no error, base offsets in order).
 */
static void
produce_round_robin(int port, const char *topic, int parts, const struct sl_buf *batch,
    int records, int n, int pipelined)
{
	struct sl_buf all = { 0 }, body = { 0 };
	struct pipe_writer w = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int i, j, fd = connect_to(port);

	w.fd = fd;
	w.all = &all;
	for (i = 0; i < n; i++) {
		produce_frame_add(&all, topic, i % parts, batch, 1 + i);
		if (pipelined && i + 1 < n)
			continue;
		pipe_writer_main(&w);
		ck_assert_int_eq(w.ok, 1);
		sl_buf_reset(&all);
		for (j = pipelined ? 0 : i; j <= i; j++) {
			ck_assert_int_eq(frame_read(fd, &body), 1 + j);
			brk_rd_init(&r, body.p, body.len);
			ck_assert_int_eq(brk_rd_i32(&r, "topics"), 1);
			brk_rd_string(&r, &s, "name");
			ck_assert_int_eq(brk_rd_i32(&r, "parts"), 1);
			ck_assert_int_eq(brk_rd_i32(&r, "index"), j % parts);
			ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
			ck_assert_int_eq(brk_rd_i64(&r, "base"), (int64_t)(j / parts) * records);
		}
	}
	close(fd);
	sl_buf_free(&all);
	sl_buf_free(&body);
}

/* Run a broker with a committer on 'cfg', send as produce_round_robin; its commit delays. */
static uint64_t
commit_delays_after(const char *topic, int records, int n, int pipelined)
{
	struct brk_broker *sb;
	struct sl_buf batch = { 0 };
	pthread_t th;
	uint64_t delays;

	create_topic(topic, 4, NULL, NULL);
	sb = serving_open(&th);
	make_batch(&batch, records, 0, LG_CODEC_NONE);
	produce_round_robin(brk_port(sb), topic, 4, &batch, records, n, pipelined);
	serving_close(sb, th, &delays);
	sl_buf_free(&batch);
	return delays;
}

START_TEST(the_commit_delay_applies_under_pipelined_load_only)
{
	uint64_t d;

	/* one request at a time, each answered before the next: never delayed */
	d = commit_delays_after("trickle", 300, 12, 0);
	ck_assert_msg(d == 0, "%llu rounds delayed under a trickle", (unsigned long long)d);
	/* forty pipelined requests of ~9 KiB over four partitions: delayed rounds */
	d = commit_delays_after("bulk", 300, 40, 1);
	ck_assert_msg(d > 0, "no round delayed under pipelined load");
	/* commit_delay_us = 0 turns it off */
	cfg.commit_delay_us = 0;
	d = commit_delays_after("bulk_off", 300, 40, 1);
	ck_assert_msg(d == 0, "%llu rounds delayed with commit_delay_us = 0",
	    (unsigned long long)d);
}
END_TEST

START_TEST(the_broker_section_rejects_unknown_keys)
{
	struct sl_config *sc = NULL;
	struct brk_config bc;
	struct sl_err err = { 0 };

	brk_config_default(&bc);
	ck_assert_int_eq(sl_config_parse("t.ini",
	    "[broker]\nlisten = 127.0.0.1:1\nauto_create_topics = true\nlog.retention.ms = -1\n"
	    "[view \"v\"]\ntype = lmdb\n", &sc, &err), 0);
	ck_assert_msg(brk_config_apply(&bc, sc, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(bc.listen, "127.0.0.1:1");
	ck_assert_int_eq(bc.auto_create_topics, 1);
	ck_assert_int_eq(bc.log.retention_ms, -1);
	sl_config_free(sc);
	ck_assert_int_eq(sl_config_parse("t.ini", "[broker]\nlisten = x:1\nlisen = y\n",
	    &sc, &err), 0);
	ck_assert_int_eq(brk_config_apply(&bc, sc, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "lisen"));
	sl_config_free(sc);
	ck_assert_int_eq(bc.commit_delay_us, 500);
	ck_assert_int_eq(sl_config_parse("t.ini", "[broker]\ncommit_delay_us = 0\n", &sc, &err), 0);
	ck_assert_msg(brk_config_apply(&bc, sc, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(bc.commit_delay_us, 0);
	sl_config_free(sc);
	ck_assert_int_eq(sl_config_parse("t.ini", "[broker]\ncommit_delay_us = -5\n", &sc, &err),
	    0);
	ck_assert_int_eq(brk_config_apply(&bc, sc, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "commit_delay_us"));
	sl_config_free(sc);
	brk_config_free(&bc);
}
END_TEST

Suite *brk_suite(void);

Suite *
brk_suite(void)
{
	Suite *s = suite_create("brk");
	TCase *tc = tcase_create("codec");
	TCase *tb = tcase_create("broker");

	tcase_add_test(tc, writers_and_readers_round_trip_every_type);
	tcase_add_test(tc, a_reader_stops_at_its_end_and_stays_failed);
	tcase_add_test(tc, array_counts_are_checked_against_the_bytes_left);
	tcase_add_test(tc, a_truncated_request_header_is_an_error);
	tcase_add_test(tc, the_broker_section_rejects_unknown_keys);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tb, setup, teardown);
	tcase_set_timeout(tb, 60);
	tcase_add_test(tb, api_versions_advertises_produce_0_to_7_and_answers_v3_in_v0_layout);
	tcase_add_test(tb, unknown_apis_and_versions_get_unsupported_version);
	tcase_add_test(tb, topic_config_survives_a_restart);
	tcase_add_test(tb, a_topic_config_file_with_an_unknown_key_is_refused);
	tcase_add_test(tb, create_topics_reports_existing_and_illegal_names);
	tcase_add_test(tb, produce_then_fetch_serves_the_batch_after_the_commit);
	tcase_add_test(tb, a_fetch_past_the_durable_end_is_out_of_range);
	tcase_add_test(tb, compacted_topics_refuse_null_keys_and_corrupt_batches_are_refused);
	tcase_add_test(tb, producer_ids_never_repeat_across_restarts);
	tcase_add_test(tb, idempotent_retries_get_the_original_offset);
	tcase_add_test(tb, metadata_names_unknown_topics_and_lists_all);
	tcase_add_test(tb, truncated_bodies_of_every_api_are_refused_without_crashing);
	tcase_add_test(tb, produce_v2_is_refused_per_partition_and_log_append_time_is_reported);
	tcase_add_test(tb, bad_frame_sizes_close_only_that_connection);
	tcase_add_test(tb, pipelined_requests_past_the_slots_and_a_slow_reader_get_every_answer);
	tcase_add_test(tb, the_commit_delay_applies_under_pipelined_load_only);
	suite_add_tcase(s, tb);
	return s;
}
