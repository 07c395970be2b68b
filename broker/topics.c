/*
 * broker/topics.c: the topic registry.
 *
 * A topic is a config file <data_dir>/topics/<name>.conf plus one partition
 * folder <data_dir>/<name>-<i> per partition.  The config file is the commit
 * point: it is written atomically after the folders exist on create, and
 * removed before the folders on delete, so a crash in between leaves at
 * worst orphan folders, which a later create of the same name removes.
 * Not here: the Kafka requests that create or describe topics (metadata.c).
 *
 * TOPIC CONFIG FILE, text, one "key=value" per line ('#' starts a comment)
 *   partitions=N                 number of partitions (fixed at creation)
 *   cleanup.policy=delete|compact
 *   retention.ms=N               -1: forever
 *   retention.bytes=N            -1: unlimited
 *   segment.bytes=N
 *   segment.ms=N
 *   max.message.bytes=N
 *   message.timestamp.type=CreateTime|LogAppendTime
 *   delete.retention.ms=N
 *   min.cleanable.dirty.ratio=F  0..1
 * Unknown keys are an error naming the file and line.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/brk_int.h"
#include "broker/group.h"

int
brk_topic_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > BRK_TOPIC_NAME_MAX)
		return 0;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	/* "__" names are internal (__consumer_offsets). */
	if (len >= 2 && name[0] == '_' && name[1] == '_')
		return 0;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

struct brk_topic *
brk_topic_find(struct brk_broker *b, const char *name, size_t len)
{
	struct brk_topic *t;

	for (t = b->topics; t != NULL; t = t->next)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

struct brk_part *
brk_part_find(struct brk_broker *b, const char *name, size_t len, int32_t partition)
{
	struct brk_topic *t = brk_topic_find(b, name, len);

	if (t == NULL || partition < 0 || partition >= t->conf.partitions)
		return NULL;
	return &t->parts[partition];
}

void
brk_topic_conf_default(const struct brk_broker *b, struct brk_topic_conf *tc)
{
	tc->partitions = b->cfg.default_partitions;
	tc->opts = b->cfg.log;
}

static int
parse_i64(const char *v, int64_t min, int64_t *out)
{
	int64_t n;

	if (sl_parse_int64(v, &n) != 0 || n < min)
		return SL_EINVAL;
	*out = n;
	return 0;
}

int
brk_topic_conf_set(struct brk_topic_conf *tc, const char *key, const char *value)
{
	struct lg_options *o = &tc->opts;
	int64_t n;

	if (value == NULL)
		return SL_EINVAL;
	if (strcmp(key, "partitions") == 0) {
		if (parse_i64(value, 1, &n) != 0 || n > BRK_PARTITIONS_MAX)
			return SL_EINVAL;
		tc->partitions = (int32_t)n;
	} else if (strcmp(key, "cleanup.policy") == 0) {
		if (strcmp(value, "compact") == 0)
			o->compact = 1;
		else if (strcmp(value, "delete") == 0)
			o->compact = 0;
		else
			return SL_EINVAL;
	} else if (strcmp(key, "retention.ms") == 0) {
		return parse_i64(value, -1, &o->retention_ms);
	} else if (strcmp(key, "retention.bytes") == 0) {
		return parse_i64(value, -1, &o->retention_bytes);
	} else if (strcmp(key, "segment.bytes") == 0) {
		return parse_i64(value, 1024, &o->segment_bytes);
	} else if (strcmp(key, "segment.ms") == 0) {
		return parse_i64(value, 1, &o->segment_ms);
	} else if (strcmp(key, "max.message.bytes") == 0) {
		if (parse_i64(value, 0, &n) != 0 || n > INT32_MAX)
			return SL_EINVAL;
		o->max_message_bytes = n;
	} else if (strcmp(key, "delete.retention.ms") == 0) {
		return parse_i64(value, 0, &o->delete_retention_ms);
	} else if (strcmp(key, "message.timestamp.type") == 0) {
		if (strcmp(value, "LogAppendTime") == 0)
			o->log_append_time = 1;
		else if (strcmp(value, "CreateTime") == 0)
			o->log_append_time = 0;
		else
			return SL_EINVAL;
	} else if (strcmp(key, "min.cleanable.dirty.ratio") == 0) {
		char *end;
		double d;

		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !(d >= 0 && d <= 1))
			return SL_EINVAL;
		o->min_cleanable_dirty_ratio_pct = (int64_t)(d * 100 + 0.5);
	} else {
		return SL_ENOTFOUND;
	}
	return 0;
}

