/*
 * contrib/pg_sluice/pg_sluice.c: sluice's logical decoding output plugin.
 *
 * pgoutput, PostgreSQL's own plugin, hands the walsender one message per
 * change, and the walsender sends each on its own: one socket send, one
 * wake-up of the client and one poll for replies per row (docs/benchmarks.md,
 * pg_capture, seventh session: the walsender is mostly system calls).
 * pg_sluice writes the same logical replication messages (PostgreSQL's own
 * logicalrep_write_* functions, so every value is encoded exactly as
 * pgoutput encodes it) but packs many of them into one CopyData message.
 *
 * BATCH (the payload of one XLogData message)
 *   OFFSET SIZE DESCRIPTION
 *        0    8 LSN of the first message: what pgoutput would have put in
 *               its own XLogData header (the change's LSN; the first LSN
 *               of the transaction for Begin, its end LSN for Commit)
 *        8    4 length n of the first message (network order, > 0)
 *       12    n a logical replication protocol message (Begin, Relation,
 *               Type, Insert, Update, Delete, Truncate, Message, Commit),
 *               as pgoutput proto_version 1 writes it
 *     12+n      the next message's LSN, length and bytes ... to the end
 *
 * A batch is written when it reaches batch_bytes (the 'batch_bytes'
 * option, default 65536), at every commit, and for each non-transactional
 * message.  A transaction spans one or more batches; its Commit is the last
 * message of the last one.  Every batch is written as pgoutput writes each
 * message, as a "last write": its XLogData header carries the LSN of the
 * callback that flushed it (the walsender sends 0 for any other).
 *
 * Options (START_REPLICATION ... LOGICAL lsn (name 'value', ...)):
 *   proto_version      '1' or '2' (both give the proto 1 messages above;
 *                      pg_sluice never streams in-progress transactions:
 *                      the server spills large ones to disk instead)
 *   publication_names  comma-separated, required; which tables and which
 *                      actions, as for pgoutput.  Row filters, column lists
 *                      and publish_via_partition_root are refused.
 *   messages           'true' to pass pg_logical_emit_message() messages
 *   batch_bytes        flush threshold, 0 for one message per batch
 * Any other option is an error naming it.
 *
 * Transactions that change no published table write nothing (as pgoutput
 * since PostgreSQL 15), and report progress so that the slot moves.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/tupdesc.h"
#include "catalog/partition.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_publication_rel.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "replication/logical.h"
#include "replication/logicalproto.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

PG_MODULE_MAGIC;

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);

#define DEFAULT_BATCH_BYTES 65536
/* a batch buffer larger than this is freed after its flush */
#define BATCH_KEEP_BYTES (8 * 1024 * 1024)
/* changes skipped in a row before progress is reported (as pgoutput does) */
#define SKIPPED_PROGRESS_EVERY 100

struct sluice_data {
	MemoryContext change_cx;	/* reset after every change */
	MemoryContext cache_cx;		/* publications, slots */
	List	   *pub_names;
	List	   *pubs;			/* Publication *, loaded lazily */
	bool		messages;
	int			batch_bytes;
	StringInfoData batch;		/* the batch being filled */
	int			msg_start;		/* offset of the open message's length */
	bool		begin_sent;		/* Begin of the current transaction written */
	int			skipped;		/* changes skipped since progress was reported */
};

struct rel_entry {
	Oid			relid;			/* hash key */
	bool		valid;			/* publish and acts are current */
	bool		publish;
	PublicationActions acts;
	bool		schema_sent;	/* Relation (and Types) written this session */
	TupleTableSlot *old_slot, *new_slot;
};

/* the relation cache and the publications' validity, for the callbacks */
static HTAB *rel_cache;
static bool pubs_valid;
static bool callbacks_registered;

/* ------------------------------------------------------------ batching */

/* Open a message at 'lsn' (mostly ctx->write_location: the callback's). */
static void
msg_open(struct sluice_data *d, XLogRecPtr lsn)
{
	unsigned char b[8];
	int			i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char) (lsn >> (56 - 8 * i));
	appendBinaryStringInfo(&d->batch, (char *) b, 8);
	d->msg_start = d->batch.len;
	appendBinaryStringInfo(&d->batch, "\0\0\0\0", 4);
}

static void
msg_close(struct sluice_data *d)
{
	uint32		n = (uint32) (d->batch.len - d->msg_start - 4);
	unsigned char *p = (unsigned char *) d->batch.data + d->msg_start;

	p[0] = (unsigned char) (n >> 24);
	p[1] = (unsigned char) (n >> 16);
	p[2] = (unsigned char) (n >> 8);
	p[3] = (unsigned char) n;
}

