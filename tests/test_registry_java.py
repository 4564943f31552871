"""Issue 6, acceptance 2: the Java producer configuration from the talks
(KafkaProducer with Confluent's KafkaAvroSerializer 7.0, `schema.registry.url`
pointing at us) and KafkaAvroDeserializer 7.0 round-trip records through our
broker and registry. tests/java/RegistryAvroRoundTrip.java checks everything
itself and prints "OK"; here we also check what it left in the registry."""

from __future__ import annotations

import pytest

from conftest import unique_topic
from kafka_helpers import create_topic
from test_java_client import java_classes, run_java  # noqa: F401  (java_classes is a fixture)


@pytest.mark.timeout(300)
def test_java_kafka_avro_serializer_7_0(broker, registry, java_classes):  # noqa: F811
    topic = unique_topic("java-avro")
    create_topic(broker.bootstrap, topic)
    proc = run_java(java_classes, "RegistryAvroRoundTrip", broker.bootstrap, registry.url, topic)
    output = f"--- stdout ---\n{proc.stdout}\n--- stderr (tail) ---\n{proc.stderr[-20000:]}"
    assert proc.returncode == 0, f"RegistryAvroRoundTrip exited {proc.returncode}\n{output}"
    assert proc.stdout.strip().splitlines()[-1] == "OK", output

    subject = f"{topic}-value"
    assert registry.ok("GET", f"/subjects/{subject}/versions") == [1, 2]
    v2 = registry.ok("GET", f"/subjects/{subject}/versions/2")
    assert "useragent" in v2["schema"]
    assert registry.ok("GET", f"/config/{subject}?defaultToGlobal=true")["compatibilityLevel"] == "BACKWARD"
