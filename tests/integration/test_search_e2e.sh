#!/bin/sh
# test_search_e2e.sh: PostgreSQL -> sluice capture (protobuf) -> sluice broker
# -> sluice materialize -> a sqlite-fts view, read with `sluice search`.
# Every row's body holds a word tok<id>.  A random workload of inserts,
# updates of the text, updates of only the price (rows with a 110 kB body
# stored out of line: capture sends the unchanged marker, and the row must
# still be found by the words of that body), a snapshot, a truncate and new
# inserts, key changes and a rolled-back transaction runs while `sluice
# materialize` is killed with SIGKILL once and restarted.  Once it settles
# (`sluice status`: 0 messages behind) search.db holds each table row once
# with its current text, every tok<N> of the table finds exactly the rows
# holding it with the row printed as the table has it, and no word of a
# deleted, truncated or rolled-back row finds anything
# (search_compare.py).  The exit statuses (1 no match, 2 bad query or a
# `sluice view` of a search view, 3 not built yet), --limit, column
# filters and the default tokenizer's folding are checked; `--rebuild`
# swaps in a view that compares the same, which the live materializer
# follows; changing `columns` makes materialize refuse to start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/views_lib.sh"

INI="$IT_DIR/sluice.ini"
DB="$IT_DIR/views/search/search.db"

# The table, and SQL functions making its text: a title of two words from
# five (NULL one time in ten), a body "tok<id> common <word> <md5>" with
# 110 kB more when id is a multiple of 37.  body is STORAGE EXTERNAL, so
# every body past ~2 kB is stored out of line (TOAST), uncompressed.
search_schema_sql() {
	cat <<'EOF'
CREATE TABLE docs (id int PRIMARY KEY, title text, body text, price numeric, tags text[]);
ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE FUNCTION w() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT (ARRAY['alpha', 'beta', 'gamma', 'delta', 'omega'])[1 + floor(random() * 5)::int] $$;
CREATE FUNCTION big() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT string_agg(md5(random()::text), ' ') FROM generate_series(1, 3400) $$;
CREATE FUNCTION mktitle() RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT CASE WHEN random() < 0.1 THEN NULL ELSE 'doc ' || w() || ' ' || w() END $$;
CREATE FUNCTION mkbody(i int) RETURNS text LANGUAGE sql VOLATILE AS
  $$ SELECT 'tok' || i || ' common ' || w() || ' ' || md5(random()::text) ||
            CASE WHEN i % 37 = 0 THEN ' ' || big() ELSE '' END $$;
CREATE FUNCTION mktags(i int) RETURNS text[] LANGUAGE sql VOLATILE AS
  $$ SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE ARRAY[w(), 'n' || i] END $$;
EOF
}

# One random workload transaction on ids 1..300.
search_workload_sql() {
	cat <<'EOF'
BEGIN;
INSERT INTO docs SELECT i, mktitle(), mkbody(i), round((random() * 1000)::numeric, 2), mktags(i)
FROM (SELECT DISTINCT (1 + random() * 299)::int AS i FROM generate_series(1, 5)) s
ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body;
UPDATE docs SET title = mktitle() WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 3));
UPDATE docs SET body = mkbody(id) WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 2));
UPDATE docs SET price = price + 1 WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 3));
UPDATE docs SET price = price + 1 WHERE id IN (SELECT 37 * (1 + (random() * 7)::int) FROM generate_series(1, 2));
DELETE FROM docs WHERE id IN (SELECT (1 + random() * 299)::int FROM generate_series(1, 2));
COMMIT;
EOF
}

search_config() {
	{
		view_source "$1" "public.docs" protobuf
		echo "[view \"search\"]"
		echo "type = sqlite-fts"
		echo "topics = app.public.docs"
		echo "path = $IT_DIR/views/search"
		echo "columns = title, body"
		echo "format = protobuf"
		echo "bootstrap = $1"
		echo "batch_ms = 20"
		echo "consumer.session.timeout.ms = 6000"
		echo "consumer.heartbeat.interval.ms = 500"
	} >"$INI"
	cp "$INI" "$IT_DIR/cap-app.ini"
}

# search_wait_assigned SECONDS: until the materializer started last got the
# three partitions.
search_wait_assigned() {
	end=$(( $(date +%s) + $1 ))
	while [ "$(tail -n +"$MAT_LINES" "$IT_DIR/mat.log" | grep -c "view search: assigned app.public.docs")" -lt 3 ]; do
		kill -0 "$MAT_PID" 2>/dev/null || { tail -5 "$IT_DIR/mat.log" >&2; it_fail "materialize died"; }
		[ "$(date +%s)" -lt "$end" ] || it_fail "materialize got no partitions in $1 s"
		sleep 0.1
	done
}

