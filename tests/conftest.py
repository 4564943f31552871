"""Fixtures that start the real `tributary-broker` binary for client acceptance tests.

`broker` is one broker per test module; `fresh_broker` is one per test, for
tests that stop, kill or restart it. Both listen on an ephemeral loopback port
with a throwaway data directory, capture the broker's stderr/stdout to
`broker.log` beside it, and attach the part of that log written during a
failed test to the test's report.

The binary is `target/debug/tributary-broker`, or `$TRIBUTARY_BROKER_BIN`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache"
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "tributary-broker"

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
# How much of the broker log a failed test's report shows.
LOG_TAIL_BYTES = 32 * 1024


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if pytest dies, so that an
    interrupted run leaves no broker behind holding its port."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def broker_binary() -> Path:
    path = Path(os.environ.get("TRIBUTARY_BROKER_BIN", DEFAULT_BIN))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"broker binary {path} not found or not executable: run "
            "`cargo build -p tributary-broker --bin tributary-broker` "
            "or set TRIBUTARY_BROKER_BIN"
        )
    return path


def free_port() -> int:
    """An ephemeral port that was free a moment ago (bind to :0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_topic(prefix: str = "t") -> str:
    """A topic name no other test uses; only the characters Kafka allows."""
    clean = re.sub(r"[^a-zA-Z0-9._-]", "-", prefix)[:80]
    return f"{clean}-{uuid.uuid4().hex[:12]}"


class Broker:
    """One `tributary-broker` process; keeps its port and data dir across restarts."""

    def __init__(self, workdir: Path, extra_overrides: dict[str, str] | None = None):
        self.binary = broker_binary()
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "broker.log"
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.overrides = {
            "listeners": f"PLAINTEXT://{self.bootstrap}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
        }
        self.overrides.update(extra_overrides or {})
        self.proc: subprocess.Popen | None = None
        self._log = None
        # Exit codes of earlier runs, newest last (None: still running).
        self.exit_codes: list[int] = []

    # --- lifecycle ---------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [str(self.binary)]
        for key, value in self.overrides.items():
            cmd += ["--override", f"{key}={value}"]
        return cmd

    def start(self) -> None:
        assert not self.running(), "broker already running"
        self._log = open(self.log_path, "ab", buffering=0)
        self._log.write(f"\n===== [harness] starting: {' '.join(self.command())}\n".encode())
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            # Plain text in broker.log (tracing-subscriber honours NO_COLOR).
            env={**os.environ, "NO_COLOR": "1"},
            preexec_fn=_die_with_parent,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self._reap(code)
                raise RuntimeError(
                    f"broker exited with code {code} before accepting connections\n"
                    f"--- broker log tail ---\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill9()
        raise RuntimeError(
            f"broker did not accept connections on {self.bootstrap} within "
            f"{START_TIMEOUT_S:.0f}s\n--- broker log tail ---\n{self.log_tail()}"
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (the broker's clean shutdown) and wait; returns the exit code.

        Raises if the broker has not exited within `timeout` (it is then killed).
        """
        if self.proc is None:
            raise RuntimeError("broker is not running")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._reap(self.proc.returncode)
                raise RuntimeError(f"broker did not exit within {timeout:.0f}s of SIGTERM")
        code = self.proc.returncode
        self._reap(code)
        return code

    def kill9(self) -> None:
        """SIGKILL: the crash a clean shutdown path cannot help with."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reap(self.proc.returncode)

    def restart(self) -> None:
        """Stop it if running (SIGTERM), then start again on the same port and data dir."""
        if self.running():
            self.stop()
        elif self.proc is not None:
            self._reap(self.proc.returncode)
        self.start()

    def _reap(self, code: int) -> None:
        if self.proc is None:
            return
        self.exit_codes.append(code)
        self.proc = None
        if self._log is not None:
            self._log.write(f"===== [harness] broker exited with code {code}\n".encode())
            self._log.close()
            self._log = None

    # --- diagnostics -------------------------------------------------------

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int, limit: int = LOG_TAIL_BYTES) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                end = f.tell()
                start = max(offset, end - limit)
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return "(no broker log)"
        if start > offset:
            text = f"[... {start - offset} earlier bytes in {self.log_path} ...]\n" + text
        return text

    def log_tail(self, limit: int = LOG_TAIL_BYTES) -> str:
        return self.log_since(0, limit)

    def __repr__(self) -> str:
        return f"Broker({self.bootstrap}, data={self.data_dir})"


def _start_broker(workdir: Path) -> Broker:
    b = Broker(workdir)
    b.start()
    return b


def _teardown(b: Broker) -> None:
    if b.running():
        try:
            code = b.stop()
        except RuntimeError as e:
            pytest.fail(f"{e}\n--- broker log tail ---\n{b.log_tail()}", pytrace=False)
        if code != 0:
            print(f"\n[harness] broker {b.bootstrap} exited with code {code} on SIGTERM")


@pytest.fixture(scope="module")
def _module_broker(tmp_path_factory):
    b = _start_broker(tmp_path_factory.mktemp("broker"))
    yield b
    _teardown(b)


@pytest.fixture
def broker(_module_broker):
    """The module's shared broker, alive at the start and end of every test.

    A broker that died during a test fails that test (a crash is a bug even if
    the client did not notice) and is started again for the next one.
    """
    b = _module_broker
    if not b.running():
        print(f"[harness] broker {b.bootstrap} was not running; restarting it")
        b.restart()
    yield b
    if not b.running():
        pytest.fail(
            f"broker {b.bootstrap} exited during the test (exit codes: {b.exit_codes})",
            pytrace=False,
        )


@pytest.fixture
def fresh_broker(tmp_path_factory):
    """A broker of its own for a test that stops, kills or restarts it."""
    b = _start_broker(tmp_path_factory.mktemp("broker"))
    yield b
    _teardown(b)


@pytest.fixture
def connect(broker, tmp_path):
    """A standalone `tributary-connect` worker against the module's broker
    (StringConverter for keys and values); see tests/connect_helpers.py."""
    from connect_helpers import ConnectWorker

    w = ConnectWorker(tmp_path / "connect", broker.bootstrap)
    w.start()
    yield w
    if w.running():
        w.stop()


@pytest.fixture
def registry(broker, tmp_path):
    """A `tributary-registry` on a free port against the module's broker, with
    a topic and group of its own; see tests/registry_helpers.py."""
    from registry_helpers import RegistryProcess

    r = RegistryProcess(tmp_path / "registry", broker.bootstrap)
    r.start()
    yield r
    r.stop()


# --- failure reports ---------------------------------------------------------
#
# For every broker a test uses, remember how long its log was when the test
# started; if the test fails, append the log written since then (and whether
# the broker is still alive) to the test's report.

_LOG_START = "_tributary_broker_log_start"


def _brokers_of(item) -> list[Broker]:
    funcargs = getattr(item, "funcargs", {}) or {}
    seen: dict[int, Broker] = {}
    for v in funcargs.values():
        if isinstance(v, Broker):
            seen.setdefault(id(v), v)
    return list(seen.values())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    setattr(item, _LOG_START, {id(b): b.log_size() for b in _brokers_of(item)})
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed or call.when not in ("call", "teardown"):
        return
    starts = getattr(item, _LOG_START, {})
    for b in _brokers_of(item):
        state = "running" if b.running() else f"NOT RUNNING (exit codes so far: {b.exit_codes})"
        start = starts.get(id(b), 0)
        if b.log_size() > start:
            text = b.log_since(start)
        else:
            text = "(nothing logged during this test; the log before it ends with:)\n" + b.log_tail(4096)
        rep.sections.append((f"broker {b.bootstrap} log ({state}; full log: {b.log_path})", text))
