/*
 * log/batch.c: RecordBatch v2 — decoding and checking a batch's header,
 * validating a produced batch strictly, decoding its records, and building
 * batches.  Compression itself lives in log/codec.c; segments, indexes and
 * offsets assignment live elsewhere in log/.
 *
 * The header table is in log/lg.h.  Inside the records section (bytes 61 to
 * the end, compressed as a whole when the codec is not none), each record is
 *
 * RECORD (v2); every "varint" is a zigzag varint
 *   SIZE    DESCRIPTION
 *   varint  length: bytes of the record after this field
 *   1       attributes (unused, 0)
 *   varint  timestamp delta from the batch's first timestamp
 *   varint  offset delta from the batch's base offset (fits an int32)
 *   varint  key length, -1 for a null key
 *   -       key
 *   varint  value length, -1 for a null value
 *   -       value
 *   varint  header count
 *   per header:
 *     varint  key length (never negative)
 *     -       key
 *     varint  value length, -1 for a null value
 *     -       value
 *
 * INVARIANTS
 *  (1) No length read from a batch is used before it is compared with the
 *      bytes that remain in the batch, the record or the decompressed
 *      section it belongs to; no count is used to size an allocation before
 *      it is compared with the smallest space its elements can take.
 *  (2) Offset deltas strictly increase and are never negative; a produced
 *      batch (lg_batch_validate) has exactly 0..n-1, while a batch written
 *      by the cleaner may have gaps (lg_batch_records accepts them).
 *  (3) Arithmetic on offsets and timestamps from a batch is done unsigned,
 *      so a hostile delta cannot overflow a signed integer.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "log/lg.h"

#define BATCH_DEFAULT_MAX ((size_t)64 << 20)
#define BATCH_LENGTH_MIN (LG_BATCH_HEADER_SIZE - LG_BATCH_LOG_OVERHEAD)
#define RECORD_MIN_SIZE 7	/* length, attributes, 2 deltas, key, value, headers */
#define HEADER_MIN_SIZE 2	/* key length 0, value length */

/* Offsets of the header fields (log/lg.h). */
#define OFF_BASE_OFFSET 0
#define OFF_LENGTH 8
#define OFF_LEADER_EPOCH 12
#define OFF_MAGIC 16
#define OFF_CRC 17
#define OFF_ATTRIBUTES 21
#define OFF_LAST_DELTA 23
#define OFF_FIRST_TS 27
#define OFF_MAX_TS 35
#define OFF_PRODUCER_ID 43
#define OFF_PRODUCER_EPOCH 51
#define OFF_BASE_SEQUENCE 53
#define OFF_RECORDS_COUNT 57

#define BATCH_CORRUPT(err, off, fmt, ...) \
	SL_CORRUPT((err), "batch at offset %lld: " fmt, (long long)(off), __VA_ARGS__)

static int64_t
add_wrap(int64_t a, int64_t b)	/* (3) */
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* ---------------------------------------------------------------- header */

/*
 * Decode the header of the batch at the start of 'buf' and check its
 * length, magic and CRC32C.  '*out' is filled as soon as the length is known
 * to be inside 'buf', so a caller can print a batch whose magic or CRC is
 * bad.  Returns 0; SL_ETRUNC when 'buf' is shorter than the header or than
 * the length field says (a torn write at a segment's end); SL_ECORRUPT for
 * a length below the header size, a magic other than 2 or a CRC mismatch.
 * Messages name the byte position within the batch.
 */
int
lg_batch_header(struct sl_slice buf, struct lg_batch_info *out,
    struct sl_err *err)
{
	const uint8_t *p = buf.p;
	uint32_t crc;
	int64_t base;

