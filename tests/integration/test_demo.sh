#!/bin/sh
# test_demo.sh: `make demo` runs to the end (issue: the quickstart works from
# a fresh clone).  Runs the same script with the binary under test; the
# script checks that the view equals the table and exits non-zero otherwise.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/sluice-test-demo-XXXXXX.log)
if ! SLUICE="$SLUICE" sh "$here/scripts/demo.sh" >"$out" 2>&1; then
	tail -n 60 "$out"
	rm -f "$out"
	exit 1
fi
grep -q '^demo finished$' "$out" || { tail -n 30 "$out"; rm -f "$out"; exit 1; }
grep -q '"id":1,"name":"Ada Lovelace","city":"Paris"' "$out" ||
	{ echo "the update did not reach the view"; rm -f "$out"; exit 1; }
rm -f "$out"
echo "demo ran to the end"
