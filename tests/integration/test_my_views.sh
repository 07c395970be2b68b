#!/bin/sh
# test_my_views.sh: MariaDB -> sluice capture (type mysql, format protobuf)
# -> sluice broker -> sluice materialize -> an LMDB view "rows" over users
# (index by_email = email) and line_items (composite primary key), and a
# search view "search" (sqlite-fts, columns = title, body) over docs.
# Rows written before capture starts arrive through the snapshot; then a
# random workload (from SEED, printed) of inserts, updates (some changing
# the primary key), deletes, multi-statement transactions, a ROLLBACK, two
# TRUNCATEs and ~200 kB texts runs (text values hold tabs, newlines,
# quotes, backslashes, 4-byte UTF-8 and NULs).  Once capture stored the
# server's binlog position and `sluice status` says both views are 0
# messages behind: `sluice view scan` of each table equals the table row for row
# and value for value (my_view_compare.py, which documents how the view
# prints each MySQL type), `sluice search common --limit 0` gives every
# docs row as the table has it, the index answers `lookup` like a WHERE
# clause, a word in one row only is found in that row and no longer once
# the row is deleted, and rolled-back rows are never seen.  Then
# materialize is killed with SIGKILL during more workload, restarted, and
# everything compares again; last, `get` finds present keys (integer and
# composite) and exits 1 for deleted ones.  The comparison is shown to
# catch a row changed behind capture's back (sql_log_bin = 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"
. "$(dirname "$0")/views_lib.sh"

SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
it_log "SEED=$SEED (rerun with SEED=$SEED)"
INI="$IT_DIR/sluice.ini"

my_start
it_broker_start b
my_sql "CREATE TABLE users (id int PRIMARY KEY, name varchar(64), email varchar(64),
  tiny tinyint, ubig bigint unsigned, bal decimal(12,3), born date, seen datetime(6),
  ts timestamp(6) NULL DEFAULT NULL, kind enum('a','b','c d','é'), bio mediumtext,
  photo blob, KEY (email));
CREATE TABLE line_items (ord int, line varchar(16), qty int, price decimal(10,2), note text,
  PRIMARY KEY (ord, line));
CREATE TABLE docs (id int PRIMARY KEY, title varchar(200), body mediumtext);"

# The workload, as SQL: pre.sql before capture starts, work.sql after,
# kill-N.sql (two transactions each) around the kill.  Every docs
# body holds the word "common"; "zyzzyvaword" is only in docs 7000,
# "deepword" only at the end of the 200 kB body of docs 7001.
$IT_PY - "$SEED" "$IT_DIR" <<'EOF' || it_fail "the workload generator failed"
import random, sys
seed, out = int(sys.argv[1]), sys.argv[2]
R = random.Random(seed)

def s(text):
    return "_utf8mb4 X'%s'" % text.encode("utf-8").hex()
def ustr(n):
    alpha = "abcXYZ 019\t\n\\'\"%_é€😀ßж\x00,"
    return "".join(R.choice(alpha) for _ in range(n))
def dec(intd, frac):
    i = "".join(R.choice("0123456789") for _ in range(R.randint(1, intd))).lstrip("0") or "0"
    return "'%s%s.%s'" % (R.choice(["", "-"]), i, "".join(R.choice("0123456789") for _ in range(frac)))
def rint(lo, hi):
    return str(R.choice([lo, hi, 0, R.randint(lo, hi)]))
def rdt(y0, y1):
    return "'%04d-%02d-%02d %02d:%02d:%02d.%06d'" % (R.randint(y0, y1), R.randint(1, 12),
        R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999999))
def null_or(f):
    return "NULL" if R.random() < 0.1 else f()
WORDS = ["alpha", "beta", "gamma", "delta", "omega"]
USERS = {
    "name": lambda: s(ustr(R.randint(0, 30))),
    "email": lambda: "'e%d@x'" % R.randint(0, 9),
    "tiny": lambda: rint(-128, 127),
    "ubig": lambda: rint(0, 2**64 - 1),
    "bal": lambda: dec(9, 3),
    "born": lambda: R.choice(["'%04d-%02d-%02d'" % (R.randint(1000, 9999), R.randint(1, 12),
                                                    R.randint(1, 28)), "'0000-00-00'"]),
    "seen": lambda: R.choice([rdt(1000, 9999), rdt(1000, 9999), "'0000-00-00 00:00:00'"]),
    "ts": lambda: R.choice([rdt(1971, 2037), rdt(1971, 2037), "'0000-00-00 00:00:00'"]),
    "kind": lambda: R.choice(["'a'", "'b'", "'c d'", s("é")]),
    "bio": lambda: s(ustr(R.randint(0, 300))),
    "photo": lambda: "X'%s'" % R.randbytes(R.randint(0, 200)).hex(),
}
LINES = ["a", "b", "c", "ab", "x9", "é1", "z"]
ITEMS = {
    "qty": lambda: rint(-2**31, 2**31 - 1),
    "price": lambda: dec(8, 2),
    "note": lambda: s(ustr(R.randint(0, 80))),
}
def title():
    return "'doc %s %s'" % (R.choice(WORDS), R.choice(WORDS))
