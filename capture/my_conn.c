/*
 * capture/my_conn.c: connections to MySQL/MariaDB for capture.
 *
 * Two kinds, both opened with libmariadb (handshake, authentication):
 *  - a SQL connection for the checks, the catalog and the snapshot, with
 *    time_zone '+00:00' and utf8mb4 so text values parse the same on every
 *    server (cap_my_parse_text);
 *  - a binlog connection: after its session variables are set, capture
 *    sends COM_BINLOG_DUMP itself on the connection's socket and reads the
 *    event packets with its own bounded reader (my_dump_next).  libmariadb
 *    is not used on it afterwards.  TLS connections are refused for the
 *    stream (the bytes on the socket would be encrypted).
 *
 * Packets on the wire: 3-byte little-endian payload length, 1-byte
 * sequence, payload.  A payload of exactly 0xFFFFFF bytes continues in the
 * next packet.  After COM_BINLOG_DUMP each payload starts with 0x00 (an
 * event follows), 0xFF (an error: code, '#', SQLSTATE, message) or 0xFE
 * (end of stream; only in non-blocking mode, which capture does not ask).
 *
 * INVARIANTS
 *  (1) No allocation is sized by the peer beyond CAP_MY_MAX_EVENT: a longer
 *      event stops the stream with an error naming the position.
 *  (2) The password never appears in a message or a log line.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "capture/cap_mysrc.h"

/* ------------------------------------------------------------- dsn */

static void
dsn_free(struct cap_my_dsn *d)
{
	free(d->host);
	free(d->user);
	free(d->password);
	free(d->socket);
	free(d->database);
	memset(d, 0, sizeof(*d));
}

void
cap_my_dsn_free(struct cap_my_dsn *d)
{
	dsn_free(d);
}

/* "host=127.0.0.1 port=3306 user=sluice password='a b'" */
int
cap_my_dsn_parse(const char *s, struct cap_my_dsn *d, struct sl_err *err)
{
	memset(d, 0, sizeof(*d));
	d->port = 3306;
	d->connect_timeout = 10;
	while (*s) {
		char key[32], *val;
		size_t kn = 0, vn = 0, cap;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		while (*s && *s != '=' && *s != ' ' && kn + 1 < sizeof(key))
			key[kn++] = *s++;
		key[kn] = '\0';
		if (*s != '=') {
			dsn_free(d);
			return sl_errf(err, SL_ECONFIG, "dsn: expected key=value at '%s'", key);
		}
		s++;
		cap = strlen(s) + 1;
		val = sl_malloc(cap);
		if (*s == '\'') {
			s++;
			while (*s && *s != '\'') {
				if (*s == '\\' && s[1])
					s++;
				val[vn++] = *s++;
			}
			if (*s != '\'') {
				free(val);
				dsn_free(d);
				return sl_errf(err, SL_ECONFIG, "dsn: unterminated quote in %s", key);
			}
			s++;
		} else {
			while (*s && *s != ' ' && *s != '\t')
				val[vn++] = *s++;
		}
		val[vn] = '\0';
		if (strcmp(key, "host") == 0) {
			free(d->host);
			d->host = val;
		} else if (strcmp(key, "user") == 0) {
			free(d->user);
			d->user = val;
		} else if (strcmp(key, "password") == 0) {
			free(d->password);
			d->password = val;
		} else if (strcmp(key, "socket") == 0) {
			free(d->socket);
			d->socket = val;
		} else if (strcmp(key, "database") == 0 || strcmp(key, "dbname") == 0) {
			free(d->database);
			d->database = val;
		} else if (strcmp(key, "port") == 0 || strcmp(key, "connect_timeout") == 0) {
			char *end;
			long v = strtol(val, &end, 10);
			int bad = *val == '\0' || *end != '\0' || v <= 0 || v > 65535;

			free(val);
			if (bad) {
				dsn_free(d);
				return sl_errf(err, SL_ECONFIG, "dsn: %s must be a number 1..65535",
				    key);
			}
			if (key[0] == 'p')
				d->port = (unsigned)v;
			else
				d->connect_timeout = (unsigned)v;
		} else {
			free(val);
			dsn_free(d);
			return sl_errf(err, SL_ECONFIG, "dsn: unknown key '%s' (host, port, socket, "
			    "user, password, database, connect_timeout)", key);
		}
	}
	if (d->user == NULL)
		d->user = sl_strdup("root");
	return 0;
}

/* "user@127.0.0.1:3306" or "user@/tmp/my.sock" for messages (2). */
void
cap_my_dsn_where(const struct cap_my_dsn *d, char *buf, size_t size)
{
	if (d->socket)
		snprintf(buf, size, "%s@%s", d->user, d->socket);
	else
		snprintf(buf, size, "%s@%s:%u", d->user, d->host ? d->host : "localhost", d->port);
}

