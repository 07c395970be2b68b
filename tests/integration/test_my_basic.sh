#!/bin/sh
# test_my_basic.sh: a real MariaDB 10.11 through `sluice capture` (type =
# mysql, format json, json.decimal_handling = string, 3 partitions) end to
# end.  Table ty has a column of every type docs/types.md maps (signed and
# unsigned integers of every width at their extremes, float, double,
# decimal(20,6) and (65,30), date, time(6) with negative values,
# datetime(6), timestamp(6), year, char, varchar, text, a 100 kB
# mediumtext, varbinary, blob, enum, set, bit(1), bit(12), json,
# binary(4) (zero-padded), NULLs and zero dates); ck has a composite
# primary key; nk has none (null Kafka key, cleanup.policy delete); audit
# is excluded by `!app.audit` and gets no topic.  (FLOAT is compared
# exactly: the table is read with CAST(f AS DOUBLE), as capture's snapshot
# reads it; BIT(1) must be a boolean, as Debezium's.)  Rows written before capture
# starts arrive as op r; then a random workload (deterministic from SEED,
# printed) of inserts, updates (some changing the primary key), deletes,
# multi-statement transactions, ROLLBACK, ROLLBACK TO SAVEPOINT and a
# TRUNCATE runs, and once capture stored the server's binlog position
# every table topic replays to the table value for value (my_replay.py).
# Rolled-back work never appears, deletes are followed by tombstones, the
# source block names the binlog position.  The comparison is shown to
# catch one corrupted value, and a second source with format = protobuf
# (its own replica id, streaming beside the first) delivers Key and Event
# messages that decode, in the right number; capture stores its position
# as the contract says and not again while the binlog stands still;
# /health answers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/my_lib.sh"

SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
it_log "SEED=$SEED (rerun with SEED=$SEED)"

my_start
it_broker_start b
my_sql "CREATE TABLE ty (
  id int PRIMARY KEY,
  ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
  mi mediumint, miu mediumint unsigned, i int, iu int unsigned,
  bi bigint, biu bigint unsigned, f float, d double,
  dec1 decimal(20,6), dec2 decimal(65,30), dt date, tm time(6), dtm datetime(6),
  ts timestamp(6) NULL DEFAULT NULL, yr year, ch char(10), vc varchar(255), tx text,
  mt mediumtext, vb varbinary(64), bl blob, en enum('a','b','c d','é'),
  st set('x','y','z'), b1 bit(1), b12 bit(12), js json, bn binary(4));
CREATE TABLE ck (a int, b varchar(20), v text, n bigint unsigned, PRIMARY KEY (a, b));
CREATE TABLE nk (x int, y varchar(20));
CREATE TABLE w (id int PRIMARY KEY, v varchar(64), n int, d decimal(10,2));
CREATE TABLE audit (id int PRIMARY KEY, note varchar(40));"

# The workload, as SQL: pre.sql before capture starts, work.sql after.
$IT_PY - "$SEED" "$IT_DIR" <<'EOF' || it_fail "the workload generator failed"
import random, sys
seed, out = int(sys.argv[1]), sys.argv[2]
R = random.Random(seed)
MARK = "ROLLED-BACK-MARK"

def s(text):
    return "_utf8mb4 X'%s'" % text.encode("utf-8").hex() if text is not None else "NULL"
def b(data):
    return "X'%s'" % data.hex()
def ustr(n):
    alpha = "abcXYZ 019\t\n\\'\"%_é€😀ßж\x00,"
    return "".join(R.choice(alpha) for _ in range(n))
def dec(intd, frac):
    i = "".join(R.choice("0123456789") for _ in range(R.randint(1, intd))).lstrip("0") or "0"
    f = "".join(R.choice("0123456789") for _ in range(frac))
    return "%s%s.%s" % (R.choice(["", "-"]), i, f)
def rdate():
    return "'%04d-%02d-%02d'" % (R.randint(1000, 9999), R.randint(1, 12), R.randint(1, 28))
def rtime():
    return "'%s%d:%02d:%02d.%06d'" % (R.choice(["", "-"]), R.randint(0, 838), R.randint(0, 59),
                                     R.randint(0, 59), R.randint(0, 999999))
def rdatetime():
    return "'%04d-%02d-%02d %02d:%02d:%02d.%06d'" % (R.randint(1000, 9999), R.randint(1, 12),
        R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999999))
