/*
 * tests/check_brkgroup.c: the group coordinator (broker/group.c,
 * broker/group_offsets.c) driven through brk_groups_handle() with encoded
 * requests and a real event_base in a temporary data directory: joins,
 * leader election, protocol choice, sync, heartbeats and their errors,
 * session expiry, leaving, offsets surviving a reopen, malformed requests.
 * Not here: the network server (the integration tests run librdkafka
 * consumers against the real broker).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/group_int.h"
#include "log/lg_int.h"		/* fault injection */

struct client {
	int calls;			/* replies received for the last request */
	struct sl_buf body;		/* the last response body */
	char member_id[256];
	int32_t gen;
	const char *tag;		/* metadata sent: "meta-<tag>" */
};

struct join_res {
	int16_t err;
	int32_t gen;
	char proto[64];
	char leader[256];
	char member[256];
	int32_t n;
	char members[4][256];
	char meta[4][64];
};

static char dir[64];
static struct event_base *base;
static struct brk_groups *gs;

static int32_t join_rebalance_ms;	/* 0: the session timeout */

static const char *const RANGE_RR[] = { "range", "roundrobin", NULL };
static const char *const RR_RANGE[] = { "roundrobin", "range", NULL };
static const char *const RR[] = { "roundrobin", NULL };

/* ------------------------------------------------------------ fixture */

static void
groups_open(void)
{
	struct sl_err err = { 0 };
	int rc = brk_groups_open(dir, base, 1, "127.0.0.1", 9092, &gs, &err);

	ck_assert_msg(rc == 0, "open: %s", sl_err_msg(&err, rc));
	brk_groups_set_initial_delay(gs, 100);	/* both test members join one generation */
}

