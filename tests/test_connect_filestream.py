"""Acceptance 3 of issue 7: FileStreamSource → topic → FileStreamSink copies a
10,000-line file exactly through a chain of SMTs with predicates, in
standalone and in distributed mode; stopping the worker, appending to the
file and starting it again resumes from the stored offsets with no line lost
and none duplicated."""

from __future__ import annotations

import json

import pytest

from conftest import unique_topic
from connect_helpers import ConnectWorker, wait_until

pytestmark = pytest.mark.timeout(300)

N = 10_000


def write_lines(path, start, n, mode="w"):
    with open(path, mode) as f:
        for i in range(start, start + n):
            # Varied content: spaces, unicode, punctuation, JSON-looking text.
            f.write(f"{i:05d} rating {i % 5 + 1} ★ \"quoted\" {{\"k\": {i}}} tab\there\n")


def source_config(src, raw_topic):
    # Source side: Hoist → InsertField → ValueToKey → ReplaceField → ExtractField
    # (back to the line), plus a RegexRouter that only runs under a predicate and
    # a Filter that only drops tombstones (there are none).
    return {
        "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
        "file": str(src),
        "topic": raw_topic,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "transforms": "hoist,stamp,key,drop,extract,route,droptombstones",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "line",
        "transforms.stamp.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.stamp.static.field": "pipeline",
        "transforms.stamp.static.value": "acceptance-3",
        "transforms.key.type": "org.apache.kafka.connect.transforms.ValueToKey",
        "transforms.key.fields": "pipeline",
        "transforms.drop.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
        "transforms.drop.exclude": "pipeline",
        "transforms.extract.type": "org.apache.kafka.connect.transforms.ExtractField$Value",
        "transforms.extract.field": "line",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)-raw",
        "transforms.route.replacement": "$1-copied",
        "transforms.route.predicate": "isRaw",
        "transforms.droptombstones.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.droptombstones.predicate": "isTombstone",
        "predicates": "isRaw,isTombstone",
        "predicates.isRaw.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.isRaw.pattern": ".*-raw",
        "predicates.isTombstone.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    }


def sink_config(out, topic):
    return {
        "connector.class": "FileStreamSink",
        "file": str(out),
        "topics": topic,
        "transforms": "marker,unmark",
        "transforms.marker.type": "InsertHeader",
        "transforms.marker.header": "copied-by",
        "transforms.marker.value.literal": "tributary",
        "transforms.unmark.type": "DropHeaders",
        "transforms.unmark.headers": "copied-by",
    }


def out_lines(out):
    return out.read_text().splitlines() if out.exists() else []


def wait_for_copy(out, expected, worker):
    wait_until(lambda: len(out_lines(out)) >= len(expected), timeout=180,
               message=f"{len(expected)} lines in {out} (worker log:\n{worker.log_tail(3000)})")
    got = out_lines(out)
    assert len(got) == len(expected), f"{len(got)} lines, expected {len(expected)}"
    assert got == expected


def test_standalone_copy_and_restart(broker, tmp_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    base = unique_topic("fs")
    write_lines(src, 0, N // 2)
    src_file = tmp_path / "source.json"
    sink_file = tmp_path / "sink.properties"
    src_file.write_text(json.dumps({"name": "file-source", "config": source_config(src, f"{base}-raw")}))
    # The sink as a .properties file, the other format the CLI accepts.
    sink_file.write_text("name=file-sink\n" + "".join(f"{k}={v}\n" for k, v in sink_config(out, f"{base}-copied").items()))
    w = ConnectWorker(tmp_path / "worker", broker.bootstrap, connector_files=[src_file, sink_file])
    w.start()
    try:
        expected = src.read_text().splitlines()
        wait_for_copy(out, expected, w)
        assert w.get("/connectors/file-source/topics").json == {"file-source": {"topics": [f"{base}-copied"]}}
        # Clean stop; the file grows while the worker is down; start again.
        assert w.stop() == 0
        write_lines(src, N // 2, N // 2, mode="a")
        w.start()
        expected = src.read_text().splitlines()
        assert len(expected) == N
        wait_for_copy(out, expected, w)
        assert (tmp_path / "out.txt").read_bytes() == src.read_bytes()
        # The stored offset reaches the end of the file (flushed every 500 ms).
        size = src.stat().st_size
        wait_until(lambda: w.get("/connectors/file-source/offsets").json["offsets"][0]["offset"]["position"] == size,
                   timeout=10, message="source offset at the end of the file")
    finally:
        w.stop()


def test_distributed_copy_and_restart(broker, tmp_path):
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    base = unique_topic("fsd")
    group = unique_topic("connect-cluster")
    write_lines(src, 0, N // 2)
    w = ConnectWorker(tmp_path / "worker", broker.bootstrap, mode="distributed", props={
        "group.id": group,
        "config.storage.topic": f"{group}-configs",
        "offset.storage.topic": f"{group}-offsets",
        "status.storage.topic": f"{group}-status",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1",
        "offset.storage.partitions": "3",
        "status.storage.partitions": "1",
    })
    w.start()
    try:
        assert w.create("file-source", source_config(src, f"{base}-raw")).status == 201
        assert w.create("file-sink", sink_config(out, f"{base}-copied")).status == 201
        w.wait_for_state("file-source", "RUNNING", ["RUNNING"])
        expected = src.read_text().splitlines()
        wait_for_copy(out, expected, w)
        assert w.stop() == 0
        write_lines(src, N // 2, N // 2, mode="a")
        w.start()
        # Configs come back from the config topic, offsets from the offsets topic.
        assert sorted(w.get("/connectors").json) == ["file-sink", "file-source"]
        expected = src.read_text().splitlines()
        wait_for_copy(out, expected, w)
        assert out.read_bytes() == src.read_bytes()
    finally:
        w.stop()
