/*
 * log/segment.c: one segment of a partition: its files, its reference
 * count, and the batch scanner that recovery, index rebuilds and lookups
 * share.
 *
 * A segment is "<20-digit base offset>.log" holding RecordBatch v2 batches
 * back to back exactly as appended, with "<base>.index" and
 * "<base>.timeindex" beside it (index.c; layouts in lg_int.h and
 * docs/log-format.md).  Segments know nothing of checkpoints or retention:
 * partition.c decides which segment is written and when one is deleted.
 *
 * INVARIANTS
 *  (1) 'size' is the end of the last whole batch; the .log file is never
 *      shorter, and longer only while recovery has not yet cut it.
 *  (2) The fd stays open while any reference is held, so a struct lg_range
 *      remains readable after retention unlinks the files.
 *  (3) Batches in a segment have increasing offsets: each base offset is at
 *      least the previous batch's last offset + 1.
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

char *
lg_segment_path(const char *dir, int64_t base, const char *ext)
{
	return sl_asprintf("%s/%020" PRId64 "%s", dir, base, ext);
}

char *
lg_segment_sibling(const char *log_path, const char *ext)
{
	size_t n = strlen(log_path);

	if (n >= 4 && strcmp(log_path + n - 4, ".log") == 0)
		n -= 4;
	return sl_asprintf("%.*s%s", (int)n, log_path, ext);
}

int
lg_segment_parse_name(const char *name, int64_t *base)
{
	int64_t v = 0;
	int i;

	if (strlen(name) != LG_SEGMENT_NAME_DIGITS + 4 ||
	    strcmp(name + LG_SEGMENT_NAME_DIGITS, ".log") != 0)
		return -1;
	for (i = 0; i < LG_SEGMENT_NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	*base = v;
	return 0;
}

void
lg_batch_header_peek(const uint8_t *p, struct lg_batch_info *b)
{
	b->base_offset = (int64_t)sl_get_be64(p);
	b->length = (int32_t)sl_get_be32(p + 8);
	b->leader_epoch = (int32_t)sl_get_be32(p + 12);
	b->magic = (int8_t)p[16];
	b->crc = sl_get_be32(p + 17);
	b->attributes = (int16_t)sl_get_be16(p + 21);
	b->last_offset_delta = (int32_t)sl_get_be32(p + 23);
	b->first_timestamp = (int64_t)sl_get_be64(p + 27);
	b->max_timestamp = (int64_t)sl_get_be64(p + 35);
	b->producer_id = (int64_t)sl_get_be64(p + 43);
	b->producer_epoch = (int16_t)sl_get_be16(p + 51);
	b->base_sequence = (int32_t)sl_get_be32(p + 53);
	b->records_count = (int32_t)sl_get_be32(p + 57);
}

static struct lg_segment *
segment_alloc(const char *log_path, int64_t base)
{
	struct lg_segment *s = sl_calloc(1, sizeof(*s));

	s->base = base;
	s->next = base;
	s->fd = -1;
	s->max_ts = -1;
	s->first_ts = -1;
	s->refs = 1;
	s->log_path = sl_strdup(log_path);
	return s;
}

int
lg_segment_create(const char *dir, int64_t base, struct lg_segment **out,
    struct sl_err *err)
{
	char *path = lg_segment_path(dir, base, ".log");
	struct lg_segment *s = segment_alloc(path, base);
	int rc = 0;

	*out = NULL;
	s->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		rc = sl_errf(err, -errno, "%s: create: %s", path, strerror(errno));
		goto out;
	}
	rc = lg_segment_index_flush(s, 1, 0);
	if (rc != 0) {
		sl_errf(err, rc, "%s: cannot create indexes: %s", path,
		    sl_strerror(rc));
		goto out;
	}
	*out = s;
	s = NULL;
out:
	lg_segment_unref(s);
	free(path);
	return rc;
}

void
lg_segment_zero_ahead(struct lg_segment *s, int64_t max_step, int64_t limit)
{
	/* never written: untouched .bss maps the kernel's zero page, no RSS */
	static uint8_t zeros[1 << 20];
	int64_t step, to, pos;

	if (max_step <= 0 || s->size <= s->alloc)
		return;		/* the append stayed within zero-filled space */
	s->alloc = s->size;
	/* grows with the segment: a quiet partition holds little of it */
	step = s->size < LG_ZERO_AHEAD_MIN ? LG_ZERO_AHEAD_MIN : s->size;
	if (step > max_step)
		step = max_step;
	to = s->size + step;
	if (to > limit)
		to = limit;
	for (pos = s->size; pos < to; pos += (int64_t)sizeof(zeros)) {
		size_t n = to - pos < (int64_t)sizeof(zeros) ? (size_t)(to - pos) : sizeof(zeros);

		if (lg_pwrite(s->fd, zeros, n, pos) < 0) {
			if (ftruncate(s->fd, s->size) != 0)
				sl_warn("%s: cannot cut zero-filled space back to %" PRId64
				    ": %s", s->log_path, s->size, strerror(errno));
			return;
		}
	}
	if (to > s->size)
		s->alloc = to;
}

