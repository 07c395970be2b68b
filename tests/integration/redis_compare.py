#!/usr/bin/python3
"""tests/integration/redis_compare.py: compare a redis view with its tables.

usage: redis_compare.py check --port PORT --prefix PREFIX [--bootstrap ADDR]
                              [--partitions N] --table SPEC...
       redis_compare.py watch --port PORT --stop FILE KEY...
       redis_compare.py hgetall --port PORT KEY

It speaks RESP to the Redis at 127.0.0.1:PORT itself (a few lines below),
as python3's `redis` module is not always installed; it only reads.

check: each --table SPEC is SCHEMA.TABLE:KEYCOLS:TOPIC:JSON_FILE, KEYCOLS
the primary-key columns joined by ',' and JSON_FILE psql's output of
    SELECT json_agg(json_build_object('col', col::text, ...))
(one object per table row, every column as PostgreSQL's own text, booleans
cast to text as true/false, null for NULL).  Checked:
  - every key of the database (SCAN) is under PREFIX, and is a row key
    <PREFIX><schema.table>:<key text joined by ':'> of a table row,
    <PREFIX>__offsets or <PREFIX>__gen: no stale row, no leftover
    <PREFIX>__rebuild:* key, nothing else;
  - every table row has its key, a hash whose fields are exactly the row's
    non-NULL columns with the table's text, plus __pos = "<partition>:<offset>"
    with the partition below N and the offset below the stored next offset
    of that topic's partition; no two rows of a table share a __pos;
  - <PREFIX>__offsets has one field "<topic>:<partition>" per partition of
    every topic (N each), each an integer; with --bootstrap, each equals the
    partition's end offset on the broker (call it once the view is caught
    up and nothing more is produced);
  - <PREFIX>__gen, when present, is an integer.
Prints one line saying what matched; exits 1 naming the first differences.

watch: read (HGETALL) every KEY in a loop on one connection until FILE
exists; each read must equal the first one.  Prints the number of reads and
exits 1 if any read differed (missing, partial or changed).

hgetall: print the hash at KEY as a JSON object (fields sorted).
"""
import json
import os
import re
import socket
import sys


class RespError(Exception):
    pass


