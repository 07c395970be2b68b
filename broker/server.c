/*
 * broker/server.c: the broker's event loop, connections and group commit.
 *
 * One libevent loop serves every connection.  A connection reads frames (a
 * 4-byte size then the request) and dispatches each as it arrives, also
 * while earlier ones wait: Produce with acks=all, Fetch long polls and
 * JoinGroup/SyncGroup are deferred into a response slot (brk_conn_defer)
 * and answered later from the commit completion, a timer or the group
 * coordinator.  Responses leave strictly in request order: the slots form a
 * queue and only its ready prefix is written (invariant (1) of brk_int.h).
 * At BRK_INFLIGHT_MAX slots no further frame is decoded.  Responses are
 * written with the file ranges of Fetch spliced in as evbuffer file
 * segments, so record bytes go from the page cache to the socket with
 * sendfile.
 *
 * REQUEST STATES (per request of a connection)
 *   buffered  --conn_process: slot free-->            dispatched
 *   dispatched --BRK_DONE, queue empty-->             written
 *   dispatched --BRK_DONE behind a waiting slot-->    ready slot
 *   dispatched --BRK_DEFER (brk_conn_defer)-->        waiting slot
 *   waiting slot --brk_slot_reply-->                  ready slot
 *   ready slot at the head --conn_flush-->            written
 *   any       --EOF, error, bad frame: conn_close-->  slots cancelled, freed
 *
 * GROUP COMMIT: every append marks its partition dirty and activates
 * 'commit_ev' once; the event runs after the callbacks of the current loop
 * iteration and hands a round (the dirty partitions and the acks=all
 * waiters) to the committer thread, which calls lg_partition_sync once per
 * partition (with persistent helper threads when the round has several)
 * and wakes the loop through a pipe.  The loop then answers the round's
 * waiters, wakes the fetch long polls, and starts the next round with
 * everything that arrived during the sync, so one fdatasync covers all of
 * it (invariant (7)).  OffsetCommits ride along: the group coordinator's
 * offsets log joins a round when commits wait for it ('goff_part'), and
 * brk_groups_offsets_done answers them when the round is finished.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "broker/brk_int.h"
#include "broker/group.h"

/* A round that appended this much for several requests defers the next (8). */
#define BRK_COMMIT_DELAY_BYTES (8 * 1024)
/* Keep decoding pipelined requests while less than this is queued to send. */
#define BRK_OUT_HIGH (256 * 1024)
/* Extra threads syncing the partitions of one commit round side by side. */
#define BRK_COMMIT_HELPERS 3
/* Smallest legal frame: api key, version, correlation id, client id length. */
#define BRK_FRAME_MIN 10
/* conn_fill: bytes per recv, and recvs per read callback */
#define BRK_READ_CHUNK (256 * 1024)
#define BRK_READ_ROUNDS 8

static void conn_process(struct brk_conn *c);
static void conn_close(struct brk_conn *c);

/* ------------------------------------------------------------ responses */

void
brk_resp_add_file(struct brk_resp *r, const struct lg_range *range)
{
	if (r->n_files == r->cap_files) {
		r->cap_files = r->cap_files ? r->cap_files * 2 : 8;
		r->files = sl_realloc(r->files, r->cap_files * sizeof(*r->files));
	}
	r->files[r->n_files].at = r->b.len;
	r->files[r->n_files].range = *range;
	r->n_files++;
	r->file_bytes += range->len;
}

void
brk_resp_reset(struct brk_resp *r)
{
	size_t i;

	for (i = 0; i < r->n_files; i++)
		lg_range_release(&r->files[i].range);
	r->n_files = 0;
	r->file_bytes = 0;
	sl_buf_reset(&r->b);
}

void
brk_resp_free(struct brk_resp *r)
{
	brk_resp_reset(r);
	free(r->files);
	r->files = NULL;
	r->cap_files = 0;
	sl_buf_free(&r->b);
}

static void
range_cleanup(const struct evbuffer_file_segment *seg, int flags, void *arg)
{
	struct lg_range *range = arg;

	(void)seg;
	(void)flags;
	lg_range_release(range);
	free(range);
}

/* Queue the bytes of 'range' on 'out': sendfile when possible, else pread. */
static void
out_add_range(struct evbuffer *out, struct lg_range *range)
{
	struct evbuffer_file_segment *seg;
	struct lg_range *held;
	size_t done = 0;

	if (range->len == 0) {
		lg_range_release(range);
		return;
	}
	seg = evbuffer_file_segment_new(range->fd, range->pos, (ev_off_t)range->len, 0);
	if (seg != NULL) {
		held = sl_malloc(sizeof(*held));
		*held = *range;
		evbuffer_file_segment_add_cleanup_cb(seg, range_cleanup, held);
		if (evbuffer_add_file_segment(out, seg, 0, (ev_off_t)range->len) == 0) {
			evbuffer_file_segment_free(seg);	/* 'out' keeps its own reference */
			return;
		}
		evbuffer_file_segment_free(seg);	/* runs range_cleanup */
		sl_error("broker: evbuffer_add_file_segment failed");
		return;
	}
	/* Fallback: copy.  The length was announced already, so fill it even on error. */
	while (done < range->len) {
		uint8_t tmp[65536];
		size_t want = range->len - done < sizeof(tmp) ? range->len - done : sizeof(tmp);
		ssize_t n = pread(range->fd, tmp, want, range->pos + (off_t)done);

		if (n <= 0) {
			memset(tmp, 0, want);
			n = (ssize_t)want;
		}
		evbuffer_add(out, tmp, (size_t)n);
		done += (size_t)n;
	}
	lg_range_release(range);
}

