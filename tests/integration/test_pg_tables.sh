#!/bin/sh
# test_pg_tables.sh: which tables capture takes and where their changes go.
#  - a partitioned table: the snapshot copies it whole, and the changes of
#    its partitions (pgoutput sends them as the partitions' own), one made
#    after capture started included, go to the partitioned table's topic,
#    so replaying that one topic gives the table back; a row moving between
#    partitions is a delete and an insert there;
#  - a TRUNCATE of one partition is not passed on (it would empty the whole
#    table in a view) and says so; a TRUNCATE of the table is;
#  - table names with characters a Kafka topic name cannot hold ("Order
#    Items", "café") go to topics with '_' in their place, two tables that
#    would share a topic are refused by name at start, and a table renamed
#    onto the same topic while capture runs goes on there with a warning;
#  - an existing publication that leaves out a table 'tables' matches gets
#    a warning naming it and the ALTER PUBLICATION that adds it;
#  - a table without columns is copied (COPY t () was a syntax error);
#  - an unlogged table (no WAL, refused by CREATE PUBLICATION, which stopped
#    capture at start when public.* matched one) is left out with a warning,
#    and a publication sluice creates works (the last part);
#  - capture's catalog connection, closed under it, is opened again;
#  - a FOR ALL TABLES publication does not bring in a table 'tables'
#    excludes (it did: every published table got a topic);
#  - a LATIN1 database gives UTF-8 events, snapshot and stream;
#  - a row past producer.message.max.bytes stops capture saying so;
#  - a topic_prefix (or a source name standing in for it) that no topic
#    name can start with is a config error naming file and line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE ev (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
        CREATE TABLE ev_1 PARTITION OF ev FOR VALUES FROM (0) TO (100);
        CREATE TABLE ev_2 PARTITION OF ev FOR VALUES FROM (100) TO (200);
        INSERT INTO ev SELECT i, 'snap' || i FROM generate_series(1, 150) i;
        CREATE TABLE \"Order Items\" (id int PRIMARY KEY, v text);
        CREATE TABLE \"café\" (id int PRIMARY KEY, v text);
        INSERT INTO \"Order Items\" VALUES (1, 'one');
        INSERT INTO \"café\" VALUES (1, 'crème');
        CREATE TABLE left_out (id int PRIMARY KEY);
        CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);
        CREATE TABLE nocols (); INSERT INTO nocols DEFAULT VALUES;
        CREATE PUBLICATION pub FOR TABLE ev, \"Order Items\", \"café\", nocols;"

cap_config app "$b_ADDR" "tables = public.*" "publication = pub" "format = json" \
    "topic.partitions = 3"
cap_start app
log="$IT_DIR/cap-app.log"
grep -q 'WARN .*publication pub does not include 1 table .*public.left_out.*ALTER PUBLICATION "pub" ADD TABLE public.left_out;' "$log" ||
	{ cat "$log" >&2; it_fail "no warning naming the table the publication leaves out"; }
grep -q 'table public.Order Items goes to topic app.public.Order_Items' "$log" ||
	it_fail "no line saying where \"Order Items\" goes"
grep -q 'snapshot of public.ev: 150 rows' "$log" || it_fail "the partitioned table was not copied whole"
grep -q 'snapshot of public.nocols: 1 rows' "$log" || it_fail "the table without columns was not copied"
grep -q "WARN .*'tables' matches 1 unlogged table, left out: public.scratch" "$log" ||
	it_fail "no warning that the unlogged table is left out"

pg_sql "INSERT INTO ev VALUES (175, 'a'), (185, 'b');
        UPDATE ev SET v = 'updated' WHERE id = 5;
        UPDATE ev SET id = 160 WHERE id = 20;
        DELETE FROM ev WHERE id = 130;
        CREATE TABLE ev_3 PARTITION OF ev FOR VALUES FROM (200) TO (300);
        INSERT INTO ev VALUES (250, 'in a new partition');
        INSERT INTO \"Order Items\" VALUES (2, 'two');
        UPDATE \"café\" SET v = 'thé' WHERE id = 1;"
cap_wait_caught_up sluice_app 60

# replay_equal TOPIC SQL_TABLE FILE
replay_equal() {
	cap_dump "$b_ADDR" "$1" "$IT_DIR/$3.dump"
	pg_sql "SELECT coalesce(json_agg(t), '[]') FROM $2 t" >"$IT_DIR/$3.want"
	$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/$3.dump" "$IT_DIR/$3.want" ||
		it_fail "replaying $1 does not give table $2 back"
}
replay_equal app.public.ev ev ev
replay_equal app.public.Order_Items '"Order Items"' items
replay_equal app.public.caf_ '"café"' cafe
grep -q '"table":"ev"' "$IT_DIR/ev.dump" || it_fail "events of ev do not name table ev"
grep -q '"table":"ev_' "$IT_DIR/ev.dump" && it_fail "an event names a partition, not ev"
grep -q '"v":"in a new partition"' "$IT_DIR/ev.dump" ||
	it_fail "the row of the partition made after the start is not in app.public.ev"
