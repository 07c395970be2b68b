/*
 * schemas/encode_pb.c: struct sch_event <-> protobuf (schemas/event.proto,
 * package sluice.v1), through protobuf-c.  protobuf-c types stay in this
 * file; sch.h never shows them.
 *
 * Events and keys, the hot path of capture, are written directly from
 * struct sch_event (see "direct encode" below), byte-identical to packing
 * through protobuf-c, which the *_ref encoders still do: they build a
 * protobuf-c message tree in a scratch arena (strings copied so they are
 * NUL-terminated, as protobuf-c wants) and pack it.  Transaction events
 * and heartbeats (one or two per transaction) use protobuf-c only.
 * Decoding here unpacks with an allocator that draws from the caller's
 * arena under a budget, then converts to struct sch_event in the same
 * arena: sch_event_decode_pb_ref and sch_key_decode_pb_ref are the
 * reference that the direct decoders of decode_pb.c (the hot path of
 * materialize) must agree with; TransactionEvent and Heartbeat are only
 * decoded here.
 *
 * It is not the JSON encoder (encode_json.c) and does not interpret PG
 * text (pg_types.c).
 *
 * INVARIANTS
 *  (1) Nothing from the wire makes us allocate more than PB_BUDGET(len)
 *      bytes: protobuf-c's allocations go through pb_alloc, which refuses
 *      past the budget, and our conversion allocates at most one
 *      struct sch_value per protobuf-c Value (which is larger).
 *  (2) protobuf-c recurses without limit on nested messages; Value and
 *      Array nest each other, so pb_scan() walks the wire bytes first
 *      and rejects arrays nested deeper than SCH_MAX_ARRAY_DEPTH before
 *      protobuf-c sees them.  No other message of event.proto recurses.
 *      pb_scan() walks every message of an Event or a Key, so its one
 *      stricter rule (a varint of more than 64 bits is an error; protobuf-c
 *      drops the excess bits) holds everywhere, as in decode_pb.c.
 *  (3) Packing is deterministic: protobuf-c writes fields in field-number
 *      order and we fill them from the struct only, so the same key gives
 *      the same bytes (sch.h invariant (3)).
 */
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "schemas/event.pb-c.h"
#include "schemas/sch.h"

/* (1) The decode allocation budget for 'len' bytes of input. */
#define PB_BUDGET(len) ((size_t)(len) * 32 + 65536)

/* ---------------------------------------------------------- allocation */

struct pb_arena {
	struct sl_arena *a;
	size_t used;
	size_t budget;
	int refused;			/* an allocation went past the budget */
};

static void *
pb_alloc(void *data, size_t size)
{
	struct pb_arena *pa = data;

	if (size > pa->budget - pa->used) {	/* (1) */
		pa->refused = 1;
		return NULL;
	}
	pa->used += size;
	return sl_arena_alloc(pa->a, size);
}

static void
pb_free(void *data, void *p)
{
	(void)data;
	(void)p;			/* the arena frees everything at once */
}

