"""Piccolo tables of the catalogue (schema in backend/db/migrations)."""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

__all__ = ["Location", "Product", "ProductGtin", "Supplier", "Warehouse"]


class Warehouse(Table, tablename="warehouse"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    name = Text()
    timezone = Text(default="UTC")
    created_at = Timestamptz()
    allow_lot_substitution = Boolean(default=True)


class Location(Table, tablename="location"):
    id = BigSerial(primary_key=True)
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id")
    code = Text()
    barcode = Text(unique=True)
    kind = Text()
    zone = Text(null=True, default=None)
    walk_sequence = Integer(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Supplier(Table, tablename="supplier"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    name = Text()
    gln = Text(null=True, default=None)
    created_at = Timestamptz()


class Product(Table, tablename="product"):
    id = BigSerial(primary_key=True)
    sku = Text(unique=True)
    name = Text()
    category = Text(null=True, default=None)
    tracking = Text()
    shelf_life_days = Integer(null=True, default=None)
    lot_code_template = Text(null=True, default=None)
    lot_sequence = BigInt(default=0)
    unit = Text(default="unit")
    created_at = Timestamptz()


class ProductGtin(Table, tablename="product_gtin"):
    gtin = Text(primary_key=True)
    product = ForeignKey(Product, db_column_name="product_id")
