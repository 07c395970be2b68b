/*
 * broker/fetch.c: Fetch v4-11 with long polling, served from segment files.
 *
 * Record bytes are never decoded or copied here: lg_partition_read() gives a
 * file range of whole batches, which server.c sends with sendfile.  The high
 * watermark is lg_partition_synced_end(), so a consumer never sees a batch a
 * power loss could take back (invariant (5) of brk_int.h).  A fetch that
 * finds fewer than min_bytes waits up to max_wait_ms on 'fetch_waiters' and
 * is re-run after every group commit.  Fetch sessions (KIP-227) are not
 * kept: every response carries session id 0, which tells the client to send
 * full fetch requests; a request naming a session gets
 * FETCH_SESSION_ID_NOT_FOUND.  isolation_level is accepted and served as
 * read_uncommitted (no transactions are ever written), so last_stable_offset
 * equals the high watermark and aborted_transactions is empty.
 *
 * FETCH REQUEST
 *   replica_id int32, max_wait_ms int32, min_bytes int32, max_bytes int32,
 *   isolation_level int8, session_id int32 (v7+), session_epoch int32 (v7+)
 *   topics [name, partitions [index int32, current_leader_epoch int32 (v9+),
 *           fetch_offset int64, log_start_offset int64 (v5+),
 *           partition_max_bytes int32]]
 *   forgotten_topics [name, [partition int32]] (v7+)
 *   rack_id string (v11)
 * FETCH RESPONSE
 *   throttle_time_ms int32, error int16 (v7+), session_id int32 (v7+)
 *   topics [name, partitions [index int32, error int16, high_watermark int64,
 *           last_stable_offset int64, log_start_offset int64 (v5+),
 *           aborted_transactions [producer_id int64, first_offset int64],
 *           preferred_read_replica int32 (v11), records bytes]]
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker/brk_int.h"

#define FETCH_MAX_WAIT_MS (5 * 60 * 1000)

struct fetch_part {
	int32_t index;
	int64_t offset;
	int32_t max_bytes;
};

struct fetch_topic {
	struct sl_slice name;		/* points into 'names' of the request */
	struct fetch_part *parts;
	int32_t n;
};

struct fetch_req {
	int16_t version;
	int32_t max_wait_ms;
	int32_t min_bytes;
	int32_t max_bytes;
	int32_t session_id;
	struct fetch_topic *topics;
	int32_t n_topics;
	struct sl_buf names;		/* copies of the topic names */
};

struct brk_fetch_wait {
	struct brk_broker *b;
	struct brk_slot *s;		/* the deferred request's response slot */
	struct brk_fetch_wait *prev, *next;	/* b->fetch_waiters */
	struct event *timer;
	struct fetch_req *req;
};

static void
fetch_req_free(struct fetch_req *q)
{
	int32_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n_topics; i++)
		free(q->topics[i].parts);
	free(q->topics);
	sl_buf_free(&q->names);
	free(q);
}

