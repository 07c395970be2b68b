/*
 * broker/group_int.h: internals of the group coordinator, shared by
 * broker/group.c (membership: JoinGroup, SyncGroup, Heartbeat, LeaveGroup),
 * broker/group_describe.c (FindCoordinator, DescribeGroups, ListGroups, the
 * invariant checker) and broker/group_offsets.c (OffsetCommit, OffsetFetch,
 * the __consumer_offsets-0 log, metrics).  Only those files and
 * tests/check_brkgroup.c include it.
 *
 * GROUP STATES (Kafka's GroupMetadata) and the function making each move
 *   EMPTY      --first JoinGroup-------------> PREPARING   group_prepare()
 *   STABLE     --join/leave/expiry-----------> PREPARING   group_prepare()
 *   COMPLETING --join/leave/expiry-----------> PREPARING   group_prepare()
 *   PREPARING  --all rejoined or deadline----> COMPLETING  group_complete_join()
 *   PREPARING  --deadline, nobody rejoined---> EMPTY       group_complete_join()
 *   COMPLETING --leader's SyncGroup----------> STABLE      h_sync()
 *
 * INVARIANTS (checked by brk_groups_check_)
 *  (1) state == EMPTY iff the group has no members, except in PREPARING
 *      (a rebalance whose members all left completes into EMPTY).
 *  (2) 'leader' is NULL or one of 'members'; in COMPLETING and STABLE it is
 *      set.
 *  (3) A member has join_wait set only in PREPARING, and sync_wait only in
 *      COMPLETING; every waiting token gets exactly one reply: queued by
 *      group_complete_join(), h_sync(), group_prepare() (sync waiters get
 *      REBALANCE_IN_PROGRESS) or member_remove(), or dropped by
 *      brk_groups_cancel().
 *  (4) Replies are only ever sent from flush_cb(), on the event loop, never
 *      from inside brk_groups_handle().
 *  (5) A group's offsets are sorted by (topic, partition) with no duplicates.
 *  (6) An offset is in memory only after it is durable in the offsets log.
 */
#ifndef BRK_GROUP_INT_H
#define BRK_GROUP_INT_H

#include <stdint.h>

#include "broker/group.h"
#include "log/lg.h"

enum brk_group_state {
	BRK_GS_EMPTY,
	BRK_GS_PREPARING,		/* PreparingRebalance */
	BRK_GS_COMPLETING,		/* CompletingRebalance (awaiting sync) */
	BRK_GS_STABLE
};

struct brk_proto {
	char *name;
	struct sl_buf meta;		/* protocol metadata, opaque */
};

struct brk_member {
	struct brk_group *g;		/* owning group */
	char *id;
	char *client_id;
	int32_t session_ms;
	int32_t rebalance_ms;
	struct brk_proto *protos;	/* in the member's preference order */
	int32_t n_protos;
	struct sl_buf assignment;	/* from the leader's SyncGroup */
	int joined;			/* rejoined during this PREPARING */
	int join_wait;			/* a JoinGroup reply is owed */
	void *join_token;
	brk_reply_fn join_reply;
	int16_t join_version;
	int sync_wait;			/* a SyncGroup reply is owed */
	void *sync_token;
	brk_reply_fn sync_reply;
	int16_t sync_version;
	struct event *session_ev;	/* session expiry */
};

/* A member id handed out with MEMBER_ID_REQUIRED, not yet rejoined. */
struct brk_pending {
	char *id;
	int64_t expire_ms;		/* monotonic */
};

/* One committed offset. */
struct brk_offset {
	char *topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;		/* -1 unknown */
	char *metadata;			/* never NULL ("" for none) */
	int64_t commit_ms;		/* wall clock */
};

struct brk_group {
	struct brk_groups *gs;
	char *id;
	enum brk_group_state state;
	int32_t generation;
	char *protocol_type;		/* NULL until a member joined */
	char *protocol;			/* chosen protocol, NULL when none */
	struct brk_member *leader;
	struct brk_member **members;	/* in join order */
	size_t n_members, cap_members;
	struct brk_pending *pending;
	size_t n_pending, cap_pending;
	int64_t delay_until_ms;		/* initial rebalance delay end (monotonic) */
	int64_t deadline_ms;		/* rebalance timeout end (monotonic) */
	struct event *join_ev;		/* fires at delay_until or deadline */
	struct brk_offset *offs;	/* (5) */
	size_t n_offs, cap_offs;
};

