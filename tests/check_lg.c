/*
 * tests/check_lg.c: the partition log: appends, reads, rolls, time
 * lookups, retention, recovery of torn tails at every byte, verify,
 * index rebuilds, injected ENOSPC/EIO, the clean-shutdown marker and
 * segment references.  Every test calls lg_partition_check_ after
 * mutating.  Batches come from lg_batch_builder (batch.c).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log/lg_int.h"
#include "tests/lg_fixture.h"

#define T0 1700000000000LL		/* a timestamp, ms */

/* A batch of 'n' records of 'vlen' bytes, record i at timestamp ts + i. */
static void
make_batch(struct sl_buf *out, int n, int64_t ts, size_t vlen)
{
	struct lg_batch_builder bb;
	char key[32];
	uint8_t *val = sl_malloc(vlen + 1);
	int i;

	memset(val, 'v', vlen);
	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		lg_batch_builder_add(&bb, i, ts + i, key, strlen(key), val, vlen,
		    NULL, 0);
	}
	out->len = 0;
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, out), 0);
	lg_batch_builder_free(&bb);
	free(val);
}

/* Append a fresh batch; returns its base offset. */
static int64_t
append(struct lg_partition *p, int n, int64_t ts, size_t vlen)
{
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 };
	int64_t base = -1;
	int rc;

	make_batch(&b, n, ts, vlen);
	rc = lg_partition_append(p, b.p, b.len, &base, &err);
	ck_assert_msg(rc == 0, "append: %s", sl_err_msg(&err, rc));
	sl_buf_free(&b);
	return base;
}

static int64_t
read_all(struct lg_partition *p, int64_t from)
{
	struct lg_range r;
	struct lg_batch_info bi;
	struct sl_err err = { 0 };
	int64_t off = from, batches = 0;
	uint8_t *buf;
	size_t at;
	int rc;

	for (;;) {
		rc = lg_partition_read(p, off, 1 << 20, -1, &r, &err);
		ck_assert_msg(rc == 0, "read %" PRId64 ": %s", off,
		    sl_err_msg(&err, rc));
		if (r.len == 0)
			break;
		buf = sl_malloc(r.len);
		ck_assert_int_eq(pread(r.fd, buf, r.len, r.pos), (ssize_t)r.len);
		for (at = 0; at < r.len; at += lg_batch_size(&bi)) {
			rc = lg_batch_header(sl_slice_make(buf + at, r.len - at), &bi,
			    &err);
			ck_assert_msg(rc == 0, "batch: %s", sl_err_msg(&err, rc));
			if (at == 0)
				ck_assert_int_eq(bi.base_offset, r.first_offset);
			ck_assert_int_ge(lg_batch_last_offset(&bi), off);
			off = lg_batch_last_offset(&bi) + 1;
			batches++;
		}
		free(buf);
		lg_range_release(&r);
	}
	ck_assert_int_eq(off, lg_partition_end(p) > from ? lg_partition_end(p) : from);
	return batches;
}

static int64_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static char *
seg_file(const char *dir, int64_t base, const char *ext)
{
	return lg_segment_path(dir, base, ext);
}

/* Read a whole file into a buffer. */
static void
slurp(const char *path, struct sl_buf *out)
{
	out->len = 0;
	ck_assert_int_eq(sl_file_read(path, 1 << 30, out), 0);
}

static void
spew(const char *path, const struct sl_buf *b)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, b->p, b->len), (ssize_t)b->len);
	close(fd);
}

/* Copy every regular file of 'from' into the existing folder 'to'. */
static void
copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;
	struct sl_buf b = { 0 };
	struct stat st;
	char *src, *dst;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		src = sl_asprintf("%s/%s", from, de->d_name);
		if (stat(src, &st) == 0 && S_ISREG(st.st_mode)) {
			dst = sl_asprintf("%s/%s", to, de->d_name);
			slurp(src, &b);
			spew(dst, &b);
			free(dst);
		}
		free(src);
	}
	closedir(d);
	sl_buf_free(&b);
}

