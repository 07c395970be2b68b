// kafkajs round trip against `sluice broker`, for test_kafkajs.sh.
//
// Usage: node kjs_roundtrip.js BOOTSTRAP TOPIC PARTITIONS (NODE_PATH finds kafkajs)
//
// Produces keyed messages with headers (plain and gzip, acks -1), consumes
// them with a consumer group and checks every key, value, header and offset
// against what was produced and offsets for order per partition; a second run of the group must see
// only the messages produced after the first one committed and left.
// Exit 0 on success, 1 on a failed check (reason on stderr).
'use strict';
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');

const [bootstrap, topic, partsArg] = process.argv.slice(2);
const parts = Number(partsArg);
const N = 3000;
const GROUP = 'kjs-group';

function fail(msg) {
  console.error('kjs_roundtrip: FAIL: ' + msg);
  process.exit(1);
}

setTimeout(() => fail('timed out after 90 s'), 90000).unref();

const kafka = new Kafka({
  clientId: 'kjs-test',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  retry: { retries: 5, initialRetryTime: 200 },
});

function message(i) {
  return {
    key: 'key-' + String(i).padStart(6, '0'),
    value: 'value-' + i + '-' + 'y'.repeat(i % 89),
    headers: { seq: String(i), src: 'kafkajs' },
  };
}

// Produce [first, last) in batches of 500; returns key -> {value, headers}.
async function produce(first, last, compression) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  const sent = new Map();
  for (let a = first; a < last; a += 500) {
    const msgs = [];
    for (let i = a; i < Math.min(last, a + 500); i++) msgs.push(message(i));
    const md = await producer.send({ topic, acks: -1, compression, messages: msgs });
    for (const m of md) {
      if (m.errorCode !== 0) fail('produce: partition ' + m.partition + ' error ' + m.errorCode);
    }
    for (const m of msgs) sent.set(m.key, { value: m.value, headers: m.headers });
  }
  await producer.disconnect();
  return sent;
}

// Run a group member until 'want' messages arrived and 'idleMs' passed.
async function consume(want, idleMs) {
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ partition, message: m }) => {
      got.push({
        partition,
        offset: BigInt(m.offset),
        key: m.key ? m.key.toString() : null,
        value: m.value ? m.value.toString() : null,
        headers: Object.fromEntries(Object.entries(m.headers || {}).map(([k, v]) => [k, v.toString()])),
      });
      last = Date.now();
    },
  });
  const start = Date.now();
  while (!(got.length >= want && Date.now() - last > idleMs)) {
    if (Date.now() - start > 45000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await consumer.disconnect();
  return got;
}

function check(sent, got, what) {
  if (got.length !== sent.size) fail(what + ': consumed ' + got.length + ' messages, produced ' + sent.size);
  const seen = new Set();
  const lastOff = new Map();
  for (const r of got) {
    if (seen.has(r.key)) fail(what + ': ' + r.key + ' delivered twice');
    seen.add(r.key);
    const s = sent.get(r.key);
    if (!s) fail(what + ': unexpected message ' + r.key);
    if (r.value !== s.value) fail(what + ': ' + r.key + ' value ' + r.value + ' expected ' + s.value);
    if (JSON.stringify(r.headers) !== JSON.stringify(s.headers))
      fail(what + ': ' + r.key + ' headers ' + JSON.stringify(r.headers) + ' expected ' + JSON.stringify(s.headers));
    if (lastOff.has(r.partition) && r.offset <= lastOff.get(r.partition))
      fail(what + ': partition ' + r.partition + ' offset ' + r.offset + ' after ' + lastOff.get(r.partition));
    lastOff.set(r.partition, r.offset);
  }
  return lastOff;
}

(async () => {
  const sent = await produce(0, N / 2, CompressionTypes.None);
  for (const [k, v] of await produce(N / 2, N, CompressionTypes.GZIP)) sent.set(k, v);
  const got = await consume(N, 2000);
  const offs = check(sent, got, 'first member');
  if (offs.size !== parts) fail('messages came from ' + offs.size + ' partitions, expected ' + parts);

  const more = await produce(N, N + 100, CompressionTypes.GZIP);
  const got2 = await consume(100, 3000);
  check(more, got2, 'second member');

  // The broker's committed offsets equal the end offsets.
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [topic] });
  const cmap = new Map(committed[0].partitions.map((p) => [p.partition, p.offset]));
  for (const e of ends) {
    if (cmap.get(e.partition) !== e.high)
      fail('partition ' + e.partition + ': committed ' + cmap.get(e.partition) + ', end offset ' + e.high);
  }
  await admin.disconnect();
  console.log('kjs_roundtrip: ok: ' + N + ' + ' + more.size + ' messages');
  process.exit(0);
})().catch((e) => fail(e.stack || String(e)));