void
brk_topic_conf_format(const struct brk_topic_conf *tc, struct sl_buf *out)
{
	const struct lg_options *o = &tc->opts;

	sl_buf_printf(out, "# sluice topic config (written by the broker)\n");
	sl_buf_printf(out, "partitions=%d\n", (int)tc->partitions);
	sl_buf_printf(out, "cleanup.policy=%s\n", o->compact ? "compact" : "delete");
	sl_buf_printf(out, "retention.ms=%lld\n", (long long)o->retention_ms);
	sl_buf_printf(out, "retention.bytes=%lld\n", (long long)o->retention_bytes);
	sl_buf_printf(out, "segment.bytes=%lld\n", (long long)o->segment_bytes);
	sl_buf_printf(out, "segment.ms=%lld\n", (long long)o->segment_ms);
	sl_buf_printf(out, "max.message.bytes=%lld\n", (long long)o->max_message_bytes);
	sl_buf_printf(out, "message.timestamp.type=%s\n",
	    o->log_append_time ? "LogAppendTime" : "CreateTime");
	sl_buf_printf(out, "delete.retention.ms=%lld\n", (long long)o->delete_retention_ms);
	sl_buf_printf(out, "min.cleanable.dirty.ratio=%.2f\n",
	    (double)o->min_cleanable_dirty_ratio_pct / 100.0);
}

int
brk_topic_conf_parse(struct brk_topic_conf *tc, const char *path,
    struct sl_slice text, struct sl_err *err)
{
	const char *p = (const char *)text.p, *end = p + text.len;
	int line = 0, rc, have_parts = 0;
	char buf[512];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);
		char *eq;

		line++;
		if (n >= sizeof(buf))
			return SL_CORRUPT(err, "%s:%d: line too long", path, line);
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (nl != NULL);
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (n == 0 || buf[0] == '#')
			continue;
		if ((eq = strchr(buf, '=')) == NULL)
			return SL_CORRUPT(err, "%s:%d: expected key=value", path, line);
		*eq = '\0';
		rc = brk_topic_conf_set(tc, buf, eq + 1);
		if (rc == SL_ENOTFOUND)
			return SL_CORRUPT(err, "%s:%d: unknown key %s", path, line, buf);
		if (rc != 0)
			return SL_CORRUPT(err, "%s:%d: bad value for %s", path, line, buf);
		if (strcmp(buf, "partitions") == 0)
			have_parts = 1;
	}
	if (!have_parts)
		return SL_CORRUPT(err, "%s: no partitions line", path);
	return 0;
}

static char *
topic_conf_path(const struct brk_broker *b, const char *name)
{
	return sl_asprintf("%s/topics/%s.conf", b->cfg.data_dir, name);
}

static char *
part_dir(const struct brk_broker *b, const char *name, int32_t i)
{
	return sl_asprintf("%s/%s-%d", b->cfg.data_dir, name, (int)i);
}

/* Close the partitions of 't' and free it; first close error. */
static int
topic_free(struct brk_topic *t)
{
	int32_t i;
	int rc = 0, r;

	if (t == NULL)
		return 0;
	for (i = 0; t->parts != NULL && i < t->conf.partitions; i++) {
		r = lg_partition_close(t->parts[i].lg);
		if (r != 0 && rc == 0)
			rc = r;
	}
	free(t->parts);
	free(t->name);
	free(t);
	return rc;
}