def rts():
    return "'%04d-%02d-%02d %02d:%02d:%02d.%06d'" % (R.randint(1971, 2037), R.randint(1, 12),
        R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999999))
def rint(lo, hi):
    return str(R.choice([lo, hi, 0, R.randint(lo, hi)]))
GEN = {
    "ti": lambda: rint(-128, 127), "tiu": lambda: rint(0, 255),
    "si": lambda: rint(-32768, 32767), "siu": lambda: rint(0, 65535),
    "mi": lambda: rint(-8388608, 8388607), "miu": lambda: rint(0, 16777215),
    "i": lambda: rint(-2**31, 2**31 - 1), "iu": lambda: rint(0, 2**32 - 1),
    "bi": lambda: rint(-2**63, 2**63 - 1), "biu": lambda: rint(0, 2**64 - 1),
    "f": lambda: R.choice(["1.5", "-3.4028234e38", "1.17549435e-38", repr(R.uniform(-1e6, 1e6))]),
    "d": lambda: R.choice(["-1.7976931348623157e308", "2.2250738585072014e-308", "5e-324",
                           repr(R.uniform(-1e12, 1e12)), repr(R.random())]),
    "dec1": lambda: "'%s'" % dec(14, 6), "dec2": lambda: "'%s'" % dec(35, 30),
    "dt": lambda: R.choice([rdate(), "'0000-00-00'"]), "tm": rtime,
    "dtm": lambda: R.choice([rdatetime(), rdatetime(), "'0000-00-00 00:00:00'"]),
    "ts": lambda: R.choice([rts(), rts(), "'0000-00-00 00:00:00'"]),
    "yr": lambda: str(R.choice([0, 1901, 2155, R.randint(1901, 2155)])),
    "ch": lambda: s(ustr(R.randint(0, 10)).rstrip(" ")),
    "vc": lambda: s(ustr(R.randint(0, 60))), "tx": lambda: s(ustr(R.randint(0, 500))),
    "mt": lambda: s(R.choice([ustr(20), ustr(20), ustr(20), "m" * 100000 + ustr(10)])),
    "vb": lambda: b(R.randbytes(R.randint(0, 64))), "bl": lambda: b(R.randbytes(R.randint(0, 2000))),
    "en": lambda: R.choice(["'a'", "'b'", "'c d'", s("é")]),
    "st": lambda: "'%s'" % ",".join(x for x in "xyz" if R.random() < 0.5),
    "b1": lambda: R.choice(["b'0'", "b'1'"]),
    "b12": lambda: "b'%s'" % "".join(R.choice("01") for _ in range(12)),
    "js": lambda: s(R.choice(['{"a": [1, 2.5, "x\\n"], "b": null}', "[]", "null", '"text"', "{}"])),
    "bn": lambda: b(R.randbytes(R.randint(0, 4))),
}
COLS = list(GEN)

def ty_insert(i):
    vals = [GEN[c]() if R.random() > 0.1 else "NULL" for c in COLS]
    return "INSERT INTO ty (id, %s) VALUES (%d, %s);" % (", ".join(COLS), i, ", ".join(vals))

pre = ["SET time_zone = '+00:00';"]
pre.append("""INSERT INTO ty VALUES
 (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, -3.4028234e38,
  -1.7976931348623157e308, '-99999999999999.999999',
  '-99999999999999999999999999999999999.999999999999999999999999999999', '1000-01-01',
  '-838:59:59.000000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', 1901,
  '', '', '', '', X'', X'', 'a', '', b'0', b'000000000000', '[]', X''),
 (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807,
  18446744073709551615, 3.4028234e38, 1.7976931348623157e308, '99999999999999.999999',
  '99999999999999999999999999999999999.999999999999999999999999999999', '9999-12-31',
  '838:59:59.000000', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', 2155,
  %s, %s, %s, %s, X'00ff7f80', %s, 'c d', 'x,y,z', b'1', b'111111111111', %s, X'01020304'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0e0, '0.000001', '0.000000000000000000000000000001',
  '0000-00-00', '-00:00:00.000001', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 0, %s, %s,
  %s, %s, X'00', X'00', %s, 'z', b'0', b'000000000001', 'null', X'00'),
 (5, -1, 1, -1, 1, -1, 1, -1, 1, -1, 9223372036854775808, 1.1, 0.1, '-0.5', '-0.000000000000000000000000000001',
  '1969-12-31', '-12:34:56.789012', '1969-12-31 23:59:59.999999', '1970-01-01 00:00:01.000001',
  2024, 'ab   ', %s, %s, %s, X'', %s, 'b', 'x,z', b'1', b'100000000000', %s, X'ff');"""
    % (s("ÿ€😀abcdef"), s("tab\there \"q\" 'a' back\\slash nul\x00 nl\n 😀 end"),
       s("long text " * 300), s("x" * 102400), b(bytes(range(256)) * 4),
       s('{"k": "v\\n", "n": [1, 2.5e10, null], "u": "é😀"}'),
       s("é"), s(" lead"), s("t"), s("é" * 1000), s("é"),
       s("trailing  "), s(""), s("é😀" * 50000), b(b"\x00\x01"), s('{"z": 1}')))
