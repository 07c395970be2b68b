/*
 * bench/log_append.c: append throughput with group commit against dd, and
 * reopen time after SIGKILL.
 *
 *   log_append [--dir DIR] [--mb N] [--reopen-mb N] [--sync-kb N]
 *              [--ckpt-ms N]
 *
 * 1. Appends copies of one 16 KiB batch of 100-byte records (built with
 *    lg_batch_builder) until N MiB (1024) are written, calling
 *    lg_partition_sync every --sync-kb KiB (1024) and once at the end: first
 *    inline (the appender waits for each sync), then through a committer
 *    thread (the appender asks for a sync every --sync-kb KiB and goes on;
 *    requests arriving during a sync share the next one: group commit).
 *    Then times `dd if=/dev/zero bs=1M count=N conv=fdatasync` on the same
 *    filesystem.  The summary line reports the committer-thread figure; the
 *    inline one is printed above it.
 * 2. A child appends --reopen-mb MiB (2048) with the same periodic sync
 *    (which checkpoints the recovery point), tells the parent, and keeps
 *    appending until the parent kills it with SIGKILL; the parent times
 *    lg_partition_open of the killed partition.
 *
 * DIR defaults to a mkdtemp under /var/tmp and is removed at the end.  It
 * measures, it does not check: correctness lives in tests/check_lg.c.
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log/lg_int.h"

#define BATCH_TARGET (16 * 1024)
#define RECORD_VALUE 100

static void
die(const char *what, int rc, const struct sl_err *err)
{
	fprintf(stderr, "log_append: %s: %s\n", what, sl_err_msg(err, rc));
	exit(3);
}

/* One batch of 100-byte records, about 16 KiB. */
static void
build_batch(struct sl_buf *out)
{
	struct lg_batch_builder bb;
	uint8_t val[RECORD_VALUE];
	int64_t ts = sl_now_ms();
	int i = 0;

	memset(val, 'x', sizeof(val));
	lg_batch_builder_init(&bb, LG_CODEC_NONE, 0);
	while (LG_BATCH_HEADER_SIZE + bb.records.len + RECORD_VALUE + 16 <= BATCH_TARGET) {
		lg_batch_builder_add(&bb, i, ts, NULL, 0, val, sizeof(val), NULL, 0);
		i++;
	}
	if (lg_batch_builder_finish(&bb, -1, out) != 0)
		die("build batch", SL_EINVAL, NULL);
	lg_batch_builder_free(&bb);
}

/*
 * The committer thread of the pipelined mode: each request (one per
 * 'sync_every' bytes appended) is served by one lg_partition_sync covering
 * everything appended so far; requests arriving during a sync are merged
 * into the next one: group commit, as a broker acking acks=all does.
 */
struct committer {
	struct lg_partition *p;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t requested, served;	/* request counters */
	int stop;
	int64_t syncs;
};

static struct committer *pipe_c;	/* non-NULL in pipelined mode */

static void *
committer_main(void *arg)
{
	struct committer *c = arg;
	struct sl_err err = { 0 };
	int64_t want;
	int rc;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->requested == c->served && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->requested == c->served && c->stop)
			break;
		want = c->requested;
		pthread_mutex_unlock(&c->mu);
		if ((rc = lg_partition_sync(c->p, &err)) != 0)
			die("sync (committer)", rc, &err);
		pthread_mutex_lock(&c->mu);
		c->served = want;
		c->syncs++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void
request_sync(struct lg_partition *p)
{
	struct sl_err err = { 0 };
	int rc;

	if (pipe_c == NULL) {
		if ((rc = lg_partition_sync(p, &err)) != 0)
			die("sync", rc, &err);
		return;
	}
	pthread_mutex_lock(&pipe_c->mu);
	pipe_c->requested++;
	pthread_cond_signal(&pipe_c->cv);
	pthread_mutex_unlock(&pipe_c->mu);
}

/*
 * Append copies of 'batch' to 'p' until 'total' bytes, syncing every
 * 'sync_every' bytes (inline, or through the committer when pipelined).  If 'notify_fd' >= 0, write a byte to it once
 * 'total' is reached and go on forever.
 */
