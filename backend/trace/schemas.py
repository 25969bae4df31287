"""Wire shapes of forward and backward traces, and of the EPCIS 2.0 export."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from backend.lots.schemas import OnHand

__all__ = [
    "BizTransaction",
    "ChannelExposure",
    "CustomerExposure",
    "EpcisBody",
    "EpcisDocument",
    "EpcisEvent",
    "InFlight",
    "LotTrace",
    "LotTraceSummary",
    "OrderHead",
    "OrderTrace",
    "OrderTraceLot",
    "PersistentDisposition",
    "QuantityElement",
    "Return",
    "SerialMovement",
    "SerialTrace",
    "Shipment",
    "SourceDestination",
    "SupplierLotTrace",
    "SupplierRef",
    "TraceCustomer",
    "TraceLot",
    "TracePage",
    "TraceTotals",
    "UriRef",
]


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class SupplierRef(_Out):
    code: str
    name: str
    gln: str | None


class TraceLot(_Out):
    """The lot a trace is about, with what a recall notice needs to name it."""

    id: int
    code: str
    sku: str
    product_name: str
    gtins: list[str]
    unit: str
    supplier: SupplierRef | None
    supplier_lot_code: str | None
    production_date: date | None
    expiry: date | None
    best_before: date | None
    status: str
    status_reason: str | None
    status_at: datetime
    received_at: datetime


class TraceCustomer(_Out):
    id: int
    ref: str
    """The customer's id in its channel."""
    name: str
    email: str | None
    country: str | None
    """Where its orders ship to."""
    channel: str


class Shipment(_Out):
    """Units of the lot that reached a customer: one order's shipment, or a move to a
    customer location outside any order (then `orderId` is null)."""

    order_id: int | None
    external_id: str | None
    """The order's id in its channel."""
    channel: str | None
    customer: TraceCustomer | None
    destination: str
    """The customer location the units went to (`WH/CUSTOMER-<id>`)."""
    quantity: int
    returned: int
    first_shipped_at: datetime
    last_shipped_at: datetime
    serials: list[str]


class CustomerExposure(_Out):
    """One customer (or customer location) and what of the lot it got."""

    customer: TraceCustomer | None
    destinations: list[str]
    """The customer locations it got them at (one per warehouse that shipped)."""
    orders: int
    shipped: int
    returned: int
    holding: int
    """Units still with the customer: shipped less returned."""
    first_shipped_at: datetime
    last_shipped_at: datetime


class ChannelExposure(_Out):
    channel: str
    orders: int
    customers: int
    shipped: int
    returned: int


class InFlight(_Out):
    """Units picked into a tote or packed at a station for an order, not yet shipped."""

    order_id: int
    external_id: str
    channel: str
    customer: str
    location: str
    quantity: int


class Return(_Out):
    """Units that came back from a customer location into stock."""

    movement_id: int
    kind: str
    at: datetime
    quantity: int
    from_location: str = msgspec.field(name="from")
    to_location: str | None = msgspec.field(name="to")
    order_id: int | None
    external_id: str | None
    customer: TraceCustomer | None
    serials: list[str]


class TraceTotals(_Out):
    received: int
    on_hand: int
    """Units at the warehouses' own locations, totes and pack stations included."""
    in_totes: int
    in_boxes: int
    """Units packed at a pack station, waiting to ship."""
    shipped: int
    returned: int
    at_customers: int


class TracePage(_Out):
    """Which of a forward trace's shipments and customers the answer lists, of how many."""

    limit: int | None
    offset: int
    shipments: int
    """Shipments in all (one per order, and one per delivery outside any order)."""
    customers: int
    """Customers in all (and customer locations no order names)."""
    orders: int
    next_offset: int | None
    """The `offset` of the next page, when either list goes on; else null."""


class LotTrace(_Out):
    """Forward trace: where every unit of the lot went, and where the rest is. `totals`,
    `channels`, stock and returns are whole; `shipments` and `customers` are the page
    `page` describes."""

    lot: TraceLot
    totals: TraceTotals
    page: TracePage
    shipments: list[Shipment]
    customers: list[CustomerExposure]
    channels: list[ChannelExposure]
    on_hand: list[OnHand]
    in_totes: list[InFlight]
    in_boxes: list[InFlight]
    returns: list[Return]


class LotTraceSummary(_Out):
    lot: TraceLot
    totals: TraceTotals
    orders: int
    customers: int
    channels: list[str]


