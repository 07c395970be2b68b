/*
 * broker/brk_int.h: internals shared by the files of broker/ and its tests.
 * Nothing outside broker/ and tests/ includes this.
 *
 * Sections, each owned by the file that implements it:
 *   server.c        connections, framing, the loop, group commit, shutdown
 *   dispatch.c      request header -> handler, ApiVersions
 *   topics.c        the topic registry and per-topic config files
 *   metadata.c      Metadata, CreateTopics, DeleteTopics
 *   produce.c       Produce, InitProducerId and producer-id allocation
 *   fetch.c         Fetch and its long poll
 *   list_offsets.c  ListOffsets, OffsetForLeaderEpoch, DeleteRecords
 *   metrics.c       counters and histograms, Prometheus text
 *   http.c          /metrics and /health (evhttp)
 *   background.c    the compaction thread and the retention timer
 *
 * Threading: everything runs on the loop thread except the compaction
 * thread of background.c, which only calls lg_partition_compact(), and the
 * committer thread of server.c and its helper threads, which only call
 * lg_partition_sync() on the partitions of the commit round it was handed
 * (7), the group coordinator's offsets log among them when OffsetCommits
 * wait (group.h).
 *
 * INVARIANTS
 *  (1) A connection has at most BRK_INFLIGHT_MAX requests in flight, one
 *      slot each on 'c->slots' in request order; responses are written in
 *      that order, each once it and every slot before it are ready.  No
 *      further frame is decoded while the queue is full.
 *  (2) A deferred request is reachable from exactly one wait list (commit
 *      waiters of the pending or the running round, fetch waiters or the
 *      groups token) through its slot, and is unlinked from it when its
 *      connection closes, so a late wake-up never touches a freed
 *      connection.
 *  (3) A frame's size is checked against max_request_bytes before a byte of
 *      its body is buffered for it.
 *  (4) The topic list is changed only by the loop thread holding 'bg_lock',
 *      so the compaction thread can walk it under the same lock.
 *  (5) Fetch never serves past lg_partition_synced_end(): the high
 *      watermark is the durable end.
 *  (6) A commit is scheduled whenever 'commit_waiters' is not empty, so no
 *      acks=all request waits forever (a retried duplicate appends nothing
 *      but is still answered only after the next sync).
 *  (7) At most one commit round runs on the committer thread; while it does,
 *      its partitions stay open: topic deletion and shutdown first wait for
 *      it (brk_commit_now).  A waiter is answered only by a round taken after
 *      its append, so acks=all is answered only once its data is durable.
 *  (8) A round is deferred only by the commit delay (server.c, round_delay),
 *      by at most commit_delay_us, and only right after a round that
 *      answered several produce requests carrying BRK_COMMIT_DELAY_BYTES or
 *      more; commit_scheduled stays set meanwhile and the timer starts the
 *      round, so (6) holds through it.  Under a trickle (rounds of one
 *      request, or of a few small ones) nothing waits.
 */
#ifndef BRK_INT_H
#define BRK_INT_H

#include <pthread.h>
#include <stdint.h>

#include "common/sl.h"
#include "log/lg.h"
#include "broker/brk.h"
#include "broker/brk_codec.h"

struct event_base;
struct event;
struct bufferevent;
struct evconnlistener;
struct brk_commit_pool;
struct evhttp;
struct brk_groups;

/* Kafka error codes the header lacks. */
#define KERR_KAFKA_STORAGE_ERROR 56
#define KERR_FETCH_SESSION_ID_NOT_FOUND 70
#define KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED 53

#define BRK_TOPIC_NAME_MAX 249
#define BRK_PARTITIONS_MAX 10000

/* ------------------------------------------------------------- topics */

struct brk_topic;

struct brk_part {
	struct brk_topic *topic;
	int32_t index;
	struct lg_partition *lg;
	int dirty;			/* appended since the last commit */
	struct brk_part *next_dirty;	/* the broker's dirty list */
	int sync_err;			/* result of the last lg_partition_sync */
};

/* A topic's configuration as persisted in <data_dir>/topics/<name>.conf. */
struct brk_topic_conf {
	int32_t partitions;
	struct lg_options opts;		/* compact, retention, segment, ... */
};

