"""Wire shapes of movements, moves and adjustments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

__all__ = ["AdjustmentIn", "MoveIn", "MovementOut", "MovementResult", "Quantity", "SerialList"]

Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
"""Units in one movement: positive, and at most a million (bigger is a typo, not a pallet)."""

SerialText = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
SerialList = Annotated[list[SerialText], msgspec.Meta(max_length=10_000)]
LocationRef = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class MoveIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Move units of one lot between locations (also between warehouses); the lot is kept."""

    idempotency_key: uuid.UUID
    lot_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    from_location: LocationRef = msgspec.field(name="from")
    to_location: LocationRef = msgspec.field(name="to")
    quantity: Quantity
    serials: SerialList | None = None
    reason: Reason | None = None


class AdjustmentIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Correct the stock of a lot at a location; always with a reason."""

    idempotency_key: uuid.UUID
    lot_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    location: LocationRef
    delta: Annotated[int, msgspec.Meta(ge=-1_000_000, le=1_000_000)]
    reason: Reason
    serials: SerialList | None = None


class MovementOut(msgspec.Struct, rename="camel", kw_only=True):
    id: int
    kind: str
    lot_id: int
    lot_code: str
    sku: str
    from_location: str | None = msgspec.field(name="from")
    to_location: str | None = msgspec.field(name="to")
    quantity: int
    serials: list[str]
    reason: str | None
    reference: str | None
    user: str | None
    at: datetime


class MovementResult(msgspec.Struct, rename="camel", kw_only=True):
    movement: MovementOut
