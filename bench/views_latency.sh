#!/bin/sh
# bench/views_latency.sh: PostgreSQL commit to row visible in an LMDB view
# (capture -> broker -> materialize -> reader), beside PostgreSQL's own
# logical replication into a second cluster, measured in the same run on
# the same inserts.
#
# One table lat (id bigint key, t_commit timestamptz set by clock_timestamp()
# in the inserting statement).  pgbench inserts single-row transactions at
# RATES (default "1000 5000") per second for SECS (default 10) seconds each.
#   - view: bench/view_watch polls the view through materialize/view.h and
#     takes (wall clock when the row is first seen) - t_commit;
#   - PostgreSQL: the subscriber's copy of lat has t_apply DEFAULT
#     clock_timestamp(), evaluated when the apply worker inserts the row:
#     t_apply - t_commit.
# RUNS=N (default 3) repeats the measurement at every rate N times on the
# same clusters, alternating rates.  Prints one summary line per rate, the
# run with the median ratio and all N ratios in run order:
#   bench views_latency_R: p50 X ms, p99 Y ms (pg_logical: p50 A ms, p99 B ms, ratio P; median of 3 runs, ratios P1 P2 P3)
# where ratio is the view's p50 over PostgreSQL's.
# usage: SLUICE=build/x/sluice BUILD=build/x sh bench/views_latency.sh
# PostgreSQL runs with fsync=on (PG_FSYNC=off to change); SRC_EXTRA,
# VIEW_EXTRA and BROKER_EXTRA add a line to the source, view and broker
# sections.
set -eu
here=$(cd "$(dirname "$0")/../tests/integration" && pwd)
. "$here/lib.sh"
. "$here/pg_lib.sh"

RATES=${RATES:-"1000 5000"}
SECS=${SECS:-10}
RUNS=${RUNS:-3}
case $RUNS in ''|*[!0-9]*|0) it_fail "RUNS must be a positive number, not '$RUNS'" ;; esac
WATCH="$BUILD/bench/view_watch"
[ -x "$WATCH" ] || it_fail "$WATCH is not built (make B=... bench)"

# Both clusters at PostgreSQL's default fsync=on: sluice's path is durable
# at every hop (the broker and the view flush), so the reference is too.
# PG_FSYNC=off gives the integration helpers' setting (the earlier runs in
# docs/benchmarks.md).
PG_FSYNC=${PG_FSYNC:-on}
pg_start "-c wal_retrieve_retry_interval=100ms -c fsync=$PG_FSYNC"
it_broker_start b ${BROKER_EXTRA:+"$BROKER_EXTRA"}

# the subscriber: a second cluster in $IT_DIR/pg2
SUB_DATA="$IT_DIR/pg2"
SUB_PORT=$(it_free_port)
sub_stop() {
	if [ -f "$SUB_DATA/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SUB_DATA" stop -m fast -w >/dev/null 2>&1 || true
	fi
}
trap 'rc=$?; set +e; sub_stop; (exit $rc); pg_cleanup' EXIT
mkdir -p "$SUB_DATA"
chown postgres "$SUB_DATA"
runuser -u postgres -- "$PG_BIN/initdb" -D "$SUB_DATA" -A trust -U postgres >"$IT_DIR/initdb2.log" 2>&1 ||
	it_fail "initdb of the subscriber failed"
touch "$IT_DIR/pg2.log"; chown postgres "$IT_DIR/pg2.log"
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SUB_DATA" -l "$IT_DIR/pg2.log" -w -t 60 \
    -o "-k $PG_SOCK -p $SUB_PORT -c listen_addresses='' -c fsync=$PG_FSYNC -c wal_retrieve_retry_interval=100ms" \
    start >/dev/null || it_fail "the subscriber did not start"
sub_sql() {
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$SUB_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"
}

pg_sql "CREATE TABLE lat (id bigint PRIMARY KEY, t_commit timestamptz NOT NULL);
        CREATE SEQUENCE lat_id; CREATE PUBLICATION lp FOR TABLE lat;"
sub_sql "CREATE TABLE lat (id bigint PRIMARY KEY, t_commit timestamptz NOT NULL,
         t_apply timestamptz DEFAULT clock_timestamp())"
sub_sql "CREATE SUBSCRIPTION ls CONNECTION '$PG_DSN' PUBLICATION lp" >/dev/null 2>&1

MAT_HTTP=$(it_free_port)
{
	echo "[source \"app\"]"
	echo "type = postgres"
	echo "dsn = $PG_DSN"
	echo "bootstrap = $b_ADDR"
	echo "tables = public.lat"
	echo "topic_prefix = app"
	echo "snapshot = never"
	echo "status_interval = 200ms"
	echo "spool_dir = $IT_DIR/spool"
	printf '%b\n' "${SRC_EXTRA:-}"
	echo "[view \"lat\"]"
	echo "topics = app.public.lat"
	echo "path = $IT_DIR/views/lat"
	echo "bootstrap = $b_ADDR"
	echo "http = 127.0.0.1:$MAT_HTTP"
	printf '%b\n' "${VIEW_EXTRA:-}"
} >"$IT_DIR/sluice.ini"
cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-app.ini"
cap_start app
SLUICE_LOG=${MAT_LOG:-info} "$SLUICE" materialize -c "$IT_DIR/sluice.ini" >>"$IT_DIR/mat.log" 2>&1 &
mat_pid=$!
it_track $mat_pid
# CPU ticks (user + system, all threads) of process $1 so far
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

