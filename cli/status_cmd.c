/*
 * cli/status_cmd.c: `sluice status -c FILE`, one line per component of
 * the file, as the components themselves would be seen from outside:
 *
 *   broker  the [broker] listen address, through the Kafka protocol
 *           (metadata: topics and partitions)
 *   source  each [source "NAME"]: its replication slot, read from the
 *           database over a plain connection (active means a capture is
 *           streaming from it), and how far the slot's confirmed position
 *           is behind the server's WAL
 *   view    each [view "NAME"]: the offsets stored in the view itself
 *           (materialize/view.h) against the topics' high watermarks, so
 *           the lag is what the view would still have to apply
 *
 * It changes nothing anywhere: no slot, topic or view is created.
 * Exit status 0 when every component is up and nothing is lost, 3 when
 * one is down or in trouble (each line says which and why), 2 for a usage
 * or configuration error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "capture/cap.h"
#include "cli/cli.h"
#include "common/sl.h"
#include "materialize/mat.h"
#include "materialize/view.h"

#define STATUS_USAGE "usage: sluice status -c FILE [--timeout MS]"

/* One Kafka handle per distinct bootstrap list, for metadata and watermarks. */
struct status_kafka {
	char *bootstrap;
	rd_kafka_t *rk;
	char err[512];			/* why rk is NULL */
};

struct status {
	struct status_kafka *ks;
	size_t n_ks;
	int timeout_ms;
	int trouble;			/* some component is down or in trouble */
};

static rd_kafka_t *
status_kafka(struct status *st, const char *bootstrap, const char **why)
{
	struct status_kafka *k;
	rd_kafka_conf_t *conf;
	size_t i;

	for (i = 0; i < st->n_ks; i++)
		if (strcmp(st->ks[i].bootstrap, bootstrap) == 0)
			goto found;
	st->ks = sl_realloc(st->ks, (st->n_ks + 1) * sizeof(*st->ks));
	k = &st->ks[st->n_ks++];
	memset(k, 0, sizeof(*k));
	k->bootstrap = sl_strdup(bootstrap);
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, k->err,
	    sizeof(k->err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "0", k->err, sizeof(k->err)) !=
	    RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
	} else {
		k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, k->err, sizeof(k->err));
		if (k->rk == NULL)
			rd_kafka_conf_destroy(conf);
	}
	i = st->n_ks - 1;
found:
	*why = st->ks[i].err;
	return st->ks[i].rk;
}

/* "1.2 MiB" for 'n' bytes, in 'buf'. */
static const char *
status_bytes(char *buf, size_t cap, uint64_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%" PRIu64 " B", n);
	else
		snprintf(buf, cap, "%.1f %s", v, unit[u]);
	return buf;
}

static void
status_broker(struct status *st, const struct sl_conf_section *brk)
{
	const char *listen = sl_conf_get(brk, "listen"), *why;
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e;
	rd_kafka_t *rk;
	int i, parts = 0, topics = 0;

	if (listen == NULL)
		listen = "127.0.0.1:9092";
	if ((rk = status_kafka(st, listen, &why)) == NULL) {
		printf("broker  %s: %s\n", listen, why);
		st->trouble = 1;
		return;
	}
	e = rd_kafka_metadata(rk, 1, NULL, &md, st->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		printf("broker  %s: down (%s)\n", listen, rd_kafka_err2str(e));
		st->trouble = 1;
		return;
	}
	for (i = 0; i < md->topic_cnt; i++) {
		if (md->topics[i].topic[0] == '_')	/* __consumer_offsets */
			continue;
		topics++;
		parts += md->topics[i].partition_cnt;
	}
	printf("broker  %s: up, %d topics, %d partitions\n", listen, topics, parts);
	rd_kafka_metadata_destroy(md);
}

