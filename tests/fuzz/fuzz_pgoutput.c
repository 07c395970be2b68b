/*
 * tests/fuzz/fuzz_pgoutput.c: libFuzzer target over the pgoutput decoder
 * (capture/pg_pgoutput.c).
 *
 * The first input byte picks the protocol version and whether the decoder
 * starts inside a streamed block; the rest is split at 0xA5 0x5A markers
 * into consecutive messages decoded with one decoder, so stream state
 * transitions are exercised too.  The decoder must never crash, read out
 * of bounds or allocate more than a small multiple of its input; a
 * failure must be SL_ECORRUPT with a message.  Each message is also read
 * as a sluice.pos header value (cap_pos_parse: bytes from the broker at
 * capture's start); what it accepts must format back and parse equal.
 * Seeds: the .bin files of tests/golden/pgoutput/, each prefixed by 0x01.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_pgo_decoder d;
	struct sl_arena arena = { 0 };
	struct cap_pgo_msg m;
	size_t start, i;

	if (size < 1)
		return 0;
	cap_pgo_decoder_init(&d, (data[0] & 1) ? 2 : 1);
	d.in_stream = (data[0] & 2) != 0 && d.proto == 2;
	data++;
	size--;
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
		if (rc != 0 && (rc != SL_ECORRUPT || err.msg[0] == '\0'))
			abort();
		if (rc == 0 && (m.type == CAP_PGO_INSERT || m.type == CAP_PGO_UPDATE)) {
			uint16_t k;
			size_t sum = 0;

			for (k = 0; k < m.u.change.new_tuple.ncols; k++)
				sum += m.u.change.new_tuple.cols[k].len;
			if (sum > size)
				abort();
		}
		sl_arena_reset(&arena);
		start = i + 2;
		i++;
	}
	sl_arena_free(&arena);
	return 0;
}