static void
setup(void)
{
	strcpy(dir, "/tmp/check_brkgroup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	join_rebalance_ms = 0;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	groups_open();
}

static void
teardown(void)
{
	brk_groups_close(gs);
	gs = NULL;
	event_base_free(base);
	sl_rm_rf(dir);
}

/* ----------------------------------------------------------- plumbing */

static void
on_reply(void *token, struct sl_buf *body)
{
	struct client *c = token;

	c->calls++;
	sl_buf_reset(&c->body);
	sl_buf_add(&c->body, body->p, body->len);
}

/* Run the event loop for 'ms' milliseconds. */
static void
run_for(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run the loop until 'c' has its reply (at most 5 s). */
static void
wait_reply(struct client *c)
{
	int i;

	for (i = 0; i < 500 && c->calls == 0; i++)
		run_for(10);
	ck_assert_int_eq(c->calls, 1);
}

/* Send one request; a direct answer counts as the reply. */
static int
call(struct client *c, int16_t api, int16_t v, const struct sl_buf *body)
{
	struct brk_req_hdr h = { api, v, 7, { (const uint8_t *)"tester", 6 } };
	struct sl_buf resp = { 0 };
	struct brk_rd r;
	int rc;

	c->calls = 0;
	sl_buf_reset(&c->body);
	brk_rd_init(&r, body->len > 0 ? (const void *)body->p : "", body->len);
	rc = brk_groups_handle(gs, &h, &r, &resp, on_reply, c);
	if (rc == 0) {
		c->calls = 1;
		sl_buf_add(&c->body, resp.p != NULL ? (const void *)resp.p : "", resp.len);
	} else {
		ck_assert_int_eq(c->calls, 0);	/* never from inside handle */
	}
	sl_buf_free(&resp);
	brk_groups_check_(gs);
	return rc;
}

static void
client_free(struct client *c)
{
	sl_buf_free(&c->body);
}

static void
rd_cstr(struct brk_rd *r, char *out, size_t cap, const char *what)
{
	struct sl_slice s;

	brk_rd_string(r, &s, what);
	ck_assert_uint_lt(s.len, cap);
	memcpy(out, s.p != NULL ? (const void *)s.p : "", s.len);
	out[s.len] = '\0';
}

/* ----------------------------------------------------------- requests */

static void
req_join(struct sl_buf *b, int16_t v, const char *group, int32_t session,
    const char *member, const char *const *protos, const char *tag)
{
	char meta[64];
	int32_t n = 0;

	while (protos[n] != NULL)
		n++;
	brk_wr_string(b, group);
	brk_wr_i32(b, session);
	if (v >= 1)
		brk_wr_i32(b, join_rebalance_ms > 0 ? join_rebalance_ms : session);
	brk_wr_string(b, member);
	if (v >= 5)
		brk_wr_string(b, NULL);
	brk_wr_string(b, "consumer");
	brk_wr_i32(b, n);
	for (n = 0; protos[n] != NULL; n++) {
		snprintf(meta, sizeof(meta), "meta-%s", tag);
		brk_wr_string(b, protos[n]);
		brk_wr_bytes(b, meta, strlen(meta));
	}
}

static void
parse_join(const struct sl_buf *body, int16_t v, struct join_res *j)
{
	struct brk_rd r;
	struct sl_slice meta;
	int32_t i;

	memset(j, 0, sizeof(*j));
	brk_rd_init(&r, body->p, body->len);
	if (v >= 2)
		ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	j->err = brk_rd_i16(&r, "error");
	j->gen = brk_rd_i32(&r, "generation");
	rd_cstr(&r, j->proto, sizeof(j->proto), "protocol");
	rd_cstr(&r, j->leader, sizeof(j->leader), "leader");
	rd_cstr(&r, j->member, sizeof(j->member), "member");
	j->n = brk_rd_array(&r, 6, NULL, "members");
	ck_assert_int_le(j->n, 4);
	for (i = 0; i < j->n; i++) {
		rd_cstr(&r, j->members[i], sizeof(j->members[i]), "members.id");
		if (v >= 5) {
			struct sl_slice iid;

			ck_assert_int_eq(brk_rd_string(&r, &iid, "instance"), 1);
		}
		brk_rd_bytes(&r, &meta, "members.metadata");
		ck_assert_uint_lt(meta.len, sizeof(j->meta[i]));
		memcpy(j->meta[i], meta.p, meta.len);
	}
	ck_assert_msg(brk_rd_ok(&r) && brk_rd_left(&r) == 0, "join response malformed");
}

/*
 * Start a v5 join of 'c': the first time, the MEMBER_ID_REQUIRED round trip
 * hands out the member id.  Returns brk_groups_handle's result for the join.
 */
static int
join_start(struct client *c, const char *group, int32_t session,
    const char *const *protos)
{
	struct sl_buf b = { 0 };
	struct join_res j;
	int rc;

	if (c->member_id[0] == '\0') {
		req_join(&b, 5, group, session, "", protos, c->tag);
		ck_assert_int_eq(call(c, API_JOIN_GROUP, 5, &b), 0);
		parse_join(&c->body, 5, &j);
		ck_assert_int_eq(j.err, KERR_MEMBER_ID_REQUIRED);
		ck_assert_int_eq(j.gen, -1);
		ck_assert_ptr_nonnull(strstr(j.member, "tester-"));
		strcpy(c->member_id, j.member);
		sl_buf_reset(&b);
	}
	req_join(&b, 5, group, session, c->member_id, protos, c->tag);
	rc = call(c, API_JOIN_GROUP, 5, &b);
	sl_buf_free(&b);
	return rc;
}

static void
join_end(struct client *c, struct join_res *j)
{
	wait_reply(c);
	parse_join(&c->body, 5, j);
	ck_assert_int_eq(j->err, KERR_NONE);
	ck_assert_str_eq(j->member, c->member_id);
	c->gen = j->gen;
}

static int16_t
parse_sync(const struct sl_buf *body, char *assignment, size_t cap)
{
	struct brk_rd r;
	struct sl_slice a;
	int16_t err;

	brk_rd_init(&r, body->p, body->len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	err = brk_rd_i16(&r, "error");
	brk_rd_bytes(&r, &a, "assignment");
	ck_assert_msg(brk_rd_ok(&r) && brk_rd_left(&r) == 0, "sync response malformed");
	ck_assert_uint_lt(a.len, cap);
	memcpy(assignment, a.p != NULL ? (const void *)a.p : "", a.len);
	assignment[a.len] = '\0';
	return err;
}

/* SyncGroup v3 of 'c'; the leader passes 'n' (member, assignment) pairs. */
static int
sync_start(struct client *c, const char *group, const char *const *pairs, int n)
{
	struct sl_buf b = { 0 };
	int i, rc;

	brk_wr_string(&b, group);
	brk_wr_i32(&b, c->gen);
	brk_wr_string(&b, c->member_id);
	brk_wr_string(&b, NULL);
	brk_wr_i32(&b, n);
	for (i = 0; i < n; i++) {
		brk_wr_string(&b, pairs[2 * i]);
		brk_wr_bytes(&b, pairs[2 * i + 1], strlen(pairs[2 * i + 1]));
	}
	rc = call(c, API_SYNC_GROUP, 3, &b);
	sl_buf_free(&b);
	return rc;
}

/* Heartbeat v3 with 'gen' and 'member'; returns the error code. */
static int16_t
heartbeat(struct client *c, const char *group, int32_t gen, const char *member)
{
	struct sl_buf b = { 0 };
	struct brk_rd r;
	int16_t err;

	brk_wr_string(&b, group);
	brk_wr_i32(&b, gen);
	brk_wr_string(&b, member);
	brk_wr_string(&b, NULL);
	ck_assert_int_eq(call(c, API_HEARTBEAT, 3, &b), 0);
	sl_buf_free(&b);
	brk_rd_init(&r, c->body.p, c->body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	err = brk_rd_i16(&r, "error");
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	return err;
}

/* Two members c1 (leader, "range" first) and c2 through join and sync. */
static void
two_stable(struct client *c1, struct client *c2, const char *group, int32_t session)
{
	const char *pairs[4];
	struct join_res j1, j2;
	char a[64];

	ck_assert_int_eq(join_start(c1, group, session, RANGE_RR), 1);
	ck_assert_int_eq(join_start(c2, group, session, RR_RANGE), 1);
	join_end(c1, &j1);
	join_end(c2, &j2);
	ck_assert_str_eq(j1.leader, c1->member_id);
	pairs[0] = c1->member_id;
	pairs[1] = "assign-1";
	pairs[2] = c2->member_id;
	pairs[3] = "assign-2";
	ck_assert_int_eq(sync_start(c2, group, NULL, 0), 1);
	ck_assert_int_eq(sync_start(c1, group, pairs, 2), 0);
	ck_assert_int_eq(parse_sync(&c1->body, a, sizeof(a)), KERR_NONE);
	wait_reply(c2);
	ck_assert_int_eq(parse_sync(&c2->body, a, sizeof(a)), KERR_NONE);
}

/* OffsetCommit v7 of one partition; returns its error code. */
static int16_t
commit(struct client *c, const char *group, int32_t gen, const char *member,
    const char *topic, int32_t partition, int64_t offset, const char *meta)
{
	struct sl_buf b = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int16_t err;

	brk_wr_string(&b, group);
	brk_wr_i32(&b, gen);
	brk_wr_string(&b, member);
	brk_wr_string(&b, NULL);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, topic);
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, partition);
	brk_wr_i64(&b, offset);
	brk_wr_i32(&b, 4);		/* leader epoch */
	brk_wr_string(&b, meta);
	ck_assert_int_eq(call(c, API_OFFSET_COMMIT, 7, &b), 0);
	sl_buf_free(&b);
	brk_rd_init(&r, c->body.p, c->body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert(brk_slice_eq(s, topic));
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "partitions"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "partition"), partition);
	err = brk_rd_i16(&r, "error");
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	return err;
}

/* OffsetFetch v5 of one partition: its committed offset, epoch and metadata. */
static int64_t
fetch(struct client *c, const char *group, const char *topic, int32_t partition,
    int32_t *epoch, char *meta, size_t cap)
{
	struct sl_buf b = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int64_t off;

	brk_wr_string(&b, group);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, topic);
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, partition);
	ck_assert_int_eq(call(c, API_OFFSET_FETCH, 5, &b), 0);
	sl_buf_free(&b);
	brk_rd_init(&r, c->body.p, c->body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert(brk_slice_eq(s, topic));
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "partitions"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "partition"), partition);
	off = brk_rd_i64(&r, "offset");
	*epoch = brk_rd_i32(&r, "epoch");
	rd_cstr(&r, meta, cap, "metadata");
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_NONE);
	ck_assert_int_eq(brk_rd_i16(&r, "top error"), KERR_NONE);
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	return off;
}

/* -------------------------------------------------------------- tests */

START_TEST(find_coordinator_names_this_node_for_groups_and_transactions)
{
	struct client c = { 0 };
	struct sl_buf b = { 0 };
	struct brk_rd r;
	struct sl_slice host;
	int8_t kt;

	for (kt = 0; kt <= 1; kt++) {
		sl_buf_reset(&b);
		brk_wr_string(&b, "g");
		brk_wr_i8(&b, kt);
		ck_assert_int_eq(call(&c, API_FIND_COORDINATOR, 2, &b), 0);
		brk_rd_init(&r, c.body.p, c.body.len);
		ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
		ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_NONE);
		ck_assert_int_eq(brk_rd_string(&r, &host, "message"), 1);
		ck_assert_int_eq(brk_rd_i32(&r, "node"), 1);
		brk_rd_string(&r, &host, "host");
		ck_assert(brk_slice_eq(host, "127.0.0.1"));
		ck_assert_int_eq(brk_rd_i32(&r, "port"), 9092);
		ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	}
	/* v0: error, node, host, port only */
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	ck_assert_int_eq(call(&c, API_FIND_COORDINATOR, 0, &b), 0);
	ck_assert_uint_eq(c.body.len, 2 + 4 + 2 + 9 + 4);
	sl_buf_free(&b);
	client_free(&c);
}
END_TEST

