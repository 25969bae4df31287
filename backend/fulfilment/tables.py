"""Piccolo tables of fulfilment (schema in backend/db/migrations/0003_fulfilment.sql)."""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from backend.auth.tables import User
from backend.catalog.tables import Location, Product, Warehouse
from backend.lots.tables import Lot

__all__ = [
    "Channel",
    "Customer",
    "LotBarredCountry",
    "OrderLine",
    "PickTask",
    "SalesOrder",
    "Wave",
]


class Channel(Table, tablename="channel"):
    id = BigSerial(primary_key=True)
    code = Text(unique=True)
    name = Text()
    kind = Text()
    min_shelf_life_days = Integer(default=0)
    allow_split = Boolean(default=True)
    created_at = Timestamptz()


class Customer(Table, tablename="customer"):
    id = BigSerial(primary_key=True)
    channel = ForeignKey(Channel, db_column_name="channel_id")
    customer_ref = Text(db_column_name="ref")  # `ref` would hide Table.ref()
    name = Text()
    email = Text(null=True, default=None)
    country = Text(null=True, default=None)
    min_shelf_life_days = Integer(null=True, default=None)
    allow_split = Boolean(null=True, default=None)
    created_at = Timestamptz()


class LotBarredCountry(Table, tablename="lot_barred_country"):
    id = BigSerial(primary_key=True)
    lot = ForeignKey(Lot, db_column_name="lot_id")
    country = Text()
    reason = Text()
    created_by = ForeignKey(User, db_column_name="created_by", null=True)
    created_at = Timestamptz()


class Wave(Table, tablename="wave"):
    id = BigSerial(primary_key=True)
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id")
    created_by = ForeignKey(User, db_column_name="created_by", null=True)
    created_at = Timestamptz()


class SalesOrder(Table, tablename="sales_order"):
    id = BigSerial(primary_key=True)
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id")
    channel = ForeignKey(Channel, db_column_name="channel_id")
    external_id = Text()
    customer = ForeignKey(Customer, db_column_name="customer_id")
    country = Text(null=True, default=None)
    ship_date = Date()
    status = Text(default="open")
    wave = ForeignKey(Wave, db_column_name="wave_id", null=True)
    pack_station = ForeignKey(Location, db_column_name="pack_station_id", null=True)
    picker = ForeignKey(User, db_column_name="picker_id", null=True)
    created_by = ForeignKey(User, db_column_name="created_by", null=True)
    created_at = Timestamptz()
    shipped_at = Timestamptz(null=True, default=None)


class OrderLine(Table, tablename="order_line"):
    id = BigSerial(primary_key=True)
    order = ForeignKey(SalesOrder, db_column_name="order_id")
    line_no = Integer()
    product = ForeignKey(Product, db_column_name="product_id")
    quantity = BigInt()
    unallocated = BigInt(default=0)
    short_reason = Text(null=True, default=None)


class PickTask(Table, tablename="pick_task"):
    """The wave's ids are plain columns, not foreign keys: see the migration for why."""

    id = BigSerial(primary_key=True)
    wave_id = BigInt()
    order_id = BigInt()
    order_line_id = BigInt()
    lot_id = BigInt()
    location_id = BigInt()
    walk_sequence = Integer()
    quantity = BigInt()
    picked = BigInt(default=0)
    short = BigInt(default=0)
    packed = BigInt(default=0)
    shipped = BigInt(default=0)
    status = Text(default="open")
    assignee_id = BigInt(null=True, default=None)
    tote = ForeignKey(Location, db_column_name="tote_id", null=True)
    bin_confirmed_at = Timestamptz(null=True, default=None)
    short_reason = Text(null=True, default=None)
    substituted_from = BigInt(null=True, default=None)
    updated_at = Timestamptz()
