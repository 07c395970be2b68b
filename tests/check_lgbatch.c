/*
 * tests/check_lgbatch.c: RecordBatch v2 decoding, validation, building and
 * the compression codecs (log/batch.c, log/codec.c), plus `sluice log dump`
 * when the SLUICE environment variable names a built binary.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <snappy-c.h>

#include "log/lg.h"

Suite *lgbatch_suite(void);

static const enum lg_codec all_codecs[] = {
	LG_CODEC_NONE, LG_CODEC_GZIP, LG_CODEC_SNAPPY, LG_CODEC_LZ4, LG_CODEC_ZSTD
};

#define T0 1700000000000LL

/* ------------------------------------------------------------- helpers */

/* Record 'i' of the standard test batch: some null keys, values, headers. */
static void
std_record(int i, char *key, size_t *klen, int *knull, char *val, size_t *vlen,
    int *vnull)
{
	*knull = i % 3 == 1;
	*vnull = i % 5 == 2;
	*klen = (size_t)snprintf(key, 32, "key-%d", i);
	*vlen = (size_t)snprintf(val, 256, "value-%d-%0*d", i, i % 100, 7);
}

static void
std_headers(int i, struct lg_header *h, int32_t *nh)
{
	*nh = i % 2 == 0 ? 2 : 0;
	h[0].key = sl_slice_make("trace", 5);
	h[0].value = sl_slice_make("abc", 3);
	h[0].value_null = 0;
	h[1].key = sl_slice_make("empty", 5);
	h[1].value = sl_slice_make(NULL, 0);
	h[1].value_null = 1;
}

/* Append the standard batch of 'n' records with 'codec' to 'out'. */
static void
build_std(enum lg_codec codec, int64_t base, int n, struct sl_buf *out)
{
	struct lg_batch_builder bb;
	struct lg_header h[2];
	char key[32], val[256];
	size_t klen, vlen;
	int knull, vnull, i;
	int32_t nh;

	lg_batch_builder_init(&bb, codec, base);
	for (i = 0; i < n; i++) {
		std_record(i, key, &klen, &knull, val, &vlen, &vnull);
		std_headers(i, h, &nh);
		lg_batch_builder_add(&bb, i, T0 + i % 7, knull ? NULL : key, klen,
		    vnull ? NULL : val, vlen, h, nh);
	}
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, out), 0);
	lg_batch_builder_free(&bb);
}

/* Check that 'recs' are the standard records from offset 'base'. */
static void
check_std(const struct lg_record *recs, int32_t n, int64_t base, int want)
{
	struct lg_header h[2];
	char key[32], val[256];
	size_t klen, vlen;
	int knull, vnull, i, k;
	int32_t nh;

	ck_assert_int_eq(n, want);
	for (i = 0; i < n; i++) {
		const struct lg_record *r = &recs[i];

		std_record(i, key, &klen, &knull, val, &vlen, &vnull);
		std_headers(i, h, &nh);
		ck_assert_int_eq(r->offset, base + i);
		ck_assert_int_eq(r->timestamp, T0 + i % 7);
		ck_assert_int_eq(r->key_null, knull);
		ck_assert_int_eq(r->value_null, vnull);
		if (!knull) {
			ck_assert_uint_eq(r->key.len, klen);
			ck_assert(memcmp(r->key.p, key, klen) == 0);
		}
		if (!vnull) {
			ck_assert_uint_eq(r->value.len, vlen);
			ck_assert(memcmp(r->value.p, val, vlen) == 0);
		}
		ck_assert_int_eq(r->n_headers, nh);
		for (k = 0; k < nh; k++) {
			ck_assert_uint_eq(r->headers[k].key.len, h[k].key.len);
			ck_assert(memcmp(r->headers[k].key.p, h[k].key.p,
			    h[k].key.len) == 0);
			ck_assert_int_eq(r->headers[k].value_null, h[k].value_null);
			ck_assert_uint_eq(r->headers[k].value.len, h[k].value.len);
		}
	}
}

static void
fix_crc(uint8_t *b, size_t len)
{
	sl_put_be32(b + 17, sl_crc32c(0, b + LG_BATCH_CRC_START,
	    len - LG_BATCH_CRC_START));
}

/* A batch around an uncompressed-or-not records section, header as given. */
static void
raw_batch(struct sl_buf *out, struct sl_slice sec, int16_t attrs, int32_t count,
    int32_t last_delta, int64_t first_ts, int64_t max_ts)
{
	size_t start = out->len;

	sl_buf_add_be64(out, 100);
	sl_buf_add_be32(out, (uint32_t)(LG_BATCH_HEADER_SIZE - 12 + sec.len));
	sl_buf_add_be32(out, 0);
	sl_buf_add_u8(out, 2);
	sl_buf_add_be32(out, 0);
	sl_buf_add_be16(out, (uint16_t)attrs);
	sl_buf_add_be32(out, (uint32_t)last_delta);
	sl_buf_add_be64(out, (uint64_t)first_ts);
	sl_buf_add_be64(out, (uint64_t)max_ts);
	sl_buf_add_be64(out, (uint64_t)-1);
	sl_buf_add_be16(out, (uint16_t)-1);
	sl_buf_add_be32(out, (uint32_t)-1);
	sl_buf_add_be32(out, (uint32_t)count);
	sl_buf_add(out, sec.p, sec.len);
	fix_crc(out->p + start, out->len - start);
}

