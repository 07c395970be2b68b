/*
 * capture/pg_repl.c: the PostgreSQL replication connection, over libpq.
 *
 * Connects with replication=database, runs IDENTIFY_SYSTEM,
 * CREATE_REPLICATION_SLOT and START_REPLICATION, then reads the CopyBoth
 * stream: XLogData ('w') payloads are handed to the caller undecoded, and
 * primary keepalives ('k') are reported so the caller can answer with a
 * standby status update ('r').  It does not decide which LSN is flushed:
 * pg_capture.c does, from broker acknowledgements, and passes it in.
 *
 * XLOGDATA 'w' (CopyData payload from the server)
 *   OFFSET SIZE DESCRIPTION
 *        0    1 'w'
 *        1    8 start LSN of the WAL data in this message
 *        9    8 current end of WAL on the server
 *       17    8 server clock, µs since 2000-01-01
 *       25    n the pgoutput message
 *
 * PRIMARY KEEPALIVE 'k'
 *        0    1 'k'
 *        1    8 current end of WAL on the server
 *        9    8 server clock
 *       17    1 1: reply as soon as possible (else the server may time out)
 *
 * STANDBY STATUS UPDATE 'r' (CopyData payload to the server)
 *        0    1 'r'
 *        1    8 last WAL byte + 1 received and written
 *        9    8 last WAL byte + 1 flushed (confirmed: the slot may advance)
 *       17    8 last WAL byte + 1 applied
 *       25    8 client clock, µs since 2000-01-01
 *       33    1 1: ask the server to reply immediately
 *
 * INVARIANTS
 *  (1) The flush LSN sent is never more than the caller passed to
 *      cap_pg_repl_status(): nothing past the last durable point is ever
 *      confirmed.  It never goes backwards either.
 *  (2) Reading coalesces: the walsender sends every pgoutput message on its
 *      own, so waking in poll() whenever the socket turns readable costs a
 *      context switch on both sides every few messages (measured: one per
 *      4.4 messages).  When the buffer runs dry right after a message, we
 *      nap CAP_PG_NAP_US (far less than the socket buffer takes to fill at
 *      full speed) and read what accumulated, and fall back to poll() only
 *      when the nap brought nothing.  The added latency is at most one nap.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libpq-fe.h>

#include "capture/cap_int.h"

/* µs between 1970-01-01 and 2000-01-01 */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* The session settings sch_pg_parse() expects (schemas/sch.h). */
/* (2) The coalescing nap: 1 ms is ~200 pgoutput messages at full speed. */
#define CAP_PG_NAP_US 1000

#define CAP_PG_OPTIONS "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres " \
	"-c bytea_output=hex -c extra_float_digits=1"

struct cap_pg_repl {
	PGconn *conn;
	char *copybuf;			/* the last PQgetCopyData buffer */
	uint64_t flushed;		/* last flush LSN sent (1) */
	int server_version;
	int bursting;			/* 1: the last call returned a message (2) */
};

static PGconn *
pg_connect(const char *dsn, int replication)
{
	const char *keys[] = { "dbname", "options", "fallback_application_name",
	    replication ? "replication" : NULL, NULL };
	const char *vals[] = { dsn, CAP_PG_OPTIONS, "sluice-capture",
	    replication ? "database" : NULL, NULL };

	return PQconnectdbParams(keys, vals, 1);
}

static int
pg_conn_error(PGconn *c, const char *what, struct sl_err *err)
{
	char msg[400];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", c ? PQerrorMessage(c) : "out of memory");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	return sl_errf(err, SL_EPROTO, "postgres: %s: %s", what, msg);
}

int
cap_pg_sql_open(const char *dsn, struct pg_conn **out, struct sl_err *err)
{
	PGconn *c = pg_connect(dsn, 0);

	*out = NULL;
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		int rc = pg_conn_error(c, "connect", err);

		PQfinish(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
cap_pg_sql_close(struct pg_conn *c)
{
	if (c != NULL)
		PQfinish(c);
}

int
cap_pg_repl_open(const char *dsn, struct cap_pg_repl **out, struct sl_err *err)
{
	struct cap_pg_repl *r;
	PGconn *c = pg_connect(dsn, 1);

	*out = NULL;
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		int rc;
		const char *m = c ? PQerrorMessage(c) : "";

		if (strstr(m, "replication") != NULL && (strstr(m, "permission") ||
		    strstr(m, "must be") || strstr(m, "pg_hba")))
			rc = sl_errf(err, SL_EPROTO, "postgres: replication connection refused: "
			    "the role needs the REPLICATION attribute (ALTER ROLE ... REPLICATION) "
			    "and pg_hba.conf must allow it: %s", m);
		else
			rc = pg_conn_error(c, "replication connect", err);
		PQfinish(c);
		return rc;
	}
	r = sl_calloc(1, sizeof(*r));
	r->conn = c;
	r->server_version = PQserverVersion(c);
	*out = r;
	return 0;
}

void
cap_pg_repl_close(struct cap_pg_repl *r)
{
	if (r == NULL)
		return;
	if (r->copybuf)
		PQfreemem(r->copybuf);
	PQfinish(r->conn);
	free(r);
}

int
cap_pg_repl_server_version(const struct cap_pg_repl *r)
{
	return r->server_version;
}

static int
repl_simple(struct cap_pg_repl *r, const char *sql, PGresult **res, struct sl_err *err)
{
	*res = PQexec(r->conn, sql);
	if (PQresultStatus(*res) != PGRES_TUPLES_OK && PQresultStatus(*res) != PGRES_COMMAND_OK) {
		int rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s", sql,
		    PQresultErrorMessage(*res));

		PQclear(*res);
		*res = NULL;
		return rc;
	}
	return 0;
}