static void
batch_flush(LogicalDecodingContext *ctx, struct sluice_data *d)
{
	if (d->batch.len == 0)
		return;
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, d->batch.data, d->batch.len);
	OutputPluginWrite(ctx, true);
	if (d->batch.maxlen > Max(BATCH_KEEP_BYTES, 2 * d->batch_bytes)) {
		/* one huge value made it grow: give the memory back */
		pfree(d->batch.data);
		d->batch.data = MemoryContextAlloc(ctx->context, 1024);
		d->batch.maxlen = 1024;
	}
	resetStringInfo(&d->batch);
}

static void
batch_maybe_flush(LogicalDecodingContext *ctx, struct sluice_data *d)
{
	if (d->batch.len >= d->batch_bytes)
		batch_flush(ctx, d);
}

/* ------------------------------------------------------------- options */

static void
parse_options(struct sluice_data *d, List *options)
{
	ListCell   *lc;
	bool		have_pubs = false;

	d->messages = false;
	d->batch_bytes = DEFAULT_BATCH_BYTES;
	foreach(lc, options) {
		DefElem    *e = lfirst(lc);

		if (strcmp(e->defname, "proto_version") == 0) {
			char	   *v = defGetString(e);

			if (strcmp(v, "1") != 0 && strcmp(v, "2") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pg_sluice: proto_version \"%s\" is not supported (1 or 2)", v)));
		} else if (strcmp(e->defname, "publication_names") == 0) {
			char	   *v = pstrdup(defGetString(e));

			if (!SplitIdentifierString(v, ',', &d->pub_names))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_NAME),
						 errmsg("pg_sluice: invalid publication_names \"%s\"", defGetString(e))));
			have_pubs = true;
		} else if (strcmp(e->defname, "messages") == 0) {
			d->messages = defGetBoolean(e);
		} else if (strcmp(e->defname, "batch_bytes") == 0) {
			char	   *v = defGetString(e);
			int			n = pg_strtoint32(v);

			if (n < 0 || n > 64 * 1024 * 1024)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("pg_sluice: batch_bytes %d is out of range (0 to 67108864)", n)));
			d->batch_bytes = n;
		} else {
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pg_sluice: unknown option \"%s\"", e->defname),
					 errhint("pg_sluice takes proto_version, publication_names, messages and batch_bytes.")));
		}
	}
	if (!have_pubs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_sluice: option publication_names is required")));
}

/* ------------------------------------------------ relations and publications */

static void
rel_inval_cb(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS st;
	struct rel_entry *e;

	if (rel_cache == NULL)
		return;
	if (OidIsValid(relid)) {
		e = hash_search(rel_cache, &relid, HASH_FIND, NULL);
		if (e) {
			e->valid = false;
			e->schema_sent = false;
		}
		return;
	}
	hash_seq_init(&st, rel_cache);
	while ((e = hash_seq_search(&st)) != NULL) {
		e->valid = false;
		e->schema_sent = false;
	}
}

static void
pub_inval_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS st;
	struct rel_entry *e;

	if (cacheid == PUBLICATIONOID)
		pubs_valid = false;
	if (rel_cache == NULL)
		return;
	hash_seq_init(&st, rel_cache);
	while ((e = hash_seq_search(&st)) != NULL)
		e->valid = false;
}

static void
load_publications(struct sluice_data *d)
{
	ListCell   *lc;
	MemoryContext old;

	MemoryContextReset(d->cache_cx);	/* also the slots: drop them first */
	d->pubs = NIL;
	old = MemoryContextSwitchTo(d->cache_cx);
	foreach(lc, d->pub_names)
		d->pubs = lappend(d->pubs, GetPublicationByName(lfirst(lc), false));
	MemoryContextSwitchTo(old);
	pubs_valid = true;
}

static void
drop_slot(TupleTableSlot **slot)
{
	if (*slot) {
		TupleDesc	desc = (*slot)->tts_tupleDescriptor;

		ExecDropSingleTupleTableSlot(*slot);
		FreeTupleDesc(desc);
		*slot = NULL;
	}
}

