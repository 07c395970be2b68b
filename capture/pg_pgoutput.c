/*
 * capture/pg_pgoutput.c: a pure decoder of PostgreSQL's pgoutput logical
 * replication messages, protocol versions 1 and 2.
 *
 * Input is the payload of one XLogData ('w') CopyData message; output is a
 * struct cap_pgo_msg whose strings and values borrow the input.  It does no
 * I/O, knows nothing about libpq, Kafka or event formats, and does not keep
 * relation caches: that is pg_capture.c's job.  Every read is bounds-checked;
 * anything unknown or short is SL_ECORRUPT naming the LSN and byte offset.
 *
 * All integers are big-endian.  "String" is NUL-terminated.  "[xid]" is an
 * Int32 transaction id present only between Stream Start and Stream Stop
 * (protocol 2).  Offsets below are for messages outside a stream; inside
 * one, add 4 after the type byte.
 *
 * BEGIN 'B'
 *   OFFSET SIZE DESCRIPTION
 *        0    1 'B'
 *        1    8 final LSN of the transaction (its commit record)
 *        9    8 commit timestamp, µs since 2000-01-01
 *       17    4 xid
 *
 * COMMIT 'C'
 *        0    1 'C'
 *        1    1 flags (unused, 0)
 *        2    8 commit LSN
 *       10    8 end LSN of the transaction
 *       18    8 commit timestamp
 *
 * ORIGIN 'O'
 *        0    1 'O'
 *        1    8 commit LSN on the origin server
 *        9    n origin name (String)
 *
 * RELATION 'R'
 *        0    1 'R'
 *        1   [4] xid
 *        1    4 relation OID
 *        5    n namespace (String; empty for pg_catalog)
 *        .    n relation name (String)
 *        .    1 replica identity setting ('d', 'n', 'f', 'i')
 *        .    2 number of columns N
 *        N times:
 *             1 flags (1 = part of the key)
 *             n column name (String)
 *             4 type OID
 *             4 type modifier (atttypmod)
 *
 * TYPE 'Y'
 *        0    1 'Y'
 *        1   [4] xid
 *        1    4 type OID
 *        5    n namespace (String)
 *        .    n type name (String)
 *
 * INSERT 'I'
 *        0    1 'I'
 *        1   [4] xid
 *        1    4 relation OID
 *        5    1 'N'
 *        6    n TupleData (new)
 *
 * UPDATE 'U'
 *        0    1 'U'
 *        1   [4] xid
 *        1    4 relation OID
 *        5    1 optional: 'K' (old key follows) or 'O' (old tuple follows)
 *        6    n optional TupleData (old)
 *        .    1 'N'
 *        .    n TupleData (new)
 *
 * DELETE 'D'
 *        0    1 'D'
 *        1   [4] xid
 *        1    4 relation OID
 *        5    1 'K' (old key) or 'O' (old tuple)
 *        6    n TupleData (old)
 *
 * TRUNCATE 'T'
 *        0    1 'T'
 *        1   [4] xid
 *        1    4 number of relations N
 *        5    1 options: bit 1 CASCADE, bit 2 RESTART IDENTITY
 *        6  4*N relation OIDs
 *
 * MESSAGE 'M' (pg_logical_emit_message; needs messages 'true')
 *        0    1 'M'
 *        1   [4] xid (transactional messages inside a stream)
 *        1    1 flags: 1 = transactional
 *        2    8 LSN of the message
 *       10    n prefix (String)
 *        .    4 content length L
 *        .    L content
 *
 * STREAM START 'S'
 *        0    1 'S'
 *        1    4 xid
 *        5    1 1 if this is the first segment of this xid
 *
 * STREAM STOP 'E'
 *        0    1 'E'
 *
 * STREAM COMMIT 'c'
 *        0    1 'c'
 *        1    4 xid
 *        5    1 flags (0)
 *        6    8 commit LSN
 *       14    8 end LSN
 *       22    8 commit timestamp
 *
 * STREAM ABORT 'A'
 *        0    1 'A'
 *        1    4 xid of the top-level transaction
 *        5    4 xid of the aborted subtransaction (== xid: all of it)
 *       (protocol 4 adds abort LSN and timestamp; we never ask for it)
 *
 * TUPLEDATA
 *        0    2 number of columns N
 *        N times:
 *             1 'n' null | 'u' unchanged TOASTed value | 't' text | 'b' binary
 *             4 length L ('t' and 'b' only)
 *             L value bytes ('t' and 'b' only; text is not NUL-terminated)
 *
 * INVARIANTS
 *  (1) 'in_stream' is set exactly between Stream Start and Stream Stop; an
 *      xid is read after the type byte of R, Y, I, U, D, T and transactional
 *      M only then.
 *  (2) Every array taken from the arena has at most one element per
 *      remaining input byte, so a hostile count cannot allocate more than a
 *      small multiple of the message length.
 *  (3) A message must be consumed exactly: trailing bytes are corruption.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "capture/cap_int.h"

struct pgo_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
	uint64_t lsn;
	uint8_t type;
	struct sl_err *err;
};

static int
pgo_bad(struct pgo_cur *c, const char *what)
{
	char lb[32];

	return SL_CORRUPT(c->err, "pgoutput %s message at LSN %s: %s at byte %zu of %zu",
	    cap_pgo_type_name(c->type), cap_lsn_fmt(c->lsn, lb, sizeof(lb)), what,
	    c->off, c->len);
}

static int
pgo_need(struct pgo_cur *c, size_t n, const char *what)
{
	if (c->len - c->off < n)
		return pgo_bad(c, what);
	return 0;
}

static int
pgo_u8(struct pgo_cur *c, uint8_t *v, const char *what)
{
	int rc;

	if ((rc = pgo_need(c, 1, what)) != 0)
		return rc;
	*v = c->p[c->off++];
	return 0;
}

static int
pgo_u16(struct pgo_cur *c, uint16_t *v, const char *what)
{
	int rc;

	if ((rc = pgo_need(c, 2, what)) != 0)
		return rc;
	*v = sl_get_be16(c->p + c->off);
	c->off += 2;
	return 0;
}

static int
pgo_u32(struct pgo_cur *c, uint32_t *v, const char *what)
{
	int rc;

	if ((rc = pgo_need(c, 4, what)) != 0)
		return rc;
	*v = sl_get_be32(c->p + c->off);
	c->off += 4;
	return 0;
}

static int
pgo_u64(struct pgo_cur *c, uint64_t *v, const char *what)
{
	int rc;

	if ((rc = pgo_need(c, 8, what)) != 0)
		return rc;
	*v = sl_get_be64(c->p + c->off);
	c->off += 8;
	return 0;
}

/* A NUL-terminated string inside the message; borrowed. */
static int
pgo_str(struct pgo_cur *c, const char **s, const char *what)
{
	const uint8_t *nul;

	if (c->off >= c->len)
		return pgo_bad(c, what);
	nul = memchr(c->p + c->off, 0, c->len - c->off);
	if (nul == NULL)
		return pgo_bad(c, what);
	*s = (const char *)(c->p + c->off);
	c->off = (size_t)(nul - c->p) + 1;
	return 0;
}

