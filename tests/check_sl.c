/*
 * tests/check_sl.c: the common module: CRC32C against RFC 3720, murmur2
 * against Kafka's own values, varints, buffers, arena and the INI config.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sl.h"

static uint32_t
crc_both(const void *p, size_t n)
{
	uint32_t sw = sl_crc32c_sw(0, p, n);

	ck_assert_uint_eq(sl_crc32c(0, p, n), sw);
	return sw;
}

START_TEST(crc32c_matches_rfc3720_vectors)
{
	uint8_t buf[48];
	/* RFC 3720 B.4: an iSCSI read PDU */
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
		0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0
	};
	int i;

	memset(buf, 0, 32);
	ck_assert_uint_eq(crc_both(buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, 32);
	ck_assert_uint_eq(crc_both(buf, 32), 0x62A8AB43u);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(crc_both(buf, 32), 0x46DD794Eu);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	ck_assert_uint_eq(crc_both(buf, 32), 0x113FDB5Cu);
	ck_assert_uint_eq(crc_both(pdu, 48), 0xD9963A56u);
	ck_assert_uint_eq(crc_both("123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(crc32c_hw_and_table_agree_at_every_alignment_and_split)
{
	uint8_t buf[300];
	size_t off, len, split;

	for (off = 0; off < sizeof(buf); off++)
		buf[off] = (uint8_t)(off * 131 + 7);
	for (off = 0; off < 9; off++) {
		for (len = 0; len < 250; len += 7) {
			uint32_t whole = sl_crc32c_sw(0, buf + off, len);

			ck_assert_uint_eq(sl_crc32c(0, buf + off, len), whole);
			split = len / 3;
			ck_assert_uint_eq(sl_crc32c(sl_crc32c(0, buf + off, split),
			    buf + off + split, len - split), whole);
		}
	}
}
END_TEST

/* An error given context with its own message keeps that message whole. */
START_TEST(errf_can_wrap_the_message_it_holds)
{
	struct sl_err e = { 0 };

	sl_errf(&e, SL_EINVAL, "column x: bad value");
	sl_errf(&e, SL_ECORRUPT, "change at LSN 0/16B3748, public.t: %s", e.msg);
	ck_assert_str_eq(e.msg, "change at LSN 0/16B3748, public.t: column x: bad value");
	ck_assert_int_eq(e.code, SL_ECORRUPT);
}
END_TEST

/* FIPS 180-4's examples, a million 'a's, and a split across blocks. */
START_TEST(sha256_matches_the_standard_vectors)
{
	static const struct { const char *in; const char *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	struct sl_sha256 c;
	uint8_t out[32];
	char hex[65], a[1000];
	size_t i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sl_sha256_init(&c);
		/* byte by byte and whole: the same digest */
		for (j = 0; j < strlen(v[i].in); j++)
			sl_sha256_update(&c, v[i].in + j, 1);
		sl_sha256_final(&c, out);
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", out[j]);
		ck_assert_str_eq(hex, v[i].hex);
		sl_sha256_init(&c);
		sl_sha256_update(&c, v[i].in, strlen(v[i].in));
		sl_sha256_final(&c, out);
		for (j = 0; j < 32; j++)
			snprintf(hex + 2 * j, 3, "%02x", out[j]);
		ck_assert_str_eq(hex, v[i].hex);
	}
	memset(a, 'a', sizeof(a));
	sl_sha256_init(&c);
	for (i = 0; i < 1000; i++)
		sl_sha256_update(&c, a, sizeof(a));
	sl_sha256_final(&c, out);
	for (j = 0; j < 32; j++)
		snprintf(hex + 2 * j, 3, "%02x", out[j]);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(murmur2_matches_kafka_values)
{
	static const struct {
		const char *key;
		int32_t hash;
	} cases[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
		{ "abc", 479470107 },
		{ "1", -1993445489 },
		{ "12", 126087238 },
		{ "123", -267702483 },
		{ "1234", -1614185708 },
		{ "12345", -1188365604 },
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++)
		ck_assert_msg(sl_murmur2(cases[i].key, strlen(cases[i].key)) == cases[i].hash,
		    "murmur2(%s) = %d, want %d", cases[i].key,
		    sl_murmur2(cases[i].key, strlen(cases[i].key)), cases[i].hash);
	/* (-973932308 & 0x7fffffff) % 6 */
	ck_assert_int_eq(sl_murmur2_partition("21", 2, 6),
	    (int32_t)(((uint32_t)-973932308 & 0x7fffffffu) % 6u));
	ck_assert_int_eq(sl_murmur2_partition("21", 2, 0), -1);
}
END_TEST

START_TEST(varints_round_trip_and_reject_overlong)
{
	static const int64_t vals[] = { 0, 1, -1, 63, -64, 64, -65, 300, INT32_MAX,
	    INT32_MIN, INT64_MAX, INT64_MIN };
	uint8_t b[SL_VARINT_MAX + 2];
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(vals); i++) {
		int64_t v = 7;
		int n = sl_varint_put(b, vals[i]);

		ck_assert_int_eq(n, sl_varint_size(vals[i]));
		ck_assert_int_eq(sl_varint_get(b, (size_t)n, &v), n);
		ck_assert(v == vals[i]);
		/* Every shorter input is "needs more bytes". */
		ck_assert_int_eq(sl_varint_get(b, (size_t)n - 1, &v), 0);
	}
	/* zigzag: -1 is 0x01, 1 is 0x02 (Kafka's record encoding) */
	ck_assert_int_eq(sl_varint_put(b, -1), 1);
	ck_assert_uint_eq(b[0], 1);
	ck_assert_int_eq(sl_varint_put(b, 1), 1);
	ck_assert_uint_eq(b[0], 2);
	/* 11 continuation bytes and a 10th byte above 1 are refused. */
	memset(b, 0x80, sizeof(b));
	{
		uint64_t u;

		ck_assert_int_eq(sl_uvarint_get(b, sizeof(b), &u), -1);
		memset(b, 0xff, 9);
		b[9] = 0x02;
		ck_assert_int_eq(sl_uvarint_get(b, 10, &u), -1);
		b[9] = 0x01;
		ck_assert_int_eq(sl_uvarint_get(b, 10, &u), 10);
		ck_assert(u == UINT64_MAX);
	}
}
END_TEST

START_TEST(buffers_grow_and_encode_big_endian)
{
	struct sl_buf b = { 0 };
	int i;

	sl_buf_add_be16(&b, 0x0102);
	sl_buf_add_be32(&b, 0x03040506);
	sl_buf_add_be64(&b, 0x0708090a0b0c0d0eULL);
	ck_assert_uint_eq(b.len, 14);
	for (i = 0; i < 14; i++)
		ck_assert_uint_eq(b.p[i], i + 1);
	ck_assert_uint_eq(sl_get_be64(b.p + 6), 0x0708090a0b0c0d0eULL);
	for (i = 0; i < 10000; i++)
		sl_buf_add_u8(&b, (uint8_t)i);
	ck_assert_uint_eq(b.len, 10014);
	ck_assert(b.cap >= b.len);
	sl_buf_printf(&b, "%s=%d", "x", 42);
	ck_assert_int_eq(memcmp(b.p + 10014, "x=42", 4), 0);
	sl_buf_free(&b);
	ck_assert_ptr_null(b.p);
}
END_TEST

START_TEST(arena_allocations_are_aligned_and_survive_until_reset)
{
	struct sl_arena a = { 0 };
	char *p[100];
	int i;

	for (i = 0; i < 100; i++) {
		p[i] = sl_arena_alloc(&a, (size_t)i * 1000 + 1);
		ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
		memset(p[i], i, (size_t)i * 1000 + 1);
	}
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(p[i][i * 1000], (char)i);
	sl_arena_reset(&a);
	ck_assert_ptr_nonnull(sl_arena_alloc(&a, 10));
	sl_arena_free(&a);
}
END_TEST

static const char *const broker_keys[] = { "listen", "data_dir", NULL };
static const char *const view_keys[] = { "type", "index.", NULL };
static const struct sl_conf_schema schema[] = {
	{ "broker", 0, broker_keys },
	{ "view", 1, view_keys },
	{ NULL, 0, NULL }
};

START_TEST(config_reads_sections_names_and_env)
{
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	const struct sl_conf_section *s;
	int64_t v = 0;

	setenv("SL_TEST_DIR", "/tmp/x", 1);
	ck_assert_int_eq(sl_config_parse("t.ini",
	    "; comment\n[broker]\nlisten = 127.0.0.1:9092 ; inline\ndata_dir = ${SL_TEST_DIR}/data\n"
	    "\n[view \"users\"]\ntype = lmdb\nindex.by_email = email\n", &cfg, &err), 0);
	ck_assert_int_eq(sl_config_check(cfg, schema, &err), 0);
	s = sl_config_section(cfg, "broker", NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(sl_conf_get(s, "listen"), "127.0.0.1:9092");
	ck_assert_str_eq(sl_conf_get(s, "data_dir"), "/tmp/x/data");
	ck_assert_int_eq(sl_conf_entry(s, "data_dir")->line, 4);
	s = sl_config_section(cfg, "view", "users");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->line, 6);
	ck_assert_str_eq(sl_conf_get(s, "index.by_email"), "email");
	ck_assert_ptr_null(sl_config_section(cfg, "view", "other"));
	ck_assert_int_eq(sl_conf_int64(cfg, s, "absent", &v, &err), 0);
	ck_assert_int_eq(v, 0);
	sl_config_free(cfg);
}
END_TEST

static void
expect_config_error(const char *text, const char *needle)
{
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	int rc = sl_config_parse("bad.ini", text, &cfg, &err);

	if (rc == 0) {
		rc = sl_config_check(cfg, schema, &err);
		sl_config_free(cfg);
	}
	ck_assert_int_eq(rc, SL_ECONFIG);
	ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' lacks '%s'", err.msg, needle);
}

START_TEST(config_errors_name_file_and_line)
{
	unsetenv("SL_TEST_UNSET");
	expect_config_error("[broker]\nlisten = x\n[nope]\n", "bad.ini:3: unknown section [nope]");
	expect_config_error("[broker]\n\nport = 1\n", "bad.ini:3: unknown key 'port'");
	expect_config_error("[broker]\nlisten = a\nlisten = b\n", "bad.ini:3: duplicate key 'listen'");
	expect_config_error("[broker]\n[broker]\n", "bad.ini:2: duplicate section");
	expect_config_error("[view]\ntype = lmdb\n", "bad.ini:1: section [view] needs a name");
	expect_config_error("[broker \"x\"]\n", "takes no name");
	expect_config_error("listen = 1\n", "bad.ini:1: key 'listen' outside any section");
	expect_config_error("[broker]\nlisten\n", "bad.ini:2: syntax error");
	expect_config_error("[broker]\nlisten = ${SL_TEST_UNSET}\n",
	    "bad.ini:2: environment variable SL_TEST_UNSET is not set");
	expect_config_error("[view users]\n", "section name must be quoted");
	expect_config_error("[view \"a\"]\nindex. = x\n", "unknown key 'index.'");
}
END_TEST

START_TEST(config_typed_values_parse_units_and_reject_junk)
{
	struct sl_config *cfg = NULL;
	struct sl_err err = { 0 };
	const struct sl_conf_section *s;
	int64_t v = 0;
	int b = 0;

	ck_assert_int_eq(sl_config_parse("t.ini",
	    "[t]\na = 64m\nb = 7d\nc = yes\nd = 12x\ne = 250ms\n", &cfg, &err), 0);
	s = sl_config_section(cfg, "t", NULL);
	ck_assert_int_eq(sl_conf_size(cfg, s, "a", &v, &err), 0);
	ck_assert(v == 64LL << 20);
	ck_assert_int_eq(sl_conf_duration_ms(cfg, s, "b", &v, &err), 0);
	ck_assert(v == 7LL * 86400000);
	ck_assert_int_eq(sl_conf_duration_ms(cfg, s, "e", &v, &err), 0);
	ck_assert(v == 250);
	ck_assert_int_eq(sl_conf_bool(cfg, s, "c", &b, &err), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(sl_conf_size(cfg, s, "d", &v, &err), SL_ECONFIG);
	ck_assert(strstr(err.msg, "t.ini:5: d = '12x'") != NULL);
	ck_assert_int_eq(sl_conf_bool(cfg, s, "d", &b, &err), SL_ECONFIG);
	ck_assert_int_eq(sl_parse_size("99999999999999999g", &v), SL_EINVAL);
	sl_config_free(cfg);
}
END_TEST

START_TEST(atomic_write_replaces_file_and_leaves_no_temp)
{
	char dir[] = "/tmp/sl-test-XXXXXX", *path, *tmp;
	struct sl_buf b = { 0 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = sl_asprintf("%s/a/b/ckpt", dir);
	tmp = sl_asprintf("%s/a/b/ckpt.tmp", dir);
	ck_assert_int_eq(sl_mkdir_p(path, 0755), 0);	/* makes .../ckpt as a dir */
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(sl_file_write_atomic(path, "one", 3), 0);
	ck_assert_int_eq(sl_file_write_atomic(path, "second", 6), 0);
	ck_assert_int_eq(sl_file_read(path, 100, &b), 0);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_int_eq(memcmp(b.p, "second", 6), 0);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	sl_buf_reset(&b);
	ck_assert_int_eq(sl_file_read(path, 3, &b), SL_ETOOBIG);
	ck_assert_int_eq(sl_rm_rf(dir), 0);
	ck_assert_int_eq(access(dir, F_OK), -1);
	sl_buf_free(&b);
	free(path);
	free(tmp);
}
END_TEST

START_TEST(strerror_names_every_code)
{
	int c;

	for (c = SL_ECORRUPT; c > SL_ELAST; c--)
		ck_assert_str_ne(sl_strerror(c), "unknown error");
	ck_assert_str_eq(sl_strerror(-2), "No such file or directory");
	ck_assert_str_eq(sl_strerror(SL_ELAST), "unknown error");
}
END_TEST

Suite *sl_suite(void);

Suite *
sl_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, crc32c_matches_rfc3720_vectors);
	tcase_add_test(tc, crc32c_hw_and_table_agree_at_every_alignment_and_split);
	tcase_add_test(tc, murmur2_matches_kafka_values);
	tcase_add_test(tc, sha256_matches_the_standard_vectors);
	tcase_add_test(tc, errf_can_wrap_the_message_it_holds);
	tcase_add_test(tc, varints_round_trip_and_reject_overlong);
	tcase_add_test(tc, buffers_grow_and_encode_big_endian);
	tcase_add_test(tc, arena_allocations_are_aligned_and_survive_until_reset);
	tcase_add_test(tc, config_reads_sections_names_and_env);
	tcase_add_test(tc, config_errors_name_file_and_line);
	tcase_add_test(tc, config_typed_values_parse_units_and_reject_junk);
	tcase_add_test(tc, atomic_write_replaces_file_and_leaves_no_temp);
	tcase_add_test(tc, strerror_names_every_code);
	suite_add_tcase(s, tc);
	return s;
}
