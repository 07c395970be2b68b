/*
 * tests/fuzz/fuzz_pgoutput.c: libFuzzer target over the pgoutput decoder
 * (capture/pg_pgoutput.c).
 *
 * The first input byte picks the mode: bit 0 (value 1) protocol 2 rather
 * than 1, bit 1 (value 2) the decoder starts inside a streamed block,
 * bit 2 (value 4) the rest is a pg_sluice batch.
 *
 * Without bit 2, the rest is split at 0xA5 0x5A markers into consecutive
 * messages decoded with one decoder, so stream state transitions are
 * exercised too.  Each message is also read as a sluice.pos header value
 * (cap_pos_parse: bytes from the broker at capture's start); what it
 * accepts must format back and parse equal.
 *
 * With bit 2, the rest is one XLogData payload of contrib/pg_sluice: each
 * message after its 8-byte LSN and 4-byte length, deframed with cap_pgs_next and each
 * message decoded by one decoder, as cap_pg_handle_batch does.  Every
 * message returned must lie inside the input and end where the next frame
 * starts, and a deframing error must name the LSN.
 *
 * In both modes the decoder must never crash, read out of bounds or
 * allocate more than a small multiple of its input; a failure must be
 * SL_ECORRUPT with a message, else abort().  Seeds: the .bin files of
 * tests/golden/pgoutput/, each prefixed by 0x01; batches of them prefixed
 * by 0x05 (batch-*).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoded message's checks, shared by both modes ('size': the input's). */
static void
check_decoded(int rc, const struct cap_pgo_msg *m, const struct sl_err *err, size_t size)
{
	if (rc != 0 && (rc != SL_ECORRUPT || err->msg[0] == '\0'))
		abort();
	if (rc == 0 && (m->type == CAP_PGO_INSERT || m->type == CAP_PGO_UPDATE)) {
		uint16_t k;
		size_t sum = 0;

		for (k = 0; k < m->u.change.new_tuple.ncols; k++)
			sum += m->u.change.new_tuple.cols[k].len;
		if (sum > size)
			abort();
	}
}

/* Bit 2: 'data'/'size' is one pg_sluice batch. */
static void
fuzz_batch(struct cap_pgo_decoder *d, const uint8_t *data, size_t size,
    struct sl_arena *arena)
{
	const uint8_t *msg;
	size_t off = 0, prev = 0, len;
	uint64_t lsn;
	int rc;

	for (;;) {
		struct sl_err err = { 0 };
		struct cap_pgo_msg m;

		rc = cap_pgs_next(data, size, &off, 0x1000, &lsn, &msg, &len, &err);
		if (rc == 0)
			break;
		if (rc != 1) {
			/* the error names the batch's LSN; '*off' stays on the bad frame */
			if (rc != SL_ECORRUPT || strstr(err.msg, "0/1000") == NULL || off != prev)
				abort();
			break;
		}
		if (len == 0 || msg != data + prev + CAP_PGS_HEADER ||
		    off != prev + CAP_PGS_HEADER + len || off > size)
			abort();
		prev = off;
		rc = cap_pgo_decode(d, lsn, msg, len, arena, &m, &err);
		check_decoded(rc, &m, &err, size);
		sl_arena_reset(arena);
	}
	if (rc == 0 && off != size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_pgo_decoder d;
	struct sl_arena arena = { 0 };
	struct cap_pgo_msg m;
	size_t start, i;
	int batch;

	if (size < 1)
		return 0;
	cap_pgo_decoder_init(&d, (data[0] & 1) ? 2 : 1);
	d.in_stream = (data[0] & 2) != 0 && d.proto == 2;
	batch = (data[0] & 4) != 0;
	data++;
	size--;
	if (batch) {
		fuzz_batch(&d, data, size, &arena);
		sl_arena_free(&arena);
		return 0;
	}
	start = 0;
	for (i = 0; i <= size; i++) {
		struct sl_err err = { 0 };
		int rc;

		if (i < size && !(i + 1 < size && data[i] == 0xA5 && data[i + 1] == 0x5A))
			continue;
		{
			struct cap_pos p, q;
			char txt[CAP_POS_TEXT_MAX];
			size_t n;

			if (cap_pos_parse(data + start, i - start, &p) == 0) {
				n = cap_pos_fmt(&p, txt, sizeof(txt));
				if (n == 0 || cap_pos_parse(txt, n, &q) != 0 ||
				    cap_pos_cmp(&p, &q) != 0)
					abort();
			}
		}
		rc = cap_pgo_decode(&d, 0x1000 + start, data + start, i - start, &arena,
		    &m, &err);
		check_decoded(rc, &m, &err, size);
		sl_arena_reset(&arena);
		start = i + 2;
		i++;
	}
	sl_arena_free(&arena);
	return 0;
}
