/*
 * schemas/decode_pb.c: protobuf wire bytes -> struct sch_event (message
 * sluice.v1.Event) and Key columns, read directly into the caller's arena
 * without a protobuf-c message tree: sch_event_decode_pb and
 * sch_key_decode_pb, the hot path of materialize (one decode per record).
 *
 * The protobuf-c decoders of encode_pb.c (sch_event_decode_pb_ref,
 * sch_key_decode_pb_ref) are the reference: on every input both give the
 * same result, or both an error (tests/check_pbdirect.c compares them on
 * random events, every truncation of some, random mutations and hand-made
 * inputs; the fuzz_pg_types target runs both on its inputs).  TransactionEvent and Heartbeat, one or
 * two per transaction, are decoded only there.  This file does not encode.
 *
 * WIRE FORMAT, as protobuf-c 1.4 reads it
 *   A message is a sequence of fields, each a tag then a value.
 *   tag      varint of at most 5 bytes: field number << 3 | wire type; a
 *            first byte without field-number bits (tag 0..7) is an error,
 *            a longer spelling of field 0 an unknown field
 *   type 0   varint of at most 10 bytes
 *   type 1   8 bytes, little-endian (double)
 *   type 2   length, a varint of at most 5 bytes, then that many bytes
 *            (string, bytes, submessage)
 *   type 5   4 bytes
 *   Types 3 and 4 (groups), 6 and 7 are errors, even in unknown fields:
 *   protobuf-c does not skip groups.
 *
 * SEMANTICS: those of protobuf_c_message_unpack followed by the conversion
 * in encode_pb.c, field by field:
 *  - unknown fields are skipped; no field of event.proto is a repeated
 *    scalar, so packed encoding never applies;
 *  - a singular scalar given twice: the last wins; int32, uint32 and enum
 *    fields keep the low 32 bits of the varint;
 *  - a known field with the wrong wire type is an error, except a bool,
 *    which protobuf-c reads from any wire type: true when a byte of the
 *    value (for type 2 the length and the bytes) has a low 7 bit set;
 *  - enum values outside the known set are kept as numbers, and an unknown
 *    op, snapshot or infinity then fails the conversion;
 *  - a field absent: 0, or NULL for the strings sch.h allows NULL ("" for
 *    table and column names and a message prefix);
 *  - strings stop at their first NUL (protobuf-c NUL-terminates them and
 *    the conversion uses C strings), except the text of a Value (below);
 *  - Value.kind, a oneof: the last member given wins and replaces an
 *    earlier one, submessage or not, without merging (protobuf-c clears
 *    the old member first); a Value with no member is invalid;
 *  - a singular submessage given twice (Event.table, source, transaction,
 *    message; KeyColumn.value) is merged as protobuf-c's merge_messages
 *    does: repeated fields concatenate, a string keeps the last occurrence
 *    that has it, bytes the last non-empty one, but scalars come from the
 *    last occurrence alone, absent meaning 0 (for proto3 fields
 *    merge_messages reads its "has" flag at quantifier offset 0, which is
 *    the descriptor pointer, so an earlier scalar never survives);
 *    KeyColumn.value: the later Value if it has a kind, else the earlier
 *    one, except that an earlier string kind or empty bytes_value is lost
 *    (merge_messages compares it with the oneof default) and the Value is
 *    invalid, and two Values without a kind are an error;
 *  - the Values of an image are parsed even when has_before / has_after
 *    says it is absent (protobuf-c unpacks them), but only checked as
 *    values (kind, uuid length, infinity...) when the image is used.
 *
 * DIFFERENCES from protobuf-c alone, stricter and shared with the
 * reference (its pb_scan applies them before protobuf-c):
 *  - a varint of more than 64 bits (a 10th byte above 1) is an error;
 *    protobuf-c drops the excess bits;
 *  - arrays nested deeper than SCH_MAX_ARRAY_DEPTH are an error.
 * DIFFERENCES from the reference: the text of a Value keeps every byte,
 * an embedded NUL included (MySQL text can hold one, and the direct
 * encoder writes it whole), where the reference stops at the first NUL;
 * and the reference fails with "needs more than
 * N bytes of memory" on some inputs of many tiny fields that this decoder
 * accepts, because protobuf-c allocates more per input byte (a 32-byte
 * scan record per field, copies of unknown fields); the reverse cannot
 * happen, see (1).
 *
 * INVARIANTS
 *  (1) Nothing from the wire makes us allocate more than PD_BUDGET(len)
 *      bytes, the budget encode_pb.c gives protobuf-c, plus one block of
 *      'len' bytes for the copies of strings and bytes (pd_copy_room).
 *      Every other allocation goes through pd_alloc, and each is smaller
 *      than what protobuf-c allocates for the same message (a struct
 *      sch_value is smaller than a protobuf-c Value and its pointer, a
 *      struct sch_column than a Column...), so a budget failure here is
 *      one there too.
 *  (2) Recursion is only Value -> Array -> Value, and an Array is refused
 *      before recursing when it would nest deeper than SCH_MAX_ARRAY_DEPTH;
 *      every other submessage is read by a loop.
 *  (3) Every tag, varint and length is checked against the bytes left in
 *      its message before it is used.
 *  (4) Strings are copied into the arena and NUL-terminated (sch.h (2)).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "schemas/sch.h"

/* (1) The same formula as PB_BUDGET in encode_pb.c. */
#define PD_BUDGET(len) ((size_t)(len) * 32 + 65536)

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* One decode call. */
struct pd {
	const uint8_t *base;		/* start of the input: offsets in errors */
	const char *what;		/* "Event" or "Key", for messages */
	size_t len;			/* input length */
	struct sl_arena *a;
	size_t used;			/* (1) bytes allocated so far */
	size_t budget;
	char *pool;			/* (4) string and bytes copies */
	size_t pool_left;
	struct sl_err *err;
	int rc;				/* the error, once one is found */
};

