"""confluent-kafka-python's transactional producer with
send_offsets_to_transaction (issue 4, acceptance 5).

- A consume-transform-produce loop in a group: each batch is one transaction
  holding the output records and the consumer's offsets. A read_committed
  consumer sees every input exactly once in the output, and the group's
  committed offsets are the input's end offsets; offsets sent to a transaction
  are not visible as committed before it commits.
- An aborted transaction: its offsets are not committed (the group's committed
  offsets are unchanged, and a new consumer in the group gets the same records
  again), its records are invisible to read_committed (but in the log, for
  read_uncommitted); reprocessing them in a committed transaction leaves the
  output exactly-once.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import unique_topic
from kafka_helpers import create_topic
from txn_helpers import (  # noqa: F401  (fixtures)
    _module_txn_broker,
    committed_offsets,
    end_offsets,
    exactly_once_problems,
    produce_inputs,
    read_values,
    txn_broker,
)

pytestmark = pytest.mark.timeout(180)

NO_OFFSET = -1001  # librdkafka's OFFSET_INVALID: nothing committed


def txn_producer(bootstrap: str, txn_id: str) -> Producer:
    p = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": 10000,
    })
    p.init_transactions(30)
    return p


def group_consumer(bootstrap: str, group: str, topic: str) -> Consumer:
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    c.subscribe([topic])
    return c


def consume_batch(c: Consumer, want: int, max_batch: int, timeout: float = 30.0):
    """Up to `max_batch` records, waiting for at least one (or `want` if fewer)."""
    deadline = time.monotonic() + timeout
    out = []
    while time.monotonic() < deadline and not out:
        for m in c.consume(num_messages=min(want, max_batch), timeout=0.5):
            assert m.error() is None, f"consumer error: {m.error()}"
            out.append(m)
    assert out, f"no input records within {timeout:.0f}s"
    return out


def next_offsets(msgs) -> dict[tuple[str, int], int]:
    offs: dict[tuple[str, int], int] = {}
    for m in msgs:
        key = (m.topic(), m.partition())
        offs[key] = max(offs.get(key, -1), m.offset() + 1)
    return offs


def transform(p: Producer, out_topic: str, msgs, tag: str) -> None:
    for m in msgs:
        value = m.value().decode()
        assert value.startswith("in-"), f"unexpected input {value!r}"
        p.produce(out_topic, key=m.key(), value=f"out-{value[3:]}|{tag}".encode())
        p.poll(0)


def send_offsets(p: Producer, c: Consumer, offs: dict[tuple[str, int], int]) -> None:
    p.send_offsets_to_transaction(
        [TopicPartition(t, part, off) for (t, part), off in sorted(offs.items())],
        c.consumer_group_metadata(),
        30,
    )


def process(p: Producer, c: Consumer, out_topic: str, count: int, tag: str, max_batch: int = 40) -> dict[int, int]:
    """Consume `count` records in transactions of up to `max_batch`, each
    committed with its offsets; returns the consumer's next offset per partition."""
    done = 0
    positions: dict[int, int] = {}
    while done < count:
        msgs = consume_batch(c, count - done, max_batch)
        p.begin_transaction()
        transform(p, out_topic, msgs, tag)
        offs = next_offsets(msgs)
        send_offsets(p, c, offs)
        p.commit_transaction(30)
        done += len(msgs)
        positions.update({part: off for (_, part), off in offs.items()})
    assert done == count, f"consumed {done} records, expected {count}"
    return positions


def test_python_send_offsets_to_transaction_consume_transform_produce(txn_broker):
    b = txn_broker
    parts, n = 3, 600
    src, dst = unique_topic("py-eos-in"), unique_topic("py-eos-out")
    group = f"py-eos-{uuid.uuid4().hex[:8]}"
    create_topic(b.bootstrap, src, partitions=parts)
    create_topic(b.bootstrap, dst, partitions=parts)
    produce_inputs(b.bootstrap, src, range(n))
    ends = end_offsets(b.bootstrap, src, parts)

    p = txn_producer(b.bootstrap, f"py-eos-{uuid.uuid4().hex[:8]}")
    c = group_consumer(b.bootstrap, group, src)
    try:
        # The first transaction: its offsets are not the group's committed
        # offsets until it commits.
        msgs = consume_batch(c, n, 40)
        p.begin_transaction()
        transform(p, dst, msgs, "first")
        offs = next_offsets(msgs)
        send_offsets(p, c, offs)
        p.flush(30)
        before = committed_offsets(b.bootstrap, group, src, parts)
        assert before == {q: NO_OFFSET for q in range(parts)}, (
            f"offsets sent to an open transaction are already committed: {before}"
        )
        p.commit_transaction(30)
        after = committed_offsets(b.bootstrap, group, src, parts)
        want = {q: NO_OFFSET for q in range(parts)}
        want.update({q: off for (_, q), off in offs.items()})
        assert after == want, f"after the commit the group's offsets are {after}, want {want}"

        process(p, c, dst, n - len(msgs), "loop")
    finally:
        c.close()

    values = read_values(b.bootstrap, dst, parts, "read_committed")
    problems = exactly_once_problems(values, range(n))
    assert problems is None, f"read_committed output: {problems}"
    committed = committed_offsets(b.bootstrap, group, src, parts, isolation="read_committed")
    assert committed == ends, f"group committed offsets {committed}, input end offsets {ends}"


