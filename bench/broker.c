/*
 * bench/broker.c: throughput and latency of `sluice broker` through
 * librdkafka, the client every sluice component uses.
 *
 *   broker --sluice PATH [--data-dir DIR]   start a broker of our own
 *   broker --bootstrap HOST:PORT            or measure a running one
 *          [--messages N] [--size BYTES] [--rate MSGS_PER_S] [--seconds S]
 *          [--latency-only]
 *
 * Measures, with acks=all and no compression:
 *   1. produce N messages of BYTES to a 1-partition and a 6-partition topic
 *      as fast as the producer goes (msgs/s and MB/s of payload);
 *   2. consume the 6-partition topic from the start (msgs/s, MB/s);
 *   3. produce at a fixed moderate rate for S seconds to a 1-partition and
 *      a 6-partition topic and report the p50/p99 produce latency (produce()
 *      call to delivery report).
 * Then prints summary lines `bench NAME: VALUE UNIT (target: T UNIT, ratio R)`.
 * The targets are the issue's: produce >= 400,000 msgs/s with fsync before
 * the ack, consume >= 1,000,000 msgs/s.  Topics get a per-run suffix, so a
 * shared broker is not disturbed.  It is not a correctness test: delivery
 * errors are counted and make the exit status 1, nothing more.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bench/bench_broker.h"
#include "common/sl.h"

#define TARGET_PRODUCE 400000.0
#define TARGET_CONSUME 1000000.0

struct bench_opts {
	const char *sluice;		/* broker binary to start, or NULL */
	const char *data_dir;		/* parent for its data, or NULL */
	char bootstrap[128];		/* HOST:PORT */
	long messages;			/* per throughput run */
	int size;			/* payload bytes */
	long rate;			/* msgs/s of the latency run */
	int seconds;			/* length of the latency run */
	int latency_only;		/* skip the throughput runs */
};

static long n_delivered, n_errors;
static int64_t *lat_ns;			/* latency run: one per message */
static long n_lat, cap_lat;

static double
now_s(void)
{
	return (double)sl_mono_ns() / 1e9;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench broker: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static void
conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("config: %s", err);
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err) {
		if (n_errors++ < 5)
			fprintf(stderr, "bench broker: delivery failed: %s\n",
			    rd_kafka_err2str(m->err));
		return;
	}
	n_delivered++;
	if (m->_private && n_lat < cap_lat)
		lat_ns[n_lat++] = sl_mono_ns() - (int64_t)(intptr_t)m->_private;
}

static rd_kafka_t *
producer_new(const struct bench_opts *o, const char *linger)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	conf_set(conf, "bootstrap.servers", o->bootstrap);
	conf_set(conf, "acks", "all");
	conf_set(conf, "linger.ms", linger);
	conf_set(conf, "batch.size", "1000000");
	conf_set(conf, "batch.num.messages", "100000");
	conf_set(conf, "compression.codec", "none");
	conf_set(conf, "queue.buffering.max.messages", "2000000");
	conf_set(conf, "queue.buffering.max.kbytes", "1048576");
	conf_set(conf, "message.max.bytes", "2000000");
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk)
		die("producer: %s", err);
	return rk;
}

/* Create 'name' with 'parts' partitions through the admin API. */
static void
topic_create(const struct bench_opts *o, const char *name, int parts)
{
	rd_kafka_t *rk = producer_new(o, "5");
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_event_t *ev;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t n;
	char err[256];

	nt = rd_kafka_NewTopic_new(name, parts, 1, err, sizeof(err));
	if (!nt)
		die("topic: %s", err);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, 30000);
	if (!ev)
		die("CreateTopics %s: no answer in 30 s", name);
	if (rd_kafka_event_error(ev))
		die("CreateTopics: %s", rd_kafka_event_error_string(ev));
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &n);
	if (n != 1 || rd_kafka_topic_result_error(tr[0]))
		die("CreateTopics: %s", n ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
	rd_kafka_event_destroy(ev);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
}

/* Produce 'count' messages round-robin over 'parts'; returns seconds. */
static double
produce_run(const struct bench_opts *o, const char *topic, int parts, long count)
{
	rd_kafka_t *rk = producer_new(o, "5");
	char *payload = sl_malloc((size_t)o->size);
	double t0, t1;
	long i;

	memset(payload, 'p', (size_t)o->size);
	n_delivered = n_errors = 0;
	/* Warm up the connection and metadata outside the timing. */
	rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, 1),
	    RD_KAFKA_V_END);
	rd_kafka_flush(rk, 30000);
	n_delivered = 0;
	t0 = now_s();
	for (i = 0; i < count; i++) {
		rd_kafka_resp_err_t err;

		while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
		    RD_KAFKA_V_PARTITION((int32_t)(i % parts)),
		    RD_KAFKA_V_VALUE(payload, (size_t)o->size),
		    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 1);
		if (err)
			die("produce: %s", rd_kafka_err2str(err));
		if ((i & 1023) == 0)
			rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 120000))
		fprintf(stderr, "bench broker: flush timed out\n");
	t1 = now_s();
	rd_kafka_destroy(rk);
	free(payload);
	if (n_delivered != count)
		fprintf(stderr, "bench broker: %s: %ld of %ld delivered, %ld errors\n",
		    topic, n_delivered, count, n_errors);
	return t1 - t0;
}

