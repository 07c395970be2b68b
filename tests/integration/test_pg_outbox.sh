#!/bin/sh
# test_pg_outbox.sh: the outbox event router (outbox.tables, Debezium's
# EventRouter) on PostgreSQL:
#  - an INSERT into the outbox table is one message on outbox.event.<route>,
#    keyed by aggregateid, the payload as the whole value, the row's id as
#    header "id", in commit order per key; the application's DELETE of the
#    row in the same transaction gives nothing; a rolled-back insert gives
#    nothing; a null payload is a tombstone; a route with characters a topic
#    name cannot hold gets '_' for them; an UPDATE gives nothing and a
#    warning;
#  - the outbox table has no topic of its own, and rows it held before
#    capture started are not sent (the snapshot leaves it out), while the
#    other tables are captured as usual;
#  - capture killed with SIGKILL while outbox rows stream: after a restart
#    every row is in its topic once;
#  - an outbox table without the route column stops capture naming it, and
#    outbox.tables (or signal.table) naming a table 'tables' leaves out is
#    warned about.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

pg_start
it_broker_start b
pg_sql "CREATE TABLE orders (id int PRIMARY KEY, total int);
        CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype text NOT NULL,
                             aggregateid text, type text, payload jsonb);
        INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000000', 'Order', 'o-0',
                                   'Old', '{\"old\": true}');"
cap_config app "$b_ADDR" "tables = public.*" "format = json" "outbox.tables = public.outbox"
cap_start app
grep -q 'table public.outbox is an outbox: its inserts go to outbox.event.{route}' "$IT_DIR/cap-app.log" ||
	{ cat "$IT_DIR/cap-app.log" >&2; it_fail "capture did not say public.outbox is an outbox"; }
pg_sql "BEGIN;
        INSERT INTO orders VALUES (1, 10);
        INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000001', 'Order', 'o-1',
                                   'OrderCreated', '{\"id\": 1, \"total\": 10}');
        DELETE FROM outbox WHERE aggregateid = 'o-1';
        COMMIT;
        BEGIN;
        INSERT INTO outbox VALUES ('00000000-0000-0000-0000-0000000000ff', 'Order', 'o-9',
                                   'RolledBack', '{\"rolled\": \"back\"}');
        ROLLBACK;
        INSERT INTO outbox VALUES
            ('00000000-0000-0000-0000-000000000002', 'Customer', 'c-1', 'CustomerCreated', '{\"name\": \"Ann\"}'),
            ('00000000-0000-0000-0000-000000000003', 'Order', 'o-1', 'OrderPaid', '{\"id\": 1, \"paid\": true}'),
            ('00000000-0000-0000-0000-000000000004', 'Pay ment/é', 'p-1', 'Gone', NULL);
        UPDATE outbox SET type = 'Changed' WHERE aggregateid = 'c-1';"
cap_wait_caught_up sluice_app 60

cap_dump "$b_ADDR" outbox.event.Order "$IT_DIR/order.dump"
[ "$(wc -l <"$IT_DIR/order.dump")" = 2 ] || { cat "$IT_DIR/order.dump" >&2; it_fail "outbox.event.Order does not hold 2 messages"; }
head -n 1 "$IT_DIR/order.dump" | cut -f3,4 | grep -qx 'o-1	{"id": 1, "total": 10}' ||
	{ cat "$IT_DIR/order.dump" >&2; it_fail "the first Order message is not key o-1 with its payload"; }
sed -n 2p "$IT_DIR/order.dump" | cut -f3,4 | grep -qx 'o-1	{"id": 1, "paid": true}' ||
	{ cat "$IT_DIR/order.dump" >&2; it_fail "the second Order message is not key o-1 with its payload, after the first"; }
grep -q 'id=00000000-0000-0000-0000-000000000001' "$IT_DIR/order.dump" ||
	it_fail "the Order message has no header id with the row's id"
[ "$(cut -f1 "$IT_DIR/order.dump" | sort -u | wc -l)" = 1 ] || it_fail "the messages of key o-1 are in two partitions"
grep -q 'RolledBack\|"old"' "$IT_DIR/order.dump" && it_fail "a rolled-back or pre-existing outbox row was sent"
cap_dump "$b_ADDR" outbox.event.Customer "$IT_DIR/customer.dump"
cut -f3,4 "$IT_DIR/customer.dump" | grep -qx 'c-1	{"name": "Ann"}' ||
	{ cat "$IT_DIR/customer.dump" >&2; it_fail "outbox.event.Customer does not hold the customer's event"; }
[ "$(wc -l <"$IT_DIR/customer.dump")" = 1 ] || it_fail "the UPDATE of an outbox row gave a message"
cap_dump "$b_ADDR" outbox.event.Pay_ment__ "$IT_DIR/pay.dump"
cut -f3,4 "$IT_DIR/pay.dump" | grep -qx 'p-1	NULL' ||
	{ cat "$IT_DIR/pay.dump" >&2; it_fail "a null payload is not a tombstone in outbox.event.Pay_ment__"; }
