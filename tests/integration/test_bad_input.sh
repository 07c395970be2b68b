#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_bad_input.sh: malformed Kafka frames (bad sizes, truncated requests,
# unknown API keys and versions, a bad batch CRC, hostile array counts) get
# the right error or close only their own connection; the broker keeps
# serving other connections and its memory does not grow.  The frames and
# checks are in python/bad_frames.py (plain socket client).
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-500}
# VmRSS may grow by at most 8 MiB.  A sanitizer build's quarantine keeps
# freed memory, so there LeakSanitizer at the clean stop below checks instead.
growth=8192
if grep -q __asan_init "$SLUICE"; then
	growth=0
	it_log "sanitizer build: RSS bound off, LeakSanitizer checks at the stop"
fi
it_broker_start b
it_topic_create b bad 1
"$IT_PY" "$(dirname "$0")/python/bad_frames.py" 127.0.0.1 "$b_PORT" \
    "$(it_broker_pid b)" bad "$ROUNDS" "$growth" || it_fail "bad frame checks failed"
it_broker_alive b || it_fail "broker died"
# The good batches are there and nothing else: 2 messages.
n=$(kcat -C -b "$b_ADDR" -t bad -o beginning -e -q -f '%s\n' | grep -c '^good-value')
[ "$n" -eq 2 ] || it_fail "topic bad holds $n good messages, expected 2"
m=$(kcat -C -b "$b_ADDR" -t bad -o beginning -e -q -f '%s\n' | wc -l)
[ "$m" -eq 2 ] || it_fail "topic bad holds $m messages; a rejected batch was appended"
it_broker_stop b
echo "test_bad_input: ok"
