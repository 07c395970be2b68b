/*
 * tests/check_lgclean.c: log compaction (log/cleaner.c) against a reference
 * model, its crash-safe segment swap with a crash injected at every step,
 * and the idempotent producer state (log/producer_state.c) with its
 * snapshots.
 *
 * Workloads come from a seeded PRNG so a failure repeats.  Logs are read
 * back record by record both from the segment files directly and through
 * lg_partition_read().
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log/lg_int.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s * 0x9e3779b97f4a7c15ULL + 1;
}

static uint32_t
rng_next(void)
{
	uint64_t x = rng_state;	/* xorshift64* */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint32_t
rng_below(uint32_t n)
{
	return rng_next() % n;
}

static char *
make_tmpdir(void)
{
	char *t = sl_strdup("/tmp/check_lgclean.XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(t));
	return t;
}

/* Replace 'path' with 'len' bytes; no fsync: tests need no durability. */
static void
write_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static void
copy_file(const char *from, const char *to)
{
	struct sl_buf b = { 0 };

	ck_assert_int_eq(sl_file_read(from, (size_t)1 << 30, &b), 0);
	write_file(to, b.p, b.len);
	sl_buf_free(&b);
}

/* Copy the regular files of 'from' into a new folder 'to'. */
static void
copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(sl_mkdir_p(to, 0755), 0);
	while ((de = readdir(d)) != NULL) {
		char *a = sl_asprintf("%s/%s", from, de->d_name);
		char *b = sl_asprintf("%s/%s", to, de->d_name);
		struct stat st;

		if (stat(a, &st) == 0 && S_ISREG(st.st_mode))
			copy_file(a, b);
		free(a);
		free(b);
	}
	closedir(d);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Base offsets of the "<20 digits>.log" files of 'dir', sorted. */
static int
list_segments(const char *dir, int64_t **bases)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	*bases = NULL;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long long v;

		if (strlen(de->d_name) != 24 || strcmp(de->d_name + 20, ".log") != 0)
			continue;
		v = strtoll(de->d_name, &end, 10);
		if (end != de->d_name + 20)
			continue;
		*bases = sl_realloc(*bases, (size_t)(n + 1) * sizeof(**bases));
		(*bases)[n++] = v;
	}
	closedir(d);
	if (n > 0)
		qsort(*bases, (size_t)n, sizeof(**bases), cmp_i64);
	return n;
}

/* Names in 'dir' left by an unfinished clean, or 0. */
static int
count_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if ((l > 8 && strcmp(de->d_name + l - 8, ".cleaned") == 0) ||
		    (l > 5 && strcmp(de->d_name + l - 5, ".swap") == 0) ||
		    strncmp(de->d_name, "cleaner.", 8) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------ records */

#define KEY_MAX 16
#define VAL_MAX 80
#define HDR_MAX 2

struct trec {
	int64_t offset;
	int64_t timestamp;
	int64_t batch_max_ts;		/* model only */
	int key_null, value_null;
	size_t key_len, value_len;
	uint8_t key[KEY_MAX];
	uint8_t value[VAL_MAX];
	int n_headers;
	struct {
		uint8_t k[8], v[8];
		size_t kl, vl;
		int vnull;
	} h[HDR_MAX];
};

struct tlist {
	struct trec *r;
	size_t n, cap;
};

static struct trec *
tlist_push(struct tlist *l)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->r = sl_realloc(l->r, l->cap * sizeof(*l->r));
	}
	memset(&l->r[l->n], 0, sizeof(l->r[0]));
	return &l->r[l->n++];
}

static void
tlist_free(struct tlist *l)
{
	free(l->r);
	memset(l, 0, sizeof(*l));
}

static void
trec_from_record(struct trec *t, const struct lg_record *r)
{
	t->offset = r->offset;
	t->timestamp = r->timestamp;
	t->key_null = r->key_null;
	t->value_null = r->value_null;
	ck_assert_uint_le(r->key.len, KEY_MAX);
	ck_assert_uint_le(r->value.len, VAL_MAX);
	ck_assert_int_le(r->n_headers, HDR_MAX);
	if (!r->key_null) {
		t->key_len = r->key.len;
		if (r->key.len)
			memcpy(t->key, r->key.p, r->key.len);
	}
	if (!r->value_null) {
		t->value_len = r->value.len;
		if (r->value.len)
			memcpy(t->value, r->value.p, r->value.len);
	}
	t->n_headers = r->n_headers;
	for (int i = 0; i < r->n_headers; i++) {
		ck_assert_uint_le(r->headers[i].key.len, 8);
		ck_assert_uint_le(r->headers[i].value.len, 8);
		t->h[i].kl = r->headers[i].key.len;
		if (t->h[i].kl)
			memcpy(t->h[i].k, r->headers[i].key.p, t->h[i].kl);
		t->h[i].vnull = r->headers[i].value_null;
		if (!t->h[i].vnull) {
			t->h[i].vl = r->headers[i].value.len;
			if (t->h[i].vl)
				memcpy(t->h[i].v, r->headers[i].value.p, t->h[i].vl);
		}
	}
}

/* 1 when 'a' and 'b' hold the same records; otherwise says where. */
static int
tlist_equal(const struct tlist *a, const struct tlist *b, const char *what)
{
	if (a->n != b->n) {
		fprintf(stderr, "%s: %zu records, expected %zu\n", what, a->n, b->n);
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct trec *x = &a->r[i], *y = &b->r[i];
		int ok = x->offset == y->offset && x->timestamp == y->timestamp &&
		    x->key_null == y->key_null && x->value_null == y->value_null &&
		    x->key_len == y->key_len && x->value_len == y->value_len &&
		    memcmp(x->key, y->key, x->key_len) == 0 &&
		    memcmp(x->value, y->value, x->value_len) == 0 &&
		    x->n_headers == y->n_headers;

		for (int h = 0; ok && h < x->n_headers; h++)
			ok = x->h[h].kl == y->h[h].kl && x->h[h].vl == y->h[h].vl &&
			    x->h[h].vnull == y->h[h].vnull &&
			    memcmp(x->h[h].k, y->h[h].k, x->h[h].kl) == 0 &&
			    memcmp(x->h[h].v, y->h[h].v, x->h[h].vl) == 0;
		if (!ok) {
			fprintf(stderr, "%s: record %zu differs (offset %" PRId64
			    " vs %" PRId64 ")\n", what, i, x->offset, y->offset);
			return 0;
		}
	}
	return 1;
}

/*
 * Decode the batches in 'p'/'len' (whole batches) into 'out', records at
 * or past '*next' only; '*next' moves past the last batch.  Checks that
 * batches ascend and that each is intact.
 */
static void
decode_batches(const uint8_t *p, size_t len, int64_t *next, struct tlist *out,
    int *n_batches)
{
	struct sl_arena arena = { NULL, 0 };
	size_t pos = 0;

	while (pos < len) {
		struct lg_batch_info info;
		struct lg_record *recs;
		int32_t n;
		struct sl_err err = { 0 };
		int rc = lg_batch_header(sl_slice_make(p + pos, len - pos), &info, &err);

		ck_assert_msg(rc == 0, "batch at %zu: %s", pos, sl_err_msg(&err, rc));
		sl_arena_reset(&arena);
		rc = lg_batch_records(sl_slice_make(p + pos, lg_batch_size(&info)), 0,
		    &arena, &recs, &n, &err);
		ck_assert_msg(rc == 0, "records at %zu: %s", pos, sl_err_msg(&err, rc));
		for (int32_t i = 0; i < n; i++) {
			ck_assert_int_ge(recs[i].offset, info.base_offset);
			ck_assert_int_le(recs[i].offset, lg_batch_last_offset(&info));
			if (recs[i].offset < *next)
				continue;
			trec_from_record(tlist_push(out), &recs[i]);
		}
		if (lg_batch_last_offset(&info) + 1 > *next)
			*next = lg_batch_last_offset(&info) + 1;
		if (n_batches != NULL)
			(*n_batches)++;
		pos += lg_batch_size(&info);
	}
	sl_arena_free(&arena);
}

