"""Cycle counts: blind counts by bin and lot, recounts, approval, adjustments.

A supervisor creates a count; it makes one task per bin in its scope. A counter starts a task
by scanning the bin's label: in that scan's transaction the bin's balances are copied (the
snapshot) together with the highest movement id (the start), in one statement so both see
the same committed ledger. Each lot scanned after that records its line with the ledger
position of that moment, and its expected quantity is the snapshot rolled forward by the
lot's movements in the bin in between (backend/domain/counts.py): a pick during the count
makes no variance. Before reading a position the bin's balance rows are locked `FOR SHARE`,
so a movement of them that is still being written commits first and is on the right side
of the position.

Counting writes no stock. Submitting a bin judges each line against the recount threshold;
past it, the task waits for a recount by someone else. Only a supervisor's approval writes
adjustments: one ledger movement of kind `count` per lot that differs, applied as a delta to
the balance as it is then, all in one transaction; a loss larger than the free units is
refused and nothing is written.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import msgspec

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location, resolve_locations
from backend.counts.schemas import (
    AccuracyOut,
    AccuracyRow,
    CountBin,
    CountIn,
    CountLineView,
    CountOut,
    CountTaskView,
    DecisionIn,
    LineIn,
    ReviewLine,
    SubmitIn,
    TaskReview,
)
from backend.domain.counts import (
    BinMovement,
    CountedLine,
    RecountThreshold,
    accuracy,
    expected_quantity,
    line_variance,
)
from backend.errors import DomainError
from backend.fulfilment.picking import Scanned, Step, store_key
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import Transfer, apply_transfer
from backend.scanning.schemas import ScanIn
from backend.settings import get_settings

__all__ = [
    "correct_line",
    "count_accuracy",
    "count_scan",
    "count_view",
    "create_count",
    "decide",
    "get_count",
    "list_counts",
    "list_tasks",
    "submit_task",
]

_SERIALISED = ("serial", "lot_serial")
_UNDECIDED = ("open", "counting", "submitted", "recount_required", "recounted")
_COUNTABLE = ("open", "counting")


def _threshold() -> RecountThreshold:
    settings = get_settings()
    return RecountThreshold(settings.count_recount_units, settings.count_recount_percent)


# --- creating a count ---------------------------------------------------------------------

_BINS_HOLDING = """
SELECT DISTINCT loc.id, loc.walk_sequence, loc.code
  FROM stock_balance b
  JOIN location loc ON loc.id = b.location_id
  JOIN lot l ON l.id = b.lot_id
 WHERE loc.warehouse_id = $1 AND loc.kind = 'bin' AND loc.active AND b.quantity > 0
   AND {holding}
 ORDER BY loc.walk_sequence, loc.code"""

_BINS_NOT_COUNTED = """
SELECT loc.id FROM location loc
 WHERE loc.warehouse_id = $1 AND loc.kind = 'bin' AND loc.active
   AND NOT EXISTS (SELECT 1 FROM count_task t
                    WHERE t.location_id = loc.id
                      AND t.submitted_at >= now() - make_interval(days => $2))
 ORDER BY loc.walk_sequence, loc.code"""

_BEING_COUNTED = """
SELECT t.location_id FROM count_task t
 WHERE t.location_id = ANY($1::bigint[]) AND t.recount_of IS NULL
   AND t.status NOT IN ('approved', 'rejected')"""


def _scope(data: CountIn) -> dict[str, Any]:
    ways = [data.bins is not None, data.sku is not None, data.lot_id is not None, data.rule]
    if sum(1 for way in ways if way) != 1:
        raise DomainError(
            "count_scope",
            "Choose the bins one way: `bins`, `sku`, `lotId` or `rule`.",
            422,
        )
    if data.rule is not None:
        rules = [data.rule.expiring_within_days, data.rule.not_counted_for_days]
        if sum(1 for rule in rules if rule is not None) != 1:
            raise DomainError(
                "count_scope",
                "A rule is one of `expiringWithinDays` or `notCountedForDays`.",
                422,
            )
    scope = msgspec.to_builtins(data)
    chosen = {name: scope[name] for name in ("bins", "sku", "lotId", "rule")}
    return {
        name: {k: v for k, v in value.items() if v is not None} if name == "rule" else value
        for name, value in chosen.items()
        if value is not None
    }


async def _bins_in_scope(
    conn: asyncpg.Connection, data: CountIn, warehouse: asyncpg.Record
) -> list[int]:
    """The bins a count covers, in walking order (explicit bins in the order given)."""
    if data.bins is not None:
        named = await resolve_locations(conn, *data.bins)
        for ref, location in zip(data.bins, named, strict=True):
            if location["warehouse_id"] != warehouse["id"]:
                raise DomainError(
                    "location_in_other_warehouse",
                    f"{ref} is in warehouse {location['warehouse']}, not {warehouse['code']}.",
                    422,
                )
            if location["kind"] != "bin":
                raise DomainError(
                    "invalid_location_kind", f"{ref} is a {location['kind']}, not a bin.", 422
                )
        return list(dict.fromkeys(location["id"] for location in named))
    if data.sku is not None:
        product = await conn.fetchval("SELECT id FROM product WHERE sku = $1", data.sku)
        if product is None:
            raise DomainError("unknown_product", f"No product with SKU {data.sku!r}.", 422)
        rows = await conn.fetch(
            _BINS_HOLDING.format(holding="l.product_id = $2"), warehouse["id"], product
        )
    elif data.lot_id is not None:
        if await conn.fetchval("SELECT id FROM lot WHERE id = $1", data.lot_id) is None:
            raise DomainError("unknown_lot", f"No lot {data.lot_id}.", 422)
        rows = await conn.fetch(
            _BINS_HOLDING.format(holding="l.id = $2"), warehouse["id"], data.lot_id
        )
    else:
        assert data.rule is not None
        if data.rule.expiring_within_days is not None:
            rows = await conn.fetch(
                _BINS_HOLDING.format(holding="l.expiry_date <= current_date + $2::int"),
                warehouse["id"],
                data.rule.expiring_within_days,
            )
        else:
            rows = await conn.fetch(
                _BINS_NOT_COUNTED, warehouse["id"], data.rule.not_counted_for_days
            )
    return [row["id"] for row in rows]


async def _assignee(conn: asyncpg.Connection, username: str | None) -> int | None:
    if username is None:
        return None
    user = await conn.fetchrow(
        """SELECT u.id, coalesce(array_agg(r.role) FILTER (WHERE r.role IS NOT NULL), '{}')
                  AS roles
             FROM app_user u LEFT JOIN user_role r ON r.user_id = u.id
            WHERE u.username = $1 AND u.active GROUP BY u.id""",
        username,
    )
    if user is None:
        raise DomainError("unknown_user", f"No user {username}.", 422)
    if not {"counter", "supervisor", "admin"} & set(user["roles"]):
        raise DomainError(
            "assignee_not_counter", f"{username} may not count: they have no counter role.", 422
        )
    return int(user["id"])


async def create_count(conn: asyncpg.Connection, data: CountIn, actor: Actor) -> CountOut:
    """A count of the bins in its scope, one task per bin. A bin already being counted is
    refused when named (409 `bin_being_counted`) and left out when a rule or product chose
    it: two undecided counts of one bin would adjust the same difference twice."""
    scope = _scope(data)
    warehouse = await conn.fetchrow(
        "SELECT id, code FROM warehouse WHERE code = $1", data.warehouse
    )
    if warehouse is None:
        raise DomainError("unknown_warehouse", f"No warehouse {data.warehouse}.", 422)
    assignee = await _assignee(conn, data.assignee)
    async with conn.transaction():
        bins = await _bins_in_scope(conn, data, warehouse)
        busy = {row["location_id"] for row in await conn.fetch(_BEING_COUNTED, bins)}
        if busy and data.bins is not None:
            codes = await conn.fetchval(
                "SELECT string_agg(code, ', ' ORDER BY code) FROM location "
                "WHERE id = ANY($1::bigint[])",
                list(busy),
            )
            raise DomainError(
                "bin_being_counted",
                f"Already being counted (approve or reject that count first): {codes}.",
                409,
            )
        bins = [location for location in bins if location not in busy]
        if not bins:
            raise DomainError(
                "empty_count_scope",
                "No bin matches this count"
                + (" that is not being counted already." if busy else "."),
                422,
            )
        count_id = await conn.fetchval(
            """INSERT INTO cycle_count (warehouse_id, scope, blind, note, created_by)
               VALUES ($1, $2::jsonb, $3, $4, $5) RETURNING id""",
            warehouse["id"],
            msgspec.json.encode(scope).decode(),
            data.blind,
            data.note,
            actor.user_id,
        )
        try:
            await conn.execute(
                """INSERT INTO count_task (count_id, location_id, assignee_id)
                   SELECT $1, bin, $3 FROM unnest($2::bigint[]) WITH ORDINALITY AS b(bin, n)
                    ORDER BY n""",
                count_id,
                bins,
                assignee,
            )
        except asyncpg.UniqueViolationError as error:
            raise DomainError(
                "bin_being_counted", "A bin of this count began to be counted meanwhile.", 409
            ) from error
    return await get_count(conn, count_id)


# --- reading counts and tasks -------------------------------------------------------------

_TASK_SELECT = """
SELECT t.*, c.blind, c.note, c.warehouse_id, loc.code AS bin_code, loc.barcode AS bin_barcode,
       w.code AS warehouse, a.username AS assignee, cb.username AS counted_by_name,
       d.username AS decided_by_name, o.counted_by AS original_counter,
       (SELECT r.id FROM count_task r WHERE r.recount_of = t.id) AS recount_id
  FROM count_task t
  JOIN cycle_count c ON c.id = t.count_id
  JOIN location loc ON loc.id = t.location_id
  JOIN warehouse w ON w.id = loc.warehouse_id
  LEFT JOIN app_user a ON a.id = t.assignee_id
  LEFT JOIN app_user cb ON cb.id = t.counted_by
  LEFT JOIN app_user d ON d.id = t.decided_by
  LEFT JOIN count_task o ON o.id = t.recount_of
