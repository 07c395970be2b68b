#!/bin/sh
# test_pg_stream.sh: a ROWS-row transaction (default 2,000,000) streamed by
# the server while in progress (streaming 'on', logical_decoding_work_mem
# 64kB) is spooled to disk: capture's peak RSS stays under 64 MiB, none of
# its events appears before the commit, all of them appear after it; an
# aborted streamed transaction and a rolled-back savepoint inside a
# committed one emit nothing.  With CAP_PLUGIN=pg_sluice (test_pg_sluice.sh)
# the server spills the transaction instead and the same holds after it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

ROWS=${ROWS:-2000000}

pg_start "-c logical_decoding_work_mem=64kB"
it_broker_start b
pg_sql "CREATE TABLE big (id bigint PRIMARY KEY, v text)"
cap_config app "$b_ADDR" "tables = public.big" "format = json" "topic.partitions = 2"
cap_start app
pid=$(cap_pid app)

# An aborted streamed transaction: nothing may come out of it.
pg_sql "BEGIN; INSERT INTO big SELECT i, 'aborted' FROM generate_series(1, 200000) i; ROLLBACK;"

# The big one, held open until its rows have been streamed to capture.
mkfifo "$IT_DIR/sqlin"
"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d app -v ON_ERROR_STOP=1 -q \
    <"$IT_DIR/sqlin" >"$IT_DIR/big.out" 2>&1 &
psqlpid=$!
it_track "$psqlpid"
exec 9>"$IT_DIR/sqlin"
echo "BEGIN; INSERT INTO big SELECT i, 'row ' || i FROM generate_series(1, $ROWS) i;" >&9
echo "SAVEPOINT s1; INSERT INTO big SELECT -i, 'savepoint' FROM generate_series(1, 1000) i; ROLLBACK TO s1;" >&9
echo "SELECT 'inserted';" >&9
it_wait 600 "the big insert" grep -q inserted "$IT_DIR/big.out"
# the spool holds it (with pg_sluice, which never streams, the server's
# own spill files do), Kafka has none of it.  The server decodes the WAL
# behind the INSERT and capture spools what it is sent as it comes, so
# both are waited for (the transaction stays open meanwhile).
spilled() {
	spilled=$(pg_sql "SELECT spill_bytes FROM pg_stat_replication_slots WHERE slot_name = 'sluice_app'")
	[ "${spilled:-0}" -gt $((ROWS * 10)) ]
}
spooled() {
	spooled=$(du -sk "$IT_DIR/spool-app" | cut -f1)
	[ "$spooled" -gt $((ROWS / 100)) ]
}
end=$(( $(date +%s) + 120 ))
if [ "${CAP_PLUGIN:-}" = pg_sluice ]; then
	until spilled; do
		[ "$(date +%s)" -lt "$end" ] ||
			it_fail "the server did not spill the open transaction (${spilled:-0} bytes in 120 s)"
		sleep 0.2
	done
else
	until spooled; do
		[ "$(date +%s)" -lt "$end" ] ||
			it_fail "the streamed transaction is not spooled ($spooled kB after 120 s)"
		sleep 0.2
	done
fi
n=$(kcat -C -b "$b_ADDR" -t app.public.big -e -q -f 'x\n' 2>/dev/null | wc -l)
[ "$n" -eq 0 ] || it_fail "$n events of the open transaction appeared before its commit"
echo "COMMIT;" >&9
exec 9>&-
wait "$psqlpid" || it_fail "psql failed: $(cat "$IT_DIR/big.out")"

peak=0
end=$(( $(date +%s) + 900 ))
while :; do
	rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	[ "$rss" -gt "$peak" ] && peak=$rss
	f=$(pg_slot_flush sluice_app)
	t=$(pg_sql "SELECT (pg_current_wal_lsn() - '0/0')::bigint")
	[ "$f" -ge "$t" ] && break
	kill -0 "$pid" 2>/dev/null || it_fail "capture died (see $IT_DIR/cap-app.log)"
	[ "$(date +%s)" -lt "$end" ] || it_fail "capture did not catch up in 900s"
	sleep 1
done
it_log "caught up; capture peak RSS ${peak} kB"
# AddressSanitizer's shadow memory and quarantine make RSS meaningless in a
# sanitizer build; there LeakSanitizer checks memory instead, and the bound
# is enforced by every plain build.
if grep -q __asan_init "$SLUICE"; then
	it_log "sanitizer build: RSS bound not checked"
else
	[ "$peak" -lt 65536 ] || it_fail "capture's peak RSS ${peak} kB is over 64 MiB"
fi

kcat -C -b "$b_ADDR" -t app.public.big -e -q -f '%s\n' >"$IT_DIR/big.dump"
nev=$(wc -l <"$IT_DIR/big.dump")
[ "$nev" -eq "$ROWS" ] || it_fail "$nev events for the $ROWS-row transaction"
grep -q '"aborted"\|"savepoint"' "$IT_DIR/big.dump" && it_fail "aborted work appeared"
ls "$IT_DIR/spool-app" | grep -q spool && it_fail "a spool file is left behind"
cap_stop app
it_log "ok: $nev events, peak RSS ${peak} kB"
