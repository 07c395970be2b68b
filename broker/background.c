/*
 * broker/background.c: retention and compaction without stalling requests.
 *
 * Compaction (lg_partition_compact) is built to run beside the partition's
 * owner, so one background thread runs it every compaction_check_ms over
 * the partitions of compacted topics, holding 'bg_lock' while it walks the
 * topic list and while it compacts one partition (invariant (4) of
 * brk_int.h: create and delete take the same lock, so they wait for at most
 * the compaction of one partition).
 * Retention (lg_partition_retain) is not thread-safe against the owner but
 * is cheap (it unlinks whole segments), so it runs on the loop thread from
 * a timer every retention_check_ms, over topics with cleanup.policy=delete
 * only: the two never touch the same partition, since a topic's policy is
 * fixed when it is created.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/brk_int.h"

struct compact_item {
	char *topic;
	int32_t partition;
};

/*
 * One pass over the partitions of compacted topics.  Called with bg_lock
 * held; it lists them first, then takes the lock back for one partition at
 * a time, looking it up again since the topic may have been deleted
 * meanwhile, so topic creation and deletion wait for at most one partition.
 */
static void
compact_all(struct brk_broker *b)
{
	struct compact_item *items = NULL;
	struct brk_topic *t;
	size_t n = 0, cap = 0, k;
	int32_t i;

	for (t = b->topics; t != NULL; t = t->next) {
		if (!t->conf.opts.compact)
			continue;
		for (i = 0; i < t->conf.partitions; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				items = sl_realloc(items, cap * sizeof(*items));
			}
			items[n].topic = sl_strdup(t->name);
			items[n].partition = i;
			n++;
		}
	}
	for (k = 0; k < n; k++) {
		struct brk_part *p;

		pthread_mutex_unlock(&b->bg_lock);
		sched_yield();	/* let a waiting topic create or delete in */
		pthread_mutex_lock(&b->bg_lock);
		p = b->bg_stop ? NULL : brk_part_find(b, items[k].topic,
		    strlen(items[k].topic), items[k].partition);
		if (p != NULL) {
			struct sl_err err = { 0 };
			int64_t cleaned = 0;
			int rc = lg_partition_compact(p->lg, sl_now_ms(), &cleaned, &err);

			__atomic_fetch_add(&b->bg_compactions, 1, __ATOMIC_RELAXED);
			if (rc != 0) {
				__atomic_fetch_add(&b->bg_compact_errors, 1, __ATOMIC_RELAXED);
				sl_error("broker: compact %s-%d: %s", items[k].topic,
				    (int)items[k].partition, sl_err_msg(&err, rc));
			} else {
				__atomic_fetch_add(&b->bg_cleaned_bytes, cleaned, __ATOMIC_RELAXED);
				if (cleaned > 0)
					sl_info("broker: compacted %s-%d: %lld bytes removed",
					    items[k].topic, (int)items[k].partition,
					    (long long)cleaned);
			}
		}
		free(items[k].topic);
	}
	free(items);
}

static void *
bg_main(void *arg)
{
	struct brk_broker *b = arg;
	struct timespec ts;

	pthread_mutex_lock(&b->bg_lock);
	while (!b->bg_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += b->cfg.compaction_check_ms / 1000;
		ts.tv_nsec += (b->cfg.compaction_check_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&b->bg_cond, &b->bg_lock, &ts) == ETIMEDOUT &&
		    !b->bg_stop)
			compact_all(b);
	}
	pthread_mutex_unlock(&b->bg_lock);
	return NULL;
}

int
brk_bg_start(struct brk_broker *b, struct sl_err *err)
{
	int rc;

	b->bg_stop = 0;
	if ((rc = pthread_create(&b->bg_thread, NULL, bg_main, b)) != 0)
		return sl_errf(err, -rc, "pthread_create: %s", sl_strerror(-rc));
	b->bg_running = 1;
	return 0;
}

void
brk_bg_stop(struct brk_broker *b)
{
	if (!b->bg_running)
		return;
	pthread_mutex_lock(&b->bg_lock);
	b->bg_stop = 1;
	pthread_cond_signal(&b->bg_cond);
	pthread_mutex_unlock(&b->bg_lock);
	pthread_join(b->bg_thread, NULL);
	b->bg_running = 0;
}

void
brk_retention_run(struct brk_broker *b)
{
	struct brk_topic *t;
	int32_t i;

	for (t = b->topics; t != NULL; t = t->next) {
		if (t->conf.opts.compact)
			continue;	/* the compaction thread's */
		for (i = 0; i < t->conf.partitions; i++) {
			struct sl_err err = { 0 };
			int deleted = 0;
			int rc = lg_partition_retain(t->parts[i].lg, sl_now_ms(), &deleted, &err);

			if (rc != 0)
				sl_error("broker: retention %s-%d: %s", t->name, (int)i,
				    sl_err_msg(&err, rc));
			else if (deleted > 0) {
				b->retention_segments += (uint64_t)deleted;
				sl_info("broker: retention removed %d segment(s) of %s-%d",
				    deleted, t->name, (int)i);
			}
		}
	}
}