static char *
pb_str(struct sl_arena *a, const char *s, size_t len)
{
	char *p = sl_arena_alloc(a, len + 1);

	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* A NUL-terminated copy of 's', or protobuf-c's empty string for NULL. */
static char *
pb_cstr(struct sl_arena *a, const char *s)
{
	return s != NULL ? pb_str(a, s, strlen(s)) : (char *)"";
}

/*
 * Scratch memory for building protobuf-c trees while encoding: one arena
 * per thread, reset (keeping its newest chunk) after every message, so an
 * encode costs no malloc in the steady state.
 */
static _Thread_local struct sl_arena pb_scratch;

static void *
pb_new(struct sl_arena *a, size_t size)
{
	void *p = sl_arena_alloc(a, size);

	memset(p, 0, size);
	return p;
}

/* ------------------------------------------------------------- encode */

static Sluice__V1__Infinity
pb_inf(int inf)
{
	return inf > 0 ? SLUICE__V1__INFINITY__POSITIVE :
	    inf < 0 ? SLUICE__V1__INFINITY__NEGATIVE : SLUICE__V1__INFINITY__FINITE;
}

static Sluice__V1__Value *pb_value(const struct sch_value *v, struct sl_arena *a,
    int depth);

static Sluice__V1__Value *
pb_value(const struct sch_value *v, struct sl_arena *a, int depth)
{
	Sluice__V1__Value *m = pb_new(a, sizeof(*m));
	uint32_t i;

	sluice__v1__value__init(m);
	m->kind_case = (Sluice__V1__Value__KindCase)v->kind;
	switch (v->kind) {
	case SCH_NULL: m->null = 1; break;
	case SCH_UNCHANGED: m->unchanged = 1; break;
	case SCH_BOOL: m->bool_value = v->u.b != 0; break;
	case SCH_INT64: m->int64_value = v->u.i64; break;
	case SCH_UINT64: m->uint64_value = v->u.u64; break;
	case SCH_DOUBLE: m->double_value = v->u.f64; break;
	case SCH_NUMERIC: m->numeric = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_TEXT: m->text = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_BYTES:
		m->bytes_value.data = (uint8_t *)v->u.bytes.p;
		m->bytes_value.len = v->u.bytes.len;
		break;
	case SCH_UUID:
		m->uuid.data = (uint8_t *)v->u.uuid;
		m->uuid.len = 16;
		break;
	case SCH_JSON: m->json = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_DATE:
		m->date = pb_new(a, sizeof(*m->date));
		sluice__v1__date__init(m->date);
		m->date->days = v->inf ? 0 : v->u.date;
		m->date->infinity = pb_inf(v->inf);
		break;
	case SCH_TIME: m->time_us = v->u.time_us; break;
	case SCH_TIMETZ:
		m->timetz = pb_new(a, sizeof(*m->timetz));
		sluice__v1__time_tz__init(m->timetz);
		m->timetz->micros = v->u.timetz.time_us;
		m->timetz->offset_s = v->u.timetz.offset_s;
		break;
	case SCH_TIMESTAMP:
	case SCH_TIMESTAMPTZ: {
		Sluice__V1__Timestamp *t = pb_new(a, sizeof(*t));

		sluice__v1__timestamp__init(t);
		t->micros = v->inf ? 0 : v->u.ts_us;
		t->infinity = pb_inf(v->inf);
		if (v->kind == SCH_TIMESTAMP)
			m->timestamp = t;
		else
			m->timestamptz = t;
		break;
	}
	case SCH_INTERVAL:
		m->interval = pb_new(a, sizeof(*m->interval));
		sluice__v1__interval__init(m->interval);
		m->interval->months = v->u.interval.months;
		m->interval->days = v->u.interval.days;
		m->interval->micros = v->u.interval.us;
		break;
	case SCH_INET: m->inet = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_MACADDR: m->macaddr = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_BITS: m->bits = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_MONEY: m->money = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_XML: m->xml = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_ENUM: m->enum_label = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_OTHER: m->other = pb_str(a, v->u.s.p, v->u.s.len); break;
	case SCH_ARRAY:
		m->array = pb_new(a, sizeof(*m->array));
		sluice__v1__array__init(m->array);
		m->array->elem_oid = v->u.array.elem_oid;
		if (depth >= SCH_MAX_ARRAY_DEPTH)	/* checked by sch_event_check_ */
			break;
		m->array->n_values = v->u.array.n;
		m->array->values = pb_new(a, (size_t)v->u.array.n * sizeof(void *));
		for (i = 0; i < v->u.array.n; i++)
			m->array->values[i] = pb_value(&v->u.array.v[i], a, depth + 1);
		break;
	}
	return m;
}

static Sluice__V1__Value **
pb_image(const struct sch_value *img, uint32_t n, struct sl_arena *a)
{
	Sluice__V1__Value **vs = pb_new(a, (size_t)n * sizeof(*vs));
	uint32_t i;

	for (i = 0; i < n; i++)
		vs[i] = pb_value(&img[i], a, 0);
	return vs;
}

static Sluice__V1__Source *
pb_source(const struct sch_source *s, struct sl_arena *a)
{
	Sluice__V1__Source *m = pb_new(a, sizeof(*m));

	sluice__v1__source__init(m);
	m->connector = pb_cstr(a, s->connector);
	m->name = pb_cstr(a, s->name);
	m->db = pb_cstr(a, s->db);
	m->schema = pb_cstr(a, s->schema);
	m->table = pb_cstr(a, s->table);
	m->ts_ms = s->ts_ms;
	m->ts_us = s->ts_us;
	m->snapshot = (Sluice__V1__Snapshot)s->snapshot;
	m->present = s->has;
	m->lsn = s->lsn;
	m->last_commit_lsn = s->last_commit_lsn;
	m->txid = s->txid;
	m->xmin = s->xmin;
	m->binlog_file = pb_cstr(a, s->binlog_file);
	m->binlog_pos = s->binlog_pos;
	m->server_id = s->server_id;
	m->row = s->row;
	m->gtid = pb_cstr(a, s->gtid);
	m->sequence = s->sequence;
	return m;
}

static Sluice__V1__Table *
pb_table(const struct sch_table *t, struct sl_arena *a)
{
	Sluice__V1__Table *m = pb_new(a, sizeof(*m));
	uint32_t i;

	sluice__v1__table__init(m);
	m->schema_id = t->schema_id;
	m->db = pb_cstr(a, t->db);
	m->schema = pb_cstr(a, t->schema);
	m->name = pb_cstr(a, t->name);
	m->n_columns = t->n_columns;
	m->columns = pb_new(a, (size_t)t->n_columns * sizeof(void *));
	for (i = 0; i < t->n_columns; i++) {
		const struct sch_column *c = &t->columns[i];
		Sluice__V1__Column *mc = pb_new(a, sizeof(*mc));

		sluice__v1__column__init(mc);
		mc->name = pb_cstr(a, c->name);
		mc->type_oid = c->type_oid;
		mc->type_name = pb_cstr(a, c->type_name);
		mc->typmod = c->typmod;
		mc->is_key = c->is_key != 0;
		mc->nullable = c->nullable;
		m->columns[i] = mc;
	}
	return m;
}

static Sluice__V1__Op
pb_op(enum sch_op op)
{
	switch (op) {
	case SCH_OP_CREATE: return SLUICE__V1__OP__CREATE;
	case SCH_OP_UPDATE: return SLUICE__V1__OP__UPDATE;
	case SCH_OP_DELETE: return SLUICE__V1__OP__DELETE;
	case SCH_OP_READ: return SLUICE__V1__OP__READ;
	case SCH_OP_TRUNCATE: return SLUICE__V1__OP__TRUNCATE;
	case SCH_OP_MESSAGE: return SLUICE__V1__OP__MESSAGE;
	}
	return SLUICE__V1__OP__OP_UNSPECIFIED;
}

/* Pack 'm' onto the end of 'out'. (3) */
static void
pb_pack(const ProtobufCMessage *m, struct sl_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n == 0)
		return;			/* all fields default: zero bytes */
	sl_buf_reserve(out, n);
	out->len += protobuf_c_message_pack(m, out->p + out->len);
}

int
sch_event_encode_pb_ref(const struct sch_event *ev, struct sl_buf *out)
{
	Sluice__V1__Event m = SLUICE__V1__EVENT__INIT;
	Sluice__V1__TransactionInfo tx = SLUICE__V1__TRANSACTION_INFO__INIT;
	Sluice__V1__LogicalMessage msg = SLUICE__V1__LOGICAL_MESSAGE__INIT;
	struct sl_arena *a = &pb_scratch;
	uint32_t n;

	if (sch_event_check_(ev, NULL) != 0)
		return SL_EINVAL;
	m.op = pb_op(ev->op);
	n = ev->table != NULL ? ev->table->n_columns : 0;
	if (ev->table != NULL)
		m.table = pb_table(ev->table, a);
	if (ev->before != NULL) {
		m.has_before = 1;
		m.n_before = n;
		m.before = pb_image(ev->before, n, a);
	}
	if (ev->after != NULL) {
		m.has_after = 1;
		m.n_after = n;
		m.after = pb_image(ev->after, n, a);
	}
	m.source = pb_source(&ev->source, a);
	if (ev->tx.id != NULL) {
		tx.id = pb_cstr(a, ev->tx.id);
		tx.total_order = ev->tx.total_order;
		tx.data_collection_order = ev->tx.data_collection_order;
		m.transaction = &tx;
	}
	if (ev->message != NULL) {
		msg.prefix = pb_cstr(a, ev->message->prefix);
		msg.content.data = (uint8_t *)ev->message->content.p;
		msg.content.len = ev->message->content.len;
		msg.transactional = ev->message->transactional != 0;
		msg.lsn = ev->message->lsn;
		m.message = &msg;
	}
	m.ts_ms = ev->ts_ms;
	pb_pack(&m.base, out);
	sl_arena_reset(a);
	return 0;
}

