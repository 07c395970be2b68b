#!/bin/sh
# test_views_kill.sh: crash safety of views.  While a random workload runs
# on PostgreSQL, `sluice materialize`, `sluice capture` and the broker are
# killed with SIGKILL at KILLS (default 12) random moments (materialize most
# often) and restarted.  Afterwards every view equals its table value for
# value: the offset a view stores never ran ahead of its data (that would
# lose changes) nor behind it (a replayed change would be applied on a
# newer row; the comparison catches both).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

KILLS=${KILLS:-12}

view_stack_start
view_config "$b_ADDR" protobuf
cap_start app
mat_start

(
	while [ ! -f "$IT_DIR/work.stop" ]; do
		pg_sql "$(view_workload_sql)" >/dev/null || exit 1
	done
) &
WORK=$!
it_track "$WORK"

i=0
mat_wait_assigned 60
while [ $i -lt "$KILLS" ]; do
	sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 9 + 1 ))"
	case $((i % 4)) in
	0|2)
		mat_kill
		mat_start
		mat_wait_assigned 60
		;;
	1)
		cap_kill app
		cap_start app
		;;
	3)
		mat_kill
		it_broker_kill b
		it_broker_start b
		mat_start
		mat_wait_assigned 60
		;;
	esac
	i=$((i + 1))
done
touch "$IT_DIR/work.stop"
wait "$WORK" || it_fail "the workload failed"
cap_wait_caught_up sluice_app 120
view_wait_equal users users id 120
view_wait_equal items items 'sku COLLATE "C"' 60
# one more kill after the data settled changes nothing: once the restarted
# materializer has its partitions and the offsets the view stores are at
# the partitions' ends (anything it replayed is applied), the view is as it was
mat_kill
mat_start
mat_wait_assigned 60
settled() {
	"$SLUICE" status -c "$IT_DIR/sluice.ini" --timeout 3000 >"$IT_DIR/status.out" 2>&1
	grep -q "^view    users: .*: 3 partitions, 0 messages behind" "$IT_DIR/status.out"
}
it_wait 60 "sluice status to say view users is 0 messages behind after the restart" settled
view_equal users users id || it_fail "a restart after settling changed the view"
mat_stop
it_log "ok: $KILLS kills"
