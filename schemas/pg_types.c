/*
 * schemas/pg_types.c: PostgreSQL's text output format <-> struct sch_value.
 *
 * pgoutput sends every column in the type's text output format (unless the
 * binary option is on, which capture does not use).  This file turns that
 * text into typed values for every built-in type and prints a value back
 * exactly as PostgreSQL's output function would, so that parse followed by
 * print is the identity on the server's output (tests/check_sch.c holds
 * golden strings taken from a real PostgreSQL 15).
 *
 * It assumes the settings capture puts on its connection: DateStyle=ISO,
 * TimeZone=UTC, IntervalStyle=postgres, bytea_output=hex and the default
 * extra_float_digits=1 (shortest round-trip floats, PostgreSQL 12+).  The
 * parsers are strict: text that PostgreSQL would not print under those
 * settings is SL_ECORRUPT, with two leniencies noted where they live
 * (timestamptz with a non-UTC offset, bytea in escape format).
 *
 * It is not a SQL literal parser (no whitespace trimming, no 'tomorrow',
 * no exponent in numeric) and it knows nothing of the wire protocol.
 *
 * INVARIANTS
 *  (1) Every allocation is bounded by the input length: a value never
 *      needs more than a small multiple of 'len' bytes of arena.
 *  (2) A date is days since 1970-01-01 in the proleptic Gregorian calendar
 *      with astronomical years (1 BC is year 0), as PostgreSQL computes it.
 *  (3) Array nesting never exceeds SCH_MAX_ARRAY_DEPTH, so the recursion
 *      is bounded whatever the input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemas/sch.h"
#include "schemas/sch_int.h"

/* ------------------------------------------------------------ type table */

struct pg_type {
	uint32_t oid;
	enum sch_kind kind;
	uint32_t elem;			/* element oid of an array type */
	const char *name;
};

/*
 * Every base, range and multirange type of pg_catalog in PostgreSQL 15, and
 * their array types, sorted by oid (generated from pg_type).  box[] uses ';'
 * as its delimiter, so it is kept as text (SCH_OTHER) rather than parsed.
 */
