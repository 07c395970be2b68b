/*
 * cli/topics_cmd.c: `sluice topics`, topic administration over the Kafka
 * protocol with librdkafka's admin API, so it works against sluice broker
 * and any Kafka-protocol cluster alike.
 *
 *   list             Metadata for every topic, names sorted, one per line
 *   create NAME      CreateTopics (--partitions, --replication-factor,
 *                    --compact = cleanup.policy=compact, --config k=v)
 *   describe NAME    Metadata: partitions with leader, replicas, ISR, and
 *                    low/high watermarks through ListOffsets
 *                    (rd_kafka_query_watermark_offsets); configs are not
 *                    shown, since sluice broker serves no DescribeConfigs
 *   delete NAME      DeleteTopics
 *
 * Not here: anything that reads data_dir directly (that is `sluice log`).
 * Exit status: 0 ok, 1 the topic is absent (describe, delete), 2 usage,
 * 3 a runtime failure (broker unreachable, request refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cli/cli.h"
#include "common/sl.h"

#define TOPICS_DEFAULT_BOOTSTRAP "127.0.0.1:9092"
#define TOPICS_DEFAULT_TIMEOUT_MS 10000
#define TOPICS_MAX_CONFIGS 64

static const char topics_usage[] =
    "usage: sluice topics [-b HOST:PORT] [--timeout MS] COMMAND\n"
    "\n"
    "commands:\n"
    "  list                      names of all topics, one per line\n"
    "  create NAME [--partitions N] [--replication-factor N] [--compact]\n"
    "              [--config KEY=VALUE ...]\n"
    "                            create a topic (1 partition and the broker's\n"
    "                            replication factor unless given; --compact sets\n"
    "                            cleanup.policy=compact)\n"
    "  describe NAME             partitions with leader, replicas, in-sync\n"
    "                            replicas and low/high watermark offsets\n"
    "  delete NAME               delete a topic and its data\n"
    "\n"
    "options:\n"
    "  -b, --bootstrap HOST:PORT any Kafka-protocol broker (default "
    TOPICS_DEFAULT_BOOTSTRAP ")\n"
    "  --timeout MS              per request (default 10000)\n"
    "  -h, --help                this text\n"
    "\n"
    "Exit status: 0 ok, 1 topic absent, 2 usage error, 3 runtime failure.\n";

struct topics_args {
	const char *bootstrap;
	int timeout_ms;
	const char *cmd;
	const char *name;
	int partitions;			/* -1: not given */
	int replication;		/* -1: the broker's default */
	int compact;
	const char *configs[TOPICS_MAX_CONFIGS];	/* "k=v" */
	int n_configs;
	int create_opts;		/* a create-only option was given */
};

static int
topics_usage_error(const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	cli_errorf("topics: %s (see sluice topics --help)", msg);
	return CLI_EXIT_USAGE;
}