	if (buf.len < LG_BATCH_HEADER_SIZE) {
		if (buf.len >= 8)
			return sl_errf(err, SL_ETRUNC, "batch at offset %lld: "
			    "only %zu bytes, shorter than the %d-byte batch header",
			    (long long)(int64_t)sl_get_be64(p), buf.len,
			    LG_BATCH_HEADER_SIZE);
		return sl_errf(err, SL_ETRUNC, "batch: only %zu bytes, shorter "
		    "than the %d-byte batch header", buf.len, LG_BATCH_HEADER_SIZE);
	}
	base = (int64_t)sl_get_be64(p + OFF_BASE_OFFSET);
	memset(out, 0, sizeof(*out));
	out->base_offset = base;
	out->length = (int32_t)sl_get_be32(p + OFF_LENGTH);
	if (out->length < BATCH_LENGTH_MIN)
		return BATCH_CORRUPT(err, base, "length %d at byte %d is too small "
		    "(a batch needs at least %d bytes after the length field)",
		    (int)out->length, OFF_LENGTH, BATCH_LENGTH_MIN);
	if ((size_t)out->length > buf.len - LG_BATCH_LOG_OVERHEAD)
		return sl_errf(err, SL_ETRUNC, "batch at offset %lld: length %d "
		    "at byte %d runs past the end of the buffer (%zu bytes, "
		    "batch needs %zu)", (long long)base, (int)out->length,
		    OFF_LENGTH, buf.len,
		    (size_t)out->length + LG_BATCH_LOG_OVERHEAD);
	out->leader_epoch = (int32_t)sl_get_be32(p + OFF_LEADER_EPOCH);
	out->magic = (int8_t)p[OFF_MAGIC];
	out->crc = sl_get_be32(p + OFF_CRC);
	out->attributes = (int16_t)sl_get_be16(p + OFF_ATTRIBUTES);
	out->last_offset_delta = (int32_t)sl_get_be32(p + OFF_LAST_DELTA);
	out->first_timestamp = (int64_t)sl_get_be64(p + OFF_FIRST_TS);
	out->max_timestamp = (int64_t)sl_get_be64(p + OFF_MAX_TS);
	out->producer_id = (int64_t)sl_get_be64(p + OFF_PRODUCER_ID);
	out->producer_epoch = (int16_t)sl_get_be16(p + OFF_PRODUCER_EPOCH);
	out->base_sequence = (int32_t)sl_get_be32(p + OFF_BASE_SEQUENCE);
	out->records_count = (int32_t)sl_get_be32(p + OFF_RECORDS_COUNT);
	if (out->magic != 2)
		return BATCH_CORRUPT(err, base, "magic %d at byte %d, expected 2",
		    (int)out->magic, OFF_MAGIC);
	crc = sl_crc32c(0, p + LG_BATCH_CRC_START,
	    lg_batch_size(out) - LG_BATCH_CRC_START);
	if (crc != out->crc)
		return BATCH_CORRUPT(err, base, "crc mismatch at byte %d: stored "
		    "0x%08x, computed 0x%08x over bytes %d..%zu", OFF_CRC,
		    (unsigned)out->crc, (unsigned)crc, LG_BATCH_CRC_START,
		    lg_batch_size(out) - 1);
	return 0;
}

/* Header, turning a short buffer into corruption: the batch must be whole. */
static int
batch_header_whole(struct sl_slice batch, struct lg_batch_info *info,
    struct sl_err *err)
{
	int rc = lg_batch_header(batch, info, err);

	if (rc == SL_ETRUNC) {
		rc = SL_ECORRUPT;
		if (err != NULL)
			err->code = SL_ECORRUPT;
	}
	return rc;
}

/* --------------------------------------------------------------- records */

/* What a pass over the records section needs. */
struct batch_dec {
	const struct lg_batch_info *info;
	const uint8_t *p;		/* the records section, uncompressed */
	size_t len;			/* its bytes */
	size_t base;			/* batch byte of p[0]; 0 if decompressed */
	const char *unit;		/* "byte" or "decompressed byte" */
	int strict;			/* lg_batch_validate's checks (2) */
	struct sl_arena *arena;		/* NULL: check only, store nothing */
	struct lg_record *recs;		/* 'records_count' entries, or NULL */
};

/*
 * Read a zigzag varint at '*pos' below 'end'.  Returns 0, or SL_ECORRUPT
 * naming 'what', record 'i' and the position.
 */
static int
dec_varint(const struct batch_dec *d, size_t *pos, size_t end, int32_t i,
    const char *what, int64_t *v, struct sl_err *err)
{
	int n = sl_varint_get(d->p + *pos, end - *pos, v);

	if (n == 0)
		return BATCH_CORRUPT(err, d->info->base_offset, "record %d: %s "
		    "varint at %s %zu runs past the end of the record", (int)i,
		    what, d->unit, d->base + *pos);
	if (n < 0)
		return BATCH_CORRUPT(err, d->info->base_offset, "record %d: %s "
		    "varint at %s %zu is malformed", (int)i, what, d->unit,
		    d->base + *pos);
	*pos += (size_t)n;
	return 0;
}

