/*
 * log/lg.h: the public API of the log module.
 *
 * A partition is a folder of segments holding Kafka RecordBatch v2 batches
 * exactly as validated from the wire, with a sparse offset index and a time
 * index per segment (docs/log-format.md).  This module knows nothing about
 * networking or topics: the broker maps topics to partition folders.
 *
 * Threading: a struct lg_partition is used by one thread at a time, with two
 * exceptions: lg_partition_compact() may run on a background thread while
 * the owner appends, reads and syncs (it takes the partition's lock only to
 * swap segments), and lg_partition_sync() may run on a committer thread
 * while the owner appends (it does not hold the lock while the disk
 * flushes), which is how group commit overlaps appends with fdatasync.
 */
#ifndef LG_H
#define LG_H

#include <stdint.h>
#include <sys/types.h>

#include "common/sl.h"

/* ------------------------------------------------------------- batches */

/*
 * RECORD BATCH (v2), big-endian
 *   OFFSET SIZE DESCRIPTION
 *        0    8 base offset
 *        8    4 batch length: bytes after this field (total = 12 + length)
 *       12    4 partition leader epoch
 *       16    1 magic = 2
 *       17    4 crc32c of bytes 21..end
 *       21    2 attributes: bits 0-2 codec, 3 log-append time, 4 txn, 5 control
 *       23    4 last offset delta
 *       27    8 first timestamp
 *       35    8 max timestamp
 *       43    8 producer id (-1 if none)
 *       51    2 producer epoch
 *       53    4 base sequence
 *       57    4 records count
 *       61    - records, compressed as a whole when codec != 0
 */
#define LG_BATCH_HEADER_SIZE 61
#define LG_BATCH_LOG_OVERHEAD 12	/* base offset + batch length */
#define LG_BATCH_CRC_START 21

enum lg_codec {
	LG_CODEC_NONE = 0,
	LG_CODEC_GZIP = 1,
	LG_CODEC_SNAPPY = 2,
	LG_CODEC_LZ4 = 3,
	LG_CODEC_ZSTD = 4
};

#define LG_ATTR_CODEC_MASK 0x07
#define LG_ATTR_LOG_APPEND_TIME 0x08
#define LG_ATTR_TRANSACTIONAL 0x10
#define LG_ATTR_CONTROL 0x20

/* A decoded batch header. */
struct lg_batch_info {
	int64_t base_offset;
	int32_t length;			/* batch length field */
	int32_t leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t first_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t records_count;
};

static inline int64_t
lg_batch_last_offset(const struct lg_batch_info *b)
{
	return b->base_offset + b->last_offset_delta;
}

static inline size_t
lg_batch_size(const struct lg_batch_info *b)
{
	return (size_t)b->length + LG_BATCH_LOG_OVERHEAD;
}

/*
 * Decode and check the header of the batch at the start of 'buf' (which may
 * hold more bytes after it): length within 'buf' and at least the header,
 * magic 2, CRC32C.  Does not look at records.  Returns 0, SL_ETRUNC when
 * 'buf' ends before the batch does, or SL_ECORRUPT with a message.
 */
int lg_batch_header(struct sl_slice buf, struct lg_batch_info *out,
    struct sl_err *err);

/*
 * Fully validate one batch that exactly fills 'batch': the header checks of
 * lg_batch_header, a known codec, records that decode (decompressing them)
 * with a count equal to records_count, offset deltas 0..n-1 in order with the
 * last equal to last_offset_delta, no record timestamp after max_timestamp
 * (unless log-append time), and a base sequence when there is a producer
 * id.  'max_bytes' limits the decompressed size (0: 64 MiB).
 * Returns 0, SL_ECORRUPT, SL_EUNSUPPORTED (unknown codec) or SL_ETOOBIG.
 */
int lg_batch_validate(struct sl_slice batch, size_t max_bytes,
    struct lg_batch_info *out, struct sl_err *err);

struct lg_header {
	struct sl_slice key;
	struct sl_slice value;
	int value_null;
};

/* One record of a batch.  Slices borrow from the batch or the arena. */
struct lg_record {
	int64_t offset;			/* base offset + offset delta */
	int64_t timestamp;		/* first timestamp + timestamp delta */
	int8_t attributes;
	struct sl_slice key;
	int key_null;
	struct sl_slice value;
	int value_null;
	struct lg_header *headers;
	int32_t n_headers;
};

/*
 * Decode every record of 'batch' (validated or not) into '*recs' (count in
 * '*n'), decompressing as needed.  All memory, the record array included,
 * comes from 'arena' and stays valid until it is reset; slices may also
 * borrow from 'batch'.  Returns 0, SL_ECORRUPT, SL_EUNSUPPORTED or
 * SL_ETOOBIG (decompressed size past 'max_bytes', 0 meaning 64 MiB).
 */
