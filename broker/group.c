/*
 * broker/group.c: the group coordinator's membership protocol.
 *
 * JoinGroup 0-5, SyncGroup 0-3, Heartbeat 0-3 and LeaveGroup 0-2, with
 * per-member session timers, the rebalance timeout and the initial
 * rebalance delay on libevent timers; brk_groups_handle() dispatches every
 * group API.  The states and invariants are in broker/group_int.h; the
 * read-only APIs are in broker/group_describe.c, committed offsets in
 * broker/group_offsets.c.  Not here: static
 * membership (group.instance.id is accepted and ignored), the incremental
 * cooperative protocol (it needs nothing from the broker), persisting group
 * metadata (after a restart members rejoin, as with a coordinator failover).
 *
 * Every reply to a waiting request goes through queue_reply() and is sent by
 * flush_cb() from the event loop (4), so a handler never calls back into the
 * broker while the broker is inside brk_groups_handle().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>

#include "broker/group_int.h"

#define CLEAN_INTERVAL_S 60

const char *
brk_group_state_name(enum brk_group_state st)
{
	static const char *const names[] = {
		[BRK_GS_EMPTY] = "Empty",
		[BRK_GS_PREPARING] = "PreparingRebalance",
		[BRK_GS_COMPLETING] = "CompletingRebalance",
		[BRK_GS_STABLE] = "Stable",
	};

	return names[st];
}

static void group_prepare(struct brk_group *g, int64_t rebalance_ms);
static void group_try_complete(struct brk_group *g);
static void group_complete_join(struct brk_group *g);

/* ---------------------------------------------------------------- helpers */

int64_t
brk_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
brk_slice_eq(struct sl_slice s, const char *str)
{
	size_t n = str != NULL ? strlen(str) : 0;

	return s.len == n && (n == 0 || memcmp(s.p, str, n) == 0);
}

/* A group id or topic: not empty, no NUL byte (names are C strings here). */
int
brk_name_ok(struct sl_slice s)
{
	return s.len > 0 && memchr(s.p, 0, s.len) == NULL;
}

static char *
slice_dup(struct sl_slice s)
{
	return sl_strndup(s.p != NULL ? (const char *)s.p : "", s.len);
}

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

/* --------------------------------------------------------- reply queue (4) */

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct brk_groups *gs = arg;
	struct brk_queued e;

	(void)fd;
	(void)what;
	gs->flush_armed = 0;
	while (gs->n_q > 0) {
		/* Pop first: the reply may cancel tokens or queue more. */
		e = gs->q[0];
		memmove(gs->q, gs->q + 1, (gs->n_q - 1) * sizeof(*gs->q));
		gs->n_q--;
		e.fn(e.token, &e.body);
		sl_buf_free(&e.body);
	}
}

/* Queue 'body' (taken: the caller's struct is zeroed) for 'fn'('token'). */
static void
queue_reply(struct brk_groups *gs, brk_reply_fn fn, void *token,
    struct sl_buf *body)
{
	if (gs->n_q == gs->cap_q) {
		gs->cap_q = gs->cap_q ? gs->cap_q * 2 : 16;
		gs->q = sl_realloc(gs->q, gs->cap_q * sizeof(*gs->q));
	}
	gs->q[gs->n_q].fn = fn;
	gs->q[gs->n_q].token = token;
	gs->q[gs->n_q].body = *body;
	gs->n_q++;
	memset(body, 0, sizeof(*body));
	if (!gs->flush_armed) {
		gs->flush_armed = 1;
		event_active(gs->flush_ev, EV_TIMEOUT, 1);
	}
}

void
brk_groups_queue_reply(struct brk_groups *gs, brk_reply_fn fn, void *token,
    struct sl_buf *body)
{
	queue_reply(gs, fn, token, body);
}

/* ---------------------------------------------------------- responses */

const struct brk_proto *
brk_member_proto(const struct brk_member *m, const char *name)
{
	int32_t i;

	for (i = 0; name != NULL && i < m->n_protos; i++)
		if (strcmp(m->protos[i].name, name) == 0)
			return &m->protos[i];
	return NULL;
}

/*
 * JOINGROUP RESPONSE v0-5
 *   throttle_time_ms i32 (v2+), error_code i16, generation_id i32,
 *   protocol_name string, leader string, member_id string,
 *   members [member_id string, group_instance_id string (v5+), metadata bytes]
 * An error answer carries generation -1, empty names, 'member_id' as given
 * ('mid_len' bytes) and no members.
 */
static void
write_join_error(struct sl_buf *b, int16_t v, int16_t error, const void *member_id,
    size_t mid_len)
{
	if (v >= 2)
		brk_wr_i32(b, 0);
	brk_wr_i16(b, error);
	brk_wr_i32(b, -1);
	brk_wr_string(b, "");
	brk_wr_string(b, "");
	brk_wr_stringn(b, mid_len > 0 ? member_id : "", mid_len);
	brk_wr_i32(b, 0);
}