/* Queue 'r' as the response with 'corr' of a request of 'api_key'; empties 'r'. */
static void
conn_write(struct brk_conn *c, int16_t api_key, int32_t corr, int64_t start_ns,
    struct brk_resp *r)
{
	struct evbuffer *out;
	uint8_t hdr[8];
	size_t i, pos = 0, total;

	if (api_key == API_PRODUCE)
		brk_hist_observe(&c->b->m.produce_latency,
		    (double)(sl_mono_ns() - start_ns) / 1e9);
	else if (api_key == API_FETCH)
		brk_hist_observe(&c->b->m.fetch_latency,
		    (double)(sl_mono_ns() - start_ns) / 1e9);
	if (c->bev == NULL) {
		/* A detached connection keeps it in 'c->resp' for the caller. */
		if (r != &c->resp) {
			struct brk_resp tmp = c->resp;

			c->resp = *r;
			*r = tmp;
			brk_resp_reset(r);
		}
		c->replied = 1;
		return;
	}
	out = bufferevent_get_output(c->bev);
	total = 4 + r->b.len + r->file_bytes;
	sl_put_be32(hdr, (uint32_t)total);
	sl_put_be32(hdr + 4, (uint32_t)corr);
	evbuffer_add(out, hdr, sizeof(hdr));
	for (i = 0; i < r->n_files; i++) {
		struct brk_file_piece *f = &r->files[i];

		if (f->at > pos)
			evbuffer_add(out, r->b.p + pos, f->at - pos);
		pos = f->at;
		out_add_range(out, &f->range);	/* takes the reference */
	}
	if (r->b.len > pos)
		evbuffer_add(out, r->b.p + pos, r->b.len - pos);
	c->b->m.bytes_out += total + 4;
	r->n_files = 0;
	r->file_bytes = 0;
	sl_buf_reset(&r->b);
}

/*
 * Hand the queued responses to the socket now.  The bufferevent's own
 * writing costs, per response, an epoll_ctl to watch for EPOLLOUT, a loop
 * iteration and an epoll_ctl to stop watching; a socket with room takes the
 * response at once.  Only what the socket refuses is left to libevent
 * (EV_WRITE on until write_cb sees the output empty), and a write error is
 * left for its next write to report through event_cb.
 */
static void
conn_send(struct brk_conn *c)
{
	struct evbuffer *out;
	evutil_socket_t fd;

	if (c->bev == NULL || c->writing)
		return;
	out = bufferevent_get_output(c->bev);
	fd = bufferevent_getfd(c->bev);
	/*
	 * One call per run of memory or per file range (sendfile).  The
	 * bufferevent keeps its output's start frozen except while it writes.
	 */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
		;
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) > 0) {
		c->writing = 1;
		bufferevent_enable(c->bev, EV_WRITE);
	}
}

/* ------------------------------------------------------------- slots (1) */

/* A slot at the end of 'c->slots' for the request being dispatched. */
static struct brk_slot *
slot_push(struct brk_conn *c)
{
	struct brk_slot *s = c->free_slots;
	struct brk_resp tmp;

	if (s != NULL)
		c->free_slots = s->next;
	else
		s = sl_calloc(1, sizeof(*s));
	s->c = c;
	s->next = NULL;
	s->api_key = c->api_key;
	s->api_version = c->api_version;
	s->correlation_id = c->correlation_id;
	s->start_ns = c->start_ns;
	s->ready = 0;
	/* The response built so far moves; 'c->resp' gets the slot's empty one. */
	tmp = s->resp;
	s->resp = c->resp;
	c->resp = tmp;
	if (c->slots == NULL)
		c->slots_tail = &c->slots;
	*c->slots_tail = s;
	c->slots_tail = &s->next;
	c->n_slots++;
	return s;
}

/* Keep a sent slot for reuse, or free it if the connection keeps enough. */
static void
slot_release(struct brk_conn *c, struct brk_slot *s)
{
	brk_resp_reset(&s->resp);
	if (s->resp.b.cap > (1u << 20)) {
		brk_resp_free(&s->resp);
		free(s);
		return;
	}
	s->next = c->free_slots;
	c->free_slots = s;
}

