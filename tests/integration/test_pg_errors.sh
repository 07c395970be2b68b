#!/bin/sh
# test_pg_errors.sh: capture's refusals say exactly what is wrong.
#  - a role without REPLICATION: the error names the attribute and the
#    ALTER ROLE that grants it;
#  - a role without SELECT on a captured table: the GRANT is named;
#  - a role that may not create the publication (not the tables' owner):
#    the error says ownership is needed;
#  - a slot invalidated by max_slot_wal_keep_size (wal_status lost): capture
#    stops with exit status 3 and says how to re-snapshot, and produces
#    nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start "-c max_slot_wal_keep_size=1MB -c wal_keep_size=0 -c max_wal_size=32MB -c min_wal_size=32MB"
it_broker_start b
pg_sql "CREATE TABLE t (id int PRIMARY KEY, v text);
        CREATE TABLE filler (v text);
        CREATE ROLE norep LOGIN;
        CREATE ROLE nosel LOGIN REPLICATION;
        CREATE ROLE noown LOGIN REPLICATION;
        GRANT SELECT ON t TO noown;
        GRANT CREATE ON DATABASE app TO noown;"

expect_fail() {	# NAME USER PATTERN
	sed "s/user=postgres/user=$2/" "$IT_DIR/cap-app.ini" >"$IT_DIR/cap-$1.ini"
	if "$SLUICE" capture -c "$IT_DIR/cap-$1.ini" >"$IT_DIR/$1.out" 2>&1; then
		it_fail "$1: capture as $2 succeeded"
	fi
	grep -q "$3" "$IT_DIR/$1.out" || {
		cat "$IT_DIR/$1.out" >&2
		it_fail "$1: the error does not say '$3'"
	}
	it_log "$1: $(grep 'sluice: capture' "$IT_DIR/$1.out" | cut -c1-160)"
}

cap_config app "$b_ADDR" "tables = public.t" "format = json"
sed -i 's/^\[source "app"\]/[source "app"]/' "$IT_DIR/cap-app.ini"
expect_fail norep norep 'lacks the REPLICATION attribute.*ALTER ROLE "norep" REPLICATION'
expect_fail nosel nosel 'lacks SELECT on table public.t.*GRANT SELECT ON "public"."t" TO "nosel"'
expect_fail noown noown 'CREATE PUBLICATION needs ownership'

# A lost slot.
cap_start app
pg_sql "INSERT INTO t VALUES (1, 'one')"
cap_wait_caught_up sluice_app 60
cap_stop app
i=0
while [ "$(pg_sql "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'sluice_app'")" != lost ]; do
	# A CHECKPOINT can fail while the server is invalidating the slot (the
	# walsender is still exiting); the loop retries, so that is no failure.
	pg_sql "INSERT INTO filler SELECT repeat('x', 200) FROM generate_series(1, 20000); SELECT pg_switch_wal(); CHECKPOINT;" >/dev/null 2>&1 || true
	i=$((i + 1))
	[ $i -lt 30 ] || it_fail "the slot did not become lost"
done
pg_sql "INSERT INTO t VALUES (2, 'after the gap')"
set +e
"$SLUICE" capture -c "$IT_DIR/cap-app.ini" >"$IT_DIR/lost.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 3 ] || { cat "$IT_DIR/lost.out" >&2; it_fail "capture on a lost slot exited $rc, not 3"; }
grep -q "invalidated.*wal_status lost.*pg_drop_replication_slot('sluice_app').*snapshot = initial" "$IT_DIR/lost.out" ||
	{ cat "$IT_DIR/lost.out" >&2; it_fail "the lost-slot error does not say how to re-snapshot"; }
kcat -C -b "$b_ADDR" -t app.public.t -e -q -f '%s\n' | grep -q "after the gap" &&
	it_fail "a change after the gap was produced"
it_log "lost slot: $(grep 'sluice: capture' "$IT_DIR/lost.out" | cut -c1-120)..."
