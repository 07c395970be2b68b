/*
 * broker/metadata.c: Metadata (v0-7), CreateTopics (v0-4), DeleteTopics (v0-3).
 *
 * One broker leads every partition: leader, replicas and ISR are all this
 * node, leader epoch 0.  Not here: the topic registry itself (topics.c).
 *
 * METADATA REQUEST
 *   topics          [name]   null (v1+) or empty (v0): every topic
 *   allow_auto_topic_creation bool (v4+)
 * METADATA RESPONSE
 *   throttle_time_ms int32 (v3+)
 *   brokers [node_id int32, host string, port int32, rack nullable (v1+)]
 *   cluster_id nullable string (v2+)
 *   controller_id int32 (v1+)
 *   topics [error int16, name, is_internal bool (v1+),
 *           partitions [error int16, index int32, leader int32,
 *                       leader_epoch int32 (v7+), replicas [int32],
 *                       isr [int32], offline_replicas [int32] (v5+)]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

static void
write_topic(struct brk_broker *b, struct sl_buf *o, int16_t v, const struct brk_topic *t)
{
	int32_t i;

	brk_wr_i16(o, KERR_NONE);
	brk_wr_string(o, t->name);
	if (v >= 1)
		brk_wr_i8(o, 0);	/* is_internal */
	brk_wr_i32(o, t->conf.partitions);
	for (i = 0; i < t->conf.partitions; i++) {
		brk_wr_i16(o, KERR_NONE);
		brk_wr_i32(o, i);
		brk_wr_i32(o, b->cfg.node_id);
		if (v >= 7)
			brk_wr_i32(o, 0);	/* leader epoch */
		brk_wr_i32(o, 1);
		brk_wr_i32(o, b->cfg.node_id);
		brk_wr_i32(o, 1);
		brk_wr_i32(o, b->cfg.node_id);
		if (v >= 5)
			brk_wr_i32(o, 0);	/* no offline replicas */
	}
}

static void
write_missing(struct sl_buf *o, int16_t v, struct sl_slice name, int16_t error)
{
	brk_wr_i16(o, error);
	brk_wr_stringn(o, name.p, name.len);
	if (v >= 1)
		brk_wr_i8(o, 0);
	brk_wr_i32(o, 0);
}

int
brk_metadata(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	int16_t v = h->api_version;
	struct sl_slice *names = NULL;
	int32_t n, i, count_pos;
	int is_null = 0, allow_auto = 1;
	const struct brk_topic *t;

	n = brk_rd_array(r, 2, &is_null, "metadata topics");
	if (n > 0)
		names = sl_calloc((size_t)n, sizeof(*names));
	for (i = 0; i < n; i++)
		if (brk_rd_string(r, &names[i], "metadata topic name") != 0)
			break;
	if (v >= 4)
		allow_auto = brk_rd_i8(r, "allow_auto_topic_creation") != 0;
	if (!brk_rd_ok(r) || (is_null && v == 0)) {
		free(names);
		return r->err != 0 ? r->err : SL_ECORRUPT;
	}
	if (v >= 3)
		brk_wr_i32(o, 0);
	brk_wr_i32(o, 1);
	brk_wr_i32(o, b->cfg.node_id);
	brk_wr_string(o, b->adv_host);
	brk_wr_i32(o, b->adv_port);
	if (v >= 1)
		brk_wr_string(o, NULL);	/* rack */
	if (v >= 2)
		brk_wr_string(o, "sluice");
	if (v >= 1)
		brk_wr_i32(o, b->cfg.node_id);	/* controller */
	count_pos = (int32_t)o->len;
	brk_wr_i32(o, 0);
	if (is_null || n == 0) {
		int32_t k = 0;

		for (t = b->topics; t != NULL; t = t->next, k++)
			write_topic(b, o, v, t);
		brk_wr_patch_i32(o, (size_t)count_pos, k);
		free(names);
		return BRK_DONE;
	}
	for (i = 0; i < n; i++) {
		const char *nm = (const char *)names[i].p;

		if (names[i].p == NULL || !brk_topic_name_valid(nm, names[i].len)) {
			write_missing(o, v, names[i], KERR_INVALID_TOPIC_EXCEPTION);
			b->m.errors[API_METADATA]++;
			continue;
		}
		t = brk_topic_find(b, nm, names[i].len);
		if (t == NULL && b->cfg.auto_create_topics && allow_auto) {
			struct brk_topic_conf tc;
			struct brk_topic *nt;
			struct sl_err err = { 0 };
			char *name = sl_strndup(nm, names[i].len);

			brk_topic_conf_default(b, &tc);
			if (brk_topic_create(b, name, &tc, &nt, &err) == 0) {
				sl_info("broker: auto-created topic %s", name);
				t = nt;
			} else {
				sl_error("broker: auto-create %s: %s", name, err.msg);
			}
			free(name);
		}
		if (t == NULL) {
			write_missing(o, v, names[i], KERR_UNKNOWN_TOPIC_OR_PARTITION);
			b->m.errors[API_METADATA]++;
		} else {
			write_topic(b, o, v, t);
		}
	}
	brk_wr_patch_i32(o, (size_t)count_pos, n);
	free(names);
	return BRK_DONE;
}

