/*
 * materialize/conf.c: the [view "NAME"] section of the configuration file,
 * with its defaults (docs/config.md), and the versioned view path that
 * rebuilds swap.
 *
 * It does not open anything: mat_run() and the LMDB sink use the result.
 *
 * VIEW PATH LAYOUT
 *   <path>        symlink to "<basename>.v<N>" (relative, same folder)
 *   <path>.v<N>   the LMDB environment (data.mdb, lock.mdb) of version N
 * A rebuild makes <path>.v<N+1>, then renames a new symlink
 * "<path>.swap" over <path> (rename(2) is atomic), then removes .v<N>.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "materialize/mat.h"

const char *const mat_view_conf_keys[] = {
	"type", "topics", "path", "format", "index.", "bootstrap", "group_id",
	"batch_events", "batch_ms", "offset_commit_interval", "map_size", "sync", "http",
	"consumer.", "columns", "tokenize", "redis", "redis_db", "redis_password", "key_prefix",
	"rebuild_db", NULL
};

static int
conf_bad(const struct sl_config *cfg, const struct sl_conf_section *sec, const char *key,
    const char *why, struct sl_err *err)
{
	const struct sl_conf_entry *e = sl_conf_entry(sec, key);

	return sl_errf(err, SL_ECONFIG, "%s:%d: [view \"%s\"] %s: %s", cfg->path,
	    e ? e->line : sec->line, sec->name ? sec->name : "", key, why);
}

/* Split 's' at commas, trimming blanks; empty items are an error (-1). */
static int
split_list(const char *s, char ***out, size_t *n)
{
	const char *p = s, *q, *e;

	*out = NULL;
	*n = 0;
	for (;;) {
		q = strchr(p, ',');
		e = q ? q : p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e == p)
			return -1;
		*out = sl_realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = sl_strndup(p, (size_t)(e - p));
		if (q == NULL)
			return 0;
		p = q + 1;
	}
}

static void
free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/*
 * The keys of one type only: columns and tokenize for sqlite-fts (columns
 * required), index.* and map_size for lmdb.  0 or SL_ECONFIG.
 */
static int
conf_fts(const struct sl_config *cfg, const struct sl_conf_section *sec,
    struct mat_view_conf *c, struct sl_err *err)
{
	const char *v;
	size_t i, j;

	if (!c->fts) {
		if (c->redis)
			return 0;	/* conf_redis */
		if (sl_conf_get(sec, "columns") != NULL)
			return conf_bad(cfg, sec, "columns", "for sqlite-fts views only (an "
			    "lmdb view keeps every column; see index.NAME)", err);
		if (sl_conf_get(sec, "tokenize") != NULL)
			return conf_bad(cfg, sec, "tokenize", "for sqlite-fts views only", err);
		return 0;
	}
	for (i = 0; i < sec->n_entries; i++)
		if (strncmp(sec->entries[i].key, "index.", 6) == 0)
			return conf_bad(cfg, sec, sec->entries[i].key, "a sqlite-fts view has "
			    "no secondary indexes: its columns are searched with FTS5", err);
	if (sl_conf_get(sec, "map_size") != NULL)
		return conf_bad(cfg, sec, "map_size", "for lmdb views only", err);
	if ((v = sl_conf_get(sec, "columns")) == NULL)
		return conf_bad(cfg, sec, "columns", "required for a sqlite-fts view (the "
		    "columns to index, comma separated)", err);
	if (split_list(v, &c->fts_columns, &c->n_fts_columns) != 0)
		return conf_bad(cfg, sec, "columns", "empty column name in the list", err);
	for (i = 0; i < c->n_fts_columns; i++) {
		for (j = 0; c->fts_columns[i][j]; j++)
			if (c->fts_columns[i][j] == '"' || (unsigned char)c->fts_columns[i][j] < 0x20)
				return conf_bad(cfg, sec, "columns", "a column name with a quote or "
				    "a control character", err);
		for (j = 0; j < i; j++)
			if (strcmp(c->fts_columns[i], c->fts_columns[j]) == 0)
				return conf_bad(cfg, sec, "columns", "a column named twice", err);
	}
	v = sl_conf_get(sec, "tokenize");
	c->tokenize = sl_strdup(v && *v ? v : "unicode61 remove_diacritics 2");
	for (j = 0; c->tokenize[j]; j++)
		if (c->tokenize[j] == '\'' || (unsigned char)c->tokenize[j] < 0x20)
			return conf_bad(cfg, sec, "tokenize", "a quote or a control character",
			    err);
	return 0;
}

