/*
 * materialize/redis_sink.c: apply change events to a cache view, a set of
 * Redis hashes (type = redis).
 *
 * The same contract as lmdb_sink.c (mat.h): the commands of a batch of
 * events and the next offset of every partition they came from are sent
 * as one MULTI ... EXEC, which Redis applies all at once, so the view
 * always equals the log replayed to its stored offsets.  It is not the
 * consumer (consumer.c).
 *
 * KEYS (docs/views.md "Cache views"), P the view's key_prefix
 *   P<schema>.<table>:<key>   a row: HASH of column -> value as text
 *                             (mat_value_text), no field for NULL, and
 *                             "__pos" = "<partition>:<offset>" of the
 *                             change that last wrote it.  <key> is the
 *                             primary-key values as text joined by ':'.
 *   P__offsets                HASH "<topic>:<partition>" -> next offset
 *   P__gen                    generation: INCR by each rebuild swap
 *   P__rebuild_lock           held by the rebuild running (SET NX, 60 s,
 *                             renewed each batch), in the live database
 *   P__rebuild:...            a rebuild in progress: the same layout
 *
 * Per event: r and u without unchanged values DEL the row and HSET every
 * non-NULL column, c only HSETs (its key holds nothing yet); with unchanged values (TOAST) only HSET the others and
 * HDEL the NULL ones, so an unchanged field keeps its value; a before
 * image under another key DELs that key; d DELs; t runs a script that
 * deletes the table's rows whose __pos names the event's partition;
 * anything else only moves the offset.
 *
 * A live view WATCHes P__gen for each batch: when a rebuild is swapped in
 * (the swap script INCRs it) the batch's EXEC is refused, nothing is
 * applied, and the sink reports itself swapped; the consumer reopens it
 * on the rebuilt offsets.
 *
 * Offsets are read once, at open (HGETALL): this process is the view's
 * only writer, and no read may be sent while a MULTI is being queued.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"

#define REDIS_REBUILD "__rebuild:"
#define REDIS_OFFSETS "__offsets"
#define REDIS_GEN "__gen"
#define REDIS_LOCK "__rebuild_lock"
#define REDIS_LOCK_TTL "60"		/* seconds; renewed by every batch */
#define REDIS_POS_FIELD "__pos"
#define REDIS_SCAN_COUNT "1000"
/* Queued commands are sent once this many bytes wait: bounded memory. */
#define REDIS_FLUSH_BYTES (1u << 20)

/* Delete the rows of a table (ARGV[1], a MATCH pattern) whose __pos starts with ARGV[2]. */
static const char truncate_lua[] =
    "local cur, n = '0', 0\n"
    "repeat\n"
    "  local r = redis.call('SCAN', cur, 'MATCH', ARGV[1], 'COUNT', " REDIS_SCAN_COUNT ")\n"
    "  cur = r[1]\n"
    "  for _, k in ipairs(r[2]) do\n"
    "    local p = redis.call('HGET', k, '" REDIS_POS_FIELD "')\n"
    "    if p and string.sub(p, 1, #ARGV[2]) == ARGV[2] then\n"
    "      redis.call('DEL', k)\n"
    "      n = n + 1\n"
    "    end\n"
    "  end\n"
    "until cur == '0'\n"
    "return n\n";

/*
 * Swap a rebuilt view in: ARGV[1] the live prefix, ARGV[2] the rebuild
 * prefix, ARGV[3] the live prefix's MATCH pattern (which the rebuild's
 * keys match too).  One pass over the keys: every live key but the
 * generation is unlinked (freed in the background), the rebuilt ones are
 * collected, then renamed into place, and the generation moves; one
 * script, so no reader sees a mixture.  Measured: ~8 us per row here
 * (docs/benchmarks.md), the time Redis serves nothing else.
 */
static const char swap_lua[] =
    "local live, new = ARGV[1], ARGV[2]\n"
    "local gen = live .. '" REDIS_GEN "'\n"
    "local fresh, cur = {}, '0'\n"
    "repeat\n"
    "  local r = redis.call('SCAN', cur, 'MATCH', ARGV[3], 'COUNT', 10000)\n"
    "  cur = r[1]\n"
    "  for _, k in ipairs(r[2]) do\n"
    "    if string.sub(k, 1, #new) == new then fresh[#fresh + 1] = k\n"
    "    elseif k ~= gen then redis.call('UNLINK', k) end\n"
    "  end\n"
    "until cur == '0'\n"
    "for _, k in ipairs(fresh) do\n"
    "  redis.call('RENAME', k, live .. string.sub(k, #new + 1))\n"
    "end\n"
    "return redis.call('INCR', gen)\n";