/*
 * A record with the given (possibly invalid) fields: 'key_len' and
 * 'val_len' are written as is and followed by that many bytes when > 0;
 * 'hcount' headers of key "h" value "v" when >= 0, else just the count.
 */
static void
raw_record(struct sl_buf *sec, int64_t ts_delta, int64_t off_delta,
    int64_t key_len, int64_t val_len, int64_t hcount)
{
	struct sl_buf body = { 0 };
	int64_t k;

	sl_buf_add_u8(&body, 0);
	sl_buf_add_varint(&body, ts_delta);
	sl_buf_add_varint(&body, off_delta);
	sl_buf_add_varint(&body, key_len);
	for (k = 0; k < key_len; k++)
		sl_buf_add_u8(&body, 'k');
	sl_buf_add_varint(&body, val_len);
	for (k = 0; k < val_len; k++)
		sl_buf_add_u8(&body, 'v');
	sl_buf_add_varint(&body, hcount);
	for (k = 0; k < hcount; k++) {
		sl_buf_add_varint(&body, 1);
		sl_buf_add_u8(&body, 'h');
		sl_buf_add_varint(&body, 1);
		sl_buf_add_u8(&body, 'v');
	}
	sl_buf_add_varint(sec, (int64_t)body.len);
	sl_buf_add(sec, body.p, body.len);
	sl_buf_free(&body);
}

/*
 * Validate 'b' expecting 'code' and 'substr' in the message; also run the
 * lenient decoder over it, which must not crash.
 */
static void
expect_invalid(struct sl_slice b, int code, const char *substr)
{
	struct sl_arena arena = { 0 };
	struct lg_batch_info info;
	struct lg_record *recs;
	struct sl_err err;
	int32_t n;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = lg_batch_validate(b, 0, &info, &err);
	ck_assert_msg(rc == code, "validate returned %d (%s), want %d; msg: %s",
	    rc, sl_strerror(rc), code, err.msg);
	ck_assert_int_eq(err.code, code);
	ck_assert_msg(strstr(err.msg, substr) != NULL,
	    "message \"%s\" lacks \"%s\"", err.msg, substr);
	(void)lg_batch_records(b, 0, &arena, &recs, &n, NULL);
	sl_arena_free(&arena);
}

/* ------------------------------------------------------------ round trip */

START_TEST(every_codec_round_trips_many_records_with_nulls_and_headers)
{
	struct sl_buf b = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_batch_info info;
	struct lg_record *recs;
	struct sl_err err;
	int32_t n;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&b);
		build_std(all_codecs[i], 1000, 2000, &b);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(lg_batch_validate(sl_buf_slice(&b), 0, &info, &err) == 0,
		    "%s: %s", lg_codec_name(all_codecs[i]), err.msg);
		ck_assert_int_eq(info.attributes & LG_ATTR_CODEC_MASK, all_codecs[i]);
		ck_assert_int_eq(info.records_count, 2000);
		ck_assert_int_eq(lg_batch_last_offset(&info), 2999);
		ck_assert_int_eq(info.first_timestamp, T0);
		ck_assert_int_eq(info.max_timestamp, T0 + 6);
		ck_assert_uint_eq(lg_batch_size(&info), b.len);
		ck_assert_int_eq(lg_batch_records(sl_buf_slice(&b), 0, &arena,
		    &recs, &n, &err), 0);
		check_std(recs, n, 1000, 2000);
		if (all_codecs[i] != LG_CODEC_NONE)	/* it did compress */
			ck_assert_uint_lt(b.len, 2000 * 20);
		sl_arena_reset(&arena);
	}
	sl_arena_free(&arena);
	sl_buf_free(&b);
}
END_TEST

START_TEST(single_record_batch_with_null_key_and_value_round_trips)
{
	struct sl_buf b = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_batch_builder bb;
	struct lg_record *recs;
	int32_t n;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&b);
		lg_batch_builder_init(&bb, all_codecs[i], 0);
		lg_batch_builder_add(&bb, 0, T0, NULL, 0, NULL, 0, NULL, 0);
		ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
		lg_batch_builder_free(&bb);
		ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
		ck_assert_int_eq(lg_batch_records(sl_buf_slice(&b), 0, &arena,
		    &recs, &n, NULL), 0);
		ck_assert_int_eq(n, 1);
		ck_assert(recs[0].key_null && recs[0].value_null);
		ck_assert_int_eq(recs[0].n_headers, 0);
	}
	sl_arena_free(&arena);
	sl_buf_free(&b);
}
END_TEST

