/*
 * bench/materialize.c: applying change events from a topic into an LMDB
 * view, against raw LMDB puts of the same rows in the same run.
 *
 *   materialize --sluice PATH [--dir DIR]   start a broker of our own
 *   materialize --bootstrap HOST:PORT       or use a running one
 *               [--events N] [--batch N] [--sync full|nometa|none]
 *               [--format protobuf|json]
 *               [--type lmdb|sqlite-fts|redis]
 *   materialize --raw-sizes K:V[,K:V...] [--rounds N]   raw LMDB puts alone
 *
 * 1. Produces N change events (protobuf, or with --format json Debezium's
 *    JSON envelope as capture writes it; op c, table bench.rows: an int8
 *    key drawn at random and a text column, about 100 bytes of row) to a
 *    6-partition topic, as capture would.
 * 2. Times `mat_run(rebuild)`: a fresh view consumes the topic from offset
 *    0, decodes and applies every event in transactions of --batch events
 *    (the offsets in the same transaction), until caught up.
 * 3. Times raw LMDB puts of the same N keys (8-byte big-endian) and
 *    100-byte values in transactions of the same size, same sync mode,
 *    once before step 2 and once after; the baseline is their mean.
 * Prints `bench materialize_apply: N events/s (lmdb_raw: M puts/s, ratio R)`
 * (materialize_apply_json with --format json).
 *
 * With --type sqlite-fts the view is a search view over the text column,
 * whose rows are then twelve words drawn from a 5,000-word vocabulary,
 * and the baseline is raw FTS5 inserts of the same texts (ascending
 * rowids) in transactions of the same size, same synchronous setting, WAL:
 * `bench materialize_fts_apply: N events/s (fts5_raw: M inserts/s, ratio R)`.
 *
 * With --type redis the bench starts a redis-server of its own (Unix
 * socket in the temp folder, no persistence) and the view is a cache view;
 * the baseline is the same rows as raw HSETs (id, payload), batch per
 * pipelined MULTI/EXEC: `bench materialize_redis_apply: N events/s
 * (redis_raw: M hsets/s, ratio R)`; --rebuild-db N rebuilds into database N
 * and swaps by SWAPDB instead of the swap script.
 * It is not a correctness test (the Check suite `mat` is).
 */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <lmdb.h>
#include <sqlite3.h>

#include "bench/bench_broker.h"
#include "common/sl.h"
#include "materialize/mat.h"
#include "materialize/mat_int.h"	/* mat_json_event_decode, for the local run */
#include "schemas/sch.h"

#define RAW_MAX_KEY 64
#define RAW_MAX_VALUE 1024
#define RAW_MAX_SIZES 8

struct opts {
	const char *sluice, *dir;
	char bootstrap[128];
	long events;
	long batch;
	const char *sync;
	int json;			/* --format json */
	const char *raw_sizes;		/* --raw-sizes K:V,...: raw LMDB alone */
	int rounds;			/* --rounds, with --raw-sizes */
	int fts;			/* --type sqlite-fts */
	int redis;			/* --type redis */
	char redis_sock[4200];		/* its server's socket */
	int rebuild_db;			/* --rebuild-db N: swap by SWAPDB */
};

static long delivered, failed;

SL_NORETURN static void die(const char *fmt, ...) SL_PRINTF(1, 2);

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench materialize: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now_s(void)
{
	return (double)sl_mono_ns() / 1e9;
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		failed++;
	else
		delivered++;
}

static rd_kafka_t *
producer_new(const char *bootstrap)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char es[256];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, es, sizeof(es)) ||
	    rd_kafka_conf_set(c, "linger.ms", "20", es, sizeof(es)) ||
	    rd_kafka_conf_set(c, "batch.num.messages", "10000", es, sizeof(es)) ||
	    rd_kafka_conf_set(c, "queue.buffering.max.messages", "1000000", es, sizeof(es)) ||
	    rd_kafka_conf_set(c, "log_level", "3", es, sizeof(es)))
		die("producer config: %s", es);
	rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof(es))) == NULL)
		die("producer: %s", es);
	return rk;
}

