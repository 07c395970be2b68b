/*
 * materialize/consumer.c: `sluice materialize` for one view: a librdkafka
 * consumer feeding the view's sink in batches (an LMDB view, or an SQLite
 * FTS5 search view: the same contract, mat.h), the rebuild-and-swap, and
 * progress reporting.
 *
 * It is not a sink (lmdb_sink.c, fts_sink.c) and knows nothing of row
 * layouts.
 *
 * STATES of a live view (mat_run without rebuild)
 *   open      view_open(): resolve the path, open the sink, make the
 *             consumer, subscribe
 *   assigned  on_rebalance(): each assigned partition starts at the offset
 *             stored in the view (__offsets), or the beginning
 *   batching  consume_one(): events join the sink's open transaction
 *   commit    batch_commit(): after batch_events events, batch_ms after
 *             the first, when the consumer has nothing more, or before
 *             partitions are revoked
 *   told      offsets_tell(): the view's committed offsets go to the
 *             broker, for monitoring only, at most every
 *             offset_commit_interval, and at once on a rebalance and at
 *             shutdown
 *   swapped   the path now names another directory (a rebuild finished):
 *             close the consumer and the sink and go back to open, so the
 *             new environment's offsets decide where to resume
 *
 * INVARIANTS
 *  (1) The position the consumer starts a partition at is the view's own
 *      stored offset; offsets committed to the broker are never read.
 *  (2) A message at an offset below the view's stored next offset is not
 *      applied again (the sink skips it), so a replay after a crash or a
 *      rebalance changes nothing.
 *  (3) A rebuild swaps the path only after the new environment has
 *      committed every partition up to the high watermark it measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "materialize/mat.h"
#include "materialize/mat_int.h"

/*
 * A partition this consumer has applied events from.  Entries are made on
 * the first event of a partition and kept (the topic copied once), so a
 * batch allocates nothing here.
 */
struct touched {
	char *topic;
	int32_t partition;
	int64_t next;			/* next offset, as applied in the open batch */
	int64_t durable;		/* next offset committed to the view, -1 none */
	int64_t told;			/* last offset committed to the broker, -1 none */
};

/* When batch_commit() tells the broker the offsets the view committed. */
enum tell {
	TELL_NEVER,			/* rebuild: the group is not ours */
	TELL_DUE,			/* once offset_commit_interval has passed */
	TELL_NOW			/* revoke, shutdown */
};

/* Messages taken from librdkafka per call. */
#define MAT_POLL_BATCH 1024

struct mat_consumer {
	const struct mat_view_conf *conf;
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;	/* the consumer queue of rk */
	struct mat_lmdb *lmdb;		/* the sink: LMDB view, */
	struct mat_fts *fts;		/* or search view (conf->fts), */
	struct mat_redis *redis;	/* or cache view (conf->redis) */
	struct sl_buf dir;		/* the environment directory open */
	struct sl_arena arena;		/* per event */
	int64_t batch_n;
	int64_t batch_start_ns;
	int64_t last_ts;		/* Kafka timestamp of the last applied message */
	struct touched *touched;	/* partitions applied from, ever */
	size_t n_touched;
	int64_t told_ns;		/* when the broker was last told offsets */
	int batch_dirty;		/* 'next' moved in the open batch */
	int failed;			/* a rebalance callback failed */
	rd_kafka_topic_partition_list_t *targets;	/* rebuild: fixed end */
	int64_t chase_start;		/* rebuild: first caught-up check */
	struct sl_err cb_err;
	struct mat_metrics *metrics;
};

static int
kconf_set(rd_kafka_conf_t *kc, const char *k, const char *v, struct sl_err *err)
{
	char es[256];

	if (rd_kafka_conf_set(kc, k, v, es, sizeof(es)) != RD_KAFKA_CONF_OK)
		return sl_errf(err, SL_ECONFIG, "kafka option %s = %s: %s", k, v, es);
	return 0;
}

/* ------------------------------------------------------------------ sink */

/* The view's sink, LMDB or SQLite FTS5: the same contract (mat.h). */
/* 'dir' is the LMDB or SQLite view's folder; a cache view has none. */
static int
sink_open(struct mat_consumer *c, const char *dir, int rebuild, struct sl_err *err)
{
	return c->conf->redis ? mat_redis_open(c->conf, rebuild, &c->redis, err) :
	    c->conf->fts ? mat_fts_open(dir, c->conf, &c->fts, err) :
	    mat_lmdb_open(dir, c->conf, &c->lmdb, err);
}

static void
sink_close(struct mat_consumer *c)
{
	mat_redis_close(c->redis);
	mat_fts_close(c->fts);
	mat_lmdb_close(c->lmdb);
	c->redis = NULL;
	c->fts = NULL;
	c->lmdb = NULL;
}