START_TEST(xerial_framed_snappy_from_the_java_client_decodes)
{
	static const uint8_t magic[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
	    0, 0, 0, 1, 0, 0, 0, 1 };
	struct sl_buf plain = { 0 }, xer = { 0 }, b = { 0 }, out = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_batch_info info;
	struct lg_record *recs;
	struct sl_slice sec;
	struct sl_err err;
	size_t half, off, n, clen;
	int32_t nrec;
	int k;

	build_std(LG_CODEC_NONE, 0, 300, &plain);
	ck_assert_int_eq(lg_batch_header(sl_buf_slice(&plain), &info, NULL), 0);
	sec = sl_slice_make(plain.p + LG_BATCH_HEADER_SIZE,
	    plain.len - LG_BATCH_HEADER_SIZE);
	/* Two blocks, as SnappyOutputStream writes past its block size. */
	sl_buf_add(&xer, magic, sizeof(magic));
	half = sec.len / 2;
	for (k = 0; k < 2; k++) {
		off = k == 0 ? 0 : half;
		n = k == 0 ? half : sec.len - half;
		clen = snappy_max_compressed_length(n);
		sl_buf_reserve(&xer, 4 + clen);
		ck_assert_int_eq(snappy_compress((const char *)sec.p + off, n,
		    (char *)xer.p + xer.len + 4, &clen), SNAPPY_OK);
		sl_put_be32(xer.p + xer.len, (uint32_t)clen);
		xer.len += 4 + clen;
	}
	ck_assert_int_eq(lg_decompress(LG_CODEC_SNAPPY, sl_buf_slice(&xer), 0,
	    &out, NULL), 0);
	ck_assert_uint_eq(out.len, sec.len);
	ck_assert(memcmp(out.p, sec.p, sec.len) == 0);

	raw_batch(&b, sl_buf_slice(&xer), LG_CODEC_SNAPPY, info.records_count,
	    info.last_offset_delta, info.first_timestamp, info.max_timestamp);
	memset(&err, 0, sizeof(err));
	ck_assert_msg(lg_batch_validate(sl_buf_slice(&b), 0, NULL, &err) == 0,
	    "%s", err.msg);
	ck_assert_int_eq(lg_batch_records(sl_buf_slice(&b), 0, &arena, &recs,
	    &nrec, NULL), 0);
	check_std(recs, nrec, 100, 300);

	/* A block length past the end is corruption, named with its position. */
	sl_put_be32(xer.p + 16, 1u << 30);
	sl_buf_reset(&out);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(lg_decompress(LG_CODEC_SNAPPY, sl_buf_slice(&xer), 0,
	    &out, &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "input byte 16"));

	sl_arena_free(&arena);
	sl_buf_free(&plain);
	sl_buf_free(&xer);
	sl_buf_free(&b);
	sl_buf_free(&out);
}
END_TEST

START_TEST(gzip_decoder_accepts_zlib_streams_and_concatenated_members)
{
	struct sl_buf z = { 0 }, out = { 0 };
	const char *msg = "hello, gzip member";

	ck_assert_int_eq(lg_compress(LG_CODEC_GZIP, sl_slice_make(msg, strlen(msg)),
	    &z, NULL), 0);
	ck_assert_int_eq(z.p[0], 0x1f);	/* a gzip member, not a zlib stream */
	ck_assert_int_eq(z.p[1], 0x8b);
	ck_assert_int_eq(lg_compress(LG_CODEC_GZIP, sl_slice_make(msg, strlen(msg)),
	    &z, NULL), 0);
	ck_assert_int_eq(lg_decompress(LG_CODEC_GZIP, sl_buf_slice(&z), 0, &out,
	    NULL), 0);
	ck_assert_uint_eq(out.len, 2 * strlen(msg));
	ck_assert(memcmp(out.p + strlen(msg), msg, strlen(msg)) == 0);
	sl_buf_free(&z);
	sl_buf_free(&out);
}
END_TEST

