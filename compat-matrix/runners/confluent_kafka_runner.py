"""confluent-kafka-python (librdkafka bundled in the wheel) through the scenario list."""

from __future__ import annotations

import time
from importlib.metadata import version as pkg_version

import confluent_kafka
from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaError,
    OFFSET_BEGINNING,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

from common import CODECS, Reporter, args, check, produce_value, schema_registry_url, wait_until

BOOTSTRAP, PREFIX = args()
R = Reporter(
    "confluent-kafka-python",
    f"{pkg_version('confluent-kafka')} (librdkafka {confluent_kafka.libversion()[0]})",
    BOOTSTRAP,
    PREFIX,
)
admin = AdminClient({"bootstrap.servers": BOOTSTRAP})


def create(topic: str, partitions: int = 1, config: dict | None = None) -> None:
    fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                       config=config or {})], operation_timeout=30)
    fs[topic].result(timeout=30)
    wait_until(lambda: topic in admin.list_topics(timeout=10).topics
               and len(admin.list_topics(timeout=10).topics[topic].partitions) == partitions,
               20, f"{topic} in metadata")


def produce(topic: str, records, **conf) -> list[tuple[int, int]]:
    """records: (partition|None, key, value, headers, timestamp|None). Returns acked (partition, offset)."""
    acked: dict[int, tuple[int, int]] = {}
    errors = []
    p = Producer({"bootstrap.servers": BOOTSTRAP, "linger.ms": 5, **conf})
    for i, (part, key, value, headers, ts) in enumerate(records):
        def cb(err, msg, i=i):
            if err is not None:
                errors.append(err)
            else:
                acked[i] = (msg.partition(), msg.offset())
        kw = {"key": key, "value": value, "headers": headers, "on_delivery": cb}
        if part is not None:
            kw["partition"] = part
        if ts is not None:
            kw["timestamp"] = ts
        p.produce(topic, **kw)
        p.poll(0)
    check(p.flush(30) == 0, "records still in flight after flush(30)")
    check(not errors, f"delivery errors: {errors[:3]}")
    check(len(acked) == len(records), f"acked {len(acked)} of {len(records)}")
    return [acked[i] for i in range(len(records))]


