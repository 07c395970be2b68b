# tests/integration/views_lib.sh: helpers for the view tests.
#
# Sourced after lib.sh and pg_lib.sh.  view_config writes a configuration
# with a source and views; mat_start / mat_kill / mat_stop run `sluice
# materialize` by PID (log in $IT_DIR/mat.log); view_equal compares a view
# with its table through tests/integration/view_compare.py.

# view_stack_start: PostgreSQL, broker b and the tables of view_schema_sql.
view_stack_start() {
	pg_start
	it_broker_start b
	view_schema_sql >"$IT_DIR/schema.sql"
	pg_sql "$(cat "$IT_DIR/schema.sql")"
}

# view_source BROKER_ADDR TABLES FORMAT: print the [source "app"] section
# the view tests share (topic prefix app, 3 partitions, short intervals).
view_source() {
	echo "[source \"app\"]"
	echo "type = postgres"
	echo "dsn = $PG_DSN"
	echo "bootstrap = $1"
	echo "tables = $2"
	echo "topic_prefix = app"
	echo "format = $3"
	echo "heartbeat = 1s"
	echo "status_interval = 200ms"
	echo "spool_dir = $IT_DIR/spool"
	echo "topic.partitions = 3"
}

# view_config BROKER_ADDR FORMAT: $IT_DIR/sluice.ini with [source "app"]
# (tables public.*) and the views users (index by_email) and items.
view_config() {
	addr=$1
	fmt=$2
	VIEW_HTTP=$(it_free_port)
	{
		view_source "$addr" "public.*" "$fmt"
		echo "[view \"users\"]"
		echo "topics = app.public.users"
		echo "path = $IT_DIR/views/users"
		echo "format = $fmt"
		echo "index.by_email = email"
		echo "bootstrap = $addr"
		echo "batch_ms = 20"
		echo "http = 127.0.0.1:$VIEW_HTTP"
		echo "consumer.session.timeout.ms = 6000"
		echo "consumer.heartbeat.interval.ms = 500"
		echo "[view \"items\"]"
		echo "topics = app.public.items"
		echo "path = $IT_DIR/views/items"
		echo "format = $fmt"
		echo "bootstrap = $addr"
		echo "consumer.session.timeout.ms = 6000"
		echo "consumer.heartbeat.interval.ms = 500"
	} >"$IT_DIR/sluice.ini"
	# capture reads only its own section keys; give it the same file
	cp "$IT_DIR/sluice.ini" "$IT_DIR/cap-app.ini"
}

# mat_start [ARGS...]: `sluice materialize -c $IT_DIR/sluice.ini ARGS` in the background.
mat_start() {
	MAT_LINES=$(( $( (cat "$IT_DIR/mat.log" 2>/dev/null || true) | wc -l) + 1 ))
	"$SLUICE" materialize -c "$IT_DIR/sluice.ini" "$@" >>"$IT_DIR/mat.log" 2>&1 &
	MAT_PID=$!
	it_track "$MAT_PID"
}

# mat_wait_assigned SECONDS: until the running materializer got partitions
# of both views since it started.
mat_wait_assigned() {
	end=$(( $(date +%s) + $1 ))
	while [ "$(tail -n +"$MAT_LINES" "$IT_DIR/mat.log" | grep -c "assigned app.public")" -lt 6 ]; do
		kill -0 "$MAT_PID" 2>/dev/null || { tail -5 "$IT_DIR/mat.log" >&2; it_fail "materialize died"; }
		[ "$(date +%s)" -lt "$end" ] || it_fail "materialize got no partitions in $1 s"
		sleep 0.1
	done
}

mat_kill() {
	kill -KILL "$MAT_PID" 2>/dev/null || true
	while kill -0 "$MAT_PID" 2>/dev/null; do sleep 0.05; done
	wait "$MAT_PID" 2>/dev/null || true
}

mat_stop() {
	it_term "$MAT_PID" materialize 30 || return 0
	wait "$MAT_PID" 2>/dev/null || true
}

# view_equal VIEW TABLE ORDER_BY: succeed when the view equals the table.
view_equal() {
	"$SLUICE" view -c "$IT_DIR/sluice.ini" scan "$1" >"$IT_DIR/$1.view" 2>"$IT_DIR/$1.view.err" || return 1
	"$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d app -X -q -A -t \
	    -F "$(printf '\037')" -R "$(printf '\036')" -P null='<NULL>' \
	    -c "SET extra_float_digits = 1; SET DateStyle = ISO; SET TimeZone = UTC;
	        SET IntervalStyle = postgres; SET bytea_output = hex;
	        SELECT * FROM $2 ORDER BY $3" >"$IT_DIR/$1.table" || return 1
	$IT_PY "$(dirname "$0")/view_compare.py" "$IT_DIR/$1.view" "$IT_DIR/$1.table" >"$IT_DIR/$1.diff"
}