/* Every record of the segment files of 'dir', in order. */
static void
read_dir(const char *dir, struct tlist *out)
{
	int64_t *bases, next = 0;
	int n = list_segments(dir, &bases);

	for (int i = 0; i < n; i++) {
		char *path = sl_asprintf("%s/%020" PRId64 ".log", dir, bases[i]);
		struct sl_buf b = { 0 };

		ck_assert_int_eq(sl_file_read(path, (size_t)1 << 30, &b), 0);
		ck_assert_int_ge(bases[i], next);	/* segments never overlap */
		decode_batches(b.p, b.len, &next, out, NULL);
		sl_buf_free(&b);
		free(path);
	}
	free(bases);
}

/* Every record of partition 'p' through lg_partition_read. */
static void
read_partition(struct lg_partition *p, struct tlist *out)
{
	int64_t off = lg_partition_start(p), end = lg_partition_end(p);

	while (off < end) {
		struct lg_range r;
		struct sl_err err = { 0 };
		uint8_t *buf;
		int rc = lg_partition_read(p, off, 64 << 10, -1, &r, &err);

		ck_assert_msg(rc == 0, "read at %" PRId64 ": %s", off,
		    sl_err_msg(&err, rc));
		if (r.len == 0) {
			lg_range_release(&r);
			break;
		}
		buf = sl_malloc(r.len);
		ck_assert_int_eq(pread(r.fd, buf, r.len, r.pos), (ssize_t)r.len);
		{
			int64_t before = off;

			decode_batches(buf, r.len, &off, out, NULL);
			ck_assert_int_gt(off, before);
		}
		free(buf);
		lg_range_release(&r);
	}
}

/* ------------------------------------------------------------ workload */

#define NOW_MS 10000000
#define DELETE_RETENTION_MS 1000000

struct workload {
	int n_batches;
	int n_keys;
	struct tlist all;		/* every record appended, in order */
	int64_t next;			/* next offset */
	int32_t seq;			/* producer 7's next sequence */
};

/*
 * Build batch 'i' of 'w' at base offset 'w->next' into 'out' and add its
 * records to the model.  Batch timestamps climb from 0 to NOW_MS, so the
 * first nine tenths are past the tombstone horizon.
 */
static void
workload_batch(struct workload *w, int i, struct sl_buf *out)
{
	struct lg_batch_builder bb;
	int n = 1 + (int)rng_below(12);
	int64_t ts0 = (int64_t)i * (NOW_MS / w->n_batches);
	int64_t max_ts = ts0 + n - 1;
	int idem = rng_below(4) == 0;

	lg_batch_builder_init(&bb, (enum lg_codec)(i % 5), w->next);
	if (idem) {
		bb.producer_id = 7;
		bb.producer_epoch = 0;
		bb.base_sequence = w->seq;
		w->seq += n;
	}
	for (int k = 0; k < n; k++) {
		struct trec *t = tlist_push(&w->all);
		struct lg_header hs[HDR_MAX];
		uint32_t kind = rng_below(100);

		t->offset = w->next + k;
		t->timestamp = ts0 + k;
		t->batch_max_ts = max_ts;
		t->key_null = kind < 2;
		if (!t->key_null)
			t->key_len = (size_t)snprintf((char *)t->key, KEY_MAX, "key-%u",
			    rng_below((uint32_t)w->n_keys));
		t->value_null = kind >= 2 && kind < 17;
		if (!t->value_null) {
			t->value_len = rng_below(VAL_MAX);
			for (size_t j = 0; j < t->value_len; j++)
				t->value[j] = (uint8_t)rng_next();
		}
		t->n_headers = (int)rng_below(HDR_MAX + 1);
		for (int h = 0; h < t->n_headers; h++) {
			t->h[h].kl = (size_t)snprintf((char *)t->h[h].k, 8, "h%d", h);
			t->h[h].vnull = rng_below(5) == 0;
			if (!t->h[h].vnull) {
				t->h[h].vl = rng_below(8);
				memset(t->h[h].v, 'a' + h, t->h[h].vl);
			}
			hs[h].key = sl_slice_make(t->h[h].k, t->h[h].kl);
			hs[h].value = sl_slice_make(t->h[h].v, t->h[h].vl);
			hs[h].value_null = t->h[h].vnull;
		}
		lg_batch_builder_add(&bb, k, t->timestamp,
		    t->key_null ? NULL : t->key, t->key_len,
		    t->value_null ? NULL : (t->value_len ? (void *)t->value : ""),
		    t->value_len, hs, t->n_headers);
	}
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, out), 0);
	lg_batch_builder_free(&bb);
	w->next += n;
}

/*
 * The model of a clean of the records below 'clean_end': keep the latest
 * record of each non-null key, drop old tombstones; records at or past
 * 'clean_end' stay.
 */
static void
model_compact(const struct tlist *all, int64_t clean_end, int64_t horizon,
    struct tlist *out)
{
	for (size_t i = 0; i < all->n; i++) {
		const struct trec *t = &all->r[i];
		int latest = 1;

		if (t->offset < clean_end) {
			if (t->key_null)
				continue;
			for (size_t j = i + 1; j < all->n && all->r[j].offset < clean_end; j++)
				if (!all->r[j].key_null && all->r[j].key_len == t->key_len &&
				    memcmp(all->r[j].key, t->key, t->key_len) == 0) {
					latest = 0;
					break;
				}
			if (!latest)
				continue;
			if (t->value_null && t->batch_max_ts < horizon)
				continue;
		}
		*tlist_push(out) = *t;
	}
}

/*
 * Write the workload as segment files of about 'seg_bytes' in 'dir', as a
 * partition would: returns the number of segments; the last is "active".
 */
static int
workload_write_dir(struct workload *w, const char *dir, size_t seg_bytes,
    struct lg_clean_input **segs)
{
	struct sl_buf seg = { 0 };
	int64_t seg_base = 0;
	int n = 0;

	*segs = NULL;
	for (int i = 0; i < w->n_batches; i++) {
		if (seg.len >= seg_bytes) {
			char *path = sl_asprintf("%s/%020" PRId64 ".log", dir, seg_base);

			write_file(path, seg.p, seg.len);
			*segs = sl_realloc(*segs, (size_t)(n + 1) * sizeof(**segs));
			(*segs)[n].base_offset = seg_base;
			(*segs)[n].next_offset = w->next;
			(*segs)[n].log_path = path;
			ck_assert_int_eq(lg_index_build(path, seg_base, 256, NULL), 0);
			n++;
			sl_buf_reset(&seg);
			seg_base = w->next;
		}
		workload_batch(w, i, &seg);
	}
	{
		char *path = sl_asprintf("%s/%020" PRId64 ".log", dir, seg_base);

		write_file(path, seg.p, seg.len);
		free(path);
	}
	sl_buf_free(&seg);
	return n + 1;
}

static void
free_segs(struct lg_clean_input *segs, int n)
{
	for (int i = 0; i < n; i++)
		free((char *)segs[i].log_path);
	free(segs);
}