"""

_LINES = """
SELECT cl.*, l.code AS lot_code, p.sku, p.name AS product_name, p.tracking,
       coalesce(s.quantity, 0) AS snapshot
  FROM count_line cl
  JOIN lot l ON l.id = cl.lot_id
  JOIN product p ON p.id = l.product_id
  LEFT JOIN count_snapshot s ON s.task_id = cl.task_id AND s.lot_id = cl.lot_id
 WHERE cl.task_id = ANY($1::bigint[])
 ORDER BY p.sku, l.code"""


def _bin(task: asyncpg.Record) -> CountBin:
    return CountBin(
        id=task["location_id"],
        code=task["bin_code"],
        barcode=task["bin_barcode"],
        warehouse=task["warehouse"],
    )


async def _task(conn: asyncpg.Connection, task_id: int, lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(
        _TASK_SELECT + " WHERE t.id = $1" + (" FOR UPDATE OF t" if lock else ""), task_id
    )
    if row is None:
        raise DomainError("count_task_not_found", f"No count task {task_id}.", 404)
    return row


def _task_view(task: asyncpg.Record, lines: list[asyncpg.Record]) -> CountTaskView:
    """The counter's view. On a blind count `expected` and `variance` stay unset, so they are
    not in the JSON at all."""
    blind = task["blind"]
    return CountTaskView(
        id=task["id"],
        count_id=task["count_id"],
        bin=_bin(task),
        status=task["status"],
        blind=blind,
        recount_of=task["recount_of"],
        assignee=task["assignee"],
        counted_by=task["counted_by_name"],
        note=task["note"],
        started_at=task["started_at"],
        submitted_at=task["submitted_at"],
        lines=[
            CountLineView(
                lot_id=line["lot_id"],
                lot_code=line["lot_code"],
                sku=line["sku"],
                product_name=line["product_name"],
                counted=line["counted"],
                expected=None if blind else line["expected"],
                variance=None if blind else line["counted"] - line["expected"],
            )
            for line in lines
        ],
    )


async def count_view(conn: asyncpg.Connection, task_id: int, actor: Actor) -> CountTaskView:
    """The count task as its counter's handheld shows it (blind unless it is not)."""
    task = await _task(conn, task_id)
    return _task_view(task, await conn.fetch(_LINES, [task_id]))


