"""The ProtobufConverter (issue 7): Datagen records written with
`io.confluent.connect.protobuf.ProtobufConverter` register a proto3 schema
(schemaType PROTOBUF) in our registry, carry Confluent's framing (magic
byte, schema id, message indexes) and decode with confluent-kafka-python's
ProtobufDeserializer, whose message class is built at test time from the
registered schema; a sink with the same converter reads them back."""

from __future__ import annotations

import base64
import time

import pytest
from confluent_kafka import Consumer, DeserializingConsumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.confluent import meta_pb2
from confluent_kafka.schema_registry.confluent.type import decimal_pb2
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.serialization import StringDeserializer
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message_factory import GetMessageClass

from conftest import unique_topic

pytestmark = pytest.mark.timeout(180)

# ../shared/seed-examples/events/rating.json's fields and types.
RATING_EXAMPLE = {"rating_id": 5313, "user_id": 3, "stars": 4, "route_id": 6975, "rating_time": 1519304105213,
                  "channel": "web", "message": "worst. flight. ever. #neveragain"}


def message_class(registry, schema_id: int, full_name: str):
    """The generated class for a registered schema: its compiled descriptor
    (`?format=serialized`) added to a fresh pool beside the known types it
    may import, as protoc-generated code would provide them."""
    pool = descriptor_pool.DescriptorPool()
    for dep in (descriptor_pb2, meta_pb2, decimal_pb2):
        pool.AddSerializedFile(dep.DESCRIPTOR.serialized_pb)
    body = registry.ok("GET", f"/schemas/ids/{schema_id}?format=serialized")
    fd = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(body["schema"]))
    pool.Add(fd)
    return GetMessageClass(pool.FindMessageTypeByName(full_name))


def consume(bootstrap, topic, value_deserializer, n, timeout=60):
    conf = {"bootstrap.servers": bootstrap, "group.id": unique_topic("proto-reader"),
            "auto.offset.reset": "earliest"}
    if value_deserializer is None:
        consumer = Consumer(conf)
    else:
        consumer = DeserializingConsumer({**conf, "key.deserializer": StringDeserializer("utf_8"),
                                          "value.deserializer": value_deserializer})
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


def latest_schema(registry, subject):
    deadline = time.monotonic() + 30
    while True:
        status, body, _ = registry.request("GET", f"/subjects/{subject}/versions/latest")
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, body
            return body
        time.sleep(0.2)


def test_datagen_ratings_protobuf_decodes_with_confluent_kafka(broker, registry, connect):
    topic = unique_topic("ratings-proto")
    r = connect.create("ratings-proto", {
        "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
        "kafka.topic": topic, "quickstart": "ratings", "max.interval": "5", "random.seed": "42",
        "value.converter": "io.confluent.connect.protobuf.ProtobufConverter",
        "value.converter.schema.registry.url": registry.url,
    })
    assert r.status == 201, r
    connect.wait_for_state("ratings-proto", "RUNNING", ["RUNNING"])

    # The schema is proto3 text derived from the Connect schema (ksql.ratings),
    # fields numbered in order, under TopicNameStrategy's subject.
    latest = latest_schema(registry, f"{topic}-value")
    assert latest["schemaType"] == "PROTOBUF"
    text = latest["schema"]
    assert "package ksql;" in text and "message ratings {" in text, text
    for i, (name, t) in enumerate([("rating_id", "int64"), ("user_id", "int32"), ("stars", "int32"),
                                   ("route_id", "int32"), ("rating_time", "int64"), ("channel", "string"),
                                   ("message", "string")], start=1):
        assert f"  {t} {name} = {i};" in text, (name, text)

    # Confluent's framing: magic 0, the registered id, message index [0] as a single 0.
    raw = consume(broker.bootstrap, topic, None, 3)
    assert len(raw) == 3
    for m in raw:
        v = m.value()
        assert v[0] == 0 and int.from_bytes(v[1:5], "big") == latest["id"] and v[5] == 0, v[:8]

    Ratings = message_class(registry, latest["id"], "ksql.ratings")
    sr = SchemaRegistryClient({"url": registry.url})
    des = ProtobufDeserializer(Ratings, {"use.deprecated.format": False}, schema_registry_client=sr)
    messages = consume(broker.bootstrap, topic, des, 20)
    assert len(messages) >= 20
    for m in messages:
        v = m.value()
        assert isinstance(v, Ratings)
        fields = {f.name: getattr(v, f.name) for f in v.DESCRIPTOR.fields}
        assert set(fields) == set(RATING_EXAMPLE), fields
        for k, ev in RATING_EXAMPLE.items():
            assert type(fields[k]) is type(ev), (k, fields[k], ev)
        assert 1 <= v.stars <= 5
        assert v.channel in {"web", "iOS", "ios", "iOS-test", "android"}
        assert v.message and v.rating_time > 0
        assert m.key() == str(v.rating_id)
    assert [m.value().rating_id for m in messages[:5]] == [1, 2, 3, 4, 5]
    assert connect.delete("/connectors/ratings-proto").status == 204


