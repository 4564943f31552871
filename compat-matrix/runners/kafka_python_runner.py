"""kafka-python (pure Python) through the scenario list."""

from __future__ import annotations

import time
from importlib.metadata import version as pkg_version

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from common import CODECS, Reporter, args, check, produce_value, wait_until

BOOTSTRAP, PREFIX = args()
R = Reporter("kafka-python", pkg_version("kafka-python"), BOOTSTRAP, PREFIX)
admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=30000)


def create(topic: str, partitions: int = 1, config: dict | None = None) -> None:
    spec = {"num_partitions": partitions, "replication_factor": 1}
    if config:
        spec["configs"] = config
    admin.create_topics({topic: spec})
    wait_until(lambda: topic in admin.list_topics(), 20, f"{topic} listed")


def produce(topic: str, records, **conf):
    """records: (partition|None, key, value, headers, timestamp_ms|None) -> [(partition, offset)]."""
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5, **conf)
    try:
        futs = [p.send(topic, key=k, value=v, headers=h or [], partition=part, timestamp_ms=ts)
                for part, k, v, h, ts in records]
        p.flush(30)
        md = [f.get(timeout=30) for f in futs]
    finally:
        p.close(10)
    return [(m.partition, m.offset) for m in md]


def consumer(group: str | None = None, **conf) -> KafkaConsumer:
    c = {"bootstrap_servers": BOOTSTRAP, "group_id": group, "enable_auto_commit": False,
         "auto_offset_reset": "earliest"}
    c.update(conf)
    return KafkaConsumer(**c)