async def list_tasks(
    conn: asyncpg.Connection, actor: Actor, warehouse: str | None, limit: int
) -> list[CountTaskView]:
    """The open tasks the caller may count, in walking order: assigned to them or to no one,
    not started by someone else, and no recount of a bin they counted themselves."""
    rows = await conn.fetch(
        _TASK_SELECT
        + """ WHERE t.status IN ('open', 'counting')
                AND (t.assignee_id IS NULL OR t.assignee_id = $1)
                AND (t.counted_by IS NULL OR t.counted_by = $1)
                AND (o.counted_by IS DISTINCT FROM $1)
                AND ($2::text IS NULL OR w.code = $2)
              ORDER BY w.code, loc.walk_sequence, loc.code, t.id LIMIT $3""",
        actor.user_id,
        warehouse,
        limit,
    )
    lines = await conn.fetch(_LINES, [row["id"] for row in rows])
    return [
        _task_view(row, [line for line in lines if line["task_id"] == row["id"]]) for row in rows
    ]


def _review(
    task: asyncpg.Record, lines: list[asyncpg.Record], threshold: RecountThreshold
) -> TaskReview:
    reviewed = []
    for line in lines:
        judged = line_variance(line["expected"], line["counted"], threshold)
        reviewed.append(
            ReviewLine(
                lot_id=line["lot_id"],
                lot_code=line["lot_code"],
                sku=line["sku"],
                snapshot=line["snapshot"],
                moved=line["expected"] - line["snapshot"],
                expected=judged.expected,
                counted=judged.counted,
                variance=judged.variance,
                recount=judged.recount,
                unexpected=line["unexpected"],
                scanned=line["scanned"],
                serials=list(line["serials"]),
            )
        )
    return TaskReview(
        id=task["id"],
        bin=_bin(task),
        status=task["status"],
        recount_of=task["recount_of"],
        recount=task["recount_id"],
        assignee=task["assignee"],
        counted_by=task["counted_by_name"],
        started_at=task["started_at"],
        submitted_at=task["submitted_at"],
        decided_by=task["decided_by_name"],
        decided_at=task["decided_at"],
        decision_note=task["decision_note"],
        lines=reviewed,
        adjustments=[line["adjustment_id"] for line in lines if line["adjustment_id"]],
    )


