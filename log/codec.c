/*
 * log/codec.c: the compression codecs of RecordBatch v2, with the framings
 * Kafka clients use (docs/log-format.md, "Record batches and compression").
 *
 * Decompression reads untrusted bytes: it never believes a size the input
 * declares, grows its output in bounded steps and stops with SL_ETOOBIG as
 * soon as the output would pass 'max_bytes', so a small "bomb" cannot make
 * it allocate more than the limit.  This file knows nothing of batches or
 * records: log/batch.c calls it on the records section.
 *
 * FRAMINGS
 *   gzip    one or more gzip members (RFC 1952); zlib or raw-with-header
 *           input is accepted too (windowBits 15+32).  We write one member.
 *   snappy  either raw snappy (librdkafka's produce path, and what we
 *           write) or xerial framing (the Java client):
 *             OFFSET SIZE DESCRIPTION
 *                  0    8 magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *                  8    4 version (1)
 *                 12    4 minimum compatible version (1)
 *                 16    - blocks: int32 compressed length, raw snappy bytes
 *   lz4     LZ4 frames (v2 batches); we write 64 KiB independent blocks,
 *           which every client's reader accepts.
 *   zstd    zstd frames; decoder window capped (see codec_zstd_window_log).
 *
 * INVARIANTS
 *  (1) After lg_decompress returns, out->len - (len on entry) <= max_bytes,
 *      and memory it allocated for 'out' is at most max_bytes more than the
 *      capacity on entry.
 *  (2) Every length read from the input is compared with the bytes that
 *      remain before it is used.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "log/lg.h"

#define CODEC_DEFAULT_MAX ((size_t)64 << 20)
#define CODEC_STEP ((size_t)64 << 10)	/* output grows by at least this */

#define CODEC_ZSTD_WINDOW_LOG_MAX 27	/* zstd's own default limit */

#define XERIAL_HEADER_SIZE 16
static const uint8_t xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };

const char *
lg_codec_name(int codec)
{
	switch (codec) {
	case LG_CODEC_NONE: return "none";
	case LG_CODEC_GZIP: return "gzip";
	case LG_CODEC_SNAPPY: return "snappy";
	case LG_CODEC_LZ4: return "lz4";
	case LG_CODEC_ZSTD: return "zstd";
	default: return "unknown";
	}
}

/*
 * Make room in 'out' for at least 'want' more bytes (fewer if 'limit', the
 * largest out->len allowed, is closer).  Growth doubles but never passes
 * 'limit' (1).  Returns the bytes now free, 0 when out->len == limit.
 */
static size_t
codec_grow(struct sl_buf *out, size_t want, size_t limit)
{
	size_t need, cap;

	if (out->len >= limit)
		return 0;
	if (want > limit - out->len)
		want = limit - out->len;
	need = out->len + want;
	if (out->cap < need) {
		cap = out->cap * 2;
		if (cap < need)
			cap = need;
		if (cap < out->len + CODEC_STEP)
			cap = out->len + CODEC_STEP;
		if (cap > limit)
			cap = limit;
		out->p = sl_realloc(out->p, cap);
		out->cap = cap;
	}
	return (out->cap < limit ? out->cap : limit) - out->len;
}

static size_t
codec_limit(const struct sl_buf *out, size_t max_bytes)
{
	if (max_bytes == 0)
		max_bytes = CODEC_DEFAULT_MAX;
	if (max_bytes > SIZE_MAX - out->len)
		return SIZE_MAX;
	return out->len + max_bytes;
}

static int
codec_too_big(struct sl_err *err, const char *name, size_t max_bytes)
{
	return sl_errf(err, SL_ETOOBIG,
	    "%s: decompressed size exceeds the limit of %zu bytes", name,
	    max_bytes ? max_bytes : CODEC_DEFAULT_MAX);
}

/* ------------------------------------------------------------------ gzip */

static int
gzip_compress(struct sl_slice in, struct sl_buf *out, struct sl_err *err)
{
	z_stream zs;
	uLong bound;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return sl_errf(err, SL_EINVAL, "gzip: deflateInit2 failed");
	bound = deflateBound(&zs, (uLong)in.len) + 32;
	sl_buf_reserve(out, bound);
	zs.next_in = (Bytef *)(uintptr_t)in.p;
	zs.avail_in = (uInt)in.len;
	zs.next_out = out->p + out->len;
	zs.avail_out = (uInt)bound;
	rc = deflate(&zs, Z_FINISH);
	if (rc != Z_STREAM_END) {
		deflateEnd(&zs);
		return sl_errf(err, SL_EINVAL, "gzip: deflate failed (%d)", rc);
	}
	out->len += zs.total_out;
	deflateEnd(&zs);
	return 0;
}

