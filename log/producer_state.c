/*
 * log/producer_state.c: idempotent producer state of one partition, as
 * Kafka's ProducerStateManager keeps it, and its snapshot files.
 *
 * For every producer id the state holds the producer epoch and the
 * sequence ranges and offsets of its last LG_PRODUCER_BATCHES batches, so a
 * retried batch is answered with the offset it was first appended at
 * (SL_EDUPSEQ) instead of being appended twice.  It is not the transaction
 * coordinator: transactional markers only move the epoch.
 *
 * Producers live in an open-addressing hash table (linear probing,
 * backward-shift deletion) keyed by producer id.  Each costs about 160
 * bytes; lg_pstate_expire() forgets idle ones to bound memory.
 *
 * INVARIANTS
 *  (1) The table is never more than 3/4 full, so every probe ends at an
 *      empty slot.
 *  (2) An entry's ring holds 0..LG_PRODUCER_BATCHES batches of its current
 *      epoch, oldest first from 'head'; a new epoch empties the ring.
 *  (3) A snapshot file is complete and checked (CRC32C) or it is ignored:
 *      it is written under a temporary name, synced and renamed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/lg_int.h"

struct lg_pbatch {
	int32_t first_seq;		/* base sequence */
	int32_t last_seq;		/* sequence of the last record */
	int64_t base_offset;		/* offset the batch was appended at */
	int64_t last_offset;		/* its last offset */
};

struct lg_pentry {
	int64_t pid;			/* producer id; -1 marks a free slot */
	int16_t epoch;			/* current producer epoch */
	int32_t n;			/* batches in 'b' (2) */
	int32_t head;			/* index of the oldest batch */
	int64_t last_timestamp;		/* max timestamp of its last batch */
	struct lg_pbatch b[LG_PRODUCER_BATCHES];
};

struct lg_pstate {
	struct lg_pentry *slots;	/* 'cap' slots, a power of two */
	size_t cap;
	size_t count;			/* used slots */
};

#define PSTATE_MIN_CAP 16

/* ------------------------------------------------------------ sequences */

/* The sequence 'n' records after 'seq', wrapping past INT32_MAX to 0. */
static int32_t
seq_add(int32_t seq, int32_t n)
{
	int64_t v = (int64_t)seq + n;

	if (v > INT32_MAX)
		v -= (int64_t)INT32_MAX + 1;
	return (int32_t)v;
}

static int32_t
seq_last(int32_t first_seq, int32_t count)
{
	return seq_add(first_seq, count > 0 ? count - 1 : 0);
}

/* ---------------------------------------------------------- hash table */

static size_t
pid_hash(int64_t pid)
{
	uint64_t x = (uint64_t)pid;

	/* splitmix64 finaliser: producer ids are sequential, spread them. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x;
}

static void
slots_init(struct lg_pentry *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].pid = -1;
	}
}

struct lg_pstate *
lg_pstate_new(void)
{
	struct lg_pstate *ps = sl_calloc(1, sizeof(*ps));

	ps->cap = PSTATE_MIN_CAP;
	ps->slots = sl_malloc(ps->cap * sizeof(*ps->slots));
	slots_init(ps->slots, ps->cap);
	return ps;
}

void
lg_pstate_free(struct lg_pstate *ps)
{
	if (ps == NULL)
		return;
	free(ps->slots);
	free(ps);
}

size_t
lg_pstate_count(const struct lg_pstate *ps)
{
	return ps->count;
}

static struct lg_pentry *
pstate_find(const struct lg_pstate *ps, int64_t pid)
{
	size_t mask = ps->cap - 1;

	for (size_t i = pid_hash(pid) & mask;; i = (i + 1) & mask) {
		if (ps->slots[i].pid == pid)
			return &ps->slots[i];
		if (ps->slots[i].pid < 0)
			return NULL;	/* (1) */
	}
}

static void
pstate_grow(struct lg_pstate *ps)
{
	struct lg_pentry *old = ps->slots;
	size_t old_cap = ps->cap;

	ps->cap *= 2;
	ps->slots = sl_malloc(ps->cap * sizeof(*ps->slots));
	slots_init(ps->slots, ps->cap);
	for (size_t i = 0; i < old_cap; i++) {
		size_t mask = ps->cap - 1, j;

		if (old[i].pid < 0)
			continue;
		for (j = pid_hash(old[i].pid) & mask; ps->slots[j].pid >= 0;
		    j = (j + 1) & mask)
			;
		ps->slots[j] = old[i];
	}
	free(old);
}