static int
pgo_tuple(struct pgo_cur *c, struct sl_arena *arena, struct cap_pgo_tuple *t)
{
	uint16_t n, i;
	int rc;

	if ((rc = pgo_u16(c, &n, "short tuple column count")) != 0)
		return rc;
	if (n > c->len - c->off)	/* (2) each column takes >= 1 byte */
		return pgo_bad(c, "tuple column count past the end");
	t->ncols = n;
	t->cols = n ? sl_arena_alloc(arena, n * sizeof(*t->cols)) : NULL;
	for (i = 0; i < n; i++) {
		struct cap_pgo_value *v = &t->cols[i];
		uint8_t kind;

		if ((rc = pgo_u8(c, &kind, "short tuple value kind")) != 0)
			return rc;
		v->kind = (char)kind;
		v->len = 0;
		v->data = NULL;
		switch (kind) {
		case 'n':
		case 'u':
			break;
		case 't':
		case 'b':
			if ((rc = pgo_u32(c, &v->len, "short tuple value length")) != 0)
				return rc;
			if (v->len > c->len - c->off)
				return pgo_bad(c, "tuple value length past the end");
			v->data = c->p + c->off;
			c->off += v->len;
			break;
		default:
			c->off--;
			return pgo_bad(c, "unknown tuple value kind");
		}
	}
	return 0;
}

