"""`lotline bench pick`: allocate a wave over HTTP, then pick-confirm scans from every picker.

The warehouse is the size the issue names: 100,000 lots (scale 5: 10,000 products of ten
lots, each in one to three bins). Each run first allocates a wave of 10,000 order lines
(2,500 orders of four lines, one to eight units each, random products, one channel with a
30-day shelf-life rule) by `POST /api/waves`, timed from the client: `allocate_lines_per_s`
is its lines over its wall time. The orders are dealt to the 64 clients, one picker each.

Then every picker scans the lots of their tasks, one unit per scan, as `POST /api/scans`
in context `pick` with the task's id: each scan is judged against the task, the lot's status
is checked under a share lock, one unit moves from the bin to the picker's tote in the ledger,
the task moves on and the scan is recorded, all in one transaction. The bins are confirmed
beforehand (set on the tasks, as if each picker had scanned the bin label), so the load is
pick confirmations only. A saturation run (closed loop) and a run paced at the target rate
give `pick_confirm_per_s` and `pick_confirm_p99_ms`. Scans whose verdict is not `picked`
are counted as errors, and the ledger is checked against the balances at the end.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import asyncpg
import msgspec

from backend.bench.dataset import Dataset
from backend.bench.harness import Harness, bench_user
from backend.bench.loadgen import BenchRequest
from backend.bench.registry import BenchResult, TableRow, benchmark, sql_profile_notes
from backend.bench.stats import median, median_of_runs, verdict

__all__ = ["TARGETS", "PickWorkload", "run_pick"]

TARGETS = {
    "allocate_lines_per_s": 20_000.0,
    "pick_confirm_per_s": 1_500.0,
    "pick_confirm_p99_ms": 25.0,
}
"""The issue's targets on 2 cores: app, database and load generator together."""

LINES_PER_ORDER = 4
MAX_UNITS = 8
CHANNEL = "bench-shop"
ERROR_SAMPLES = 5


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit a picker is to confirm: the task and the barcode on the unit."""

    task_id: int
    raw: str


def _yymmdd(day: date | None) -> str:
    return day.strftime("%y%m%d") if day else "000000"


async def load_orders(
    conn: asyncpg.Connection, dataset: Dataset, lines: int, seed: int
) -> list[int]:
    """Insert open orders with `lines` lines in all (random products), straight into the
    tables; their ids. The channel asks for 30 days of shelf life at shipping."""
    rng = random.Random(seed)
    channel_id = await conn.fetchval(
        """INSERT INTO channel (code, name, kind, min_shelf_life_days)
           VALUES ($1, 'Bench shop', 'own_shop', 30)
           ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
        CHANNEL,
    )
    warehouse_id = await conn.fetchval("SELECT id FROM warehouse WHERE code = 'WH1'")
    products = await conn.fetch(
        """SELECT DISTINCT l.product_id FROM stock_balance b JOIN lot l ON l.id = b.lot_id
             JOIN location loc ON loc.id = b.location_id WHERE loc.warehouse_id = $1""",
        warehouse_id,
    )
    product_ids = [row["product_id"] for row in products]
    orders = lines // LINES_PER_ORDER
    batch = uuid.uuid4().hex[:8]
    async with conn.transaction():
        customer_ids = await conn.fetch(
            """INSERT INTO customer (channel_id, ref, name, country)
               SELECT $1, $2 || '-' || n, 'Customer ' || n, 'DE'
                 FROM generate_series(1, $3) n RETURNING id""",
            channel_id,
            f"C{batch}",
            orders,
        )
        order_ids = await conn.fetch(
            """INSERT INTO sales_order (warehouse_id, channel_id, external_id, customer_id,
                                        country, ship_date)
               SELECT $1, $2, $3 || '-' || c.n, c.id, 'DE', current_date
                 FROM unnest($4::bigint[]) WITH ORDINALITY AS c(id, n)
               RETURNING id""",
            warehouse_id,
            channel_id,
            f"O{batch}",
            [row["id"] for row in customer_ids],
        )
        ids = sorted(row["id"] for row in order_ids)
        rows = [
            (order_id, number, rng.choice(product_ids), rng.randint(1, MAX_UNITS))
            for order_id in ids
            for number in range(1, LINES_PER_ORDER + 1)
        ]
        await conn.copy_records_to_table(
            "order_line", records=rows, columns=["order_id", "line_no", "product_id", "quantity"]
        )
    await conn.execute("ANALYZE sales_order; ANALYZE order_line; ANALYZE customer")
    return ids


