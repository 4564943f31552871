#!/usr/bin/env python3
"""The compatibility-matrix driver: every client runner against a real broker.

    python compat-matrix/matrix.py [--out compat-matrix/MATRIX.md] [--logs DIR]
                                   [--only CLIENT,...] [--jobs N] [--check]

It builds what the runners need (cargo, javac, go build; all cached), starts
`target/debug/tributary-broker` on an ephemeral port with its own data
directory, asks it which APIs it serves (ApiVersions), runs every runner (a
few at a time; each uses its own topic and group names), and writes the
matrix: clients as rows, scenarios as columns, one cell per runner result,
plus `results.json` and one log per runner in the log directory.

A runner prints one `MATRIX {json}` line per scenario (see runners/common.py
and README.md). A scenario it never reported (crash, timeout) is a failure.

A failed cell whose scenario needs broker APIs the broker does not advertise
yet becomes "unsupported: depends on issue N (...)", with the client's error
kept in the notes; once the broker advertises those APIs, the same failure is
a failure. With --check the exit status is 1 when any cell failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = ROOT / ".cache"
BUILD = CACHE / "compat-matrix"
RUNNERS = HERE / "runners"
VENV_PY = CACHE / "venv" / "bin" / "python"


def find_seed_dir() -> Path:
    """`SEED_EXAMPLES_DIR`, else `../shared/seed-examples/clients` beside this
    checkout, else beside the local checkout it was cloned from (a CI clone
    into a scratch directory still runs the users' programs)."""
    if os.environ.get("SEED_EXAMPLES_DIR"):
        return Path(os.environ["SEED_EXAMPLES_DIR"])
    rel = Path("shared") / "seed-examples" / "clients"
    candidates = [ROOT.parent / rel]
    origin = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True).stdout.strip()
    if origin and Path(origin).is_dir():
        candidates.append(Path(origin).resolve().parent / rel)
    return next((c for c in candidates if c.is_dir()), candidates[0])


SEED_DIR = find_seed_dir()
GOPATH = f"{BUILD / 'gopath'}:/usr/share/gocode"
REGISTRY_BIN = Path(os.environ.get("TRIBUTARY_REGISTRY_BIN", ROOT / "target" / "debug" / "tributary-registry"))

sys.path.insert(0, str(RUNNERS))
from common import SCENARIOS as BASE_SCENARIOS  # noqa: E402

# Column order of the matrix. `avro-registry` (a round trip through the
# Confluent Avro serializer and the schema registry) is done only by the runners
# that list it: Java, confluent-kafka-python and the Avro seed snippet.
SCENARIOS = BASE_SCENARIOS + ["avro-registry"]

TITLES = {
    "metadata": "metadata",
    "produce-none": "produce none",
    "produce-gzip": "produce gzip",
    "produce-snappy": "produce snappy",
    "produce-lz4": "produce lz4",
    "produce-zstd": "produce zstd",
    "fetch": "fetch",
    "group": "group join/commit",
    "rebalance": "group rebalance",
    "idempotent": "idempotent producer",
    "transactions": "transactions",
    "admin-topics": "admin topics",
    "admin-partitions": "admin partitions",
    "admin-configs": "admin configs",
    "admin-groups": "admin groups",
    "offsets": "list offsets",
    "delete-records": "delete records",
    "avro-registry": "Avro + schema registry",
}

# Scenario -> (issue, the broker APIs it needs). A failure while the broker
# does not advertise all of them is "unsupported: depends on issue ...".
GROUP_APIS = ["FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetCommit", "OffsetFetch"]
DEPENDS: dict[str, tuple[str, list[str]]] = {
    "group": ("issue 3 (consumer groups)", GROUP_APIS),
    "rebalance": ("issue 3 (consumer groups)", GROUP_APIS),
    "admin-groups": ("issue 3 (consumer groups)", GROUP_APIS + ["ListGroups", "DescribeGroups"]),
    "transactions": ("issue 4 (transactions)", ["FindCoordinator", "AddPartitionsToTxn", "EndTxn"]),
}
# Scenarios that need the schema registry binary (issue 6) next to the broker.
REGISTRY_SCENARIOS = {"avro-registry"}

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
    10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics",
    20: "DeleteTopics", 21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn", 28: "TxnOffsetCommit",
    29: "DescribeAcls", 32: "DescribeConfigs", 33: "AlterConfigs", 36: "SaslAuthenticate",
    37: "CreatePartitions", 42: "DeleteGroups", 44: "IncrementalAlterConfigs",
    47: "OffsetDelete", 60: "DescribeCluster", 68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe",
    75: "DescribeTopicPartitions",
}