static void
status_mysql(struct status *st, const struct sl_config *cfg,
    const struct sl_conf_section *sec, const char *bootstrap)
{
	const char *name = sec->name ? sec->name : "";
	struct cap_my_status ms;
	struct sl_err err = { 0 };
	const char *behind;
	char bb[32];
	int rc;

	if ((rc = cap_my_status(cfg, sec, bootstrap, &ms, &err)) != 0) {
		printf("source  %s: %s\n", name, sl_err_msg(&err, rc));
		st->trouble = 1;
		return;
	}
	if (!ms.stored) {
		printf("source  %s: no position stored in %s.offsets: capture has not run (or its "
		    "snapshot did not finish); the server is at %s:%" PRIu32 "\n", name,
		    ms.topic_prefix, ms.server_file, ms.server_pos);
		st->trouble = 1;
		return;
	}
	if (strcmp(ms.stored_file, ms.server_file) == 0) {
		behind = status_bytes(bb, sizeof(bb), ms.server_pos > ms.stored_pos ?
		    ms.server_pos - ms.stored_pos : 0);
	} else {
		const char *a = strrchr(ms.stored_file, '.'), *b = strrchr(ms.server_file, '.');
		unsigned long fa = a ? strtoul(a + 1, NULL, 10) : 0;
		unsigned long fb = b ? strtoul(b + 1, NULL, 10) : 0;

		snprintf(bb, sizeof(bb), "%lu binlog file%s", fb > fa ? fb - fa : 0,
		    fb - fa == 1 ? "" : "s");
		behind = bb;
	}
	printf("source  %s: binlog stored %s:%" PRIu32 "%s%s, %s behind the server (%s:%" PRIu32
	    ")\n", name, ms.stored_file, ms.stored_pos, ms.gtid[0] ? ", gtid " : "", ms.gtid, behind,
	    ms.server_file, ms.server_pos);
}

static void
status_source(struct status *st, const struct sl_config *cfg,
    const struct sl_conf_section *sec, const char *bootstrap)
{
	const char *name = sec->name ? sec->name : "", *type = sl_conf_get(sec, "type");
	struct cap_pg_status ps;
	struct sl_err err = { 0 };
	char lsn[2][32], bb[32];
	int rc;

	if (type != NULL && strcmp(type, "mysql") == 0) {
		status_mysql(st, cfg, sec, bootstrap);
		return;
	}
	if (type == NULL || strcmp(type, "postgres") != 0) {
		printf("source  %s: type %s is not supported (postgres or mysql)\n", name,
		    type ? type : "(unset)");
		st->trouble = 1;
		return;
	}
	if ((rc = cap_pg_status(cfg, sec, bootstrap, &ps, &err)) != 0) {
		printf("source  %s: %s\n", name, sl_err_msg(&err, rc));
		st->trouble = 1;
		return;
	}
	if (!ps.exists) {
		printf("source  %s: slot %s does not exist: capture has not run yet\n", name,
		    ps.slot);
		st->trouble = 1;
		return;
	}
	snprintf(lsn[0], sizeof(lsn[0]), "%X/%X", (unsigned)(ps.confirmed_flush >> 32),
	    (unsigned)ps.confirmed_flush);
	snprintf(lsn[1], sizeof(lsn[1]), "%X/%X", (unsigned)(ps.current_lsn >> 32),
	    (unsigned)ps.current_lsn);
	printf("source  %s: slot %s %s, confirmed %s, %s behind the server (%s)%s%s, plugin %s\n",
	    name, ps.slot, ps.active ? "active" : "inactive (no capture is streaming from it)",
	    lsn[0], status_bytes(bb, sizeof(bb), ps.current_lsn > ps.confirmed_flush ?
	    ps.current_lsn - ps.confirmed_flush : 0), lsn[1],
	    ps.wal_status[0] ? ", wal_status " : "", ps.wal_status, ps.plugin);
	if (strcmp(ps.plugin, ps.want_plugin) != 0) {
		printf("source  %s: the slot uses plugin %s and the source says %s: capture "
		    "will not start (docs/pg_sluice.md, Installing)\n", name, ps.plugin,
		    ps.want_plugin);
		st->trouble = 1;
	}
	if (!ps.active || strcmp(ps.wal_status, "lost") == 0)
		st->trouble = 1;
	if (strcmp(ps.wal_status, "lost") == 0)
		printf("source  %s: the slot lost WAL it still needed: see "
		    "docs/capture-postgres.md to re-snapshot\n", name);
}

