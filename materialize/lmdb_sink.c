/*
 * materialize/lmdb_sink.c: apply change events to an LMDB view.
 *
 * One write transaction covers a batch of events: their row changes, the
 * secondary index entries they move, the schemas they introduce, and the
 * next offset of every partition they came from (mat_int.h (1)).  It is
 * not the consumer (consumer.c) and not the read API (view.c).
 *
 * Per event (docs/views.md "Applying a change"):
 *   c, r, u  the row at the after image's key becomes the after image, with
 *            unchanged (TOAST) values taken from the stored row; a before
 *            image with another key removes that row first
 *   d        the row at the before image's key (after's if none) goes
 *   t        every row and index entry of the table goes
 *   m, tombstones, transaction and heartbeat records: only the offset moves
 * Index entries of the old row that the new row does not produce are
 * deleted, the new ones put (mat_int.h (2)).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"

/* A table as the writer knows it within the current transaction. */
struct sink_table {
	char *name;
	MDB_dbi rows;
	MDB_dbi *idx;			/* per conf index */
	uint8_t *idx_open;		/* 1 when idx[i] is opened */
};

/* A schema seen (by id), its columns, and where the indexes find them. */
struct sink_schema {
	struct mat_schema s;
	struct sl_arena arena;		/* the strings of 's' */
	int stored;			/* put into __schemas this transaction or earlier */
	int32_t *idx_cols;		/* [n_indexes][max cols] column numbers, -1 absent */
	int *idx_ok;			/* 1 when the schema has every column of index i */
};

struct mat_lmdb {
	MDB_env *env;
	char *dir;			/* the environment's folder */
	MDB_txn *txn;
	MDB_dbi offsets, schemas;
	const struct mat_view_conf *conf;
	size_t max_key;			/* mdb_env_get_maxkeysize */
	uint32_t max_idx_cols;
	struct sink_table *tables;
	size_t n_tables;
	struct sink_schema **schemas_c;
	size_t n_schemas;
	struct mat_offsets offs;
	struct sl_arena arena;		/* per event */
	struct sl_buf pk, pk2, row, ik, ik2;
	struct mat_sink_stats st;
};

static void offset_key(struct sl_buf *b, const char *topic, int32_t partition);

static int
lmdb_fail(struct sl_err *err, int rc, const char *what)
{
	return sl_errf(err, rc > 0 ? SL_ECORRUPT : rc, "lmdb: %s: %s", what, mdb_strerror(rc));
}

/* ----------------------------------------------------------------- open */

/* Record the declared indexes in "__meta" for readers; an LMDB code. */
static int
meta_store(struct mat_lmdb *s)
{
	struct sl_buf b = { 0 };
	MDB_dbi meta;
	MDB_val k, v;
	size_t i;
	uint32_t j;
	char *key;
	int rc;

	if ((rc = mdb_dbi_open(s->txn, MAT_DB_META, MDB_CREATE, &meta)) != 0)
		return rc;
	for (i = 0; i < s->conf->n_indexes && rc == 0; i++) {
		sl_buf_reset(&b);
		for (j = 0; j < s->conf->indexes[i].n_columns; j++)
			sl_buf_printf(&b, "%s%s", j ? "," : "", s->conf->indexes[i].columns[j]);
		key = sl_asprintf("index:%s", s->conf->indexes[i].name);
		k.mv_data = key;
		k.mv_size = strlen(key);
		v.mv_data = b.p;
		v.mv_size = b.len;
		rc = mdb_put(s->txn, meta, &k, &v, 0);
		free(key);
	}
	sl_buf_free(&b);
	return rc;
}

/*
 * Flush every commit to disk and remove the unsynced marker, if any
 * (unsynced.c).  Returns 0, or an error with the marker left in place.
 */
static int
lmdb_flush(struct mat_lmdb *s, struct sl_err *err)
{
	int rc;

	if (!mat_unsynced_marked(s->dir))
		return 0;
	if ((rc = mdb_env_sync(s->env, 1)) != 0)
		return sl_errf(err, rc > 0 ? -rc : rc, "lmdb: flush %s: %s", s->dir,
		    mdb_strerror(rc));
	return mat_unsynced_clear(s->dir, err);
}

int
mat_lmdb_open(const char *dir, const struct mat_view_conf *conf,
    struct mat_lmdb **out, struct sl_err *err)
{
	struct mat_lmdb *s = sl_calloc(1, sizeof(*s));
	unsigned flags = MDB_NOTLS;	/* read txns not tied to threads */
	char *what;
	size_t i;
	int rc;

