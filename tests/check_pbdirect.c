/*
 * tests/check_pbdirect.c: the direct protobuf encoders and decoders
 * (sch_event_encode_pb, sch_key_encode_pb, sch_event_decode_pb,
 * sch_key_decode_pb) against their protobuf-c references (the *_ref
 * functions) on many random events: the bytes must be identical, and both
 * decoders must give equal events (compared field by field) or both fail,
 * on the encoded events, every truncation of some, random mutations of
 * them, and hand-made inputs for the protobuf corners listed at the top of
 * schemas/decode_pb.c (unknown fields of every wire type, groups, a
 * singular field given twice, submessages merged, oneof members replaced,
 * wrong wire types, over-long varints).
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
#include "tests/sch_compare.h"

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
		/*
		 * Without a NUL: the direct encoder writes a text whole, protobuf-c
		 * stops at a NUL (text_values_keep_an_embedded_nul tests that).
		 */
		for (i = 0; i < v->u.s.len; i++)
			if (v->u.s.p[i] == '\0')
				((char *)v->u.s.p)[i] = 'z';
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

/*
 * Decode 'in' as an Event and as a Key with both decoders: both must fail
 * with the same code, or give equal results.  Returns the event decode's
 * code; '*ev' is the direct decoder's event (in 'da').
 */
static int
decode_alike(struct sl_slice in, struct sl_arena *da, struct sl_arena *ra,
    struct sch_event *ev, const char *what, uint64_t seed, int i)
{
	struct sch_event rev;
	struct sl_err derr = { 0 }, rerr = { 0 };
	const char **dn, **rn;
	struct sch_value *dv, *rv;
	uint32_t dk, rk, j;
	const char *diff;
	int rc, rrc;

