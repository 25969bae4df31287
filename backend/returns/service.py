"""Returns: find the shipped order, open its return, take items back into their lot.

An item is a scan (context `return`), judged and applied in the scan's transaction: the
return and its order are locked, the lot (and serial) must have shipped on the order and be
still out (shipped minus returned, from the ledger's `ship` and `return` movements of the
order's lines), and the lot is read `FOR SHARE` so a hold placed meanwhile waits for us. The
units move in the ledger as a `return` from the customer's location to a bin (restock), the
warehouse's quarantine or its disposal location, naming the order line, so trace shows them
under the lot's returns. An item that did not ship on the order is refused and kept on the
return as a flagged item (nothing moves) for a supervisor to see. When an accepted return
takes a lot's return rate past the threshold, a `return_alert` is written and every
warehouse's handhelds get `lot.return_rate` with a hold ready to place.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg
import msgspec

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location
from backend.domain.barcodes import parse_barcode
from backend.domain.returns import (
    Destination,
    Placement,
    ReturnRate,
    ShippedLine,
    alert_due,
    order_reference,
    placement,
    split_return,
)
from backend.errors import DomainError
from backend.fulfilment.picking import Scanned, Step, store_key
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import Transfer, apply_transfer
from backend.live.outbox import publish_everywhere
from backend.returns.schemas import (
    CloseIn,
    DismissIn,
    FindIn,
    OrderLot,
    OrderShipped,
    ReturnAlertOut,
    ReturnIn,
    ReturnItemOut,
    ReturnLine,
    ReturnOrder,
    ReturnOut,
    ReturnStatus,
)
from backend.scanning.schemas import ScanIn
from backend.settings import get_settings

__all__ = [
    "SEARCH_LIMIT",
    "close_return",
    "dismiss_alert",
    "find_order",
    "get_return",
    "list_alerts",
    "list_returns",
    "open_return",
    "return_scan",
    "return_view",
    "search_orders",
]

SEARCH_LIMIT = 20
"""Shipped orders a search lists, most recently shipped first."""

# --- reading ------------------------------------------------------------------------------

_ORDER_SELECT = """
SELECT o.id, o.external_id, ch.code AS channel, w.code AS warehouse, o.warehouse_id,
       cu.name AS customer_name, cu.ref AS customer_ref, o.status, o.shipped_at,
       (SELECT r.id FROM customer_return r WHERE r.order_id = o.id AND r.status = 'open')
           AS open_return_id
  FROM sales_order o
  JOIN channel ch ON ch.id = o.channel_id
  JOIN warehouse w ON w.id = o.warehouse_id
  JOIN customer cu ON cu.id = o.customer_id"""

_SHIPPED = """
SELECT ol.order_id, ol.id AS line_id, ol.line_no, ol.quantity, p.id AS product_id, p.sku,
       p.name AS product_name, p.tracking, l.id AS lot_id, l.code AS lot_code,
       l.status AS lot_status, l.expiry_date AS expiry,
       coalesce(sum(m.quantity) FILTER (WHERE m.kind = 'ship'), 0)::bigint AS shipped,
       coalesce(sum(m.quantity) FILTER (WHERE m.kind = 'return'), 0)::bigint AS returned,
       max(m.to_location_id) FILTER (WHERE m.kind = 'ship') AS customer_location_id,
       coalesce((SELECT array_agg(DISTINCT s.serial ORDER BY s.serial)
                   FROM movement sm
                   JOIN movement_serial ms ON ms.movement_id = sm.id
                   JOIN serial s ON s.id = ms.serial_id
                  WHERE sm.order_line_id = ol.id AND sm.lot_id = l.id AND sm.kind = 'ship'),
                '{}') AS serials,
       coalesce((SELECT array_agg(DISTINCT s.serial ORDER BY s.serial)
                   FROM movement sm
                   JOIN movement_serial ms ON ms.movement_id = sm.id
                   JOIN serial s ON s.id = ms.serial_id
                  WHERE sm.order_line_id = ol.id AND sm.lot_id = l.id AND sm.kind = 'return'),
                '{}') AS returned_serials
  FROM order_line ol
  JOIN product p ON p.id = ol.product_id
  JOIN movement m ON m.order_line_id = ol.id AND m.kind IN ('ship', 'return')
  JOIN lot l ON l.id = m.lot_id
 WHERE ol.order_id = ANY($1::bigint[])
 GROUP BY ol.id, p.id, l.id