static pid_t
broker_start(struct opts *o, const char *dir)
{
	char why[512];
	pid_t pid = bench_broker_start(o->sluice, dir, o->bootstrap, sizeof(o->bootstrap),
	    why, sizeof(why));

	if (pid < 0)
		die("%s", why);
	return pid;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	return sl_xorshift64(&rng_state);
}

/* Every encoded event, for the apply run without Kafka. */
static struct sl_buf all_events, all_keys;
static size_t *event_at, *key_at;

/* Twelve words of a 5,000-word vocabulary ("w0".."w4999") into 'buf'. */
static size_t
words(char *buf, size_t size)
{
	size_t n = 0;
	int i;

	for (i = 0; i < 12; i++)
		n += (size_t)snprintf(buf + n, size - n, "%sw%u", i ? " " : "",
		    (unsigned)(rng() % 5000));
	return n;
}

/* Produce 'n' events to 'topic'; the keys used go to 'keys'. */
static void
produce(const struct opts *o, const char *topic, int64_t *keys)
{
	static struct sch_column cols[] = {
		{ "id", SCH_OID_INT8, "int8", -1, 1, 0 },
		{ "payload", SCH_OID_TEXT, "text", -1, 0, 1 },
	};
	struct sch_table t = { 1, "bench", "bench", "rows", cols, 2 };
	struct sch_value img[2];
	struct sch_event ev;
	struct sl_buf key = { 0 }, val = { 0 };
	char payload[128];
	rd_kafka_t *rk = producer_new(o->bootstrap);
	long i;
	double t0 = now_s();

	memset(payload, 'x', 90);
	payload[90] = 0;
	memset(&ev, 0, sizeof(ev));
	ev.op = SCH_OP_CREATE;
	ev.table = &t;
	ev.after = img;
	ev.source.connector = "postgresql";
	ev.source.name = "bench";
	ev.source.schema = "bench";
	ev.source.table = "rows";
	for (i = 0; i < o->events; i++) {
		keys[i] = (int64_t)(rng() >> 1);
		img[0] = sch_value_int64(keys[i]);
		if (o->fts) {
			img[1] = sch_value_text(payload, words(payload, sizeof(payload)));
		} else {
			snprintf(payload, sizeof(payload), "%016llx", (unsigned long long)rng());
			payload[16] = 'x';
			img[1] = sch_value_text(payload, 90);
		}
		sl_buf_reset(&key);
		sl_buf_reset(&val);
		if (o->json ? sch_key_encode_json(&ev, NULL, &key) != 0 ||
		    sch_event_encode_json(&ev, NULL, &val) != 0 :
		    sch_key_encode_pb(&ev, &key) != 0 || sch_event_encode_pb(&ev, &val) != 0)
			die("encoding event %ld", i);
		event_at[i] = all_events.len;
		sl_buf_add(&all_events, val.p, val.len);
		key_at[i] = all_keys.len;
		sl_buf_add(&all_keys, key.p, key.len);
		while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.p, key.len),
		    RD_KAFKA_V_VALUE(val.p, val.len), RD_KAFKA_V_END) ==
		    RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 120000);
	rd_kafka_destroy(rk);
	if (failed || delivered != o->events)
		die("%ld of %ld events delivered, %ld failed", delivered, o->events, failed);
	fprintf(stderr, "produced %ld events (%zu-byte values) in %.1f s\n", o->events,
	    val.len, now_s() - t0);
	sl_buf_free(&key);
	sl_buf_free(&val);
}

static void
create_topic(const struct opts *o, const char *topic)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s topics -b %s create %s --partitions 6 >/dev/null",
	    o->sluice ? o->sluice : "sluice", o->bootstrap, topic);
	if (system(cmd) != 0)
		die("cannot create topic %s", topic);
}

