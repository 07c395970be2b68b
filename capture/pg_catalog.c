/*
 * capture/pg_catalog.c: what capture asks PostgreSQL over a normal (SQL)
 * connection: which tables the 'tables' patterns name, whether the role may
 * capture them, the publication, the slot's state and user types.
 *
 * It does not stream anything (pg_repl.c does) and never changes data; the
 * only DDL it runs is CREATE PUBLICATION when the publication is missing
 * (an existing one is only checked: publication_coverage()).
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "capture/cap_int.h"

static int
cat_exec(PGconn *c, const char *what, const char *sql, int nparams,
    const char *const *params, PGresult **res, struct sl_err *err)
{
	*res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQstatus(c) == CONNECTION_BAD) {
		/*
		 * The catalog connection sits idle while capture streams, and a
		 * proxy, a firewall or idle_session_timeout may have closed it:
		 * these are read-only lookups, so connect again and ask once more.
		 */
		char why[300];
		size_t k;

		PQclear(*res);
		snprintf(why, sizeof(why), "%s", PQerrorMessage(c));
		k = strlen(why);
		while (k > 0 && (why[k - 1] == '\n' || why[k - 1] == ' '))
			why[--k] = '\0';
		sl_warn("postgres: the catalog connection was lost (%s): connecting again", why);
		PQreset(c);
		*res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	}
	if (PQresultStatus(*res) != PGRES_TUPLES_OK && PQresultStatus(*res) != PGRES_COMMAND_OK) {
		char msg[300];
		size_t n;

		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(*res));
		n = strlen(msg);
		while (n > 0 && msg[n - 1] == '\n')
			msg[--n] = '\0';
		PQclear(*res);
		*res = NULL;
		return sl_errf(err, SL_EPROTO, "postgres: %s: %s", what, msg);
	}
	return 0;
}

/* Trim spaces around [s, e). */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static int
pattern_match_one(const char *pat, size_t len, const char *schema, const char *name)
{
	char buf[520], full[520];
	int nodot;

	if (len >= 512)
		return 0;
	nodot = memchr(pat, '.', len) == NULL;
	snprintf(buf, sizeof(buf), "%s%.*s", nodot ? "public." : "", (int)len, pat);
	if ((size_t)snprintf(full, sizeof(full), "%s.%s", schema, name) >= sizeof(full))
		return 0;
	return fnmatch(buf, full, 0) == 0;
}

int
cap_pg_table_match(const char *patterns, const char *schema, const char *name)
{
	const char *p = patterns;
	int included = 0;

	while (*p) {
		const char *e = strchr(p, ','), *s = p;

		if (e == NULL)
			e = p + strlen(p);
		trim(&s, &e);
		if (s < e && *s == '!') {
			s++;
			if (pattern_match_one(s, (size_t)(e - s), schema, name))
				return 0;	/* an exclude wins wherever it is */
		} else if (s < e && pattern_match_one(s, (size_t)(e - s), schema, name)) {
			included = 1;
		}
		p = *e ? e + 1 : e;
	}
	return included;
}

int
cap_pg_tables_resolve(struct pg_conn *c, const char *patterns, struct cap_pg_table **out,
    size_t *n, struct sl_err *err)
{
	static const char sql[] =
	    "SELECT n.nspname, c.relname, c.oid::text, "
	    " (c.relreplident = 'f' OR (c.relreplident = 'd' AND EXISTS "
	    "   (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)) "
	    "  OR (c.relreplident = 'i' AND EXISTS "
	    "   (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))::text, "
	    " (c.relkind = 'p')::text, c.relpersistence::text "
	    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
	    "AND c.relpersistence <> 't' "
	    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	    "AND n.nspname !~ '^pg_toast' ORDER BY 1, 2";
	PGresult *res;
	struct cap_pg_table *t = NULL;
	struct sl_buf unlogged = { 0 };
	size_t k = 0, n_unlogged = 0;
	int i, rc;

	*out = NULL;
	*n = 0;
	if (patterns == NULL || patterns[strspn(patterns, " ,\t")] == '\0')
		return sl_errf(err, SL_EINVAL, "tables: no pattern given");
	if ((rc = cat_exec(c, "list tables", sql, 0, NULL, &res, err)) != 0)
		return rc;
	for (i = 0; i < PQntuples(res); i++) {
		const char *schema = PQgetvalue(res, i, 0), *name = PQgetvalue(res, i, 1);

		if (!cap_pg_table_match(patterns, schema, name))
			continue;
		if (PQgetvalue(res, i, 5)[0] == 'u') {
			/* no WAL, so nothing to decode, and no publication takes it */
			sl_buf_printf(&unlogged, "%s%s.%s", n_unlogged++ ? ", " : "", schema, name);
			continue;
		}
		t = sl_realloc(t, (k + 1) * sizeof(*t));
		t[k].schema = sl_strdup(schema);
		t[k].name = sl_strdup(name);
		t[k].oid = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		t[k].has_key = strcmp(PQgetvalue(res, i, 3), "true") == 0;
		t[k].partitioned = strcmp(PQgetvalue(res, i, 4), "true") == 0;
		k++;
	}
	PQclear(res);
	if (n_unlogged > 0) {
		sl_buf_add_u8(&unlogged, 0);
		sl_warn("'tables' matches %zu unlogged table%s, left out: %s (PostgreSQL writes "
		    "no WAL for an unlogged table, so it has no changes to capture; ALTER TABLE "
		    "... SET LOGGED to capture it)", n_unlogged, n_unlogged == 1 ? "" : "s",
		    (const char *)unlogged.p);
		sl_buf_free(&unlogged);
	}
	if (k == 0)
		return sl_errf(err, SL_ENOTFOUND, "tables = %s matches no table in the database%s",
		    patterns, n_unlogged ? " but unlogged ones" : "");
	*out = t;
	*n = k;
	return 0;
}