static void
append_loop(struct lg_partition *p, const struct sl_buf *batch, int64_t total,
    int64_t sync_every, int notify_fd)
{
	struct sl_err err = { 0 };
	uint8_t *work = sl_malloc(batch->len);
	int64_t done = 0, since = 0, base;
	int rc;

	for (;;) {
		memcpy(work, batch->p, batch->len);
		rc = lg_partition_append(p, work, batch->len, &base, &err);
		if (rc != 0)
			die("append", rc, &err);
		done += (int64_t)batch->len;
		since += (int64_t)batch->len;
		if (since >= sync_every) {
			request_sync(p);
			since = 0;
		}
		if (done >= total) {
			if (notify_fd < 0)
				break;
			if (write(notify_fd, "x", 1) != 1)
				_exit(3);
			close(notify_fd);
			notify_fd = -1;
			total = INT64_MAX;
		}
	}
	if ((rc = lg_partition_sync(p, &err)) != 0)
		die("sync", rc, &err);
	free(work);
}

static double
secs_since(int64_t t0)
{
	return (double)(sl_mono_ns() - t0) / 1e9;
}

/* Phase 1 in a fresh partition under 'dir'; returns MB/s (10^6 bytes). */
static double
run_appends(const char *dir, const struct lg_options *opts,
    const struct sl_buf *batch, int64_t total, int64_t sync_kb, int64_t ckpt_ms,
    int pipelined)
{
	struct committer c;
	struct lg_partition *p;
	struct sl_err err = { 0 };
	pthread_t th;
	char *sub = sl_asprintf("%s/append-%d", dir, pipelined);
	int64_t t0, bytes;
	double s;
	int rc;

	if ((rc = lg_partition_open(sub, opts, &p, &err)) != 0)
		die("open", rc, &err);
	lg_partition_set_checkpoint_interval_(p, ckpt_ms);
	memset(&c, 0, sizeof(c));
	t0 = sl_mono_ns();
	if (pipelined) {
		c.p = p;
		pthread_mutex_init(&c.mu, NULL);
		pthread_cond_init(&c.cv, NULL);
		if (pthread_create(&th, NULL, committer_main, &c) != 0)
			die("pthread_create", -EAGAIN, NULL);
		pipe_c = &c;
	}
	append_loop(p, batch, total, sync_kb << 10, -1);
	if (pipelined) {
		pthread_mutex_lock(&c.mu);
		c.stop = 1;
		pthread_cond_signal(&c.cv);
		pthread_mutex_unlock(&c.mu);
		pthread_join(th, NULL);
		pipe_c = NULL;
	}
	s = secs_since(t0);
	bytes = lg_partition_size(p);
	lg_partition_close(p);
	sl_rm_rf(sub);
	free(sub);
	printf("  log (%s sync every %" PRId64 " KiB): %" PRId64 " bytes in %.2f s"
	    "%s\n", pipelined ? "committer thread," : "inline", sync_kb, bytes, s,
	    pipelined ? "" : "");
	if (pipelined)
		printf("    %" PRId64 " group commits for %" PRId64 " requests\n",
		    c.syncs, c.requested);
	return (double)bytes / 1e6 / s;
}

