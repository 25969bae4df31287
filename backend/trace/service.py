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
    TracePage,
    TraceTotals,
)

__all__ = [
    "LOT_HEAD",
    "PAGE_DEFAULT",
    "PAGE_MAX",
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


def _serials_moved(movements: str) -> str:
    """SQL: the serials the movements `movements` (an SQL array of ids) carried, for a
    serial-tracked lot."""
    return f"""CASE WHEN head.tracking IN ('serial', 'lot_serial') THEN coalesce(
    (SELECT array_agg(DISTINCT sr.serial ORDER BY sr.serial) FROM movement_serial ms
       JOIN serial sr ON sr.id = ms.serial_id WHERE ms.movement_id = ANY({movements})), '{{}}')
    ELSE '{{}}' END"""


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
# with its location's kind (the one lookup a balance costs; names are looked up only for the
# rows the answer shows). Every location a movement of the lot touched has a balance of it
# (kept at zero too), so `ends` finds both ends' kinds in `stock`, by a hash join rather
# than two index probes per movement; the location is read only if a balance is missing.
# A customer location whose balance `ledger` does not explain got (or gave back) units by
# another kind of movement, a plain move: only then is `other` read.
# The shipments and customers are grouped and counted in full, and only the page asked for
# ($2 rows from $3) is built into JSON with its names, customers and serials.
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
           loc.warehouse_id
      FROM stock_balance b
      JOIN location loc ON loc.id = b.location_id
     WHERE b.lot_id = $1
),
ledger_net AS (
    SELECT n.location_id, sum(n.quantity) AS quantity
      FROM ledger m
     CROSS JOIN LATERAL (VALUES (m.to_location_id, m.quantity),
                                (m.from_location_id, -m.quantity)) AS n(location_id, quantity)
     WHERE n.location_id IS NOT NULL
     GROUP BY n.location_id
),
unexplained AS (
    SELECT st.location_id
      FROM stock st
      LEFT JOIN ledger_net n ON n.location_id = st.location_id
     WHERE st.kind = 'customer' AND (n.location_id IS NULL OR n.quantity <> st.quantity)
),
other AS (
    SELECT m.id, m.kind, m.order_line_id, m.from_location_id, m.to_location_id, m.quantity,
           m.created_at
      FROM movement m
     WHERE EXISTS (SELECT 1 FROM unexplained)
       AND m.lot_id = $1 AND m.kind NOT IN ({_TRACED})
       AND (m.to_location_id IN (SELECT location_id FROM unexplained)
            OR m.from_location_id IN (SELECT location_id FROM unexplained))
),
ends AS (
    SELECT e.*,
           coalesce(f.kind, (SELECT kind FROM location WHERE id = e.from_location_id))
               AS from_kind,
           coalesce(t.kind, (SELECT kind FROM location WHERE id = e.to_location_id)) AS to_kind
      FROM (SELECT * FROM ledger UNION ALL SELECT * FROM other) e
      LEFT JOIN stock f ON f.location_id = e.from_location_id
      LEFT JOIN stock t ON t.location_id = e.to_location_id
),
crossings AS (
    SELECT e.id, e.kind, e.from_location_id, e.to_location_id, e.quantity, e.created_at,
           e.to_kind = 'customer' AS delivered,
           CASE WHEN e.to_kind = 'customer' THEN e.to_location_id ELSE e.from_location_id END
               AS customer_location_id,
           ol.order_id, o.customer_id, o.channel_id
      FROM ends e
      LEFT JOIN order_line ol ON ol.id = e.order_line_id
      LEFT JOIN sales_order o ON o.id = ol.order_id
     WHERE e.from_kind = 'customer' OR e.to_kind = 'customer'
),
owned AS (
    SELECT c.*, coalesce(c.customer_id, max(c.customer_id) OVER (
               PARTITION BY c.customer_location_id)) AS owner_id
      FROM crossings c
),
shipments AS (
    SELECT d.order_id,
           array_agg(d.id) FILTER (WHERE d.delivered) AS movement_ids,
           min(d.owner_id) AS customer_id,
           min(d.channel_id) AS channel_id,
           (array_agg(d.customer_location_id ORDER BY d.id)
                FILTER (WHERE d.delivered))[1] AS destination_id,
           coalesce(sum(d.quantity) FILTER (WHERE d.delivered), 0)::bigint AS quantity,
           coalesce(sum(d.quantity) FILTER (WHERE NOT d.delivered), 0)::bigint AS returned,
           min(d.created_at) FILTER (WHERE d.delivered) AS first_at,
           max(d.created_at) FILTER (WHERE d.delivered) AS last_at
      FROM owned d
     GROUP BY d.order_id, CASE WHEN d.order_id IS NULL THEN d.id END
    HAVING bool_or(d.delivered)
),
customers AS (
    SELECT d.owner_id AS customer_id,
           CASE WHEN d.owner_id IS NULL THEN d.customer_location_id END AS location_id,
           array_agg(DISTINCT d.customer_location_id) FILTER (WHERE d.delivered)
               AS destination_ids,
           count(DISTINCT d.order_id) FILTER (WHERE d.delivered) AS orders,
           coalesce(sum(d.quantity) FILTER (WHERE d.delivered), 0)::bigint AS shipped,
           coalesce(sum(d.quantity) FILTER (WHERE NOT d.delivered), 0)::bigint AS returned,
           min(d.created_at) FILTER (WHERE d.delivered) AS first_at,
           max(d.created_at) FILTER (WHERE d.delivered) AS last_at
      FROM owned d
     GROUP BY 1, 2
    HAVING bool_or(d.delivered)
),
shipment_page AS (
    SELECT * FROM shipments ORDER BY first_at, coalesce(order_id, 0) LIMIT $2 OFFSET $3
),
customer_page AS (
    SELECT * FROM customers
     ORDER BY first_at, customer_id NULLS FIRST, location_id LIMIT $2 OFFSET $3
)
SELECT head.*,
       (SELECT coalesce(sum(quantity), 0) FROM ledger WHERE kind = 'receipt')::bigint
           AS received,
       (SELECT coalesce(sum(quantity), 0) FROM stock WHERE kind = 'customer')::bigint
           AS at_customers,
       (SELECT coalesce(sum(quantity), 0) FROM crossings WHERE delivered)::bigint AS shipped,
       (SELECT coalesce(sum(quantity), 0) FROM crossings WHERE NOT delivered)::bigint
           AS returned,
       (SELECT count(*) FROM shipments) AS shipment_count,
       (SELECT count(DISTINCT order_id) FROM shipments) AS order_count,
       (SELECT count(*) FROM customers) AS customer_count,
       (SELECT coalesce(json_agg(json_build_object(
            'channel', ch.code, 'orders', x.orders, 'customers', x.customers,
            'shipped', x.shipped, 'returned', x.returned) ORDER BY ch.code), '[]')
          FROM (SELECT s.channel_id, count(*) AS orders,
                       count(DISTINCT s.customer_id) AS customers,
                       sum(s.quantity)::bigint AS shipped, sum(s.returned)::bigint AS returned
                  FROM shipments s WHERE s.order_id IS NOT NULL GROUP BY s.channel_id) x
          JOIN channel ch ON ch.id = x.channel_id)::text AS channels,
       (SELECT coalesce(json_agg(json_build_object(
            'orderId', s.order_id, 'externalId', o.external_id,
            'channel', CASE WHEN s.order_id IS NOT NULL THEN ch.code END,
            'customer', {_CUSTOMER}, 'destination', dw.code || '/' || dl.code,
            'quantity', s.quantity, 'returned', s.returned, 'firstShippedAt', s.first_at,
            'lastShippedAt', s.last_at, 'serials', {_serials_moved("s.movement_ids")})
          ORDER BY s.first_at, coalesce(s.order_id, 0)), '[]')
          FROM shipment_page s
          LEFT JOIN sales_order o ON o.id = s.order_id
          LEFT JOIN customer cu ON cu.id = s.customer_id
          LEFT JOIN channel ch ON ch.id = coalesce(s.channel_id, cu.channel_id)
          JOIN location dl ON dl.id = s.destination_id
          JOIN warehouse dw ON dw.id = dl.warehouse_id)::text AS shipments,
       (SELECT coalesce(json_agg(json_build_object(
            'customer', {_CUSTOMER},
            'destinations', (SELECT array_agg(w.code || '/' || l.code ORDER BY w.code, l.code)
                               FROM location l JOIN warehouse w ON w.id = l.warehouse_id
                              WHERE l.id = ANY(c.destination_ids)),
            'orders', c.orders, 'shipped', c.shipped, 'returned', c.returned,
            'holding', c.shipped - c.returned, 'firstShippedAt', c.first_at,
            'lastShippedAt', c.last_at)
          ORDER BY c.first_at, c.customer_id NULLS FIRST, c.location_id), '[]')
          FROM customer_page c
          LEFT JOIN customer cu ON cu.id = c.customer_id
          LEFT JOIN channel ch ON ch.id = cu.channel_id)::text AS customers,
       (SELECT coalesce(json_agg(json_build_object(
            'movementId', b.id, 'kind', b.kind, 'at', b.created_at, 'quantity', b.quantity,
            'from', fw.code || '/' || f.code, 'to', tw.code || '/' || t.code,
            'orderId', b.order_id, 'externalId', o.external_id, 'customer', {_CUSTOMER},
            'serials', {_serials_moved("ARRAY[b.id]")})
          ORDER BY b.id), '[]')
          FROM owned b
          JOIN location f ON f.id = b.from_location_id
          JOIN warehouse fw ON fw.id = f.warehouse_id
          LEFT JOIN location t ON t.id = b.to_location_id
          LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
          LEFT JOIN sales_order o ON o.id = b.order_id
          LEFT JOIN customer cu ON cu.id = b.owner_id
          LEFT JOIN channel ch ON ch.id = coalesce(o.channel_id, cu.channel_id)
         WHERE NOT b.delivered)::text AS returns,
       (SELECT coalesce(json_agg(json_build_object(
            'location', w.code || '/' || st.code, 'locationId', st.location_id,
            'warehouse', w.code, 'kind', st.kind, 'quantity', st.quantity,
            'allocated', st.allocated, 'serials', {_SERIALS_AT})
          ORDER BY w.code, st.walk_sequence, st.code), '[]')
          FROM stock st JOIN warehouse w ON w.id = st.warehouse_id
         WHERE st.kind <> 'customer' AND st.quantity > 0)::text AS on_hand,
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