static int
sink_apply(struct mat_consumer *c, const struct sch_event *ev, const struct mat_origin *o,
    struct sl_err *err)
{
	return c->redis ? mat_redis_apply(c->redis, ev, o, err) :
	    c->fts ? mat_fts_apply(c->fts, ev, o, err) : mat_lmdb_apply(c->lmdb, ev, o, err);
}

static int
sink_commit(struct mat_consumer *c, struct sl_err *err)
{
	return c->redis ? mat_redis_commit(c->redis, err) :
	    c->fts ? mat_fts_commit(c->fts, err) : mat_lmdb_commit(c->lmdb, err);
}

static void
sink_abort(struct mat_consumer *c)
{
	if (c->redis)
		mat_redis_abort(c->redis);
	else if (c->fts)
		mat_fts_abort(c->fts);
	else if (c->lmdb)
		mat_lmdb_abort(c->lmdb);
}

static int
sink_in_txn(const struct mat_consumer *c)
{
	return c->redis ? mat_redis_in_txn(c->redis) : c->fts ? mat_fts_in_txn(c->fts) :
	    c->lmdb ? mat_lmdb_in_txn(c->lmdb) : 0;
}

static int
sink_offset_get(struct mat_consumer *c, const char *topic, int32_t partition, int64_t *next,
    struct sl_err *err)
{
	return c->redis ? mat_redis_offset_get(c->redis, topic, partition, next, err) :
	    c->fts ? mat_fts_offset_get(c->fts, topic, partition, next, err) :
	    mat_lmdb_offset_get(c->lmdb, topic, partition, next, err);
}

static void
sink_stats(const struct mat_consumer *c, struct mat_sink_stats *out)
{
	if (c->redis)
		mat_redis_stats(c->redis, out);
	else if (c->fts)
		mat_fts_stats(c->fts, out);
	else
		mat_lmdb_stats(c->lmdb, out);
}

/* A cache view whose batch was refused because a rebuild was swapped in. */
static int
sink_swapped(const struct mat_consumer *c)
{
	return c->redis && mat_redis_is_swapped(c->redis);
}

/* ---------------------------------------------------------------- batches */

static void
touched_note(struct mat_consumer *c, const char *topic, int32_t partition, int64_t next)
{
	struct touched *t;
	size_t i;

	c->batch_dirty = 1;
	for (i = 0; i < c->n_touched; i++)
		if (c->touched[i].partition == partition && strcmp(c->touched[i].topic, topic) == 0) {
			c->touched[i].next = next;
			return;
		}
	c->touched = sl_realloc(c->touched, (c->n_touched + 1) * sizeof(*c->touched));
	t = &c->touched[c->n_touched++];
	t->topic = sl_strdup(topic);
	t->partition = partition;
	t->next = next;
	t->durable = -1;
	t->told = -1;
}

/* The open batch was committed: what it applied is now in the view. */
static void
touched_durable(struct mat_consumer *c)
{
	size_t i;

	if (!c->batch_dirty)
		return;
	for (i = 0; i < c->n_touched; i++)
		c->touched[i].durable = c->touched[i].next;
	c->batch_dirty = 0;
}

/* The open batch was dropped: forget what it applied. */
static void
touched_undo(struct mat_consumer *c)
{
	size_t i;

	for (i = 0; i < c->n_touched; i++)
		c->touched[i].next = c->touched[i].durable;
	c->batch_dirty = 0;
}

static void
touched_free(struct mat_consumer *c)
{
	size_t i;

	for (i = 0; i < c->n_touched; i++)
		free(c->touched[i].topic);
	free(c->touched);
	c->touched = NULL;
	c->n_touched = 0;
}

/*
 * Commit to the broker the offsets the view has committed and the broker
 * has not been told, asynchronously: for monitoring only (1), so a lost
 * or late one costs nothing but a stale lag figure.
 */
static void
offsets_tell(struct mat_consumer *c)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	size_t i;

	c->told_ns = sl_mono_ns();
	if (c->rk == NULL || c->conf->group_id == NULL)
		return;
	for (i = 0; i < c->n_touched; i++) {
		struct touched *t = &c->touched[i];

		if (t->durable <= t->told)
			continue;
		if (l == NULL)
			l = rd_kafka_topic_partition_list_new((int)c->n_touched);
		rd_kafka_topic_partition_list_add(l, t->topic, t->partition)->offset = t->durable;
		t->told = t->durable;
	}
	if (l != NULL) {
		(void)rd_kafka_commit(c->rk, l, 1);	/* informational (1) */
		rd_kafka_topic_partition_list_destroy(l);
	}
}

/* 1 when offsets_tell() is due at 'now' (sl_mono_ns). */
static int
offsets_due(const struct mat_consumer *c, int64_t now)
{
	return now - c->told_ns >= c->conf->offset_commit_interval * 1000000;
}

