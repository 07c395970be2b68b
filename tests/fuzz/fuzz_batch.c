/*
 * tests/fuzz/fuzz_batch.c: libFuzzer target for RecordBatch v2 decoding
 * (log/batch.c) and the codecs behind it (log/codec.c).
 *
 * Each input is run twice: as it is, and as a copy whose length field and
 * CRC32C are rewritten to match the input, so mutations get past the CRC
 * and reach the records decoder and the decompressors.  The input may hold
 * several batches back to back, as a segment does.  Build with
 * `make B=build/batch fuzz`; docs/fuzzing.md has the command and corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/lg.h"

#define FUZZ_MAX_BYTES ((size_t)1 << 20)	/* decompressed records */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(const uint8_t *p, size_t len, struct sl_arena *arena)
{
	struct lg_batch_info info;
	struct lg_record *recs;
	struct sl_err err;
	int32_t n, i;
	size_t total = 0;
	int rc;

	rc = lg_batch_header(sl_slice_make(p, len), &info, &err);
	if (rc == 0)
		total = lg_batch_size(&info);
	(void)lg_batch_validate(sl_slice_make(p, len), FUZZ_MAX_BYTES, &info, &err);
	if (total > 0)
		(void)lg_batch_validate(sl_slice_make(p, total), FUZZ_MAX_BYTES,
		    &info, &err);
	rc = lg_batch_records(sl_slice_make(p, len), FUZZ_MAX_BYTES, arena,
	    &recs, &n, &err);
	if (rc == 0) {
		/* Touch every slice so ASan sees any that points outside. */
		volatile uint8_t sink = 0;

		for (i = 0; i < n; i++) {
			if (recs[i].key.len)
				sink ^= recs[i].key.p[recs[i].key.len - 1];
			if (recs[i].value.len)
				sink ^= recs[i].value.p[recs[i].value.len - 1];
			if (recs[i].n_headers > 0 && recs[i].headers[0].key.len)
				sink ^= recs[i].headers[0].key.p[0];
		}
		(void)sink;
	}
	sl_arena_reset(arena);
	/* A following batch, as in a segment file. */
	if (total > 0 && total < len)
		fuzz_one(p + total, len - total, arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_arena arena = { 0 };
	uint8_t *copy;

	fuzz_one(data, size, &arena);
	if (size >= LG_BATCH_HEADER_SIZE && size - LG_BATCH_LOG_OVERHEAD <= INT32_MAX) {
		copy = malloc(size);
		if (copy != NULL) {
			memcpy(copy, data, size);
			sl_put_be32(copy + 8, (uint32_t)(size - LG_BATCH_LOG_OVERHEAD));
			copy[16] = 2;
			sl_put_be32(copy + 17, sl_crc32c(0, copy + LG_BATCH_CRC_START,
			    size - LG_BATCH_CRC_START));
			fuzz_one(copy, size, &arena);
			free(copy);
		}
	}
	sl_arena_free(&arena);
	return 0;
}
