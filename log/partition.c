/*
 * log/partition.c: a partition folder: its list of segments, appends and
 * group commit, reads for sendfile, time lookups, retention, recovery at
 * open and the hand-off to the cleaner.
 *
 * The folder holds "<20-digit base>.log/.index/.timeindex" segments, the
 * checkpoints "recovery-point" and "log-start-offset", the marker
 * "clean-shutdown" while closed cleanly, and producer-state snapshots
 * ("<offset>.snapshot", producer_state.c).  Batch validation is the
 * caller's (batch.c); this file trusts the batch it is handed but never
 * the bytes it reads back from disk.
 *
 * Threading beyond lg.h's contract: lg_partition_sync may also run on a
 * committer thread while the owner appends (it holds no lock while the disk
 * flushes), which is how a broker overlaps group commits with appends.
 *
 * STATES of a struct lg_partition
 *   open ──lg_partition_append/sync──► open
 *   open ──failed fdatasync (lg_partition_sync)──► failed: appends and
 *        syncs return -EIO until lg_partition_close + lg_partition_open
 *   open/failed ──lg_partition_close──► closed (marker written only if
 *        the final sync succeeded)
 *
 * INVARIANTS
 *  (1) Only the last segment (the active one) is written; the others are
 *      sealed: their indexes are complete and fsynced.
 *  (2) start <= end; every segment's offsets are below the next segment's
 *      base; end is the active segment's next offset.
 *  (3) recovery_point <= synced_end <= end: every batch below the recovery
 *      point was fdatasync'ed before the checkpoint naming it was written.
 *  (4) The segment list changes only under 'mu'; retention and compaction
 *      are serialised by 'clean_mu', so the cleaner's inputs are never
 *      deleted under it.
 *  (5) After a failed write the .log is truncated back to the previous end,
 *      so the file never holds a partial batch past 'size' for long.  Past
 *      'size' the active segment holds only zeros, up to 'alloc'
 *      (lg_segment_zero_ahead); a sealed segment ends at 'size'.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/lg_int.h"

struct lg_partition {
	char *dir;			/* the folder */
	struct lg_options opts;		/* copied at open / set_options */
	pthread_mutex_t mu;		/* (4) the segment list */
	pthread_mutex_t clean_mu;	/* (4) retention vs compaction */
	pthread_mutex_t sync_mu;	/* orders recovery-point checkpoints */
	struct lg_segment **segs;	/* by base offset; last is active */
	int n_segs, cap_segs;
	int64_t start;			/* log start offset */
	int64_t end;			/* next offset to assign */
	int64_t synced_end;		/* end at the last successful sync */
	int64_t recovery_point;		/* last checkpointed (3) */
	int64_t ckpt_mono_ns;		/* when it was written */
	int64_t ckpt_interval_ms;	/* LG_RECOVERY_INTERVAL_MS */
	int64_t rescanned;		/* bytes CRC-scanned at open */
	int dir_dirty;			/* a segment was created since the last sync */
	int failed;			/* a sync failed: refuse appends */
	int no_read_cache;		/* tests: always scan (lg_int.h) */
	int64_t read_hits, read_scans;	/* reads answered from a ring / by a scan */
	struct lg_pstate *ps;		/* idempotent producers */
};

void
lg_options_default(struct lg_options *o)
{
	memset(o, 0, sizeof(*o));
	o->segment_bytes = 1LL << 30;
	o->segment_ms = 7LL * 24 * 3600 * 1000;
	o->index_interval_bytes = 4096;
	o->retention_ms = 7LL * 24 * 3600 * 1000;
	o->retention_bytes = -1;
	o->zero_ahead_bytes = 1 << 20;
	o->compact = 0;
	o->delete_retention_ms = 24LL * 3600 * 1000;
	o->max_message_bytes = (1 << 20) + 12;
	o->log_append_time = 0;
	o->min_cleanable_dirty_ratio_pct = 50;
}

static void
segs_push(struct lg_partition *p, struct lg_segment *s)
{
	if (p->n_segs == p->cap_segs) {
		p->cap_segs = p->cap_segs ? p->cap_segs * 2 : 16;
		p->segs = sl_realloc(p->segs, (size_t)p->cap_segs * sizeof(*p->segs));
	}
	p->segs[p->n_segs++] = s;
}

static struct lg_segment *
active(const struct lg_partition *p)
{
	return p->segs[p->n_segs - 1];
}

/* Unlink the files of 's' and drop the list's reference (2): readers keep theirs. */
static void
segment_delete(struct lg_segment *s)
{
	char *ipath = lg_segment_sibling(s->log_path, ".index");
	char *tpath = lg_segment_sibling(s->log_path, ".timeindex");

	unlink(s->log_path);
	unlink(ipath);
	unlink(tpath);
	s->deleted = 1;
	free(ipath);
	free(tpath);
	lg_segment_unref(s);
}

/* Remove the first 'k' segments from the list (not the active one). */
static void
segs_drop_front(struct lg_partition *p, int k, int delete_files)
{
	int i;

	for (i = 0; i < k; i++) {
		if (delete_files)
			segment_delete(p->segs[i]);
		else
			lg_segment_unref(p->segs[i]);
	}
	memmove(p->segs, p->segs + k, (size_t)(p->n_segs - k) * sizeof(*p->segs));
	p->n_segs -= k;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The base offsets of the segments in 'dir', sorted, below 'below' (-1: all). */
static int
list_bases(const char *dir, int64_t below, int64_t **out, int *n,
    struct sl_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t *v = NULL, base;
	int cap = 0;

	*n = 0;
	if (d == NULL)
		return sl_errf(err, -errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (lg_segment_parse_name(de->d_name, &base) != 0)
			continue;
		if (below >= 0 && base >= below)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = sl_realloc(v, (size_t)cap * sizeof(*v));
		}
		v[(*n)++] = base;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, (size_t)*n, sizeof(*v), cmp_i64);
	*out = v;
	return 0;
}