START_TEST(two_members_join_and_the_first_joiner_leads_with_the_member_list)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j1, j2;

	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RR_RANGE), 1);
	ck_assert_str_ne(c1.member_id, c2.member_id);
	join_end(&c1, &j1);
	join_end(&c2, &j2);
	ck_assert_int_eq(j1.gen, 1);
	ck_assert_int_eq(j2.gen, 1);
	ck_assert_str_eq(j1.leader, c1.member_id);
	ck_assert_str_eq(j2.leader, c1.member_id);
	/* The leader's preference wins among the protocols both support. */
	ck_assert_str_eq(j1.proto, "range");
	ck_assert_str_eq(j2.proto, "range");
	ck_assert_int_eq(j1.n, 2);
	ck_assert_str_eq(j1.members[0], c1.member_id);
	ck_assert_str_eq(j1.meta[0], "meta-one");
	ck_assert_str_eq(j1.members[1], c2.member_id);
	ck_assert_str_eq(j1.meta[1], "meta-two");
	ck_assert_int_eq(j2.n, 0);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(the_protocol_chosen_is_one_every_member_supports)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j1, j2;

	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RR), 1);
	join_end(&c1, &j1);
	join_end(&c2, &j2);
	ck_assert_str_eq(j1.proto, "roundrobin");
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(a_member_without_a_common_protocol_is_refused)
{
	static const char *const OTHER[] = { "sticky", NULL };
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct sl_buf b = { 0 };
	struct join_res j;

	two_stable(&c1, &c2, "g", 10000);
	req_join(&b, 5, "g", 10000, "", OTHER, "x");
	ck_assert_int_eq(call(&c2, API_JOIN_GROUP, 5, &b), 0);
	parse_join(&c2.body, 5, &j);
	ck_assert_int_eq(j.err, KERR_INCONSISTENT_GROUP_PROTOCOL);
	sl_buf_free(&b);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(an_old_client_gets_its_member_id_without_a_round_trip)
{
	struct client c = { .tag = "old" };
	struct sl_buf b = { 0 };
	struct join_res j;

	req_join(&b, 3, "g", 10000, "", RANGE_RR, c.tag);
	ck_assert_int_eq(call(&c, API_JOIN_GROUP, 3, &b), 1);
	wait_reply(&c);
	parse_join(&c.body, 3, &j);
	ck_assert_int_eq(j.err, KERR_NONE);
	ck_assert_int_eq(j.gen, 1);
	ck_assert_str_eq(j.leader, j.member);
	ck_assert_int_eq(j.n, 1);
	/* An unknown non-empty member id is refused. */
	sl_buf_reset(&b);
	req_join(&b, 3, "g", 10000, "nobody", RANGE_RR, c.tag);
	ck_assert_int_eq(call(&c, API_JOIN_GROUP, 3, &b), 0);
	parse_join(&c.body, 3, &j);
	ck_assert_int_eq(j.err, KERR_UNKNOWN_MEMBER_ID);
	ck_assert_str_eq(j.member, "nobody");
	sl_buf_free(&b);
	client_free(&c);
}
END_TEST

START_TEST(sync_distributes_the_leaders_assignments_to_waiting_followers)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j1, j2;
	const char *pairs[4];
	char a[64];

	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RANGE_RR), 1);
	join_end(&c1, &j1);
	join_end(&c2, &j2);
	/* The follower comes first and waits for the leader. */
	ck_assert_int_eq(sync_start(&c2, "g", NULL, 0), 1);
	run_for(50);
	ck_assert_int_eq(c2.calls, 0);
	ck_assert_int_eq(heartbeat(&c1, "g", c1.gen, c1.member_id), KERR_NONE);
	pairs[0] = c2.member_id;
	pairs[1] = "for-two";
	pairs[2] = c1.member_id;
	pairs[3] = "for-one";
	ck_assert_int_eq(sync_start(&c1, "g", pairs, 2), 0);
	ck_assert_int_eq(parse_sync(&c1.body, a, sizeof(a)), KERR_NONE);
	ck_assert_str_eq(a, "for-one");
	wait_reply(&c2);
	ck_assert_int_eq(parse_sync(&c2.body, a, sizeof(a)), KERR_NONE);
	ck_assert_str_eq(a, "for-two");
	run_for(20);
	ck_assert_int_eq(c2.calls, 1);	/* exactly once */
	ck_assert_int_eq(heartbeat(&c2, "g", c2.gen, c2.member_id), KERR_NONE);
	/* A late sync in Stable gets the same assignment at once. */
	ck_assert_int_eq(sync_start(&c2, "g", NULL, 0), 0);
	ck_assert_int_eq(parse_sync(&c2.body, a, sizeof(a)), KERR_NONE);
	ck_assert_str_eq(a, "for-two");
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(heartbeats_report_rebalance_stale_generation_and_unknown_member)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" }, c3 = { .tag = "three" };
	struct join_res j1, j3;

	two_stable(&c1, &c2, "g", 10000);
	ck_assert_int_eq(heartbeat(&c1, "g", c1.gen, c1.member_id), KERR_NONE);
	ck_assert_int_eq(heartbeat(&c1, "g", c1.gen - 1, c1.member_id),
	    KERR_ILLEGAL_GENERATION);
	ck_assert_int_eq(heartbeat(&c1, "g", c1.gen, "stranger"), KERR_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(heartbeat(&c1, "nogroup", 1, c1.member_id),
	    KERR_UNKNOWN_MEMBER_ID);
	/* A third member starts a rebalance. */
	ck_assert_int_eq(join_start(&c3, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(heartbeat(&c1, "g", c1.gen, c1.member_id),
	    KERR_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(heartbeat(&c2, "g", c2.gen, c2.member_id),
	    KERR_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RR_RANGE), 1);
	join_end(&c1, &j1);
	join_end(&c3, &j3);
	wait_reply(&c2);
	ck_assert_int_eq(j1.gen, 2);
	ck_assert_int_eq(j1.n, 3);
	ck_assert_str_eq(j1.leader, c1.member_id);	/* the leader stays */
	/* The old generation is fenced. */
	ck_assert_int_eq(heartbeat(&c1, "g", 1, c1.member_id), KERR_ILLEGAL_GENERATION);
	client_free(&c1);
	client_free(&c2);
	client_free(&c3);
}
END_TEST

START_TEST(an_expired_session_removes_the_member_and_rebalances)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j1;
	int i;
	int16_t err = KERR_NONE;

	two_stable(&c1, &c2, "g", 300);
	/* Only c1 heartbeats; c2's 300 ms session runs out. */
	for (i = 0; i < 40 && err == KERR_NONE; i++) {
		run_for(25);
		err = heartbeat(&c1, "g", c1.gen, c1.member_id);
	}
	ck_assert_int_eq(err, KERR_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(heartbeat(&c2, "g", c2.gen, c2.member_id), KERR_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(join_start(&c1, "g", 300, RANGE_RR), 1);
	join_end(&c1, &j1);
	ck_assert_int_eq(j1.gen, 2);
	ck_assert_int_eq(j1.n, 1);
	ck_assert_str_eq(j1.leader, c1.member_id);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(a_member_that_does_not_rejoin_in_time_is_dropped)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j2;

	/* Session 10 s, rebalance timeout 300 ms; c1 never rejoins. */
	join_rebalance_ms = 300;
	two_stable(&c1, &c2, "g", 10000);
	/* A follower rejoining unchanged keeps the generation... */
	ck_assert_int_eq(join_start(&c2, "g", 10000, RR_RANGE), 0);
	parse_join(&c2.body, 5, &j2);
	ck_assert_int_eq(j2.err, KERR_NONE);
	ck_assert_int_eq(j2.gen, 1);
	/* ...a changed subscription starts a rebalance. */
	ck_assert_int_eq(join_start(&c2, "g", 10000, RR), 1);
	run_for(150);
	ck_assert_int_eq(c2.calls, 0);
	join_end(&c2, &j2);
	ck_assert_int_eq(j2.gen, 2);
	ck_assert_int_eq(j2.n, 1);
	ck_assert_str_eq(j2.leader, c2.member_id);	/* the old leader is gone */
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(leaving_rebalances_the_rest)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct sl_buf b = { 0 };
	struct join_res j2;
	struct brk_rd r;

	two_stable(&c1, &c2, "g", 10000);
	brk_wr_string(&b, "g");
	brk_wr_string(&b, c1.member_id);
	ck_assert_int_eq(call(&c1, API_LEAVE_GROUP, 2, &b), 0);
	brk_rd_init(&r, c1.body.p, c1.body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_NONE);
	ck_assert_int_eq(call(&c1, API_LEAVE_GROUP, 0, &b), 0);	/* again: unknown */
	brk_rd_init(&r, c1.body.p, c1.body.len);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_UNKNOWN_MEMBER_ID);
	ck_assert_int_eq(heartbeat(&c2, "g", c2.gen, c2.member_id),
	    KERR_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RR_RANGE), 1);
	join_end(&c2, &j2);
	ck_assert_int_eq(j2.n, 1);
	ck_assert_str_eq(j2.leader, c2.member_id);
	ck_assert_str_eq(j2.proto, "roundrobin");
	sl_buf_free(&b);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(a_closed_connection_never_gets_its_deferred_reply)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j1, j2;
	const char *pairs[2];
	char a[64];

	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RANGE_RR), 1);
	join_end(&c1, &j1);
	join_end(&c2, &j2);
	ck_assert_int_eq(sync_start(&c2, "g", NULL, 0), 1);
	brk_groups_cancel(gs, &c2);
	pairs[0] = c1.member_id;
	pairs[1] = "x";
	ck_assert_int_eq(sync_start(&c1, "g", pairs, 1), 0);
	ck_assert_int_eq(parse_sync(&c1.body, a, sizeof(a)), KERR_NONE);
	run_for(50);
	ck_assert_int_eq(c2.calls, 0);
	brk_groups_check_(gs);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(describe_and_list_show_state_protocol_and_members)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct sl_buf b = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int32_t i;

	two_stable(&c1, &c2, "g", 10000);
	brk_wr_i32(&b, 2);
	brk_wr_string(&b, "g");
	brk_wr_string(&b, "absent");
	brk_wr_i8(&b, 0);
	ck_assert_int_eq(call(&c1, API_DESCRIBE_GROUPS, 3, &b), 0);
	brk_rd_init(&r, c1.body.p, c1.body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "groups"), 2);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	brk_rd_string(&r, &s, "id");
	ck_assert(brk_slice_eq(s, "g"));
	brk_rd_string(&r, &s, "state");
	ck_assert(brk_slice_eq(s, "Stable"));
	brk_rd_string(&r, &s, "ptype");
	ck_assert(brk_slice_eq(s, "consumer"));
	brk_rd_string(&r, &s, "pdata");
	ck_assert(brk_slice_eq(s, "range"));
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "members"), 2);
	for (i = 0; i < 2; i++) {
		brk_rd_string(&r, &s, "member");
		ck_assert(brk_slice_eq(s, i == 0 ? c1.member_id : c2.member_id));
		brk_rd_string(&r, &s, "client");
		ck_assert(brk_slice_eq(s, "tester"));
		brk_rd_string(&r, &s, "host");
		brk_rd_bytes(&r, &s, "metadata");
		ck_assert(s.len == 8 && memcmp(s.p, i == 0 ? "meta-one" : "meta-two", 8) == 0);
		brk_rd_bytes(&r, &s, "assignment");
		ck_assert(s.len == 8 && memcmp(s.p, i == 0 ? "assign-1" : "assign-2", 8) == 0);
	}
	ck_assert_int_eq(brk_rd_i32(&r, "ops"), INT32_MIN);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	brk_rd_string(&r, &s, "id");
	brk_rd_string(&r, &s, "state");
	ck_assert(brk_slice_eq(s, "Dead"));
	brk_rd_string(&r, &s, "ptype");
	brk_rd_string(&r, &s, "pdata");
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "members"), 0);
	ck_assert_int_eq(brk_rd_i32(&r, "ops"), INT32_MIN);
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);

	sl_buf_reset(&b);
	ck_assert_int_eq(call(&c1, API_LIST_GROUPS, 2, &b), 0);
	brk_rd_init(&r, c1.body.p, c1.body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "groups"), 1);
	brk_rd_string(&r, &s, "id");
	ck_assert(brk_slice_eq(s, "g"));
	brk_rd_string(&r, &s, "ptype");
	ck_assert(brk_slice_eq(s, "consumer"));
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	sl_buf_free(&b);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(commits_are_fenced_by_member_and_generation)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	int32_t epoch;
	char meta[64];

	two_stable(&c1, &c2, "g", 10000);
	ck_assert_int_eq(commit(&c1, "g", c1.gen, c1.member_id, "t", 0, 42, "m"), KERR_NONE);
	ck_assert_int_eq(commit(&c1, "g", c1.gen + 1, c1.member_id, "t", 0, 43, NULL),
	    KERR_ILLEGAL_GENERATION);
	ck_assert_int_eq(commit(&c1, "g", c1.gen, "stranger", "t", 0, 44, NULL),
	    KERR_UNKNOWN_MEMBER_ID);
	/* A simple commit to a group with members is refused. */
	ck_assert_int_eq(commit(&c1, "g", -1, "", "t", 0, 45, NULL), KERR_UNKNOWN_MEMBER_ID);
	/* An unknown group with a generation: fenced. */
	ck_assert_int_eq(commit(&c1, "other", 3, "x", "t", 0, 1, NULL),
	    KERR_ILLEGAL_GENERATION);
	ck_assert_int_eq(fetch(&c1, "g", "t", 0, &epoch, meta, sizeof(meta)), 42);
	ck_assert_int_eq(epoch, 4);
	ck_assert_str_eq(meta, "m");
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(commits_follow_the_rebalance_state)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" }, c3 = { .tag = "three" };
	struct join_res j;

	two_stable(&c1, &c2, "g", 10000);
	/* PreparingRebalance: members commit what they consumed before rejoining. */
	ck_assert_int_eq(join_start(&c3, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(commit(&c1, "g", c1.gen, c1.member_id, "t", 0, 5, ""), KERR_NONE);
	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RANGE_RR), 1);
	join_end(&c1, &j);
	join_end(&c2, &j);
	join_end(&c3, &j);
	/* CompletingRebalance: the assignment is not known yet. */
	ck_assert_int_eq(commit(&c2, "g", c2.gen, c2.member_id, "t", 0, 6, ""),
	    KERR_REBALANCE_IN_PROGRESS);
	ck_assert_int_eq(heartbeat(&c2, "g", c2.gen, c2.member_id), KERR_NONE);
	client_free(&c1);
	client_free(&c2);
	client_free(&c3);
}
END_TEST