grep -q "WARN .*outbox table public.outbox: an UPDATE at LSN .* gives no event" "$IT_DIR/cap-app.log" ||
	it_fail "no warning about the UPDATE of an outbox row"
kcat -b "$b_ADDR" -L 2>/dev/null | grep -o 'topic "[^"]*"' >"$IT_DIR/topics.txt"
grep -q '"app.public.outbox"' "$IT_DIR/topics.txt" && it_fail "the outbox table got a topic of its own"
cap_dump "$b_ADDR" app.public.orders "$IT_DIR/orders.dump"
grep -q '"total":10' "$IT_DIR/orders.dump" || it_fail "the order written with the outbox row is not in app.public.orders"

# SIGKILL while outbox rows stream (one transaction each), then a restart
seq 1 300 | awk '{ printf "INSERT INTO outbox VALUES (gen_random_uuid(), '"'"'Bulk'"'"', '"'"'b-%d'"'"', '"'"'E'"'"', '"'"'{\"n\": %d}'"'"');\nSELECT pg_sleep(0.02);\n", $1 % 7, $1 }' \
    >"$IT_DIR/bulk.sql"
"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d app -v ON_ERROR_STOP=1 -q \
    -f "$IT_DIR/bulk.sql" >/dev/null &
writer=$!
it_wait 30 "80 Bulk rows written" sh -c "[ \$(\"$PG_BIN/psql\" -h '$PG_SOCK' -p '$PG_PORT' -U postgres -d app -Atqc \"SELECT count(*) FROM outbox WHERE aggregatetype = 'Bulk'\") -ge 80 ]"
cap_kill app
it_log "killed capture with $(kcat -b "$b_ADDR" -C -t outbox.event.Bulk -e -q -f '%o\n' 2>/dev/null | wc -l) Bulk messages in the topic"
wait "$writer" || it_fail "the bulk writer failed"
cap_start app
cap_wait_caught_up sluice_app 60
it_log "after the restart: $(grep 'streaming from slot' "$IT_DIR/cap-app.log" | tail -n 1 | cut -c1-120)"
cap_dump "$b_ADDR" outbox.event.Bulk "$IT_DIR/bulk.dump"
n=$(wc -l <"$IT_DIR/bulk.dump")
u=$(cut -f4 "$IT_DIR/bulk.dump" | sort -u | wc -l)
[ "$n" = 300 ] && [ "$u" = 300 ] ||
	it_fail "after the SIGKILL outbox.event.Bulk holds $n messages ($u distinct), not 300 once each"
# per key, in insert order
cut -f3,4 "$IT_DIR/bulk.dump" | sed 's/{"n": \([0-9]*\)}/\1/' | awk -F '\t' '
    ($1 in last) && $2 <= last[$1] { bad = 1 } { last[$1] = $2 } END { exit bad }' ||
	it_fail "the messages of one key in outbox.event.Bulk are out of order"
cap_stop app
it_log "second run: $(grep 'stopped:' "$IT_DIR/cap-app.log" | tail -n 1 | sed 's/.*stopped: //')"

# an outbox table without the route column
pg_sql "CREATE TABLE ob2 (id int PRIMARY KEY, kind text, payload text)"
cap_config nort "$b_ADDR" "tables = public.ob2" "outbox.tables = public.ob2" "snapshot = never"
cap_start nort
pg_sql "INSERT INTO ob2 VALUES (1, 'k', 'x')"
it_wait 30 "capture nort to stop" sh -c "! kill -0 $(cap_pid nort) 2>/dev/null"
grep -q "outbox table public.ob2 has no column 'aggregatetype' (outbox.route_column)" "$IT_DIR/cap-nort.log" ||
	{ tail -n 5 "$IT_DIR/cap-nort.log" >&2; it_fail "the missing route column is not named"; }
# outbox.tables naming a table 'tables' leaves out: said at start
cap_config miss "$b_ADDR" "tables = public.orders" "outbox.tables = public.outbox" "snapshot = never" \
    "signal.table = public.sluice_signal"
cap_start miss
grep -q "WARN .*outbox.tables (public.outbox) matches none of the tables captured" "$IT_DIR/cap-miss.log" ||
	{ tail -n 5 "$IT_DIR/cap-miss.log" >&2; it_fail "no warning that the outbox table is not captured"; }
grep -q "WARN .*signal.table (public.sluice_signal) is none of the tables captured" "$IT_DIR/cap-miss.log" ||
	{ tail -n 5 "$IT_DIR/cap-miss.log" >&2; it_fail "no warning that the signal table is not captured"; }
cap_stop miss
it_log "outbox: ok"
