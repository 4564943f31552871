"""Group state survives a broker restart (issue 3, acceptance 4).

- Committed offsets (with their metadata strings) survive a clean restart and
  a kill -9, and a consumer started afterwards resumes exactly there.
- Static members (group.instance.id, KIP-345) survive a restart: the running
  consumers keep their member ids and partitions and see no rebalance; a
  static consumer that is itself restarted takes its old place (same
  partitions, resumes at its committed offsets) without disturbing the other
  member, and that too survives a further broker restart.

The clients are confluent-kafka (librdkafka) consumers.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import unique_topic
from group_helpers import fresh_group_broker, produce_values, wait_until  # noqa: F401
from kafka_helpers import create_topic

pytestmark = pytest.mark.timeout(240)


def restart(b, how: str) -> None:
    if how == "sigterm":
        code = b.stop()
        assert code == 0, f"broker exited with code {code} on SIGTERM, want a clean 0"
    else:
        b.kill9()
    b.start()


def committed_with_metadata(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, tuple[int, str]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
    finally:
        c.close()
    for tp in tps:
        assert tp.error is None, f"committed() error for {tp}: {tp.error}"
    return {tp.partition: (tp.offset, tp.metadata) for tp in tps}


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_committed_offsets_survive_restart_and_consumer_resumes(fresh_group_broker, how):
    b = fresh_group_broker
    topic = unique_topic(f"grp-offsets-{how}")
    group = f"grp-offsets-{how}-{uuid.uuid4().hex[:8]}"
    other_group = group + "-other"
    create_topic(b.bootstrap, topic, partitions=3)
    values = {p: [f"v-p{p}-{i}" for i in range(30)] for p in range(3)}
    produce_values(b.bootstrap, topic, values)

    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        n = 0
        deadline = time.monotonic() + 60
        while n < 90 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None:
                assert m.error() is None, m.error()
                n += 1
        assert n == 90, f"consumed {n} of 90"
        # Two commits: the restarted broker must come back with the later one.
        first = [TopicPartition(topic, 0, 3, "early-0"), TopicPartition(topic, 1, 4, "early-1"),
                 TopicPartition(topic, 2, 5, "early-2")]
        later = [TopicPartition(topic, 0, 7, "processed up to 7"), TopicPartition(topic, 1, 30, ""),
                 TopicPartition(topic, 2, 12, '{"batch": 12}')]
        for offsets in (first, later):
            res = c.commit(offsets=offsets, asynchronous=False)
            assert all(tp.error is None for tp in res), res
    finally:
        c.close()
    # Another group's offsets on the same topic stay its own.
    o = Consumer({"bootstrap.servers": b.bootstrap, "group.id": other_group, "enable.auto.commit": False})
    try:
        res = o.commit(offsets=[TopicPartition(topic, p, 1, "other") for p in range(3)], asynchronous=False)
        assert all(tp.error is None for tp in res), res
    finally:
        o.close()

    want = {0: (7, "processed up to 7"), 1: (30, ""), 2: (12, '{"batch": 12}')}
    assert committed_with_metadata(b.bootstrap, group, topic, 3) == want, "before the restart"

    restart(b, how)

    assert committed_with_metadata(b.bootstrap, group, topic, 3) == want, f"after a {how} restart"
    assert committed_with_metadata(b.bootstrap, other_group, topic, 3) == {p: (1, "other") for p in range(3)}
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    listed = admin.list_consumer_groups(request_timeout=15).result(timeout=20)
    assert group in {g.group_id for g in listed.valid}, f"{group} not listed after restart: {listed.valid}"
    offsets = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(3)])]
    )[group].result(timeout=20)
    assert {tp.partition: tp.offset for tp in offsets.topic_partitions} == {p: o for p, (o, _) in want.items()}

    # A consumer of the group started now resumes at the committed offsets.
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}
    expected = {0: list(range(7, 30)), 1: [], 2: list(range(12, 30))}
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + 60
        while sum(map(len, seen.values())) < 41 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None:
                assert m.error() is None, m.error()
                seen[m.partition()].append(m.offset())
                assert m.value().decode() == values[m.partition()][m.offset()]
    finally:
        c.close()
    assert seen == expected, "the restarted consumer did not resume at the committed offsets"


# --- static members ------------------------------------------------------------


class Member:
    """A static confluent-kafka group member that records its rebalance callbacks."""

    def __init__(self, bootstrap: str, group: str, topic: str, instance: str):
        self.instance = instance
        self.events: list[tuple[str, list[int]]] = []
        self.owned: set[int] = set()
        self.seen: list[tuple[int, int, str]] = []
        self.c = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.instance.id": instance,
            "client.id": f"client-{instance}",
            "session.timeout.ms": 30000,
            "heartbeat.interval.ms": 500,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self.c.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)

    def _on_assign(self, c, parts):
        self.events.append(("assign", sorted(tp.partition for tp in parts)))
        self.owned |= {tp.partition for tp in parts}

    def _on_revoke(self, c, parts):
        self.events.append(("revoke", sorted(tp.partition for tp in parts)))
        self.owned -= {tp.partition for tp in parts}

    def _on_lost(self, c, parts):
        self.events.append(("lost", sorted(tp.partition for tp in parts)))
        self.owned -= {tp.partition for tp in parts}

    def poll(self, timeout: float = 0.1) -> None:
        m = self.c.poll(timeout)
        if m is None:
            return
        assert m.error() is None, f"{self.instance}: consumer error {m.error()}"
        self.seen.append((m.partition(), m.offset(), m.value().decode()))

    def commit(self) -> None:
        res = self.c.commit(asynchronous=False)
        assert all(tp.error is None for tp in res), res

    def close(self) -> None:
        self.c.close()


def poll_all(members: list[Member], seconds: float, until=None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for m in members:
            m.poll(0.05)
        if until is not None and until():
            return


def describe(bootstrap: str, group: str):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group], request_timeout=15)[group].result(timeout=20)


def members_view(desc) -> dict[str, tuple[str, list[int]]]:
    """instance id -> (member id, partitions)."""
    return {
        m.group_instance_id: (m.member_id, sorted(tp.partition for tp in m.assignment.topic_partitions))
        for m in desc.members
    }


class StaticGroup:
    """Two static members, static-a and static-b, on a 4-partition topic,
    settled with two partitions each, everything produced so far consumed
    and committed."""

    def __init__(self, b):
        self.b = b
        self.topic = unique_topic("grp-static")
        self.group = f"grp-static-{uuid.uuid4().hex[:8]}"
        create_topic(b.bootstrap, self.topic, partitions=4)
        self.batches = 0
        self.a = Member(b.bootstrap, self.group, self.topic, "static-a")
        self.bm = Member(b.bootstrap, self.group, self.topic, "static-b")
        self.members = [self.a, self.bm]

        def settled():
            a, bm = self.a, self.bm
            return len(a.owned) == 2 and len(bm.owned) == 2 and a.owned | bm.owned == {0, 1, 2, 3}

        poll_all(self.members, 60, settled)
        assert settled(), f"no stable assignment: a={self.a.events} b={self.bm.events}"
        self.a_parts, self.b_parts = set(self.a.owned), set(self.bm.owned)
        self.consume_batch()
        self.view = members_view(describe(b.bootstrap, self.group))
        assert set(self.view) == {"static-a", "static-b"}, self.view
        assert self.view["static-a"][1] == sorted(self.a_parts), self.view
        assert self.view["static-b"][1] == sorted(self.b_parts), self.view

    def produce_batch(self, n: int = 5) -> dict[int, list[str]]:
        self.batches += 1
        vals = {p: [f"b{self.batches}-p{p}-{i}" for i in range(n)] for p in range(4)}
        produce_values(self.b.bootstrap, self.topic, vals)
        return vals

    def consume_batch(self, quiet_s: float = 0.0, check_events=None) -> None:
        """Produces a batch; each member consumes exactly the values of its own
        partitions (nothing old, nothing twice, nothing of the other's), then
        commits. Polls on for `quiet_s` seconds before checking; `check_events`
        runs first (a rebalance is the likelier cause of a consumption problem)."""
        for m in self.members:
            m.seen.clear()
        vals = self.produce_batch()
        a, bm = self.members
        poll_all(self.members, 30, lambda: len(a.seen) + len(bm.seen) >= 20)
        poll_all(self.members, quiet_s)
        if check_events is not None:
            check_events()
        for m, parts in ((a, self.a_parts), (bm, self.b_parts)):
            want = sorted(v for p in parts for v in vals[p])
            assert sorted(v for _, _, v in m.seen) == want, (
                f"{m.instance} (partitions {sorted(parts)}) consumed {sorted(v for _, _, v in m.seen)}; "
                f"rebalance callbacks: static-a={a.events} static-b={bm.events}"
            )
            m.commit()

    def restart_a(self) -> None:
        """Closes static-a (a static member sends no LeaveGroup) and starts a
        new consumer with the same group.instance.id."""
        self.a.close()
        self.members = [self.bm]
        self.a = Member(self.b.bootstrap, self.group, self.topic, "static-a")
        self.members = [self.a, self.bm]

    def clear_events(self) -> None:
        for m in self.members:
            m.events.clear()

    def close(self) -> None:
        for m in self.members:
            m.close()


def assert_no_rebalance(g: StaticGroup, after: str) -> None:
    assert g.a.events == [] and g.bm.events == [], (
        f"rebalance callbacks after {after}: static-a={g.a.events} static-b={g.bm.events}"
    )


def test_static_members_survive_restart_without_rebalance(fresh_group_broker):
    b = fresh_group_broker
    g = StaticGroup(b)
    try:
        g.clear_events()
        b.restart()
        # Consume across several heartbeat intervals (500 ms) with the restarted coordinator.
        g.consume_batch(quiet_s=6, check_events=lambda: assert_no_rebalance(g, "the broker restart"))
        after = describe(b.bootstrap, g.group)
        assert after.state.name == "STABLE", after.state
        assert members_view(after) == g.view, "members or assignments changed across the restart"
    finally:
        g.close()


def test_static_member_restarted_after_broker_restart_takes_its_place(fresh_group_broker):
    """After a broker restart, a static consumer that is itself restarted
    rejoins with its group.instance.id: it gets its old partitions back and
    resumes at its committed offsets, and the other member is not disturbed
    (KIP-345: no rebalance when a known static member rejoins unchanged)."""
    b = fresh_group_broker
    g = StaticGroup(b)
    try:
        b.restart()
        g.consume_batch(quiet_s=2)
        g.clear_events()
        g.restart_a()

        def check_events():
            assert g.bm.events == [], f"static-b was disturbed by static-a's restart: {g.bm.events}"
            assert g.a.events == [("assign", sorted(g.a_parts))], (
                f"static-a's new incarnation should just get back {sorted(g.a_parts)}: {g.a.events}"
            )

        g.consume_batch(quiet_s=3, check_events=check_events)
        view = members_view(describe(b.bootstrap, g.group))
        assert view["static-b"] == g.view["static-b"], view
        assert view["static-a"][1] == g.view["static-a"][1], view
    finally:
        g.close()


def test_replaced_static_member_survives_broker_restart(fresh_group_broker):
    """A static consumer restarted (new member id, same instance id) takes its
    old place; a broker restart after that keeps the new incarnation as a
    member: nobody sees a rebalance."""
    b = fresh_group_broker
    g = StaticGroup(b)
    try:
        g.clear_events()
        g.restart_a()

        def check_events():
            assert g.bm.events == [], f"static-b was disturbed by static-a's restart: {g.bm.events}"
            assert g.a.events == [("assign", sorted(g.a_parts))], g.a.events

        g.consume_batch(quiet_s=3, check_events=check_events)
        replaced = members_view(describe(b.bootstrap, g.group))
        assert replaced["static-b"] == g.view["static-b"], replaced
        assert replaced["static-a"][1] == g.view["static-a"][1], replaced
        assert replaced["static-a"][0] != g.view["static-a"][0], "a new incarnation gets a new member id"

        g.clear_events()
        b.restart()
        g.consume_batch(quiet_s=6, check_events=lambda: assert_no_rebalance(
            g, "the broker restart that followed static-a's replacement"))
        assert members_view(describe(b.bootstrap, g.group)) == replaced
    finally:
        g.close()