def test_datagen_purchases_protobuf_decimal_and_back_through_a_sink(broker, registry, connect, tmp_path):
    """A Decimal field imports confluent/type/decimal.proto and carries its
    precision and scale in (confluent.field_meta); confluent-kafka reads the
    `confluent.type.Decimal` messages, and a FileStreamSink with the same
    converter turns the records back into Connect structs."""
    topic = unique_topic("purchases-proto")
    conv = {"value.converter": "io.confluent.connect.protobuf.ProtobufConverter",
            "value.converter.schema.registry.url": registry.url}
    r = connect.create("purchases-proto", {
        "connector.class": "DatagenConnector", "kafka.topic": topic, "quickstart": "purchases",
        "max.interval": "5", "random.seed": "3", **conv})
    assert r.status == 201, r
    latest = latest_schema(registry, f"{topic}-value")
    text = latest["schema"]
    assert 'import "confluent/type/decimal.proto";' in text, text
    assert "confluent.type.Decimal price_per_unit = 4" in text, text
    assert 'key: "scale", value: "2"' in text and 'key: "precision", value: "4"' in text, text

    Purchase = message_class(registry, latest["id"], "datagen.example.purchase")
    sr = SchemaRegistryClient({"url": registry.url})
    des = ProtobufDeserializer(Purchase, {"use.deprecated.format": False}, schema_registry_client=sr)
    messages = consume(broker.bootstrap, topic, des, 10)
    assert len(messages) == 10
    for i, m in enumerate(messages):
        v = m.value()
        assert v.id == i and 1 <= v.quantity <= 10 and v.item_type
        d = v.price_per_unit
        assert d.scale == 2
        unscaled = int.from_bytes(d.value, "big", signed=True)
        assert 1000 <= unscaled <= 5000, d
        assert d.precision == len(str(abs(unscaled)))

    out = tmp_path / "purchases.txt"
    r = connect.create("purchases-sink", {"connector.class": "FileStreamSink", "topics": topic,
                                          "file": str(out), **conv})
    assert r.status == 201, r
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and len(out.read_text().splitlines()) >= 10):
        time.sleep(0.2)
    lines = out.read_text().splitlines()
    assert len(lines) >= 10, connect.log_tail()
    first = messages[0].value()
    assert lines[0].startswith("Struct{id=0,item_type="), lines[0]
    assert f"quantity={first.quantity}," in lines[0], lines[0]
    price = int.from_bytes(first.price_per_unit.value, "big", signed=True)
    assert lines[0].endswith(f"price_per_unit={price // 100}.{price % 100:02d}}}"), lines[0]


RATINGS_SECOND = """syntax = "proto3";
package ksql;

message other {
  string x = 1;
}
message ratings {
  int64 rating_id = 1;
  int32 user_id = 2;
  int32 stars = 3;
  int32 route_id = 4;
  int64 rating_time = 5;
  string channel = 6;
  string message = 7;
}
"""


def test_use_latest_version_frames_the_registered_message_index(broker, registry, connect):
    """With `use.latest.version` (and no auto-registration) the converter
    writes the id of the subject's latest schema and the index path of its
    message in that schema: `ksql.ratings` is the second message, so the
    indexes are [1], framed as count 1 then 1 (zig-zag: 02 02)."""
    topic = unique_topic("ratings-latest")
    schema_id = registry.register(f"{topic}-value", RATINGS_SECOND, schema_type="PROTOBUF")
    r = connect.create("ratings-latest", {
        "connector.class": "DatagenConnector", "kafka.topic": topic, "quickstart": "ratings",
        "max.interval": "5", "random.seed": "5",
        "value.converter": "io.confluent.connect.protobuf.ProtobufConverter",
        "value.converter.schema.registry.url": registry.url,
        "value.converter.auto.register.schemas": "false",
        "value.converter.use.latest.version": "true",
    })
    assert r.status == 201, r
    raw = consume(broker.bootstrap, topic, None, 3)
    assert len(raw) == 3, connect.log_tail()
    for m in raw:
        v = m.value()
        assert v[0] == 0 and int.from_bytes(v[1:5], "big") == schema_id and v[5:7] == b"\x02\x02", v[:8]
    # Nothing new was registered.
    assert registry.ok("GET", f"/subjects/{topic}-value/versions") == [1]
    Ratings = message_class(registry, schema_id, "ksql.ratings")
    sr = SchemaRegistryClient({"url": registry.url})
    des = ProtobufDeserializer(Ratings, {"use.deprecated.format": False}, schema_registry_client=sr)
    messages = consume(broker.bootstrap, topic, des, 5)
    assert [m.value().rating_id for m in messages] == [1, 2, 3, 4, 5]
