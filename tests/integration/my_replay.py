#!/usr/bin/python3
"""tests/integration/my_replay.py: replay a captured MySQL/MariaDB table topic
(format json, the Debezium envelope) and compare the result with the table
itself, value by value.

usage: my_replay.py --select COLS TABLE
       my_replay.py --pb DUMP TABLE KEYCOL[,KEYCOL...]
       my_replay.py DUMP WANT [--no-dups] [--keyless]

--select prints the SELECT that reads TABLE in the normal form this script
compares (COLS is information_schema.COLUMNS' COLUMN_NAME, DATA_TYPE,
COLUMN_TYPE, COLUMN_KEY per line, tab-separated, as my_lib.sh's my_want
writes it to WANT.cols; the rows go to WANT.rows).

--pb decodes a format = protobuf topic as kcat writes it with
-f '%p %o %K %S\\n%k%s' (each record's lengths, then its bytes): every key
must be a Key naming KEYCOLs, every value an Event with a source block of
connector mysql, db app and TABLE; it prints the ops it counted.

DUMP is what mycap_dump wrote (partition, offset, key, value, headers per
line, NULL for null).  Messages are applied per partition in offset order:
c/r/u set the row of their key, d and a tombstone remove it, t empties the
partition.  A table without a primary key (--keyless, or no PRI column) is
a multiset: c/r add 'after', d removes 'before', u both.  Both sides are
brought to one normal form per column type:

  integers, year, bit     Python int (bit(M): Debezium's Bits, bytes
                          little-endian; bit(1) must be true/false)
  float                   binary32, exact: the table is read with
                          CAST(f AS DOUBLE), as capture's snapshot reads it
  double                  float
  decimal                 the text (json.decimal_handling = string)
  date                    days since 1970-01-01; zero dates None
  time                    signed microseconds
  datetime                microseconds since the epoch; zero None
  timestamp               microseconds since the epoch (UTC); zero None
  char/varchar/text/enum/ str (the table side read as HEX and decoded)
  set/json
  binary/varbinary/blob   bytes (base64 in the topic)

Every event's Kafka key must hold exactly its row's primary-key values.
Exit 0 when the replayed rows equal the table's, else 1 listing every
difference with its key and column; --no-dups also fails when a source
position (the sluice.pos header, the snapshot's 0/0:N included) occurs
twice in a partition.  A truncate (op t) has a null key; a primary-key
change must come as d + tombstone + c, never as one u.
"""
import base64
import collections
import datetime
import json
import re
import struct
import sys

INT = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"}
TEXT = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum",
        "set", "json"}
BYTES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
EPOCH = datetime.datetime(1970, 1, 1)


def kind_of(data_type):
    t = data_type.lower()
    if t in INT:
        return "int"
    if t in ("float", "double", "decimal", "date", "time", "datetime",
             "timestamp", "bit"):
        return t
    if t == "real":
        return "double"
    if t in TEXT:
        return "text"
    if t in BYTES:
        return "bytes"
    raise SystemExit("my_replay.py: no normal form for type %r" % data_type)


def read_cols(path):
    cols = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            name, data_type, col_type, key = (line.split("\t") + ["", "", ""])[:4]
            cols.append({"name": name, "kind": kind_of(data_type),
                         "type": col_type, "key": key == "PRI"})
    return cols


def select(cols, table):
    out = []
    for c in cols:
        q = "`%s`" % c["name"].replace("`", "``")
        k = c["kind"]
        if k == "float":
            out.append("CAST(%s AS DOUBLE)" % q)
        elif k == "date":
            out.append("IF(%s = 0, NULL, DATEDIFF(%s, '1970-01-01'))" % (q, q))
        elif k in ("text", "bytes"):
            out.append("HEX(%s)" % q)
        elif k == "bit":
            out.append("%s + 0" % q)
        elif k in ("time", "datetime", "timestamp"):
            out.append("CAST(%s AS CHAR)" % q)
        else:
            out.append(q)
    return "SELECT %s FROM `%s`" % (", ".join(out), table.replace("`", "``"))


class Bad:
    """A value of the wrong JSON type: never equal to anything."""

    def __init__(self, why, v):
        self.why, self.v = why, v

    def __eq__(self, other):
        return False

    def __hash__(self):
        return hash(repr(self.v))

    def __repr__(self):
        return "<%s: %r>" % (self.why, self.v)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]




def micros_of_clock(s):
    """'[-]HHH:MM:SS[.ffffff]' -> signed microseconds."""
    m = re.fullmatch(r"(-?)(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?", s)
    if not m:
        return Bad("unparsable time", s)
    us = ((int(m.group(2)) * 60 + int(m.group(3))) * 60 + int(m.group(4))) * 10**6
    us += int((m.group(5) or "0").ljust(6, "0"))
    return -us if m.group(1) else us


