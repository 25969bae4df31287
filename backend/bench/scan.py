"""`lotline bench scan`: barcode parsing in process, and lookup and recorded scans over HTTP.

The warehouse is loaded at the size the issue names: 100,000 lots and about a million ledger
rows (scale 5 with 8 moves of history per lot). 64 clients, each a handheld with its own
token and keep-alive connection, scan what a floor scans: mostly GS1 DataMatrix element
strings of real lots (GTIN, expiry, lot; symbology `]d2`), some GS1 Digital Link URIs and
some location labels.

- `parse_per_s`: the parser alone, in this process on one core, over the same mix.
- `lookup_*`: `POST /api/scans` in context `lookup` (the lot card comes back).
- `record_*`: `POST /api/scans` in context `receive` (checked against the product and the
  lot's record; recorded like every scan).

Each HTTP figure has a saturation run (closed loop: the most the server answers) and a run
paced at the target rate, whose p99 is the latency a floor scanning at that rate would see
(coordinated omission corrected, as in `ledger`). pgbench's one-row update rate is measured
in the same run as the database's ceiling.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from backend.bench.dataset import Dataset, LotRef
from backend.bench.harness import Harness
from backend.bench.loadgen import BenchRequest
from backend.bench.registry import BenchResult, TableRow, benchmark, sql_profile_notes
from backend.bench.stats import median, median_of_runs, verdict
from backend.domain.barcodes import parse_barcode

__all__ = ["TARGETS", "ScanWorkload", "run_scan"]

GS = "\x1d"

TARGETS = {
    "parse_per_s": 50_000.0,
    "lookup_per_s": 5_000.0,
    "lookup_p99_ms": 10.0,
    "record_per_s": 2_000.0,
    "record_p99_ms": 20.0,
}
"""The issue's targets on 2 cores: app, database and load generator together."""

PARSE_SECONDS = 2.0
ERROR_SAMPLES = 5


def _yymmdd(day: date | None) -> str:
    return day.strftime("%y%m%d") if day else "000000"


def element_string(lot: LotRef) -> str:
    """What a GS1 DataMatrix on the lot's carton holds: GTIN, expiry, lot (no GS needed
    after the last, variable-length field)."""
    return f"01{lot.gtin}17{_yymmdd(lot.expiry)}10{lot.code}"


def digital_link(lot: LotRef) -> str:
    """The lot's GS1 Digital Link URI, as a QR code on the carton carries it."""
    return f"https://id.lotline.example/01/{lot.gtin}/10/{lot.code}?17={_yymmdd(lot.expiry)}"


class ScanWorkload:
    """The next scan of each client: 80% DataMatrix, 10% Digital Link, 10% location labels."""

    def __init__(self, dataset: Dataset, clients: int, context: str, seed: int = 11) -> None:
        self.lots = dataset.lots
        self.bins = dataset.bins
        self.context = context
        self.rngs = [random.Random(seed * 1000 + client) for client in range(clients)]
        self.devices = [f"bench-handheld-{client:03d}" for client in range(clients)]
        self.encode = msgspec.json.Encoder().encode

    def scan(self, rng: random.Random) -> tuple[str, str | None]:
        """A raw barcode and its symbology identifier."""
        roll = rng.random()
        if roll < 0.8:
            return element_string(rng.choice(self.lots)), "]d2"
        if roll < 0.9:
            return digital_link(rng.choice(self.lots)), "]Q1"
        return rng.choice(self.bins), None

    def next_request(self, client: int) -> BenchRequest:
        raw, symbology = self.scan(self.rngs[client])
        body = {
            "idempotencyKey": str(uuid.uuid4()),
            "context": self.context,
            "raw": raw,
            "symbology": symbology,
            "deviceId": self.devices[client],
            "scannedAt": datetime.now(UTC).isoformat(),
        }
        return BenchRequest("/api/scans", self.encode(body), self.context)


def measure_parse_rate(dataset: Dataset, seconds: float = PARSE_SECONDS) -> float:
    """Barcodes parsed per second by `parse_barcode` on this one core, over the scan mix."""
    workload = ScanWorkload(dataset, 1, "lookup")
    rng = random.Random(5)
    inputs = [workload.scan(rng) for _ in range(2_000)]
    parsed = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for raw, symbology in inputs:
            parse_barcode(raw, symbology=symbology)
        parsed += len(inputs)
    return parsed / (time.perf_counter() - started)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    for name in ("lookup", "record"):
        parser.add_argument(
            f"--{name}-rate",
            type=float,
            default=TARGETS[f"{name}_per_s"],
            help=f"{name} scans/s offered in the paced runs "
            f"(default {TARGETS[f'{name}_per_s']:,.0f}, the target)",
        )


