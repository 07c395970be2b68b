#!/bin/sh
# test_pg_kill.sh: exactly once across crashes.  While pgbench runs a
# random workload (upserts, updates, deletes, primary-key changes,
# rollbacks) on a real PostgreSQL 15, `sluice capture` is killed with
# SIGKILL at KILLS (default 20) random moments and restarted, and the
# broker is killed once.  Afterwards every change is in the topic exactly
# once (no source position twice in a partition) and replaying the topic
# gives the table back value for value.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

KILLS=${KILLS:-20}

pg_start
it_broker_start b
pg_sql "CREATE TABLE k (id int PRIMARY KEY, v text, n int);
        CREATE TABLE j (id bigint PRIMARY KEY, note text);
        INSERT INTO k SELECT i, md5(i::text), 0 FROM generate_series(1, 500) i;"

cat >"$IT_DIR/w1.sql" <<'EOF'
\set a random(1, 2000)
\set b random(1, 2000)
BEGIN;
INSERT INTO k (id, v, n) VALUES (:a, md5(random()::text), 0) ON CONFLICT (id) DO UPDATE SET v = excluded.v, n = k.n + 1;
UPDATE k SET n = n + 1 WHERE id = :b;
DELETE FROM k WHERE id = :b + 1;
INSERT INTO j VALUES (:a * 10000 + :b, 'w1') ON CONFLICT (id) DO UPDATE SET note = 'again';
END;
EOF
cat >"$IT_DIR/w2.sql" <<'EOF'
\set a random(1, 2000)
BEGIN;
UPDATE k SET id = -id WHERE id = :a AND NOT EXISTS (SELECT 1 FROM k WHERE id = -:a);
DELETE FROM j WHERE id % 7 = :a % 7 AND id < :a * 1000;
END;
EOF
cat >"$IT_DIR/w3.sql" <<'EOF'
\set a random(1, 2000)
BEGIN;
INSERT INTO j VALUES (-:a, 'rolled back') ON CONFLICT DO NOTHING;
UPDATE k SET v = 'rolled back' WHERE id = :a;
ROLLBACK;
EOF

cap_config app "$b_ADDR" "tables = public.k, public.j" "format = json" "topic.partitions = 4"
cap_start app

DUR=$((KILLS + 6))
"$PG_BIN/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -n -c 1 -T "$DUR" \
    -f "$IT_DIR/w1.sql@8" -f "$IT_DIR/w2.sql@1" -f "$IT_DIR/w3.sql@1" app \
    >"$IT_DIR/pgbench.log" 2>&1 &
bench=$!
it_track "$bench"

i=0
while [ $i -lt "$KILLS" ]; do
	sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 9 + 1 ))"
	cap_kill app
	if [ "${BROKER_KILL:-1}" = 1 ] && [ $i -eq $((KILLS / 2)) ]; then
		it_broker_kill b
		it_broker_start b
	fi
	cap_start app
	i=$((i + 1))
done
wait "$bench" || { cat "$IT_DIR/pgbench.log" >&2; it_fail "pgbench failed"; }
grep -E "number of transactions actually processed" "$IT_DIR/pgbench.log" >&2 || true
cap_wait_caught_up sluice_app 120

for t in k j; do
	cap_dump "$b_ADDR" "app.public.$t" "$IT_DIR/$t.dump"
	pg_sql "SELECT coalesce(json_agg(t), '[]') FROM $t t" >"$IT_DIR/$t.want"
	$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/$t.dump" "$IT_DIR/$t.want" --no-dups ||
		it_fail "app.public.$t after $KILLS kills: lost or duplicated changes"
done
grep -q "rolled back" "$IT_DIR/k.dump" "$IT_DIR/j.dump" && it_fail "rolled-back work appears"
skipped=$(grep -o "[0-9]* skipped" "$IT_DIR/cap-app.log" | awk '{ s += $1 } END { print s + 0 }')
it_log "ok: $(wc -l <"$IT_DIR/k.dump") + $(wc -l <"$IT_DIR/j.dump") messages, $skipped skipped on clean stops"
cap_stop app
