/*
 * capture/produce.c: capture's side of Kafka, through librdkafka.
 *
 * An idempotent producer (enable.idempotence=true, acks=all) that sends
 * each event to an explicit partition with the event's source position in
 * a header; topics created through the admin API when missing; and, at
 * start, a read of the last message of every partition to learn the
 * highest source position already stored there (DESIGN.md §3.5).  It knows
 * nothing about PostgreSQL: positions are opaque (lsn, seq) pairs.
 *
 * HEADER of every message capture writes
 *   sluice.pos   "LSN:SEQ" text: LSN is the commit LSN of the event's
 *                transaction as "X/Y" (0/0 for snapshot rows), SEQ the
 *                event's number within its transaction (or within the
 *                snapshot), decimal.  One header, not two: librdkafka
 *                allocates each header of each message on its own, and the
 *                second one cost ~4% of capture's CPU.
 *   Messages written by earlier versions carry the pair sluice.lsn and
 *   sluice.seq with the same texts; the start-up read accepts both.
 *
 * INVARIANTS
 *  (1) Position order is (lsn, seq) lexicographic; a partition's messages
 *      are written in increasing position order, so its last message holds
 *      its highest position.
 *  (2) A message is skipped only when its position is at or below the last
 *      position read from the same partition at start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "capture/cap_int.h"

struct cap_producer {
	rd_kafka_t *rk;
	rd_kafka_t *reader;		/* consumer for the start-up scan, lazy */
	char *bootstrap;
	struct cap_kv *props;		/* producer.* options, copied */
	size_t n_props;
	struct cap_topic **topics;
	size_t n_topics;
	cap_delivery_fn *on_delivery;
	void *ctx;
	int64_t timeout_ms;
	volatile sig_atomic_t *stop;	/* ends a wait for queue room */
	const char *max_message;	/* message.max.bytes, into props or static */
	uint64_t full_waits;		/* waits for room in a full queue (metrics) */
	/* one more header for the next cap_produce() only (the outbox's "id") */
	const char *xhdr_name;
	const void *xhdr_val;
	size_t xhdr_len;
};

/*
 * The producer sends record batches up to this (producer.message.max.bytes
 * overrides it), and the topics capture creates accept as much
 * (max.message.bytes), so a large row is not refused by a broker whose
 * default limit is Kafka's 1 MB.
 */
#define PROD_MAX_MESSAGE "67108864"

static void
prod_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct cap_producer *p = opaque;

	(void)rk;
	if (p->on_delivery)
		p->on_delivery(m->_private, m->err ? (int)m->err : 0,
		    m->err ? rd_kafka_err2str(m->err) : NULL, p->ctx);
}

static int
conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, struct sl_err *err)
{
	char es[256];

	if (rd_kafka_conf_set(conf, k, v, es, sizeof(es)) != RD_KAFKA_CONF_OK)
		return sl_errf(err, SL_ECONFIG, "kafka option %s = %s: %s", k, v, es);
	return 0;
}