RUNNER_TIMEOUT_S = int(os.environ.get("MATRIX_RUNNER_TIMEOUT_S", "240"))


# --- the clients -------------------------------------------------------------


class PrepareError(Exception):
    pass


def run_quiet(cmd: list[str], log, **kw) -> None:
    log.write(f"$ {' '.join(map(str, cmd))}\n")
    log.flush()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, **kw)
    if proc.returncode != 0:
        raise PrepareError(f"`{' '.join(map(str, cmd[:3]))} ...` exited {proc.returncode}")


def newer(target: Path, *sources: Path) -> bool:
    """True when target exists and is newer than every source."""
    if not target.exists():
        return False
    t = target.stat().st_mtime
    return all(s.stat().st_mtime <= t for s in sources)


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOPATH=GOPATH, GO111MODULE="off", GOPROXY="off", GOFLAGS="", GOCACHE=str(BUILD / "go-cache"))
    return env


def go_shims() -> None:
    """GOPATH shims, so that programs importing the names their authors used
    build against Debian's packages without editing them:
    gopkg.in/confluentinc/confluent-kafka-go.v1 -> Debian's confluent-kafka-go 0.11.6."""
    link = BUILD / "gopath" / "src" / "gopkg.in" / "confluentinc" / "confluent-kafka-go.v1"
    link.parent.mkdir(parents=True, exist_ok=True)
    target = Path("/usr/share/gocode/src/github.com/confluentinc/confluent-kafka-go")
    if not target.is_dir():
        raise PrepareError("Debian's golang-github-confluentinc-confluent-kafka-go-dev is not installed (make deps)")
    if not link.is_symlink():
        link.symlink_to(target)


def go_build(src: Path, out: Path, log) -> Path:
    if shutil.which("go") is None:
        raise PrepareError("go is not installed (make deps installs golang-go)")
    go_shims()
    if not newer(out, src):
        out.parent.mkdir(parents=True, exist_ok=True)
        run_quiet(["go", "build", "-o", str(out), str(src.name)], log, cwd=src.parent, env=go_env())
    return out


def java_classpath() -> str:
    """The jars of scripts/install-test-deps.sh, less lz4-1.3.0.jar: Debezium's
    dependencies carry that old net.jpountz build beside kafka-clients' own
    lz4-java 1.10, sorted first, and kafka-clients then fails every lz4 batch
    it reads ("buggy lz4-java library (< 1.4.x)"). An application built with
    kafka-clients alone has only lz4-java."""
    cp = CACHE / "java-classpath.txt"
    if not cp.exists():
        raise PrepareError(f"{cp} missing (make deps)")
    return ":".join(j for j in cp.read_text().strip().split(":") if not j.endswith("/lz4-1.3.0.jar"))


def javac(srcs: list[Path], out: Path, log, extra_cp: str = "") -> Path:
    stamp = out / ".stamp"
    if not newer(stamp, *srcs):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        cp = java_classpath() + (":" + extra_cp if extra_cp else "")
        run_quiet(["javac", "-nowarn", "-d", str(out), "-cp", cp, *map(str, srcs)], log)
        stamp.touch()
    return out


def py(script: str, *extra: str) -> list[str]:
    if not VENV_PY.exists():
        raise PrepareError(f"{VENV_PY} missing (make deps)")
    return [str(VENV_PY), str(RUNNERS / script), *extra]


