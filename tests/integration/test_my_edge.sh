#!/bin/sh
# test_my_edge.sh: MariaDB 10.11 capture in the less common situations a
# team coming from Debezium's MySQL connector meets, on one server and one
# broker, each part with a source (and topics) of its own:
#  - nm: databases `my-db` and `dé jà`, tables `Order Items`, `order`,
#    bt`x (a backtick), `tâble-ü`, columns `select` and we`ird: snapshot and
#    stream, a TRUNCATE; topics named with '_' for what Kafka refuses; each
#    topic replays to its table;
#  - ty: a YEAR column before integer columns (MariaDB counts YEAR in the
#    signedness bitmap of the Table_map: read without it, a streamed INT -1
#    came out as 4294967295 and a BIGINT UNSIGNED max as -1), 300 columns,
#    a 5 MB LONGBLOB, DECIMAL(65,30), BIT(64), SET, ENUM, GEOMETRY, a UNIQUE
#    NOT NULL key without primary key, RANGE and HASH partitioned tables:
#    snapshot and stream replay to the tables; ALTER TABLE ... TRUNCATE
#    PARTITION is named in a warning;
#  - gone: a table created, truncated and dropped while capture is stopped
#    (capture used to stop at the TRUNCATE at every start: the table was not
#    in the catalog); a MEMORY table emptied by a server restart (MariaDB
#    10.11 logs a TRUNCATE TABLE for it, older servers and MySQL a "DELETE
#    FROM `db`.`t`" statement, even with ROW): a truncate event, so the
#    topic replays to the empty table;
#  - img: an INSERT of a session with binlog_row_image = MINIMAL: capture
#    stops with an error naming binlog_row_image and produces nothing of it
#    (it used to produce the row with a placeholder for the columns the
#    INSERT did not name);
#  - stmt: a session with binlog_format = STATEMENT: a REPLACE ... SELECT
#    into an uncaptured table reading a captured one (pt-table-checksum)
#    and a multi-table DELETE of an uncaptured table are let through; a
#    whole-table DELETE is a truncate (it used to be missed: the topic kept
#    the rows); an INSERT into a captured table stops
#    capture with an error naming binlog_format and the table (it used to
#    be missed without a word);
#  - ver: a snapshot of a system-versioned table is refused by name (it was
#    left out of the snapshot without a word);
#  - ex: exclude_columns leaves columns out of snapshot and stream, one
#    added later included, and refuses a key column;
#  - kc: key_columns keys a table without a primary key;
#  - ob: the outbox router (outbox.tables) sends inserts into an outbox
#    table as messages on outbox.event.<route>;
#  - sig: an execute-snapshot signal (signal.table) copies a table again
#    while it is written, and the topic replays to it; after a SIGKILL
#    during a copy the next start copies again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)

my_start
it_broker_start b

# sqlf: run the SQL on stdin in one session (database app); stops at the first error
sqlf() {
	my_sql_file - || it_fail "SQL failed"
}

# edge_want DB TABLE FILE: my_lib.sh's my_want for a table of any database
edge_want() {
	my_sql "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY FROM information_schema.COLUMNS
	    WHERE TABLE_SCHEMA = '$1' AND TABLE_NAME = '$2' ORDER BY ORDINAL_POSITION" >"$3.cols"
	[ -s "$3.cols" ] || it_fail "table $1.$2 has no columns"
	q=$("$IT_PY" "$HERE/my_replay.py" --select "$3.cols" "$2")
	mariadb --no-defaults --socket="$MY_SOCK" -uroot -p"$MY_PW" -N -B -D "$1" \
	    --max-allowed-packet=64M -e "SET time_zone = '+00:00'; $q" >"$3.rows" ||
		it_fail "reading table $1.$2 failed"
}

# replay TOPIC DB TABLE: the topic replays to the table (my_replay.py)
replay() {
	f="$IT_DIR/$(printf '%s' "$1" | tr -c 'A-Za-z0-9._-' _)"
	mycap_dump "$b_ADDR" "$1" "$f.dump"
	edge_want "$2" "$3" "$f.want"
	"$IT_PY" "$HERE/my_replay.py" "$f.dump" "$f.want" --no-dups >"$f.replay" 2>&1 ||
		{ head -n 40 "$f.replay" >&2; it_fail "replaying $1 does not give table $2.$3"; }
	it_log "$1: $(grep '^replayed' "$f.replay")"
}

