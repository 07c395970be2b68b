#!/bin/sh
# bench/my_capture.sh: sluice capture against mariadb-binlog on the same
# binlog.
#
# Starts a MariaDB 10.11 server and a sluice broker (the integration-test
# helpers), then writes the workload: ROWS rows (default 1,000,000) inserted
# in 1,000-row transactions, then UPDATES (default 200,000) single-row
# updates in 1,000-row transactions.  Then, RUNS times (default 3),
# alternating, it times on that binlog:
#   - mariadb-binlog --read-from-remote-server --verbose
#     --base64-output=DECODE-ROWS to /dev/null: the server's own client,
#     reading the stream and printing every row (ANCHORS.md's "decoded");
#   - sluice capture (format protobuf, acks=all into the local broker, which
#     fsyncs before acknowledging), from its start until the position it
#     reports as delivered (sluice_capture_binlog_position{kind="flushed"}
#     on /metrics) reaches the end of the workload.
# Each capture run has a source (and topics) of its own, whose position
# was stored before the load (snapshot = never), so it reads the whole
# workload.  Prints events/s, CPU seconds of capture and of the broker
# during capture's run, and a summary line
#   bench my_capture: N events/s (mariadb-binlog: M rows/s, ratio R; median of 3 runs, ratios A B C)
# usage: SLUICE=build/sluice sh bench/my_capture.sh
# FORMAT=json for the Debezium envelope; EXTRA='producer.linger.ms = 5'
# adds a line to the source sections; ON_START='...' is a shell command run
# (with CAP_PID and BROKER_PID set) right after each capture run starts,
# e.g. ON_START='(sleep 1; perf record -g -p $CAP_PID -o /tmp/my.perf -- sleep 2) &'.
set -eu
here=$(cd "$(dirname "$0")/../tests/integration" && pwd)
. "$here/lib.sh"
. "$here/my_lib.sh"

ROWS=${ROWS:-1000000}
UPDATES=${UPDATES:-200000}
RUNS=${RUNS:-3}
case $RUNS in ''|*[!0-9]*|0) it_fail "RUNS must be a positive number, not '$RUNS'" ;; esac
command -v mariadb-binlog >/dev/null || it_fail "mariadb-binlog is missing (apt-get install mariadb-client)"

my_start --innodb-buffer-pool-size=256M --max-binlog-size=1G --sync-binlog=0 \
    --innodb-flush-log-at-trx-commit=2
it_broker_start b
my_sql "CREATE TABLE bench (id bigint PRIMARY KEY, v varchar(64), n int,
        ts timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
start=$(my_master_status)
start_file=$(echo "$start" | cut -f 1)
start_pos=$(echo "$start" | cut -f 2)
for r in $(seq "$RUNS"); do
	port=$(it_free_port)
	echo "$port" >"$IT_DIR/http-$r"
	mycap_config "app_$r" "$b_ADDR" "tables = app.bench" "snapshot = never" \
	    "format = ${FORMAT:-protobuf}" "http = 127.0.0.1:$port" ${EXTRA:+"$EXTRA"}
	# store the position of now, before the load, then stop
	mycap_start "app_$r"
	mycap_wait_caught_up "app_$r"
	mycap_stop "app_$r"
done

it_log "loading $ROWS rows in 1000-row transactions, then $UPDATES updates"
"$IT_PY" - "$ROWS" "$UPDATES" >"$IT_DIR/load.sql" <<'EOF'
import sys
rows, updates = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
for b in range(rows // 1000):
    out.write("BEGIN;\nINSERT INTO bench (id, v, n) VALUES ")
    out.write(",".join("(%d,MD5(%d),0)" % (i, i) for i in range(b * 1000 + 1, b * 1000 + 1001)))
    out.write(";\nCOMMIT;\n")
for b in range(updates // 1000):
    out.write("BEGIN;\n")
    for i in range(1, 1001):
        out.write("UPDATE bench SET n = n + 1 WHERE id = %d;\n" % ((b * 1000 + i) % rows + 1))
    out.write("COMMIT;\n")
EOF
my_sql_file "$IT_DIR/load.sql"
end=$(my_master_status)
end_file=$(echo "$end" | cut -f 1)
end_pos=$(echo "$end" | cut -f 2)
events=$((ROWS + UPDATES))
# packed as capture reports it: file sequence << 32 | offset
end_packed=$(( $(echo "$end_file" | sed 's/.*\.0*//') * 4294967296 + end_pos ))
it_log "workload: $events row events from $start_file:$start_pos to $end_file:$end_pos"

cpu_s() {	# user+system seconds of PID and its threads
	awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

ratios=""
results=""
for r in $(seq "$RUNS"); do
	# mariadb-binlog: read and print every row of the workload
	t0=$(date +%s.%N)
	mariadb-binlog --no-defaults --read-from-remote-server --host=127.0.0.1 \
	    --port="$MY_PORT" --user=root --password="$MY_PW" --verbose \
	    --base64-output=DECODE-ROWS --start-position="$start_pos" --to-last-log \
	    --stop-position="$end_pos" "$start_file" >/dev/null
	t1=$(date +%s.%N)
	mb_s=$(echo "$t1 - $t0" | bc -l)
	mb_rate=$(echo "$events / $mb_s" | bc)

	# sluice capture: from its start until it reports the end as delivered
	port=$(cat "$IT_DIR/http-$r")
	bcpu0=$(cpu_s "$(it_broker_pid b)")
	t0=$(date +%s.%N)
	"$SLUICE" capture -c "$IT_DIR/cap-app_$r.ini" >>"$IT_DIR/cap-app_$r.log" 2>&1 &
	pid=$!
	echo "$pid" >"$IT_DIR/cap-app_$r.pid"
	it_track "$pid"
	if [ -n "${ON_START:-}" ]; then
		CAP_PID=$pid BROKER_PID=$(it_broker_pid b) sh -c "$ON_START"
	fi
	while :; do
		f=$(curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null |
		    sed -n 's/^sluice_capture_binlog_position{.*kind="flushed"} //p')
		[ -n "$f" ] && [ "$f" -ge "$end_packed" ] && break
		kill -0 "$pid" 2>/dev/null || { tail -n 5 "$IT_DIR/cap-app_$r.log" >&2; it_fail "capture died"; }
		sleep 0.02
	done
	t1=$(date +%s.%N)
	ccpu=$(cpu_s "$pid")
	bcpu1=$(cpu_s "$(it_broker_pid b)")
	mycap_stop "app_$r"
	cap_s=$(echo "$t1 - $t0" | bc -l)
	cap_rate=$(echo "$events / $cap_s" | bc)
	ratio=$(echo "scale=2; $cap_rate / $mb_rate" | bc)
	case $ratio in .*) ratio="0$ratio" ;; esac
	printf 'run %d: mariadb-binlog %.2f s, %d rows/s; sluice capture %.2f s, %d events/s (ratio %s); CPU capture %s s, broker %.2f s\n' \
	    "$r" "$mb_s" "$mb_rate" "$cap_s" "$cap_rate" "$ratio" "$ccpu" \
	    "$(echo "$bcpu1 - $bcpu0" | bc -l)"
	ratios="$ratios $ratio"
	results="$results$ratio $cap_rate $mb_rate
"
done
med=$(printf '%s' "$results" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
set -- $med
echo "bench my_capture: $2 events/s (mariadb-binlog: $3 rows/s, ratio $1; median of $RUNS runs, ratios$ratios)"
