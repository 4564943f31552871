"""Issue 6: the REST API of `tributary-registry` as Confluent clients see it:
content types, the subject/version/id lifecycle with soft and permanent
deletes, config and mode (with IMPORT preserving ids), contexts, references,
and (acceptance 5) malformed or invalid requests, each answered with
Confluent's HTTP status and `error_code`."""

from __future__ import annotations

import json

import pytest

from registry_helpers import V1_JSON, RegistryProcess, quote, unique_subject

pytestmark = pytest.mark.timeout(180)

AVRO_V1 = json.dumps({"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]})
AVRO_V2 = json.dumps({"type": "record", "name": "User", "fields": [
    {"name": "name", "type": "string"}, {"name": "age", "type": "int", "default": 0}]})
AVRO_BREAKING = json.dumps({"type": "record", "name": "User", "fields": [
    {"name": "name", "type": "string"}, {"name": "age", "type": "int"}]})


@pytest.fixture(scope="module")
def registry(_module_broker, tmp_path_factory):
    """One registry for the module; tests use subjects of their own, and the
    ones that change global config or mode put it back."""
    r = RegistryProcess(tmp_path_factory.mktemp("registry"), _module_broker.bootstrap)
    r.start()
    yield r
    r.stop()


def test_content_types(registry):
    status, body, ctype = registry.request("GET", "/schemas/types")
    assert status == 200 and ctype == V1_JSON
    assert sorted(body) == ["AVRO", "JSON", "PROTOBUF"]
    _, _, ctype = registry.request("GET", "/subjects", accept="application/json")
    assert ctype == "application/json"
    _, _, ctype = registry.request("GET", "/subjects", accept="application/vnd.schemaregistry+json")
    assert ctype == "application/vnd.schemaregistry+json"
    # Every body type Confluent consumes is accepted.
    for ct in (V1_JSON, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"):
        s = unique_subject("ct")
        status, body, _ = registry.request("POST", f"/subjects/{s}/versions", {"schema": AVRO_V1}, content_type=ct)
        assert status == 200 and isinstance(body["id"], int), (ct, body)
    assert registry.ok("GET", "/") == {}


def unique_schemas():
    """AVRO_V1/AVRO_V2 with a record name no other test uses, so ids are not
    shared with other tests' subjects."""
    name = unique_subject("User").replace("-", "_")
    return AVRO_V1.replace('"User"', f'"{name}"'), AVRO_V2.replace('"User"', f'"{name}"')


def test_subject_version_id_lifecycle(registry):
    s = unique_subject("life")
    q = quote(s)
    AVRO_V1, AVRO_V2 = unique_schemas()
    id1 = registry.register(s, AVRO_V1)
    assert registry.register(s, AVRO_V1) == id1, "same schema, same id"
    id2 = registry.register(s, AVRO_V2)
    assert id2 != id1
    assert registry.ok("GET", f"/subjects/{q}/versions") == [1, 2]
    latest = registry.ok("GET", f"/subjects/{q}/versions/latest")
    assert (latest["subject"], latest["version"], latest["id"]) == (s, 2, id2)
    assert "schemaType" not in latest, "Confluent omits schemaType for Avro"
    # The /schema endpoints return the schema text itself (here JSON).
    assert registry.ok("GET", f"/subjects/{q}/versions/2/schema") == json.loads(AVRO_V2)
    assert registry.ok("GET", f"/subjects/{q}/versions/-1")["version"] == 2
    assert json.loads(registry.ok("GET", f"/schemas/ids/{id1}")["schema"]) == json.loads(AVRO_V1)
    assert registry.ok("GET", f"/schemas/ids/{id1}/schema") == json.loads(AVRO_V1)
    assert registry.ok("GET", f"/schemas/ids/{id2}/subjects") == [s]
    assert registry.ok("GET", f"/schemas/ids/{id2}/versions") == [{"subject": s, "version": 2}]
    assert registry.ok("GET", f"/schemas/ids/{id2}?fetchMaxId=true")["maxId"] >= id2

    # The same schema under a second subject shares the id.
    other = unique_subject("life-other")
    assert registry.register(other, AVRO_V1) == id1
    assert sorted(registry.ok("GET", f"/schemas/ids/{id1}/subjects")) == sorted([s, other])

    # Lookup ignores layout.
    found = registry.ok("POST", f"/subjects/{q}", {"schema": json.dumps(json.loads(AVRO_V2), indent=2)})
    assert (found["version"], found["id"]) == (2, id2)

    # Soft-delete version 1: hidden unless deleted=true; the id stays readable.
    assert registry.ok("DELETE", f"/subjects/{q}/versions/1") == 1
    assert registry.ok("GET", f"/subjects/{q}/versions") == [2]
    assert registry.ok("GET", f"/subjects/{q}/versions?deleted=true") == [1, 2]
    assert registry.ok("GET", f"/subjects/{q}/versions/1?deleted=true")["id"] == id1
    assert registry.ok("GET", f"/schemas/ids/{id1}")["schema"]
    assert registry.ok("GET", f"/subjects/{q}/versions?deletedOnly=true") == [1]

    # Soft-delete the subject, then permanently.
    assert registry.ok("DELETE", f"/subjects/{q}") == [2]
    assert s not in registry.ok("GET", "/subjects")
    assert s in registry.ok("GET", "/subjects?deleted=true")
    assert s in registry.ok("GET", "/subjects?deletedOnly=true")
    assert registry.ok("DELETE", f"/subjects/{q}?permanent=true") == [1, 2]
    assert s not in registry.ok("GET", "/subjects?deleted=true")
    status, body, _ = registry.request("GET", f"/schemas/ids/{id2}")
    assert (status, body["error_code"]) == (404, 40403), "no version holds id2 any more"
    # id1 is still used by the other subject.
    assert registry.ok("GET", f"/schemas/ids/{id1}")["schema"]

    # Registering again after a permanent delete starts at version 1.
    registry.register(s, AVRO_V1)
    assert registry.ok("GET", f"/subjects/{q}/versions") == [1]


def test_reregistering_a_soft_deleted_schema_keeps_its_id(registry):
    s = unique_subject("rereg")
    q = quote(s)
    sid = registry.register(s, AVRO_V1)
    registry.ok("DELETE", f"/subjects/{q}")
    assert registry.register(s, AVRO_V1) == sid
    assert registry.ok("GET", f"/subjects/{q}/versions") == [2]


def test_config_levels(registry):
    s = unique_subject("cfg")
    q = quote(s)
    assert registry.ok("GET", "/config") == {"compatibilityLevel": "BACKWARD"}
    status, body, _ = registry.request("GET", f"/config/{q}")
    assert (status, body["error_code"]) == (404, 40408)
    assert registry.ok("GET", f"/config/{q}?defaultToGlobal=true") == {"compatibilityLevel": "BACKWARD"}
    assert registry.ok("PUT", f"/config/{q}", {"compatibility": "full"}) == {"compatibility": "FULL"}
    assert registry.ok("GET", f"/config/{q}")["compatibilityLevel"] == "FULL"

    registry.register(s, AVRO_V1)
    # FULL refuses what BACKWARD would too, and its message says FULL.
    status, body, _ = registry.request("POST", f"/subjects/{q}/versions", {"schema": AVRO_BREAKING})
    assert (status, body["error_code"]) == (409, 409)
    assert "compatibility: 'FULL'" in body["message"]

    assert registry.ok("DELETE", f"/config/{q}")["compatibilityLevel"] == "FULL"
    status, body, _ = registry.request("DELETE", f"/config/{q}")
    assert (status, body["error_code"]) == (404, 40401)

    # Global level round trip, restored afterwards.
    assert registry.ok("PUT", "/config", {"compatibility": "NONE"}) == {"compatibility": "NONE"}
    try:
        assert registry.ok("GET", "/config")["compatibilityLevel"] == "NONE"
        registry.register(s, AVRO_BREAKING)  # NONE lets it through
    finally:
        registry.ok("PUT", "/config", {"compatibility": "BACKWARD"})
    assert registry.ok("DELETE", "/config")["compatibilityLevel"] == "BACKWARD"
    assert registry.ok("GET", "/config") == {"compatibilityLevel": "BACKWARD"}


def test_modes_and_import_preserves_ids(registry):
    s = unique_subject("mode")
    q = quote(s)
    assert registry.ok("GET", "/mode") == {"mode": "READWRITE"}
    registry.register(s, AVRO_V1)
    assert registry.ok("PUT", f"/mode/{q}", {"mode": "READONLY"}) == {"mode": "READONLY"}
    status, body, _ = registry.request("POST", f"/subjects/{q}/versions", {"schema": AVRO_V2})
    assert (status, body["error_code"]) == (422, 42205)
    assert "read-only" in body["message"]
    assert registry.ok("DELETE", f"/mode/{q}") == {"mode": "READONLY"}
    registry.register(s, AVRO_V2)

    # IMPORT on a subject with schemas needs force; on a new one it does not.
    status, body, _ = registry.request("PUT", f"/mode/{q}", {"mode": "IMPORT"})
    assert (status, body["error_code"]) == (422, 42205)
    imp = unique_subject("import")
    iq = quote(imp)
    assert registry.ok("PUT", f"/mode/{iq}", {"mode": "IMPORT"}) == {"mode": "IMPORT"}
    assert registry.ok("GET", f"/mode/{iq}") == {"mode": "IMPORT"}
    # In IMPORT mode ids and versions come from the request and are kept.
    assert registry.ok("POST", f"/subjects/{iq}/versions", {"schema": AVRO_V1, "id": 424242, "version": 7})["id"] == 424242
    got = registry.ok("GET", f"/subjects/{iq}/versions/7")
    assert (got["id"], got["version"]) == (424242, 7)
    # Without an id, IMPORT refuses (only READWRITE assigns ids).
    status, body, _ = registry.request("POST", f"/subjects/{iq}/versions", {"schema": AVRO_V2})
    assert (status, body["error_code"]) == (422, 42205)
    # An id already used by another schema is refused.
    status, body, _ = registry.request("POST", f"/subjects/{iq}/versions", {"schema": AVRO_V2, "id": 424242, "version": 8})
    assert (status, body["error_code"]) == (422, 42207)
    registry.ok("PUT", f"/mode/{iq}", {"mode": "READWRITE"})
    # New ids continue above the imported one.
    fresh = registry.register(unique_subject("after-import"), json.dumps({"type": "enum", "name": "E", "symbols": ["X"]}))
    assert fresh > 424242


def test_contexts(registry):
    s = f":.staging:{unique_subject('ctx')}"
    sid = registry.register(s, AVRO_V1)
    assert ".staging" in registry.ok("GET", "/contexts")
    assert registry.ok("GET", "/contexts")[0] == "."
    assert s in registry.ok("GET", "/subjects")
    assert s in registry.ok("GET", f"/subjects?subjectPrefix={quote(':.staging:')}")
    assert registry.ok("GET", f"/subjects/{quote(s)}/versions/1")["id"] == sid
    # A context-level config applies to the context's subjects.
    registry.ok("PUT", f"/config/{quote(':.staging:')}", {"compatibility": "NONE"})
    registry.register(s, AVRO_BREAKING)
    assert registry.ok("GET", f"/config/{quote(s)}?defaultToGlobal=true")["compatibilityLevel"] == "NONE"


def test_references_and_referenced_by(registry):
    addr_subject = unique_subject("address")
    address = json.dumps({"type": "record", "name": "Address", "namespace": "acme",
                          "fields": [{"name": "city", "type": "string"}]})
    registry.register(addr_subject, address)
    person = json.dumps({"type": "record", "name": "Person", "namespace": "acme",
                         "fields": [{"name": "home", "type": "acme.Address"}]})
    ref = [{"name": "acme.Address", "subject": addr_subject, "version": 1}]
    pid = registry.register(unique_subject("person"), person, references=ref)
    got = registry.ok("GET", f"/schemas/ids/{pid}")
    assert got["references"] == ref
    assert registry.ok("GET", f"/subjects/{quote(addr_subject)}/versions/1/referencedby") == [pid]
    # A referenced version cannot be deleted.
    status, body, _ = registry.request("DELETE", f"/subjects/{quote(addr_subject)}/versions/1")
    assert (status, body["error_code"]) == (422, 42206)
    # Without the reference the type is unknown.
    status, body, _ = registry.request("POST", f"/subjects/{unique_subject('p2')}/versions", {"schema": person})
    assert (status, body["error_code"]) == (422, 42201)


def test_compatibility_endpoint_answers(registry):
    s = unique_subject("check")
    q = quote(s)
    # No versions yet: anything is compatible with "latest".
    assert registry.ok("POST", f"/compatibility/subjects/{q}/versions/latest", {"schema": AVRO_V1}) == {"is_compatible": True}
    registry.register(s, AVRO_V1)
    assert registry.ok("POST", f"/compatibility/subjects/{q}/versions/1", {"schema": AVRO_V2}) == {"is_compatible": True}
    verbose = registry.ok("POST", f"/compatibility/subjects/{q}/versions?verbose=true", {"schema": AVRO_BREAKING})
    assert verbose["is_compatible"] is False
    assert any("READER_FIELD_MISSING_DEFAULT_VALUE" in m for m in verbose["messages"])
    # An invalid schema with verbose: a 200 saying why.
    verbose = registry.ok("POST", f"/compatibility/subjects/{q}/versions/latest?verbose=true", {"schema": "nope"})
    assert verbose["is_compatible"] is False and verbose["messages"]


# --- acceptance 5: malformed and invalid requests ------------------------------

BAD_REQUESTS = [
    # (id, method, path, body, raw, content type, status, error_code)
    ("unparseable JSON body", "POST", "/subjects/{s}/versions", None, b'{"schema": ', V1_JSON, 400, 400),
    ("body is a JSON array", "POST", "/subjects/{s}/versions", [1, 2], None, V1_JSON, 400, 400),
    ("schema field is an object", "POST", "/subjects/{s}/versions", {"schema": {"type": "string"}}, None, V1_JSON, 400, 400),
    ("empty body", "POST", "/subjects/{s}/versions", None, b"", V1_JSON, 422, 422),
    ("text/plain body", "POST", "/subjects/{s}/versions", None, b'{"schema":"\\"int\\""}', "text/plain", 415, 415),
    ("invalid Avro", "POST", "/subjects/{s}/versions", {"schema": "{\"type\":\"record\",\"name\":\"R\"}"}, None, V1_JSON, 422, 42201),
    ("not JSON at all as Avro", "POST", "/subjects/{s}/versions", {"schema": "hello"}, None, V1_JSON, 422, 42201),
    ("invalid JSON Schema", "POST", "/subjects/{s}/versions", {"schema": "{\"type\": 12}", "schemaType": "JSON"}, None, V1_JSON, 422, 42201),
    ("invalid Protobuf", "POST", "/subjects/{s}/versions", {"schema": "message {", "schemaType": "PROTOBUF"}, None, V1_JSON, 422, 42201),
    ("unknown schema type", "POST", "/subjects/{s}/versions", {"schema": "\"int\"", "schemaType": "XML"}, None, V1_JSON, 422, 42201),
    ("reference to a missing subject", "POST", "/subjects/{s}/versions",
     {"schema": "\"int\"", "references": [{"name": "x", "subject": "no-such-subject", "version": 1}]}, None, V1_JSON, 422, 42201),
    ("incompatible schema", "POST", "/subjects/{s}/versions", {"schema": AVRO_BREAKING}, None, V1_JSON, 409, 409),
    ("unknown subject", "GET", "/subjects/no-such-subject/versions", None, None, None, 404, 40401),
    ("unknown subject version", "GET", "/subjects/no-such-subject/versions/1", None, None, None, 404, 40401),
    ("unknown version", "GET", "/subjects/{s}/versions/99", None, None, None, 404, 40402),
    ("version zero", "GET", "/subjects/{s}/versions/0", None, None, None, 422, 42202),
    ("version not a number", "GET", "/subjects/{s}/versions/first", None, None, None, 422, 42202),
    ("version -2", "DELETE", "/subjects/{s}/versions/-2", None, None, None, 422, 42202),
    ("unknown schema id", "GET", "/schemas/ids/987654321", None, None, None, 404, 40403),
    ("schema id not a number", "GET", "/schemas/ids/abc", None, None, None, 404, 404),
    ("lookup of an unregistered schema", "POST", "/subjects/{s}", {"schema": "\"long\""}, None, V1_JSON, 404, 40403),
    ("lookup under an unknown subject", "POST", "/subjects/no-such-subject", {"schema": AVRO_V1}, None, V1_JSON, 404, 40401),
    ("bad global compatibility", "PUT", "/config", {"compatibility": "SIDEWAYS"}, None, V1_JSON, 422, 42203),
    ("bad subject compatibility", "PUT", "/config/{s}", {"compatibility": "backwards"}, None, V1_JSON, 422, 42203),
    ("subject without its own config", "GET", "/config/{s}", None, None, None, 404, 40408),
    ("bad mode", "PUT", "/mode", {"mode": "WRITEONLY"}, None, V1_JSON, 422, 42204),
    ("mode body without mode", "PUT", "/mode/{s}", {"mood": "IMPORT"}, None, V1_JSON, 422, 42204),
    ("subject without its own mode", "GET", "/mode/{s}", None, None, None, 404, 40409),
    ("permanent delete before soft delete", "DELETE", "/subjects/{s}?permanent=true", None, None, None, 404, 40405),
    ("permanent version delete before soft delete", "DELETE", "/subjects/{s}/versions/1?permanent=true", None, None, None, 404, 40407),
    ("delete unknown subject", "DELETE", "/subjects/no-such-subject", None, None, None, 404, 40401),
    ("soft delete a soft-deleted subject", "DELETE", "/subjects/{deleted}", None, None, None, 404, 40404),
    ("soft delete a soft-deleted version", "DELETE", "/subjects/{deleted}/versions/1", None, None, None, 404, 40406),
    ("compatibility against an unknown version", "POST", "/compatibility/subjects/{s}/versions/42", {"schema": AVRO_V1}, None, V1_JSON, 404, 40402),
    ("unknown path", "GET", "/no/such/path", None, None, None, 404, 404),
    ("wrong method", "PATCH", "/config", {"compatibility": "FULL"}, None, V1_JSON, 405, 405),
    ("invalid subject name", "POST", "/subjects/bad%01name/versions", {"schema": AVRO_V1}, None, V1_JSON, 422, 42208),
    ("Accept nothing we serve", "GET", "/subjects", None, None, None, 406, 406),
]


@pytest.fixture(scope="module")
def bad_request_subjects(registry):
    s = unique_subject("bad")
    registry.register(s, AVRO_V1)
    deleted = unique_subject("deleted")
    registry.register(deleted, AVRO_V1)
    registry.ok("DELETE", f"/subjects/{quote(deleted)}")
    return {"s": quote(s), "deleted": quote(deleted)}


@pytest.mark.parametrize(
    "method,path,body,raw,ctype,status,code",
    [c[1:] for c in BAD_REQUESTS],
    ids=[c[0] for c in BAD_REQUESTS],
)
def test_malformed_and_invalid_requests(registry, bad_request_subjects, method, path, body, raw, ctype, status, code):
    path = path.format(**bad_request_subjects)
    accept = "text/html" if status == 406 else None
    got_status, got, got_ctype = registry.request(method, path, body, raw=raw, content_type=ctype, accept=accept)
    assert got_status == status, (got_status, got)
    assert isinstance(got, dict) and got.get("error_code") == code, got
    assert isinstance(got.get("message"), str) and got["message"], got
    assert got_ctype == V1_JSON


def test_at_least_fifteen_kinds_of_bad_request():
    assert len({c[-1] for c in BAD_REQUESTS}) >= 15