/* --------------------------------------------------------- SQL */

int
cap_my_sql_open(const struct cap_my_dsn *d, struct st_mysql **out, struct sl_err *err)
{
	MYSQL *m = mysql_init(NULL);
	char where[256];
	unsigned int timeout = d->connect_timeout;
	unsigned int proto;

	*out = NULL;
	if (m == NULL)
		return sl_errf(err, SL_EPROTO, "mysql_init failed");
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (d->socket) {
		proto = MYSQL_PROTOCOL_SOCKET;
		mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	} else if (d->host) {
		proto = MYSQL_PROTOCOL_TCP;
		mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	}
	cap_my_dsn_where(d, where, sizeof(where));
	if (mysql_real_connect(m, d->socket ? NULL : d->host, d->user, d->password,
	    d->database, d->port, d->socket, 0) == NULL) {
		sl_errf(err, SL_EPROTO, "connecting to %s: %s", where, mysql_error(m));
		mysql_close(m);
		return SL_EPROTO;
	}
	if (mysql_query(m, "SET time_zone = '+00:00', NAMES utf8mb4, "
	    "SESSION sql_mode = ''") != 0) {
		sl_errf(err, SL_EPROTO, "%s: setting the session: %s", where, mysql_error(m));
		mysql_close(m);
		return SL_EPROTO;
	}
	*out = m;
	return 0;
}

void
cap_my_sql_close(struct st_mysql *m)
{
	if (m)
		mysql_close(m);
}

int
cap_my_exec(struct st_mysql *m, const char *sql, struct sl_err *err)
{
	MYSQL_RES *r;

	if (mysql_query(m, sql) != 0)
		return sl_errf(err, SL_EPROTO, "%s: %s", sql, mysql_error(m));
	r = mysql_store_result(m);
	if (r)
		mysql_free_result(r);
	return 0;
}

int
cap_my_query(struct st_mysql *m, const char *sql, cap_my_row_fn *fn, void *ctx,
    struct sl_err *err)
{
	MYSQL_RES *r;
	MYSQL_ROW row;
	unsigned n;
	int rc = 0;

	if (mysql_query(m, sql) != 0)
		return sl_errf(err, SL_EPROTO, "%s: %s", sql, mysql_error(m));
	r = mysql_use_result(m);
	if (r == NULL) {
		if (mysql_field_count(m) == 0)
			return 0;
		return sl_errf(err, SL_EPROTO, "%s: %s", sql, mysql_error(m));
	}
	n = mysql_num_fields(r);
	while ((row = mysql_fetch_row(r)) != NULL) {
		unsigned long *lens = mysql_fetch_lengths(r);

		if (rc == 0)
			rc = fn(ctx, (const char *const *)row, lens, n, err);
	}
	if (rc == 0 && mysql_errno(m) != 0)
		rc = sl_errf(err, SL_EPROTO, "%s: %s", sql, mysql_error(m));
	mysql_free_result(r);
	return rc;
}

struct one_ctx {
	char *buf;
	size_t size;
	int found;
	unsigned col;
};

static int
one_row(void *ctx, const char *const *row, const unsigned long *lens, unsigned n,
    struct sl_err *err)
{
	struct one_ctx *c = ctx;

	(void)lens;
	(void)err;
	if (c->found || c->col >= n)
		return 0;
	c->found = 1;
	snprintf(c->buf, c->size, "%s", row[c->col] ? row[c->col] : "");
	return 0;
}

int
cap_my_query_value(struct st_mysql *m, const char *sql, unsigned col, char *buf,
    size_t size, struct sl_err *err)
{
	struct one_ctx c = { buf, size, 0, col };
	int rc;

	buf[0] = '\0';
	if ((rc = cap_my_query(m, sql, one_row, &c, err)) != 0)
		return rc;
	return c.found ? 0 : SL_ENOTFOUND;
}

/* ------------------------------------------------------- binlog dump */

struct cap_my_dump {
	MYSQL *m;
	int fd;
	uint8_t *rbuf;			/* socket reads */
	size_t rcap, rlen, rpos;
	struct sl_buf event;		/* the payload being assembled */
	char where[256];
};

int
cap_my_dump_open(const struct cap_my_dsn *d, const struct cap_my_dump_opts *o,
    struct cap_my_dump **out, struct sl_err *err)
{
	struct cap_my_dump *dp;
	struct sl_buf pkt = { 0 };
	char sql[512];
	size_t flen = o->file ? strlen(o->file) : 0, off;
	int rc;