void
cap_pg_tables_free(struct cap_pg_table *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(t[i].schema);
		free(t[i].name);
	}
	free(t);
}

int
cap_pg_privileges_check(struct pg_conn *c, const struct cap_pg_table *t, size_t n,
    struct sl_err *err)
{
	PGresult *res;
	char oid[16];
	const char *params[1] = { oid };
	size_t i;
	int rc;

	if ((rc = cat_exec(c, "check role", "SELECT current_user, "
	    "(rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user",
	    0, NULL, &res, err)) != 0)
		return rc;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "true") != 0) {
		rc = sl_errf(err, SL_EPROTO, "postgres: role \"%s\" lacks the REPLICATION "
		    "attribute needed for logical replication; run as a superuser: "
		    "ALTER ROLE \"%s\" REPLICATION", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
		PQclear(res);
		return rc;
	}
	PQclear(res);
	for (i = 0; i < n; i++) {
		snprintf(oid, sizeof(oid), "%u", t[i].oid);
		if ((rc = cat_exec(c, "check SELECT", "SELECT has_table_privilege($1::oid, "
		    "'SELECT')::text, current_user", 1, params, &res, err)) != 0)
			return rc;
		if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "true") != 0) {
			rc = sl_errf(err, SL_EPROTO, "postgres: role \"%s\" lacks SELECT on "
			    "table %s.%s (needed for the snapshot and by the publication): "
			    "GRANT SELECT ON \"%s\".\"%s\" TO \"%s\"", PQgetvalue(res, 0, 1),
			    t[i].schema, t[i].name, t[i].schema, t[i].name, PQgetvalue(res, 0, 1));
			PQclear(res);
			return rc;
		}
		PQclear(res);
	}
	return 0;
}

/*
 * An existing publication is used as it is, so a table that the patterns
 * match but the publication leaves out (added to 'tables' later, or
 * created later under a pattern like public.*) would have no changes at
 * all, silently.  Warn, naming the tables and the statement that adds
 * them.  Not an error: a new table matching a pattern must not stop the
 * capture of all the others.  A partitioned table counts as published
 * when it or any of its partitions is (pgoutput publishes the leaves;
 * pg_partition_tree() returns nothing for an ordinary table).
 */
