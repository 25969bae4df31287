"""Picking: tasks in walking order, the bin-then-lot confirmation, substitution, shorts.

A pick scan is judged and applied in the scan's transaction (`backend.scanning.service`
opens it and records the scan in it): the task row is locked, the lot's status is read
`FOR SHARE` and checked against the line's rules in the same transaction as the stock
change (DESIGN.md rule 3), and the units move in the ledger from the bin to the picker's
tote, taking the units the wave allocated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
import msgspec

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location
from backend.db.reference_cache import ReferenceCache
from backend.domain.allocation import Eligibility, LineDemand, StockSlot, eligibility
from backend.domain.allocation import substitution_refusal as refuse_substitute
from backend.errors import DomainError
from backend.fulfilment.orders import ORDER_RULES, line_demand, refresh_order_status
from backend.fulfilment.schemas import ClaimIn, PickBin, PickTaskOut, ShortIn
from backend.fulfilment.waves import ASSIGNED, assigned
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import Transfer, apply_transfer, transfer_statement
from backend.live.outbox import publish

__all__ = [
    "LotState",
    "Scanned",
    "Step",
    "claim_tasks",
    "gate_code",
    "list_tasks",
    "lot_state",
    "pick_scan",
    "short_task",
    "store_key",
    "task_by_id",
]

_SERIALISED = ("serial", "lot_serial")
_FLOOR_LEADS = frozenset({"supervisor", "admin"})


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a scan named, as the scanning service resolved it."""

    product_id: int | None = None
    tracking: str | None = None
    lot_id: int | None = None
    serial: str | None = None
    location_id: int | None = None


@dataclass(slots=True)
class Step:
    """The verdict of a pick or pack scan (a code of shared/scan-codes.json), and the task it
    moved or pointed at."""

    code: str
    message: str
    task_id: int | None = None
    lot_id: int | None = None
    """The lot the scan ended on (the substitute, after a substitution)."""
    task: PickTaskOut | None = None
    """The task after the scan."""


_TASK_SELECT = """
SELECT t.id, t.wave_id, t.order_id, o.external_id AS order_external_id, t.order_line_id,
       p.sku, p.name AS product_name, p.id AS product_id, p.tracking,
       coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtin g
                  WHERE g.product_id = p.id), '{}') AS gtins,
       t.lot_id, l.code AS lot_code, coalesce(l.expiry_date, l.best_before_date) AS expiry,
       t.location_id, b.code AS bin_code, b.barcode AS bin_barcode, t.quantity, t.picked,
       t.short, t.short_reason, t.status, t.bin_confirmed_at, t.assignee_id, u.username AS assignee,
       tote.code AS tote, t.walk_sequence
  FROM pick_task t
  JOIN sales_order o ON o.id = t.order_id
  JOIN order_line ol ON ol.id = t.order_line_id
  JOIN product p ON p.id = ol.product_id
  JOIN lot l ON l.id = t.lot_id
  JOIN location b ON b.id = t.location_id
  LEFT JOIN app_user u ON u.id = t.assignee_id
  LEFT JOIN location tote ON tote.id = t.tote_id
"""
_WALKING_ORDER = " ORDER BY t.walk_sequence, b.code, t.order_id, t.id"


def _task_out(row: asyncpg.Record) -> PickTaskOut:
    return PickTaskOut(
        id=row["id"],
        wave_id=row["wave_id"],
        order_id=row["order_id"],
        order_external_id=row["order_external_id"],
        line_id=row["order_line_id"],
        sku=row["sku"],
        product_name=row["product_name"],
        gtins=list(row["gtins"]),
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        expiry=row["expiry"],
        bin=PickBin(id=row["location_id"], code=row["bin_code"], barcode=row["bin_barcode"]),
        quantity=row["quantity"],
        picked=row["picked"],
        short=row["short"],
        short_reason=row["short_reason"],
        status=row["status"],
        bin_confirmed=row["bin_confirmed_at"] is not None,
        assignee=row["assignee"],
        tote=row["tote"],
        walk_sequence=row["walk_sequence"],
    )


async def task_by_id(conn: asyncpg.Connection, task_id: int) -> PickTaskOut:
    row = await conn.fetchrow(_TASK_SELECT + " WHERE t.id = $1", task_id)
    if row is None:
        raise DomainError("task_not_found", f"No pick task {task_id}.", 404)
    return _task_out(row)


