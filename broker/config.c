/*
 * broker/config.c: the [broker] section of the configuration file.
 *
 * Defaults, the list of accepted keys (checked with sl_config_check over
 * the [broker] sections only, since other components own the other
 * sections) and typed parsing.  docs/config.md documents every key here.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

static const char *const broker_keys[] = {
	"listen", "http", "data_dir", "advertised", "node_id",
	"auto_create_topics", "num.partitions",
	"log.segment.bytes", "log.segment.ms", "log.retention.ms",
	"log.retention.bytes", "log.cleanup.policy", "message.max.bytes",
	"log.message.timestamp.type", "log.cleaner.delete.retention.ms",
	"log.index.interval.bytes",
	"max_request_bytes", "max_connections", "idle_timeout_ms",
	"log.retention.check.interval.ms", "log.cleaner.backoff.ms", "commit_delay_us",
	NULL
};

void
brk_config_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? sl_strdup(value) : NULL;
}

void
brk_config_default(struct brk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = sl_strdup("127.0.0.1:9092");
	c->http = sl_strdup("127.0.0.1:9644");
	c->data_dir = sl_strdup("./data");
	c->advertised = NULL;
	c->node_id = 0;
	c->auto_create_topics = 0;
	c->default_partitions = 1;
	lg_options_default(&c->log);
	c->max_request_bytes = 100 * 1024 * 1024;
	c->max_connections = 1024;
	c->idle_timeout_ms = 600000;
	c->commit_delay_us = 500;
	c->retention_check_ms = 30000;
	c->compaction_check_ms = 15000;
}

void
brk_config_free(struct brk_config *c)
{
	if (c == NULL)
		return;
	free(c->listen);
	free(c->http);
	free(c->data_dir);
	free(c->advertised);
	c->listen = c->http = c->data_dir = c->advertised = NULL;
}

static int
conf_err(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *key, const char *why, struct sl_err *err)
{
	const struct sl_conf_entry *e = sl_conf_entry(sec, key);

	return sl_errf(err, SL_ECONFIG, "%s:%d: %s: %s", cfg->path,
	    e != NULL ? e->line : sec->line, key, why);
}

int
brk_config_apply(struct brk_config *c, const struct sl_config *cfg,
    struct sl_err *err)
{
	static const struct sl_conf_schema schema[] = {
		{ "broker", 0, broker_keys },
		{ NULL, 0, NULL }
	};
	struct sl_conf_section *only;
	struct sl_config sub;
	const struct sl_conf_section *sec;
	const char *v;
	int64_t n;
	size_t i, k;
	int rc;

	if (cfg == NULL)
		return 0;
	/* Check the [broker] sections alone: the others belong to other components. */
	only = sl_calloc(cfg->n_sections + 1, sizeof(*only));
	for (i = 0, k = 0; i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i].type, "broker") == 0)
			only[k++] = cfg->sections[i];
	sub.path = cfg->path;
	sub.sections = only;
	sub.n_sections = k;
	rc = sl_config_check(&sub, schema, err);
	free(only);
	if (rc != 0)
		return rc;
	if (k > 1)
		return sl_errf(err, SL_ECONFIG, "%s: more than one [broker] section",
		    cfg->path);
	sec = sl_config_section(cfg, "broker", NULL);
	if (sec == NULL)
		return 0;

	if ((v = sl_conf_get(sec, "listen")) != NULL)
		brk_config_set(&c->listen, v);
	if ((v = sl_conf_get(sec, "http")) != NULL)
		brk_config_set(&c->http, v[0] != '\0' ? v : NULL);
	if ((v = sl_conf_get(sec, "data_dir")) != NULL)
		brk_config_set(&c->data_dir, v);
	if ((v = sl_conf_get(sec, "advertised")) != NULL)
		brk_config_set(&c->advertised, v[0] != '\0' ? v : NULL);

	n = c->node_id;
	if ((rc = sl_conf_int64(cfg, sec, "node_id", &n, err)) != 0)
		return rc;
	if (n < 0 || n > INT32_MAX)
		return conf_err(cfg, sec, "node_id", "must be 0..2147483647", err);
	c->node_id = (int32_t)n;
	if ((rc = sl_conf_bool(cfg, sec, "auto_create_topics",
	    &c->auto_create_topics, err)) != 0)
		return rc;
	n = c->default_partitions;
	if ((rc = sl_conf_int64(cfg, sec, "num.partitions", &n, err)) != 0)
		return rc;
	if (n < 1 || n > BRK_PARTITIONS_MAX)
		return conf_err(cfg, sec, "num.partitions", "must be 1..10000", err);
	c->default_partitions = (int32_t)n;

	if ((rc = sl_conf_size(cfg, sec, "log.segment.bytes", &c->log.segment_bytes, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "log.segment.ms", &c->log.segment_ms, err)) != 0 ||
	    (rc = sl_conf_size(cfg, sec, "log.retention.bytes", &c->log.retention_bytes, err)) != 0 ||
	    (rc = sl_conf_size(cfg, sec, "message.max.bytes", &c->log.max_message_bytes, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "log.cleaner.delete.retention.ms",
	    &c->log.delete_retention_ms, err)) != 0 ||
	    (rc = sl_conf_size(cfg, sec, "max_request_bytes", &c->max_request_bytes, err)) != 0 ||
	    (rc = sl_conf_int64(cfg, sec, "max_connections", &c->max_connections, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "idle_timeout_ms", &c->idle_timeout_ms, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "log.retention.check.interval.ms",
	    &c->retention_check_ms, err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "log.cleaner.backoff.ms",
	    &c->compaction_check_ms, err)) != 0 ||
	    (rc = sl_conf_int64(cfg, sec, "commit_delay_us", &c->commit_delay_us, err)) != 0)
		return rc;
	/* retention.ms accepts -1 (forever), which a duration parser may refuse. */
	if ((v = sl_conf_get(sec, "log.retention.ms")) != NULL) {
		if (strcmp(v, "-1") == 0)
			c->log.retention_ms = -1;
		else if ((rc = sl_conf_duration_ms(cfg, sec, "log.retention.ms",
		    &c->log.retention_ms, err)) != 0)
			return rc;
	}
	if ((v = sl_conf_get(sec, "log.index.interval.bytes")) != NULL) {
		if (sl_parse_size(v, &n) != 0 || n < 1 || n > INT32_MAX)
			return conf_err(cfg, sec, "log.index.interval.bytes",
			    "must be a size of 1..2g", err);
		c->log.index_interval_bytes = (int32_t)n;
	}
	if ((v = sl_conf_get(sec, "log.cleanup.policy")) != NULL) {
		if (strcmp(v, "compact") == 0)
			c->log.compact = 1;
		else if (strcmp(v, "delete") == 0)
			c->log.compact = 0;
		else
			return conf_err(cfg, sec, "log.cleanup.policy",
			    "must be delete or compact", err);
	}
	if ((v = sl_conf_get(sec, "log.message.timestamp.type")) != NULL) {
		if (strcmp(v, "LogAppendTime") == 0)
			c->log.log_append_time = 1;
		else if (strcmp(v, "CreateTime") == 0)
			c->log.log_append_time = 0;
		else
			return conf_err(cfg, sec, "log.message.timestamp.type",
			    "must be CreateTime or LogAppendTime", err);
	}
	if (c->max_request_bytes < 1024 || c->max_request_bytes > INT32_MAX)
		return conf_err(cfg, sec, "max_request_bytes", "must be 1k..2g", err);
	if (c->max_connections < 1)
		return conf_err(cfg, sec, "max_connections", "must be at least 1", err);
	if (c->commit_delay_us < 0 || c->commit_delay_us > 100000)
		return conf_err(cfg, sec, "commit_delay_us", "must be 0..100000 (0: off)", err);
	if (c->log.segment_bytes < 1024)
		return conf_err(cfg, sec, "log.segment.bytes", "must be at least 1k", err);
	if (c->retention_check_ms < 10 || c->compaction_check_ms < 10)
		return sl_errf(err, SL_ECONFIG, "%s: check intervals must be at least 10ms",
		    cfg->path);
	return 0;
}

int
brk_parse_hostport(const char *s, char **host, int *port, struct sl_err *err)
{
	const char *colon;
	int64_t p;

	*host = NULL;
	if (s == NULL || (colon = strrchr(s, ':')) == NULL)
		return sl_errf(err, SL_ECONFIG, "address %s: expected HOST:PORT",
		    s != NULL ? s : "(none)");
	if (sl_parse_int64(colon + 1, &p) != 0 || p < 0 || p > 65535)
		return sl_errf(err, SL_ECONFIG, "address %s: bad port", s);
	if (s[0] == '[' && colon > s + 1 && colon[-1] == ']')
		*host = sl_strndup(s + 1, (size_t)(colon - s - 2));
	else
		*host = sl_strndup(s, (size_t)(colon - s));
	*port = (int)p;
	return 0;
}
