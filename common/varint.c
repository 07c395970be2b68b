/*
 * common/varint.c: unsigned LEB128 and zigzag varints, as Kafka's record
 * format (and protobuf) use them.
 */
#include "common/sl.h"

int
sl_uvarint_get(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < len && i < SL_VARINT_MAX; i++) {
		uint64_t b = p[i];

		/* The 10th byte may hold only the top bit of a 64-bit value. */
		if (i == 9 && b > 1)
			return -1;
		x |= (b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			*v = x;
			return (int)i + 1;
		}
	}
	return i == SL_VARINT_MAX ? -1 : 0;
}

int
sl_varint_get(const uint8_t *p, size_t len, int64_t *v)
{
	uint64_t u;
	int n = sl_uvarint_get(p, len, &u);

	if (n > 0)
		*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return n;
}

int
sl_uvarint_put(uint8_t *p, uint64_t v)
{
	int n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

int
sl_varint_put(uint8_t *p, int64_t v)
{
	return sl_uvarint_put(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int
sl_varint_size(int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	int n = 1;

	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}