HAVING sum(m.quantity) FILTER (WHERE m.kind = 'ship') > 0
 ORDER BY ol.order_id, ol.line_no, l.expiry_date NULLS LAST, l.code"""
"""What each line of the orders shipped, by lot, and what came back: from the ledger."""

_RETURN_SELECT = """
SELECT r.id, r.order_id, r.status, r.note, r.opened_at, r.closed_at,
       opener.username AS opened_by, closer.username AS closed_by
  FROM customer_return r
  JOIN app_user opener ON opener.id = r.opened_by
  LEFT JOIN app_user closer ON closer.id = r.closed_by"""

_ITEMS = """
SELECT i.id, p.sku, i.lot_id, l.code AS lot_code, i.serial, i.quantity, i.reason,
       i.disposition, dw.code || '/' || d.code AS destination, d.kind AS destination_kind,
       i.forced, i.flag, i.message, i.movement_id, u.username, i.created_at
  FROM return_item i
  JOIN product p ON p.id = i.product_id
  JOIN app_user u ON u.id = i.user_id
  LEFT JOIN lot l ON l.id = i.lot_id
  LEFT JOIN location d ON d.id = i.destination_id
  LEFT JOIN warehouse dw ON dw.id = d.warehouse_id
 WHERE i.return_id = $1
 ORDER BY i.id"""


def _return_order(row: asyncpg.Record, lines: list[OrderShipped] | None = None) -> ReturnOrder:
    return ReturnOrder(
        id=row["id"],
        external_id=row["external_id"],
        channel=row["channel"],
        warehouse=row["warehouse"],
        customer_name=row["customer_name"],
        customer_ref=row["customer_ref"],
        status=row["status"],
        shipped_at=row["shipped_at"],
        open_return_id=row["open_return_id"],
        lines=lines,
    )


def _order_shipped(rows: list[asyncpg.Record]) -> list[OrderShipped]:
    """An order's shipped lots grouped by line, for the preview before a return."""
    by_line: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        by_line[row["line_id"]].append(row)
    return [
        OrderShipped(
            line_id=line_id,
            line_no=lots[0]["line_no"],
            sku=lots[0]["sku"],
            product_name=lots[0]["product_name"],
            quantity=lots[0]["quantity"],
            shipped=sum(lot["shipped"] for lot in lots),
            returned=sum(lot["returned"] for lot in lots),
            lots=[
                OrderLot(
                    lot_id=lot["lot_id"],
                    lot_code=lot["lot_code"],
                    shipped=lot["shipped"],
                    returned=lot["returned"],
                )
                for lot in lots
            ],
        )
        for line_id, lots in by_line.items()
    ]


async def _orders_with_lines(
    conn: asyncpg.Connection, rows: list[asyncpg.Record]
) -> list[ReturnOrder]:
    shipped = await conn.fetch(_SHIPPED, [row["id"] for row in rows])
    by_order: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for line in shipped:
        by_order[line["order_id"]].append(line)
    return [_return_order(row, _order_shipped(by_order[row["id"]])) for row in rows]


def _return_line(row: asyncpg.Record) -> ReturnLine:
    return ReturnLine(
        line_id=row["line_id"],
        line_no=row["line_no"],
        sku=row["sku"],
        product_name=row["product_name"],
        tracking=row["tracking"],
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        lot_status=row["lot_status"],
        expiry=row["expiry"],
        shipped=row["shipped"],
        returned=row["returned"],
        serials=list(row["serials"]),
        returned_serials=list(row["returned_serials"]),
    )


def _item_out(row: asyncpg.Record) -> ReturnItemOut:
    return ReturnItemOut(
        id=row["id"],
        sku=row["sku"],
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        serial=row["serial"],
        quantity=row["quantity"],
        reason=row["reason"],
        disposition=row["disposition"],
        destination=row["destination"],
        destination_kind=row["destination_kind"],
        forced=row["forced"],
        flagged=row["flag"] is not None,
        flag_code=row["flag"],
        message=row["message"],
        movement_id=row["movement_id"],
        by=row["username"],
        at=row["created_at"],
    )