/* The success answer of generation 'g' to 'member_id'; the leader gets the members. */
static void
write_join(struct sl_buf *b, int16_t v, const struct brk_group *g,
    const char *member_id)
{
	const struct brk_member *leader = g->leader;
	size_t i;

	if (v >= 2)
		brk_wr_i32(b, 0);
	brk_wr_i16(b, KERR_NONE);
	brk_wr_i32(b, g->generation);
	brk_wr_string(b, g->protocol != NULL ? g->protocol : "");
	brk_wr_string(b, leader != NULL ? leader->id : "");
	brk_wr_string(b, member_id);
	if (leader == NULL || strcmp(leader->id, member_id) != 0) {
		brk_wr_i32(b, 0);
		return;
	}
	brk_wr_i32(b, (int32_t)g->n_members);
	for (i = 0; i < g->n_members; i++) {
		const struct brk_member *m = g->members[i];
		const struct brk_proto *p = brk_member_proto(m, g->protocol);

		brk_wr_string(b, m->id);
		if (v >= 5)
			brk_wr_string(b, NULL);
		if (p != NULL && p->meta.len > 0)
			brk_wr_bytes(b, p->meta.p, p->meta.len);
		else
			brk_wr_bytes(b, "", 0);
	}
}

/* SYNCGROUP RESPONSE v0-3: throttle_time_ms i32 (v1+), error_code i16, assignment bytes */
static void
write_sync(struct sl_buf *b, int16_t v, int16_t error, const struct sl_buf *assignment)
{
	if (v >= 1)
		brk_wr_i32(b, 0);
	brk_wr_i16(b, error);
	if (assignment != NULL && assignment->len > 0)
		brk_wr_bytes(b, assignment->p, assignment->len);
	else
		brk_wr_bytes(b, "", 0);
}

static void
reply_join(struct brk_member *m, int16_t error)
{
	struct sl_buf b = { 0 };

	if (!m->join_wait)
		return;
	if (error == KERR_NONE)
		write_join(&b, m->join_version, m->g, m->id);
	else
		write_join_error(&b, m->join_version, error, m->id, strlen(m->id));
	m->join_wait = 0;
	queue_reply(m->g->gs, m->join_reply, m->join_token, &b);
}

static void
reply_sync(struct brk_member *m, int16_t error)
{
	struct sl_buf b = { 0 };

	if (!m->sync_wait)
		return;
	write_sync(&b, m->sync_version, error, error == KERR_NONE ? &m->assignment : NULL);
	m->sync_wait = 0;
	queue_reply(m->g->gs, m->sync_reply, m->sync_token, &b);
}

/* ------------------------------------------------------------- groups */

struct brk_group *
brk_group_find(struct brk_groups *gs, struct sl_slice id)
{
	size_t i;

	for (i = 0; i < gs->n_groups; i++)
		if (brk_slice_eq(id, gs->groups[i]->id))
			return gs->groups[i];
	return NULL;
}

static void join_timer_cb(evutil_socket_t fd, short what, void *arg);

/* The group 'id', created Empty when unknown. */
struct brk_group *
brk_group_get(struct brk_groups *gs, struct sl_slice id)
{
	struct brk_group *g = brk_group_find(gs, id);

	if (g != NULL)
		return g;
	g = sl_calloc(1, sizeof(*g));
	g->gs = gs;
	g->id = slice_dup(id);
	g->state = BRK_GS_EMPTY;
	g->join_ev = evtimer_new(gs->base, join_timer_cb, g);
	if (g->join_ev == NULL)
		sl_oom(sizeof(struct event *));
	if (gs->n_groups == gs->cap_groups) {
		gs->cap_groups = gs->cap_groups ? gs->cap_groups * 2 : 16;
		gs->groups = sl_realloc(gs->groups, gs->cap_groups * sizeof(*gs->groups));
	}
	gs->groups[gs->n_groups++] = g;
	return g;
}

struct brk_member *
brk_group_member(struct brk_group *g, struct sl_slice id)
{
	size_t i;

	if (g == NULL || id.len == 0)
		return NULL;
	for (i = 0; i < g->n_members; i++)
		if (brk_slice_eq(id, g->members[i]->id))
			return g->members[i];
	return NULL;
}

/* ------------------------------------------------------------ members */

static void
protos_free(struct brk_proto *p, int32_t n)
{
	int32_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		sl_buf_free(&p[i].meta);
	}
	free(p);
}

static int
protos_equal(const struct brk_proto *a, int32_t na, const struct brk_proto *b,
    int32_t nb)
{
	int32_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i].name, b[i].name) != 0 || a[i].meta.len != b[i].meta.len)
			return 0;
		if (a[i].meta.len > 0 && memcmp(a[i].meta.p, b[i].meta.p, a[i].meta.len) != 0)
			return 0;
	}
	return 1;
}

