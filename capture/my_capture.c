/*
 * capture/my_capture.c: the MySQL/MariaDB capture loop.
 *
 * Reads the binlog stream (my_conn.c), decodes its events (my_binlog.c,
 * my_value.c), turns each row of a captured table into a struct sch_event
 * and produces it (produce.c): a topic per table `<prefix>.<db>.<table>`,
 * key = the primary key, partition = murmur2(key), a tombstone after each
 * delete, BEGIN/END on `<prefix>.transaction` when asked, heartbeats on
 * `<prefix>.heartbeat`.  MySQL keeps no replica state for us (there is no
 * slot), so the position capture has fully delivered is stored in the
 * compacted topic `<prefix>.offsets` (one partition, key = the source
 * name), as Debezium stores its offsets in Kafka.
 *
 * POSITIONS.  A binlog position (file, offset) packs into 64 bits as the
 * file's sequence number (the digits after its last '.') << 32 | offset,
 * which orders positions of one server's binlog.  Every message carries
 * (packed position of its transaction's first event, seq): seq 0 is
 * BEGIN, 1..n the transaction's events in order (a tombstone counts as
 * one), n+1 END.  Snapshot rows have position 0.
 *
 * INVARIANTS
 *  (1) The stored position is the end of a transaction only once every
 *      message of it and of every earlier transaction was acknowledged
 *      (the queue pops in binlog order).  A restart reads the binlog from
 *      there, so nothing after it is missed.
 *  (2) A message whose position is at or below the last one its partition
 *      holds is not produced again (DESIGN.md §3.5): a restart re-reads
 *      transactions whose messages were partly acknowledged, and decoding
 *      is deterministic, so each message gets the same position again.
 *  (3) A position is stored only at a transaction boundary, so the stream
 *      restarts with the transaction's GTID or BEGIN and its Table Maps.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_mysrc.h"

/* Events of a burst between two upkeeps of the loop. */
#define CAP_MY_UPKEEP_EVERY 128

uint64_t
cap_my_pack(const struct cap_my_pos *p)
{
	const char *dot = strrchr(p->file, '.');
	uint64_t n = 0;

	if (dot)
		for (dot++; *dot >= '0' && *dot <= '9'; dot++)
			n = n * 10 + (uint64_t)(*dot - '0');
	return (n & 0xffffffffu) << 32 | p->pos;
}

/* ---------------------------------------------------------- deliveries */

void
cap_my_delivered(void *opaque, int error, const char *errstr, void *ctx)
{
	struct cap_my *s = ctx;
	struct cap_my_txn *t = opaque;

	if (error != 0 && s->fatal == 0) {
		s->fatal = SL_EPROTO;
		snprintf(s->fatal_msg, sizeof(s->fatal_msg), "kafka delivery failed: %s",
		    errstr ? errstr : "?");
	}
	if (t != NULL)
		t->outstanding--;
	s->acked++;
}

static struct cap_my_txn *
txq_push(struct cap_my *s)
{
	struct cap_my_txn *t = sl_calloc(1, sizeof(*t));

	if (s->txq_tail)
		s->txq_tail->next = t;
	else
		s->txq_head = t;
	s->txq_tail = t;
	return t;
}

/* Pop every closed, fully acknowledged transaction: (1). */
void
cap_my_txq_advance(struct cap_my *s)
{
	while (s->txq_head && s->txq_head->closed && s->txq_head->outstanding == 0) {
		struct cap_my_txn *t = s->txq_head;

		s->flushed = t->end;
		if (t->gtid[0])
			snprintf(s->flushed_gtid, sizeof(s->flushed_gtid), "%s", t->gtid);
		s->txq_head = t->next;
		if (s->txq_head == NULL)
			s->txq_tail = NULL;
		free(t->counts);
		free(t);
	}
}

/* ----------------------------------------------------------- producing */

static int
emit(struct cap_my *s, struct cap_my_txn *t, struct cap_topic *topic, int32_t partition,
    const struct sl_buf *key, const void *value, size_t value_len, struct sl_err *err)
{
	struct cap_pos pos;
	int rc;

	pos.lsn = t ? t->start : s->snap_pos;	/* snapshot rows: 0, or an ad-hoc one's */
	pos.seq = t ? t->seq++ : s->snap_seq++;
	if (t && cap_topic_skip(topic, partition, &pos)) {	/* (2) */
		s->skipped++;
		return 0;
	}
	if (t)
		t->outstanding++;
	rc = cap_produce(s->prod, topic, partition, key ? (key->len ? (const void *)key->p : "") :
	    NULL, key ? key->len : 0, value, value_len, &pos, t, err);
	if (rc != 0) {
		if (t)
			t->outstanding--;
		return rc;
	}
	s->produced++;
	return 0;
}

static int txn_started(struct cap_my *, struct cap_my_txn *, struct sl_err *);

static uint64_t
txn_count(struct cap_my_txn *t, const char *collection)
{
	t->events++;
	return cap_tx_count(&t->counts, &t->n_counts, collection);
}

static void
source_fill(struct cap_my *s, struct sch_source *src, const struct cap_my_rel *rel,
    const struct cap_my_txn *t, const struct cap_my_pos *at, uint32_t row)
{
	memset(src, 0, sizeof(*src));
	src->connector = "mysql";
	src->name = s->conf.name;
	if (rel) {
		src->db = rel->db;
		src->table = rel->name;
	}
	src->ts_ms = t ? t->ts_ms : sl_now_ms();
	src->ts_us = src->ts_ms * 1000;
	src->has |= SCH_SRC_BINLOG;
	src->binlog_file = at ? at->file : s->at.file;
	src->binlog_pos = at ? at->pos : s->at.pos;
	src->server_id = s->source_server_id;
	src->row = row;
	if (t && t->gtid[0]) {
		src->gtid = t->gtid;
		src->has |= SCH_SRC_GTID;
	}
}

static int
encode(struct cap_my *s, const struct sch_event *ev, const struct cap_my_rel *r,
    struct sl_err *err)
{
	return cap_event_encode(s->conf.json, &s->json_opts, ev, sl_buf_slice(&r->table_pb),
	    &s->key, &s->val, err);
}

static int
emit_event(struct cap_my *s, struct cap_my_txn *t, struct cap_my_rel *r,
    const struct sch_event *ev, int tombstone, struct sl_err *err)
{
	int32_t part;
	int rc;

	if ((rc = encode(s, ev, r, err)) != 0)
		return rc;
	part = cap_key_partition(r->topic, &s->key);
	if ((rc = emit(s, t, r->topic, part, s->key.len || r->has_key ? &s->key : NULL,
	    s->val.p, s->val.len, err)) != 0)
		return rc;
	if (tombstone && s->conf.tombstones && s->key.len > 0)
		rc = emit(s, t, r->topic, part, &s->key, NULL, 0, err);
	return rc;
}