/* One field as read from the wire. */
struct pd_field {
	const uint8_t *at;		/* its tag: offsets in errors */
	uint32_t num;			/* field number */
	int wt;				/* wire type */
	uint64_t v;			/* types 0, 1, 5 */
	const uint8_t *p;		/* type 2: the bytes */
	size_t len;
	int truth;			/* the value read as a bool, any type */
};

static int pd_fail(struct pd *, const uint8_t *at, const char *fmt, ...)
    SL_PRINTF(3, 4);

/* Record a malformed input at 'at': SL_ECORRUPT with the byte offset. */
static int
pd_fail(struct pd *d, const uint8_t *at, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	d->rc = SL_CORRUPT(d->err, "%s: %s at byte %zu", d->what, why,
	    (size_t)(at - d->base));
	return -1;
}

static int
pd_bad_type(struct pd *d, const struct pd_field *f)
{
	return pd_fail(d, f->at, "field %u has wire type %d", f->num, f->wt);
}

/* Return -1 (or, in the public functions, the error code) on a wrong type. */
#define PD_WANT(d, f, type) do {					\
	if ((f)->wt != (type))						\
		return pd_bad_type((d), (f));				\
} while (0)
#define PD_WANT_RC(d, f, type) do {					\
	if ((f)->wt != (type)) {					\
		pd_bad_type((d), (f));					\
		return (d)->rc;						\
	}								\
} while (0)

/* (1) */
static void *
pd_alloc(struct pd *d, size_t n, const uint8_t *at)
{
	if (n > d->budget - d->used) {
		pd_fail(d, at, "decoding %zu bytes needs more than %zu bytes of "
		    "memory", d->len, d->budget);
		return NULL;
	}
	d->used += n;
	return sl_arena_alloc(d->a, n);
}

/*
 * (3) A varint of at most 'max' bytes from 'p', 'n' bytes left: the bytes
 * used, or 0 (unterminated, or past 64 bits as sl_uvarint_get refuses).
 */
static inline int
pd_varint(const uint8_t *p, size_t n, int max, uint64_t *v)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < max && (size_t)i < n; i++) {
		uint64_t b = p[i];

		if (i == 9 && b > 1)
			return 0;
		x |= (b & 0x7f) << (7 * i);
		if (b < 0x80) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static inline int
pd_truth(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] & 0x7f)
			return 1;
	return 0;
}

/*
 * Read the field at '*pp' (before 'end') into 'f' and step past it.
 * Returns 1, 0 at the end of the message, or -1 (malformed; d->rc set).
 */
