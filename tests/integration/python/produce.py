#!/usr/bin/python3
"""Produce keyed test messages with kafka-python, for integration tests.

Usage: produce.py BOOTSTRAP TOPIC COUNT [--keys K] [--age-ms MS] [--step-ms MS]
                  [--tag TAG]

Message i has key "key-<i % K>" (K = COUNT when --keys is absent) and value
"<TAG>-<i>", and a CreateTime of now minus --age-ms, plus --step-ms per
message.  Batches are kept small (batch_size 1024) so small segments roll
often.  acks=all; prints "first_ts=<ms>" and exits 0 when every message was
acknowledged, 1 otherwise.
"""
import argparse
import time

from kafka import KafkaProducer

ap = argparse.ArgumentParser()
ap.add_argument("bootstrap")
ap.add_argument("topic")
ap.add_argument("count", type=int)
ap.add_argument("--keys", type=int, default=0)
ap.add_argument("--age-ms", type=int, default=0)
ap.add_argument("--step-ms", type=int, default=0)
ap.add_argument("--tag", default="v")
a = ap.parse_args()
keys = a.keys or a.count
prod = KafkaProducer(bootstrap_servers=a.bootstrap, acks="all", batch_size=1024,
                     linger_ms=2, client_id="produce-py")
ts = int(time.time() * 1000) - a.age_ms
futs = [prod.send(a.topic, key=("key-%d" % (i % keys)).encode(),
                  value=("%s-%d" % (a.tag, i)).encode(), timestamp_ms=ts + i * a.step_ms)
        for i in range(a.count)]
prod.flush(timeout=60)
for f in futs:
    f.get(timeout=60)  # raises on a failed delivery
prod.close()
print("first_ts=%d" % ts)
