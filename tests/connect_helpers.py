"""Starts the real `tributary-connect` binary for the Connect acceptance tests
and talks to its REST API with the standard library (curl-level requests:
method, path, JSON body; status code and JSON back).

The binary is `target/debug/tributary-connect`, or `$TRIBUTARY_CONNECT_BIN`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import REPO_ROOT, _die_with_parent, free_port

DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "tributary-connect"
START_TIMEOUT_S = 60.0


def connect_binary() -> Path:
    path = Path(os.environ.get("TRIBUTARY_CONNECT_BIN", DEFAULT_BIN))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} not found: run `cargo build -p tributary-connect`")
    return path


class Response:
    def __init__(self, status: int, body: bytes):
        self.status = status
        self.text = body.decode("utf-8", "replace")
        try:
            self.json = json.loads(self.text) if self.text else None
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"<{self.status} {self.text[:500]}>"


class ConnectWorker:
    """One worker process; keeps its port, properties and offsets across restarts."""

    def __init__(self, workdir: Path, bootstrap: str, mode: str = "standalone",
                 props: dict[str, str] | None = None, connector_files: list[Path] | None = None,
                 port: int | None = None):
        self.binary = connect_binary()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.mode = mode
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"connect-{self.port}.log"
        self.props = {
            "bootstrap.servers": bootstrap,
            "listeners": f"http://127.0.0.1:{self.port}",
            "offset.flush.interval.ms": "500",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        }
        if mode == "standalone":
            self.props["offset.storage.file.filename"] = str(workdir / "connect.offsets")
        self.props.update(props or {})
        self.connector_files = connector_files or []
        self.proc: subprocess.Popen | None = None
        self._log = None

    def write_properties(self) -> Path:
        path = self.workdir / f"worker-{self.port}.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in self.props.items()))
        return path

    def start(self, wait_ready: bool = True) -> None:
        assert self.proc is None or self.proc.poll() is not None, "worker already running"
        cmd = [str(self.binary), self.mode, str(self.write_properties()), *map(str, self.connector_files)]
        self._log = open(self.log_path, "ab", buffering=0)
        self._log.write(f"\n===== [harness] starting: {' '.join(cmd)}\n".encode())
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=self.workdir, env={**os.environ, "NO_COLOR": "1"},
                                     preexec_fn=_die_with_parent)
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                if self.get("/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready within {timeout}s\n{self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self._close()
        return code

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.write(f"===== [harness] exited with {self.proc.returncode}\n".encode())
            self._log.close()
            self._log = None

    def log_tail(self, limit: int = 20000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except FileNotFoundError:
            return "(no log)"

    # --- REST ------------------------------------------------------------------

    def request(self, method: str, path: str, body=None, raw: bytes | None = None, timeout: float = 60) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read())

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, body=None, raw: bytes | None = None) -> Response:
        return self.request("POST", path, body, raw)

    def put(self, path: str, body=None, raw: bytes | None = None) -> Response:
        return self.request("PUT", path, body, raw)

    def patch(self, path: str, body=None) -> Response:
        return self.request("PATCH", path, body)

    def delete(self, path: str) -> Response:
        return self.request("DELETE", path)

    def create(self, name: str, config: dict, **extra) -> Response:
        return self.post("/connectors", {"name": name, "config": config, **extra})

    def status(self, name: str) -> dict | None:
        r = self.get(f"/connectors/{name}/status")
        return r.json if r.status == 200 else None

    def wait_for_state(self, name: str, connector: str, tasks: list[str] | None = None, timeout: float = 30) -> dict:
        """Waits until the connector (and every task) is in the given state."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.status(name)
            if last and last["connector"]["state"] == connector and (
                tasks is None or [t["state"] for t in last["tasks"]] == tasks
            ):
                return last
            time.sleep(0.2)
        raise AssertionError(f"{name} did not reach {connector}/{tasks}; last status {last}\n{self.log_tail(4000)}")


def wait_until(predicate, timeout: float = 60, interval: float = 0.25, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
