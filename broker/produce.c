/*
 * broker/produce.c: Produce (v3-7 served, 0-2 refused per partition) and
 * InitProducerId (v0-1) with its durable producer-id allocator.
 *
 * Every batch is checked with lg_batch_validate() before any batch of the
 * partition is appended; appends mark the partition dirty so the group
 * commit of server.c syncs it.  acks=0 gets no response, acks=1 is answered
 * once appended, acks=all (-1) once the commit that follows has synced every
 * partition the request touched (an error code is patched in if a sync
 * fails).  Not here: deduplication itself, which lg_partition_append does
 * from the producer state of log/.
 *
 * PRODUCE REQUEST
 *   transactional_id nullable string (v3+)
 *   acks int16, timeout_ms int32
 *   topics [name, partitions [index int32, records nullable bytes]]
 * PRODUCE RESPONSE
 *   responses [name, partitions [index int32, error int16, base_offset int64,
 *              log_append_time_ms int64 (v2+), log_start_offset int64 (v5+)]]
 *   throttle_time_ms int32 (v1+)
 *
 * PRODUCER ID FILE <data_dir>/producer_ids, text: "reserved=N\n".  Ids below
 * N may have been handed out; a broker hands out ids from N after a restart
 * and persists N + 1000 (written atomically) before giving out the first of
 * a new block, so an id is never given twice.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

#define PID_BLOCK 1000

static char *
pids_path(const struct brk_broker *b)
{
	return sl_asprintf("%s/producer_ids", b->cfg.data_dir);
}

int
brk_pids_load(struct brk_broker *b, struct sl_err *err)
{
	struct sl_buf text = { 0 };
	char *path = pids_path(b), num[32];
	int64_t n;
	int rc;

	rc = sl_file_read(path, 4096, &text);
	if (rc == -ENOENT) {
		rc = 0;
		n = 0;
	} else if (rc != 0) {
		sl_errf(err, rc, "read %s: %s", path, sl_strerror(rc));
		goto out;
	} else {
		size_t len = text.len;

		while (len > 0 && (text.p[len - 1] == '\n' || text.p[len - 1] == '\r'))
			len--;
		if (len <= 9 || len - 9 >= sizeof(num) || memcmp(text.p, "reserved=", 9) != 0) {
			rc = SL_CORRUPT(err, "%s: expected reserved=N", path);
			goto out;
		}
		memcpy(num, text.p + 9, len - 9);
		num[len - 9] = '\0';
		if (sl_parse_int64(num, &n) != 0 || n < 0) {
			rc = SL_CORRUPT(err, "%s: bad number %s", path, num);
			goto out;
		}
	}
	b->pid_next = n;
	b->pid_reserved = n;
out:
	sl_buf_free(&text);
	free(path);
	return rc;
}

int
brk_pid_alloc(struct brk_broker *b, int64_t *pid, struct sl_err *err)
{
	if (b->pid_next >= b->pid_reserved) {
		char line[48], *path = pids_path(b);
		int n = snprintf(line, sizeof(line), "reserved=%lld\n",
		    (long long)(b->pid_next + PID_BLOCK));
		int rc = sl_file_write_atomic(path, line, (size_t)n);

		if (rc != 0) {
			sl_errf(err, rc, "write %s: %s", path, sl_strerror(rc));
			free(path);
			return rc;
		}
		free(path);
		b->pid_reserved = b->pid_next + PID_BLOCK;
	}
	*pid = b->pid_next++;
	return 0;
}

/*
 * INITPRODUCERID REQUEST:  transactional_id nullable string, transaction_timeout_ms int32
 * INITPRODUCERID RESPONSE: throttle_time_ms int32, error int16, producer_id int64,
 *                          producer_epoch int16
 */
int
brk_init_producer_id(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	struct sl_slice txn;
	struct sl_err err = { 0 };
	int64_t pid = -1;
	int16_t error = KERR_NONE;

	(void)h;
	brk_rd_string(r, &txn, "transactional_id");
	brk_rd_i32(r, "transaction_timeout_ms");
	if (!brk_rd_ok(r))
		return r->err;
	if (txn.p != NULL) {
		error = KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;	/* no transactions */
	} else if (brk_pid_alloc(b, &pid, &err) != 0) {
		sl_error("broker: %s", err.msg);
		error = KERR_UNKNOWN_SERVER_ERROR;
		pid = -1;
	}
	if (error != 0)
		b->m.errors[API_INIT_PRODUCER_ID]++;
	brk_wr_i32(o, 0);
	brk_wr_i16(o, error);
	brk_wr_i64(o, pid);
	brk_wr_i16(o, error == 0 ? 0 : -1);
	return BRK_DONE;
}