/* The image Debezium keys on: after, or before for a delete. */
static const struct sch_value *
key_image(const struct sch_event *ev)
{
	return ev->after != NULL ? ev->after : ev->before;
}

int
sch_key_encode_pb_ref(const struct sch_event *ev, struct sl_buf *out)
{
	Sluice__V1__Key m = SLUICE__V1__KEY__INIT;
	const struct sch_table *t = ev->table;
	const struct sch_value *img = key_image(ev);
	struct sl_arena *a = &pb_scratch;
	uint32_t i, n = 0;

	if (t == NULL || img == NULL)
		return SL_EINVAL;
	for (i = 0; i < t->n_columns; i++) {
		if (!t->columns[i].is_key)
			continue;
		if (img[i].kind == SCH_UNCHANGED)
			return SL_EINVAL;
		n++;
	}
	if (n == 0)
		return SL_ENOTFOUND;
	m.n_columns = n;
	m.columns = pb_new(a, n * sizeof(void *));
	for (i = 0, n = 0; i < t->n_columns; i++) {
		Sluice__V1__KeyColumn *kc;

		if (!t->columns[i].is_key)
			continue;
		kc = pb_new(a, sizeof(*kc));
		sluice__v1__key_column__init(kc);
		kc->name = pb_cstr(a, t->columns[i].name);
		kc->type_oid = t->columns[i].type_oid;
		kc->value = pb_value(&img[i], a, 0);
		m.columns[n++] = kc;
	}
	pb_pack(&m.base, out);
	sl_arena_reset(a);
	return 0;
}

int
sch_txevent_encode_pb(const struct sch_txevent *tx, struct sl_buf *out)
{
	Sluice__V1__TransactionEvent m = SLUICE__V1__TRANSACTION_EVENT__INIT;
	struct sl_arena *a = &pb_scratch;
	uint32_t i;

	if ((tx->status != SCH_TX_BEGIN && tx->status != SCH_TX_END) ||
	    (tx->n_collections > 0 && tx->collections == NULL))
		return SL_EINVAL;
	m.status = (Sluice__V1__TransactionEvent__Status)tx->status;
	m.id = pb_cstr(a, tx->id);
	m.event_count = tx->event_count;
	m.n_data_collections = tx->n_collections;
	m.data_collections = pb_new(a, (size_t)tx->n_collections * sizeof(void *));
	for (i = 0; i < tx->n_collections; i++) {
		Sluice__V1__DataCollection *dc = pb_new(a, sizeof(*dc));

		sluice__v1__data_collection__init(dc);
		dc->data_collection = pb_cstr(a, tx->collections[i].data_collection);
		dc->event_count = tx->collections[i].event_count;
		m.data_collections[i] = dc;
	}
	m.ts_ms = tx->ts_ms;
	m.source = pb_source(&tx->source, a);
	pb_pack(&m.base, out);
	sl_arena_reset(a);
	return 0;
}

int
sch_heartbeat_encode_pb(const struct sch_heartbeat *hb, struct sl_buf *out)
{
	Sluice__V1__Heartbeat m = SLUICE__V1__HEARTBEAT__INIT;
	struct sl_arena *a = &pb_scratch;

	m.connector = pb_cstr(a, hb->connector);
	m.name = pb_cstr(a, hb->name);
	m.ts_ms = hb->ts_ms;
	m.lsn = hb->lsn;
	m.binlog_file = pb_cstr(a, hb->binlog_file);
	m.binlog_pos = hb->binlog_pos;
	m.gtid_set = pb_cstr(a, hb->gtid_set);
	pb_pack(&m.base, out);
	sl_arena_reset(a);
	return 0;
}

/* ------------------------------------------------------ direct encode */

/*
 * The hot path: sch_event_encode_pb and sch_key_encode_pb write the wire
 * bytes straight from struct sch_event, without building a protobuf-c tree
 * (no reflection, no scratch allocation, no get_packed_size pass).  The
 * output is byte-identical to the protobuf-c encoders above (the *_ref
 * functions), which stay as the reference that tests/check_pbdirect.c
 * compares against.  The decoders' direct counterparts are in decode_pb.c.
 *
 * What "identical" means, field by field, is protobuf-c 1.4's packing of
 * proto3 fields:
 *  - scalars, enums and strings outside a oneof are written only when not
 *    zero / not empty (a string's length is its strlen);
 *  - the member of a oneof named by the case is always written, even when
 *    zero or empty; a oneof string stops at its first NUL, as protobuf-c
 *    measures it with strlen (PostgreSQL text has no NULs);
 *  - a submessage is written whenever it is present, even when empty, and
 *    a repeated message writes every element;
 *  - fields go out in field-number order; int32 and enum values are
 *    sign-extended to 64 bits, sint32/sint64 zigzag-encoded.
 *
 * A submessage's length prefix is not known before its body is written:
 * pd_open leaves one byte for it and pd_close moves the body when the
 * length needs more (bodies of 128 bytes or more: rare, and a short move).
 */

/* Make room for 'n' more bytes. */
static inline void
pd_room(struct sl_buf *b, size_t n)
{
	if (b->cap - b->len < n)
		sl_buf_reserve(b, n);
}

static inline void
pd_varint(struct sl_buf *b, uint64_t v)
{
	uint8_t *p;

	pd_room(b, 10);
	p = b->p + b->len;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	b->len = (size_t)(p - b->p);
}

