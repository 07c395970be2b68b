#!/bin/sh
# Run every tests/integration/test_*.sh; each starts the servers it needs in a
# temp dir on non-default ports and stops them by PID.  Prints one line per
# test and the closing "N passed, N failed" line.  A failed test's whole log
# stays in /tmp/sluice-it-*.log; a passing test's is removed.
# Environment: SLUICE (the built command), BUILD (the build folder).
# ONLY=name runs tests whose file name contains it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
failed=""
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	case "$name" in *"${ONLY:-}"*) ;; *) continue ;; esac
	start=$(date +%s)
	log=$(mktemp /tmp/sluice-it-XXXXXX.log)
	if sh "$t" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $name ($(( $(date +%s) - start ))s)"
		rm -f "$log"	# a failure's log is kept and named below
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name ($(( $(date +%s) - start ))s); last lines of $log:"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