/*
 * Read a length-prefixed byte string at '*pos' below 'end' into '*s' and
 * '*is_null'.  'nullable' says whether -1 (null) is allowed.
 */
static int
dec_bytes(const struct batch_dec *d, size_t *pos, size_t end, int32_t i,
    const char *what, int nullable, struct sl_slice *s, int *is_null,
    struct sl_err *err)
{
	size_t at = *pos;
	int64_t n;
	int rc;

	rc = dec_varint(d, pos, end, i, what, &n, err);
	if (rc != 0)
		return rc;
	if (n == -1 && nullable) {
		*s = sl_slice_make(NULL, 0);
		*is_null = 1;
		return 0;
	}
	if (n < 0)
		return BATCH_CORRUPT(err, d->info->base_offset, "record %d: "
		    "negative %s %lld at %s %zu", (int)i, what, (long long)n,
		    d->unit, d->base + at);
	if ((uint64_t)n > end - *pos)	/* (1) */
		return BATCH_CORRUPT(err, d->info->base_offset, "record %d: "
		    "%s %lld at %s %zu runs past the end of the record "
		    "(%zu bytes left)", (int)i, what, (long long)n, d->unit,
		    d->base + at, end - *pos);
	*s = sl_slice_make(d->p + *pos, (size_t)n);
	*is_null = 0;
	*pos += (size_t)n;
	return 0;
}

/* Decode the headers of record 'i' at '*pos' below 'end'. */
static int
dec_headers(const struct batch_dec *d, size_t *pos, size_t end, int32_t i,
    struct lg_record *r, struct sl_err *err)
{
	struct lg_header h, *hs = NULL;
	size_t at = *pos;
	int64_t count, k;
	int key_null, rc;

	rc = dec_varint(d, pos, end, i, "header count", &count, err);
	if (rc != 0)
		return rc;
	if (count < 0)
		return BATCH_CORRUPT(err, d->info->base_offset, "record %d: "
		    "header count %lld at %s %zu is negative", (int)i,
		    (long long)count, d->unit, d->base + at);
	if ((uint64_t)count > (end - *pos) / HEADER_MIN_SIZE)	/* (1) */
		return BATCH_CORRUPT(err, d->info->base_offset, "record %d: "
		    "header count %lld at %s %zu cannot fit in the %zu bytes "
		    "left in the record", (int)i, (long long)count, d->unit,
		    d->base + at, end - *pos);
	if (r != NULL && count > 0)
		hs = sl_arena_alloc(d->arena, (size_t)count * sizeof(*hs));
	for (k = 0; k < count; k++) {
		rc = dec_bytes(d, pos, end, i, "header key length", 0, &h.key,
		    &key_null, err);
		if (rc == 0)
			rc = dec_bytes(d, pos, end, i, "header value length", 1,
			    &h.value, &h.value_null, err);
		if (rc != 0)
			return rc;
		if (hs != NULL)
			hs[k] = h;
	}
	if (r != NULL) {
		r->headers = hs;
		r->n_headers = (int32_t)count;
	}
	return 0;
}

/*
 * Decode record 'i' starting at '*pos', leaving '*pos' after it.  'prev' is
 * the previous record's offset delta (-1 before the first).
 */
static int
dec_record(const struct batch_dec *d, size_t *pos, int32_t i, int64_t *prev,
    struct sl_err *err)
{
	const struct lg_batch_info *b = d->info;
	struct lg_record rec, *r = d->recs ? &rec : NULL;
	struct sl_slice key, value;
	size_t start = *pos, end, at;
	int64_t len, ts_delta, off_delta, ts;
	int key_null, value_null, rc;