/* ------------------------------------------------------------ recovery */

struct pstate_arg {
	struct lg_pstate *ps;
	int64_t from;
};

static int
pstate_note(const struct lg_batch_info *b, int64_t pos, void *arg)
{
	struct pstate_arg *a = arg;

	(void)pos;
	if (b->base_offset >= a->from && b->producer_id >= 0 &&
	    !(b->attributes & LG_ATTR_CONTROL))
		lg_pstate_update(a->ps, b->producer_id, b->producer_epoch,
		    b->base_sequence, b->last_offset_delta + 1, b->base_offset,
		    lg_batch_last_offset(b), b->max_timestamp);
	return 0;
}

/*
 * Load the newest producer snapshot at or below the end and replay the
 * batches after it (headers only).
 */
static int
recover_pstate(struct lg_partition *p, struct sl_err *err)
{
	struct pstate_arg a;
	struct lg_segment *s;
	int64_t snap = 0, end_pos;
	int rc, i;

	rc = lg_pstate_snapshot_load(p->dir, p->end, &p->ps, &snap, err);
	if (rc != 0)
		return rc;
	a.ps = p->ps;
	a.from = snap;
	for (i = 0; i < p->n_segs; i++) {
		s = p->segs[i];
		if (s->next <= snap)
			continue;
		rc = lg_segment_scan(s->fd, s->log_path,
		    lg_segment_index_lookup(s, snap), s->size, s->base, 0,
		    pstate_note, &a, &end_pos, NULL, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Rescan from the recovery point 'rp' to the end with CRCs, cutting the log
 * at the first torn or corrupt batch (docs/log-format.md, "Checkpoints and
 * recovery").  Segment 'first' holds 'rp'.
 */
static int
recover_tail(struct lg_partition *p, int first, int64_t rp, struct sl_err *err)
{
	struct sl_err why;
	struct lg_segment *s;
	struct stat st;
	int32_t interval = p->opts.index_interval_bytes;
	int64_t scanned = p->rescanned;
	int i, rc = 0, cut = 0;

	for (i = first; i < p->n_segs && !cut; i++) {
		s = p->segs[i];
		if (fstat(s->fd, &st) != 0)
			return sl_errf(err, -errno, "%s: %s", s->log_path, strerror(errno));
		if (i == first) {
			/* Headers only up to the batch holding 'rp'. */
			lg_segment_index_cut(s, lg_segment_index_lookup(s, rp));
			rc = lg_segment_replay(s, interval, rp, 0, st.st_size, NULL,
			    &why);
		} else {
			lg_segment_index_cut(s, 0);
		}
		memset(&why, 0, sizeof(why));
		rc = lg_segment_replay(s, interval, -1, 1, st.st_size,
		    &p->rescanned, &why);
		if (rc != 0 && rc != SL_ETRUNC && rc != SL_ECORRUPT)
			return sl_errf(err, rc, "%s", sl_err_msg(&why, rc));
		if (rc != 0 || s->size < st.st_size) {
			/* zero-filled space written ahead of appends (lg_int.h) */
			int zero = i == p->n_segs - 1 &&
			    lg_file_is_zero(s->fd, s->size, st.st_size) == 1;

			if (zero)
				sl_info("%s: dropping %" PRId64 " bytes of zero-filled space "
				    "after position %" PRId64 " (offset %" PRId64 ")",
				    s->log_path, (int64_t)st.st_size - s->size, s->size,
				    s->next);
			else
				sl_warn("%s: cutting the log at position %" PRId64 " (offset %"
				    PRId64 "): %s", s->log_path, s->size, s->next,
				    rc != 0 ? sl_err_msg(&why, rc) : "trailing bytes");
			if (ftruncate(s->fd, s->size) != 0)
				return sl_errf(err, -errno, "%s: truncate: %s",
				    s->log_path, strerror(errno));
			s->alloc = s->size;
			cut = 1;
		}
		rc = lg_segment_index_flush(s, 1, 0);
		/*
		 * The tail may sit unsynced in the page cache (a killed
		 * process): make it durable before it counts as synced.
		 */
		if (rc == 0 && (cut || p->rescanned > scanned) &&
		    lg_fdatasync(s->fd) != 0)
			rc = -errno;
		if (rc != 0)
			return sl_errf(err, rc, "%s: %s", s->log_path, sl_strerror(rc));
		scanned = p->rescanned;
	}
	/* Segments after a cut hold nothing that can be trusted. */
	while (p->n_segs > i) {
		sl_warn("%s: removed after a cut earlier in the log",
		    active(p)->log_path);
		segment_delete(p->segs[--p->n_segs]);
		p->dir_dirty = 1;
	}
	return 0;
}

int
lg_partition_open(const char *dir, const struct lg_options *opts,
    struct lg_partition **out, struct sl_err *err)
{
	struct lg_partition *p = sl_calloc(1, sizeof(*p));
	struct lg_segment *s;
	int64_t *bases = NULL, rp = 0, torn;
	char *path;
	int n = 0, i, first = 0, rc, clean = 0, rebuilt;

	*out = NULL;
	p->dir = sl_strdup(dir);
	p->opts = *opts;
	p->ckpt_interval_ms = LG_RECOVERY_INTERVAL_MS;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->clean_mu, NULL);
	pthread_mutex_init(&p->sync_mu, NULL);
	if ((rc = sl_mkdir_p(dir, 0755)) != 0) {
		sl_errf(err, rc, "%s: mkdir: %s", dir, sl_strerror(rc));
		goto fail;
	}
	if ((rc = lg_cleaner_recover(dir, err)) != 0)
		goto fail;

	/* The marker says the end was synced at close: the recovery point. */
	rc = lg_checkpoint_read(dir, LG_CLEAN_FILE, &rp, NULL);
	if (rc == 0) {
		clean = 1;
	} else {
		rc = lg_checkpoint_read(dir, LG_RECOVERY_FILE, &rp, err);
		if (rc != 0 && rc != SL_ENOTFOUND) {
			sl_warn("%s; rescanning the whole log", sl_err_msg(err, rc));
			if (err != NULL)
				memset(err, 0, sizeof(*err));
		}
		if (rc != 0)
			rp = 0;
	}
	rc = lg_checkpoint_read(dir, LG_LOG_START_FILE, &p->start, err);
	if (rc == SL_ENOTFOUND)
		p->start = 0;
	else if (rc != 0)
		goto fail;

	if ((rc = list_bases(dir, -1, &bases, &n, err)) != 0)
		goto fail;
	/* Segments wholly below the log start (a crash during retention). */
	for (i = 0; i + 1 < n && bases[i + 1] <= p->start; i++) {
		path = lg_segment_path(dir, bases[i], ".log");
		unlink(path);
		free(path);
		path = lg_segment_path(dir, bases[i], ".index");
		unlink(path);
		free(path);
		path = lg_segment_path(dir, bases[i], ".timeindex");
		unlink(path);
		free(path);
	}
	if (i > 0) {
		memmove(bases, bases + i, (size_t)(n - i) * sizeof(*bases));
		n -= i;
	}
	for (i = 0; i < n; i++)
		if (bases[i] <= rp)
			first = i;
	for (i = 0; i < n; i++) {
		path = lg_segment_path(dir, bases[i], ".log");
		rc = lg_segment_open(path, bases[i], opts->index_interval_bytes,
		    i >= first, &rebuilt, &torn, &s, err);
		free(path);
		if (rc != 0)
			goto fail;
		if (rebuilt)
			sl_info("%s: index rebuilt", s->log_path);
		segs_push(p, s);
	}
	if (p->n_segs > 0) {
		rc = recover_tail(p, first, rp, err);
		if (rc != 0)
			goto fail;
	}
	if (p->n_segs == 0) {
		rc = lg_segment_create(dir, p->start, &s, err);
		if (rc != 0)
			goto fail;
		segs_push(p, s);
	}
	p->end = active(p)->next;
	if (p->start < p->segs[0]->base)
		p->start = p->segs[0]->base;
	if (p->start > p->end)
		p->start = p->end;	/* (2) the tail below it was cut */
	if ((rc = recover_pstate(p, err)) != 0)
		goto fail;
	if (rp > p->end) {
		/* The log was cut below the checkpoint: lower it (3). */
		rc = lg_checkpoint_write(dir, LG_RECOVERY_FILE, p->end, err);
		if (rc != 0)
			goto fail;
		rp = p->end;
	}
	p->recovery_point = rp;		/* the next sync checkpoints the end */
	p->synced_end = p->end;
	p->ckpt_mono_ns = 0;
	if (clean) {
		/* Removed before anything is appended, durably. */
		path = sl_asprintf("%s/%s", dir, LG_CLEAN_FILE);
		if (unlink(path) != 0)
			rc = -errno;
		free(path);
		if (rc == 0)
			rc = lg_dir_fsync(dir);
		if (rc != 0) {
			sl_errf(err, rc, "%s: cannot remove %s: %s", dir,
			    LG_CLEAN_FILE, sl_strerror(rc));
			goto fail;
		}
	}
	free(bases);
	*out = p;
	return 0;
fail:
	free(bases);
	lg_partition_crash_(p);
	return rc;
}

/* --------------------------------------------------------------- writes */

/* Seal the active segment and start a new one at the end.  Under 'mu'. */
static int
roll(struct lg_partition *p, struct sl_err *err)
{
	struct lg_segment *old = active(p), *s;
	int rc;

	lg_segment_index_seal(old);
	rc = lg_segment_index_flush(old, 0, 1);		/* (1) */
	if (rc != 0)
		return sl_errf(err, rc, "%s: index: %s", old->log_path,
		    sl_strerror(rc));
	/*
	 * (5) A sealed segment ends at its last batch, durably, before a
	 * segment after it exists: recovery reads only the last segment
	 * tolerantly.  One fdatasync per roll.
	 */
	if (old->alloc > old->size) {
		if ((rc = lg_segment_trim(old)) != 0 ||
		    (lg_fdatasync(old->fd) != 0 && (rc = -errno) != 0)) {
			p->failed = 1;
			return sl_errf(err, rc, "%s: cutting zero-filled space: %s",
			    old->log_path, sl_strerror(rc));
		}
	}
	/*
	 * Forget producers idle past Kafka's producer.id.expiration.ms
	 * default (1 day), so their state cannot grow without bound; a
	 * forgotten producer is accepted again at any sequence.
	 */
	lg_pstate_expire(p->ps, sl_now_ms(), LG_PRODUCER_EXPIRE_MS);
	rc = lg_pstate_snapshot_write(p->ps, p->dir, p->end, err);
	if (rc != 0)
		return rc;
	rc = lg_segment_create(p->dir, p->end, &s, err);
	if (rc != 0)
		return rc;
	segs_push(p, s);
	p->dir_dirty = 1;
	return 0;
}

int
lg_partition_append(struct lg_partition *p, uint8_t *batch, size_t len,
    int64_t *base, struct sl_err *err)
{
	struct lg_batch_info b;
	struct lg_segment *s;
	int64_t dup = -1, now;
	int rc = 0, idem;

	pthread_mutex_lock(&p->mu);
	if (p->failed) {
		rc = sl_errf(err, -EIO, "%s: a sync failed; reopen the partition",
		    p->dir);
		goto out;
	}
	if ((int64_t)len > p->opts.max_message_bytes) {
		rc = sl_errf(err, SL_ETOOBIG, "batch of %zu bytes is over %" PRId64,
		    len, p->opts.max_message_bytes);
		goto out;
	}
	if (len < LG_BATCH_HEADER_SIZE) {
		rc = SL_CORRUPT(err, "batch of %zu bytes is shorter than a header", len);
		goto out;
	}
	lg_batch_header_peek(batch, &b);
	if ((size_t)b.length + LG_BATCH_LOG_OVERHEAD != len || b.magic != 2 ||
	    b.last_offset_delta < 0) {
		rc = SL_CORRUPT(err, "batch header disagrees with its %zu bytes "
		    "(length %" PRId32 ", magic %d)", len, b.length, b.magic);
		goto out;
	}
	idem = b.producer_id >= 0 && !(b.attributes & LG_ATTR_CONTROL);
	if (idem) {
		rc = lg_pstate_check(p->ps, b.producer_id, b.producer_epoch,
		    b.base_sequence, b.last_offset_delta + 1, &dup);
		if (rc == SL_EDUPSEQ)
			*base = dup;
		if (rc != 0) {
			sl_errf(err, rc, "producer %" PRId64 " epoch %d sequence %"
			    PRId32 ": %s", b.producer_id, b.producer_epoch,
			    b.base_sequence, sl_strerror(rc));
			goto out;
		}
	}
	if (p->opts.log_append_time) {
		now = sl_now_ms();
		b.max_timestamp = now;
		b.attributes |= LG_ATTR_LOG_APPEND_TIME;
		sl_put_be16(batch + 21, (uint16_t)b.attributes);
		sl_put_be64(batch + 35, (uint64_t)now);
		sl_put_be32(batch + 17, sl_crc32c(0, batch + LG_BATCH_CRC_START,
		    len - LG_BATCH_CRC_START));
	}
	s = active(p);
	if (s->size > 0 &&
	    (s->size + (int64_t)len > p->opts.segment_bytes ||
	    s->size + (int64_t)len > INT32_MAX ||
	    p->end + b.last_offset_delta - s->base > INT32_MAX ||
	    (p->opts.segment_ms >= 0 && s->first_ts >= 0 &&
	    b.max_timestamp - s->first_ts > p->opts.segment_ms))) {
		if ((rc = roll(p, err)) != 0)
			goto out;
		s = active(p);
	}
	sl_put_be64(batch, (uint64_t)p->end);	/* not covered by the CRC */
	if (lg_pwrite(s->fd, batch, len, s->size) < 0) {
		rc = -errno;
		sl_errf(err, rc, "%s: write at position %" PRId64 ": %s",
		    s->log_path, s->size, strerror(errno));
		if (ftruncate(s->fd, s->size) != 0)	/* (5) */
			p->failed = 1;
		s->alloc = s->size;
		goto out;
	}
	*base = p->end;
	lg_segment_index_batch(s, s->size, len, p->end,
	    p->end + b.last_offset_delta, b.max_timestamp,
	    p->opts.index_interval_bytes);
	s->dirty = 1;
	p->end = s->next;
	lg_segment_zero_ahead(s, p->opts.zero_ahead_bytes, p->opts.segment_bytes);
	if (idem)
		lg_pstate_update(p->ps, b.producer_id, b.producer_epoch,
		    b.base_sequence, b.last_offset_delta + 1, *base, p->end - 1,
		    b.max_timestamp);
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/*
 * Group commit: fdatasync every segment written since the last sync (and
 * the folder after a roll) without holding 'mu', so appends go on while
 * the disk flushes; everything appended before the call is durable when it
 * returns 0.  Then checkpoint the recovery point if LG_RECOVERY_INTERVAL_MS
 * has passed (always with 'force_ckpt').  Concurrent callers are fine:
 * 'sync_mu' orders checkpoint writes.
 */
static int
sync_impl(struct lg_partition *p, int force_ckpt, struct sl_err *err)
{
	struct lg_segment **todo = NULL;
	int64_t target, now;
	int i, n = 0, dir_dirty, rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->failed) {
		pthread_mutex_unlock(&p->mu);
		return sl_errf(err, -EIO, "%s: a sync failed; reopen the partition",
		    p->dir);
	}
	todo = sl_malloc((size_t)p->n_segs * sizeof(*todo));
	for (i = 0; i < p->n_segs; i++) {
		if (!p->segs[i]->dirty)
			continue;
		p->segs[i]->dirty = 0;	/* an append meanwhile sets it again */
		lg_segment_ref(p->segs[i]);
		todo[n++] = p->segs[i];
	}
	dir_dirty = p->dir_dirty;
	p->dir_dirty = 0;
	target = p->end;
	pthread_mutex_unlock(&p->mu);

	if (dir_dirty && (rc = lg_dir_fsync(p->dir)) != 0)
		goto synced;
	for (i = 0; i < n; i++) {
		if (lg_fdatasync(todo[i]->fd) != 0) {
			rc = -errno;
			break;
		}
	}
synced:
	for (i = 0; i < n; i++)
		lg_segment_unref(todo[i]);
	free(todo);

	pthread_mutex_lock(&p->sync_mu);
	pthread_mutex_lock(&p->mu);
	if (rc != 0) {
		p->failed = 1;
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_unlock(&p->sync_mu);
		return sl_errf(err, rc, "%s: fdatasync: %s; appends refused until "
		    "reopen", p->dir, sl_strerror(rc));
	}
	if (target > p->synced_end)
		p->synced_end = target;
	now = sl_mono_ns();
	if (target <= p->recovery_point || (!force_ckpt &&
	    (now - p->ckpt_mono_ns) / 1000000 < p->ckpt_interval_ms)) {
		pthread_mutex_unlock(&p->mu);
		goto out;
	}
	/* Index entries first (no fsync: rebuilt from the .log if lost). */
	rc = lg_segment_index_flush(active(p), 0, 0);
	pthread_mutex_unlock(&p->mu);
	if (rc != 0) {
		sl_errf(err, rc, "%s: index: %s", p->dir, sl_strerror(rc));
		goto out;
	}
	rc = lg_checkpoint_write(p->dir, LG_RECOVERY_FILE, target, err);
	if (rc == 0) {
		pthread_mutex_lock(&p->mu);
		p->recovery_point = target;	/* (3) */
		p->ckpt_mono_ns = now;
		pthread_mutex_unlock(&p->mu);
	}
out:
	pthread_mutex_unlock(&p->sync_mu);
	return rc;
}

int
lg_partition_sync(struct lg_partition *p, struct sl_err *err)
{
	return sync_impl(p, 0, err);
}

static void
partition_free(struct lg_partition *p)
{
	int i;

	for (i = 0; i < p->n_segs; i++)
		lg_segment_unref(p->segs[i]);
	free(p->segs);
	if (p->ps != NULL)
		lg_pstate_free(p->ps);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->clean_mu);
	pthread_mutex_destroy(&p->sync_mu);
	free(p->dir);
	free(p);
}

int
lg_partition_close(struct lg_partition *p)
{
	struct sl_err err = { 0 };
	struct lg_segment *s;
	int rc;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	s = active(p);
	lg_segment_index_seal(s);
	rc = lg_segment_index_flush(s, 0, 1);
	if (rc == 0 && s->alloc > s->size) {
		/* a cleanly closed log ends at its last batch; the sync below makes it so */
		rc = lg_segment_trim(s);
		s->dirty = 1;
	}
	pthread_mutex_unlock(&p->mu);
	if (rc == 0)
		rc = sync_impl(p, 1, &err);
	pthread_mutex_lock(&p->mu);
	if (rc == 0)
		rc = lg_pstate_snapshot_write(p->ps, p->dir, p->end, &err);
	if (rc == 0)
		rc = lg_checkpoint_write(p->dir, LG_CLEAN_FILE, p->end, &err);
	if (rc != 0)
		sl_warn("%s: unclean close: %s", p->dir, sl_err_msg(&err, rc));
	pthread_mutex_unlock(&p->mu);
	partition_free(p);
	return rc;
}

void
lg_partition_crash_(struct lg_partition *p)
{
	if (p != NULL)
		partition_free(p);
}

void
lg_partition_set_options(struct lg_partition *p, const struct lg_options *opts)
{
	pthread_mutex_lock(&p->mu);
	p->opts = *opts;
	pthread_mutex_unlock(&p->mu);
}

/* ---------------------------------------------------------------- reads */

struct read_arg {
	int64_t offset;			/* wanted */
	int64_t limit;			/* batches must start below it */
	size_t max_bytes;
	int64_t pos;			/* first batch, -1 until found */
	int64_t first;			/* its base offset */
	size_t len;
};

static int
read_note(const struct lg_batch_info *b, int64_t pos, void *arg)
{
	struct read_arg *a = arg;
	size_t size = lg_batch_size(b);

	if (a->pos < 0) {
		if (lg_batch_last_offset(b) < a->offset)
			return 0;
		if (b->base_offset >= a->limit)
			return 1;
		a->pos = pos;
		a->first = b->base_offset;
		a->len = size;
		return 0;
	}
	if (b->base_offset >= a->limit || a->len + size > a->max_bytes)
		return 1;
	a->len += size;
	return 0;
}

int
lg_partition_read(struct lg_partition *p, int64_t offset, size_t max_bytes,
    int64_t limit, struct lg_range *out, struct sl_err *err)
{
	struct read_arg a = { offset, 0, max_bytes, -1, 0, 0 };
	struct lg_segment *s = NULL;
	int64_t end_pos;
	int lo, hi, mid, k, rc = 0;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	pthread_mutex_lock(&p->mu);
	if (offset < p->start || offset > p->end) {
		rc = sl_errf(err, SL_ERANGE, "offset %" PRId64 " is outside %"
		    PRId64 "..%" PRId64, offset, p->start, p->end);
		goto out;
	}
	a.limit = limit < 0 || limit > p->end ? p->end : limit;
	if (offset >= a.limit)
		goto out;
	/* The last segment with base <= offset, then past gaps. */
	lo = 0;
	hi = p->n_segs;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p->segs[mid]->base <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	lo = lo > 0 ? lo - 1 : 0;
	while (lo < p->n_segs && p->segs[lo]->next <= offset)
		lo++;
	if (lo == p->n_segs)
		goto out;
	s = p->segs[lo];
	k = p->no_read_cache ? -1 : lg_segment_recent_find(s, offset);
	if (k >= 0) {
		/*
		 * (3) of index.c: the ring holds every batch from its oldest
		 * to the segment's end, so this picks what the scan would.
		 */
		p->read_hits++;
		for (; (unsigned)k < s->recent_n; k++) {
			const struct lg_recent *e = lg_segment_recent_at(s, (unsigned)k);
			struct lg_batch_info b = { 0 };

			b.base_offset = s->base + e->rel;
			b.last_offset_delta = e->last_rel - e->rel;
			b.length = e->size - LG_BATCH_LOG_OVERHEAD;
			if (read_note(&b, e->pos, &a) != 0)
				break;
		}
	} else {
		p->read_scans++;
		rc = lg_segment_scan(s->fd, s->log_path,
		    lg_segment_index_lookup(s, offset), s->size, s->base, 0,
		    read_note, &a, &end_pos, NULL, err);
		if (rc < 0)
			goto out;
		rc = 0;
	}
	if (a.pos < 0)
		goto out;
	lg_segment_ref(s);
	out->fd = s->fd;
	out->pos = (off_t)a.pos;
	out->len = a.len;
	out->first_offset = a.first;
	out->seg = s;
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void
lg_range_release(struct lg_range *r)
{
	if (r == NULL)
		return;
	lg_segment_unref(r->seg);
	r->seg = NULL;
	r->fd = -1;
	r->len = 0;
}

struct time_arg {
	int64_t ts;
	int64_t pos;			/* of the first batch with max timestamp >= ts */
	size_t size;			/* its size in bytes */
};

static int
time_note(const struct lg_batch_info *b, int64_t pos, void *arg)
{
	struct time_arg *a = arg;

	if (b->max_timestamp < a->ts)
		return 0;
	a->pos = pos;
	a->size = lg_batch_size(b);
	return 1;
}

/*
 * Read the batch at 'pos' ('size' bytes) of 's' and find its first record
 * at or after 'ts' and not below 'start'.  Returns 0 with '*offset' and
 * '*timestamp' set, SL_ENOTFOUND when no record qualifies (a client may set
 * a max timestamp its records do not reach), SL_ECORRUPT or -errno.
 */
static int
time_find_record(const struct lg_segment *s, int64_t pos, size_t size, int64_t ts,
    int64_t start, struct sl_arena *arena, int64_t *offset, int64_t *timestamp,
    struct sl_err *err)
{
	struct lg_batch_info info;
	struct lg_record *recs;
	uint8_t *buf = sl_malloc(size);	/* size was bounds-checked by the scan */
	ssize_t n;
	int32_t nrec, i;
	int rc;

	n = pread(s->fd, buf, size, (off_t)pos);
	if (n < 0) {
		rc = sl_errf(err, -errno, "%s: read at %" PRId64 ": %s", s->log_path,
		    pos, strerror(errno));
		goto out;
	}
	if ((size_t)n != size) {
		rc = SL_CORRUPT(err, "%s: short read at %" PRId64, s->log_path, pos);
		goto out;
	}
	lg_batch_header_peek(buf, &info);
	sl_arena_reset(arena);
	rc = lg_batch_records(sl_slice_make(buf, size), 0, arena, &recs, &nrec, err);
	if (rc != 0)
		goto out;
	rc = SL_ENOTFOUND;
	for (i = 0; i < nrec; i++) {
		/* Log-append-time batches: every record has the batch's time. */
		int64_t rts = (info.attributes & LG_ATTR_LOG_APPEND_TIME) ?
		    info.max_timestamp : recs[i].timestamp;

		if (rts >= ts && recs[i].offset >= start) {
			*offset = recs[i].offset;
			*timestamp = rts;
			rc = 0;
			break;
		}
	}
out:
	free(buf);
	return rc;
}

int
lg_partition_offset_for_time(struct lg_partition *p, int64_t ts,
    int64_t *offset, int64_t *timestamp, struct sl_err *err)
{
	struct time_arg a;
	struct sl_arena arena = { 0 };
	struct lg_segment *s;
	int64_t pos, end_pos;
	size_t lo, hi, mid;
	int i, rc = SL_ENOTFOUND;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n_segs; i++) {
		s = p->segs[i];
		if (s->size == 0 || s->max_ts < ts || s->next <= p->start)
			continue;
		/* (2) of index.c: start after the last entry below 'ts'. */
		lo = 0;
		hi = s->n_tidx;
		while (lo < hi) {		/* the last entry below 'ts' */
			mid = lo + (hi - lo) / 2;
			if (s->tidx[mid].ts < ts)
				lo = mid + 1;
			else
				hi = mid;
		}
		pos = lo == 0 ? 0 : lg_segment_index_lookup(s,
		    s->base + s->tidx[lo - 1].rel);
		while (pos < s->size) {
			a.ts = ts;
			a.pos = -1;
			a.size = 0;
			rc = lg_segment_scan(s->fd, s->log_path, pos, s->size, s->base, 0,
			    time_note, &a, &end_pos, NULL, err);
			if (rc < 0)
				goto out;
			if (a.pos < 0)
				break;
			/* The batch qualifies by its max timestamp; its records decide. */
			rc = time_find_record(s, a.pos, a.size, ts, p->start, &arena,
			    offset, timestamp, err);
			if (rc != SL_ENOTFOUND)
				goto out;
			pos = a.pos + (int64_t)a.size;
		}
		rc = SL_ENOTFOUND;
	}
	sl_errf(err, rc, "no record with a timestamp >= %" PRId64, ts);
out:
	pthread_mutex_unlock(&p->mu);
	sl_arena_free(&arena);
	return rc;
}

/* ------------------------------------------------------------ accessors */

int64_t
lg_partition_start(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int64_t v;

	pthread_mutex_lock(&q->mu);
	v = q->start;
	pthread_mutex_unlock(&q->mu);
	return v;
}

int64_t
lg_partition_end(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int64_t v;

	pthread_mutex_lock(&q->mu);
	v = q->end;
	pthread_mutex_unlock(&q->mu);
	return v;
}

int64_t
lg_partition_synced_end(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int64_t v;

	pthread_mutex_lock(&q->mu);
	v = q->synced_end;
	pthread_mutex_unlock(&q->mu);
	return v;
}

int64_t
lg_partition_size(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int64_t n = 0;
	int i;

	pthread_mutex_lock(&q->mu);
	for (i = 0; i < q->n_segs; i++)
		n += q->segs[i]->size;
	pthread_mutex_unlock(&q->mu);
	return n;
}

int
lg_partition_segment_count(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int n;

	pthread_mutex_lock(&q->mu);
	n = q->n_segs;
	pthread_mutex_unlock(&q->mu);
	return n;
}

int
lg_partition_producer(struct lg_partition *p, int64_t producer_id,
    struct lg_producer_info *out)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	rc = lg_pstate_get(p->ps, producer_id, out);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void
lg_partition_set_checkpoint_interval_(struct lg_partition *p, int64_t ms)
{
	p->ckpt_interval_ms = ms;
}

void
lg_partition_set_read_cache_(struct lg_partition *p, int on)
{
	pthread_mutex_lock(&p->mu);
	p->no_read_cache = !on;
	pthread_mutex_unlock(&p->mu);
}

void
lg_partition_read_stats_(const struct lg_partition *p, int64_t *hits,
    int64_t *scans)
{
	struct lg_partition *q = (struct lg_partition *)p;

	pthread_mutex_lock(&q->mu);
	if (hits != NULL)
		*hits = q->read_hits;
	if (scans != NULL)
		*scans = q->read_scans;
	pthread_mutex_unlock(&q->mu);
}

int64_t
lg_partition_rescanned_bytes_(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int64_t v;

	pthread_mutex_lock(&q->mu);
	v = q->rescanned;
	pthread_mutex_unlock(&q->mu);
	return v;
}

int64_t
lg_partition_recovery_point_(const struct lg_partition *p)
{
	struct lg_partition *q = (struct lg_partition *)p;
	int64_t v;

	pthread_mutex_lock(&q->mu);
	v = q->recovery_point;
	pthread_mutex_unlock(&q->mu);
	return v;
}

/* ------------------------------------------------------------ retention */

/* The largest timestamp of 's', or its file's mtime when it has none. */
static int64_t
segment_time(const struct lg_segment *s)
{
	struct stat st;

	if (s->max_ts >= 0)
		return s->max_ts;
	if (fstat(s->fd, &st) != 0)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/*
 * Checkpoint 'start' and delete the first 'k' segments.  The checkpoint goes
 * first: a crash between the two leaves segments below the start, which
 * lg_partition_open deletes.  Under both locks.
 */
static int
delete_front(struct lg_partition *p, int k, int64_t start, struct sl_err *err)
{
	int rc;

	if (start > p->start) {
		rc = lg_checkpoint_write(p->dir, LG_LOG_START_FILE, start, err);
		if (rc != 0)
			return rc;
		p->start = start;
	}
	if (k > 0)
		segs_drop_front(p, k, 1);
	return 0;
}

/*
 * lg.h's contract, plus: when a compaction is running on another thread,
 * retention deletes nothing this time (returns 0, '*deleted' 0) rather than
 * block the owner until the cleaner is done.
 */

int
lg_partition_retain(struct lg_partition *p, int64_t now_ms, int *deleted,
    struct sl_err *err)
{
	int64_t total = 0, t;
	int i, k = 0, rc;

	*deleted = 0;
	/* A compaction in progress owns the old segments: retry next time. */
	if (pthread_mutex_trylock(&p->clean_mu) != 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n_segs; i++)
		total += p->segs[i]->size;
	for (k = 0; k + 1 < p->n_segs; k++) {	/* never the active one */
		struct lg_segment *s = p->segs[k];
		int expired = 0, over = 0;

		if (p->opts.retention_ms >= 0) {
			t = segment_time(s);
			expired = t >= 0 && now_ms - t > p->opts.retention_ms;
		}
		if (p->opts.retention_bytes >= 0)
			over = total - s->size >= p->opts.retention_bytes;
		if (!expired && !over)
			break;
		total -= s->size;
	}
	rc = k > 0 ? delete_front(p, k, p->segs[k]->base, err) : 0;
	if (rc == 0)
		*deleted = k;
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->clean_mu);
	return rc;
}

int
lg_partition_truncate_front(struct lg_partition *p, int64_t offset,
    struct sl_err *err)
{
	int k, rc = 0;

	pthread_mutex_lock(&p->clean_mu);
	pthread_mutex_lock(&p->mu);
	if (offset > p->end) {
		rc = sl_errf(err, SL_ERANGE, "offset %" PRId64 " is past the end %"
		    PRId64, offset, p->end);
		goto out;
	}
	if (offset <= p->start)
		goto out;
	for (k = 0; k + 1 < p->n_segs && p->segs[k + 1]->base <= offset; k++)
		;
	rc = delete_front(p, k, offset, err);
out:
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->clean_mu);
	return rc;
}

/* ----------------------------------------------------------- compaction */

int
lg_partition_compact(struct lg_partition *p, int64_t now_ms, int64_t *cleaned,
    struct sl_err *err)
{
	struct lg_clean_input *in = NULL;
	struct lg_segment **fresh = NULL, *s;
	int64_t removed = 0, active_base, *bases = NULL, torn;
	int n_in, n_fresh = 0, i, k, rc = 0, run_rc, rebuilt;
	int32_t interval;
	char *path;

	if (cleaned != NULL)
		*cleaned = 0;
	pthread_mutex_lock(&p->clean_mu);
	pthread_mutex_lock(&p->mu);
	n_in = p->n_segs - 1;
	active_base = active(p)->base;
	interval = p->opts.index_interval_bytes;
	in = sl_calloc((size_t)(n_in > 0 ? n_in : 1), sizeof(*in));
	for (i = 0; i < n_in; i++) {
		in[i].base_offset = p->segs[i]->base;
		in[i].next_offset = p->segs[i]->next;
		in[i].log_path = sl_strdup(p->segs[i]->log_path);
	}
	pthread_mutex_unlock(&p->mu);
	if (n_in <= 0)
		goto out;

	run_rc = lg_cleaner_run(p->dir, in, n_in, now_ms, p->opts.delete_retention_ms,
	    interval, &removed, err);
	if (run_rc != 0) {
		/*
		 * The run may have failed before its commit point (files
		 * unchanged) or after it (files replaced).  Settle the folder
		 * either way, then reload the segment list from disk below, so
		 * the list always matches the files.  If even that fails the
		 * partition refuses appends until reopened.
		 */
		struct sl_err rerr = { 0 };

		removed = 0;
		if (lg_cleaner_recover(p->dir, &rerr) != 0) {
			pthread_mutex_lock(&p->mu);
			p->failed = 1;
			pthread_mutex_unlock(&p->mu);
			rc = run_rc;
			goto out;
		}
	}
	/* Reopen what the cleaner left below the old active segment. */
	if ((rc = list_bases(p->dir, active_base, &bases, &k, err)) != 0) {
		pthread_mutex_lock(&p->mu);
		p->failed = 1;
		pthread_mutex_unlock(&p->mu);
		goto out;
	}
	fresh = sl_calloc((size_t)(k > 0 ? k : 1), sizeof(*fresh));
	for (i = 0; i < k; i++) {
		path = lg_segment_path(p->dir, bases[i], ".log");
		rc = lg_segment_open(path, bases[i], interval, 0, &rebuilt, &torn,
		    &s, err);
		free(path);
		if (rc != 0) {
			pthread_mutex_lock(&p->mu);
			p->failed = 1;
			pthread_mutex_unlock(&p->mu);
			goto out;
		}
		fresh[n_fresh++] = s;
	}
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n_segs && p->segs[i]->base < active_base; i++)
		;
	segs_drop_front(p, i, 0);
	for (i = n_fresh - 1; i >= 0; i--) {
		segs_push(p, NULL);
		memmove(p->segs + 1, p->segs, (size_t)(p->n_segs - 1) * sizeof(*p->segs));
		p->segs[0] = fresh[i];
	}
	n_fresh = 0;
	if (p->start < p->segs[0]->base)
		p->start = p->segs[0]->base;
	pthread_mutex_unlock(&p->mu);
	if (cleaned != NULL)
		*cleaned = removed;
	rc = run_rc;
out:
	for (i = 0; i < n_fresh; i++)
		lg_segment_unref(fresh[i]);
	free(fresh);
	free(bases);
	for (i = 0; i < n_in; i++)
		free((char *)in[i].log_path);
	free(in);
	pthread_mutex_unlock(&p->clean_mu);
	return rc;
}

