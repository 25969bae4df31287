"""The FDA's electronic sortable spreadsheet (FSMA 204, 21 CFR 1.1455(c)(3)(ii)).

One row per critical tracking event: every receipt, every order's shipment of a lot, every
move of a lot to or from a customer outside an order, and both halves of a transfer between
warehouses. Its columns are the key data elements of shipping (21 CFR 1.1340(a)) and
receiving (1.1345(a)) in one sheet, goods flowing from "Ship-From" to "Ship-To" for both:
for a receipt, Ship-From is the immediate previous source and Ship-To where it was received;
for a shipment, Ship-From is where it left and Ship-To the immediate subsequent recipient.
docs/trace.md maps each column to the rule.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import xlsxwriter

from backend.trace.events import LedgerEvent, Place, Scope, Selection
from backend.trace.identifiers import customer_uri, place_uri, supplier_uri
from backend.trace.service import unexplained_at_customers

__all__ = [
    "FSMA_COLUMNS",
    "FSMA_MOVEMENTS",
    "FsmaRow",
    "fsma_csv",
    "fsma_rows",
    "fsma_xlsx",
    "safe_cell",
]

FSMA_MOVEMENTS = Selection(
    kinds=("receipt", "ship", "return", "move"),
    others="f.kind = 'customer' OR t.kind = 'customer' OR f.warehouse_id <> t.warehouse_id",
    others_only_if=f"""EXISTS ({unexplained_at_customers("$1")})
        OR (SELECT count(DISTINCT loc.warehouse_id) FROM stock_balance b
              JOIN location loc ON loc.id = b.location_id
             WHERE b.lot_id = $1 AND loc.kind <> 'customer') > 1""",
)
"""Movements that can be critical tracking events: receipts, shipments, returns, and moves
to or from a customer or between warehouses. A lot's moves are read only when it has been
in two warehouses, or a customer location's balance of it is not explained by shipments and
returns alone (balances are kept, at zero too, for every location a lot has been)."""

FSMA_COLUMNS = (
    "Critical Tracking Event",
    "Event Date",
    "Traceability Lot Code",
    "Product Description",
    "GTIN",
    "Quantity",
    "Unit of Measure",
    "Ship-From Location Description",
    "Ship-From Location Identifier",
    "Ship-To Location Description",
    "Ship-To Location Identifier",
    "Traceability Lot Code Source Description",
    "Traceability Lot Code Source Reference",
    "Reference Document Type",
    "Reference Document Number",
    "Event Time (UTC)",
    "Sales Channel",
    "lotline Lot Code",
    "lotline Lot Id",
    "lotline Movement Ids",
)
SHEET = "FSMA 204"


@dataclass(frozen=True, slots=True)
class FsmaRow:
    """One critical tracking event with its key data elements."""

    event: str
    day: date
    traceability_lot_code: str
    product: str
    gtin: str
    quantity: int
    unit: str
    ship_from: str
    ship_from_id: str
    ship_to: str
    ship_to_id: str
    tlc_source: str
    tlc_source_reference: str
    document_type: str
    document_number: str
    at: datetime
    channel: str
    lot_code: str
    lot_id: int
    movement_ids: tuple[int, ...]

    def cells(self) -> list[object]:
        return [
            self.event,
            self.day,
            self.traceability_lot_code,
            self.product,
            self.gtin,
            self.quantity,
            self.unit,
            self.ship_from,
            self.ship_from_id,
            self.ship_to,
            self.ship_to_id,
            self.tlc_source,
            self.tlc_source_reference,
            self.document_type,
            self.document_number,
            self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.channel,
            self.lot_code,
            self.lot_id,
            " ".join(str(i) for i in self.movement_ids),
        ]


def _site(place: Place) -> tuple[str, str]:
    """A warehouse's location description and identifier."""
    return f"{place.warehouse_name} (lotline site {place.warehouse})", place_uri(place.warehouse)