/*
 * Commit the open batch (mat_int.h (1)), then, as 'tell' says, tell the
 * broker.  Telling it after every batch would cost a request (and a
 * broker fsync of its offsets) per batch: for a view following single-row
 * transactions, half of its system calls; hence offset_commit_interval.
 */
static int
batch_commit(struct mat_consumer *c, enum tell tell, struct sl_err *err)
{
	int rc;

	if (sink_in_txn(c)) {
		if ((rc = sink_commit(c, err)) != 0) {
			touched_undo(c);
			return rc;
		}
		touched_durable(c);
		mat_metrics_add(c->metrics, MAT_M_COMMITS, 1);
		if (c->last_ts > 0) {
			mat_metrics_set(c->metrics, MAT_M_DELAY, sl_now_ms() - c->last_ts);
			sl_debug("view %s: committed %" PRId64 " events, the last produced %"
			    PRId64 " ms ago", c->conf->name, c->batch_n, sl_now_ms() - c->last_ts);
		}
	}
	c->batch_n = 0;
	if (tell == TELL_NOW || (tell == TELL_DUE && offsets_due(c, sl_mono_ns())))
		offsets_tell(c);
	return 0;
}

/* Decode and apply one message; 0 or an error naming its position. */
static int
consume_one(struct mat_consumer *c, const rd_kafka_message_t *m, struct sl_err *err)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct mat_origin o = { topic, m->partition, m->offset };
	struct sch_event ev, *evp = NULL;
	struct sl_err e2 = { 0 };
	size_t tl = strlen(topic);
	int rc = 0;

	if (m->payload != NULL && m->len > 0) {
		if (c->conf->format == MAT_FORMAT_JSON) {
			rc = mat_json_event_decode(sl_slice_make(m->key, m->key ? m->key_len : 0),
			    sl_slice_make(m->payload, m->len), &c->arena, &ev, &e2);
		} else {
			rc = sch_event_decode_pb(sl_slice_make(m->payload, m->len), &c->arena, &ev,
			    &e2);
			/* transaction and heartbeat topics carry other messages */
			if (rc != 0 && ((tl > 12 && strcmp(topic + tl - 12, ".transaction") == 0) ||
			    (tl > 10 && strcmp(topic + tl - 10, ".heartbeat") == 0)))
				rc = SL_ENOTFOUND;
		}
		if (rc == 0)
			evp = &ev;
		else if (rc != SL_ENOTFOUND) {
			rc = sl_errf(err, rc, "view %s: %s/%" PRId32 " offset %" PRId64 ": %s",
			    c->conf->name, topic, m->partition, m->offset, sl_err_msg(&e2, rc));
			goto out;
		}
	}
	if (c->batch_n == 0)
		c->batch_start_ns = sl_mono_ns();
	rc = sink_apply(c, evp, &o, &e2);
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		rc = sl_errf(err, rc, "view %s: applying %s/%" PRId32 " offset %" PRId64 ": %s",
		    c->conf->name, topic, m->partition, m->offset, sl_err_msg(&e2, rc));
		goto out;
	}
	c->batch_n++;
	c->last_ts = rd_kafka_message_timestamp(m, NULL);
	touched_note(c, topic, m->partition, m->offset + 1);
	mat_metrics_add(c->metrics, MAT_M_EVENTS, 1);
out:
	sl_arena_reset(&c->arena);
	return rc;
}

/* -------------------------------------------------------------- rebalance */

static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t kerr,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct mat_consumer *c = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	int i, rc;

	/* whatever is applied is committed (and told) before partitions move */
	if ((rc = batch_commit(c, TELL_NOW, &c->cb_err)) != 0)
		c->failed = rc;
	if (kerr == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (i = 0; i < parts->cnt; i++) {
			rd_kafka_topic_partition_t *p = &parts->elems[i];
			int64_t next = -1;

			if ((rc = sink_offset_get(c, p->topic, p->partition, &next,
			    &c->cb_err)) != 0)
				c->failed = rc;
			p->offset = next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;	/* (1) */
			if (next >= 0)
				sl_info("view %s: assigned %s/%" PRId32 " from stored offset %" PRId64,
				    c->conf->name, p->topic, p->partition, next);
			else
				sl_info("view %s: assigned %s/%" PRId32 " from the beginning",
				    c->conf->name, p->topic, p->partition);
		}
		if (coop)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
		else
			rd_kafka_assign(rk, parts);
	} else {
		if (coop)
			rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
		else
			rd_kafka_assign(rk, NULL);
	}
}

/* ---------------------------------------------------------------- open */