async def list_tasks(
    conn: asyncpg.Connection, actor: Actor, assignee: str, status: str, limit: int
) -> list[PickTaskOut]:
    """Tasks in walking order: the caller's (`me`), unclaimed ones (`none`), or a user's."""
    if assignee == "me":
        clause, value = "t.assignee_id = $2", actor.user_id
    elif assignee == "none":
        clause, value = "t.assignee_id IS NULL AND $2::bigint IS NULL", None
    else:
        user_id = await conn.fetchval("SELECT id FROM app_user WHERE username = $1", assignee)
        if user_id is None:
            raise DomainError("unknown_user", f"No user {assignee}.", 422)
        clause, value = "t.assignee_id = $2", user_id
    rows = await conn.fetch(
        _TASK_SELECT
        + f" WHERE ($1 = 'all' OR t.status = $1) AND {clause}"
        + _WALKING_ORDER
        + " LIMIT $3",
        status,
        value,
        limit,
    )
    return [_task_out(row) for row in rows]


_CLAIM = """
WITH next_order AS (
    SELECT order_id FROM pick_task
     WHERE status = 'open' AND assignee_id IS NULL
     ORDER BY order_id LIMIT 1
       FOR UPDATE SKIP LOCKED
)
UPDATE pick_task t SET assignee_id = $1, updated_at = now()
  FROM next_order n
 WHERE t.order_id = n.order_id AND t.status = 'open' AND t.assignee_id IS NULL
RETURNING t.order_id"""


async def claim_tasks(conn: asyncpg.Connection, data: ClaimIn, actor: Actor) -> Outcome:
    """Give the caller the open tasks of the next unclaimed order; answer their open tasks.
    Once per key: a retry (a handheld replaying its queue) answers the first claim's."""
    if data.idempotency_key is None:
        data = ClaimIn(idempotency_key=uuid.uuid4())

    async def claim(key: Key) -> list[PickTaskOut]:
        async with conn.transaction():
            claimed = await conn.fetch(_CLAIM, actor.user_id)
            if claimed:
                order_id = claimed[0]["order_id"]
                await conn.execute(
                    "UPDATE sales_order SET picker_id = $1 WHERE id = $2", actor.user_id, order_id
                )
                row = await conn.fetchrow(
                    ASSIGNED.format(where="t.order_id = $1 AND t.status = 'open'"), order_id
                )
                await publish(conn, row["warehouse_id"], "task.assigned", assigned(row))
            tasks = await list_tasks(conn, actor, "me", "open", 500)
            await store_key(conn, key, tasks, 200)
        return tasks

    async def replay(_: int) -> list[PickTaskOut]:
        raise AssertionError("a claim stores its response with its key")

    return await apply_once(conn, data, "pick_claim", actor.user_id, claim, replay, 200)


# --- one pick scan ------------------------------------------------------------------------

_TASK_FOR_PICK = """
SELECT t.*, ol.product_id, o.warehouse_id, w.code AS warehouse, o.status AS order_status,
       o.external_id AS order_external_id,  w.allow_lot_substitution, {rules},
       b.code AS bin_code, b.barcode AS bin_barcode, l.code AS lot_code,
       coalesce(l.expiry_date, l.best_before_date) AS expiry, p.sku, p.name AS product_name,
       coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtin g
                  WHERE g.product_id = p.id), '{{}}') AS gtins,
       u.username AS assignee, tote.code AS tote{lot_columns}
  FROM pick_task t
  JOIN order_line ol ON ol.id = t.order_line_id
  JOIN sales_order o ON o.id = t.order_id
  JOIN warehouse w ON w.id = o.warehouse_id
  JOIN channel c ON c.id = o.channel_id
  JOIN customer cu ON cu.id = o.customer_id
  JOIN location b ON b.id = t.location_id
  JOIN lot l ON l.id = t.lot_id
  JOIN product p ON p.id = ol.product_id
  LEFT JOIN app_user u ON u.id = t.assignee_id
  LEFT JOIN location tote ON tote.id = t.tote_id{lot_join}
 WHERE t.id = $1
   FOR UPDATE OF t{lot_lock}"""
"""A task with its line's rules, locked; with `{lot_*}` filled, also the scanned lot ($2),
share-locked (a hold waits for this pick, and this pick for a hold), and its free units in
the task's bin."""

