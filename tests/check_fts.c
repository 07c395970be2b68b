/*
 * tests/check_fts.c: search views (materialize/fts_sink.c, search.c):
 * changes applied to the SQLite FTS5 index (insert, update, key change,
 * delete, truncate per partition, unchanged values), the offset kept in
 * the same transaction as the rows, random churn against a model, bad
 * queries, and the sqlite-fts keys of a [view] section.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"
#include "materialize/view.h"

static char *
tmpdir(void)
{
	char *d = sl_strdup("/tmp/check_fts-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* "public.docs" (id int8 key, title text, body text, n int8). */
static struct sch_column docs_cols[] = {
	{ "id", SCH_OID_INT8, "int8", -1, 1, 0 },
	{ "title", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "body", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "n", SCH_OID_INT8, "int8", -1, 0, 1 },
};
static struct sch_table docs = { 11, "app", "public", "docs", docs_cols, 4 };

struct fx {
	char *dir;
	struct mat_view_conf conf;
	char *cols[2];
	struct mat_fts *sink;
	int32_t partition;
	int64_t offsets[4];
};

static void
fx_open(struct fx *f, const char *dir)
{
	memset(f, 0, sizeof(*f));
	f->dir = sl_strdup(dir);
	f->conf.name = "search";
	f->conf.path = f->dir;
	f->conf.fts = 1;
	f->conf.sync = MAT_SYNC_NOMETA;
	f->cols[0] = "title";
	f->cols[1] = "body";
	f->conf.fts_columns = f->cols;
	f->conf.n_fts_columns = 2;
	f->conf.tokenize = "unicode61 remove_diacritics 2";
	ck_assert_int_eq(mat_fts_open(dir, &f->conf, &f->sink, NULL), 0);
}

static void
fx_close(struct fx *f)
{
	mat_fts_close(f->sink);
	free(f->dir);
}

static struct sch_value
txt(const char *s)
{
	return sch_value_text(s, strlen(s));
}

/*
 * Apply one docs change at the next offset of topic "t" in f->partition.
 * 'body' "(unchanged)" is the unchanged marker; 'old_id' >= 0 gives an
 * update a before image under that key.
 */
static int
fx_apply2(struct fx *f, enum sch_op op, int64_t id, const char *title, const char *body,
    int64_t old_id)
{
	struct sch_value img[4], before[4];
	struct sch_event ev;
	struct mat_origin o = { "t", f->partition, f->offsets[f->partition]++ };
	struct sl_err err = { 0 };
	int rc;

	memset(&ev, 0, sizeof(ev));
	img[0] = sch_value_int64(id);
	img[1] = title ? txt(title) : sch_value_null();
	img[2] = body == NULL ? sch_value_null() : strcmp(body, "(unchanged)") == 0 ?
	    sch_value_unchanged() : txt(body);
	img[3] = sch_value_int64(id * 10);
	ev.op = op;
	ev.table = &docs;
	if (op == SCH_OP_DELETE)
		ev.before = img;
	else if (op != SCH_OP_TRUNCATE)
		ev.after = img;
	if (old_id >= 0) {
		memcpy(before, img, sizeof(before));
		before[0] = sch_value_int64(old_id);
		ev.before = before;
	}
	rc = mat_fts_apply(f->sink, &ev, &o, &err);
	if (rc < 0)
		fprintf(stderr, "apply: %s\n", sl_err_msg(&err, rc));
	return rc;
}

static int
fx_apply(struct fx *f, enum sch_op op, int64_t id, const char *title, const char *body)
{
	return fx_apply2(f, op, id, title, body, -1);
}

struct hits {
	size_t n;
	struct sl_buf json;		/* the rows, one per line */
};

static int
hit(const struct mat_row *row, double rank, const char *snippet, void *arg)
{
	struct hits *h = arg;

	(void)rank;
	ck_assert_ptr_nonnull(snippet);
	ck_assert_ptr_nonnull(strchr(snippet, '['));	/* the match is marked */
	ck_assert_str_eq(row->table, "public.docs");
	ck_assert_int_eq(mat_row_json(row, &h->json, NULL), 0);
	sl_buf_add_u8(&h->json, '\n');
	h->n++;
	return 0;
}

