#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR is set through eval
# test_large_messages.sh: a 1,000,000-byte message round-trips byte for
# byte, also to a consumer whose fetch limits are far smaller (the broker
# must still return the first batch whole, KIP-74); a 2 MB batch is refused
# with MESSAGE_TOO_LARGE under the default max.message.bytes (1048588) and
# accepted by a topic created with max.message.bytes=3000000.
. "$(dirname "$0")/lib.sh"

it_broker_start b
it_topic_create b big 1
it_topic_create b bigger 1 --config max.message.bytes=3000000

head -c 1000000 /dev/urandom >"$IT_DIR/m1"
head -c 2000000 /dev/urandom >"$IT_DIR/m2"
kcat -P -b "$b_ADDR" -t big -p 0 -X message.max.bytes=10000000 "$IT_DIR/m1" ||
	it_fail "producing a 1,000,000-byte message failed"
for limits in "" "-X message.max.bytes=65536 -X fetch.max.bytes=65536 -X max.partition.fetch.bytes=32768"; do
	# shellcheck disable=SC2086 # $limits is a list of options
	kcat -C -b "$b_ADDR" -t big -p 0 -o beginning -c 1 -e -q -D '' -f '%s' $limits \
	    >"$IT_DIR/got1" || it_fail "consuming the big message failed ($limits)"
	cmp -s "$IT_DIR/m1" "$IT_DIR/got1" ||
		it_fail "the 1,000,000-byte message came back as $(wc -c <"$IT_DIR/got1") different bytes ($limits)"
done

if kcat -P -b "$b_ADDR" -t big -p 0 -X message.max.bytes=10000000 "$IT_DIR/m2" 2>"$IT_DIR/p2.err"; then
	it_fail "a 2 MB message was accepted past max.message.bytes 1048588"
fi
grep -qi 'too large' "$IT_DIR/p2.err" ||
	{ cat "$IT_DIR/p2.err" >&2; it_fail "the refused 2 MB message did not report MESSAGE_TOO_LARGE"; }
n=$(kcat -C -b "$b_ADDR" -t big -p 0 -o beginning -e -q -f 'x\n' | wc -l)
[ "$n" -eq 1 ] || it_fail "topic big holds $n messages, expected only the 1 MB one"

kcat -P -b "$b_ADDR" -t bigger -p 0 -X message.max.bytes=10000000 "$IT_DIR/m2" ||
	it_fail "a 2 MB message was refused by a topic with max.message.bytes=3000000"
kcat -C -b "$b_ADDR" -t bigger -p 0 -o beginning -c 1 -e -q -D '' -f '%s' >"$IT_DIR/got2" ||
	it_fail "consuming the 2 MB message failed"
cmp -s "$IT_DIR/m2" "$IT_DIR/got2" || it_fail "the 2 MB message came back different"
echo "test_large_messages: ok"