_TASK = _TASK_FOR_PICK.format(rules=ORDER_RULES, lot_columns="", lot_join="", lot_lock="")
_TASK_AND_LOT = _TASK_FOR_PICK.format(
    rules=ORDER_RULES,
    lot_columns=""",
       sl.id AS scanned_lot_id, sl.code AS scanned_code, sl.product_id AS scanned_product_id,
       sl.status AS scanned_status, sl.received_at AS scanned_received_at,
       coalesce(sl.expiry_date, sl.best_before_date) AS scanned_expiry,
       coalesce(sb.quantity - sb.allocated, 0) AS scanned_free,
       coalesce((SELECT array_agg(country) FROM lot_barred_country bc
                  WHERE bc.lot_id = sl.id), '{}') AS scanned_barred""",
    lot_join="""
  JOIN lot sl ON sl.id = $2
  LEFT JOIN stock_balance sb ON sb.lot_id = sl.id AND sb.location_id = t.location_id""",
    lot_lock=" FOR SHARE OF sl",
)

_PICK_TRANSFER = transfer_statement(
    after=""",
task_moved AS (
    UPDATE pick_task
       SET picked = picked + $5, tote_id = $4, assignee_id = coalesce(assignee_id, $8),
           status = CASE WHEN picked + $5 + short = quantity THEN 'done' ELSE status END,
           updated_at = now()
     WHERE id = $14 AND EXISTS (SELECT 1 FROM written)
)""",
    order_line="$13::bigint",
    allocated=True,
)
"""One statement: take allocated units from the bin, put them in the tote, write the
movement and move the task on ($14)."""

_GATE_CODES: dict[Eligibility, str] = {
    "held": "lot_not_released",
    "short_dated": "lot_short_dated",
    "barred": "lot_barred",
}
_STATUS_CODES = {"hold": "lot_on_hold", "quarantine": "lot_quarantined", "recalled": "lot_recalled"}

_totes: ReferenceCache[tuple[int, int], asyncpg.Record] = ReferenceCache()


def _demand(task: asyncpg.Record) -> LineDemand:
    """The rules of the task's order line, as allocation judged them."""
    return line_demand(
        task,
        task["order_line_id"],
        task["product_id"],
        task["quantity"],
        dated=task["expiry"] is not None,
    )


@dataclass(frozen=True, slots=True)
class LotState:
    """A lot as the pick and pack checks read it (under a share lock)."""

    lot_id: int
    code: str
    product_id: int
    status: str
    received_at: datetime
    expiry: date | None
    free: int
    """Free units in the bin the check is about (0 where it is about no bin)."""
    barred: frozenset[str]


def lot_state(row: asyncpg.Record, prefix: str = "") -> LotState:
    """The lot of a row with columns `lot_id`, `code`, `product_id`, `status`, `received_at`,
    `expiry`, `free` (optional) and `barred`, each after `prefix`."""
    names = row.keys()
    return LotState(
        lot_id=row[f"{prefix}lot_id"],
        code=row[f"{prefix}code"],
        product_id=row[f"{prefix}product_id"],
        status=row[f"{prefix}status"],
        received_at=row[f"{prefix}received_at"],
        expiry=row[f"{prefix}expiry"],
        free=row[f"{prefix}free"] if f"{prefix}free" in names else 0,
        barred=frozenset(row[f"{prefix}barred"] or ()),
    )


def _slot(lot: LotState, location_id: int) -> StockSlot:
    return StockSlot(
        lot_id=lot.lot_id,
        location_id=location_id,
        product_id=lot.product_id,
        status=lot.status,
        expiry=lot.expiry,
        received_at=lot.received_at,
        free=lot.free,
        walk_sequence=0,
        barred_countries=lot.barred,
    )


def gate_code(lot: LotState, line: LineDemand) -> tuple[str, str] | None:
    """Why this lot may not go to this order line now, or None (DESIGN.md rule 3)."""
    judged = eligibility(_slot(lot, 0), line)
    if judged == "eligible":
        return None
    code = _STATUS_CODES.get(lot.status, "lot_not_released") if judged == "held" else None
    code = code or _GATE_CODES[judged]
    reasons = {
        "held": f"Lot {lot.code} is {lot.status}: it may not be picked, packed or shipped.",
        "short_dated": f"Lot {lot.code} expires {lot.expiry}: too soon for this order.",
        "barred": f"Lot {lot.code} may not ship to {line.country}.",
    }
    return code, reasons[judged]


