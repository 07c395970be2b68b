/*
 * capture/pg_capture.c: the PostgreSQL capture loop.
 *
 * Reads the replication stream (pg_repl.c), decodes pgoutput
 * (pg_pgoutput.c), turns each change into a struct sch_event with the
 * relation cache kept here, and produces it (produce.c): a topic per table
 * `<prefix>.<schema>.<table>`, key = the key columns, partition =
 * murmur2(key) % partitions, a tombstone after each delete, BEGIN/END on
 * `<prefix>.transaction`, logical messages on `<prefix>.messages`, and
 * heartbeats on `<prefix>.heartbeat`.  The flush LSN confirmed to the
 * server follows broker acknowledgements.  Configuration parsing and the
 * start-up sequence (publication, slot, snapshot) are in pg_source.c.
 *
 * POSITIONS.  Every message carries (commit LSN, seq): seq 0 is BEGIN,
 * 1..n the transaction's events in order (a tombstone counts as one), n+1
 * END.  Snapshot rows have LSN 0.
 *
 * INVARIANTS
 *  (1) The flush LSN sent to the server is the end LSN of a transaction
 *      only after every message of it and of every earlier transaction was
 *      acknowledged by the broker (the queue 'txq' pops in commit order).
 *  (2) While no transaction is open and nothing awaits acknowledgement, a
 *      keepalive's WAL end may be confirmed: everything before it has been
 *      received and acknowledged (this moves the slot while the captured
 *      tables are idle).
 *  (3) A message whose position is at or below the last one its partition
 *      already holds is not produced again (DESIGN.md §3.5).
 *  (4) A streamed transaction is produced only at Stream Commit, from its
 *      spool file; changes of aborted subtransactions are skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/cap_pg.h"

/* µs between 1970-01-01 and 2000-01-01 */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* Messages of a burst between two upkeeps of the stream loop. */
#define CAP_PG_UPKEEP_EVERY 128

/* ---------------------------------------------------------- deliveries */

static void
capq_delivered(void *opaque, int error, const char *errstr, void *ctx)
{
	struct cap_pg *s = ctx;
	struct cap_txn *t = opaque;

	if (error != 0 && s->fatal == 0) {
		s->fatal = SL_EPROTO;
		snprintf(s->fatal_msg, sizeof(s->fatal_msg), "kafka delivery failed: %s",
		    errstr ? errstr : "?");
	}
	if (t != NULL)
		t->outstanding--;
	s->acked++;
}

/* A transaction record at the queue's tail; 'end_lsn' set when it closes. */
static struct cap_txn *
capq_push(struct cap_pg *s)
{
	struct cap_txn *t = sl_calloc(1, sizeof(*t));

	if (s->txq_tail)
		s->txq_tail->next = t;
	else
		s->txq_head = t;
	s->txq_tail = t;
	return t;
}

/* Pop every closed, fully acknowledged transaction: (1). */
void
cap_pg_queue_advance(struct cap_pg *s)
{
	while (s->txq_head && s->txq_head->closed && s->txq_head->outstanding == 0) {
		struct cap_txn *t = s->txq_head;

		if (t->end_lsn > s->flush_lsn)
			s->flush_lsn = t->end_lsn;
		s->txq_head = t->next;
		if (s->txq_head == NULL)
			s->txq_tail = NULL;
		free(t);
	}
}

/* ----------------------------------------------------------- producing */

/*
 * Produce one message for the current transaction 't' at the next
 * sequence number, unless the partition already holds it (3).
 */
int
cap_pg_emit(struct cap_pg *s, struct cap_txn *t, struct cap_topic *topic, int32_t partition,
    const struct sl_buf *key, const void *value, size_t value_len, int is_snapshot,
    struct sl_err *err)
{
	struct cap_pos pos;
	int rc;

	pos.lsn = t ? t->commit_lsn : s->snap_pos_lsn;
	pos.seq = t ? t->seq++ : s->snap_seq++;
	if (!is_snapshot && cap_topic_skip(topic, partition, &pos)) {
		s->skipped++;
		return 0;
	}
	if (t)
		t->outstanding++;
	/* NULL 'key': a null key; an empty buffer: the empty key */
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

/* 'r': the relation of 'ev', whose encoded table the protobuf value copies */
static int
cap_encode(struct cap_pg *s, const struct sch_event *ev, const struct cap_rel *r,
    struct sl_buf *key, struct sl_buf *val, struct sl_err *err)
{
	return cap_event_encode(s->conf.json, &s->json_opts, ev, sl_buf_slice(&r->table_pb), key,
	    val, err);
}

/* Count an event of 'rel' in the transaction's per-table counters. */
static uint64_t
cap_txn_count(struct cap_txn *t, const char *collection)
{
	t->events++;
	return cap_tx_count(&t->counts, &t->n_counts, collection);
}

static void
cap_source_fill(struct cap_pg *s, struct sch_source *src, const struct cap_rel *rel,
    const struct cap_txn *t, uint64_t lsn)
{
	memset(src, 0, sizeof(*src));
	src->connector = "postgresql";
	src->name = s->conf.name;
	src->db = s->dbname;
	if (rel) {
		src->schema = rel->table.schema;
		src->table = rel->table.name;
	}
	if (t) {
		src->ts_us = t->commit_ts_us;
		src->ts_ms = t->commit_ts_us / 1000;
		src->txid = t->xid;
		src->has |= SCH_SRC_TXID;
		src->last_commit_lsn = s->last_commit_lsn;
		src->has |= SCH_SRC_LAST_COMMIT_LSN;
	} else {
		src->ts_ms = sl_now_ms();
		src->ts_us = src->ts_ms * 1000;
	}
	src->lsn = lsn;
	src->has |= SCH_SRC_LSN;
}

static int
cap_emit_txevent(struct cap_pg *s, struct cap_txn *t, enum sch_tx_status status,
    struct sl_err *err)
{
	struct sch_txevent te;
	struct sl_buf key = { 0 };
	int rc;