static inline int
pd_next(struct pd *d, const uint8_t **pp, const uint8_t *end, struct pd_field *f)
{
	const uint8_t *p = *pp;
	uint64_t key, n;
	int k, i;

	if (p == end)
		return 0;
	f->at = p;
	if ((p[0] & 0xf8) == 0)
		return pd_fail(d, p, "tag without a field number");
	if (p[0] < 0x80) {
		key = p[0];
		p++;
	} else {
		if ((k = pd_varint(p, (size_t)(end - p), 5, &key)) == 0)	/* (3) */
			return pd_fail(d, p, "bad tag");
		p += k;
	}
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	switch (f->wt) {
	case WT_VARINT:
		if (p < end && p[0] < 0x80) {
			f->v = p[0];
			p++;
		} else {
			if ((k = pd_varint(p, (size_t)(end - p), 10, &f->v)) == 0)
				return pd_fail(d, p, "bad varint in field %u", f->num);
			p += k;
		}
		f->truth = f->v != 0;	/* no bits dropped, so as protobuf-c's */
		break;
	case WT_I64:
	case WT_I32:
		k = f->wt == WT_I64 ? 8 : 4;
		if (end - p < k)
			return pd_fail(d, p, "truncated fixed-size field %u", f->num);
		f->v = 0;
		for (i = k - 1; i >= 0; i--)
			f->v = f->v << 8 | p[i];
		f->truth = pd_truth(p, (size_t)k);
		p += k;
		break;
	case WT_LEN:
		if (p < end && p[0] < 0x80) {
			n = p[0];
			p++;
		} else {
			if ((k = pd_varint(p, (size_t)(end - p), 5, &n)) == 0)
				return pd_fail(d, p, "bad length in field %u", f->num);
			p += k;
		}
		if (n > (size_t)(end - p))			/* (3) */
			return pd_fail(d, p, "length past the end in field %u", f->num);
		f->p = p;
		f->len = (size_t)n;
		f->truth = n != 0;	/* a length byte is non-zero */
		p += n;
		break;
	default:
		return pd_fail(d, p, "wire type %d (a group?) in field %u",
		    f->wt, f->num);
	}
	*pp = p;
	return 1;
}

/*
 * (1) Room for 'n' bytes copied out of the input.  The copies of string
 * and bytes fields come from one block of the input's length, taken on
 * the first one: each field is copied once, from a range of the input no
 * other copied field overlaps, with at least two bytes of tag and length
 * before it, so its bytes and a NUL always fit, and one allocation serves
 * the whole decode (a dozen fewer calls per event).
 */
static void *
pd_copy_room(struct pd *d, size_t n, const uint8_t *at)
{
	void *p;

	if (d->pool == NULL && d->len > 0) {
		d->pool = sl_arena_alloc(d->a, d->len);	/* outside the budget */
		d->pool_left = d->len;
	}
	if (n > d->pool_left)		/* cannot happen, see above */
		return pd_alloc(d, n, at);
	p = d->pool;
	d->pool += n;
	d->pool_left -= n;
	return p;
}

/* (4) A copy of a string field up to its first NUL, or NULL (d->rc set). */
static char *
pd_str(struct pd *d, const struct pd_field *f, size_t *lenp)
{
	char *s;
	size_t n;

	if (f->len <= 32) {		/* most names: no library calls */
		if ((s = pd_copy_room(d, f->len + 1, f->at)) == NULL)
			return NULL;
		for (n = 0; n < f->len && f->p[n] != '\0'; n++)
			s[n] = (char)f->p[n];
	} else {
		const uint8_t *nul = memchr(f->p, '\0', f->len);

		n = nul != NULL ? (size_t)(nul - f->p) : f->len;
		if ((s = pd_copy_room(d, n + 1, f->at)) == NULL)
			return NULL;
		memcpy(s, f->p, n);
	}
	s[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return s;
}

/* A Value's text: all 'f->len' bytes, NUL-terminated after them. */
static char *
pd_text(struct pd *d, const struct pd_field *f, size_t *lenp)
{
	char *s;

	if ((s = pd_copy_room(d, f->len + 1, f->at)) == NULL)
		return NULL;
	memcpy(s, f->p, f->len);
	s[f->len] = '\0';
	*lenp = f->len;
	return s;
}

/* A string field into '*out', keeping the last one given. */
static int
pd_cstr(struct pd *d, const struct pd_field *f, const char **out)
{
	PD_WANT(d, f, WT_LEN);
	return (*out = pd_str(d, f, NULL)) != NULL ? 0 : -1;
}

/* The conversion's dup_or_null: absent or "" is NULL. */
static const char *
pd_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static inline int32_t
pd_unzigzag32(uint64_t v)
{
	uint32_t u = (uint32_t)v;

	return (int32_t)((u >> 1) ^ -(u & 1));
}

static inline int64_t
pd_unzigzag64(uint64_t v)
{
	return (int64_t)((v >> 1) ^ -(v & 1));
}

/* Infinity enum -> enum sch_inf; -1 if unknown. */
static int
pd_inf(int32_t i, int *out)
{
	switch (i) {
	case 0: *out = SCH_INF_NONE; return 0;
	case 1: *out = SCH_INF_POS; return 0;
	case 2: *out = SCH_INF_NEG; return 0;
	default: return -1;
	}
}

/*
 * Date, TimeTz, Timestamp and Interval: a submessage of scalars whose
 * fields 1..3 are sint64 or sint32 as 'zz64' says, field 2 of Date and
 * Timestamp the Infinity enum.  Fills 'x[0..2]' (absent: 0).
 */
static int
pd_small(struct pd *d, const struct pd_field *m, const char *zz64, int64_t x[3])
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	int r;

	x[0] = x[1] = x[2] = 0;
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		if (f.num < 1 || f.num > 3 || zz64[f.num - 1] == '\0')
			continue;		/* unknown */
		PD_WANT(d, &f, WT_VARINT);
		switch (zz64[f.num - 1]) {
		case 'l': x[f.num - 1] = pd_unzigzag64(f.v); break;
		case 'i': x[f.num - 1] = pd_unzigzag32(f.v); break;
		default: x[f.num - 1] = (int32_t)(uint32_t)f.v; break;	/* enum */
		}
	}
	return r;
}