/* Write the ready prefix of 'c->slots'. */
static void
conn_flush(struct brk_conn *c)
{
	struct brk_slot *s;

	while ((s = c->slots) != NULL && s->ready) {
		c->slots = s->next;
		if (c->slots == NULL)
			c->slots_tail = &c->slots;
		c->n_slots--;
		conn_write(c, s->api_key, s->correlation_id, s->start_ns, &s->resp);
		slot_release(c, s);
	}
	conn_send(c);
	/*
	 * Frames held back while the slots were full are decoded from write_cb
	 * once the output drains, or, when it drained at once, from a read
	 * callback deferred to the loop (never from here: the caller may be
	 * inside conn_process or a handler of this connection).
	 */
	if (c->bev != NULL && c->held && !c->writing && c->n_slots < BRK_INFLIGHT_MAX) {
		c->held = 0;
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

struct brk_slot *
brk_conn_defer(struct brk_conn *c)
{
	return slot_push(c);
}

void
brk_slot_reply(struct brk_slot *s)
{
	s->ready = 1;
	conn_flush(s->c);
}

/* --------------------------------------------------------- connections */

/*
 * Decode and dispatch the buffered frames.  Returns 1 when it stopped for
 * a full output buffer, -1 when it closed (freed) 'c', else 0.
 */
static int
conn_frames(struct brk_conn *c)
{
	struct brk_broker *b = c->b;
	struct evbuffer *in, *out;
	uint8_t sz[4];
	int64_t size;
	int rc;

	if (c->bev == NULL)
		return 0;
	in = bufferevent_get_input(c->bev);
	out = bufferevent_get_output(c->bev);
	while (c->n_slots < BRK_INFLIGHT_MAX) {	/* (1) */
		size_t have = evbuffer_get_length(in);

		if (have < 4)
			return 0;
		evbuffer_copyout(in, sz, 4);
		size = (int32_t)sl_get_be32(sz);
		if (size < BRK_FRAME_MIN || size > b->cfg.max_request_bytes) {	/* (3) */
			sl_warn("broker: %s: frame size %lld outside %d..%lld, closing",
			    c->peer, (long long)size, BRK_FRAME_MIN,
			    (long long)b->cfg.max_request_bytes);
			b->m.bad_frames++;
			conn_close(c);
			return -1;
		}
		if (have < 4 + (size_t)size)
			return 0;	/* the read watermark bounds what is buffered */
		evbuffer_drain(in, 4);
		sl_buf_reset(&c->frame);
		sl_buf_reserve(&c->frame, (size_t)size);
		evbuffer_remove(in, c->frame.p, (size_t)size);
		c->frame.len = (size_t)size;
		b->m.bytes_in += (uint64_t)size + 4;
		rc = brk_dispatch(b, c, c->frame.p, c->frame.len);
		if (rc < 0) {
			sl_warn("broker: %s: malformed request (api %d v%d): %s, closing",
			    c->peer, c->api_key, c->api_version, sl_strerror(rc));
			b->m.bad_frames++;
			conn_close(c);
			return -1;
		}
		if (rc == BRK_DONE) {
			if (c->slots == NULL)
				conn_write(c, c->api_key, c->correlation_id, c->start_ns,
				    &c->resp);
			else	/* behind a waiting request: wait for its turn (1) */
				slot_push(c)->ready = 1;
		}
		/* BRK_DEFER: the handler queued its slot; BRK_NORESP: nothing to send. */
		if (c->frame.cap > (1u << 20))
			sl_buf_free(&c->frame);	/* one huge request must not pin its memory */
		if (evbuffer_get_length(out) >= BRK_OUT_HIGH)
			return 1;
	}
	c->held = evbuffer_get_length(in) > 0;	/* (1): conn_flush resumes */
	return 0;
}

static void
conn_process(struct brk_conn *c)
{
	int rc;

	do {
		if ((rc = conn_frames(c)) < 0)
			return;
		conn_send(c);
		/* a full output that the socket did not take: write_cb resumes */
	} while (rc == 1 && !c->writing && c->bev != NULL);
}

/*
 * Take what the socket holds in large pieces.  libevent 2.1 reads at most
 * 4 KiB per wake-up (EVBUFFER_MAX_READ, fixed in that version), each piece
 * costing an epoll_wait, a FIONREAD ioctl and a readv: a 1 MB produce
 * request took ~750 system calls and the requests behind it waited in the
 * socket.  Bounded by the read watermark (3) and by BRK_READ_ROUNDS, so
 * one busy connection cannot starve the others.  End of stream and errors
 * are left in the socket for the bufferevent's next read to report.
 */
static void
conn_fill(struct brk_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	size_t cap = (size_t)c->b->cfg.max_request_bytes + 4;
	size_t have = evbuffer_get_length(in);
	uint8_t sz[4];
	int round;

	/*
	 * The common small request: less than libevent's 4 KiB piece holding
	 * exactly one whole frame, so that read was short and the socket is
	 * empty; a recv would only say EAGAIN.
	 */
	if (have >= 4 && have < 4096 && evbuffer_copyout(in, sz, 4) == 4 &&
	    (size_t)(int32_t)sl_get_be32(sz) + 4 == have)
		return;
	/* the bufferevent keeps its input's end frozen except while it reads */
	evbuffer_unfreeze(in, 0);
	for (round = 0; round < BRK_READ_ROUNDS; round++) {
		struct evbuffer_iovec v;
		size_t want;
		ssize_t n;

		have = evbuffer_get_length(in);
		if (have >= cap)
			break;
		want = cap - have < BRK_READ_CHUNK ? cap - have : BRK_READ_CHUNK;
		if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) != 1 || v.iov_len < want)
			break;
		n = recv(fd, v.iov_base, want, MSG_DONTWAIT);
		if (n <= 0)
			break;	/* nothing reserved is kept without a commit */
		v.iov_len = (size_t)n;
		if (evbuffer_commit_space(in, &v, 1) != 0 || (size_t)n < want)
			break;	/* drained */
	}
	evbuffer_freeze(in, 0);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct brk_conn *c = arg;

	(void)bev;
	conn_fill(c);
	conn_process(c);
}