struct redis_schema {
	struct mat_schema s;
	struct sl_arena arena;
};

/* The arguments of one command, built before it is queued. */
struct rcmd {
	struct sl_buf data;		/* every argument's bytes */
	size_t *off, *len;
	size_t n, cap;
	const char **argv;
};

struct mat_redis {
	redisContext *rc;
	redisContext *lock;		/* rebuild: holds P__rebuild_lock */
	char lock_id[96];		/* its value: host and pid */
	const struct mat_view_conf *conf;
	char *live;			/* the view's key prefix */
	char *prefix;			/* what this sink writes under */
	int rebuild;
	long long gen;			/* P__gen when opened (live) */
	int swapped;			/* a rebuild was swapped in since */
	int in_txn;
	size_t queued;			/* replies due: MULTI and what follows */
	size_t read;			/* ... of which read already */
	char *refused;			/* the first command Redis refused */
	struct redis_schema **schemas;
	size_t n_schemas;
	struct mat_offsets offs;
	struct rcmd cmd;
	struct sl_buf key, key2, tmp;
	struct sl_arena arena;
	struct mat_sink_stats st;
};

/* ---------------------------------------------------------------- commands */

static void
rc_reset(struct rcmd *c)
{
	sl_buf_reset(&c->data);
	c->n = 0;
}

static void
rc_grow(struct rcmd *c)
{
	if (c->n < c->cap)
		return;
	c->cap = c->cap ? c->cap * 2 : 16;
	c->off = sl_realloc(c->off, c->cap * sizeof(*c->off));
	c->len = sl_realloc(c->len, c->cap * sizeof(*c->len));
	c->argv = sl_realloc(c->argv, c->cap * sizeof(*c->argv));
}

static void
rc_arg(struct rcmd *c, const void *p, size_t n)
{
	rc_grow(c);
	c->off[c->n] = c->data.len;
	c->len[c->n++] = n;
	sl_buf_add(&c->data, p, n);
}

static void
rc_str(struct rcmd *c, const char *s)
{
	rc_arg(c, s, strlen(s));
}

static void rc_fmt(struct rcmd *c, const char *fmt, ...) SL_PRINTF(2, 3);