static inline int
pd_varint_size(uint64_t v)
{
	int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Wire types. */
enum { PD_VARINT = 0, PD_I64 = 1, PD_LEN = 2 };

static inline void
pd_tag(struct sl_buf *b, uint32_t field, int wt)
{
	pd_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

/* uint32, uint64: written when not 0, or always when 'force' (oneof). */
static inline void
pd_u64(struct sl_buf *b, uint32_t field, uint64_t v, int force)
{
	if (v == 0 && !force)
		return;
	pd_tag(b, field, PD_VARINT);
	pd_varint(b, v);
}

/* int32, int64 and enums: negative values take ten bytes. */
static inline void
pd_i64(struct sl_buf *b, uint32_t field, int64_t v, int force)
{
	pd_u64(b, field, (uint64_t)v, force);
}

static inline void
pd_s32(struct sl_buf *b, uint32_t field, int32_t v, int force)
{
	pd_u64(b, field, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)), force);
}

static inline void
pd_s64(struct sl_buf *b, uint32_t field, int64_t v, int force)
{
	pd_u64(b, field, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63), force);
}

static inline void
pd_bool(struct sl_buf *b, uint32_t field, int v, int force)
{
	pd_u64(b, field, v != 0, force);
}

static inline void
pd_bytes(struct sl_buf *b, uint32_t field, const void *p, size_t len, int force)
{
	if (len == 0 && !force)
		return;
	pd_tag(b, field, PD_LEN);
	pd_varint(b, len);
	if (len > 0) {
		pd_room(b, len);
		memcpy(b->p + b->len, p, len);
		b->len += len;
	}
}

/* A string field outside a oneof: NULL and "" are not written. */
static inline void
pd_cstr(struct sl_buf *b, uint32_t field, const char *s)
{
	if (s != NULL && s[0] != '\0')
		pd_bytes(b, field, s, strlen(s), 0);
}

/* A oneof string: always written, up to its first NUL (see above). */
static inline void
pd_ostr(struct sl_buf *b, uint32_t field, const struct sch_str *s)
{
	const char *nul = s->len ? memchr(s->p, '\0', s->len) : NULL;

	pd_bytes(b, field, s->p, nul ? (size_t)(nul - s->p) : s->len, 1);
}

/* Open submessage 'field': returns where its body starts. */
static inline size_t
pd_open(struct sl_buf *b, uint32_t field)
{
	pd_tag(b, field, PD_LEN);
	pd_room(b, 1);
	b->len++;			/* the length, when it fits one byte */
	return b->len;
}

static inline void
pd_close(struct sl_buf *b, size_t body)
{
	size_t len = b->len - body;
	int n = pd_varint_size(len), i;
	uint8_t *p;

	if (n > 1) {
		pd_room(b, (size_t)n - 1);
		memmove(b->p + body + n - 1, b->p + body, len);
		b->len += (size_t)n - 1;
	}
	p = b->p + body - 1;
	for (i = 0; i < n - 1; i++) {
		*p++ = (uint8_t)(len | 0x80);
		len >>= 7;
	}
	*p = (uint8_t)len;
}

static void
pd_value(struct sl_buf *b, const struct sch_value *v, int depth)
{
	size_t m;
	uint64_t bits;
	uint32_t i;

	switch (v->kind) {
	case SCH_NULL:
	case SCH_UNCHANGED:
		pd_bool(b, (uint32_t)v->kind, 1, 1);
		break;
	case SCH_BOOL: pd_bool(b, SCH_BOOL, v->u.b, 1); break;
	case SCH_INT64: pd_s64(b, SCH_INT64, v->u.i64, 1); break;
	case SCH_UINT64: pd_u64(b, SCH_UINT64, v->u.u64, 1); break;
	case SCH_DOUBLE:
		memcpy(&bits, &v->u.f64, sizeof(bits));
		pd_tag(b, SCH_DOUBLE, PD_I64);
		pd_room(b, 8);
		for (i = 0; i < 8; i++)
			b->p[b->len++] = (uint8_t)(bits >> (8 * i));
		break;
	case SCH_NUMERIC: case SCH_TEXT: case SCH_JSON: case SCH_INET:
	case SCH_MACADDR: case SCH_BITS: case SCH_MONEY: case SCH_XML:
	case SCH_ENUM: case SCH_OTHER:
		/*
		 * Every byte, an embedded NUL included (MySQL text may hold
		 * one; protobuf allows it).  Names still stop at a NUL, as
		 * protobuf-c's C strings do.
		 */
		pd_bytes(b, (uint32_t)v->kind, v->u.s.p, v->u.s.len, 1);
		break;
	case SCH_BYTES: pd_bytes(b, SCH_BYTES, v->u.bytes.p, v->u.bytes.len, 1); break;
	case SCH_UUID: pd_bytes(b, SCH_UUID, v->u.uuid, 16, 1); break;
	case SCH_DATE:
		m = pd_open(b, SCH_DATE);
		pd_s32(b, 1, v->inf ? 0 : v->u.date, 0);
		pd_i64(b, 2, pb_inf(v->inf), 0);
		pd_close(b, m);
		break;
	case SCH_TIME: pd_s64(b, SCH_TIME, v->u.time_us, 1); break;
	case SCH_TIMETZ:
		m = pd_open(b, SCH_TIMETZ);
		pd_s64(b, 1, v->u.timetz.time_us, 0);
		pd_s32(b, 2, v->u.timetz.offset_s, 0);
		pd_close(b, m);
		break;
	case SCH_TIMESTAMP:
	case SCH_TIMESTAMPTZ:
		m = pd_open(b, (uint32_t)v->kind);
		pd_s64(b, 1, v->inf ? 0 : v->u.ts_us, 0);
		pd_i64(b, 2, pb_inf(v->inf), 0);
		pd_close(b, m);
		break;
	case SCH_INTERVAL:
		m = pd_open(b, SCH_INTERVAL);
		pd_s32(b, 1, v->u.interval.months, 0);
		pd_s32(b, 2, v->u.interval.days, 0);
		pd_s64(b, 3, v->u.interval.us, 0);
		pd_close(b, m);
		break;
	case SCH_ARRAY:
		m = pd_open(b, SCH_ARRAY);
		pd_u64(b, 1, v->u.array.elem_oid, 0);
		if (depth < SCH_MAX_ARRAY_DEPTH) {	/* checked by sch_event_check_ */
			for (i = 0; i < v->u.array.n; i++) {
				size_t e = pd_open(b, 2);

				pd_value(b, &v->u.array.v[i], depth + 1);
				pd_close(b, e);
			}
		}
		pd_close(b, m);
		break;
	}
}