@dataclass
class Client:
    id: str
    label: str
    prepare: object  # (log) -> (argv prefix, env extras)
    scenarios: list[str] = field(default_factory=lambda: list(BASE_SCENARIOS))
    weight: int = 1  # for ordering: heavy runners start first


def prep_rdkafka(log):
    exe = ROOT / "target" / "debug" / "compat-rdkafka"
    run_quiet(["cargo", "build", "-q", "-p", "compat-rdkafka"], log, cwd=ROOT)
    return [str(exe)], {}


def prep_kcat(flavour):
    def prep(log):
        if not Path("/usr/bin/kcat").exists():
            raise PrepareError("kcat is not installed (make deps)")
        env = {}
        if flavour == "current":
            libdir = CACHE / "librdkafka-current"
            if not (libdir / "librdkafka.so.1").exists():
                raise PrepareError(f"{libdir}/librdkafka.so.1 missing (make deps)")
            env["LD_LIBRARY_PATH"] = str(libdir)
        return py("kcat_runner.py", flavour), env
    return prep


def prep_java(log):
    src = RUNNERS / "java" / "CompatRunner.java"
    out = javac([src], BUILD / "java-runner", log)
    log4j = ROOT / "tests" / "java" / "log4j2.properties"
    cmd = ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
           "-Dslf4j.provider=org.apache.logging.slf4j.SLF4JServiceProvider",
           f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{out}:{java_classpath()}", "CompatRunner"]
    return cmd, {}


