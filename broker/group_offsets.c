/*
 * broker/group_offsets.c: committed offsets of the group coordinator.
 *
 * OffsetCommit 2-7 and OffsetFetch 1-5, kept in memory per group (sorted by
 * topic and partition) and durably in the internal compacted partition
 * folder <data_dir>/__consumer_offsets-0, written with the log module
 * directly and replayed at open.  Also the /metrics lines (committed offset
 * and lag per group, topic, partition) and the tombstones written when a
 * topic is deleted.  Not here: group membership (broker/group.c), offset
 * expiry (offsets.retention.minutes: committed offsets stay until their
 * topic is deleted), persisting group metadata.
 *
 * OFFSETS LOG RECORD (one per committed partition), big-endian.
 * The layouts are Kafka's offset commit key v1 and value v3, so a record
 * reads the same as in Kafka's own __consumer_offsets.
 * KEY
 *   OFFSET  SIZE DESCRIPTION
 *        0     2 key version: 1 (0 is read as the same layout; 2 is Kafka's
 *                group metadata key and is skipped, as is any other)
 *        2     2 group id length G
 *        4     G group id
 *      4+G     2 topic length T
 *      6+G     T topic
 *    6+G+T     4 partition
 * VALUE (null: a tombstone, the offset was deleted with its topic)
 *   OFFSET  SIZE DESCRIPTION
 *        0     2 value version: 3
 *        2     8 committed offset
 *       10     4 leader epoch (-1 unknown)
 *       14     2 metadata length M (-1: none)
 *       16     M metadata, the client's string (at most 4096 bytes)
 *     16+M     8 commit time, ms since the epoch
 * The record's timestamp is the commit time too.  Records of one
 * OffsetCommit go in one batch (or several past 512 KiB), synced before the
 * reply (6), so a commit is durable once acknowledged.  In a served broker
 * that is running a commit round anyway, the sync is that group commit
 * (group.h): the commit waits on 'gs->waits' for the next round, synced off
 * the event loop together with the produce partitions and other commits of
 * that round; only then are its offsets set in memory and its reply queued.
 * When the broker is idle the commit syncs at once, on the loop: that costs
 * no thread hand-off.  The partition is
 * compacted (cleanup.policy=compact): the latest record per key wins, so a
 * replay applies records in offset order and the last one stands.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/group_int.h"

#define KEY_VERSION 1
#define VALUE_VERSION 3
#define BATCH_SPLIT_BYTES (512 * 1024)
#define READ_CHUNK (1 << 20)

/* ------------------------------- waiting for the group commit (group.h) */

/* One committed partition of a deferred OffsetCommit. */
struct goff_item {
	char *topic;
	int32_t partition;
	int64_t offset;
	int32_t epoch;
	char *meta;
	size_t err_pos;			/* of its error code in 'body' */
};

/* A deferred OffsetCommit or OffsetFetch on 'gs->waits'. */
struct brk_goff_wait {
	struct brk_goff_wait *next;
	int is_fetch;
	brk_reply_fn reply;
	void *token;			/* NULL once cancelled */
	int in_round;			/* commit: taken by the broker's round */
	char *group;			/* commit */
	struct goff_item *items;
	size_t n_items;
	int64_t now;
	struct sl_buf body;		/* commit: the reply, errors patched at done */
	struct brk_req_hdr h;		/* fetch: the request, re-run at done */
	struct sl_buf req;
};

static void
wait_free(struct brk_goff_wait *wt)
{
	size_t i;

	for (i = 0; i < wt->n_items; i++) {
		free(wt->items[i].topic);
		free(wt->items[i].meta);
	}
	free(wt->items);
	free(wt->group);
	sl_buf_free(&wt->body);
	sl_buf_free(&wt->req);
	free(wt);
}

/* -------------------------------------------------------- in memory (5) */

static int
off_cmp(const char *topic, size_t tlen, int32_t partition, const struct brk_offset *o)
{
	size_t olen = strlen(o->topic);
	int c = memcmp(topic, o->topic, tlen < olen ? tlen : olen);

	if (c != 0)
		return c;
	if (tlen != olen)
		return tlen < olen ? -1 : 1;
	return partition < o->partition ? -1 : partition > o->partition;
}

