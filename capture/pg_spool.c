/*
 * capture/pg_spool.c: streamed (in-progress) PostgreSQL transactions
 * spooled to disk until they commit or abort.
 *
 * With streaming 'on' the server sends a large transaction in blocks
 * before it commits.  Each block's messages are appended, undecoded, to a
 * file per top-level xid under the spool folder; Stream Commit replays the
 * file, Stream Abort deletes it (a subtransaction abort only records the
 * subxid, whose changes are skipped on replay).  Memory stays bounded by
 * one message whatever the transaction's size.  It is not a queue for
 * anything else and never outlives the process: files of a crashed run
 * are stale (the server resends the transaction) and removed at start.
 *
 * SPOOL RECORD (repeated to the end of the file), big-endian
 *   OFFSET SIZE DESCRIPTION
 *        0    4 payload length L (<= CAP_SPOOL_MAX_MSG)
 *        4    8 XLogData start LSN of the message
 *       12    L the pgoutput message, as received
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap_int.h"

#define CAP_SPOOL_MAX_MSG (1u << 30)

struct cap_spool {
	uint32_t xid;
	char *path;
	FILE *f;
	uint32_t *aborted;		/* aborted subxids */
	size_t n_aborted;
	uint64_t n_msgs;
	uint64_t bytes;
};

int
cap_spool_open(const char *dir, uint32_t xid, struct cap_spool **out, struct sl_err *err)
{
	struct cap_spool *s;

	*out = NULL;
	s = sl_calloc(1, sizeof(*s));
	s->xid = xid;
	s->path = sl_asprintf("%s/xid-%" PRIu32 ".spool", dir, xid);
	s->f = fopen(s->path, "w+");
	if (s->f == NULL) {
		int e = errno;
		int rc = sl_errf(err, -e, "spool %s: %s", s->path, strerror(e));

		free(s->path);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

uint32_t
cap_spool_xid(const struct cap_spool *s)
{
	return s->xid;
}

int
cap_spool_append(struct cap_spool *s, uint64_t lsn, const uint8_t *p, size_t len,
    struct sl_err *err)
{
	uint8_t hdr[12];

	if (len > CAP_SPOOL_MAX_MSG)
		return sl_errf(err, SL_ETOOBIG, "spool %s: message of %zu bytes", s->path, len);
	sl_put_be32(hdr, (uint32_t)len);
	sl_put_be64(hdr + 4, lsn);
	if (fwrite(hdr, 1, sizeof(hdr), s->f) != sizeof(hdr) ||
	    (len && fwrite(p, 1, len, s->f) != len))
		return sl_errf(err, -EIO, "spool %s: write failed: %s", s->path, strerror(errno));
	s->n_msgs++;
	s->bytes += sizeof(hdr) + len;
	return 0;
}

void
cap_spool_abort_sub(struct cap_spool *s, uint32_t subxid)
{
	s->aborted = sl_realloc(s->aborted, (s->n_aborted + 1) * sizeof(*s->aborted));
	s->aborted[s->n_aborted++] = subxid;
}

int
cap_spool_is_aborted(const struct cap_spool *s, uint32_t subxid)
{
	size_t i;

	for (i = 0; i < s->n_aborted; i++)
		if (s->aborted[i] == subxid)
			return 1;
	return 0;
}

int
cap_spool_rewind(struct cap_spool *s, struct sl_err *err)
{
	if (fflush(s->f) != 0 || fseek(s->f, 0, SEEK_SET) != 0)
		return sl_errf(err, -EIO, "spool %s: %s", s->path, strerror(errno));
	return 0;
}

/*
 * Read the next record into 'msg' (reset first).  Returns 1, 0 at the end,
 * SL_ECORRUPT for a torn or oversized record, or -errno.
 */
int
cap_spool_next(struct cap_spool *s, uint64_t *lsn, struct sl_buf *msg, struct sl_err *err)
{
	uint8_t hdr[12];
	size_t n;
	uint32_t len;

	sl_buf_reset(msg);
	n = fread(hdr, 1, sizeof(hdr), s->f);
	if (n == 0 && feof(s->f))
		return 0;
	if (n != sizeof(hdr))
		return SL_CORRUPT(err, "spool %s: torn record header", s->path);
	len = sl_get_be32(hdr);
	*lsn = sl_get_be64(hdr + 4);
	if (len > CAP_SPOOL_MAX_MSG)
		return SL_CORRUPT(err, "spool %s: record length %" PRIu32, s->path, len);
	sl_buf_reserve(msg, len);
	if (len && fread(msg->p, 1, len, s->f) != len)
		return SL_CORRUPT(err, "spool %s: torn record", s->path);
	msg->len = len;
	return 1;
}

void
cap_spool_close(struct cap_spool *s)
{
	if (s == NULL)
		return;
	if (s->f)
		fclose(s->f);
	unlink(s->path);
	free(s->path);
	free(s->aborted);
	free(s);
}