/* The offsets a view stores, as mat_view_offsets() lists them. */
struct view_off {
	char *topic;
	int32_t partition;
	int64_t next;
};

struct view_offs {
	struct view_off *v;
	size_t n;
};

static int
view_off_note(const char *topic, int32_t partition, int64_t next, void *arg)
{
	struct view_offs *vo = arg;

	vo->v = sl_realloc(vo->v, (vo->n + 1) * sizeof(*vo->v));
	vo->v[vo->n].topic = sl_strdup(topic);
	vo->v[vo->n].partition = partition;
	vo->v[vo->n++].next = next;
	return 0;
}

/*
 * The view's lag over every partition of its topics: the high watermark
 * minus the stored next offset, or minus the low watermark for a partition
 * the view has applied nothing from yet.  0 with '*lag' and '*parts', or 1
 * with 'why' set when the broker does not answer.
 */
static int
view_lag(struct status *st, rd_kafka_t *rk, const struct mat_view_conf *vc,
    const struct view_offs *vo, int64_t *lag, int *parts, char *why, size_t why_size)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	size_t i, k;
	int t, j;

	*lag = 0;
	*parts = 0;
	e = rd_kafka_metadata(rk, 1, NULL, &md, st->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(why, why_size, "%s", rd_kafka_err2str(e));
		return 1;
	}
	for (i = 0; i < vc->n_topics; i++) {
		const struct rd_kafka_metadata_topic *mt = NULL;

		for (t = 0; t < md->topic_cnt && mt == NULL; t++)
			if (strcmp(md->topics[t].topic, vc->topics[i]) == 0)
				mt = &md->topics[t];
		if (mt == NULL)
			continue;	/* not created yet: nothing to apply */
		for (j = 0; j < mt->partition_cnt; j++) {
			int32_t part = mt->partitions[j].id;
			int64_t lo, hi, from;

			e = rd_kafka_query_watermark_offsets(rk, mt->topic, part, &lo, &hi,
			    st->timeout_ms);
			if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
				snprintf(why, why_size, "%s [%d]: %s", mt->topic, (int)part,
				    rd_kafka_err2str(e));
				rd_kafka_metadata_destroy(md);
				return 1;
			}
			from = lo;
			for (k = 0; k < vo->n; k++)
				if (vo->v[k].partition == part &&
				    strcmp(vo->v[k].topic, mt->topic) == 0 && vo->v[k].next > lo)
					from = vo->v[k].next;
			if (hi > from)
				*lag += hi - from;
			(*parts)++;
		}
	}
	rd_kafka_metadata_destroy(md);
	return 0;
}