/* The output drained (write low watermark 0): writing goes back to conn_send. */
static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct brk_conn *c = arg;

	c->writing = 0;
	bufferevent_disable(bev, EV_WRITE);
	conn_process(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct brk_conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_TIMEOUT) && c->n_slots > 0 &&
	    !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		/* Not idle: a request is waiting (long poll, join).  Read on. */
		bufferevent_enable(c->bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		sl_debug("broker: %s: idle timeout", c->peer);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

/* Unlink every deferred piece of 'c' (2), then free it. */
static void
conn_close(struct brk_conn *c)
{
	struct brk_broker *b = c->b;
	struct brk_slot *s;

	while ((s = c->slots) != NULL) {
		c->slots = s->next;
		if (s->pw != NULL) {
			struct brk_produce_wait **pp;

			/* (2): on the pending round's list or the running one's. */
			for (pp = &b->commit_waiters; *pp != NULL && *pp != s->pw;
			    pp = &(*pp)->next)
				;
			if (*pp == NULL)
				for (pp = &b->round.waiters; *pp != NULL && *pp != s->pw;
				    pp = &(*pp)->next)
					;
			if (*pp != NULL)
				*pp = s->pw->next;
			brk_produce_wait_free(s->pw);
		}
		if (s->fw != NULL)
			brk_fetch_wait_cancel(s->fw);
		if (s->gt != NULL) {
			if (b->groups != NULL)
				brk_groups_cancel(b->groups, s->gt);
			free(s->gt);
		}
		brk_resp_free(&s->resp);
		free(s);
	}
	while ((s = c->free_slots) != NULL) {
		c->free_slots = s->next;
		brk_resp_free(&s->resp);
		free(s);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		b->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	b->n_conns--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	brk_resp_free(&c->resp);
	sl_buf_free(&c->frame);
	free(c);
}

static struct brk_conn *
conn_new(struct brk_broker *b)
{
	struct brk_conn *c = sl_calloc(1, sizeof(*c));

	c->b = b;
	c->slots_tail = &c->slots;
	c->next = b->conns;
	if (b->conns != NULL)
		b->conns->prev = c;
	b->conns = c;
	b->n_conns++;
	return c;
}

struct brk_conn *
brk_conn_detached(struct brk_broker *b)
{
	struct brk_conn *c = conn_new(b);

	snprintf(c->peer, sizeof(c->peer), "detached");
	return c;
}

void
brk_conn_free(struct brk_conn *c)
{
	if (c != NULL)
		conn_close(c);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct brk_broker *b = arg;
	struct brk_conn *c;
	struct timeval tv;
	char host[64], serv[16];
	int one = 1;

	(void)l;
	b->m.connections_total++;
	if (b->n_conns >= b->cfg.max_connections) {
		b->m.connections_rejected++;
		sl_warn("broker: %lld connections open (max_connections), refusing one",
		    (long long)b->n_conns);
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(b);
	if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(c->peer, sizeof(c->peer), "%s:%s", host, serv);
	c->bev = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		conn_close(c);
		return;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	/* (3): never buffer more than one maximal frame of input. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)b->cfg.max_request_bytes + 4);
	if (b->cfg.idle_timeout_ms > 0) {
		tv.tv_sec = b->cfg.idle_timeout_ms / 1000;
		tv.tv_usec = (b->cfg.idle_timeout_ms % 1000) * 1000;
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
	/* EV_WRITE (on in a new bufferevent) only while conn_send needs it */
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_enable(c->bev, EV_READ);
}

/* ---------------------------------------------------------- group commit */

void
brk_produce_wait_free(struct brk_produce_wait *w)
{
	if (w == NULL)
		return;
	free(w->parts);
	free(w->err_pos);
	free(w);
}

void
brk_commit_schedule(struct brk_broker *b)
{
	if (!b->commit_scheduled && b->commit_ev != NULL) {
		b->commit_scheduled = 1;
		event_active(b->commit_ev, EV_TIMEOUT, 0);
	}
}

void
brk_part_mark_dirty(struct brk_broker *b, struct brk_part *p)
{
	if (!p->dirty) {
		p->dirty = 1;
		p->next_dirty = b->dirty;
		b->dirty = p;
	}
	brk_commit_schedule(b);
}

/*
 * OffsetCommit appended records (group.h): take the offsets log into the
 * next round when one runs or is due anyway ('must': earlier commits wait
 * in it), so its fdatasync overlaps the produce partitions' instead of
 * blocking the loop; when the committer is idle, let the commit sync on the
 * loop, which is cheaper than a round of its own (no thread hand-off).
 */
static int
goff_defer_cb(void *arg, int must)
{
	struct brk_broker *b = arg;

	if (!must && !b->round_busy && b->dirty == NULL && b->commit_waiters == NULL)
		return 0;
	b->goff_dirty = 1;
	brk_commit_schedule(b);
	return 1;
}

static void
round_push(struct brk_commit_round *r, struct brk_part *p)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->parts = sl_realloc(r->parts, r->cap * sizeof(*r->parts));
	}
	r->parts[r->n++] = p;
}

/* Move the dirty partitions and the pending waiters into 'b->round' (loop). */
static void
round_take(struct brk_broker *b)
{
	struct brk_commit_round *r = &b->round;
	struct brk_part *p, *next;
	struct lg_partition *goff;
	struct brk_produce_wait *w;

	b->commit_scheduled = 0;
	r->n = 0;
	r->goff = 0;
	for (p = b->dirty; p != NULL; p = next) {
		next = p->next_dirty;
		p->next_dirty = NULL;
		p->dirty = 0;
		round_push(r, p);
	}
	b->dirty = NULL;
	if (b->goff_dirty) {
		b->goff_dirty = 0;
		goff = b->groups != NULL ? brk_groups_offsets_take(b->groups) : NULL;
		if (goff != NULL) {
			b->goff_part.lg = goff;
			b->goff_part.sync_err = 0;
			round_push(r, &b->goff_part);
			r->goff = 1;
		}
	}
	r->waiters = b->commit_waiters;
	b->commit_waiters = NULL;
	r->requests = 0;
	for (w = r->waiters; w != NULL; w = w->next)
		r->requests++;
	r->bytes = b->m.produced_bytes - b->round_bytes_mark;
	b->round_bytes_mark = b->m.produced_bytes;
}

/*
 * Helpers that sync the partitions of one round side by side.  They live as
 * long as the committer thread (created by committer_start, stopped by
 * committer_stop) and sleep on 'work' between rounds, so a round costs a
 * wake-up per helper it needs instead of a thread created and joined.
 * A round of one partition wakes none.
 */
struct brk_commit_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;		/* helpers: a round is posted, or stop */
	pthread_cond_t idle;		/* committer: the last helper is done */
	struct brk_commit_round *r;	/* the posted round, NULL between rounds */
	size_t next;			/* index of the next partition to sync */
	uint64_t gen;			/* bumped per posted round */
	int busy;			/* helpers inside the posted round */
	int stop;
	int n;				/* threads running */
	pthread_t th[BRK_COMMIT_HELPERS];
};

