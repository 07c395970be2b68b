#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR is set through eval
# test_delete_topic.sh: DeleteTopics through `sluice topics delete` removes
# the topic and its partition folders, a second delete exits 1 (absent), a
# deleted topic stays deleted across a SIGKILL restart, and a topic created
# again under the same name starts empty with its new partition count.
. "$(dirname "$0")/lib.sh"

it_broker_start b
it_topic_create b del-me 3
it_topic_create b keep-me 2
seq 1 300 | kcat -P -b "$b_ADDR" -t del-me || it_fail "produce to del-me failed"
seq 1 50 | kcat -P -b "$b_ADDR" -t keep-me || it_fail "produce to keep-me failed"

"$SLUICE" topics -b "$b_ADDR" delete del-me || it_fail "sluice topics delete del-me failed"
gone() {
	kcat -L -b "$b_ADDR" -m 5 >"$IT_DIR/meta.txt" 2>&1 || return 1
	! grep -q 'topic "del-me"' "$IT_DIR/meta.txt"
}
it_wait 10 "del-me gone from Metadata" gone
for d in "$IT_DIR"/b/data/del-me-*; do
	[ -e "$d" ] && it_fail "partition folder $d is still there after delete"
done
if "$SLUICE" topics -b "$b_ADDR" delete del-me 2>/dev/null; then rc=0; else rc=$?; fi
[ "$rc" -eq 1 ] || it_fail "deleting a deleted topic exited $rc, expected 1"

it_broker_kill b
it_broker_start b
gone || it_fail "del-me is back after a SIGKILL restart"
n=$(kcat -C -b "$b_ADDR" -t keep-me -o beginning -e -q | wc -l)
[ "$n" -eq 50 ] || it_fail "keep-me holds $n of 50 messages after deleting del-me"

it_topic_create b del-me 5
n=$(it_topic_partitions "$b_ADDR" del-me)
[ "$n" = 5 ] || it_fail "re-created del-me has '$n' partitions, expected 5"
n=$(kcat -C -b "$b_ADDR" -t del-me -o beginning -e -q | wc -l)
[ "$n" -eq 0 ] || it_fail "re-created del-me holds $n old messages"
echo new | kcat -P -b "$b_ADDR" -t del-me -p 0 || it_fail "produce to re-created del-me failed"
got=$(kcat -C -b "$b_ADDR" -t del-me -p 0 -o beginning -e -q -f '%o %s\n')
[ "$got" = "0 new" ] || it_fail "re-created del-me partition 0 reads '$got', expected '0 new'"
echo "test_delete_topic: ok"