static void session_cb(evutil_socket_t fd, short what, void *arg);

/* Restart 'm''s session timer: it lives another session_timeout_ms. */
void
brk_member_touch(struct brk_member *m)
{
	struct timeval tv = tv_ms(m->session_ms);

	evtimer_add(m->session_ev, &tv);
}

static struct brk_member *
member_add(struct brk_group *g, char *id, struct sl_slice client_id)
{
	struct brk_member *m = sl_calloc(1, sizeof(*m));

	m->g = g;
	m->id = id;
	m->client_id = slice_dup(client_id);
	m->session_ev = evtimer_new(g->gs->base, session_cb, m);
	if (m->session_ev == NULL)
		sl_oom(sizeof(struct event *));
	if (g->n_members == g->cap_members) {
		g->cap_members = g->cap_members ? g->cap_members * 2 : 8;
		g->members = sl_realloc(g->members, g->cap_members * sizeof(*g->members));
	}
	g->members[g->n_members++] = m;
	return m;
}

/* Take 'm' out of its group and free it; owed replies get UNKNOWN_MEMBER_ID. */
static void
member_unlink(struct brk_member *m)
{
	struct brk_group *g = m->g;
	size_t i;

	reply_join(m, KERR_UNKNOWN_MEMBER_ID);
	reply_sync(m, KERR_UNKNOWN_MEMBER_ID);
	for (i = 0; i < g->n_members; i++) {
		if (g->members[i] == m) {
			memmove(g->members + i, g->members + i + 1,
			    (g->n_members - i - 1) * sizeof(*g->members));
			g->n_members--;
			break;
		}
	}
	if (g->leader == m)
		g->leader = NULL;	/* (2): a new one is chosen at join completion */
	event_free(m->session_ev);
	protos_free(m->protos, m->n_protos);
	sl_buf_free(&m->assignment);
	free(m->client_id);
	free(m->id);
	free(m);
}

/* Remove 'm' (left or expired) and rebalance the rest. */
static void
member_remove(struct brk_member *m)
{
	struct brk_group *g = m->g;

	member_unlink(m);
	switch (g->state) {
	case BRK_GS_STABLE:
	case BRK_GS_COMPLETING:
		group_prepare(g, 0);
		group_try_complete(g);
		break;
	case BRK_GS_PREPARING:
		group_try_complete(g);
		break;
	case BRK_GS_EMPTY:
		break;
	}
}

static void
session_cb(evutil_socket_t fd, short what, void *arg)
{
	struct brk_member *m = arg;

	(void)fd;
	(void)what;
	/* Kafka does not expire a member that rejoined and awaits the join. */
	if (m->g->state == BRK_GS_PREPARING && m->joined) {
		brk_member_touch(m);
		return;
	}
	sl_info("group %s: member %s session expired after %d ms", m->g->id,
	    m->id, (int)m->session_ms);
	member_remove(m);
}

/*
 * A member id: the client id, '-' and 16 random bytes as a UUID, as Kafka
 * forms them.
 */
static char *
member_id_new(struct brk_groups *gs, struct sl_slice client_id)
{
	uint8_t r[16];
	size_t n = client_id.len > 64 ? 64 : client_id.len;
	uint64_t seq = ++gs->id_seq;
	int i;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		int64_t t = sl_mono_ns();

		memcpy(r, &t, 8);
		memcpy(r + 8, &seq, 8);
	}
	for (i = 0; i < 8; i++)	/* never repeat within a process */
		r[8 + i] ^= (uint8_t)(seq >> (8 * i));
	return sl_asprintf("%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", (int)n,
	    client_id.p != NULL ? (const char *)client_id.p : "",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
}

static void
pending_prune(struct brk_group *g, int64_t now)
{
	size_t i = 0;

	while (i < g->n_pending) {
		if (g->pending[i].expire_ms <= now || g->n_pending > BRK_GROUP_PENDING_MAX) {
			free(g->pending[i].id);
			memmove(g->pending + i, g->pending + i + 1,
			    (g->n_pending - i - 1) * sizeof(*g->pending));
			g->n_pending--;
		} else {
			i++;
		}
	}
}

static void
pending_add(struct brk_group *g, const char *id, int32_t session_ms)
{
	int64_t now = brk_mono_ms();

	pending_prune(g, now);
	if (g->n_pending == g->cap_pending) {
		g->cap_pending = g->cap_pending ? g->cap_pending * 2 : 8;
		g->pending = sl_realloc(g->pending, g->cap_pending * sizeof(*g->pending));
	}
	g->pending[g->n_pending].id = sl_strdup(id);
	g->pending[g->n_pending].expire_ms = now + session_ms;
	g->n_pending++;
}