static int
consumer_make(struct mat_consumer *c, int grouped, struct sl_err *err)
{
	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	char es[512], *gid;
	size_t i;
	int rc;

	if ((rc = kconf_set(kc, "bootstrap.servers", c->conf->bootstrap, err)) != 0 ||
	    (rc = kconf_set(kc, "enable.auto.commit", "false", err)) != 0 ||
	    (rc = kconf_set(kc, "enable.auto.offset.store", "false", err)) != 0 ||
	    (rc = kconf_set(kc, "auto.offset.reset", "earliest", err)) != 0 ||
	    (rc = kconf_set(kc, "enable.partition.eof", "false", err)) != 0 ||
	    (rc = kconf_set(kc, "client.id", c->conf->group_id, err)) != 0 ||
	    /*
	     * The broker answers a waiting fetch as soon as data arrives, so
	     * the wait adds no latency; but 100 ms cost a rebuild ~20% of its
	     * rate in bench/materialize (librdkafka fetches less eagerly), so
	     * idle views pay a few round trips a second instead.
	     */
	    (rc = kconf_set(kc, "fetch.wait.max.ms", "20", err)) != 0 ||
	    /* TCP_NODELAY, as capture's producer (capture/produce.c) */
	    (rc = kconf_set(kc, "socket.nagle.disable", "true", err)) != 0 ||
	    /* notice a topic capture creates after we subscribed, soon */
	    (rc = kconf_set(kc, "topic.metadata.refresh.interval.ms", "2000", err)) != 0 ||
	    (rc = kconf_set(kc, "log_level", "3", err)) != 0)
		goto fail;
	/*
	 * librdkafka wants a group even for assign(); a rebuild takes its own
	 * and never joins it, so the live materializer keeps its partitions.
	 */
	gid = grouped ? sl_strdup(c->conf->group_id) : sl_asprintf("%s-rebuild",
	    c->conf->group_id);
	rc = kconf_set(kc, "group.id", gid, err);
	free(gid);
	if (rc != 0)
		goto fail;
	for (i = 0; i < c->conf->n_consumer; i++)
		if ((rc = kconf_set(kc, c->conf->consumer[i].key, c->conf->consumer[i].value,
		    err)) != 0)
			goto fail;
	rd_kafka_conf_set_opaque(kc, c);
	if (grouped)
		rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, es, sizeof(es));
	if (c->rk == NULL) {
		rc = sl_errf(err, SL_ECONFIG, "view %s: kafka consumer: %s", c->conf->name, es);
		rd_kafka_conf_destroy(kc);
		return rc;
	}
	rd_kafka_poll_set_consumer(c->rk);
	c->queue = rd_kafka_queue_get_consumer(c->rk);
	return 0;
fail:
	rd_kafka_conf_destroy(kc);
	return rc;
}

static void
consumer_close(struct mat_consumer *c)
{
	if (c->rk == NULL)
		return;
	if (c->queue)
		rd_kafka_queue_destroy(c->queue);
	c->queue = NULL;
	rd_kafka_consumer_close(c->rk);	/* revokes: the callback commits */
	rd_kafka_destroy(c->rk);
	c->rk = NULL;
}

static int
subscribe(struct mat_consumer *c, struct sl_err *err)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(
	    (int)c->conf->n_topics);
	rd_kafka_resp_err_t ke;
	size_t i;

	for (i = 0; i < c->conf->n_topics; i++)
		rd_kafka_topic_partition_list_add(l, c->conf->topics[i], RD_KAFKA_PARTITION_UA);
	ke = rd_kafka_subscribe(c->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (ke != 0)
		return sl_errf(err, SL_EPROTO, "view %s: subscribe: %s", c->conf->name,
		    rd_kafka_err2str(ke));
	return 0;
}

/*
 * 1 when the view path now names a directory other than c->dir (for a
 * cache view: when Redis says a rebuild was swapped in).
 */
static int
path_swapped(struct mat_consumer *c)
{
	struct sl_buf d = { 0 };
	char a[PATH_MAX];
	int swapped = 0;

	if (c->redis) {
		struct sl_err e = { 0 };
		int rc = mat_redis_swapped(c->redis, &swapped, &e);

		if (rc != 0)	/* the next batch meets the same trouble, and says so */
			sl_warn("%s", sl_err_msg(&e, rc));
		return swapped;
	}
	/* c->dir holds the real path taken at open: it may be gone by now */
	if (mat_path_resolve(c->conf->path, 0, &d, NULL) == 0 &&
	    realpath((const char *)d.p, a) != NULL)
		swapped = strcmp(a, (const char *)c->dir.p) != 0;
	sl_buf_free(&d);
	return swapped;
}

/* ----------------------------------------------------------------- progress */

