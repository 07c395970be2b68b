/*
 * tests/fuzz/fuzz_my_query.c: libFuzzer target over what MySQL capture reads
 * from the SQL text of a binlog Query event (capture/my_capture.c): the
 * tables an INSERT, REPLACE, UPDATE or DELETE of a statement-based session
 * changes (quoted names, comments, aliases, joins, subqueries) and the
 * table of a TRUNCATE.  The text comes from the server, written by any
 * client: it must never crash the reader or make it read past the text.
 * The first byte picks the default database (none, or "app").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_mysrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql;

	if (size == 0 || size > 65536)
		return 0;
	sql = malloc(size);		/* the text after the first byte, NUL-terminated */
	if (sql == NULL)
		return 0;
	memcpy(sql, data + 1, size - 1);
	sql[size - 1] = '\0';
	(void)cap_my_query_tables(sql, (data[0] & 1) ? "app" : NULL);
	free(sql);
	return 0;
}