static int
gzip_decompress(struct sl_slice in, size_t max_bytes, struct sl_buf *out,
    struct sl_err *err)
{
	size_t limit = codec_limit(out, max_bytes), room, used;
	z_stream zs;
	uint8_t probe;
	int rc, ret = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return sl_errf(err, SL_EINVAL, "gzip: inflateInit2 failed");
	zs.next_in = (Bytef *)(uintptr_t)in.p;
	zs.avail_in = (uInt)(in.len > UINT_MAX ? UINT_MAX : in.len);
	if (in.len > UINT_MAX) {
		ret = sl_errf(err, SL_ETOOBIG, "gzip: input of %zu bytes too large",
		    in.len);
		goto out;
	}
	if (in.len == 0) {
		ret = SL_CORRUPT(err, "gzip: empty input");
		goto out;
	}
	for (;;) {
		room = codec_grow(out, CODEC_STEP, limit);
		if (room > UINT_MAX)
			room = UINT_MAX;
		if (room == 0) {
			/* At the limit: one more byte of output means too big. */
			zs.next_out = &probe;
			zs.avail_out = 1;
		} else {
			zs.next_out = out->p + out->len;
			zs.avail_out = (uInt)room;
		}
		rc = inflate(&zs, Z_NO_FLUSH);
		if (room == 0 && zs.avail_out == 0) {
			ret = codec_too_big(err, "gzip", max_bytes);
			goto out;
		}
		used = room == 0 ? 0 : room - zs.avail_out;
		out->len += used;
		if (rc == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			/* Another member follows, as GZIPInputStream accepts. */
			if (inflateReset(&zs) != Z_OK) {
				ret = SL_CORRUPT(err, "gzip: cannot reset");
				goto out;
			}
			continue;
		}
		if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
			ret = SL_CORRUPT(err,
			    "gzip: input ends inside the stream after %zu bytes",
			    in.len);
			goto out;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			ret = SL_CORRUPT(err, "gzip: %s at input byte %lu",
			    zs.msg ? zs.msg : "invalid data", zs.total_in);
			goto out;
		}
	}
out:
	inflateEnd(&zs);
	return ret;
}

/* ---------------------------------------------------------------- snappy */

static int
snappy_compress_raw(struct sl_slice in, struct sl_buf *out, struct sl_err *err)
{
	size_t n = snappy_max_compressed_length(in.len);

	sl_buf_reserve(out, n);
	if (snappy_compress((const char *)in.p, in.len,
	    (char *)out->p + out->len, &n) != SNAPPY_OK)
		return sl_errf(err, SL_EINVAL, "snappy: compress failed");
	out->len += n;
	return 0;
}

/*
 * Append the raw snappy block 'in' to 'out'.  The block is validated (a
 * pass that allocates nothing) before its declared size is believed.
 * 'where' is the block's input position, for messages.
 */
static int
snappy_block(struct sl_slice in, size_t where, size_t limit, size_t max_bytes,
    struct sl_buf *out, struct sl_err *err)
{
	size_t n;

	if (snappy_uncompressed_length((const char *)in.p, in.len, &n) != SNAPPY_OK)
		return SL_CORRUPT(err, "snappy: bad length preamble at input byte %zu",
		    where);
	if (n > limit - out->len)	/* (1) */
		return codec_too_big(err, "snappy", max_bytes);
	if (snappy_validate_compressed_buffer((const char *)in.p, in.len) != SNAPPY_OK)
		return SL_CORRUPT(err, "snappy: invalid block at input byte %zu",
		    where);
	if (n == 0)
		return 0;
	codec_grow(out, n, limit);
	if (out->cap - out->len < n)
		return codec_too_big(err, "snappy", max_bytes);
	if (snappy_uncompress((const char *)in.p, in.len,
	    (char *)out->p + out->len, &n) != SNAPPY_OK)
		return SL_CORRUPT(err, "snappy: invalid block at input byte %zu",
		    where);
	out->len += n;
	return 0;
}

static int
snappy_decompress(struct sl_slice in, size_t max_bytes, struct sl_buf *out,
    struct sl_err *err)
{
	size_t limit = codec_limit(out, max_bytes), pos;
	uint32_t blen;
	int rc;

	if (in.len < sizeof(xerial_magic) ||
	    memcmp(in.p, xerial_magic, sizeof(xerial_magic)) != 0)
		return snappy_block(in, 0, limit, max_bytes, out, err);

