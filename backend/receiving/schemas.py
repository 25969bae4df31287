"""Wire shape of a receipt."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import msgspec

from backend.ledger.schemas import MovementOut, Quantity, SerialList
from backend.lots.schemas import LotOut

__all__ = ["ReceiptIn", "ReceiptOut"]


class ReceiptIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Goods arriving: the first receipt of a lot code creates the lot."""

    idempotency_key: uuid.UUID
    quantity: Quantity
    location: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    gtin: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8,14}$")] | None = None
    lot_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    supplier: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")] | None = None
    supplier_lot_code: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    expiry: date | None = None
    best_before: date | None = None
    production_date: date | None = None
    serials: SerialList | None = None
    reference: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class ReceiptOut(msgspec.Struct, rename="camel", kw_only=True):
    lot: LotOut
    movement: MovementOut
    lot_created: bool
