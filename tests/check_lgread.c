/*
 * tests/check_lgread.c: reads answered from the recent-batch rings
 * (log/index.c (3)) against the index-and-scan path they short-cut.
 * Every read is made twice, once with the rings and once without
 * (lg_partition_set_read_cache_), for every offset, several byte budgets
 * and limits, and the two ranges must be identical; each range is also
 * checked on its own (whole batches from the one holding the offset, none
 * starting at or past the limit, within the budget unless it is a single
 * batch).  Runs after appends, rolls, recovery cuts, failed writes,
 * reopens and compaction, calling lg_partition_check_ (which reads every
 * ring entry's header back from disk) after each change.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/lg_int.h"
#include "tests/lg_fixture.h"

#define T0 1700000000000LL		/* a timestamp, ms */

/* Batch 'i' of a test: 1-3 records with keys k<i % nkeys>.. and varied sizes. */
static void
make_batch(struct sl_buf *out, int i, int nkeys)
{
	struct lg_batch_builder bb;
	char key[32], val[160];
	int n = 1 + i % 3, j;
	size_t vlen = 5 + (size_t)(i * 37) % 120;

	memset(val, 'v', sizeof(val));
	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	for (j = 0; j < n; j++) {
		snprintf(key, sizeof(key), "k%d", (i + j) % nkeys);
		lg_batch_builder_add(&bb, j, T0 + i, key, strlen(key), val, vlen,
		    NULL, 0);
	}
	out->len = 0;
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, out), 0);
	lg_batch_builder_free(&bb);
}

static void
append_n(struct lg_partition *p, int from, int count, int nkeys)
{
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 };
	int64_t base;
	int i, rc;

	for (i = from; i < from + count; i++) {
		make_batch(&b, i, nkeys);
		rc = lg_partition_append(p, b.p, b.len, &base, &err);
		ck_assert_msg(rc == 0, "append %d: %s", i, sl_err_msg(&err, rc));
	}
	sl_buf_free(&b);
	lg_partition_check_(p);
}

static struct lg_partition *
open_p(const char *dir, const struct lg_options *o)
{
	struct lg_partition *p = lgf_open(dir, o);

	lg_partition_set_checkpoint_interval_(p, 0);
	return p;
}

/* A range on its own: whole batches from the one holding 'off', within bounds. */
static void
check_range(struct lg_partition *p, const struct lg_range *r, int64_t off,
    size_t max, int64_t limit)
{
	struct lg_batch_info bi;
	struct sl_err err = { 0 };
	int64_t end = lg_partition_end(p), lim, prev_last = -1;
	uint8_t *buf = sl_malloc(r->len);
	size_t at;
	int n = 0, rc;

	lim = limit < 0 || limit > end ? end : limit;
	ck_assert_int_eq(pread(r->fd, buf, r->len, r->pos), (ssize_t)r->len);
	for (at = 0; at < r->len; at += lg_batch_size(&bi), n++) {
		rc = lg_batch_header(sl_slice_make(buf + at, r->len - at), &bi, &err);
		ck_assert_msg(rc == 0, "offset %" PRId64 ": batch at +%zu: %s", off,
		    at, sl_err_msg(&err, rc));
		if (at == 0) {
			ck_assert_int_eq(bi.base_offset, r->first_offset);
			ck_assert_int_ge(lg_batch_last_offset(&bi), off);
		} else {
			ck_assert_int_gt(bi.base_offset, prev_last);
		}
		ck_assert_msg(bi.base_offset < lim, "offset %" PRId64 ": batch %"
		    PRId64 " at or past the limit %" PRId64, off, bi.base_offset, lim);
		prev_last = lg_batch_last_offset(&bi);
	}
	ck_assert_int_eq(at, r->len);
	ck_assert_msg(n == 1 || r->len <= max, "offset %" PRId64 ": %zu bytes "
	    "in %d batches over the budget %zu", off, r->len, n, max);
	free(buf);
}

