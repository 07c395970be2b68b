/*
 * tests/check_mat.c: the materialize module: the order-preserving key
 * encoding, row records, applying changes to an LMDB view (insert, update,
 * delete, truncate, unchanged values, secondary indexes), the offset kept
 * in the same transaction as the data, the strict JSON reader, and a
 * rebuild swap under a reader that never stops.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"
#include "materialize/view.h"

/* the example program of docs/views.md, compiled here so it cannot rot */
#define VIEW_READ_NO_MAIN
#include "docs/examples/view_read.c"

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	return sl_xorshift64(&rng_state);
}

static int
sign(int x)
{
	return x < 0 ? -1 : x > 0;
}

static int
enc_cmp(const struct sch_value *a, const struct sch_value *b)
{
	struct sl_buf x = { 0 }, y = { 0 };
	size_t n;
	int c;

	ck_assert_int_eq(mat_key_encode_value(a, &x), 0);
	ck_assert_int_eq(mat_key_encode_value(b, &y), 0);
	n = x.len < y.len ? x.len : y.len;
	c = memcmp(x.p, y.p, n);
	if (c == 0)
		c = x.len < y.len ? -1 : x.len > y.len;
	sl_buf_free(&x);
	sl_buf_free(&y);
	return sign(c);
}

static char *
tmpdir(void)
{
	char *d = sl_strdup("/tmp/check_mat-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* A table "public.users" (id int8 key, name text, email text, bio text). */
static struct sch_column users_cols[] = {
	{ "id", SCH_OID_INT8, "int8", -1, 1, 0 },
	{ "name", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "email", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "bio", SCH_OID_TEXT, "text", -1, 0, 1 },
};
static struct sch_table users = { 7, "app", "public", "users", users_cols, 4 };

struct fx {
	char *dir;
	struct mat_view_conf conf;
	struct mat_index_conf idx[1];
	char *email_col[1];
	struct mat_lmdb *sink;
	int64_t offset;			/* of partition 0 */
	int32_t partition;		/* where fx_apply's changes come from */
	int64_t offsets[4];		/* of partitions 1..3 */
};

static void
fx_open(struct fx *f, const char *dir, int with_index)
{
	memset(f, 0, sizeof(*f));
	f->dir = sl_strdup(dir);
	f->conf.name = "test";
	f->conf.path = f->dir;
	f->conf.map_size = 64 << 20;
	f->conf.sync = MAT_SYNC_NONE;
	f->email_col[0] = "email";
	f->idx[0].name = "by_email";
	f->idx[0].columns = f->email_col;
	f->idx[0].n_columns = 1;
	if (with_index) {
		f->conf.indexes = f->idx;
		f->conf.n_indexes = 1;
	}
	ck_assert_int_eq(mat_lmdb_open(dir, &f->conf, &f->sink, NULL), 0);
}

static void
fx_close(struct fx *f)
{
	mat_lmdb_close(f->sink);
	free(f->dir);
}

static struct sch_value
txt(const char *s)
{
	return sch_value_text(s, strlen(s));
}

/* Apply one users change at the next offset of topic "t" partition 0. */
static int
fx_apply(struct fx *f, enum sch_op op, int64_t id, const char *name, const char *email,
    const char *bio)
{
	struct sch_value img[4];
	struct sch_event ev;
	struct mat_origin o = { "t", f->partition,
	    f->partition ? f->offsets[f->partition]++ : f->offset++ };
	struct sl_err err = { 0 };
	int rc;

	memset(&ev, 0, sizeof(ev));
	img[0] = sch_value_int64(id);
	img[1] = name ? txt(name) : sch_value_null();
	img[2] = email ? txt(email) : sch_value_null();
	img[3] = bio == NULL ? sch_value_null() : strcmp(bio, "(unchanged)") == 0 ?
	    sch_value_unchanged() : txt(bio);
	ev.op = op;
	ev.table = &users;
	if (op == SCH_OP_DELETE)
		ev.before = img;
	else if (op != SCH_OP_TRUNCATE)
		ev.after = img;
	rc = mat_lmdb_apply(f->sink, &ev, &o, &err);
	if (rc < 0)
		fprintf(stderr, "apply: %s\n", sl_err_msg(&err, rc));
	return rc;
}

/* The JSON of row 'id' through the read API, or NULL when absent. */
static char *
view_get_json(const char *dir, int64_t id)
{
	struct mat_view *v;
	struct mat_view_txn *t;
	struct mat_row row;
	struct sl_buf key = { 0 }, out = { 0 };
	char idtext[32];
	const char *args[1] = { idtext };
	char *res = NULL;

	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	ck_assert_int_eq(mat_view_open(dir, &v, NULL), 0);
	ck_assert_int_eq(mat_view_begin(v, &t, NULL), 0);
	if (mat_view_key_from_text(t, "public.users", NULL, args, 1, &key, NULL) == 0 &&
	    mat_view_get(t, "public.users", sl_buf_slice(&key), &row, NULL) == 0) {
		ck_assert_int_eq(mat_row_json(&row, &out, NULL), 0);
		sl_buf_add_u8(&out, 0);
		res = sl_strdup((const char *)out.p);
	}
	mat_view_end(t);
	mat_view_close(v);
	sl_buf_free(&key);
	sl_buf_free(&out);
	return res;
}

static int
count_row(const struct mat_row *row, void *arg)
{
	(void)row;
	(*(size_t *)arg)++;
	return 0;
}

static size_t
view_lookup_count(const char *dir, const char *email)
{
	struct mat_view *v;
	struct mat_view_txn *t;
	struct sl_buf key = { 0 };
	size_t n = 0;

	ck_assert_int_eq(mat_view_open(dir, &v, NULL), 0);
	ck_assert_int_eq(mat_view_begin(v, &t, NULL), 0);
	ck_assert_int_eq(mat_view_key_from_text(t, "public.users", "by_email", &email, 1, &key,
	    NULL), 0);
	ck_assert_int_eq(mat_view_lookup(t, "public.users", "by_email", sl_buf_slice(&key), 0,
	    count_row, &n, NULL), 0);
	mat_view_end(t);
	mat_view_close(v);
	sl_buf_free(&key);
	return n;
}

static size_t
view_count(const char *dir)
{
	struct mat_view *v;
	struct mat_view_txn *t;
	size_t n = 0;

	ck_assert_int_eq(mat_view_open(dir, &v, NULL), 0);
	ck_assert_int_eq(mat_view_begin(v, &t, NULL), 0);
	ck_assert_int_eq(mat_view_scan(t, "public.users", sl_slice_make(NULL, 0), 0, count_row,
	    &n, NULL), 0);
	mat_view_end(t);
	mat_view_close(v);
	return n;
}

/* -------------------------------------------------------------- key order */

START_TEST(int_keys_compare_with_memcmp_in_numeric_order)
{
	int i;

	for (i = 0; i < 20000; i++) {
		int64_t a = (int64_t)rng(), b = (int64_t)rng();
		struct sch_value x, y;

		if (i % 3 == 0)
			b = a + (int64_t)(rng() % 5) - 2;
		if (i % 7 == 0)
			a = (int64_t)(rng() % 1000) - 500;
		x = sch_value_int64(a);
		y = sch_value_int64(b);
		ck_assert_int_eq(enc_cmp(&x, &y), a < b ? -1 : a > b);
	}
}
END_TEST

START_TEST(text_keys_compare_with_memcmp_in_byte_order)
{
	char a[16], b[16];
	int i, j;

	for (i = 0; i < 20000; i++) {
		size_t la = rng() % 8, lb = rng() % 8, n;
		struct sch_value x, y;
		int want;

		for (j = 0; j < 8; j++) {
			a[j] = (char)(rng() % 4);	/* small alphabet with NULs */
			b[j] = (char)(rng() % 4);
		}
		if (i % 2)
			memcpy(b, a, 8);
		n = la < lb ? la : lb;
		want = memcmp(a, b, n);
		want = want ? sign(want) : la < lb ? -1 : la > lb;
		x = sch_value_text(a, la);
		y = sch_value_text(b, lb);
		ck_assert_int_eq(enc_cmp(&x, &y), want);
	}
}
END_TEST

START_TEST(doubles_and_timestamps_keep_their_order)
{
	double d[] = { -INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, 1e300, INFINITY, NAN };
	struct sch_value x, y;
	size_t i;

	for (i = 0; i + 1 < SL_ARRAY_LEN(d); i++) {
		x = sch_value_null();
		x.kind = SCH_DOUBLE;
		x.u.f64 = d[i];
		y = x;
		y.u.f64 = d[i + 1];
		ck_assert_int_eq(enc_cmp(&x, &y), -1);
	}
	x = sch_value_null();
	x.kind = SCH_TIMESTAMPTZ;
	x.inf = SCH_INF_NEG;
	y = x;
	y.inf = 0;
	y.u.ts_us = INT64_MIN / 2;
	ck_assert_int_eq(enc_cmp(&x, &y), -1);
	x = y;
	y.u.ts_us = -1;
	ck_assert_int_eq(enc_cmp(&x, &y), -1);
	x = y;
	y.u.ts_us = 5;
	ck_assert_int_eq(enc_cmp(&x, &y), -1);
	x = y;
	y.inf = SCH_INF_POS;
	y.u.ts_us = 0;
	ck_assert_int_eq(enc_cmp(&x, &y), -1);
}
END_TEST

START_TEST(a_composite_key_starts_with_the_encoding_of_its_first_column)
{
	struct sl_buf one = { 0 }, two = { 0 };
	struct sch_value a = txt("ab"), b = sch_value_int64(3), c = txt("abc");

	ck_assert_int_eq(mat_key_encode_value(&a, &one), 0);
	ck_assert_int_eq(mat_key_encode_value(&a, &two), 0);
	ck_assert_int_eq(mat_key_encode_value(&b, &two), 0);
	ck_assert_int_eq(memcmp(one.p, two.p, one.len), 0);
	sl_buf_reset(&two);
	ck_assert_int_eq(mat_key_encode_value(&c, &two), 0);
	/* "ab" is not a prefix of "abc" once encoded: columns are delimited */
	ck_assert_int_ne(memcmp(one.p, two.p, one.len), 0);
	a = sch_value_unchanged();
	ck_assert_int_eq(mat_key_encode_value(&a, &one), SL_EINVAL);
	sl_buf_free(&one);
	sl_buf_free(&two);
}
END_TEST

/* -------------------------------------------------------------- row records */

START_TEST(row_records_round_trip_every_kind)
{
	struct sch_value v[12], elems[2], *out;
	struct mat_pos pos = { 3, 42, 0x1234 }, pos2;
	struct sl_buf b = { 0 };
	struct sl_arena a = { 0 };
	uint64_t sid;
	uint32_t n, i;
	static const uint8_t bytes[] = { 0, 1, 2, 255 };

	v[0] = sch_value_null();
	v[1] = sch_value_int64(-77);
	v[2] = txt("hello");
	v[3] = sch_value_null();
	v[3].kind = SCH_BYTES;
	v[3].u.bytes = sl_slice_make(bytes, sizeof(bytes));
	v[4] = sch_value_null();
	v[4].kind = SCH_DOUBLE;
	v[4].u.f64 = -0.0;
	v[5] = sch_value_null();
	v[5].kind = SCH_UUID;
	memset(v[5].u.uuid, 0xab, 16);
	v[6] = sch_value_null();
	v[6].kind = SCH_DATE;
	v[6].inf = SCH_INF_NEG;
	v[7] = sch_value_null();
	v[7].kind = SCH_TIMESTAMPTZ;
	v[7].u.ts_us = 1700000000123456;
	v[8] = sch_value_null();
	v[8].kind = SCH_INTERVAL;
	v[8].u.interval.months = -1;
	v[8].u.interval.days = 2;
	v[8].u.interval.us = 3;
	elems[0] = sch_value_int64(1);
	elems[1] = sch_value_null();
	v[9] = sch_value_null();
	v[9].kind = SCH_ARRAY;
	v[9].u.array.v = elems;
	v[9].u.array.n = 2;
	v[9].u.array.elem_oid = 20;
	v[10] = sch_value_unchanged();
	v[11] = sch_value_null();
	v[11].kind = SCH_TIMETZ;
	v[11].u.timetz.time_us = 3600;
	v[11].u.timetz.offset_s = -7200;
	mat_row_encode(99, &pos, v, 12, &b);
	ck_assert_int_eq(mat_row_header(sl_buf_slice(&b), &sid, &pos2, &n, NULL, NULL), 0);
	ck_assert_uint_eq(sid, 99);
	ck_assert_int_eq(pos2.partition, 3);
	ck_assert_int_eq(pos2.offset, 42);
	ck_assert_uint_eq(pos2.lsn, 0x1234);
	ck_assert_int_eq(mat_row_decode(sl_buf_slice(&b), &a, &out, &n, NULL), 0);
	ck_assert_uint_eq(n, 12);
	for (i = 0; i < 12; i++)
		ck_assert_msg(sch_value_equal(&v[i], &out[i]), "value %u differs", i);
	ck_assert_str_eq(out[2].u.s.p, "hello");	/* zero-copy and NUL-terminated */
	sl_buf_free(&b);
	sl_arena_free(&a);
}
END_TEST

START_TEST(every_truncation_of_a_row_record_is_corruption)
{
	struct sch_value v[3] = { sch_value_int64(1), txt("abcdef"), sch_value_null() };
	struct mat_pos pos = { 0, 1, 0 };
	struct sl_buf b = { 0 };
	struct sl_arena a = { 0 };
	struct sl_err err;
	struct sch_value *out;
	uint32_t n;
	size_t len;

	mat_row_encode(1, &pos, v, 3, &b);
	for (len = 0; len < b.len; len++) {
		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(mat_row_decode(sl_slice_make(b.p, len), &a, &out, &n, &err),
		    SL_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(err.msg, "offset"));
		sl_arena_reset(&a);
	}
	/* a huge length is refused before anything is allocated */
	ck_assert_int_eq(mat_row_header(sl_buf_slice(&b), NULL, NULL, NULL, &len, NULL), 0);
	b.p[len] = 0xff;
	ck_assert_int_eq(mat_row_decode(sl_buf_slice(&b), &a, &out, &n, NULL), SL_ECORRUPT);
	sl_buf_free(&b);
	sl_arena_free(&a);
}
END_TEST

/* Views built before row version 2 stay readable: the fixed 29-byte header. */
START_TEST(a_version_1_row_record_still_decodes)
{
	static const uint8_t v1[] = {
		1, 0, 0, 0, 0, 0, 0, 0, 99,	/* version, schema id */
		0, 0, 0, 3,			/* partition */
		0, 0, 0, 0, 0, 0, 0, 42,	/* offset */
		0, 0, 0, 0, 0, 0, 0x12, 0x34,	/* LSN */
		2,				/* two values */
		SCH_INT64, 0x0e,		/* zigzag 7 */
		SCH_TEXT, 2, 'h', 'i', 0,
	};
	struct mat_pos pos = { 0 };
	struct sl_buf b = { 0 };
	struct sl_arena a = { 0 };
	struct sch_value *out;
	uint64_t sid = 0;
	uint32_t n = 0;

	ck_assert_int_eq(mat_row_header(sl_slice_make(v1, sizeof(v1)), &sid, &pos, &n, NULL,
	    NULL), 0);
	ck_assert_uint_eq(sid, 99);
	ck_assert_int_eq(pos.partition, 3);
	ck_assert_int_eq(pos.offset, 42);
	ck_assert_uint_eq(pos.lsn, 0x1234);
	ck_assert_int_eq(mat_row_decode(sl_slice_make(v1, sizeof(v1)), &a, &out, &n, NULL), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(out[0].u.i64, 7);
	ck_assert_str_eq(out[1].u.s.p, "hi");
	/* written again, it is version 2 and 16 bytes shorter, same content */
	mat_row_encode(sid, &pos, out, n, &b);
	ck_assert_uint_eq(b.p[0], 2);
	ck_assert_uint_eq(b.len, sizeof(v1) - 16);
	ck_assert_int_eq(mat_row_decode(sl_buf_slice(&b), &a, &out, &n, NULL), 0);
	ck_assert_str_eq(out[1].u.s.p, "hi");
	sl_buf_free(&b);
	sl_arena_free(&a);
}
END_TEST

/* A version 2 header with a partition or offset no Kafka position can have. */
START_TEST(a_row_header_out_of_range_is_corruption)
{
	static const uint8_t big_part[] = { 2, 0, 0, 0, 0, 0, 0, 0, 1,
		0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0 };	/* partition 2^31 */
	static const uint8_t big_off[] = { 2, 0, 0, 0, 0, 0, 0, 0, 1, 0,
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0 };	/* 2^63 */
	static const uint8_t v3[] = { 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	/* version 1 with a negative partition: the fuzzer's find */
	static const uint8_t v1_neg[] = { 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct sl_err err;

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mat_row_header(sl_slice_make(big_part, sizeof(big_part)), NULL, NULL,
	    NULL, NULL, &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "partition out of range at offset 14"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mat_row_header(sl_slice_make(big_off, sizeof(big_off)), NULL, NULL,
	    NULL, NULL, &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "offset out of range"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mat_row_header(sl_slice_make(v3, sizeof(v3)), NULL, NULL, NULL, NULL,
	    &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown version 3 at offset 0 (this program reads 1 to 2; if a newer sluice"));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(mat_row_header(sl_slice_make(v1_neg, sizeof(v1_neg)), NULL, NULL, NULL,
	    NULL, &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "partition out of range at offset 9"));
}
END_TEST

/* ------------------------------------------------------------------ apply */

START_TEST(inserts_updates_deletes_and_truncates_are_applied)
{
	char *d = tmpdir();
	struct fx f;
	char *j;

	fx_open(&f, d, 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", "hi"), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "bob", "b@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "anne", "a@x", "hi"), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	j = view_get_json(d, 1);
	ck_assert_str_eq(j, "{\"id\":1,\"name\":\"anne\",\"email\":\"a@x\",\"bio\":\"hi\"}");
	free(j);
	ck_assert_uint_eq(view_count(d), 2);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_DELETE, 2, NULL, NULL, NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_ptr_null(view_get_json(d, 2));
	ck_assert_uint_eq(view_count(d), 1);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_TRUNCATE, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(view_count(d), 0);
	ck_assert_int_eq(mat_lmdb_check_(f.sink, NULL), 0);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(a_truncate_removes_the_rows_last_written_from_its_own_partition)
{
	char *d = tmpdir();
	struct fx f;
	char *j;

	fx_open(&f, d, 1);
	f.partition = 0;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "p0", "a@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "p0", "a@x", NULL), 0);
	f.partition = 1;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "p1", "a@x", NULL), 0);
	/* partition 0 ran ahead: its truncate and a new row came first */
	f.partition = 0;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_TRUNCATE, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 4, "p0 after", "a@x", NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(view_count(d), 2);	/* 3 (partition 1) and 4 */
	ck_assert_uint_eq(view_lookup_count(d, "a@x"), 2);
	f.partition = 1;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_TRUNCATE, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(view_count(d), 1);
	ck_assert_ptr_null(view_get_json(d, 3));
	j = view_get_json(d, 4);
	ck_assert_ptr_nonnull(j);
	free(j);
	ck_assert_int_eq(mat_lmdb_check_(f.sink, NULL), 0);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(an_unchanged_value_is_taken_from_the_stored_row)
{
	char *d = tmpdir();
	struct mat_sink_stats st;
	struct fx f;
	char *j;

	fx_open(&f, d, 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", "a long toasted bio"), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "ann2", "a@x", "(unchanged)"), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	j = view_get_json(d, 1);
	ck_assert_str_eq(j, "{\"id\":1,\"name\":\"ann2\",\"email\":\"a@x\","
	    "\"bio\":\"a long toasted bio\"}");
	free(j);
	/* within one transaction too: the row put earlier in the batch counts */
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "ann3", "a@x", "new bio"), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "ann4", "a@x", "(unchanged)"), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	j = view_get_json(d, 1);
	ck_assert_str_eq(j, "{\"id\":1,\"name\":\"ann4\",\"email\":\"a@x\",\"bio\":\"new bio\"}");
	free(j);
	/* no stored row: counted, and kept as the marker */
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 9, "zed", NULL, "(unchanged)"), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	mat_lmdb_stats(f.sink, &st);
	ck_assert_uint_eq(st.unresolved, 1);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(secondary_indexes_follow_inserts_updates_and_deletes)
{
	char *d = tmpdir();
	struct fx f;
	int i;

	fx_open(&f, d, 1);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "bob", "shared@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "cy", "shared@x", NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_int_eq(mat_lmdb_check_(f.sink, NULL), 0);
	ck_assert_uint_eq(view_lookup_count(d, "a@x"), 1);
	ck_assert_uint_eq(view_lookup_count(d, "shared@x"), 2);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "ann", "new@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_DELETE, 3, NULL, NULL, NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_int_eq(mat_lmdb_check_(f.sink, NULL), 0);
	ck_assert_uint_eq(view_lookup_count(d, "a@x"), 0);
	ck_assert_uint_eq(view_lookup_count(d, "new@x"), 1);
	ck_assert_uint_eq(view_lookup_count(d, "shared@x"), 1);
	/* random churn keeps invariant (2) */
	for (i = 0; i < 2000; i++) {
		char email[16];
		int64_t id = (int64_t)(rng() % 50);

		snprintf(email, sizeof(email), "e%d", (int)(rng() % 7));
		ck_assert_int_eq(fx_apply(&f, rng() % 4 == 0 ? SCH_OP_DELETE : SCH_OP_UPDATE, id,
		    "n", email, rng() % 3 == 0 ? "(unchanged)" : "b"), 0);
		if (i % 100 == 99)
			ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	}
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_int_eq(mat_lmdb_check_(f.sink, NULL), 0);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(the_offset_is_stored_in_the_same_transaction_as_the_rows)
{
	char *d = tmpdir();
	struct fx f;
	int64_t next;
	struct mat_origin o = { "t", 0, 0 };

	fx_open(&f, d, 1);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "bob", "b@x", NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "cy", "c@x", NULL), 0);
	ck_assert_int_eq(mat_lmdb_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 3);	/* seen inside the open transaction */
	/* a crash before the commit: the process dies with the txn open */
	mat_lmdb_abort(f.sink);
	mat_lmdb_close(f.sink);
	ck_assert_int_eq(mat_lmdb_open(d, &f.conf, &f.sink, NULL), 0);
	ck_assert_int_eq(mat_lmdb_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 2);	/* neither row 3 nor its offset */
	ck_assert_ptr_null(view_get_json(d, 3));
	ck_assert_uint_eq(view_count(d), 2);
	ck_assert_int_eq(mat_lmdb_offset_get(f.sink, "other", 0, &next, NULL), 0);
	ck_assert_int_eq(next, -1);
	/* a replay of what is stored is skipped, the next offset applied */
	o.offset = 1;
	ck_assert_int_eq(mat_lmdb_apply(f.sink, NULL, &o, NULL), 1);
	o.offset = 2;
	ck_assert_int_eq(mat_lmdb_apply(f.sink, NULL, &o, NULL), 0);	/* a tombstone */
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_int_eq(mat_lmdb_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 3);
	ck_assert_int_eq(mat_lmdb_check_(f.sink, NULL), 0);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

/* The marker of a view opened with sync = none, or NULL when absent. */
static char *
marker_read(const char *dir)
{
	char *path = sl_asprintf("%s/%s", dir, MAT_UNSYNCED_FILE);
	struct sl_buf b = { 0 };
	char *res = NULL;

	if (sl_file_read(path, 128, &b) == 0) {
		sl_buf_add_u8(&b, 0);
		res = sl_strdup((const char *)b.p);
	}
	sl_buf_free(&b);
	free(path);
	return res;
}

static void
marker_write(const char *dir, const char *text)
{
	char *path = sl_asprintf("%s/%s", dir, MAT_UNSYNCED_FILE);

	ck_assert_int_eq(sl_file_write_atomic(path, text, strlen(text)), 0);
	free(path);
}

/*
 * sync = none: the view's folder holds a marker naming this boot while
 * commits may be unflushed, and none after a clean close.  A marker of
 * another boot (the system went down with commits in memory) makes readers
 * and the writer refuse the view with an error that says what happened;
 * one of this boot (only the process died) is harmless, and opening with
 * sync = nometa flushes and removes it.
 */
START_TEST(a_view_left_unflushed_by_a_system_crash_is_refused_not_read)
{
	char *d = tmpdir();
	struct sl_buf boot = { 0 };
	struct mat_view *v = NULL;
	struct sl_err err = { 0 };
	struct fx f;
	char *m;

	ck_assert_int_eq(sl_file_read("/proc/sys/kernel/random/boot_id", 128, &boot), 0);
	sl_buf_add_u8(&boot, 0);
	fx_open(&f, d, 0);	/* sync = none */
	m = marker_read(d);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, (const char *)boot.p);
	free(m);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(view_count(d), 1);	/* the same boot: readable */
	mat_lmdb_close(f.sink);
	ck_assert_ptr_null(marker_read(d));	/* flushed and unmarked */

	/* the process died with commits unflushed, the system went on */
	marker_write(d, (const char *)boot.p);
	ck_assert_uint_eq(view_count(d), 1);
	f.conf.sync = MAT_SYNC_NOMETA;
	ck_assert_int_eq(mat_lmdb_open(d, &f.conf, &f.sink, NULL), 0);
	ck_assert_ptr_null(marker_read(d));	/* flushed at open */
	mat_lmdb_close(f.sink);

	/* the system went down: the marker names another boot */
	marker_write(d, "00000000-0000-0000-0000-000000000000\n");
	ck_assert_int_eq(mat_view_open(d, &v, &err), SL_ECORRUPT);
	ck_assert_ptr_null(v);
	ck_assert_msg(strstr(err.msg, "sync = none") != NULL &&
	    strstr(err.msg, "00000000-0000") != NULL &&
	    strstr(err.msg, "rebuilds it") != NULL, "%s", err.msg);
	memset(&err, 0, sizeof(err));
	f.conf.sync = MAT_SYNC_NONE;
	ck_assert_int_eq(mat_lmdb_open(d, &f.conf, &f.sink, &err), SL_ECORRUPT);
	ck_assert_ptr_null(f.sink);
	ck_assert_ptr_nonnull(strstr(err.msg, "view test may be corrupt"));
	m = marker_read(d);	/* still there: nothing trusted it */
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, "00000000-0000-0000-0000-000000000000\n");
	free(m);
	/* an unreadable marker is not trusted either */
	marker_write(d, "");
	ck_assert_int_eq(mat_view_open(d, &v, NULL), SL_ECORRUPT);

	sl_buf_free(&boot);
	free(f.dir);
	sl_rm_rf(d);
	free(d);
}
END_TEST

/* ---------------------------------------------------------------- JSON */

START_TEST(the_json_reader_is_strict)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\\x\"", "\"\x01\"",
		"\"\\ud800\"", "\"\xc3\"", "\"\xc0\x80\"", "tru", "nul", "{\"a\" 1}", "[1] 2",
		"// c\n1", "'a'", "[1 2]", "NaN",
	};
	static const char good[] = "{\"a\":[1,-2.5e3,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}";
	struct sl_arena a = { 0 };
	struct mat_json j;
	const struct mat_json *m;
	struct sl_buf deep = { 0 };
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(bad); i++)
		ck_assert_msg(mat_json_parse(sl_slice_make(bad[i], strlen(bad[i])), &a, &j,
		    NULL) == SL_ECORRUPT, "accepted %s", bad[i]);
	ck_assert_int_eq(mat_json_parse(sl_slice_make(good, strlen(good)), &a, &j, NULL), 0);
	m = mat_json_get(&j, "a");
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n, 3);
	ck_assert_str_eq(m->items[1].s, "-2.5e3");
	ck_assert_str_eq(m->items[2].s, "\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_int_eq(mat_json_get(&j, "b")->type, MAT_JSON_NULL);
	for (i = 0; i < MAT_JSON_MAX_DEPTH + 2; i++)
		sl_buf_add_u8(&deep, '[');
	ck_assert_int_eq(mat_json_parse(sl_buf_slice(&deep), &a, &j, NULL), SL_ECORRUPT);
	sl_buf_free(&deep);
	sl_arena_free(&a);
}
END_TEST

START_TEST(a_debezium_envelope_becomes_an_event)
{
	static const char key[] = "{\"id\":5}";
	static const char val[] = "{\"before\":null,\"after\":{\"id\":5,\"name\":\"x\","
	    "\"bio\":\"__debezium_unavailable_value\",\"score\":1.5,\"tags\":[1,2]},"
	    "\"source\":{\"connector\":\"postgresql\",\"db\":\"app\",\"schema\":\"public\","
	    "\"table\":\"t\",\"lsn\":1234},\"op\":\"u\",\"ts_ms\":1}";
	static const char tx[] = "{\"status\":\"BEGIN\",\"id\":\"1:2\"}";
	struct sl_arena a = { 0 };
	struct sch_event ev;

	ck_assert_int_eq(mat_json_event_decode(sl_slice_make(key, strlen(key)),
	    sl_slice_make(val, strlen(val)), &a, &ev, NULL), 0);
	ck_assert_int_eq(ev.op, SCH_OP_UPDATE);
	ck_assert_str_eq(ev.table->schema, "public");
	ck_assert_uint_eq(ev.table->n_columns, 5);
	ck_assert(ev.table->columns[0].is_key);
	ck_assert(!ev.table->columns[1].is_key);
	ck_assert(ev.table->schema_id & MAT_SCHEMA_ID_JSON);
	ck_assert_int_eq(ev.after[0].kind, SCH_INT64);
	ck_assert_int_eq(ev.after[2].kind, SCH_UNCHANGED);
	ck_assert_int_eq(ev.after[3].kind, SCH_DOUBLE);
	ck_assert_int_eq(ev.after[4].kind, SCH_JSON);
	ck_assert_uint_eq(ev.source.lsn, 1234);
	ck_assert_ptr_null(ev.before);
	ck_assert_int_eq(mat_json_event_decode(sl_slice_make(NULL, 0),
	    sl_slice_make(tx, strlen(tx)), &a, &ev, NULL), SL_ENOTFOUND);
	sl_arena_free(&a);
}
END_TEST

/* -------------------------------------------------------------- config */

START_TEST(view_sections_get_defaults_and_precise_errors)
{
	static const char ok[] = "[broker]\nlisten = 127.0.0.1:9999\n"
	    "[view \"users\"]\ntopics = a.public.users, a.public.orders\npath = /tmp/v\n"
	    "index.by_email = email\nindex.by_name = last, first\n";
	static const char bad[] = "[view \"users\"]\ntopics = t\npath = /tmp/v\n"
	    "bootstrap = h:1\nformat = xml\n";
	static const char unknown[] = "[view \"users\"]\ntopics = t\npath = /tmp/v\n"
	    "bootstrap = h:1\ncolour = red\n";
	struct sl_config *cfg;
	struct mat_view_conf *c;
	struct sl_err err = { 0 };

	ck_assert_int_eq(sl_config_parse("t.ini", ok, &cfg, NULL), 0);
	ck_assert_int_eq(mat_conf_load(cfg, sl_config_section(cfg, "view", "users"),
	    "127.0.0.1:9999", &c, &err), 0);
	ck_assert_str_eq(c->group_id, "sluice-view-users");
	ck_assert_str_eq(c->bootstrap, "127.0.0.1:9999");
	ck_assert_uint_eq(c->n_topics, 2);
	ck_assert_str_eq(c->topics[1], "a.public.orders");
	ck_assert_uint_eq(c->n_indexes, 2);
	ck_assert_uint_eq(c->indexes[1].n_columns, 2);
	ck_assert_str_eq(c->indexes[1].columns[1], "first");
	ck_assert_int_eq(c->batch_ms, 50);
	ck_assert_int_eq(c->format, MAT_FORMAT_PROTOBUF);
	mat_conf_free(c);
	sl_config_free(cfg);
	ck_assert_int_eq(sl_config_parse("b.ini", bad, &cfg, NULL), 0);
	ck_assert_int_eq(mat_conf_load(cfg, &cfg->sections[0], NULL, &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "b.ini:5"));
	sl_config_free(cfg);
	ck_assert_int_eq(sl_config_parse("u.ini", unknown, &cfg, NULL), 0);
	ck_assert_int_eq(mat_conf_load(cfg, &cfg->sections[0], NULL, &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "colour"));
	sl_config_free(cfg);
}
END_TEST

START_TEST(offset_commits_to_the_broker_default_to_every_5s_and_are_bounded)
{
	static const char *const cases[][2] = {
		{ "", "5000" },
		{ "offset_commit_interval = 250ms\n", "250" },
		{ "offset_commit_interval = 0\n", "0" },
		{ "offset_commit_interval = 2h\n", NULL },
		{ "offset_commit_interval = soon\n", NULL },
	};
	struct sl_config *cfg;
	struct mat_view_conf *c;
	struct sl_err err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = sl_asprintf("[view \"v\"]\ntopics = t\npath = /tmp/v\n"
		    "bootstrap = h:1\n%s", cases[i][0]);
		int rc;

		ck_assert_int_eq(sl_config_parse("o.ini", text, &cfg, NULL), 0);
		c = NULL;
		rc = mat_conf_load(cfg, &cfg->sections[0], NULL, &c, &err);
		if (cases[i][1] != NULL) {
			ck_assert_int_eq(rc, 0);
			ck_assert_int_eq(c->offset_commit_interval, atoll(cases[i][1]));
		} else {
			ck_assert_int_eq(rc, SL_ECONFIG);
			ck_assert_ptr_nonnull(strstr(err.msg, "o.ini:5"));
			ck_assert_ptr_nonnull(strstr(err.msg, "offset_commit_interval"));
		}
		mat_conf_free(c);
		sl_config_free(cfg);
		free(text);
	}
}
END_TEST

