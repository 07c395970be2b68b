/*
 * capture/event.c: what both source types do with a change event once it
 * is built: its partition, its key and value in the configured format, and
 * the per-table counts of its transaction; and the columns exclude_columns
 * leaves out of every event.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "capture/cap_int.h"
#include "schemas/sch.h"

int32_t
cap_key_partition(const struct cap_topic *topic, const struct sl_buf *key)
{
	if (key == NULL || key->len == 0 || topic->partitions <= 1)
		return 0;
	return sl_murmur2_partition(key->p, key->len, topic->partitions);
}

int
cap_event_encode(int json, const struct sch_json_opts *jo, const struct sch_event *ev,
    struct sl_slice table_pb, struct sl_buf *key, struct sl_buf *val, struct sl_err *err)
{
	int rc;

	sl_buf_reset(key);
	sl_buf_reset(val);
	if (json) {
		rc = sch_key_encode_json(ev, jo, key);
		if (rc == SL_ENOTFOUND) {
			sl_buf_reset(key);
			rc = 0;
		}
		if (rc == 0)
			rc = sch_event_encode_json(ev, jo, val);
	} else {
		rc = sch_key_encode_pb(ev, key);
		if (rc == SL_ENOTFOUND) {
			sl_buf_reset(key);
			rc = 0;
		}
		if (rc == 0)
			rc = sch_event_encode_pb_table(ev, table_pb, val);
	}
	if (rc != 0) {
		struct sl_err e2 = { 0 };
		const char *ns = ev->source.schema ? ev->source.schema :
		    ev->source.db ? ev->source.db : "";

		(void)sch_event_check_(ev, &e2);
		return sl_errf(err, rc, "encoding a %c event of %s.%s: %s", (char)ev->op, ns,
		    ev->source.table ? ev->source.table : "", e2.msg[0] ? e2.msg :
		    sl_strerror(rc));
	}
	return 0;
}

uint64_t
cap_tx_count(struct sch_tx_count **counts, uint32_t *n, const char *collection)
{
	uint32_t i;

	for (i = 0; i < *n; i++)
		if ((*counts)[i].data_collection == collection)
			return ++(*counts)[i].event_count;
	*counts = sl_realloc(*counts, (*n + 1) * sizeof(**counts));
	(*counts)[*n].data_collection = collection;
	(*counts)[*n].event_count = 1;
	return (*counts)[(*n)++].event_count;
}

uint64_t
cap_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* ------------------------------------------------- exclude_columns */

/*
 * The next item of the list [*p, end) separated by 'sep', spaces and tabs
 * around it trimmed: its start in '*s' and length in '*n', and '*p' past
 * the separator.  0 when the list is done ("a,b," has two items).
 */
static int
list_next(const char **p, const char *end, int sep, const char **s, size_t *n)
{
	const char *a = *p, *e;

	if (a >= end)
		return 0;
	if ((e = memchr(a, sep, (size_t)(end - a))) == NULL)
		e = end;
	while (a < e && (*a == ' ' || *a == '\t'))
		a++;
	*s = a;
	*n = (size_t)(e - a);
	while (*n > 0 && (a[*n - 1] == ' ' || a[*n - 1] == '\t'))
		(*n)--;
	*p = e < end ? e + 1 : end;
	return 1;
}

/* fnmatch of the 'n' bytes at 'pat' against 'full'; 0 for a pattern too long */
static int
match_n(const char *pat, size_t n, const char *full)
{
	char buf[600];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, pat, n);
	buf[n] = '\0';
	return fnmatch(buf, full, 0) == 0;
}

/*
 * Each pattern of 'patterns' (comma-separated) is matched with fnmatch
 * against "ns.table.column", where ns is the schema (PostgreSQL) or the
 * database (MySQL).
 */
int
cap_column_excluded(const char *patterns, const char *ns, const char *table,
    const char *column)
{
	const char *p = patterns, *end, *s;
	char full[800];
	size_t n;

	if (p == NULL || (size_t)snprintf(full, sizeof(full), "%s.%s.%s", ns ? ns : "", table,
	    column) >= sizeof(full))
		return 0;
	for (end = p + strlen(p); list_next(&p, end, ',', &s, &n); )
		if (match_n(s, n, full))
			return 1;
	return 0;
}

int
cap_exclude_columns_check(const char *patterns, char *why, size_t whylen)
{
	const char *p = patterns, *end = p + strlen(p), *s, *d;
	size_t n;

	while (list_next(&p, end, ',', &s, &n)) {
		int dots = 0;

		for (d = s; d < s + n; d++)
			dots += *d == '.';
		if (n == 0 || dots < 2 || n >= 600 || s[0] == '!') {
			snprintf(why, whylen, "'%.*s' is not a pattern ns.table.column "
			    "(e.g. public.users.password_hash, *.*.ssn)", (int)(n > 200 ? 200 : n), s);
			return -1;
		}
	}
	return 0;
}