START_TEST(a_commit_that_cannot_be_synced_is_refused_and_not_visible)
{
	struct client c = { 0 };
	int32_t epoch;
	char meta[64];

	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 0, 10, ""), KERR_NONE);
	lg_fault_arm(LG_FAULT_SYNC, 1, EIO);
	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 0, 11, ""), KERR_UNKNOWN_SERVER_ERROR);
	lg_fault_reset();
	ck_assert_int_eq(fetch(&c, "g", "t", 0, &epoch, meta, sizeof(meta)), 10);	/* (6) */
	/* The log is reopened for the next commit. */
	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 0, 12, ""), KERR_NONE);
	brk_groups_close(gs);
	groups_open();
	ck_assert_int_eq(fetch(&c, "g", "t", 0, &epoch, meta, sizeof(meta)), 12);
	client_free(&c);
}
END_TEST

/* ------------------------------------- OffsetCommit through a group commit */

static int dirty_calls;
static int defer_when_free;		/* 0: sync at once unless 'must' */

static int
on_dirty(void *arg, int must)
{
	(void)arg;
	dirty_calls++;
	return must || defer_when_free;
}

/* Send OffsetCommit v7 of one partition; returns what call() returns. */
static int
commit_send(struct client *c, const char *group, const char *topic,
    int32_t partition, int64_t offset)
{
	struct sl_buf b = { 0 };
	int rc;

	brk_wr_string(&b, group);
	brk_wr_i32(&b, -1);
	brk_wr_string(&b, "");
	brk_wr_string(&b, NULL);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, topic);
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, partition);
	brk_wr_i64(&b, offset);
	brk_wr_i32(&b, 4);
	brk_wr_string(&b, "m");
	rc = call(c, API_OFFSET_COMMIT, 7, &b);
	sl_buf_free(&b);
	return rc;
}

