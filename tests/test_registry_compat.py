"""Issue 6, acceptance 3: one table per format of schema changes, each with
the answer Confluent's rules give under BACKWARD, FORWARD and FULL (NONE
always accepts), checked twice: through the compatibility endpoint
(`is_compatible`), and by registering, where a refused change is a 409 with
error_code 409 and the reason (the incompatibility type) in the message.
Transitive levels get chains of three versions where only the oldest one
disagrees."""

from __future__ import annotations

import json

import pytest

from registry_helpers import RegistryProcess, quote, unique_subject

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def registry(_module_broker, tmp_path_factory):
    """One registry for the module: every case uses subjects of its own."""
    r = RegistryProcess(tmp_path_factory.mktemp("registry"), _module_broker.bootstrap)
    r.start()
    yield r
    r.stop()

LEVELS = ["NONE", "BACKWARD", "FORWARD", "FULL"]


def avro_record(*fields: dict) -> str:
    return json.dumps({"type": "record", "name": "R", "namespace": "t", "fields": list(fields)})


def f(name, type_, **extra):
    return {"name": name, "type": type_, **extra}


def enum(symbols, **extra):
    return avro_record(f("e", {"type": "enum", "name": "E", "symbols": symbols, **extra}))


# (name, old, new, {level: (compatible, reason when not)})
AVRO = [
    ("add field with default", avro_record(f("a", "string")), avro_record(f("a", "string"), f("b", "int", default=0)),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("add field without default", avro_record(f("a", "string")), avro_record(f("a", "string"), f("b", "int")),
     {"BACKWARD": "READER_FIELD_MISSING_DEFAULT_VALUE", "FORWARD": True, "FULL": "READER_FIELD_MISSING_DEFAULT_VALUE"}),
    ("remove field without default", avro_record(f("a", "string"), f("b", "int")), avro_record(f("a", "string")),
     {"BACKWARD": True, "FORWARD": "READER_FIELD_MISSING_DEFAULT_VALUE", "FULL": "READER_FIELD_MISSING_DEFAULT_VALUE"}),
    ("remove field with default", avro_record(f("a", "string"), f("b", "int", default=1)), avro_record(f("a", "string")),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("rename via alias", avro_record(f("name", "string")), avro_record(f("full_name", "string", aliases=["name"])),
     {"BACKWARD": True, "FORWARD": "READER_FIELD_MISSING_DEFAULT_VALUE", "FULL": "READER_FIELD_MISSING_DEFAULT_VALUE"}),
    ("rename without alias", avro_record(f("name", "string")), avro_record(f("full_name", "string")),
     {"BACKWARD": "READER_FIELD_MISSING_DEFAULT_VALUE", "FORWARD": "READER_FIELD_MISSING_DEFAULT_VALUE",
      "FULL": "READER_FIELD_MISSING_DEFAULT_VALUE"}),
    ("widen int to long", avro_record(f("n", "int")), avro_record(f("n", "long")),
     {"BACKWARD": True, "FORWARD": "TYPE_MISMATCH", "FULL": "TYPE_MISMATCH"}),
    ("widen float to double", avro_record(f("n", "float")), avro_record(f("n", "double")),
     {"BACKWARD": True, "FORWARD": "TYPE_MISMATCH", "FULL": "TYPE_MISMATCH"}),
    ("string to bytes", avro_record(f("s", "string")), avro_record(f("s", "bytes")),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("add enum symbol", enum(["A", "B"]), enum(["A", "B", "C"]),
     {"BACKWARD": True, "FORWARD": "MISSING_ENUM_SYMBOLS", "FULL": "MISSING_ENUM_SYMBOLS"}),
    ("remove enum symbol", enum(["A", "B", "C"]), enum(["A", "B"]),
     {"BACKWARD": "MISSING_ENUM_SYMBOLS", "FORWARD": True, "FULL": "MISSING_ENUM_SYMBOLS"}),
    ("add enum symbol with enum default", enum(["A", "B"], default="A"), enum(["A", "B", "C"], default="A"),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("add union branch", avro_record(f("u", ["null", "string"], default=None)),
     avro_record(f("u", ["null", "string", "int"], default=None)),
     {"BACKWARD": True, "FORWARD": "MISSING_UNION_BRANCH", "FULL": "MISSING_UNION_BRANCH"}),
    ("remove union branch", avro_record(f("u", ["null", "string", "int"], default=None)),
     avro_record(f("u", ["null", "string"], default=None)),
     {"BACKWARD": "MISSING_UNION_BRANCH", "FORWARD": True, "FULL": "MISSING_UNION_BRANCH"}),
    ("make field optional", avro_record(f("s", "string")), avro_record(f("s", ["null", "string"], default=None)),
     {"BACKWARD": True, "FORWARD": "TYPE_MISMATCH", "FULL": "TYPE_MISMATCH"}),
    ("rename record", avro_record(f("a", "string")),
     json.dumps({"type": "record", "name": "S", "namespace": "t", "fields": [f("a", "string")]}),
     {"BACKWARD": "NAME_MISMATCH", "FORWARD": "NAME_MISMATCH", "FULL": "NAME_MISMATCH"}),
    ("rename record with alias", avro_record(f("a", "string")),
     json.dumps({"type": "record", "name": "S", "namespace": "t", "aliases": ["t.R"], "fields": [f("a", "string")]}),
     {"BACKWARD": True, "FORWARD": "NAME_MISMATCH", "FULL": "NAME_MISMATCH"}),
]


def obj(props: dict, required=(), closed=False) -> str:
    s = {"type": "object", "properties": props}
    if required:
        s["required"] = list(required)
    if closed:
        s["additionalProperties"] = False
    return json.dumps(s)


STR = {"type": "string"}
INT = {"type": "integer"}

JSON_SCHEMA = [
    ("add optional property, closed model", obj({"a": STR}, closed=True), obj({"a": STR, "b": INT}, closed=True),
     {"BACKWARD": True, "FORWARD": "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
      "FULL": "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"}),
    ("add required property, closed model", obj({"a": STR}, closed=True),
     obj({"a": STR, "b": INT}, required=["b"], closed=True),
     {"BACKWARD": "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
      "FORWARD": "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
      "FULL": "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"}),
    ("add property, open model", obj({"a": STR}), obj({"a": STR, "b": INT}),
     {"BACKWARD": "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "FORWARD": True,
      "FULL": "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"}),
    ("optional becomes required", obj({"a": STR}), obj({"a": STR}, required=["a"]),
     {"BACKWARD": "REQUIRED_ATTRIBUTE_ADDED", "FORWARD": True, "FULL": "REQUIRED_ATTRIBUTE_ADDED"}),
    ("required becomes optional", obj({"a": STR}, required=["a"]), obj({"a": STR}),
     {"BACKWARD": True, "FORWARD": "REQUIRED_ATTRIBUTE_ADDED", "FULL": "REQUIRED_ATTRIBUTE_ADDED"}),
    ("widen integer to number", obj({"n": INT}), obj({"n": {"type": "number"}}),
     {"BACKWARD": True, "FORWARD": "TYPE_NARROWED", "FULL": "TYPE_NARROWED"}),
    ("change type", obj({"n": INT}), obj({"n": STR}),
     {"BACKWARD": "TYPE_CHANGED", "FORWARD": "TYPE_CHANGED", "FULL": "TYPE_CHANGED"}),
    ("extend enum", json.dumps({"enum": ["a", "b"]}), json.dumps({"enum": ["a", "b", "c"]}),
     {"BACKWARD": True, "FORWARD": "ENUM_ARRAY_NARROWED", "FULL": "ENUM_ARRAY_NARROWED"}),
    ("allow null", obj({"a": STR}), obj({"a": {"type": ["string", "null"]}}),
     {"BACKWARD": True, "FORWARD": "TYPE_CHANGED", "FULL": "TYPE_CHANGED"}),
    ("tighten maxLength", obj({"a": {"type": "string", "maxLength": 10}}),
     obj({"a": {"type": "string", "maxLength": 5}}),
     {"BACKWARD": "MAX_LENGTH_DECREASED", "FORWARD": True, "FULL": "MAX_LENGTH_DECREASED"}),
]


def proto(body: str) -> str:
    return f'syntax = "proto3";\npackage t;\n{body}\n'


PROTOBUF = [
    ("add field", proto("message M { string a = 1; }"), proto("message M { string a = 1; int32 b = 2; }"),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("remove field", proto("message M { string a = 1; int32 b = 2; }"), proto("message M { string a = 1; }"),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("rename field", proto("message M { string a = 1; }"), proto("message M { string renamed = 1; }"),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("field number reused for another scalar kind", proto("message M { string a = 1; int32 b = 2; }"),
     proto("message M { string a = 1; string c = 2; }"),
     {"BACKWARD": "FIELD_SCALAR_KIND_CHANGED", "FORWARD": "FIELD_SCALAR_KIND_CHANGED",
      "FULL": "FIELD_SCALAR_KIND_CHANGED"}),
    ("field number reused for a message", proto("message M { string a = 1; int32 b = 2; }"),
     proto("message N { int32 x = 1; } message M { string a = 1; N b = 2; }"),
     {"BACKWARD": "FIELD_KIND_CHANGED", "FORWARD": "FIELD_KIND_CHANGED", "FULL": "FIELD_KIND_CHANGED"}),
    ("int32 to int64", proto("message M { int32 n = 1; }"), proto("message M { int64 n = 1; }"),
     {"BACKWARD": True, "FORWARD": True, "FULL": True}),
    ("remove message type", proto("message M { int32 n = 1; } message Other { string s = 1; }"),
     proto("message M { int32 n = 1; }"),
     {"BACKWARD": "MESSAGE_REMOVED", "FORWARD": True, "FULL": "MESSAGE_REMOVED"}),
    ("move fields into a new oneof", proto("message M { string a = 1; int32 b = 2; }"),
     proto("message M { oneof choice { string a = 1; int32 b = 2; } }"),
     {"BACKWARD": "MULTIPLE_FIELDS_MOVED_TO_ONEOF", "FORWARD": True, "FULL": "MULTIPLE_FIELDS_MOVED_TO_ONEOF"}),
]

CASES = [("AVRO", *c) for c in AVRO] + [("JSON", *c) for c in JSON_SCHEMA] + [("PROTOBUF", *c) for c in PROTOBUF]


def body(schema_type: str, schema: str) -> dict:
    b = {"schema": schema}
    if schema_type != "AVRO":
        b["schemaType"] = schema_type
    return b


@pytest.mark.parametrize("schema_type,name,old,new,expected", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_change_under_each_level(registry, schema_type, name, old, new, expected):
    expected = {"NONE": True, **expected}
    for level in LEVELS:
        subject = unique_subject(f"compat-{level}")
        q = quote(subject)
        registry.ok("PUT", f"/config/{q}", {"compatibility": level})
        registry.ok("POST", f"/subjects/{q}/versions", body(schema_type, old))
        want = expected[level]

        check = registry.ok("POST", f"/compatibility/subjects/{q}/versions/latest?verbose=true", body(schema_type, new))
        assert check["is_compatible"] is (want is True), f"{name} under {level}: {check}"
        if want is not True:
            assert any(want in m for m in check["messages"]), f"{name} under {level}: {check['messages']}"

        status, resp, _ = registry.request("POST", f"/subjects/{q}/versions", body(schema_type, new))
        if want is True:
            assert status == 200, f"{name} under {level}: {status} {resp}"
            assert isinstance(resp["id"], int)
        else:
            assert status == 409, f"{name} under {level}: {status} {resp}"
            assert resp["error_code"] == 409
            assert resp["message"].startswith("Schema being registered is incompatible with an earlier schema")
            assert want in resp["message"], resp["message"]
            assert f"compatibility: '{level}'" in resp["message"]


def chain(*schemas: str) -> list[str]:
    return list(schemas)


TRANSITIVE = [
    # v3 reads v2 (b present) but not v1 (b missing, no default in v3).
    ("BACKWARD", chain(avro_record(f("a", "string")),
                       avro_record(f("a", "string"), f("b", "int", default=0)),
                       avro_record(f("a", "string"), f("b", "int")))),
    # v2 reads v3 (b has a default in v2) but v1 does not (no default).
    ("FORWARD", chain(avro_record(f("a", "string"), f("b", "int")),
                      avro_record(f("a", "string"), f("b", "int", default=0)),
                      avro_record(f("a", "string")))),
    ("FULL", chain(avro_record(f("a", "string"), f("b", "int")),
                   avro_record(f("a", "string"), f("b", "int", default=0)),
                   avro_record(f("a", "string")))),
]


@pytest.mark.parametrize("base,versions", TRANSITIVE, ids=[t[0] for t in TRANSITIVE])
def test_transitive_levels_check_every_version(registry, base, versions):
    v1, v2, v3 = versions
    for level, ok in [(base, True), (f"{base}_TRANSITIVE", False)]:
        subject = unique_subject(f"chain-{level}")
        q = quote(subject)
        registry.ok("PUT", f"/config/{q}", {"compatibility": "NONE"})
        registry.ok("POST", f"/subjects/{q}/versions", {"schema": v1})
        registry.ok("POST", f"/subjects/{q}/versions", {"schema": v2})
        registry.ok("PUT", f"/config/{q}", {"compatibility": level})
        all_check = registry.ok("POST", f"/compatibility/subjects/{q}/versions?verbose=true", {"schema": v3})
        assert all_check["is_compatible"] is ok, (level, all_check)
        status, resp, _ = registry.request("POST", f"/subjects/{q}/versions", {"schema": v3})
        if ok:
            assert status == 200, (level, resp)
        else:
            assert status == 409 and resp["error_code"] == 409, (level, resp)
            assert "READER_FIELD_MISSING_DEFAULT_VALUE" in resp["message"], resp["message"]
            if base != "FULL":
                # FULL reports its forward half without the old schema, as Confluent does.
                assert "{oldSchemaVersion: 1}" in resp["message"], resp["message"]