	rc = dec_varint(d, pos, d->len, i, "length", &len, err);
	if (rc != 0)
		return rc;
	if (len < 0 || (uint64_t)len > d->len - *pos)	/* (1) */
		return BATCH_CORRUPT(err, b->base_offset, "record %d: length %lld "
		    "at %s %zu runs past the end of the records (%zu bytes left)",
		    (int)i, (long long)len, d->unit, d->base + start,
		    d->len - *pos);
	end = *pos + (size_t)len;
	if (*pos == end)
		return BATCH_CORRUPT(err, b->base_offset, "record %d: empty "
		    "record at %s %zu", (int)i, d->unit, d->base + start);
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		r->attributes = (int8_t)d->p[*pos];
	}
	(*pos)++;
	at = *pos;
	rc = dec_varint(d, pos, end, i, "timestamp delta", &ts_delta, err);
	if (rc != 0)
		return rc;
	ts = add_wrap(b->first_timestamp, ts_delta);	/* (3) */
	/*
	 * Only the upper bound holds in general: the first timestamp is the
	 * first record's, and a producer that sets explicit timestamps may
	 * give later records earlier ones (negative deltas), which Kafka
	 * accepts.
	 */
	if (d->strict && !(b->attributes & LG_ATTR_LOG_APPEND_TIME) &&
	    ts > b->max_timestamp)
		return BATCH_CORRUPT(err, b->base_offset, "record %d: timestamp "
		    "%lld at %s %zu is after the batch's max_timestamp %lld",
		    (int)i, (long long)ts, d->unit, d->base + at,
		    (long long)b->max_timestamp);
	at = *pos;
	rc = dec_varint(d, pos, end, i, "offset delta", &off_delta, err);
	if (rc != 0)
		return rc;
	if (d->strict && off_delta != i)	/* (2) */
		return BATCH_CORRUPT(err, b->base_offset, "record %d: offset "
		    "delta %lld at %s %zu, expected %d (a produced batch numbers "
		    "its records 0..n-1)", (int)i, (long long)off_delta, d->unit,
		    d->base + at, (int)i);
	if (off_delta <= *prev || off_delta > INT32_MAX)	/* (2) */
		return BATCH_CORRUPT(err, b->base_offset, "record %d: offset "
		    "delta %lld at %s %zu does not follow the previous delta %lld",
		    (int)i, (long long)off_delta, d->unit, d->base + at,
		    (long long)*prev);
	*prev = off_delta;
	rc = dec_bytes(d, pos, end, i, "key length", 1, &key, &key_null, err);
	if (rc == 0)
		rc = dec_bytes(d, pos, end, i, "value length", 1, &value,
		    &value_null, err);
	if (rc == 0)
		rc = dec_headers(d, pos, end, i, r, err);
	if (rc != 0)
		return rc;
	if (*pos != end)
		return BATCH_CORRUPT(err, b->base_offset, "record %d: %zu bytes "
		    "left over inside its length at %s %zu", (int)i, end - *pos,
		    d->unit, d->base + *pos);
	if (r != NULL) {
		r->offset = add_wrap(b->base_offset, off_delta);	/* (3) */
		r->timestamp = ts;
		r->key = key;
		r->key_null = key_null;
		r->value = value;
		r->value_null = value_null;
		d->recs[i] = *r;
	}
	return 0;
}

/* Walk every record of the section: count, sizes, deltas. */
static int
dec_records(struct batch_dec *d, struct sl_err *err)
{
	const struct lg_batch_info *b = d->info;
	int64_t prev = -1;
	size_t pos = 0;
	int32_t i;
	int rc;

	if ((uint64_t)b->records_count > d->len / RECORD_MIN_SIZE)	/* (1) */
		return BATCH_CORRUPT(err, b->base_offset, "records count %d at "
		    "byte %d cannot fit in %zu bytes of records", (int)b->records_count,
		    OFF_RECORDS_COUNT, d->len);
	if (d->arena != NULL && b->records_count > 0)
		d->recs = sl_arena_alloc(d->arena,
		    (size_t)b->records_count * sizeof(*d->recs));
	for (i = 0; i < b->records_count; i++) {
		if (pos == d->len)
			return BATCH_CORRUPT(err, b->base_offset, "records count "
			    "%d at byte %d, but the records end after %d at %s %zu",
			    (int)b->records_count, OFF_RECORDS_COUNT, (int)i,
			    d->unit, d->base + pos);
		rc = dec_record(d, &pos, i, &prev, err);
		if (rc != 0)
			return rc;
	}
	if (pos != d->len)
		return BATCH_CORRUPT(err, b->base_offset, "%zu trailing bytes "
		    "after the last of %d records at %s %zu", d->len - pos,
		    (int)b->records_count, d->unit, d->base + pos);
	if (d->strict && b->records_count > 0 &&
	    b->last_offset_delta != b->records_count - 1)
		return BATCH_CORRUPT(err, b->base_offset, "last offset delta %d "
		    "at byte %d, but the last of %d records has delta %d",
		    (int)b->last_offset_delta, OFF_LAST_DELTA,
		    (int)b->records_count, (int)b->records_count - 1);
	return 0;
}

