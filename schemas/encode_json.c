/*
 * schemas/encode_json.c: struct sch_event -> Debezium's JSON envelope, as
 * the Debezium PostgreSQL (and MySQL) connector produces it through Kafka
 * Connect's JsonConverter with schemas.enable=false, so that existing
 * Debezium consumers read sluice's topics unchanged.
 *
 * Value encodings follow Debezium's defaults (docs/types.md has the table):
 * decimal.handling.mode=precise (switchable to string or double),
 * time.precision.mode=adaptive, interval.handling.mode=numeric,
 * binary.handling.mode=bytes (base64 in JSON), Jackson's quoting of
 * non-finite doubles ("NaN").  Where Debezium drops a column it cannot map
 * (interval[], money[], point...), we emit PostgreSQL's text instead.
 *
 * It is not a JSON parser and not the protobuf encoder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemas/sch.h"
#include "schemas/sch_int.h"

#define DEFAULT_UNAVAILABLE "__debezium_unavailable_value"
#define USECS_PER_DAY INT64_C(86400000000)

/*
 * Debezium's stand-ins for PostgreSQL's infinities (PostgresValueConverter:
 * PGStatement.DATE_POSITIVE_INFINITY read as micros for timestamps, and the
 * LocalDates -5877611-06-21 / -06-22 as epoch days for dates; the date
 * values are Debezium's, odd as they look).
 */
#define DBZ_TS_POS_INF_US INT64_C(9223372036825200000)
#define DBZ_TS_NEG_INF_US INT64_C(-9223372036832400000)
#define DBZ_DATE_POS_INF (-2147472692)
#define DBZ_DATE_NEG_INF (-2147472691)

struct json_ctx {
	enum sch_decimal_mode decimal;
	const char *unavailable;
	const char *version;
	int money_scale;
	int schemas;
	const char *schema_prefix;
};

struct sch_event;
static void schema_envelope(struct sl_buf *out, const struct sch_event *ev,
    const struct json_ctx *c);
static void schema_row(struct sl_buf *out, const struct sch_table *t, int keys_only,
    int optional, const char *field, const struct json_ctx *c);

static void
ctx_init(struct json_ctx *c, const struct sch_json_opts *o)
{
	c->decimal = o != NULL ? o->decimal : SCH_DECIMAL_PRECISE;
	c->unavailable = o != NULL && o->unavailable != NULL ? o->unavailable :
	    DEFAULT_UNAVAILABLE;
	c->version = o != NULL && o->version != NULL ? o->version :
	    "sluice-" SL_VERSION;
	c->money_scale = o != NULL && o->money_scale > 0 ? o->money_scale : 2;
	c->schemas = o != NULL && o->schemas;
	c->schema_prefix = o != NULL ? o->schema_prefix : NULL;
}

/* ----------------------------------------------------------- primitives */

/* A JSON string, escaped as Jackson does ("\n", "\u0001"). */
static void
json_str(struct sl_buf *out, const char *s, size_t len)
{
	size_t i, run = 0;

	if (len == 0) {
		sl_buf_add(out, "\"\"", 2);
		return;
	}
	sl_buf_reserve(out, len + 2);
	sl_buf_add_u8(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *esc = NULL;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		sl_buf_add(out, s + run, i - run);
		run = i + 1;
		switch (ch) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		if (esc != NULL)
			sl_buf_add(out, esc, strlen(esc));
		else
			sl_buf_printf(out, "\\u%04x", ch);
	}
	sl_buf_add(out, s + run, len - run);
	sl_buf_add_u8(out, '"');
}

static void
json_cstr(struct sl_buf *out, const char *s)
{
	if (s == NULL)
		sl_buf_add(out, "null", 4);
	else
		json_str(out, s, strlen(s));
}

static void
json_lit(struct sl_buf *out, const char *s)
{
	sl_buf_add(out, s, strlen(s));
}

/* json_lit of a string literal, its length known at compile time */
#define JSON_LIT(out, lit) sl_buf_add((out), "" lit, sizeof("" lit) - 1)

/* "00" "01" ... "99": two digits per division */
static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/*
 * 'v' in at least 'width' digits, zero-padded: printf's "%0*llu".  Decimal
 * digits without printf: every event has a dozen numbers, and vfprintf's
 * setup per call was a quarter of capture's CPU with format = json.
 */
static void
put_pad(struct sl_buf *out, uint64_t v, int width)
{
	char b[20];
	int n = 0;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		b[sizeof(b) - 1 - n++] = digits2[d + 1];
		b[sizeof(b) - 1 - n++] = digits2[d];
	}
	if (v >= 10) {
		b[sizeof(b) - 1 - n++] = digits2[v * 2 + 1];
		b[sizeof(b) - 1 - n++] = digits2[v * 2];
	} else {
		b[sizeof(b) - 1 - n++] = (char)('0' + v);
	}
	for (; n < width; width--)
		sl_buf_add_u8(out, '0');
	sl_buf_add(out, b + sizeof(b) - n, (size_t)n);
}

static void
put_u64(struct sl_buf *out, uint64_t v)
{
	put_pad(out, v, 1);
}

static void
put_i64(struct sl_buf *out, int64_t v)
{
	if (v < 0) {
		sl_buf_add_u8(out, '-');
		put_u64(out, (uint64_t)0 - (uint64_t)v);	/* INT64_MIN too */
	} else {
		put_u64(out, (uint64_t)v);
	}
}

/* A quoted base64 (RFC 4648, padded) string of 'len' bytes. */
static void
json_b64(struct sl_buf *out, const uint8_t *p, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	char q[4];

	sl_buf_reserve(out, (len + 2) / 3 * 4 + 2);
	sl_buf_add_u8(out, '"');
	for (i = 0; i + 2 < len; i += 3) {
		q[0] = tab[p[i] >> 2];
		q[1] = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
		q[3] = tab[p[i + 2] & 63];
		sl_buf_add(out, q, 4);
	}
	if (len - i == 1) {
		q[0] = tab[p[i] >> 2];
		q[1] = tab[(p[i] & 3) << 4];
		q[2] = q[3] = '=';
		sl_buf_add(out, q, 4);
	} else if (len - i == 2) {
		q[0] = tab[p[i] >> 2];
		q[1] = tab[(p[i] & 3) << 4 | p[i + 1] >> 4];
		q[2] = tab[(p[i + 1] & 15) << 2];
		q[3] = '=';
		sl_buf_add(out, q, 4);
	}
	sl_buf_add_u8(out, '"');
}

/* A double as a JSON number, or Jackson's quoted "NaN"/"Infinity". */
static void
json_double(struct sl_buf *out, double v, int is4)
{
	if (isnan(v))
		JSON_LIT(out, "\"NaN\"");
	else if (isinf(v))
		json_lit(out, v < 0 ? "\"-Infinity\"" : "\"Infinity\"");
	else
		sch_put_float_(out, v, is4);
}

