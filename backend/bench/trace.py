"""`lotline bench trace`: forward trace and the FSMA 204 export on a year of shipped history.

The warehouse gets a year of history first (`backend/bench/history.py`): by default
1,000,000 shipped orders from 300,000 customers in six channels, and a ledger of 10,000,000
movements (receipts, then per order line a pick, a pack and a ship to the customer's own
location, some returns, replenishment moves), with balances recomputed from it.

Then, over HTTP with a supervisor's token (every bench user has that role):

- `forward_trace_ms`: `GET /api/trace/lots/{id}` for ten lots chosen as a recall would meet
  them: the lot that went to the most orders (a bestseller's, a few thousand orders), two
  busy ones (the 95th and 99th percentile of orders per lot) and seven typical ones
  (percentiles 20 to 80). After one warm-up request per lot, `--requests` requests (50)
  go one after another, cycling through the lots: `forward_trace_ms` is their median,
  `forward_trace_p99_ms` their 99th percentile (the bestseller's lot, a tenth of them).
  The same number go from `--clients` clients at once (`forward_trace_concurrent_*`).
- `fsma_export_ms`: `GET /api/exports/fsma204.csv?lot=<id>` for the bestseller's lot,
  the median of `--exports` requests after a warm-up (and a typical lot's, for scale).

Every answer is checked against the ledger read directly in SQL (units received, shipped
and returned, orders, customers and channels it reached, stock on hand and at customers; for
the export its receiving and shipping rows and their units), so a fast wrong answer fails
the run: `wrong_answers` counts them and `ok` is false.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import asyncpg
import msgspec

from backend.bench.harness import Harness
from backend.bench.history import HistorySize, load_history
from backend.bench.registry import BenchResult, TableRow, benchmark, sql_profile_notes
from backend.bench.stats import median, percentile, verdict

__all__ = ["TARGETS", "Expected", "check_fsma", "check_trace", "run_trace"]

TARGETS = {"forward_trace_ms": 50.0, "fsma_export_ms": 1000.0}
"""The issue's targets: a lot's forward trace in 50 ms, its FSMA 204 export in a second."""

TYPICAL_QUANTILES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
BUSY_QUANTILES = (0.95, 0.99)
ERROR_SAMPLES = 5
MISMATCH_SAMPLES = 10


@dataclass(frozen=True)
class Expected:
    """A lot's forward trace as the ledger and the balances say it, read directly."""

    lot_id: int
    role: str
    """bestseller, busy or typical."""
    received: int
    receipts: int
    shipped: int
    ship_movements: int
    returned: int
    returns: int
    orders: int
    customers: int
    channels: int
    on_hand: int
    at_customers: int
    in_totes: int
    in_boxes: int


_EXPECTED_LEDGER = """
SELECT coalesce(sum(m.quantity) FILTER (WHERE m.kind = 'receipt'), 0)::bigint AS received,
       count(*) FILTER (WHERE m.kind = 'receipt') AS receipts,
       coalesce(sum(m.quantity) FILTER (WHERE t.kind = 'customer'), 0)::bigint AS shipped,
       count(*) FILTER (WHERE t.kind = 'customer') AS ship_movements,
       coalesce(sum(m.quantity) FILTER (WHERE f.kind = 'customer'), 0)::bigint AS returned,
       count(*) FILTER (WHERE f.kind = 'customer') AS returns,
       count(DISTINCT ol.order_id) FILTER (WHERE t.kind = 'customer') AS orders,
       count(DISTINCT o.customer_id) FILTER (WHERE t.kind = 'customer') AS customers,
       count(DISTINCT o.channel_id) FILTER (WHERE t.kind = 'customer') AS channels
  FROM movement m
  LEFT JOIN location f ON f.id = m.from_location_id
  LEFT JOIN location t ON t.id = m.to_location_id
  LEFT JOIN order_line ol ON ol.id = m.order_line_id
  LEFT JOIN sales_order o ON o.id = ol.order_id
 WHERE m.lot_id = $1"""