# replay_cols DUMP TABLE COLS FILE [KEY]: DUMP replays to app.TABLE reduced
# to its columns COLS (an SQL list of quoted names); KEY, the same kind of
# list, are the columns to key on instead of the table's own key
replay_cols() {
	if [ -n "${5:-}" ]; then keyexpr="IF(COLUMN_NAME IN ($5), 'PRI', '')"; else keyexpr=COLUMN_KEY; fi
	my_sql "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, $keyexpr FROM information_schema.COLUMNS
	    WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = '$2' AND COLUMN_NAME IN ($3)
	    ORDER BY ORDINAL_POSITION" >"$4.want.cols"
	mariadb --no-defaults --socket="$MY_SOCK" -uroot -p"$MY_PW" -N -B -D app \
	    -e "SET time_zone = '+00:00'; $("$IT_PY" "$HERE/my_replay.py" --select "$4.want.cols" "$2")" \
	    >"$4.want.rows" || it_fail "reading table app.$2 failed"
	"$IT_PY" "$HERE/my_replay.py" "$1" "$4.want" --no-dups >"$4.replay" 2>&1 ||
		{ head -n 40 "$4.replay" >&2; it_fail "replaying $1 does not give app.$2 ($3)"; }
}

# wait_exit NAME: capture NAME must exit by itself within 30 s with a
# status other than 0; its status in EXIT_ST
wait_exit() {
	pid=$(mycap_pid "$1")
	it_wait 30 "capture $1 to exit after what it must refuse" sh -c "! kill -0 $pid"
	if wait "$pid" 2>/dev/null; then EXIT_ST=0; else EXIT_ST=$?; fi
	[ "$EXIT_ST" -ne 0 ] || it_fail "capture $1 exited 0 after what it must refuse"
}

# ------------------------------------------------------------------
# nm: names that need quoting everywhere
# ------------------------------------------------------------------
sqlf <<'EOF'
CREATE DATABASE `my-db`;
CREATE DATABASE `dé jà`;
CREATE TABLE `my-db`.`Order Items` (id int PRIMARY KEY, `select` varchar(20), `we``ird` int);
CREATE TABLE `my-db`.`order` (`from` int PRIMARY KEY, `key` text);
CREATE TABLE `my-db`.`bt``x` (id int PRIMARY KEY, v varchar(10));
CREATE TABLE `dé jà`.`tâble-ü` (id int PRIMARY KEY, `ç` varchar(10));
INSERT INTO `my-db`.`Order Items` VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
INSERT INTO `my-db`.`order` VALUES (1, 'k1'), (2, 'k2');
INSERT INTO `my-db`.`bt``x` VALUES (1, 'x1'), (2, 'x2');
INSERT INTO `dé jà`.`tâble-ü` VALUES (1, 'ü1');
EOF
mycap_config nm "$b_ADDR" "tables = my-db.*, dé jà.*" "format = json" "topic.partitions = 2"
mycap_start nm
sqlf <<'EOF'
UPDATE `my-db`.`Order Items` SET `select` = 'z', `we``ird` = 10 WHERE id = 1;
DELETE FROM `my-db`.`Order Items` WHERE id = 2;
INSERT INTO `my-db`.`Order Items` VALUES (4, 'd', 4);
UPDATE `my-db`.`order` SET `from` = 20 WHERE `from` = 2;
TRUNCATE TABLE `my-db`.`bt``x`;
INSERT INTO `my-db`.`bt``x` VALUES (3, 'x3');
USE `dé jà`;
INSERT INTO `tâble-ü` VALUES (2, 'é2');
TRUNCATE `tâble-ü`;
INSERT INTO `tâble-ü` VALUES (3, 'à3');
EOF
mycap_wait_caught_up nm 60
replay "nm.my-db.Order_Items" my-db "Order Items"
replay "nm.my-db.order" my-db order
replay "nm.my-db.bt_x" my-db 'bt`x'
replay "nm.d__j_.t_ble-_" "dé jà" "tâble-ü"
mycap_stop nm

# ------------------------------------------------------------------
# ty: YEAR and friends, wide and big rows, keys, partitions
# ------------------------------------------------------------------
cols=$("$IT_PY" -c 'print(", ".join("c%d int" % i for i in range(300)))')
my_sql "SET GLOBAL max_allowed_packet = 256 * 1024 * 1024"
sqlf <<EOF
CREATE TABLE yr (id int PRIMARY KEY, y year, a int, u bigint unsigned, s smallint, y2 year,
    d decimal(10,2), tu tinyint unsigned);
CREATE TABLE wide (id int PRIMARY KEY, $cols);
CREATE TABLE odd (id int PRIMARY KEY, b64 bit(64), d65 decimal(65,30), st set('a','b','c'),
    en enum('x','y'), y year, lb longblob, u bigint unsigned);
