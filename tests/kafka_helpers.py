"""Small confluent-kafka helpers shared by the acceptance tests.

Setup steps (creating a topic, reading a topic back in full) go through these
so that each test's assertions are about the client it is testing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict | None = None,
                 timeout: float = 30.0) -> None:
    """Create a topic with confluent-kafka's AdminClient and wait until its metadata shows leaders."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    futures[name].result(timeout=timeout)
    wait_for_topic(admin, name, partitions, timeout)


def wait_for_topic(admin: AdminClient, name: str, partitions: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        # All topics, not list_topics(topic=name): a producer-type handle asks
        # for a named topic with allow_auto_topic_creation, which would hide a lost topic.
        md = admin.list_topics(timeout=10)
        t = md.topics.get(name)
        last = t
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
            p.leader >= 0 for p in t.partitions.values()
        ):
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {name} did not appear with {partitions} led partitions: {last!r}")


def consumer_config(bootstrap: str, **extra) -> dict:
    # Consumer groups are not used: partitions are assigned explicitly. librdkafka
    # still wants a group.id, but with auto-commit off it never talks to a coordinator.
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": "tributary-acceptance-unused",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    }
    conf.update(extra)
    return conf


def read_partitions(bootstrap: str, topic: str, starts: dict[int, int], expected: int,
                    timeout: float = 30.0) -> list[Record]:
    """Read from each partition at its start offset until `expected` records or
    end-of-partition on all of them (after at least one EOF each)."""
    c = Consumer(consumer_config(bootstrap))
    try:
        c.assign([TopicPartition(topic, p, off) for p, off in starts.items()])
        out: list[Record] = []
        at_eof: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(out) >= expected and at_eof >= set(starts):
                break
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_eof.add(m.partition())
                    continue
                raise AssertionError(f"consumer error: {m.error()}")
            at_eof.discard(m.partition())
            out.append(Record(m.partition(), m.offset(), m.key(), m.value(),
                              tuple(m.headers() or ())))
        return out
    finally:
        c.close()


def watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, tuple[int, int]]:
    c = Consumer(consumer_config(bootstrap))
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in range(partitions)}
    finally:
        c.close()


def read_all(bootstrap: str, topic: str, partitions: int, timeout: float = 60.0) -> list[Record]:
    """Every record of every partition, from the log start offset to the high watermark."""
    marks = watermarks(bootstrap, topic, partitions)
    expected = sum(hi - lo for lo, hi in marks.values())
    return read_partitions(bootstrap, topic, {p: lo for p, (lo, _) in marks.items()}, expected, timeout)
