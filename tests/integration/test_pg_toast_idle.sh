#!/bin/sh
# test_pg_toast_idle.sh: (1) updating another column of a row holding a 1 MB
# text value yields the explicit "unchanged" marker for that value (in the
# JSON envelope Debezium's unavailable-value placeholder, never null or the
# old text); (2) while the captured tables are idle and another table is
# written, the slot's confirmed_flush_lsn advances past those writes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE doc (id int PRIMARY KEY, body text, n int);
        CREATE TABLE other (id serial, v text);"
cap_config app "$b_ADDR" "tables = public.doc" "format = json" "topic.partitions = 1"
cap_start app

# 1 MB of incompressible text: stored out of line (TOAST)
pg_sql "INSERT INTO doc SELECT 1, string_agg(md5(random()::text), '') , 0 FROM generate_series(1, 32768)"
pg_sql "UPDATE doc SET n = 1 WHERE id = 1"
cap_wait_caught_up sluice_app 60
cap_dump "$b_ADDR" app.public.doc "$IT_DIR/doc.dump"
[ "$(wc -l <"$IT_DIR/doc.dump")" -eq 2 ] || it_fail "expected 2 events on app.public.doc"
tail -n 1 "$IT_DIR/doc.dump" | cut -f4 | $IT_PY -c '
import json, sys
ev = json.loads(sys.stdin.read())
assert ev["op"] == "u", ev["op"]
after = ev["after"]
assert after["n"] == 1, after
assert after["body"] == "__debezium_unavailable_value", "body is %r" % (after["body"][:40] if after["body"] else after["body"])
' || it_fail "the unchanged TOASTed value is not marked unchanged"
head -n 1 "$IT_DIR/doc.dump" | cut -f4 | $IT_PY -c '
import json, sys
ev = json.loads(sys.stdin.read())
assert len(ev["after"]["body"]) == 1048576, len(ev["after"]["body"])
' || it_fail "the insert does not carry the full 1 MB value"

# (2) idle captured tables, busy other table
before=$(pg_slot_flush sluice_app)
pg_sql "INSERT INTO other (v) SELECT md5(i::text) FROM generate_series(1, 20000) i"
target=$(pg_sql "SELECT (pg_current_wal_lsn() - '0/0')::bigint")
end=$(( $(date +%s) + 30 ))
while :; do
	now=$(pg_slot_flush sluice_app)
	[ "$now" -ge "$target" ] && break
	[ "$(date +%s)" -lt "$end" ] ||
		it_fail "confirmed_flush_lsn stayed at $now (before $before, WAL at $target) while only other tables were written"
	sleep 0.2
done
it_log "idle slot advanced from $before to $now (target $target)"
cap_stop app
