#!/usr/bin/python3
"""Malformed Kafka frames against `sluice broker`, for test_bad_input.sh.

Usage: bad_frames.py HOST PORT BROKER_PID TOPIC ROUNDS [MAX_GROWTH_KB]

TOPIC must exist with one partition.  Each case opens its own connection,
sends one bad (or, as a control, one good) frame and checks the broker
either answers with the right error or closes only that connection:

  negative, zero, tiny and huge frame sizes      -> connection closed
  a frame cut short then EOF, a header cut short -> connection closed
  request bodies cut short, unknown API keys,
  unknown versions, array counts of -1, 2^31-1
  and -2^31 where no null is allowed              -> closed, or an answer
                                                     with our correlation id
  ApiVersions v99                                 -> error 35 (v0 layout)
  Produce v3 of a good batch / the same with a
  flipped CRC                                     -> error 0 / error 2
  Metadata v1 with topics = -1 (all)              -> lists TOPIC

After every case a long-lived second connection must still get ApiVersions
answered, and in the first round `kcat -L` must succeed.  Then ROUNDS more
rounds of every case run and the broker's VmRSS may not grow by more than
MAX_GROWTH_KB (8192; 0 skips the check, for sanitizer builds whose
quarantine holds freed memory).  Exit 0 on success, 1 with the reason on stderr.
"""
import socket
import struct
import subprocess
import sys
import time

import kwire
from kwire import frame, header, i16, i32, send, string, u32

HOST, PORT, PID, TOPIC, ROUNDS = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                  sys.argv[4], int(sys.argv[5]))
MAX_GROWTH_KB = int(sys.argv[6]) if len(sys.argv) > 6 else 8192
corr_next = 1000