/* ------------------------------------------------------------- decimals */

/*
 * Append to 'out' the big-endian two's complement bytes of the integer
 * whose decimal digits are 'd' (no sign, no point), negated if 'neg':
 * the minimal form Java's BigInteger.toByteArray() gives, which Kafka
 * Connect's Decimal carries.
 */
static void
unscaled_bytes(const char *d, size_t nd, int neg, struct sl_buf *out)
{
	uint32_t *limb = sl_calloc(nd / 9 + 2, sizeof(*limb));
	size_t nl = 0, i, k;
	uint8_t *b;
	size_t nb, start;
	int nonzero = 0;

	for (i = 0; i < nd; ) {
		uint64_t chunk = 0, mul = 1, carry;

		for (k = 0; k < 9 && i < nd; k++, i++) {
			chunk = chunk * 10 + (uint64_t)(d[i] - '0');
			mul *= 10;
		}
		carry = chunk;
		for (k = 0; k < nl; k++) {
			uint64_t t = (uint64_t)limb[k] * mul + carry;

			limb[k] = (uint32_t)t;
			carry = t >> 32;
		}
		if (carry != 0)
			limb[nl++] = (uint32_t)carry;
	}
	nb = nl * 4 + 1;
	b = sl_malloc(nb);
	b[0] = 0;			/* room for a sign byte */
	for (k = 0; k < nl; k++) {
		uint32_t l = limb[nl - 1 - k];

		b[1 + k * 4] = (uint8_t)(l >> 24);
		b[2 + k * 4] = (uint8_t)(l >> 16);
		b[3 + k * 4] = (uint8_t)(l >> 8);
		b[4 + k * 4] = (uint8_t)l;
		nonzero |= l != 0;
	}
	if (neg && nonzero) {
		int carry = 1;

		for (k = nb; k-- > 0; ) {
			unsigned v = (uint8_t)~b[k] + (unsigned)carry;

			b[k] = (uint8_t)v;
			carry = v > 0xff;
		}
		/* drop redundant leading 0xff */
		for (start = 0; start + 1 < nb && b[start] == 0xff &&
		    (b[start + 1] & 0x80); start++)
			;
	} else {
		for (start = 0; start + 1 < nb && b[start] == 0 &&
		    !(b[start + 1] & 0x80); start++)
			;
	}
	sl_buf_add(out, b + start, nb - start);
	free(b);
	free(limb);
}

/* A decimal split into its parts; 'digits' owned by the caller. */
struct dec {
	int neg;
	char *digits;			/* integer digits then 'scale' fraction digits */
	size_t nd;
	size_t scale;
};

/*
 * Split the text of a decimal ("-12.340", "$1,234.56", "(5.00)") keeping
 * digits and the first '.', dropping currency symbols and separators.
 * Returns 0, or -1 when there is no digit.
 */
static int
dec_parse(const char *s, size_t len, struct dec *d)
{
	size_t i;
	int point = 0, any = 0;

	d->neg = 0;
	d->digits = sl_malloc(len + 1);
	d->nd = 0;
	d->scale = 0;
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			d->digits[d->nd++] = s[i];
			if (point)
				d->scale++;
			any = 1;
		} else if (s[i] == '.' && !point) {
			point = 1;
		} else if (s[i] == '-' || s[i] == '(') {
			d->neg = 1;
		}
	}
	d->digits[d->nd] = '\0';
	return any ? 0 : -1;
}

/* Make the scale 'scale': pad zeros or drop digits rounding half up. */
static void
dec_rescale(struct dec *d, size_t scale)
{
	if (d->scale < scale) {
		d->digits = sl_realloc(d->digits, d->nd + (scale - d->scale) + 1);
		while (d->scale < scale) {
			d->digits[d->nd++] = '0';
			d->scale++;
		}
	} else if (d->scale > scale) {
		size_t keep = d->nd - (d->scale - scale), k;
		int up = d->digits[keep] >= '5';

		d->nd = keep;
		d->scale = scale;
		for (k = keep; up && k-- > 0; ) {
			if (d->digits[k] == '9') {
				d->digits[k] = '0';
			} else {
				d->digits[k]++;
				up = 0;
			}
		}
		if (up) {
			memmove(d->digits + 1, d->digits, d->nd);
			d->digits[0] = '1';
			d->nd++;
		}
	}
	d->digits[d->nd] = '\0';
}

static void
dec_plain(struct sl_buf *out, const struct dec *d)
{
	size_t ni = d->nd - d->scale;

	sl_buf_add_u8(out, '"');
	if (d->neg)
		sl_buf_add_u8(out, '-');
	if (ni == 0)
		sl_buf_add_u8(out, '0');
	else
		sl_buf_add(out, d->digits, ni);
	if (d->scale > 0) {
		sl_buf_add_u8(out, '.');
		sl_buf_add(out, d->digits + ni, d->scale);
	}
	sl_buf_add_u8(out, '"');
}

static void
dec_b64(struct sl_buf *out, const struct dec *d)
{
	struct sl_buf b = { 0 };

	unscaled_bytes(d->digits, d->nd, d->neg, &b);
	json_b64(out, b.p, b.len);
	sl_buf_free(&b);
}

static void
dec_double(struct sl_buf *out, const struct dec *d)
{
	struct sl_buf t = { 0 };

	/* "-0<int>.<frac>": strtod takes any length, correctly rounded */
	if (d->neg)
		sl_buf_add_u8(&t, '-');
	sl_buf_add_u8(&t, '0');
	sl_buf_add(&t, d->digits, d->nd - d->scale);
	sl_buf_add_u8(&t, '.');
	sl_buf_add(&t, d->digits + d->nd - d->scale, d->scale);
	sl_buf_add_u8(&t, '\0');
	json_double(out, strtod((const char *)t.p, NULL), 0);
	sl_buf_free(&t);
}

/*
 * numeric: precise -> Kafka Connect Decimal (base64 of the unscaled value
 * at the column's scale) when the column has a typmod, else Debezium's
 * VariableScaleDecimal {"scale":S,"value":base64} with trailing fraction
 * zeros stripped; NaN and the infinities give null in precise mode.
 */
