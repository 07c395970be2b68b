"""Pipelined requests are answered in request order.

Usage: pipeline.py HOST PORT TOPIC

Sends, in one write: a Fetch v4 long poll on an empty partition (max_wait
700 ms), two ApiVersions v0 and a Produce v3 with acks=all.  The broker
keeps dispatching while the Fetch waits (the partition is empty when it
arrives), but must answer strictly in order: correlation ids 1, 2, 3, 4,
even though the ApiVersions answers are ready at once; the Fetch is woken by
the Produce's data once it is durable, and the Produce is answered with no
error.
"""
import struct
import sys
import time

from kwire import (connect, frame, header, i8, i32, i64, outcome, parse_produce_v3,
                   produce_v3, record_batch, string)


def fetch_v4(corr, topic, wait_ms):
    body = (i32(-1) + i32(wait_ms) + i32(1) + i32(1 << 20) + i8(0) +
            i32(1) + string(topic) + i32(1) + i32(0) + i64(0) + i32(1 << 20))
    return frame(header(1, 4, corr) + body)


def main():
    host, port, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = connect(host, port)
    wire = (fetch_v4(1, topic, 700) + frame(header(18, 0, 2)) + frame(header(18, 0, 3)) +
            produce_v3(4, topic, record_batch(b"pipelined")))
    # The produce goes to the same partition the fetch waits on; answers
    # must still come back in request order.
    start = time.monotonic()
    s.sendall(wire)
    seen = []
    for _ in range(4):
        kind, body = outcome(s, timeout=10.0)
        if kind != "resp":
            print("response %d: %s" % (len(seen) + 1, kind))
            return 1
        (corr,) = struct.unpack(">i", body[:4])
        seen.append((corr, time.monotonic() - start, body))
    order = [c for c, _, _ in seen]
    if order != [1, 2, 3, 4]:
        print("responses came back in the order %s, not [1, 2, 3, 4]" % order)
        return 1
    _, _, _, err, base = parse_produce_v3(seen[3][2])
    if err != 0 or base != 0:
        print("pipelined produce answered error %d base %d" % (err, base))
        return 1
    print("in order: %s; fetch answered after %.0f ms" % (order, seen[0][1] * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
