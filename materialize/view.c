/*
 * materialize/view.c: the read API of LMDB views (materialize/view.h).
 *
 * Read-only: it opens the environment with MDB_RDONLY, so any number of
 * reader processes run beside the one `sluice materialize` that writes.
 * It is not the writer (lmdb_sink.c); the layouts are in mat_int.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"
#include "materialize/view.h"

struct view_schema {
	struct mat_schema s;
	struct sl_arena arena;
};

struct mat_view {
	char *path;			/* as given (the symlink) */
	char *dir;			/* the directory opened */
	MDB_env *env;
	struct view_schema **schemas;	/* cache by id: ids never change meaning */
	size_t n_schemas;
};

struct mat_view_txn {
	struct mat_view *v;
	MDB_txn *txn;
	MDB_dbi schemas_db, meta_db;
	int has_meta;
};

static int
view_lmdb_fail(struct sl_err *err, int rc, const char *what)
{
	if (rc == MDB_NOTFOUND)
		return sl_errf(err, SL_ENOTFOUND, "%s: not found", what);
	return sl_errf(err, rc > 0 ? SL_ECORRUPT : rc, "lmdb: %s: %s", what, mdb_strerror(rc));
}

static int
view_env_open(const char *path, char **dir_out, MDB_env **env_out, struct sl_err *err)
{
	struct sl_buf d = { 0 };
	char real[PATH_MAX];
	MDB_env *env = NULL;
	int rc, tries;

	*env_out = NULL;
	*dir_out = NULL;
	/* a rebuild may swap and remove the directory between resolve and open */
	for (tries = 0; tries < 5; tries++) {
		if ((rc = mat_path_resolve(path, 0, &d, err)) != 0)
			goto out;
		if (realpath((const char *)d.p, real) == NULL) {
			rc = errno == ENOENT ? SL_ENOTFOUND : -errno;
			sl_errf(err, rc, "view %s: %s", path, strerror(errno));
			continue;
		}
		/* written with sync = none before the system went down (unsynced.c) */
		if ((rc = mat_unsynced_check(real, path, err)) != 0)
			break;
		if ((rc = mdb_env_create(&env)) != 0 ||
		    (rc = mdb_env_set_maxdbs(env, 4096)) != 0)
			break;
		rc = mdb_env_open(env, real, MDB_RDONLY | MDB_NOTLS, 0644);
		if (rc == 0)
			break;
		mdb_env_close(env);
		env = NULL;
		if (rc != ENOENT)
			break;
		rc = sl_errf(err, SL_ENOTFOUND, "no view at %s", path);
		usleep(10000);
	}
	if (rc > 0) {
		rc = rc == ENOENT ? sl_errf(err, SL_ENOTFOUND, "no view at %s", path) :
		    view_lmdb_fail(err, rc, path);
		if (env)
			mdb_env_close(env);
		env = NULL;
	}
	if (rc == 0) {
		*env_out = env;
		*dir_out = sl_strdup(real);
	}
out:
	sl_buf_free(&d);
	return rc;
}

int
mat_view_open(const char *path, struct mat_view **out, struct sl_err *err)
{
	struct mat_view *v = sl_calloc(1, sizeof(*v));
	int rc;

	*out = NULL;
	if ((rc = view_env_open(path, &v->dir, &v->env, err)) != 0) {
		free(v);
		return rc;
	}
	v->path = sl_strdup(path);
	*out = v;
	return 0;
}

static void
schemas_free(struct mat_view *v)
{
	size_t i;

	for (i = 0; i < v->n_schemas; i++) {
		sl_arena_free(&v->schemas[i]->arena);
		free(v->schemas[i]);
	}
	free(v->schemas);
	v->schemas = NULL;
	v->n_schemas = 0;
}

void
mat_view_close(struct mat_view *v)
{
	if (v == NULL)
		return;
	if (v->env)
		mdb_env_close(v->env);
	schemas_free(v);
	free(v->path);
	free(v->dir);
	free(v);
}

