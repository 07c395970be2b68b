#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_groups.sh: the group coordinator with real librdkafka consumers
# (tests/prog/group_consumer).
#   1. Three members over a 6-partition topic settle on 2 partitions each
#      and consume every message exactly once between them.
#   2. When one leaves, the rebalance callbacks of the other two show its
#      partitions reassigned (3 each, all 6 covered), and new messages are
#      again consumed exactly once, with no redelivery of old ones.
#   3. Committed offsets survive a broker crash (SIGKILL) and restart: a new
#      member of the same group gets exactly the messages produced after the
#      others committed and left, none before.
#   4. A member that crashes (no commit, no LeaveGroup) after committing part
#      of what it read: once its session expires, the next member gets
#      exactly the uncommitted tail and the unread rest, nothing committed.
. "$(dirname "$0")/lib.sh"

cons=$(it_prog group_consumer)
G=grp-test

it_broker_start b
it_topic_create b grp 6

# produce FIRST LAST: keyed messages m-FIRST..m-LAST through kcat.
produce() {
	awk -v a="$1" -v z="$2" 'BEGIN { for (i = a; i <= z; i++) printf "m-%06d\tv-%06d\n", i, i }' |
		kcat -P -b "$b_ADDR" -t grp -K '\t' || it_fail "kcat produce $1..$2 failed"
}

# current FILE: the partitions (comma list) assigned now, by the last
# rebalance callback line; empty when revoked or never assigned.
current() {
	awk '/^(ASSIGNED|REVOKED) / { l = $1; p = $3 } END { if (l == "ASSIGNED") print p }' "$1"
}

# settled N FILE...: every member holds N partitions and together all 6.
settled() {
	n=$1
	shift
	all=""
	for f in "$@"; do
		a=$(current "$f")
		[ -n "$a" ] || return 1
		[ "$(echo "$a" | tr ',' '\n' | wc -l)" -eq "$n" ] || return 1
		all="$all,$a"
	done
	[ "$(echo "$all" | tr ',' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ')" = "0 1 2 3 4 5 " ]
}

# count_msgs FILE...: MSG lines in total.
count_msgs() {
	cat "$@" | grep -c '^MSG ' || true
}

start_member() {
	"$cons" -b "$b_ADDR" -g $G -t grp "$@" >>"$IT_DIR/$m.out" 2>>"$IT_DIR/$m.err" &
	eval "${m}_pid=$!"
	it_track $!
}

stop_member() {
	eval "pid=\$${1}_pid"
	kill -TERM "$pid"
	if wait "$pid"; then rc=0; else rc=$?; fi
	[ "$rc" -eq 0 ] || { cat "$IT_DIR/$1.err" >&2; it_fail "member $1 exited $rc"; }
	grep -q '^EXIT ' "$IT_DIR/$1.out" || it_fail "member $1 did not close cleanly"
}

# ---- 1. three members, 2 partitions each, every message once
for m in c1 c2 c3; do start_member; done
it_wait 60 "3 members settled on 2 partitions each" \
    settled 2 "$IT_DIR/c1.out" "$IT_DIR/c2.out" "$IT_DIR/c3.out"
it_log "settled: c1=$(current "$IT_DIR/c1.out") c2=$(current "$IT_DIR/c2.out") c3=$(current "$IT_DIR/c3.out")"

produce 0 5999
it_wait 60 "6000 messages consumed by the group" \
    sh -c "[ \$(cat $IT_DIR/c1.out $IT_DIR/c2.out $IT_DIR/c3.out | grep -c '^MSG ') -ge 6000 ]"
sleep 1
for m in c1 c2 c3; do
	# Each member consumed only from its own partitions.
	a=",$(current "$IT_DIR/$m.out"),"
	awk -v a="$a" '/^MSG / && index(a, "," $2 ",") == 0 { print; bad = 1 } END { exit bad }' \
	    "$IT_DIR/$m.out" >&2 || it_fail "$m consumed from a partition outside its assignment $a"
	[ "$(count_msgs "$IT_DIR/$m.out")" -gt 0 ] || it_fail "$m consumed nothing"
done

# ---- 2. c3 leaves: its partitions go to c1 and c2
stop_member c3
it_wait 60 "c1 and c2 took over c3's partitions (3 each)" \
    settled 3 "$IT_DIR/c1.out" "$IT_DIR/c2.out"
grep -q '^REVOKED ' "$IT_DIR/c1.out" || it_fail "c1 saw no revoke in the rebalance"
it_log "after c3 left: c1=$(current "$IT_DIR/c1.out") c2=$(current "$IT_DIR/c2.out")"