ty_ids = set(range(1, 6))
for i in range(6, 16):
    pre.append(ty_insert(i))
    ty_ids.add(i)
ck = {}
for a in range(1, 6):
    for bb in ("one", "two", "thr\u00e9e", "four"):
        ck[(a, bb)] = True
        pre.append("INSERT INTO ck VALUES (%d, %s, %s, %d);" % (a, s(bb), s(ustr(12)), R.randint(0, 2**64 - 1)))
for k in range(10):
    pre.append("INSERT INTO nk VALUES (%d, %s);" % (k % 4, s("dup" if k % 3 == 0 else "n%d" % k)))
w_ids = set()
for k in range(1, 101):
    w_ids.add(k)
    pre.append("INSERT INTO w VALUES (%d, %s, %d, %s);" % (k, s("snap%d" % k), k, dec(6, 2)))
for k in range(5):
    pre.append("INSERT INTO audit VALUES (%d, 'AUDIT-ONLY');" % k)

work = ["SET time_zone = '+00:00';"]
next_ty = 100
next_w = 1000

def stmt(kind, mark=False):
    """One statement on a random table; 'mark' writes the rolled-back marker."""
    global next_ty, next_w
    t = R.random()
    v = s(MARK) if mark else None
    if t < 0.35:                          # w
        c = R.random()
        if c < 0.3 or not w_ids:
            next_w += 1
            if not mark:
                w_ids.add(next_w)
            return "INSERT INTO w VALUES (%d, %s, 0, %s);" % (next_w, v or s(ustr(20)), dec(6, 2))
        k = R.choice(sorted(w_ids))
        if c < 0.6:
            return "UPDATE w SET v = %s, n = n + 1, d = %s WHERE id = %d;" % (v or s(ustr(30)), dec(6, 2), k)
        if c < 0.7 and not mark:
            return "UPDATE w SET n = n + 1 WHERE id %% 7 = %d;" % R.randint(0, 6)
        if c < 0.8 and not mark:
            next_w += 1
            w_ids.discard(k)
            w_ids.add(next_w)
            return "UPDATE w SET id = %d WHERE id = %d;" % (next_w, k)
        if mark:
            return "UPDATE w SET v = %s WHERE id = %d;" % (v, k)
        w_ids.discard(k)
        return "DELETE FROM w WHERE id = %d;" % k
    if t < 0.6:                           # ty
        c = R.random()
        if c < 0.3:
            next_ty += 1
            if mark:
                return "INSERT INTO ty (id, vc) VALUES (%d, %s);" % (next_ty, v)
            ty_ids.add(next_ty)
            return ty_insert(next_ty)
        k = R.choice(sorted(ty_ids))
        if c < 0.8 or mark:
            cols = R.sample(COLS, R.randint(1, 4))
            sets = ["%s = %s" % (col, GEN[col]()) for col in cols]
            if mark:
                sets.append("vc = %s" % v)
            return "UPDATE ty SET %s WHERE id = %d;" % (", ".join(sets), k)
        if c < 0.9 and k > 5:
            next_ty += 1
            ty_ids.discard(k)
            ty_ids.add(next_ty)
            return "UPDATE ty SET id = %d WHERE id = %d;" % (next_ty, k)
        if k > 5:
            ty_ids.discard(k)
            return "DELETE FROM ty WHERE id = %d;" % k
        return "UPDATE ty SET tx = %s WHERE id = %d;" % (s(ustr(5)), k)
    if t < 0.8:                           # ck
        c = R.random()
        a, bb = R.randint(1, 8), R.choice(["one", "two", "x", "thr\u00e9e", "y"])
        if c < 0.4:
            if not mark:
                ck[(a, bb)] = True
            return "INSERT INTO ck VALUES (%d, %s, %s, %d) ON DUPLICATE KEY UPDATE v = VALUES(v), n = VALUES(n);" % (
                a, s(bb), v or s(ustr(8)), R.randint(0, 2**64 - 1))
        if c < 0.6 or mark:
            return "UPDATE ck SET v = %s WHERE a = %d;" % (v or s(ustr(8)), a)
        if c < 0.8:
            # the key moves; IGNORE: a row whose new key exists stays
            return "UPDATE IGNORE ck SET b = %s WHERE a = %d AND b = %s;" % (s(bb + "+"), a, s(bb))
        return "DELETE FROM ck WHERE a = %d AND b = %s;" % (a, s(bb))
    if t < 0.95:                          # nk
        c = R.random()
        if c < 0.5 or mark:
            return "INSERT INTO nk VALUES (%d, %s);" % (R.randint(0, 5), v or s(R.choice(["dup", "n", ustr(5)])))
        if c < 0.8:
            return "UPDATE nk SET y = %s WHERE x = %d LIMIT 1;" % (s(R.choice(["dup", "u"])), R.randint(0, 5))
        return "DELETE FROM nk WHERE x = %d LIMIT 1;" % R.randint(0, 5)
    return "INSERT INTO audit VALUES (%d, 'AUDIT-ONLY') ON DUPLICATE KEY UPDATE note = 'AUDIT-ONLY';" % R.randint(0, 1000)