async def return_view(conn: asyncpg.Connection, return_id: int) -> ReturnOut:
    """The return as the clerk's handheld shows it: the order, what shipped per line and lot
    and what came back, and every item scanned, flagged ones included."""
    head = await conn.fetchrow(_RETURN_SELECT + " WHERE r.id = $1", return_id)
    if head is None:
        raise DomainError("return_not_found", f"No return {return_id}.", 404)
    order = await conn.fetchrow(_ORDER_SELECT + " WHERE o.id = $1", head["order_id"])
    lines = await conn.fetch(_SHIPPED, [head["order_id"]])
    items = [_item_out(row) for row in await conn.fetch(_ITEMS, return_id)]
    return ReturnOut(
        id=head["id"],
        order=_return_order(order),
        status=head["status"],
        note=head["note"],
        opened_by=head["opened_by"],
        opened_at=head["opened_at"],
        closed_by=head["closed_by"],
        closed_at=head["closed_at"],
        lines=[_return_line(row) for row in lines],
        items=items,
        flagged=sum(1 for item in items if item.flagged),
    )


async def get_return(conn: asyncpg.Connection, return_id: int) -> ReturnOut:
    return await return_view(conn, return_id)


async def list_returns(
    conn: asyncpg.Connection, status: ReturnStatus | None, limit: int
) -> list[ReturnOut]:
    """Returns, newest first; `status` open or closed."""
    rows = await conn.fetch(
        """SELECT id FROM customer_return WHERE $1::text IS NULL OR status = $1
            ORDER BY id DESC LIMIT $2""",
        status,
        limit,
    )
    return [await return_view(conn, row["id"]) for row in rows]


# --- finding the order --------------------------------------------------------------------


async def find_order(conn: asyncpg.Connection, data: FindIn) -> ReturnOrder:
    """The shipped order a shipping label or packing slip names (see `order_reference`)."""
    parsed = parse_barcode(data.raw, symbology=data.symbology)
    named = order_reference(data.raw, parsed)
    if named.order_id is not None:
        rows = await conn.fetch(_ORDER_SELECT + " WHERE o.id = $1", named.order_id)
        shown = f"ORDER-{named.order_id}"
    else:
        rows = await conn.fetch(
            _ORDER_SELECT + " WHERE o.external_id = $1 ORDER BY o.id", named.external_id
        )
        shown = repr(named.external_id)
    if not rows:
        raise DomainError("order_not_found", f"No order {shown}.", 404)
    shipped = [row for row in rows if row["status"] == "shipped"]
    if not shipped:
        raise DomainError(
            "order_not_shipped", f"Order {rows[0]['external_id']} has not shipped.", 409
        )
    if len(shipped) > 1:
        raise DomainError(
            "ambiguous_order",
            f"{len(shipped)} shipped orders of different channels have the number "
            f"{shipped[0]['external_id']}: search and choose one.",
            409,
            orders=[row["id"] for row in shipped],
        )
    return (await _orders_with_lines(conn, shipped))[0]


