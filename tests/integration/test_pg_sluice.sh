#!/bin/sh
# test_pg_sluice.sh: capture through contrib/pg_sluice, sluice's own output
# plugin (many pgoutput messages per CopyData message), passes the
# PostgreSQL capture tests written for pgoutput: the mixed workload with a
# rollback, a savepoint, a primary-key change, a truncate and a logical
# message (test_pg_basic), every type and a schema change (test_pg_types),
# SIGKILLs of capture and of the broker during a workload (test_pg_kill),
# the unchanged TOAST marker and the slot moving while idle
# (test_pg_toast_idle), the snapshot under writes (test_pg_snapshot), and a
# 2,000,000-row transaction (test_pg_stream: the server spills it, as
# pg_sluice never streams; capture's peak RSS stays under 64 MiB and
# nothing appears before the commit), partitioned tables, names, encodings
# and publication coverage (test_pg_tables: pg_sluice once listed a
# partitioned table in Truncate, which pgoutput never does), ad-hoc
# snapshots while streaming (test_pg_resnapshot), columns left out and
# chosen keys (test_pg_columns) and the outbox router (test_pg_outbox).
# Each runs with CAP_PLUGIN=pg_sluice: cap_config adds "plugin = pg_sluice"
# and cap_start fails unless capture says it streams with pg_sluice.
# Then what only pg_sluice does: a publication with a row filter is refused
# with an error naming the table and publication, a slot made by the other
# plugin is refused with an error naming both plugins, schema, all-tables
# and partition publications cover the tables pgoutput's do, an insert-only
# publication keeps its other actions out and every event has its own
# change's LSN, a decoding that
# fails in an ordinary backend leaves it working, and the batches do
# hold many messages (/metrics: CopyData messages against the protocol
# messages in them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

here=$(cd "$(dirname "$0")" && pwd)

# json_events DUMP: the values of a cap_dump file that are not tombstones
json_events() {
	cut -f4 "$1" | grep -vx NULL
}
[ -f "$BUILD/contrib/pg_sluice.so" ] || it_fail "$BUILD/contrib/pg_sluice.so is not built"
for t in test_pg_basic test_pg_types test_pg_kill test_pg_toast_idle test_pg_snapshot \
    test_pg_stream test_pg_tables test_pg_resnapshot test_pg_columns test_pg_outbox; do
	it_log "running $t with plugin = pg_sluice"
	CAP_PLUGIN=pg_sluice sh "$here/$t.sh" >"$IT_DIR/$t.log" 2>&1 || {
		tail -n 30 "$IT_DIR/$t.log" >&2
		it_fail "$t fails with plugin = pg_sluice"
	}
done

pg_start
it_broker_start b
pg_sql "CREATE TABLE a (id int PRIMARY KEY, v text);
        CREATE PUBLICATION filtered FOR TABLE a WHERE (id > 10);"

# a row filter: pg_sluice cannot honour it and says so
cap_config f "$b_ADDR" "tables = public.a" "publication = filtered" "plugin = pg_sluice" \
    "snapshot = never"
"$SLUICE" capture -c "$IT_DIR/cap-f.ini" >"$IT_DIR/cap-f.log" 2>&1 &
pid=$!
it_track "$pid"
pid_gone() { ! kill -0 "$1"; }
# pg_sluice refuses the filter when it decodes a change of the table, so
# the insert must come after the slot exists (snapshot = never: capture
# makes it at its start, then streams), or capture never sees it
streaming_or_gone() {
	grep -q "streaming from slot" "$IT_DIR/cap-f.log" || pid_gone "$pid"
}
it_wait 60 "capture on publication filtered to stream (or stop)" streaming_or_gone
pg_sql "INSERT INTO a VALUES (42, 'x')"
it_wait 30 "capture to stop on a publication with a row filter" pid_gone "$pid"
grep -q 'publication "filtered" has a row filter for table "a"' "$IT_DIR/cap-f.log" ||
	it_fail "no error naming the row filter: $(tail -n 5 "$IT_DIR/cap-f.log")"

# a misspelt plugin: a configuration error naming the file, line and key
cap_config typo "$b_ADDR" "tables = public.a" "plugin = pg_slice"
rc=0
"$SLUICE" capture -c "$IT_DIR/cap-typo.ini" >"$IT_DIR/cap-typo.log" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q 'cap-typo.ini:[0-9]*: \[source "typo"\] plugin: expected pgoutput or pg_sluice' \
    "$IT_DIR/cap-typo.log" || it_fail "plugin = pg_slice: exit $rc, $(cat "$IT_DIR/cap-typo.log")"

