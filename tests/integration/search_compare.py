#!/usr/bin/python3
"""tests/integration/search_compare.py: compare a sqlite-fts view with its table.

usage: search_compare.py [--quick] [--absent FILE] [--query Q]...
                         SLUICE INI VIEW DB TABLE_JSON

TABLE_JSON is psql's output of
    SELECT json_agg(json_build_object('id', id::text, 'title', title, ...))
i.e. one object per table row with every column as PostgreSQL's own text
(null for NULL); "id" is the key, "title" and "body" the indexed columns.
DB is the view's search.db, opened read-only (file:DB?mode=ro) with
Python's sqlite3, so the check never writes to the view.

Checked always (the file itself):
  - docs, fts and the table have the same number of rows; every fts row
    belongs to a docs row;
  - the (title, body) pairs of fts joined to docs are, as a multiset, the
    table's (title, body) pairs: every row indexed once with its current
    text, whatever the internal encoding of docs.row.
Checked unless --quick (through `sluice search`, as a user would):
  - every word tok<N> in a table row finds exactly the rows holding it,
    each printed once as {"table":"public.docs","rank":..,"row":{..}} with
    "row" equal to the table row value for value (view_compare.py's
    rules), best rank first;
  - every word of the --absent FILE that no table row holds finds nothing:
    exit 1 and no output;
  - each --query Q ("word" or "column:word") finds exactly the rows whose
    text holds that word (in that column).
Prints one line saying what matched; exits 1 naming the first difference.
"""
import json
import re
import sqlite3
import subprocess
import sys
import unicodedata

FTS_COLUMNS = ("title", "body")
TOKEN = re.compile(r"^tok[0-9]+$")


def words(text):
    """The words FTS5's default tokenizer (unicode61 remove_diacritics 2)
    makes of 'text': runs of letters and digits, folded to lower case and
    stripped of diacritics."""
    if text is None:
        return set()
    out = set()
    for w in re.findall(r"[^\W_]+", text):
        w = unicodedata.normalize("NFKD", w.lower())
        out.add("".join(c for c in w if not unicodedata.combining(c)))
    return out


def pg_text(v):
    """A value of `sluice view` JSON (parsed with numbers kept as their
    literal) as PostgreSQL's text, as view_compare.py does."""
    if v is None:
        return None
    if v is True:
        return "t"
    if v is False:
        return "f"
    return str(v)


class Mismatch(Exception):
    pass


def check_file(db, table):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        n_docs = con.execute("SELECT count(*) FROM docs").fetchone()[0]
        n_fts = con.execute("SELECT count(*) FROM fts").fetchone()[0]
        orphans = con.execute(
            "SELECT count(*) FROM fts WHERE rowid NOT IN (SELECT id FROM docs)").fetchone()[0]
        pairs = con.execute(
            "SELECT f.title, f.body FROM docs d JOIN fts f ON f.rowid = d.id").fetchall()
    finally:
        con.close()
    if n_docs != len(table):
        raise Mismatch("docs has %d rows, the table %d" % (n_docs, len(table)))
    if n_fts != len(table) or orphans:
        raise Mismatch("fts has %d rows (%d without a docs row), the table %d"
                       % (n_fts, orphans, len(table)))
    got = sorted(pairs, key=repr)
    want = sorted(((r["title"], r["body"]) for r in table), key=repr)
    if got != want:
        extra = [p for p in got if p not in want]
        missing = [p for p in want if p not in got]
        short = lambda ps: [(t, (b or "")[:60]) for t, b in ps[:3]]
        raise Mismatch("fts text differs from the table: %d indexed pairs not in the "
                       "table %s, %d table pairs not indexed %s"
                       % (len(extra), short(extra), len(missing), short(missing)))