static const struct pg_type pg_types[] = {
	{ 16, SCH_BOOL, 0, "bool" },
	{ 17, SCH_BYTES, 0, "bytea" },
	{ 18, SCH_TEXT, 0, "char" },
	{ 19, SCH_TEXT, 0, "name" },
	{ 20, SCH_INT64, 0, "int8" },
	{ 21, SCH_INT64, 0, "int2" },
	{ 22, SCH_OTHER, 0, "int2vector" },
	{ 23, SCH_INT64, 0, "int4" },
	{ 24, SCH_OTHER, 0, "regproc" },
	{ 25, SCH_TEXT, 0, "text" },
	{ 26, SCH_UINT64, 0, "oid" },
	{ 27, SCH_OTHER, 0, "tid" },
	{ 28, SCH_UINT64, 0, "xid" },
	{ 29, SCH_UINT64, 0, "cid" },
	{ 30, SCH_OTHER, 0, "oidvector" },
	{ 114, SCH_JSON, 0, "json" },
	{ 142, SCH_XML, 0, "xml" },
	{ 143, SCH_ARRAY, 142, "_xml" },
	{ 194, SCH_OTHER, 0, "pg_node_tree" },
	{ 199, SCH_ARRAY, 114, "_json" },
	{ 271, SCH_ARRAY, 5069, "_xid8" },
	{ 600, SCH_OTHER, 0, "point" },
	{ 601, SCH_OTHER, 0, "lseg" },
	{ 602, SCH_OTHER, 0, "path" },
	{ 603, SCH_OTHER, 0, "box" },
	{ 604, SCH_OTHER, 0, "polygon" },
	{ 628, SCH_OTHER, 0, "line" },
	{ 629, SCH_ARRAY, 628, "_line" },
	{ 650, SCH_INET, 0, "cidr" },
	{ 651, SCH_ARRAY, 650, "_cidr" },
	{ 700, SCH_DOUBLE, 0, "float4" },
	{ 701, SCH_DOUBLE, 0, "float8" },
	{ 718, SCH_OTHER, 0, "circle" },
	{ 719, SCH_ARRAY, 718, "_circle" },
	{ 774, SCH_MACADDR, 0, "macaddr8" },
	{ 775, SCH_ARRAY, 774, "_macaddr8" },
	{ 790, SCH_MONEY, 0, "money" },
	{ 791, SCH_ARRAY, 790, "_money" },
	{ 829, SCH_MACADDR, 0, "macaddr" },
	{ 869, SCH_INET, 0, "inet" },
	{ 1000, SCH_ARRAY, 16, "_bool" },
	{ 1001, SCH_ARRAY, 17, "_bytea" },
	{ 1002, SCH_ARRAY, 18, "_char" },
	{ 1003, SCH_ARRAY, 19, "_name" },
	{ 1005, SCH_ARRAY, 21, "_int2" },
	{ 1006, SCH_ARRAY, 22, "_int2vector" },
	{ 1007, SCH_ARRAY, 23, "_int4" },
	{ 1008, SCH_ARRAY, 24, "_regproc" },
	{ 1009, SCH_ARRAY, 25, "_text" },
	{ 1010, SCH_ARRAY, 27, "_tid" },
	{ 1011, SCH_ARRAY, 28, "_xid" },
	{ 1012, SCH_ARRAY, 29, "_cid" },
	{ 1013, SCH_ARRAY, 30, "_oidvector" },
	{ 1014, SCH_ARRAY, 1042, "_bpchar" },
	{ 1015, SCH_ARRAY, 1043, "_varchar" },
	{ 1016, SCH_ARRAY, 20, "_int8" },
	{ 1017, SCH_ARRAY, 600, "_point" },
	{ 1018, SCH_ARRAY, 601, "_lseg" },
	{ 1019, SCH_ARRAY, 602, "_path" },
	{ 1020, SCH_OTHER, 0, "_box" },
	{ 1021, SCH_ARRAY, 700, "_float4" },
	{ 1022, SCH_ARRAY, 701, "_float8" },
	{ 1027, SCH_ARRAY, 604, "_polygon" },
	{ 1028, SCH_ARRAY, 26, "_oid" },
	{ 1033, SCH_OTHER, 0, "aclitem" },
	{ 1034, SCH_ARRAY, 1033, "_aclitem" },
	{ 1040, SCH_ARRAY, 829, "_macaddr" },
	{ 1041, SCH_ARRAY, 869, "_inet" },
	{ 1042, SCH_TEXT, 0, "bpchar" },
	{ 1043, SCH_TEXT, 0, "varchar" },
	{ 1082, SCH_DATE, 0, "date" },
	{ 1083, SCH_TIME, 0, "time" },
	{ 1114, SCH_TIMESTAMP, 0, "timestamp" },
	{ 1115, SCH_ARRAY, 1114, "_timestamp" },
	{ 1182, SCH_ARRAY, 1082, "_date" },
	{ 1183, SCH_ARRAY, 1083, "_time" },
	{ 1184, SCH_TIMESTAMPTZ, 0, "timestamptz" },
	{ 1185, SCH_ARRAY, 1184, "_timestamptz" },
	{ 1186, SCH_INTERVAL, 0, "interval" },
	{ 1187, SCH_ARRAY, 1186, "_interval" },
	{ 1231, SCH_ARRAY, 1700, "_numeric" },
	{ 1266, SCH_TIMETZ, 0, "timetz" },
	{ 1270, SCH_ARRAY, 1266, "_timetz" },
	{ 1560, SCH_BITS, 0, "bit" },
	{ 1561, SCH_ARRAY, 1560, "_bit" },
	{ 1562, SCH_BITS, 0, "varbit" },
	{ 1563, SCH_ARRAY, 1562, "_varbit" },
	{ 1700, SCH_NUMERIC, 0, "numeric" },
	{ 1790, SCH_TEXT, 0, "refcursor" },
	{ 2201, SCH_ARRAY, 1790, "_refcursor" },
	{ 2202, SCH_OTHER, 0, "regprocedure" },
	{ 2203, SCH_OTHER, 0, "regoper" },
	{ 2204, SCH_OTHER, 0, "regoperator" },
	{ 2205, SCH_OTHER, 0, "regclass" },
	{ 2206, SCH_OTHER, 0, "regtype" },
	{ 2207, SCH_ARRAY, 2202, "_regprocedure" },
	{ 2208, SCH_ARRAY, 2203, "_regoper" },
	{ 2209, SCH_ARRAY, 2204, "_regoperator" },
	{ 2210, SCH_ARRAY, 2205, "_regclass" },
	{ 2211, SCH_ARRAY, 2206, "_regtype" },
	{ 2249, SCH_OTHER, 0, "record" },
	{ 2287, SCH_ARRAY, 2249, "_record" },
	{ 2949, SCH_ARRAY, 2970, "_txid_snapshot" },
	{ 2950, SCH_UUID, 0, "uuid" },
	{ 2951, SCH_ARRAY, 2950, "_uuid" },
	{ 2970, SCH_OTHER, 0, "txid_snapshot" },
	{ 3220, SCH_OTHER, 0, "pg_lsn" },
	{ 3221, SCH_ARRAY, 3220, "_pg_lsn" },
	{ 3361, SCH_OTHER, 0, "pg_ndistinct" },
	{ 3402, SCH_OTHER, 0, "pg_dependencies" },
	{ 3614, SCH_OTHER, 0, "tsvector" },
	{ 3615, SCH_OTHER, 0, "tsquery" },
	{ 3642, SCH_OTHER, 0, "gtsvector" },
	{ 3643, SCH_ARRAY, 3614, "_tsvector" },
	{ 3644, SCH_ARRAY, 3642, "_gtsvector" },
	{ 3645, SCH_ARRAY, 3615, "_tsquery" },
	{ 3734, SCH_OTHER, 0, "regconfig" },
	{ 3735, SCH_ARRAY, 3734, "_regconfig" },
	{ 3769, SCH_OTHER, 0, "regdictionary" },
	{ 3770, SCH_ARRAY, 3769, "_regdictionary" },
	{ 3802, SCH_JSON, 0, "jsonb" },
	{ 3807, SCH_ARRAY, 3802, "_jsonb" },
	{ 3904, SCH_OTHER, 0, "int4range" },
	{ 3905, SCH_ARRAY, 3904, "_int4range" },
	{ 3906, SCH_OTHER, 0, "numrange" },
	{ 3907, SCH_ARRAY, 3906, "_numrange" },
	{ 3908, SCH_OTHER, 0, "tsrange" },
	{ 3909, SCH_ARRAY, 3908, "_tsrange" },
	{ 3910, SCH_OTHER, 0, "tstzrange" },
	{ 3911, SCH_ARRAY, 3910, "_tstzrange" },
	{ 3912, SCH_OTHER, 0, "daterange" },
	{ 3913, SCH_ARRAY, 3912, "_daterange" },
	{ 3926, SCH_OTHER, 0, "int8range" },
	{ 3927, SCH_ARRAY, 3926, "_int8range" },
	{ 4072, SCH_OTHER, 0, "jsonpath" },
	{ 4073, SCH_ARRAY, 4072, "_jsonpath" },
	{ 4089, SCH_OTHER, 0, "regnamespace" },
	{ 4090, SCH_ARRAY, 4089, "_regnamespace" },
	{ 4096, SCH_OTHER, 0, "regrole" },
	{ 4097, SCH_ARRAY, 4096, "_regrole" },
	{ 4191, SCH_OTHER, 0, "regcollation" },
	{ 4192, SCH_ARRAY, 4191, "_regcollation" },
	{ 4451, SCH_OTHER, 0, "int4multirange" },
	{ 4532, SCH_OTHER, 0, "nummultirange" },
	{ 4533, SCH_OTHER, 0, "tsmultirange" },
	{ 4534, SCH_OTHER, 0, "tstzmultirange" },
	{ 4535, SCH_OTHER, 0, "datemultirange" },
	{ 4536, SCH_OTHER, 0, "int8multirange" },
	{ 4600, SCH_OTHER, 0, "pg_brin_bloom_summary" },
	{ 4601, SCH_OTHER, 0, "pg_brin_minmax_multi_summary" },
	{ 5017, SCH_OTHER, 0, "pg_mcv_list" },
	{ 5038, SCH_OTHER, 0, "pg_snapshot" },
	{ 5039, SCH_ARRAY, 5038, "_pg_snapshot" },
	{ 5069, SCH_UINT64, 0, "xid8" },
	{ 6150, SCH_ARRAY, 4451, "_int4multirange" },
	{ 6151, SCH_ARRAY, 4532, "_nummultirange" },
	{ 6152, SCH_ARRAY, 4533, "_tsmultirange" },
	{ 6153, SCH_ARRAY, 4534, "_tstzmultirange" },
	{ 6155, SCH_ARRAY, 4535, "_datemultirange" },
	{ 6157, SCH_ARRAY, 4536, "_int8multirange" },
};