START_TEST(corrupt_or_truncated_compressed_input_is_refused)
{
	struct sl_buf plain = { 0 }, z = { 0 }, out = { 0 };
	struct sl_err err;
	size_t i;
	int k;

	for (k = 0; k < 5000; k++)
		sl_buf_printf(&plain, "line %d of some text\n", k);
	for (i = 1; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&z);
		ck_assert_int_eq(lg_compress(all_codecs[i], sl_buf_slice(&plain),
		    &z, NULL), 0);
		/* Cut in half. */
		sl_buf_reset(&out);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(lg_decompress(all_codecs[i], sl_slice_make(z.p,
		    z.len / 2), 0, &out, &err) == SL_ECORRUPT, "%s",
		    lg_codec_name(all_codecs[i]));
		ck_assert_ptr_nonnull(strstr(err.msg, lg_codec_name(all_codecs[i])));
		/* Empty. */
		sl_buf_reset(&out);
		ck_assert_int_eq(lg_decompress(all_codecs[i], sl_slice_make(z.p, 0),
		    0, &out, NULL), SL_ECORRUPT);
	}
	ck_assert_int_eq(lg_decompress(7, sl_buf_slice(&z), 0, &out, NULL),
	    SL_EUNSUPPORTED);
	sl_buf_free(&plain);
	sl_buf_free(&z);
	sl_buf_free(&out);
}
END_TEST

/* ----------------------------------------------------------------- bombs */

START_TEST(decompression_bombs_are_refused_without_allocating_past_the_limit)
{
	static const uint8_t magic[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
	    0, 0, 0, 1, 0, 0, 0, 1 };
	size_t big = (size_t)16 << 20, max = ((size_t)1 << 20) + 1000, i, clen;
	uint8_t *zeros = calloc(1, big);
	struct sl_buf z = { 0 }, out = { 0 };
	struct sl_err err;
	int k;

	ck_assert_ptr_nonnull(zeros);
	for (i = 1; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&z);
		ck_assert_int_eq(lg_compress(all_codecs[i], sl_slice_make(zeros, big),
		    &z, NULL), 0);
		ck_assert_uint_lt(z.len, big / 16);
		sl_buf_free(&out);
		memset(&err, 0, sizeof(err));
		ck_assert_msg(lg_decompress(all_codecs[i], sl_buf_slice(&z), max,
		    &out, &err) == SL_ETOOBIG, "%s: %s",
		    lg_codec_name(all_codecs[i]), err.msg);
		ck_assert_uint_le(out.cap, max);	/* never allocated past it */
		ck_assert_uint_le(out.len, max);
		/* Exactly enough room succeeds. */
		sl_buf_free(&out);
		ck_assert_int_eq(lg_decompress(all_codecs[i], sl_buf_slice(&z), big,
		    &out, NULL), 0);
		ck_assert_uint_eq(out.len, big);
		ck_assert_uint_le(out.cap, big);
	}
	/* xerial: each block within the limit, their sum past it. */
	sl_buf_reset(&z);
	sl_buf_add(&z, magic, sizeof(magic));
	for (k = 0; k < 4; k++) {
		clen = snappy_max_compressed_length(max / 2);
		sl_buf_reserve(&z, 4 + clen);
		ck_assert_int_eq(snappy_compress((const char *)zeros, max / 2,
		    (char *)z.p + z.len + 4, &clen), SNAPPY_OK);
		sl_put_be32(z.p + z.len, (uint32_t)clen);
		z.len += 4 + clen;
	}
	sl_buf_free(&out);
	ck_assert_int_eq(lg_decompress(LG_CODEC_SNAPPY, sl_buf_slice(&z), max,
	    &out, NULL), SL_ETOOBIG);
	ck_assert_uint_le(out.cap, max);
	free(zeros);
	sl_buf_free(&z);
	sl_buf_free(&out);
}
END_TEST

START_TEST(a_batch_whose_records_decompress_past_max_bytes_is_too_big)
{
	size_t big = (size_t)4 << 20;
	uint8_t *zeros = calloc(1, big);
	struct sl_buf b = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_batch_builder bb;
	struct lg_record *recs;
	struct sl_err err;
	int32_t n;
	size_t i;

	ck_assert_ptr_nonnull(zeros);
	for (i = 1; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&b);
		lg_batch_builder_init(&bb, all_codecs[i], 0);
		lg_batch_builder_add(&bb, 0, T0, "k", 1, zeros, big, NULL, 0);
		ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
		lg_batch_builder_free(&bb);
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 1 << 20, NULL,
		    &err), SL_ETOOBIG);
		ck_assert_ptr_nonnull(strstr(err.msg, "batch at offset 0"));
		ck_assert_int_eq(lg_batch_records(sl_buf_slice(&b), 1 << 20, &arena,
		    &recs, &n, NULL), SL_ETOOBIG);
		ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
	}
	sl_arena_free(&arena);
	sl_buf_free(&b);
	free(zeros);
}
END_TEST

/* ------------------------------------------------------------ the header */

