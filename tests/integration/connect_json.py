#!/usr/bin/python3
"""tests/integration/connect_json.py: check a topic written with
json.schemas = true as Kafka Connect's JsonConverter (schemas.enable=true)
would read it: every key and value is {"schema": ..., "payload": ...}, the
payload conforms to the schema (struct fields exactly, optional, int ranges,
base64 bytes, arrays, Debezium's logical types), and nulls stay null
(tombstones).

usage: connect_json.py DUMP [--expect-field TYPE:NAME:FIELD ...] [--expect-required FIELD ...]

DUMP is what it_topic_dump wrote (partition, offset, key, value, headers).
Each --expect-field TYPE:NAME:FIELD asks that the value schema's "after"
struct has FIELD with that Connect type and logical name ('-' for none);
--expect-required FIELD that FIELD is not optional there.
Prints a summary; exit 1 with the first problems.
"""
import base64
import json
import sys

RANGES = {"int8": 1 << 7, "int16": 1 << 15, "int32": 1 << 31, "int64": 1 << 63}
NONFINITE = ("NaN", "Infinity", "-Infinity")


def check(schema, value, where, errs):
    if value is None:
        if not schema.get("optional", False):
            errs.append("%s: null for a non-optional %s" % (where, schema.get("type")))
        return
    t = schema.get("type")
    if t == "struct":
        if not isinstance(value, dict):
            errs.append("%s: %r is not an object" % (where, value))
            return
        names = [f["field"] for f in schema["fields"]]
        if sorted(names) != sorted(value):
            errs.append("%s: fields %s, payload has %s" % (where, names, sorted(value)))
            return
        for f in schema["fields"]:
            check(f, value[f["field"]], where + "." + f["field"], errs)
    elif t == "array":
        if not isinstance(value, list):
            errs.append("%s: %r is not an array" % (where, value))
            return
        for i, v in enumerate(value):
            check(schema["items"], v, "%s[%d]" % (where, i), errs)
    elif t in RANGES:
        if isinstance(value, bool) or not isinstance(value, int) or \
                not -RANGES[t] <= value < RANGES[t]:
            errs.append("%s: %r is not an %s" % (where, value, t))
    elif t in ("float", "double"):
        if isinstance(value, bool) or not (isinstance(value, (int, float)) or
                                           value in NONFINITE):
            errs.append("%s: %r is not a %s" % (where, value, t))
    elif t == "boolean":
        if not isinstance(value, bool):
            errs.append("%s: %r is not a boolean" % (where, value))
    elif t == "string":
        if not isinstance(value, str):
            errs.append("%s: %r is not a string" % (where, value))
    elif t == "bytes":
        try:
            base64.b64decode(value, validate=True)
        except Exception:
            errs.append("%s: %r is not base64 bytes" % (where, value))
    else:
        errs.append("%s: unknown schema type %r" % (where, t))


def main():
    dump = sys.argv[1]
    expect = []
    required = []
    args = sys.argv[2:]
    while args:
        if args[0] == "--expect-field" and len(args) > 1:
            expect.append(args[1].split(":", 2))
            args = args[2:]
        elif args[0] == "--expect-required" and len(args) > 1:
            required.append(args[1])
            args = args[2:]
        else:
            sys.exit("usage: connect_json.py DUMP [--expect-field TYPE:NAME:FIELD ...] "
                     "[--expect-required FIELD ...]")
    errs = []
    n = tomb = 0
    after = None
    for line in open(dump):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 5:
            continue
        for what, text in (("key", parts[2]), ("value", parts[3])):
            if text == "NULL" or text == "":
                tomb += what == "value"
                continue
            try:
                doc = json.loads(text)
            except ValueError:
                errs.append("offset %s %s: not JSON" % (parts[1], what))
                continue
            if not isinstance(doc, dict) or sorted(doc) != ["payload", "schema"]:
                errs.append("offset %s %s: not {schema, payload}" % (parts[1], what))
                continue
            check(doc["schema"], doc["payload"], "offset %s %s" % (parts[1], what), errs)
            if what == "value" and doc["schema"].get("type") == "struct":
                for f in doc["schema"]["fields"]:
                    if f["field"] == "after" and f.get("type") == "struct":
                        after = f
        n += 1
    for field in required:
        got = [f for f in (after or {}).get("fields", []) if f["field"] == field]
        if not got or got[0].get("optional", False):
            errs.append("after.%s is not a required field" % field)
    if after is None and (expect or required):
        errs.append("no value schema with an 'after' struct")
    for t, name, field in expect:
        got = [f for f in (after or {}).get("fields", []) if f["field"] == field]
        if not got:
            errs.append("after has no field %s" % field)
        elif got[0].get("type") != t or got[0].get("name", "-") != name:
            errs.append("after.%s is %s/%s, not %s/%s" % (field, got[0].get("type"),
                                                           got[0].get("name", "-"), t, name))
    print("connect_json: %d messages (%d tombstones), %d problems" % (n, tomb, len(errs)))
    for e in errs[:10]:
        print("  " + e)
    return 1 if errs or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
