# tests/integration/my_lib.sh: MariaDB 10.11 helpers for the binlog capture
# tests.
#
# Sourced after lib.sh (IT_DIR, it_fail, it_wait, it_track, it_free_port);
# when lib.sh was not sourced it defines minimal stand-ins, so a script can
# use the server helpers alone (the mycap_* ones need lib.sh).  my_start installs a fresh data directory under $IT_DIR/my
# and starts a throwaway mariadbd on it: TCP only on 127.0.0.1 at a free
# port (never 3306), its socket in /tmp/sluice-my-XXXXXX.sock, a ROW binlog
# with FULL row image and metadata.  my_stop stops it by the PID in its pid
# file (SIGTERM, then wait); an EXIT trap chained before lib.sh's cleanup
# (and pg_lib.sh's, when that one is loaded too) stops it as well, and the
# pid file lives in $IT_DIR/my/pid, where it_cleanup also finds it.
#
# After my_start: MY_PORT, MY_SOCK, MY_PW (root's password), MY_DSN (for a
# [source] with type = mysql, TCP, user root, database app), and my_sql SQL
# runs mariadb -N -B on database app.  The mycap_* helpers run `sluice
# capture` on a mysql source like pg_lib.sh's cap_* do on a postgres one.

if ! command -v it_fail >/dev/null 2>&1; then
	set -eu
	: "${SLUICE:=sluice}"
	IT_NAME=$(basename "$0" .sh)
	IT_DIR=$(mktemp -d "/tmp/sluice-$IT_NAME-XXXXXX")
	IT_PIDS=""
	IT_PY=/usr/bin/python3
	it_log() { echo "[$IT_NAME $(date +%H:%M:%S)] $*" >&2; }
	it_fail() { echo "FAIL [$IT_NAME]: $*" >&2; exit 1; }
	it_track() { IT_PIDS="$IT_PIDS $1"; }
	it_free_port() {
		"$IT_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	}
	it_cleanup() {
		rc=$?
		for pid in $IT_PIDS; do kill -TERM "$pid" 2>/dev/null || true; done
		if [ "${KEEP:-0}" = 1 ]; then echo "kept $IT_DIR" >&2; else rm -rf "$IT_DIR"; fi
		exit "$rc"
	}
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
fi

MY_DIR="$IT_DIR/my"
MY_PW=sluice-test-pw
MY_SOCK=""

# my_stop [DIR SOCK]: SIGTERM the server of DIR (default $MY_DIR, socket
# $MY_SOCK) by its pid file and wait until it is gone (SIGKILL after 30 s).
# Does nothing when it is not running.
my_stop() {
	_dir=${1:-$MY_DIR}
	_sock=${2:-$MY_SOCK}
	[ -f "$_dir/pid" ] || return 0
	p=$(cat "$_dir/pid" 2>/dev/null) || return 0
	[ -n "$p" ] || return 0
	# only while its command line still names this test's folder
	if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$_dir/"; then
		kill -TERM "$p" 2>/dev/null || true
		n=0
		while kill -0 "$p" 2>/dev/null; do
			n=$((n + 1))
			if [ $n -ge 300 ]; then
				kill -KILL "$p" 2>/dev/null || true
			fi
			sleep 0.1
		done
		wait "$p" 2>/dev/null || true
	fi
	rm -f "$_dir/pid"
	[ -z "$_sock" ] || rm -f "$_sock" "$_sock.lock"
}

my_cleanup() {
	rc=$?
	set +e
	if [ "$rc" -ne 0 ]; then
		for f in "$IT_DIR"/cap-*.log; do
			[ -f "$f" ] || continue
			echo "---- last lines of $f" >&2
			tail -n 15 "$f" >&2
		done
		if [ -f "$MY_DIR/error.log" ]; then
			echo "---- last warnings and errors of $MY_DIR/error.log" >&2
			grep -v '\[Note\]' "$MY_DIR/error.log" | tail -n 8 >&2
		fi
	fi
	my_stop
	# pg_lib.sh's cleanup (when loaded) stops postgres and ends in
	# it_cleanup too; either reads the test's status from $?
	if command -v pg_cleanup >/dev/null 2>&1; then
		(exit "$rc")
		pg_cleanup
	else
		(exit "$rc")
		it_cleanup
	fi
}

# my_start [EXTRA_MARIADBD_FLAGS...]: install a data directory, start
# mariadbd, wait until it answers, drop the anonymous users, give root a
# password and create database app.
my_start() {
	mkdir -p "$MY_DIR"
	if [ ! -d "$MY_DIR/data" ]; then
		mariadb-install-db --user=root --datadir="$MY_DIR/data" \
		    --auth-root-authentication-method=normal --skip-test-db \
		    >"$MY_DIR/install.log" 2>&1 ||
			{ tail -n 20 "$MY_DIR/install.log" >&2; it_fail "mariadb-install-db failed"; }
		MY_FRESH=1
	else
		MY_FRESH=0
	fi
	[ -n "$MY_SOCK" ] || MY_SOCK=$(mktemp -u /tmp/sluice-my-XXXXXX.sock)
	[ -n "${MY_PORT:-}" ] || MY_PORT=$(it_free_port)
	[ "$MY_PORT" != 3306 ] || MY_PORT=$(it_free_port)
	trap my_cleanup EXIT
	echo "==== start $(date +%H:%M:%S.%N) $*" >>"$MY_DIR/mariadbd.out"
	mariadbd --no-defaults --user=root --datadir="$MY_DIR/data" --socket="$MY_SOCK" \
	    --port="$MY_PORT" --bind-address=127.0.0.1 --log-bin="$MY_DIR/data/binlog" \
	    --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
	    --server-id=1 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
	    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
	    --pid-file="$MY_DIR/pid" --log-error="$MY_DIR/error.log" "$@" \
	    >>"$MY_DIR/mariadbd.out" 2>&1 &
	pid=$!
	it_track "$pid"
	end=$(( $(date +%s) + 60 ))
	# ping exits 0 once the server answers, even when access is denied
	until [ -f "$MY_DIR/pid" ] &&
	    mariadb-admin --no-defaults --socket="$MY_SOCK" -uroot ping >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$MY_DIR/error.log" >&2
			it_fail "mariadbd exited at start (see $MY_DIR/error.log)"
		fi
		[ "$(date +%s)" -lt "$end" ] || it_fail "mariadbd did not answer within 60s"
		sleep 0.1
	done
	if [ "$MY_FRESH" = 1 ]; then
		mariadb --no-defaults --socket="$MY_SOCK" -uroot -e "
		    DELETE FROM mysql.global_priv WHERE User = '';
		    FLUSH PRIVILEGES;
		    ALTER USER root@localhost IDENTIFIED BY '$MY_PW';
		    ALTER USER root@'127.0.0.1' IDENTIFIED BY '$MY_PW';
		    CREATE DATABASE app;" || it_fail "could not set up the server's users and database app"
	fi
	MY_DSN="host=127.0.0.1 port=$MY_PORT user=root password=$MY_PW database=app"
	it_log "mariadb up: pid $(cat "$MY_DIR/pid") port $MY_PORT socket $MY_SOCK"
}

# my_sql SQL: run SQL in database app; rows tab-separated, no header.
my_sql() {
	mariadb --no-defaults --socket="$MY_SOCK" -uroot -p"$MY_PW" -N -B app -e "$1"
}

# my_sql_file FILE: run the SQL in FILE (- for stdin) on database app in one
# session, stopping at the first error (exit status non-zero then).
my_sql_file() {
	if [ "$1" = - ]; then
		mariadb --no-defaults --socket="$MY_SOCK" -uroot -p"$MY_PW" -N -B app
	else
		mariadb --no-defaults --socket="$MY_SOCK" -uroot -p"$MY_PW" -N -B app <"$1"
	fi
}

# my_sql_as USER PASSWORD SQL (over TCP, as a client of capture would be)
my_sql_as() {
	mariadb --no-defaults -h 127.0.0.1 -P "$MY_PORT" -u"$1" -p"$2" -N -B app -e "$3"
}

# my_master_status: "FILE<TAB>POS" of SHOW MASTER STATUS.
my_master_status() {
	my_sql "SHOW MASTER STATUS" | cut -f 1,2
}

# ------------------------------------------------------------- capture

# mycap_config NAME BROKER_ADDR [INI_LINE...]: write $IT_DIR/cap-NAME.ini
# with a [source "NAME"] of type mysql on the test server (format json,
# short intervals).  Later lines override earlier ones only if capture
# allows it, so tests pass keys this function does not write.
mycap_config() {
	n=$1
	addr=$2
	shift 2
	{
		echo "[source \"$n\"]"
		echo "type = mysql"
		echo "dsn = $MY_DSN"
		echo "bootstrap = $addr"
		echo "heartbeat = 1s"
		echo "status_interval = 200ms"
		for line in "$@"; do echo "$line"; done
	} >"$IT_DIR/cap-$n.ini"
}

# mycap_start NAME: start `sluice capture` on $IT_DIR/cap-NAME.ini in the
# background (log in $IT_DIR/cap-NAME.log) and wait until it logs
# "streaming from binlog".
mycap_start() {
	n=$1
	lines=0
	[ -f "$IT_DIR/cap-$n.log" ] && lines=$(wc -l <"$IT_DIR/cap-$n.log")
	echo "==== start $(date +%H:%M:%S.%N)" >>"$IT_DIR/cap-$n.log"
	lines=$((lines + 1))
	"$SLUICE" capture -c "$IT_DIR/cap-$n.ini" >>"$IT_DIR/cap-$n.log" 2>&1 &
	pid=$!
	echo "$pid" >"$IT_DIR/cap-$n.pid"
	it_track "$pid"
	end=$(( $(date +%s) + 60 ))
	while ! tail -n +"$((lines + 1))" "$IT_DIR/cap-$n.log" | grep -q "streaming from binlog"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			if wait "$pid" 2>/dev/null; then st=0; else st=$?; fi
			tail -n 20 "$IT_DIR/cap-$n.log" >&2
			it_fail "capture $n exited at start (status $st)"
		fi
		[ "$(date +%s)" -lt "$end" ] || it_fail "capture $n did not start streaming in 60s"
		sleep 0.1
	done
	it_log "capture $n streaming (pid $pid): $(tail -n +"$((lines + 1))" "$IT_DIR/cap-$n.log" |
	    grep -o 'streaming from binlog.*' | head -n 1)"
}

