#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_restart_config.sh: topic configuration (partition count,
# cleanup.policy=compact, retention.ms, segment.bytes) survives a clean
# restart and a SIGKILL restart.
#
# sluice broker serves no DescribeConfigs, so configs are seen three ways:
# partition counts through kcat -L and `sluice topics describe`; the topic
# config files <data_dir>/topics/<name>.conf (format in broker/topics.c);
# and behaviour after the restarts, which is what matters: data produced
# only after the broker restarted is compacted in the compacted topic and
# aged out by the topic's retention.ms, while a default topic given the same
# data keeps all of it.  Topics are made both with `sluice topics create`
# and with CreateTopics configs from kafka-python's admin client.
. "$(dirname "$0")/lib.sh"

py=$(dirname "$0")/python
it_broker_start b "log.retention.check.interval.ms = 500" "log.cleaner.backoff.ms = 500"
it_topic_create b rc-compact 4 --compact --config segment.bytes=2048
"$IT_PY" "$py/create_topic.py" "$b_ADDR" rc-admin 3 \
    cleanup.policy=compact retention.ms=3600000 || it_fail "CreateTopics rc-admin failed"
"$IT_PY" "$py/create_topic.py" "$b_ADDR" rc-retain 2 \
    retention.ms=7200000 segment.bytes=2048 || it_fail "CreateTopics rc-retain failed"
it_topic_create b rc-plain 5 --config segment.bytes=2048

# Creating an existing topic again is refused.
if "$SLUICE" topics -b "$b_ADDR" create rc-plain --partitions 5 2>/dev/null; then
	it_fail "creating rc-plain twice succeeded"
fi

conf() {
	f="$IT_DIR/b/data/topics/$1.conf"
	[ -f "$f" ] || it_fail "$when: no topic config file $f"
	grep -qx "$2" "$f" || { cat "$f" >&2; it_fail "$when: $f lacks the line $2"; }
}

check_all() {
	when=$1
	for tp in rc-compact:4 rc-admin:3 rc-retain:2 rc-plain:5; do
		t=${tp%:*}
		want=${tp#*:}
		n=$(it_topic_partitions "$b_ADDR" "$t")
		[ "$n" = "$want" ] || it_fail "$when: kcat -L shows $t with '$n' partitions, expected $want"
		"$SLUICE" topics -b "$b_ADDR" describe "$t" >"$IT_DIR/desc-$t.txt" 2>&1 || {
			cat "$IT_DIR/desc-$t.txt" >&2
			it_fail "$when: sluice topics describe $t failed"
		}
		# One row per partition: lines starting with the partition number.
		rows=$(grep -c '^[0-9]' "$IT_DIR/desc-$t.txt" || true)
		[ "$rows" = "$want" ] || {
			cat "$IT_DIR/desc-$t.txt" >&2
			it_fail "$when: describe $t shows $rows partitions, expected $want"
		}
		conf "$t" "partitions=$want"
	done
	conf rc-compact cleanup.policy=compact
	conf rc-compact segment.bytes=2048
	conf rc-admin cleanup.policy=compact
	conf rc-admin retention.ms=3600000
	conf rc-retain cleanup.policy=delete
	conf rc-retain retention.ms=7200000
	conf rc-plain cleanup.policy=delete
	if grep -q '^retention.ms=\(3600000\|7200000\)$' "$IT_DIR/b/data/topics/rc-plain.conf"; then
		it_fail "$when: rc-plain has another topic's retention.ms"
	fi
}

check_all "before restart"
it_broker_stop b
it_broker_start b
check_all "after a clean restart"
it_broker_kill b
it_broker_start b
check_all "after SIGKILL and restart"

# Behaviour, with data produced only now.  Compaction: 2000 messages over 20
# keys into small segments shrink to about the latest value per key.
"$IT_PY" "$py/produce.py" "$b_ADDR" rc-compact 2000 --keys 20 --tag c ||
	it_fail "produce to rc-compact failed"
# Retention: 400 messages 3 hours old, then 40 new ones, into a topic with
# retention.ms 2 h and into the default topic (retention 7 days).  Only whole
# segments go, and the one holding the first new messages stays, so some old
# messages (at most a segment's worth per partition) may remain.
for t in rc-retain rc-plain; do
	"$IT_PY" "$py/produce.py" "$b_ADDR" $t 400 --age-ms 10800000 --tag old ||
		it_fail "produce to $t failed"
	"$IT_PY" "$py/produce.py" "$b_ADDR" $t 40 --tag new || it_fail "produce to $t failed"
done

count() {
	kcat -C -b "$b_ADDR" -t "$1" -o beginning -e -q -f '%k %s\n' >"$IT_DIR/read-$1.txt" ||
		it_fail "kcat read of $1 failed"
	wc -l <"$IT_DIR/read-$1.txt"
}
compacted() { [ "$(count rc-compact)" -lt 1000 ]; }
aged_out() {
	count rc-retain >/dev/null
	[ "$(grep -c ' old-' "$IT_DIR/read-rc-retain.txt")" -lt 150 ]
}
it_wait 60 "rc-compact compacted below 1000 of 2000 messages" compacted
it_wait 60 "rc-retain dropped most of its 3-hour-old messages" aged_out
it_log "rc-compact holds $(count rc-compact) of 2000; rc-retain $(count rc-retain) of 440"

# Compaction kept the latest value of every key.
for k in $(seq 0 19); do
	last=$(awk -v k="key-$k" '$1 == k { v = $2 } END { print v }' "$IT_DIR/read-rc-compact.txt")
	[ "$last" = "c-$((1980 + k))" ] || it_fail "rc-compact: key-$k ends with '$last', expected c-$((1980 + k))"
done
# Retention removed only old data; the default topic kept everything.
n=$(grep -c ' new-' "$IT_DIR/read-rc-retain.txt" || true)
[ "$n" -eq 40 ] || it_fail "rc-retain holds $n of the 40 new messages"
n=$(count rc-plain)
[ "$n" -eq 440 ] || it_fail "rc-plain (default retention) holds $n of 440 messages"
n=$(grep -c ' old-' "$IT_DIR/read-rc-plain.txt" || true)
[ "$n" -eq 400 ] || it_fail "rc-plain lost old messages: $n of 400"

# A topic missing: describe exits 1 (DESIGN.md section 4).
if "$SLUICE" topics -b "$b_ADDR" describe rc-nope >/dev/null 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 1 ] || it_fail "describe of a missing topic exited $rc, expected 1"
echo "test_restart_config: ok"