/* Read 'count' messages of 'topic' from the start; returns seconds. */
static double
consume_run(const struct bench_opts *o, const char *topic, int parts, long count)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
	rd_kafka_queue_t *q;
	rd_kafka_message_t *batch[1024];
	long got = 0;
	double t0, deadline;
	int p;

	conf_set(conf, "bootstrap.servers", o->bootstrap);
	conf_set(conf, "group.id", "bench-broker");
	conf_set(conf, "enable.auto.commit", "false");
	conf_set(conf, "fetch.max.bytes", "52428800");
	conf_set(conf, "max.partition.fetch.bytes", "8388608");
	conf_set(conf, "queued.min.messages", "1000000");
	conf_set(conf, "fetch.wait.max.ms", "100");
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk)
		die("consumer: %s", err);
	for (p = 0; p < parts; p++)
		rd_kafka_topic_partition_list_add(l, topic, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	q = rd_kafka_queue_get_consumer(rk);
	t0 = now_s();
	deadline = t0 + 120;
	rd_kafka_assign(rk, l);
	while (got < count && now_s() < deadline) {
		ssize_t n = rd_kafka_consume_batch_queue(q, 100, batch, 1024);
		ssize_t j;

		for (j = 0; j < n; j++) {
			if (!batch[j]->err)
				got++;
			rd_kafka_message_destroy(batch[j]);
		}
	}
	t0 = now_s() - t0;
	if (got < count)
		fprintf(stderr, "bench broker: consumed %ld of %ld\n", got, count);
	rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return got < count ? -1 : t0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Produce at o->rate for o->seconds; fills lat_ns. */
static void
latency_run(const struct bench_opts *o, const char *topic, int parts)
{
	rd_kafka_t *rk = producer_new(o, "5");
	char *payload = sl_malloc((size_t)o->size);
	long total = o->rate * o->seconds, i;
	double t0;

	memset(payload, 'l', (size_t)o->size);
	cap_lat = total;
	lat_ns = sl_calloc((size_t)total, sizeof(*lat_ns));
	n_lat = 0;
	rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, 1),
	    RD_KAFKA_V_END);
	rd_kafka_flush(rk, 30000);
	t0 = now_s();
	/* Send what is due, then sleep in poll for up to 1 ms: no busy loop,
	 * which would starve the broker and librdkafka threads on 2 cores. */
	for (i = 0; i < total;) {
		long due = (long)((now_s() - t0) * (double)o->rate);

		for (; i < total && i <= due; i++)
			if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
			    RD_KAFKA_V_PARTITION((int32_t)(i % parts)),
			    RD_KAFKA_V_VALUE(payload, (size_t)o->size),
			    RD_KAFKA_V_OPAQUE((void *)(intptr_t)sl_mono_ns()),
			    RD_KAFKA_V_END))
				n_errors++;
		rd_kafka_poll(rk, 1);
	}
	rd_kafka_flush(rk, 60000);
	rd_kafka_destroy(rk);
	free(payload);
	qsort(lat_ns, (size_t)n_lat, sizeof(*lat_ns), cmp_i64);
}

