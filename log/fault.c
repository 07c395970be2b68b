/*
 * log/fault.c: fault injection for the log's system calls.
 *
 * Every write, pwrite, fdatasync, fsync and rename of log/ goes through the
 * wrappers here so that tests can make the Nth call fail with an errno, as
 * SQLite's test VFS does.  A failing write first writes half of its bytes,
 * as a full disk does, so the callers' truncate-back path is exercised.
 * This is not a general I/O layer: it adds nothing when no fault is armed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "log/lg_int.h"

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static int fault_nth[LG_FAULT_OP_COUNT];	/* calls left before failing; 0 off */
static int fault_errno[LG_FAULT_OP_COUNT];
static _Atomic int fault_armed;			/* any fault_nth != 0 */
static lg_crash_hook_fn crash_hook;
static void *crash_arg;

void
lg_fault_arm(enum lg_fault_op op, int nth, int errnum)
{
	int i, any = 0;

	pthread_mutex_lock(&fault_mu);
	fault_nth[op] = nth > 0 ? nth : 0;
	fault_errno[op] = errnum;
	for (i = 0; i < LG_FAULT_OP_COUNT; i++)
		any |= fault_nth[i] != 0;
	fault_armed = any;
	pthread_mutex_unlock(&fault_mu);
}

void
lg_fault_reset(void)
{
	int i;

	pthread_mutex_lock(&fault_mu);
	for (i = 0; i < LG_FAULT_OP_COUNT; i++)
		fault_nth[i] = fault_errno[i] = 0;
	fault_armed = 0;
	crash_hook = NULL;
	crash_arg = NULL;
	pthread_mutex_unlock(&fault_mu);
}

void
lg_fault_set_crash_hook(lg_crash_hook_fn fn, void *arg)
{
	pthread_mutex_lock(&fault_mu);
	crash_hook = fn;
	crash_arg = arg;
	pthread_mutex_unlock(&fault_mu);
}

void
lg_fault_crash_point(const char *point)
{
	lg_crash_hook_fn fn;
	void *arg;

	pthread_mutex_lock(&fault_mu);
	fn = crash_hook;
	arg = crash_arg;
	pthread_mutex_unlock(&fault_mu);
	if (fn != NULL)
		fn(point, arg);
}

/* The errno to fail this call of 'op' with, or 0 to let it run. */
static int
fault_take(enum lg_fault_op op)
{
	int e = 0, i, any = 0;

	if (!fault_armed)
		return 0;
	pthread_mutex_lock(&fault_mu);
	if (fault_nth[op] > 0 && --fault_nth[op] == 0) {
		e = fault_errno[op];
		for (i = 0; i < LG_FAULT_OP_COUNT; i++)
			any |= fault_nth[i] != 0;
		fault_armed = any;
	}
	pthread_mutex_unlock(&fault_mu);
	return e;
}

ssize_t
lg_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	size_t done = 0, want = n;
	ssize_t r;
	int e = fault_take(LG_FAULT_WRITE);

	if (e != 0)
		want = n / 2;
	while (done < want) {
		r = write(fd, c + done, want - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)r;
	}
	if (e != 0) {
		errno = e;
		return -1;
	}
	return (ssize_t)n;
}

ssize_t
lg_pwrite(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;
	size_t done = 0, want = n;
	ssize_t r;
	int e = fault_take(LG_FAULT_WRITE);

	if (e != 0)
		want = n / 2;
	while (done < want) {
		r = pwrite(fd, c + done, want - done, off + (off_t)done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)r;
	}
	if (e != 0) {
		errno = e;
		return -1;
	}
	return (ssize_t)n;
}

int
lg_fdatasync(int fd)
{
	int e = fault_take(LG_FAULT_SYNC);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return fdatasync(fd);
}

int
lg_fsync(int fd)
{
	int e = fault_take(LG_FAULT_SYNC);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return fsync(fd);
}

int
lg_rename(const char *from, const char *to)
{
	int e = fault_take(LG_FAULT_RENAME);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return rename(from, to);
}