/* The entry of 'pid', inserted empty with 'epoch' if absent. */
static struct lg_pentry *
pstate_insert(struct lg_pstate *ps, int64_t pid, int16_t epoch)
{
	struct lg_pentry *e = pstate_find(ps, pid);
	size_t mask, i;

	if (e != NULL)
		return e;
	if ((ps->count + 1) * 4 > ps->cap * 3)	/* (1) */
		pstate_grow(ps);
	mask = ps->cap - 1;
	for (i = pid_hash(pid) & mask; ps->slots[i].pid >= 0; i = (i + 1) & mask)
		;
	e = &ps->slots[i];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->epoch = epoch;
	ps->count++;
	return e;
}

/* Remove slot 'i', shifting back the entries of its probe run (1). */
static void
pstate_remove_at(struct lg_pstate *ps, size_t i)
{
	size_t mask = ps->cap - 1, j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (ps->slots[j].pid < 0)
			break;
		home = pid_hash(ps->slots[j].pid) & mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		ps->slots[i] = ps->slots[j];
		i = j;
	}
	memset(&ps->slots[i], 0, sizeof(ps->slots[i]));
	ps->slots[i].pid = -1;
	ps->count--;
}

size_t
lg_pstate_expire(struct lg_pstate *ps, int64_t now_ms, int64_t max_idle_ms)
{
	size_t removed = 0, i = 0;

	while (i < ps->cap) {
		struct lg_pentry *e = &ps->slots[i];

		if (e->pid >= 0 && e->last_timestamp < now_ms - max_idle_ms) {
			/* The shift may move an unvisited entry into slot i. */
			pstate_remove_at(ps, i);
			removed++;
			continue;
		}
		i++;
	}
	return removed;
}

/* -------------------------------------------------------- check, update */

/*
 * Kafka answers a non-zero first sequence from an unknown producer with
 * UNKNOWN_PRODUCER_ID; here an unknown producer (never seen, or whose
 * batches retention or compaction removed, or expired) is accepted at any
 * sequence, which is what that error makes a client do anyway.  A producer
 * known only by epoch (its ring empty after a transactional marker) is
 * treated the same way within that epoch.
 */
int
lg_pstate_check(const struct lg_pstate *ps, int64_t pid, int16_t epoch,
    int32_t first_seq, int32_t count, int64_t *dup_base)
{
	const struct lg_pentry *e = pstate_find(ps, pid);
	int32_t last;

	if (e == NULL)
		return 0;
	if (epoch < e->epoch)
		return SL_EFENCED;
	if (epoch > e->epoch)
		return first_seq == 0 ? 0 : SL_ESEQ;
	if (e->n == 0)
		return 0;
	last = seq_last(first_seq, count);
	for (int32_t k = 0; k < e->n; k++) {
		const struct lg_pbatch *b = &e->b[(e->head + k) % LG_PRODUCER_BATCHES];

		if (b->first_seq == first_seq && b->last_seq == last) {
			if (dup_base != NULL)
				*dup_base = b->base_offset;
			return SL_EDUPSEQ;
		}
	}
	{
		const struct lg_pbatch *lb =
		    &e->b[(e->head + e->n - 1) % LG_PRODUCER_BATCHES];

		if (first_seq == seq_add(lb->last_seq, 1))
			return 0;
	}
	return SL_ESEQ;
}

/*
 * A batch with 'first_seq' < 0 (a transactional marker) only moves the
 * epoch.  A batch of an older epoch than the one known cannot be in a valid
 * log and is ignored.
 */
void
lg_pstate_update(struct lg_pstate *ps, int64_t pid, int16_t epoch,
    int32_t first_seq, int32_t count, int64_t base_offset, int64_t last_offset,
    int64_t max_timestamp)
{
	struct lg_pentry *e;
	struct lg_pbatch *b;

	if (pid < 0)
		return;
	e = pstate_insert(ps, pid, epoch);
	if (epoch < e->epoch)
		return;
	if (epoch > e->epoch) {
		e->epoch = epoch;
		e->n = 0;	/* (2) */
		e->head = 0;
	}
	if (max_timestamp > e->last_timestamp)
		e->last_timestamp = max_timestamp;
	if (first_seq < 0)
		return;
	if (e->n == LG_PRODUCER_BATCHES) {
		e->head = (e->head + 1) % LG_PRODUCER_BATCHES;
		e->n--;
	}
	b = &e->b[(e->head + e->n) % LG_PRODUCER_BATCHES];
	b->first_seq = first_seq;
	b->last_seq = seq_last(first_seq, count);
	b->base_offset = base_offset;
	b->last_offset = last_offset;
	e->n++;
}