/* Search 'dir' for 'q': the number of rows, their JSON lines in '*json'. */
static int
search(const char *dir, const char *q, size_t *n, char **json)
{
	struct mat_search *s = NULL;
	struct hits h = { 0 };
	struct sl_err err = { 0 };
	int rc;

	ck_assert_int_eq(mat_search_open(dir, &s, &err), 0);
	rc = mat_search_query(s, q, NULL, 0, hit, &h, &err);
	mat_search_close(s);
	sl_buf_add_u8(&h.json, 0);
	*n = h.n;
	if (json)
		*json = sl_strdup((const char *)h.json.p);
	sl_buf_free(&h.json);
	return rc;
}

static size_t
count(const char *dir, const char *q)
{
	size_t n;

	ck_assert_int_eq(search(dir, q, &n, NULL), 0);
	return n;
}

START_TEST(inserts_updates_deletes_and_truncates_are_searchable)
{
	char *d = tmpdir(), *j;
	struct fx f;
	size_t n;

	fx_open(&f, d);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "Postgres internals", "WAL and MVCC"), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "Kafka", "logs and partitions"), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "Café", NULL), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(count(d, "postgres"), 1);
	ck_assert_uint_eq(count(d, "cafe"), 1);		/* diacritics folded */
	ck_assert_uint_eq(count(d, "title:wal"), 0);	/* a column filter */
	ck_assert_uint_eq(count(d, "body:wal"), 1);
	ck_assert_uint_eq(count(d, "log*"), 1);
	ck_assert_int_eq(search(d, "mvcc", &n, &j), 0);
	ck_assert_str_eq(j, "{\"id\":1,\"title\":\"Postgres internals\","
	    "\"body\":\"WAL and MVCC\",\"n\":10}\n");
	free(j);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "Postgres", "vacuum"), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_DELETE, 2, NULL, NULL), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(count(d, "mvcc"), 0);
	ck_assert_uint_eq(count(d, "vacuum"), 1);
	ck_assert_uint_eq(count(d, "kafka"), 0);
	/* a truncate removes the rows last written from its own partition */
	f.partition = 1;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 4, "other partition", NULL), 0);
	f.partition = 0;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_TRUNCATE, 0, NULL, NULL), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(count(d, "vacuum OR cafe"), 0);
	ck_assert_uint_eq(count(d, "partition"), 1);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(a_key_change_moves_the_row)
{
	char *d = tmpdir(), *j;
	struct fx f;
	size_t n;

	fx_open(&f, d);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "moving", "house"), 0);
	ck_assert_int_eq(fx_apply2(&f, SCH_OP_UPDATE, 7, "moving", "house", 1), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_int_eq(search(d, "moving", &n, &j), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(j, "\"id\":7,"));
	free(j);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(an_unchanged_value_is_taken_from_the_stored_row)
{
	char *d = tmpdir(), *j;
	struct mat_sink_stats st;
	struct fx f;
	size_t n;

	fx_open(&f, d);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "first", "a long toasted body"), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "second", "(unchanged)"), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_int_eq(search(d, "toasted", &n, &j), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(j, "{\"id\":1,\"title\":\"second\",\"body\":\"a long toasted body\","
	    "\"n\":10}\n");
	free(j);
	ck_assert_uint_eq(count(d, "first"), 0);
	ck_assert_uint_eq(count(d, "second"), 1);
	/* the same within one transaction, with only a non-indexed column changed */
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "second", "(unchanged)"), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "third", "(unchanged)"), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_uint_eq(count(d, "third AND toasted"), 1);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 9, "orphan", "(unchanged)"), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	mat_fts_stats(f.sink, &st);
	ck_assert_uint_eq(st.unresolved, 1);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(the_offset_is_stored_in_the_same_transaction_as_the_rows)
{
	char *d = tmpdir();
	struct mat_origin o = { "t", 0, 0 };
	struct fx f;
	int64_t next;

	fx_open(&f, d);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "one", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "two", NULL), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "three", NULL), 0);
	ck_assert_int_eq(mat_fts_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 3);
	/* the process dies with the transaction open */
	mat_fts_close(f.sink);
	ck_assert_int_eq(mat_fts_open(d, &f.conf, &f.sink, NULL), 0);
	ck_assert_int_eq(mat_fts_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 2);
	ck_assert_uint_eq(count(d, "three"), 0);
	ck_assert_uint_eq(count(d, "one OR two"), 2);
	ck_assert_int_eq(mat_fts_offset_get(f.sink, "other", 0, &next, NULL), 0);
	ck_assert_int_eq(next, -1);
	o.offset = 1;
	ck_assert_int_eq(mat_fts_apply(f.sink, NULL, &o, NULL), 1);	/* replayed: skipped */
	o.offset = 2;
	ck_assert_int_eq(mat_fts_apply(f.sink, NULL, &o, NULL), 0);	/* a tombstone */
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_int_eq(mat_fts_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 3);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(random_churn_matches_a_model)
{
	enum { IDS = 60 };
	char *d = tmpdir();
	int present[IDS], gen[IDS] = { 0 };
	uint64_t seed = 0x5eed;
	struct fx f;
	size_t n, live = 0;
	int i, id;

	memset(present, 0, sizeof(present));
	fx_open(&f, d);
	for (i = 0; i < 3000; i++) {
		char title[32], body[64];
		uint64_t r = sl_xorshift64(&seed);

		id = (int)(r % IDS);
		f.partition = (int32_t)((r >> 8) % 3);
		if ((r >> 16) % 5 == 0) {
			ck_assert_int_eq(fx_apply(&f, SCH_OP_DELETE, id, NULL, NULL), 0);
			present[id] = 0;
		} else {
			gen[id]++;
			snprintf(title, sizeof(title), "g%dx%d", gen[id], id);
			snprintf(body, sizeof(body), "tok%d common", id);
			ck_assert_int_eq(fx_apply(&f, present[id] ? SCH_OP_UPDATE : SCH_OP_CREATE,
			    id, title, present[id] && (r >> 24) % 2 ? "(unchanged)" : body), 0);
			present[id] = 1;
		}
		if (i % 97 == 96)
			ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	}
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	for (id = 0; id < IDS; id++) {
		char q[32], want[64], *j;

		snprintf(q, sizeof(q), "tok%d", id);
		ck_assert_int_eq(search(d, q, &n, &j), 0);
		ck_assert_uint_eq(n, (size_t)present[id]);
		if (present[id]) {
			snprintf(want, sizeof(want), "\"title\":\"g%dx%d\"", gen[id], id);
			ck_assert_msg(strstr(j, want) != NULL, "id %d: %s, want %s", id, j, want);
			live++;
		}
		free(j);
	}
	ck_assert_uint_eq(count(d, "common"), live);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(a_bad_query_is_refused_naming_it)
{
	char *d = tmpdir();
	struct mat_search *s = NULL;
	struct hits h = { 0 };
	struct sl_err err = { 0 };
	struct fx f;

	fx_open(&f, d);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "x", NULL), 0);
	ck_assert_int_eq(mat_fts_commit(f.sink, NULL), 0);
	ck_assert_int_eq(mat_search_open(d, &s, &err), 0);
	ck_assert_int_eq(mat_search_query(s, "\"unterminated", NULL, 0, hit, &h, &err),
	    SL_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "bad query '\"unterminated'"));
	ck_assert_int_eq(mat_search_query(s, "nosuchcolumn:x", NULL, 0, hit, &h, &err),
	    SL_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "nosuchcolumn"));
	/* --table and --limit */
	ck_assert_int_eq(mat_search_query(s, "x", "public.other", 0, hit, &h, &err), 0);
	ck_assert_uint_eq(h.n, 0);
	ck_assert_int_eq(mat_search_query(s, "x", "public.docs", 1, hit, &h, &err), 0);
	ck_assert_uint_eq(h.n, 1);
	mat_search_close(s);
	sl_buf_free(&h.json);
	fx_close(&f);
	sl_rm_rf(d);
	free(d);
}
END_TEST