	rc = sch_event_decode_pb(in, da, ev, &derr);
	rrc = sch_event_decode_pb_ref(in, ra, &rev, &rerr);
	ck_assert_msg(rc == rrc, "%s seed %llu #%d (%zu bytes): event rc %d (%s), "
	    "reference %d (%s)", what, (unsigned long long)seed, i, in.len, rc,
	    derr.msg, rrc, rerr.msg);
	if (rc == 0) {
		diff = sc_event_diff(ev, &rev);
		ck_assert_msg(diff == NULL, "%s seed %llu #%d: events differ in %s", what,
		    (unsigned long long)seed, i, diff);
	} else {
		ck_assert_msg(derr.msg[0] != '\0', "%s: error without a message", what);
	}
	{
		int krc = sch_key_decode_pb(in, da, &dn, &dv, &dk, &derr);
		int krrc = sch_key_decode_pb_ref(in, ra, &rn, &rv, &rk, &rerr);

		ck_assert_msg(krc == krrc, "%s seed %llu #%d: key rc %d (%s), reference "
		    "%d (%s)", what, (unsigned long long)seed, i, krc, derr.msg, krrc,
		    rerr.msg);
		if (krc == 0) {
			ck_assert_uint_eq(dk, rk);
			for (j = 0; j < dk; j++) {
				ck_assert_msg(sc_cstr_eq(dn[j], rn[j]), "%s seed %llu #%d: key "
				    "name %u differs", what, (unsigned long long)seed, i, j);
				ck_assert_msg(sc_val_eq(&dv[j], &rv[j]), "%s seed %llu #%d: key "
				    "value %u differs", what, (unsigned long long)seed, i, j);
			}
		}
	}
	return rc;
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

START_TEST(direct_event_and_key_bytes_and_decodes_equal_protobuf_c_on_random_events)
{
	struct sl_arena a = { 0 }, da = { 0 }, ra = { 0 };
	struct sl_buf ref = { 0 }, got = { 0 }, tab = { 0 };
	uint64_t seed = UINT64_C(0x9e3779b97f4a7c15) + (uint64_t)_i * 7919, s = seed;
	int i, valid = 0, keyed = 0, tabled = 0;

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
		/* with the table encoded once beforehand, as capture does */
		sl_buf_reset(&tab);
		if (ev.table != NULL)
			ck_assert_int_eq(sch_table_encode_pb(ev.table, &tab), 0);
		sl_buf_reset(&got);
		rc = sch_event_encode_pb_table(&ev, sl_buf_slice(&tab), &got);
		assert_same("event with its table encoded beforehand", seed, i, rc_ref, rc, &ref,
		    &got);
		tabled += rc == 0 && ev.table != NULL;
		if (rc == 0) {
			valid++;
			sl_arena_reset(&da);
			sl_arena_reset(&ra);
			ck_assert_msg(decode_alike(sl_buf_slice(&got), &da, &ra, &back,
			    "event", seed, i) == 0, "seed %llu event %d: does not decode",
			    (unsigned long long)seed, i);
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
		if (rc == 0) {
			const char **names;
			struct sch_value *vals;
			uint32_t n;

			sl_arena_reset(&da);
			sl_arena_reset(&ra);
			(void)decode_alike(sl_buf_slice(&got), &da, &ra, &back, "key", seed, i);
			ck_assert_int_eq(sch_key_decode_pb(sl_buf_slice(&got), &da, &names,
			    &vals, &n, &err), 0);
			ck_assert_uint_gt(n, 0);
		}
	}
	/* the generator must exercise both paths, or the test proves nothing */
	ck_assert_int_gt(valid, 1000);
	ck_assert_int_gt(keyed, 100);
	ck_assert_int_gt(tabled, 500);
	sl_arena_free(&a);
	sl_arena_free(&da);
	sl_arena_free(&ra);
	sl_buf_free(&ref);
	sl_buf_free(&got);
	sl_buf_free(&tab);
}
END_TEST

/*
 * A text value may hold a NUL (MySQL's can; PostgreSQL's cannot): the
 * direct encoder writes every byte and the direct decoder gives them all
 * back, NUL-terminated after them; JSON escapes it.  The reference
 * (protobuf-c's C strings) stops at the NUL.
 */
START_TEST(text_values_keep_an_embedded_nul)
{
	static const char text[] = "before\0after";
	struct sch_column col = { "v", 0, "text", -1, 1, 1 };
	struct sch_table t = { 7, "app", NULL, "t", &col, 1 };
	struct sch_value after[1];
	struct sch_event ev, back, rback;
	struct sl_arena a = { 0 }, ra = { 0 };
	struct sl_buf pb = { 0 }, js = { 0 };
	struct sl_err err = { 0 };

	memset(&ev, 0, sizeof(ev));
	ev.op = SCH_OP_CREATE;
	ev.table = &t;
	ev.after = after;
	ev.source.connector = "mysql";
	ev.source.name = "app";
	after[0] = sch_value_text(text, sizeof(text) - 1);
	ck_assert_int_eq(sch_event_encode_pb(&ev, &pb), 0);
	ck_assert_int_eq(sch_event_decode_pb(sl_buf_slice(&pb), &a, &back, &err), 0);
	ck_assert_uint_eq(back.after[0].u.s.len, sizeof(text) - 1);
	ck_assert(memcmp(back.after[0].u.s.p, text, sizeof(text)) == 0);
	/* the reference stops at the NUL, and the comparison knows it */
	ck_assert_int_eq(sch_event_decode_pb_ref(sl_buf_slice(&pb), &ra, &rback, &err), 0);
	ck_assert_uint_eq(rback.after[0].u.s.len, 6);
	ck_assert_ptr_null(sc_event_diff(&back, &rback));
	ck_assert_int_eq(sch_event_encode_json(&ev, NULL, &js), 0);
	sl_buf_add_u8(&js, 0);
	ck_assert_ptr_nonnull(strstr((const char *)js.p, "\"v\":\"before\\u0000after\""));
	sl_arena_free(&a);
	sl_arena_free(&ra);
	sl_buf_free(&pb);
	sl_buf_free(&js);
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

/* A random event that encodes, and its bytes in 'out'. */
static void
rnd_encoded(uint64_t *s, struct sl_arena *a, struct sch_event *ev, struct sl_buf *out)
{
	do {
		sl_arena_reset(a);
		rnd_event(s, a, ev);
		sl_buf_reset(out);
	} while (sch_event_encode_pb(ev, out) != 0);
}

START_TEST(every_truncation_decodes_alike)
{
	struct sl_arena a = { 0 }, da = { 0 }, ra = { 0 };
	struct sl_buf b = { 0 }, k = { 0 };
	struct sch_event ev, back;
	uint64_t s = 7;
	size_t len;
	int i, ok = 0;

	for (i = 0; i < 12; i++) {
		do
			rnd_encoded(&s, &a, &ev, &b);
		while (b.len > 6000);		/* keep it quadratic but short */
		sl_buf_reset(&k);
		(void)sch_key_encode_pb(&ev, &k);
		for (len = 0; len <= b.len; len++) {
			sl_arena_reset(&da);
			sl_arena_reset(&ra);
			ok += decode_alike(sl_slice_make(b.p, len), &da, &ra, &back,
			    "event prefix", (uint64_t)len, i) == 0;
		}
		for (len = 0; len <= k.len; len++) {
			sl_arena_reset(&da);
			sl_arena_reset(&ra);
			(void)decode_alike(sl_slice_make(k.p, len), &da, &ra, &back,
			    "key prefix", (uint64_t)len, i);
		}
	}
	ck_assert_int_ge(ok, 12);		/* at least the whole events */
	sl_arena_free(&a);
	sl_arena_free(&da);
	sl_arena_free(&ra);
	sl_buf_free(&b);
	sl_buf_free(&k);
}
END_TEST

/*
 * Flip, insert, delete and duplicate bytes of encoded events and keys:
 * both decoders must still agree.  A cheap, deterministic slice of what
 * the fuzz_pg_types target does.
 */
START_TEST(random_mutations_decode_alike)
{
	struct sl_arena a = { 0 }, da = { 0 }, ra = { 0 };
	struct sl_buf b = { 0 }, m = { 0 };
	struct sch_event ev, back;
	uint64_t seed = 1000 + (uint64_t)_i, s = seed;
	int i, j, ok = 0;

	for (i = 0; i < 400; i++) {
		rnd_encoded(&s, &a, &ev, &b);
		if (rnd_below(&s, 3) == 0) {
			sl_buf_reset(&b);
			if (sch_key_encode_pb(&ev, &b) != 0 || b.len == 0)
				continue;
		}
		for (j = 0; j < 25; j++) {
			size_t at = rnd_below(&s, (uint32_t)b.len), n;

			sl_buf_reset(&m);
			sl_buf_add(&m, b.p, b.len);
			switch (rnd_below(&s, 5)) {
			case 0:
				m.p[at] ^= (uint8_t)(1u << rnd_below(&s, 8));
				break;
			case 1:
				m.p[at] = (uint8_t)rnd(&s);
				break;
			case 2:			/* delete a run */
				n = 1 + rnd_below(&s, 4);
				n = n < m.len - at ? n : m.len - at;
				memmove(m.p + at, m.p + at + n, m.len - at - n);
				m.len -= n;
				break;
			case 3:			/* insert a byte */
				sl_buf_add_u8(&m, 0);
				memmove(m.p + at + 1, m.p + at, m.len - at - 1);
				m.p[at] = (uint8_t)rnd(&s);
				break;
			default:		/* append a copy of a tail */
				sl_buf_add(&m, b.p + at, b.len - at);
				break;
			}
			sl_arena_reset(&da);
			sl_arena_reset(&ra);
			ok += decode_alike(sl_buf_slice(&m), &da, &ra, &back, "mutation",
			    seed, i * 100 + j) == 0;
		}
	}
	ck_assert_int_gt(ok, 100);
	sl_arena_free(&a);
	sl_arena_free(&da);
	sl_arena_free(&ra);
	sl_buf_free(&b);
	sl_buf_free(&m);
}
END_TEST

/* ---------------------------------------------- hand-made wire bytes */

static void
w_varint(struct sl_buf *b, uint64_t v)
{
	sl_buf_add_uvarint(b, v);
}

static void
w_tag(struct sl_buf *b, uint32_t field, int wt)
{
	w_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

static void
w_u64(struct sl_buf *b, uint32_t field, uint64_t v)
{
	w_tag(b, field, 0);
	w_varint(b, v);
}

static void
w_bytes(struct sl_buf *b, uint32_t field, const void *p, size_t n)
{
	w_tag(b, field, 2);
	w_varint(b, n);
	sl_buf_add(b, p, n);
}

static void
w_str(struct sl_buf *b, uint32_t field, const char *str)
{
	w_bytes(b, field, str, strlen(str));
}

static void
w_msg(struct sl_buf *b, uint32_t field, const struct sl_buf *sub)
{
	w_bytes(b, field, sub->p, sub->len);
}

/* One of each unknown wire type (0, 1, 2, 5) as field 'field' and up. */
static void
w_unknown(struct sl_buf *b, uint32_t field)
{
	w_u64(b, field, 300);
	w_tag(b, field + 1, 1);
	sl_buf_add(b, "\1\2\3\4\5\6\7\x88", 8);
	w_str(b, field + 2, "ignored");
	w_tag(b, field + 3, 5);
	sl_buf_add(b, "\xff\xff\xff\xff", 4);
}

/*
 * A valid CREATE: table "t" (columns "a" int4 key, "b" text), after image
 * {int64 7, text "x"}, source connector "postgresql" ts_ms 5; with
 * 'unknown', unknown fields of every wire type in every message.
 */
static void
w_event(struct sl_buf *e, int unknown)
{
	struct sl_buf t = { 0 }, c = { 0 }, v = { 0 }, src = { 0 };

	if (unknown)
		w_unknown(e, 100);
	w_u64(e, 1, 1);				/* op CREATE */
	w_u64(&t, 1, 42);			/* schema_id */
	w_str(&t, 4, "t");
	w_str(&c, 1, "a");
	w_u64(&c, 2, 23);
	w_u64(&c, 5, 1);			/* is_key */
	if (unknown)
		w_unknown(&c, 7);
	w_msg(&t, 5, &c);
	sl_buf_reset(&c);
	w_str(&c, 1, "b");
	w_u64(&c, 2, 25);
	w_msg(&t, 5, &c);
	if (unknown)
		w_unknown(&t, 6);
	w_msg(e, 2, &t);
	w_u64(&v, 4, 14);			/* int64 7, zigzag */
	if (unknown)
		w_unknown(&v, 26);
	w_msg(e, 4, &v);
	sl_buf_reset(&v);
	w_str(&v, 8, "x");
	w_msg(e, 4, &v);
	w_u64(e, 6, 1);				/* has_after */
	w_str(&src, 1, "postgresql");
	w_u64(&src, 6, 5);			/* ts_ms */
	if (unknown)
		w_unknown(&src, 20);
	w_msg(e, 7, &src);
	if (unknown)
		w_unknown(e, 11);
	sl_buf_free(&t);
	sl_buf_free(&c);
	sl_buf_free(&v);
	sl_buf_free(&src);
}

static struct sl_arena h_da, h_ra;

/* Decode 'b' with both; returns the (common) code, '*ev' the direct event. */
static int
h_decode(const struct sl_buf *b, struct sch_event *ev)
{
	sl_arena_reset(&h_da);
	sl_arena_reset(&h_ra);
	return decode_alike(sl_buf_slice(b), &h_da, &h_ra, ev, "hand-made", 0, 0);
}

START_TEST(unknown_fields_of_every_wire_type_are_skipped)
{
	struct sl_buf b = { 0 };
	struct sch_event ev;

	w_event(&b, 1);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_int_eq(ev.op, SCH_OP_CREATE);
	ck_assert_str_eq(ev.table->name, "t");
	ck_assert_uint_eq(ev.table->n_columns, 2);
	ck_assert_int_eq(ev.table->columns[0].is_key, 1);
	ck_assert_int_eq(ev.after[0].kind, SCH_INT64);
	ck_assert_int_eq(ev.after[0].u.i64, 7);
	ck_assert_str_eq(ev.after[1].u.s.p, "x");
	ck_assert_str_eq(ev.source.connector, "postgresql");
	ck_assert_int_eq(ev.source.ts_ms, 5);
	/* a tag spelled in two bytes, field 0: protobuf-c skips it as unknown */
	sl_buf_add(&b, "\x80\x00\x07", 3);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	sl_buf_free(&b);
}
END_TEST

START_TEST(groups_and_reserved_wire_types_are_errors_as_in_protobuf_c)
{
	static const int wts[] = { 3, 4, 6, 7 };
	struct sl_buf b = { 0 };
	struct sch_event ev;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(wts); i++) {
		sl_buf_reset(&b);
		w_event(&b, 0);
		w_tag(&b, 99, wts[i]);
		if (wts[i] == 3)
			w_tag(&b, 99, 4);	/* an empty group */
		ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	}
	sl_buf_reset(&b);
	w_event(&b, 0);
	sl_buf_add_u8(&b, 0x00);		/* tag 0 */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_free(&b);
}
END_TEST

START_TEST(a_singular_field_given_twice_keeps_the_last)
{
	struct sl_buf b = { 0 }, v = { 0 };
	struct sch_event ev;

	w_event(&b, 0);
	w_u64(&b, 1, 2);			/* op UPDATE, then ts_ms twice */
	w_u64(&b, 10, 1);
	w_u64(&b, 10, 9);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_int_eq(ev.op, SCH_OP_UPDATE);
	ck_assert_int_eq(ev.ts_ms, 9);
	w_u64(&b, 6, 0);			/* has_after false: no image */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);	/* update needs one */
	/* oneof: the last member wins, even over a submessage */
	sl_buf_reset(&b);
	w_event(&b, 0);
	sl_buf_reset(&v);
	w_str(&v, 8, "y");
	w_u64(&v, 4, 3);			/* int64 -2 */
	w_msg(&b, 4, &v);
	sl_buf_reset(&v);
	{
		struct sl_buf d = { 0 };

		w_u64(&d, 2, 7);		/* Date.infinity = 7: invalid */
		w_msg(&v, 12, &d);
		w_str(&v, 8, "z");		/* ...but replaced */
		sl_buf_free(&d);
	}
	w_msg(&b, 4, &v);
	w_u64(&b, 6, 1);
	/* four values for two columns: make the table have four */
	{
		struct sl_buf t = { 0 }, c = { 0 };

		w_str(&c, 1, "c");
		w_msg(&t, 5, &c);
		w_msg(&t, 5, &c);
		w_msg(&b, 2, &t);
		sl_buf_free(&t);
		sl_buf_free(&c);
	}
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_uint_eq(ev.table->n_columns, 4);
	ck_assert_int_eq(ev.after[2].kind, SCH_INT64);
	ck_assert_int_eq(ev.after[2].u.i64, -2);
	ck_assert_int_eq(ev.after[3].kind, SCH_TEXT);
	ck_assert_str_eq(ev.after[3].u.s.p, "z");
	sl_buf_free(&b);
	sl_buf_free(&v);
}
END_TEST

START_TEST(duplicated_submessages_merge_as_protobuf_c_merges_them)
{
	struct sl_buf b = { 0 }, m = { 0 };
	struct sch_event ev;

	/* Source twice: strings kept unless given again, scalars the last's */
	w_event(&b, 0);
	w_str(&m, 2, "second");
	w_u64(&m, 9, 77);			/* lsn */
	w_msg(&b, 7, &m);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_str_eq(ev.source.connector, "postgresql");
	ck_assert_str_eq(ev.source.name, "second");
	ck_assert_uint_eq(ev.source.lsn, 77);
	ck_assert_int_eq(ev.source.ts_ms, 0);	/* not 5: see decode_pb.c */
	/* Table twice: columns concatenate, name kept, schema_id the last's */
	sl_buf_reset(&m);
	{
		struct sl_buf c = { 0 }, v = { 0 };

		w_str(&c, 1, "c");
		w_msg(&m, 5, &c);
		w_msg(&b, 2, &m);
		w_u64(&v, 1, 1);		/* null */
		w_msg(&b, 4, &v);
		sl_buf_free(&c);
		sl_buf_free(&v);
	}
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_uint_eq(ev.table->n_columns, 3);
	ck_assert_str_eq(ev.table->name, "t");
	ck_assert_str_eq(ev.table->columns[2].name, "c");
	ck_assert_uint_eq(ev.table->schema_id, 0);
	/* TransactionInfo twice, the second with an empty id: no transaction */
	sl_buf_reset(&m);
	w_str(&m, 1, "tx1");
	w_u64(&m, 2, 3);
	w_msg(&b, 8, &m);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_str_eq(ev.tx.id, "tx1");
	sl_buf_reset(&m);
	w_bytes(&m, 1, "", 0);
	w_msg(&b, 8, &m);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_ptr_null(ev.tx.id);
	/* LogicalMessage twice: empty content does not replace */
	sl_buf_reset(&b);
	w_u64(&b, 1, 6);			/* MESSAGE */
	sl_buf_reset(&m);
	w_str(&m, 1, "p");
	w_bytes(&m, 2, "abc", 3);
	w_u64(&m, 3, 1);
	w_msg(&b, 9, &m);
	sl_buf_reset(&m);
	w_bytes(&m, 2, "", 0);
	w_u64(&m, 4, 12);
	w_msg(&b, 9, &m);
	sl_buf_reset(&m);
	w_msg(&b, 7, &m);			/* an empty source */
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_str_eq(ev.message->prefix, "p");
	ck_assert_uint_eq(ev.message->content.len, 3);
	ck_assert_int_eq(ev.message->transactional, 0);
	ck_assert_uint_eq(ev.message->lsn, 12);
	sl_buf_free(&b);
	sl_buf_free(&m);
}
END_TEST

/* Key{KeyColumn{name "k", value: v1, value: v2}} decoded by both. */
static int
key_of_two_values(const struct sl_buf *v1, const struct sl_buf *v2,
    struct sch_value *out)
{
	struct sl_buf k = { 0 }, kc = { 0 };
	const char **dn, **rn;
	struct sch_value *dv, *rv;
	uint32_t dk, rk;
	int rc, rrc;