/* ------------------------------------------------- cleaner, no partition */

START_TEST(clean_of_segment_files_equals_the_model_for_every_seed)
{
	for (uint64_t seed = 1; seed <= 6; seed++) {
		char *dir = make_tmpdir();
		struct workload w = { 0 };
		struct lg_clean_input *segs;
		struct tlist got = { 0 }, want = { 0 }, before = { 0 };
		struct sl_err err = { 0 };
		int64_t removed = -1;
		int n, rc, n_after;
		int64_t *bases;

		rng_seed(seed);
		w.n_batches = 300;
		w.n_keys = 20 + (int)seed * 10;
		n = workload_write_dir(&w, dir, 2048, &segs);
		ck_assert_int_ge(n, 5);
		read_dir(dir, &before);
		ck_assert(tlist_equal(&before, &w.all, "written"));

		rc = lg_cleaner_run(dir, segs, n - 1, NOW_MS, DELETE_RETENTION_MS,
		    256, &removed, &err);
		ck_assert_msg(rc == 0, "clean: %s", sl_err_msg(&err, rc));
		ck_assert_int_gt(removed, 0);
		model_compact(&w.all, segs[n - 2].next_offset,
		    NOW_MS - DELETE_RETENTION_MS, &want);
		ck_assert_uint_lt(want.n, w.all.n);
		read_dir(dir, &got);
		ck_assert(tlist_equal(&got, &want, "cleaned"));
		ck_assert_int_eq(count_leftovers(dir), 0);
		/* Small cleaned segments were grouped. */
		n_after = list_segments(dir, &bases);
		ck_assert_int_lt(n_after, n);
		ck_assert_int_eq(bases[0], 0);
		free(bases);

		/* A second clean of the cleaned log changes nothing. */
		{
			struct lg_clean_input *s2 = sl_calloc((size_t)n_after,
			    sizeof(*s2));
			struct tlist again = { 0 };

			n_after = list_segments(dir, &bases);
			for (int i = 0; i < n_after - 1; i++) {
				s2[i].base_offset = bases[i];
				s2[i].next_offset = bases[i + 1];
				s2[i].log_path = sl_asprintf("%s/%020" PRId64 ".log",
				    dir, bases[i]);
			}
			rc = lg_cleaner_run(dir, s2, n_after - 1, NOW_MS,
			    DELETE_RETENTION_MS, 256, &removed, &err);
			ck_assert_msg(rc == 0, "clean: %s", sl_err_msg(&err, rc));
			ck_assert_int_eq(removed, 0);
			read_dir(dir, &again);
			ck_assert(tlist_equal(&again, &want, "cleaned twice"));
			tlist_free(&again);
			free_segs(s2, n_after - 1);
			free(bases);
		}
		tlist_free(&got);
		tlist_free(&want);
		tlist_free(&before);
		tlist_free(&w.all);
		free_segs(segs, n - 1);
		ck_assert_int_eq(sl_rm_rf(dir), 0);
		free(dir);
	}
}
END_TEST

/* Write 'n' batches held in 'b' as segment 'base' of 'dir'. */
static char *
write_segment(const char *dir, int64_t base, const struct sl_buf *b)
{
	char *path = sl_asprintf("%s/%020" PRId64 ".log", dir, base);

	write_file(path, b->p, b->len);
	return path;
}

static void
add_batch(struct sl_buf *out, int64_t base, int16_t attrs, int64_t pid,
    int32_t seq, int n, const char *key, const char *value, int64_t ts)
{
	struct lg_batch_builder bb;

	lg_batch_builder_init(&bb, LG_CODEC_NONE, base);
	bb.extra_attributes = attrs;
	bb.producer_id = pid;
	bb.producer_epoch = pid >= 0 ? 0 : -1;
	bb.base_sequence = seq;
	for (int k = 0; k < n; k++)
		lg_batch_builder_add(&bb, k, ts, key, key ? strlen(key) : 0, value,
		    value ? strlen(value) : 0, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, out), 0);
	lg_batch_builder_free(&bb);
}

/* All batch headers of segment file 'path'. */
static int
batch_infos(const char *path, struct lg_batch_info *infos, int max)
{
	struct sl_buf b = { 0 };
	size_t pos = 0;
	int n = 0;

	ck_assert_int_eq(sl_file_read(path, (size_t)1 << 30, &b), 0);
	while (pos < b.len) {
		ck_assert_int_lt(n, max);
		ck_assert_int_eq(lg_batch_header(sl_slice_make(b.p + pos, b.len - pos),
		    &infos[n], NULL), 0);
		pos += lg_batch_size(&infos[n]);
		n++;
	}
	sl_buf_free(&b);
	return n;
}

