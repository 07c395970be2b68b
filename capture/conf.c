/*
 * capture/conf.c: the keys every [source "NAME"] shares, parsed with their
 * defaults (docs/config.md), for postgres and mysql sources alike.  The
 * keys each type accepts are its own list (cap_pg_conf_keys,
 * cap_my_conf_keys); a key outside the list is an error naming the file
 * and line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_int.h"
#include "schemas/sch.h"

static int
conf_key_known(const char *const *keys, const char *key)
{
	size_t i, n;

	for (i = 0; keys[i]; i++) {
		n = strlen(keys[i]);
		if (keys[i][n - 1] == '.' ? strncmp(key, keys[i], n) == 0 && key[n] != '\0' :
		    strcmp(key, keys[i]) == 0)
			return 1;
	}
	return 0;
}

int
cap_conf_bad(const struct sl_config *cfg, const struct sl_conf_section *sec, const char *key,
    const char *why, struct sl_err *err)
{
	const struct sl_conf_entry *e = sl_conf_entry(sec, key);

	return sl_errf(err, SL_ECONFIG, "%s:%d: [source \"%s\"] %s: %s", cfg->path,
	    e ? e->line : sec->line, sec->name ? sec->name : "", key, why);
}

/* Key 'key' is 'first' (the default: *out = 0) or 'second' (*out = 1). */
static int
conf_choice(const struct sl_config *cfg, const struct sl_conf_section *sec, const char *key,
    const char *first, const char *second, int *out, struct sl_err *err)
{
	const char *v = sl_conf_get(sec, key);
	char why[128];

	if (v == NULL || strcmp(v, first) == 0) {
		*out = 0;
		return 0;
	}
	if (strcmp(v, second) == 0) {
		*out = 1;
		return 0;
	}
	snprintf(why, sizeof(why), "expected %s or %s", first, second);
	return cap_conf_bad(cfg, sec, key, why, err);
}

/* A name usable as a slot: lower case letters, digits and underscores. */
static char *
slot_name_of(const char *name)
{
	char *s = sl_asprintf("sluice_%s", name);
	char *p;

	for (p = s; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
	}
	return s;
}

void
cap_conf_free(struct cap_conf *c)
{
	size_t i;

	free(c->slot);
	free(c->publication);
	free(c->topic_prefix);
	free(c->spool_dir);
	for (i = 0; i < c->n_producer; i++) {
		free(c->producer[i].key);
		free(c->producer[i].value);
	}
	free(c->producer);
	memset(c, 0, sizeof(*c));
}

int
cap_conf_parse(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, const char *type, const char *const *keys,
    struct cap_conf *c, struct sch_json_opts *jo, struct sl_err *err)
{
	const char *v;
	int64_t i64;
	size_t i;
	int rc, pg;

