/*
 * materialize/apply.c: what every sink shares in applying an event — which
 * of its three row operations an event asks for (docs/views.md "Applying
 * a change"), and the cache of partition offsets a sink keeps within its
 * transaction.  The sinks (lmdb_sink.c, fts_sink.c, redis_sink.c) do the
 * operations, each on its store.
 */
#include <stdlib.h>
#include <string.h>

#include "materialize/mat_int.h"

void
mat_pos_of(const struct mat_origin *o, const struct sch_event *ev, struct mat_pos *pos)
{
	pos->partition = o->partition;
	pos->offset = o->offset;
	pos->lsn = ev && (ev->source.has & SCH_SRC_LSN) ? ev->source.lsn : 0;
}

int
mat_apply_event(const struct mat_sink_rules *r, void *sink, const char *view,
    const struct sch_event *ev, const struct mat_pos *pos, struct mat_sink_stats *st,
    struct sl_err *err)
{
	const struct sch_table *t = ev ? ev->table : NULL;
	const struct sch_value *img;
	int rc;

	if (t == NULL || ev->op == SCH_OP_MESSAGE) {
		st->skipped++;	/* tombstones, transaction and heartbeat records */
		return 0;
	}
	switch (ev->op) {
	case SCH_OP_CREATE: case SCH_OP_READ: case SCH_OP_UPDATE:
		if (ev->after == NULL)
			return sl_errf(err, SL_EINVAL, "view %s: %c event of %s.%s without an "
			    "after image", view, (char)ev->op, t->schema ? t->schema : t->db,
			    t->name);
		rc = r->put(sink, ev, pos, err);
		break;
	case SCH_OP_DELETE:
		img = ev->before ? ev->before : ev->after;
		if (img == NULL)
			return sl_errf(err, SL_EINVAL, "view %s: delete of %s.%s without an image",
			    view, t->schema ? t->schema : t->db, t->name);
		rc = r->del(sink, ev, img, err);
		break;
	case SCH_OP_TRUNCATE:
		rc = r->truncate(sink, ev, pos->partition, err);
		break;
	default:
		st->skipped++;
		return 0;
	}
	if (rc == 0)
		st->applied++;
	return rc;
}

struct mat_offset *
mat_offsets_find(struct mat_offsets *c, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].partition == partition && strcmp(c->v[i].topic, topic) == 0)
			return &c->v[i];
	return NULL;
}

struct mat_offset *
mat_offsets_add(struct mat_offsets *c, const char *topic, int32_t partition, int64_t next)
{
	struct mat_offset *o;

	c->v = sl_realloc(c->v, (c->n + 1) * sizeof(*c->v));
	o = &c->v[c->n++];
	o->topic = sl_strdup(topic);
	o->partition = partition;
	o->next = next;
	o->dirty = 0;
	return o;
}

void
mat_offsets_clear(struct mat_offsets *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].topic);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
