#!/bin/sh
# test_views_edge.sh: PostgreSQL -> sluice capture -> broker -> LMDB views
# in less common shapes of the source tables: a table whose name is not a
# valid topic name ("Order Items" -> app.public.Order_Items), a partitioned
# table (changes of its partitions, a TRUNCATE of the root), a composite
# primary key of text, numeric, uuid and timestamptz parts (get, scan
# order, an oversized index value, NULLs), an ad-hoc snapshot signal, and
# a secondary index on a column added by ALTER TABLE after the first rows:
# `lookup` finds the rows that have it even though the first row in key
# order was written before the column existed.  Each view must end equal
# to its table.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE \"Order Items\" (id int PRIMARY KEY, note text);
CREATE TABLE meas (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE meas_eu PARTITION OF meas FOR VALUES IN ('eu');
CREATE TABLE meas_us PARTITION OF meas FOR VALUES IN ('us');
CREATE TABLE ck (t text, n numeric, u uuid, ts timestamptz, tag text, other int,
  PRIMARY KEY (t, n, u, ts));
CREATE TABLE people (id int PRIMARY KEY, name text);
INSERT INTO \"Order Items\" VALUES (1, 'snap');
INSERT INTO meas VALUES (1, 'eu', 1), (2, 'us', 2);
INSERT INTO people SELECT i, 'p' || i FROM generate_series(1, 20) i;"
{
	view_source "$b_ADDR" "public.*" protobuf
	for v in oi:Order_Items meas:meas ck:ck people:people; do
		echo "[view \"${v%%:*}\"]"
		echo "topics = app.public.${v#*:}"
		echo "path = $IT_DIR/views/${v%%:*}"
		echo "bootstrap = $b_ADDR"
		echo "batch_ms = 20"
		case $v in
		ck:*) echo "index.by_tag = tag"; echo "index.by_other = other" ;;
		people:*) echo "index.by_email = email" ;;
		esac
		echo "consumer.session.timeout.ms = 6000"
		echo "consumer.heartbeat.interval.ms = 500"
	done
} >"$IT_DIR/sluice.ini"
cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-app.ini"
cap_start app
mat_start

V() { "$SLUICE" view -c "$IT_DIR/sluice.ini" "$@"; }
CK_ORDER='t COLLATE "C", n::text COLLATE "C", u, ts'

pg_sql "INSERT INTO \"Order Items\" VALUES (2, 'two'), (3, NULL);
        UPDATE \"Order Items\" SET note = 'x' WHERE id = 1; DELETE FROM \"Order Items\" WHERE id = 3"
pg_sql "INSERT INTO meas VALUES (3, 'eu', 3), (4, 'us', 4);
        UPDATE meas SET region = 'us' WHERE id = 1; DELETE FROM meas WHERE id = 2"
pg_sql "INSERT INTO ck VALUES
  ('a', 1.50, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-01-01 00:00:00+00', NULL, 1),
  ('a', 10, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '2024-01-01 00:00:00+00', repeat('x', 600), 2),
  ('a', 10, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '2024-01-01 00:00:00.5+00', 'tag', 2),
  ('b c', 2, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 'infinity', 'tag', NULL),
  ('b c', 2, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', '-infinity', NULL, NULL)"
# an index on a column added after the first rows were written
pg_sql "ALTER TABLE people ADD COLUMN email text;
        UPDATE people SET email = 'e' || (id % 3) || '@x' WHERE id > 10;
        INSERT INTO people VALUES (21, 'p21', 'e1@x')"
cap_wait_caught_up sluice_app 60

view_wait_equal oi '"Order Items"' id 30
view_wait_equal meas meas 'id, region COLLATE "C"' 30
view_wait_equal ck ck "$CK_ORDER" 30
# rows 1-10 keep the shape they were written in (no email); wait for the last
end=$(( $(date +%s) + 30 ))
until V get people 21 >/dev/null 2>&1; do
	[ "$(date +%s)" -lt "$end" ] || it_fail "view people does not get row 21"
	sleep 0.3
done

# the table keeps its real name in the view
V --table 'public.Order Items' get oi 2 | grep -q '"note":"two"' ||
	it_fail "get oi 2 under the table's real name does not find the row"
# composite keys: every part parsed by its type
V get ck a 1.50 a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 '2024-01-01 00:00:00+00' | grep -q '"other":1' ||
	it_fail "get ck with a text, numeric, uuid, timestamptz key"
V get ck 'b c' 2 a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13 -infinity | grep -q '"tag":null' ||
	it_fail "get ck with a -infinity key part"
n=$(V scan ck --prefix a | wc -l)
[ "$n" = 3 ] || it_fail "scan ck --prefix a: $n rows, not 3"
# an index value past LMDB's key limit is not indexed, the others are
n=$(V lookup ck by_tag tag | wc -l)
[ "$n" = 2 ] || it_fail "lookup ck by_tag tag: $n rows, not 2"
n=$(V lookup ck by_other 2 | wc -l)
[ "$n" = 2 ] || it_fail "lookup ck by_other 2: $n rows, not 2"
# the index on the added column answers like a WHERE clause
for e in e0@x e1@x e2@x; do
	want=$(pg_sql "SELECT count(*) FROM people WHERE email = '$e'")
	got=$(V lookup people by_email "$e" 2>"$IT_DIR/lookup.err" | wc -l)
	[ "$want" = "$got" ] || { cat "$IT_DIR/lookup.err" >&2
		it_fail "lookup people by_email $e: $got rows, table has $want"; }
done

# TRUNCATE of the partitioned table empties its view; later rows stay
pg_sql "TRUNCATE meas"
pg_sql "INSERT INTO meas VALUES (9, 'eu', 9), (10, 'us', 10)"
# an ad-hoc snapshot (truncate to every partition, then op r rows) after
# changes; the view ends equal to the table
pg_sql "INSERT INTO \"Order Items\" VALUES (7, 'seven'); DELETE FROM ck WHERE tag IS NULL AND t = 'b c'"
snaps=$(grep -c "snapshot done" "$IT_DIR/cap-app.log" || true)
pg_sql "SELECT pg_logical_emit_message(true, 'sluice.snapshot', 'public.ck, public.\"Order Items\", public.meas')" >/dev/null
pg_sql "UPDATE ck SET other = 5 WHERE t = 'a' AND n = 1.50; INSERT INTO \"Order Items\" VALUES (8, 'eight')"
cap_wait_caught_up sluice_app 60
end=$(( $(date +%s) + 60 ))
until [ "$(grep -c "snapshot done" "$IT_DIR/cap-app.log" || true)" -gt "$snaps" ]; do
	[ "$(date +%s)" -lt "$end" ] || it_fail "the ad-hoc snapshot did not finish in 60 s"
	sleep 0.3
done
cap_wait_caught_up sluice_app 60
view_wait_equal oi '"Order Items"' id 30
view_wait_equal meas meas 'id, region COLLATE "C"' 30
view_wait_equal ck ck "$CK_ORDER" 30
n=$(V scan meas | wc -l)
[ "$n" = 2 ] || it_fail "meas after TRUNCATE: $n rows, not 2"

mat_stop
grep -q "ERROR" "$IT_DIR/mat.log" && { grep ERROR "$IT_DIR/mat.log" >&2; it_fail "materialize logged an error"; }
it_log "ok"