class _InFlightRow(msgspec.Struct, rename="camel"):
    stage: str
    order_id: int
    external_id: str
    channel: str
    customer: str
    location: str
    quantity: int


_SHIPMENTS = msgspec.json.Decoder(list[Shipment])
_CUSTOMERS = msgspec.json.Decoder(list[CustomerExposure])
_CHANNELS = msgspec.json.Decoder(list[ChannelExposure])
_RETURNS = msgspec.json.Decoder(list[Return])
_ON_HAND = msgspec.json.Decoder(list[OnHand])
_IN_FLIGHT = msgspec.json.Decoder(list[_InFlightRow])

PAGE_DEFAULT = 200
"""Shipments and customers a forward trace lists unless asked for more (or fewer)."""
PAGE_MAX = 5000


async def trace_lot(
    conn: asyncpg.Connection, lot_id: int, *, limit: int | None = PAGE_DEFAULT, offset: int = 0
) -> LotTrace:
    """Forward trace of a lot: its shipments by order, customer and channel, its stock by
    location, the orders its units in totes and boxes are for, and what came back.

    Totals, counts and channels cover every shipment; `shipments` and `customers` are the
    page of `limit` rows (every row when None) from `offset`, in order of first shipment."""
    row = await conn.fetchrow(_FORWARD, lot_id, limit, offset)
    if row is None:
        raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
    on_hand = _ON_HAND.decode(row["on_hand"])
    flying = _IN_FLIGHT.decode(row["in_flight"])
    in_totes = [_in_flight(f) for f in flying if f.stage == "tote"]
    in_boxes = [_in_flight(f) for f in flying if f.stage == "box"]
    shipments = _SHIPMENTS.decode(row["shipments"])
    customers = _CUSTOMERS.decode(row["customers"])
    listed = offset + max(len(shipments), len(customers))
    more = limit != 0 and listed < max(row["shipment_count"], row["customer_count"])
    return LotTrace(
        lot=trace_lot_head(row),
        totals=TraceTotals(
            received=row["received"],
            on_hand=sum(place.quantity for place in on_hand),
            in_totes=sum(f.quantity for f in in_totes),
            in_boxes=sum(f.quantity for f in in_boxes),
            shipped=row["shipped"],
            returned=row["returned"],
            at_customers=row["at_customers"],
        ),
        page=TracePage(
            limit=limit,
            offset=offset,
            shipments=row["shipment_count"],
            customers=row["customer_count"],
            orders=row["order_count"],
            next_offset=listed if more else None,
        ),
        shipments=shipments,
        customers=customers,
        channels=_CHANNELS.decode(row["channels"]),
        on_hand=on_hand,
        in_totes=in_totes,
        in_boxes=in_boxes,
        returns=_RETURNS.decode(row["returns"]),
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


def summarise(trace: LotTrace) -> LotTraceSummary:
    """A forward trace in a line: totals, and how many orders, customers and channels."""
    return LotTraceSummary(
        lot=trace.lot,
        totals=trace.totals,
        orders=trace.page.orders,
        customers=trace.page.customers,
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
    lots = [summarise(await trace_lot(conn, row["id"], limit=0)) for row in rows]
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
