/*
 * common/murmur2.c: Kafka's murmur2 hash and default partitioner, computed
 * exactly as the Java client's Utils.murmur2 (little-endian 4-byte words,
 * seed 0x9747b28c, signed result), so keys land on the partitions a Java or
 * librdkafka "murmur2_random" producer would pick.
 */
#include "common/sl.h"

int32_t
sl_murmur2(const void *key, size_t len)
{
	const uint8_t *p = key;
	const uint32_t m = 0x5bd1e995;
	const int r = 24;
	uint32_t h = 0x9747b28cu ^ (uint32_t)len;
	size_t i, words = len / 4;

	for (i = 0; i < words; i++) {
		const uint8_t *w = p + i * 4;
		uint32_t k = (uint32_t)w[0] | (uint32_t)w[1] << 8 |
		    (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;

		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
	}
	p += words * 4;
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= p[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return (int32_t)h;
}

int32_t
sl_murmur2_partition(const void *key, size_t len, int32_t partitions)
{
	if (partitions <= 0)
		return -1;
	return (int32_t)(((uint32_t)sl_murmur2(key, len) & 0x7fffffff) %
	    (uint32_t)partitions);
}
