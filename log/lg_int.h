/*
 * log/lg_int.h: internals shared by the files of log/ and its tests.
 * Nothing outside log/ and tests/ includes this.
 *
 * Sections, each owned by the file that implements it:
 *   segment.c / index.c / partition.c  segments, indexes, partitions
 *   producer_state.c                   idempotent producer state
 *   cleaner.c                          compaction and its crash-safe swap
 *   fault.c                            fault injection for tests
 */
#ifndef LG_INT_H
#define LG_INT_H

#include <stdint.h>

#include "log/lg.h"

/* ------------------------------------------------------- fault injection */

/*
 * Tests make the Nth write or fsync of the log fail with an errno, as
 * SQLite's test VFS does.  Every write(2)/pwrite(2)/fdatasync(2)/fsync(2)
 * of log/ goes through these wrappers.
 */
enum lg_fault_op { LG_FAULT_WRITE, LG_FAULT_SYNC, LG_FAULT_RENAME, LG_FAULT_OP_COUNT };

/* Fail the 'nth' (1-based, counted from now) call of 'op' with 'errnum'; 0 disarms. */
void lg_fault_arm(enum lg_fault_op op, int nth, int errnum);
void lg_fault_reset(void);
/* A crash point: the cleaner calls lg_fault_crash_point("name") at each step. */
typedef void (*lg_crash_hook_fn)(const char *point, void *arg);
void lg_fault_set_crash_hook(lg_crash_hook_fn fn, void *arg);
void lg_fault_crash_point(const char *point);

ssize_t lg_write(int fd, const void *p, size_t n);		/* full write or -1 */
ssize_t lg_pwrite(int fd, const void *p, size_t n, off_t off);	/* full write or -1 */
int lg_fdatasync(int fd);
int lg_fsync(int fd);
int lg_rename(const char *from, const char *to);

/* -------------------------------------------------- producer state */

/*
 * Per producer id: its epoch and the sequence ranges and offsets of its last
 * LG_PRODUCER_BATCHES batches, as Kafka keeps them for deduplication.
 */
#define LG_PRODUCER_BATCHES 5
/* Producers idle this long (by their batches' timestamps) are forgotten. */
#define LG_PRODUCER_EXPIRE_MS (24LL * 3600 * 1000)

struct lg_pstate;

struct lg_pstate *lg_pstate_new(void);
void lg_pstate_free(struct lg_pstate *);

/*
 * Check a batch from 'pid' with 'epoch', 'first_seq' and 'count' records.
 * Returns 0 (append it), SL_EDUPSEQ with '*dup_base' the offset it was
 * appended at, SL_ESEQ (gap or out of order) or SL_EFENCED (epoch older than
 * the one known).  A new epoch must start at sequence 0.  An unknown
 * producer is accepted at any sequence (its batches may have been removed
 * by retention or compaction; docs/log-format.md).
 */
int lg_pstate_check(const struct lg_pstate *, int64_t pid, int16_t epoch,
    int32_t first_seq, int32_t count, int64_t *dup_base);

/* Record an appended batch (also used when rebuilding from the log). */
void lg_pstate_update(struct lg_pstate *, int64_t pid, int16_t epoch,
    int32_t first_seq, int32_t count, int64_t base_offset, int64_t last_offset,
    int64_t max_timestamp);

/* Look one producer up; SL_ENOTFOUND if unknown. */
int lg_pstate_get(const struct lg_pstate *, int64_t pid, struct lg_producer_info *out);

/*
 * Snapshots: "<dir>/<20-digit offset>.snapshot" holds the state as of that
 * offset (the log end when written).  lg_pstate_snapshot_write writes one
 * crash-safely and removes older ones; lg_pstate_snapshot_load loads the
 * newest snapshot whose offset is <= 'max_offset' into a new state, setting
 * '*offset' (0 and an empty state when none).  Rebuild past it by feeding
 * the batches from '*offset' on to lg_pstate_update.
 */
int lg_pstate_snapshot_write(const struct lg_pstate *, const char *dir,
    int64_t offset, struct sl_err *err);
int lg_pstate_snapshot_load(const char *dir, int64_t max_offset,
    struct lg_pstate **out, int64_t *offset, struct sl_err *err);

/* The number of producers held. */
size_t lg_pstate_count(const struct lg_pstate *);

/*
 * Forget producers whose last batch's max timestamp is older than
 * 'now_ms' - 'max_idle_ms' (Kafka's producer.id.expiration.ms), bounding
 * memory when producers come and go.  Returns the number removed.
 */
size_t lg_pstate_expire(struct lg_pstate *, int64_t now_ms, int64_t max_idle_ms);