def read(c: KafkaConsumer, n: int, timeout: float = 20.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            out.extend(recs)
    check(len(out) == n, f"read {len(out)} of {n} records")
    return out


def read_assigned(topic: str, starts: dict[int, int | None], n: int, **conf):
    c = consumer(**conf)
    try:
        tps = [TopicPartition(topic, p) for p in starts]
        c.assign(tps)
        for tp in tps:
            if starts[tp.partition] is None:
                c.seek_to_beginning(tp)
            else:
                c.seek(tp, starts[tp.partition])
        return read(c, n)
    finally:
        c.close()


def partitions_of(topic: str) -> int:
    (t,) = admin.describe_topics([topic])
    check(t["error_code"] == 0, f"describe {topic}: {t}")
    return len(t["partitions"])


def metadata():
    t = R.topic("metadata")
    create(t, 3)
    c = consumer()
    try:
        parts = c.partitions_for_topic(t)
        check(parts == {0, 1, 2}, f"partitions_for_topic {parts}")
        brokers = c._client.cluster.brokers()
        port = int(BOOTSTRAP.rsplit(":", 1)[1])
        check(any(b.port == port for b in brokers), f"brokers {brokers}")
        for p in range(3):
            check(c._client.cluster.leader_for_partition(TopicPartition(t, p)) is not None, f"no leader for {p}")
    finally:
        c.close()


def produce_codec(codec: str):
    t = R.topic(f"produce-{codec}")
    create(t, 1)
    recs = [(None, f"k{i}".encode(), produce_value(i, codec), [("idx", str(i).encode())], None) for i in range(50)]
    conf = {} if codec == "none" else {"compression_type": codec}
    acked = produce(t, recs, **conf)
    check([o for _, o in acked] == list(range(50)), f"acked offsets {acked[:5]}...")
    got = read_assigned(t, {0: 0}, 50)
    for i, m in enumerate(got):
        check((m.offset, m.key, m.value) == (i, f"k{i}".encode(), produce_value(i, codec)), f"record {i}: {m.offset} {m.key!r}")
        check(list(m.headers) == [("idx", str(i).encode())], f"record {i} headers {m.headers}")


def fetch():
    t = R.topic("fetch")
    create(t, 3)
    produce(t, [(i % 3, f"k{i}".encode(), f"v{i}".encode(), [("idx", str(i).encode())], None) for i in range(30)])
    got = read_assigned(t, {0: 0, 1: 0, 2: 0}, 30)
    for p in range(3):
        vals = [m.value for m in got if m.partition == p]
        check(vals == [f"v{i}".encode() for i in range(p, 30, 3)], f"partition {p}: {vals}")
    mid = read_assigned(t, {1: 5}, 5)
    check([m.offset for m in mid] == [5, 6, 7, 8, 9], f"offsets from 5: {[m.offset for m in mid]}")
    check(mid[0].value == b"v16", f"offset 5 of partition 1 is {mid[0].value!r}")


def group():
    t, g = R.topic("group"), R.group("group")
    create(t, 2)
    produce(t, [(i % 2, None, f"a{i}".encode(), None, None) for i in range(10)])
    c1 = consumer(g)
    try:
        c1.subscribe([t])
        got = read(c1, 10, 30)
        check(sorted(m.value for m in got) == sorted(f"a{i}".encode() for i in range(10)), "first consumer's records")
        c1.commit()
        committed = [c1.committed(TopicPartition(t, p)) for p in (0, 1)]
        check(committed == [5, 5], f"committed {committed}")
    finally:
        c1.close()
    produce(t, [(i % 2, None, f"b{i}".encode(), None, None) for i in range(4)])
    c2 = consumer(g)
    try:
        c2.subscribe([t])
        got = read(c2, 4, 30)
        check(sorted(m.value for m in got) == sorted(f"b{i}".encode() for i in range(4)),
              f"second consumer resumed with {[m.value for m in got]}")
        check(not c2.poll(timeout_ms=1000), "more records after the committed ones")
    finally:
        c2.close()


def rebalance():
    t, g = R.topic("rebalance"), R.group("rebalance")
    create(t, 4)
    conf = {"heartbeat_interval_ms": 500, "session_timeout_ms": 6000}
    c1, c2 = consumer(g, **conf), consumer(g, **conf)
    try:
        c1.subscribe([t])
        wait_until(lambda: (c1.poll(timeout_ms=200), len(c1.assignment()) == 4)[1], 20, "c1 assigned 4 partitions")
        c2.subscribe([t])

        def split():
            c1.poll(timeout_ms=100)
            c2.poll(timeout_ms=100)
            a1 = {tp.partition for tp in c1.assignment()}
            a2 = {tp.partition for tp in c2.assignment()}
            return len(a1) == 2 and len(a2) == 2 and a1 | a2 == {0, 1, 2, 3}
        wait_until(split, 40, "two consumers with 2 partitions each", 0)
        c2.close()
        c2 = None
        wait_until(lambda: (c1.poll(timeout_ms=200), len(c1.assignment()) == 4)[1], 40, "c1 back to 4 partitions")
    finally:
        c1.close()
        if c2 is not None:
            c2.close()


def idempotent():
    t = R.topic("idempotent")
    create(t, 1)
    acked = produce(t, [(None, None, f"i{i}".encode(), None, None) for i in range(20)], enable_idempotence=True, acks="all")
    check([o for _, o in acked] == list(range(20)), f"acked {acked}")
    got = read_assigned(t, {0: 0}, 20)
    check([m.value for m in got] == [f"i{i}".encode() for i in range(20)], "read back")


def transactions():
    t = R.topic("transactions")
    create(t, 1)
    p = KafkaProducer(bootstrap_servers=BOOTSTRAP, transactional_id=f"{PREFIX}-txn")
    try:
        p.init_transactions()
        p.begin_transaction()
        for i in range(5):
            p.send(t, value=f"c{i}".encode())
        p.commit_transaction()
        p.begin_transaction()
        for i in range(5):
            p.send(t, value=f"a{i}".encode())
        p.abort_transaction()
    finally:
        p.close(10)
    c = consumer(isolation_level="read_committed")
    try:
        tp = TopicPartition(t, 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        got = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and c.position(tp) < c.end_offsets([tp])[tp]:
            for recs in c.poll(timeout_ms=500).values():
                got.extend(r.value for r in recs)
        check(got == [f"c{i}".encode() for i in range(5)], f"read_committed saw {got}")
    finally:
        c.close()


def admin_topics():
    t = R.topic("admin-topics")
    create(t, 2, {"retention.ms": "3600000"})
    check(t in admin.list_topics(), "created topic not listed")
    check(partitions_of(t) == 2, "described partitions")
    admin.delete_topics([t])
    wait_until(lambda: t not in admin.list_topics(), 20, "topic gone after delete")


def admin_partitions():
    t = R.topic("admin-partitions")
    create(t, 1)
    admin.create_partitions({t: 3})
    wait_until(lambda: partitions_of(t) == 3, 20, "3 partitions")


def _topic_config(t: str) -> dict:
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)], config_filter="all")
    return res["topic"][t]