START_TEST(appends_get_consecutive_offsets_and_read_back)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p = lgf_open(dir, &o);
	struct lg_range r;
	struct sl_err err = { 0 };
	struct sl_buf b = { 0 };
	int i;

	for (i = 0; i < 50; i++)
		ck_assert_int_eq(append(p, 3, T0 + i, 40), 3 * i);
	lg_partition_check_(p);
	ck_assert_int_eq(lg_partition_end(p), 150);
	ck_assert_int_eq(read_all(p, 0), 50);
	ck_assert_int_eq(read_all(p, 77), 50 - 25);

	/* An offset inside a batch returns that batch. */
	ck_assert_int_eq(lg_partition_read(p, 4, 1, -1, &r, &err), 0);
	ck_assert_int_eq(r.first_offset, 3);
	make_batch(&b, 3, T0, 40);
	ck_assert_int_eq(r.len, b.len);		/* one batch though max is 1 */
	lg_range_release(&r);
	/* 'limit' stops before batches starting at or past it. */
	ck_assert_int_eq(lg_partition_read(p, 0, 1 << 20, 9, &r, &err), 0);
	ck_assert_int_eq(r.len, 3 * b.len);
	lg_range_release(&r);
	ck_assert_int_eq(lg_partition_read(p, 150, 1 << 20, -1, &r, &err), 0);
	ck_assert_int_eq(r.len, 0);
	ck_assert_int_eq(lg_partition_read(p, 151, 1 << 20, -1, &r, &err),
	    SL_ERANGE);
	ck_assert_int_eq(lg_partition_synced_end(p), 0);
	lgf_sync(p);
	ck_assert_int_eq(lg_partition_synced_end(p), 150);
	ck_assert_int_eq(lg_partition_close(p), 0);

	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), 150);
	ck_assert_int_eq(read_all(p, 0), 50);
	ck_assert_int_eq(append(p, 1, T0, 10), 150);
	lg_partition_check_(p);
	lg_partition_close(p);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(batch_with_wrong_length_is_refused)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p = lgf_open(dir, &o);
	struct sl_buf b = { 0 };
	int64_t base;

	make_batch(&b, 2, T0, 10);
	ck_assert_int_eq(lg_partition_append(p, b.p, b.len - 1, &base, NULL),
	    SL_ECORRUPT);
	o.max_message_bytes = 20;
	lg_partition_set_options(p, &o);
	ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, NULL),
	    SL_ETOOBIG);
	ck_assert_int_eq(lg_partition_end(p), 0);
	lg_partition_check_(p);
	lg_partition_close(p);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(segments_roll_by_size)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	char *path;
	int i;

	o.segment_bytes = 2000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 40; i++)
		append(p, 2, T0, 200);		/* ~500 bytes: 4 per segment */
	lg_partition_check_(p);
	ck_assert_int_eq(lg_partition_segment_count(p), 10);
	path = seg_file(dir, 8, ".log");	/* 4 batches of 2 records */
	ck_assert_int_gt(file_size(path), 0);
	ck_assert_int_le(file_size(path), 2000);
	free(path);
	ck_assert_int_eq(read_all(p, 0), 40);
	lg_partition_close(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_segment_count(p), 10);
	ck_assert_int_eq(read_all(p, 33), 40 - 16);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(segments_roll_by_age)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;

	o.segment_ms = 1000;
	p = lgf_open(dir, &o);
	append(p, 1, T0, 10);
	append(p, 1, T0 + 999, 10);
	append(p, 1, T0 + 1000, 10);
	ck_assert_int_eq(lg_partition_segment_count(p), 1);
	append(p, 1, T0 + 1001, 10);		/* over 1000 ms after the first */
	ck_assert_int_eq(lg_partition_segment_count(p), 2);
	append(p, 1, T0 + 1500, 10);
	ck_assert_int_eq(lg_partition_segment_count(p), 2);
	lg_partition_close(p);
	/* The age of a reopened segment comes from its first batch. */
	p = lgf_open(dir, &o);
	append(p, 1, T0 + 2002, 10);
	ck_assert_int_eq(lg_partition_segment_count(p), 3);
	lg_partition_check_(p);
	ck_assert_int_eq(read_all(p, 0), 6);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(offset_for_time_finds_the_first_batch_at_or_after)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	int64_t off, ts;
	int i, pass;

	o.segment_bytes = 3000;
	o.index_interval_bytes = 100;
	p = lgf_open(dir, &o);
	for (i = 0; i < 60; i++)		/* batch i: offsets 2i, 2i+1 */
		append(p, 2, T0 + 1000 * i, 50);
	ck_assert_int_gt(lg_partition_segment_count(p), 3);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < 60; i++) {
			ck_assert_int_eq(lg_partition_offset_for_time(p,
			    T0 + 1000 * i - 500, &off, &ts, NULL), 0);
			ck_assert_int_eq(off, 2 * i);
			ck_assert_int_eq(ts, T0 + 1000 * i);
			ck_assert_int_eq(lg_partition_offset_for_time(p,
			    T0 + 1000 * i + 1, &off, &ts, NULL), 0);
			ck_assert_int_eq(off, 2 * i + 1);	/* the record, not the batch */
			ck_assert_int_eq(ts, T0 + 1000 * i + 1);
		}
		ck_assert_int_eq(lg_partition_offset_for_time(p, 0, &off, &ts,
		    NULL), 0);
		ck_assert_int_eq(off, 0);
		ck_assert_int_eq(lg_partition_offset_for_time(p, T0 + 59002, &off,
		    &ts, NULL), SL_ENOTFOUND);
		lg_partition_close(p);
		p = lgf_open(dir, &o);
	}
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(offset_for_time_returns_the_exact_record_inside_a_batch)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf b = { 0 };
	int64_t off, ts, base;
	int codec, i, n;

	p = lgf_open(dir, &o);
	/* 10 batches of 50 records one second apart, plain and compressed. */
	for (n = 0; n < 10; n++) {
		struct lg_batch_builder bb;

		codec = n % 2 == 0 ? LG_CODEC_NONE : LG_CODEC_GZIP;
		lg_batch_builder_init(&bb, (enum lg_codec)codec, 0);
		for (i = 0; i < 50; i++)
			lg_batch_builder_add(&bb, i, T0 + 1000 * (50 * n + i), "k", 1,
			    "value", 5, NULL, 0);
		b.len = 0;
		ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
		lg_batch_builder_free(&bb);
		ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, NULL), 0);
		ck_assert_int_eq(base, 50 * n);
	}
	for (i = 0; i < 500; i += 7) {
		ck_assert_int_eq(lg_partition_offset_for_time(p, T0 + 1000 * i, &off,
		    &ts, NULL), 0);
		ck_assert_int_eq(off, i);
		ck_assert_int_eq(ts, T0 + 1000 * i);
		ck_assert_int_eq(lg_partition_offset_for_time(p, T0 + 1000 * i - 1,
		    &off, &ts, NULL), 0);
		ck_assert_int_eq(off, i);
	}
	ck_assert_int_eq(lg_partition_offset_for_time(p, T0 + 1000 * 499 + 1, &off,
	    &ts, NULL), SL_ENOTFOUND);
	lg_partition_close(p);
	lgf_drop_dir(dir);
	dir = lgf_make_dir("lg");
	/* Log-append time: the first record of the batch, at the batch's time. */
	o.log_append_time = 1;
	p = lgf_open(dir, &o);
	append(p, 5, 1000, 20);
	append(p, 5, 1000, 20);
	ck_assert_int_eq(lg_partition_offset_for_time(p, 2000, &off, &ts, NULL), 0);
	ck_assert_int_eq(off, 0);
	ck_assert_int_gt(ts, 2000);
	lg_partition_close(p);
	lgf_drop_dir(dir);
	sl_buf_free(&b);
}
END_TEST