/* Remove 'id' from the pending ids; returns its string (the caller's) or NULL. */
static char *
pending_take(struct brk_group *g, struct sl_slice id)
{
	size_t i;
	char *s;

	pending_prune(g, brk_mono_ms());
	for (i = 0; i < g->n_pending; i++) {
		if (brk_slice_eq(id, g->pending[i].id)) {
			s = g->pending[i].id;
			memmove(g->pending + i, g->pending + i + 1,
			    (g->n_pending - i - 1) * sizeof(*g->pending));
			g->n_pending--;
			return s;
		}
	}
	return NULL;
}

/* ------------------------------------------------------ rebalancing */

static void
join_timer_arm(struct brk_group *g)
{
	int64_t now = brk_mono_ms();
	int64_t at = g->delay_until_ms > now ? g->delay_until_ms : g->deadline_ms;
	struct timeval tv = tv_ms(at - now);

	evtimer_add(g->join_ev, &tv);
}

/*
 * Enter PREPARING: owed SyncGroup replies get REBALANCE_IN_PROGRESS, every
 * member must rejoin within the largest rebalance timeout of the members
 * ('rebalance_ms' for a group with none yet).  A group coming from EMPTY
 * first waits the initial rebalance delay for more members.
 */
static void
group_prepare(struct brk_group *g, int64_t rebalance_ms)
{
	int64_t now = brk_mono_ms(), rb = rebalance_ms;
	int was_empty = g->state == BRK_GS_EMPTY;
	size_t i;

	for (i = 0; i < g->n_members; i++) {
		struct brk_member *m = g->members[i];

		reply_sync(m, KERR_REBALANCE_IN_PROGRESS);	/* (3) */
		m->joined = m->join_wait;
		if (m->rebalance_ms > rb)
			rb = m->rebalance_ms;
	}
	g->state = BRK_GS_PREPARING;
	g->deadline_ms = now + rb;
	g->delay_until_ms = 0;
	if (was_empty && g->gs->initial_delay_ms > 0)
		g->delay_until_ms = now + (g->gs->initial_delay_ms < rb ?
		    g->gs->initial_delay_ms : rb);
	join_timer_arm(g);
}

/* Complete the join phase when every member has rejoined and no delay runs. */
static void
group_try_complete(struct brk_group *g)
{
	size_t i;

	if (g->state != BRK_GS_PREPARING || brk_mono_ms() < g->delay_until_ms)
		return;
	for (i = 0; i < g->n_members; i++)
		if (!g->members[i]->joined)
			return;
	group_complete_join(g);
}

/*
 * The leader's first protocol that every member supports (each member's
 * protocols were checked against the group at JoinGroup, so one exists
 * unless members changed since; then the leader's first).
 */
static const char *
group_choose_protocol(const struct brk_group *g)
{
	const struct brk_member *l = g->leader;
	int32_t i;
	size_t j;

	for (i = 0; i < l->n_protos; i++) {
		for (j = 0; j < g->n_members; j++)
			if (brk_member_proto(g->members[j], l->protos[i].name) == NULL)
				break;
		if (j == g->n_members)
			return l->protos[i].name;
	}
	return l->n_protos > 0 ? l->protos[0].name : "";
}

/*
 * End the join phase: members that did not rejoin are dropped, a new
 * generation starts, the leader is kept if it rejoined (else the first
 * member), and every owed JoinGroup reply is queued, the leader's with the
 * member list.
 */
static void
group_complete_join(struct brk_group *g)
{
	size_t i = 0;

	while (i < g->n_members) {
		if (!g->members[i]->joined) {
			sl_info("group %s: member %s did not rejoin in time", g->id,
			    g->members[i]->id);
			member_unlink(g->members[i]);
		} else {
			i++;
		}
	}
	evtimer_del(g->join_ev);
	g->generation++;
	free(g->protocol);
	g->protocol = NULL;
	g->delay_until_ms = 0;
	if (g->n_members == 0) {
		g->state = BRK_GS_EMPTY;	/* (1) */
		g->leader = NULL;
		return;
	}
	if (g->leader == NULL)
		g->leader = g->members[0];
	g->protocol = sl_strdup(group_choose_protocol(g));
	g->state = BRK_GS_COMPLETING;
	sl_info("group %s: generation %d with %zu members, protocol %s, leader %s",
	    g->id, (int)g->generation, g->n_members, g->protocol, g->leader->id);
	for (i = 0; i < g->n_members; i++) {
		struct brk_member *m = g->members[i];

		sl_buf_reset(&m->assignment);
		m->joined = 0;
		reply_join(m, KERR_NONE);	/* (3) */
		brk_member_touch(m);
	}
}

static void
join_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct brk_group *g = arg;
	int64_t now = brk_mono_ms();

	(void)fd;
	(void)what;
	if (g->state != BRK_GS_PREPARING)
		return;
	if (now >= g->deadline_ms) {
		group_complete_join(g);
		return;
	}
	group_try_complete(g);
	if (g->state == BRK_GS_PREPARING)
		join_timer_arm(g);
}