	memset(c, 0, sizeof(*c));
	memset(jo, 0, sizeof(*jo));
	for (i = 0; i < sec->n_entries; i++)
		if (!conf_key_known(keys, sec->entries[i].key))
			return sl_errf(err, SL_ECONFIG, "%s:%d: [source \"%s\"]: unknown key '%s'",
			    cfg->path, sec->entries[i].line, sec->name ? sec->name : "",
			    sec->entries[i].key);
	c->name = sec->name;
	if (c->name == NULL || c->name[0] == '\0')
		return sl_errf(err, SL_ECONFIG, "%s:%d: a [source] needs a name: [source \"app\"]",
		    cfg->path, sec->line);
	pg = strcmp(type, "postgres") == 0;
	v = sl_conf_get(sec, "type");
	if (v == NULL || strcmp(v, type) != 0)
		return cap_conf_bad(cfg, sec, "type", pg ? "expected 'postgres'" :
		    "expected 'mysql'", err);
	if ((c->dsn = sl_conf_get(sec, "dsn")) == NULL)
		return cap_conf_bad(cfg, sec, "dsn", pg ? "is required (a libpq conninfo)" :
		    "is required (host=H port=P user=U password=W, or socket=PATH)", err);
	if ((c->tables = sl_conf_get(sec, "tables")) == NULL)
		return cap_conf_bad(cfg, sec, "tables", pg ? "is required (e.g. public.*)" :
		    "is required (e.g. app.*)", err);
	if ((v = sl_conf_get(sec, "exclude_columns")) != NULL && v[0] != '\0') {
		char why[300];

		if (cap_exclude_columns_check(v, why, sizeof(why)) != 0)
			return cap_conf_bad(cfg, sec, "exclude_columns", why, err);
		c->exclude_columns = v;
	}
	if ((v = sl_conf_get(sec, "mask_columns")) != NULL && v[0] != '\0') {
		char why[300];

		if (cap_exclude_columns_check(v, why, sizeof(why)) != 0)
			return cap_conf_bad(cfg, sec, "mask_columns", why, err);
		c->mask_columns = v;
		c->mask_salt = sl_conf_get(sec, "mask_salt");
		if (c->mask_salt == NULL || c->mask_salt[0] == '\0')
			return cap_conf_bad(cfg, sec, "mask_columns", "needs mask_salt (a secret: "
			    "mask_salt = ${SLUICE_MASK_SALT}); an unsalted hash of an e-mail or a "
			    "phone number is found again by hashing candidates", err);
	}
	if ((v = sl_conf_get(sec, "key_columns")) != NULL && v[0] != '\0') {
		char why[300];

		if (cap_key_columns_check(v, why, sizeof(why)) != 0)
			return cap_conf_bad(cfg, sec, "key_columns", why, err);
		c->key_columns = v;
	}
	if ((v = sl_conf_get(sec, "outbox.tables")) != NULL && v[0] != '\0')
		c->outbox_tables = v;
	if ((v = sl_conf_get(sec, "signal.table")) != NULL && v[0] != '\0')
		c->signal_table = v;
	c->outbox_topic = sl_conf_get(sec, "outbox.topic");
	if (c->outbox_topic == NULL)
		c->outbox_topic = "outbox.event.{route}";
	else {
		char why[400];

		if (cap_outbox_topic_check(c->outbox_topic, why, sizeof(why)) != 0)
			return cap_conf_bad(cfg, sec, "outbox.topic", why, err);
	}
	/* Debezium's EventRouter's column names */
	if ((c->outbox_route = sl_conf_get(sec, "outbox.route_column")) == NULL)
		c->outbox_route = "aggregatetype";
	if ((c->outbox_key = sl_conf_get(sec, "outbox.key_column")) == NULL)
		c->outbox_key = "aggregateid";
	if ((c->outbox_payload = sl_conf_get(sec, "outbox.payload_column")) == NULL)
		c->outbox_payload = "payload";
	if ((c->outbox_id = sl_conf_get(sec, "outbox.id_column")) == NULL)
		c->outbox_id = "id";
	if (pg) {
		v = sl_conf_get(sec, "slot");
		c->slot = v ? sl_strdup(v) : slot_name_of(c->name);
		v = sl_conf_get(sec, "publication");
		c->publication = v ? sl_strdup(v) : slot_name_of(c->name);
		if ((rc = conf_choice(cfg, sec, "plugin", "pgoutput", "pg_sluice",
		    &c->plugin_sluice, err)) != 0)
			return rc;
	} else {
		/* the replica id: stable per source name, clear of small ids */
		uint32_t h = 2166136261u;
		const char *p;

		for (p = c->name; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		i64 = 100000 + (int64_t)(h % 1000000000u);
		if ((rc = sl_conf_int64(cfg, sec, "server_id", &i64, err)) != 0)
			return rc;
		if (i64 < 1 || i64 > 4294967295LL)
			return cap_conf_bad(cfg, sec, "server_id", "must be 1..4294967295, "
			    "and differ from every server's and replica's server_id", err);
		c->server_id = (uint32_t)i64;
		if ((rc = conf_choice(cfg, sec, "position", "file", "gtid", &c->position_gtid,
		    err)) != 0)
			return rc;
	}
	v = sl_conf_get(sec, "topic_prefix");
	c->topic_prefix = sl_strdup(v ? v : c->name);
	{
		struct sl_err why = { 0 };
		char msg[600];
		int bad = cap_topic_prefix_check(c->topic_prefix, &why);

		if (bad != 0) {
			snprintf(msg, sizeof(msg), "%s%s", sl_err_msg(&why, bad), v ? "" :
			    " (it is the source's name: set topic_prefix)");
			return cap_conf_bad(cfg, sec, "topic_prefix", msg, err);
		}
	}
	v = sl_conf_get(sec, "spool_dir");
	c->spool_dir = v ? sl_strdup(v) : sl_asprintf("%s/sluice-spool-%s",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", c->name);
	v = sl_conf_get(sec, "format");
	if (v == NULL || strcmp(v, "protobuf") == 0)
		c->json = 0;
	else if (strcmp(v, "json") == 0)
		c->json = 1;
	else
		return cap_conf_bad(cfg, sec, "format", "expected protobuf or json", err);
	v = sl_conf_get(sec, "snapshot");
	if (v == NULL || strcmp(v, "initial") == 0)
		c->snapshot = CAP_SNAP_INITIAL;
	else if (strcmp(v, "never") == 0)
		c->snapshot = CAP_SNAP_NEVER;
	else if (strcmp(v, "initial_only") == 0)
		c->snapshot = CAP_SNAP_INITIAL_ONLY;
	else
		return cap_conf_bad(cfg, sec, "snapshot", "expected initial, never or initial_only", err);
	c->http = sl_conf_get(sec, "http");
	if (c->http && c->http[0] == '\0')
		c->http = NULL;
	c->bootstrap = sl_conf_get(sec, "bootstrap");
	if (c->bootstrap == NULL)
		c->bootstrap = bootstrap_default;
	if (c->bootstrap == NULL)
		return cap_conf_bad(cfg, sec, "bootstrap", "is required when the file has no [broker]",
		    err);

	i64 = 2;
	if ((rc = sl_conf_int64(cfg, sec, "snapshot_workers", &i64, err)) != 0)
		return rc;
	if (i64 < 1 || i64 > 64)
		return cap_conf_bad(cfg, sec, "snapshot_workers", "must be 1..64", err);
	c->snapshot_workers = (int)i64;
	c->heartbeat_ms = 10000;
	if ((rc = sl_conf_duration_ms(cfg, sec, "heartbeat", &c->heartbeat_ms, err)) != 0)
		return rc;
	c->status_ms = 10000;
	if ((rc = sl_conf_duration_ms(cfg, sec, "status_interval", &c->status_ms, err)) != 0)
		return rc;
	if (c->status_ms < 10)
		return cap_conf_bad(cfg, sec, "status_interval", "must be at least 10ms", err);
	i64 = 6;
	if ((rc = sl_conf_int64(cfg, sec, "topic.partitions", &i64, err)) != 0)
		return rc;
	if (i64 < 1 || i64 > 10000)
		return cap_conf_bad(cfg, sec, "topic.partitions", "must be 1..10000", err);
	c->topic_partitions = (int)i64;
	i64 = -1;
	if ((rc = sl_conf_int64(cfg, sec, "topic.replication_factor", &i64, err)) != 0)
		return rc;
	c->topic_replication = (int)i64;
	v = sl_conf_get(sec, "topic.cleanup_policy");
	if (v == NULL || strcmp(v, "compact") == 0)
		c->topic_compact = 1;
	else if (strcmp(v, "delete") == 0)
		c->topic_compact = 0;
	else
		return cap_conf_bad(cfg, sec, "topic.cleanup_policy", "expected compact or delete", err);
	c->topic_retention_ms = 0;
	if ((rc = sl_conf_duration_ms(cfg, sec, "topic.retention", &c->topic_retention_ms,
	    err)) != 0)
		return rc;
	c->tx_retention_ms = 7 * 86400000LL;
	c->hb_retention_ms = 86400000LL;
	c->msg_retention_ms = 7 * 86400000LL;
	if ((rc = sl_conf_duration_ms(cfg, sec, "transaction.retention", &c->tx_retention_ms,
	    err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "heartbeat.retention", &c->hb_retention_ms,
	    err)) != 0 ||
	    (rc = sl_conf_duration_ms(cfg, sec, "messages.retention", &c->msg_retention_ms,
	    err)) != 0)
		return rc;
	c->streaming = c->tombstones = c->hb_topic = c->messages_topic = 1;
	c->tx_topic = 0;		/* Debezium: provide.transaction.metadata=false */
	if ((rc = sl_conf_bool(cfg, sec, "streaming", &c->streaming, err)) != 0 ||
	    (rc = sl_conf_bool(cfg, sec, "tombstones", &c->tombstones, err)) != 0 ||
	    (rc = sl_conf_bool(cfg, sec, "transaction.topic", &c->tx_topic, err)) != 0 ||
	    (rc = sl_conf_bool(cfg, sec, "heartbeat.topic", &c->hb_topic, err)) != 0 ||
	    (rc = sl_conf_bool(cfg, sec, "messages.topic", &c->messages_topic, err)) != 0)
		return rc;
	/* Kafka Connect's JsonConverter with schemas.enable=true */
	if ((rc = sl_conf_bool(cfg, sec, "json.schemas", &jo->schemas, err)) != 0)
		return rc;
	jo->schema_prefix = c->topic_prefix;
	v = sl_conf_get(sec, "json.decimal_handling");
	if (v == NULL || strcmp(v, "precise") == 0)
		jo->decimal = SCH_DECIMAL_PRECISE;
	else if (strcmp(v, "string") == 0)
		jo->decimal = SCH_DECIMAL_STRING;
	else if (strcmp(v, "double") == 0)
		jo->decimal = SCH_DECIMAL_DOUBLE;
	else
		return cap_conf_bad(cfg, sec, "json.decimal_handling",
		    "expected precise, string or double", err);
	for (i = 0; i < sec->n_entries; i++) {
		if (strncmp(sec->entries[i].key, "producer.", 9) != 0)
			continue;
		c->producer = sl_realloc(c->producer, (c->n_producer + 1) * sizeof(*c->producer));
		c->producer[c->n_producer].key = sl_strdup(sec->entries[i].key + 9);
		c->producer[c->n_producer].value = sl_strdup(sec->entries[i].value);
		c->n_producer++;
	}
	return 0;
}

