/*
 * broker/background.c: retention and compaction without stalling requests.
 *
 * Compaction (lg_partition_compact) is built to run beside the partition's
 * owner, so one background thread runs it every compaction_check_ms over
 * the partitions of compacted topics, holding 'bg_lock' while it walks the
 * topic list (invariant (4) of brk_int.h: create and delete take the same
 * lock, so deleting a compacted topic waits for a compaction in progress).
 * Retention (lg_partition_retain) is not thread-safe against the owner but
 * is cheap (it unlinks whole segments), so it runs on the loop thread from
 * a timer every retention_check_ms, over topics with cleanup.policy=delete
 * only: the two never touch the same partition, since a topic's policy is
 * fixed when it is created.
 */
#include <errno.h>
#include <time.h>

#include "broker/brk_int.h"

static void
compact_all(struct brk_broker *b)
{
	struct brk_topic *t;
	int32_t i;

	/* Called with bg_lock held. */
	for (t = b->topics; t != NULL && !b->bg_stop; t = t->next) {
		if (!t->conf.opts.compact)
			continue;
		for (i = 0; i < t->conf.partitions && !b->bg_stop; i++) {
			struct sl_err err = { 0 };
			int64_t cleaned = 0;
			int rc = lg_partition_compact(t->parts[i].lg, sl_now_ms(),
			    &cleaned, &err);

			__atomic_fetch_add(&b->bg_compactions, 1, __ATOMIC_RELAXED);
			if (rc != 0) {
				__atomic_fetch_add(&b->bg_compact_errors, 1, __ATOMIC_RELAXED);
				sl_error("broker: compact %s-%d: %s", t->name, (int)i,
				    sl_err_msg(&err, rc));
			} else {
				__atomic_fetch_add(&b->bg_cleaned_bytes, cleaned, __ATOMIC_RELAXED);
				if (cleaned > 0)
					sl_info("broker: compacted %s-%d: %lld bytes removed",
					    t->name, (int)i, (long long)cleaned);
			}
		}
	}
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
