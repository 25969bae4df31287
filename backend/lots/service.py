"""Lot search and the lot card: status, dates, stock by location and history."""

from __future__ import annotations

from datetime import date

import asyncpg
import msgspec

from backend.db.filters import where
from backend.errors import DomainError
from backend.ledger.schemas import MovementOut
from backend.ledger.service import movements_json
from backend.lots.schemas import LotDetail, LotOut, OnHand

__all__ = [
    "HISTORY_ON_CARD",
    "get_lot",
    "lot_by_id",
    "lot_card_select",
    "lot_out",
    "on_hand_json",
    "search_lots",
]

HISTORY_ON_CARD = 500
"""Movements a lot card lists, newest first."""


def lot_card_select(lots: str = "lot", on_hand_extra: str = "0") -> str:
    """SELECT of lot cards from `lots` (the lot table, or a CTE of lot rows written in the
    same statement, whose new stock `on_hand_extra` adds since the statement cannot see it)."""
    return f"""
    SELECT l.id, l.product_id, p.sku, p.name AS product_name, l.code, s.code AS supplier,
           l.supplier_lot_code, l.production_date, l.expiry_date, l.best_before_date,
           l.status, l.status_reason, su.username AS status_by, l.status_at, l.received_at,
           l.expiry_date < current_date AS expired, l.expiry_date - current_date AS days_to_expiry,
           (coalesce((SELECT sum(b.quantity) FROM stock_balance b
                        JOIN location bl ON bl.id = b.location_id
                       WHERE b.lot_id = l.id AND bl.kind <> 'customer'), 0)
            + {on_hand_extra})::bigint AS on_hand_total
      FROM {lots} l
      JOIN product p ON p.id = l.product_id
      LEFT JOIN supplier s ON s.id = l.supplier_id
      LEFT JOIN app_user su ON su.id = l.status_by
"""


_LOT_SELECT = lot_card_select()


def lot_out(row: asyncpg.Record) -> LotOut:
    return LotOut(
        id=row["id"],
        product_id=row["product_id"],
        sku=row["sku"],
        product_name=row["product_name"],
        code=row["code"],
        supplier=row["supplier"],
        supplier_lot_code=row["supplier_lot_code"],
        production_date=row["production_date"],
        expiry=row["expiry_date"],
        best_before=row["best_before_date"],
        status=row["status"],
        status_reason=row["status_reason"],
        status_by=row["status_by"],
        status_at=row["status_at"],
        expired=bool(row["expired"]),
        days_to_expiry=row["days_to_expiry"],
        received_at=row["received_at"],
        on_hand_total=row["on_hand_total"],
    )


async def lot_by_id(conn: asyncpg.Connection, lot_id: int) -> LotOut:
    row = await conn.fetchrow(_LOT_SELECT + " WHERE l.id = $1", lot_id)
    if row is None:
        raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
    return lot_out(row)


async def search_lots(
    conn: asyncpg.Connection,
    *,
    sku: str | None = None,
    code: str | None = None,
    status: str | None = None,
    expiring_before: date | None = None,
    supplier_lot_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LotOut]:
    clause, values = where(
        {
            "p.sku = {}": sku,
            "l.code = {}": code,
            "l.status = {}": status,
            "l.expiry_date < {}": expiring_before,
            "l.supplier_lot_code = {}": supplier_lot_code,
        }
    )
    n = len(values)
    page = f" ORDER BY l.expiry_date NULLS LAST, l.id LIMIT ${n + 1} OFFSET ${n + 2}"
    rows = await conn.fetch(_LOT_SELECT + clause + page, *values, limit, offset)
    return [lot_out(row) for row in rows]


def on_hand_json(lot: str) -> str:
    """SQL: the stock of the lot row `lot` (an alias with `id`) by location, with serials,
    as a JSON array of `OnHand` (text), for one-query lot cards."""
    return f"""(SELECT coalesce(json_agg(json_build_object(
            'location', w.code || '/' || loc.code, 'locationId', b.location_id,
            'warehouse', w.code, 'kind', loc.kind, 'quantity', b.quantity,
            'allocated', b.allocated,
            'serials', coalesce((SELECT array_agg(s.serial ORDER BY s.serial) FROM serial s
                                  WHERE s.lot_id = b.lot_id AND s.location_id = b.location_id),
                                '{{}}'))
          ORDER BY w.code, loc.walk_sequence, loc.code), '[]')
      FROM stock_balance b
      JOIN location loc ON loc.id = b.location_id
      JOIN warehouse w ON w.id = loc.warehouse_id
     WHERE b.lot_id = {lot}.id AND b.quantity > 0)::text"""


_LOT_DETAIL = f"""
SELECT card.*, {on_hand_json("card")} AS on_hand,
       {movements_json("card", HISTORY_ON_CARD)} AS history
  FROM ({_LOT_SELECT} WHERE l.id = $1) card"""


async def get_lot(conn: asyncpg.Connection, lot_id: int) -> LotDetail:
    """The lot card: the lot, its stock by location (with serials) and its movements."""
    row = await conn.fetchrow(_LOT_DETAIL, lot_id)
    if row is None:
        raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
    lot = lot_out(row)
    return LotDetail(
        **{name: getattr(lot, name) for name in LotOut.__struct_fields__},
        on_hand=msgspec.json.decode(row["on_hand"], type=list[OnHand]),
        history=msgspec.json.decode(row["history"], type=list[MovementOut]),
    )
