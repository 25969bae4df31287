"""Wire shapes of lots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec

from backend.ledger.schemas import MovementOut

__all__ = ["LotDetail", "LotOut", "LotStatus", "OnHand"]

LotStatus = Literal["released", "hold", "quarantine", "recalled"]


class LotOut(msgspec.Struct, rename="camel", kw_only=True):
    id: int
    product_id: int
    sku: str
    product_name: str
    code: str
    supplier: str | None
    supplier_lot_code: str | None
    production_date: date | None
    expiry: date | None
    best_before: date | None
    status: str
    status_reason: str | None
    status_by: str | None
    status_at: datetime
    expired: bool
    days_to_expiry: int | None
    received_at: datetime
    on_hand_total: int


class OnHand(msgspec.Struct, rename="camel", kw_only=True):
    location: str
    location_id: int
    warehouse: str
    kind: str
    quantity: int
    allocated: int
    serials: list[str]


class LotDetail(LotOut, kw_only=True):
    on_hand: list[OnHand]
    history: list[MovementOut]
