"""`lotline bench trace --json` runs end to end on a tiny history, checks its answers
against the ledger, and reports its keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_trace_bench_loads_a_history_and_verifies_every_trace_and_export() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.bench.runner",
            "trace",
            "--json",
            "--scale",
            "0.05",
            "--orders",
            "2000",
            "--movements",
            "20000",
            "--requests",
            "20",
            "--exports",
            "2",
            "--clients",
            "2",
            "--explain",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, (
        f"stdout must be exactly one JSON object:\n{result.stdout}\n{result.stderr}"
    )
    report = json.loads(lines[0])
    assert result.returncode == 0, report

    for key in ("ledger_rows", "forward_trace_ms", "forward_trace_p99_ms", "fsma_export_ms"):
        assert isinstance(report[key], int | float) and report[key] > 0, key
    # The opening stock's receipts, and per line a pick, a pack and a ship: 20,000 asked,
    # more when the orders alone need more.
    assert report["ledger_rows"] >= 20_000
    # --explain: the forward statement's plan, run as the server runs it.
    assert any("Execution Time" in line for line in report["explain"]), report["explain"]
    history = report["history"]
    assert history["sales_order_shipped"] == 2000
    assert history["order_line"] >= 2000
    assert report["ledger_mismatches"] == 0

    # Every trace and export was checked against the ledger, and every one was right:
    # 10 lots warmed up, 1 more per extra client, 20 + 20 timed; 2 lots x (warm-up + runs).
    assert report["errors"] == 0, report["error_samples"]
    assert report["wrong_answers"] == 0, report["mismatches"]
    assert report["answers_verified"] >= 20 + 20 + 2
    lots = report["lots"]
    roles = {lot["role"] for lot in lots}
    assert roles == {"bestseller", "busy", "typical"}
    bestseller = lots[0]
    assert bestseller["role"] == "bestseller"
    assert bestseller["orders"] == max(lot["orders"] for lot in lots) > 1
    assert bestseller["shipped"] > 0 and bestseller["received"] >= bestseller["shipped"]
    assert report["fsma_export_rows"] >= bestseller["orders"] + bestseller["receipts"]
    assert report["clients"] == 2 and report["requests"] == 20