# mycap_pid and mycap_kill NAME: lib.sh's cap_pid and cap_kill.
mycap_pid() {
	cap_pid "$1"
}

mycap_kill() {
	cap_kill "$1"
}

# mycap_stop NAME: SIGTERM and wait; fails if it takes more than 20 s or
# capture exits with a status other than 0.
mycap_stop() {
	pid=$(mycap_pid "$1")
	it_term "$pid" "capture $1" || it_fail "capture $1 (pid $pid) was not running at stop"
	if wait "$pid" 2>/dev/null; then st=0; else st=$?; fi
	[ "$st" -eq 0 ] || {
		tail -n 10 "$IT_DIR/cap-$1.log" >&2
		it_fail "capture $1 exited $st after SIGTERM"
	}
}

# mycap_ini_get NAME KEY: the value of KEY in $IT_DIR/cap-NAME.ini (last one).
mycap_ini_get() {
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$IT_DIR/cap-$1.ini" | tail -n 1
}

# mycap_stored_pos NAME: "FILE<TAB>POS<TAB>SNAPSHOT" of the newest position
# capture stored in <prefix>.offsets under key NAME; empty when none.
mycap_stored_pos() {
	prefix=$(mycap_ini_get "$1" topic_prefix)
	[ -n "$prefix" ] || prefix=$1
	addr=$(mycap_ini_get "$1" bootstrap)
	timeout 10 kcat -C -b "$addr" -t "$prefix.offsets" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null |
	    awk -F '\t' -v k="$1" '$1 == k { last = $2 }
		END {
			if (last == "") exit
			f = last; sub(/.*"file":[ ]*"/, "", f); sub(/".*/, "", f)
			p = last; sub(/.*"pos":[ ]*/, "", p); sub(/[^0-9].*/, "", p)
			s = last; if (s ~ /"snapshot":[ ]*"/) { sub(/.*"snapshot":[ ]*"/, "", s); sub(/".*/, "", s) } else s = "?"
			print f "\t" p "\t" s
		}' || true
}

# mycap_wait_caught_up NAME [SECONDS]: wait until capture NAME stored (in
# <prefix>.offsets) a binlog position at or past the server's SHOW MASTER
# STATUS of now: every change before it is acknowledged by the broker.
# Fails, with capture's log tail, if capture died meanwhile.
mycap_wait_caught_up() {
	n=$1
	secs=${2:-60}
	ms=$(my_master_status)
	tf=$(printf '%s' "$ms" | cut -f 1)
	tp=$(printf '%s' "$ms" | cut -f 2)
	[ -n "$tf" ] || it_fail "SHOW MASTER STATUS gave nothing (binlog off?)"
	end=$(( $(date +%s) + secs ))
	while :; do
		got=$(mycap_stored_pos "$n")
		gf=$(printf '%s' "$got" | cut -f 1)
		gp=$(printf '%s' "$got" | cut -f 2)
		if [ -n "$gf" ] && [ -n "$gp" ]; then
			if [ "$gf" = "$tf" ] && [ "$gp" -ge "$tp" ]; then
				break
			fi
			# a later file (binlog.000012 > binlog.000009: the suffix is
			# zero-padded, so strings compare as numbers)
			if [ "$gf" != "$tf" ] && [ "$(printf '%s\n%s\n' "$gf" "$tf" | sort | tail -n 1)" = "$gf" ]; then
				break
			fi
		fi
		if [ -f "$IT_DIR/cap-$n.pid" ] && ! kill -0 "$(mycap_pid "$n")" 2>/dev/null; then
			tail -n 15 "$IT_DIR/cap-$n.log" >&2
			it_fail "capture $n died while waiting for it to reach $tf:$tp (stored: $(printf "%s" "${got:-nothing}" | tr "\t" " "))"
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			tail -n 15 "$IT_DIR/cap-$n.log" >&2
			it_fail "capture $n did not store position $tf:$tp within ${secs}s (stored: $(printf "%s" "${got:-nothing}" | tr "\t" " "))"
		fi
		sleep 0.2
	done
}

# mycap_dump ADDR TOPIC FILE: it_topic_dump (lib.sh), as pg_lib.sh's cap_dump.
mycap_dump() {
	it_topic_dump "$@"
}

# my_want TABLE FILE: the table as my_replay.py compares it: FILE.cols
# (name, data type, column type, key per column, from information_schema)
# and FILE.rows (one row per line, each column in the normal form
# my_replay.py's --select gives, NULL for null).
my_want() {
	my_sql "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY FROM information_schema.COLUMNS
	    WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = '$1' ORDER BY ORDINAL_POSITION" >"$2.cols"
	[ -s "$2.cols" ] || it_fail "table app.$1 has no columns"
	q=$("$IT_PY" "$(dirname "$0")/my_replay.py" --select "$2.cols" "$1")
	my_sql "SET time_zone = '+00:00'; $q" >"$2.rows" || it_fail "reading table app.$1 failed"
}

# my_replay_tables ADDR TABLE...: for each TABLE of database app, dump the
# topic app.app.TABLE to $IT_DIR/TABLE.dump, read the table to
# $IT_DIR/TABLE.want and replay the one against the other with
# my_replay.py --no-dups (no source position twice in a partition).  Sets
# MY_REPLAY_FAILS to the tables that did not replay to their table (their
# differences on stderr), "" when all did.
my_replay_tables() {
	addr=$1
	shift
	MY_REPLAY_FAILS=""
	for t in "$@"; do
		mycap_dump "$addr" "app.app.$t" "$IT_DIR/$t.dump"
		my_want "$t" "$IT_DIR/$t.want"
		if ! "$IT_PY" "$(dirname "$0")/my_replay.py" "$IT_DIR/$t.dump" "$IT_DIR/$t.want" \
		    --no-dups >"$IT_DIR/$t.replay" 2>&1; then
			MY_REPLAY_FAILS="$MY_REPLAY_FAILS $t"
			sed "s/^/    $t: /" "$IT_DIR/$t.replay" | head -n 60 >&2
		else
			it_log "$t: $(head -n 1 "$IT_DIR/$t.replay")"
		fi
	done
}