	if (!s->conf.tx_topic)
		return 0;
	memset(&te, 0, sizeof(te));
	te.status = status;
	te.id = t->txid_str;
	te.ts_ms = t->commit_ts_us / 1000;
	if (status == SCH_TX_END) {
		te.event_count = t->events;
		te.collections = t->counts;
		te.n_collections = t->n_counts;
	}
	cap_source_fill(s, &te.source, NULL, t, t->commit_lsn);
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_txevent_encode_json_opts(&te, &s->json_opts, &s->val) :
	    sch_txevent_encode_pb(&te, &s->val);
	if (rc != 0)
		return sl_errf(err, rc, "encoding a transaction event: %s", sl_strerror(rc));
	(void)sch_string_key_encode_json(t->txid_str, s->conf.json ? &s->json_opts : NULL,
	    &key);
	rc = cap_pg_emit(s, t, s->tx_topic, cap_key_partition(s->tx_topic, &key), &key,
	    s->val.p, s->val.len, 0, err);
	sl_buf_free(&key);
	return rc;
}

/* ------------------------------------------------------ relation cache */

struct cap_rel *
cap_pg_rel_find(struct cap_pg *s, uint32_t relid)
{
	size_t i;

	for (i = 0; i < s->n_rels; i++)
		if (s->rels[i]->relid == relid)
			return s->rels[i];
	return NULL;
}

static void
rel_free_contents(struct cap_rel *r)
{
	uint32_t i;

	for (i = 0; i < r->table.n_columns; i++) {
		free((char *)r->table.columns[i].name);
		free((char *)r->table.columns[i].type_name);
	}
	free(r->table.columns);
	free(r->parse_oid);
	free(r->is_enum);
	free(r->keep);
	free(r->mask);
	free((char *)r->table.schema);
	free((char *)r->table.name);
	free(r->collection);
	sl_buf_free(&r->table_pb);
	memset(r, 0, sizeof(*r));
}

struct cap_rel *
cap_pg_rel_take(struct cap_pg *s, uint32_t relid)
{
	struct cap_rel *r;
	size_t i;

	for (i = 0; i < s->n_rels; i++)
		if (s->rels[i]->relid == relid) {
			r = s->rels[i];
			s->rels[i] = s->rels[--s->n_rels];
			return r;
		}
	return NULL;
}

void
cap_pg_rel_restore(struct cap_pg *s, uint32_t relid, struct cap_rel *r)
{
	struct cap_rel *cur = cap_pg_rel_take(s, relid);

	if (cur != NULL) {
		rel_free_contents(cur);
		free(cur);
	}
	if (r != NULL) {
		s->rels = sl_realloc(s->rels, (s->n_rels + 1) * sizeof(*s->rels));
		s->rels[s->n_rels++] = r;
	}
}

void
cap_pg_rels_free(struct cap_pg *s)
{
	size_t i;

	for (i = 0; i < s->n_rels; i++) {
		rel_free_contents(s->rels[i]);
		free(s->rels[i]);
	}
	free(s->rels);
	s->rels = NULL;
	s->n_rels = 0;
}

/* FNV-1a 64 of the table's shape: the schema id (stable across restarts). */
static uint64_t
rel_schema_id(const struct cap_rel *r)
{
	uint64_t h = CAP_FNV_INIT;
	uint32_t i;

	h = cap_fnv1a(h, r->table.schema, strlen(r->table.schema) + 1);
	h = cap_fnv1a(h, r->table.name, strlen(r->table.name) + 1);
	for (i = 0; i < r->table.n_columns; i++) {
		const struct sch_column *c = &r->table.columns[i];

		h = cap_fnv1a(h, c->name, strlen(c->name) + 1);
		h = cap_fnv1a(h, &c->type_oid, sizeof(c->type_oid));
		h = cap_fnv1a(h, &c->typmod, sizeof(c->typmod));
		h = cap_fnv1a(h, &c->is_key, sizeof(c->is_key));
	}
	return h & 0x7fffffffffffffffull;
}

/* Find or create the topic of "schema.table". */
int
cap_pg_table_topic(struct cap_pg *s, const char *schema, const char *name,
    int compact, int strict, struct cap_topic **out, struct sl_err *err)
{
	return cap_table_topic_open(s->prod, &s->conf, schema, name, compact, strict, out, err);
}

/*
 * Whether 'r' (a partition: its root) is one of the tables 'tables' names.
 * A publication may hold more (FOR ALL TABLES, a schema, one shared with
 * other consumers), and an excluded table must stay out of the topics
 * whatever the publication says, as Debezium's table.include.list does.
 * Without patterns (unit tests) every table is wanted.
 */
static int
rel_wanted(const struct cap_pg *s, const struct cap_rel *r)
{
	return s->conf.tables == NULL ||
	    cap_pg_table_match(s->conf.tables, r->table.schema, r->table.name);
}

/*
 * exclude_columns: drop the columns it names from 'r' (a relation being
 * built, before its schema id), keeping their source indexes in r->keep.
 * Said once per table and column set, when the set is new.
 */
static int
rel_exclude_columns(struct cap_pg *s, struct cap_rel *r, struct sl_err *err)
{
	struct cap_rel *old;
	struct sl_buf gone = { 0 };
	uint32_t i, k, n_keep;
	int rc;

	if (s->conf.exclude_columns == NULL || !rel_wanted(s, r))
		return 0;	/* a table not captured is only described */
	if ((rc = cap_columns_keep(s->conf.exclude_columns, r->table.schema, r->table.name,
	    r->table.columns, r->table.n_columns, &r->keep, &n_keep, err)) != 0 ||
	    r->keep == NULL)
		return rc;
	for (i = 0, k = 0; i < r->table.n_columns; i++) {
		if (k < n_keep && r->keep[k] == i) {
			r->table.columns[k] = r->table.columns[i];
			r->parse_oid[k] = r->parse_oid[i];
			r->is_enum[k] = r->is_enum[i];
			k++;
			continue;
		}
		sl_buf_printf(&gone, "%s%s", gone.len ? ", " : "", r->table.columns[i].name);
		free((char *)r->table.columns[i].name);
		free((char *)r->table.columns[i].type_name);
	}
	r->table.n_columns = n_keep;
	old = cap_pg_rel_find(s, r->relid);
	if (old == NULL || old->n_src != r->n_src) {
		sl_buf_add_u8(&gone, 0);
		sl_info("table %s.%s: column%s %s left out of its events (exclude_columns)",
		    r->table.schema, r->table.name, r->n_src - n_keep > 1 ? "s" : "",
		    (const char *)gone.p);
	}
	sl_buf_free(&gone);
	return 0;
}

/*
 * key_columns: the Kafka key of 'r' (being built from Relation 'm') is the
 * columns it names.  The old image of an UPDATE or DELETE must hold them:
 * with REPLICA IDENTITY FULL it holds every column, without a replica
 * identity there is none (the server refuses UPDATE and DELETE of a table
 * published for them), and otherwise only the identity's own columns.
 */
static int
rel_key_columns(struct cap_pg *s, struct cap_rel *r, const struct cap_pgo_msg *m,
    int *has_key, struct sl_err *err)
{
	uint32_t i;
	int rc, applied, own = *has_key;

	if ((rc = cap_key_columns_apply(s->conf.key_columns, r->table.schema, r->table.name,
	    r->table.columns, r->table.n_columns, &applied, err)) != 0 || !applied)
		return rc;
	*has_key = 0;
	for (i = 0; i < r->table.n_columns; i++) {
		if (!r->table.columns[i].is_key)
			continue;
		*has_key = 1;
		if (own && m->u.rel.replident != 'f' && !(m->u.rel.cols[i].flags & 1))
			return sl_errf(err, SL_ECONFIG, "key_columns: column %s of %s.%s is not in "
			    "its replica identity, so a DELETE would not carry it: ALTER TABLE "
			    "%s.%s REPLICA IDENTITY FULL, or name the identity's columns",
			    r->table.columns[i].name, r->table.schema, r->table.name,
			    r->table.schema, r->table.name);
	}
	return 0;
}

int
cap_pg_on_relation(struct cap_pg *s, const struct cap_pgo_msg *m, struct sl_err *err)
{
	struct cap_rel tmp, *r;
	uint16_t i;
	int rc, has_key = 0;

	memset(&tmp, 0, sizeof(tmp));
	tmp.relid = m->u.rel.relid;
	tmp.table.db = s->dbname;
	/* pgoutput sends "" for pg_catalog; user tables always have one */
	tmp.table.schema = sl_strdup(m->u.rel.nspname[0] ? m->u.rel.nspname : "pg_catalog");
	tmp.table.name = sl_strdup(m->u.rel.relname);
	if (s->sql != NULL) {
		/*
		 * pgoutput (without publish_via_partition_root) and pg_sluice
		 * send a partition's changes as the partition's.  The patterns
		 * match partitioned tables, the snapshot copies them whole, and
		 * partitions come and go: the changes belong to the root's
		 * table and topic.
		 */
		char *rs, *rn;

		if ((rc = cap_pg_partition_root(s->sql, tmp.relid, &tmp.root, &rs, &rn,
		    err)) != 0) {
			rel_free_contents(&tmp);
			return rc;
		}
		if (tmp.root != 0) {
			if (cap_pg_rel_find(s, tmp.relid) == NULL)
				sl_info("partition %s.%s of %s.%s: its changes are %s.%s's",
				    tmp.table.schema, tmp.table.name, rs, rn, rs, rn);
			free((char *)tmp.table.schema);
			free((char *)tmp.table.name);
			tmp.table.schema = rs;
			tmp.table.name = rn;
		}
	}
	tmp.table.n_columns = m->u.rel.ncols;
	tmp.table.columns = sl_calloc(m->u.rel.ncols ? m->u.rel.ncols : 1,
	    sizeof(*tmp.table.columns));
	tmp.parse_oid = sl_calloc(m->u.rel.ncols ? m->u.rel.ncols : 1, sizeof(*tmp.parse_oid));
	tmp.is_enum = sl_calloc(m->u.rel.ncols ? m->u.rel.ncols : 1, sizeof(*tmp.is_enum));
	for (i = 0; i < m->u.rel.ncols; i++) {
		struct sch_column *c = &tmp.table.columns[i];
		const char *tn = sch_pg_type_name(m->u.rel.cols[i].type_oid);
		char name[128];

		c->name = sl_strdup(m->u.rel.cols[i].name);
		c->type_oid = m->u.rel.cols[i].type_oid;
		c->typmod = m->u.rel.cols[i].typmod;
		c->is_key = m->u.rel.cols[i].flags & 1;
		c->nullable = -1;
		has_key |= c->is_key;
		tmp.parse_oid[i] = c->type_oid;
		if (tn == NULL) {
			/* a user type: domains parse as their base, enums as labels */
			if ((rc = cap_pg_type_info(s, c->type_oid, &tmp.parse_oid[i],
			    &tmp.is_enum[i], name, sizeof(name), err)) != 0) {
				rel_free_contents(&tmp);
				return rc;
			}
			c->type_name = sl_strdup(name);
			/* a domain is described by its base type */
			if (tmp.parse_oid[i] != c->type_oid && !tmp.is_enum[i])
				c->type_oid = tmp.parse_oid[i];
		} else {
			c->type_name = sl_strdup(tn);
		}
	}
	if (m->u.rel.replident == 'f' && s->sql != NULL) {
		/*
		 * REPLICA IDENTITY FULL flags every column as key; the message
		 * key is the primary key when there is one, as Debezium does.
		 */
		char **pk;
		size_t npk, k;

		if ((rc = cap_pg_pk_columns(s->sql, tmp.relid, &pk, &npk, err)) != 0) {
			rel_free_contents(&tmp);
			return rc;
		}
		for (i = 0; npk > 0 && i < m->u.rel.ncols; i++) {
			tmp.table.columns[i].is_key = 0;
			for (k = 0; k < npk; k++)
				if (strcmp(pk[k], tmp.table.columns[i].name) == 0)
					tmp.table.columns[i].is_key = 1;
		}
		for (k = 0; k < npk; k++)
			free(pk[k]);
		free(pk);
	}
	if (s->sql != NULL && rel_wanted(s, &tmp)) {
		/*
		 * Nullability, which pgoutput does not send: for the column
		 * descriptions (json.schemas' "optional", protobuf's Column).
		 */
		char **nn;
		size_t nnn, k;

		if ((rc = cap_pg_not_null_columns(s->sql, tmp.relid, &nn, &nnn, err)) != 0) {
			rel_free_contents(&tmp);
			return rc;
		}
		for (i = 0; i < m->u.rel.ncols; i++) {
			tmp.table.columns[i].nullable = 1;
			for (k = 0; k < nnn; k++)
				if (strcmp(nn[k], tmp.table.columns[i].name) == 0)
					tmp.table.columns[i].nullable = 0;
		}
		for (k = 0; k < nnn; k++)
			free(nn[k]);
		free(nn);
	}
	if (s->conf.key_columns != NULL && rel_wanted(s, &tmp) &&
	    (rc = rel_key_columns(s, &tmp, m, &has_key, err)) != 0) {
		rel_free_contents(&tmp);
		return rc;
	}
	tmp.n_src = tmp.table.n_columns;
	if ((rc = rel_exclude_columns(s, &tmp, err)) != 0) {
		rel_free_contents(&tmp);
		return rc;
	}
	if (rel_wanted(s, &tmp))
		tmp.mask = cap_columns_mask(s->conf.mask_columns, tmp.table.schema,
		    tmp.table.name, tmp.table.columns, tmp.table.n_columns);
	tmp.has_key = has_key;
	tmp.table.schema_id = rel_schema_id(&tmp);
	(void)sch_table_encode_pb(&tmp.table, &tmp.table_pb);
	tmp.collection = sl_asprintf("%s.%s", tmp.table.schema, tmp.table.name);

	r = cap_pg_rel_find(s, tmp.relid);
	if (r != NULL && r->table.schema_id == tmp.table.schema_id &&
	    strcmp(r->table.name, tmp.table.name) == 0 && r->n_src == tmp.n_src &&
	    (r->keep == NULL) == (tmp.keep == NULL) && (r->keep == NULL ||
	    memcmp(r->keep, tmp.keep, tmp.table.n_columns * sizeof(*tmp.keep)) == 0)) {
		rel_free_contents(&tmp);	/* resent unchanged */
		return 0;
	}
	if (rel_wanted(s, &tmp) && cap_pg_is_signal(s, tmp.table.schema, tmp.table.name)) {
		tmp.signal = 1;		/* read for its signals: no topic */
	} else if (rel_wanted(s, &tmp) &&
	    cap_pg_is_outbox(s, tmp.table.schema, tmp.table.name)) {
		tmp.outbox = 1;		/* routed per row: no topic of its own */
		if ((rc = cap_outbox_bind(&s->conf, &tmp.table, tmp.collection, &tmp.ob,
		    err)) != 0) {
			rel_free_contents(&tmp);
			return rc;
		}
	} else if (!rel_wanted(s, &tmp)) {
		tmp.topic = NULL;	/* described, so its changes can be told apart */
		if (r == NULL)
			sl_info("table %s is published but 'tables' leaves it out: its changes "
			    "are not captured", tmp.collection);
	} else if ((rc = cap_pg_table_topic(s, tmp.table.schema, tmp.table.name, has_key, 0,
	    &tmp.topic, err)) != 0) {
		rel_free_contents(&tmp);
		return rc;
	}
	if (r == NULL) {
		r = sl_calloc(1, sizeof(*r));
		s->rels = sl_realloc(s->rels, (s->n_rels + 1) * sizeof(*s->rels));
		s->rels[s->n_rels++] = r;
	} else {
		/* the same schema with another set of left-out columns is not new */
		if (r->table.schema_id != tmp.table.schema_id)
			sl_info("table %s: new schema version %" PRIu64 " (%u columns)",
			    tmp.collection, tmp.table.schema_id, tmp.table.n_columns);
		rel_free_contents(r);
	}
	*r = tmp;
	return 0;
}

/* ------------------------------------------------------------- changes */

static int
cap_tuple_values(struct cap_pg *s, const struct cap_rel *r, const struct cap_pgo_tuple *tup,
    uint64_t lsn, struct sch_value **out, struct sl_err *err)
{
	struct sch_value *v;
	uint32_t i;
	char lb[32];
	int rc;

	if (tup->ncols != r->n_src)
		return SL_CORRUPT(err, "pgoutput change at LSN %s for %s: %u values for %u columns",
		    cap_lsn_fmt(lsn, lb, sizeof(lb)), r->collection, tup->ncols, r->n_src);
	v = sl_arena_alloc(&s->arena, (r->table.n_columns ? r->table.n_columns : 1) * sizeof(*v));
	for (i = 0; i < r->table.n_columns; i++) {
		const struct cap_pgo_value *pv = &tup->cols[r->keep ? r->keep[i] : i];

		switch (pv->kind) {
		case 'n':
			v[i] = sch_value_null();
			break;
		case 'u':
			v[i] = sch_value_unchanged();
			break;
		case 't':
			if (r->is_enum[i])
				rc = sch_pg_parse_enum((const char *)pv->data, pv->len, &s->arena, &v[i]);
			else
				rc = sch_pg_parse(r->parse_oid[i], r->table.columns[i].typmod,
				    (const char *)pv->data, pv->len, &s->arena, &v[i], err);
			if (rc != 0)
				return sl_errf(err, rc, "change at LSN %s, %s.%s: %s",
				    cap_lsn_fmt(lsn, lb, sizeof(lb)), r->collection,
				    r->table.columns[i].name, err ? err->msg : sl_strerror(rc));
			break;
		default:
			return SL_CORRUPT(err, "pgoutput change at LSN %s for %s: binary value "
			    "in column %s (binary mode is not requested)",
			    cap_lsn_fmt(lsn, lb, sizeof(lb)), r->collection,
			    r->table.columns[i].name);
		}
	}
	*out = v;
	return 0;
}

/* 1 if the key columns of images 'a' and 'b' differ. */
static int
key_changed(const struct cap_rel *r, const struct sch_value *a, const struct sch_value *b)
{
	uint32_t i;

	for (i = 0; i < r->table.n_columns; i++)
		if (r->table.columns[i].is_key && b[i].kind != SCH_UNCHANGED &&
		    !sch_value_equal(&a[i], &b[i]))
			return 1;
	return 0;
}

/* Encode and produce one row event (and its tombstone for a delete). */
int
cap_pg_emit_row(struct cap_pg *s, struct cap_txn *t, struct cap_rel *r, enum sch_op op,
    struct sch_value *before, struct sch_value *after, uint64_t lsn, int snapshot,
    struct sl_err *err)
{
	struct sch_event ev;
	int32_t part;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.op = op;
	ev.table = &r->table;
	ev.before = before;
	ev.after = after;
	cap_source_fill(s, &ev.source, r, t, lsn);
	ev.ts_ms = sl_now_ms();
	if (snapshot) {
		ev.source.snapshot = SCH_SNAPSHOT_TRUE;
		ev.source.ts_ms = s->snap_ts_ms;
		ev.source.ts_us = s->snap_ts_ms * 1000;
		ev.source.has &= ~(unsigned)SCH_SRC_LSN;
		if (s->snap_lsn) {
			ev.source.lsn = s->snap_lsn;
			ev.source.has |= SCH_SRC_LSN;
		}
	}
	if (t) {
		ev.tx.id = t->txid_str;
		ev.tx.data_collection_order = cap_txn_count(t, r->collection);
		ev.tx.total_order = t->events;
	}
	sl_arena_reset(&s->mask_arena);
	if ((rc = cap_values_mask(s->conf.mask_salt, r->mask, &r->table, r->collection, before,
	    &ev.before, &s->mask_arena, err)) != 0 ||
	    (rc = cap_values_mask(s->conf.mask_salt, r->mask, &r->table, r->collection, after,
	    &ev.after, &s->mask_arena, err)) != 0)
		return rc;
	if ((rc = cap_encode(s, &ev, r, &s->key, &s->val, err)) != 0)
		return rc;
	part = cap_key_partition(r->topic, &s->key);
	if ((rc = cap_pg_emit(s, t, r->topic, part, s->key.len ? &s->key : NULL, s->val.p,
	    s->val.len, snapshot, err)) != 0)
		return rc;
	if (op == SCH_OP_DELETE && s->key.len > 0 && s->conf.tombstones)
		rc = cap_pg_emit(s, t, r->topic, part, &s->key, NULL, 0, snapshot, err);
	return rc;
}

int
cap_pg_is_outbox(const struct cap_pg *s, const char *schema, const char *name)
{
	return s->conf.outbox_tables != NULL &&
	    cap_pg_table_match(s->conf.outbox_tables, schema, name);
}

/*
 * A change of an outbox table: an INSERT is one message on the topic its
 * route names (capture/outbox.c); a DELETE is the application emptying
 * the table, an UPDATE is not an event: neither gives anything.
 */
static int
outbox_change(struct cap_pg *s, struct cap_txn *t, struct cap_rel *r,
    const struct cap_pgo_msg *m, uint64_t lsn, struct sl_err *err)
{
	struct cap_outbox_msg *o = &s->ob_msg;
	struct cap_topic *topic;
	struct sch_value *after;
	int32_t part;
	char lb[32];
	int rc;

	if (m->type == CAP_PGO_DELETE)
		return 0;
	if (m->type != CAP_PGO_INSERT) {
		if (!r->outbox_warned)
			sl_warn("outbox table %s: an UPDATE at LSN %s gives no event (only "
			    "INSERTs do); said once", r->collection,
			    cap_lsn_fmt(lsn, lb, sizeof(lb)));
		r->outbox_warned = 1;
		return 0;
	}
	if ((rc = cap_tuple_values(s, r, &m->u.change.new_tuple, lsn, &after, err)) != 0)
		return rc;
	if ((rc = cap_outbox_event(&s->conf, &r->ob, &r->table, r->collection, after, o,
	    err)) != 0)
		return sl_errf(err, rc, "%s (LSN %s)", err ? err->msg : "",
		    cap_lsn_fmt(lsn, lb, sizeof(lb)));
	if ((rc = cap_outbox_topic(s->prod, &s->conf, o, &topic, &part, err)) != 0)
		return rc;
	/* a null payload: a tombstone; an empty one: a value of no bytes */
	rc = cap_pg_emit(s, t, topic, part, o->null_key ? NULL : &o->key,
	    o->null_value ? NULL : o->value.p ? (const void *)o->value.p : "",
	    o->value.len, 0, err);
	cap_producer_next_header(s->prod, NULL, NULL, 0);	/* skipped: not carried over */
	return rc;
}

int
cap_pg_is_signal(const struct cap_pg *s, const char *schema, const char *name)
{
	return s->conf.signal_table != NULL &&
	    cap_pg_table_match(s->conf.signal_table, schema, name);
}

/*
 * An INSERT into the signal table (Debezium's id, type, data): type
 * 'execute-snapshot' is the sluice.snapshot logical message's request,
 * taken the same way (cap_pg_adhoc_snapshot); other types are logged and
 * left alone, and so are updates and deletes.
 */
static int
signal_change(struct cap_pg *s, struct cap_rel *r, const struct cap_pgo_msg *m, uint64_t lsn,
    struct sl_err *err)
{
	struct sl_buf pat = { 0 };
	struct sch_value *v;
	char where[48], lb[32];
	int rc;

