"""Issue 6, acceptance 1: confluent-kafka-python's SchemaRegistryClient with
the Avro, JSON Schema and Protobuf serializers and deserializers, pointed at
`tributary-registry`, round-trips records through the broker: with
`auto.register.schemas` (the serializer registers), and with
`use.latest.version` (the serializer uses what is registered). Protobuf also
covers a well-known import (Timestamp) and a reference to another file,
which the serializer registers as a subject of its own."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2
from google.protobuf.message_factory import GetMessageClass

from conftest import unique_topic
from kafka_helpers import create_topic, read_all
from registry_helpers import quote

pytestmark = pytest.mark.timeout(180)

AVRO_USER = """
{"type": "record", "name": "User", "namespace": "acme",
 "fields": [
   {"name": "name", "type": "string"},
   {"name": "age", "type": "int"},
   {"name": "email", "type": ["null", "string"], "default": null}
 ]}
"""

JSON_ORDER = """
{"$schema": "http://json-schema.org/draft-07/schema#",
 "title": "Order", "type": "object",
 "properties": {
   "id": {"type": "integer"},
   "item": {"type": "string"},
   "qty": {"type": "number", "minimum": 0}
 },
 "required": ["id", "item"]}
"""


def client(registry) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry.url})


def produce_all(bootstrap: str, topic: str, values: list[bytes]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    errors = []
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, _msg: err and errors.append(err))
    assert p.flush(30) == 0
    assert not errors, errors


def round_trip(broker, topic, serialize, deserialize, objects):
    create_topic(broker.bootstrap, topic)
    ctx = SerializationContext(topic, MessageField.VALUE)
    produce_all(broker.bootstrap, topic, [serialize(o, ctx) for o in objects])
    records = read_all(broker.bootstrap, topic, 1)
    assert len(records) == len(objects)
    for r in records:
        assert r.value[0] == 0, "Confluent wire format starts with magic byte 0"
    return [deserialize(r.value, ctx) for r in records]


def test_avro_auto_register_round_trip(broker, registry):
    sr = client(registry)
    topic = unique_topic("avro")
    users = [{"name": "ada", "age": 36, "email": None}, {"name": "bob", "age": 41, "email": "b@x"}]
    ser = AvroSerializer(sr, AVRO_USER, conf={"auto.register.schemas": True})
    des = AvroDeserializer(sr)
    assert round_trip(broker, topic, ser, des, users) == users

    # The serializer registered the schema under TopicNameStrategy.
    latest = sr.get_latest_version(f"{topic}-value")
    assert latest.version == 1
    assert latest.schema.schema_type == "AVRO"
    assert sr.get_schema(latest.schema_id).schema_str == latest.schema.schema_str
    # Registering the same schema again (other whitespace) keeps the id.
    again = registry.register(f"{topic}-value", AVRO_USER.replace("\n", " "))
    assert again == latest.schema_id


def test_avro_use_latest_version_and_evolution(broker, registry):
    sr = client(registry)
    topic = unique_topic("avro-latest")
    subject = f"{topic}-value"
    v1 = sr.register_schema(subject, Schema(AVRO_USER, "AVRO"))
    # A compatible evolution: a new field with a default.
    v2_schema = AVRO_USER.replace(
        '{"name": "email"', '{"name": "team", "type": "string", "default": "none"},\n   {"name": "email"'
    )
    v2 = sr.register_schema(subject, Schema(v2_schema, "AVRO"))
    assert v2 != v1
    ser = AvroSerializer(sr, None, conf={"auto.register.schemas": False, "use.latest.version": True})
    des = AvroDeserializer(sr)
    out = round_trip(broker, topic, ser, des, [{"name": "cy", "age": 7, "team": "red", "email": None}])
    assert out == [{"name": "cy", "age": 7, "team": "red", "email": None}]
    # A reader using v1 resolves data written with v2 (drops the new field).
    old_reader = AvroDeserializer(sr, AVRO_USER)
    ctx = SerializationContext(topic, MessageField.VALUE)
    data = ser({"name": "di", "age": 9, "team": "blue", "email": "d@x"}, ctx)
    assert old_reader(data, ctx) == {"name": "di", "age": 9, "email": "d@x"}


def test_json_schema_round_trip_auto_register_and_latest(broker, registry):
    sr = client(registry)
    topic = unique_topic("json")
    orders = [{"id": 1, "item": "apple", "qty": 2.5}, {"id": 2, "item": "pear"}]
    ser = JSONSerializer(JSON_ORDER, sr, conf={"auto.register.schemas": True})
    des = JSONDeserializer(JSON_ORDER, schema_registry_client=sr)
    assert round_trip(broker, topic, ser, des, orders) == orders
    latest = sr.get_latest_version(f"{topic}-value")
    assert latest.schema.schema_type == "JSON"

    latest_ser = JSONSerializer(None, sr, conf={"auto.register.schemas": False, "use.latest.version": True})
    topic2 = unique_topic("json-latest")
    sr.register_schema(f"{topic2}-value", Schema(JSON_ORDER, "JSON"))
    assert round_trip(broker, topic2, latest_ser, des, [{"id": 3, "item": "fig"}]) == [{"id": 3, "item": "fig"}]
    # The serializer validates against the registered schema.
    with pytest.raises(Exception):
        latest_ser({"id": "not-a-number", "item": "x"}, SerializationContext(topic2, MessageField.VALUE))


def _message_classes():
    """Builds `acme.Address` (address.proto) and `acme.Person` (person.proto,
    importing address.proto and google/protobuf/timestamp.proto) at runtime,
    as protoc-generated modules would."""
    pool = descriptor_pool.DescriptorPool()
    ts = descriptor_pb2.FileDescriptorProto()
    timestamp_pb2.DESCRIPTOR.CopyToProto(ts)
    pool.Add(ts)

    addr = descriptor_pb2.FileDescriptorProto(name="acme/address.proto", package="acme", syntax="proto3")
    m = addr.message_type.add(name="Address")
    m.field.add(name="city", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool.Add(addr)

    person = descriptor_pb2.FileDescriptorProto(
        name="acme/person.proto", package="acme", syntax="proto3",
        dependency=["acme/address.proto", "google/protobuf/timestamp.proto"],
    )
    m = person.message_type.add(name="Person")
    opt = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    m.field.add(name="name", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=opt)
    m.field.add(name="id", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64, label=opt)
    m.field.add(name="home", number=3, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                type_name=".acme.Address", label=opt)
    m.field.add(name="born", number=4, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                type_name=".google.protobuf.Timestamp", label=opt)
    pool.Add(person)
    return (GetMessageClass(pool.FindMessageTypeByName("acme.Person")),
            GetMessageClass(pool.FindMessageTypeByName("acme.Address")))


def test_protobuf_round_trip_with_reference_and_well_known_import(broker, registry):
    Person, Address = _message_classes()
    sr = client(registry)
    topic = unique_topic("proto")
    ser = ProtobufSerializer(Person, sr, {"auto.register.schemas": True, "use.deprecated.format": False})
    des = ProtobufDeserializer(Person, {"use.deprecated.format": False}, schema_registry_client=sr)

    p1 = Person(name="ada", id=1, home=Address(city="London"))
    p1.born.seconds = 1_000_000
    p2 = Person(name="bob", id=2)
    out = round_trip(broker, topic, ser, des, [p1, p2])
    assert out == [p1, p2]

    # The imported file became a subject of its own and the schema refers to it.
    latest = sr.get_latest_version(f"{topic}-value")
    assert latest.schema.schema_type == "PROTOBUF"
    # The serializer sent a base64 descriptor; it is stored and served as .proto text.
    text = registry.ok("GET", f"/schemas/ids/{latest.schema_id}")["schema"]
    assert "message Person {" in text and "import \"acme/address.proto\";" in text, text
    refs = {(r.name, r.subject) for r in latest.schema.references}
    assert ("acme/address.proto", "acme/address.proto") in refs
    status, body, _ = registry.request("GET", f"/subjects/{quote('acme/address.proto')}/versions/1/referencedby")
    assert status == 200 and latest.schema_id in body

    # use.latest.version: the serializer fetches the registered schema (in its
    # own client: the one above cached the latest version in text format,
    # and the client's cache does not key on the format).
    latest_ser = ProtobufSerializer(Person, client(registry), {"auto.register.schemas": False,
                                                               "use.latest.version": True,
                                                               "use.deprecated.format": False})
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert des(latest_ser(p2, ctx), ctx) == p2


def test_protobuf_text_schema_is_served_in_both_formats(registry):
    subject = "proto-text-value"
    text = 'syntax = "proto3";\npackage t;\nimport "google/protobuf/timestamp.proto";\n' \
           "message Event {\n  string name = 1;\n  google.protobuf.Timestamp at = 2;\n}\n"
    sid = registry.register(subject, text, schema_type="PROTOBUF")
    got = registry.ok("GET", f"/schemas/ids/{sid}")
    assert got["schemaType"] == "PROTOBUF" and "message Event" in got["schema"]
    serialized = registry.ok("GET", f"/schemas/ids/{sid}?format=serialized")["schema"]
    fd = descriptor_pb2.FileDescriptorProto()
    import base64

    fd.ParseFromString(base64.b64decode(serialized))
    assert [m.name for m in fd.message_type] == ["Event"]
    assert "google/protobuf/timestamp.proto" in fd.dependency