int
cap_pg_repl_identify(struct cap_pg_repl *r, struct cap_pg_sysinfo *out, struct sl_err *err)
{
	PGresult *res;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = repl_simple(r, "IDENTIFY_SYSTEM", &res, err)) != 0)
		return rc;
	if (PQntuples(res) != 1 || PQnfields(res) < 4) {
		PQclear(res);
		return sl_errf(err, SL_EPROTO, "postgres: IDENTIFY_SYSTEM: unexpected result shape");
	}
	snprintf(out->sysid, sizeof(out->sysid), "%s", PQgetvalue(res, 0, 0));
	out->timeline = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	if (cap_lsn_parse(PQgetvalue(res, 0, 2), &out->xlogpos) != 0)
		rc = sl_errf(err, SL_EPROTO, "postgres: IDENTIFY_SYSTEM: bad xlogpos '%s'",
		    PQgetvalue(res, 0, 2));
	snprintf(out->dbname, sizeof(out->dbname), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return rc;
}

int
cap_pg_slot_create(struct cap_pg_repl *r, const char *slot, int export_snapshot,
    uint64_t *consistent, char **snapshot_name, struct sl_err *err)
{
	PGresult *res;
	char *sql, *ident;
	int rc;

	*consistent = 0;
	if (snapshot_name)
		*snapshot_name = NULL;
	ident = PQescapeIdentifier(r->conn, slot, strlen(slot));
	if (ident == NULL)
		return pg_conn_error(r->conn, "escape slot name", err);
	if (r->server_version >= 150000)
		sql = sl_asprintf("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT '%s')",
		    ident, export_snapshot ? "export" : "nothing");
	else
		sql = sl_asprintf("CREATE_REPLICATION_SLOT %s LOGICAL pgoutput %s",
		    ident, export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
	PQfreemem(ident);
	rc = repl_simple(r, sql, &res, err);
	free(sql);
	if (rc != 0)
		return rc;
	/* slot_name, consistent_point, snapshot_name, output_plugin */
	if (PQntuples(res) != 1 || PQnfields(res) < 3 ||
	    cap_lsn_parse(PQgetvalue(res, 0, 1), consistent) != 0) {
		PQclear(res);
		return sl_errf(err, SL_EPROTO, "postgres: CREATE_REPLICATION_SLOT: unexpected result");
	}
	if (snapshot_name && !PQgetisnull(res, 0, 2))
		*snapshot_name = sl_strdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

int
cap_pg_repl_start(struct cap_pg_repl *r, const char *slot, const char *publication,
    uint64_t start, int proto, int streaming, int messages, struct sl_err *err)
{
	PGresult *res;
	char *sql, *ident, *pub, *pubid, lb[32];
	int rc = 0;

	/* publication_names is a literal that pgoutput splits as a list of
	 * identifiers (downcasing unquoted ones): quote the name, then that */
	ident = PQescapeIdentifier(r->conn, slot, strlen(slot));
	pubid = PQescapeIdentifier(r->conn, publication, strlen(publication));
	pub = pubid ? PQescapeLiteral(r->conn, pubid, strlen(pubid)) : NULL;
	PQfreemem(pubid);
	if (ident == NULL || pub == NULL) {
		PQfreemem(ident);
		PQfreemem(pub);
		return pg_conn_error(r->conn, "escape", err);
	}
	sql = sl_asprintf("START_REPLICATION SLOT %s LOGICAL %s (proto_version '%d', "
	    "publication_names %s%s%s)", ident, cap_lsn_fmt(start, lb, sizeof(lb)), proto,
	    pub, streaming ? ", streaming 'on'" : "", messages ? ", messages 'true'" : "");
	PQfreemem(ident);
	PQfreemem(pub);
	res = PQexec(r->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_BOTH)
		rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	free(sql);
	r->flushed = start;
	return rc;
}

/*
 * Wait up to 'timeout_ms' for the next CopyData message.  Returns
 * CAP_PG_XLOG with 'out' set (the payload valid until the next call),
 * CAP_PG_KEEPALIVE, 0 on timeout, or SL_EPROTO / SL_ECORRUPT when the
 * stream ends or a message is malformed.
 */
int
cap_pg_repl_next(struct cap_pg_repl *r, int timeout_ms, struct cap_pg_xlog *out,
    struct sl_err *err)
{
	char *buf;
	int n;

	memset(out, 0, sizeof(*out));
	if (r->copybuf) {
		PQfreemem(r->copybuf);
		r->copybuf = NULL;
	}
	for (;;) {
		n = PQgetCopyData(r->conn, &buf, 1);
		if (n > 0)
			break;
		if (n == -1) {
			PGresult *res = PQgetResult(r->conn);
			int rc = sl_errf(err, SL_EPROTO, "postgres: replication stream ended: %s",
			    res ? PQresultErrorMessage(res) : PQerrorMessage(r->conn));

			PQclear(res);
			return rc;
		}
		if (n == -2)
			return pg_conn_error(r->conn, "read replication stream", err);
		/* n == 0: nothing buffered */
		if (r->bursting && getenv("SLUICE_NAP_US") && atoi(getenv("SLUICE_NAP_US")) > 0) {	/* TEMP */
			/* (2) in a burst: let more arrive, then read it all at once */
			struct timespec ts = { 0, atoi(getenv("SLUICE_NAP_US")) * 1000L };	/* TEMP */

			r->bursting = 0;
			nanosleep(&ts, NULL);
			if (!PQconsumeInput(r->conn))
				return pg_conn_error(r->conn, "read replication stream", err);
			continue;
		}
		/* wait for the socket */
		{
			struct pollfd pfd = { PQsocket(r->conn), POLLIN, 0 };
			extern int64_t cap_tmp_poll_ns, cap_tmp_poll_n;	/* TEMP */
			int64_t t0 = sl_mono_ns();
			int pr = poll(&pfd, 1, timeout_ms);
			cap_tmp_poll_ns += sl_mono_ns() - t0; cap_tmp_poll_n++;	/* TEMP */

			if (pr < 0 && errno != EINTR)
				return sl_errf(err, -errno, "poll: %s", strerror(errno));
			if (pr <= 0)
				return 0;
			if (!PQconsumeInput(r->conn))
				return pg_conn_error(r->conn, "read replication stream", err);
			timeout_ms = 0;
		}
	}
	r->copybuf = buf;
	r->bursting = 1;
	if (buf[0] == 'w') {
		if (n < 25)
			return SL_CORRUPT(err, "postgres: XLogData of %d bytes (< 25)", n);
		out->start_lsn = sl_get_be64((uint8_t *)buf + 1);
		out->wal_end = sl_get_be64((uint8_t *)buf + 9);
		out->data = (const uint8_t *)buf + 25;
		out->len = (size_t)n - 25;
		return CAP_PG_XLOG;
	}
	if (buf[0] == 'k') {
		if (n < 18)
			return SL_CORRUPT(err, "postgres: keepalive of %d bytes (< 18)", n);
		out->wal_end = sl_get_be64((uint8_t *)buf + 1);
		out->reply = buf[17] != 0;
		return CAP_PG_KEEPALIVE;
	}
	return SL_CORRUPT(err, "postgres: unknown replication message type 0x%02x", (uint8_t)buf[0]);
}

int
cap_pg_repl_status(struct cap_pg_repl *r, uint64_t write, uint64_t flush, int reply,
    struct sl_err *err)
{
	uint8_t msg[34];
	struct timeval tv;
	int64_t now;

	if (flush < r->flushed)		/* (1) never backwards */
		flush = r->flushed;
	if (write < flush)
		write = flush;
	gettimeofday(&tv, NULL);
	now = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec - PG_EPOCH_OFFSET_US;
	msg[0] = 'r';
	sl_put_be64(msg + 1, write);
	sl_put_be64(msg + 9, flush);
	sl_put_be64(msg + 17, flush);
	sl_put_be64(msg + 25, (uint64_t)now);
	msg[33] = reply ? 1 : 0;
	if (PQputCopyData(r->conn, (const char *)msg, sizeof(msg)) != 1 ||
	    PQflush(r->conn) != 0)
		return pg_conn_error(r->conn, "send standby status", err);
	r->flushed = flush;
	return 0;
}

uint64_t
cap_pg_repl_flushed(const struct cap_pg_repl *r)
{
	return r->flushed;
}

/* Ask the server to end the stream cleanly (CopyDone) and drain. */
void
cap_pg_repl_stop(struct cap_pg_repl *r)
{
	PGresult *res;

	if (PQputCopyEnd(r->conn, NULL) == 1) {
		PQflush(r->conn);
		while ((res = PQgetResult(r->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			PQclear(res);
			if (st == PGRES_COPY_BOTH || st == PGRES_COPY_OUT)
				break;
		}
	}
}