CREATE TABLE geo (id int PRIMARY KEY, g geometry, pt point);
CREATE TABLE uq (a int NOT NULL, b varchar(10) NOT NULL, v int, UNIQUE KEY (a, b));
CREATE TABLE pr (id int, d date, v varchar(10), PRIMARY KEY (id, d))
    PARTITION BY RANGE (YEAR(d)) (PARTITION p0 VALUES LESS THAN (2000),
    PARTITION p1 VALUES LESS THAN (2030), PARTITION p2 VALUES LESS THAN MAXVALUE);
CREATE TABLE ph (id int PRIMARY KEY, v varchar(10)) PARTITION BY HASH (id) PARTITIONS 4;
INSERT INTO yr VALUES (1, 2024, -1, 18446744073709551615, -2, 1999, -3.5, 255),
    (2, NULL, 5, 0, 7, NULL, 1.25, 0);
INSERT INTO wide (id, c0, c150, c299) VALUES (1, 0, 150, 299), (2, NULL, -1, NULL);
INSERT INTO odd VALUES (1, b'1111111111111111111111111111111111111111111111111111111111111111',
    '-12345678901234567890123456789012345.123456789012345678901234567890', 'a,c', 'y', 2000,
    X'00ff', 18446744073709551615), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO geo VALUES (1, ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326), POINT(1.5, -2.25)),
    (2, NULL, NULL);
INSERT INTO uq VALUES (1, 'x', 1), (2, 'y', 2);
INSERT INTO pr VALUES (1, '1999-01-01', 'a'), (2, '2010-01-01', 'b'), (3, '2040-01-01', 'c');
INSERT INTO ph VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd');
EOF
mycap_config ty "$b_ADDR" "tables = app.yr, app.wide, app.odd, app.uq, app.pr, app.ph, app.geo" \
    "format = json" "json.decimal_handling = string" "topic.partitions = 3"
mycap_start ty
mariadb --no-defaults --socket="$MY_SOCK" -uroot -p"$MY_PW" --max-allowed-packet=64M app <<'EOF' ||
INSERT INTO yr VALUES (3, 2155, -2147483648, 18446744073709551615, -32768, 1901, -99999999.99, 200);
UPDATE yr SET a = -7, u = 9223372036854775808 WHERE id = 1;
UPDATE wide SET c1 = -1, c298 = 298 WHERE id = 1;
INSERT INTO wide (id, c0, c299) VALUES (3, 3, 3);
INSERT INTO odd SELECT 3, b64, d65, st, en, y, REPEAT(X'00ff7f80', 1310720), u FROM odd WHERE id = 1;
INSERT INTO geo VALUES (3, ST_GeomFromText('LINESTRING(0 0, 2 2, -1.5 3)'), POINT(-0.5, 1e10));
UPDATE geo SET pt = POINT(7, 7) WHERE id = 1;
UPDATE odd SET u = 1, y = 2001 WHERE id = 1;
UPDATE uq SET v = 10 WHERE a = 1;
UPDATE uq SET b = 'q' WHERE a = 2;
UPDATE pr SET d = '2045-01-01', v = 'moved' WHERE id = 1;
INSERT INTO pr VALUES (4, '1990-05-05', 'd');
DELETE FROM ph WHERE id = 2;
INSERT INTO ph VALUES (5, 'e');
EOF
	it_fail "the changes of part ty failed"
mycap_wait_caught_up ty 60
for t in yr wide odd uq pr ph; do
	replay "ty.app.$t" app "$t"
done
grep -q '"a":4294967295\|"u":-1' "$IT_DIR/ty.app.yr.dump" && it_fail "a signed or unsigned column of yr was read with the wrong sign"
# GEOMETRY: the bytes MariaDB stores (SRID + WKB), snapshot and stream alike
mycap_dump "$b_ADDR" ty.app.geo "$IT_DIR/geo.dump"
my_sql "SELECT id, coalesce(hex(g), 'NULL'), coalesce(hex(pt), 'NULL') FROM geo ORDER BY id" >"$IT_DIR/geo.want"
$IT_PY - "$IT_DIR/geo.dump" "$IT_DIR/geo.want" <<'PY' || it_fail "ty.app.geo does not hold the table's geometry bytes"
import base64, json, sys
rows = {}
for l in open(sys.argv[1]):
    f = l.rstrip("\n").split("\t")
    if f[3] == "NULL":
        continue
    a = json.loads(f[3])["after"]
    h = lambda v: "NULL" if v is None else base64.b64decode(v).hex().upper()
    rows[a["id"]] = "%d\t%s\t%s" % (a["id"], h(a["g"]), h(a["pt"]))