	*out = NULL;
	dp = sl_calloc(1, sizeof(*dp));
	cap_my_dsn_where(d, dp->where, sizeof(dp->where));
	if ((rc = cap_my_sql_open(d, &dp->m, err)) != 0) {
		free(dp);
		return rc;
	}
	if (mysql_get_ssl_cipher(dp->m) != NULL) {
		cap_my_dump_close(dp);
		return sl_errf(err, SL_EUNSUPPORTED, "%s: the binlog stream over TLS is not "
		    "supported yet; connect without TLS (a Unix socket or a trusted network)",
		    dp->where);
	}
	/* the events' checksums as the server writes them; MariaDB's own events */
	snprintf(sql, sizeof(sql), "SET @master_binlog_checksum = @@global.binlog_checksum, "
	    "@mariadb_slave_capability = 4, @master_heartbeat_period = %lld",
	    (long long)o->heartbeat_ms * 1000000LL);
	if ((rc = cap_my_exec(dp->m, sql, err)) != 0) {
		cap_my_dump_close(dp);
		return rc;
	}
	if (o->gtid != NULL) {
		/* MariaDB: the server finds the position after this GTID itself */
		if (o->gtid[0] == '\0' || strlen(o->gtid) > 200 ||
		    strspn(o->gtid, "0123456789-,") != strlen(o->gtid)) {
			cap_my_dump_close(dp);
			return sl_errf(err, SL_EINVAL, "not a GTID position: '%.64s'", o->gtid);
		}
		snprintf(sql, sizeof(sql), "SET @slave_connect_state = '%s', "
		    "@slave_gtid_strict_mode = 1, @slave_gtid_ignore_duplicates = 0", o->gtid);
		if ((rc = cap_my_exec(dp->m, sql, err)) != 0) {
			cap_my_dump_close(dp);
			return rc;
		}
		flen = 0;
	}
	if (flen > 512) {
		cap_my_dump_close(dp);
		return sl_errf(err, SL_EINVAL, "binlog file name too long");
	}
	/* COM_BINLOG_DUMP: command, pos u32, flags u16, server id u32, file */
	sl_buf_add(&pkt, "\0\0\0\0", 4);
	sl_buf_add_u8(&pkt, 0x12);
	sl_buf_add_u8(&pkt, (uint8_t)(o->pos & 0xff));
	sl_buf_add_u8(&pkt, (uint8_t)((o->pos >> 8) & 0xff));
	sl_buf_add_u8(&pkt, (uint8_t)((o->pos >> 16) & 0xff));
	sl_buf_add_u8(&pkt, (uint8_t)((o->pos >> 24) & 0xff));
	sl_buf_add_u8(&pkt, 0);
	sl_buf_add_u8(&pkt, 0);
	sl_buf_add_u8(&pkt, (uint8_t)(o->server_id & 0xff));
	sl_buf_add_u8(&pkt, (uint8_t)((o->server_id >> 8) & 0xff));
	sl_buf_add_u8(&pkt, (uint8_t)((o->server_id >> 16) & 0xff));
	sl_buf_add_u8(&pkt, (uint8_t)((o->server_id >> 24) & 0xff));
	if (flen > 0)
		sl_buf_add(&pkt, o->file, flen);
	pkt.p[0] = (uint8_t)((pkt.len - 4) & 0xff);
	pkt.p[1] = (uint8_t)(((pkt.len - 4) >> 8) & 0xff);
	pkt.p[2] = 0;
	pkt.p[3] = 0;			/* sequence 0: a new command */
	dp->fd = (int)mysql_get_socket(dp->m);
	for (off = 0; off < pkt.len;) {
		ssize_t w = write(dp->fd, pkt.p + off, pkt.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = sl_errf(err, -errno, "%s: sending COM_BINLOG_DUMP: %s", dp->where,
			    strerror(errno));
			sl_buf_free(&pkt);
			cap_my_dump_close(dp);
			return rc;
		}
		off += (size_t)w;
	}
	sl_buf_free(&pkt);
	dp->rcap = 256 << 10;
	dp->rbuf = sl_malloc(dp->rcap);
	*out = dp;
	return 0;
}

struct cap_my_dump *
cap_my_dump_fd(int fd)
{
	struct cap_my_dump *dp = sl_calloc(1, sizeof(*dp));

	dp->fd = fd;
	snprintf(dp->where, sizeof(dp->where), "fd %d", fd);
	dp->rcap = 256 << 10;
	dp->rbuf = sl_malloc(dp->rcap);
	return dp;
}

void
cap_my_dump_close(struct cap_my_dump *dp)
{
	if (dp == NULL)
		return;
	cap_my_sql_close(dp->m);
	free(dp->rbuf);
	sl_buf_free(&dp->event);
	free(dp);
}