def admin_configs():
    t = R.topic("admin-configs")
    create(t, 1)
    cfg = _topic_config(t)
    check("retention.ms" in cfg, f"retention.ms missing from {sorted(cfg)[:10]}")
    res = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": "7200000"})])
    print("alter_configs:", res)
    cfg = _topic_config(t)
    check(cfg["retention.ms"]["value"] == "7200000", f"retention.ms is {cfg['retention.ms']}")
    node = admin.describe_cluster()["brokers"][0]["broker_id"]
    bcfg = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node))], config_filter="all")
    bcfg = bcfg["broker"][str(node)]
    check("num.partitions" in bcfg, f"broker config lacks num.partitions ({len(bcfg)} entries)")


def admin_groups():
    t, g = R.topic("admin-groups"), R.group("admin-groups")
    create(t, 1)
    produce(t, [(None, None, f"g{i}".encode(), None, None) for i in range(3)])
    c = consumer(g)
    try:
        c.subscribe([t])
        read(c, 3, 30)
        c.commit()
    finally:
        c.close()
    groups = admin.list_groups()
    print("list_groups:", groups)
    check(g in str(groups), f"{g} not in listed groups")
    desc = admin.describe_groups([g])[g]
    print("describe_groups:", desc)
    check(desc["error"] is None and desc["group_state"] in ("Empty", "Stable"), f"described {desc}")
    check(desc["protocol_type"] == "consumer",
          f"group {desc['group_state']} described with protocol type {desc['protocol_type']!r}, not 'consumer'")
    offs = admin.list_group_offsets({g: None})
    print("list_group_offsets:", offs)
    flat = {}
    for v in (offs.values() if isinstance(offs, dict) else [offs]):
        for tp, om in (v.items() if isinstance(v, dict) else []):
            flat[(tp.topic, tp.partition)] = getattr(om, "offset", om)
    check(flat.get((t, 0)) == 3, f"committed offsets {offs}")


def offsets():
    t = R.topic("offsets")
    create(t, 1)
    base = (int(time.time()) - 600) * 1000
    produce(t, [(None, None, f"o{i}".encode(), None, base + i * 1000) for i in range(10)])
    tp = TopicPartition(t, 0)
    c = consumer()
    try:
        check(c.beginning_offsets([tp])[tp] == 0, "earliest")
        check(c.end_offsets([tp])[tp] == 10, "latest")
        found = c.offsets_for_times({tp: base + 5000})[tp]
        check(found is not None and found.offset == 5, f"offset for timestamp base+5s: {found}")
    finally:
        c.close()


def delete_records():
    t = R.topic("delete-records")
    create(t, 1)
    produce(t, [(None, None, f"d{i}".encode(), None, None) for i in range(10)])
    tp = TopicPartition(t, 0)
    res = admin.delete_records({tp: 4})
    print("delete_records:", res)
    got = read_assigned(t, {0: None}, 6)
    check(got[0].offset == 4 and got[0].value == b"d4", f"first record after delete: {got[0].offset}")


R.run("metadata", metadata)
for codec in CODECS:
    R.run(f"produce-{codec}", produce_codec, codec)
R.run("fetch", fetch)
R.run("group", group)
R.run("rebalance", rebalance)
R.run("idempotent", idempotent)
R.run("transactions", transactions)
R.run("admin-topics", admin_topics)
R.run("admin-partitions", admin_partitions)
R.run("admin-configs", admin_configs)
R.run("admin-groups", admin_groups)
R.run("offsets", offsets)
R.run("delete-records", delete_records)
admin.close()
