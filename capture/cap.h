/*
 * capture/cap.h: the one public header of the capture module.
 *
 * `sluice capture` runs one [source "NAME"] of a configuration file: it
 * streams the committed row changes of a database into Kafka topics.  This
 * header is what cli/ needs: the keys a postgres source accepts and the
 * run loop.  libpq and librdkafka stay inside the capture sources; the decoder,
 * replication connection and producer are in capture/cap_int.h.
 */
#ifndef CAP_H
#define CAP_H

#include <signal.h>
#include <stdint.h>

#include "common/sl.h"

/*
 * The keys of a [source "NAME"] section with type = postgres, NULL
 * terminated; a key ending in '.' accepts any key with that prefix
 * ("producer." for librdkafka options).  Documented in docs/config.md.
 */
extern const char *const cap_pg_conf_keys[];

/*
 * Run the postgres source 'sec' of 'cfg' until '*stop' becomes non-zero
 * (then flush, confirm what was acknowledged and return 0) or a failure.
 * 'bootstrap_default' is used when the section has no bootstrap (the
 * [broker] listen address of the same file), may be NULL.  Returns 0,
 * SL_ECONFIG for a configuration error (exit status 2), or another code
 * with 'err' set for a runtime failure (exit status 3).
 */
int cap_pg_run(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, volatile sig_atomic_t *stop, struct sl_err *err);

/* What `sluice status` shows of a postgres source (cap_pg_status). */
struct cap_pg_status {
	char slot[64];
	char topic_prefix[128];
	int exists;			/* the slot exists */
	int active;			/* a client (capture) is streaming from it */
	char wal_status[16];		/* reserved, extended, unreserved, lost or "" */
	uint64_t confirmed_flush;	/* LSN the slot confirmed */
	uint64_t current_lsn;		/* the server's pg_current_wal_lsn() */
	char plugin[64];		/* the slot's output plugin */
	char want_plugin[64];		/* the source's: capture refuses a mismatch */
};

/*
 * Connect to the database of postgres source 'sec' of 'cfg' over a plain
 * connection, not a replication one, and read its slot's state into 'out'
 * ('bootstrap_default' as for cap_pg_run: the section must parse as it
 * would for capture).
 * Returns 0 (also when the slot does not exist: out->exists = 0),
 * SL_ECONFIG for a configuration error, or another code with 'err' set
 * when the server cannot be reached or queried.
 */
int cap_pg_status(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, struct cap_pg_status *out, struct sl_err *err);

/*
 * The keys of a [source "NAME"] section with type = mysql (MySQL or
 * MariaDB binlog capture; docs/capture-mysql.md), NULL terminated.
 */
extern const char *const cap_my_conf_keys[];

/* Run the mysql source 'sec' of 'cfg': as cap_pg_run. */
int cap_my_run(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, volatile sig_atomic_t *stop, struct sl_err *err);

/* What `sluice status` shows of a mysql source. */
struct cap_my_status {
	char topic_prefix[128];
	int stored;			/* <prefix>.offsets holds a position */
	char stored_file[256];
	uint32_t stored_pos;
	char gtid[64];			/* of the last stored transaction, or "" */
	char server_file[256];		/* the server's SHOW MASTER STATUS */
	uint32_t server_pos;
};

/*
 * Read the stored position of mysql source 'sec' (without creating any
 * topic) and the server's current binlog position.  Returns 0 (also when
 * nothing is stored: out->stored = 0), SL_ECONFIG, or another code with
 * 'err' set when the server or the broker cannot be reached.
 */
int cap_my_status(const struct sl_config *cfg, const struct sl_conf_section *sec,
    const char *bootstrap_default, struct cap_my_status *out, struct sl_err *err);

#endif /* CAP_H */