	*out = NULL;
	s->conf = conf;
	for (i = 0; i < conf->n_indexes; i++)
		if (conf->indexes[i].n_columns > s->max_idx_cols)
			s->max_idx_cols = conf->indexes[i].n_columns;
	if (conf->sync == MAT_SYNC_NOMETA)
		flags |= MDB_NOMETASYNC;
	else if (conf->sync == MAT_SYNC_NONE)
		flags |= MDB_NOSYNC;
	if ((rc = sl_mkdir_p(dir, 0755)) != 0) {
		sl_errf(err, rc, "view %s: mkdir %s: %s", conf->name, dir, sl_strerror(rc));
		goto fail;
	}
	what = sl_asprintf("view %s", conf->name);
	rc = mat_unsynced_check(dir, what, err);	/* a stale marker stays */
	free(what);
	if (rc != 0)
		goto fail;
	s->dir = sl_strdup(dir);
	/* unsynced.c: durable before the environment's first unflushed write */
	if (conf->sync == MAT_SYNC_NONE && (rc = mat_unsynced_mark(dir, err)) != 0)
		goto fail;
	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, 4096)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, (size_t)conf->map_size)) != 0 ||
	    (rc = mdb_env_open(s->env, dir, flags, 0644)) != 0) {
		lmdb_fail(err, rc, dir);
		goto fail;
	}
	/* Opened with nometa|full after sync = none in this boot: flush, unmark. */
	if (conf->sync != MAT_SYNC_NONE && (rc = lmdb_flush(s, err)) != 0)
		goto fail;
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &s->txn)) != 0 ||
	    (rc = mdb_dbi_open(s->txn, MAT_DB_OFFSETS, MDB_CREATE, &s->offsets)) != 0 ||
	    (rc = mdb_dbi_open(s->txn, MAT_DB_SCHEMAS, MDB_CREATE, &s->schemas)) != 0 ||
	    (rc = meta_store(s)) != 0 ||
	    (rc = mdb_txn_commit(s->txn)) != 0) {
		if (s->txn && rc != 0)
			mdb_txn_abort(s->txn);
		s->txn = NULL;
		lmdb_fail(err, rc, dir);
		goto fail;
	}
	s->txn = NULL;
	*out = s;
	return 0;
fail:
	mat_lmdb_close(s);
	return rc > 0 ? SL_ECORRUPT : rc;
}

static void
tables_forget(struct mat_lmdb *s)
{
	size_t i;

	for (i = 0; i < s->n_tables; i++) {
		free(s->tables[i].name);
		free(s->tables[i].idx);
		free(s->tables[i].idx_open);
	}
	free(s->tables);
	s->tables = NULL;
	s->n_tables = 0;
}

static void
schemas_forget(struct mat_lmdb *s)
{
	size_t i;

	for (i = 0; i < s->n_schemas; i++) {
		sl_arena_free(&s->schemas_c[i]->arena);
		free(s->schemas_c[i]->idx_cols);
		free(s->schemas_c[i]->idx_ok);
		free(s->schemas_c[i]);
	}
	free(s->schemas_c);
	s->schemas_c = NULL;
	s->n_schemas = 0;
}

static void
offsets_forget(struct mat_lmdb *s)
{
	mat_offsets_clear(&s->offs);
}

void
mat_lmdb_close(struct mat_lmdb *s)
{
	if (s == NULL)
		return;
	if (s->txn)
		mdb_txn_abort(s->txn);
	if (s->env) {
		struct sl_err e = { 0 };

		/* a clean close leaves no unflushed commit behind (unsynced.c) */
		if (lmdb_flush(s, &e) != 0)
			sl_warn("%s", e.msg);
		mdb_env_close(s->env);
	}
	free(s->dir);
	tables_forget(s);
	schemas_forget(s);
	offsets_forget(s);
	sl_arena_free(&s->arena);
	sl_buf_free(&s->pk);
	sl_buf_free(&s->pk2);
	sl_buf_free(&s->row);
	sl_buf_free(&s->ik);
	sl_buf_free(&s->ik2);
	free(s);
}

void
mat_lmdb_stats(const struct mat_lmdb *s, struct mat_sink_stats *out)
{
	*out = s->st;
}

/* -------------------------------------------------------------- txns */

int
mat_lmdb_begin(struct mat_lmdb *s, struct sl_err *err)
{
	int rc;

	if (s->txn)
		return 0;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &s->txn)) != 0) {
		s->txn = NULL;
		return lmdb_fail(err, rc, "begin");
	}
	return 0;
}

int
mat_lmdb_in_txn(const struct mat_lmdb *s)
{
	return s->txn != NULL;
}

/*
 * Forget what the aborted transaction made: database handles opened in it
 * (LMDB closes them), schemas marked stored and offsets cached.
 */