/* Decode a Fetch request into a heap copy that can outlive the frame. */
static int
fetch_decode(const struct brk_req_hdr *h, struct brk_rd *r, struct fetch_req **out)
{
	struct fetch_req *q = sl_calloc(1, sizeof(*q));
	int16_t v = h->api_version;
	size_t part_min = 4 + 8 + 4 + (v >= 5 ? 8 : 0) + (v >= 9 ? 4 : 0);
	size_t *name_off = NULL;
	int32_t i, j, n;

	*out = NULL;
	q->version = v;
	brk_rd_i32(r, "replica_id");
	q->max_wait_ms = brk_rd_i32(r, "max_wait_ms");
	q->min_bytes = brk_rd_i32(r, "min_bytes");
	q->max_bytes = brk_rd_i32(r, "max_bytes");
	brk_rd_i8(r, "isolation_level");
	if (v >= 7) {
		q->session_id = brk_rd_i32(r, "session_id");
		brk_rd_i32(r, "session_epoch");
	}
	q->n_topics = brk_rd_array(r, 2 + 4, NULL, "fetch topics");
	if (q->n_topics > 0) {
		q->topics = sl_calloc((size_t)q->n_topics, sizeof(*q->topics));
		name_off = sl_calloc((size_t)q->n_topics, sizeof(*name_off));
	}
	for (i = 0; i < q->n_topics && brk_rd_ok(r); i++) {
		struct fetch_topic *t = &q->topics[i];
		struct sl_slice name;

		brk_rd_string(r, &name, "fetch topic");
		name_off[i] = q->names.len;
		t->name.len = name.len;
		if (name.len > 0)
			sl_buf_add(&q->names, name.p, name.len);
		t->n = brk_rd_array(r, part_min, NULL, "fetch partitions");
		if (t->n > 0)
			t->parts = sl_calloc((size_t)t->n, sizeof(*t->parts));
		for (j = 0; j < t->n && brk_rd_ok(r); j++) {
			struct fetch_part *p = &t->parts[j];

			p->index = brk_rd_i32(r, "partition");
			if (v >= 9)
				brk_rd_i32(r, "current_leader_epoch");
			p->offset = brk_rd_i64(r, "fetch_offset");
			if (v >= 5)
				brk_rd_i64(r, "log_start_offset");
			p->max_bytes = brk_rd_i32(r, "partition_max_bytes");
		}
	}
	for (i = 0; i < q->n_topics; i++)	/* the buffer has stopped moving */
		q->topics[i].name.p = q->names.p != NULL ? q->names.p + name_off[i] :
		    (const uint8_t *)"";
	free(name_off);
	if (v >= 7) {
		n = brk_rd_array(r, 2 + 4, NULL, "forgotten topics");
		for (i = 0; i < n && brk_rd_ok(r); i++) {
			struct sl_slice name;

			brk_rd_string(r, &name, "forgotten topic");
			j = brk_rd_array(r, 4, NULL, "forgotten partitions");
			while (j-- > 0)
				brk_rd_i32(r, "forgotten partition");
		}
	}
	if (v >= 11) {
		struct sl_slice rack;

		brk_rd_string(r, &rack, "rack_id");
	}
	if (!brk_rd_ok(r)) {
		fetch_req_free(q);
		return r->err;
	}
	*out = q;
	return 0;
}

/*
 * Encode the response to 'q' into 'resp' from the current log state.
 * '*bytes' gets the record bytes included, '*errors' the partitions in
 * error (a reason to answer at once).
 */
static void
fetch_execute(struct brk_broker *b, const struct fetch_req *q, struct brk_resp *resp,
    int64_t *bytes, int *errors)
{
	struct sl_buf *o = &resp->b;
	int16_t v = q->version;
	int64_t budget = q->max_bytes > 0 ? q->max_bytes : 0;
	int32_t i, j;

	*bytes = 0;
	*errors = 0;
	brk_wr_i32(o, 0);
	if (v >= 7) {
		if (q->session_id != 0) {
			brk_wr_i16(o, KERR_FETCH_SESSION_ID_NOT_FOUND);
			brk_wr_i32(o, 0);
			brk_wr_i32(o, 0);
			*errors = 1;
			return;
		}
		brk_wr_i16(o, KERR_NONE);
		brk_wr_i32(o, 0);	/* sessionless */
	}
	brk_wr_i32(o, q->n_topics);
	for (i = 0; i < q->n_topics; i++) {
		const struct fetch_topic *ft = &q->topics[i];
		struct brk_topic *t = brk_topic_find(b, (const char *)ft->name.p, ft->name.len);

		brk_wr_stringn(o, ft->name.p, ft->name.len);
		brk_wr_i32(o, ft->n);
		for (j = 0; j < ft->n; j++) {
			const struct fetch_part *fp = &ft->parts[j];
			struct brk_part *p = t != NULL && fp->index >= 0 &&
			    fp->index < t->conf.partitions ? &t->parts[fp->index] : NULL;
			int64_t hw = -1, start = -1;
			int16_t error = KERR_NONE;
			struct lg_range range = { .fd = -1 };
			int have = 0;

			if (p == NULL) {
				error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			} else {
				hw = lg_partition_synced_end(p->lg);	/* (5) */
				start = lg_partition_start(p->lg);
				if (fp->offset < start || fp->offset > hw) {
					error = KERR_OFFSET_OUT_OF_RANGE;
				} else if (fp->offset < hw && fp->max_bytes > 0 &&
				    (*bytes == 0 || budget > *bytes)) {
					int64_t room = *bytes == 0 ? fp->max_bytes :
					    budget - *bytes;
					struct sl_err err = { 0 };
					int rc;

					if (room > fp->max_bytes)
						room = fp->max_bytes;
					rc = lg_partition_read(p->lg, fp->offset, (size_t)room,
					    hw, &range, &err);
					if (rc == SL_ERANGE) {
						error = KERR_OFFSET_OUT_OF_RANGE;
					} else if (rc != 0) {
						sl_error("broker: fetch %s-%d: %s", t->name,
						    (int)fp->index, sl_err_msg(&err, rc));
						error = KERR_KAFKA_STORAGE_ERROR;
					} else if (range.len > 0) {
						have = 1;
					} else {
						lg_range_release(&range);
					}
				}
			}
			if (error != KERR_NONE) {
				(*errors)++;
				b->m.errors[API_FETCH]++;
			}
			brk_wr_i32(o, fp->index);
			brk_wr_i16(o, error);
			brk_wr_i64(o, hw);
			brk_wr_i64(o, hw);	/* last stable offset */
			if (v >= 5)
				brk_wr_i64(o, start);
			brk_wr_i32(o, 0);	/* aborted transactions: none */
			if (v >= 11)
				brk_wr_i32(o, -1);	/* preferred read replica */
			if (have) {
				brk_wr_i32(o, (int32_t)range.len);
				brk_resp_add_file(resp, &range);
				*bytes += (int64_t)range.len;
			} else {
				brk_wr_i32(o, 0);
			}
		}
	}
}