async def _task_review(conn: asyncpg.Connection, task_id: int) -> TaskReview:
    task = await _task(conn, task_id)
    return _review(task, await conn.fetch(_LINES, [task_id]), _threshold())


_COUNT_SELECT = """
SELECT c.*, w.code AS warehouse, u.username AS created_by_name
  FROM cycle_count c JOIN warehouse w ON w.id = c.warehouse_id
  JOIN app_user u ON u.id = c.created_by
"""


async def _counts_out(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> list[CountOut]:
    ids = [row["id"] for row in rows]
    tasks = await conn.fetch(
        _TASK_SELECT + " WHERE t.count_id = ANY($1::bigint[]) ORDER BY loc.walk_sequence, t.id",
        ids,
    )
    lines = await conn.fetch(_LINES, [task["id"] for task in tasks])
    threshold = _threshold()
    result = []
    for row in rows:
        reviews = [
            _review(task, [line for line in lines if line["task_id"] == task["id"]], threshold)
            for task in tasks
            if task["count_id"] == row["id"]
        ]
        result.append(
            CountOut(
                id=row["id"],
                warehouse=row["warehouse"],
                scope=msgspec.json.decode(row["scope"]),
                blind=row["blind"],
                note=row["note"],
                created_by=row["created_by_name"],
                created_at=row["created_at"],
                status="open" if any(t.status in _UNDECIDED for t in reviews) else "done",
                tasks=reviews,
            )
        )
    return result


async def get_count(conn: asyncpg.Connection, count_id: int) -> CountOut:
    """A count with every task, and per lot what was expected, counted and the variance."""
    rows = await conn.fetch(_COUNT_SELECT + " WHERE c.id = $1", count_id)
    if not rows:
        raise DomainError("count_not_found", f"No count {count_id}.", 404)
    return (await _counts_out(conn, rows))[0]


async def list_counts(
    conn: asyncpg.Connection, warehouse: str | None, limit: int
) -> list[CountOut]:
    """Counts, newest first."""
    rows = await conn.fetch(
        _COUNT_SELECT + " WHERE $1::text IS NULL OR w.code = $1 ORDER BY c.id DESC LIMIT $2",
        warehouse,
        limit,
    )
    return await _counts_out(conn, rows)


# --- where the ledger stands --------------------------------------------------------------

_LOCK_BIN = """
SELECT 1 FROM stock_balance WHERE location_id = $1 AND ($2::bigint IS NULL OR lot_id = $2)
 ORDER BY lot_id FOR SHARE"""

_START = """
WITH position AS (SELECT coalesce(max(id), 0) AS id FROM movement),
snapshot AS (
    INSERT INTO count_snapshot (task_id, lot_id, quantity)
    SELECT $1, lot_id, quantity FROM stock_balance WHERE location_id = $2 AND quantity > 0
)
UPDATE count_task SET status = 'counting', counted_by = $3, started_at = now(),
                      start_movement_id = (SELECT id FROM position)
 WHERE id = $1"""
"""Start a task: the snapshot and the position in one statement, so they agree."""

_BIN_MOVEMENTS = """
WITH position AS (SELECT coalesce(max(id), 0) AS id FROM movement)
SELECT p.id AS position, m.id, m.lot_id,
       CASE WHEN m.to_location_id = $1 THEN m.quantity ELSE -m.quantity END AS quantity
  FROM position p
  LEFT JOIN movement m ON m.id > $2 AND m.id <= p.id
        AND ($3::bigint IS NULL OR m.lot_id = $3)
        AND (m.from_location_id = $1 OR m.to_location_id = $1)"""
"""The ledger position now and the bin's movements (of lot $3, or all) since the start $2."""


async def _bin_movements(
    conn: asyncpg.Connection, task: asyncpg.Record, lot_id: int | None
) -> tuple[int, list[tuple[int, BinMovement]]]:
    """Where the ledger stands now, after waiting for writers of the bin's balances, and
    the movements of the bin (of `lot_id`, or every lot) since its count started."""
    await conn.execute(_LOCK_BIN, task["location_id"], lot_id)
    rows = await conn.fetch(_BIN_MOVEMENTS, task["location_id"], task["start_movement_id"], lot_id)
    position = rows[0]["position"]
    return position, [
        (row["lot_id"], BinMovement(row["id"], row["quantity"]))
        for row in rows
        if row["id"] is not None
    ]


async def _snapshot(conn: asyncpg.Connection, task_id: int) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT lot_id, quantity FROM count_snapshot WHERE task_id = $1", task_id
    )
    return {row["lot_id"]: row["quantity"] for row in rows}