# warm up: one row through both paths
pg_sql "INSERT INTO lat VALUES (0, clock_timestamp())"
"$WATCH" "$IT_DIR/views/lat" public.lat 0 1 60 >/dev/null || it_fail "the warm-up row never reached the view"
until [ "$(sub_sql "SELECT count(*) FROM lat")" = 1 ]; do sleep 0.1; done

echo 'INSERT INTO lat VALUES (nextval('"'"'lat_id'"'"'), clock_timestamp());' >"$IT_DIR/ins.sql"
printf '%-6s | %-22s | %-22s\n' "txn/s" "view p50 / p99 ms" "pg_logical p50 / p99 ms"
base=1
for r in $(seq "$RUNS"); do
for rate in $RATES; do
	n=$((rate * SECS))
	pg_sql "SELECT setval('lat_id', $base, false)" >/dev/null
	rm -f "$IT_DIR/done.$rate"
	"$WATCH" "$IT_DIR/views/lat" public.lat "$base" "$n" $((SECS + 60)) "$IT_DIR/done.$rate" \
	    >"$IT_DIR/watch.$rate" &
	watch=$!
	(
		# the view's own share: Kafka timestamp (capture's produce) to
		# commit; once a second (a curl every 100 ms took CPU from the run)
		while kill -0 "$watch" 2>/dev/null; do
			curl -s "http://127.0.0.1:$MAT_HTTP/metrics" |
				awk '/^sluice_view_delay_ms/ { print $2 }'
			sleep 1
		done >"$IT_DIR/delay.$rate"
	) &
	c0=$(cpu_ticks "$(cap_pid app)"); b0=$(cpu_ticks "$(cat "$IT_DIR/b/pid")"); m0=$(cpu_ticks $mat_pid)
	"$PG_BIN/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -n -c 2 -j 2 -R "$rate" -T "$SECS" \
	    -f "$IT_DIR/ins.sql" app >"$IT_DIR/pgbench.$rate" 2>&1 || it_fail "pgbench failed"
	c1=$(cpu_ticks "$(cap_pid app)"); b1=$(cpu_ticks "$(cat "$IT_DIR/b/pid")"); m1=$(cpu_ticks $mat_pid)
	last=$(pg_sql "SELECT last_value FROM lat_id")
	n_done=$((last - base + 1))
	# pgbench may fall short of the rate (PostgreSQL's own flushes): the
	# watcher then waits for the rows written, not for its timeout
	echo "$n_done" >"$IT_DIR/done.$rate"
	wait "$watch" || true
	read -r vp50 vp99 vmax vseen <"$IT_DIR/watch.$rate"
	until [ "$(sub_sql "SELECT count(*) FROM lat WHERE id >= $base AND id <= $last")" = "$n_done" ]; do
		sleep 0.2
	done
	pgl=$(sub_sql "SELECT round(1000 * extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY t_apply - t_commit))::numeric, 2) || ' ' ||
	               round(1000 * extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY t_apply - t_commit))::numeric, 2)
	               FROM lat WHERE id >= $base AND id <= $last")
	pp50=${pgl% *}
	pp99=${pgl#* }
	printf '%-6s | %8s / %-11s | %8s / %-11s (run %d of %d: %s of %s rows seen, %s done)\n' \
	    "$rate" "$vp50" "$vp99" "$pp50" "$pp99" "$r" "$RUNS" "$vseen" "$n" "$n_done"
	delay=$(sort -n "$IT_DIR/delay.$rate" | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "?") }')
	it_log "median delay from capture's produce to the view's commit: $delay ms"
	awk -v n="$n_done" -v hz="$hz" -v c=$((c1 - c0)) -v b=$((b1 - b0)) -v m=$((m1 - m0)) 'BEGIN {
		printf "  CPU per transaction: capture %.0f us, broker %.0f us, materialize %.0f us\n",
		    c * 1e6 / hz / n, b * 1e6 / hz / n, m * 1e6 / hz / n }'
	ratio=$(awk -v a="$vp50" -v b="$pp50" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	echo "  ratio $ratio"
	echo "$ratio $vp50 $vp99 $pp50 $pp99" >>"$IT_DIR/lat.$rate"
	base=$((base + 1000000))
done
done
# Per rate: the run with the median p50 ratio, and every ratio in run order.
for rate in $RATES; do
	all=$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$IT_DIR/lat.$rate")
	sort -n "$IT_DIR/lat.$rate" | awk -v n="$RUNS" -v rate="$rate" -v all="$all" '
	    NR == int((n + 1) / 2) {
		printf "bench views_latency_%s: p50 %s ms, p99 %s ms (pg_logical: p50 %s ms, p99 %s ms, ratio %s",
		    rate, $2, $3, $4, $5, $1
		if (n > 1) printf "; median of %d runs, ratios %s", n, all
		printf ")\n" }'
done
sub_sql "DROP SUBSCRIPTION ls" >/dev/null 2>&1 || true