/*
 * Check what the header says about the records before decoding them:
 * a known codec, a count that is not negative.  Strict (a produced batch)
 * also wants at least one record and a sequence when there is a producer.
 */
static int
batch_check_fields(const struct lg_batch_info *b, int strict,
    struct sl_err *err)
{
	int codec = b->attributes & LG_ATTR_CODEC_MASK;

	if (codec > LG_CODEC_ZSTD)
		return sl_errf(err, SL_EUNSUPPORTED, "batch at offset %lld: "
		    "unknown compression codec %d in attributes 0x%04x at byte %d",
		    (long long)b->base_offset, codec, (unsigned)(uint16_t)b->attributes,
		    OFF_ATTRIBUTES);
	if (b->records_count < 0)
		return BATCH_CORRUPT(err, b->base_offset, "records count %d at "
		    "byte %d is negative", (int)b->records_count, OFF_RECORDS_COUNT);
	if (strict && b->records_count == 0)
		return BATCH_CORRUPT(err, b->base_offset, "records count 0 at "
		    "byte %d: a produced batch holds at least one record",
		    OFF_RECORDS_COUNT);
	if (strict && b->producer_id >= 0 && b->base_sequence < 0)
		return BATCH_CORRUPT(err, b->base_offset, "producer id %lld with "
		    "base sequence %d at byte %d", (long long)b->producer_id,
		    (int)b->base_sequence, OFF_BASE_SEQUENCE);
	return 0;
}

/*
 * Set 'd' over the records section of 'batch', decompressing into 'tmp'
 * when the codec asks for it.
 */
static int
batch_section(struct sl_slice batch, const struct lg_batch_info *b,
    size_t max_bytes, struct sl_buf *tmp, struct batch_dec *d,
    struct sl_err *err)
{
	struct sl_slice sec = sl_slice_make(batch.p + LG_BATCH_HEADER_SIZE,
	    lg_batch_size(b) - LG_BATCH_HEADER_SIZE);
	int codec = b->attributes & LG_ATTR_CODEC_MASK, rc;
	struct sl_err e;

	d->info = b;
	if (codec == LG_CODEC_NONE) {
		d->p = sec.p;
		d->len = sec.len;
		d->base = LG_BATCH_HEADER_SIZE;
		d->unit = "byte";
		return 0;
	}
	memset(&e, 0, sizeof(e));
	rc = lg_decompress((enum lg_codec)codec, sec,
	    max_bytes ? max_bytes : BATCH_DEFAULT_MAX, tmp, &e);
	if (rc == SL_ECORRUPT)
		return BATCH_CORRUPT(err, b->base_offset, "records section at byte "
		    "%d (%s): %s", LG_BATCH_HEADER_SIZE, lg_codec_name(codec),
		    sl_err_msg(&e, rc));
	if (rc != 0)
		return sl_errf(err, rc, "batch at offset %lld: records section at "
		    "byte %d (%s): %s", (long long)b->base_offset,
		    LG_BATCH_HEADER_SIZE, lg_codec_name(codec), sl_err_msg(&e, rc));
	d->p = tmp->p;
	d->len = tmp->len;
	d->base = 0;
	d->unit = "decompressed byte";
	return 0;
}

/*
 * Validate the produced batch that exactly fills 'batch' (see log/lg.h).
 * Beyond lg_batch_records' checks: no bytes after the batch, at least one
 * record, offset deltas exactly 0..n-1 with last_offset_delta n-1, no
 * timestamp after max_timestamp unless the batch uses log-append time
 * (earlier than first_timestamp is allowed, as in Kafka), and a base sequence when there is a producer id.
 * '*out' (may be NULL) gets the header.  Returns 0, SL_ECORRUPT,
 * SL_EUNSUPPORTED (unknown codec) or SL_ETOOBIG (records decompress to more
 * than 'max_bytes', 0 meaning 64 MiB).
 */
int
lg_batch_validate(struct sl_slice batch, size_t max_bytes,
    struct lg_batch_info *out, struct sl_err *err)
{
	struct lg_batch_info info;
	struct batch_dec d;
	struct sl_buf tmp = { 0 };
	int rc;

