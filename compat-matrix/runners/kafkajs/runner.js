// Compatibility-matrix runner for kafkajs (Node, from npm).
//
// Usage: NODE_PATH=.cache/node/node_modules node runner.js BOOTSTRAP TOPIC_PREFIX
// Prints one `MATRIX {json}` line per scenario (see compat-matrix/README.md).
//
// kafkajs ships gzip only; snappy and lz4 come from the codec packages users
// add (kafkajs-snappy, kafkajs-lz4), installed beside it by
// scripts/install-test-deps.sh. kafkajs has no assign(): every consumer,
// even the fetch scenario's, joins a consumer group.
'use strict'

const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, logLevel } = require('kafkajs')

const [bootstrap, prefix] = process.argv.slice(2)
if (!bootstrap || !prefix) {
  console.error('usage: runner.js BOOTSTRAP TOPIC_PREFIX')
  process.exit(2)
}
const VERSION = require('kafkajs/package.json').version
const SCENARIO_TIMEOUT_MS = 60000

const codecNotes = {}
try {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy')
} catch (e) {
  codecNotes.snappy = `kafkajs ships no snappy codec and kafkajs-snappy is not installed (${e.message})`
}
try {
  const LZ4 = require('kafkajs-lz4')
  CompressionCodecs[CompressionTypes.LZ4] = new LZ4().codec
} catch (e) {
  codecNotes.lz4 = `kafkajs ships no lz4 codec and kafkajs-lz4 is not installed (${e.message})`
}
try {
  CompressionCodecs[CompressionTypes.ZSTD] = require('@kafkajs/zstd')()
} catch (e) {
  codecNotes.zstd = "kafkajs ships no zstd codec; the @kafkajs/zstd plugin is not installed (its native cppzst module does not compile against Node 20's headers)"
}

const kafka = new Kafka({ clientId: 'compat-matrix-kafkajs', brokers: [bootstrap], logLevel: logLevel.WARN, retry: { retries: 5 } })

class Unsupported extends Error {}

const topic = s => `${prefix}-${s}`
const group = s => `${prefix}-${s}-g`
const produceValue = (i, codec) => `v${i}-${codec}-` + 'x'.repeat(200)
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

function check (cond, what) {
  if (!cond) throw new Error(what)
}

