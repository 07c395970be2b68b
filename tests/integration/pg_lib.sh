# tests/integration/pg_lib.sh: PostgreSQL 15 helpers for the capture tests.
#
# Sourced after lib.sh (which gives IT_DIR, it_fail, it_wait, it_track).
# pg_start initdb's a fresh cluster owned by postgres under $IT_DIR/pg,
# listening only on a Unix socket in $IT_DIR/pgsock on a free port, with
# wal_level=logical; pg_stop stops it with pg_ctl stop -m fast (by its
# data directory, i.e. its postmaster.pid, never by name).  An EXIT trap
# chained before lib.sh's cleanup stops it too.
#
# After pg_start: PG_PORT, PG_SOCK, PG_DSN (libpq conninfo, superuser
# postgres, database "app"), and pg_sql SQL... runs psql -Atq on it.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DATA="$IT_DIR/pg"
PG_SOCK="$IT_DIR/pgsock"

pg_stop() {
	if [ -f "$PG_DATA/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m fast -w >/dev/null 2>&1 || true
	fi
}

pg_cleanup() {
	rc=$?
	# The trap must reach it_cleanup even when the test failed: under set -e
	# the `(exit "$rc")` below, which hands the status on, would end it.
	set +e
	pg_stop
	(exit "$rc")
	it_cleanup
}

# pg_start [EXTRA_POSTGRES_OPTIONS]: initdb, start, create database app.
pg_start() {
	chmod 755 "$IT_DIR"
	mkdir -p "$PG_DATA" "$PG_SOCK"
	chown postgres "$PG_DATA" "$PG_SOCK"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres >"$IT_DIR/initdb.log" 2>&1 ||
		it_fail "initdb failed (see $IT_DIR/initdb.log)"
	# contrib/pg_sluice, when built, is loadable from a folder of this test's
	# own (the server runs as postgres, which may not read the build tree)
	if [ -n "${BUILD:-}" ] && [ -f "$BUILD/contrib/pg_sluice.so" ]; then
		mkdir -p "$IT_DIR/pglib"
		cp "$BUILD/contrib/pg_sluice.so" "$IT_DIR/pglib/"
		chmod -R a+rX "$IT_DIR/pglib"
		echo "dynamic_library_path = '$IT_DIR/pglib:\$libdir'" >>"$PG_DATA/postgresql.conf"
		# recent minor releases load only the output plugins named here
		if grep -q output_plugin_libraries "$PG_DATA/postgresql.conf"; then
			echo "output_plugin_libraries = 'pgoutput, test_decoding, pg_sluice'" \
			    >>"$PG_DATA/postgresql.conf"
		fi
	fi
	PG_PORT=$(it_free_port)
	touch "$IT_DIR/pg.log"; chown postgres "$IT_DIR/pg.log"
	trap pg_cleanup EXIT
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$IT_DIR/pg.log" -w -t 60 \
	    -o "-k $PG_SOCK -p $PG_PORT -c listen_addresses='' -c wal_level=logical -c max_wal_senders=10 -c max_replication_slots=10 -c fsync=off ${1:-}" \
	    start >/dev/null || { cat "$IT_DIR/pg.log" >&2; it_fail "postgres did not start"; }
	PG_DSN="host=$PG_SOCK port=$PG_PORT dbname=app user=postgres"
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres -Atqc "CREATE DATABASE app" >/dev/null ||
		it_fail "CREATE DATABASE app failed"
	it_log "postgres up on $PG_SOCK port $PG_PORT"
}

# pg_sql SQL: run SQL in database app, print rows unaligned.
pg_sql() {
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d app -v ON_ERROR_STOP=1 -Atqc "$1"
}

# pg_sql_as USER SQL
pg_sql_as() {
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U "$1" -d app -v ON_ERROR_STOP=1 -Atqc "$2"
}

# ------------------------------------------------------------- capture

# cap_config NAME BROKER_ADDR [INI_LINE...]: write $IT_DIR/cap-NAME.ini with a
# [source "NAME"] on the test database (format json, short intervals).
# CAP_PLUGIN=pg_sluice in the environment adds "plugin = pg_sluice"
# (test_pg_sluice.sh runs other tests so), and cap_start then checks that
# capture streams with that plugin.
cap_config() {
	n=$1
	addr=$2
	shift 2
	{
		echo "[source \"$n\"]"
		echo "type = postgres"
		echo "dsn = $PG_DSN"
		echo "bootstrap = $addr"
		echo "heartbeat = 1s"
		echo "status_interval = 200ms"
		echo "spool_dir = $IT_DIR/spool-$n"
		[ -n "${CAP_PLUGIN:-}" ] && echo "plugin = $CAP_PLUGIN"
		for line in "$@"; do echo "$line"; done
	} >"$IT_DIR/cap-$n.ini"
}

# cap_start NAME: start `sluice capture` on $IT_DIR/cap-NAME.ini in the
# background (log in $IT_DIR/cap-NAME.log) and wait until it streams.
cap_start() {
	n=$1
	lines=0
	[ -f "$IT_DIR/cap-$n.log" ] && lines=$(wc -l <"$IT_DIR/cap-$n.log")
	"$SLUICE" capture -c "$IT_DIR/cap-$n.ini" >>"$IT_DIR/cap-$n.log" 2>&1 &
	pid=$!
	echo "$pid" >"$IT_DIR/cap-$n.pid"
	it_track "$pid"
	end=$(( $(date +%s) + 60 ))
	while ! tail -n +"$((lines + 1))" "$IT_DIR/cap-$n.log" | grep -q "streaming from slot"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$IT_DIR/cap-$n.log" >&2
			it_fail "capture $n exited at start"
		fi
		[ "$(date +%s)" -lt "$end" ] || it_fail "capture $n did not start streaming in 60s"
		sleep 0.1
	done
	if [ -n "${CAP_PLUGIN:-}" ] && grep -q "^plugin = $CAP_PLUGIN\$" "$IT_DIR/cap-$n.ini"; then
		tail -n +"$((lines + 1))" "$IT_DIR/cap-$n.log" | grep "streaming from slot" |
		    grep -q "($CAP_PLUGIN proto" || it_fail "capture $n does not stream with $CAP_PLUGIN"
	fi
	it_log "capture $n streaming (pid $pid)"
}

# cap_pid and cap_kill NAME are in lib.sh (shared with my_lib.sh).

# cap_stop NAME: SIGTERM and wait; fails if it takes more than 20 s.
# Removes the pid file, as cap_kill does.
cap_stop() {
	pid=$(cap_pid "$1")
	it_term "$pid" "capture $1" || true
	wait "$pid" 2>/dev/null || true
	rm -f "$IT_DIR/cap-$1.pid"
}

# pg_slot_flush SLOT: the slot's confirmed_flush_lsn as a number.
pg_slot_flush() {
	pg_sql "SELECT coalesce(confirmed_flush_lsn - '0/0', 0)::bigint FROM pg_replication_slots WHERE slot_name = '$1'"
}

# cap_wait_caught_up SLOT [SECONDS]: wait until the slot confirmed the WAL
# position current now (every change before it acknowledged by the broker).
cap_wait_caught_up() {
	target=$(pg_sql "SELECT (pg_current_wal_lsn() - '0/0')::bigint")
	end=$(( $(date +%s) + ${2:-60} ))
	while :; do
		f=$(pg_slot_flush "$1")
		[ -n "$f" ] && [ "$f" -ge "$target" ] && break
		for c in "$IT_DIR"/cap-*.pid; do
			[ -f "$c" ] || continue
			if ! kill -0 "$(cat "$c")" 2>/dev/null; then
				tail -n 5 "${c%.pid}.log" >&2
				it_fail "capture $(basename "${c%.pid}") died while waiting for the slot"
			fi
		done
		[ "$(date +%s)" -lt "$end" ] || it_fail "slot $1 did not confirm $target within ${2:-60}s (at ${f:-none})"
		# write a little WAL elsewhere so keepalives move on
		sleep 0.2
	done
}

# cap_dump ADDR TOPIC FILE: every message of TOPIC as
# "partition<TAB>offset<TAB>key<TAB>value<TAB>headers" (NULL for null).
cap_dump() {
	it_topic_dump "$@"
}