/*
 * Start reading 'c's one reply, an OffsetCommit or OffsetFetch of one
 * partition: past throttle, the topic and the partition index, where the
 * partition's own fields begin.
 */
static void
reply_at_partition(const struct client *c, struct brk_rd *r)
{
	struct sl_slice s;

	ck_assert_int_eq(c->calls, 1);
	brk_rd_init(r, c->body.p, c->body.len);
	(void)brk_rd_i32(r, "throttle");
	ck_assert_int_eq(brk_rd_array(r, 6, NULL, "topics"), 1);
	brk_rd_string(r, &s, "name");
	ck_assert_int_eq(brk_rd_array(r, 6, NULL, "partitions"), 1);
	(void)brk_rd_i32(r, "partition");
}

/* The error code of the one partition in 'c's OffsetCommit reply. */
static int16_t
commit_err(const struct client *c)
{
	struct brk_rd r;
	int16_t err;

	reply_at_partition(c, &r);
	err = brk_rd_i16(&r, "error");
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	return err;
}

/* Send OffsetFetch v5 of one partition; returns what call() returns. */
static int
fetch_send(struct client *c, const char *group, const char *topic,
    int32_t partition)
{
	struct sl_buf b = { 0 };
	int rc;

	brk_wr_string(&b, group);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, topic);
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, partition);
	rc = call(c, API_OFFSET_FETCH, 5, &b);
	sl_buf_free(&b);
	return rc;
}

/* The committed offset in 'c's OffsetFetch reply. */
static int64_t
fetch_offset(const struct client *c)
{
	struct brk_rd r;
	struct sl_slice s;
	int64_t off;

	reply_at_partition(c, &r);
	off = brk_rd_i64(&r, "offset");
	(void)brk_rd_i32(&r, "epoch");
	brk_rd_string(&r, &s, "metadata");
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_NONE);
	ck_assert_int_eq(brk_rd_i16(&r, "top error"), KERR_NONE);
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	return off;
}

/* Play the broker's round: take, sync the log, report. */
static void
round_run(int fail)
{
	struct lg_partition *log = brk_groups_offsets_take(gs);
	struct sl_err err = { 0 };

	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_null(brk_groups_offsets_take(gs));	/* taken once */
	if (fail)
		lg_fault_arm(LG_FAULT_SYNC, 1, EIO);
	ck_assert_int_eq(lg_partition_sync(log, &err), fail ? -EIO : 0);
	lg_fault_reset();
	brk_groups_offsets_done(gs, fail ? -EIO : 0);
	brk_groups_check_(gs);
	run_for(10);			/* replies leave from the loop (4) */
}

START_TEST(a_group_committed_offset_is_answered_and_visible_only_after_its_round)
{
	struct client c1 = { 0 }, c2 = { 0 }, c3 = { 0 }, c4 = { 0 };

	brk_groups_set_syncer(gs, on_dirty, NULL);
	dirty_calls = 0;
	defer_when_free = 1;
	ck_assert_ptr_null(brk_groups_offsets_take(gs));	/* nothing waits */
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 10), 1);
	ck_assert_int_eq(dirty_calls, 1);
	/* Pipelined behind it, a fetch waits too and then reads the commit. */
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 1);
	round_run(0);
	ck_assert_int_eq(commit_err(&c1), KERR_NONE);
	ck_assert_int_eq(fetch_offset(&c2), 10);
	/* A commit appended after the take waits for the next round (7). */
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 20), 1);
	{
		struct lg_partition *log = brk_groups_offsets_take(gs);

		ck_assert_ptr_nonnull(log);
		ck_assert_int_eq(commit_send(&c3, "g", "t", 1, 30), 1);
		ck_assert_int_eq(fetch_send(&c4, "g", "t", 1), 1);
		ck_assert_int_eq(lg_partition_sync(log, NULL), 0);
		brk_groups_offsets_done(gs, 0);
		run_for(10);
	}
	ck_assert_int_eq(commit_err(&c1), KERR_NONE);
	ck_assert_int_eq(c3.calls, 0);		/* not synced yet */
	ck_assert_int_eq(c4.calls, 0);		/* behind c3 */
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 1), 1);	/* still behind */
	round_run(0);
	ck_assert_int_eq(commit_err(&c3), KERR_NONE);
	ck_assert_int_eq(fetch_offset(&c4), 30);
	ck_assert_int_eq(fetch_offset(&c2), 30);
	/* No commit waits: fetches are answered at once again. */
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 20);
	brk_groups_close(gs);
	groups_open();
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 20);
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 1), 0);
	ck_assert_int_eq(fetch_offset(&c2), 30);
	client_free(&c1);
	client_free(&c2);
	client_free(&c3);
	client_free(&c4);
}
END_TEST

