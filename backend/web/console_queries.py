"""What the console's pages show: the dashboard's panels, search, the lot and product pages.

Reads only. Lot cards come from the lots service (`lot_card_select`, `lot_out`,
`on_hand_json`), so a lot reads the same here as on the handheld and in the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg
import msgspec

from backend.domain.barcodes import parse_barcode
from backend.lots.schemas import LotOut, OnHand
from backend.lots.service import lot_card_select, lot_out, on_hand_json

__all__ = [
    "EXPIRY_WINDOWS",
    "TIMELINE_PAGE",
    "Dashboard",
    "Expiring",
    "Found",
    "OrderHit",
    "PlaceHit",
    "ProductHit",
    "TimelineEntry",
    "dashboard",
    "lot_on_hand",
    "lot_timeline",
    "product_page",
    "search",
    "units_on_hand",
]

EXPIRY_WINDOWS = (7, 30, 90)
"""Days ahead the dashboard's expiry panel looks; each lot shows in the nearest window."""

TIMELINE_PAGE = 50
"""Entries per page of a lot's timeline."""

SEARCH_LIMIT = 50
"""Results per kind a search lists."""

_LOTS = lot_card_select()


@dataclass(frozen=True)
class Expiring:
    """Units of one lot in one warehouse that expire within a window."""

    window: int
    warehouse: str
    lot_id: int
    lot_code: str
    sku: str
    expiry: date
    days: int
    quantity: int


@dataclass(frozen=True)
class Dashboard:
    warehouse: str | None
    """The warehouse the panels are narrowed to, or None for every warehouse."""
    not_released: list[LotOut]
    units_here: dict[int, int]
    """With a warehouse: each lot's units there (the cards' totals count every warehouse)."""
    expiring: list[Expiring]
    pick_tasks: dict[str, int]
    """Open pick tasks by state: unassigned, assigned, at the bin."""
    scan_exceptions: int
    counts_to_approve: int
    recounts_waiting: int
    return_alerts: int
    warehouses: list[str]


_EXPIRING = """
SELECT w.code AS warehouse, l.id AS lot_id, l.code AS lot_code, p.sku, l.expiry_date,
       l.expiry_date - current_date AS days, sum(b.quantity)::bigint AS quantity
  FROM lot l
  JOIN product p ON p.id = l.product_id
  JOIN stock_balance b ON b.lot_id = l.id AND b.quantity > 0
  JOIN location loc ON loc.id = b.location_id AND loc.kind <> 'customer'
  JOIN warehouse w ON w.id = loc.warehouse_id
 WHERE l.expiry_date BETWEEN current_date AND current_date + $1::int
   AND ($2::text IS NULL OR w.code = $2)
 GROUP BY w.code, l.id, p.sku
 ORDER BY l.expiry_date, w.code, l.id"""

_NOT_RELEASED = (
    _LOTS
    + """
 WHERE l.status <> 'released'
   AND ($1::bigint IS NULL OR EXISTS (
        SELECT 1 FROM stock_balance b JOIN location loc ON loc.id = b.location_id
         WHERE b.lot_id = l.id AND b.quantity > 0 AND loc.warehouse_id = $1
           AND loc.kind <> 'customer'))
 ORDER BY l.status_at DESC, l.id DESC LIMIT 100"""
)

_UNITS_ON_HAND = """
SELECT b.lot_id, sum(b.quantity)::bigint AS units
  FROM stock_balance b JOIN location loc ON loc.id = b.location_id
 WHERE b.lot_id = ANY($1::bigint[]) AND loc.kind <> 'customer'
   AND ($2::bigint IS NULL OR loc.warehouse_id = $2)
 GROUP BY b.lot_id"""


async def units_on_hand(
    conn: asyncpg.Connection, lot_ids: list[int], warehouse_id: int | None = None
) -> dict[int, int]:
    """Units of each lot at the warehouses' own locations (customers' excluded), in every
    warehouse or in one."""
    rows = await conn.fetch(_UNITS_ON_HAND, lot_ids, warehouse_id)
    return {row["lot_id"]: row["units"] for row in rows}