def micros_of_datetime(s):
    """'YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z]' -> microseconds since the epoch."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z?", s)
    if not m:
        return Bad("unparsable datetime", s)
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if y == 0 and mo == 0 and d == 0:
        return None
    try:
        dt = datetime.datetime(y, mo, d, int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return Bad("invalid datetime", s)
    frac = (m.group(7) or "0")
    us = int(frac[:6].ljust(6, "0"))
    if len(frac) > 6 and int(frac[6:]) != 0:
        return Bad("sub-microsecond datetime", s)
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**6 + us


def norm_table(kind, s):
    """A value as `mariadb -N -B` printed the --select column."""
    if s == "NULL":
        return None
    try:
        if kind in ("int", "bit", "date"):
            return int(s)
        if kind == "float":
            return f32(float(s))
        if kind == "double":
            return float(s)
        if kind == "decimal":
            return s
        if kind == "time":
            return micros_of_clock(s)
        if kind in ("datetime", "timestamp"):
            return micros_of_datetime(s)
        if kind == "text":
            return bytes.fromhex(s).decode("utf-8")
        if kind == "bytes":
            return bytes.fromhex(s)
    except ValueError as e:
        return Bad("table value %s" % e, s)
    raise AssertionError(kind)


def norm_topic(kind, v, ctype=""):
    """A value of the JSON envelope's before/after or of the key."""
    if v is None:
        return None
    if kind in ("int", "date", "time", "datetime"):
        if isinstance(v, bool) or not isinstance(v, int):
            return Bad("not an integer", v)
        return v
    if kind in ("float", "double"):
        if isinstance(v, str) and v in ("NaN", "Infinity", "-Infinity"):
            v = float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return Bad("not a number", v)
        return f32(float(v)) if kind == "float" else float(v)
    if kind == "decimal":
        return v if isinstance(v, str) else Bad("decimal not a string", v)
    if kind == "timestamp":
        if not isinstance(v, str):
            return Bad("timestamp not a string", v)
        if not v.endswith("Z"):
            return Bad("timestamp not in UTC", v)
        return micros_of_datetime(v)
    if kind == "text":
        return v if isinstance(v, str) else Bad("not a string", v)
    if kind == "bytes":
        if not isinstance(v, str):
            return Bad("bytes not base64 text", v)
        try:
            return base64.b64decode(v, validate=True)
        except ValueError:
            return Bad("bad base64", v)
    if kind == "bit":
        if ctype == "bit(1)":   # Debezium: BIT(1) is a boolean
            return int(v) if isinstance(v, bool) else Bad("bit(1) not a boolean", v)
        if not isinstance(v, str):
            return Bad("bit not bytes", v)
        try:
            return int.from_bytes(base64.b64decode(v, validate=True), "little")
        except ValueError:
            return Bad("bad base64", v)
    raise AssertionError(kind)


def show(v):
    if isinstance(v, bytes) and len(v) > 40:
        return "%r...(%d bytes)" % (v[:40], len(v))
    if isinstance(v, str) and len(v) > 60:
        return "%r...(%d chars)" % (v[:60], len(v))
    return repr(v)


def show_pair(g, w):
    """Both values; of two long strings or byte strings, where they part."""
    if type(g) is type(w) and isinstance(g, (str, bytes)) and max(len(g), len(w)) > 60:
        i = 0
        while i < min(len(g), len(w)) and g[i] == w[i]:
            i += 1
        lo = max(0, i - 10)
        return "topic %r (%d long), table %r (%d long), first difference at %d" % (
            g[lo:i + 20], len(g), w[lo:i + 20], len(w), i)
    return "topic %s, table %s" % (show(g), show(w))