int
mat_view_reopen_if_swapped(struct mat_view *v, int *swapped, struct sl_err *err)
{
	struct sl_buf d = { 0 };
	char real[PATH_MAX];
	char *dir;
	MDB_env *env;
	int rc;

	*swapped = 0;
	if ((rc = mat_path_resolve(v->path, 0, &d, err)) != 0)
		goto out;
	if (realpath((const char *)d.p, real) != NULL && strcmp(real, v->dir) == 0)
		goto out;
	if ((rc = view_env_open(v->path, &dir, &env, err)) != 0)
		goto out;
	mdb_env_close(v->env);
	free(v->dir);
	v->env = env;
	v->dir = dir;
	schemas_free(v);
	*swapped = 1;
out:
	sl_buf_free(&d);
	return rc;
}

/* ------------------------------------------------------------------ txns */

int
mat_view_begin(struct mat_view *v, struct mat_view_txn **out, struct sl_err *err)
{
	struct mat_view_txn *t = sl_calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	t->v = v;
	if ((rc = mdb_txn_begin(v->env, NULL, MDB_RDONLY, &t->txn)) != 0) {
		free(t);
		return view_lmdb_fail(err, rc, "begin");
	}
	if ((rc = mdb_dbi_open(t->txn, MAT_DB_SCHEMAS, 0, &t->schemas_db)) != 0) {
		mdb_txn_abort(t->txn);
		free(t);
		return rc == MDB_NOTFOUND ? sl_errf(err, SL_ENOTFOUND, "%s is not a view",
		    v->path) : view_lmdb_fail(err, rc, "open schemas");
	}
	t->has_meta = mdb_dbi_open(t->txn, MAT_DB_META, 0, &t->meta_db) == 0;
	*out = t;
	return 0;
}

void
mat_view_end(struct mat_view_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_commit(t->txn);		/* read-only: keeps opened handles */
	free(t);
}

static int
schema_get(struct mat_view_txn *t, uint64_t id, const struct mat_schema **out,
    struct sl_err *err)
{
	struct mat_view *v = t->v;
	struct view_schema *vs;
	MDB_val k, val;
	uint8_t kb[8];
	size_t i;
	int rc;

	for (i = 0; i < v->n_schemas; i++)
		if (v->schemas[i]->s.id == id) {
			*out = &v->schemas[i]->s;
			return 0;
		}
	sl_put_be64(kb, id);
	k.mv_data = kb;
	k.mv_size = 8;
	if ((rc = mdb_get(t->txn, t->schemas_db, &k, &val)) != 0)
		return rc == MDB_NOTFOUND ? SL_CORRUPT(err, "schema %" PRIu64 " is missing", id) :
		    view_lmdb_fail(err, rc, "get schema");
	vs = sl_calloc(1, sizeof(*vs));
	if ((rc = mat_schema_decode(sl_slice_make(val.mv_data, val.mv_size), id, &vs->arena,
	    &vs->s, err)) != 0) {
		sl_arena_free(&vs->arena);
		free(vs);
		return rc;
	}
	v->schemas = sl_realloc(v->schemas, (v->n_schemas + 1) * sizeof(*v->schemas));
	v->schemas[v->n_schemas++] = vs;
	*out = &vs->s;
	return 0;
}

static int
row_fill(struct mat_view_txn *t, const char *table, const MDB_val *k, const MDB_val *val,
    struct mat_row *r, struct sl_err *err)
{
	struct mat_pos pos;
	int rc;

	memset(r, 0, sizeof(*r));
	r->table = table;
	r->key = sl_slice_make(k->mv_data, k->mv_size);
	r->raw = sl_slice_make(val->mv_data, val->mv_size);
	if ((rc = mat_row_header(r->raw, &r->schema_id, &pos, NULL, NULL, err)) != 0)
		return rc;
	r->partition = pos.partition;
	r->offset = pos.offset;
	r->lsn = pos.lsn;
	return schema_get(t, r->schema_id, &r->schema, err);
}

