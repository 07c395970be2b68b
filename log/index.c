/*
 * log/index.c: the two sparse indexes of a segment, in memory and on disk.
 *
 * INDEX FILE (.index), big-endian, 8 bytes per entry, no header
 *   OFFSET SIZE DESCRIPTION
 *        0    4 offset - segment base offset (int32)
 *        4    4 byte position of the batch with that base offset (int32)
 * TIME INDEX FILE (.timeindex), big-endian, 12 bytes per entry, no header
 *   OFFSET SIZE DESCRIPTION
 *        0    8 largest batch max timestamp of the segment up to this batch
 *        8    4 relative base offset of that batch (int32)
 *
 * An entry is added for a batch that starts more than index_interval_bytes
 * after the previous entry's batch; position 0 is implied.  A time entry is
 * added with an offset entry when the segment's max timestamp has grown,
 * and once more when the segment is sealed (rolled or closed).  Entries are
 * held in memory and appended to the files at sync, so the files are never
 * preallocated: their size is always exactly the entries.  Indexes are an
 * optimisation: any inconsistency found at open rebuilds them from the .log.
 *
 * Recent batches: besides the sparse entries, the last LG_RECENT_BATCHES
 * batches of the segment are remembered exactly ({relative base, relative
 * last offset, position, size}) in a ring filled by the same call that
 * indexes a batch, whether it was appended or found by a scan at open or
 * recovery, and trimmed by every cut.  lg_partition_read answers a read
 * that falls among them without reading headers back from the .log.
 *
 * INVARIANTS
 *  (1) Offset entries are strictly increasing in both fields and point at
 *      the first byte of a batch with exactly that base offset.
 *  (2) Time entries are strictly increasing in timestamp, non-decreasing in
 *      offset; every batch before a time entry's batch has a max timestamp
 *      <= the entry's, so a lookup may start from the last entry below the
 *      target.
 *  (3) The ring's batches lie back to back (each starts where the previous
 *      ends), the newest ends at 'size', and their offsets increase; so a
 *      read at an offset from the oldest's base on needs nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/lg_int.h"

static void
idx_push(struct lg_segment *s, int32_t rel, int32_t pos)
{
	if (s->n_idx == s->cap_idx) {
		s->cap_idx = s->cap_idx ? s->cap_idx * 2 : 64;
		s->idx = sl_realloc(s->idx, s->cap_idx * sizeof(*s->idx));
	}
	s->idx[s->n_idx].rel = rel;
	s->idx[s->n_idx].pos = pos;
	s->n_idx++;
}

static void
tidx_push(struct lg_segment *s, int64_t ts, int32_t rel)
{
	if (s->n_tidx == s->cap_tidx) {
		s->cap_tidx = s->cap_tidx ? s->cap_tidx * 2 : 64;
		s->tidx = sl_realloc(s->tidx, s->cap_tidx * sizeof(*s->tidx));
	}
	s->tidx[s->n_tidx].ts = ts;
	s->tidx[s->n_tidx].rel = rel;
	s->n_tidx++;
}

/* Remember the batch at 'pos' as the newest of the ring (3). */
static void
recent_push(struct lg_segment *s, int64_t pos, size_t size, int32_t rel,
    int32_t last_rel)
{
	struct lg_recent *e;

	if (s->recent_n > 0) {
		e = &s->recent[(s->recent_head + s->recent_n - 1) &
		    (LG_RECENT_BATCHES - 1)];
		if ((int64_t)e->pos + e->size != pos || e->last_rel >= rel)
			s->recent_n = 0;	/* (3) not adjacent: start over */
	}
	if (s->recent_n == LG_RECENT_BATCHES) {
		s->recent_head = (s->recent_head + 1) & (LG_RECENT_BATCHES - 1);
		s->recent_n--;
	}
	e = &s->recent[(s->recent_head + s->recent_n) & (LG_RECENT_BATCHES - 1)];
	e->rel = rel;
	e->last_rel = last_rel;
	e->pos = (int32_t)pos;
	e->size = (int32_t)size;
	s->recent_n++;
}