	memset(&d, 0, sizeof(d));
	memset(&info, 0, sizeof(info));
	rc = batch_header_whole(batch, &info, err);
	if (rc != 0)
		goto out;
	if (batch.len != lg_batch_size(&info)) {
		rc = BATCH_CORRUPT(err, info.base_offset, "%zu bytes after the "
		    "batch's end at byte %zu", batch.len - lg_batch_size(&info),
		    lg_batch_size(&info));
		goto out;
	}
	rc = batch_check_fields(&info, 1, err);
	if (rc == 0)
		rc = batch_section(batch, &info, max_bytes, &tmp, &d, err);
	if (rc != 0)
		goto out;
	d.strict = 1;
	rc = dec_records(&d, err);
out:
	if (out != NULL)
		*out = info;
	sl_buf_free(&tmp);
	return rc;
}

/*
 * Decode the records of 'batch' (see log/lg.h).  Only the batch's own bytes
 * are read if 'batch' holds more.  Gaps in offset deltas are accepted (2).
 */
int
lg_batch_records(struct sl_slice batch, size_t max_bytes,
    struct sl_arena *arena, struct lg_record **recs, int32_t *n,
    struct sl_err *err)
{
	struct lg_batch_info info;
	struct batch_dec d;
	struct sl_buf tmp = { 0 };
	uint8_t *copy;
	int rc;

	*recs = NULL;
	*n = 0;
	memset(&d, 0, sizeof(d));
	rc = batch_header_whole(batch, &info, err);
	if (rc == 0)
		rc = batch_check_fields(&info, 0, err);
	if (rc == 0)
		rc = batch_section(batch, &info, max_bytes, &tmp, &d, err);
	if (rc != 0)
		goto out;
	if (tmp.len > 0) {
		/* Slices must outlive 'tmp': move the records into the arena. */
		copy = sl_arena_alloc(arena, tmp.len);
		memcpy(copy, tmp.p, tmp.len);
		d.p = copy;
	}
	d.arena = arena;
	rc = dec_records(&d, err);
	if (rc == 0) {
		*recs = d.recs;
		*n = info.records_count;
	}
out:
	sl_buf_free(&tmp);
	return rc;
}

/* --------------------------------------------------------------- builder */

void
lg_batch_builder_init(struct lg_batch_builder *bb, enum lg_codec codec,
    int64_t base_offset)
{
	memset(bb, 0, sizeof(*bb));
	bb->codec = codec;
	bb->base_offset = base_offset;
	bb->first_timestamp = -1;
	bb->max_timestamp = -1;
	bb->producer_id = -1;
	bb->producer_epoch = -1;
	bb->base_sequence = -1;
	bb->last_delta = -1;
}

static size_t
builder_bytes_size(const void *p, size_t len)
{
	return p == NULL ? 1 : (size_t)sl_varint_size((int64_t)len) + len;
}

static void
builder_add_bytes(struct sl_buf *b, const void *p, size_t len)
{
	if (p == NULL) {
		sl_buf_add_varint(b, -1);
		return;
	}
	sl_buf_add_varint(b, (int64_t)len);
	if (len > 0)
		sl_buf_add(b, p, len);
}

/*
 * Add a record.  The first record's timestamp becomes the batch's first
 * timestamp (as Kafka's producer does); the largest becomes max timestamp.
 * Header keys are never null: a NULL 'key.p' is written as empty.
 */
