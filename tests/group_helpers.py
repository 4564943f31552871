"""Shared pieces of the consumer-group acceptance tests (issue 3).

The group tests run against brokers started with
`group.initial.rebalance.delay.ms=0` (what Kafka's own test clusters use), so
that a first join is not held back three seconds, and with a one-second
KIP-848 heartbeat interval so that server-side reconciliation converges in a
few seconds. Everything else is the broker's default.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import Broker, _teardown

GROUP_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.consumer.heartbeat.interval.ms": "1000",
}


def start_group_broker(workdir) -> Broker:
    b = Broker(workdir, GROUP_OVERRIDES)
    b.start()
    return b


@pytest.fixture(scope="module")
def _module_group_broker(tmp_path_factory):
    b = start_group_broker(tmp_path_factory.mktemp("group-broker"))
    yield b
    _teardown(b)


@pytest.fixture
def group_broker(_module_group_broker):
    """The module's group broker; a broker that died during a test fails it."""
    b = _module_group_broker
    if not b.running():
        print(f"[harness] broker {b.bootstrap} was not running; restarting it")
        b.restart()
    yield b
    if not b.running():
        pytest.fail(
            f"broker {b.bootstrap} exited during the test (exit codes: {b.exit_codes})",
            pytrace=False,
        )


@pytest.fixture
def fresh_group_broker(tmp_path_factory):
    """A group broker of its own, for tests that restart it."""
    b = start_group_broker(tmp_path_factory.mktemp("group-broker"))
    yield b
    _teardown(b)


def wait_until(pred, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def produce_values(bootstrap: str, topic: str, values_by_partition: dict[int, list[str]]) -> dict[int, list[int]]:
    """Produces each partition's values in order; returns the offsets they got."""
    got: dict[int, list[int]] = {p: [] for p in values_by_partition}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            got[msg.partition()].append(msg.offset())

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for part, values in values_by_partition.items():
        for v in values:
            p.produce(topic, value=v.encode(), partition=part, on_delivery=on_delivery)
            p.poll(0)
    assert p.flush(30) == 0, "messages still in flight after flush"
    assert errors == [], errors
    return {part: sorted(offs) for part, offs in got.items()}


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The group's committed offsets as confluent-kafka reads them (-1001: none)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
    finally:
        c.close()
    for tp in tps:
        assert tp.error is None, f"committed() error for {tp}: {tp.error}"
    return {tp.partition: tp.offset for tp in tps}