	if (m->type != CAP_PGO_INSERT)
		return 0;
	if ((rc = cap_tuple_values(s, r, &m->u.change.new_tuple, lsn, &v, err)) != 0)
		return rc;
	snprintf(where, sizeof(where), "LSN %s", cap_lsn_fmt(lsn, lb, sizeof(lb)));
	if (cap_signal_row(&r->table, v, where, "", &pat))
		rc = cap_pg_adhoc_snapshot(s, pat.p, pat.len, lsn, err);
	sl_buf_free(&pat);
	return rc;
}

static int
cap_on_change(struct cap_pg *s, struct cap_txn *t, const struct cap_pgo_msg *m, uint64_t lsn,
    struct sl_err *err)
{
	struct cap_rel *r = cap_pg_rel_find(s, m->u.change.relid);
	struct sch_value *before = NULL, *after = NULL;
	char lb[32];
	int rc;

	if (r == NULL)
		return SL_CORRUPT(err, "pgoutput %s at LSN %s: relation %u was never described",
		    cap_pgo_type_name(m->type), cap_lsn_fmt(lsn, lb, sizeof(lb)),
		    m->u.change.relid);
	if (r->signal)
		return signal_change(s, r, m, lsn, err);
	if (r->outbox)
		return outbox_change(s, t, r, m, lsn, err);
	if (r->topic == NULL)
		return 0;	/* a table 'tables' leaves out (rel_wanted()) */
	if (m->u.change.old_kind &&
	    (rc = cap_tuple_values(s, r, &m->u.change.old_tuple, lsn, &before, err)) != 0)
		return rc;
	if (m->type != CAP_PGO_DELETE &&
	    (rc = cap_tuple_values(s, r, &m->u.change.new_tuple, lsn, &after, err)) != 0)
		return rc;
	switch (m->type) {
	case CAP_PGO_INSERT:
		return cap_pg_emit_row(s, t, r, SCH_OP_CREATE, NULL, after, lsn, 0, err);
	case CAP_PGO_DELETE:
		return cap_pg_emit_row(s, t, r, SCH_OP_DELETE, before, NULL, lsn, 0, err);
	default:
		break;
	}
	if (before != NULL && r->has_key && key_changed(r, before, after)) {
		/*
		 * A primary-key change, as Debezium writes it: delete (and
		 * tombstone) the old key, create the new one, so a compacted
		 * topic keeps no row under the old key.
		 */
		uint32_t i;

		/* the old image has no unchanged values to stand for */
		for (i = 0; i < r->table.n_columns; i++)
			if (before[i].kind == SCH_UNCHANGED)
				before[i] = sch_value_null();
		if ((rc = cap_pg_emit_row(s, t, r, SCH_OP_DELETE, before, NULL, lsn, 0, err)) != 0)
			return rc;
		for (i = 0; i < r->table.n_columns; i++)
			if (after[i].kind == SCH_UNCHANGED && m->u.change.old_kind == 'O' &&
			    before[i].kind != SCH_NULL)
				after[i] = before[i];
		return cap_pg_emit_row(s, t, r, SCH_OP_CREATE, NULL, after, lsn, 0, err);
	}
	if (before != NULL && m->u.change.old_kind == 'K') {
		/* old key only: a partial image is not a before image */
		before = NULL;
	}
	if (before != NULL) {
		uint32_t i;

		for (i = 0; i < r->table.n_columns; i++)
			if (before[i].kind == SCH_UNCHANGED)
				before[i] = sch_value_null();
	}
	return cap_pg_emit_row(s, t, r, SCH_OP_UPDATE, before, after, lsn, 0, err);
}

/*
 * Produce a truncate of 'r' to every partition of its topic, so it is
 * ordered after the earlier changes of every key.  A compacted topic
 * refuses a null key: the key is the empty string.  't' is NULL for the
 * truncate that opens a snapshot over a non-empty topic.
 */
int
cap_pg_emit_truncate(struct cap_pg *s, struct cap_txn *t, struct cap_rel *r, uint64_t lsn,
    struct sl_err *err)
{
	struct sch_event ev;
	struct sl_buf empty = { 0 };
	int32_t p;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.op = SCH_OP_TRUNCATE;
	ev.table = &r->table;
	cap_source_fill(s, &ev.source, r, t, lsn);
	ev.ts_ms = sl_now_ms();
	if (t) {
		ev.tx.id = t->txid_str;
		ev.tx.data_collection_order = cap_txn_count(t, r->collection);
		ev.tx.total_order = t->events;
	} else {
		ev.source.snapshot = SCH_SNAPSHOT_TRUE;
	}
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_event_encode_json(&ev, &s->json_opts, &s->val) :
	    sch_event_encode_pb(&ev, &s->val);
	if (rc != 0)
		return sl_errf(err, rc, "encoding a truncate of %s", r->collection);
	for (p = 0; p < r->topic->partitions; p++)
		if ((rc = cap_pg_emit(s, t, r->topic, p, &empty, s->val.p, s->val.len, t == NULL,
		    err)) != 0)
			return rc;
	return 0;
}

static int
cap_on_truncate(struct cap_pg *s, struct cap_txn *t, const struct cap_pgo_msg *m, uint64_t lsn,
    struct sl_err *err)
{
	uint32_t i, j;
	char lb[32];
	int rc;