static int
table_dbi(struct mat_view_txn *t, const char *prefix, const char *table, const char *index,
    MDB_dbi *out, struct sl_err *err)
{
	char *name = index ? sl_asprintf("%s%s:%s", prefix, table, index) :
	    sl_asprintf("%s%s", prefix, table);
	int rc = mdb_dbi_open(t->txn, name, 0, out);

	if (rc == MDB_NOTFOUND)
		rc = index ? sl_errf(err, SL_ENOTFOUND, "table %s has no index %s", table, index) :
		    sl_errf(err, SL_ENOTFOUND, "view has no table %s", table);
	else if (rc != 0)
		rc = view_lmdb_fail(err, rc, name);
	free(name);
	return rc;
}

/* ---------------------------------------------------------------- tables */

int
mat_view_tables(struct mat_view_txn *t, int (*fn)(const char *table, void *ctx),
    void *ctx, struct sl_err *err)
{
	MDB_cursor *c;
	MDB_dbi main_db;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_dbi_open(t->txn, NULL, 0, &main_db)) != 0 ||
	    (rc = mdb_cursor_open(t->txn, main_db, &c)) != 0)
		return view_lmdb_fail(err, rc, "main db");
	k.mv_data = "t:";
	k.mv_size = 2;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char *name;

		if (k.mv_size < 2 || memcmp(k.mv_data, "t:", 2) != 0)
			break;
		name = sl_strndup((const char *)k.mv_data + 2, k.mv_size - 2);
		rc = fn(name, ctx);
		free(name);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND || (rc == 0) ? 0 : rc > 0 ? view_lmdb_fail(err, rc,
	    "tables") : rc;
}

struct pick_ctx {
	struct sl_buf *out;
	size_t n;
};

static int
pick_one(const char *table, void *arg)
{
	struct pick_ctx *p = arg;

	if (p->n++ == 0)
		sl_buf_printf(p->out, "%s", table);
	return 0;
}

int
mat_view_pick_table(struct mat_view_txn *t, const char *table, struct sl_buf *out,
    struct sl_err *err)
{
	struct pick_ctx p = { out, 0 };
	MDB_dbi d;
	int rc;

	sl_buf_reset(out);
	if (table) {
		if ((rc = table_dbi(t, "t:", table, NULL, &d, err)) != 0)
			return rc;
		sl_buf_printf(out, "%s", table);
		return 0;
	}
	if ((rc = mat_view_tables(t, pick_one, &p, err)) != 0)
		return rc;
	if (p.n == 0)
		return sl_errf(err, SL_ENOTFOUND, "the view has no tables yet");
	if (p.n > 1)
		return sl_errf(err, SL_EINVAL, "the view has %zu tables: choose one with --table",
		    p.n);
	return 0;
}

/* ------------------------------------------------------------------ keys */

/*
 * A schema stored for 'table' (ids are hashes: no order to prefer), one
 * with column 'column' when that is not NULL ('*col' then points at it).
 */
static int
schema_of_table(struct mat_view_txn *t, const char *table, const char *column,
    const struct mat_schema **out, const struct mat_column **col, struct sl_err *err)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint32_t j;
	int rc;

	*out = NULL;
	if ((rc = mdb_cursor_open(t->txn, t->schemas_db, &c)) != 0)
		return view_lmdb_fail(err, rc, "cursor");
	for (rc = mdb_cursor_get(c, &k, &v, MDB_LAST); rc == 0 && *out == NULL;
	    rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
		const struct mat_schema *s;

		if (k.mv_size != 8)
			continue;
		if ((rc = schema_get(t, sl_get_be64(k.mv_data), &s, err)) != 0)
			break;
		if (strcmp(s->table, table) != 0)
			continue;
		for (j = 0; column && j < s->n_columns; j++)
			if (strcmp(s->columns[j].name, column) == 0)
				break;
		if (column == NULL || j < s->n_columns) {
			*out = s;
			if (col)
				*col = column ? &s->columns[j] : NULL;
		}
	}
	mdb_cursor_close(c);
	if (*out)
		return 0;
	if (rc == MDB_NOTFOUND)		/* the end of the schemas: none fits */
		rc = 0;
	if (rc < 0)
		return rc;
	return column ? sl_errf(err, SL_ENOTFOUND, "table %s has no column %s", table, column) :
	    sl_errf(err, SL_ENOTFOUND, "no schema for table %s", table);
}