int
lg_pstate_get(const struct lg_pstate *ps, int64_t pid, struct lg_producer_info *out)
{
	const struct lg_pentry *e = pstate_find(ps, pid);

	if (e == NULL || pid < 0)
		return SL_ENOTFOUND;
	out->producer_id = pid;
	out->epoch = e->epoch;
	if (e->n == 0) {
		out->last_sequence = -1;
		out->last_offset = -1;
	} else {
		const struct lg_pbatch *lb =
		    &e->b[(e->head + e->n - 1) % LG_PRODUCER_BATCHES];

		out->last_sequence = lb->last_seq;
		out->last_offset = lb->last_offset;
	}
	return 0;
}

/* ------------------------------------------------------------ snapshots */

/*
 * PRODUCER SNAPSHOT "<dir>/<20-digit offset>.snapshot", big-endian
 *   OFFSET SIZE DESCRIPTION
 *        0    4 magic "SLPS"
 *        4    2 version = 1
 *        6    2 reserved, 0
 *        8    4 crc32c of bytes 12..end
 *       12    8 offset: the state holds every batch below it
 *       20    4 producer count N
 *       24    - N entries of SNAP_ENTRY_SIZE bytes, in no particular order
 *
 * ENTRY
 *   OFFSET SIZE DESCRIPTION
 *        0    8 producer id (>= 0, unique in the file)
 *        8    2 producer epoch
 *       10    2 batches K (0..5)
 *       12    8 max timestamp of its last batch
 *       20  120 5 batch slots, the first K used, oldest first, each:
 *               0 4 first sequence, 4 4 last sequence,
 *               8 8 base offset, 16 8 last offset (unused slots are zero)
 */
#define SNAP_MAGIC "SLPS"
#define SNAP_VERSION 1
#define SNAP_HEADER_SIZE 24
#define SNAP_SLOT_SIZE 24
#define SNAP_ENTRY_SIZE (20 + LG_PRODUCER_BATCHES * SNAP_SLOT_SIZE)
#define SNAP_MAX_BYTES ((size_t)1 << 30)
#define SNAP_SUFFIX ".snapshot"
#define SNAP_NAME_DIGITS 20

static void
snap_encode(const struct lg_pstate *ps, int64_t offset, struct sl_buf *out)
{
	size_t start = out->len;
	uint32_t crc;

	sl_buf_add(out, SNAP_MAGIC, 4);
	sl_buf_add_be16(out, SNAP_VERSION);
	sl_buf_add_be16(out, 0);
	sl_buf_add_be32(out, 0);		/* crc, patched below */
	sl_buf_add_be64(out, (uint64_t)offset);
	sl_buf_add_be32(out, (uint32_t)ps->count);
	for (size_t i = 0; i < ps->cap; i++) {
		const struct lg_pentry *e = &ps->slots[i];

		if (e->pid < 0)
			continue;
		sl_buf_add_be64(out, (uint64_t)e->pid);
		sl_buf_add_be16(out, (uint16_t)e->epoch);
		sl_buf_add_be16(out, (uint16_t)e->n);
		sl_buf_add_be64(out, (uint64_t)e->last_timestamp);
		for (int32_t k = 0; k < LG_PRODUCER_BATCHES; k++) {
			struct lg_pbatch z = { 0, 0, 0, 0 };
			const struct lg_pbatch *b = k < e->n ?
			    &e->b[(e->head + k) % LG_PRODUCER_BATCHES] : &z;

			sl_buf_add_be32(out, (uint32_t)b->first_seq);
			sl_buf_add_be32(out, (uint32_t)b->last_seq);
			sl_buf_add_be64(out, (uint64_t)b->base_offset);
			sl_buf_add_be64(out, (uint64_t)b->last_offset);
		}
	}
	crc = sl_crc32c(0, out->p + start + 12, out->len - start - 12);
	sl_put_be32(out->p + start + 8, crc);
}