int
lg_segment_recent_find(const struct lg_segment *s, int64_t offset)
{
	const struct lg_recent *oldest;
	unsigned lo = 0, hi = s->recent_n, mid;

	if (s->recent_n == 0)
		return -1;
	oldest = lg_segment_recent_at(s, 0);
	/* Before the oldest base, an older batch may hold 'offset'. */
	if (offset < s->base + oldest->rel && oldest->pos != 0)
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->base + lg_segment_recent_at(s, mid)->last_rel < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)lo;
}

void
lg_segment_index_batch(struct lg_segment *s, int64_t pos, size_t size,
    int64_t base_offset, int64_t last_offset, int64_t max_ts,
    int32_t interval)
{
	int32_t rel = (int32_t)(base_offset - s->base);
	int64_t m;

	if (interval < 0)
		interval = 0;
	if (pos - s->last_index_pos > interval) {
		idx_push(s, rel, (int32_t)pos);		/* (1) */
		s->last_index_pos = pos;
		m = max_ts > s->max_ts ? max_ts : s->max_ts;
		if (m >= 0 && (s->n_tidx == 0 || m > s->tidx[s->n_tidx - 1].ts))
			tidx_push(s, m, rel);		/* (2) */
	}
	recent_push(s, pos, size, rel, (int32_t)(last_offset - s->base));
	if (pos == 0)
		s->first_ts = max_ts;
	if (max_ts > s->max_ts)
		s->max_ts = max_ts;
	s->last_rel = rel;
	s->next = last_offset + 1;
	s->size = pos + (int64_t)size;
}

void
lg_segment_index_seal(struct lg_segment *s)
{
	if (s->size > 0 && s->max_ts >= 0 &&
	    (s->n_tidx == 0 || s->max_ts > s->tidx[s->n_tidx - 1].ts))
		tidx_push(s, s->max_ts, s->last_rel);
}

void
lg_segment_index_cut(struct lg_segment *s, int64_t pos)
{
	int32_t rel = 0;
	int64_t at = 0;

	while (s->n_idx > 0 && s->idx[s->n_idx - 1].pos > pos)
		s->n_idx--;
	if (s->n_idx > 0) {
		rel = s->idx[s->n_idx - 1].rel;
		at = s->idx[s->n_idx - 1].pos;
		while (s->n_tidx > 0 && s->tidx[s->n_tidx - 1].rel > rel)
			s->n_tidx--;
		s->max_ts = s->n_tidx > 0 ? s->tidx[s->n_tidx - 1].ts : -1;
		if (s->first_ts > s->max_ts)
			s->max_ts = s->first_ts;
	} else {
		s->n_tidx = 0;
		s->max_ts = -1;
		s->first_ts = -1;
	}
	/* (3) forget the ring's batches from 'at' on. */
	while (s->recent_n > 0 &&
	    lg_segment_recent_at(s, s->recent_n - 1)->pos >= at)
		s->recent_n--;
	s->size = at;
	s->next = s->base + rel;
	s->last_rel = rel;
	s->last_index_pos = at;
	if (s->idx_on_disk > s->n_idx)
		s->idx_on_disk = s->n_idx;
	if (s->tidx_on_disk > s->n_tidx)
		s->tidx_on_disk = s->n_tidx;
}

int64_t
lg_segment_index_lookup(const struct lg_segment *s, int64_t offset)
{
	size_t lo = 0, hi = s->n_idx, mid;

	/* The last entry with base + rel <= offset. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->base + s->idx[mid].rel <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? 0 : s->idx[lo - 1].pos;
}

/* Read a whole index file of at most 'max' bytes; NULL when absent or bad. */
static uint8_t *
idx_read_file(const char *path, int64_t max, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	ssize_t r;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size > max)
		goto out;
	p = sl_malloc((size_t)st.st_size + 1);
	while (done < (size_t)st.st_size) {
		r = pread(fd, p + done, (size_t)st.st_size - done, (off_t)done);
		if (r <= 0) {
			free(p);
			p = NULL;
			goto out;
		}
		done += (size_t)r;
	}
	*len = done;
out:
	close(fd);
	return p;
}