/* The schema describing 'table': its first row's, else any stored for it. */
static int
table_schema(struct mat_view_txn *t, const char *table, const struct mat_schema **out,
    struct sl_err *err)
{
	MDB_cursor *c;
	MDB_dbi d;
	MDB_val k, v;
	uint64_t sid;
	int rc;

	*out = NULL;
	if ((rc = table_dbi(t, "t:", table, NULL, &d, err)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(t->txn, d, &c)) != 0)
		return view_lmdb_fail(err, rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	mdb_cursor_close(c);
	if (rc == 0) {
		if ((rc = mat_row_header(sl_slice_make(v.mv_data, v.mv_size), &sid, NULL, NULL,
		    NULL, err)) != 0)
			return rc;
		return schema_get(t, sid, out, err);
	}
	return schema_of_table(t, table, NULL, out, NULL, err);
}

/*
 * Column 'name' of 'table': from 's' (the first row's schema), else from
 * any schema stored for the table that has it.  A column added by ALTER
 * TABLE is only in the schemas of rows written since, and the first row
 * in key order may be older.
 */
static int
table_column(struct mat_view_txn *t, const char *table, const struct mat_schema *s,
    const char *name, const struct mat_column **out, struct sl_err *err)
{
	const struct mat_schema *o;
	uint32_t j;

	for (j = 0; j < s->n_columns; j++)
		if (strcmp(s->columns[j].name, name) == 0) {
			*out = &s->columns[j];
			return 0;
		}
	return schema_of_table(t, table, name, &o, out, err);
}

/* The columns of index 'index' from "__meta" ("index:<name>" = "a,b"). */
static int
index_columns(struct mat_view_txn *t, const char *index, struct sl_buf *cols,
    struct sl_err *err)
{
	MDB_val k, v;
	char *key;
	int rc;

	if (!t->has_meta)
		return sl_errf(err, SL_ENOTFOUND, "the view declares no index %s", index);
	key = sl_asprintf("index:%s", index);
	k.mv_data = key;
	k.mv_size = strlen(key);
	rc = mdb_get(t->txn, t->meta_db, &k, &v);
	free(key);
	if (rc != 0)
		return sl_errf(err, SL_ENOTFOUND, "the view declares no index %s", index);
	sl_buf_reset(cols);
	sl_buf_add(cols, v.mv_data, v.mv_size);
	sl_buf_add_u8(cols, 0);
	return 0;
}

int
mat_view_key_from_text(struct mat_view_txn *t, const char *table, const char *index,
    const char *const *args, size_t n, struct sl_buf *out, struct sl_err *err)
{
	const struct mat_schema *s;
	struct sl_buf cols = { 0 };
	struct sl_arena a = { 0 };
	struct sch_value val;
	size_t i = 0;
	uint32_t j;
	int rc;

	if ((rc = table_schema(t, table, &s, err)) != 0)
		return rc;
	if (index) {
		char *p, *save = NULL;

		if ((rc = index_columns(t, index, &cols, err)) != 0)
			goto out;
		for (p = strtok_r((char *)cols.p, ",", &save); p && i < n;
		    p = strtok_r(NULL, ",", &save), i++) {
			const struct mat_column *col;

			if ((rc = table_column(t, table, s, p, &col, err)) != 0)
				goto out;
			if ((rc = mat_key_parse_text(col, args[i], &a, &val, err)) != 0 ||
			    (rc = mat_key_encode_value(&val, out)) != 0)
				goto out;
		}
	} else {
		uint32_t n_keys = 0;

		for (j = 0; j < s->n_columns; j++)
			n_keys += s->columns[j].is_key;
		for (j = 0; j < s->n_columns && i < n; j++) {
			if (n_keys > 0 && !s->columns[j].is_key)
				continue;
			if ((rc = mat_key_parse_text(&s->columns[j], args[i], &a, &val, err)) != 0 ||
			    (rc = mat_key_encode_value(&val, out)) != 0)
				goto out;
			i++;
		}
	}
	if (i < n)
		rc = sl_errf(err, SL_EINVAL, "%zu values given but %s has only %zu %s columns",
		    n, index ? index : table, i, index ? "index" : "key");
out:
	sl_buf_free(&cols);
	sl_arena_free(&a);
	return rc;
}

/* ------------------------------------------------------------------ reads */

int
mat_view_get(struct mat_view_txn *t, const char *table, struct sl_slice key,
    struct mat_row *out, struct sl_err *err)
{
	MDB_dbi d;
	MDB_val k, v;
	int rc;