static int
parse_int(const char *s, int lo, int hi, int *out)
{
	int64_t v;

	if (s == NULL || sl_parse_int64(s, &v) != 0 || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

/* An option's value: "--opt=V" or the next argument.  NULL if missing. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int
opt_is(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Returns -1 after --help (exit 0), 0, or CLI_EXIT_USAGE. */
static int
topics_parse(int argc, char **argv, struct topics_args *a)
{
	const char *pos[3];
	int n_pos = 0, i;
	const char *v;

	memset(a, 0, sizeof(*a));
	a->bootstrap = TOPICS_DEFAULT_BOOTSTRAP;
	a->timeout_ms = TOPICS_DEFAULT_TIMEOUT_MS;
	a->partitions = -1;
	a->replication = -1;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(topics_usage, stdout);
			return -1;
		} else if (strcmp(arg, "-b") == 0 || opt_is(arg, "--bootstrap")) {
			if ((v = opt_value(argc, argv, &i, arg[1] == 'b' ? "-b" :
			    "--bootstrap")) == NULL || *v == '\0')
				return topics_usage_error("%s needs HOST:PORT", arg);
			a->bootstrap = v;
		} else if (opt_is(arg, "--timeout")) {
			v = opt_value(argc, argv, &i, "--timeout");
			if (parse_int(v, 1, 3600000, &a->timeout_ms) != 0)
				return topics_usage_error("--timeout needs milliseconds, "
				    "1..3600000, not '%s'", v != NULL ? v : "");
		} else if (opt_is(arg, "--partitions")) {
			v = opt_value(argc, argv, &i, "--partitions");
			if (parse_int(v, 1, 1000000, &a->partitions) != 0)
				return topics_usage_error("--partitions needs a count "
				    "1..1000000, not '%s'", v != NULL ? v : "");
			a->create_opts = 1;
		} else if (opt_is(arg, "--replication-factor")) {
			v = opt_value(argc, argv, &i, "--replication-factor");
			if (parse_int(v, 1, 32767, &a->replication) != 0)
				return topics_usage_error("--replication-factor needs "
				    "1..32767, not '%s'", v != NULL ? v : "");
			a->create_opts = 1;
		} else if (strcmp(arg, "--compact") == 0) {
			a->compact = 1;
			a->create_opts = 1;
		} else if (opt_is(arg, "--config")) {
			v = opt_value(argc, argv, &i, "--config");
			if (v == NULL || strchr(v, '=') == NULL || v[0] == '=')
				return topics_usage_error("--config needs KEY=VALUE, not '%s'",
				    v != NULL ? v : "");
			if (a->n_configs == TOPICS_MAX_CONFIGS)
				return topics_usage_error("more than %s --config options", "64");
			a->configs[a->n_configs++] = v;
			a->create_opts = 1;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return topics_usage_error("unknown option '%s'", arg);
		} else {
			if (n_pos == 2)
				return topics_usage_error("unexpected argument '%s'", arg);
			pos[n_pos++] = arg;
		}
	}
	if (n_pos == 0)
		return topics_usage_error("%s", "expected list, create, describe or delete");
	a->cmd = pos[0];
	if (strcmp(a->cmd, "list") == 0) {
		if (n_pos != 1)
			return topics_usage_error("list takes no NAME, got '%s'", pos[1]);
	} else if (strcmp(a->cmd, "create") == 0 || strcmp(a->cmd, "describe") == 0 ||
	    strcmp(a->cmd, "delete") == 0) {
		if (n_pos != 2)
			return topics_usage_error("%s needs a topic NAME", a->cmd);
		a->name = pos[1];
		if (*a->name == '\0')
			return topics_usage_error("%s: the topic NAME is empty", a->cmd);
	} else {
		return topics_usage_error("unknown command '%s'", a->cmd);
	}
	if (a->create_opts && strcmp(a->cmd, "create") != 0)
		return topics_usage_error("%s takes no create options", a->cmd);
	if (a->partitions == -1)
		a->partitions = 1;
	return 0;
}

/* librdkafka's own log lines only with SLUICE_LOG=debug. */
static void
topics_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	sl_debug("librdkafka %s: %s", fac, buf);
}

static rd_kafka_t *
topics_client(const struct topics_args *a)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512], tmo[32];
	rd_kafka_t *rk;

	snprintf(tmo, sizeof(tmo), "%d", a->timeout_ms);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", a->bootstrap, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "sluice-topics", errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "socket.timeout.ms", tmo, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		cli_errorf("topics: %s", errstr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_log_cb(conf, topics_log_cb);
	/* A consumer handle: admin, metadata and watermark queries all work on it. */
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		cli_errorf("topics: %s", errstr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
topics_list(rd_kafka_t *rk, const struct topics_args *a)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e;
	const char **names;
	int i, n = 0;

	e = rd_kafka_metadata(rk, 1, NULL, &md, a->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_errorf("topics: list: %s (bootstrap %s)", rd_kafka_err2str(e),
		    a->bootstrap);
		return CLI_EXIT_RUNTIME;
	}
	names = sl_calloc((size_t)md->topic_cnt + 1, sizeof(*names));
	for (i = 0; i < md->topic_cnt; i++)
		if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			names[n++] = md->topics[i].topic;
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		printf("%s\n", names[i]);
	free(names);
	rd_kafka_metadata_destroy(md);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}

/*
 * Run one admin request already started on 'q' and return its single topic
 * result's error ('*msg' gets its text, borrowed from '*evp', which the
 * caller destroys).  A request-level failure returns that error.
 */
