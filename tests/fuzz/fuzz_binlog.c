/*
 * tests/fuzz/fuzz_binlog.c: libFuzzer target over the MySQL/MariaDB binlog
 * decoder (capture/my_binlog.c, capture/my_value.c).
 *
 * Byte 0 sets the decoder: bit 0 expects CRC32 trailers before a Format
 * Description says otherwise, bit 1 verifies them (seeds leave it clear
 * so mutations get past the CRC).  The rest is cut into consecutive
 * events by the size field of each header (offset 9), as a binlog file
 * is; a size that does not fit gives the rest as one last event.  All
 * are decoded by one decoder, so a Format Description changes how the
 * later events are read.  The last Table_map is kept (copied into its own
 * arena) and every rows event is walked with cap_my_rows_next against it;
 * after each rows event, a slice of its bytes is also read as the text of
 * one of that map's columns (cap_my_parse_text).  Every failure must be
 * SL_ECORRUPT or SL_EUNSUPPORTED with a message; a rows walk must advance.
 * Seeds: tests/fuzz/corpus/binlog/, made from tests/golden/binlog/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_my.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_fail(int rc, const struct sl_err *err)
{
	if (rc != SL_ECORRUPT && rc != SL_EUNSUPPORTED)
		abort();
	if (err->msg[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_my_decoder d;
	struct sl_arena arena = { 0 }, tm_arena = { 0 };
	struct cap_my_table_map tm;
	struct sch_value *before = NULL, *after = NULL;
	int have_tm = 0;
	size_t off;

	if (size < 1)
		return 0;
	cap_my_decoder_init(&d, data[0] & 1);
	d.verify_checksum = (data[0] & 2) != 0;
	data++;
	size--;
	for (off = 0; off < size; ) {
		struct cap_my_event ev;
		struct sl_err err = { 0 };
		size_t len = size - off;
		int rc;

		if (len >= 13) {
			uint32_t s = (uint32_t)data[off + 9] | (uint32_t)data[off + 10] << 8 |
			    (uint32_t)data[off + 11] << 16 | (uint32_t)data[off + 12] << 24;

			if (s >= 19 && s <= len)
				len = s;
		}
		rc = cap_my_decode(&d, "fuzz.000001", off + 4, data + off, len, &arena, &ev,
		    &err);
		if (rc != 0) {
			check_fail(rc, &err);
		} else if (ev.type == CAP_MY_TABLE_MAP) {
			uint32_t i;

			/* keep it past this event's arena: decode it again into its own */
			sl_arena_free(&tm_arena);
			rc = cap_my_decode(&d, "fuzz.000001", off + 4, data + off, len,
			    &tm_arena, &ev, &err);
			if (rc != 0)
				abort();	/* decoding is deterministic */
			tm = ev.u.table_map;
			have_tm = 1;
			free(before);
			free(after);
			before = calloc(tm.n_columns + 1, sizeof(*before));
			after = calloc(tm.n_columns + 1, sizeof(*after));
			for (i = 0; i < tm.n_columns; i++)
				(void)cap_my_type_name(&tm.columns[i]);
		} else if (have_tm && ((ev.type >= CAP_MY_WRITE_ROWS_V1 &&
		    ev.type <= CAP_MY_DELETE_ROWS_V1) || (ev.type >= CAP_MY_WRITE_ROWS_V2 &&
		    ev.type <= CAP_MY_DELETE_ROWS_V2))) {
			size_t roff = 0, prev;
			struct sch_value v;

			/* the fuzzer cannot guess table ids: follow the last map */
			ev.u.rows.table_id = tm.table_id;
			for (;;) {
				prev = roff;
				rc = cap_my_rows_next(&ev, &tm, "fuzz.000001", off + 4, &roff, before,
				    after, &arena, &err);
				if (rc == 0)
					break;
				if (rc != 1) {
					check_fail(rc, &err);
					break;
				}
				if (roff <= prev || roff > ev.u.rows.data_len)
					abort();
			}
			if (tm.n_columns > 0 && ev.u.rows.data_len > 0) {
				const struct cap_my_column *c =
				    &tm.columns[ev.u.rows.data[0] % tm.n_columns];
				size_t tl = ev.u.rows.data_len - 1;

				memset(&err, 0, sizeof(err));
				rc = cap_my_parse_text(c, (const char *)ev.u.rows.data + 1,
				    tl > 64 ? 64 : tl, &arena, &v, &err);
				if (rc != 0)
					check_fail(rc, &err);
			}
		}
		sl_arena_reset(&arena);
		off += len;
	}
	free(before);
	free(after);
	sl_arena_free(&arena);
	sl_arena_free(&tm_arena);
	return 0;
}
