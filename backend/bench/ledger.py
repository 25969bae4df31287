"""`lotline bench ledger`: receipts and moves over real HTTP, against the database's ceiling.

Every client is a handheld with its own token and keep-alive connection, sending the next
write as soon as the last is answered, each with a fresh idempotencyKey. About half are moves
of one unit between two bins of a lot only that client moves, alternating direction, so stock
never runs dry; the rest are receipts, half into an existing lot and half creating a new one.
Only 201s count as writes; anything else is an error, reported with a sample of its body.
"""

from __future__ import annotations

import argparse
import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec

from backend.bench.dataset import Dataset
from backend.bench.harness import Harness
from backend.bench.loadgen import BenchRequest
from backend.bench.registry import BenchResult, TableRow, benchmark, sql_profile_notes
from backend.bench.stats import cpu_ms_per_request, median, median_of_runs, verdict

__all__ = ["TARGET_P99_MS", "TARGET_WRITES_PER_S", "LedgerWorkload", "run_ledger"]

TARGET_WRITES_PER_S = 1_500
TARGET_P99_MS = 25.0
PAIRS_PER_CLIENT = 16
ERROR_SAMPLES = 5


@dataclass(slots=True)
class _MovePair:
    lot_id: int
    here: str
    there: str

    def flip(self, status: int) -> None:
        if status == 201:
            self.here, self.there = self.there, self.here


class LedgerWorkload:
    """The next write of each client: a move or a receipt."""

    def __init__(self, dataset: Dataset, clients: int, move_share: float, seed: int = 7) -> None:
        movable = [lot for lot in dataset.lots if len(lot.bins) >= 2]
        if len(movable) < clients:
            raise RuntimeError("too few lots held in two bins for one per client; raise --scale")
        self.pairs = [
            [
                _MovePair(lot.id, lot.bins[0], lot.bins[1])
                for lot in movable[client::clients][:PAIRS_PER_CLIENT]
            ]
            for client in range(clients)
        ]
        self.turn = [0] * clients
        self.rngs = [random.Random(seed * 1000 + client) for client in range(clients)]
        self.lots = dataset.lots
        self.bins = dataset.bins
        self.skus = dataset.skus
        self.move_share = move_share
        self.new_lot_numbers = itertools.count(1)
        self.run_tag = uuid.uuid4().hex[:4].upper()
        self.today = date.today().isoformat()
        self.expiry = (date.today() + timedelta(days=180)).isoformat()
        self.encode = msgspec.json.Encoder().encode

    def next_request(self, client: int) -> BenchRequest:
        rng = self.rngs[client]
        if rng.random() < self.move_share:
            pairs = self.pairs[client]
            pair = pairs[self.turn[client] % len(pairs)]
            self.turn[client] += 1
            body = {
                "idempotencyKey": str(uuid.uuid4()),
                "lotId": pair.lot_id,
                "from": pair.here,
                "to": pair.there,
                "quantity": 1,
            }
            return BenchRequest("/api/moves", self.encode(body), "move", done=pair.flip)
        if rng.random() < 0.5:
            lot = rng.choice(self.lots)
            body = {
                "idempotencyKey": str(uuid.uuid4()),
                "sku": lot.sku,
                "lotCode": lot.code,
                "quantity": rng.randint(1, 48),
                "location": rng.choice(self.bins),
            }
            return BenchRequest("/api/receipts", self.encode(body), "receipt")
        body = {
            "idempotencyKey": str(uuid.uuid4()),
            "sku": rng.choice(self.skus),
            "lotCode": f"B{self.run_tag}{next(self.new_lot_numbers):07d}",
            "productionDate": self.today,
            "expiry": self.expiry,
            "quantity": rng.randint(1, 480),
            "location": rng.choice(self.bins),
        }
        return BenchRequest("/api/receipts", self.encode(body), "receipt_new_lot")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help=f"writes/s offered in the paced runs that measure latency "
        f"(default {TARGET_WRITES_PER_S:,}, the target)",
    )
    parser.add_argument(
        "--move-share",
        type=float,
        default=0.5,
        help="fraction of writes that are moves; the rest are receipts (default 0.5)",
    )