/*
 * Whether a member with 'ptype' and 'protos' may join 'g' (member 'self',
 * NULL for a new one): a protocol type and at least one protocol, the
 * group's type, and a protocol every other member supports.
 */
static int
group_supports(const struct brk_group *g, const struct brk_member *self,
    struct sl_slice ptype, const struct brk_proto *protos, int32_t n)
{
	size_t j, others = 0;
	int32_t i;

	if (ptype.len == 0 || n == 0)
		return 0;
	for (j = 0; j < g->n_members; j++)
		if (g->members[j] != self)
			others++;
	if (others == 0)
		return 1;
	if (!brk_slice_eq(ptype, g->protocol_type))
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < g->n_members; j++)
			if (g->members[j] != self &&
			    brk_member_proto(g->members[j], protos[i].name) == NULL)
				break;
		if (j == g->n_members)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ handlers */

/*
 * JOINGROUP REQUEST v0-5
 *   group_id string, session_timeout_ms i32, rebalance_timeout_ms i32 (v1+),
 *   member_id string, group_instance_id string (v5+, ignored),
 *   protocol_type string, protocols [name string, metadata bytes]
 */
static int
h_join(struct brk_groups *gs, const struct brk_req_hdr *h, struct brk_rd *r,
    struct sl_buf *resp, brk_reply_fn reply, void *token)
{
	int16_t v = h->api_version;
	struct sl_slice gid, mid, iid, ptype, name, meta;
	int32_t session, rebalance, n, i;
	struct brk_proto *protos = NULL;
	struct brk_group *g;
	struct brk_member *m = NULL;
	int16_t error = KERR_NONE;
	int is_new = 0, same = 0, rc = 0;
	char *id = NULL;

	brk_rd_string(r, &gid, "group_id");
	session = brk_rd_i32(r, "session_timeout_ms");
	rebalance = v >= 1 ? brk_rd_i32(r, "rebalance_timeout_ms") : session;
	brk_rd_string(r, &mid, "member_id");
	if (v >= 5)
		brk_rd_string(r, &iid, "group_instance_id");
	brk_rd_string(r, &ptype, "protocol_type");
	n = brk_rd_array(r, 6, NULL, "protocols");
	if (n > 0)
		protos = sl_calloc((size_t)n, sizeof(*protos));
	for (i = 0; i < n && brk_rd_ok(r); i++) {
		brk_rd_string(r, &name, "protocols.name");
		brk_rd_bytes(r, &meta, "protocols.metadata");
		protos[i].name = slice_dup(name);
		if (meta.len > 0)
			sl_buf_add(&protos[i].meta, meta.p, meta.len);
	}
	if (!brk_rd_ok(r)) {
		rc = r->err;
		goto out;
	}
	if (!brk_name_ok(gid))
		error = KERR_INVALID_GROUP_ID;
	else if (session < gs->min_session_ms || session > gs->max_session_ms)
		error = KERR_INVALID_SESSION_TIMEOUT;
	if (rebalance <= 0)
		rebalance = session;
	if (error != KERR_NONE)
		goto reply_error;
	g = brk_group_get(gs, gid);
	if (mid.len == 0) {
		if (!group_supports(g, NULL, ptype, protos, n)) {
			error = KERR_INCONSISTENT_GROUP_PROTOCOL;
			goto reply_error;
		}
		id = member_id_new(gs, h->client_id);
		if (v >= 4) {
			/* KIP-394: hand out the id, the client rejoins with it. */
			pending_add(g, id, session);
			write_join_error(resp, v, KERR_MEMBER_ID_REQUIRED, id, strlen(id));
			goto out;
		}
		is_new = 1;
	} else if ((m = brk_group_member(g, mid)) == NULL) {
		id = pending_take(g, mid);
		if (id == NULL) {
			error = KERR_UNKNOWN_MEMBER_ID;
			goto reply_error;
		}
		if (!group_supports(g, NULL, ptype, protos, n)) {
			error = KERR_INCONSISTENT_GROUP_PROTOCOL;
			goto reply_error;
		}
		is_new = 1;
	} else if (!group_supports(g, m, ptype, protos, n)) {
		error = KERR_INCONSISTENT_GROUP_PROTOCOL;
		goto reply_error;
	}
	if (is_new) {
		if (g->n_members == 0) {
			free(g->protocol_type);
			g->protocol_type = slice_dup(ptype);
		}
		m = member_add(g, id, h->client_id);
		id = NULL;
	} else {
		same = protos_equal(m->protos, m->n_protos, protos, n);
		protos_free(m->protos, m->n_protos);
	}
	m->protos = protos;
	m->n_protos = n;
	protos = NULL;
	m->session_ms = session;
	m->rebalance_ms = rebalance;
	brk_member_touch(m);