/* Decode and apply every event with the sink directly: no Kafka. */
static double
local_apply(const struct opts *o, const struct mat_view_conf *conf, const char *dir)
{
	struct mat_lmdb *sink = NULL;
	struct mat_fts *fts = NULL;
	struct mat_redis *redis = NULL;
	struct sl_arena a = { 0 };
	struct sl_err err = { 0 };
	struct sch_event ev;
	struct mat_origin org = { "local", 0, 0 };
	double t0;
	long i;
	int rc;

	if ((o->fts || o->redis) && sl_mkdir_p(dir, 0755) != 0)
		die("mkdir %s", dir);
	if ((rc = o->redis ? mat_redis_open(conf, 0, &redis, &err) :
	    o->fts ? mat_fts_open(dir, conf, &fts, &err) :
	    mat_lmdb_open(dir, conf, &sink, &err)) != 0)
		die("%s", sl_err_msg(&err, rc));
	t0 = now_s();
	for (i = 0; i < o->events; i++) {
		size_t end = i + 1 < o->events ? event_at[i + 1] : all_events.len;
		size_t kend = i + 1 < o->events ? key_at[i + 1] : all_keys.len;
		struct sl_slice val = sl_slice_make(all_events.p + event_at[i], end - event_at[i]);

		rc = o->json ? mat_json_event_decode(sl_slice_make(all_keys.p + key_at[i],
		    kend - key_at[i]), val, &a, &ev, &err) :
		    sch_event_decode_pb(val, &a, &ev, &err);
		if (rc != 0)
			die("decode: %s", sl_err_msg(&err, rc));
		org.offset = i;
		if ((rc = redis ? mat_redis_apply(redis, &ev, &org, &err) :
		    fts ? mat_fts_apply(fts, &ev, &org, &err) :
		    mat_lmdb_apply(sink, &ev, &org, &err)) != 0)
			die("apply: %s", sl_err_msg(&err, rc));
		sl_arena_reset(&a);
		if ((i + 1) % o->batch == 0 && (rc = redis ? mat_redis_commit(redis, &err) :
		    fts ? mat_fts_commit(fts, &err) : mat_lmdb_commit(sink, &err)) != 0)
			die("commit: %s", sl_err_msg(&err, rc));
	}
	if ((rc = redis ? mat_redis_commit(redis, &err) : fts ? mat_fts_commit(fts, &err) :
	    mat_lmdb_commit(sink, &err)) != 0)
		die("commit: %s", sl_err_msg(&err, rc));
	t0 = now_s() - t0;
	mat_redis_close(redis);
	mat_fts_close(fts);
	mat_lmdb_close(sink);
	sl_arena_free(&a);
	return (double)o->events / t0;
}

/*
 * Raw LMDB: the same keys ('ksize' bytes: the key big-endian, after
 * 'ksize' - 8 bytes of 0x04 as a view's INT64 tag), 'vsize'-byte values,
 * 'batch' puts per txn.
 */
static double
raw_puts(const struct opts *o, const char *dir, const int64_t *keys, size_t ksize,
    size_t vsize)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	uint8_t kb[RAW_MAX_KEY], vb[RAW_MAX_VALUE];
	unsigned flags = strcmp(o->sync, "none") == 0 ? MDB_NOSYNC :
	    strcmp(o->sync, "nometa") == 0 ? MDB_NOMETASYNC : 0;
	double t0;
	long i;

	memset(kb, 0x04, sizeof(kb));
	memset(vb, 'x', sizeof(vb));
	if (sl_mkdir_p(dir, 0755) != 0 || mdb_env_create(&env) ||
	    mdb_env_set_mapsize(env, (size_t)4 << 30) || mdb_env_set_maxdbs(env, 8) ||
	    mdb_env_open(env, dir, flags, 0644))
		die("raw lmdb open %s", dir);
	t0 = now_s();
	for (i = 0; i < o->events; i++) {
		if (i % o->batch == 0 && (mdb_txn_begin(env, NULL, 0, &txn) ||
		    mdb_dbi_open(txn, "t", MDB_CREATE, &dbi)))
			die("raw lmdb txn");
		sl_put_be64(kb + ksize - 8, (uint64_t)keys[i]);
		k.mv_data = kb;
		k.mv_size = ksize;
		v.mv_data = vb;
		v.mv_size = vsize;
		if (mdb_put(txn, dbi, &k, &v, 0))
			die("raw lmdb put");
		if ((i + 1) % o->batch == 0 || i + 1 == o->events)
			if (mdb_txn_commit(txn))
				die("raw lmdb commit");
	}
	t0 = now_s() - t0;
	mdb_env_close(env);
	return (double)o->events / t0;
}