struct brk_topic {
	char *name;
	struct brk_topic_conf conf;
	struct brk_part *parts;		/* conf.partitions of them */
	struct brk_topic *next;
};

/* 1 when 'name' ('len' bytes) is a legal topic name. */
int brk_topic_name_valid(const char *name, size_t len);
struct brk_topic *brk_topic_find(struct brk_broker *b, const char *name, size_t len);
struct brk_part *brk_part_find(struct brk_broker *b, const char *name, size_t len,
    int32_t partition);

/*
 * Set one topic config key (Kafka's names: cleanup.policy, retention.ms,
 * retention.bytes, segment.bytes, segment.ms, max.message.bytes,
 * message.timestamp.type, delete.retention.ms, min.cleanable.dirty.ratio).
 * Returns 0, SL_ENOTFOUND (unknown key) or SL_EINVAL (bad value).
 */
int brk_topic_conf_set(struct brk_topic_conf *tc, const char *key, const char *value);
/* Serialize / parse the topic config file (key=value lines). */
void brk_topic_conf_format(const struct brk_topic_conf *tc, struct sl_buf *out);
int brk_topic_conf_parse(struct brk_topic_conf *tc, const char *path,
    struct sl_slice text, struct sl_err *err);

/* Fill 'tc' with the broker defaults. */
void brk_topic_conf_default(const struct brk_broker *b, struct brk_topic_conf *tc);

/*
 * Create topic 'name' with 'tc': partition folders first, then the config
 * file written atomically (the commit point).  Returns 0, SL_EEXIST,
 * SL_EINVAL or -errno.
 */
int brk_topic_create(struct brk_broker *b, const char *name,
    const struct brk_topic_conf *tc, struct brk_topic **out, struct sl_err *err);
/* Delete topic 'name': config file first, then its folders.  0, SL_ENOTFOUND, -errno. */
int brk_topic_delete(struct brk_broker *b, const char *name, struct sl_err *err);
/* Load every topic of <data_dir>/topics. */
int brk_topics_load(struct brk_broker *b, struct sl_err *err);
/* Close every partition (sync, checkpoint, clean marker); first error. */
int brk_topics_close(struct brk_broker *b);

/* ------------------------------------------------------------ metrics */

#define BRK_HIST_BUCKETS 14

struct brk_hist {
	uint64_t counts[BRK_HIST_BUCKETS + 1];	/* last: +Inf */
	double sum_s;
	uint64_t n;
};

struct brk_metrics {
	uint64_t requests[API_MAX_KEY + 1];
	uint64_t errors[API_MAX_KEY + 1];	/* responses or partitions in error */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t produced_batches;
	uint64_t produced_bytes;
	uint64_t fetched_bytes;
	uint64_t connections_total;
	uint64_t connections_rejected;
	uint64_t syncs;
	uint64_t commit_rounds;
	uint64_t commit_delays;		/* rounds started commit_delay_us late */
	uint64_t bad_frames;
	struct brk_hist produce_latency;
	struct brk_hist fetch_latency;
};

void brk_hist_observe(struct brk_hist *h, double seconds);
/* Append the whole Prometheus text of 'b' to 'out'. */
void brk_metrics_format(struct brk_broker *b, struct sl_buf *out);

/* ----------------------------------------------------------- requests */

/* A byte range of a segment file placed at 'at' bytes into a response body. */
struct brk_file_piece {
	size_t at;
	struct lg_range range;
};

/*
 * A response body (everything after the correlation id): bytes in 'b' with
 * file ranges spliced in at their offsets, sent with sendfile.
 */
struct brk_resp {
	struct sl_buf b;
	struct brk_file_piece *files;
	size_t n_files;
	size_t cap_files;
	size_t file_bytes;		/* sum of the ranges' lengths */
};

void brk_resp_add_file(struct brk_resp *r, const struct lg_range *range);
/* Release the file ranges and empty 'r' (keeps the byte buffer's memory). */
void brk_resp_reset(struct brk_resp *r);
void brk_resp_free(struct brk_resp *r);

/* Results of brk_dispatch and the handlers. */
enum {
	BRK_DONE = 0,			/* 'resp' holds the response */
	BRK_DEFER = 1,			/* slot queued by brk_conn_defer, answered by brk_slot_reply */
	BRK_NORESP = 2			/* no response at all (Produce acks=0) */
};

