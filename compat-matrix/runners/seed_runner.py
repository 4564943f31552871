"""Runs the users' seed programs (../shared/seed-examples/clients/) unchanged.

    python seed_runner.py go|java-avro BOOTSTRAP PREFIX

The programs hard-code `localhost:9092` (and the Avro snippet
`http://schema-registry:8081`), so the matrix's ephemeral broker is no use to
them. Instead this runner re-executes itself in a private network and mount
namespace (`unshare --net --mount`, root only): there it brings up loopback,
starts a broker of its own on 127.0.0.1:9092 (and the schema registry on
:8081), bind-mounts an /etc/hosts that maps `schema-registry` to 127.0.0.1,
and runs the programs exactly as written. Nothing on the host's port 9092 is
touched. Without namespaces it falls back to the host's port 9092 if free.

`go`: go-producer.go sends "Hello world" to test_topic; go-consumer.go (a
group consumer that loops forever) must print it; it is stopped after that.
`java-avro`: JavaAvroProducerSnippet.java, spliced verbatim into the smallest
main (runners/seed/AvroSnippetMain.java.in), sends one LogLine through
KafkaAvroSerializer and reads it back through KafkaAvroDeserializer.

The binaries are built by the driver (matrix.py) into $COMPAT_BUILD_DIR.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

WHICH = sys.argv[1]
HERE = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("COMPAT_BUILD_DIR", HERE.parent.parent / ".cache" / "compat-matrix"))
LOG_DIR = Path(os.environ.get("MATRIX_LOG_DIR", tempfile.gettempdir()))
BROKER_BIN = os.environ.get("TRIBUTARY_BROKER_BIN", str(HERE.parent.parent / "target" / "debug" / "tributary-broker"))
REGISTRY_BIN = os.environ.get("TRIBUTARY_REGISTRY_BIN", str(HERE.parent.parent / "target" / "debug" / "tributary-registry"))
CLIENT = {"go": "seed-go", "java-avro": "seed-java-avro"}[WHICH]


def _version() -> str:
    """What the programs were built with: the Debian package, or the jars on the classpath."""
    import re

    if WHICH == "go":
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "golang-github-confluentinc-confluent-kafka-go-dev"],
                           capture_output=True, text=True).stdout.strip() or "?"
        lib = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "librdkafka1"],
                             capture_output=True, text=True).stdout.strip() or "?"
        return f"confluent-kafka-go {v} (Debian), librdkafka {lib}"
    try:
        cp = (BUILD / "seed-java" / "classpath.txt").read_text()
    except OSError:
        return "?"
    found = [re.search(rf"/{name}-([0-9][^/:]*)\.jar", cp) for name in ("kafka-clients", "kafka-avro-serializer")]
    return " + ".join(f"{n} {m.group(1)}" for n, m in zip(("kafka-clients", "kafka-avro-serializer"), found) if m) or "?"


VERSION = _version()


def emit(scenario: str, status: str, reason: str = "", output: list[str] | None = None) -> None:
    line = {"client": CLIENT, "version": VERSION, "scenario": scenario, "status": status, "reason": reason}
    if output is not None:
        line["output"] = output
    print("MATRIX " + json.dumps(line), flush=True)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def loopback_up() -> None:
    """`ip link set lo up` without needing iproute2 (SIOCGIFFLAGS / SIOCSIFFLAGS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifr))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1))


def map_schema_registry_host(tmp: Path) -> None:
    """Private /etc/hosts (this mount namespace only) with `schema-registry`."""
    hosts = tmp / "hosts"
    hosts.write_text(Path("/etc/hosts").read_text() + "\n127.0.0.1 schema-registry\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} not listening on {port} after {timeout:.0f}s")


