/*
 * broker/group.h: the Kafka group coordinator of `sluice broker`.
 *
 * Serves FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * DescribeGroups, ListGroups, OffsetCommit and OffsetFetch (versions in
 * DESIGN.md section 3.1) for a single node, which is the coordinator of every
 * group.  Group membership lives in memory (members rejoin after a restart);
 * committed offsets are kept durably in the internal compacted partition
 * folder <data_dir>/__consumer_offsets-0 (format in broker/group_offsets.c and
 * docs/broker.md).  It does not serve the network: the broker's server
 * decodes the request header and calls brk_groups_handle().
 *
 * Threading: everything runs on the thread of the event_base given to
 * brk_groups_open().
 */
#ifndef BRK_GROUP_H
#define BRK_GROUP_H

#include <stdint.h>

#include "common/sl.h"
#include "broker/brk_codec.h"

struct event_base;
struct brk_groups;
struct lg_partition;

/*
 * Open the coordinator: create <'data_dir'>/__consumer_offsets-0 if missing
 * and replay it to reload every committed offset.  'base' runs the session
 * and rebalance timers; 'node_id', 'host' and 'port' are what
 * FindCoordinator answers ('host' is copied).  Returns 0, -errno or
 * SL_ECORRUPT with 'err' set; '*out' is NULL on failure.
 */
int brk_groups_open(const char *data_dir, struct event_base *base,
    int32_t node_id, const char *host, int port, struct brk_groups **out,
    struct sl_err *err);

/* Cancel every pending reply and timer, sync and close the offsets log.  NULL does nothing. */
void brk_groups_close(struct brk_groups *);

/*
 * A deferred reply: 'body' is the whole response body (everything after
 * the response header's correlation id), borrowed for the call only.
 */
typedef void (*brk_reply_fn)(void *token, struct sl_buf *body);

/*
 * Handle one request of a group API whose header is 'h' and whose body is
 * read from 'r'.  Returns
 *   0   'resp' holds the whole response body (appended to it);
 *   1   deferred: 'reply'('token', body) is called exactly once later, from
 *       the event loop (never from inside this call), unless
 *       brk_groups_cancel('token') is called first;
 *  <0   SL_ECORRUPT / SL_ETRUNC: the request is malformed (the broker closes
 *       the connection), or SL_EUNSUPPORTED: not a group API or version.
 */
int brk_groups_handle(struct brk_groups *, const struct brk_req_hdr *h,
    struct brk_rd *r, struct sl_buf *resp, brk_reply_fn reply, void *token);

/* 1 when 'api_key' is one brk_groups_handle() serves. */
int brk_groups_serves(int16_t api_key);

/*
 * The connection of 'token' closed: reply is never called for it again.
 * Its members stay until their session expires, as in Kafka.
 */
void brk_groups_cancel(struct brk_groups *, void *token);

/*
 * Append Prometheus text lines to 'out': per group/topic/partition the
 * committed offset (sluice_group_committed_offset) and, when 'end_offset'
 * returns >= 0, the lag (sluice_group_lag); plus the member count per group.
 */
void brk_groups_metrics(struct brk_groups *, struct sl_buf *out,
    int64_t (*end_offset)(void *arg, const char *topic, int32_t partition),
    void *arg);

/*
 * Ask 'exists' (1 yes, 0 no) before accepting an OffsetCommit for a topic
 * partition; unknown ones get UNKNOWN_TOPIC_OR_PARTITION.  Unset: accept all.
 */
void brk_groups_set_topic_check(struct brk_groups *,
    int (*exists)(void *arg, const char *topic, int32_t partition), void *arg);

/*
 * Forget every committed offset of 'topic' (DeleteTopics), writing
 * tombstones.  Returns 0 or -errno.
 */
int brk_groups_topic_deleted(struct brk_groups *, const char *topic,
    struct sl_err *err);

/*
 * group.initial.rebalance.delay.ms: a group joined while Empty waits this
 * long (extended by each new member, within the rebalance timeout) before
 * completing the join, so consumers started together share one generation.
 */
#define BRK_GROUP_INITIAL_DELAY_MS 300
void brk_groups_set_initial_delay(struct brk_groups *, int64_t ms);

/*
 * Group commit of the offsets log.  Without a syncer (the default, and
 * tests), OffsetCommit fdatasyncs the offsets log before it replies.  With
 * one, OffsetCommit appends its records and asks 'defer'('arg', 'must') on
 * the loop: 0 (only when 'must' is 0) means sync now and reply at once, as
 * without a syncer; 1 means the broker has scheduled a commit round that
 * will take the log, so the reply is deferred.  'must' is 1 when earlier
 * commits still wait, so commits are applied in order.  The broker then, on
 * the loop, takes the log into a round with brk_groups_offsets_take()
 * (NULL: nothing to sync), syncs it off the loop, and reports the result
 * with brk_groups_offsets_done(), which makes the round's commits visible
 * (invariant (6) of group_int.h) and queues their replies.  An OffsetFetch
 * that arrives while commits wait is deferred behind them, so a client
 * that pipelines a commit and a fetch reads its own commit.
 */
void brk_groups_set_syncer(struct brk_groups *,
    int (*defer)(void *arg, int must), void *arg);
/*
 * The offsets log, when commits appended since the last take wait for a
 * sync; they now belong to the caller's round.  The log stays open (it is
 * not reopened after a failure) until brk_groups_offsets_done.
 */
struct lg_partition *brk_groups_offsets_take(struct brk_groups *);
/* The round taken last is synced with result 'sync_err' (0 or -errno). */
void brk_groups_offsets_done(struct brk_groups *, int sync_err);

/* Invariant checker for tests: aborts with a message when one is broken. */
void brk_groups_check_(struct brk_groups *);

#endif /* BRK_GROUP_H */