async def picking_queues(
    conn: asyncpg.Connection, wave_id: int, clients: int
) -> dict[int, list[Unit]]:
    """Confirm the bins of the wave's tasks (as each picker would by scanning the bin label)
    and list, per client, one unit per scan in walking order."""
    await conn.execute("UPDATE pick_task SET bin_confirmed_at = now() WHERE wave_id = $1", wave_id)
    rows = await conn.fetch(
        """SELECT t.id, t.quantity, u.username, l.code, l.expiry_date,
                  (SELECT min(g.gtin) FROM product_gtin g WHERE g.product_id = l.product_id)
                      AS gtin
             FROM pick_task t JOIN lot l ON l.id = t.lot_id JOIN app_user u ON u.id = t.assignee_id
            WHERE t.wave_id = $1
            ORDER BY u.username, t.walk_sequence, t.id""",
        wave_id,
    )
    client_of = {bench_user(n): n for n in range(clients)}
    queues: dict[int, list[Unit]] = {n: [] for n in range(clients)}
    for row in rows:
        raw = f"]d201{row['gtin']}17{_yymmdd(row['expiry_date'])}10{row['code']}"
        queues[client_of[row["username"]]] += [Unit(row["id"], raw)] * row["quantity"]
    return queues


class PickWorkload:
    """Each client's next pick-confirm scan, from its own queue of units."""

    def __init__(self, clients: int) -> None:
        self.queues: dict[int, list[Unit]] = {n: [] for n in range(clients)}
        self.positions = [0] * clients
        self.devices = [f"bench-picker-{client:03d}" for client in range(clients)]
        self.encode = msgspec.json.Encoder().encode
        self.exhausted = 0

    def add(self, queues: dict[int, list[Unit]]) -> None:
        for client, units in queues.items():
            self.queues[client] += units

    def remaining(self) -> int:
        return sum(len(q) - p for q, p in zip(self.queues.values(), self.positions, strict=True))

    def next_request(self, client: int) -> BenchRequest:
        queue = self.queues[client]
        position = self.positions[client]
        if position < len(queue):
            self.positions[client] = position + 1
            unit = queue[position]
        else:
            # Out of work: scan the last unit again; the server refuses it (task_done) and
            # the run reports it among the scans that were not picks.
            self.exhausted += 1
            unit = queue[-1]
        body = {
            "idempotencyKey": str(uuid.uuid4()),
            "context": "pick",
            "raw": unit.raw,
            "taskId": unit.task_id,
            "deviceId": self.devices[client],
            "scannedAt": datetime.now(UTC).isoformat(),
        }
        return BenchRequest("/api/scans", self.encode(body), "pick")


async def allocate_wave(harness: Harness, order_ids: list[int]) -> tuple[dict[str, Any], float]:
    """`POST /api/waves` for the orders, dealt to every client; the answer and its seconds."""
    pickers = [bench_user(n) for n in range(harness.options.clients)]
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {harness.tokens[0]}"},
        timeout=aiohttp.ClientTimeout(total=600),
    ) as session:
        started = time.perf_counter()
        async with session.post(
            f"{harness.base_url}/api/waves", json={"orderIds": order_ids, "pickers": pickers}
        ) as response:
            body = await response.json()
            took = time.perf_counter() - started
    if response.status != 201:
        raise RuntimeError(f"the wave failed ({response.status}): {body}")
    result: dict[str, Any] = body
    return result, took


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lines",
        type=int,
        default=10_000,
        help="order lines allocated by each run's wave (default 10,000)",
    )
    parser.add_argument(
        "--pick-rate",
        type=float,
        default=TARGETS["pick_confirm_per_s"],
        help=f"pick confirmations/s offered in the paced runs "
        f"(default {TARGETS['pick_confirm_per_s']:,.0f}, the target)",
    )


