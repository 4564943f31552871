"""Acceptance 2 of issue 7: the full connector lifecycle over the Kafka
Connect REST API of a real `tributary-connect` worker (standalone, against a
real broker): create, status, pause, resume, stop, offsets read/alter/reset,
restart with includeTasks/onlyFailed, delete, validate with an invalid
config, and Connect's error JSON for bad requests."""

from __future__ import annotations

import time

import pytest

from conftest import unique_topic
from connect_helpers import wait_until

pytestmark = pytest.mark.timeout(180)


def lines_file(path, n, start=0):
    path.write_text("".join(f"line-{i}\n" for i in range(start, start + n)))
    return path


def assert_error(resp, status, contains=None):
    assert resp.status == status, resp
    assert isinstance(resp.json, dict), resp
    assert resp.json["error_code"] == status, resp
    assert isinstance(resp.json["message"], str) and resp.json["message"], resp
    if contains:
        assert contains in resp.json["message"], resp


def test_root_health_and_plugins(connect):
    root = connect.get("/")
    assert root.status == 200
    assert root.json["version"] == "4.3.0"
    assert root.json["kafka_cluster_id"]
    assert connect.get("/health").json["status"] == "healthy"
    plugins = connect.get("/connector-plugins").json
    classes = {p["class"]: p["type"] for p in plugins}
    assert classes["org.apache.kafka.connect.file.FileStreamSourceConnector"] == "source"
    assert classes["org.apache.kafka.connect.file.FileStreamSinkConnector"] == "sink"
    assert classes["io.confluent.kafka.connect.datagen.DatagenConnector"] == "source"
    everything = connect.get("/connector-plugins?connectorsOnly=false").json
    types = {p["type"] for p in everything}
    assert {"source", "sink", "transformation", "predicate", "converter", "header_converter"} <= types
    assert any(p["class"] == "org.apache.kafka.connect.transforms.Cast$Value" for p in everything)
    cfg = connect.get("/connector-plugins/FileStreamSource/config")
    assert cfg.status == 200
    assert {"file", "topic", "batch.size"} <= {k["name"] for k in cfg.json}
    assert_error(connect.get("/connector-plugins/NoSuchPlugin/config"), 404)