START_TEST(a_failed_group_commit_is_refused_hidden_and_the_log_reopened)
{
	struct client c1 = { 0 }, c2 = { 0 };

	brk_groups_set_syncer(gs, on_dirty, NULL);
	defer_when_free = 1;
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 10), 1);
	round_run(0);
	ck_assert_int_eq(commit_err(&c1), KERR_NONE);
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 11), 1);
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 1);
	round_run(1);
	ck_assert_int_eq(commit_err(&c1), KERR_UNKNOWN_SERVER_ERROR);
	ck_assert_int_eq(fetch_offset(&c2), 10);	/* (6) */
	/* Nothing waits any more: the next commit reopens the log. */
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 12), 1);
	round_run(0);
	ck_assert_int_eq(commit_err(&c1), KERR_NONE);
	brk_groups_close(gs);
	groups_open();
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 12);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(a_cancelled_group_commit_is_not_answered_but_still_applied)
{
	struct client c1 = { 0 }, c2 = { 0 };

	brk_groups_set_syncer(gs, on_dirty, NULL);
	defer_when_free = 1;
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 10), 1);
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 1);
	brk_groups_cancel(gs, &c1);		/* its connection closed */
	brk_groups_cancel(gs, &c2);
	round_run(0);
	ck_assert_int_eq(c1.calls, 0);
	ck_assert_int_eq(c2.calls, 0);
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 10);	/* durable, so visible */
	client_free(&c1);
	client_free(&c2);
}
END_TEST

START_TEST(an_idle_broker_lets_a_commit_sync_at_once_but_never_ahead_of_waiting_ones)
{
	struct client c1 = { 0 }, c2 = { 0 };

	brk_groups_set_syncer(gs, on_dirty, NULL);
	dirty_calls = 0;
	defer_when_free = 0;
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 10), 0);	/* synced inline */
	ck_assert_int_eq(commit_err(&c1), KERR_NONE);
	ck_assert_int_eq(dirty_calls, 1);
	ck_assert_ptr_null(brk_groups_offsets_take(gs));
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 10);
	/* One deferred: the next must queue behind it, not sync past it. */
	defer_when_free = 1;
	ck_assert_int_eq(commit_send(&c1, "g", "t", 0, 11), 1);
	defer_when_free = 0;
	ck_assert_int_eq(commit_send(&c2, "g", "t", 0, 12), 1);
	round_run(0);
	ck_assert_int_eq(commit_err(&c1), KERR_NONE);
	ck_assert_int_eq(commit_err(&c2), KERR_NONE);
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 12);
	brk_groups_close(gs);
	groups_open();
	ck_assert_int_eq(fetch_send(&c2, "g", "t", 0), 0);
	ck_assert_int_eq(fetch_offset(&c2), 12);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

static int
no_topic_nope(void *arg, const char *topic, int32_t partition)
{
	(void)arg;
	return strcmp(topic, "nope") != 0 && partition < 4;
}

static int64_t
end_of(void *arg, const char *topic, int32_t partition)
{
	(void)arg;
	return strcmp(topic, "t") == 0 ? 100 + partition : -1;
}

START_TEST(offsets_committed_survive_close_and_reopen)
{
	struct client c = { 0 };
	struct sl_buf b = { 0 };
	struct brk_rd r;
	struct sl_slice s;
	int32_t epoch, n, i;
	char meta[64];

	brk_groups_set_topic_check(gs, no_topic_nope, NULL);
	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 0, 10, "zero"), KERR_NONE);
	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 1, 11, NULL), KERR_NONE);
	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 0, 12, "zero2"), KERR_NONE);
	ck_assert_int_eq(commit(&c, "g", -1, "", "u", 2, 7, ""), KERR_NONE);
	ck_assert_int_eq(commit(&c, "h", -1, "", "t", 0, 99, ""), KERR_NONE);
	ck_assert_int_eq(commit(&c, "g", -1, "", "nope", 0, 1, ""),
	    KERR_UNKNOWN_TOPIC_OR_PARTITION);
	ck_assert_int_eq(commit(&c, "g", -1, "", "t", 9, 1, ""),
	    KERR_UNKNOWN_TOPIC_OR_PARTITION);
	brk_groups_close(gs);
	groups_open();
	brk_groups_check_(gs);
	ck_assert_int_eq(fetch(&c, "g", "t", 0, &epoch, meta, sizeof(meta)), 12);
	ck_assert_str_eq(meta, "zero2");
	ck_assert_int_eq(epoch, 4);
	ck_assert_int_eq(fetch(&c, "g", "t", 1, &epoch, meta, sizeof(meta)), 11);
	ck_assert_str_eq(meta, "");
	ck_assert_int_eq(fetch(&c, "g", "u", 2, &epoch, meta, sizeof(meta)), 7);
	ck_assert_int_eq(fetch(&c, "h", "t", 0, &epoch, meta, sizeof(meta)), 99);
	ck_assert_int_eq(fetch(&c, "g", "t", 3, &epoch, meta, sizeof(meta)), -1);
	ck_assert_int_eq(epoch, -1);
	ck_assert_int_eq(fetch(&c, "nobody", "t", 0, &epoch, meta, sizeof(meta)), -1);
	ck_assert_int_eq(fetch(&c, "g", "nope", 0, &epoch, meta, sizeof(meta)), -1);

	/* v3, null topics: every committed topic of the group. */
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, -1);
	ck_assert_int_eq(call(&c, API_OFFSET_FETCH, 3, &b), 0);
	brk_rd_init(&r, c.body.p, c.body.len);
	ck_assert_int_eq(brk_rd_i32(&r, "throttle"), 0);
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "topics"), 2);
	brk_rd_string(&r, &s, "name");
	ck_assert(brk_slice_eq(s, "t"));
	n = brk_rd_array(&r, 1, NULL, "partitions");
	ck_assert_int_eq(n, 2);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(brk_rd_i32(&r, "partition"), i);
		ck_assert_int_eq(brk_rd_i64(&r, "offset"), 12 - i);
		brk_rd_string(&r, &s, "meta");
		ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	}
	brk_rd_string(&r, &s, "name");
	ck_assert(brk_slice_eq(s, "u"));
	ck_assert_int_eq(brk_rd_array(&r, 1, NULL, "partitions"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "partition"), 2);
	ck_assert_int_eq(brk_rd_i64(&r, "offset"), 7);
	brk_rd_string(&r, &s, "meta");
	ck_assert_int_eq(brk_rd_i16(&r, "error"), 0);
	ck_assert_int_eq(brk_rd_i16(&r, "top error"), 0);
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);

	/* Metrics: committed offsets and lag. */
	sl_buf_reset(&b);
	brk_groups_metrics(gs, &b, end_of, NULL);
	sl_buf_add_u8(&b, 0);
	ck_assert_ptr_nonnull(strstr((char *)b.p,
	    "sluice_group_committed_offset{group=\"g\",topic=\"t\",partition=\"0\"} 12\n"));
	ck_assert_ptr_nonnull(strstr((char *)b.p,
	    "sluice_group_lag{group=\"g\",topic=\"t\",partition=\"1\"} 90\n"));
	ck_assert_ptr_null(strstr((char *)b.p, "sluice_group_lag{group=\"g\",topic=\"u\""));

	/* Deleting a topic forgets its offsets, also after a reopen. */
	ck_assert_int_eq(brk_groups_topic_deleted(gs, "t", NULL), 0);
	brk_groups_close(gs);
	groups_open();
	ck_assert_int_eq(fetch(&c, "g", "t", 0, &epoch, meta, sizeof(meta)), -1);
	ck_assert_int_eq(fetch(&c, "h", "t", 0, &epoch, meta, sizeof(meta)), -1);
	ck_assert_int_eq(fetch(&c, "g", "u", 2, &epoch, meta, sizeof(meta)), 7);
	sl_buf_free(&b);
	client_free(&c);
}
END_TEST