static int
pgo_relation(struct pgo_cur *c, struct sl_arena *arena, struct cap_pgo_msg *m)
{
	uint16_t i;
	int rc;

	if ((rc = pgo_u32(c, &m->u.rel.relid, "short relation id")) != 0 ||
	    (rc = pgo_str(c, &m->u.rel.nspname, "unterminated namespace")) != 0 ||
	    (rc = pgo_str(c, &m->u.rel.relname, "unterminated relation name")) != 0 ||
	    (rc = pgo_u8(c, &m->u.rel.replident, "short replica identity")) != 0 ||
	    (rc = pgo_u16(c, &m->u.rel.ncols, "short column count")) != 0)
		return rc;
	/* (2) each column takes at least 10 bytes */
	if ((size_t)m->u.rel.ncols * 10 > c->len - c->off)
		return pgo_bad(c, "column count past the end");
	m->u.rel.cols = m->u.rel.ncols ?
	    sl_arena_alloc(arena, m->u.rel.ncols * sizeof(*m->u.rel.cols)) : NULL;
	for (i = 0; i < m->u.rel.ncols; i++) {
		struct cap_pgo_column *col = &m->u.rel.cols[i];
		uint32_t typmod;

		if ((rc = pgo_u8(c, &col->flags, "short column flags")) != 0 ||
		    (rc = pgo_str(c, &col->name, "unterminated column name")) != 0 ||
		    (rc = pgo_u32(c, &col->type_oid, "short column type")) != 0 ||
		    (rc = pgo_u32(c, &typmod, "short column typmod")) != 0)
			return rc;
		col->typmod = (int32_t)typmod;
	}
	return 0;
}

static int
pgo_change(struct pgo_cur *c, struct sl_arena *arena, struct cap_pgo_msg *m)
{
	uint8_t tag;
	int rc;

	m->u.change.old_kind = 0;
	memset(&m->u.change.old_tuple, 0, sizeof(m->u.change.old_tuple));
	memset(&m->u.change.new_tuple, 0, sizeof(m->u.change.new_tuple));
	if ((rc = pgo_u32(c, &m->u.change.relid, "short relation id")) != 0 ||
	    (rc = pgo_u8(c, &tag, "short tuple tag")) != 0)
		return rc;
	if (m->type == CAP_PGO_INSERT) {
		if (tag != 'N') {
			c->off--;
			return pgo_bad(c, "expected 'N' before the new tuple");
		}
		return pgo_tuple(c, arena, &m->u.change.new_tuple);
	}
	if (tag == 'K' || tag == 'O') {
		m->u.change.old_kind = (char)tag;
		if ((rc = pgo_tuple(c, arena, &m->u.change.old_tuple)) != 0)
			return rc;
		if (m->type == CAP_PGO_DELETE)
			return 0;
		if ((rc = pgo_u8(c, &tag, "short new tuple tag")) != 0)
			return rc;
	} else if (m->type == CAP_PGO_DELETE) {
		c->off--;
		return pgo_bad(c, "expected 'K' or 'O' before the old tuple");
	}
	if (tag != 'N') {
		c->off--;
		return pgo_bad(c, "expected 'N' before the new tuple");
	}
	return pgo_tuple(c, arena, &m->u.change.new_tuple);
}

int
cap_pgs_next(const uint8_t *p, size_t len, size_t *off, uint64_t lsn,
    uint64_t *msg_lsn, const uint8_t **msg, size_t *msg_len, struct sl_err *err)
{
	size_t o = *off, left, i;
	uint64_t l = 0;
	uint32_t n;
	char lb[32];

	if (o >= len)
		return 0;
	left = len - o;
	if (left < CAP_PGS_HEADER)
		return SL_CORRUPT(err, "pg_sluice batch at LSN %s: %zu bytes at byte %zu of %zu, "
		    "not a 12-byte message header", cap_lsn_fmt(lsn, lb, sizeof(lb)), left, o, len);
	for (i = 0; i < 8; i++)
		l = l << 8 | p[o + i];
	n = (uint32_t)p[o + 8] << 24 | (uint32_t)p[o + 9] << 16 | (uint32_t)p[o + 10] << 8 |
	    p[o + 11];
	if (n == 0 || n > left - CAP_PGS_HEADER)
		return SL_CORRUPT(err, "pg_sluice batch at LSN %s: a message of %" PRIu32
		    " bytes at byte %zu of %zu (%zu left)", cap_lsn_fmt(lsn, lb, sizeof(lb)), n,
		    o, len, left - CAP_PGS_HEADER);
	*msg_lsn = l;
	*msg = p + o + CAP_PGS_HEADER;
	*msg_len = n;
	*off = o + CAP_PGS_HEADER + n;
	return 1;
}

void
cap_pgo_decoder_init(struct cap_pgo_decoder *d, int proto)
{
	memset(d, 0, sizeof(*d));
	d->proto = proto;
}