/* ------------------------------------------------------------- rebuild */

struct reader {
	const char *path;
	size_t want;
	atomic_int stop;
	atomic_int loops, errors, partial;
};

static void *
reader_loop(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(&r->stop)) {
		struct mat_view *v;
		struct mat_view_txn *t;
		size_t n = 0;

		if (mat_view_open(r->path, &v, NULL) != 0) {
			atomic_fetch_add(&r->errors, 1);
			continue;
		}
		if (mat_view_begin(v, &t, NULL) != 0 ||
		    mat_view_scan(t, "public.users", sl_slice_make(NULL, 0), 0, count_row, &n,
		    NULL) != 0)
			atomic_fetch_add(&r->errors, 1);
		else if (n != r->want)
			atomic_fetch_add(&r->partial, 1);
		mat_view_end(t);
		mat_view_close(v);
		atomic_fetch_add(&r->loops, 1);
	}
	return NULL;
}

static void
fill(const char *dir, int version, size_t rows)
{
	struct fx f;
	size_t i;

	fx_open(&f, dir, 1);
	for (i = 0; i < rows; i++)
		ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, (int64_t)i,
		    version == 1 ? "old" : "new", "e", NULL), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	fx_close(&f);
}

START_TEST(a_rebuild_swap_never_shows_a_reader_an_error_or_a_partial_view)
{
	char *d = tmpdir();
	char *path = sl_asprintf("%s/users", d);
	struct sl_buf live = { 0 }, next = { 0 }, old = { 0 };
	struct reader r;
	pthread_t th;
	char *j;
	int round;

	ck_assert_int_eq(mat_path_resolve(path, 1, &live, NULL), 0);
	fill((const char *)live.p, 1, 300);
	memset(&r, 0, sizeof(r));
	r.path = path;
	r.want = 300;
	ck_assert_int_eq(pthread_create(&th, NULL, reader_loop, &r), 0);
	for (round = 0; round < 5; round++) {
		ck_assert_int_eq(mat_path_next(path, &next, NULL), 0);
		fill((const char *)next.p, 2, 300);
		while (atomic_load(&r.loops) < 3 * (round + 1))
			usleep(1000);
		ck_assert_int_eq(mat_path_swap(path, (const char *)next.p, &old, NULL), 0);
		ck_assert_str_ne((const char *)old.p, (const char *)next.p);
		ck_assert_int_eq(sl_rm_rf((const char *)old.p), 0);
	}
	while (atomic_load(&r.loops) < 20)
		usleep(1000);
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&r.errors), 0);
	ck_assert_int_eq(atomic_load(&r.partial), 0);
	j = view_get_json(path, 7);
	ck_assert_ptr_nonnull(strstr(j, "\"new\""));
	free(j);
	ck_assert_int_eq(access((const char *)old.p, F_OK), -1);	/* removed */
	sl_buf_free(&live);
	sl_buf_free(&next);
	sl_buf_free(&old);
	sl_rm_rf(d);
	free(path);
	free(d);
}
END_TEST