/* ------------------------------------------------------------ cleaner */

/* One inactive segment handed to the cleaner. */
struct lg_clean_input {
	int64_t base_offset;		/* from the file name */
	int64_t next_offset;		/* one past its last offset */
	const char *log_path;		/* ".../<base>.log" */
};

/*
 * Finish or roll back a clean interrupted by a crash, before the partition
 * lists its segments: whatever step the crash hit, the folder afterwards
 * holds either the old segments or the cleaned ones, complete.  Called by
 * lg_partition_open().  Returns 0 or -errno.
 */
int lg_cleaner_recover(const char *dir, struct sl_err *err);

/*
 * Compact the segments 'segs' (in offset order, all inactive): keep the
 * latest record per key over them, drop tombstones whose batch max timestamp
 * is older than now_ms - delete_retention_ms, keep offsets, and replace the
 * files crash-safely (new .log, .index, .timeindex).  The caller reloads its
 * segment list afterwards.  Returns 0, SL_ECORRUPT or -errno.
 */
int lg_cleaner_run(const char *dir, const struct lg_clean_input *segs, int n,
    int64_t now_ms, int64_t delete_retention_ms, int32_t index_interval_bytes,
    int64_t *bytes_removed, struct sl_err *err);

/*
 * Tests: bound the cleaner's key map to 'bytes' (0 restores the default,
 * LG_CLEANER_MAP_BYTES); a clean whose keys do not fit covers fewer segments.
 */
#define LG_CLEANER_MAP_BYTES (256u << 20)
void lg_cleaner_set_map_limit_(size_t bytes);

/*
 * Write the .index and .timeindex of the segment file 'log_path' by scanning
 * it; shared by recovery and the cleaner.  Implemented in index.c.
 */
int lg_index_build(const char *log_path, int64_t base_offset,
    int32_t index_interval_bytes, struct sl_err *err);

/* ------------------------------------------------------------ segments */

/*
 * Owned by segment.c, index.c, partition.c, checkpoint.c and verify.c.
 *
 * INDEX ENTRY (.index), big-endian, 8 bytes each, sparse
 *   OFFSET SIZE DESCRIPTION
 *        0    4 offset relative to the segment's base offset
 *        4    4 byte position of that batch in the .log
 * TIME INDEX ENTRY (.timeindex), big-endian, 12 bytes each
 *   OFFSET SIZE DESCRIPTION
 *        0    8 largest max timestamp of the segment's batches up to here
 *        8    4 relative base offset of the batch where it was taken
 */
#define LG_INDEX_ENTRY_SIZE 8
#define LG_TIMEINDEX_ENTRY_SIZE 12
#define LG_SEGMENT_NAME_DIGITS 20
/* A batch on disk larger than this is corrupt (scanners never allocate more). */
#define LG_SCAN_MAX_BATCH (64 << 20)

struct lg_index_entry {
	int32_t rel;			/* offset - segment base */
	int32_t pos;			/* byte position in the .log */
};

struct lg_time_entry {
	int64_t ts;			/* max timestamp so far */
	int32_t rel;			/* relative base offset */
};

/*
 * The most recent batches of a segment, kept in memory so that a read at
 * the tail (a consumer that keeps up) finds its file range without reading
 * batch headers back from the .log (index.c, "Recent batches").
 * LG_RECENT_BATCHES must be a power of two.
 */
#define LG_RECENT_BATCHES 64

struct lg_recent {
	int32_t rel;			/* base offset - segment base */
	int32_t last_rel;		/* last offset - segment base */
	int32_t pos;			/* byte position in the .log */
	int32_t size;			/* bytes of the whole batch */
};

/*
 * One segment: a .log with its two indexes, held in memory.  Reference
 * counted: the partition's list holds one reference, every struct lg_range
 * another; the fd is closed when the last one goes (lg_segment_unref).
 */
