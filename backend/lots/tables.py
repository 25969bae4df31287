"""Piccolo tables of lots and serials (schema in backend/db/migrations)."""

from __future__ import annotations

from piccolo.columns import BigSerial, Date, ForeignKey, Text, Timestamptz
from piccolo.table import Table

from backend.auth.tables import User
from backend.catalog.tables import Location, Product, Supplier

__all__ = ["Lot", "Serial"]


class Lot(Table, tablename="lot"):
    id = BigSerial(primary_key=True)
    product = ForeignKey(Product, db_column_name="product_id")
    code = Text()
    supplier = ForeignKey(Supplier, db_column_name="supplier_id", null=True)
    supplier_lot_code = Text(null=True, default=None)
    production_date = Date(null=True, default=None)
    expiry_date = Date(null=True, default=None)
    best_before_date = Date(null=True, default=None)
    status = Text(default="released")
    status_reason = Text(null=True, default=None)
    status_by = ForeignKey(User, db_column_name="status_by", null=True)
    status_at = Timestamptz()
    received_at = Timestamptz()
    created_at = Timestamptz()


class Serial(Table, tablename="serial"):
    id = BigSerial(primary_key=True)
    product = ForeignKey(Product, db_column_name="product_id")
    lot = ForeignKey(Lot, db_column_name="lot_id")
    serial = Text()
    location = ForeignKey(Location, db_column_name="location_id", null=True)
    created_at = Timestamptz()
