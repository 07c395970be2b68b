#!/bin/sh
# test_my_more.sh: what test_my_basic, test_my_kill and test_my_errors
# leave out of MariaDB capture, on one MariaDB 10.11 and one broker, each
# part with a source (and topics) of its own:
#  - sc/scpb: schema changes while streaming (ADD COLUMN with a default,
#    DROP COLUMN, MODIFY int -> bigint, RENAME COLUMN, one of them while
#    capture is stopped): every event has the shape in force at its binlog
#    position, in JSON (its before/after keys) and in protobuf (its Table:
#    column names, types, one schema_id per shape); the replay, each image
#    brought to the final shape as the DDL did, equals the table;
#  - tx: transaction.topic = true: BEGIN/END with event_count and per-table
#    counts equal to what the table topics hold of that GTID; a transaction
#    on the excluded table only leaves nothing there;
#  - tx: heartbeats over 3 s of idle time, and the stored position keeps
#    following the binlog while only the excluded table is written;
#  - sluice status for the mysql source: the stored position, "0 B behind"
#    when caught up, the bytes behind once capture is stopped; a source
#    that never ran: no position stored, exit 3, nothing created;
#  - nv: snapshot = never: rows before the first start never appear,
#    changes after do, also across a restart;
#  - io: snapshot = initial_only: op r for every row, exit 0 without
#    streaming, and a second run does nothing;
#  - big: capture killed (SIGKILL) in the middle of the snapshot of 200,000
#    rows: the next start snapshots again behind a truncate marker, then
#    streams (with writes going on during the second snapshot); the replay
#    equals the table and the stored position says snapshot "done".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
BIGROWS=${BIGROWS:-200000}

my_start
it_broker_start b
my_sql "CREATE TABLE sc (id int PRIMARY KEY, a varchar(20), n int);
        INSERT INTO sc VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3), (4, 'four', 4),
            (5, 'five', 5);
        CREATE TABLE tx_a (id int PRIMARY KEY, v varchar(20));
        CREATE TABLE tx_b (id int PRIMARY KEY, v varchar(20));
        CREATE TABLE tx_ex (id int PRIMARY KEY, v varchar(20));
        INSERT INTO tx_b VALUES (1, 'b1'), (2, 'b2'), (3, 'b3');
        CREATE TABLE nv (id int PRIMARY KEY, v varchar(20));
        INSERT INTO nv VALUES (1, 'before'), (2, 'before'), (3, 'before');
        CREATE TABLE io (id int PRIMARY KEY, v varchar(20));
        INSERT INTO io SELECT seq, concat('io', seq) FROM seq_1_to_50;
        CREATE TABLE big (id int PRIMARY KEY, v varchar(64), n int);
        INSERT INTO big SELECT seq, md5(seq), seq FROM seq_1_to_$BIGROWS;"

# kc KCAT_ARGS...: read a topic of broker b from the beginning to its end
# (a short fetch wait: an empty partition answers at once)
# shellcheck disable=SC2154
kc() {
	timeout 30 kcat -C -b "$b_ADDR" -o beginning -e -q -X fetch.wait.max.ms=10 "$@" 2>/dev/null
}

# dump TOPIC FILE: my_lib.sh's mycap_dump on this test's broker.
dump() {
	mycap_dump "$b_ADDR" "$1" "$2"
}

# ------------------------------------------------------------------
# schema changes while streaming: source sc (json) and scpb (protobuf)
# ------------------------------------------------------------------
mycap_config sc "$b_ADDR" "tables = app.sc" "format = json" "topic.partitions = 2"
mycap_config scpb "$b_ADDR" "tables = app.sc" "format = protobuf" "topic.partitions = 2"
mycap_start sc
mycap_start scpb
: >"$IT_DIR/ddl.pos"
# ddl SQL: run a DDL statement and note the binlog position after it: an
# event at or past it has the new shape, an event before it the old one
ddl() {
	my_sql "$1" || it_fail "$1 failed"
	my_master_status >>"$IT_DIR/ddl.pos"
}
my_sql "INSERT INTO sc VALUES (6, 'six', 6); UPDATE sc SET n = 10 WHERE id = 1"
ddl "ALTER TABLE sc ADD COLUMN extra varchar(10) NOT NULL DEFAULT 'dflt'"
my_sql "UPDATE sc SET extra = 'x2' WHERE id = 2; INSERT INTO sc (id, a, n) VALUES (7, 'seven', 7);
        UPDATE sc SET n = n + 1 WHERE id = 3"