/* Start 'o->sluice' broker in a fresh folder; returns its pid. */
static pid_t
broker_start(struct bench_opts *o, char *dir, size_t dirlen)
{
	char why[512];
	pid_t pid;

	snprintf(dir, dirlen, "%s/sluice-bench-XXXXXX", o->data_dir ? o->data_dir : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	pid = bench_broker_start(o->sluice, dir, o->bootstrap, sizeof(o->bootstrap), why,
	    sizeof(why));
	if (pid < 0)
		die("%s", why);
	return pid;
}

static void
summary(const char *name, double v, const char *unit, double target)
{
	printf("bench %s: %.0f %s (target: %.0f %s, ratio %.2f)\n", name, v, unit,
	    target, unit, v / target);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sluice", required_argument, NULL, 's' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "messages", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 't' },
		{ "latency-only", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	struct bench_opts o = { NULL, NULL, "", 2000000, 100, 20000, 5, 0 };
	char dir[4096] = "", t1[64], t6[64], tl1[64], tl6[64];
	static const int lat_parts[2] = { 1, 6 };
	double p50[2] = { -1, -1 }, p99[2] = { -1, -1 };
	int k;
	pid_t pid = -1;
	double s1 = 0, s6 = 0, sc = 0, mb;
	long errs = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o.sluice = optarg; break;
		case 'd': o.data_dir = optarg; break;
		case 'b': snprintf(o.bootstrap, sizeof(o.bootstrap), "%s", optarg); break;
		case 'n': o.messages = atol(optarg); break;
		case 'z': o.size = atoi(optarg); break;
		case 'r': o.rate = atol(optarg); break;
		case 't': o.seconds = atoi(optarg); break;
		case 'L': o.latency_only = 1; break;
		default:
			fprintf(stderr, "usage: broker --sluice PATH [--data-dir DIR] | "
			    "--bootstrap HOST:PORT [--messages N] [--size B] [--rate R] "
			    "[--seconds S] [--latency-only]\n");
			return 2;
		}
	}
	if ((!o.sluice) == (!o.bootstrap[0]) || o.messages <= 0 || o.size <= 0 ||
	    o.rate <= 0 || o.seconds <= 0)
		die("%s", "give exactly one of --sluice PATH or --bootstrap HOST:PORT");
	if (o.sluice)
		pid = broker_start(&o, dir, sizeof(dir));
	else if (bench_broker_wait(o.bootstrap, 10) != 0)
		die("no broker answers at %s", o.bootstrap);

	snprintf(t1, sizeof(t1), "bench-1p-%d", (int)getpid());
	snprintf(t6, sizeof(t6), "bench-6p-%d", (int)getpid());
	snprintf(tl1, sizeof(tl1), "bench-lat1-%d", (int)getpid());
	snprintf(tl6, sizeof(tl6), "bench-lat6-%d", (int)getpid());
	if (!o.latency_only) {
		topic_create(&o, t1, 1);
		topic_create(&o, t6, 6);
	}
	topic_create(&o, tl1, 1);
	topic_create(&o, tl6, 6);
	printf("broker %s, %ld messages of %d bytes, acks=all, linger.ms=5, "
	    "batch.size=1000000, no compression\n", o.bootstrap, o.messages, o.size);

	mb = (double)o.messages * o.size / 1e6;
	if (!o.latency_only) {
		s1 = produce_run(&o, t1, 1, o.messages);
		errs += n_errors;
		printf("produce 1 partition : %9.0f msgs/s %7.1f MB/s (%.2f s)\n",
		    o.messages / s1, mb / s1, s1);
		s6 = produce_run(&o, t6, 6, o.messages);
		errs += n_errors;
		printf("produce 6 partitions: %9.0f msgs/s %7.1f MB/s (%.2f s)\n",
		    o.messages / s6, mb / s6, s6);
		sc = consume_run(&o, t6, 6, o.messages);
		if (sc > 0)
			printf("consume 6 partitions: %9.0f msgs/s %7.1f MB/s (%.2f s)\n",
			    o.messages / sc, mb / sc, sc);
		else
			errs++;
	}
	for (k = 0; k < 2; k++) {
		n_errors = 0;
		latency_run(&o, k ? tl6 : tl1, lat_parts[k]);
		errs += n_errors;
		if (n_lat == 0) {
			errs++;
			continue;
		}
		p50[k] = lat_ns[n_lat / 2] / 1e6;
		p99[k] = lat_ns[(n_lat * 99) / 100] / 1e6;
		printf("produce latency, %d partition(s), %ld msgs/s for %d s: p50 %.2f ms, "
		    "p99 %.2f ms, max %.2f ms (%ld acked)\n", lat_parts[k], o.rate,
		    o.seconds, p50[k], p99[k], lat_ns[n_lat - 1] / 1e6, n_lat);
		free(lat_ns);
		lat_ns = NULL;
	}

	if (!o.latency_only) {
		summary("broker_produce_1p", o.messages / s1, "msgs/s", TARGET_PRODUCE);
		summary("broker_produce_6p", o.messages / s6, "msgs/s", TARGET_PRODUCE);
		if (sc > 0)
			summary("broker_consume_6p", o.messages / sc, "msgs/s",
			    TARGET_CONSUME);
		else
			printf("bench broker_consume_6p: FAILED\n");
	}
	for (k = 0; k < 2; k++) {
		if (p50[k] < 0)
			continue;
		printf("bench broker_produce_latency_%dp_p50: %.2f ms (at %ld msgs/s)\n",
		    lat_parts[k], p50[k], o.rate);
		printf("bench broker_produce_latency_%dp_p99: %.2f ms (at %ld msgs/s)\n",
		    lat_parts[k], p99[k], o.rate);
	}

	if (pid > 0) {
		int st;

		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
		sl_rm_rf(dir);
	}
	free(lat_ns);
	return errs ? 1 : 0;
}