static void
json_numeric(struct sl_buf *out, const struct sch_str *s, int32_t typmod,
    const struct json_ctx *c)
{
	struct dec d;
	int special = (s->len == 3 && memcmp(s->p, "NaN", 3) == 0) ||
	    (s->len == 8 && memcmp(s->p, "Infinity", 8) == 0) ||
	    (s->len == 9 && memcmp(s->p, "-Infinity", 9) == 0);

	if (c->decimal == SCH_DECIMAL_STRING) {
		json_str(out, s->p, s->len);
		return;
	}
	if (special) {
		if (c->decimal == SCH_DECIMAL_DOUBLE)
			json_double(out, s->p[0] == 'N' ? NAN :
			    s->p[0] == '-' ? -INFINITY : INFINITY, 0);
		else
			JSON_LIT(out, "null");
		return;
	}
	if (dec_parse(s->p, s->len, &d) < 0) {
		free(d.digits);
		json_str(out, s->p, s->len);
		return;
	}
	if (c->decimal == SCH_DECIMAL_DOUBLE) {
		dec_double(out, &d);
	} else if (typmod >= 4) {
		dec_rescale(&d, (size_t)((typmod - 4) & 0xffff));
		dec_b64(out, &d);
	} else {
		while (d.scale > 0 && d.digits[d.nd - 1] == '0') {
			d.nd--;
			d.scale--;
		}
		JSON_LIT(out, "{\"scale\":");
		put_u64(out, d.scale);
		JSON_LIT(out, ",\"value\":");
		dec_b64(out, &d);
		sl_buf_add_u8(out, '}');
	}
	free(d.digits);
}

/* money: a Decimal of money.fraction.digits (2) scale, or string/double. */
static void
json_money(struct sl_buf *out, const struct sch_str *s, const struct json_ctx *c)
{
	struct dec d;

	if (dec_parse(s->p, s->len, &d) < 0) {
		free(d.digits);
		json_str(out, s->p, s->len);
		return;
	}
	if (c->decimal == SCH_DECIMAL_DOUBLE) {
		dec_double(out, &d);
	} else {
		dec_rescale(&d, (size_t)c->money_scale);
		if (c->decimal == SCH_DECIMAL_STRING)
			dec_plain(out, &d);
		else
			dec_b64(out, &d);
	}
	free(d.digits);
}

/* -------------------------------------------------------------- temporal */

static void
floor_div(int64_t a, int64_t b, int64_t *q, int64_t *r)
{
	*q = a / b;
	*r = a % b;
	if (*r < 0) {
		*r += b;
		(*q)--;
	}
}