struct brk_queued {
	brk_reply_fn fn;
	void *token;
	struct sl_buf body;
};

struct brk_groups {
	struct event_base *base;
	int32_t node_id;
	char *host;
	int port;
	char *dir;			/* <data_dir>/__consumer_offsets-0 */
	struct lg_partition *log;	/* NULL after a failed reopen */
	int log_failed;			/* a write failed: reopen before the next */
	struct brk_group **groups;
	size_t n_groups, cap_groups;
	struct brk_queued *q;		/* replies waiting for flush_cb */
	size_t n_q, cap_q;
	struct event *flush_ev;
	int flush_armed;
	struct event *clean_ev;		/* periodic: drop dead groups, compact */
	int (*exists)(void *, const char *, int32_t);
	void *exists_arg;
	int64_t initial_delay_ms;	/* group.initial.rebalance.delay.ms */
	int32_t min_session_ms;
	int32_t max_session_ms;
	uint64_t id_seq;		/* member id uniqueness */
	/* Group commit of the offsets log (group.h, group_offsets.c). */
	int (*sync_defer)(void *, int);	/* NULL: OffsetCommit syncs itself */
	void *sync_arg;
	struct brk_goff_wait *waits;	/* deferred commits and fetches, FIFO */
	size_t n_wait_commits;		/* commits among them */
	int log_in_round;		/* a broker round holds 'log' */
};

/* Limits. */
#define BRK_GROUP_METADATA_MAX 4096	/* offset.metadata.max.bytes */
#define BRK_GROUP_PENDING_MAX 1024	/* MEMBER_ID_REQUIRED ids per group */

/* group.c */
struct brk_group *brk_group_find(struct brk_groups *, struct sl_slice id);
struct brk_group *brk_group_get(struct brk_groups *, struct sl_slice id);
struct brk_member *brk_group_member(struct brk_group *, struct sl_slice id);
void brk_member_touch(struct brk_member *);
int64_t brk_mono_ms(void);
int brk_slice_eq(struct sl_slice s, const char *str);
int brk_name_ok(struct sl_slice s);

const char *brk_group_state_name(enum brk_group_state st);
const struct brk_proto *brk_member_proto(const struct brk_member *m, const char *name);

/* group_describe.c */
int brk_group_find_coordinator(struct brk_groups *, int16_t v, struct brk_rd *r,
    struct sl_buf *resp);
int brk_group_describe(struct brk_groups *, int16_t v, struct brk_rd *r,
    struct sl_buf *resp);
int brk_group_list(struct brk_groups *, int16_t v, struct sl_buf *resp);

/* group_offsets.c */
int brk_goff_open(struct brk_groups *, struct sl_err *err);
void brk_goff_close(struct brk_groups *);
void brk_goff_free_group(struct brk_group *);
void brk_goff_compact(struct brk_groups *);
/*
 * OffsetCommit and OffsetFetch: 0 with the response in 'resp', 1 when
 * deferred behind the offsets log's group commit ('reply'('token') is
 * queued later; with 'reply' NULL never), or <0 for a malformed request.
 */
int brk_goff_commit(struct brk_groups *, const struct brk_req_hdr *h,
    struct brk_rd *r, struct sl_buf *resp, brk_reply_fn reply, void *token);
int brk_goff_fetch(struct brk_groups *, const struct brk_req_hdr *h,
    struct brk_rd *r, struct sl_buf *resp, brk_reply_fn reply, void *token);
/* Forget 'token' in the deferred commits and fetches (brk_groups_cancel). */
void brk_goff_cancel(struct brk_groups *, void *token);
/* group.c: queue 'body' (taken) for 'fn'('token') from the loop (4). */
void brk_groups_queue_reply(struct brk_groups *, brk_reply_fn fn, void *token,
    struct sl_buf *body);
/* Record codec, exposed for tests. */
void brk_goff_key_encode(struct sl_buf *out, const char *group,
    const char *topic, int32_t partition);
void brk_goff_value_encode(struct sl_buf *out, const struct brk_offset *o);

#endif /* BRK_GROUP_INT_H */