static void
rc_fmt(struct rcmd *c, const char *fmt, ...)
{
	char b[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	rc_arg(c, b, n < 0 ? 0 : (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* A value as text, as the next argument. */
static void
rc_value(struct rcmd *c, const struct sch_value *v, const struct mat_column *col)
{
	rc_grow(c);
	c->off[c->n] = c->data.len;
	mat_value_text(v, col, &c->data);
	c->len[c->n] = c->data.len - c->off[c->n];
	c->n++;
}

static int
redis_fail(struct mat_redis *s, struct sl_err *err, const char *what)
{
	return sl_errf(err, -EIO, "view %s: redis %s: %s: %s", s->conf->name,
	    s->conf->redis_addr, what, s->rc && s->rc->err ? s->rc->errstr : "no reply");
}

/*
 * Send what is queued and read the replies due so far (+OK, +QUEUED, or
 * an error kept in s->refused), all but 'keep' of them: a batch of large
 * rows never waits whole in this process's memory.  0 or an I/O error.
 */
static int
rc_flush(struct mat_redis *s, size_t keep, struct sl_err *err)
{
	redisReply *r;
	void *rv;
	int done = 0;

	while (!done)
		if (redisBufferWrite(s->rc, &done) != REDIS_OK)
			return redis_fail(s, err, "send");
	while (s->read + keep < s->queued) {
		if (redisGetReply(s->rc, &rv) != REDIS_OK)
			return redis_fail(s, err, "read replies");
		r = rv;
		s->read++;
		if (r->type == REDIS_REPLY_ERROR && s->refused == NULL)
			s->refused = sl_strdup(r->str);
		freeReplyObject(r);
	}
	return 0;
}

/* Queue 'c' inside the open MULTI; its reply is read later. */
static int
rc_queue(struct mat_redis *s, struct rcmd *c, struct sl_err *err)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		c->argv[i] = (const char *)c->data.p + c->off[i];
	if (redisAppendCommandArgv(s->rc, (int)c->n, c->argv, c->len) != REDIS_OK)
		return redis_fail(s, err, "queue a command");
	s->queued++;
	if (sdslen(s->rc->obuf) >= REDIS_FLUSH_BYTES)
		return rc_flush(s, 0, err);
	return 0;
}

/* Send 'c' now and return its reply (the caller frees it), or NULL. */
static redisReply *
rc_call(struct mat_redis *s, struct rcmd *c, struct sl_err *err, int *rcp)
{
	redisReply *r;
	size_t i;

	for (i = 0; i < c->n; i++)
		c->argv[i] = (const char *)c->data.p + c->off[i];
	r = redisCommandArgv(s->rc, (int)c->n, c->argv, c->len);
	*rcp = 0;
	if (r == NULL) {
		*rcp = redis_fail(s, err, c->n ? c->argv[0] : "command");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		*rcp = sl_errf(err, SL_EPROTO, "view %s: redis %s: %.*s: %s", s->conf->name,
		    s->conf->redis_addr, (int)c->len[0], c->argv[0], r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* A MATCH pattern for the keys starting with 'prefix' (glob characters escaped). */
static void
match_prefix(struct sl_buf *out, const char *prefix)
{
	const char *p;

	sl_buf_reset(out);
	for (p = prefix; *p; p++) {
		if (*p == '*' || *p == '?' || *p == '[' || *p == ']' || *p == '\\')
			sl_buf_add_u8(out, '\\');
		sl_buf_add_u8(out, (uint8_t)*p);
	}
	sl_buf_add_u8(out, '*');
	sl_buf_add_u8(out, 0);
}

/* ------------------------------------------------------------------- open */

/* Connect to the view's server, AUTH, and SELECT database 'db'. */
static int
redis_connect(const struct mat_view_conf *conf, int64_t db, redisContext **out,
    struct sl_err *err)
{
	struct timeval tv = { 5, 0 };
	const char *a = conf->redis_addr, *colon;
	redisContext *rc;
	redisReply *r;
	char host[256];
	long port = 6379;

	*out = NULL;
	if (strncmp(a, "unix:", 5) == 0 || a[0] == '/') {
		rc = redisConnectUnixWithTimeout(a[0] == '/' ? a : a + 5, tv);
	} else {
		colon = strrchr(a, ':');
		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - a) : (int)strlen(a), a);
		if (colon)
			port = strtol(colon + 1, NULL, 10);
		rc = redisConnectWithTimeout(host, (int)port, tv);
	}
	if (rc == NULL || rc->err) {
		int e = sl_errf(err, -EIO, "view %s: redis %s: %s", conf->name, a,
		    rc ? rc->errstr : "out of memory");

		if (rc)
			redisFree(rc);
		return e;
	}
	(void)redisSetTimeout(rc, (struct timeval){ 30, 0 });
	if (conf->redis_password) {
		r = redisCommand(rc, "AUTH %s", conf->redis_password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			/* the reason, never the password */
			int e = sl_errf(err, SL_ECONFIG, "view %s: redis %s: AUTH refused: %s",
			    conf->name, a, r ? r->str : rc->errstr);

			if (r)
				freeReplyObject(r);
			redisFree(rc);
			return e;
		}
		freeReplyObject(r);
	}
	if (db != 0) {
		r = redisCommand(rc, "SELECT %lld", (long long)db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			int e = sl_errf(err, SL_ECONFIG, "view %s: redis %s: SELECT %lld: %s",
			    conf->name, a, (long long)db, r ? r->str : rc->errstr);

			if (r)
				freeReplyObject(r);
			redisFree(rc);
			return e;
		}
		freeReplyObject(r);
	}
	*out = rc;
	return 0;
}

/* Read P__offsets into the cache. */
static int
offsets_load(struct mat_redis *s, struct sl_err *err)
{
	redisReply *r;
	size_t i;
	int rc;

	rc_reset(&s->cmd);
	rc_str(&s->cmd, "HGETALL");
	rc_fmt(&s->cmd, "%s%s", s->prefix, REDIS_OFFSETS);
	if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
		return rc;
	for (i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
		const char *f, *colon;
		int64_t next, part;

		if (r->element[i]->type != REDIS_REPLY_STRING ||
		    r->element[i + 1]->type != REDIS_REPLY_STRING) {
			rc = redis_fail(s, err, "HGETALL offsets: not a list of strings");
			break;
		}
		f = r->element[i]->str;
		colon = strrchr(f, ':');
		if (colon == NULL || sl_parse_int64(colon + 1, &part) != 0 ||
		    sl_parse_int64(r->element[i + 1]->str, &next) != 0 || part < 0 ||
		    part > INT32_MAX || next < 0) {
			rc = SL_CORRUPT(err, "view %s: %s%s field '%s' = '%s' is not "
			    "topic:partition -> offset", s->conf->name, s->prefix, REDIS_OFFSETS, f,
			    r->element[i + 1]->str);
			break;
		}
		{
			char *topic = sl_strndup(f, (size_t)(colon - f));

			mat_offsets_add(&s->offs, topic, (int32_t)part, next);
			free(topic);
		}
	}
	freeReplyObject(r);
	return rc;
}

static void
offsets_forget(struct mat_redis *s)
{
	mat_offsets_clear(&s->offs);
}

/* P__gen as a number (0 when unset). */
static int
gen_get(struct mat_redis *s, long long *gen, struct sl_err *err)
{
	redisReply *r;
	int rc;

	rc_reset(&s->cmd);
	rc_str(&s->cmd, "GET");
	rc_fmt(&s->cmd, "%s%s", s->live, REDIS_GEN);
	if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
		return rc;
	*gen = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
	freeReplyObject(r);
	return 0;
}

/* Delete every key under 'prefix' (a rebuild's leftovers), a SCAN at a time. */
static int
delete_prefix(struct mat_redis *s, const char *prefix, struct sl_err *err)
{
	char cursor[32] = "0";
	redisReply *r, *d;
	size_t i;
	int rc = 0;

	match_prefix(&s->tmp, prefix);
	do {
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "SCAN");
		rc_str(&s->cmd, cursor);
		rc_str(&s->cmd, "MATCH");
		rc_str(&s->cmd, (const char *)s->tmp.p);
		rc_str(&s->cmd, "COUNT");
		rc_str(&s->cmd, REDIS_SCAN_COUNT);
		if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
			return rc;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return redis_fail(s, err, "SCAN");
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		if (r->element[1]->elements > 0) {
			rc_reset(&s->cmd);
			rc_str(&s->cmd, "DEL");
			for (i = 0; i < r->element[1]->elements; i++)
				rc_arg(&s->cmd, r->element[1]->element[i]->str,
				    r->element[1]->element[i]->len);
			d = rc_call(s, &s->cmd, err, &rc);
			if (d)
				freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	return rc;
}

/*
 * One rebuild of a view at a time: P__rebuild_lock, SET NX with a TTL on a
 * connection of its own to the live database, renewed by every batch, so
 * a rebuild that died frees it within REDIS_LOCK_TTL.
 */
static int
lock_take(struct mat_redis *s, struct sl_err *err)
{
	redisReply *r;
	char host[64] = "?";
	int rc;

	if ((rc = redis_connect(s->conf, s->conf->redis_db, &s->lock, err)) != 0)
		return rc;
	(void)gethostname(host, sizeof(host) - 1);
	snprintf(s->lock_id, sizeof(s->lock_id), "%s:%ld", host, (long)getpid());
	r = redisCommand(s->lock, "SET %s%s %s NX EX " REDIS_LOCK_TTL, s->live, REDIS_LOCK,
	    s->lock_id);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		rc = sl_errf(err, -EIO, "view %s: redis %s: SET %s%s: %s", s->conf->name,
		    s->conf->redis_addr, s->live, REDIS_LOCK, r ? r->str : s->lock->errstr);
	else if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		r = redisCommand(s->lock, "GET %s%s", s->live, REDIS_LOCK);
		rc = sl_errf(err, SL_ESTATE, "view %s: another rebuild of this view is running "
		    "(%s%s held by %s; it expires %s s after that rebuild's last batch)",
		    s->conf->name, s->live, REDIS_LOCK, r && r->type == REDIS_REPLY_STRING ?
		    r->str : "?", REDIS_LOCK_TTL);
	}
	if (r)
		freeReplyObject(r);
	if (rc != 0) {
		redisFree(s->lock);
		s->lock = NULL;
	}
	return rc;
}

static void
lock_renew(struct mat_redis *s)
{
	redisReply *r;

	if (s->lock == NULL)
		return;
	r = redisCommand(s->lock, "EXPIRE %s%s " REDIS_LOCK_TTL, s->live, REDIS_LOCK);
	if (r)
		freeReplyObject(r);
}

/* Release the lock if it is still ours (a swap script may have removed it). */
static void
lock_drop(struct mat_redis *s)
{
	static const char drop_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
	    "return redis.call('DEL', KEYS[1]) end return 0";
	redisReply *r;

	if (s->lock == NULL)
		return;
	r = redisCommand(s->lock, "EVAL %s 1 %s%s %s", drop_lua, s->live, REDIS_LOCK,
	    s->lock_id);
	if (r)
		freeReplyObject(r);
	redisFree(s->lock);
	s->lock = NULL;
}

int
mat_redis_open(const struct mat_view_conf *conf, int rebuild, struct mat_redis **out,
    struct sl_err *err)
{
	struct mat_redis *s = sl_calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	s->conf = conf;
	s->rebuild = rebuild;
	s->live = sl_strdup(conf->key_prefix);
	/* a rebuild database holds the same keys; else a prefix of its own */
	s->prefix = rebuild && conf->rebuild_db < 0 ?
	    sl_asprintf("%s%s", conf->key_prefix, REDIS_REBUILD) : sl_strdup(conf->key_prefix);
	if ((rc = redis_connect(conf, rebuild && conf->rebuild_db >= 0 ? conf->rebuild_db :
	    conf->redis_db, &s->rc, err)) != 0)
		goto fail;
	/* a rebuild starts from nothing: an interrupted one left keys behind */
	if (rebuild && ((rc = lock_take(s, err)) != 0 ||
	    (rc = delete_prefix(s, s->prefix, err)) != 0))
		goto fail;
	if ((rc = gen_get(s, &s->gen, err)) != 0 || (rc = offsets_load(s, err)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	mat_redis_close(s);
	return rc;
}

void
mat_redis_close(struct mat_redis *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->in_txn)
		mat_redis_abort(s);
	lock_drop(s);
	if (s->rc)
		redisFree(s->rc);
	for (i = 0; i < s->n_schemas; i++) {
		sl_arena_free(&s->schemas[i]->arena);
		free(s->schemas[i]);
	}
	free(s->schemas);
	offsets_forget(s);
	sl_buf_free(&s->cmd.data);
	free(s->cmd.off);
	free(s->cmd.len);
	free(s->cmd.argv);
	sl_buf_free(&s->key);
	sl_buf_free(&s->key2);
	sl_buf_free(&s->tmp);
	sl_arena_free(&s->arena);
	free(s->refused);
	free(s->live);
	free(s->prefix);
	free(s);
}

void
mat_redis_stats(const struct mat_redis *s, struct mat_sink_stats *out)
{
	*out = s->st;
}

int
mat_redis_in_txn(const struct mat_redis *s)
{
	return s->in_txn;
}

int
mat_redis_is_swapped(const struct mat_redis *s)
{
	return s->swapped;
}

int
mat_redis_swapped(struct mat_redis *s, int *swapped, struct sl_err *err)
{
	long long gen;
	int rc;

	*swapped = s->swapped;
	if (s->rebuild || s->in_txn || s->swapped)
		return 0;
	if ((rc = gen_get(s, &gen, err)) != 0)
		return rc;
	if (gen != s->gen)
		s->swapped = *swapped = 1;
	return 0;
}

/* ------------------------------------------------------------ transactions */

static int
redis_begin(struct mat_redis *s, struct sl_err *err)
{
	redisReply *r;
	long long gen;
	int rc;

	if (s->in_txn)
		return 0;
	if (s->swapped)
		return sl_errf(err, SL_ESTATE, "view %s: a rebuild was swapped in", s->conf->name);
	if (!s->rebuild) {
		/* a swap after this makes the batch's EXEC fail, applying nothing */
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "WATCH");
		rc_fmt(&s->cmd, "%s%s", s->live, REDIS_GEN);
		if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
			return rc;
		freeReplyObject(r);
		if ((rc = gen_get(s, &gen, err)) != 0)
			return rc;
		if (gen != s->gen) {
			s->swapped = 1;
			r = redisCommand(s->rc, "UNWATCH");
			if (r)
				freeReplyObject(r);
			return sl_errf(err, SL_ESTATE, "view %s: a rebuild was swapped in",
			    s->conf->name);
		}
	}
	s->queued = 0;
	s->read = 0;
	free(s->refused);
	s->refused = NULL;
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "MULTI");
	if ((rc = rc_queue(s, &s->cmd, err)) != 0)
		return rc;
	s->in_txn = 1;
	return 0;
}

void
mat_redis_abort(struct mat_redis *s)
{
	if (!s->in_txn)
		return;
	if (s->rc->err == 0) {
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "DISCARD");
		if (rc_queue(s, &s->cmd, NULL) == 0)
			(void)rc_flush(s, 0, NULL);	/* what MULTI ... DISCARD owes */
	}
	s->in_txn = 0;
	/* the cache may hold offsets the batch moved: the stored ones again */
	offsets_forget(s);
	if (s->rc->err == 0)
		(void)offsets_load(s, NULL);
}

int
mat_redis_commit(struct mat_redis *s, struct sl_err *err)
{
	redisReply *r = NULL;
	void *rv;
	size_t i;
	int rc = 0;

	if (!s->in_txn)
		return 0;
	for (i = 0; i < s->offs.n; i++) {
		if (!s->offs.v[i].dirty)
			continue;
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "HSET");
		rc_fmt(&s->cmd, "%s%s", s->prefix, REDIS_OFFSETS);
		rc_fmt(&s->cmd, "%s:%" PRId32, s->offs.v[i].topic, s->offs.v[i].partition);
		rc_fmt(&s->cmd, "%" PRId64, s->offs.v[i].next);
		if ((rc = rc_queue(s, &s->cmd, err)) != 0)
			goto fail;
	}
	/* not through rc_queue: its flush would read EXEC's reply as a +QUEUED */
	if (redisAppendCommand(s->rc, "EXEC") != REDIS_OK) {
		rc = redis_fail(s, err, "queue EXEC");
		goto fail;
	}
	s->queued++;
	/* MULTI's +OK, a +QUEUED (or an error) per command, then EXEC's reply */
	if ((rc = rc_flush(s, 1, err)) != 0)
		goto fail;
	if (redisGetReply(s->rc, &rv) != REDIS_OK) {
		rc = redis_fail(s, err, "read EXEC's reply");
		goto fail;
	}
	r = rv;
	if (s->refused)
		rc = sl_errf(err, SL_EPROTO, "view %s: redis %s refused a command of the "
		    "batch: %s", s->conf->name, s->conf->redis_addr, s->refused);
	s->in_txn = 0;
	if (r->type == REDIS_REPLY_NIL) {
		/* WATCH: a rebuild was swapped in; nothing of the batch applied */
		freeReplyObject(r);
		s->swapped = 1;
		offsets_forget(s);
		return sl_errf(err, SL_ESTATE, "view %s: a rebuild was swapped in", s->conf->name);
	}
	if (rc == 0 && r->type == REDIS_REPLY_ARRAY) {
		for (i = 0; i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_ERROR) {
				/* Redis does not roll back: the view may be half applied */
				rc = SL_CORRUPT(err, "view %s: redis %s: command %zu of the batch "
				    "failed after others applied (%s): is something else writing "
				    "under key_prefix %s? rebuild the view", s->conf->name,
				    s->conf->redis_addr, i + 1, r->element[i]->str, s->live);
				break;
			}
	} else if (rc == 0) {
		rc = sl_errf(err, SL_EPROTO, "view %s: redis %s: EXEC: %s", s->conf->name,
		    s->conf->redis_addr, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
	freeReplyObject(r);
	if (rc != 0) {
		offsets_forget(s);
		if (s->rc->err == 0)
			(void)offsets_load(s, NULL);
		return rc;
	}
	for (i = 0; i < s->offs.n; i++)
		s->offs.v[i].dirty = 0;
	s->st.commits++;
	lock_renew(s);
	return 0;
fail:
	s->in_txn = 0;
	offsets_forget(s);
	return rc;
}

/* ------------------------------------------------------------------- rows */

/* The cached offset (all were read at open): absent means none stored. */
static struct mat_offset *
offset_find(struct mat_redis *s, const char *topic, int32_t partition)
{
	struct mat_offset *o = mat_offsets_find(&s->offs, topic, partition);

	return o ? o : mat_offsets_add(&s->offs, topic, partition, -1);
}

int
mat_redis_offset_get(struct mat_redis *s, const char *topic, int32_t partition,
    int64_t *next, struct sl_err *err)
{
	(void)err;
	*next = offset_find(s, topic, partition)->next;
	return 0;
}

static const struct mat_schema *
schema_of_event(struct mat_redis *s, const struct sch_table *t)
{
	struct redis_schema *rs;
	size_t i;

	for (i = s->n_schemas; i-- > 0;)
		if (s->schemas[i]->s.id == t->schema_id)
			return &s->schemas[i]->s;
	rs = sl_calloc(1, sizeof(*rs));
	mat_schema_from_event(t, &rs->arena, &rs->s);
	s->schemas = sl_realloc(s->schemas, (s->n_schemas + 1) * sizeof(*s->schemas));
	s->schemas[s->n_schemas++] = rs;
	return &rs->s;
}

/*
 * The row's key, P<table>:<key values as text joined by ':'>, into 'out';
 * the key columns, or every column when the table has none.  0, or
 * SL_EINVAL when a key value is NULL or unchanged.
 */
static int
row_key(struct mat_redis *s, const struct mat_schema *ms, const struct sch_value *img,
    struct sl_buf *out)
{
	uint32_t i, n_keys = 0, k;
	int all;

	for (i = 0; i < ms->n_columns; i++)
		n_keys += ms->columns[i].is_key;
	all = n_keys == 0;
	sl_buf_reset(out);
	sl_buf_printf(out, "%s%s:", s->prefix, ms->table);
	for (i = 0, k = 0; i < ms->n_columns; i++) {
		if (!all && !ms->columns[i].is_key)
			continue;
		if (img[i].kind == SCH_NULL || img[i].kind == SCH_UNCHANGED)
			return SL_EINVAL;
		if (k++)
			sl_buf_add_u8(out, ':');
		mat_value_text(&img[i], &ms->columns[i], out);
	}
	return 0;
}

static int
row_put(struct mat_redis *s, const struct mat_schema *ms, const struct sch_event *ev,
    const struct mat_pos *pos, struct sl_err *err)
{
	const struct sch_value *vals = ev->after;
	uint32_t i, n = ev->table->n_columns < ms->n_columns ? ev->table->n_columns :
	    ms->n_columns;
	int rc, has_unchanged = 0, has_null = 0;

	if (row_key(s, ms, vals, &s->key) != 0)
		return sl_errf(err, SL_EINVAL, "view %s: %s: key not encodable", s->conf->name,
		    ms->table);
	/* a before image under another key: that row moves */
	if (ev->before && row_key(s, ms, ev->before, &s->key2) == 0 &&
	    (s->key2.len != s->key.len || memcmp(s->key2.p, s->key.p, s->key.len) != 0)) {
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "DEL");
		rc_arg(&s->cmd, s->key2.p, s->key2.len);
		if ((rc = rc_queue(s, &s->cmd, err)) != 0)
			return rc;
	}
	for (i = 0; i < n; i++) {
		has_unchanged |= vals[i].kind == SCH_UNCHANGED;
		has_null |= vals[i].kind == SCH_NULL;
	}
	/*
	 * The whole row: no field of an older one may stay.  An insert needs
	 * no DEL: its key holds nothing in a view that applied every change
	 * before it (a delete or truncate removed any earlier row of that key,
	 * from the same partition), the common case spared a command.
	 */
	if (!has_unchanged && ev->op != SCH_OP_CREATE) {
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "DEL");
		rc_arg(&s->cmd, s->key.p, s->key.len);
		if ((rc = rc_queue(s, &s->cmd, err)) != 0)
			return rc;
	}
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "HSET");
	rc_arg(&s->cmd, s->key.p, s->key.len);
	for (i = 0; i < n; i++) {
		if (vals[i].kind == SCH_NULL || vals[i].kind == SCH_UNCHANGED)
			continue;
		rc_str(&s->cmd, ms->columns[i].name);
		rc_value(&s->cmd, &vals[i], &ms->columns[i]);
	}
	rc_str(&s->cmd, REDIS_POS_FIELD);
	rc_fmt(&s->cmd, "%" PRId32 ":%" PRId64, pos->partition, pos->offset);
	if ((rc = rc_queue(s, &s->cmd, err)) != 0)
		return rc;
	if (has_unchanged && has_null) {	/* a column set to NULL loses its field */
		rc_reset(&s->cmd);
		rc_str(&s->cmd, "HDEL");
		rc_arg(&s->cmd, s->key.p, s->key.len);
		for (i = 0; i < n; i++)
			if (vals[i].kind == SCH_NULL)
				rc_str(&s->cmd, ms->columns[i].name);
		if ((rc = rc_queue(s, &s->cmd, err)) != 0)
			return rc;
	}
	return 0;
}