def body():
    return "'common %s %032x'" % (R.choice(WORDS), R.getrandbits(128))

def user_insert(i):
    cols = list(USERS)
    return ("INSERT INTO users (id, %s) VALUES (%d, %s) ON DUPLICATE KEY UPDATE "
            "name = VALUES(name), email = VALUES(email), bal = VALUES(bal), ts = VALUES(ts);"
            % (", ".join(cols), i, ", ".join(null_or(USERS[c]) for c in cols)))
def item_insert(o, l):
    return ("INSERT INTO line_items VALUES (%d, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
            "qty = VALUES(qty), note = VALUES(note);"
            % (o, s(l), null_or(ITEMS["qty"]), null_or(ITEMS["price"]), null_or(ITEMS["note"])))
def doc_insert(i):
    return ("INSERT INTO docs VALUES (%d, %s, %s) ON DUPLICATE KEY UPDATE title = VALUES(title), "
            "body = VALUES(body);" % (i, null_or(title), body()))

def uid():
    return R.randint(1, 300)
def statement():
    r = R.random()
    if r < 0.22:
        return user_insert(uid())
    if r < 0.34:
        cols = R.sample(list(USERS), R.randint(1, 3))
        return "UPDATE users SET %s WHERE id = %d;" % (
            ", ".join("%s = %s" % (c, null_or(USERS[c])) for c in cols), uid())
    if r < 0.40:
        return "UPDATE IGNORE users SET id = %d WHERE id = %d;" % (uid(), uid())
    if r < 0.46:
        a = uid()
        return "DELETE FROM users WHERE id BETWEEN %d AND %d;" % (a, a + R.randint(0, 2))
    if r < 0.60:
        return item_insert(R.randint(1, 30), R.choice(LINES))
    if r < 0.66:
        return "UPDATE line_items SET qty = %s, price = %s WHERE ord = %d;" % (
            null_or(ITEMS["qty"]), null_or(ITEMS["price"]), R.randint(1, 30))
    if r < 0.72:
        if R.random() < 0.5:
            return "UPDATE IGNORE line_items SET line = %s WHERE ord = %d AND line = %s;" % (
                s(R.choice(LINES)), R.randint(1, 30), s(R.choice(LINES)))
        return "UPDATE IGNORE line_items SET ord = %d WHERE ord = %d AND line = %s;" % (
            R.randint(1, 30), R.randint(1, 30), s(R.choice(LINES)))
    if r < 0.76:
        return "DELETE FROM line_items WHERE ord = %d AND line = %s;" % (
            R.randint(1, 30), s(R.choice(LINES)))
    if r < 0.86:
        return doc_insert(R.randint(1, 60))
    if r < 0.91:
        return "UPDATE docs SET %s WHERE id = %d;" % (
            R.choice(["title = %s" % title(), "body = %s" % body()]), R.randint(1, 60))
    if r < 0.94:
        return "UPDATE IGNORE docs SET id = %d WHERE id = %d;" % (R.randint(1, 60), R.randint(1, 60))
    return "DELETE FROM docs WHERE id = %d;" % R.randint(1, 60)

def transaction():
    n = R.randint(1, 5)
    body_ = [statement() for _ in range(n)]
    if n == 1 and R.random() < 0.5:
        return body_
    return ["BEGIN;"] + body_ + ["COMMIT;"]