/* Sync partitions of the posted round until none is left.  Under 'mu'. */
static void
pool_drain(struct brk_commit_pool *pool)
{
	struct brk_commit_round *r = pool->r;
	size_t i;

	while (r != NULL && pool->next < r->n) {
		i = pool->next++;
		pthread_mutex_unlock(&pool->mu);
		r->parts[i]->sync_err = lg_partition_sync(r->parts[i]->lg, NULL);
		pthread_mutex_lock(&pool->mu);
	}
}

static void *
pool_main(void *arg)
{
	struct brk_commit_pool *pool = arg;
	uint64_t seen;

	pthread_mutex_lock(&pool->mu);
	seen = pool->gen;
	for (;;) {
		while (!pool->stop && (pool->gen == seen || pool->r == NULL))
			pthread_cond_wait(&pool->work, &pool->mu);
		if (pool->stop)
			break;
		seen = pool->gen;
		pool->busy++;
		pool_drain(pool);
		if (--pool->busy == 0)
			pthread_cond_signal(&pool->idle);
	}
	pthread_mutex_unlock(&pool->mu);
	return NULL;
}

static struct brk_commit_pool *
pool_start(void)
{
	struct brk_commit_pool *pool = sl_calloc(1, sizeof(*pool));
	int i;

	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->work, NULL);
	pthread_cond_init(&pool->idle, NULL);
	for (i = 0; i < BRK_COMMIT_HELPERS; i++)
		if (pthread_create(&pool->th[pool->n], NULL, pool_main, pool) == 0)
			pool->n++;
	return pool;
}

static void
pool_stop(struct brk_commit_pool *pool)
{
	int i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->stop = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->mu);
	for (i = 0; i < pool->n; i++)
		pthread_join(pool->th[i], NULL);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->work);
	pthread_cond_destroy(&pool->idle);
	free(pool);
}

/*
 * Sync the partitions of 'r': on the committer thread, or on the loop when
 * there is none.  With a 'pool' and more than one partition, up to
 * BRK_COMMIT_HELPERS helpers sync beside the caller, so several
 * fdatasyncs are in flight at once and the file system can fold them into
 * fewer journal commits.  Returns when every partition of 'r' is synced.
 */
static void
round_sync(struct brk_commit_round *r, struct brk_commit_pool *pool)
{
	size_t i, wake;

	if (pool == NULL || pool->n == 0 || r->n < 2) {
		for (i = 0; i < r->n; i++)
			r->parts[i]->sync_err = lg_partition_sync(r->parts[i]->lg, NULL);
		return;
	}
	pthread_mutex_lock(&pool->mu);
	pool->r = r;
	pool->next = 0;
	pool->gen++;
	pthread_mutex_unlock(&pool->mu);
	/* Signalled unlocked, so a woken helper does not block on 'mu' at once. */
	wake = r->n - 1 < (size_t)pool->n ? r->n - 1 : (size_t)pool->n;
	for (i = 0; i < wake; i++)
		pthread_cond_signal(&pool->work);
	pthread_mutex_lock(&pool->mu);
	pool_drain(pool);
	while (pool->busy > 0)	/* a helper still syncs its last partition */
		pthread_cond_wait(&pool->idle, &pool->mu);
	pool->r = NULL;		/* a helper waking late finds nothing to do */
	pthread_mutex_unlock(&pool->mu);
}