def deb_version(pkg: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.stdout.strip() or "?"


GO_DEBS = {"sarama": "golang-github-shopify-sarama-dev",
           "confluent-kafka-go": "golang-github-confluentinc-confluent-kafka-go-dev"}


def prep_go(name):
    def prep(log):
        exe = go_build(RUNNERS / name / "main.go", BUILD / "bin" / f"{name}-runner", log)
        # The runner names its version from the Debian package it was built against.
        return [str(exe)], {"MATRIX_CLIENT_VERSION": f"{deb_version(GO_DEBS[name])} (Debian)"}
    return prep


def prep_kafkajs(log):
    mods = CACHE / "node" / "node_modules"
    if not (mods / "kafkajs").is_dir():
        raise PrepareError(f"{mods}/kafkajs missing (make deps)")
    return ["node", str(RUNNERS / "kafkajs" / "runner.js")], {"NODE_PATH": str(mods)}


def prep_seed(which):
    def prep(log):
        if not SEED_DIR.is_dir():
            raise PrepareError(f"seed examples not found in {SEED_DIR} (set SEED_EXAMPLES_DIR)")
        if which == "go":
            for prog in ("go-producer", "go-consumer"):
                go_build(SEED_DIR / f"{prog}.go", BUILD / "bin" / f"seed-{prog}", log)
        else:
            prep_avro_snippet(log)
        return py("seed_runner.py", which), {
            "SEED_EXAMPLES_DIR": str(SEED_DIR),
            "COMPAT_BUILD_DIR": str(BUILD),
            "TRIBUTARY_REGISTRY_BIN": str(REGISTRY_BIN),
        }
    return prep


def prep_avro_snippet(log) -> None:
    """AvroSnippetMain.java = the template with the snippet pasted in verbatim,
    compiled with LogLine and the StringSerializer alias the snippet names."""
    seed = RUNNERS / "seed"
    snippet = SEED_DIR / "JavaAvroProducerSnippet.java"
    template = seed / "AvroSnippetMain.java.in"
    lines = template.read_text().splitlines(keepends=True)
    marker = [i for i, line in enumerate(lines) if line.strip() == "/*SNIPPET*/"]
    if len(marker) != 1:
        raise PrepareError(f"{template} needs exactly one /*SNIPPET*/ line")
    src_dir = BUILD / "seed-java-src"
    src_dir.mkdir(parents=True, exist_ok=True)
    main_src = src_dir / "AvroSnippetMain.java"
    text = "".join(lines[: marker[0]]) + snippet.read_text() + "\n" + "".join(lines[marker[0] + 1:])
    if not main_src.exists() or main_src.read_text() != text:
        main_src.write_text(text)
    log.write(f"[matrix] {main_src}: {template.name} with {snippet} pasted in unchanged\n")
    srcs = [main_src, seed / "LogLine.java", seed / "org" / "apache" / "kafka" / "serializers" / "StringSerializer.java"]
    out = javac(srcs, BUILD / "seed-java", log)
    (out / "classpath.txt").write_text(f"{out}:{java_classpath()}\n")


CLIENTS = [
    Client("java", "Java kafka-clients", prep_java, weight=5, scenarios=BASE_SCENARIOS + ["avro-registry"]),
    Client("rdkafka", "rdkafka (Rust)", prep_rdkafka, weight=3),
    Client("kafkajs", "kafkajs (Node)", prep_kafkajs, weight=2),
    Client("confluent-kafka-python", "confluent-kafka-python", lambda log: (py("confluent_kafka_runner.py"), {}),
           scenarios=BASE_SCENARIOS + ["avro-registry"]),
    Client("kafka-python", "kafka-python", lambda log: (py("kafka_python_runner.py"), {})),
    Client("aiokafka", "aiokafka", lambda log: (py("aiokafka_runner.py"), {})),
    Client("sarama", "Go sarama (Debian)", prep_go("sarama"), weight=2),
    Client("confluent-kafka-go", "Go confluent-kafka-go (Debian)", prep_go("confluent-kafka-go"), weight=2),
    Client("kcat-debian", "kcat (Debian librdkafka)", prep_kcat("debian")),
    Client("kcat-current", "kcat (current librdkafka)", prep_kcat("current")),
    Client("seed-go", "seed: go-producer.go + go-consumer.go", prep_seed("go"),
           scenarios=["produce-none", "group"], weight=2),
    Client("seed-java-avro", "seed: JavaAvroProducerSnippet.java", prep_seed("java-avro"),
           scenarios=["avro-registry"], weight=2),
]


# --- the broker --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Broker:
    def __init__(self, binary: Path, workdir: Path, log_path: Path):
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        overrides = {
            "listeners": f"PLAINTEXT://{self.bootstrap}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "log.dirs": str(self.data),
            # Runners join many fresh groups; Kafka's 3 s wait for more members only slows them.
            "group.initial.rebalance.delay.ms": "0",
            # kcat cannot create topics; auto-created ones get several partitions so that
            # its fetch and rebalance scenarios still cover more than one partition.
            "num.partitions": "4",
        }
        self.cmd = [str(binary)] + [a for k, v in overrides.items() for a in ("--override", f"{k}={v}")]
        self.log = open(log_path, "wb")
        self.log.write(f"[matrix] $ {' '.join(self.cmd)}\n".encode())
        self.log.flush()
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"},
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited {self.proc.returncode}; see {log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"broker not listening after 30s; see {log_path}")
                time.sleep(0.1)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Registry:
    """target/debug/tributary-registry on an ephemeral port, storing in the run's broker."""

    def __init__(self, binary: Path, bootstrap: str, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        cmd = [str(binary), "--override", f"listeners={self.url}",
               "--override", f"kafkastore.bootstrap.servers={bootstrap}"]
        self.log.write(f"[matrix] $ {' '.join(cmd)}\n".encode())
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, "NO_COLOR": "1"}, preexec_fn=_die_with_parent)
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{binary.name} exited {self.proc.returncode} at start; see {log_path.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/subjects", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{binary.name} did not answer GET /subjects within 30 s; see {log_path.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def api_versions(host: str, port: int) -> dict[str, tuple[int, int]]:
    """ApiVersions v0 over a raw socket: {api name: (min, max)}."""
    client_id = b"compat-matrix"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv(s, 4))[0]
        buf = _recv(s, size)
    _corr, err, n = struct.unpack(">ihi", buf[:10])
    if err != 0:
        raise RuntimeError(f"ApiVersions error {err}")
    out = {}
    for i in range(n):
        key, lo, hi = struct.unpack(">hhh", buf[10 + 6 * i: 16 + 6 * i])
        out[API_NAMES.get(key, f"api{key}")] = (lo, hi)
    return out