def _task_out_after(task: asyncpg.Record, picked: int = 0) -> PickTaskOut:
    """The task as a pick scan leaves it: its row, `picked` more units later."""
    out = _task_out(task)
    out.picked += picked
    if out.picked + out.short == out.quantity:
        out.status = "done"
    return out


def _expected(task: asyncpg.Record) -> str:
    expiry = f" (exp {task['expiry'].isoformat()})" if task["expiry"] else ""
    return f"lot {task['lot_code']}{expiry} from bin {task['bin_code']}"


async def pick_scan(
    conn: asyncpg.Connection,
    task_id: int,
    scanned: Scanned,
    quantity: int | None,
    actor: Actor,
) -> Step:
    """Judge a pick scan of a task and, when it is right, apply it (in the caller's
    transaction): a bin label confirms the bin; a lot picks `quantity` units (1 by default)."""
    lot_scan = scanned.lot_id is not None
    task = await (
        conn.fetchrow(_TASK_AND_LOT, task_id, scanned.lot_id)
        if lot_scan
        else conn.fetchrow(_TASK, task_id)
    )
    if task is None:
        return Step("unknown_task", f"There is no pick task {task_id}.")
    as_is = _task_out(task)
    if task["status"] != "open":
        return Step("task_done", "This task is already done.", task_id, task=as_is)
    if task["assignee_id"] not in (None, actor.user_id) and not actor.roles & _FLOOR_LEADS:
        return Step("task_not_yours", "This task is another picker's.", task_id)
    if scanned.location_id is not None and not lot_scan:
        return await _confirm_bin(conn, task, scanned.location_id, actor)
    if scanned.product_id != task["product_id"]:
        return Step(
            "wrong_product",
            f"Not this product: pick {task['sku']}, {_expected(task)}.",
            task_id,
            task=as_is,
        )
    if scanned.tracking in _SERIALISED and scanned.serial is None:
        return Step(
            "serial_required",
            f"{task['sku']} is tracked by serial: scan a unit.",
            task_id,
            task=as_is,
        )
    if task["bin_confirmed_at"] is None:
        return Step("bin_not_confirmed", f"Scan bin {task['bin_code']} first.", task_id, task=as_is)
    remaining = task["quantity"] - task["picked"] - task["short"]
    units = 1 if scanned.serial is not None else (quantity or 1)
    if units > remaining:
        return Step(
            "over_pick",
            f"Only {remaining} more to pick here; {units} scanned.",
            task_id,
            task=as_is,
        )
    if not lot_scan:  # an untracked product: its one lot is the task's
        task = await conn.fetchrow(_TASK_AND_LOT, task_id, task["lot_id"])
    lot = lot_state(task, "scanned_")
    line = _demand(task)
    refused = gate_code(lot, line)
    if refused is not None:
        return Step(*refused, task_id, lot.lot_id, task=as_is)
    if lot.lot_id != task["lot_id"]:
        return await _substitute_and_pick(conn, task, lot, line, remaining, units, scanned, actor)
    await _pick(conn, task, lot, units, scanned, actor)
    left = remaining - units
    then = f"{left} more here." if left else "Task done."
    return Step(
        "picked",
        f"Picked {units} of lot {lot.code}. {then}",
        task_id,
        lot.lot_id,
        task=_task_out_after(task, units),
    )


async def _pick(
    conn: asyncpg.Connection,
    task: asyncpg.Record,
    lot: LotState,
    units: int,
    scanned: Scanned,
    actor: Actor,
) -> None:
    """Move `units` of the task's lot from its bin to the picker's tote, and the task on."""
    tote = await _tote(conn, task["warehouse_id"], task["warehouse"], actor)
    await apply_transfer(
        conn,
        Transfer(
            kind="pick",
            lot_id=lot.lot_id,
            lot_code=lot.code,
            sku=task["sku"],
            quantity=units,
            from_location=await resolve_location(conn, task["bin_barcode"]),
            to_location=tote,
            serials=[scanned.serial] if scanned.serial is not None else [],
            reference=f"order {task['order_id']}",
            actor=actor,
            order_line_id=task["order_line_id"],
            allocated=True,
        ),
        statement=_PICK_TRANSFER,
        extra=(task["id"],),
    )
    done = task["picked"] + task["short"] + units == task["quantity"]
    if done or task["order_status"] == "allocated":
        await refresh_order_status(conn, task["order_id"])