START_TEST(the_stored_crc32c_covers_attributes_to_the_end)
{
	struct sl_buf b = { 0 };
	struct lg_batch_info info;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&b);
		build_std(all_codecs[i], 5, 10, &b);
		ck_assert_int_eq(lg_batch_header(sl_buf_slice(&b), &info, NULL), 0);
		ck_assert_uint_eq(info.crc, sl_get_be32(b.p + 17));
		ck_assert_uint_eq(info.crc, sl_crc32c_sw(0, b.p + 21, b.len - 21));
		/* Bytes before 21 are not covered: the base offset is rewritten. */
		sl_put_be64(b.p, 12345);
		ck_assert_int_eq(lg_batch_header(sl_buf_slice(&b), &info, NULL), 0);
		ck_assert_int_eq(info.base_offset, 12345);
	}
	/* The check value of CRC-32C. */
	ck_assert_uint_eq(sl_crc32c(0, "123456789", 9), 0xe3069283u);
	sl_buf_free(&b);
}
END_TEST

START_TEST(header_reads_one_batch_of_many_and_flags_a_torn_one)
{
	struct sl_buf b = { 0 };
	struct lg_batch_info info;
	struct sl_err err;
	size_t first;

	build_std(LG_CODEC_NONE, 0, 3, &b);
	first = b.len;
	build_std(LG_CODEC_LZ4, 3, 4, &b);
	ck_assert_int_eq(lg_batch_header(sl_buf_slice(&b), &info, NULL), 0);
	ck_assert_uint_eq(lg_batch_size(&info), first);
	ck_assert_int_eq(lg_batch_header(sl_slice_make(b.p + first, b.len - first),
	    &info, NULL), 0);
	ck_assert_int_eq(info.base_offset, 3);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(lg_batch_header(sl_slice_make(b.p + first,
	    b.len - first - 1), &info, &err), SL_ETRUNC);
	ck_assert_ptr_nonnull(strstr(err.msg, "runs past the end"));
	sl_buf_free(&b);
}
END_TEST

START_TEST(every_truncation_of_a_batch_is_refused_without_a_crash)
{
	struct sl_buf b = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_record *recs;
	struct lg_batch_info info;
	int32_t n;
	size_t i, len;

	for (i = 0; i < SL_ARRAY_LEN(all_codecs); i++) {
		sl_buf_reset(&b);
		build_std(all_codecs[i], 0, 20, &b);
		for (len = 0; len < b.len; len++) {
			uint8_t *copy = malloc(len + 1);	/* exact size for ASan */

			memcpy(copy, b.p, len);
			ck_assert_int_eq(lg_batch_header(sl_slice_make(copy, len),
			    &info, NULL), SL_ETRUNC);
			ck_assert_int_eq(lg_batch_validate(sl_slice_make(copy, len),
			    0, NULL, NULL), SL_ECORRUPT);
			ck_assert_int_eq(lg_batch_records(sl_slice_make(copy, len),
			    0, &arena, &recs, &n, NULL), SL_ECORRUPT);
			free(copy);
		}
	}
	sl_arena_free(&arena);
	sl_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ validation */

START_TEST(a_batch_shorter_than_its_header_is_named)
{
	struct sl_buf b = { 0 };

	build_std(LG_CODEC_NONE, 42, 2, &b);
	expect_invalid(sl_slice_make(b.p, 30), SL_ECORRUPT,
	    "batch at offset 42: only 30 bytes, shorter than the 61-byte");
	expect_invalid(sl_slice_make(b.p, 5), SL_ECORRUPT, "only 5 bytes");
	sl_buf_free(&b);
}
END_TEST

START_TEST(a_length_past_the_buffer_or_too_small_is_named)
{
	struct sl_buf b = { 0 };

	build_std(LG_CODEC_NONE, 42, 2, &b);
	sl_put_be32(b.p + 8, (uint32_t)(b.len - 12 + 1));
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "runs past the end of the buffer");
	sl_put_be32(b.p + 8, 20);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "length 20 at byte 8 is too small");
	sl_put_be32(b.p + 8, (uint32_t)-5);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "length -5 at byte 8 is too small");
	sl_buf_free(&b);
}
END_TEST

START_TEST(wrong_magic_and_crc_mismatch_are_named)
{
	struct sl_buf b = { 0 };
	char want[64];
	uint32_t stored;

	build_std(LG_CODEC_GZIP, 42, 5, &b);
	b.p[16] = 1;
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "magic 1 at byte 16, expected 2");
	b.p[16] = 2;
	stored = sl_get_be32(b.p + 17);
	b.p[b.len - 3] ^= 0x40;
	snprintf(want, sizeof(want), "stored 0x%08x, computed 0x%08x", stored,
	    sl_crc32c(0, b.p + 21, b.len - 21));
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, want);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "crc mismatch at byte 17");
	sl_buf_free(&b);
}
END_TEST

START_TEST(an_unknown_codec_is_unsupported)
{
	struct sl_buf b = { 0 };

	build_std(LG_CODEC_NONE, 42, 5, &b);
	b.p[22] = 6;
	fix_crc(b.p, b.len);
	expect_invalid(sl_buf_slice(&b), SL_EUNSUPPORTED, "unknown compression codec 6");
	sl_buf_free(&b);
}
END_TEST

