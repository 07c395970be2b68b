# tests/integration/lib.sh: shared helpers for the integration scripts.
#
# Sourced (POSIX sh) by every tests/integration/test_*.sh.  It makes a fresh
# mktemp folder per test, starts `sluice broker` instances on free
# non-default ports inside it, waits until they answer, and stops them by
# the PID it started (never by name).  Everything it started is stopped and
# the folder removed on exit (kept when KEEP=1, for post-mortems).
# It is not a test framework: scripts assert with `it_fail` / `it_check`.
#
# Environment: SLUICE (the built command, required), BUILD (the build folder
# holding tests/prog/*, required by tests that use helper programs).
#
# Broker handles are short names ("b"): the broker's files live in
# $IT_DIR/<name>/ (sluice.ini, data/, broker.log, pid) and its ports are in
# the variables set by it_broker_start: <name>_PORT, <name>_HTTP, <name>_ADDR.

set -eu

: "${SLUICE:?SLUICE must name the built sluice command}"
case "$SLUICE" in /*) ;; *) SLUICE="$(pwd)/$SLUICE" ;; esac
BUILD=${BUILD:-$(dirname "$SLUICE")}
case "$BUILD" in /*) ;; *) BUILD="$(pwd)/$BUILD" ;; esac
IT_NAME=$(basename "$0" .sh)
IT_DIR=$(mktemp -d "/tmp/sluice-$IT_NAME-XXXXXX")
IT_PIDS=""
IT_PY=/usr/bin/python3		# Debian's python: python3-kafka lives there
export PYTHONDONTWRITEBYTECODE=1	# no __pycache__ in the source tree

it_log() {
	echo "[$IT_NAME $(date +%H:%M:%S)] $*" >&2
}

it_cleanup() {
	rc=$?
	# Brokers are also found by their pid files, in case a caller started
	# one in a subshell, where it_track could not reach IT_PIDS; a PID counts
	# only while its command line still names this test's folder.
	for f in "$IT_DIR"/*/pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$IT_DIR/"; then
			IT_PIDS="$IT_PIDS $p"
		fi
	done
	for pid in $IT_PIDS; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for pid in $IT_PIDS; do
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	# A sanitizer build reports to the broker's log: any report fails the test.
	for f in "$IT_DIR"/*/broker.log; do
		[ -f "$f" ] || continue
		if grep -q 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$f"; then
			echo "FAIL [$IT_NAME]: sanitizer report in $f:" >&2
			grep -A 30 -m 1 'AddressSanitizer\|LeakSanitizer\|runtime error:' "$f" >&2
			rc=1
		fi
	done
	if [ "$rc" -ne 0 ]; then
		for f in "$IT_DIR"/*/broker.log; do
			[ -f "$f" ] || continue
			echo "---- last lines of $f" >&2
			tail -n 30 "$f" >&2
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $IT_DIR" >&2
	else
		rm -rf "$IT_DIR"
	fi
	exit "$rc"
}
trap it_cleanup EXIT
trap 'exit 130' INT TERM

# Print a message and fail the test.
it_fail() {
	echo "FAIL [$IT_NAME]: $*" >&2
	exit 1
}

# it_check DESCRIPTION COMMAND...: fail with DESCRIPTION unless COMMAND succeeds.
it_check() {
	what=$1
	shift
	if ! "$@"; then
		it_fail "$what"
	fi
}

# Remember a PID we started so it is stopped on exit.
it_track() {
	IT_PIDS="$IT_PIDS $1"
}