_EXPECTED_STOCK = """
SELECT coalesce(sum(b.quantity) FILTER (WHERE l.kind <> 'customer'), 0)::bigint AS on_hand,
       coalesce(sum(b.quantity) FILTER (WHERE l.kind = 'customer'), 0)::bigint AS at_customers,
       (SELECT coalesce(sum(t.picked - t.packed), 0) FROM pick_task t
         WHERE t.lot_id = $1)::bigint AS in_totes,
       (SELECT coalesce(sum(t.packed - t.shipped), 0) FROM pick_task t
         WHERE t.lot_id = $1)::bigint AS in_boxes
  FROM stock_balance b JOIN location l ON l.id = b.location_id
 WHERE b.lot_id = $1"""


async def expected_trace(conn: asyncpg.Connection, lot_id: int, role: str) -> Expected:
    ledger = await conn.fetchrow(_EXPECTED_LEDGER, lot_id)
    stock = await conn.fetchrow(_EXPECTED_STOCK, lot_id)
    return Expected(lot_id=lot_id, role=role, **dict(ledger), **dict(stock))


async def choose_lots(conn: asyncpg.Connection) -> list[tuple[int, str, int]]:
    """(lot id, role, shipments) of the lots to trace: the one shipped to the most orders,
    two busy ones and seven typical ones, by shipments per lot."""
    rows = await conn.fetch(
        """SELECT lot_id, count(*) AS ships FROM movement WHERE kind = 'ship'
            GROUP BY lot_id ORDER BY ships, lot_id"""
    )
    if not rows:
        raise RuntimeError("no lot has shipped: load the history first")
    chosen: list[tuple[int, str, int]] = [(rows[-1]["lot_id"], "bestseller", rows[-1]["ships"])]
    for role, quantiles in (("busy", BUSY_QUANTILES), ("typical", TYPICAL_QUANTILES)):
        for q in quantiles:
            row = rows[min(len(rows) - 1, int(q * len(rows)))]
            # Next along when that rank's lot is taken already (tiny datasets).
            index = int(q * len(rows))
            while row["lot_id"] in {lot for lot, _, _ in chosen} and index > 0:
                index -= 1
                row = rows[index]
            chosen.append((row["lot_id"], role, row["ships"]))
    unique: dict[int, tuple[int, str, int]] = {}
    for lot in chosen:
        unique.setdefault(lot[0], lot)
    return list(unique.values())


# -- checks ----------------------------------------------------------------------------------


class _Totals(msgspec.Struct, rename="camel"):
    received: int
    on_hand: int
    in_totes: int
    in_boxes: int
    shipped: int
    returned: int
    at_customers: int


class _Lot(msgspec.Struct):
    id: int


class _Shipment(msgspec.Struct, rename="camel"):
    order_id: int | None
    quantity: int


class _Customer(msgspec.Struct):
    shipped: int


class _Channel(msgspec.Struct):
    channel: str
    orders: int
    shipped: int


class _Return(msgspec.Struct):
    quantity: int


class _Page(msgspec.Struct, rename="camel"):
    limit: int | None
    offset: int
    shipments: int
    customers: int
    orders: int
    next_offset: int | None


class _Trace(msgspec.Struct):
    """The parts of `LotTrace` the check reads."""

    lot: _Lot
    totals: _Totals
    page: _Page
    shipments: list[_Shipment]
    customers: list[_Customer]
    channels: list[_Channel]
    returns: list[_Return]


_TRACE = msgspec.json.Decoder(_Trace)


