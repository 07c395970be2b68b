/*
 * log/cleaner.c: log compaction (cleanup.policy=compact) and the
 * crash-safe swap of cleaned segments.
 *
 * lg_cleaner_run() maps every key of the inactive segments it is given to
 * the offset of its latest record, then rewrites those segments keeping a
 * record only if it is the latest of its key, and dropping tombstones
 * (null values) once their batch is older than delete_retention_ms.
 * Offsets never change: a rewritten batch keeps its base offset, the
 * offset deltas of the records it keeps (gaps allowed), its last offset
 * delta, codec, producer id, epoch, base sequence and leader epoch.
 * lg_cleaner_recover() finishes or rolls back a clean that a crash
 * interrupted.  This file does not choose when to clean or which segments
 * are inactive: lg_partition_compact() in partition.c does.
 *
 * Choices (docs/log-format.md, "Compaction"):
 *  - Keys are compared byte for byte: the map stores every distinct key, so
 *    hash collisions cannot lose a record.  When the map outgrows its limit
 *    (LG_CLEANER_MAP_BYTES) the clean covers only the leading segments
 *    whose keys fit, at least one.
 *  - A record with a null key cannot be compacted and is dropped, as
 *    Kafka's cleaner does; the broker rejects such records at produce time
 *    for compacted topics.
 *  - Control batches (transaction markers) are copied unchanged.  Records
 *    of aborted transactions are compacted like any other.
 *  - A batch that loses all its records is dropped, except the last batch
 *    of each producer id, which is kept with no records so the producer
 *    state can still be rebuilt from the log (Kafka does the same).
 *  - Consecutive cleaned segments are grouped into one output segment,
 *    named for the first, while the output stays under the largest input
 *    segment and the offset span fits the 32-bit relative index offsets.
 *    An output may be empty (every record dropped): the file stays, so the
 *    first segment's base offset, the log start, never moves.
 *
 * SWAP PROTOCOL: the states of the partition folder, in order.  'G' is an
 * output group's base offset, 'old' every input segment it replaces.
 *  (1) Writing: outputs are built in "cleaner.tmp/G.log" with their
 *      indexes (lg_index_build), each file fsynced.
 *  (2) Cleaned: each output file is renamed to "G.log.cleaned",
 *      "G.index.cleaned", "G.timeindex.cleaned"; the folder is fsynced.
 *  (3) Swap-ready: each "*.cleaned" is renamed to "*.swap"; fsync folder.
 *  (4) Committed: the marker "cleaner.swap" (which old segments go into
 *      which group) is written to "cleaner.swap.tmp", fsynced, renamed and
 *      the folder fsynced.  This rename is the commit point.
 *  (5) Old segments that are not a group base are unlinked; fsync folder.
 *  (6) Each "G.<ext>.swap" is renamed over "G.<ext>"; fsync folder.
 *  (7) Done: the marker is unlinked and the folder fsynced.
 * lg_cleaner_recover() (at open): with no marker, states (1)-(3) roll back
 * (cleaner.tmp, "*.cleaned" and "*.swap" are deleted: the old segments are
 * untouched); with a marker, states (4)-(6) roll forward by redoing (5),
 * (6) and (7), each of which is idempotent.  lg_fault_crash_point() is
 * called after every step so tests can stop the process there.
 *
 * INVARIANTS
 *  (1) Before the commit point no file of an old segment is modified or
 *      removed; after it, no step depends on an old segment's content.
 *  (2) Every output byte is fsynced before the marker names it.
 *  (3) Swaps commit all groups at once, so a reader after recovery sees
 *      either every old segment or every cleaned one: never a cleaned
 *      segment that dropped a tombstone next to an old one that still
 *      holds the value the tombstone deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/lg_int.h"

#define STAGE_DIR "cleaner.tmp"
#define MARKER "cleaner.swap"
#define MARKER_TMP "cleaner.swap.tmp"
#define SFX_CLEANED ".cleaned"
#define SFX_SWAP ".swap"
#define OUT_FLUSH_BYTES (1u << 20)

static const char *const seg_exts[] = { ".log", ".index", ".timeindex" };
#define N_EXTS ((int)SL_ARRAY_LEN(seg_exts))

static size_t map_limit = LG_CLEANER_MAP_BYTES;

void
lg_cleaner_set_map_limit_(size_t bytes)
{
	map_limit = bytes ? bytes : LG_CLEANER_MAP_BYTES;
}

/* ------------------------------------------------------------ helpers */

static int
dir_sync(const char *dir, struct sl_err *err)
{
	int rc = lg_dir_fsync(dir);

	if (rc != 0)
		return sl_errf(err, rc, "%s: fsync: %s", dir, sl_strerror(rc));
	return 0;
}

static int
file_sync(const char *path, struct sl_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return sl_errf(err, -errno, "%s: %s", path, strerror(errno));
	if (lg_fsync(fd) != 0)
		rc = sl_errf(err, -errno, "%s: fsync: %s", path, strerror(errno));
	close(fd);
	return rc;
}

static int
unlink_quiet(const char *path, struct sl_err *err)
{
	if (unlink(path) != 0 && errno != ENOENT)
		return sl_errf(err, -errno, "unlink %s: %s", path, strerror(errno));
	return 0;
}