START_TEST(control_batches_and_a_producers_last_batch_survive_a_clean)
{
	char *dir = make_tmpdir();
	struct sl_buf b = { 0 };
	struct lg_clean_input seg;
	struct lg_batch_info in[16];
	struct sl_err err = { 0 };
	int64_t removed;
	int n, rc;

	/* 0-1: producer 5, superseded; 2: control marker; 3: null key;
	 * 4-5: producer 5 again, superseded; 6: producer 9, superseded;
	 * 7-8: the latest "k" (no producer). */
	add_batch(&b, 0, 0, 5, 0, 2, "k", "v0", 100);
	add_batch(&b, 2, LG_ATTR_CONTROL | LG_ATTR_TRANSACTIONAL, 5, -1, 1,
	    "\0\0\0\0", "\0\0", 100);
	add_batch(&b, 3, 0, -1, -1, 1, NULL, "nokey", 100);
	add_batch(&b, 4, 0, 5, 2, 2, "k", "v1", 100);
	add_batch(&b, 6, 0, 9, 0, 1, "k", "v2", 100);
	add_batch(&b, 7, 0, -1, -1, 2, "k", "v3", 100);
	seg.base_offset = 0;
	seg.next_offset = 9;
	seg.log_path = write_segment(dir, 0, &b);
	sl_buf_reset(&b);
	add_batch(&b, 9, 0, -1, -1, 1, "x", "y", 100);
	free(write_segment(dir, 9, &b));

	rc = lg_cleaner_run(dir, &seg, 1, NOW_MS, DELETE_RETENTION_MS, 4096,
	    &removed, &err);
	ck_assert_msg(rc == 0, "clean: %s", sl_err_msg(&err, rc));
	ck_assert_int_gt(removed, 0);
	n = batch_infos(seg.log_path, in, 16);
	ck_assert_int_eq(n, 4);
	/* The control batch, as it was. */
	ck_assert_int_eq(in[0].base_offset, 2);
	ck_assert(in[0].attributes & LG_ATTR_CONTROL);
	ck_assert_int_eq(in[0].records_count, 1);
	/* Producer 5's last batch, empty, keeping its offsets and sequence. */
	ck_assert_int_eq(in[1].base_offset, 4);
	ck_assert_int_eq(in[1].last_offset_delta, 1);
	ck_assert_int_eq(in[1].records_count, 0);
	ck_assert_int_eq(in[1].producer_id, 5);
	ck_assert_int_eq(in[1].base_sequence, 2);
	/* Producer 9's only batch, empty. */
	ck_assert_int_eq(in[2].base_offset, 6);
	ck_assert_int_eq(in[2].records_count, 0);
	/* The latest record, alone in a rebuilt batch keeping its range. */
	ck_assert_int_eq(in[3].base_offset, 7);
	ck_assert_int_eq(in[3].last_offset_delta, 1);
	ck_assert_int_eq(in[3].records_count, 1);
	{
		struct tlist got = { 0 };

		read_dir(dir, &got);
		ck_assert_uint_eq(got.n, 3);	/* control record, k=v3, x=y */
		ck_assert_int_eq(got.r[1].offset, 8);
		ck_assert_int_eq(memcmp(got.r[1].value, "v3", 2), 0);
		tlist_free(&got);
	}
	free((char *)seg.log_path);
	sl_buf_free(&b);
	sl_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(keys_that_collide_in_a_small_map_are_told_apart_by_bytes)
{
	char *dir = make_tmpdir();
	struct sl_buf b = { 0 };
	struct lg_clean_input seg;
	struct tlist got = { 0 };
	int64_t removed;
	char key[16];
	int rc;

	/* 3000 distinct keys twice: the map grows past its first table. */
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < 3000; i++) {
			snprintf(key, sizeof(key), "%d", i);
			add_batch(&b, (int64_t)r * 3000 + i, 0, -1, -1, 1, key,
			    r ? "new" : "old", 5);
		}
	seg.base_offset = 0;
	seg.next_offset = 6000;
	seg.log_path = write_segment(dir, 0, &b);
	sl_buf_reset(&b);
	add_batch(&b, 6000, 0, -1, -1, 1, "z", "z", 5);
	free(write_segment(dir, 6000, &b));
	rc = lg_cleaner_run(dir, &seg, 1, NOW_MS, 0, 4096, &removed, NULL);
	ck_assert_int_eq(rc, 0);
	read_dir(dir, &got);
	ck_assert_uint_eq(got.n, 3001);
	for (size_t i = 0; i < 3000; i++) {
		ck_assert_int_eq(got.r[i].offset, 3000 + (int64_t)i);
		ck_assert_int_eq(memcmp(got.r[i].value, "new", 3), 0);
	}
	tlist_free(&got);
	free((char *)seg.log_path);
	sl_buf_free(&b);
	sl_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(a_full_key_map_cleans_fewer_segments_without_losing_a_key)
{
	char *dir = make_tmpdir();
	struct workload w = { 0 };
	struct lg_clean_input *segs;
	struct tlist got = { 0 };
	int n, rc;

	rng_seed(99);
	w.n_batches = 200;
	w.n_keys = 40;
	n = workload_write_dir(&w, dir, 2048, &segs);
	lg_cleaner_set_map_limit_(1);	/* one segment per clean */
	rc = lg_cleaner_run(dir, segs, n - 1, NOW_MS, DELETE_RETENTION_MS, 256,
	    NULL, NULL);
	lg_cleaner_set_map_limit_(0);
	ck_assert_int_eq(rc, 0);
	read_dir(dir, &got);
	/* Every key's latest value over the whole log is still there. */
	for (size_t i = 0; i < w.all.n; i++) {
		const struct trec *t = &w.all.r[i];
		int latest = !t->key_null && !t->value_null, found = 0;

		for (size_t j = i + 1; latest && j < w.all.n; j++)
			if (!w.all.r[j].key_null && w.all.r[j].key_len == t->key_len &&
			    memcmp(w.all.r[j].key, t->key, t->key_len) == 0)
				latest = 0;
		if (!latest)
			continue;
		for (size_t j = 0; j < got.n; j++)
			if (got.r[j].offset == t->offset)
				found = 1;
		ck_assert_msg(found, "latest offset %" PRId64 " lost", t->offset);
	}
	ck_assert_uint_lt(got.n, w.all.n);
	tlist_free(&got);
	tlist_free(&w.all);
	free_segs(segs, n - 1);
	sl_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(a_corrupt_segment_stops_the_clean_and_changes_nothing)
{
	char *dir = make_tmpdir();
	struct sl_buf b = { 0 }, orig = { 0 }, now = { 0 };
	struct lg_clean_input seg;
	struct sl_err err = { 0 };
	char *marker = sl_asprintf("%s/cleaner.swap", dir);

	for (int i = 0; i < 20; i++)
		add_batch(&b, i, 0, -1, -1, 1, "k", "v", 5);
	seg.base_offset = 0;
	seg.next_offset = 20;
	seg.log_path = write_segment(dir, 0, &b);
	sl_buf_reset(&b);
	add_batch(&b, 20, 0, -1, -1, 1, "z", "z", 5);
	free(write_segment(dir, 20, &b));
	ck_assert_int_eq(sl_file_read(seg.log_path, 1 << 20, &orig), 0);

	/*
	 * A flipped byte in the 10th batch: its base offset (outside the CRC),
	 * or a byte the CRC covers.
	 */
	for (size_t at = orig.len / 2; at < orig.len / 2 + 40; at += 30) {
		sl_buf_reset(&b);
		sl_buf_add(&b, orig.p, orig.len);
		b.p[at] ^= 0x10;
		write_file(seg.log_path, b.p, b.len);
		ck_assert_int_eq(lg_cleaner_run(dir, &seg, 1, NOW_MS, 0, 4096, NULL,
		    &err), SL_ECORRUPT);
		ck_assert_ptr_nonnull(strstr(err.msg, "00000000000000000000.log"));
		sl_buf_reset(&now);
		ck_assert_int_eq(sl_file_read(seg.log_path, 1 << 20, &now), 0);
		ck_assert_uint_eq(now.len, b.len);
		ck_assert_int_eq(memcmp(now.p, b.p, b.len), 0);
		ck_assert_int_eq(count_leftovers(dir), 0);
	}

	/* A torn last batch. */
	write_file(seg.log_path, orig.p, orig.len - 7);
	ck_assert_int_eq(lg_cleaner_run(dir, &seg, 1, NOW_MS, 0, 4096, NULL, &err),
	    SL_ECORRUPT);
	ck_assert_int_eq(count_leftovers(dir), 0);

	/* A length field pointing past the end does not allocate it. */
	sl_buf_reset(&b);
	sl_buf_add(&b, orig.p, orig.len);
	sl_put_be32(b.p + 8, 0x7fffffffu);
	write_file(seg.log_path, b.p, b.len);
	ck_assert_int_eq(lg_cleaner_run(dir, &seg, 1, NOW_MS, 0, 4096, NULL, &err),
	    SL_ECORRUPT);

	/* A damaged swap marker stops recovery rather than guess. */
	{
		static const char bad[] = "SLCS\0\1\0\0garbage!";

		write_file(marker, bad, sizeof(bad) - 1);
	}
	ck_assert_int_eq(lg_cleaner_recover(dir, &err), SL_ECORRUPT);
	unlink(marker);
	ck_assert_int_eq(lg_cleaner_recover(dir, &err), 0);

	free(marker);
	free((char *)seg.log_path);
	sl_buf_free(&b);
	sl_buf_free(&orig);
	sl_buf_free(&now);
	sl_rm_rf(dir);
	free(dir);
}
END_TEST

/* ---------------------------------------------------- through a partition */

static void
test_options(struct lg_options *o)
{
	lg_options_default(o);
	o->segment_bytes = 2048;
	o->index_interval_bytes = 256;
	o->compact = 1;
	o->delete_retention_ms = DELETE_RETENTION_MS;
	o->retention_ms = -1;
}

/* Append the workload to a new partition at 'dir'; returns it open. */
static struct lg_partition *
workload_partition(struct workload *w, const char *dir)
{
	struct lg_options o;
	struct lg_partition *p;
	struct sl_err err = { 0 };
	struct sl_buf b = { 0 };
	int rc;

	test_options(&o);
	rc = lg_partition_open(dir, &o, &p, &err);
	ck_assert_msg(rc == 0, "open: %s", sl_err_msg(&err, rc));
	for (int i = 0; i < w->n_batches; i++) {
		int64_t base, expect = w->next;

		sl_buf_reset(&b);
		workload_batch(w, i, &b);
		rc = lg_partition_append(p, b.p, b.len, &base, &err);
		ck_assert_msg(rc == 0, "append %d: %s", i, sl_err_msg(&err, rc));
		ck_assert_int_eq(base, expect);
	}
	ck_assert_int_eq(lg_partition_sync(p, &err), 0);
	sl_buf_free(&b);
	return p;
}

/* The offset of the active (last) segment of 'dir'. */
static int64_t
active_base(const char *dir)
{
	int64_t *bases, v;
	int n = list_segments(dir, &bases);

	ck_assert_int_gt(n, 0);
	v = bases[n - 1];
	free(bases);
	return v;
}

START_TEST(partition_compaction_equals_the_model_and_survives_reopen)
{
	char *dir = make_tmpdir();
	char *pdir = sl_asprintf("%s/t-0", dir);
	struct workload w = { 0 };
	struct lg_partition *p;
	struct lg_options o;
	struct tlist got = { 0 }, want = { 0 }, before = { 0 };
	struct sl_err err = { 0 };
	int64_t cleaned = -1, end;
	int rc, segs_before;

	rng_seed(2026);
	w.n_batches = 600;
	w.n_keys = 50;
	p = workload_partition(&w, pdir);
	end = lg_partition_end(p);
	ck_assert_int_eq(end, w.next);
	segs_before = lg_partition_segment_count(p);
	ck_assert_int_ge(segs_before, 8);
	read_partition(p, &before);
	ck_assert(tlist_equal(&before, &w.all, "appended"));
	model_compact(&w.all, active_base(pdir), NOW_MS - DELETE_RETENTION_MS,
	    &want);

	rc = lg_partition_compact(p, NOW_MS, &cleaned, &err);
	ck_assert_msg(rc == 0, "compact: %s", sl_err_msg(&err, rc));
	ck_assert_int_gt(cleaned, 0);
	ck_assert_int_eq(lg_partition_end(p), end);
	ck_assert_int_lt(lg_partition_segment_count(p), segs_before);
	lg_partition_check_(p);
	read_partition(p, &got);
	ck_assert(tlist_equal(&got, &want, "compacted"));
	tlist_free(&got);
	ck_assert_int_eq(lg_partition_close(p), 0);

	test_options(&o);
	rc = lg_partition_open(pdir, &o, &p, &err);
	ck_assert_msg(rc == 0, "reopen: %s", sl_err_msg(&err, rc));
	ck_assert_int_eq(lg_partition_end(p), end);
	lg_partition_check_(p);
	read_partition(p, &got);
	ck_assert(tlist_equal(&got, &want, "reopened"));
	ck_assert_int_eq(lg_partition_close(p), 0);
	ck_assert_int_eq(count_leftovers(pdir), 0);

	tlist_free(&got);
	tlist_free(&want);
	tlist_free(&before);
	tlist_free(&w.all);
	sl_rm_rf(dir);
	free(pdir);
	free(dir);
}
END_TEST

START_TEST(a_clean_that_empties_the_inactive_segments_keeps_the_offsets)
{
	char *dir = make_tmpdir();
	char *pdir = sl_asprintf("%s/t-0", dir);
	struct lg_partition *p;
	struct lg_options o;
	struct sl_buf b = { 0 };
	struct tlist got = { 0 };
	struct sl_err err = { 0 };
	int64_t base, end;
	int rc;

	test_options(&o);
	ck_assert_int_eq(lg_partition_open(pdir, &o, &p, NULL), 0);
	/*
	 * Values then a tombstone for one key, then tombstones of another,
	 * all long ago: every record of the inactive segments goes.
	 */
	for (int i = 0; i < 60; i++) {
		sl_buf_reset(&b);
		add_batch(&b, 0, 0, -1, -1, 3, i <= 40 ? "only" : "x",
		    i < 40 ? "some value" : NULL, 100 + i);
		ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, NULL), 0);
	}
	ck_assert_int_gt(lg_partition_segment_count(p), 3);
	end = lg_partition_end(p);
	rc = lg_partition_compact(p, NOW_MS, NULL, &err);
	ck_assert_msg(rc == 0, "compact: %s", sl_err_msg(&err, rc));
	ck_assert_int_eq(lg_partition_end(p), end);
	ck_assert_int_eq(lg_partition_start(p), 0);
	lg_partition_check_(p);
	read_partition(p, &got);
	/* Only the active segment's records are left. */
	for (size_t i = 0; i < got.n; i++)
		ck_assert_int_ge(got.r[i].offset, active_base(pdir));
	ck_assert_uint_gt(got.n, 0);
	/* Appends continue at the same end. */
	sl_buf_reset(&b);
	add_batch(&b, 0, 0, -1, -1, 1, "only", "again", 500);
	ck_assert_int_eq(lg_partition_append(p, b.p, b.len, &base, NULL), 0);
	ck_assert_int_eq(base, end);
	ck_assert_int_eq(lg_partition_close(p), 0);
	ck_assert_int_eq(lg_partition_open(pdir, &o, &p, NULL), 0);
	ck_assert_int_eq(lg_partition_end(p), end + 1);
	lg_partition_check_(p);
	tlist_free(&got);
	read_partition(p, &got);
	ck_assert_int_eq(got.r[got.n - 1].offset, end);
	ck_assert_int_eq(lg_partition_close(p), 0);
	tlist_free(&got);
	sl_buf_free(&b);
	sl_rm_rf(dir);
	free(pdir);
	free(dir);
}
END_TEST

