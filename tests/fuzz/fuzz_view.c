/*
 * tests/fuzz/fuzz_view.c: libFuzzer target for the decoders of the
 * materialize module: the strict JSON reader and the Debezium envelope
 * (materialize/json.c), and the row and schema records of LMDB views
 * (materialize/row.c), which a reader trusts no more than any file.
 *
 * Input layout: byte 0 picks the mode.
 *   mode 0: the rest is a Debezium envelope value, keyed by {"id":1}; when
 *     it decodes to an event, its table, images and key columns must be
 *     consistent and every value must key-encode or be UNCHANGED.
 *   mode 1: the rest is a row record; when it decodes, its re-encoding must
 *     decode and encode to the same bytes again (inputs may hold overlong
 *     varints), and printing every value as JSON must work.
 *   mode 2: the same for a schema record.
 *   mode 3: the rest is any JSON text.
 * Any failure must be an error code, never a crash or a leak.
 * Seeds: tests/fuzz/corpus/view/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "materialize/mat_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_view: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key[] = "{\"id\":1}";
	struct sl_arena a = { 0 };
	struct sl_buf b = { 0 }, b2 = { 0 };
	struct sl_slice in;
	struct sch_event ev;
	struct sch_value *vals;
	struct mat_schema s;
	struct mat_json j;
	struct mat_pos pos;
	uint64_t sid;
	uint32_t i, n;
	size_t at;

	if (size < 1)
		return 0;
	in = sl_slice_make(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		if (mat_json_event_decode(sl_slice_make(key, strlen(key)), in, &a, &ev, NULL) != 0)
			break;
		must(ev.table != NULL && ev.table->name != NULL, "event without a table");
		for (i = 0; i < ev.table->n_columns; i++) {
			const struct sch_value *img = ev.after ? ev.after : ev.before;

			if (img == NULL)
				break;
			sl_buf_reset(&b);
			must(img[i].kind == SCH_UNCHANGED || mat_key_encode_value(&img[i], &b) == 0,
			    "a decoded value does not key-encode");
		}
		break;
	case 1:
		if (mat_row_decode(in, &a, &vals, &n, NULL) != 0)
			break;
		must(mat_row_header(in, &sid, &pos, NULL, &at, NULL) == 0, "header after decode");
		mat_row_encode(sid, &pos, vals, n, &b);
		/* varints may be overlong in the input: compare canonical forms */
		must(mat_row_decode(sl_buf_slice(&b), &a, &vals, &n, NULL) == 0,
		    "a re-encoded row record does not decode");
		mat_row_encode(sid, &pos, vals, n, &b2);
		must(b.len == b2.len && memcmp(b.p, b2.p, b.len) == 0,
		    "row record encoding is not stable");
		for (i = 0; i < n; i++) {
			sl_buf_reset(&b2);
			mat_value_json(&vals[i], NULL, &b2);
			/* the text search and cache views store */
			if (vals[i].kind != SCH_NULL && vals[i].kind != SCH_UNCHANGED) {
				sl_buf_reset(&b2);
				mat_value_text(&vals[i], NULL, &b2);
			}
		}
		break;
	case 2:
		if (mat_schema_decode(in, 1, &a, &s, NULL) != 0)
			break;
		mat_schema_encode(&s, &b);
		must(mat_schema_decode(sl_buf_slice(&b), 1, &a, &s, NULL) == 0,
		    "a re-encoded schema record does not decode");
		mat_schema_encode(&s, &b2);
		must(b.len == b2.len && memcmp(b.p, b2.p, b.len) == 0,
		    "schema record encoding is not stable");
		break;
	default:
		(void)mat_json_parse(in, &a, &j, NULL);
		break;
	}
	sl_buf_free(&b);
	sl_buf_free(&b2);
	sl_arena_free(&a);
	return 0;
}