def start_broker(tmp: Path) -> subprocess.Popen:
    log = open(LOG_DIR / f"{CLIENT}-broker.txt", "wb")
    cmd = [BROKER_BIN,
           "--override", "listeners=PLAINTEXT://127.0.0.1:9092",
           "--override", "advertised.listeners=PLAINTEXT://localhost:9092",
           "--override", f"log.dirs={tmp / 'data'}"]
    print("$", " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    wait_port(9092, p, "broker")
    return p


def start_registry(tmp: Path) -> subprocess.Popen:
    settings = {"listeners": "http://127.0.0.1:8081", "kafkastore.bootstrap.servers": "localhost:9092"}
    help_text = subprocess.run([REGISTRY_BIN, "--help"], capture_output=True, text=True, timeout=10)
    if "--override" in help_text.stdout + help_text.stderr:
        cmd = [REGISTRY_BIN] + [a for k, v in settings.items() for a in ("--override", f"{k}={v}")]
    else:  # Confluent's convention: schema-registry-start <properties file>
        props = tmp / "schema-registry.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        cmd = [REGISTRY_BIN, str(props)]
    log = open(LOG_DIR / f"{CLIENT}-registry.txt", "wb")
    print("$", " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
    wait_port(8081, p, "schema registry")
    return p


def stop(p: subprocess.Popen | None) -> None:
    if p is not None and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stored_messages(topic: str) -> int:
    """How many records the broker holds in partition 0 of `topic` (0 if none)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    c = Consumer({"bootstrap.servers": "localhost:9092", "group.id": "seed-check"})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=5)
        return hi - lo
    except KafkaException:
        return 0
    finally:
        c.close()


# go-producer.go calls Produce() and then Close() without Flush(), so whether
# its message leaves before librdkafka shuts down is a race ("Producer
# terminating with 1 message (11 bytes) still in queue or transit: use flush()"),
# against any broker. The program is run unchanged, up to this many times,
# until its message is stored; the cell's note says how many runs it took.
PRODUCER_ATTEMPTS = 10


def run_go() -> None:
    producer = BUILD / "bin" / "seed-go-producer"
    consumer = BUILD / "bin" / "seed-go-consumer"
    attempts = 0
    prod = None
    while attempts < PRODUCER_ATTEMPTS:
        attempts += 1
        print(f"$ {producer}   # run {attempts}", flush=True)
        prod = subprocess.run([str(producer)], capture_output=True, text=True, timeout=60)
        print(prod.stdout + prod.stderr, flush=True)
        if prod.returncode != 0 or stored_messages("test_topic") > 0:
            break
    delivered = prod.returncode == 0 and stored_messages("test_topic") > 0
    note = (f"the program does not Flush() before Close(); its message was stored on run {attempts}"
            if attempts > 1 and delivered else "")
    # The consumer loops forever; stop it once it printed the message (or after 45 s).
    print(f"$ {consumer}", flush=True)
    cons = subprocess.Popen([str(consumer)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    got = threading.Event()

    def pump():
        for line in cons.stdout:
            print(f"[go-consumer] {line.rstrip()}", flush=True)
            lines.append(line.rstrip())
            if "Hello world" in line:
                got.set()
    threading.Thread(target=pump, daemon=True).start()
    got.wait(45)
    cons.send_signal(signal.SIGTERM)
    try:
        cons.wait(10)
    except subprocess.TimeoutExpired:
        cons.kill()
        cons.wait()
    printed = [line for line in lines if "received" in line]
    expected = "✅ Message 'Hello world' received from topic 'test_topic'"
    if prod.returncode != 0:
        emit("produce-none", "fail", f"go-producer exited {prod.returncode}: {prod.stderr.strip()[-300:]}")
    elif not delivered:
        emit("produce-none", "fail", f"go-producer's message was not stored in {attempts} runs "
             f"(it does not Flush() before Close()): {prod.stderr.strip()[-200:]}", printed)
    elif expected in lines:
        emit("produce-none", "pass", note, printed)
    else:
        emit("produce-none", "fail", "go-consumer never printed the producer's 'Hello world'", printed)
    if expected in lines:
        emit("group", "pass", "", printed)
    else:
        emit("group", "fail", f"go-consumer printed {lines[-5:]!r} in 45 s, not {expected!r}", printed)


def run_java_avro(tmp: Path) -> None:
    # "schema registry not available" is what the driver reads as "depends on issue 6".
    if not Path(REGISTRY_BIN).exists():
        emit("avro-registry", "fail", f"schema registry not available: {REGISTRY_BIN} is not built")
        return
    try:
        reg = start_registry(tmp)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        emit("avro-registry", "fail", f"schema registry not available: {e}")
        return
    try:
        cp = (BUILD / "seed-java" / "classpath.txt").read_text().strip()
        cmd = ["java", "-Dslf4j.provider=org.apache.logging.slf4j.SLF4JServiceProvider",
               f"-Dlog4j2.configurationFile={HERE.parent.parent / 'tests' / 'java' / 'log4j2.properties'}",
               "-cp", cp, "AvroSnippetMain"]
        print("$ java ... AvroSnippetMain", flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        print(p.stdout + p.stderr, flush=True)
        printed = [line for line in p.stdout.splitlines() if line.startswith(("sent", "received"))]
        if p.returncode == 0 and any(line.startswith("received") for line in printed):
            emit("avro-registry", "pass", "", printed)
        else:
            tail = (p.stderr.strip() or p.stdout.strip())[-400:]
            emit("avro-registry", "fail", f"AvroSnippetMain exited {p.returncode}: {tail}", printed)
    finally:
        stop(reg)


def inside() -> None:
    with tempfile.TemporaryDirectory(prefix="seed-") as d:
        tmp = Path(d)
        broker = None
        try:
            if os.environ.get("SEED_NETNS") == "1":
                loopback_up()
                map_schema_registry_host(tmp)
            broker = start_broker(tmp)
            if WHICH == "go":
                run_go()
            else:
                run_java_avro(tmp)
        finally:
            stop(broker)


def main() -> None:
    if os.environ.get("SEED_NETNS") == "1" or os.environ.get("SEED_HOST") == "1":
        inside()
        return
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True, text=True) \
        if shutil.which("unshare") else None
    if probe is not None and probe.returncode == 0:
        print("[seed] running in a private network namespace with its own broker on localhost:9092", flush=True)
        env = {**os.environ, "SEED_NETNS": "1"}
        cmd = ["unshare", "--net", "--mount", sys.executable, __file__, *sys.argv[1:]]
    elif port_free(9092) and (WHICH == "go" or port_free(8081)):
        why = probe.stderr.strip() if probe is not None else "no unshare"
        print(f"[seed] no network namespace ({why}); using the host's free port 9092", flush=True)
        env = {**os.environ, "SEED_HOST": "1"}
        cmd = [sys.executable, __file__, *sys.argv[1:]]
    else:
        reason = "needs localhost:9092, which is taken, and no network namespace could be made (run as root)"
        for s in (["produce-none", "group"] if WHICH == "go" else ["avro-registry"]):
            emit(s, "fail", reason)
        return
    sys.exit(subprocess.run(cmd, env=env).returncode)


main()