	for (i = 0; i < m->u.truncate.nrels; i++)
		if (cap_pg_rel_find(s, m->u.truncate.relids[i]) == NULL)
			return SL_CORRUPT(err, "pgoutput Truncate at LSN %s: relation %u was "
			    "never described", cap_lsn_fmt(lsn, lb, sizeof(lb)),
			    m->u.truncate.relids[i]);
	for (i = 0; i < m->u.truncate.nrels; i++) {
		struct cap_rel *r = cap_pg_rel_find(s, m->u.truncate.relids[i]);
		long in_msg = 0, leaves = 0;

		if (r->topic == NULL)
			continue;	/* a table 'tables' leaves out */
		if (r->root == 0) {
			if ((rc = cap_pg_emit_truncate(s, t, r, lsn, err)) != 0)
				return rc;
			continue;
		}
		/*
		 * Partitions: one truncate of the root's table when the message
		 * holds all of the root's partitions (TRUNCATE of the root).  A
		 * truncate of some of them cannot be passed on: a view holds the
		 * root's rows without telling partitions apart, and a truncate
		 * of the table would take the other partitions' rows too.
		 */
		for (j = 0; j < i; j++)
			if (cap_pg_rel_find(s, m->u.truncate.relids[j])->root == r->root)
				break;
		if (j < i)
			continue;	/* this root was handled */
		for (j = i; j < m->u.truncate.nrels; j++)
			in_msg += cap_pg_rel_find(s, m->u.truncate.relids[j])->root == r->root;
		if ((rc = cap_pg_partition_leaves(s->sql, r->root, &leaves, err)) != 0)
			return rc;
		if (in_msg >= leaves) {
			if ((rc = cap_pg_emit_truncate(s, t, r, lsn, err)) != 0)
				return rc;
			continue;
		}
		sl_warn("TRUNCATE at LSN %s of %ld of the %ld partitions of %s is not passed on: "
		    "an event could only truncate all of %s, rows of the other partitions "
		    "included. Rows of the truncated partitions stay in views of %s until they "
		    "are rebuilt (sluice materialize --rebuild)", cap_lsn_fmt(lsn, lb, sizeof(lb)),
		    in_msg, leaves, r->collection, r->collection, r->collection);
	}
	return 0;
}

static int
cap_on_message(struct cap_pg *s, struct cap_txn *t, const struct cap_pgo_msg *m, uint64_t lsn,
    struct sl_err *err)
{
	struct sch_message msg;
	struct sch_event ev;
	struct sl_buf key = { 0 };
	int rc, own = 0;