	if ((rc = table_dbi(t, "t:", table, NULL, &d, err)) != 0)
		return rc;
	k.mv_data = (void *)key.p;
	k.mv_size = key.len;
	if (key.len == 0 || key.len > (size_t)mdb_env_get_maxkeysize(t->v->env))
		return sl_errf(err, SL_ENOTFOUND, "no row with that key");
	if ((rc = mdb_get(t->txn, d, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? sl_errf(err, SL_ENOTFOUND, "no row with that key") :
		    view_lmdb_fail(err, rc, "get");
	/* the table name must outlive the call: the caller's string is kept */
	return row_fill(t, table, &k, &v, out, err);
}

/* Iterate 'd' from 'prefix'; rows are the values ('via_index': keys of td). */
static int
scan_db(struct mat_view_txn *t, const char *table, MDB_dbi d, MDB_dbi td, int via_index,
    struct sl_slice prefix, size_t limit, mat_row_fn *fn, void *ctx, struct sl_err *err)
{
	MDB_cursor *c;
	MDB_val k, v, rv;
	struct mat_row r;
	size_t n = 0;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, d, &c)) != 0)
		return view_lmdb_fail(err, rc, "cursor");
	k.mv_data = (void *)prefix.p;
	k.mv_size = prefix.len;
	rc = prefix.len ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) :
	    mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0 && (limit == 0 || n < limit); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (prefix.len > 0 && (k.mv_size < prefix.len ||
		    memcmp(k.mv_data, prefix.p, prefix.len) != 0))
			break;
		if (via_index) {
			if (mdb_get(t->txn, td, &v, &rv) != 0) {
				rc = SL_CORRUPT(err, "index entry of %s points at no row", table);
				break;
			}
			if ((rc = row_fill(t, table, &v, &rv, &r, err)) != 0)
				break;
		} else if ((rc = row_fill(t, table, &k, &v, &r, err)) != 0)
			break;
		n++;
		if ((rc = fn(&r, ctx)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND || rc == 0)
		return 0;
	return rc > 0 ? view_lmdb_fail(err, rc, "scan") : rc;
}

int
mat_view_scan(struct mat_view_txn *t, const char *table, struct sl_slice prefix,
    size_t limit, mat_row_fn *fn, void *ctx, struct sl_err *err)
{
	MDB_dbi d;
	int rc;

	if ((rc = table_dbi(t, "t:", table, NULL, &d, err)) != 0)
		return rc;
	return scan_db(t, table, d, d, 0, prefix, limit, fn, ctx, err);
}

int
mat_view_lookup(struct mat_view_txn *t, const char *table, const char *index,
    struct sl_slice prefix, size_t limit, mat_row_fn *fn, void *ctx,
    struct sl_err *err)
{
	MDB_dbi d, td;
	int rc;

