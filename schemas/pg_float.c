/*
 * schemas/pg_float.c: floats printed as PostgreSQL 12+ prints them with
 * extra_float_digits = 1 (the default): the shortest decimal that reads
 * back as the same binary value, as its Ryu-based float8out/float4out do.
 * Used for PG text (pg_types.c) and for JSON numbers (encode_json.c).
 *
 * It is not a float parser; pg_types.c reads floats with strtod/strtof.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemas/sch_int.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * The digits of the decimal 'dec' (printf %e or %f output, sign ignored)
 * written as a plain number with exactly three decimals into 'out'.
 * Returns 0, or -1 when 'dec' has a nonzero digit past the third decimal
 * or 'out' is too small.
 */
static int
float_plain(const char *dec, char *out, size_t cap)
{
	char d[400];
	int nd = 0, point = -1, exp = 0, first, q;
	size_t n = 0;
	const char *p = dec;

	if (*p == '-')
		p++;
	for (; *p != '\0' && *p != 'e'; p++) {
		if (*p == '.')
			point = nd;
		else if (nd < (int)sizeof(d))
			d[nd++] = *p;
		else
			return -1;
	}
	if (*p == 'e')
		exp = atoi(p + 1);
	if (point < 0)
		point = nd;
	exp += point - 1;		/* decimal exponent of d[0] */
	for (first = 0; first < nd - 1 && d[first] == '0'; first++)
		exp--;
	while (nd > first + 1 && d[nd - 1] == '0')
		nd--;
	if (exp - (nd - first - 1) < -3)
		return -1;
	for (q = exp > 0 ? exp : 0; q >= -3; q--) {
		int k = exp - q + first;

		if (n + 2 >= cap)
			return -1;
		if (q == -1)
			out[n++] = '.';
		out[n++] = (k >= first && k < nd) ? d[k] : '0';
	}
	out[n] = '\0';
	return 0;
}

/*
 * 1 when the decimal 'tmp' lies exactly half-way between 'v' and a
 * neighbour.  strtod rounds such a tie to the even neighbour, which may be
 * 'v', but PostgreSQL's Ryu never picks a half-way point, so neither do
 * we.  A tie needs a half-way point with at most 17 significant digits,
 * which only integers of 2^53 and more (floats: 2^21) have, with at most
 * three binary fraction digits; the comparison is exact decimal text
 * (glibc prints binary values exactly).
 */
static int
float_on_bound(const char *tmp, double v, int is4)
{
	char a[400], b[400];
	long double mid[2];
	int i;

	if (fabs(v) < (is4 ? 0x1p20 : 0x1p52))
		return 0;
	if (is4) {
		float f = (float)v;

		mid[0] = ((long double)f + nextafterf(f, -INFINITY)) / 2;
		mid[1] = ((long double)f + nextafterf(f, INFINITY)) / 2;
	} else {
		mid[0] = ((long double)v + nextafter(v, -INFINITY)) / 2;
		mid[1] = ((long double)v + nextafter(v, INFINITY)) / 2;
	}
	if (float_plain(tmp, a, sizeof(a)) < 0)
		return 0;
	for (i = 0; i < 2; i++) {
		char m[400];

		if (isinf(mid[i]))
			continue;
		snprintf(m, sizeof(m), "%.3Lf", mid[i]);
		if (float_plain(m, b, sizeof(b)) == 0 && strcmp(a, b) == 0)
			return 1;
	}
	return 0;
}

#define WIDE_DIGITS 25

/*
 * Write into 'tmp' what snprintf("%.*e", p - 1, v) would, for a positive
 * 'v' and 'p' <= 17, by rounding 'wide' (the same value printed correctly
 * rounded to WIDE_DIGITS digits) instead of asking printf again, which is
 * several times slower.  Rounding twice is only wrong when the dropped
 * digits of 'wide' read exactly 5000... or 4999..., where the exact value
 * may lie on either side of the half-way point; then printf decides.
 */
static void
float_round_to(double v, const char *wide, int p, char *tmp, size_t cap)
{
	char d[WIDE_DIGITS + 1];
	int nd = 0, exp, k, up, zeros = 1, nines = 1;
	const char *q;

	for (q = wide; *q != '\0' && *q != 'e'; q++)
		if (is_digit(*q) && nd < WIDE_DIGITS)
			d[nd++] = *q;
	if (*q != 'e' || nd != WIDE_DIGITS || p < 1 || p >= WIDE_DIGITS) {
		snprintf(tmp, cap, "%.*e", p - 1, v);
		return;
	}
	exp = atoi(q + 1);
	for (k = p + 1; k < nd; k++) {
		zeros &= d[k] == '0';
		nines &= d[k] == '9';
	}
	if ((d[p] == '5' && zeros) || (d[p] == '4' && nines)) {
		snprintf(tmp, cap, "%.*e", p - 1, v);
		return;
	}
	up = d[p] >= '5';
	for (k = p - 1; up && k >= 0; k--) {
		if (d[k] == '9') {
			d[k] = '0';
		} else {
			d[k]++;
			up = 0;
		}
	}
	if (up) {			/* 9.99 -> 10.0: one more power of ten */
		d[0] = '1';
		exp++;
	}
	d[p] = '\0';
	snprintf(tmp, cap, "%c%s%se%+03d", d[0], p > 1 ? "." : "", d + 1, exp);
}