_RECORD_LINE = """
INSERT INTO count_line (task_id, lot_id, counted, expected, movement_id, serials, unexpected,
                        scanned)
VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8)
ON CONFLICT (task_id, lot_id) DO UPDATE
   SET counted = CASE WHEN $9 THEN count_line.counted + EXCLUDED.counted
                      ELSE EXCLUDED.counted END,
       expected = EXCLUDED.expected, movement_id = EXCLUDED.movement_id,
       serials = count_line.serials || EXCLUDED.serials, unexpected = EXCLUDED.unexpected,
       scanned = true, counted_at = now()
RETURNING counted"""


async def _record_line(
    conn: asyncpg.Connection,
    task: asyncpg.Record,
    lot_id: int,
    units: int,
    *,
    adding: bool,
    serials: list[str] | None = None,
) -> int:
    """Count `units` of the lot (added to what was counted, or instead of it), with what the
    bin should hold of it at this moment; the lot's count so far."""
    position, moved = await _bin_movements(conn, task, lot_id)
    snapshot = await _snapshot(conn, task["id"])
    expected = expected_quantity(
        snapshot.get(lot_id, 0),
        [movement for _, movement in moved],
        task["start_movement_id"],
        position,
    )
    counted: int = await conn.fetchval(
        _RECORD_LINE,
        task["id"],
        lot_id,
        units,
        expected,
        position,
        serials or [],
        lot_id not in snapshot and expected <= 0,
        True,
        adding,
    )
    return counted


# --- counting by scan ---------------------------------------------------------------------


def _refusal(task: asyncpg.Record, actor: Actor) -> Step | None:
    """Why the caller may not count this task now, or None."""
    if task["status"] not in _COUNTABLE:
        return Step(
            "count_task_closed",
            f"Count task {task['id']} is {task['status'].replace('_', ' ')}: nothing to count.",
            task_id=task["id"],
        )
    if task["original_counter"] is not None and task["original_counter"] == actor.user_id:
        return Step(
            "recount_by_same_counter",
            f"You counted bin {task['bin_code']} the first time: someone else must recount it.",
            task_id=task["id"],
        )
    someone_else = task["counted_by"] or task["assignee_id"]
    if someone_else is not None and someone_else != actor.user_id:
        who = task["counted_by_name"] or task["assignee"]
        return Step(
            "count_task_not_yours",
            f"Bin {task['bin_code']} is {who}'s to count.",
            task_id=task["id"],
        )
    return None


