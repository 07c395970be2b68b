/*
 * materialize/unsynced.c: the marker of a view written with sync = none.
 *
 * With sync = none (MDB_NOSYNC) a commit reaches the page cache only.  A
 * crash of the process loses nothing (the kernel still has every page), but
 * a crash of the system can leave data.mdb with a meta page that points at
 * pages never written, and LMDB cannot tell.  So while an environment may
 * hold unflushed commits its folder holds the file MAT_UNSYNCED_FILE, which
 * names the boot it was written in (/proc/sys/kernel/random/boot_id):
 *
 *   clean ──open with sync = none: marker written, fsync'ed, folder
 *           fsync'ed, before the first commit──► marked
 *   marked ──mdb_env_sync, then the marker removed and the folder
 *           fsync'ed (clean close, or an open with nometa|full)──► clean
 *   marked ──the process dies; the same boot goes on──► marked: safe, the
 *           page cache holds every commit
 *   marked ──the system goes down──► stale: the marker names another boot;
 *           readers refuse the view, `sluice materialize` rebuilds it
 *
 * When the boot id cannot be read, a marker is treated as stale: unsure is
 * rebuilt, never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "materialize/mat.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_MAX 64

/*
 * The boot id held in file 'path', trailing whitespace cut, in 'out' ("" if
 * unreadable).  Returns sl_file_read's result (-ENOENT: no such file).
 */
static int
read_id(const char *path, char out[BOOT_ID_MAX])
{
	struct sl_buf b = { 0 };
	size_t n = 0;
	int rc = sl_file_read(path, BOOT_ID_MAX - 1, &b);

	if (rc == 0) {
		n = b.len;
		while (n > 0 && (b.p[n - 1] == '\n' || b.p[n - 1] == ' '))
			n--;
		memcpy(out, b.p, n);
	}
	out[n] = '\0';
	sl_buf_free(&b);
	return rc;
}

static char *
marker_path(const char *dir)
{
	return sl_asprintf("%s/%s", dir, MAT_UNSYNCED_FILE);
}

int
mat_unsynced_check(const char *dir, const char *what, struct sl_err *err)
{
	char now[BOOT_ID_MAX], then[BOOT_ID_MAX];
	char *path = marker_path(dir);
	int rc;

	rc = read_id(path, then);
	free(path);
	if (rc == -ENOENT)
		return 0;
	(void)read_id(BOOT_ID_PATH, now);
	if (rc == 0 && now[0] != '\0' && strcmp(now, then) == 0)
		return 0;	/* the same boot: the page cache has every commit */
	return sl_errf(err, SL_ECORRUPT, "%s may be corrupt: it was written with "
	    "sync = none and the system restarted before it was flushed (%s/%s: "
	    "boot %s, now %s); `sluice materialize` rebuilds it from the log",
	    what, dir, MAT_UNSYNCED_FILE, then[0] ? then : "unknown",
	    now[0] ? now : "unknown");
}

int
mat_unsynced_marked(const char *dir)
{
	char *path = marker_path(dir);
	int rc = access(path, F_OK) == 0;

	free(path);
	return rc;
}

int
mat_unsynced_mark(const char *dir, struct sl_err *err)
{
	char id[BOOT_ID_MAX + 1];
	char *path = marker_path(dir);
	int rc;

	(void)read_id(BOOT_ID_PATH, id);
	strcat(id, "\n");
	rc = sl_file_write_atomic(path, id, strlen(id));
	if (rc != 0)
		sl_errf(err, rc, "%s: %s", path, sl_strerror(rc));
	free(path);
	return rc;
}

int
mat_unsynced_clear(const char *dir, struct sl_err *err)
{
	char *path = marker_path(dir);
	int rc = 0;

	if (unlink(path) != 0) {
		if (errno != ENOENT)
			rc = sl_errf(err, -errno, "%s: %s", path, strerror(errno));
	} else if ((rc = sl_dir_fsync(dir)) != 0) {
		sl_errf(err, rc, "fsync %s: %s", dir, sl_strerror(rc));
	}
	free(path);
	return rc;
}