grep -q '"v":"thé"' "$IT_DIR/cafe.dump" || it_fail "the update of café is not in its topic"
"$SLUICE" topics -b "$b_ADDR" list >"$IT_DIR/topics.txt" 2>&1 ||
	it_fail "sluice topics list failed"
grep -q '^app.public.ev_' "$IT_DIR/topics.txt" && it_fail "a partition got a topic of its own"

# One partition truncated: not passed on, and said so.
n_t=$(grep -c '"op":"t"' "$IT_DIR/ev.dump" || true)
pg_sql "TRUNCATE ev_2"
cap_wait_caught_up sluice_app 60
it_wait 20 "the warning about the partition's truncate" \
    grep -q 'WARN .*TRUNCATE at LSN .* of 1 of the 3 partitions of public.ev is not passed on' "$log"
cap_dump "$b_ADDR" app.public.ev "$IT_DIR/ev2.dump"
[ "$(grep -c '"op":"t"' "$IT_DIR/ev2.dump" || true)" = "$n_t" ] ||
	it_fail "a truncate of one partition reached app.public.ev"

# The whole table truncated: one truncate per topic partition, and the
# replay is the table again.
pg_sql "TRUNCATE ev"
pg_sql "INSERT INTO ev VALUES (1, 'after the truncate')"
cap_wait_caught_up sluice_app 60
replay_equal app.public.ev ev ev3
[ "$(grep -c '"op":"t"' "$IT_DIR/ev3.dump")" = "$((n_t + 3))" ] ||
	it_fail "TRUNCATE ev did not give one truncate event per topic partition"
cap_stop app

# Two tables whose topics would be one: refused by name.
pg_sql 'CREATE TABLE "a b" (id int PRIMARY KEY); CREATE TABLE a_b (id int PRIMARY KEY);'
cap_config clash "$b_ADDR" "tables = public.a?b" "format = json"
if "$SLUICE" capture -c "$IT_DIR/cap-clash.ini" >"$IT_DIR/clash.out" 2>&1; then
	it_fail "capture of two tables sharing a topic name started"
fi
grep -q 'tables public.a b and public.a_b both map to topic clash.public.a_b' "$IT_DIR/clash.out" ||
	grep -q 'tables public.a_b and public.a b both map to topic clash.public.a_b' "$IT_DIR/clash.out" ||
	{ cat "$IT_DIR/clash.out" >&2; it_fail "the clash does not name both tables and the topic"; }

# A publication capture creates itself leaves the unlogged table out.
cap_config own "$b_ADDR" "tables = public.*, !public.a?b" "format = json" "snapshot = never"
cap_start own
grep -q 'created publication sluice_own for 5 tables' "$IT_DIR/cap-own.log" ||
	{ cat "$IT_DIR/cap-own.log" >&2; it_fail "capture did not create its publication without the unlogged table"; }
# A table renamed while capture runs to a name with the same topic: its
# changes go on there (a warning, not the start's refusal).
pg_sql 'INSERT INTO "Order Items" VALUES (3, '"'three'"'); ALTER TABLE "Order Items" RENAME TO "Order_Items";
        INSERT INTO "Order_Items" VALUES (4, '"'four'"');'
cap_wait_caught_up sluice_own 60
it_wait 20 "the warning about the renamed table's topic" \
    grep -q 'WARN .*table public.Order_Items now goes to topic own.public.Order_Items, public.Order Items' "$IT_DIR/cap-own.log"
cap_dump "$b_ADDR" own.public.Order_Items "$IT_DIR/own-items.dump"
grep -q '"v":"four"' "$IT_DIR/own-items.dump" || it_fail "the row inserted after the rename is not in own.public.Order_Items"
# The catalog connection closed under capture (a proxy, idle_session_timeout):
# the next lookup (a new partition's Relation) connects again.
pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'sluice-capture' AND backend_type = 'client backend'" >/dev/null
pg_sql "CREATE TABLE ev_4 PARTITION OF ev FOR VALUES FROM (400) TO (500);
        INSERT INTO ev VALUES (401, 'after the catalog connection was closed')"
cap_wait_caught_up sluice_own 60
grep -q 'WARN .*the catalog connection was lost' "$IT_DIR/cap-own.log" ||
	it_fail "capture did not say it connected its catalog connection again"
cap_dump "$b_ADDR" own.public.ev "$IT_DIR/own-ev.dump"
grep -q '"v":"after the catalog connection was closed"' "$IT_DIR/own-ev.dump" ||
	it_fail "the row written after the catalog connection was closed is not in own.public.ev"
