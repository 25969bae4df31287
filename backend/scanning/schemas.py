"""Wire shapes of barcode parsing and scans."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.catalog.schemas import LocationOut
from backend.counts.schemas import CountTaskView
from backend.domain.barcodes import Parsed
from backend.fulfilment.schemas import OrderOut, PickTaskOut
from backend.ledger.schemas import MovementOut, Quantity
from backend.lots.schemas import LotOut, OnHand
from backend.returns.schemas import ReturnOut

__all__ = [
    "BarcodeIn",
    "LocationStock",
    "ScanContext",
    "ScanIn",
    "ScanLocation",
    "ScanLot",
    "ScanOut",
    "ScanProduct",
]

ScanContext = Literal["receive", "pick", "pack", "return", "count", "lookup", "quarantine"]
"""The workflow a scan belongs to; it decides which roles may send it and which checks apply."""

RawBarcode = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")]
"""A barcode's text as the scanner gave it, GS (0x1D) separators included. 4,096 characters
hold the largest QR code; NUL cannot be stored in PostgreSQL text and is never in a barcode."""

Symbology = Annotated[str, msgspec.Meta(pattern=r"^\][A-Za-z][0-9A-Za-z]$")]
"""An ISO/IEC 15424 symbology identifier such as `]d2` (GS1 DataMatrix) or `]C1` (GS1-128)."""

Separators = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=8)]], msgspec.Meta(max_length=4)
]
"""Stand-ins for GS that a scanner is configured to send instead of 0x1D, such as `|`."""


class BarcodeIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A barcode to parse, without resolving or recording it."""

    raw: RawBarcode
    symbology: Symbology | None = None
    separators: Separators | None = None


class ScanIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """One scan from a handheld, in one workflow context."""

    idempotency_key: uuid.UUID
    context: ScanContext
    raw: RawBarcode
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    """The handheld's own identifier, as it signs in with (`deviceId` of the login)."""
    scanned_at: Annotated[datetime, msgspec.Meta(tz=True)]
    """The handheld's clock when the barcode was read; the server records its own beside it."""
    symbology: Symbology | None = None
    separators: Separators | None = None
    task_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    """At `pick`: the pick task the scan confirms (its bin, then its lot)."""
    order_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    """At `pack`: the order being packed."""
    station: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    """At `pack`: the pack station (barcode, WAREHOUSE/CODE or code); default the order's
    or the warehouse's first."""
    location: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    """At `quarantine`: the bin (or tote) the held units are taken from. At `count`: the
    bin being counted, when the scan is a lot's (the bin's own label needs none)."""
    return_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    """At `return`: the return (an order's, opened by POST /api/returns) the item is for."""
    count_id: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    """At `count`: the count task being counted."""
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    """At `return`: why the customer sent the item back."""
    disposition: Literal["restock", "quarantine", "dispose"] | None = None
    """At `return`: where the item goes: back into its lot at `location` (a bin; only a
    released, unexpired lot), to quarantine, or to disposal."""
    quantity: Quantity | None = None
    offline: bool = False
    """The handheld judged this scan offline (against its snapshot) and queued it; a
    rejection of it then becomes a scan exception (docs/offline.md)."""
    queued_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    """When the scan entered the handheld's outbox (only with `offline`)."""


class ScanProduct(msgspec.Struct, rename="camel", kw_only=True):
    id: int
    sku: str
    name: str
    tracking: str
    unit: str


class ScanLot(LotOut, kw_only=True):
    """The lot a scan names. At `lookup` it is the whole lot card of GET /api/lots/{id}, with
    on hand by location and the most recent movements; elsewhere those two are null."""

    on_hand_total: int | None  # type: ignore[assignment]
    """Units of the lot at the warehouses; null at `count`, where it could tell a counter
    the quantity a blind count keeps from them."""
    on_hand: list[OnHand] | None = None
    history: list[MovementOut] | None = None


class LocationStock(msgspec.Struct, rename="camel", kw_only=True):
    lot_id: int
    lot_code: str
    sku: str
    product_name: str
    lot_status: str
    expiry: date | None
    quantity: int
    allocated: int


class ScanLocation(LocationOut, kw_only=True):
    """The location a label names; at `lookup`, with the stock it holds."""

    contents: list[LocationStock] | None = None


class ScanOut(msgspec.Struct, rename="camel", kw_only=True):
    """The verdict on a scan and what it resolved to. `code` is one of shared/scan-codes.json;
    `feedback` tells the handheld which tone and colour to give."""

    verdict: Literal["accepted", "rejected"]
    code: str
    message: str
    feedback: Literal["ok", "warn", "error"]
    parsed: Parsed
    product: ScanProduct | None = None
    lot: ScanLot | None = None
    lots: list[LotOut] | None = None
    """At `lookup` of a product's GTIN alone: its lots, soonest expiry first (at most 50)."""
    serial: str | None = None
    location: ScanLocation | None = None
    task: PickTaskOut | None = None
    """At `pick`: the task after the scan."""
    order: OrderOut | None = None
    """At `pack`: the order after the scan, with its progress per line and lot."""
    return_: ReturnOut | None = msgspec.field(default=None, name="return")
    """At `return`: the return after the scan, with its items and what is left to return."""
    count: CountTaskView | None = None
    """At `count`: the count task after the scan, as its counter sees it (blind: no
    expected quantities unless the task is not blind)."""
