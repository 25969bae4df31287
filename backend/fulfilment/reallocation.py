"""Moving open pick tasks off lots that may no longer go out (a hold, a recall).

Called in the hold's transaction, after the lots' status changed: each open task on those
lots gives back its unpicked units' allocation, the allocation rule picks the next eligible
lot for them by the order line's rules (the held lots are no longer eligible), and the task
is pointed at it, split, or made short when nothing else is eligible. Each change becomes a
`task.reallocated` message in the task's warehouse: the skip-this-lot instruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from backend.domain.allocation import allocate_wave
from backend.errors import DomainError
from backend.fulfilment.orders import ORDER_RULES, line_demand, refresh_order_status
from backend.fulfilment.waves import _RESERVE, _STOCK, stock_slots
from backend.live.outbox import publish_many

__all__ = ["Moved", "reallocate_tasks"]


@dataclass(frozen=True, slots=True)
class Moved:
    """One change to an open task: its units now in `new_task_id` (a lot and bin), or short."""

    task_id: int
    new_task_id: int | None
    order_id: int
    old_lot: str
    new_lot: str | None
    bin: str | None
    units: int
    short: bool
    new_lot_id: int | None = None
    new_lot_expiry: str | None = None
    bin_barcode: str | None = None
    old_lot_id: int | None = None


_OPEN_TASKS = f"""
SELECT t.*, o.warehouse_id, o.external_id AS order_external_id, {ORDER_RULES}, ol.product_id,
       l.code AS lot_code, u.username AS assignee
  FROM pick_task t
  JOIN sales_order o ON o.id = t.order_id
  JOIN order_line ol ON ol.id = t.order_line_id
  JOIN channel c ON c.id = o.channel_id
  JOIN customer cu ON cu.id = o.customer_id
  JOIN lot l ON l.id = t.lot_id
  LEFT JOIN app_user u ON u.id = t.assignee_id
 WHERE t.lot_id = ANY($1::bigint[]) AND t.status = 'open'
 ORDER BY t.id
   FOR UPDATE OF t"""

_NEW_TASK = """
INSERT INTO pick_task (wave_id, order_id, order_line_id, lot_id, location_id, walk_sequence,
                       quantity, assignee_id, tote_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"""


async def reallocate_tasks(
    conn: asyncpg.Connection, lot_ids: list[int], hold_id: int
) -> list[Moved]:
    """Move every open task on `lot_ids` to the next eligible lot, or short (in the caller's
    transaction, after the lots' status changed by hold `hold_id`, which the messages name)."""
    moved: list[Moved] = []
    for task in await conn.fetch(_OPEN_TASKS, lot_ids):
        moved += await _reallocate(conn, task)
    by_warehouse: dict[int, list[dict[str, object]]] = {}
    tasks = {task["id"]: task for task in await conn.fetch(_OPEN_TASKS_BY_ID, _ids(moved))}
    for change in moved:
        task = tasks[change.task_id]
        by_warehouse.setdefault(task["warehouse_id"], []).append(_message(change, task, hold_id))
    for warehouse_id, messages in sorted(by_warehouse.items()):
        await publish_many(conn, warehouse_id, "task.reallocated", messages)
    for order_id in sorted({change.order_id for change in moved}):
        await refresh_order_status(conn, order_id)
    return moved


_OPEN_TASKS_BY_ID = """
SELECT t.id, o.warehouse_id, o.external_id AS order_external_id, u.username AS assignee
  FROM pick_task t JOIN sales_order o ON o.id = t.order_id
  LEFT JOIN app_user u ON u.id = t.assignee_id
 WHERE t.id = ANY($1::bigint[])"""


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _ids(moved: list[Moved]) -> list[int]:
    return sorted({change.task_id for change in moved})


def _message(change: Moved, task: asyncpg.Record, hold_id: int) -> dict[str, object]:
    return {
        "holdId": hold_id,
        "taskId": change.task_id,
        "newTaskId": change.new_task_id,
        "orderId": change.order_id,
        "orderExternalId": task["order_external_id"],
        "assignee": task["assignee"],
        "oldLot": {"id": change.old_lot_id, "code": change.old_lot},
        "newLot": None
        if change.new_lot is None
        else {"id": change.new_lot_id, "code": change.new_lot, "expiry": change.new_lot_expiry},
        "bin": None if change.bin is None else {"code": change.bin, "barcode": change.bin_barcode},
        "quantity": change.units,
        "short": change.short,
    }


async def _reallocate(conn: asyncpg.Connection, task: asyncpg.Record) -> list[Moved]:
    remaining = task["quantity"] - task["picked"] - task["short"]
    await conn.execute(
        """UPDATE stock_balance SET allocated = allocated - $3, updated_at = now()
            WHERE lot_id = $1 AND location_id = $2""",
        task["lot_id"],
        task["location_id"],
        remaining,
    )
    slots = stock_slots(await conn.fetch(_STOCK, [task["product_id"]], task["warehouse_id"]))
    demand = line_demand(
        task,
        task["order_line_id"],
        task["product_id"],
        remaining,
        dated=any(slot.expiry is not None for slot in slots),
    )
    plan = allocate_wave([demand], slots)
    allocations = plan.allocations
    if allocations:
        reserved = await conn.fetch(
            _RESERVE,
            [a.lot_id for a in allocations],
            [a.location_id for a in allocations],
            [a.quantity for a in allocations],
        )
        if len(reserved) != len({(a.lot_id, a.location_id) for a in allocations}):
            raise DomainError(
                "allocation_contended", "Stock changed while the hold moved tasks; try again.", 409
            )
    short = sum(s.quantity for s in plan.shortfalls)
    places = {
        row["id"]: row
        for row in await conn.fetch(
            "SELECT id, code, barcode, walk_sequence FROM location WHERE id = ANY($1::bigint[])",
            [a.location_id for a in allocations],
        )
    }
    lots = {
        row["id"]: row
        for row in await conn.fetch(
            """SELECT id, code, coalesce(expiry_date, best_before_date) AS expiry FROM lot
                WHERE id = ANY($1::bigint[])""",
            [a.lot_id for a in allocations],
        )
    }
    done = task["picked"] + task["short"] + short
    reuse = done == 0 and bool(allocations)
    moved: list[Moved] = []
    if not reuse:
        await conn.execute(
            """UPDATE pick_task SET short = short + $2, quantity = $3, status = 'done',
                      short_reason = CASE WHEN $2 > 0 THEN 'held' ELSE short_reason END,
                      updated_at = now()
                WHERE id = $1""",
            task["id"],
            short,
            done,
        )
        if short:
            moved.append(
                Moved(
                    task["id"],
                    None,
                    task["order_id"],
                    task["lot_code"],
                    None,
                    None,
                    short,
                    True,
                    old_lot_id=task["lot_id"],
                )
            )
    for index, allocation in enumerate(allocations):
        place = places[allocation.location_id]
        if reuse and index == 0:
            await conn.execute(
                """UPDATE pick_task SET lot_id = $2, location_id = $3, walk_sequence = $4,
                          quantity = $5, bin_confirmed_at = NULL, updated_at = now()
                    WHERE id = $1""",
                task["id"],
                allocation.lot_id,
                allocation.location_id,
                place["walk_sequence"],
                allocation.quantity,
            )
            new_id = task["id"]
        else:
            new_id = await conn.fetchval(
                _NEW_TASK,
                task["wave_id"],
                task["order_id"],
                task["order_line_id"],
                allocation.lot_id,
                allocation.location_id,
                place["walk_sequence"],
                allocation.quantity,
                task["assignee_id"],
                task["tote_id"],
            )
        moved.append(
            Moved(
                task["id"],
                new_id,
                task["order_id"],
                task["lot_code"],
                lots[allocation.lot_id]["code"],
                place["code"],
                allocation.quantity,
                False,
                new_lot_id=allocation.lot_id,
                new_lot_expiry=_iso(lots[allocation.lot_id]["expiry"]),
                bin_barcode=place["barcode"],
                old_lot_id=task["lot_id"],
            )
        )
    return moved
