"""Waves: allocate many orders at once (FEFO/FIFO, the lot rules) and create pick tasks.

The rule is `backend.domain.allocation.allocate_wave`; this shell loads the lines and the
free stock, calls it, and persists the plan in one transaction. Two waves at once never
allocate the same unit: each takes a transaction-scoped advisory lock per product (in
product order, so they cannot deadlock), and the balances' `allocated` rises by a
conditional update (`quantity - allocated >= n`) whose row count is checked, with the
CHECK `allocated <= quantity` beneath it. Picks, shorts and substitutions change the
balances without the product locks; when one of them takes stock a plan counted on, the
conditional update misses, the wave's writes are rolled back and it plans again.
"""

from __future__ import annotations

from itertools import cycle
from typing import Any

import asyncpg

from backend.auth.schemas import Actor
from backend.domain.allocation import StockSlot, WavePlan, allocate_wave
from backend.errors import DomainError
from backend.fulfilment.orders import ORDER_RULES, line_demand
from backend.fulfilment.schemas import WaveIn, WaveOut, WaveShortfall
from backend.live.outbox import publish_many

__all__ = ["ASSIGNED", "assigned", "create_wave", "stock_slots"]

_PRODUCT_LOCKS = 7_403
"""The advisory-lock class of "allocating this product" (the key is the product id)."""
_ATTEMPTS = 5

_ORDERS = f"""
SELECT o.id, o.status, o.warehouse_id, w.code AS warehouse, {ORDER_RULES}
  FROM sales_order o
  JOIN channel c ON c.id = o.channel_id
  JOIN customer cu ON cu.id = o.customer_id
  JOIN warehouse w ON w.id = o.warehouse_id
 WHERE o.id = ANY($1::bigint[])
 ORDER BY o.id
   FOR UPDATE OF o"""

_LINES = """
SELECT ol.id, ol.order_id, ol.product_id, ol.quantity, p.sku
  FROM order_line ol JOIN product p ON p.id = ol.product_id
 WHERE ol.order_id = ANY($1::bigint[])
 ORDER BY ol.order_id, ol.line_no"""

_STOCK = """
SELECT b.lot_id, b.location_id, l.product_id, l.status,
       coalesce(l.expiry_date, l.best_before_date) AS expiry, l.received_at,
       b.quantity - b.allocated AS free, loc.walk_sequence, bars.countries
  FROM stock_balance b
  JOIN lot l ON l.id = b.lot_id
  JOIN location loc ON loc.id = b.location_id
  LEFT JOIN (SELECT lot_id, array_agg(country) AS countries FROM lot_barred_country
              GROUP BY lot_id) bars ON bars.lot_id = l.id
 WHERE l.product_id = ANY($1::bigint[]) AND loc.warehouse_id = $2
   AND loc.kind = 'bin' AND loc.active AND b.quantity > b.allocated"""
"""Free stock in the bins of a site, in `StockSlot`'s field order."""

_LOCK_PRODUCTS = f"""
SELECT count(pg_advisory_xact_lock({_PRODUCT_LOCKS}, p::int))
  FROM (SELECT DISTINCT p FROM unnest($1::bigint[]) p ORDER BY p) ordered"""

_RESERVE = """
WITH wanted AS (
    SELECT lot_id, location_id, sum(quantity) AS quantity
      FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS a(lot_id, location_id, quantity)
     GROUP BY lot_id, location_id
)
UPDATE stock_balance b SET allocated = b.allocated + w.quantity, updated_at = now()
  FROM wanted w
 WHERE b.lot_id = w.lot_id AND b.location_id = w.location_id
   AND b.quantity - b.allocated >= w.quantity
RETURNING 1"""

_TASKS = """
INSERT INTO pick_task (wave_id, order_id, order_line_id, lot_id, location_id, quantity,
                       assignee_id, walk_sequence)
SELECT $1, t.*
  FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
              $7::bigint[], $8::int[])
       AS t(order_id, line_id, lot_id, location_id, quantity, assignee_id, walk_sequence)"""

