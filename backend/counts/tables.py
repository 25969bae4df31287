"""Piccolo tables of cycle counts (schema in backend/db/migrations/0007_counts.sql)."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from backend.auth.tables import User
from backend.catalog.tables import Location, Warehouse
from backend.lots.tables import Lot

__all__ = ["CountLine", "CountSnapshot", "CountTask", "CycleCount"]


class CycleCount(Table, tablename="cycle_count"):
    id = BigSerial(primary_key=True)
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id")
    scope = JSONB()
    blind = Boolean(default=True)
    note = Text(null=True, default=None)
    created_by = ForeignKey(User, db_column_name="created_by")
    created_at = Timestamptz()


class CountTask(Table, tablename="count_task"):
    id = BigSerial(primary_key=True)
    cycle_count = ForeignKey(CycleCount, db_column_name="count_id")
    location = ForeignKey(Location, db_column_name="location_id")
    status = Text(default="open")
    recount_of = BigInt(null=True, default=None)
    assignee = ForeignKey(User, db_column_name="assignee_id", null=True)
    counted_by = ForeignKey(User, db_column_name="counted_by", null=True)
    started_at = Timestamptz(null=True, default=None)
    start_movement_id = BigInt(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, db_column_name="decided_by", null=True)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(null=True, default=None)
    created_at = Timestamptz()


class CountSnapshot(Table, tablename="count_snapshot"):
    id = BigSerial(primary_key=True)
    task = ForeignKey(CountTask, db_column_name="task_id")
    lot = ForeignKey(Lot, db_column_name="lot_id")
    quantity = BigInt()


class CountLine(Table, tablename="count_line"):
    id = BigSerial(primary_key=True)
    task = ForeignKey(CountTask, db_column_name="task_id")
    lot = ForeignKey(Lot, db_column_name="lot_id")
    counted = BigInt()
    expected = BigInt()
    movement_id = BigInt()
    serials = Array(Text())
    unexpected = Boolean(default=False)
    scanned = Boolean(default=True)
    adjustment_id = BigInt(null=True, default=None)
    counted_at = Timestamptz()