int
cap_columns_keep(const char *patterns, const char *ns, const char *table,
    const struct sch_column *cols, uint32_t n, uint32_t **keep, uint32_t *n_keep,
    struct sl_err *err)
{
	uint32_t i, k = 0;
	uint32_t *out;

	*keep = NULL;
	*n_keep = n;
	if (patterns == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (cap_column_excluded(patterns, ns, table, cols[i].name)) {
			if (cols[i].is_key)
				return sl_errf(err, SL_ECONFIG, "exclude_columns: column %s of "
				    "%s.%s is part of the message key, which cannot leave a "
				    "column out", cols[i].name, ns ? ns : "", table);
			k++;
		}
	if (k == 0)
		return 0;
	out = sl_calloc(n - k + 1, sizeof(*out));
	for (i = 0, k = 0; i < n; i++)
		if (!cap_column_excluded(patterns, ns, table, cols[i].name))
			out[k++] = i;
	*keep = out;
	*n_keep = k;
	return 0;
}

void
cap_values_keep(struct sch_value *v, const uint32_t *keep, uint32_t n_keep)
{
	uint32_t i;

	if (v == NULL || keep == NULL)
		return;
	for (i = 0; i < n_keep; i++)	/* keep[i] >= i: in place, ascending */
		v[i] = v[keep[i]];
}

/* ------------------------------------------------------ key_columns */

/*
 * The entry of 'spec' ("pattern:col,col; pattern:col") whose table pattern
 * matches "ns.table": its column list as [*cols, *cols + *len); 0 if none.
 */
static int
key_columns_find(const char *spec, const char *ns, const char *table, const char **cols,
    size_t *len)
{
	const char *p = spec, *end, *s, *c;
	char full[600];
	size_t n;

	if (spec == NULL ||
	    (size_t)snprintf(full, sizeof(full), "%s.%s", ns ? ns : "", table) >= sizeof(full))
		return 0;
	for (end = p + strlen(p); list_next(&p, end, ';', &s, &n); ) {
		const char *q = s, *t;
		size_t tn;

		if ((c = memchr(s, ':', n)) == NULL || !list_next(&q, c, ':', &t, &tn))
			continue;	/* 't': the table pattern, trimmed */
		if (match_n(t, tn, full)) {
			*cols = c + 1;
			*len = (size_t)(s + n - c - 1);
			return 1;
		}
	}
	return 0;
}

int
cap_key_columns_check(const char *spec, char *why, size_t whylen)
{
	const char *p = spec, *end = p + strlen(p), *s, *c, *d, *q, *col;
	size_t n, cn;

	while (list_next(&p, end, ';', &s, &n)) {
		int dots = 0, names = 0, empty = 0;

		if (n == 0 && p == end && s != spec)
			break;		/* a trailing ';' */
		c = memchr(s, ':', n);
		for (d = s; c != NULL && d < c; d++)
			dots += *d == '.';
		/* the columns: comma-separated, none empty */
		for (q = c ? c + 1 : s + n; c != NULL && list_next(&q, s + n, ',', &col, &cn); names++)
			empty |= cn == 0;
		empty |= c != NULL && c + 1 < s + n && s[n - 1] == ',';
		if (c == NULL || dots == 0 || names == 0 || empty || n >= 600) {
			snprintf(why, whylen, "'%.*s' is not schema.table:column[,column] "
			    "(e.g. public.audit:id,ts; app.*_log:id)", (int)(n > 200 ? 200 : n), s);
			return -1;
		}
	}
	return 0;
}

int
cap_key_columns_named(const char *spec, const char *ns, const char *table)
{
	const char *cols;
	size_t len;

	return key_columns_find(spec, ns, table, &cols, &len);
}

int
cap_key_columns_apply(const char *spec, const char *ns, const char *table,
    struct sch_column *cols, uint32_t n, int *applied, struct sl_err *err)
{
	const char *list, *p, *s;
	size_t len, k;
	uint32_t i;

	*applied = 0;
	if (!key_columns_find(spec, ns, table, &list, &len))
		return 0;
	for (i = 0; i < n; i++)
		cols[i].is_key = 0;
	for (p = list; list_next(&p, list + len, ',', &s, &k); ) {
		for (i = 0; i < n; i++)
			if (strlen(cols[i].name) == k && memcmp(cols[i].name, s, k) == 0)
				break;
		if (i == n)
			return sl_errf(err, SL_ECONFIG, "key_columns: table %s%s%s has no column "
			    "'%.*s'", ns ? ns : "", ns ? "." : "", table, (int)k, s);
		cols[i].is_key = 1;
	}
	*applied = 1;
	return 0;
}

/* ----------------------------------------------------- mask_columns */

uint8_t *
cap_columns_mask(const char *patterns, const char *ns, const char *table,
    const struct sch_column *cols, uint32_t n)
{
	uint8_t *mask = NULL;
	uint32_t i;

	for (i = 0; patterns != NULL && i < n; i++)
		if (cap_column_excluded(patterns, ns, table, cols[i].name)) {
			if (mask == NULL)
				mask = sl_calloc(n + 1, 1);
			mask[i] = 1;
		}
	return mask;
}

static void
mask_one(const char *salt, const void *p, size_t n, struct sl_arena *a, struct sch_value *out)
{
	static const char hexd[] = "0123456789abcdef";
	struct sl_sha256 c;
	uint8_t d[32];
	char *hex = sl_arena_alloc(a, 65);
	int i;

	sl_sha256_init(&c);
	sl_sha256_update(&c, salt, strlen(salt));
	sl_sha256_update(&c, p, n);
	sl_sha256_final(&c, d);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = hexd[d[i] >> 4];
		hex[2 * i + 1] = hexd[d[i] & 15];
	}
	hex[64] = '\0';
	*out = sch_value_text(hex, 64);
}