/* Sum over the assignment of (high watermark - position); -1 if unknown. */
static int64_t
lag_now(struct mat_consumer *c)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	int64_t lag = 0, lo, hi, next;
	int i;

	if (rd_kafka_assignment(c->rk, &a) != 0 || a == NULL)
		return -1;
	for (i = 0; i < a->cnt; i++) {
		if (rd_kafka_get_watermark_offsets(c->rk, a->elems[i].topic, a->elems[i].partition,
		    &lo, &hi) != 0 || hi < 0)
			continue;
		if (sink_offset_get(c, a->elems[i].topic, a->elems[i].partition, &next,
		    NULL) != 0)
			continue;
		if (next < lo)
			next = lo;
		if (hi > next)
			lag += hi - next;
	}
	rd_kafka_topic_partition_list_destroy(a);
	return lag;
}

/* ---------------------------------------------------------------- rebuild */

/*
 * Assign every partition of the view's topics from the beginning (no
 * group: a rebuild must not take partitions from the live materializer).
 */
static int
rebuild_assign(struct mat_consumer *c, struct sl_err *err)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t ke;
	size_t i;
	int j, k, rc = 0, tries;

	for (i = 0; i < c->conf->n_topics && rc == 0; i++) {
		rd_kafka_topic_t *t = rd_kafka_topic_new(c->rk, c->conf->topics[i], NULL);

		for (tries = 0; tries < 50; tries++) {
			ke = rd_kafka_metadata(c->rk, 0, t, &md, 5000);
			if (ke == 0 && md->topic_cnt == 1 && md->topics[0].err == 0)
				break;
			if (md)
				rd_kafka_metadata_destroy(md);
			md = NULL;
			if (ke == 0)
				ke = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
			if (tries < 49)
				rd_kafka_poll(c->rk, 100);
		}
		rd_kafka_topic_destroy(t);
		if (md == NULL) {
			rc = sl_errf(err, SL_EPROTO, "view %s: rebuild: topic %s: %s", c->conf->name,
			    c->conf->topics[i], rd_kafka_err2str(ke));
			break;
		}
		for (j = 0; j < md->topic_cnt; j++)
			for (k = 0; k < md->topics[j].partition_cnt; k++)
				rd_kafka_topic_partition_list_add(l, md->topics[j].topic,
				    md->topics[j].partitions[k].id)->offset = RD_KAFKA_OFFSET_BEGINNING;
		rd_kafka_metadata_destroy(md);
		md = NULL;
	}
	if (rc == 0 && (ke = rd_kafka_assign(c->rk, l)) != 0)
		rc = sl_errf(err, SL_EPROTO, "view %s: rebuild: assign: %s", c->conf->name,
		    rd_kafka_err2str(ke));
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}

/*
 * '*caught' = 1 when every assigned partition's committed next offset has
 * reached its target (3).  Targets are the high watermarks the broker
 * reports at each check, until the rebuild is close (at most
 * MAT_REBUILD_SLACK messages behind in all) or has checked for
 * MAT_REBUILD_CHASE_NS: then the watermarks of that moment become fixed
 * targets, so a rebuild under a steady stream of changes still ends.  The
 * live materializer resumes from the swapped view's offsets, so nothing
 * produced after the targets is lost.
 */
#define MAT_REBUILD_SLACK 1000
#define MAT_REBUILD_CHASE_NS (30 * 1000000000LL)

static int
rebuild_caught_up(struct mat_consumer *c, int *caught, struct sl_err *err)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	rd_kafka_topic_partition_t *tp;
	rd_kafka_resp_err_t ke;
	int64_t lo, hi, next, lag = 0;
	int i, rc = 0, fixed = c->targets != NULL;

	*caught = 0;
	if (c->chase_start == 0)
		c->chase_start = sl_mono_ns();
	if ((ke = rd_kafka_assignment(c->rk, &a)) != 0)
		return sl_errf(err, SL_EPROTO, "view %s: assignment: %s", c->conf->name,
		    rd_kafka_err2str(ke));
	if (!fixed)
		c->targets = rd_kafka_topic_partition_list_new(a->cnt);
	for (i = 0; i < a->cnt; i++) {
		if (fixed) {
			tp = rd_kafka_topic_partition_list_find(c->targets, a->elems[i].topic,
			    a->elems[i].partition);
			hi = tp ? tp->offset : 0;
			lo = 0;
		} else {
			ke = rd_kafka_query_watermark_offsets(c->rk, a->elems[i].topic,
			    a->elems[i].partition, &lo, &hi, 5000);
			if (ke != 0) {
				lag = -1;	/* ask again later */
				break;
			}
			/* an emptied partition (all deleted) has nothing to wait for */
			rd_kafka_topic_partition_list_add(c->targets, a->elems[i].topic,
			    a->elems[i].partition)->offset = hi > lo ? hi : -1;
		}
		if ((rc = sink_offset_get(c, a->elems[i].topic, a->elems[i].partition,
		    &next, err)) != 0)
			break;
		if (next < lo)
			next = lo;
		if (next < hi)
			lag += hi - next;
	}
	rd_kafka_topic_partition_list_destroy(a);
	if (rc != 0)
		return rc;
	if (lag == 0) {
		*caught = 1;
		return 0;
	}
	if (!fixed && (lag < 0 || (lag > MAT_REBUILD_SLACK &&
	    sl_mono_ns() - c->chase_start < MAT_REBUILD_CHASE_NS))) {
		rd_kafka_topic_partition_list_destroy(c->targets);	/* chase on */
		c->targets = NULL;
	}
	return 0;
}

