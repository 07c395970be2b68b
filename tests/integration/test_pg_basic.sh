#!/bin/sh
# test_pg_basic.sh: inserts, updates (one changing the primary key),
# deletes, a truncate, multi-statement transactions, a rollback and a
# rolled-back savepoint on two tables of a real PostgreSQL 15 reach their
# topics through `sluice capture` (format json) so that replaying each
# topic gives the table back row for row; rolled-back work never appears;
# deletes are followed by tombstones; BEGIN/END go to app.transaction and a
# pg_logical_emit_message to app.messages keyed by its prefix (table b has
# REPLICA IDENTITY FULL: its key is still the primary key); and the
# slot's confirmed_flush_lsn catches up with the server; /metrics and
# /health answer on the source's http port.  The producer's queue holds 8
# messages, so capture waits for room again and again (counted in
# /metrics) and none of it may be lost or reordered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE a (id int PRIMARY KEY, v text, n int);
        CREATE TABLE b (id bigint PRIMARY KEY, name text, flag bool);
        ALTER TABLE b REPLICA IDENTITY FULL;
        CREATE TABLE other (id int);
        INSERT INTO a SELECT i, 'snap' || i, i FROM generate_series(1, 50) i;"

HTTP=$(it_free_port)
cap_config app "$b_ADDR" "tables = public.a, public.b" "format = json" \
    "json.decimal_handling = string" "topic.partitions = 3" "http = 127.0.0.1:$HTTP" \
    "transaction.topic = true" "producer.queue.buffering.max.messages = 8"
cap_start app

pg_sql "INSERT INTO a VALUES (100, 'x', 1), (101, 'y', 2), (102, 'z', 3);
        INSERT INTO b SELECT i, 'name' || i, i % 2 = 0 FROM generate_series(1, 20) i;"
pg_sql "UPDATE a SET v = 'x2', n = n + 10 WHERE id = 100"
pg_sql "UPDATE a SET id = 200 WHERE id = 101"
pg_sql "DELETE FROM a WHERE id IN (102, 3, 4)"
pg_sql "BEGIN; INSERT INTO a VALUES (300, 'multi', 0); UPDATE b SET name = 'in-txn' WHERE id = 5;
        DELETE FROM b WHERE id = 6; COMMIT;"
pg_sql "BEGIN; INSERT INTO a VALUES (400, 'rolled back', 0); UPDATE b SET name = 'never' WHERE id = 7; ROLLBACK;"
pg_sql "BEGIN; INSERT INTO a VALUES (500, 'kept', 0); SAVEPOINT s1;
        INSERT INTO a VALUES (501, 'savepoint rolled back', 0); UPDATE a SET v = 'never' WHERE id = 500;
        ROLLBACK TO s1; UPDATE a SET v = 'kept2' WHERE id = 500; COMMIT;"
pg_sql "SELECT pg_logical_emit_message(true, 'outbox', '{\"order\": 1}')" >/dev/null
pg_sql "TRUNCATE b"
pg_sql "INSERT INTO b VALUES (1000, 'after truncate', true)"
pg_sql "INSERT INTO other SELECT generate_series(1, 1000)"
cap_wait_caught_up sluice_app 60

for t in a b; do
	cap_dump "$b_ADDR" "app.public.$t" "$IT_DIR/$t.dump"
	pg_sql "SELECT coalesce(json_agg(t), '[]') FROM $t t" >"$IT_DIR/$t.want"
	$IT_PY "$(dirname "$0")/pg_replay.py" "$IT_DIR/$t.dump" "$IT_DIR/$t.want" --no-dups ||
		it_fail "replaying app.public.$t does not give table $t back"
done

grep -q "rolled back\|never" "$IT_DIR/a.dump" "$IT_DIR/b.dump" &&
	it_fail "rolled-back work appears in a topic"
# a delete is followed by its tombstone, same key
awk -F '\t' '$4 ~ /"op":"d"/ { k[$1] = $3; next }
	$1 in k { if ($4 != "NULL" || $3 != k[$1]) bad = 1; delete k[$1] }
	END { exit bad }' "$IT_DIR/a.dump" || it_fail "a delete is not followed by its tombstone"
grep -c '"op":"r"' "$IT_DIR/a.dump" | grep -qx 50 || it_fail "the 50 snapshot rows are not there as op r"

cap_dump "$b_ADDR" app.transaction "$IT_DIR/tx.dump"
begins=$(grep -c '"BEGIN"' "$IT_DIR/tx.dump" || true)
ends=$(grep -c '"END"' "$IT_DIR/tx.dump" || true)
[ "$begins" -ge 9 ] && [ "$begins" -eq "$ends" ] ||
	it_fail "app.transaction has $begins BEGIN and $ends END events"

cap_dump "$b_ADDR" app.messages "$IT_DIR/msg.dump"
awk -F '\t' '$3 == "outbox"' "$IT_DIR/msg.dump" | grep -q . ||
	it_fail "the logical message is not in app.messages under key outbox"

curl -sf "http://127.0.0.1:$HTTP/health" | grep -qx ok || it_fail "/health is not ok"
curl -sf "http://127.0.0.1:$HTTP/metrics" >"$IT_DIR/metrics.txt" || it_fail "/metrics failed"
grep -q '^sluice_capture_snapshot_rows_total{source="app"} 50$' "$IT_DIR/metrics.txt" ||
	it_fail "/metrics lacks the snapshot row count"
awk '/^sluice_capture_messages_acked_total/ { exit !($2 > 100) }' "$IT_DIR/metrics.txt" ||
	it_fail "/metrics does not count acknowledged messages"
awk '/^sluice_capture_producer_queue_full_waits_total/ { exit !($2 > 0) }' "$IT_DIR/metrics.txt" ||
	it_fail "/metrics does not count the waits for room in the 8-message producer queue"
cap_stop app
grep -q "stopped:" "$IT_DIR/cap-app.log" || it_fail "capture did not stop cleanly"
it_log "ok"