static const struct pg_type *
type_find(uint32_t oid)
{
	size_t lo = 0, hi = SL_ARRAY_LEN(pg_types);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pg_types[mid].oid == oid)
			return &pg_types[mid];
		if (pg_types[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum sch_kind
sch_pg_type_kind(uint32_t type_oid)
{
	const struct pg_type *t = type_find(type_oid);

	return t != NULL ? t->kind : SCH_TEXT;
}

uint32_t
sch_pg_array_elem(uint32_t type_oid)
{
	const struct pg_type *t = type_find(type_oid);

	return t != NULL && t->kind == SCH_ARRAY ? t->elem : 0;
}

uint32_t
sch_pg_array_of(uint32_t elem_oid)
{
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(pg_types); i++)
		if (pg_types[i].kind == SCH_ARRAY && pg_types[i].elem == elem_oid)
			return pg_types[i].oid;
	return 0;
}

const char *
sch_pg_type_name(uint32_t type_oid)
{
	const struct pg_type *t = type_find(type_oid);

	return t != NULL ? t->name : NULL;
}

/* ------------------------------------------------------------- helpers */

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_MIN (60 * USECS_PER_SEC)
#define USECS_PER_HOUR (60 * USECS_PER_MIN)
#define USECS_PER_DAY (24 * USECS_PER_HOUR)
#define TZ_LIMIT_S (16 * 3600)		/* |offset| < 16 hours, as PG 15 */
#define SHOW_MAX 48			/* bytes of bad text put in a message */

/*
 * Fill 'err' for text that is not a value of 'oid': names the type, the
 * reason and at most SHOW_MAX bytes of the text (non-printables as '?').
 */
static int
bad_text(struct sl_err *err, uint32_t oid, const char *why, const char *s,
    size_t len)
{
	const char *name = sch_pg_type_name(oid);
	char shown[SHOW_MAX + 1];
	size_t i, n = len < SHOW_MAX ? len : SHOW_MAX;

	for (i = 0; i < n; i++)
		shown[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	shown[n] = '\0';
	return SL_CORRUPT(err, "%s (oid %u): %s: \"%s%s\"",
	    name != NULL ? name : "type", oid, why, shown,
	    len > SHOW_MAX ? "..." : "");
}

static struct sch_str
str_copy(struct sl_arena *a, const char *s, size_t len)
{
	char *p = sl_arena_alloc(a, len + 1);
	struct sch_str r;

	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';			/* (2) of sch.h */
	r.p = p;
	r.len = len;
	return r;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
text_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* A cursor over the text being parsed. */
struct cur {
	const char *s;
	size_t len;
	size_t i;
};

static int
cur_eat(struct cur *c, char ch)
{
	if (c->i < c->len && c->s[c->i] == ch) {
		c->i++;
		return 1;
	}
	return 0;
}

/*
 * Read between 'min' and 'max' decimal digits into '*v'.  Returns the
 * number of digits read, or 0 when fewer than 'min' (or none) are there.
 */
static int
cur_digits(struct cur *c, int min, int max, uint64_t *v)
{
	int n = 0;

	*v = 0;
	while (n < max && c->i < c->len && is_digit(c->s[c->i])) {
		*v = *v * 10 + (uint64_t)(c->s[c->i] - '0');
		c->i++;
		n++;
	}
	return n >= min && n > 0 ? n : 0;
}

/* Fractional seconds ".f" of 1..6 digits as micros (0 when absent). */
static int
cur_fraction(struct cur *c, int64_t *us)
{
	int64_t scale = 100000;
	int n = 0;

	*us = 0;
	if (!cur_eat(c, '.'))
		return 0;
	while (c->i < c->len && is_digit(c->s[c->i])) {
		if (++n > 6)
			return -1;
		*us += (c->s[c->i] - '0') * scale;
		scale /= 10;
		c->i++;
	}
	return n == 0 ? -1 : 0;
}

/* ------------------------------------------------------------- integers */

static int
parse_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	uint64_t v = 0, limit;
	size_t i = 0;
	int neg = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || len - i > 20)
		return -1;
	limit = neg ? (uint64_t)-(min + 1) + 1 : (uint64_t)max;
	for (; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (v == 0 ? 0 : -(int64_t)(v - 1) - 1) : (int64_t)v;
	return 0;
}

static int
parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* --------------------------------------------------------------- floats */

/*
 * Syntax check for float output: [-]d+[.d+][e[+-]d+].  strtod alone would
 * accept hex floats, "inf", leading spaces and more.
 */
static int
float_syntax_ok(const char *s, size_t len)
{
	struct cur c = { s, len, 0 };
	uint64_t dummy;

	(void)cur_eat(&c, '-');
	while (c.i < len && is_digit(s[c.i]))
		c.i++;
	if (c.i == 0 || !is_digit(s[c.i - 1]))
		return 0;
	if (cur_eat(&c, '.')) {
		if (c.i == len || !is_digit(s[c.i]))
			return 0;
		while (c.i < len && is_digit(s[c.i]))
			c.i++;
	}
	if (cur_eat(&c, 'e')) {
		if (!cur_eat(&c, '+'))
			(void)cur_eat(&c, '-');
		if (!cur_digits(&c, 1, 4, &dummy))
			return 0;
	}
	return c.i == len;
}

static int
parse_float(const char *s, size_t len, int is4, double *out)
{
	char tmp[72];

	if (text_is(s, len, "NaN")) {
		*out = NAN;
		return 0;
	}
	if (text_is(s, len, "Infinity")) {
		*out = INFINITY;
		return 0;
	}
	if (text_is(s, len, "-Infinity")) {
		*out = -INFINITY;
		return 0;
	}
	if (len >= sizeof(tmp) || !float_syntax_ok(s, len))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (is4)
		*out = strtof(tmp, NULL);
	else
		*out = strtod(tmp, NULL);
	return isinf(*out) ? -1 : 0;
}

/* -------------------------------------------------------------- numeric */

static int
numeric_syntax_ok(const char *s, size_t len)
{
	size_t i = 0, d;

	if (text_is(s, len, "NaN") || text_is(s, len, "Infinity") ||
	    text_is(s, len, "-Infinity"))
		return 1;
	if (i < len && s[i] == '-')
		i++;
	for (d = i; i < len && is_digit(s[i]); i++)
		;
	if (i == d)
		return 0;
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && is_digit(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	return i == len;
}

/* ---------------------------------------------------------------- bytea */

static int
parse_bytea(const char *s, size_t len, struct sl_arena *a, struct sl_slice *out)
{
	uint8_t *p;
	size_t i, n = 0;

	if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
		if ((len - 2) % 2 != 0)
			return -1;
		p = sl_arena_alloc(a, (len - 2) / 2 + 1);
		for (i = 2; i < len; i += 2) {
			int hi = sl_hex_digit(s[i]), lo = sl_hex_digit(s[i + 1]);

			if (hi < 0 || lo < 0)
				return -1;
			p[n++] = (uint8_t)(hi << 4 | lo);
		}
		*out = sl_slice_make(p, n);
		return 0;
	}
	/* Leniency: bytea_output = escape ("\\" and "\ooo" escapes). */
	p = sl_arena_alloc(a, len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] != '\\') {
			p[n++] = (uint8_t)s[i];
		} else if (i + 1 < len && s[i + 1] == '\\') {
			p[n++] = '\\';
			i++;
		} else if (i + 3 < len + 0 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			p[n++] = (uint8_t)((s[i + 1] - '0') << 6 |
			    (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		} else {
			return -1;
		}
	}
	*out = sl_slice_make(p, n);
	return 0;
}

/* ----------------------------------------------------------------- uuid */

static int
parse_uuid(const char *s, size_t len, uint8_t *out)
{
	size_t i, n = 0;

	if (len != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		hi = sl_hex_digit(s[i]);
		lo = sl_hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return 0;
}

/* ----------------------------------------------------- dates and times */

/* (2) Days since 1970-01-01 of the proleptic Gregorian 'y'-'m'-'d'. */
int64_t
sch_days_from_civil_(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* (2) The inverse of days_from_civil. */
void
sch_civil_from_days_(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dm[m - 1];
}

/* "YYYY-MM-DD" (year of 4 to 7 digits) as calendar year, month, day. */
static int
cur_date(struct cur *c, int64_t *y, int *m, int *d)
{
	uint64_t yy, mm, dd;

	if (cur_digits(c, 4, 7, &yy) == 0 || !cur_eat(c, '-') ||
	    cur_digits(c, 2, 2, &mm) == 0 || !cur_eat(c, '-') ||
	    cur_digits(c, 2, 2, &dd) == 0)
		return -1;
	if (yy == 0 || mm < 1 || mm > 12 || dd < 1)
		return -1;
	*y = (int64_t)yy;
	*m = (int)mm;
	*d = (int)dd;
	return 0;
}

/* " BC" at the cursor: turns calendar year 'y' into an astronomical one. */
static int
cur_era(struct cur *c, int64_t *y, int m, int d)
{
	if (c->len - c->i == 3 && memcmp(c->s + c->i, " BC", 3) == 0) {
		c->i += 3;
		*y = 1 - *y;
	}
	return d <= days_in_month(*y, m) ? 0 : -1;
}

/* "HH:MM:SS[.ffffff]" as micros since midnight; 24:00:00 is allowed. */
static int
cur_time(struct cur *c, int64_t *us)
{
	uint64_t h, mi, se;
	int64_t frac;

	if (cur_digits(c, 2, 2, &h) == 0 || !cur_eat(c, ':') ||
	    cur_digits(c, 2, 2, &mi) == 0 || !cur_eat(c, ':') ||
	    cur_digits(c, 2, 2, &se) == 0 || cur_fraction(c, &frac) < 0)
		return -1;
	if (h > 24 || mi > 59 || se > 59 ||
	    (h == 24 && (mi != 0 || se != 0 || frac != 0)))
		return -1;
	*us = (int64_t)h * USECS_PER_HOUR + (int64_t)mi * USECS_PER_MIN +
	    (int64_t)se * USECS_PER_SEC + frac;
	return 0;
}

/* "+HH[:MM[:SS]]" as seconds east of UTC. */
static int
cur_offset(struct cur *c, int32_t *off)
{
	uint64_t h, mi = 0, se = 0;
	int neg;
	int64_t s;

	if (cur_eat(c, '+'))
		neg = 0;
	else if (cur_eat(c, '-'))
		neg = 1;
	else
		return -1;
	if (cur_digits(c, 2, 2, &h) == 0)
		return -1;
	if (cur_eat(c, ':')) {
		if (cur_digits(c, 2, 2, &mi) == 0)
			return -1;
		if (cur_eat(c, ':') && cur_digits(c, 2, 2, &se) == 0)
			return -1;
	}
	if (mi > 59 || se > 59)
		return -1;
	s = (int64_t)(h * 3600 + mi * 60 + se);
	if (s >= TZ_LIMIT_S)
		return -1;
	*off = (int32_t)(neg ? -s : s);
	return 0;
}

static int
parse_inf(const char *s, size_t len, struct sch_value *out)
{
	if (text_is(s, len, "infinity")) {
		out->inf = SCH_INF_POS;
		return 1;
	}
	if (text_is(s, len, "-infinity")) {
		out->inf = SCH_INF_NEG;
		return 1;
	}
	return 0;
}

static int
parse_date(const char *s, size_t len, struct sch_value *out)
{
	struct cur c = { s, len, 0 };
	int64_t y, days;
	int m, d;

	if (parse_inf(s, len, out))
		return 0;
	if (cur_date(&c, &y, &m, &d) < 0 || cur_era(&c, &y, m, d) < 0 ||
	    c.i != len)
		return -1;
	days = sch_days_from_civil_(y, m, d);
	if (days < INT32_MIN || days > INT32_MAX)
		return -1;
	out->u.date = (int32_t)days;
	return 0;
}

/*
 * "YYYY-MM-DD HH:MM:SS[.f][+HH[:MM]][ BC]": 'tz' says whether the offset
 * is there.  Leniency: any offset is accepted and folded into UTC, so a
 * server left at another TimeZone still yields the right instant.
 */
static int
parse_timestamp(const char *s, size_t len, int tz, struct sch_value *out)
{
	struct cur c = { s, len, 0 };
	int64_t y, days, tod, us;
	int32_t off = 0;
	int m, d;

	if (parse_inf(s, len, out))
		return 0;
	if (cur_date(&c, &y, &m, &d) < 0 || !cur_eat(&c, ' ') ||
	    cur_time(&c, &tod) < 0 || tod == USECS_PER_DAY)
		return -1;
	if (tz && cur_offset(&c, &off) < 0)
		return -1;
	if (cur_era(&c, &y, m, d) < 0 || c.i != len)
		return -1;
	days = sch_days_from_civil_(y, m, d);
	if (__builtin_mul_overflow(days, USECS_PER_DAY, &us) ||
	    __builtin_add_overflow(us, tod - (int64_t)off * USECS_PER_SEC, &us) ||
	    us == INT64_MIN || us == INT64_MAX)
		return -2;	/* valid, but past 294247 AD: kept as text */
	out->u.ts_us = us;
	return 0;
}

static int
parse_time(const char *s, size_t len, struct sch_value *out)
{
	struct cur c = { s, len, 0 };

	if (cur_time(&c, &out->u.time_us) < 0 || c.i != len)
		return -1;
	return 0;
}

static int
parse_timetz(const char *s, size_t len, struct sch_value *out)
{
	struct cur c = { s, len, 0 };

	if (cur_time(&c, &out->u.timetz.time_us) < 0 ||
	    cur_offset(&c, &out->u.timetz.offset_s) < 0 || c.i != len)
		return -1;
	return 0;
}

/* ------------------------------------------------------------- interval */

/*
 * IntervalStyle = postgres: "[+-]N year[s] [+-]N mon[s] [+-]N day[s]
 * [+-]HH:MM:SS[.ffffff]", every part optional but at least one present,
 * parts separated by one space, the time part last.
 */
static int
parse_interval(const char *s, size_t len, struct sch_value *out)
{
	struct cur c = { s, len, 0 };
	int64_t months = 0, days = 0, us = 0;
	int seen = 0;			/* bits: 1 year, 2 mon, 4 day, 8 time */

	while (c.i < len) {
		int neg = 0;
		uint64_t n, mi, se;
		int64_t frac, v;
		size_t start;

		if (seen != 0 && !cur_eat(&c, ' '))
			return -1;
		if (cur_eat(&c, '-'))
			neg = 1;
		else
			(void)cur_eat(&c, '+');
		start = c.i;
		if (cur_digits(&c, 1, 10, &n) == 0)
			return -1;
		if (cur_eat(&c, ':')) {
			/* at most 2562047788 hours fit in 64 bits of micros */
			if ((seen & 8) || c.i - 1 - start < 2 || n > 2562047788u ||
			    cur_digits(&c, 2, 2, &mi) == 0 || !cur_eat(&c, ':') ||
			    cur_digits(&c, 2, 2, &se) == 0 ||
			    cur_fraction(&c, &frac) < 0 || mi > 59 || se > 59)
				return -1;
			{
				uint64_t t = n * (uint64_t)USECS_PER_HOUR +
				    mi * (uint64_t)USECS_PER_MIN +
				    se * (uint64_t)USECS_PER_SEC + (uint64_t)frac;

				if (t > (uint64_t)INT64_MAX + (uint64_t)neg)
					return -1;
				us = neg ? (int64_t)(0 - t) : (int64_t)t;
			}
			seen |= 8;
			if (c.i != len)
				return -1;
			break;
		}
		if (!cur_eat(&c, ' '))
			return -1;
		v = neg ? -(int64_t)n : (int64_t)n;
		if (len - c.i >= 4 && memcmp(s + c.i, "year", 4) == 0 && !(seen & 15)) {
			c.i += 4;
			if (__builtin_mul_overflow(v, 12, &v) ||
			    __builtin_add_overflow(months, v, &months))
				return -1;
			seen |= 1;
		} else if (len - c.i >= 3 && memcmp(s + c.i, "mon", 3) == 0 &&
		    !(seen & 14)) {
			c.i += 3;
			months += v;
			seen |= 2;
		} else if (len - c.i >= 3 && memcmp(s + c.i, "day", 3) == 0 &&
		    !(seen & 12)) {
			c.i += 3;
			days = v;
			seen |= 4;
		} else {
			return -1;
		}
		(void)cur_eat(&c, 's');
	}
	if (seen == 0 || months < INT32_MIN || months > INT32_MAX ||
	    days < INT32_MIN || days > INT32_MAX)
		return -1;
	out->u.interval.months = (int32_t)months;
	out->u.interval.days = (int32_t)days;
	out->u.interval.us = us;
	return 0;
}

/* ------------------------------------------------------- small text types */

static int
chars_ok(const char *s, size_t len, const char *set, int empty_ok)
{
	size_t i;

	if (len == 0)
		return empty_ok;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

/* --------------------------------------------------------------- arrays */

static int parse_value(uint32_t oid, const char *s, size_t len, int depth,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err);

static int
array_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/*
 * One element at c->i, quoted or not, unescaped into the arena.  '*null'
 * is set for an unquoted NULL.  Leaves the cursor on the ',' or '}'.
 */
static int
array_elem(struct cur *c, struct sl_arena *a, char **text, size_t *tlen,
    int *null)
{
	size_t start = c->i, i, n = 0;
	int quoted = c->s[c->i] == '"';
	char *p;

	/* First pass: find the end, so the copy is sized by the element. (1) */
	i = start + (size_t)quoted;
	for (;;) {
		char ch;

		if (i >= c->len)
			return -1;
		ch = c->s[i];
		if (ch == '\\') {
			if (i + 1 >= c->len)
				return -1;
			i += 2;
			continue;
		}
		if (quoted && ch == '"')
			break;
		if (!quoted && (ch == ',' || ch == '}'))
			break;
		if (!quoted && (ch == '{' || ch == '"'))
			return -1;
		i++;
	}
	p = sl_arena_alloc(a, i - start + 1);
	for (c->i = start + (size_t)quoted; c->i < i; c->i++) {
		if (c->s[c->i] == '\\')
			c->i++;
		p[n++] = c->s[c->i];
	}
	p[n] = '\0';
	if (quoted)
		c->i++;			/* the closing quote */
	*null = !quoted && n == 4 && strncasecmp(p, "NULL", 4) == 0;
	*text = p;
	*tlen = n;
	return 0;
}

/*
 * The array literal at c->i ("{...}") of elements of 'elem_oid'; nested
 * braces become nested SCH_ARRAY values, at most SCH_MAX_ARRAY_DEPTH. (3)
 */
static int
parse_array(struct cur *c, uint32_t elem_oid, int depth, struct sl_arena *a,
    struct sch_value *out, struct sl_err *err)
{
	struct sch_value *v = NULL;
	uint32_t n = 0, cap = 0;
	int nested = -1, rc;

	if (depth >= SCH_MAX_ARRAY_DEPTH || !cur_eat(c, '{'))
		return -1;
	if (!cur_eat(c, '}')) {
		for (;;) {
			struct sch_value *e;

			if (c->i >= c->len)
				return -1;
			if (n == cap) {
				struct sch_value *nv;

				cap = cap ? cap * 2 : 4;
				nv = sl_arena_alloc(a, cap * sizeof(*nv));
				if (n > 0)
					memcpy(nv, v, n * sizeof(*nv));
				v = nv;
			}
			e = &v[n++];
			if (c->s[c->i] == '{') {
				if (nested == 0)
					return -1;
				nested = 1;
				rc = parse_array(c, elem_oid, depth + 1, a, e, err);
				if (rc != 0)
					return rc;
			} else {
				char *t;
				size_t tl;
				int null;

				if (nested == 1)
					return -1;
				nested = 0;
				if (array_elem(c, a, &t, &tl, &null) < 0)
					return -1;
				if (null) {
					*e = sch_value_null();
				} else {
					rc = parse_value(elem_oid, t, tl, depth + 1,
					    a, e, err);
					if (rc != 0)
						return rc;
				}
			}
			if (cur_eat(c, ','))
				continue;
			if (cur_eat(c, '}'))
				break;
			return -1;
		}
	}
	memset(out, 0, sizeof(*out));
	out->kind = SCH_ARRAY;
	out->u.array.v = v;
	out->u.array.n = n;
	out->u.array.elem_oid = elem_oid;
	return 0;
}

/* ---------------------------------------------------------------- parse */

static int
parse_value(uint32_t oid, const char *s, size_t len, int depth,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err)
{
	const struct pg_type *t = type_find(oid);
	enum sch_kind kind = t != NULL ? t->kind : SCH_TEXT;
	int64_t i64;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	switch (kind) {
	case SCH_BOOL:
		if (text_is(s, len, "t"))
			out->u.b = 1;
		else if (text_is(s, len, "f"))
			out->u.b = 0;
		else
			rc = -1;
		break;
	case SCH_INT64:
		if (oid == SCH_OID_INT2)
			rc = parse_int(s, len, INT16_MIN, INT16_MAX, &i64);
		else if (oid == SCH_OID_INT4)
			rc = parse_int(s, len, INT32_MIN, INT32_MAX, &i64);
		else
			rc = parse_int(s, len, INT64_MIN, INT64_MAX, &i64);
		out->u.i64 = i64;
		break;
	case SCH_UINT64:
		rc = parse_uint(s, len, oid == 5069 ? UINT64_MAX : UINT32_MAX,
		    &out->u.u64);
		break;
	case SCH_DOUBLE:
		rc = parse_float(s, len, oid == SCH_OID_FLOAT4, &out->u.f64);
		break;
	case SCH_NUMERIC:
		if (!numeric_syntax_ok(s, len))
			rc = -1;
		else
			out->u.s = str_copy(a, s, len);
		break;
	case SCH_BYTES:
		rc = parse_bytea(s, len, a, &out->u.bytes);
		break;
	case SCH_UUID:
		rc = parse_uuid(s, len, out->u.uuid);
		break;
	case SCH_DATE:
		rc = parse_date(s, len, out);
		break;
	case SCH_TIME:
		rc = parse_time(s, len, out);
		break;
	case SCH_TIMETZ:
		rc = parse_timetz(s, len, out);
		break;
	case SCH_TIMESTAMP:
		rc = parse_timestamp(s, len, 0, out);
		break;
	case SCH_TIMESTAMPTZ:
		rc = parse_timestamp(s, len, 1, out);
		break;
	case SCH_INTERVAL:
		rc = parse_interval(s, len, out);
		break;
	case SCH_INET:
		if (!chars_ok(s, len, "0123456789abcdefABCDEF.:/", 0))
			rc = -1;
		else
			out->u.s = str_copy(a, s, len);
		break;
	case SCH_MACADDR:
		if (!chars_ok(s, len, "0123456789abcdefABCDEF:", 0))
			rc = -1;
		else
			out->u.s = str_copy(a, s, len);
		break;
	case SCH_BITS:
		if (!chars_ok(s, len, "01", 1))
			rc = -1;
		else
			out->u.s = str_copy(a, s, len);
		break;
	case SCH_MONEY:
		if (len == 0)
			rc = -1;
		else
			out->u.s = str_copy(a, s, len);
		break;
	case SCH_ARRAY:
		if (len > 0 && s[0] == '[') {
			/* explicit lower bounds: kept whole as text */
			out->kind = SCH_OTHER;
			out->u.s = str_copy(a, s, len);
		} else {
			struct cur c = { s, len, 0 };
			struct sl_err elem = { 0, NULL, 0, "" };

			rc = parse_array(&c, t->elem, depth, a, out, &elem);
			if (rc <= -1000)	/* an element's error */
				return SL_CORRUPT(err, "%s (oid %u): bad element: %s",
				    t->name, oid, elem.msg);
			if (rc != 0 || c.i != len)
				rc = -1;
		}
		break;
	case SCH_TEXT:
	case SCH_JSON:
	case SCH_XML:
	case SCH_ENUM:
	case SCH_OTHER:
	default:
		out->u.s = str_copy(a, s, len);
		break;
	}
	if (rc == -2) {
		/*
		 * PostgreSQL counts micros from 2000, we from 1970: its last
		 * 29 years of timestamps do not fit, and stay text.
		 */
		memset(out, 0, sizeof(*out));
		out->kind = SCH_OTHER;
		out->u.s = str_copy(a, s, len);
		return 0;
	}
	if (rc != 0)
		return bad_text(err, oid, "malformed value", s, len);
	return 0;
}

int
sch_pg_parse(uint32_t type_oid, int32_t typmod, const char *text, size_t len,
    struct sl_arena *a, struct sch_value *out, struct sl_err *err)
{
	(void)typmod;
	return parse_value(type_oid, text, len, 0, a, out, err);
}

int
sch_pg_parse_enum(const char *text, size_t len, struct sl_arena *a,
    struct sch_value *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = SCH_ENUM;
	out->u.s = str_copy(a, text, len);
	return 0;
}

/* ---------------------------------------------------------------- print */

static void
put_frac(struct sl_buf *out, int64_t frac)
{
	char f[8];
	int n = 6;

	if (frac == 0)
		return;
	snprintf(f, sizeof(f), "%06d", (int)frac);
	while (n > 0 && f[n - 1] == '0')
		n--;
	sl_buf_add_u8(out, '.');
	sl_buf_add(out, f, (size_t)n);
}

static void
put_time(struct sl_buf *out, int64_t us)
{
	int64_t h = us / USECS_PER_HOUR, m, s;

	us -= h * USECS_PER_HOUR;
	m = us / USECS_PER_MIN;
	us -= m * USECS_PER_MIN;
	s = us / USECS_PER_SEC;
	us -= s * USECS_PER_SEC;
	sl_buf_printf(out, "%02lld:%02lld:%02lld", (long long)h, (long long)m,
	    (long long)s);
	put_frac(out, us);
}

/* PostgreSQL's EncodeTimezone: +HH, +HH:MM or +HH:MM:SS. */
static void
put_offset(struct sl_buf *out, int32_t off)
{
	int64_t a = off < 0 ? -(int64_t)off : off;
	int64_t h = a / 3600, m = a / 60 % 60, s = a % 60;

	sl_buf_printf(out, "%c%02lld", off >= 0 ? '+' : '-', (long long)h);
	if (s != 0)
		sl_buf_printf(out, ":%02lld:%02lld", (long long)m, (long long)s);
	else if (m != 0)
		sl_buf_printf(out, ":%02lld", (long long)m);
}

/* The date part; returns 1 when the year is BC (" BC" goes at the end). */
static int
put_date(struct sl_buf *out, int64_t days)
{
	int64_t y;
	int m, d, bc;

	sch_civil_from_days_(days, &y, &m, &d);
	bc = y <= 0;
	sl_buf_printf(out, "%04lld-%02d-%02d", (long long)(bc ? 1 - y : y), m, d);
	return bc;
}

static int
put_inf(struct sl_buf *out, int inf)
{
	if (inf == SCH_INF_POS)
		sl_buf_add(out, "infinity", 8);
	else if (inf == SCH_INF_NEG)
		sl_buf_add(out, "-infinity", 9);
	return inf != SCH_INF_NONE;
}

static void
put_timestamp(struct sl_buf *out, int64_t us, int tz)
{
	int64_t days = us / USECS_PER_DAY, tod = us % USECS_PER_DAY;
	int bc;

	if (tod < 0) {
		tod += USECS_PER_DAY;
		days--;
	}
	bc = put_date(out, days);
	sl_buf_add_u8(out, ' ');
	put_time(out, tod);
	if (tz)
		sl_buf_add(out, "+00", 3);
	if (bc)
		sl_buf_add(out, " BC", 3);
}

/* PostgreSQL's AddPostgresIntPart. */
static void
put_interval_part(struct sl_buf *out, int64_t v, const char *unit,
    int *is_zero, int *is_before)
{
	if (v == 0)
		return;
	sl_buf_printf(out, "%s%s%lld %s%s", *is_zero ? "" : " ",
	    (*is_before && v > 0) ? "+" : "", (long long)v, unit,
	    v != 1 ? "s" : "");
	*is_before = v < 0;
	*is_zero = 0;
}

/* IntervalStyle = postgres, as PostgreSQL's EncodeInterval prints it. */
static void
put_interval(struct sl_buf *out, int32_t months, int32_t days, int64_t us)
{
	int is_zero = 1, is_before = 0;
	int64_t h = us / USECS_PER_HOUR, m, s, f;

	us -= h * USECS_PER_HOUR;
	m = us / USECS_PER_MIN;
	us -= m * USECS_PER_MIN;
	s = us / USECS_PER_SEC;
	f = us - s * USECS_PER_SEC;
	put_interval_part(out, months / 12, "year", &is_zero, &is_before);
	put_interval_part(out, months % 12, "mon", &is_zero, &is_before);
	put_interval_part(out, days, "day", &is_zero, &is_before);
	if (is_zero || h != 0 || m != 0 || s != 0 || f != 0) {
		int minus = h < 0 || m < 0 || s < 0 || f < 0;

		sl_buf_printf(out, "%s%s%02lld:%02lld:%02lld", is_zero ? "" : " ",
		    minus ? "-" : (is_before ? "+" : ""),
		    (long long)(h < 0 ? -h : h), (long long)(m < 0 ? -m : m),
		    (long long)(s < 0 ? -s : s));
		put_frac(out, f < 0 ? -f : f);
	}
}

static void
put_uuid(struct sl_buf *out, const uint8_t *u)
{
	static const char hex[] = "0123456789abcdef";
	char t[36];
	int i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			t[n++] = '-';
		t[n++] = hex[u[i] >> 4];
		t[n++] = hex[u[i] & 15];
	}
	sl_buf_add(out, t, sizeof(t));
}

static void
put_bytea(struct sl_buf *out, struct sl_slice b)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	uint8_t *p;

	sl_buf_reserve(out, 2 + b.len * 2);
	sl_buf_add(out, "\\x", 2);
	p = out->p + out->len;
	for (i = 0; i < b.len; i++) {
		*p++ = (uint8_t)hex[b.p[i] >> 4];
		*p++ = (uint8_t)hex[b.p[i] & 15];
	}
	out->len += b.len * 2;
}

static int put_value(const struct sch_value *v, uint32_t oid, int depth,
    struct sl_buf *out);

/* array_out's rule: quote empty, NULL-looking and special elements. */
static int
elem_needs_quotes(const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 0 || (n == 4 && strncasecmp((const char *)p, "NULL", 4) == 0))
		return 1;
	for (i = 0; i < n; i++)
		if (p[i] == '"' || p[i] == '\\' || p[i] == '{' || p[i] == '}' ||
		    p[i] == ',' || array_space((char)p[i]))
			return 1;
	return 0;
}

static int
put_array(const struct sch_value *v, uint32_t elem_oid, int depth,
    struct sl_buf *out)
{
	struct sl_buf tmp = { 0 };
	uint32_t i;
	int rc = 0;

	if (depth >= SCH_MAX_ARRAY_DEPTH)	/* (3) */
		return SL_EINVAL;
	sl_buf_add_u8(out, '{');
	for (i = 0; i < v->u.array.n && rc == 0; i++) {
		const struct sch_value *e = &v->u.array.v[i];

		if (i > 0)
			sl_buf_add_u8(out, ',');
		if (e->kind == SCH_NULL) {
			sl_buf_add(out, "NULL", 4);
		} else if (e->kind == SCH_ARRAY) {
			rc = put_array(e, elem_oid, depth + 1, out);
		} else {
			size_t k;

			sl_buf_reset(&tmp);
			rc = put_value(e, elem_oid, depth + 1, &tmp);
			if (rc != 0 || !elem_needs_quotes(tmp.p, tmp.len)) {
				sl_buf_add(out, tmp.p, tmp.len);
				continue;
			}
			sl_buf_add_u8(out, '"');
			for (k = 0; k < tmp.len; k++) {
				if (tmp.p[k] == '"' || tmp.p[k] == '\\')
					sl_buf_add_u8(out, '\\');
				sl_buf_add_u8(out, tmp.p[k]);
			}
			sl_buf_add_u8(out, '"');
		}
	}
	sl_buf_add_u8(out, '}');
	sl_buf_free(&tmp);
	return rc;
}

static int
put_value(const struct sch_value *v, uint32_t oid, int depth, struct sl_buf *out)
{
	const struct pg_type *t = type_find(oid);

	/* A built-in oid takes only its own kind, or SCH_OTHER (text kept). */
	if (t != NULL && v->kind != t->kind && v->kind != SCH_NULL &&
	    v->kind != SCH_OTHER &&
	    !(t->kind == SCH_TEXT && v->kind == SCH_ENUM))
		return SL_EINVAL;
	switch (v->kind) {
	case SCH_NULL:
		return 0;
	case SCH_UNCHANGED:
		return SL_EINVAL;
	case SCH_BOOL:
		sl_buf_add_u8(out, v->u.b ? 't' : 'f');
		return 0;
	case SCH_INT64:
		sl_buf_printf(out, "%lld", (long long)v->u.i64);
		return 0;
	case SCH_UINT64:
		sl_buf_printf(out, "%llu", (unsigned long long)v->u.u64);
		return 0;
	case SCH_DOUBLE:
		sch_put_float_(out, v->u.f64, oid == SCH_OID_FLOAT4);
		return 0;
	case SCH_BYTES:
		put_bytea(out, v->u.bytes);
		return 0;
	case SCH_UUID:
		put_uuid(out, v->u.uuid);
		return 0;
	case SCH_DATE:
		if (!put_inf(out, v->inf) && put_date(out, v->u.date))
			sl_buf_add(out, " BC", 3);
		return 0;
	case SCH_TIME:
		if (v->u.time_us < 0 || v->u.time_us > USECS_PER_DAY)
			return SL_EINVAL;
		put_time(out, v->u.time_us);
		return 0;
	case SCH_TIMETZ:
		if (v->u.timetz.time_us < 0 || v->u.timetz.time_us > USECS_PER_DAY ||
		    v->u.timetz.offset_s <= -TZ_LIMIT_S ||
		    v->u.timetz.offset_s >= TZ_LIMIT_S)
			return SL_EINVAL;
		put_time(out, v->u.timetz.time_us);
		put_offset(out, v->u.timetz.offset_s);
		return 0;
	case SCH_TIMESTAMP:
	case SCH_TIMESTAMPTZ:
		if (!put_inf(out, v->inf))
			put_timestamp(out, v->u.ts_us, v->kind == SCH_TIMESTAMPTZ);
		return 0;
	case SCH_INTERVAL:
		put_interval(out, v->u.interval.months, v->u.interval.days,
		    v->u.interval.us);
		return 0;
	case SCH_ARRAY:
		return put_array(v, v->u.array.elem_oid != 0 ? v->u.array.elem_oid :
		    sch_pg_array_elem(oid), depth, out);
	case SCH_NUMERIC:
	case SCH_TEXT:
	case SCH_JSON:
	case SCH_INET:
	case SCH_MACADDR:
	case SCH_BITS:
	case SCH_MONEY:
	case SCH_XML:
	case SCH_ENUM:
	case SCH_OTHER:
		sl_buf_add(out, v->u.s.p, v->u.s.len);
		return 0;
	}
	return SL_EINVAL;
}

int
sch_value_to_pg_text(const struct sch_value *v, uint32_t type_oid,
    struct sl_buf *out)
{
	return put_value(v, type_oid, 0, out);
}
