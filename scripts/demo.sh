#!/bin/sh
# make demo: the quickstart, end to end on this machine.
#   1. a throwaway PostgreSQL 15 cluster in a temp folder, with a sample table
#   2. `sluice up` with examples/quickstart/sluice.ini: the broker, the
#      PostgreSQL source, an LMDB view with a secondary index, a full-text
#      search view, and a cache view in a throwaway redis-server, supervised
#   3. live inserts, updates and deletes, and the views following them,
#      read with `sluice view`, `sluice search` and `redis-cli`
#   4. everything it started is stopped by PID and the folder removed
# SLUICE=path/to/sluice overrides the binary; KEEP=1 keeps the folder.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
SLUICE=${SLUICE:-$here/build/sluice}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
CONFIG=$here/examples/quickstart/sluice.ini

work=$(mktemp -d /tmp/sluice-demo-XXXXXX)
chmod 755 "$work"
up_pid=""
pg_started=""
redis_pid=""
if [ "$(id -u)" = 0 ]; then
	AS_PG="runuser -u postgres --"
	chown postgres "$work"
else
	AS_PG=""
fi

cleanup() {
	rc=$?
	if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
		kill -TERM "$up_pid"
		wait "$up_pid" 2>/dev/null || true
	fi
	if [ -n "$redis_pid" ]; then
		kill -TERM "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	if [ -n "$pg_started" ]; then
		$AS_PG "$PG_BIN/pg_ctl" -D "$work/pg" stop -m fast -w >/dev/null 2>&1 || true
	fi
	if [ "$rc" -ne 0 ] && [ -f "$work/up.log" ]; then
		echo "demo: failed; the last lines of sluice up's output:" >&2
		tail -n 30 "$work/up.log" >&2
	fi
	[ "${KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port below the kernel's ephemeral range (32768-60999), so that no
# client connection can be holding it when the server binds.
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 ))
		if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
psql_shop() { "$PG_BIN/psql" -h "$DEMO_PGSOCK" -p "$DEMO_PGPORT" -U postgres -d shop -v ON_ERROR_STOP=1 -Atqc "$1"; }
view() { "$SLUICE" view -c "$CONFIG" "$@"; }
search() { "$SLUICE" search -c "$CONFIG" "$@"; }

# wait_for DESCRIPTION COMMAND...: retry COMMAND for up to 60 s.
wait_for() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$up_pid" 2>/dev/null; then
			echo "demo: timed out waiting for $what" >&2
			exit 1
		fi
		sleep 0.1
	done
}

export DEMO_DIR="$work"
export DEMO_PGSOCK="$work/pgsock"
DEMO_PGPORT=$(free_port)
DEMO_KAFKA="127.0.0.1:$(free_port)"
DEMO_HTTP="127.0.0.1:$(free_port)"
DEMO_REDIS="unix:$work/redis.sock"
export DEMO_PGPORT DEMO_KAFKA DEMO_HTTP DEMO_REDIS

step "a throwaway PostgreSQL cluster in $work/pg (port $DEMO_PGPORT, wal_level=logical)"
mkdir -p "$DEMO_PGSOCK"
[ -n "$AS_PG" ] && chown postgres "$DEMO_PGSOCK"
$AS_PG "$PG_BIN/initdb" -D "$work/pg" -A trust -U postgres >"$work/initdb.log" 2>&1
$AS_PG "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/server.log" -w -o \
    "-k $DEMO_PGSOCK -p $DEMO_PGPORT -c listen_addresses='' -c wal_level=logical" start >/dev/null
pg_started=1
"$PG_BIN/psql" -h "$DEMO_PGSOCK" -p "$DEMO_PGPORT" -U postgres -d postgres -Atqc "CREATE DATABASE shop"
psql_shop "$(cat "$here/examples/quickstart/schema.sql")"
psql_shop "SELECT id, name, city, balance FROM customers ORDER BY id" | sed 's/^/    /'

step "a throwaway redis-server on $work/redis.sock, for the cache view"
redis-server --port 0 --unixsocket "$work/redis.sock" --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
rcli() { redis-cli -s "$work/redis.sock" "$@"; }
i=0
until [ "$(rcli ping 2>/dev/null)" = PONG ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "demo: redis-server did not start (see $work/redis.log)" >&2; exit 1; }
	sleep 0.1
