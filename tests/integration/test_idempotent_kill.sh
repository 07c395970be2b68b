#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_idempotent_kill.sh: first, by hand (python/dup_batch.py), a repeated
# idempotent batch must be acknowledged at its first offset and a gap
# refused.  Then an idempotent acks=all producer
# (tests/prog/idem_producer) keeps producing numbered messages to a
# 4-partition topic while the broker is killed with SIGKILL and restarted
# three times.  Afterwards every acknowledged message is in the log exactly
# once, each partition holds its messages in produce order with no
# duplicate, and nothing the producer never sent appears.  The producer
# must also finish with every message acknowledged and no fatal
# idempotence error (a restarted broker has to remember producer state).
. "$(dirname "$0")/lib.sh"

PARTS=4
COUNT=${COUNT:-60000}
RATE=${RATE:-4000}
prod=$(it_prog idem_producer)

it_broker_start b
it_topic_create b idem $PARTS
it_topic_create b idem-dup 1

# Deterministic first: a repeated batch is answered, not hung or appended
# twice (what the kills below provoke at random).
"$IT_PY" "$(dirname "$0")/python/dup_batch.py" 127.0.0.1 "$b_PORT" idem-dup ||
	it_fail "an idempotent producer's repeated batch was mishandled"

"$prod" -b "$b_ADDR" -t idem -p $PARTS -n "$COUNT" -r "$RATE" \
    -o "$IT_DIR/acked.txt" >"$IT_DIR/producer.out" 2>"$IT_DIR/producer.err" &
ppid=$!
it_track $ppid

for round in 1 2 3; do
	sleep 3
	kill -0 $ppid 2>/dev/null || break
	before=$(wc -l <"$IT_DIR/acked.txt")
	it_broker_kill b
	it_log "round $round: broker killed after $before acks"
	[ "$round" = 2 ] && sleep 1	# once, stay down a while
	it_broker_start b
done

if wait $ppid; then prc=0; else prc=$?; fi
cat "$IT_DIR/producer.out"
tail -n 20 "$IT_DIR/producer.err" >&2
summary=$(cat "$IT_DIR/producer.out")
[ "$prc" -eq 0 ] || it_fail "producer exit $prc: $summary (fatal errors: $(grep -c FATAL "$IT_DIR/producer.err"))"
acked=$(wc -l <"$IT_DIR/acked.txt")
[ "$acked" -eq "$COUNT" ] || it_fail "only $acked of $COUNT messages acknowledged"

kcat -C -b "$b_ADDR" -t idem -o beginning -e -q -f '%p %o %s\n' \
    >"$IT_DIR/consumed.txt" || it_fail "kcat consume failed"
it_log "consumed $(wc -l <"$IT_DIR/consumed.txt") messages"

# Every line of consumed.txt: partition offset seq.  Check per partition
# order and uniqueness, the partition matches seq % PARTS, then that every
# acked message is present.
sort -k1,1n -k2,2n "$IT_DIR/consumed.txt" | awk -v parts=$PARTS -v count="$COUNT" '
NR == FNR {
	p = $1; seq = $3 + 0;
	if ($3 !~ /^[0-9]+$/ || seq >= count) { printf "partition %d offset %d: unknown value \"%s\"\n", p, $2, $3; bad = 1; exit }
	if (seq % parts != p) { printf "seq %d found in partition %d\n", seq, p; bad = 1; exit }
	if ((p in last) && seq <= last[p]) {
		if (seq == last[p]) printf "partition %d offset %d: seq %d duplicated\n", p, $2, seq;
		else printf "partition %d offset %d: seq %d after %d (reordered)\n", p, $2, seq, last[p];
		bad = 1; exit
	}
	last[p] = seq; have[seq] = 1; next
}
{
	if (!($2 in have)) { printf "acked seq %s (partition %s) is missing\n", $2, $1; missing++; if (missing > 10) exit }
}
END { if (bad || missing) exit 1 }' - "$IT_DIR/acked.txt" >"$IT_DIR/check.txt" || {
	cat "$IT_DIR/check.txt" >&2
	it_fail "log does not hold every acknowledged message exactly once in order"
}
n=$(wc -l <"$IT_DIR/consumed.txt")
[ "$n" -eq "$COUNT" ] || it_fail "log holds $n messages, $COUNT were sent and acked once each"
echo "test_idempotent_kill: ok ($COUNT messages, 3 SIGKILLs)"