static int pd_value(struct pd *d, const uint8_t *p, const uint8_t *end,
    int depth, struct sch_value *v, int *bad);

/* (2) Value.array at 'depth' (the Value's), into 'v'. */
static int
pd_array(struct pd *d, const struct pd_field *m, int depth, struct sch_value *v,
    int *bad)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	uint32_t n = 0, i = 0;
	int r, ebad;

	if (depth >= SCH_MAX_ARRAY_DEPTH)			/* (2) */
		return pd_fail(d, m->at, "arrays nested deeper than %d",
		    SCH_MAX_ARRAY_DEPTH);
	/* count the elements first, so that the array is allocated once */
	while ((r = pd_next(d, &p, end, &f)) > 0)
		n += f.num == 2;
	if (r < 0)
		return -1;
	v->u.array.v = pd_alloc(d, (size_t)n * sizeof(*v) + 1, m->at);
	if (v->u.array.v == NULL)
		return -1;
	for (p = m->p; pd_next(d, &p, end, &f) > 0; ) {
		switch (f.num) {
		case 1:
			PD_WANT(d, &f, WT_VARINT);
			v->u.array.elem_oid = (uint32_t)f.v;
			break;
		case 2:
			PD_WANT(d, &f, WT_LEN);
			if (pd_value(d, f.p, f.p + f.len, depth + 1, &v->u.array.v[i],
			    &ebad) < 0)
				return -1;
			if (ebad || v->u.array.v[i].kind == SCH_UNCHANGED)	/* (1) */
				*bad = 1;
			i++;
			break;
		}
	}
	v->u.array.n = n;
	return 0;
}

/*
 * Decode the Value in [p, end) at array depth 'depth' into '*v'.  Returns
 * 0, with '*bad' set when the bytes are valid protobuf but not a valid
 * value (no kind, a uuid not of 16 bytes, an unknown infinity, an
 * unchanged or invalid array element): whether that fails the decode is
 * the caller's choice.  Returns -1 (d->rc set) when malformed.
 */
static int
pd_value(struct pd *d, const uint8_t *p, const uint8_t *end, int depth,
    struct sch_value *v, int *bad)
{
	struct pd_field f;
	int64_t x[3];
	int r;