	if (in.len < XERIAL_HEADER_SIZE)
		return SL_CORRUPT(err, "snappy: xerial header truncated (%zu bytes)",
		    in.len);
	for (pos = XERIAL_HEADER_SIZE; pos < in.len; pos += blen) {
		if (in.len - pos < 4)
			return SL_CORRUPT(err,
			    "snappy: xerial block length truncated at input byte %zu",
			    pos);
		blen = sl_get_be32(in.p + pos);
		pos += 4;
		if (blen > in.len - pos)	/* (2) */
			return SL_CORRUPT(err,
			    "snappy: xerial block of %u bytes at input byte %zu "
			    "runs past the end (%zu bytes)", blen, pos - 4, in.len);
		rc = snappy_block(sl_slice_make(in.p + pos, blen), pos, limit,
		    max_bytes, out, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------- lz4 */

static int
lz4_compress(struct sl_slice in, struct sl_buf *out, struct sl_err *err)
{
	LZ4F_preferences_t prefs;
	size_t bound, n;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	bound = LZ4F_compressFrameBound(in.len, &prefs);
	sl_buf_reserve(out, bound);
	n = LZ4F_compressFrame(out->p + out->len, bound, in.p, in.len, &prefs);
	if (LZ4F_isError(n))
		return sl_errf(err, SL_EINVAL, "lz4: %s", LZ4F_getErrorName(n));
	out->len += n;
	return 0;
}

static int
lz4_decompress(struct sl_slice in, size_t max_bytes, struct sl_buf *out,
    struct sl_err *err)
{
	size_t limit = codec_limit(out, max_bytes), pos = 0, room, src, dst;
	size_t hint = 1;
	LZ4F_dctx *dctx = NULL;
	uint8_t probe;
	int ret = 0;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return sl_errf(err, SL_EINVAL, "lz4: cannot create a context");
	if (in.len == 0) {
		ret = SL_CORRUPT(err, "lz4: empty input");
		goto out;
	}
	while (pos < in.len) {
		room = codec_grow(out, CODEC_STEP, limit);
		src = in.len - pos;
		dst = room ? room : 1;
		hint = LZ4F_decompress(dctx, room ? out->p + out->len : &probe,
		    &dst, in.p + pos, &src, NULL);
		if (LZ4F_isError(hint)) {
			ret = SL_CORRUPT(err, "lz4: %s at input byte %zu",
			    LZ4F_getErrorName(hint), pos);
			goto out;
		}
		if (room == 0 && dst > 0) {
			ret = codec_too_big(err, "lz4", max_bytes);
			goto out;
		}
		if (room > 0)
			out->len += dst;
		pos += src;
		if (src == 0 && dst == 0 && hint != 0) {
			/* No progress: input done, frame not. */
			break;
		}
	}
	/* 'hint' is 0 only when the last frame ended cleanly. */
	while (hint != 0) {
		/* Flush what the context still holds, within the limit. */
		room = codec_grow(out, CODEC_STEP, limit);
		src = 0;
		dst = room ? room : 1;
		hint = LZ4F_decompress(dctx, room ? out->p + out->len : &probe,
		    &dst, in.p + in.len, &src, NULL);
		if (LZ4F_isError(hint)) {
			ret = SL_CORRUPT(err, "lz4: %s at input byte %zu",
			    LZ4F_getErrorName(hint), in.len);
			goto out;
		}
		if (room == 0 && dst > 0) {
			ret = codec_too_big(err, "lz4", max_bytes);
			goto out;
		}
		if (dst == 0) {
			if (hint != 0)
				ret = SL_CORRUPT(err,
				    "lz4: input ends inside a frame after %zu bytes",
				    in.len);
			goto out;
		}
		out->len += dst;
	}
out:
	LZ4F_freeDecompressionContext(dctx);
	return ret;
}

/* ------------------------------------------------------------------ zstd */

static int
zstd_compress(struct sl_slice in, struct sl_buf *out, struct sl_err *err)
{
	size_t bound = ZSTD_compressBound(in.len), n;

	sl_buf_reserve(out, bound);
	n = ZSTD_compress(out->p + out->len, bound, in.p, in.len, 3);
	if (ZSTD_isError(n))
		return sl_errf(err, SL_EINVAL, "zstd: %s", ZSTD_getErrorName(n));
	out->len += n;
	return 0;
}

/*
 * The largest window the decoder accepts, as a power of two: enough for
 * 'max_bytes' of output and never below 8 MiB (what every standard level up
 * to 19 uses when the size is unknown), never above zstd's own default of
 * 128 MiB.  A frame asking for more is refused before its window is
 * allocated.
 */
static int
codec_zstd_window_log(size_t max_bytes)
{
	int lg = 23;

	while (lg < CODEC_ZSTD_WINDOW_LOG_MAX && ((size_t)1 << lg) < max_bytes)
		lg++;
	return lg;
}

static int
zstd_decompress(struct sl_slice in, size_t max_bytes, struct sl_buf *out,
    struct sl_err *err)
{
	size_t limit = codec_limit(out, max_bytes), room, rc = 1, in_before;
	ZSTD_DCtx *dctx;
	ZSTD_inBuffer zin = { in.p, in.len, 0 };
	ZSTD_outBuffer zout;
	uint8_t probe;
	int ret = 0;

	dctx = ZSTD_createDCtx();
	if (dctx == NULL)
		sl_oom(sizeof(void *));
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
	    codec_zstd_window_log(max_bytes ? max_bytes : CODEC_DEFAULT_MAX));
	if (in.len == 0) {
		ret = SL_CORRUPT(err, "zstd: empty input");
		goto out;
	}
	for (;;) {
		room = codec_grow(out, CODEC_STEP, limit);
		if (room == 0) {
			zout.dst = &probe;
			zout.size = 1;
		} else {
			zout.dst = out->p + out->len;
			zout.size = room;
		}
		zout.pos = 0;
		in_before = zin.pos;
		rc = ZSTD_decompressStream(dctx, &zout, &zin);
		if (ZSTD_isError(rc)) {
			if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge)
				ret = codec_too_big(err, "zstd (frame window)",
				    max_bytes);
			else
				ret = SL_CORRUPT(err, "zstd: %s at input byte %zu",
				    ZSTD_getErrorName(rc), zin.pos);
			goto out;
		}
		if (room == 0 && zout.pos > 0) {
			ret = codec_too_big(err, "zstd", max_bytes);
			goto out;
		}
		if (room > 0)
			out->len += zout.pos;
		if (rc == 0 && zin.pos == zin.size)
			break;		/* last frame complete and flushed */
		if ((zin.pos == zin.size && zout.pos < zout.size) ||
		    (zin.pos == in_before && zout.pos == 0)) {
			/* All input read, output not full, frame unfinished. */
			ret = SL_CORRUPT(err,
			    "zstd: input ends inside a frame after %zu bytes", in.len);
			goto out;
		}
	}
out:
	ZSTD_freeDCtx(dctx);
	return ret;
}

/* ---------------------------------------------------------------- public */

/*
 * Compress 'in' with 'codec', appending to 'out'.  Returns 0,
 * SL_EUNSUPPORTED for an unknown codec or LG_CODEC_NONE, or SL_EINVAL when
 * the library fails (it should not).
 */
int
lg_compress(enum lg_codec codec, struct sl_slice in, struct sl_buf *out,
    struct sl_err *err)
{
	switch (codec) {
	case LG_CODEC_GZIP: return gzip_compress(in, out, err);
	case LG_CODEC_SNAPPY: return snappy_compress_raw(in, out, err);
	case LG_CODEC_LZ4: return lz4_compress(in, out, err);
	case LG_CODEC_ZSTD: return zstd_compress(in, out, err);
	default:
		return sl_errf(err, SL_EUNSUPPORTED, "compression codec %d (%s) "
		    "cannot compress", (int)codec, lg_codec_name((int)codec));
	}
}

/*
 * Decompress 'in' with 'codec', appending at most 'max_bytes' (0: 64 MiB)
 * to 'out'.  Returns 0, SL_ECORRUPT (bad or truncated input; the message
 * names the input byte), SL_ETOOBIG (more output than 'max_bytes', or a
 * zstd window past what the limit allows) or SL_EUNSUPPORTED.  On failure
 * 'out' may hold a partial result: callers discard it.
 */
int
lg_decompress(enum lg_codec codec, struct sl_slice in, size_t max_bytes,
    struct sl_buf *out, struct sl_err *err)
{
	switch (codec) {
	case LG_CODEC_GZIP: return gzip_decompress(in, max_bytes, out, err);
	case LG_CODEC_SNAPPY: return snappy_decompress(in, max_bytes, out, err);
	case LG_CODEC_LZ4: return lz4_decompress(in, max_bytes, out, err);
	case LG_CODEC_ZSTD: return zstd_decompress(in, max_bytes, out, err);
	default:
		return sl_errf(err, SL_EUNSUPPORTED, "compression codec %d (%s) "
		    "cannot decompress", (int)codec, lg_codec_name((int)codec));
	}
}
