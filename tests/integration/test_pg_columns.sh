#!/bin/sh
# test_pg_columns.sh: which columns events carry and are keyed on.
# exclude_columns (Debezium's column.exclude.list) keeps columns out of
# every event, snapshot and stream, in both formats:
#  - the values of the named columns are nowhere in the topic, nor their
#    names (the protobuf schema), and the topic replays to the table
#    without them;
#  - a column added later that a pattern names stays out too (the schema
#    is the same, the source's tuples are one value wider);
#  - a key column cannot be left out: capture stops saying so;
#  - a pattern that is not schema.table.column is a config error naming
#    file and line;
#  - a publication's column list leaves the columns out of the snapshot too.
# mask_columns (Debezium's column.mask.hash) hashes text columns with a salt.
# key_columns (Debezium's message.key.columns) keys a table without a
# primary key on the columns it names, and refuses columns the old image
# would not carry, a column the table lacks, and an entry without columns.
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

# key_columns (Debezium's message.key.columns): a table without a primary
# key (REPLICA IDENTITY FULL) keyed on the columns named, so its topic is
# compacted and replays by key; a change of those columns is a delete of
# the old key and a create of the new one.
pg_sql "CREATE TABLE nokey (a int NOT NULL, b text NOT NULL, c text);
        ALTER TABLE nokey REPLICA IDENTITY FULL;
        INSERT INTO nokey VALUES (1, 'x', 'c1'), (2, 'y', 'c2'), (3, 'z', 'c3');
        CREATE TABLE pkt (id int PRIMARY KEY, code text UNIQUE NOT NULL);
        INSERT INTO pkt VALUES (1, 'one');"
cap_config kc "$b_ADDR" "tables = public.nokey" "format = json" "key_columns = public.nokey:a,b"
cap_start kc
pg_sql "INSERT INTO nokey VALUES (4, 'w', 'c4');
        UPDATE nokey SET c = 'c1b' WHERE a = 1;
        UPDATE nokey SET a = 20 WHERE a = 2;
        DELETE FROM nokey WHERE a = 3;"
cap_wait_caught_up sluice_kc 60
grep -q 'created topic kc.public.nokey (6 partitions, compacted)' "$IT_DIR/b/broker.log" ||
	it_fail "the topic of a table keyed by key_columns is not compacted"
replay_equal kc.public.nokey "SELECT a, b, c FROM nokey" nokey
cut -f3 "$IT_DIR/nokey.dump" | sort -u >"$IT_DIR/nokey.keys"
grep -qx '{"a":20,"b":"y"}' "$IT_DIR/nokey.keys" || { cat "$IT_DIR/nokey.keys" >&2; it_fail "no key {a, b} in kc.public.nokey"; }
grep -q '"c"' "$IT_DIR/nokey.keys" && it_fail "a column key_columns does not name is in the key"
[ "$(cut -f4 "$IT_DIR/nokey.dump" | grep -c '"op":"d"')" = 2 ] ||
	it_fail "the delete and the key change did not give two deletes"
cap_stop kc
# a key of columns the old image does not carry (the replica identity is
# the primary key): refused, saying what to do
cap_config kpk "$b_ADDR" "tables = public.pkt" "key_columns = public.pkt:code"
cap_refused kpk 'key_columns: column code of public.pkt is not in its replica identity.*REPLICA IDENTITY FULL' \
    "the refusal of a key outside the replica identity does not name the column and the fix"
cap_config kmiss "$b_ADDR" "tables = public.nokey" "key_columns = public.nokey:a,zz"
cap_refused kmiss "key_columns: table public.nokey has no column 'zz'" "the missing key column is not named"
cap_config kbad "$b_ADDR" "tables = public.nokey" "key_columns = public.nokey"
cap_refused kbad "cap-kbad.ini:[0-9]*: \[source \"kbad\"\] key_columns: 'public.nokey' is not schema.table:column" \
    "the bad key_columns error does not name file and line"

# mask_columns: the lowercase hex SHA-256 of mask_salt and the value, in
# snapshot and stream; a column of another kind is refused by name; no salt
# is a config error
cap_config mk "$b_ADDR" "tables = public.people" "format = json" \
    "mask_columns = public.people.name" "mask_salt = s3cret-salt"
cap_start mk
pg_sql "UPDATE people SET name = 'masked later' WHERE id = 6"
cap_wait_caught_up sluice_mk 60
cap_dump "$b_ADDR" mk.public.people "$IT_DIR/mk.dump"
pg_sql "SELECT coalesce(json_agg(t), '[]') FROM (SELECT id, name FROM people) t" >"$IT_DIR/mk.want"
$IT_PY - "$IT_DIR/mk.dump" "$IT_DIR/mk.want" <<'PY' || it_fail "mask_columns: see above"
import hashlib, json, sys
want = {r["id"]: r["name"] for r in json.load(open(sys.argv[2]))}
rows = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if p[3] == "NULL":
        continue
    ev = json.loads(p[3])
    if ev["after"] is not None:
        rows[ev["after"]["id"]] = ev["after"]["name"]
h = lambda v: hashlib.sha256(("s3cret-salt" + v).encode()).hexdigest()
bad = [(i, rows.get(i)) for i, n in want.items() if n is not None and rows.get(i) != h(n)]
if bad or rows.get(6) != h("masked later"):
    sys.exit("names are not their salted SHA-256: %r" % bad[:3])
if any(n in open(sys.argv[1]).read() for n in ("masked later", "changed", "late")):
    sys.exit("a clear name is in the topic")
PY
cap_stop mk
cap_config mkn "$b_ADDR" "tables = public.people" "mask_columns = public.people.n" "mask_salt = x"
cap_refused mkn 'mask_columns: column n of public.people holds int64 values; only text and bytes columns can be masked' \
    "the refusal to mask an integer does not name it"
cap_config mks "$b_ADDR" "tables = public.people" "mask_columns = public.people.name"
cap_refused mks 'mask_columns: needs mask_salt' "the missing salt is not named"

# a key column: refused, by name
cap_config key "$b_ADDR" "tables = public.people" "exclude_columns = public.people.id"
cap_refused key 'exclude_columns: column id of public.people is part of the message key' \
    "the refusal to leave out a key column does not name it"

# a pattern without schema.table.column
cap_config bad "$b_ADDR" "tables = public.people" "exclude_columns = people.ssn"
cap_refused bad "cap-bad.ini:[0-9]*: \[source \"bad\"\] exclude_columns: 'people.ssn' is not a pattern ns.table.column" \
    "the bad pattern error does not name file and line"
it_log "exclude_columns: ok"