got = "\n".join(rows[k] for k in sorted(rows))
want = open(sys.argv[2]).read().strip()
if got != want:
    print("topic:\n%s\ntable:\n%s" % (got, want))
    sys.exit(1)
PY
# partition maintenance removes rows without row events: said, not silent
my_sql "ALTER TABLE pr TRUNCATE PARTITION p0"
mycap_wait_caught_up ty 30
grep -q "ALTER TABLE app.pr TRUNCATE PARTITION changes rows without row events" "$IT_DIR/cap-ty.log" ||
	it_fail "capture did not warn about ALTER TABLE pr TRUNCATE PARTITION"
mycap_stop ty
# json.schemas = true (JsonConverter's schemas.enable=true): every key and
# value conforms to its schema, snapshot and stream, with Debezium's names
# for MySQL's types; BIGINT UNSIGNED is left out (its values past 2^63 do
# not fit Connect's int64, as with Debezium's bigint.unsigned.handling.mode
# long)
mycap_config tyc "$b_ADDR" "tables = app.yr, app.odd, app.geo" "format = json" \
    "json.schemas = true" "exclude_columns = app.*.u" "transaction.topic = true"
mycap_start tyc
my_sql "UPDATE yr SET a = 1 WHERE id = 2; DELETE FROM geo WHERE id = 2"
mycap_wait_caught_up tyc 30
for t in yr odd geo; do
	mycap_dump "$b_ADDR" "tyc.app.$t" "$IT_DIR/tyc.$t.dump"
done
"$IT_PY" "$HERE/connect_json.py" "$IT_DIR/tyc.yr.dump" --expect-field int32:-:id \
    --expect-field int32:io.debezium.time.Year:y --expect-field int16:-:s \
    --expect-field int16:-:tu --expect-field bytes:org.apache.kafka.connect.data.Decimal:d ||
	it_fail "tyc.app.yr is not what JsonConverter reads (see above)"
"$IT_PY" "$HERE/connect_json.py" "$IT_DIR/tyc.odd.dump" --expect-field bytes:io.debezium.data.Bits:b64 \
    --expect-field bytes:org.apache.kafka.connect.data.Decimal:d65 \
    --expect-field string:io.debezium.data.EnumSet:st --expect-field string:io.debezium.data.Enum:en \
    --expect-field bytes:-:lb || it_fail "tyc.app.odd is not what JsonConverter reads (see above)"
"$IT_PY" "$HERE/connect_json.py" "$IT_DIR/tyc.geo.dump" --expect-field bytes:-:g ||
	it_fail "tyc.app.geo is not what JsonConverter reads (see above)"
it_wait 30 "a heartbeat on tyc.heartbeat" sh -c \
    "kcat -b '$b_ADDR' -C -t tyc.heartbeat -e -q -f '%s\n' 2>/dev/null | grep -q ts_ms"
for t in transaction heartbeat; do
	mycap_dump "$b_ADDR" "tyc.$t" "$IT_DIR/tyc.$t.dump"
	"$IT_PY" "$HERE/connect_json.py" "$IT_DIR/tyc.$t.dump" ||
		it_fail "tyc.$t with json.schemas = true is not what JsonConverter reads"
done
mycap_stop tyc

# ------------------------------------------------------------------
# gone: a truncated and dropped table; a MEMORY table after a restart
# ------------------------------------------------------------------
my_sql "CREATE TABLE keep (id int PRIMARY KEY, v varchar(20));
        CREATE TABLE mem (id int PRIMARY KEY, v varchar(20)) ENGINE = MEMORY;
        INSERT INTO mem VALUES (1, 'm1'), (2, 'm2')"
mycap_config gone "$b_ADDR" "tables = app.keep, app.stage*, app.mem" "format = json" \
    "topic.partitions = 2"
mycap_start gone
my_sql "INSERT INTO keep VALUES (1, 'before')"
mycap_wait_caught_up gone 30
mycap_stop gone
my_sql "CREATE TABLE stage_1 (id int PRIMARY KEY, v varchar(20));
        TRUNCATE TABLE stage_1;
        DROP TABLE stage_1;
        INSERT INTO keep VALUES (2, 'after the drop')"
mycap_start gone
mycap_wait_caught_up gone 30
kill -0 "$(mycap_pid gone)" 2>/dev/null || it_fail "capture gone stopped at the TRUNCATE of the dropped table"
replay gone.app.keep app keep
# the MEMORY table loses its rows with the restart; the server says so in
# the binlog when the table is first opened
mycap_stop gone
my_stop
my_start
[ "$(my_sql "SELECT count(*) FROM mem")" = 0 ] || it_fail "the MEMORY table kept its rows across a restart"
mycap_start gone
my_sql "INSERT INTO mem VALUES (3, 'm3'); INSERT INTO keep VALUES (3, 'after the restart')"
mycap_wait_caught_up gone 30
replay gone.app.mem app mem
replay gone.app.keep app keep
mycap_stop gone

