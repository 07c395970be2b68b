#!/bin/sh
# test_my_failover.sh: position = gtid carries capture over a failover.
# Two MariaDB 10.11 servers, A and B (B a GTID replica of A, both with
# --log-slave-updates --gtid-strict-mode=1, one GTID domain).  Capture
# (format json, position = gtid) snapshots and streams A while a random
# workload (deterministic from SEED, printed: upserts, deletes, primary-key
# changes of a one-column and a two-column key, rollbacks, multi-row
# updates, FLUSH BINARY LOGS on A so its binlog files and offsets differ
# from B's) runs and capture is killed (SIGKILL) KILLS times; the last kill
# leaves it down while A takes more writes.  Once B applied all of A, A is
# stopped (the failover), B leaves replication (RESET SLAVE ALL) and
# capture restarts with only its dsn changed, to B: it must log that it
# resumed after the stored GTID.  B takes a workload of its own, with one
# more SIGKILL of capture, until capture stored B's @@gtid_binlog_pos.
# Then:
#  - replaying each table topic (my_replay.py --no-dups) gives B's table,
#    value for value, with no source position twice in a partition;
#  - every message's sluice.pos is its transaction's GTID sequence number
#    (source.gtid "D-S-N": X/Y = N), positions never go down in a
#    partition, and the GTIDs found in the topics are exactly every one
#    from the snapshot's to B's last (each workload transaction that
#    reaches the binlog changes a captured table): none lost;
#  - the stored position says "position":"gtid";
#  - a configuration with position = file on these topics is refused with
#    an error naming `position`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"

KILLS=${KILLS:-3}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
it_log "SEED=$SEED KILLS=$KILLS (rerun with SEED=$SEED)"
[ "$KILLS" -ge 1 ] || it_fail "KILLS must be at least 1: the last kill is the stop before the failover"

# ------------------------------------------------------------ server B
# my_lib.sh runs one server (A, in $IT_DIR/my, server_id 1); B is started
# here with the same flags, its own data dir, port and socket, server_id 2.
B_DIR="$IT_DIR/myb"
B_SOCK=$(mktemp -u /tmp/sluice-my-XXXXXX.sock)
B_PORT=""
GTID_FLAGS="--log-slave-updates --gtid-strict-mode=1"

b_stop() {
	my_stop "$B_DIR" "$B_SOCK"
}

b_cleanup() {
	rc=$?
	set +e
	if [ "$rc" -ne 0 ] && [ -f "$B_DIR/error.log" ]; then
		echo "---- last warnings and errors of $B_DIR/error.log (server B)" >&2
		grep -v '\[Note\]' "$B_DIR/error.log" | tail -n 8 >&2
	fi
	b_stop
	(exit "$rc")
	my_cleanup
}

b_install() {
	mkdir -p "$B_DIR"
	mariadb-install-db --user=root --datadir="$B_DIR/data" \
	    --auth-root-authentication-method=normal --skip-test-db \
	    >"$B_DIR/install.log" 2>&1
}

b_start() {
	B_PORT=$(it_free_port)
	while [ "$B_PORT" = 3306 ] || [ "$B_PORT" = "$MY_PORT" ]; do B_PORT=$(it_free_port); done
	# shellcheck disable=SC2086
	mariadbd --no-defaults --user=root --datadir="$B_DIR/data" --socket="$B_SOCK" \
	    --port="$B_PORT" --bind-address=127.0.0.1 --log-bin="$B_DIR/data/binlog" \
	    --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
	    --server-id=2 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
	    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M \
	    --pid-file="$B_DIR/pid" --log-error="$B_DIR/error.log" $GTID_FLAGS \
	    >>"$B_DIR/mariadbd.out" 2>&1 &
	pid=$!
	it_track "$pid"
	end=$(( $(date +%s) + 60 ))
	until [ -f "$B_DIR/pid" ] &&
	    mariadb-admin --no-defaults --socket="$B_SOCK" -uroot ping >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || { tail -n 20 "$B_DIR/error.log" >&2; it_fail "server B exited at start"; }
		[ "$(date +%s)" -lt "$end" ] || it_fail "server B did not answer within 60s"
		sleep 0.1
	done
	it_log "mariadb B up: pid $(cat "$B_DIR/pid") port $B_PORT socket $B_SOCK"
}