START_TEST(a_negative_or_wrong_records_count_is_named)
{
	struct sl_buf b = { 0 };

	build_std(LG_CODEC_ZSTD, 42, 5, &b);
	sl_put_be32(b.p + 57, (uint32_t)-1);
	fix_crc(b.p, b.len);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "records count -1 at byte 57 is negative");
	sl_put_be32(b.p + 57, 6);
	fix_crc(b.p, b.len);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "records count 6 at byte 57, but the records end after 5");
	sl_put_be32(b.p + 57, 4);
	fix_crc(b.p, b.len);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "trailing bytes after the last of 4 records");
	sl_put_be32(b.p + 57, 0x7fffffff);
	fix_crc(b.p, b.len);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "cannot fit in");
	sl_put_be32(b.p + 57, 0);
	fix_crc(b.p, b.len);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "records count 0");
	sl_buf_free(&b);
}
END_TEST

START_TEST(a_record_length_past_the_end_is_named_with_its_position)
{
	struct sl_buf sec = { 0 }, b = { 0 };

	raw_record(&sec, 0, 0, 1, 1, 0);
	sl_buf_add_varint(&sec, 100);	/* record 1 claims 100 bytes */
	sl_buf_add(&sec, "xxxxxxxxxx", 10);
	raw_batch(&b, sl_buf_slice(&sec), 0, 2, 1, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "record 1: length 100 at byte 70");
	sl_buf_free(&sec);
	sl_buf_free(&b);
}
END_TEST

START_TEST(offset_deltas_must_be_0_to_n_minus_1_in_a_produced_batch)
{
	struct sl_buf b = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_batch_builder bb;
	struct lg_record *recs;
	int32_t n;

	/* A cleaned batch: gaps in the deltas, last delta kept from before. */
	lg_batch_builder_init(&bb, LG_CODEC_SNAPPY, 50);
	lg_batch_builder_add(&bb, 0, T0, "a", 1, "1", 1, NULL, 0);
	lg_batch_builder_add(&bb, 3, T0, "b", 1, "2", 1, NULL, 0);
	lg_batch_builder_add(&bb, 7, T0, "c", 1, NULL, 0, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, 9, &b), 0);
	lg_batch_builder_free(&bb);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "record 1: offset delta 3");
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "expected 1");
	/* ...which the lenient decoder accepts. */
	ck_assert_int_eq(lg_batch_records(sl_buf_slice(&b), 0, &arena, &recs,
	    &n, NULL), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(recs[0].offset, 50);
	ck_assert_int_eq(recs[1].offset, 53);
	ck_assert_int_eq(recs[2].offset, 57);
	ck_assert(recs[2].value_null);

	/* Deltas 0..n-1 but a last offset delta that disagrees. */
	sl_buf_reset(&b);
	lg_batch_builder_init(&bb, LG_CODEC_NONE, 50);
	lg_batch_builder_add(&bb, 0, T0, "a", 1, "1", 1, NULL, 0);
	lg_batch_builder_add(&bb, 1, T0, "b", 1, "2", 1, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, 4, &b), 0);
	lg_batch_builder_free(&bb);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "last offset delta 4 at byte 23");
	sl_arena_free(&arena);
	sl_buf_free(&b);
}
END_TEST

START_TEST(deltas_that_go_backwards_are_refused_even_when_lenient)
{
	struct sl_buf sec = { 0 }, b = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_record *recs;
	struct sl_err err;
	int32_t n;

	raw_record(&sec, 0, 5, 1, 1, 0);
	raw_record(&sec, 0, 2, 1, 1, 0);
	raw_batch(&b, sl_buf_slice(&sec), 0, 2, 5, T0, T0);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(lg_batch_records(sl_buf_slice(&b), 0, &arena, &recs,
	    &n, &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not follow the previous delta 5"));
	sl_arena_free(&arena);
	sl_buf_free(&sec);
	sl_buf_free(&b);
}
END_TEST

START_TEST(a_timestamp_after_max_is_named_unless_log_append_time)
{
	struct sl_buf sec = { 0 }, b = { 0 };

	raw_record(&sec, 0, 0, 1, 1, 0);
	raw_record(&sec, 10, 1, 1, 1, 0);
	raw_batch(&b, sl_buf_slice(&sec), 0, 2, 1, T0, T0 + 5);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "record 1: timestamp");
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "after the batch's max_timestamp");
	/* Earlier than the first timestamp is legal: explicit producer timestamps. */
	sl_buf_reset(&sec);
	raw_record(&sec, -1, 0, 1, 1, 0);
	sl_buf_reset(&b);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0 + 5);
	ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
	sl_buf_reset(&sec);
	raw_record(&sec, 6, 0, 1, 1, 0);
	sl_buf_reset(&b);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0 + 5);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "record 0: timestamp");
	sl_buf_reset(&b);
	raw_batch(&b, sl_buf_slice(&sec), LG_ATTR_LOG_APPEND_TIME, 1, 0, T0, T0 + 5);
	ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
	sl_buf_free(&sec);
	sl_buf_free(&b);
}
END_TEST

