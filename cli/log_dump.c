/*
 * cli/log_dump.c: `sluice log dump [--json] [--records|--batches-only] PATH`,
 * which prints the batches (and, by default, the records) of a segment file
 * or of every segment of a partition folder, in offset order.
 *
 * It reads with pread one batch at a time, so memory stays bounded by the
 * largest batch (refused past DUMP_MAX_BATCH) and its decompressed records.
 * It stops at the first batch that fails its checks, naming the file and the
 * byte position, with exit status 3.  It repairs nothing: recovery lives in
 * log/, and `sluice log verify` checks indexes too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/sl.h"
#include "log/lg.h"

#define DUMP_MAX_BATCH ((size_t)128 << 20)	/* larger is refused */
#define DUMP_SHOW_BYTES 64			/* keys are cut here */
#define DUMP_SEGMENT_NAME_LEN 24		/* 20 digits + ".log" */

struct dump_opts {
	int json;			/* one JSON object per batch and line */
	int records;			/* print records (default) */
};

struct dump_state {
	const struct dump_opts *o;
	struct sl_buf batch;		/* the batch being printed */
	struct sl_buf line;		/* output for one batch */
	struct sl_arena arena;		/* its records; reset per batch */
};

static void
dump_usage(FILE *f)
{
	fprintf(f, "usage: sluice log dump [--json] [--records|--batches-only] PATH\n"
	    "  PATH is a segment file (<base offset>.log) or a partition folder.\n");
}

/* ------------------------------------------------------------- formatting */

/*
 * Whether 'p' (length 'len') reads as text: UTF-8 without control
 * characters.  '*cut' gets the bytes to show, at most 'max', ending on a
 * character boundary.
 */
static int
dump_is_text(const uint8_t *p, size_t len, size_t max, size_t *cut)
{
	size_t i = 0, n, k;
	uint8_t c;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			n = 1;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
		} else {
			return 0;
		}
		if (i + n > max)
			break;
		if (n > len - i)
			return 0;
		for (k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0) ||
		    (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90))
			return 0;	/* overlong, surrogate or past U+10FFFF */
		i += n;
	}
	*cut = i;
	return 1;
}

/* Append 'p' as the body of a JSON string (no quotes). */
static void
dump_json_escape(struct sl_buf *o, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			sl_buf_add_u8(o, '\\');
			sl_buf_add_u8(o, p[i]);
		} else if (p[i] < 0x20) {
			sl_buf_printf(o, "\\u%04x", p[i]);
		} else {
			sl_buf_add_u8(o, p[i]);
		}
	}
}

static void
dump_hex(struct sl_buf *o, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		sl_buf_add_u8(o, (uint8_t)digits[p[i] >> 4]);
		sl_buf_add_u8(o, (uint8_t)digits[p[i] & 15]);
	}
}

/*
 * Append 's' for a person: as text when it is text, else "0x" and hex; cut
 * at DUMP_SHOW_BYTES with "..." after.  In JSON, the result is one quoted
 * string.
 */
static void
dump_bytes(struct sl_buf *o, struct sl_slice s, int json)
{
	size_t cut = 0, show = s.len < DUMP_SHOW_BYTES ? s.len : DUMP_SHOW_BYTES;

	if (json)
		sl_buf_add_u8(o, '"');
	if (dump_is_text(s.p, s.len, DUMP_SHOW_BYTES, &cut)) {
		if (json)
			dump_json_escape(o, s.p, cut);
		else
			sl_buf_add(o, s.p, cut);
		show = cut;
	} else {
		sl_buf_add(o, "0x", 2);
		dump_hex(o, s.p, show);
	}
	if (show < s.len)
		sl_buf_add(o, "...", 3);
	if (json)
		sl_buf_add_u8(o, '"');
}