def fail(msg):
    print("bad_frames: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def rss_kb():
    with open("/proc/%d/status" % PID) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("broker pid %d is gone" % PID)


# ------------------------------------------------------------------ wire

def record_batch(value, bad_crc=False):
    return kwire.record_batch(value, bad_crc=bad_crc)


def produce_v3(corr, records, topics_count=None):
    return kwire.produce_v3(corr, TOPIC, records, topics_count)


def connect():
    return kwire.connect(HOST, PORT)


def outcome(s, timeout=5.0):
    what, body = kwire.outcome(s, timeout)
    if what == "bad":
        fail("broker sent a frame of size %d" % body)
    return what, body


def new_corr():
    global corr_next
    corr_next += 1
    return corr_next


# ------------------------------------------------------------------ checks

control = None


def control_check(where, with_kcat):
    """The long-lived connection still gets ApiVersions v0 answered."""
    c = new_corr()
    send(control, frame(header(18, 0, c)))
    what, body = outcome(control)
    if what != "resp":
        fail("after %s: the other connection got %s instead of an ApiVersions answer" % (where, what))
    rc, err = struct.unpack(">ih", body[:6])
    if rc != c or err != 0:
        fail("after %s: ApiVersions answer corr %d err %d" % (where, rc, err))
    if with_kcat:
        r = subprocess.run(["kcat", "-L", "-b", "%s:%d" % (HOST, PORT), "-m", "5", "-t", TOPIC],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0 or ('topic "%s"' % TOPIC).encode() not in r.stdout:
            fail("after %s: kcat -L failed: %s" % (where, r.stdout.decode(errors="replace")[-500:]))


def expect_closed(name, data, shut=False):
    s = connect()
    send(s, data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    what, body = outcome(s)
    s.close()
    if what != "closed":
        fail("%s: expected the broker to close the connection, got %s %r" % (name, what, body and body[:16]))


def expect_closed_or_answer(name, data, corr):
    s = connect()
    send(s, data)
    what, body = outcome(s)
    if what == "resp":
        (rc,) = struct.unpack(">i", body[:4])
        if rc != corr:
            fail("%s: answer with correlation id %d, sent %d" % (name, rc, corr))
        # The connection must stay usable after an answer.
        c = new_corr()
        send(s, frame(header(18, 0, c)))
        w2, b2 = outcome(s)
        if w2 != "resp" or struct.unpack(">i", b2[:4])[0] != c:
            fail("%s: answered, but the next request on that connection got %s" % (name, w2))
    s.close()
    if what == "timeout":
        fail("%s: neither an answer nor a close within 5 s" % name)
    return what


def produce_error(name, records):
    """Send Produce v3 with 'records'; return the partition error code."""
    c = new_corr()
    s = connect()
    send(s, produce_v3(c, records))
    what, body = outcome(s)
    s.close()
    if what != "resp":
        fail("%s: Produce got %s instead of an answer" % (name, what))
    # corr, [topic: name, [partition i32, error i16, base_offset i64, append_time i64]], throttle
    rc, ntopics = struct.unpack(">ii", body[:8])
    if rc != c or ntopics != 1:
        fail("%s: Produce answer corr %d topics %d" % (name, rc, ntopics))
    (nlen,) = struct.unpack(">h", body[8:10])
    pos = 10 + nlen
    nparts, part, err = struct.unpack(">iih", body[pos:pos + 10])
    if nparts != 1 or part != 0:
        fail("%s: Produce answer partitions %d partition %d" % (name, nparts, part))
    return err


def case_list():
    big_metadata_topic = string(TOPIC)
    return [
        ("negative size", lambda: expect_closed("negative size", i32(-1) + b"\0" * 16)),
        ("size -2^31", lambda: expect_closed("size -2^31", u32(0x80000000) + b"\0" * 16)),
        ("zero size", lambda: expect_closed("zero size", i32(0) + b"\0" * 16)),
        ("tiny frame", lambda: expect_closed("tiny frame", i32(3) + b"\0\3\0")),
        ("huge size 2^31-1", lambda: expect_closed("huge size 2^31-1", i32(0x7FFFFFFF) + header(3, 1, 1))),
        ("huge size 1 GiB", lambda: expect_closed("huge size 1 GiB", i32(1 << 30) + header(3, 1, 1))),
        ("frame cut short", lambda: expect_closed("frame cut short", i32(100) + header(3, 1, 7), shut=True)),
        ("header cut short", lambda: expect_closed("header cut short", frame(i16(3) + i16(1) + i16(0)))),
        ("metadata body cut short", lambda: (lambda c: expect_closed_or_answer(
            "metadata body cut short", frame(header(3, 1, c) + i32(3) + big_metadata_topic), c))(new_corr())),
        ("unknown api key 999", lambda: (lambda c: expect_closed_or_answer(
            "unknown api key 999", frame(header(999, 0, c) + b"\0" * 8), c))(new_corr())),
        ("unknown api key -1", lambda: (lambda c: expect_closed_or_answer(
            "unknown api key -1", frame(header(-1, 0, c)), c))(new_corr())),
        ("metadata v99", lambda: (lambda c: expect_closed_or_answer(
            "metadata v99", frame(header(3, 99, c) + i32(0)), c))(new_corr())),
        ("produce v99", lambda: (lambda c: expect_closed_or_answer(
            "produce v99", frame(header(0, 99, c) + b"\0" * 20), c))(new_corr())),
        ("metadata topics 2^31-1", lambda: (lambda c: expect_closed_or_answer(
            "metadata topics 2^31-1", frame(header(3, 1, c) + i32(0x7FFFFFFF) + big_metadata_topic), c))(new_corr())),
        ("metadata topics -2^31", lambda: (lambda c: expect_closed_or_answer(
            "metadata topics -2^31", frame(header(3, 1, c) + u32(0x80000000)), c))(new_corr())),
        ("produce topics -1", lambda: (lambda c: expect_closed_or_answer(
            "produce topics -1", produce_v3(c, record_batch(b"x"), topics_count=-1), c))(new_corr())),
        ("produce topics 2^31-1", lambda: (lambda c: expect_closed_or_answer(
            "produce topics 2^31-1", produce_v3(c, record_batch(b"x"), topics_count=0x7FFFFFFF), c))(new_corr())),
        ("produce records length 2^31-1", lambda: (lambda c: expect_closed_or_answer(
            "produce records length 2^31-1",
            frame(header(0, 3, c) + string(None) + i16(-1) + i32(10000) + i32(1) + string(TOPIC) +
                  i32(1) + i32(0) + i32(0x7FFFFFFF) + b"\0" * 64), c))(new_corr())),
        ("produce bad crc", case_bad_crc),
        ("produce lying batch length", case_lying_batch),
        ("apiversions v99", case_apiversions_v99),
        ("metadata all topics", case_metadata_all),
    ]


def case_bad_crc():
    err = produce_error("produce bad crc", record_batch(b"bad-crc-value", bad_crc=True))
    if err != 2:
        fail("produce bad crc: partition error %d, expected 2 (CORRUPT_MESSAGE)" % err)


def case_lying_batch():
    rb = bytearray(record_batch(b"lying"))
    struct.pack_into(">i", rb, 8, len(rb) - 12 + 1000)  # batch length past the end
    s = connect()
    c = new_corr()
    send(s, produce_v3(c, bytes(rb)))
    what, body = outcome(s)
    s.close()
    if what == "timeout":
        fail("produce lying batch length: neither an answer nor a close")
    if what == "resp":
        (nlen,) = struct.unpack(">h", body[8:10])
        err = struct.unpack(">h", body[10 + nlen + 8:10 + nlen + 10])[0]
        if err not in (2, 42, 87):
            fail("produce lying batch length: partition error %d, expected 2, 42 or 87" % err)


def case_apiversions_v99():
    c = new_corr()
    s = connect()
    send(s, frame(header(18, 99, c)))
    what, body = outcome(s)
    s.close()
    if what != "resp":
        fail("apiversions v99: got %s, expected an answer with error 35" % what)
    rc, err = struct.unpack(">ih", body[:6])
    if rc != c or err != 35:
        fail("apiversions v99: corr %d error %d, expected %d and 35 (UNSUPPORTED_VERSION)" % (rc, err, c))


def case_metadata_all():
    c = new_corr()
    s = connect()
    send(s, frame(header(3, 1, c) + i32(-1)))
    what, body = outcome(s)
    s.close()
    if what != "resp":
        fail("metadata v1 with topics -1: got %s, expected every topic" % what)
    if struct.unpack(">i", body[:4])[0] != c or string(TOPIC) not in body:
        fail("metadata v1 with topics -1: answer does not list %s" % TOPIC)


def main():
    global control
    control = connect()
    control_check("start", True)
    # The control case: a good batch is accepted (so the encoder is right
    # and error 2 below means the CRC).
    err = produce_error("produce good batch", record_batch(b"good-value"))
    if err != 0:
        fail("produce good batch: partition error %d, expected 0" % err)

    cases = case_list()
    outcomes = {}
    for name, fn in cases:
        r = fn()
        outcomes[name] = r or "ok"
        control_check(name, True)
    print("bad_frames: first round: " + ", ".join("%s=%s" % kv for kv in outcomes.items()))

    # Warm up, then measure: repeated bad frames must not grow the broker.
    for _ in range(20):
        for _, fn in cases:
            fn()
    before = rss_kb()
    t0 = time.time()
    n = 0
    for r in range(ROUNDS):
        for _, fn in cases:
            fn()
            n += 1
        control_check("round %d" % r, False)
    after = rss_kb()
    print("bad_frames: %d bad frames in %.1f s; VmRSS %d kB -> %d kB" % (n, time.time() - t0, before, after))
    if MAX_GROWTH_KB > 0 and after - before > MAX_GROWTH_KB:
        fail("broker VmRSS grew by %d kB over %d bad frames" % (after - before, n))
    control_check("end", True)
    err = produce_error("produce good batch at end", record_batch(b"good-value-2"))
    if err != 0:
        fail("produce good batch at the end: partition error %d" % err)
    print("bad_frames: ok")


if __name__ == "__main__":
    main()
