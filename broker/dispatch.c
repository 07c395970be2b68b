/*
 * broker/dispatch.c: from a request frame to its handler, and ApiVersions.
 *
 * The table below is the one place that says which API versions the broker
 * serves (DESIGN.md section 3.1); ApiVersions advertises it and dispatch
 * refuses anything outside it with UNSUPPORTED_VERSION.  Group APIs go to
 * broker/group.c.  Not here: the layouts of the other APIs (their files).
 *
 * UNSUPPORTED VERSIONS get a response Kafka clients can read whatever the
 * API: the correlation id and, as the first field of the body, error 35.
 * For ApiVersions v3+ that is the v0 layout, which is what librdkafka and
 * the Java client expect before they retry with an older version.
 */
#include <stdlib.h>

#include "broker/brk_int.h"
#include "broker/group.h"

struct api_range {
	int16_t key;
	int16_t min;			/* advertised */
	int16_t max;
	int16_t served_min;		/* lower versions: UNSUPPORTED_VERSION */
};

static const struct api_range api_ranges[] = {
	{ API_PRODUCE, 0, 7, 0 },	/* 0-2 answered UNSUPPORTED_VERSION per partition */
	{ API_FETCH, 4, 11, 4 },
	{ API_LIST_OFFSETS, 1, 5, 1 },
	{ API_METADATA, 0, 7, 0 },
	{ API_OFFSET_COMMIT, 2, 7, 2 },
	{ API_OFFSET_FETCH, 1, 5, 1 },
	{ API_FIND_COORDINATOR, 0, 2, 0 },
	{ API_JOIN_GROUP, 0, 5, 0 },
	{ API_HEARTBEAT, 0, 3, 0 },
	{ API_LEAVE_GROUP, 0, 2, 0 },
	{ API_SYNC_GROUP, 0, 3, 0 },
	{ API_DESCRIBE_GROUPS, 0, 3, 0 },
	{ API_LIST_GROUPS, 0, 2, 0 },
	{ API_API_VERSIONS, 0, 2, 0 },
	{ API_CREATE_TOPICS, 0, 4, 0 },
	{ API_DELETE_TOPICS, 0, 3, 0 },
	{ API_DELETE_RECORDS, 0, 1, 0 },
	{ API_INIT_PRODUCER_ID, 0, 1, 0 },
	{ API_OFFSET_FOR_LEADER_EPOCH, 2, 3, 2 },
};

static const struct api_range *
api_find(int16_t key)
{
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(api_ranges); i++)
		if (api_ranges[i].key == key)
			return &api_ranges[i];
	return NULL;
}

int
brk_api_range(int16_t api_key, int16_t *min, int16_t *max)
{
	const struct api_range *a = api_find(api_key);

	if (a == NULL)
		return SL_ENOTFOUND;
	*min = a->min;
	*max = a->max;
	return 0;
}

/* The v0..v2 ApiVersions body, 'error' first. */
static void
api_versions_body(struct sl_buf *o, int16_t version, int16_t error)
{
	size_t i;

	brk_wr_i16(o, error);
	brk_wr_i32(o, (int32_t)SL_ARRAY_LEN(api_ranges));
	for (i = 0; i < SL_ARRAY_LEN(api_ranges); i++) {
		brk_wr_i16(o, api_ranges[i].key);
		brk_wr_i16(o, api_ranges[i].min);
		brk_wr_i16(o, api_ranges[i].max);
	}
	if (version >= 1)
		brk_wr_i32(o, 0);	/* throttle_time_ms */
}

int
brk_api_versions(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	(void)b;
	(void)r;	/* v0-2 have an empty body */
	api_versions_body(&c->resp.b, h->api_version, KERR_NONE);
	return BRK_DONE;
}

/* Token of a deferred group request: freed by the reply or by conn_close. */
struct brk_group_token {
	struct brk_slot *s;
};

static void
group_reply(void *token, struct sl_buf *body)
{
	struct brk_group_token *t = token;
	struct brk_slot *s = t->s;

	s->gt = NULL;
	free(t);
	brk_resp_reset(&s->resp);
	sl_buf_add(&s->resp.b, body->p, body->len);
	brk_slot_reply(s);
}

static int
dispatch_group(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct brk_group_token *t = sl_calloc(1, sizeof(*t));
	int rc;

	rc = brk_groups_handle(b->groups, h, r, &c->resp.b, group_reply, t);
	if (rc == 1) {
		/* The reply never comes from inside brk_groups_handle (group.h). */
		t->s = brk_conn_defer(c);
		t->s->gt = t;	/* (2) */
		return BRK_DEFER;
	}
	free(t);
	return rc == 0 ? BRK_DONE : rc;
}

int
brk_dispatch(struct brk_broker *b, struct brk_conn *c, uint8_t *frame, size_t len)
{
	const struct api_range *a;
	struct brk_req_hdr h;
	struct brk_rd r;
	int rc;

	brk_resp_reset(&c->resp);
	c->replied = 0;
	c->start_ns = sl_mono_ns();
	brk_rd_init(&r, frame, len);
	if ((rc = brk_req_hdr_decode(&r, &h)) != 0)
		return rc;
	c->api_key = h.api_key;
	c->api_version = h.api_version;
	c->correlation_id = h.correlation_id;
	if (h.api_key >= 0 && h.api_key <= API_MAX_KEY)
		b->m.requests[h.api_key]++;
	a = api_find(h.api_key);
	if (a == NULL || h.api_version < a->served_min || h.api_version > a->max) {
		if (h.api_key >= 0 && h.api_key <= API_MAX_KEY)
			b->m.errors[h.api_key]++;
		if (h.api_key == API_API_VERSIONS) {
			api_versions_body(&c->resp.b, 0, KERR_UNSUPPORTED_VERSION);
			return BRK_DONE;
		}
		sl_debug("broker: %s: api %d v%d unsupported", c->peer, h.api_key,
		    h.api_version);
		/* Unknown layout: the error code as the first field is the best we can do. */
		brk_wr_i16(&c->resp.b, KERR_UNSUPPORTED_VERSION);
		return BRK_DONE;
	}
	switch (h.api_key) {
	case API_API_VERSIONS:
		return brk_api_versions(b, c, &h, &r);
	case API_METADATA:
		return brk_metadata(b, c, &h, &r);
	case API_PRODUCE:
		return brk_produce(b, c, &h, &r);
	case API_FETCH:
		return brk_fetch(b, c, &h, &r);
	case API_LIST_OFFSETS:
		return brk_list_offsets(b, c, &h, &r);
	case API_CREATE_TOPICS:
		return brk_create_topics(b, c, &h, &r);
	case API_DELETE_TOPICS:
		return brk_delete_topics(b, c, &h, &r);
	case API_DELETE_RECORDS:
		return brk_delete_records(b, c, &h, &r);
	case API_INIT_PRODUCER_ID:
		return brk_init_producer_id(b, c, &h, &r);
	case API_OFFSET_FOR_LEADER_EPOCH:
		return brk_offset_for_leader_epoch(b, c, &h, &r);
	default:
		return dispatch_group(b, c, &h, &r);
	}
}
