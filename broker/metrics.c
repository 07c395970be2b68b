/*
 * broker/metrics.c: the broker's counters and latency histograms, and their
 * Prometheus text exposition (format 0.0.4) served at /metrics by http.c.
 *
 * Counters are plain integers touched by the loop thread only; the
 * compaction thread's figures are atomics.  Group lag comes
 * from broker/group.c through a callback giving each partition's end.
 */
#include <stdio.h>
#include <string.h>

#include "broker/brk_int.h"
#include "broker/group.h"

/* Upper bounds in seconds of the latency histogram buckets. */
static const double hist_bounds[BRK_HIST_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1.0, 5.0
};

static const char *const api_names[API_MAX_KEY + 1] = {
	[API_PRODUCE] = "Produce", [API_FETCH] = "Fetch",
	[API_LIST_OFFSETS] = "ListOffsets", [API_METADATA] = "Metadata",
	[API_OFFSET_COMMIT] = "OffsetCommit", [API_OFFSET_FETCH] = "OffsetFetch",
	[API_FIND_COORDINATOR] = "FindCoordinator", [API_JOIN_GROUP] = "JoinGroup",
	[API_HEARTBEAT] = "Heartbeat", [API_LEAVE_GROUP] = "LeaveGroup",
	[API_SYNC_GROUP] = "SyncGroup", [API_DESCRIBE_GROUPS] = "DescribeGroups",
	[API_LIST_GROUPS] = "ListGroups", [API_SASL_HANDSHAKE] = "SaslHandshake",
	[API_API_VERSIONS] = "ApiVersions", [API_CREATE_TOPICS] = "CreateTopics",
	[API_DELETE_TOPICS] = "DeleteTopics", [API_DELETE_RECORDS] = "DeleteRecords",
	[API_INIT_PRODUCER_ID] = "InitProducerId",
	[API_OFFSET_FOR_LEADER_EPOCH] = "OffsetForLeaderEpoch",
	[API_DESCRIBE_CONFIGS] = "DescribeConfigs",
};

void
brk_hist_observe(struct brk_hist *h, double seconds)
{
	int i;

	for (i = 0; i < BRK_HIST_BUCKETS && seconds > hist_bounds[i]; i++)
		;
	h->counts[i]++;
	h->sum_s += seconds;
	h->n++;
}

static void
hist_format(struct sl_buf *out, const char *name, const char *help,
    const struct brk_hist *h)
{
	uint64_t cum = 0;
	int i;

	sl_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < BRK_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		sl_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, hist_bounds[i],
		    (unsigned long long)cum);
	}
	cum += h->counts[BRK_HIST_BUCKETS];
	sl_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	sl_buf_printf(out, "%s_sum %.6f\n%s_count %llu\n", name, h->sum_s, name,
	    (unsigned long long)h->n);
}

static void
counter(struct sl_buf *out, const char *name, const char *help, uint64_t v)
{
	sl_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
	    name, name, (unsigned long long)v);
}

static int64_t
end_offset_cb(void *arg, const char *topic, int32_t partition)
{
	struct brk_part *p = brk_part_find(arg, topic, strlen(topic), partition);

	return p != NULL ? lg_partition_synced_end(p->lg) : -1;
}

