#!/usr/bin/python3
"""tests/integration/my_view_compare.py: compare a view of a MariaDB table
with the table, row for row and value for value.

usage: my_view_compare.py [--search TABLE] VIEW_OUT WANT

WANT is what my_lib.sh's my_want wrote: WANT.cols (name, data type, column
type, key per column) and WANT.rows (the table read in my_replay.py's
normal form, with `SET time_zone = '+00:00'`).  VIEW_OUT is one JSON object
per line: `sluice view scan` output, whose rows must come in key order, or,
with --search, `sluice search ... --limit 0` output, objects
{"table": TABLE, "rank": .., "snippet": .., "row": {..}} in rank order,
compared by key.

How `sluice view` prints a MySQL column (a view of a protobuf topic from a
mysql source: the columns carry no PostgreSQL type, so the value's kind
decides; materialize/row.c, value_json), and the normal form both sides
are brought to (the table side as my_replay.py's norm_table reads it):

  MySQL type                 view prints                 normal form
  tinyint .. bigint          JSON integer                int
  bigint unsigned            JSON integer (up to 2^64-1) int
  decimal(p,s)               JSON string, MySQL's text   str ("-0.500")
  date                       JSON string "2024-01-31"    int: days since
                             (as PostgreSQL prints a     1970-01-01; zero
                             date); null for the zero    date None
                             date
  datetime(6)                JSON string "2024-01-31     int: micros since
                             12:00:00.123456" (no zone)  1970-01-01; zero None
  timestamp(6)               JSON string "2024-01-31     int: micros since
                             12:00:00.123456+00" (UTC);  the epoch (the table
                             null for the zero           read in UTC); zero
                             timestamp                   None
  char, varchar, text,       JSON string (UTF-8, JSON    str
  mediumtext, enum           escapes for control chars)
  binary, varbinary, blob    JSON string "\\\\x" + hex   bytes
  NULL                       null                        None

A view value of the wrong JSON type (a string for an integer, a boolean,
...) is never equal to anything.  Checked: the view's column names are the
table's, in table order; the view holds exactly the table's keys, and every
value is equal; a scan's rows are in key order (integers by value, text by
its UTF-8 bytes, the view's key encoding, docs/views.md).  Prints
"equal: N rows" and exits 0, or names the differences (at most 8) and
exits 1.
"""
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from my_replay import Bad, micros_of_datetime, norm_table, read_cols, show  # noqa: E402


def norm_view(kind, v):
    """A value of `sluice view` JSON in the normal form above."""
    if v is None:
        return None
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            return Bad("not a JSON integer", v)
        return v
    if kind in ("date", "datetime", "timestamp"):
        if not isinstance(v, str):
            return Bad("not a JSON string", v)
        if kind == "date":
            m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", v)
            if not m:
                return Bad("not a date", v)
            return (datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) -
                    datetime.date(1970, 1, 1)).days
        if kind == "timestamp":
            if not v.endswith("+00"):
                return Bad("a timestamp not in UTC", v)
            v = v[:-3]
        return micros_of_datetime(v)
    if kind in ("decimal", "text"):
        return v if isinstance(v, str) else Bad("not a JSON string", v)
    if kind == "bytes":
        if not isinstance(v, str) or not v.startswith("\\x"):
            return Bad("bytes not \\x-hex", v)
        try:
            return bytes.fromhex(v[2:])
        except ValueError:
            return Bad("bad hex", v)
    return Bad("no normal form for a %s column" % kind, v)


def sort_key(cols, row):
    """The order of the view's key encoding: integers by value, text by bytes."""
    out = []
    for c, v in zip(cols, row):
        if not c["key"]:
            continue
        if isinstance(v, str):
            out.append((1, v.encode("utf-8")))
        elif isinstance(v, int):
            out.append((0, v))
        else:
            out.append((2, repr(v)))
    return tuple(out)


def key_text(cols, row):
    """The key columns of 'row' as the table has them: (1, 'a')."""
    return "(%s)" % ", ".join(show(v) for c, v in zip(cols, row) if c["key"])


def cut_at_nul(a, b):
    """' (cut at its first NUL)' when view value 'a' is table value 'b' up
    to b's first NUL."""
    if isinstance(a, str) and isinstance(b, str) and "\0" in b and a == b[:b.index("\0")]:
        return " (cut at its first NUL, offset %d)" % len(a)
    return ""


def main(argv):
    search = None
    if argv and argv[0] == "--search":
        search = argv[1]
        argv = argv[2:]
    if len(argv) != 2:
        print(__doc__)
        return 2
    view_out, want = argv
    cols = read_cols(want + ".cols")
    for c in cols:
        if c["kind"] not in ("int", "decimal", "date", "datetime", "timestamp", "text",
                             "bytes"):
            raise SystemExit("my_view_compare.py: column %s (%s) has no normal form here"
                             % (c["name"], c["type"]))
    names = [c["name"] for c in cols]
    problems = []

    table = {}
    with open(want + ".rows", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            row = tuple(norm_table(c["kind"], s) for c, s in zip(cols, line.split("\t")))
            table[sort_key(cols, row)] = row

    view = {}
    order = []
    names_of = {k: key_text(cols, r) for k, r in table.items()}
    with open(view_out, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            if search is not None:
                if obj.get("table") != search:
                    problems.append("line %d: table %r, not %r" % (n, obj.get("table"), search))
                obj = obj.get("row")
            if not isinstance(obj, dict) or list(obj) != names:
                problems.append("line %d: columns %r, table has %r"
                                % (n, list(obj) if isinstance(obj, dict) else obj, names))
                continue
            row = tuple(norm_view(c["kind"], obj[c["name"]]) for c in cols)
            k = sort_key(cols, row)
            names_of.setdefault(k, key_text(cols, row))
            if k in view:
                problems.append("line %d: key %s printed twice" % (n, names_of[k]))
            view[k] = row
            order.append(k)
    if search is None and order != sorted(order):
        at = next(i for i in range(1, len(order)) if order[i] < order[i - 1])
        problems.append("scan not in key order: %s after %s"
                        % (names_of[order[at]], names_of[order[at - 1]]))

    for k in sorted(set(view) | set(table)):
        if k not in table:
            problems.append("key %s: in the view, not in the table" % names_of[k])
        elif k not in view:
            problems.append("key %s: in the table, not in the view" % names_of[k])
        else:
            for c, a, b in zip(cols, view[k], table[k]):
                if not a == b:
                    problems.append("key %s column %s: view %s, table %s%s"
                                    % (names_of[k], c["name"], show(a), show(b), cut_at_nul(a, b)))
    if problems:
        for p in problems[:8]:
            print(p)
        if len(problems) > 8:
            print("... %d differences in all" % len(problems))
        print("view %d rows, table %d" % (len(view), len(table)))
        return 1
    print("equal: %d rows" % len(view))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
