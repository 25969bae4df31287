"""`lotline bench pick --json` runs end to end on a small warehouse and reports its keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_pick_bench_allocates_a_wave_and_confirms_picks_with_a_true_ledger() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.bench.runner",
            "pick",
            "--json",
            "--duration",
            "1",
            "--warmup",
            "0.3",
            "--runs",
            "1",
            "--clients",
            "4",
            "--scale",
            "0.05",
            "--lines",
            "400",
            "--pgbench-scale",
            "2",
            "--pgbench-clients",
            "4",
            "--pick-rate",
            "50",
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
    for key in ("allocate_lines_per_s", "pick_confirm_per_s", "pick_confirm_p99_ms"):
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert report["errors"] == 0, report["error_samples"]
    assert report["ledger_mismatches"] == 0
    [wave] = report["waves"]
    assert wave["lines"] == 400 and wave["orders"] == 100
    assert wave["tasks"] >= wave["allocatedLines"] > 0
    # Every scan sent before the pickers ran out of units was a pick.
    assert report["verdicts"]["picked"] > 0
    assert set(report["verdicts"]) <= {"picked", "task_done"}
    assert report["clients"] == 4 and report["paced_rate"] == 50
