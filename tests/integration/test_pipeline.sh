#!/bin/sh
# test_pipeline.sh: several requests written at once on one connection (a
# Fetch long poll, two ApiVersions, an acks=all Produce) are all dispatched
# but answered strictly in request order, as Kafka clients require.
. "$(dirname "$0")/lib.sh"
it_broker_start b
it_topic_create b pipe 1
"$IT_PY" "$(dirname "$0")/python/pipeline.py" 127.0.0.1 "$b_PORT" pipe ||
	it_fail "pipelined requests were not answered in order"
n=$(kcat -C -b "$b_ADDR" -t pipe -o beginning -e -q -f '%s\n' | grep -c '^pipelined$')
[ "$n" -eq 1 ] || it_fail "the pipelined produce stored $n records, expected 1"
it_broker_stop b
echo "test_pipeline: ok"
