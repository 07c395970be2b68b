/*
 * broker/brk_codec.c: the bounds-checked primitive readers and writers of the
 * Kafka wire protocol declared in broker/brk_codec.h.
 *
 * Only primitives live here (integers, strings, bytes, array counts and the
 * request header); each API's request and response layout is decoded by its
 * handler.  Not here: flexible versions (compact strings, tagged fields).
 *
 * INVARIANTS
 *  (1) A reader never moves 'p' past 'end'.
 *  (2) After the first failure 'err' stays set and every get returns zero,
 *      so a handler may decode a whole request and check brk_rd_ok() once.
 */
#include "broker/brk_codec.h"

static int
rd_need(struct brk_rd *r, size_t n, const char *what)
{
	if (r->err != 0)
		return 0;
	if (brk_rd_left(r) < n) {
		r->err = SL_ETRUNC;
		r->what = what;
		return 0;
	}
	return 1;
}

static void
rd_fail(struct brk_rd *r, int code, const char *what)
{
	if (r->err == 0) {
		r->err = code;
		r->what = what;
	}
}

int8_t
brk_rd_i8(struct brk_rd *r, const char *what)
{
	int8_t v;

	if (!rd_need(r, 1, what))	/* (2) */
		return 0;
	v = (int8_t)r->p[0];
	r->p += 1;
	return v;
}

int16_t
brk_rd_i16(struct brk_rd *r, const char *what)
{
	int16_t v;

	if (!rd_need(r, 2, what))
		return 0;
	v = (int16_t)sl_get_be16(r->p);
	r->p += 2;
	return v;
}

int32_t
brk_rd_i32(struct brk_rd *r, const char *what)
{
	int32_t v;

	if (!rd_need(r, 4, what))
		return 0;
	v = (int32_t)sl_get_be32(r->p);
	r->p += 4;
	return v;
}

int64_t
brk_rd_i64(struct brk_rd *r, const char *what)
{
	int64_t v;

	if (!rd_need(r, 8, what))
		return 0;
	v = (int64_t)sl_get_be64(r->p);
	r->p += 8;
	return v;
}

/* Shared by STRING and BYTES once the length is read. */
static int
rd_blob(struct brk_rd *r, int64_t len, struct sl_slice *s, const char *what)
{
	s->p = NULL;
	s->len = 0;
	if (r->err != 0)
		return -1;
	if (len == -1)
		return 1;
	if (len < 0) {
		rd_fail(r, SL_ECORRUPT, what);
		return -1;
	}
	if (!rd_need(r, (size_t)len, what))	/* (1) */
		return -1;
	s->p = r->p;
	s->len = (size_t)len;
	r->p += len;
	return 0;
}

int
brk_rd_string(struct brk_rd *r, struct sl_slice *s, const char *what)
{
	int16_t len = brk_rd_i16(r, what);

	return rd_blob(r, len, s, what);
}

int
brk_rd_bytes(struct brk_rd *r, struct sl_slice *s, const char *what)
{
	int32_t len = brk_rd_i32(r, what);

	return rd_blob(r, len, s, what);
}

int32_t
brk_rd_array(struct brk_rd *r, size_t min_elem_size, int *is_null,
    const char *what)
{
	int32_t n = brk_rd_i32(r, what);

	if (is_null != NULL)
		*is_null = 0;
	if (r->err != 0)
		return 0;
	if (n == -1) {
		if (is_null != NULL)
			*is_null = 1;
		return 0;
	}
	if (n < 0) {
		rd_fail(r, SL_ECORRUPT, what);
		return 0;
	}
	/* Every element takes at least min_elem_size bytes: a huge count fails here. */
	if (min_elem_size > 0 && (uint64_t)n * min_elem_size > brk_rd_left(r)) {
		rd_fail(r, SL_ETRUNC, what);
		return 0;
	}
	return n;
}

char *
brk_rd_strdup(struct brk_rd *r, const char *what)
{
	struct sl_slice s;

	if (brk_rd_string(r, &s, what) != 0)
		return NULL;
	return sl_strndup((const char *)s.p, s.len);
}

void
brk_wr_stringn(struct sl_buf *b, const void *s, size_t n)
{
	if (n > INT16_MAX)
		n = INT16_MAX;	/* names are checked far below this; never overflow */
	brk_wr_i16(b, (int16_t)n);
	sl_buf_add(b, s, n);
}

void
brk_wr_string(struct sl_buf *b, const char *s)
{
	if (s == NULL) {
		brk_wr_i16(b, -1);
		return;
	}
	brk_wr_stringn(b, s, strlen(s));
}

void
brk_wr_bytes(struct sl_buf *b, const void *p, size_t n)
{
	if (p == NULL) {
		brk_wr_i32(b, -1);
		return;
	}
	brk_wr_i32(b, (int32_t)n);
	sl_buf_add(b, p, n);
}

int
brk_req_hdr_decode(struct brk_rd *r, struct brk_req_hdr *h)
{
	h->api_key = brk_rd_i16(r, "api key");
	h->api_version = brk_rd_i16(r, "api version");
	h->correlation_id = brk_rd_i32(r, "correlation id");
	brk_rd_string(r, &h->client_id, "client id");
	return brk_rd_ok(r) ? 0 : (r->err != 0 ? r->err : SL_ETRUNC);
}
