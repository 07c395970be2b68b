#!/bin/sh
# bench/pg_capture.sh: sluice capture against pg_recvlogical on the same WAL.
#
# Starts a PostgreSQL 15 cluster and a sluice broker (the integration-test
# helpers), creates the pgoutput slots, then writes the workload: ROWS rows
# (default 1,000,000) inserted in 1,000-row transactions, then UPDATES
# (default 200,000) single-row updates in 1,000-row transactions.  Then,
# for each transport, one after the other, it times:
#   - pg_recvlogical (pgoutput, proto 2) draining its slot to /dev/null;
#   - sluice capture (format protobuf, acks=all into the local broker)
#     draining its own slot: from start to the slot confirming the end LSN.
# All decode the same WAL.  Prints events/s, the CPU seconds capture and
# the broker used during capture's run, and a summary line per transport
#   bench pg_capture: N events/s (pg_recvlogical: M events/s, ratio R; median of 3 runs, ratios A B C)
#   bench pg_capture_tcp: ...
# usage: SLUICE=build/x/sluice sh bench/pg_capture.sh
# TRANSPORT=unix (the default: both connect over the Unix socket), tcp
# (both over TCP to 127.0.0.1, as a capture on another host would), or both
# (each in turn, on the same WAL).  RUNS=N (default 3) times each side N
# times, alternating, each on slots of its own over the same WAL, and the
# summary line gives the run with the median ratio and all N ratios (the
# machine's speed drifts: only runs side by side compare).  FORMAT=json
# selects the JSON envelope; PLUGIN=pg_sluice makes capture read through
# contrib/pg_sluice (BUILD must hold contrib/pg_sluice.so) and times
# pg_recvlogical twice per run, with pgoutput (the ratio) and with
# pg_sluice (printed beside it: the same decoder on both sides);
# EXTRA='producer.linger.ms = 20' adds one line to the source sections,
# BROKER_EXTRA='commit_delay_us = 0' one to the broker's.  ON_START='...'
# is a shell command run (with CAP_PID and BROKER_PID set) right after each
# capture run starts: how docs/benchmarks.md's seventh session applied
# renice, chrt, taskset and perf sched to capture's run alone, e.g.
#   ON_START='for t in /proc/$CAP_PID/task/*; do chrt -b -p 0 ${t##*/}; done'
set -eu
here=$(cd "$(dirname "$0")/../tests/integration" && pwd)
. "$here/lib.sh"
. "$here/pg_lib.sh"

ROWS=${ROWS:-1000000}
UPDATES=${UPDATES:-200000}
TRANSPORT=${TRANSPORT:-unix}
RUNS=${RUNS:-3}
case $RUNS in ''|*[!0-9]*|0) it_fail "RUNS must be a positive number, not '$RUNS'" ;; esac
case $TRANSPORT in
unix) transports=unix ;;
tcp) transports=tcp ;;
both) transports="unix tcp" ;;
*) it_fail "TRANSPORT must be unix, tcp or both, not '$TRANSPORT'" ;;
esac

# two slots per transport and run
slots=$((6 * RUNS + 4))
if [ "$TRANSPORT" = unix ]; then
	pg_start "-c shared_buffers=256MB -c max_wal_size=4GB -c max_replication_slots=$slots"
else
	pg_start "-c shared_buffers=256MB -c max_wal_size=4GB -c max_replication_slots=$slots -c listen_addresses=127.0.0.1"
fi
unix_dsn=$PG_DSN
tcp_dsn="host=127.0.0.1 port=$PG_PORT dbname=app user=postgres"
it_broker_start b ${BROKER_EXTRA:+"$BROKER_EXTRA"}
pg_sql "CREATE TABLE bench (id bigint PRIMARY KEY, v text, n int, ts timestamptz DEFAULT now());
        CREATE PUBLICATION bp FOR TABLE bench;"
# Per transport and run: a slot for pg_recvlogical, and a source (own slot,
# own topic prefix, so one run's topics do not make another skip events).
for t in $transports; do
	for r in $(seq "$RUNS"); do
		pg_sql "SELECT pg_create_logical_replication_slot('recv_${t}_$r', 'pgoutput')" >/dev/null
		if [ -n "${PLUGIN:-}" ]; then
			pg_sql "SELECT pg_create_logical_replication_slot('recvp_${t}_$r', '$PLUGIN')" >/dev/null
		fi
		if [ "$t" = tcp ]; then PG_DSN=$tcp_dsn; else PG_DSN=$unix_dsn; fi
		cap_config "app_${t}_$r" "$b_ADDR" "tables = public.bench" "publication = bp" \
		    "snapshot = never" "format = ${FORMAT:-protobuf}" ${PLUGIN:+"plugin = $PLUGIN"} \
		    ${EXTRA:+"$EXTRA"}
		# create capture's slot now (snapshot = never), then stop it before the load
		cap_start "app_${t}_$r"
		cap_stop "app_${t}_$r"
	done