START_TEST(trailing_bytes_after_the_last_record_or_the_batch_are_named)
{
	struct sl_buf sec = { 0 }, b = { 0 };

	raw_record(&sec, 0, 0, 1, 1, 0);
	sl_buf_add(&sec, "\0\0\0", 3);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "3 trailing bytes after the last of 1 records");
	sl_buf_reset(&b);
	sec.len -= 3;
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
	sl_buf_add(&b, "zz", 2);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "2 bytes after the batch's end");
	sl_buf_free(&sec);
	sl_buf_free(&b);
}
END_TEST

START_TEST(negative_key_value_and_header_lengths_are_named)
{
	struct sl_buf sec = { 0 }, b = { 0 };

	raw_record(&sec, 0, 0, -2, 1, 0);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "record 0: negative key length -2 at byte");

	sl_buf_reset(&sec);
	sl_buf_reset(&b);
	raw_record(&sec, 0, 0, -1, -3, 0);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "negative value length -3");

	sl_buf_reset(&sec);
	sl_buf_reset(&b);
	raw_record(&sec, 0, 0, -1, -1, -1);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "header count -1 at byte");

	sl_buf_reset(&sec);
	sl_buf_reset(&b);
	raw_record(&sec, 0, 0, 3, 1, 0);
	sec.p[sec.len - 7] = 0x7e;	/* key length varint 3 -> 63 */
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "key length 63 at byte 65 runs past the end of the record");

	/* Both null and headers present: valid. */
	sl_buf_reset(&sec);
	sl_buf_reset(&b);
	raw_record(&sec, 0, 0, -1, -1, 2);
	raw_batch(&b, sl_buf_slice(&sec), 0, 1, 0, T0, T0);
	ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
	sl_buf_free(&sec);
	sl_buf_free(&b);
}
END_TEST

START_TEST(positions_in_a_compressed_batch_name_the_decompressed_byte)
{
	struct sl_buf sec = { 0 }, z = { 0 }, b = { 0 };

	raw_record(&sec, 0, 0, 1, 1, 0);
	raw_record(&sec, 0, 1, -4, 1, 0);
	ck_assert_int_eq(lg_compress(LG_CODEC_LZ4, sl_buf_slice(&sec), &z, NULL), 0);
	raw_batch(&b, sl_buf_slice(&z), LG_CODEC_LZ4, 2, 1, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT,
	    "record 1: negative key length -4 at decompressed byte 13");
	/* And garbage in place of the lz4 frame names the codec. */
	memset(z.p, 0x55, z.len);
	sl_buf_reset(&b);
	raw_batch(&b, sl_buf_slice(&z), LG_CODEC_LZ4, 2, 1, T0, T0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "records section at byte 61 (lz4): lz4:");
	sl_buf_free(&sec);
	sl_buf_free(&z);
	sl_buf_free(&b);
}
END_TEST

