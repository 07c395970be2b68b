/*
 * common/sl.h: the one public header of the common module.
 *
 * Byte slices and buffers, the error convention, diagnostics logging, INI
 * configuration, CRC32C, varints, Kafka's murmur2 and clocks.  Everything
 * here depends on libc alone (libinih stays inside common/config.c).  It is
 * not a container library: modules keep their own data structures.
 */
#ifndef SL_H
#define SL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SL_VERSION "0.1.0"

#if defined(__GNUC__)
#define SL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define SL_NORETURN __attribute__((noreturn))
#else
#define SL_PRINTF(a, b)
#define SL_NORETURN
#endif

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ errors */

/*
 * One integer error space: 0 is success, -errno a system failure, and the
 * codes below (all <= -1000) are sluice's own.  sl_strerror() names each.
 */
enum {
	SL_ECORRUPT = -1000,	/* bytes on disk or on the wire fail a check */
	SL_EINVAL = -1001,	/* a caller or user passed something invalid */
	SL_ETOOBIG = -1002,	/* a length is past a configured limit */
	SL_ENOTFOUND = -1003,	/* the looked-up thing is absent */
	SL_EUNSUPPORTED = -1004,	/* a version, codec or feature we lack */
	SL_ECONFIG = -1005,	/* configuration file or value error */
	SL_EPROTO = -1006,	/* a peer broke its protocol */
	SL_ERANGE = -1007,	/* an offset or position outside what exists */
	SL_EEXIST = -1008,	/* the thing to create already exists */
	SL_ESTATE = -1009,	/* the object is in the wrong state for this */
	SL_ETRUNC = -1010,	/* input ended early (a torn write) */
	SL_EDUPSEQ = -1011,	/* idempotent producer: batch already appended */
	SL_ESEQ = -1012,	/* idempotent producer: sequence gap */
	SL_EFENCED = -1013,	/* idempotent producer: stale epoch */
	SL_ELAST = -1014
};

/* A failure that needs a sentence.  Filled by sl_errf(); 'code' is 0 if unset. */
struct sl_err {
	int code;			/* 0, -errno or SL_E* */
	const char *file;		/* source file of SL_CORRUPT, else NULL */
	int line;			/* its line */
	char msg[512];			/* NUL-terminated sentence */
};

/* The name of 'code' (0, -errno or SL_E*); a static string. */
const char *sl_strerror(int code);

/*
 * Record 'code' and a formatted message in 'err' (which may be NULL).
 * Returns 'code' so a caller can write `return sl_errf(err, ...)`.
 */
int sl_errf(struct sl_err *err, int code, const char *fmt, ...) SL_PRINTF(3, 4);
int sl_verrf(struct sl_err *err, int code, const char *fmt, va_list ap);

/* Like sl_errf with SL_ECORRUPT, remembering where the check lives. */
int sl_corrupt_at(struct sl_err *err, const char *file, int line,
    const char *fmt, ...) SL_PRINTF(4, 5);
#define SL_CORRUPT(err, ...) sl_corrupt_at((err), __FILE__, __LINE__, __VA_ARGS__)

/* The message of 'err' if set, else sl_strerror(code). */
const char *sl_err_msg(const struct sl_err *err, int code);

/* ------------------------------------------------------------------ memory */

/* Allocation that aborts the process on out-of-memory: never returns NULL. */
void *sl_malloc(size_t n);
void *sl_calloc(size_t count, size_t size);
void *sl_realloc(void *p, size_t n);
char *sl_strdup(const char *s);
char *sl_strndup(const char *s, size_t n);
char *sl_asprintf(const char *fmt, ...) SL_PRINTF(1, 2);
SL_NORETURN void sl_oom(size_t n);

/* Borrowed bytes: valid as long as whatever they point into. */
struct sl_slice {
	const uint8_t *p;
	size_t len;
};

static inline struct sl_slice
sl_slice_make(const void *p, size_t len)
{
	struct sl_slice s = { (const uint8_t *)p, len };
	return s;
}

/*
 * xorshift64 (Marsaglia): a fast, seedable, reproducible generator for
 * tests and benchmarks ('*state' nonzero).  Not for anything secret.
 */
static inline uint64_t
sl_xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* Owned, growable bytes.  A zeroed struct is an empty buffer. */
struct sl_buf {
	uint8_t *p;
	size_t len;			/* bytes in use */
	size_t cap;			/* bytes allocated */
};

void sl_buf_reserve(struct sl_buf *, size_t extra);

/*
 * Append 'n' bytes (copied) or one byte.  Inline: the encoders append a few
 * bytes at a time, and a call per piece was ~8% of capture's CPU with
 * format = json.  The room check is the only branch; sl_buf_reserve grows.
 */
