/*
 * common/file.c: small crash-safe file helpers (atomic replace, directory
 * fsync, mkdir -p, rm -rf).  The log module has its own write path with
 * fault injection; these serve checkpoints and configs elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sl.h"

int
sl_dir_fsync(const char *dir)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int
write_full(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 0) {
		ssize_t n = write(fd, b, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sl_file_write_atomic(const char *path, const void *p, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = write_full(fd, p, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	return sl_dir_fsync(dirname(dir));
}

int
sl_file_read(const char *path, size_t max, struct sl_buf *out)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = SL_ETOOBIG;
		goto out;
	}
	for (;;) {
		ssize_t n;

		sl_buf_reserve(out, 4096);
		n = read(fd, out->p + out->len, out->cap - out->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			rc = SL_ETOOBIG;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int
sl_mkdir_p(const char *path, int mode)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

int
sl_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : -errno;
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		char *child;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = sl_asprintf("%s/%s", path, e->d_name);
		if (rc == 0)
			rc = sl_rm_rf(child);
		free(child);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0)
		rc = -errno;
	return rc;
}

static int
dir_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sl_dir_list(const char *dir, int (*keep)(const char *name), char ***names, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t k = 0, cap = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (keep != NULL && !keep(de->d_name)))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			v = sl_realloc(v, cap * sizeof(*v));
		}
		v[k++] = sl_strdup(de->d_name);
	}
	closedir(d);
	if (k > 1)
		qsort(v, k, sizeof(*v), dir_cmp_names);
	*names = v;
	*n = k;
	return 0;
}

void
sl_dir_list_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
