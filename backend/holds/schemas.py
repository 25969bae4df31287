"""Wire shapes of holds, quarantines and recalls, and of what they touch."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "HoldIn",
    "HoldKind",
    "HoldLot",
    "HoldOut",
    "Impact",
    "ImpactIn",
    "InFlight",
    "OpenTask",
    "Reallocation",
    "ReleaseIn",
    "ShippedTo",
    "StockAt",
]

HoldKind = Literal["hold", "quarantine", "recall"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**53)]


class ImpactIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Which lots: by id, by product and production dates, or by supplier lot code (one)."""

    lots: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=1000)] | None = None
    sku: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] | None = None
    produced_from: date | None = None
    """With `sku`: the first production date (inclusive)."""
    produced_to: date | None = None
    """With `sku`: the last production date (inclusive)."""
    supplier_lot_code: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None


class HoldIn(ImpactIn, kw_only=True):
    kind: HoldKind
    reason: Reason
    idempotency_key: uuid.UUID | None = None
    """Retries with the same key apply once; without one, each request is a new hold."""


class ReleaseIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    reason: Reason
    idempotency_key: uuid.UUID | None = None


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class HoldLot(_Out):
    id: int
    code: str
    sku: str
    status: str
    """The lot's status now."""
    status_before: str | None = None
    """Its status before this hold (on a hold's answer)."""


class StockAt(_Out):
    lot_id: int
    lot_code: str
    location: str
    """WAREHOUSE/CODE."""
    kind: str
    quantity: int
    allocated: int


class OpenTask(_Out):
    task_id: int
    order_id: int
    order_external_id: str
    lot_code: str
    bin: str
    units: int
    """Units still to pick."""
    assignee: str | None


class InFlight(_Out):
    """Units of the lot on their way out, to pull back: picked into a tote or packed."""

    lot_id: int
    lot_code: str
    order_id: int
    order_external_id: str
    stage: Literal["picked", "packed"]
    location: str | None
    units: int


class ShippedTo(_Out):
    lot_id: int
    lot_code: str
    order_id: int
    order_external_id: str
    channel: str
    customer_ref: str
    customer: str
    email: str | None
    country: str | None
    units: int
    shipped_at: datetime | None


class Impact(_Out):
    lots: list[HoldLot]
    on_hand: list[StockAt]
    open_tasks: list[OpenTask]
    in_flight: list[InFlight]
    shipped: list[ShippedTo]
    units_on_hand: int
    units_shipped: int
    customers: int


class Reallocation(_Out):
    """What a hold did to an open pick task: moved it to another lot, or made it short."""

    task_id: int
    new_task_id: int | None
    order_id: int
    old_lot: str
    new_lot: str | None
    bin: str | None
    units: int
    short: bool


class HoldOut(_Out):
    id: int
    kind: HoldKind
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    lots: list[HoldLot]
    impact: Impact | None = None
    """What the hold touched when it was placed."""
    reallocated: list[Reallocation] = []
