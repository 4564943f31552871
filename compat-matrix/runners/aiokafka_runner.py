"""aiokafka (asyncio, pure Python) through the scenario list.

aiokafka's admin client hands back the raw protocol responses; the checks
below read their fields (`.to_object()`) and fail on any non-zero error code.
"""

from __future__ import annotations

import asyncio
import time
from importlib.metadata import version as pkg_version

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from common import CODECS, Reporter, args, check, produce_value

BOOTSTRAP, PREFIX = args()
R = Reporter("aiokafka", pkg_version("aiokafka"), BOOTSTRAP, PREFIX)


async def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await pred()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class Admin:
    def __init__(self):
        self.a = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=30000)

    async def __aenter__(self):
        await self.a.start()
        return self.a

    async def __aexit__(self, *exc):
        await self.a.close()


async def create(topic: str, partitions: int = 1, config: dict | None = None) -> None:
    async with Admin() as a:
        resp = await a.create_topics([NewTopic(topic, partitions, 1, topic_configs=config or {})])
        errs = [e for e in resp.topic_errors if e[1] != 0]
        check(not errs, f"create_topics errors {errs}")

        async def listed():
            return topic in await a.list_topics()
        await wait_until(listed, 20, f"{topic} listed")


async def produce(topic: str, records, **conf):
    """records: (partition|None, key, value, headers, timestamp_ms|None) -> [(partition, offset)]."""
    p = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5, **conf)
    await p.start()
    try:
        futs = [await p.send(topic, key=k, value=v, headers=h, partition=part, timestamp_ms=ts)
                for part, k, v, h, ts in records]
        md = await asyncio.gather(*futs)
    finally:
        await p.stop()
    return [(m.partition, m.offset) for m in md]


def consumer(group: str | None = None, **conf) -> AIOKafkaConsumer:
    c = {"bootstrap_servers": BOOTSTRAP, "group_id": group, "enable_auto_commit": False,
         "auto_offset_reset": "earliest"}
    c.update(conf)
    return AIOKafkaConsumer(**c)


async def read(c: AIOKafkaConsumer, n: int, timeout: float = 20.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        for recs in (await c.getmany(timeout_ms=500)).values():
            out.extend(recs)
    check(len(out) == n, f"read {len(out)} of {n} records")
    return out


async def read_assigned(topic: str, starts: dict[int, int | None], n: int, **conf):
    c = consumer(**conf)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in starts]
        c.assign(tps)
        for tp in tps:
            if starts[tp.partition] is None:
                await c.seek_to_beginning(tp)
            else:
                c.seek(tp, starts[tp.partition])
        return await read(c, n)
    finally:
        await c.stop()


async def describe_topic(topic: str) -> dict:
    async with Admin() as a:
        (t,) = await a.describe_topics([topic])
    return t


async def metadata():
    t = R.topic("metadata")
    await create(t, 3)
    c = consumer()
    await c.start()
    try:
        # topics() fetches metadata for every topic (a separate cluster view).
        check(t in await c.topics(), "topic not in the consumer's topic list")
    finally:
        await c.stop()
    async with Admin() as a:
        cl = await a.describe_cluster()
    port = int(BOOTSTRAP.rsplit(":", 1)[1])
    check(any(b["port"] == port for b in cl["brokers"]), f"brokers {cl['brokers']}")
    td = await describe_topic(t)
    check(td["error_code"] == 0 and len(td["partitions"]) == 3, f"described {td}")
    check(all(p["leader"] >= 0 for p in td["partitions"]), f"leaders {td['partitions']}")


async def produce_codec(codec: str):
    t = R.topic(f"produce-{codec}")
    await create(t, 1)
    recs = [(None, f"k{i}".encode(), produce_value(i, codec), [("idx", str(i).encode())], None) for i in range(50)]
    conf = {} if codec == "none" else {"compression_type": codec}
    acked = await produce(t, recs, **conf)
    check([o for _, o in acked] == list(range(50)), f"acked offsets {acked[:5]}...")
    got = await read_assigned(t, {0: 0}, 50)
    for i, m in enumerate(got):
        check((m.offset, m.key, m.value) == (i, f"k{i}".encode(), produce_value(i, codec)), f"record {i}: {m.offset} {m.key!r}")
        check(list(m.headers) == [("idx", str(i).encode())], f"record {i} headers {m.headers}")