async def count_scan(
    conn: asyncpg.Connection,
    task_id: int,
    scanned: Scanned,
    data: ScanIn,
    actor: Actor,
) -> Step:
    """Judge and apply one scan of a count task (inside the scan's transaction): the bin's
    label starts it; then each lot's label counts `quantity` units of it (1 by default, 1 a
    serial), added to what was counted of it."""
    try:
        task = await _task(conn, task_id, lock=True)
    except DomainError:
        return Step("unknown_count_task", f"There is no count task {task_id}.")
    refused = _refusal(task, actor)
    if refused is not None:
        return refused
    bin_code = f"{task['warehouse']}/{task['bin_code']}"
    if scanned.location_id is not None:
        if scanned.location_id != task["location_id"]:
            return Step("wrong_bin", f"Not the bin to count: go to {bin_code}.", task_id=task["id"])
        if task["status"] == "counting":
            return Step("count_started", f"Counting {bin_code}: scan each lot.", task_id=task["id"])
        await conn.execute(_LOCK_BIN, task["location_id"], None)
        await conn.execute(_START, task["id"], task["location_id"], actor.user_id)
        return Step(
            "count_started",
            f"Counting {bin_code}: scan each lot and enter its units.",
            task_id=task["id"],
        )
    if task["status"] == "open":
        return Step(
            "bin_not_confirmed", f"Scan the label of bin {bin_code} first.", task_id=task["id"]
        )
    if data.location is not None:
        try:
            here = await resolve_location(conn, data.location)
        except DomainError as error:
            return Step(error.code, error.detail, task_id=task["id"])
        if here["id"] != task["location_id"]:
            return Step("wrong_bin", f"Not the bin to count: go to {bin_code}.", task_id=task["id"])
    lot_id = scanned.lot_id
    if lot_id is None and scanned.tracking == "none":
        lot_id = await conn.fetchval(
            "SELECT id FROM lot WHERE product_id = $1 ORDER BY id LIMIT 1", scanned.product_id
        )
    if lot_id is None:
        return Step(
            "lot_required", "Scan the unit's lot barcode, not the product's alone.", task_id=task_id
        )
    serials = None
    units = data.quantity or 1
    if scanned.tracking in _SERIALISED:
        if scanned.serial is None:
            return Step(
                "serial_required",
                "This product is tracked by serial: scan each unit's serial.",
                task_id=task_id,
            )
        counted_already = await conn.fetchval(
            """SELECT $3 = ANY(serials) FROM count_line WHERE task_id = $1 AND lot_id = $2""",
            task_id,
            lot_id,
            scanned.serial,
        )
        if counted_already:
            return Step(
                "serial_counted", f"Serial {scanned.serial} is counted already.", task_id=task_id
            )
        serials, units = [scanned.serial], 1
    counted = await _record_line(conn, task, lot_id, units, adding=True, serials=serials)
    code = await conn.fetchval("SELECT code FROM lot WHERE id = $1", lot_id)
    return Step(
        "counted", f"Lot {code}: {counted} counted in {bin_code}.", task_id=task_id, lot_id=lot_id
    )


# --- correcting and submitting ------------------------------------------------------------


def _check_counter(task: asyncpg.Record, actor: Actor) -> None:
    if task["status"] == "open":
        raise DomainError(
            "count_not_started", f"Scan the label of bin {task['bin_code']} first.", 409
        )
    if task["counted_by"] != actor.user_id:
        raise DomainError(
            "count_task_not_yours",
            f"Bin {task['bin_code']} is counted by {task['counted_by_name']}.",
            403,
        )


