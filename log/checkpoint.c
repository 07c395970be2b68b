/*
 * log/checkpoint.c: the small checkpoint files of a partition folder.
 *
 * Three files share one layout: "recovery-point" (every batch below it was
 * fdatasync'ed: recovery rescans only past it), "log-start-offset" (the
 * first readable offset, raised by retention and DeleteRecords) and the
 * clean-shutdown marker "clean-shutdown" (written by lg_partition_close,
 * removed by lg_partition_open; its value is the log end at close).
 *
 * CHECKPOINT FILE, big-endian, 20 bytes
 *   OFFSET SIZE DESCRIPTION
 *        0    4 magic: "SLRP" recovery point, "SLLS" log start, "SLCS" marker
 *        4    4 version = 1
 *        8    8 value: an offset
 *       16    4 crc32c of bytes 0..15
 *
 * Files are replaced crash-safely: written to "<name>.tmp", fsynced,
 * renamed over "<name>" and the folder fsynced, all through the fault
 * wrappers so tests can fail any step.  Not for segment data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/lg_int.h"

#define CKPT_SIZE 20
#define CKPT_VERSION 1

static const char *
ckpt_magic(const char *name)
{
	if (strcmp(name, LG_RECOVERY_FILE) == 0)
		return "SLRP";
	if (strcmp(name, LG_LOG_START_FILE) == 0)
		return "SLLS";
	return "SLCS";
}

int
lg_dir_fsync(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (lg_fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* fsync the folder holding 'path'. */
static int
ckpt_parent_fsync(const char *path)
{
	char *dir = sl_strdup(path), *slash = strrchr(dir, '/');
	int rc;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	rc = lg_dir_fsync(dir);
	free(dir);
	return rc;
}

/*
 * Replace 'path' with 'len' bytes at 'p' crash-safely through the fault
 * wrappers.  Returns 0 or -errno (the tmp file is removed on failure).
 */
int
lg_write_atomic(const char *path, const void *p, size_t len)
{
	char *tmp = sl_asprintf("%s.tmp", path);
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (lg_write(fd, p, len) < 0 || lg_fsync(fd) != 0) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (lg_rename(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
		goto out;
	}
	rc = ckpt_parent_fsync(path);
out:
	free(tmp);
	return rc;
}

int
lg_checkpoint_write(const char *dir, const char *name, int64_t value,
    struct sl_err *err)
{
	uint8_t b[CKPT_SIZE];
	char *path = sl_asprintf("%s/%s", dir, name);
	int rc;

	memcpy(b, ckpt_magic(name), 4);
	sl_put_be32(b + 4, CKPT_VERSION);
	sl_put_be64(b + 8, (uint64_t)value);
	sl_put_be32(b + 16, sl_crc32c(0, b, 16));
	rc = lg_write_atomic(path, b, sizeof(b));
	if (rc != 0)
		sl_errf(err, rc, "%s: cannot write checkpoint: %s", path,
		    sl_strerror(rc));
	free(path);
	return rc;
}

int
lg_checkpoint_read(const char *dir, const char *name, int64_t *value,
    struct sl_err *err)
{
	uint8_t b[CKPT_SIZE + 1];
	char *path = sl_asprintf("%s/%s", dir, name);
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? SL_ENOTFOUND : -errno;
		if (rc != SL_ENOTFOUND)
			sl_errf(err, rc, "%s: %s", path, sl_strerror(rc));
		goto out;
	}
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 0) {
		rc = sl_errf(err, -errno, "%s: read: %s", path, strerror(errno));
		goto out;
	}
	if (n != CKPT_SIZE) {
		rc = SL_CORRUPT(err, "%s: size %zd, expected %d", path, n, CKPT_SIZE);
		goto out;
	}
	if (memcmp(b, ckpt_magic(name), 4) != 0 ||
	    sl_get_be32(b + 4) != CKPT_VERSION) {
		rc = SL_CORRUPT(err, "%s: bad magic or version at position 0", path);
		goto out;
	}
	if (sl_get_be32(b + 16) != sl_crc32c(0, b, 16)) {
		rc = SL_CORRUPT(err, "%s: crc mismatch at position 16", path);
		goto out;
	}
	*value = (int64_t)sl_get_be64(b + 8);
	if (*value < 0)
		rc = SL_CORRUPT(err, "%s: negative offset at position 8", path);
out:
	free(path);
	return rc;
}
