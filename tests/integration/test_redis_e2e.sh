#!/bin/sh
# test_redis_e2e.sh: PostgreSQL -> sluice capture (protobuf) -> sluice broker
# -> sluice materialize -> a redis view, in a redis-server of its own.
# Two tables: users (one-column key; bio STORAGE EXTERNAL, 110 kB when id
# is a multiple of 37) and items (composite key shop, sku).  A random
# workload of inserts, updates, updates of only the score of rows with a
# 110 kB bio (capture sends the unchanged marker: the hash keeps its bio),
# columns set to NULL and back, key changes, deletes, a truncate of items
# and new inserts, and a rolled-back transaction runs while `sluice
# materialize` is killed with SIGKILL once and restarted.  Once it settles
# (`sluice status`: 0 messages behind) every table row is the hash
# cache:<schema.table>:<key> with exactly its non-NULL columns as
# PostgreSQL prints them and __pos, no other key exists, and
# cache:__offsets holds each partition's end (redis_compare.py).
# `--rebuild` swaps in a view that compares the same while the live
# materializer and the workload run on and readers never miss a key;
# cache:__gen goes up by one and no cache:__rebuild:* key is left.
# `sluice view` of a redis view exits 2; path, index.* and tokenize in a
# redis view are configuration errors (exit 2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

INI="$IT_DIR/sluice.ini"
HERE=$(dirname "$0")

# ------------------------------------------------------------- redis

# redis_start: a redis-server on a free port, no persistence, files in
# $IT_DIR/redis; stopped by its PID on exit (it_track).
redis_start() {
	mkdir -p "$IT_DIR/redis"
	REDIS_PORT=$(it_free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	    --dir "$IT_DIR/redis" --daemonize no >"$IT_DIR/redis/redis.log" 2>&1 &
	REDIS_PID=$!
	echo "$REDIS_PID" >"$IT_DIR/redis/redis.pid"
	it_track "$REDIS_PID"
	it_wait 20 "redis-server on port $REDIS_PORT answers PING" rcli_is PONG ping
	it_log "redis-server up: pid $REDIS_PID port $REDIS_PORT"
}

# redis_stop: SIGTERM by PID and wait.
redis_stop() {
	kill -TERM "$REDIS_PID" 2>/dev/null || return 0
	while kill -0 "$REDIS_PID" 2>/dev/null; do sleep 0.05; done
	wait "$REDIS_PID" 2>/dev/null || true
}

# rcli ARGS...: redis-cli on the test's server (raw replies).
rcli() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --raw "$@"
}

# rcli_is WANT ARGS...: succeed when the reply is WANT.
rcli_is() {
	want=$1
	shift
	[ "$(rcli "$@" 2>/dev/null)" = "$want" ]
}

# ------------------------------------------------------------- tables

# users: bio is STORAGE EXTERNAL, so every bio past ~2 kB is stored out of
# line uncompressed; mkbio gives 110 kB more when id is a multiple of 37.
redis_schema_sql() {
	cat <<'EOF'
CREATE TABLE users (id int PRIMARY KEY, name text, email text, bio text, score numeric,
  active boolean, tags text[]);
ALTER TABLE users ALTER COLUMN bio SET STORAGE EXTERNAL;
CREATE TABLE items (shop text, sku int, price numeric, PRIMARY KEY (shop, sku));
CREATE FUNCTION w() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT (ARRAY['alpha', 'beta', 'gamma', 'delta', 'omega'])[1 + floor(random() * 5)::int] $$;
CREATE FUNCTION big() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT string_agg(md5(random()::text), ' ') FROM generate_series(1, 3400) $$;
CREATE FUNCTION mkname() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT CASE WHEN random() < 0.1 THEN NULL ELSE 'user ' || w() END $$;
CREATE FUNCTION mkemail(i int) RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT CASE WHEN random() < 0.15 THEN NULL WHEN random() < 0.05 THEN ''
                 ELSE 'u' || i || '.' || w() || '@example.org' END $$;
CREATE FUNCTION mkbio(i int) RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT 'bio of ' || i || ' ' || md5(random()::text) ||
            CASE WHEN i % 37 = 0 THEN ' ' || big() ELSE '' END $$;
CREATE FUNCTION mktags(i int) RETURNS text[] LANGUAGE sql VOLATILE AS
  $$ SELECT CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN '{}'::text[] WHEN 2 THEN ARRAY[w(), 'n' || i]
                 WHEN 3 THEN ARRAY['a b', 'c"d', NULL] ELSE ARRAY[w()] END $$;
CREATE FUNCTION mkscore() RETURNS numeric LANGUAGE sql VOLATILE AS
  $$ SELECT CASE WHEN random() < 0.05 THEN NULL ELSE round((random() * 2000 - 1000)::numeric, 2) END $$;
CREATE FUNCTION shop() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT (ARRAY['north', 'south', 'east west'])[1 + floor(random() * 3)::int] $$;
EOF
}

