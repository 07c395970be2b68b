/*
 * tests/prog/group_consumer.c: one member of a librdkafka consumer group,
 * for tests/integration/test_groups.sh.
 *
 * It subscribes to one topic in group -g and writes one line per event to
 * stdout (line-buffered, so a test can watch it):
 *
 *   ASSIGNED <n> <p>,<p>,...     the rebalance callback assigned partitions
 *   REVOKED <n> <p>,<p>,...      the rebalance callback revoked them
 *   MSG <partition> <offset> <key> <value>
 *   COMMITTED <n>                a synchronous commit of the consumed
 *                                positions succeeded (n messages so far)
 *   EXIT <n>                     closed the consumer after n messages
 *
 * Offsets are committed synchronously (auto commit off) every -c messages,
 * before a revoke completes and before closing, so a clean stop leaves no
 * uncommitted tail.  It stops on SIGTERM/SIGINT, after -n messages, or after
 * -i milliseconds without a message once it has had an assignment.  With
 * -x N it crashes on purpose after the Nth message (_exit(3) without a
 * commit or a LeaveGroup), leaving the tail since its last COMMITTED line
 * uncommitted.  Exit 0 on a clean close, 1 when a commit or the close
 * failed, 2 on usage, 3 for the -x crash.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t stop;
static int failed;
static long n_msgs;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: group_consumer -b HOST:PORT -g GROUP -t TOPIC "
	    "[-n MAX_MSGS] [-i IDLE_MS] [-c COMMIT_EVERY] [-x CRASH_AFTER]\n");
	exit(2);
}

static void
print_parts(const char *what, const rd_kafka_topic_partition_list_t *l)
{
	int i;

	printf("%s %d ", what, l->cnt);
	for (i = 0; i < l->cnt; i++)
		printf("%s%" PRId32, i ? "," : "", l->elems[i].partition);
	printf("\n");
}

static void
commit(rd_kafka_t *rk)
{
	rd_kafka_resp_err_t err = rd_kafka_commit(rk, NULL, 0);

	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		printf("COMMITTED %ld\n", n_msgs);
	else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		fprintf(stderr, "group_consumer: commit: %s\n", rd_kafka_err2str(err));
		failed = 1;
	}
}

static void
on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		print_parts("ASSIGNED", parts);
		rd_kafka_assign(rk, parts);
	} else {
		/* Commit what was consumed so the next owner starts after it. */
		commit(rk);
		print_parts("REVOKED", parts);
		rd_kafka_assign(rk, NULL);
	}
}

static void
set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "group_consumer: %s=%s: %s\n", k, v, err);
		exit(2);
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	const char *brokers = NULL, *group = NULL, *topic = NULL;
	long max_msgs = 0, idle_ms = 0, commit_every = 100, since_commit = 0;
	long crash_after = 0;
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t err;
	int64_t last_msg;
	int c;

	while ((c = getopt(argc, argv, "b:g:t:n:i:c:x:")) != -1) {
		switch (c) {
		case 'b': brokers = optarg; break;
		case 'g': group = optarg; break;
		case 't': topic = optarg; break;
		case 'n': max_msgs = atol(optarg); break;
		case 'i': idle_ms = atol(optarg); break;
		case 'c': commit_every = atol(optarg); break;
		case 'x': crash_after = atol(optarg); break;
		default: usage();
		}
	}
	if (!brokers || !group || !topic || commit_every <= 0)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	conf = rd_kafka_conf_new();
	set(conf, "bootstrap.servers", brokers);
	set(conf, "group.id", group);
	set(conf, "enable.auto.commit", "false");
	set(conf, "auto.offset.reset", "earliest");
	set(conf, "session.timeout.ms", "6000");
	set(conf, "heartbeat.interval.ms", "500");
	set(conf, "reconnect.backoff.ms", "50");
	set(conf, "reconnect.backoff.max.ms", "500");
	set(conf, "partition.assignment.strategy", "range");
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "group_consumer: %s\n", errstr);
		return 2;
	}
	rd_kafka_poll_set_consumer(rk);
	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (err) {
		fprintf(stderr, "group_consumer: subscribe: %s\n", rd_kafka_err2str(err));
		return 1;
	}

	last_msg = now_ms();
	while (!stop && (max_msgs == 0 || n_msgs < max_msgs)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (!m) {
			if (since_commit > 0) {
				commit(rk);
				since_commit = 0;
			}
			if (idle_ms > 0 && n_msgs > 0 && now_ms() - last_msg > idle_ms)
				break;
			continue;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				fprintf(stderr, "group_consumer: %s\n",
				    rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		printf("MSG %" PRId32 " %" PRId64 " %.*s %.*s\n", m->partition,
		    m->offset, (int)m->key_len, m->key ? (const char *)m->key : "",
		    (int)m->len, m->payload ? (const char *)m->payload : "");
		rd_kafka_message_destroy(m);
		n_msgs++;
		last_msg = now_ms();
		if (++since_commit >= commit_every) {
			commit(rk);
			since_commit = 0;
		}
		if (crash_after > 0 && n_msgs >= crash_after) {
			printf("CRASH %ld\n", n_msgs);
			fflush(stdout);
			_exit(3);
		}
	}
	if (since_commit > 0)
		commit(rk);
	err = rd_kafka_consumer_close(rk);
	if (err) {
		fprintf(stderr, "group_consumer: close: %s\n", rd_kafka_err2str(err));
		failed = 1;
	}
	printf("EXIT %ld\n", n_msgs);
	rd_kafka_destroy(rk);
	return failed ? 1 : 0;
}