int lg_batch_records(struct sl_slice batch, size_t max_bytes,
    struct sl_arena *arena, struct lg_record **recs, int32_t *n,
    struct sl_err *err);

/*
 * Build a batch of records, compressing with 'codec'.  Used by tests, the
 * cleaner, the broker's internal topics and benchmarks.
 */
struct lg_batch_builder {
	enum lg_codec codec;
	int64_t base_offset;
	int64_t first_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;		/* -1 */
	int16_t producer_epoch;		/* -1 */
	int32_t base_sequence;		/* -1 */
	int16_t extra_attributes;	/* e.g. LG_ATTR_LOG_APPEND_TIME */
	int32_t count;
	int64_t last_delta;		/* offset delta of the last record */
	struct sl_buf records;		/* uncompressed records */
};

void lg_batch_builder_init(struct lg_batch_builder *, enum lg_codec codec,
    int64_t base_offset);
/*
 * Add a record at 'offset_delta' (must increase; records dropped by the
 * cleaner leave gaps).  NULL 'key' or 'value' pointers mean null.
 * 'headers' may be NULL when 'n_headers' is 0.
 */
void lg_batch_builder_add(struct lg_batch_builder *, int64_t offset_delta,
    int64_t timestamp, const void *key, size_t key_len, const void *value,
    size_t value_len, const struct lg_header *headers, int32_t n_headers);
/*
 * Append the finished batch to 'out'.  'last_offset_delta' < 0 means the last
 * record's delta.  Returns 0 or SL_EUNSUPPORTED when the codec is unknown.
 */
int lg_batch_builder_finish(struct lg_batch_builder *, int32_t last_offset_delta,
    struct sl_buf *out);
void lg_batch_builder_free(struct lg_batch_builder *);

/* Compress or decompress a whole buffer with 'codec' (the Kafka framings). */
int lg_compress(enum lg_codec codec, struct sl_slice in, struct sl_buf *out,
    struct sl_err *err);
int lg_decompress(enum lg_codec codec, struct sl_slice in, size_t max_bytes,
    struct sl_buf *out, struct sl_err *err);
const char *lg_codec_name(int codec);

/* ----------------------------------------------------------- partitions */

struct lg_partition;

struct lg_options {
	int64_t segment_bytes;		/* roll past this size (1 GiB) */
	int64_t segment_ms;		/* roll a segment this old (7 days) */
	int32_t index_interval_bytes;	/* bytes between index entries (4096) */
	int64_t retention_ms;		/* -1: keep forever (7 days) */
	int64_t retention_bytes;	/* -1: no size limit (-1) */
	int compact;			/* cleanup.policy=compact */
	int64_t delete_retention_ms;	/* tombstones kept this long (1 day) */
	int64_t max_message_bytes;	/* largest batch accepted (1 MiB + 12) */
	int log_append_time;		/* message.timestamp.type=LogAppendTime */
	int64_t min_cleanable_dirty_ratio_pct;	/* compact when dirty >= (50) */
	int64_t zero_ahead_bytes;	/* most zero-filled space written ahead of
					   the active segment's appends, 0: none
					   (1 MiB; lg_int.h LG_ZERO_AHEAD_MIN) */
};

/* Fill 'o' with the defaults above. */
void lg_options_default(struct lg_options *o);

/*
 * Open or create the partition folder 'dir' (created if missing).  After an
 * unclean stop, segments past the recovery point are rescanned, the log is
 * cut at the first torn or corrupt batch and indexes are rebuilt; missing or
 * inconsistent indexes are rebuilt always.  Returns 0, -errno or
 * SL_ECORRUPT (a checkpoint cannot be read).  'opts' is copied.
 */
int lg_partition_open(const char *dir, const struct lg_options *opts,
    struct lg_partition **out, struct sl_err *err);

/*
 * Sync, write checkpoints and the clean-shutdown marker, free.  Returns 0 or
 * -errno (the partition is freed either way).  NULL does nothing.
 */
int lg_partition_close(struct lg_partition *p);

/* Replace options (topic config change); takes effect at the next append. */
void lg_partition_set_options(struct lg_partition *p, const struct lg_options *opts);

/*
 * Append one batch of 'len' bytes at 'batch', which the caller has checked
 * with lg_batch_validate().  The base offset field is rewritten in place to
 * the partition's end (the CRC does not cover it), so 'batch' must be
 * writable; with log-append time the max timestamp and attributes are
 * rewritten too and the CRC recomputed.  On return '*base' is the first
 * offset assigned.  Idempotent batches (producer id >= 0) are checked against
 * the producer state: SL_EDUPSEQ (nothing appended, '*base' is the original
 * offset), SL_ESEQ, SL_EFENCED.  Other returns: 0, SL_ETOOBIG, -errno (the
 * partition's end is unchanged: a short write is truncated away).  Durable
 * only after lg_partition_sync().
 */