/* --------------------------------------------------- crash at every step */

struct crash_ctl {
	int target;			/* crash at this crash point (1-based) */
	int seen;
};

static void
crash_hook(const char *point, void *arg)
{
	struct crash_ctl *c = arg;

	(void)point;
	if (++c->seen == c->target)
		_exit(42);
}

START_TEST(a_crash_at_any_step_of_the_swap_leaves_old_or_cleaned_log)
{
	char *dir = make_tmpdir();
	char *src = sl_asprintf("%s/src-0", dir);
	char *ref = sl_asprintf("%s/ref-0", dir);
	struct workload w = { 0 };
	struct lg_partition *p;
	struct lg_options o;
	struct tlist before = { 0 }, after = { 0 };
	struct sl_err err = { 0 };
	int rc, n, completed = 0, saw_old = 0, saw_new = 0;
	int64_t end;

	rng_seed(7);
	w.n_batches = 150;
	w.n_keys = 30;
	p = workload_partition(&w, src);
	end = lg_partition_end(p);
	ck_assert_int_eq(lg_partition_close(p), 0);
	test_options(&o);

	/* The two acceptable outcomes. */
	copy_dir(src, ref);
	ck_assert_int_eq(lg_partition_open(ref, &o, &p, NULL), 0);
	read_partition(p, &before);
	ck_assert_int_eq(lg_partition_compact(p, NOW_MS, NULL, &err), 0);
	read_partition(p, &after);
	ck_assert_int_eq(lg_partition_close(p), 0);
	ck_assert_uint_lt(after.n, before.n);

	for (n = 1; n < 1000 && !completed; n++) {
		char *work = sl_asprintf("%s/crash%d-0", dir, n);
		struct tlist got = { 0 };
		pid_t pid;
		int status;

		copy_dir(src, work);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct crash_ctl ctl = { n, 0 };
			struct lg_partition *cp;

			if (lg_partition_open(work, &o, &cp, NULL) != 0)
				_exit(3);
			lg_fault_set_crash_hook(crash_hook, &ctl);
			if (lg_partition_compact(cp, NOW_MS, NULL, NULL) != 0)
				_exit(4);
			_exit(0);	/* no crash point left: a run to the end */
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 42,
		    "crash point %d: child exited %d", n, WEXITSTATUS(status));
		completed = WEXITSTATUS(status) == 0;

		rc = lg_partition_open(work, &o, &p, &err);
		ck_assert_msg(rc == 0, "crash point %d: reopen: %s", n,
		    sl_err_msg(&err, rc));
		ck_assert_int_eq(lg_partition_end(p), end);
		lg_partition_check_(p);
		read_partition(p, &got);
		ck_assert_int_eq(count_leftovers(work), 0);
		if (got.n == before.n) {
			ck_assert_msg(tlist_equal(&got, &before, "old"),
			    "crash point %d: log is neither old nor cleaned", n);
			saw_old = 1;
		} else {
			ck_assert_msg(tlist_equal(&got, &after, "cleaned"),
			    "crash point %d: log is neither old nor cleaned", n);
			saw_new = 1;
		}
		ck_assert_int_eq(lg_partition_close(p), 0);
		tlist_free(&got);
		sl_rm_rf(work);
		free(work);
	}
	ck_assert(completed);
	ck_assert(saw_old && saw_new);
	ck_assert_int_gt(n, 5);	/* the swap has several steps */
	tlist_free(&before);
	tlist_free(&after);
	tlist_free(&w.all);
	sl_rm_rf(dir);
	free(src);
	free(ref);
	free(dir);
}
END_TEST