def test_full_lifecycle(connect, tmp_path):
    src_file = lines_file(tmp_path / "in.txt", 50)
    topic = unique_topic("lifecycle")
    config = {"connector.class": "FileStreamSource", "file": str(src_file), "topic": topic}

    created = connect.create("src", config)
    assert created.status == 201, created
    assert created.json["name"] == "src"
    assert created.json["type"] == "source"
    assert created.json["tasks"] == [{"connector": "src", "task": 0}]
    assert created.json["config"]["file"] == str(src_file)

    assert_error(connect.create("src", config), 409, "already exists")
    assert connect.get("/connectors").json == ["src"]
    expanded = connect.get("/connectors?expand=status&expand=info").json
    assert expanded["src"]["info"]["type"] == "source"
    assert expanded["src"]["status"]["connector"]["state"] in ("RUNNING", "UNASSIGNED")

    status = connect.wait_for_state("src", "RUNNING", ["RUNNING"])
    assert status["type"] == "source"
    assert status["tasks"][0]["worker_id"] == f"127.0.0.1:{connect.port}"
    assert connect.get("/connectors/src/tasks/0/status").json["state"] == "RUNNING"
    tasks = connect.get("/connectors/src/tasks").json
    assert tasks[0]["id"] == {"connector": "src", "task": 0}
    assert tasks[0]["config"]["topic"] == topic

    # The source reads the whole file: its offset is the file's length.
    size = src_file.stat().st_size
    wait_until(lambda: connect.get("/connectors/src/offsets").json["offsets"]
               == [{"partition": {"filename": str(src_file)}, "offset": {"position": size}}],
               message="offset at end of file")
    assert connect.get("/connectors/src/topics").json == {"src": {"topics": [topic]}}

    assert connect.put("/connectors/src/pause").status == 202
    connect.wait_for_state("src", "PAUSED", ["PAUSED"])
    assert connect.put("/connectors/src/resume").status == 202
    connect.wait_for_state("src", "RUNNING", ["RUNNING"])

    # Offsets can only change while the connector is stopped.
    assert_error(connect.patch("/connectors/src/offsets", {"offsets": [
        {"partition": {"filename": str(src_file)}, "offset": {"position": 0}}]}), 400, "STOPPED")

    assert connect.put("/connectors/src/stop").status == 204
    stopped = connect.wait_for_state("src", "STOPPED", [])
    assert stopped["tasks"] == []
    assert connect.get("/connectors/src").json["tasks"] == []

    altered = connect.patch("/connectors/src/offsets", {"offsets": [
        {"partition": {"filename": str(src_file)}, "offset": {"position": 7}}]})
    assert altered.status == 200, altered
    assert "altered successfully" in altered.json["message"]
    assert connect.get("/connectors/src/offsets").json["offsets"] == [
        {"partition": {"filename": str(src_file)}, "offset": {"position": 7}}]
    assert_error(connect.patch("/connectors/src/offsets", {"offsets": []}), 400)

    reset = connect.delete("/connectors/src/offsets")
    assert reset.status == 200
    assert "reset successfully" in reset.json["message"]
    assert connect.get("/connectors/src/offsets").json == {"offsets": []}

    # Resuming a stopped connector brings its tasks back; after the reset it
    # reads the file again from the start.
    assert connect.put("/connectors/src/resume").status == 202
    connect.wait_for_state("src", "RUNNING", ["RUNNING"])
    wait_until(lambda: connect.get("/connectors/src/offsets").json["offsets"]
               == [{"partition": {"filename": str(src_file)}, "offset": {"position": size}}],
               message="offset back at end of file")

    restarted = connect.post("/connectors/src/restart?includeTasks=true&onlyFailed=false")
    assert restarted.status == 202, restarted
    assert restarted.json["connector"]["state"] == "RESTARTING"
    assert [t["state"] for t in restarted.json["tasks"]] == ["RESTARTING"]
    connect.wait_for_state("src", "RUNNING", ["RUNNING"])

    # onlyFailed with nothing failed restarts nothing.
    nothing = connect.post("/connectors/src/restart?includeTasks=true&onlyFailed=true")
    assert nothing.status == 202
    assert nothing.json["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in nothing.json["tasks"]] == ["RUNNING"]

    assert connect.post("/connectors/src/restart").status == 204
    assert connect.post("/connectors/src/tasks/0/restart").status == 204
    connect.wait_for_state("src", "RUNNING", ["RUNNING"])
    assert_error(connect.post("/connectors/src/tasks/5/restart"), 404)

    assert connect.delete("/connectors/src").status == 204
    assert connect.get("/connectors").json == []
    assert_error(connect.get("/connectors/src"), 404, "Connector src not found")
    assert_error(connect.get("/connectors/src/status"), 404)
    assert_error(connect.delete("/connectors/src"), 404)


def test_restart_only_failed_tasks(connect):
    # Datagen with iterations=2 fails its task after two records, as the real one does.
    cfg = {"connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
           "kafka.topic": unique_topic("dg"), "quickstart": "users", "iterations": "2",
           "max.interval": "10", "tasks.max": "2"}
    assert connect.create("dg", cfg).status == 201
    failed = connect.wait_for_state("dg", "RUNNING", ["FAILED", "FAILED"])
    assert "generated the configured 2 number of messages" in failed["tasks"][0]["trace"]
    resp = connect.post("/connectors/dg/restart?includeTasks=true&onlyFailed=true")
    assert resp.status == 202
    assert resp.json["connector"]["state"] == "RUNNING"
    assert [t["state"] for t in resp.json["tasks"]] == ["RESTARTING", "RESTARTING"]
    # The restarted tasks resume from their offsets: already past iteration 2, they fail again.
    connect.wait_for_state("dg", "RUNNING", ["FAILED", "FAILED"])
    offsets = connect.get("/connectors/dg/offsets").json["offsets"]
    assert sorted(o["partition"]["task.id"] for o in offsets) == [0, 1]
    assert all(o["offset"]["current.iteration"] == 2 for o in offsets)


def test_validate_reports_invalid_keys(connect):
    resp = connect.put("/connector-plugins/FileStreamSinkConnector/config/validate", {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "name": "bad", "tasks.max": "0",
        "transforms": "t1", "transforms.t1.type": "org.apache.kafka.connect.transforms.NoSuchTransform",
    })
    assert resp.status == 200, resp
    body = resp.json
    assert body["name"] == "org.apache.kafka.connect.file.FileStreamSinkConnector"
    assert body["error_count"] > 0
    errors = {c["value"]["name"]: c["value"]["errors"] for c in body["configs"] if c["value"]["errors"]}
    assert "topics" in errors, errors
    assert "tasks.max" in errors, errors
    assert "transforms.t1.type" in errors and "could not be found" in errors["transforms.t1.type"][0]
    assert body["error_count"] == sum(len(e) for e in errors.values())
    assert "Common" in body["groups"] and "Transforms" in body["groups"]

    ok = connect.put("/connector-plugins/FileStreamSink/config/validate",
                     {"connector.class": "FileStreamSink", "name": "good", "topics": "t"})
    assert ok.status == 200 and ok.json["error_count"] == 0, ok

    bad_smt = connect.put("/connector-plugins/FileStreamSink/config/validate", {
        "connector.class": "FileStreamSink", "name": "x", "topics": "t",
        "transforms": "c", "transforms.c.type": "org.apache.kafka.connect.transforms.Cast$Value"})
    errors = {c["value"]["name"]: c["value"]["errors"] for c in bad_smt.json["configs"] if c["value"]["errors"]}
    assert "transforms.c.spec" in errors, errors

    assert_error(connect.put("/connector-plugins/FileStreamSink/config/validate",
                             {"connector.class": "FileStreamSource"}), 400, "does not match")


def test_bad_requests_get_connect_error_json(connect):
    assert_error(connect.post("/connectors", raw=b"{not json"), 400)
    assert_error(connect.post("/connectors", {"name": "x"}), 400)
    assert_error(connect.post("/connectors", {"config": {"connector.class": "FileStreamSink", "topics": "t"}}), 400)
    invalid = connect.create("x", {"connector.class": "FileStreamSink"})
    assert_error(invalid, 400, "Connector configuration is invalid")
    assert "topics" in invalid.json["message"]
    assert_error(connect.create("x", {"connector.class": "NoSuchConnector"}), 400)
    assert_error(connect.put("/connectors/x/config", {"connector.class": "FileStreamSink", "topics": "t", "name": "y"}),
                 400, "doesn't match connector name in the URL")
    assert_error(connect.get("/no/such/path"), 404)
    assert_error(connect.request("DELETE", "/connector-plugins"), 405)
    assert_error(connect.put("/connectors/missing/pause"), 404)
    assert_error(connect.get("/connectors/missing/offsets"), 404)
    assert connect.get("/connectors").json == []


def test_config_put_and_patch(connect, tmp_path):
    topic = unique_topic("cfg")
    out = tmp_path / "out.txt"
    put1 = connect.put("/connectors/snk/config", {"connector.class": "FileStreamSink", "topics": topic, "file": str(out)})
    assert put1.status == 201, put1
    put2 = connect.put("/connectors/snk/config", {"connector.class": "FileStreamSink", "topics": topic,
                                                   "file": str(out), "tasks.max": "2"})
    assert put2.status == 200, put2
    assert len(put2.json["tasks"]) == 2
    patched = connect.patch("/connectors/snk/config", {"tasks.max": None, "errors.tolerance": "all"})
    assert patched.status == 200, patched
    cfg = connect.get("/connectors/snk/config").json
    assert "tasks.max" not in cfg and cfg["errors.tolerance"] == "all" and cfg["name"] == "snk"
    assert len(connect.get("/connectors/snk").json["tasks"]) == 1
    assert_error(connect.patch("/connectors/other/config", {"a": "b"}), 404)


def test_sink_offsets_alter_and_reset(connect, tmp_path):
    topic = unique_topic("sinkoff")
    src = lines_file(tmp_path / "in.txt", 20)
    out = tmp_path / "out.txt"
    assert connect.create("s", {"connector.class": "FileStreamSource", "file": str(src), "topic": topic}).status == 201
    assert connect.create("k", {"connector.class": "FileStreamSink", "file": str(out), "topics": topic}).status == 201
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 20, message="sink wrote 20 lines")
    assert connect.put("/connectors/k/stop").status == 204
    connect.wait_for_state("k", "STOPPED", [])
    expected = [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 20}}]
    assert connect.get("/connectors/k/offsets").json["offsets"] == expected
    altered = connect.patch("/connectors/k/offsets", {"offsets": [
        {"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 15}}]})
    assert altered.status == 200, altered
    assert connect.get("/connectors/k/offsets").json["offsets"][0]["offset"] == {"kafka_offset": 15}
    assert_error(connect.patch("/connectors/k/offsets", {"offsets": [
        {"partition": {"kafka_topic": topic}, "offset": {"kafka_offset": 1}}]}), 400, "kafka_partition")
    # Resuming re-delivers from offset 15: five lines again.
    assert connect.put("/connectors/k/resume").status == 202
    wait_until(lambda: len(out.read_text().splitlines()) == 25, message="five lines re-delivered")
    assert out.read_text().splitlines()[20:] == [f"line-{i}" for i in range(15, 20)]
    assert connect.put("/connectors/k/stop").status == 204
    connect.wait_for_state("k", "STOPPED", [])
    time.sleep(0.5)
    reset = connect.delete("/connectors/k/offsets")
    assert reset.status == 200, reset
    assert connect.get("/connectors/k/offsets").json == {"offsets": []}
    assert connect.put("/connectors/k/resume").status == 202
    wait_until(lambda: len(out.read_text().splitlines()) == 45, message="all lines re-delivered after reset")


def test_active_topics_and_loggers(connect, tmp_path):
    topic = unique_topic("topics")
    src = lines_file(tmp_path / "in.txt", 3)
    assert connect.create("t", {"connector.class": "FileStreamSource", "file": str(src), "topic": topic}).status == 201
    wait_until(lambda: connect.get("/connectors/t/topics").json == {"t": {"topics": [topic]}}, message="active topic")
    assert connect.put("/connectors/t/topics/reset").status == 202
    assert connect.get("/connectors/t/topics").json == {"t": {"topics": []}}

    loggers = connect.get("/admin/loggers").json
    assert loggers["root"]["level"] == "INFO"
    changed = connect.put("/admin/loggers/org.apache.kafka.connect", {"level": "DEBUG"})
    assert changed.status == 200 and "org.apache.kafka.connect" in changed.json
    assert connect.get("/admin/loggers/org.apache.kafka.connect.runtime").json["level"] == "DEBUG"
    assert_error(connect.put("/admin/loggers/x", {"level": "LOUD"}), 404)
    assert_error(connect.put("/admin/loggers/x", {}), 400)
