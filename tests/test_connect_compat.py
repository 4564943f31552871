"""Acceptance 1 of issue 7: our SMTs, predicates and converters give the same
output as Apache Kafka's own (connect-transforms / connect-json / connect-api
4.3, from the jars `make deps` unpacks) on the shared case table
tests/connect/compat-cases.json.

Kafka's side is tests/java/connect/ConnectCompat.java; ours is the
`tributary-connect-compat` binary. Both print one result per case: the
outcome (error / dropped / record), the output topic, partition, timestamp,
key and value as JsonConverter envelopes, headers (envelope and
SimpleHeaderConverter text), and for converter cases the exact bytes.

Converter bytes are compared byte for byte. Transformed keys, values and
headers are compared as parsed JSON, because Kafka builds schemaless maps as
java.util.HashMap, whose iteration order is an accident of hashing.
When both fail, the error messages must match too (without Java's exception
class prefix), except for the few cases marked `"compare_message": false`
where the text comes from a different regex engine or JSON parser.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CACHE_DIR, REPO_ROOT

CASES = REPO_ROOT / "tests" / "connect" / "compat-cases.json"
JAVA_SRC = REPO_ROOT / "tests" / "java" / "connect"
CLASSES = CACHE_DIR / "java-connect-classes"
CLASSPATH_FILE = CACHE_DIR / "java-classpath.txt"
COMPAT_BIN = REPO_ROOT / "target" / "debug" / "tributary-connect-compat"


def _classpath() -> str:
    if not CLASSPATH_FILE.is_file():
        pytest.fail(f"{CLASSPATH_FILE} missing: run scripts/install-test-deps.sh (make deps)")
    return CLASSPATH_FILE.read_text().strip()


def _compile() -> Path:
    stamp = CLASSES / ".compiled"
    sources = sorted(JAVA_SRC.glob("*.java"))
    newest = max(p.stat().st_mtime for p in [*sources, CLASSPATH_FILE])
    if not stamp.exists() or stamp.stat().st_mtime < newest:
        if CLASSES.exists():
            shutil.rmtree(CLASSES)
        CLASSES.mkdir(parents=True)
        proc = subprocess.run(
            ["javac", "-nowarn", "-cp", _classpath(), "-d", str(CLASSES), *map(str, sources)],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, f"javac failed:\n{proc.stdout}\n{proc.stderr}"
        stamp.touch()
    return CLASSES


@pytest.fixture(scope="module")
def results() -> tuple[dict, dict]:
    classes = _compile()
    java = subprocess.run(
        [
            "java", "-Duser.timezone=UTC", "-cp", f"{classes}:{_classpath()}",
            "-Dslf4j.provider=org.apache.logging.slf4j.SLF4JServiceProvider",
            f"-Dlog4j2.configurationFile={REPO_ROOT / 'tests' / 'java' / 'log4j2.properties'}",
            "ConnectCompat", str(CASES),
        ],
        capture_output=True, text=True, timeout=300,
    )
    assert java.returncode == 0, f"ConnectCompat failed:\n{java.stderr[-5000:]}"
    if not COMPAT_BIN.is_file():
        pytest.fail(f"{COMPAT_BIN} missing: cargo build -p tributary-connect")
    ours = subprocess.run([str(COMPAT_BIN), str(CASES)], capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0, f"tributary-connect-compat failed:\n{ours.stderr[-5000:]}"
    by_name = lambda out: {r["name"]: r for r in json.loads(out)}  # noqa: E731
    return by_name(java.stdout), by_name(ours.stdout)


def _cases() -> list[dict]:
    return json.loads(CASES.read_text())


def _parsed(text):
    return None if text is None else json.loads(text)


def test_table_is_big_enough():
    cases = _cases()
    assert len(cases) >= 60
    assert len({c["name"] for c in cases}) == len(cases), "case names must be unique"
    transforms = {t["type"].rsplit(".", 1)[-1].split("$")[0] for c in cases for t in c.get("transforms", [])}
    for smt in ["InsertField", "ReplaceField", "MaskField", "ValueToKey", "ExtractField", "HoistField", "Cast",
                "TimestampConverter", "RegexRouter", "TimestampRouter", "Flatten", "SetSchemaMetadata", "Filter",
                "HeaderFrom", "InsertHeader", "DropHeaders"]:
        assert smt in transforms, f"no case for {smt}"
    predicates = {t["predicate"]["type"].rsplit(".", 1)[-1] for c in cases for t in c.get("transforms", []) if "predicate" in t}
    assert predicates == {"TopicNameMatches", "HasHeaderKey", "RecordIsTombstone"}


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["name"])
def test_same_as_apache_kafka(case, results):
    java, ours = results
    theirs, mine = java[case["name"]], ours[case["name"]]
    context = f"\nkafka: {json.dumps(theirs, indent=1)}\nours:  {json.dumps(mine, indent=1)}"
    assert mine["error"] == theirs["error"], "one side failed, the other did not" + context
    if theirs["error"]:
        assert mine["stage"] == theirs["stage"], "failed at a different stage (config vs apply)" + context
        if case.get("compare_message", True):
            their_msg = re.sub(r"^[\w.$]+(Exception|Error): ", "", theirs["message"])
            assert mine["message"] == their_msg, "error messages differ" + context
        return
    if case["kind"] == "converter":
        assert mine.get("bytes") == theirs.get("bytes"), "converter bytes differ" + context
        assert _parsed(mine.get("connect")) == _parsed(theirs.get("connect")), "converted data differs" + context
        return
    assert mine["dropped"] == theirs["dropped"], context
    if theirs["dropped"]:
        return
    for field in ("topic", "partition", "timestamp"):
        assert mine[field] == theirs[field], f"{field} differs" + context
    assert _parsed(mine["key"]) == _parsed(theirs["key"]), "key differs" + context
    assert _parsed(mine["value"]) == _parsed(theirs["value"]), "value differs" + context
    mh = [(h["key"], _parsed(h["json"]), h["simple"]) for h in mine["headers"]]
    th = [(h["key"], _parsed(h["json"]), h["simple"]) for h in theirs["headers"]]
    assert mh == th, "headers differ" + context