static void
caches_drop(struct mat_lmdb *s)
{
	size_t i;

	tables_forget(s);
	offsets_forget(s);
	for (i = 0; i < s->n_schemas; i++)
		s->schemas_c[i]->stored = 0;
}

void
mat_lmdb_abort(struct mat_lmdb *s)
{
	if (s->txn == NULL)
		return;
	mdb_txn_abort(s->txn);
	s->txn = NULL;
	caches_drop(s);
}

int
mat_lmdb_commit(struct mat_lmdb *s, struct sl_err *err)
{
	size_t i;
	int rc;

	if (s->txn == NULL)
		return 0;
	/* the offsets of the batch join its changes (1) */
	for (i = 0; i < s->offs.n; i++) {
		MDB_val k, v;
		uint8_t vb[8];

		if (!s->offs.v[i].dirty)
			continue;
		offset_key(&s->ik, s->offs.v[i].topic, s->offs.v[i].partition);
		sl_put_be64(vb, (uint64_t)s->offs.v[i].next);
		k.mv_data = s->ik.p;
		k.mv_size = s->ik.len;
		v.mv_data = vb;
		v.mv_size = 8;
		if ((rc = mdb_put(s->txn, s->offsets, &k, &v, 0)) != 0) {
			mat_lmdb_abort(s);
			return lmdb_fail(err, rc, "put offset");
		}
		s->offs.v[i].dirty = 0;
	}
	rc = mdb_txn_commit(s->txn);
	s->txn = NULL;
	if (rc != 0) {
		caches_drop(s);
		return lmdb_fail(err, rc, "commit");
	}
	s->st.commits++;
	return 0;
}

/* ------------------------------------------------------------- offsets */

static void
offset_key(struct sl_buf *b, const char *topic, int32_t partition)
{
	sl_buf_reset(b);
	sl_buf_add(b, topic, strlen(topic));
	sl_buf_add_u8(b, 0);
	sl_buf_add_be32(b, (uint32_t)partition);
}

static struct mat_offset *
offset_find(struct mat_lmdb *s, const char *topic, int32_t partition, struct sl_err *err,
    int *rcp)
{
	struct mat_offset *o = mat_offsets_find(&s->offs, topic, partition);
	MDB_val k, v;
	int rc;

	*rcp = 0;
	if (o)
		return o;
	offset_key(&s->ik, topic, partition);
	k.mv_data = s->ik.p;
	k.mv_size = s->ik.len;
	rc = mdb_get(s->txn, s->offsets, &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		*rcp = lmdb_fail(err, rc, "read offsets");
		return NULL;
	}
	if (rc == 0 && v.mv_size != 8) {
		*rcp = SL_CORRUPT(err, "__offsets entry of %s/%" PRId32 " has %zu bytes, not 8",
		    topic, partition, v.mv_size);
		return NULL;
	}
	return mat_offsets_add(&s->offs, topic, partition,
	    rc == 0 ? (int64_t)sl_get_be64(v.mv_data) : -1);
}

