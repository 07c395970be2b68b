#!/bin/sh
# test_views_unsynced.sh: views with `sync = none` (docs/views.md).  While a
# workload runs, `sluice materialize` is killed with SIGKILL: the kernel
# still holds every commit, so the view goes on from its own offsets (the
# marker file names this boot).  Then a system crash is simulated by
# rewriting the marker with another boot's id: `sluice view` refuses the
# view with an error saying why instead of reading pages that may never
# have reached the disk, and the next `sluice materialize` rebuilds the
# view from offset 0 and swaps it in.  The views equal their tables at the
# end, and a clean stop leaves no marker.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

view_stack_start
view_config "$b_ADDR" protobuf
# both views unflushed: sync = none after each [view] section's first line
awk '{ print } /^\[view / { print "sync = none" }' "$IT_DIR/sluice.ini" >"$IT_DIR/s.ini"
mv "$IT_DIR/s.ini" "$IT_DIR/sluice.ini"
cap_start app
mat_start
mat_wait_assigned 60

work() {
	for _ in $(seq "$1"); do
		pg_sql "$(view_workload_sql)" >/dev/null || it_fail "the workload failed"
	done
}
# the live folder of view $1 (its path is a link to <path>.vN)
live_dir() {
	readlink -f "$IT_DIR/views/$1"
}

view_has_rows() {
	[ "$("$SLUICE" view -c "$IT_DIR/sluice.ini" scan users 2>/dev/null | wc -l)" -gt 0 ]
}

work 15
it_wait 60 "rows in view users" view_has_rows
mat_kill	# a process crash: nothing lost
[ -f "$(live_dir users)/unsynced" ] || it_fail "no unsynced marker in $(live_dir users)"
it_check "the marker names this boot" \
    [ "$(cat "$(live_dir users)/unsynced")" = "$(cat /proc/sys/kernel/random/boot_id)" ]
"$SLUICE" view -c "$IT_DIR/sluice.ini" scan users >/dev/null ||
	it_fail "a view of this boot's unflushed commits was refused"
mat_start
mat_wait_assigned 60
work 15
cap_wait_caught_up sluice_app 120
view_wait_equal users users id 120
grep -q "rebuilding" "$IT_DIR/mat.log" && it_fail "a process crash caused a rebuild"

# a system crash: the marker names another boot
mat_kill
old=$(live_dir users)
echo "00000000-0000-0000-0000-000000000000" >"$old/unsynced"
if "$SLUICE" view -c "$IT_DIR/sluice.ini" scan users >/dev/null 2>"$IT_DIR/refused.err"; then
	it_fail "sluice view read a view left unflushed by a system crash"
fi
grep -q "sync = none" "$IT_DIR/refused.err" ||
	it_fail "the refusal does not say why: $(cat "$IT_DIR/refused.err")"
it_log "refused: $(cat "$IT_DIR/refused.err")"
mat_start
work 10
cap_wait_caught_up sluice_app 120
view_wait_equal users users id 180
view_wait_equal items items 'sku COLLATE "C"' 60
grep -q "view users may be corrupt" "$IT_DIR/mat.log" || it_fail "no rebuild was logged"
it_check "the stale folder was replaced" [ "$(live_dir users)" != "$old" ]
# materialize removes it just after the swap the view comparison saw
it_wait 30 "the stale folder $old to be removed" [ ! -e "$old" ]
mat_stop
for v in users items; do
	[ ! -e "$(live_dir $v)/unsynced" ] || it_fail "view $v kept its marker after a clean stop"
done
it_log "ok"