def big(n, last):
    return s(" ".join("%032x" % R.getrandbits(128) for _ in range(n // 33)) + " é€ " + last)

def write(name, lines):
    with open("%s/%s" % (out, name), "w", encoding="utf-8") as f:
        f.write("\n".join(["SET time_zone = '+00:00';"] + lines) + "\n")

pre = [user_insert(i) for i in range(1, 41)]
pre += [item_insert(o, l) for o in range(1, 8) for l in LINES[:3]]
pre += [doc_insert(i) for i in range(1, 21)]
write("pre.sql", pre)

work = []
for t in range(50):
    work += transaction()
    if t == 25:
        work += ["TRUNCATE TABLE line_items;", "TRUNCATE TABLE docs;"]
# one transaction over the three tables, with the large texts
work += ["BEGIN;",
         user_insert(4000),
         "UPDATE users SET bio = %s, email = 'e3@x' WHERE id = 4000;" % big(200000, "end"),
         item_insert(99, "big"),
         "UPDATE line_items SET note = %s WHERE ord = 99;" % big(60000, "end"),
         "INSERT INTO docs VALUES (7000, 'the unique one', 'common zyzzyvaword');",
         "INSERT INTO docs VALUES (7001, 'large', CONCAT('common ', %s));" % big(200000, "deepword"),
         "COMMIT;",
         # the large text survives an update of another column
         "UPDATE users SET name = 'big2' WHERE id = 4000;",
         # present, then deleted: `get` must not find them
         user_insert(4001), "DELETE FROM users WHERE id = 4001;",
         item_insert(98, "gone"), "DELETE FROM line_items WHERE ord = 98 AND line = 'gone';",
         # rolled back: never seen
         "BEGIN;",
         "INSERT INTO docs VALUES (8000, 'rolledbacktitle', 'common rollbackword');",
         "INSERT INTO users (id, name, email) VALUES (8001, 'rolled back', 'rolled@x');",
         "UPDATE users SET name = 'rolled back' WHERE id = 4000;",
         "DELETE FROM line_items WHERE ord = 99;",
         "ROLLBACK;"]
write("work.sql", work)

for k in range(40):
    write("kill-%d.sql" % k, transaction() + transaction())
EOF

my_sql_file "$IT_DIR/pre.sql" || it_fail "pre.sql failed"
VIEW_HTTP=$(it_free_port)
# shellcheck disable=SC2154	# b_ADDR: set by it_broker_start
{
	echo "[source \"app\"]"
	echo "type = mysql"
	echo "dsn = $MY_DSN"
	echo "bootstrap = $b_ADDR"
	echo "tables = app.*"
	echo "topic_prefix = my"
	echo "format = protobuf"
	echo "heartbeat = 1s"
	echo "status_interval = 200ms"
	echo "topic.partitions = 3"
	echo "[view \"rows\"]"
	echo "topics = my.app.users, my.app.line_items"
	echo "path = $IT_DIR/views/rows"
	echo "format = protobuf"
	echo "index.by_email = email"
	echo "bootstrap = $b_ADDR"
	echo "batch_ms = 20"
	echo "http = 127.0.0.1:$VIEW_HTTP"
	echo "consumer.session.timeout.ms = 6000"
	echo "consumer.heartbeat.interval.ms = 500"
	echo "[view \"search\"]"
	echo "type = sqlite-fts"
	echo "topics = my.app.docs"
	echo "path = $IT_DIR/views/search"
	echo "columns = title, body"
	echo "format = protobuf"
	echo "bootstrap = $b_ADDR"
	echo "batch_ms = 20"
	echo "consumer.session.timeout.ms = 6000"
	echo "consumer.heartbeat.interval.ms = 500"
} >"$INI"
# capture reads only its own section of the same file
cp "$INI" "$IT_DIR/cap-app.ini"
mycap_start app
mat_start

# my_wait_assigned SECONDS: until the materializer started last got the
# six partitions of rows and the three of search.
my_wait_assigned() {
	end=$(( $(date +%s) + $1 ))
	while [ "$(tail -n +"$MAT_LINES" "$IT_DIR/mat.log" | grep -c "view [a-z]*: assigned my\.app\.")" -lt 9 ]; do
		kill -0 "$MAT_PID" 2>/dev/null || { tail -5 "$IT_DIR/mat.log" >&2; it_fail "materialize died"; }
		[ "$(date +%s)" -lt "$end" ] || it_fail "materialize got no partitions in $1 s"
		sleep 0.1
	done
}

# my_views_equal: every table against its view; differences in $IT_DIR/*.diff.
my_views_equal() {
	for t in users line_items; do
		"$SLUICE" view -c "$INI" --table "app.$t" scan rows >"$IT_DIR/$t.view" \
		    2>"$IT_DIR/$t.diff" || return 1
		my_want "$t" "$IT_DIR/$t.want"
		$IT_PY "$(dirname "$0")/my_view_compare.py" "$IT_DIR/$t.view" "$IT_DIR/$t.want" \
		    >"$IT_DIR/$t.diff" || return 1
	done
	rc=0
	"$SLUICE" search -c "$INI" search common --limit 0 >"$IT_DIR/docs.view" \
	    2>"$IT_DIR/docs.diff" || rc=$?
	# exit 1 is no match: an empty table
	[ $rc -eq 0 ] || [ $rc -eq 1 ] || return 1
	my_want docs "$IT_DIR/docs.want"
	$IT_PY "$(dirname "$0")/my_view_compare.py" --search app.docs "$IT_DIR/docs.view" \
	    "$IT_DIR/docs.want" >"$IT_DIR/docs.diff"
}

# my_views_settle WHAT: capture stored the server's binlog position, `sluice
# status` says both views are 0 messages behind, then the views equal the
# tables; each within a deadline.
my_views_settle() {
	mycap_wait_caught_up app 60
	end=$(( $(date +%s) + 60 ))
	until "$SLUICE" status -c "$INI" --timeout 3000 >"$IT_DIR/status.out" 2>&1
	      grep -q "^view    rows: .*: 6 partitions, 0 messages behind" "$IT_DIR/status.out" &&
	      grep -q "^view    search: .*: 3 partitions, 0 messages behind" "$IT_DIR/status.out"; do
		[ "$(date +%s)" -lt "$end" ] || { cat "$IT_DIR/status.out" >&2
			tail -n 20 "$IT_DIR/mat.log" >&2
			it_fail "$1: sluice status does not say both views are 0 messages behind"; }
		sleep 0.3
	done
	end=$(( $(date +%s) + 10 ))
	until my_views_equal; do
		[ "$(date +%s)" -lt "$end" ] || { cat "$IT_DIR"/*.diff >&2; tail -n 20 "$IT_DIR/mat.log" >&2
			it_fail "$1: the views do not hold the tables"; }
		sleep 0.3
	done
	it_log "$1: users $(cat "$IT_DIR/users.diff"), line_items $(cat "$IT_DIR/line_items.diff"), docs $(cat "$IT_DIR/docs.diff")"
}

# search_expect STATUS QUERY: `sluice search` exits STATUS; output in search.out.
search_expect() {
	src=0
	"$SLUICE" search -c "$INI" search "$2" >"$IT_DIR/search.out" 2>"$IT_DIR/search.err" || src=$?
	[ "$src" = "$1" ] || it_fail "sluice search '$2' exited $src, expected $1:
$(head -c 300 "$IT_DIR/search.out") $(head -c 300 "$IT_DIR/search.err")"
}

# lookup_check VALUE...: `lookup rows by_email V` gives the ids of
# SELECT ... WHERE email = V, each row as the scan printed it.
lookup_check() {
	for e in "$@"; do
		want=$(my_sql "SELECT id FROM users WHERE email = '$e' ORDER BY id" | tr '\n' ' ')
		rc=0
		"$SLUICE" view -c "$INI" --table app.users lookup rows by_email "$e" \
		    >"$IT_DIR/lookup.out" 2>"$IT_DIR/lookup.err" || rc=$?
		got=$(sed 's/^{"id":\([0-9]*\),.*/\1/' "$IT_DIR/lookup.out" | tr '\n' ' ')
		[ "$got" = "$want" ] || it_fail "lookup by_email $e: ids '$got', table has '$want'"
		if [ -z "$want" ]; then
			[ $rc -eq 1 ] || it_fail "lookup by_email $e found nothing but exited $rc"
		else
			[ $rc -eq 0 ] || it_fail "lookup by_email $e exited $rc: $(cat "$IT_DIR/lookup.err")"
			if grep -Fxvf "$IT_DIR/users.view" "$IT_DIR/lookup.out" >"$IT_DIR/lookup.extra"; then
				it_fail "lookup by_email $e printed a row unlike the scan's: $(head -c 300 "$IT_DIR/lookup.extra")"
			fi
		fi
	done
}

my_wait_assigned 60
my_sql_file "$IT_DIR/work.sql" || it_fail "work.sql failed"
my_views_settle "after the workload"

# the secondary index answers like a WHERE clause
lookup_check e0@x e3@x e7@x e9@x nobody@x
[ "$(my_sql "SELECT count(*) FROM users WHERE email = 'e3@x'")" -gt 0 ] ||
	it_fail "no user has e3@x (users 4000 should)"
# a word of one row finds that row, also deep in a 200 kB body; rolled back
# words find nothing
search_expect 0 zyzzyvaword
[ "$(wc -l <"$IT_DIR/search.out")" = 1 ] && grep -q '"row":{"id":7000,' "$IT_DIR/search.out" ||
	it_fail "zyzzyvaword does not find docs 7000 alone: $(head -c 300 "$IT_DIR/search.out")"
search_expect 0 deepword
grep -q '"row":{"id":7001,' "$IT_DIR/search.out" || it_fail "deepword does not find docs 7001"
search_expect 1 rollbackword
search_expect 1 rolledbacktitle
my_sql "DELETE FROM docs WHERE id = 7000"
my_views_settle "after deleting docs 7000"
search_expect 1 zyzzyvaword
[ -s "$IT_DIR/search.out" ] && it_fail "a search that found nothing printed rows"

# ---- SIGKILL materialize while the workload runs, start it again
rm -f "$IT_DIR/work.stop"
(
	k=0
	while [ ! -f "$IT_DIR/work.stop" ] || [ $k -lt 40 ]; do
		my_sql_file "$IT_DIR/kill-$((k % 40)).sql" || exit 1
		k=$((k + 1))
	done
	echo "$k" >"$IT_DIR/work.count"
) &
WORK=$!
it_track "$WORK"
sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 8 + 2 ))"
mat_kill
it_log "materialize killed (SIGKILL) mid-workload"
mat_start
touch "$IT_DIR/work.stop"
my_wait_assigned 60
wait "$WORK" || it_fail "the workload around the kill failed"
it_log "$(cat "$IT_DIR/work.count") workload files around the kill"
my_views_settle "after the kill"
lookup_check e0@x e5@x e9@x
tail -n +"$MAT_LINES" "$IT_DIR/mat.log" | grep -q "assigned my\.app\.[a-z_]*/[0-9] from stored offset" ||
	it_fail "the restarted materializer did not resume from stored offsets: $(tail -n +"$MAT_LINES" "$IT_DIR/mat.log" | grep assigned | head -3)"

# ---- the comparison catches a row changed behind capture's back
victim=$(my_sql "SELECT id FROM users ORDER BY id LIMIT 1")
my_sql "SET sql_log_bin = 0; UPDATE users SET tiny = IF(tiny <=> 5, 6, 5) WHERE id = $victim"
mycap_wait_caught_up app 60
my_views_equal && it_fail "the comparison did not notice users $victim changed outside the binlog"
grep -q "column tiny" "$IT_DIR/users.diff" ||
	{ cat "$IT_DIR/users.diff" >&2; it_fail "the comparison did not name column tiny of users $victim"; }
it_log "an unlogged change is caught: $(head -n 1 "$IT_DIR/users.diff")"

# ---- point reads: present keys (integer, composite) and deleted ones
line=$(grep '^{"id":4000,' "$IT_DIR/users.view") || it_fail "users 4000 is not in the scan"
rc=0
"$SLUICE" view -c "$INI" --table app.users get rows 4000 >"$IT_DIR/get.out" 2>"$IT_DIR/get.err" || rc=$?
[ $rc -eq 0 ] && [ "$(cat "$IT_DIR/get.out")" = "$line" ] ||
	it_fail "get rows 4000 exited $rc and printed '$(head -c 200 "$IT_DIR/get.out")' $(cat "$IT_DIR/get.err"), not the scan's row"
line=$(grep '^{"ord":99,"line":"big",' "$IT_DIR/line_items.view") || it_fail "line_items (99, big) is not in the scan"
rc=0
"$SLUICE" view -c "$INI" --table app.line_items get rows 99 big >"$IT_DIR/get.out" 2>"$IT_DIR/get.err" || rc=$?
[ $rc -eq 0 ] && [ "$(cat "$IT_DIR/get.out")" = "$line" ] ||
	it_fail "get rows 99 big exited $rc and printed '$(head -c 200 "$IT_DIR/get.out")' $(cat "$IT_DIR/get.err"), not the scan's row"
for k in "app.users 4001" "app.line_items 98 gone"; do
	# shellcheck disable=SC2086
	set -- $k
	t=$1
	shift
	rc=0
	"$SLUICE" view -c "$INI" --table "$t" get rows "$@" >"$IT_DIR/get.out" 2>&1 || rc=$?
	[ $rc -eq 1 ] || it_fail "get rows $* of $t (deleted) exited $rc, not 1: $(head -c 200 "$IT_DIR/get.out")"
done

mat_stop
grep -q "sluice: materialize\| ERROR " "$IT_DIR/mat.log" &&
	it_fail "materialize logged an error: $(grep 'sluice: materialize\| ERROR ' "$IT_DIR/mat.log" | head -3)"
mycap_stop app
it_log "ok"