struct brk_conn;
struct brk_produce_wait;
struct brk_fetch_wait;
struct brk_group_token;

/* Requests of one connection dispatched but not yet answered (1). */
#define BRK_INFLIGHT_MAX 16

/*
 * The response slot of one deferred (or answered out of turn) request: it
 * holds the request's header fields and, once 'ready', its response.
 */
struct brk_slot {
	struct brk_conn *c;
	struct brk_slot *next;		/* c->slots, in request order */
	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	int64_t start_ns;
	int ready;			/* 'resp' is the response */
	struct brk_resp resp;
	struct brk_produce_wait *pw;	/* (2) at most one of these three */
	struct brk_fetch_wait *fw;
	struct brk_group_token *gt;
};

struct brk_conn {
	struct brk_broker *b;
	struct bufferevent *bev;	/* NULL for a detached test connection */
	struct brk_conn *prev, *next;	/* b->conns */
	struct sl_buf frame;		/* the request being dispatched */
	struct brk_slot *slots;		/* (1) oldest first */
	struct brk_slot **slots_tail;
	int n_slots;
	struct brk_slot *free_slots;	/* kept for their buffers */
	int16_t api_key;		/* of the request being dispatched */
	int16_t api_version;
	int32_t correlation_id;
	int64_t start_ns;
	struct brk_resp resp;		/* the response being built */
	int replied;			/* detached: a deferred reply is in 'resp' */
	int writing;			/* EV_WRITE on: libevent drains the output */
	int held;			/* frames wait for a free slot (1) */
	char peer[128];
};

/*
 * Decode the request in 'frame' (header and body; 'len' bytes, writable:
 * Produce rewrites base offsets in place) and handle it.  Returns BRK_DONE
 * with 'c->resp' filled, BRK_DEFER, BRK_NORESP, or <0 when the request is
 * malformed and the connection must close.
 */
int brk_dispatch(struct brk_broker *b, struct brk_conn *c, uint8_t *frame, size_t len);

/*
 * Defer the request being dispatched: move its header fields and 'c->resp'
 * (which may already hold part of the response) into a new slot at the end
 * of 'c->slots'.  The handler links the slot to its wait list (2) and
 * returns BRK_DEFER.  The slot stays valid until brk_slot_reply() or the
 * connection closes.
 */
struct brk_slot *brk_conn_defer(struct brk_conn *c);
/*
 * 's->resp' is now the response: send it, and every ready slot after it,
 * once the slots before it are sent.  's' may be freed by the call.
 */
void brk_slot_reply(struct brk_slot *s);
/* A detached connection for tests and fuzzing (no socket); free with brk_conn_free. */
struct brk_conn *brk_conn_detached(struct brk_broker *b);
void brk_conn_free(struct brk_conn *c);

