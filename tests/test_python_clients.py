"""Python clients against the broker: confluent-kafka (librdkafka 2.16), kafka-python, aiokafka.

Every client negotiates API versions by itself (no api_version pinned).
Consumer groups are not implemented yet, so consumers assign partitions
explicitly and commit nothing.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import unique_topic
from kafka_helpers import consumer_config, create_topic, read_partitions

pytestmark = pytest.mark.timeout(120)


def wait_until(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# --- confluent-kafka --------------------------------------------------------


def test_confluent_admin_create_describe_delete(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = unique_topic("ck-admin")

    futures = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                                  operation_timeout=30, request_timeout=30)
    assert futures[topic].result(timeout=30) is None

    md = admin.list_topics(timeout=10)
    assert topic in md.topics, sorted(md.topics)
    t = md.topics[topic]
    assert t.error is None
    assert sorted(t.partitions) == [0, 1, 2]
    assert len(md.brokers) == 1, md.brokers
    (node,) = md.brokers.values()
    assert f"{node.host}:{node.port}" == broker.bootstrap
    for p in t.partitions.values():
        assert p.leader == node.id and list(p.replicas) == [node.id] and list(p.isrs) == [node.id]

    desc = admin.describe_topics(TopicCollection([topic]))[topic].result(timeout=30)
    assert desc.name == topic
    assert len(desc.partitions) == 3
    assert sorted(p.id for p in desc.partitions) == [0, 1, 2]

    # Creating it again is an error the user sees.
    again = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    with pytest.raises(Exception) as exc:
        again[topic].result(timeout=30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, exc.value

    assert admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=30) is None
    wait_until(lambda: topic not in admin.list_topics(timeout=10).topics, 15, f"{topic} to disappear")


def _payloads(n: int, seed: int):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        key = f"key-{i}".encode()
        # Arbitrary bytes, including NULs and invalid UTF-8, of varying length.
        value = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 300)))
        headers = [("seq", str(i).encode()), ("bin", bytes([0, 255, i % 256])), ("dup", b"a"), ("dup", b"b")]
        out.append((key, value, headers))
    return out


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_confluent_produce_consume_assign(broker, compression):
    topic = unique_topic(f"ck-pc-{compression}")
    create_topic(broker.bootstrap, topic, partitions=3)
    n = 300
    messages = _payloads(n, seed=42)
    # A large value and a null value (tombstone) too.
    messages.append((b"big", os.urandom(200_000), []))
    messages.append((b"tombstone", None, [("why", None)]))

    delivered = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered[msg.key()] = (msg.partition(), msg.offset())

    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.codec": compression,
                  "linger.ms": 5})
    for key, value, headers in messages:
        p.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(30) == 0, "messages still in flight after flush"
    assert errors == []
    assert len(delivered) == len(messages)
    # Keyed messages spread over the partitions, offsets dense from 0 in each.
    by_partition: dict[int, list[int]] = {}
    for part, off in delivered.values():
        by_partition.setdefault(part, []).append(off)
    assert set(by_partition) == {0, 1, 2}, by_partition.keys()
    for part, offs in by_partition.items():
        assert sorted(offs) == list(range(len(offs))), (part, sorted(offs)[:20])

    records = read_partitions(broker.bootstrap, topic, {0: 0, 1: 0, 2: 0}, len(messages))
    assert len(records) == len(messages)
    got = {r.key: r for r in records}
    assert len(got) == len(messages), "duplicate keys read back"
    for key, value, headers in messages:
        r = got[key]
        assert (r.partition, r.offset) == delivered[key], key
        assert r.value == value, key
        assert list(r.headers) == list(headers), key
    # Each partition is read in offset order.
    for part in range(3):
        offs = [r.offset for r in records if r.partition == part]
        assert offs == sorted(offs)


def test_confluent_consume_from_middle_and_watermarks(broker):
    topic = unique_topic("ck-offsets")
    create_topic(broker.bootstrap, topic, partitions=1)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(100):
        p.produce(topic, value=f"v{i}".encode())
    assert p.flush(30) == 0

    c = Consumer(consumer_config(broker.bootstrap))
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert (lo, hi) == (0, 100)
        # offsets_for_times with a timestamp before everything: the first offset.
        (tp,) = c.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10)
        assert tp.error is None and tp.offset == 0
    finally:
        c.close()

    records = read_partitions(broker.bootstrap, topic, {0: 60}, 40)
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(60, 100)]
    assert [r.offset for r in records] == list(range(60, 100))


# --- kafka-python -----------------------------------------------------------


def test_kafka_python_admin_create_describe_delete(broker):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        topic = unique_topic("kp-admin")
        admin.create_topics({topic: {"num_partitions": 3, "replication_factor": 1}})
        assert topic in admin.list_topics()
        (t,) = admin.describe_topics([topic])
        assert t["name"] == topic
        assert t["error_code"] == 0, t
        assert sorted(p["partition_index"] for p in t["partitions"]) == [0, 1, 2], t
        admin.delete_topics([topic])
        wait_until(lambda: topic not in admin.list_topics(), 15, f"{topic} to disappear")
    finally:
        admin.close()


def test_kafka_python_produce_consume_assign(broker):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP

    topic = unique_topic("kp-pc")
    create_topic(broker.bootstrap, topic, partitions=3)
    messages = _payloads(200, seed=7)

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    try:
        futures = [producer.send(topic, key=k, value=v, headers=h) for k, v, h in messages]
        producer.flush(30)
        meta = {k: f.get(timeout=30) for (k, _, _), f in zip(messages, futures)}
    finally:
        producer.close(10)
    assert {m.topic for m in meta.values()} == {topic}
    assert {m.partition for m in meta.values()} == {0, 1, 2}

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                             enable_auto_commit=False)
    try:
        consumer.assign([KTP(topic, p) for p in range(3)])
        consumer.seek_to_beginning()
        got = {}
        deadline = time.monotonic() + 30
        while len(got) < len(messages) and time.monotonic() < deadline:
            for recs in consumer.poll(timeout_ms=500).values():
                for r in recs:
                    got[r.key] = r
    finally:
        consumer.close()
    assert len(got) == len(messages)
    for key, value, headers in messages:
        r = got[key]
        assert (r.partition, r.offset) == (meta[key].partition, meta[key].offset), key
        assert r.value == value, key
        assert [(h[0], h[1]) for h in r.headers] == headers, key


# --- aiokafka ---------------------------------------------------------------


def test_aiokafka_produce_consume_assign(broker):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as ATP

    topic = unique_topic("aio-pc")
    create_topic(broker.bootstrap, topic, partitions=3)
    messages = [(f"k{i}".encode(), f"value {i}".encode()) for i in range(100)]

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            meta = {}
            for k, v in messages:
                md = await producer.send_and_wait(topic, key=k, value=v)
                meta[k] = (md.partition, md.offset)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign([ATP(topic, p) for p in range(3)])
            await consumer.seek_to_beginning()
            got = {}
            deadline = time.monotonic() + 30
            while len(got) < len(messages) and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for recs in batches.values():
                    for r in recs:
                        got[r.key] = (r.partition, r.offset, r.value)
        finally:
            await consumer.stop()
        return meta, got

    meta, got = asyncio.run(run())
    assert len(got) == len(messages)
    for k, v in messages:
        assert got[k] == (*meta[k], v), k
