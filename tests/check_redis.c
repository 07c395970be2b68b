/*
 * tests/check_redis.c: cache views (materialize/redis_sink.c) against a
 * real redis-server started for the suite on a Unix socket in a temp
 * folder (stopped by PID): rows as hashes, unchanged values keeping their
 * field, NULL columns without one, deletes, key changes, a truncate per
 * partition, the offsets in the same MULTI/EXEC as the rows, a rebuild
 * swapped in atomically and noticed by the live sink, another writer's key
 * under the prefix reported, and the redis keys of a [view] section.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"

static char *srv_dir;
static char srv_sock[512];
static pid_t srv_pid;

static void
redis_up(void)
{
	char path[600];
	int i;

	srv_dir = sl_strdup("/tmp/check_redis-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(srv_dir));
	snprintf(srv_sock, sizeof(srv_sock), "%s/redis.sock", srv_dir);
	srv_pid = fork();
	ck_assert_int_ge(srv_pid, 0);
	if (srv_pid == 0) {
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", srv_sock,
		    "--save", "", "--appendonly", "no", "--dir", srv_dir, "--logfile",
		    "redis.log", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {	/* up to 5 s */
		redisContext *c = redisConnectUnix(srv_sock);

		if (c && !c->err) {
			redisFree(c);
			return;
		}
		if (c)
			redisFree(c);
		usleep(10000);
	}
	snprintf(path, sizeof(path), "redis-server did not start (see %s/redis.log)", srv_dir);
	ck_abort_msg("%s", path);
}

static void
redis_down(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		waitpid(srv_pid, NULL, 0);
	}
	srv_pid = 0;
	sl_rm_rf(srv_dir);
	free(srv_dir);
}

static redisContext *
cli(void)
{
	redisContext *c = redisConnectUnix(srv_sock);

	ck_assert(c && !c->err);
	return c;
}

static void
flushall(void)
{
	redisContext *c = cli();

	freeReplyObject(redisCommand(c, "FLUSHALL"));
	redisFree(c);
}

/* HGET key field as a new string, or NULL. */
static char *
hget(const char *key, const char *field)
{
	redisContext *c = cli();
	redisReply *r = redisCommand(c, "HGET %s %s", key, field);
	char *v;

	ck_assert_ptr_nonnull(r);
	v = r->type == REDIS_REPLY_STRING ? sl_strdup(r->str) : NULL;
	freeReplyObject(r);
	redisFree(c);
	return v;
}

static long long
count_keys(const char *pattern)
{
	redisContext *c = cli();
	redisReply *r = redisCommand(c, "KEYS %s", pattern);
	long long n;

	ck_assert_ptr_nonnull(r);
	n = (long long)r->elements;
	freeReplyObject(r);
	redisFree(c);
	return n;
}

static void
hget_is(const char *key, const char *field, const char *want)
{
	char *v = hget(key, field);

	if (want == NULL)
		ck_assert_msg(v == NULL, "%s %s: '%s', want no field", key, field, v);
	else {
		ck_assert_msg(v != NULL, "%s %s: no field, want '%s'", key, field, want);
		ck_assert_str_eq(v, want);
	}
	free(v);
}

/* "public.users" (id int8 key, name text, email text, bio text, score float8). */
static struct sch_column users_cols[] = {
	{ "id", SCH_OID_INT8, "int8", -1, 1, 0 },
	{ "name", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "email", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "bio", SCH_OID_TEXT, "text", -1, 0, 1 },
	{ "score", SCH_OID_FLOAT8, "float8", -1, 0, 1 },
};
static struct sch_table users = { 21, "app", "public", "users", users_cols, 5 };

struct fx {
	struct mat_view_conf conf;
	struct mat_redis *sink;
	int32_t partition;
	int64_t offsets[4];
};

static void
fx_conf(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->conf.name = "cache";
	f->conf.redis = 1;
	f->conf.redis_addr = sl_asprintf("unix:%s", srv_sock);
	f->conf.key_prefix = "c:";
	f->conf.rebuild_db = -1;
}

static void
fx_open(struct fx *f)
{
	fx_conf(f);
	ck_assert_int_eq(mat_redis_open(&f->conf, 0, &f->sink, NULL), 0);
}

static void
fx_close(struct fx *f)
{
	mat_redis_close(f->sink);
	free(f->conf.redis_addr);
}

static struct sch_value
txt(const char *s)
{
	return s == NULL ? sch_value_null() : strcmp(s, "(unchanged)") == 0 ?
	    sch_value_unchanged() : sch_value_text(s, strlen(s));
}