static void
wait_unlink(struct brk_fetch_wait *w)
{
	struct brk_broker *b = w->b;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		b->fetch_waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

void
brk_fetch_wait_cancel(struct brk_fetch_wait *w)
{
	if (w == NULL)
		return;
	wait_unlink(w);
	if (w->timer != NULL)
		event_free(w->timer);
	fetch_req_free(w->req);
	free(w);
}

/* Answer 'w' with what is there now and free it. */
static void
wait_finish(struct brk_fetch_wait *w)
{
	struct brk_slot *s = w->s;
	int64_t bytes;
	int errors;

	brk_resp_reset(&s->resp);
	fetch_execute(w->b, w->req, &s->resp, &bytes, &errors);
	w->b->m.fetched_bytes += (uint64_t)bytes;
	s->fw = NULL;
	brk_fetch_wait_cancel(w);
	brk_slot_reply(s);
}

static void
wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	wait_finish(arg);
}

void
brk_fetch_wake(struct brk_broker *b)
{
	struct brk_fetch_wait *w, *next;
	struct brk_resp probe = { 0 };

	/*
	 * Replies only queue bytes (no request is decoded here), so the list
	 * holds still but for 'w' itself.
	 */
	for (w = b->fetch_waiters; w != NULL; w = next) {
		int64_t bytes;
		int errors;

		next = w->next;
		fetch_execute(b, w->req, &probe, &bytes, &errors);
		brk_resp_reset(&probe);
		if (bytes >= w->req->min_bytes || errors > 0)
			wait_finish(w);
	}
	brk_resp_free(&probe);
}

int
brk_fetch(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct fetch_req *q;
	struct brk_fetch_wait *w;
	struct timeval tv;
	int64_t bytes, wait_ms;
	int errors, rc;

	if ((rc = fetch_decode(h, r, &q)) != 0)
		return rc;
	fetch_execute(b, q, &c->resp, &bytes, &errors);
	wait_ms = q->max_wait_ms < FETCH_MAX_WAIT_MS ? q->max_wait_ms : FETCH_MAX_WAIT_MS;
	if (bytes >= q->min_bytes || errors > 0 || wait_ms <= 0 || c->bev == NULL) {
		b->m.fetched_bytes += (uint64_t)bytes;
		fetch_req_free(q);
		return BRK_DONE;
	}
	/* Long poll: park until a commit brings enough bytes or the timer fires. */
	brk_resp_reset(&c->resp);
	w = sl_calloc(1, sizeof(*w));
	w->b = b;
	w->s = brk_conn_defer(c);
	w->req = q;
	w->timer = evtimer_new(b->base, wait_timeout_cb, w);
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = (wait_ms % 1000) * 1000;
	evtimer_add(w->timer, &tv);
	w->next = b->fetch_waiters;
	if (w->next != NULL)
		w->next->prev = w;
	b->fetch_waiters = w;
	w->s->fw = w;	/* (2) */
	return BRK_DEFER;
}
