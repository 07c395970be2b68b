/*
 * capture/outbox.c: the outbox event router, as Debezium's EventRouter.
 *
 * An application writes its events as rows of an outbox table in the same
 * transaction as the changes they describe; capture turns each INSERT of
 * such a row into one message on the topic its route column names, keyed
 * by its key column, the payload column as the whole value and the id
 * column as the header "id".  Deletes of outbox rows are the application
 * tidying up and give nothing; updates give nothing either (and a warning
 * from the source).  Both source types share this; each opens the topic and
 * produces the message with its own position.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "capture/cap_int.h"
#include "schemas/sch.h"

int
cap_outbox_bind(const struct cap_conf *c, const struct sch_table *t, const char *collection,
    struct cap_outbox_cols *ob, struct sl_err *err)
{
	const char *missing = NULL, *what = NULL;

	ob->route = cap_column_index(t, c->outbox_route);
	ob->key = cap_column_index(t, c->outbox_key);
	ob->payload = cap_column_index(t, c->outbox_payload);
	ob->id = cap_column_index(t, c->outbox_id);
	if (ob->route < 0)
		missing = c->outbox_route, what = "outbox.route_column";
	else if (ob->key < 0)
		missing = c->outbox_key, what = "outbox.key_column";
	else if (ob->payload < 0)
		missing = c->outbox_payload, what = "outbox.payload_column";
	if (missing != NULL)
		return sl_errf(err, SL_ECONFIG, "outbox table %s has no column '%s' (%s): name "
		    "its column in the source section", collection, missing, what);
	return 0;
}

/*
 * The bytes of 'v' as the outbox sends them: text kinds as their text,
 * bytea and blobs as they are, integers and uuids as text.  1 for a null,
 * 0 for a value, SL_EINVAL for a kind with no obvious bytes.
 */
static int
value_bytes(const struct sch_value *v, struct sl_buf *out)
{
	const uint8_t *u = v->u.uuid;

	sl_buf_reset(out);
	switch (v->kind) {
	case SCH_NULL:
		return 1;
	case SCH_BYTES:
		sl_buf_add(out, v->u.bytes.p, v->u.bytes.len);
		return 0;
	case SCH_INT64:
		sl_buf_printf(out, "%" PRId64, v->u.i64);
		return 0;
	case SCH_UINT64:
		sl_buf_printf(out, "%" PRIu64, v->u.u64);
		return 0;
	case SCH_UUID:
		sl_buf_printf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		    u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
		return 0;
	default:
		if (!sch_kind_is_text(v->kind))
			return SL_EINVAL;
		sl_buf_add(out, v->u.s.p, v->u.s.len);
		return 0;
	}
}

int
cap_outbox_event(const struct cap_conf *c, const struct cap_outbox_cols *ob,
    const struct sch_table *t, const char *collection, const struct sch_value *after,
    struct cap_outbox_msg *m, struct sl_err *err)
{
	const char *tmpl = c->outbox_topic, *at;
	const int idx[4] = { ob->route, ob->key, ob->payload, ob->id };
	struct sl_buf *dst[4] = { &m->route, &m->key, &m->value, &m->id };
	int i, rc, null[4] = { 1, 1, 1, 1 }, renamed = 0;

	for (i = 0; i < 4; i++) {
		if (idx[i] < 0)
			continue;
		if ((rc = value_bytes(&after[idx[i]], dst[i])) < 0)
			return sl_errf(err, SL_EINVAL, "outbox table %s, column %s: a %s cannot be "
			    "a route, key, payload or id (text, json, bytes, integers and uuids "
			    "can)", collection, t->columns[idx[i]].name,
			    sch_kind_name(after[idx[i]].kind));
		null[i] = rc == 1;
	}
	if (null[0])
		return sl_errf(err, SL_EINVAL, "outbox table %s: a row with a null %s (the "
		    "route column) has no topic", collection, t->columns[ob->route].name);
	m->null_key = null[1];
	m->null_value = null[2];
	m->has_id = !null[3];
	/* the topic: outbox.topic with {route} replaced by the route's text */
	sl_buf_reset(&m->topic);
	while ((at = strstr(tmpl, "{route}")) != NULL) {
		sl_buf_add(&m->topic, tmpl, (size_t)(at - tmpl));
		cap_topic_part(&m->topic, (const char *)m->route.p, m->route.len, &renamed);
		tmpl = at + 7;
	}
	sl_buf_add(&m->topic, tmpl, strlen(tmpl));
	if (m->topic.len == 0 || m->topic.len > CAP_TOPIC_NAME_MAX)
		return sl_errf(err, SL_EINVAL, "outbox table %s: route '%.*s' gives a topic "
		    "name of %zu characters (1 to %d)", collection,
		    (int)(m->route.len > 100 ? 100 : m->route.len), (const char *)m->route.p,
		    m->topic.len, CAP_TOPIC_NAME_MAX);
	sl_buf_add_u8(&m->topic, 0);
	m->topic.len--;
	return 0;
}

int
cap_outbox_topic_check(const char *tmpl, char *why, size_t whylen)
{
	struct sl_buf b = { 0 };
	const char *at, *p = tmpl;
	int renamed = 0, rc = 0;

	/* the fixed parts must be a topic name as they are */
	while ((at = strstr(p, "{route}")) != NULL) {
		sl_buf_add(&b, p, (size_t)(at - p));
		p = at + 7;
	}
	sl_buf_add(&b, p, strlen(p));
	if (b.len > 0) {
		struct sl_buf s = { 0 };

		cap_topic_part(&s, (const char *)b.p, b.len, &renamed);
		sl_buf_free(&s);
	}
	if (renamed || (b.len == 0 && strstr(tmpl, "{route}") == NULL)) {
		snprintf(why, whylen, "'%s' is not a topic name with {route} where the route "
		    "goes (ASCII letters, digits, '.', '_' and '-' around it)", tmpl);
		rc = -1;
	}
	sl_buf_free(&b);
	return rc;
}

int
cap_outbox_topic(struct cap_producer *p, const struct cap_conf *c,
    const struct cap_outbox_msg *m, struct cap_topic **topic, int32_t *partition,
    struct sl_err *err)
{
	struct cap_topic_spec spec;
	int rc;

	memset(&spec, 0, sizeof(spec));
	spec.name = (const char *)m->topic.p;
	spec.partitions = c->topic_partitions;
	spec.replication_factor = c->topic_replication;
	spec.retention_ms = c->msg_retention_ms;
	if ((rc = cap_topic_open(p, &spec, topic, err)) != 0)
		return rc;
	*partition = m->null_key ? 0 : cap_key_partition(*topic, &m->key);
	if (m->has_id)
		cap_producer_next_header(p, "id", m->id.p, m->id.len);
	return 0;
}

void
cap_outbox_msg_free(struct cap_outbox_msg *m)
{
	sl_buf_free(&m->topic);
	sl_buf_free(&m->route);
	sl_buf_free(&m->key);
	sl_buf_free(&m->value);
	sl_buf_free(&m->id);
}