_PICK_TASKS = """
SELECT CASE WHEN t.assignee_id IS NULL THEN 'unassigned'
            WHEN t.bin_confirmed_at IS NULL THEN 'assigned'
            ELSE 'at the bin' END AS state, count(*) AS n
  FROM pick_task t JOIN location loc ON loc.id = t.location_id
 WHERE t.status = 'open' AND ($1::bigint IS NULL OR loc.warehouse_id = $1)
 GROUP BY 1"""

_WAITING = """
SELECT (SELECT count(*) FROM scan_exception
         WHERE status = 'open' AND ($1::bigint IS NULL OR warehouse_id = $1)) AS scan_exceptions,
       (SELECT count(*) FROM count_task t JOIN cycle_count c ON c.id = t.count_id
         WHERE t.status IN ('submitted', 'recounted')
           AND ($1::bigint IS NULL OR c.warehouse_id = $1)) AS to_approve,
       (SELECT count(*) FROM count_task t JOIN cycle_count c ON c.id = t.count_id
         WHERE t.status = 'recount_required'
           AND ($1::bigint IS NULL OR c.warehouse_id = $1)) AS recounts,
       (SELECT count(*) FROM return_alert a
          JOIN customer_return r ON r.id = a.return_id
          JOIN sales_order o ON o.id = r.order_id
         WHERE a.dismissed_at IS NULL
           AND ($1::bigint IS NULL OR o.warehouse_id = $1)) AS return_alerts"""


def _window(days: int) -> int:
    return next(window for window in EXPIRY_WINDOWS if days <= window)


async def dashboard(conn: asyncpg.Connection, warehouse: str | None = None) -> Dashboard | None:
    """Every panel of the dashboard, read now: of every warehouse, or narrowed to one by its
    code (None when there is no such warehouse). Return-rate alerts count in the warehouse
    that shipped the order whose return raised them."""
    warehouses = await conn.fetch("SELECT id, code FROM warehouse ORDER BY id")
    codes = {row["code"]: row["id"] for row in warehouses}
    if warehouse is not None and warehouse not in codes:
        return None
    here = codes.get(warehouse) if warehouse is not None else None
    held = await conn.fetch(_NOT_RELEASED, here)
    units_here = (
        await units_on_hand(conn, [row["id"] for row in held], here) if here is not None else {}
    )
    expiring = await conn.fetch(_EXPIRING, EXPIRY_WINDOWS[-1], warehouse)
    tasks = {row["state"]: row["n"] for row in await conn.fetch(_PICK_TASKS, here)}
    waiting = await conn.fetchrow(_WAITING, here)
    return Dashboard(
        warehouse=warehouse,
        not_released=[lot_out(row) for row in held],
        units_here=units_here,
        expiring=[
            Expiring(
                window=_window(row["days"]),
                warehouse=row["warehouse"],
                lot_id=row["lot_id"],
                lot_code=row["lot_code"],
                sku=row["sku"],
                expiry=row["expiry_date"],
                days=row["days"],
                quantity=row["quantity"],
            )
            for row in expiring
        ],
        pick_tasks={
            state: tasks.get(state, 0) for state in ("unassigned", "assigned", "at the bin")
        },
        scan_exceptions=waiting["scan_exceptions"],
        counts_to_approve=waiting["to_approve"],
        recounts_waiting=waiting["recounts"],
        return_alerts=waiting["return_alerts"],
        warehouses=list(codes),
    )


@dataclass(frozen=True)
class ProductHit:
    id: int
    sku: str
    name: str
    gtins: list[str]


@dataclass(frozen=True)
class OrderHit:
    id: int
    external_id: str
    warehouse: str
    status: str
    ship_date: date
    lots: list[tuple[int, str]]
    """(id, code) of the lots its pick tasks took."""


@dataclass(frozen=True)
class PlaceHit:
    warehouse: str
    code: str
    kind: str
    lots: list[tuple[int, str, int]]
    """(id, code, quantity) of the lots in it."""


