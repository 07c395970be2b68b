/*
 * common/crc32c.c: CRC32C (Castagnoli, reflected polynomial 0x82F63B78),
 * the checksum of Kafka's RecordBatch v2.  The SSE4.2 crc32 instruction is
 * used when the CPU has it (checked once at run time); the table-driven
 * slicing-by-8 version is the fallback and is always available for tests.
 */
#include <stdint.h>
#include <string.h>

#include "common/sl.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc32c_table[8][256];
static int crc32c_table_ready;

static void
crc32c_table_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc32c_table[0][i];
		for (j = 1; j < 8; j++) {
			c = crc32c_table[0][c & 0xff] ^ (c >> 8);
			crc32c_table[j][i] = c;
		}
	}
	__atomic_store_n(&crc32c_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t
sl_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!__atomic_load_n(&crc32c_table_ready, __ATOMIC_ACQUIRE))
		crc32c_table_init();
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		    crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		    crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		    crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>

__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

static int
crc32c_detect(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_SSE4_2) != 0;
}
#else
static uint32_t
crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	return sl_crc32c_sw(crc, data, len);
}

static int
crc32c_detect(void)
{
	return 0;
}
#endif

static int crc32c_hw_state = -1;	/* -1 unknown, 0 no, 1 yes */

int
sl_crc32c_hw_available(void)
{
	int s = __atomic_load_n(&crc32c_hw_state, __ATOMIC_RELAXED);

	if (s < 0) {
		s = crc32c_detect();
		__atomic_store_n(&crc32c_hw_state, s, __ATOMIC_RELAXED);
	}
	return s;
}

uint32_t
sl_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (sl_crc32c_hw_available())
		return crc32c_hw(crc, data, len);
	return sl_crc32c_sw(crc, data, len);
}