/*
 * The keys of a redis view (redis, redis_db, redis_password, key_prefix,
 * rebuild_db), and the other types' keys refused on it; on another type,
 * its keys refused.  0 or SL_ECONFIG.
 */
static int
conf_redis(const struct sl_config *cfg, const struct sl_conf_section *sec,
    struct mat_view_conf *c, struct sl_err *err)
{
	static const char *const mine[] = { "redis", "redis_db", "redis_password", "key_prefix",
	    "rebuild_db", NULL };
	static const char *const not_mine[] = { "path", "map_size", "sync", "columns",
	    "tokenize", NULL };
	const char *v, *colon;
	size_t i;
	int64_t port;

	c->rebuild_db = -1;
	if (!c->redis) {
		for (i = 0; mine[i]; i++)
			if (sl_conf_get(sec, mine[i]) != NULL)
				return conf_bad(cfg, sec, mine[i], "for redis views only", err);
		return 0;
	}
	for (i = 0; not_mine[i]; i++)
		if (sl_conf_get(sec, not_mine[i]) != NULL)
			return conf_bad(cfg, sec, not_mine[i], strcmp(not_mine[i], "sync") == 0 ?
			    "a redis view is as durable as the Redis server's own persistence "
			    "(appendonly, appendfsync)" : "not a key of a redis view", err);
	for (i = 0; i < sec->n_entries; i++)
		if (strncmp(sec->entries[i].key, "index.", 6) == 0)
			return conf_bad(cfg, sec, sec->entries[i].key, "a redis view has no "
			    "secondary indexes", err);
	v = sl_conf_get(sec, "redis");
	c->redis_addr = sl_strdup(v && *v ? v : "127.0.0.1:6379");
	if (strncmp(c->redis_addr, "unix:", 5) != 0 && c->redis_addr[0] != '/') {
		colon = strrchr(c->redis_addr, ':');
		if (colon == NULL || colon == c->redis_addr ||
		    sl_parse_int64(colon + 1, &port) != 0 || port < 1 || port > 65535)
			return conf_bad(cfg, sec, "redis", "expected HOST:PORT or unix:PATH", err);
	}
	if ((v = sl_conf_get(sec, "redis_password")) != NULL && *v)
		c->redis_password = sl_strdup(v);
	if (sl_conf_int64(cfg, sec, "redis_db", &c->redis_db, err) != 0)
		return SL_ECONFIG;
	if (c->redis_db < 0 || c->redis_db > 1000000)
		return conf_bad(cfg, sec, "redis_db", "expected a database number", err);
	if (sl_conf_int64(cfg, sec, "rebuild_db", &c->rebuild_db, err) != 0)
		return SL_ECONFIG;
	if (sl_conf_get(sec, "rebuild_db") != NULL &&
	    (c->rebuild_db < 0 || c->rebuild_db > 1000000 || c->rebuild_db == c->redis_db))
		return conf_bad(cfg, sec, "rebuild_db", "expected a database number other than "
		    "redis_db", err);
	v = sl_conf_get(sec, "key_prefix");
	c->key_prefix = v ? sl_strdup(v) : sl_asprintf("%s:", c->name);
	if (strstr(c->key_prefix, "__rebuild:") != NULL)
		return conf_bad(cfg, sec, "key_prefix", "may not contain __rebuild: (the "
		    "prefix of a view being rebuilt)", err);
	return 0;
}