	memset(v, 0, sizeof(*v));
	*bad = 1;				/* no kind yet */
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		if (f.num < SCH_NULL || f.num > SCH_OTHER)
			continue;		/* unknown */
		/* a member replaces the one before, even a submessage */
		memset(v, 0, sizeof(*v));
		*bad = 0;
		switch (f.num) {
		case SCH_NULL:
		case SCH_UNCHANGED:
			break;			/* a bool of any wire type */
		case SCH_BOOL:
			v->u.b = f.truth;
			break;
		case SCH_INT64:
		case SCH_TIME:
			PD_WANT(d, &f, WT_VARINT);
			v->u.i64 = pd_unzigzag64(f.v);
			break;
		case SCH_UINT64:
			PD_WANT(d, &f, WT_VARINT);
			v->u.u64 = f.v;
			break;
		case SCH_DOUBLE:
			PD_WANT(d, &f, WT_I64);
			memcpy(&v->u.f64, &f.v, sizeof(v->u.f64));
			break;
		case SCH_BYTES:
			PD_WANT(d, &f, WT_LEN);
			if (f.len > 0) {
				uint8_t *b = pd_copy_room(d, f.len, f.at);

				if (b == NULL)
					return -1;
				memcpy(b, f.p, f.len);
				v->u.bytes = sl_slice_make(b, f.len);
			}
			break;
		case SCH_UUID:
			PD_WANT(d, &f, WT_LEN);
			if (f.len == 16)
				memcpy(v->u.uuid, f.p, 16);
			else
				*bad = 1;
			break;
		case SCH_DATE:
			PD_WANT(d, &f, WT_LEN);
			if (pd_small(d, &f, "ie", x) < 0)
				return -1;
			if (pd_inf((int32_t)x[1], &v->inf) < 0)
				*bad = 1;
			v->u.date = v->inf ? 0 : (int32_t)x[0];
			break;
		case SCH_TIMETZ:
			PD_WANT(d, &f, WT_LEN);
			if (pd_small(d, &f, "li", x) < 0)
				return -1;
			v->u.timetz.time_us = x[0];
			v->u.timetz.offset_s = (int32_t)x[1];
			break;
		case SCH_TIMESTAMP:
		case SCH_TIMESTAMPTZ:
			PD_WANT(d, &f, WT_LEN);
			if (pd_small(d, &f, "le", x) < 0)
				return -1;
			if (pd_inf((int32_t)x[1], &v->inf) < 0)
				*bad = 1;
			v->u.ts_us = v->inf ? 0 : x[0];
			break;
		case SCH_INTERVAL:
			PD_WANT(d, &f, WT_LEN);
			if (pd_small(d, &f, "iil", x) < 0)
				return -1;
			v->u.interval.months = (int32_t)x[0];
			v->u.interval.days = (int32_t)x[1];
			v->u.interval.us = x[2];
			break;
		case SCH_ARRAY:
			PD_WANT(d, &f, WT_LEN);
			if (pd_array(d, &f, depth, v, bad) < 0)
				return -1;
			break;
		default:			/* the text-held kinds, every byte */
			PD_WANT(d, &f, WT_LEN);
			if ((v->u.s.p = pd_text(d, &f, &v->u.s.len)) == NULL)
				return -1;
			break;
		}
		v->kind = (enum sch_kind)f.num;
	}
	return r;
}

/* ------------------------------------------------------------- Event */

/* Merge one Source occurrence into '*s' (strings as raw pointers). */
static int
pd_source(struct pd *d, const struct pd_field *m, struct sch_source *s)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	int r;

	/* scalars come from the last occurrence only (see the header) */
	s->ts_ms = s->ts_us = 0;
	s->snapshot = SCH_SNAPSHOT_FALSE;
	s->lsn = s->last_commit_lsn = s->txid = s->xmin = 0;
	s->binlog_pos = s->sequence = 0;
	s->server_id = s->row = 0;
	s->has = 0;
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		const char **str = NULL;
		uint64_t *u64 = NULL;

		switch (f.num) {
		case 1: str = &s->connector; break;
		case 2: str = &s->name; break;
		case 3: str = &s->db; break;
		case 4: str = &s->schema; break;
		case 5: str = &s->table; break;
		case 13: str = &s->binlog_file; break;
		case 17: str = &s->gtid; break;
		case 9: u64 = &s->lsn; break;
		case 10: u64 = &s->last_commit_lsn; break;
		case 11: u64 = &s->txid; break;
		case 12: u64 = &s->xmin; break;
		case 14: u64 = &s->binlog_pos; break;
		case 18: u64 = &s->sequence; break;
		case 6: case 7: case 8: case 15: case 16: case 19:
			break;
		default:
			continue;		/* unknown */
		}
		if (str != NULL) {
			if (pd_cstr(d, &f, str) < 0)
				return -1;
			continue;
		}
		PD_WANT(d, &f, WT_VARINT);
		if (u64 != NULL) {
			*u64 = f.v;
			continue;
		}
		switch (f.num) {
		case 6: s->ts_ms = (int64_t)f.v; break;
		case 7: s->ts_us = (int64_t)f.v; break;
		case 8: s->snapshot = (enum sch_snapshot)(int32_t)(uint32_t)f.v; break;
		case 15: s->server_id = (uint32_t)f.v; break;
		case 16: s->row = (uint32_t)f.v; break;
		default: s->has = (uint32_t)f.v; break;		/* 19 */
		}
	}
	return r;
}

/* One Column, fresh (a repeated field is never merged). */
static int
pd_column(struct pd *d, const struct pd_field *m, struct sch_column *c)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	int r;

	memset(c, 0, sizeof(*c));
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (pd_cstr(d, &f, &c->name) < 0)
				return -1;
			break;
		case 3:
			if (pd_cstr(d, &f, &c->type_name) < 0)
				return -1;
			break;
		case 5:
			c->is_key = f.truth;	/* a bool of any wire type */
			break;
		case 2: case 4: case 6:
			PD_WANT(d, &f, WT_VARINT);
			if (f.num == 2)
				c->type_oid = (uint32_t)f.v;
			else if (f.num == 4)
				c->typmod = pd_unzigzag32(f.v);
			else
				c->nullable = pd_unzigzag32(f.v);
			break;
		}
	}
	c->name = c->name != NULL ? c->name : "";
	c->type_name = pd_or_null(c->type_name);
	return r;
}