def check_trace(pages: list[bytes], expected: Expected) -> list[str]:
    """What in a forward trace's answer disagrees with the ledger (empty: it is right).

    `pages` are one answer, or every page of the lot's trace in order (`offset` 0 and on
    until `nextOffset` is null): then the shipments and customers listed are checked whole
    too, their orders and units against the ledger's."""
    try:
        traces = [_TRACE.decode(body) for body in pages]
    except msgspec.DecodeError as error:
        return [f"lot {expected.lot_id}: unreadable answer: {error}"]
    trace = traces[0]
    totals = trace.totals
    seen: dict[str, object] = {
        "lot id": trace.lot.id,
        "received": totals.received,
        "shipped": totals.shipped,
        "returned": totals.returned,
        "on hand": totals.on_hand,
        "at customers": totals.at_customers,
        "in totes": totals.in_totes,
        "in boxes": totals.in_boxes,
        "orders": trace.page.orders,
        "customers": trace.page.customers,
        "channels": len(trace.channels),
        "orders by channel": sum(c.orders for c in trace.channels),
        "units by channel": sum(c.shipped for c in trace.channels),
        "returns": len(trace.returns),
        "units returned": sum(r.quantity for r in trace.returns),
    }
    want: dict[str, object] = {
        "lot id": expected.lot_id,
        "received": expected.received,
        "shipped": expected.shipped,
        "returned": expected.returned,
        "on hand": expected.on_hand,
        "at customers": expected.at_customers,
        "in totes": expected.in_totes,
        "in boxes": expected.in_boxes,
        "orders": expected.orders,
        "customers": expected.customers,
        "channels": expected.channels,
        "orders by channel": expected.orders,
        "units by channel": expected.shipped,
        "returns": expected.returns,
        "units returned": expected.returned,
    }
    for n, page in enumerate(traces):
        limit = page.page.limit if page.page.limit is not None else expected.orders
        offset = page.page.offset
        seen[f"page {n} shipments listed"] = len(page.shipments)
        want[f"page {n} shipments listed"] = max(0, min(limit, page.page.shipments - offset))
        seen[f"page {n} customers listed"] = len(page.customers)
        want[f"page {n} customers listed"] = max(0, min(limit, page.page.customers - offset))
    whole = traces[0].page.offset == 0 and traces[-1].page.next_offset is None
    if whole:
        shipments = [s for page in traces for s in page.shipments]
        customers = [c for page in traces for c in page.customers]
        seen["orders listed"] = len({s.order_id for s in shipments if s.order_id is not None})
        want["orders listed"] = expected.orders
        seen["units in shipments"] = sum(s.quantity for s in shipments)
        want["units in shipments"] = expected.shipped
        seen["customers listed"] = len(customers)
        want["customers listed"] = expected.customers
        seen["units by customer"] = sum(c.shipped for c in customers)
        want["units by customer"] = expected.shipped
    return [
        f"lot {expected.lot_id}: {name} {seen[name]} != {want[name]} (ledger)"
        for name in want
        if seen[name] != want[name]
    ]


def check_fsma(body: bytes, expected: Expected) -> tuple[list[str], int]:
    """What in a lot's FSMA 204 CSV disagrees with the ledger, and its number of rows: a
    Receiving row per receipt and per return, a Shipping row per order (its units of the lot
    leave together), their units the units received, returned and shipped."""
    try:
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as error:
        return [f"lot {expected.lot_id}: unreadable CSV: {error}"], 0
    if rows and not {"Critical Tracking Event", "Quantity", "lotline Lot Id"} <= rows[0].keys():
        return [f"lot {expected.lot_id}: CSV columns {sorted(rows[0])}"], len(rows)
    problems = []
    receiving = [row for row in rows if row["Critical Tracking Event"] == "Receiving"]
    shipping = [row for row in rows if row["Critical Tracking Event"] == "Shipping"]
    try:
        seen = {
            "rows of other events": len(rows) - len(receiving) - len(shipping),
            "rows of other lots": sum(
                row["lotline Lot Id"] != str(expected.lot_id) for row in rows
            ),
            "receiving rows": len(receiving),
            "receiving units": sum(int(row["Quantity"]) for row in receiving),
            "shipping rows": len(shipping),
            "shipping units": sum(int(row["Quantity"]) for row in shipping),
        }
    except ValueError as error:
        return [f"lot {expected.lot_id}: CSV quantity not a number: {error}"], len(rows)
    want = {
        "rows of other events": 0,
        "rows of other lots": 0,
        "receiving rows": expected.receipts + expected.returns,
        "receiving units": expected.received + expected.returned,
        "shipping rows": expected.orders,
        "shipping units": expected.shipped,
    }
    for name, value in want.items():
        if seen[name] != value:
            problems.append(f"lot {expected.lot_id} FSMA: {name} {seen[name]} != {value}")
    return problems, len(rows)