# a slot made with pgoutput, a source that says pg_sluice
pg_sql "CREATE PUBLICATION plain FOR TABLE a"
pg_sql "SELECT pg_create_logical_replication_slot('sluice_other', 'pgoutput')" >/dev/null
cap_config other "$b_ADDR" "tables = public.a" "publication = plain" "plugin = pg_sluice"
if "$SLUICE" capture -c "$IT_DIR/cap-other.ini" >"$IT_DIR/cap-other.log" 2>&1; then
	it_fail "capture started on a pgoutput slot with plugin = pg_sluice"
fi
grep -q "slot sluice_other uses plugin pgoutput, not pg_sluice" "$IT_DIR/cap-other.log" ||
	it_fail "no error naming both plugins: $(tail -n 3 "$IT_DIR/cap-other.log")"
# and `sluice status` says so before anyone starts capture
rc=0
"$SLUICE" status -c "$IT_DIR/cap-other.ini" >"$IT_DIR/status.out" 2>&1 || rc=$?
[ $rc -eq 3 ] && grep -q "^source  other: slot sluice_other .*, plugin pgoutput$" "$IT_DIR/status.out" &&
    grep -q "^source  other: the slot uses plugin pgoutput and the source says pg_sluice" \
    "$IT_DIR/status.out" || it_fail "sluice status on the mismatch: exit $rc, $(cat "$IT_DIR/status.out")"

# decoding that fails with an ERROR in an ordinary backend (a publication
# that does not exist) leaves that backend, and the server, working through
# later invalidations of the plugin's relation cache
pg_sql "SELECT pg_create_logical_replication_slot('sq', 'pg_sluice')" >/dev/null
pg_sql "INSERT INTO a VALUES (1, 'x')"
"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d app -Atq \
    -c "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('sq', NULL, NULL,
        'proto_version', '1', 'publication_names', 'nope')" \
    -c "ALTER TABLE a ADD COLUMN z int" -c "INSERT INTO a VALUES (2, 'y')" -c "SELECT 'alive'" \
    >"$IT_DIR/peek.out" 2>&1
grep -q 'publication "nope" does not exist' "$IT_DIR/peek.out" &&
    grep -qx alive "$IT_DIR/peek.out" ||
	it_fail "after a failed peek: $(cat "$IT_DIR/peek.out")"
! grep -q "terminated by signal" "$IT_DIR/pg.log" || it_fail "a backend crashed: $(grep signal "$IT_DIR/pg.log")"
pg_sql "SELECT pg_drop_replication_slot('sq')" >/dev/null

# a publication of inserts only (publish = 'insert'): pg_sluice honours its
# actions as pgoutput does, so updates, deletes and truncates stay out; and
# every event carries its own change's WAL position (source.lsn), as with
# pgoutput: never 0, and distinct within a transaction
pg_sql "CREATE TABLE ins (id int PRIMARY KEY, v text);
        CREATE PUBLICATION ins_only FOR TABLE ins WITH (publish = 'insert');"
cap_config ins "$b_ADDR" "tables = public.ins" "publication = ins_only" "plugin = pg_sluice" \
    "snapshot = never" "format = json"
cap_start ins
pg_sql "INSERT INTO ins VALUES (1, 'a'), (2, 'b'), (4, 'd')"
pg_sql "UPDATE ins SET v = 'a2' WHERE id = 1"
pg_sql "DELETE FROM ins WHERE id = 2"
pg_sql "TRUNCATE ins"
pg_sql "INSERT INTO ins VALUES (3, 'c')"
cap_wait_caught_up sluice_ins 60
cap_dump "$b_ADDR" ins.public.ins "$IT_DIR/ins.dump"
json_events "$IT_DIR/ins.dump" | $IT_PY -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin]
ops = "".join(e["op"] for e in evs)
if sorted(ops) != list("cccc"):
    sys.exit("publish = insert gave events %r, not four c" % ops)
lsns = sorted(e["source"]["lsn"] for e in evs)
first = [e["source"]["lsn"] for e in evs if e["after"]["id"] != 3]
if not all(isinstance(x, int) and x > 0 for x in lsns):
    sys.exit("an event has no WAL position: %s" % lsns)
if len(set(first)) != 3:
    sys.exit("the three rows of one transaction share WAL positions: %s" % first)
' || it_fail "the insert-only publication through pg_sluice: see above"
cap_stop ins

# which tables a publication covers, as pgoutput decides it: a schema
# (FOR TABLES IN SCHEMA), FOR ALL TABLES, a partition through its parent's
# publication, and two publications at once.  The Insert messages each
# plugin sends per table, read with pg_logical_slot_peek_binary_changes,
# must be the same (and what the publications say).
pg_sql "CREATE SCHEMA s2; CREATE TABLE s2.t (id int PRIMARY KEY);
        CREATE TABLE zz (id int PRIMARY KEY); CREATE TABLE np (id int PRIMARY KEY);
        CREATE TABLE pt (id int PRIMARY KEY) PARTITION BY RANGE (id);
        CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (100);
        CREATE PUBLICATION pubs FOR TABLES IN SCHEMA s2;
        CREATE PUBLICATION puball FOR ALL TABLES;
        CREATE PUBLICATION pubpt FOR TABLE pt;"