static inline void
sl_buf_add(struct sl_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (n > b->cap - b->len)
		sl_buf_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void
sl_buf_add_u8(struct sl_buf *b, uint8_t v)
{
	if (b->len == b->cap)
		sl_buf_reserve(b, 1);
	b->p[b->len++] = v;
}

void sl_buf_add_be16(struct sl_buf *, uint16_t v);
void sl_buf_add_be32(struct sl_buf *, uint32_t v);
void sl_buf_add_be64(struct sl_buf *, uint64_t v);
void sl_buf_add_varint(struct sl_buf *, int64_t v);	/* zigzag */
void sl_buf_add_uvarint(struct sl_buf *, uint64_t v);
void sl_buf_printf(struct sl_buf *, const char *fmt, ...) SL_PRINTF(2, 3);
void sl_buf_reset(struct sl_buf *);	/* len = 0, keeps memory */
void sl_buf_free(struct sl_buf *);
static inline struct sl_slice
sl_buf_slice(const struct sl_buf *b)
{
	return sl_slice_make(b->p, b->len);
}

/*
 * A bump allocator for decoders: allocations live until sl_arena_reset() or
 * sl_arena_free().  Aborts on out-of-memory like sl_malloc.
 */
struct sl_arena {
	struct sl_arena_chunk *head;
	size_t chunk_size;
};
void *sl_arena_alloc(struct sl_arena *, size_t n);
void sl_arena_reset(struct sl_arena *);
void sl_arena_free(struct sl_arena *);

/* ------------------------------------------------------ big-endian integers */

/* The value of hex digit 'c' (either case), or -1 if it is not one. */
static inline int
sl_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline uint16_t sl_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t
sl_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t
sl_get_be64(const uint8_t *p)
{
	return (uint64_t)sl_get_be32(p) << 32 | sl_get_be32(p + 4);
}
static inline void sl_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void
sl_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void
sl_put_be64(uint8_t *p, uint64_t v)
{
	sl_put_be32(p, (uint32_t)(v >> 32));
	sl_put_be32(p + 4, (uint32_t)v);
}

/* ----------------------------------------------------------------- varints */

#define SL_VARINT_MAX 10

/*
 * Decode an unsigned LEB128 varint from 'p' (at most 'len' bytes) into '*v'.
 * Returns the bytes consumed (1..10), 0 if the input ends first, or -1 if it
 * runs past 10 bytes or overflows 64 bits.
 */
int sl_uvarint_get(const uint8_t *p, size_t len, uint64_t *v);
/* The same for a zigzag-encoded signed varint (Kafka records). */
int sl_varint_get(const uint8_t *p, size_t len, int64_t *v);
/* Encode into 'p' (room for SL_VARINT_MAX); returns the bytes written. */
int sl_uvarint_put(uint8_t *p, uint64_t v);
int sl_varint_put(uint8_t *p, int64_t v);
/* Bytes that sl_varint_put would write. */
int sl_varint_size(int64_t v);

/* ------------------------------------------------------- checksums, hashes */

/*
 * CRC32C (Castagnoli) of 'len' bytes continuing from 'crc' (0 to start), as
 * RecordBatch v2 uses it.  Uses the SSE4.2 instruction when the CPU has it.
 */
uint32_t sl_crc32c(uint32_t crc, const void *p, size_t len);
/* The table-driven implementation, always; for tests and for comparison. */
uint32_t sl_crc32c_sw(uint32_t crc, const void *p, size_t len);
/* 1 when sl_crc32c uses the hardware instruction. */
int sl_crc32c_hw_available(void);

/* Kafka's murmur2 (seed 0x9747b28c), as the Java client computes it. */
int32_t sl_murmur2(const void *key, size_t len);
/* Kafka's default partitioner: (murmur2(key) & 0x7fffffff) % 'partitions'. */
int32_t sl_murmur2_partition(const void *key, size_t len, int32_t partitions);

/* SHA-256 (FIPS 180-4): init, update any number of times, final. */
struct sl_sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes so far */
	uint8_t buf[64];
	size_t used;
};
void sl_sha256_init(struct sl_sha256 *);
void sl_sha256_update(struct sl_sha256 *, const void *data, size_t n);
void sl_sha256_final(struct sl_sha256 *, uint8_t out[32]);

/* ------------------------------------------------------------------ clocks */

int64_t sl_now_ms(void);		/* wall clock, ms since the epoch */
int64_t sl_mono_ns(void);		/* monotonic, ns */

/* -------------------------------------------------------------- diagnostics */

enum sl_log_level { SL_LOG_ERROR, SL_LOG_WARN, SL_LOG_INFO, SL_LOG_DEBUG };

/*
 * Write one diagnostics line to stderr: "<time> <level> [<component>] msg".
 * Lines above the level set by sl_log_set_level (default INFO; the
 * SLUICE_LOG environment variable sets error|warn|info|debug) are dropped.
 */
