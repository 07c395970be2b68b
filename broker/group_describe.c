/*
 * broker/group_describe.c: the group coordinator's read-only answers:
 * FindCoordinator 0-2, DescribeGroups 0-3, ListGroups 0-2, and the
 * invariant checker brk_groups_check_().  Not here: anything that changes a
 * group (broker/group.c) or its offsets (broker/group_offsets.c).
 */
#include <stdlib.h>
#include <string.h>

#include "broker/group_int.h"

/*
 * FINDCOORDINATOR REQUEST v0-2: key string, key_type i8 (v1+)
 * RESPONSE: throttle_time_ms i32 (v1+), error_code i16, error_message
 *   string (v1+), node_id i32, host string, port i32
 */
int
brk_group_find_coordinator(struct brk_groups *gs, int16_t v, struct brk_rd *r,
    struct sl_buf *resp)
{
	struct sl_slice key;
	int8_t key_type = 0;
	int16_t error = KERR_NONE;

	brk_rd_string(r, &key, "key");
	if (v >= 1)
		key_type = brk_rd_i8(r, "key_type");
	if (!brk_rd_ok(r))
		return r->err;
	if (key_type != 0 && key_type != 1)
		error = KERR_INVALID_REQUEST;
	if (v >= 1)
		brk_wr_i32(resp, 0);
	brk_wr_i16(resp, error);
	if (v >= 1)
		brk_wr_string(resp, NULL);
	brk_wr_i32(resp, error == KERR_NONE ? gs->node_id : -1);
	brk_wr_string(resp, error == KERR_NONE ? gs->host : "");
	brk_wr_i32(resp, error == KERR_NONE ? gs->port : -1);
	return 0;
}

/*
 * DESCRIBEGROUPS REQUEST v0-3: groups [string], include_authorized_operations i8 (v3+)
 * RESPONSE: throttle_time_ms i32 (v1+), groups [error_code i16, group_id
 *   string, group_state string, protocol_type string, protocol_data string,
 *   members [member_id string, client_id string, client_host string,
 *   member_metadata bytes, member_assignment bytes],
 *   authorized_operations i32 (v3+)]
 * Metadata and assignments are shown in STABLE only, as Kafka does.
 */
int
brk_group_describe(struct brk_groups *gs, int16_t v, struct brk_rd *r, struct sl_buf *resp)
{
	struct sl_slice gid;
	int32_t n, i;
	const uint8_t *start;
	size_t j;

	n = brk_rd_array(r, 2, NULL, "groups");
	start = r->p;
	for (i = 0; i < n && brk_rd_ok(r); i++)
		brk_rd_string(r, &gid, "groups.name");
	if (v >= 3)
		(void)brk_rd_i8(r, "include_authorized_operations");
	if (!brk_rd_ok(r))
		return r->err;
	if (v >= 1)
		brk_wr_i32(resp, 0);
	brk_wr_i32(resp, n);
	r->p = start;
	for (i = 0; i < n; i++) {
		struct brk_group *g;
		int stable;

		brk_rd_string(r, &gid, "groups.name");
		g = brk_group_find(gs, gid);
		brk_wr_i16(resp, gid.len == 0 ? KERR_INVALID_GROUP_ID : KERR_NONE);
		brk_wr_stringn(resp, gid.p != NULL ? (const void *)gid.p : "", gid.len);
		if (g == NULL) {
			brk_wr_string(resp, "Dead");
			brk_wr_string(resp, "");
			brk_wr_string(resp, "");
			brk_wr_i32(resp, 0);
		} else {
			stable = g->state == BRK_GS_STABLE;
			brk_wr_string(resp, brk_group_state_name(g->state));
			brk_wr_string(resp, g->protocol_type != NULL ? g->protocol_type : "");
			brk_wr_string(resp, stable && g->protocol != NULL ? g->protocol : "");
			brk_wr_i32(resp, (int32_t)g->n_members);
			for (j = 0; j < g->n_members; j++) {
				const struct brk_member *m = g->members[j];
				const struct brk_proto *p = stable ?
				    brk_member_proto(m, g->protocol) : NULL;

				brk_wr_string(resp, m->id);
				brk_wr_string(resp, m->client_id);
				brk_wr_string(resp, "");
				if (p != NULL && p->meta.len > 0)
					brk_wr_bytes(resp, p->meta.p, p->meta.len);
				else
					brk_wr_bytes(resp, "", 0);
				if (stable && m->assignment.len > 0)
					brk_wr_bytes(resp, m->assignment.p, m->assignment.len);
				else
					brk_wr_bytes(resp, "", 0);
			}
		}
		if (v >= 3)
			brk_wr_i32(resp, INT32_MIN);
	}
	return 0;
}

