"""Issue 6, acceptance 4 (and the storage clause): all state lives in the
`_schemas` topic. A restarted registry (clean stop or kill -9) serves the same
subjects, versions, ids, configs and modes; a topic written the way
Confluent's registry writes it restores too; two instances elect one leader
through the broker's group protocol, a write sent to the follower lands
through the leader and both serve it, and when the leader is killed the
other takes over with ids still unique."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Producer

from kafka_helpers import create_topic
from registry_helpers import RegistryProcess, quote

pytestmark = pytest.mark.timeout(300)


def avro(name: str, *fields: str) -> str:
    return json.dumps({"type": "record", "name": name, "fields": [{"name": f, "type": "string"} for f in fields]})


SNAPSHOT_PATHS = [
    "/subjects",
    "/subjects?deleted=true",
    "/subjects/orders-value/versions",
    "/subjects/orders-value/versions?deleted=true",
    "/subjects/orders-value/versions/1?deleted=true",
    "/subjects/orders-value/versions/latest",
    "/subjects/events-value/versions/latest",
    "/subjects/people-value/versions/1",
    "/subjects/gone-value/versions?deleted=true",
    f"/subjects/{quote(':.staging:orders-value')}/versions/1",
    "/schemas/ids/1",
    "/schemas/ids/2/subjects?deleted=true",
    "/schemas/ids/3",
    "/config",
    "/config/orders-value",
    "/mode",
    "/mode/people-value",
    "/contexts",
]


def populate(r: RegistryProcess) -> None:
    r.ok("PUT", "/config", {"compatibility": "FULL"})
    r.register("orders-value", avro("Order", "id"))
    r.ok("PUT", "/config/orders-value", {"compatibility": "NONE"})
    r.register("orders-value", avro("Order", "id", "item"))
    r.register("orders-value", avro("Order", "sku"))
    r.ok("DELETE", "/subjects/orders-value/versions/1")
    r.register("events-value", json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}), "JSON")
    r.register("people-value", 'syntax = "proto3";\nmessage Person { string name = 1; }\n', "PROTOBUF")
    r.ok("PUT", "/mode/people-value", {"mode": "READONLY"})
    r.register("gone-value", avro("Gone", "x"))
    r.ok("DELETE", "/subjects/gone-value")
    r.register(":.staging:orders-value", avro("Order", "id"))


def snapshot(r: RegistryProcess) -> dict:
    out = {}
    for path in SNAPSHOT_PATHS:
        status, body, _ = r.request("GET", path)
        out[path] = (status, body)
    return out


def test_restart_restores_everything(broker, tmp_path):
    r = RegistryProcess(tmp_path / "reg", broker.bootstrap)
    r.start()
    try:
        populate(r)
        before = snapshot(r)
        max_id = r.ok("GET", "/schemas/ids/1?fetchMaxId=true")["maxId"]
        assert before["/subjects"] == (200, [":.staging:orders-value", "events-value", "orders-value", "people-value"])
        assert before["/config"] == (200, {"compatibilityLevel": "FULL"})
        assert before["/mode/people-value"] == (200, {"mode": "READONLY"})

        r.restart()
        assert snapshot(r) == before, "after a clean restart"

        r.kill9()
        r.start()
        assert snapshot(r) == before, "after kill -9"

        # New ids continue after the restored ones; existing schemas keep theirs.
        assert r.register("orders-value", avro("Order", "sku")) == before["/subjects/orders-value/versions/latest"][1]["id"]
        assert r.register("fresh-value", avro("Fresh", "y")) == max_id + 1
    finally:
        r.stop()


def confluent_records() -> list[tuple[bytes, bytes | None]]:
    """Records as Confluent Schema Registry 7.x writes them to `_schemas`."""
    avro_v1 = json.dumps({"type": "record", "name": "Legacy", "fields": [{"name": "a", "type": "string"}]})
    avro_v2 = json.dumps({"type": "record", "name": "Legacy", "fields": [
        {"name": "a", "type": "string"}, {"name": "b", "type": "int", "default": 0}]})
    proto = 'syntax = "proto3";\npackage legacy;\n\nmessage Thing {\n  string name = 1;\n}\n'

    def rec(key: dict, value: dict | None):
        return (json.dumps(key, separators=(",", ":")).encode(),
                None if value is None else json.dumps(value, separators=(",", ":")).encode())

    return [
        rec({"keytype": "NOOP", "magic": 0}, None),
        rec({"keytype": "CONFIG", "subject": None, "magic": 0}, {"compatibilityLevel": "FORWARD"}),
        rec({"keytype": "SCHEMA", "subject": "legacy-value", "version": 1, "magic": 1},
            {"subject": "legacy-value", "version": 1, "id": 5, "schema": avro_v1, "deleted": False}),
        rec({"keytype": "SCHEMA", "subject": "legacy-value", "version": 2, "magic": 1},
            {"subject": "legacy-value", "version": 2, "id": 7, "schema": avro_v2, "deleted": False}),
        rec({"keytype": "SCHEMA", "subject": "thing-value", "version": 1, "magic": 1},
            {"subject": "thing-value", "version": 1, "id": 6, "schemaType": "PROTOBUF", "references": [],
             "schema": proto, "deleted": False}),
        rec({"keytype": "CONFIG", "subject": "thing-value", "magic": 0}, {"compatibilityLevel": "NONE"}),
        rec({"keytype": "SCHEMA", "subject": "dropped-value", "version": 1, "magic": 1},
            {"subject": "dropped-value", "version": 1, "id": 3, "schema": "\"string\"", "deleted": False}),
        rec({"keytype": "DELETE_SUBJECT", "subject": "dropped-value", "magic": 0},
            {"subject": "dropped-value", "version": 1}),
        rec({"keytype": "MODE", "subject": "thing-value", "magic": 0}, {"mode": "READONLY"}),
        rec({"keytype": "MODE", "subject": "thing-value", "magic": 0}, None),
    ]


def test_topic_written_by_confluent_restores(broker, tmp_path):
    topic = "_schemas_confluent"
    create_topic(broker.bootstrap, topic, 1, {"cleanup.policy": "compact"})
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for k, v in confluent_records():
        p.produce(topic, key=k, value=v, partition=0)
    assert p.flush(30) == 0

    r = RegistryProcess(tmp_path / "reg", broker.bootstrap, topic=topic)
    r.start()
    try:
        assert r.ok("GET", "/subjects") == ["legacy-value", "thing-value"]
        assert r.ok("GET", "/subjects?deleted=true") == ["dropped-value", "legacy-value", "thing-value"]
        assert r.ok("GET", "/subjects/legacy-value/versions/2")["id"] == 7
        assert r.ok("GET", "/schemas/ids/6")["schemaType"] == "PROTOBUF"
        assert r.ok("GET", "/config") == {"compatibilityLevel": "FORWARD"}
        assert r.ok("GET", "/config/thing-value")["compatibilityLevel"] == "NONE"
        status, body, _ = r.request("GET", "/mode/thing-value")
        assert (status, body["error_code"]) == (404, 40409), "the MODE tombstone removed it"
        # Re-registering a known schema finds its id; a new one gets max + 1.
        assert r.register("legacy-value", json.dumps(json.loads(r.ok("GET", "/schemas/ids/5")["schema"]))) == 5
        assert r.register("new-value", avro("New", "z")) == 8
    finally:
        r.stop()


def wait_for_single_leader(*regs: RegistryProcess, timeout: float = 60) -> RegistryProcess:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leaders = [r for r in regs if r.running() and r.is_leader()]
        if len(leaders) == 1:
            return leaders[0]
        time.sleep(0.2)
    raise AssertionError("no single leader: " + "\n".join(r.log_tail(3000) for r in regs))


def test_two_instances_forward_writes_and_fail_over(broker, tmp_path):
    a = RegistryProcess(tmp_path / "a", broker.bootstrap)
    b = RegistryProcess(tmp_path / "b", broker.bootstrap, topic=a.topic, group_id=a.group_id)
    a.start()
    b.start()
    try:
        leader = wait_for_single_leader(a, b)
        follower = b if leader is a else a

        # A write sent to the follower lands through the leader; both serve it.
        sid = follower.register("shared-value", avro("Shared", "a"))
        for r in (a, b):
            got = r.ok("GET", "/subjects/shared-value/versions/1")
            assert got["id"] == sid
        follower.ok("PUT", "/config/shared-value", {"compatibility": "NONE"})
        assert leader.ok("GET", "/config/shared-value")["compatibilityLevel"] == "NONE"
        leader_written = leader.register("other-value", avro("Other", "o"))
        assert follower.ok("GET", f"/schemas/ids/{leader_written}")["schema"]

        # Kill the leader: the survivor takes over (after the session timeout)
        # and keeps assigning fresh ids.
        leader.kill9()
        deadline = time.monotonic() + 60
        while not follower.is_leader():
            assert time.monotonic() < deadline, follower.log_tail()
            time.sleep(0.5)
        sid3 = follower.register("after-failover-value", avro("After", "x"))
        assert sid3 > max(sid, leader_written)
        assert follower.ok("GET", "/subjects/shared-value/versions/1")["id"] == sid

        # The old instance comes back; the group elects one leader again
        # (the eligible member with the smallest URL) and writes work from both.
        leader.start()
        new_leader = wait_for_single_leader(a, b)
        other = b if new_leader is a else a
        sid4 = other.register("rejoined-value", avro("Rejoined", "r"))
        assert new_leader.ok("GET", f"/schemas/ids/{sid4}")["schema"]
        assert len({sid, leader_written, sid3, sid4}) == 4
    finally:
        a.stop()
        b.stop()
