"""A lot's (or a period's) events as an EPCIS 2.0 document in JSON-LD (GS1).

Every event is an ObjectEvent about a quantity of one lot, the lot named as an EPC class
(backend/trace/identifiers.py). Movements map to CBV business steps and dispositions:

| movement or change                  | bizStep       | disposition                 |
|-------------------------------------|---------------|-----------------------------|
| receipt                             | receiving     | sellable_not_accessible (*) |
| move (put-away, transfer)           | storing       | sellable_not_accessible (*) |
| pick (bin to tote)                  | picking       | in_progress                 |
| pack (tote to pack station)         | packing       | in_progress                 |
| ship, or any move to a customer     | shipping      | in_transit                  |
| return, or any move from a customer | receiving     | returned                    |
| dispose, or any move to disposal    | destroying    | disposed                    |
| hold or quarantine placed           | holding       | non_sellable_other          |
| recall placed                       | holding       | recalled                    |
| hold released                       | (none)        | sellable_not_accessible     |

(*) non_sellable_other when the units go into a quarantine location. A hold sets its
disposition persistently (`persistentDisposition.set`) and its release unsets it. Times are
UTC; event ids are UUID URNs derived from the ledger row, so the same event keeps its id.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from backend.trace.events import LedgerEvent, Place, Selection, StatusChange
from backend.trace.identifiers import (
    IDENTIFIER_BASE,
    customer_uri,
    event_id,
    lot_class,
    order_uri,
    place_uri,
    receipt_uri,
    supplier_uri,
)
from backend.trace.schemas import (
    BizTransaction,
    EpcisBody,
    EpcisDocument,
    EpcisEvent,
    PersistentDisposition,
    QuantityElement,
    SourceDestination,
    UriRef,
)

__all__ = ["EPCIS_CONTEXT", "EPCIS_MOVEMENTS", "epcis_document"]

EPCIS_CONTEXT: list[str | dict[str, str]] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"lotline": f"{IDENTIFIER_BASE}/epcis/"},
]
"""GS1's EPCIS 2.0 JSON-LD context, and lotline's prefix for its two extension fields."""

EPCIS_MOVEMENTS = Selection(kinds=("receipt", "move", "pick", "pack", "ship", "return", "dispose"))
"""Movements that are events in EPCIS; adjustments and counts correct the books, not the
goods' path, and stay on the lot card."""

_UNITS = {
    "kg": "KGM",
    "g": "GRM",
    "mg": "MGM",
    "l": "LTR",
    "ml": "MLT",
    "lb": "LBR",
    "oz": "ONZ",
    "m": "MTR",
}
"""Product units with a UN/CEFACT Rec. 20 code; any other unit counts trade items, which
EPCIS says by leaving `uom` out."""

_HELD = {"hold": "non_sellable_other", "quarantine": "non_sellable_other", "recall": "recalled"}


def _quantity(head: asyncpg.Record, quantity: int | None = None) -> list[QuantityElement]:
    gtin = head["gtins"][0] if head["gtins"] else None
    return [
        QuantityElement(
            epc_class=lot_class(gtin, head["code"], head["sku"]),
            quantity=quantity,
            uom=_UNITS.get(head["unit"].lower()) if quantity is not None else None,
        )
    ]


def _where(place: Place) -> UriRef:
    return UriRef(id=place_uri(place.warehouse, place.code))


def _step(event: LedgerEvent) -> tuple[str, str]:
    """The CBV business step and disposition of a movement."""
    source, target = event.source, event.destination
    if target is not None and target.kind == "customer":
        return "shipping", "in_transit"
    if source is not None and source.kind == "customer":
        return "receiving", "returned"
    if event.kind == "dispose" or (target is not None and target.kind == "disposal"):
        return "destroying", "disposed"
    if event.kind in ("pick", "pack"):
        return {"pick": "picking", "pack": "packing"}[event.kind], "in_progress"
    stored = "non_sellable_other" if target and target.kind == "quarantine" else None
    step = "receiving" if event.kind == "receipt" else "storing"
    return step, stored or "sellable_not_accessible"