# b_sql SQL / b_sql_file -: as my_sql / my_sql_file, on server B.
b_sql() {
	mariadb --no-defaults --socket="$B_SOCK" -uroot -p"$MY_PW" -N -B app -e "$1"
}
b_sql_file() {
	mariadb --no-defaults --socket="$B_SOCK" -uroot -p"$MY_PW" -N -B app
}

# seq_of GTID: N of "D-S-N"
seq_of() {
	printf '%s\n' "$1" | sed -n 's/^[0-9]*-[0-9]*-\([0-9]*\)$/\1/p'
}

# shellcheck disable=SC2086
my_start $GTID_FLAGS
trap b_cleanup EXIT
# not beside my_start's: two mariadb-install-db at once sometimes collide
# on a temporary table name in /tmp ("Unknown table 'mysql.tmp_user_sys'")
b_install || { tail -n 20 "$B_DIR/install.log" >&2; it_fail "mariadb-install-db for B failed"; }
b_start
it_broker_start b

# B is a clone of A at A's current GTID: the same users and database, made
# without binlogging, then replication from A after that GTID.
a_pos=$(my_sql "SELECT @@gtid_binlog_pos")
mariadb --no-defaults --socket="$B_SOCK" -uroot -e "
    SET sql_log_bin = 0;
    DELETE FROM mysql.global_priv WHERE User = '';
    FLUSH PRIVILEGES;
    ALTER USER root@localhost IDENTIFIED BY '$MY_PW';
    ALTER USER root@'127.0.0.1' IDENTIFIED BY '$MY_PW';
    CREATE DATABASE app;
    SET GLOBAL gtid_slave_pos = '$a_pos';
    CHANGE MASTER TO master_host = '127.0.0.1', master_port = $MY_PORT, master_user = 'root',
        master_password = '$MY_PW', master_use_gtid = slave_pos;
    START SLAVE;" || it_fail "could not make B a replica of A"
it_log "B replicates A from GTID $a_pos"

my_sql "CREATE TABLE k (id int PRIMARY KEY, v varchar(64), n int, d decimal(12,3), t datetime(6));
        CREATE TABLE j (id bigint PRIMARY KEY, note varchar(40));
        CREATE TABLE c (a int, b varchar(16), n int, note varchar(40), PRIMARY KEY (a, b));
        INSERT INTO k SELECT seq, md5(seq), 0, seq / 7, '2024-01-01' + INTERVAL seq SECOND
            FROM seq_1_to_300;
        INSERT INTO c SELECT seq % 50, concat('p', seq), seq, 'seed' FROM seq_1_to_120;"

