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
 *  (2) Reading is decoupled from processing: once START_REPLICATION
 *      succeeded, a reader thread drains the socket into a bounded queue
 *      (REPL_Q_MSGS messages, REPL_Q_BYTES bytes) that cap_pg_repl_next()
 *      pops.  The walsender sends each pgoutput message on its own and a
 *      Unix socket stops being writable after a few dozen small sends, so
 *      without it the walsender sat blocked (WalSenderWriteData) whenever
 *      capture was busy encoding, and capture sat in poll() whenever the
 *      walsender was busy decoding.  The queue bounds memory: a full queue
 *      stops the reader, and the walsender waits as before.
 *  (3) libpq is not thread-safe on one connection: every libpq call on
 *      'conn' after the reader started holds 'conn_mu' (the reader's
 *      reads, the status updates, the final CopyDone).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libpq-fe.h>

#include "capture/cap_int.h"

/* µs between 1970-01-01 and 2000-01-01 */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* (2) The reader's queue bounds: messages and payload bytes. */
#define REPL_Q_MSGS 8192
#define REPL_Q_BYTES (8u << 20)
/*
 * With pg_sluice a message is a batch of up to 64 KiB (~450 changes), so
 * the byte bound is what holds; 2 MiB is still ~15,000 changes of slack
 * and keeps capture's memory where it is with pgoutput (a 2,000,000-row
 * transaction peaked at 56 MB with 8 MiB here, test_pg_stream).
 */
#define REPL_Q_BYTES_BATCHES (2u << 20)
/*
 * Wake-ups are batched, or the two threads would trade a context switch
 * per message: the reader wakes a waiting consumer once REPL_Q_WAKE
 * messages are queued, at once when the message is a transaction's end
 * (a commit is what downstream waits for: holding it back would add the
 * batching delay to every lone transaction's latency, see repl_is_end()),
 * or when the socket stayed quiet for 1 ms; the consumer wakes a blocked
 * reader once the queue is half empty.
 */
#define REPL_Q_WAKE 64
/*
 * The reader's nap in a burst: ~40 messages at 200k/s, below the few dozen
 * small sends after which a Unix socket blocks the walsender.
 */
#define REPL_NAP_US 200

/* The session settings sch_pg_parse() expects (schemas/sch.h). */
#define CAP_PG_OPTIONS "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres " \
	"-c bytea_output=hex -c extra_float_digits=1"

struct cap_pg_repl {
	PGconn *conn;
	uint64_t flushed;		/* last flush LSN sent (1) */
	int server_version;
	int sluice;			/* the slot's plugin is pg_sluice */
	size_t q_max_bytes;		/* REPL_Q_BYTES or REPL_Q_BYTES_BATCHES */
	/* the reader thread (2) and its queue, a ring of PQgetCopyData buffers */
	int reader_on;			/* 1: started, not yet joined */
	pthread_t reader;
	pthread_mutex_t conn_mu;	/* (3) */
	pthread_mutex_t q_mu;		/* the fields below */
	pthread_cond_t q_filled;	/* signalled when 'q_n' grows or 'q_end' */
	pthread_cond_t q_room;		/* signalled when 'q_n' shrinks or 'q_stop' */
	struct repl_qmsg {
		char *buf;
		int n;
	} *q;				/* REPL_Q_MSGS slots */
	/*
	 * Slots in ring order: q_nfree consumed ones from q_free that the
	 * reader has yet to free (it allocated them: freeing in the same
	 * thread keeps malloc's per-thread caches warm), the one the
	 * consumer holds (q_inuse), then q_n queued ones from q_head.
	 */
	size_t q_free, q_nfree, q_head, q_n, q_bytes;
	int q_inuse;
	int q_waiting;			/* the consumer sleeps on q_filled */
	int q_full;			/* the reader sleeps on q_room */
	int q_stop;			/* asks the reader to exit */
	int q_end;			/* the reader exited: q_rc, q_msg */
	int q_rc;
	char q_msg[512];
};

/*
 * Every text value, name and COPY row arrives in UTF-8 whatever the
 * database's encoding (the walsender's and COPY's output convert to the
 * client encoding; left alone it is the database's, and a LATIN1
 * database gave events that were not UTF-8).  After the dsn, so it wins.
 */