int
cap_pgo_decode(struct cap_pgo_decoder *d, uint64_t lsn, const uint8_t *p,
    size_t len, struct sl_arena *arena, struct cap_pgo_msg *m, struct sl_err *err)
{
	struct pgo_cur c = { p, len, 0, lsn, 0, err };
	uint32_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len == 0)
		return pgo_bad(&c, "empty message");
	c.type = m->type = p[0];
	c.off = 1;
	switch (m->type) {
	case CAP_PGO_RELATION:
	case CAP_PGO_TYPE:
	case CAP_PGO_INSERT:
	case CAP_PGO_UPDATE:
	case CAP_PGO_DELETE:
	case CAP_PGO_TRUNCATE:
		if (d->in_stream) {	/* (1) */
			if ((rc = pgo_u32(&c, &m->xid, "short xid")) != 0)
				return rc;
			m->has_xid = 1;
		}
		break;
	case CAP_PGO_MESSAGE:
		/*
		 * Inside a stream only transactional messages carry an xid; the
		 * flags byte comes after it, so peek: a non-transactional
		 * message is never sent inside a streamed block's changes by
		 * the server, but be exact anyway and trust the xid layout.
		 */
		if (d->in_stream) {
			if ((rc = pgo_u32(&c, &m->xid, "short xid")) != 0)
				return rc;
			m->has_xid = 1;
		}
		break;
	default:
		break;
	}

	switch (m->type) {
	case CAP_PGO_BEGIN:
		if (d->in_stream)
			return pgo_bad(&c, "Begin inside a streamed block");
		if ((rc = pgo_u64(&c, &m->u.begin.final_lsn, "short final LSN")) != 0 ||
		    (rc = pgo_u64(&c, (uint64_t *)&m->u.begin.commit_ts, "short timestamp")) != 0 ||
		    (rc = pgo_u32(&c, &m->u.begin.xid, "short xid")) != 0)
			return rc;
		break;
	case CAP_PGO_COMMIT:
		if (d->in_stream)
			return pgo_bad(&c, "Commit inside a streamed block");
		if ((rc = pgo_u8(&c, &m->u.commit.flags, "short flags")) != 0 ||
		    (rc = pgo_u64(&c, &m->u.commit.commit_lsn, "short commit LSN")) != 0 ||
		    (rc = pgo_u64(&c, &m->u.commit.end_lsn, "short end LSN")) != 0 ||
		    (rc = pgo_u64(&c, (uint64_t *)&m->u.commit.commit_ts, "short timestamp")) != 0)
			return rc;
		break;
	case CAP_PGO_ORIGIN:
		if ((rc = pgo_u64(&c, &m->u.origin.lsn, "short origin LSN")) != 0 ||
		    (rc = pgo_str(&c, &m->u.origin.name, "unterminated origin name")) != 0)
			return rc;
		break;
	case CAP_PGO_RELATION:
		if ((rc = pgo_relation(&c, arena, m)) != 0)
			return rc;
		break;
	case CAP_PGO_TYPE:
		if ((rc = pgo_u32(&c, &m->u.type.oid, "short type OID")) != 0 ||
		    (rc = pgo_str(&c, &m->u.type.nspname, "unterminated namespace")) != 0 ||
		    (rc = pgo_str(&c, &m->u.type.name, "unterminated type name")) != 0)
			return rc;
		break;
	case CAP_PGO_INSERT:
	case CAP_PGO_UPDATE:
	case CAP_PGO_DELETE:
		if ((rc = pgo_change(&c, arena, m)) != 0)
			return rc;
		break;
	case CAP_PGO_TRUNCATE:
		if ((rc = pgo_u32(&c, &m->u.truncate.nrels, "short relation count")) != 0 ||
		    (rc = pgo_u8(&c, &m->u.truncate.options, "short options")) != 0)
			return rc;
		if (m->u.truncate.nrels > (c.len - c.off) / 4)	/* (2) */
			return pgo_bad(&c, "relation count past the end");
		m->u.truncate.relids = m->u.truncate.nrels ? sl_arena_alloc(arena,
		    m->u.truncate.nrels * sizeof(uint32_t)) : NULL;
		for (i = 0; i < m->u.truncate.nrels; i++)
			(void)pgo_u32(&c, &m->u.truncate.relids[i], "short relation id");
		break;
	case CAP_PGO_MESSAGE:
		if ((rc = pgo_u8(&c, &m->u.message.flags, "short flags")) != 0 ||
		    (rc = pgo_u64(&c, &m->u.message.lsn, "short message LSN")) != 0 ||
		    (rc = pgo_str(&c, &m->u.message.prefix, "unterminated prefix")) != 0 ||
		    (rc = pgo_u32(&c, &m->u.message.len, "short content length")) != 0)
			return rc;
		if (m->u.message.len > c.len - c.off)
			return pgo_bad(&c, "content length past the end");
		m->u.message.content = c.p + c.off;
		c.off += m->u.message.len;
		break;
	case CAP_PGO_STREAM_START:
		if (d->proto < 2)
			return pgo_bad(&c, "Stream Start with protocol 1");
		if (d->in_stream)
			return pgo_bad(&c, "Stream Start inside a streamed block");
		if ((rc = pgo_u32(&c, &m->u.stream_start.xid, "short xid")) != 0 ||
		    (rc = pgo_u8(&c, &m->u.stream_start.first, "short first flag")) != 0)
			return rc;
		break;
	case CAP_PGO_STREAM_STOP:
		if (!d->in_stream)
			return pgo_bad(&c, "Stream Stop outside a streamed block");
		break;
	case CAP_PGO_STREAM_COMMIT:
		if (d->proto < 2)
			return pgo_bad(&c, "Stream Commit with protocol 1");
		if (d->in_stream)
			return pgo_bad(&c, "Stream Commit inside a streamed block");
		if ((rc = pgo_u32(&c, &m->u.commit.xid, "short xid")) != 0 ||
		    (rc = pgo_u8(&c, &m->u.commit.flags, "short flags")) != 0 ||
		    (rc = pgo_u64(&c, &m->u.commit.commit_lsn, "short commit LSN")) != 0 ||
		    (rc = pgo_u64(&c, &m->u.commit.end_lsn, "short end LSN")) != 0 ||
		    (rc = pgo_u64(&c, (uint64_t *)&m->u.commit.commit_ts, "short timestamp")) != 0)
			return rc;
		break;
	case CAP_PGO_STREAM_ABORT:
		if (d->proto < 2)
			return pgo_bad(&c, "Stream Abort with protocol 1");
		if (d->in_stream)
			return pgo_bad(&c, "Stream Abort inside a streamed block");
		if ((rc = pgo_u32(&c, &m->u.stream_abort.xid, "short xid")) != 0 ||
		    (rc = pgo_u32(&c, &m->u.stream_abort.subxid, "short subxact id")) != 0)
			return rc;
		break;
	default:
		c.off = 0;
		return pgo_bad(&c, "unknown message type");
	}
	if (c.off != c.len)	/* (3) */
		return pgo_bad(&c, "trailing bytes");
	/* (1) state changes only once the message is known to be whole */
	if (m->type == CAP_PGO_STREAM_START) {
		d->in_stream = 1;
		d->stream_xid = m->u.stream_start.xid;
	} else if (m->type == CAP_PGO_STREAM_STOP) {
		d->in_stream = 0;
	}
	return 0;
}

