"""Piccolo table of scan exceptions (schema in backend/db/migrations/0008_offline.sql)."""

from __future__ import annotations

from piccolo.columns import BigSerial, ForeignKey, Text, Timestamptz
from piccolo.table import Table

from backend.auth.tables import User
from backend.catalog.tables import Warehouse
from backend.scanning.tables import Scan

__all__ = ["ScanException"]


class ScanException(Table, tablename="scan_exception"):
    id = BigSerial(primary_key=True)
    scan = ForeignKey(Scan, db_column_name="scan_id")
    user = ForeignKey(User, db_column_name="user_id")
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id", null=True)
    status = Text(default="open")
    resolution = Text(null=True, default=None)
    note = Text(null=True, default=None)
    resolved_by = ForeignKey(User, db_column_name="resolved_by", null=True)
    resolved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