async def _substitute_and_pick(
    conn: asyncpg.Connection,
    task: asyncpg.Record,
    lot: LotState,
    line: LineDemand,
    remaining: int,
    units: int,
    scanned: Scanned,
    actor: Actor,
) -> Step:
    step = await _substitute(conn, task, lot, line, remaining)
    if step.code != "lot_substituted":
        return step
    assert step.task_id is not None
    moved = await conn.fetchrow(_TASK_AND_LOT, step.task_id, lot.lot_id)
    await _pick(conn, moved, lot_state(moved, "scanned_"), units, scanned, actor)
    left = remaining - units
    then = f"{left} more here." if left else "Task done."
    return Step(
        "lot_substituted",
        f"Picked {units} of lot {lot.code} instead of {task['lot_code']}: {then}",
        step.task_id,
        lot.lot_id,
        task=_task_out_after(moved, units),
    )


async def _confirm_bin(
    conn: asyncpg.Connection, task: asyncpg.Record, location_id: int, actor: Actor
) -> Step:
    if location_id != task["location_id"]:
        return Step(
            "wrong_bin",
            f"Wrong bin: go to bin {task['bin_code']} for {_expected(task)}.",
            task["id"],
            task=_task_out(task),
        )
    confirmed_at = await conn.fetchval(
        """UPDATE pick_task SET bin_confirmed_at = coalesce(bin_confirmed_at, now()),
                  assignee_id = coalesce(assignee_id, $2), updated_at = now()
            WHERE id = $1 RETURNING bin_confirmed_at""",
        task["id"],
        actor.user_id,
    )
    confirmed = _task_out(task)
    confirmed.bin_confirmed = confirmed_at is not None
    if confirmed.assignee is None:
        confirmed.assignee = actor.username
    return Step(
        "bin_confirmed",
        f"Bin {task['bin_code']}: now scan {_expected(task)}.",
        task["id"],
        task=confirmed,
    )


async def _substitute(
    conn: asyncpg.Connection,
    task: asyncpg.Record,
    lot: LotState,
    line: LineDemand,
    remaining: int,
) -> Step:
    """Move the task's unpicked allocation to the scanned lot, if the warehouse allows it
    and that lot is equally eligible; otherwise the scan is the wrong lot."""
    wrong = f"Wrong lot {lot.code}: pick {_expected(task)}."
    as_is = _task_out(task)
    if not task["allow_lot_substitution"]:
        return Step("wrong_lot", wrong, task["id"], lot.lot_id, task=as_is)
    candidate = _slot(lot, task["location_id"])
    expected = StockSlot(
        lot_id=task["lot_id"],
        location_id=task["location_id"],
        product_id=task["product_id"],
        status="released",
        expiry=task["expiry"],
        received_at=lot.received_at,
        free=remaining,
        walk_sequence=task["walk_sequence"],
    )
    refusal = refuse_substitute(line, expected, candidate, remaining)
    if refusal is not None:
        why = {
            "later_expiry": "it expires later than the lot allocated",
            "insufficient_free": f"only {candidate.free} free units of it are in this bin",
        }.get(refusal)
        return Step(
            "wrong_lot",
            wrong + (f" It cannot replace it: {why}." if why else ""),
            task["id"],
            lot.lot_id,
            task=as_is,
        )
    moved = await conn.fetch(
        """UPDATE stock_balance b SET allocated = b.allocated + CASE WHEN b.lot_id = $2
                                                                 THEN $4 ELSE -$4 END,
                  updated_at = now()
            WHERE b.location_id = $3 AND (
                  (b.lot_id = $1 AND b.allocated >= $4)
               OR (b.lot_id = $2 AND b.quantity - b.allocated >= $4))
           RETURNING b.lot_id""",
        task["lot_id"],
        lot.lot_id,
        task["location_id"],
        remaining,
    )
    if len(moved) != 2:
        raise DomainError(
            "insufficient_stock", "The bin's stock changed meanwhile: scan again.", 409
        )
    done = task["picked"] + task["short"]
    if done == 0:
        await conn.execute(
            "UPDATE pick_task SET lot_id = $2, updated_at = now() WHERE id = $1",
            task["id"],
            lot.lot_id,
        )
        new_id = task["id"]
    else:
        await conn.execute(
            """UPDATE pick_task SET quantity = $2, status = 'done', updated_at = now()
                WHERE id = $1""",
            task["id"],
            done,
        )
        new_id = await conn.fetchval(
            """INSERT INTO pick_task (wave_id, order_id, order_line_id, lot_id, location_id,
                                      walk_sequence, quantity, assignee_id, tote_id,
                                      bin_confirmed_at, substituted_from)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id""",
            task["wave_id"],
            task["order_id"],
            task["order_line_id"],
            lot.lot_id,
            task["location_id"],
            task["walk_sequence"],
            remaining,
            task["assignee_id"],
            task["tote_id"],
            task["bin_confirmed_at"],
            task["id"],
        )
    return Step(
        "lot_substituted",
        f"Lot {lot.code} replaces lot {task['lot_code']}.",
        new_id,
        lot.lot_id,
    )


