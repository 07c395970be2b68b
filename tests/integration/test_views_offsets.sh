#!/bin/sh
# test_views_offsets.sh: the offsets a view commits to the broker, for
# monitoring only (docs/views.md "Exactly-once effect").  While single-row
# transactions trickle in, the view commits a batch per change but the
# broker gets an OffsetCommit at most every offset_commit_interval (2 s
# here), not one per batch; the group's committed offsets still catch up
# with the view within the interval, and equal the end of every partition
# after a clean stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

ROWS=40

pg_start
it_broker_start b
pg_sql "CREATE TABLE t (id int PRIMARY KEY, v text)"
{
	echo "[source \"app\"]"
	echo "type = postgres"
	echo "dsn = $PG_DSN"
	echo "bootstrap = $b_ADDR"
	echo "tables = public.t"
	echo "topic_prefix = app"
	echo "status_interval = 200ms"
	echo "spool_dir = $IT_DIR/spool"
	echo "topic.partitions = 2"
	echo "[view \"v\"]"
	echo "topics = app.public.t"
	echo "path = $IT_DIR/views/v"
	echo "bootstrap = $b_ADDR"
	echo "batch_ms = 10"
	echo "offset_commit_interval = 2s"
} >"$IT_DIR/sluice.ini"
cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-app.ini"

# committed: the sum over both partitions of the group's committed offsets
# (OffsetFetch v1 on the wire; -1 counts as 0)
committed() {
	PYTHONPATH="$(dirname "$0")/python" python3 -c '
import struct, sys
from kwire import connect, frame, header, i32, outcome, send, string
s = connect("127.0.0.1", int(sys.argv[1]))
body = header(9, 1, 7) + string("sluice-view-v") + i32(1) + string("app.public.t") + \
    i32(2) + i32(0) + i32(1)
send(s, frame(body))
kind, r = outcome(s)
assert kind == "resp", kind
pos = 4
(nt,) = struct.unpack(">i", r[pos:pos + 4]); pos += 4
total = 0
for _ in range(nt):
    (nl,) = struct.unpack(">h", r[pos:pos + 2]); pos += 2 + nl
    (np,) = struct.unpack(">i", r[pos:pos + 4]); pos += 4
    for _ in range(np):
        part, off = struct.unpack(">iq", r[pos:pos + 12]); pos += 12
        (ml,) = struct.unpack(">h", r[pos:pos + 2]); pos += 2 + max(ml, 0)
        (err,) = struct.unpack(">h", r[pos:pos + 2]); pos += 2
        assert err == 0, "OffsetFetch error %d" % err
        total += max(off, 0)
print(total)
' "$b_PORT"
}

offset_commits() {
	curl -s "http://127.0.0.1:$b_HTTP/metrics" |
		sed -n 's/^sluice_broker_requests_total{api="OffsetCommit"} \([0-9]*\)$/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

view_rows() {
	[ "$("$SLUICE" view -c "$IT_DIR/sluice.ini" scan v 2>/dev/null | wc -l)" = "$1" ]
}

cap_start app
mat_start
pg_sql "INSERT INTO t VALUES (0, 'first')"
it_wait 60 "the first row in view v" view_rows 1
# the first broker commit is out (counted in $before below, not in the
# commits of the trickle), then a quiet interval passes
first_committed() { [ "$(committed)" = 1 ]; }
it_wait 30 "the first row's offset committed to the broker" first_committed
sleep 2.5

before=$(offset_commits)
t0=$(date +%s)
i=1
while [ $i -lt $ROWS ]; do
	pg_sql "INSERT INTO t VALUES ($i, 'row $i')" >/dev/null
	sleep 0.05
	i=$((i + 1))
done
it_wait 60 "$ROWS rows in view v" view_rows "$ROWS"
secs=$(( $(date +%s) - t0 + 1 ))
n=$(( $(offset_commits) - before ))
# one commit per interval (and one at the first batch after a quiet one),
# never one per batch: ROWS - 1 batches at 10 ms each were committed
max=$(( secs / 2 + 2 ))
[ "$n" -le "$max" ] ||
	it_fail "$n OffsetCommit requests for $ROWS single-row batches in $secs s (at most $max)"
it_log "$n OffsetCommit requests for $((ROWS - 1)) single-row transactions in $secs s"

# the monitoring meaning stays: the group catches up within the interval
caught() { [ "$(committed)" = "$ROWS" ]; }
it_wait 5 "committed offsets reaching $ROWS" caught

# and a clean stop commits what is left at once
pg_sql "INSERT INTO t VALUES ($ROWS, 'last')"
it_wait 30 "$((ROWS + 1)) rows in view v" view_rows $((ROWS + 1))
mat_stop
got=$(committed)
[ "$got" = $((ROWS + 1)) ] || it_fail "after a clean stop the group committed $got, not $((ROWS + 1))"
it_log "ok"
