"""`lotline bench replay --json` runs end to end on a few devices and reports its keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_replay_bench_drains_every_outbox_once_with_a_true_ledger() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.bench.runner",
            "replay",
            "--json",
            "--clients",
            "4",
            "--scans",
            "20",
            "--batch",
            "8",
            "--scale",
            "0.05",
            "--pgbench-scale",
            "2",
            "--pgbench-clients",
            "4",
            "--duration",
            "1",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be exactly one JSON object:\n{result.stdout}"
    report = json.loads(lines[0])
    assert result.returncode == 0, report
    assert report["devices"] == 4 and report["scans"] > 4
    # 30% of the scans went twice; every copy was answered as a replay and applied nothing.
    copies = report["sends"] - report["scans"]
    assert 0.25 * report["scans"] <= copies <= 0.35 * report["scans"]
    assert report["answered_replayed"] == copies
    assert (report["duplicates_applied"], report["lost"], report["errors"]) == (0, 0, 0)
    assert report["applied"] == report["scans"]
    assert set(report["verdicts"]) == {"bin_confirmed", "picked"}
    assert report["ledger_mismatches"] == 0
    assert report["drain_s"] > 0 and report["pgbench_tps"] > 0