async def _tote(
    conn: asyncpg.Connection, warehouse_id: int, warehouse: str, actor: Actor
) -> asyncpg.Record:
    """The picker's tote in this warehouse, `TOTE-<USERNAME>`, made on first use."""
    cached = _totes.get((warehouse_id, actor.user_id))
    if cached is not None:
        return cached
    code = f"TOTE-{actor.username.upper()}"
    row = await conn.fetchrow(
        """WITH made AS (
               INSERT INTO location (warehouse_id, code, barcode, kind, zone)
               VALUES ($1, $2, $3, 'tote', 'TOTES')
               ON CONFLICT (warehouse_id, code) DO NOTHING
               RETURNING id, kind, code)
           SELECT id, kind, code, $4::text AS warehouse FROM made
           UNION ALL
           SELECT id, kind, code, $4::text FROM location WHERE warehouse_id = $1 AND code = $2""",
        warehouse_id,
        code,
        f"{code}@{warehouse}",
        warehouse,
    )
    _totes.put((warehouse_id, actor.user_id), row)
    return row


# --- short picks ------------------------------------------------------------------------


async def short_task(
    conn: asyncpg.Connection, task_id: int, data: ShortIn, actor: Actor
) -> Outcome:
    """Record that the units not picked of a task are short; their allocation is released.
    Applied once per idempotency key."""

    async def effect(key: Key) -> object:
        async with conn.transaction():
            task = await conn.fetchrow(_TASK, task_id)
            if task is None:
                raise DomainError("task_not_found", f"No pick task {task_id}.", 404)
            if task["status"] != "open":
                raise DomainError("task_done", "This task is already done.", 409)
            if task["assignee_id"] not in (None, actor.user_id) and not actor.roles & _FLOOR_LEADS:
                raise DomainError("task_not_yours", "This task is another picker's.", 403)
            remaining = task["quantity"] - task["picked"] - task["short"]
            await conn.execute(
                """UPDATE stock_balance SET allocated = allocated - $3, updated_at = now()
                    WHERE lot_id = $1 AND location_id = $2""",
                task["lot_id"],
                task["location_id"],
                remaining,
            )
            await conn.execute(
                """UPDATE pick_task SET short = short + $2, short_reason = $3, status = 'done',
                          assignee_id = coalesce(assignee_id, $4), updated_at = now()
                    WHERE id = $1""",
                task_id,
                remaining,
                data.reason,
                actor.user_id,
            )
            await refresh_order_status(conn, task["order_id"])
            body = await task_by_id(conn, task_id)
            await store_key(conn, key, body, 200)
        return body

    async def replay(_: int) -> object:
        raise AssertionError("a short pick stores its response with its key")

    return await apply_once(conn, data, "short_pick", actor.user_id, effect, replay, 200)


async def store_key(conn: asyncpg.Connection, key: Key, body: object, status: int) -> None:
    """Keep a write's response with its key, in the write's transaction."""
    await conn.execute(
        """INSERT INTO idempotency_key (key, operation, user_id, request_hash, status_code,
                                        response)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb)""",
        key.value,
        key.operation,
        key.user_id,
        key.digest,
        status,
        msgspec.json.encode(body).decode(),
    )
