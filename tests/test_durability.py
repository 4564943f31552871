"""What the broker acknowledged survives a clean restart and a kill -9."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from conftest import unique_topic
from kafka_helpers import create_topic, read_all, wait_for_topic, watermarks

pytestmark = pytest.mark.timeout(180)

PRODUCER_SCRIPT = Path(__file__).with_name("acked_producer.py")


def assert_topic_survived(b, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    try:
        wait_for_topic(admin, topic, 3, timeout=15)
    except AssertionError as e:
        raise AssertionError(f"after the restart the topic is gone or changed: {e}") from None


def test_acked_messages_survive_clean_restart(fresh_broker):
    b = fresh_broker
    topic = unique_topic("dur-restart")
    create_topic(b.bootstrap, topic, partitions=3)

    rnd = random.Random(2000)
    sent = {}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            sent[(msg.partition(), msg.offset())] = (msg.key(), msg.value())

    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})
    for i in range(2000):
        value = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 1000)))
        p.produce(topic, key=f"k{i}".encode(), value=value, on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(30) == 0
    assert errors == [] and len(sent) == 2000

    code = b.stop()
    assert code == 0, f"broker exited with code {code} on SIGTERM, want a clean 0"
    b.restart()
    assert_topic_survived(b, topic)

    marks = watermarks(b.bootstrap, topic, 3)
    per_partition = {p: 0 for p in range(3)}
    for part, _ in sent:
        per_partition[part] += 1
    assert marks == {p: (0, n) for p, n in per_partition.items()}

    records = read_all(b.bootstrap, topic, 3)
    got = {(r.partition, r.offset): (r.key, r.value) for r in records}
    assert len(records) == 2000
    assert got == sent


def test_acked_messages_survive_kill9(fresh_broker, tmp_path):
    b = fresh_broker
    topic = unique_topic("dur-kill9")
    create_topic(b.bootstrap, topic, partitions=3)
    ack_file = tmp_path / "acked.txt"
    producer_log = tmp_path / "producer.log"

    with open(producer_log, "wb") as log:
        producer = subprocess.Popen(
            [sys.executable, str(PRODUCER_SCRIPT), b.bootstrap, topic, str(ack_file), "60"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(2.0)
        b.kill9()
        time.sleep(0.5)  # let delivery reports for in-flight requests fail
    finally:
        producer.terminate()
        try:
            producer.wait(15)
        except subprocess.TimeoutExpired:
            producer.kill()
            producer.wait()

    acked = {}
    for line in ack_file.read_text().splitlines(keepends=True):
        if not line.endswith("\n"):
            continue  # torn last line: never fully recorded
        part, off, value = line.split()
        acked[(int(part), int(off))] = value.encode()
    assert len(acked) >= 100, (
        f"only {len(acked)} acknowledged messages in 2 s; producer output:\n{producer_log.read_text()}"
    )

    b.restart()
    assert_topic_survived(b, topic)

    records = read_all(b.bootstrap, topic, 3)
    got = {(r.partition, r.offset): r.value for r in records}
    missing = {k: v for k, v in acked.items() if k not in got}
    wrong = {k: (v, got[k]) for k, v in acked.items() if k in got and got[k] != v}
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged records lost, e.g. {sorted(missing.items())[:5]}"
    assert not wrong, f"{len(wrong)} acknowledged records changed, e.g. {sorted(wrong.items())[:5]}"
    # Nothing was written twice (idempotent producer): each value at most once.
    values = [r.value for r in records]
    assert len(values) == len(set(values)), "duplicate records after restart"