done
PG_DSN=$unix_dsn

it_log "loading $ROWS rows in 1000-row transactions, then $UPDATES updates"
pg_sql "DO \$\$ BEGIN FOR b IN 0..$((ROWS / 1000 - 1)) LOOP
  INSERT INTO bench (id, v, n) SELECT i, md5(i::text), 0 FROM generate_series(b * 1000 + 1, b * 1000 + 1000) i;
  COMMIT; END LOOP; END \$\$"
pg_sql "DO \$\$ BEGIN FOR b IN 0..$((UPDATES / 1000 - 1)) LOOP
  FOR i IN 1..1000 LOOP UPDATE bench SET n = n + 1 WHERE id = (b * 1000 + i) % $ROWS + 1; END LOOP;
  COMMIT; END LOOP; END \$\$"
endpos=$(pg_sql "SELECT pg_current_wal_lsn()")
events=$((ROWS + UPDATES))

# CPU seconds (user + system) of process $1 so far, all threads
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
	    "/proc/$1/stat"
}
bpid=$(cat "$IT_DIR/b/pid")
# CPU seconds of the whole PostgreSQL cluster so far: the postmaster, its
# live children (the walsender, checkpointer, ...) and, through the
# postmaster's cutime and cstime, the children that exited (a walsender
# ends with its client)
pg_cpu() {
	pm=$(head -1 "$PG_DATA/postmaster.pid")
	{ cat "/proc/$pm/stat"; for c in $(ps -o pid= --ppid "$pm"); do cat "/proc/$c/stat" 2>/dev/null; done; } |
	    awk -v hz="$(getconf CLK_TCK)" -v pm="$pm" '{ id = $1; sub(/.*\) /, "")
		t += $12 + $13; if (id == pm) t += $14 + $15 }
		END { printf "%.2f", t / hz }'
}
# what the broker did for capture: produce requests, batches, commit rounds
bmetrics() {
	curl -s "http://127.0.0.1:$b_HTTP/metrics" | awk '
	    /^sluice_broker_requests_total\{api="Produce"\}/ { r = $2 }
	    /^sluice_broker_produced_batches_total / { b = $2 }
	    /^sluice_broker_commit_rounds_total / { c = $2 }
	    /^sluice_broker_syncs_total / { s = $2 }
	    END { print r + 0, b + 0, c + 0, s + 0 }'
}

