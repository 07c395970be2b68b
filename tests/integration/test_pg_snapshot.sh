#!/bin/sh
# test_pg_snapshot.sh: the initial snapshot of a ROWS-row table (default
# 1,000,000) taken while pgbench updates, deletes and inserts rows: every
# row appears once as op r (no key twice among the r rows), changes
# committed after the snapshot follow as c/u/d, and replaying the topic
# gives the table back exactly.  An interrupted snapshot (SIGKILL during
# the copy) is redone from the beginning on the next start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

ROWS=${ROWS:-1000000}

pg_start
it_broker_start b
pg_sql "CREATE TABLE s (id int PRIMARY KEY, v text, n int);
        INSERT INTO s SELECT i, md5(i::text), 0 FROM generate_series(1, $ROWS) i;"
pg_sql "VACUUM ANALYZE s"
cat >"$IT_DIR/w.sql" <<EOF
\\set a random(1, $ROWS)
BEGIN;
UPDATE s SET n = n + 1, v = md5(random()::text) WHERE id = :a;
DELETE FROM s WHERE id = :a + 1;
INSERT INTO s VALUES (:a + $ROWS + 1, 'new', 0) ON CONFLICT (id) DO UPDATE SET n = s.n + 1;
END;
EOF
HTTP=$(it_free_port)
cap_config app "$b_ADDR" "tables = public.s" "format = json" "topic.partitions = 4" \
    "snapshot_workers = 2" "http = 127.0.0.1:$HTTP"

"$PG_BIN/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -n -c 2 -T 25 -f "$IT_DIR/w.sql" app \
    >"$IT_DIR/pgbench.log" 2>&1 &
bench=$!
it_track "$bench"
sleep 1

# interrupt the first snapshot half-way
"$SLUICE" capture -c "$IT_DIR/cap-app.ini" >>"$IT_DIR/cap-app.log" 2>&1 &
first=$!
it_track "$first"
it_wait 60 "the first snapshot to start" grep -q "slot sluice_app_snap created" "$IT_DIR/cap-app.log"
# killed once the broker acknowledged some rows of the first snapshot (the
# check of the topic below wants both attempts in it), polled every 20 ms
acked() {
	curl -sf "http://127.0.0.1:$HTTP/metrics" 2>/dev/null |
	    awk '$1 ~ /^sluice_capture_messages_acked_total/ { n = $2 } END { print n + 0 }'
}
want=$((ROWS / 10))
[ "$want" -le 2000 ] || want=2000
[ "$want" -ge 1 ] || want=1
end=$(( $(date +%s) + 60 ))
while [ "$(acked)" -lt "$want" ]; do
	kill -0 "$first" 2>/dev/null || { tail -n 5 "$IT_DIR/cap-app.log" >&2; it_fail "the first capture exited in its snapshot"; }
	[ "$(date +%s)" -lt "$end" ] || it_fail "the first snapshot had no $want rows acknowledged in 60 s"
	sleep 0.02
done
kill -KILL "$first"
wait "$first" 2>/dev/null || true
[ -z "$(pg_sql "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_app'")" ] ||
	it_fail "the slot exists although the snapshot was interrupted"

cap_start app
wait "$bench" || { cat "$IT_DIR/pgbench.log" >&2; it_fail "pgbench failed"; }
grep -q "slot sluice_app_snap is left from an interrupted snapshot" "$IT_DIR/cap-app.log" ||
	it_fail "the interrupted snapshot was not noticed"
cap_wait_caught_up sluice_app 600

cap_dump "$b_ADDR" app.public.s "$IT_DIR/s.dump"
pg_sql "SELECT coalesce(json_agg(t), '[]') FROM s t" >"$IT_DIR/s.want"
$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/s.dump" "$IT_DIR/s.want" --no-dups ||
	it_fail "replaying the snapshot and the changes does not give the table back"
# the second (complete) snapshot: every key at most once as r
$IT_PY -c '
import json, sys
groups = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if "\"op\":\"r\"" not in p[3]:
        continue
    ev = json.loads(p[3])
    groups.setdefault(ev["source"]["ts_ms"], []).append(p[2])
last = groups[max(groups)]
assert len(groups) == 2, "%d snapshot attempts seen" % len(groups)
assert len(last) == len(set(last)), "a key appears twice in the snapshot"
print("snapshot attempts: %s rows; the complete one: %d rows" % ([len(g) for g in groups.values()], len(last)))
' "$IT_DIR/s.dump" || it_fail "the snapshot rows are wrong"
cap_stop app