/* -------------------------------------------------------------- checking */

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "lg_partition_check_: %s: ", p->dir);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, " (%s)\n", #cond);			\
		abort();						\
	}								\
} while (0)

/*
 * (3) of index.c: the ring of 's' lies back to back up to its end, and each
 * entry matches the batch header on disk.  Under 'mu'.
 */
static void
check_recent(struct lg_partition *p, const struct lg_segment *s)
{
	uint8_t hdr[LG_BATCH_HEADER_SIZE];
	struct lg_batch_info b;
	const struct lg_recent *e;
	unsigned k;

	CHECK(s->recent_n <= LG_RECENT_BATCHES, "%s: ring of %u", s->log_path,
	    s->recent_n);
	for (k = 0; k < s->recent_n; k++) {
		e = lg_segment_recent_at(s, k);
		if (k + 1 < s->recent_n)
			CHECK((int64_t)e->pos + e->size ==
			    lg_segment_recent_at(s, k + 1)->pos &&
			    e->last_rel < lg_segment_recent_at(s, k + 1)->rel,
			    "%s: recent batch %u not followed by the next", s->log_path, k);
		else
			CHECK((int64_t)e->pos + e->size == s->size &&
			    s->base + e->last_rel + 1 == s->next,
			    "%s: newest recent batch ends at %" PRId64 ", segment at %"
			    PRId64, s->log_path, (int64_t)e->pos + e->size, s->size);
		CHECK(pread(s->fd, hdr, sizeof(hdr), e->pos) == (ssize_t)sizeof(hdr),
		    "%s: cannot read recent batch %u at %" PRId32, s->log_path, k,
		    e->pos);
		lg_batch_header_peek(hdr, &b);
		CHECK(b.base_offset == s->base + e->rel &&
		    lg_batch_last_offset(&b) == s->base + e->last_rel &&
		    (int64_t)lg_batch_size(&b) == e->size,
		    "%s: recent batch %u disagrees with the header at %" PRId32,
		    s->log_path, k, e->pos);
	}
}