/* 1 when the decimal 'tmp' reads back as 'v' and is not a tie. */
static int
float_fits(const char *tmp, double v, int is4)
{
	if (is4 ? strtof(tmp, NULL) != (float)v : strtod(tmp, NULL) != v)
		return 0;
	return !float_on_bound(tmp, v, is4);
}

/*
 * Replace 'tmp', a positive "%.*e" decimal of 'p' digits, by the next
 * p-digit decimal up.  Returns 1, or 0 when 'tmp' is not of that form.
 */
static int
float_round_up(char *tmp, size_t cap, int p)
{
	char digits[24];
	uint64_t d = 0, limit = 1;
	int i, nd = 0, exp;
	const char *q;

	for (q = tmp; *q != '\0' && *q != 'e'; q++)
		if (is_digit(*q) && nd < 18)
			digits[nd++] = *q;
	if (*q != 'e' || nd != p)
		return 0;
	exp = atoi(q + 1);
	for (i = 0; i < nd; i++) {
		d = d * 10 + (uint64_t)(digits[i] - '0');
		limit *= 10;
	}
	if (++d == limit) {
		d /= 10;
		exp++;
	}
	snprintf(digits, sizeof(digits), "%0*llu", p, (unsigned long long)d);
	snprintf(tmp, cap, "%c%s%se%+03d", digits[0], p > 1 ? "." : "",
	    digits + 1, exp);
	return 1;
}

/*
 * Append 'v' as PostgreSQL 12+ prints a float8 ('is4' 0) or float4 with
 * extra_float_digits = 1: the shortest decimal that reads back as the same
 * binary value, in fixed notation when the decimal exponent is in
 * [-4, 15) (float4: [-4, 6)) and as d.ddde+XX otherwise.  The shortest
 * digits come from trying each precision with printf's correctly rounded
 * %e and rejecting ties (float_on_bound).  This matches PostgreSQL's Ryu
 * on 72,000 values taken from a server, powers of two included
 * (tests/check_sch.c holds a sample).
 */
void
sch_put_float_(struct sl_buf *out, double v, int is4)
{
	char tmp[40], digits[24], wide[48];
	int p, lo, hi, e2, nd = 0, exp, i, fixed_max = is4 ? 6 : 15;
	const char *q;

	if (isnan(v)) {
		sl_buf_add(out, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		if (v < 0)
			sl_buf_add(out, "-Infinity", 9);
		else
			sl_buf_add(out, "Infinity", 8);
		return;
	}
	if (v == 0) {
		if (signbit(v))
			sl_buf_add(out, "-0", 2);
		else
			sl_buf_add(out, "0", 1);
		return;
	}
	if (v < 0) {
		sl_buf_add_u8(out, '-');
		v = -v;
	}
	/*
	 * The correctly rounded p-digit decimal fits for every p from the
	 * shortest on (more digits only get closer, and a tie at p is beaten
	 * by p + 1), so binary search finds the shortest; the widest always
	 * fits, far from any tie.
	 */
	snprintf(wide, sizeof(wide), "%.*e", WIDE_DIGITS - 1, v);
	lo = 1;
	hi = is4 ? 9 : 17;
	while (lo < hi) {
		p = lo + (hi - lo) / 2;
		float_round_to(v, wide, p, tmp, sizeof(tmp));
		if (float_fits(tmp, v, is4))
			hi = p;
		else
			lo = p + 1;
	}
	/*
	 * At a power of two the gap below is half the gap above: the closest
	 * shorter decimal may miss while the next one up fits.
	 */
	if (frexp(v, &e2) == 0.5) {
		for (p = 1; p < lo; p++) {
			float_round_to(v, wide, p, tmp, sizeof(tmp));
			if (float_round_up(tmp, sizeof(tmp), p) &&
			    float_fits(tmp, v, is4))
				break;
		}
		if (p < lo)
			goto have_digits;
	}
	float_round_to(v, wide, lo, tmp, sizeof(tmp));
have_digits:
	q = tmp;
	for (; *q != 'e' && *q != '\0'; q++)
		if (is_digit(*q) && nd < (int)sizeof(digits))
			digits[nd++] = *q;
	exp = *q == 'e' ? atoi(q + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp >= -4 && exp < fixed_max) {
		if (exp < 0) {
			sl_buf_add(out, "0.", 2);
			for (i = -1; i > exp; i--)
				sl_buf_add_u8(out, '0');
			sl_buf_add(out, digits, (size_t)nd);
		} else if (exp + 1 >= nd) {
			sl_buf_add(out, digits, (size_t)nd);
			for (i = nd; i < exp + 1; i++)
				sl_buf_add_u8(out, '0');
		} else {
			sl_buf_add(out, digits, (size_t)exp + 1);
			sl_buf_add_u8(out, '.');
			sl_buf_add(out, digits + exp + 1, (size_t)(nd - exp - 1));
		}
		return;
	}
	sl_buf_add_u8(out, (uint8_t)digits[0]);
	if (nd > 1) {
		sl_buf_add_u8(out, '.');
		sl_buf_add(out, digits + 1, (size_t)nd - 1);
	}
	sl_buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}