def _like(text: str) -> str:
    """`text` as a LIKE pattern that matches it literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_orders(conn: asyncpg.Connection, query: str) -> list[ReturnOrder]:
    """Shipped orders whose external id starts with `query`, or whose customer's name or
    email contains it, or whose customer ref is it; most recently shipped first."""
    text = query.strip()
    rows = await conn.fetch(
        _ORDER_SELECT
        + """ WHERE o.status = 'shipped'
                AND (o.external_id ILIKE $1 || '%' OR cu.name ILIKE '%' || $1 || '%'
                     OR cu.email ILIKE '%' || $1 || '%' OR cu.ref = $2)
              ORDER BY o.shipped_at DESC, o.id DESC LIMIT $3""",
        _like(text),
        text,
        SEARCH_LIMIT,
    )
    return await _orders_with_lines(conn, list(rows))


# --- opening and closing ------------------------------------------------------------------


async def open_return(conn: asyncpg.Connection, data: ReturnIn, actor: Actor) -> Outcome:
    """Open a return of a shipped order, or answer the order's open one (200); once per
    idempotency key."""
    if data.idempotency_key is None:
        data = msgspec.structs.replace(data, idempotency_key=uuid.uuid4())
    opened = True

    async def effect(key: Key) -> ReturnOut:
        nonlocal opened
        async with conn.transaction():
            order = await conn.fetchrow(
                "SELECT id, external_id, status FROM sales_order WHERE id = $1 FOR NO KEY UPDATE",
                data.order_id,
            )
            if order is None:
                raise DomainError("order_not_found", f"No order {data.order_id}.", 404)
            if order["status"] != "shipped":
                raise DomainError(
                    "order_not_shipped",
                    f"Order {order['external_id']} has not shipped: nothing of it can come back.",
                    409,
                )
            return_id = await conn.fetchval(
                "SELECT id FROM customer_return WHERE order_id = $1 AND status = 'open'",
                data.order_id,
            )
            opened = return_id is None
            if return_id is None:
                return_id = await conn.fetchval(
                    """INSERT INTO customer_return (order_id, note, opened_by)
                       VALUES ($1, $2, $3) RETURNING id""",
                    data.order_id,
                    data.note,
                    actor.user_id,
                )
            body = await return_view(conn, return_id)
            await store_key(conn, key, body, 201 if opened else 200)
        return body

    async def replay(_: int) -> ReturnOut:
        raise AssertionError("opening a return stores its response with its key")

    outcome = await apply_once(conn, data, "return_open", actor.user_id, effect, replay)
    if outcome.replayed or opened:
        return outcome
    return Outcome(200, outcome.body, replayed=False)


async def close_return(
    conn: asyncpg.Connection, return_id: int, data: CloseIn, actor: Actor
) -> Outcome:
    """Close a return: no more items; once per idempotency key."""
    if data.idempotency_key is None:
        data = msgspec.structs.replace(data, idempotency_key=uuid.uuid4())

    async def effect(key: Key) -> ReturnOut:
        async with conn.transaction():
            status = await conn.fetchval(
                "SELECT status FROM customer_return WHERE id = $1 FOR UPDATE", return_id
            )
            if status is None:
                raise DomainError("return_not_found", f"No return {return_id}.", 404)
            if status == "closed":
                raise DomainError("return_closed", f"Return {return_id} is closed already.", 409)
            await conn.execute(
                """UPDATE customer_return SET status = 'closed', closed_by = $2,
                          closed_at = now()
                    WHERE id = $1""",
                return_id,
                actor.user_id,
            )
            body = await return_view(conn, return_id)
            await store_key(conn, key, body, 200)
        return body

    async def replay(_: int) -> ReturnOut:
        raise AssertionError("closing a return stores its response with its key")

    return await apply_once(conn, data, "return_close", actor.user_id, effect, replay, 200)


# --- items: one scan each -----------------------------------------------------------------

_RETURN_FOR_SCAN = """
SELECT r.id, r.status, r.order_id, o.warehouse_id, w.code AS warehouse
  FROM customer_return r
  JOIN sales_order o ON o.id = r.order_id
  JOIN warehouse w ON w.id = o.warehouse_id
 WHERE r.id = $1
   FOR NO KEY UPDATE OF r, o"""
"""The return and its order, locked: scans of one order's returns take turns, so two of
them cannot both take back the last unit out."""

_LOT_FOR_RETURN = """
SELECT l.id, l.code, l.status, l.expiry_date, p.sku, current_date AS today
  FROM lot l JOIN product p ON p.id = l.product_id
 WHERE l.id = $1
   FOR SHARE OF l"""

_LOT_RATE = """
SELECT coalesce(sum(quantity) FILTER (WHERE kind = 'ship'), 0)::bigint AS shipped,
       coalesce(sum(quantity) FILTER (WHERE kind = 'return'), 0)::bigint AS returned
  FROM movement
 WHERE lot_id = $1 AND kind IN ('ship', 'return')"""
"""A lot's units shipped and returned across every order (the trace index answers it)."""

_SITE_LOCATION_CODES: dict[Destination, str] = {"quarantine": "QUARANTINE", "disposal": "DISPOSAL"}