	if (strcmp(m->u.message.prefix, CAP_PG_SNAPSHOT_SIGNAL) == 0 &&
	    (rc = cap_pg_adhoc_snapshot(s, m->u.message.content, m->u.message.len,
	    m->u.message.lsn, err)) != 0)
		return rc;
	if (!s->conf.messages_topic)
		return 0;
	if (t == NULL) {
		/* non-transactional: its own record, confirmed at its LSN */
		t = capq_push(s);
		t->commit_lsn = m->u.message.lsn;
		t->end_lsn = m->u.message.lsn;
		t->commit_ts_us = sl_now_ms() * 1000;
		snprintf(t->txid_str, sizeof(t->txid_str), "message:%" PRIu64, m->u.message.lsn);
		own = 1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.prefix = m->u.message.prefix;
	msg.content = sl_slice_make(m->u.message.content, m->u.message.len);
	msg.transactional = m->u.message.flags & 1;
	msg.lsn = m->u.message.lsn;
	memset(&ev, 0, sizeof(ev));
	ev.op = SCH_OP_MESSAGE;
	ev.message = &msg;
	cap_source_fill(s, &ev.source, NULL, own ? NULL : t, m->u.message.lsn);
	ev.ts_ms = sl_now_ms();
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_event_encode_json(&ev, &s->json_opts, &s->val) :
	    sch_event_encode_pb(&ev, &s->val);
	if (rc == 0) {
		(void)sch_string_key_encode_json(msg.prefix, s->conf.json ? &s->json_opts :
		    NULL, &key);
		rc = cap_pg_emit(s, t, s->msg_topic, cap_key_partition(s->msg_topic, &key), &key,
		    s->val.p, s->val.len, 0, err);
	} else {
		rc = sl_errf(err, rc, "encoding a logical message (prefix %s)", msg.prefix);
	}
	sl_buf_free(&key);
	if (own)
		t->closed = 1;
	(void)lsn;
	return rc;
}

/* ------------------------------------------------------- transactions */

static int
cap_txn_begin(struct cap_pg *s, uint32_t xid, uint64_t commit_lsn, int64_t commit_ts,
    struct sl_err *err)
{
	struct cap_txn *t = capq_push(s);
	char lb[32];

