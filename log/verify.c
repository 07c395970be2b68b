/*
 * log/verify.c: lg_verify, the offline checker behind `sluice log verify`.
 *
 * Reads every segment of every partition folder with CRCs on, checks that
 * offsets increase across batches and segments, and that every .index and
 * .timeindex entry agrees with the batches of its .log.  It never writes
 * or repairs anything (lg_partition_open does that); the first problem
 * found stops it with SL_ECORRUPT naming the file and byte position.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/lg_int.h"

typedef void (*progress_fn)(const char *file, void *arg);

/* Read 'path' fully (at most 'max' bytes); 1 and '*out' if present, 0 if absent. */
static int
read_whole(const char *path, int64_t max, uint8_t **out, size_t *len,
    struct sl_err *err)
{
	struct sl_buf b = { 0 };
	int rc = sl_file_read(path, (size_t)max, &b);

	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return sl_errf(err, rc == SL_ETOOBIG ? SL_ECORRUPT : rc,
		    "%s: %s", path, rc == SL_ETOOBIG ?
		    "larger than its .log allows (position 0)" : sl_strerror(rc));
	*out = b.p;
	*len = b.len;
	return 1;
}

struct vf_arg {
	const char *ipath;
	const uint8_t *idx;		/* the .index bytes */
	size_t n_idx, at;		/* entries, next to match */
	int64_t base;
	int64_t max_ts;
	int64_t last_rel;
	struct sl_err *err;
};

/* Per batch: the next index entry must be at or after it, and if at, agree. */
static int
vf_note(const struct lg_batch_info *b, int64_t pos, void *arg)
{
	struct vf_arg *a = arg;
	int64_t rel, ipos;

	if (b->max_timestamp > a->max_ts)
		a->max_ts = b->max_timestamp;
	a->last_rel = b->base_offset - a->base;
	while (a->at < a->n_idx) {
		rel = (int32_t)sl_get_be32(a->idx + a->at * LG_INDEX_ENTRY_SIZE);
		ipos = (int32_t)sl_get_be32(a->idx + a->at * LG_INDEX_ENTRY_SIZE + 4);
		if (ipos > pos)
			break;
		if (ipos < pos || a->base + rel != b->base_offset)
			return SL_CORRUPT(a->err, "%s: entry %zu at position %zu "
			    "(offset %" PRId64 ", position %" PRId64 ") does not "
			    "match a batch", a->ipath, a->at,
			    a->at * LG_INDEX_ENTRY_SIZE, a->base + rel, ipos);
		a->at++;
	}
	return 0;
}