int
cap_producer_open(const char *bootstrap, const struct cap_kv *props, size_t n_props,
    cap_delivery_fn *on_delivery, void *ctx, struct cap_producer **out, struct sl_err *err)
{
	struct cap_producer *p = sl_calloc(1, sizeof(*p));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char es[512];
	size_t i;
	int rc;

	*out = NULL;
	p->bootstrap = sl_strdup(bootstrap);
	p->on_delivery = on_delivery;
	p->ctx = ctx;
	p->timeout_ms = 10000;
	p->props = sl_calloc(n_props ? n_props : 1, sizeof(*p->props));
	for (i = 0; i < n_props; i++) {
		p->props[i].key = sl_strdup(props[i].key);
		p->props[i].value = sl_strdup(props[i].value);
	}
	p->n_props = n_props;
	if ((rc = conf_set(conf, "bootstrap.servers", bootstrap, err)) != 0 ||
	    (rc = conf_set(conf, "enable.idempotence", "true", err)) != 0 ||
	    (rc = conf_set(conf, "acks", "all", err)) != 0 ||
	    (rc = conf_set(conf, "linger.ms", "0", err)) != 0 ||
	    (rc = conf_set(conf, "message.timeout.ms", "0", err)) != 0 ||
	    (rc = conf_set(conf, "message.max.bytes", PROD_MAX_MESSAGE, err)) != 0 ||
	    (rc = conf_set(conf, "compression.codec", "none", err)) != 0 ||
	    /*
	     * TCP_NODELAY, as Kafka's Java client: with Nagle on (librdkafka's
	     * default) a small request waits for the ACK of the one before.
	     */
	    (rc = conf_set(conf, "socket.nagle.disable", "true", err)) != 0 ||
	    /* bounded memory: at most this much unacknowledged in the queue */
	    (rc = conf_set(conf, "queue.buffering.max.kbytes", "66560", err)) != 0 ||
	    (rc = conf_set(conf, "queue.buffering.max.messages", "20000", err)) != 0)
		goto fail;
	for (i = 0; i < n_props; i++) {
		if (strcmp(props[i].key, "enable.idempotence") == 0 ||
		    strcmp(props[i].key, "acks") == 0) {
			rc = sl_errf(err, SL_ECONFIG, "producer.%s cannot be changed: capture's "
			    "exactly-once needs enable.idempotence=true and acks=all",
			    props[i].key);
			goto fail;
		}
		if ((rc = conf_set(conf, props[i].key, props[i].value, err)) != 0)
			goto fail;
	}
	p->max_message = PROD_MAX_MESSAGE;
	for (i = 0; i < n_props; i++)
		if (strcmp(p->props[i].key, "message.max.bytes") == 0)
			p->max_message = p->props[i].value;
	rd_kafka_conf_set_dr_msg_cb(conf, prod_dr_cb);
	rd_kafka_conf_set_opaque(conf, p);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof(es));
	if (p->rk == NULL) {
		rc = sl_errf(err, SL_ECONFIG, "kafka producer: %s", es);
		conf = NULL;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	cap_producer_close(p);
	return rc;
}

static void
topic_free(struct cap_topic *t)
{
	int32_t i;

	if (t->last_val)
		for (i = 0; i < t->partitions; i++)
			sl_buf_free(&t->last_val[i]);
	free(t->last_val);
	free(t->name);
	free(t->source);
	free(t->last);
	free(t->has_last);
	free(t->hi);
	free(t);
}

void
cap_producer_close(struct cap_producer *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_topics; i++) {
		struct cap_topic *t = p->topics[i];

		if (t->rkt)
			rd_kafka_topic_destroy(t->rkt);
		topic_free(t);
	}
	free(p->topics);
	if (p->reader)
		rd_kafka_destroy(p->reader);
	if (p->rk)
		rd_kafka_destroy(p->rk);
	for (i = 0; i < p->n_props; i++) {
		free(p->props[i].key);
		free(p->props[i].value);
	}
	free(p->props);
	free(p->bootstrap);
	free(p);
}

/* Partitions of 'name' per the cluster's metadata: >0, 0 if absent, or <0. */
static int
prod_partitions(rd_kafka_t *rk, const char *name, int timeout_ms)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int n = 0;

	e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	rd_kafka_topic_destroy(rkt);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return -1;
	if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
		n = md->topics[0].partition_cnt;
	rd_kafka_metadata_destroy(md);
	return n;
}

