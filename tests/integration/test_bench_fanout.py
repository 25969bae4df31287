"""`lotline bench fanout --json` runs end to end, small: every socket gets every hold's
message in order, although every worker's listener was killed halfway."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

SOCKETS = 20
HOLDS = 3


def test_fanout_bench_delivers_every_hold_to_every_socket_through_a_killed_listener() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.bench.runner",
            "fanout",
            "--json",
            "--ws-clients",
            str(SOCKETS),
            "--holds",
            str(HOLDS),
            "--duration",
            "2",
            "--warmup",
            "0.3",
            "--runs",
            "1",
            "--clients",
            "4",
            "--scale",
            "0.05",
            "--grace",
            "5",
            "--pgbench-scale",
            "2",
            "--pgbench-clients",
            "4",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be one JSON object:\n{result.stdout}\n{result.stderr}"
    report = json.loads(lines[0])
    assert result.returncode == 0, report["error_samples"] or result.stderr[-3000:]
    assert report["clients"] == SOCKETS and report["workers"] == 2
    for key in ("p50_ms", "p99_ms"):
        assert isinstance(report[key], int | float) and 0 < report[key] < 10_000, key
    assert report["p50_ms"] <= report["p99_ms"]
    # Latency starts at the commit; the outbox row was written a little before it.
    assert report["latency_from"] == "commit" and report["at_to_commit_ms"] > 0
    assert report["p50_ms_from_at"] > report["p50_ms"]
    assert report["lost"] == 0 and report["lost_deliveries"] == 0 and report["gaps"] == 0
    assert report["late_or_repeated"] == 0 and report["disconnected"] == 0
    [run] = report["runs"]
    # One lot.held per hold for the watched site, and every socket got each one.
    assert run["holds_placed"] == HOLDS and run["messages"] == HOLDS
    assert run["deliveries"] == HOLDS * SOCKETS
    assert sum(run["sockets_per_worker"]) >= SOCKETS
    assert report["listeners_killed"] == 2 and report["listeners_back_ms"] > 0
    for key in ("writes_per_s_alone", "writes_per_s_with_fanout"):
        assert report[key] > 0, key
    assert isinstance(report["write_slowdown"], float)
    assert report["write_errors"] == 0 and report["hold_errors"] == 0
    assert report["ledger_mismatches"] == 0
