#!/bin/sh
# test_status.sh: `sluice status -c FILE` says what is up and what is not,
# and its exit status follows: before anything ran (no slot, no view: 3),
# with capture and materialize running and caught up (0: slot active, the
# view 0 messages behind), with capture stopped (slot inactive: 3), with a
# view behind (its lag counted from the offsets it stores, and from the
# start of a partition it has applied nothing from yet), and with the
# broker down (3).  It never creates anything: the slot is still absent
# after the first call.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE t (id int PRIMARY KEY, v text)"
{
	echo "[broker]"
	echo "listen = $b_ADDR"
	echo "[source \"app\"]"
	echo "type = postgres"
	echo "dsn = $PG_DSN"
	echo "tables = public.t"
	echo "topic_prefix = app"
	echo "status_interval = 200ms"
	echo "spool_dir = $IT_DIR/spool"
	echo "topic.partitions = 2"
	echo "[view \"v\"]"
	echo "topics = app.public.t"
	echo "path = $IT_DIR/views/v"
	echo "batch_ms = 10"
} >"$IT_DIR/sluice.ini"
cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-app.ini"

# status RC: run it, keep stdout in $IT_DIR/status.out, check the exit status
status() {
	set +e
	"$SLUICE" status -c "$IT_DIR/sluice.ini" --timeout 3000 >"$IT_DIR/status.out" 2>"$IT_DIR/status.err"
	rc=$?
	set -e
	cat "$IT_DIR/status.out" >&2
	[ "$rc" = "$1" ] || it_fail "sluice status exited $rc, expected $1"
}
says() {
	grep -q -- "$1" "$IT_DIR/status.out" || it_fail "sluice status did not say '$1'"
}

status 3
says "^broker  $b_ADDR: up"
says "^source  app: slot sluice_app does not exist"
says "^view    v: .*not built yet"
[ "$(pg_sql "SELECT count(*) FROM pg_replication_slots")" = 0 ] ||
	it_fail "sluice status created a slot"

cap_start app
mat_start
# one row: one of the two partitions stays empty, so the view stores one offset
pg_sql "INSERT INTO t VALUES (1, 'x1')"
view_rows() {
	[ "$("$SLUICE" view -c "$IT_DIR/sluice.ini" scan v | wc -l)" = 1 ]
}
it_wait 60 "the row in view v" view_rows
settled() {
	"$SLUICE" status -c "$IT_DIR/sluice.ini" >"$IT_DIR/status.out" 2>/dev/null &&
		grep -q "^view    v: .*: 2 partitions, 0 messages behind" "$IT_DIR/status.out"
}
it_wait 30 "status 0 with view v caught up" settled
status 0
says "^source  app: slot sluice_app active, confirmed [0-9A-F]*/[0-9A-F]*"

# a view that falls behind: stop materialize, write 50 more rows, which
# land in both partitions (murmur2 of 50 keys), also the one never applied
mat_stop
pg_sql "INSERT INTO t SELECT i, 'y' || i FROM generate_series(201, 250) i"
cap_wait_caught_up sluice_app 60
lag50() {
	"$SLUICE" status -c "$IT_DIR/sluice.ini" >"$IT_DIR/status.out" 2>/dev/null
	grep -q "^view    v: .*: 2 partitions, 50 messages behind" "$IT_DIR/status.out"
}
it_wait 30 "view v 50 messages behind" lag50

cap_stop app
# the server releases the slot when its walsender has seen capture go,
# which may be a moment after capture exited
slot_released() {
	[ "$(pg_sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_app'")" = f ]
}
it_wait 30 "the server to release slot sluice_app after capture stopped" slot_released
status 3
says "^source  app: slot sluice_app inactive"

it_broker_stop b
status 3
says "^broker  $b_ADDR: down"
it_log "ok"