def _recv(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    return buf


# --- running -----------------------------------------------------------------


@dataclass
class Cell:
    status: str  # pass | fail | unsupported | n/a
    reason: str = ""
    seconds: float = 0.0
    note: str = ""  # the client's own error when a dependency turned a failure into unsupported


@dataclass
class Row:
    client: Client
    version: str = "?"
    log: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    cells: dict[str, Cell] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)  # what a seed program printed


def run_client(c: Client, broker: Broker, logs: Path, prefix: str, extra_env: dict[str, str]) -> Row:
    row = Row(c)
    log_path = logs / f"{c.id}.txt"
    row.log = log_path.name
    t0 = time.monotonic()
    with open(log_path, "w", encoding="utf-8", errors="replace") as log:
        log.write(f"[matrix] client {c.id}, broker {broker.bootstrap}, topic prefix {prefix}\n")
        try:
            argv, env_extra = c.prepare(log)
        except PrepareError as e:
            log.write(f"[matrix] could not prepare the runner: {e}\n")
            for s in c.scenarios:
                row.cells[s] = Cell("fail", f"runner not built: {e}")
            return row
        env = {**os.environ, **env_extra, **extra_env, "PYTHONUNBUFFERED": "1"}
        cmd = [*argv, broker.bootstrap, prefix]
        log.write(f"[matrix] $ {' '.join(cmd)}\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=RUNNERS,
                                env=env, text=True, errors="replace", preexec_fn=_die_with_parent,
                                start_new_session=True)
        timer = threading.Timer(RUNNER_TIMEOUT_S, lambda: _kill_group(proc))
        timer.start()
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if line.startswith("MATRIX "):
                    try:
                        r = json.loads(line[len("MATRIX "):])
                    except json.JSONDecodeError:
                        continue
                    row.version = r.get("version", row.version)
                    if r.get("scenario") in c.scenarios:
                        row.cells[r["scenario"]] = Cell(r["status"], r.get("reason", ""), r.get("seconds", 0.0))
                    for line in r.get("output") or []:
                        if line not in row.output:
                            row.output.append(line)
            row.exit_code = proc.wait()
        finally:
            timer.cancel()
            _kill_group(proc)
        row.seconds = time.monotonic() - t0
        log.write(f"\n[matrix] runner exited {row.exit_code} after {row.seconds:.1f}s\n")
    for s in c.scenarios:
        if s not in row.cells:
            why = "timed out" if row.exit_code in (-9, -15) else f"exited {row.exit_code}"
            row.cells[s] = Cell("fail", f"runner {why} before reporting this scenario")
    return row


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def classify(rows: list[Row], apis: dict[str, tuple[int, int]]) -> None:
    """A failure caused by a missing broker feature says which issue it waits for."""
    registry = REGISTRY_BIN.exists()
    for row in rows:
        for s, cell in row.cells.items():
            if cell.status != "fail":
                continue
            dep = None
            if s in DEPENDS:
                issue, needed = DEPENDS[s]
                missing = [a for a in needed if a not in apis]
                if missing:
                    dep = f"depends on {issue}: broker does not serve {', '.join(missing)}"
            if s in REGISTRY_SCENARIOS and (not registry or "schema registry not available" in cell.reason):
                dep = ("depends on issue 6 (schema registry): "
                       + (f"{os.path.relpath(REGISTRY_BIN, ROOT)} not built" if not registry else "it does not start and listen yet"))
            if dep:
                cell.note = cell.reason
                cell.status = "unsupported"
                cell.reason = dep


# --- rendering ---------------------------------------------------------------


ICON = {"pass": "✅ pass", "fail": "❌ **fail**", "unsupported": "➖", "n/a": "·"}


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def short(reason: str) -> str:
    m = re.match(r"depends on (issue \d+ \([^)]*\))", reason)
    if m:
        return "depends on " + m.group(1)
    return reason if len(reason) <= 60 else reason[:57] + "..."


