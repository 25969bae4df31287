"""Piccolo tables of returns (schema in backend/db/migrations/0006_returns.sql)."""

from __future__ import annotations

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from backend.auth.tables import User
from backend.catalog.tables import Location, Product
from backend.fulfilment.tables import OrderLine, SalesOrder
from backend.ledger.tables import Movement
from backend.lots.tables import Lot

__all__ = ["CustomerReturn", "ReturnAlert", "ReturnItem"]


class CustomerReturn(Table, tablename="customer_return"):
    id = BigSerial(primary_key=True)
    order = ForeignKey(SalesOrder, db_column_name="order_id")
    status = Text(default="open")
    note = Text(null=True, default=None)
    opened_by = ForeignKey(User, db_column_name="opened_by")
    opened_at = Timestamptz()
    closed_by = ForeignKey(User, db_column_name="closed_by", null=True)
    closed_at = Timestamptz(null=True, default=None)


class ReturnItem(Table, tablename="return_item"):
    id = BigSerial(primary_key=True)
    customer_return = ForeignKey(CustomerReturn, db_column_name="return_id")
    product = ForeignKey(Product, db_column_name="product_id")
    lot = ForeignKey(Lot, db_column_name="lot_id", null=True)
    serial = Text(null=True, default=None)
    quantity = BigInt()
    reason = Text(null=True, default=None)
    disposition = Text(null=True, default=None)
    order_line = ForeignKey(OrderLine, db_column_name="order_line_id", null=True)
    movement = ForeignKey(Movement, db_column_name="movement_id", null=True)
    destination = ForeignKey(Location, db_column_name="destination_id", null=True)
    forced = Boolean(default=False)
    flag = Text(null=True, default=None)
    message = Text()
    user = ForeignKey(User, db_column_name="user_id")
    created_at = Timestamptz()


class ReturnAlert(Table, tablename="return_alert"):
    id = BigSerial(primary_key=True)
    lot = ForeignKey(Lot, db_column_name="lot_id")
    customer_return = ForeignKey(CustomerReturn, db_column_name="return_id")
    returned = BigInt()
    shipped = BigInt()
    threshold = DoublePrecision()
    created_at = Timestamptz()
    dismissed_by = ForeignKey(User, db_column_name="dismissed_by", null=True)
    dismissed_at = Timestamptz(null=True, default=None)
    dismiss_note = Text(null=True, default=None)
