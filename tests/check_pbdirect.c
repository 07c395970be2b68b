/*
 * tests/check_pbdirect.c: the direct protobuf encoders (sch_event_encode_pb,
 * sch_key_encode_pb) against the protobuf-c reference encoders (the *_ref
 * functions) on many random events: the bytes must be identical, and the
 * protobuf-c decoder must read them back to an equal event.
 *
 * The generator covers every value kind, nested arrays, empty and NULL
 * strings, strings with an embedded NUL, strings long enough for two- and
 * three-byte length prefixes, negative and extreme integers, every op, and
 * absent or present source fields.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl.h"
#include "schemas/sch.h"

/* xorshift64*: deterministic per seed, so a failure names its seed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static uint32_t
rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

/* A random 64-bit integer biased to interesting magnitudes. */
static uint64_t
rnd_int(uint64_t *s)
{
	switch (rnd_below(s, 6)) {
	case 0: return 0;
	case 1: return rnd_below(s, 200);
	case 2: return (uint64_t)-(int64_t)rnd_below(s, 200);
	case 3: return rnd(s) >> rnd_below(s, 64);
	case 4: return rnd_below(s, 2) ? (uint64_t)INT64_MIN : (uint64_t)INT64_MAX;
	default: return rnd(s);
	}
}

/* A random string from 'a' (NUL-terminated), sometimes long or with a NUL. */
static struct sch_str
rnd_str(uint64_t *s, struct sl_arena *a)
{
	struct sch_str r;
	size_t n, i;
	char *p;

	switch (rnd_below(s, 10)) {
	case 0: n = 0; break;
	case 1: n = 100 + rnd_below(s, 400); break;
	case 2: n = rnd_below(s, 20) == 0 ? 17000 + rnd_below(s, 1000) : 130; break;
	default: n = rnd_below(s, 40); break;
	}
	p = sl_arena_alloc(a, n + 1);
	for (i = 0; i < n; i++)
		p[i] = (char)('a' + rnd_below(s, 26));
	if (n > 2 && rnd_below(s, 30) == 0)
		p[rnd_below(s, (uint32_t)n)] = '\0';	/* protobuf-c stops there */
	p[n] = '\0';
	r.p = p;
	r.len = n;
	return r;
}

/* A C string, NULL or "" now and then. */
static const char *
rnd_cstr(uint64_t *s, struct sl_arena *a)
{
	switch (rnd_below(s, 8)) {
	case 0: return NULL;
	case 1: return "";
	default: return rnd_str(s, a).p;
	}
}

static void
rnd_value(uint64_t *s, struct sl_arena *a, int depth, int allow_unchanged,
    struct sch_value *v)
{
	enum sch_kind k;
	uint32_t i;

	memset(v, 0, sizeof(*v));
	do {
		k = (enum sch_kind)(SCH_NULL + rnd_below(s, SCH_OTHER));
	} while ((k == SCH_UNCHANGED && !allow_unchanged) ||
	    (k == SCH_ARRAY && depth >= 3));
	v->kind = k;
	switch (k) {
	case SCH_NULL: case SCH_UNCHANGED: break;
	case SCH_BOOL: v->u.b = (int)rnd_below(s, 3); break;
	case SCH_INT64: v->u.i64 = (int64_t)rnd_int(s); break;
	case SCH_UINT64: v->u.u64 = rnd_int(s); break;
	case SCH_DOUBLE: {
		static const double d[] = { 0.0, -0.0, 1.5, -2.25e300, 1e-310 };
		uint64_t bits = rnd(s);

		if (rnd_below(s, 2))
			v->u.f64 = d[rnd_below(s, 5)];
		else
			memcpy(&v->u.f64, &bits, sizeof(bits));	/* NaNs, Infs too */
		break;
	}
	case SCH_BYTES: {
		struct sch_str b = rnd_str(s, a);

		v->u.bytes = sl_slice_make(b.len ? (const uint8_t *)b.p : NULL, b.len);
		break;
	}
	case SCH_UUID:
		for (i = 0; i < 16; i++)
			v->u.uuid[i] = (uint8_t)rnd(s);
		break;
	case SCH_DATE:
		v->inf = (int)rnd_below(s, 3) - 1;
		v->u.date = v->inf ? 0 : (int32_t)rnd_int(s);
		break;
	case SCH_TIME: v->u.time_us = (int64_t)rnd_int(s); break;
	case SCH_TIMETZ:
		v->u.timetz.time_us = (int64_t)rnd_int(s);
		v->u.timetz.offset_s = (int32_t)rnd_int(s);
		break;
	case SCH_TIMESTAMP: case SCH_TIMESTAMPTZ:
		v->inf = (int)rnd_below(s, 3) - 1;
		v->u.ts_us = v->inf ? 0 : (int64_t)rnd_int(s);
		break;
	case SCH_INTERVAL:
		v->u.interval.months = (int32_t)rnd_int(s);
		v->u.interval.days = (int32_t)rnd_int(s);
		v->u.interval.us = (int64_t)rnd_int(s);
		break;
	case SCH_ARRAY:
		v->u.array.n = rnd_below(s, 5);
		v->u.array.elem_oid = rnd_below(s, 2) ? 0 : (uint32_t)rnd(s);
		v->u.array.v = sl_arena_alloc(a, (v->u.array.n + 1) * sizeof(*v));
		for (i = 0; i < v->u.array.n; i++)
			rnd_value(s, a, depth + 1, 0, &v->u.array.v[i]);
		break;
	default:			/* the text-held kinds */
		v->u.s = rnd_str(s, a);
		break;
	}
}