/* The round is synced: answer its waiters and wake the long polls (loop). */
static void
round_finish(struct brk_broker *b)
{
	struct brk_commit_round *r = &b->round;
	struct brk_produce_wait *w, *wnext;
	size_t i;
	int any = r->n > (size_t)r->goff;	/* produce partitions synced */

	if (r->n > 0 || r->waiters != NULL)
		b->m.commit_rounds++;
	for (i = 0; i < r->n; i++) {
		struct brk_part *p = r->parts[i];

		b->m.syncs++;
		if (p->sync_err != 0 && p->topic != NULL)
			sl_error("broker: sync %s-%d: %s", p->topic->name, (int)p->index,
			    sl_strerror(p->sync_err));
	}
	r->n = 0;
	if (r->goff) {
		/* Commits of the round become visible, their replies queued. */
		r->goff = 0;
		b->goff_part.lg = NULL;
		brk_groups_offsets_done(b->groups, b->goff_part.sync_err);
	}
	w = r->waiters;
	r->waiters = NULL;
	for (; w != NULL; w = wnext) {
		struct brk_slot *s = w->s;

		wnext = w->next;
		for (i = 0; i < w->n; i++)
			if (w->parts[i]->sync_err != 0) {
				sl_put_be16(s->resp.b.p + w->err_pos[i],
				    (uint16_t)KERR_KAFKA_STORAGE_ERROR);
				b->m.errors[API_PRODUCE]++;
			}
		s->pw = NULL;
		brk_produce_wait_free(w);
		brk_slot_reply(s);
	}
	if (any)
		brk_fetch_wake(b);
}

/* Wait for the round on the committer thread, if any, and finish it (7). */
static void
round_wait(struct brk_broker *b)
{
	if (!b->round_busy)
		return;
	pthread_mutex_lock(&b->commit_lock);
	while (!b->commit_done)
		pthread_cond_wait(&b->commit_cond, &b->commit_lock);
	b->commit_done = 0;
	pthread_mutex_unlock(&b->commit_lock);
	b->round_busy = 0;
	round_finish(b);
}

/* Hand the next round to the committer thread unless one runs (loop). */
static void
round_start(struct brk_broker *b)
{
	if (!b->commit_running) {
		brk_commit_now(b);
		return;
	}
	if (b->round_busy) {
		b->commit_scheduled = 0;	/* commit_done_cb starts the next one */
		return;
	}
	if (b->dirty == NULL && b->commit_waiters == NULL && !b->goff_dirty) {
		b->commit_scheduled = 0;
		return;
	}
	round_take(b);
	b->round_busy = 1;
	pthread_mutex_lock(&b->commit_lock);
	b->commit_go = 1;
	pthread_mutex_unlock(&b->commit_lock);
	/* After unlocking: the woken committer need not block on the lock. */
	pthread_cond_broadcast(&b->commit_cond);
}

void
brk_commit_now(struct brk_broker *b)
{
	round_wait(b);
	round_take(b);
	round_sync(&b->round, NULL);
	round_finish(b);
}

static void *
commit_main(void *arg)
{
	struct brk_broker *b = arg;
	char one = 1;

	pthread_mutex_lock(&b->commit_lock);
	for (;;) {
		while (!b->commit_go && !b->commit_stop)
			pthread_cond_wait(&b->commit_cond, &b->commit_lock);
		if (!b->commit_go)
			break;
		b->commit_go = 0;
		pthread_mutex_unlock(&b->commit_lock);
		round_sync(&b->round, b->commit_pool);	/* (7): the loop leaves 'round' alone meanwhile */
		pthread_mutex_lock(&b->commit_lock);
		b->commit_done = 1;
		pthread_cond_broadcast(&b->commit_cond);
		pthread_mutex_unlock(&b->commit_lock);
		while (write(b->commit_pipe[1], &one, 1) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&b->commit_lock);
	}
	pthread_mutex_unlock(&b->commit_lock);
	return NULL;
}

/*
 * (8) Group commit delay, as PostgreSQL's commit_delay: after a round that
 * answered several produce requests carrying BRK_COMMIT_DELAY_BYTES or
 * more, producers are pipelining more than a round takes, so the next
 * round starts commit_delay_us after this one ended and one fdatasync per
 * partition covers what arrives meanwhile.  librdkafka sends a partition's
 * batch when one of its five requests in flight returns, so acks that come
 * back a little later also mean bigger batches and fewer requests.  Under a
 * trickle (single transactions, a consumer's offsets) rounds hold one
 * request or a few small ones and nothing waits.  Returns 1 when the next
 * round was deferred.
 */