# One random workload transaction on users 1..300 and items (3 shops x 50 skus).
redis_workload_sql() {
	cat <<'EOF'
BEGIN;
INSERT INTO users SELECT i, mkname(), mkemail(i), mkbio(i), mkscore(), random() < 0.5, mktags(i)
FROM (SELECT DISTINCT (1 + random() * 299)::int AS i FROM generate_series(1, 5)) s
ON CONFLICT (id) DO UPDATE SET name = excluded.name, bio = excluded.bio, active = excluded.active;
UPDATE users SET email = mkemail(id), tags = mktags(id + (random() * 4)::int)
WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 3));
UPDATE users SET name = NULL, active = NULL WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 1));
UPDATE users SET score = mkscore() WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 3));
UPDATE users SET score = coalesce(score, 0) + 0.5 WHERE id IN (SELECT 37 * (1 + (random() * 7)::int) FROM generate_series(1, 2));
DELETE FROM users WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 2));
INSERT INTO items SELECT s, k, round((random() * 100)::numeric, 2)
FROM (SELECT DISTINCT shop() AS s, (random() * 49)::int AS k FROM generate_series(1, 4)) q
ON CONFLICT (shop, sku) DO UPDATE SET price = excluded.price;
UPDATE items SET price = NULL WHERE (shop, sku) IN (SELECT shop(), (random() * 49)::int FROM generate_series(1, 2));
DELETE FROM items WHERE (shop, sku) IN (SELECT shop(), (random() * 49)::int FROM generate_series(1, 2));
COMMIT;
EOF
}

redis_config() {
	{
		view_source "$1" "public.users, public.items" protobuf
		echo "[view \"cache\"]"
		echo "type = redis"
		echo "topics = app.public.users, app.public.items"
		echo "redis = 127.0.0.1:$REDIS_PORT"
		echo "key_prefix = cache:"
		echo "format = protobuf"
		echo "bootstrap = $1"
		echo "batch_ms = 20"
		echo "consumer.session.timeout.ms = 6000"
		echo "consumer.heartbeat.interval.ms = 500"
	} >"$INI"
	cp "$INI" "$IT_DIR/cap-app.ini"
}

# redis_wait_assigned SECONDS: until the materializer started last got the
# six partitions (three of each topic).
redis_wait_assigned() {
	end=$(( $(date +%s) + $1 ))
	while [ "$(tail -n +"$MAT_LINES" "$IT_DIR/mat.log" | grep -c "view cache: assigned app.public.")" -lt 6 ]; do
		kill -0 "$MAT_PID" 2>/dev/null || { tail -5 "$IT_DIR/mat.log" >&2; it_fail "materialize died"; }
		[ "$(date +%s)" -lt "$end" ] || it_fail "materialize got no partitions in $1 s"
		sleep 0.1
	done
}

# Every column of every row as PostgreSQL's text (booleans as true/false).
tables_json() {
	pg_sql "SELECT coalesce(json_agg(json_build_object('id', id::text, 'name', name,
	        'email', email, 'bio', bio, 'score', score::text, 'active', active::text,
	        'tags', tags::text) ORDER BY id), '[]') FROM users" >"$IT_DIR/users.json" &&
	pg_sql "SELECT coalesce(json_agg(json_build_object('shop', shop, 'sku', sku::text,
	        'price', price::text) ORDER BY shop, sku), '[]') FROM items" >"$IT_DIR/items.json"
}

