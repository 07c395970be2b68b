#!/usr/bin/python3
"""tests/integration/pg_replay.py: replay a captured table topic (format json,
the Debezium envelope) and compare the result with the table itself.

usage: pg_replay.py DUMP EXPECTED [--no-dups]

DUMP is what cap_dump wrote (partition, offset, key, value, headers per line,
NULL for a null value); EXPECTED is the table as psql prints
`SELECT coalesce(json_agg(t), '[]') FROM t`.  Messages are applied per
partition in offset order: c/r/u set the row of their key, d and a
tombstone remove it, t empties the partition.  Exit 0 when the replayed
rows equal the table's (as multisets of JSON objects), else 1 with the
differences; --no-dups also fails when a source position (the sluice.pos
header) occurs twice in a partition.
"""
import json
import sys


def main():
    dump, expected = sys.argv[1], sys.argv[2]
    no_dups = "--no-dups" in sys.argv[3:]
    msgs = []
    with open(dump) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) < 5:
                print("bad dump line: %r" % line)
                return 1
            msgs.append((int(parts[0]), int(parts[1]), parts[2], parts[3], parts[4]))
    msgs.sort(key=lambda m: (m[0], m[1]))
    state = {}          # key text -> (partition, row)
    seen = {}
    dups = 0
    ops = {}
    for p, o, key, value, headers in msgs:
        h = dict(kv.split("=", 1) for kv in headers.split(",") if "=" in kv)
        if "sluice.pos" in h:
            lsn, seq = h["sluice.pos"].split(":", 1)
        else:
            lsn, seq = h.get("sluice.lsn"), h.get("sluice.seq")
        pos = (p, lsn, seq, value == "NULL")
        if pos in seen and pos[1] != "0/0":
            dups += 1
            if dups <= 5:
                print("duplicate position %s at offsets %d and %d" % (pos, seen[pos], o))
        seen[pos] = o
        if value == "NULL":
            state.pop(key, None)
            continue
        ev = json.loads(value)
        op = ev.get("op")
        ops[op] = ops.get(op, 0) + 1
        if op in ("c", "r", "u"):
            state[key] = (p, ev["after"])
        elif op == "d":
            state.pop(key, None)
        elif op == "t":
            for k in [k for k, v in state.items() if v[0] == p]:
                del state[k]
    with open(expected) as f:
        want = json.load(f) or []
    got = [row for _, row in state.values()]
    norm = lambda rows: sorted(json.dumps(r, sort_keys=True) for r in rows)
    g, w = norm(got), norm(want)
    print("replayed %d messages %s: %d rows, table has %d" % (len(msgs), ops, len(g), len(w)))
    rc = 0
    if g != w:
        gs, ws = set(g), set(w)
        for r in sorted(ws - gs)[:5]:
            print("missing from the topic: %s" % r)
        for r in sorted(gs - ws)[:5]:
            print("not in the table:       %s" % r)
        rc = 1
    if no_dups and dups:
        print("%d duplicated positions" % dups)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