static int
publication_coverage(struct pg_conn *c, const char *pub, const struct cap_pg_table *t,
    size_t n, struct sl_err *err)
{
#define COVERAGE_SQL(is_member) \
	    "SELECT format('%I.%I', mn.nspname, mc.relname) " \
	    "FROM unnest($2::oid[]) WITH ORDINALITY AS m(oid, i) " \
	    "JOIN pg_class mc ON mc.oid = m.oid JOIN pg_namespace mn ON mn.oid = mc.relnamespace " \
	    "WHERE NOT EXISTS (SELECT 1 FROM pg_publication_tables p " \
	    " JOIN pg_namespace n ON n.nspname = p.schemaname " \
	    " JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename " \
	    " WHERE p.pubname = $1 AND " is_member ") ORDER BY m.i"
	const char *sql = PQserverVersion(c) >= 120000 ?
	    COVERAGE_SQL("(c.oid = m.oid OR c.oid IN "
	    "(SELECT relid FROM pg_partition_tree(m.oid::regclass)))") :
	    COVERAGE_SQL("c.oid = m.oid");
#undef COVERAGE_SQL
	struct sl_buf oids = { 0 }, names = { 0 };
	const char *params[2];
	PGresult *res;
	char *id;
	size_t i;
	int rc, k;

	sl_buf_add_u8(&oids, '{');
	for (i = 0; i < n; i++)
		sl_buf_printf(&oids, "%s%" PRIu32, i ? "," : "", t[i].oid);
	sl_buf_printf(&oids, "}");
	sl_buf_add_u8(&oids, 0);
	params[0] = pub;
	params[1] = (const char *)oids.p;
	rc = cat_exec(c, "check the publication's tables", sql, 2, params, &res, err);
	sl_buf_free(&oids);
	if (rc != 0)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	for (k = 0; k < PQntuples(res); k++)
		sl_buf_printf(&names, "%s%s", k ? ", " : "", PQgetvalue(res, k, 0));
	sl_buf_add_u8(&names, 0);
	id = PQescapeIdentifier(c, pub, strlen(pub));
	sl_warn("publication %s does not include %d table%s that 'tables' matches, so %s "
	    "changes are not captured: %s. To capture them: ALTER PUBLICATION %s ADD TABLE %s; "
	    "then restart capture, and copy the rows they already hold with SELECT "
	    "pg_logical_emit_message(true, 'sluice.snapshot', '<the tables>'). To leave "
	    "them out, exclude them in 'tables' with !schema.table", pub, PQntuples(res), PQntuples(res) == 1 ? "" : "s",
	    PQntuples(res) == 1 ? "its" : "their", (const char *)names.p, id ? id : pub,
	    (const char *)names.p);
	PQfreemem(id);
	sl_buf_free(&names);
	PQclear(res);
	return 0;
}

int
cap_pg_publication_ensure(struct pg_conn *c, const char *pub, const struct cap_pg_table *t,
    size_t n, int *created, struct sl_err *err)
{
	const char *params[1] = { pub };
	struct sl_buf sql = { 0 };
	PGresult *res;
	size_t i;
	char *id;
	int rc;

	*created = 0;
	if ((rc = cat_exec(c, "look up publication",
	    "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, params, &res, err)) != 0)
		return rc;
	if (PQntuples(res) == 1) {
		PQclear(res);
		return publication_coverage(c, pub, t, n, err);
	}
	PQclear(res);
	id = PQescapeIdentifier(c, pub, strlen(pub));
	sl_buf_printf(&sql, "CREATE PUBLICATION %s FOR TABLE ", id);
	PQfreemem(id);
	for (i = 0; i < n; i++) {
		char *s = PQescapeIdentifier(c, t[i].schema, strlen(t[i].schema));
		char *nm = PQescapeIdentifier(c, t[i].name, strlen(t[i].name));

		sl_buf_printf(&sql, "%s%s.%s", i ? ", " : "", s, nm);
		PQfreemem(s);
		PQfreemem(nm);
	}
	sl_buf_add_u8(&sql, 0);
	res = PQexec(c, (const char *)sql.p);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state && strcmp(state, "42501") == 0)
			rc = sl_errf(err, SL_EPROTO, "postgres: cannot create publication \"%s\": "
			    "%s; CREATE PUBLICATION needs ownership of every listed table "
			    "(and CREATE on the database): run it as the tables' owner, "
			    "then restart capture: %s", pub, PQresultErrorField(res,
			    PG_DIAG_MESSAGE_PRIMARY), (const char *)sql.p);
		else
			rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s", (const char *)sql.p,
			    PQresultErrorMessage(res));
	} else {
		*created = 1;
	}
	PQclear(res);
	sl_buf_free(&sql);
	return rc;
}

int
cap_pg_slot_info(struct pg_conn *c, const char *slot, struct cap_pg_slot_info *out,
    struct sl_err *err)
{
	const char *params[1] = { slot };
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cat_exec(c, "look up slot",
	    "SELECT coalesce(confirmed_flush_lsn::text, ''), coalesce(restart_lsn::text, ''), "
	    "coalesce(wal_status, ''), coalesce(plugin, ''), coalesce(database, ''), "
	    "active::text FROM pg_replication_slots WHERE slot_name = $1",
	    1, params, &res, err)) != 0)
		return rc;
	if (PQntuples(res) == 1) {
		out->exists = 1;
		(void)cap_lsn_parse(PQgetvalue(res, 0, 0), &out->confirmed_flush);
		(void)cap_lsn_parse(PQgetvalue(res, 0, 1), &out->restart_lsn);
		snprintf(out->wal_status, sizeof(out->wal_status), "%s", PQgetvalue(res, 0, 2));
		snprintf(out->plugin, sizeof(out->plugin), "%s", PQgetvalue(res, 0, 3));
		snprintf(out->database, sizeof(out->database), "%s", PQgetvalue(res, 0, 4));
		out->active = strcmp(PQgetvalue(res, 0, 5), "true") == 0;
	}
	PQclear(res);
	return 0;
}