for n in range(300):
    r = R.random()
    if n == 150:
        work.append("TRUNCATE TABLE ck;")
        ck.clear()
    elif r < 0.6:
        work.append(stmt("auto"))
    elif r < 0.8:
        work.append("BEGIN;")
        for _ in range(R.randint(2, 6)):
            work.append(stmt("tx"))
        work.append("COMMIT;")
    elif r < 0.9:
        work.append("BEGIN;")
        saved = (set(w_ids), set(ty_ids), dict(ck), next_w, next_ty)
        for _ in range(R.randint(1, 4)):
            work.append(stmt("rb", mark=True))
        work.append("ROLLBACK;")
        w_ids, ty_ids, ck = set(saved[0]), set(saved[1]), dict(saved[2])
    else:
        work.append("BEGIN;")
        work.append(stmt("sp"))
        work.append("SAVEPOINT s1;")
        saved = (set(w_ids), set(ty_ids), dict(ck))
        for _ in range(R.randint(1, 3)):
            work.append(stmt("sp", mark=True))
        work.append("ROLLBACK TO SAVEPOINT s1;")
        w_ids, ty_ids, ck = set(saved[0]), set(saved[1]), dict(saved[2])
        work.append(stmt("sp"))
        work.append("COMMIT;")
open(out + "/pre.sql", "w").write("\n".join(pre) + "\n")
open(out + "/work.sql", "w").write("\n".join(work) + "\n")
EOF

my_sql_file "$IT_DIR/pre.sql" || it_fail "the rows before capture could not be written"
for t in ty ck nk w; do
	eval "snap_$t=$(my_sql "SELECT count(*) FROM $t")"
done

HTTP=$(it_free_port)
mycap_config app "$b_ADDR" "tables = app.*, !app.audit" "format = json" \
    "json.decimal_handling = string" "topic.partitions = 3" "snapshot = initial" \
    "http = 127.0.0.1:$HTTP"
mycap_start app
my_sql_file "$IT_DIR/work.sql" || it_fail "the workload failed (SEED=$SEED)"
it_log "workload done: $(grep -c ';' "$IT_DIR/work.sql") statements; binlog at $(my_master_status)"
mycap_wait_caught_up app 60
kill -0 "$(mycap_pid app)" || it_fail "capture stopped: $(tail -n 3 "$IT_DIR/cap-app.log")"

my_replay_tables "$b_ADDR" ty ck nk w
fails=$MY_REPLAY_FAILS

