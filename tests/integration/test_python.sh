#!/bin/sh
# shellcheck disable=SC2154 # b_ADDR, b_PORT, cN_pid are set through eval
# test_python.sh: kafka-python (Debian's python3-kafka, run by /usr/bin/python3)
# produces keyed messages with headers, plain and gzip, acks=all, and a
# consumer group reads them back; committed offsets are honoured by the next
# member of the group.  The checks live in python/kp_roundtrip.py.
. "$(dirname "$0")/lib.sh"

"$IT_PY" -c 'import kafka' 2>/dev/null ||
	it_fail "$IT_PY cannot import kafka (install python3-kafka: scripts/deps.sh)"
it_broker_start b
it_topic_create b py-topic 3
"$IT_PY" "$(dirname "$0")/python/kp_roundtrip.py" "$b_ADDR" py-topic 3 ||
	it_fail "kafka-python round trip failed"
echo "test_python: ok"
