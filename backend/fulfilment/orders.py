"""Channels, customers and their lot rules; orders in (API and CSV) and out.

An order's progress is read from its pick tasks, whose counters the pick, pack and ship
steps move forward in the same transactions as the ledger: so `GET /api/orders/{id}` shows
per line the lots allocated, picked, packed and shipped, and their serials, in one query.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg
import msgspec

from backend.domain.allocation import LineDemand
from backend.errors import DomainError
from backend.fulfilment.schemas import (
    BarredCountriesIn,
    BarredCountriesOut,
    ChannelIn,
    ChannelOut,
    CustomerIn,
    CustomerOut,
    CustomerRef,
    LineLot,
    OrderIn,
    OrderLineOut,
    OrderOut,
)

__all__ = [
    "CSV_COLUMNS",
    "ORDER_RULES",
    "create_channel",
    "create_customer",
    "create_order",
    "get_order",
    "import_orders",
    "line_demand",
    "list_channels",
    "list_orders",
    "order_out",
    "refresh_order_status",
    "set_barred_countries",
]


# --- the rules an order's lines go out by -----------------------------------------------

ORDER_RULES = """o.ship_date, o.country,
       coalesce(cu.min_shelf_life_days, c.min_shelf_life_days) AS min_shelf_life_days,
       coalesce(cu.allow_split, c.allow_split) AS allow_split"""
"""SQL columns: the lot rules of an order `o` from its customer `cu` or channel `c`."""


def line_demand(
    rules: Mapping[str, Any], line_id: int, product_id: int, quantity: int, dated: bool
) -> LineDemand:
    """An order line as the allocation rule sees it, with its order's `ORDER_RULES`."""
    return LineDemand(
        line_id=line_id,
        product_id=product_id,
        quantity=quantity,
        dated=dated,
        ship_date=rules["ship_date"],
        min_shelf_life_days=rules["min_shelf_life_days"],
        country=rules["country"],
        allow_split=rules["allow_split"],
    )


# --- channels and customers -------------------------------------------------------------


def _channel_out(row: asyncpg.Record) -> ChannelOut:
    return ChannelOut(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        min_shelf_life_days=row["min_shelf_life_days"],
        allow_split=row["allow_split"],
    )


async def create_channel(conn: asyncpg.Connection, data: ChannelIn) -> ChannelOut:
    try:
        row = await conn.fetchrow(
            """INSERT INTO channel (code, name, kind, min_shelf_life_days, allow_split)
               VALUES ($1, $2, $3, $4, $5) RETURNING *""",
            data.code,
            data.name,
            data.kind,
            data.min_shelf_life_days,
            data.allow_split,
        )
    except asyncpg.UniqueViolationError as error:
        raise DomainError("duplicate_channel", f"Channel {data.code} exists.", 409) from error
    return _channel_out(row)


async def list_channels(conn: asyncpg.Connection) -> list[ChannelOut]:
    return [_channel_out(row) for row in await conn.fetch("SELECT * FROM channel ORDER BY code")]


async def _channel_ids(conn: asyncpg.Connection, codes: set[str]) -> dict[str, int]:
    rows = await conn.fetch("SELECT code, id FROM channel WHERE code = ANY($1::text[])", codes)
    found = {row["code"]: row["id"] for row in rows}
    missing = sorted(codes - found.keys())
    if missing:
        raise DomainError(
            "unknown_channel", f"No channel {', '.join(missing)}: create it first.", 422
        )
    return found