def consumer(group: str | None = None, **conf) -> Consumer:
    c = {"bootstrap.servers": BOOTSTRAP, "group.id": group or f"{PREFIX}-unused",
         "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    c.update(conf)
    return Consumer(c)


def read(c: Consumer, n: int, timeout: float = 20.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise AssertionError(f"consume error: {m.error()}")
        out.append(m)
    check(len(out) == n, f"read {len(out)} of {n} records")
    return out


def read_assigned(topic: str, starts: dict[int, int], n: int, **conf):
    c = consumer(**conf)
    try:
        c.assign([TopicPartition(topic, p, o) for p, o in starts.items()])
        return read(c, n)
    finally:
        c.close()


# --- scenarios ----------------------------------------------------------------


def metadata():
    t = R.topic("metadata")
    create(t, 3)
    md = admin.list_topics(timeout=10)
    check(len(md.brokers) >= 1, f"no brokers in metadata: {md.brokers}")
    port = int(BOOTSTRAP.rsplit(":", 1)[1])
    check(any(b.port == port for b in md.brokers.values()), f"bootstrap port not among brokers {md.brokers}")
    tm = md.topics[t]
    check(tm.error is None, f"topic error {tm.error}")
    check(sorted(tm.partitions) == [0, 1, 2], f"partitions {sorted(tm.partitions)}")
    check(all(p.leader in md.brokers for p in tm.partitions.values()), "partition without a known leader")


def produce_codec(codec: str):
    t = R.topic(f"produce-{codec}")
    create(t, 1)
    recs = [(None, f"k{i}".encode(), produce_value(i, codec), [("idx", str(i).encode())], None) for i in range(50)]
    acked = produce(t, recs, **{"compression.type": codec})
    check([o for _, o in acked] == list(range(50)), f"acked offsets {[o for _, o in acked][:10]}...")
    got = read_assigned(t, {0: 0}, 50)
    for i, m in enumerate(got):
        check((m.offset(), m.key(), m.value()) == (i, f"k{i}".encode(), produce_value(i, codec)),
              f"record {i} read back as offset {m.offset()} key {m.key()!r}")
        check(m.headers() == [("idx", str(i).encode())], f"record {i} headers {m.headers()}")


def fetch():
    t = R.topic("fetch")
    create(t, 3)
    recs = [(i % 3, f"k{i}".encode(), f"v{i}".encode(), [("idx", str(i).encode())], None) for i in range(30)]
    produce(t, recs)
    got = read_assigned(t, {0: 0, 1: 0, 2: 0}, 30)
    for p in range(3):
        vals = [m.value() for m in got if m.partition() == p]
        check(vals == [f"v{i}".encode() for i in range(p, 30, 3)], f"partition {p} read {vals}")
    mid = read_assigned(t, {1: 5}, 5)
    check([m.offset() for m in mid] == [5, 6, 7, 8, 9], f"offsets from 5: {[m.offset() for m in mid]}")
    check(mid[0].value() == b"v16", f"offset 5 of partition 1 is {mid[0].value()!r}")


def group():
    t, g = R.topic("group"), R.group("group")
    create(t, 2)
    produce(t, [(i % 2, None, f"a{i}".encode(), None, None) for i in range(10)])
    c1 = consumer(g)
    try:
        c1.subscribe([t])
        got = read(c1, 10, 40)
        check(sorted(m.value() for m in got) == sorted(f"a{i}".encode() for i in range(10)), "first consumer's records")
        c1.commit(asynchronous=False)
        committed = c1.committed([TopicPartition(t, 0), TopicPartition(t, 1)], timeout=10)
        check(sorted(tp.offset for tp in committed) == [5, 5], f"committed {committed}")
    finally:
        c1.close()
    produce(t, [(i % 2, None, f"b{i}".encode(), None, None) for i in range(4)])
    c2 = consumer(g)
    try:
        c2.subscribe([t])
        got = read(c2, 4, 40)
        check(sorted(m.value() for m in got) == sorted(f"b{i}".encode() for i in range(4)),
              f"second consumer resumed with {[m.value() for m in got]}")
        check(c2.poll(1.0) is None, "more records after the committed ones")
    finally:
        c2.close()


def rebalance():
    t, g = R.topic("rebalance"), R.group("rebalance")
    create(t, 4)
    conf = {"heartbeat.interval.ms": 500, "session.timeout.ms": 6000}
    c1, c2 = consumer(g, **conf), consumer(g, **conf)
    try:
        c1.subscribe([t])
        wait_until(lambda: (c1.poll(0.2), len(c1.assignment()) == 4)[1], 30, "c1 assigned 4 partitions")
        c2.subscribe([t])

        def split():
            c1.poll(0.1)
            c2.poll(0.1)
            a1 = {tp.partition for tp in c1.assignment()}
            a2 = {tp.partition for tp in c2.assignment()}
            return len(a1) == 2 and len(a2) == 2 and a1 | a2 == {0, 1, 2, 3}
        wait_until(split, 40, "two consumers with 2 partitions each", 0)
        c2.close()
        c2 = None
        wait_until(lambda: (c1.poll(0.2), len(c1.assignment()) == 4)[1], 40, "c1 back to 4 partitions after c2 left")
    finally:
        c1.close()
        if c2 is not None:
            c2.close()


def idempotent():
    t = R.topic("idempotent")
    create(t, 1)
    acked = produce(t, [(None, None, f"i{i}".encode(), None, None) for i in range(20)],
                    **{"enable.idempotence": True, "acks": "all"})
    check([o for _, o in acked] == list(range(20)), f"acked offsets {acked}")
    got = read_assigned(t, {0: 0}, 20)
    check([m.value() for m in got] == [f"i{i}".encode() for i in range(20)], "read back")


def transactions():
    t = R.topic("transactions")
    create(t, 1)
    p = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": f"{PREFIX}-txn"})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(t, value=f"c{i}".encode())
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(5):
        p.produce(t, value=f"a{i}".encode())
    p.abort_transaction(30)
    c = consumer(**{"isolation.level": "read_committed", "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(t, 0, 0)])
        got = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(f"consume error {m.error()}")
            got.append(m.value())
        check(got == [f"c{i}".encode() for i in range(5)], f"read_committed saw {got}")
    finally:
        c.close()


def admin_topics():
    t = R.topic("admin-topics")
    create(t, 2, {"retention.ms": "3600000"})
    check(t in admin.list_topics(timeout=10).topics, "created topic not listed")
    desc = admin.describe_topics(confluent_kafka.TopicCollection([t]))[t].result(timeout=10)
    check(len(desc.partitions) == 2, f"described partitions {desc.partitions}")
    admin.delete_topics([t], operation_timeout=30)[t].result(timeout=30)
    wait_until(lambda: t not in admin.list_topics(timeout=10).topics, 20, "topic gone after delete")


def admin_partitions():
    t = R.topic("admin-partitions")
    create(t, 1)
    admin.create_partitions([NewPartitions(t, 3)], operation_timeout=30)[t].result(timeout=30)
    wait_until(lambda: len(admin.list_topics(timeout=10).topics[t].partitions) == 3, 20, "3 partitions")


def admin_configs():
    t = R.topic("admin-configs")
    create(t, 1)
    res = ConfigResource(ConfigResource.Type.TOPIC, t)
    cfg = admin.describe_configs([res])[res].result(timeout=10)
    check("retention.ms" in cfg, f"retention.ms missing from {sorted(cfg)[:10]}")
    alter = ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([alter])[alter].result(timeout=10)
    cfg = admin.describe_configs([res])[res].result(timeout=10)
    check(cfg["retention.ms"].value == "7200000", f"retention.ms is {cfg['retention.ms'].value}")
    md = admin.list_topics(timeout=10)
    broker_id = str(next(iter(md.brokers)))
    bres = ConfigResource(ConfigResource.Type.BROKER, broker_id)
    bcfg = admin.describe_configs([bres])[bres].result(timeout=10)
    check("num.partitions" in bcfg, f"broker config lacks num.partitions ({len(bcfg)} entries)")


def admin_groups():
    t, g = R.topic("admin-groups"), R.group("admin-groups")
    create(t, 1)
    produce(t, [(None, None, f"g{i}".encode(), None, None) for i in range(3)])
    c = consumer(g)
    try:
        c.subscribe([t])
        read(c, 3, 40)
        c.commit(asynchronous=False)
    finally:
        c.close()
    listed = admin.list_consumer_groups().result(timeout=10)
    check(g in [x.group_id for x in listed.valid], f"{g} not in listed groups {[x.group_id for x in listed.valid]}")
    desc = admin.describe_consumer_groups([g])[g].result(timeout=10)
    check(desc.state in (ConsumerGroupState.EMPTY, ConsumerGroupState.STABLE), f"group state {desc.state}")
    # A group whose members used the consumer protocol is not a "simple" (protocol-less) one,
    # also after they left (Kafka keeps the protocol type of an Empty group).
    check(not desc.is_simple_consumer_group, f"group {desc.state} described as a simple consumer group (empty protocol type)")
    offs = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)])[g].result(timeout=10)
    got = {(tp.topic, tp.partition): tp.offset for tp in offs.topic_partitions}
    check(got.get((t, 0)) == 3, f"committed offsets {got}")


def offsets():
    t = R.topic("offsets")
    create(t, 1)
    base = (int(time.time() * 1000) // 1000 - 600) * 1000
    produce(t, [(None, None, f"o{i}".encode(), None, base + i * 1000) for i in range(10)])
    tp = TopicPartition(t, 0)
    res = admin.list_offsets({tp: OffsetSpec.earliest()})[tp].result(timeout=10)
    check(res.offset == 0, f"earliest {res.offset}")
    res = admin.list_offsets({tp: OffsetSpec.latest()})[tp].result(timeout=10)
    check(res.offset == 10, f"latest {res.offset}")
    res = admin.list_offsets({tp: OffsetSpec.for_timestamp(base + 5000)})[tp].result(timeout=10)
    check(res.offset == 5, f"offset for timestamp base+5s: {res.offset}")
    c = consumer()
    try:
        (ft,) = c.offsets_for_times([TopicPartition(t, 0, base + 7000)], timeout=10)
        check(ft.offset == 7, f"consumer offsets_for_times: {ft.offset}")
        check(c.get_watermark_offsets(tp, timeout=10) == (0, 10), "watermarks")
    finally:
        c.close()


def delete_records():
    t = R.topic("delete-records")
    create(t, 1)
    produce(t, [(None, None, f"d{i}".encode(), None, None) for i in range(10)])
    tp = TopicPartition(t, 0, 4)
    res = admin.delete_records([tp])[tp].result(timeout=10)
    check(res.low_watermark == 4, f"low watermark after delete {res.low_watermark}")
    got = read_assigned(t, {0: OFFSET_BEGINNING}, 6)
    check(got[0].offset() == 4 and got[0].value() == b"d4", f"first record after delete: {got[0].offset()}")


def avro_registry():
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    sr = SchemaRegistryClient({"url": schema_registry_url()})
    t = R.topic("avro-registry")
    create(t, 1)
    schema = ('{"type": "record", "name": "LogLine", "namespace": "matrix", "fields": ['
              '{"name": "ip", "type": "string"}, {"name": "n", "type": "long"}]}')
    ser = AvroSerializer(sr, schema)
    ctx = SerializationContext(t, MessageField.VALUE)
    sent = [{"ip": f"10.0.0.{i}", "n": i} for i in range(3)]
    produce(t, [(None, None, ser(v, ctx), None, None) for v in sent])
    check(f"{t}-value" in sr.get_subjects(), f"subject {t}-value not registered: {sr.get_subjects()}")
    got = read_assigned(t, {0: 0}, 3)
    check(all(m.value()[0] == 0 for m in got), "records lack the Confluent wire-format magic byte")
    de = AvroDeserializer(sr)
    back = [de(m.value(), ctx) for m in got]
    check(back == sent, f"read back {back}")


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
R.run("avro-registry", avro_registry)