int
main(int argc, char **argv)
{
	struct lg_options opts;
	struct lg_partition *p;
	struct sl_err err = { 0 };
	struct sl_buf batch = { 0 };
	char tmpl[] = "/var/tmp/sluice-bench.XXXXXX", *dir = NULL, *sub, *cmd;
	int64_t mb = 1024, reopen_mb = 2048, sync_kb = 1024, t0, total;
	int64_t ckpt_ms = LG_RECOVERY_INTERVAL_MS;
	double dd_s, log_mbs, pipe_mbs, dd_mbs, reopen_s;
	int i, rc, own_dir = 0, fds[2], status;
	pid_t pid;
	char c;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc)
			mb = atoll(argv[++i]);
		else if (strcmp(argv[i], "--reopen-mb") == 0 && i + 1 < argc)
			reopen_mb = atoll(argv[++i]);
		else if (strcmp(argv[i], "--sync-kb") == 0 && i + 1 < argc)
			sync_kb = atoll(argv[++i]);
		else if (strcmp(argv[i], "--ckpt-ms") == 0 && i + 1 < argc)
			ckpt_ms = atoll(argv[++i]);
		else {
			fprintf(stderr, "usage: log_append [--dir DIR] [--mb N] "
			    "[--reopen-mb N] [--sync-kb N] [--ckpt-ms N]\n");
			return 2;
		}
	}
	if (mb <= 0 || reopen_mb <= 0 || sync_kb <= 0) {
		fprintf(stderr, "log_append: sizes must be positive\n");
		return 2;
	}
	if (dir == NULL) {
		if ((dir = mkdtemp(tmpl)) == NULL) {
			perror("log_append: mkdtemp");
			return 3;
		}
		own_dir = 1;
	}
	lg_options_default(&opts);
	build_batch(&batch);
	total = mb << 20;
	printf("log_append: dir %s, batch %zu bytes, %" PRId64 " MiB, sync every "
	    "%" PRId64 " KiB\n", dir, batch.len, mb, sync_kb);

	/* 1. Appends with group commit: inline, then through a committer. */
	log_mbs = run_appends(dir, &opts, &batch, total, sync_kb, ckpt_ms, 0);
	pipe_mbs = run_appends(dir, &opts, &batch, total, sync_kb, ckpt_ms, 1);

	cmd = sl_asprintf("dd if=/dev/zero of=%s/dd.bin bs=1M count=%" PRId64
	    " conv=fdatasync 2>/dev/null", dir, mb);
	t0 = sl_mono_ns();
	rc = system(cmd);
	dd_s = secs_since(t0);
	free(cmd);
	if (rc != 0) {
		fprintf(stderr, "log_append: dd failed\n");
		return 3;
	}
	cmd = sl_asprintf("%s/dd.bin", dir);
	unlink(cmd);
	free(cmd);
	dd_mbs = (double)(mb << 20) / 1e6 / dd_s;
	printf("  dd: %" PRId64 " bytes in %.2f s\n", mb << 20, dd_s);

	/* 2. Reopen after SIGKILL. */
	sub = sl_asprintf("%s/reopen-0", dir);
	if (pipe(fds) != 0) {
		perror("log_append: pipe");
		return 3;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("log_append: fork");
		return 3;
	}
	if (pid == 0) {
		close(fds[0]);
		if ((rc = lg_partition_open(sub, &opts, &p, &err)) != 0)
			die("open (child)", rc, &err);
		lg_partition_set_checkpoint_interval_(p, ckpt_ms);
		append_loop(p, &batch, reopen_mb << 20, sync_kb << 10, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		fprintf(stderr, "log_append: the child died\n");
		return 3;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(fds[0]);
	t0 = sl_mono_ns();
	if ((rc = lg_partition_open(sub, &opts, &p, &err)) != 0)
		die("reopen", rc, &err);
	reopen_s = secs_since(t0);
	printf("  reopen: %" PRId64 " bytes in %d segments, %" PRId64
	    " rescanned, %.3f s\n", lg_partition_size(p),
	    lg_partition_segment_count(p), lg_partition_rescanned_bytes_(p),
	    reopen_s);
	lg_partition_close(p);
	sl_rm_rf(sub);
	free(sub);
	if (own_dir)
		rmdir(dir);

	printf("  inline sync: %.1f MB/s (ratio %.2f); committer thread: %.1f "
	    "MB/s (ratio %.2f)\n", log_mbs, log_mbs / dd_mbs, pipe_mbs,
	    pipe_mbs / dd_mbs);
	printf("bench log_append: %.1f MB/s (dd: %.1f MB/s, ratio %.2f)\n",
	    pipe_mbs, dd_mbs, pipe_mbs / dd_mbs);
	printf("bench log_reopen: %.2f s (limit: 1.00 s, ratio %.2f)\n",
	    reopen_s, reopen_s / 1.0);
	sl_buf_free(&batch);
	return 0;
}