static int
key_changed(const struct cap_my_rel *r, const struct sch_value *a, const struct sch_value *b)
{
	uint32_t i;

	for (i = 0; i < r->table.n_columns; i++)
		if (r->table.columns[i].is_key && !sch_value_equal(&a[i], &b[i]))
			return 1;
	return 0;
}

/*
 * A row change of an outbox table: an INSERT is one message on the topic
 * its route names (capture/outbox.c); a DELETE is the application emptying
 * the table, an UPDATE is not an event: neither gives anything.
 */
static int
outbox_row(struct cap_my *s, struct cap_my_txn *t, struct cap_my_rel *r, enum sch_op op,
    const struct sch_value *after, const struct cap_my_pos *at, struct sl_err *err)
{
	struct cap_outbox_msg *o = &s->ob_msg;
	struct cap_topic *topic;
	int32_t part;
	int rc;

	if (t == NULL || op == SCH_OP_DELETE)
		return 0;
	if (op != SCH_OP_CREATE) {
		if (!r->outbox_warned)
			sl_warn("outbox table %s: an UPDATE at binlog %s:%" PRIu32 " gives no event "
			    "(only INSERTs do); said once", r->collection, at->file, at->pos);
		r->outbox_warned = 1;
		return 0;
	}
	if ((rc = cap_outbox_event(&s->conf, &r->ob, &r->table, r->collection, after, o,
	    err)) != 0)
		return sl_errf(err, rc, "%s (binlog %s:%" PRIu32 ")", err ? err->msg : "", at->file,
		    at->pos);
	if ((rc = cap_outbox_topic(s->prod, &s->conf, o, &topic, &part, err)) != 0)
		return rc;
	/* a null payload: a tombstone; an empty one: a value of no bytes */
	rc = emit(s, t, topic, part, o->null_key ? NULL : &o->key,
	    o->null_value ? NULL : o->value.p ? (const void *)o->value.p : "",
	    o->value.len, err);
	cap_producer_next_header(s->prod, NULL, NULL, 0);	/* skipped: not carried over */
	return rc;
}

/*
 * An INSERT into the signal table (Debezium's signalling table: id, type,
 * data).  'execute-snapshot' with data {"data-collections": ["db.t", ...]}
 * (or the patterns themselves, as in 'tables') asks for an ad-hoc snapshot
 * of those tables once this transaction commits; other types are logged
 * and left alone.
 */
static int
signal_row(struct cap_my *s, struct cap_my_txn *t, struct cap_my_rel *r, enum sch_op op,
    const struct sch_value *after, const struct cap_my_pos *at)
{
	struct sl_buf pat = { 0 };
	char where[300];

	if (t == NULL || op != SCH_OP_CREATE)
		return 0;
	snprintf(where, sizeof(where), "binlog %s:%" PRIu32, at->file, at->pos);
	if (!cap_signal_row(&r->table, after, where, ", once its transaction commits", &pat)) {
		sl_buf_free(&pat);
		return 0;
	}
	if (s->adhoc_pending != NULL && strlen(s->adhoc_pending) > 65536) {
		sl_warn("signal at %s: the transaction asks for more than 64 KiB of table "
		    "patterns: this one is left alone", where);
	} else if (s->adhoc_pending != NULL) {
		char *both = sl_asprintf("%s, %s", s->adhoc_pending, (const char *)pat.p);

		free(s->adhoc_pending);
		s->adhoc_pending = both;
	} else {
		s->adhoc_pending = sl_strdup((const char *)pat.p);
	}
	sl_buf_free(&pat);
	return 0;
}

/*
 * One row change of 'r'.  An update that moves the primary key is a delete
 * of the old key (with its tombstone) and a create of the new one, as
 * Debezium emits it, so compaction and views keyed by the primary key see
 * the old key go.
 */
int
cap_my_emit_row(struct cap_my *s, struct cap_my_txn *t, struct cap_my_rel *r, enum sch_op op,
    struct sch_value *before, struct sch_value *after, const struct cap_my_pos *at,
    uint32_t row, struct sl_err *err)
{
	struct sch_event ev;
	int rc;

	/* full-width images, as the binlog and the snapshot give them */
	cap_values_keep(before, r->keep, r->table.n_columns);
	cap_values_keep(after, r->keep, r->table.n_columns);
	if (r->signal)
		return signal_row(s, t, r, op, after, at);
	if (r->outbox)
		return outbox_row(s, t, r, op, after, at, err);
	sl_arena_reset(&s->mask_arena);
	if ((rc = cap_values_mask(s->conf.mask_salt, r->mask, &r->table, r->collection, before,
	    &before, &s->mask_arena, err)) != 0 ||
	    (rc = cap_values_mask(s->conf.mask_salt, r->mask, &r->table, r->collection, after,
	    &after, &s->mask_arena, err)) != 0)
		return rc;
	memset(&ev, 0, sizeof(ev));
	ev.table = &r->table;
	ev.ts_ms = sl_now_ms();
	source_fill(s, &ev.source, r, t, at, row);
	if (t == NULL) {
		ev.source.snapshot = SCH_SNAPSHOT_TRUE;
		ev.op = SCH_OP_READ;
		ev.after = after;
		return emit_event(s, NULL, r, &ev, 0, err);
	}
	if ((rc = txn_started(s, t, err)) != 0)
		return rc;
	if (op == SCH_OP_UPDATE && (r->has_key || r->key_override) &&
	    key_changed(r, before, after)) {
		ev.op = SCH_OP_DELETE;
		ev.before = before;
		ev.tx.id = s->conf.tx_topic ? t->id : NULL;
		ev.tx.data_collection_order = txn_count(t, r->collection);
		ev.tx.total_order = t->events;
		if ((rc = emit_event(s, t, r, &ev, 1, err)) != 0)
			return rc;
		ev.before = NULL;
		op = SCH_OP_CREATE;
	}
	ev.op = op;
	ev.before = op == SCH_OP_CREATE ? NULL : before;
	ev.after = op == SCH_OP_DELETE ? NULL : after;
	ev.tx.id = s->conf.tx_topic ? t->id : NULL;
	ev.tx.data_collection_order = txn_count(t, r->collection);
	ev.tx.total_order = t->events;
	return emit_event(s, t, r, &ev, op == SCH_OP_DELETE, err);
}

static int
emit_txevent(struct cap_my *s, struct cap_my_txn *t, enum sch_tx_status status,
    struct sl_err *err)
{
	struct sch_txevent te;
	struct sl_buf key = { 0 };
	int rc;