START_TEST(retention_by_time_deletes_old_segments_and_start_survives_reopen)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct lg_range r;
	int deleted, i;
	char *path;

	o.segment_ms = 1000;
	o.retention_ms = 10000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 10; i++)		/* one segment per batch */
		append(p, 5, T0 + 2000 * i, 10);
	ck_assert_int_eq(lg_partition_segment_count(p), 10);
	/* At T0+20000, batches with max ts < T0+10000 are expired (0..4). */
	ck_assert_int_eq(lg_partition_retain(p, T0 + 20000, &deleted, NULL), 0);
	ck_assert_int_eq(deleted, 5);
	lg_partition_check_(p);
	ck_assert_int_eq(lg_partition_start(p), 25);
	ck_assert_int_eq(lg_partition_segment_count(p), 5);
	path = seg_file(dir, 20, ".log");
	ck_assert_int_eq(file_size(path), -1);
	free(path);
	ck_assert_int_eq(lg_partition_read(p, 24, 100, -1, &r, NULL), SL_ERANGE);
	ck_assert_int_eq(read_all(p, 25), 5);
	/* The active segment is never deleted. */
	ck_assert_int_eq(lg_partition_retain(p, T0 + 1000000, &deleted, NULL), 0);
	ck_assert_int_eq(deleted, 4);
	ck_assert_int_eq(lg_partition_segment_count(p), 1);
	ck_assert_int_eq(lg_partition_start(p), 45);
	lg_partition_close(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_start(p), 45);
	ck_assert_int_eq(lg_partition_end(p), 50);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(retention_by_size_keeps_the_newest_bytes)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	int64_t segsize;
	int deleted, i;
	char *path;

	o.segment_bytes = 1000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 20; i++)		/* one batch (~700 bytes) each */
		append(p, 1, T0, 600);
	ck_assert_int_eq(lg_partition_segment_count(p), 20);
	path = seg_file(dir, 0, ".log");
	segsize = file_size(path);
	free(path);
	o.retention_bytes = 5 * segsize;	/* as Kafka: never below it */
	lg_partition_set_options(p, &o);
	ck_assert_int_eq(lg_partition_retain(p, T0, &deleted, NULL), 0);
	ck_assert_int_eq(deleted, 15);
	ck_assert_int_eq(lg_partition_size(p), 5 * segsize);
	ck_assert_int_eq(lg_partition_start(p), 15);
	lg_partition_check_(p);
	ck_assert_int_eq(lg_partition_retain(p, T0, &deleted, NULL), 0);
	ck_assert_int_eq(deleted, 0);
	/* Crash: the start checkpoint alone must survive. */
	lg_partition_crash_(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_start(p), 15);
	ck_assert_int_eq(read_all(p, 15), 5);
	ck_assert_int_eq(lg_partition_truncate_front(p, 17, NULL), 0);
	ck_assert_int_eq(lg_partition_start(p), 17);
	ck_assert_int_eq(lg_partition_segment_count(p), 3);
	ck_assert_int_eq(lg_partition_truncate_front(p, 21, NULL), SL_ERANGE);
	lg_partition_check_(p);
	lg_partition_close(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_start(p), 17);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(range_stays_readable_after_retention_deletes_its_segment)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct lg_range r;
	struct lg_batch_info bi;
	uint8_t buf[4096];
	int deleted;

	o.segment_bytes = 500;
	o.retention_bytes = 0;
	p = lgf_open(dir, &o);
	append(p, 1, T0, 400);
	append(p, 1, T0, 400);
	ck_assert_int_eq(lg_partition_read(p, 0, 1 << 20, -1, &r, NULL), 0);
	ck_assert_int_eq(lg_partition_retain(p, T0, &deleted, NULL), 0);
	ck_assert_int_eq(deleted, 1);
	ck_assert_int_le(r.len, sizeof(buf));
	ck_assert_int_eq(pread(r.fd, buf, r.len, r.pos), (ssize_t)r.len);
	ck_assert_int_eq(lg_batch_header(sl_slice_make(buf, r.len), &bi, NULL), 0);
	ck_assert_int_eq(bi.base_offset, 0);
	lg_range_release(&r);
	lg_partition_check_(p);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(torn_last_batch_is_cut_at_every_byte)
{
	char *dir = lgf_make_dir("lg"), *work, *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	int64_t start, endpos, prev_end, len;
	int i;

	p = lgf_open(dir, &o);
	lg_partition_set_checkpoint_interval_(p, 0);
	for (i = 0; i < 5; i++)
		append(p, 2, T0 + i, 30);
	lgf_sync(p);
	prev_end = lg_partition_end(p);
	start = lg_partition_size(p);
	append(p, 3, T0 + 10, 5);
	endpos = lg_partition_size(p);
	lg_partition_crash_(p);		/* no marker, recovery point = prev_end */

	for (len = start; len < endpos; len++) {
		work = lgf_make_dir("lg");
		copy_dir(dir, work);
		path = seg_file(work, 0, ".log");
		ck_assert_int_eq(truncate(path, len), 0);
		p = lgf_open(work, &o);
		ck_assert_msg(lg_partition_end(p) == prev_end,
		    "torn at %" PRId64 ": end %" PRId64, len, lg_partition_end(p));
		ck_assert_int_eq(file_size(path), start);
		ck_assert_int_eq(append(p, 1, T0, 7), prev_end);
		lg_partition_check_(p);
		ck_assert_int_eq(read_all(p, 0), 6);
		lg_partition_close(p);
		free(path);
		lgf_drop_dir(work);
	}
	/* Untouched, the last batch survives the crash. */
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), prev_end + 3);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(corrupt_batch_past_recovery_point_is_cut)
{
	char *dir = lgf_make_dir("lg"), *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	int64_t pos, mid;
	uint8_t c;
	int fd, i;

	p = lgf_open(dir, &o);
	lg_partition_set_checkpoint_interval_(p, 0);
	append(p, 2, T0, 30);
	lgf_sync(p);
	pos = lg_partition_size(p);
	for (i = 0; i < 4; i++)
		append(p, 2, T0, 30);
	mid = lg_partition_size(p);
	append(p, 2, T0, 30);
	lg_partition_crash_(p);
	/* Flip a bit in the records of the 5th batch: cut there. */
	path = seg_file(dir, 0, ".log");
	fd = open(path, O_RDWR);
	ck_assert_int_eq(pread(fd, &c, 1, mid + 70), 1);
	c ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &c, 1, mid + 70), 1);
	close(fd);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), 10);
	ck_assert_int_eq(lg_partition_rescanned_bytes_(p), mid - pos);
	ck_assert_int_eq(file_size(path), mid);
	lg_partition_close(p);
	free(path);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(cut_in_a_middle_segment_removes_the_later_ones)
{
	char *dir = lgf_make_dir("lg"), *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf b = { 0 };
	int i;

	o.segment_bytes = 1000;
	p = lgf_open(dir, &o);
	lg_partition_set_checkpoint_interval_(p, 0);
	append(p, 2, T0, 100);
	lgf_sync(p);			/* recovery point 2, in segment 0 */
	for (i = 0; i < 15; i++)
		append(p, 2, T0, 100);	/* ~330 bytes: 3 per segment */
	ck_assert_int_eq(lg_partition_segment_count(p), 6);
	lg_partition_crash_(p);
	make_batch(&b, 2, T0, 100);
	/* Segment 6 holds offsets 6..11; tear its second batch. */
	path = seg_file(dir, 6, ".log");
	ck_assert_int_eq(file_size(path), 3 * (int64_t)b.len);
	ck_assert_int_eq(truncate(path, (off_t)b.len + 50), 0);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), 8);
	ck_assert_int_eq(lg_partition_segment_count(p), 2);	/* 0 and 6 */
	free(path);
	path = seg_file(dir, 12, ".log");
	ck_assert_int_eq(file_size(path), -1);
	ck_assert_int_eq(append(p, 2, T0, 100), 8);
	lgf_sync(p);
	lg_partition_check_(p);
	ck_assert_int_eq(read_all(p, 0), 5);
	lg_partition_close(p);
	free(path);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(log_append_time_rewrites_the_timestamp_and_crc)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct lg_range r;
	struct lg_batch_info bi;
	uint8_t buf[1024];
	int64_t before = sl_now_ms(), off, ts;

	o.log_append_time = 1;
	p = lgf_open(dir, &o);
	append(p, 3, 1000, 20);		/* a client timestamp far in the past */
	ck_assert_int_eq(lg_partition_read(p, 0, sizeof(buf), -1, &r, NULL), 0);
	ck_assert_int_le(r.len, sizeof(buf));
	ck_assert_int_eq(pread(r.fd, buf, r.len, r.pos), (ssize_t)r.len);
	ck_assert_int_eq(lg_batch_header(sl_slice_make(buf, r.len), &bi, NULL), 0);
	ck_assert(bi.attributes & LG_ATTR_LOG_APPEND_TIME);
	ck_assert_int_ge(bi.max_timestamp, before);
	ck_assert_int_le(bi.max_timestamp, sl_now_ms());
	lg_range_release(&r);
	ck_assert_int_eq(lg_partition_offset_for_time(p, before, &off, &ts, NULL), 0);
	ck_assert_int_eq(off, 0);
	lg_partition_check_(p);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

