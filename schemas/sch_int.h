/*
 * schemas/sch_int.h: helpers shared by the files of the schemas module.
 * Only the .c files of schemas/ and tests/check_sch.c include it; not API.
 */
#ifndef SCH_INT_H
#define SCH_INT_H

#include <stdint.h>

#include "common/sl.h"

/*
 * Append 'v' in PostgreSQL's shortest round-trip float text ("1e+16",
 * "0.1", "-0", "NaN", "Infinity"); 'is4' for float4.  Defined in
 * pg_float.c.
 */
void sch_put_float_(struct sl_buf *out, double v, int is4);

/* Proleptic Gregorian, astronomical years (1 BC = 0); pg_types.c. */
int64_t sch_days_from_civil_(int64_t y, int m, int d);
void sch_civil_from_days_(int64_t days, int64_t *y, int *m, int *d);

#endif /* SCH_INT_H */
