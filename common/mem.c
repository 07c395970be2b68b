/*
 * common/mem.c: allocation that aborts on out-of-memory, owned buffers
 * (struct sl_buf) and a bump arena for decoders.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl.h"

void
sl_oom(size_t n)
{
	fprintf(stderr, "sluice: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
sl_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		sl_oom(n);
	return p;
}

void *
sl_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);

	if (p == NULL)
		sl_oom(count * size);
	return p;
}

void *
sl_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		sl_oom(n);
	return q;
}

char *
sl_strdup(const char *s)
{
	return sl_strndup(s, strlen(s));
}

char *
sl_strndup(const char *s, size_t n)
{
	char *d = sl_malloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
sl_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		sl_oom(0);
	s = sl_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ------------------------------------------------------------------ sl_buf */

void
sl_buf_reserve(struct sl_buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len)
		sl_oom(SIZE_MAX);
	need = b->len + extra;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->p = sl_realloc(b->p, cap);
	b->cap = cap;
}

void
sl_buf_add_be16(struct sl_buf *b, uint16_t v)
{
	sl_buf_reserve(b, 2);
	sl_put_be16(b->p + b->len, v);
	b->len += 2;
}

void
sl_buf_add_be32(struct sl_buf *b, uint32_t v)
{
	sl_buf_reserve(b, 4);
	sl_put_be32(b->p + b->len, v);
	b->len += 4;
}

void
sl_buf_add_be64(struct sl_buf *b, uint64_t v)
{
	sl_buf_reserve(b, 8);
	sl_put_be64(b->p + b->len, v);
	b->len += 8;
}

void
sl_buf_add_varint(struct sl_buf *b, int64_t v)
{
	sl_buf_reserve(b, SL_VARINT_MAX);
	b->len += (size_t)sl_varint_put(b->p + b->len, v);
}

void
sl_buf_add_uvarint(struct sl_buf *b, uint64_t v)
{
	sl_buf_reserve(b, SL_VARINT_MAX);
	b->len += (size_t)sl_uvarint_put(b->p + b->len, v);
}

void
sl_buf_printf(struct sl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	sl_buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
sl_buf_reset(struct sl_buf *b)
{
	b->len = 0;
}

void
sl_buf_free(struct sl_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- sl_arena */

struct sl_arena_chunk {
	struct sl_arena_chunk *next;
	size_t size;			/* bytes of data[] */
	size_t used;
	_Alignas(16) unsigned char data[];
};

#define SL_ARENA_DEFAULT_CHUNK (64 * 1024)

void *
sl_arena_alloc(struct sl_arena *a, size_t n)
{
	struct sl_arena_chunk *c = a->head;
	size_t size;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (c == NULL || c->size - c->used < n) {
		size = a->chunk_size ? a->chunk_size : SL_ARENA_DEFAULT_CHUNK;
		if (size < n)
			size = n;
		if (size > SIZE_MAX - sizeof(*c))
			sl_oom(size);
		c = sl_malloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

/* Keep the newest chunk, free the others. */
void
sl_arena_reset(struct sl_arena *a)
{
	struct sl_arena_chunk *c, *next;

	if (a->head == NULL)
		return;
	for (c = a->head->next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head->next = NULL;
	a->head->used = 0;
}

void
sl_arena_free(struct sl_arena *a)
{
	struct sl_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}
