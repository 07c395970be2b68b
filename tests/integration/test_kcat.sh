#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_kcat.sh: 100,000 keyed messages per codec (none, gzip, snappy, lz4,
# zstd) produced by kcat come back from `sluice broker` in order per
# partition, with keys, values, headers and timestamps intact; `kcat -L`
# lists every topic with its partition count; and compressed batches are
# stored compressed (the broker keeps batches as they arrived).
#
# kcat 1.7 cannot take a per-message timestamp from its input, so the
# timestamps checked are librdkafka's CreateTime: each must lie within the
# produce run's wall-clock window and never decrease within a partition.
# Explicit timestamps (a day old, one second apart) are produced with
# kafka-python instead; kcat must print them exactly (lookups by time are in
# test_list_offsets.sh).
. "$(dirname "$0")/lib.sh"

N=${N:-100000}
PARTS=3
CODECS="none gzip snappy lz4 zstd"

it_broker_start b
for c in $CODECS; do
	it_topic_create b "kc-$c" $PARTS
done

# Keyed input: "key<TAB>value" per line.  Values are compressible and of
# varied length (so batches differ), never holding a tab or a newline.
awk -v n="$N" 'BEGIN {
	pad = "the quick brown fox jumps over the lazy dog 0123456789 ";
	for (i = 0; i < n; i++) {
		k = sprintf("key-%07d", i);
		v = sprintf("val-%07d-%s", i, substr(pad pad pad, 1, (i * 7) % 150));
		printf "%s\t%s\n", k, v;
	}
}' >"$IT_DIR/in.txt"
sort "$IT_DIR/in.txt" >"$IT_DIR/in.sorted"

for c in $CODECS; do
	t="kc-$c"
	t0=$(date +%s%3N)
	kcat -P -b "$b_ADDR" -t "$t" -K '\t' -X compression.codec="$c" \
	    -X linger.ms=20 -X batch.num.messages=5000 \
	    -H "origin=kcat-test" -H "codec=$c" -l "$IT_DIR/in.txt" ||
		it_fail "kcat produce with $c failed"
	t1=$(date +%s%3N)
	out="$IT_DIR/out-$c.txt"
	kcat -C -b "$b_ADDR" -t "$t" -o beginning -e -q \
	    -f '%p\t%o\t%k\t%s\t%h\t%T\n' >"$out" ||
		it_fail "kcat consume of $t failed"
	got=$(wc -l <"$out")
	[ "$got" -eq "$N" ] || it_fail "$t: consumed $got messages, produced $N"

	# Keys and values: the same multiset as produced.
	cut -f3,4 "$out" | sort >"$IT_DIR/got.sorted"
	cmp -s "$IT_DIR/in.sorted" "$IT_DIR/got.sorted" || {
		diff "$IT_DIR/in.sorted" "$IT_DIR/got.sorted" | head -n 10 >&2
		it_fail "$t: keys/values differ from what was produced"
	}

	# Per partition: offsets dense from 0, sequence numbers increasing
	# (produce order), headers as sent, timestamps in the window and
	# non-decreasing.
	sort -t "$(printf '\t')" -k1,1n -k2,2n "$out" | awk -F '\t' \
	    -v t0="$t0" -v t1="$t1" -v hdr="origin=kcat-test,codec=$c" '
	{
		p = $1; off = $2 + 0; seq = substr($3, 5) + 0;
		if (!(p in next_off)) { next_off[p] = 0; last_seq[p] = -1; last_ts[p] = 0 }
		if (off != next_off[p]) { printf "partition %s: offset %d, expected %d\n", p, off, next_off[p]; bad = 1; exit }
		if (seq <= last_seq[p]) { printf "partition %s offset %d: %s after seq %d (order lost)\n", p, off, $3, last_seq[p]; bad = 1; exit }
		if (substr($4, 1, 12) != ("val-" sprintf("%07d", seq) "-")) { printf "partition %s offset %d: value %s does not match key %s\n", p, off, $4, $3; bad = 1; exit }
		if ($5 != hdr) { printf "partition %s offset %d: headers \"%s\", expected \"%s\"\n", p, off, $5, hdr; bad = 1; exit }
		ts = $6 + 0;
		if (ts < t0 - 1000 || ts > t1 + 1000) { printf "partition %s offset %d: timestamp %d outside [%d, %d]\n", p, off, ts, t0, t1; bad = 1; exit }
		if (ts < last_ts[p]) { printf "partition %s offset %d: timestamp %d before %d\n", p, off, ts, last_ts[p]; bad = 1; exit }
		next_off[p] = off + 1; last_seq[p] = seq; last_ts[p] = ts;
	}
	END { exit bad }' >"$IT_DIR/check.txt" || {
		cat "$IT_DIR/check.txt" >&2
		it_fail "$t: per-partition check failed"
	}
	# Fetching from an offset inside a (compressed) batch starts exactly there.
	for off in 1 777 $((N / PARTS / 2)); do
		want=$(awk -F '\t' -v o="$off" '$1 == 0 && $2 == o { print $3 }' "$out")
		got=$(kcat -C -b "$b_ADDR" -t "$t" -p 0 -o "$off" -c 2 -e -q -f '%o %k\n' | head -n 1)
		[ "$got" = "$off $want" ] || it_fail "$t: fetch from offset $off gave '$got', expected '$off $want'"
	done
	nparts=$(cut -f1 "$out" | sort -u | wc -l)
	[ "$nparts" -eq $PARTS ] || it_fail "$t: messages in $nparts partitions, expected $PARTS"
	it_log "$c: $N messages ok ($((t1 - t0)) ms to produce)"