static struct sch_value *
rnd_image(uint64_t *s, struct sl_arena *a, const struct sch_table *t)
{
	struct sch_value *img = sl_arena_alloc(a, (t->n_columns + 1) * sizeof(*img));
	uint32_t i;

	for (i = 0; i < t->n_columns; i++)
		rnd_value(s, a, 0, !t->columns[i].is_key, &img[i]);
	return img;
}

static void
rnd_source(uint64_t *s, struct sl_arena *a, struct sch_source *src)
{
	memset(src, 0, sizeof(*src));
	src->connector = rnd_below(s, 2) ? "postgresql" : rnd_cstr(s, a);
	src->name = rnd_cstr(s, a);
	src->db = rnd_cstr(s, a);
	src->schema = rnd_cstr(s, a);
	src->table = rnd_cstr(s, a);
	src->ts_ms = (int64_t)rnd_int(s);
	src->ts_us = (int64_t)rnd_int(s);
	src->snapshot = (enum sch_snapshot)rnd_below(s, 7);
	src->has = (unsigned)rnd_below(s, 128);
	src->lsn = rnd_int(s);
	src->last_commit_lsn = rnd_int(s);
	src->txid = rnd_int(s);
	src->xmin = rnd_int(s);
	src->binlog_file = rnd_cstr(s, a);
	src->binlog_pos = rnd_int(s);
	src->server_id = (uint32_t)rnd_int(s);
	src->row = (uint32_t)rnd_int(s);
	src->gtid = rnd_cstr(s, a);
	src->sequence = rnd_int(s);
}

/* Fill '*ev' with a random event, valid most of the time. */
static void
rnd_event(uint64_t *s, struct sl_arena *a, struct sch_event *ev)
{
	static const enum sch_op ops[] = { SCH_OP_CREATE, SCH_OP_UPDATE, SCH_OP_DELETE,
	    SCH_OP_READ, SCH_OP_TRUNCATE, SCH_OP_MESSAGE };
	struct sch_table *t = sl_arena_alloc(a, sizeof(*t));
	uint32_t i;

	memset(ev, 0, sizeof(*ev));
	memset(t, 0, sizeof(*t));
	ev->op = ops[rnd_below(s, 6)];
	t->schema_id = rnd_int(s);
	t->db = rnd_cstr(s, a);
	t->schema = rnd_cstr(s, a);
	t->name = rnd_str(s, a).p;
	t->n_columns = rnd_below(s, 12);
	t->columns = sl_arena_alloc(a, (t->n_columns + 1) * sizeof(*t->columns));
	for (i = 0; i < t->n_columns; i++) {
		struct sch_column *c = &t->columns[i];

		c->name = rnd_str(s, a).p;
		c->type_oid = (uint32_t)rnd_int(s);
		c->type_name = rnd_cstr(s, a);
		c->typmod = rnd_below(s, 2) ? -1 : (int32_t)rnd_int(s);
		c->is_key = rnd_below(s, 3) == 0 ? (int)rnd_below(s, 3) : 0;
		c->nullable = (int)rnd_below(s, 3) - 1;
	}
	if (ev->op == SCH_OP_MESSAGE) {
		struct sch_message *m = sl_arena_alloc(a, sizeof(*m));
		struct sch_str c = rnd_str(s, a);

		m->prefix = rnd_cstr(s, a);
		m->content = sl_slice_make((const uint8_t *)c.p, c.len);
		m->transactional = (int)rnd_below(s, 3);
		m->lsn = rnd_int(s);
		ev->message = m;
		ev->table = rnd_below(s, 4) == 0 ? t : NULL;
	} else {
		ev->table = t;
		if (ev->op == SCH_OP_UPDATE || ev->op == SCH_OP_DELETE)
			if (ev->op == SCH_OP_DELETE || rnd_below(s, 2))
				ev->before = rnd_image(s, a, t);
		if (ev->op == SCH_OP_CREATE || ev->op == SCH_OP_READ ||
		    ev->op == SCH_OP_UPDATE)
			ev->after = rnd_image(s, a, t);
	}
	rnd_source(s, a, &ev->source);
	if (rnd_below(s, 3)) {
		ev->tx.id = rnd_cstr(s, a);
		ev->tx.total_order = rnd_int(s);
		ev->tx.data_collection_order = rnd_int(s);
	}
	ev->ts_ms = (int64_t)rnd_int(s);
}