/* Refuse what pg_sluice cannot honour, naming the table and publication. */
static void
check_pub_rel(Publication *pub, Oid relid, Oid owner)
{
	HeapTuple	tup;
	bool		isnull;

	tup = SearchSysCache2(PUBLICATIONRELMAP, ObjectIdGetDatum(owner),
						  ObjectIdGetDatum(pub->oid));
	if (!HeapTupleIsValid(tup))
		return;
	(void) SysCacheGetAttr(PUBLICATIONRELMAP, tup, Anum_pg_publication_rel_prqual, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_sluice: publication \"%s\" has a row filter for table \"%s\"",
						pub->name, get_rel_name(relid)),
				 errhint("Use the pgoutput plugin, or a publication without row filters.")));
	(void) SysCacheGetAttr(PUBLICATIONRELMAP, tup, Anum_pg_publication_rel_prattrs, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_sluice: publication \"%s\" has a column list for table \"%s\"",
						pub->name, get_rel_name(relid)),
				 errhint("Use the pgoutput plugin, or a publication without column lists.")));
	ReleaseSysCache(tup);
}

static struct rel_entry *
rel_entry_get(struct sluice_data *d, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	struct rel_entry *e;
	bool		found;
	List	  **rel_pubs, **schema_pubs, *owners;
	int			n_owners;
	ListCell   *lc, *lo;
	MemoryContext old;

	e = hash_search(rel_cache, &relid, HASH_ENTER, &found);
	if (!found) {
		e->valid = false;
		e->schema_sent = false;
		e->old_slot = e->new_slot = NULL;
	}
	if (e->valid)
		return e;

	if (!pubs_valid) {
		/* the slots live in cache_cx too: forget every one first */
		HASH_SEQ_STATUS st;
		struct rel_entry *x;

		hash_seq_init(&st, rel_cache);
		while ((x = hash_seq_search(&st)) != NULL) {
			drop_slot(&x->old_slot);
			drop_slot(&x->new_slot);
			x->valid = false;
		}
		load_publications(d);
	}
	drop_slot(&e->old_slot);
	drop_slot(&e->new_slot);

	e->publish = false;
	memset(&e->acts, 0, sizeof(e->acts));
	/*
	 * A partitioned table has no changes of its own, and without
	 * publish_via_partition_root (refused below) pgoutput leaves it out of
	 * Truncate messages too: its partitions are listed instead.
	 */
	if (is_publishable_relation(rel) && rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE) {
		/* the table itself and, for a partition, every ancestor */
		owners = list_make1_oid(relid);
		if (rel->rd_rel->relispartition)
			owners = list_concat(owners, get_partition_ancestors(relid));
		n_owners = list_length(owners);
		rel_pubs = palloc(n_owners * sizeof(List *));
		schema_pubs = palloc(n_owners * sizeof(List *));
		foreach(lo, owners) {
			Oid			owner = lfirst_oid(lo);

			rel_pubs[foreach_current_index(lo)] = GetRelationPublications(owner);
			schema_pubs[foreach_current_index(lo)] =
				GetSchemaPublications(get_rel_namespace(owner));
		}
		foreach(lc, d->pubs) {
			Publication *pub = lfirst(lc);
			bool		hit = pub->alltables;

			foreach(lo, owners) {
				int			i = foreach_current_index(lo);

				if (list_member_oid(rel_pubs[i], pub->oid) ||
					list_member_oid(schema_pubs[i], pub->oid)) {
					hit = true;
					check_pub_rel(pub, relid, lfirst_oid(lo));
				}
			}
			if (!hit)
				continue;
			if (pub->pubviaroot && rel->rd_rel->relispartition)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("pg_sluice: publication \"%s\" publishes partition \"%s\" via its root",
								pub->name, RelationGetRelationName(rel)),
						 errhint("Use the pgoutput plugin, or publish_via_partition_root = false.")));
			e->publish = true;
			e->acts.pubinsert |= pub->pubactions.pubinsert;
			e->acts.pubupdate |= pub->pubactions.pubupdate;
			e->acts.pubdelete |= pub->pubactions.pubdelete;
			e->acts.pubtruncate |= pub->pubactions.pubtruncate;
		}
	}
	if (e->publish) {
		/* copies, not the relcache's descriptor: no pin across transactions */
		old = MemoryContextSwitchTo(d->cache_cx);
		e->old_slot = MakeSingleTupleTableSlot(CreateTupleDescCopyConstr(RelationGetDescr(rel)),
											   &TTSOpsHeapTuple);
		e->new_slot = MakeSingleTupleTableSlot(CreateTupleDescCopyConstr(RelationGetDescr(rel)),
											   &TTSOpsHeapTuple);
		MemoryContextSwitchTo(old);
	}
	e->valid = true;
	return e;
}