done

# Stored sizes: compressed topics must be far smaller than the plain one.
plain=$(cat "$IT_DIR"/b/data/kc-none-*/*.log | wc -c)
[ "$plain" -gt $((N * 50)) ] || it_fail "kc-none stores only $plain bytes for $N messages"
for c in gzip snappy lz4 zstd; do
	sz=$(cat "$IT_DIR"/b/data/kc-$c-*/*.log | wc -c)
	it_log "stored bytes: $c $sz, none $plain"
	[ "$sz" -lt $((plain / 2)) ] ||
		it_fail "kc-$c stores $sz bytes, not under half of uncompressed $plain: batches were not kept compressed"
done

# Explicit CreateTime timestamps come back exactly.
it_topic_create b kc-ts 1
first=$("$IT_PY" "$(dirname "$0")/python/produce.py" "$b_ADDR" kc-ts 1000 \
    --age-ms 86400000 --step-ms 1000 --tag ts | sed -n 's/^first_ts=//p')
[ -n "$first" ] || it_fail "kafka-python produce to kc-ts failed"
kcat -C -b "$b_ADDR" -t kc-ts -o beginning -e -q -f '%o %T %s\n' >"$IT_DIR/ts.txt" ||
	it_fail "kcat consume of kc-ts failed"
awk -v f="$first" '{ if ($1 != NR - 1 || $2 != f + $1 * 1000 || $3 != "ts-" $1) { print "bad: " $0; bad = 1; exit } }
    END { if (NR != 1000) { print NR " messages"; bad = 1 } exit bad }' "$IT_DIR/ts.txt" ||
	it_fail "kc-ts: explicit timestamps did not come back exactly (first $first)"

# kcat -L lists every topic with its partition count.
kcat -L -b "$b_ADDR" -m 5 >"$IT_DIR/meta.txt" || it_fail "kcat -L failed"
for c in $CODECS; do
	n=$(it_topic_partitions "$b_ADDR" "kc-$c")
	[ "$n" = $PARTS ] || { cat "$IT_DIR/meta.txt" >&2; it_fail "kcat -L: kc-$c has '$n' partitions, expected $PARTS"; }
	grep -q "topic \"kc-$c\" with $PARTS partitions" "$IT_DIR/meta.txt" ||
		it_fail "kcat -L (all topics) does not list kc-$c"
done
grep -q "1 brokers:" "$IT_DIR/meta.txt" || it_fail "kcat -L does not show exactly one broker"
grep -q "127.0.0.1:$b_PORT" "$IT_DIR/meta.txt" || it_fail "kcat -L does not advertise 127.0.0.1:$b_PORT"
echo "test_kcat: ok"