static void
dump_text_batch(struct dump_state *st, const struct lg_batch_info *b, off_t pos)
{
	struct sl_buf *o = &st->line;

	sl_buf_printf(o, "base_offset: %" PRId64 " last_offset: %" PRId64
	    " count: %" PRId32 " position: %jd size: %zu codec: %s crc: 0x%08x ok"
	    " first_timestamp: %" PRId64 " max_timestamp: %" PRId64
	    " timestamp_type: %s producer_id: %" PRId64 " producer_epoch: %d"
	    " base_sequence: %" PRId32 " leader_epoch: %" PRId32
	    " transactional: %s control: %s\n",
	    b->base_offset, lg_batch_last_offset(b), b->records_count,
	    (intmax_t)pos, lg_batch_size(b),
	    lg_codec_name(b->attributes & LG_ATTR_CODEC_MASK), (unsigned)b->crc,
	    b->first_timestamp, b->max_timestamp,
	    b->attributes & LG_ATTR_LOG_APPEND_TIME ? "log_append" : "create",
	    b->producer_id, (int)b->producer_epoch, b->base_sequence,
	    b->leader_epoch, b->attributes & LG_ATTR_TRANSACTIONAL ? "yes" : "no",
	    b->attributes & LG_ATTR_CONTROL ? "yes" : "no");
}

static void
dump_text_record(struct dump_state *st, const struct lg_record *r)
{
	struct sl_buf *o = &st->line;
	int32_t k;

	sl_buf_printf(o, "| offset: %" PRId64 " timestamp: %" PRId64 " key: ",
	    r->offset, r->timestamp);
	if (r->key_null)
		sl_buf_add(o, "null", 4);
	else
		dump_bytes(o, r->key, 0);
	sl_buf_printf(o, " value_size: %lld headers: [",
	    r->value_null ? -1LL : (long long)r->value.len);
	for (k = 0; k < r->n_headers; k++) {
		if (k > 0)
			sl_buf_add(o, ", ", 2);
		dump_bytes(o, r->headers[k].key, 0);
	}
	sl_buf_add(o, "]\n", 2);
}

static void
dump_json_batch(struct dump_state *st, const char *path,
    const struct lg_batch_info *b, off_t pos)
{
	struct sl_buf *o = &st->line;

	sl_buf_add(o, "{\"file\":\"", 9);
	dump_json_escape(o, (const uint8_t *)path, strlen(path));
	sl_buf_printf(o, "\",\"position\":%jd,\"base_offset\":%" PRId64
	    ",\"last_offset\":%" PRId64 ",\"size\":%zu,\"codec\":\"%s\""
	    ",\"count\":%" PRId32 ",\"crc\":\"0x%08x\",\"crc_ok\":true"
	    ",\"first_timestamp\":%" PRId64 ",\"max_timestamp\":%" PRId64
	    ",\"timestamp_type\":\"%s\",\"producer_id\":%" PRId64
	    ",\"producer_epoch\":%d,\"base_sequence\":%" PRId32
	    ",\"leader_epoch\":%" PRId32 ",\"transactional\":%s,\"control\":%s",
	    (intmax_t)pos, b->base_offset, lg_batch_last_offset(b),
	    lg_batch_size(b), lg_codec_name(b->attributes & LG_ATTR_CODEC_MASK),
	    b->records_count, (unsigned)b->crc, b->first_timestamp,
	    b->max_timestamp,
	    b->attributes & LG_ATTR_LOG_APPEND_TIME ? "log_append" : "create",
	    b->producer_id, (int)b->producer_epoch, b->base_sequence,
	    b->leader_epoch, b->attributes & LG_ATTR_TRANSACTIONAL ? "true" : "false",
	    b->attributes & LG_ATTR_CONTROL ? "true" : "false");
}

static void
dump_json_record(struct dump_state *st, const struct lg_record *r, int first)
{
	struct sl_buf *o = &st->line;
	size_t cut;
	int32_t k;

	sl_buf_printf(o, "%s{\"offset\":%" PRId64 ",\"timestamp\":%" PRId64
	    ",\"key_size\":%lld,\"key\":", first ? "" : ",", r->offset,
	    r->timestamp, r->key_null ? -1LL : (long long)r->key.len);
	if (r->key_null) {
		sl_buf_add(o, "null", 4);
	} else if (dump_is_text(r->key.p, r->key.len, DUMP_SHOW_BYTES, &cut)) {
		dump_bytes(o, r->key, 1);
	} else {
		/* Not text: the key is null-free hex under its own name. */
		sl_buf_add(o, "null,\"key_hex\":\"", 16);
		dump_hex(o, r->key.p, r->key.len < DUMP_SHOW_BYTES ? r->key.len :
		    DUMP_SHOW_BYTES);
		sl_buf_add_u8(o, '"');
	}
	sl_buf_printf(o, ",\"value_size\":%lld,\"headers\":[",
	    r->value_null ? -1LL : (long long)r->value.len);
	for (k = 0; k < r->n_headers; k++) {
		if (k > 0)
			sl_buf_add_u8(o, ',');
		dump_bytes(o, r->headers[k].key, 1);
	}
	sl_buf_add(o, "]}", 2);
}