def _movement_event(event: LedgerEvent, head: asyncpg.Record) -> EpcisEvent:
    step, disposition = _step(event)
    source, target = event.source, event.destination
    read_point = target if step not in ("shipping", "picking") else source
    sources: list[SourceDestination] = []
    destinations: list[SourceDestination] = []
    transactions: list[BizTransaction] = []
    if event.kind == "receipt":
        if head["supplier_code"] is not None:
            party = supplier_uri(head["supplier_code"], head["supplier_gln"])
            sources.append(SourceDestination(type="owning_party", source=party))
        transactions.append(
            BizTransaction(type="recadv", biz_transaction=receipt_uri(event.movement_id))
        )
    if event.order is not None:
        transactions.append(
            BizTransaction(
                type="po", biz_transaction=order_uri(event.order.channel, event.order.external_id)
            )
        )
    if source is not None and target is not None and source.warehouse != target.warehouse:
        sources.append(SourceDestination(type="location", source=place_uri(source.warehouse)))
        if target.kind != "customer":
            destinations.append(
                SourceDestination(type="location", destination=place_uri(target.warehouse))
            )
    if target is not None and target.kind == "customer":
        destinations.append(SourceDestination(type="location", destination=_where(target).id))
        if event.customer is not None:
            party = customer_uri(event.customer.id)
            destinations.append(SourceDestination(type="owning_party", destination=party))
    if source is not None and source.kind == "customer" and event.customer is not None:
        party = customer_uri(event.customer.id)
        sources.append(SourceDestination(type="owning_party", source=party))
    return EpcisEvent(
        type="ObjectEvent",
        event_id=event_id("movement", event.movement_id),
        event_time=event.at,
        event_time_zone_offset="+00:00",
        action="OBSERVE",
        biz_step=step,
        disposition=disposition,
        quantity_list=_quantity(head, event.quantity),
        read_point=_where(read_point) if read_point is not None else None,
        biz_location=_where(target) if target is not None and step != "shipping" else None,
        biz_transaction_list=transactions or None,
        source_list=sources or None,
        destination_list=destinations or None,
        lotline_movement=event.movement_id,
    )


def _status_event(change: StatusChange, head: asyncpg.Record) -> EpcisEvent:
    held = _HELD[change.kind]
    key = ("hold", change.hold_id) if change.hold_id is not None else ("status",)
    return EpcisEvent(
        type="ObjectEvent",
        event_id=event_id(*key, change.lot_id, "released" if change.released else "placed"),
        event_time=change.at,
        event_time_zone_offset="+00:00",
        action="OBSERVE",
        biz_step=None if change.released else "holding",
        disposition="sellable_not_accessible" if change.released else held,
        persistent_disposition=(
            PersistentDisposition(unset=[held])
            if change.released
            else PersistentDisposition(set=[held])
        ),
        quantity_list=_quantity(head),
        lotline_reason=change.reason,
    )


def epcis_document(
    events: list[LedgerEvent],
    changes: list[StatusChange],
    heads: dict[int, asyncpg.Record],
    created: datetime,
) -> EpcisDocument:
    """The document: every movement and status change, oldest first."""
    timed = [
        (event.at, 0, event.movement_id, _movement_event(event, heads[event.lot_id]))
        for event in events
    ]
    timed += [
        (change.at, 1, change.lot_id, _status_event(change, heads[change.lot_id]))
        for change in changes
        if change.lot_id in heads
    ]
    timed.sort(key=lambda item: item[:3])
    return EpcisDocument(
        context=EPCIS_CONTEXT,
        type="EPCISDocument",
        schema_version="2.0",
        creation_date=created,
        epcis_body=EpcisBody(event_list=[item[3] for item in timed]),
    )