ddl "ALTER TABLE sc DROP COLUMN a"
my_sql "INSERT INTO sc VALUES (8, 8, 'x8'); UPDATE sc SET n = 44 WHERE id = 4"
mycap_wait_caught_up sc 30
# capture down across a change of type: its start reads the new shape from
# the catalog, the binlog still holds rows of the old one
mycap_stop sc
my_sql "DELETE FROM sc WHERE id = 5; UPDATE sc SET n = 66 WHERE id = 6"
ddl "ALTER TABLE sc MODIFY n bigint"
my_sql "UPDATE sc SET n = 5000000000 WHERE id = 6; INSERT INTO sc VALUES (9, -9000000000000, 'x9')"
mycap_start sc
ddl "ALTER TABLE sc RENAME COLUMN extra TO label"
my_sql "UPDATE sc SET label = 'renamed' WHERE id = 7; INSERT INTO sc VALUES (10, 10, 'x10');
        UPDATE sc SET n = 42 WHERE id = 1; DELETE FROM sc WHERE id = 2"
mycap_wait_caught_up sc 30
mycap_wait_caught_up scpb 30
dump sc.app.sc "$IT_DIR/sc.dump"
kc -t scpb.app.sc -f '%p %o %K %S\n%k%s' >"$IT_DIR/scpb.dump" || it_fail "kcat could not read scpb.app.sc"
my_want sc "$IT_DIR/sc.want"
$IT_PY - "$HERE" "$IT_DIR/ddl.pos" "$IT_DIR/sc.dump" "$IT_DIR/scpb.dump" "$IT_DIR/sc.up" \
    >"$IT_DIR/sc.check" 2>&1 <<'EOF' || { cat "$IT_DIR/sc.check" >&2; it_fail "events of sc do not have the shape in force at their position"; }
import json, sys
sys.path.insert(0, sys.argv[1])
from my_replay import pb_fields

SHAPES = [                    # (column, type name) after each DDL
    [("id", "int"), ("a", "varchar"), ("n", "int")],
    [("id", "int"), ("a", "varchar"), ("n", "int"), ("extra", "varchar")],
    [("id", "int"), ("n", "int"), ("extra", "varchar")],
    [("id", "int"), ("n", "bigint"), ("extra", "varchar")],
    [("id", "int"), ("n", "bigint"), ("label", "varchar")],
]
def packed(f, p):
    return (int(f.rsplit(".", 1)[1]), int(p))
ddl = [packed(*l.split("\t")[:2]) for l in open(sys.argv[2]).read().split("\n") if l]
assert len(ddl) == len(SHAPES) - 1, ddl
def shape_at(f, p):
    at = packed(f, p)
    return sum(1 for d in ddl if d <= at)

bad, seen, up = [], {}, []
for line in open(sys.argv[3]):
    f = line.rstrip("\n").split("\t")
    if f[3] == "NULL":
        up.append(line.rstrip("\n"))
        continue
    ev = json.loads(f[3])
    src = ev["source"]
    k = shape_at(src["file"], src["pos"])
    want = [c for c, _ in SHAPES[k]]
    seen[k] = seen.get(k, 0) + 1
    where = "json p%s o%s op %s at %s:%s" % (f[0], f[1], ev["op"], src["file"], src["pos"])
    if (src["db"], src["table"], src["connector"]) != ("app", "sc", "mysql"):
        bad.append("%s: source %s" % (where, src))
    if ev["op"] == "r" and k != 0:
        bad.append("%s: a snapshot event after a DDL" % where)
    for img in ("before", "after"):
        if ev.get(img) is not None and list(ev[img]) != want:
            bad.append("%s: %s has columns %s, the table had %s there" % (where, img, list(ev[img]), want))
    # the image as the final shape has it: what the DDL did to stored rows
    for img in ("before", "after"):
        v = ev.get(img)
        if v is None:
            continue
        v = dict(v)
        v.pop("a", None)
        if "extra" in v:
            v["label"] = v.pop("extra")
        v.setdefault("label", "dflt")
        ev[img] = {c: v.get(c) for c, _ in SHAPES[-1]}
    f[3] = json.dumps(ev, separators=(",", ":"))
    up.append("\t".join(f))