/* Read at 'off' with and without the rings; the answers must be the same. */
static void
compare_at(struct lg_partition *p, int64_t off, size_t max, int64_t limit)
{
	struct lg_range a, b;
	struct sl_err e1 = { 0 }, e2 = { 0 };
	int rc1, rc2;

	lg_partition_set_read_cache_(p, 1);
	rc1 = lg_partition_read(p, off, max, limit, &a, &e1);
	lg_partition_set_read_cache_(p, 0);
	rc2 = lg_partition_read(p, off, max, limit, &b, &e2);
	lg_partition_set_read_cache_(p, 1);
	ck_assert_msg(rc1 == rc2 && a.len == b.len && a.pos == b.pos &&
	    a.first_offset == b.first_offset && a.seg == b.seg,
	    "offset %" PRId64 " max %zu limit %" PRId64 ": ring rc %d pos %jd len "
	    "%zu first %" PRId64 ", scan rc %d pos %jd len %zu first %" PRId64,
	    off, max, limit, rc1, (intmax_t)a.pos, a.len, a.first_offset, rc2,
	    (intmax_t)b.pos, b.len, b.first_offset);
	if (rc1 == 0 && a.len > 0)
		check_range(p, &a, off, max, limit);
	lg_range_release(&a);
	lg_range_release(&b);
}

/*
 * Every offset from the start to one past the end, with byte budgets from
 * below one batch to everything and limits from none to just past it.
 * Returns the reads the rings answered.
 */
static int64_t
compare_all(struct lg_partition *p)
{
	static const size_t maxes[] = { 1, 150, 700, 1 << 20 };
	int64_t start = lg_partition_start(p), end = lg_partition_end(p);
	int64_t hits0, hits1, off;
	size_t i;

	lg_partition_read_stats_(p, &hits0, NULL);
	for (off = start > 0 ? start - 1 : 0; off <= end + 1; off++) {
		for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
			compare_at(p, off, maxes[i], -1);
			compare_at(p, off, maxes[i], lg_partition_synced_end(p));
			compare_at(p, off, maxes[i], off);
			compare_at(p, off, maxes[i], off + 1);
			compare_at(p, off, maxes[i], off + 4);
		}
	}
	lg_partition_read_stats_(p, &hits1, NULL);
	return hits1 - hits0;
}

