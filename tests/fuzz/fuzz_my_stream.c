/*
 * tests/fuzz/fuzz_my_stream.c: libFuzzer target over the reader of the
 * binlog stream's packets (capture/my_conn.c, cap_my_dump_next): 3-byte
 * lengths, continuation packets of 0xFFFFFF bytes, OK / error / EOF
 * payloads, arriving from a socket in arbitrary pieces.
 *
 * The input is written to one end of a socket pair and the write end is
 * closed; the reader must return events (each no longer than what was
 * written), then one error with a message, never crash or read past what
 * it was given.  Each event is also handed to the binlog decoder, as
 * capture does.  Inputs are kept under the socket buffer (-max_len=60000).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/cap_mysrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cap_my_decoder dec;
	struct cap_my_dump *dp;
	struct sl_arena arena = { 0 };
	int sv[2], rounds = 0;
	size_t off = 0;

	if (size > 60000)
		return 0;
	{
		struct sl_buf v = { 0 };
		struct sl_err err = { 0 };
		struct cap_my_pos pos;
		char gtid[64], state[32];
		int clean, gtid_mode;

		sl_buf_add(&v, data, size);
		if (cap_my_stored_parse("t.offsets", &v, &pos, gtid, sizeof(gtid), state,
		    sizeof(state), &clean, &gtid_mode, &err) != 0 && err.msg[0] == '\0')
			abort();
		sl_buf_free(&v);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	while (off < size) {
		ssize_t w = write(sv[1], data + off, size - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(sv[1]);
	dp = cap_my_dump_fd(sv[0]);
	cap_my_decoder_init(&dec, size > 0 && (data[0] & 1));
	for (;;) {
		struct sl_err err = { 0 };
		struct cap_my_event ev;
		const uint8_t *p;
		size_t len;
		int rc = cap_my_dump_next(dp, 100, &p, &len, &err);

		if (rc < 0) {
			if (err.msg[0] == '\0')
				abort();
			break;
		}
		if (rc == 0 || ++rounds > 100000)
			abort();	/* a closed socket ends the stream with an error */
		if (len > size)
			abort();
		memset(&err, 0, sizeof(err));
		sl_arena_reset(&arena);
		if (cap_my_decode(&dec, "bin.000001", 4, p, len, &arena, &ev, &err) != 0 &&
		    err.msg[0] == '\0')
			abort();
	}
	cap_my_dump_close(dp);
	close(sv[0]);
	sl_arena_free(&arena);
	return 0;
}