# redis_equal [--bootstrap ADDR]: the redis database against the tables.
redis_equal() {
	tables_json || return 1
	$IT_PY "$HERE/redis_compare.py" check --port "$REDIS_PORT" --prefix cache: --partitions 3 \
	    --table "public.users:id:app.public.users:$IT_DIR/users.json" \
	    --table "public.items:shop,sku:app.public.items:$IT_DIR/items.json" \
	    "$@" >"$IT_DIR/redis.diff" 2>&1
}

# redis_settle WHAT: capture caught up, the view applied everything (its
# offsets at the partitions' ends), and redis holds the tables.
redis_settle() {
	view_settle "$1" cache 6 "$IT_DIR/redis.diff" redis_equal --bootstrap "$b_ADDR"
	it_log "$1: $(cat "$IT_DIR/redis.diff")"
}

# hfield KEY FIELD: the field's value (empty when absent).
hfield() {
	rcli hget "$1" "$2"
}

# expect_config_error WHAT LINE: a cache view with LINE added is refused
# with exit 2 and a message naming the key.
expect_config_error() {
	awk -v add="$2" '{ print } /^type = redis$/ { print add }' "$INI" >"$IT_DIR/bad.ini"
	rc=0
	timeout 30 "$SLUICE" materialize -c "$IT_DIR/bad.ini" >"$IT_DIR/bad.log" 2>&1 || rc=$?
	[ "$rc" = 2 ] || it_fail "a redis view with $1 ($2): materialize exited $rc, not 2: $(tail -3 "$IT_DIR/bad.log")"
	grep -q "$1" "$IT_DIR/bad.log" ||
		it_fail "a redis view with $1: the message does not name it: $(tail -3 "$IT_DIR/bad.log")"
	it_log "$1 refused: $(tail -1 "$IT_DIR/bad.log")"
}

redis_start
pg_start
it_broker_start b
pg_sql "$(redis_schema_sql)"
redis_config "$b_ADDR"

# rows before capture starts come through the snapshot; every bio of 110 kB
pg_sql "INSERT INTO users SELECT i, mkname(), mkemail(i), mkbio(i), mkscore(), i % 2 = 0, mktags(i)
        FROM generate_series(1, 40) i UNION ALL
        SELECT i, mkname(), mkemail(i), mkbio(i), mkscore(), true, mktags(i)
        FROM generate_series(74, 296, 37) i"
pg_sql "INSERT INTO items SELECT s, k, round((random() * 100)::numeric, 2)
        FROM unnest(ARRAY['north', 'south', 'east west']) s, generate_series(1, 10) k"

# ---- configuration errors, before anything ran
expect_config_error path "path = $IT_DIR/views/cache"
expect_config_error index. "index.by_email = email"
expect_config_error tokenize "tokenize = porter"
[ "$(rcli dbsize)" = 0 ] || it_fail "a refused configuration wrote to redis: $(rcli --scan | head -5)"

cap_start app
mat_start
redis_wait_assigned 60

i=0
while [ $i -lt 20 ]; do
	pg_sql "$(redis_workload_sql)"
	i=$((i + 1))
done
pg_sql "TRUNCATE items"
pg_sql "INSERT INTO items SELECT s, k, round((random() * 100)::numeric, 2)
        FROM unnest(ARRAY['north', 'south', 'east west']) s, generate_series(1, 12) k"

# ---- the workload runs on while materialize is killed and restarted
mat_kill_during 20 redis_workload_sql
redis_wait_assigned 60