START_TEST(an_open_reader_moves_to_the_swapped_view_on_request)
{
	char *d = tmpdir();
	char *path = sl_asprintf("%s/users", d);
	struct sl_buf live = { 0 }, next = { 0 }, old = { 0 };
	struct mat_view *v;
	int swapped;

	ck_assert_int_eq(mat_path_resolve(path, 1, &live, NULL), 0);
	fill((const char *)live.p, 1, 10);
	ck_assert_int_eq(mat_view_open(path, &v, NULL), 0);
	ck_assert_int_eq(mat_view_reopen_if_swapped(v, &swapped, NULL), 0);
	ck_assert_int_eq(swapped, 0);
	ck_assert_int_eq(mat_path_next(path, &next, NULL), 0);
	fill((const char *)next.p, 2, 20);
	ck_assert_int_eq(mat_path_swap(path, (const char *)next.p, &old, NULL), 0);
	ck_assert_int_eq(sl_rm_rf((const char *)old.p), 0);
	ck_assert_int_eq(mat_view_reopen_if_swapped(v, &swapped, NULL), 0);
	ck_assert_int_eq(swapped, 1);
	mat_view_close(v);
	ck_assert_uint_eq(view_count(path), 20);
	sl_buf_free(&live);
	sl_buf_free(&next);
	sl_buf_free(&old);
	sl_rm_rf(d);
	free(path);
	free(d);
}
END_TEST

