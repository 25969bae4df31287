"""`lotline bench ledger --json` runs end to end and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_ledger_bench_reports_sane_numbers_and_cleans_up() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.bench.runner",
            "ledger",
            "--json",
            "--duration",
            "2",
            "--warmup",
            "1",
            "--runs",
            "1",
            "--clients",
            "4",
            "--pgbench-scale",
            "2",
            "--pgbench-clients",
            "4",
            "--rate",
            "100",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be exactly one JSON object:\n{result.stdout}"
    report = json.loads(lines[0])

    for key in ("writes_per_s", "p50_ms", "p99_ms", "pgbench_tps", "ratio"):
        assert isinstance(report[key], int | float), key
    assert report["writes_per_s"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"]
    assert 0 < report["saturated_p50_ms"] <= report["saturated_p99_ms"]
    assert report["latency_at_writes_per_s"] == 100
    assert report["paced_writes_per_s"] > 0
    assert report["pgbench_tps"] > 0
    assert report["ratio"] == pytest.approx(report["writes_per_s"] / report["pgbench_tps"], 1e-2)
    assert report["errors"] == 0, report["error_samples"]
    assert report["ledger_mismatches"] == 0
    assert report["clients"] == 4
    assert report["runs"][0]["writes_by_kind"].get("move", 0) > 0

    # The server, the database and the temporary folder are gone.
    assert not Path(report["tmpdir"]).exists()
    for pid in (report["server_pid"], report["postgres_pid"]):
        assert pid is not None
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    leftovers = [
        process.info["pid"]
        for process in psutil.process_iter(["pid", "cmdline"])
        if report["tmpdir"] in " ".join(process.info["cmdline"] or [])
    ]
    assert leftovers == []
