#!/bin/sh
# test_pg_resnapshot.sh: copying tables again while capture streams, asked
# for with a logical message (docs/capture-postgres.md, "Snapshotting
# tables again"):
#  - a table added to the publication and to 'tables' after the slot was
#    made had none of its older rows in its topic; after
#    pg_logical_emit_message(true, 'sluice.snapshot', 'public.b'), with
#    inserts, updates and deletes going on throughout, replaying its topic
#    gives the table back, and the other table's topic is untouched;
#  - capture killed with SIGKILL while such a copy runs: the next start
#    drops the slot the copy left (it would hold WAL back), reads the
#    message again, copies again, and the replay is still the table;
#  - the content may also be Debezium's {"data-collections": [...]}, and the
#    request may come as a row of a signalling table (signal.table);
#  - a message whose patterns match none of the source's tables is a
#    warning, and streaming goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE a (id int PRIMARY KEY, v text);
        CREATE TABLE b (id int PRIMARY KEY, v text, n int);
        INSERT INTO a SELECT i, 'a' || i FROM generate_series(1, 100) i;
        INSERT INTO b SELECT i, 'old' || i, i FROM generate_series(1, 20000) i;
        CREATE PUBLICATION pub FOR TABLE a;"
HTTP=$(it_free_port)
cap_config app "$b_ADDR" "tables = public.a" "publication = pub" "format = json" \
    "topic.partitions = 3" "http = 127.0.0.1:$HTTP"
cap_start app
pg_sql "INSERT INTO a VALUES (101, 'streamed')"
cap_wait_caught_up sluice_app 60
cap_stop app

# b joins: the publication, then the source's tables.  Its 20,000 rows
# are older than the slot, so only changes from now on would reach it.
pg_sql "ALTER PUBLICATION pub ADD TABLE b"
sed -i 's/^tables = public.a$/tables = public.a, public.b/' "$IT_DIR/cap-app.ini"
cap_start app
pg_sql "UPDATE b SET v = 'before the copy' WHERE id <= 10"

# writes to b all along: a background loop of small transactions
writer() {
	i=0
	while [ ! -f "$IT_DIR/stop-writer" ]; do
		i=$((i + 1))
		pg_sql "INSERT INTO b VALUES (100000 + $i, 'new', $i);
		        UPDATE b SET n = n + 1, v = 'w$i' WHERE id = 1 + ($i * 37) % 20000;
		        DELETE FROM b WHERE id = 1 + ($i * 53) % 20000;" >/dev/null 2>&1 || true
	done
}
writer &
writer_pid=$!
it_track "$writer_pid"
sleep 1
pg_sql "SELECT pg_logical_emit_message(true, 'sluice.snapshot', 'public.b')" >/dev/null
it_wait 120 "the copy of b to end" grep -q 'sluice.snapshot message at LSN .*: [0-9]* rows of 1 table copied' "$IT_DIR/cap-app.log"
sleep 1
touch "$IT_DIR/stop-writer"
wait "$writer_pid" 2>/dev/null || true
rm -f "$IT_DIR/stop-writer"
cap_wait_caught_up sluice_app 60