struct progress_log {
	int files;
};

static void
count_progress(const char *file, void *arg)
{
	(void)file;
	((struct progress_log *)arg)->files++;
}

START_TEST(flipped_bit_in_old_segment_is_reported_by_verify)
{
	char *dir = lgf_make_dir("lg"), *path, want[64];
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct progress_log pl = { 0 };
	struct sl_err err = { 0 };
	struct sl_buf b = { 0 };
	int64_t second;
	uint8_t c;
	int fd, i, nseg;

	o.segment_bytes = 1000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 12; i++)
		append(p, 2, T0 + i, 100);
	lgf_sync(p);
	nseg = lg_partition_segment_count(p);
	ck_assert_int_gt(nseg, 2);
	lg_partition_close(p);
	ck_assert_int_eq(lg_verify(dir, count_progress, &pl, &err), 0);
	ck_assert_int_eq(pl.files, 3 * nseg);	/* .log, .index, .timeindex */

	make_batch(&b, 2, T0, 100);
	second = (int64_t)b.len;		/* the second batch of segment 0 */
	path = seg_file(dir, 0, ".log");
	fd = open(path, O_RDWR);
	ck_assert_int_eq(pread(fd, &c, 1, second + 100), 1);
	c ^= 0x01;
	ck_assert_int_eq(pwrite(fd, &c, 1, second + 100), 1);
	close(fd);
	ck_assert_int_eq(lg_verify(dir, NULL, NULL, &err), SL_ECORRUPT);
	ck_assert_msg(strstr(err.msg, "00000000000000000000.log") != NULL, "%s",
	    err.msg);
	snprintf(want, sizeof(want), "position %" PRId64, second);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
	/* Below the recovery point: open does not rescan it. */
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_rescanned_bytes_(p), 0);
	ck_assert_int_eq(lg_partition_end(p), 24);
	lg_partition_close(p);
	/* A parent data folder is searched for partition folders. */
	{
		char *parent = lgf_make_dir("lg"), *sub = sl_asprintf("%s/t-0", parent);

		ck_assert_int_eq(rename(dir, sub), 0);
		ck_assert_int_eq(lg_verify(parent, NULL, NULL, &err), SL_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(err.msg, "t-0/00000000000000000000.log"));
		ck_assert_int_eq(rename(sub, dir), 0);
		free(sub);
		lgf_drop_dir(parent);
	}
	free(path);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(bad_index_entry_is_reported_by_verify)
{
	char *dir = lgf_make_dir("lg"), *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_err err = { 0 };
	uint8_t e[4];
	int fd, i;

	p = lgf_open(dir, &o);
	for (i = 0; i < 20; i++)
		append(p, 2, T0 + i, 100);
	lg_partition_close(p);
	path = seg_file(dir, 0, ".index");
	ck_assert_int_ge(file_size(path), 16);
	fd = open(path, O_RDWR);
	ck_assert_int_eq(pread(fd, e, 4, 12), 4);
	sl_put_be32(e, sl_get_be32(e) + 1);	/* second entry's position */
	ck_assert_int_eq(pwrite(fd, e, 4, 12), 4);
	close(fd);
	ck_assert_int_eq(lg_verify(dir, NULL, NULL, &err), SL_ECORRUPT);
	ck_assert_msg(strstr(err.msg, ".index") && strstr(err.msg, "position 8"),
	    "%s", err.msg);
	free(path);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(missing_or_truncated_index_is_rebuilt_on_open)
{
	char *dir = lgf_make_dir("lg"), *ipath, *tpath;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf want = { 0 }, twant = { 0 }, got = { 0 };
	int64_t off, ts;
	int i, round;

	o.segment_bytes = 4000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 30; i++)
		append(p, 2, T0 + 10 * i, 100);
	lg_partition_close(p);
	ipath = seg_file(dir, 0, ".index");
	tpath = seg_file(dir, 0, ".timeindex");
	slurp(ipath, &want);
	slurp(tpath, &twant);
	ck_assert_int_gt(want.len, 8);
	ck_assert_int_eq(want.len % 8, 0);
	ck_assert_int_eq(twant.len % 12, 0);
	for (round = 0; round < 4; round++) {
		if (round == 0)
			unlink(ipath);
		else if (round == 1)
			ck_assert_int_eq(truncate(ipath, (off_t)want.len - 3), 0);
		else if (round == 2)
			unlink(tpath);
		else {	/* an entry past the end of the .log */
			struct sl_buf bad = { 0 };

			slurp(ipath, &bad);
			sl_buf_add_be32(&bad, 1000000);
			sl_buf_add_be32(&bad, 1000000);
			spew(ipath, &bad);
			sl_buf_free(&bad);
		}
		p = lgf_open(dir, &o);
		slurp(ipath, &got);
		ck_assert_int_eq(got.len, want.len);
		ck_assert_mem_eq(got.p, want.p, want.len);
		slurp(tpath, &got);
		ck_assert_int_eq(got.len, twant.len);
		ck_assert_mem_eq(got.p, twant.p, twant.len);
		ck_assert_int_eq(read_all(p, 0), 30);
		ck_assert_int_eq(lg_partition_offset_for_time(p, T0 + 55, &off,
		    &ts, NULL), 0);
		ck_assert_int_eq(off, 12);
		lg_partition_check_(p);
		lg_partition_close(p);
	}
	free(ipath);
	free(tpath);
	sl_buf_free(&want);
	sl_buf_free(&twant);
	sl_buf_free(&got);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(enospc_on_write_fails_the_append_cleanly)
{
	char *dir = lgf_make_dir("lg"), *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 };
	int64_t base = -1, size;
	int i;

	p = lgf_open(dir, &o);
	for (i = 0; i < 5; i++)
		append(p, 2, T0, 100);
	lgf_sync(p);
	size = lg_partition_size(p);
	make_batch(&b, 2, T0, 100);
	lg_fault_arm(LG_FAULT_WRITE, 1, ENOSPC);
	ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, &err), -ENOSPC);
	lg_fault_reset();
	ck_assert_int_eq(lg_partition_end(p), 10);
	ck_assert_int_eq(lg_partition_size(p), size);
	path = seg_file(dir, 0, ".log");
	ck_assert_int_eq(file_size(path), size);	/* half-write truncated */
	lg_partition_check_(p);
	ck_assert_int_eq(append(p, 2, T0, 100), 10);
	lgf_sync(p);
	lg_partition_close(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), 12);
	ck_assert_int_eq(read_all(p, 0), 6);
	lg_partition_close(p);
	free(path);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(eio_on_fsync_refuses_appends_until_reopen)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 };
	int64_t base;
	int i;

	p = lgf_open(dir, &o);
	for (i = 0; i < 5; i++)
		append(p, 2, T0, 100);
	lgf_sync(p);
	append(p, 2, T0, 100);
	lg_fault_arm(LG_FAULT_SYNC, 1, EIO);
	ck_assert_int_eq(lg_partition_sync(p, &err), -EIO);
	lg_fault_reset();
	ck_assert_int_eq(lg_partition_synced_end(p), 10);
	make_batch(&b, 2, T0, 100);
	ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, &err), -EIO);
	ck_assert_int_eq(lg_partition_sync(p, &err), -EIO);
	lg_partition_check_(p);
	ck_assert_int_ne(lg_partition_close(p), 0);	/* no clean marker */
	p = lgf_open(dir, &o);
	ck_assert_int_ge(lg_partition_end(p), 10);
	ck_assert_int_ge(read_all(p, 0), 5);
	base = append(p, 2, T0, 100);
	ck_assert_int_eq(base + 2, lg_partition_end(p));
	lgf_sync(p);
	lg_partition_close(p);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(failed_checkpoint_rename_keeps_the_old_recovery_point)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_err err = { 0 };

	p = lgf_open(dir, &o);
	lg_partition_set_checkpoint_interval_(p, 0);
	append(p, 2, T0, 100);
	lgf_sync(p);
	ck_assert_int_eq(lg_partition_recovery_point_(p), 2);
	append(p, 2, T0, 100);
	lg_fault_arm(LG_FAULT_RENAME, 1, EIO);
	ck_assert_int_eq(lg_partition_sync(p, &err), -EIO);
	lg_fault_reset();
	ck_assert_int_eq(lg_partition_recovery_point_(p), 2);
	lg_partition_check_(p);
	lg_partition_crash_(p);
	p = lgf_open(dir, &o);
	ck_assert_int_gt(lg_partition_rescanned_bytes_(p), 0);
	ck_assert_int_eq(lg_partition_end(p), 4);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(clean_shutdown_marker_means_no_rescan)
{
	char *dir = lgf_make_dir("lg"), *marker;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf b = { 0 };
	int64_t before;
	int i;

	marker = sl_asprintf("%s/%s", dir, LG_CLEAN_FILE);
	p = lgf_open(dir, &o);
	for (i = 0; i < 20; i++)
		append(p, 2, T0, 100);
	lg_partition_close(p);
	ck_assert_int_eq(file_size(marker), 20);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(file_size(marker), -1);	/* removed at open */
	ck_assert_int_eq(lg_partition_rescanned_bytes_(p), 0);
	ck_assert_int_eq(lg_partition_end(p), 40);
	/* Without it, the tail past the recovery point is rescanned, exactly. */
	lg_partition_set_checkpoint_interval_(p, 0);
	append(p, 2, T0, 100);
	lgf_sync(p);
	before = lg_partition_size(p);
	for (i = 0; i < 3; i++)
		append(p, 2, T0, 100);
	make_batch(&b, 2, T0, 100);
	lg_partition_crash_(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_rescanned_bytes_(p), 3 * (int64_t)b.len);
	ck_assert_int_eq(lg_partition_size(p), before + 3 * (int64_t)b.len);
	ck_assert_int_eq(lg_partition_end(p), 48);
	ck_assert_int_eq(lg_partition_synced_end(p), 48);	/* fdatasync'ed */
	ck_assert_int_eq(lg_partition_recovery_point_(p), 42);
	lgf_sync(p);
	ck_assert_int_eq(lg_partition_recovery_point_(p), 48);
	lg_partition_check_(p);
	lg_partition_close(p);
	free(marker);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

/* An idempotent batch from producer 'pid'. */
static int
append_idem(struct lg_partition *p, int64_t pid, int32_t seq, int n,
    int64_t *base)
{
	struct lg_batch_builder bb;
	struct sl_buf b = { 0 };
	int i, rc;

	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	bb.producer_id = pid;
	bb.producer_epoch = 0;
	bb.base_sequence = seq;
	for (i = 0; i < n; i++)
		lg_batch_builder_add(&bb, i, T0, "k", 1, "v", 1, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
	rc = lg_partition_append(p, b.p, b.len, base, NULL);
	lg_batch_builder_free(&bb);
	sl_buf_free(&b);
	return rc;
}

START_TEST(duplicate_idempotent_batch_is_detected_after_reopen)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct lg_producer_info pi;
	int64_t base;
	int crash;

	for (crash = 0; crash < 2; crash++) {
		p = lgf_open(dir, &o);
		append(p, 1, T0, 10);
		ck_assert_int_eq(append_idem(p, 42 + crash, 0, 3, &base), 0);
		ck_assert_int_eq(base, 1 + 7 * crash);
		ck_assert_int_eq(append_idem(p, 42 + crash, 3, 2, &base), 0);
		ck_assert_int_eq(append_idem(p, 42 + crash, 3, 2, &base), SL_EDUPSEQ);
		ck_assert_int_eq(base, 4 + 7 * crash);
		ck_assert_int_eq(append_idem(p, 42 + crash, 9, 1, &base), SL_ESEQ);
		lgf_sync(p);
		if (crash)
			lg_partition_crash_(p);
		else
			lg_partition_close(p);
		p = lgf_open(dir, &o);
		ck_assert_int_eq(append_idem(p, 42 + crash, 3, 2, &base), SL_EDUPSEQ);
		ck_assert_int_eq(base, 4 + 7 * crash);
		ck_assert_int_eq(lg_partition_producer(p, 42 + crash, &pi), 0);
		ck_assert_int_eq(pi.last_sequence, 4);
		ck_assert_int_eq(append_idem(p, 42 + crash, 5, 1, &base), 0);
		ck_assert_int_eq(base, 6 + 7 * crash);
		lg_partition_check_(p);
		lg_partition_close(p);
	}
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(compaction_keeps_the_latest_value_per_key)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct lg_batch_builder bb;
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 };
	int64_t base, cleaned = 0, before;
	char key[16];
	int i, rc;

	o.segment_bytes = 2000;
	o.compact = 1;
	p = lgf_open(dir, &o);
	for (i = 0; i < 60; i++) {
		lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
		snprintf(key, sizeof(key), "k%d", i % 3);
		lg_batch_builder_add(&bb, 0, T0 + i, key, strlen(key), "value-value",
		    11, NULL, 0);
		b.len = 0;
		ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
		ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, NULL), 0);
		lg_batch_builder_free(&bb);
	}
	ck_assert_int_gt(lg_partition_segment_count(p), 2);
	before = lg_partition_size(p);
	rc = lg_partition_compact(p, T0 + 100, &cleaned, &err);
	ck_assert_msg(rc == 0, "compact: %s", sl_err_msg(&err, rc));
	ck_assert_int_gt(cleaned, 0);
	ck_assert_int_eq(lg_partition_size(p), before - cleaned);
	ck_assert_int_eq(lg_partition_end(p), 60);
	lg_partition_check_(p);
	read_all(p, 0);
	ck_assert_int_eq(append(p, 1, T0, 5), 60);
	lg_partition_close(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), 61);
	read_all(p, lg_partition_start(p));
	lg_partition_close(p);
	ck_assert_int_eq(lg_verify(dir, NULL, NULL, &err), 0);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