START_TEST(a_producer_id_without_a_sequence_is_refused)
{
	struct sl_buf b = { 0 };
	struct lg_batch_builder bb;

	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	bb.producer_id = 7;
	bb.producer_epoch = 0;
	lg_batch_builder_add(&bb, 0, T0, "a", 1, "1", 1, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
	expect_invalid(sl_buf_slice(&b), SL_ECORRUPT, "producer id 7 with base sequence -1");
	sl_buf_reset(&b);
	bb.base_sequence = 0;
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
	ck_assert_int_eq(lg_batch_validate(sl_buf_slice(&b), 0, NULL, NULL), 0);
	lg_batch_builder_free(&bb);
	sl_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------- sluice log dump */

/* Run "sh -c CMD", returning its exit status; stdout/stderr to files. */
static int
run_sh(const char *cmd)
{
	int st = system(cmd);

	ck_assert_int_ne(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void
write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static char *
read_text(const char *path)
{
	struct sl_buf b = { 0 };

	ck_assert_int_eq(sl_file_read(path, 1 << 24, &b), 0);
	sl_buf_add_u8(&b, 0);
	return (char *)b.p;
}

START_TEST(log_dump_prints_batches_and_records_and_exits_3_on_corruption)
{
	const char *sluice = getenv("SLUICE");
	char dir[] = "/tmp/lgbatch.XXXXXX", cmd[1024], path[512], *txt;
	struct sl_buf b = { 0 };
	size_t first;

	if (sluice == NULL || access(sluice, X_OK) != 0)
		return;		/* only under `make unit`, which sets SLUICE */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	build_std(LG_CODEC_NONE, 0, 3, &b);
	first = b.len;
	build_std(LG_CODEC_ZSTD, 3, 4, &b);
	snprintf(path, sizeof(path), "%s/t-0/00000000000000000000.log", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/t-0", dir);
	ck_assert_int_eq(run_sh(cmd), 0);
	write_file(path, b.p, b.len);

	snprintf(cmd, sizeof(cmd), "%s log dump %s/t-0 >%s/out 2>%s/err", sluice,
	    dir, dir, dir);
	ck_assert_int_eq(run_sh(cmd), 0);
	snprintf(path, sizeof(path), "%s/out", dir);
	txt = read_text(path);
	ck_assert_ptr_nonnull(strstr(txt, "codec: zstd"));
	ck_assert_ptr_nonnull(strstr(txt, "offset: 6"));
	ck_assert_ptr_nonnull(strstr(txt, "key: key-0"));
	free(txt);

	snprintf(cmd, sizeof(cmd), "%s log dump --json --batches-only "
	    "%s/t-0/00000000000000000000.log >%s/out 2>%s/err", sluice, dir, dir,
	    dir);
	ck_assert_int_eq(run_sh(cmd), 0);
	txt = read_text(path);
	ck_assert_ptr_nonnull(strstr(txt, "\"base_offset\":3"));
	ck_assert_ptr_null(strstr(txt, "\"records\""));
	free(txt);

	/* Corrupt the second batch's records: exit 3 naming its position. */
	b.p[b.len - 2] ^= 1;
	snprintf(path, sizeof(path), "%s/t-0/00000000000000000000.log", dir);
	write_file(path, b.p, b.len);
	snprintf(cmd, sizeof(cmd), "%s log dump %s >%s/out 2>%s/err", sluice,
	    path, dir, dir);
	ck_assert_int_eq(run_sh(cmd), 3);
	snprintf(path, sizeof(path), "%s/err", dir);
	txt = read_text(path);
	snprintf(cmd, sizeof(cmd), "byte %zu", first);
	ck_assert_msg(strstr(txt, cmd) != NULL, "stderr: %s", txt);
	ck_assert_ptr_nonnull(strstr(txt, "00000000000000000000.log"));
	free(txt);

	snprintf(cmd, sizeof(cmd), "%s log dump --bogus x >/dev/null 2>&1", sluice);
	ck_assert_int_eq(run_sh(cmd), 2);
	ck_assert_int_eq(sl_rm_rf(dir), 0);
	sl_buf_free(&b);
}
END_TEST

Suite *
lgbatch_suite(void)
{
	Suite *s = suite_create("lgbatch");
	TCase *tc = tcase_create("batch");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_codec_round_trips_many_records_with_nulls_and_headers);
	tcase_add_test(tc, single_record_batch_with_null_key_and_value_round_trips);
	tcase_add_test(tc, xerial_framed_snappy_from_the_java_client_decodes);
	tcase_add_test(tc, gzip_decoder_accepts_zlib_streams_and_concatenated_members);
	tcase_add_test(tc, corrupt_or_truncated_compressed_input_is_refused);
	tcase_add_test(tc, decompression_bombs_are_refused_without_allocating_past_the_limit);
	tcase_add_test(tc, a_batch_whose_records_decompress_past_max_bytes_is_too_big);
	tcase_add_test(tc, the_stored_crc32c_covers_attributes_to_the_end);
	tcase_add_test(tc, header_reads_one_batch_of_many_and_flags_a_torn_one);
	tcase_add_test(tc, every_truncation_of_a_batch_is_refused_without_a_crash);
	tcase_add_test(tc, a_batch_shorter_than_its_header_is_named);
	tcase_add_test(tc, a_length_past_the_buffer_or_too_small_is_named);
	tcase_add_test(tc, wrong_magic_and_crc_mismatch_are_named);
	tcase_add_test(tc, an_unknown_codec_is_unsupported);
	tcase_add_test(tc, a_negative_or_wrong_records_count_is_named);
	tcase_add_test(tc, a_record_length_past_the_end_is_named_with_its_position);
	tcase_add_test(tc, offset_deltas_must_be_0_to_n_minus_1_in_a_produced_batch);
	tcase_add_test(tc, deltas_that_go_backwards_are_refused_even_when_lenient);
	tcase_add_test(tc, a_timestamp_after_max_is_named_unless_log_append_time);
	tcase_add_test(tc, trailing_bytes_after_the_last_record_or_the_batch_are_named);
	tcase_add_test(tc, negative_key_value_and_header_lengths_are_named);
	tcase_add_test(tc, positions_in_a_compressed_batch_name_the_decompressed_byte);
	tcase_add_test(tc, a_producer_id_without_a_sequence_is_refused);
	tcase_add_test(tc, log_dump_prints_batches_and_records_and_exits_3_on_corruption);
	suite_add_tcase(s, tc);
	return s;
}