static int
prod_create(struct cap_producer *p, const struct cap_topic_spec *spec, struct sl_err *err)
{
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t ntr, i;
	char es[256], num[32];
	int rc = 0;

	nt = rd_kafka_NewTopic_new(spec->name, spec->partitions, spec->replication_factor,
	    es, sizeof(es));
	if (nt == NULL)
		return sl_errf(err, SL_EINVAL, "topic %s: %s", spec->name, es);
	rd_kafka_NewTopic_set_config(nt, "cleanup.policy", spec->compact ? "compact" : "delete");
	if (!spec->compact && spec->retention_ms > 0) {
		snprintf(num, sizeof(num), "%" PRId64, spec->retention_ms);
		rd_kafka_NewTopic_set_config(nt, "retention.ms", num);
	}
	rd_kafka_NewTopic_set_config(nt, "max.message.bytes", p->max_message);
	for (i = 0; i < spec->n_configs; i++)
		rd_kafka_NewTopic_set_config(nt, spec->configs[i].key, spec->configs[i].value);
	q = rd_kafka_queue_new(p->rk);
	rd_kafka_CreateTopics(p->rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, (int)p->timeout_ms + 5000);
	if (ev == NULL) {
		rc = sl_errf(err, SL_EPROTO, "kafka: creating topic %s timed out", spec->name);
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		rc = sl_errf(err, SL_EPROTO, "kafka: creating topic %s: %s", spec->name,
		    rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &ntr);
	for (i = 0; i < ntr; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
			rc = sl_errf(err, SL_EPROTO, "kafka: creating topic %s: %s", spec->name,
			    rd_kafka_topic_result_error_string(tr[i]) ?
			    rd_kafka_topic_result_error_string(tr[i]) : rd_kafka_err2str(e));
	}
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

static int
prod_reader(struct cap_producer *p, struct sl_err *err)
{
	rd_kafka_conf_t *conf;
	char es[512];
	size_t i;
	int rc;

	if (p->reader)
		return 0;
	conf = rd_kafka_conf_new();
	if ((rc = conf_set(conf, "bootstrap.servers", p->bootstrap, err)) != 0 ||
	    (rc = conf_set(conf, "enable.partition.eof", "true", err)) != 0 ||
	    (rc = conf_set(conf, "enable.auto.commit", "false", err)) != 0 ||
	    (rc = conf_set(conf, "fetch.wait.max.ms", "10", err)) != 0 ||
	    (rc = conf_set(conf, "fetch.error.backoff.ms", "10", err)) != 0) {
		rd_kafka_conf_destroy(conf);
		return rc;
	}
	/* security settings apply to the reader too */
	for (i = 0; i < p->n_props; i++)
		if (strncmp(p->props[i].key, "security.", 9) == 0 ||
		    strncmp(p->props[i].key, "sasl.", 5) == 0 ||
		    strncmp(p->props[i].key, "ssl.", 4) == 0)
			(void)conf_set(conf, p->props[i].key, p->props[i].value, NULL);
	p->reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof(es));
	if (p->reader == NULL)
		return sl_errf(err, SL_ECONFIG, "kafka consumer: %s", es);
	return 0;
}

size_t
cap_pos_fmt(const struct cap_pos *pos, char *buf, size_t size)
{
	char seq[24], *d = seq + sizeof(seq);
	uint64_t v = pos->seq;
	size_t n, ns;

	do {				/* "%" PRIu64, without printf's cost */
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	ns = (size_t)(seq + sizeof(seq) - d);
	if (size < CAP_POS_TEXT_MAX)
		return 0;
	cap_lsn_fmt(pos->lsn, buf, size - ns - 1);
	n = strlen(buf);
	buf[n++] = ':';
	memcpy(buf + n, d, ns);
	n += ns;
	buf[n] = '\0';
	return n;
}

int
cap_pos_parse(const void *v, size_t len, struct cap_pos *pos)
{
	char buf[CAP_POS_TEXT_MAX], *colon, *end;

	if (len == 0 || len >= sizeof(buf) || memchr(v, '\0', len) != NULL)
		return SL_EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if ((colon = strchr(buf, ':')) == NULL || colon[1] < '0' || colon[1] > '9')
		return SL_EINVAL;
	*colon = '\0';
	if (cap_lsn_parse(buf, &pos->lsn) != 0)
		return SL_EINVAL;
	errno = 0;
	pos->seq = strtoull(colon + 1, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : SL_EINVAL;
}

/* Read the position header(s) of one message; 0 if it has none. */
static int
prod_msg_pos(const rd_kafka_message_t *m, struct cap_pos *pos)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t len;
	char buf[64];

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	if (rd_kafka_header_get_last(h, "sluice.pos", &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR)
		return cap_pos_parse(v, len, pos) == 0;
	/* written by an earlier version: two headers */
	if (rd_kafka_header_get_last(h, "sluice.lsn", &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (cap_lsn_parse(buf, &pos->lsn) != 0)
		return 0;
	if (rd_kafka_header_get_last(h, "sluice.seq", &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	pos->seq = strtoull(buf, NULL, 10);
	return 1;
}

/*
 * Read the last message of partition 'i' of 't' into t->last[i] (1), and
 * remember the end offset seen in t->hi[i].
 */
static int
prod_scan_partition(struct cap_producer *p, struct cap_topic *t, void *rkt_v, int32_t i,
    struct sl_err *err)
{
	rd_kafka_topic_t *rkt = rkt_v;
	int64_t lo = 0, hi = 0, deadline;
	rd_kafka_resp_err_t e;
	int rc = 0;

	e = rd_kafka_query_watermark_offsets(p->reader, t->name, i, &lo, &hi, (int)p->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return sl_errf(err, SL_EPROTO, "kafka: offsets of %s [%d]: %s", t->name, (int)i,
		    rd_kafka_err2str(e));
	t->hi[i] = hi;
	if (hi <= lo)
		return 0;
	if (rd_kafka_consume_start(rkt, i, hi - 1) != 0)
		return sl_errf(err, SL_EPROTO, "kafka: read %s [%d]: %s", t->name, (int)i,
		    rd_kafka_err2str(rd_kafka_last_error()));
	deadline = sl_mono_ns() + p->timeout_ms * 1000000;
	for (;;) {
		rd_kafka_message_t *m = rd_kafka_consume(rkt, i, 100);
		struct cap_pos pos;

		if (m == NULL) {
			if (sl_mono_ns() > deadline) {
				rc = sl_errf(err, SL_EPROTO, "kafka: reading the last message of %s "
				    "[%d] timed out", t->name, (int)i);
				break;
			}
			continue;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err) {
			rc = sl_errf(err, SL_EPROTO, "kafka: read %s [%d]: %s", t->name, (int)i,
			    rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			break;
		}
		if (prod_msg_pos(m, &pos) && (!t->has_last[i] ||
		    cap_pos_cmp(&pos, &t->last[i]) > 0)) {
			t->last[i] = pos;
			t->has_last[i] = 1;
			sl_buf_reset(&t->last_val[i]);
			if (m->len > 0)
				sl_buf_add(&t->last_val[i], m->payload, m->len);
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consume_stop(rkt, i);
	return rc;
}

static int
prod_scan(struct cap_producer *p, struct cap_topic *t, struct sl_err *err)
{
	rd_kafka_topic_t *rkt;
	int32_t i;
	int rc;

	if ((rc = prod_reader(p, err)) != 0)
		return rc;
	rkt = rd_kafka_topic_new(p->reader, t->name, NULL);
	for (i = 0; i < t->partitions && rc == 0; i++)
		rc = prod_scan_partition(p, t, rkt, i, err);
	rd_kafka_topic_destroy(rkt);
	return rc;
}

int
cap_topic_peek_last(struct cap_producer *p, const char *name, int32_t partition,
    struct sl_buf *value, int *found, struct sl_err *err)
{
	const struct rd_kafka_metadata *md = NULL;
	struct cap_topic t;
	rd_kafka_topic_t *rkt;
	rd_kafka_resp_err_t e;
	int i, exists = 0, rc;

	*found = 0;
	sl_buf_reset(value);
	if ((rc = prod_reader(p, err)) != 0)
		return rc;
	/* every topic's metadata: asking for one could create it */
	e = rd_kafka_metadata(p->reader, 1, NULL, &md, (int)p->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return sl_errf(err, SL_EPROTO, "kafka: metadata: %s", rd_kafka_err2str(e));
	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0 &&
		    partition < md->topics[i].partition_cnt)
			exists = 1;
	rd_kafka_metadata_destroy(md);
	if (!exists)
		return 0;
	memset(&t, 0, sizeof(t));
	t.name = (char *)name;
	t.partitions = partition + 1;
	t.last = sl_calloc((size_t)t.partitions, sizeof(*t.last));
	t.has_last = sl_calloc((size_t)t.partitions, sizeof(*t.has_last));
	t.hi = sl_calloc((size_t)t.partitions, sizeof(*t.hi));
	t.last_val = sl_calloc((size_t)t.partitions, sizeof(*t.last_val));
	rkt = rd_kafka_topic_new(p->reader, name, NULL);
	rc = prod_scan_partition(p, &t, rkt, partition, err);
	rd_kafka_topic_destroy(rkt);
	if (rc == 0 && t.has_last[partition]) {
		*found = 1;
		sl_buf_add(value, t.last_val[partition].p, t.last_val[partition].len);
	}
	for (i = 0; i < t.partitions; i++)
		sl_buf_free(&t.last_val[i]);
	free(t.last_val);
	free(t.last);
	free(t.has_last);
	free(t.hi);
	return rc;
}

/*
 * A producer killed a moment ago may still have requests in the broker's
 * hands that become visible only now: wait 'settle_ms', look at every
 * partition's end again and re-read the partitions that moved, until none
 * does.  Returns 0 or SL_EPROTO.
 */
int
cap_producer_settle(struct cap_producer *p, int settle_ms, struct sl_err *err)
{
	int round, moved = 1, rc = 0;
	size_t k;
	int32_t i;

	for (round = 0; round < 20 && moved && rc == 0; round++) {
		struct timespec ts = { settle_ms / 1000, (long)(settle_ms % 1000) * 1000000 };

		nanosleep(&ts, NULL);
		moved = 0;
		for (k = 0; k < p->n_topics && rc == 0; k++) {
			struct cap_topic *t = p->topics[k];
			rd_kafka_topic_t *rkt = NULL;

			for (i = 0; i < t->partitions && rc == 0; i++) {
				int64_t lo = 0, hi = 0;

				if (rd_kafka_query_watermark_offsets(p->reader, t->name, i, &lo, &hi,
				    (int)p->timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR ||
				    hi == t->hi[i])
					continue;
				if (rkt == NULL)
					rkt = rd_kafka_topic_new(p->reader, t->name, NULL);
				sl_info("%s [%d] grew from %" PRId64 " to %" PRId64 " after start: "
				    "re-reading its last position", t->name, (int)i, t->hi[i], hi);
				rc = prod_scan_partition(p, t, rkt, i, err);
				moved = 1;
			}
			if (rkt)
				rd_kafka_topic_destroy(rkt);
		}
	}
	return rc;
}

/* Kafka's rule for topic names (Topic.validate): these bytes, at most 249. */
#define TOPIC_NAME_MAX CAP_TOPIC_NAME_MAX

static int
topic_char_ok(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

int
cap_topic_prefix_check(const char *prefix, struct sl_err *err)
{
	size_t i, n = strlen(prefix);

	if (n == 0)
		return sl_errf(err, SL_EINVAL, "is empty");
	if (n > TOPIC_NAME_MAX - 4)
		return sl_errf(err, SL_EINVAL, "is %zu characters: topic names hold at most %d",
		    n, TOPIC_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!topic_char_ok((unsigned char)prefix[i]))
			return sl_errf(err, SL_EINVAL, "'%s' has '%c' at character %zu: topic "
			    "names hold only ASCII letters, digits, '.', '_' and '-'", prefix,
			    prefix[i], i + 1);
	return 0;
}

/*
 * Append the 'n' bytes at 'part' to 'b', one '_' for each UTF-8 character
 * Kafka does not take.
 */
void
cap_topic_part(struct sl_buf *b, const char *part, size_t n, int *renamed)
{
	const unsigned char *q = (const unsigned char *)part, *e = q + n;

	for (; q < e; q++) {
		if (topic_char_ok(*q)) {
			sl_buf_add_u8(b, *q);
			continue;
		}
		*renamed = 1;
		sl_buf_add_u8(b, '_');
		if (*q >= 0xC0)		/* a UTF-8 lead byte: skip its continuation bytes */
			while (q + 1 < e && (q[1] & 0xC0) == 0x80)
				q++;
	}
}

char *
cap_table_topic_name(const char *prefix, const char *ns, const char *table, int *renamed,
    struct sl_err *err)
{
	struct sl_buf b = { 0 };

	*renamed = 0;
	sl_buf_printf(&b, "%s.", prefix);
	cap_topic_part(&b, ns, strlen(ns), renamed);
	sl_buf_add_u8(&b, '.');
	cap_topic_part(&b, table, strlen(table), renamed);
	if (b.len > TOPIC_NAME_MAX) {
		sl_errf(err, SL_EINVAL, "table %s.%s: its topic name would be %zu characters, "
		    "more than Kafka's %d: choose a shorter topic_prefix, or exclude the table "
		    "with !schema.table", ns, table, b.len, TOPIC_NAME_MAX);
		sl_buf_free(&b);
		return NULL;
	}
	sl_buf_add_u8(&b, 0);
	return (char *)b.p;
}

int
cap_table_topic_open(struct cap_producer *p, const struct cap_conf *c, const char *ns,
    const char *table, int compact, int strict, struct cap_topic **out, struct sl_err *err)
{
	struct cap_topic_spec spec;
	char *topic, *source;
	int rc, renamed;

	if ((topic = cap_table_topic_name(c->topic_prefix, ns, table, &renamed, err)) == NULL)
		return SL_EINVAL;
	source = sl_asprintf("%s.%s", ns, table);
	memset(&spec, 0, sizeof(spec));
	spec.name = topic;
	spec.source = source;
	spec.strict = strict;
	spec.renamed = renamed;
	spec.partitions = c->topic_partitions;
	spec.replication_factor = c->topic_replication;
	spec.compact = compact && c->topic_compact;
	spec.retention_ms = c->topic_retention_ms;
	rc = cap_topic_open(p, &spec, out, err);
	free(topic);
	free(source);
	return rc;
}

int
cap_topic_open(struct cap_producer *p, const struct cap_topic_spec *spec,
    struct cap_topic **out, struct sl_err *err)
{
	struct cap_topic *t;
	size_t i;
	int n, rc, tries;

	*out = NULL;
	for (i = 0; i < p->n_topics; i++)
		if (strcmp(p->topics[i]->name, spec->name) == 0) {
			struct cap_topic *t0 = p->topics[i];

			if (spec->source && t0->source && strcmp(spec->source, t0->source) != 0) {
				if (spec->strict)
					return sl_errf(err, SL_EINVAL, "tables %s and %s both map "
					    "to topic %s (characters a topic name cannot hold "
					    "become '_'): exclude one of them in 'tables' with "
					    "!schema.table, or rename it", t0->source,
					    spec->source, spec->name);
				sl_warn("table %s now goes to topic %s, %s's until now (renamed, "
				    "or made again?): if both tables exist, their rows share "
				    "the topic and compaction mixes their keys", spec->source,
				    spec->name, t0->source);
				free(t0->source);
				t0->source = sl_strdup(spec->source);
			}
			*out = t0;
			return 0;
		}
	if (spec->renamed && spec->source)
		sl_warn("table %s goes to topic %s: a topic name holds only ASCII letters, "
		    "digits, '.', '_' and '-', so the other characters became '_'",
		    spec->source, spec->name);
	n = prod_partitions(p->rk, spec->name, (int)p->timeout_ms);
	if (n < 0)
		return sl_errf(err, SL_EPROTO, "kafka: no metadata from %s within %" PRId64
		    " ms (is the broker up?)", p->bootstrap, p->timeout_ms);
	if (n == 0) {
		if ((rc = prod_create(p, spec, err)) != 0)
			return rc;
		for (tries = 0; tries < 100 && n <= 0; tries++) {
			n = prod_partitions(p->rk, spec->name, (int)p->timeout_ms);
			if (n <= 0) {
				struct timespec ts = { 0, 100 * 1000000 };

				nanosleep(&ts, NULL);
			}
		}
		if (n <= 0)
			return sl_errf(err, SL_EPROTO, "kafka: topic %s not visible after creation",
			    spec->name);
		sl_info("created topic %s (%d partitions, cleanup.policy=%s)", spec->name, n,
		    spec->compact ? "compact" : "delete");
	}
	t = sl_calloc(1, sizeof(*t));
	t->name = sl_strdup(spec->name);
	t->source = spec->source ? sl_strdup(spec->source) : NULL;
	t->partitions = n;
	t->last = sl_calloc((size_t)n, sizeof(*t->last));
	t->has_last = sl_calloc((size_t)n, sizeof(*t->has_last));
	t->hi = sl_calloc((size_t)n, sizeof(*t->hi));
	t->last_val = sl_calloc((size_t)n, sizeof(*t->last_val));
	if ((rc = prod_scan(p, t, err)) != 0) {
		topic_free(t);
		return rc;
	}
	t->rkt = rd_kafka_topic_new(p->rk, t->name, NULL);
	p->topics = sl_realloc(p->topics, (p->n_topics + 1) * sizeof(*p->topics));
	p->topics[p->n_topics++] = t;
	*out = t;
	return 0;
}

int
cap_topic_skip(const struct cap_topic *t, int32_t partition, const struct cap_pos *pos)
{
	if (partition < 0 || partition >= t->partitions || !t->has_last[partition])
		return 0;
	return cap_pos_cmp(pos, &t->last[partition]) <= 0;	/* (2) */
}

int
cap_produce(struct cap_producer *p, struct cap_topic *t, int32_t partition,
    const void *key, size_t key_len, const void *value, size_t value_len,
    const struct cap_pos *pos, void *opaque, struct sl_err *err)
{
	char hdr[CAP_POS_TEXT_MAX];
	size_t n = cap_pos_fmt(pos, hdr, sizeof(hdr));
	rd_kafka_resp_err_t e;

	const char *xname = p->xhdr_name;

	p->xhdr_name = NULL;
	for (;;) {
		if (xname != NULL)
			e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(t->rkt),
			    RD_KAFKA_V_PARTITION(partition),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
			    RD_KAFKA_V_VALUE((void *)value, value_len),
			    RD_KAFKA_V_HEADER("sluice.pos", hdr, (ssize_t)n),
			    RD_KAFKA_V_HEADER(xname, p->xhdr_val, (ssize_t)p->xhdr_len),
			    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		else
			e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(t->rkt),
			    RD_KAFKA_V_PARTITION(partition),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
			    RD_KAFKA_V_VALUE((void *)value, value_len),
			    RD_KAFKA_V_HEADER("sluice.pos", hdr, (ssize_t)n),
			    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		if (rd_kafka_outq_len(p->rk) == 0)	/* full although empty: too big */
			return sl_errf(err, SL_ETOOBIG, "kafka: a %zu-byte message for %s does not "
			    "fit producer.queue.buffering.max.kbytes", value_len, t->name);
		if (p->stop && *p->stop)
			return sl_errf(err, SL_ESTATE, "kafka: stopped while the producer queue "
			    "was full");
		p->full_waits++;
		rd_kafka_poll(p->rk, 50);
	}
	if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
		return sl_errf(err, SL_ETOOBIG, "kafka: a message of %zu bytes (key %zu, value "
		    "%zu) for %s is larger than the producer's message.max.bytes: raise "
		    "producer.message.max.bytes in the source section (topics capture creates "
		    "from then on take the same max.message.bytes; an existing topic keeps "
		    "its own)", key_len + value_len, key_len, value_len, t->name);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return sl_errf(err, SL_EPROTO, "kafka: produce to %s [%d]: %s", t->name,
		    (int)partition, rd_kafka_err2str(e));
	return 0;
}

void
cap_producer_next_header(struct cap_producer *p, const char *name, const void *val,
    size_t len)
{
	p->xhdr_name = name;
	p->xhdr_val = val;
	p->xhdr_len = len;
}

void
cap_producer_poll(struct cap_producer *p, int timeout_ms)
{
	rd_kafka_poll(p->rk, timeout_ms);
}

uint64_t
cap_producer_full_waits(const struct cap_producer *p)
{
	return p->full_waits;
}

int
cap_producer_outstanding(const struct cap_producer *p)
{
	return rd_kafka_outq_len(p->rk);
}

void
cap_producer_set_stop(struct cap_producer *p, volatile sig_atomic_t *stop)
{
	p->stop = stop;
}

int
cap_producer_flush(struct cap_producer *p, int timeout_ms)
{
	return rd_kafka_flush(p->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : SL_EPROTO;
}