START_TEST(the_oldest_commit_and_fetch_versions_round_trip)
{
	struct client c = { 0 };
	struct sl_buf b = { 0 };
	struct brk_rd r;
	struct sl_slice s;

	/* OffsetCommit v2: retention_time_ms, no throttle in the response. */
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, -1);
	brk_wr_string(&b, "");
	brk_wr_i64(&b, 86400000);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "t");
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, 2);
	brk_wr_i64(&b, 77);
	brk_wr_string(&b, "old");
	ck_assert_int_eq(call(&c, API_OFFSET_COMMIT, 2, &b), 0);
	brk_rd_init(&r, c.body.p, c.body.len);
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "partitions"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "partition"), 2);
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_NONE);
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	/* OffsetFetch v1: no throttle, no epoch, no top-level error. */
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "t");
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, 2);
	ck_assert_int_eq(call(&c, API_OFFSET_FETCH, 1, &b), 0);
	brk_rd_init(&r, c.body.p, c.body.len);
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "topics"), 1);
	brk_rd_string(&r, &s, "name");
	ck_assert(brk_slice_eq(s, "t"));
	ck_assert_int_eq(brk_rd_array(&r, 6, NULL, "partitions"), 1);
	ck_assert_int_eq(brk_rd_i32(&r, "partition"), 2);
	ck_assert_int_eq(brk_rd_i64(&r, "offset"), 77);
	brk_rd_string(&r, &s, "metadata");
	ck_assert(brk_slice_eq(s, "old"));
	ck_assert_int_eq(brk_rd_i16(&r, "error"), KERR_NONE);
	ck_assert(brk_rd_ok(&r) && brk_rd_left(&r) == 0);
	sl_buf_free(&b);
	client_free(&c);
}
END_TEST

START_TEST(offset_records_use_kafkas_key_and_value_layouts)
{
	static const uint8_t key[] = {
		0, 1, 0, 1, 'g', 0, 2, 't', 'p', 0, 0, 0, 3
	};
	static const uint8_t value[] = {
		0, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0, 1, 'm',
		0, 0, 0, 0, 0, 0, 0, 9
	};
	struct brk_offset o = { NULL, 3, 256, 5, (char *)"m", 9 };
	struct sl_buf b = { 0 };

	brk_goff_key_encode(&b, "g", "tp", 3);
	ck_assert_uint_eq(b.len, sizeof(key));
	ck_assert_mem_eq(b.p, key, sizeof(key));
	sl_buf_reset(&b);
	brk_goff_value_encode(&b, &o);
	ck_assert_uint_eq(b.len, sizeof(value));
	ck_assert_mem_eq(b.p, value, sizeof(value));
	sl_buf_free(&b);
}
END_TEST

/* Every proper prefix of 'b' must be refused without a reply. */
static void
assert_prefixes_refused(int16_t api, int16_t v, const struct sl_buf *b)
{
	struct client c = { 0 };
	struct sl_buf cut = { 0 };
	size_t n;

	for (n = 0; n < b->len; n++) {
		sl_buf_reset(&cut);
		sl_buf_add(&cut, b->p, n);
		ck_assert_msg(call(&c, api, v, &cut) < 0, "api %d v%d: %zu of %zu bytes accepted",
		    api, v, n, b->len);
	}
	sl_buf_free(&cut);
	client_free(&c);
}

START_TEST(malformed_requests_are_refused_without_crashing)
{
	struct client c = { .tag = "x" };
	struct sl_buf b = { 0 };
	int16_t v;

	for (v = 0; v <= 5; v++) {
		sl_buf_reset(&b);
		req_join(&b, v, "g", 10000, "", RANGE_RR, "x");
		assert_prefixes_refused(API_JOIN_GROUP, v, &b);
	}
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "m");
	brk_wr_string(&b, NULL);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "m");
	brk_wr_bytes(&b, "abc", 3);
	assert_prefixes_refused(API_SYNC_GROUP, 3, &b);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, -1);
	brk_wr_string(&b, "");
	brk_wr_string(&b, NULL);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "t");
	brk_wr_i32(&b, 1);
	brk_wr_i32(&b, 0);
	brk_wr_i64(&b, 5);
	brk_wr_i32(&b, -1);
	brk_wr_string(&b, "meta");
	assert_prefixes_refused(API_OFFSET_COMMIT, 7, &b);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "t");
	brk_wr_i32(&b, 2);
	brk_wr_i32(&b, 0);
	brk_wr_i32(&b, 1);
	assert_prefixes_refused(API_OFFSET_FETCH, 5, &b);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "m");
	assert_prefixes_refused(API_HEARTBEAT, 0, &b);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_string(&b, "m");
	assert_prefixes_refused(API_LEAVE_GROUP, 0, &b);

	/* Array counts of 2^31 - 1 and 2^31 (negative) in every array. */
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 10000);
	brk_wr_i32(&b, 10000);
	brk_wr_string(&b, "");
	brk_wr_string(&b, "consumer");
	brk_wr_i32(&b, INT32_MAX);
	brk_wr_string(&b, "range");
	ck_assert_int_lt(call(&c, API_JOIN_GROUP, 1, &b), 0);
	b.len -= 4 + 7;
	brk_wr_i32(&b, INT32_MIN);
	ck_assert_int_lt(call(&c, API_JOIN_GROUP, 1, &b), 0);
	sl_buf_reset(&b);
	brk_wr_i32(&b, INT32_MIN);
	ck_assert_int_lt(call(&c, API_DESCRIBE_GROUPS, 0, &b), 0);
	sl_buf_reset(&b);
	brk_wr_i32(&b, INT32_MAX);
	brk_wr_string(&b, "g");
	ck_assert_int_lt(call(&c, API_DESCRIBE_GROUPS, 0, &b), 0);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, -1);
	brk_wr_string(&b, "");
	brk_wr_i64(&b, -1);
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "t");
	brk_wr_i32(&b, INT32_MAX);
	brk_wr_i32(&b, 0);
	ck_assert_int_lt(call(&c, API_OFFSET_COMMIT, 2, &b), 0);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, INT32_MIN);
	ck_assert_int_lt(call(&c, API_OFFSET_FETCH, 1, &b), 0);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "t");
	brk_wr_i32(&b, INT32_MAX);
	brk_wr_i32(&b, 0);
	ck_assert_int_lt(call(&c, API_OFFSET_FETCH, 1, &b), 0);
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	brk_wr_i32(&b, 1);
	brk_wr_string(&b, "m");
	brk_wr_i32(&b, INT32_MAX);
	ck_assert_int_lt(call(&c, API_SYNC_GROUP, 0, &b), 0);
	/* A negative string length other than -1. */
	sl_buf_reset(&b);
	brk_wr_i16(&b, -7);
	ck_assert_int_lt(call(&c, API_FIND_COORDINATOR, 0, &b), 0);
	/* Versions outside the served ranges. */
	sl_buf_reset(&b);
	brk_wr_string(&b, "g");
	ck_assert_int_eq(call(&c, API_FIND_COORDINATOR, 3, &b), SL_EUNSUPPORTED);
	ck_assert_int_eq(call(&c, API_OFFSET_COMMIT, 1, &b), SL_EUNSUPPORTED);
	ck_assert_int_eq(call(&c, API_PRODUCE, 3, &b), SL_EUNSUPPORTED);
	/* Nothing was created by any of it. */
	sl_buf_reset(&b);
	ck_assert_int_eq(call(&c, API_LIST_GROUPS, 0, &b), 0);
	ck_assert_uint_eq(c.body.len, 6);
	sl_buf_free(&b);
	client_free(&c);
}
END_TEST