async def fetch():
    t = R.topic("fetch")
    await create(t, 3)
    await produce(t, [(i % 3, f"k{i}".encode(), f"v{i}".encode(), [("idx", str(i).encode())], None) for i in range(30)])
    got = await read_assigned(t, {0: 0, 1: 0, 2: 0}, 30)
    for p in range(3):
        vals = [m.value for m in got if m.partition == p]
        check(vals == [f"v{i}".encode() for i in range(p, 30, 3)], f"partition {p}: {vals}")
    mid = await read_assigned(t, {1: 5}, 5)
    check([m.offset for m in mid] == [5, 6, 7, 8, 9], f"offsets from 5: {[m.offset for m in mid]}")
    check(mid[0].value == b"v16", f"offset 5 of partition 1 is {mid[0].value!r}")


async def group():
    t, g = R.topic("group"), R.group("group")
    await create(t, 2)
    await produce(t, [(i % 2, None, f"a{i}".encode(), None, None) for i in range(10)])
    c1 = consumer(g)
    await c1.start()
    try:
        c1.subscribe([t])
        got = await read(c1, 10, 30)
        check(sorted(m.value for m in got) == sorted(f"a{i}".encode() for i in range(10)), "first consumer's records")
        await c1.commit()
        committed = [await c1.committed(TopicPartition(t, p)) for p in (0, 1)]
        check(committed == [5, 5], f"committed {committed}")
    finally:
        await c1.stop()
    await produce(t, [(i % 2, None, f"b{i}".encode(), None, None) for i in range(4)])
    c2 = consumer(g)
    await c2.start()
    try:
        c2.subscribe([t])
        got = await read(c2, 4, 30)
        check(sorted(m.value for m in got) == sorted(f"b{i}".encode() for i in range(4)),
              f"second consumer resumed with {[m.value for m in got]}")
        check(not await c2.getmany(timeout_ms=1000), "more records after the committed ones")
    finally:
        await c2.stop()


async def rebalance():
    t, g = R.topic("rebalance"), R.group("rebalance")
    await create(t, 4)
    conf = {"heartbeat_interval_ms": 500, "session_timeout_ms": 6000}
    c1, c2 = consumer(g, **conf), consumer(g, **conf)
    await c1.start()
    await c2.start()
    try:
        c1.subscribe([t])

        async def c1_has(n):
            await c1.getmany(timeout_ms=200)
            return len(c1.assignment()) == n
        await wait_until(lambda: c1_has(4), 20, "c1 assigned 4 partitions")
        c2.subscribe([t])

        async def split():
            await asyncio.gather(c1.getmany(timeout_ms=100), c2.getmany(timeout_ms=100))
            a1 = {tp.partition for tp in c1.assignment()}
            a2 = {tp.partition for tp in c2.assignment()}
            return len(a1) == 2 and len(a2) == 2 and a1 | a2 == {0, 1, 2, 3}
        await wait_until(split, 40, "two consumers with 2 partitions each")
        await c2.stop()
        c2 = None
        await wait_until(lambda: c1_has(4), 40, "c1 back to 4 partitions")
    finally:
        await c1.stop()
        if c2 is not None:
            await c2.stop()


async def idempotent():
    t = R.topic("idempotent")
    await create(t, 1)
    acked = await produce(t, [(None, None, f"i{i}".encode(), None, None) for i in range(20)], enable_idempotence=True, acks="all")
    check([o for _, o in acked] == list(range(20)), f"acked {acked}")
    got = await read_assigned(t, {0: 0}, 20)
    check([m.value for m in got] == [f"i{i}".encode() for i in range(20)], "read back")


async def transactions():
    t = R.topic("transactions")
    await create(t, 1)
    p = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=f"{PREFIX}-txn")
    await p.start()
    try:
        async with p.transaction():
            for i in range(5):
                await p.send(t, value=f"c{i}".encode())
        await p.begin_transaction()
        for i in range(5):
            await p.send(t, value=f"a{i}".encode())
        await p.abort_transaction()
    finally:
        await p.stop()
    c = consumer(isolation_level="read_committed")
    await c.start()
    try:
        tp = TopicPartition(t, 0)
        c.assign([tp])
        await c.seek_to_beginning(tp)
        got = []
        deadline = time.monotonic() + 10
        end = (await c.end_offsets([tp]))[tp]
        while time.monotonic() < deadline and await c.position(tp) < end:
            for recs in (await c.getmany(timeout_ms=500)).values():
                got.extend(r.value for r in recs)
        check(got == [f"c{i}".encode() for i in range(5)], f"read_committed saw {got}")
    finally:
        await c.stop()


async def admin_topics():
    t = R.topic("admin-topics")
    await create(t, 2, {"retention.ms": "3600000"})
    td = await describe_topic(t)
    check(len(td["partitions"]) == 2, f"described {td}")
    async with Admin() as a:
        resp = await a.delete_topics([t])
        check(all(code == 0 for _, code, *_ in resp.topic_error_codes), f"delete {resp}")

        async def gone():
            return t not in await a.list_topics()
        await wait_until(gone, 20, "topic gone after delete")