# view_wait_equal VIEW TABLE ORDER_BY SECONDS
view_wait_equal() {
	end=$(( $(date +%s) + $4 ))
	until view_equal "$1" "$2" "$3"; do
		if [ "$(date +%s)" -ge "$end" ]; then
			cat "$IT_DIR/$1.diff" "$IT_DIR/$1.view.err" >&2
			tail -n 20 "$IT_DIR/mat.log" >&2
			it_fail "view $1 does not equal table $2 after $4 s"
		fi
		sleep 0.5
	done
	it_log "view $1 equals table $2 ($(cat "$IT_DIR/$1.diff"))"
}

# The SQL of one random workload transaction on users and items.
view_workload_sql() {
	cat <<'EOF'
BEGIN;
INSERT INTO users (id, name, email, score, active, born, seen, balance, photo, uid, prefs, tags, bio)
SELECT i, 'user ' || i, 'e' || (i % 17) || '@x', random() * 1000, i % 2 = 0,
       date '2000-01-01' + (i % 5000), now() - (i || ' seconds')::interval,
       round((random() * 10000)::numeric, 3), decode(md5(i::text), 'hex'),
       md5(i::text)::uuid, jsonb_build_object('k', i, 'n', 'v' || i), ARRAY[i, i + 1, NULL],
       CASE WHEN i % 5 = 0 THEN (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 150)) ELSE 'short' END
FROM (SELECT DISTINCT (random() * 400)::int AS i FROM generate_series(1, 6)) s
ON CONFLICT (id) DO UPDATE SET name = excluded.name || ' again', score = excluded.score;
UPDATE users SET email = 'e' || (random() * 17)::int || '@x', active = NOT active
WHERE id IN (SELECT (random() * 400)::int FROM generate_series(1, 4));
UPDATE users SET seen = seen + interval '1 hour' WHERE id IN (SELECT (random() * 400)::int FROM generate_series(1, 4));
DELETE FROM users WHERE id IN (SELECT (random() * 400)::int FROM generate_series(1, 2));
INSERT INTO items (sku, title, price) SELECT s, 'title ' || random(), random() * 100 FROM (SELECT DISTINCT 'sku-' || (random() * 300)::int AS s
FROM generate_series(1, 4)) q ON CONFLICT (sku) DO UPDATE SET price = excluded.price;
DELETE FROM items WHERE sku = 'sku-' || (random() * 300)::int;
COMMIT;
EOF
}

view_schema_sql() {
	cat <<'EOF'
CREATE TABLE users (id bigint PRIMARY KEY, name text, email varchar(64), score float8,
  active bool, born date, seen timestamptz, balance numeric(12,3), photo bytea, uid uuid,
  prefs jsonb, tags int[], bio text);
CREATE TABLE items (sku text PRIMARY KEY, title text, price real);
EOF
}

# view_settle WHAT VIEW PARTITIONS DIFF CHECK...: capture caught up, then
# `sluice status` on $IT_DIR/sluice.ini says VIEW (over PARTITIONS
# partitions) is 0 messages behind, then CHECK... succeeds (writing what
# it found to DIFF), each within a deadline; fails naming WHAT otherwise.
view_settle() {
	_what=$1 _view=$2 _parts=$3 _diff=$4
	shift 4
	cap_wait_caught_up sluice_app 60
	_end=$(( $(date +%s) + 60 ))
	until "$SLUICE" status -c "$IT_DIR/sluice.ini" --timeout 3000 >"$IT_DIR/status.out" 2>&1
	      grep -q "^view    $_view: .*: $_parts partitions, 0 messages behind" "$IT_DIR/status.out"; do
		[ "$(date +%s)" -lt "$_end" ] || { cat "$IT_DIR/status.out" >&2
			tail -n 20 "$IT_DIR/mat.log" >&2
			it_fail "$_what: sluice status does not say view $_view is 0 messages behind"; }
		sleep 0.3
	done
	_end=$(( $(date +%s) + 10 ))
	until "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || { cat "$_diff" >&2; tail -n 20 "$IT_DIR/mat.log" >&2
			it_fail "$_what: view $_view does not hold the tables"; }
		sleep 0.3
	done
}

# mat_kill_during MIN WORKLOAD_FN: run the SQL WORKLOAD_FN prints again and
# again (at least MIN transactions) while `sluice materialize` is killed
# with SIGKILL at a random moment (0.2-0.9 s in) and started again.
mat_kill_during() {
	_min=$1 _fn=$2
	rm -f "$IT_DIR/work.stop"
	(
		n=0
		while [ ! -f "$IT_DIR/work.stop" ] || [ $n -lt "$_min" ]; do
			pg_sql "$($_fn)" >/dev/null || exit 1
			n=$((n + 1))
		done
		echo "$n" >"$IT_DIR/work.count"
	) &
	_work=$!
	it_track "$_work"
	sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 8 + 2 ))"
	mat_kill
	it_log "materialize killed (SIGKILL) mid-workload"
	mat_start
	touch "$IT_DIR/work.stop"
	wait "$_work" || it_fail "the workload failed"
	it_log "$(cat "$IT_DIR/work.count") workload transactions around the kill"
}