/* ---------------------------------------------------------------- reading */

/* Read exactly 'n' bytes at 'pos'; 0, -errno, or SL_ETRUNC at end of file. */
static int
dump_pread(int fd, void *p, size_t n, off_t pos)
{
	ssize_t r;
	size_t done = 0;

	while (done < n) {
		r = pread(fd, (uint8_t *)p + done, n - done, pos + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return SL_ETRUNC;
		done += (size_t)r;
	}
	return 0;
}

/*
 * Print every batch of the segment 'path'.  Returns CLI_EXIT_OK or
 * CLI_EXIT_RUNTIME after printing why to stderr.
 */
static int
dump_segment(struct dump_state *st, const char *path)
{
	struct lg_batch_info info;
	struct lg_record *recs = NULL;
	struct sl_err err;
	struct stat sb;
	off_t pos = 0, left;
	int32_t n = 0, i;
	size_t total;
	int fd, rc, ret = CLI_EXIT_RUNTIME;
	int32_t length;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_errorf("log dump: %s: %s", path, strerror(errno));
		return CLI_EXIT_RUNTIME;
	}
	if (fstat(fd, &sb) != 0) {
		cli_errorf("log dump: %s: %s", path, strerror(errno));
		goto out;
	}
	if (!st->o->json)
		printf("segment: %s\n", path);
	while (pos < sb.st_size) {
		memset(&err, 0, sizeof(err));
		left = sb.st_size - pos;
		if (left < LG_BATCH_HEADER_SIZE) {
			cli_errorf("log dump: %s: byte %jd: torn batch: %jd bytes "
			    "left, shorter than the %d-byte batch header", path,
			    (intmax_t)pos, (intmax_t)left, LG_BATCH_HEADER_SIZE);
			goto out;
		}
		sl_buf_reset(&st->batch);
		sl_buf_reserve(&st->batch, LG_BATCH_HEADER_SIZE);
		rc = dump_pread(fd, st->batch.p, LG_BATCH_HEADER_SIZE, pos);
		if (rc != 0) {
			cli_errorf("log dump: %s: byte %jd: %s", path,
			    (intmax_t)pos, sl_strerror(rc));
			goto out;
		}
		st->batch.len = LG_BATCH_HEADER_SIZE;
		length = (int32_t)sl_get_be32(st->batch.p + 8);
		total = length < 0 ? 0 : (size_t)length + LG_BATCH_LOG_OVERHEAD;
		if (total >= LG_BATCH_HEADER_SIZE && total > (uint64_t)left) {
			cli_errorf("log dump: %s: byte %jd: batch at offset %" PRId64
			    ": length %" PRId32 " makes a %zu-byte batch, past the "
			    "end of the file (%jd bytes left): a torn write?", path,
			    (intmax_t)pos, (int64_t)sl_get_be64(st->batch.p),
			    length, total, (intmax_t)left);
			goto out;
		}
		if (total > DUMP_MAX_BATCH) {
			cli_errorf("log dump: %s: byte %jd: batch of %zu bytes is "
			    "past the dump's limit of %zu", path, (intmax_t)pos,
			    total, DUMP_MAX_BATCH);
			goto out;
		}
		if (total > LG_BATCH_HEADER_SIZE) {
			sl_buf_reserve(&st->batch, total - LG_BATCH_HEADER_SIZE);
			rc = dump_pread(fd, st->batch.p + LG_BATCH_HEADER_SIZE,
			    total - LG_BATCH_HEADER_SIZE,
			    pos + LG_BATCH_HEADER_SIZE);
			if (rc != 0) {
				cli_errorf("log dump: %s: byte %jd: %s", path,
				    (intmax_t)pos, sl_strerror(rc));
				goto out;
			}
			st->batch.len = total;
		}
		rc = lg_batch_header(sl_buf_slice(&st->batch), &info, &err);
		if (rc == 0 && st->o->records) {
			sl_arena_reset(&st->arena);
			rc = lg_batch_records(sl_buf_slice(&st->batch), 0,
			    &st->arena, &recs, &n, &err);
		}
		if (rc != 0) {
			cli_errorf("log dump: %s: byte %jd: %s", path,
			    (intmax_t)pos, sl_err_msg(&err, rc));
			goto out;
		}
		sl_buf_reset(&st->line);
		if (st->o->json)
			dump_json_batch(st, path, &info, pos);
		else
			dump_text_batch(st, &info, pos);
		if (st->o->records) {
			if (st->o->json)
				sl_buf_add(&st->line, ",\"records\":[", 12);
			for (i = 0; i < n; i++) {
				if (st->o->json)
					dump_json_record(st, &recs[i], i == 0);
				else
					dump_text_record(st, &recs[i]);
			}
			if (st->o->json)
				sl_buf_add_u8(&st->line, ']');
		}
		if (st->o->json)
			sl_buf_add(&st->line, "}\n", 2);
		if (fwrite(st->line.p, 1, st->line.len, stdout) != st->line.len) {
			cli_errorf("log dump: writing the output: %s", strerror(errno));
			goto out;
		}
		pos += (off_t)total;
	}
	ret = CLI_EXIT_OK;
out:
	close(fd);
	fflush(stdout);
	return ret;
}

