"""Acceptance 4 of issue 7: two distributed workers in one group share
connectors and tasks (protocol type "connect"); a REST write to either is
applied (forwarded to the leader when needed); when one is killed with
`kill -9`, its tasks run on the other within the rebalance delay, and the
configs and offsets survive."""

from __future__ import annotations

import time

import pytest

from conftest import unique_topic
from connect_helpers import ConnectWorker, wait_until

pytestmark = pytest.mark.timeout(300)

SESSION_MS = 6000
DELAY_MS = 3000


def cluster_props(group):
    return {
        "group.id": group,
        "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets",
        "status.storage.topic": f"{group}-status",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1",
        "offset.storage.partitions": "2",
        "status.storage.partitions": "1",
        "session.timeout.ms": str(SESSION_MS),
        "heartbeat.interval.ms": "1000",
        "scheduled.rebalance.max.delay.ms": str(DELAY_MS),
    }


def task_workers(w, name):
    st = w.status(name)
    return [t.get("worker_id") for t in st["tasks"]] if st else []


def all_running(w, name, n):
    st = w.status(name)
    return bool(st) and st["connector"]["state"] == "RUNNING" and [t["state"] for t in st["tasks"]] == ["RUNNING"] * n


def test_two_workers_failover_after_kill9(broker, tmp_path):
    group = unique_topic("cluster")
    props = cluster_props(group)
    a = ConnectWorker(tmp_path / "a", broker.bootstrap, mode="distributed", props=props)
    b = ConnectWorker(tmp_path / "b", broker.bootstrap, mode="distributed", props=props)
    a.start()
    b.start()
    workers = {a.url.split("//")[1]: a, b.url.split("//")[1]: b}
    try:
        src, out = tmp_path / "in.txt", tmp_path / "out.txt"
        src.write_text("".join(f"first-{i}\n" for i in range(1000)))
        topic = unique_topic("failover")
        # Created through one worker, the sink through the other (forwarded to the leader if needed).
        assert a.create("src", {"connector.class": "FileStreamSource", "file": str(src), "topic": topic}).status == 201
        r = b.create("sink", {"connector.class": "FileStreamSink", "file": str(out), "topics": topic, "tasks.max": "3"})
        assert r.status == 201, r
        for w in (a, b):
            wait_until(lambda w=w: sorted(w.get("/connectors").json) == ["sink", "src"], timeout=30,
                       message="both workers see both connectors")
        wait_until(lambda: all_running(a, "src", 1) and all_running(a, "sink", 3), timeout=60,
                   message=f"everything running\n{a.log_tail(3000)}\n{b.log_tail(3000)}")
        wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 1000, timeout=60, message="first copy")

        # Work is spread over both workers.
        owners = set(task_workers(a, "src") + task_workers(a, "sink"))
        wait_until(lambda: len(set(task_workers(a, "src") + task_workers(a, "sink"))) == 2, timeout=60,
                   message=f"tasks on both workers, now {owners}")

        # Kill the worker that runs the source task.
        victim_id = task_workers(a, "src")[0]
        victim = workers[victim_id]
        survivor = b if victim is a else a
        survivor_id = survivor.url.split("//")[1]
        offsets_before = survivor.get("/connectors/src/offsets").json
        assert offsets_before["offsets"], offsets_before
        killed_at = time.monotonic()
        victim.kill9()

        def moved():
            return (all_running(survivor, "src", 1) and all_running(survivor, "sink", 3)
                    and set(task_workers(survivor, "src") + task_workers(survivor, "sink")) == {survivor_id})

        # The group notices after the session timeout, the leader waits the scheduled delay.
        wait_until(moved, timeout=(SESSION_MS + DELAY_MS) / 1000 + 30,
                   message=f"tasks moved to the survivor\n{survivor.log_tail(4000)}")
        elapsed = time.monotonic() - killed_at
        assert elapsed < (SESSION_MS + DELAY_MS) / 1000 + 30

        # Configs and offsets survived.
        assert sorted(survivor.get("/connectors").json) == ["sink", "src"]
        assert survivor.get("/connectors/sink/config").json["tasks.max"] == "3"
        offsets_after = survivor.get("/connectors/src/offsets").json
        assert offsets_after["offsets"][0]["offset"]["position"] >= offsets_before["offsets"][0]["offset"]["position"]

        # And the pipeline keeps working on the survivor: nothing is lost
        # (kill -9 gives at-least-once, so a line may repeat).
        with open(src, "a") as f:
            f.write("".join(f"second-{i}\n" for i in range(1000)))
        expected = set(src.read_text().splitlines())
        wait_until(lambda: expected <= set(out.read_text().splitlines()), timeout=60,
                   message="lines written after the kill arrive")

        # The victim comes back and gets work again.
        victim.start()
        wait_until(lambda: len(set(task_workers(survivor, "src") + task_workers(survivor, "sink"))) == 2, timeout=60,
                   message="work rebalanced back onto the restarted worker")
    finally:
        for w in (a, b):
            if w.running():
                w.stop()


def test_rest_writes_on_any_worker(broker, tmp_path):
    group = unique_topic("cluster")
    props = cluster_props(group)
    a = ConnectWorker(tmp_path / "a", broker.bootstrap, mode="distributed", props=props)
    b = ConnectWorker(tmp_path / "b", broker.bootstrap, mode="distributed", props=props)
    a.start()
    b.start()
    try:
        cfg = {"connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
               "kafka.topic": unique_topic("dg"), "quickstart": "orders", "max.interval": "50", "tasks.max": "2"}
        for w, name in ((a, "one"), (b, "two")):
            r = w.create(name, cfg)
            assert r.status == 201, r
        assert b.create("one", cfg).status == 409
        for w in (a, b):
            wait_until(lambda w=w: sorted(w.get("/connectors").json) == ["one", "two"], timeout=30, message="configs")
        wait_until(lambda: all_running(b, "one", 2) and all_running(a, "two", 2), timeout=60, message="running")
        assert b.put("/connectors/one/pause").status == 202
        wait_until(lambda: a.status("one")["connector"]["state"] == "PAUSED"
                   and [t["state"] for t in a.status("one")["tasks"]] == ["PAUSED", "PAUSED"], timeout=30, message="paused")
        assert a.put("/connectors/one/resume").status == 202
        wait_until(lambda: all_running(b, "one", 2), timeout=30, message="resumed")
        assert a.post("/connectors/one/tasks/1/restart").status == 204
        assert b.post("/connectors/two/tasks/0/restart").status == 204
        assert b.delete("/connectors/one").status == 204
        for w in (a, b):
            wait_until(lambda w=w: w.get("/connectors").json == ["two"], timeout=30, message="delete seen everywhere")
    finally:
        for w in (a, b):
            if w.running():
                w.stop()