int
mat_conf_load(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, struct mat_view_conf **out, struct sl_err *err)
{
	struct mat_view_conf *c = sl_calloc(1, sizeof(*c));
	const char *v;
	size_t i, j, nk;
	int rc = 0;

	*out = NULL;
	c->name = sl_strdup(sec->name ? sec->name : "");
	for (i = 0; i < sec->n_entries; i++) {
		const char *k = sec->entries[i].key;

		for (j = 0; mat_view_conf_keys[j]; j++) {
			size_t kl = strlen(mat_view_conf_keys[j]);

			if (mat_view_conf_keys[j][kl - 1] == '.' ?
			    strncmp(k, mat_view_conf_keys[j], kl) == 0 :
			    strcmp(k, mat_view_conf_keys[j]) == 0)
				break;
		}
		if (mat_view_conf_keys[j] == NULL) {
			rc = sl_errf(err, SL_ECONFIG, "%s:%d: [view \"%s\"] unknown key '%s'",
			    cfg->path, sec->entries[i].line, c->name, k);
			goto out;
		}
	}
	c->batch_events = 10000;
	c->batch_ms = 50;
	c->offset_commit_interval = 5000;
	c->map_size = (int64_t)1 << 30;
	v = sl_conf_get(sec, "type");
	c->type = sl_strdup(v ? v : "lmdb");
	if (strcmp(c->type, "sqlite-fts") == 0)
		c->fts = 1;
	else if (strcmp(c->type, "redis") == 0)
		c->redis = 1;
	else if (strcmp(c->type, "lmdb") != 0) {
		rc = conf_bad(cfg, sec, "type", "expected lmdb, sqlite-fts or redis", err);
		goto out;
	}
	if ((rc = conf_fts(cfg, sec, c, err)) != 0 || (rc = conf_redis(cfg, sec, c, err)) != 0)
		goto out;
	if ((v = sl_conf_get(sec, "topics")) == NULL) {
		rc = conf_bad(cfg, sec, "topics", "required (comma separated topic names)", err);
		goto out;
	}
	if (split_list(v, &c->topics, &c->n_topics) != 0) {
		rc = conf_bad(cfg, sec, "topics", "empty topic name in the list", err);
		goto out;
	}
	if (c->redis) {
		/* conf_redis refused a path */
	} else if ((v = sl_conf_get(sec, "path")) == NULL || *v == '\0') {
		rc = conf_bad(cfg, sec, "path", "required (the view's directory)", err);
		goto out;
	} else {
		c->path = sl_strdup(v);
		while (strlen(c->path) > 1 && c->path[strlen(c->path) - 1] == '/')
			c->path[strlen(c->path) - 1] = '\0';
	}
	v = sl_conf_get(sec, "format");
	if (v == NULL || strcmp(v, "protobuf") == 0)
		c->format = MAT_FORMAT_PROTOBUF;
	else if (strcmp(v, "json") == 0)
		c->format = MAT_FORMAT_JSON;
	else {
		rc = conf_bad(cfg, sec, "format", "expected protobuf or json", err);
		goto out;
	}
	v = sl_conf_get(sec, "sync");
	/*
	 * nometa by default: the offsets share each commit with its changes,
	 * so a system crash that undoes the last commit undoes both, and the
	 * view re-applies it from the log; full's second flush buys nothing a
	 * view needs (docs/views.md).
	 */
	if (v == NULL || strcmp(v, "nometa") == 0)
		c->sync = MAT_SYNC_NOMETA;
	else if (strcmp(v, "full") == 0)
		c->sync = MAT_SYNC_FULL;
	else if (strcmp(v, "none") == 0 && !c->fts)
		c->sync = MAT_SYNC_NONE;
	else if (strcmp(v, "none") == 0) {
		rc = conf_bad(cfg, sec, "sync", "none is for lmdb views only; a sqlite-fts "
		    "view takes full or nometa", err);
		goto out;
	}
	else {
		rc = conf_bad(cfg, sec, "sync", "expected full, nometa or none", err);
		goto out;
	}
	if ((rc = sl_conf_int64(cfg, sec, "batch_events", &c->batch_events, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "batch_ms", &c->batch_ms, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "offset_commit_interval",
	    &c->offset_commit_interval, err)) != 0 ||
	    (rc = sl_conf_size(cfg, sec, "map_size", &c->map_size, err)) != 0)
		goto out;
	if (c->batch_events < 1 || c->batch_events > 10000000) {
		rc = conf_bad(cfg, sec, "batch_events", "must be 1..10000000", err);
		goto out;
	}
	if (c->batch_ms < 0 || c->batch_ms > 60000) {
		rc = conf_bad(cfg, sec, "batch_ms", "must be 0..60s", err);
		goto out;
	}
	if (c->offset_commit_interval < 0 || c->offset_commit_interval > 3600000) {
		rc = conf_bad(cfg, sec, "offset_commit_interval", "must be 0..1h", err);
		goto out;
	}
	if (c->map_size < (1 << 20) || (uint64_t)c->map_size > (uint64_t)SIZE_MAX / 2) {
		rc = conf_bad(cfg, sec, "map_size", "must be at least 1m", err);
		goto out;
	}
	v = sl_conf_get(sec, "bootstrap");
	if (v == NULL)
		v = bootstrap_default;
	if (v == NULL) {
		rc = conf_bad(cfg, sec, "bootstrap", "required when the file has no [broker] "
		    "listen", err);
		goto out;
	}
	c->bootstrap = sl_strdup(v);
	v = sl_conf_get(sec, "group_id");
	c->group_id = v ? sl_strdup(v) : sl_asprintf("sluice-view-%s", c->name);
	if ((v = sl_conf_get(sec, "http")) != NULL)
		c->http = sl_strdup(v);
	for (i = 0; i < sec->n_entries; i++) {
		const struct sl_conf_entry *e = &sec->entries[i];

		if (strncmp(e->key, "consumer.", 9) == 0) {
			c->consumer = sl_realloc(c->consumer, (c->n_consumer + 1) *
			    sizeof(*c->consumer));
			c->consumer[c->n_consumer].key = sl_strdup(e->key + 9);
			c->consumer[c->n_consumer++].value = sl_strdup(e->value);
			continue;
		}
		if (strncmp(e->key, "index.", 6) != 0)
			continue;
		if (e->key[6] == '\0' || strchr(e->key + 6, ':') != NULL) {
			rc = conf_bad(cfg, sec, e->key, "index names are non-empty, without ':'",
			    err);
			goto out;
		}
		c->indexes = sl_realloc(c->indexes, (c->n_indexes + 1) * sizeof(*c->indexes));
		memset(&c->indexes[c->n_indexes], 0, sizeof(*c->indexes));
		c->indexes[c->n_indexes].name = sl_strdup(e->key + 6);
		c->n_indexes++;
		if (split_list(e->value, &c->indexes[c->n_indexes - 1].columns, &nk) != 0) {
			rc = conf_bad(cfg, sec, e->key, "expected column[,column]", err);
			goto out;
		}
		c->indexes[c->n_indexes - 1].n_columns = (uint32_t)nk;
		for (j = 0; j + 1 < c->n_indexes; j++)
			if (strcmp(c->indexes[j].name, c->indexes[c->n_indexes - 1].name) == 0) {
				rc = conf_bad(cfg, sec, e->key, "duplicate index", err);
				goto out;
			}
	}
out:
	if (rc != 0) {
		mat_conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
mat_conf_free(struct mat_view_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->name);
	free(c->type);
	free_list(c->topics, c->n_topics);
	free(c->path);
	for (i = 0; i < c->n_indexes; i++) {
		free(c->indexes[i].name);
		free_list(c->indexes[i].columns, c->indexes[i].n_columns);
	}
	free(c->indexes);
	free(c->bootstrap);
	free(c->group_id);
	free(c->http);
	free_list(c->fts_columns, c->n_fts_columns);
	free(c->tokenize);
	free(c->redis_addr);
	if (c->redis_password) {
		memset(c->redis_password, 0, strlen(c->redis_password));	/* a secret */
		free(c->redis_password);
	}
	free(c->key_prefix);
	for (i = 0; i < c->n_consumer; i++) {
		free(c->consumer[i].key);
		free(c->consumer[i].value);
	}
	free(c->consumer);
	free(c);
}

/* --------------------------------------------------------------- paths */

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The version N of the link target "<base>.v<N>", or 0. */
static long
target_version(const char *path, const char *target)
{
	const char *b = base_name(path), *t = base_name(target);
	size_t bl = strlen(b);
	char *end;
	long n;

	if (strncmp(t, b, bl) != 0 || strncmp(t + bl, ".v", 2) != 0)
		return 0;
	n = strtol(t + bl + 2, &end, 10);
	return *end == '\0' && n > 0 ? n : 0;
}

int
mat_path_resolve(const char *path, int create, struct sl_buf *out, struct sl_err *err)
{
	char target[PATH_MAX];
	struct stat st;
	char *dir, *link_tmp;
	ssize_t n;
	int rc;

	sl_buf_reset(out);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		sl_buf_printf(out, "%s", path);	/* a plain directory: no versions */
		sl_buf_add_u8(out, 0);
		out->len--;
		return 0;
	}
	n = readlink(path, target, sizeof(target) - 1);
	if (n >= 0) {
		const char *slash = strrchr(path, '/');

		target[n] = '\0';
		if (target[0] == '/' || slash == NULL)
			sl_buf_printf(out, "%s", target);
		else
			sl_buf_printf(out, "%.*s/%s", (int)(slash - path), path, target);
		return 0;
	}
	if (errno != ENOENT)
		return sl_errf(err, -errno, "view path %s: %s", path, strerror(errno));
	if (!create)
		return sl_errf(err, SL_ENOTFOUND, "no view at %s", path);
	dir = sl_asprintf("%s.v1", path);
	link_tmp = sl_asprintf("%s.swap", path);
	{
		char *slash = strrchr(path, '/');

		if (slash) {
			char *parent = sl_strndup(path, (size_t)(slash - path));

			(void)sl_mkdir_p(parent, 0755);
			free(parent);
		}
	}
	if ((rc = sl_mkdir_p(dir, 0755)) != 0) {
		sl_errf(err, rc, "view path %s: %s", dir, sl_strerror(rc));
		goto out;
	}
	(void)unlink(link_tmp);
	if (symlink(base_name(dir), link_tmp) != 0 || rename(link_tmp, path) != 0) {
		rc = sl_errf(err, -errno, "view path %s: %s", path, strerror(errno));
		goto out;
	}
	sl_buf_printf(out, "%s", dir);
	rc = 0;
out:
	free(dir);
	free(link_tmp);
	return rc;
}

