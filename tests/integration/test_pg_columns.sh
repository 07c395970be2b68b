#!/bin/sh
# test_pg_columns.sh: exclude_columns (Debezium's column.exclude.list)
# keeps columns out of every event, snapshot and stream, in both formats:
#  - the values of the named columns are nowhere in the topic, nor their
#    names (the protobuf schema), and the topic replays to the table
#    without them;
#  - a column added later that a pattern names stays out too (the schema
#    is the same, the source's tuples are one value wider);
#  - a key column cannot be left out: capture stops saying so;
#  - a pattern that is not schema.table.column is a config error naming
#    file and line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE people (id int PRIMARY KEY, name text, ssn text, pw text, n int);
        INSERT INTO people SELECT i, 'p' || i, 'SSN-SNAP-' || i, 'PW-SNAP-' || i, i
        FROM generate_series(1, 50) i;
        CREATE TABLE other (id int PRIMARY KEY, pw text, v text);
        INSERT INTO other VALUES (1, 'PW-OTHER-1', 'kept');"

excl="exclude_columns = public.people.ssn, *.*.pw, public.people.secret_*"
cap_config app "$b_ADDR" "tables = public.people, public.other" "format = json" "$excl"
cap_start app
grep -q 'table public.people: columns ssn, pw left out of its events (exclude_columns)' \
    "$IT_DIR/cap-app.log" || { cat "$IT_DIR/cap-app.log" >&2; it_fail "no line naming the columns left out"; }
pg_sql "INSERT INTO people VALUES (51, 'live', 'SSN-LIVE', 'PW-LIVE', 51);
        UPDATE people SET ssn = 'SSN-UPD', pw = 'PW-UPD', name = 'changed' WHERE id = 2;
        UPDATE people SET id = 200 WHERE id = 3;
        DELETE FROM people WHERE id = 4;
        INSERT INTO other VALUES (2, 'PW-OTHER-2', 'kept too');
        ALTER TABLE people ADD COLUMN secret_note text;
        INSERT INTO people VALUES (300, 'late', 'SSN-LATE', 'PW-LATE', 300, 'SECRET-LATE');
        UPDATE people SET secret_note = 'SECRET-UPD', n = -1 WHERE id = 1;"
cap_wait_caught_up sluice_app 60

# replay_equal TOPIC SQL FILE: the topic replays to what SQL selects
replay_equal() {
	cap_dump "$b_ADDR" "$1" "$IT_DIR/$3.dump"
	pg_sql "SELECT coalesce(json_agg(t), '[]') FROM ($2) t" >"$IT_DIR/$3.want"
	$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/$3.dump" "$IT_DIR/$3.want" ||
		it_fail "replaying $1 does not give back: $2"
}
replay_equal app.public.people "SELECT id, name, n FROM people" people
replay_equal app.public.other "SELECT id, v FROM other" other
grep -q '"name":"changed"' "$IT_DIR/people.dump" || it_fail "the streamed update is not in the topic"
grep -q '"name":"late"' "$IT_DIR/people.dump" || it_fail "the row inserted after ALTER TABLE is not in the topic"
for f in people other; do
	if grep -E -q 'SSN-|PW-|SECRET-|"ssn"|"pw"|"secret_note"' "$IT_DIR/$f.dump"; then
		grep -E 'SSN-|PW-|SECRET-|"ssn"|"pw"|"secret_note"' "$IT_DIR/$f.dump" | head -n 3 >&2
		it_fail "a left-out column or its value is in topic app.public.$f"
	fi
done
grep -q 'new schema version' "$IT_DIR/cap-app.log" &&
	it_fail "adding a left-out column made a new schema version"
cap_stop app

# protobuf: neither the values nor the names (the schema travels in the event)
cap_config pb "$b_ADDR" "tables = public.people" "$excl" "snapshot = initial"
cap_start pb
pg_sql "UPDATE people SET ssn = 'SSN-PB', pw = 'PW-PB', secret_note = 'SECRET-PB', name = 'NAME-PB' WHERE id = 5"
cap_wait_caught_up sluice_pb 60
kcat -b "$b_ADDR" -C -t pb.public.people -e -q -f '%s\n' >"$IT_DIR/pb.raw" 2>/dev/null ||
	it_fail "reading pb.public.people failed"
grep -a -q 'NAME-PB' "$IT_DIR/pb.raw" || it_fail "the protobuf topic does not hold the update"
for s in SSN- PW- SECRET- ssn secret_note; do
	grep -a -q -- "$s" "$IT_DIR/pb.raw" && it_fail "'$s' is in the protobuf events of pb.public.people"
done
grep -a -q 'name' "$IT_DIR/pb.raw" || it_fail "the protobuf events do not carry the kept column names"
cap_stop pb

# A publication with a column list (PostgreSQL 15) leaves columns out on
# the server: the snapshot leaves them out too.
if [ "${CAP_PLUGIN:-pgoutput}" = pgoutput ]; then
	pg_sql "CREATE TABLE cl (id int PRIMARY KEY, a text, hidden text);
	        INSERT INTO cl VALUES (1, 'a1', 'HIDDEN-SNAP');
	        CREATE PUBLICATION clpub FOR TABLE cl (id, a);"
	cap_config cl "$b_ADDR" "tables = public.cl" "publication = clpub" "format = json"
	cap_start cl
	pg_sql "INSERT INTO cl VALUES (2, 'a2', 'HIDDEN-LIVE'); UPDATE cl SET a = 'a1b' WHERE id = 1"
	cap_wait_caught_up sluice_cl 60
	replay_equal cl.public.cl "SELECT id, a FROM cl" cl
	if grep -E -q 'HIDDEN-|"hidden"' "$IT_DIR/cl.dump"; then
		grep -E 'HIDDEN-|"hidden"' "$IT_DIR/cl.dump" | head -n 3 >&2
		it_fail "a column the publication's column list leaves out is in cl.public.cl"
	fi
	cap_stop cl
fi

# a key column: refused, by name
cap_config key "$b_ADDR" "tables = public.people" "exclude_columns = public.people.id"
if timeout 60 "$SLUICE" capture -c "$IT_DIR/cap-key.ini" >"$IT_DIR/key.out" 2>&1; then
	it_fail "capture leaving out the key column started"
fi
grep -q 'exclude_columns: column id of public.people is part of the message key' "$IT_DIR/key.out" ||
	{ tail -n 5 "$IT_DIR/key.out" >&2; it_fail "the refusal does not name the key column"; }

# a pattern without schema.table.column
cap_config bad "$b_ADDR" "tables = public.people" "exclude_columns = people.ssn"
if "$SLUICE" capture -c "$IT_DIR/cap-bad.ini" >"$IT_DIR/bad.out" 2>&1; then
	it_fail "exclude_columns = people.ssn was accepted"
fi
grep -q "cap-bad.ini:[0-9]*: \[source \"bad\"\] exclude_columns: 'people.ssn' is not a pattern ns.table.column" \
    "$IT_DIR/bad.out" || { cat "$IT_DIR/bad.out" >&2; it_fail "the bad pattern error does not name file and line"; }
it_log "exclude_columns: ok"