static int
fx_apply2(struct fx *f, struct mat_redis *sink, enum sch_op op, int64_t id, const char *name,
    const char *email, const char *bio, int64_t old_id)
{
	struct sch_value img[5], before[5];
	struct sch_event ev;
	struct mat_origin o = { "t", f->partition, f->offsets[f->partition]++ };
	struct sl_err err = { 0 };
	int rc;

	memset(&ev, 0, sizeof(ev));
	img[0] = sch_value_int64(id);
	img[1] = txt(name);
	img[2] = txt(email);
	img[3] = txt(bio);
	memset(&img[4], 0, sizeof(img[4]));
	img[4].kind = SCH_DOUBLE;
	img[4].u.f64 = 1.5;
	ev.op = op;
	ev.table = &users;
	if (op == SCH_OP_DELETE)
		ev.before = img;
	else if (op != SCH_OP_TRUNCATE)
		ev.after = img;
	if (old_id >= 0) {
		memcpy(before, img, sizeof(before));
		before[0] = sch_value_int64(old_id);
		ev.before = before;
	}
	rc = mat_redis_apply(sink, &ev, &o, &err);
	if (rc < 0)
		fprintf(stderr, "apply: %s\n", sl_err_msg(&err, rc));
	return rc;
}

static int
fx_apply(struct fx *f, enum sch_op op, int64_t id, const char *name, const char *email,
    const char *bio)
{
	return fx_apply2(f, f->sink, op, id, name, email, bio, -1);
}

START_TEST(rows_are_hashes_of_their_non_null_columns)
{
	struct fx f;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "bob", NULL, "hi"), 0);
	/* nothing is visible before the commit */
	ck_assert_int_eq(count_keys("c:public.users:*"), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	hget_is("c:public.users:1", "id", "1");
	hget_is("c:public.users:1", "name", "ann");
	hget_is("c:public.users:1", "email", "a@x");
	hget_is("c:public.users:1", "bio", NULL);
	hget_is("c:public.users:1", "score", "1.5");
	hget_is("c:public.users:1", "__pos", "0:0");
	hget_is("c:public.users:2", "email", NULL);
	hget_is("c:public.users:2", "__pos", "0:1");
	hget_is("c:__offsets", "t:0", "2");
	fx_close(&f);
}
END_TEST

START_TEST(a_batch_larger_than_the_send_buffer_is_sent_as_it_grows)
{
	struct fx f;
	char *big = sl_calloc(1, 200001), key[64];
	int i;

	memset(big, 'b', 200000);
	flushall();
	fx_open(&f);
	for (i = 0; i < 30; i++)	/* 6 MB: several flushes before EXEC */
		ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, i, "big", NULL, big), 0);
	ck_assert_int_eq(count_keys("c:public.users:*"), 0);	/* queued in MULTI */
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	ck_assert_int_eq(count_keys("c:public.users:*"), 30);
	for (i = 0; i < 30; i += 7) {
		char *v;

		snprintf(key, sizeof(key), "c:public.users:%d", i);
		v = hget(key, "bio");
		ck_assert_uint_eq(strlen(v), 200000);
		free(v);
	}
	hget_is("c:__offsets", "t:0", "30");
	/* and an abort of such a batch applies nothing */
	for (i = 30; i < 45; i++)
		ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, i, "big", NULL, big), 0);
	mat_redis_abort(f.sink);
	ck_assert_int_eq(count_keys("c:public.users:*"), 30);
	hget_is("c:__offsets", "t:0", "30");
	free(big);
	fx_close(&f);
}
END_TEST

START_TEST(an_unchanged_value_keeps_its_field_and_a_null_loses_it)
{
	struct fx f;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "ann", "a@x", "a long toasted bio"), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "ann2", NULL, "(unchanged)"), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	hget_is("c:public.users:1", "name", "ann2");
	hget_is("c:public.users:1", "bio", "a long toasted bio");
	hget_is("c:public.users:1", "email", NULL);
	/* a whole new image replaces every field */
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 1, "ann3", "n@x", NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	hget_is("c:public.users:1", "bio", NULL);
	hget_is("c:public.users:1", "email", "n@x");
	fx_close(&f);
}
END_TEST

