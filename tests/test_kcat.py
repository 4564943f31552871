"""kcat against the broker, on two librdkafka versions.

Debian's kcat is built on librdkafka 2.0.2: an old client that users still
have (it rejects ApiVersions responses that carry default-valued tagged
fields). The same kcat binary is also run on the current librdkafka that the
confluent-kafka wheel ships, via LD_LIBRARY_PATH. All librdkafka defaults stay
on (api.version.request=true and so on).
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from conftest import CACHE_DIR, unique_topic
from kafka_helpers import create_topic

KCAT = "/usr/bin/kcat"
CURRENT_LIBDIR = CACHE_DIR / "librdkafka-current"

pytestmark = pytest.mark.timeout(120)


def kcat_env(flavour: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    if flavour == "current":
        env["LD_LIBRARY_PATH"] = str(CURRENT_LIBDIR)
    return env


def kcat(flavour: str, *args: str, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [KCAT, *args],
        input=input,
        capture_output=True,
        text=True,
        env=kcat_env(flavour),
        timeout=timeout,
    )
    return proc


def check(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (
        f"kcat {proc.args[1:]} exited {proc.returncode}\n--- stdout ---\n{proc.stdout}\n"
        f"--- stderr ---\n{proc.stderr}"
    )
    return proc.stdout


def librdkafka_version(flavour: str) -> str:
    out = kcat(flavour, "-V")
    text = out.stdout + out.stderr
    m = re.search(r"librdkafka (\d+\.\d+\.\d+)", text)
    assert m, f"no librdkafka version in `kcat -V` output:\n{text}"
    return m.group(1)


FLAVOURS = ["debian", "current"]


def test_librdkafka_override_takes_effect():
    """The 'current' runs really use another librdkafka than Debian's."""
    import confluent_kafka

    debian = librdkafka_version("debian")
    current = librdkafka_version("current")
    assert debian.startswith("2.0."), f"Debian's kcat should be on librdkafka 2.0.x, is {debian}"
    assert current != debian, f"LD_LIBRARY_PATH={CURRENT_LIBDIR} did not change librdkafka ({current})"
    assert current == confluent_kafka.libversion()[0]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_metadata_lists_broker_and_topic(broker, flavour):
    topic = unique_topic(f"kcat-md-{flavour}")
    create_topic(broker.bootstrap, topic, partitions=3)

    # Human-readable listing, as a user would type it.
    text = check(kcat(flavour, "-b", broker.bootstrap, "-L"))
    assert re.search(rf"broker \d+ at {re.escape(broker.bootstrap)}", text), text
    assert f'topic "{topic}" with 3 partitions' in text, text

    # The same as JSON, to check the details.
    md = json.loads(check(kcat(flavour, "-b", broker.bootstrap, "-L", "-J")))
    assert [b["name"] for b in md["brokers"]] == [broker.bootstrap], md
    broker_id = md["brokers"][0]["id"]
    topics = {t["topic"]: t for t in md["topics"]}
    assert topic in topics, md
    t = topics[topic]
    assert "error" not in t, t
    parts = sorted(t["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1, 2], t
    for p in parts:
        assert p["leader"] == broker_id, p
        assert [r["id"] for r in p["replicas"]] == [broker_id], p
        assert [r["id"] for r in p["isrs"]] == [broker_id], p


LINES = [
    "first line",
    "second line with  spaces ",
    "unicodé ✓ ünïcode",
    "x" * 5000,
    "{\"json\": [1, 2, 3]}",
] + [f"line {i}" for i in range(100)]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_produce_then_consume_lines(broker, flavour):
    topic = unique_topic(f"kcat-lines-{flavour}")
    create_topic(broker.bootstrap, topic, partitions=1)

    check(kcat(flavour, "-b", broker.bootstrap, "-P", "-t", topic, input="\n".join(LINES) + "\n"))

    out = check(kcat(flavour, "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q"))
    assert out.splitlines() == LINES


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_produce_then_consume_keyed(broker, flavour):
    topic = unique_topic(f"kcat-keys-{flavour}")
    create_topic(broker.bootstrap, topic, partitions=1)
    lines = [f"key-{i % 7}:value {i}" for i in range(50)]

    check(kcat(flavour, "-b", broker.bootstrap, "-P", "-t", topic, "-K:", input="\n".join(lines) + "\n"))

    # Read back keys and values together, and with offsets and partitions to
    # check they are dense and in order.
    out = check(kcat(flavour, "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q", "-K:"))
    assert out.splitlines() == lines
    out = check(kcat(flavour, "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q",
                     "-f", r"%p %o %k=%s\n"))
    expected = [f"0 {i} {line.replace(':', '=', 1)}" for i, line in enumerate(lines)]
    assert out.splitlines() == expected

    # From a given offset.
    out = check(kcat(flavour, "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "45", "-q", "-K:"))
    assert out.splitlines() == lines[45:]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_produce_auto_creates_topic(broker, flavour):
    """auto.create.topics.enable defaults to true, and kcat users rely on it."""
    topic = unique_topic(f"kcat-auto-{flavour}")
    check(kcat(flavour, "-b", broker.bootstrap, "-P", "-t", topic, input="a\nb\nc\n"))
    md = json.loads(check(kcat(flavour, "-b", broker.bootstrap, "-L", "-J", "-t", topic)))
    (t,) = [t for t in md["topics"] if t["topic"] == topic]
    assert len(t["partitions"]) == 1, t  # the harness sets num.partitions=1
    out = check(kcat(flavour, "-b", broker.bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", "-q"))
    assert out.splitlines() == ["a", "b", "c"]
