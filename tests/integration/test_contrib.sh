#!/bin/sh
# test_contrib.sh: the systemd units of contrib/systemd/ pass `systemd-analyze
# verify` without a warning (ExecStart pointed at the sluice under test, the
# configuration at a copy of contrib/sluice.ini), a misspelt key in a copy is
# reported (so the check can fail), and contrib/sluice.ini loads: `sluice
# status` on it reports every component (all down here) and no
# configuration error, and says which variable is missing without it; and
# contrib/pg_sluice builds with PGXS without a warning.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
command -v systemd-analyze >/dev/null ||
	it_fail "systemd-analyze not found (scripts/deps.sh installs the systemd package)"
case $SLUICE in /*) ;; *) it_fail "SLUICE must be an absolute path for ExecStart, not $SLUICE" ;; esac

mkdir -p "$IT_DIR/units"
cp "$top/contrib/sluice.ini" "$IT_DIR/sluice.ini"
for f in "$top"/contrib/systemd/*.service; do
	sed -e "s|/usr/local/bin/sluice|$SLUICE|" -e "s|/etc/sluice/sluice.ini|$IT_DIR/sluice.ini|" \
	    "$f" >"$IT_DIR/units/$(basename "$f")"
done
[ "$(ls "$IT_DIR/units" | wc -l)" -ge 4 ] || it_fail "contrib/systemd has fewer than 4 units"

# verify UNIT...: systemd-analyze verify in the units' folder (templates by
# an instance name), its output in verify.out.
verify() {
	(cd "$IT_DIR/units" && systemd-analyze verify "$@") >"$IT_DIR/verify.out" 2>&1
}
verify sluice-broker.service sluice-up.service sluice-capture@app.service \
    sluice-materialize@users.service ||
	it_fail "systemd-analyze verify failed: $(cat "$IT_DIR/verify.out")"
[ ! -s "$IT_DIR/verify.out" ] || it_fail "systemd-analyze verify warns: $(cat "$IT_DIR/verify.out")"
it_log "4 units verified"

sed 's/^KillSignal=/KillSignl=/' "$IT_DIR/units/sluice-broker.service" >"$IT_DIR/units/bad.service"
verify bad.service || true
grep -q "KillSignl" "$IT_DIR/verify.out" || it_fail "a misspelt key went unreported: $(cat "$IT_DIR/verify.out")"

# the example configuration: every component reported, no configuration error
rc=0
REDIS_PASSWORD=secret "$SLUICE" status -c "$IT_DIR/sluice.ini" --timeout 1000 >"$IT_DIR/status.out" 2>&1 || rc=$?
[ $rc -eq 3 ] || it_fail "status on contrib/sluice.ini exited $rc, not 3 (all down): $(cat "$IT_DIR/status.out")"
for c in "^broker  127.0.0.1:9092: down" "^source  app: " "^view    users: " "^view    search: " "^view    cache: "; do
	grep -q "$c" "$IT_DIR/status.out" || it_fail "status does not report '$c': $(cat "$IT_DIR/status.out")"
done
! grep -q "sluice.ini:[0-9]" "$IT_DIR/status.out" || it_fail "contrib/sluice.ini has a configuration error: $(cat "$IT_DIR/status.out")"
! grep -q "secret" "$IT_DIR/status.out" || it_fail "status printed the Redis password"
rc=0
env -u REDIS_PASSWORD "$SLUICE" status -c "$IT_DIR/sluice.ini" --timeout 1000 >"$IT_DIR/status.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "REDIS_PASSWORD is not set" "$IT_DIR/status.out" ||
	it_fail "without REDIS_PASSWORD: exit $rc, $(cat "$IT_DIR/status.out")"
it_log "contrib/sluice.ini loads"

# contrib/pg_sluice builds with PGXS, as docs/pg_sluice.md tells users to
# (in a copy: PGXS writes beside the sources; `install` is left to users)
pgc=/usr/lib/postgresql/15/bin/pg_config
[ -x "$pgc" ] || pgc=pg_config
cp -r "$top/contrib/pg_sluice" "$IT_DIR/pgxs"
rm -f "$IT_DIR/pgxs/"*.so "$IT_DIR/pgxs/"*.o
make -C "$IT_DIR/pgxs" USE_PGXS=1 PG_CONFIG="$pgc" >"$IT_DIR/pgxs.log" 2>&1 ||
	it_fail "the PGXS build of contrib/pg_sluice failed: $(tail -n 5 "$IT_DIR/pgxs.log")"
[ -f "$IT_DIR/pgxs/pg_sluice.so" ] || it_fail "the PGXS build made no pg_sluice.so"
! grep -q "warning:" "$IT_DIR/pgxs.log" || it_fail "the PGXS build warns: $(grep warning: "$IT_DIR/pgxs.log")"
nm -D "$IT_DIR/pgxs/pg_sluice.so" | grep -q " T _PG_output_plugin_init$" ||
	it_fail "pg_sluice.so does not export _PG_output_plugin_init"
it_log "contrib/pg_sluice builds with PGXS"