/* ------------------------------------------------------------ messages */

static void
send_begin(struct sluice_data *d, ReorderBufferTXN *txn)
{
	if (d->begin_sent)
		return;
	msg_open(d, txn->first_lsn);
	logicalrep_write_begin(&d->batch, txn);
	msg_close(d);
	d->begin_sent = true;
}

/* Relation (with Type messages for its non-built-in types) once per session and change. */
static void
send_schema(LogicalDecodingContext *ctx, struct sluice_data *d, struct rel_entry *e,
			Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (e->schema_sent)
		return;
	for (i = 0; i < desc->natts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attgenerated)
			continue;
		if (att->atttypid < FirstGenbkiObjectId)
			continue;
		msg_open(d, ctx->write_location);
		logicalrep_write_typ(&d->batch, InvalidTransactionId, att->atttypid);
		msg_close(d);
	}
	msg_open(d, ctx->write_location);
	logicalrep_write_rel(&d->batch, InvalidTransactionId, rel, NULL);
	msg_close(d);
	e->schema_sent = true;
}

/* ----------------------------------------------------------- callbacks */

/*
 * The decoding context's memory (and rel_cache in it) goes away without
 * shutdown_cb when decoding fails with an ERROR in an ordinary backend
 * (pg_logical_slot_get_changes); the invalidation callbacks, registered for
 * the backend's life, must not reach it afterwards.
 */
static void
cache_gone_cb(void *arg)
{
	rel_cache = NULL;
}

static void
sluice_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->context);
	struct sluice_data *d = palloc0(sizeof(*d));
	HASHCTL		hc;
	MemoryContextCallback *gone;

	d->change_cx = AllocSetContextCreate(ctx->context, "pg_sluice change",
										 ALLOCSET_DEFAULT_SIZES);
	d->cache_cx = AllocSetContextCreate(ctx->context, "pg_sluice cache",
										ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&d->batch);	/* in ctx->context: batch_flush may replace it */
	MemoryContextSwitchTo(old);
	ctx->output_plugin_private = d;
	opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;
	if (is_init)
		return;					/* slot creation: no options */
	parse_options(d, ctx->output_plugin_options);

	memset(&hc, 0, sizeof(hc));
	hc.keysize = sizeof(Oid);
	hc.entrysize = sizeof(struct rel_entry);
	hc.hcxt = ctx->context;
	rel_cache = hash_create("pg_sluice relations", 128, &hc,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	gone = MemoryContextAlloc(ctx->context, sizeof(*gone));
	gone->func = cache_gone_cb;
	gone->arg = NULL;
	MemoryContextRegisterResetCallback(ctx->context, gone);
	pubs_valid = false;
	if (!callbacks_registered) {
		CacheRegisterRelcacheCallback(rel_inval_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(PUBLICATIONOID, pub_inval_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(PUBLICATIONRELMAP, pub_inval_cb, (Datum) 0);
		CacheRegisterSyscacheCallback(PUBLICATIONNAMESPACEMAP, pub_inval_cb, (Datum) 0);
		callbacks_registered = true;
	}
}

static void
sluice_shutdown(LogicalDecodingContext *ctx)
{
	rel_cache = NULL;			/* lives in ctx->context, freed with it */
}

static void
sluice_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	struct sluice_data *d = ctx->output_plugin_private;

	/* written with the first published change (send_begin) */
	d->begin_sent = false;
	resetStringInfo(&d->batch);
}

static void
sluice_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
	struct sluice_data *d = ctx->output_plugin_private;

	if (!d->begin_sent) {
		/* nothing published: no output, but let the slot move */
		OutputPluginUpdateProgress(ctx, true);
		return;
	}
	OutputPluginUpdateProgress(ctx, false);
	msg_open(d, ctx->write_location);
	logicalrep_write_commit(&d->batch, txn, commit_lsn);
	msg_close(d);
	batch_flush(ctx, d);
	d->begin_sent = false;
}