@benchmark(
    "pick",
    "wave allocation over HTTP; pick-confirm scans from every picker",
    add_arguments=_add_arguments,
    defaults={"clients": 64, "scale": 5.0},
)
async def run_pick(harness: Harness) -> BenchResult:
    """Per run: a wave allocated (timed), then pick confirmations saturated and paced."""
    options = harness.options
    progress = harness.progress
    lines = int(options.extra["lines"])
    rate = float(options.extra["pick_rate"])
    samples: list[dict[str, Any]] = []

    def on_error(request: BenchRequest, status: int, body: bytes) -> None:
        if len(samples) < ERROR_SAMPLES:
            samples.append(
                {"kind": request.kind, "status": status, "body": body[:400].decode("replace")}
            )
            progress.note(f"error {status} on {request.kind}: {body[:200]!r}")

    conn = await asyncpg.connect(harness.database_url)
    try:
        with progress.phase(f"placing {options.runs} x {lines:,} order lines"):
            batches = [
                await load_orders(conn, harness.dataset, lines, seed=run)
                for run in range(options.runs)
            ]
        workload = PickWorkload(options.clients)
        runs: list[dict[str, float]] = []
        statuses: Counter[str] = Counter()
        errors = 0
        waves: list[dict[str, Any]] = []
        await harness.settle_database()
        await harness.reset_sql_profile()
        for number, order_ids in enumerate(batches, start=1):
            run: dict[str, float] = {}
            with progress.phase(f"run {number}/{options.runs}: allocating a wave"):
                made, seconds = await allocate_wave(harness, order_ids)
            waves.append({k: v for k, v in made.items() if k != "shortfalls"})
            run["allocate_lines_per_s"] = round(made["lines"] / seconds, 1)
            run["allocate_s"] = round(seconds, 3)
            workload.add(await picking_queues(conn, made["id"], options.clients))
            await harness.settle_database()
            figures, both = await harness.saturated_and_paced(
                "pick confirmations",
                "pick_confirm",
                workload.next_request,
                on_error,
                rate,
                number,
                cpu_keys="pick",
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
                f"run {number}: allocated {run['allocate_lines_per_s']:,.0f} lines/s; picks "
                f"{run['pick_confirm_per_s']:,.0f}/s, paced p99 {run['pick_confirm_p99_ms']:.1f}"
                f" ms; pgbench {run['pgbench_tps']:,.0f} tps"
            )
        verdicts = {
            row["code"]: row["n"]
            for row in await conn.fetch(
                "SELECT code, count(*) AS n FROM scan WHERE context = 'pick' GROUP BY code"
            )
        }
    finally:
        await conn.close()
    mismatches = await harness.ledger_mismatches()
    sql_profile = await harness.sql_profile()
    not_picked = sum(n for code, n in verdicts.items() if code != "picked")
    middle = {key: round(value, 2) for key, value in median_of_runs(runs).items()}
    metrics: dict[str, Any] = {
        "allocate_lines_per_s": middle["allocate_lines_per_s"],
        "pick_confirm_per_s": middle["pick_confirm_per_s"],
        "pick_confirm_p99_ms": middle["pick_confirm_p99_ms"],
        "pick_confirm_p50_ms": middle["pick_confirm_p50_ms"],
        "pick_confirm_saturated_p99_ms": middle["pick_confirm_saturated_p99_ms"],
        "allocate_s": middle["allocate_s"],
        "pgbench_tps": middle["pgbench_tps"],
        "ratio": round(middle["pick_confirm_per_s"] / middle["pgbench_tps"], 4)
        if middle["pgbench_tps"]
        else 0.0,
        "verdicts": verdicts,
        "not_picked": not_picked,
        "units_left": workload.remaining(),
        "ledger_mismatches": mismatches,
        "errors": errors,
        "error_statuses": {k: v for k, v in statuses.items() if k != "201"},
        "error_samples": samples,
        "targets": TARGETS,
        "paced_rate": rate,
        "waves": waves,
        "runs": runs,
    }
    met = {
        "allocate_lines_per_s": metrics["allocate_lines_per_s"] >= TARGETS["allocate_lines_per_s"],
        "pick_confirm_per_s": metrics["pick_confirm_per_s"] >= TARGETS["pick_confirm_per_s"],
        "pick_confirm_p99_ms": metrics["pick_confirm_p99_ms"] <= TARGETS["pick_confirm_p99_ms"],
    }
    metrics["meets_targets"] = all(met.values())
    if sql_profile:
        metrics["sql_profile"] = sql_profile
    allocated = median([float(w["allocatedLines"]) for w in waves])
    rows = [
        TableRow(
            f"wave of {lines:,} lines: lines allocated/s",
            f"{metrics['allocate_lines_per_s']:,.0f} ({middle['allocate_s']:.2f} s)",
            f">= {TARGETS['allocate_lines_per_s']:,.0f}",
            verdict(met["allocate_lines_per_s"]),
        ),
        TableRow("  lines allocated in full (median)", f"{allocated:,.0f}"),
        TableRow(
            "pick confirmations/s at saturation",
            f"{metrics['pick_confirm_per_s']:,.0f}",
            f">= {TARGETS['pick_confirm_per_s']:,.0f}",
            verdict(met["pick_confirm_per_s"]),
        ),
        TableRow(
            f"pick p50 / p99 paced at {rate:,.0f}/s",
            f"{middle['pick_confirm_p50_ms']:.1f} / {metrics['pick_confirm_p99_ms']:.1f} ms",
            f"p99 <= {TARGETS['pick_confirm_p99_ms']:g} ms",
            verdict(met["pick_confirm_p99_ms"]),
        ),
        TableRow("pgbench tps (1-row UPDATE)", f"{metrics['pgbench_tps']:,.0f}"),
        TableRow("ratio pick confirmations/s : pgbench tps", f"{metrics['ratio']:.3f}"),
        TableRow(
            "cpu ms per pick server / postgres / loadgen",
            " / ".join(
                f"{middle.get(f'pick_cpu_ms_{part}', 0):.2f}"
                for part in ("server", "postgres", "loadgen")
            ),
        ),
        TableRow("scans not picked (verdict)", str(not_picked), "0", verdict(not_picked == 0)),
        TableRow("errors (non-201, transport)", str(errors), "0", verdict(errors == 0)),
        TableRow("ledger vs balances mismatches", str(mismatches), "0", verdict(mismatches == 0)),
    ]
    for index, run in enumerate(runs, 1):
        rows.append(
            TableRow(
                f"  run {index}",
                f"allocate {run['allocate_lines_per_s']:,.0f} lines/s; picks "
                f"{run['pick_confirm_per_s']:,.0f}/s, p99 {run['pick_confirm_p99_ms']:.1f} ms; "
                f"pgbench {run['pgbench_tps']:,.0f}",
            )
        )
    notes = [f"{sample['status']} on {sample['kind']}: {sample['body']}" for sample in samples]
    notes += [f"verdicts: {verdicts}"]
    notes += sql_profile_notes(sql_profile)
    return BenchResult(metrics, rows, notes, ok=errors == 0 and mismatches == 0 and not_picked == 0)