/* Make 'n' bytes available at rbuf + rpos, waiting at most until 'deadline'. */
static int
dump_fill(struct cap_my_dump *dp, size_t n, int64_t deadline_ns, struct sl_err *err)
{
	while (dp->rlen - dp->rpos < n) {
		struct pollfd pfd = { dp->fd, POLLIN, 0 };
		int64_t left = deadline_ns - sl_mono_ns();
		ssize_t r;
		int pr;

		if (dp->rpos > 0) {
			memmove(dp->rbuf, dp->rbuf + dp->rpos, dp->rlen - dp->rpos);
			dp->rlen -= dp->rpos;
			dp->rpos = 0;
		}
		if (left <= 0)
			return 0;
		pr = poll(&pfd, 1, (int)((left + 999999) / 1000000));
		if (pr < 0 && errno == EINTR)
			return 0;
		if (pr < 0)
			return sl_errf(err, -errno, "%s: poll: %s", dp->where, strerror(errno));
		if (pr == 0)
			return 0;
		r = read(dp->fd, dp->rbuf + dp->rlen, dp->rcap - dp->rlen);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return sl_errf(err, -errno, "%s: reading the binlog stream: %s", dp->where,
			    strerror(errno));
		if (r == 0)
			return sl_errf(err, SL_EPROTO, "%s: the server closed the binlog stream",
			    dp->where);
		dp->rlen += (size_t)r;
	}
	return 1;
}

/*
 * The next event of the stream into '*ev'/'*len' (valid until the next
 * call): 1 when one was read, 0 when 'timeout_ms' passed first, or an
 * error.  A payload is assembled from its packets as they come, so a
 * timeout in the middle of one keeps what was read.
 */
int
cap_my_dump_next(struct cap_my_dump *dp, int timeout_ms, const uint8_t **ev, size_t *len,
    struct sl_err *err)
{
	int64_t deadline = sl_mono_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		const uint8_t *h;
		size_t plen, take;
		int rc;

		if ((rc = dump_fill(dp, 4, deadline, err)) <= 0)
			return rc;
		h = dp->rbuf + dp->rpos;
		plen = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
		if (dp->event.len + plen > CAP_MY_MAX_EVENT + 1)	/* (1) */
			return sl_errf(err, SL_ETOOBIG, "%s: a binlog event longer than %u bytes",
			    dp->where, (unsigned)CAP_MY_MAX_EVENT);
		/* a packet's payload is copied as it arrives, in pieces */
		dp->rpos += 4;
		take = plen;
		while (take > 0) {
			size_t have;

			if (dp->rlen == dp->rpos) {
				rc = dump_fill(dp, 1, sl_mono_ns() + 30000000000LL, err);
				if (rc < 0)
					return rc;
				if (rc == 0)
					return sl_errf(err, SL_EPROTO, "%s: the binlog stream stalled "
					    "for 30 s in the middle of a packet", dp->where);
			}
			have = dp->rlen - dp->rpos;
			if (have > take)
				have = take;
			sl_buf_add(&dp->event, dp->rbuf + dp->rpos, have);
			dp->rpos += have;
			take -= have;
		}
		if (plen == 0xffffff)
			continue;		/* the payload goes on in the next packet */
		if (dp->event.len == 0)
			return sl_errf(err, SL_EPROTO, "%s: an empty packet in the binlog stream",
			    dp->where);
		if (dp->event.p[0] == 0xff) {
			unsigned code = dp->event.len >= 3 ?
			    (unsigned)dp->event.p[1] | (unsigned)dp->event.p[2] << 8 : 0;
			size_t moff = dp->event.len >= 9 && dp->event.p[3] == '#' ? 9 : 3;
			int n = dp->event.len > moff ? (int)(dp->event.len - moff) : 0;

			rc = sl_errf(err, code == 1236 ? SL_ERANGE : SL_EPROTO, "%s: the server "
			    "ended the binlog stream: error %u: %.*s", dp->where, code, n,
			    (const char *)dp->event.p + moff);
			sl_buf_reset(&dp->event);
			return rc;
		}
		if (dp->event.p[0] == 0xfe && dp->event.len < 9) {
			sl_buf_reset(&dp->event);
			return sl_errf(err, SL_EPROTO, "%s: the server ended the binlog stream",
			    dp->where);
		}
		if (dp->event.p[0] != 0x00) {
			rc = sl_errf(err, SL_EPROTO, "%s: unexpected packet 0x%02x in the binlog "
			    "stream", dp->where, dp->event.p[0]);
			sl_buf_reset(&dp->event);
			return rc;
		}
		*ev = dp->event.p + 1;
		*len = dp->event.len - 1;
		dp->event.len = 0;		/* the bytes stay valid until the next call */
		return 1;
	}
}