async function waitUntil (ms, what, pred) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await pred()) return
    await sleep(100)
  }
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`)
}

async function withAdmin (fn) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

async function partitionsOf (admin, t) {
  const md = await admin.fetchTopicMetadata({ topics: [t] })
  return md.topics[0].partitions.length
}

async function create (t, numPartitions, config = {}) {
  await withAdmin(async admin => {
    const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }))
    const created = await admin.createTopics({ topics: [{ topic: t, numPartitions, replicationFactor: 1, configEntries }], waitForLeaders: true })
    check(created, `createTopics(${t}) returned false`)
  })
}

// Sends and returns the acknowledged (partition, offset) of every record, in order.
async function produce (t, messages, opts = {}, producerOpts = {}) {
  const producer = kafka.producer({ allowAutoTopicCreation: false, ...producerOpts })
  await producer.connect()
  try {
    // One send per partition keeps the order, so the base offsets give each record's offset.
    const byPartition = new Map()
    messages.forEach((m, i) => {
      const p = m.partition ?? 0
      if (!byPartition.has(p)) byPartition.set(p, [])
      byPartition.get(p).push([i, { ...m, partition: p }])
    })
    const out = new Array(messages.length)
    for (const [p, list] of byPartition) {
      const res = await producer.send({ topic: t, messages: list.map(x => x[1]), acks: -1, ...opts })
      check(res.length === 1 && res[0].errorCode === 0, `send to partition ${p}: ${JSON.stringify(res)}`)
      const base = Number(res[0].baseOffset)
      list.forEach(([i], k) => { out[i] = [p, base + k] })
    }
    return out
  } finally {
    await producer.disconnect()
  }
}

// A group consumer that collects records; `seeks` are applied once it runs.
async function consume (t, { groupId, n, timeoutMs = 20000, seeks = [], readUncommitted = false, keep = false }) {
  const consumer = kafka.consumer({ groupId: groupId || `${prefix}-read-${Math.random().toString(16).slice(2)}`, readUncommitted, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 })
  await consumer.connect()
  const got = []
  try {
    await consumer.subscribe({ topics: [t], fromBeginning: true })
    await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { got.push({ partition, ...message, offset: Number(message.offset) }) } })
    for (const s of seeks) consumer.seek(s)
    await waitUntil(timeoutMs, `${n} records`, () => got.length >= n)
    if (keep) return { consumer, got }
  } catch (e) {
    await consumer.disconnect()
    throw new Error(`${e.message} (read ${got.length} of ${n})`)
  }
  await consumer.disconnect()
  return { got }
}

// --- scenarios ----------------------------------------------------------------

async function metadata () {
  const t = topic('metadata')
  await create(t, 3)
  await withAdmin(async admin => {
    const cl = await admin.describeCluster()
    const port = Number(bootstrap.split(':').pop())
    check(cl.brokers.some(b => b.port === port), `bootstrap port not among ${JSON.stringify(cl.brokers)}`)
    const md = await admin.fetchTopicMetadata({ topics: [t] })
    const parts = md.topics[0].partitions
    check(parts.length === 3, `partitions ${JSON.stringify(parts)}`)
    check(parts.every(p => p.leader >= 0), 'partition without leader')
    check((await admin.listTopics()).includes(t), 'topic not listed')
  })
}

async function produceCodec (codec) {
  const type = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD }[codec]
  if (codecNotes[codec]) throw new Unsupported(codecNotes[codec])
  const t = topic(`produce-${codec}`)
  await create(t, 1)
  const msgs = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: produceValue(i, codec), headers: { idx: String(i) } }))
  const acked = await produce(t, msgs, { compression: type })
  check(acked.every(([, o], i) => o === i), `acked offsets ${JSON.stringify(acked.slice(0, 5))}`)
  const { got } = await consume(t, { n: 50 })
  got.sort((a, b) => a.offset - b.offset)
  got.forEach((m, i) => {
    check(m.offset === i && String(m.key) === `k${i}` && String(m.value) === produceValue(i, codec), `record ${i} read back as offset ${m.offset} key ${m.key}`)
    check(String(m.headers.idx) === String(i) && Object.keys(m.headers).length === 1, `record ${i} headers ${JSON.stringify(m.headers)}`)
  })
}

async function fetch () {
  const t = topic('fetch')
  await create(t, 3)
  await produce(t, Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, key: `k${i}`, value: `v${i}` })))
  const { got } = await consume(t, { n: 30 })
  for (let p = 0; p < 3; p++) {
    const vals = got.filter(m => m.partition === p).map(m => String(m.value))
    const want = Array.from({ length: 10 }, (_, j) => `v${p + 3 * j}`)
    check(JSON.stringify(vals) === JSON.stringify(want), `partition ${p}: ${vals}`)
  }
  // From the middle: partition 1 from offset 5 (the other partitions from the start).
  const mid = await consume(t, { n: 25, seeks: [{ topic: t, partition: 1, offset: '5' }] })
  const p1 = mid.got.filter(m => m.partition === 1)
  check(p1.length === 5 && p1[0].offset === 5 && String(p1[0].value) === 'v16', `partition 1 from offset 5: ${p1.map(m => m.offset)}`)
}

async function group_ () {
  const t = topic('group'); const g = group('group')
  await create(t, 2)
  await produce(t, Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `a${i}` })))
  const c1 = kafka.consumer({ groupId: g, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 })
  await c1.connect()
  const got1 = []
  try {
    await c1.subscribe({ topics: [t], fromBeginning: true })
    await c1.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { got1.push({ partition, offset: Number(message.offset), value: String(message.value) }) } })
    await waitUntil(30000, 'first consumer\'s 10 records', () => got1.length >= 10)
    const offsets = [0, 1].map(p => ({ topic: t, partition: p, offset: String(Math.max(...got1.filter(m => m.partition === p).map(m => m.offset)) + 1) }))
    await c1.commitOffsets(offsets)
  } finally {
    await c1.disconnect()
  }
  await withAdmin(async admin => {
    const [res] = await admin.fetchOffsets({ groupId: g, topics: [t] })
    const offs = res.partitions.sort((a, b) => a.partition - b.partition).map(p => p.offset)
    check(JSON.stringify(offs) === '["5","5"]', `committed ${JSON.stringify(offs)}`)
  })
  await produce(t, Array.from({ length: 4 }, (_, i) => ({ partition: i % 2, value: `b${i}` })))
  const { consumer, got } = await consume(t, { groupId: g, n: 4, timeoutMs: 30000, keep: true })
  await sleep(1000)
  await consumer.disconnect()
  const vals = got.map(m => String(m.value)).sort()
  check(JSON.stringify(vals) === '["b0","b1","b2","b3"]', `second consumer resumed with ${vals}`)
}

function member (g, t) {
  const c = kafka.consumer({ groupId: g, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 })
  const m = { c, assigned: [] }
  c.on(c.events.GROUP_JOIN, e => { m.assigned = (e.payload.memberAssignment[t] || []).slice().sort() })
  return m
}

async function start (m, t) {
  await m.c.connect()
  await m.c.subscribe({ topics: [t] })
  await m.c.run({ eachMessage: async () => {} })
}

async function rebalance () {
  const t = topic('rebalance'); const g = group('rebalance')
  await create(t, 4)
  const m1 = member(g, t)
  await start(m1, t)
  try {
    await waitUntil(20000, 'c1 assigned 4 partitions', () => m1.assigned.length === 4)
    const m2 = member(g, t)
    await start(m2, t)
    try {
      await waitUntil(40000, '2 partitions each', () => m1.assigned.length === 2 && m2.assigned.length === 2 &&
        new Set([...m1.assigned, ...m2.assigned]).size === 4)
    } finally {
      await m2.c.disconnect() // LeaveGroup
    }
    await waitUntil(40000, 'c1 back to 4 partitions', () => m1.assigned.length === 4)
  } finally {
    await m1.c.disconnect()
  }
}

async function idempotent () {
  const t = topic('idempotent')
  await create(t, 1)
  const acked = await produce(t, Array.from({ length: 20 }, (_, i) => ({ value: `i${i}` })), {}, { idempotent: true, maxInFlightRequests: 1 })
  check(acked.every(([, o], i) => o === i), `acked ${JSON.stringify(acked)}`)
  const { got } = await consume(t, { n: 20 })
  check(got.map(m => String(m.value)).join() === Array.from({ length: 20 }, (_, i) => `i${i}`).join(), 'read back')
}

async function transactions () {
  const t = topic('transactions')
  await create(t, 1)
  const producer = kafka.producer({ transactionalId: `${prefix}-txn`, idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } })
  await producer.connect()
  try {
    const tx1 = await producer.transaction()
    await tx1.send({ topic: t, messages: Array.from({ length: 5 }, (_, i) => ({ value: `c${i}` })) })
    await tx1.commit()
    const tx2 = await producer.transaction()
    await tx2.send({ topic: t, messages: Array.from({ length: 5 }, (_, i) => ({ value: `a${i}` })) })
    await tx2.abort()
  } finally {
    await producer.disconnect()
  }
  // kafkajs reads committed by default (readUncommitted: false).
  const { consumer, got } = await consume(t, { n: 5, keep: true })
  await sleep(1500)
  await consumer.disconnect()
  const vals = got.map(m => String(m.value))
  check(vals.join() === 'c0,c1,c2,c3,c4', `read_committed saw ${vals}`)
}

async function adminTopics () {
  const t = topic('admin-topics')
  await create(t, 2, { 'retention.ms': '3600000' })
  await withAdmin(async admin => {
    check((await admin.listTopics()).includes(t), 'created topic not listed')
    check(await partitionsOf(admin, t) === 2, 'described partitions')
    await admin.deleteTopics({ topics: [t] })
    await waitUntil(20000, 'topic gone', async () => !(await admin.listTopics()).includes(t))
  })
}

async function adminPartitions () {
  const t = topic('admin-partitions')
  await create(t, 1)
  await withAdmin(async admin => {
    await admin.createPartitions({ topicPartitions: [{ topic: t, count: 3 }] })
    await waitUntil(20000, '3 partitions', async () => (await partitionsOf(admin, t)) === 3)
  })
}

async function describe (admin, type, name) {
  const res = await admin.describeConfigs({ resources: [{ type, name }], includeSynonyms: false })
  const r = res.resources[0]
  check(r.errorCode === 0, `describeConfigs ${JSON.stringify(r)}`)
  return Object.fromEntries(r.configEntries.map(e => [e.configName, e.configValue]))
}

async function adminConfigs () {
  const t = topic('admin-configs')
  await create(t, 1)
  await withAdmin(async admin => {
    let cfg = await describe(admin, ConfigResourceTypes.TOPIC, t)
    check('retention.ms' in cfg, 'retention.ms missing')
    // kafkajs has the (non-incremental) AlterConfigs API only.
    await admin.alterConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] })
    cfg = await describe(admin, ConfigResourceTypes.TOPIC, t)
    check(cfg['retention.ms'] === '7200000', `retention.ms is ${cfg['retention.ms']}`)
    const cl = await admin.describeCluster()
    const bcfg = await describe(admin, ConfigResourceTypes.BROKER, String(cl.brokers[0].nodeId))
    check('num.partitions' in bcfg, `broker config lacks num.partitions (${Object.keys(bcfg).length} entries)`)
  })
}

async function adminGroups () {
  const t = topic('admin-groups'); const g = group('admin-groups')
  await create(t, 1)
  await produce(t, [{ value: 'g0' }, { value: 'g1' }, { value: 'g2' }])
  const { consumer } = await consume(t, { groupId: g, n: 3, keep: true, timeoutMs: 30000 })
  await consumer.commitOffsets([{ topic: t, partition: 0, offset: '3' }])
  await consumer.disconnect()
  await withAdmin(async admin => {
    const { groups } = await admin.listGroups()
    check(groups.some(x => x.groupId === g), `${g} not in listed groups ${JSON.stringify(groups)}`)
    const d = await admin.describeGroups([g])
    const desc = d.groups[0]
    check(desc.errorCode === 0 && ['Empty', 'Stable'].includes(desc.state), `described ${JSON.stringify(desc)}`)
    check(desc.protocolType === 'consumer', `group ${desc.state} described with protocol type '${desc.protocolType}', not 'consumer'`)
    const [res] = await admin.fetchOffsets({ groupId: g, topics: [t] })
    check(res.partitions[0].offset === '3', `committed offsets ${JSON.stringify(res)}`)
  })
}

async function offsets () {
  const t = topic('offsets')
  await create(t, 1)
  const base = (Math.floor(Date.now() / 1000) - 600) * 1000
  await produce(t, Array.from({ length: 10 }, (_, i) => ({ value: `o${i}`, timestamp: String(base + i * 1000) })))
  await withAdmin(async admin => {
    const [o] = await admin.fetchTopicOffsets(t)
    check(o.low === '0' && o.high === '10', `earliest/latest ${JSON.stringify(o)}`)
    const [ts] = await admin.fetchTopicOffsetsByTimestamp(t, base + 5000)
    check(ts.offset === '5', `offset for timestamp base+5s: ${JSON.stringify(ts)}`)
  })
}

async function deleteRecords () {
  const t = topic('delete-records')
  await create(t, 1)
  await produce(t, Array.from({ length: 10 }, (_, i) => ({ value: `d${i}` })))
  await withAdmin(async admin => {
    // kafkajs's deleteTopicRecords needs the topic in the admin's metadata cache first
    // ("Topic metadata not loaded" otherwise).
    await admin.fetchTopicMetadata({ topics: [t] })
    await admin.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: '4' }] })
    const [o] = await admin.fetchTopicOffsets(t)
    check(o.low === '4', `low watermark ${o.low}`)
  })
  const { got } = await consume(t, { n: 6 })
  got.sort((a, b) => a.offset - b.offset)
  check(got[0].offset === 4 && String(got[0].value) === 'd4', `first record after delete at ${got[0].offset}`)
}

function emit (scenario, status, reason, seconds) {
  console.log('MATRIX ' + JSON.stringify({ client: 'kafkajs', version: VERSION, scenario, status, reason, seconds: Math.round(seconds * 100) / 100 }))
}

async function main () {
  const list = [['metadata', metadata]]
  for (const c of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) list.push([`produce-${c}`, () => produceCodec(c)])
  list.push(['fetch', fetch], ['group', group_], ['rebalance', rebalance], ['idempotent', idempotent],
    ['transactions', transactions], ['admin-topics', adminTopics], ['admin-partitions', adminPartitions],
    ['admin-configs', adminConfigs], ['admin-groups', adminGroups], ['offsets', offsets], ['delete-records', deleteRecords])
  for (const [name, fn] of list) {
    console.log(`\n=== kafkajs: ${name} ===`)
    const t0 = Date.now()
    let timer
    try {
      await Promise.race([fn(), new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`scenario took longer than ${SCENARIO_TIMEOUT_MS / 1000}s`)), SCENARIO_TIMEOUT_MS) })])
      emit(name, 'pass', '', (Date.now() - t0) / 1000)
    } catch (e) {
      if (e instanceof Unsupported) {
        emit(name, 'unsupported', e.message, (Date.now() - t0) / 1000)
      } else {
        console.log(e && e.stack)
        emit(name, 'fail', `${e.name}: ${e.message}`, (Date.now() - t0) / 1000)
      }
    } finally {
      clearTimeout(timer)
    }
  }
  process.exit(0)
}

main()