START_TEST(the_documented_example_program_reads_a_view)
{
	char *d = tmpdir();
	char *out = sl_asprintf("%s/out.txt", d);
	char *argv[] = { "view_read", d, "public.users", "2", NULL };
	struct sl_buf text = { 0 };
	struct fx f;
	int saved, fd;

	fx_open(&f, d, 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "bob", "b@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", NULL, "hi"), 0);
	ck_assert_int_eq(mat_lmdb_commit(f.sink, NULL), 0);
	fx_close(&f);
	fflush(stdout);
	saved = dup(1);
	ck_assert_ptr_nonnull(freopen(out, "w", stdout));
	ck_assert_int_eq(view_read_main(4, argv), 0);
	fflush(stdout);
	fd = dup2(saved, 1);
	ck_assert_int_eq(fd, 1);
	close(saved);
	ck_assert_int_eq(sl_file_read(out, 1 << 20, &text), 0);
	sl_buf_add_u8(&text, 0);
	ck_assert_str_eq((const char *)text.p,
	    "id=2 name=bob email=b@x bio=NULL\n"
	    "id=1 name=ann email=NULL bio=hi\n"
	    "id=2 name=bob email=b@x bio=NULL\n");
	sl_buf_free(&text);
	free(out);
	sl_rm_rf(d);
	free(d);
}
END_TEST