static rd_kafka_resp_err_t
topics_admin_wait(rd_kafka_queue_t *q, const struct topics_args *a, int create,
    rd_kafka_event_t **evp, const char **msg)
{
	const rd_kafka_topic_result_t **tr;
	rd_kafka_event_t *ev;
	rd_kafka_resp_err_t e;
	size_t n = 0;

	*msg = NULL;
	/* The operation timeout plus room for the request itself. */
	ev = rd_kafka_queue_poll(q, 2 * a->timeout_ms + 1000);
	*evp = ev;
	if (ev == NULL) {
		*msg = "timed out waiting for the broker";
		return RD_KAFKA_RESP_ERR__TIMED_OUT;
	}
	e = rd_kafka_event_error(ev);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		*msg = rd_kafka_event_error_string(ev);
		return e;
	}
	if (create) {
		const rd_kafka_CreateTopics_result_t *r = rd_kafka_event_CreateTopics_result(ev);

		tr = r != NULL ? rd_kafka_CreateTopics_result_topics(r, &n) : NULL;
	} else {
		const rd_kafka_DeleteTopics_result_t *r = rd_kafka_event_DeleteTopics_result(ev);

		tr = r != NULL ? rd_kafka_DeleteTopics_result_topics(r, &n) : NULL;
	}
	if (tr == NULL || n < 1) {
		*msg = "no result for the topic";
		return RD_KAFKA_RESP_ERR__BAD_MSG;
	}
	e = rd_kafka_topic_result_error(tr[0]);
	*msg = rd_kafka_topic_result_error_string(tr[0]);
	return e;
}