static int
verify_segment(const char *dir, int64_t base, int last, int64_t *min_offset,
    progress_fn progress, void *arg, struct sl_err *err)
{
	char *lpath = lg_segment_path(dir, base, ".log");
	char *ipath = lg_segment_path(dir, base, ".index");
	char *tpath = lg_segment_path(dir, base, ".timeindex");
	struct vf_arg a;
	uint8_t *ib = NULL, *tb = NULL;
	size_t ilen = 0, tlen = 0, i;
	struct stat st;
	int64_t end, ts, prev_ts = -1, rel, prev_rel = -1, rel_a, prev_pos = -1;
	int fd = -1, rc, have_i, have_t;

	memset(&a, 0, sizeof(a));
	if (progress != NULL)
		progress(lpath, arg);
	fd = open(lpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = sl_errf(err, -errno, "%s: %s", lpath, strerror(errno));
		goto out;
	}
	rc = read_whole(ipath, st.st_size / LG_BATCH_HEADER_SIZE * 8 + 16, &ib,
	    &ilen, err);
	if (rc < 0)
		goto out;
	have_i = rc;
	rc = read_whole(tpath, st.st_size / LG_BATCH_HEADER_SIZE * 12 + 24, &tb,
	    &tlen, err);
	if (rc < 0)
		goto out;
	have_t = rc;
	if (have_i && ilen % LG_INDEX_ENTRY_SIZE != 0) {
		rc = SL_CORRUPT(err, "%s: size %zu is not a multiple of %d "
		    "(position %zu)", ipath, ilen, LG_INDEX_ENTRY_SIZE,
		    ilen - ilen % LG_INDEX_ENTRY_SIZE);
		goto out;
	}
	for (i = 0; have_i && i < ilen; i += LG_INDEX_ENTRY_SIZE) {
		rel_a = (int32_t)sl_get_be32(ib + i + 4);
		if (rel_a <= prev_pos) {
			rc = SL_CORRUPT(err, "%s: entry at position %zu goes "
			    "backwards", ipath, i);
			goto out;
		}
		prev_pos = rel_a;
	}
	a.ipath = ipath;
	a.idx = ib;
	a.n_idx = have_i ? ilen / LG_INDEX_ENTRY_SIZE : 0;
	a.base = base;
	a.max_ts = -1;
	a.last_rel = 0;
	a.err = err;
	rc = lg_segment_scan(fd, lpath, 0, st.st_size, *min_offset, 1, vf_note,
	    &a, &end, NULL, err);
	/*
	 * The last segment of a log that was not closed cleanly may end in
	 * zero-filled space written ahead of its appends (lg_int.h).
	 */
	if ((rc == SL_ETRUNC || rc == SL_ECORRUPT) && last &&
	    lg_file_is_zero(fd, end, st.st_size) == 1)
		rc = 0;
	if (rc == SL_ETRUNC)
		rc = SL_ECORRUPT;
	if (rc != 0) {
		if (err != NULL)
			err->code = rc;
		goto out;
	}
	if (a.at < a.n_idx) {
		rc = SL_CORRUPT(err, "%s: entry at position %zu points past the "
		    "last batch", ipath, a.at * LG_INDEX_ENTRY_SIZE);
		goto out;
	}
	if (progress != NULL && have_i)
		progress(ipath, arg);
	if (have_t && tlen % LG_TIMEINDEX_ENTRY_SIZE != 0) {
		rc = SL_CORRUPT(err, "%s: size %zu is not a multiple of %d "
		    "(position %zu)", tpath, tlen, LG_TIMEINDEX_ENTRY_SIZE,
		    tlen - tlen % LG_TIMEINDEX_ENTRY_SIZE);
		goto out;
	}
	for (i = 0; have_t && i < tlen; i += LG_TIMEINDEX_ENTRY_SIZE) {
		ts = (int64_t)sl_get_be64(tb + i);
		rel = (int32_t)sl_get_be32(tb + i + 8);
		if (ts <= prev_ts || rel < prev_rel || rel < 0 ||
		    rel > a.last_rel || ts > a.max_ts) {
			rc = SL_CORRUPT(err, "%s: entry at position %zu (timestamp %"
			    PRId64 ", offset %" PRId64 ") is out of order or past "
			    "the segment", tpath, i, ts, base + rel);
			goto out;
		}
		prev_ts = ts;
		prev_rel = rel;
	}
	if (progress != NULL && have_t)
		progress(tpath, arg);
	if (end > 0)
		*min_offset = base + a.last_rel + 1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(ib);
	free(tb);
	free(lpath);
	free(ipath);
	free(tpath);
	return rc;
}

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

/* Verify the partition folder 'dir'; '*found' is set if it has segments. */
static int
verify_partition(const char *dir, int *found, progress_fn progress,
    void *arg, struct sl_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int64_t *v = NULL, base, min_offset = 0;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	*found = 0;
	if (d == NULL)
		return sl_errf(err, -errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (lg_segment_parse_name(de->d_name, &base) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = sl_realloc(v, cap * sizeof(*v));
		}
		v[n++] = base;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_i64);
	for (i = 0; i < n && rc == 0; i++) {
		/* Segments may start past the previous end (compaction, retention). */
		if (v[i] > min_offset)
			min_offset = v[i];
		rc = verify_segment(dir, v[i], i + 1 == n, &min_offset, progress, arg, err);
	}
	*found = n > 0;
	free(v);
	return rc;
}

static int
not_hidden(const char *name)
{
	return name[0] != '.';
}

int
lg_verify(const char *data_dir, void (*progress)(const char *file, void *arg),
    void *arg, struct sl_err *err)
{
	struct stat st;
	char **names, *sub;
	size_t n, i;
	int rc, found;

	rc = verify_partition(data_dir, &found, progress, arg, err);
	if (rc != 0 || found)
		return rc;
	if ((rc = sl_dir_list(data_dir, not_hidden, &names, &n)) != 0)
		return sl_errf(err, rc, "%s: %s", data_dir, sl_strerror(rc));
	for (i = 0; i < n; i++) {
		sub = sl_asprintf("%s/%s", data_dir, names[i]);
		if (rc == 0 && stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			rc = verify_partition(sub, &found, progress, arg, err);
		free(sub);
		free(names[i]);
	}
	free(names);
	return rc;
}
