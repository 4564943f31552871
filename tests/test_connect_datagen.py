"""Acceptance 5 of issue 7: Datagen `quickstart=ratings` with the AvroConverter
registers its schema in our schema registry and produces records that
confluent-kafka-python's AvroDeserializer decodes, shaped like the users'
`events/rating.json`."""

from __future__ import annotations

import json
import time
import pytest
from confluent_kafka import DeserializingConsumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import StringDeserializer

from conftest import REPO_ROOT, unique_topic

pytestmark = pytest.mark.timeout(180)

# ../shared/seed-examples/events/rating.json, as the users' pipeline produces it.
RATING_EXAMPLE = {"rating_id": 5313, "user_id": 3, "stars": 4, "route_id": 6975, "rating_time": 1519304105213,
                  "channel": "web", "message": "worst. flight. ever. #neveragain"}
SEED = REPO_ROOT.parent / "shared" / "seed-examples" / "events" / "rating.json"


def consume(bootstrap, topic, registry_url, n, timeout=60):
    consumer = DeserializingConsumer({
        "bootstrap.servers": bootstrap,
        "group.id": unique_topic("datagen-reader"),
        "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": AvroDeserializer(SchemaRegistryClient({"url": registry_url})),
    })
    consumer.subscribe([topic])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            out.append(m)
    finally:
        consumer.close()
    return out


def test_datagen_ratings_avro_via_registry(broker, registry, connect):
    example = json.loads(SEED.read_text()) if SEED.is_file() else RATING_EXAMPLE
    topic = unique_topic("ratings")
    r = connect.create("ratings-gen", {
        "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
        "kafka.topic": topic,
        "quickstart": "ratings",
        "max.interval": "5",
        "iterations": "1000000",
        "random.seed": "42",
        "value.converter": "io.confluent.connect.avro.AvroConverter",
        "value.converter.schema.registry.url": registry.url,
    })
    assert r.status == 201, r
    connect.wait_for_state("ratings-gen", "RUNNING", ["RUNNING"])
    messages = consume(broker.bootstrap, topic, registry.url, 20)
    assert len(messages) >= 20
    for m in messages:
        v = m.value()
        assert set(v) == set(example), v
        for k, ev in example.items():
            assert type(v[k]) is type(ev), (k, v[k], ev)
        assert 1 <= v["stars"] <= 5
        assert v["channel"] in {"web", "iOS", "ios", "iOS-test", "android"}
        # The key is the quickstart's key field, rating_id, as a string.
        assert m.key() == str(v["rating_id"])
        headers = dict(m.headers() or [])
        assert headers["task.id"] == b"0"
    assert [m.value()["rating_id"] for m in messages[:5]] == [1, 2, 3, 4, 5]
    # The schema is registered under TopicNameStrategy's subject.
    status, latest, _ = registry.request("GET", f"/subjects/{topic}-value/versions/latest")
    assert status == 200, latest
    schema = json.loads(latest["schema"])
    assert schema["type"] == "record" and schema["name"] == "ratings" and schema["namespace"] == "ksql"
    assert [f["name"] for f in schema["fields"]] == list(RATING_EXAMPLE)
    assert connect.delete("/connectors/ratings-gen").status == 204


def test_datagen_users_json_schema_and_back_through_a_sink(broker, registry, connect, tmp_path):
    """JsonSchemaConverter: confluent-kafka's JSONDeserializer reads what the
    worker wrote, and a sink with the same converter reads it back into structs."""
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer

    topic = unique_topic("users")
    conv = {"value.converter": "io.confluent.connect.json.JsonSchemaConverter",
            "value.converter.schema.registry.url": registry.url}
    r = connect.create("users-gen", {
        "connector.class": "DatagenConnector", "kafka.topic": topic, "quickstart": "users",
        "max.interval": "5", "random.seed": "7", **conv})
    assert r.status == 201, r
    client = SchemaRegistryClient({"url": registry.url})
    consumer = DeserializingConsumer({
        "bootstrap.servers": broker.bootstrap, "group.id": unique_topic("json-reader"),
        "auto.offset.reset": "earliest", "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": JSONDeserializer(None, schema_registry_client=client),
    })
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < 10 and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None:
                assert m.error() is None, m.error()
                got.append(m.value())
    finally:
        consumer.close()
    assert len(got) == 10
    for v in got:
        assert set(v) == {"registertime", "userid", "regionid", "gender"}
        assert isinstance(v["registertime"], int) and v["userid"].startswith("User_")
        assert v["gender"] in ("MALE", "FEMALE", "OTHER")
    out = tmp_path / "users.txt"
    r = connect.create("users-sink", {"connector.class": "FileStreamSink", "topics": topic, "file": str(out), **conv})
    assert r.status == 201, r
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and len(out.read_text().splitlines()) >= 10):
        time.sleep(0.2)
    lines = out.read_text().splitlines()
    assert len(lines) >= 10
    assert lines[0].startswith("Struct{registertime=") and "userid=User_" in lines[0]
