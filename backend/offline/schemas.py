"""Wire shapes of the offline snapshot, batch replay and scan exceptions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.scanning.schemas import ScanOut

__all__ = [
    "ExceptionStatus",
    "ReplayIn",
    "ReplayOut",
    "ReplayResult",
    "ResolveIn",
    "ScanExceptionOut",
    "Snapshot",
    "SnapshotLocation",
    "SnapshotLot",
    "SnapshotProduct",
]

REPLAY_LIMIT = 200
"""Most scans one replay carries."""

ExceptionStatus = Literal["open", "resolved"]
Resolution = Literal["redone", "written_off", "not_needed", "other"]
"""How a supervisor settled an exception: the step was done again properly, the units were
written off, nothing was needed after all, or something else (say it in `note`)."""


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


# --- the snapshot -------------------------------------------------------------------------


class SnapshotProduct(_Out):
    id: int
    sku: str
    name: str
    tracking: str
    gtins: list[str]


class SnapshotLot(_Out):
    id: int
    product_id: int
    code: str
    status: str
    expiry: date | None


class SnapshotLocation(_Out):
    id: int
    code: str
    barcode: str
    kind: str


class Snapshot(_Out):
    """What a handheld needs to judge scans while offline: the products and their GTINs,
    the lots with stock in the warehouse and every lot not released, and the warehouse's
    locations. `asOfSeq` is the warehouse's live sequence at the read: what the live
    channel tells after it is not in the snapshot."""

    warehouse: str
    as_of_seq: int
    generated_at: datetime
    products: list[SnapshotProduct]
    lots: list[SnapshotLot]
    locations: list[SnapshotLocation]


# --- replay -------------------------------------------------------------------------------


class ReplayIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A handheld's queued scans, oldest first. Each is a body of POST /api/scans, judged
    on its own: one that does not fit that schema gets its own 400 result."""

    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scans: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=REPLAY_LIMIT)]


class ReplayResult(_Out):
    """One scan's outcome, as POST /api/scans would have answered it: `status` 201 with
    `scan`, or a problem's status with `problem`."""

    idempotency_key: uuid.UUID | None
    status: int
    replayed: bool
    scan: ScanOut | None
    problem: dict[str, Any] | None


class ReplayOut(_Out):
    results: list[ReplayResult]


# --- exceptions ---------------------------------------------------------------------------


class ResolveIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    resolution: Resolution
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    idempotency_key: uuid.UUID | None = None
    """Retries with the same key answer the first resolution."""


class ScanExceptionOut(_Out):
    """An offline scan the server refused, with the scan as recorded."""

    id: int
    status: ExceptionStatus
    scan_id: int
    idempotency_key: uuid.UUID
    user: str
    device_id: str
    warehouse: str | None
    context: str
    raw: str
    code: str
    message: str
    lot_id: int | None
    lot_code: str | None
    sku: str | None
    task_id: int | None
    order_id: int | None
    return_id: int | None
    count_id: int | None
    quantity: int | None
    scanned_at: datetime
    queued_at: datetime | None
    recorded_at: datetime
    created_at: datetime
    resolution: Resolution | None
    note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
