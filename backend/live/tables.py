"""Piccolo tables of the live channel (schema in backend/db/migrations/0005_holds_live.sql
and 0009_live_tickets.sql)."""

from __future__ import annotations

from piccolo.columns import JSONB, BigInt, BigSerial, Bytea, ForeignKey, Text, Timestamptz
from piccolo.table import Table

from backend.auth.tables import User
from backend.catalog.tables import Warehouse

__all__ = ["LiveAck", "LiveMessage", "LiveSequence", "LiveTicket"]


class LiveSequence(Table, tablename="live_sequence"):
    warehouse_id = BigInt(primary_key=True)
    last_seq = BigInt()


class LiveMessage(Table, tablename="live_message"):
    id = BigSerial(primary_key=True)
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id")
    seq = BigInt()
    type = Text()
    data = JSONB()
    at = Timestamptz()


class LiveAck(Table, tablename="live_ack"):
    id = BigSerial(primary_key=True)
    device_key = Text()
    warehouse = ForeignKey(Warehouse, db_column_name="warehouse_id")
    user = ForeignKey(User, db_column_name="user_id")
    seq = BigInt()
    acked_at = Timestamptz()


class LiveTicket(Table, tablename="live_ticket"):
    ticket_hash = Bytea(primary_key=True)
    user = ForeignKey(User, db_column_name="user_id")
    expires_at = Timestamptz()