static void
pd_image(struct sl_buf *b, uint32_t field, const struct sch_value *img, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		size_t m = pd_open(b, field);

		pd_value(b, &img[i], 0);
		pd_close(b, m);
	}
}

static void
pd_source(struct sl_buf *b, uint32_t field, const struct sch_source *s)
{
	size_t m = pd_open(b, field);

	pd_cstr(b, 1, s->connector);
	pd_cstr(b, 2, s->name);
	pd_cstr(b, 3, s->db);
	pd_cstr(b, 4, s->schema);
	pd_cstr(b, 5, s->table);
	pd_i64(b, 6, s->ts_ms, 0);
	pd_i64(b, 7, s->ts_us, 0);
	pd_i64(b, 8, (int32_t)s->snapshot, 0);
	pd_u64(b, 9, s->lsn, 0);
	pd_u64(b, 10, s->last_commit_lsn, 0);
	pd_u64(b, 11, s->txid, 0);
	pd_u64(b, 12, s->xmin, 0);
	pd_cstr(b, 13, s->binlog_file);
	pd_u64(b, 14, s->binlog_pos, 0);
	pd_u64(b, 15, s->server_id, 0);
	pd_u64(b, 16, s->row, 0);
	pd_cstr(b, 17, s->gtid);
	pd_u64(b, 18, s->sequence, 0);
	pd_u64(b, 19, (uint32_t)s->has, 0);
	pd_close(b, m);
}

static void
pd_table(struct sl_buf *b, uint32_t field, const struct sch_table *t)
{
	size_t m = pd_open(b, field);
	uint32_t i;

	pd_u64(b, 1, t->schema_id, 0);
	pd_cstr(b, 2, t->db);
	pd_cstr(b, 3, t->schema);
	pd_cstr(b, 4, t->name);
	for (i = 0; i < t->n_columns; i++) {
		const struct sch_column *c = &t->columns[i];
		size_t mc = pd_open(b, 5);

		pd_cstr(b, 1, c->name);
		pd_u64(b, 2, c->type_oid, 0);
		pd_cstr(b, 3, c->type_name);
		pd_s32(b, 4, c->typmod, 0);
		pd_bool(b, 5, c->is_key, 0);
		pd_s32(b, 6, c->nullable, 0);
		pd_close(b, mc);
	}
	pd_close(b, m);
}

int
sch_table_encode_pb(const struct sch_table *t, struct sl_buf *out)
{
	pd_table(out, 2, t);
	return 0;
}

/* 'table_pb': the table's encoding (sch_table_encode_pb), or NULL to encode it. */
static int
event_encode(const struct sch_event *ev, const struct sl_slice *table_pb, struct sl_buf *out)
{
	uint32_t n;
	size_t m;

	if (sch_event_check_(ev, NULL) != 0)
		return SL_EINVAL;
	pd_i64(out, 1, pb_op(ev->op), 0);
	n = ev->table != NULL ? ev->table->n_columns : 0;
	if (ev->table != NULL && table_pb != NULL)
		sl_buf_add(out, table_pb->p, table_pb->len);
	else if (ev->table != NULL)
		pd_table(out, 2, ev->table);
	if (ev->before != NULL)
		pd_image(out, 3, ev->before, n);
	if (ev->after != NULL)
		pd_image(out, 4, ev->after, n);
	pd_bool(out, 5, ev->before != NULL, 0);
	pd_bool(out, 6, ev->after != NULL, 0);
	pd_source(out, 7, &ev->source);
	if (ev->tx.id != NULL) {
		m = pd_open(out, 8);
		pd_cstr(out, 1, ev->tx.id);
		pd_u64(out, 2, ev->tx.total_order, 0);
		pd_u64(out, 3, ev->tx.data_collection_order, 0);
		pd_close(out, m);
	}
	if (ev->message != NULL) {
		m = pd_open(out, 9);
		pd_cstr(out, 1, ev->message->prefix);
		pd_bytes(out, 2, ev->message->content.p, ev->message->content.len, 0);
		pd_bool(out, 3, ev->message->transactional, 0);
		pd_u64(out, 4, ev->message->lsn, 0);
		pd_close(out, m);
	}
	pd_i64(out, 10, ev->ts_ms, 0);
	return 0;
}

int
sch_event_encode_pb(const struct sch_event *ev, struct sl_buf *out)
{
	return event_encode(ev, NULL, out);
}

int
sch_event_encode_pb_table(const struct sch_event *ev, struct sl_slice table_pb,
    struct sl_buf *out)
{
	return event_encode(ev, &table_pb, out);
}

int
sch_key_encode_pb(const struct sch_event *ev, struct sl_buf *out)
{
	const struct sch_table *t = ev->table;
	const struct sch_value *img = key_image(ev);
	uint32_t i, n = 0;

	if (t == NULL || img == NULL)
		return SL_EINVAL;
	for (i = 0; i < t->n_columns; i++) {
		if (!t->columns[i].is_key)
			continue;
		if (img[i].kind == SCH_UNCHANGED)
			return SL_EINVAL;
		n++;
	}
	if (n == 0)
		return SL_ENOTFOUND;
	for (i = 0; i < t->n_columns; i++) {
		size_t m, mv;

		if (!t->columns[i].is_key)
			continue;
		m = pd_open(out, 1);
		pd_cstr(out, 1, t->columns[i].name);
		pd_u64(out, 2, t->columns[i].type_oid, 0);
		mv = pd_open(out, 3);
		pd_value(out, &img[i], 0);
		pd_close(out, mv);
		pd_close(out, m);
	}
	return 0;
}

/* ------------------------------------------------------------- decode */