void
lg_partition_check_(struct lg_partition *p)
{
	struct lg_segment *s;
	struct stat st;
	size_t k;
	int i;

	pthread_mutex_lock(&p->mu);
	CHECK(p->n_segs >= 1, "no segments");
	CHECK(p->start <= p->end, "start %" PRId64 " end %" PRId64, p->start,
	    p->end);					/* (2) */
	CHECK(p->end == active(p)->next, "end %" PRId64 " active next %"
	    PRId64, p->end, active(p)->next);
	CHECK(p->recovery_point <= p->synced_end && p->synced_end <= p->end,
	    "recovery %" PRId64 " synced %" PRId64 " end %" PRId64,
	    p->recovery_point, p->synced_end, p->end);	/* (3) */
	for (i = 0; i < p->n_segs; i++) {
		s = p->segs[i];
		CHECK(s->refs >= 1, "segment %d has no reference", i);
		CHECK(s->base <= s->next, "segment %" PRId64 " next %" PRId64,
		    s->base, s->next);
		if (i + 1 < p->n_segs)
			CHECK(s->next <= p->segs[i + 1]->base, "segment %" PRId64
			    " overlaps the next", s->base);
		CHECK(fstat(s->fd, &st) == 0 && st.st_size == s->alloc &&
		    s->alloc >= s->size && (i + 1 == p->n_segs || s->alloc == s->size),
		    "%s: file size %jd, segment size %" PRId64 ", zero-filled to %"
		    PRId64, s->log_path, (intmax_t)st.st_size, s->size, s->alloc);	/* (5) */
		for (k = 0; k < s->n_idx; k++) {
			CHECK(s->idx[k].pos < s->size && s->base + s->idx[k].rel < s->next,
			    "%s: index entry %zu past the end", s->log_path, k);
			if (k > 0)
				CHECK(s->idx[k].rel > s->idx[k - 1].rel &&
				    s->idx[k].pos > s->idx[k - 1].pos,
				    "%s: index entry %zu not increasing", s->log_path, k);
		}
		check_recent(p, s);
		for (k = 0; k < s->n_tidx; k++) {
			CHECK(s->tidx[k].ts <= s->max_ts && s->tidx[k].rel <= s->last_rel,
			    "%s: time entry %zu past the segment", s->log_path, k);
			if (k > 0)
				CHECK(s->tidx[k].ts > s->tidx[k - 1].ts &&
				    s->tidx[k].rel >= s->tidx[k - 1].rel,
				    "%s: time entry %zu not increasing", s->log_path, k);
		}
	}
	pthread_mutex_unlock(&p->mu);
}