# ------------------------------------------------------------------
# img: binlog_row_image = MINIMAL in one session
# ------------------------------------------------------------------
my_sql "CREATE TABLE img (id int PRIMARY KEY, v varchar(20), b blob)"
mycap_config img "$b_ADDR" "tables = app.img" "format = json"
mycap_start img
my_sql "INSERT INTO img VALUES (1, 'full', 'blob1')"
mycap_wait_caught_up img 30
my_sql "SET SESSION binlog_row_image = 'MINIMAL'; INSERT INTO img (id, v) VALUES (2, 'minimal')"
wait_exit img
grep "^sluice: " "$IT_DIR/cap-img.log" | grep -q "lacks column b.*binlog_row_image" ||
	{ tail -n 5 "$IT_DIR/cap-img.log" >&2; it_fail "capture img did not name binlog_row_image and the column"; }
it_log "img: exit $EXIT_ST: $(grep '^sluice: ' "$IT_DIR/cap-img.log" | cut -c1-160)"
mycap_dump "$b_ADDR" img.app.img "$IT_DIR/img.dump"
grep -q "minimal\|unavailable" "$IT_DIR/img.dump" && it_fail "the row of the MINIMAL session was produced"
grep -q "full" "$IT_DIR/img.dump" || it_fail "the row written before is not in img.app.img"

# ------------------------------------------------------------------
# stmt: binlog_format = STATEMENT in one session
# ------------------------------------------------------------------
my_sql "CREATE DATABASE chk; CREATE TABLE chk.sums (db varchar(64), tbl varchar(64), cnt int);
        CREATE TABLE st (id int PRIMARY KEY, v varchar(20));
        CREATE TABLE other (id int PRIMARY KEY, v varchar(20));
        INSERT INTO st VALUES (1, 'a'), (2, 'b'); INSERT INTO other VALUES (1, 'o'), (7, 'p')"
mycap_config stmt "$b_ADDR" "tables = app.st" "format = json"
mycap_start stmt
my_sql "SET SESSION binlog_format = 'STATEMENT';
        REPLACE INTO chk.sums SELECT 'app', 'st', count(*) FROM app.st;
        DELETE o FROM other AS o JOIN st AS s ON s.id = o.id WHERE s.id = 7;
        UPDATE other SET v = (SELECT max(v) FROM st) WHERE id = 1;
        DELETE FROM st"
my_sql "INSERT INTO st VALUES (3, 'c')"
mycap_wait_caught_up stmt 30
kill -0 "$(mycap_pid stmt)" 2>/dev/null || it_fail "capture stmt stopped at a statement on uncaptured tables"
replay stmt.app.st app st
my_sql "SET SESSION binlog_format = 'STATEMENT'; INSERT INTO st VALUES (4, 'STATEMENT-ROW')"
wait_exit stmt
grep "^sluice: " "$IT_DIR/cap-stmt.log" | grep -q "table app.st is logged as a statement.*binlog_format" ||
	{ tail -n 5 "$IT_DIR/cap-stmt.log" >&2; it_fail "capture stmt did not name binlog_format and the table"; }
it_log "stmt: exit $EXIT_ST: $(grep '^sluice: ' "$IT_DIR/cap-stmt.log" | cut -c1-160)"

# ------------------------------------------------------------------
# ver: a system-versioned table (TABLE_TYPE 'SYSTEM VERSIONED', not 'BASE
# TABLE': it was left out of the snapshot without a word)
# ------------------------------------------------------------------
my_sql "CREATE TABLE vers (id int PRIMARY KEY, v varchar(20)) WITH SYSTEM VERSIONING;
        INSERT INTO vers VALUES (1, 'v1')"
mycap_config ver "$b_ADDR" "tables = app.vers, app.keep" "format = json"
cap_refused ver "^sluice: .*table app.vers is system-versioned.*snapshot = never" \
    "capture ver did not refuse the snapshot of app.vers by name"