# search_run ARGS...: `sluice search -c $INI ARGS`; stdout in search.out,
# stderr in search.err, exit status in SRC.
search_run() {
	SRC=0
	"$SLUICE" search -c "$INI" "$@" >"$IT_DIR/search.out" 2>"$IT_DIR/search.err" || SRC=$?
}

# search_expect STATUS ARGS...: fail unless `sluice search ARGS` exits STATUS.
search_expect() {
	want=$1
	shift
	search_run "$@"
	[ "$SRC" = "$want" ] || it_fail "sluice search $* exited $SRC, expected $want:
$(head -c 300 "$IT_DIR/search.out")
$(head -c 300 "$IT_DIR/search.err")"
}

# Every column of every row as PostgreSQL's text, for search_compare.py.
table_json() {
	pg_sql "SELECT coalesce(json_agg(json_build_object('id', id::text, 'title', title,
	        'body', body, 'price', price::text, 'tags', tags::text) ORDER BY id), '[]')
	        FROM docs" >"$IT_DIR/table.json"
}

# search_equal [--quick]: the view against the table (search_compare.py).
search_equal() {
	table_json || return 1
	$IT_PY "$(dirname "$0")/search_compare.py" "$@" --absent "$IT_DIR/absent" \
	    --query common --query title:alpha --query body:alpha --query title:omega \
	    --query title:creme --query body:deja \
	    "$SLUICE" "$INI" search "$DB" "$IT_DIR/table.json" >"$IT_DIR/search.diff" 2>&1
}

# search_settle WHAT: capture caught up, the view applied everything (its
# offsets at the topic's ends), and the view equals the table (quick, then
# full).
search_settle() {
	view_settle "$1" search 3 "$IT_DIR/search.diff" search_equal --quick
	search_equal || { cat "$IT_DIR/search.diff" >&2; tail -n 20 "$IT_DIR/mat.log" >&2
		it_fail "$1: sluice search does not answer as the table"; }
	it_log "$1: $(cat "$IT_DIR/search.diff")"
}

pg_start
it_broker_start b
pg_sql "$(search_schema_sql)"
search_config "$b_ADDR"
# words that must never be found once the view settled, unless a table row
# holds them then (search_compare.py leaves those out)
{
	seq 1 300 | sed 's/^/tok/'
	echo "tok7500 tok8001 tok9100 rollbackword rolledbacktitle nosuchwordanywhere"
} >"$IT_DIR/absent"

# rows before capture starts come through the snapshot
pg_sql "INSERT INTO docs SELECT i, mktitle(), mkbody(i), round((random() * 1000)::numeric, 2), mktags(i)
        FROM generate_series(1, 40) i"

search_expect 3 search common
grep -q . "$IT_DIR/search.err" || it_fail "sluice search of a view not built yet says nothing"
it_log "before the first materialize: $(cat "$IT_DIR/search.err")"

cap_start app
mat_start
search_wait_assigned 60

i=0
while [ $i -lt 15 ]; do
	pg_sql "$(search_workload_sql)"
	i=$((i + 1))
done
pg_sql "INSERT INTO docs VALUES (9100, 'truncated', 'tok9100 common ' || big(), 1, NULL)"
pg_sql "TRUNCATE docs"
pg_sql "INSERT INTO docs SELECT i, mktitle(), mkbody(i), round((random() * 1000)::numeric, 2), mktags(i)
        FROM generate_series(1, 40) i"

# ---- the workload runs on while materialize is killed and restarted
mat_kill_during 15 search_workload_sql
search_wait_assigned 60