class SupplierLotTrace(_Out):
    """Every lot received under one supplier lot code, each with its forward trace summary."""

    supplier_lot_code: str
    lots: list[LotTraceSummary]
    totals: TraceTotals


class OrderHead(_Out):
    id: int
    external_id: str
    channel: str
    warehouse: str
    status: str
    ship_date: date
    shipped_at: datetime | None
    customer: TraceCustomer


class OrderTraceLot(_Out):
    """One lot of one order line, as the ledger and the allocation tell it."""

    line_id: int
    line_no: int
    sku: str
    product_name: str
    lot_id: int
    lot_code: str
    supplier_lot_code: str | None
    production_date: date | None
    expiry: date | None
    best_before: date | None
    status: str
    allocated: int
    picked: int
    packed: int
    shipped: int
    returned: int
    serials: list[str]
    """Serials of the units handled for this order (picked, packed or shipped)."""


class OrderTrace(_Out):
    """Backward trace: the lots in an order."""

    order: OrderHead
    lots: list[OrderTraceLot]


class SerialMovement(_Out):
    id: int
    kind: str
    at: datetime
    from_location: str | None = msgspec.field(name="from")
    to_location: str | None = msgspec.field(name="to")
    user: str | None
    reference: str | None
    order_id: int | None
    external_id: str | None


class SerialTrace(_Out):
    """One unit: its lot, where it is, every movement it made, and who it shipped to."""

    serial: str
    sku: str
    product_name: str
    lot: TraceLot
    location: str | None
    location_kind: str | None
    at_customer: bool
    shipped_to: Shipment | None
    """The last shipment that carried it to a customer."""
    movements: list[SerialMovement]


# --- EPCIS 2.0 (GS1), JSON-LD -------------------------------------------------------------


class _Epcis(msgspec.Struct, kw_only=True, omit_defaults=True):
    pass


class QuantityElement(_Epcis):
    epc_class: str = msgspec.field(name="epcClass")
    quantity: int | None = None
    """Absent: the event is about the whole lot (a hold)."""
    uom: str | None = None
    """UN/CEFACT Rec. 20 code; absent when the quantity counts trade items."""


class UriRef(_Epcis):
    id: str


class BizTransaction(_Epcis):
    type: str
    biz_transaction: str = msgspec.field(name="bizTransaction")


class SourceDestination(_Epcis):
    type: str
    source: str | None = None
    destination: str | None = None


class PersistentDisposition(_Epcis):
    set: list[str] | None = None
    unset: list[str] | None = None


class EpcisEvent(_Epcis):
    """An ObjectEvent about a quantity of one lot (an EPC class)."""

    type: str
    """Always ObjectEvent here."""
    event_id: str = msgspec.field(name="eventID")
    event_time: datetime = msgspec.field(name="eventTime")
    event_time_zone_offset: str = msgspec.field(name="eventTimeZoneOffset")
    action: str
    quantity_list: list[QuantityElement] = msgspec.field(name="quantityList")
    biz_step: str | None = msgspec.field(name="bizStep", default=None)
    disposition: str | None = None
    persistent_disposition: PersistentDisposition | None = msgspec.field(
        name="persistentDisposition", default=None
    )
    read_point: UriRef | None = msgspec.field(name="readPoint", default=None)
    biz_location: UriRef | None = msgspec.field(name="bizLocation", default=None)
    biz_transaction_list: list[BizTransaction] | None = msgspec.field(
        name="bizTransactionList", default=None
    )
    source_list: list[SourceDestination] | None = msgspec.field(name="sourceList", default=None)
    destination_list: list[SourceDestination] | None = msgspec.field(
        name="destinationList", default=None
    )
    lotline_movement: int | None = msgspec.field(name="lotline:movement", default=None)
    """The ledger movement the event records."""
    lotline_reason: str | None = msgspec.field(name="lotline:reason", default=None)
    """Why (a hold's reason)."""


class EpcisBody(_Epcis):
    event_list: list[EpcisEvent] = msgspec.field(name="eventList")


class EpcisDocument(_Epcis):
    """An EPCIS 2.0 document (JSON-LD) of a lot's or a period's events."""

    context: list[str | dict[str, str]] = msgspec.field(name="@context")
    type: str
    schema_version: str = msgspec.field(name="schemaVersion")
    creation_date: datetime = msgspec.field(name="creationDate")
    epcis_body: EpcisBody = msgspec.field(name="epcisBody")