static int
rule_put(void *sink, const struct sch_event *ev, const struct mat_pos *pos,
    struct sl_err *err)
{
	struct mat_redis *s = sink;

	return row_put(s, schema_of_event(s, ev->table), ev, pos, err);
}

static int
rule_del(void *sink, const struct sch_event *ev, const struct sch_value *img,
    struct sl_err *err)
{
	struct mat_redis *s = sink;
	const struct mat_schema *ms = schema_of_event(s, ev->table);

	if (row_key(s, ms, img, &s->key) != 0)
		return sl_errf(err, SL_EINVAL, "view %s: %s: key not encodable", s->conf->name,
		    ms->table);
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "DEL");
	rc_arg(&s->cmd, s->key.p, s->key.len);
	return rc_queue(s, &s->cmd, err);
}

static int
rule_truncate(void *sink, const struct sch_event *ev, int32_t partition, struct sl_err *err)
{
	struct mat_redis *s = sink;
	const struct mat_schema *ms = schema_of_event(s, ev->table);

	sl_buf_reset(&s->key);
	sl_buf_printf(&s->key, "%s%s:", s->prefix, ms->table);
	sl_buf_add_u8(&s->key, 0);
	match_prefix(&s->tmp, (const char *)s->key.p);
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "EVAL");
	rc_str(&s->cmd, truncate_lua);
	rc_str(&s->cmd, "0");
	rc_str(&s->cmd, (const char *)s->tmp.p);
	rc_fmt(&s->cmd, "%" PRId32 ":", partition);
	return rc_queue(s, &s->cmd, err);
}