/*
 * (2) Walk the protobuf wire bytes of a message whose type is 'msg' and
 * check nesting before protobuf-c recurses.  Message types: 'E' Event,
 * 'V' Value, 'A' Array, 'K' Key, 'C' KeyColumn, 'T' Table, 'L' any message
 * without submessages (Column, Source, TransactionInfo, LogicalMessage,
 * Date, TimeTz, Timestamp, Interval).  Every submessage is followed, so
 * sl_uvarint_get's rule on varints longer than 64 bits applies to all of
 * them (see the header of decode_pb.c).  Returns 0 or -1 (malformed or too
 * deep), with '*where' the offending offset.
 */
static int
pb_scan(const uint8_t *p, size_t len, char msg, int depth, size_t base,
    size_t *where)
{
	size_t i = 0;

	while (i < len) {
		uint64_t key, n;
		int k = sl_uvarint_get(p + i, len - i, &key);
		char sub = 0;

		*where = base + i;
		if (k <= 0)
			return -1;
		i += (size_t)k;
		switch (key & 7) {
		case 0:
			k = sl_uvarint_get(p + i, len - i, &n);
			if (k <= 0)
				return -1;
			i += (size_t)k;
			continue;
		case 1:
			if (len - i < 8)
				return -1;
			i += 8;
			continue;
		case 5:
			if (len - i < 4)
				return -1;
			i += 4;
			continue;
		case 2:
			break;
		default:
			return -1;
		}
		k = sl_uvarint_get(p + i, len - i, &n);
		if (k <= 0 || n > len - i - (size_t)k)
			return -1;
		i += (size_t)k;
		switch (msg) {
		case 'E':
			switch (key >> 3) {
			case 2: sub = 'T'; break;
			case 3: case 4: sub = 'V'; break;
			case 7: case 8: case 9: sub = 'L'; break;
			}
			break;
		case 'T': sub = key >> 3 == 5 ? 'L' : 0; break;
		case 'V':
			switch (key >> 3) {
			case 12: case 14: case 15: case 16: case 17: sub = 'L'; break;
			case 23: sub = 'A'; break;
			}
			break;
		case 'A': sub = key >> 3 == 2 ? 'V' : 0; break;
		case 'K': sub = key >> 3 == 1 ? 'C' : 0; break;
		case 'C': sub = key >> 3 == 3 ? 'V' : 0; break;
		}
		if (sub == 'A' && depth + 1 > SCH_MAX_ARRAY_DEPTH) {
			*where = base + i;
			return -1;
		}
		if (sub != 0 && pb_scan(p + i, (size_t)n, sub,
		    sub == 'A' ? depth + 1 : depth, base + i, where) < 0)
			return -1;
		i += (size_t)n;
	}
	return 0;
}

/* Unpack 'in' as 'desc' into the arena, after the checks (1) and (2). */
static ProtobufCMessage *
pb_unpack(const ProtobufCMessageDescriptor *desc, char scan, struct sl_slice in,
    struct sl_arena *a, int *rc, struct sl_err *err)
{
	struct pb_arena pa = { a, 0, PB_BUDGET(in.len), 0 };
	ProtobufCAllocator al = { pb_alloc, pb_free, &pa };
	ProtobufCMessage *m;
	size_t where = 0;

	if (in.len > SCH_PB_MAX_SIZE) {
		*rc = sl_errf(err, SL_ETOOBIG, "%s: %zu bytes is past the %u limit",
		    desc->name, in.len, SCH_PB_MAX_SIZE);
		return NULL;
	}
	if (scan != 0 && pb_scan(in.p, in.len, scan, 0, 0, &where) < 0) {
		*rc = SL_CORRUPT(err, "%s: bad wire format or arrays nested deeper "
		    "than %d at byte %zu", desc->name, SCH_MAX_ARRAY_DEPTH, where);
		return NULL;
	}
	m = protobuf_c_message_unpack(desc, &al, in.len, in.p);
	if (m == NULL) {
		*rc = pa.refused ?
		    SL_CORRUPT(err, "%s: decoding %zu bytes needs more than %zu bytes "
			"of memory", desc->name, in.len, pa.budget) :
		    SL_CORRUPT(err, "%s: malformed protobuf (%zu bytes)", desc->name,
			in.len);
	}
	return m;
}

static const char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static int
inf_from_pb(Sluice__V1__Infinity i, int *out)
{
	switch (i) {
	case SLUICE__V1__INFINITY__FINITE: *out = SCH_INF_NONE; return 0;
	case SLUICE__V1__INFINITY__POSITIVE: *out = SCH_INF_POS; return 0;
	case SLUICE__V1__INFINITY__NEGATIVE: *out = SCH_INF_NEG; return 0;
	default: return -1;
	}
}

static struct sch_str
str_of(const char *s)
{
	struct sch_str r;

	r.p = s != NULL ? s : "";
	r.len = strlen(r.p);
	return r;
}

