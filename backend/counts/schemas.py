"""Wire shapes of cycle counts.

What a counter sees (`CountTaskView`) and what a supervisor sees (`CountOut`, `TaskReview`)
are different shapes on purpose: a blind count's expected quantities and variances are not
in the counter's shape at all, so no answer to a counter can carry them by mistake.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "AccuracyOut",
    "AccuracyRow",
    "CountBin",
    "CountIn",
    "CountLineView",
    "CountOut",
    "CountRule",
    "CountTaskStatus",
    "CountTaskView",
    "DecisionIn",
    "LineIn",
    "ReviewLine",
    "SubmitIn",
    "TaskReview",
]

CountTaskStatus = Literal[
    "open", "counting", "submitted", "recount_required", "recounted", "approved", "rejected"
]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
LocationRef = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]


class CountRule(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Bins chosen by a rule: exactly one of the two."""

    expiring_within_days: Days | None = None
    """Bins holding a lot that expires within this many days (or has expired)."""
    not_counted_for_days: Days | None = None
    """Bins not counted for this many days, never-counted ones included."""


class CountIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A count of the warehouse's bins chosen one way: `bins`, `sku`, `lotId` or `rule`."""

    warehouse: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    bins: Annotated[list[LocationRef], msgspec.Meta(min_length=1, max_length=500)] | None = None
    """Location codes, WAREHOUSE/CODE or barcodes."""
    sku: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] | None = None
    """The bins holding this product."""
    lot_id: Id | None = None
    """The bins holding this lot."""
    rule: CountRule | None = None
    blind: bool = True
    """Blind (the default): the counter never sees what the system expects."""
    assignee: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    """The counter who must do the tasks; anyone with the counter role when absent."""
    note: Note | None = None


class LineIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A counter's correction of a lot's count: the units really there."""

    quantity: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
    idempotency_key: uuid.UUID | None = None
    """A retry with the same key answers the first correction (a handheld replaying)."""


class SubmitIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    idempotency_key: uuid.UUID | None = None


class DecisionIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """A supervisor's approval or rejection of a counted bin."""

    note: Note | None = None
    idempotency_key: uuid.UUID | None = None
    """Retries with the same key apply once."""


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class CountBin(_Out):
    id: int
    code: str
    barcode: str
    warehouse: str


class CountLineView(_Out, omit_defaults=True):
    """A lot as its counter counted it. `expected` and `variance` are left out of the JSON
    on a blind count."""

    lot_id: int
    lot_code: str
    sku: str
    product_name: str
    counted: int
    expected: int | None = None
    variance: int | None = None


class CountTaskView(_Out):
    """A count task as its counter's handheld shows it: blind (no expected quantity or
    variance, not even for the lots counted) unless its count is not blind."""

    id: int
    count_id: int
    bin: CountBin
    status: CountTaskStatus
    blind: bool
    recount_of: int | None = None
    """The task this one recounts (someone other than its counter must do it)."""
    assignee: str | None = None
    counted_by: str | None = None
    note: str | None = None
    started_at: datetime | None = None
    submitted_at: datetime | None = None
    lines: list[CountLineView] = []


class ReviewLine(_Out):
    """A lot of a counted bin as a supervisor reviews it."""

    lot_id: int
    lot_code: str
    sku: str
    snapshot: int
    """Units in the bin when the count started."""
    moved: int
    """Net units moved into (+) or out of (-) the bin since, until the lot was counted."""
    expected: int
    counted: int
    variance: int
    recount: bool
    """The variance passes the recount threshold."""
    unexpected: bool
    """A lot the bin was not expected to hold."""
    scanned: bool
    """False: not scanned, so counted as none when the bin was submitted."""
    serials: list[str]


class TaskReview(_Out):
    id: int
    bin: CountBin
    status: CountTaskStatus
    recount_of: int | None
    recount: int | None
    """The task recounting this one."""
    assignee: str | None
    counted_by: str | None
    started_at: datetime | None
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    lines: list[ReviewLine]
    adjustments: list[int]
    """Ids of the ledger movements (kind `count`) an approval wrote."""


class CountOut(_Out):
    id: int
    warehouse: str
    scope: dict[str, object]
    blind: bool
    note: str | None
    created_by: str
    created_at: datetime
    status: Literal["open", "done"]
    """Done when every task is approved or rejected."""
    tasks: list[TaskReview]


class AccuracyRow(_Out):
    name: str
    """The bin (WAREHOUSE/CODE) or the counter's username."""
    tasks: int
    lines: int
    exact_lines: int
    accuracy: float
    variance_units: int


class AccuracyOut(_Out):
    warehouse: str | None
    by_bin: list[AccuracyRow]
    by_counter: list[AccuracyRow]