_SHORT_LINES = """
UPDATE order_line ol SET unallocated = s.quantity, short_reason = s.reason
  FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS s(line_id, quantity, reason)
 WHERE ol.id = s.line_id"""

_WAVED = """
UPDATE sales_order o SET status = 'allocated', wave_id = $1, picker_id = p.picker_id
  FROM unnest($2::bigint[], $3::bigint[]) AS p(order_id, picker_id)
 WHERE o.id = p.order_id"""


class _StockMoved(Exception):
    """Stock a plan counted on was taken meanwhile: plan again."""


_NO_BARS: frozenset[str] = frozenset()


def stock_slots(rows: list[asyncpg.Record]) -> list[StockSlot]:
    """Rows of free stock (`_STOCK`'s columns, in order) as the allocation rule takes them."""
    return [
        StockSlot(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            frozenset(row[8]) if row[8] else _NO_BARS,
        )
        for row in rows
    ]


async def _pickers(conn: asyncpg.Connection, usernames: list[str]) -> list[int]:
    rows = await conn.fetch(
        """SELECT u.username, u.id FROM app_user u
            WHERE u.username = ANY($1::text[]) AND u.active
              AND EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id
                            AND r.role IN ('picker', 'supervisor', 'admin'))""",
        usernames,
    )
    found = {row["username"]: row["id"] for row in rows}
    missing = [name for name in usernames if name not in found]
    if missing:
        raise DomainError(
            "unknown_picker", f"No active picker {', '.join(sorted(set(missing)))}.", 422
        )
    return [found[name] for name in dict.fromkeys(usernames)]


async def create_wave(conn: asyncpg.Connection, data: WaveIn, actor: Actor) -> WaveOut:
    """Allocate the open orders `data.order_ids` and create their pick tasks, or 4xx and
    change nothing."""
    order_ids = list(dict.fromkeys(data.order_ids))
    pickers = await _pickers(conn, data.pickers) if data.pickers else []
    for _ in range(_ATTEMPTS):
        try:
            async with conn.transaction():
                return await _allocate(conn, order_ids, pickers, actor)
        except _StockMoved:
            continue
    raise DomainError(
        "allocation_contended",
        "Stock kept changing while the wave was allocated; try again.",
        409,
    )


async def _allocate(
    conn: asyncpg.Connection, order_ids: list[int], pickers: list[int], actor: Actor
) -> WaveOut:
    orders = await conn.fetch(_ORDERS, order_ids)
    _check_orders(order_ids, orders)
    warehouse_id = orders[0]["warehouse_id"]
    lines = await conn.fetch(_LINES, order_ids)
    products = sorted({line["product_id"] for line in lines})
    await conn.fetchval(_LOCK_PRODUCTS, products)
    slots = stock_slots(await conn.fetch(_STOCK, products, warehouse_id))
    dated = {slot.product_id for slot in slots if slot.expiry is not None}
    rules = {order["id"]: order for order in orders}
    demands = [
        line_demand(
            rules[line["order_id"]],
            line["id"],
            line["product_id"],
            line["quantity"],
            dated=line["product_id"] in dated,
        )
        for line in lines
    ]
    plan = allocate_wave(demands, slots)
    wave_id = await conn.fetchval(
        "INSERT INTO wave (warehouse_id, created_by) VALUES ($1, $2) RETURNING id",
        warehouse_id,
        actor.user_id,
    )
    await _persist(conn, wave_id, plan, slots, lines, [o["id"] for o in orders], pickers)
    return _wave_out(wave_id, orders[0]["warehouse"], orders, lines, plan)


def _check_orders(order_ids: list[int], orders: list[asyncpg.Record]) -> None:
    found = {order["id"] for order in orders}
    missing = [order_id for order_id in order_ids if order_id not in found]
    if missing:
        raise DomainError("order_not_found", f"No order {', '.join(map(str, missing[:20]))}.", 404)
    waved = [order["id"] for order in orders if order["status"] != "open"]
    if waved:
        raise DomainError(
            "order_not_open",
            f"Order {', '.join(map(str, waved[:20]))} is already in a wave.",
            409,
            orderIds=waved,
        )
    if len({order["warehouse_id"] for order in orders}) > 1:
        raise DomainError(
            "mixed_warehouses", "A wave's orders must all ship from one warehouse.", 422
        )