async def correct_line(
    conn: asyncpg.Connection, task_id: int, lot_id: int, data: LineIn, actor: Actor
) -> Outcome:
    """Set what was counted of a lot in the bin (0 for none), as its counter saw again.
    Once per key: a retry answers the first correction's task."""
    if data.idempotency_key is None:
        data = msgspec.structs.replace(data, idempotency_key=uuid.uuid4())

    async def correct(key: Key) -> CountTaskView:
        async with conn.transaction():
            task = await _task(conn, task_id, lock=True)
            _check_counter(task, actor)
            if task["status"] != "counting":
                raise DomainError(
                    "count_task_closed", f"Count task {task_id} is {task['status']}.", 409
                )
            if await conn.fetchval("SELECT id FROM lot WHERE id = $1", lot_id) is None:
                raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
            await _record_line(conn, task, lot_id, data.quantity, adding=False)
            view = await count_view(conn, task_id, actor)
            await store_key(conn, key, view, 200)
        return view

    async def replay(_: int) -> CountTaskView:
        raise AssertionError("a correction stores its response with its key")

    # The key's operation names the line, which the body does not.
    operation = f"count_line {task_id}/{lot_id}"
    return await apply_once(conn, data, operation, actor.user_id, correct, replay, 200)


async def submit_task(
    conn: asyncpg.Connection, task_id: int, data: SubmitIn, actor: Actor
) -> CountTaskView:
    """Finish the bin: lots expected but not scanned count as none; each lot is judged
    against the recount threshold. Past it, a recount task is made for someone else
    (a recount past it goes to the supervisor as it is). A retry answers the same."""
    async with conn.transaction():
        task = await _task(conn, task_id, lock=True)
        _check_counter(task, actor)
        if task["status"] != "counting":  # submitted already: a retry
            return await count_view(conn, task_id, actor)
        position, moved = await _bin_movements(conn, task, None)
        snapshot = await _snapshot(conn, task_id)
        counted = {
            row["lot_id"]
            for row in await conn.fetch("SELECT lot_id FROM count_line WHERE task_id = $1", task_id)
        }
        for lot_id in sorted((set(snapshot) | {lot for lot, _ in moved}) - counted):
            expected = expected_quantity(
                snapshot.get(lot_id, 0),
                [movement for lot, movement in moved if lot == lot_id],
                task["start_movement_id"],
                position,
            )
            if lot_id in snapshot or expected != 0:
                await conn.execute(
                    _RECORD_LINE, task_id, lot_id, 0, expected, position, [], False, False, False
                )
        lines = await conn.fetch(
            "SELECT expected, counted FROM count_line WHERE task_id = $1", task_id
        )
        threshold = _threshold()
        recount = any(
            line_variance(line["expected"], line["counted"], threshold).recount for line in lines
        )
        is_recount = task["recount_of"] is not None
        status = "recount_required" if recount and not is_recount else "submitted"
        await conn.execute(
            "UPDATE count_task SET status = $2, submitted_at = now() WHERE id = $1",
            task_id,
            status,
        )
        if status == "recount_required":
            await conn.execute(
                """INSERT INTO count_task (count_id, location_id, recount_of)
                   VALUES ($1, $2, $3)""",
                task["count_id"],
                task["location_id"],
                task_id,
            )
        if is_recount:
            await conn.execute(
                "UPDATE count_task SET status = 'recounted' WHERE id = $1", task["recount_of"]
            )
        return await count_view(conn, task_id, actor)


# --- the supervisor's decision ------------------------------------------------------------


def _keyed(data: DecisionIn) -> DecisionIn:
    if data.idempotency_key is not None:
        return data
    return msgspec.structs.replace(data, idempotency_key=uuid.uuid4())


async def _decided_task(conn: asyncpg.Connection, task_id: int, approve: bool) -> asyncpg.Record:
    """The task whose figures a decision on `task_id` takes: itself, or its recount once
    that is counted. A rejection may cancel a bin whose recount is still open."""
    task = await _task(conn, task_id, lock=True)
    if task["status"] == "recount_required" and approve:
        raise DomainError(
            "recount_open",
            f"Bin {task['bin_code']} waits for its recount (task {task['recount_id']}).",
            409,
        )
    if task["status"] == "recounted":
        return await _task(conn, task["recount_id"], lock=True)
    return task