void sl_log(enum sl_log_level, const char *fmt, ...) SL_PRINTF(2, 3);
void sl_log_set_level(enum sl_log_level);
enum sl_log_level sl_log_get_level(void);
/* A name printed in every line, e.g. "broker"; copied. */
void sl_log_set_component(const char *name);
int sl_log_parse_level(const char *s, enum sl_log_level *out);
#define sl_error(...) sl_log(SL_LOG_ERROR, __VA_ARGS__)
#define sl_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define sl_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define sl_debug(...) do { if (sl_log_get_level() >= SL_LOG_DEBUG) sl_log(SL_LOG_DEBUG, __VA_ARGS__); } while (0)

/* ------------------------------------------------------------ configuration */

/*
 * An INI file as read: sections in file order, each with its entries.
 * Section headers are `[type]` or `[type "name"]`.  Values have `${VAR}`
 * replaced from the environment.  Everything is owned by the sl_config.
 */
struct sl_conf_entry {
	char *key;
	char *value;
	int line;			/* 1-based line in the file */
};

struct sl_conf_section {
	char *type;			/* "broker", "source", "view" */
	char *name;			/* the quoted name, or NULL */
	int line;			/* line of the header */
	struct sl_conf_entry *entries;
	size_t n_entries;
};

struct sl_config {
	char *path;			/* file it was read from */
	struct sl_conf_section *sections;
	size_t n_sections;
};

/*
 * What a component accepts: per section type the keys it knows.  A key
 * ending in '.' accepts every key with that prefix ("index." for
 * "index.by_email").  The table ends with a NULL type; 'keys' end with NULL.
 */
struct sl_conf_schema {
	const char *type;
	int named;			/* 1: needs a name, 0: must have none */
	const char *const *keys;
};

/*
 * Read the INI file 'path' into '*out'.  Returns 0, SL_ECONFIG with 'err'
 * naming file and line for a syntax error, a duplicate section or key or
 * an unset ${VAR}, or -errno when the file cannot be read.
 */
int sl_config_load(const char *path, struct sl_config **out, struct sl_err *err);
/* The same over a string; 'name' is used in messages. */
int sl_config_parse(const char *name, const char *text, struct sl_config **out,
    struct sl_err *err);
void sl_config_free(struct sl_config *);

/*
 * Check every section and key of 'cfg' against 'schema': unknown sections
 * and keys are SL_ECONFIG naming the file and line.
 */
int sl_config_check(const struct sl_config *cfg, const struct sl_conf_schema *schema,
    struct sl_err *err);

/* The first section of 'type' (and 'name', unless NULL), or NULL. */
const struct sl_conf_section *sl_config_section(const struct sl_config *,
    const char *type, const char *name);
/* The value of 'key' in 'sec' (NULL-safe), or NULL if unset.  Borrowed. */
const char *sl_conf_get(const struct sl_conf_section *sec, const char *key);
const struct sl_conf_entry *sl_conf_entry(const struct sl_conf_section *sec,
    const char *key);

/*
 * Typed getters: leave '*out' as the default when 'key' is unset; return
 * SL_ECONFIG naming file, line and key when the value does not parse.
 * Sizes accept suffixes k, m, g (KiB...), durations ms, s, m, h, d.
 */
int sl_conf_int64(const struct sl_config *, const struct sl_conf_section *,
    const char *key, int64_t *out, struct sl_err *err);
int sl_conf_bool(const struct sl_config *, const struct sl_conf_section *,
    const char *key, int *out, struct sl_err *err);
int sl_conf_size(const struct sl_config *, const struct sl_conf_section *,
    const char *key, int64_t *out, struct sl_err *err);
int sl_conf_duration_ms(const struct sl_config *, const struct sl_conf_section *,
    const char *key, int64_t *out, struct sl_err *err);

/* Parse helpers usable without a config file; return 0 or SL_EINVAL. */
int sl_parse_int64(const char *s, int64_t *out);
int sl_parse_size(const char *s, int64_t *out);
int sl_parse_duration_ms(const char *s, int64_t *out);

/* ------------------------------------------------------------ files on disk */

/*
 * Replace 'path' with 'len' bytes crash-safely: write "<path>.tmp", fsync
 * it, rename over 'path', fsync the directory.  Returns 0 or -errno.
 */
int sl_file_write_atomic(const char *path, const void *p, size_t len);
/* Read a whole file of at most 'max' bytes into 'out'; 0, -errno or SL_ETOOBIG. */
int sl_file_read(const char *path, size_t max, struct sl_buf *out);
/* fsync the directory 'dir'; 0 or -errno. */
int sl_dir_fsync(const char *dir);
/* mkdir -p; 0 or -errno. */
int sl_mkdir_p(const char *path, int mode);
/* rm -rf; 0 or -errno. */
int sl_rm_rf(const char *path);
/*
 * The names in folder 'dir' that 'keep' accepts (all but "." and ".." when
 * 'keep' is NULL), sorted by strcmp, in '*names' ('*n' of them).  The
 * caller frees them with sl_dir_list_free().  Returns 0 or -errno.
 */
int sl_dir_list(const char *dir, int (*keep)(const char *name), char ***names, size_t *n);
void sl_dir_list_free(char **names, size_t n);

#endif /* SL_H */