int
cap_pg_type_lookup(struct pg_conn *c, uint32_t oid, uint32_t *base_oid, int *is_enum,
    char *name, size_t name_size, struct sl_err *err)
{
	char oidtxt[16];
	const char *params[1] = { oidtxt };
	PGresult *res;
	int rc, depth;

	*base_oid = oid;
	*is_enum = 0;
	if (name_size)
		name[0] = '\0';
	for (depth = 0; depth < 16; depth++) {
		snprintf(oidtxt, sizeof(oidtxt), "%u", *base_oid);
		if ((rc = cat_exec(c, "look up type", "SELECT typtype::text, typbasetype::text, "
		    "typname FROM pg_type WHERE oid = $1::oid", 1, params, &res, err)) != 0)
			return rc;
		if (PQntuples(res) != 1) {
			PQclear(res);
			return sl_errf(err, SL_ENOTFOUND, "postgres: type oid %u not found", oid);
		}
		if (depth == 0 && name_size)
			snprintf(name, name_size, "%s", PQgetvalue(res, 0, 2));
		if (strcmp(PQgetvalue(res, 0, 0), "d") == 0) {
			*base_oid = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
			PQclear(res);
			continue;
		}
		*is_enum = strcmp(PQgetvalue(res, 0, 0), "e") == 0;
		PQclear(res);
		return 0;
	}
	return sl_errf(err, SL_ECORRUPT, "postgres: type oid %u: domains nested too deep", oid);
}

int
cap_pg_partition_root(struct pg_conn *c, uint32_t relid, uint32_t *root, char **schema,
    char **name, struct sl_err *err)
{
	char oid[16];
	const char *params[1] = { oid };
	PGresult *res;
	int rc;

	*root = 0;
	*schema = *name = NULL;
	if (PQserverVersion(c) < 120000)	/* no pg_partition_root() */
		return 0;
	snprintf(oid, sizeof(oid), "%u", relid);
	if ((rc = cat_exec(c, "partition root", "SELECT r.oid::text, n.nspname, r.relname "
	    "FROM pg_class p JOIN pg_class r ON r.oid = pg_partition_root(p.oid) "
	    "JOIN pg_namespace n ON n.oid = r.relnamespace "
	    "WHERE p.oid = $1::oid AND p.relispartition", 1, params, &res, err)) != 0)
		return rc;
	if (PQntuples(res) == 1) {
		*root = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		*schema = sl_strdup(PQgetvalue(res, 0, 1));
		*name = sl_strdup(PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return 0;
}

int
cap_pg_partition_leaves(struct pg_conn *c, uint32_t root, long *n, struct sl_err *err)
{
	char oid[16];
	const char *params[1] = { oid };
	PGresult *res;
	int rc;

	snprintf(oid, sizeof(oid), "%u", root);
	if ((rc = cat_exec(c, "partitions", "SELECT count(*) FROM "
	    "pg_partition_tree($1::oid::regclass) WHERE isleaf", 1, params, &res, err)) != 0)
		return rc;
	*n = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return 0;
}

/* The first column of what 'sql' ($1 = the relation's oid) returns. */
static int
cat_names(struct pg_conn *c, const char *what, const char *sql, uint32_t relid,
    char ***names, size_t *n, struct sl_err *err)
{
	char oid[16];
	const char *params[1] = { oid };
	PGresult *res;
	int i, rc;

	*names = NULL;
	*n = 0;
	snprintf(oid, sizeof(oid), "%u", relid);
	if ((rc = cat_exec(c, what, sql, 1, params, &res, err)) != 0)
		return rc;
	if (PQntuples(res) > 0) {
		*names = sl_calloc((size_t)PQntuples(res), sizeof(**names));
		for (i = 0; i < PQntuples(res); i++)
			(*names)[i] = sl_strdup(PQgetvalue(res, i, 0));
		*n = (size_t)PQntuples(res);
	}
	PQclear(res);
	return 0;
}

int
cap_pg_pk_columns(struct pg_conn *c, uint32_t relid, char ***names, size_t *n,
    struct sl_err *err)
{
	return cat_names(c, "primary key columns", "SELECT a.attname FROM pg_index i "
	    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
	    "WHERE i.indrelid = $1::oid AND i.indisprimary", relid, names, n, err);
}

int
cap_pg_not_null_columns(struct pg_conn *c, uint32_t relid, char ***names, size_t *n,
    struct sl_err *err)
{
	return cat_names(c, "NOT NULL columns", "SELECT attname FROM pg_attribute "
	    "WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND attnotnull",
	    relid, names, n, err);
}
