#!/bin/sh
# test_views_e2e.sh: PostgreSQL -> sluice capture (protobuf) -> sluice broker
# -> sluice materialize -> LMDB views.  A random workload of inserts,
# updates (with unchanged TOASTed values), deletes and a truncate over many
# column types; once it settles every view equals its table row for row and
# value for value, as PostgreSQL prints them, and the secondary index
# answers like a WHERE clause.  Then `--rebuild` runs during more workload
# while a reader scans in a loop: the reader never fails or sees an empty
# view, and the rebuilt view equals the table.  /metrics counts the events.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

view_stack_start
pg_sql "INSERT INTO users (id, name, email) SELECT i, 'snap ' || i, 'e' || (i % 17) || '@x' FROM generate_series(1000, 1049) i"
view_config "$b_ADDR" "${VIEW_FORMAT:-protobuf}"
cap_start app
mat_start

i=0
while [ $i -lt 40 ]; do
	pg_sql "$(view_workload_sql)"
	i=$((i + 1))
done
# a toasted bio survives an update of another column (unchanged marker)
pg_sql "INSERT INTO users (id, name, bio) VALUES (5000, 'toast',
        (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 200)))"
pg_sql "UPDATE users SET name = 'toast2' WHERE id = 5000"
pg_sql "TRUNCATE items"
pg_sql "INSERT INTO items VALUES ('after-truncate', 'x', 1.5)"
cap_wait_caught_up sluice_app 60

view_wait_equal users users id 60
view_wait_equal items items 'sku COLLATE "C"' 30

# the secondary index answers like a WHERE clause
for e in e0@x e3@x e16@x nobody@x; do
	want=$(pg_sql "SELECT count(*) FROM users WHERE email = '$e'")
	got=$("$SLUICE" view -c "$IT_DIR/sluice.ini" lookup users by_email "$e" | wc -l)
	[ "$want" = "$got" ] || it_fail "lookup by_email $e: $got rows, table has $want"
done
"$SLUICE" view -c "$IT_DIR/sluice.ini" lookup users by_email nobody@x >/dev/null &&
	it_fail "lookup of an absent value exits 0"
"$SLUICE" view -c "$IT_DIR/sluice.ini" get users 5000 | grep -q '"name":"toast2"' ||
	it_fail "get users 5000 does not show the update"
rc=0
"$SLUICE" view -c "$IT_DIR/sluice.ini" get users 987654 >/dev/null || rc=$?
[ $rc -eq 1 ] || it_fail "get of an absent key exits $rc, not 1"
n=$("$SLUICE" view -c "$IT_DIR/sluice.ini" scan users --limit 3 | wc -l)
[ "$n" = 3 ] || it_fail "scan --limit 3 printed $n rows"
"$SLUICE" view -c "$IT_DIR/sluice.ini" scan users --prefix 1000 | grep -q '"id":1000' ||
	it_fail "scan --prefix 1000 does not find row 1000"

metrics=$(curl -s "http://127.0.0.1:$VIEW_HTTP/metrics")
echo "$metrics" | grep -q '^sluice_view_events_total{view="users"} [1-9]' ||
	it_fail "/metrics does not count events: $metrics"

# ---- rebuild during the workload, a reader scanning through the swap
(
	fails=0
	while [ ! -f "$IT_DIR/reader.stop" ]; do
		if ! "$SLUICE" view -c "$IT_DIR/sluice.ini" scan users >"$IT_DIR/reader.out" 2>"$IT_DIR/reader.err"; then
			fails=$((fails + 1))
			cat "$IT_DIR/reader.err" >>"$IT_DIR/reader.errors"
		elif [ ! -s "$IT_DIR/reader.out" ]; then
			fails=$((fails + 1))
			echo "empty scan" >>"$IT_DIR/reader.errors"
		fi
		echo x >>"$IT_DIR/reader.loops"
	done
	echo "$fails" >"$IT_DIR/reader.fails"
) &
READER=$!
it_track "$READER"
(
	j=0
	while [ $j -lt 30 ]; do
		pg_sql "$(view_workload_sql)"
		j=$((j + 1))
	done
) &
WORK=$!
it_track "$WORK"
old=$(readlink "$IT_DIR/views/users")
"$SLUICE" materialize -c "$IT_DIR/sluice.ini" --view users --rebuild >>"$IT_DIR/rebuild.log" 2>&1 ||
	{ cat "$IT_DIR/rebuild.log" >&2; it_fail "materialize --rebuild failed"; }
new=$(readlink "$IT_DIR/views/users")
[ "$old" != "$new" ] || it_fail "the rebuild did not swap the view ($old)"
[ -e "$IT_DIR/views/$old" ] && it_fail "the old view $old was not removed"
grep -q "events/s" "$IT_DIR/rebuild.log" || grep -q "swapped in" "$IT_DIR/rebuild.log" ||
	it_fail "the rebuild printed no progress"
wait "$WORK" || it_fail "the workload failed during the rebuild"
touch "$IT_DIR/reader.stop"
wait "$READER"
loops=$(wc -l <"$IT_DIR/reader.loops")
[ "$(cat "$IT_DIR/reader.fails")" = 0 ] ||
	it_fail "the reader failed during the rebuild: $(head -3 "$IT_DIR/reader.errors")"
it_log "reader scanned $loops times through the rebuild"
# the live materializer follows the swap: later changes reach the new view
j=0
while [ $j -lt 5 ]; do
	pg_sql "$(view_workload_sql)"
	j=$((j + 1))
done
pg_sql "UPDATE users SET name = 'after rebuild' WHERE id = 1000"
cap_wait_caught_up sluice_app 60
view_wait_equal users users id 60
grep -q "rebuilt and swapped in; reopening" "$IT_DIR/mat.log" ||
	it_fail "the live materializer did not reopen the swapped view"

mat_stop
grep -q "sluice: materialize" "$IT_DIR/mat.log" && it_fail "materialize logged an error: $(grep 'sluice: materialize' "$IT_DIR/mat.log")"
cap_stop app
it_log "ok"