/*
 * CREATETOPICS REQUEST
 *   topics [name, num_partitions int32, replication_factor int16,
 *           assignments [partition int32, broker_ids [int32]],
 *           configs [name, value nullable]]
 *   timeout_ms int32
 *   validate_only bool (v1+)
 * CREATETOPICS RESPONSE
 *   throttle_time_ms int32 (v2+)
 *   topics [name, error int16, error_message nullable (v1+)]
 */
struct create_item {
	struct sl_slice name;
	int16_t error;
	char msg[160];
	struct brk_topic_conf tc;
};

int
brk_create_topics(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	int16_t v = h->api_version;
	struct create_item *items = NULL;
	int32_t n, i, j, k, na, nc;
	int validate_only = 0;

	n = brk_rd_array(r, 2 + 4 + 2 + 4 + 4, NULL, "create topics");
	if (n > 0)
		items = sl_calloc((size_t)n, sizeof(*items));
	for (i = 0; i < n && brk_rd_ok(r); i++) {
		struct create_item *it = &items[i];
		int32_t np;
		int16_t rf;

		brk_topic_conf_default(b, &it->tc);
		brk_rd_string(r, &it->name, "topic name");
		np = brk_rd_i32(r, "num_partitions");
		rf = brk_rd_i16(r, "replication_factor");
		na = brk_rd_array(r, 8, NULL, "assignments");
		for (j = 0; j < na && brk_rd_ok(r); j++) {
			brk_rd_i32(r, "assignment partition");
			k = brk_rd_array(r, 4, NULL, "broker ids");
			while (k-- > 0)
				brk_rd_i32(r, "broker id");
		}
		nc = brk_rd_array(r, 4, NULL, "configs");
		for (j = 0; j < nc && brk_rd_ok(r); j++) {
			struct sl_slice key, val;
			char kbuf[128], vbuf[128];
			int rc;

			brk_rd_string(r, &key, "config name");
			brk_rd_string(r, &val, "config value");
			if (!brk_rd_ok(r) || it->error != 0)
				continue;
			if (key.p == NULL || key.len >= sizeof(kbuf) || val.len >= sizeof(vbuf)) {
				it->error = KERR_INVALID_CONFIG;
				snprintf(it->msg, sizeof(it->msg), "config name or value too long");
				continue;
			}
			memcpy(kbuf, key.p, key.len);
			kbuf[key.len] = '\0';
			if (val.p == NULL)
				continue;	/* null: the default */
			memcpy(vbuf, val.p, val.len);
			vbuf[val.len] = '\0';
			if (strcmp(kbuf, "partitions") == 0)
				rc = SL_ENOTFOUND;	/* not a Kafka topic config */
			else
				rc = brk_topic_conf_set(&it->tc, kbuf, vbuf);
			if (rc != 0) {
				it->error = KERR_INVALID_CONFIG;
				snprintf(it->msg, sizeof(it->msg), "%s config %.64s",
				    rc == SL_ENOTFOUND ? "unsupported" : "bad value for", kbuf);
			}
		}
		if (it->error != 0)
			continue;
		if (np == -1)
			np = na > 0 ? na : b->cfg.default_partitions;
		if (np < 1 || np > b->max_partitions) {
			it->error = KERR_INVALID_PARTITIONS;
			snprintf(it->msg, sizeof(it->msg), "partitions must be 1..%d",
			    (int)b->max_partitions);
		} else if (rf != -1 && rf != 1) {
			it->error = KERR_INVALID_REPLICATION_FACTOR;
			snprintf(it->msg, sizeof(it->msg),
			    "replication factor must be 1 on a single broker");
		}
		it->tc.partitions = np;
	}
	brk_rd_i32(r, "timeout_ms");
	if (v >= 1)
		validate_only = brk_rd_i8(r, "validate_only") != 0;
	if (!brk_rd_ok(r)) {
		free(items);
		return r->err;
	}
	if (v >= 2)
		brk_wr_i32(o, 0);
	brk_wr_i32(o, n);
	for (i = 0; i < n; i++) {
		struct create_item *it = &items[i];
		char *name = it->name.p != NULL ?
		    sl_strndup((const char *)it->name.p, it->name.len) : sl_strdup("");

		if (it->error == 0 && !brk_topic_name_valid(name, it->name.len)) {
			it->error = KERR_INVALID_TOPIC_EXCEPTION;
			snprintf(it->msg, sizeof(it->msg), "illegal topic name");
		}
		for (j = 0; it->error == 0 && j < i; j++)
			if (items[j].name.len == it->name.len &&
			    memcmp(items[j].name.p, it->name.p, it->name.len) == 0) {
				it->error = KERR_INVALID_REQUEST;
				snprintf(it->msg, sizeof(it->msg), "topic listed twice");
			}
		if (it->error == 0 && brk_topic_find(b, name, it->name.len) != NULL) {
			it->error = KERR_TOPIC_ALREADY_EXISTS;
			snprintf(it->msg, sizeof(it->msg), "topic already exists");
		}
		if (it->error == 0 && !validate_only) {
			struct sl_err err = { 0 };
			int rc = brk_topic_create(b, name, &it->tc, NULL, &err);

			if (rc != 0) {
				it->error = rc == SL_EEXIST ? KERR_TOPIC_ALREADY_EXISTS :
				    KERR_UNKNOWN_SERVER_ERROR;
				snprintf(it->msg, sizeof(it->msg), "%.150s", err.msg);
			} else {
				sl_info("broker: created topic %s (%d partitions%s)", name,
				    (int)it->tc.partitions,
				    it->tc.opts.compact ? ", compacted" : "");
			}
		}
		if (it->error != 0)
			b->m.errors[API_CREATE_TOPICS]++;
		brk_wr_stringn(o, it->name.p, it->name.len);
		brk_wr_i16(o, it->error);
		if (v >= 1)
			brk_wr_string(o, it->error != 0 ? it->msg : NULL);
		free(name);
	}
	free(items);
	return BRK_DONE;
}

