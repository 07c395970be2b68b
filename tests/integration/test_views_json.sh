#!/bin/sh
# test_views_json.sh: the same path with format = json (the Debezium
# envelope) on both sides: inserts, updates (a TOASTed value left unchanged
# arrives as Debezium's placeholder and is taken from the stored row),
# deletes (and their tombstones) and a primary-key change; the view equals
# the table, and the index answers lookups.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE people (id int PRIMARY KEY, name text, flag bool, n bigint NOT NULL, bio text)"
{
	echo "[source \"app\"]"
	echo "type = postgres"
	echo "dsn = $PG_DSN"
	echo "bootstrap = $b_ADDR"
	echo "tables = public.people"
	echo "topic_prefix = app"
	echo "format = json"
	echo "status_interval = 200ms"
	echo "spool_dir = $IT_DIR/spool"
	echo "[view \"people\"]"
	echo "topics = app.public.people"
	echo "path = $IT_DIR/views/people"
	echo "format = json"
	echo "index.by_name = name"
	echo "bootstrap = $b_ADDR"
	echo "batch_ms = 10"
	# the same table again through json.schemas = true (JsonConverter's
	# {"schema","payload"} form): the view takes the payload
	echo "[source \"sch\"]"
	echo "type = postgres"
	echo "dsn = $PG_DSN"
	echo "bootstrap = $b_ADDR"
	echo "tables = public.people"
	echo "format = json"
	echo "json.schemas = true"
	echo "status_interval = 200ms"
	echo "spool_dir = $IT_DIR/spool-sch"
	echo "[view \"people_sch\"]"
	echo "topics = sch.public.people"
	echo "path = $IT_DIR/views/people_sch"
	echo "format = json"
	echo "index.by_name = name"
	echo "bootstrap = $b_ADDR"
	echo "batch_ms = 10"
} >"$IT_DIR/sluice.ini"
cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-app.ini"
cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-sch.ini"
cap_start_source() {
	"$SLUICE" capture -c "$IT_DIR/cap-$1.ini" --source "$1" >>"$IT_DIR/cap-$1.log" 2>&1 &
	echo $! >"$IT_DIR/cap-$1.pid"
	it_track "$(cat "$IT_DIR/cap-$1.pid")"
	it_wait 60 "capture $1 to stream" grep -q "streaming from slot" "$IT_DIR/cap-$1.log"
}
cap_start_source app
cap_start_source sch
mat_start

pg_sql "INSERT INTO people SELECT i, 'name ' || (i % 7), i % 2 = 0, i::bigint * 1000000000, 'short'
        FROM generate_series(1, 300) i"
pg_sql "UPDATE people SET bio = (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 200))
        WHERE id % 10 = 0"
pg_sql "UPDATE people SET name = 'renamed', n = -n WHERE id % 10 = 0"
pg_sql "DELETE FROM people WHERE id % 3 = 0"
pg_sql "UPDATE people SET id = id + 1000 WHERE id = 1"
pg_sql "UPDATE people SET flag = NULL WHERE id = 2"
cap_wait_caught_up sluice_app 60
cap_wait_caught_up sluice_sch 60
view_wait_equal people people id 60
view_wait_equal people_sch people id 60
cap_dump "$b_ADDR" sch.public.people "$IT_DIR/sch.dump"
# (n is NOT NULL, and optional all the same: a delete's old image holds
# the key only)
$IT_PY "$(dirname "$0")/connect_json.py" "$IT_DIR/sch.dump" --expect-field int64:-:n \
    --expect-required id ||
	it_fail "sch.public.people is not what JsonConverter reads (see above)"

want=$(pg_sql "SELECT count(*) FROM people WHERE name = 'renamed'")
got=$("$SLUICE" view -c "$IT_DIR/sluice.ini" lookup people by_name renamed | wc -l)
[ "$want" = "$got" ] || it_fail "lookup by_name renamed: $got rows, table has $want"
grep -q "__debezium_unavailable_value" "$IT_DIR/people.view" &&
	it_fail "an unchanged placeholder reached the view"
mat_stop
cap_stop app
cap_stop sch
it_log "ok"