/* ------------------------------------------------------------------ run */

/* Consume until stop, failure, or (rebuild) the caught-up check passes. */
static int
consume_loop(struct mat_consumer *c, volatile sig_atomic_t *stop, int rebuild,
    int *swapped, struct sl_err *err)
{
	int64_t last_report = sl_mono_ns(), last_check = last_report, reported_events = 0;
	int64_t last_warn = 0;
	rd_kafka_resp_err_t last_kerr = 0;
	int rc = 0;

	*swapped = 0;
	while (!*stop) {
		rd_kafka_message_t *msgs[MAT_POLL_BATCH], *m;
		ssize_t got = 0, i;
		int64_t now;
		int drained;

		/*
		 * Wait for one message (not for a full batch: that would hold a
		 * lone change back), then take whatever else is already here.
		 * An open batch waits for nothing: it is committed once the
		 * queue is empty, so latency stays low when changes trickle in
		 * and batches grow by themselves while commits are slow.
		 */
		m = rd_kafka_consumer_poll(c->rk, c->batch_n > 0 ? 0 : 200);
		if (m != NULL) {
			msgs[0] = m;
			got = 1 + rd_kafka_consume_batch_queue(c->queue, 0, msgs + 1,
			    MAT_POLL_BATCH - 1);
			if (got < 1)
				got = 1;
		}
		drained = got < MAT_POLL_BATCH;
		if (c->failed) {
			rc = sl_errf(err, c->failed, "%s", sl_err_msg(&c->cb_err, c->failed));
			for (i = 0; i < got; i++)
				rd_kafka_message_destroy(msgs[i]);
			break;
		}
		for (i = 0; i < got; i++) {
			rd_kafka_message_t *mi = msgs[i];

			if (rc == 0 && mi->err == 0) {
				rc = consume_one(c, mi, err);
			} else if (rc == 0 && mi->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
			    (mi->err != last_kerr || sl_mono_ns() - last_warn > 10000000000LL)) {
				/* e.g. a topic capture has not created yet: say so now and then */
				sl_warn("view %s: consumer: %s", c->conf->name,
				    rd_kafka_message_errstr(mi));
				last_kerr = mi->err;
				last_warn = sl_mono_ns();
			}
			rd_kafka_message_destroy(mi);
		}
		if (rc != 0)
			break;
		now = sl_mono_ns();
		/* commit when the batch is full, old, or nothing more is waiting */
		if (c->batch_n > 0 && (drained || c->batch_n >= c->conf->batch_events ||
		    now - c->batch_start_ns >= c->conf->batch_ms * 1000000)) {
			if ((rc = batch_commit(c, rebuild ? TELL_NEVER : TELL_DUE, err)) != 0)
				break;
		} else if (!rebuild && c->batch_n == 0 && offsets_due(c, now))
			offsets_tell(c);	/* what the last batches committed */
		if (now - last_report >= 1000000000) {
			struct mat_sink_stats st;
			int64_t lag = lag_now(c);
			double secs = (double)(now - last_report) / 1e9;

			sink_stats(c, &st);
			mat_metrics_set(c->metrics, MAT_M_LAG, lag);
			mat_metrics_set(c->metrics, MAT_M_RATE,
			    (int64_t)((double)((int64_t)st.applied + (int64_t)st.skipped -
			    reported_events) / secs));
			if (rebuild)
				fprintf(stderr, "sluice: rebuild %s: %" PRIu64 " events, %.0f events/s, "
				    "lag %" PRId64 "\n", c->conf->name, st.applied + st.skipped,
				    (double)((int64_t)st.applied + (int64_t)st.skipped -
				    reported_events) / secs, lag);
			reported_events = (int64_t)(st.applied + st.skipped);
			last_report = now;
		}
		if (!rebuild && now - last_check >= 1000000000) {
			last_check = now;
			if (path_swapped(c)) {
				*swapped = 1;
				break;
			}
		}
		if (rebuild && ((m == NULL && c->batch_n == 0 && now - last_check >= 200000000) ||
		    now - last_check >= 1000000000)) {
			int caught = 0;

			last_check = now;
			if ((rc = batch_commit(c, TELL_NEVER, err)) != 0)
				break;
			if ((rc = rebuild_caught_up(c, &caught, err)) != 0)
				break;
			if (caught)
				break;
		}
	}
	if (rc == 0)
		rc = batch_commit(c, rebuild ? TELL_NEVER : TELL_NOW, err);
	else {
		sink_abort(c);
		touched_undo(c);
	}
	if (rc != 0 && sink_swapped(c)) {
		/* a cache view's batch was refused, nothing applied: reopen */
		*swapped = 1;
		rc = 0;
	}
	return rc;
}

