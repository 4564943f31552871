"""Group consumers of every client the project supports join a group, consume,
commit, and resume (issue 3, acceptance 3).

Each client runs the same story on its own 3-partition topic:
  1. a consumer in a new group (auto.offset.reset=earliest) subscribes, gets
     all three partitions, consumes everything produced so far, commits and
     closes; the group's committed offsets are then the high watermarks;
  2. more messages are produced; a second run of the same group consumes
     exactly the new ones (nothing old: it resumed at the committed offsets)
     and commits again.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from typing import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import unique_topic
from group_helpers import _module_group_broker, committed, group_broker, produce_values  # noqa: F401
from kafka_helpers import create_topic, watermarks
from test_kcat import FLAVOURS, KCAT, kcat_env

pytestmark = pytest.mark.timeout(180)

PARTITIONS = 3
# (partition, offset, value) as a consumer saw it.
Seen = tuple[int, int, str]


def _batch(tag: str, sizes: dict[int, int]) -> dict[int, list[str]]:
    return {p: [f"{tag}-p{p}-{i}" for i in range(n)] for p, n in sizes.items()}


def _check_run(seen: list[Seen], expected: dict[int, list[str]], starts: dict[int, int], run: str) -> None:
    """`seen` is exactly `expected`, each partition read in order from `starts`."""
    want = sorted(v for vs in expected.values() for v in vs)
    got = sorted(v for _, _, v in seen)
    old = sorted(set(got) - set(want))
    assert not old, f"{run}: consumed {len(old)} messages it should not have (already committed?): {old[:10]}"
    dupes = sorted({v for v in got if got.count(v) > 1})
    assert not dupes, f"{run}: consumed twice: {dupes[:10]}"
    missing = sorted(set(want) - set(got))
    assert not missing, f"{run}: {len(missing)} messages never consumed: {missing[:10]}"
    for p, values in expected.items():
        in_p = [(off, v) for part, off, v in seen if part == p]
        assert [v for _, v in in_p] == values, f"{run}: partition {p} out of order or misplaced"
        if values:
            assert in_p[0][0] == starts[p], (
                f"{run}: partition {p} started at offset {in_p[0][0]}, expected {starts[p]}"
            )


def resume_story(bootstrap: str, tag: str, run_consumer: Callable[[str, str, int], list[Seen]]) -> None:
    topic = unique_topic(f"grp-{tag}")
    group = f"grp-{tag}-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, partitions=PARTITIONS)

    first = _batch("first", {0: 10, 1: 25, 2: 40})
    produce_values(bootstrap, topic, first)
    seen1 = run_consumer(group, topic, sum(map(len, first.values())))
    _check_run(seen1, first, {0: 0, 1: 0, 2: 0}, "first run")
    marks1 = {p: hi for p, (_, hi) in watermarks(bootstrap, topic, PARTITIONS).items()}
    assert committed(bootstrap, group, topic, PARTITIONS) == marks1, "committed offsets after the first run"

    second = _batch("second", {0: 5, 1: 6, 2: 7})
    produce_values(bootstrap, topic, second)
    seen2 = run_consumer(group, topic, sum(map(len, second.values())))
    _check_run(seen2, second, marks1, "second run of the same group")
    marks2 = {p: hi for p, (_, hi) in watermarks(bootstrap, topic, PARTITIONS).items()}
    assert committed(bootstrap, group, topic, PARTITIONS) == marks2, "committed offsets after the second run"


# --- kcat -G ------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_kcat_balanced_consumer_commits_and_resumes(group_broker, flavour):
    def run(group: str, topic: str, expected: int) -> list[Seen]:
        # -G: the balanced (group) consumer; -e: exit once every assigned partition
        # is at its end. Offsets are auto-committed, and committed on exit.
        proc = subprocess.run(
            [KCAT, "-b", group_broker.bootstrap, "-G", group, "-X", "auto.offset.reset=earliest",
             "-e", "-q", "-f", r"%p %o %s\n", topic],
            capture_output=True, text=True, env=kcat_env(flavour), timeout=90,
        )
        assert proc.returncode == 0, (
            f"kcat -G exited {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
        seen = []
        for line in proc.stdout.splitlines():
            p, o, v = line.split(" ", 2)
            seen.append((int(p), int(o), v))
        assert len(seen) == expected, f"kcat consumed {len(seen)}, expected {expected}\n{proc.stderr}"
        return seen

    resume_story(group_broker.bootstrap, f"kcat-{flavour}", run)


# --- confluent-kafka ------------------------------------------------------------


def test_confluent_group_consumer_commits_and_resumes(group_broker):
    def run(group: str, topic: str, expected: int) -> list[Seen]:
        c = Consumer({
            "bootstrap.servers": group_broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        seen: list[Seen] = []
        try:
            c.subscribe([topic])
            deadline = time.monotonic() + 60
            while len(seen) < expected and time.monotonic() < deadline:
                m = c.poll(0.5)
                if m is None:
                    continue
                assert m.error() is None, f"consumer error: {m.error()}"
                seen.append((m.partition(), m.offset(), m.value().decode()))
            assert len(seen) == expected, f"consumed {len(seen)} of {expected} in 60s"
            assigned = sorted(tp.partition for tp in c.assignment())
            assert assigned == [0, 1, 2], f"the only member should own every partition, owns {assigned}"
            assert c.memberid(), "no member id: the consumer did not join the group"
            result = c.commit(asynchronous=False)
            assert all(tp.error is None for tp in result), result
            # The client's own view of what it committed.
            mine = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=15)
            positions = {tp.partition: tp.offset for tp in c.position(
                [TopicPartition(topic, p) for p in range(PARTITIONS)])}
            assert {tp.partition: tp.offset for tp in mine} == positions
        finally:
            c.close()
        return seen

    resume_story(group_broker.bootstrap, "ck", run)


# --- kafka-python ----------------------------------------------------------------


def test_kafka_python_group_consumer_commits_and_resumes(group_broker):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    def run(group: str, topic: str, expected: int) -> list[Seen]:
        c = KafkaConsumer(
            topic,
            bootstrap_servers=group_broker.bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        seen: list[Seen] = []
        try:
            deadline = time.monotonic() + 60
            while len(seen) < expected and time.monotonic() < deadline:
                for recs in c.poll(timeout_ms=500).values():
                    for r in recs:
                        seen.append((r.partition, r.offset, r.value.decode()))
            assert len(seen) == expected, f"consumed {len(seen)} of {expected} in 60s"
            assigned = sorted(tp.partition for tp in c.assignment())
            assert assigned == [0, 1, 2], f"the only member should own every partition, owns {assigned}"
            c.commit()
            for p in range(PARTITIONS):
                tp = KTP(topic, p)
                assert c.committed(tp) == c.position(tp), f"partition {p}: committed != position"
        finally:
            c.close()
        return seen

    resume_story(group_broker.bootstrap, "kp", run)


# --- aiokafka ----------------------------------------------------------------------


def test_aiokafka_group_consumer_commits_and_resumes(group_broker):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as ATP

    async def run_async(group: str, topic: str, expected: int) -> list[Seen]:
        c = AIOKafkaConsumer(
            topic,
            bootstrap_servers=group_broker.bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await c.start()
        seen: list[Seen] = []
        try:
            deadline = time.monotonic() + 60
            while len(seen) < expected and time.monotonic() < deadline:
                batches = await c.getmany(timeout_ms=500)
                for recs in batches.values():
                    for r in recs:
                        seen.append((r.partition, r.offset, r.value.decode()))
            assert len(seen) == expected, f"consumed {len(seen)} of {expected} in 60s"
            assigned = sorted(tp.partition for tp in c.assignment())
            assert assigned == [0, 1, 2], f"the only member should own every partition, owns {assigned}"
            await c.commit()
            for p in range(PARTITIONS):
                tp = ATP(topic, p)
                assert await c.committed(tp) == await c.position(tp), f"partition {p}: committed != position"
        finally:
            await c.stop()
        return seen

    def run(group: str, topic: str, expected: int) -> list[Seen]:
        return asyncio.run(run_async(group, topic, expected))

    resume_story(group_broker.bootstrap, "aio", run)
