"""The Piccolo app that owns lotline's tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.auth.tables import AuthToken, Device, Role, User, UserRole
from backend.catalog.tables import Location, Product, ProductGtin, Supplier, Warehouse
from backend.counts.tables import CountLine, CountSnapshot, CountTask, CycleCount
from backend.fulfilment.tables import (
    Channel,
    Customer,
    LotBarredCountry,
    OrderLine,
    PickTask,
    SalesOrder,
    Wave,
)
from backend.holds.tables import Hold, HoldLot
from backend.ledger.tables import IdempotencyKey, Movement, MovementSerial, StockBalance
from backend.live.tables import LiveAck, LiveMessage, LiveSequence, LiveTicket
from backend.lots.tables import Lot, Serial
from backend.offline.tables import ScanException
from backend.returns.tables import CustomerReturn, ReturnAlert, ReturnItem
from backend.scanning.tables import Scan

__all__ = ["APP_CONFIG", "TABLES"]

TABLES = [
    Warehouse,
    Location,
    Supplier,
    Product,
    ProductGtin,
    User,
    Role,
    UserRole,
    Device,
    AuthToken,
    Lot,
    Serial,
    Movement,
    MovementSerial,
    StockBalance,
    IdempotencyKey,
    Scan,
    Channel,
    Customer,
    LotBarredCountry,
    Wave,
    SalesOrder,
    OrderLine,
    PickTask,
    Hold,
    HoldLot,
    LiveSequence,
    LiveMessage,
    LiveAck,
    LiveTicket,
    CustomerReturn,
    ReturnItem,
    ReturnAlert,
    CycleCount,
    CountTask,
    CountSnapshot,
    CountLine,
    ScanException,
]

APP_CONFIG = AppConfig(
    app_name="lotline",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=TABLES,
)