/* Index of (topic, partition) in 'g', or of where it would go ('*found' 0). */
static size_t
off_search(const struct brk_group *g, struct sl_slice topic, int32_t partition,
    int *found)
{
	size_t lo = 0, hi = g->n_offs, mid;
	const char *t = topic.p != NULL ? (const char *)topic.p : "";
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = off_cmp(t, topic.len, partition, &g->offs[mid]);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static const struct brk_offset *
off_get(const struct brk_group *g, struct sl_slice topic, int32_t partition)
{
	int found;
	size_t i;

	if (g == NULL)
		return NULL;
	i = off_search(g, topic, partition, &found);
	return found ? &g->offs[i] : NULL;
}

static void
off_set(struct brk_group *g, struct sl_slice topic, int32_t partition,
    int64_t offset, int32_t epoch, struct sl_slice meta, int64_t commit_ms)
{
	int found;
	size_t i = off_search(g, topic, partition, &found);
	struct brk_offset *o;

	if (!found) {
		if (g->n_offs == g->cap_offs) {
			g->cap_offs = g->cap_offs ? g->cap_offs * 2 : 8;
			g->offs = sl_realloc(g->offs, g->cap_offs * sizeof(*g->offs));
		}
		memmove(g->offs + i + 1, g->offs + i, (g->n_offs - i) * sizeof(*g->offs));
		g->n_offs++;
		o = &g->offs[i];
		o->topic = sl_strndup(topic.p != NULL ? (const char *)topic.p : "", topic.len);
		o->partition = partition;
	} else {
		o = &g->offs[i];
		free(o->metadata);
	}
	o->offset = offset;
	o->leader_epoch = epoch;
	o->metadata = sl_strndup(meta.p != NULL ? (const char *)meta.p : "", meta.len);
	o->commit_ms = commit_ms;
}

static void
off_del_at(struct brk_group *g, size_t i)
{
	free(g->offs[i].topic);
	free(g->offs[i].metadata);
	memmove(g->offs + i, g->offs + i + 1, (g->n_offs - i - 1) * sizeof(*g->offs));
	g->n_offs--;
}

void
brk_goff_free_group(struct brk_group *g)
{
	while (g->n_offs > 0)
		off_del_at(g, g->n_offs - 1);
	free(g->offs);
	g->offs = NULL;
	g->cap_offs = 0;
}

/* ------------------------------------------------------ record codec */

void
brk_goff_key_encode(struct sl_buf *out, const char *group, const char *topic,
    int32_t partition)
{
	brk_wr_i16(out, KEY_VERSION);
	brk_wr_string(out, group);
	brk_wr_string(out, topic);
	brk_wr_i32(out, partition);
}

void
brk_goff_value_encode(struct sl_buf *out, const struct brk_offset *o)
{
	brk_wr_i16(out, VALUE_VERSION);
	brk_wr_i64(out, o->offset);
	brk_wr_i32(out, o->leader_epoch);
	brk_wr_string(out, o->metadata);
	brk_wr_i64(out, o->commit_ms);
}

/* Apply one replayed record at log offset 'at'; bad records are skipped. */
static void
goff_apply(struct brk_groups *gs, const struct lg_record *rec)
{
	struct brk_rd r;
	struct sl_slice group, topic, meta;
	int16_t version;
	int32_t partition, epoch;
	int64_t offset, commit_ms;
	struct brk_group *g;
	size_t i;
	int found;

	if (rec->key_null)
		goto bad;
	brk_rd_init(&r, rec->key.p, rec->key.len);
	version = brk_rd_i16(&r, "key version");
	if (brk_rd_ok(&r) && version != 0 && version != 1) {
		sl_debug("%s: offset %lld: key version %d skipped", gs->dir,
		    (long long)rec->offset, (int)version);
		return;
	}
	brk_rd_string(&r, &group, "key group");
	brk_rd_string(&r, &topic, "key topic");
	partition = brk_rd_i32(&r, "key partition");
	if (!brk_rd_ok(&r) || group.len == 0 || brk_rd_left(&r) != 0)
		goto bad;
	if (rec->value_null) {
		g = brk_group_find(gs, group);
		if (g != NULL) {
			i = off_search(g, topic, partition, &found);
			if (found)
				off_del_at(g, i);
		}
		return;
	}
	brk_rd_init(&r, rec->value.p, rec->value.len);
	version = brk_rd_i16(&r, "value version");
	offset = brk_rd_i64(&r, "value offset");
	epoch = brk_rd_i32(&r, "value leader epoch");
	brk_rd_string(&r, &meta, "value metadata");
	commit_ms = brk_rd_i64(&r, "value commit time");
	if (!brk_rd_ok(&r) || version != VALUE_VERSION)
		goto bad;
	g = brk_group_get(gs, group);
	off_set(g, topic, partition, offset, epoch, meta, commit_ms);
	return;
bad:
	sl_warn("%s: offset %lld: malformed offset commit record skipped (%s)",
	    gs->dir, (long long)rec->offset, r.what != NULL ? r.what : "version");
}

/* Read the whole offsets log into memory. */
static int
goff_replay(struct brk_groups *gs, struct sl_err *err)
{
	int64_t off = lg_partition_start(gs->log), end = lg_partition_end(gs->log);
	struct sl_buf buf = { 0 };
	struct sl_arena arena = { 0 };
	struct lg_batch_info bi;
	struct lg_record *recs;
	struct lg_range rg;
	int32_t n, i;
	size_t pos, done;
	ssize_t got;
	int64_t before;
	int rc = 0;

	while (off < end) {
		rc = lg_partition_read(gs->log, off, READ_CHUNK, -1, &rg, err);
		if (rc != 0)
			goto out;
		if (rg.len == 0)
			break;
		sl_buf_reset(&buf);
		sl_buf_reserve(&buf, rg.len);
		for (done = 0; done < rg.len; done += (size_t)got) {
			got = pread(rg.fd, buf.p + done, rg.len - done, rg.pos + (off_t)done);
			if (got <= 0) {
				rc = got < 0 ? -errno : SL_ETRUNC;
				lg_range_release(&rg);
				sl_errf(err, rc, "%s: reading offset %lld: %s", gs->dir,
				    (long long)off, sl_strerror(rc));
				goto out;
			}
		}
		buf.len = rg.len;
		lg_range_release(&rg);
		before = off;
		for (pos = 0; pos < buf.len; pos += lg_batch_size(&bi)) {
			rc = lg_batch_header(sl_slice_make(buf.p + pos, buf.len - pos), &bi, err);
			if (rc == 0)
				rc = lg_batch_records(sl_slice_make(buf.p + pos,
				    lg_batch_size(&bi)), 0, &arena, &recs, &n, err);
			if (rc != 0) {
				SL_CORRUPT(err, "%s: batch at offset %lld: %s", gs->dir,
				    (long long)off, sl_err_msg(err, rc));
				goto out;
			}
			for (i = 0; i < n; i++)
				if (recs[i].offset >= off)
					goff_apply(gs, &recs[i]);
			if (lg_batch_last_offset(&bi) + 1 > off)
				off = lg_batch_last_offset(&bi) + 1;
			sl_arena_reset(&arena);
		}
		if (off == before) {
			rc = SL_CORRUPT(err, "%s: replay stuck at offset %lld", gs->dir,
			    (long long)off);
			goto out;
		}
	}
out:
	sl_buf_free(&buf);
	sl_arena_free(&arena);
	return rc;
}

static int
goff_log_open(struct brk_groups *gs, struct sl_err *err)
{
	struct lg_options o;

	lg_options_default(&o);
	o.compact = 1;
	o.retention_ms = -1;
	o.retention_bytes = -1;
	o.segment_bytes = 64 << 20;	/* small enough for the cleaner to get at */
	o.max_message_bytes = 8 << 20;
	return lg_partition_open(gs->dir, &o, &gs->log, err);
}

/*
 * After a failed write or sync the log refuses appends until reopened:
 * reopen it (recovery cuts whatever the failure left torn).  Memory stays
 * as it is (6); records of the failed commit that did reach the disk are
 * seen at the next start, which is harmless (the client did commit them).
 */
static int
goff_log_recover(struct brk_groups *gs, struct sl_err *err)
{
	int rc;

	if (!gs->log_failed && gs->log != NULL)
		return 0;
	/* A round may still hold the log, or be about to take it. */
	if (gs->log_in_round || gs->n_wait_commits > 0)
		return sl_errf(err, -EIO, "%s: a sync failed; reopening once the "
		    "commits waiting for it are answered", gs->dir);
	lg_partition_close(gs->log);
	gs->log = NULL;
	rc = goff_log_open(gs, err);
	if (rc == 0) {
		gs->log_failed = 0;
		sl_info("%s: reopened after a write failure", gs->dir);
	}
	return rc;
}

int
brk_goff_open(struct brk_groups *gs, struct sl_err *err)
{
	size_t i, n = 0;
	int rc;

	rc = goff_log_open(gs, err);
	if (rc != 0)
		return rc;
	rc = goff_replay(gs, err);
	if (rc != 0)
		return rc;
	for (i = 0; i < gs->n_groups; i++)
		n += gs->groups[i]->n_offs;
	sl_info("group coordinator: %zu committed offsets of %zu groups loaded from %s",
	    n, gs->n_groups, gs->dir);
	return 0;
}

void
brk_goff_close(struct brk_groups *gs)
{
	struct brk_goff_wait *wt;

	/* Unanswered: their connections are gone (the broker synced first). */
	while ((wt = gs->waits) != NULL) {
		gs->waits = wt->next;
		wait_free(wt);
	}
	gs->n_wait_commits = 0;
	if (gs->log != NULL)
		lg_partition_close(gs->log);
	gs->log = NULL;
}

void
brk_goff_compact(struct brk_groups *gs)
{
	struct sl_err err = { 0 };
	int64_t cleaned = 0;
	int rc;

	if (gs->log == NULL || gs->log_failed || lg_partition_segment_count(gs->log) < 2)
		return;
	rc = lg_partition_compact(gs->log, sl_now_ms(), &cleaned, &err);
	if (rc != 0)
		sl_warn("%s: compaction: %s", gs->dir, sl_err_msg(&err, rc));
	else if (cleaned > 0)
		sl_info("%s: compaction removed %lld bytes", gs->dir, (long long)cleaned);
}

/* ------------------------------------------------------------ writing */

/* Batches of offset records being written, then synced by writer_finish. */
struct writer {
	struct brk_groups *gs;
	struct lg_batch_builder bb;
	int32_t delta;
	int added;			/* records added: sync only if any */
	int64_t now;
	struct sl_buf key, value, batch;
	int rc;
	struct sl_err *err;
};

static void
writer_flush(struct writer *w)
{
	int64_t base;

	if (w->delta == 0 || w->rc != 0)
		return;
	sl_buf_reset(&w->batch);
	w->rc = lg_batch_builder_finish(&w->bb, -1, &w->batch);
	if (w->rc == 0)
		w->rc = lg_partition_append(w->gs->log, w->batch.p, w->batch.len,
		    &base, w->err);
	lg_batch_builder_free(&w->bb);
	lg_batch_builder_init(&w->bb, LG_CODEC_NONE, 0);
	w->delta = 0;
}

static void
writer_init(struct writer *w, struct brk_groups *gs, struct sl_err *err)
{
	memset(w, 0, sizeof(*w));
	w->gs = gs;
	w->err = err;
	w->now = sl_now_ms();
	w->rc = goff_log_recover(gs, err);
	lg_batch_builder_init(&w->bb, LG_CODEC_NONE, 0);
}

/* Add one record; 'o' NULL writes a tombstone. */
static void
writer_add(struct writer *w, const char *group, const char *topic,
    int32_t partition, const struct brk_offset *o)
{
	sl_buf_reset(&w->key);
	sl_buf_reset(&w->value);
	brk_goff_key_encode(&w->key, group, topic, partition);
	if (o != NULL)
		brk_goff_value_encode(&w->value, o);
	lg_batch_builder_add(&w->bb, w->delta++, w->now, w->key.p, w->key.len,
	    o != NULL ? w->value.p : NULL, w->value.len, NULL, 0);
	w->added++;
	if (w->bb.records.len >= BATCH_SPLIT_BYTES)
		writer_flush(w);
}

/*
 * Append what is left and, with 'sync', sync (6); without, the caller hands
 * the sync to the group commit.  Returns 0, -errno or SL_E*.
 */
static int
writer_finish(struct writer *w, int sync)
{
	writer_flush(w);
	if (w->rc == 0 && w->added > 0 && sync)
		w->rc = lg_partition_sync(w->gs->log, w->err);
	if (w->rc != 0 && w->added > 0)
		w->gs->log_failed = 1;
	lg_batch_builder_free(&w->bb);
	sl_buf_free(&w->key);
	sl_buf_free(&w->value);
	sl_buf_free(&w->batch);
	return w->rc;
}

/* ------------------------------------------- waiting for the group commit */

static void
wait_append(struct brk_groups *gs, struct brk_goff_wait *wt)
{
	struct brk_goff_wait **pp = &gs->waits;

	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = wt;
	if (!wt->is_fetch)
		gs->n_wait_commits++;
}

void
brk_groups_set_syncer(struct brk_groups *gs, int (*defer)(void *arg, int must),
    void *arg)
{
	gs->sync_defer = defer;
	gs->sync_arg = arg;
}

struct lg_partition *
brk_groups_offsets_take(struct brk_groups *gs)
{
	struct brk_goff_wait *wt;
	int any = 0;

	for (wt = gs->waits; wt != NULL; wt = wt->next)
		if (!wt->is_fetch && !wt->in_round) {
			wt->in_round = 1;
			any = 1;
		}
	if (!any)
		return NULL;
	gs->log_in_round = 1;
	return gs->log;
}

/* Answer a commit of the finished round: visible only if synced (6). */
static void
wait_commit_done(struct brk_groups *gs, struct brk_goff_wait *wt, int sync_err)
{
	struct brk_group *g = NULL;
	struct goff_item *it;
	size_t i;

	if (sync_err == 0)
		g = brk_group_get(gs, sl_slice_make(wt->group, strlen(wt->group)));
	for (i = 0; i < wt->n_items; i++) {
		it = &wt->items[i];
		if (sync_err == 0)
			off_set(g, sl_slice_make(it->topic, strlen(it->topic)),
			    it->partition, it->offset, it->epoch,
			    sl_slice_make(it->meta, strlen(it->meta)), wt->now);
		else
			sl_put_be16(wt->body.p + it->err_pos,
			    (uint16_t)KERR_UNKNOWN_SERVER_ERROR);
	}
	if (wt->token != NULL)
		brk_groups_queue_reply(gs, wt->reply, wt->token, &wt->body);
}

/* Answer a fetch that no longer waits behind a commit. */
static void
wait_fetch_done(struct brk_groups *gs, struct brk_goff_wait *wt)
{
	struct sl_buf body = { 0 };
	struct brk_rd r;

	if (wt->token == NULL)
		return;
	brk_rd_init(&r, wt->req.p, wt->req.len);
	/* Checked when it was deferred: it decodes again. */
	if (brk_goff_fetch(gs, &wt->h, &r, &body, NULL, NULL) == 0)
		brk_groups_queue_reply(gs, wt->reply, wt->token, &body);
	sl_buf_free(&body);
}

void
brk_groups_offsets_done(struct brk_groups *gs, int sync_err)
{
	struct brk_goff_wait **pp = &gs->waits, *wt;
	int blocked = 0;

	gs->log_in_round = 0;
	if (sync_err != 0) {
		gs->log_failed = 1;
		sl_error("%s: fdatasync: %s", gs->dir, sl_strerror(sync_err));
	}
	while ((wt = *pp) != NULL) {
		if (!wt->is_fetch && wt->in_round) {
			wait_commit_done(gs, wt, sync_err);
			gs->n_wait_commits--;
		} else if (!wt->is_fetch) {
			blocked = 1;	/* for the next round */
			pp = &wt->next;
			continue;
		} else if (!blocked) {
			wait_fetch_done(gs, wt);
		} else {
			pp = &wt->next;
			continue;
		}
		*pp = wt->next;
		wait_free(wt);
	}
}

void
brk_goff_cancel(struct brk_groups *gs, void *token)
{
	struct brk_goff_wait *wt;

	/* A cancelled commit is still made visible once durable (6). */
	for (wt = gs->waits; wt != NULL; wt = wt->next)
		if (wt->token == token)
			wt->token = NULL;
}

/* ------------------------------------------------------ OffsetCommit */

struct commit_part {
	int32_t partition;
	int64_t offset;
	int32_t epoch;
	struct sl_slice meta;
	int16_t error;
};

struct commit_topic {
	struct sl_slice name;
	char *cname;
	int32_t n;
	struct commit_part *parts;
};

/*
 * OFFSETCOMMIT REQUEST v2-7
 *   group_id string, generation_id i32, member_id string,
 *   group_instance_id string (v7+, ignored), retention_time_ms i64 (v2-4,
 *   ignored), topics [name string, partitions [partition_index i32,
 *   committed_offset i64, committed_leader_epoch i32 (v6+),
 *   committed_metadata string]]
 * RESPONSE: throttle_time_ms i32 (v3+), topics [name string,
 *   partitions [partition_index i32, error_code i16]]
 * Generation -1 with a group that has no members is a simple (standalone)
 * commit; otherwise the member and its generation must be current.
 */
int
brk_goff_commit(struct brk_groups *gs, const struct brk_req_hdr *h,
    struct brk_rd *r, struct sl_buf *resp, brk_reply_fn reply, void *token)
{
	struct brk_goff_wait *wt = NULL;
	struct sl_buf *out = resp;
	int16_t v = h->api_version;
	struct sl_slice gid, mid, iid;
	int32_t gen, n, i, j;
	struct commit_topic *topics = NULL;
	struct brk_group *g;
	struct brk_member *m = NULL;
	int16_t gerr = KERR_NONE;
	struct writer w;
	struct sl_err err = { 0 };
	int rc = 0, wrc;

	brk_rd_string(r, &gid, "group_id");
	gen = brk_rd_i32(r, "generation_id");
	brk_rd_string(r, &mid, "member_id");
	if (v >= 7)
		brk_rd_string(r, &iid, "group_instance_id");
	if (v <= 4)
		(void)brk_rd_i64(r, "retention_time_ms");
	n = brk_rd_array(r, 6, NULL, "topics");
	if (n > 0)
		topics = sl_calloc((size_t)n, sizeof(*topics));
	for (i = 0; i < n && brk_rd_ok(r); i++) {
		struct commit_topic *t = &topics[i];

		brk_rd_string(r, &t->name, "topics.name");
		t->n = brk_rd_array(r, v >= 6 ? 18 : 14, NULL, "topics.partitions");
		if (t->n > 0)
			t->parts = sl_calloc((size_t)t->n, sizeof(*t->parts));
		for (j = 0; j < t->n && brk_rd_ok(r); j++) {
			struct commit_part *p = &t->parts[j];

			p->partition = brk_rd_i32(r, "partition_index");
			p->offset = brk_rd_i64(r, "committed_offset");
			p->epoch = v >= 6 ? brk_rd_i32(r, "committed_leader_epoch") : -1;
			brk_rd_string(r, &p->meta, "committed_metadata");
		}
	}
	if (!brk_rd_ok(r)) {
		rc = r->err;
		goto out;
	}

	/* The group-level checks, in Kafka's order. */
	g = brk_group_find(gs, gid);
	if (!brk_name_ok(gid)) {
		gerr = KERR_INVALID_GROUP_ID;
	} else if (g == NULL) {
		if (gen >= 0)
			gerr = KERR_ILLEGAL_GENERATION;
		else
			g = brk_group_get(gs, gid);
	} else if (gen < 0 && g->state == BRK_GS_EMPTY) {
		/* a simple commit */
	} else if (g->state == BRK_GS_COMPLETING) {
		gerr = KERR_REBALANCE_IN_PROGRESS;
	} else if ((m = brk_group_member(g, mid)) == NULL) {
		gerr = KERR_UNKNOWN_MEMBER_ID;
	} else if (gen != g->generation) {
		gerr = KERR_ILLEGAL_GENERATION;
	} else {
		brk_member_touch(m);
	}

	writer_init(&w, gs, &err);
	for (i = 0; i < n; i++) {
		struct commit_topic *t = &topics[i];

		t->cname = sl_strndup(t->name.p != NULL ? (const char *)t->name.p : "",
		    t->name.len);
		for (j = 0; j < t->n; j++) {
			struct commit_part *p = &t->parts[j];
			struct brk_offset o;

			if (gerr != KERR_NONE) {
				p->error = gerr;
			} else if (!brk_name_ok(t->name) || p->partition < 0 ||
			    (gs->exists != NULL && !gs->exists(gs->exists_arg, t->cname,
			    p->partition))) {
				p->error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (p->meta.len > BRK_GROUP_METADATA_MAX) {
				p->error = KERR_OFFSET_METADATA_TOO_LARGE;
			} else {
				o.offset = p->offset;
				o.leader_epoch = p->epoch;
				o.metadata = sl_strndup(p->meta.p != NULL ?
				    (const char *)p->meta.p : "", p->meta.len);
				o.commit_ms = w.now;
				writer_add(&w, g->id, t->cname, p->partition, &o);
				free(o.metadata);
			}
		}
	}
	/*
	 * With a syncer, the broker's group commit syncs when it runs a round
	 * anyway or earlier commits wait (group.h); else sync here, at once.
	 */
	if (gs->sync_defer != NULL && reply != NULL && w.added > 0 && w.rc == 0 &&
	    gs->sync_defer(gs->sync_arg, gs->n_wait_commits > 0)) {
		wt = sl_calloc(1, sizeof(*wt));
		wt->reply = reply;
		wt->token = token;
		wt->group = sl_strdup(g->id);
		wt->items = sl_calloc((size_t)w.added, sizeof(*wt->items));
		wt->now = w.now;
		out = &wt->body;
	}
	wrc = writer_finish(&w, wt == NULL);
	if (wrc != 0) {
		sl_error("group %s: writing offsets: %s", g->id, sl_err_msg(&err, wrc));
		if (wt != NULL)
			wait_free(wt);
		wt = NULL;
		out = resp;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < topics[i].n; j++) {
			struct commit_part *p = &topics[i].parts[j];

			if (gerr != KERR_NONE || p->error != KERR_NONE || wt != NULL)
				continue;
			if (wrc != 0)
				p->error = KERR_UNKNOWN_SERVER_ERROR;
			else	/* (6): durable, now visible */
				off_set(g, topics[i].name, p->partition, p->offset,
				    p->epoch, p->meta, w.now);
		}
	}

	if (v >= 3)
		brk_wr_i32(out, 0);
	brk_wr_i32(out, n);
	for (i = 0; i < n; i++) {
		brk_wr_string(out, topics[i].cname);
		brk_wr_i32(out, topics[i].n);
		for (j = 0; j < topics[i].n; j++) {
			struct commit_part *p = &topics[i].parts[j];

			brk_wr_i32(out, p->partition);
			if (wt != NULL && gerr == KERR_NONE && p->error == KERR_NONE) {
				/* Written: visible and answered when synced (6). */
				struct goff_item *it = &wt->items[wt->n_items++];

				it->topic = sl_strdup(topics[i].cname);
				it->partition = p->partition;
				it->offset = p->offset;
				it->epoch = p->epoch;
				it->meta = sl_strndup(p->meta.p != NULL ?
				    (const char *)p->meta.p : "", p->meta.len);
				it->err_pos = out->len;
			}
			brk_wr_i16(out, p->error);
		}
	}
	if (wt != NULL) {
		wait_append(gs, wt);
		rc = 1;
	}
out:
	for (i = 0; i < n; i++) {
		free(topics[i].parts);
		free(topics[i].cname);
	}
	free(topics);
	return rc;
}

/* ------------------------------------------------------- OffsetFetch */

static void
write_fetched(struct sl_buf *resp, int16_t v, int32_t partition,
    const struct brk_offset *o)
{
	brk_wr_i32(resp, partition);
	brk_wr_i64(resp, o != NULL ? o->offset : -1);
	if (v >= 5)
		brk_wr_i32(resp, o != NULL ? o->leader_epoch : -1);
	brk_wr_string(resp, o != NULL ? o->metadata : "");
	brk_wr_i16(resp, KERR_NONE);
}

/*
 * OFFSETFETCH REQUEST v1-5: group_id string, topics [name string,
 *   partition_indexes [i32]] (null from v2: every topic of the group)
 * RESPONSE: throttle_time_ms i32 (v3+), topics [name string, partitions
 *   [partition_index i32, committed_offset i64, committed_leader_epoch i32
 *   (v5+), metadata string, error_code i16]], error_code i16 (v2+)
 * A partition without a committed offset answers -1.
 */
int
brk_goff_fetch(struct brk_groups *gs, const struct brk_req_hdr *h,
    struct brk_rd *r, struct sl_buf *resp, brk_reply_fn reply, void *token)
{
	const uint8_t *req = r->p;
	struct brk_goff_wait *wt;
	int16_t v = h->api_version;
	struct sl_slice gid, name;
	int32_t n, np, i, j, part;
	int is_null = 0;
	const uint8_t *start;
	struct brk_group *g;
	size_t k, ntopics, count_pos, run;

	brk_rd_string(r, &gid, "group_id");
	n = brk_rd_array(r, 6, &is_null, "topics");
	start = r->p;
	for (i = 0; i < n && brk_rd_ok(r); i++) {
		brk_rd_string(r, &name, "topics.name");
		np = brk_rd_array(r, 4, NULL, "topics.partition_indexes");
		for (j = 0; j < np; j++)
			(void)brk_rd_i32(r, "partition_index");
	}
	if (!brk_rd_ok(r))
		return r->err;
	if (gs->n_wait_commits > 0 && reply != NULL) {
		/* Behind the commits waiting for a sync (group.h). */
		wt = sl_calloc(1, sizeof(*wt));
		wt->is_fetch = 1;
		wt->reply = reply;
		wt->token = token;
		wt->h = *h;
		wt->h.client_id = sl_slice_make(NULL, 0);	/* borrowed: dropped */
		sl_buf_add(&wt->req, req, (size_t)(r->end - req));
		wait_append(gs, wt);
		return 1;
	}
	g = brk_group_find(gs, gid);
	if (v >= 3)
		brk_wr_i32(resp, 0);
	if (is_null) {
		/* Every committed topic: offsets are sorted, so topics run together (5). */
		count_pos = resp->len;
		brk_wr_i32(resp, 0);
		ntopics = 0;
		for (k = 0; g != NULL && k < g->n_offs; k += run) {
			for (run = 1; k + run < g->n_offs &&
			    strcmp(g->offs[k].topic, g->offs[k + run].topic) == 0; run++)
				;
			brk_wr_string(resp, g->offs[k].topic);
			brk_wr_i32(resp, (int32_t)run);
			for (j = 0; j < (int32_t)run; j++)
				write_fetched(resp, v, g->offs[k + (size_t)j].partition,
				    &g->offs[k + (size_t)j]);
			ntopics++;
		}
		brk_wr_patch_i32(resp, count_pos, (int32_t)ntopics);
	} else {
		brk_wr_i32(resp, n);
		r->p = start;
		for (i = 0; i < n; i++) {
			brk_rd_string(r, &name, "topics.name");
			np = brk_rd_array(r, 4, NULL, "topics.partition_indexes");
			brk_wr_stringn(resp, name.p != NULL ? (const void *)name.p : "",
			    name.len);
			brk_wr_i32(resp, np);
			for (j = 0; j < np; j++) {
				part = brk_rd_i32(r, "partition_index");
				write_fetched(resp, v, part, off_get(g, name, part));
			}
		}
	}
	if (v >= 2)
		brk_wr_i16(resp, KERR_NONE);
	return 0;
}

/* ------------------------------------------------------------ metrics */

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void
label_add(struct sl_buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			sl_buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			sl_buf_add(out, "\\n", 2);
		else
			sl_buf_add_u8(out, (uint8_t)*s);
	}
}

