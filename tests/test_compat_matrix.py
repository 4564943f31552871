"""The client compatibility matrix as a test: every runner against the real broker.

Runs compat-matrix/matrix.py (its own broker on an ephemeral port, every
client runner, a few at a time) into a temporary directory and fails if any
cell failed, listing each failed cell with its reason and the tail of that
runner's log. "unsupported" cells (a client without the feature, or a
scenario that waits for a named issue) do not fail. The committed
compat-matrix/MATRIX.md is not touched: `make matrix` rewrites that one.

`MATRIX_ONLY=kafkajs,sarama` limits the run to some clients.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, broker_binary

DRIVER = REPO_ROOT / "compat-matrix" / "matrix.py"


@pytest.mark.timeout(600)
def test_compat_matrix_has_no_failed_cell(tmp_path):
    out = tmp_path / "MATRIX.md"
    cmd = [sys.executable, str(DRIVER), "--out", str(out), "--broker-bin", str(broker_binary())]
    if os.environ.get("MATRIX_ONLY"):
        cmd += ["--only", os.environ["MATRIX_ONLY"]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=580)
    print(proc.stdout[-20000:])
    assert proc.returncode == 0, f"matrix.py exited {proc.returncode}\n{proc.stderr[-5000:]}"

    results = json.loads((tmp_path / "logs" / "results.json").read_text())
    assert results, "the driver reported no cells"
    rows = {r["client"] for r in results}
    if not os.environ.get("MATRIX_ONLY"):
        assert len(rows) >= 9, f"only {len(rows)} clients reported: {sorted(rows)}"
    unexplained = [r for r in results if r["status"] == "unsupported" and not r["reason"].strip()]
    assert not unexplained, f"unsupported cells without a reason: {unexplained}"

    failed = [r for r in results if r["status"] == "fail"]
    if failed:
        report = []
        for r in failed:
            log = tmp_path / r["log"]
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
            report.append(f"--- {r['client']} / {r['scenario']}: {r['reason']}\n[log tail of {log}]\n{tail}")
        broker_log = tmp_path / "logs" / "broker.txt"
        broker_tail = broker_log.read_text(errors="replace")[-4000:] if broker_log.exists() else "(no broker log)"
        pytest.fail(
            f"{len(failed)} failed cell(s) in the compatibility matrix (full matrix: {out}):\n"
            + "\n".join(report)
            + f"\n--- broker log tail ---\n{broker_tail}",
            pytrace=False,
        )


def test_matrix_driver_counts_a_crashed_runner_as_failed(tmp_path):
    """A runner that dies before reporting its scenarios fails them (no silent gaps)."""
    code = f"""
import sys
sys.path.insert(0, {str(DRIVER.parent)!r})
import matrix
from pathlib import Path

def crash(log):
    return [sys.executable, "-c", "import sys; print('MATRIX {{\\"scenario\\": \\"metadata\\", \\"status\\": \\"pass\\", \\"version\\": \\"x\\"}}'); sys.exit(3)"], {{}}

client = matrix.Client("crashy", "crashy", crash, scenarios=["metadata", "fetch"])

class FakeBroker:
    bootstrap = "127.0.0.1:1"

row = matrix.run_client(client, FakeBroker(), Path({str(tmp_path)!r}), "p", {{}})
print(row.cells["metadata"].status, row.cells["fetch"].status, row.cells["fetch"].reason)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == ["pass", "fail"], proc.stdout
    assert "exited 3" in proc.stdout