struct lg_segment {
	int64_t base;			/* base offset (the file name) */
	int64_t next;			/* one past the last offset in it */
	int fd;				/* .log, O_RDWR */
	int64_t size;			/* bytes of whole batches in the .log */
	int64_t max_ts;			/* largest batch max timestamp, -1 */
	int64_t first_ts;		/* max timestamp of the first batch, -1 */
	int32_t last_rel;		/* relative base offset of the last batch */
	int64_t last_index_pos;		/* position of the last index entry (0) */
	struct lg_index_entry *idx;	/* sorted by rel and pos */
	size_t n_idx, cap_idx;
	struct lg_time_entry *tidx;	/* ts and rel non-decreasing */
	size_t n_tidx, cap_tidx;
	size_t idx_on_disk, tidx_on_disk;	/* entries already in the files */
	struct lg_recent recent[LG_RECENT_BATCHES];	/* ring, oldest at 'recent_head' */
	unsigned recent_head, recent_n;
	/*
	 * The .log's length: 'size' plus, on the active segment, zero-filled
	 * space written ahead of the appends (lg_segment_zero_ahead), so that
	 * an append overwrites allocated blocks and its fdatasync writes the
	 * data alone, not the inode's new size as well.  Sealed segments are
	 * cut back to 'size' before anything follows them.
	 */
	int64_t alloc;
	int dirty;			/* appended since the last fdatasync */
	int deleted;			/* files unlinked (retention) */
	_Atomic int refs;
	char *log_path;			/* ".../<base>.log" */
};

/* Paths of a segment's files: "<dir>/<20-digit base><ext>"; sl_malloc'd. */
char *lg_segment_path(const char *dir, int64_t base, const char *ext);
/* The index path of a log path: a trailing ".log" replaced by 'ext'. */
char *lg_segment_sibling(const char *log_path, const char *ext);
/* Parse "<20 digits>.log"; 0 and '*base', or -1 when the name is another. */
int lg_segment_parse_name(const char *name, int64_t *base);

/*
 * Zero-filled space ahead of appends, as PostgreSQL fills a WAL segment
 * before using it: on ext4 and XFS an fdatasync after an append that grows
 * the file must also write the inode (and, into fallocate()d space, convert
 * an unwritten extent), two writes where an overwrite needs one.  Measured
 * here: fdatasync of a 16 KiB overwrite 190 us and 80 us of CPU, of an
 * append 320 us and 130 us (docs/benchmarks.md).  The space grows with the
 * segment, from LG_ZERO_AHEAD_MIN to 'zero_ahead_bytes' (lg_options).
 */
#define LG_ZERO_AHEAD_MIN (64 * 1024)
/*
 * After an append that went past 's->alloc' (else nothing), write zeros
 * from 's->size' to 's->size' + the next step (never past 'limit'), and
 * update 's->alloc'.
 * Best effort: on a failed write the file is cut back to 's->size'
 * (appends go on growing it).  Under the partition's 'mu'.
 */
void lg_segment_zero_ahead(struct lg_segment *s, int64_t max_step, int64_t limit);
/* Cut the .log back to 's->size' when zero-filled space follows it; 0 or -errno. */
int lg_segment_trim(struct lg_segment *s);
/* 1 when bytes [from, to) of 'fd' are all zero, 0 when not, or -errno. */
int lg_file_is_zero(int fd, int64_t from, int64_t to);

/* Create an empty segment (files created, truncated). */
int lg_segment_create(const char *dir, int64_t base, struct lg_segment **out,
    struct sl_err *err);
/*
 * Open an existing segment 'log_path' with base 'base': load and validate
 * its indexes (rebuilding them by a header scan when missing or
 * inconsistent, setting '*rebuilt'), and find its end by scanning batch
 * headers from the last index entry.  A header that fails there is
 * SL_ECORRUPT naming the file and position, unless 'tolerant', in which
 * case '*torn_pos' gets its position and the segment ends before it.
 */
int lg_segment_open(const char *log_path, int64_t base, int32_t interval,
    int tolerant, int *rebuilt, int64_t *torn_pos, struct lg_segment **out,
    struct sl_err *err);
void lg_segment_ref(struct lg_segment *);
void lg_segment_unref(struct lg_segment *);	/* NULL does nothing */

/*
 * Scan batches of 's' from its current end ('size', 'next') up to 'fsize'
 * bytes, recording each in the indexes, stopping before a batch whose last
 * offset reaches 'limit' (-1: no limit).  With 'crc' every CRC is checked.
 * Returns what lg_segment_scan returns; 's->size' is the end of the last
 * good batch either way.
 */
int lg_segment_replay(struct lg_segment *s, int32_t interval, int64_t limit,
    int crc, int64_t fsize, int64_t *bytes, struct sl_err *err);
/*
 * Load and validate the index files of 's' against a .log of 'fsize'
 * bytes.  Returns 0 with the state cut back to the last index entry (ready
 * for lg_segment_replay), or -1 when they are missing or inconsistent.
 */
int lg_segment_index_load(struct lg_segment *s, int64_t fsize);
/* Record a batch at 'pos' in the in-memory indexes ('interval' sparse). */
void lg_segment_index_batch(struct lg_segment *, int64_t pos, size_t size,
    int64_t base_offset, int64_t last_offset, int64_t max_ts,
    int32_t interval);