static void
sluice_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
			  ReorderBufferChange *change)
{
	struct sluice_data *d = ctx->output_plugin_private;
	MemoryContext old = MemoryContextSwitchTo(d->change_cx);
	struct rel_entry *e = rel_entry_get(d, rel);
	HeapTuple	oldtup = NULL, newtup = NULL;
	bool		want;

	switch (change->action) {
	case REORDER_BUFFER_CHANGE_INSERT:
		want = e->publish && e->acts.pubinsert;
		break;
	case REORDER_BUFFER_CHANGE_UPDATE:
		want = e->publish && e->acts.pubupdate;
		break;
	case REORDER_BUFFER_CHANGE_DELETE:
		want = e->publish && e->acts.pubdelete;
		if (want && change->data.tp.oldtuple == NULL) {
			/* REPLICA IDENTITY NOTHING: no key to say which row went */
			elog(DEBUG1, "pg_sluice: delete from \"%s\" without an old key, skipped",
				 RelationGetRelationName(rel));
			want = false;
		}
		break;
	default:
		want = false;
		break;
	}
	if (!want) {
		MemoryContextSwitchTo(old);
		MemoryContextReset(d->change_cx);
		/* a long run of unpublished changes: let the walsender keep the
		 * connection alive and its progress tracking current */
		if (++d->skipped >= SKIPPED_PROGRESS_EVERY) {
			d->skipped = 0;
			OutputPluginUpdateProgress(ctx, false);
		}
		return;
	}
	if (change->data.tp.oldtuple)
		oldtup = &change->data.tp.oldtuple->tuple;
	if (change->data.tp.newtuple)
		newtup = &change->data.tp.newtuple->tuple;

	send_begin(d, txn);
	send_schema(ctx, d, e, rel);
	msg_open(d, ctx->write_location);
	switch (change->action) {
	case REORDER_BUFFER_CHANGE_INSERT:
		ExecStoreHeapTuple(newtup, e->new_slot, false);
		logicalrep_write_insert(&d->batch, InvalidTransactionId, rel, e->new_slot,
								false, NULL);
		break;
	case REORDER_BUFFER_CHANGE_UPDATE:
		if (oldtup)
			ExecStoreHeapTuple(oldtup, e->old_slot, false);
		ExecStoreHeapTuple(newtup, e->new_slot, false);
		logicalrep_write_update(&d->batch, InvalidTransactionId, rel,
								oldtup ? e->old_slot : NULL, e->new_slot, false, NULL);
		break;
	default:
		ExecStoreHeapTuple(oldtup, e->old_slot, false);
		logicalrep_write_delete(&d->batch, InvalidTransactionId, rel, e->old_slot,
								false, NULL);
		break;
	}
	msg_close(d);
	ExecClearTuple(e->old_slot);
	ExecClearTuple(e->new_slot);
	MemoryContextSwitchTo(old);
	MemoryContextReset(d->change_cx);
	batch_maybe_flush(ctx, d);
}

static void
sluice_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, int nrelations,
				Relation relations[], ReorderBufferChange *change)
{
	struct sluice_data *d = ctx->output_plugin_private;
	MemoryContext old = MemoryContextSwitchTo(d->change_cx);
	Oid		   *relids = palloc(nrelations * sizeof(Oid));
	int			i, n = 0;

	for (i = 0; i < nrelations; i++) {
		struct rel_entry *e = rel_entry_get(d, relations[i]);

		if (!e->publish || !e->acts.pubtruncate)
			continue;
		send_begin(d, txn);
		send_schema(ctx, d, e, relations[i]);
		relids[n++] = RelationGetRelid(relations[i]);
	}
	if (n > 0) {
		msg_open(d, ctx->write_location);
		logicalrep_write_truncate(&d->batch, InvalidTransactionId, n, relids,
								  change->data.truncate.cascade,
								  change->data.truncate.restart_seqs);
		msg_close(d);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(d->change_cx);
	batch_maybe_flush(ctx, d);
}

static void
sluice_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
			   bool transactional, const char *prefix, Size sz, const char *message)
{
	struct sluice_data *d = ctx->output_plugin_private;

	if (!d->messages)
		return;
	if (transactional)
		send_begin(d, txn);
	msg_open(d, lsn);
	logicalrep_write_message(&d->batch, InvalidTransactionId, lsn, transactional,
							 prefix, sz, message);
	msg_close(d);
	if (!transactional)
		batch_flush(ctx, d);	/* outside any transaction: on its own */
	else
		batch_maybe_flush(ctx, d);
}

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	AssertVariableIsOfType(&_PG_output_plugin_init, LogicalOutputPluginInit);

	cb->startup_cb = sluice_startup;
	cb->begin_cb = sluice_begin;
	cb->change_cb = sluice_change;
	cb->truncate_cb = sluice_truncate;
	cb->commit_cb = sluice_commit;
	cb->message_cb = sluice_message;
	cb->shutdown_cb = sluice_shutdown;
}
