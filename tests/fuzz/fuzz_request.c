/*
 * tests/fuzz/fuzz_request.c: libFuzzer target over the broker's request
 * handling.  Each input is one request frame (header and body, without the
 * 4-byte size) given to brk_dispatch() on a detached connection of a broker
 * opened once, without sockets, in a temp folder holding a plain topic
 * "f" (2 partitions) and a compacted topic "fc".  Every API is reached:
 * the decoders, the handlers, the group coordinator and, for the rare valid
 * batch, the log.  The event loop never runs, so acks=all replies and long
 * polls stay parked and are dropped with the connection, which exercises
 * the cancel paths.  Seeds: tests/fuzz/corpus/request/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct brk_broker *fb;
static struct brk_config fcfg;
static uint8_t *frame;

static void
ensure_topic(const char *name, int32_t parts, int compact)
{
	struct brk_topic_conf tc;

	if (brk_topic_find(fb, name, strlen(name)) != NULL)
		return;
	brk_topic_conf_default(fb, &tc);
	tc.partitions = parts;
	tc.opts.compact = compact;
	if (brk_topic_create(fb, name, &tc, NULL, NULL) != 0)
		abort();
}

static void
fuzz_init(void)
{
	char tmpl[] = "/tmp/fuzz_request-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		abort();
	sl_log_set_level(SL_LOG_ERROR);
	brk_config_default(&fcfg);
	brk_config_set(&fcfg.data_dir, tmpl);
	brk_config_set(&fcfg.http, NULL);
	fcfg.max_request_bytes = 1 << 20;
	if (brk_open_ex(&fcfg, 0, &fb, NULL) != 0)
		abort();
	fb->max_partitions = 4;	/* CreateTopics may not make 10,000 folders per input */
	frame = malloc(1 << 20);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct brk_conn *c;
	struct brk_topic *t, *next;

	if (fb == NULL)
		fuzz_init();
	if (size > 1 << 20)
		return 0;
	ensure_topic("f", 2, 0);
	ensure_topic("fc", 1, 1);
	memcpy(frame, data, size);	/* Produce writes base offsets in place */
	c = brk_conn_detached(fb);
	(void)brk_dispatch(fb, c, frame, size);
	brk_conn_free(c);
	/* Keep the folder small: drop topics the input created. */
	for (t = fb->topics; t != NULL; t = next) {
		next = t->next;
		if (strcmp(t->name, "f") != 0 && strcmp(t->name, "fc") != 0)
			brk_topic_delete(fb, t->name, NULL);
	}
	return 0;
}
