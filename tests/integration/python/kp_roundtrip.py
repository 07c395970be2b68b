#!/usr/bin/python3
"""kafka-python round trip against `sluice broker`, for test_python.sh.

Usage: kp_roundtrip.py BOOTSTRAP TOPIC PARTITIONS

Produces keyed messages with headers (half uncompressed, half gzip) with
acks=all, then consumes them with a consumer group and checks every key,
value, header, partition and offset against the producer's record metadata.
Then a second member of the same group must see nothing old (the first one
committed), and exactly the messages produced after that.  Run with Debian's
/usr/bin/python3, which has python3-kafka.  Exit 0 on success, 1 on a
failed check (the reason on stderr).
"""
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

N = 5000


def fail(msg):
    print("kp_roundtrip: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def produce(bootstrap, topic, first, last, compression):
    prod = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                         compression_type=compression, linger_ms=5,
                         client_id="kp-producer")
    futures = []
    for i in range(first, last):
        key = ("key-%06d" % i).encode()
        val = ("value-%06d-" % i + "x" * (i % 97)).encode()
        hdrs = [("seq", str(i).encode()), ("src", b"kafka-python")]
        futures.append((key, val, hdrs, prod.send(topic, key=key, value=val, headers=hdrs)))
    prod.flush(timeout=60)
    sent = {}
    for key, val, hdrs, fut in futures:
        md = fut.get(timeout=60)
        sent[key] = (val, hdrs, md.partition, md.offset)
    prod.close()
    return sent


def consume(bootstrap, topic, group, want, idle_s):
    """Consume with 'group' until 'want' messages arrived and then 'idle_s'
    seconds passed without more (or 60 s in all); commit and close."""
    cons = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                         auto_offset_reset="earliest", enable_auto_commit=False,
                         client_id="kp-consumer")
    got = []
    deadline = time.time() + 60
    last = time.time()
    while time.time() < deadline:
        batch = cons.poll(timeout_ms=500)
        for recs in batch.values():
            got.extend(recs)
            last = time.time()
        if batch:
            cons.commit()
        if len(got) >= want and time.time() - last > idle_s:
            break
    cons.commit()
    cons.close()
    return got


def check(sent, got, what):
    if len(got) != len(sent):
        fail("%s: consumed %d messages, produced %d" % (what, len(got), len(sent)))
    seen = set()
    for r in got:
        if r.key in seen:
            fail("%s: %r delivered twice" % (what, r.key))
        seen.add(r.key)
        if r.key not in sent:
            fail("%s: unexpected message %r" % (what, r.key))
        val, hdrs, part, off = sent[r.key]
        if r.value != val:
            fail("%s: %r value %r, expected %r" % (what, r.key, r.value[:40], val[:40]))
        if list(r.headers) != hdrs:
            fail("%s: %r headers %r, expected %r" % (what, r.key, r.headers, hdrs))
        if (r.partition, r.offset) != (part, off):
            fail("%s: %r at %d/%d, producer was told %d/%d" % (what, r.key, r.partition, r.offset, part, off))


def main():
    bootstrap, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sent = produce(bootstrap, topic, 0, N // 2, None)
    sent.update(produce(bootstrap, topic, N // 2, N, "gzip"))
    used = {p for (_, _, p, _) in sent.values()}
    if used != set(range(parts)):
        fail("messages went to partitions %s, expected all of 0..%d" % (sorted(used), parts - 1))

    got = consume(bootstrap, topic, "kp-group", N, 2)
    check(sent, got, "first member")
    # Order within each partition is offset order.
    for p in range(parts):
        offs = [r.offset for r in got if r.partition == p]
        if offs != sorted(offs):
            fail("partition %d consumed out of order" % p)

    # The group committed: a new member sees only what comes next.
    more = produce(bootstrap, topic, N, N + 100, "gzip")
    got2 = consume(bootstrap, topic, "kp-group", 100, 3)
    check(more, got2, "second member")

    # Committed offsets as the broker reports them equal the end offsets.
    cons = KafkaConsumer(bootstrap_servers=bootstrap, group_id="kp-group",
                         enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(parts)]
    ends = cons.end_offsets(tps)
    for tp in tps:
        c = cons.committed(tp)
        if c != ends[tp]:
            fail("partition %d: committed %r, end offset %r" % (tp.partition, c, ends[tp]))
    cons.close()
    print("kp_roundtrip: ok: %d + %d messages" % (N, len(more)))


if __name__ == "__main__":
    main()