void
lg_batch_builder_add(struct lg_batch_builder *bb, int64_t offset_delta,
    int64_t timestamp, const void *key, size_t key_len, const void *value,
    size_t value_len, const struct lg_header *headers, int32_t n_headers)
{
	int64_t ts_delta;
	size_t body;
	int32_t k;

	assert(offset_delta > bb->last_delta && offset_delta <= INT32_MAX);
	assert(n_headers >= 0 && (n_headers == 0 || headers != NULL));
	if (bb->count == 0) {
		bb->first_timestamp = timestamp;
		bb->max_timestamp = timestamp;
	}
	if (timestamp > bb->max_timestamp)
		bb->max_timestamp = timestamp;
	ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)bb->first_timestamp);

	body = 1 + (size_t)sl_varint_size(ts_delta) +
	    (size_t)sl_varint_size(offset_delta) +
	    builder_bytes_size(key, key_len) + builder_bytes_size(value, value_len) +
	    (size_t)sl_varint_size(n_headers);
	for (k = 0; k < n_headers; k++) {
		body += builder_bytes_size("", headers[k].key.len);
		body += builder_bytes_size(headers[k].value_null ? NULL : "",
		    headers[k].value.len);
	}
	sl_buf_add_varint(&bb->records, (int64_t)body);
	sl_buf_add_u8(&bb->records, 0);
	sl_buf_add_varint(&bb->records, ts_delta);
	sl_buf_add_varint(&bb->records, offset_delta);
	builder_add_bytes(&bb->records, key, key_len);
	builder_add_bytes(&bb->records, value, value_len);
	sl_buf_add_varint(&bb->records, n_headers);
	for (k = 0; k < n_headers; k++) {
		sl_buf_add_varint(&bb->records, (int64_t)headers[k].key.len);
		if (headers[k].key.len > 0)
			sl_buf_add(&bb->records, headers[k].key.p, headers[k].key.len);
		builder_add_bytes(&bb->records, headers[k].value_null ? NULL :
		    (headers[k].value.p ? (const void *)headers[k].value.p : ""),
		    headers[k].value.len);
	}
	bb->count++;
	bb->last_delta = offset_delta;
}

/*
 * Append the finished batch to 'out': header, then the records compressed
 * with the builder's codec, then the CRC.  Returns 0, SL_EUNSUPPORTED
 * (unknown codec) or SL_ETOOBIG (more than a batch length can say).
 */
int
lg_batch_builder_finish(struct lg_batch_builder *bb, int32_t last_offset_delta,
    struct sl_buf *out)
{
	struct sl_buf z = { 0 };
	struct sl_slice sec;
	uint8_t *h;
	size_t start;
	int rc = 0;

	if ((int)bb->codec < 0 || bb->codec > LG_CODEC_ZSTD)
		return SL_EUNSUPPORTED;
	if (last_offset_delta < 0)
		last_offset_delta = bb->last_delta < 0 ? 0 : (int32_t)bb->last_delta;
	sec = sl_buf_slice(&bb->records);
	if (bb->codec != LG_CODEC_NONE) {
		rc = lg_compress(bb->codec, sec, &z, NULL);
		if (rc != 0)
			goto out;
		sec = sl_buf_slice(&z);
	}
	if (sec.len > (size_t)INT32_MAX - BATCH_LENGTH_MIN) {
		rc = SL_ETOOBIG;
		goto out;
	}
	start = out->len;
	sl_buf_reserve(out, LG_BATCH_HEADER_SIZE + sec.len);
	h = out->p + start;
	sl_put_be64(h + OFF_BASE_OFFSET, (uint64_t)bb->base_offset);
	sl_put_be32(h + OFF_LENGTH, (uint32_t)(BATCH_LENGTH_MIN + sec.len));
	sl_put_be32(h + OFF_LEADER_EPOCH, (uint32_t)-1);
	h[OFF_MAGIC] = 2;
	sl_put_be16(h + OFF_ATTRIBUTES,
	    (uint16_t)((bb->extra_attributes & ~LG_ATTR_CODEC_MASK) | bb->codec));
	sl_put_be32(h + OFF_LAST_DELTA, (uint32_t)last_offset_delta);
	sl_put_be64(h + OFF_FIRST_TS, (uint64_t)bb->first_timestamp);
	sl_put_be64(h + OFF_MAX_TS, (uint64_t)bb->max_timestamp);
	sl_put_be64(h + OFF_PRODUCER_ID, (uint64_t)bb->producer_id);
	sl_put_be16(h + OFF_PRODUCER_EPOCH, (uint16_t)bb->producer_epoch);
	sl_put_be32(h + OFF_BASE_SEQUENCE, (uint32_t)bb->base_sequence);
	sl_put_be32(h + OFF_RECORDS_COUNT, (uint32_t)bb->count);
	if (sec.len > 0)
		memcpy(h + LG_BATCH_HEADER_SIZE, sec.p, sec.len);
	sl_put_be32(h + OFF_CRC, sl_crc32c(0, h + LG_BATCH_CRC_START,
	    LG_BATCH_HEADER_SIZE - LG_BATCH_CRC_START + sec.len));
	out->len = start + LG_BATCH_HEADER_SIZE + sec.len;
out:
	sl_buf_free(&z);
	return rc;
}

void
lg_batch_builder_free(struct lg_batch_builder *bb)
{
	sl_buf_free(&bb->records);
}