/*
 * DELETETOPICS REQUEST:  topic_names [string], timeout_ms int32
 * DELETETOPICS RESPONSE: throttle_time_ms int32 (v1+), responses [name, error int16]
 */
int
brk_delete_topics(struct brk_broker *b, struct brk_conn *c,
    const struct brk_req_hdr *h, struct brk_rd *r)
{
	struct sl_buf *o = &c->resp.b;
	struct sl_slice *names = NULL;
	int32_t n, i;

	n = brk_rd_array(r, 2, NULL, "delete topics");
	if (n > 0)
		names = sl_calloc((size_t)n, sizeof(*names));
	for (i = 0; i < n; i++)
		brk_rd_string(r, &names[i], "topic name");
	brk_rd_i32(r, "timeout_ms");
	if (!brk_rd_ok(r)) {
		free(names);
		return r->err;
	}
	if (h->api_version >= 1)
		brk_wr_i32(o, 0);
	brk_wr_i32(o, n);
	for (i = 0; i < n; i++) {
		int16_t error = KERR_NONE;

		if (names[i].p == NULL ||
		    !brk_topic_name_valid((const char *)names[i].p, names[i].len)) {
			error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		} else {
			char *name = sl_strndup((const char *)names[i].p, names[i].len);
			struct sl_err err = { 0 };
			int rc = brk_topic_delete(b, name, &err);

			if (rc == SL_ENOTFOUND)
				error = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			else if (rc != 0) {
				error = KERR_UNKNOWN_SERVER_ERROR;
				sl_error("broker: delete topic %s: %s", name, err.msg);
			} else {
				sl_info("broker: deleted topic %s", name);
			}
			free(name);
		}
		if (error != 0)
			b->m.errors[API_DELETE_TOPICS]++;
		brk_wr_stringn(o, names[i].p, names[i].len);
		brk_wr_i16(o, error);
	}
	free(names);
	return BRK_DONE;
}