@dataclass(frozen=True, slots=True)
class _Lot:
    """What every row of one lot says about it."""

    id: int
    code: str
    tlc: str
    product: str
    gtin: str
    unit: str
    source: str
    source_reference: str
    supplier: tuple[str, str]
    supplier_lot_code: str | None


def _lot(head: asyncpg.Record) -> _Lot:
    """The traceability lot code is the one the supplier assigned when the receipt recorded
    it, else lotline's; its source is the supplier, else the warehouse the lot arrived at."""
    if head["supplier_code"] is not None:
        supplier = (
            head["supplier_name"],
            supplier_uri(head["supplier_code"], head["supplier_gln"]),
        )
        source = supplier
    elif head["origin_warehouse"] is not None:
        supplier = ("Supplier not recorded", "")
        source = (
            f"{head['origin_warehouse_name']} (lotline site {head['origin_warehouse']})",
            place_uri(head["origin_warehouse"]),
        )
    else:
        supplier = source = ("Supplier not recorded", "")
    return _Lot(
        id=head["id"],
        code=head["code"],
        tlc=head["supplier_lot_code"] or head["code"],
        product=f"{head['product_name']} (SKU {head['sku']})",
        gtin=head["gtins"][0] if head["gtins"] else "",
        unit=head["unit"],
        source=source[0],
        source_reference=source[1],
        supplier=supplier,
        supplier_lot_code=head["supplier_lot_code"],
    )


def _customer(event: LedgerEvent, place: Place) -> tuple[str, str]:
    """The customer at the far end of a shipment or return, else its customer location."""
    customer = event.customer
    if customer is None:
        return f"Customer location {place.name}", place_uri(place.warehouse, place.code)
    country = f", {customer.country}" if customer.country else ""
    return (
        f"{customer.name}{country} (customer {customer.ref} of {customer.channel})",
        customer_uri(customer.id),
    )


def fsma_rows(events: Iterable[LedgerEvent], heads: dict[int, asyncpg.Record]) -> list[FsmaRow]:
    """The critical tracking events among these movements, one row each; the units one
    order's shipment took of a lot from one warehouse on one day are one event."""
    lots = {lot_id: _lot(head) for lot_id, head in heads.items()}
    rows: list[FsmaRow] = []
    shipments: dict[tuple[int, int, str, date], list[LedgerEvent]] = {}
    for event in events:
        lot = lots[event.lot_id]
        source, target = event.source, event.destination
        if event.kind == "receipt" and target is not None:
            rows.append(_receipt(event, lot, target))
        elif target is not None and target.kind == "customer" and source is not None:
            if event.order is not None:
                key = (event.lot_id, event.order.id, source.warehouse, event.day)
                shipments.setdefault(key, []).append(event)
            else:
                rows.append(_row(event, lot, "Shipping", _site(source), _customer(event, target)))
        elif source is not None and source.kind == "customer" and target is not None:
            returned = ("Return of sales order", event.order.external_id) if event.order else None
            rows.append(
                _row(event, lot, "Receiving", _customer(event, source), _site(target), returned)
            )
        elif source is not None and target is not None and source.warehouse != target.warehouse:
            transfer = ("Transfer", str(event.movement_id))
            rows.append(_row(event, lot, "Shipping", _site(source), _site(target), transfer))
            rows.append(_row(event, lot, "Receiving", _site(source), _site(target), transfer))
    for group in shipments.values():
        rows.append(_shipment(group, lots[group[0].lot_id]))
    return sorted(rows, key=lambda r: (r.day, r.at, r.event, r.traceability_lot_code))


