"""Piccolo table of recorded scans (schema in backend/db/migrations/0002_scanning.sql).

The ids a scan resolved to are plain columns, not foreign keys: see the migration for why.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    JSONB,
    UUID,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

__all__ = ["Scan"]


class Scan(Table, tablename="scan"):
    id = BigSerial(primary_key=True)
    idempotency_key = UUID()
    request_hash = Bytea()
    user_id = BigInt()
    device_key = Text()
    device_id = BigInt(null=True, default=None)
    context = Text()
    raw_value = Text(db_column_name="raw")  # `raw` would hide Table.raw()
    symbology = Text(null=True, default=None)
    parsed = JSONB()
    verdict = Text()
    code = Text()
    message = Text()
    feedback = Text()
    product_id = BigInt(null=True, default=None)
    lot_id = BigInt(null=True, default=None)
    serial = Text(null=True, default=None)
    serial_id = BigInt(null=True, default=None)
    location_id = BigInt(null=True, default=None)
    task_id = BigInt(null=True, default=None)
    order_id = BigInt(null=True, default=None)
    return_id = BigInt(null=True, default=None)
    count_id = BigInt(null=True, default=None)
    quantity = Integer(null=True, default=None)
    response = JSON()
    scanned_at = Timestamptz()
    recorded_at = Timestamptz()
    offline = Boolean(default=False)
    queued_at = Timestamptz(null=True, default=None)