static void
view_close(struct mat_consumer *c)
{
	consumer_close(c);	/* the revoke tells the broker what is left */
	sink_close(c);
	touched_free(c);	/* a swapped-in view has offsets of its own */
}

static int
view_open(struct mat_consumer *c, const char *dir, int rebuild, struct sl_err *err)
{
	char real[PATH_MAX];
	int rc;

	if (dir != NULL) {	/* NULL for a cache view */
		if ((rc = sl_mkdir_p(dir, 0755)) != 0)
			return sl_errf(err, rc, "view %s: mkdir %s: %s", c->conf->name, dir,
			    sl_strerror(rc));
		sl_buf_reset(&c->dir);
		sl_buf_printf(&c->dir, "%s", realpath(dir, real) ? real : dir);
	}
	if ((rc = sink_open(c, dir, rebuild, err)) != 0)
		return rc;
	if ((rc = consumer_make(c, !rebuild, err)) != 0)
		return rc;
	return rebuild ? rebuild_assign(c, err) : subscribe(c, err);
}

static int run_rebuild(struct mat_consumer *c, volatile sig_atomic_t *stop,
    struct sl_err *err);

static int
run_live(struct mat_consumer *c, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct sl_buf dir = { 0 };
	struct sl_err e = { 0 };
	int rc, swapped;

	for (;;) {
		if ((rc = mat_path_resolve(c->conf->path, 1, &dir, err)) != 0)
			break;
		if (mat_unsynced_check((const char *)dir.p, c->conf->name, &e) != 0) {
			/* sync = none and the system went down: rebuild it beside */
			sl_warn("view %s; rebuilding it from offset 0", sl_err_msg(&e, SL_ECORRUPT));
			if ((rc = run_rebuild(c, stop, err)) != 0)
				break;
			continue;
		}
		sl_info("view %s: %s (%s) from %s, topics %s%s", c->conf->name, c->conf->path,
		    (const char *)dir.p, c->conf->bootstrap, c->conf->topics[0],
		    c->conf->n_topics > 1 ? ",..." : "");
		if ((rc = view_open(c, (const char *)dir.p, 0, err)) != 0)
			break;
		rc = consume_loop(c, stop, 0, &swapped, err);
		view_close(c);
		if (rc != 0 || !swapped)
			break;
		sl_info("view %s: the view was rebuilt and swapped in; reopening",
		    c->conf->name);
	}
	view_close(c);
	sl_buf_free(&dir);
	return rc;
}

static int
run_rebuild(struct mat_consumer *c, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct sl_buf live = { 0 }, next = { 0 }, old = { 0 };
	struct mat_sink_stats st;
	int64_t t0 = sl_mono_ns();
	char *lockp = NULL;
	int rc, swapped, swapped_in = 0, lockfd = -1;

	if ((rc = mat_path_resolve(c->conf->path, 1, &live, err)) != 0)
		goto out;
	/* one rebuild at a time: the next version's folder is cleared first */
	lockp = sl_asprintf("%s.rebuild.lock", c->conf->path);
	lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		rc = sl_errf(err, SL_ESTATE, "view %s: %s: %s", c->conf->name, lockp,
		    errno == EWOULDBLOCK ? "another rebuild of this view is running" :
		    strerror(errno));
		goto out;
	}
	if ((rc = mat_path_next(c->conf->path, &next, err)) != 0)
		goto out;
	sl_info("view %s: rebuilding into %s from offset 0 (live: %s)", c->conf->name,
	    (const char *)next.p, (const char *)live.p);
	mat_metrics_set(c->metrics, MAT_M_REBUILD, 1);
	if ((rc = view_open(c, (const char *)next.p, 1, err)) != 0 ||
	    (rc = consume_loop(c, stop, 1, &swapped, err)) != 0)
		goto out;
	if (*stop) {
		rc = sl_errf(err, SL_ESTATE, "view %s: rebuild interrupted; the live view is "
		    "unchanged", c->conf->name);
		goto out;
	}
	sink_stats(c, &st);
	view_close(c);
	if ((rc = mat_path_swap(c->conf->path, (const char *)next.p, &old, err)) != 0)
		goto out;
	swapped_in = 1;
	fprintf(stderr, "sluice: rebuild %s: %" PRIu64 " events in %.1f s; swapped in %s\n",
	    c->conf->name, st.applied + st.skipped, (double)(sl_mono_ns() - t0) / 1e9,
	    (const char *)next.p);
	if (old.len > 0 && strcmp((const char *)old.p, (const char *)next.p) != 0)
		(void)sl_rm_rf((const char *)old.p);
