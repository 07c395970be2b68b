/*
 * broker/list_offsets.c: ListOffsets (v1-5), OffsetForLeaderEpoch (v2-3)
 * and DeleteRecords (v0-1): the requests that ask where a partition starts
 * and ends.  "Latest" is the durable end (lg_partition_synced_end), the
 * same high watermark Fetch reports.  Leader epochs are always 0.
 *
 * LISTOFFSETS REQUEST
 *   replica_id int32, isolation_level int8 (v2+)
 *   topics [name, partitions [index int32, current_leader_epoch int32 (v4+),
 *           timestamp int64 (-1 latest, -2 earliest)]]
 * LISTOFFSETS RESPONSE
 *   throttle_time_ms int32 (v2+)
 *   topics [name, partitions [index int32, error int16, timestamp int64,
 *           offset int64, leader_epoch int32 (v4+)]]
 *
 * OFFSETFORLEADEREPOCH REQUEST
 *   replica_id int32 (v3+)
 *   topics [name, partitions [index int32, current_leader_epoch int32, leader_epoch int32]]
 * OFFSETFORLEADEREPOCH RESPONSE
 *   throttle_time_ms int32
 *   topics [name, partitions [error int16, index int32, leader_epoch int32, end_offset int64]]
 *
 * DELETERECORDS REQUEST:  topics [name, partitions [index int32, offset int64]], timeout_ms int32
 * DELETERECORDS RESPONSE: throttle_time_ms int32,
 *   topics [name, partitions [index int32, low_watermark int64, error int16]]
 */
#include "broker/brk_int.h"

int
brk_list_offsets(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	int16_t v = h->api_version;
	int32_t nt, np, i, j;

	brk_rd_i32(r, "replica_id");
	if (v >= 2)
		brk_rd_i8(r, "isolation_level");
	nt = brk_rd_array(r, 2 + 4, NULL, "list offsets topics");
	if (!brk_rd_ok(r))
		return r->err;
	if (v >= 2)
		brk_wr_i32(o, 0);
	brk_wr_i32(o, nt);
	for (i = 0; i < nt; i++) {
		struct sl_slice name;
		struct brk_topic *t;

		brk_rd_string(r, &name, "topic");
		np = brk_rd_array(r, 4 + 8 + (v >= 4 ? 4 : 0), NULL, "partitions");
		if (!brk_rd_ok(r))
			return r->err;
		t = name.p != NULL ? brk_topic_find(b, (const char *)name.p, name.len) : NULL;
		brk_wr_stringn(o, name.p, name.len);
		brk_wr_i32(o, np);
		for (j = 0; j < np; j++) {
			int32_t idx = brk_rd_i32(r, "partition");
			int64_t ts, off = -1, found_ts = -1;
			int16_t error = KERR_NONE;
			struct brk_part *p;

			if (v >= 4)
				brk_rd_i32(r, "current_leader_epoch");
			ts = brk_rd_i64(r, "timestamp");
			if (!brk_rd_ok(r))
				return r->err;
			p = t != NULL && idx >= 0 && idx < t->conf.partitions ? &t->parts[idx] : NULL;
			if (p == NULL) {
				error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			} else if (ts == -1) {
				off = lg_partition_synced_end(p->lg);
			} else if (ts == -2) {
				off = lg_partition_start(p->lg);
			} else if (ts < 0) {
				error = KERR_INVALID_REQUEST;
			} else {
				struct sl_err err = { 0 };
				int rc = lg_partition_offset_for_time(p->lg, ts, &off,
				    &found_ts, &err);

				if (rc == SL_ENOTFOUND ||
				    (rc == 0 && off >= lg_partition_synced_end(p->lg))) {
					off = -1;
					found_ts = -1;
				} else if (rc != 0) {
					error = KERR_KAFKA_STORAGE_ERROR;
					off = -1;
				}
			}
			if (error != KERR_NONE)
				b->m.errors[API_LIST_OFFSETS]++;
			brk_wr_i32(o, idx);
			brk_wr_i16(o, error);
			brk_wr_i64(o, found_ts);
			brk_wr_i64(o, off);
			if (v >= 4)
				brk_wr_i32(o, 0);
		}
	}
	return BRK_DONE;
}