static PGconn *
pg_connect(const char *dsn, int replication)
{
	const char *keys[] = { "dbname", "options", "client_encoding",
	    "fallback_application_name", replication ? "replication" : NULL, NULL };
	const char *vals[] = { dsn, CAP_PG_OPTIONS, "UTF8", "sluice-capture",
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

/* ------------------------------------------------------ reader thread */

/* The reader's end: record 'rc' and a sentence for the consumer. */
static void
repl_reader_end(struct cap_pg_repl *r, int rc, const char *what, const char *msg)
{
	size_t n;

	pthread_mutex_lock(&r->q_mu);
	r->q_rc = rc;
	snprintf(r->q_msg, sizeof(r->q_msg), "postgres: %s: %s", what, msg ? msg : "?");
	n = strlen(r->q_msg);
	while (n > 0 && (r->q_msg[n - 1] == '\n' || r->q_msg[n - 1] == ' '))
		r->q_msg[--n] = '\0';
	r->q_end = 1;
	pthread_cond_signal(&r->q_filled);
	pthread_mutex_unlock(&r->q_mu);
}

/*
 * Whether CopyData 'buf' of 'n' bytes ends a transaction downstream is
 * waiting for: an XLogData ('w', 25-byte header) carrying a pgoutput
 * Commit ('C'), Stream Commit ('c') or Stream Abort ('A'), or any pg_sluice
 * batch (each is full, or ends at a commit or a lone message), or a
 * keepalive ('k') that asks for a reply.  Only a hint for waking the
 * consumer early; the consumer validates every message itself.
 */
static int
repl_is_end(const struct cap_pg_repl *r, const char *buf, int n)
{
	if (n > 25 && buf[0] == 'w')
		return r->sluice || buf[25] == 'C' || buf[25] == 'c' || buf[25] == 'A';
	return n >= 18 && buf[0] == 'k' && buf[17] != 0;
}

/*
 * PQconsumeInput() with 'conn_mu' held (3).  On failure end the reader with
 * libpq's message and release 'conn_mu'; -1 then tells the reader to return.
 */
static int
repl_consume(struct cap_pg_repl *r)
{
	char m[400];

	if (PQconsumeInput(r->conn))
		return 0;
	snprintf(m, sizeof(m), "%s", PQerrorMessage(r->conn));
	pthread_mutex_unlock(&r->conn_mu);
	repl_reader_end(r, SL_EPROTO, "read replication stream", m);
	return -1;
}

/* (2) Drain the socket into the queue until told to stop or the stream ends. */
static void *
repl_reader_main(void *arg)
{
	struct cap_pg_repl *r = arg;
	char *buf;
	int n, bursting = 0;

	for (;;) {
		size_t first, k, i;

		pthread_mutex_lock(&r->q_mu);
		for (;;) {
			if (r->q_stop) {
				pthread_mutex_unlock(&r->q_mu);
				return NULL;
			}
			if (r->q_nfree > 0 || (r->q_n + (size_t)r->q_inuse < REPL_Q_MSGS &&
			    r->q_bytes < r->q_max_bytes))
				break;
			r->q_full = 1;
			pthread_cond_wait(&r->q_room, &r->q_mu);
			r->q_full = 0;
		}
		first = r->q_free;
		k = r->q_nfree;
		r->q_free = (first + k) % REPL_Q_MSGS;
		r->q_nfree = 0;
		pthread_mutex_unlock(&r->q_mu);
		if (k > 0) {
			for (i = 0; i < k; i++)
				PQfreemem(r->q[(first + i) % REPL_Q_MSGS].buf);
			continue;	/* check for room again */
		}
		pthread_mutex_lock(&r->conn_mu);	/* (3) */
		n = PQgetCopyData(r->conn, &buf, 1);
		if (n == 0) {
			/*
			 * libpq's buffer is used up, which says nothing of the
			 * socket: PQconsumeInput() reads at most ~16 KB.  Read
			 * again before napping, so each wake-up drains the
			 * socket and not just one buffer's worth (napping after
			 * every 16 KB capped the stream near 100k messages/s
			 * while the walsender sat blocked in WalSenderWriteData).
			 */
			if (repl_consume(r) != 0)
				return NULL;
			n = PQgetCopyData(r->conn, &buf, 1);
		}
		if (n == 0 && bursting) {
			/*
			 * The walsender sends each message on its own: waking
			 * in poll() for every one would cost a context switch
			 * per message on both sides.  In a burst, nap and then
			 * take what accumulated at once (REPL_NAP_US).
			 */
			struct timespec ts = { 0, REPL_NAP_US * 1000L };

			pthread_mutex_unlock(&r->conn_mu);
			bursting = 0;
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&r->conn_mu);
			if (repl_consume(r) != 0)
				return NULL;
			pthread_mutex_unlock(&r->conn_mu);
			continue;
		}
		if (n == 0) {
			struct pollfd pfd = { PQsocket(r->conn), POLLIN, 0 };
			int pending, pr;

			pthread_mutex_unlock(&r->conn_mu);
			pthread_mutex_lock(&r->q_mu);
			pending = r->q_n > 0;
			pthread_mutex_unlock(&r->q_mu);
			/*
			 * Short timeouts: q_stop is checked between waits, and a
			 * queue short of REPL_Q_WAKE is handed over after 1 ms
			 * without new data.
			 */
			pr = poll(&pfd, 1, pending ? 1 : 100);
			if (pr < 0 && errno != EINTR) {
				repl_reader_end(r, -errno, "poll", strerror(errno));
				return NULL;
			}
			if (pr == 0 && pending) {
				pthread_mutex_lock(&r->q_mu);
				if (r->q_waiting && r->q_n > 0)
					pthread_cond_signal(&r->q_filled);
				pthread_mutex_unlock(&r->q_mu);
			}
			pthread_mutex_lock(&r->conn_mu);
			if (repl_consume(r) != 0)
				return NULL;
			pthread_mutex_unlock(&r->conn_mu);
			continue;
		}
		if (n < 0) {
			char m[400];

			if (n == -1) {
				PGresult *res = PQgetResult(r->conn);

				snprintf(m, sizeof(m), "%s", res ? PQresultErrorMessage(res) :
				    PQerrorMessage(r->conn));
				PQclear(res);
			} else {
				snprintf(m, sizeof(m), "%s", PQerrorMessage(r->conn));
			}
			pthread_mutex_unlock(&r->conn_mu);
			repl_reader_end(r, SL_EPROTO, n == -1 ? "replication stream ended" :
			    "read replication stream", m);
			return NULL;
		}
		pthread_mutex_unlock(&r->conn_mu);
		bursting = 1;
		pthread_mutex_lock(&r->q_mu);
		r->q[(r->q_head + r->q_n) % REPL_Q_MSGS].buf = buf;
		r->q[(r->q_head + r->q_n) % REPL_Q_MSGS].n = n;
		r->q_n++;
		r->q_bytes += (size_t)n;
		if (r->q_waiting && (r->q_n >= REPL_Q_WAKE || repl_is_end(r, buf, n)))
			pthread_cond_signal(&r->q_filled);
		pthread_mutex_unlock(&r->q_mu);
	}
}

static int
repl_reader_start(struct cap_pg_repl *r, struct sl_err *err)
{
	pthread_condattr_t ca;
	int e;

	r->q = sl_calloc(REPL_Q_MSGS, sizeof(*r->q));
	pthread_mutex_init(&r->conn_mu, NULL);
	pthread_mutex_init(&r->q_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->q_filled, &ca);
	pthread_cond_init(&r->q_room, &ca);
	pthread_condattr_destroy(&ca);
	if ((e = pthread_create(&r->reader, NULL, repl_reader_main, r)) != 0) {
		pthread_cond_destroy(&r->q_filled);
		pthread_cond_destroy(&r->q_room);
		pthread_mutex_destroy(&r->conn_mu);
		pthread_mutex_destroy(&r->q_mu);
		free(r->q);
		r->q = NULL;
		return sl_errf(err, -e, "replication reader thread: %s", strerror(e));
	}
	r->reader_on = 1;
	return 0;
}

/* Stop and join the reader; free what it queued.  No-op if not running. */
static void
repl_reader_stop(struct cap_pg_repl *r)
{
	size_t k;

	if (!r->reader_on)
		return;
	pthread_mutex_lock(&r->q_mu);
	r->q_stop = 1;
	pthread_cond_signal(&r->q_room);
	pthread_mutex_unlock(&r->q_mu);
	pthread_join(r->reader, NULL);
	r->reader_on = 0;
	/* released, held and queued slots, all in ring order from q_free */
	for (k = 0; k < r->q_nfree + (size_t)r->q_inuse + r->q_n; k++)
		PQfreemem(r->q[(r->q_free + k) % REPL_Q_MSGS].buf);
	r->q_nfree = r->q_n = 0;
	r->q_inuse = 0;
	free(r->q);
	r->q = NULL;
	pthread_cond_destroy(&r->q_filled);
	pthread_cond_destroy(&r->q_room);
	pthread_mutex_destroy(&r->conn_mu);
	pthread_mutex_destroy(&r->q_mu);
}

void
cap_pg_repl_close(struct cap_pg_repl *r)
{
	if (r == NULL)
		return;
	repl_reader_stop(r);
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
cap_pg_slot_create(struct cap_pg_repl *r, const char *slot, const char *plugin,
    int export_snapshot, uint64_t *consistent, char **snapshot_name, struct sl_err *err)
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
		sql = sl_asprintf("CREATE_REPLICATION_SLOT %s LOGICAL %s (SNAPSHOT '%s')",
		    ident, plugin, export_snapshot ? "export" : "nothing");
	else
		sql = sl_asprintf("CREATE_REPLICATION_SLOT %s LOGICAL %s %s",
		    ident, plugin, export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
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
    uint64_t start, int proto, int streaming, int messages, int sluice, struct sl_err *err)
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
	/* pg_sluice takes the same options but never streams (contrib/pg_sluice) */
	sql = sl_asprintf("START_REPLICATION SLOT %s LOGICAL %s (proto_version '%d', "
	    "publication_names %s%s%s)", ident, cap_lsn_fmt(start, lb, sizeof(lb)), proto,
	    pub, streaming && !sluice ? ", streaming 'on'" : "",
	    messages || sluice ? ", messages 'true'" : "");
	PQfreemem(ident);
	PQfreemem(pub);
	res = PQexec(r->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_BOTH)
		rc = sl_errf(err, SL_EPROTO, "postgres: %s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	free(sql);
	r->flushed = start;
	r->sluice = sluice;
	r->q_max_bytes = sluice ? REPL_Q_BYTES_BATCHES : REPL_Q_BYTES;
	if (rc == 0)
		rc = repl_reader_start(r, err);		/* (2) */
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
	struct timespec until;
	char *buf;
	int n;

	memset(out, 0, sizeof(*out));
	if (!r->reader_on)
		return sl_errf(err, SL_ESTATE, "postgres: replication not started");
	pthread_mutex_lock(&r->q_mu);
	if (r->q_inuse) {		/* the last payload returned is no longer ours */
		r->q_nfree++;
		r->q_inuse = 0;
	}
	/* the deadline only when there is nothing to take: a clock read per message saved */
	if (r->q_n == 0 && !r->q_end) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	while (r->q_n == 0 && !r->q_end) {
		int e;

		r->q_waiting = 1;
		e = pthread_cond_timedwait(&r->q_filled, &r->q_mu, &until);
		r->q_waiting = 0;
		if (e == ETIMEDOUT && r->q_n == 0 && !r->q_end) {
			pthread_mutex_unlock(&r->q_mu);
			return 0;
		}
	}
	if (r->q_n == 0) {		/* the reader ended, everything before consumed */
		int rc = sl_errf(err, r->q_rc, "%s", r->q_msg);

		pthread_mutex_unlock(&r->q_mu);
		return rc;
	}
	buf = r->q[r->q_head].buf;
	n = r->q[r->q_head].n;
	r->q_head = (r->q_head + 1) % REPL_Q_MSGS;
	r->q_n--;
	r->q_inuse = 1;
	r->q_bytes -= (size_t)n;
	if (r->q_full && r->q_n <= REPL_Q_MSGS / 2 && r->q_bytes <= r->q_max_bytes / 2)
		pthread_cond_signal(&r->q_room);
	pthread_mutex_unlock(&r->q_mu);
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
	int rc = 0;

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
	if (r->reader_on)
		pthread_mutex_lock(&r->conn_mu);	/* (3) */
	if (PQputCopyData(r->conn, (const char *)msg, sizeof(msg)) != 1 ||
	    PQflush(r->conn) != 0)
		rc = pg_conn_error(r->conn, "send standby status", err);
	if (r->reader_on)
		pthread_mutex_unlock(&r->conn_mu);
	if (rc == 0)
		r->flushed = flush;
	return rc;
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

	repl_reader_stop(r);		/* the connection is ours alone again (3) */
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