START_TEST(a_json_view_stores_debezium_values_as_text)
{
	static const char key[] = "{\"id\":5}";
	static const char ins[] = "{\"before\":null,\"after\":{\"id\":5,\"name\":\"qu\\\"ote\","
	    "\"bio\":\"long\",\"score\":1.5,\"ok\":true,\"tags\":[1,\"a\"]},"
	    "\"source\":{\"connector\":\"postgresql\",\"db\":\"app\",\"schema\":\"public\","
	    "\"table\":\"t\",\"lsn\":1234},\"op\":\"c\",\"ts_ms\":1}";
	static const char upd[] = "{\"before\":null,\"after\":{\"id\":5,\"name\":\"n2\","
	    "\"bio\":\"__debezium_unavailable_value\",\"score\":null,\"ok\":false,"
	    "\"tags\":[]},\"source\":{\"connector\":\"postgresql\",\"db\":\"app\","
	    "\"schema\":\"public\",\"table\":\"t\",\"lsn\":1240},\"op\":\"u\",\"ts_ms\":2}";
	struct mat_origin o = { "t", 0, 0 };
	struct sl_arena a = { 0 };
	struct sch_event ev;
	struct fx f;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(mat_json_event_decode(sl_slice_make(key, strlen(key)),
	    sl_slice_make(ins, strlen(ins)), &a, &ev, NULL), 0);
	ck_assert_int_eq(mat_redis_apply(f.sink, &ev, &o, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	hget_is("c:public.t:5", "name", "qu\"ote");	/* unescaped, no quotes */
	hget_is("c:public.t:5", "score", "1.5");
	hget_is("c:public.t:5", "ok", "true");
	hget_is("c:public.t:5", "tags", "[1,\"a\"]");
	o.offset = 1;
	ck_assert_int_eq(mat_json_event_decode(sl_slice_make(key, strlen(key)),
	    sl_slice_make(upd, strlen(upd)), &a, &ev, NULL), 0);
	ck_assert_int_eq(mat_redis_apply(f.sink, &ev, &o, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	hget_is("c:public.t:5", "name", "n2");
	hget_is("c:public.t:5", "bio", "long");	/* Debezium's placeholder: unchanged */
	hget_is("c:public.t:5", "score", NULL);
	hget_is("c:public.t:5", "ok", "false");
	sl_arena_free(&a);
	fx_close(&f);
}
END_TEST

START_TEST(deletes_key_changes_and_truncates_remove_rows)
{
	struct fx f;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "a", NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "b", NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_DELETE, 2, NULL, NULL, NULL), 0);
	ck_assert_int_eq(fx_apply2(&f, f.sink, SCH_OP_UPDATE, 7, "a moved", NULL, NULL, 1), 0);
	f.partition = 1;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "p1", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	ck_assert_int_eq(count_keys("c:public.users:*"), 2);
	hget_is("c:public.users:7", "name", "a moved");
	hget_is("c:public.users:1", "name", NULL);
	/* partition 0's truncate leaves partition 1's row; a later row stays */
	f.partition = 0;
	ck_assert_int_eq(fx_apply(&f, SCH_OP_TRUNCATE, 0, NULL, NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 9, "after", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	ck_assert_int_eq(count_keys("c:public.users:*"), 2);
	hget_is("c:public.users:3", "name", "p1");
	hget_is("c:public.users:9", "name", "after");
	hget_is("c:public.users:7", "name", NULL);
	fx_close(&f);
}
END_TEST

START_TEST(the_offsets_are_written_in_the_same_exec_as_the_rows)
{
	struct mat_origin o = { "t", 0, 0 };
	struct fx f;
	int64_t next;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "one", NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "two", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "three", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 3);
	/* the process dies with the batch queued: nothing of it applies */
	mat_redis_close(f.sink);
	ck_assert_int_eq(mat_redis_open(&f.conf, 0, &f.sink, NULL), 0);
	ck_assert_int_eq(mat_redis_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 2);
	hget_is("c:public.users:3", "name", NULL);
	ck_assert_int_eq(mat_redis_offset_get(f.sink, "other", 0, &next, NULL), 0);
	ck_assert_int_eq(next, -1);
	o.offset = 1;
	ck_assert_int_eq(mat_redis_apply(f.sink, NULL, &o, NULL), 1);	/* replayed */
	o.offset = 2;
	ck_assert_int_eq(mat_redis_apply(f.sink, NULL, &o, NULL), 0);	/* a tombstone */
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	hget_is("c:__offsets", "t:0", "3");
	fx_close(&f);
}
END_TEST

START_TEST(a_rebuild_is_swapped_in_whole_and_the_live_sink_notices)
{
	struct mat_redis *rb = NULL;
	struct sl_err err = { 0 };
	struct fx f;
	int swapped = 0;
	int64_t next;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "live one", NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "live two", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	/* the rebuild: its own keys, the live ones untouched meanwhile */
	ck_assert_int_eq(mat_redis_open(&f.conf, 1, &rb, NULL), 0);
	{
		struct mat_redis *second = NULL;

		/* one rebuild at a time */
		ck_assert_int_eq(mat_redis_open(&f.conf, 1, &second, &err), SL_ESTATE);
		ck_assert_ptr_nonnull(strstr(err.msg, "another rebuild of this view"));
	}
	f.offsets[0] = 0;
	ck_assert_int_eq(fx_apply2(&f, rb, SCH_OP_CREATE, 1, "rebuilt one", NULL, NULL, -1), 0);
	ck_assert_int_eq(fx_apply2(&f, rb, SCH_OP_CREATE, 3, "rebuilt three", NULL, NULL, -1), 0);
	ck_assert_int_eq(mat_redis_commit(rb, NULL), 0);
	hget_is("c:public.users:1", "name", "live one");
	hget_is("c:__rebuild:public.users:3", "name", "rebuilt three");
	ck_assert_int_eq(mat_redis_swap_in(rb, &err), 0);
	mat_redis_close(rb);
	hget_is("c:public.users:1", "name", "rebuilt one");
	hget_is("c:public.users:3", "name", "rebuilt three");
	hget_is("c:public.users:2", "name", NULL);
	ck_assert_int_eq(count_keys("c:__rebuild:*"), 0);
	hget_is("c:__offsets", "t:0", "2");
	/* the live sink: told by Redis, and its next batch refused whole */
	ck_assert_int_eq(mat_redis_swapped(f.sink, &swapped, NULL), 0);
	ck_assert_int_eq(swapped, 1);
	mat_redis_close(f.sink);
	ck_assert_int_eq(mat_redis_open(&f.conf, 0, &f.sink, NULL), 0);
	ck_assert_int_eq(mat_redis_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 2);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 5, "queued", NULL, NULL), 0);
	/* a second swap lands while this batch is queued */
	ck_assert_int_eq(mat_redis_open(&f.conf, 1, &rb, NULL), 0);
	ck_assert_int_eq(mat_redis_swap_in(rb, &err), 0);
	mat_redis_close(rb);
	ck_assert_int_eq(mat_redis_commit(f.sink, &err), SL_ESTATE);
	ck_assert_int_eq(mat_redis_is_swapped(f.sink), 1);
	hget_is("c:public.users:5", "name", NULL);
	fx_close(&f);
}
END_TEST

START_TEST(with_a_rebuild_db_the_swap_is_a_swapdb)
{
	struct mat_redis *rb = NULL;
	struct sl_err err = { 0 };
	redisContext *c;
	redisReply *r;
	struct fx f;
	int64_t next;

	flushall();
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 1, "live one", NULL, NULL), 0);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 2, "live two", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, NULL), 0);
	f.conf.rebuild_db = 5;
	ck_assert_int_eq(mat_redis_open(&f.conf, 1, &rb, NULL), 0);
	f.offsets[0] = 0;
	ck_assert_int_eq(fx_apply2(&f, rb, SCH_OP_CREATE, 1, "rebuilt one", NULL, NULL, -1), 0);
	ck_assert_int_eq(mat_redis_commit(rb, NULL), 0);
	/* the same key names, in database 5; the live ones untouched */
	hget_is("c:public.users:1", "name", "live one");
	f.offsets[0] = 2;	/* the live sink's next */
	ck_assert_int_eq(fx_apply(&f, SCH_OP_CREATE, 3, "queued", NULL, NULL), 0);
	ck_assert_int_eq(mat_redis_swap_in(rb, &err), 0);
	mat_redis_close(rb);
	hget_is("c:public.users:1", "name", "rebuilt one");
	hget_is("c:public.users:2", "name", NULL);
	hget_is("c:__gen", "x", NULL);	/* a string, not a hash: HGET refuses */
	/* the live sink's queued batch is refused whole: SWAPDB fired its WATCH */
	ck_assert_int_eq(mat_redis_commit(f.sink, &err), SL_ESTATE);
	hget_is("c:public.users:3", "name", NULL);
	/* the old view, now in database 5, was cleared */
	c = cli();
	r = redisCommand(c, "SELECT 5");
	freeReplyObject(r);
	r = redisCommand(c, "DBSIZE");
	ck_assert_int_eq(r->integer, 0);
	freeReplyObject(r);
	r = redisCommand(c, "SELECT 0");
	freeReplyObject(r);
	r = redisCommand(c, "GET c:__gen");
	ck_assert_str_eq(r->str, "1");
	freeReplyObject(r);
	redisFree(c);
	mat_redis_close(f.sink);
	f.conf.rebuild_db = -1;
	ck_assert_int_eq(mat_redis_open(&f.conf, 0, &f.sink, NULL), 0);
	ck_assert_int_eq(mat_redis_offset_get(f.sink, "t", 0, &next, NULL), 0);
	ck_assert_int_eq(next, 1);
	fx_close(&f);
}
END_TEST

