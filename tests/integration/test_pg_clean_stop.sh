#!/bin/sh
# test_pg_clean_stop.sh: a capture stopped cleanly (SIGTERM, every message
# acknowledged) leaves "<spool_dir>/clean-stop.<slot>" naming the LSN it
# confirmed last, and the next start skips the wait for a killed
# predecessor's late produce requests.  A SIGKILL leaves no file (the next
# start waits), a file whose LSN the slot no longer has is not trusted, and
# the file is gone once read.  Then, under a live workload, clean stops and
# kills alternate: every change is in the topic exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

ROUNDS=${ROUNDS:-12}

pg_start
it_broker_start b
pg_sql "CREATE TABLE c (id int PRIMARY KEY, v text, n int);
        INSERT INTO c SELECT i, md5(i::text), 0 FROM generate_series(1, 200) i;"
cap_config app "$b_ADDR" "tables = public.c" "format = json" "topic.partitions = 3"
marker="$IT_DIR/spool-app/clean-stop.sluice_app"
log="$IT_DIR/cap-app.log"
SKIP="stopped cleanly at"

# count_in_log TEXT: how many lines of capture's log hold TEXT
count_in_log() {
	grep -c "$1" "$log" || true
}

# 1. A clean stop writes the file with the slot's confirmed position.
cap_start app
[ "$(count_in_log "$SKIP")" -eq 0 ] || it_fail "a first start claims a clean predecessor"
pg_sql "UPDATE c SET n = n + 1 WHERE id <= 50"
cap_wait_caught_up sluice_app 60
cap_stop app
[ -f "$marker" ] || it_fail "no $marker after a clean stop"
slot_lsn=$(pg_sql "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'sluice_app'")
grep -qx "slot sluice_app flushed $slot_lsn" "$marker" ||
	it_fail "$marker says '$(cat "$marker")', the slot is at $slot_lsn"

# 2. The next start trusts it, and removes it.
cap_start app
[ "$(count_in_log "$SKIP")" -eq 1 ] || it_fail "the start after a clean stop still waited"
[ ! -f "$marker" ] || it_fail "$marker is still there after the start that read it"

# 3. A SIGKILL leaves nothing to trust: the next start waits.
cap_kill app
[ ! -f "$marker" ] || it_fail "a killed capture left $marker"
cap_start app
[ "$(count_in_log "$SKIP")" -eq 1 ] || it_fail "the start after a SIGKILL did not wait"

# 4. A file whose LSN the slot no longer has (another run moved it) is not trusted.
cap_stop app
[ -f "$marker" ] || it_fail "no $marker after the second clean stop"
echo "slot sluice_app flushed 0/1" >"$marker"
cap_start app
[ "$(count_in_log "$SKIP")" -eq 1 ] || it_fail "a stale clean-stop file was trusted"
grep -q "the clean-stop file names 0/1 but slot sluice_app is at" "$log" ||
	it_fail "the stale clean-stop file was not reported"
[ ! -f "$marker" ] || it_fail "the stale $marker was not removed"
# a garbled one neither
cap_stop app
echo "slot other_slot flushed 0/1" >"$marker"
cap_start app
[ "$(count_in_log "$SKIP")" -eq 1 ] || it_fail "a clean-stop file of another slot was trusted"
[ ! -f "$marker" ] || it_fail "the garbled $marker was not removed"
# nor one too long to be ours
cap_stop app
head -c 4000 /dev/zero | tr '\0' x >"$marker"
cap_start app
[ "$(count_in_log "$SKIP")" -eq 1 ] || it_fail "an oversized clean-stop file was trusted"
[ ! -f "$marker" ] || it_fail "the oversized $marker was not removed"

# 5. Clean stops and kills alternate under a live workload: exactly once.
cat >"$IT_DIR/w.sql" <<'EOF'
\set a random(1, 400)
BEGIN;
INSERT INTO c (id, v, n) VALUES (:a, md5(random()::text), 0) ON CONFLICT (id) DO UPDATE SET v = excluded.v, n = c.n + 1;
UPDATE c SET n = n + 1 WHERE id = :a + 1;
DELETE FROM c WHERE id = :a + 2;
END;
EOF
"$PG_BIN/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -n -c 1 -T $((ROUNDS + 4)) \
    -f "$IT_DIR/w.sql" app >"$IT_DIR/pgbench.log" 2>&1 &
bench=$!
it_track "$bench"
before=$(count_in_log "$SKIP")
i=0
while [ $i -lt "$ROUNDS" ]; do
	sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 9 + 1 ))"
	if [ $((i % 2)) -eq 0 ]; then cap_stop app; else cap_kill app; fi
	cap_start app
	i=$((i + 1))
done
wait "$bench" || { cat "$IT_DIR/pgbench.log" >&2; it_fail "pgbench failed"; }
cap_wait_caught_up sluice_app 120
skips=$(( $(count_in_log "$SKIP") - before ))
# every clean stop under load is followed by a start that trusts it
[ "$skips" -eq $((ROUNDS / 2)) ] ||
	it_fail "$skips of $((ROUNDS / 2)) starts after clean stops skipped the wait"
cap_dump "$b_ADDR" "app.public.c" "$IT_DIR/c.dump"
pg_sql "SELECT coalesce(json_agg(t), '[]') FROM c t" >"$IT_DIR/c.want"
$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/c.dump" "$IT_DIR/c.want" --no-dups ||
	it_fail "app.public.c after $ROUNDS clean stops and kills: lost or duplicated changes"
cap_stop app
it_log "ok: $(wc -l <"$IT_DIR/c.dump") messages, $skips starts without the wait, no duplicate"