/* Convert one decoded Value; returns 0 or -1 (invalid). */
static int
value_from_pb(const Sluice__V1__Value *m, struct sl_arena *a, int depth,
    struct sch_value *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	if (m == NULL)
		return -1;
	v->kind = (enum sch_kind)m->kind_case;
	switch (m->kind_case) {
	case SLUICE__V1__VALUE__KIND_NULL:
	case SLUICE__V1__VALUE__KIND_UNCHANGED:
		return 0;
	case SLUICE__V1__VALUE__KIND_BOOL_VALUE: v->u.b = m->bool_value != 0; return 0;
	case SLUICE__V1__VALUE__KIND_INT64_VALUE: v->u.i64 = m->int64_value; return 0;
	case SLUICE__V1__VALUE__KIND_UINT64_VALUE: v->u.u64 = m->uint64_value; return 0;
	case SLUICE__V1__VALUE__KIND_DOUBLE_VALUE: v->u.f64 = m->double_value; return 0;
	case SLUICE__V1__VALUE__KIND_NUMERIC: v->u.s = str_of(m->numeric); return 0;
	case SLUICE__V1__VALUE__KIND_TEXT: v->u.s = str_of(m->text); return 0;
	case SLUICE__V1__VALUE__KIND_BYTES_VALUE:
		v->u.bytes = sl_slice_make(m->bytes_value.data, m->bytes_value.len);
		return 0;
	case SLUICE__V1__VALUE__KIND_UUID:
		if (m->uuid.len != 16)
			return -1;
		memcpy(v->u.uuid, m->uuid.data, 16);
		return 0;
	case SLUICE__V1__VALUE__KIND_JSON: v->u.s = str_of(m->json); return 0;
	case SLUICE__V1__VALUE__KIND_DATE:
		if (m->date == NULL || inf_from_pb(m->date->infinity, &v->inf) < 0)
			return -1;
		v->u.date = v->inf ? 0 : m->date->days;
		return 0;
	case SLUICE__V1__VALUE__KIND_TIME_US: v->u.time_us = m->time_us; return 0;
	case SLUICE__V1__VALUE__KIND_TIMETZ:
		if (m->timetz == NULL)
			return -1;
		v->u.timetz.time_us = m->timetz->micros;
		v->u.timetz.offset_s = m->timetz->offset_s;
		return 0;
	case SLUICE__V1__VALUE__KIND_TIMESTAMP:
	case SLUICE__V1__VALUE__KIND_TIMESTAMPTZ: {
		const Sluice__V1__Timestamp *t =
		    m->kind_case == SLUICE__V1__VALUE__KIND_TIMESTAMP ?
		    m->timestamp : m->timestamptz;

		if (t == NULL || inf_from_pb(t->infinity, &v->inf) < 0)
			return -1;
		v->u.ts_us = v->inf ? 0 : t->micros;
		return 0;
	}
	case SLUICE__V1__VALUE__KIND_INTERVAL:
		if (m->interval == NULL)
			return -1;
		v->u.interval.months = m->interval->months;
		v->u.interval.days = m->interval->days;
		v->u.interval.us = m->interval->micros;
		return 0;
	case SLUICE__V1__VALUE__KIND_INET: v->u.s = str_of(m->inet); return 0;
	case SLUICE__V1__VALUE__KIND_MACADDR: v->u.s = str_of(m->macaddr); return 0;
	case SLUICE__V1__VALUE__KIND_BITS: v->u.s = str_of(m->bits); return 0;
	case SLUICE__V1__VALUE__KIND_MONEY: v->u.s = str_of(m->money); return 0;
	case SLUICE__V1__VALUE__KIND_XML: v->u.s = str_of(m->xml); return 0;
	case SLUICE__V1__VALUE__KIND_ENUM_LABEL: v->u.s = str_of(m->enum_label); return 0;
	case SLUICE__V1__VALUE__KIND_OTHER: v->u.s = str_of(m->other); return 0;
	case SLUICE__V1__VALUE__KIND_ARRAY:
		/* (2) already held by pb_scan; kept for hand-built messages */
		if (m->array == NULL || depth >= SCH_MAX_ARRAY_DEPTH ||
		    m->array->n_values > UINT32_MAX)
			return -1;
		v->u.array.elem_oid = m->array->elem_oid;
		v->u.array.n = (uint32_t)m->array->n_values;
		v->u.array.v = sl_arena_alloc(a, m->array->n_values * sizeof(*v) + 1);
		for (i = 0; i < m->array->n_values; i++) {
			if (value_from_pb(m->array->values[i], a, depth + 1,
			    &v->u.array.v[i]) < 0)
				return -1;
			if (v->u.array.v[i].kind == SCH_UNCHANGED)
				return -1;
		}
		return 0;
	default:
		return -1;
	}
}

static void
source_from_pb(const Sluice__V1__Source *m, struct sch_source *s)
{
	memset(s, 0, sizeof(*s));
	if (m == NULL)
		return;
	s->connector = dup_or_null(m->connector);
	s->name = dup_or_null(m->name);
	s->db = dup_or_null(m->db);
	s->schema = dup_or_null(m->schema);
	s->table = dup_or_null(m->table);
	s->ts_ms = m->ts_ms;
	s->ts_us = m->ts_us;
	s->snapshot = (enum sch_snapshot)m->snapshot;
	s->has = m->present;
	s->lsn = m->lsn;
	s->last_commit_lsn = m->last_commit_lsn;
	s->txid = m->txid;
	s->xmin = m->xmin;
	s->binlog_file = dup_or_null(m->binlog_file);
	s->binlog_pos = m->binlog_pos;
	s->server_id = m->server_id;
	s->row = m->row;
	s->gtid = dup_or_null(m->gtid);
	s->sequence = m->sequence;
}

static int
op_from_pb(Sluice__V1__Op op, enum sch_op *out)
{
	switch (op) {
	case SLUICE__V1__OP__CREATE: *out = SCH_OP_CREATE; return 0;
	case SLUICE__V1__OP__UPDATE: *out = SCH_OP_UPDATE; return 0;
	case SLUICE__V1__OP__DELETE: *out = SCH_OP_DELETE; return 0;
	case SLUICE__V1__OP__READ: *out = SCH_OP_READ; return 0;
	case SLUICE__V1__OP__TRUNCATE: *out = SCH_OP_TRUNCATE; return 0;
	case SLUICE__V1__OP__MESSAGE: *out = SCH_OP_MESSAGE; return 0;
	default: return -1;
	}
}

static int
image_from_pb(Sluice__V1__Value **vs, size_t n, uint32_t ncol, struct sl_arena *a,
    struct sch_value **out, const char *which, struct sl_err *err)
{
	struct sch_value *img;
	size_t i;

	if (n != ncol)
		return SL_CORRUPT(err, "Event: %s image has %zu values for %u columns",
		    which, n, ncol);
	img = sl_arena_alloc(a, n * sizeof(*img) + 1);
	for (i = 0; i < n; i++)
		if (value_from_pb(vs[i], a, 0, &img[i]) < 0)
			return SL_CORRUPT(err, "Event: %s image column %zu: invalid value",
			    which, i);
	*out = img;
	return 0;
}

