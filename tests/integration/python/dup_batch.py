#!/usr/bin/python3
"""An idempotent producer's retried batch is acknowledged, not hung or
appended twice; for test_idempotent_kill.sh.

Usage: dup_batch.py HOST PORT TOPIC

Gets a producer id (InitProducerId v0), sends Produce v3 acks=-1 with a
batch of sequence 0, then the very same batch again (what librdkafka does
when a connection drops before the answer), then sequence 1.  The repeat
must be answered within 5 s with error 0 (or 46 DUPLICATE_SEQUENCE_NUMBER)
and, when 0, the first append's base offset; sequence 1 must land right
after it; sequence 5 (a gap) must get 45 OUT_OF_ORDER_SEQUENCE_NUMBER.
Each case also runs on a fresh connection, as after a reconnect.
Exit 0 on success, 1 with the reason on stderr.
"""
import struct
import sys

from kwire import connect, frame, header, i32, outcome, parse_produce_v3, produce_v3, \
    record_batch, send, string

HOST, PORT, TOPIC = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def fail(msg):
    print("dup_batch: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def produce(s, corr, batch, what):
    send(s, produce_v3(corr, TOPIC, batch))
    got, body = outcome(s)
    if got != "resp":
        fail("%s: Produce acks=-1 got %s instead of an answer" % (what, got))
    rc, _, _, err, base = parse_produce_v3(body)
    if rc != corr:
        fail("%s: answer corr %d, sent %d" % (what, rc, corr))
    return err, base


s = connect(HOST, PORT)
send(s, frame(header(22, 0, 1) + string(None) + i32(60000)))
got, body = outcome(s)
if got != "resp":
    fail("InitProducerId v0 got %s" % got)
_, _, err, pid, epoch = struct.unpack(">iihqh", body[:20])
if err != 0 or pid < 0:
    fail("InitProducerId: error %d producer id %d" % (err, pid))

b0 = record_batch(b"seq-0", producer_id=pid, epoch=epoch, base_seq=0)
err, base0 = produce(s, 2, b0, "first batch")
if err != 0:
    fail("first batch: error %d" % err)
err, base = produce(s, 3, b0, "same batch again, same connection")
if err not in (0, 46) or (err == 0 and base != base0):
    fail("same batch again: error %d base %d, expected 0 with base %d (or 46)" % (err, base, base0))
s.close()
s = connect(HOST, PORT)
err, base = produce(s, 4, b0, "same batch again, new connection")
if err not in (0, 46) or (err == 0 and base != base0):
    fail("same batch on a new connection: error %d base %d, expected 0 with base %d" % (err, base, base0))
err, base1 = produce(s, 5, record_batch(b"seq-1", producer_id=pid, epoch=epoch, base_seq=1), "next batch")
if err != 0 or base1 != base0 + 1:
    fail("next batch: error %d base %d, expected 0 and %d" % (err, base1, base0 + 1))
err, _ = produce(s, 6, record_batch(b"seq-5", producer_id=pid, epoch=epoch, base_seq=5), "gap")
if err != 45:
    fail("sequence gap: error %d, expected 45 OUT_OF_ORDER_SEQUENCE_NUMBER" % err)
s.close()
print("dup_batch: ok (producer %d, offsets %d, %d)" % (pid, base0, base1))