/* Add the final time index entry (segment max timestamp) at roll/close. */
void lg_segment_index_seal(struct lg_segment *);
/*
 * Drop index entries at positions > 'pos' and forget every batch from the
 * last entry kept on ('size' becomes its position, 0 when none), so that
 * lg_segment_replay can scan again from there.
 */
void lg_segment_index_cut(struct lg_segment *, int64_t pos);
/*
 * Write index entries not yet on disk (or rewrite the files entirely when
 * 'rewrite'), then fsync them if 'sync'.  Returns 0 or -errno.
 */
int lg_segment_index_flush(struct lg_segment *, int rewrite, int sync);
/* Byte position of the last index entry at or below 'offset' (0 if none). */
int64_t lg_segment_index_lookup(const struct lg_segment *, int64_t offset);

/*
 * The 'k'th entry (0 = oldest) of the recent-batch ring of 's'; 'k' must be
 * below s->recent_n.  Valid until the next append, cut or replay of 's'.
 */
static inline const struct lg_recent *
lg_segment_recent_at(const struct lg_segment *s, unsigned k)
{
	return &s->recent[(s->recent_head + k) & (LG_RECENT_BATCHES - 1)];
}
/*
 * Where the recent-batch ring of 's' can answer a read at 'offset': the
 * ring position of the first batch whose last offset is >= 'offset'
 * (s->recent_n when 'offset' is past them all), or -1 when the ring cannot
 * tell (empty, or 'offset' may lie in a batch before its oldest entry).
 */
int lg_segment_recent_find(const struct lg_segment *s, int64_t offset);

/* Decode the fixed header fields without the CRC (61 bytes at 'p'). */
void lg_batch_header_peek(const uint8_t *p, struct lg_batch_info *out);

/*
 * Scan the batches of 'fd' from 'pos' up to 'size' bytes, each checked for
 * size (at least a header, within the file), magic, a base offset not below
 * the previous one's end, and the CRC when 'crc'.  'fn' (may be NULL) is
 * called per good batch.  '*end_pos' gets the position after the last good
 * batch; returns 0 when the scan reached 'size', SL_ETRUNC or SL_ECORRUPT
 * (with 'err' naming 'name' and the position) at the first bad batch, or
 * -errno.  '*bytes' (may be NULL) adds the bytes read.
 */
typedef int (*lg_scan_fn)(const struct lg_batch_info *b, int64_t pos, void *arg);
int lg_segment_scan(int fd, const char *name, int64_t pos, int64_t size,
    int64_t min_offset, int crc, lg_scan_fn fn, void *arg, int64_t *end_pos,
    int64_t *bytes, struct sl_err *err);

/*
 * Checkpoint files of a partition folder (checkpoint.c), each written
 * crash-safely through the fault wrappers (tmp, fsync, rename, dir fsync).
 */
#define LG_RECOVERY_FILE "recovery-point"
#define LG_LOG_START_FILE "log-start-offset"
#define LG_CLEAN_FILE "clean-shutdown"
int lg_checkpoint_write(const char *dir, const char *name, int64_t value,
    struct sl_err *err);
/* 0 and '*value'; SL_ENOTFOUND when absent; SL_ECORRUPT when bad. */
int lg_checkpoint_read(const char *dir, const char *name, int64_t *value,
    struct sl_err *err);
int lg_write_atomic(const char *path, const void *p, size_t len);
/* fsync the folder 'dir' through the fault wrappers; 0 or -errno. */
int lg_dir_fsync(const char *dir);

/* Milliseconds between recovery-point checkpoints written by sync (1000). */
#define LG_RECOVERY_INTERVAL_MS 1000
/* Tests: 0 writes the checkpoint at every lg_partition_sync. */
void lg_partition_set_checkpoint_interval_(struct lg_partition *, int64_t ms);
/* Tests: bytes CRC-scanned by recovery at the last open. */
int64_t lg_partition_rescanned_bytes_(const struct lg_partition *);
/* Tests: the recovery point as last checkpointed. */
int64_t lg_partition_recovery_point_(const struct lg_partition *);
/* Tests: free without syncing or writing anything, like a crash. */
void lg_partition_crash_(struct lg_partition *);
/*
 * Tests: with 'on' 0, lg_partition_read ignores the recent-batch rings and
 * always scans from the index (the slow path the rings must agree with).
 * '*hits' and '*scans' (may be NULL) count the reads answered each way.
 */
void lg_partition_set_read_cache_(struct lg_partition *, int on);
void lg_partition_read_stats_(const struct lg_partition *, int64_t *hits,
    int64_t *scans);

#endif /* LG_INT_H */