def render(rows: list[Row], apis, out: Path, logs: Path, started: dt.datetime, elapsed: float) -> str:
    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    rel_logs = os.path.relpath(logs, out.parent)
    lines = [
        "# Client compatibility matrix",
        "",
        "Generated by `make matrix` (compat-matrix/matrix.py) from real runs of every client against",
        f"`target/debug/tributary-broker`: **{started:%Y-%m-%d %H:%M UTC}**, commit **{commit}**"
        + (" (with uncommitted changes)" if dirty and dirty != "unknown" else "")
        + f", {elapsed:.0f} s in all. Do not edit by hand.",
        "",
        "✅ pass · ❌ fail · ➖ unsupported (the reason is in the cell) · · not exercised by this program. "
        "Each row links the runner's full log; the notes below the table give every failure's and "
        "unsupported cell's details. What each scenario checks is in [README.md](README.md).",
        "",
    ]
    head = ["Client", "Version", "Log"] + [TITLES[s] for s in SCENARIOS]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    notes: list[str] = []
    for row in rows:
        cells = []
        for s in SCENARIOS:
            cell = row.cells.get(s)
            if cell is None:
                cells.append(ICON["n/a"])
                continue
            text = ICON[cell.status]
            if cell.status in ("fail", "unsupported") or cell.reason:
                notes.append((row, s, cell))
                n = len(notes)
                brief = short(cell.reason)
                text += f" {md_escape(brief)} [[{n}]](#n{n})" if cell.status == "unsupported" else f" [[{n}]](#n{n})"
            cells.append(text)
        log_link = f"[log]({rel_logs}/{row.log})" if row.log else ""
        lines.append("| " + " | ".join([md_escape(row.client.label), md_escape(row.version), log_link] + cells) + " |")
    seeds = [r for r in rows if r.client.id.startswith("seed-")]
    if seeds:
        lines += ["", "## Seed example programs", "",
                  f"The programs in `{os.path.relpath(SEED_DIR, ROOT)}/`, run unchanged against a broker of their own on "
                  "localhost:9092 in a private network namespace (see runners/seed_runner.py). What they printed:", ""]
        for r in seeds:
            printed = "; ".join(f"`{md_escape(x)}`" for x in r.output) or "(nothing)"
            lines.append(f"- {md_escape(r.client.label)}: {printed}")
    lines += ["", "## Notes", ""]
    if not notes:
        lines.append("Every exercised cell passed.")
    for n, (row, s, cell) in enumerate(notes, 1):
        text = f'<a id="n{n}"></a>{n}. **{md_escape(row.client.label)} / {s}** ({cell.status}): {md_escape(cell.reason)}'
        if cell.note:
            text += f" — the client said: `{md_escape(cell.note)[:400]}`"
        lines.append(text)
    lines += [
        "",
        "## Broker",
        "",
        "APIs the broker advertised during this run (ApiVersions): "
        + ", ".join(f"{k} {lo}-{hi}" for k, (lo, hi) in sorted(apis.items(), key=lambda kv: kv[0])) + ".",
        f"Broker log: [broker.txt]({rel_logs}/broker.txt)"
        + (f"; schema registry log: [registry.txt]({rel_logs}/registry.txt)." if (logs / "registry.txt").exists() else "."),
        "",
    ]
    text = "\n".join(lines)
    out.write_text(text)
    return text