START_TEST(reads_from_the_ring_equal_the_scan_at_every_offset)
{
	char *dir = lgf_make_dir("lgread");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p = open_p(dir, &o);
	int64_t hits, scans;

	ck_assert_int_eq(compare_all(p), 0);	/* empty log: nothing to answer */
	append_n(p, 0, 3, 1000);
	ck_assert_int_gt(compare_all(p), 0);
	append_n(p, 3, 3 * LG_RECENT_BATCHES, 1000);	/* the ring wraps */
	lgf_sync(p);
	append_n(p, 3 + 3 * LG_RECENT_BATCHES, 5, 1000);	/* unsynced tail */
	ck_assert_int_gt(compare_all(p), 0);
	lg_partition_read_stats_(p, &hits, &scans);
	ck_assert_int_gt(scans, 0);	/* offsets before the ring were scanned */
	lg_partition_check_(p);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(a_tailing_read_touches_no_batch_header_on_disk)
{
	char *dir = lgf_make_dir("lgread");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p = open_p(dir, &o);
	struct lg_range r;
	struct sl_err err = { 0 };
	int64_t hits0, scans0, hits1, scans1, end;
	int i;

	append_n(p, 0, 200, 1000);
	for (i = 0; i < 50; i++) {
		end = lg_partition_end(p);
		append_n(p, 200 + i, 1, 1000);
		lg_partition_read_stats_(p, &hits0, &scans0);
		ck_assert_int_eq(lg_partition_read(p, end, 1 << 20, -1, &r, &err), 0);
		lg_partition_read_stats_(p, &hits1, &scans1);
		ck_assert_int_eq(r.first_offset, end);
		ck_assert_int_eq(hits1, hits0 + 1);
		ck_assert_int_eq(scans1, scans0);
		lg_range_release(&r);
	}
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(reads_agree_across_rolled_segments)
{
	char *dir = lgf_make_dir("lgread");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;

	o.segment_bytes = 3000;
	p = open_p(dir, &o);
	append_n(p, 0, 150, 1000);
	ck_assert_int_gt(lg_partition_segment_count(p), 4);
	ck_assert_int_gt(compare_all(p), 0);
	lg_partition_close(p);
	/* Reopened: each segment's ring holds what its open scan found. */
	p = open_p(dir, &o);
	ck_assert_int_gt(compare_all(p), 0);
	append_n(p, 150, 20, 1000);
	ck_assert_int_gt(compare_all(p), 0);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(reads_agree_after_recovery_cuts_a_torn_tail)
{
	char *dir = lgf_make_dir("lgread"), *path;
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	int64_t synced, size;
	int cut;

	for (cut = 1; cut < 200; cut += 37) {
		p = open_p(dir, &o);
		append_n(p, 0, 100, 1000);
		lgf_sync(p);
		synced = lg_partition_end(p);
		append_n(p, 100, 10, 1000);
		size = lg_partition_size(p);
		lg_partition_crash_(p);
		path = lg_segment_path(dir, 0, ".log");
		ck_assert_int_eq(truncate(path, size - cut), 0);	/* torn */
		p = open_p(dir, &o);
		ck_assert_int_ge(lg_partition_end(p), synced);
		ck_assert_int_lt(lg_partition_end(p), synced + 30);
		ck_assert_int_gt(compare_all(p), 0);
		append_n(p, 110, 10, 1000);	/* the ring goes on from the cut */
		ck_assert_int_gt(compare_all(p), 0);
		lg_partition_close(p);
		free(path);
		sl_rm_rf(dir);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
	}
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(reads_agree_after_a_failed_write_is_truncated_away)
{
	char *dir = lgf_make_dir("lgread");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p = open_p(dir, &o);
	struct sl_buf b = { 0 };
	struct sl_err err = { 0 };
	int64_t base, end;

	append_n(p, 0, 40, 1000);
	end = lg_partition_end(p);
	make_batch(&b, 40, 1000);
	lg_fault_arm(LG_FAULT_WRITE, 1, ENOSPC);
	ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, &err), -ENOSPC);
	lg_fault_reset();
	ck_assert_int_eq(lg_partition_end(p), end);
	lg_partition_check_(p);
	ck_assert_int_gt(compare_all(p), 0);
	append_n(p, 41, 5, 1000);
	ck_assert_int_gt(compare_all(p), 0);
	lg_partition_close(p);
	sl_buf_free(&b);
	lgf_drop_dir(dir);
}
END_TEST

START_TEST(reads_agree_after_compaction_leaves_gaps)
{
	char *dir = lgf_make_dir("lgread");
	struct lg_options o = lgf_small_opts();
	struct lg_partition *p;
	struct sl_err err = { 0 };
	int64_t cleaned = 0;
	int rc;

	o.segment_bytes = 2500;
	o.compact = 1;
	p = open_p(dir, &o);
	append_n(p, 0, 120, 4);		/* four keys: most records are dropped */
	lgf_sync(p);
	rc = lg_partition_compact(p, T0 + 1000, &cleaned, &err);
	ck_assert_msg(rc == 0, "compact: %s", sl_err_msg(&err, rc));
	ck_assert_int_gt(cleaned, 0);
	lg_partition_check_(p);
	ck_assert_int_gt(compare_all(p), 0);
	lg_partition_close(p);
	lgf_drop_dir(dir);
}
END_TEST

Suite *lgread_suite(void);

Suite *
lgread_suite(void)
{
	Suite *s = suite_create("lgread");
	TCase *tc = tcase_create("read");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reads_from_the_ring_equal_the_scan_at_every_offset);
	tcase_add_test(tc, a_tailing_read_touches_no_batch_header_on_disk);
	tcase_add_test(tc, reads_agree_across_rolled_segments);
	tcase_add_test(tc, reads_agree_after_recovery_cuts_a_torn_tail);
	tcase_add_test(tc, reads_agree_after_a_failed_write_is_truncated_away);
	tcase_add_test(tc, reads_agree_after_compaction_leaves_gaps);
	suite_add_tcase(s, tc);
	return s;
}