/*
 * Decode the snapshot bytes 'p'/'len' of file 'path' named for 'name_off'
 * into a new state.  Returns 0 or SL_ECORRUPT naming the position.
 */
static int
snap_decode(const char *path, const uint8_t *p, size_t len, int64_t name_off,
    struct lg_pstate **out, struct sl_err *err)
{
	struct lg_pstate *ps = NULL;
	uint32_t n, crc;
	int rc = 0;

	*out = NULL;
	if (len < SNAP_HEADER_SIZE) {
		rc = SL_CORRUPT(err, "%s: %zu bytes, shorter than the header", path, len);
		goto out;
	}
	if (memcmp(p, SNAP_MAGIC, 4) != 0) {
		rc = SL_CORRUPT(err, "%s: bad magic at byte 0", path);
		goto out;
	}
	if (sl_get_be16(p + 6) != 0) {
		rc = SL_CORRUPT(err, "%s: reserved bytes 6..7 are not zero", path);
		goto out;
	}
	if (sl_get_be16(p + 4) != SNAP_VERSION) {
		rc = SL_CORRUPT(err, "%s: unknown version %u at byte 4", path,
		    sl_get_be16(p + 4));
		goto out;
	}
	crc = sl_crc32c(0, p + 12, len - 12);
	if (crc != sl_get_be32(p + 8)) {
		rc = SL_CORRUPT(err, "%s: crc mismatch (stored %08x, computed %08x)",
		    path, sl_get_be32(p + 8), crc);
		goto out;
	}
	if ((int64_t)sl_get_be64(p + 12) != name_off) {
		rc = SL_CORRUPT(err, "%s: offset %" PRId64 " at byte 12 disagrees "
		    "with the file name", path, (int64_t)sl_get_be64(p + 12));
		goto out;
	}
	n = sl_get_be32(p + 20);
	/* Checked before anything is allocated for the entries. */
	if ((len - SNAP_HEADER_SIZE) / SNAP_ENTRY_SIZE != n ||
	    (len - SNAP_HEADER_SIZE) % SNAP_ENTRY_SIZE != 0) {
		rc = SL_CORRUPT(err, "%s: %u producers at byte 20 do not fill "
		    "%zu bytes", path, n, len);
		goto out;
	}
	ps = lg_pstate_new();
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *q = p + SNAP_HEADER_SIZE + (size_t)i * SNAP_ENTRY_SIZE;
		size_t pos = (size_t)(q - p);
		int64_t pid = (int64_t)sl_get_be64(q);
		uint16_t k = sl_get_be16(q + 10);
		struct lg_pentry *e;

		if (pid < 0 || k > LG_PRODUCER_BATCHES) {
			rc = SL_CORRUPT(err, "%s: bad producer entry at byte %zu",
			    path, pos);
			goto out;
		}
		if (pstate_find(ps, pid) != NULL) {
			rc = SL_CORRUPT(err, "%s: producer %" PRId64 " repeated at "
			    "byte %zu", path, pid, pos);
			goto out;
		}
		e = pstate_insert(ps, pid, (int16_t)sl_get_be16(q + 8));
		e->last_timestamp = (int64_t)sl_get_be64(q + 12);
		for (uint16_t j = 0; j < k; j++) {
			const uint8_t *s = q + 20 + (size_t)j * SNAP_SLOT_SIZE;
			struct lg_pbatch *b = &e->b[j];

			b->first_seq = (int32_t)sl_get_be32(s);
			b->last_seq = (int32_t)sl_get_be32(s + 4);
			b->base_offset = (int64_t)sl_get_be64(s + 8);
			b->last_offset = (int64_t)sl_get_be64(s + 16);
			if (b->first_seq < 0 || b->last_seq < 0 ||
			    b->base_offset < 0 || b->last_offset < b->base_offset ||
			    b->last_offset >= name_off) {
				rc = SL_CORRUPT(err, "%s: bad batch at byte %zu",
				    path, (size_t)(s - p));
				goto out;
			}
		}
		e->n = k;
		e->head = 0;
	}
out:
	if (rc != 0) {
		lg_pstate_free(ps);
		ps = NULL;
	}
	*out = ps;
	return rc;
}