static int
round_delay(struct brk_broker *b)
{
	struct timeval tv;

	if (b->cfg.commit_delay_us <= 0 || b->commit_delay_ev == NULL ||
	    b->round.requests < 2 || b->round.bytes < BRK_COMMIT_DELAY_BYTES)
		return 0;
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)b->cfg.commit_delay_us;
	b->commit_scheduled = 1;	/* appends meanwhile do not start it early */
	evtimer_add(b->commit_delay_ev, &tv);
	b->m.commit_delays++;
	return 1;
}

static void
commit_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct brk_broker *b = arg;
	char buf[64];
	int done;

	(void)what;
	/* One byte per round: a short read has emptied the pipe. */
	while (read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
		;
	pthread_mutex_lock(&b->commit_lock);
	done = b->commit_done;
	pthread_mutex_unlock(&b->commit_lock);
	if (!done || !b->round_busy)
		return;	/* brk_commit_now finished it already */
	round_wait(b);
	if (round_delay(b))
		return;
	round_start(b);	/* everything that arrived during the sync */
}

static int
committer_start(struct brk_broker *b, struct sl_err *err)
{
	int rc;

	if (pipe2(b->commit_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		rc = -errno;
		b->commit_pipe[0] = b->commit_pipe[1] = -1;
		return sl_errf(err, rc, "committer pipe: %s", sl_strerror(rc));
	}
	b->commit_done_ev = event_new(b->base, b->commit_pipe[0], EV_READ | EV_PERSIST,
	    commit_done_cb, b);
	event_add(b->commit_done_ev, NULL);
	b->commit_pool = pool_start();
	if ((rc = pthread_create(&b->commit_thread, NULL, commit_main, b)) != 0)
		return sl_errf(err, -rc, "committer thread: %s", sl_strerror(-rc));
	b->commit_running = 1;
	return 0;
}

static void
committer_stop(struct brk_broker *b)
{
	if (b->commit_running) {
		round_wait(b);
		pthread_mutex_lock(&b->commit_lock);
		b->commit_stop = 1;
		pthread_cond_broadcast(&b->commit_cond);
		pthread_mutex_unlock(&b->commit_lock);
		pthread_join(b->commit_thread, NULL);
		b->commit_running = 0;
	}
	pool_stop(b->commit_pool);
	b->commit_pool = NULL;
	if (b->commit_done_ev != NULL) {
		event_free(b->commit_done_ev);
		b->commit_done_ev = NULL;
	}
	if (b->commit_pipe[0] >= 0) {
		close(b->commit_pipe[0]);
		close(b->commit_pipe[1]);
		b->commit_pipe[0] = b->commit_pipe[1] = -1;
	}
}

static void
commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	round_start(arg);
}

static void
retention_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	brk_retention_run(arg);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct brk_broker *b = arg;

	(void)what;
	sl_info("broker: signal %d, shutting down", (int)sig);
	event_base_loopexit(b->base, NULL);
}

/* ------------------------------------------------------------- lifecycle */

static int
listen_on(struct brk_broker *b, struct sl_err *err)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char *host = NULL, port[16];
	int p, rc;

	if ((rc = brk_parse_hostport(b->cfg.listen, &host, &p, err)) != 0)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", p);
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		rc = sl_errf(err, SL_ECONFIG, "listen %s: %s", b->cfg.listen,
		    gai_strerror(rc));
		goto out;
	}
	b->listener = evconnlistener_new_bind(b->base, accept_cb, b,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128, res->ai_addr,
	    (int)res->ai_addrlen);
	if (b->listener == NULL) {
		rc = -errno;
		if (rc == 0)
			rc = -EADDRINUSE;
		sl_errf(err, rc, "listen %s: %s", b->cfg.listen, sl_strerror(rc));
		goto out;
	}
	if (getsockname(evconnlistener_get_fd(b->listener), (struct sockaddr *)&ss, &sl) == 0)
		b->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	if (b->adv_host == NULL)
		b->adv_host = sl_strdup(host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
		    strcmp(host, "::") == 0 ? "localhost" : host);
	if (b->adv_port == 0)
		b->adv_port = b->port;
	rc = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	return rc;
}

static int
topic_exists_cb(void *arg, const char *topic, int32_t partition)
{
	return brk_part_find(arg, topic, strlen(topic), partition) != NULL;
}

int
brk_open_ex(const struct brk_config *cfg, int serve, struct brk_broker **out,
    struct sl_err *err)
{
	struct brk_broker *b = sl_calloc(1, sizeof(*b));
	int rc;