START_TEST(an_io_error_at_any_step_of_a_clean_leaves_old_or_cleaned_log)
{
	static const enum lg_fault_op ops[] = { LG_FAULT_WRITE, LG_FAULT_SYNC,
	    LG_FAULT_RENAME };
	char *dir = make_tmpdir();
	char *src = sl_asprintf("%s/src-0", dir);
	char *ref = sl_asprintf("%s/ref-0", dir);
	struct workload w = { 0 };
	struct lg_partition *p;
	struct lg_options o;
	struct tlist before = { 0 }, after = { 0 };
	int failed = 0, succeeded = 0;

	rng_seed(11);
	w.n_batches = 100;
	w.n_keys = 25;
	p = workload_partition(&w, src);
	ck_assert_int_eq(lg_partition_close(p), 0);
	test_options(&o);
	copy_dir(src, ref);
	ck_assert_int_eq(lg_partition_open(ref, &o, &p, NULL), 0);
	read_partition(p, &before);
	ck_assert_int_eq(lg_partition_compact(p, NOW_MS, NULL, NULL), 0);
	read_partition(p, &after);
	ck_assert_int_eq(lg_partition_close(p), 0);

	for (size_t op = 0; op < SL_ARRAY_LEN(ops); op++) {
		for (int nth = 1; nth <= 30; nth++) {
			char *work = sl_asprintf("%s/io%zu-%d-0", dir, op, nth);
			struct tlist got = { 0 }, again = { 0 };
			struct sl_err err = { 0 };
			int rc;

			copy_dir(src, work);
			ck_assert_int_eq(lg_partition_open(work, &o, &p, NULL), 0);
			lg_fault_arm(ops[op], nth, EIO);
			rc = lg_partition_compact(p, NOW_MS, NULL, &err);
			lg_fault_reset();
			if (rc != 0)
				failed++;
			else
				succeeded++;
			read_partition(p, &got);
			ck_assert_msg(tlist_equal(&got, rc == 0 ? &after : &before,
			    "in process"), "op %zu nth %d rc %d: %s", op, nth, rc,
			    sl_err_msg(&err, rc));
			ck_assert_int_eq(lg_partition_close(p), 0);
			ck_assert_int_eq(lg_partition_open(work, &o, &p, NULL), 0);
			read_partition(p, &again);
			ck_assert_msg(tlist_equal(&again, rc == 0 ? &after : &before,
			    "reopened"), "op %zu nth %d rc %d", op, nth, rc);
			ck_assert_int_eq(count_leftovers(work), 0);
			ck_assert_int_eq(lg_partition_close(p), 0);
			tlist_free(&got);
			tlist_free(&again);
			sl_rm_rf(work);
			free(work);
		}
	}
	ck_assert_int_gt(failed, 0);
	ck_assert_int_gt(succeeded, 0);
	tlist_free(&before);
	tlist_free(&after);
	tlist_free(&w.all);
	sl_rm_rf(dir);
	free(src);
	free(ref);
	free(dir);
}
END_TEST

/* ---------------------------------------------------------- producer state */

START_TEST(producer_state_dedups_the_last_five_batches)
{
	struct lg_pstate *ps = lg_pstate_new();
	struct lg_producer_info info;
	int64_t dup = -1;

	ck_assert_int_eq(lg_pstate_check(ps, 1, 0, 0, 3, &dup), 0);
	for (int i = 0; i < 7; i++)	/* batches of 3: seq 0..20, offsets 10i */
		lg_pstate_update(ps, 1, 0, i * 3, 3, i * 10, i * 10 + 2, 1000 + i);
	/* The last five (seq 6.., 9.., 12.., 15.., 18..) are duplicates. */
	for (int i = 2; i < 7; i++) {
		dup = -1;
		ck_assert_int_eq(lg_pstate_check(ps, 1, 0, i * 3, 3, &dup),
		    SL_EDUPSEQ);
		ck_assert_int_eq(dup, i * 10);
	}
	/* Older ones are out of order, as is a matching start with another count. */
	ck_assert_int_eq(lg_pstate_check(ps, 1, 0, 3, 3, &dup), SL_ESEQ);
	ck_assert_int_eq(lg_pstate_check(ps, 1, 0, 18, 2, &dup), SL_ESEQ);
	/* Next in line, and gaps. */
	ck_assert_int_eq(lg_pstate_check(ps, 1, 0, 21, 5, &dup), 0);
	ck_assert_int_eq(lg_pstate_check(ps, 1, 0, 22, 1, &dup), SL_ESEQ);
	ck_assert_int_eq(lg_pstate_check(ps, 1, 0, 0, 1, &dup), SL_ESEQ);
	ck_assert_int_eq(lg_pstate_get(ps, 1, &info), 0);
	ck_assert_int_eq(info.epoch, 0);
	ck_assert_int_eq(info.last_sequence, 20);
	ck_assert_int_eq(info.last_offset, 62);
	ck_assert_int_eq(lg_pstate_get(ps, 2, &info), SL_ENOTFOUND);
	lg_pstate_free(ps);
}
END_TEST

START_TEST(producer_epochs_fence_old_and_restart_new_at_zero)
{
	struct lg_pstate *ps = lg_pstate_new();
	struct lg_producer_info info;
	int64_t dup;

	lg_pstate_update(ps, 4, 3, 0, 5, 0, 4, 1);
	ck_assert_int_eq(lg_pstate_check(ps, 4, 2, 5, 1, &dup), SL_EFENCED);
	ck_assert_int_eq(lg_pstate_check(ps, 4, 4, 5, 1, &dup), SL_ESEQ);
	ck_assert_int_eq(lg_pstate_check(ps, 4, 4, 0, 1, &dup), 0);
	lg_pstate_update(ps, 4, 4, 0, 1, 5, 5, 2);
	ck_assert_int_eq(lg_pstate_check(ps, 4, 3, 5, 1, &dup), SL_EFENCED);
	ck_assert_int_eq(lg_pstate_check(ps, 4, 4, 1, 1, &dup), 0);
	ck_assert_int_eq(lg_pstate_get(ps, 4, &info), 0);
	ck_assert_int_eq(info.epoch, 4);
	ck_assert_int_eq(info.last_sequence, 0);
	/* An unknown producer is accepted at any sequence (documented). */
	ck_assert_int_eq(lg_pstate_check(ps, 77, 0, 12345, 1, &dup), 0);
	lg_pstate_free(ps);
}
END_TEST

