#!/bin/sh
# shellcheck disable=SC2154 # a_ADDR, m_ADDR are set through eval
# test_auto_create.sh: automatic topic creation is off by default (producing
# to an unknown topic fails with UNKNOWN_TOPIC_OR_PARTITION and creates
# nothing) and `auto_create_topics = true` in [broker] turns it on, with
# `num.partitions` partitions (DESIGN.md section 4, docs/config.md).
. "$(dirname "$0")/lib.sh"

it_broker_start m
if echo x | kcat -P -b "$m_ADDR" -t nope -X message.timeout.ms=5000 \
    -X topic.metadata.propagation.max.ms=1000 2>"$IT_DIR/m.err"; then
	it_fail "producing to an unknown topic succeeded with auto creation off"
fi
grep -q 'Unknown topic or partition' "$IT_DIR/m.err" ||
	{ cat "$IT_DIR/m.err" >&2; it_fail "the failed produce did not report UNKNOWN_TOPIC_OR_PARTITION"; }
kcat -L -b "$m_ADDR" -m 5 >"$IT_DIR/m.meta" || it_fail "kcat -L failed"
if grep -q 'topic "nope"' "$IT_DIR/m.meta"; then
	it_fail "auto creation is off, yet topic nope exists"
fi
for d in "$IT_DIR"/m/data/nope*; do
	[ -e "$d" ] && it_fail "auto creation is off, yet $d exists"
done

it_broker_start a "auto_create_topics = true" "num.partitions = 3"
echo hello | kcat -P -b "$a_ADDR" -t auto1 -X message.timeout.ms=10000 ||
	it_fail "producing to a new topic failed with auto creation on"
n=$(it_topic_partitions "$a_ADDR" auto1)
[ "$n" = 3 ] || it_fail "auto-created topic has '$n' partitions, expected num.partitions = 3"
got=$(kcat -C -b "$a_ADDR" -t auto1 -o beginning -e -q)
[ "$got" = hello ] || it_fail "auto1 holds '$got'"
# The created topic is a real one: it survives a restart.
it_broker_stop a
it_broker_start a
n=$(it_topic_partitions "$a_ADDR" auto1)
[ "$n" = 3 ] || it_fail "after restart auto1 has '$n' partitions"
echo "test_auto_create: ok"