static const struct mat_sink_rules redis_rules = { rule_put, rule_del, rule_truncate };

int
mat_redis_apply(struct mat_redis *s, const struct sch_event *ev,
    const struct mat_origin *origin, struct sl_err *err)
{
	struct mat_offset *o = offset_find(s, origin->topic, origin->partition);
	struct mat_pos pos;
	int rc;

	if (origin->offset < o->next) {
		s->st.skipped++;
		return 1;	/* already in the view */
	}
	if ((rc = redis_begin(s, err)) != 0)
		return rc;
	mat_pos_of(origin, ev, &pos);
	rc = mat_apply_event(&redis_rules, s, s->conf->name, ev, &pos, &s->st, err);
	sl_arena_reset(&s->arena);
	if (rc == SL_EINVAL)
		return rc;	/* nothing of it was queued; the caller decides */
	if (rc != 0) {
		mat_redis_abort(s);
		return rc;
	}
	o->next = origin->offset + 1;	/* queued at commit, same MULTI */
	o->dirty = 1;
	return 0;
}

/* ------------------------------------------------------------------ rebuild */

/*
 * rebuild_db: the rebuilt database takes the live one's place by SWAPDB,
 * O(1) and atomic (and it fires the live sink's WATCH), after its
 * generation is set past the live one; the old view, now in the rebuild
 * database, is cleared a SCAN at a time.
 */