static int
rename_or_err(const char *from, const char *to, struct sl_err *err)
{
	if (lg_rename(from, to) != 0)
		return sl_errf(err, -errno, "rename %s to %s: %s", from, to,
		    strerror(errno));
	return 0;
}

/* "<dir>/<20-digit base><ext><sfx>", allocated. */
static char *
seg_path(const char *dir, int64_t base, const char *ext, const char *sfx)
{
	return sl_asprintf("%s/%020" PRId64 "%s%s", dir, base, ext, sfx);
}

static int
has_suffix(const char *s, const char *sfx)
{
	size_t n = strlen(s), m = strlen(sfx);

	return n >= m && strcmp(s + n - m, sfx) == 0;
}

/* Prefix the message in 'err' with the file and position of the batch. */
static void
err_where(struct sl_err *err, int rc, const char *path, off_t pos)
{
	char why[sizeof(err->msg)];

	snprintf(why, sizeof(why), "%s", sl_err_msg(err, rc));
	sl_errf(err, rc, "%s: batch at position %jd: %s", path, (intmax_t)pos, why);
}

/* --------------------------------------------------------- segment reader */

struct seg_reader {
	const char *path;
	int fd;
	off_t size;			/* file size at open */
	off_t pos;			/* next batch */
	int64_t min_offset;		/* the next batch starts at or after */
	int64_t end_offset;		/* one past the segment's last offset */
};

static int
reader_open(struct seg_reader *r, const struct lg_clean_input *seg,
    struct sl_err *err)
{
	const char *path = seg->log_path;
	struct stat st;

	r->path = path;
	r->pos = 0;
	r->min_offset = seg->base_offset;
	r->end_offset = seg->next_offset;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return sl_errf(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(r->fd, &st) != 0) {
		int e = -errno;

		close(r->fd);
		r->fd = -1;
		return sl_errf(err, e, "%s: %s", path, strerror(-e));
	}
	r->size = st.st_size;
	return 0;
}

