/*
 * tests/fuzz/fuzz_signal.c: libFuzzer target over the data of an
 * execute-snapshot signal, the row an application inserts into MySQL
 * capture's signalling table (cap_signal_tables in capture/event.c): the
 * strings of {"data-collections": [...]} or bare table patterns.  Any
 * client writes it, so the reader must not crash or read past it, and what
 * it gives back must be NUL-terminated, at most 4 KiB, without a NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_buf pat = { 0 };
	char *copy;

	if (size > 65536)
		return 0;
	copy = malloc(size ? size : 1);	/* exactly 'size' bytes: ASan sees any over-read */
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (cap_signal_tables(copy, size, &pat) == 0 &&
	    (pat.len == 0 || pat.len > 4096 || strlen((const char *)pat.p) != pat.len))
		abort();
	sl_buf_free(&pat);
	free(copy);
	return 0;
}