/* hh:mm:ss and a fraction: 'width' 1..6 digits exactly, else trimmed. */
static void
put_clock(struct sl_buf *out, int64_t us, int width)
{
	char f[6];
	int n, i;
	int64_t frac = us % 1000000;

	put_pad(out, (uint64_t)(us / 3600000000), 2);
	sl_buf_add_u8(out, ':');
	put_pad(out, (uint64_t)(us / 60000000 % 60), 2);
	sl_buf_add_u8(out, ':');
	put_pad(out, (uint64_t)(us / 1000000 % 60), 2);
	for (i = 5; i >= 0; i--) {
		f[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	if (width >= 1 && width <= 6) {
		n = width;
	} else {
		for (n = 6; n > 0 && f[n - 1] == '0'; n--)
			;
	}
	if (n > 0) {
		sl_buf_add_u8(out, '.');
		sl_buf_add(out, f, (size_t)n);
	}
}

/* ZonedTimestamp: ISO-8601 in UTC as java.time prints it. */
static void
json_zoned_ts(struct sl_buf *out, int64_t us, int32_t typmod)
{
	int64_t days, tod, y;
	int m, d;

	floor_div(us, USECS_PER_DAY, &days, &tod);
	sch_civil_from_days_(days, &y, &m, &d);
	sl_buf_add_u8(out, '"');
	if (y > 9999) {
		sl_buf_add_u8(out, '+');
		put_u64(out, (uint64_t)y);
	} else if (y < 0) {
		sl_buf_add_u8(out, '-');
		put_pad(out, (uint64_t)0 - (uint64_t)y, 4);
	} else {
		put_pad(out, (uint64_t)y, 4);
	}
	sl_buf_add_u8(out, '-');
	put_pad(out, (uint64_t)m, 2);
	sl_buf_add_u8(out, '-');
	put_pad(out, (uint64_t)d, 2);
	sl_buf_add_u8(out, 'T');
	put_clock(out, tod, typmod);
	sl_buf_add(out, "Z\"", 2);
}

/* ZonedTime: the time moved to UTC, "hh:mm:ss[.f]Z". */
static void
json_zoned_time(struct sl_buf *out, int64_t us, int32_t off_s)
{
	int64_t q, t;

	/* reduce first: 'us' may be any 64-bit value from a decoded event */
	floor_div(us, USECS_PER_DAY, &q, &t);
	floor_div(t - (int64_t)off_s * 1000000, USECS_PER_DAY, &q, &t);
	sl_buf_add_u8(out, '"');
	put_clock(out, t, -1);
	sl_buf_add(out, "Z\"", 2);
}

/* MicroDuration: months as 365.25/12 days, computed in doubles as Debezium. */
static void
json_interval(struct sl_buf *out, int32_t months, int32_t days, int64_t us)
{
	int64_t hours = us / 3600000000, rest = us % 3600000000;
	int64_t minutes = rest / 60000000;
	double seconds = (double)(rest % 60000000) / 1e6;
	double nd = (double)months * (365.25 / 12.0) + days;
	double secs = ((nd * 24 + (double)hours) * 60 + (double)minutes) * 60 + seconds;
	double us_d = secs * 1e6;
	int64_t r;

	/* Java's (long) cast saturates; C's is undefined out of range */
	if (us_d >= 0x1p63)
		r = INT64_MAX;
	else if (us_d <= -0x1p63)
		r = INT64_MIN;
	else
		r = (int64_t)us_d;
	put_i64(out, r);
}

/* -------------------------------------------------------------- values */

static int json_value(struct sl_buf *out, const struct sch_value *v,
    uint32_t oid, int32_t typmod, const struct json_ctx *c, int depth);

static void
json_unavailable(struct sl_buf *out, uint32_t oid, const struct json_ctx *c)
{
	const char *ph = c->unavailable;
	uint32_t elem = sch_pg_array_elem(oid);
	size_t i, n = strlen(ph);

	if (oid == SCH_OID_BYTEA) {
		json_b64(out, (const uint8_t *)ph, n);
	} else if (elem == SCH_OID_INT2 || elem == SCH_OID_INT4 ||
	    elem == SCH_OID_INT8 || elem == SCH_OID_OID) {
		sl_buf_add_u8(out, '[');	/* Debezium: the bytes as numbers */
		for (i = 0; i < n; i++)
			sl_buf_printf(out, "%s%d", i ? "," : "", (int)(signed char)ph[i]);
		sl_buf_add_u8(out, ']');
	} else if (elem == SCH_OID_BYTEA) {
		sl_buf_add_u8(out, '[');
		json_b64(out, (const uint8_t *)ph, n);
		sl_buf_add_u8(out, ']');
	} else if (elem != 0) {
		sl_buf_add_u8(out, '[');
		json_str(out, ph, n);
		sl_buf_add_u8(out, ']');
	} else {
		json_str(out, ph, n);
	}
}

/* io.debezium.data.Bits: little-endian bytes, trimmed; bit(1) a boolean. */
static void
json_bits(struct sl_buf *out, const struct sch_str *s, int32_t typmod)
{
	uint8_t *b;
	size_t i, n = 0;

	if (typmod == 1) {
		json_lit(out, s->len > 0 && s->p[0] == '1' ? "true" : "false");
		return;
	}
	b = sl_calloc(s->len / 8 + 1, 1);
	for (i = 0; i < s->len; i++) {
		size_t bit = s->len - 1 - i;

		if (s->p[i] == '1') {
			b[bit / 8] |= (uint8_t)(1u << (bit % 8));
			if (bit / 8 + 1 > n)
				n = bit / 8 + 1;
		}
	}
	json_b64(out, b, n);
	free(b);
}

static int
json_value(struct sl_buf *out, const struct sch_value *v, uint32_t oid,
    int32_t typmod, const struct json_ctx *c, int depth)
{
	uint32_t i;
	int rc;

	switch (v->kind) {
	case SCH_NULL:
		JSON_LIT(out, "null");
		return 0;
	case SCH_UNCHANGED:
		json_unavailable(out, oid, c);
		return 0;
	case SCH_BOOL:
		json_lit(out, v->u.b ? "true" : "false");
		return 0;
	case SCH_INT64:
		put_i64(out, v->u.i64);
		return 0;
	case SCH_UINT64:
		put_u64(out, v->u.u64);
		return 0;
	case SCH_DOUBLE:
		json_double(out, v->u.f64, oid == SCH_OID_FLOAT4);
		return 0;
	case SCH_NUMERIC:
		json_numeric(out, &v->u.s, typmod, c);
		return 0;
	case SCH_MONEY:
		json_money(out, &v->u.s, c);
		return 0;
	case SCH_BITS:
		json_bits(out, &v->u.s, typmod);
		return 0;
	case SCH_BYTES:
		json_b64(out, v->u.bytes.p, v->u.bytes.len);
		return 0;
	case SCH_UUID: {
		struct sl_buf t = { 0 };

		(void)sch_value_to_pg_text(v, SCH_OID_UUID, &t);
		json_str(out, (const char *)t.p, t.len);
		sl_buf_free(&t);
		return 0;
	}
	case SCH_DATE:
		if (v->inf)
			put_i64(out, v->inf > 0 ? DBZ_DATE_POS_INF : DBZ_DATE_NEG_INF);
		else
			put_i64(out, v->u.date);
		return 0;
	case SCH_TIME:
		if (typmod >= 0 && typmod <= 3)	/* MilliTime */
			put_i64(out, v->u.time_us / 1000);
		else				/* MicroTime */
			put_i64(out, v->u.time_us);
		return 0;
	case SCH_TIMETZ:
		json_zoned_time(out, v->u.timetz.time_us, v->u.timetz.offset_s);
		return 0;
	case SCH_TIMESTAMP: {
		int64_t us = v->inf > 0 ? DBZ_TS_POS_INF_US :
		    v->inf < 0 ? DBZ_TS_NEG_INF_US : v->u.ts_us, q, r;

		if (typmod >= 0 && typmod <= 3) {	/* Timestamp (ms) */
			floor_div(us, 1000, &q, &r);
			us = q;
		}
		put_i64(out, us);
		return 0;
	}
	case SCH_TIMESTAMPTZ:
		if (v->inf)
			json_lit(out, v->inf > 0 ? "\"infinity\"" : "\"-infinity\"");
		else
			json_zoned_ts(out, v->u.ts_us, typmod);
		return 0;
	case SCH_INTERVAL:
		json_interval(out, v->u.interval.months, v->u.interval.days,
		    v->u.interval.us);
		return 0;
	case SCH_ARRAY: {
		uint32_t elem = v->u.array.elem_oid != 0 ? v->u.array.elem_oid :
		    sch_pg_array_elem(oid);

		if (depth >= SCH_MAX_ARRAY_DEPTH)
			return SL_EINVAL;
		sl_buf_add_u8(out, '[');
		for (i = 0; i < v->u.array.n; i++) {
			if (i > 0)
				sl_buf_add_u8(out, ',');
			if (v->u.array.v[i].kind == SCH_UNCHANGED)
				return SL_EINVAL;
			rc = json_value(out, &v->u.array.v[i], elem, typmod, c,
			    depth + 1);
			if (rc != 0)
				return rc;
		}
		sl_buf_add_u8(out, ']');
		return 0;
	}
	case SCH_TEXT:
	case SCH_JSON:
	case SCH_INET:
	case SCH_MACADDR:
	case SCH_XML:
	case SCH_ENUM:
	case SCH_OTHER:
		json_str(out, v->u.s.p, v->u.s.len);
		return 0;
	}
	return SL_EINVAL;
}

int
sch_value_encode_json(const struct sch_value *v, uint32_t type_oid,
    int32_t typmod, const struct sch_json_opts *opts, struct sl_buf *out)
{
	struct json_ctx c;

	ctx_init(&c, opts);
	return json_value(out, v, type_oid, typmod, &c, 0);
}

/* ------------------------------------------------------------- envelope */

static int
json_image(struct sl_buf *out, const struct sch_table *t,
    const struct sch_value *img, int keys_only, const struct json_ctx *c)
{
	uint32_t i;
	int first = 1, rc;

	if (img == NULL) {
		JSON_LIT(out, "null");
		return 0;
	}
	sl_buf_add_u8(out, '{');
	for (i = 0; i < t->n_columns; i++) {
		const struct sch_column *col = &t->columns[i];

		if (keys_only && !col->is_key)
			continue;
		if (!first)
			sl_buf_add_u8(out, ',');
		first = 0;
		json_cstr(out, col->name);
		sl_buf_add_u8(out, ':');
		rc = json_value(out, &img[i], col->type_oid, col->typmod, c, 0);
		if (rc != 0)
			return rc;
	}
	sl_buf_add_u8(out, '}');
	return 0;
}

static const char *
snapshot_name(enum sch_snapshot s)
{
	switch (s) {
	case SCH_SNAPSHOT_TRUE: return "true";
	case SCH_SNAPSHOT_FIRST: return "first";
	case SCH_SNAPSHOT_LAST: return "last";
	case SCH_SNAPSHOT_FIRST_IN_DATA_COLLECTION: return "first_in_data_collection";
	case SCH_SNAPSHOT_LAST_IN_DATA_COLLECTION: return "last_in_data_collection";
	case SCH_SNAPSHOT_INCREMENTAL: return "incremental";
	default: return "false";
	}
}

/* One element of source.sequence inside its JSON string: \"N\" or null. */
static void
put_seq_lsn(struct sl_buf *out, int has, uint64_t lsn)
{
	if (!has) {
		sl_buf_add(out, "null", 4);
		return;
	}
	sl_buf_add(out, "\\\"", 2);
	put_u64(out, lsn);
	sl_buf_add(out, "\\\"", 2);
}

static void
json_opt_u64(struct sl_buf *out, const char *key, int has, uint64_t v)
{
	sl_buf_add(out, ",\"", 2);
	json_lit(out, key);
	sl_buf_add(out, "\":", 2);
	if (has)
		put_u64(out, v);
	else
		JSON_LIT(out, "null");
}

/*
 * Debezium's source block.  PostgreSQL: version, connector, name, ts_ms,
 * snapshot, db, sequence, ts_us, ts_ns, schema, table, txId, lsn, xmin.
 * MySQL: ... db, sequence, ts_us, ts_ns, table, server_id, gtid, file, pos,
 * row, thread, query.
 */
static void
json_source(struct sl_buf *out, const struct sch_source *s,
    const struct json_ctx *c)
{
	int mysql = s->connector != NULL && strcmp(s->connector, "mysql") == 0;

	JSON_LIT(out, "{\"version\":");
	json_cstr(out, c->version);
	JSON_LIT(out, ",\"connector\":");
	json_cstr(out, s->connector != NULL ? s->connector : "postgresql");
	JSON_LIT(out, ",\"name\":");
	json_cstr(out, s->name);
	JSON_LIT(out, ",\"ts_ms\":");
	put_i64(out, s->ts_ms);
	JSON_LIT(out, ",\"snapshot\":\"");
	json_lit(out, snapshot_name(s->snapshot));
	JSON_LIT(out, "\",\"db\":");
	json_cstr(out, s->db);
	JSON_LIT(out, ",\"sequence\":");
	if (!mysql && (s->has & (SCH_SRC_LSN | SCH_SRC_LAST_COMMIT_LSN))) {
		/* a JSON string holding ["last commit LSN","LSN"], escaped */
		JSON_LIT(out, "\"[");
		put_seq_lsn(out, s->has & SCH_SRC_LAST_COMMIT_LSN, s->last_commit_lsn);
		sl_buf_add_u8(out, ',');
		put_seq_lsn(out, s->has & SCH_SRC_LSN, s->lsn);
		sl_buf_add(out, "]\"", 2);
	} else if (s->has & SCH_SRC_SEQUENCE) {
		sl_buf_printf(out, "\"%llu\"", (unsigned long long)s->sequence);
	} else {
		JSON_LIT(out, "null");
	}
	JSON_LIT(out, ",\"ts_us\":");
	put_i64(out, s->ts_us);
	JSON_LIT(out, ",\"ts_ns\":");
	put_i64(out, (int64_t)((uint64_t)s->ts_us * 1000));	/* wraps, never UB */
	if (mysql) {
		JSON_LIT(out, ",\"table\":");
		json_cstr(out, s->table);
		sl_buf_printf(out, ",\"server_id\":%u,\"gtid\":", s->server_id);
		json_cstr(out, (s->has & SCH_SRC_GTID) ? s->gtid : NULL);
		JSON_LIT(out, ",\"file\":");
		json_cstr(out, s->binlog_file != NULL ? s->binlog_file : "");
		sl_buf_printf(out, ",\"pos\":%llu,\"row\":%u,\"thread\":null,"
		    "\"query\":null}", (unsigned long long)s->binlog_pos, s->row);
		return;
	}
	JSON_LIT(out, ",\"schema\":");
	json_cstr(out, s->schema);
	JSON_LIT(out, ",\"table\":");
	json_cstr(out, s->table);
	json_opt_u64(out, "txId", s->has & SCH_SRC_TXID, s->txid);
	json_opt_u64(out, "lsn", s->has & SCH_SRC_LSN, s->lsn);
	json_opt_u64(out, "xmin", s->has & SCH_SRC_XMIN, s->xmin);
	sl_buf_add_u8(out, '}');
}

static void
json_tx(struct sl_buf *out, const struct sch_txinfo *tx)
{
	if (tx->id == NULL) {
		JSON_LIT(out, "null");
		return;
	}
	JSON_LIT(out, "{\"id\":");
	json_cstr(out, tx->id);
	JSON_LIT(out, ",\"total_order\":");
	put_u64(out, tx->total_order);
	JSON_LIT(out, ",\"data_collection_order\":");
	put_u64(out, tx->data_collection_order);
	sl_buf_add_u8(out, '}');
}

static int event_payload(struct sl_buf *out, const struct sch_event *ev,
    const struct json_ctx *c);

int
sch_event_encode_json(const struct sch_event *ev,
    const struct sch_json_opts *opts, struct sl_buf *out)
{
	struct json_ctx c;
	size_t start = out->len;
	int rc;

	if (sch_event_check_(ev, NULL) != 0)
		return SL_EINVAL;
	ctx_init(&c, opts);
	if (c.schemas) {
		if (c.schema_prefix == NULL)
			c.schema_prefix = ev->source.name != NULL ? ev->source.name : "sluice";
		JSON_LIT(out, "{\"schema\":");
		schema_envelope(out, ev, &c);
		JSON_LIT(out, ",\"payload\":");
	}
	if ((rc = event_payload(out, ev, &c)) != 0) {
		out->len = start;
		return rc;
	}
	if (c.schemas)
		sl_buf_add_u8(out, '}');
	return 0;
}

/* The envelope itself: what schemas.enable=false gives. */
static int
event_payload(struct sl_buf *out, const struct sch_event *ev, const struct json_ctx *cp)
{
	struct json_ctx c = *cp;
	int rc;

	if (ev->op == SCH_OP_MESSAGE) {
		JSON_LIT(out, "{\"source\":");
		json_source(out, &ev->source, &c);
		sl_buf_printf(out, ",\"op\":\"m\",\"ts_ms\":%lld", (long long)ev->ts_ms);
		if (ev->tx.id != NULL || c.schemas) {	/* with schemas: every field */
			JSON_LIT(out, ",\"transaction\":");
			json_tx(out, &ev->tx);
		}
		JSON_LIT(out, ",\"message\":{\"prefix\":");
		json_cstr(out, ev->message->prefix != NULL ? ev->message->prefix : "");
		JSON_LIT(out, ",\"content\":");
		json_b64(out, ev->message->content.p, ev->message->content.len);
		JSON_LIT(out, "}}");
		return 0;
	}
	JSON_LIT(out, "{\"before\":");
	if ((rc = json_image(out, ev->table, ev->before, 0, &c)) != 0)
		goto fail;
	JSON_LIT(out, ",\"after\":");
	if ((rc = json_image(out, ev->table, ev->after, 0, &c)) != 0)
		goto fail;
	JSON_LIT(out, ",\"source\":");
	json_source(out, &ev->source, &c);
	JSON_LIT(out, ",\"op\":\"");
	sl_buf_add_u8(out, (uint8_t)ev->op);
	JSON_LIT(out, "\",\"ts_ms\":");
	put_i64(out, ev->ts_ms);
	JSON_LIT(out, ",\"transaction\":");
	json_tx(out, &ev->tx);
	sl_buf_add_u8(out, '}');
	return 0;
fail:
	return rc;
}

int
sch_key_encode_json(const struct sch_event *ev,
    const struct sch_json_opts *opts, struct sl_buf *out)
{
	const struct sch_value *img = ev->after != NULL ? ev->after : ev->before;
	struct json_ctx c;
	size_t start = out->len;
	uint32_t i, n = 0;
	int rc;

	if (ev->table == NULL || img == NULL)
		return SL_EINVAL;
	for (i = 0; i < ev->table->n_columns; i++) {
		if (!ev->table->columns[i].is_key)
			continue;
		if (img[i].kind == SCH_UNCHANGED)
			return SL_EINVAL;
		n++;
	}
	if (n == 0)
		return SL_ENOTFOUND;
	ctx_init(&c, opts);
	if (c.schemas) {
		if (c.schema_prefix == NULL)
			c.schema_prefix = ev->source.name != NULL ? ev->source.name : "sluice";
		JSON_LIT(out, "{\"schema\":");
		schema_row(out, ev->table, 1, 0, NULL, &c);
		JSON_LIT(out, ",\"payload\":");
	}
	rc = json_image(out, ev->table, img, 1, &c);
	if (rc != 0)
		out->len = start;
	else if (c.schemas)
		sl_buf_add_u8(out, '}');
	return rc;
}

int
sch_txevent_encode_json(const struct sch_txevent *tx, struct sl_buf *out)
{
	uint32_t i;

	if (tx->status != SCH_TX_BEGIN && tx->status != SCH_TX_END)
		return SL_EINVAL;
	sl_buf_printf(out, "{\"status\":\"%s\",\"id\":",
	    tx->status == SCH_TX_BEGIN ? "BEGIN" : "END");
	json_cstr(out, tx->id);
	sl_buf_printf(out, ",\"ts_ms\":%lld", (long long)tx->ts_ms);
	if (tx->status == SCH_TX_BEGIN) {
		JSON_LIT(out, ",\"event_count\":null,\"data_collections\":null}");
		return 0;
	}
	sl_buf_printf(out, ",\"event_count\":%llu,\"data_collections\":[",
	    (unsigned long long)tx->event_count);
	for (i = 0; i < tx->n_collections; i++) {
		json_lit(out, i ? ",{\"data_collection\":" : "{\"data_collection\":");
		json_cstr(out, tx->collections[i].data_collection);
		sl_buf_printf(out, ",\"event_count\":%llu}",
		    (unsigned long long)tx->collections[i].event_count);
	}
	JSON_LIT(out, "]}");
	return 0;
}

int
sch_heartbeat_encode_json(const struct sch_heartbeat *hb, struct sl_buf *out)
{
	sl_buf_printf(out, "{\"ts_ms\":%lld}", (long long)hb->ts_ms);
	return 0;
}

/* ------------------------------------------ Kafka Connect schemas (opt-in) */

/*
 * With sch_json_opts.schemas, keys and values are JsonConverter's
 * schemas.enable=true form, {"schema":{...},"payload":{...}}, the default of
 * a Kafka Connect worker and so of most Debezium deployments.  The schema of
 * each column follows the encoding json_value() gives it (docs/types.md).
 */

/* One field (or, 'field' NULL, an array's items): type, logical name, params. */
static void
schema_prim(struct sl_buf *out, const char *type, const char *name, const char *params,
    int optional, const char *field)
{
	JSON_LIT(out, "{\"type\":\"");
	json_lit(out, type);
	sl_buf_printf(out, "\",\"optional\":%s", optional ? "true" : "false");
	if (name != NULL) {
		JSON_LIT(out, ",\"name\":\"");
		json_lit(out, name);
		JSON_LIT(out, "\",\"version\":1");
	}
	if (params != NULL)
		sl_buf_printf(out, ",\"parameters\":{%s}", params);
	if (field != NULL) {
		JSON_LIT(out, ",\"field\":");
		json_cstr(out, field);
	}
	sl_buf_add_u8(out, '}');
}

/* A decimal as json_numeric() writes it, 'scale' < 0: variable. */
static void
schema_decimal(struct sl_buf *out, int precision, int scale, int optional,
    const char *field, const struct json_ctx *c)
{
	char params[96];

	if (c->decimal == SCH_DECIMAL_STRING) {
		schema_prim(out, "string", NULL, NULL, optional, field);
	} else if (c->decimal == SCH_DECIMAL_DOUBLE) {
		schema_prim(out, "double", NULL, NULL, optional, field);
	} else if (scale >= 0) {
		if (precision > 0)
			snprintf(params, sizeof(params), "\"scale\":\"%d\","
			    "\"connect.decimal.precision\":\"%d\"", scale, precision);
		else
			snprintf(params, sizeof(params), "\"scale\":\"%d\"", scale);
		schema_prim(out, "bytes", "org.apache.kafka.connect.data.Decimal", params,
		    optional, field);
	} else {
		JSON_LIT(out, "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\","
		    "\"optional\":false,\"field\":\"scale\"},{\"type\":\"bytes\","
		    "\"optional\":false,\"field\":\"value\"}]");
		sl_buf_printf(out, ",\"optional\":%s,\"name\":\"io.debezium.data."
		    "VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"",
		    optional ? "true" : "false");
		if (field != NULL) {
			JSON_LIT(out, ",\"field\":");
			json_cstr(out, field);
		}
		sl_buf_add_u8(out, '}');
	}
}

static void
schema_bits(struct sl_buf *out, int32_t typmod, int optional, const char *field)
{
	char params[48];

	if (typmod == 1) {
		schema_prim(out, "boolean", NULL, NULL, optional, field);
		return;
	}
	snprintf(params, sizeof(params), "\"length\":\"%d\"", typmod > 0 ? typmod : 0);
	schema_prim(out, "bytes", "io.debezium.data.Bits", params, optional, field);
}

/* A PostgreSQL type by oid; arrays recurse on their element type. */
static void
schema_pg(struct sl_buf *out, uint32_t oid, int32_t typmod, int optional, const char *field,
    const struct json_ctx *c, int depth)
{
	uint32_t elem = sch_pg_array_elem(oid);

	if (elem != 0 && depth < SCH_MAX_ARRAY_DEPTH) {
		JSON_LIT(out, "{\"type\":\"array\",\"items\":");
		schema_pg(out, elem, typmod, 1, NULL, c, depth + 1);
		sl_buf_printf(out, ",\"optional\":%s", optional ? "true" : "false");
		if (field != NULL) {
			JSON_LIT(out, ",\"field\":");
			json_cstr(out, field);
		}
		sl_buf_add_u8(out, '}');
		return;
	}
	switch (oid) {
	case SCH_OID_BOOL: schema_prim(out, "boolean", NULL, NULL, optional, field); return;
	case SCH_OID_INT2: schema_prim(out, "int16", NULL, NULL, optional, field); return;
	case SCH_OID_INT4: schema_prim(out, "int32", NULL, NULL, optional, field); return;
	case SCH_OID_INT8: case SCH_OID_OID:
	case 28: case 29: case 5069:	/* xid, cid, xid8: UINT64 values, numbers */
		schema_prim(out, "int64", NULL, NULL, optional, field);
		return;
	case SCH_OID_FLOAT4: schema_prim(out, "float", NULL, NULL, optional, field); return;
	case SCH_OID_FLOAT8: schema_prim(out, "double", NULL, NULL, optional, field); return;
	case SCH_OID_NUMERIC:
		schema_decimal(out, typmod >= 4 ? (int)((typmod - 4) >> 16) : 0,
		    typmod >= 4 ? (int)((typmod - 4) & 0xffff) : -1, optional, field, c);
		return;
	case SCH_OID_MONEY:
		schema_decimal(out, 0, c->money_scale, optional, field, c);
		return;
	case SCH_OID_BYTEA: schema_prim(out, "bytes", NULL, NULL, optional, field); return;
	case SCH_OID_UUID:
		schema_prim(out, "string", "io.debezium.data.Uuid", NULL, optional, field);
		return;
	case SCH_OID_JSON: case SCH_OID_JSONB:
		schema_prim(out, "string", "io.debezium.data.Json", NULL, optional, field);
		return;
	case SCH_OID_XML:
		schema_prim(out, "string", "io.debezium.data.Xml", NULL, optional, field);
		return;
	case SCH_OID_DATE:
		schema_prim(out, "int32", "io.debezium.time.Date", NULL, optional, field);
		return;
	case SCH_OID_TIME:
		if (typmod >= 0 && typmod <= 3)
			schema_prim(out, "int32", "io.debezium.time.Time", NULL, optional, field);
		else
			schema_prim(out, "int64", "io.debezium.time.MicroTime", NULL, optional,
			    field);
		return;
	case SCH_OID_TIMETZ:
		schema_prim(out, "string", "io.debezium.time.ZonedTime", NULL, optional, field);
		return;
	case SCH_OID_TIMESTAMP:
		if (typmod >= 0 && typmod <= 3)
			schema_prim(out, "int64", "io.debezium.time.Timestamp", NULL, optional,
			    field);
		else
			schema_prim(out, "int64", "io.debezium.time.MicroTimestamp", NULL,
			    optional, field);
		return;
	case SCH_OID_TIMESTAMPTZ:
		schema_prim(out, "string", "io.debezium.time.ZonedTimestamp", NULL, optional,
		    field);
		return;
	case SCH_OID_INTERVAL:
		schema_prim(out, "int64", "io.debezium.time.MicroDuration", NULL, optional,
		    field);
		return;
	case SCH_OID_BIT: case SCH_OID_VARBIT:
		schema_bits(out, typmod, optional, field);
		return;
	default:
		schema_prim(out, "string", NULL, NULL, optional, field);
		return;
	}
}

/* A MySQL/MariaDB column by the type name capture gives it (type_oid 0). */
static void
schema_my(struct sl_buf *out, const struct sch_column *col, int optional, const struct json_ctx *c)
{
	const char *t = col->type_name != NULL ? col->type_name : "";
	const char *f = col->name;

	if (strcmp(t, "tinyint") == 0 || strcmp(t, "tinyint unsigned") == 0 ||
	    strcmp(t, "smallint") == 0)
		schema_prim(out, "int16", NULL, NULL, optional, f);
	else if (strcmp(t, "smallint unsigned") == 0 || strncmp(t, "mediumint", 9) == 0 ||
	    strcmp(t, "int") == 0)
		schema_prim(out, "int32", NULL, NULL, optional, f);
	else if (strcmp(t, "int unsigned") == 0 || strncmp(t, "bigint", 6) == 0)
		schema_prim(out, "int64", NULL, NULL, optional, f);
	else if (strcmp(t, "float") == 0 || strcmp(t, "double") == 0)
		schema_prim(out, "double", NULL, NULL, optional, f);
	else if (strcmp(t, "decimal") == 0)
		schema_decimal(out, col->typmod >= 4 ? (int)((col->typmod - 4) >> 16) : 0,
		    col->typmod >= 4 ? (int)((col->typmod - 4) & 0xffff) : -1, optional, f, c);
	else if (strcmp(t, "date") == 0)
		schema_prim(out, "int32", "io.debezium.time.Date", NULL, optional, f);
	else if (strcmp(t, "time") == 0)
		schema_prim(out, "int64", "io.debezium.time.MicroTime", NULL, optional, f);
	else if (strcmp(t, "datetime") == 0)
		schema_prim(out, "int64", col->typmod >= 0 && col->typmod <= 3 ?
		    "io.debezium.time.Timestamp" : "io.debezium.time.MicroTimestamp", NULL,
		    optional, f);
	else if (strcmp(t, "timestamp") == 0)
		schema_prim(out, "string", "io.debezium.time.ZonedTimestamp", NULL, optional, f);
	else if (strcmp(t, "year") == 0)
		schema_prim(out, "int32", "io.debezium.time.Year", NULL, optional, f);
	else if (strcmp(t, "binary") == 0 || strcmp(t, "varbinary") == 0 ||
	    strstr(t, "blob") != NULL || strcmp(t, "geometry") == 0)
		schema_prim(out, "bytes", NULL, NULL, optional, f);
	else if (strcmp(t, "enum") == 0)
		schema_prim(out, "string", "io.debezium.data.Enum", NULL, optional, f);
	else if (strcmp(t, "set") == 0)
		schema_prim(out, "string", "io.debezium.data.EnumSet", NULL, optional, f);
	else if (strcmp(t, "bit") == 0)
		schema_bits(out, col->typmod, optional, f);
	else if (strcmp(t, "json") == 0)
		schema_prim(out, "string", "io.debezium.data.Json", NULL, optional, f);
	else
		schema_prim(out, "string", NULL, NULL, optional, f);
}

/*
 * A column: optional unless a key column.  On PostgreSQL a NOT NULL column
 * is optional too: the old image of a DELETE or UPDATE under REPLICA
 * IDENTITY DEFAULT holds the key columns only, the others null.  MySQL's
 * images are whole rows (binlog_row_image FULL): optional when nullable.
 */
static void
schema_column(struct sl_buf *out, const struct sch_column *col, const struct json_ctx *c)
{
	if (col->type_oid != 0)
		schema_pg(out, col->type_oid, col->typmod, !col->is_key, col->name, c, 0);
	else
		schema_my(out, col, col->nullable >= 0 ? col->nullable != 0 : !col->is_key, c);
}

/* "<prefix>.<schema or db>.<table>.<suffix>" */
static void
schema_name(struct sl_buf *out, const struct sch_table *t, const struct json_ctx *c,
    const char *suffix)
{
	struct sl_buf n = { 0 };

	sl_buf_printf(&n, "%s.%s.%s.%s", c->schema_prefix, t->schema != NULL ? t->schema :
	    t->db != NULL ? t->db : "", t->name, suffix);
	json_str(out, (const char *)n.p, n.len);
	sl_buf_free(&n);
}

/* The struct of a table's columns (all, or the key's), Debezium's Value or Key. */
static void
schema_row(struct sl_buf *out, const struct sch_table *t, int keys_only, int optional,
    const char *field, const struct json_ctx *c)
{
	uint32_t i;
	int first = 1;

	JSON_LIT(out, "{\"type\":\"struct\",\"fields\":[");
	for (i = 0; i < t->n_columns; i++) {
		if (keys_only && !t->columns[i].is_key)
			continue;
		if (!first)
			sl_buf_add_u8(out, ',');
		first = 0;
		schema_column(out, &t->columns[i], c);
	}
	sl_buf_printf(out, "],\"optional\":%s,\"name\":", optional ? "true" : "false");
	schema_name(out, t, c, keys_only ? "Key" : "Value");
	if (field != NULL) {
		JSON_LIT(out, ",\"field\":");
		json_cstr(out, field);
	}
	sl_buf_add_u8(out, '}');
}

/*
 * The source block's struct, in json_source()'s field order; a logical
 * message's ('message') has no schema and table.
 */
static void
schema_source(struct sl_buf *out, int mysql, int message)
{
	JSON_LIT(out, "{\"type\":\"struct\",\"fields\":["
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
	    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
	    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\","
	    "\"version\":1,\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,"
	    "last_in_data_collection,last,false,incremental\"},\"default\":\"false\","
	    "\"field\":\"snapshot\"},"
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
	    "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
	    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
	    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},");
	if (mysql)
		JSON_LIT(out, "{\"type\":\"string\",\"optional\":true,\"field\":\"table\"},"
		    "{\"type\":\"int64\",\"optional\":false,\"field\":\"server_id\"},"
		    "{\"type\":\"string\",\"optional\":true,\"field\":\"gtid\"},"
		    "{\"type\":\"string\",\"optional\":false,\"field\":\"file\"},"
		    "{\"type\":\"int64\",\"optional\":false,\"field\":\"pos\"},"
		    "{\"type\":\"int32\",\"optional\":false,\"field\":\"row\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"thread\"},"
		    "{\"type\":\"string\",\"optional\":true,\"field\":\"query\"}],"
		    "\"optional\":false,\"name\":\"io.debezium.connector.mysql.Source\","
		    "\"field\":\"source\"}");
	else if (message)
		JSON_LIT(out, "{\"type\":\"string\",\"optional\":true,\"field\":\"schema\"},"
		    "{\"type\":\"string\",\"optional\":true,\"field\":\"table\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"}],"
		    "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\","
		    "\"field\":\"source\"}");
	else
		JSON_LIT(out, "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
		    "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"}],"
		    "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\","
		    "\"field\":\"source\"}");
}