for plugin in pg_sluice pgoutput; do
	pg_sql "SELECT pg_create_logical_replication_slot('peek_$plugin', '$plugin')" >/dev/null
done
pg_sql "INSERT INTO s2.t SELECT generate_series(1, 3); INSERT INTO zz VALUES (1), (2);
        INSERT INTO np VALUES (1); INSERT INTO pt SELECT generate_series(1, 5);"
# inserts_by_table PLUGIN PUBLICATIONS: "schema.table=N ..." for the Insert
# messages the plugin's slot gives for those publications
inserts_by_table() {
	pg_sql "SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes('peek_$1',
	    NULL, NULL, 'proto_version', '1', 'publication_names', '$2')" |
	    $IT_PY -c '
import struct, sys
framed = sys.argv[1] == "pg_sluice"
rel, n = {}, {}
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    msgs, o = [], 0
    while framed and o < len(b):
        ln = struct.unpack(">I", b[o + 8:o + 12])[0]
        msgs.append(b[o + 12:o + 12 + ln])
        o += 12 + ln
    for m in (msgs if framed else [b]):
        if m[:1] == b"R":
            ns, rest = m[5:].split(b"\0", 1)
            rel[m[1:5]] = ns.decode() + "." + rest.split(b"\0", 1)[0].decode()
        elif m[:1] == b"I":
            n[rel[m[1:5]]] = n.get(rel[m[1:5]], 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(n.items())))' "$1"
}
for pubs in "pubs:s2.t=3" "puball:public.np=1 public.pt1=5 public.zz=2 s2.t=3" \
    "pubpt:public.pt1=5" "pubs,pubpt:public.pt1=5 s2.t=3"; do
	got=$(inserts_by_table pg_sluice "${pubs%%:*}")
	ref=$(inserts_by_table pgoutput "${pubs%%:*}")
	[ "$got" = "$ref" ] && [ "$got" = "${pubs#*:}" ] ||
		it_fail "publications ${pubs%%:*}: pg_sluice sends '$got', pgoutput '$ref', want '${pubs#*:}'"
done
for plugin in pg_sluice pgoutput; do
	pg_sql "SELECT pg_drop_replication_slot('peek_$plugin')" >/dev/null
done

# batching: 5,000 rows in one transaction come in far fewer CopyData messages
HTTP=$(it_free_port)
cap_config ok "$b_ADDR" "tables = public.a" "publication = plain" "plugin = pg_sluice" \
    "snapshot = never" "http = 127.0.0.1:$HTTP" "format = json"
cap_start ok
pg_sql "INSERT INTO a SELECT i, repeat('v', 50) FROM generate_series(100, 5099) i"
cap_wait_caught_up sluice_ok 60
curl -sf "http://127.0.0.1:$HTTP/metrics" >"$IT_DIR/metrics.txt" || it_fail "/metrics failed"
frames=$(awk '/^sluice_capture_xlog_messages_total/ { print $2 }' "$IT_DIR/metrics.txt")
events=$(awk '/^sluice_capture_decoded_messages_total/ { print $2 }' "$IT_DIR/metrics.txt")
[ -n "$frames" ] && [ -n "$events" ] || it_fail "/metrics lacks the frame or event count"
it_log "$events protocol messages in $frames CopyData messages"
[ "$events" -ge 5002 ] && [ "$frames" -gt 0 ] && [ $((frames * 20)) -lt "$events" ] ||
	it_fail "$events protocol messages came in $frames CopyData messages: not batched"

# a 12 MB value makes one batch of its own (the plugin's buffer grows for
# it and is given back after), and the rows after it still come through
pg_sql "INSERT INTO a VALUES (9000000, repeat('x', 12000000))"
pg_sql "INSERT INTO a VALUES (9000001, 'after the big one')"
cap_wait_caught_up sluice_ok 60
cap_dump "$b_ADDR" ok.public.a "$IT_DIR/ok.dump"
json_events "$IT_DIR/ok.dump" | $IT_PY -c '
import json, sys
rows = {}
for l in sys.stdin:
    e = json.loads(l)
    rows[e["after"]["id"]] = e["after"]["v"]
big = rows.get(9000000)
if big is None or len(big) != 12000000 or rows.get(9000001) != "after the big one":
    sys.exit("big row %s, next row %r" % (None if big is None else len(big), rows.get(9000001)))
if sum(1 for k in rows if 100 <= k < 5100) != 5000:
    sys.exit("the 5,000 rows are not all there")
' || it_fail "the 12 MB value or the rows around it did not come through pg_sluice"
cap_stop ok
it_log "ok"