async def _adjust(conn: asyncpg.Connection, task: asyncpg.Record, actor: Actor) -> None:
    """Write each lot's variance to the ledger as a `count` movement, a delta on the
    balance as it is now; the whole approval fails when one loss is larger than the free
    units (nothing written)."""
    lines = await conn.fetch(_LINES, [task["id"]])
    bin_location = await resolve_location(conn, task["bin_barcode"])
    for line in lines:
        variance = line["counted"] - line["expected"]
        if variance == 0:
            continue
        if line["tracking"] in _SERIALISED:
            raise DomainError(
                "serial_count_adjustment",
                f"Lot {line['lot_code']} is tracked by serial: find which serials differ and "
                "adjust them with POST /api/adjustments; nothing was written.",
                409,
            )
        gain = variance > 0
        movement = await apply_transfer(
            conn,
            Transfer(
                kind="count",
                lot_id=line["lot_id"],
                lot_code=line["lot_code"],
                sku=line["sku"],
                quantity=abs(variance),
                from_location=None if gain else bin_location,
                to_location=bin_location if gain else None,
                reason=(
                    f"Cycle count {task['count_id']}, task {task['id']}: counted "
                    f"{line['counted']}, expected {line['expected']}"
                ),
                reference=f"count-task/{task['id']}",
                actor=actor,
            ),
        )
        await conn.execute(
            "UPDATE count_line SET adjustment_id = $2 WHERE id = $1", line["id"], movement.id
        )


async def decide(
    conn: asyncpg.Connection, task_id: int, approve: bool, data: DecisionIn, actor: Actor
) -> Outcome:
    """Approve a counted bin (its variances become `count` movements) or reject it (nothing
    is written; an open task is cancelled); once per idempotency key."""

    async def effect(key: Key) -> TaskReview:
        async with conn.transaction():
            task = await _decided_task(conn, task_id, approve)
            if task["status"] in ("approved", "rejected"):
                raise DomainError(
                    "count_task_decided", f"Count task {task['id']} is {task['status']}.", 409
                )
            if approve and task["status"] != "submitted":
                raise DomainError(
                    "count_not_submitted",
                    f"Bin {task['bin_code']} is not counted yet: nothing to approve.",
                    409,
                )
            if approve:
                await _adjust(conn, task, actor)
            decided = [task["id"], task["recount_of"], task["recount_id"]]
            await conn.execute(
                """UPDATE count_task SET status = $2, decided_by = $3, decided_at = now(),
                          decision_note = $4
                    WHERE id = ANY($1::bigint[]) AND status NOT IN ('approved', 'rejected')""",
                [task_id for task_id in decided if task_id is not None],
                "approved" if approve else "rejected",
                actor.user_id,
                data.note,
            )
            body = await _task_review(conn, task["id"])
            await store_key(conn, key, body, 200)
        return body

    async def replay(_: int) -> TaskReview:
        raise AssertionError("a count decision stores its response with its key")

    operation = "count_approve" if approve else "count_reject"
    return await apply_once(conn, _keyed(data), operation, actor.user_id, effect, replay, 200)


# --- accuracy -----------------------------------------------------------------------------

_COUNTED_LINES = """
SELECT w.code || '/' || loc.code AS bin, u.username AS counter, t.id AS task_id,
       cl.counted - cl.expected AS variance
  FROM count_line cl
  JOIN count_task t ON t.id = cl.task_id
  JOIN location loc ON loc.id = t.location_id
  JOIN warehouse w ON w.id = loc.warehouse_id
  JOIN app_user u ON u.id = t.counted_by
 WHERE t.submitted_at IS NOT NULL AND ($1::text IS NULL OR w.code = $1)"""


async def count_accuracy(conn: asyncpg.Connection, warehouse: str | None) -> AccuracyOut:
    """How exact the submitted counts were, per bin and per counter."""
    if warehouse is not None and (
        await conn.fetchval("SELECT id FROM warehouse WHERE code = $1", warehouse) is None
    ):
        raise DomainError("unknown_warehouse", f"No warehouse {warehouse}.", 422)
    lines = [
        CountedLine(
            bin=r["bin"], counter=r["counter"], task_id=r["task_id"], variance=r["variance"]
        )
        for r in await conn.fetch(_COUNTED_LINES, warehouse)
    ]

    def rows(by: str) -> list[AccuracyRow]:
        return [
            AccuracyRow(
                name=a.name,
                tasks=a.tasks,
                lines=a.lines,
                exact_lines=a.exact_lines,
                accuracy=a.accuracy,
                variance_units=a.variance_units,
            )
            for a in accuracy(lines, by=by)
        ]

    return AccuracyOut(warehouse=warehouse, by_bin=rows("bin"), by_counter=rows("counter"))