async def admin_partitions():
    t = R.topic("admin-partitions")
    await create(t, 1)
    async with Admin() as a:
        await a.create_partitions({t: NewPartitions(3)})

    async def three():
        return len((await describe_topic(t))["partitions"]) == 3
    await wait_until(three, 20, "3 partitions")


def _configs(responses) -> dict[str, str]:
    out = {}
    for resp in responses:
        for res in resp.to_object()["resources"]:
            check(res["error_code"] == 0, f"describe_configs error {res}")
            for e in res["config_entries"]:
                out[e["config_names"] if "config_names" in e else e["config_name"]] = e["config_value"]
    return out


async def admin_configs():
    t = R.topic("admin-configs")
    await create(t, 1)
    async with Admin() as a:
        cfg = _configs(await a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)]))
        check("retention.ms" in cfg, f"retention.ms missing from {sorted(cfg)[:10]}")
        resps = await a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, {"retention.ms": "7200000"})])
        for resp in resps:
            for r in resp.to_object()["resources"]:
                check(r["error_code"] == 0, f"alter_configs {r}")
        cfg = _configs(await a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)]))
        check(cfg.get("retention.ms") == "7200000", f"retention.ms is {cfg.get('retention.ms')}")
        node = (await a.describe_cluster())["brokers"][0]["node_id"]
        bcfg = _configs(await a.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node))]))
        check("num.partitions" in bcfg, f"broker config lacks num.partitions ({len(bcfg)} entries)")


async def admin_groups():
    t, g = R.topic("admin-groups"), R.group("admin-groups")
    await create(t, 1)
    await produce(t, [(None, None, f"g{i}".encode(), None, None) for i in range(3)])
    c = consumer(g)
    await c.start()
    try:
        c.subscribe([t])
        await read(c, 3, 30)
        await c.commit()
    finally:
        await c.stop()
    async with Admin() as a:
        groups = await a.list_consumer_groups()
        check(g in [x[0] for x in groups], f"{g} not in listed groups {groups}")
        (desc,) = await a.describe_consumer_groups([g])
        obj = desc.to_object()["groups"][0]
        check(obj["error_code"] == 0 and obj["state"] in ("Empty", "Stable"), f"described {obj}")
        check(obj["protocol_type"] == "consumer",
              f"group {obj['state']} described with protocol type {obj['protocol_type']!r}, not 'consumer'")
        offs = await a.list_consumer_group_offsets(g)
        got = {(tp.topic, tp.partition): om.offset for tp, om in offs.items()}
        check(got.get((t, 0)) == 3, f"committed offsets {got}")


async def offsets():
    t = R.topic("offsets")
    await create(t, 1)
    base = (int(time.time()) - 600) * 1000
    await produce(t, [(None, None, f"o{i}".encode(), None, base + i * 1000) for i in range(10)])
    tp = TopicPartition(t, 0)
    c = consumer()
    await c.start()
    try:
        check((await c.beginning_offsets([tp]))[tp] == 0, "earliest")
        check((await c.end_offsets([tp]))[tp] == 10, "latest")
        found = (await c.offsets_for_times({tp: base + 5000}))[tp]
        check(found is not None and found.offset == 5, f"offset for timestamp base+5s: {found}")
    finally:
        await c.stop()


async def delete_records():
    t = R.topic("delete-records")
    await create(t, 1)
    await produce(t, [(None, None, f"d{i}".encode(), None, None) for i in range(10)])
    tp = TopicPartition(t, 0)
    async with Admin() as a:
        res = await a.delete_records({tp: RecordsToDelete(4)})
    check(res.get(tp) == 4, f"low watermark after delete {res}")
    got = await read_assigned(t, {0: None}, 6)
    check(got[0].offset == 4 and got[0].value == b"d4", f"first record after delete: {got[0].offset}")


def run(name, coro_fn, *a):
    R.run(name, lambda: asyncio.run(asyncio.wait_for(coro_fn(*a), 55)))


run("metadata", metadata)
for codec in CODECS:
    run(f"produce-{codec}", produce_codec, codec)
run("fetch", fetch)
run("group", group)
run("rebalance", rebalance)
run("idempotent", idempotent)
run("transactions", transactions)
run("admin-topics", admin_topics)
run("admin-partitions", admin_partitions)
run("admin-configs", admin_configs)
run("admin-groups", admin_groups)
run("offsets", offsets)
run("delete-records", delete_records)