def trim_log(path: Path, limit: int = 256 * 1024) -> None:
    """Keeps logs small enough to commit: the head and the tail of a long one."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size <= limit:
        return
    with open(path, "rb") as f:
        head = f.read(limit // 4)
        f.seek(size - (limit * 3 // 4))
        tail = f.read()
    path.write_bytes(head + f"\n[... {size - len(head) - len(tail)} bytes cut by matrix.py ...]\n".encode() + tail)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "MATRIX.md")
    ap.add_argument("--logs", type=Path, default=None, help="log directory (default: logs/ beside --out)")
    ap.add_argument("--only", default="", help="comma-separated client ids")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("MATRIX_JOBS", "4")))
    ap.add_argument("--check", action="store_true", help="exit 1 when any cell failed")
    ap.add_argument("--broker-bin", type=Path,
                    default=Path(os.environ.get("TRIBUTARY_BROKER_BIN", ROOT / "target" / "debug" / "tributary-broker")))
    a = ap.parse_args()
    out = a.out.resolve()
    logs = (a.logs or out.parent / "logs").resolve()
    clients = CLIENTS
    if a.only:
        wanted = a.only.split(",")
        unknown = set(wanted) - {c.id for c in CLIENTS}
        if unknown:
            ap.error(f"unknown clients {sorted(unknown)}; known: {[c.id for c in CLIENTS]}")
        clients = [c for c in CLIENTS if c.id in wanted]
    if not a.broker_bin.exists():
        ap.error(f"{a.broker_bin} not built: cargo build -p tributary-broker --bin tributary-broker")

    if logs.exists():
        for old in logs.glob("*.txt"):
            old.unlink()
    logs.mkdir(parents=True, exist_ok=True)
    BUILD.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.monotonic()
    run_id = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="compat-matrix-") as tmp:
        broker = Broker(a.broker_bin, Path(tmp), logs / "broker.txt")
        registry = None
        print(f"[matrix] broker on {broker.bootstrap} (log {logs / 'broker.txt'})", flush=True)
        try:
            apis = api_versions("127.0.0.1", broker.port)
            extra_env = {"TRIBUTARY_BROKER_BIN": str(a.broker_bin), "MATRIX_LOG_DIR": str(logs)}
            if any(set(c.scenarios) & REGISTRY_SCENARIOS for c in clients if not c.id.startswith("seed-")):
                try:
                    if not REGISTRY_BIN.exists():
                        raise RuntimeError(f"{os.path.relpath(REGISTRY_BIN, ROOT)} is not built")
                    registry = Registry(REGISTRY_BIN, broker.bootstrap, logs / "registry.txt")
                    extra_env["MATRIX_SCHEMA_REGISTRY_URL"] = registry.url
                    print(f"[matrix] schema registry on {registry.url}", flush=True)
                except RuntimeError as e:
                    extra_env["MATRIX_SCHEMA_REGISTRY_ERROR"] = str(e)
                    print(f"[matrix] no schema registry: {e}", flush=True)
            order = sorted(clients, key=lambda c: -c.weight)
            rows: dict[str, Row] = {}
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
                futs = {pool.submit(run_client, c, broker, logs, f"cm{run_id}-{c.id}", extra_env): c for c in order}
                for f in concurrent.futures.as_completed(futs):
                    c = futs[f]
                    row = f.result()
                    rows[c.id] = row
                    counts = {st: sum(1 for x in row.cells.values() if x.status == st) for st in ("pass", "fail", "unsupported")}
                    print(f"[matrix] {c.id:24} {row.version:40.40} {counts} in {row.seconds:.0f}s", flush=True)
        finally:
            if registry is not None:
                registry.stop()
            code = broker.stop()
            print(f"[matrix] broker stopped (exit code {code})", flush=True)
    ordered = [rows[c.id] for c in clients]
    classify(ordered, apis)
    elapsed = time.monotonic() - t0
    render(ordered, apis, out, logs, started, elapsed)
    for p in logs.glob("*.txt"):
        trim_log(p)
    results = [
        {"client": r.client.id, "label": r.client.label, "version": r.version, "scenario": s,
         "status": cell.status, "reason": cell.reason, "client_error": cell.note,
         "seconds": cell.seconds, "log": f"{logs.name}/{r.log}"}
        for r in ordered for s, cell in r.cells.items()
    ]
    (logs / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    fails = [x for x in results if x["status"] == "fail"]
    print(f"[matrix] wrote {out} and {logs / 'results.json'} in {elapsed:.0f}s: "
          f"{sum(x['status'] == 'pass' for x in results)} pass, {len(fails)} fail, "
          f"{sum(x['status'] == 'unsupported' for x in results)} unsupported", flush=True)
    for x in fails:
        print(f"[matrix] FAIL {x['client']} / {x['scenario']}: {x['reason']} (log {x['log']})", flush=True)
    return 1 if (a.check and fails) else 0


if __name__ == "__main__":
    sys.exit(main())
