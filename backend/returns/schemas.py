"""Wire shapes of returns: finding the order, the return with its lines and items, alerts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "CloseIn",
    "DismissIn",
    "FindIn",
    "OrderLot",
    "OrderShipped",
    "ReturnAlertOut",
    "ReturnIn",
    "ReturnItemOut",
    "ReturnLine",
    "ReturnOrder",
    "ReturnOut",
    "ReturnStatus",
]

Id = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
ReturnStatus = Literal["open", "closed"]


class FindIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A shipping label or packing slip, scanned or typed."""

    raw: Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")]
    symbology: Annotated[str, msgspec.Meta(pattern=r"^\][A-Za-z][0-9A-Za-z]$")] | None = None


class ReturnIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Open a return of a shipped order."""

    order_id: Id
    idempotency_key: uuid.UUID | None = None
    """Retries with the same key answer the first result."""
    note: Note | None = None


class CloseIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    idempotency_key: uuid.UUID | None = None


class DismissIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    note: Note | None = None
    """Why the supervisor needs no hold (the suggested hold was placed, or the returns were
    not about the lot)."""


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class OrderLot(_Out):
    lot_id: int
    lot_code: str
    shipped: int
    returned: int


class OrderShipped(_Out):
    """What an order line shipped, by lot: the preview before a return is opened."""

    line_id: int
    line_no: int
    sku: str
    product_name: str
    quantity: int
    shipped: int
    returned: int
    lots: list[OrderLot]


class ReturnOrder(_Out):
    """The order a return is of."""

    id: int
    external_id: str
    channel: str
    warehouse: str
    customer_name: str
    customer_ref: str
    status: str
    shipped_at: datetime | None
    open_return_id: int | None = None
    """The order's open return, when it has one (opening another answers it)."""
    lines: list[OrderShipped] | None = None
    """At find and search: what each line shipped, by lot."""


class ReturnLine(_Out):
    """One order line's shipment of one lot, and what of it came back."""

    line_id: int
    line_no: int
    sku: str
    product_name: str
    tracking: str
    lot_id: int
    lot_code: str
    lot_status: str
    expiry: date | None
    shipped: int
    returned: int
    serials: list[str] = []
    """Serials shipped (serial-tracked products)."""
    returned_serials: list[str] = []


class ReturnItemOut(_Out):
    """A unit scanned into the return: applied (moved in the ledger) or flagged (refused,
    kept for a supervisor, nothing moved)."""

    id: int
    sku: str
    lot_id: int | None
    lot_code: str | None
    serial: str | None
    quantity: int
    reason: str | None
    disposition: str | None
    """What the clerk chose."""
    destination: str | None
    """Where the units went, WAREHOUSE/CODE (null when flagged)."""
    destination_kind: str | None
    forced: bool
    """The lot was held or expired, so the units went to quarantine whatever was chosen."""
    flagged: bool
    flag_code: str | None
    message: str
    movement_id: int | None
    by: str
    at: datetime


class ReturnOut(_Out):
    """A return of an order, with what shipped per line and lot and every item scanned."""

    id: int
    order: ReturnOrder
    status: ReturnStatus
    note: str | None
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    lines: list[ReturnLine]
    items: list[ReturnItemOut]
    flagged: int
    """Items flagged for a supervisor."""


class ReturnAlertOut(_Out):
    """A lot whose return rate passed the threshold, with a hold ready to place."""

    id: int
    lot_id: int
    lot_code: str
    sku: str
    lot_status: str
    returned: int
    shipped: int
    rate: float
    threshold: float
    return_id: int
    created_at: datetime
    dismissed_by: str | None
    dismissed_at: datetime | None
    dismiss_note: str | None
    suggested_hold: dict[str, Any]
    """A body ready for POST /api/holds."""