int
mat_lmdb_offset_get(struct mat_lmdb *s, const char *topic, int32_t partition,
    int64_t *next, struct sl_err *err)
{
	struct mat_offset *o;
	int rc, own = s->txn == NULL;

	*next = -1;
	if (own) {
		if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->txn)) != 0) {
			s->txn = NULL;
			return lmdb_fail(err, rc, "begin");
		}
	}
	o = offset_find(s, topic, partition, err, &rc);
	if (o)
		*next = o->next;
	if (own) {
		mdb_txn_abort(s->txn);
		s->txn = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------- schemas */

static int
schema_index_map(struct mat_lmdb *s, struct sink_schema *ss)
{
	const struct mat_view_conf *c = s->conf;
	size_t i;
	uint32_t j, k;

	ss->idx_ok = sl_calloc(c->n_indexes + 1, sizeof(int));
	ss->idx_cols = sl_calloc((c->n_indexes + 1) * (s->max_idx_cols + 1), sizeof(int32_t));
	for (i = 0; i < c->n_indexes; i++) {
		ss->idx_ok[i] = 1;
		for (j = 0; j < c->indexes[i].n_columns; j++) {
			int32_t at = -1;

			for (k = 0; k < ss->s.n_columns; k++)
				if (strcmp(ss->s.columns[k].name, c->indexes[i].columns[j]) == 0)
					at = (int32_t)k;
			ss->idx_cols[i * s->max_idx_cols + j] = at;
			if (at < 0)
				ss->idx_ok[i] = 0;
		}
	}
	return 0;
}

static struct sink_schema *
schema_add(struct mat_lmdb *s)
{
	struct sink_schema *ss = sl_calloc(1, sizeof(*ss));

	s->schemas_c = sl_realloc(s->schemas_c, (s->n_schemas + 1) * sizeof(*s->schemas_c));
	s->schemas_c[s->n_schemas++] = ss;
	return ss;
}

static struct sink_schema *
schema_cached(struct mat_lmdb *s, uint64_t id)
{
	size_t i;

	for (i = s->n_schemas; i-- > 0;)
		if (s->schemas_c[i]->s.id == id)
			return s->schemas_c[i];
	return NULL;
}

/* The schema of event table 't', from the cache or made (and stored). */
static int
schema_of_event(struct mat_lmdb *s, const struct sch_table *t, struct sink_schema **out,
    struct sl_err *err)
{
	struct sink_schema *ss = schema_cached(s, t->schema_id);
	MDB_val k, v;
	uint8_t kb[8];
	int rc;

	if (ss == NULL) {
		ss = schema_add(s);
		mat_schema_from_event(t, &ss->arena, &ss->s);
		schema_index_map(s, ss);
	}
	if (!ss->stored) {
		sl_buf_reset(&s->row);
		mat_schema_encode(&ss->s, &s->row);
		sl_put_be64(kb, ss->s.id);
		k.mv_data = kb;
		k.mv_size = 8;
		v.mv_data = s->row.p;
		v.mv_size = s->row.len;
		if ((rc = mdb_put(s->txn, s->schemas, &k, &v, 0)) != 0)	/* (4) */
			return lmdb_fail(err, rc, "put schema");
		ss->stored = 1;
	}
	*out = ss;
	return 0;
}

/* A stored row's schema by id, from the cache or "__schemas". */
static int
schema_by_id(struct mat_lmdb *s, uint64_t id, struct sink_schema **out, struct sl_err *err)
{
	struct sink_schema *ss = schema_cached(s, id);
	MDB_val k, v;
	uint8_t kb[8];
	int rc;

	if (ss) {
		*out = ss;
		return 0;
	}
	sl_put_be64(kb, id);
	k.mv_data = kb;
	k.mv_size = 8;
	if ((rc = mdb_get(s->txn, s->schemas, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? SL_CORRUPT(err, "row of schema %" PRIu64
		    " but no such schema", id) : lmdb_fail(err, rc, "get schema");
	ss = schema_add(s);
	if ((rc = mat_schema_decode(sl_slice_make(v.mv_data, v.mv_size), id, &ss->arena,
	    &ss->s, err)) != 0) {
		s->n_schemas--;
		sl_arena_free(&ss->arena);
		free(ss);
		return rc;
	}
	ss->stored = 1;
	schema_index_map(s, ss);
	*out = ss;
	return 0;
}

/* ------------------------------------------------------------- tables */

static int
table_get(struct mat_lmdb *s, const char *name, struct sink_table **out, struct sl_err *err)
{
	struct sink_table *t;
	char *dbn;
	size_t i;
	int rc;

	for (i = 0; i < s->n_tables; i++)
		if (strcmp(s->tables[i].name, name) == 0) {
			*out = &s->tables[i];
			return 0;
		}
	dbn = sl_asprintf("t:%s", name);
	{
		MDB_dbi d;

		rc = mdb_dbi_open(s->txn, dbn, MDB_CREATE, &d);
		free(dbn);
		if (rc != 0)
			return lmdb_fail(err, rc, "open table");
		s->tables = sl_realloc(s->tables, (s->n_tables + 1) * sizeof(*s->tables));
		t = &s->tables[s->n_tables++];
		memset(t, 0, sizeof(*t));
		t->name = sl_strdup(name);
		t->rows = d;
		t->idx = sl_calloc(s->conf->n_indexes + 1, sizeof(MDB_dbi));
		t->idx_open = sl_calloc(s->conf->n_indexes + 1, 1);
	}
	*out = t;
	return 0;
}

static int
index_dbi(struct mat_lmdb *s, struct sink_table *t, size_t i, MDB_dbi *out,
    struct sl_err *err)
{
	char *dbn;
	int rc;

	if (!t->idx_open[i]) {
		dbn = sl_asprintf("i:%s:%s", t->name, s->conf->indexes[i].name);
		rc = mdb_dbi_open(s->txn, dbn, MDB_CREATE, &t->idx[i]);
		free(dbn);
		if (rc != 0)
			return lmdb_fail(err, rc, "open index");
		t->idx_open[i] = 1;
	}
	*out = t->idx[i];
	return 0;
}

/* ---------------------------------------------------------------- keys */

/* Index key of index 'i' for row 'vals' of schema 'ss': columns + pk. */
static int
ik_encode(struct mat_lmdb *s, const struct sink_schema *ss, size_t i,
    const struct sch_value *vals, uint32_t n_vals, struct sl_slice pk, struct sl_buf *out)
{
	uint32_t j;
	int32_t at;
	int rc;

	sl_buf_reset(out);
	for (j = 0; j < s->conf->indexes[i].n_columns; j++) {
		at = ss->idx_cols[i * s->max_idx_cols + j];
		if (at < 0 || (uint32_t)at >= n_vals)
			return SL_ENOTFOUND;
		if (vals[at].kind == SCH_UNCHANGED) {
			struct sch_value nul = sch_value_null();

			rc = mat_key_encode_value(&nul, out);
		} else
			rc = mat_key_encode_value(&vals[at], out);
		if (rc != 0)
			return rc;
	}
	sl_buf_add(out, pk.p, pk.len);
	return 0;
}

/* ---------------------------------------------------------------- apply */

/* A row as read back: its schema and values (pointing into the map). */
struct old_row {
	int present;
	struct sink_schema *ss;
	struct sch_value *vals;
	uint32_t n;
};

static int
old_row_read(struct mat_lmdb *s, struct sink_table *t, struct sl_slice pk,
    struct old_row *o, struct sl_err *err)
{
	MDB_val k, v;
	uint64_t sid;
	void *copy;
	int rc;

	memset(o, 0, sizeof(*o));
	k.mv_data = (void *)pk.p;
	k.mv_size = pk.len;
	rc = mdb_get(s->txn, t->rows, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return lmdb_fail(err, rc, "get row");
	/*
	 * Copy: later writes in this transaction may spill or reuse the page
	 * under 'v', and the old values are used across them.
	 */
	copy = sl_arena_alloc(&s->arena, v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	if ((rc = mat_row_header(sl_slice_make(copy, v.mv_size), &sid, NULL, NULL, NULL,
	    err)) != 0 || (rc = schema_by_id(s, sid, &o->ss, err)) != 0 ||
	    (rc = mat_row_decode(sl_slice_make(copy, v.mv_size), &s->arena, &o->vals,
	    &o->n, err)) != 0)
		return rc;
	o->present = 1;
	return 0;
}

/*
 * Delete (or, with 'keep' set, only those differing from 'keep') index
 * entries of the stored row 'o' at 'pk'.
 */
static int
index_remove(struct mat_lmdb *s, struct sink_table *t, const struct old_row *o,
    struct sl_slice pk, const struct sink_schema *nss, const struct sch_value *nvals,
    uint32_t nn, struct sl_slice npk, struct sl_err *err)
{
	MDB_dbi d;
	MDB_val k;
	size_t i;
	int rc;

	for (i = 0; i < s->conf->n_indexes; i++) {
		if (!o->ss->idx_ok[i])
			continue;
		if (ik_encode(s, o->ss, i, o->vals, o->n, pk, &s->ik) != 0)
			continue;
		if (nss && nss->idx_ok[i] && ik_encode(s, nss, i, nvals, nn, npk, &s->ik2) == 0 &&
		    s->ik.len == s->ik2.len && memcmp(s->ik.p, s->ik2.p, s->ik.len) == 0)
			continue;	/* unchanged entry stays */
		if (s->ik.len > s->max_key)
			continue;	/* it was never put */
		if ((rc = index_dbi(s, t, i, &d, err)) != 0)
			return rc;
		k.mv_data = s->ik.p;
		k.mv_size = s->ik.len;
		rc = mdb_del(s->txn, d, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return lmdb_fail(err, rc, "delete index entry");
	}
	return 0;
}

static int
index_put(struct mat_lmdb *s, struct sink_table *t, const struct sink_schema *ss,
    const struct sch_value *vals, uint32_t n, struct sl_slice pk, struct sl_err *err)
{
	MDB_dbi d;
	MDB_val k, v;
	size_t i;
	int rc;

	for (i = 0; i < s->conf->n_indexes; i++) {
		if (!ss->idx_ok[i] || ik_encode(s, ss, i, vals, n, pk, &s->ik) != 0)
			continue;
		if (s->ik.len > s->max_key) {
			s->st.oversize++;
			sl_warn("view %s: index %s entry of %zu bytes in %s is past LMDB's "
			    "key limit; not indexed", s->conf->name, s->conf->indexes[i].name,
			    s->ik.len, t->name);
			continue;
		}
		if ((rc = index_dbi(s, t, i, &d, err)) != 0)
			return rc;
		k.mv_data = s->ik.p;
		k.mv_size = s->ik.len;
		v.mv_data = (void *)pk.p;
		v.mv_size = pk.len;
		if ((rc = mdb_put(s->txn, d, &k, &v, 0)) != 0)	/* (2) */
			return lmdb_fail(err, rc, "put index entry");
	}
	return 0;
}

static int
row_delete(struct mat_lmdb *s, struct sink_table *t, struct sl_slice pk, struct sl_err *err)
{
	struct old_row o;
	MDB_val k;
	int rc;

	if ((rc = old_row_read(s, t, pk, &o, err)) != 0 || !o.present)
		return rc;
	if ((rc = index_remove(s, t, &o, pk, NULL, NULL, 0, pk, err)) != 0)
		return rc;
	k.mv_data = (void *)pk.p;
	k.mv_size = pk.len;
	rc = mdb_del(s->txn, t->rows, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return lmdb_fail(err, rc, "delete row");
	return 0;
}

/*
 * A truncate arrives in every partition of the topic (capture writes it
 * to each, so it follows every earlier change of every key).  The copy
 * in partition 'partition' removes the rows last written from that
 * partition: a row written after the truncate in its own partition stays,
 * whatever order the partitions are consumed in.  The keys are collected
 * first (length-prefixed in 'keys') and deleted after the scan, so no
 * cursor walks a tree being changed.
 */
static int
table_truncate(struct mat_lmdb *s, struct sink_table *t, int32_t partition,
    struct sl_err *err)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	struct mat_pos pos;
	struct sl_buf keys = { 0 };
	size_t at;
	uint64_t len;
	int rc, n;

	if ((rc = mdb_cursor_open(s->txn, t->rows, &c)) != 0)
		return lmdb_fail(err, rc, "truncate");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = mat_row_header(sl_slice_make(v.mv_data, v.mv_size), NULL, &pos, NULL,
		    NULL, err)) != 0)
			break;
		if (pos.partition != partition)
			continue;
		sl_buf_add_uvarint(&keys, k.mv_size);
		sl_buf_add(&keys, k.mv_data, k.mv_size);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND) {
		rc = rc > 0 ? lmdb_fail(err, rc, "truncate") : rc;
		goto out;
	}
	rc = 0;
	for (at = 0; at < keys.len && rc == 0; at += (size_t)len) {
		n = sl_uvarint_get(keys.p + at, keys.len - at, &len);
		at += (size_t)n;
		rc = row_delete(s, t, sl_slice_make(keys.p + at, (size_t)len), err);
		sl_arena_reset(&s->arena);
	}
out:
	sl_buf_free(&keys);
	return rc;
}

static int
row_upsert(struct mat_lmdb *s, struct sink_table *t, struct sink_schema *ss,
    const struct sch_event *ev, const struct mat_pos *pos, struct sl_err *err)
{
	const struct sch_table *tab = ev->table;
	struct sch_value *vals = ev->after;
	struct old_row o = { 0 };
	struct sl_slice pk;
	int rc, has_unchanged = 0, need_old = 0;
	uint32_t i, j;
	MDB_val k, v;

	for (i = 0; i < tab->n_columns; i++)
		if (vals[i].kind == SCH_UNCHANGED)
			has_unchanged = 1;
	if ((rc = mat_pk_encode(&ss->s, vals, &s->pk)) != 0)
		return sl_errf(err, SL_EINVAL, "view %s: %s: key not encodable", s->conf->name,
		    t->name);
	pk = sl_buf_slice(&s->pk);
	if (pk.len > s->max_key) {
		s->st.oversize++;
		sl_warn("view %s: %s: primary key of %zu bytes is past LMDB's key limit "
		    "(%zu); change at offset %" PRId64 " skipped", s->conf->name, t->name,
		    pk.len, s->max_key, pos->offset);
		return 0;
	}
	/* a before image under another key: that row moves */
	if (ev->before && mat_pk_encode(&ss->s, ev->before, &s->pk2) == 0 &&
	    (s->pk2.len != pk.len || memcmp(s->pk2.p, pk.p, pk.len) != 0) &&
	    s->pk2.len <= s->max_key) {
		struct sl_buf tmp = s->pk2;

		s->pk2 = (struct sl_buf){ 0 };
		rc = row_delete(s, t, sl_buf_slice(&tmp), err);
		sl_buf_free(&tmp);
		if (rc != 0)
			return rc;
	}
	for (i = 0; i < s->conf->n_indexes; i++)
		need_old |= ss->idx_ok[i];
	if ((need_old || has_unchanged) && (rc = old_row_read(s, t, pk, &o, err)) != 0)
		return rc;
	if (has_unchanged) {
		struct sch_value *copy = sl_arena_alloc(&s->arena,
		    (size_t)tab->n_columns * sizeof(*copy) + 1);

		memcpy(copy, vals, (size_t)tab->n_columns * sizeof(*copy));
		vals = copy;
		for (i = 0; i < tab->n_columns; i++) {
			if (vals[i].kind != SCH_UNCHANGED)
				continue;
			for (j = 0; o.present && j < o.ss->s.n_columns && j < o.n; j++)
				if (strcmp(o.ss->s.columns[j].name, ss->s.columns[i].name) == 0)
					break;
			if (o.present && j < o.ss->s.n_columns && j < o.n)
				vals[i] = o.vals[j];
			else
				s->st.unresolved++;
		}
	}
	sl_buf_reset(&s->row);
	mat_row_encode(ss->s.id, pos, vals, tab->n_columns, &s->row);
	if (o.present && (rc = index_remove(s, t, &o, pk, ss, vals, tab->n_columns, pk,
	    err)) != 0)
		return rc;
	if ((rc = index_put(s, t, ss, vals, tab->n_columns, pk, err)) != 0)
		return rc;
	k.mv_data = (void *)pk.p;
	k.mv_size = pk.len;
	v.mv_data = s->row.p;
	v.mv_size = s->row.len;
	if ((rc = mdb_put(s->txn, t->rows, &k, &v, 0)) != 0)
		return lmdb_fail(err, rc, "put row");
	return 0;
}

/* The schema and table of event 'ev' (stored as needed). */
static int
resolve(struct mat_lmdb *s, const struct sch_event *ev, struct sink_schema **ss,
    struct sink_table **t, struct sl_err *err)
{
	int rc;

	if ((rc = schema_of_event(s, ev->table, ss, err)) != 0)
		return rc;
	return table_get(s, (*ss)->s.table, t, err);
}

static int
rule_put(void *sink, const struct sch_event *ev, const struct mat_pos *pos,
    struct sl_err *err)
{
	struct mat_lmdb *s = sink;
	struct sink_schema *ss;
	struct sink_table *t;
	int rc;

	if ((rc = resolve(s, ev, &ss, &t, err)) != 0)
		return rc;
	return row_upsert(s, t, ss, ev, pos, err);
}

static int
rule_del(void *sink, const struct sch_event *ev, const struct sch_value *img,
    struct sl_err *err)
{
	struct mat_lmdb *s = sink;
	struct sink_schema *ss;
	struct sink_table *t;
	int rc;

	if ((rc = resolve(s, ev, &ss, &t, err)) != 0)
		return rc;
	if (mat_pk_encode(&ss->s, img, &s->pk) != 0)
		return sl_errf(err, SL_EINVAL, "view %s: %s: key not encodable", s->conf->name,
		    t->name);
	if (s->pk.len > s->max_key)
		return 0;	/* never stored */
	return row_delete(s, t, sl_buf_slice(&s->pk), err);
}

static int
rule_truncate(void *sink, const struct sch_event *ev, int32_t partition, struct sl_err *err)
{
	struct mat_lmdb *s = sink;
	struct sink_schema *ss;
	struct sink_table *t;
	int rc;

	if ((rc = resolve(s, ev, &ss, &t, err)) != 0)
		return rc;
	return table_truncate(s, t, partition, err);
}

static const struct mat_sink_rules lmdb_rules = { rule_put, rule_del, rule_truncate };

int
mat_lmdb_apply(struct mat_lmdb *s, const struct sch_event *ev,
    const struct mat_origin *origin, struct sl_err *err)
{
	struct mat_offset *o;
	struct mat_pos pos;
	int rc;

	if ((rc = mat_lmdb_begin(s, err)) != 0)
		return rc;
	o = offset_find(s, origin->topic, origin->partition, err, &rc);
	if (o == NULL)
		goto fail;
	if (origin->offset < o->next) {
		s->st.skipped++;
		return 1;	/* already in the view */
	}
	mat_pos_of(origin, ev, &pos);
	rc = mat_apply_event(&lmdb_rules, s, s->conf->name, ev, &pos, &s->st, err);
	sl_arena_reset(&s->arena);
	if (rc == SL_EINVAL)
		return rc;	/* the caller decides; the txn stays usable */
	if (rc != 0)
		goto fail;
	o->next = origin->offset + 1;	/* written at commit, same txn (1) */
	o->dirty = 1;
	return 0;
fail:
	mat_lmdb_abort(s);
	return rc;
}

/* ------------------------------------------------------------- checker */

/* Check one "i:" database: every entry points at an existing row. */
static int
check_index(struct mat_lmdb *s, const char *name, size_t *entries, struct sl_err *err)
{
	const char *colon = strrchr(name + 2, ':');
	MDB_cursor *c = NULL;
	MDB_dbi d, td;
	MDB_val k, v, rv;
	char *table;
	int rc;

	if (colon == NULL)
		return SL_CORRUPT(err, "%s: bad index name", name);
	table = sl_asprintf("t:%.*s", (int)(colon - name - 2), name + 2);
	rc = mdb_dbi_open(s->txn, table, 0, &td);
	free(table);
	if (rc != 0)
		return SL_CORRUPT(err, "%s: index without its table", name);
	if ((rc = mdb_dbi_open(s->txn, name, 0, &d)) != 0 ||
	    (rc = mdb_cursor_open(s->txn, d, &c)) != 0)
		return lmdb_fail(err, rc, name);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		(*entries)++;
		if (mdb_get(s->txn, td, &v, &rv) != 0) {
			mdb_cursor_close(c);
			return SL_CORRUPT(err, "%s: entry points at no row (2)", name);
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : lmdb_fail(err, rc, name);
}

/* Check one "t:" database: every row has each of its index entries. */
static int
check_table(struct mat_lmdb *s, const char *name, size_t *expected, struct sl_err *err)
{
	MDB_cursor *c = NULL;
	MDB_dbi d, td;
	MDB_val k, v, ek, ev;
	struct sink_schema *ss = NULL;
	struct sch_value *vals = NULL;
	uint32_t n = 0;
	uint64_t sid = 0;
	size_t i;
	char *iname;
	int rc;

	if ((rc = mdb_dbi_open(s->txn, name, 0, &td)) != 0 ||
	    (rc = mdb_cursor_open(s->txn, td, &c)) != 0)
		return lmdb_fail(err, rc, name);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct sl_slice row = sl_slice_make(v.mv_data, v.mv_size);

		if ((rc = mat_row_header(row, &sid, NULL, NULL, NULL, err)) != 0 ||
		    (rc = schema_by_id(s, sid, &ss, err)) != 0 ||
		    (rc = mat_row_decode(row, &s->arena, &vals, &n, err)) != 0)
			break;
		for (i = 0; i < s->conf->n_indexes && rc == 0; i++) {
			if (!ss->idx_ok[i] || ik_encode(s, ss, i, vals, n,
			    sl_slice_make(k.mv_data, k.mv_size), &s->ik) != 0 ||
			    s->ik.len > s->max_key)
				continue;
			(*expected)++;
			iname = sl_asprintf("i:%s:%s", name + 2, s->conf->indexes[i].name);
			rc = mdb_dbi_open(s->txn, iname, 0, &d);
			free(iname);
			ek.mv_data = s->ik.p;
			ek.mv_size = s->ik.len;
			if (rc != 0 || mdb_get(s->txn, d, &ek, &ev) != 0)
				rc = SL_CORRUPT(err, "%s: row without its %s index entry (2)", name,
				    s->conf->indexes[i].name);
		}
		sl_arena_reset(&s->arena);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc > 0 ? lmdb_fail(err, rc, name) : rc;
}

int
mat_lmdb_check_(struct mat_lmdb *s, struct sl_err *err)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	MDB_dbi main_db;
	char **names = NULL;
	size_t i, n_names = 0, entries = 0, expected = 0;
	int rc, own = s->txn == NULL;

	if (own && (rc = mdb_txn_begin(s->env, NULL, 0, &s->txn)) != 0) {
		s->txn = NULL;
		return lmdb_fail(err, rc, "begin");
	}
	if ((rc = mdb_dbi_open(s->txn, NULL, 0, &main_db)) != 0 ||
	    (rc = mdb_cursor_open(s->txn, main_db, &c)) != 0) {
		rc = lmdb_fail(err, rc, "open main db");
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		names = sl_realloc(names, (n_names + 1) * sizeof(*names));
		names[n_names++] = sl_strndup(k.mv_data, k.mv_size);
	}
	mdb_cursor_close(c);
	rc = 0;
	for (i = 0; i < n_names && rc == 0; i++) {
		if (strncmp(names[i], "i:", 2) == 0)
			rc = check_index(s, names[i], &entries, err);
		else if (strncmp(names[i], "t:", 2) == 0)
			rc = check_table(s, names[i], &expected, err);
	}
	if (rc == 0 && entries != expected)
		rc = SL_CORRUPT(err, "%zu index entries but %zu expected (2)", entries, expected);
out:
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	if (own) {
		mdb_txn_abort(s->txn);
		s->txn = NULL;
		caches_drop(s);
	}
	return rc;
}
