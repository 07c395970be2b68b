#!/usr/bin/python3
"""tests/integration/view_compare.py: compare a view with its table.

usage: view_compare.py VIEW_JSONL TABLE_DUMP

VIEW_JSONL is `sluice view scan` output (one JSON object per row, in key
order).  TABLE_DUMP is `psql -A -t -F US -R RS` output of
`SELECT * FROM t ORDER BY <key> COLLATE "C"` with `\\pset null` set to
<NULL>: PostgreSQL's own text for every value.  Every view value is turned
back into that text (numbers keep their literal, booleans become t/f, null
becomes <NULL>) and the two are compared row for row, value for value.
Exits 1 naming the first difference.
"""
import json
import sys

US, RS, NULL = "\x1f", "\x1e", "<NULL>"


def view_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            obj = json.loads(line, parse_int=str, parse_float=str,
                             parse_constant=str)
            row = []
            for v in obj.values():
                if v is None:
                    row.append(NULL)
                elif v is True:
                    row.append("t")
                elif v is False:
                    row.append("f")
                else:
                    row.append(str(v))
            rows.append(row)
    return rows


def table_rows(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.rstrip("\n")
    if text.endswith(RS):
        text = text[:-1]
    if not text:
        return []
    return [r.lstrip("\n").split(US) for r in text.split(RS)]


def main():
    v = view_rows(sys.argv[1])
    t = table_rows(sys.argv[2])
    for i, (a, b) in enumerate(zip(v, t)):
        if a != b:
            for j, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    print("row %d column %d: view %r, table %r" % (i, j, x[:200], y[:200]))
                    break
            else:
                print("row %d: view has %d columns, table %d" % (i, len(a), len(b)))
            print("  view : %r" % (a[:6],))
            print("  table: %r" % (b[:6],))
            return 1
    if len(v) != len(t):
        print("view has %d rows, table %d" % (len(v), len(t)))
        return 1
    print("equal: %d rows" % len(v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