replay() {	# TABLE FILE
	cap_dump "$b_ADDR" "app.public.$1" "$IT_DIR/$2.dump"
	pg_sql "SELECT coalesce(json_agg(t), '[]') FROM $1 t" >"$IT_DIR/$2.want"
	$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/$2.dump" "$IT_DIR/$2.want" ||
		it_fail "replaying app.public.$1 does not give table $1 back ($2)"
}
# after_copy DUMP: in every partition, what follows the copy's truncate is
# the copy's rows (stored at the copy's point S) and changes committed
# after S: none of the stream's changes that the copy already holds.
after_copy() {
	$IT_PY - "$1" <<'PY' || it_fail "a change older than the copy follows it in $1"
import sys
def lsn(h):
    pos = [x for x in h.split(",") if x.startswith("sluice.pos=")][0][11:]
    hi, lo = pos.split(":")[0].split("/")
    return (int(hi, 16) << 32) | int(lo, 16)
parts = {}
for line in open(sys.argv[1], encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    parts.setdefault(f[0], []).append((f[3], lsn(f[4])))
bad = 0
for p, msgs in parts.items():
    last_t = max(i for i, (v, _) in enumerate(msgs) if '"op":"t"' in v)
    s = msgs[last_t][1]
    for v, l in msgs[last_t + 1:]:
        if '"op":"r"' in v:
            if l != s: bad += 1
        elif l <= s:
            bad += 1
print("partitions", len(parts), "bad", bad)
sys.exit(1 if bad else 0)
PY
}
replay b b1
after_copy "$IT_DIR/b1.dump"
replay a a1
[ "$(grep -c '"op":"t"' "$IT_DIR/b1.dump")" = 3 ] ||
	it_fail "the copy of b did not start with one truncate per topic partition"
grep -q '"op":"t"' "$IT_DIR/a1.dump" && it_fail "table a, not asked for, got a truncate"
[ "$(grep -c '"op":"r"' "$IT_DIR/b1.dump")" -ge 19000 ] || it_fail "b's rows were not copied"
it_log "copy while streaming: $(grep -c . "$IT_DIR/b1.dump") messages in app.public.b"

# Killed during a copy: the message is read again and the copy taken again.
pg_sql "INSERT INTO b SELECT i, 'bulk', i FROM generate_series(200000, 450000) i"
cap_wait_caught_up sluice_app 120
copied=$(curl -sf "http://127.0.0.1:$HTTP/metrics" |
    awk '/^sluice_capture_snapshot_rows_total/ { print $2 }')
pg_sql "SELECT pg_logical_emit_message(true, 'sluice.snapshot', 'public.b')" >/dev/null
# kill once 20,000 rows of this copy (of ~270,000) went out
it_wait 60 "the second copy to be under way" sh -c \
    "[ \$(curl -sf http://127.0.0.1:$HTTP/metrics | awk '/^sluice_capture_snapshot_rows_total/ { print \$2 }') -gt $((copied + 20000)) ]"
kill -KILL "$(cap_pid app)"
pg_sql "UPDATE b SET v = 'after the kill' WHERE id <= 5; DELETE FROM b WHERE id = 6"
cap_start app
it_wait 120 "the copy after the restart to end" \
    sh -c "[ \$(grep -c 'rows of 1 table copied' '$IT_DIR/cap-app.log') -ge 2 ]"
cap_wait_caught_up sluice_app 120
replay b b2
after_copy "$IT_DIR/b2.dump"
[ "$(grep -c 'copying 1 table again' "$IT_DIR/cap-app.log")" = 3 ] ||
	it_fail "the copy the kill interrupted was not taken again after the restart"
grep -q 'dropping slot sluice_app_adhoc, left by an ad-hoc snapshot that did not end' "$IT_DIR/cap-app.log" ||
	it_fail "the restart did not drop the slot the killed copy left"
[ "$(pg_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_app_adhoc'")" = 0 ] ||
	it_fail "slot sluice_app_adhoc is left after the copies ended"
n_t=$(grep -c '"op":"t"' "$IT_DIR/b2.dump")
[ "$n_t" -ge 6 ] || it_fail "the copy after the restart did not truncate first ($n_t truncates)"

# Patterns that match nothing: a warning, and streaming goes on.
pg_sql "SELECT pg_logical_emit_message(true, 'sluice.snapshot', 'public.nope')" >/dev/null
pg_sql "INSERT INTO a VALUES (102, 'after the bad message')"
cap_wait_caught_up sluice_app 60
grep -q "WARN .*sluice.snapshot message at LSN .* ignored: 'public.nope' matches none of the tables" "$IT_DIR/cap-app.log" ||
	it_fail "no warning for a message matching no table"
replay a a2
# Debezium's signal data works as the content too
pg_sql "SELECT pg_logical_emit_message(true, 'sluice.snapshot', '{\"data-collections\": [\"public.a\"], \"type\": \"blocking\"}')" >/dev/null
it_wait 60 "the copy of a asked in Debezium's form" \
    sh -c "[ \$(grep -c 'sluice.snapshot message at LSN .*: [0-9]* rows of 1 table copied' '$IT_DIR/cap-app.log') -ge 3 ]"
cap_wait_caught_up sluice_app 60
replay a a3
cap_stop app

# signal.table (Debezium's signalling table): an execute-snapshot insert asks
# the same; rows older than the source's slot (snapshot = never) come in
pg_sql "CREATE TABLE c (id int PRIMARY KEY, v text);
        INSERT INTO c SELECT i, 'c' || i FROM generate_series(1, 50) i;
        CREATE TABLE sluice_signal (id text PRIMARY KEY, type text, data text);
        CREATE PUBLICATION sigpub FOR TABLE c, sluice_signal;"
cap_config sg "$b_ADDR" "tables = public.c, public.sluice_signal" "publication = sigpub" \
    "format = json" "snapshot = never" "signal.table = public.sluice_signal"
cap_start sg
grep -q 'table public.sluice_signal is the signal table' "$IT_DIR/cap-sg.log" ||
	it_fail "capture sg did not say which table is the signal table"
pg_sql "INSERT INTO c VALUES (51, 'streamed'); UPDATE c SET v = 'changed' WHERE id = 1;
        INSERT INTO sluice_signal VALUES ('s-1', 'execute-snapshot', '{\"data-collections\": [\"public.c\"]}');
        INSERT INTO sluice_signal VALUES ('s-2', 'log', 'hello');"
it_wait 60 "the copy of c asked by a signal row" \
    grep -q 'sluice.snapshot message at LSN .*: [0-9]* rows of 1 table copied' "$IT_DIR/cap-sg.log"
cap_wait_caught_up sluice_sg 60
cap_dump "$b_ADDR" sg.public.c "$IT_DIR/c.dump"
pg_sql "SELECT coalesce(json_agg(t), '[]') FROM c t" >"$IT_DIR/c.want"
$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/c.dump" "$IT_DIR/c.want" ||
	it_fail "replaying sg.public.c after the signalled copy does not give table c"
grep -q "signal 's-2' at LSN .*type 'log' is not one capture knows" "$IT_DIR/cap-sg.log" ||
	it_fail "the unknown signal type is not named"
kcat -b "$b_ADDR" -L 2>/dev/null | grep -q 'topic "sg.public.sluice_signal"' && it_fail "the signal table got a topic"
cap_stop sg
it_log "ad-hoc snapshots: ok"
