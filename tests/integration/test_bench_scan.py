"""`lotline bench scan --json` runs end to end on a small warehouse and reports its keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_scan_bench_reports_parse_lookup_and_record_figures() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.bench.runner",
            "scan",
            "--json",
            "--duration",
            "2",
            "--warmup",
            "0.5",
            "--runs",
            "1",
            "--clients",
            "4",
            "--scale",
            "0.05",
            "--history",
            "4",
            "--pgbench-scale",
            "2",
            "--pgbench-clients",
            "4",
            "--lookup-rate",
            "100",
            "--record-rate",
            "100",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be exactly one JSON object:\n{result.stdout}"
    report = json.loads(lines[0])

    for key in ("parse_per_s", "lookup_per_s", "lookup_p99_ms", "record_per_s", "record_p99_ms"):
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert report["errors"] == 0, report["error_samples"]
    assert report["paced_rates"] == {"lookup": 100, "record": 100}
    assert report["clients"] == 4
    # 100 products x 10 lots, each with its receipts and 4 moves of history.
    assert report["dataset"]["lot"] == 1_000
    assert report["dataset"]["movement"] >= 5_000