# -- requests --------------------------------------------------------------------------------


@dataclass
class Answer:
    lot_id: int
    status: int
    ms: float
    body: bytes


class Client:
    """One supervisor's keep-alive connection."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"},
            connector=aiohttp.TCPConnector(limit=1),
            timeout=aiohttp.ClientTimeout(total=600),
        )

    async def get(self, path: str, lot_id: int) -> Answer:
        started = time.perf_counter()
        async with self.session.get(self.base_url + path) as response:
            body = await response.read()
            status = response.status
        return Answer(lot_id, status, (time.perf_counter() - started) * 1000, body)

    async def close(self) -> None:
        await self.session.close()


def _trace_path(lot_id: int) -> str:
    return f"/api/trace/lots/{lot_id}"


def _fsma_path(lot_id: int) -> str:
    return f"/api/exports/fsma204.csv?lot={lot_id}"


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(percentile(ordered, 50), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "max_ms": round(ordered[-1], 2) if ordered else float("nan"),
    }


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    size = HistorySize()
    parser.add_argument(
        "--orders", type=int, default=size.orders, help=f"shipped orders (default {size.orders:,})"
    )
    parser.add_argument(
        "--movements",
        type=int,
        default=size.movements,
        help=f"ledger rows in all (default {size.movements:,})",
    )
    parser.add_argument(
        "--customers", type=int, default=None, help="customers (default 0.3 per order)"
    )
    parser.add_argument(
        "--requests", type=int, default=50, help="forward traces timed, each way (default 50)"
    )
    parser.add_argument(
        "--exports", type=int, default=5, help="FSMA exports of the lot timed (default 5)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE the forward trace's statement for the bestseller's lot",
    )


@benchmark(
    "trace",
    "forward trace and FSMA 204 export of a lot on a year of shipped history",
    add_arguments=_add_arguments,
    defaults={"clients": 4, "pgbench_scale": 1, "runs": 1},
)
async def run_trace(harness: Harness) -> BenchResult:
    """Load the history, pick the lots, then time and check traces and exports."""
    options = harness.options
    progress = harness.progress
    extra = options.extra
    size = HistorySize(
        orders=int(extra["orders"]),
        movements=int(extra["movements"]),
        customers=extra["customers"],
    )
    requests = int(extra["requests"])
    exports = int(extra["exports"])
    errors: list[dict[str, Any]] = []
    error_count = 0
    mismatches: list[str] = []
    wrong = 0
    verified = 0

    conn = await asyncpg.connect(harness.database_url)
    try:
        began = time.monotonic()
        with progress.phase(
            f"loading a year of history ({size.orders:,} orders, {size.movements:,} ledger rows)"
        ):
            history = await load_history(conn, size, user_id=harness.user_id, note=progress.note)
        load_s = time.monotonic() - began
        with progress.phase("vacuum and analyze"):
            vacuum_began = time.monotonic()
            await harness.settle_database()
            vacuum_s = time.monotonic() - vacuum_began
        harness.dataset.counts.update(history.counts)
        ledger_rows = history.counts["movement"]
        progress.note(f"history: {history.counts}")
        with progress.phase("choosing lots and reading their answers from the ledger"):
            lots = await choose_lots(conn)
            expected = {
                lot_id: await expected_trace(conn, lot_id, role) for lot_id, role, _ in lots
            }
        for item in expected.values():
            progress.note(
                f"lot {item.lot_id} ({item.role}): {item.orders:,} orders, "
                f"{item.customers:,} customers, {item.shipped:,} units shipped"
            )
        explain: list[str] = []
        if extra["explain"]:
            explain = await _explain_forward(conn, lots[0][0])
    finally:
        await conn.close()

    def record(answer: Answer, kind: str) -> bool:
        nonlocal error_count
        if answer.status == 200:
            return True
        error_count += 1
        if len(errors) < ERROR_SAMPLES:
            errors.append(
                {
                    "kind": kind,
                    "lot": answer.lot_id,
                    "status": answer.status,
                    "body": answer.body[:400].decode("utf-8", "replace"),
                }
            )
            progress.note(f"error {answer.status} on {kind} of lot {answer.lot_id}")
        return False

    def tally(problems: list[str]) -> None:
        nonlocal wrong, verified
        verified += 1
        if problems:
            wrong += 1
            mismatches.extend(problems[: MISMATCH_SAMPLES - len(mismatches)])

    def verify(answer: Answer) -> None:
        if record(answer, "trace"):
            tally(check_trace([answer.body], expected[answer.lot_id]))

    async def walk_pages(client: Client, lot_id: int) -> None:
        pages: list[bytes] = []
        offset: int | None = 0
        while offset is not None:
            answer = await client.get(f"{_trace_path(lot_id)}?offset={offset}", lot_id)
            if not record(answer, "trace page"):
                return
            pages.append(answer.body)
            offset = msgspec.json.decode(answer.body, type=_Trace).page.next_offset
        tally(check_trace(pages, expected[lot_id]))

    lot_ids = [lot_id for lot_id, _, _ in lots]
    clients = [Client(harness.base_url, token) for token in harness.tokens]
    await harness.reset_sql_profile()
    try:
        with progress.phase("forward traces: one warm-up per lot"):
            first = [await clients[0].get(_trace_path(lot_id), lot_id) for lot_id in lot_ids]
            for answer in first:
                verify(answer)
        with progress.phase("forward traces: every page of each lot, checked whole"):
            for lot_id in lot_ids:
                await walk_pages(clients[0], lot_id)
        sequential: list[Answer] = []
        with progress.phase(f"forward traces: {requests} one after another"):
            for n in range(requests):
                lot_id = lot_ids[n % len(lot_ids)]
                answer = await clients[0].get(_trace_path(lot_id), lot_id)
                sequential.append(answer)
                verify(answer)
        concurrent: list[Answer] = []
        concurrent_s = 0.0
        # Each client's connection (and its server worker's statements) warmed up first.
        for index, client in enumerate(clients[1:], start=1):
            lot_id = lot_ids[index % len(lot_ids)]
            verify(await client.get(_trace_path(lot_id), lot_id))
        with progress.phase(f"forward traces: {requests} from {len(clients)} clients at once"):

            async def one_client(index: int, count: int) -> list[Answer]:
                answers = []
                for n in range(count):
                    lot_id = lot_ids[(index + n * len(clients)) % len(lot_ids)]
                    answers.append(await clients[index].get(_trace_path(lot_id), lot_id))
                return answers

            shares = [
                requests // len(clients) + (1 if i < requests % len(clients) else 0)
                for i in range(len(clients))
            ]
            started = time.perf_counter()
            for answers in await asyncio.gather(
                *(one_client(i, share) for i, share in enumerate(shares))
            ):
                concurrent.extend(answers)
            concurrent_s = time.perf_counter() - started
            for answer in concurrent:
                verify(answer)
        bestseller = lot_ids[0]
        typical = next((lot for lot, role, _ in lots if role == "typical"), bestseller)
        fsma: dict[int, list[float]] = {bestseller: [], typical: []}
        fsma_rows: dict[int, int] = {}
        for lot_id, count in ((bestseller, exports), (typical, max(1, exports // 2))):
            with progress.phase(f"FSMA 204 exports of lot {lot_id}: a warm-up and {count}"):
                for n in range(count + 1):
                    answer = await clients[0].get(_fsma_path(lot_id), lot_id)
                    if not record(answer, "fsma"):
                        continue
                    problems, fsma_rows[lot_id] = check_fsma(answer.body, expected[lot_id])
                    tally(problems)
                    if n > 0:
                        fsma[lot_id].append(answer.ms)
    finally:
        for client in clients:
            await client.close()
    sql_profile = await harness.sql_profile()
    with progress.phase("checking the ledger against the balances"):
        ledger_mismatches = await harness.ledger_mismatches()

    ok_sequential = [a.ms for a in sequential if a.status == 200]
    ok_concurrent = [a.ms for a in concurrent if a.status == 200]
    seq = _summary(ok_sequential)
    par = _summary(ok_concurrent)
    by_lot = {
        lot_id: median([a.ms for a in sequential if a.lot_id == lot_id and a.status == 200])
        for lot_id in lot_ids
    }
    typical_ms = median([by_lot[lot] for lot, role, _ in lots if role == "typical"])
    lot_rows = []
    for lot_id in lot_ids:
        item = expected[lot_id]
        lot_rows.append(
            {
                **asdict(item),
                "first_ms": round(next(a.ms for a in first if a.lot_id == lot_id), 2),
                "median_ms": round(by_lot[lot_id], 2),
            }
        )
    fsma_ms = round(median(fsma[bestseller]), 1)
    fsma_typical_ms = round(median(fsma[typical]), 1)
    metrics: dict[str, Any] = {
        "ledger_rows": ledger_rows,
        "forward_trace_ms": seq["p50_ms"],
        "forward_trace_p99_ms": seq["p99_ms"],
        "fsma_export_ms": fsma_ms,
        "forward_trace_max_ms": seq["max_ms"],
        "forward_trace_bestseller_ms": round(by_lot[bestseller], 2),
        "forward_trace_typical_ms": round(typical_ms, 2),
        "forward_trace_concurrent_p50_ms": par["p50_ms"],
        "forward_trace_concurrent_p99_ms": par["p99_ms"],
        "forward_traces_per_s_concurrent": round(len(ok_concurrent) / concurrent_s, 1)
        if concurrent_s
        else 0.0,
        "fsma_export_rows": fsma_rows.get(bestseller, 0),
        "fsma_export_typical_ms": fsma_typical_ms,
        "fsma_export_runs_ms": [round(ms, 1) for ms in fsma[bestseller]],
        "answers_verified": verified,
        "wrong_answers": wrong,
        "mismatches": mismatches,
        "errors": error_count,
        "error_samples": errors,
        "ledger_mismatches": ledger_mismatches,
        "load_s": round(load_s + vacuum_s, 1),
        "load_history_s": round(load_s, 1),
        "vacuum_s": round(vacuum_s, 1),
        "load_steps_s": history.timings,
        "fk_checks_skipped_in_load": history.fk_checks_skipped,
        "history": history.counts,
        "lots": lot_rows,
        "requests": requests,
        "targets": TARGETS,
    }
    met = {
        "forward_trace_ms": metrics["forward_trace_ms"] <= TARGETS["forward_trace_ms"],
        "forward_trace_p99_ms": metrics["forward_trace_p99_ms"] <= TARGETS["forward_trace_ms"],
        "fsma_export_ms": fsma_ms <= TARGETS["fsma_export_ms"],
    }
    metrics["meets_targets"] = all(met.values())
    if sql_profile:
        metrics["sql_profile"] = sql_profile
    if explain:
        metrics["explain"] = explain
    best = expected[bestseller]
    rows = [
        TableRow("ledger rows", f"{ledger_rows:,}", f">= {size.movements:,}"),
        TableRow(
            "history loaded in",
            f"{load_s:.0f} s + vacuum {vacuum_s:.0f} s",
        ),
        TableRow(
            f"forward trace p50, {requests} sequential",
            f"{seq['p50_ms']:.1f} ms",
            f"<= {TARGETS['forward_trace_ms']:g} ms",
            verdict(met["forward_trace_ms"]),
        ),
        TableRow(
            "forward trace p99 (the bestseller's lot)",
            f"{seq['p99_ms']:.1f} ms",
            f"<= {TARGETS['forward_trace_ms']:g} ms",
            verdict(met["forward_trace_p99_ms"]),
        ),
        TableRow(
            f"  bestseller's lot ({best.orders:,} orders, {best.customers:,} customers)",
            f"{by_lot[bestseller]:.1f} ms (first {lot_rows[0]['first_ms']:.0f} ms)",
        ),
        TableRow(
            "  typical lots (median of their medians)",
            f"{typical_ms:.1f} ms",
        ),
        TableRow(
            f"forward trace p50 / p99, {len(clients)} clients at once",
            f"{par['p50_ms']:.1f} / {par['p99_ms']:.1f} ms "
            f"({metrics['forward_traces_per_s_concurrent']:.0f}/s)",
        ),
        TableRow(
            f"FSMA 204 CSV of the bestseller's lot ({metrics['fsma_export_rows']:,} rows)",
            f"{fsma_ms:.0f} ms",
            f"<= {TARGETS['fsma_export_ms']:g} ms",
            verdict(met["fsma_export_ms"]),
        ),
        TableRow("  FSMA 204 CSV of a typical lot", f"{fsma_typical_ms:.0f} ms"),
        TableRow(
            "answers checked against the ledger / wrong",
            f"{verified} / {wrong}",
            "0 wrong",
            verdict(wrong == 0 and verified > 0),
        ),
        TableRow("errors (non-200)", str(error_count), "0", verdict(error_count == 0)),
        TableRow(
            "ledger vs balances mismatches",
            str(ledger_mismatches),
            "0",
            verdict(ledger_mismatches == 0),
        ),
    ]
    for lot_row in lot_rows:
        rows.append(
            TableRow(
                f"  lot {lot_row['lot_id']} ({lot_row['role']})",
                f"{lot_row['median_ms']:.1f} ms: {lot_row['orders']:,} orders, "
                f"{lot_row['customers']:,} customers, {lot_row['shipped']:,} units, "
                f"{lot_row['returns']} returns",
            )
        )
    notes = [f"{e['status']} on {e['kind']} of lot {e['lot']}: {e['body']}" for e in errors]
    notes += mismatches
    notes += sql_profile_notes(sql_profile)
    notes += explain
    ok = error_count == 0 and wrong == 0 and verified > 0 and ledger_mismatches == 0
    return BenchResult(metrics, rows, notes, ok=ok)


async def _explain_forward(conn: asyncpg.Connection, lot_id: int) -> list[str]:
    """The plan of the forward trace's statement for this lot, as the server runs it
    (generic plans, see `backend/db/engine.py`), with timings and buffers."""
    from backend.trace import service

    statement = getattr(service, "_FORWARD", None)
    if not isinstance(statement, str):
        return ["explain: backend.trace.service has no _FORWARD statement"]
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    # The lot, and the first page as the route asks for it by default.
    arguments = f"{int(lot_id)}, {service.PAGE_DEFAULT}, 0"
    await conn.execute(f"PREPARE bench_forward(bigint, bigint, bigint) AS {statement}")
    try:
        await conn.execute(f"EXECUTE bench_forward({arguments})")
        rows = await conn.fetch(
            f"EXPLAIN (ANALYZE, BUFFERS, TIMING) EXECUTE bench_forward({arguments})"
        )
    finally:
        await conn.execute("DEALLOCATE bench_forward")
    return [f"explain: {row[0]}" for row in rows]