static void
status_view(struct status *st, const struct sl_config *cfg,
    const struct sl_conf_section *sec, const char *bootstrap)
{
	const char *name = sec->name ? sec->name : "", *kwhy = "";
	struct mat_view_conf *vc = NULL;
	struct mat_view *v = NULL;
	struct mat_view_txn *t = NULL;
	struct mat_search *se = NULL;
	struct view_offs vo = { 0 };
	char *where = NULL;		/* the view's folder, or Redis and prefix */
	struct sl_err err = { 0 };
	rd_kafka_t *rk;
	char why[512];
	int64_t lag;
	size_t i;
	int rc, parts;

	if ((rc = mat_conf_load(cfg, sec, bootstrap, &vc, &err)) != 0) {
		printf("view    %s: %s\n", name, sl_err_msg(&err, rc));
		st->trouble = 1;
		return;
	}
	if (vc->redis) {
		/* a cache view: where it lives is the Redis server and key prefix */
		where = sl_asprintf("redis %s (key_prefix \"%s\")", vc->redis_addr,
		    vc->key_prefix);
	} else if ((rc = vc->fts ? mat_search_open(vc->path, &se, &err) :
	    mat_view_open(vc->path, &v, &err)) != 0) {
		printf("view    %s: %s: %s\n", name, vc->path, rc == SL_ENOTFOUND ?
		    "not built yet (materialize has not run)" : sl_err_msg(&err, rc));
		st->trouble = 1;
		goto out;
	}
	if (where == NULL)
		where = sl_strdup(vc->path);
	if (vc->redis)
		rc = mat_redis_offsets(vc, view_off_note, &vo, &err);
	else if (vc->fts)
		rc = mat_search_offsets(se, view_off_note, &vo, &err);
	else if ((rc = mat_view_begin(v, &t, &err)) == 0)
		rc = mat_view_offsets(t, view_off_note, &vo, &err);
	if (rc != 0) {
		printf("view    %s: %s: %s\n", name, where, sl_err_msg(&err, rc));
		st->trouble = 1;
		goto out;
	}
	if ((rk = status_kafka(st, vc->bootstrap, &kwhy)) == NULL) {
		snprintf(why, sizeof(why), "%s", kwhy);
		rc = 1;
	} else {
		rc = view_lag(st, rk, vc, &vo, &lag, &parts, why, sizeof(why));
	}
	if (rc != 0) {
		printf("view    %s: %s: offsets of %zu partitions stored; lag unknown, the "
		    "broker at %s did not answer: %s\n", name, where, vo.n, vc->bootstrap,
		    why);
		st->trouble = 1;
	} else {
		printf("view    %s: %s: %d partitions, %" PRId64 " messages behind\n", name,
		    where, parts, lag);
	}
out:
	for (i = 0; i < vo.n; i++)
		free(vo.v[i].topic);
	free(vo.v);
	mat_view_end(t);
	mat_view_close(v);
	mat_search_close(se);
	mat_conf_free(vc);
	free(where);
}

int
cli_status(int argc, char **argv)
{
	const char *path = NULL, *bootstrap = NULL;
	const struct sl_conf_section *brk;
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	struct status st = { .timeout_ms = 5000 };
	int64_t ms;
	size_t i;
	int rc, status;

	for (i = 1; i < (size_t)argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < (size_t)argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < (size_t)argc) {
			if (sl_parse_int64(argv[++i], &ms) != 0 || ms < 1 || ms > 600000) {
				cli_errorf("status: --timeout must be 1..600000 ms");
				return CLI_EXIT_USAGE;
			}
			st.timeout_ms = (int)ms;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("%s\n", STATUS_USAGE);
			return CLI_EXIT_OK;
		} else {
			cli_errorf("status: %s", STATUS_USAGE);
			return CLI_EXIT_USAGE;
		}
	}
	if (path == NULL) {
		cli_errorf("status: %s", STATUS_USAGE);
		return CLI_EXIT_USAGE;
	}
	if ((rc = sl_config_load(path, &cfg, &err)) != 0 ||
	    (rc = cli_config_check_sections(cfg, &err)) != 0) {
		cli_errorf("status: %s", sl_err_msg(&err, rc));
		sl_config_free(cfg);
		return rc == SL_ECONFIG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
	}
	brk = sl_config_section(cfg, "broker", NULL);
	if (brk != NULL) {
		bootstrap = sl_conf_get(brk, "listen");
		if (bootstrap == NULL)
			bootstrap = "127.0.0.1:9092";
		status_broker(&st, brk);
	}
	for (i = 0; i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i].type, "source") == 0)
			status_source(&st, cfg, &cfg->sections[i], bootstrap);
	for (i = 0; i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i].type, "view") == 0)
			status_view(&st, cfg, &cfg->sections[i], bootstrap);
	fflush(stdout);
	status = st.trouble ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
	for (i = 0; i < st.n_ks; i++) {
		if (st.ks[i].rk != NULL)
			rd_kafka_destroy(st.ks[i].rk);
		free(st.ks[i].bootstrap);
	}
	free(st.ks);
	sl_config_free(cfg);
	return status;
}