# run_one TRANSPORT RUN: time pg_recvlogical, then capture, over TRANSPORT;
# appends "ratio capture_rate recv_rate" to $IT_DIR/ratios.TRANSPORT.
run_one() {
	t=$1
	r=$2
	src="app_${t}_$r"
	if [ "$t" = tcp ]; then host=127.0.0.1; name=pg_capture_tcp; else host=$PG_SOCK; name=pg_capture; fi
	[ -n "${PLUGIN:-}" ] && name="${name}_$PLUGIN"
	pcpu0=$(pg_cpu)
	t0=$(date +%s.%N)
	"$PG_BIN/pg_recvlogical" -h "$host" -p "$PG_PORT" -U postgres -d app --slot "recv_${t}_$r" \
	    --start -o proto_version=2 -o publication_names=bp --endpos "$endpos" -f /dev/null
	t1=$(date +%s.%N)
	recv_s=$(echo "$t1 - $t0" | bc -l)
	recv_pcpu=$(echo "$(pg_cpu) - $pcpu0" | bc -l)
	if [ -n "${PLUGIN:-}" ]; then
		t0=$(date +%s.%N)
		"$PG_BIN/pg_recvlogical" -h "$host" -p "$PG_PORT" -U postgres -d app \
		    --slot "recvp_${t}_$r" --start -o proto_version=1 -o publication_names=bp \
		    --endpos "$endpos" -f /dev/null
		t1=$(date +%s.%N)
		recvp_s=$(echo "$t1 - $t0" | bc -l)
	fi

	bm0=$(bmetrics)
	bcpu0=$(cpu_s "$bpid")
	pcpu0=$(pg_cpu)
	t0=$(date +%s.%N)
	cap_start "$src"
	if [ -n "${ON_START:-}" ]; then
		CAP_PID=$(cap_pid "$src") BROKER_PID=$bpid sh -c "$ON_START" ||
		    it_fail "ON_START failed: $ON_START"
	fi
	# Wait inside one server session: a psql started every 50 ms (the old
	# loop) took 10-15% of a core from capture's run and none from
	# pg_recvlogical's.
	pg_sql "DO \$\$ BEGIN LOOP
	  EXIT WHEN (SELECT coalesce(confirmed_flush_lsn >= '$endpos', false)
	             FROM pg_replication_slots WHERE slot_name = 'sluice_$src');
	  PERFORM pg_sleep(0.05); END LOOP; END \$\$"
	t1=$(date +%s.%N)
	cap_s=$(echo "$t1 - $t0" | bc -l)
	rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$(cap_pid "$src")/status")
	ccpu=$(cpu_s "$(cap_pid "$src")")
	bcpu=$(echo "$(cpu_s "$bpid") - $bcpu0" | bc -l)
	cap_pcpu=$(echo "$(pg_cpu) - $pcpu0" | bc -l)
	bm1=$(bmetrics)
	cap_stop "$src"

	recv_rate=$(echo "$events / $recv_s" | bc -l)
	cap_rate=$(echo "$events / $cap_s" | bc -l)
	printf '%s run %d of %d: %d events (%d inserts, %d updates) to %s, over %s\n' "$name" \
	    "$r" "$RUNS" "$events" "$ROWS" "$UPDATES" "$endpos" \
	    "$([ "$t" = tcp ] && echo "TCP to 127.0.0.1" || echo "the Unix socket")"
	printf '  pg_recvlogical pgoutput -> /dev/null: %.2f s, %.0f events/s, PostgreSQL CPU %.2f s\n' \
	    "$recv_s" "$recv_rate" "$recv_pcpu"
	if [ -n "${PLUGIN:-}" ]; then
		printf '  pg_recvlogical %s -> /dev/null: %.2f s, %.0f events/s\n' "$PLUGIN" \
		    "$recvp_s" "$(echo "$events / $recvp_s" | bc -l)"
	fi
	printf '  sluice capture -> broker (acks=all):  %.2f s, %.0f events/s, peak RSS %d kB\n' \
	    "$cap_s" "$cap_rate" "$rss"
	printf '  CPU during capture: sluice capture %.2f s, broker %.2f s, PostgreSQL %.2f s\n' \
	    "$ccpu" "$bcpu" "$cap_pcpu"
	echo "$bm0 $bm1" | awk -v n="$events" '{ r = $5 - $1; b = $6 - $2; c = $7 - $3; s = $8 - $4
		printf "  broker: %d produce requests (%.0f events each), %d batches, %d commit rounds, %d fdatasyncs\n",
		    r, (r ? n / r : 0), b, c, s }'
	ratio=$(echo "$cap_rate / $recv_rate" | bc -l)
	printf '  ratio %.2f\n' "$ratio"
	if [ -n "${PLUGIN:-}" ]; then
		printf '  ratio to pg_recvlogical with %s: %.2f\n' "$PLUGIN" \
		    "$(echo "$recvp_s / $cap_s" | bc -l)"
	fi
	printf '%.4f %.0f %.0f\n' "$ratio" "$cap_rate" "$recv_rate" >>"$IT_DIR/ratios.$t"
}

# summary TRANSPORT: the run with the median ratio, and every ratio in run order.
summary() {
	t=$1
	if [ "$t" = tcp ]; then name=pg_capture_tcp; else name=pg_capture; fi
	[ -n "${PLUGIN:-}" ] && name="${name}_$PLUGIN"
	all=$(awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }' "$IT_DIR/ratios.$t")
	sort -n "$IT_DIR/ratios.$t" | awk -v n="$RUNS" -v name="$name" -v all="$all" '
	    NR == int((n + 1) / 2) {
		printf "bench %s: %d events/s (pg_recvlogical: %d events/s, ratio %.2f", name, $2, $3, $1
		if (n > 1) printf "; median of %d runs, ratios %s", n, all
		printf ")\n" }'
}

for r in $(seq "$RUNS"); do
	for t in $transports; do
		run_one "$t" "$r"
	done
done
for t in $transports; do
	summary "$t"
done