const char *
cap_pgo_type_name(uint8_t type)
{
	switch (type) {
	case CAP_PGO_BEGIN: return "Begin";
	case CAP_PGO_COMMIT: return "Commit";
	case CAP_PGO_ORIGIN: return "Origin";
	case CAP_PGO_RELATION: return "Relation";
	case CAP_PGO_TYPE: return "Type";
	case CAP_PGO_INSERT: return "Insert";
	case CAP_PGO_UPDATE: return "Update";
	case CAP_PGO_DELETE: return "Delete";
	case CAP_PGO_TRUNCATE: return "Truncate";
	case CAP_PGO_MESSAGE: return "Message";
	case CAP_PGO_STREAM_START: return "Stream Start";
	case CAP_PGO_STREAM_STOP: return "Stream Stop";
	case CAP_PGO_STREAM_COMMIT: return "Stream Commit";
	case CAP_PGO_STREAM_ABORT: return "Stream Abort";
	default: return "unknown";
	}
}

char *
cap_lsn_fmt(uint64_t lsn, char *buf, size_t size)
{
	/* "%X/%X" by hand: this runs for every message capture produces */
	static const char hex[] = "0123456789ABCDEF";
	char tmp[18];
	size_t n = 0, i;
	int half, sh;

	for (half = 1; half >= 0; half--) {
		uint32_t v = (uint32_t)(lsn >> (32 * half));

		for (sh = 28; sh > 0 && (v >> sh) == 0; sh -= 4)
			;
		for (; sh >= 0; sh -= 4)
			tmp[n++] = hex[(v >> sh) & 15];
		if (half)
			tmp[n++] = '/';
	}
	if (size == 0)
		return buf;
	for (i = 0; i < n && i + 1 < size; i++)
		buf[i] = tmp[i];
	buf[i] = '\0';
	return buf;
}

int
cap_lsn_parse(const char *s, uint64_t *out)
{
	unsigned int hi, lo;
	int n = 0;

	if (sscanf(s, "%X/%X%n", &hi, &lo, &n) != 2 || s[n] != '\0')
		return SL_EINVAL;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}