static int
dump_is_segment_name(const char *name)
{
	size_t i;

	if (strlen(name) != DUMP_SEGMENT_NAME_LEN ||
	    strcmp(name + 20, ".log") != 0)
		return 0;
	for (i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	return 1;
}

/* Every segment of the partition folder 'dir', in offset order. */
static int
dump_folder(struct dump_state *st, const char *dir)
{
	char **names, *path;
	size_t n, i;
	int ret = CLI_EXIT_OK, rc;

	/* 20-digit names: sorted by name is sorted by offset */
	if ((rc = sl_dir_list(dir, dump_is_segment_name, &names, &n)) != 0) {
		cli_errorf("log dump: %s: %s", dir, sl_strerror(rc));
		return CLI_EXIT_RUNTIME;
	}
	for (i = 0; i < n && ret == CLI_EXIT_OK; i++) {
		path = sl_asprintf("%s/%s", dir, names[i]);
		ret = dump_segment(st, path);
		free(path);
	}
	sl_dir_list_free(names, n);
	return ret;
}

/* `sluice log dump`: argv[0] is "dump".  Exit 0, 2 (usage) or 3. */
int
cli_log_dump(int argc, char **argv)
{
	struct dump_opts o = { 0, 1 };
	struct dump_state st;
	const char *path = NULL;
	struct stat sb;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			o.json = 1;
		} else if (strcmp(argv[i], "--records") == 0) {
			o.records = 1;
		} else if (strcmp(argv[i], "--batches-only") == 0) {
			o.records = 0;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			dump_usage(stdout);
			return CLI_EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			cli_errorf("log dump: unknown option '%s'", argv[i]);
			dump_usage(stderr);
			return CLI_EXIT_USAGE;
		} else if (path != NULL) {
			cli_errorf("log dump: more than one PATH ('%s' and '%s')",
			    path, argv[i]);
			return CLI_EXIT_USAGE;
		} else {
			path = argv[i];
		}
	}
	if (path == NULL) {
		cli_errorf("log dump: missing PATH");
		dump_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (stat(path, &sb) != 0) {
		cli_errorf("log dump: %s: %s", path, strerror(errno));
		return CLI_EXIT_RUNTIME;
	}
	memset(&st, 0, sizeof(st));
	st.o = &o;
	if (S_ISDIR(sb.st_mode))
		ret = dump_folder(&st, path);
	else
		ret = dump_segment(&st, path);
	sl_buf_free(&st.batch);
	sl_buf_free(&st.line);
	sl_arena_free(&st.arena);
	return ret;
}
