"""Start and drive the real `tributary-registry` binary for acceptance tests.

`RegistryProcess` runs one instance on a free loopback port against a broker,
with its own `_schemas`-style topic and group id unless told otherwise (so
tests in one module do not see each other's subjects), logs to
`registry.log` in its work directory, and offers a tiny HTTP helper that
returns (status, parsed JSON or text, content type) for any request, good
or malformed.

The binary is `target/debug/tributary-registry`, or `$TRIBUTARY_REGISTRY_BIN`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from conftest import REPO_ROOT, _die_with_parent, free_port

DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "tributary-registry"
START_TIMEOUT_S = 60.0
V1_JSON = "application/vnd.schemaregistry.v1+json"


def registry_binary() -> Path:
    path = Path(os.environ.get("TRIBUTARY_REGISTRY_BIN", DEFAULT_BIN))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"registry binary {path} not found: run `cargo build -p tributary-registry` "
            "or set TRIBUTARY_REGISTRY_BIN"
        )
    return path


class RegistryProcess:
    """One `tributary-registry` process; keeps its port, topic and group across restarts."""

    def __init__(
        self,
        workdir: Path,
        bootstrap: str,
        topic: str | None = None,
        group_id: str | None = None,
        extra: dict[str, str] | None = None,
    ):
        self.binary = registry_binary()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "registry.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        suffix = uuid.uuid4().hex[:10]
        self.topic = topic or f"_schemas-{suffix}"
        self.group_id = group_id or f"schema-registry-{suffix}"
        self.overrides = {
            "listeners": f"http://127.0.0.1:{self.port}",
            "host.name": "127.0.0.1",
            "kafkastore.bootstrap.servers": bootstrap,
            "kafkastore.topic": self.topic,
            "schema.registry.group.id": self.group_id,
        }
        self.overrides.update(extra or {})
        self.proc: subprocess.Popen | None = None
        self._log = None

    def command(self) -> list[str]:
        cmd = [str(self.binary)]
        for k, v in self.overrides.items():
            cmd += ["--override", f"{k}={v}"]
        return cmd

    def start(self) -> None:
        assert not self.running(), "registry already running"
        self._log = open(self.log_path, "ab", buffering=0)
        self._log.write(f"\n===== [harness] starting: {' '.join(self.command())}\n".encode())
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, "NO_COLOR": "1"},
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._close()
                raise RuntimeError(f"registry exited with {code} while starting\n{self.log_tail()}")
            try:
                status, _, _ = self.request("GET", "/", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.kill9()
        raise RuntimeError(f"registry did not answer on {self.url} within {START_TIMEOUT_S}s\n{self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM (leaves the leader group, drains requests) and wait."""
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

    def restart(self) -> None:
        self.stop()
        self.start()

    def _close(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, limit: int = 16384) -> str:
        try:
            return self.log_path.read_bytes()[-limit:].decode("utf-8", "replace")
        except FileNotFoundError:
            return "(no registry log)"

    def is_leader(self) -> bool:
        """What this instance last logged about its leadership."""
        lines = [l for l in self.log_tail(1 << 20).splitlines() if "leadership changed" in l]
        return bool(lines) and "is_leader=true" in lines[-1]

    # --- HTTP ----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body=None,
        *,
        raw: bytes | None = None,
        content_type: str | None = V1_JSON,
        accept: str | None = None,
        timeout: float = 30,
    ):
        """(status, JSON value or text, response content type). `body` is
        JSON-encoded; `raw` is sent as is."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None and content_type:
            req.add_header("Content-Type", content_type)
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, payload, ctype = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, payload, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        text = payload.decode("utf-8", "replace")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        return status, value, ctype

    def ok(self, method: str, path: str, body=None, **kw):
        """A request that must succeed; returns the parsed body."""
        status, value, _ = self.request(method, path, body, **kw)
        assert 200 <= status < 300, f"{method} {path} -> {status} {value}"
        return value

    def register(self, subject: str, schema: str, schema_type: str | None = None, references=None, **extra) -> int:
        body = {"schema": schema, **extra}
        if schema_type:
            body["schemaType"] = schema_type
        if references:
            body["references"] = references
        return self.ok("POST", f"/subjects/{quote(subject)}/versions", body)["id"]


def quote(s: str) -> str:
    return urllib.request.quote(s, safe="")


def unique_subject(prefix: str = "s") -> str:
    clean = re.sub(r"[^a-zA-Z0-9._-]", "-", prefix)[:60]
    return f"{clean}-{uuid.uuid4().hex[:10]}"