out:
	mat_metrics_set(c->metrics, MAT_M_REBUILD, 0);
	view_close(c);
	if (rc != 0 && next.len > 0 && !swapped_in)
		(void)sl_rm_rf((const char *)next.p);	/* never swapped in */
	sl_buf_free(&live);
	sl_buf_free(&next);
	sl_buf_free(&old);
	if (lockfd >= 0)
		close(lockfd);	/* releases the lock */
	free(lockp);
	return rc;
}

/* A cache view: the same loop, without folders (redis_sink.c). */
static int
run_live_redis(struct mat_consumer *c, volatile sig_atomic_t *stop, struct sl_err *err)
{
	int rc, swapped;

	for (;;) {
		sl_info("view %s: redis %s, key_prefix %s, from %s, topics %s%s", c->conf->name,
		    c->conf->redis_addr, c->conf->key_prefix, c->conf->bootstrap,
		    c->conf->topics[0], c->conf->n_topics > 1 ? ",..." : "");
		if ((rc = view_open(c, NULL, 0, err)) != 0)
			break;
		rc = consume_loop(c, stop, 0, &swapped, err);
		view_close(c);
		if (rc != 0 || !swapped || *stop)
			break;
		sl_info("view %s: the view was rebuilt and swapped in; reopening",
		    c->conf->name);
	}
	view_close(c);
	return rc;
}

static int
run_rebuild_redis(struct mat_consumer *c, volatile sig_atomic_t *stop, struct sl_err *err)
{
	struct mat_sink_stats st;
	int64_t t0 = sl_mono_ns(), t_swap;
	int rc, swapped;

	if (c->conf->rebuild_db >= 0)
		sl_info("view %s: rebuilding into database %" PRId64 " from offset 0 (redis %s)",
		    c->conf->name, c->conf->rebuild_db, c->conf->redis_addr);
	else
		sl_info("view %s: rebuilding under %s__rebuild: from offset 0 (redis %s)",
		    c->conf->name, c->conf->key_prefix, c->conf->redis_addr);
	mat_metrics_set(c->metrics, MAT_M_REBUILD, 1);
	if ((rc = view_open(c, NULL, 1, err)) != 0 ||
	    (rc = consume_loop(c, stop, 1, &swapped, err)) != 0)
		goto out;
	if (*stop) {
		rc = sl_errf(err, SL_ESTATE, "view %s: rebuild interrupted; the live view is "
		    "unchanged", c->conf->name);
		goto out;
	}
	sink_stats(c, &st);
	t_swap = sl_mono_ns();
	if ((rc = mat_redis_swap_in(c->redis, err)) != 0)
		goto out;
	/* the swap script holds the server: say how long (SWAPDB does not) */
	fprintf(stderr, "sluice: rebuild %s: %" PRIu64 " events in %.1f s; swapped in under "
	    "%s (the swap took %.2f s)\n", c->conf->name, st.applied + st.skipped,
	    (double)(sl_mono_ns() - t0) / 1e9, c->conf->key_prefix,
	    (double)(sl_mono_ns() - t_swap) / 1e9);
out:
	/* an unfinished rebuild's keys stay until the next rebuild clears them */
	mat_metrics_set(c->metrics, MAT_M_REBUILD, 0);
	view_close(c);
	return rc;
}

int
mat_run(const struct mat_view_conf *conf, int rebuild, volatile sig_atomic_t *stop,
    struct sl_err *err)
{
	struct mat_consumer c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.conf = conf;
	if ((rc = mat_metrics_start(conf->http, conf->name, &c.metrics, err)) != 0) {
		/* the live materializer of the same view holds the port */
		if (!rebuild)
			return rc;
		sl_warn("%s; rebuild progress goes to stderr only", sl_err_msg(err, rc));
		(void)mat_metrics_start(NULL, conf->name, &c.metrics, NULL);
	}
	if (conf->redis)
		rc = rebuild ? run_rebuild_redis(&c, stop, err) : run_live_redis(&c, stop, err);
	else
		rc = rebuild ? run_rebuild(&c, stop, err) : run_live(&c, stop, err);
	mat_metrics_stop(c.metrics);
	if (c.targets)
		rd_kafka_topic_partition_list_destroy(c.targets);
	touched_free(&c);
	sl_buf_free(&c.dir);
	sl_arena_free(&c.arena);
	return rc;
}