int
brk_offset_for_leader_epoch(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	int32_t nt, np, i, j;

	if (h->api_version >= 3)
		brk_rd_i32(r, "replica_id");
	nt = brk_rd_array(r, 2 + 4, NULL, "topics");
	if (!brk_rd_ok(r))
		return r->err;
	brk_wr_i32(o, 0);
	brk_wr_i32(o, nt);
	for (i = 0; i < nt; i++) {
		struct sl_slice name;
		struct brk_topic *t;

		brk_rd_string(r, &name, "topic");
		np = brk_rd_array(r, 12, NULL, "partitions");
		if (!brk_rd_ok(r))
			return r->err;
		t = name.p != NULL ? brk_topic_find(b, (const char *)name.p, name.len) : NULL;
		brk_wr_stringn(o, name.p, name.len);
		brk_wr_i32(o, np);
		for (j = 0; j < np; j++) {
			int32_t idx = brk_rd_i32(r, "partition");
			struct brk_part *p;

			brk_rd_i32(r, "current_leader_epoch");
			brk_rd_i32(r, "leader_epoch");
			if (!brk_rd_ok(r))
				return r->err;
			p = t != NULL && idx >= 0 && idx < t->conf.partitions ? &t->parts[idx] : NULL;
			if (p == NULL)
				b->m.errors[API_OFFSET_FOR_LEADER_EPOCH]++;
			/* One epoch (0) ever: its end is the durable end. */
			brk_wr_i16(o, p != NULL ? KERR_NONE : KERR_UNKNOWN_TOPIC_OR_PARTITION);
			brk_wr_i32(o, idx);
			brk_wr_i32(o, p != NULL ? 0 : -1);
			brk_wr_i64(o, p != NULL ? lg_partition_synced_end(p->lg) : -1);
		}
	}
	return BRK_DONE;
}

int
brk_delete_records(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	int32_t nt, np, i, j;

	(void)h;
	nt = brk_rd_array(r, 2 + 4, NULL, "topics");
	if (!brk_rd_ok(r))
		return r->err;
	brk_wr_i32(o, 0);
	brk_wr_i32(o, nt);
	for (i = 0; i < nt; i++) {
		struct sl_slice name;
		struct brk_topic *t;

		brk_rd_string(r, &name, "topic");
		np = brk_rd_array(r, 12, NULL, "partitions");
		if (!brk_rd_ok(r))
			return r->err;
		t = name.p != NULL ? brk_topic_find(b, (const char *)name.p, name.len) : NULL;
		brk_wr_stringn(o, name.p, name.len);
		brk_wr_i32(o, np);
		for (j = 0; j < np; j++) {
			int32_t idx = brk_rd_i32(r, "partition");
			int64_t off = brk_rd_i64(r, "offset"), low = -1;
			int16_t error = KERR_NONE;
			struct brk_part *p;

			if (!brk_rd_ok(r))
				return r->err;
			p = t != NULL && idx >= 0 && idx < t->conf.partitions ? &t->parts[idx] : NULL;
			if (p == NULL) {
				error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			} else {
				int64_t hw = lg_partition_synced_end(p->lg);
				struct sl_err err = { 0 };
				int rc;

				if (off == -1)
					off = hw;
				if (t->conf.opts.compact) {
					/* As Kafka: and it keeps the compaction thread's partitions apart. */
					error = KERR_POLICY_VIOLATION;
				} else if (off < 0 || off > hw) {
					error = KERR_OFFSET_OUT_OF_RANGE;
				} else if (off > lg_partition_start(p->lg) &&
				    (rc = lg_partition_truncate_front(p->lg, off, &err)) != 0) {
					error = rc == SL_ERANGE ? KERR_OFFSET_OUT_OF_RANGE :
					    KERR_KAFKA_STORAGE_ERROR;
					if (rc != SL_ERANGE)
						sl_error("broker: delete records %s-%d: %s",
						    t->name, (int)idx, sl_err_msg(&err, rc));
				}
				low = lg_partition_start(p->lg);
			}
			if (error != KERR_NONE)
				b->m.errors[API_DELETE_RECORDS]++;
			brk_wr_i32(o, idx);
			brk_wr_i64(o, low);
			brk_wr_i16(o, error);
		}
	}
	brk_rd_i32(r, "timeout_ms");
	return brk_rd_ok(r) ? BRK_DONE : r->err;
}
