#!/bin/sh
# test_my_kill.sh: exactly once across crashes, MariaDB edition.  While a
# random write workload (deterministic from SEED, printed: upserts,
# updates, deletes, primary-key changes, rollbacks, inserts and deletes on
# a table without a key, and a FLUSH BINARY LOGS now and then, so capture
# resumes across binlog files) runs for the whole test on a real MariaDB
# 10.11, `sluice capture` (type = mysql) is killed with SIGKILL at KILLS
# (default 10) random moments and restarted, and the broker is killed once.
# Afterwards every change is in its topic exactly once (no sluice.pos twice
# in a partition) and replaying each topic gives its table back value for
# value (my_replay.py).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"

KILLS=${KILLS:-10}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
it_log "SEED=$SEED KILLS=$KILLS (rerun with SEED=$SEED)"

my_start
it_broker_start b
my_sql "CREATE TABLE k (id int PRIMARY KEY, v varchar(64), n int, d decimal(12,3), t datetime(6));
        CREATE TABLE j (id bigint PRIMARY KEY, note varchar(40));
        CREATE TABLE nk (a int, b varchar(20));
        INSERT INTO k SELECT seq, md5(seq), 0, seq / 7, '2024-01-01' + INTERVAL seq SECOND
            FROM seq_1_to_500;"

cat >"$IT_DIR/gen.py" <<'EOF'
# the workload: SQL on stdout until the file argv[2] exists (at most 120 s)
import os, random, sys, time
R = random.Random(int(sys.argv[1]))
stop = sys.argv[2]
end = time.time() + 120
n = 0
out = sys.stdout
while not os.path.exists(stop) and time.time() < end:
    for _ in range(5):
        n += 1
        a, b = R.randint(1, 2000), R.randint(1, 2000)
        r = R.random()
        if r < 0.75:
            out.write("BEGIN;\n"
                      "INSERT INTO k VALUES (%d, '%s', 0, %d.%03d, '2024-02-29 12:00:00.%06d')"
                      " ON DUPLICATE KEY UPDATE v = VALUES(v), n = n + 1, d = VALUES(d);\n"
                      "UPDATE k SET n = n + 1, t = t + INTERVAL 1 SECOND WHERE id = %d;\n"
                      "DELETE FROM k WHERE id = %d;\n"
                      "INSERT INTO j VALUES (%d, 'w1') ON DUPLICATE KEY UPDATE note = 'again';\n"
                      "COMMIT;\n" % (a, "%08x" % R.getrandbits(32), R.randint(-99999, 99999),
                                     R.randint(0, 999), R.randint(0, 999999), b, b + 1,
                                     a * 10000 + b))
        elif r < 0.85:
            out.write("BEGIN;\n"
                      "UPDATE IGNORE k SET id = -id WHERE id = %d;\n"
                      "DELETE FROM j WHERE id %% 7 = %d AND id < %d;\n"
                      "COMMIT;\n" % (a, a % 7, a * 1000))
        elif r < 0.93:
            out.write("BEGIN;\n"
                      "INSERT IGNORE INTO j VALUES (%d, 'rolled back');\n"
                      "UPDATE k SET v = 'rolled back' WHERE id = %d;\n"
                      "INSERT INTO nk VALUES (%d, 'rolled back');\n"
                      "ROLLBACK;\n" % (-a, a, a % 10))
        elif r < 0.97:
            out.write("INSERT INTO nk VALUES (%d, 'x%d');\n" % (a % 10, b % 3))
        else:
            out.write("DELETE FROM nk WHERE a = %d LIMIT 1;\n" % (a % 10))
        if n % 700 == 0:
            out.write("FLUSH BINARY LOGS;\n")
    out.flush()
    time.sleep(0.02)
sys.stderr.write("%d transactions\n" % n)
EOF

mycap_config app "$b_ADDR" "tables = app.k, app.j, app.nk" "format = json" \
    "json.decimal_handling = string" "topic.partitions = 4"
mycap_start app

{ $IT_PY "$IT_DIR/gen.py" "$SEED" "$IT_DIR/stop" 2>"$IT_DIR/gen.log" | my_sql_file - ; } \
    >"$IT_DIR/work.log" 2>&1 &
work=$!
it_track "$work"

sleeps=$($IT_PY -c "import random; R = random.Random($SEED + 1)
print(' '.join('%.2f' % R.uniform(0.1, 1.0) for _ in range($KILLS)))")
i=0
for s in $sleeps; do
	sleep "$s"
	kill -0 "$work" 2>/dev/null || { cat "$IT_DIR/work.log" >&2; it_fail "the workload stopped early"; }
	mycap_kill app
	if [ "${BROKER_KILL:-1}" = 1 ] && [ $i -eq $((KILLS / 2)) ]; then
		it_broker_kill b
		it_broker_start b
	fi
	mycap_start app
	i=$((i + 1))
done
sleep 0.5
touch "$IT_DIR/stop"
wait "$work" || { cat "$IT_DIR/work.log" >&2; it_fail "the workload failed (SEED=$SEED)"; }
it_log "workload: $(cat "$IT_DIR/gen.log"), binlog at $(my_master_status), $(my_sql "SHOW BINARY LOGS" | wc -l) files"
mycap_wait_caught_up app 120

my_replay_tables "$b_ADDR" k j nk
fails=$MY_REPLAY_FAILS
[ -z "$fails" ] ||
	it_fail "app.app.{$fails } after $KILLS kills: lost, duplicated or wrong changes (SEED=$SEED)"
grep -q "rolled back" "$IT_DIR/k.dump" "$IT_DIR/j.dump" "$IT_DIR/nk.dump" &&
	it_fail "rolled-back work appears (SEED=$SEED)"
starts=$(grep -c "streaming from binlog" "$IT_DIR/cap-app.log" || true)
[ "$starts" -eq $((KILLS + 1)) ] || it_fail "capture streamed $starts times, expected $((KILLS + 1))"
mycap_stop app
it_log "ok: $(cat "$IT_DIR"/k.dump "$IT_DIR"/j.dump "$IT_DIR"/nk.dump | wc -l) messages (SEED=$SEED)"