it_log "ver: exit $st: $(grep '^sluice: ' "$IT_DIR/cap-ver.log" | cut -c1-160)"
# ------------------------------------------------------------------
# ex: exclude_columns (Debezium's column.exclude.list): the columns named
# are in no event, snapshot or stream, nor their values; one added by
# ALTER TABLE that a pattern names stays out; a key column is refused
# ------------------------------------------------------------------
my_sql "CREATE TABLE ppl (id int PRIMARY KEY, name varchar(20), ssn varchar(20), pw varbinary(20), n int);
        INSERT INTO ppl VALUES (1, 'a', 'SSN-SNAP-1', 'PW-SNAP-1', 1), (2, 'b', 'SSN-SNAP-2', 'PW-SNAP-2', 2),
                               (3, 'c', 'SSN-SNAP-3', 'PW-SNAP-3', 3)"
mycap_config ex "$b_ADDR" "tables = app.ppl" "format = json" \
    "exclude_columns = app.ppl.ssn, *.*.pw, app.ppl.secret_*"
mycap_start ex
grep -q 'table app.ppl: columns ssn, pw left out of its events (exclude_columns)' "$IT_DIR/cap-ex.log" ||
	{ tail -n 5 "$IT_DIR/cap-ex.log" >&2; it_fail "capture ex did not name the columns it leaves out"; }
my_sql "INSERT INTO ppl VALUES (4, 'live', 'SSN-LIVE', 'PW-LIVE', 4);
        UPDATE ppl SET ssn = 'SSN-UPD', pw = 'PW-UPD', name = 'changed' WHERE id = 1;
        UPDATE ppl SET id = 20 WHERE id = 2;
        DELETE FROM ppl WHERE id = 3;
        ALTER TABLE ppl ADD COLUMN secret_note varchar(20);
        INSERT INTO ppl VALUES (5, 'late', 'SSN-LATE', 'PW-LATE', 5, 'SECRET-LATE');
        UPDATE ppl SET secret_note = 'SECRET-UPD', n = -1 WHERE id = 4"
mycap_wait_caught_up ex 30
f="$IT_DIR/ex"
mycap_dump "$b_ADDR" ex.app.ppl "$f.dump"
replay_cols "$f.dump" ppl "'id', 'name', 'n'" "$f"
grep -q '"name":"late"' "$f.dump" || it_fail "the row inserted after ALTER TABLE is not in ex.app.ppl"
if grep -E -q 'SSN-|PW-|SECRET-|"ssn"|"pw"|"secret_note"' "$f.dump"; then
	grep -E 'SSN-|PW-|SECRET-|"ssn"|"pw"|"secret_note"' "$f.dump" | head -n 3 >&2
	it_fail "a left-out column or its value is in ex.app.ppl"
fi
mycap_stop ex
# mask_columns: the salted SHA-256 of the value, snapshot and stream
mycap_config mk "$b_ADDR" "tables = app.ppl" "format = json" "mask_columns = app.ppl.name" \
    "mask_salt = my-salt"
mycap_start mk
my_sql "UPDATE ppl SET name = 'masked' WHERE id = 1"
mycap_wait_caught_up mk 30
mycap_dump "$b_ADDR" mk.app.ppl "$IT_DIR/mk.dump"
my_sql "SELECT id, name FROM ppl" >"$IT_DIR/mk.want"
"$IT_PY" - "$IT_DIR/mk.dump" "$IT_DIR/mk.want" <<'PY' || it_fail "mask_columns on MariaDB: see above"
import hashlib, json, sys
want = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip())
rows = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if p[3] != "NULL" and json.loads(p[3])["after"] is not None:
        a = json.loads(p[3])["after"]
        rows[str(a["id"])] = a["name"]
h = lambda v: hashlib.sha256(("my-salt" + v).encode()).hexdigest()
bad = [(i, rows.get(i)) for i, n in want.items() if rows.get(i) != h(n)]
if bad or '"masked"' in open(sys.argv[1]).read():
    sys.exit("names are not their salted SHA-256: %r" % bad[:3])
PY
mycap_stop mk
mycap_config exkey "$b_ADDR" "tables = app.ppl" "exclude_columns = app.ppl.id"
cap_refused exkey 'exclude_columns: column id of app.ppl is part of the message key' \
    "capture exkey did not refuse the key column by name"
it_log "ex: $(grep '^replayed' "$f.replay")"

# kc: key_columns keys a table without a primary key on the columns named
my_sql "CREATE TABLE nk (a int NOT NULL, b varchar(10) NOT NULL, c varchar(10));
        INSERT INTO nk VALUES (1, 'x', 'c1'), (2, 'y', 'c2'), (3, 'z', 'c3')"
mycap_config kc "$b_ADDR" "tables = app.nk" "format = json" "key_columns = app.nk:a,b"
mycap_start kc
my_sql "INSERT INTO nk VALUES (4, 'w', 'c4');
        UPDATE nk SET c = 'c1b' WHERE a = 1;
        UPDATE nk SET a = 20 WHERE a = 2;
        DELETE FROM nk WHERE a = 3"