static void
reader_close(struct seg_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static int
read_full(int fd, void *p, size_t n, off_t off)
{
	uint8_t *c = p;

	while (n > 0) {
		ssize_t k = pread(fd, c, n, off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return SL_ETRUNC;
		c += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

/*
 * Read the next batch into 'b' (replacing its content) and decode its
 * header into 'info'; '*pos' gets its file position.  Returns 1, 0 at the
 * end of the file, SL_ECORRUPT (a torn or bad batch in an inactive segment)
 * or -errno.
 */
static int
reader_next(struct seg_reader *r, struct sl_buf *b, struct lg_batch_info *info,
    off_t *pos, struct sl_err *err)
{
	uint8_t hdr[LG_BATCH_LOG_OVERHEAD];
	int64_t len;
	int rc;

	if (r->pos >= r->size)
		return 0;
	*pos = r->pos;
	if (r->size - r->pos < LG_BATCH_HEADER_SIZE)
		return SL_CORRUPT(err, "%s: %jd bytes at position %jd are too few "
		    "for a batch", r->path, (intmax_t)(r->size - r->pos),
		    (intmax_t)r->pos);
	if ((rc = read_full(r->fd, hdr, sizeof(hdr), r->pos)) != 0)
		return sl_errf(err, rc, "%s: read at %jd: %s", r->path,
		    (intmax_t)r->pos, sl_strerror(rc));
	len = (int64_t)(int32_t)sl_get_be32(hdr + 8);
	/* Bounds-checked before allocating. */
	if (len < LG_BATCH_HEADER_SIZE - LG_BATCH_LOG_OVERHEAD ||
	    len > (int64_t)(r->size - r->pos) - LG_BATCH_LOG_OVERHEAD)
		return SL_CORRUPT(err, "%s: batch length %" PRId64 " at position "
		    "%jd is out of bounds", r->path, len, (intmax_t)r->pos);
	sl_buf_reset(b);
	sl_buf_reserve(b, (size_t)len + LG_BATCH_LOG_OVERHEAD);
	if ((rc = read_full(r->fd, b->p, (size_t)len + LG_BATCH_LOG_OVERHEAD,
	    r->pos)) != 0)
		return sl_errf(err, rc, "%s: read at %jd: %s", r->path,
		    (intmax_t)r->pos, sl_strerror(rc));
	b->len = (size_t)len + LG_BATCH_LOG_OVERHEAD;
	rc = lg_batch_header(sl_buf_slice(b), info, err);
	if (rc != 0) {
		if (rc == SL_ETRUNC)
			return SL_CORRUPT(err, "%s: torn batch at position %jd",
			    r->path, (intmax_t)r->pos);
		err_where(err, rc, r->path, r->pos);
		return rc;
	}
	/* Offsets are outside the CRC: check them against the segment. */
	if (info->base_offset < r->min_offset || info->last_offset_delta < 0 ||
	    lg_batch_last_offset(info) >= r->end_offset)
		return SL_CORRUPT(err, "%s: batch at position %jd has offsets "
		    "%" PRId64 "..%" PRId64 " outside %" PRId64 "..%" PRId64,
		    r->path, (intmax_t)r->pos, info->base_offset,
		    lg_batch_last_offset(info), r->min_offset, r->end_offset - 1);
	r->min_offset = lg_batch_last_offset(info) + 1;
	r->pos += (off_t)b->len;
	return 1;
}

/* ------------------------------------------------------------ key map */

/*
 * Key -> offset of its latest record.  Keys are stored whole in 'keys'
 * and compared byte for byte; the hash only picks the slot.
 */
struct omap_ent {
	uint64_t hash;			/* 0 marks a free slot */
	uint64_t key_off;		/* into 'keys' */
	int64_t offset;
	uint32_t key_len;
};

struct omap {
	struct omap_ent *slots;
	size_t cap;			/* power of two */
	size_t count;
	struct sl_buf keys;
};

static uint64_t
key_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a 64, then mixed */

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static size_t
omap_bytes(const struct omap *m)
{
	return m->cap * sizeof(*m->slots) + m->keys.cap;
}

static void
omap_init(struct omap *m)
{
	memset(m, 0, sizeof(*m));
	m->cap = 1024;
	m->slots = sl_calloc(m->cap, sizeof(*m->slots));
}

static void
omap_free(struct omap *m)
{
	free(m->slots);
	sl_buf_free(&m->keys);
	memset(m, 0, sizeof(*m));
}

static struct omap_ent *
omap_slot(const struct omap *m, const uint8_t *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct omap_ent *e = &m->slots[i];

		if (e->hash == 0)
			return e;
		if (e->hash == h && e->key_len == len &&
		    memcmp(m->keys.p + e->key_off, key, len) == 0)
			return e;
	}
}

static void
omap_grow(struct omap *m)
{
	struct omap_ent *old = m->slots;
	size_t old_cap = m->cap;

	m->cap *= 2;
	m->slots = sl_calloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++) {
		size_t mask = m->cap - 1, j;

		if (old[i].hash == 0)
			continue;
		for (j = old[i].hash & mask; m->slots[j].hash != 0; j = (j + 1) & mask)
			;
		m->slots[j] = old[i];
	}
	free(old);
}

static void
omap_put(struct omap *m, struct sl_slice key, int64_t offset)
{
	uint64_t h = key_hash(key.p, key.len);
	struct omap_ent *e = omap_slot(m, key.p, key.len, h);

	if (e->hash != 0) {
		if (offset > e->offset)
			e->offset = offset;
		return;
	}
	if ((m->count + 1) * 4 > m->cap * 3) {
		omap_grow(m);
		e = omap_slot(m, key.p, key.len, h);
	}
	e->hash = h;
	e->key_off = m->keys.len;
	e->key_len = (uint32_t)key.len;
	e->offset = offset;
	sl_buf_add(&m->keys, key.p, key.len);
	m->count++;
}

/* The latest offset of 'key', or -1 when it is not in the map. */
static int64_t
omap_get(const struct omap *m, struct sl_slice key)
{
	uint64_t h = key_hash(key.p, key.len);
	const struct omap_ent *e = omap_slot(m, key.p, key.len, h);

	return e->hash != 0 ? e->offset : -1;
}

/* Producer id -> base offset of its last data batch (ids are >= 0). */
struct pidmap {
	int64_t *k;			/* -1 free */
	int64_t *v;
	size_t cap, count;
};

static void
pidmap_init(struct pidmap *m)
{
	m->cap = 64;
	m->count = 0;
	m->k = sl_malloc(m->cap * sizeof(*m->k));
	m->v = sl_malloc(m->cap * sizeof(*m->v));
	for (size_t i = 0; i < m->cap; i++)
		m->k[i] = -1;
}

static void
pidmap_free(struct pidmap *m)
{
	free(m->k);
	free(m->v);
}

static size_t
pidmap_home(const struct pidmap *m, int64_t pid)
{
	return (size_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ULL) >> 20) & (m->cap - 1);
}

static void
pidmap_put(struct pidmap *m, int64_t pid, int64_t v)
{
	size_t i;

	if ((m->count + 1) * 4 > m->cap * 3) {
		struct pidmap n = { NULL, NULL, m->cap * 2, 0 };

		n.k = sl_malloc(n.cap * sizeof(*n.k));
		n.v = sl_malloc(n.cap * sizeof(*n.v));
		for (i = 0; i < n.cap; i++)
			n.k[i] = -1;
		for (i = 0; i < m->cap; i++)
			if (m->k[i] >= 0)
				pidmap_put(&n, m->k[i], m->v[i]);
		pidmap_free(m);
		*m = n;
	}
	for (i = pidmap_home(m, pid); m->k[i] >= 0 && m->k[i] != pid;
	    i = (i + 1) & (m->cap - 1))
		;
	if (m->k[i] < 0)
		m->count++;
	m->k[i] = pid;
	m->v[i] = v;
}

static int64_t
pidmap_get(const struct pidmap *m, int64_t pid)
{
	for (size_t i = pidmap_home(m, pid); m->k[i] >= 0; i = (i + 1) & (m->cap - 1))
		if (m->k[i] == pid)
			return m->v[i];
	return -1;
}

/* ------------------------------------------------------------ the clean */

struct group {
	int64_t base;			/* output name */
	int first, last;		/* input segments segs[first..last] */
	int changed;			/* output differs from the inputs */
	int64_t in_bytes, out_bytes;
};

struct cleaner {
	const char *dir;
	const struct lg_clean_input *segs;
	int n;				/* segments covered by the map */
	int64_t horizon;		/* tombstones with max ts below go */
	int32_t index_interval;
	struct omap map;
	struct pidmap pids;
	struct sl_arena arena;
	struct sl_buf batch;		/* one input batch */
	struct sl_buf out;		/* output bytes not yet written */
	struct group *groups;
	int n_groups;
	char *stage;			/* "<dir>/cleaner.tmp" */
	int committed;			/* the marker is in place (4) */
};

/*
 * (Map) Read segments in order while the map is under its limit (at least
 * one), recording the latest offset of every key and the last data batch
 * of every producer.  Sets c->n to the segments covered.
 */
static int
cleaner_map(struct cleaner *c, int n_in, struct sl_err *err)
{
	struct seg_reader r = { NULL, -1, 0, 0, 0, 0 };
	int rc = 0;

	c->n = 0;
	for (int i = 0; i < n_in; i++) {
		struct lg_batch_info info;
		off_t pos;

		if (i > 0 && omap_bytes(&c->map) >= map_limit) {
			sl_info("cleaner: %s: key map full (%zu bytes), cleaning %d "
			    "of %d segments", c->dir, omap_bytes(&c->map), i, n_in);
			break;
		}
		if ((rc = reader_open(&r, &c->segs[i], err)) != 0)
			goto out;
		while ((rc = reader_next(&r, &c->batch, &info, &pos, err)) == 1) {
			struct lg_record *recs;
			int32_t nr;

			if (info.attributes & LG_ATTR_CONTROL)
				continue;
			if (info.producer_id >= 0)
				pidmap_put(&c->pids, info.producer_id, info.base_offset);
			sl_arena_reset(&c->arena);
			rc = lg_batch_records(sl_buf_slice(&c->batch), 0, &c->arena,
			    &recs, &nr, err);
			if (rc != 0) {
				err_where(err, rc, r.path, pos);
				goto out;
			}
			for (int32_t k = 0; k < nr; k++)
				if (!recs[k].key_null)
					omap_put(&c->map, recs[k].key, recs[k].offset);
		}
		if (rc < 0)
			goto out;
		rc = 0;
		reader_close(&r);
		c->n = i + 1;
	}
out:
	reader_close(&r);
	return rc;
}

static int
keep_record(const struct cleaner *c, const struct lg_batch_info *info,
    const struct lg_record *rec)
{
	if (rec->key_null)
		return 0;
	if (omap_get(&c->map, rec->key) != rec->offset)
		return 0;
	if (rec->value_null && info->max_timestamp < c->horizon)
		return 0;
	return 1;
}

/*
 * Rebuild the batch in c->batch with the records 'keep' marks, appending
 * it to c->out.  'n_keep' may be 0 (an empty batch kept for its producer).
 */
static int
rebuild_batch(struct cleaner *c, const struct lg_batch_info *info,
    const struct lg_record *recs, int32_t nr, const uint8_t *keep,
    struct sl_err *err)
{
	struct lg_batch_builder bb;
	size_t start = c->out.len;
	int32_t n_keep = 0;
	uint8_t *p;
	int rc;

	/*
	 * The builder asserts increasing deltas; a batch whose CRC holds can
	 * still disagree, and bytes from disk must not reach an assert.
	 */
	for (int32_t k = 0, prev = -1; k < nr; k++) {
		int64_t d = recs[k].offset - info->base_offset;

		if (d <= prev || d > info->last_offset_delta)
			return SL_CORRUPT(err, "batch at offset %" PRId64 ": record %d "
			    "has offset delta %" PRId64 " (previous %d, last offset "
			    "delta %d)", info->base_offset, (int)k, d, (int)prev,
			    (int)info->last_offset_delta);
		prev = (int32_t)d;
		n_keep += keep[k];
	}
	/* An empty batch needs no codec (some framings of nothing are odd). */
	lg_batch_builder_init(&bb, n_keep == 0 ? LG_CODEC_NONE :
	    (enum lg_codec)(info->attributes & LG_ATTR_CODEC_MASK),
	    info->base_offset);
	bb.producer_id = info->producer_id;
	bb.producer_epoch = info->producer_epoch;
	bb.base_sequence = info->base_sequence;
	bb.extra_attributes = (int16_t)(info->attributes &
	    (LG_ATTR_LOG_APPEND_TIME | LG_ATTR_TRANSACTIONAL));
	for (int32_t k = 0; k < nr; k++) {
		const struct lg_record *r = &recs[k];

		if (!keep[k])
			continue;
		/* Non-null empty bytes must not reach the builder as NULL. */
		lg_batch_builder_add(&bb, r->offset - info->base_offset, r->timestamp,
		    r->key.p ? (const void *)r->key.p : "", r->key.len,
		    r->value_null ? NULL :
		    (r->value.p ? (const void *)r->value.p : ""), r->value.len,
		    r->headers, r->n_headers);
	}
	if (bb.count == 0) {
		bb.first_timestamp = info->max_timestamp;
		bb.max_timestamp = info->max_timestamp;
	}
	rc = lg_batch_builder_finish(&bb, info->last_offset_delta, &c->out);
	lg_batch_builder_free(&bb);
	if (rc != 0)
		return sl_errf(err, rc, "cleaner: cannot rebuild the batch at offset "
		    "%" PRId64 ": %s", info->base_offset, sl_strerror(rc));
	/*
	 * Fields the builder has no say in: the leader epoch (outside the CRC)
	 * and, with log-append time, the max timestamp, which is the append
	 * time itself rather than a record's (the CRC is then recomputed).
	 */
	p = c->out.p + start;
	sl_put_be32(p + 12, (uint32_t)info->leader_epoch);
	if ((info->attributes & LG_ATTR_LOG_APPEND_TIME) &&
	    (int64_t)sl_get_be64(p + 35) != info->max_timestamp) {
		sl_put_be64(p + 35, (uint64_t)info->max_timestamp);
		sl_put_be32(p + 17, sl_crc32c(0, p + LG_BATCH_CRC_START,
		    c->out.len - start - LG_BATCH_CRC_START));
	}
	return 0;
}

static int
out_flush(struct cleaner *c, int fd, const char *path, struct sl_err *err)
{
	if (c->out.len == 0)
		return 0;
	if (lg_write(fd, c->out.p, c->out.len) < 0)
		return sl_errf(err, -errno, "%s: write: %s", path, strerror(errno));
	sl_buf_reset(&c->out);
	return 0;
}

/*
 * (Rewrite) Append the cleaned batches of segment 'i' to the output file
 * 'fd'.  '*changed' is set when anything was dropped or rebuilt.
 */
static int
clean_segment(struct cleaner *c, int i, int fd, const char *out_path,
    int64_t *out_bytes, int *changed, struct sl_err *err)
{
	struct seg_reader r = { NULL, -1, 0, 0, 0, 0 };
	struct lg_batch_info info;
	uint8_t *keep = NULL;
	size_t keep_cap = 0;
	off_t pos;
	int rc;

	if ((rc = reader_open(&r, &c->segs[i], err)) != 0)
		return rc;
	while ((rc = reader_next(&r, &c->batch, &info, &pos, err)) == 1) {
		struct lg_record *recs;
		int32_t nr, n_keep = 0;
		size_t before = c->out.len;

		if (info.attributes & LG_ATTR_CONTROL) {
			sl_buf_add(&c->out, c->batch.p, c->batch.len);
			goto next;
		}
		sl_arena_reset(&c->arena);
		rc = lg_batch_records(sl_buf_slice(&c->batch), 0, &c->arena, &recs,
		    &nr, err);
		if (rc != 0) {
			err_where(err, rc, r.path, pos);
			goto out;
		}
		if ((size_t)nr > keep_cap) {
			keep_cap = (size_t)nr;
			keep = sl_realloc(keep, keep_cap);
		}
		for (int32_t k = 0; k < nr; k++) {
			keep[k] = (uint8_t)keep_record(c, &info, &recs[k]);
			n_keep += keep[k];
		}
		if (n_keep == nr) {
			sl_buf_add(&c->out, c->batch.p, c->batch.len);
			goto next;
		}
		*changed = 1;
		if (n_keep == 0 && (info.producer_id < 0 ||
		    pidmap_get(&c->pids, info.producer_id) != info.base_offset))
			goto next;	/* dropped whole */
		if ((rc = rebuild_batch(c, &info, recs, nr, keep, err)) != 0)
			goto out;
next:
		*out_bytes += (int64_t)(c->out.len - before);
		if (c->out.len >= OUT_FLUSH_BYTES &&
		    (rc = out_flush(c, fd, out_path, err)) != 0)
			goto out;
	}
	if (rc == 1 || rc == 0)
		rc = out_flush(c, fd, out_path, err);
out:
	free(keep);
	reader_close(&r);
	return rc;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Open group 'g' at its first input: its output file in the staging folder. */
static int
group_open(struct cleaner *c, struct group *g, int *fd, char **stage_log,
    struct sl_err *err)
{
	*stage_log = sl_asprintf("%s/%020" PRId64 ".log", c->stage, g->base);
	*fd = open(*stage_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0)
		return sl_errf(err, -errno, "%s: %s", *stage_log, strerror(errno));
	return 0;
}

/*
 * Close group 'g': if it differs from its inputs, sync it, build its
 * indexes and move its files to "<dir>/G.<ext>.cleaned" (state (2));
 * otherwise drop the staged copy.  Closes '*fd' and frees '*stage_log'.
 */
static int
group_close(struct cleaner *c, struct group *g, int *fd, char **stage_log,
    struct sl_err *err)
{
	int rc = 0;

	if (g->last > g->first)
		g->changed = 1;
	if (!g->changed)
		goto out;
	if (lg_fsync(*fd) != 0) {	/* (2) */
		rc = sl_errf(err, -errno, "%s: fsync: %s", *stage_log, strerror(errno));
		goto out;
	}
	close(*fd);
	*fd = -1;
	if ((rc = lg_index_build(*stage_log, g->base, c->index_interval, err)) != 0)
		goto out;
	for (int e = 0; e < N_EXTS && rc == 0; e++) {
		char *from = seg_path(c->stage, g->base, seg_exts[e], "");
		char *to = seg_path(c->dir, g->base, seg_exts[e], SFX_CLEANED);

		if (e > 0)
			rc = file_sync(from, err);	/* (2) */
		if (rc == 0)
			rc = rename_or_err(from, to, err);
		free(from);
		free(to);
	}
	if (rc == 0)
		lg_fault_crash_point("cleaner-cleaned");
out:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	if (*stage_log != NULL && (!g->changed || rc != 0))
		unlink(*stage_log);
	free(*stage_log);
	*stage_log = NULL;
	return rc;
}

/*
 * MARKER "cleaner.swap", big-endian
 *   OFFSET SIZE DESCRIPTION
 *        0    4 magic "SLCS"
 *        4    2 version = 1
 *        6    2 reserved, 0
 *        8    4 crc32c of bytes 12..end
 *       12    4 entry count N (>= 1)
 *       16 N*16 entries: old segment base offset (8), the base offset of
 *               the group replacing it (8); group bases are also old bases
 */
#define MARKER_MAGIC "SLCS"
#define MARKER_VERSION 1
#define MARKER_HEADER 16
#define MARKER_ENTRY 16
#define MARKER_MAX_BYTES ((size_t)64 << 20)

struct swap_ent {
	int64_t old_base;
	int64_t group_base;
};

static int
marker_write(struct cleaner *c, struct sl_err *err)
{
	struct sl_buf b = { 0 };
	char *tmp = sl_asprintf("%s/" MARKER_TMP, c->dir);
	char *path = sl_asprintf("%s/" MARKER, c->dir);
	uint32_t n = 0;
	int fd = -1, rc = 0;

	for (int gi = 0; gi < c->n_groups; gi++)
		if (c->groups[gi].changed)
			n += (uint32_t)(c->groups[gi].last - c->groups[gi].first + 1);
	sl_buf_add(&b, MARKER_MAGIC, 4);
	sl_buf_add_be16(&b, MARKER_VERSION);
	sl_buf_add_be16(&b, 0);
	sl_buf_add_be32(&b, 0);
	sl_buf_add_be32(&b, n);
	for (int gi = 0; gi < c->n_groups; gi++) {
		const struct group *g = &c->groups[gi];

		if (!g->changed)
			continue;
		for (int i = g->first; i <= g->last; i++) {
			sl_buf_add_be64(&b, (uint64_t)c->segs[i].base_offset);
			sl_buf_add_be64(&b, (uint64_t)g->base);
		}
	}
	sl_put_be32(b.p + 8, sl_crc32c(0, b.p + 12, b.len - 12));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = sl_errf(err, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (lg_write(fd, b.p, b.len) < 0) {
		rc = sl_errf(err, -errno, "%s: write: %s", tmp, strerror(errno));
		goto out;
	}
	if (lg_fsync(fd) != 0) {
		rc = sl_errf(err, -errno, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	lg_fault_crash_point("cleaner-marker-written");
	if ((rc = rename_or_err(tmp, path, err)) != 0)
		goto out;
	c->committed = 1;
	rc = dir_sync(c->dir, err);
out:
	if (fd >= 0)
		close(fd);
	sl_buf_free(&b);
	free(tmp);
	free(path);
	return rc;
}

/*
 * Read the marker 'path' into '*ents' ('*n').  Returns 0, SL_ENOTFOUND
 * when there is none, SL_ECORRUPT or -errno.
 */
static int
marker_read(const char *path, struct swap_ent **ents, size_t *n,
    struct sl_err *err)
{
	struct sl_buf b = { 0 };
	uint32_t cnt;
	int rc;

	*ents = NULL;
	*n = 0;
	rc = sl_file_read(path, MARKER_MAX_BYTES, &b);
	if (rc == -ENOENT) {
		rc = SL_ENOTFOUND;
		goto out;
	}
	if (rc != 0) {
		sl_errf(err, rc, "%s: %s", path, sl_strerror(rc));
		goto out;
	}
	if (b.len < MARKER_HEADER || memcmp(b.p, MARKER_MAGIC, 4) != 0 ||
	    sl_get_be16(b.p + 4) != MARKER_VERSION || sl_get_be16(b.p + 6) != 0) {
		rc = SL_CORRUPT(err, "%s: bad header (%zu bytes)", path, b.len);
		goto out;
	}
	if (sl_crc32c(0, b.p + 12, b.len - 12) != sl_get_be32(b.p + 8)) {
		rc = SL_CORRUPT(err, "%s: crc mismatch at byte 8", path);
		goto out;
	}
	cnt = sl_get_be32(b.p + 12);
	if (cnt == 0 || (b.len - MARKER_HEADER) % MARKER_ENTRY != 0 ||
	    (b.len - MARKER_HEADER) / MARKER_ENTRY != cnt) {
		rc = SL_CORRUPT(err, "%s: %u entries at byte 12 do not fill %zu "
		    "bytes", path, cnt, b.len);
		goto out;
	}
	*ents = sl_malloc(cnt * sizeof(**ents));
	for (uint32_t i = 0; i < cnt; i++) {
		const uint8_t *q = b.p + MARKER_HEADER + (size_t)i * MARKER_ENTRY;

		(*ents)[i].old_base = (int64_t)sl_get_be64(q);
		(*ents)[i].group_base = (int64_t)sl_get_be64(q + 8);
		if ((*ents)[i].old_base < 0 || (*ents)[i].group_base < 0 ||
		    (*ents)[i].group_base > (*ents)[i].old_base) {
			rc = SL_CORRUPT(err, "%s: bad entry at byte %zu", path,
			    (size_t)(q - b.p));
			free(*ents);
			*ents = NULL;
			goto out;
		}
	}
	*n = cnt;
out:
	sl_buf_free(&b);
	return rc;
}

/*
 * States (5), (6) and (7) from the marker's entries: idempotent, so both
 * lg_cleaner_run and recovery after a crash at any later step use it.
 */
static int
swap_finish(const char *dir, const struct swap_ent *ents, size_t n,
    struct sl_err *err)
{
	char *marker = sl_asprintf("%s/" MARKER, dir);
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {	/* (5) */
		if (ents[i].old_base == ents[i].group_base)
			continue;
		for (int e = 0; e < N_EXTS && rc == 0; e++) {
			char *p = seg_path(dir, ents[i].old_base, seg_exts[e], "");

			rc = unlink_quiet(p, err);
			free(p);
		}
		if (rc == 0)
			lg_fault_crash_point("cleaner-old-deleted");
	}
	if (rc != 0 || (rc = dir_sync(dir, err)) != 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {	/* (6) */
		if (ents[i].old_base != ents[i].group_base)
			continue;
		for (int e = 0; e < N_EXTS && rc == 0; e++) {
			char *from = seg_path(dir, ents[i].group_base, seg_exts[e],
			    SFX_SWAP);
			char *to = seg_path(dir, ents[i].group_base, seg_exts[e], "");

			if (access(from, F_OK) == 0) {
				rc = rename_or_err(from, to, err);
				if (rc == 0)
					lg_fault_crash_point("cleaner-swap-renamed");
			}
			free(from);
			free(to);
		}
	}
	if (rc != 0 || (rc = dir_sync(dir, err)) != 0)
		goto out;
	lg_fault_crash_point("cleaner-swapped");
	if ((rc = unlink_quiet(marker, err)) != 0)	/* (7) */
		goto out;
	rc = dir_sync(dir, err);
out:
	free(marker);
	return rc;
}

/* Delete every "*.cleaned" and "*.swap" and the staging folder: roll back. */
static int
rollback(const char *dir, struct sl_err *err)
{
	DIR *d;
	struct dirent *de;
	int rc = 0, removed = 0;

	if ((d = opendir(dir)) == NULL)
		return sl_errf(err, -errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL && rc == 0) {
		if (has_suffix(de->d_name, SFX_CLEANED) ||
		    has_suffix(de->d_name, SFX_SWAP) ||
		    strcmp(de->d_name, STAGE_DIR) == 0 ||
		    strcmp(de->d_name, MARKER_TMP) == 0) {
			char *p = sl_asprintf("%s/%s", dir, de->d_name);

			rc = sl_rm_rf(p);
			if (rc != 0 && rc != -ENOENT)
				sl_errf(err, rc, "cannot remove %s: %s", p,
				    strerror(-rc));
			else
				rc = 0;
			removed++;
			free(p);
		}
	}
	closedir(d);
	if (rc == 0 && removed > 0)
		rc = dir_sync(dir, err);
	return rc;
}

int
lg_cleaner_recover(const char *dir, struct sl_err *err)
{
	char *marker = sl_asprintf("%s/" MARKER, dir);
	struct swap_ent *ents = NULL;
	size_t n = 0;
	int rc;

	rc = marker_read(marker, &ents, &n, err);
	if (rc == SL_ENOTFOUND) {
		rc = rollback(dir, err);	/* states (1)-(3) */
	} else if (rc == 0) {
		sl_info("cleaner: %s: completing an interrupted segment swap", dir);
		if ((rc = swap_finish(dir, ents, n, err)) == 0)
			rc = rollback(dir, err);	/* leftovers only */
	}
	free(ents);
	free(marker);
	return rc;
}

static int
swap_commit(struct cleaner *c, struct sl_err *err)
{
	struct swap_ent *ents = NULL;
	size_t n = 0;
	int rc = 0;

	for (int gi = 0; gi < c->n_groups && rc == 0; gi++) {	/* (3) */
		const struct group *g = &c->groups[gi];

		if (!g->changed)
			continue;
		for (int e = 0; e < N_EXTS && rc == 0; e++) {
			char *from = seg_path(c->dir, g->base, seg_exts[e], SFX_CLEANED);
			char *to = seg_path(c->dir, g->base, seg_exts[e], SFX_SWAP);

			rc = rename_or_err(from, to, err);
			free(from);
			free(to);
			if (rc == 0)
				lg_fault_crash_point("cleaner-swap-ready");
		}
	}
	if (rc != 0 || (rc = dir_sync(c->dir, err)) != 0)
		return rc;
	lg_fault_crash_point("cleaner-swap-synced");
	if ((rc = marker_write(c, err)) != 0)	/* (4): the commit point */
		return rc;
	lg_fault_crash_point("cleaner-committed");
	for (int gi = 0; gi < c->n_groups; gi++) {
		const struct group *g = &c->groups[gi];

		if (!g->changed)
			continue;
		ents = sl_realloc(ents, (n + (size_t)(g->last - g->first + 1)) *
		    sizeof(*ents));
		for (int i = g->first; i <= g->last; i++) {
			ents[n].old_base = c->segs[i].base_offset;
			ents[n].group_base = g->base;
			n++;
		}
	}
	rc = swap_finish(c->dir, ents, n, err);
	free(ents);
	return rc;
}

int
lg_cleaner_run(const char *dir, const struct lg_clean_input *segs, int n,
    int64_t now_ms, int64_t delete_retention_ms, int32_t index_interval_bytes,
    int64_t *bytes_removed, struct sl_err *err)
{
	struct cleaner c;
	int64_t limit = 1, removed = 0;
	int rc = 0, any = 0, fd = -1, started = 0;
	struct group *g = NULL;
	char *stage_log = NULL;

	if (bytes_removed != NULL)
		*bytes_removed = 0;
	if (n <= 0)
		return 0;
	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.segs = segs;
	c.index_interval = index_interval_bytes;
	c.horizon = (delete_retention_ms < 0 || delete_retention_ms > now_ms) ?
	    INT64_MIN : now_ms - delete_retention_ms;
	omap_init(&c.map);
	pidmap_init(&c.pids);
	c.stage = sl_asprintf("%s/" STAGE_DIR, dir);

	for (int i = 1; i < n; i++) {
		if (segs[i].base_offset < segs[i - 1].next_offset) {
			rc = sl_errf(err, SL_EINVAL, "cleaner: segments %" PRId64
			    " and %" PRId64 " overlap or are out of order",
			    segs[i - 1].base_offset, segs[i].base_offset);
			goto out;
		}
	}
	/* Leftovers of a run whose own recovery failed. */
	if ((rc = lg_cleaner_recover(dir, err)) != 0)
		goto out;
	if ((rc = cleaner_map(&c, n, err)) != 0)
		goto out;
	started = 1;
	if (mkdir(c.stage, 0755) != 0) {
		rc = sl_errf(err, -errno, "%s: %s", c.stage, strerror(errno));
		goto out;
	}
	rc = 0;
	for (int i = 0; i < c.n; i++) {
		int64_t sz = file_size(segs[i].log_path);

		if (sz > limit)
			limit = sz;
	}
	c.groups = sl_calloc((size_t)c.n, sizeof(*c.groups));
	/*
	 * (1) Writing, then (2) Cleaned, group by group.  An input's own size
	 * bounds what it adds to the open group's output.
	 */
	for (int i = 0; i < c.n; i++) {
		int64_t sz = file_size(segs[i].log_path);

		if (g == NULL || g->out_bytes + sz > limit ||
		    segs[i].next_offset - g->base > INT32_MAX) {
			if (g != NULL &&
			    (rc = group_close(&c, g, &fd, &stage_log, err)) != 0)
				goto out;
			g = &c.groups[c.n_groups++];
			g->base = segs[i].base_offset;
			g->first = i;
			if ((rc = group_open(&c, g, &fd, &stage_log, err)) != 0)
				goto out;
		}
		g->last = i;
		g->in_bytes += sz;
		rc = clean_segment(&c, i, fd, stage_log, &g->out_bytes, &g->changed,
		    err);
		if (rc != 0)
			goto out;
	}
	if (g != NULL && (rc = group_close(&c, g, &fd, &stage_log, err)) != 0)
		goto out;
	for (int gi = 0; gi < c.n_groups; gi++) {
		any |= c.groups[gi].changed;
		if (c.groups[gi].changed)
			removed += c.groups[gi].in_bytes - c.groups[gi].out_bytes;
	}
	if (any) {
		if ((rc = dir_sync(dir, err)) != 0)	/* (2) */
			goto out;
		rc = swap_commit(&c, err);
		if (rc != 0) {
			struct sl_err e2 = { 0 };
			int r2;

			/*
			 * Before the commit point: roll back and fail.  After it:
			 * roll forward; if that works the clean succeeded, and the
			 * caller must reload its segments like after any clean.
			 */
			r2 = lg_cleaner_recover(dir, &e2);
			if (r2 != 0) {
				sl_warn("cleaner: %s: %s (recovery deferred to the "
				    "next open)", dir, sl_err_msg(&e2, r2));
				goto out;
			}
			if (!c.committed)
				goto out;
			sl_warn("cleaner: %s: %s; the swap was completed",
			    dir, sl_err_msg(err, rc));
			rc = 0;
		}
	}
	if (bytes_removed != NULL)
		*bytes_removed = removed;
out:
	if (rc != 0 && started && !any) {
		struct sl_err e2 = { 0 };

		(void)rollback(dir, &e2);
	}
	if (fd >= 0)
		close(fd);
	free(stage_log);
	if (started)
		sl_rm_rf(c.stage);
	free(c.groups);
	free(c.stage);
	omap_free(&c.map);
	pidmap_free(&c.pids);
	sl_arena_free(&c.arena);
	sl_buf_free(&c.batch);
	sl_buf_free(&c.out);
	return rc;
}