	w_str(&kc, 1, "k");
	w_msg(&kc, 3, v1);
	w_msg(&kc, 3, v2);
	w_msg(&k, 1, &kc);
	sl_arena_reset(&h_da);
	sl_arena_reset(&h_ra);
	rc = sch_key_decode_pb(sl_buf_slice(&k), &h_da, &dn, &dv, &dk, NULL);
	rrc = sch_key_decode_pb_ref(sl_buf_slice(&k), &h_ra, &rn, &rv, &rk, NULL);
	ck_assert_int_eq(rc, rrc);
	if (rc == 0) {
		ck_assert_uint_eq(dk, 1);
		ck_assert_uint_eq(rk, 1);
		ck_assert_str_eq(dn[0], "k");
		ck_assert(sc_val_eq(&dv[0], &rv[0]));
		*out = dv[0];
	}
	sl_buf_free(&k);
	sl_buf_free(&kc);
	return rc;
}

START_TEST(a_key_value_given_twice_merges_as_protobuf_c_merges_it)
{
	struct sl_buf i5 = { 0 }, txt = { 0 }, none = { 0 }, b0 = { 0 }, b2 = { 0 };
	struct sch_value v;

	w_u64(&i5, 4, 10);
	w_str(&txt, 8, "z");
	w_bytes(&b0, 9, "", 0);
	w_bytes(&b2, 9, "ab", 2);
	ck_assert_int_eq(key_of_two_values(&i5, &txt, &v), 0);
	ck_assert_int_eq(v.kind, SCH_TEXT);
	ck_assert_int_eq(key_of_two_values(&txt, &i5, &v), 0);
	ck_assert_int_eq(v.kind, SCH_INT64);
	ck_assert_int_eq(key_of_two_values(&i5, &none, &v), 0);
	ck_assert_int_eq(v.u.i64, 5);
	ck_assert_int_eq(key_of_two_values(&b2, &none, &v), 0);
	ck_assert_uint_eq(v.u.bytes.len, 2);
	/* protobuf-c loses an earlier string or empty bytes in this merge */
	ck_assert_int_eq(key_of_two_values(&txt, &none, &v), SL_ECORRUPT);
	ck_assert_int_eq(key_of_two_values(&b0, &none, &v), SL_ECORRUPT);
	ck_assert_int_eq(key_of_two_values(&none, &none, &v), SL_ECORRUPT);
	ck_assert_int_eq(key_of_two_values(&none, &b0, &v), 0);
	sl_buf_free(&i5);
	sl_buf_free(&txt);
	sl_buf_free(&none);
	sl_buf_free(&b0);
	sl_buf_free(&b2);
}
END_TEST

START_TEST(a_wrong_wire_type_is_an_error_except_for_a_bool)
{
	struct sl_buf b = { 0 }, v = { 0 };
	struct sch_event ev;

	w_event(&b, 0);
	w_str(&b, 10, "ts");			/* ts_ms as bytes */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_reset(&b);
	w_event(&b, 0);
	w_tag(&b, 1, 1);			/* op as fixed64 */
	sl_buf_add(&b, "\1\0\0\0\0\0\0\0", 8);
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_reset(&b);
	w_event(&b, 0);
	w_u64(&b, 7, 1);			/* source as a varint */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	/* has_after as bytes, fixed32 and fixed64: protobuf-c reads bools so */
	sl_buf_reset(&b);
	w_event(&b, 0);
	w_u64(&b, 6, 0);
	w_bytes(&b, 6, "\0", 1);		/* true: a non-zero length */
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_ptr_nonnull(ev.after);
	w_tag(&b, 6, 5);
	sl_buf_add(&b, "\x80\0\0\0", 4);	/* false: no low 7 bits */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	w_tag(&b, 6, 1);
	sl_buf_add(&b, "\0\0\0\0\0\0\0\x01", 8);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	/* a Value member of the wrong type, in an image or not */
	sl_buf_reset(&b);
	w_event(&b, 0);
	w_tag(&v, 4, 1);			/* int64 as fixed64 */
	sl_buf_add(&v, "\0\0\0\0\0\0\0\0", 8);
	w_msg(&b, 3, &v);			/* before, unused */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_free(&b);
	sl_buf_free(&v);
}
END_TEST

START_TEST(over_long_varints_tags_and_lengths_are_errors)
{
	struct sl_buf b = { 0 }, src = { 0 };
	struct sch_event ev;

	/* 65 bits: protobuf-c alone would drop the top bit; both refuse */
	w_event(&b, 0);
	w_tag(&b, 10, 0);
	sl_buf_add(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03", 10);
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	/* the same inside Source, which pb_scan now walks too */
	sl_buf_reset(&b);
	w_event(&b, 0);
	w_tag(&src, 9, 0);
	sl_buf_add(&src, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03", 10);
	w_msg(&b, 7, &src);
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	/* 64 bits exactly is fine */
	sl_buf_reset(&b);
	w_event(&b, 0);
	w_tag(&b, 10, 0);
	sl_buf_add(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_int_eq(ev.ts_ms, -1);
	/* a tag in 6 bytes, a length in 6 bytes: protobuf-c reads at most 5 */
	sl_buf_reset(&b);
	w_event(&b, 0);
	sl_buf_add(&b, "\xd0\x80\x80\x80\x80\x00\x01", 7);	/* field 10 */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_reset(&b);
	w_event(&b, 0);
	sl_buf_add(&b, "\xd0\x80\x80\x80\x00\x01", 6);	/* 5 bytes: fine */
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_int_eq(ev.ts_ms, 1);
	sl_buf_add(&b, "\x9a\x06\x80\x80\x80\x80\x80\x00", 8);	/* field 99 */
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_free(&b);
	sl_buf_free(&src);
}
END_TEST

START_TEST(values_of_an_unused_image_are_parsed_but_not_checked)
{
	struct sl_buf b = { 0 }, v = { 0 };
	struct sch_event ev;

	w_event(&b, 0);
	w_bytes(&v, 10, "abc", 3);		/* a uuid of 3 bytes: invalid */
	w_msg(&b, 3, &v);			/* in 'before', has_before unset */
	w_msg(&b, 3, &v);
	ck_assert_int_eq(h_decode(&b, &ev), 0);
	ck_assert_ptr_null(ev.before);
	w_u64(&b, 1, 2);			/* UPDATE with that before image */
	w_u64(&b, 5, 1);
	ck_assert_int_eq(h_decode(&b, &ev), SL_ECORRUPT);
	sl_buf_free(&b);
	sl_buf_free(&v);
}
END_TEST

/*
 * The one documented difference (decode_pb.c): protobuf-c spends more
 * than 32 bytes of its budget per byte of many tiny unknown fields (scan
 * records, unknown-field copies), so the reference gives up where the
 * direct decoder, which skips them, does not.
 */
START_TEST(only_the_reference_runs_out_of_budget_on_tiny_unknown_fields)
{
	struct sl_buf b = { 0 };
	struct sch_event ev, rev;
	struct sl_err err = { 0 };
	int i;

	w_event(&b, 0);
	for (i = 0; i < 100000; i++)
		w_u64(&b, 11, 0);		/* two bytes each */
	sl_arena_reset(&h_da);
	sl_arena_reset(&h_ra);
	ck_assert_int_eq(sch_event_decode_pb(sl_buf_slice(&b), &h_da, &ev, NULL), 0);
	ck_assert_int_eq(sch_event_decode_pb_ref(sl_buf_slice(&b), &h_ra, &rev, &err),
	    SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "bytes of memory"));
	sl_buf_free(&b);
}
END_TEST

Suite *pbdirect_suite(void);

Suite *
pbdirect_suite(void)
{
	Suite *s = suite_create("pbdirect");
	TCase *tc = tcase_create("direct");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, direct_event_and_key_bytes_and_decodes_equal_protobuf_c_on_random_events, 0, 8);
	tcase_add_test(tc, text_values_keep_an_embedded_nul);
	tcase_add_test(tc, direct_encoder_appends_after_existing_bytes);
	tcase_add_test(tc, every_truncation_decodes_alike);
	tcase_add_loop_test(tc, random_mutations_decode_alike, 0, 4);
	suite_add_tcase(s, tc);
	tc = tcase_create("handmade");
	tcase_add_test(tc, unknown_fields_of_every_wire_type_are_skipped);
	tcase_add_test(tc, groups_and_reserved_wire_types_are_errors_as_in_protobuf_c);
	tcase_add_test(tc, a_singular_field_given_twice_keeps_the_last);
	tcase_add_test(tc, duplicated_submessages_merge_as_protobuf_c_merges_them);
	tcase_add_test(tc, a_key_value_given_twice_merges_as_protobuf_c_merges_it);
	tcase_add_test(tc, a_wrong_wire_type_is_an_error_except_for_a_bool);
	tcase_add_test(tc, over_long_varints_tags_and_lengths_are_errors);
	tcase_add_test(tc, values_of_an_unused_image_are_parsed_but_not_checked);
	tcase_add_test(tc, only_the_reference_runs_out_of_budget_on_tiny_unknown_fields);
	suite_add_tcase(s, tc);
	return s;
}