int
lg_segment_trim(struct lg_segment *s)
{
	if (s->alloc <= s->size)
		return 0;
	if (ftruncate(s->fd, s->size) != 0)
		return -errno;
	s->alloc = s->size;
	return 0;
}

int
lg_file_is_zero(int fd, int64_t from, int64_t to)
{
	uint8_t buf[64 * 1024];
	size_t i;
	ssize_t r;

	while (from < to) {
		size_t want = to - from < (int64_t)sizeof(buf) ? (size_t)(to - from) : sizeof(buf);

		r = pread(fd, buf, want, from);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;	/* shorter than said: not what we wrote */
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] != 0)
				return 0;
		from += r;
	}
	return 1;
}

void
lg_segment_ref(struct lg_segment *s)
{
	s->refs++;
}

void
lg_segment_unref(struct lg_segment *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	if (s->fd >= 0)
		close(s->fd);		/* (2) only when the last reference goes */
	free(s->idx);
	free(s->tidx);
	free(s->log_path);
	free(s);
}

/* Read exactly 'n' bytes at 'pos'; 0, SL_ETRUNC at end of file, or -errno. */
static int
read_full(int fd, void *p, size_t n, int64_t pos)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, (char *)p + done, n - done, (off_t)(pos + (int64_t)done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return SL_ETRUNC;
		done += (size_t)r;
	}
	return 0;
}

int
lg_segment_scan(int fd, const char *name, int64_t pos, int64_t size,
    int64_t min_offset, int crc, lg_scan_fn fn, void *arg, int64_t *end_pos,
    int64_t *bytes, struct sl_err *err)
{
	uint8_t hdr[LG_BATCH_HEADER_SIZE];
	struct sl_buf buf = { 0 };
	struct lg_batch_info b;
	int64_t total;
	int rc = 0;

	while (pos < size) {
		if (size - pos < LG_BATCH_HEADER_SIZE) {
			rc = sl_errf(err, SL_ETRUNC, "%s: torn batch at position "
			    "%" PRId64 ": %" PRId64 " bytes left", name, pos, size - pos);
			break;
		}
		rc = read_full(fd, hdr, sizeof(hdr), pos);
		if (rc != 0) {
			sl_errf(err, rc, "%s: read at position %" PRId64 ": %s",
			    name, pos, sl_strerror(rc));
			break;
		}
		lg_batch_header_peek(hdr, &b);
		total = (int64_t)b.length + LG_BATCH_LOG_OVERHEAD;
		if (b.length < LG_BATCH_HEADER_SIZE - LG_BATCH_LOG_OVERHEAD ||
		    total > LG_SCAN_MAX_BATCH) {
			rc = SL_CORRUPT(err, "%s: bad batch length %" PRId32
			    " at position %" PRId64, name, b.length, pos);
			break;
		}
		if (pos + total > size) {
			rc = sl_errf(err, SL_ETRUNC, "%s: torn batch at position "
			    "%" PRId64 ": %" PRId64 " of %" PRId64 " bytes", name,
			    pos, size - pos, total);
			break;
		}
		if (b.magic != 2) {
			rc = SL_CORRUPT(err, "%s: magic %d at position %" PRId64,
			    name, b.magic, pos + 16);
			break;
		}
		if (b.last_offset_delta < 0 || b.base_offset < min_offset ||
		    b.base_offset > INT64_MAX - b.last_offset_delta - 1) {
			rc = SL_CORRUPT(err, "%s: offset %" PRId64 " (last delta %"
			    PRId32 ") at position %" PRId64 " is below %" PRId64,
			    name, b.base_offset, b.last_offset_delta, pos, min_offset);	/* (3) */
			break;
		}
		if (crc) {
			buf.len = 0;
			sl_buf_reserve(&buf, (size_t)total);
			rc = read_full(fd, buf.p, (size_t)total, pos);
			if (rc != 0) {
				sl_errf(err, rc, "%s: read at position %" PRId64
				    ": %s", name, pos, sl_strerror(rc));
				break;
			}
			if (sl_crc32c(0, buf.p + LG_BATCH_CRC_START,
			    (size_t)total - LG_BATCH_CRC_START) != b.crc) {
				rc = SL_CORRUPT(err, "%s: crc mismatch in batch at "
				    "position %" PRId64 " (offset %" PRId64 ")",
				    name, pos, b.base_offset);
				break;
			}
		}
		if (bytes != NULL)
			*bytes += crc ? total : LG_BATCH_HEADER_SIZE;
		if (fn != NULL && (rc = fn(&b, pos, arg)) != 0)
			break;
		min_offset = lg_batch_last_offset(&b) + 1;
		pos += total;
	}
	*end_pos = pos;
	sl_buf_free(&buf);
	return rc;
}