#define SCHEMA_TX "{\"type\":\"struct\",\"fields\":[" \
	"{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}," \
	"{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"}," \
	"{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}]," \
	"\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}"

/* The envelope's schema: before, after, source, op, ts_ms, transaction. */
static void
schema_envelope(struct sl_buf *out, const struct sch_event *ev, const struct json_ctx *c)
{
	int mysql = ev->source.connector != NULL && strcmp(ev->source.connector, "mysql") == 0;

	if (ev->op == SCH_OP_MESSAGE) {
		JSON_LIT(out, "{\"type\":\"struct\",\"fields\":[");
		schema_source(out, mysql, 1);
		JSON_LIT(out, ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
		    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
		    SCHEMA_TX ",{\"type\":\"struct\",\"fields\":["
		    "{\"type\":\"string\",\"optional\":false,\"field\":\"prefix\"},"
		    "{\"type\":\"bytes\",\"optional\":true,\"field\":\"content\"}],"
		    "\"optional\":true,\"name\":\"io.debezium.connector.postgresql.Message\","
		    "\"field\":\"message\"}],\"optional\":false,\"name\":"
		    "\"io.debezium.connector.postgresql.MessageValue\"}");
		return;
	}
	JSON_LIT(out, "{\"type\":\"struct\",\"fields\":[");
	schema_row(out, ev->table, 0, 1, "before", c);
	sl_buf_add_u8(out, ',');
	schema_row(out, ev->table, 0, 1, "after", c);
	sl_buf_add_u8(out, ',');
	schema_source(out, mysql, 0);
	JSON_LIT(out, ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
	    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}," SCHEMA_TX
	    "],\"optional\":false,\"name\":");
	schema_name(out, ev->table, c, "Envelope");
	JSON_LIT(out, ",\"version\":1}");
}