static int
select_db(struct mat_redis *s, int64_t db, struct sl_err *err)
{
	redisReply *r;
	int rc;

	rc_reset(&s->cmd);
	rc_str(&s->cmd, "SELECT");
	rc_fmt(&s->cmd, "%" PRId64, db);
	if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
		return rc;
	freeReplyObject(r);
	return 0;
}

static int
swap_db(struct mat_redis *s, struct sl_err *err)
{
	redisReply *r;
	long long gen;
	int rc;

	if ((rc = select_db(s, s->conf->redis_db, err)) != 0 ||
	    (rc = gen_get(s, &gen, err)) != 0 ||
	    (rc = select_db(s, s->conf->rebuild_db, err)) != 0)
		return rc;
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "SET");
	rc_fmt(&s->cmd, "%s%s", s->live, REDIS_GEN);
	rc_fmt(&s->cmd, "%lld", gen + 1);
	if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
		return rc;
	freeReplyObject(r);
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "SWAPDB");
	rc_fmt(&s->cmd, "%" PRId64, s->conf->redis_db);
	rc_fmt(&s->cmd, "%" PRId64, s->conf->rebuild_db);
	if ((r = rc_call(s, &s->cmd, err, &rc)) == NULL)
		return rc;
	freeReplyObject(r);
	return delete_prefix(s, s->live, err);	/* the old view, now here */
}

