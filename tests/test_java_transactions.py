"""Transactions with the Java client (kafka-clients 4.3), issue 4 acceptance 1
and 3.

- EOS loop: tests/java/EosLoop.java is a consume-transform-produce loop
  (read_committed consumer in a group, transactional producer,
  sendOffsetsToTransaction with consumer.groupMetadata()). It is killed with
  SIGKILL at random points ten times and restarted, then runs to the end; a
  read_committed consumer of the output must see every input exactly once and
  the group's committed offsets must be the input's end offsets.
- Fencing and admin: tests/java/TxnFencing.java (a second and third producer
  with the same transactional.id fence the earlier ones, which get
  ProducerFencedException; AdminClient listTransactions, describeTransactions
  and describeProducers). The program checks everything itself and prints "OK".

Both programs run with only the client's own jars from the 4.3 classpath
install-test-deps.sh writes (kafka-clients, slf4j/log4j2, compression codecs):
the JVM starts eleven times in the EOS test, and the full 390-jar classpath
doubles its start-up time.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

import test_java_client as jc
from conftest import CACHE_DIR, unique_topic
from kafka_helpers import create_topic
from txn_helpers import (  # noqa: F401  (fixtures)
    _module_txn_broker,
    committed_offsets,
    end_offsets,
    exactly_once_problems,
    produce_inputs,
    read_values,
    txn_broker,
)

SOURCES = [jc.JAVA_SRC / "EosLoop.java", jc.JAVA_SRC / "TxnFencing.java"]
CLASSES = CACHE_DIR / "java-txn-classes"
STAMP = CLASSES / ".compiled"
CLIENT_JARS = re.compile(
    r"/(kafka-clients|slf4j-api|log4j-api|log4j-core|log4j-slf4j2-impl|lz4-java|snappy-java|zstd-jni)-\d[^/]*\.jar$"
)


def client_classpath() -> str:
    jars = [j for j in jc.classpath().split(":") if CLIENT_JARS.search(j)]
    clients = [j for j in jars if "/kafka-clients-" in j]
    if len(clients) != 1:
        pytest.fail(f"expected one kafka-clients jar in {jc.CLASSPATH_FILE}, found {clients}")
    return ":".join(jars)


@pytest.fixture(scope="session")
def txn_java_classes() -> Path:
    """Compile EosLoop.java and TxnFencing.java (only these: other programs in
    tests/java are not needed here) into .cache/java-txn-classes when a source is newer."""
    newest = max(p.stat().st_mtime for p in [*SOURCES, jc.CLASSPATH_FILE] if p.exists())
    if not STAMP.exists() or STAMP.stat().st_mtime < newest:
        if CLASSES.exists():
            shutil.rmtree(CLASSES)
        CLASSES.mkdir(parents=True)
        proc = subprocess.run(
            ["javac", "-cp", client_classpath(), "-d", str(CLASSES), *map(str, SOURCES)],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, f"javac failed:\n{proc.stdout}\n{proc.stderr}"
        STAMP.touch()
    return CLASSES


def java_command(classes: Path, main: str, *args: str) -> list[str]:
    return [
        "java",
        "-cp", f"{classes}:{client_classpath()}",
        "-Dslf4j.provider=org.apache.logging.slf4j.SLF4JServiceProvider",
        f"-Dlog4j2.configurationFile={jc.JAVA_SRC / 'log4j2.properties'}",
        main, *args,
    ]


# --- acceptance 1: EOS loop killed with kill -9 ------------------------------

INPUTS = 3000
PARTITIONS = 3
KILLS = 10
# EosLoop's "work" between sending a transaction's records and committing it:
# the window in which a kill leaves an open transaction with records in the log.
WORK_MS = 20
# With max.poll.records=25 and a kill at the latest after the 8th commit of a
# run (plus up to 60 ms), the ten killed runs process well under INPUTS, so the
# last run always has work left and every kill lands on a running loop.
MAX_COMMITS_BEFORE_KILL = 8


class LoopRun:
    """One EosLoop process; a thread collects its stdout lines."""

    def __init__(self, cmd: list[str], log_path: Path, run: int):
        self.run = run
        self.log_path = log_path
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.started = time.monotonic()
        self._err = open(log_path.with_suffix(".stderr"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with open(self.log_path, "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                with self.cond:
                    self.lines.append(line.rstrip("\n"))
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def count(self, prefix: str) -> int:
        return sum(1 for line in self.lines if line.startswith(prefix))

    def wait_for(self, prefix: str, n: int, deadline: float) -> bool:
        """Until `n` lines start with `prefix`, the process exits, or the monotonic deadline."""
        with self.cond:
            while self.count(prefix) < n:
                if self.proc.poll() is not None and not self.reader.is_alive():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.2))
            return True

    def kill9(self) -> int | None:
        """SIGKILL; returns the exit code if the process had already exited by itself."""
        code = self.proc.poll()
        if code is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(10)
        self._err.close()
        return code

    def finish(self, timeout: float) -> int | None:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self.reader.join(10)
        self._err.close()
        return code

    def output(self, limit: int = 4000) -> str:
        out = "\n".join(self.lines)
        err = self.log_path.with_suffix(".stderr").read_text(errors="replace")
        return f"--- run {self.run} stdout (tail) ---\n{out[-limit:]}\n--- run {self.run} stderr (tail) ---\n{err[-limit:]}"


@pytest.mark.timeout(300)
def test_java_eos_loop_survives_kill9_exactly_once(txn_broker, txn_java_classes, tmp_path):
    b = txn_broker
    seed = random.randrange(1 << 32)
    rnd = random.Random(seed)
    src, dst = unique_topic("eos-in"), unique_topic("eos-out")
    group = f"eos-group-{uuid.uuid4().hex[:8]}"
    txn_id = f"eos-txn-{uuid.uuid4().hex[:8]}"
    create_topic(b.bootstrap, src, partitions=PARTITIONS)
    create_topic(b.bootstrap, dst, partitions=PARTITIONS)
    produce_inputs(b.bootstrap, src, range(INPUTS))
    input_ends = end_offsets(b.bootstrap, src, PARTITIONS)
    assert sum(input_ends.values()) == INPUTS

    def start(run: int) -> LoopRun:
        cmd = java_command(txn_java_classes, "EosLoop", b.bootstrap, src, dst, group, txn_id, str(run), str(WORK_MS))
        return LoopRun(cmd, tmp_path / f"run{run}.log", run)

    history: list[str] = []

    def context() -> str:
        return f"seed {seed}; runs so far:\n  " + "\n  ".join(history)

    t0 = time.monotonic()
    for run in range(1, KILLS + 1):
        loop = start(run)
        # Where to kill: during start-up (JVM, initTransactions, group join),
        # a random time into the loop, or just after the k-th commit (likely
        # inside the next transaction). Each is capped at the 8th commit.
        mode = rnd.choice(["startup", "running", "commits", "commits"])
        if mode == "startup":
            kill_at = loop.started + rnd.uniform(0.3, 3.0)
            k = MAX_COMMITS_BEFORE_KILL
        elif mode == "running":
            ok = loop.wait_for("INIT", 1, time.monotonic() + 60)
            assert ok, f"run {run} never finished initTransactions\n{loop.output()}\n{context()}"
            kill_at = time.monotonic() + rnd.uniform(0.0, 1.2)
            k = MAX_COMMITS_BEFORE_KILL
        else:
            kill_at = None
            k = rnd.randint(1, 6)
        if kill_at is None:
            ok = loop.wait_for("COMMITTED", k, time.monotonic() + 60)
            assert ok, (
                f"run {run} did not commit {k} transactions within 60 s (committed "
                f"{loop.count('COMMITTED')})\n{loop.output()}\n{context()}"
            )
            time.sleep(rnd.uniform(0.0, 0.06))
        else:
            reached = loop.wait_for("COMMITTED", k, kill_at)
            if reached:
                time.sleep(rnd.uniform(0.0, 0.06))
        code = loop.kill9()
        commits = loop.count("COMMITTED")
        history.append(
            f"run {run}: {mode} kill after {commits} commits, "
            f"{time.monotonic() - loop.started:.1f}s after start, init={'yes' if loop.count('INIT') else 'no'}"
        )
        assert code is None, (
            f"run {run} exited by itself with code {code} before the kill\n{loop.output()}\n{context()}"
        )

    final = start(KILLS + 1)
    code = final.finish(timeout=120)
    history.append(f"run {KILLS + 1}: final, exit code {code}, commits {final.count('COMMITTED')}")
    assert code == 0 and final.count("DONE") == 1, (
        f"the final run did not finish cleanly (exit code {code})\n{final.output()}\n{context()}"
    )
    loop_seconds = time.monotonic() - t0

    # Every input exactly once in what read_committed consumers see.
    committed_view = read_values(b.bootstrap, dst, PARTITIONS, "read_committed")
    problems = exactly_once_problems(committed_view, range(INPUTS))
    assert problems is None, f"read_committed output is not exactly-once: {problems}\n{context()}"

    # The loop's offsets were committed with its transactions: the group stands at the end.
    committed = committed_offsets(b.bootstrap, group, src, PARTITIONS, isolation="read_committed")
    assert committed == input_ends, (
        f"group {group} committed offsets {committed}, input end offsets {input_ends}\n{context()}"
    )

    # read_uncommitted also sees the records of transactions the kills left
    # open (later aborted); it must at least see all the committed ones.
    uncommitted_view = read_values(b.bootstrap, dst, PARTITIONS, "read_uncommitted")
    assert set(uncommitted_view) >= set(committed_view)
    print(
        f"\nEOS loop: seed {seed}, {KILLS} kills + final run in {loop_seconds:.1f}s; "
        f"{len(uncommitted_view) - len(committed_view)} aborted output records visible to read_uncommitted"
        f"\n  " + "\n  ".join(history)
    )


# --- acceptance 3: fencing, and the transaction admin APIs -------------------


@pytest.mark.timeout(180)
def test_java_producer_fencing_and_transaction_admin(txn_broker, txn_java_classes):
    topic = unique_topic("java-fence")
    txn_id = f"java-fence-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        java_command(txn_java_classes, "TxnFencing", txn_broker.bootstrap, topic, txn_id),
        capture_output=True, text=True, timeout=170,
    )
    output = f"--- stdout ---\n{proc.stdout}\n--- stderr (tail) ---\n{proc.stderr[-20000:]}"
    assert proc.returncode == 0, f"TxnFencing exited {proc.returncode}\n{output}"
    assert proc.stdout.strip().splitlines()[-1] == "OK", output
