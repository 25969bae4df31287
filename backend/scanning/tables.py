"""Piccolo table of recorded scans (schema in backend/db/migrations/0002_scanning.sql)."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    BigInt,
    BigSerial,
    Bytea,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from backend.auth.tables import Device, User
from backend.catalog.tables import Location, Product
from backend.lots.tables import Lot, Serial

__all__ = ["Scan"]


class Scan(Table, tablename="scan"):
    id = BigSerial(primary_key=True)
    idempotency_key = UUID()
    request_hash = Bytea()
    user = ForeignKey(User, db_column_name="user_id")
    device_key = Text()
    device = ForeignKey(Device, db_column_name="device_id", null=True)
    context = Text()
    raw_value = Text(db_column_name="raw")  # `raw` would hide Table.raw()
    symbology = Text(null=True, default=None)
    parsed = JSONB()
    verdict = Text()
    code = Text()
    message = Text()
    feedback = Text()
    product = ForeignKey(Product, db_column_name="product_id", null=True)
    lot = ForeignKey(Lot, db_column_name="lot_id", null=True)
    serial = Text(null=True, default=None)
    serial_record = ForeignKey(Serial, db_column_name="serial_id", null=True)
    location = ForeignKey(Location, db_column_name="location_id", null=True)
    task_id = BigInt(null=True, default=None)
    quantity = Integer(null=True, default=None)
    response = JSON()
    scanned_at = Timestamptz()
    recorded_at = Timestamptz()
