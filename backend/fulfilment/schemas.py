"""Wire shapes of channels, customers, orders, waves, pick tasks and shipping."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.ledger.schemas import Quantity

__all__ = [
    "BarredCountriesIn",
    "BarredCountriesOut",
    "ChannelIn",
    "ChannelKind",
    "ChannelOut",
    "CustomerIn",
    "CustomerOut",
    "CustomerRef",
    "LineLot",
    "OrderIn",
    "OrderLineIn",
    "OrderLineOut",
    "OrderOut",
    "OrderStatus",
    "PickBin",
    "PickTaskOut",
    "ShipIn",
    "ShortIn",
    "ShortReason",
    "WaveIn",
    "WaveOut",
    "WaveShortfall",
]

ChannelKind = Literal["own_shop", "marketplace", "wholesale", "retail", "other"]
OrderStatus = Literal["open", "allocated", "picking", "picked", "packed", "shipped"]
ShortReason = Literal["not_found", "damaged", "short_in_bin", "other"]
"""Why a picker could not pick all of a task."""

ChannelCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2, upper case."""
ShelfLifeDays = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Sku = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
WarehouseCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**53)]


class _In(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class ChannelIn(_In):
    code: ChannelCode
    name: Name
    kind: ChannelKind
    min_shelf_life_days: ShelfLifeDays = 0
    """Remaining shelf life a lot must have at the ship date to go to this channel."""
    allow_split: bool = True
    """Whether one order line may be filled from several lots."""


class ChannelOut(_Out):
    id: int
    code: str
    name: str
    kind: ChannelKind
    min_shelf_life_days: int
    allow_split: bool


class CustomerIn(_In):
    channel: ChannelCode
    ref: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    """The customer's id in the channel."""
    name: Name
    email: (
        Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
        | None
    ) = None
    country: Country | None = None
    min_shelf_life_days: ShelfLifeDays | None = None
    """This customer's own minimum; null: the channel's."""
    allow_split: bool | None = None
    """This customer's own split rule; null: the channel's."""


class CustomerOut(_Out):
    id: int
    channel: str
    ref: str
    name: str
    email: str | None
    country: str | None
    min_shelf_life_days: int | None
    allow_split: bool | None


class BarredCountriesIn(_In):
    countries: Annotated[list[Country], msgspec.Meta(max_length=250)]
    """Every country the lot may not ship to; an empty list lifts all bars."""
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class BarredCountriesOut(_Out):
    lot_id: int
    countries: list[str]


class CustomerRef(_In):
    ref: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    name: Name
    email: (
        Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
        | None
    ) = None
    country: Country | None = None
    """Where the order ships to: lots barred from it are not allocated."""


class OrderLineIn(_In):
    sku: Sku
    quantity: Quantity


class OrderIn(_In):
    channel: ChannelCode
    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    """The order's id in its channel; unique per channel."""
    customer: CustomerRef
    lines: Annotated[list[OrderLineIn], msgspec.Meta(min_length=1, max_length=500)]
    ship_date: date | None = None
    """The day it leaves (shelf-life rules count from it); default today."""
    warehouse: WarehouseCode | None = None
    """The site that fulfils it; default the first site."""


class LineLot(_Out):
    """One lot of an order line, with what of it was picked, packed and shipped."""

    lot_id: int
    lot_code: str
    expiry: date | None
    allocated: int
    picked: int
    packed: int
    shipped: int
    serials: list[str]


class OrderLineOut(_Out):
    id: int
    line_no: int
    sku: str
    product_name: str
    quantity: int
    allocated: int
    picked: int
    packed: int
    shipped: int
    short: int
    """Units the wave could not allocate plus units short-picked."""
    short_reason: str | None
    """Why: the wave's shortfall reason, else the picker's short reason."""
    lots: list[LineLot]


class OrderOut(_Out):
    id: int
    channel: str
    external_id: str
    warehouse: str
    customer: CustomerRef
    ship_date: date
    status: OrderStatus
    wave_id: int | None
    created_at: datetime
    shipped_at: datetime | None
    lines: list[OrderLineOut]


class WaveIn(_In):
    order_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=20_000)]
    pickers: (
        Annotated[
            list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
            msgspec.Meta(max_length=500),
        ]
        | None
    ) = None
    """Usernames to deal the orders to, round-robin; none: tasks wait to be claimed."""


class WaveShortfall(_Out):
    order_id: int
    line_id: int
    sku: str
    quantity: int
    """Units not allocated."""
    reason: str
    """no_stock, only_short_dated_stock, only_held_stock, barred_for_country or
    split_not_allowed."""
    held: int
    short_dated: int
    barred: int


class WaveOut(_Out):
    id: int
    warehouse: str
    orders: int
    lines: int
    allocated_lines: int
    """Lines allocated in full."""
    tasks: int
    shortfalls: list[WaveShortfall]


class PickBin(_Out):
    id: int
    code: str
    barcode: str


class PickTaskOut(_Out):
    id: int
    wave_id: int
    order_id: int
    order_external_id: str
    line_id: int
    sku: str
    product_name: str
    gtins: list[str]
    lot_id: int
    lot_code: str
    expiry: date | None
    bin: PickBin
    quantity: int
    picked: int
    short: int
    short_reason: str | None
    """Why units of it were short-picked (not_found, damaged, short_in_bin, other)."""
    status: Literal["open", "done"]
    bin_confirmed: bool
    assignee: str | None
    tote: str | None
    walk_sequence: int


class ShortIn(_In):
    idempotency_key: uuid.UUID
    reason: ShortReason
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class ClaimIn(_In):
    idempotency_key: uuid.UUID | None = None
    """A retry with the same key answers the first claim's tasks and claims nothing more;
    without one, each call takes the next order."""


class ShipIn(_In):
    idempotency_key: uuid.UUID | None = None
    """Retries with the same key answer the first result; without one, a second shipment of
    the order is 409 order_shipped."""