int
cap_values_mask(const char *salt, const uint8_t *mask, const struct sch_table *t,
    const char *collection, const struct sch_value *v, struct sch_value **out,
    struct sl_arena *a, struct sl_err *err)
{
	struct sch_value *m;
	uint32_t i;

	*out = (struct sch_value *)v;
	if (mask == NULL || v == NULL)
		return 0;
	m = sl_arena_alloc(a, (t->n_columns + 1) * sizeof(*m));
	memcpy(m, v, t->n_columns * sizeof(*m));
	for (i = 0; i < t->n_columns; i++) {
		if (!mask[i] || v[i].kind == SCH_NULL || v[i].kind == SCH_UNCHANGED)
			continue;
		if (v[i].kind == SCH_BYTES)
			mask_one(salt, v[i].u.bytes.p, v[i].u.bytes.len, a, &m[i]);
		else if (sch_kind_is_text(v[i].kind))
			mask_one(salt, v[i].u.s.p, v[i].u.s.len, a, &m[i]);
		else
			return sl_errf(err, SL_ECONFIG, "mask_columns: column %s of %s holds %s values; "
			    "only text and bytes columns can be masked (leave it out with "
			    "exclude_columns instead)", t->columns[i].name, collection,
			    sch_kind_name(v[i].kind));
	}
	*out = m;
	return 0;
}

/* ---------------------------------------------------------- signals */

int
cap_signal_tables(const char *data, size_t len, struct sl_buf *pat)
{
	const char *p, *e = data ? data + len : NULL;

	sl_buf_reset(pat);
	if (data == NULL)
		return -1;
	if (memchr(data, '{', len) != NULL) {
		/* {"data-collections": ["db.t1", "db.t2"], ...}: the strings of the array */
		if ((p = memchr(data, '[', len)) == NULL)
			return -1;
		for (p++; p < e && *p != ']'; p++) {
			const char *q;

			if (*p != '"')
				continue;
			if ((q = memchr(p + 1, '"', (size_t)(e - p - 1))) == NULL)
				break;
			sl_buf_printf(pat, "%s%.*s", pat->len ? ", " : "", (int)(q - p - 1), p + 1);
			p = q;
		}
	} else {
		sl_buf_add(pat, data, len);
	}
	if (pat->len == 0 || pat->len > 4096 || memchr(pat->p, 0, pat->len) != NULL) {
		sl_buf_reset(pat);
		return -1;
	}
	sl_buf_add_u8(pat, 0);
	pat->len--;
	return 0;
}

int
cap_column_index(const struct sch_table *t, const char *name)
{
	uint32_t i;

	for (i = 0; i < t->n_columns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The text of column 'name' in values 'v' of 't', or NULL (absent, null, not text). */
static const char *
row_text(const struct sch_table *t, const struct sch_value *v, const char *name, size_t *len)
{
	int i = v != NULL ? cap_column_index(t, name) : -1;

	if (i < 0 || !sch_kind_is_text(v[i].kind))
		return NULL;
	*len = v[i].u.s.len;
	return v[i].u.s.p;
}

int
cap_signal_row(const struct sch_table *t, const struct sch_value *v, const char *where,
    const char *when, struct sl_buf *pat)
{
	const char *type, *data, *id;
	size_t tlen = 0, dlen = 0, ilen = 0;

	type = row_text(t, v, "type", &tlen);
	data = row_text(t, v, "data", &dlen);
	if ((id = row_text(t, v, "id", &ilen)) == NULL)
		id = "", ilen = 0;
	if (ilen > 64)
		ilen = 64;
	if (type == NULL || tlen != 16 || memcmp(type, "execute-snapshot", 16) != 0) {
		sl_info("signal '%.*s' at %s: type '%.*s' is not one capture knows "
		    "(execute-snapshot): left alone", (int)ilen, id, where,
		    (int)(tlen > 64 ? 64 : tlen), type ? type : "");
		return 0;
	}
	if (cap_signal_tables(data, dlen, pat) != 0) {
		sl_warn("signal '%.*s' at %s: execute-snapshot without tables (data "
		    "{\"data-collections\": [\"schema.table\"]}): left alone", (int)ilen, id, where);
		return 0;
	}
	sl_info("signal '%.*s' at %s: execute-snapshot of %s%s", (int)ilen, id, where,
	    (const char *)pat->p, when);
	return 1;
}