struct syncer {
	struct lg_partition *p;
	_Atomic int stop;
	int syncs;
};

static void *
syncer_main(void *arg)
{
	struct syncer *y = arg;

	while (!y->stop) {
		ck_assert_int_eq(lg_partition_sync(y->p, NULL), 0);
		y->syncs++;
	}
	return NULL;
}

START_TEST(sync_on_a_committer_thread_overlaps_appends)
{
	char *dir = lgf_make_dir("lg");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct syncer y;
	pthread_t th;
	int i;

	o.segment_bytes = 20000;
	p = lgf_open(dir, &o);
	lg_partition_set_checkpoint_interval_(p, 0);
	memset(&y, 0, sizeof(y));
	y.p = p;
	ck_assert_int_eq(pthread_create(&th, NULL, syncer_main, &y), 0);
	for (i = 0; i < 500; i++) {
		ck_assert_int_eq(append(p, 2, T0 + i, 100), 2 * i);
		ck_assert_int_le(lg_partition_synced_end(p), lg_partition_end(p));
	}
	y.stop = 1;
	pthread_join(th, NULL);
	ck_assert_int_gt(y.syncs, 0);
	lgf_sync(p);
	ck_assert_int_eq(lg_partition_synced_end(p), 1000);
	ck_assert_int_eq(lg_partition_recovery_point_(p), 1000);
	lg_partition_check_(p);
	lg_partition_crash_(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_rescanned_bytes_(p), 0);
	ck_assert_int_eq(read_all(p, 0), 500);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

/* Run "$SLUICE log verify 'dir'"; returns the exit status, output in 'out'. */
static int
run_verify(const char *dir, struct sl_buf *out)
{
	char *cmd = sl_asprintf("'%s' log verify '%s' 2>&1", getenv("SLUICE"), dir);
	char line[1024];
	FILE *f = popen(cmd, "r");
	int st;

	ck_assert_ptr_nonnull(f);
	out->len = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		sl_buf_add(out, line, strlen(line));
	sl_buf_add_u8(out, 0);
	st = pclose(f);
	free(cmd);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Added only when $SLUICE names the built command (make unit sets it). */
START_TEST(log_verify_command_names_the_bad_file_and_position)
{
	char *dir = lgf_make_dir("lg"), *path, want[64];
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_buf out = { 0 }, b = { 0 };
	uint8_t c;
	int fd, i;

	o.segment_bytes = 1000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 12; i++)
		append(p, 2, T0 + i, 100);
	lg_partition_close(p);
	ck_assert_int_eq(run_verify(dir, &out), 0);
	ck_assert_msg(strstr((char *)out.p, "checking ") != NULL &&
	    strstr((char *)out.p, "00000000000000000000.timeindex") != NULL,
	    "%s", (char *)out.p);
	make_batch(&b, 2, T0, 100);
	path = seg_file(dir, 0, ".log");
	fd = open(path, O_RDWR);
	ck_assert_int_eq(pread(fd, &c, 1, (off_t)b.len + 90), 1);
	c ^= 0x80;
	ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)b.len + 90), 1);
	close(fd);
	ck_assert_int_eq(run_verify(dir, &out), 3);
	snprintf(want, sizeof(want), "position %zu", b.len);
	ck_assert_msg(strstr((char *)out.p, path) != NULL &&
	    strstr((char *)out.p, want) != NULL, "%s", (char *)out.p);
	free(path);
	sl_buf_free(&out);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