/* Handlers: decode from 'r', encode into c->resp.b; BRK_* or <0 (malformed). */
int brk_api_versions(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_metadata(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_create_topics(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_delete_topics(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_produce(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_init_producer_id(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_fetch(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_list_offsets(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_offset_for_leader_epoch(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);
int brk_delete_records(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r);

/* The supported version range of 'api_key'; 0 if supported. */
int brk_api_range(int16_t api_key, int16_t *min, int16_t *max);

/* --------------------------------------------------- deferred requests */

/* Produce acks=all: one entry per partition appended, patched after the sync. */
struct brk_produce_wait {
	struct brk_slot *s;
	struct brk_produce_wait *next;	/* b->commit_waiters or b->round.waiters */
	struct brk_part **parts;
	size_t *err_pos;		/* offsets of their error codes in c->resp.b */
	size_t n, cap;
};

void brk_produce_wait_free(struct brk_produce_wait *w);
/* Mark 'p' dirty and schedule a group commit. */
void brk_part_mark_dirty(struct brk_broker *b, struct brk_part *p);
/*
 * Make sure a commit runs soon: every acks=all waiter needs one, even when
 * its batches were all duplicates and nothing was appended (6).
 */
void brk_commit_schedule(struct brk_broker *b);
/*
 * Synchronously: wait for the round on the committer thread (7), then sync
 * every dirty partition once on the calling thread, answer the acks=all
 * waiters and wake the fetch long polls.  Called before a topic is deleted,
 * at shutdown, and by tests (no committer thread there).
 */
void brk_commit_now(struct brk_broker *b);

/* A group commit: partitions to sync, then waiters to answer (server.c). */
struct brk_commit_round {
	struct brk_part **parts;
	size_t n, cap;
	struct brk_produce_wait *waiters;
	int goff;			/* the offsets log is the last of 'parts' */
	size_t requests;		/* acks=all produce requests it answers */
	uint64_t bytes;			/* batch bytes appended for it */
};

/* Fetch long poll (fetch.c). */
void brk_fetch_wait_cancel(struct brk_fetch_wait *w);
/* New durable data: re-run the waiting fetches and answer those satisfied. */
void brk_fetch_wake(struct brk_broker *b);

/* --------------------------------------------------------- the broker */

struct brk_broker {
	struct brk_config cfg;
	char *adv_host;			/* advertised host */
	int adv_port;			/* advertised port (0 until bound) */
	struct event_base *base;
	struct evconnlistener *listener;
	int port;
	struct evhttp *http;
	int http_port;
	struct event *sig_term, *sig_int;
	struct event *commit_ev;	/* group commit, activated when dirty */
	struct event *commit_delay_ev;	/* the next round, commit_delay_us late */
	uint64_t round_bytes_mark;	/* m.produced_bytes at the last round_take */
	int commit_scheduled;
	/* Committer thread (7): 'round' is its round while 'round_busy'. */
	struct brk_commit_round round;
	int round_busy;			/* loop thread only */
	pthread_mutex_t commit_lock;	/* guards the three below */
	pthread_cond_t commit_cond;
	int commit_go;			/* loop -> thread: sync 'round' */
	int commit_done;		/* thread -> loop: 'round' synced */
	int commit_stop;
	pthread_t commit_thread;
	int commit_running;
	int commit_pipe[2];		/* thread -> loop wake-up */
	struct brk_commit_pool *commit_pool;	/* its helper threads (server.c) */
	/* The offsets log as a member of commit rounds (group.h). */
	struct brk_part goff_part;	/* 'lg' set by round_take, no topic */
	int goff_dirty;			/* OffsetCommits wait for a round */
	struct event *commit_done_ev;
	struct event *retention_ev;
	struct brk_groups *groups;

	struct brk_topic *topics;	/* (4) */
	int32_t n_topics;
	struct brk_part *dirty;		/* partitions appended since the last commit */
	struct brk_produce_wait *commit_waiters;
	struct brk_fetch_wait *fetch_waiters;

	struct brk_conn *conns;
	int64_t n_conns;

	int32_t max_partitions;		/* per topic; the fuzzer lowers it */
	int64_t pid_next;		/* next producer id */
	int64_t pid_reserved;		/* ids below this are persisted as used */

	struct brk_metrics m;
	int64_t started_ms;

	pthread_mutex_t bg_lock;	/* (4) */
	pthread_cond_t bg_cond;
	pthread_t bg_thread;
	int bg_running;
	int bg_stop;
	uint64_t bg_compactions;	/* atomics: written by the thread */
	uint64_t bg_compact_errors;
	int64_t bg_cleaned_bytes;
	uint64_t retention_segments;
};

/*
 * Open without sockets or threads when 'listen' is NULL (tests, fuzzing):
 * see brk_open.
 */
int brk_open_ex(const struct brk_config *c, int serve, struct brk_broker **out,
    struct sl_err *err);

/* Producer ids (produce.c). */
int brk_pids_load(struct brk_broker *b, struct sl_err *err);
int brk_pid_alloc(struct brk_broker *b, int64_t *pid, struct sl_err *err);

/* http.c */
int brk_http_start(struct brk_broker *b, struct sl_err *err);
void brk_http_stop(struct brk_broker *b);

/* background.c */
int brk_bg_start(struct brk_broker *b, struct sl_err *err);
void brk_bg_stop(struct brk_broker *b);
/* One pass of retention over every delete-policy partition (loop thread). */
void brk_retention_run(struct brk_broker *b);

/* Split "host:port"; 'host' gets a heap copy.  0 or SL_ECONFIG. */
int brk_parse_hostport(const char *s, char **host, int *port, struct sl_err *err);

#endif /* BRK_INT_H */