/* xorshift64: a fixed sequence, so a failure reproduces. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

START_TEST(random_requests_never_break_an_invariant)
{
	static const int16_t apis[][2] = {
		{ API_FIND_COORDINATOR, 2 }, { API_JOIN_GROUP, 5 }, { API_SYNC_GROUP, 3 },
		{ API_HEARTBEAT, 3 }, { API_LEAVE_GROUP, 2 }, { API_DESCRIBE_GROUPS, 3 },
		{ API_LIST_GROUPS, 2 }, { API_OFFSET_COMMIT, 7 }, { API_OFFSET_FETCH, 5 },
	};
	struct client c[8];
	struct sl_buf b = { 0 };
	uint64_t st = 0x9e3779b97f4a7c15ULL;
	int i, k, n, ok = 0;
	int16_t api, v;

	memset(c, 0, sizeof(c));
	for (i = 0; i < 20000; i++) {
		k = (int)(rnd(&st) % SL_ARRAY_LEN(apis));
		api = apis[k][0];
		v = (int16_t)(rnd(&st) % (uint64_t)(apis[k][1] + 1));
		if (api == API_OFFSET_COMMIT && v < 2)
			v = 2;
		if (api == API_OFFSET_FETCH && v < 1)
			v = 1;
		sl_buf_reset(&b);
		/* Mostly small counts and lengths, so some requests decode. */
		n = (int)(rnd(&st) % 48);
		while ((int)b.len < n) {
			uint64_t x = rnd(&st);

			if (x % 3 == 0)
				brk_wr_i16(&b, (int16_t)(x >> 8) % 3);
			else if (x % 3 == 1)
				brk_wr_i32(&b, (int32_t)((x >> 8) % 3) - 1);
			else
				sl_buf_add_u8(&b, (uint8_t)(x >> 8));
		}
		if (call(&c[i % 8], api, v, &b) >= 0)
			ok++;
		if (i % 500 == 0)
			run_for(1);
	}
	run_for(20);
	brk_groups_check_(gs);
	ck_assert_int_gt(ok, 0);	/* some decoded, so the handlers ran too */
	sl_buf_free(&b);
	for (i = 0; i < 8; i++)
		client_free(&c[i]);
}
END_TEST

START_TEST(a_new_group_waits_the_initial_delay_for_more_members)
{
	struct client c1 = { .tag = "one" }, c2 = { .tag = "two" };
	struct join_res j1, j2;

	brk_groups_set_initial_delay(gs, 200);
	ck_assert_int_eq(join_start(&c1, "g", 10000, RANGE_RR), 1);
	run_for(100);
	ck_assert_int_eq(c1.calls, 0);
	ck_assert_int_eq(join_start(&c2, "g", 10000, RANGE_RR), 1);
	join_end(&c1, &j1);
	join_end(&c2, &j2);
	ck_assert_int_eq(j1.gen, 1);
	ck_assert_int_eq(j1.n, 2);
	client_free(&c1);
	client_free(&c2);
}
END_TEST

Suite *brkgroup_suite(void);

Suite *
brkgroup_suite(void)
{
	Suite *s = suite_create("brkgroup");
	TCase *tc = tcase_create("coordinator");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, find_coordinator_names_this_node_for_groups_and_transactions);
	tcase_add_test(tc, two_members_join_and_the_first_joiner_leads_with_the_member_list);
	tcase_add_test(tc, the_protocol_chosen_is_one_every_member_supports);
	tcase_add_test(tc, a_member_without_a_common_protocol_is_refused);
	tcase_add_test(tc, an_old_client_gets_its_member_id_without_a_round_trip);
	tcase_add_test(tc, sync_distributes_the_leaders_assignments_to_waiting_followers);
	tcase_add_test(tc, heartbeats_report_rebalance_stale_generation_and_unknown_member);
	tcase_add_test(tc, an_expired_session_removes_the_member_and_rebalances);
	tcase_add_test(tc, a_member_that_does_not_rejoin_in_time_is_dropped);
	tcase_add_test(tc, leaving_rebalances_the_rest);
	tcase_add_test(tc, a_closed_connection_never_gets_its_deferred_reply);
	tcase_add_test(tc, describe_and_list_show_state_protocol_and_members);
	tcase_add_test(tc, commits_are_fenced_by_member_and_generation);
	tcase_add_test(tc, commits_follow_the_rebalance_state);
	tcase_add_test(tc, a_commit_that_cannot_be_synced_is_refused_and_not_visible);
	tcase_add_test(tc, a_group_committed_offset_is_answered_and_visible_only_after_its_round);
	tcase_add_test(tc, a_failed_group_commit_is_refused_hidden_and_the_log_reopened);
	tcase_add_test(tc, a_cancelled_group_commit_is_not_answered_but_still_applied);
	tcase_add_test(tc, an_idle_broker_lets_a_commit_sync_at_once_but_never_ahead_of_waiting_ones);
	tcase_add_test(tc, offsets_committed_survive_close_and_reopen);
	tcase_add_test(tc, the_oldest_commit_and_fetch_versions_round_trip);
	tcase_add_test(tc, offset_records_use_kafkas_key_and_value_layouts);
	tcase_add_test(tc, malformed_requests_are_refused_without_crashing);
	tcase_add_test(tc, a_new_group_waits_the_initial_delay_for_more_members);
	tcase_add_test(tc, random_requests_never_break_an_invariant);
	suite_add_tcase(s, tc);
	return s;
}
