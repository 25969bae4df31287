"""Piccolo tables of holds (schema in backend/db/migrations/0005_holds_live.sql)."""

from __future__ import annotations

from piccolo.columns import JSONB, BigSerial, ForeignKey, Text, Timestamptz
from piccolo.table import Table

from backend.auth.tables import User
from backend.lots.tables import Lot

__all__ = ["Hold", "HoldLot"]


class Hold(Table, tablename="hold"):
    id = BigSerial(primary_key=True)
    kind = Text()
    reason = Text()
    selector = JSONB()
    placed_by = ForeignKey(User, db_column_name="placed_by")
    placed_at = Timestamptz()
    released_by = ForeignKey(User, db_column_name="released_by", null=True)
    released_at = Timestamptz(null=True, default=None)
    release_reason = Text(null=True, default=None)


class HoldLot(Table, tablename="hold_lot"):
    id = BigSerial(primary_key=True)
    hold = ForeignKey(Hold, db_column_name="hold_id")
    lot = ForeignKey(Lot, db_column_name="lot_id")
    status_before = Text()