# ---- an out-of-line body left unchanged by updates of other columns
pg_sql "INSERT INTO docs VALUES (9001, 'toast alpha', 'tok9001 common deepstart ' || big() || ' deepend', 1.00, ARRAY['big'])"
pg_sql "UPDATE docs SET price = 2.50 WHERE id = 9001"
pg_sql "UPDATE docs SET title = 'toast omega' WHERE id = 9001"
pg_sql "INSERT INTO docs VALUES (9002, 'kept', 'tok9002 common kept', 3, ARRAY['a b', 'c\"d'])"
pg_sql "INSERT INTO docs VALUES (9003, 'Crème brûlée café', 'tok9003 common déjà vu', 4, NULL)"
# ---- key changes: one keeps its body (tok<old> now finds the new key),
# one rewrites it (tok<old> finds nothing)
old1=$(pg_sql "SELECT min(id) FROM docs WHERE id <= 300 AND id % 37 <> 0")
old2=$(pg_sql "SELECT max(id) FROM docs WHERE id <= 300 AND id % 37 <> 0")
[ -n "$old1" ] && [ -n "$old2" ] && [ "$old1" != "$old2" ] || it_fail "no rows to change the key of"
pg_sql "UPDATE docs SET id = 7000 + id WHERE id = $old1"
pg_sql "UPDATE docs SET id = 7500, body = mkbody(7500) WHERE id = $old2"
# ---- a rolled-back transaction: none of it is ever seen
pg_sql "BEGIN;
        INSERT INTO docs VALUES (8001, 'rolledbacktitle', 'tok8001 rollbackword common', 1, NULL);
        UPDATE docs SET title = 'rolledbacktitle', body = 'rollbackword' WHERE id = 9002;
        DELETE FROM docs WHERE id = 9001;
        ROLLBACK"
i=0
while [ $i -lt 5 ]; do
	pg_sql "$(search_workload_sql)"
	i=$((i + 1))
done

search_settle "after the workload and the kill"

# the updates of 9001 reached the topic without its body (the unchanged
# marker), so the body the view shows came from the row it stored; its
# events are told by their title, which protobuf carries as plain bytes
$IT_PY "$(dirname "$0")/toast_events.py" "$b_ADDR" app.public.docs 3 >"$IT_DIR/marker.out" 2>&1 ||
	it_fail "the updates of row 9001 do not leave its body out: $(tail -3 "$IT_DIR/marker.out")"
it_log "$(cat "$IT_DIR/marker.out")"
search_expect 0 search deepend
[ "$(wc -l <"$IT_DIR/search.out")" = 1 ] || it_fail "deepend found $(wc -l <"$IT_DIR/search.out") rows"
grep -q '"row":{"id":9001,"title":"toast omega",' "$IT_DIR/search.out" ||
	it_fail "deepend does not find row 9001 as updated: $(head -c 200 "$IT_DIR/search.out")"
grep -q '"price":"\{0,1\}2.50"\{0,1\}' "$IT_DIR/search.out" ||
	it_fail "row 9001 does not show price 2.50: $(grep -o '"price":[^,]*' "$IT_DIR/search.out")"
search_expect 0 search "tok$old1"
grep -q "\"row\":{\"id\":$((7000 + old1))," "$IT_DIR/search.out" ||
	it_fail "tok$old1 does not find the row under its new key $((7000 + old1))"
# the row moved off old2 with a new body: its old word no longer finds it
# (the workload after the move may have inserted a new row old2, whose
# body says tok<old2> again: that one, and only as many as the table has)
moved=$(pg_sql "SELECT count(*) FROM docs WHERE body ~ '(^| )tok$old2( |\$)'")
if [ "$moved" = 0 ]; then
	search_expect 1 search "tok$old2"
else
	search_expect 0 search "tok$old2"
	[ "$(wc -l <"$IT_DIR/search.out")" = "$moved" ] ||
		it_fail "tok$old2 found $(wc -l <"$IT_DIR/search.out") rows, the table has $moved"
	! grep -q '"row":{"id":7500,' "$IT_DIR/search.out" ||
		it_fail "tok$old2 still finds the row moved to 7500 with a new body"
fi

# ---- exit statuses, --limit, --table, column filters
search_expect 1 search nosuchwordanywhere
[ -s "$IT_DIR/search.out" ] && it_fail "a search without a match printed rows"
search_expect 2 search '"unterminated'
grep -q unterminated "$IT_DIR/search.err" ||
	it_fail "a bad query's message does not name it: $(cat "$IT_DIR/search.err")"
it_log "bad query: $(cat "$IT_DIR/search.err")"
search_expect 2 nosuchview common
search_expect 2 search common --limit x
search_expect 0 search common --limit 2
[ "$(wc -l <"$IT_DIR/search.out")" = 2 ] || it_fail "--limit 2 printed $(wc -l <"$IT_DIR/search.out") lines"
search_expect 0 search common
[ "$(wc -l <"$IT_DIR/search.out")" = 20 ] || it_fail "the default limit printed $(wc -l <"$IT_DIR/search.out") lines, not 20"
rows=$(pg_sql "SELECT count(*) FROM docs")
search_expect 0 search common --limit 0 --table public.docs
[ "$(wc -l <"$IT_DIR/search.out")" = "$rows" ] ||
	it_fail "--limit 0 --table public.docs printed $(wc -l <"$IT_DIR/search.out") lines, the table has $rows rows"
