#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_HTTP are set through eval
# test_http.sh: the broker's HTTP port serves /health (200 "ok") and
# /metrics (Prometheus text) whose counters follow real traffic, and 404 for
# anything else (DESIGN.md section 3.7).
. "$(dirname "$0")/lib.sh"

it_broker_start b
it_topic_create b http-t 2
url="http://127.0.0.1:$b_HTTP"

code=$(curl -s -o "$IT_DIR/health.txt" -w '%{http_code}' "$url/health") ||
	it_fail "GET /health failed"
[ "$code" = 200 ] || it_fail "GET /health answered $code"
grep -qi '^ok' "$IT_DIR/health.txt" || it_fail "/health body: $(cat "$IT_DIR/health.txt")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/no-such-page") || it_fail "GET /no-such-page failed"
[ "$code" = 404 ] || it_fail "GET /no-such-page answered $code, expected 404"

# metric NAME: its value (first sample without labels) from /metrics.
metric() {
	curl -s "$url/metrics" | awk -v n="$1" '$1 == n { print $2; f = 1; exit } END { if (!f) print "missing" }'
}
curl -s -D "$IT_DIR/mh.txt" -o "$IT_DIR/m0.txt" "$url/metrics" || it_fail "GET /metrics failed"
grep -qi '^content-type: text/plain' "$IT_DIR/mh.txt" || it_fail "/metrics is not text/plain"
grep -q '^# TYPE sluice_broker_produced_batches_total counter' "$IT_DIR/m0.txt" ||
	it_fail "/metrics lacks a TYPE line for sluice_broker_produced_batches_total"
# Every sample line is NAME[{labels}] VALUE.
if grep -v '^#' "$IT_DIR/m0.txt" | grep -v '^$' | grep -Evq '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+(Inf)?$'; then
	grep -v '^#' "$IT_DIR/m0.txt" | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+(Inf)?$' | head -n 3 >&2
	it_fail "/metrics has lines that are not Prometheus samples"
fi
b0=$(metric sluice_broker_produced_batches_total)
s0=$(metric sluice_broker_syncs_total)
if [ "$b0" = missing ] || [ "$s0" = missing ]; then it_fail "/metrics lacks produced_batches_total or syncs_total"; fi

# 10 acks=all batches of 100 messages each: counters move by at least that.
for _ in $(seq 1 10); do
	seq 1 100 | kcat -P -b "$b_ADDR" -t http-t -p 0 -X acks=all || it_fail "kcat produce failed"
done
b1=$(metric sluice_broker_produced_batches_total)
s1=$(metric sluice_broker_syncs_total)
[ $((b1 - b0)) -ge 10 ] || it_fail "produced_batches_total went $b0 -> $b1 after 10 batches"
[ $((s1 - s0)) -ge 1 ] || it_fail "syncs_total went $s0 -> $s1 after acks=all produce"
n=$(kcat -C -b "$b_ADDR" -t http-t -o beginning -e -q | wc -l)
[ "$n" -eq 1000 ] || it_fail "read back $n of 1000 messages"
f1=$(metric sluice_broker_fetched_bytes_total)
if [ "$f1" = missing ] || [ "${f1%.*}" -le 0 ]; then it_fail "fetched_bytes_total is '$f1' after a fetch"; fi
echo "test_http: ok"