START_TEST(another_writers_key_under_the_prefix_is_reported)
{
	redisContext *c;
	struct sl_err err = { 0 };
	struct fx f;

	flushall();
	c = cli();
	freeReplyObject(redisCommand(c, "RPUSH c:public.users:4 not-a-hash"));
	redisFree(c);
	fx_open(&f);
	ck_assert_int_eq(fx_apply(&f, SCH_OP_UPDATE, 4, "x", NULL, "(unchanged)"), 0);
	ck_assert_int_eq(mat_redis_commit(f.sink, &err), SL_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "key_prefix c:"));
	fx_close(&f);
}
END_TEST

START_TEST(an_unreachable_server_is_an_error_naming_it)
{
	struct mat_redis *s = NULL;
	struct sl_err err = { 0 };
	struct fx f;

	fx_conf(&f);
	free(f.conf.redis_addr);
	f.conf.redis_addr = sl_strdup("unix:/nonexistent/redis.sock");
	ck_assert_int_ne(mat_redis_open(&f.conf, 0, &s, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/redis.sock"));
	free(f.conf.redis_addr);
}
END_TEST

static int
conf_try(const char *text, struct mat_view_conf **c, struct sl_err *err)
{
	struct sl_config *cfg;
	int rc;

	ck_assert_int_eq(sl_config_parse("r.ini", text, &cfg, NULL), 0);
	rc = mat_conf_load(cfg, &cfg->sections[0], "h:1", c, err);
	sl_config_free(cfg);
	return rc;
}

START_TEST(redis_sections_get_defaults_and_precise_errors)
{
	struct mat_view_conf *c = NULL;
	struct sl_err err = { 0 };

	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\n", &c, &err), 0);
	ck_assert_int_eq(c->redis, 1);
	ck_assert_str_eq(c->redis_addr, "127.0.0.1:6379");
	ck_assert_str_eq(c->key_prefix, "cache:");
	ck_assert_ptr_null(c->path);
	ck_assert_int_eq(c->rebuild_db, -1);
	mat_conf_free(c);
	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\n"
	    "redis = unix:/run/redis.sock\nredis_db = 3\nkey_prefix = app:\n", &c, &err), 0);
	ck_assert_int_eq(c->redis_db, 3);
	ck_assert_str_eq(c->key_prefix, "app:");
	mat_conf_free(c);
	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\nrebuild_db = 0\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "other than redis_db"));
	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\npath = /tmp/x\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "r.ini:4"));
	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\nsync = full\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "appendfsync"));
	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\nredis = nohost\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_int_eq(conf_try("[view \"cache\"]\ntype = redis\ntopics = t\nindex.x = a\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_int_eq(conf_try("[view \"v\"]\ntopics = t\npath = /tmp/v\nkey_prefix = a:\n",
	    &c, &err), SL_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "redis views only"));
}
END_TEST

Suite *redis_suite(void);

Suite *
redis_suite(void)
{
	Suite *s = suite_create("redis");
	TCase *tc = tcase_create("redis");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, redis_up, redis_down);
	tcase_add_test(tc, rows_are_hashes_of_their_non_null_columns);
	tcase_add_test(tc, a_batch_larger_than_the_send_buffer_is_sent_as_it_grows);
	tcase_add_test(tc, an_unchanged_value_keeps_its_field_and_a_null_loses_it);
	tcase_add_test(tc, a_json_view_stores_debezium_values_as_text);
	tcase_add_test(tc, deletes_key_changes_and_truncates_remove_rows);
	tcase_add_test(tc, the_offsets_are_written_in_the_same_exec_as_the_rows);
	tcase_add_test(tc, a_rebuild_is_swapped_in_whole_and_the_live_sink_notices);
	tcase_add_test(tc, with_a_rebuild_db_the_swap_is_a_swapdb);
	tcase_add_test(tc, another_writers_key_under_the_prefix_is_reported);
	tcase_add_test(tc, an_unreachable_server_is_an_error_naming_it);
	tcase_add_test(tc, redis_sections_get_defaults_and_precise_errors);
	suite_add_tcase(s, tc);
	return s;
}