	if (!is_new && same && (g->state == BRK_GS_COMPLETING ||
	    (g->state == BRK_GS_STABLE && m != g->leader))) {
		/* Nothing changed: this generation stands (as Kafka answers). */
		write_join(resp, v, g, m->id);
		goto out;
	}
	if (m->join_wait)	/* a second JoinGroup from another connection */
		reply_join(m, KERR_REBALANCE_IN_PROGRESS);
	m->join_wait = 1;
	m->joined = 1;
	m->join_token = token;
	m->join_reply = reply;
	m->join_version = v;
	if (g->state != BRK_GS_PREPARING) {
		group_prepare(g, rebalance);
	} else if (is_new && g->delay_until_ms > brk_mono_ms()) {
		/* More members arrive: extend the initial delay, within the deadline. */
		int64_t until = brk_mono_ms() + gs->initial_delay_ms;

		g->delay_until_ms = until < g->deadline_ms ? until : g->deadline_ms;
		join_timer_arm(g);
	}
	group_try_complete(g);	/* replies are queued (4) */
	rc = 1;
	goto out;

reply_error:
	write_join_error(resp, v, error, mid.p, mid.len);
out:
	if (protos != NULL)
		protos_free(protos, n);
	free(id);
	return rc;
}

/*
 * SYNCGROUP REQUEST v0-3
 *   group_id string, generation_id i32, member_id string,
 *   group_instance_id string (v3+, ignored),
 *   assignments [member_id string, assignment bytes]
 */
static int
h_sync(struct brk_groups *gs, const struct brk_req_hdr *h, struct brk_rd *r,
    struct sl_buf *resp, brk_reply_fn reply, void *token)
{
	int16_t v = h->api_version;
	struct sl_slice gid, mid, iid, aid, data;
	int32_t gen, n, i;
	struct brk_group *g;
	struct brk_member *m, *x;
	int16_t error = KERR_NONE;
	size_t j;
	const uint8_t *start;

	brk_rd_string(r, &gid, "group_id");
	gen = brk_rd_i32(r, "generation_id");
	brk_rd_string(r, &mid, "member_id");
	if (v >= 3)
		brk_rd_string(r, &iid, "group_instance_id");
	n = brk_rd_array(r, 6, NULL, "assignments");
	start = r->p;
	for (i = 0; i < n && brk_rd_ok(r); i++) {
		brk_rd_string(r, &aid, "assignments.member_id");
		brk_rd_bytes(r, &data, "assignments.assignment");
	}
	if (!brk_rd_ok(r))
		return r->err;

	g = brk_group_find(gs, gid);
	m = brk_group_member(g, mid);
	if (m == NULL)
		error = KERR_UNKNOWN_MEMBER_ID;
	else if (gen != g->generation)
		error = KERR_ILLEGAL_GENERATION;
	else if (g->state == BRK_GS_PREPARING)
		error = KERR_REBALANCE_IN_PROGRESS;
	if (error != KERR_NONE) {
		write_sync(resp, v, error, NULL);
		return 0;
	}
	brk_member_touch(m);
	if (g->state == BRK_GS_STABLE) {
		write_sync(resp, v, KERR_NONE, &m->assignment);
		return 0;
	}
	/* COMPLETING */
	if (m != g->leader) {
		if (m->sync_wait)
			reply_sync(m, KERR_REBALANCE_IN_PROGRESS);
		m->sync_wait = 1;	/* (3) */
		m->sync_token = token;
		m->sync_reply = reply;
		m->sync_version = v;
		return 1;
	}
	/* The leader: distribute, then answer everyone. */
	r->p = start;
	for (i = 0; i < n; i++) {
		brk_rd_string(r, &aid, "assignments.member_id");
		brk_rd_bytes(r, &data, "assignments.assignment");
		x = brk_group_member(g, aid);
		if (x == NULL)
			continue;
		sl_buf_reset(&x->assignment);
		if (data.len > 0)
			sl_buf_add(&x->assignment, data.p, data.len);
	}
	g->state = BRK_GS_STABLE;
	sl_info("group %s: generation %d stable", g->id, (int)g->generation);
	for (j = 0; j < g->n_members; j++)
		reply_sync(g->members[j], KERR_NONE);
	write_sync(resp, v, KERR_NONE, &m->assignment);
	return 0;
}

/*
 * HEARTBEAT REQUEST v0-3: group_id string, generation_id i32, member_id
 *   string, group_instance_id string (v3+)
 * RESPONSE: throttle_time_ms i32 (v1+), error_code i16
 */