static int
topics_create(rd_kafka_t *rk, const struct topics_args *a)
{
	rd_kafka_NewTopic_t *nt;
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	rd_kafka_resp_err_t e;
	const char *msg;
	char errstr[512], key[256];
	int i, rc = CLI_EXIT_RUNTIME;

	nt = rd_kafka_NewTopic_new(a->name, a->partitions, a->replication, errstr,
	    sizeof(errstr));
	if (nt == NULL) {
		cli_errorf("topics: create %s: %s", a->name, errstr);
		return CLI_EXIT_USAGE;
	}
	if (a->compact)
		rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
	for (i = 0; i < a->n_configs; i++) {
		const char *eq = strchr(a->configs[i], '=');
		size_t kl = (size_t)(eq - a->configs[i]);

		if (kl >= sizeof(key)) {
			cli_errorf("topics: create %s: config key too long", a->name);
			rc = CLI_EXIT_USAGE;
			goto out;
		}
		memcpy(key, a->configs[i], kl);
		key[kl] = '\0';
		if (rd_kafka_NewTopic_set_config(nt, key, eq + 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			cli_errorf("topics: create %s: bad config '%s'", a->name, a->configs[i]);
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(opts, a->timeout_ms, errstr, sizeof(errstr));
	rd_kafka_AdminOptions_set_operation_timeout(opts, a->timeout_ms, errstr,
	    sizeof(errstr));
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
	e = topics_admin_wait(q, a, 1, &ev, &msg);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
		printf("Created topic %s.\n", a->name);	/* as kafka-topics.sh says it */
		rc = CLI_EXIT_OK;
	} else {
		cli_errorf("topics: create %s: %s", a->name,
		    msg != NULL && *msg != '\0' ? msg : rd_kafka_err2str(e));
		rc = e == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
		    e == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
		    e == RD_KAFKA_RESP_ERR_INVALID_CONFIG ||
		    e == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
out:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	if (opts != NULL)
		rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

static int
topics_delete(rd_kafka_t *rk, const struct topics_args *a)
{
	rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(a->name);
	rd_kafka_AdminOptions_t *opts;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev = NULL;
	rd_kafka_resp_err_t e;
	const char *msg;
	char errstr[512];
	int rc = CLI_EXIT_OK;

	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
	rd_kafka_AdminOptions_set_request_timeout(opts, a->timeout_ms, errstr, sizeof(errstr));
	rd_kafka_AdminOptions_set_operation_timeout(opts, a->timeout_ms, errstr,
	    sizeof(errstr));
	q = rd_kafka_queue_new(rk);
	rd_kafka_DeleteTopics(rk, &dt, 1, opts, q);
	e = topics_admin_wait(q, a, 0, &ev, &msg);
	if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		cli_errorf("topics: delete %s: unknown topic", a->name);
		rc = CLI_EXIT_ABSENT;
	} else if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_errorf("topics: delete %s: %s", a->name,
		    msg != NULL && *msg != '\0' ? msg : rd_kafka_err2str(e));
		rc = CLI_EXIT_RUNTIME;
	}
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_AdminOptions_destroy(opts);
	rd_kafka_DeleteTopic_destroy(dt);
	return rc;
}

/* Broker ids as "1,2,3" ("-" for none) in 'buf', truncated to fit. */
static const char *
ids_str(char *buf, size_t cap, const int32_t *ids, int n)
{
	size_t len = 0;
	int i, w;

	buf[0] = '\0';
	for (i = 0; i < n && len < cap; i++) {
		w = snprintf(buf + len, cap - len, "%s%d", i > 0 ? "," : "", (int)ids[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return n > 0 ? buf : "-";
}

static int
topics_describe(rd_kafka_t *rk, const struct topics_args *a)
{
	const struct rd_kafka_metadata *md;
	const struct rd_kafka_metadata_topic *t = NULL;
	rd_kafka_resp_err_t e;
	int64_t lo, hi;
	char rbuf[128], ibuf[128];
	int i, rc = CLI_EXIT_OK;

	/* All topics, not a topic handle: that could auto-create the topic. */
	e = rd_kafka_metadata(rk, 1, NULL, &md, a->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_errorf("topics: describe %s: %s (bootstrap %s)", a->name,
		    rd_kafka_err2str(e), a->bootstrap);
		return CLI_EXIT_RUNTIME;
	}
	for (i = 0; i < md->topic_cnt && t == NULL; i++)
		if (strcmp(md->topics[i].topic, a->name) == 0)
			t = &md->topics[i];
	if (t == NULL || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		cli_errorf("topics: describe %s: unknown topic", a->name);
		rc = CLI_EXIT_ABSENT;
		goto out;
	}
	if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_errorf("topics: describe %s: %s", a->name, rd_kafka_err2str(t->err));
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	printf("topic %s partitions %d\n", t->topic, t->partition_cnt);
	printf("%-9s %-6s %-9s %-9s %12s %12s\n", "partition", "leader", "replicas",
	    "isr", "low", "high");
	for (i = 0; i < t->partition_cnt; i++) {
		const struct rd_kafka_metadata_partition *p = &t->partitions[i];

		printf("%-9d %-6d %-9s %-9s", (int)p->id, (int)p->leader,
		    ids_str(rbuf, sizeof(rbuf), p->replicas, p->replica_cnt),
		    ids_str(ibuf, sizeof(ibuf), p->isrs, p->isr_cnt));
		e = rd_kafka_query_watermark_offsets(rk, t->topic, p->id, &lo, &hi,
		    a->timeout_ms);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			printf(" %12s %12s\n", "?", "?");
			cli_errorf("topics: describe %s: partition %d watermarks: %s",
			    a->name, (int)p->id, rd_kafka_err2str(e));
			rc = CLI_EXIT_RUNTIME;
		} else {
			printf(" %12lld %12lld\n", (long long)lo, (long long)hi);
		}
	}
	if (fflush(stdout) != 0)
		rc = CLI_EXIT_RUNTIME;
out:
	rd_kafka_metadata_destroy(md);
	return rc;
}

int
cli_topics(int argc, char **argv)
{
	struct topics_args a;
	rd_kafka_t *rk;
	int rc;

	rc = topics_parse(argc, argv, &a);
	if (rc != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	rk = topics_client(&a);
	if (rk == NULL)
		return CLI_EXIT_RUNTIME;
	if (strcmp(a.cmd, "list") == 0)
		rc = topics_list(rk, &a);
	else if (strcmp(a.cmd, "create") == 0)
		rc = topics_create(rk, &a);
	else if (strcmp(a.cmd, "describe") == 0)
		rc = topics_describe(rk, &a);
	else
		rc = topics_delete(rk, &a);
	rd_kafka_destroy(rk);
	return rc;
}
