#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR is set through eval
# test_list_offsets.sh: ListOffsets by time, earliest and latest, from kcat
# (-Q, librdkafka) and kafka-python, before and after a SIGKILL restart.
# 1000 records one second apart, a day old, in many small batches; a lookup
# must answer the first record at or after the time (Kafka's semantics),
# not the batch holding it.  The checks of kafka-python's
# offsets_for_times/beginning_offsets/end_offsets are in
# python/list_offsets.py.
. "$(dirname "$0")/lib.sh"

N=1000
it_broker_start b
it_topic_create b lo 1
first=$("$IT_PY" "$(dirname "$0")/python/produce.py" "$b_ADDR" lo $N \
    --age-ms 86400000 --step-ms 1000 --tag lo | sed -n 's/^first_ts=//p')
[ -n "$first" ] || it_fail "kafka-python produce to lo failed"

# kcat_q TIME: the offset kcat -Q answers for partition 0 at TIME.
kcat_q() {
	q=$(kcat -Q -b "$b_ADDR" -t "lo:0:$1" 2>&1) || it_fail "kcat -Q lo:0:$1 failed: $q"
	echo "$q" | sed -n 's/.*\[0\] offset \(-\{0,1\}[0-9]*\).*/\1/p'
}

check() {
	when=$1
	for i in 0 1 250 500 999; do
		t=$((first + i * 1000))
		for d in 0 1 999; do
			[ $((t - d)) -lt "$first" ] && continue
			got=$(kcat_q $((t - d)))
			[ "$got" = "$i" ] ||
				it_fail "$when: kcat -Q at record $i's time - $d ms answered offset '$got', expected $i"
		done
	done
	got=$(kcat_q $((first - 5000)))
	[ "$got" = 0 ] || it_fail "$when: kcat -Q before the first record answered '$got', expected 0"
	"$IT_PY" "$(dirname "$0")/python/list_offsets.py" "$b_ADDR" lo "$first" $N 1000 ||
		it_fail "$when: kafka-python ListOffsets checks failed"
}

check "before restart"
it_broker_kill b
it_broker_start b
check "after SIGKILL and restart"
echo "test_list_offsets: ok"