	if (!s->conf.tx_topic)
		return 0;
	memset(&te, 0, sizeof(te));
	te.status = status;
	te.id = t->id;
	te.ts_ms = t->ts_ms;
	if (status == SCH_TX_END) {
		te.event_count = t->events;
		te.collections = t->counts;
		te.n_collections = t->n_counts;
	}
	source_fill(s, &te.source, NULL, t, NULL, 0);
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_txevent_encode_json_opts(&te, &s->json_opts, &s->val) :
	    sch_txevent_encode_pb(&te, &s->val);
	if (rc != 0)
		return sl_errf(err, rc, "encoding a transaction event: %s", sl_strerror(rc));
	(void)sch_string_key_encode_json(t->id, s->conf.json ? &s->json_opts : NULL, &key);
	rc = emit(s, t, s->tx_topic, cap_key_partition(s->tx_topic, &key), &key, s->val.p,
	    s->val.len, err);
	sl_buf_free(&key);
	return rc;
}

/* ------------------------------------------------------ transactions */

/*
 * Open a transaction at 'event_start' of the current file.  Its position
 * (every message's sluice.pos) is the packed file position, or with
 * position = gtid its GTID's sequence number 'gtid_seq', comparable on
 * every server of the replication topology.
 */
static int
txn_begin(struct cap_my *s, uint32_t event_start, uint32_t ts, const char *gtid,
    uint64_t gtid_seq, int standalone, struct sl_err *err)
{
	struct cap_my_txn *t;
	struct cap_my_pos p = s->at;

	p.pos = event_start;
	if (s->conf.position_gtid && gtid == NULL)
		return sl_errf(err, SL_EUNSUPPORTED, "binlog %s:%" PRIu32 ": a transaction "
		    "without a GTID, which position = gtid needs", p.file, p.pos);
	t = txq_push(s);
	t->start = s->conf.position_gtid ? gtid_seq : cap_my_pack(&p);
	t->ts_ms = (int64_t)ts * 1000;
	t->standalone = standalone;
	t->seq = 1;
	if (gtid)
		snprintf(t->gtid, sizeof(t->gtid), "%s", gtid);
	if (t->gtid[0])
		snprintf(t->id, sizeof(t->id), "%s", t->gtid);
	else
		snprintf(t->id, sizeof(t->id), "%s:%" PRIu32, p.file, p.pos);
	s->cur = t;
	(void)err;
	return 0;
}

/*
 * BEGIN on <prefix>.transaction goes out with the transaction's first
 * captured event (sequence 0), so transactions that touch no captured
 * table leave no trace there.
 */
static int
txn_started(struct cap_my *s, struct cap_my_txn *t, struct sl_err *err)
{
	uint64_t next;
	int rc;

	if (!s->conf.tx_topic || t == NULL || t->begun)
		return 0;
	t->begun = 1;
	next = t->seq;
	t->seq = 0;
	rc = emit_txevent(s, t, SCH_TX_BEGIN, err);
	t->seq = next;
	return rc;
}

/* Close the open transaction; a restart resumes at 'end_pos' of this file. */
static int
txn_commit_at(struct cap_my *s, uint32_t end_pos, struct sl_err *err)
{
	struct cap_my_txn *t = s->cur;
	int rc = 0;

	if (t == NULL)
		return 0;
	if (t->begun)
		rc = emit_txevent(s, t, SCH_TX_END, err);
	t->end = s->at;
	t->end.pos = end_pos;
	t->closed = 1;
	s->cur = NULL;
	s->txns++;
	/*
	 * A Table_map serves the rows events of its own statement only, and
	 * the server numbers table ids afresh as tables are reopened: forget
	 * them here, or the list grows for as long as capture runs.
	 */
	s->n_tmaps = 0;
	return rc;
}

/* Close the open transaction at the current position (after its commit). */
static int
txn_commit(struct cap_my *s, struct sl_err *err)
{
	return txn_commit_at(s, s->at.pos, err);
}

/* ------------------------------------------------------- table maps */

static struct cap_my_tmap *
tmap_find(struct cap_my *s, uint64_t id)
{
	size_t i;

	for (i = 0; i < s->n_tmaps; i++)
		if (s->tmaps[i].table_id == id)
			return &s->tmaps[i];
	return NULL;
}

static int
on_table_map(struct cap_my *s, const struct cap_my_event *ev, struct sl_err *err)
{
	const struct cap_my_table_map *tm = &ev->u.table_map;
	struct cap_my_tmap *m = tmap_find(s, tm->table_id);
	struct cap_my_rel *r = NULL;
	int rc;

	if (cap_my_match(s->conf.tables, s->dsn.database, tm->db, tm->table) ||
	    cap_my_is_signal(s, tm->db, tm->table)) {
		if (!tm->has_names)
			return sl_errf(err, SL_EUNSUPPORTED, "binlog %s:%" PRIu32 ": the Table_map "
			    "of %s.%s has no column names: set binlog_row_metadata = FULL on "
			    "the server (and in its configuration file)", s->at.file,
			    ev->next_pos - ev->size, tm->db, tm->table);
		if ((rc = cap_my_rel_tmap(s, tm, &r, err)) != 0)
			return rc;
	}
	if (m == NULL) {
		s->tmaps = sl_realloc(s->tmaps, (s->n_tmaps + 1) * sizeof(*s->tmaps));
		m = &s->tmaps[s->n_tmaps++];
		m->table_id = tm->table_id;
	}
	m->rel = r;
	return 0;
}

/*
 * A row image without every column: written by a session with
 * binlog_row_image MINIMAL or NOBLOB.  The binlog does not hold the
 * missing values, so no restart can capture the change: only a new
 * snapshot can.
 */
static int
row_image_error(struct cap_my *s, uint32_t start, const struct cap_my_rel *r,
    const char *image, const char *column, struct sl_err *err)
{
	return sl_errf(err, SL_EUNSUPPORTED, "binlog %s:%" PRIu32 ": the %s image of %s "
	    "lacks column %s: it was written with binlog_row_image MINIMAL or NOBLOB (a "
	    "session can SET SESSION binlog_row_image; capture needs FULL in every session: "
	    "SET GLOBAL binlog_row_image = 'FULL' and in the configuration file, and no "
	    "session override); the binlog does not hold the change whole, so take a new "
	    "snapshot: delete topic %s and start capture again", s->at.file, start, image,
	    r->collection, column, s->off_topic_name);
}

static int
on_rows(struct cap_my *s, const struct cap_my_event *ev, uint32_t start,
    struct sl_err *err)
{
	struct cap_my_tmap *m = tmap_find(s, ev->u.rows.table_id);
	struct cap_my_table_map tm;
	struct cap_my_pos at = s->at;
	struct cap_my_rel *r;
	struct sch_value *before, *after;
	enum sch_op op;
	size_t off = 0;
	uint32_t row = 0, i;
	int rc;