# the comparison catches one corrupted value
$IT_PY - "$IT_DIR/ty.dump" "$IT_DIR/bad.dump" <<'EOF' || it_fail "could not corrupt the dump"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
for i in range(len(lines) - 1, -1, -1):
    f = lines[i].split("\t")
    if len(f) == 5 and f[3] != "NULL":
        ev = json.loads(f[3])
        if ev["op"] in ("c", "r", "u") and ev["after"]["id"] == 2:
            v = ev["after"]["biu"]
            ev["after"]["biu"] = v ^ 1 if isinstance(v, int) else 5
            f[3] = json.dumps(ev, separators=(",", ":"))
            lines[i] = "\t".join(f)
            break
else:
    sys.exit("no event of row 2")
open(sys.argv[2], "w").write("\n".join(lines))
EOF
if $IT_PY "$(dirname "$0")/my_replay.py" "$IT_DIR/bad.dump" "$IT_DIR/ty.want" >"$IT_DIR/bad.replay" 2>&1; then
	it_fail "my_replay.py did not notice a corrupted value"
fi
grep -q "^difference: key (2,) column biu (bigint(20) unsigned): topic" "$IT_DIR/bad.replay" ||
	{ cat "$IT_DIR/bad.replay" >&2; it_fail "my_replay.py did not name the corrupted value"; }
[ -z "$fails" ] || it_fail "replaying app.app.{$fails } does not give the tables back (SEED=$SEED)"

# op r for every row written before capture started
for t in ty ck nk w; do
	eval "want=\$snap_$t"
	got=$(grep -c '"op":"r"' "$IT_DIR/$t.dump" || true)
	[ "$got" = "$want" ] || it_fail "app.app.$t has $got snapshot events (op r), the table had $want rows"
