"""Piccolo tables of the ledger and balances (schema in backend/db/migrations)."""

from __future__ import annotations

from piccolo.columns import (
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
from backend.catalog.tables import Location
from backend.lots.tables import Lot, Serial

__all__ = ["IdempotencyKey", "Movement", "MovementSerial", "StockBalance"]


class Movement(Table, tablename="movement"):
    id = BigSerial(primary_key=True)
    kind = Text()
    lot = ForeignKey(Lot, db_column_name="lot_id")
    from_location = ForeignKey(Location, db_column_name="from_location_id", null=True)
    to_location = ForeignKey(Location, db_column_name="to_location_id", null=True)
    quantity = BigInt()
    reason = Text(null=True, default=None)
    reference = Text(null=True, default=None)
    user = ForeignKey(User, db_column_name="user_id", null=True)
    device = ForeignKey(Device, db_column_name="device_id", null=True)
    idempotency_key = UUID(null=True, default=None)
    created_at = Timestamptz()
    order_line_id = BigInt(null=True, default=None)
    """The order line a pick, pack or ship served (a foreign key in the schema; a plain
    column here so the ledger's tables don't import fulfilment's)."""


class MovementSerial(Table, tablename="movement_serial"):
    id = BigSerial(primary_key=True)
    movement = ForeignKey(Movement, db_column_name="movement_id")
    serial = ForeignKey(Serial, db_column_name="serial_id")


class StockBalance(Table, tablename="stock_balance"):
    id = BigSerial(primary_key=True)
    lot = ForeignKey(Lot, db_column_name="lot_id")
    location = ForeignKey(Location, db_column_name="location_id")
    quantity = BigInt()
    allocated = BigInt(default=0)
    updated_at = Timestamptz()


class IdempotencyKey(Table, tablename="idempotency_key"):
    key = UUID(primary_key=True)
    operation = Text()
    user = ForeignKey(User, db_column_name="user_id")
    request_hash = Bytea()
    status_code = Integer()
    response = JSONB(null=True, default=None)
    movement = ForeignKey(Movement, db_column_name="movement_id", null=True)
    created_at = Timestamptz()