@benchmark(
    "scan",
    "barcode parsing in process; lookup and recorded scans over HTTP",
    add_arguments=_add_arguments,
    defaults={"clients": 64, "scale": 5.0, "history": 8},
)
async def run_scan(harness: Harness) -> BenchResult:
    """Parse rate, then per run: lookups and recorded scans, saturated and paced; pgbench."""
    options = harness.options
    progress = harness.progress
    samples: list[dict[str, Any]] = []

    def on_error(request: BenchRequest, status: int, body: bytes) -> None:
        if len(samples) < ERROR_SAMPLES:
            samples.append(
                {"kind": request.kind, "status": status, "body": body[:400].decode("replace")}
            )
            progress.note(f"error {status} on {request.kind}: {body[:200]!r}")

    with progress.phase("parsing barcodes in process (one core)"):
        parse_rates = [measure_parse_rate(harness.dataset) for _ in range(3)]
    parse_per_s = round(median(parse_rates), 0)
    progress.note(f"parse: {', '.join(f'{rate:,.0f}/s' for rate in parse_rates)}")

    lookups = ScanWorkload(harness.dataset, options.clients, "lookup")
    records = ScanWorkload(harness.dataset, options.clients, "receive")
    runs: list[dict[str, float]] = []
    statuses: Counter[str] = Counter()
    errors = 0
    await harness.settle_database()
    await harness.reset_sql_profile()
    for number in range(1, options.runs + 1):
        run: dict[str, float] = {}
        rates = {name: float(options.extra[f"{name}_rate"]) for name in ("lookup", "record")}
        for name, workload in (("lookup", lookups), ("record", records)):
            rate = rates[name]
            figures, both = await harness.saturated_and_paced(
                f"{name} scans", name, workload.next_request, on_error, rate, number
            )
            run |= figures
            for stats in both:
                statuses.update(stats.statuses)
                errors += stats.errors
        with progress.phase(f"run {number}/{options.runs}: pgbench"):
            run["pgbench_tps"] = round(await harness.pgbench_tps(), 1)
            await harness.settle_database()
        runs.append(run)
        progress.note(
            f"run {number}: lookup {run['lookup_per_s']:,.0f}/s, paced p99 "
            f"{run['lookup_p99_ms']:.1f} ms; record {run['record_per_s']:,.0f}/s, paced p99 "
            f"{run['record_p99_ms']:.1f} ms; pgbench {run['pgbench_tps']:,.0f} tps"
        )

    sql_profile = await harness.sql_profile()
    middle = {key: round(value, 2) for key, value in median_of_runs(runs).items()}
    metrics: dict[str, Any] = {
        "parse_per_s": parse_per_s,
        "lookup_per_s": middle["lookup_per_s"],
        "lookup_p99_ms": middle["lookup_p99_ms"],
        "record_per_s": middle["record_per_s"],
        "record_p99_ms": middle["record_p99_ms"],
        "lookup_p50_ms": middle["lookup_p50_ms"],
        "record_p50_ms": middle["record_p50_ms"],
        "lookup_saturated_p99_ms": middle["lookup_saturated_p99_ms"],
        "record_saturated_p99_ms": middle["record_saturated_p99_ms"],
        "pgbench_tps": middle["pgbench_tps"],
        "ratio": round(middle["record_per_s"] / middle["pgbench_tps"], 4)
        if middle["pgbench_tps"]
        else 0.0,
        "errors": errors,
        "error_statuses": {k: v for k, v in statuses.items() if k != "201"},
        "error_samples": samples,
        "targets": TARGETS,
        "paced_rates": {
            "lookup": options.extra["lookup_rate"],
            "record": options.extra["record_rate"],
        },
        "runs": runs,
        "parse_runs": [round(rate) for rate in parse_rates],
    }
    met = {
        "parse_per_s": parse_per_s >= TARGETS["parse_per_s"],
        "lookup_per_s": metrics["lookup_per_s"] >= TARGETS["lookup_per_s"],
        "lookup_p99_ms": metrics["lookup_p99_ms"] <= TARGETS["lookup_p99_ms"],
        "record_per_s": metrics["record_per_s"] >= TARGETS["record_per_s"],
        "record_p99_ms": metrics["record_p99_ms"] <= TARGETS["record_p99_ms"],
    }
    metrics["meets_targets"] = all(met.values())
    if sql_profile:
        metrics["sql_profile"] = sql_profile
    rows = [
        TableRow(
            "parse/s (one core, in process)",
            f"{parse_per_s:,.0f}",
            f">= {TARGETS['parse_per_s']:,.0f}",
            verdict(met["parse_per_s"]),
        ),
    ]
    for name, label in (("lookup", "lookup"), ("record", "recorded")):
        rows += [
            TableRow(
                f"{label} scans/s at saturation",
                f"{metrics[f'{name}_per_s']:,.0f}",
                f">= {TARGETS[f'{name}_per_s']:,.0f}",
                verdict(met[f"{name}_per_s"]),
            ),
            TableRow(
                f"{label} p50 / p99 paced at {options.extra[f'{name}_rate']:,.0f}/s",
                f"{middle[f'{name}_p50_ms']:.1f} / {metrics[f'{name}_p99_ms']:.1f} ms",
                f"p99 <= {TARGETS[f'{name}_p99_ms']:g} ms",
                verdict(met[f"{name}_p99_ms"]),
            ),
        ]
    rows += [
        TableRow("pgbench tps (1-row UPDATE)", f"{metrics['pgbench_tps']:,.0f}"),
        TableRow("ratio recorded scans/s : pgbench tps", f"{metrics['ratio']:.3f}"),
        TableRow("errors (non-201, transport)", str(errors), "0", verdict(errors == 0)),
    ]
    for name in ("lookup", "record"):
        rows.append(
            TableRow(
                f"cpu ms per {name} server / postgres / loadgen",
                " / ".join(
                    f"{middle.get(f'{name}_cpu_ms_{part}', 0):.2f}"
                    for part in ("server", "postgres", "loadgen")
                ),
            )
        )
    for index, run in enumerate(runs, 1):
        rows.append(
            TableRow(
                f"  run {index}",
                f"lookup {run['lookup_per_s']:,.0f}/s, p99 {run['lookup_p99_ms']:.1f} ms; "
                f"record {run['record_per_s']:,.0f}/s, p99 {run['record_p99_ms']:.1f} ms; "
                f"pgbench {run['pgbench_tps']:,.0f}",
            )
        )
    notes = [f"{sample['status']} on {sample['kind']}: {sample['body']}" for sample in samples]
    notes += sql_profile_notes(sql_profile)
    return BenchResult(metrics, rows, notes, ok=errors == 0)