# ---- an out-of-line bio left unchanged by updates of other columns,
# and a column set to NULL beside it
pg_sql "INSERT INTO users VALUES (9001, 'toast alpha', 'big@example.org', 'deepstart ' || big() || ' deepend', 1.00, true, ARRAY['big'])"
pg_sql "UPDATE users SET score = 2.50 WHERE id = 9001"
pg_sql "UPDATE users SET name = 'toast omega', email = NULL WHERE id = 9001"
# text that needs care: quotes and spaces in an array, an empty string
# (a field, unlike NULL), a newline, non-ASCII, a large numeric
pg_sql "INSERT INTO users VALUES (9002, 'kept', '', 'short bio', 12345678901234567890.125, false, ARRAY['a b', 'c\"d', NULL, 'é'])"
pg_sql "INSERT INTO users VALUES (9003, E'Crème brûlée\nline two', 'x@y', NULL, -0.001, NULL, '{}')"
pg_sql "INSERT INTO items VALUES ('east west', 9001, 1.5), ('north', 9002, NULL)"
# ---- key changes, one-column and composite; the old keys must go
old1=$(pg_sql "SELECT min(id) FROM users WHERE id <= 300 AND id % 37 <> 0")
[ -n "$old1" ] || it_fail "no user to change the key of"
pg_sql "UPDATE users SET id = 7000 + id WHERE id = $old1"
pg_sql "UPDATE items SET shop = 'moved', sku = 7001 WHERE shop = 'east west' AND sku = 9001"
# ---- a rolled-back transaction: none of it is ever seen
pg_sql "BEGIN;
        INSERT INTO users VALUES (8001, 'rolled back', 'rb@x', 'rolled back', 1, true, NULL);
        UPDATE users SET name = 'rolled back', bio = 'rolled back' WHERE id = 9002;
        DELETE FROM users WHERE id = 9001;
        INSERT INTO items VALUES ('rolled back', 1, 1);
        ROLLBACK"
i=0
while [ $i -lt 5 ]; do
	pg_sql "$(redis_workload_sql)"
	i=$((i + 1))
done

redis_settle "after the workload and the kill"

# the updates of 9001 reached the topic without its bio (the unchanged
# marker), so the bio redis holds is the one it kept; the events are told
# by the name, which protobuf carries as plain bytes
$IT_PY "$(dirname "$0")/toast_events.py" "$b_ADDR" app.public.users 3 >"$IT_DIR/marker.out" 2>&1 ||
	it_fail "the updates of row 9001 do not leave its bio out: $(tail -3 "$IT_DIR/marker.out")"
it_log "$(cat "$IT_DIR/marker.out")"
[ "$(hfield cache:public.users:9001 name)" = "toast omega" ] || it_fail "row 9001 does not have its new name"
[ "$(hfield cache:public.users:9001 score)" = "2.50" ] ||
	it_fail "row 9001 has score '$(hfield cache:public.users:9001 score)', not 2.50"
rcli_is 0 hexists cache:public.users:9001 email || it_fail "row 9001 still has an email field after email = NULL"
[ "$(rcli hstrlen cache:public.users:9001 bio)" = "$(pg_sql "SELECT octet_length(bio) FROM users WHERE id = 9001")" ] ||
	it_fail "row 9001's bio has $(rcli hstrlen cache:public.users:9001 bio) bytes in redis"
rcli_is 1 hexists cache:public.users:9002 email || it_fail "the empty email of row 9002 is not a field"
[ "$(hfield cache:public.users:9002 active)" = false ] || it_fail "row 9002: active is '$(hfield cache:public.users:9002 active)'"
rcli_is 0 hexists cache:public.users:9003 bio || it_fail "row 9003 has a bio field for a NULL bio"
rcli_is 0 exists "cache:public.users:$old1" || it_fail "the old key of user $old1 is still there"
rcli_is 1 exists "cache:public.users:$((7000 + old1))" || it_fail "user $old1 is not under its new key"
rcli_is 0 exists "cache:public.items:east west:9001" || it_fail "the old key of item (east west, 9001) is still there"
rcli_is 1 exists "cache:public.items:moved:7001" || it_fail "item (moved, 7001) is missing"
rcli_is 0 exists "cache:public.users:8001" || it_fail "the rolled-back row 8001 is in redis"
[ "$(hfield cache:public.users:9002 name)" = kept ] || it_fail "the rolled-back update of 9002 is in redis"

# ---- `sluice view` does not read a redis view
rc=0
"$SLUICE" view -c "$INI" get cache 1 >"$IT_DIR/view.out" 2>"$IT_DIR/view.err" || rc=$?
[ "$rc" = 2 ] || it_fail "sluice view get on the redis view exited $rc, not 2"
grep -qi redis "$IT_DIR/view.err" ||
	it_fail "sluice view get on the redis view does not point to a Redis client: $(cat "$IT_DIR/view.err")"
it_log "sluice view: $(cat "$IT_DIR/view.err")"

