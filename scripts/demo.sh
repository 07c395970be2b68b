#!/bin/sh
# make demo: what sluice does today, end to end on this machine.
#   1. start `sluice broker` in a temporary folder on a free port
#   2. create a topic with `sluice topics`
#   3. produce keyed messages with kcat (any Kafka client would do)
#   4. consume them back, show the partition on disk, verify every CRC
#   5. stop the broker (by PID) and remove the folder
set -eu
SLUICE=${SLUICE:-build/sluice}
work=$(mktemp -d /tmp/sluice-demo-XXXXXX)
broker_pid=""
cleanup() {
	if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
		kill -TERM "$broker_pid"
		wait "$broker_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
		if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

step() { printf '\n==> %s\n' "$*"; }

port=$(free_port)
http=$(free_port)
step "starting sluice broker on 127.0.0.1:$port (data in $work/data)"
"$SLUICE" broker --data-dir "$work/data" --listen "127.0.0.1:$port" \
    --http "127.0.0.1:$http" 2>"$work/broker.log" &
broker_pid=$!
i=0
until kcat -b "127.0.0.1:$port" -L -m 1 >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$broker_pid" 2>/dev/null; then
		echo "demo: the broker did not start; its log:" >&2
		cat "$work/broker.log" >&2
		exit 1
	fi
	sleep 0.1
done

step "sluice topics create orders --partitions 3"
"$SLUICE" topics -b "127.0.0.1:$port" create orders --partitions 3
"$SLUICE" topics -b "127.0.0.1:$port" describe orders

step "producing 6 keyed messages with kcat (gzip, acks=all, Kafka's murmur2 partitioner)"
printf 'alice:{"order":1,"total":12.5}\nbob:{"order":2,"total":3}\nalice:{"order":3,"total":7}\ncarol:{"order":4,"total":99}\nbob:{"order":5,"total":1}\nalice:{"order":6,"total":40}\n' |
    kcat -b "127.0.0.1:$port" -P -t orders -K: -z gzip -X acks=all -X partitioner=murmur2_random
echo "produced"

step "consuming them back (messages with the same key share a partition, in order)"
kcat -b "127.0.0.1:$port" -C -t orders -e -q -f 'partition %p offset %o key %k value %s\n' | sort

step "the partitions on disk: sluice log dump"
for d in "$work"/data/orders-*; do
	echo "--- $(basename "$d")"
	"$SLUICE" log dump "$d"
done

step "sluice log verify"
"$SLUICE" log verify "$work/data"

step "metrics (excerpt)"
if command -v curl >/dev/null; then
	curl -s "http://127.0.0.1:$http/metrics" | grep -E '^sluice_' | head -n 12 || true
fi

step "stopping the broker (SIGTERM: flush, checkpoints, clean-shutdown marker)"
kill -TERM "$broker_pid"
wait "$broker_pid" || true
broker_pid=""
echo "demo finished"