/*
 * Raw FTS5: the texts produce() sent, inserted into an FTS5 table of one
 * column with ascending rowids (FTS5's cheapest order: the random keys as
 * rowids ran at a sixth of this, 20k against 129k inserts/s), 'batch' per
 * transaction, WAL mode and the synchronous setting a search view's sync
 * maps to.
 */
static double
raw_fts(const struct opts *o, const char *dir)
{
	struct sl_arena a = { 0 };
	struct sl_err err = { 0 };
	struct sch_event ev;
	sqlite3 *db;
	sqlite3_stmt *st;
	char *file = sl_asprintf("%s/raw.db", dir);
	double t0;
	long i;
	int rc;

	if (sl_mkdir_p(dir, 0755) != 0 || sqlite3_open(file, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, strcmp(o->sync, "full") == 0 ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE VIRTUAL TABLE fts USING fts5(payload, tokenize = "
	    "'unicode61 remove_diacritics 2')", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO fts(rowid, payload) VALUES (?, ?)", -1, &st,
	    NULL) != SQLITE_OK)
		die("raw fts5 open %s", file);
	t0 = now_s();
	for (i = 0; i < o->events; i++) {
		size_t end = i + 1 < o->events ? event_at[i + 1] : all_events.len;

		/* the text as produced; decoding it is outside the timing's point,
		   but cheap next to the insert, and keeps the texts identical */
		if (sch_event_decode_pb(sl_slice_make(all_events.p + event_at[i],
		    end - event_at[i]), &a, &ev, &err) != 0 || ev.after == NULL)
			die("raw fts5: decode %ld", i);
		if (i % o->batch == 0 && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			die("raw fts5 begin");
		sqlite3_bind_int64(st, 1, i + 1);
		sqlite3_bind_text(st, 2, ev.after[1].u.s.p, (int)ev.after[1].u.s.len,
		    SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			die("raw fts5 insert: %s", sqlite3_errmsg(db));
		sl_arena_reset(&a);
		if (((i + 1) % o->batch == 0 || i + 1 == o->events) &&
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			die("raw fts5 commit");
	}
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	sl_arena_free(&a);
	free(file);
	return (double)o->events / t0;
}

/* A redis-server of the bench's own on a Unix socket in 'dir'; its PID. */
static pid_t
redis_start(struct opts *o, const char *dir)
{
	pid_t pid;
	int i;

	snprintf(o->redis_sock, sizeof(o->redis_sock), "%s/redis.sock", dir);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
		    o->redis_sock, "--save", "", "--appendonly", "no", "--dir", dir,
		    "--logfile", "redis.log", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		redisContext *c = redisConnectUnix(o->redis_sock);
		int ok = c && !c->err;

		if (c)
			redisFree(c);
		if (ok)
			return pid;
		usleep(10000);
	}
	kill(pid, SIGTERM);
	die("redis-server did not start (see %s/redis.log)", dir);
}

/*
 * Raw Redis: the rows produce() sent as HSET raw<round>:<key> id <key>
 * payload <text>, 'batch' per MULTI/EXEC, pipelined, each EXEC's replies
 * read before the next batch, as the sink does.
 */
static double
raw_redis(const struct opts *o, int round, const int64_t *keys)
{
	struct sl_arena a = { 0 };
	struct sl_err err = { 0 };
	struct sch_event ev;
	redisContext *c = redisConnectUnix(o->redis_sock);
	char key[64], id[32];
	double t0;
	long i, queued = 0;
	void *r;

	if (c == NULL || c->err)
		die("raw redis: connect %s", o->redis_sock);
	t0 = now_s();
	for (i = 0; i < o->events; i++) {
		size_t end = i + 1 < o->events ? event_at[i + 1] : all_events.len;
		const char *argv[6];
		size_t len[6];

		if (sch_event_decode_pb(sl_slice_make(all_events.p + event_at[i],
		    end - event_at[i]), &a, &ev, &err) != 0 || ev.after == NULL)
			die("raw redis: decode %ld", i);
		if (i % o->batch == 0) {
			redisAppendCommand(c, "MULTI");
			queued++;
		}
		snprintf(key, sizeof(key), "raw%d:%lld", round, (long long)keys[i]);
		snprintf(id, sizeof(id), "%lld", (long long)keys[i]);
		argv[0] = "HSET"; len[0] = 4;
		argv[1] = key; len[1] = strlen(key);
		argv[2] = "id"; len[2] = 2;
		argv[3] = id; len[3] = strlen(id);
		argv[4] = "payload"; len[4] = 7;
		argv[5] = ev.after[1].u.s.p; len[5] = ev.after[1].u.s.len;
		redisAppendCommandArgv(c, 6, argv, len);
		queued++;
		sl_arena_reset(&a);
		if ((i + 1) % o->batch == 0 || i + 1 == o->events) {
			redisAppendCommand(c, "EXEC");
			for (queued++; queued > 0; queued--) {
				if (redisGetReply(c, &r) != REDIS_OK)
					die("raw redis: %s", c->errstr);
				freeReplyObject(r);
			}
		}
	}
	t0 = now_s() - t0;
	redisFree(c);
	sl_arena_free(&a);
	return (double)o->events / t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * --raw-sizes: raw LMDB puts alone, for each KEY:VALUE entry size in turn,
 * --rounds times alternating; prints each size's median.  How much the
 * size of an entry costs LMDB, apart from anything sluice does.
 */
static int
raw_sweep(const struct opts *o, const char *dir)
{
	size_t ks[RAW_MAX_SIZES], vs[RAW_MAX_SIZES];
	double *rate[RAW_MAX_SIZES];
	const char *p = o->raw_sizes;
	char rdir[4200];
	int64_t *keys;
	int n = 0, r, i;
	long j;

	while (*p) {
		char *end;
		unsigned long k = strtoul(p, &end, 10), v;

		if (end == p || *end != ':' || n == RAW_MAX_SIZES)
			die("--raw-sizes: expected KEY:VALUE[,KEY:VALUE...] (at most %d) at '%s'",
			    RAW_MAX_SIZES, p);
		p = end + 1;
		v = strtoul(p, &end, 10);
		if (end == p || (*end != ',' && *end != 0) || k < 8 || k > RAW_MAX_KEY ||
		    v > RAW_MAX_VALUE)
			die("--raw-sizes: key sizes 8..%d, values 0..%d bytes, at '%s'",
			    RAW_MAX_KEY, RAW_MAX_VALUE, p);
		ks[n] = k;
		vs[n] = v;
		rate[n++] = sl_calloc((size_t)o->rounds, sizeof(double));
		p = *end ? end + 1 : end;
	}
	if (n == 0)
		die("--raw-sizes: no sizes");
	keys = sl_calloc((size_t)o->events, sizeof(*keys));
	for (j = 0; j < o->events; j++)	/* the keys produce() would draw */
		keys[j] = (int64_t)(rng() >> 1);
	for (r = 0; r < o->rounds; r++) {
		for (i = 0; i < n; i++) {
			snprintf(rdir, sizeof(rdir), "%s/raw-%d-%d", dir, r, i);
			rate[i][r] = raw_puts(o, rdir, keys, ks[i], vs[i]);
			printf("round %d: key %zu + value %zu bytes: %.0f puts/s\n", r + 1, ks[i],
			    vs[i], rate[i][r]);
			fflush(stdout);
			sl_rm_rf(rdir);
		}
	}
	for (i = 0; i < n; i++) {
		qsort(rate[i], (size_t)o->rounds, sizeof(double), cmp_double);
		printf("bench lmdb_raw_k%zu_v%zu: %.0f puts/s (median of %d, ratio to the "
		    "first size %.2f)\n", ks[i], vs[i], rate[i][o->rounds / 2], o->rounds,
		    rate[i][o->rounds / 2] / rate[0][o->rounds / 2]);
	}
	for (i = 0; i < n; i++)
		free(rate[i]);
	free(keys);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sluice", required_argument, NULL, 's' },
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "events", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'B' },
		{ "sync", required_argument, NULL, 'y' },
		{ "format", required_argument, NULL, 'f' },
		{ "raw-sizes", required_argument, NULL, 'R' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "type", required_argument, NULL, 't' },
		{ "rebuild-db", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { NULL, "/var/tmp", "", 1000000, 10000, "full", 0, NULL, 5, 0, 0, "", -1 };
	struct sl_config *cfg;
	struct mat_view_conf *conf;
	struct sl_err err = { 0 };
	volatile sig_atomic_t stop = 0;
	char dir[4096], topic[64], ini[8192], vdir[4200], rdir[4200];
	int64_t *keys;
	pid_t broker = 0, redis = 0;
	double t0, apply, raw, raw0, raw1, local;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.sluice = optarg; break;
		case 'b': snprintf(o.bootstrap, sizeof(o.bootstrap), "%s", optarg); break;
		case 'd': o.dir = optarg; break;
		case 'n': o.events = atol(optarg); break;
		case 'B': o.batch = atol(optarg); break;
		case 'y': o.sync = optarg; break;
		case 'R': o.raw_sizes = optarg; break;
		case 'r': o.rounds = atoi(optarg); break;
		case 'D': o.rebuild_db = atoi(optarg); break;
		case 't':
			if (strcmp(optarg, "lmdb") != 0 && strcmp(optarg, "sqlite-fts") != 0 &&
			    strcmp(optarg, "redis") != 0)
				die("--type must be lmdb, sqlite-fts or redis, not '%s'", optarg);
			o.fts = strcmp(optarg, "sqlite-fts") == 0;
			o.redis = strcmp(optarg, "redis") == 0;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "protobuf") != 0)
				die("--format must be protobuf or json, not '%s'", optarg);
			o.json = strcmp(optarg, "json") == 0;
			break;
		default:
			fprintf(stderr, "usage: materialize --sluice PATH | --bootstrap HOST:PORT "
			    "[--dir DIR] [--events N] [--batch N] [--sync full|nometa|none] "
			    "[--format protobuf|json] [--type lmdb|sqlite-fts|redis]\n"
			    "       materialize --raw-sizes KEY:VALUE[,KEY:VALUE...] [--rounds N] "
			    "[--dir DIR] [--events N] [--batch N] [--sync ...]\n");
			return 2;
		}
	}
	if (o.raw_sizes) {
		if (o.rounds < 1 || o.events < 1 || o.batch < 1)
			die("--rounds, --events and --batch must be >= 1");
		snprintf(dir, sizeof(dir), "%s/sluice-bench-raw-XXXXXX", o.dir);
		if (!mkdtemp(dir))
			die("mkdtemp: %s", strerror(errno));
		rc = raw_sweep(&o, dir);
		sl_rm_rf(dir);
		return rc;
	}
	if ((!o.sluice && !o.bootstrap[0]) || o.events < 1 || o.batch < 1)
		die("need --sluice PATH or --bootstrap HOST:PORT, --events and --batch >= 1");
	if (o.fts && (o.json || strcmp(o.sync, "none") == 0))
		die("--type sqlite-fts takes --format protobuf and --sync full or nometa");
	if (o.redis && o.json)
		die("--type redis takes --format protobuf");
	snprintf(dir, sizeof(dir), "%s/sluice-bench-mat-XXXXXX", o.dir);
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	if (o.sluice)
		broker = broker_start(&o, dir);
	if (o.redis)
		redis = redis_start(&o, dir);
	snprintf(topic, sizeof(topic), "bench.mat.%d", (int)getpid());
	create_topic(&o, topic);
	keys = sl_calloc((size_t)o.events, sizeof(*keys));
	event_at = sl_calloc((size_t)o.events, sizeof(*event_at));
	key_at = sl_calloc((size_t)o.events, sizeof(*key_at));
	produce(&o, topic, keys);

	snprintf(vdir, sizeof(vdir), "%s/view", dir);
	{
		char store[4600];

		if (o.redis && o.rebuild_db >= 0)
			snprintf(store, sizeof(store), "type = redis\nredis = unix:%s\n"
			    "key_prefix = bench:\nrebuild_db = %d", o.redis_sock, o.rebuild_db);
		else if (o.redis)
			snprintf(store, sizeof(store), "type = redis\nredis = unix:%s\n"
			    "key_prefix = bench:", o.redis_sock);
		else
			snprintf(store, sizeof(store), "path = %s\nsync = %s\n%s", vdir, o.sync,
			    o.fts ? "type = sqlite-fts\ncolumns = payload" : "map_size = 4g");
		snprintf(ini, sizeof(ini), "[view \"bench\"]\ntopics = %s\nbootstrap = %s\n"
		    "batch_events = %ld\nbatch_ms = 1s\n%s\nformat = %s\n"
		    "consumer.fetch.max.bytes = 67108864\n"
		    "consumer.max.partition.fetch.bytes = 16777216\n"
		    "consumer.queued.min.messages = 1000000\n", topic, o.bootstrap, o.batch,
		    store, o.json ? "json" : "protobuf");
	}
	if ((rc = sl_config_parse("bench.ini", ini, &cfg, &err)) != 0 ||
	    (rc = mat_conf_load(cfg, &cfg->sections[0], NULL, &conf, &err)) != 0)
		die("%s", sl_err_msg(&err, rc));
	/*
	 * The raw rate is taken before and after the apply and averaged: on
	 * this kind of VM the disk's speed drifts within a run, and a single
	 * raw run after the apply made the ratio depend on which phase got
	 * the faster disk.
	 */
	snprintf(rdir, sizeof(rdir), "%s/raw0", dir);
	raw0 = o.redis ? raw_redis(&o, 0, keys) : o.fts ? raw_fts(&o, rdir) :
	    raw_puts(&o, rdir, keys, 8, 100);
	t0 = now_s();
	if ((rc = mat_run(conf, 1, &stop, &err)) != 0)
		die("%s", sl_err_msg(&err, rc));
	apply = (double)o.events / (now_s() - t0);
	snprintf(rdir, sizeof(rdir), "%s/raw", dir);
	raw1 = o.redis ? raw_redis(&o, 1, keys) : o.fts ? raw_fts(&o, rdir) :
	    raw_puts(&o, rdir, keys, 8, 100);
	raw = (raw0 + raw1) / 2;
	printf("%s: %.0f %s/s before the apply, %.0f after\n", o.redis ? "redis_raw" :
	    o.fts ? "fts5_raw" : "lmdb_raw", raw0, o.redis ? "hsets" : o.fts ? "inserts" : "puts",
	    raw1);
	snprintf(rdir, sizeof(rdir), "%s/local", dir);
	local = local_apply(&o, conf, rdir);
	/* summary names: materialize_apply[_local], with _json for --format json */
	if (o.redis) {
		printf("bench materialize_redis_apply_local: %.0f events/s (decode and apply, no "
		    "Kafka; ratio to redis_raw %.2f)\n", local, local / raw);
		printf("bench materialize_redis_apply: %.0f events/s (redis_raw: %.0f hsets/s, "
		    "ratio %.2f)\n", apply, raw, apply / raw);
	} else if (o.fts) {
		printf("bench materialize_fts_apply_local: %.0f events/s (decode and apply, no "
		    "Kafka; ratio to fts5_raw %.2f)\n", local, local / raw);
		printf("bench materialize_fts_apply: %.0f events/s (fts5_raw: %.0f inserts/s, "
		    "ratio %.2f)\n", apply, raw, apply / raw);
	} else {
		printf("bench materialize_apply_local%s: %.0f events/s (decode and apply, no "
		    "Kafka; ratio to lmdb_raw %.2f)\n", o.json ? "_json" : "", local, local / raw);
		printf("bench materialize_apply%s: %.0f events/s (lmdb_raw: %.0f puts/s, ratio "
		    "%.2f)\n", o.json ? "_json" : "", apply, raw, apply / raw);
	}
	mat_conf_free(conf);
	sl_config_free(cfg);
	free(keys);
	free(event_at);
	free(key_at);
	sl_buf_free(&all_events);
	sl_buf_free(&all_keys);
	if (broker) {
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
	}
	if (redis) {
		kill(redis, SIGTERM);
		waitpid(redis, NULL, 0);
	}
	sl_rm_rf(dir);
	return 0;
}
