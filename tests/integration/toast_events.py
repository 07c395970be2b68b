"""toast_events.py BOOTSTRAP TOPIC PARTITIONS: check that the events of row
9001 on TOPIC are an insert carrying its large TOASTed column (the word
"deepstart", over 100 kB) and two updates without it (capture's unchanged
marker: under 8 kB each).  The events are told by the row's other text
("toast alpha", "toast omega"), which protobuf carries as plain bytes.
Prints the three sizes; fails (exit 1) otherwise.  Used by test_search_e2e
and test_redis_e2e to show their "still holds the large value" checks test
the unchanged-value path and not a full image."""
import sys
from kafka import KafkaConsumer, TopicPartition

bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
tps = [TopicPartition(topic, p) for p in range(n)]
c.assign(tps)
c.seek_to_beginning()
ends = c.end_offsets(tps)
seen = []
while any(c.position(tp) < ends[tp] for tp in tps):
    for recs in c.poll(timeout_ms=2000).values():
        for m in recs:
            v = m.value or b""
            if b"toast alpha" in v or b"toast omega" in v:
                seen.append((len(v), b"deepstart" in v))
sizes = [s for s, _ in seen]
assert len(seen) == 3, "%d events of row 9001: %s" % (len(seen), seen)
assert seen[0][1] and seen[0][0] > 100000, "the insert: %s" % (seen[0],)
assert not seen[1][1] and not seen[2][1] and max(sizes[1:]) < 8000, \
    "the updates: %s" % (seen[1:],)
print("row 9001: insert %d bytes, updates %d and %d bytes" % tuple(sizes))
