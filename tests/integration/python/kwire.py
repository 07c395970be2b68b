"""Kafka wire encoding helpers for the raw-socket integration scripts.

Just enough of the protocol (non-flexible request header v1, RecordBatch v2
with CRC32C, response framing) to send hand-made and deliberately broken
requests; not a client.  Used by bad_frames.py and dup_batch.py.
"""
import socket
import struct
import time


def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def u32(v): return struct.pack(">I", v)
def i64(v): return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def kbytes(b):
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zigzag
    out = b""
    while True:
        byte = v & 0x7F
        v >>= 7
        if v:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def header(api, ver, corr, client="sluice-it"):
    return i16(api) + i16(ver) + i32(corr) + string(client)


def frame(body):
    return i32(len(body)) + body


def record_batch(value, bad_crc=False, producer_id=-1, epoch=-1, base_seq=-1):
    """RecordBatch v2 holding one record with 'value' (layout in log/lg.h)."""
    rec = i8(0) + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    rec = varint(len(rec)) + rec
    ts = int(time.time() * 1000)
    after_crc = (i16(0) + i32(0) + i64(ts) + i64(ts) + i64(producer_id) + i16(epoch) +
                 i32(base_seq) + i32(1) + rec)
    crc = crc32c(after_crc)
    if bad_crc:
        crc ^= 0x00010000
    body = i32(-1) + i8(2) + u32(crc) + after_crc
    return i64(0) + i32(len(body)) + body


def produce_v3(corr, topic, records, topics_count=None, partition=0):
    part = i32(partition) + kbytes(records)
    t = string(topic) + i32(1) + part
    n = 1 if topics_count is None else topics_count
    return frame(header(0, 3, corr) + string(None) + i16(-1) + i32(10000) + i32(n) + t)


def parse_produce_v3(body):
    """(corr, topic, partition, error, base_offset) of a one-partition answer."""
    corr, ntopics = struct.unpack(">ii", body[:8])
    (nlen,) = struct.unpack(">h", body[8:10])
    topic = body[10:10 + nlen].decode()
    pos = 10 + nlen
    _, part, err, base = struct.unpack(">iihq", body[pos:pos + 18])
    return corr, topic, part, err, base


def connect(host, port):
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def outcome(s, timeout=5.0):
    """('closed', None), ('resp', body), ('timeout', None) or ('bad', size)."""
    s.settimeout(timeout)
    try:
        hdr = recv_exact(s, 4)
        if hdr is None:
            return "closed", None
        (n,) = struct.unpack(">i", hdr)
        if n < 4 or n > 64 << 20:
            return "bad", n
        body = recv_exact(s, n)
        if body is None:
            return "closed", None
        return "resp", body
    except (ConnectionResetError, BrokenPipeError):
        return "closed", None
    except socket.timeout:
        return "timeout", None


def send(s, data):
    try:
        s.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass  # closed early: outcome() reports it