cat >"$IT_DIR/gen.py" <<'EOF'
# the workload: SQL on stdout until the file argv[2] exists, argv[3]
# transactions were written, or 60 s passed
import os, random, sys, time
R = random.Random(int(sys.argv[1]))
stop, most, flush = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "flush"
end = time.time() + 60
n = 0
out = sys.stdout
while not os.path.exists(stop) and time.time() < end and n < most:
    for _ in range(5):
        n += 1
        a, b = R.randint(1, 400), R.randint(1, 400)
        r = R.random()
        if r < 0.6:
            out.write("BEGIN;\n"
                      "INSERT INTO k VALUES (%d, '%08x', 0, %d.%03d, '2024-02-29 12:00:00.%06d')"
                      " ON DUPLICATE KEY UPDATE v = VALUES(v), n = n + 1, d = VALUES(d);\n"
                      "UPDATE k SET n = n + 1, t = t + INTERVAL 1 SECOND WHERE id = %d;\n"
                      "DELETE FROM k WHERE id = %d;\n"
                      "INSERT INTO j VALUES (%d, 'w%d') ON DUPLICATE KEY UPDATE note = 'again';\n"
                      "INSERT INTO c VALUES (%d, 'p%d', 1, 'up') ON DUPLICATE KEY UPDATE n = n + 1;\n"
                      "COMMIT;\n" % (a, R.getrandbits(32), R.randint(-99999, 99999),
                                     R.randint(0, 999), R.randint(0, 999999), b, b + 1,
                                     a * 1000 + b % 50, n, a % 50, b))
        elif r < 0.72:
            # primary-key changes: k's one column, c's second one
            out.write("BEGIN;\n"
                      "UPDATE IGNORE k SET id = -id WHERE id = %d;\n"
                      "UPDATE IGNORE c SET b = concat('q', b) WHERE a = %d AND length(b) < 12;\n"
                      "DELETE FROM j WHERE id %% 11 = %d AND id < %d;\n"
                      "COMMIT;\n" % (a, b % 50, a % 11, a * 1000))
        elif r < 0.82:
            out.write("BEGIN;\n"
                      "INSERT IGNORE INTO j VALUES (%d, 'rolled back');\n"
                      "UPDATE k SET v = 'rolled back' WHERE id = %d;\n"
                      "DELETE FROM c WHERE a = %d;\n"
                      "ROLLBACK;\n" % (-a, a, b % 50))
        elif r < 0.9:
            out.write("UPDATE k SET n = n + 1, d = d + 1 WHERE id BETWEEN %d AND %d;\n"
                      % (a, a + 15))
        else:
            out.write("DELETE FROM c WHERE a = %d AND b LIKE 'q%%';\n" % (b % 50))
        if flush and n % 300 == 0:
            out.write("FLUSH BINARY LOGS;\n")
    out.flush()
    time.sleep(0.02)
sys.stderr.write("%d transactions\n" % n)
EOF

# workload SEED MOST FLUSH SQLFUNC: the generator into SQLFUNC (my_sql_file
# or b_sql_file) in the background; its pid in $work
workload() {
	rm -f "$IT_DIR/stop"
	{ $IT_PY "$IT_DIR/gen.py" "$1" "$IT_DIR/stop" "$2" "$3" 2>"$IT_DIR/gen.log" | "$4" - ; } \
	    >"$IT_DIR/work.log" 2>&1 &
	work=$!
	it_track "$work"
}
# workload_end [all]: stop the workload and wait for it (with "all": let
# it write all MOST transactions first)
workload_end() {
	[ "${1:-}" = all ] || touch "$IT_DIR/stop"
	wait "$work" || { cat "$IT_DIR/work.log" >&2; it_fail "the workload failed (SEED=$SEED)"; }
	it_log "workload: $(cat "$IT_DIR/gen.log")"
}

# stored: the newest position stored under key app; stored_gtid: its "gtid"
# shellcheck disable=SC2154
stored() {
	timeout 10 kcat -C -b "$b_ADDR" -t app.offsets -o beginning -e -q -f '%k\t%s\n' 2>/dev/null |
	    awk -F '\t' '$1 == "app" { last = $2 } END { print last }' || true
}
stored_gtid() {
	stored | sed -n 's/.*"gtid":[ ]*"\([^"]*\)".*/\1/p'
}

# delivered: the highest GTID sequence number in the table topics' sluice.pos
delivered() {
	for t in k j c; do
		timeout 10 kcat -C -b "$b_ADDR" -t "app.app.$t" -o -1 -e -q -X fetch.wait.max.ms=10 \
		    -f '%h\n' 2>/dev/null || true
	done | sed -n 's/.*sluice.pos=\([0-9A-F]*\)\/\([0-9A-F]*\):.*/\1 \2/p' |
	    while read -r x y; do echo $(( (0x$x << 32) | 0x$y )); done | sort -n | tail -n 1
}

# ------------------------------------------------- capture on A, killed
snap_gtid=$(my_sql "SELECT @@gtid_binlog_pos")
mycap_config app "$b_ADDR" "tables = app.k, app.j, app.c" "format = json" \
    "json.decimal_handling = string" "topic.partitions = 3" "position = gtid"