/* Open the partitions of a topic whose config is 'tc'. */
static int
topic_open(struct brk_broker *b, const char *name, const struct brk_topic_conf *tc,
    struct brk_topic **out, struct sl_err *err)
{
	struct brk_topic *t = sl_calloc(1, sizeof(*t));
	int32_t i;
	int rc = 0;

	t->name = sl_strdup(name);
	t->conf = *tc;
	t->parts = sl_calloc((size_t)tc->partitions, sizeof(*t->parts));
	for (i = 0; i < tc->partitions; i++) {
		char *dir = part_dir(b, name, i);

		t->parts[i].topic = t;
		t->parts[i].index = i;
		rc = lg_partition_open(dir, &tc->opts, &t->parts[i].lg, err);
		free(dir);
		if (rc != 0)
			break;
	}
	if (rc != 0) {
		topic_free(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

/* Link 't' into the list under the lock the compaction thread walks with (4). */
static void
topic_link(struct brk_broker *b, struct brk_topic *t)
{
	struct brk_topic **pp = &b->topics;

	pthread_mutex_lock(&b->bg_lock);
	while (*pp != NULL && strcmp((*pp)->name, t->name) < 0)
		pp = &(*pp)->next;	/* sorted: Metadata lists topics in order */
	t->next = *pp;
	*pp = t;
	b->n_topics++;
	pthread_mutex_unlock(&b->bg_lock);
}

int
brk_topic_create(struct brk_broker *b, const char *name,
    const struct brk_topic_conf *tc, struct brk_topic **out, struct sl_err *err)
{
	struct brk_topic *t = NULL;
	struct sl_buf text = { 0 };
	char *path = NULL, *dir;
	int32_t i;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (!brk_topic_name_valid(name, strlen(name)))
		return sl_errf(err, SL_EINVAL, "topic name %s is not legal", name);
	if (tc->partitions < 1 || tc->partitions > BRK_PARTITIONS_MAX)
		return sl_errf(err, SL_EINVAL, "topic %s: %d partitions", name,
		    (int)tc->partitions);
	if (brk_topic_find(b, name, strlen(name)) != NULL)
		return sl_errf(err, SL_EEXIST, "topic %s already exists", name);
	/* Orphans of a crashed delete must not come back as this topic's data. */
	for (i = 0; i < BRK_PARTITIONS_MAX; i++) {
		dir = part_dir(b, name, i);
		rc = access(dir, F_OK) == 0 ? sl_rm_rf(dir) : 1;
		free(dir);
		if (rc == 1)
			break;
		if (rc != 0)
			return sl_errf(err, rc, "topic %s: removing old folder: %s",
			    name, sl_strerror(rc));
	}
	rc = topic_open(b, name, tc, &t, err);
	if (rc != 0)
		goto out;
	for (i = 0; i < tc->partitions; i++)
		if ((rc = lg_partition_sync(t->parts[i].lg, err)) != 0)
			goto out;
	if ((rc = sl_dir_fsync(b->cfg.data_dir)) != 0) {
		sl_errf(err, rc, "fsync %s: %s", b->cfg.data_dir, sl_strerror(rc));
		goto out;
	}
	brk_topic_conf_format(tc, &text);
	path = topic_conf_path(b, name);
	if ((rc = sl_file_write_atomic(path, text.p, text.len)) != 0) {
		sl_errf(err, rc, "write %s: %s", path, sl_strerror(rc));
		goto out;
	}
	topic_link(b, t);
	if (out != NULL)
		*out = t;
	t = NULL;
out:
	if (t != NULL) {
		for (i = 0; i < tc->partitions; i++) {
			dir = part_dir(b, name, i);
			sl_rm_rf(dir);
			free(dir);
		}
		topic_free(t);
	}
	free(path);
	sl_buf_free(&text);
	return rc;
}

int
brk_topic_delete(struct brk_broker *b, const char *name, struct sl_err *err)
{
	struct brk_topic *t = brk_topic_find(b, name, strlen(name)), **pp;
	char *path, *dir, *own;
	int32_t i, n;
	int rc;

	if (t == NULL)
		return sl_errf(err, SL_ENOTFOUND, "topic %s does not exist", name);
	name = own = sl_strdup(name);	/* 'name' may be t->name, freed below */
	/* No acks=all waiter may point at a partition about to be freed (2). */
	brk_commit_now(b);
	path = topic_conf_path(b, name);
	rc = unlink(path) == 0 ? 0 : -errno;
	free(path);
	if (rc != 0 && rc != -ENOENT) {
		sl_errf(err, rc, "topic %s: unlink config: %s", name, sl_strerror(rc));
		free(own);
		return rc;
	}
	sl_dir_fsync(b->cfg.data_dir);
	/* Unlink under the lock: the compaction thread may be inside one of its partitions (4). */
	pthread_mutex_lock(&b->bg_lock);
	for (pp = &b->topics; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	b->n_topics--;
	pthread_mutex_unlock(&b->bg_lock);
	n = t->conf.partitions;
	for (i = 0; i < n; i++) {
		struct brk_part *p = &t->parts[i], **dp;

		for (dp = &b->dirty; *dp != NULL; dp = &(*dp)->next_dirty)
			if (*dp == p) {
				*dp = p->next_dirty;
				break;
			}
	}
	topic_free(t);
	for (i = 0; i < n; i++) {
		dir = part_dir(b, name, i);
		sl_rm_rf(dir);
		free(dir);
	}
	if (b->groups != NULL)
		brk_groups_topic_deleted(b->groups, name, NULL);
	free(own);
	return 0;
}

int
brk_topics_load(struct brk_broker *b, struct sl_err *err)
{
	char *dirpath = sl_asprintf("%s/topics", b->cfg.data_dir);
	struct sl_buf text = { 0 };
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((rc = sl_mkdir_p(dirpath, 0755)) != 0) {
		sl_errf(err, rc, "mkdir %s: %s", dirpath, sl_strerror(rc));
		goto out;
	}
	if ((d = opendir(dirpath)) == NULL) {
		rc = -errno;
		sl_errf(err, rc, "opendir %s: %s", dirpath, sl_strerror(rc));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct brk_topic_conf tc;
		struct brk_topic *t;
		char *name, *path;

		if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;	/* ".tmp" leftovers of an interrupted write */
		name = sl_strndup(de->d_name, len - 5);
		path = sl_asprintf("%s/%s", dirpath, de->d_name);
		brk_topic_conf_default(b, &tc);
		sl_buf_reset(&text);
		rc = sl_file_read(path, 65536, &text);
		if (rc != 0)
			sl_errf(err, rc, "read %s: %s", path, sl_strerror(rc));
		else if (!brk_topic_name_valid(name, strlen(name)))
			rc = SL_CORRUPT(err, "%s: not a legal topic name", path);
		else
			rc = brk_topic_conf_parse(&tc, path, sl_buf_slice(&text), err);
		if (rc == 0 && (rc = topic_open(b, name, &tc, &t, err)) == 0)
			topic_link(b, t);
		free(name);
		free(path);
		if (rc != 0)
			break;
	}
	closedir(d);
out:
	sl_buf_free(&text);
	free(dirpath);
	return rc;
}

int
brk_topics_close(struct brk_broker *b)
{
	struct brk_topic *t;
	int rc = 0, r;

	pthread_mutex_lock(&b->bg_lock);
	while ((t = b->topics) != NULL) {
		b->topics = t->next;
		r = topic_free(t);
		if (r != 0 && rc == 0)
			rc = r;
	}
	b->n_topics = 0;
	b->dirty = NULL;
	pthread_mutex_unlock(&b->bg_lock);
	return rc;
}