	*out = NULL;
	b->cfg = *cfg;
	b->cfg.listen = cfg->listen != NULL ? sl_strdup(cfg->listen) : NULL;
	b->cfg.http = cfg->http != NULL ? sl_strdup(cfg->http) : NULL;
	b->cfg.data_dir = sl_strdup(cfg->data_dir != NULL ? cfg->data_dir : "./data");
	b->cfg.advertised = cfg->advertised != NULL ? sl_strdup(cfg->advertised) : NULL;
	b->port = -1;
	b->http_port = -1;
	b->max_partitions = BRK_PARTITIONS_MAX;
	b->started_ms = sl_now_ms();
	pthread_mutex_init(&b->bg_lock, NULL);
	pthread_cond_init(&b->bg_cond, NULL);
	pthread_mutex_init(&b->commit_lock, NULL);
	pthread_cond_init(&b->commit_cond, NULL);
	b->commit_pipe[0] = b->commit_pipe[1] = -1;
	if (b->cfg.advertised != NULL) {
		const char *colon = strrchr(b->cfg.advertised, ':');

		if (colon != NULL) {
			if ((rc = brk_parse_hostport(b->cfg.advertised, &b->adv_host,
			    &b->adv_port, err)) != 0)
				goto fail;
		} else {
			b->adv_host = sl_strdup(b->cfg.advertised);
		}
	}
	if ((rc = sl_mkdir_p(b->cfg.data_dir, 0755)) != 0) {
		sl_errf(err, rc, "data_dir %s: %s", b->cfg.data_dir, sl_strerror(rc));
		goto fail;
	}
	if ((b->base = event_base_new()) == NULL) {
		rc = sl_errf(err, -ENOMEM, "event_base_new failed");
		goto fail;
	}
	b->commit_ev = event_new(b->base, -1, 0, commit_cb, b);
	b->commit_delay_ev = evtimer_new(b->base, commit_cb, b);
	if ((rc = brk_pids_load(b, err)) != 0)
		goto fail;
	if ((rc = brk_topics_load(b, err)) != 0)
		goto fail;
	if (serve) {
		if ((rc = listen_on(b, err)) != 0)
			goto fail;
	} else {
		if (b->adv_host == NULL)
			b->adv_host = sl_strdup("localhost");
		if (b->adv_port == 0)
			b->adv_port = 9092;
	}
	if ((rc = brk_groups_open(b->cfg.data_dir, b->base, b->cfg.node_id,
	    b->adv_host, b->adv_port, &b->groups, err)) != 0)
		goto fail;
	brk_groups_set_topic_check(b->groups, topic_exists_cb, b);
	if (serve) {
		struct timeval tv;

		if (b->cfg.http != NULL && (rc = brk_http_start(b, err)) != 0)
			goto fail;
		b->sig_term = evsignal_new(b->base, SIGTERM, signal_cb, b);
		b->sig_int = evsignal_new(b->base, SIGINT, signal_cb, b);
		event_add(b->sig_term, NULL);
		event_add(b->sig_int, NULL);
		b->retention_ev = event_new(b->base, -1, EV_PERSIST, retention_cb, b);
		tv.tv_sec = b->cfg.retention_check_ms / 1000;
		tv.tv_usec = (b->cfg.retention_check_ms % 1000) * 1000;
		event_add(b->retention_ev, &tv);
		if ((rc = brk_bg_start(b, err)) != 0)
			goto fail;
		if ((rc = committer_start(b, err)) != 0)
			goto fail;
		/* OffsetCommit syncs through the group commit from now on. */
		brk_groups_set_syncer(b->groups, goff_defer_cb, b);
	}
	*out = b;
	return 0;
fail:
	brk_close(b);
	return rc;
}

int
brk_open(const struct brk_config *c, struct brk_broker **out, struct sl_err *err)
{
	int rc = brk_open_ex(c, 1, out, err);

	if (rc == 0)
		sl_info("broker: listening on %s (advertised %s:%d), data in %s",
		    c->listen, (*out)->adv_host, (*out)->adv_port, c->data_dir);
	return rc;
}

int
brk_port(const struct brk_broker *b)
{
	return b->port;
}

int
brk_http_port(const struct brk_broker *b)
{
	return b->http_port;
}

int
brk_run(struct brk_broker *b)
{
	signal(SIGPIPE, SIG_IGN);
	return event_base_dispatch(b->base) < 0 ? -EIO : 0;
}

void
brk_stop(struct brk_broker *b)
{
	event_base_loopexit(b->base, NULL);
}

int
brk_close(struct brk_broker *b)
{
	int rc;

	if (b == NULL)
		return 0;
	if (b->listener != NULL)
		evconnlistener_free(b->listener);
	brk_http_stop(b);
	brk_commit_now(b);	/* answer acks=all waiters before their connections go */
	while (b->conns != NULL) {
		struct brk_conn *c = b->conns;

		/* Best effort: hand queued responses to the kernel before closing. */
		if (c->bev != NULL)
			evbuffer_write(bufferevent_get_output(c->bev), bufferevent_getfd(c->bev));
		conn_close(c);
	}
	committer_stop(b);
	brk_bg_stop(b);
	brk_groups_close(b->groups);
	rc = brk_topics_close(b);	/* sync, checkpoints, clean-shutdown markers */
	if (b->sig_term != NULL)
		event_free(b->sig_term);
	if (b->sig_int != NULL)
		event_free(b->sig_int);
	if (b->retention_ev != NULL)
		event_free(b->retention_ev);
	if (b->commit_ev != NULL)
		event_free(b->commit_ev);
	if (b->commit_delay_ev != NULL)
		event_free(b->commit_delay_ev);
	if (b->base != NULL)
		event_base_free(b->base);
	pthread_mutex_destroy(&b->bg_lock);
	pthread_cond_destroy(&b->bg_cond);
	pthread_mutex_destroy(&b->commit_lock);
	pthread_cond_destroy(&b->commit_cond);
	free(b->round.parts);
	free(b->adv_host);
	brk_config_free(&b->cfg);
	free(b);
	return rc;
}