mycap_start app
workload "$SEED" 1000000 flush my_sql_file
sleeps=$($IT_PY -c "import random; R = random.Random($SEED + 1)
print(' '.join('%.2f' % R.uniform(0.2, 0.9) for _ in range($KILLS)))")
i=0
for s in $sleeps; do
	sleep "$s"
	kill -0 "$work" 2>/dev/null || { cat "$IT_DIR/work.log" >&2; it_fail "the workload stopped early"; }
	mycap_kill app
	i=$((i + 1))
	# the last kill leaves capture down: what it delivered after its last
	# stored position is found again, and skipped, on B
	[ $i -lt "$KILLS" ] || break
	mycap_start app
done
workload_end
# more on A while capture is down (A only: rotated binlogs included)
workload $((SEED + 2)) 150 flush my_sql_file
workload_end all
a_pos=$(my_sql "SELECT @@gtid_binlog_pos")
before=$(stored_gtid)
it_log "A at GTID $a_pos, binlog $(my_master_status | tr '\t' :), $(my_sql "SHOW BINARY LOGS" | wc -l) files; capture stored GTID $before, delivered up to GTID sequence number $(delivered)"
[ -n "$before" ] || it_fail "capture stored no GTID on A: $(stored)"
[ "$(seq_of "$before")" -lt "$(seq_of "$a_pos")" ] ||
	it_fail "capture stored GTID $before, A is at $a_pos: nothing left to read from B"
stored | grep -q '"position":"gtid"' || it_fail "the stored position does not say position gtid: $(stored)"
w=$(b_sql "SELECT MASTER_GTID_WAIT('$a_pos', 30)")
[ "$w" = 0 ] || {
	b_sql "SHOW SLAVE STATUS\G" | grep -i 'error\|running' >&2
	it_fail "B did not apply A's GTID $a_pos within 30s"
}

# ------------------------------------------------------------ failover
my_stop
b_sql "STOP SLAVE; RESET SLAVE ALL" || it_fail "B did not leave replication"
b_pos=$(b_sql "SELECT @@gtid_binlog_pos")
[ "$b_pos" = "$a_pos" ] || it_fail "B's binlog ends at GTID $b_pos, A's at $a_pos"
it_log "failover: A stopped; B at GTID $b_pos, binlog $(b_sql "SHOW MASTER STATUS" | cut -f 1,2 | tr '\t' :)"
# from here on my_lib.sh's helpers (my_sql, my_want) talk to B
# shellcheck disable=SC2034
MY_SOCK=$B_SOCK
MY_PORT=$B_PORT
cp "$IT_DIR/cap-app.ini" "$IT_DIR/cap-app.ini.a"
sed "s/^dsn = .*/dsn = host=127.0.0.1 port=$B_PORT user=root password=$MY_PW database=app/" \
    "$IT_DIR/cap-app.ini.a" >"$IT_DIR/cap-app.ini"
[ "$(diff "$IT_DIR/cap-app.ini.a" "$IT_DIR/cap-app.ini" | grep -c '^[<>]')" = 2 ] ||
	it_fail "the configuration changed in more than its dsn"
lines=$(wc -l <"$IT_DIR/cap-app.log")
mycap_start app
first=$(tail -n +"$((lines + 1))" "$IT_DIR/cap-app.log" | grep -m 1 "streaming from binlog" || true)
printf '%s\n' "$first" | grep -qF "streaming from binlog after GTID $before " ||
	it_fail "the first start on B did not resume after GTID $before: '$first'"

# ------------------------------------------------ capture on B, killed
workload $((SEED + 3)) 1000000 noflush b_sql_file
sleep "$($IT_PY -c "import random; print('%.2f' % random.Random($SEED + 4).uniform(0.3, 1.0))")"
kill -0 "$work" 2>/dev/null || { cat "$IT_DIR/work.log" >&2; it_fail "the workload on B stopped early"; }
mycap_kill app
mycap_start app
sleep 0.5
workload_end
final=$(b_sql "SELECT @@gtid_binlog_pos")
end=$(( $(date +%s) + 60 ))
until [ "$(stored_gtid)" = "$final" ]; do
	kill -0 "$(mycap_pid app)" 2>/dev/null ||
		{ tail -n 15 "$IT_DIR/cap-app.log" >&2; it_fail "capture died before storing GTID $final"; }
	[ "$(date +%s)" -lt "$end" ] || it_fail "capture did not store B's GTID $final in 60s (stored $(stored_gtid))"
	sleep 0.2
done
mycap_stop app
it_log "capture stored B's GTID $final"

# ------------------------------------------------------------- checks
my_replay_tables "$b_ADDR" k j c
fails=$MY_REPLAY_FAILS
[ -z "$fails" ] ||
	it_fail "app.app.{$fails } after the failover: lost, duplicated or wrong changes (SEED=$SEED)"
grep -q "rolled back" "$IT_DIR/k.dump" "$IT_DIR/j.dump" "$IT_DIR/c.dump" &&
	it_fail "rolled-back work appears (SEED=$SEED)"

# sluice.pos = the GTID's sequence number; positions never go down in a
# partition; the GTIDs after the snapshot's, each exactly once per
# transaction: every one up to B's last
$IT_PY - "$(seq_of "$snap_gtid")" "$(seq_of "$final")" "$IT_DIR/k.dump" "$IT_DIR/j.dump" \
    "$IT_DIR/c.dump" >"$IT_DIR/pos.check" 2>&1 <<'EOF' || { cat "$IT_DIR/pos.check" >&2; it_fail "positions do not follow the GTIDs (SEED=$SEED)"; }
import collections, json, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
bad, seqs, servers = [], set(), collections.Counter()
for path in sys.argv[3:]:
    last = {}
    for line in open(path):
        p, o, key, value, headers = line.rstrip("\n").split("\t")[:5]
        h = dict(kv.split("=", 1) for kv in headers.split(",") if "=" in kv)
        xy, s = h["sluice.pos"].split(":")
        x, y = xy.split("/")
        pos = (int(x, 16) << 32 | int(y, 16), int(s))
        if pos < last.get(p, (0, 0)):
            bad.append("%s %s:%s: position %s after %s" % (path, p, o, pos, last[p]))
        last[p] = pos
        if value == "NULL":
            continue
        ev = json.loads(value)
        if ev["op"] == "r":
            if pos[0] != 0:
                bad.append("%s %s:%s: snapshot row at position %s" % (path, p, o, pos))
            continue
        d, sid, n = (int(v) for v in ev["source"]["gtid"].split("-"))
        servers[sid] += 1
        seqs.add(n)
        if (d, pos[0]) != (0, n):
            bad.append("%s %s:%s: sluice.pos %s, GTID %s" % (path, p, o, h["sluice.pos"], ev["source"]["gtid"]))
missing = sorted(set(range(lo + 1, hi + 1)) - seqs)
extra = sorted(seqs - set(range(lo + 1, hi + 1)))
if missing:
    bad.append("%d GTIDs after %d in no topic: %s" % (len(missing), lo, missing[:20]))
if extra:
    bad.append("GTIDs outside %d..%d: %s" % (lo + 1, hi, extra[:20]))
if not servers[1] or not servers[2]:
    bad.append("changes by server 1 and 2 expected, got %s" % dict(servers))
for b in bad[:30]:
    print(b)
print("GTIDs %d..%d, events by server_id %s" % (lo + 1, hi, dict(servers)))
sys.exit(1 if bad else 0)
EOF
it_log "$(tail -n 1 "$IT_DIR/pos.check")"

# position = file on topics written with position = gtid: refused
sed 's/^position = gtid$/position = file/' "$IT_DIR/cap-app.ini" >"$IT_DIR/cap-file.ini"
grep -q '^position = file$' "$IT_DIR/cap-file.ini" || it_fail "no position line to change"
if timeout 30 "$SLUICE" capture -c "$IT_DIR/cap-file.ini" >"$IT_DIR/cap-file.log" 2>&1; then
	st=0
else
	st=$?
fi
if [ "$st" != 2 ] || ! grep -q 'position' "$IT_DIR/cap-file.log"; then
	cat "$IT_DIR/cap-file.log" >&2
	it_fail "position = file on gtid topics: exit $st, expected 2 and an error naming position"
fi
it_log "position = file refused: $(grep -m 1 position "$IT_DIR/cap-file.log")"
it_log "ok (SEED=$SEED)"
