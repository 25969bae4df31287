"""Trace: who got a lot, what is in an order, where a unit went, what came of a supplier lot.

Everything here reads the ledger (DESIGN.md rule 2: shipping moves units to the customer's
own location, so "who got lot X" is a query), the balances, and the orders the shipments
name; nothing is written. A lot's forward trace is one statement: its receipts, shipments
and returns come from a partial covering index (`movement_trace_idx`, an index-only scan
however many picks and moves the lot had), its stock from the balances, and the orders its
units in totes and at pack stations are for from the pick tasks. Units that reached a
customer location by a plain move, outside any order, are found too: the statement reads
the lot's other movements only for customer locations whose balance the receipts, shipments
and returns do not explain, which is almost never.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import asyncpg
import msgspec

from backend.errors import DomainError
from backend.lots.schemas import OnHand
from backend.trace.schemas import (
    ChannelExposure,
    CustomerExposure,
    InFlight,
    LotTrace,
    LotTraceSummary,
    OrderHead,
    OrderTrace,
    OrderTraceLot,
    Return,
    SerialMovement,
    SerialTrace,
    Shipment,
    SupplierLotTrace,
    SupplierRef,
    TraceCustomer,
    TraceLot,
    TraceTotals,
)

__all__ = [
    "LOT_HEAD",
    "TRACED_KINDS",
    "lot_heads",
    "summarise",
    "trace_lot",
    "trace_lot_head",
    "trace_order",
    "trace_serial",
    "trace_supplier_lot",
    "unexplained_at_customers",
]

LOT_HEAD = """
SELECT l.id, l.code, p.sku, p.name AS product_name, p.unit, p.tracking,
       coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtin g
                  WHERE g.product_id = l.product_id), '{}') AS gtins,
       s.code AS supplier_code, s.name AS supplier_name, s.gln AS supplier_gln,
       l.supplier_lot_code, l.production_date, l.expiry_date, l.best_before_date,
       l.status, l.status_reason, l.status_at, l.received_at,
       origin.code AS origin_warehouse, origin.name AS origin_warehouse_name,
       origin.timezone AS origin_timezone
  FROM lot l
  JOIN product p ON p.id = l.product_id
  LEFT JOIN supplier s ON s.id = l.supplier_id
  LEFT JOIN LATERAL (SELECT w.code, w.name, w.timezone FROM movement m
                       JOIN location loc ON loc.id = m.to_location_id
                       JOIN warehouse w ON w.id = loc.warehouse_id
                      WHERE m.lot_id = l.id ORDER BY m.id LIMIT 1) origin ON true"""
"""The lot as traces and exports name it, with the warehouse it first arrived at; append a
WHERE on `l`."""


def trace_lot_head(row: asyncpg.Record) -> TraceLot:
    supplier = None
    if row["supplier_code"] is not None:
        supplier = SupplierRef(
            code=row["supplier_code"], name=row["supplier_name"], gln=row["supplier_gln"]
        )
    return TraceLot(
        id=row["id"],
        code=row["code"],
        sku=row["sku"],
        product_name=row["product_name"],
        gtins=list(row["gtins"]),
        unit=row["unit"],
        supplier=supplier,
        supplier_lot_code=row["supplier_lot_code"],
        production_date=row["production_date"],
        expiry=row["expiry_date"],
        best_before=row["best_before_date"],
        status=row["status"],
        status_reason=row["status_reason"],
        status_at=row["status_at"],
        received_at=row["received_at"],
    )


async def lot_heads(conn: asyncpg.Connection, lot_ids: list[int]) -> dict[int, asyncpg.Record]:
    """The lot rows (as `LOT_HEAD` reads them) of these ids."""
    rows = await conn.fetch(LOT_HEAD + " WHERE l.id = ANY($1::bigint[])", lot_ids)
    return {row["id"]: row for row in rows}


# --- forward ------------------------------------------------------------------------------

_CUSTOMER = """CASE WHEN cu.id IS NOT NULL THEN json_build_object(
    'id', cu.id, 'ref', cu.ref, 'name', cu.name, 'email', cu.email, 'country', cu.country,
    'channel', ch.code) END"""

_SERIALS_AT = """CASE WHEN head.tracking IN ('serial', 'lot_serial') THEN coalesce(
    (SELECT array_agg(s.serial ORDER BY s.serial) FROM serial s
      WHERE s.lot_id = head.id AND s.location_id = st.location_id), '{}')
    ELSE '{}' END"""

_SERIALS_MOVED = """CASE WHEN head.tracking IN ('serial', 'lot_serial') THEN coalesce(
    (SELECT array_agg(s.serial ORDER BY s.serial) FROM movement_serial ms
       JOIN serial s ON s.id = ms.serial_id WHERE ms.movement_id = c.id), '{}')
    ELSE '{}' END"""

TRACED_KINDS = ("receipt", "ship", "return")
"""The movements `movement_trace_idx` holds (migration 0004), with every column traces read."""

_TRACED = ", ".join(f"'{kind}'" for kind in TRACED_KINDS)


def unexplained_at_customers(lot: str) -> str:
    """SQL: the customer locations whose balance of the lot `lot` (an SQL expression) its
    receipts, shipments and returns do not explain, because units got there or left by
    another kind of movement (a plain move). Reads the trace index and the balances only,
    in one aggregate (linear however many customers the lot reached)."""
    return f"""
    SELECT x.location_id
      FROM (SELECT b.location_id, -b.quantity AS quantity, 1 AS balance
              FROM stock_balance b
              JOIN location c ON c.id = b.location_id AND c.kind = 'customer'
             WHERE b.lot_id = {lot}
            UNION ALL
            SELECT n.location_id, n.quantity, 0
              FROM movement m
             CROSS JOIN LATERAL (VALUES (m.to_location_id, m.quantity),
                                        (m.from_location_id, -m.quantity))
                   AS n(location_id, quantity)
             WHERE m.lot_id = {lot} AND m.kind IN ({_TRACED}) AND n.location_id IS NOT NULL) x
     GROUP BY x.location_id
    HAVING max(x.balance) = 1 AND (sum(x.quantity) <> 0 OR count(*) = 1)"""


# `ledger` is an index-only scan of movement_trace_idx. `stock` is every balance of the lot
# with its location. A customer location whose balance `ledger` does not explain got (or
# gave back) units by another kind of movement, a plain move: only then is `other` read.
_FORWARD = f"""
WITH head AS ({LOT_HEAD} WHERE l.id = $1),
ledger AS (
    SELECT m.id, m.kind, m.order_line_id, m.from_location_id, m.to_location_id, m.quantity,
           m.created_at
      FROM movement m
     WHERE m.lot_id = $1 AND m.kind IN ({_TRACED})
),
stock AS (
    SELECT b.location_id, b.quantity, b.allocated, loc.kind, loc.code, loc.walk_sequence,
           w.code AS warehouse
      FROM stock_balance b
      JOIN location loc ON loc.id = b.location_id
      JOIN warehouse w ON w.id = loc.warehouse_id
     WHERE b.lot_id = $1
),
unexplained AS ({unexplained_at_customers("$1")}),
other AS (
    SELECT m.id, m.kind, m.order_line_id, m.from_location_id, m.to_location_id, m.quantity,
           m.created_at
      FROM movement m
     WHERE EXISTS (SELECT 1 FROM unexplained)
       AND m.lot_id = $1 AND m.kind NOT IN ({_TRACED})
       AND (m.to_location_id IN (SELECT location_id FROM unexplained)
            OR m.from_location_id IN (SELECT location_id FROM unexplained))
),
crossings AS (
    SELECT e.id, e.kind, e.quantity, e.created_at, e.order_line_id,
           t.kind = 'customer' AS delivered,
           CASE WHEN t.kind = 'customer' THEN t.id ELSE f.id END AS customer_location_id,
           CASE WHEN t.kind = 'customer' THEN tw.code || '/' || t.code
                ELSE fw.code || '/' || f.code END AS customer_location,
           CASE WHEN t.kind = 'customer' THEN fw.code || '/' || f.code
                ELSE tw.code || '/' || t.code END AS other_location
      FROM (SELECT * FROM ledger UNION ALL SELECT * FROM other) e
      LEFT JOIN location f ON f.id = e.from_location_id
      LEFT JOIN warehouse fw ON fw.id = f.warehouse_id
      LEFT JOIN location t ON t.id = e.to_location_id
      LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
     WHERE f.kind = 'customer' OR t.kind = 'customer'
)
SELECT head.*,
       (SELECT coalesce(sum(quantity), 0) FROM ledger WHERE kind = 'receipt')::bigint
           AS received,
       (SELECT coalesce(sum(quantity), 0) FROM stock WHERE kind = 'customer')::bigint
           AS at_customers,
       (SELECT coalesce(json_agg(json_build_object(
            'movementId', c.id, 'kind', c.kind, 'quantity', c.quantity, 'at', c.created_at,
            'delivered', c.delivered, 'customerLocationId', c.customer_location_id,
            'customerLocation', c.customer_location, 'otherLocation', c.other_location,
            'orderId', o.id, 'externalId', o.external_id, 'customer', {_CUSTOMER},
            'serials', {_SERIALS_MOVED})
          ORDER BY c.id), '[]')
          FROM crossings c
          LEFT JOIN order_line ol ON ol.id = c.order_line_id
          LEFT JOIN sales_order o ON o.id = ol.order_id
          LEFT JOIN customer cu ON cu.id = o.customer_id
          LEFT JOIN channel ch ON ch.id = o.channel_id)::text AS crossings,
       (SELECT coalesce(json_agg(json_build_object(
            'location', st.warehouse || '/' || st.code, 'locationId', st.location_id,
            'warehouse', st.warehouse, 'kind', st.kind, 'quantity', st.quantity,
            'allocated', st.allocated, 'serials', {_SERIALS_AT})
          ORDER BY st.warehouse, st.walk_sequence, st.code), '[]')
          FROM stock st WHERE st.kind <> 'customer' AND st.quantity > 0)::text AS on_hand,
       (SELECT coalesce(json_agg(json_build_object(
            'stage', f.stage, 'orderId', f.order_id, 'externalId', f.external_id,
            'channel', f.channel, 'customer', f.customer, 'location', f.location,
            'quantity', f.units) ORDER BY f.stage, f.order_id, f.location), '[]')
          FROM (SELECT stage.name AS stage, t.order_id, o.external_id, ch.code AS channel,
                       cu.name AS customer, w.code || '/' || loc.code AS location,
                       sum(stage.units)::bigint AS units
                  FROM pick_task t
                  JOIN sales_order o ON o.id = t.order_id
                  JOIN channel ch ON ch.id = o.channel_id
                  JOIN customer cu ON cu.id = o.customer_id
                 CROSS JOIN LATERAL (VALUES ('tote', t.picked - t.packed, t.tote_id),
                                            ('box', t.packed - t.shipped, o.pack_station_id))
                       AS stage(name, units, location_id)
                  JOIN location loc ON loc.id = stage.location_id
                  JOIN warehouse w ON w.id = loc.warehouse_id
                 WHERE EXISTS (SELECT 1 FROM stock WHERE kind IN ('tote', 'pack_station')
                                                     AND quantity > 0)
                   AND t.lot_id = head.id AND t.picked > t.shipped AND stage.units > 0
                 GROUP BY stage.name, t.order_id, o.external_id, ch.code, cu.name, w.code,
                          loc.code) f)::text AS in_flight
  FROM head"""


class _Crossing(msgspec.Struct, rename="camel"):
    """A movement of the lot into or out of a customer location."""

    movement_id: int
    kind: str
    quantity: int
    at: datetime
    delivered: bool
    customer_location_id: int
    customer_location: str
    other_location: str | None
    order_id: int | None
    external_id: str | None
    customer: TraceCustomer | None
    serials: list[str]


class _InFlightRow(msgspec.Struct, rename="camel"):
    stage: str
    order_id: int
    external_id: str
    channel: str
    customer: str
    location: str
    quantity: int


_CROSSINGS = msgspec.json.Decoder(list[_Crossing])
_ON_HAND = msgspec.json.Decoder(list[OnHand])
_IN_FLIGHT = msgspec.json.Decoder(list[_InFlightRow])


async def trace_lot(conn: asyncpg.Connection, lot_id: int) -> LotTrace:
    """Forward trace of a lot: its shipments by order, customer and channel, its stock by
    location, the orders its units in totes and boxes are for, and what came back."""
    row = await conn.fetchrow(_FORWARD, lot_id)
    if row is None:
        raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
    crossings = _CROSSINGS.decode(row["crossings"])
    on_hand = _ON_HAND.decode(row["on_hand"])
    flying = _IN_FLIGHT.decode(row["in_flight"])
    in_totes = [_in_flight(f) for f in flying if f.stage == "tote"]
    in_boxes = [_in_flight(f) for f in flying if f.stage == "box"]
    # A movement outside any order, to or from a customer location, is that customer's:
    # the one whose orders took this lot there.
    customer_at = {c.customer_location_id: c.customer for c in crossings if c.customer}
    for crossing in crossings:
        crossing.customer = crossing.customer or customer_at.get(crossing.customer_location_id)
    deliveries = [c for c in crossings if c.delivered]
    comebacks = [c for c in crossings if not c.delivered]
    returns = [_return(c) for c in comebacks]
    shipments = _shipments(deliveries, comebacks)
    return LotTrace(
        lot=trace_lot_head(row),
        totals=TraceTotals(
            received=row["received"],
            on_hand=sum(place.quantity for place in on_hand),
            in_totes=sum(f.quantity for f in in_totes),
            in_boxes=sum(f.quantity for f in in_boxes),
            shipped=sum(c.quantity for c in deliveries),
            returned=sum(c.quantity for c in comebacks),
            at_customers=row["at_customers"],
        ),
        shipments=shipments,
        customers=_customers(shipments, returns),
        channels=_channels(shipments),
        on_hand=on_hand,
        in_totes=in_totes,
        in_boxes=in_boxes,
        returns=returns,
    )


def _in_flight(row: _InFlightRow) -> InFlight:
    return InFlight(
        order_id=row.order_id,
        external_id=row.external_id,
        channel=row.channel,
        customer=row.customer,
        location=row.location,
        quantity=row.quantity,
    )


def _return(crossing: _Crossing) -> Return:
    return Return(
        movement_id=crossing.movement_id,
        kind=crossing.kind,
        at=crossing.at,
        quantity=crossing.quantity,
        from_location=crossing.customer_location,
        to_location=crossing.other_location,
        order_id=crossing.order_id,
        external_id=crossing.external_id,
        customer=crossing.customer,
        serials=crossing.serials,
    )


def _shipments(deliveries: list[_Crossing], comebacks: list[_Crossing]) -> list[Shipment]:
    """One shipment per order; a delivery outside any order is one on its own."""
    groups: dict[tuple[str, int], list[_Crossing]] = defaultdict(list)
    for crossing in deliveries:
        if crossing.order_id is not None:
            groups["order", crossing.order_id].append(crossing)
        else:
            groups["movement", crossing.movement_id].append(crossing)
    returned: dict[int, int] = defaultdict(int)
    for crossing in comebacks:
        if crossing.order_id is not None:
            returned[crossing.order_id] += crossing.quantity
    shipments = []
    for group in groups.values():
        first = group[0]
        shipments.append(
            Shipment(
                order_id=first.order_id,
                external_id=first.external_id,
                channel=first.customer.channel if first.customer and first.order_id else None,
                customer=first.customer,
                destination=first.customer_location,
                quantity=sum(c.quantity for c in group),
                returned=returned[first.order_id] if first.order_id is not None else 0,
                first_shipped_at=min(c.at for c in group),
                last_shipped_at=max(c.at for c in group),
                serials=sorted({serial for c in group for serial in c.serials}),
            )
        )
    return sorted(shipments, key=lambda s: (s.first_shipped_at, s.order_id or 0))


def _customer_key(customer: TraceCustomer | None, location: str) -> tuple[str, int | str]:
    """A customer by id; a customer location no order names stands for itself."""
    return ("customer", customer.id) if customer else ("location", location)


def _customers(shipments: list[Shipment], returns: list[Return]) -> list[CustomerExposure]:
    """What each customer got, over all its orders and customer locations."""
    returned: dict[tuple[str, int | str], int] = defaultdict(int)
    for back in returns:
        returned[_customer_key(back.customer, back.from_location)] += back.quantity
    groups: dict[tuple[str, int | str], list[Shipment]] = defaultdict(list)
    for shipment in shipments:
        groups[_customer_key(shipment.customer, shipment.destination)].append(shipment)
    exposures = []
    for key, group in groups.items():
        shipped = sum(s.quantity for s in group)
        exposures.append(
            CustomerExposure(
                customer=group[0].customer,
                destinations=sorted({s.destination for s in group}),
                orders=sum(1 for s in group if s.order_id is not None),
                shipped=shipped,
                returned=returned[key],
                holding=shipped - returned[key],
                first_shipped_at=group[0].first_shipped_at,
                last_shipped_at=max(s.last_shipped_at for s in group),
            )
        )
    return exposures


def _channels(shipments: list[Shipment]) -> list[ChannelExposure]:
    groups: dict[str, list[Shipment]] = defaultdict(list)
    for shipment in shipments:
        if shipment.channel is not None:
            groups[shipment.channel].append(shipment)
    return [
        ChannelExposure(
            channel=channel,
            orders=len(group),
            customers=len({s.customer.id for s in group if s.customer}),
            shipped=sum(s.quantity for s in group),
            returned=sum(s.returned for s in group),
        )
        for channel, group in sorted(groups.items())
    ]


def summarise(trace: LotTrace) -> LotTraceSummary:
    """A forward trace in a line: totals, and how many orders, customers and channels."""
    return LotTraceSummary(
        lot=trace.lot,
        totals=trace.totals,
        orders=len({s.order_id for s in trace.shipments if s.order_id is not None}),
        customers=len(trace.customers),
        channels=[channel.channel for channel in trace.channels],
    )


# --- by supplier lot ----------------------------------------------------------------------

SUPPLIER_LOT_LIMIT = 500
"""Lots traced at most under one supplier lot code (one forward trace each)."""


async def trace_supplier_lot(
    conn: asyncpg.Connection, code: str, supplier: str | None
) -> SupplierLotTrace:
    """Every lot received under a supplier lot code (of one supplier, when given), each with
    its forward trace summary, and their totals."""
    clause = " AND s.code = $2" if supplier is not None else ""
    rows = await conn.fetch(
        f"""SELECT l.id FROM lot l LEFT JOIN supplier s ON s.id = l.supplier_id
             WHERE l.supplier_lot_code = $1{clause} ORDER BY l.id LIMIT {SUPPLIER_LOT_LIMIT}""",
        code,
        *([supplier] if supplier is not None else []),
    )
    if not rows:
        raise DomainError(
            "supplier_lot_not_found", f"No lot was received under supplier lot {code}.", 404
        )
    lots = [summarise(await trace_lot(conn, row["id"])) for row in rows]
    return SupplierLotTrace(
        supplier_lot_code=code,
        lots=lots,
        totals=TraceTotals(
            **{
                name: sum(getattr(lot.totals, name) for lot in lots)
                for name in TraceTotals.__struct_fields__
            }
        ),
    )


# --- backward -----------------------------------------------------------------------------

_BACKWARD = """
SELECT o.id, o.external_id, ch.code AS channel, w.code AS warehouse, o.status, o.ship_date,
       o.shipped_at, cu.id AS customer_id, cu.ref, cu.name, cu.email, cu.country,
       (SELECT coalesce(json_agg(json_build_object(
            'lineId', ol.id, 'lineNo', ol.line_no, 'sku', p.sku, 'productName', p.name,
            'lotId', l.id, 'lotCode', l.code, 'supplierLotCode', l.supplier_lot_code,
            'productionDate', l.production_date, 'expiry', l.expiry_date,
            'bestBefore', l.best_before_date, 'status', l.status,
            'allocated', coalesce(a.allocated, 0), 'picked', coalesce(mv.picked, 0),
            'packed', coalesce(mv.packed, 0), 'shipped', coalesce(mv.shipped, 0),
            'returned', coalesce(mv.returned, 0), 'serials', coalesce(sr.serials, '{}'))
          ORDER BY ol.line_no, l.expiry_date NULLS LAST, l.code), '[]')
          FROM order_line ol
          JOIN product p ON p.id = ol.product_id
          JOIN LATERAL (SELECT t.lot_id FROM pick_task t WHERE t.order_line_id = ol.id
                        UNION
                        SELECT m.lot_id FROM movement m WHERE m.order_line_id = ol.id) lots
            ON true
          JOIN lot l ON l.id = lots.lot_id
          LEFT JOIN LATERAL (
              SELECT sum(t.quantity - t.short) AS allocated FROM pick_task t
               WHERE t.order_line_id = ol.id AND t.lot_id = l.id) a ON true
          LEFT JOIN LATERAL (
              SELECT sum(m.quantity) FILTER (WHERE m.kind = 'pick') AS picked,
                     sum(m.quantity) FILTER (WHERE m.kind = 'pack') AS packed,
                     sum(m.quantity) FILTER (WHERE t.kind = 'customer') AS shipped,
                     sum(m.quantity) FILTER (WHERE f.kind = 'customer') AS returned
                FROM movement m
                LEFT JOIN location f ON f.id = m.from_location_id
                LEFT JOIN location t ON t.id = m.to_location_id
               WHERE m.order_line_id = ol.id AND m.lot_id = l.id) mv ON true
          LEFT JOIN LATERAL (
              SELECT array_agg(DISTINCT s.serial ORDER BY s.serial) AS serials
                FROM movement m
                JOIN movement_serial ms ON ms.movement_id = m.id
                JOIN serial s ON s.id = ms.serial_id
               WHERE m.order_line_id = ol.id AND m.lot_id = l.id) sr ON true
         WHERE ol.order_id = o.id)::text AS lots
  FROM sales_order o
  JOIN channel ch ON ch.id = o.channel_id
  JOIN warehouse w ON w.id = o.warehouse_id
  JOIN customer cu ON cu.id = o.customer_id
 WHERE o.id = $1"""

_ORDER_LOTS = msgspec.json.Decoder(list[OrderTraceLot])


async def trace_order(conn: asyncpg.Connection, order_id: int) -> OrderTrace:
    """Backward trace of an order: per line, the lots allocated to it and what of each the
    ledger shows picked, packed, shipped and returned, with their serials."""
    row = await conn.fetchrow(_BACKWARD, order_id)
    if row is None:
        raise DomainError("order_not_found", f"No order {order_id}.", 404)
    return OrderTrace(
        order=OrderHead(
            id=row["id"],
            external_id=row["external_id"],
            channel=row["channel"],
            warehouse=row["warehouse"],
            status=row["status"],
            ship_date=row["ship_date"],
            shipped_at=row["shipped_at"],
            customer=TraceCustomer(
                id=row["customer_id"],
                ref=row["ref"],
                name=row["name"],
                email=row["email"],
                country=row["country"],
                channel=row["channel"],
            ),
        ),
        lots=_ORDER_LOTS.decode(row["lots"]),
    )


# --- by serial ----------------------------------------------------------------------------

_SERIAL = """
SELECT s.id, s.serial, s.lot_id, p.sku, p.name AS product_name,
       w.code || '/' || loc.code AS location, loc.kind AS location_kind,
       (SELECT coalesce(json_agg(json_build_object(
            'id', m.id, 'kind', m.kind, 'at', m.created_at,
            'from', fw.code || '/' || f.code, 'to', tw.code || '/' || t.code,
            'toCustomer', t.kind = 'customer', 'fromCustomer', f.kind = 'customer',
            'user', u.username, 'reference', m.reference,
            'orderId', o.id, 'externalId', o.external_id,
            'customer', CASE WHEN cu.id IS NOT NULL THEN json_build_object(
                'id', cu.id, 'ref', cu.ref, 'name', cu.name, 'email', cu.email,
                'country', cu.country, 'channel', ch.code) END)
          ORDER BY m.id), '[]')
          FROM movement_serial ms
          JOIN movement m ON m.id = ms.movement_id
          LEFT JOIN location f ON f.id = m.from_location_id
          LEFT JOIN warehouse fw ON fw.id = f.warehouse_id
          LEFT JOIN location t ON t.id = m.to_location_id
          LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
          LEFT JOIN app_user u ON u.id = m.user_id
          LEFT JOIN order_line ol ON ol.id = m.order_line_id
          LEFT JOIN sales_order o ON o.id = ol.order_id
          LEFT JOIN customer cu ON cu.id = o.customer_id
          LEFT JOIN channel ch ON ch.id = o.channel_id
         WHERE ms.serial_id = s.id)::text AS movements
  FROM serial s
  JOIN product p ON p.id = s.product_id
  LEFT JOIN location loc ON loc.id = s.location_id
  LEFT JOIN warehouse w ON w.id = loc.warehouse_id
 WHERE s.serial = $1"""


class _SerialStep(msgspec.Struct, rename="camel"):
    id: int
    kind: str
    at: datetime
    from_location: str | None = msgspec.field(name="from")
    to_location: str | None = msgspec.field(name="to")
    to_customer: bool | None
    from_customer: bool | None
    user: str | None
    reference: str | None
    order_id: int | None
    external_id: str | None
    customer: TraceCustomer | None


_SERIAL_STEPS = msgspec.json.Decoder(list[_SerialStep])


async def trace_serial(conn: asyncpg.Connection, serial: str, sku: str | None) -> SerialTrace:
    """One unit by its serial (and product, when two products share the serial)."""
    if sku is None:
        rows = await conn.fetch(_SERIAL + " ORDER BY p.sku LIMIT 20", serial)
    else:
        rows = await conn.fetch(_SERIAL + " AND p.sku = $2", serial, sku)
    if not rows:
        of = f" of {sku}" if sku is not None else ""
        raise DomainError("serial_not_found", f"No unit with serial {serial}{of}.", 404)
    if len(rows) > 1:
        skus = [row["sku"] for row in rows]
        raise DomainError(
            "ambiguous_serial",
            f"Serial {serial} exists for {', '.join(skus)}: name the product with `sku`.",
            422,
            skus=skus,
        )
    row = rows[0]
    head = (await lot_heads(conn, [row["lot_id"]]))[row["lot_id"]]
    steps = _SERIAL_STEPS.decode(row["movements"])
    shipped = [step for step in steps if step.to_customer]
    last = shipped[-1] if shipped else None
    shipped_to = None
    if last is not None and last.to_location is not None:
        back = any(step.from_customer and step.id > last.id for step in steps)
        shipped_to = Shipment(
            order_id=last.order_id,
            external_id=last.external_id,
            channel=last.customer.channel if last.customer else None,
            customer=last.customer,
            destination=last.to_location,
            quantity=1,
            returned=1 if back else 0,
            first_shipped_at=last.at,
            last_shipped_at=last.at,
            serials=[row["serial"]],
        )
    return SerialTrace(
        serial=row["serial"],
        sku=row["sku"],
        product_name=row["product_name"],
        lot=trace_lot_head(head),
        location=row["location"],
        location_kind=row["location_kind"],
        at_customer=row["location_kind"] == "customer",
        shipped_to=shipped_to,
        movements=[
            SerialMovement(
                id=step.id,
                kind=step.kind,
                at=step.at,
                from_location=step.from_location,
                to_location=step.to_location,
                user=step.user,
                reference=step.reference,
                order_id=step.order_id,
                external_id=step.external_id,
            )
            for step in steps
        ],
    )