/* The offset of a "<20 digits>.snapshot" name, or -1 for any other name. */
static int64_t
snap_name_offset(const char *name)
{
	int64_t v = 0;

	if (strlen(name) != SNAP_NAME_DIGITS + strlen(SNAP_SUFFIX) ||
	    strcmp(name + SNAP_NAME_DIGITS, SNAP_SUFFIX) != 0)
		return -1;
	for (int i = 0; i < SNAP_NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

/*
 * Remove every snapshot other than 'keep_off' and every leftover temporary
 * file: older ones are superseded, newer ones describe a log that was cut
 * back since (a later load could otherwise pick them up).
 */
static void
snap_remove_others(const char *dir, int64_t keep_off)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t sfx = strlen(SNAP_SUFFIX ".tmp");

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		int64_t off = snap_name_offset(de->d_name);
		size_t nl = strlen(de->d_name);
		int tmp = nl > sfx && strcmp(de->d_name + nl - sfx, SNAP_SUFFIX ".tmp") == 0;

		if ((off >= 0 && off != keep_off) || tmp) {
			char *path = sl_asprintf("%s/%s", dir, de->d_name);

			if (unlink(path) != 0 && errno != ENOENT)
				sl_warn("producer state: cannot remove %s: %s",
				    path, strerror(errno));
			free(path);
		}
	}
	closedir(d);
}

int
lg_pstate_snapshot_write(const struct lg_pstate *ps, const char *dir,
    int64_t offset, struct sl_err *err)
{
	struct sl_buf b = { 0 };
	char *path = sl_asprintf("%s/%020" PRId64 SNAP_SUFFIX, dir, offset);
	int rc = 0;

	if (offset < 0) {
		rc = sl_errf(err, SL_EINVAL, "producer snapshot offset %" PRId64,
		    offset);
		goto out;
	}
	snap_encode(ps, offset, &b);
	/* temp file, fsync, rename, folder fsync (3) */
	if ((rc = lg_write_atomic(path, b.p, b.len)) != 0) {
		sl_errf(err, rc, "%s: cannot write producer snapshot: %s", path,
		    sl_strerror(rc));
		goto out;
	}
	snap_remove_others(dir, offset);
out:
	sl_buf_free(&b);
	free(path);
	return rc;
}

static int
cmp_off_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * A corrupt or unreadable snapshot is not an error: it is reported with
 * sl_warn and skipped (3), and the caller rebuilds from an older snapshot
 * or from the log start.  Returns 0, or -errno when 'dir' cannot be listed.
 */
int
lg_pstate_snapshot_load(const char *dir, int64_t max_offset,
    struct lg_pstate **out, int64_t *offset, struct sl_err *err)
{
	DIR *d;
	struct dirent *de;
	int64_t *offs = NULL;
	size_t n = 0, cap = 0;
	struct sl_buf b = { 0 };
	int rc = 0;

	*out = NULL;
	*offset = 0;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			*out = lg_pstate_new();
			return 0;
		}
		return sl_errf(err, -errno, "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		int64_t off = snap_name_offset(de->d_name);

		if (off < 0 || off > max_offset)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			offs = sl_realloc(offs, cap * sizeof(*offs));
		}
		offs[n++] = off;
	}
	closedir(d);
	if (n > 0)
		qsort(offs, n, sizeof(*offs), cmp_off_desc);
	for (size_t i = 0; i < n; i++) {
		char *path = sl_asprintf("%s/%020" PRId64 SNAP_SUFFIX, dir, offs[i]);
		struct sl_err e2 = { 0 };
		struct lg_pstate *ps = NULL;
		int r;

		sl_buf_reset(&b);
		r = sl_file_read(path, SNAP_MAX_BYTES, &b);
		if (r != 0)
			sl_errf(&e2, r, "%s: %s", path, sl_strerror(r));
		else
			r = snap_decode(path, b.p, b.len, offs[i], &ps, &e2);
		if (r == 0) {
			*out = ps;
			*offset = offs[i];
			free(path);
			goto out;
		}
		sl_warn("producer state: ignoring snapshot: %s; rebuilding from "
		    "the log", sl_err_msg(&e2, r));
		free(path);
	}
	*out = lg_pstate_new();
out:
	sl_buf_free(&b);
	free(offs);
	return rc;
}