int
mat_redis_swap_in(struct mat_redis *s, struct sl_err *err)
{
	struct sl_buf live_pat = { 0 };
	redisReply *r;
	int rc;

	if (!s->rebuild || s->in_txn)
		return sl_errf(err, SL_ESTATE, "view %s: nothing to swap in", s->conf->name);
	if (s->conf->rebuild_db >= 0)
		return swap_db(s, err);
	match_prefix(&live_pat, s->live);
	rc_reset(&s->cmd);
	rc_str(&s->cmd, "EVAL");
	rc_str(&s->cmd, swap_lua);
	rc_str(&s->cmd, "0");
	rc_str(&s->cmd, s->live);
	rc_str(&s->cmd, s->prefix);
	rc_str(&s->cmd, (const char *)live_pat.p);
	r = rc_call(s, &s->cmd, err, &rc);
	sl_buf_free(&live_pat);
	if (r == NULL)
		return rc;
	freeReplyObject(r);
	return 0;
}

/* ------------------------------------------------------------------ status */

int
mat_redis_offsets(const struct mat_view_conf *conf,
    int (*fn)(const char *topic, int32_t partition, int64_t next, void *ctx), void *ctx,
    struct sl_err *err)
{
	struct mat_redis *s;
	size_t i;
	int rc;

	if ((rc = mat_redis_open(conf, 0, &s, err)) != 0)
		return rc;
	for (i = 0; i < s->offs.n && rc == 0; i++)
		rc = fn(s->offs.v[i].topic, s->offs.v[i].partition, s->offs.v[i].next, ctx);
	mat_redis_close(s);
	return rc;
}