static int
h_heartbeat(struct brk_groups *gs, int16_t v, struct brk_rd *r, struct sl_buf *resp)
{
	struct sl_slice gid, mid, iid;
	int32_t gen;
	struct brk_group *g;
	struct brk_member *m;
	int16_t error = KERR_NONE;

	brk_rd_string(r, &gid, "group_id");
	gen = brk_rd_i32(r, "generation_id");
	brk_rd_string(r, &mid, "member_id");
	if (v >= 3)
		brk_rd_string(r, &iid, "group_instance_id");
	if (!brk_rd_ok(r))
		return r->err;
	g = brk_group_find(gs, gid);
	m = brk_group_member(g, mid);
	if (m == NULL) {
		error = KERR_UNKNOWN_MEMBER_ID;
	} else if (gen != g->generation) {
		error = KERR_ILLEGAL_GENERATION;
	} else {
		brk_member_touch(m);
		/* COMPLETING answers NONE: the member awaits its SyncGroup (Kafka 2.4+). */
		if (g->state == BRK_GS_PREPARING)
			error = KERR_REBALANCE_IN_PROGRESS;
	}
	if (v >= 1)
		brk_wr_i32(resp, 0);
	brk_wr_i16(resp, error);
	return 0;
}

/*
 * LEAVEGROUP REQUEST v0-2: group_id string, member_id string
 * RESPONSE: throttle_time_ms i32 (v1+), error_code i16
 */
static int
h_leave(struct brk_groups *gs, int16_t v, struct brk_rd *r, struct sl_buf *resp)
{
	struct sl_slice gid, mid;
	struct brk_member *m;
	int16_t error = KERR_NONE;

	brk_rd_string(r, &gid, "group_id");
	brk_rd_string(r, &mid, "member_id");
	if (!brk_rd_ok(r))
		return r->err;
	m = brk_group_member(brk_group_find(gs, gid), mid);
	if (m == NULL) {
		error = KERR_UNKNOWN_MEMBER_ID;
	} else {
		sl_info("group %s: member %s left", m->g->id, m->id);
		member_remove(m);
	}
	if (v >= 1)
		brk_wr_i32(resp, 0);
	brk_wr_i16(resp, error);
	return 0;
}

/* ------------------------------------------------------------ public */

int
brk_groups_serves(int16_t api_key)
{
	switch (api_key) {
	case API_OFFSET_COMMIT:
	case API_OFFSET_FETCH:
	case API_FIND_COORDINATOR:
	case API_JOIN_GROUP:
	case API_HEARTBEAT:
	case API_LEAVE_GROUP:
	case API_SYNC_GROUP:
	case API_DESCRIBE_GROUPS:
	case API_LIST_GROUPS:
		return 1;
	default:
		return 0;
	}
}

/* The versions served, DESIGN.md section 3.1. */
static int
version_ok(int16_t key, int16_t v)
{
	switch (key) {
	case API_OFFSET_COMMIT: return v >= 2 && v <= 7;
	case API_OFFSET_FETCH: return v >= 1 && v <= 5;
	case API_FIND_COORDINATOR: return v >= 0 && v <= 2;
	case API_JOIN_GROUP: return v >= 0 && v <= 5;
	case API_HEARTBEAT: return v >= 0 && v <= 3;
	case API_LEAVE_GROUP: return v >= 0 && v <= 2;
	case API_SYNC_GROUP: return v >= 0 && v <= 3;
	case API_DESCRIBE_GROUPS: return v >= 0 && v <= 3;
	case API_LIST_GROUPS: return v >= 0 && v <= 2;
	default: return 0;
	}
}

int
brk_groups_handle(struct brk_groups *gs, const struct brk_req_hdr *h,
    struct brk_rd *r, struct sl_buf *resp, brk_reply_fn reply, void *token)
{
	size_t mark = resp->len;
	int rc;

	if (!version_ok(h->api_key, h->api_version))
		return SL_EUNSUPPORTED;
	switch (h->api_key) {
	case API_FIND_COORDINATOR:
		rc = brk_group_find_coordinator(gs, h->api_version, r, resp);
		break;
	case API_JOIN_GROUP:
		rc = h_join(gs, h, r, resp, reply, token);
		break;
	case API_SYNC_GROUP:
		rc = h_sync(gs, h, r, resp, reply, token);
		break;
	case API_HEARTBEAT:
		rc = h_heartbeat(gs, h->api_version, r, resp);
		break;
	case API_LEAVE_GROUP:
		rc = h_leave(gs, h->api_version, r, resp);
		break;
	case API_DESCRIBE_GROUPS:
		rc = brk_group_describe(gs, h->api_version, r, resp);
		break;
	case API_LIST_GROUPS:
		rc = brk_group_list(gs, h->api_version, resp);
		break;
	case API_OFFSET_COMMIT:
		rc = brk_goff_commit(gs, h, r, resp, reply, token);
		break;
	case API_OFFSET_FETCH:
		rc = brk_goff_fetch(gs, h, r, resp, reply, token);
		break;
	default:
		return SL_EUNSUPPORTED;
	}
	if (rc < 0) {
		resp->len = mark;
		sl_debug("group request api %d v%d: malformed at %s", (int)h->api_key,
		    (int)h->api_version, r->what != NULL ? r->what : "?");
	}
	return rc;
}