/* Merge one Table occurrence into '*t', whose columns have room. */
static int
pd_table(struct pd *d, const struct pd_field *m, struct sch_table *t)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	int r;

	t->schema_id = 0;		/* scalars: the last occurrence's */
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		switch (f.num) {
		case 1:
			PD_WANT(d, &f, WT_VARINT);
			t->schema_id = f.v;
			break;
		case 2:
			if (pd_cstr(d, &f, &t->db) < 0)
				return -1;
			break;
		case 3:
			if (pd_cstr(d, &f, &t->schema) < 0)
				return -1;
			break;
		case 4:
			if (pd_cstr(d, &f, &t->name) < 0)
				return -1;
			break;
		case 5:
			PD_WANT(d, &f, WT_LEN);
			if (pd_column(d, &f, &t->columns[t->n_columns++]) < 0)
				return -1;
			break;
		}
	}
	return r;
}

/* Merge one TransactionInfo occurrence. */
static int
pd_txinfo(struct pd *d, const struct pd_field *m, struct sch_txinfo *tx)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	int r;

	tx->total_order = tx->data_collection_order = 0;
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (pd_cstr(d, &f, &tx->id) < 0)
				return -1;
			break;
		case 2:
			PD_WANT(d, &f, WT_VARINT);
			tx->total_order = f.v;
			break;
		case 3:
			PD_WANT(d, &f, WT_VARINT);
			tx->data_collection_order = f.v;
			break;
		}
	}
	return r;
}

/* Merge one LogicalMessage occurrence. */
static int
pd_message(struct pd *d, const struct pd_field *m, struct sch_message *msg)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	int r;

	msg->transactional = 0;
	msg->lsn = 0;
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (pd_cstr(d, &f, &msg->prefix) < 0)
				return -1;
			break;
		case 2:
			PD_WANT(d, &f, WT_LEN);
			if (f.len > 0) {	/* empty bytes do not replace */
				uint8_t *b = pd_copy_room(d, f.len, f.at);

				if (b == NULL)
					return -1;
				memcpy(b, f.p, f.len);
				msg->content = sl_slice_make(b, f.len);
			}
			break;
		case 3:
			msg->transactional = f.truth;
			break;
		case 4:
			PD_WANT(d, &f, WT_VARINT);
			msg->lsn = f.v;
			break;
		}
	}
	return r;
}

static int
pd_op(int32_t op, enum sch_op *out)
{
	static const enum sch_op ops[] = { SCH_OP_CREATE, SCH_OP_UPDATE,
	    SCH_OP_DELETE, SCH_OP_READ, SCH_OP_TRUNCATE, SCH_OP_MESSAGE };

	if (op < 1 || op > 6)
		return -1;
	*out = ops[op - 1];
	return 0;
}

/*
 * EVENT (sluice.v1.Event), read in two passes: the first checks the
 * top-level fields and counts what must be allocated (image values,
 * columns over every Table occurrence) and finds the final has_before /
 * has_after, the second decodes in wire order.
 *   FIELD TYPE                   HERE
 *       1 Op                     op, last wins
 *       2 Table                  table, merged
 *       3 repeated Value         before, one per column
 *       4 repeated Value         after
 *       5 bool has_before        whether 'before' is used
 *       6 bool has_after
 *       7 Source                 source, merged, required
 *       8 TransactionInfo        tx, merged, used when its id is not ""
 *       9 LogicalMessage         message, merged
 *      10 int64 ts_ms
 */
int
sch_event_decode_pb(struct sl_slice in, struct sl_arena *a,
    struct sch_event *out, struct sl_err *err)
{
	static const uint8_t none[1];
	struct pd d;
	const uint8_t *p, *end;
	struct pd_field f;
	struct sch_table *t = NULL;
	struct sch_message *msg = NULL;
	struct sch_value *img[2] = { NULL, NULL }, scratch;
	struct sl_err check;		/* filled only on failure: 528 bytes */
	uint32_t nimg[2] = { 0, 0 }, nused[2] = { 0, 0 }, ncol = 0;
	int has[2] = { 0, 0 }, ntable = 0, source = 0, op = 0, r, i, bad;