/* 1 when [from, size of 'path') holds only zero bytes. */
static int
tail_is_zero(const char *path, int64_t from)
{
	int fd = open(path, O_RDONLY);
	int rc;

	ck_assert_int_ge(fd, 0);
	rc = lg_file_is_zero(fd, from, file_size(path));
	close(fd);
	return rc;
}

START_TEST(zero_filled_space_ahead_of_appends_is_cut_at_roll_close_and_recovery)
{
	char *dir = lgf_make_dir("lg"), *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_err err = { 0 };
	int64_t size, end;
	int i;

	path = seg_file(dir, 0, ".log");
	p = lgf_open(dir, &o);
	append(p, 2, T0, 100);
	size = lg_partition_size(p);
	/* the first append writes LG_ZERO_AHEAD_MIN of zeros past itself */
	ck_assert_int_eq(file_size(path), size + LG_ZERO_AHEAD_MIN);
	ck_assert_int_eq(tail_is_zero(path, size), 1);
	for (i = 0; i < 20; i++)
		append(p, 2, T0, 100);
	ck_assert_int_eq(file_size(path), size + LG_ZERO_AHEAD_MIN);	/* within it */
	lgf_sync(p);
	lg_partition_check_(p);
	/* A crash leaves the zeros; verify accepts them, recovery drops them. */
	size = lg_partition_size(p);
	end = lg_partition_end(p);
	lg_partition_crash_(p);
	ck_assert_int_gt(file_size(path), size);
	ck_assert_int_eq(lg_verify(dir, NULL, NULL, &err), 0);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(lg_partition_end(p), end);
	ck_assert_int_eq(lg_partition_size(p), size);
	ck_assert_int_eq(file_size(path), size);
	ck_assert_int_eq(read_all(p, 0), 21);
	/* Appends go on and zero ahead again; a clean close cuts it back. */
	append(p, 2, T0, 100);
	ck_assert_int_gt(file_size(path), lg_partition_size(p));
	size = lg_partition_size(p);
	lg_partition_close(p);
	ck_assert_int_eq(file_size(path), size);
	free(path);

	/* Sealed segments end at their last batch; the step grows with the segment. */
	o.segment_bytes = 200000;
	o.zero_ahead_bytes = 100000;
	p = lgf_open(dir, &o);
	for (i = 0; i < 800; i++)
		append(p, 2, T0, 200);
	lg_partition_check_(p);		/* (5) checks every segment's file size */
	ck_assert_int_gt(lg_partition_segment_count(p), 1);
	ck_assert_int_eq(read_all(p, 0), 822);
	lg_partition_close(p);
	p = lgf_open(dir, &o);
	ck_assert_int_eq(read_all(p, 0), 822);
	lg_partition_close(p);
	ck_assert_int_eq(lg_verify(dir, NULL, NULL, &err), 0);
	lgf_drop_dir(dir);

	/* zero_ahead_bytes = 0: the file is exactly its batches. */
	dir = lgf_make_dir("lg");
	o = lgf_small_opts();
	o.zero_ahead_bytes = 0;
	p = lgf_open(dir, &o);
	append(p, 2, T0, 100);
	path = seg_file(dir, 0, ".log");
	ck_assert_int_eq(file_size(path), lg_partition_size(p));
	lg_partition_close(p);
	free(path);
	lgf_drop_dir(dir);
}
END_TEST