async def _persist(
    conn: asyncpg.Connection,
    wave_id: int,
    plan: WavePlan,
    slots: list[StockSlot],
    lines: list[asyncpg.Record],
    order_ids: list[int],
    pickers: list[int],
) -> None:
    allocations = plan.allocations
    if allocations:
        reserved = await conn.fetch(
            _RESERVE,
            [a.lot_id for a in allocations],
            [a.location_id for a in allocations],
            [a.quantity for a in allocations],
        )
        if len(reserved) != len({(a.lot_id, a.location_id) for a in allocations}):
            raise _StockMoved
    picker_of = dict(zip(order_ids, cycle(pickers), strict=False)) if pickers else {}
    walk_of = {slot.location_id: slot.walk_sequence for slot in slots}
    order_of = {line["id"]: line["order_id"] for line in lines}
    await conn.execute(
        _TASKS,
        wave_id,
        [order_of[a.line_id] for a in allocations],
        [a.line_id for a in allocations],
        [a.lot_id for a in allocations],
        [a.location_id for a in allocations],
        [a.quantity for a in allocations],
        [picker_of.get(order_of[a.line_id]) for a in allocations],
        [walk_of[a.location_id] for a in allocations],
    )
    if plan.shortfalls:
        await conn.execute(
            _SHORT_LINES,
            [s.line_id for s in plan.shortfalls],
            [s.quantity for s in plan.shortfalls],
            [s.reason for s in plan.shortfalls],
        )
    await conn.execute(_WAVED, wave_id, order_ids, [picker_of.get(o) for o in order_ids])
    if pickers:
        await _announce(conn, wave_id)


ASSIGNED = """
SELECT o.warehouse_id, t.order_id, o.external_id, u.username, array_agg(t.id ORDER BY t.id) AS tasks
  FROM pick_task t JOIN sales_order o ON o.id = t.order_id JOIN app_user u ON u.id = t.assignee_id
 WHERE {where}
 GROUP BY o.warehouse_id, t.order_id, o.external_id, u.username
 ORDER BY t.order_id"""


async def _announce(conn: asyncpg.Connection, wave_id: int) -> None:
    """`task.assigned` to the warehouse's handhelds: one message per order dealt out."""
    rows = await conn.fetch(ASSIGNED.format(where="t.wave_id = $1"), wave_id)
    if rows:
        await publish_many(
            conn, rows[0]["warehouse_id"], "task.assigned", [assigned(r) for r in rows]
        )


def assigned(row: asyncpg.Record) -> dict[str, Any]:
    """The data of a `task.assigned` message for an order's tasks given to one picker."""
    return {
        "orderId": row["order_id"],
        "orderExternalId": row["external_id"],
        "assignee": row["username"],
        "taskIds": list(row["tasks"]),
    }


def _wave_out(
    wave_id: int,
    warehouse: str,
    orders: list[asyncpg.Record],
    lines: list[asyncpg.Record],
    plan: WavePlan,
) -> WaveOut:
    by_id = {line["id"]: line for line in lines}
    short_lines = {s.line_id for s in plan.shortfalls}
    return WaveOut(
        id=wave_id,
        warehouse=warehouse,
        orders=len(orders),
        lines=len(lines),
        allocated_lines=len(lines) - len(short_lines),
        tasks=len(plan.allocations),
        shortfalls=[
            WaveShortfall(
                order_id=by_id[s.line_id]["order_id"],
                line_id=s.line_id,
                sku=by_id[s.line_id]["sku"],
                quantity=s.quantity,
                reason=s.reason,
                held=s.held,
                short_dated=s.short_dated,
                barred=s.barred,
            )
            for s in plan.shortfalls
        ],
    )