	memset(out, 0, sizeof(*out));
	if (in.len > SCH_PB_MAX_SIZE)
		return sl_errf(err, SL_ETOOBIG, "Event: %zu bytes is past the %u limit",
		    in.len, SCH_PB_MAX_SIZE);
	d.base = in.len > 0 ? in.p : none;
	d.what = "Event";
	d.len = in.len;
	d.a = a;
	d.used = 0;
	d.budget = PD_BUDGET(in.len);
	d.pool = NULL;
	d.pool_left = 0;
	d.err = err;
	d.rc = 0;
	end = d.base + in.len;

	/* pass 1 */
	for (p = d.base; (r = pd_next(&d, &p, end, &f)) > 0; ) {
		switch (f.num) {
		case 2: {
			const uint8_t *q;
			struct pd_field g;

			PD_WANT_RC(&d, &f, WT_LEN);
			ntable++;
			for (q = f.p; (r = pd_next(&d, &q, f.p + f.len, &g)) > 0; )
				ncol += g.num == 5;
			if (r < 0)
				return d.rc;
			break;
		}
		case 3: nimg[0]++; break;
		case 4: nimg[1]++; break;
		case 5: has[0] = f.truth; break;
		case 6: has[1] = f.truth; break;
		}
	}
	if (r < 0)
		return d.rc;
	for (i = 0; i < 2; i++) {
		if (!has[i])
			continue;
		if (ntable == 0)
			return SL_CORRUPT(err, "Event: an image without a table");
		if (nimg[i] != ncol)
			return SL_CORRUPT(err, "Event: %s image has %u values for %u "
			    "columns", i ? "after" : "before", nimg[i], ncol);
		if ((img[i] = pd_alloc(&d, ncol * sizeof(*img[i]) + 1, d.base)) == NULL)
			return d.rc;
	}
	if (ntable > 0) {
		if ((t = pd_alloc(&d, sizeof(*t), d.base)) == NULL ||
		    (t->columns = pd_alloc(&d, ncol * sizeof(*t->columns) + 1,
		    d.base)) == NULL)
			return d.rc;
		t->schema_id = 0;
		t->db = t->schema = t->name = NULL;
		t->n_columns = 0;
	}

	/* pass 2 */
	for (p = d.base; pd_next(&d, &p, end, &f) > 0; ) {
		switch (f.num) {
		case 1:
			PD_WANT_RC(&d, &f, WT_VARINT);
			op = (int32_t)(uint32_t)f.v;
			break;
		case 2:
			if (pd_table(&d, &f, t) < 0)
				return d.rc;
			break;
		case 3:
		case 4:
			i = (int)f.num - 3;
			PD_WANT_RC(&d, &f, WT_LEN);
			if (pd_value(&d, f.p, f.p + f.len, 0,
			    img[i] != NULL ? &img[i][nused[i]] : &scratch, &bad) < 0)
				return d.rc;
			if (img[i] != NULL && bad)
				return SL_CORRUPT(err, "Event: %s image column %u: invalid "
				    "value at byte %zu", i ? "after" : "before", nused[i],
				    (size_t)(f.at - d.base));
			nused[i]++;
			break;
		case 7:
			PD_WANT_RC(&d, &f, WT_LEN);
			if (pd_source(&d, &f, &out->source) < 0)
				return d.rc;
			source = 1;
			break;
		case 8:
			PD_WANT_RC(&d, &f, WT_LEN);
			if (pd_txinfo(&d, &f, &out->tx) < 0)
				return d.rc;
			break;
		case 9:
			PD_WANT_RC(&d, &f, WT_LEN);
			if (msg == NULL) {
				if ((msg = pd_alloc(&d, sizeof(*msg), f.at)) == NULL)
					return d.rc;
				memset(msg, 0, sizeof(*msg));
			}
			if (pd_message(&d, &f, msg) < 0)
				return d.rc;
			break;
		case 10:
			PD_WANT_RC(&d, &f, WT_VARINT);
			out->ts_ms = (int64_t)f.v;
			break;
		}
	}

	/* the conversion, as sch_event_decode_pb_ref does it */
	if (pd_op(op, &out->op) < 0)
		return SL_CORRUPT(err, "Event: unknown op %d", op);
	if (!source)
		return SL_CORRUPT(err, "Event: no source");
	if ((unsigned)out->source.snapshot > SCH_SNAPSHOT_INCREMENTAL)
		return SL_CORRUPT(err, "Event: unknown snapshot value %d",
		    (int)out->source.snapshot);
	out->source.connector = pd_or_null(out->source.connector);
	out->source.name = pd_or_null(out->source.name);
	out->source.db = pd_or_null(out->source.db);
	out->source.schema = pd_or_null(out->source.schema);
	out->source.table = pd_or_null(out->source.table);
	out->source.binlog_file = pd_or_null(out->source.binlog_file);
	out->source.gtid = pd_or_null(out->source.gtid);
	if (t != NULL) {
		t->db = pd_or_null(t->db);
		t->schema = pd_or_null(t->schema);
		t->name = t->name != NULL ? t->name : "";
		out->table = t;
	}
	out->before = img[0];
	out->after = img[1];
	if (out->tx.id == NULL || out->tx.id[0] == '\0')
		memset(&out->tx, 0, sizeof(out->tx));
	if (msg != NULL) {
		msg->prefix = msg->prefix != NULL ? msg->prefix : "";
		out->message = msg;
	}
	if (sch_event_check_(out, NULL) != 0) {
		memset(&check, 0, sizeof(check));
		(void)sch_event_check_(out, &check);
		return SL_CORRUPT(err, "Event: %s", check.msg);
	}
	return 0;
}