Suite *mat_suite(void);

Suite *
mat_suite(void)
{
	Suite *s = suite_create("mat");
	TCase *tc = tcase_create("mat");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, int_keys_compare_with_memcmp_in_numeric_order);
	tcase_add_test(tc, text_keys_compare_with_memcmp_in_byte_order);
	tcase_add_test(tc, doubles_and_timestamps_keep_their_order);
	tcase_add_test(tc, a_composite_key_starts_with_the_encoding_of_its_first_column);
	tcase_add_test(tc, row_records_round_trip_every_kind);
	tcase_add_test(tc, every_truncation_of_a_row_record_is_corruption);
	tcase_add_test(tc, a_version_1_row_record_still_decodes);
	tcase_add_test(tc, a_row_header_out_of_range_is_corruption);
	tcase_add_test(tc, inserts_updates_deletes_and_truncates_are_applied);
	tcase_add_test(tc, a_truncate_removes_the_rows_last_written_from_its_own_partition);
	tcase_add_test(tc, an_unchanged_value_is_taken_from_the_stored_row);
	tcase_add_test(tc, secondary_indexes_follow_inserts_updates_and_deletes);
	tcase_add_test(tc, the_offset_is_stored_in_the_same_transaction_as_the_rows);
	tcase_add_test(tc, a_view_left_unflushed_by_a_system_crash_is_refused_not_read);
	tcase_add_test(tc, the_json_reader_is_strict);
	tcase_add_test(tc, a_debezium_envelope_becomes_an_event);
	tcase_add_test(tc, view_sections_get_defaults_and_precise_errors);
	tcase_add_test(tc, offset_commits_to_the_broker_default_to_every_5s_and_are_bounded);
	tcase_add_test(tc, a_rebuild_swap_never_shows_a_reader_an_error_or_a_partial_view);
	tcase_add_test(tc, an_open_reader_moves_to_the_swapped_view_on_request);
	tcase_add_test(tc, the_documented_example_program_reads_a_view);
	suite_add_tcase(s, tc);
	return s;
}