static void
labels_add(struct sl_buf *out, const char *group, const struct brk_offset *o)
{
	sl_buf_add(out, "{group=\"", 8);
	label_add(out, group);
	if (o != NULL) {
		sl_buf_add(out, "\",topic=\"", 9);
		label_add(out, o->topic);
		sl_buf_printf(out, "\",partition=\"%d", (int)o->partition);
	}
	sl_buf_add(out, "\"}", 2);
}

void
brk_groups_metrics(struct brk_groups *gs, struct sl_buf *out,
    int64_t (*end_offset)(void *arg, const char *topic, int32_t partition),
    void *arg)
{
	size_t i, k;
	int64_t end;

	/* A metric family's lines must stay together: one pass per family. */
	sl_buf_printf(out, "# HELP sluice_group_members Members of a consumer group.\n"
	    "# TYPE sluice_group_members gauge\n");
	for (i = 0; i < gs->n_groups; i++) {
		sl_buf_add(out, "sluice_group_members", 20);
		labels_add(out, gs->groups[i]->id, NULL);
		sl_buf_printf(out, " %zu\n", gs->groups[i]->n_members);
	}
	sl_buf_printf(out, "# HELP sluice_group_committed_offset Committed offset of a "
	    "consumer group.\n# TYPE sluice_group_committed_offset gauge\n");
	for (i = 0; i < gs->n_groups; i++) {
		for (k = 0; k < gs->groups[i]->n_offs; k++) {
			const struct brk_offset *o = &gs->groups[i]->offs[k];

			sl_buf_add(out, "sluice_group_committed_offset", 29);
			labels_add(out, gs->groups[i]->id, o);
			sl_buf_printf(out, " %lld\n", (long long)o->offset);
		}
	}
	if (end_offset == NULL)
		return;
	sl_buf_printf(out, "# HELP sluice_group_lag Log end offset minus committed "
	    "offset.\n# TYPE sluice_group_lag gauge\n");
	for (i = 0; i < gs->n_groups; i++) {
		for (k = 0; k < gs->groups[i]->n_offs; k++) {
			const struct brk_offset *o = &gs->groups[i]->offs[k];

			end = end_offset(arg, o->topic, o->partition);
			if (end < 0 || o->offset < 0)
				continue;
			sl_buf_add(out, "sluice_group_lag", 16);
			labels_add(out, gs->groups[i]->id, o);
			sl_buf_printf(out, " %lld\n", (long long)(end > o->offset ?
			    end - o->offset : 0));
		}
	}
}

/* --------------------------------------------------------- topic deletion */

int
brk_groups_topic_deleted(struct brk_groups *gs, const char *topic,
    struct sl_err *err)
{
	struct sl_slice t = sl_slice_make(topic, strlen(topic));
	struct writer w;
	size_t i, k;
	int rc;

	writer_init(&w, gs, err);
	for (i = 0; i < gs->n_groups; i++) {
		struct brk_group *g = gs->groups[i];

		for (k = 0; k < g->n_offs; k++) {
			if (strcmp(g->offs[k].topic, topic) == 0) {
				writer_add(&w, g->id, topic, g->offs[k].partition, NULL);
			}
		}
	}
	rc = writer_finish(&w, 1);
	if (rc != 0)
		return rc;
	for (i = 0; i < gs->n_groups; i++) {
		struct brk_group *g = gs->groups[i];
		int found;

		k = off_search(g, t, INT32_MIN, &found);
		while (k < g->n_offs && strcmp(g->offs[k].topic, topic) == 0)
			off_del_at(g, k);
	}
	return 0;
}