/* ---------------------------------------------------------------- Key */

/*
 * One KeyColumn: name (1), type_oid (2, unused), value (3, merged as the
 * header says).  Returns 0 or -1; '*bad' when the value is not a valid key
 * value.
 */
static int
pd_keycolumn(struct pd *d, const struct pd_field *m, const char **name,
    struct sch_value *v, int *bad)
{
	const uint8_t *p = m->p, *end = m->p + m->len;
	struct pd_field f;
	struct sch_value later;
	int r, seen = 0, lbad;

	*name = NULL;
	memset(v, 0, sizeof(*v));
	*bad = 1;
	while ((r = pd_next(d, &p, end, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (pd_cstr(d, &f, name) < 0)
				return -1;
			break;
		case 2:
			PD_WANT(d, &f, WT_VARINT);
			break;
		case 3:
			PD_WANT(d, &f, WT_LEN);
			if (!seen) {
				seen = 1;
				if (pd_value(d, f.p, f.p + f.len, 0, v, bad) < 0)
					return -1;
				break;
			}
			if (pd_value(d, f.p, f.p + f.len, 0, &later, &lbad) < 0)
				return -1;
			if (later.kind != 0) {
				*v = later;
				*bad = lbad;
			} else if (v->kind == 0) {
				return pd_fail(d, f.at, "two values without a kind "
				    "(protobuf-c cannot merge them)");
			} else if (sch_kind_is_text(v->kind) ||
			    (v->kind == SCH_BYTES && v->u.bytes.len == 0)) {
				memset(v, 0, sizeof(*v));	/* lost in the merge */
				*bad = 1;
			}
			break;
		}
	}
	*name = *name != NULL ? *name : "";
	return r;
}

/*
 * KEY (sluice.v1.Key): field 1, repeated KeyColumn, the only one.  Two
 * passes: count the columns, then decode them.
 */
int
sch_key_decode_pb(struct sl_slice in, struct sl_arena *a, const char ***names,
    struct sch_value **values, uint32_t *n, struct sl_err *err)
{
	static const uint8_t none[1];
	struct pd d;
	const uint8_t *p, *end;
	struct pd_field f;
	uint32_t count = 0, i = 0;
	int r, bad;

	*names = NULL;
	*values = NULL;
	*n = 0;
	if (in.len > SCH_PB_MAX_SIZE)
		return sl_errf(err, SL_ETOOBIG, "Key: %zu bytes is past the %u limit",
		    in.len, SCH_PB_MAX_SIZE);
	d.base = in.len > 0 ? in.p : none;
	d.what = "Key";
	d.len = in.len;
	d.a = a;
	d.used = 0;
	d.budget = PD_BUDGET(in.len);
	d.pool = NULL;
	d.pool_left = 0;
	d.err = err;
	d.rc = 0;
	end = d.base + in.len;
	for (p = d.base; (r = pd_next(&d, &p, end, &f)) > 0; )
		count += f.num == 1;
	if (r < 0)
		return d.rc;
	if ((*names = pd_alloc(&d, count * sizeof(char *) + 1, d.base)) == NULL ||
	    (*values = pd_alloc(&d, count * sizeof(struct sch_value) + 1,
	    d.base)) == NULL)
		return d.rc;
	for (p = d.base; pd_next(&d, &p, end, &f) > 0; ) {
		if (f.num != 1)
			continue;
		PD_WANT_RC(&d, &f, WT_LEN);
		if (pd_keycolumn(&d, &f, &(*names)[i], &(*values)[i], &bad) < 0)
			return d.rc;
		if (bad || (*values)[i].kind == SCH_UNCHANGED)
			return SL_CORRUPT(err, "Key: column %u: invalid value at byte %zu",
			    i, (size_t)(f.at - d.base));
		i++;
	}
	*n = count;
	return 0;
}