# Print a TCP port that is free now.  It is picked below the kernel's
# ephemeral range when there is room, so that no client connection can take
# it while a broker restarts (a client port in TIME_WAIT blocks a bind even
# with SO_REUSEADDR); otherwise the kernel picks one.
it_free_port() {
	"$IT_PY" -c 'import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
cands = [random.randint(10000, lo - 1) for _ in range(100)] if lo > 11000 else []
for p in cands + [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    print(s.getsockname()[1])
    s.close()
    break'
}

# The path of helper program NAME built from tests/prog/NAME.c; fails if absent.
it_prog() {
	p="$BUILD/tests/prog/$1"
	[ -x "$p" ] || it_fail "helper program $p is not built (make B=... $p)"
	echo "$p"
}

# it_wait SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.2 s until it
# succeeds; fail with DESCRIPTION after SECONDS.
it_wait() {
	secs=$1
	what=$2
	shift 2
	end=$(( $(date +%s) + secs ))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$end" ]; then
			it_fail "timed out after ${secs}s waiting for: $what"
		fi
		sleep 0.2
	done
}

# it_broker_start NAME [INI_LINE...]: write $IT_DIR/NAME/sluice.ini (free
# ports, data dir, then each extra line in [broker]) the first time, then
# start `sluice broker -c` on it and wait until it serves Metadata.  Calling
# it again after it_broker_stop/kill restarts the same broker on the same
# ports and data.
it_broker_start() {
	name=$1
	shift
	d="$IT_DIR/$name"
	if [ ! -f "$d/sluice.ini" ]; then
		mkdir -p "$d/data"
		port=$(it_free_port)
		http=$(it_free_port)
		while [ "$http" = "$port" ]; do http=$(it_free_port); done
		{
			echo "[broker]"
			echo "listen = 127.0.0.1:$port"
			echo "http = 127.0.0.1:$http"
			echo "data_dir = $d/data"
			for line in "$@"; do echo "$line"; done
		} >"$d/sluice.ini"
		echo "$port" >"$d/port"
		echo "$http" >"$d/http"
	fi
	port=$(cat "$d/port")
	http=$(cat "$d/http")
	eval "${name}_PORT=$port ${name}_HTTP=$http ${name}_ADDR=127.0.0.1:$port"
	echo "==== start $(date +%H:%M:%S.%N)" >>"$d/broker.log"
	"$SLUICE" broker -c "$d/sluice.ini" >>"$d/broker.log" 2>&1 &
	pid=$!
	echo "$pid" >"$d/pid"
	it_track "$pid"
	# A port still held by the previous instance makes the broker exit;
	# retry the start a few times in that case.
	end=$(( $(date +%s) + 30 ))
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			if [ "$(date +%s)" -ge "$end" ]; then
				it_fail "broker $name exited at start (see $d/broker.log)"
			fi
			sleep 0.5
			"$SLUICE" broker -c "$d/sluice.ini" >>"$d/broker.log" 2>&1 &
			pid=$!
			echo "$pid" >"$d/pid"
			it_track "$pid"
			continue
		fi
		if kcat -L -b "127.0.0.1:$port" -m 2 -q >/dev/null 2>&1; then
			break
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			it_fail "broker $name did not serve Metadata on 127.0.0.1:$port within 30s"
		fi
		sleep 0.2
	done
	it_log "broker $name up: pid $pid kafka 127.0.0.1:$port http 127.0.0.1:$http"
}

# The PID of broker NAME.
it_broker_pid() {
	cat "$IT_DIR/$1/pid"
}

# it_broker_stop NAME: SIGTERM and wait; the broker must exit 0 within 20 s
# (a clean stop is prompt and successful; SIGKILL after that fails the test).
it_broker_stop() {
	pid=$(it_broker_pid "$1")
	kill -TERM "$pid" 2>/dev/null || it_fail "broker $1 (pid $pid) was not running"
	n=0
	while kill -0 "$pid" 2>/dev/null; do
		n=$((n + 1))
		if [ $n -ge 200 ]; then
			kill -KILL "$pid" 2>/dev/null || true
			it_fail "broker $1 (pid $pid) ignored SIGTERM for 20s"
		fi
		sleep 0.1
	done
	if wait "$pid" 2>/dev/null; then st=0; else st=$?; fi
	[ "$st" -eq 0 ] || it_fail "broker $1 (pid $pid) exited $st after SIGTERM"
}

# it_broker_kill NAME: SIGKILL, as a crash, and reap.
it_broker_kill() {
	pid=$(it_broker_pid "$1")
	kill -KILL "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	wait "$pid" 2>/dev/null || true
}

# it_broker_alive NAME: succeed while the broker process runs.
it_broker_alive() {
	kill -0 "$(it_broker_pid "$1")" 2>/dev/null
}

# Resident memory of broker NAME in kB (VmRSS of /proc/PID/status).
it_broker_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$(it_broker_pid "$1")/status"
}

# it_topic_create NAME TOPIC PARTITIONS [--compact]: through `sluice topics`.
it_topic_create() {
	b=$1
	t=$2
	n=$3
	shift 3
	eval "addr=\$${b}_ADDR"
	# shellcheck disable=SC2154
	out=$("$SLUICE" topics -b "$addr" create "$t" --partitions "$n" "$@") ||
		it_fail "sluice topics create $t --partitions $n $* failed"
	[ "$out" = "Created topic $t." ] || it_fail "sluice topics create $t said '$out'"
}

# it_topic_partitions ADDR TOPIC: partitions kcat -L sees for TOPIC.
it_topic_partitions() {
	kcat -L -b "$1" -t "$2" -m 5 2>/dev/null |
		awk -v t="\"$2\"" '$1 == "topic" && $2 == t { print $4; exit }'
}