static int16_t
kerr_of_validate(int rc)
{
	switch (rc) {
	case SL_EUNSUPPORTED:
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	case SL_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	default:
		return KERR_CORRUPT_MESSAGE;
	}
}

/* Validate every batch of 'records' for 'p'; a Kafka error code. */
static int16_t
validate_records(struct brk_part *p, struct sl_slice records, struct sl_arena *arena,
    int *n_batches)
{
	const struct lg_options *o = &p->topic->conf.opts;
	struct lg_batch_info info;
	struct sl_err err = { 0 };
	size_t pos = 0;
	int rc;

	*n_batches = 0;
	if (records.p == NULL || records.len == 0)
		return KERR_CORRUPT_MESSAGE;
	while (pos < records.len) {
		struct sl_slice rest = sl_slice_make(records.p + pos, records.len - pos);
		struct sl_slice one;

		if (rest.len < LG_BATCH_HEADER_SIZE)
			return KERR_CORRUPT_MESSAGE;
		if (rest.p[16] != 2)
			return KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;	/* magic 0/1 */
		if ((rc = lg_batch_header(rest, &info, &err)) != 0)
			return KERR_CORRUPT_MESSAGE;
		if ((int64_t)lg_batch_size(&info) > o->max_message_bytes)
			return KERR_MESSAGE_TOO_LARGE;
		one = sl_slice_make(rest.p, lg_batch_size(&info));
		if ((rc = lg_batch_validate(one, 0, &info, &err)) != 0) {
			sl_debug("broker: produce to %s-%d: %s", p->topic->name,
			    (int)p->index, sl_err_msg(&err, rc));
			return kerr_of_validate(rc);
		}
		if (info.attributes & (LG_ATTR_TRANSACTIONAL | LG_ATTR_CONTROL))
			return KERR_INVALID_RECORD;	/* no transactions here */
		if (o->compact) {
			struct lg_record *recs;
			int32_t n, i;

			sl_arena_reset(arena);
			if ((rc = lg_batch_records(one, 0, arena, &recs, &n, &err)) != 0)
				return kerr_of_validate(rc);
			for (i = 0; i < n; i++)
				if (recs[i].key_null)
					return KERR_INVALID_RECORD;	/* compacted: keys required */
		}
		pos += one.len;
		(*n_batches)++;
	}
	return KERR_NONE;
}

static int16_t
kerr_of_append(int rc)
{
	switch (rc) {
	case 0:
	case SL_EDUPSEQ:
		return KERR_NONE;
	case SL_ESEQ:
		return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
	case SL_EFENCED:
		return KERR_INVALID_PRODUCER_EPOCH;
	case SL_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	case SL_ECORRUPT:
		return KERR_CORRUPT_MESSAGE;
	default:
		return KERR_KAFKA_STORAGE_ERROR;
	}
}

/* Append the validated batches of 'records'; sets '*base' and '*append_time'. */
static int16_t
append_records(struct brk_broker *b, struct brk_part *p, uint8_t *records, size_t len,
    int64_t *base, int64_t *append_time)
{
	size_t pos = 0;
	int first = 1;

	while (pos < len) {
		uint8_t *batch = records + pos;
		size_t blen = (size_t)(int32_t)sl_get_be32(batch + 8) + LG_BATCH_LOG_OVERHEAD;
		struct sl_err err = { 0 };
		int64_t off = -1;
		int rc;

		rc = lg_partition_append(p->lg, batch, blen, &off, &err);
		if (rc != 0 && rc != SL_EDUPSEQ) {
			if (rc != SL_ESEQ && rc != SL_EFENCED)
				sl_warn("broker: append %s-%d: %s", p->topic->name,
				    (int)p->index, sl_err_msg(&err, rc));
			return kerr_of_append(rc);
		}
		if (rc == 0) {
			b->m.produced_batches++;
			b->m.produced_bytes += blen;
			brk_part_mark_dirty(b, p);
		}
		if (first) {
			*base = off;
			if (p->topic->conf.opts.log_append_time)
				*append_time = (int64_t)sl_get_be64(batch + 35);
			first = 0;
		}
		pos += blen;
	}
	return KERR_NONE;
}