int
lg_segment_index_load(struct lg_segment *s, int64_t fsize)
{
	char *ipath = lg_segment_sibling(s->log_path, ".index");
	char *tpath = lg_segment_sibling(s->log_path, ".timeindex");
	/* A batch is at least a header, which bounds the entries. */
	int64_t max_entries = fsize / LG_BATCH_HEADER_SIZE + 2;
	uint8_t *ib = NULL, *tb = NULL, hdr[LG_BATCH_HEADER_SIZE];
	struct lg_batch_info b;
	size_t ilen = 0, tlen = 0, i;
	int32_t rel, pos;
	int64_t ts;
	int rc = -1;

	s->n_idx = s->n_tidx = 0;
	ib = idx_read_file(ipath, max_entries * LG_INDEX_ENTRY_SIZE, &ilen);
	tb = idx_read_file(tpath, max_entries * LG_TIMEINDEX_ENTRY_SIZE, &tlen);
	if (ib == NULL || tb == NULL || ilen % LG_INDEX_ENTRY_SIZE != 0 ||
	    tlen % LG_TIMEINDEX_ENTRY_SIZE != 0)
		goto out;
	for (i = 0; i < ilen; i += LG_INDEX_ENTRY_SIZE) {
		rel = (int32_t)sl_get_be32(ib + i);
		pos = (int32_t)sl_get_be32(ib + i + 4);
		if (rel < 0 || pos < 0 || (s->n_idx > 0 &&
		    (rel <= s->idx[s->n_idx - 1].rel || pos <= s->idx[s->n_idx - 1].pos)))
			goto out;			/* (1) */
		idx_push(s, rel, pos);
	}
	for (i = 0; i < tlen; i += LG_TIMEINDEX_ENTRY_SIZE) {
		ts = (int64_t)sl_get_be64(tb + i);
		rel = (int32_t)sl_get_be32(tb + i + 8);
		if (rel < 0 || ts < 0 || (s->n_tidx > 0 &&
		    (ts <= s->tidx[s->n_tidx - 1].ts || rel < s->tidx[s->n_tidx - 1].rel)))
			goto out;			/* (2) */
		tidx_push(s, ts, rel);
	}
	/* The last entry must lie within the .log, at a batch of its offset. */
	if (s->n_idx > 0) {
		pos = s->idx[s->n_idx - 1].pos;
		if ((int64_t)pos + LG_BATCH_HEADER_SIZE > fsize ||
		    pread(s->fd, hdr, sizeof(hdr), pos) != (ssize_t)sizeof(hdr))
			goto out;
		lg_batch_header_peek(hdr, &b);
		if (b.magic != 2 || b.base_offset != s->base + s->idx[s->n_idx - 1].rel)
			goto out;
	}
	s->first_ts = -1;
	if (fsize >= LG_BATCH_HEADER_SIZE &&
	    pread(s->fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr)) {
		lg_batch_header_peek(hdr, &b);
		s->first_ts = b.max_timestamp;
	}
	s->idx_on_disk = s->n_idx;
	s->tidx_on_disk = s->n_tidx;
	lg_segment_index_cut(s, s->n_idx > 0 ? s->idx[s->n_idx - 1].pos : 0);
	rc = 0;
out:
	if (rc != 0) {
		s->n_idx = s->n_tidx = 0;
		s->idx_on_disk = s->tidx_on_disk = 0;
	}
	free(ib);
	free(tb);
	free(ipath);
	free(tpath);
	return rc;
}