done
grep -q "ROLLED-BACK-MARK" "$IT_DIR"/*.dump && it_fail "rolled-back work appears in a topic (SEED=$SEED)"
grep -q '"op":"t"' "$IT_DIR/ck.dump" || it_fail "TRUNCATE TABLE ck gave no op t event"
for t in w ck ty; do
	awk -F '\t' '$4 ~ /"op":"d"/ { k[$1] = $3; next }
		$1 in k { if ($4 != "NULL" || $3 != k[$1]) bad = 1; delete k[$1] }
		END { for (p in k) bad = 1; exit bad }' "$IT_DIR/$t.dump" ||
		it_fail "in app.app.$t a delete is not followed by its tombstone"
done

# no topic for the excluded table; the keyless table's topic is cleanup.policy=delete
kcat -L -b "$b_ADDR" -m 5 2>/dev/null | grep -q '"app.app.audit"' &&
	it_fail "the excluded table app.audit has a topic"
grep -q "AUDIT-ONLY" "$IT_DIR"/*.dump && it_fail "rows of the excluded table app.audit were produced"
grep -qx "cleanup.policy=delete" "$IT_DIR/b/data/topics/app.app.nk.conf" ||
	it_fail "the topic of keyless table nk is not cleanup.policy=delete: $(cat "$IT_DIR/b/data/topics/app.app.nk.conf" 2>&1)"
grep -qx "cleanup.policy=compact" "$IT_DIR/b/data/topics/app.app.w.conf" ||
	it_fail "the topic of table w is not cleanup.policy=compact"

# the source block of a streamed event and of a snapshot event
$IT_PY - "$IT_DIR/w.dump" <<'EOF' || it_fail "the source block is not as the contract says"
import json, re, sys
evs = [json.loads(l.split("\t")[3]) for l in open(sys.argv[1]) if l.split("\t")[3] != "NULL"]
c = [e for e in evs if e["op"] == "c"][0]
r = [e for e in evs if e["op"] == "r"][0]
s = c["source"]
errs = []
def want(cond, what):
    if not cond:
        errs.append(what)
want(s.get("connector") == "mysql", "connector %r" % s.get("connector"))
want(s.get("name") == "app", "name %r" % s.get("name"))
want(s.get("db") == "app", "db %r" % s.get("db"))
want(s.get("table") == "w", "table %r" % s.get("table"))
want(re.fullmatch(r"binlog\.\d{6}", s.get("file") or ""), "file %r" % s.get("file"))
want(isinstance(s.get("pos"), int) and s["pos"] > 4, "pos %r" % s.get("pos"))
want(s.get("server_id") == 1, "server_id %r" % s.get("server_id"))
want(isinstance(s.get("gtid"), str) and re.fullmatch(r"\d+-\d+-\d+", s["gtid"]), "gtid %r" % s.get("gtid"))
want(s.get("snapshot") == "false", "snapshot %r of a streamed event" % s.get("snapshot"))
want(isinstance(s.get("ts_ms"), int) and s["ts_ms"] > 1.6e12, "ts_ms %r" % s.get("ts_ms"))
want(c.get("before") is None, "an insert has a before image")
keys = ["version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "table",
        "server_id", "gtid", "file", "pos", "row", "thread", "query"]
want(not [k for k in keys if k not in s], "fields missing: %s" % [k for k in keys if k not in s])
want(sorted(c) == sorted(["before", "after", "source", "op", "ts_ms", "transaction"]),
     "envelope fields %s" % sorted(c))
want(isinstance(c.get("ts_ms"), int), "envelope ts_ms %r" % c.get("ts_ms"))
want(r["source"].get("snapshot") in ("true", "first", "last", "first_in_data_collection",
     "last_in_data_collection"), "snapshot %r of an op r event" % r["source"].get("snapshot"))
for e in errs:
    print("source block: %s in %s" % (e, json.dumps(c)[:600]))
sys.exit(1 if errs else 0)
EOF
# the stored position: {"file","pos","gtid","snapshot"}, rewritten only when it moved
kcat -C -b "$b_ADDR" -t app.offsets -o beginning -e -q -f '%k\t%s\n' >"$IT_DIR/offsets.dump" 2>/dev/null ||
	it_fail "kcat could not read app.offsets"
$IT_PY - "$IT_DIR/offsets.dump" "$(my_master_status)" <<'EOF' || it_fail "the stored position is not as the contract says"
import json, re, sys
k, v = open(sys.argv[1]).read().splitlines()[-1].split("\t", 1)
f, p = sys.argv[2].split("\t")[:2]
o = json.loads(v)
ok = (k == "app" and o.get("file") == f and o.get("pos") == int(p) and o.get("snapshot") == "done"
      and isinstance(o.get("gtid"), str) and re.fullmatch(r"\d+-\d+-\d+", o["gtid"]))
if not ok:
    print("stored %s %s, server at %s:%s" % (k, v, f, p))
sys.exit(0 if ok else 1)
EOF
n1=$(wc -l <"$IT_DIR/offsets.dump")
sleep 1.5
n2=$(kcat -C -b "$b_ADDR" -t app.offsets -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l)
[ "$n1" -eq "$n2" ] || it_fail "capture stored its position $((n2 - n1)) times in 1.5 s while the binlog did not move"
curl -sf "http://127.0.0.1:$HTTP/health" | grep -qx ok || it_fail "/health is not ok"

# format = protobuf: a second source on ck, its own prefix and replica id
mycap_config pb "$b_ADDR" "tables = app.ck" "format = protobuf" "topic_prefix = pb" "topic.partitions = 2"
mycap_start pb
rows=$(my_sql "SELECT count(*) FROM ck")
my_sql "INSERT INTO ck VALUES (99, 'pb', 'protobuf', 7); DELETE FROM ck WHERE a = 99"
mycap_wait_caught_up pb 60
kcat -C -b "$b_ADDR" -t pb.app.ck -o beginning -e -q -f '%p %o %K %S\n%k%s' >"$IT_DIR/pb.dump" 2>/dev/null ||
	it_fail "kcat could not read pb.app.ck"
$IT_PY "$(dirname "$0")/my_replay.py" --pb "$IT_DIR/pb.dump" ck a,b >"$IT_DIR/pb.out" 2>&1 ||
	{ cat "$IT_DIR/pb.out" >&2; it_fail "pb.app.ck does not decode as Key and Event"; }
grep -qx "decoded $((rows + 3)) protobuf messages: r=$rows c=1 d=1 tombstone=1" "$IT_DIR/pb.out" ||
	it_fail "pb.app.ck: $(cat "$IT_DIR/pb.out"), expected $rows snapshot rows + insert + delete + tombstone"
mycap_stop pb
mycap_stop app
grep -q "^sluice: " "$IT_DIR/cap-app.log" && it_log "capture said: $(grep '^sluice: ' "$IT_DIR/cap-app.log" | head -n 3)"
it_log "ok (SEED=$SEED)"