def test_python_aborted_transaction_commits_no_offsets_and_hides_records(txn_broker):
    b = txn_broker
    parts = 2
    src, dst = unique_topic("py-abort-in"), unique_topic("py-abort-out")
    group = f"py-abort-{uuid.uuid4().hex[:8]}"
    create_topic(b.bootstrap, src, partitions=parts)
    create_topic(b.bootstrap, dst, partitions=parts)
    p = txn_producer(b.bootstrap, f"py-abort-{uuid.uuid4().hex[:8]}")

    # 60 inputs processed and committed.
    produce_inputs(b.bootstrap, src, range(60))
    first_ends = end_offsets(b.bootstrap, src, parts)
    c = group_consumer(b.bootstrap, group, src)
    try:
        process(p, c, dst, 60, "committed")
        assert committed_offsets(b.bootstrap, group, src, parts) == first_ends

        # 40 more, consumed and produced in a transaction that is aborted.
        produce_inputs(b.bootstrap, src, range(60, 100))
        seen = []
        while len(seen) < 40:
            seen += consume_batch(c, 40 - len(seen), 40)
        assert sorted(int(m.key()) for m in seen) == list(range(60, 100))
        p.begin_transaction()
        transform(p, dst, seen, "aborted")
        send_offsets(p, c, next_offsets(seen))
        # librdkafka purges unsent records on abort: flush so they are in the log.
        p.flush(30)
        p.abort_transaction(30)
    finally:
        c.close()

    # The abort committed no offsets.
    for isolation in ("read_uncommitted", "read_committed"):
        after_abort = committed_offsets(b.bootstrap, group, src, parts, isolation=isolation)
        assert after_abort == first_ends, (
            f"after the abort the group's committed offsets ({isolation} fetch) are {after_abort}, "
            f"want the last committed transaction's {first_ends}"
        )
    # Its records are invisible to read_committed, but were written.
    rc = read_values(b.bootstrap, dst, parts, "read_committed")
    assert exactly_once_problems(rc, range(60)) is None, (
        f"read_committed after the abort: {exactly_once_problems(rc, range(60))}"
    )
    ru = read_values(b.bootstrap, dst, parts, "read_uncommitted")
    aborted_seen = sorted(v for v in ru if v.endswith("|aborted"))
    assert len(aborted_seen) == 40, (
        f"read_uncommitted shows {len(aborted_seen)} of the aborted transaction's 40 records "
        f"(they were flushed before the abort): {aborted_seen[:10]}"
    )

    # A new consumer in the group starts at the committed offsets: it gets the
    # 40 records again; processing them in a committed transaction completes the output.
    c = group_consumer(b.bootstrap, group, src)
    try:
        again = []
        while len(again) < 40:
            again += consume_batch(c, 40 - len(again), 40)
        assert sorted(int(m.key()) for m in again) == list(range(60, 100)), (
            "after the abort the group did not resume at its committed offsets: got keys "
            f"{sorted(int(m.key()) for m in again)[:20]}..."
        )
        p.begin_transaction()
        transform(p, dst, again, "retried")
        send_offsets(p, c, next_offsets(again))
        p.commit_transaction(30)
    finally:
        c.close()

    rc = read_values(b.bootstrap, dst, parts, "read_committed")
    problems = exactly_once_problems(rc, range(100))
    assert problems is None, f"read_committed after the retry: {problems}"
    assert not [v for v in rc if v.endswith("|aborted")], "aborted records visible to read_committed"
    final_ends = end_offsets(b.bootstrap, src, parts)
    committed = committed_offsets(b.bootstrap, group, src, parts, isolation="read_committed")
    assert committed == final_ends, f"group committed offsets {committed}, input end offsets {final_ends}"