cap_stop own

# A LATIN1 database: events are UTF-8 all the same (capture asks for
# client_encoding UTF8; left alone, the walsender and COPY sent LATIN1).
pg_sql "CREATE DATABASE l1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
l1_sql() {
	PGCLIENTENCODING=UTF8 "$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d l1 \
	    -v ON_ERROR_STOP=1 -Atqc "$1"
}
l1_sql "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'café au lait')"
dsn_app=$PG_DSN
PG_DSN="host=$PG_SOCK port=$PG_PORT dbname=l1 user=postgres"
cap_config latin "$b_ADDR" "tables = public.t" "format = json"
PG_DSN=$dsn_app
cap_start latin
l1_sql "INSERT INTO t VALUES (2, 'crème brûlée'); UPDATE t SET v = 'naïve' WHERE id = 1"
it_wait 30 "three events of the LATIN1 table" \
    sh -c "kcat -b '$b_ADDR' -C -t latin.public.t -e -q -f '%s\n' 2>/dev/null | grep -c . | grep -qx 3"
kcat -b "$b_ADDR" -C -t latin.public.t -e -q -f '%s\n' >"$IT_DIR/latin.json"
$IT_PY - "$IT_DIR/latin.json" <<'PY' || it_fail "events of the LATIN1 database are not the right UTF-8"
import json, sys
got = sorted(json.loads(l.decode("utf-8"))["after"]["v"] for l in open(sys.argv[1], "rb"))
want = sorted(["café au lait", "crème brûlée", "naïve"])
print("values:", got)
sys.exit(0 if got == want else 1)
PY
cap_stop latin

# A publication with more tables than 'tables' names (FOR ALL TABLES, as
# Debezium's default publication): the others stay out of the topics.
pg_sql "CREATE PUBLICATION everything FOR ALL TABLES"
cap_config only "$b_ADDR" "tables = public.*, !public.ev, !public.a?b" "publication = everything" \
    "format = json" "snapshot = never"
cap_start only
pg_sql "INSERT INTO ev VALUES (402, 'excluded'); INSERT INTO left_out VALUES (7)"
cap_wait_caught_up sluice_only 60
grep -q "table public.ev is published but 'tables' leaves it out" "$IT_DIR/cap-only.log" ||
	it_fail "no line saying the excluded, published table is left out"
"$SLUICE" topics -b "$b_ADDR" list >"$IT_DIR/topics2.txt" 2>&1
grep -qx 'only.public.ev' "$IT_DIR/topics2.txt" && it_fail "an excluded table got a topic through a FOR ALL TABLES publication"
cap_dump "$b_ADDR" only.public.left_out "$IT_DIR/only.dump"
grep -q '"id":7' "$IT_DIR/only.dump" || it_fail "the included table's row is missing"
cap_stop only

# A row larger than the producer's message.max.bytes: an error that says
# which setting to raise.
pg_sql "CREATE TABLE big (id int PRIMARY KEY, v text)"
cap_config big "$b_ADDR" "tables = public.big" "format = json" "snapshot = never" \
    "producer.message.max.bytes = 1000000"
cap_start big
pg_sql "INSERT INTO big VALUES (1, repeat('x', 2000000))"
it_wait 60 "capture to stop on the 2 MB row" sh -c "! kill -0 $(cap_pid big) 2>/dev/null"
grep -q "larger than the producer's message.max.bytes: raise producer.message.max.bytes" "$IT_DIR/cap-big.log" ||
	{ tail -n 5 "$IT_DIR/cap-big.log" >&2; it_fail "the error does not say to raise producer.message.max.bytes"; }

# A prefix no topic name can start with.
cap_config bad "$b_ADDR" "tables = public.ev" "topic_prefix = my app"
"$SLUICE" capture -c "$IT_DIR/cap-bad.ini" >"$IT_DIR/bad.out" 2>&1 &&
	it_fail "topic_prefix 'my app' was accepted"
grep -q "cap-bad.ini:[0-9]*: \[source \"bad\"\] topic_prefix: 'my app' has ' ' at character 3" "$IT_DIR/bad.out" ||
	{ cat "$IT_DIR/bad.out" >&2; it_fail "the bad topic_prefix error does not name file, line and character"; }
cap_config "my app" "$b_ADDR" "tables = public.ev"
"$SLUICE" capture -c "$IT_DIR/cap-my app.ini" >"$IT_DIR/name.out" 2>&1 &&
	it_fail "a source name with a space was taken as the topic prefix"
grep -q "it is the source's name: set topic_prefix" "$IT_DIR/name.out" ||
	{ cat "$IT_DIR/name.out" >&2; it_fail "the error does not say to set topic_prefix"; }
it_log "partitions, names and publication coverage: ok"