def _row(
    event: LedgerEvent,
    lot: _Lot,
    cte: str,
    ship_from: tuple[str, str],
    ship_to: tuple[str, str],
    document: tuple[str, str] | None = None,
    together: list[LedgerEvent] | None = None,
) -> FsmaRow:
    """The row of `event`, or of the movements `together` (its shipment's) as one event."""
    group = together or [event]
    if document is None:
        order = event.order
        document = (
            ("Sales order", order.external_id)
            if order is not None
            else ("lotline movement", str(event.movement_id))
        )
    return FsmaRow(
        event=cte,
        day=event.day,
        traceability_lot_code=lot.tlc,
        product=lot.product,
        gtin=lot.gtin,
        quantity=sum(movement.quantity for movement in group),
        unit=lot.unit,
        ship_from=ship_from[0],
        ship_from_id=ship_from[1],
        ship_to=ship_to[0],
        ship_to_id=ship_to[1],
        tlc_source=lot.source,
        tlc_source_reference=lot.source_reference,
        document_type=document[0],
        document_number=document[1],
        at=event.at,
        channel=event.order.channel if event.order is not None else "",
        lot_code=lot.code,
        lot_id=lot.id,
        movement_ids=tuple(movement.movement_id for movement in group),
    )


def _receipt(event: LedgerEvent, lot: _Lot, target: Place) -> FsmaRow:
    if event.reference:
        document = ("Receipt reference", event.reference)
    elif lot.supplier_lot_code:
        document = ("Supplier lot", lot.supplier_lot_code)
    else:
        document = ("lotline receipt", str(event.movement_id))
    return _row(event, lot, "Receiving", lot.supplier, _site(target), document)


def _shipment(group: list[LedgerEvent], lot: _Lot) -> FsmaRow:
    first = group[0]
    assert first.source is not None and first.destination is not None
    ship_to = _customer(first, first.destination)
    return _row(first, lot, "Shipping", _site(first.source), ship_to, together=group)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula: names and references come from
    customers and channels, so text starting like a formula gets a leading apostrophe."""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value.isoformat() if isinstance(value, date) else value


def fsma_csv(rows: list[FsmaRow]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FSMA_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row.cells()])
    return out.getvalue().encode("utf-8")


def fsma_xlsx(rows: list[FsmaRow], scope: Scope, created: datetime, covers: str = "") -> bytes:
    """The same rows as a workbook: a sheet `FSMA 204` with real dates and numbers, a filter
    on every column, and an `About` sheet saying what was asked (`covers` says it in words
    when the scope is not one lot or period: a hold's lots) and what the columns are."""
    out = io.BytesIO()
    # Cells are data, never formulas or links, whatever a customer's name starts with.
    book = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = book.add_worksheet(SHEET)
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, FSMA_COLUMNS, bold)
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row.cells()):
            if isinstance(cell, date):
                sheet.write_datetime(number, column, datetime(cell.year, cell.month, cell.day), day)
            elif isinstance(cell, int):
                sheet.write_number(number, column, cell)
            else:
                sheet.write_string(number, column, str(cell))
    sheet.autofilter(0, 0, max(len(rows), 1), len(FSMA_COLUMNS) - 1)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(FSMA_COLUMNS) - 1, 22)
    about = book.add_worksheet("About")
    lines = [
        ("FSMA 204 electronic sortable spreadsheet, from lotline", ""),
        ("Created (UTC)", created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Lot (lotline id)", "" if scope.lot_id is None else str(scope.lot_id)),
        *([("Covers", covers)] if covers else []),
        ("From", "" if scope.first_day is None else scope.first_day.isoformat()),
        ("To", "" if scope.last_day is None else scope.last_day.isoformat()),
        ("Rows", str(len(rows))),
        ("Rule", "21 CFR 1.1340 (shipping) and 1.1345 (receiving) key data elements"),
        ("Ship-From", "Receiving: the immediate previous source. Shipping: where it left."),
        (
            "Ship-To",
            "Receiving: where it was received. Shipping: the immediate subsequent recipient.",
        ),
        ("Event Date", "The day shipped or received, in the warehouse's time zone."),
    ]
    for number, (name, value) in enumerate(lines):
        about.write_string(number, 0, name, bold if number == 0 else None)
        about.write_string(number, 1, value)
    about.set_column(0, 0, 28)
    about.set_column(1, 1, 80)
    book.close()
    return out.getvalue()