	if ((rc = table_dbi(t, "t:", table, NULL, &td, err)) != 0)
		return rc;
	if ((rc = table_dbi(t, "i:", table, index, &d, err)) != 0) {
		/* a declared index that has no entry yet is empty, not absent */
		struct sl_buf cols = { 0 };

		if (rc == SL_ENOTFOUND && index_columns(t, index, &cols, NULL) == 0)
			rc = 0;
		sl_buf_free(&cols);
		return rc;
	}
	return scan_db(t, table, d, td, 1, prefix, limit, fn, ctx, err);
}

/* ------------------------------------------------------------------ rows */

int
mat_row_values(const struct mat_row *row, struct sl_arena *a,
    struct sch_value **values, uint32_t *n, struct sl_err *err)
{
	return mat_row_decode(row->raw, a, values, n, err);
}

const char *
mat_row_column(const struct mat_row *row, uint32_t i)
{
	return row->schema && i < row->schema->n_columns ? row->schema->columns[i].name : NULL;
}

int
mat_row_json(const struct mat_row *row, struct sl_buf *out, struct sl_err *err)
{
	struct sl_arena a = { 0 };
	struct sch_value *vals;
	uint32_t i, n;
	int rc;

	if ((rc = mat_row_decode(row->raw, &a, &vals, &n, err)) != 0)
		goto out;
	sl_buf_add_u8(out, '{');
	for (i = 0; i < n && i < row->schema->n_columns; i++) {
		const struct mat_column *c = &row->schema->columns[i];

		if (i)
			sl_buf_add_u8(out, ',');
		mat_json_string(out, c->name, strlen(c->name));
		sl_buf_add_u8(out, ':');
		mat_value_json(&vals[i], c, out);
	}
	sl_buf_add_u8(out, '}');
out:
	sl_arena_free(&a);
	return rc;
}

/*
 * "__offsets" (mat_int.h): key = topic bytes, 0x00, be32 partition;
 * value = be64 next offset.
 */
int
mat_view_offsets(struct mat_view_txn *t,
    int (*fn)(const char *topic, int32_t partition, int64_t next, void *ctx), void *ctx,
    struct sl_err *err)
{
	MDB_dbi dbi;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char topic[256];
	int rc, op = MDB_FIRST;

	rc = mdb_dbi_open(t->txn, MAT_DB_OFFSETS, 0, &dbi);
	if (rc == MDB_NOTFOUND)
		return 0;		/* nothing applied yet */
	if (rc != 0)
		return view_lmdb_fail(err, rc, "open " MAT_DB_OFFSETS);
	if ((rc = mdb_cursor_open(t->txn, dbi, &cur)) != 0)
		return view_lmdb_fail(err, rc, "cursor on " MAT_DB_OFFSETS);
	while ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) == 0) {
		const uint8_t *kp = k.mv_data;
		size_t tl = k.mv_size > 5 ? k.mv_size - 5 : 0;

		op = MDB_NEXT;
		if (k.mv_size < 6 || tl >= sizeof(topic) || kp[tl] != 0 ||
		    memchr(kp, 0, tl) != NULL || v.mv_size != 8) {
			rc = SL_CORRUPT(err, "view: " MAT_DB_OFFSETS " entry of %zu+%zu bytes",
			    k.mv_size, v.mv_size);
			goto out;
		}
		memcpy(topic, kp, tl);
		topic[tl] = '\0';
		if ((rc = fn(topic, (int32_t)sl_get_be32(kp + tl + 1),
		    (int64_t)sl_get_be64(v.mv_data), ctx)) != 0)
			goto out;
	}
	rc = rc == MDB_NOTFOUND ? 0 : view_lmdb_fail(err, rc, "read " MAT_DB_OFFSETS);
out:
	mdb_cursor_close(cur);
	return rc;
}