int
brk_produce(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	int16_t v = h->api_version, acks;
	struct brk_produce_wait *w = NULL;
	struct sl_arena arena = { 0 };
	int32_t nt, np, i, j;
	int rc = BRK_DONE;

	if (v >= 3) {
		struct sl_slice txn;

		brk_rd_string(r, &txn, "transactional_id");
	}
	acks = brk_rd_i16(r, "acks");
	brk_rd_i32(r, "timeout_ms");
	nt = brk_rd_array(r, 2 + 4, NULL, "produce topics");
	if (!brk_rd_ok(r))
		return r->err;
	if (acks == -1 && v >= 3)
		w = sl_calloc(1, sizeof(*w));
	brk_wr_i32(o, nt);
	for (i = 0; i < nt; i++) {
		struct sl_slice name;
		struct brk_topic *t;

		brk_rd_string(r, &name, "produce topic");
		np = brk_rd_array(r, 4 + 4, NULL, "produce partitions");
		if (!brk_rd_ok(r))
			goto malformed;
		t = name.p != NULL ? brk_topic_find(b, (const char *)name.p, name.len) : NULL;
		brk_wr_stringn(o, name.p, name.len);
		brk_wr_i32(o, np);
		for (j = 0; j < np; j++) {
			int32_t idx = brk_rd_i32(r, "partition");
			struct sl_slice recs;
			struct brk_part *p;
			int64_t base = -1, append_time = -1;
			int16_t error;
			size_t err_pos;
			int n_batches;

			brk_rd_bytes(r, &recs, "records");
			if (!brk_rd_ok(r))
				goto malformed;
			p = t != NULL && idx >= 0 && idx < t->conf.partitions ? &t->parts[idx] : NULL;
			if (v < 3)
				error = KERR_UNSUPPORTED_VERSION;
			else if (p == NULL)
				error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (acks != 0 && acks != 1 && acks != -1)
				error = KERR_INVALID_REQUIRED_ACKS;
			else
				error = validate_records(p, recs, &arena, &n_batches);
			if (error == KERR_NONE)
				error = append_records(b, p, (uint8_t *)(uintptr_t)recs.p,
				    recs.len, &base, &append_time);
			if (error != KERR_NONE)
				b->m.errors[API_PRODUCE]++;
			brk_wr_i32(o, idx);
			err_pos = o->len;
			brk_wr_i16(o, error);
			brk_wr_i64(o, base);
			if (v >= 2)
				brk_wr_i64(o, append_time);
			if (v >= 5)
				brk_wr_i64(o, p != NULL ? lg_partition_start(p->lg) : -1);
			if (w != NULL && error == KERR_NONE) {
				if (w->n == w->cap) {
					w->cap = w->cap ? w->cap * 2 : 8;
					w->parts = sl_realloc(w->parts, w->cap * sizeof(*w->parts));
					w->err_pos = sl_realloc(w->err_pos,
					    w->cap * sizeof(*w->err_pos));
				}
				w->parts[w->n] = p;
				w->err_pos[w->n] = err_pos;
				w->n++;
			}
		}
	}
	if (v >= 1)
		brk_wr_i32(o, 0);
	if (acks == 0) {
		rc = BRK_NORESP;
	} else if (w != NULL && w->n > 0) {
		/* (2): answered by the commit round taken after these appends (7). */
		w->s = brk_conn_defer(c);
		w->s->pw = w;
		w->next = b->commit_waiters;
		b->commit_waiters = w;
		w = NULL;
		brk_commit_schedule(b);	/* (6) */
		rc = BRK_DEFER;
	}
	goto out;
malformed:
	rc = r->err != 0 ? r->err : SL_ECORRUPT;
out:
	brk_produce_wait_free(w);
	sl_arena_free(&arena);
	return rc;
}