void
brk_groups_cancel(struct brk_groups *gs, void *token)
{
	size_t i = 0, j;

	if (gs == NULL)
		return;
	brk_goff_cancel(gs, token);
	while (i < gs->n_q) {
		if (gs->q[i].token == token) {
			sl_buf_free(&gs->q[i].body);
			memmove(gs->q + i, gs->q + i + 1, (gs->n_q - i - 1) * sizeof(*gs->q));
			gs->n_q--;
		} else {
			i++;
		}
	}
	for (i = 0; i < gs->n_groups; i++) {
		struct brk_group *g = gs->groups[i];

		for (j = 0; j < g->n_members; j++) {
			struct brk_member *m = g->members[j];

			/* The member stays (joined) until its session expires. */
			if (m->join_wait && m->join_token == token)
				m->join_wait = 0;
			if (m->sync_wait && m->sync_token == token)
				m->sync_wait = 0;
		}
	}
}

void
brk_groups_set_topic_check(struct brk_groups *gs,
    int (*exists)(void *arg, const char *topic, int32_t partition), void *arg)
{
	gs->exists = exists;
	gs->exists_arg = arg;
}

void
brk_groups_set_initial_delay(struct brk_groups *gs, int64_t ms)
{
	gs->initial_delay_ms = ms < 0 ? 0 : ms;
}

static void
group_free(struct brk_group *g)
{
	size_t i;

	while (g->n_members > 0) {
		struct brk_member *m = g->members[g->n_members - 1];

		m->join_wait = m->sync_wait = 0;	/* close: no replies */
		member_unlink(m);
	}
	for (i = 0; i < g->n_pending; i++)
		free(g->pending[i].id);
	free(g->pending);
	free(g->members);
	event_free(g->join_ev);
	brk_goff_free_group(g);
	free(g->protocol_type);
	free(g->protocol);
	free(g->id);
	free(g);
}

/* Drop groups with nothing left (Empty, no offsets, no pending ids); compact. */
static void
clean_cb(evutil_socket_t fd, short what, void *arg)
{
	struct brk_groups *gs = arg;
	size_t i = 0;

	(void)fd;
	(void)what;
	while (i < gs->n_groups) {
		struct brk_group *g = gs->groups[i];

		pending_prune(g, brk_mono_ms());
		if (g->state == BRK_GS_EMPTY && g->n_members == 0 && g->n_offs == 0 &&
		    g->n_pending == 0) {
			group_free(g);
			memmove(gs->groups + i, gs->groups + i + 1,
			    (gs->n_groups - i - 1) * sizeof(*gs->groups));
			gs->n_groups--;
		} else {
			i++;
		}
	}
	brk_goff_compact(gs);
}

int
brk_groups_open(const char *data_dir, struct event_base *base, int32_t node_id,
    const char *host, int port, struct brk_groups **out, struct sl_err *err)
{
	struct brk_groups *gs = sl_calloc(1, sizeof(*gs));
	struct timeval tv = { CLEAN_INTERVAL_S, 0 };
	int rc;

	*out = NULL;
	gs->base = base;
	gs->node_id = node_id;
	gs->host = sl_strdup(host != NULL ? host : "");
	gs->port = port;
	gs->initial_delay_ms = BRK_GROUP_INITIAL_DELAY_MS;
	gs->min_session_ms = 1;
	gs->max_session_ms = 30 * 60 * 1000;
	gs->dir = sl_asprintf("%s/__consumer_offsets-0", data_dir);
	gs->flush_ev = event_new(base, -1, 0, flush_cb, gs);
	gs->clean_ev = event_new(base, -1, EV_PERSIST, clean_cb, gs);
	if (gs->flush_ev == NULL || gs->clean_ev == NULL) {
		rc = sl_errf(err, SL_EINVAL, "group coordinator: cannot create events");
		goto fail;
	}
	rc = brk_goff_open(gs, err);
	if (rc != 0)
		goto fail;
	event_add(gs->clean_ev, &tv);
	*out = gs;
	return 0;
fail:
	brk_groups_close(gs);
	return rc;
}

void
brk_groups_close(struct brk_groups *gs)
{
	size_t i;

	if (gs == NULL)
		return;
	for (i = 0; i < gs->n_groups; i++)
		group_free(gs->groups[i]);
	free(gs->groups);
	for (i = 0; i < gs->n_q; i++)
		sl_buf_free(&gs->q[i].body);
	free(gs->q);
	if (gs->flush_ev != NULL)
		event_free(gs->flush_ev);
	if (gs->clean_ev != NULL)
		event_free(gs->clean_ev);
	brk_goff_close(gs);
	free(gs->dir);
	free(gs->host);
	free(gs);
}