struct replay_arg {
	struct lg_segment *s;
	int32_t interval;
	int64_t limit;			/* stop before a batch reaching it; -1 */
};

static int
replay_note(const struct lg_batch_info *b, int64_t pos, void *arg)
{
	struct replay_arg *r = arg;

	if (r->limit >= 0 && lg_batch_last_offset(b) >= r->limit)
		return 1;
	lg_segment_index_batch(r->s, pos, lg_batch_size(b), b->base_offset,
	    lg_batch_last_offset(b), b->max_timestamp, r->interval);
	return 0;
}

int
lg_segment_replay(struct lg_segment *s, int32_t interval, int64_t limit,
    int crc, int64_t fsize, int64_t *bytes, struct sl_err *err)
{
	struct replay_arg r = { s, interval, limit };
	int64_t end;
	int rc;

	rc = lg_segment_scan(s->fd, s->log_path, s->size, fsize, s->next, crc,
	    replay_note, &r, &end, bytes, err);
	return rc == 1 ? 0 : rc;
}

int
lg_segment_open(const char *log_path, int64_t base, int32_t interval,
    int tolerant, int *rebuilt, int64_t *torn_pos, struct lg_segment **out,
    struct sl_err *err)
{
	struct lg_segment *s = segment_alloc(log_path, base);
	struct stat st;
	int rc, pass;

	*out = NULL;
	*rebuilt = 0;
	*torn_pos = -1;
	s->fd = open(log_path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) != 0) {
		rc = sl_errf(err, -errno, "%s: open: %s", log_path, strerror(errno));
		goto out;
	}
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 || lg_segment_index_load(s, (int64_t)st.st_size) != 0) {
			lg_segment_index_cut(s, 0);
			*rebuilt = 1;
		}
		rc = lg_segment_replay(s, interval, -1, 0, (int64_t)st.st_size,
		    NULL, err);
		if (rc == SL_ETRUNC || rc == SL_ECORRUPT) {
			if (!tolerant)
				goto out;
			*torn_pos = s->size;
			rc = 0;
		}
		if (rc != 0)
			goto out;
		/* Time entries must lie within the batches found. */
		if (s->n_tidx == 0 || s->tidx[s->n_tidx - 1].rel <= s->last_rel)
			break;
	}
	s->alloc = (int64_t)st.st_size;	/* recover_tail cuts a longer one back */
	if (*rebuilt) {
		rc = lg_segment_index_flush(s, 1, 0);
		if (rc != 0) {
			sl_errf(err, rc, "%s: cannot write indexes: %s", log_path,
			    sl_strerror(rc));
			goto out;
		}
	}
	*out = s;
	s = NULL;
out:
	lg_segment_unref(s);
	return rc;
}