@benchmark(
    "ledger",
    "receipts and moves from many clients over HTTP, with pgbench's ceiling",
    add_arguments=_add_arguments,
)
async def run_ledger(harness: Harness) -> BenchResult:
    """Runs of closed-loop writes, each followed by a pgbench run of the same length."""
    options = harness.options
    progress = harness.progress
    workload = LedgerWorkload(
        harness.dataset, options.clients, float(options.extra.get("move_share", 0.5))
    )
    samples: list[dict[str, Any]] = []

    def on_error(request: BenchRequest, status: int, body: bytes) -> None:
        if len(samples) < ERROR_SAMPLES:
            samples.append(
                {
                    "kind": request.kind,
                    "status": status,
                    "body": body[:400].decode(errors="replace"),
                }
            )
            progress.note(f"error {status} on {request.kind}: {body[:200]!r}")

    runs: list[dict[str, Any]] = []
    statuses: Counter[str] = Counter()
    await harness.settle_database()
    await harness.reset_sql_profile()
    for number in range(1, options.runs + 1):
        with progress.phase(
            f"run {number}/{options.runs}: {options.clients} clients, "
            f"{options.warmup_s:g}s warm-up + {options.duration_s:g}s"
        ):
            stats, cpu = await harness.run_load(workload.next_request, on_error)
        connections = harness.worker_connections()
        summary = stats.summary()
        rate = float(options.extra.get("rate") or TARGET_WRITES_PER_S)
        with progress.phase(f"run {number}/{options.runs}: paced at {rate:,.0f} writes/s"):
            paced_stats, _ = await harness.run_load(workload.next_request, on_error, rate)
        paced = paced_stats.summary()
        with progress.phase(f"run {number}/{options.runs}: pgbench"):
            tps = await harness.pgbench_tps()
            await harness.settle_database()
        statuses.update(stats.statuses)
        statuses.update(paced_stats.statuses)
        cpu_ms = cpu_ms_per_request(cpu, options.duration_s, len(stats.latencies_ms))
        run = {
            "writes_per_s": round(summary["per_s"], 1),
            "p50_ms": round(summary["p50_ms"], 2),
            "p90_ms": round(summary["p90_ms"], 2),
            "p99_ms": round(summary["p99_ms"], 2),
            "max_ms": round(summary["max_ms"], 2),
            "paced_rate": rate,
            "paced_writes_per_s": round(paced["per_s"], 1),
            "paced_p50_ms": round(paced["p50_ms"], 2),
            "paced_p99_ms": round(paced["p99_ms"], 2),
            "paced_unsent": paced_stats.unsent,
            "errors": stats.errors + paced_stats.errors,
            "statuses": dict(stats.statuses),
            "writes_by_kind": dict(stats.by_kind),
            "pgbench_tps": round(tps, 1),
            "cpu_share": cpu,
            "cpu_ms_per_request": cpu_ms,
            "connections_per_worker": connections,
        }
        runs.append(run)
        progress.note(
            f"run {number}: {run['writes_per_s']:.0f} writes/s, p50 {run['p50_ms']:.1f} ms, "
            f"p99 {run['p99_ms']:.1f} ms; paced {run['paced_writes_per_s']:.0f}/s p50 "
            f"{run['paced_p50_ms']:.1f} p99 {run['paced_p99_ms']:.1f} ms; "
            f"{run['errors']} errors; pgbench {tps:.0f} tps; "
            f"cpu {cpu}"
        )

    sql_profile = await harness.sql_profile()
    with progress.phase("checking the ledger against the balances"):
        mismatches = await harness.ledger_mismatches()

    middle = median_of_runs(
        [
            {
                k: float(run[k])
                for k in (
                    "writes_per_s",
                    "p50_ms",
                    "p99_ms",
                    "paced_writes_per_s",
                    "paced_p50_ms",
                    "paced_p99_ms",
                    "pgbench_tps",
                )
            }
            for run in runs
        ]
    )
    cpu_keys = runs[0]["cpu_share"].keys() if runs else ()
    cpu_share = {key: round(median([run["cpu_share"][key] for run in runs]), 3) for key in cpu_keys}
    cpu_ms_keys = runs[0]["cpu_ms_per_request"].keys() if runs else ()
    cpu_ms = {
        key: round(median([run["cpu_ms_per_request"][key] for run in runs]), 3)
        for key in cpu_ms_keys
    }
    errors = sum(run["errors"] for run in runs)
    writes = round(middle["writes_per_s"], 1)
    saturated_p50 = round(middle["p50_ms"], 2)
    saturated_p99 = round(middle["p99_ms"], 2)
    paced_rate = runs[0]["paced_rate"] if runs else float(TARGET_WRITES_PER_S)
    paced_writes = round(middle["paced_writes_per_s"], 1)
    p50 = round(middle["paced_p50_ms"], 2)
    p99 = round(middle["paced_p99_ms"], 2)
    tps = round(middle["pgbench_tps"], 1)
    ratio = round(writes / tps, 4) if tps else 0.0
    meets = writes >= TARGET_WRITES_PER_S and p99 <= TARGET_P99_MS
    metrics: dict[str, Any] = {
        "writes_per_s": writes,
        "p50_ms": p50,
        "p99_ms": p99,
        "latency_at_writes_per_s": paced_rate,
        "paced_writes_per_s": paced_writes,
        "saturated_p50_ms": saturated_p50,
        "saturated_p99_ms": saturated_p99,
        "pgbench_tps": tps,
        "ratio": ratio,
        "errors": errors,
        "error_statuses": {k: v for k, v in statuses.items() if k != "201"},
        "error_samples": samples,
        "ledger_mismatches": mismatches,
        "targets": {"writes_per_s": TARGET_WRITES_PER_S, "p99_ms": TARGET_P99_MS},
        "meets_targets": meets,
        "cpu_share": cpu_share,
        "cpu_ms_per_request": cpu_ms,
        "runs": runs,
        "move_share": workload.move_share,
    }
    if sql_profile:
        metrics["sql_profile"] = sql_profile
    rows = [
        TableRow(
            "writes/s at saturation (closed loop)",
            f"{writes:,.0f}",
            f">= {TARGET_WRITES_PER_S:,}",
            verdict(writes >= TARGET_WRITES_PER_S),
        ),
        TableRow(
            f"paced at {paced_rate:,.0f}/s offered: achieved",
            f"{paced_writes:,.0f}/s",
        ),
        TableRow(f"p50 latency at {paced_rate:,.0f}/s", f"{p50:.1f} ms"),
        TableRow(
            f"p99 latency at {paced_rate:,.0f}/s",
            f"{p99:.1f} ms",
            f"<= {TARGET_P99_MS:g} ms",
            verdict(p99 <= TARGET_P99_MS),
        ),
        TableRow("p50 / p99 at saturation", f"{saturated_p50:.1f} ms / {saturated_p99:.1f} ms"),
        TableRow("pgbench tps (1-row UPDATE)", f"{tps:,.0f}"),
        TableRow("ratio writes/s : pgbench tps", f"{ratio:.3f}"),
        TableRow("errors (non-201, transport)", str(errors), "0", verdict(errors == 0)),
        TableRow(
            "ledger = balances",
            "yes" if mismatches == 0 else f"{mismatches} mismatches",
            "yes",
            verdict(mismatches == 0),
        ),
        TableRow(
            "cpu share server / postgres / loadgen / idle",
            " / ".join(
                f"{cpu_share.get(k, 0):.0%}"
                for k in ("server", "postgres", "loadgen", "machine_idle")
            ),
        ),
        TableRow(
            "cpu ms per request server / postgres / loadgen",
            " / ".join(f"{cpu_ms.get(k, 0):.2f}" for k in ("server", "postgres", "loadgen")),
        ),
    ]
    for index, run in enumerate(runs, 1):
        rows.append(
            TableRow(
                f"  run {index}",
                f"{run['writes_per_s']:,.0f}/s p99 {run['p99_ms']:.1f} ms; paced "
                f"{run['paced_writes_per_s']:,.0f}/s p50 {run['paced_p50_ms']:.1f} "
                f"p99 {run['paced_p99_ms']:.1f} ms; pgbench {run['pgbench_tps']:,.0f}; "
                f"errors {run['errors']}",
            )
        )
    notes = [f"{sample['status']} on {sample['kind']}: {sample['body']}" for sample in samples]
    notes += sql_profile_notes(sql_profile)
    return BenchResult(metrics, rows, notes, ok=errors == 0 and mismatches == 0)