START_TEST(producer_sequences_wrap_from_int32_max_to_zero)
{
	struct lg_pstate *ps = lg_pstate_new();
	struct lg_producer_info info;
	int64_t dup = -1;

	lg_pstate_update(ps, 9, 0, INT32_MAX - 1, 4, 100, 103, 1);	/* ..1 */
	ck_assert_int_eq(lg_pstate_get(ps, 9, &info), 0);
	ck_assert_int_eq(info.last_sequence, 1);
	ck_assert_int_eq(lg_pstate_check(ps, 9, 0, 2, 1, &dup), 0);
	ck_assert_int_eq(lg_pstate_check(ps, 9, 0, INT32_MAX - 1, 4, &dup),
	    SL_EDUPSEQ);
	ck_assert_int_eq(dup, 100);
	lg_pstate_update(ps, 9, 0, 2, INT32_MAX - 1, 104, 110, 2);	/* ..MAX */
	ck_assert_int_eq(lg_pstate_check(ps, 9, 0, 0, 1, &dup), 0);
	ck_assert_int_eq(lg_pstate_check(ps, 9, 0, 1, 1, &dup), SL_ESEQ);
	lg_pstate_free(ps);
}
END_TEST

START_TEST(many_producers_grow_the_table_and_expire_when_idle)
{
	struct lg_pstate *ps = lg_pstate_new();
	struct lg_producer_info info;

	for (int64_t pid = 0; pid < 5000; pid++)
		lg_pstate_update(ps, pid, 0, 0, 1, pid, pid, pid);
	ck_assert_uint_eq(lg_pstate_count(ps), 5000);
	ck_assert_uint_eq(lg_pstate_expire(ps, 5000, 2500), 2500);	/* ts < 2500 */
	ck_assert_uint_eq(lg_pstate_count(ps), 2500);
	for (int64_t pid = 0; pid < 5000; pid++)
		ck_assert_int_eq(lg_pstate_get(ps, pid, &info),
		    pid < 2500 ? SL_ENOTFOUND : 0);
	ck_assert_uint_eq(lg_pstate_expire(ps, 5000, 2500), 0);
	lg_pstate_free(ps);
}
END_TEST

static void
pstate_fill(struct lg_pstate *ps)
{
	for (int64_t pid = 0; pid < 300; pid++)
		for (int b = 0; b < (int)(pid % 8); b++)
			lg_pstate_update(ps, pid * 3, (int16_t)(pid % 5), b * 2, 2,
			    pid * 100 + b * 2, pid * 100 + b * 2 + 1, pid + b);
}

START_TEST(producer_snapshot_round_trips_and_keeps_only_the_newest)
{
	char *dir = make_tmpdir();
	struct lg_pstate *ps = lg_pstate_new(), *back;
	struct sl_err err = { 0 };
	int64_t off = -1;
	char *old;

	pstate_fill(ps);
	ck_assert_int_eq(lg_pstate_snapshot_write(ps, dir, 1000, &err), 0);
	old = sl_asprintf("%s/%020d.snapshot", dir, 1000);
	ck_assert_int_eq(access(old, F_OK), 0);
	ck_assert_int_eq(lg_pstate_snapshot_write(ps, dir, 40000, &err), 0);
	ck_assert_int_ne(access(old, F_OK), 0);
	/* Nothing at or below 39999. */
	ck_assert_int_eq(lg_pstate_snapshot_load(dir, 39999, &back, &off, &err), 0);
	ck_assert_int_eq(off, 0);
	ck_assert_uint_eq(lg_pstate_count(back), 0);
	lg_pstate_free(back);

	ck_assert_int_eq(lg_pstate_snapshot_load(dir, 50000, &back, &off, &err), 0);
	ck_assert_int_eq(off, 40000);
	ck_assert_uint_eq(lg_pstate_count(back), lg_pstate_count(ps));
	for (int64_t pid = 0; pid < 900; pid++) {
		struct lg_producer_info a, b;
		int ra = lg_pstate_get(ps, pid, &a), rb = lg_pstate_get(back, pid, &b);

		ck_assert_int_eq(ra, rb);
		if (ra != 0)
			continue;
		ck_assert_int_eq(a.epoch, b.epoch);
		ck_assert_int_eq(a.last_sequence, b.last_sequence);
		ck_assert_int_eq(a.last_offset, b.last_offset);
		/* Dedup answers agree too. */
		for (int32_t s = 0; s < 16; s += 2) {
			int64_t da = -1, db = -1;

			ck_assert_int_eq(lg_pstate_check(ps, pid, a.epoch, s, 2, &da),
			    lg_pstate_check(back, pid, b.epoch, s, 2, &db));
			ck_assert_int_eq(da, db);
		}
	}
	lg_pstate_free(back);
	lg_pstate_free(ps);
	free(old);
	sl_rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(a_corrupt_producer_snapshot_is_ignored_not_fatal)
{
	char *dir = make_tmpdir();
	struct lg_pstate *ps = lg_pstate_new(), *back;
	char *path = sl_asprintf("%s/%020d.snapshot", dir, 100000);
	struct sl_buf b = { 0 }, orig = { 0 };
	int64_t off = -1;

	pstate_fill(ps);
	ck_assert_int_eq(lg_pstate_snapshot_write(ps, dir, 100000, NULL), 0);
	ck_assert_int_eq(sl_file_read(path, 1 << 24, &orig), 0);
	/* Flip a byte anywhere, cut the file anywhere: never loaded. */
	for (size_t i = 0; i < orig.len; i += i < 24 ? 1 : 37) {
		sl_buf_reset(&b);
		sl_buf_add(&b, orig.p, orig.len);
		b.p[i] ^= 0x40;
		write_file(path, b.p, b.len);
		ck_assert_int_eq(lg_pstate_snapshot_load(dir, 200000, &back, &off,
		    NULL), 0);
		ck_assert_int_eq(off, 0);
		ck_assert_uint_eq(lg_pstate_count(back), 0);
		lg_pstate_free(back);
		write_file(path, orig.p, i);
		ck_assert_int_eq(lg_pstate_snapshot_load(dir, 200000, &back, &off,
		    NULL), 0);
		ck_assert_int_eq(off, 0);
		lg_pstate_free(back);
	}
	/* A huge producer count does not allocate. */
	sl_buf_reset(&b);
	sl_buf_add(&b, orig.p, 24);
	sl_put_be32(b.p + 20, 0xffffffffu);
	sl_put_be32(b.p + 8, sl_crc32c(0, b.p + 12, b.len - 12));
	write_file(path, b.p, b.len);
	ck_assert_int_eq(lg_pstate_snapshot_load(dir, 200000, &back, &off, NULL), 0);
	ck_assert_int_eq(off, 0);
	lg_pstate_free(back);
	/* The intact file loads again. */
	write_file(path, orig.p, orig.len);
	ck_assert_int_eq(lg_pstate_snapshot_load(dir, 200000, &back, &off, NULL), 0);
	ck_assert_int_eq(off, 100000);
	ck_assert_uint_eq(lg_pstate_count(back), lg_pstate_count(ps));
	lg_pstate_free(back);
	lg_pstate_free(ps);
	sl_buf_free(&b);
	sl_buf_free(&orig);
	free(path);
	sl_rm_rf(dir);
	free(dir);
}
END_TEST

/* Append one idempotent batch of 'n' records of producer 'pid'. */
static int
append_idem(struct lg_partition *p, int64_t pid, int16_t epoch, int32_t seq,
    int n, int64_t *base)
{
	struct lg_batch_builder bb;
	struct sl_buf b = { 0 };
	int rc;

	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	bb.producer_id = pid;
	bb.producer_epoch = epoch;
	bb.base_sequence = seq;
	for (int k = 0; k < n; k++)
		lg_batch_builder_add(&bb, k, 1000 + k, "k", 1, "v", 1, NULL, 0);
	ck_assert_int_eq(lg_batch_builder_finish(&bb, -1, &b), 0);
	lg_batch_builder_free(&bb);
	rc = lg_partition_append(p, b.p, b.len, base, NULL);
	sl_buf_free(&b);
	return rc;
}

static void
remove_snapshots(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 9 && strcmp(de->d_name + l - 9, ".snapshot") == 0) {
			char *p = sl_asprintf("%s/%s", dir, de->d_name);

			ck_assert_int_eq(unlink(p), 0);
			free(p);
		}
	}
	closedir(d);
}

