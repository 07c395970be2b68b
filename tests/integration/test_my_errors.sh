#!/bin/sh
# test_my_errors.sh: capture's refusals on a MariaDB 10.11 source say
# exactly what is wrong, with the documented exit status.
#  - an unknown key in the [source] section: exit 2, the file and line;
#  - binlog_format STATEMENT (set globally) or MIXED (the server started
#    with it): exit 3, the message names binlog_format and ROW;
#  - binlog_row_metadata MINIMAL: names binlog_row_metadata and FULL;
#  - binlog_row_image MINIMAL: names binlog_row_image;
#  - a user without the REPLICATION SLAVE privilege: names it;
#  - a stored position whose binlog file was purged meanwhile: exit 3,
#    says "purged" and how to snapshot again, and produces nothing of the
#    changes after the gap (it must not silently skip them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"

my_start
it_broker_start b
my_sql "CREATE TABLE t (id int PRIMARY KEY, v varchar(40));
        CREATE USER norep@'%' IDENTIFIED BY 'pw';
        GRANT SELECT, RELOAD, BINLOG MONITOR, REPLICATION CLIENT ON *.* TO norep@'%';"
mycap_config app "$b_ADDR" "tables = app.t" "format = json"

# expect_fail NAME STATUS PATTERN...: run capture on $IT_DIR/cap-NAME.ini
# (when missing: cap-app.ini with the source renamed NAME, so that no run
# shares topics with another) in the foreground; it must exit STATUS within
# 30 s and its output contain every PATTERN (grep -E) on a line that starts
# with "sluice: ".
expect_fail() {
	n=$1
	want=$2
	shift 2
	[ -f "$IT_DIR/cap-$n.ini" ] ||
		sed "s/^\[source \"app\"\]/[source \"$n\"]/" "$IT_DIR/cap-app.ini" >"$IT_DIR/cap-$n.ini"
	set +e
	timeout 30 "$SLUICE" capture -c "$IT_DIR/cap-$n.ini" >"$IT_DIR/$n.out" 2>&1
	rc=$?
	set -e
	[ "$rc" -ne 124 ] || { tail -n 5 "$IT_DIR/$n.out" >&2; it_fail "$n: capture still ran after 30s"; }
	[ "$rc" -eq "$want" ] || { tail -n 10 "$IT_DIR/$n.out" >&2; it_fail "$n: capture exited $rc, not $want"; }
	grep -q "^sluice: " "$IT_DIR/$n.out" || { cat "$IT_DIR/$n.out" >&2; it_fail "$n: no 'sluice: ' message"; }
	for pat in "$@"; do
		grep "^sluice: " "$IT_DIR/$n.out" | grep -qE -- "$pat" || {
			cat "$IT_DIR/$n.out" >&2
			it_fail "$n: the error does not say '$pat'"
		}
	done
	it_log "$n: exit $rc: $(grep '^sluice: ' "$IT_DIR/$n.out" | head -n 1 | cut -c1-200)"
}

# a configuration error: the unknown key is on line 5 of the file
{
	echo "[source \"app\"]"
	echo "type = mysql"
	echo "dsn = $MY_DSN"
	echo "tables = app.t"
	echo "no_such_key = 1"
	echo "bootstrap = $b_ADDR"
} >"$IT_DIR/cap-badkey.ini"
expect_fail badkey 2 "cap-badkey\.ini:5" "no_such_key"

# the replication privilege
sed "s/user=root password=$MY_PW/user=norep password=pw/; s/^\[source \"app\"\]/[source \"norep\"]/" \
    "$IT_DIR/cap-app.ini" >"$IT_DIR/cap-norep.ini"
grep -q "user=norep" "$IT_DIR/cap-norep.ini" || it_fail "could not write cap-norep.ini"
expect_fail norep 3 "REPLICATION SLAVE"

# the server's binlog settings, changed at run time
my_sql "SET GLOBAL binlog_format = 'STATEMENT'"
expect_fail statement 3 "binlog_format" "ROW"
my_sql "SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_metadata = 'MINIMAL'"
expect_fail metadata 3 "binlog_row_metadata" "FULL"
my_sql "SET GLOBAL binlog_row_metadata = 'FULL'; SET GLOBAL binlog_row_image = 'MINIMAL'"
expect_fail image 3 "binlog_row_image"
my_sql "SET GLOBAL binlog_row_image = 'FULL'"

# ... and given at the server's start
my_stop
my_start --binlog-format=MIXED
[ "$(my_sql "SELECT @@global.binlog_format")" = MIXED ] || it_fail "the server did not start with binlog_format MIXED"
expect_fail mixed 3 "binlog_format" "ROW"
my_stop
my_start
[ "$(my_sql "SELECT @@global.binlog_format")" = ROW ] || it_fail "the server did not restart with binlog_format ROW"

# A purged position: stream, stop cleanly, write, rotate twice, purge the
# file capture stopped in, restart.
mycap_start app
my_sql "INSERT INTO t VALUES (1, 'before the stop')"
mycap_wait_caught_up app 60
mycap_stop app
stored=$(mycap_stored_pos app)
my_sql "INSERT INTO t VALUES (2, 'after the gap')"
my_sql "FLUSH BINARY LOGS"
my_sql "FLUSH BINARY LOGS"
newest=$(my_master_status | cut -f 1)
# The server keeps a file while a dump thread (capture's, ending) reads it
# or until its binlog checkpoint is written: retry for up to 15 s.
i=0
while :; do
	warn=$(my_sql "PURGE BINARY LOGS TO '$newest'; SHOW WARNINGS")
	first=$(my_sql "SHOW BINARY LOGS" | head -n 1 | cut -f 1)
	[ "$first" != "$newest" ] || break
	i=$((i + 1))
	[ $i -lt 75 ] || it_fail "PURGE BINARY LOGS TO '$newest' left $first: $warn"
	sleep 0.2
done
it_log "stored position $(printf '%s' "$stored" | tr '\t' ' '), binlogs now start at $first"
cp "$IT_DIR/cap-app.ini" "$IT_DIR/cap-purged.ini"	# the same source, not a new one
expect_fail purged 3 "purged" "snapshot"
kcat -C -b "$b_ADDR" -t app.app.t -o beginning -e -q -f '%s\n' 2>/dev/null | grep -q "after the gap" &&
	it_fail "a change after the gap was produced"
[ "$(mycap_stored_pos app)" = "$stored" ] || it_fail "the stored position moved: $(mycap_stored_pos app)"
it_log "ok"