void
brk_metrics_format(struct brk_broker *b, struct sl_buf *out)
{
	const struct brk_metrics *m = &b->m;
	const struct brk_topic *t;
	uint64_t compactions, compact_errors;
	int64_t cleaned;
	int i;

	sl_buf_printf(out, "# HELP sluice_broker_requests_total Requests by API.\n"
	    "# TYPE sluice_broker_requests_total counter\n");
	for (i = 0; i <= API_MAX_KEY; i++)
		if (m->requests[i] > 0)
			sl_buf_printf(out, "sluice_broker_requests_total{api=\"%s\"} %llu\n",
			    api_names[i] != NULL ? api_names[i] : "other",
			    (unsigned long long)m->requests[i]);
	sl_buf_printf(out, "# HELP sluice_broker_errors_total Error responses or "
	    "partitions in error, by API.\n# TYPE sluice_broker_errors_total counter\n");
	for (i = 0; i <= API_MAX_KEY; i++)
		if (m->errors[i] > 0)
			sl_buf_printf(out, "sluice_broker_errors_total{api=\"%s\"} %llu\n",
			    api_names[i] != NULL ? api_names[i] : "other",
			    (unsigned long long)m->errors[i]);
	counter(out, "sluice_broker_bytes_in_total", "Request bytes read.", m->bytes_in);
	counter(out, "sluice_broker_bytes_out_total", "Response bytes queued.", m->bytes_out);
	counter(out, "sluice_broker_produced_batches_total", "Batches appended.",
	    m->produced_batches);
	counter(out, "sluice_broker_produced_bytes_total", "Batch bytes appended.",
	    m->produced_bytes);
	counter(out, "sluice_broker_fetched_bytes_total", "Record bytes served.",
	    m->fetched_bytes);
	counter(out, "sluice_broker_syncs_total", "Partition syncs (group commits).",
	    m->syncs);
	counter(out, "sluice_broker_commit_rounds_total",
	    "Group commit rounds (each syncs every partition appended since the last).",
	    m->commit_rounds);
	counter(out, "sluice_broker_commit_delays_total",
	    "Rounds started commit_delay_us after the one before, under load.",
	    m->commit_delays);
	counter(out, "sluice_broker_connections_total", "Connections accepted.",
	    m->connections_total);
	counter(out, "sluice_broker_connections_rejected_total",
	    "Connections refused past max_connections.", m->connections_rejected);
	counter(out, "sluice_broker_bad_frames_total",
	    "Connections closed for a malformed frame.", m->bad_frames);
	counter(out, "sluice_broker_retention_segments_deleted_total",
	    "Segments removed by retention.", b->retention_segments);
	/* Atomics, not bg_lock: a long compaction must not stall /metrics. */
	compactions = __atomic_load_n(&b->bg_compactions, __ATOMIC_RELAXED);
	compact_errors = __atomic_load_n(&b->bg_compact_errors, __ATOMIC_RELAXED);
	cleaned = __atomic_load_n(&b->bg_cleaned_bytes, __ATOMIC_RELAXED);
	counter(out, "sluice_broker_compactions_total", "Partition compactions run.",
	    compactions);
	counter(out, "sluice_broker_compaction_errors_total", "Compactions that failed.",
	    compact_errors);
	counter(out, "sluice_broker_compacted_bytes_total", "Bytes removed by compaction.",
	    (uint64_t)cleaned);
	sl_buf_printf(out, "# HELP sluice_broker_connections Open connections.\n"
	    "# TYPE sluice_broker_connections gauge\nsluice_broker_connections %lld\n",
	    (long long)b->n_conns);
	hist_format(out, "sluice_broker_produce_latency_seconds",
	    "Produce request to response queued (acks=all includes the sync).",
	    &m->produce_latency);
	hist_format(out, "sluice_broker_fetch_latency_seconds",
	    "Fetch request to response queued (includes the long poll).",
	    &m->fetch_latency);
	sl_buf_printf(out, "# HELP sluice_partition_end_offset Durable end (high watermark).\n"
	    "# TYPE sluice_partition_end_offset gauge\n");
	for (t = b->topics; t != NULL; t = t->next)
		for (i = 0; i < t->conf.partitions; i++)
			sl_buf_printf(out, "sluice_partition_end_offset{topic=\"%s\",partition=\"%d\"} %lld\n",
			    t->name, i, (long long)lg_partition_synced_end(t->parts[i].lg));
	sl_buf_printf(out, "# HELP sluice_partition_start_offset Log start offset.\n"
	    "# TYPE sluice_partition_start_offset gauge\n");
	for (t = b->topics; t != NULL; t = t->next)
		for (i = 0; i < t->conf.partitions; i++)
			sl_buf_printf(out, "sluice_partition_start_offset{topic=\"%s\",partition=\"%d\"} %lld\n",
			    t->name, i, (long long)lg_partition_start(t->parts[i].lg));
	sl_buf_printf(out, "# HELP sluice_partition_size_bytes Bytes in segment files.\n"
	    "# TYPE sluice_partition_size_bytes gauge\n");
	for (t = b->topics; t != NULL; t = t->next)
		for (i = 0; i < t->conf.partitions; i++)
			sl_buf_printf(out, "sluice_partition_size_bytes{topic=\"%s\",partition=\"%d\"} %lld\n",
			    t->name, i, (long long)lg_partition_size(t->parts[i].lg));
	if (b->groups != NULL)
		brk_groups_metrics(b->groups, out, end_offset_cb, b);
}