static void
assert_same(const char *what, uint64_t seed, int i, int rc_ref, int rc,
    const struct sl_buf *ref, const struct sl_buf *got)
{
	ck_assert_msg(rc == rc_ref, "%s seed %llu event %d: rc %d, reference %d", what,
	    (unsigned long long)seed, i, rc, rc_ref);
	ck_assert_msg(got->len == ref->len, "%s seed %llu event %d: %zu bytes, reference %zu",
	    what, (unsigned long long)seed, i, got->len, ref->len);
	ck_assert_msg(ref->len == 0 || memcmp(got->p, ref->p, ref->len) == 0,
	    "%s seed %llu event %d: bytes differ from the reference", what,
	    (unsigned long long)seed, i);
}

START_TEST(direct_event_and_key_bytes_equal_protobuf_c_on_random_events)
{
	struct sl_arena a = { 0 }, da = { 0 };
	struct sl_buf ref = { 0 }, got = { 0 };
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)_i * 7919, s = seed;
	int i, valid = 0, keyed = 0;

	for (i = 0; i < 3000; i++) {
		struct sch_event ev, back;
		struct sl_err err = { 0 };
		int rc_ref, rc;

		sl_arena_reset(&a);
		rnd_event(&s, &a, &ev);
		sl_buf_reset(&ref);
		sl_buf_reset(&got);
		rc_ref = sch_event_encode_pb_ref(&ev, &ref);
		rc = sch_event_encode_pb(&ev, &got);
		assert_same("event", seed, i, rc_ref, rc, &ref, &got);
		if (rc == 0) {
			valid++;
			sl_arena_reset(&da);
			ck_assert_msg(sch_event_decode_pb(sl_buf_slice(&got), &da, &back, &err) == 0,
			    "seed %llu event %d: decode: %s", (unsigned long long)seed, i,
			    err.msg);
			ck_assert_int_eq(back.op, ev.op);
			ck_assert_int_eq(back.ts_ms, ev.ts_ms);
			ck_assert_uint_eq(back.source.lsn, ev.source.lsn);
		}
		if (ev.table == NULL || (ev.before == NULL && ev.after == NULL))
			continue;
		sl_buf_reset(&ref);
		sl_buf_reset(&got);
		rc_ref = sch_key_encode_pb_ref(&ev, &ref);
		rc = sch_key_encode_pb(&ev, &got);
		assert_same("key", seed, i, rc_ref, rc, &ref, &got);
		keyed += rc == 0;
	}
	/* the generator must exercise both paths, or the test proves nothing */
	ck_assert_int_gt(valid, 1000);
	ck_assert_int_gt(keyed, 100);
	sl_arena_free(&a);
	sl_arena_free(&da);
	sl_buf_free(&ref);
	sl_buf_free(&got);
}
END_TEST

START_TEST(direct_encoder_appends_after_existing_bytes)
{
	struct sl_arena a = { 0 };
	struct sl_buf ref = { 0 }, got = { 0 };
	uint64_t s = 42;
	struct sch_event ev;
	int i;

	for (i = 0; i < 200; i++) {
		sl_arena_reset(&a);
		rnd_event(&s, &a, &ev);
		sl_buf_reset(&ref);
		sl_buf_reset(&got);
		sl_buf_add(&ref, "prefix", 6);
		sl_buf_add(&got, "prefix", 6);
		ck_assert_int_eq(sch_event_encode_pb(&ev, &got), sch_event_encode_pb_ref(&ev, &ref));
		ck_assert_uint_eq(got.len, ref.len);
		ck_assert(memcmp(got.p, ref.p, ref.len) == 0);
	}
	sl_arena_free(&a);
	sl_buf_free(&ref);
	sl_buf_free(&got);
}
END_TEST

Suite *pbdirect_suite(void);

Suite *
pbdirect_suite(void)
{
	Suite *s = suite_create("pbdirect");
	TCase *tc = tcase_create("direct");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, direct_event_and_key_bytes_equal_protobuf_c_on_random_events, 0, 8);
	tcase_add_test(tc, direct_encoder_appends_after_existing_bytes);
	suite_add_tcase(s, tc);
	return s;
}
