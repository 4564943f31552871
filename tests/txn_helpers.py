"""Shared pieces of the transaction acceptance tests (issue 4).

The transaction tests run against a broker of their own started with
`group.initial.rebalance.delay.ms=0` (what Kafka's own test clusters use), so
that a group's first join is not held back three seconds; everything else is
the broker's default. Setup and read-back go through confluent-kafka.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from conftest import Broker, _teardown

TXN_BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0"}


@pytest.fixture(scope="module")
def _module_txn_broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("txn-broker"), TXN_BROKER_OVERRIDES)
    b.start()
    yield b
    _teardown(b)


@pytest.fixture
def txn_broker(_module_txn_broker):
    """The module's broker; a broker that died during a test fails it."""
    b = _module_txn_broker
    if not b.running():
        print(f"[harness] broker {b.bootstrap} was not running; restarting it")
        b.restart()
    yield b
    if not b.running():
        pytest.fail(
            f"broker {b.bootstrap} exited during the test (exit codes: {b.exit_codes})",
            pytrace=False,
        )


def produce_inputs(bootstrap: str, topic: str, ids, timeout: float = 30.0) -> None:
    """Plain (non-transactional) records: key "<id>", value "in-<id>"."""
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for i in ids:
        p.produce(topic, key=str(i).encode(), value=f"in-{i}".encode(), on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(timeout) == 0, "input records not delivered in time"
    assert errors == [], f"producing the input failed: {errors[:5]}"


def read_values(bootstrap: str, topic: str, partitions: int, isolation: str,
                timeout: float = 60.0) -> list[str]:
    """Every value a consumer with `isolation.level=isolation` reads from the
    beginning of each partition to its end (the last stable offset for
    read_committed, the high watermark otherwise)."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "tributary-txn-reader-unused",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "isolation.level": isolation,
    })
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        out: list[str] = []
        at_eof: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and at_eof != set(range(partitions)):
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_eof.add(m.partition())
                    continue
                raise AssertionError(f"{isolation} consumer error: {m.error()}")
            at_eof.discard(m.partition())
            out.append(m.value().decode())
        assert at_eof == set(range(partitions)), (
            f"{isolation} consumer did not reach the end of {topic} in {timeout:.0f}s "
            f"(at end: {sorted(at_eof)}, read {len(out)})"
        )
        return out
    finally:
        c.close()


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    """High watermarks."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tributary-txn-reader-unused"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        c.close()


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int,
                      isolation: str = "read_uncommitted") -> dict[int, int]:
    """The group's committed offsets (OffsetFetch), -1001 where none. With
    read_uncommitted librdkafka does not ask for stable offsets, so an open
    transaction's pending offsets do not make it wait."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "isolation.level": isolation,
    })
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        for tp in tps:
            assert tp.error is None, f"committed() error for {tp}: {tp.error}"
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def id_of_output(value: str) -> int:
    """Output values are "out-<id>" optionally followed by "|<tag>"."""
    assert value.startswith("out-"), f"unexpected output record {value!r}"
    return int(value[4:].split("|", 1)[0])


def exactly_once_problems(values: list[str], expected_ids) -> str | None:
    """None if the output holds each expected input id exactly once; else a description."""
    counts = Counter(id_of_output(v) for v in values)
    expected = set(expected_ids)
    missing = sorted(expected - counts.keys())
    dups = {i: n for i, n in counts.items() if n > 1}
    extra = sorted(counts.keys() - expected)
    if not (missing or dups or extra):
        return None
    dup_values = [v for v in values if id_of_output(v) in dups][:20]
    return (
        f"{len(values)} output records for {len(expected)} inputs: "
        f"{len(missing)} inputs missing (e.g. {missing[:20]}), "
        f"{len(dups)} inputs more than once (e.g. {sorted(dups.items())[:20]}; values {dup_values}), "
        f"{len(extra)} unexpected ids (e.g. {extra[:20]})"
    )