int
sch_string_key_encode_json(const char *prefix, const struct sch_json_opts *opts,
    struct sl_buf *out)
{
	if (opts == NULL || !opts->schemas) {
		sl_buf_add(out, prefix, strlen(prefix));
		return 0;
	}
	JSON_LIT(out, "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":");
	json_cstr(out, prefix);
	sl_buf_add_u8(out, '}');
	return 0;
}

int
sch_txevent_encode_json_opts(const struct sch_txevent *tx, const struct sch_json_opts *opts,
    struct sl_buf *out)
{
	size_t start = out->len;
	int rc;

	if (opts == NULL || !opts->schemas)
		return sch_txevent_encode_json(tx, out);
	JSON_LIT(out, "{\"schema\":{\"type\":\"struct\",\"fields\":["
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
	    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
	    "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
	    "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
	    "{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
	    "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],"
	    "\"optional\":false},\"optional\":true,\"field\":\"data_collections\"}],"
	    "\"optional\":false,\"name\":"
	    "\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1},"
	    "\"payload\":");
	if ((rc = sch_txevent_encode_json(tx, out)) != 0) {
		out->len = start;
		return rc;
	}
	sl_buf_add_u8(out, '}');
	return 0;
}

int
sch_heartbeat_encode_json_opts(const struct sch_heartbeat *hb, const struct sch_json_opts *opts,
    struct sl_buf *out)
{
	if (opts == NULL || !opts->schemas)
		return sch_heartbeat_encode_json(hb, out);
	JSON_LIT(out, "{\"schema\":{\"type\":\"struct\",\"fields\":["
	    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],"
	    "\"optional\":false,\"name\":\"io.debezium.connector.common.Heartbeat\"},"
	    "\"payload\":");
	(void)sch_heartbeat_encode_json(hb, out);
	sl_buf_add_u8(out, '}');
	return 0;
}
