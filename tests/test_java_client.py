"""The Java client (kafka-clients 4.3, from the jars install-test-deps.sh
unpacks) runs tests/java/ClientSmoke.java against the broker: admin calls,
an idempotent producer with default settings, an assigning consumer and
deleteRecords. The program checks everything itself and prints "OK"."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CACHE_DIR, REPO_ROOT, unique_topic

JAVA_SRC = REPO_ROOT / "tests" / "java"
CLASSES = CACHE_DIR / "java-classes"
CLASSPATH_FILE = CACHE_DIR / "java-classpath.txt"
STAMP = CLASSES / ".compiled"


def classpath() -> str:
    if not CLASSPATH_FILE.is_file():
        pytest.fail(f"{CLASSPATH_FILE} missing: run scripts/install-test-deps.sh (make deps)")
    return CLASSPATH_FILE.read_text().strip()


@pytest.fixture(scope="session")
def java_classes() -> Path:
    """Compile tests/java/*.java into .cache/java-classes, only when a source is newer."""
    sources = sorted(JAVA_SRC.glob("*.java"))
    # A changed classpath (new jars) counts as a change too.
    newest = max(p.stat().st_mtime for p in [*sources, CLASSPATH_FILE] if p.exists())
    if not STAMP.exists() or STAMP.stat().st_mtime < newest:
        if CLASSES.exists():
            shutil.rmtree(CLASSES)
        CLASSES.mkdir(parents=True)
        proc = subprocess.run(
            ["javac", "-cp", classpath(), "-d", str(CLASSES), *map(str, sources)],
            capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, f"javac failed:\n{proc.stdout}\n{proc.stderr}"
        STAMP.touch()
    return CLASSES


def run_java(classes: Path, main: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    cmd = [
        "java",
        "-cp", f"{classes}:{classpath()}",
        # The jars carry several logging backends; pick log4j2 (slf4j 2 provider)
        # explicitly and configure it to warnings only.
        "-Dslf4j.provider=org.apache.logging.slf4j.SLF4JServiceProvider",
        f"-Dlog4j2.configurationFile={JAVA_SRC / 'log4j2.properties'}",
        main, *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.timeout(300)
def test_java_client_smoke(broker, java_classes):
    topic = unique_topic("java-smoke")
    proc = run_java(java_classes, "ClientSmoke", broker.bootstrap, topic)
    output = f"--- stdout ---\n{proc.stdout}\n--- stderr (tail) ---\n{proc.stderr[-20000:]}"
    assert proc.returncode == 0, f"ClientSmoke exited {proc.returncode}\n{output}"
    assert proc.stdout.strip().splitlines()[-1] == "OK", output
