/*
 * broker/brk.h: the public API of the broker module, used by `sluice broker`.
 *
 * A broker serves the Kafka wire protocol (non-flexible versions, DESIGN.md
 * section 3.1) over the partitions of log/, plus /metrics and /health over
 * HTTP.  It runs one libevent loop on the calling thread and one background
 * thread for compaction.  Not here: command-line parsing (cli/broker_cmd.c)
 * and the group coordinator (broker/group.h).
 */
#ifndef BRK_H
#define BRK_H

#include <stdint.h>

#include "common/sl.h"
#include "log/lg.h"

/* Everything `[broker]` configures; docs/config.md documents each key. */
struct brk_config {
	char *listen;			/* "host:port" of the Kafka listener */
	char *http;			/* "host:port" of /metrics, or NULL: none */
	char *data_dir;			/* partition folders, topic configs */
	char *advertised;		/* "host[:port]" told to clients, or NULL */
	int32_t node_id;		/* this broker's id (0) */
	int auto_create_topics;		/* Metadata creates unknown topics (0) */
	int32_t default_partitions;	/* partitions of auto-created topics (1) */
	struct lg_options log;		/* defaults of new topics */
	int64_t max_request_bytes;	/* largest request frame (100 MiB) */
	int64_t max_connections;	/* open Kafka connections (1024) */
	int64_t idle_timeout_ms;	/* close a silent connection (600000) */
	int64_t retention_check_ms;	/* retention timer period (30000) */
	int64_t compaction_check_ms;	/* compaction thread period (15000) */
	int64_t commit_delay_us;	/* group commit delay under load (500) */
};

/* Fill 'c' with the defaults; strings are heap copies. */
void brk_config_default(struct brk_config *c);

/*
 * Apply the [broker] section of 'cfg' (may be NULL: nothing to apply) over
 * 'c'.  Unknown keys and bad values are SL_ECONFIG naming the file and line.
 */
int brk_config_apply(struct brk_config *c, const struct sl_config *cfg,
    struct sl_err *err);

/* Replace the string '*field' with a copy of 'value'. */
void brk_config_set(char **field, const char *value);

void brk_config_free(struct brk_config *c);

struct brk_broker;

/*
 * Open the data directory (creating it), load every topic and its
 * partitions, open the group coordinator, bind the listeners and start the
 * compaction thread.  'c' is copied.  Returns 0, -errno, SL_ECONFIG (a bad
 * address) or SL_ECORRUPT (a topic file or partition cannot be read).
 */
int brk_open(const struct brk_config *c, struct brk_broker **out,
    struct sl_err *err);

/* The Kafka port actually bound (useful with port 0), or -1 without one. */
int brk_port(const struct brk_broker *b);
/* The HTTP port actually bound, or -1. */
int brk_http_port(const struct brk_broker *b);

/*
 * Serve until SIGTERM or SIGINT (or brk_stop).  Returns 0 or -errno.
 */
int brk_run(struct brk_broker *b);

/* Make brk_run return after the current callback; loop thread only. */
void brk_stop(struct brk_broker *b);

/*
 * Close every connection, sync and checkpoint every partition (clean
 * shutdown marker), stop the compaction thread and free.  Returns 0 or the
 * first -errno of a partition close.  NULL does nothing.
 */
int brk_close(struct brk_broker *b);

#endif /* BRK_H */