int
mat_path_next(const char *path, struct sl_buf *out, struct sl_err *err)
{
	char target[PATH_MAX];
	ssize_t n;
	long v = 0;
	int rc;

	sl_buf_reset(out);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return sl_errf(err, -errno, "view path %s is not a versioned view (a symlink): "
		    "%s", path, strerror(errno));
	target[n] = '\0';
	v = target_version(path, target);
	sl_buf_printf(out, "%s.v%ld", path, v + 1);
	(void)sl_rm_rf((const char *)out->p);	/* an interrupted earlier rebuild */
	if ((rc = sl_mkdir_p((const char *)out->p, 0755)) != 0)
		return sl_errf(err, rc, "view path %s: %s", (const char *)out->p, sl_strerror(rc));
	return 0;
}

int
mat_path_swap(const char *path, const char *dir, struct sl_buf *old, struct sl_err *err)
{
	char *link_tmp = sl_asprintf("%s.swap", path);
	char *parent;
	const char *slash = strrchr(path, '/');
	int rc = 0;

	if ((rc = mat_path_resolve(path, 0, old, err)) != 0)
		goto out;
	(void)unlink(link_tmp);
	if (symlink(base_name(dir), link_tmp) != 0 || rename(link_tmp, path) != 0) {
		rc = sl_errf(err, -errno, "view path %s: swap: %s", path, strerror(errno));
		goto out;
	}
	parent = slash ? sl_strndup(path, (size_t)(slash - path)) : sl_strdup(".");
	(void)sl_dir_fsync(parent);
	free(parent);
out:
	free(link_tmp);
	return rc;
}