	t->xid = xid;
	t->commit_lsn = commit_lsn;
	t->commit_ts_us = commit_ts + PG_EPOCH_OFFSET_US;
	snprintf(t->txid_str, sizeof(t->txid_str), "%" PRIu32 ":%s", xid,
	    cap_lsn_fmt(commit_lsn, lb, sizeof(lb)));
	s->cur = t;
	return cap_emit_txevent(s, t, SCH_TX_BEGIN, err);
}

static int
cap_txn_commit(struct cap_pg *s, uint64_t commit_lsn, uint64_t end_lsn, struct sl_err *err)
{
	struct cap_txn *t = s->cur;
	char a[32], b[32];
	int rc;

	if (t == NULL)
		return SL_CORRUPT(err, "pgoutput Commit at LSN %s without Begin",
		    cap_lsn_fmt(commit_lsn, a, sizeof(a)));
	if (commit_lsn != t->commit_lsn)
		return SL_CORRUPT(err, "pgoutput Commit at LSN %s: Begin announced %s",
		    cap_lsn_fmt(commit_lsn, a, sizeof(a)), cap_lsn_fmt(t->commit_lsn, b, sizeof(b)));
	rc = cap_emit_txevent(s, t, SCH_TX_END, err);
	free(t->counts);
	t->counts = NULL;
	t->n_counts = 0;
	t->end_lsn = end_lsn;
	t->closed = 1;
	s->cur = NULL;
	s->last_commit_lsn = commit_lsn;
	s->txns++;
	return rc;
}

/* Dispatch one decoded message inside a transaction 't'. */
static int
cap_apply(struct cap_pg *s, struct cap_txn *t, const struct cap_pgo_msg *m, uint64_t lsn,
    struct sl_err *err)
{
	char lb[32];