@dataclass
class Found:
    lots: list[LotOut] = field(default_factory=list)
    products: list[ProductHit] = field(default_factory=list)
    orders: list[OrderHit] = field(default_factory=list)
    locations: list[PlaceHit] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.lots or self.products or self.orders or self.locations)


_LOT_MATCH = (
    _LOTS
    + """
 WHERE l.code = $1 OR l.supplier_lot_code = $1
    OR l.id IN (SELECT lot_id FROM serial WHERE serial = $1)
    OR (l.code = $3 AND l.product_id IN (SELECT product_id FROM product_gtin WHERE gtin = $2))
 ORDER BY l.expiry_date NULLS LAST, l.id LIMIT $4"""
)

_PRODUCT_MATCH = """
SELECT p.id, p.sku, p.name,
       coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtin g
                  WHERE g.product_id = p.id), '{}') AS gtins
  FROM product p
 WHERE p.sku = $1 OR p.id IN (SELECT product_id FROM product_gtin WHERE gtin = $2)
 ORDER BY p.sku LIMIT $3"""

_ORDER_MATCH = """
SELECT o.id, o.external_id, w.code AS warehouse, o.status, o.ship_date,
       coalesce((SELECT array_agg(DISTINCT l.id::text || ' ' || l.code)
                   FROM pick_task t JOIN lot l ON l.id = t.lot_id
                  WHERE t.order_id = o.id), '{}') AS lots
  FROM sales_order o JOIN warehouse w ON w.id = o.warehouse_id
 WHERE o.external_id = $1 ORDER BY o.id LIMIT $2"""

_PLACE_MATCH = """
SELECT w.code AS warehouse, loc.code, loc.kind,
       coalesce((SELECT array_agg(l.id::text || ' ' || b.quantity::text || ' ' || l.code
                                  ORDER BY l.code)
                   FROM stock_balance b JOIN lot l ON l.id = b.lot_id
                  WHERE b.location_id = loc.id AND b.quantity > 0), '{}') AS lots
  FROM location loc JOIN warehouse w ON w.id = loc.warehouse_id
 WHERE loc.code = upper($1) OR loc.barcode = $1 OR w.code || '/' || loc.code = upper($1)
 ORDER BY w.code, loc.code LIMIT $2"""


def _gtin_and_lot(query: str) -> tuple[str | None, str | None]:
    """The GTIN and lot a query names: a GS1 barcode's text, or `<GTIN> <lot>` typed."""
    parsed = parse_barcode(query)
    if parsed.valid and parsed.gtin is not None:
        return parsed.gtin, parsed.lot
    words = query.split()
    if len(words) == 2 and words[0].isdigit() and len(words[0]) in (8, 12, 13, 14):
        return words[0].zfill(14), words[1]
    if query.isdigit() and len(query) in (8, 12, 13, 14):
        return query.zfill(14), None
    return None, None


async def search(conn: asyncpg.Connection, query: str) -> Found:
    """Lots, products, orders and locations `query` names: SKU, GTIN, lot code, supplier lot
    code, serial, order external id, location code or barcode, or a GS1 barcode's text."""
    gtin, lot_code = _gtin_and_lot(query)
    lots = await conn.fetch(_LOT_MATCH, query, gtin, lot_code, SEARCH_LIMIT)
    products = await conn.fetch(_PRODUCT_MATCH, query, gtin, SEARCH_LIMIT)
    orders = await conn.fetch(_ORDER_MATCH, query, SEARCH_LIMIT)
    places = await conn.fetch(_PLACE_MATCH, query, SEARCH_LIMIT)
    return Found(
        lots=[lot_out(row) for row in lots],
        products=[
            ProductHit(id=row["id"], sku=row["sku"], name=row["name"], gtins=list(row["gtins"]))
            for row in products
        ],
        orders=[
            OrderHit(
                id=row["id"],
                external_id=row["external_id"],
                warehouse=row["warehouse"],
                status=row["status"],
                ship_date=row["ship_date"],
                lots=[(int(i), code) for i, code in (item.split(" ", 1) for item in row["lots"])],
            )
            for row in orders
        ],
        locations=[
            PlaceHit(
                warehouse=row["warehouse"],
                code=row["code"],
                kind=row["kind"],
                lots=[
                    (int(i), code, int(n))
                    for i, n, code in (item.split(" ", 2) for item in row["lots"])
                ],
            )
            for row in places
        ],
    )