class Resp:
    """A minimal RESP2 client: one connection, one command at a time."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode("utf-8")
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.reply()

    def line(self):
        s = self.f.readline()
        if not s.endswith(b"\r\n"):
            raise RespError("connection closed mid-reply")
        return s[:-2]

    def reply(self):
        s = self.line()
        t, rest = s[:1], s[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RespError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            if len(data) != n + 2:
                raise RespError("connection closed mid-bulk")
            return data[:-2]
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.reply() for _ in range(n)]
        raise RespError("unexpected reply %r" % s[:80])

    def scan_all(self):
        keys, cursor = [], b"0"
        while True:
            cursor, batch = self.call("SCAN", cursor, "COUNT", 1000)
            keys.extend(batch)
            if cursor == b"0":
                return set(keys)

    def hgetall(self, key):
        flat = self.call("HGETALL", key)
        return {flat[i].decode("utf-8"): flat[i + 1].decode("utf-8")
                for i in range(0, len(flat), 2)}


class Mismatch(Exception):
    pass


def short(v, n=80):
    if v is None:
        return None
    return v if len(v) <= n else "%s...(%d chars)" % (v[:n], len(v))


def parse_tables(specs):
    tables = []
    for spec in specs:
        name, keycols, topic, path = spec.split(":", 3)
        with open(path, encoding="utf-8") as f:
            rows = json.load(f) or []
        tables.append((name, keycols.split(","), topic, rows))
    return tables


def end_offsets(bootstrap, topics, partitions):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        ends = c.end_offsets(tps)
        return {"%s:%d" % (tp.topic, tp.partition): v for tp, v in ends.items()}
    finally:
        c.close()


def check(r, prefix, tables, partitions, bootstrap):
    problems = []

    def bad(msg):
        problems.append(msg)
        if len(problems) >= 8:
            raise Mismatch("\n".join(problems))

    keys = {k.decode("utf-8") for k in r.scan_all()}
    off_key, gen_key = prefix + "__offsets", prefix + "__gen"

    # __offsets: one integer field per partition of every topic
    offs = {}
    if off_key not in keys:
        bad("%s is missing" % off_key)
    else:
        if r.call("TYPE", off_key) != b"hash":
            raise Mismatch("%s is a %s, not a hash" % (off_key, r.call("TYPE", off_key)))
        offs = r.hgetall(off_key)
        want = {"%s:%d" % (t[2], p) for t in tables for p in range(partitions)}
        if set(offs) != want:
            bad("%s has fields %s, expected %s" % (off_key, sorted(offs), sorted(want)))
        for f, v in sorted(offs.items()):
            if not re.fullmatch(r"[0-9]+", v):
                bad("%s field %s is %r, not an offset" % (off_key, f, v))
        if bootstrap and not problems:
            ends = end_offsets(bootstrap, [t[2] for t in tables], partitions)
            for f in sorted(want):
                if int(offs[f]) != ends[f]:
                    bad("%s field %s is %s, the partition ends at %d"
                        % (off_key, f, offs[f], ends[f]))
    if gen_key in keys:
        g = r.call("GET", gen_key)
        if g is None or not re.fullmatch(rb"[0-9]+", g):
            bad("%s is %r, not a generation number" % (gen_key, g))

    # every table row: its hash, exactly
    expected = {}
    counts = []
    big = 0
    for name, keycols, topic, rows in tables:
        seen_pos = {}
        for row in rows:
            ktext = ":".join(row[k] for k in keycols)
            key = "%s%s:%s" % (prefix, name, ktext)
            if key in expected:
                raise Mismatch("two table rows map to key %r" % key)
            expected[key] = row
            if key not in keys:
                bad("row %s %s: key %r is missing" % (name, ktext, key))
                continue
            t = r.call("TYPE", key)
            if t != b"hash":
                bad("row %s %s: key %r is a %s, not a hash" % (name, ktext, key, t))
                continue
            h = r.hgetall(key)
            pos = h.pop("__pos", None)
            want = {c: v for c, v in row.items() if v is not None}
            if h != want:
                for c in sorted(set(h) | set(want)):
                    if h.get(c) != want.get(c):
                        what = ("field %s: redis %r, table %r" % (c, short(h.get(c)), short(want.get(c))))
                        if c not in h:
                            what = "field %s missing (table %r)" % (c, short(want[c]))
                        elif c not in want:
                            what = ("field %s: redis %r, the table's column is NULL or absent"
                                    % (c, short(h[c])))
                        bad("row %s %s (%s): %s" % (name, ktext, key, what))
                        break
                continue
            if any(len(v) > 100000 for v in want.values()):
                big += 1
            m = re.fullmatch(r"([0-9]+):([0-9]+)", pos or "")
            if m is None:
                bad("row %s %s: __pos is %r, not <partition>:<offset>" % (name, ktext, pos))
                continue
            p, o = int(m.group(1)), int(m.group(2))
            nxt = offs.get("%s:%d" % (topic, p))
            if p >= partitions:
                bad("row %s %s: __pos %s names partition %d of %d" % (name, ktext, pos, p, partitions))
            elif nxt is not None and re.fullmatch(r"[0-9]+", nxt) and o >= int(nxt):
                bad("row %s %s: __pos %s is not below the stored next offset %s"
                    % (name, ktext, pos, nxt))
            if pos in seen_pos:
                bad("rows %s and %s of %s have the same __pos %s" % (seen_pos[pos], ktext, name, pos))
            seen_pos[pos] = ktext
        counts.append("%d %s rows" % (len(rows), name))

    # nothing else: no stale row, no leftover rebuild key
    extra = sorted(k for k in keys if k not in expected and k not in (off_key, gen_key))
    if extra:
        kinds = {}
        for k in extra:
            if k.startswith(prefix + "__rebuild:"):
                kinds.setdefault("leftover rebuild keys", []).append(k)
            elif any(k.startswith("%s%s:" % (prefix, t[0])) for t in tables):
                kinds.setdefault("keys of rows the table does not have", []).append(k)
            else:
                kinds.setdefault("unexpected keys", []).append(k)
        for what, ks in sorted(kinds.items()):
            bad("%d %s: %s" % (len(ks), what, ks[:5]))
    if problems:
        raise Mismatch("\n".join(problems))
    return "equal: %s (%d with a value over 100 kB), %d offsets%s" % (
        ", ".join(counts), big, len(offs), " at the partitions' ends" if bootstrap else "")


def watch(r, stop, keys):
    first = [r.hgetall(k) for k in keys]
    for k, h in zip(keys, first):
        if not h:
            print("watch: %s is missing at the start" % k)
            return 1
    reads, bad = 0, []
    while not os.path.exists(stop):
        for k, h0 in zip(keys, first):
            h = r.hgetall(k)
            reads += 1
            if h != h0:
                bad.append("%s: %s" % (k, "missing" if not h else
                                       "fields %s, was %s" % (sorted(h), sorted(h0))))
    print("watch: %d reads of %d keys, %d differed%s" % (
        reads, len(keys), len(bad), (": " + "; ".join(bad[:3])) if bad else ""))
    return 1 if bad else 0


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd = argv.pop(0)
    port, prefix, bootstrap, stop, partitions, tables, rest = None, None, None, None, 3, [], []
    while argv:
        a = argv.pop(0)
        if a == "--port":
            port = int(argv.pop(0))
        elif a == "--prefix":
            prefix = argv.pop(0)
        elif a == "--bootstrap":
            bootstrap = argv.pop(0)
        elif a == "--partitions":
            partitions = int(argv.pop(0))
        elif a == "--table":
            tables.append(argv.pop(0))
        elif a == "--stop":
            stop = argv.pop(0)
        elif a.startswith("--"):
            print("unknown option %s" % a)
            return 2
        else:
            rest.append(a)
    r = Resp(port)
    try:
        if cmd == "check":
            try:
                print(check(r, prefix, parse_tables(tables), partitions, bootstrap))
            except Mismatch as e:
                print(e)
                return 1
            return 0
        if cmd == "watch":
            return watch(r, stop, rest)
        if cmd == "hgetall":
            print(json.dumps(r.hgetall(rest[0]), sort_keys=True))
            return 0
    finally:
        r.close()
    print("unknown command %s" % cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
