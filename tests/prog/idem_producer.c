/*
 * tests/prog/idem_producer.c: an idempotent, acks=all librdkafka producer
 * for tests/integration/test_idempotent_kill.sh.
 *
 * It produces numbered messages (value "<seq>", key "k<seq>") round-robin
 * over the partitions of one topic at a steady rate, and appends one line
 * "<partition> <seq>" to the ack file for every message whose delivery
 * report says it was acknowledged.  It keeps going while the broker is
 * killed and restarted under it, then flushes and prints a summary:
 *
 *   produced N acked N failed N fatal 0|1
 *
 * Exit status 0 when every message was acknowledged and no fatal
 * (idempotence-breaking) error happened, 1 otherwise, 2 on usage errors.
 * It is not a consumer: the test reads the topic back with kcat.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static FILE *ack_file;
static long n_acked, n_failed;
static int fatal_seen;

static void
usage(void)
{
	fprintf(stderr, "usage: idem_producer -b HOST:PORT -t TOPIC -p PARTITIONS "
	    "-n COUNT -r MSGS_PER_SEC -o ACKFILE [-d LIBRDKAFKA_DEBUG]\n");
	exit(2);
}

static void
now_str(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
}

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	intptr_t seq = (intptr_t)m->_private;

	(void)rk;
	(void)opaque;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(ack_file, "%" PRId32 " %ld\n", m->partition, (long)seq);
		n_acked++;
	} else {
		char t[32];

		now_str(t, sizeof(t));
		if (n_failed < 20)
			fprintf(stderr, "%s idem_producer: message %ld to partition %"
			    PRId32 " failed: %s\n", t, (long)seq, m->partition,
			    rd_kafka_err2str(m->err));
		n_failed++;
	}
}

static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char t[32];

	(void)opaque;
	now_str(t, sizeof(t));
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char buf[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));

		fprintf(stderr, "%s idem_producer: FATAL %s: %s\n", t,
		    rd_kafka_err2name(orig), buf);
		fatal_seen = 1;
	} else {
		/* Transport errors are expected while the broker is down. */
		fprintf(stderr, "%s idem_producer: error %s: %s\n", t,
		    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	}
}

static void
set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char err[256];

	if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "idem_producer: %s=%s: %s\n", k, v, err);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	const char *brokers = NULL, *topic = NULL, *ackpath = NULL, *debug = NULL;
	long count = 0, rate = 1000;
	int parts = 0, c;
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	struct timespec start;
	long seq;

	while ((c = getopt(argc, argv, "b:t:p:n:r:o:d:")) != -1) {
		switch (c) {
		case 'b': brokers = optarg; break;
		case 't': topic = optarg; break;
		case 'p': parts = atoi(optarg); break;
		case 'n': count = atol(optarg); break;
		case 'r': rate = atol(optarg); break;
		case 'o': ackpath = optarg; break;
		case 'd': debug = optarg; break;
		default: usage();
		}
	}
	if (!brokers || !topic || !ackpath || parts <= 0 || count <= 0 || rate <= 0)
		usage();
	ack_file = fopen(ackpath, "w");
	if (!ack_file) {
		fprintf(stderr, "idem_producer: %s: %s\n", ackpath, strerror(errno));
		return 2;
	}
	setvbuf(ack_file, NULL, _IOLBF, 0);

	conf = rd_kafka_conf_new();
	set(conf, "bootstrap.servers", brokers);
	set(conf, "enable.idempotence", "true");
	set(conf, "acks", "all");
	set(conf, "linger.ms", "5");
	set(conf, "message.timeout.ms", "60000");
	set(conf, "reconnect.backoff.ms", "50");
	set(conf, "reconnect.backoff.max.ms", "500");
	set(conf, "retry.backoff.ms", "100");
	if (debug)
		set(conf, "debug", debug);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "idem_producer: %s\n", errstr);
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (seq = 0; seq < count && !fatal_seen; seq++) {
		char key[32], val[32];
		int kl = snprintf(key, sizeof(key), "k%ld", seq);
		int vl = snprintf(val, sizeof(val), "%ld", seq);
		rd_kafka_resp_err_t err;

		/* Pace to 'rate' messages per second. */
		for (;;) {
			struct timespec now;
			double el;

			clock_gettime(CLOCK_MONOTONIC, &now);
			el = (double)(now.tv_sec - start.tv_sec) +
			    (double)(now.tv_nsec - start.tv_nsec) / 1e9;
			if ((double)seq <= el * (double)rate)
				break;
			rd_kafka_poll(rk, 1);
		}
		for (;;) {
			err = rd_kafka_producev(rk,
			    RD_KAFKA_V_TOPIC(topic),
			    RD_KAFKA_V_PARTITION((int32_t)(seq % parts)),
			    RD_KAFKA_V_KEY(key, (size_t)kl),
			    RD_KAFKA_V_VALUE(val, (size_t)vl),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_OPAQUE((void *)(intptr_t)seq),
			    RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			rd_kafka_poll(rk, 10);
		}
		if (err) {
			fprintf(stderr, "idem_producer: produce %ld: %s\n", seq,
			    rd_kafka_err2str(err));
			n_failed++;
		}
		rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 90000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fprintf(stderr, "idem_producer: flush timed out with %d messages "
		    "outstanding\n", rd_kafka_outq_len(rk));
	n_failed += rd_kafka_outq_len(rk);
	printf("produced %ld acked %ld failed %ld fatal %d\n", seq, n_acked,
	    n_failed, fatal_seen);
	rd_kafka_destroy(rk);
	fclose(ack_file);
	return (n_failed == 0 && !fatal_seen && n_acked == count) ? 0 : 1;
}
