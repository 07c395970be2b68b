#!/usr/bin/python3
"""ListOffsets checks through kafka-python, for test_list_offsets.sh.

Usage: list_offsets.py BOOTSTRAP TOPIC FIRST_TS COUNT STEP_MS

TOPIC has one partition holding COUNT records, record i with timestamp
FIRST_TS + i * STEP_MS.  Checks beginning/end offsets and, for several
target times, offsets_for_times(): the first record whose timestamp is at
or after the target, with that record's own timestamp (None past the end),
as Kafka answers.  Exit 0 on success, 1 with the reasons on stderr.
"""
import sys

from kafka import KafkaConsumer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
first, count, step = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tp = TopicPartition(topic, 0)
c = KafkaConsumer(bootstrap_servers=bootstrap, client_id="list-offsets")
bad = []
b = c.beginning_offsets([tp])[tp]
e = c.end_offsets([tp])[tp]
if (b, e) != (0, count):
    bad.append("beginning/end offsets %d/%d, expected 0/%d" % (b, e, count))
for i in (0, 1, 17, 500, count // 2 + 3, count - 1):
    for delta in (0, -1, -(step - 1)):
        target = first + i * step + delta
        if target < first:
            want = (0, first)
        else:
            want = (i, first + i * step)
        got = c.offsets_for_times({tp: target})[tp]
        if got is None or (got.offset, got.timestamp) != want:
            bad.append("offsets_for_times(%d) (record %d %+d ms) = %r, expected offset %d timestamp %d"
                       % (target, i, delta, got, want[0], want[1]))
past = c.offsets_for_times({tp: first + count * step})[tp]
if past is not None:
    bad.append("offsets_for_times past the last record = %r, expected None" % (past,))
c.close()
for line in bad:
    print("list_offsets: FAIL: " + line, file=sys.stderr)
if bad:
    sys.exit(1)
print("list_offsets: ok")