START_TEST(a_view_built_with_other_columns_is_refused_with_the_fix)
{
	char *d = tmpdir(), *e = tmpdir();
	struct mat_search *s = NULL;
	struct sl_err err = { 0 };
	struct mat_fts *other = NULL;
	struct fx f;

	fx_open(&f, d);
	mat_fts_close(f.sink);
	f.sink = NULL;
	f.conf.n_fts_columns = 1;
	ck_assert_int_eq(mat_fts_open(d, &f.conf, &other, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "columns = title,body"));
	ck_assert_ptr_nonnull(strstr(err.msg, "--rebuild --view search"));
	f.conf.n_fts_columns = 2;
	f.conf.tokenize = "porter";
	ck_assert_int_eq(mat_fts_open(d, &f.conf, &other, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "tokenize"));
	/* a view of another layout version: refused, with the fix */
	{
		char file[256];
		sqlite3 *db;

		snprintf(file, sizeof(file), "%s/%s", d, MAT_FTS_FILE);
		ck_assert_int_eq(sqlite3_open(file, &db), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(db, "UPDATE meta SET value = '1' WHERE key = "
		    "'version'", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		f.conf.tokenize = "unicode61 remove_diacritics 2";
		ck_assert_int_eq(mat_fts_open(d, &f.conf, &other, &err), SL_ECONFIG);
		ck_assert_ptr_nonnull(strstr(err.msg, "version 1"));
		ck_assert_ptr_nonnull(strstr(err.msg, "--rebuild --view search"));
		ck_assert_int_eq(mat_search_open(d, &s, &err), SL_ECORRUPT);	/* readers too */
		ck_assert_ptr_nonnull(strstr(err.msg, "layout version 1"));
	}
	/* a tokenizer SQLite does not know: refused at creation, naming it */
	f.conf.tokenize = "nosuch";
	ck_assert_int_eq(mat_fts_open(e, &f.conf, &other, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "nosuch"));
	/* nothing materialized: not found, and says so */
	sl_rm_rf(e);
	ck_assert_int_eq(mkdir(e, 0755), 0);
	ck_assert_int_eq(mat_search_open(e, &s, &err), SL_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "nothing materialized yet"));
	fx_close(&f);
	sl_rm_rf(d);
	sl_rm_rf(e);
	free(d);
	free(e);
}
END_TEST

static int
conf_try(const char *text, struct mat_view_conf **c, struct sl_err *err)
{
	struct sl_config *cfg;
	int rc;

	ck_assert_int_eq(sl_config_parse("f.ini", text, &cfg, NULL), 0);
	rc = mat_conf_load(cfg, &cfg->sections[0], "h:1", c, err);
	sl_config_free(cfg);
	return rc;
}

START_TEST(sqlite_fts_sections_get_defaults_and_precise_errors)
{
	struct mat_view_conf *c = NULL;
	struct sl_err err = { 0 };

	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = sqlite-fts\ntopics = t\npath = /tmp/s\n"
	    "columns = title, body\n", &c, &err), 0);
	ck_assert_int_eq(c->fts, 1);
	ck_assert_uint_eq(c->n_fts_columns, 2);
	ck_assert_str_eq(c->fts_columns[1], "body");
	ck_assert_str_eq(c->tokenize, "unicode61 remove_diacritics 2");
	ck_assert_int_eq(c->sync, MAT_SYNC_NOMETA);
	mat_conf_free(c);
	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = sqlite-fts\ntopics = t\npath = /tmp/s\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "columns: required"));
	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = sqlite-fts\ntopics = t\npath = /tmp/s\n"
	    "columns = a\nindex.x = a\n", &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "f.ini:6"));
	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = sqlite-fts\ntopics = t\npath = /tmp/s\n"
	    "columns = a\nsync = none\n", &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "sync"));
	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = sqlite-fts\ntopics = t\npath = /tmp/s\n"
	    "columns = a, \"b\n", &c, &err), SL_ECONFIG);
	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = sqlite-fts\ntopics = t\npath = /tmp/s\n"
	    "columns = a, a\n", &c, &err), SL_ECONFIG);
	ck_assert_int_eq(conf_try("[view \"s\"]\ntopics = t\npath = /tmp/s\ncolumns = a\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "sqlite-fts views only"));
	ck_assert_int_eq(conf_try("[view \"s\"]\ntype = memcached\ntopics = t\npath = /tmp/s\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "expected lmdb, sqlite-fts or redis"));
}
END_TEST

Suite *fts_suite(void);

Suite *
fts_suite(void)
{
	Suite *s = suite_create("fts");
	TCase *tc = tcase_create("fts");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, inserts_updates_deletes_and_truncates_are_searchable);
	tcase_add_test(tc, a_key_change_moves_the_row);
	tcase_add_test(tc, an_unchanged_value_is_taken_from_the_stored_row);
	tcase_add_test(tc, the_offset_is_stored_in_the_same_transaction_as_the_rows);
	tcase_add_test(tc, random_churn_matches_a_model);
	tcase_add_test(tc, a_bad_query_is_refused_naming_it);
	tcase_add_test(tc, a_view_built_with_other_columns_is_refused_with_the_fix);
	tcase_add_test(tc, sqlite_fts_sections_get_defaults_and_precise_errors);
	suite_add_tcase(s, tc);
	return s;
}