mycap_wait_caught_up kc 30
f="$IT_DIR/kc"
mycap_dump "$b_ADDR" kc.app.nk "$f.dump"
grep -q 'created topic kc.app.nk (6 partitions, compacted)' "$IT_DIR/b/broker.log" ||
	it_fail "the topic of a table keyed by key_columns is not compacted"
replay_cols "$f.dump" nk "'a', 'b', 'c'" "$f" "'a', 'b'"
cut -f3 "$f.dump" | grep -qx '{"a":20,"b":"y"}' ||
	{ cut -f3 "$f.dump" | sort -u >&2; it_fail "no key {a, b} in kc.app.nk"; }
[ "$(cut -f4 "$f.dump" | grep -c '"op":"d"')" = 2 ] ||
	it_fail "the delete and the key change did not give two deletes in kc.app.nk"
mycap_stop kc
it_log "kc: $(grep '^replayed' "$f.replay")"

# ob: the outbox router: an INSERT into the outbox table is a message on
# outbox.event.<aggregatetype> keyed by aggregateid, the payload as value
# and the id as header; the DELETE that empties the table, a rollback and
# an UPDATE give nothing; rows from before capture started are not sent
my_sql "CREATE TABLE outbox (id varchar(36) PRIMARY KEY, aggregatetype varchar(64) NOT NULL,
            aggregateid varchar(64), type varchar(64), payload longtext);
        CREATE TABLE orders (id int PRIMARY KEY, total int);
        INSERT INTO outbox VALUES ('e0', 'Order', 'o-0', 'Old', '{\"old\": true}')"
mycap_config ob "$b_ADDR" "tables = app.outbox, app.orders" "format = json" \
    "outbox.tables = app.outbox" "topic_prefix = obx"
mycap_start ob
my_sql "BEGIN; INSERT INTO orders VALUES (1, 10);
        INSERT INTO outbox VALUES ('e1', 'Order', 'o-1', 'OrderCreated', '{\"id\": 1}');
        DELETE FROM outbox WHERE id = 'e1'; COMMIT;
        BEGIN; INSERT INTO outbox VALUES ('e9', 'Order', 'o-9', 'RolledBack', '{}'); ROLLBACK;
        INSERT INTO outbox VALUES ('e2', 'Order', 'o-1', 'OrderPaid', '{\"id\": 1, \"paid\": true}'),
                                  ('e3', 'Customer', 'c-1', 'CustomerCreated', '{\"name\": \"Ann\"}');
        UPDATE outbox SET type = 'Changed' WHERE id = 'e3'"
mycap_wait_caught_up ob 30
f="$IT_DIR/ob"
mycap_dump "$b_ADDR" outbox.event.Order "$f.order"
cut -f3,4 "$f.order" >"$f.order.kv"
printf 'o-1\t{"id": 1}\no-1\t{"id": 1, "paid": true}\n' | cmp -s - "$f.order.kv" ||
	{ cat "$f.order" >&2; it_fail "outbox.event.Order does not hold o-1's two events in order"; }
grep -q 'id=e1' "$f.order" || it_fail "the outbox message has no header id"
mycap_dump "$b_ADDR" outbox.event.Customer "$f.customer"
[ "$(cut -f3,4 "$f.customer")" = "$(printf 'c-1\t{"name": "Ann"}')" ] ||
	{ cat "$f.customer" >&2; it_fail "outbox.event.Customer does not hold the one customer event"; }
grep -q "WARN .*outbox table app.outbox: an UPDATE at binlog" "$IT_DIR/cap-ob.log" ||
	it_fail "no warning about the UPDATE of an outbox row"
kcat -b "$b_ADDR" -L 2>/dev/null | grep -q 'topic "obx.app.outbox"' && it_fail "the outbox table got a topic of its own"
mycap_dump "$b_ADDR" obx.app.orders "$f.orders"
grep -q '"total":10' "$f.orders" || it_fail "the order written with the outbox row is not in obx.app.orders"
mycap_stop ob
mycap_config obm "$b_ADDR" "tables = app.orders" "outbox.tables = app.outbox" "snapshot = never"
mycap_start obm
grep -q "WARN .*outbox.tables (app.outbox) matches none of the tables captured" "$IT_DIR/cap-obm.log" ||
	{ tail -n 5 "$IT_DIR/cap-obm.log" >&2; it_fail "no warning that the outbox table is not captured"; }
mycap_stop obm
it_log "ob: ok"