int lg_partition_append(struct lg_partition *p, uint8_t *batch, size_t len,
    int64_t *base, struct sl_err *err);

/*
 * Make every appended batch durable with one fdatasync per dirty segment
 * (group commit: call it once for many appends).  Advances the recovery
 * point.  Returns 0 or -errno; after a failure the partition refuses appends
 * (-EIO) until reopened, since the page cache state is unknown.
 */
int lg_partition_sync(struct lg_partition *p, struct sl_err *err);

/* A byte range of a segment file, for sendfile or pread. */
struct lg_range {
	int fd;				/* borrowed; valid until lg_range_release */
	off_t pos;			/* first byte */
	size_t len;			/* bytes: whole batches */
	int64_t first_offset;		/* base offset of the first batch */
	struct lg_segment *seg;		/* the reference held */
};

/*
 * Find the batches holding 'offset' and after, up to 'max_bytes' (at least
 * one whole batch is returned even if larger, as Kafka does), not past
 * 'limit' (an offset such as the synced end; -1: the log end), within one
 * segment.  Returns 0 with out->len == 0 at the end of the log, SL_ERANGE
 * when 'offset' is below the log start or past the end.  The range holds a
 * segment reference: call lg_range_release().
 */
int lg_partition_read(struct lg_partition *p, int64_t offset, size_t max_bytes,
    int64_t limit, struct lg_range *out, struct sl_err *err);
void lg_range_release(struct lg_range *r);

/*
 * The first record (not below the log start) whose timestamp is >= 'ts':
 * its offset in '*offset' and timestamp in '*timestamp' (in a log-append-time
 * batch every record has the batch's max timestamp).  The batch is found
 * from its max timestamp through the time index, then read and decoded.
 * Returns 0, SL_ENOTFOUND if there is none, SL_ECORRUPT or -errno.
 */
int lg_partition_offset_for_time(struct lg_partition *p, int64_t ts,
    int64_t *offset, int64_t *timestamp, struct sl_err *err);

int64_t lg_partition_start(const struct lg_partition *p);	/* log start offset */
int64_t lg_partition_end(const struct lg_partition *p);		/* next offset */
int64_t lg_partition_synced_end(const struct lg_partition *p);	/* durable end */
int64_t lg_partition_size(const struct lg_partition *p);	/* bytes in .log files */
int lg_partition_segment_count(const struct lg_partition *p);

/*
 * Delete whole segments, oldest first, that are past retention_ms (by their
 * largest timestamp) or that take the size over retention_bytes; never the
 * active segment.  Advances and checkpoints the log start offset.  '*deleted'
 * gets the number of segments removed.  Returns 0 or -errno.
 */
int lg_partition_retain(struct lg_partition *p, int64_t now_ms, int *deleted,
    struct sl_err *err);

/*
 * Raise the log start offset to 'offset' (DeleteRecords); segments wholly
 * below it are deleted.  Returns 0, SL_ERANGE or -errno.
 */
int lg_partition_truncate_front(struct lg_partition *p, int64_t offset,
    struct sl_err *err);

/*
 * Compact every inactive segment: keep the latest record per key, drop
 * tombstones older than delete_retention_ms, preserve offsets and order, and
 * swap cleaned segments in crash-safely.  '*cleaned' (may be NULL) gets the
 * bytes removed.  Returns 0 or -errno / SL_ECORRUPT.
 */
int lg_partition_compact(struct lg_partition *p, int64_t now_ms,
    int64_t *cleaned, struct sl_err *err);

/* ------------------------------------------------------- producer state */

struct lg_producer_info {
	int64_t producer_id;
	int16_t epoch;
	int32_t last_sequence;		/* of the last batch appended */
	int64_t last_offset;
};

/* The state of 'producer_id' in 'p', or SL_ENOTFOUND. */
int lg_partition_producer(struct lg_partition *p, int64_t producer_id,
    struct lg_producer_info *out);

/* -------------------------------------------------------------- checking */

/*
 * Check every CRC and index entry of every partition folder under
 * 'data_dir' (or of 'data_dir' itself if it is a partition folder).
 * Returns 0, or SL_ECORRUPT with 'err' naming the first bad file and byte
 * position.  'progress' may be NULL.
 */
int lg_verify(const char *data_dir, void (*progress)(const char *file, void *arg),
    void *arg, struct sl_err *err);

/* Invariant checker for tests: aborts with a message when one is broken. */
void lg_partition_check_(struct lg_partition *p);

#endif /* LG_H */