async def lot_on_hand(conn: asyncpg.Connection, lot_id: int) -> list[OnHand]:
    text = await conn.fetchval(f"SELECT {on_hand_json('l')} FROM lot l WHERE l.id = $1", lot_id)
    return msgspec.json.decode(text or "[]", type=list[OnHand])


@dataclass(frozen=True)
class TimelineEntry:
    """One movement or one scan of a lot."""

    source: str
    """movement or scan"""
    id: int
    at: datetime
    kind: str
    """The movement's kind, or the scan's context."""
    quantity: int | None
    place: str | None
    """Movements: from → to; scans: the bin scanned."""
    outcome: str | None
    """Movements: reason and reference; scans: the verdict's code and message."""
    user: str | None


_TIMELINE = """
SELECT * FROM (
  SELECT 'movement' AS source, m.id, m.created_at AS at, m.kind, m.quantity,
         concat_ws(' → ', coalesce(fw.code || '/' || f.code, '—'),
                   coalesce(tw.code || '/' || t.code, '—')) AS place,
         nullif(concat_ws(' · ', m.reason, m.reference), '') AS outcome, u.username
    FROM movement m
    LEFT JOIN location f ON f.id = m.from_location_id
    LEFT JOIN warehouse fw ON fw.id = f.warehouse_id
    LEFT JOIN location t ON t.id = m.to_location_id
    LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
    LEFT JOIN app_user u ON u.id = m.user_id
   WHERE m.lot_id = $1
  UNION ALL
  SELECT 'scan', s.id, s.scanned_at, s.context, s.quantity, sw.code || '/' || sl.code,
         s.verdict || ': ' || s.code || ' — ' || s.message, u.username
    FROM scan s
    LEFT JOIN location sl ON sl.id = s.location_id
    LEFT JOIN warehouse sw ON sw.id = sl.warehouse_id
    LEFT JOIN app_user u ON u.id = s.user_id
   WHERE s.lot_id = $1
) entries
ORDER BY at DESC, source, id DESC
LIMIT $2 OFFSET $3"""


async def lot_timeline(
    conn: asyncpg.Connection, lot_id: int, page: int
) -> tuple[list[TimelineEntry], bool]:
    """One page (from 1) of the lot's movements and scans, newest first, and whether more
    pages follow."""
    rows = await conn.fetch(_TIMELINE, lot_id, TIMELINE_PAGE + 1, (page - 1) * TIMELINE_PAGE)
    entries = [
        TimelineEntry(
            source=row["source"],
            id=row["id"],
            at=row["at"],
            kind=row["kind"],
            quantity=row["quantity"],
            place=row["place"],
            outcome=row["outcome"],
            user=row["username"],
        )
        for row in rows[:TIMELINE_PAGE]
    ]
    return entries, len(rows) > TIMELINE_PAGE


async def product_page(
    conn: asyncpg.Connection, product_id: int
) -> tuple[ProductHit, list[LotOut]] | None:
    """A product and its lots, soonest expiry first; None when there is no such product."""
    row = await conn.fetchrow(
        """SELECT p.id, p.sku, p.name,
                  coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtin g
                             WHERE g.product_id = p.id), '{}') AS gtins
             FROM product p WHERE p.id = $1""",
        product_id,
    )
    if row is None:
        return None
    lots = await conn.fetch(
        _LOTS + " WHERE l.product_id = $1 ORDER BY l.expiry_date NULLS LAST, l.id LIMIT 500",
        product_id,
    )
    product = ProductHit(id=row["id"], sku=row["sku"], name=row["name"], gtins=list(row["gtins"]))
    return product, [lot_out(lot) for lot in lots]