done

step "sluice up -c examples/quickstart/sluice.ini (output in $work/up.log)"
"$SLUICE" up -c "$CONFIG" >"$work/up.log" 2>&1 &
up_pid=$!
wait_for "the initial snapshot to reach the view" view get customers 5
grep -E '\| (started|.*snapshot)' "$work/up.log" | head -n 8 | sed 's/^/    /' || true

step "the view holds the snapshot: sluice view scan customers"
view scan customers

step "INSERT two customers"
psql_shop "INSERT INTO customers (id, name, city, balance) VALUES
           (6, 'Donald Knuth', 'Stanford', 2.56), (7, 'Frances Allen', 'Boston', 64.00)"
# Rows 6 and 7 hash to different partitions, and the view applies each
# partition on its own, so wait for both before reading them.
wait_for "customers 6 and 7 in the view" sh -c \
    "'$SLUICE' view -c '$CONFIG' get customers 6 && '$SLUICE' view -c '$CONFIG' get customers 7"
view get customers 6
view get customers 7

step "UPDATE customer 1 (moves to Paris) and lookup by the secondary index by_city"
psql_shop "UPDATE customers SET city = 'Paris', balance = balance + 10 WHERE id = 1"
wait_for "customer 1 in Paris" sh -c "'$SLUICE' view -c '$CONFIG' lookup customers by_city Paris"
view lookup customers by_city Paris
echo "    lookup customers by_city Boston:"
view lookup customers by_city Boston

step "DELETE customer 4 in a transaction with another update"
psql_shop "BEGIN; DELETE FROM customers WHERE id = 4; UPDATE customers SET balance = 0 WHERE id = 2; COMMIT;"
wait_for "customer 4 to leave the view and customer 2's balance to reach 0" sh -c \
    "! '$SLUICE' view -c '$CONFIG' get customers 4 &&
     '$SLUICE' view -c '$CONFIG' get customers 2 | grep -q '\"balance\":\"0.00\"'"
echo "    sluice view get customers 4 -> exit 1 (absent)"
view scan customers

step "full-text search over the same topic: sluice search search 'city:boston'"
wait_for "the search view to drop customer 4" sh -c \
    "[ \"\$('$SLUICE' search -c '$CONFIG' search city:boston | wc -l)\" = 1 ]"
search search 'city:boston'
echo "    sluice search search 'lov* OR hop*':"
search search 'lov* OR hop*'

step "the cache view: every row a Redis hash, redis-cli HGETALL cache:public.customers:1"
wait_for "customer 4 to leave the cache" sh -c \
    "[ -z \"\$(redis-cli -s '$work/redis.sock' EXISTS cache:public.customers:4 | grep 1)\" ] &&
     redis-cli -s '$work/redis.sock' HGET cache:public.customers:1 city | grep -q Paris"
rcli HGETALL cache:public.customers:1 | paste - - | sed 's/^/    /'

step "the same changes as Kafka messages: kcat on the topic app.public.customers"
kcat -b "$DEMO_KAFKA" -C -t app.public.customers -e -q \
    -f '    partition %p offset %o key %K bytes, value %S bytes\n' 2>/dev/null | head -n 12 || true

step "the view equals the table"
table=$(psql_shop "SELECT id FROM customers ORDER BY id" | tr '\n' ' ')
viewids=$(view scan customers | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | tr '\n' ' ')
echo "    table ids: $table"
echo "    view ids:  $viewids"
[ "$table" = "$viewids" ] || { echo "demo: the view differs from the table" >&2; exit 1; }

step "sluice status: every component up, the slot active, the view caught up"
caught_up() {
	"$SLUICE" status -c "$CONFIG" >"$work/status.out" 2>&1 &&
		grep -q "^view    customers: .* 0 messages behind" "$work/status.out"
}
wait_for "sluice status to report everything up and caught up" caught_up
sed 's/^/    /' "$work/status.out"

step "stopping sluice up (views, then the source, then the broker) and PostgreSQL"
kill -TERM "$up_pid"
wait "$up_pid" || true
up_pid=""
tail -n 4 "$work/up.log" | sed 's/^/    /'
echo "demo finished"