Suite *lg_suite(void);

Suite *
lg_suite(void)
{
	Suite *s = suite_create("lg");
	TCase *tc = tcase_create("partition");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, appends_get_consecutive_offsets_and_read_back);
	tcase_add_test(tc, batch_with_wrong_length_is_refused);
	tcase_add_test(tc, segments_roll_by_size);
	tcase_add_test(tc, segments_roll_by_age);
	tcase_add_test(tc, offset_for_time_finds_the_first_batch_at_or_after);
	tcase_add_test(tc, offset_for_time_returns_the_exact_record_inside_a_batch);
	tcase_add_test(tc, retention_by_time_deletes_old_segments_and_start_survives_reopen);
	tcase_add_test(tc, retention_by_size_keeps_the_newest_bytes);
	tcase_add_test(tc, range_stays_readable_after_retention_deletes_its_segment);
	tcase_add_test(tc, torn_last_batch_is_cut_at_every_byte);
	tcase_add_test(tc, zero_filled_space_ahead_of_appends_is_cut_at_roll_close_and_recovery);
	tcase_add_test(tc, corrupt_batch_past_recovery_point_is_cut);
	tcase_add_test(tc, cut_in_a_middle_segment_removes_the_later_ones);
	tcase_add_test(tc, log_append_time_rewrites_the_timestamp_and_crc);
	tcase_add_test(tc, flipped_bit_in_old_segment_is_reported_by_verify);
	tcase_add_test(tc, bad_index_entry_is_reported_by_verify);
	tcase_add_test(tc, missing_or_truncated_index_is_rebuilt_on_open);
	tcase_add_test(tc, enospc_on_write_fails_the_append_cleanly);
	tcase_add_test(tc, eio_on_fsync_refuses_appends_until_reopen);
	tcase_add_test(tc, failed_checkpoint_rename_keeps_the_old_recovery_point);
	tcase_add_test(tc, clean_shutdown_marker_means_no_rescan);
	tcase_add_test(tc, duplicate_idempotent_batch_is_detected_after_reopen);
	tcase_add_test(tc, compaction_keeps_the_latest_value_per_key);
	tcase_add_test(tc, sync_on_a_committer_thread_overlaps_appends);
	if (getenv("SLUICE") != NULL)
		tcase_add_test(tc, log_verify_command_names_the_bad_file_and_position);
	suite_add_tcase(s, tc);
	return s;
}
