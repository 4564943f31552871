"""What every Python runner shares: the scenario list, the result lines, timeouts.

A runner is started as `python <runner>.py BOOTSTRAP PREFIX` and prints one
result line per scenario on stdout:

    MATRIX {"client": ..., "version": ..., "scenario": ..., "status": ..., "reason": ..., "seconds": ...}

Everything else it prints (client logs, tracebacks) goes to the run's log.
The scenario names and what each one checks are in compat-matrix/README.md;
the driver (compat-matrix/matrix.py) owns the canonical list.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from contextlib import contextmanager

SCENARIOS = [
    "metadata",
    "produce-none",
    "produce-gzip",
    "produce-snappy",
    "produce-lz4",
    "produce-zstd",
    "fetch",
    "group",
    "rebalance",
    "idempotent",
    "transactions",
    "admin-topics",
    "admin-partitions",
    "admin-configs",
    "admin-groups",
    "offsets",
    "delete-records",
]
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
# Done only by runners whose client has schema-registry serdes.
EXTRA_SCENARIOS = ["avro-registry"]

# One scenario may take at most this long; a stuck client fails its cell
# instead of the whole runner.
SCENARIO_TIMEOUT_S = 60


class Unsupported(Exception):
    """The client cannot do this scenario; the message says why."""


class ScenarioTimeout(Exception):
    pass


def check(cond: bool, what: str) -> None:
    """A failed expectation: the message becomes the cell's reason."""
    if not cond:
        raise AssertionError(what)


def produce_value(i: int, codec: str) -> bytes:
    # Repetitive enough that every codec really compresses it.
    return f"v{i}-{codec}-".encode() + b"x" * 200


def wait_until(pred, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def _alarm(signum, frame):
    raise ScenarioTimeout(f"scenario took longer than {SCENARIO_TIMEOUT_S}s")


class Reporter:
    def __init__(self, client: str, version: str, bootstrap: str, prefix: str):
        self.client = client
        self.version = version
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.reported: set[str] = set()

    def topic(self, scenario: str) -> str:
        return f"{self.prefix}-{scenario}"

    def group(self, scenario: str) -> str:
        return f"{self.prefix}-{scenario}-g"

    def emit(self, scenario: str, status: str, reason: str = "", seconds: float = 0.0) -> None:
        assert scenario in SCENARIOS + EXTRA_SCENARIOS, scenario
        self.reported.add(scenario)
        line = {
            "client": self.client,
            "version": self.version,
            "scenario": scenario,
            "status": status,
            "reason": reason,
            "seconds": round(seconds, 2),
        }
        print("MATRIX " + json.dumps(line), flush=True)

    def unsupported(self, scenario: str, reason: str) -> None:
        self.emit(scenario, "unsupported", reason)

    def run(self, scenario: str, fn, *args) -> None:
        """Runs one scenario function (sync) under a timeout and reports it.
        A string the function returns is a note shown with the pass."""
        print(f"\n=== {self.client}: {scenario} ===", flush=True)
        t0 = time.monotonic()
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(SCENARIO_TIMEOUT_S)
        try:
            note = fn(*args)
        except Unsupported as e:
            self.emit(scenario, "unsupported", str(e), time.monotonic() - t0)
        except BaseException as e:  # noqa: BLE001 - any failure is the cell's result
            if isinstance(e, KeyboardInterrupt):
                raise
            traceback.print_exc()
            sys.stdout.flush()
            self.emit(scenario, "fail", f"{type(e).__name__}: {e}", time.monotonic() - t0)
        else:
            self.emit(scenario, "pass", note if isinstance(note, str) else "", time.monotonic() - t0)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        print(f"=== {scenario}: done in {time.monotonic() - t0:.1f}s", flush=True)


@contextmanager
def closing_all(*objs):
    try:
        yield objs
    finally:
        for o in objs:
            try:
                o.close()
            except Exception:  # noqa: BLE001
                pass


def schema_registry_url() -> str:
    """The registry the driver started for this run; a failure that says
    "schema registry not available" is read by the driver as "depends on issue 6"."""
    import os

    url = os.environ.get("MATRIX_SCHEMA_REGISTRY_URL")
    if not url:
        raise AssertionError("schema registry not available: "
                             + os.environ.get("MATRIX_SCHEMA_REGISTRY_ERROR", "the driver started none"))
    return url


def args() -> tuple[str, str]:
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} BOOTSTRAP TOPIC_PREFIX")
    return sys.argv[1], sys.argv[2]