async def return_scan(
    conn: asyncpg.Connection, return_id: int, scanned: Scanned, data: ScanIn, actor: Actor
) -> Step:
    """Judge and apply one item scanned into a return (inside the scan's transaction)."""
    head = await conn.fetchrow(_RETURN_FOR_SCAN, return_id)
    if head is None:
        return Step("unknown_return", f"There is no return {return_id}.")
    if head["status"] != "open":
        return Step(
            "return_closed", f"Return {return_id} is closed: open the order's return again."
        )
    if scanned.product_id is None:
        return Step("scan_a_unit", "Scan the item's own barcode (its GTIN, lot and serial).")
    if scanned.tracking in ("serial", "lot_serial") and scanned.serial is None:
        return Step("serial_required", "This product is tracked by serial: scan the unit's serial.")
    if scanned.lot_id is None and scanned.tracking != "none":
        return Step("lot_required", "Scan the item's lot barcode, not the product's alone.")
    units = 1 if scanned.serial is not None else (data.quantity or 1)
    shipped = await conn.fetch(_SHIPPED, [head["order_id"]])
    of_product = [row for row in shipped if row["product_id"] == scanned.product_id]
    mine = [row for row in of_product if scanned.lot_id in (None, row["lot_id"])]
    if not mine:
        message = _not_shipped_message(of_product)
        await _flag(conn, head, scanned, data, actor, units, "not_shipped_on_order", message)
        return Step("not_shipped_on_order", message, lot_id=scanned.lot_id)
    # An untracked product keeps all its stock in one lot; a GTIN alone names that one.
    mine = [row for row in mine if row["lot_id"] == mine[0]["lot_id"]]
    lot_code = mine[0]["lot_code"]
    if scanned.serial is not None:
        mine = [row for row in mine if scanned.serial in row["serials"]]
        if not mine:
            message = (
                f"Serial {scanned.serial} did not ship on this order (lot {lot_code}): "
                "set it aside for a supervisor."
            )
            await _flag(
                conn, head, scanned, data, actor, units, "serial_not_shipped_on_order", message
            )
            return Step("serial_not_shipped_on_order", message, lot_id=scanned.lot_id)
    lines = [ShippedLine(row["line_id"], row["shipped"], row["returned"]) for row in mine]
    booked = split_return(lines, units)
    if booked is None:
        out = sum(line.open for line in lines)
        message = (
            f"Only {out} unit(s) of lot {lot_code} shipped on this order are still out "
            f"({sum(line.shipped for line in lines)} shipped, "
            f"{sum(line.returned for line in lines)} back); {units} scanned."
        )
        await _flag(conn, head, scanned, data, actor, units, "return_exceeds_shipped", message)
        return Step("return_exceeds_shipped", message, lot_id=mine[0]["lot_id"])
    if data.reason is None:
        return Step("return_reason_required", "Choose why the item came back, then scan it again.")
    if data.disposition is None:
        return Step(
            "return_disposition_required",
            "Choose where the item goes (restock, quarantine or dispose), then scan it again.",
        )
    lot = await conn.fetchrow(_LOT_FOR_RETURN, mine[0]["lot_id"])
    placed = placement(data.disposition, lot["status"], lot["expiry_date"], lot["today"])
    if placed.destination == "bin":
        if data.location is None:
            return Step("restock_location_required", "Scan the bin to restock the item into.")
        try:
            target = await resolve_location(conn, data.location)
        except DomainError as error:
            return Step(error.code, error.detail)
        if (
            target["kind"] != "bin"
            or not target["active"]
            or target["warehouse_id"] != head["warehouse_id"]
        ):
            return Step(
                "restock_not_a_bin",
                f"{target['warehouse']}/{target['code']} is not a bin of {head['warehouse']}: "
                "restock goes into an active bin of the warehouse the order shipped from.",
                lot_id=lot["id"],
            )
    else:
        target = await _site_location(conn, head, placed.destination)
    by_line = {row["line_id"]: row for row in mine}
    counted = await conn.fetchrow(_LOT_RATE, lot["id"])
    rate_before = ReturnRate(returned=counted["returned"], shipped=counted["shipped"])
    message = _placed_message(placed, lot, units, target, data.disposition)
    for line_id, portion in booked:
        customer = await _location(conn, by_line[line_id]["customer_location_id"])
        movement = await apply_transfer(
            conn,
            Transfer(
                kind="return",
                lot_id=lot["id"],
                lot_code=lot["code"],
                sku=lot["sku"],
                quantity=portion,
                from_location=customer,
                to_location=target,
                serials=[scanned.serial] if scanned.serial is not None else [],
                reason=f"Return {return_id}: {data.reason}",
                reference=f"return {return_id}",
                actor=actor,
                order_line_id=line_id,
            ),
        )
        await conn.execute(
            """INSERT INTO return_item (return_id, product_id, lot_id, serial, quantity, reason,
                                        disposition, order_line_id, movement_id, destination_id,
                                        forced, message, user_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            return_id,
            scanned.product_id,
            lot["id"],
            scanned.serial,
            portion,
            data.reason,
            data.disposition,
            line_id,
            movement.id,
            target["id"],
            placed.forced,
            message,
            actor.user_id,
        )
    await _check_rate(conn, head, lot, rate_before, units)
    if placed.forced:
        return Step("returned_to_quarantine", message, lot_id=lot["id"])
    if placed.destination == "bin":
        return Step("restocked", message, lot_id=lot["id"])
    if placed.destination == "disposal":
        return Step("return_disposed", message, lot_id=lot["id"])
    return Step("return_quarantined", message, lot_id=lot["id"])


def _not_shipped_message(of_product: list[asyncpg.Record]) -> str:
    if not of_product:
        return "This product did not ship on this order: set it aside for a supervisor."
    codes = sorted({row["lot_code"] for row in of_product})
    shown = ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
    return (
        f"This lot did not ship on this order (it shipped lot {shown} of "
        f"{of_product[0]['sku']}): set it aside for a supervisor."
    )


def _placed_message(
    placed: Placement,
    lot: asyncpg.Record,
    units: int,
    target: asyncpg.Record,
    chosen: str,
) -> str:
    where = f"{target['warehouse']}/{target['code']}"
    if placed.why == "held":
        instead = "" if chosen == "quarantine" else f", not {chosen}"
        return (
            f"Lot {lot['code']} is {lot['status']}: {units} unit(s) to quarantine {where}{instead}."
        )
    if placed.why == "expired":
        expiry: date = lot["expiry_date"]
        return (
            f"Lot {lot['code']} expired on {expiry.isoformat()}: {units} unit(s) to quarantine "
            f"{where}, not back to stock."
        )
    if placed.destination == "bin":
        return f"{units} unit(s) back into lot {lot['code']} at {where}."
    if placed.destination == "disposal":
        return f"{units} unit(s) of lot {lot['code']} to disposal {where}."
    return f"{units} unit(s) of lot {lot['code']} to quarantine {where}."


async def _flag(
    conn: asyncpg.Connection,
    head: asyncpg.Record,
    scanned: Scanned,
    data: ScanIn,
    actor: Actor,
    units: int,
    flag: str,
    message: str,
) -> None:
    """Keep a refused item on the return for a supervisor; nothing moves."""
    await conn.execute(
        """INSERT INTO return_item (return_id, product_id, lot_id, serial, quantity, reason,
                                    disposition, flag, message, user_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        head["id"],
        scanned.product_id,
        scanned.lot_id,
        scanned.serial,
        units,
        data.reason,
        data.disposition,
        flag,
        message,
        actor.user_id,
    )


async def _location(conn: asyncpg.Connection, location_id: int) -> asyncpg.Record:
    barcode = await conn.fetchval("SELECT barcode FROM location WHERE id = $1", location_id)
    return await resolve_location(conn, barcode)


async def _site_location(
    conn: asyncpg.Connection, head: asyncpg.Record, kind: Destination
) -> asyncpg.Record:
    """The warehouse's first quarantine or disposal location, made on first need (a recalled
    unit coming back must have somewhere to go)."""
    find = """SELECT barcode FROM location WHERE warehouse_id = $1 AND kind = $2 AND active
               ORDER BY walk_sequence, code LIMIT 1"""
    barcode = await conn.fetchval(find, head["warehouse_id"], kind)
    if barcode is None:
        code = _SITE_LOCATION_CODES[kind]
        await conn.execute(
            """INSERT INTO location (warehouse_id, code, barcode, kind, zone)
               VALUES ($1, $2, $3, $4, 'RETURNS')
               ON CONFLICT DO NOTHING""",
            head["warehouse_id"],
            code,
            f"{code}@{head['warehouse']}",
            kind,
        )
        barcode = await conn.fetchval(find, head["warehouse_id"], kind)
        if barcode is None:
            raise DomainError(
                "invalid_location_kind",
                f"{head['warehouse']} has no {kind} location, and {code} there is another "
                f"kind: add a {kind} location.",
                422,
            )
    return await resolve_location(conn, barcode)


# --- the return rate ----------------------------------------------------------------------


def _suggested_hold(
    lot_id: int, lot_code: str, rate: ReturnRate, threshold: float
) -> dict[str, Any]:
    """A body for POST /api/holds that holds the lot, saying why."""
    return {
        "kind": "hold",
        "reason": (
            f"Return rate of lot {lot_code} is {rate.rate:.1%} ({rate.returned} of "
            f"{rate.shipped} shipped units returned), above {threshold:.1%}."
        ),
        "lots": [lot_id],
    }


async def _check_rate(
    conn: asyncpg.Connection,
    head: asyncpg.Record,
    lot: asyncpg.Record,
    before: ReturnRate,
    units: int,
) -> None:
    """Alert once when this return takes the lot's return rate past the threshold."""
    settings = get_settings()
    threshold, min_shipped = settings.return_rate_threshold, settings.return_rate_min_shipped
    after = ReturnRate(before.returned + units, before.shipped)
    alerts = await conn.fetchrow(
        """SELECT coalesce(bool_or(dismissed_at IS NULL), false) AS open, count(*) AS ever
             FROM return_alert WHERE lot_id = $1""",
        lot["id"],
    )
    if not alert_due(
        before,
        after,
        threshold,
        min_shipped,
        open_alert=alerts["open"],
        alerted_before=alerts["ever"] > 0,
    ):
        return
    alert_id = await conn.fetchval(
        """INSERT INTO return_alert (lot_id, return_id, returned, shipped, threshold)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (lot_id) WHERE dismissed_at IS NULL DO NOTHING
           RETURNING id""",
        lot["id"],
        head["id"],
        after.returned,
        after.shipped,
        threshold,
    )
    if alert_id is None:
        return
    await publish_everywhere(
        conn,
        "lot.return_rate",
        [
            {
                "alertId": alert_id,
                "lotId": lot["id"],
                "lotCode": lot["code"],
                "sku": lot["sku"],
                "returned": after.returned,
                "shipped": after.shipped,
                "rate": after.rate,
                "threshold": threshold,
                "returnId": head["id"],
                "suggestedHold": _suggested_hold(lot["id"], lot["code"], after, threshold),
            }
        ],
    )


_ALERT_SELECT = """
SELECT a.*, l.code AS lot_code, l.status AS lot_status, p.sku, u.username AS dismissed_by_name
  FROM return_alert a
  JOIN lot l ON l.id = a.lot_id
  JOIN product p ON p.id = l.product_id
  LEFT JOIN app_user u ON u.id = a.dismissed_by"""


def _alert_out(row: asyncpg.Record) -> ReturnAlertOut:
    rate = ReturnRate(row["returned"], row["shipped"])
    return ReturnAlertOut(
        id=row["id"],
        lot_id=row["lot_id"],
        lot_code=row["lot_code"],
        sku=row["sku"],
        lot_status=row["lot_status"],
        returned=rate.returned,
        shipped=rate.shipped,
        rate=rate.rate,
        threshold=row["threshold"],
        return_id=row["return_id"],
        created_at=row["created_at"],
        dismissed_by=row["dismissed_by_name"],
        dismissed_at=row["dismissed_at"],
        dismiss_note=row["dismiss_note"],
        suggested_hold=_suggested_hold(row["lot_id"], row["lot_code"], rate, row["threshold"]),
    )


async def list_alerts(
    conn: asyncpg.Connection, dismissed: bool | None, limit: int
) -> list[ReturnAlertOut]:
    """Return-rate alerts, newest first; `dismissed=false` for those still open."""
    rows = await conn.fetch(
        _ALERT_SELECT
        + """ WHERE $1::boolean IS NULL OR (a.dismissed_at IS NOT NULL) = $1
              ORDER BY a.id DESC LIMIT $2""",
        dismissed,
        limit,
    )
    return [_alert_out(row) for row in rows]


async def dismiss_alert(
    conn: asyncpg.Connection, alert_id: int, data: DismissIn, actor: Actor
) -> ReturnAlertOut:
    """A supervisor has seen the alert; the lot alerts again only when its rate passes the
    threshold anew."""
    async with conn.transaction():
        dismissed = await conn.fetchrow(
            "SELECT dismissed_at FROM return_alert WHERE id = $1 FOR UPDATE", alert_id
        )
        if dismissed is None:
            raise DomainError("alert_not_found", f"No return-rate alert {alert_id}.", 404)
        if dismissed["dismissed_at"] is not None:
            raise DomainError("alert_dismissed", f"Alert {alert_id} is dismissed already.", 409)
        await conn.execute(
            """UPDATE return_alert SET dismissed_by = $2, dismissed_at = now(), dismiss_note = $3
                WHERE id = $1""",
            alert_id,
            actor.user_id,
            data.note,
        )
        row = await conn.fetchrow(_ALERT_SELECT + " WHERE a.id = $1", alert_id)
    return _alert_out(row)
