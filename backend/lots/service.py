"""Lot search and the lot card: status, dates, stock by location and history."""

from __future__ import annotations

from datetime import date

import asyncpg

from backend.db.filters import where
from backend.errors import DomainError
from backend.ledger.service import movements_for_lot
from backend.lots.schemas import LotDetail, LotOut, OnHand

__all__ = ["get_lot", "lot_by_id", "lot_card_select", "lot_out", "search_lots"]


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


async def get_lot(conn: asyncpg.Connection, lot_id: int) -> LotDetail:
    """The lot card: the lot, its stock by location (with serials) and its movements."""
    lot = await lot_by_id(conn, lot_id)
    rows = await conn.fetch(
        """SELECT b.location_id, w.code || '/' || loc.code AS location, w.code AS warehouse,
                  loc.kind, b.quantity, b.allocated,
                  coalesce((SELECT array_agg(s.serial ORDER BY s.serial) FROM serial s
                             WHERE s.lot_id = b.lot_id AND s.location_id = b.location_id),
                           '{}') AS serials
             FROM stock_balance b
             JOIN location loc ON loc.id = b.location_id
             JOIN warehouse w ON w.id = loc.warehouse_id
            WHERE b.lot_id = $1 AND b.quantity > 0
            ORDER BY w.code, loc.walk_sequence, loc.code""",
        lot_id,
    )
    on_hand = [
        OnHand(
            location=row["location"],
            location_id=row["location_id"],
            warehouse=row["warehouse"],
            kind=row["kind"],
            quantity=row["quantity"],
            allocated=row["allocated"],
            serials=list(row["serials"]),
        )
        for row in rows
    ]
    history = await movements_for_lot(conn, lot_id)
    return LotDetail(
        **{name: getattr(lot, name) for name in lot.__struct_fields__},
        on_hand=on_hand,
        history=history,
    )