async def create_customer(conn: asyncpg.Connection, data: CustomerIn) -> CustomerOut:
    channel_id = (await _channel_ids(conn, {data.channel}))[data.channel]
    try:
        row = await conn.fetchrow(
            """INSERT INTO customer (channel_id, ref, name, email, country, min_shelf_life_days,
                                     allow_split)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
            channel_id,
            data.ref,
            data.name,
            data.email,
            data.country,
            data.min_shelf_life_days,
            data.allow_split,
        )
    except asyncpg.UniqueViolationError as error:
        raise DomainError(
            "duplicate_customer", f"Customer {data.ref} exists in channel {data.channel}.", 409
        ) from error
    return CustomerOut(
        id=row["id"],
        channel=data.channel,
        ref=row["ref"],
        name=row["name"],
        email=row["email"],
        country=row["country"],
        min_shelf_life_days=row["min_shelf_life_days"],
        allow_split=row["allow_split"],
    )


async def set_barred_countries(
    conn: asyncpg.Connection, lot_id: int, data: BarredCountriesIn, user_id: int
) -> BarredCountriesOut:
    """Make the lot's bars exactly `data.countries`; allocation reads them on every wave."""
    async with conn.transaction():
        if await conn.fetchval("SELECT 1 FROM lot WHERE id = $1 FOR UPDATE", lot_id) is None:
            raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
        countries = sorted(set(data.countries))
        await conn.execute(
            "DELETE FROM lot_barred_country WHERE lot_id = $1 AND country <> ALL($2::text[])",
            lot_id,
            countries,
        )
        await conn.execute(
            """INSERT INTO lot_barred_country (lot_id, country, reason, created_by)
               SELECT $1, unnest($2::text[]), $3, $4
               ON CONFLICT (lot_id, country) DO NOTHING""",
            lot_id,
            countries,
            data.reason,
            user_id,
        )
    return BarredCountriesOut(lot_id=lot_id, countries=countries)


# --- orders in --------------------------------------------------------------------------

_ORDER_INSERT = """
WITH customer_row AS (
    INSERT INTO customer (channel_id, ref, name, email, country)
    VALUES ($2, $4, $5, $6, $7)
    ON CONFLICT (channel_id, ref) DO UPDATE
       SET name = EXCLUDED.name,
           email = coalesce(EXCLUDED.email, customer.email),
           country = coalesce(EXCLUDED.country, customer.country)
    RETURNING id, country
), order_row AS (
    INSERT INTO sales_order (warehouse_id, channel_id, external_id, customer_id, country,
                             ship_date, created_by)
    SELECT $1, $2, $3, id, country, $8, $9 FROM customer_row
    RETURNING id
), line_rows AS (
    INSERT INTO order_line (order_id, line_no, product_id, quantity)
    SELECT (SELECT id FROM order_row), n, product_id, quantity
      FROM unnest($10::bigint[], $11::bigint[]) WITH ORDINALITY AS l(product_id, quantity, n)
)
SELECT id FROM order_row"""


async def _warehouse_ids(conn: asyncpg.Connection, codes: set[str | None]) -> dict[str | None, int]:
    rows = await conn.fetch("SELECT id, code FROM warehouse ORDER BY id")
    if not rows:
        raise DomainError("unknown_warehouse", "There is no warehouse yet.", 422)
    found: dict[str | None, int] = {row["code"]: row["id"] for row in rows}
    found[None] = rows[0]["id"]
    missing = sorted(str(code) for code in codes if code not in found)
    if missing:
        raise DomainError("unknown_warehouse", f"No warehouse {', '.join(missing)}.", 422)
    return found


async def _product_ids(conn: asyncpg.Connection, skus: set[str]) -> dict[str, int]:
    rows = await conn.fetch("SELECT sku, id FROM product WHERE sku = ANY($1::text[])", skus)
    found = {row["sku"]: row["id"] for row in rows}
    missing = sorted(skus - found.keys())
    if missing:
        raise DomainError(
            "unknown_product",
            f"No product with SKU {', '.join(missing[:20])}.",
            422,
            skus=missing,
        )
    return found


async def _insert_orders(
    conn: asyncpg.Connection, orders: list[OrderIn], user_id: int
) -> list[int]:
    """Insert the orders in one transaction: all or none."""
    channels = await _channel_ids(conn, {order.channel for order in orders})
    warehouses = await _warehouse_ids(conn, {order.warehouse for order in orders})
    products = await _product_ids(conn, {line.sku for order in orders for line in order.lines})
    today = await conn.fetchval("SELECT current_date")
    ids = []
    async with conn.transaction():
        for order in orders:
            customer = order.customer
            try:
                order_id = await conn.fetchval(
                    _ORDER_INSERT,
                    warehouses[order.warehouse],
                    channels[order.channel],
                    order.external_id,
                    customer.ref,
                    customer.name,
                    customer.email,
                    customer.country,
                    order.ship_date or today,
                    user_id,
                    [products[line.sku] for line in order.lines],
                    [line.quantity for line in order.lines],
                )
            except asyncpg.UniqueViolationError as error:
                raise DomainError(
                    "duplicate_order",
                    f"Channel {order.channel} already has order {order.external_id}.",
                    409,
                    externalId=order.external_id,
                ) from error
            ids.append(order_id)
    return ids


async def create_order(conn: asyncpg.Connection, data: OrderIn, user_id: int) -> OrderOut:
    """Take one order; its external id is unique in its channel (409 duplicate_order)."""
    [order_id] = await _insert_orders(conn, [data], user_id)
    return await get_order(conn, order_id)


CSV_COLUMNS = (
    "channel",
    "external_id",
    "customer_ref",
    "customer_name",
    "customer_email",
    "customer_country",
    "sku",
    "quantity",
)
"""The columns of an order CSV, one row per order line; `ship_date` and `warehouse` may
follow. Rows of one order (same channel and external_id) must agree on its fields."""

_CSV_OPTIONAL = ("ship_date", "warehouse")
_CSV_ROWS = 100_000


def _csv_orders(text: str) -> list[OrderIn]:
    """The orders of a CSV, or 422 invalid_csv naming every bad row and field."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in CSV_COLUMNS if column not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS and c not in _CSV_OPTIONAL]
    if missing or unknown:
        raise DomainError(
            "invalid_csv",
            "The header must name " + ", ".join(CSV_COLUMNS) + " (ship_date and warehouse may "
            "follow)."
            + (f" Missing: {', '.join(missing)}." if missing else "")
            + (f" Unknown: {', '.join(unknown)}." if unknown else ""),
            422,
            errors=[],
        )
    errors: list[dict[str, Any]] = []
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for number, row in enumerate(reader, start=2):
        if number > _CSV_ROWS + 1:
            errors.append({"row": number, "field": None, "message": "Too many rows."})
            break
        if None in row or any(value is None for value in row.values()):
            errors.append({"row": number, "field": None, "message": "Wrong number of cells."})
            continue
        cells = {key: value.strip() for key, value in row.items()}
        key = (cells["channel"], cells["external_id"])
        order = grouped.setdefault(
            key,
            {
                "row": number,
                "channel": cells["channel"],
                "externalId": cells["external_id"],
                "customer": {
                    "ref": cells["customer_ref"],
                    "name": cells["customer_name"],
                    **({"email": cells["customer_email"]} if cells["customer_email"] else {}),
                    **({"country": cells["customer_country"]} if cells["customer_country"] else {}),
                },
                **({"shipDate": cells["ship_date"]} if cells.get("ship_date") else {}),
                **({"warehouse": cells["warehouse"]} if cells.get("warehouse") else {}),
                "lines": [],
            },
        )
        if order["customer"]["ref"] != cells["customer_ref"]:
            errors.append(
                {
                    "row": number,
                    "field": "customer_ref",
                    "message": "Differs from the order's first row.",
                }
            )
        quantity: Any = cells["quantity"]
        if quantity.isdigit():
            quantity = int(quantity)
        order["lines"].append({"sku": cells["sku"], "quantity": quantity, "row": number})
    orders = []
    for order in grouped.values():
        first = order.pop("row")
        rows = [line.pop("row") for line in order["lines"]]
        try:
            orders.append(msgspec.convert(order, OrderIn))
        except msgspec.ValidationError as error:
            field, at = _csv_field(str(error), first, rows)
            errors.append({"row": at, "field": field, "message": str(error)})
    if errors:
        raise DomainError(
            "invalid_csv",
            f"{len(errors)} bad row(s); nothing was imported.",
            422,
            errors=sorted(errors, key=lambda e: e["row"])[:200],
        )
    if not orders:
        raise DomainError("invalid_csv", "The CSV has no rows.", 422, errors=[])
    return orders


_CSV_FIELDS = {
    "$.channel": "channel",
    "$.externalId": "external_id",
    "$.customer.ref": "customer_ref",
    "$.customer.name": "customer_name",
    "$.customer.email": "customer_email",
    "$.customer.country": "customer_country",
    "$.shipDate": "ship_date",
    "$.warehouse": "warehouse",
}


def _csv_field(message: str, first: int, rows: list[int]) -> tuple[str | None, int]:
    """The CSV column and row a validation error of an order points at."""
    path = message.rpartition(" - at `")[2].rstrip("`")
    if path.startswith("$.lines["):
        index, _, rest = path.removeprefix("$.lines[").partition("]")
        field = rest.removeprefix(".") or None
        return field, rows[int(index)] if index.isdigit() and int(index) < len(rows) else first
    return _CSV_FIELDS.get(path), first


async def import_orders(conn: asyncpg.Connection, text: str, user_id: int) -> list[int]:
    """Take every order of a CSV, or none of them."""
    return await _insert_orders(conn, _csv_orders(text), user_id)


# --- orders out -------------------------------------------------------------------------

_ORDER_SELECT = """
SELECT o.id, c.code AS channel, o.external_id, w.code AS warehouse, cu.ref AS customer_ref,
       cu.name AS customer_name, cu.email AS customer_email, o.country AS customer_country,
       o.ship_date, o.status, o.wave_id, o.created_at, o.shipped_at,
       (SELECT json_agg(json_build_object(
            'id', ol.id, 'lineNo', ol.line_no, 'sku', p.sku, 'productName', p.name,
            'quantity', ol.quantity, 'unallocated', ol.unallocated,
            'shortReason', coalesce(ol.short_reason,
                                    (SELECT min(t.short_reason) FROM pick_task t
                                      WHERE t.order_line_id = ol.id)),
            'lots', (SELECT coalesce(json_agg(json_build_object(
                        'lotId', t.lot_id, 'lotCode', l.code,
                        'expiry', coalesce(l.expiry_date, l.best_before_date),
                        'allocated', t.allocated, 'picked', t.picked, 'packed', t.packed,
                        'shipped', t.shipped, 'short', t.short,
                        'serials', coalesce((
                            SELECT array_agg(DISTINCT s.serial ORDER BY s.serial)
                              FROM movement m
                              JOIN movement_serial ms ON ms.movement_id = m.id
                              JOIN serial s ON s.id = ms.serial_id
                             WHERE m.order_line_id = ol.id AND m.lot_id = t.lot_id
                               AND m.kind = 'pack'), '{}'))
                        ORDER BY l.expiry_date NULLS LAST, l.code), '[]')
                       FROM (SELECT lot_id, sum(quantity) AS allocated, sum(picked) AS picked,
                                    sum(packed) AS packed, sum(shipped) AS shipped,
                                    sum(short) AS short
                               FROM pick_task WHERE order_line_id = ol.id
                              GROUP BY lot_id) t
                       JOIN lot l ON l.id = t.lot_id))
            ORDER BY ol.line_no)
          FROM order_line ol JOIN product p ON p.id = ol.product_id
         WHERE ol.order_id = o.id)::text AS lines
  FROM sales_order o
  JOIN channel c ON c.id = o.channel_id
  JOIN warehouse w ON w.id = o.warehouse_id
  JOIN customer cu ON cu.id = o.customer_id
"""


class _LineLotRow(msgspec.Struct, rename="camel"):
    lot_id: int
    lot_code: str
    expiry: date | None
    allocated: int
    picked: int
    packed: int
    shipped: int
    short: int
    serials: list[str]


class _LineRow(msgspec.Struct, rename="camel"):
    id: int
    line_no: int
    sku: str
    product_name: str
    quantity: int
    unallocated: int
    short_reason: str | None
    lots: list[_LineLotRow]


_LINES = msgspec.json.Decoder(list[_LineRow])


def order_out(row: asyncpg.Record) -> OrderOut:
    lines = []
    for line in _LINES.decode(row["lines"]):
        lots = [
            LineLot(
                lot_id=lot.lot_id,
                lot_code=lot.lot_code,
                expiry=lot.expiry,
                allocated=lot.allocated - lot.short,
                picked=lot.picked,
                packed=lot.packed,
                shipped=lot.shipped,
                serials=lot.serials,
            )
            for lot in line.lots
        ]
        lines.append(
            OrderLineOut(
                id=line.id,
                line_no=line.line_no,
                sku=line.sku,
                product_name=line.product_name,
                quantity=line.quantity,
                allocated=sum(lot.allocated for lot in lots),
                picked=sum(lot.picked for lot in lots),
                packed=sum(lot.packed for lot in lots),
                shipped=sum(lot.shipped for lot in lots),
                short=line.unallocated + sum(lot.short for lot in line.lots),
                short_reason=line.short_reason,
                lots=lots,
            )
        )
    return OrderOut(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        warehouse=row["warehouse"],
        customer=CustomerRef(
            ref=row["customer_ref"],
            name=row["customer_name"],
            email=row["customer_email"],
            country=row["customer_country"],
        ),
        ship_date=row["ship_date"],
        status=row["status"],
        wave_id=row["wave_id"],
        created_at=row["created_at"],
        shipped_at=row["shipped_at"],
        lines=lines,
    )


async def get_order(conn: asyncpg.Connection, order_id: int) -> OrderOut:
    row = await conn.fetchrow(_ORDER_SELECT + " WHERE o.id = $1", order_id)
    if row is None:
        raise DomainError("order_not_found", f"No order {order_id}.", 404)
    return order_out(row)


async def list_orders(
    conn: asyncpg.Connection, status: str | None, channel: str | None, limit: int
) -> list[OrderOut]:
    rows = await conn.fetch(
        _ORDER_SELECT
        + """ WHERE ($1::text IS NULL OR o.status = $1) AND ($2::text IS NULL OR c.code = $2)
              ORDER BY o.id LIMIT $3""",
        status,
        channel,
        limit,
    )
    return [order_out(row) for row in rows]


_REFRESH_STATUS = """
UPDATE sales_order o SET status = CASE
        WHEN p.open_units > 0 AND p.picked = 0 THEN 'allocated'
        WHEN p.open_units > 0 THEN 'picking'
        WHEN p.packed < p.picked OR p.picked = 0 THEN 'picked'
        ELSE 'packed' END
  FROM (SELECT coalesce(sum(quantity - picked - short), 0) AS open_units,
               coalesce(sum(picked), 0) AS picked, coalesce(sum(packed), 0) AS packed
          FROM pick_task WHERE order_id = $1) p
 WHERE o.id = $1 AND o.status NOT IN ('open', 'shipped')"""


async def refresh_order_status(conn: asyncpg.Connection, order_id: int) -> None:
    """Set a waved order's status from its tasks (in the caller's transaction)."""
    await conn.execute(_REFRESH_STATUS, order_id)