open(sys.argv[5], "w").write("\n".join(up) + "\n")
if sorted(seen) != list(range(len(SHAPES))):
    bad.append("json: events in shapes %s, expected some in each of %s" % (sorted(seen), list(range(len(SHAPES)))))

# protobuf: each Event's Table names the columns of its shape, one schema_id per shape
data = open(sys.argv[4], "rb").read()
i, ids, n = 0, {}, 0
while i < len(data):
    j = data.index(b"\n", i)
    p, o, kl, vl = (int(x) for x in data[i:j].split())
    val = data[j + 1 + max(kl, 0):j + 1 + max(kl, 0) + max(vl, 0)]
    i = j + 1 + max(kl, 0) + max(vl, 0)
    if vl < 0:
        continue
    n += 1
    ev = dict((f, v) for f, _, v in pb_fields(val))
    tab = pb_fields(ev[2])
    sid = dict((f, v) for f, _, v in tab).get(1)
    cols = []
    for f, _, c in tab:
        if f == 5:
            cd = dict((g, v) for g, _, v in pb_fields(c))
            cols.append((cd.get(1, b"").decode(), cd.get(3, b"").decode()))
    src = dict((f, v) for f, _, v in pb_fields(ev[7]))
    k = shape_at(src[13].decode(), src.get(14, 0))
    where = "protobuf p%d o%d at %s:%s" % (p, o, src[13].decode(), src.get(14, 0))
    if cols != SHAPES[k]:
        bad.append("%s: Table columns %s, the table had %s there" % (where, cols, SHAPES[k]))
    if ids.setdefault(k, sid) != sid:
        bad.append("%s: schema_id %s, an earlier event of that shape had %s" % (where, sid, ids[k]))
if sorted(ids) != list(range(len(SHAPES))) or len(set(ids.values())) != len(SHAPES):
    bad.append("protobuf: schema ids per shape %s: expected %d shapes, each its own id" % (ids, len(SHAPES)))
print("json: events per shape %s; protobuf: %d events, schema ids %s" % (
    [seen.get(k, 0) for k in range(len(SHAPES))], n, [ids.get(k) for k in range(len(SHAPES))]))
for b in bad[:30]:
    print("problem: " + b)
sys.exit(1 if bad else 0)
EOF
it_log "sc: $(cat "$IT_DIR/sc.check")"
$IT_PY "$HERE/my_replay.py" "$IT_DIR/sc.up" "$IT_DIR/sc.want" --no-dups >"$IT_DIR/sc.replay" 2>&1 ||
	{ cat "$IT_DIR/sc.replay" >&2; it_fail "replaying sc.app.sc (brought to the final shape) does not give the table"; }
it_log "sc: $(grep '^replayed' "$IT_DIR/sc.replay")"
grep -q '"n":5000000000,' "$IT_DIR/sc.dump" || it_fail "the bigint value 5000000000 of row 6 is not in sc.app.sc"
# every protobuf key and event decodes, with the source block of app.sc
$IT_PY "$HERE/my_replay.py" --pb "$IT_DIR/scpb.dump" sc id >"$IT_DIR/scpb.out" 2>&1 ||
	{ cat "$IT_DIR/scpb.out" >&2; it_fail "scpb.app.sc does not decode as Key and Event"; }
grep -qx "decoded 22 protobuf messages: r=5 c=5 u=8 d=2 tombstone=2" "$IT_DIR/scpb.out" ||
	it_fail "scpb.app.sc: $(cat "$IT_DIR/scpb.out"), expected the same 22 messages as sc.app.sc"
mycap_stop scpb
mycap_stop sc

# ------------------------------------------------------------------
# transaction.topic: source tx, tx_a and tx_b captured, tx_ex excluded
# ------------------------------------------------------------------
mycap_config tx "$b_ADDR" "tables = app.tx_*, !app.tx_ex" "format = json" "topic.partitions = 2" \
    "transaction.topic = true"