def pb_fields(buf):
    """The fields of one protobuf message: [(number, wire type, value)];
    ValueError unless 'buf' is exactly a sequence of well-formed fields."""
    def varint(i):
        x = shift = 0
        while True:
            if i >= len(buf) or shift > 63:
                raise ValueError("truncated varint")
            b = buf[i]
            x |= (b & 0x7F) << shift
            i += 1
            shift += 7
            if not b & 0x80:
                return x, i
    out, i = [], 0
    while i < len(buf):
        tag, i = varint(i)
        num, wt = tag >> 3, tag & 7
        if num == 0:
            raise ValueError("field number 0")
        if wt == 0:
            v, i = varint(i)
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
            if i + n > len(buf):
                raise ValueError("truncated fixed field")
            v, i = buf[i:i + n], i + n
        elif wt == 2:
            n, i = varint(i)
            if i + n > len(buf):
                raise ValueError("truncated length-delimited field")
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def pb_check(dump, table, keynames):
    """--pb: the records kcat wrote as '%p %o %K %S\\n%k%s', decoded as
    schemas/event.proto's Key and Event; prints the op counts."""
    data = open(dump, "rb").read()
    i, n, bad = 0, 0, []
    ops = collections.Counter()
    names = {1: "c", 2: "u", 3: "d", 4: "r", 5: "t"}
    while i < len(data):
        j = data.index(b"\n", i)
        p, o, kl, vl = (int(x) for x in data[i:j].split())
        key = data[j + 1:j + 1 + max(kl, 0)]
        val = data[j + 1 + max(kl, 0):j + 1 + max(kl, 0) + max(vl, 0)]
        i = j + 1 + max(kl, 0) + max(vl, 0)
        n += 1
        where = "partition %d offset %d" % (p, o)
        try:
            cols = [dict((f, v) for f, _, v in pb_fields(c)) for f, _, c in pb_fields(key) if f == 1]
            got = [c.get(1, b"").decode() for c in cols]
            if got != keynames:
                bad.append("%s: key columns %s, not %s" % (where, got, keynames))
            if vl < 0:
                ops["tombstone"] += 1
                continue
            ev = pb_fields(val)
            op = names.get(dict((f, v) for f, wt, v in ev if wt == 0).get(1, 0), "?")
            ops[op] += 1
            src = dict((f, v) for f, wt, v in pb_fields(dict((f, v) for f, _, v in ev).get(7, b"")))
            want = {1: b"mysql", 3: b"app", 5: table.encode()}
            if op == "?" or any(src.get(f) != v for f, v in want.items()):
                bad.append("%s: op %s, source %s" % (where, op, src))
            for f, wt, v in ev:
                if f in (3, 4):
                    pb_fields(v)    # every Value decodes
        except ValueError as e:
            bad.append("%s: not protobuf: %s" % (where, e))
    print("decoded %d protobuf messages:%s" % (n, "".join(
        " %s=%d" % (k, ops[k]) for k in ("r", "c", "u", "d", "t", "tombstone", "?") if ops[k])))
    for b in bad[:20]:
        print("problem: " + b)
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    if args and args[0] == "--select":
        print(select(read_cols(args[1]), args[2]))
        return 0
    if args and args[0] == "--pb":
        return pb_check(args[1], args[2], args[3].split(","))
    if len(args) < 2:
        print(__doc__)
        return 2
    dump, want = args[0], args[1]
    no_dups = "--no-dups" in args[2:]
    cols = read_cols(want + ".cols")
    names = [c["name"] for c in cols]
    keycols = [c for c in cols if c["key"]]
    keyless = "--keyless" in args[2:] or not keycols
    problems = []       # event-level contract violations

    def norm_row(img, where):
        if not isinstance(img, dict):
            problems.append("%s: image is %r, not an object" % (where, img))
            return None
        extra = set(img) - set(names)
        missing = [n for n in names if n not in img]
        if extra or missing:
            problems.append("%s: columns differ from the table's: extra %s, missing %s"
                            % (where, sorted(extra), missing))
        return tuple(norm_topic(c["kind"], img.get(c["name"]), c["type"]) for c in cols)

    def pk_of(row):
        return tuple(row[i] for i, c in enumerate(cols) if c["key"])

    msgs = []
    with open(dump) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) < 5:
                print("bad dump line: %r" % line[:200])
                return 1
            msgs.append((int(parts[0]), int(parts[1]), parts[2], parts[3], parts[4]))
    msgs.sort(key=lambda m: (m[0], m[1]))

    state = {}                  # keyed: key text -> (partition, row)
    bags = collections.defaultdict(collections.Counter)     # keyless: partition -> rows
    seen = {}
    dups = 0
    ops = collections.Counter()
    for p, o, key, value, headers in msgs:
        where = "partition %d offset %d" % (p, o)
        h = dict(kv.split("=", 1) for kv in headers.split(",") if "=" in kv)
        if "sluice.pos" not in h:
            problems.append("%s: no sluice.pos header (%r)" % (where, headers[:80]))
        else:
            pos = (p, h["sluice.pos"], value == "NULL")
            if pos in seen:
                dups += 1
                if dups <= 5:
                    print("duplicate position %s at offsets %d and %d" % (pos, seen[pos], o))
            seen[pos] = o
        if keyless and key != "NULL" and key != "":
            problems.append("%s: a table without a primary key has key %r" % (where, key))
        kv = None
        is_truncate = value != "NULL" and '"op":"t"' in value
        if not keyless and not is_truncate:     # a truncate's key is null
            try:
                kj = json.loads(key)
                if not isinstance(kj, dict) or sorted(kj) != sorted(c["name"] for c in keycols):
                    problems.append("%s: key %s does not name exactly the primary key %s"
                                    % (where, key, [c["name"] for c in keycols]))
                else:
                    kv = tuple(norm_topic(c["kind"], kj[c["name"]], c["type"]) for c in keycols)
            except ValueError:
                problems.append("%s: key %r is not JSON" % (where, key))
        if value == "NULL":
            ops["tombstone"] += 1
            if not keyless:
                state.pop(key, None)
            continue
        try:
            ev = json.loads(value)
        except ValueError:
            problems.append("%s: value is not JSON: %r" % (where, value[:100]))
            continue
        op = ev.get("op")
        ops[op] += 1
        if op in ("c", "r", "u", "d"):
            img = ev.get("before") if op == "d" else ev.get("after")
            row = norm_row(img, "%s op %s" % (where, op))
            if row is None:
                continue
            before = None
            if op == "u" and ev.get("before") is not None:
                before = norm_row(ev["before"], "%s op u before" % where)
            if keyless:
                if op in ("u", "d"):
                    b = row if op == "d" else before
                    if b is None:
                        problems.append("%s: op %s without a before image" % (where, op))
                    else:
                        bags[p][b] -= 1
                if op != "d":
                    bags[p][row] += 1
                continue
            if kv is not None and pk_of(row) != kv:
                problems.append("%s op %s: key %s but the row's primary key is %s"
                                % (where, op, key, pk_of(row)))
            if before is not None and pk_of(before) != pk_of(row):
                problems.append("%s: a primary-key change %s -> %s came as op u, not d + c"
                                % (where, pk_of(before), pk_of(row)))
            if op == "d":
                state.pop(key, None)
            else:
                state[key] = (p, row)
        elif op == "t":
            if keyless:
                bags[p].clear()
            else:
                for k in [k for k, v in state.items() if v[0] == p]:
                    del state[k]
        else:
            problems.append("%s: unknown op %r" % (where, op))

    want_rows = []
    with open(want + ".rows") as f:
        for line in f:
            line = line.rstrip("\n")
            parts = line.split("\t")
            if len(parts) != len(cols):
                print("bad table row (%d fields, %d columns): %r" % (len(parts), len(cols), line[:200]))
                return 1
            want_rows.append(tuple(norm_table(c["kind"], s) for c, s in zip(cols, parts)))

    rc = 0
    diffs = []
    if keyless:
        got = collections.Counter()
        for bag in bags.values():
            got.update(bag)     # update adds counts, negative ones included
        for r, n in got.items():
            if n < 0:
                diffs.append("removed %d more times than added: %s" % (-n, [show(v) for v in r]))
        got = +got
        want_c = collections.Counter(want_rows)
        for r in sorted(set(want_c) | set(got), key=repr):
            if want_c[r] != got[r]:
                diffs.append("row %s: %d in the topic, %d in the table"
                             % ([show(v) for v in r], got[r], want_c[r]))
        n_got = sum(got.values())
    else:
        got = {}
        for _, row in state.values():
            k = pk_of(row)
            if k in got:
                diffs.append("key %s twice in the replay (two Kafka keys)" % (k,))
            got[k] = row
        want_d = {}
        for r in want_rows:
            want_d[pk_of(r)] = r
        for k in sorted(set(got) | set(want_d), key=repr):
            g, w = got.get(k), want_d.get(k)
            if g is None:
                diffs.append("key %s: missing from the topic" % (k,))
            elif w is None:
                diffs.append("key %s: in the topic, not in the table: %s"
                             % (k, [show(v) for v in g]))
            else:
                for c, gv, wv in zip(cols, g, w):
                    if gv != wv or type(gv) is not type(wv):
                        diffs.append("key %s column %s (%s): %s"
                                     % (k, c["name"], c["type"], show_pair(gv, wv)))
        n_got = len(got)
    print("replayed %d messages %s: %d rows, table has %d" % (
        len(msgs), dict(ops), n_got, len(want_rows)))
    for d in diffs[:100]:
        print("difference: " + d)
    if len(diffs) > 100:
        print("... %d differences in all" % len(diffs))
    for pr in problems[:50]:
        print("problem: " + pr)
    if len(problems) > 50:
        print("... %d problems in all" % len(problems))
    if diffs or problems:
        rc = 1
    if no_dups and dups:
        print("%d duplicated positions" % dups)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