# ---- rebuild from history while the live materializer runs, the workload
# goes on and readers read two rows the workload does not touch: never
# missing, never partial
gen0=$(rcli get cache:__gen)
[ -n "$gen0" ] || gen0=0
touch "$IT_DIR/reader.loops"
(
	fails=0
	while [ ! -f "$IT_DIR/reader.stop" ]; do
		v=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --raw hget cache:public.users:9002 name 2>&1) || v="exit $?: $v"
		[ -n "$v" ] || v="(no such key or field)"
		if [ "$v" != kept ]; then
			fails=$((fails + 1))
			echo "$v" >>"$IT_DIR/reader.errors"
		fi
		echo x >>"$IT_DIR/reader.loops"
	done
	echo "$fails" >"$IT_DIR/reader.fails"
) &
READER=$!
it_track "$READER"
$IT_PY "$HERE/redis_compare.py" watch --port "$REDIS_PORT" --stop "$IT_DIR/reader.stop" \
    cache:public.users:9001 cache:public.users:9002 "cache:public.items:north:9002" >"$IT_DIR/watch.out" 2>&1 &
WATCH=$!
it_track "$WATCH"
(
	j=0
	while [ $j -lt 12 ]; do
		pg_sql "$(redis_workload_sql)" >/dev/null || exit 1
		j=$((j + 1))
	done
) &
WORK=$!
it_track "$WORK"
"$SLUICE" materialize -c "$INI" --view cache --rebuild >>"$IT_DIR/rebuild.log" 2>&1 ||
	{ cat "$IT_DIR/rebuild.log" >&2; it_fail "materialize --rebuild failed"; }
it_log "rebuild: $(tail -1 "$IT_DIR/rebuild.log")"
wait "$WORK" || it_fail "the workload failed during the rebuild"
touch "$IT_DIR/reader.stop"
wait "$READER"
st=0
wait "$WATCH" || st=$?
[ "$(cat "$IT_DIR/reader.fails")" = 0 ] ||
	it_fail "redis-cli read a wrong name during the rebuild: $(head -3 "$IT_DIR/reader.errors")"
[ "$st" = 0 ] || it_fail "a key was missing or partial during the rebuild: $(cat "$IT_DIR/watch.out")"
it_log "redis-cli read 9002 $(wc -l <"$IT_DIR/reader.loops") times through the rebuild; $(cat "$IT_DIR/watch.out")"
kill -0 "$MAT_PID" 2>/dev/null || { tail -n 10 "$IT_DIR/mat.log" >&2; it_fail "the live materializer died in the rebuild"; }
gen1=$(rcli get cache:__gen)
[ "$gen1" = $((gen0 + 1)) ] || it_fail "cache:__gen went from $gen0 to '$gen1' in the rebuild"
left=$(rcli --scan --pattern 'cache:__rebuild:*' | wc -l)
[ "$left" = 0 ] || it_fail "$left cache:__rebuild:* keys are left after the rebuild: $(rcli --scan --pattern 'cache:__rebuild:*' | head -3)"
# the live materializer goes on from the rebuilt offsets
pg_sql "INSERT INTO users VALUES (9500, 'after rebuild', NULL, 'after', 5, true, NULL)"
pg_sql "UPDATE users SET score = 3.75 WHERE id = 9001"
pg_sql "DELETE FROM items WHERE shop = 'north' AND sku = 9002"
redis_settle "after the rebuild"
[ "$(hfield cache:public.users:9001 score)" = 3.75 ] || it_fail "the update of 9001 after the rebuild is not in redis"
[ "$(rcli get cache:__gen)" = "$gen1" ] || it_fail "cache:__gen moved without a rebuild"
grep -q "view cache: the view was rebuilt and swapped in; reopening" "$IT_DIR/mat.log" ||
	it_fail "the live materializer did not reopen the swapped view"
n=$(rcli --scan --pattern 'cache:public.users:*' | wc -l)
[ "$n" = "$(pg_sql "SELECT count(*) FROM users")" ] ||
	it_fail "redis-cli --scan finds $n users, the table has $(pg_sql "SELECT count(*) FROM users")"

mat_stop
grep -q "sluice: materialize" "$IT_DIR/mat.log" &&
	it_fail "materialize logged an error: $(grep 'sluice: materialize' "$IT_DIR/mat.log")"
cap_stop app
redis_stop
it_log "ok"