# sig: an execute-snapshot signal (Debezium's signalling table) copies a
# table again while the stream goes on: changes the binlog never had
# (sql_log_bin = 0) are in the topic afterwards, the writes made during the
# copy are there once, and the topic replays to the table
my_sql "CREATE TABLE sluice_signal (id varchar(64) PRIMARY KEY, type varchar(32), data varchar(2048));
        CREATE TABLE sig_t (id int PRIMARY KEY, v varchar(40));
        INSERT INTO sig_t SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000"
mycap_config sg "$b_ADDR" "tables = app.sig_t" "format = json" "signal.table = app.sluice_signal"
mycap_start sg
my_sql "SET SESSION sql_log_bin = 0; UPDATE sig_t SET v = 'not in the binlog' WHERE id <= 10;
        DELETE FROM sig_t WHERE id BETWEEN 11 AND 20; INSERT INTO sig_t VALUES (5000, 'unseen')"
mycap_wait_caught_up sg 30
# a writer while the signal is read and the table copied
( i=0; while [ $i -lt 150 ]; do
	my_sql "UPDATE sig_t SET v = 'w$i' WHERE id = $((100 + i % 20)); INSERT INTO sig_t VALUES ($((6000 + i)), 'n$i')" || exit 1
	i=$((i + 1))
  done ) &
writer=$!
sleep 0.3
my_sql "INSERT INTO sluice_signal VALUES ('s-1', 'execute-snapshot', '{\"data-collections\": [\"app.sig_t\"], \"type\": \"blocking\"}')"
wait "$writer" || it_fail "the writer failed"
it_wait 60 "the ad-hoc snapshot to end" grep -q 'ad-hoc snapshot done: rows of 1 table copied' "$IT_DIR/cap-sg.log"
mycap_wait_caught_up sg 60
replay sg.app.sig_t app sig_t
grep -q "signal 's-1' at binlog .*execute-snapshot of app.sig_t" "$IT_DIR/cap-sg.log" ||
	it_fail "capture sg did not log the signal"
grep -q 'streaming again from binlog' "$IT_DIR/cap-sg.log" || it_fail "capture sg did not stream again"
kcat -b "$b_ADDR" -L 2>/dev/null | grep -q 'topic "sg.app.sluice_signal"' && it_fail "the signal table got a topic"
# an unknown signal type is left alone
my_sql "INSERT INTO sluice_signal VALUES ('s-2', 'pause-snapshot', '{}')"
mycap_wait_caught_up sg 30
grep -q "signal 's-2' .*type 'pause-snapshot' is not one capture knows" "$IT_DIR/cap-sg.log" ||
	it_fail "the unknown signal type is not named"
# a SIGKILL during the copy: the position is not stored past the signal,
# so the next start reads it again and copies again; the replay is the table
my_sql "CREATE TABLE sig_big (id int PRIMARY KEY, v varchar(40));
        INSERT INTO sig_big SELECT seq, CONCAT('b', seq) FROM seq_1_to_400000"
sed -i 's/^tables = app.sig_t$/tables = app.sig_t, app.sig_big/' "$IT_DIR/cap-sg.ini"
mycap_stop sg
mycap_start sg
copies=$(grep -c 'ad-hoc snapshot of 1 table at binlog' "$IT_DIR/cap-sg.log")
my_sql "INSERT INTO sluice_signal VALUES ('s-3', 'execute-snapshot', 'app.sig_big')"
it_wait 60 "the copy of sig_big to start" sh -c \
    "[ \$(grep -c 'ad-hoc snapshot of 1 table at binlog' '$IT_DIR/cap-sg.log') -gt $copies ]"
mycap_kill sg
done_at_kill=$(grep -c 'ad-hoc snapshot done' "$IT_DIR/cap-sg.log")
my_sql "UPDATE sig_big SET v = 'after the kill' WHERE id <= 100; DELETE FROM sig_big WHERE id = 400000"
mycap_start sg
if [ "$done_at_kill" -lt 2 ]; then
	# the copy was cut short: the signal is read again and copied again
	it_wait 120 "the copy of sig_big taken again" sh -c \
	    "[ \$(grep -c 'ad-hoc snapshot of 1 table at binlog' '$IT_DIR/cap-sg.log') -gt $((copies + 1)) ]"
	it_wait 120 "the second copy to end" sh -c \
	    "[ \$(grep -c 'ad-hoc snapshot done' '$IT_DIR/cap-sg.log') -ge 2 ]"
else
	it_log "the copy of sig_big ended before the kill (400,000 rows were too quick)"
fi
mycap_wait_caught_up sg 60
replay sg.app.sig_big app sig_big
mycap_stop sg
it_log "sig: ok"
it_log "ok"
