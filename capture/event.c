/*
 * capture/event.c: what both source types do with a change event once it
 * is built: its partition, its key and value in the configured format, and
 * the per-table counts of its transaction.
 */
#include <string.h>

#include "capture/cap_int.h"
#include "schemas/sch.h"

int32_t
cap_key_partition(const struct cap_topic *topic, const struct sl_buf *key)
{
	if (key == NULL || key->len == 0 || topic->partitions <= 1)
		return 0;
	return sl_murmur2_partition(key->p, key->len, topic->partitions);
}

int
cap_event_encode(int json, const struct sch_json_opts *jo, const struct sch_event *ev,
    struct sl_slice table_pb, struct sl_buf *key, struct sl_buf *val, struct sl_err *err)
{
	int rc;

	sl_buf_reset(key);
	sl_buf_reset(val);
	if (json) {
		rc = sch_key_encode_json(ev, jo, key);
		if (rc == SL_ENOTFOUND) {
			sl_buf_reset(key);
			rc = 0;
		}
		if (rc == 0)
			rc = sch_event_encode_json(ev, jo, val);
	} else {
		rc = sch_key_encode_pb(ev, key);
		if (rc == SL_ENOTFOUND) {
			sl_buf_reset(key);
			rc = 0;
		}
		if (rc == 0)
			rc = sch_event_encode_pb_table(ev, table_pb, val);
	}
	if (rc != 0) {
		struct sl_err e2 = { 0 };
		const char *ns = ev->source.schema ? ev->source.schema :
		    ev->source.db ? ev->source.db : "";

		(void)sch_event_check_(ev, &e2);
		return sl_errf(err, rc, "encoding a %c event of %s.%s: %s", (char)ev->op, ns,
		    ev->source.table ? ev->source.table : "", e2.msg[0] ? e2.msg :
		    sl_strerror(rc));
	}
	return 0;
}

uint64_t
cap_tx_count(struct sch_tx_count **counts, uint32_t *n, const char *collection)
{
	uint32_t i;

	for (i = 0; i < *n; i++)
		if ((*counts)[i].data_collection == collection)
			return ++(*counts)[i].event_count;
	*counts = sl_realloc(*counts, (*n + 1) * sizeof(**counts));
	(*counts)[*n].data_collection = collection;
	(*counts)[*n].event_count = 1;
	return (*counts)[(*n)++].event_count;
}

uint64_t
cap_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}