	switch (m->type) {
	case CAP_PGO_RELATION:
		return cap_pg_on_relation(s, m, err);
	case CAP_PGO_TYPE:
	case CAP_PGO_ORIGIN:
		return 0;
	case CAP_PGO_INSERT:
	case CAP_PGO_UPDATE:
	case CAP_PGO_DELETE:
	case CAP_PGO_TRUNCATE:
		if (t == NULL)
			return SL_CORRUPT(err, "pgoutput %s at LSN %s outside a transaction",
			    cap_pgo_type_name(m->type), cap_lsn_fmt(lsn, lb, sizeof(lb)));
		return m->type == CAP_PGO_TRUNCATE ? cap_on_truncate(s, t, m, lsn, err) :
		    cap_on_change(s, t, m, lsn, err);
	case CAP_PGO_MESSAGE:
		return cap_on_message(s, (m->u.message.flags & 1) ? t : NULL, m, lsn, err);
	default:
		return SL_CORRUPT(err, "pgoutput %s at LSN %s is out of place",
		    cap_pgo_type_name(m->type), cap_lsn_fmt(lsn, lb, sizeof(lb)));
	}
}

static struct cap_spool *
stream_find(struct cap_pg *s, uint32_t xid, size_t *idx)
{
	size_t i;

	for (i = 0; i < s->n_spools; i++)
		if (cap_spool_xid(s->spools[i]) == xid) {
			if (idx)
				*idx = i;
			return s->spools[i];
		}
	return NULL;
}

static void
stream_drop(struct cap_pg *s, uint32_t xid)
{
	size_t i;

	if (stream_find(s, xid, &i) == NULL)
		return;
	cap_spool_close(s->spools[i]);
	s->spools[i] = s->spools[--s->n_spools];
}

static int cap_status(struct cap_pg *s, int reply, struct sl_err *err);

/*
 * During a long replay nothing is read from the server: keep telling it we
 * are alive, or wal_sender_timeout ends the connection.
 */
static int
cap_tick(struct cap_pg *s, struct sl_err *err)
{
	cap_producer_poll(s->prod, 0);
	cap_pg_queue_advance(s);
	cap_http_serve(s->http, cap_pg_http_render, s);
	if (s->repl != NULL && sl_mono_ns() - s->last_status_ns > s->conf.status_ms * 1000000)
		return cap_status(s, 0, err);
	return 0;
}

/* Replay a committed streamed transaction from its spool (4). */
static int
stream_commit(struct cap_pg *s, const struct cap_pgo_msg *c, struct sl_err *err)
{
	struct cap_spool *sp = stream_find(s, c->u.commit.xid, NULL);
	struct cap_pgo_decoder d;
	struct sl_buf msg = { 0 };
	uint64_t lsn, n = 0;
	int rc;

	if ((rc = cap_txn_begin(s, c->u.commit.xid, c->u.commit.commit_lsn, c->u.commit.commit_ts,
	    err)) != 0)
		return rc;
	if (sp != NULL) {
		if ((rc = cap_spool_rewind(sp, err)) != 0)
			goto out;
		cap_pgo_decoder_init(&d, 2);
		d.in_stream = 1;
		while ((rc = cap_spool_next(sp, &lsn, &msg, err)) == 1) {
			struct cap_pgo_msg m;

			sl_arena_reset(&s->arena);
			if ((rc = cap_pgo_decode(&d, lsn, msg.p, msg.len, &s->arena, &m, err)) != 0)
				goto out;
			if (m.has_xid && m.type != CAP_PGO_RELATION && m.type != CAP_PGO_TYPE &&
			    cap_spool_is_aborted(sp, m.xid))
				continue;
			if ((rc = cap_apply(s, s->cur, &m, lsn, err)) != 0)
				goto out;
			if ((++n & 1023) == 0 && (rc = cap_tick(s, err)) != 0)
				goto out;
		}
		if (rc < 0)
			goto out;
	}
	rc = cap_txn_commit(s, c->u.commit.commit_lsn, c->u.commit.end_lsn, err);
out:
	sl_buf_free(&msg);
	stream_drop(s, c->u.commit.xid);
	return rc;
}

/*
 * Handle one XLogData payload received at 'lsn'.  Returns 0 or the error
 * that stops capture (naming the LSN).
 */
int
cap_pg_handle(struct cap_pg *s, uint64_t lsn, const uint8_t *p, size_t len, struct sl_err *err)
{
	struct cap_pgo_msg m;
	char lb[32];
	int rc;

	sl_arena_reset(&s->arena);
	if ((rc = cap_pgo_decode(&s->dec, lsn, p, len, &s->arena, &m, err)) != 0)
		return rc;
	if (s->dec.in_stream && m.type != CAP_PGO_STREAM_START) {
		/* inside a streamed block: to the spool, not to Kafka (4) */
		struct cap_spool *sp = stream_find(s, s->dec.stream_xid, NULL);

		if (sp == NULL)
			return SL_CORRUPT(err, "pgoutput stream message at LSN %s without Stream "
			    "Start", cap_lsn_fmt(lsn, lb, sizeof(lb)));
		return cap_spool_append(sp, lsn, p, len, err);
	}
	switch (m.type) {
	case CAP_PGO_BEGIN:
		if (s->cur != NULL)
			return SL_CORRUPT(err, "pgoutput Begin at LSN %s inside a transaction",
			    cap_lsn_fmt(lsn, lb, sizeof(lb)));
		return cap_txn_begin(s, m.u.begin.xid, m.u.begin.final_lsn, m.u.begin.commit_ts, err);
	case CAP_PGO_COMMIT:
		return cap_txn_commit(s, m.u.commit.commit_lsn, m.u.commit.end_lsn, err);
	case CAP_PGO_STREAM_START:
		if (stream_find(s, m.u.stream_start.xid, NULL) == NULL) {
			struct cap_spool *sp;

			if ((rc = cap_spool_open(s->conf.spool_dir, m.u.stream_start.xid, &sp,
			    err)) != 0)
				return rc;
			s->spools = sl_realloc(s->spools, (s->n_spools + 1) * sizeof(*s->spools));
			s->spools[s->n_spools++] = sp;
		}
		return 0;
	case CAP_PGO_STREAM_STOP:
		return 0;
	case CAP_PGO_STREAM_ABORT:
		if (m.u.stream_abort.subxid == m.u.stream_abort.xid) {
			stream_drop(s, m.u.stream_abort.xid);
		} else {
			struct cap_spool *sp = stream_find(s, m.u.stream_abort.xid, NULL);

			if (sp)
				cap_spool_abort_sub(sp, m.u.stream_abort.subxid);
		}
		s->stream_aborts++;
		return 0;
	case CAP_PGO_STREAM_COMMIT:
		return stream_commit(s, &m, err);
	default:
		return cap_apply(s, s->cur, &m, lsn, err);
	}
}

int
cap_pg_handle_batch(struct cap_pg *s, uint64_t lsn, const uint8_t *p, size_t len,
    unsigned *n, struct sl_err *err)
{
	const uint8_t *m;
	size_t off = 0, mlen;
	uint64_t mlsn;
	int rc;

	*n = 0;
	while ((rc = cap_pgs_next(p, len, &off, lsn, &mlsn, &m, &mlen, err)) == 1) {
		/* each message at its own LSN, as pgoutput would have sent it */
		if ((rc = cap_pg_handle(s, mlsn, m, mlen, err)) != 0)
			return rc;
		++*n;
	}
	return rc;
}

/* ---------------------------------------------------------- heartbeats */

int
cap_pg_heartbeat(struct cap_pg *s, struct sl_err *err)
{
	struct sch_heartbeat hb;
	struct sl_buf key = { 0 };
	struct cap_pos pos;
	int rc;

	if (!s->conf.hb_topic)
		return 0;
	memset(&hb, 0, sizeof(hb));
	hb.connector = "postgresql";
	hb.name = s->conf.name;
	hb.ts_ms = sl_now_ms();
	hb.lsn = s->flush_lsn;
	sl_buf_reset(&s->val);
	rc = s->conf.json ? sch_heartbeat_encode_json_opts(&hb, &s->json_opts, &s->val) :
	    sch_heartbeat_encode_pb(&hb, &s->val);
	if (rc != 0)
		return sl_errf(err, rc, "encoding a heartbeat");
	(void)sch_string_key_encode_json(s->conf.name, s->conf.json ? &s->json_opts : NULL,
	    &key);
	pos.lsn = s->flush_lsn;
	pos.seq = 0;
	rc = cap_produce(s->prod, s->hb_topic, cap_key_partition(s->hb_topic, &key), key.p, key.len,
	    s->val.p, s->val.len, &pos, NULL, err);
	if (rc == 0)
		s->produced++;
	sl_buf_free(&key);
	return rc;
}

/* ------------------------------------------------------------ metrics */

int
cap_pg_http_render(void *ctx, const char *path, struct sl_buf *b)
{
	struct cap_pg *s = ctx;
	const char *n = s->conf.name;

	if (strcmp(path, "/health") == 0) {
		sl_buf_printf(b, "%s\n", s->fatal ? s->fatal_msg : "ok");
		return s->fatal ? 503 : 200;
	}
	if (strcmp(path, "/metrics") != 0) {
		sl_buf_printf(b, "not found\n");
		return 404;
	}
	sl_buf_printf(b, "# TYPE sluice_capture_messages_produced_total counter\n"
	    "sluice_capture_messages_produced_total{source=\"%s\"} %" PRIu64 "\n", n,
	    s->produced);
	sl_buf_printf(b, "# TYPE sluice_capture_messages_acked_total counter\n"
	    "sluice_capture_messages_acked_total{source=\"%s\"} %" PRIu64 "\n", n, s->acked);
	sl_buf_printf(b, "# TYPE sluice_capture_messages_skipped_total counter\n"
	    "sluice_capture_messages_skipped_total{source=\"%s\"} %" PRIu64 "\n", n,
	    s->skipped);
	sl_buf_printf(b, "# TYPE sluice_capture_producer_queue_full_waits_total counter\n"
	    "sluice_capture_producer_queue_full_waits_total{source=\"%s\"} %" PRIu64 "\n", n,
	    s->prod ? cap_producer_full_waits(s->prod) : 0);
	sl_buf_printf(b, "# TYPE sluice_capture_xlog_messages_total counter\n"
	    "sluice_capture_xlog_messages_total{source=\"%s\"} %" PRIu64 "\n", n, s->xlog_msgs);
	sl_buf_printf(b, "# TYPE sluice_capture_decoded_messages_total counter\n"
	    "sluice_capture_decoded_messages_total{source=\"%s\"} %" PRIu64 "\n", n,
	    s->decoded_msgs);
	sl_buf_printf(b, "# TYPE sluice_capture_transactions_total counter\n"
	    "sluice_capture_transactions_total{source=\"%s\"} %" PRIu64 "\n", n, s->txns);
	sl_buf_printf(b, "# TYPE sluice_capture_stream_aborts_total counter\n"
	    "sluice_capture_stream_aborts_total{source=\"%s\"} %" PRIu64 "\n", n,
	    s->stream_aborts);
	sl_buf_printf(b, "# TYPE sluice_capture_received_lsn gauge\n"
	    "sluice_capture_received_lsn{source=\"%s\"} %" PRIu64 "\n", n, s->write_lsn);
	sl_buf_printf(b, "# TYPE sluice_capture_flushed_lsn gauge\n"
	    "sluice_capture_flushed_lsn{source=\"%s\"} %" PRIu64 "\n", n, s->flush_lsn);
	sl_buf_printf(b, "# TYPE sluice_capture_unconfirmed_bytes gauge\n"
	    "sluice_capture_unconfirmed_bytes{source=\"%s\"} %" PRIu64 "\n", n,
	    s->write_lsn > s->flush_lsn ? s->write_lsn - s->flush_lsn : 0);
	sl_buf_printf(b, "# TYPE sluice_capture_spooled_transactions gauge\n"
	    "sluice_capture_spooled_transactions{source=\"%s\"} %zu\n", n, s->n_spools);
	sl_buf_printf(b, "# TYPE sluice_capture_snapshot_rows_total counter\n"
	    "sluice_capture_snapshot_rows_total{source=\"%s\"} %" PRIu64 "\n", n,
	    s->snap_rows);
	cap_pg_snapshot_metrics(s, b);
	return 200;
}

/* ---------------------------------------------------------- the loop */

static int
cap_status(struct cap_pg *s, int reply, struct sl_err *err)
{
	s->last_status_ns = sl_mono_ns();
	sl_debug("status: write %" PRIX64 " flush %" PRIX64 " (%" PRIu64 " produced, %" PRIu64
	    " acked, %" PRIu64 " skipped, %" PRIu64 " txns)", s->write_lsn, s->flush_lsn,
	    s->produced, s->acked, s->skipped, s->txns);
	return cap_pg_repl_status(s->repl, s->write_lsn, s->flush_lsn, reply, err);
}

int
cap_pg_status_due(struct cap_pg *s, struct sl_err *err)
{
	if (s->repl == NULL || sl_mono_ns() - s->last_status_ns <= s->conf.status_ms * 1000000)
		return 0;
	return cap_status(s, 0, err);
}

int
cap_pg_stream(struct cap_pg *s, volatile sig_atomic_t *stop, struct sl_err *err)
{
	int64_t next_hb = sl_mono_ns() + s->conf.heartbeat_ms * 1000000;
	uint64_t reported = s->flush_lsn;
	unsigned burst = 0;
	int rc = 0;

	s->stop = stop;
	while (!*stop) {
		struct cap_pg_xlog x;
		int64_t now;

		/* waiting for acknowledgements: come back soon to serve them */
		rc = cap_pg_repl_next(s->repl, s->txq_head ? 10 : 100, &x, err);
		if (rc < 0)
			break;
		if (rc == CAP_PG_XLOG) {
			if (x.start_lsn > s->write_lsn)
				s->write_lsn = x.start_lsn;
			if (s->conf.plugin_sluice) {
				unsigned n = 0;

				rc = cap_pg_handle_batch(s, x.start_lsn, x.data, x.len, &n, err);
				burst += n;
				s->decoded_msgs += n;
			} else {
				rc = cap_pg_handle(s, x.start_lsn, x.data, x.len, err);
				burst++;
				s->decoded_msgs++;
			}
			s->xlog_msgs++;
			if (rc != 0)
				break;
			/*
			 * The upkeep below (delivery reports, /metrics, status,
			 * heartbeat) every CAP_PG_UPKEEP_EVERY messages of a burst
			 * rather than after each: it is a lock, a clock read and a
			 * syscall or two each time.  A full producer queue still
			 * serves reports at once (cap_produce).
			 */
			if (burst < CAP_PG_UPKEEP_EVERY)
				continue;
			burst = 0;
		} else if (rc == CAP_PG_KEEPALIVE) {
			if (x.wal_end > s->write_lsn)
				s->write_lsn = x.wal_end;
			cap_producer_poll(s->prod, 0);
			cap_pg_queue_advance(s);
			/* (2) idle: everything before the server's position is ours */
			if (s->cur == NULL && s->txq_head == NULL && x.wal_end > s->flush_lsn) {
				sl_debug("keepalive: idle, flush %" PRIX64 " -> %" PRIX64,
				    s->flush_lsn, x.wal_end);
				s->flush_lsn = x.wal_end;
			}
			if (x.reply || s->flush_lsn != reported) {
				if ((rc = cap_status(s, 0, err)) != 0)
					break;
				reported = s->flush_lsn;
			}
		}
		rc = 0;
		cap_producer_poll(s->prod, 0);
		cap_http_serve(s->http, cap_pg_http_render, s);
		if (s->fatal) {
			rc = sl_errf(err, s->fatal, "%s", s->fatal_msg);
			break;
		}
		cap_pg_queue_advance(s);
		now = sl_mono_ns();
		if (s->flush_lsn != reported &&
		    now - s->last_status_ns > s->conf.status_ms * 1000000 / 10) {
			if ((rc = cap_status(s, 0, err)) != 0)
				break;
			reported = s->flush_lsn;
		} else if (now - s->last_status_ns > s->conf.status_ms * 1000000) {
			if ((rc = cap_status(s, 0, err)) != 0)
				break;
			reported = s->flush_lsn;
		}
		if (s->conf.heartbeat_ms > 0 && now >= next_hb) {
			if ((rc = cap_pg_heartbeat(s, err)) != 0)
				break;
			next_hb = now + s->conf.heartbeat_ms * 1000000;
		}
	}
	return rc;
}

void
cap_pg_state_free(struct cap_pg *s)
{
	struct cap_txn *t, *n;
	size_t i;

	for (t = s->txq_head; t; t = n) {
		n = t->next;
		free(t->counts);
		free(t);
	}
	s->txq_head = s->txq_tail = NULL;
	s->cur = NULL;
	for (i = 0; i < s->n_spools; i++)
		cap_spool_close(s->spools[i]);
	free(s->spools);
	s->spools = NULL;
	s->n_spools = 0;
	cap_pg_rels_free(s);
	for (i = 0; i < s->n_types; i++)
		free(s->types[i].name);
	free(s->types);
	sl_arena_free(&s->arena);
	sl_buf_free(&s->key);
	sl_buf_free(&s->val);
	cap_outbox_msg_free(&s->ob_msg);
	sl_arena_free(&s->mask_arena);
}

cap_delivery_fn *const cap_pg_delivered = capq_delivered;