def search(sluice, ini, view, query):
    p = subprocess.run([sluice, "search", "-c", ini, view, query, "--limit", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def check_query(sluice, ini, view, table, by_id, query, want):
    rc, out, err = search(sluice, ini, view, query)
    if not want:
        if rc != 1 or out:
            raise Mismatch("search %r: exit %d, %d lines, expected exit 1 and nothing "
                           "(stderr %r; first line %r)"
                           % (query, rc, len(out.splitlines()), err[:200], out[:300]))
        return
    if rc != 0:
        raise Mismatch("search %r: exit %d (stderr %r), expected rows %s"
                       % (query, rc, err[:300], sorted(want)))
    ids, last = [], None
    for line in out.splitlines():
        obj = json.loads(line, parse_int=str, parse_float=str, parse_constant=str)
        if obj.get("table") != "public.docs":
            raise Mismatch("search %r: table %r in %s" % (query, obj.get("table"), line[:200]))
        rank = float(obj["rank"])
        if last is not None and rank < last:
            raise Mismatch("search %r: rank %r after %r: not best first" % (query, rank, last))
        last = rank
        row = obj["row"]
        rid = pg_text(row.get("id"))
        if rid not in by_id:
            raise Mismatch("search %r: row id %r is not in the table: %s"
                           % (query, rid, line[:300]))
        trow = by_id[rid]
        if set(row) != set(trow):
            raise Mismatch("search %r: row %s has columns %s, the table %s"
                           % (query, rid, sorted(row), sorted(trow)))
        for col, tv in trow.items():
            if pg_text(row[col]) != tv:
                raise Mismatch("search %r: row %s column %s: view %r, table %r"
                               % (query, rid, col, (pg_text(row[col]) or "")[:100],
                                  (tv or "")[:100]))
        ids.append(rid)
    if len(ids) != len(set(ids)):
        raise Mismatch("search %r: a row printed twice: %s" % (query, sorted(ids)))
    if set(ids) != want:
        raise Mismatch("search %r: rows %s, expected %s (extra %s, missing %s)"
                       % (query, sorted(ids), sorted(want), sorted(set(ids) - want),
                          sorted(want - set(ids))))


def main(argv):
    quick, absent_file, queries = False, None, []
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--quick":
            quick = True
        elif opt == "--absent":
            absent_file = argv.pop(0)
        elif opt == "--query":
            queries.append(argv.pop(0))
        else:
            print("unknown option %s" % opt)
            return 2
    sluice, ini, view, db, table_json = argv
    with open(table_json, encoding="utf-8") as f:
        table = json.loads(f.read() or "null") or []
    by_id = {r["id"]: r for r in table}
    text_words = {r["id"]: {c: words(r[c]) for c in FTS_COLUMNS} for r in table}
    try:
        check_file(db, table)
        if quick:
            print("file equal: %d rows" % len(table))
            return 0
        live = {}
        for rid, cw in text_words.items():
            for w in set().union(*cw.values()):
                live.setdefault(w, set()).add(rid)
        tokens = sorted(w for w in live if TOKEN.match(w))
        for tok in tokens:
            check_query(sluice, ini, view, table, by_id, tok, live[tok])
        absent = []
        if absent_file:
            with open(absent_file, encoding="utf-8") as f:
                absent = sorted({w for w in f.read().split() if w not in live})
        # FTS5 expressions nest at most 256 deep: ask 40 words at a time,
        # then one by one to name a word that was found
        for i in range(0, len(absent), 40):
            chunk = absent[i:i + 40]
            rc, out, _ = search(sluice, ini, view, " OR ".join(chunk))
            if rc != 1 or out:
                for w in chunk:
                    check_query(sluice, ini, view, table, by_id, w, set())
                raise Mismatch("search of %d absent words exits %d with %d lines"
                               % (len(chunk), rc, len(out.splitlines())))
        for q in queries:
            col, _, w = q.rpartition(":")
            want = {rid for rid, cw in text_words.items()
                    if w in (cw[col] if col else set().union(*cw.values()))}
            check_query(sluice, ini, view, table, by_id, q, want)
    except Mismatch as e:
        print(e)
        return 1
    print("equal: %d rows, %d tokens found, %d absent words not found, %d queries"
          % (len(table), len(tokens), len(absent), len(queries)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