	if (m == NULL)
		return sl_errf(err, SL_ECORRUPT, "binlog %s:%" PRIu32 ": a %s event for table "
		    "id %" PRIu64 " without its Table_map", s->at.file, start,
		    cap_my_type_label(ev->type), ev->u.rows.table_id);
	if ((r = m->rel) == NULL)
		return 0;
	if (s->cur == NULL && (rc = txn_begin(s, start, ev->timestamp, NULL, 0, 0, err)) != 0)
		return rc;
	switch (ev->type) {
	case CAP_MY_WRITE_ROWS_V1: case CAP_MY_WRITE_ROWS_V2: op = SCH_OP_CREATE; break;
	case CAP_MY_UPDATE_ROWS_V1: case CAP_MY_UPDATE_ROWS_V2: op = SCH_OP_UPDATE; break;
	default: op = SCH_OP_DELETE; break;
	}
	memset(&tm, 0, sizeof(tm));
	tm.table_id = ev->u.rows.table_id;
	tm.db = r->db;
	tm.table = r->name;
	tm.n_columns = r->n_cols;
	tm.columns = r->cols;
	at.pos = start;
	before = sl_arena_alloc(&s->arena, r->n_cols * sizeof(*before) + 1);
	after = sl_arena_alloc(&s->arena, r->n_cols * sizeof(*after) + 1);
	for (;;) {
		rc = cap_my_rows_next(ev, &tm, s->at.file, start, &off, before, after, &s->arena,
		    err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		/*
		 * binlog_row_image is checked at start, but any session with
		 * the privilege can SET SESSION binlog_row_image = MINIMAL: an
		 * image without a column would go out as a row that lacks
		 * it (an INSERT naming some columns only logs those).
		 */
		for (i = 0; i < r->n_cols; i++)
			if ((op != SCH_OP_CREATE && before[i].kind == SCH_UNCHANGED) ||
			    (op != SCH_OP_DELETE && after[i].kind == SCH_UNCHANGED))
				return row_image_error(s, start, r, op != SCH_OP_CREATE &&
				    before[i].kind == SCH_UNCHANGED ? "before" : "after",
				    r->cols[i].name, err);
		rc = cap_my_emit_row(s, s->cur, r, op, op == SCH_OP_CREATE ? NULL : before,
		    op == SCH_OP_DELETE ? NULL : after, &at, row++, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * A truncate empties every partition of the table's topic: one message per
 * partition, ordered after the earlier changes of every key.  A compacted
 * topic refuses a null key: the key is the empty string.  't' NULL: the
 * truncate that opens a snapshot over a non-empty topic.
 */
int
cap_my_emit_truncate(struct cap_my *s, struct cap_my_txn *t, struct cap_my_rel *r,
    const struct cap_my_pos *at, struct sl_err *err)
{
	struct sch_event e;
	struct sl_buf empty = { 0 };
	int32_t p;
	int rc;

	if (r->outbox || r->signal)
		return 0;	/* emptying an outbox or the signal table is no event */
	memset(&e, 0, sizeof(e));
	e.op = SCH_OP_TRUNCATE;
	e.table = &r->table;
	e.ts_ms = sl_now_ms();
	source_fill(s, &e.source, r, t, at, 0);
	if (t) {
		if ((rc = txn_started(s, t, err)) != 0)
			return rc;
		e.tx.id = s->conf.tx_topic ? t->id : NULL;
		e.tx.data_collection_order = txn_count(t, r->collection);
		e.tx.total_order = t->events;
	} else {
		e.source.snapshot = SCH_SNAPSHOT_TRUE;
	}
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_event_encode_json(&e, &s->json_opts, &s->val) :
	    sch_event_encode_pb(&e, &s->val);
	if (rc != 0)
		return sl_errf(err, rc, "encoding a truncate of %s", r->collection);
	for (p = 0; p < r->topic->partitions; p++)
		if ((rc = emit(s, t, r->topic, p, &empty, s->val.p, s->val.len, err)) != 0)
			return rc;
	return 0;
}

/* ------------------------------------------------------------ queries */

static int
word_is(const char *p, const char *w)
{
	size_t n = strlen(w);

	return strncasecmp(p, w, n) == 0 && !((p[n] >= 'a' && p[n] <= 'z') ||
	    (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_');
}

static const char *
skip_space(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (p[0] == '/' && p[1] == '*') {	/* a comment, e.g. a version hint */
			const char *e = strstr(p + 2, "*/");

			if (e == NULL)
				return p + strlen(p);
			p = e + 2;
			continue;
		}
		return p;
	}
}

/* An identifier, `quoted` or bare, into 'out'; the text after it. */
static const char *
ident(const char *p, char *out, size_t size)
{
	size_t n = 0;

	if (*p == '`') {
		for (p++; *p; p++) {
			if (*p == '`') {
				if (p[1] != '`')
					break;
				p++;
			}
			if (n + 1 < size)
				out[n++] = *p;
		}
		if (*p == '`')
			p++;
	} else {
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
			if (n + 1 < size)
				out[n++] = *p;
			p++;
		}
	}
	out[n] = '\0';
	return p;
}

/*
 * "TRUNCATE [TABLE] [db.]name": 1 with 'db' and 'table' set, else 0.  The
 * statement's default database is 'cur_db'.
 */
static int
parse_truncate(const char *sql, const char *cur_db, char *db, size_t dbsize, char *table,
    size_t tsize)
{
	const char *p = skip_space(sql);
	char a[256], b[256];

	if (!word_is(p, "TRUNCATE"))
		return 0;
	p = skip_space(p + 8);
	if (word_is(p, "TABLE"))
		p = skip_space(p + 5);
	p = ident(p, a, sizeof(a));
	if (a[0] == '\0')
		return 0;
	p = skip_space(p);
	if (*p == '.') {
		p = skip_space(p + 1);
		ident(p, b, sizeof(b));
		if (b[0] == '\0')
			return 0;
		snprintf(db, dbsize, "%s", a);
		snprintf(table, tsize, "%s", b);
		return 1;
	}
	snprintf(db, dbsize, "%s", cur_db ? cur_db : "");
	snprintf(table, tsize, "%s", a);
	return 1;
}

/*
 * Row changes logged as SQL text.  binlog_format is checked at start, but
 * any session with the privilege can SET SESSION binlog_format =
 * 'STATEMENT' (or 'MIXED', where "safe" statements stay text): its INSERT,
 * UPDATE and DELETE then reach the binlog as a Query event and no row
 * event, and capture would miss them without a word.  The tables such a
 * statement changes are read from its text, well enough to tell whether
 * one is captured: the table of INSERT/REPLACE, every table of UPDATE's
 * table references (a multi-table UPDATE may change any of them), the
 * target tables of DELETE with their aliases resolved.  Tables that only
 * feed the statement (INSERT ... SELECT FROM a captured table, as
 * pt-table-checksum writes) are not targets.
 */
#define DML_MAX_REFS 32

struct dml_ref {
	char db[256], table[256], alias[256];
	int has_db;
};

struct dml_refs {
	struct dml_ref r[DML_MAX_REFS];
	unsigned n;
};

static int
word_any(const char *p, const char *const *words)
{
	for (; *words; words++)
		if (word_is(p, *words))
			return 1;
	return 0;
}

/* Past a '...', "..." or `...` at 'p' (doubled quotes and backslashes). */
static const char *
skip_quoted(const char *p)
{
	char q = *p++;

	for (; *p; p++) {
		if (*p == '\\' && q != '`' && p[1]) {
			p++;
			continue;
		}
		if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p++;
		}
	}
	return p;
}

/* Past the parenthesized text at 'p' (at its '('). */
static const char *
skip_parens(const char *p)
{
	int depth = 0;

	while (*p) {
		if (*p == '\'' || *p == '"' || *p == '`') {
			p = skip_quoted(p);
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
		p++;
	}
	return p;
}

/* "[db.]name" or "name.*" at 'p' into 'ref'; the text after ("" table: none). */
static const char *
dml_table(const char *p, const char *cur_db, struct dml_ref *ref)
{
	const char *q;

	memset(ref, 0, sizeof(*ref));
	p = ident(skip_space(p), ref->table, sizeof(ref->table));
	if (ref->table[0] == '\0')
		return p;
	q = skip_space(p);
	if (*q == '.') {
		q = skip_space(q + 1);
		if (*q == '*')
			return q + 1;		/* DELETE t.* FROM ... */
		memcpy(ref->db, ref->table, sizeof(ref->db));
		ref->has_db = 1;
		return ident(q, ref->table, sizeof(ref->table));
	}
	snprintf(ref->db, sizeof(ref->db), "%s", cur_db ? cur_db : "");
	return p;
}

/*
 * A comma- or JOIN-separated list of tables ("a AS x JOIN b ON ..., c")
 * into 'out', up to one of the words that end it; the text after.
 * Parenthesized parts (subqueries, derived tables) are skipped.
 */
static const char *
dml_table_refs(const char *p, const char *cur_db, struct dml_refs *out)
{
	static const char *const end[] = { "SET", "WHERE", "USING", "ORDER", "LIMIT", "FROM",
	    "RETURNING", "VALUES", "VALUE", "SELECT", NULL };
	static const char *const not_alias[] = { "SET", "WHERE", "USING", "ORDER", "LIMIT",
	    "FROM", "RETURNING", "JOIN", "INNER", "LEFT", "RIGHT", "OUTER", "CROSS", "NATURAL",
	    "STRAIGHT_JOIN", "ON", "PARTITION", "USE", "IGNORE", "FORCE", NULL };

	for (;;) {
		struct dml_ref ref;

		p = skip_space(p);
		if (*p == '(') {
			p = skip_parens(p);
		} else {
			p = skip_space(dml_table(p, cur_db, &ref));
			if (ref.table[0] == '\0')
				return p;
			if (word_is(p, "AS"))
				p = skip_space(ident(skip_space(p + 2), ref.alias, sizeof(ref.alias)));
			else if ((*p == '`' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    *p == '_') && !word_any(p, not_alias))
				p = skip_space(ident(p, ref.alias, sizeof(ref.alias)));
			if (out->n < DML_MAX_REFS)
				out->r[out->n++] = ref;
		}
		/* on to the next table, or the end of the list */
		for (;;) {
			p = skip_space(p);
			if (*p == '\0' || *p == ';' || word_any(p, end))
				return p;
			if (*p == ',') {
				p++;
				break;
			}
			if (word_is(p, "JOIN") || word_is(p, "STRAIGHT_JOIN")) {
				p += word_is(p, "JOIN") ? 4 : 13;
				break;
			}
			if (*p == '\'' || *p == '"' || *p == '`')
				p = skip_quoted(p);
			else if (*p == '(')
				p = skip_parens(p);
			else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			    (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80) {
				char w[256];

				p = ident(p, w, sizeof(w));
			} else {
				p++;
			}
		}
	}
}

/* A target named 'a' of a multi-table DELETE: the table whose alias it is. */
static const struct dml_ref *
dml_resolve(const struct dml_ref *t, const struct dml_refs *from)
{
	unsigned i;

	if (!t->has_db)
		for (i = 0; i < from->n; i++)
			if (from->r[i].alias[0] && strcmp(from->r[i].alias, t->table) == 0)
				return &from->r[i];
	return t;
}

/*
 * The tables an INSERT, REPLACE, UPDATE or DELETE statement 'sql' changes
 * into 'out' (none for other statements).
 */
static void
dml_targets(const char *sql, const char *cur_db, struct dml_refs *out)
{
	static const char *const ins_mods[] = { "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY",
	    "IGNORE", "INTO", NULL };
	static const char *const upd_mods[] = { "LOW_PRIORITY", "IGNORE", NULL };
	static const char *const del_mods[] = { "LOW_PRIORITY", "QUICK", "IGNORE", NULL };
	const char *p = skip_space(sql);
	struct dml_refs *names, *from;
	unsigned i;

	out->n = 0;
	if (word_is(p, "INSERT") || word_is(p, "REPLACE")) {
		p = skip_space(p + (word_is(p, "INSERT") ? 6 : 7));
		while (word_any(p, ins_mods))
			p = skip_space(ident(p, out->r[0].alias, sizeof(out->r[0].alias)));
		(void)dml_table(p, cur_db, &out->r[0]);
		out->n = out->r[0].table[0] != '\0';
		return;
	}
	if (word_is(p, "UPDATE")) {
		p = skip_space(p + 6);
		while (word_any(p, upd_mods))
			p = skip_space(p + (word_is(p, "IGNORE") ? 6 : 12));
		(void)dml_table_refs(p, cur_db, out);
		return;
	}
	if (!word_is(p, "DELETE"))
		return;
	p = skip_space(p + 6);
	while (word_any(p, del_mods))
		p = skip_space(p + (word_is(p, "QUICK") ? 5 : word_is(p, "IGNORE") ? 6 : 12));
	names = sl_calloc(1, sizeof(*names));
	from = sl_calloc(1, sizeof(*from));
	if (word_is(p, "FROM")) {
		/* DELETE FROM t ... | DELETE FROM t1, t2 USING refs */
		p = dml_table_refs(p + 4, cur_db, names);
		if (word_is(p, "USING"))
			(void)dml_table_refs(p + 5, cur_db, from);
	} else {
		/* DELETE t1, t2 FROM refs */
		p = dml_table_refs(p, cur_db, names);
		if (word_is(p, "FROM"))
			(void)dml_table_refs(p + 4, cur_db, from);
	}
	for (i = 0; i < names->n; i++)
		out->r[out->n++] = *dml_resolve(&names->r[i], from);
	free(names);
	free(from);
}

unsigned
cap_my_query_tables(const char *sql, const char *cur_db)
{
	struct dml_refs *t = sl_calloc(1, sizeof(*t));
	char db[256], table[256];
	unsigned i, n;

	dml_targets(sql, cur_db, t);
	n = t->n;
	for (i = 0; i < t->n; i++)	/* every name a C string within its buffer */
		if (strlen(t->r[i].table) >= sizeof(t->r[i].table) ||
		    strlen(t->r[i].db) >= sizeof(t->r[i].db))
			abort();
	if (parse_truncate(sql, cur_db, db, sizeof(db), table, sizeof(table)))
		n++;
	free(t);
	return n;
}

/*
 * A Query event that changed rows of a captured table: an error, since
 * the rows it changed are not in the binlog.
 */
static int
statement_dml(struct cap_my *s, const struct cap_my_event *ev, uint32_t start,
    const char *q, struct sl_err *err)
{
	struct dml_refs *t = sl_calloc(1, sizeof(*t));
	unsigned i;
	int rc = 0;

	dml_targets(q, ev->u.query.db, t);
	for (i = 0; i < t->n && rc == 0; i++)
		if (cap_my_match(s->conf.tables, s->dsn.database, t->r[i].db, t->r[i].table))
			rc = sl_errf(err, SL_EUNSUPPORTED, "binlog %s:%" PRIu32 ": a change of "
			    "table %s.%s is logged as a statement, not as rows (its session had "
			    "binlog_format STATEMENT or MIXED: SET SESSION binlog_format overrides "
			    "the server's ROW), so capture cannot know the rows it changed; keep "
			    "binlog_format = ROW in every session and take a new snapshot: delete "
			    "topic %s and start capture again (the statement: %.120s)", s->at.file,
			    start, t->r[i].db, t->r[i].table, s->off_topic_name, q);
	free(t);
	return rc;
}

/*
 * "DELETE [LOW_PRIORITY] [QUICK] [IGNORE] FROM [db.]name" and nothing
 * after (no WHERE, ORDER BY or LIMIT): 1 with 'db' and 'table' set.
 */
static int
parse_delete_all(const char *sql, const char *cur_db, char *db, size_t dbsize, char *table,
    size_t tsize)
{
	static const char *const mods[] = { "LOW_PRIORITY", "QUICK", "IGNORE", NULL };
	const char *p = skip_space(sql);
	struct dml_ref ref;

	if (!word_is(p, "DELETE"))
		return 0;
	p = skip_space(p + 6);
	while (word_any(p, mods))
		p = skip_space(p + (word_is(p, "QUICK") ? 5 : word_is(p, "IGNORE") ? 6 : 12));
	if (!word_is(p, "FROM"))
		return 0;
	p = skip_space(dml_table(p + 4, cur_db, &ref));
	while (*p == ';')
		p = skip_space(p + 1);
	if (ref.table[0] == '\0' || *p != '\0')
		return 0;
	snprintf(db, dbsize, "%s", ref.db);
	snprintf(table, tsize, "%s", ref.table);
	return 1;
}

/*
 * ALTER TABLE ... TRUNCATE PARTITION, DROP PARTITION or EXCHANGE PARTITION
 * of a captured table remove (or swap) rows and the binlog holds no row
 * event for them: their topic keeps rows the table no longer has.  It is
 * what partition maintenance does on purpose, so capture goes on, and
 * says so.
 */
static void
partition_rows_warning(struct cap_my *s, const char *q, const char *cur_db, uint32_t start)
{
	static const char *const ops[] = { "TRUNCATE", "DROP", "EXCHANGE", NULL };
	const char *p = skip_space(q);
	struct dml_ref ref;

	if (!word_is(p, "ALTER"))
		return;
	p = skip_space(p + 5);
	while (word_is(p, "ONLINE") || word_is(p, "IGNORE"))
		p = skip_space(p + 6);
	if (!word_is(p, "TABLE"))
		return;
	p = dml_table(p + 5, cur_db, &ref);
	if (ref.table[0] == '\0' ||
	    !cap_my_match(s->conf.tables, s->dsn.database, ref.db, ref.table))
		return;
	while (*(p = skip_space(p)) != '\0') {
		if (word_any(p, ops)) {
			char op[16];

			p = ident(p, op, sizeof(op));
			if (word_is(skip_space(p), "PARTITION")) {
				sl_warn("binlog %s:%" PRIu32 ": ALTER TABLE %s.%s %s PARTITION "
				    "changes rows without row events: its topic keeps the rows as "
				    "they were (DELETE them first to have them as changes, or take "
				    "a new snapshot)", s->at.file, start, ref.db, ref.table, op);
				return;
			}
		} else if (*p == '\'' || *p == '"' || *p == '`') {
			p = skip_quoted(p);
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		    (*p >= '0' && *p <= '9') || (unsigned char)*p >= 0x80) {
			char w[256];

			p = ident(p, w, sizeof(w));
		} else {
			p++;
		}
	}
}

static int
on_query(struct cap_my *s, const struct cap_my_event *ev, uint32_t start, struct sl_err *err)
{
	const char *q = skip_space(ev->u.query.sql);
	char db[256], table[256];
	int rc, whole;

	if (word_is(q, "BEGIN")) {
		if (s->cur == NULL)
			return txn_begin(s, start, ev->timestamp, NULL, 0, 0, err);
		return 0;
	}
	if (word_is(q, "COMMIT") || word_is(q, "ROLLBACK"))
		return txn_commit(s, err);
	/*
	 * A DELETE of a whole table logged as a statement: what MariaDB
	 * writes, even with binlog_format ROW, for a MEMORY table emptied by
	 * a server restart ("DELETE FROM `db`.`t`"), or a session's statement
	 * binlog_format: all rows went, as with TRUNCATE.
	 */
	whole = parse_truncate(q, ev->u.query.db, db, sizeof(db), table, sizeof(table)) ||
	    parse_delete_all(q, ev->u.query.db, db, sizeof(db), table, sizeof(table));
	if (!whole && (rc = statement_dml(s, ev, start, q, err)) != 0)
		return rc;
	if (!whole)
		partition_rows_warning(s, q, ev->u.query.db, start);
	/* DDL and other statements */
	if (whole && cap_my_match(s->conf.tables, s->dsn.database, db, table)) {
		struct cap_my_rel *r;
		struct cap_my_pos at = s->at;
		int implicit = s->cur == NULL;

		/*
		 * A table truncated and then dropped (a staging table) is not
		 * in the catalog when capture reads its TRUNCATE: its topic
		 * still gets the truncate, or capture would stop here at
		 * every start.
		 */
		rc = cap_my_rel_catalog(s, db, table, &r, err);
		if (rc == SL_ENOTFOUND)
			rc = cap_my_rel_dropped(s, db, table, &r, err);
		if (rc != 0)
			return rc;
		if (implicit && (rc = txn_begin(s, start, ev->timestamp, NULL, 0, 0, err)) != 0)
			return rc;
		at.pos = start;
		if ((rc = cap_my_emit_truncate(s, s->cur, r, &at, err)) != 0)
			return rc;
		if (implicit)
			return txn_commit(s, err);
	}
	if (s->cur && s->cur->standalone)
		return txn_commit(s, err);
	return 0;
}

/* ------------------------------------------------------------ events */

static int
handle(struct cap_my *s, const uint8_t *p, size_t len, struct sl_err *err)
{
	struct cap_my_event ev;
	uint32_t start;
	char gtid[64];
	int rc;

	sl_arena_reset(&s->arena);
	if ((rc = cap_my_decode(&s->dec, s->at.file, s->at.pos, p, len, &s->arena, &ev,
	    err)) != 0)
		return rc;
	s->events_in++;
	start = ev.next_pos >= ev.size ? ev.next_pos - ev.size : s->at.pos;
	switch (ev.type) {
	case CAP_MY_ROTATE:
		if (strlen(ev.u.rotate.file) >= sizeof(s->at.file))
			return sl_errf(err, SL_ECORRUPT, "binlog %s: Rotate to a file name of %zu "
			    "bytes", s->at.file, strlen(ev.u.rotate.file));
		if (s->cur != NULL && ev.next_pos != 0)
			return sl_errf(err, SL_ECORRUPT, "binlog %s:%" PRIu32 ": Rotate inside a "
			    "transaction", s->at.file, start);
		snprintf(s->at.file, sizeof(s->at.file), "%s", ev.u.rotate.file);
		s->at.pos = (uint32_t)ev.u.rotate.pos;
		/* table ids are per server run, not per file; keep the maps */
		return 0;
	case CAP_MY_FORMAT_DESCRIPTION:
		s->mariadb = s->dec.mariadb;
		break;
	case CAP_MY_GTID:
		snprintf(gtid, sizeof(gtid), "%" PRIu32 "-%" PRIu32 "-%" PRIu64, ev.u.gtid.domain,
		    ev.server_id, ev.u.gtid.seq);
		if (s->cur != NULL) {
			/*
			 * Every group we know ends with XID, COMMIT or its one
			 * statement; one that did not is closed here, where the
			 * next group starts, rather than stopping capture.
			 */
			sl_warn("binlog %s:%" PRIu32 ": GTID %s starts while transaction %s is "
			    "open: closing it here", s->at.file, start, gtid, s->cur->id);
			if ((rc = txn_commit_at(s, start, err)) != 0)
				return rc;
		}
		if (s->conf.position_gtid) {
			if (s->have_domain && ev.u.gtid.domain != s->gtid_domain)
				return sl_errf(err, SL_EUNSUPPORTED, "binlog %s:%" PRIu32 ": GTID %s "
				    "is of domain %" PRIu32 " after domain %" PRIu32 ": position = gtid "
				    "needs a single GTID domain (use position = file)", s->at.file,
				    start, gtid, ev.u.gtid.domain, s->gtid_domain);
			s->have_domain = 1;
			s->gtid_domain = ev.u.gtid.domain;
		}
		rc = txn_begin(s, start, ev.timestamp, gtid, ev.u.gtid.seq,
		    (ev.u.gtid.flags & 1) != 0, err);
		if (rc != 0)
			return rc;
		break;
	case CAP_MY_GTID_MYSQL: {
		static const char hex[] = "0123456789abcdef";
		char *o = gtid;
		int i;

		for (i = 0; i < 16; i++) {
			if (i == 4 || i == 6 || i == 8 || i == 10)
				*o++ = '-';
			*o++ = hex[ev.u.gtid.sid[i] >> 4];
			*o++ = hex[ev.u.gtid.sid[i] & 15];
		}
		snprintf(o, sizeof(gtid) - (size_t)(o - gtid), ":%" PRIu64, ev.u.gtid.seq);
		if (s->cur == NULL && (rc = txn_begin(s, start, ev.timestamp, gtid, ev.u.gtid.seq,
		    0, err)) != 0)
			return rc;
		break;
	}
	case CAP_MY_QUERY:
		if (ev.next_pos)
			s->at.pos = ev.next_pos;
		return on_query(s, &ev, start, err);
	case CAP_MY_XID:
		if (ev.next_pos)
			s->at.pos = ev.next_pos;
		return txn_commit(s, err);
	case CAP_MY_TABLE_MAP:
		if ((rc = on_table_map(s, &ev, err)) != 0)
			return rc;
		break;
	case CAP_MY_WRITE_ROWS_V1: case CAP_MY_UPDATE_ROWS_V1: case CAP_MY_DELETE_ROWS_V1:
	case CAP_MY_WRITE_ROWS_V2: case CAP_MY_UPDATE_ROWS_V2: case CAP_MY_DELETE_ROWS_V2:
		if ((rc = on_rows(s, &ev, start, err)) != 0)
			return rc;
		break;
	default:
		break;
	}
	if (ev.next_pos != 0 && ev.type != CAP_MY_HEARTBEAT)
		s->at.pos = ev.next_pos;
	return 0;
}

/* ------------------------------------------------------ stored position */

int
cap_my_store(struct cap_my *s, const char *snapshot_state, int clean, struct sl_err *err)
{
	struct sl_buf key = { 0 };
	struct cap_pos pos;
	int rc;

	sl_buf_reset(&s->val);
	sl_buf_printf(&s->val, "{\"file\":\"%s\",\"pos\":%" PRIu32 ",\"gtid\":", s->flushed.file,
	    s->flushed.pos);
	if (s->flushed_gtid[0])
		sl_buf_printf(&s->val, "\"%s\"", s->flushed_gtid);
	else
		sl_buf_printf(&s->val, "null");
	sl_buf_printf(&s->val, ",\"snapshot\":\"%s\",\"server_id\":%" PRIu32
	    ",\"position\":\"%s\"%s}", snapshot_state, s->source_server_id,
	    s->conf.position_gtid ? "gtid" : "file", clean ? ",\"stop\":\"clean\"" : "");
	sl_buf_add(&key, s->conf.name, strlen(s->conf.name));
	pos.lsn = cap_my_pack(&s->flushed);
	pos.seq = 0;
	rc = cap_produce(s->prod, s->off_topic, 0, key.p, key.len, s->val.p, s->val.len, &pos,
	    NULL, err);
	sl_buf_free(&key);
	if (rc == 0) {
		s->stored = s->flushed;
		s->have_stored = 1;
		s->last_store_ns = sl_mono_ns();
	}
	return rc;
}

static int
heartbeat(struct cap_my *s, struct sl_err *err)
{
	struct sch_heartbeat hb;
	struct sl_buf key = { 0 };
	struct cap_pos pos;
	int rc;

	if (s->hb_topic == NULL)
		return 0;
	memset(&hb, 0, sizeof(hb));
	hb.connector = "mysql";
	hb.name = s->conf.name;
	hb.ts_ms = sl_now_ms();
	hb.binlog_file = s->flushed.file;
	hb.binlog_pos = s->flushed.pos;
	hb.gtid_set = s->flushed_gtid[0] ? s->flushed_gtid : NULL;
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_heartbeat_encode_json_opts(&hb, &s->json_opts, &s->val) :
	    sch_heartbeat_encode_pb(&hb, &s->val);
	if (rc != 0)
		return sl_errf(err, rc, "encoding a heartbeat: %s", sl_strerror(rc));
	/* (the key of the offsets topic, which capture reads back, stays the bare name) */
	(void)sch_string_key_encode_json(s->conf.name, s->conf.json ? &s->json_opts : NULL,
	    &key);
	pos.lsn = cap_my_pack(&s->flushed);
	pos.seq = 0;
	rc = cap_produce(s->prod, s->hb_topic, cap_key_partition(s->hb_topic, &key), key.p, key.len,
	    s->val.p, s->val.len, &pos, NULL, err);
	sl_buf_free(&key);
	s->last_hb_ns = sl_mono_ns();
	return rc;
}

static int
upkeep(struct cap_my *s, struct sl_err *err)
{
	int64_t now;
	int rc;

	cap_producer_poll(s->prod, 0);
	if (s->fatal)
		return sl_errf(err, s->fatal, "%s", s->fatal_msg);
	cap_my_txq_advance(s);
	now = sl_mono_ns();
	if ((!s->have_stored || strcmp(s->stored.file, s->flushed.file) != 0 ||
	    s->stored.pos != s->flushed.pos) &&
	    now - s->last_store_ns >= s->conf.status_ms * 1000000LL &&
	    (rc = cap_my_store(s, "done", 0, err)) != 0)
		return rc;
	if (s->conf.heartbeat_ms > 0 && now - s->last_hb_ns >= s->conf.heartbeat_ms * 1000000LL &&
	    (rc = heartbeat(s, err)) != 0)
		return rc;
	cap_http_serve(s->http, cap_my_http_render, s);
	return 0;
}

int
cap_my_stream(struct cap_my *s, volatile sig_atomic_t *stop, struct sl_err *err)
{
	unsigned burst = 0;
	int rc = 0;

	s->last_hb_ns = sl_mono_ns();
	while (!*stop) {
		const uint8_t *p;
		size_t len;

		rc = cap_my_dump_next(s->dump, burst ? 0 : 100, &p, &len, err);
		if (rc < 0)
			break;
		if (rc == 1) {
			if ((rc = handle(s, p, len, err)) != 0)
				break;
			/* between transactions: the buffer of 'p' is no longer used */
			if (s->adhoc_pending != NULL && s->cur == NULL &&
			    (rc = cap_my_adhoc_snapshot(s, stop, err)) != 0)
				break;
			if (++burst < CAP_MY_UPKEEP_EVERY)
				continue;
		}
		burst = 0;
		if ((rc = upkeep(s, err)) != 0)
			break;
		rc = 0;
	}
	if (rc == 1)
		rc = 0;
	return rc;
}

/* ------------------------------------------------------------- metrics */

int
cap_my_http_render(void *ctx, const char *path, struct sl_buf *b)
{
	struct cap_my *s = ctx;

	if (strcmp(path, "/health") == 0) {
		sl_buf_printf(b, "%s\n", s->fatal ? "failing" : "ok");
		return s->fatal ? 503 : 200;
	}
	if (strcmp(path, "/metrics") != 0)
		return 404;
	sl_buf_printf(b,
	    "# HELP sluice_capture_events_read_total Binlog events read.\n"
	    "# TYPE sluice_capture_events_read_total counter\n"
	    "sluice_capture_events_read_total{source=\"%s\"} %" PRIu64 "\n"
	    "# HELP sluice_capture_messages_produced_total Messages handed to the producer.\n"
	    "# TYPE sluice_capture_messages_produced_total counter\n"
	    "sluice_capture_messages_produced_total{source=\"%s\"} %" PRIu64 "\n"
	    "# HELP sluice_capture_messages_acked_total Messages the broker acknowledged.\n"
	    "# TYPE sluice_capture_messages_acked_total counter\n"
	    "sluice_capture_messages_acked_total{source=\"%s\"} %" PRIu64 "\n"
	    "# HELP sluice_capture_messages_skipped_total Messages not produced again after a "
	    "restart (already in their partition).\n"
	    "# TYPE sluice_capture_messages_skipped_total counter\n"
	    "sluice_capture_messages_skipped_total{source=\"%s\"} %" PRIu64 "\n"
	    "# HELP sluice_capture_transactions_total Transactions read.\n"
	    "# TYPE sluice_capture_transactions_total counter\n"
	    "sluice_capture_transactions_total{source=\"%s\"} %" PRIu64 "\n"
	    "# HELP sluice_capture_snapshot_rows_total Rows copied by the snapshot.\n"
	    "# TYPE sluice_capture_snapshot_rows_total counter\n"
	    "sluice_capture_snapshot_rows_total{source=\"%s\"} %" PRIu64 "\n"
	    "# HELP sluice_capture_binlog_position Position read (file sequence << 32 | "
	    "offset) and position stored.\n"
	    "# TYPE sluice_capture_binlog_position gauge\n"
	    "sluice_capture_binlog_position{source=\"%s\",kind=\"read\"} %" PRIu64 "\n"
	    "sluice_capture_binlog_position{source=\"%s\",kind=\"flushed\"} %" PRIu64 "\n",
	    s->conf.name, s->events_in, s->conf.name, s->produced, s->conf.name, s->acked,
	    s->conf.name, s->skipped, s->conf.name, s->txns, s->conf.name, s->snap_rows,
	    s->conf.name, cap_my_pack(&s->at), s->conf.name, cap_my_pack(&s->flushed));
	return 200;
}

/* ------------------------------------------------------------- cleanup */

void
cap_my_state_free(struct cap_my *s)
{
	size_t i;

	while (s->txq_head) {
		struct cap_my_txn *t = s->txq_head;

		s->txq_head = t->next;
		free(t->counts);
		free(t);
	}
	s->txq_tail = s->cur = NULL;
	for (i = 0; i < s->n_rels; i++) {
		struct cap_my_rel *r = s->rels[i];
		uint32_t k;

		for (k = 0; k < r->n_cols; k++) {
			uint32_t l;

			free((char *)r->cols[k].name);
			for (l = 0; l < r->cols[k].n_labels; l++)
				free((char *)r->cols[k].labels[l]);
			free(r->cols[k].labels);
		}
		free(r->cols);
		free(r->table.columns);
		free(r->keep);
		free(r->mask);
		free(r->db);
		free(r->name);
		free(r->collection);
		sl_buf_free(&r->table_pb);
		free(r);
	}
	free(s->rels);
	s->rels = NULL;
	s->n_rels = 0;
	free(s->tmaps);
	s->tmaps = NULL;
	s->n_tmaps = 0;
	sl_arena_free(&s->arena);
	sl_buf_free(&s->key);
	sl_buf_free(&s->val);
	cap_outbox_msg_free(&s->ob_msg);
	sl_arena_free(&s->mask_arena);
	free(s->adhoc_pending);
	s->adhoc_pending = NULL;
	free(s->off_topic_name);
}