/* Corrupt every snapshot of 'dir' by flipping its last byte. */
static int
corrupt_snapshots(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 9 && strcmp(de->d_name + l - 9, ".snapshot") == 0) {
			char *p = sl_asprintf("%s/%s", dir, de->d_name);
			struct sl_buf b = { 0 };

			ck_assert_int_eq(sl_file_read(p, 1 << 24, &b), 0);
			ck_assert_uint_gt(b.len, 0);
			b.p[b.len - 1] ^= 1;
			write_file(p, b.p, b.len);
			sl_buf_free(&b);
			free(p);
			n++;
		}
	}
	closedir(d);
	return n;
}

/*
 * Producer state after reopen, with 'how' 0: snapshots as written,
 * 1: snapshots removed, 2: snapshots corrupted.
 */
static void
check_pstate_reopen(int how)
{
	char *dir = make_tmpdir();
	char *pdir = sl_asprintf("%s/t-0", dir);
	struct lg_options o;
	struct lg_partition *p;
	struct lg_producer_info info;
	int64_t base, bases[12];
	int rc;

	test_options(&o);
	o.compact = 0;
	ck_assert_int_eq(lg_partition_open(pdir, &o, &p, NULL), 0);
	for (int i = 0; i < 12; i++) {
		ck_assert_int_eq(append_idem(p, 11, 2, i * 4, 4, &bases[i]), 0);
		ck_assert_int_eq(append_idem(p, 12, 0, i, 1, &base), 0);
	}
	/* Duplicates and gaps while open. */
	ck_assert_int_eq(append_idem(p, 11, 2, 40, 4, &base), SL_EDUPSEQ);
	ck_assert_int_eq(base, bases[10]);
	ck_assert_int_eq(append_idem(p, 11, 2, 50, 4, &base), SL_ESEQ);
	ck_assert_int_eq(append_idem(p, 11, 1, 48, 4, &base), SL_EFENCED);
	ck_assert_int_eq(lg_partition_close(p), 0);
	if (how == 1)
		remove_snapshots(pdir);
	else if (how == 2)
		ck_assert_int_gt(corrupt_snapshots(pdir), 0);

	rc = lg_partition_open(pdir, &o, &p, NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(lg_partition_producer(p, 11, &info), 0);
	ck_assert_int_eq(info.epoch, 2);
	ck_assert_int_eq(info.last_sequence, 47);
	ck_assert_int_eq(info.last_offset, bases[11] + 3);
	ck_assert_int_eq(lg_partition_producer(p, 12, &info), 0);
	ck_assert_int_eq(info.last_sequence, 11);
	ck_assert_int_eq(lg_partition_producer(p, 13, &info), SL_ENOTFOUND);
	for (int i = 7; i < 12; i++) {
		ck_assert_int_eq(append_idem(p, 11, 2, i * 4, 4, &base), SL_EDUPSEQ);
		ck_assert_int_eq(base, bases[i]);
	}
	ck_assert_int_eq(append_idem(p, 11, 2, 52, 4, &base), SL_ESEQ);
	ck_assert_int_eq(append_idem(p, 11, 2, 48, 4, &base), 0);
	ck_assert_int_eq(append_idem(p, 11, 3, 0, 1, &base), 0);
	ck_assert_int_eq(append_idem(p, 11, 2, 52, 1, &base), SL_EFENCED);
	ck_assert_int_eq(lg_partition_close(p), 0);
	sl_rm_rf(dir);
	free(pdir);
	free(dir);
}

START_TEST(producer_state_survives_reopen_with_its_snapshot)
{
	check_pstate_reopen(0);
}
END_TEST

START_TEST(producer_state_is_rebuilt_from_the_log_without_a_snapshot)
{
	check_pstate_reopen(1);
}
END_TEST

START_TEST(producer_state_is_rebuilt_when_the_snapshot_is_corrupt)
{
	check_pstate_reopen(2);
}
END_TEST

Suite *lgclean_suite(void);

Suite *
lgclean_suite(void)
{
	Suite *s = suite_create("lgclean");
	TCase *tc = tcase_create("cleaner");
	TCase *tp = tcase_create("partition");
	TCase *ts = tcase_create("producer_state");

	tcase_set_timeout(tc, 120);
	tcase_set_timeout(tp, 600);
	tcase_set_timeout(ts, 120);
	tcase_add_test(tc, clean_of_segment_files_equals_the_model_for_every_seed);
	tcase_add_test(tc, control_batches_and_a_producers_last_batch_survive_a_clean);
	tcase_add_test(tc, keys_that_collide_in_a_small_map_are_told_apart_by_bytes);
	tcase_add_test(tc, a_full_key_map_cleans_fewer_segments_without_losing_a_key);
	tcase_add_test(tc, a_corrupt_segment_stops_the_clean_and_changes_nothing);
	tcase_add_test(ts, producer_state_dedups_the_last_five_batches);
	tcase_add_test(ts, producer_epochs_fence_old_and_restart_new_at_zero);
	tcase_add_test(ts, producer_sequences_wrap_from_int32_max_to_zero);
	tcase_add_test(ts, many_producers_grow_the_table_and_expire_when_idle);
	tcase_add_test(ts, producer_snapshot_round_trips_and_keeps_only_the_newest);
	tcase_add_test(ts, a_corrupt_producer_snapshot_is_ignored_not_fatal);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ts);
	tcase_add_test(tp, partition_compaction_equals_the_model_and_survives_reopen);
	tcase_add_test(tp, a_clean_that_empties_the_inactive_segments_keeps_the_offsets);
	tcase_add_test(tp, a_crash_at_any_step_of_the_swap_leaves_old_or_cleaned_log);
	tcase_add_test(tp, an_io_error_at_any_step_of_a_clean_leaves_old_or_cleaned_log);
	tcase_add_test(tp, producer_state_survives_reopen_with_its_snapshot);
	tcase_add_test(tp, producer_state_is_rebuilt_from_the_log_without_a_snapshot);
	tcase_add_test(tp, producer_state_is_rebuilt_when_the_snapshot_is_corrupt);
	suite_add_tcase(s, tp);
	return s;
}