search_expect 0 search 'title:toast AND body:deepstart'
[ "$(wc -l <"$IT_DIR/search.out")" = 1 ] || it_fail "title:toast AND body:deepstart found $(wc -l <"$IT_DIR/search.out") rows"
search_expect 1 search 'title:deepstart'
search_expect 0 search '"brulee cafe"'
grep -q '"id":9003' "$IT_DIR/search.out" || it_fail "the phrase \"brulee cafe\" does not find row 9003"
search_expect 0 search 'tok900*'
[ "$(wc -l <"$IT_DIR/search.out")" = 3 ] || it_fail "tok900* found $(wc -l <"$IT_DIR/search.out") rows, not 3"
rc=0
"$SLUICE" view -c "$INI" get search 1 >"$IT_DIR/view.out" 2>"$IT_DIR/view.err" || rc=$?
[ "$rc" = 2 ] || it_fail "sluice view get on the search view exited $rc, not 2"
grep -q "sluice search" "$IT_DIR/view.err" ||
	it_fail "sluice view get on the search view does not point to sluice search: $(cat "$IT_DIR/view.err")"

# ---- rebuild from history while the live materializer runs, the workload
# goes on and a reader searches in a loop: the reader never fails or
# comes back short
(
	fails=0
	while [ ! -f "$IT_DIR/reader.stop" ]; do
		if ! "$SLUICE" search -c "$INI" search common --limit 5 >"$IT_DIR/reader.out" 2>"$IT_DIR/reader.err"; then
			fails=$((fails + 1))
			cat "$IT_DIR/reader.err" >>"$IT_DIR/reader.errors"
		elif [ "$(wc -l <"$IT_DIR/reader.out")" != 5 ]; then
			fails=$((fails + 1))
			echo "$(wc -l <"$IT_DIR/reader.out") rows" >>"$IT_DIR/reader.errors"
		fi
		echo x >>"$IT_DIR/reader.loops"
	done
	echo "$fails" >"$IT_DIR/reader.fails"
) &
READER=$!
it_track "$READER"
(
	j=0
	while [ $j -lt 10 ]; do
		pg_sql "$(search_workload_sql)" >/dev/null || exit 1
		j=$((j + 1))
	done
) &
WORK=$!
it_track "$WORK"
old=$(readlink "$IT_DIR/views/search")
"$SLUICE" materialize -c "$INI" --view search --rebuild >>"$IT_DIR/rebuild.log" 2>&1 ||
	{ cat "$IT_DIR/rebuild.log" >&2; it_fail "materialize --rebuild failed"; }
new=$(readlink "$IT_DIR/views/search")
[ "$old" != "$new" ] || it_fail "the rebuild did not swap the view ($old)"
[ -e "$IT_DIR/views/$old" ] && it_fail "the old view $old was not removed"
wait "$WORK" || it_fail "the workload failed during the rebuild"
touch "$IT_DIR/reader.stop"
wait "$READER"
[ "$(cat "$IT_DIR/reader.fails")" = 0 ] ||
	it_fail "the reader failed during the rebuild: $(head -3 "$IT_DIR/reader.errors")"
it_log "reader searched $(wc -l <"$IT_DIR/reader.loops") times through the rebuild"
pg_sql "INSERT INTO docs VALUES (9500, 'after rebuild', 'tok9500 common', 5, NULL)"
pg_sql "UPDATE docs SET price = 3.75 WHERE id = 9001"
search_settle "after the rebuild"
grep -q "rebuilt and swapped in; reopening" "$IT_DIR/mat.log" ||
	it_fail "the live materializer did not reopen the swapped view"

mat_stop
grep -q "sluice: materialize" "$IT_DIR/mat.log" &&
	it_fail "materialize logged an error: $(grep 'sluice: materialize' "$IT_DIR/mat.log")"

# ---- other columns than the view was built with: refused, naming --rebuild
sed 's/^columns = title, body$/columns = title/' "$INI" >"$IT_DIR/cols.ini"
rc=0
timeout 30 "$SLUICE" materialize -c "$IT_DIR/cols.ini" >"$IT_DIR/cols.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || it_fail "materialize with other columns exited $rc: $(tail -3 "$IT_DIR/cols.log")"
grep -q -- "--rebuild" "$IT_DIR/cols.log" ||
	it_fail "materialize with other columns does not say to rebuild: $(tail -3 "$IT_DIR/cols.log")"
it_log "other columns: $(tail -1 "$IT_DIR/cols.log")"
search_equal || it_fail "the refused start changed the view: $(cat "$IT_DIR/search.diff")"

cap_stop app
it_log "ok"