# it_topic_dump ADDR TOPIC FILE: every message of TOPIC as
# "partition<TAB>offset<TAB>key<TAB>value<TAB>headers" (NULL for null),
# read up to the end offsets asked for first, so a read that stops short
# of one (kcat -e has, once) is read again.
it_topic_dump() {
	_td_q=""
	_td_p=0
	while [ "$_td_p" -lt "$(it_topic_partitions "$1" "$2")" ]; do
		_td_q="$_td_q -t $2:$_td_p:-1"
		_td_p=$((_td_p + 1))
	done
	[ -n "$_td_q" ] || it_fail "topic $2 has no partitions"
	_td_n=0
	while :; do
		# the end offsets first, then a read that must reach them: once a
		# kcat read stopped at the end of one partition without anything
		# of the other, so a short read is logged and read again
		# shellcheck disable=SC2086
		_td_ends=$(kcat -Q -b "$1" $_td_q 2>/dev/null | sed -n 's/.* \[\([0-9]*\)\] offset \([0-9]*\)$/\1 \2/p')
		timeout 300 kcat -C -b "$1" -o beginning -e -q -X fetch.wait.max.ms=10 -t "$2" \
		    -Z -f '%p\t%o\t%k\t%s\t%h\n' >"$3" 2>/dev/null || it_fail "kcat could not read $2"
		_td_short=$(printf '%s\n' "$_td_ends" | awk -F '\t' -v f="$3" '
		    BEGIN { while ((getline l < f) > 0) { split(l, a, "\t"); if (!(a[1] in m) || a[2] + 0 > m[a[1]]) m[a[1]] = a[2] + 0 } }
		    { split($0, e, " "); if (e[2] > 0 && (!(e[1] in m) || m[e[1]] + 1 < e[2])) printf " %s:%s<%s", e[1], (e[1] in m) ? m[e[1]] + 1 : 0, e[2] }')
		[ -n "$_td_ends" ] && [ -z "$_td_short" ] && return 0
		_td_n=$((_td_n + 1))
		[ "$_td_n" -lt 3 ] || it_fail "kcat read of $2 stopped short 3 times (partition:read<end$_td_short; ends '$_td_ends')"
		it_log "kcat read of $2 stopped short (partition:read<end$_td_short): reading again"
	done
}

# ------------------------------------------- capture processes (any source)

# cap_pid NAME: the pid of `sluice capture` on $IT_DIR/cap-NAME.ini, as
# pg_lib.sh's cap_start and my_lib.sh's mycap_start record it.
cap_pid() {
	cat "$IT_DIR/cap-$1.pid"
}

# it_term PID WHAT [SECONDS]: SIGTERM and wait for PID to exit (20 s by
# default, then fail naming WHAT); 1 when it was not running.
it_term() {
	kill -TERM "$1" 2>/dev/null || return 1
	_tw_n=0
	while kill -0 "$1" 2>/dev/null; do
		_tw_n=$((_tw_n + 1))
		[ $_tw_n -lt $(( ${3:-20} * 10 )) ] || it_fail "$2 ignored SIGTERM for ${3:-20}s"
		sleep 0.1
	done
}

# cap_refused NAME PATTERN WHAT [SECONDS]: `sluice capture` on
# $IT_DIR/cap-NAME.ini must stop by itself within SECONDS (60) with a
# status other than 0 (in $st) and PATTERN (grep) in its log
# $IT_DIR/cap-NAME.log; else fail saying WHAT.
cap_refused() {
	set +e
	timeout "${4:-60}" "$SLUICE" capture -c "$IT_DIR/cap-$1.ini" >"$IT_DIR/cap-$1.log" 2>&1
	st=$?
	set -e
	[ "$st" -ne 0 ] && [ "$st" -ne 124 ] || { tail -n 5 "$IT_DIR/cap-$1.log" >&2; it_fail "capture $1 exited $st: $3"; }
	grep -q "$2" "$IT_DIR/cap-$1.log" || { tail -n 5 "$IT_DIR/cap-$1.log" >&2; it_fail "$3"; }
}

# cap_kill NAME: SIGKILL, as a crash, and reap.  The pid file goes too:
# the waits that check every capture with a pid file for one that died
# (cap_wait_caught_up) must not count one a test stopped on purpose.
cap_kill() {
	pid=$(cap_pid "$1")
	kill -KILL "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	wait "$pid" 2>/dev/null || true
	rm -f "$IT_DIR/cap-$1.pid"
}