produce 6000 8999
it_wait 60 "9000 messages consumed by the group" \
    sh -c "[ \$(cat $IT_DIR/c1.out $IT_DIR/c2.out $IT_DIR/c3.out | grep -c '^MSG ') -ge 9000 ]"
sleep 1
stop_member c1
stop_member c2
cat "$IT_DIR/c1.out" "$IT_DIR/c2.out" "$IT_DIR/c3.out" | awk '/^MSG / { print $4 }' | sort >"$IT_DIR/keys12.txt"
total=$(wc -l <"$IT_DIR/keys12.txt")
uniq=$(uniq <"$IT_DIR/keys12.txt" | wc -l)
[ "$uniq" -eq 9000 ] || it_fail "phases 1-2: $uniq distinct messages consumed, expected 9000"
[ "$total" -eq 9000 ] || {
	uniq -d <"$IT_DIR/keys12.txt" | head -n 5 >&2
	it_fail "phases 1-2: $total deliveries for 9000 messages (some consumed twice)"
}

# ---- 3. committed offsets survive a broker crash
it_broker_kill b
it_broker_start b
n=$(kcat -C -b "$b_ADDR" -t grp -o beginning -e -q -f '%k\n' | wc -l)
[ "$n" -eq 9000 ] || it_fail "after the restart the topic holds $n messages, expected 9000"
produce 9000 9999
m=c4
start_member -i 4000
it_wait 60 "c4 consumed after the restart" sh -c "grep -q '^EXIT ' $IT_DIR/c4.out"
if wait "$c4_pid"; then rc=0; else rc=$?; fi
[ "$rc" -eq 0 ] || { cat "$IT_DIR/c4.err" >&2; it_fail "member c4 exited $rc"; }
awk '/^MSG / { print $4 }' "$IT_DIR/c4.out" | sort >"$IT_DIR/keys4.txt"
awk 'BEGIN { for (i = 9000; i <= 9999; i++) printf "m-%06d\n", i }' >"$IT_DIR/want4.txt"
cmp -s "$IT_DIR/keys4.txt" "$IT_DIR/want4.txt" || {
	echo "c4 got $(wc -l <"$IT_DIR/keys4.txt") messages; first differences:" >&2
	diff "$IT_DIR/want4.txt" "$IT_DIR/keys4.txt" | head -n 10 >&2
	it_fail "after the restart the group did not resume exactly at its committed offsets"
}

# ---- 4. a member crashes: only its uncommitted tail is delivered again
produce 10000 10999
m=c5
start_member -c 100 -x 250
if wait "$c5_pid"; then rc=0; else rc=$?; fi
[ "$rc" -eq 3 ] || { cat "$IT_DIR/c5.err" >&2; it_fail "member c5 exited $rc, expected its deliberate crash (3)"; }
grep -q '^COMMITTED ' "$IT_DIR/c5.out" || it_fail "c5 committed nothing before crashing"
# Messages c5 read before its last successful commit are committed.
awk '/^MSG / { k[++n] = $4 } /^COMMITTED / { c = n } END { for (i = 1; i <= c; i++) print k[i] }' \
    "$IT_DIR/c5.out" | sort >"$IT_DIR/committed5.txt"
nc=$(wc -l <"$IT_DIR/committed5.txt")
if [ "$nc" -lt 100 ] || [ "$nc" -ge 250 ]; then it_fail "c5 committed $nc messages, expected 100..249"; fi
awk 'BEGIN { for (i = 10000; i <= 10999; i++) printf "m-%06d\n", i }' |
    sort | comm -23 - "$IT_DIR/committed5.txt" >"$IT_DIR/want6.txt"
m=c6
start_member -i 4000
it_wait 60 "c6 consumed after c5's session expired" sh -c "grep -q '^EXIT ' $IT_DIR/c6.out"
if wait "$c6_pid"; then rc=0; else rc=$?; fi
[ "$rc" -eq 0 ] || { cat "$IT_DIR/c6.err" >&2; it_fail "member c6 exited $rc"; }
awk '/^MSG / { print $4 }' "$IT_DIR/c6.out" | sort >"$IT_DIR/keys6.txt"
cmp -s "$IT_DIR/keys6.txt" "$IT_DIR/want6.txt" || {
	echo "c6 got $(wc -l <"$IT_DIR/keys6.txt"), expected $(wc -l <"$IT_DIR/want6.txt"); differences:" >&2
	diff "$IT_DIR/want6.txt" "$IT_DIR/keys6.txt" | head -n 10 >&2
	it_fail "after c5 crashed, c6 did not resume exactly at c5's last commit"
}
it_log "c5 crashed after 250 (committed $nc); c6 got the $(wc -l <"$IT_DIR/keys6.txt") others"
echo "test_groups: ok"