/* Write entries [from, n) of one index file at 'path'; see index_flush. */
static int
idx_flush_file(const char *path, const uint8_t *p, size_t from, size_t n,
    size_t esize, int rewrite, int sync)
{
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (rewrite ? O_TRUNC : 0),
	    0644);
	if (fd < 0)
		return -errno;
	if (n > from && lg_pwrite(fd, p + from * esize, (n - from) * esize,
	    (off_t)(from * esize)) < 0)
		rc = -errno;
	else if (ftruncate(fd, (off_t)(n * esize)) != 0)
		rc = -errno;
	else if (sync && lg_fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
lg_segment_index_flush(struct lg_segment *s, int rewrite, int sync)
{
	char *ipath = lg_segment_sibling(s->log_path, ".index");
	char *tpath = lg_segment_sibling(s->log_path, ".timeindex");
	size_t i, from;
	uint8_t *b = NULL;
	int rc;

	from = rewrite ? 0 : s->idx_on_disk;
	b = sl_malloc((s->n_idx + 1) * LG_INDEX_ENTRY_SIZE);
	for (i = from; i < s->n_idx; i++) {
		sl_put_be32(b + i * LG_INDEX_ENTRY_SIZE, (uint32_t)s->idx[i].rel);
		sl_put_be32(b + i * LG_INDEX_ENTRY_SIZE + 4, (uint32_t)s->idx[i].pos);
	}
	rc = idx_flush_file(ipath, b, from, s->n_idx, LG_INDEX_ENTRY_SIZE,
	    rewrite, sync);
	free(b);
	if (rc != 0)
		goto out;
	s->idx_on_disk = s->n_idx;

	from = rewrite ? 0 : s->tidx_on_disk;
	b = sl_malloc((s->n_tidx + 1) * LG_TIMEINDEX_ENTRY_SIZE);
	for (i = from; i < s->n_tidx; i++) {
		sl_put_be64(b + i * LG_TIMEINDEX_ENTRY_SIZE, (uint64_t)s->tidx[i].ts);
		sl_put_be32(b + i * LG_TIMEINDEX_ENTRY_SIZE + 8,
		    (uint32_t)s->tidx[i].rel);
	}
	rc = idx_flush_file(tpath, b, from, s->n_tidx, LG_TIMEINDEX_ENTRY_SIZE,
	    rewrite, sync);
	free(b);
	if (rc == 0)
		s->tidx_on_disk = s->n_tidx;
out:
	free(ipath);
	free(tpath);
	return rc;
}

/*
 * Write the .index and .timeindex of 'log_path' (a trailing ".log"
 * replaced) by scanning its batch headers; the time index is sealed with
 * the segment's max timestamp.  Returns 0, SL_ECORRUPT / SL_ETRUNC naming
 * the position of a bad batch, or -errno.
 */
int
lg_index_build(const char *log_path, int64_t base_offset,
    int32_t index_interval_bytes, struct sl_err *err)
{
	struct lg_segment s;
	struct stat st;
	int rc;

	memset(&s, 0, sizeof(s));
	s.base = base_offset;
	s.refs = 1;
	s.log_path = (char *)log_path;
	s.fd = open(log_path, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0 || fstat(s.fd, &st) != 0) {
		rc = sl_errf(err, -errno, "%s: open: %s", log_path, strerror(errno));
		goto out;
	}
	lg_segment_index_cut(&s, 0);
	rc = lg_segment_replay(&s, index_interval_bytes, -1, 0,
	    (int64_t)st.st_size, NULL, err);
	if (rc != 0)
		goto out;
	lg_segment_index_seal(&s);
	rc = lg_segment_index_flush(&s, 1, 1);
	if (rc != 0)
		sl_errf(err, rc, "%s: cannot write indexes: %s", log_path,
		    sl_strerror(rc));
out:
	if (s.fd >= 0)
		close(s.fd);
	free(s.idx);
	free(s.tidx);
	return rc;
}