int
sch_event_decode_pb_ref(struct sl_slice in, struct sl_arena *a,
    struct sch_event *out, struct sl_err *err)
{
	Sluice__V1__Event *m;
	struct sch_table *t = NULL;
	struct sl_err check = { 0, NULL, 0, "" };
	int rc = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	m = (Sluice__V1__Event *)pb_unpack(&sluice__v1__event__descriptor, 'E',
	    in, a, &rc, err);
	if (m == NULL)
		return rc;
	if (op_from_pb(m->op, &out->op) < 0)
		return SL_CORRUPT(err, "Event: unknown op %d", (int)m->op);
	if (m->source == NULL)
		return SL_CORRUPT(err, "Event: no source");
	if ((unsigned)m->source->snapshot > SCH_SNAPSHOT_INCREMENTAL)
		return SL_CORRUPT(err, "Event: unknown snapshot value %d",
		    (int)m->source->snapshot);
	if (m->table != NULL) {
		if (m->table->n_columns > UINT32_MAX)
			return SL_CORRUPT(err, "Event: too many columns");
		t = sl_arena_alloc(a, sizeof(*t));
		t->schema_id = m->table->schema_id;
		t->db = dup_or_null(m->table->db);
		t->schema = dup_or_null(m->table->schema);
		t->name = m->table->name;
		t->n_columns = (uint32_t)m->table->n_columns;
		t->columns = sl_arena_alloc(a, t->n_columns * sizeof(*t->columns) + 1);
		for (i = 0; i < t->n_columns; i++) {
			const Sluice__V1__Column *c = m->table->columns[i];

			t->columns[i].name = c->name;
			t->columns[i].type_oid = c->type_oid;
			t->columns[i].type_name = dup_or_null(c->type_name);
			t->columns[i].typmod = c->typmod;
			t->columns[i].is_key = c->is_key != 0;
			t->columns[i].nullable = c->nullable;
		}
		out->table = t;
	}
	if (m->has_before && t != NULL &&
	    (rc = image_from_pb(m->before, m->n_before, t->n_columns, a,
	    &out->before, "before", err)) != 0)
		return rc;
	if (m->has_after && t != NULL &&
	    (rc = image_from_pb(m->after, m->n_after, t->n_columns, a,
	    &out->after, "after", err)) != 0)
		return rc;
	if ((m->has_before || m->has_after) && t == NULL)
		return SL_CORRUPT(err, "Event: an image without a table");
	source_from_pb(m->source, &out->source);
	if (m->transaction != NULL && m->transaction->id[0] != '\0') {
		out->tx.id = m->transaction->id;
		out->tx.total_order = m->transaction->total_order;
		out->tx.data_collection_order = m->transaction->data_collection_order;
	}
	if (m->message != NULL) {
		struct sch_message *msg = sl_arena_alloc(a, sizeof(*msg));

		msg->prefix = m->message->prefix;
		msg->content = sl_slice_make(m->message->content.data,
		    m->message->content.len);
		msg->transactional = m->message->transactional != 0;
		msg->lsn = m->message->lsn;
		out->message = msg;
	}
	out->ts_ms = m->ts_ms;
	if (sch_event_check_(out, &check) != 0)
		return SL_CORRUPT(err, "Event: %s", check.msg);
	return 0;
}

int
sch_key_decode_pb_ref(struct sl_slice in, struct sl_arena *a, const char ***names,
    struct sch_value **values, uint32_t *n, struct sl_err *err)
{
	Sluice__V1__Key *m;
	int rc = 0;
	size_t i;

	*names = NULL;
	*values = NULL;
	*n = 0;
	m = (Sluice__V1__Key *)pb_unpack(&sluice__v1__key__descriptor, 'K', in, a,
	    &rc, err);
	if (m == NULL)
		return rc;
	if (m->n_columns > UINT32_MAX)
		return SL_CORRUPT(err, "Key: too many columns");
	*names = sl_arena_alloc(a, m->n_columns * sizeof(char *) + 1);
	*values = sl_arena_alloc(a, m->n_columns * sizeof(struct sch_value) + 1);
	for (i = 0; i < m->n_columns; i++) {
		(*names)[i] = m->columns[i]->name;
		if (value_from_pb(m->columns[i]->value, a, 0, &(*values)[i]) < 0 ||
		    (*values)[i].kind == SCH_UNCHANGED)
			return SL_CORRUPT(err, "Key: column %zu: invalid value", i);
	}
	*n = (uint32_t)m->n_columns;
	return 0;
}

int
sch_txevent_decode_pb(struct sl_slice in, struct sl_arena *a,
    struct sch_txevent *out, struct sl_err *err)
{
	Sluice__V1__TransactionEvent *m;
	int rc = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	m = (Sluice__V1__TransactionEvent *)pb_unpack(
	    &sluice__v1__transaction_event__descriptor, 0, in, a, &rc, err);
	if (m == NULL)
		return rc;
	if (m->status != SLUICE__V1__TRANSACTION_EVENT__STATUS__BEGIN &&
	    m->status != SLUICE__V1__TRANSACTION_EVENT__STATUS__END)
		return SL_CORRUPT(err, "TransactionEvent: unknown status %d",
		    (int)m->status);
	if (m->n_data_collections > UINT32_MAX)
		return SL_CORRUPT(err, "TransactionEvent: too many collections");
	out->status = (enum sch_tx_status)m->status;
	out->id = m->id;
	out->event_count = m->event_count;
	out->n_collections = (uint32_t)m->n_data_collections;
	out->collections = sl_arena_alloc(a,
	    m->n_data_collections * sizeof(*out->collections) + 1);
	for (i = 0; i < m->n_data_collections; i++) {
		out->collections[i].data_collection =
		    m->data_collections[i]->data_collection;
		out->collections[i].event_count = m->data_collections[i]->event_count;
	}
	out->ts_ms = m->ts_ms;
	source_from_pb(m->source, &out->source);
	return 0;
}

int
sch_heartbeat_decode_pb(struct sl_slice in, struct sl_arena *a,
    struct sch_heartbeat *out, struct sl_err *err)
{
	Sluice__V1__Heartbeat *m;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	m = (Sluice__V1__Heartbeat *)pb_unpack(&sluice__v1__heartbeat__descriptor, 0,
	    in, a, &rc, err);
	if (m == NULL)
		return rc;
	out->connector = dup_or_null(m->connector);
	out->name = dup_or_null(m->name);
	out->ts_ms = m->ts_ms;
	out->lsn = m->lsn;
	out->binlog_file = dup_or_null(m->binlog_file);
	out->binlog_pos = m->binlog_pos;
	out->gtid_set = dup_or_null(m->gtid_set);
	return 0;
}