/*
 * LISTGROUPS REQUEST v0-2: empty
 * RESPONSE: throttle_time_ms i32 (v1+), error_code i16, groups [group_id
 *   string, protocol_type string]
 */
int
brk_group_list(struct brk_groups *gs, int16_t v, struct sl_buf *resp)
{
	size_t i;

	if (v >= 1)
		brk_wr_i32(resp, 0);
	brk_wr_i16(resp, KERR_NONE);
	brk_wr_i32(resp, (int32_t)gs->n_groups);
	for (i = 0; i < gs->n_groups; i++) {
		brk_wr_string(resp, gs->groups[i]->id);
		brk_wr_string(resp, gs->groups[i]->protocol_type != NULL ?
		    gs->groups[i]->protocol_type : "");
	}
	return 0;
}

#define CHECK(cond, ...) do { if (!(cond)) { sl_error(__VA_ARGS__); abort(); } } while (0)

void
brk_groups_check_(struct brk_groups *gs)
{
	size_t i, j, k;

	for (i = 0; i < gs->n_groups; i++) {
		struct brk_group *g = gs->groups[i];
		int leader_found = 0;

		CHECK(g->gs == gs, "group %s: wrong owner", g->id);
		CHECK((g->state == BRK_GS_EMPTY) == (g->n_members == 0) ||
		    g->state == BRK_GS_PREPARING, "group %s: (1) state %s with %zu members",
		    g->id, brk_group_state_name(g->state), g->n_members);
		for (j = 0; j < g->n_members; j++) {
			struct brk_member *m = g->members[j];

			CHECK(m->g == g, "group %s: member %s owner", g->id, m->id);
			if (m == g->leader)
				leader_found = 1;
			CHECK(!m->join_wait || g->state == BRK_GS_PREPARING,
			    "group %s: (3) member %s owed a join in %s", g->id, m->id,
			    brk_group_state_name(g->state));
			CHECK(!m->sync_wait || g->state == BRK_GS_COMPLETING,
			    "group %s: (3) member %s owed a sync in %s", g->id, m->id,
			    brk_group_state_name(g->state));
			for (k = j + 1; k < g->n_members; k++)
				CHECK(strcmp(m->id, g->members[k]->id) != 0,
				    "group %s: duplicate member %s", g->id, m->id);
		}
		CHECK(g->leader == NULL || leader_found, "group %s: (2) stray leader", g->id);
		CHECK(g->leader != NULL || (g->state != BRK_GS_COMPLETING &&
		    g->state != BRK_GS_STABLE), "group %s: (2) no leader in %s", g->id,
		    brk_group_state_name(g->state));
		for (j = 1; j < g->n_offs; j++) {
			int c = strcmp(g->offs[j - 1].topic, g->offs[j].topic);

			CHECK(c < 0 || (c == 0 && g->offs[j - 1].partition <
			    g->offs[j].partition), "group %s: (5) offsets out of order", g->id);
		}
		for (j = i + 1; j < gs->n_groups; j++)
			CHECK(strcmp(g->id, gs->groups[j]->id) != 0, "duplicate group %s", g->id);
	}
}