mycap_start tx
# one transaction on both captured tables and the excluded one: 8 events
# (tx_a: 3 inserts, a delete, a key change as d + c; tx_b: 2 updates)
g1=$(my_sql "BEGIN;
        INSERT INTO tx_a VALUES (1, 'a1'), (2, 'a2');
        INSERT INTO tx_ex VALUES (1, 'EXCLUDED-ONLY');
        UPDATE tx_b SET v = 'b-upd' WHERE id IN (1, 2);
        INSERT INTO tx_a VALUES (3, 'a3');
        DELETE FROM tx_a WHERE id = 1;
        UPDATE tx_a SET id = 20 WHERE id = 2;
        INSERT INTO tx_ex VALUES (2, 'EXCLUDED-ONLY');
        COMMIT;
        SELECT @@last_gtid")
# the excluded table only
g2=$(my_sql "BEGIN; INSERT INTO tx_ex VALUES (3, 'EXCLUDED-ONLY');
        UPDATE tx_ex SET v = 'EXCLUDED-ONLY2' WHERE id = 1; COMMIT; SELECT @@last_gtid")
# one autocommit row of tx_b
g3=$(my_sql "INSERT INTO tx_b VALUES (4, 'b4'); SELECT @@last_gtid")
mycap_wait_caught_up tx 30
dump tx.transaction "$IT_DIR/tx.dump"
dump tx.app.tx_a "$IT_DIR/tx_a.dump"
dump tx.app.tx_b "$IT_DIR/tx_b.dump"
kcat -L -b "$b_ADDR" -m 5 2>/dev/null | grep -q '"tx.app.tx_ex"' && it_fail "the excluded table tx_ex has a topic"
grep -q "EXCLUDED" "$IT_DIR"/tx*.dump && it_fail "rows of the excluded table tx_ex were produced"
$IT_PY - "$IT_DIR/tx.dump" "$IT_DIR/tx_a.dump" "$IT_DIR/tx_b.dump" "$g1" "$g2" "$g3" \
    >"$IT_DIR/tx.check" 2>&1 <<'EOF' || { cat "$IT_DIR/tx.check" "$IT_DIR/tx.dump" >&2; it_fail "tx.transaction does not match the table topics"; }
import collections, json, sys
txd, ad, bd, g1, g2, g3 = sys.argv[1:7]
bad = []
tx = [l.rstrip("\n").split("\t") for l in open(txd) if l.strip()]
msgs = [(f[2], json.loads(f[3])) for f in tx]
# the table events of each transaction id, per table
got = collections.defaultdict(collections.Counter)
orders = collections.defaultdict(list)
for path, coll in ((ad, "app.tx_a"), (bd, "app.tx_b")):
    for l in open(path):
        f = l.rstrip("\n").split("\t")
        if f[3] == "NULL":
            continue
        ev = json.loads(f[3])
        if ev["op"] == "r":
            continue
        t = ev.get("transaction") or {}
        if t.get("id") != ev["source"].get("gtid"):
            bad.append("%s %s: transaction.id %r, source.gtid %r" % (coll, f[1], t.get("id"), ev["source"].get("gtid")))
        got[t.get("id")][coll] += 1
        orders[t.get("id")].append(t.get("total_order"))
want = {g1: {"app.tx_a": 6, "app.tx_b": 2}, g3: {"app.tx_b": 1}}
for g, w in want.items():
    if dict(got[g]) != w:
        bad.append("table topics hold %s of transaction %s, the SQL made %s" % (dict(got[g]), g, w))
    if sorted(orders[g]) != list(range(1, sum(w.values()) + 1)):
        bad.append("transaction %s: total_order %s" % (g, sorted(orders[g])))
if set(got) - set(want):
    bad.append("table events of other transactions: %s" % sorted(got))
# BEGIN, END per captured transaction, in binlog order, on partition 0
seq = [(m["status"], m["id"]) for _, m in msgs]
if seq != [("BEGIN", g1), ("END", g1), ("BEGIN", g3), ("END", g3)]:
    bad.append("tx.transaction holds %s, expected BEGIN/END of %s then %s" % (seq, g1, g3))
for key, m in msgs:
    if key != m["id"]:
        bad.append("a %s keyed %r, id %r" % (m["status"], key, m["id"]))
    if m["status"] == "BEGIN" and (m.get("event_count") is not None or m.get("data_collections") is not None):
        bad.append("BEGIN with counts: %s" % m)
    if m["status"] == "END":
        dc = {d["data_collection"]: d["event_count"] for d in m["data_collections"]}
        if dc != dict(got[m["id"]]) or m["event_count"] != sum(got[m["id"]].values()):
            bad.append("END of %s: event_count %s, data_collections %s; the table topics hold %s"
                       % (m["id"], m["event_count"], dc, dict(got[m["id"]])))
    if not isinstance(m.get("ts_ms"), int) or m["ts_ms"] < 1.6e12:
        bad.append("ts_ms %r" % m.get("ts_ms"))
if g2 in [m["id"] for _, m in msgs]:
    bad.append("the transaction %s on the excluded table only is on tx.transaction" % g2)
print("transactions %s: %s" % (seq, {g: dict(c) for g, c in got.items()}))
for b in bad:
    print("problem: " + b)
sys.exit(1 if bad else 0)
EOF
it_log "tx: $(cat "$IT_DIR/tx.check")"

# ------------------------------------------------------------------
# heartbeats while idle; the stored position follows writes to tx_ex only
# ------------------------------------------------------------------
hb_count() {
	kc -t tx.heartbeat -f '%k\t%s\n' | grep -c . || true
}
h0=$(hb_count)
t0=$(date +%s%3N)
sleep 3
h1=$(hb_count)
[ $((h1 - h0)) -ge 2 ] || it_fail "tx.heartbeat got $((h1 - h0)) messages in 3 s idle with heartbeat = 1s"
kc -t tx.heartbeat -f '%k\t%s\n' | tail -n 3 |
    $IT_PY -c 'import json, sys
t0 = int(sys.argv[1])
last = [l.rstrip("\n").split("\t") for l in sys.stdin]
ts = [json.loads(v)["ts_ms"] for k, v in last]
assert all(k == "tx" for k, v in last), last
assert ts == sorted(ts) and ts[-1] >= t0, (ts, t0)' "$t0" ||
	it_fail "the last heartbeats are not keyed tx with a rising ts_ms after the idle time began"
it_log "heartbeats: $((h1 - h0)) in 3 s idle"
ntx=$(wc -l <"$IT_DIR/tx.dump")
# stored_pos NAME: "FILE<TAB>POS" of the newest position NAME stored (as
# mycap_stored_pos, with kc's short fetch wait)
stored_pos() {
	kc -t "$1.offsets" -f '%k\t%s\n' | awk -F '\t' -v k="$1" '$1 == k { last = $2 }
	    END {
		f = last; sub(/.*"file":[ ]*"/, "", f); sub(/".*/, "", f)
		p = last; sub(/.*"pos":[ ]*/, "", p); sub(/[^0-9].*/, "", p)
		print f "\t" p + 0
	    }'
}
# tx_stored_at FILE POS: tx stored a position in FILE at or past POS
tx_stored_at() {
	got=$(stored_pos tx)
	[ "${got%%	*}" = "$1" ] && [ "${got#*	}" -ge "$2" ]
}
prev=$(stored_pos tx | cut -f 2)
for i in 1 2 3; do
	my_sql "INSERT INTO tx_ex VALUES ($((100 + i)), 'EXCLUDED-ONLY')"
	want=$(my_master_status)
	[ "${want#*	}" -gt "$prev" ] || it_fail "the binlog did not move with a write to tx_ex"
	it_wait 10 "the stored position of tx to reach $(echo "$want" | tr '\t' :), with tx_ex written only" \
	    tx_stored_at "${want%%	*}" "${want#*	}"
	prev=${want#*	}
done
sleep 0.5
dump tx.transaction "$IT_DIR/tx2.dump"
[ "$(wc -l <"$IT_DIR/tx2.dump")" -eq "$ntx" ] || it_fail "writes to the excluded table tx_ex reached tx.transaction"
it_log "stored position followed 3 writes to the excluded table to $(mycap_stored_pos tx | tr '\t' ' ')"

# ------------------------------------------------------------------
# sluice status on the mysql source
# ------------------------------------------------------------------
# status NAME RC: sluice status -c cap-NAME.ini must exit RC; output in status.out
status() {
	set +e
	"$SLUICE" status -c "$IT_DIR/cap-$1.ini" --timeout 5000 >"$IT_DIR/status.out" 2>&1
	rc=$?
	set -e
	[ "$rc" = "$2" ] || { cat "$IT_DIR/status.out" >&2; it_fail "sluice status -c cap-$1.ini exited $rc, not $2"; }
	it_log "status $1: $(cat "$IT_DIR/status.out")"
}
ms=$(my_master_status | tr '\t' ':')
status tx 0
grep -qx "source  tx: binlog stored $ms, gtid [0-9]*-[0-9]*-[0-9]*, 0 B behind the server ($ms)" \
    "$IT_DIR/status.out" || it_fail "sluice status did not say tx is 0 B behind at $ms"
mycap_stop tx
stored=$(mycap_stored_pos tx | cut -f 1,2 | tr '\t' ':')
[ "$stored" = "$ms" ] || it_fail "a clean stop stored $stored, the server is at $ms with nothing new"
my_sql "INSERT INTO tx_a VALUES (1000, repeat('x', 20))"
ms2=$(my_master_status | tr '\t' ':')
behind=$(( ${ms2#*:} - ${ms#*:} ))
status tx 0
grep -qx "source  tx: binlog stored $ms, gtid [0-9]*-[0-9]*-[0-9]*, $behind B behind the server ($ms2)" \
    "$IT_DIR/status.out" || it_fail "sluice status did not say tx is $behind B behind ($ms, server at $ms2)"
mycap_config ghost "$b_ADDR" "tables = app.tx_a" "format = json"
status ghost 3
grep -q "^source  ghost: no position stored in ghost.offsets" "$IT_DIR/status.out" ||
	it_fail "sluice status did not say source ghost has no position stored"
if kcat -L -b "$b_ADDR" -m 5 2>/dev/null | grep -q '"ghost\.'; then
	it_fail "sluice status created a topic of source ghost"
fi

# ------------------------------------------------------------------
# snapshot = never: source nv
# ------------------------------------------------------------------
mycap_config nv "$b_ADDR" "tables = app.nv" "format = json" "topic.partitions = 2" "snapshot = never"
mycap_start nv
my_sql "INSERT INTO nv VALUES (4, 'after'); UPDATE nv SET v = 'changed' WHERE id = 1;
        DELETE FROM nv WHERE id = 2"
mycap_wait_caught_up nv 30
mycap_stop nv
# a stored position is used again: a row written while stopped arrives
my_sql "INSERT INTO nv VALUES (5, 'while stopped')"
mycap_start nv
my_sql "INSERT INTO nv VALUES (6, 'after restart')"
mycap_wait_caught_up nv 30
dump nv.app.nv "$IT_DIR/nv.dump"
got=$($IT_PY -c 'import json, sys
evs = [json.loads(l.split("\t")[3]) for l in open(sys.argv[1]) if l.split("\t")[3] != "NULL"]
print(" ".join(sorted("%s%d" % (e["op"], (e["after"] or e["before"])["id"]) for e in evs)))' "$IT_DIR/nv.dump")
[ "$got" = "c4 c5 c6 d2 u1" ] ||
	it_fail "nv.app.nv holds events '$got', expected 'c4 c5 c6 d2 u1' (rows before the first start must not appear)"
[ "$(grep -c "no stored position and snapshot = never" "$IT_DIR/cap-nv.log")" -eq 1 ] ||
	it_fail "capture nv did not say once that it streams from the server's position"
it_log "nv: events $got"

# ------------------------------------------------------------------
# snapshot = initial_only: source io
# ------------------------------------------------------------------
mycap_config io "$b_ADDR" "tables = app.io" "format = json" "topic.partitions = 2" \
    "snapshot = initial_only"
# io_run: capture in the foreground; it must exit 0 by itself within 30 s
io_run() {
	echo "==== start $(date +%H:%M:%S.%N)" >>"$IT_DIR/cap-io.log"
	set +e
	timeout 30 "$SLUICE" capture -c "$IT_DIR/cap-io.ini" >>"$IT_DIR/cap-io.log" 2>&1
	rc=$?
	set -e
	[ "$rc" -ne 124 ] || it_fail "capture io (snapshot = initial_only) still ran after 30 s"
	[ "$rc" -eq 0 ] || { tail -n 5 "$IT_DIR/cap-io.log" >&2; it_fail "capture io exited $rc"; }
}
io_run
grep -q "streaming from binlog" "$IT_DIR/cap-io.log" && it_fail "capture io streamed with snapshot = initial_only"
[ "$(mycap_stored_pos io | cut -f 3)" = "done" ] || it_fail "capture io stored no position with snapshot done"
dump io.app.io "$IT_DIR/io.dump"
io_events() {
	$IT_PY -c 'import json, sys
evs = [json.loads(l.split("\t")[3]) for l in open(sys.argv[1]) if l.split("\t")[3] != "NULL"]
ops = set(e["op"] for e in evs)
ids = sorted(e["after"]["id"] for e in evs)
print("%s %d %s" % ("".join(sorted(ops)), len(evs), ids == list(range(1, 51))))' "$1"
}
[ "$(io_events "$IT_DIR/io.dump")" = "r 50 True" ] ||
	it_fail "io.app.io: $(io_events "$IT_DIR/io.dump"), expected op r for each of rows 1..50"
my_sql "INSERT INTO io VALUES (51, 'later'); UPDATE io SET v = 'later' WHERE id = 1"
io_run
grep -q "initial_only and the snapshot was taken already" "$IT_DIR/cap-io.log" ||
	it_fail "the second run of capture io did not say it had nothing to do"
dump io.app.io "$IT_DIR/io2.dump"
cmp -s "$IT_DIR/io.dump" "$IT_DIR/io2.dump" ||
	it_fail "io.app.io changed after the initial_only snapshot: $(diff "$IT_DIR/io.dump" "$IT_DIR/io2.dump" | head -n 3)"
it_log "io: 50 rows as op r, exit 0 twice, nothing streamed"

# ------------------------------------------------------------------
# capture killed during the snapshot of $BIGROWS rows: source big
# ------------------------------------------------------------------
BIGHTTP=$(it_free_port)
mycap_config big "$b_ADDR" "tables = app.big" "format = json" "topic.partitions = 3" \
    "http = 127.0.0.1:$BIGHTTP"
echo "==== start $(date +%H:%M:%S.%N)" >>"$IT_DIR/cap-big.log"
"$SLUICE" capture -c "$IT_DIR/cap-big.ini" >>"$IT_DIR/cap-big.log" 2>&1 &
echo $! >"$IT_DIR/cap-big.pid"
it_track "$(mycap_pid big)"
# killed once the broker acknowledged some rows of the snapshot (so the
# next start finds them in the topic), polled every 20 ms: the copy of
# 200,000 rows takes over a second
big_acked() {
	curl -sf "http://127.0.0.1:$BIGHTTP/metrics" 2>/dev/null |
	    awk '$1 ~ /^sluice_capture_messages_acked_total/ { n = $2 } END { print n + 0 }'
}
end=$(( $(date +%s) + 30 ))
while [ "$(big_acked)" -lt 2000 ]; do
	kill -0 "$(mycap_pid big)" 2>/dev/null || { tail -n 5 "$IT_DIR/cap-big.log" >&2; it_fail "capture big exited in its snapshot"; }
	[ "$(date +%s)" -lt "$end" ] || it_fail "capture big acknowledged no snapshot rows in 30 s"
	sleep 0.02
done
mycap_kill big
sleep 0.5	# requests the broker read before the kill are appended by now
grep -q "snapshot done" "$IT_DIR/cap-big.log" &&
	it_fail "the snapshot of $BIGROWS rows ended before the kill: nothing was interrupted"
[ -z "$(mycap_stored_pos big)" ] || it_fail "an interrupted snapshot stored a position: $(mycap_stored_pos big)"
n1=$(kc -t big.app.big -f '%o\n' | wc -l)
it_log "big: killed in the snapshot with $n1 of $BIGROWS rows in the topic"
my_sql "UPDATE big SET n = -n WHERE id <= 100; DELETE FROM big WHERE id BETWEEN 101 AND 200;
        INSERT INTO big VALUES ($((BIGROWS + 1)), 'new', 1)"
rows2=$(my_sql "SELECT count(*) FROM big")
# writes while the second snapshot runs
( i=1; while [ $i -le 30 ]; do
	my_sql "UPDATE big SET v = 'during', n = n + 1 WHERE id = $((i * 997)); INSERT INTO big VALUES ($((BIGROWS + 1 + i)), 'during', $i)"
	i=$((i + 1))
	sleep 0.05
  done ) >"$IT_DIR/big-writes.log" 2>&1 &
writer=$!
mycap_start big
wait "$writer" || { cat "$IT_DIR/big-writes.log" >&2; it_fail "the writes during the snapshot failed"; }
my_sql "DELETE FROM big WHERE id = 300; UPDATE big SET v = 'streamed' WHERE id = 301"
mycap_wait_caught_up big 60
grep -q "big.app.big already holds messages" "$IT_DIR/cap-big.log" ||
	it_fail "the second start of big did not say its topic already holds messages"
[ "$(mycap_stored_pos big | cut -f 3)" = "done" ] ||
	it_fail "big stored '$(mycap_stored_pos big)', not a position with snapshot done"
dump big.app.big "$IT_DIR/big.dump"
copied=$(sed -n 's/.*snapshot of app\.big: \([0-9]*\) rows.*/\1/p' "$IT_DIR/cap-big.log")
[ "$(echo "$copied" | wc -l)" -eq 1 ] || it_fail "capture big logged the end of its snapshot $(echo "$copied" | wc -l) times: $copied"
if [ "$copied" -lt "$rows2" ] || [ "$copied" -gt $((rows2 + 30)) ]; then
	it_fail "the second snapshot copied $copied rows; the table had $rows2 and then at most 30 more"
fi
$IT_PY - "$IT_DIR/big.dump" "$n1" "$copied" "$BIGROWS" >"$IT_DIR/big.check" 2>&1 <<'EOF' || { cat "$IT_DIR/big.check" >&2; it_fail "big.app.big is not: the interrupted copy, a truncate marker, the whole copy, the changes"; }
import collections, json, sys
n1, copied, rows = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per = collections.defaultdict(list)
for l in open(sys.argv[1]):
    f = l.rstrip("\n").split("\t")
    op = "tomb" if f[3] == "NULL" else f[3].split('"op":"', 1)[1][0]
    per[int(f[0])].append((op, f[2]))
bad, pre, ids, later = [], 0, collections.Counter(), collections.Counter()
for p in range(3):
    ops = [o for o, _ in per[p]]
    if ops.count("t") != 1:
        bad.append("partition %d has %d truncate markers" % (p, ops.count("t")))
        continue
    i = ops.index("t")
    if set(ops[:i]) - {"r"}:
        bad.append("partition %d: %s before the marker" % (p, sorted(set(ops[:i]))))
    pre += i
    j = i + 1
    while j < len(ops) and ops[j] == "r":
        ids[json.loads(per[p][j][1])["id"]] += 1
        j += 1
    if "r" in ops[j:]:
        bad.append("partition %d: a snapshot row after a change" % p)
    for o, k in per[p][j:]:
        later[o] += 1
        if o == "c":
            ids[json.loads(k)["id"]] += 1
if pre != n1:
    bad.append("%d messages before the markers, %d were there at the kill" % (pre, n1))
if sum(ids.values()) - later["c"] != copied:
    bad.append("%d snapshot rows after the markers, capture said it copied %d" % (sum(ids.values()) - later["c"], copied))
twice = [k for k, n in ids.items() if n > 1]
if twice:
    bad.append("rows copied or created twice: %s" % twice[:10])
# each row inserted around the second snapshot: copied or streamed, once
missing = [k for k in range(rows + 1, rows + 32) if ids[k] != 1]
if missing:
    bad.append("rows inserted around the second snapshot, neither copied nor streamed once: %s" % missing)
print("%d rows before the markers, %d copied after them, then %s" % (pre, copied, dict(later)))
for b in bad:
    print("problem: " + b)
sys.exit(1 if bad else 0)
EOF
it_log "big: $(cat "$IT_DIR/big.check")"
my_want big "$IT_DIR/big.want"
$IT_PY "$HERE/my_replay.py" "$IT_DIR/big.dump" "$IT_DIR/big.want" >"$IT_DIR/big.replay" 2>&1 ||
	{ head -n 30 "$IT_DIR/big.replay" >&2; it_fail "replaying big.app.big does not give the table"; }
it_log "big: $(grep '^replayed' "$IT_DIR/big.replay")"
mycap_stop big
it_log "ok"
