"""Exports for a recall and a regulator: the recall report (CSV), the FDA's sortable
spreadsheet (CSV and XLSX) and an EPCIS 2.0 document. Each reads the ledger once for its
scope and changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import asyncpg

from backend.errors import DomainError
from backend.trace.epcis import EPCIS_MOVEMENTS, epcis_document
from backend.trace.events import Scope, ledger_events, status_changes
from backend.trace.fsma import FSMA_MOVEMENTS, FsmaRow, fsma_rows, safe_cell
from backend.trace.schemas import EpcisDocument
from backend.trace.service import lot_heads, trace_lot

__all__ = ["RECALL_COLUMNS", "epcis_export", "fsma_export", "recall_report"]

RECALL_COLUMNS = (
    "lot_id",
    "lot_code",
    "sku",
    "product",
    "supplier_lot_code",
    "customer_ref",
    "customer_name",
    "customer_email",
    "customer_country",
    "channel",
    "order_external_id",
    "order_id",
    "destination",
    "quantity",
    "returned",
    "first_shipped_at",
    "last_shipped_at",
    "serials",
)
"""One row per shipment of the lot: an order's, or a move to a customer location outside
any order (its order and customer columns empty)."""


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def recall_report(conn: asyncpg.Connection, lot_id: int) -> bytes:
    """Who got the lot, how to reach them and what they got: the forward trace as CSV."""
    trace = await trace_lot(conn, lot_id, limit=None)
    lot = trace.lot
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RECALL_COLUMNS)
    for shipment in trace.shipments:
        customer = shipment.customer
        cells: list[object] = [
            lot.id,
            lot.code,
            lot.sku,
            lot.product_name,
            lot.supplier_lot_code or "",
            customer.ref if customer else "",
            customer.name if customer else "",
            (customer.email or "") if customer else "",
            (customer.country or "") if customer else "",
            shipment.channel or "",
            shipment.external_id or "",
            shipment.order_id or "",
            shipment.destination,
            shipment.quantity,
            shipment.returned,
            _timestamp(shipment.first_shipped_at),
            _timestamp(shipment.last_shipped_at),
            " ".join(shipment.serials),
        ]
        writer.writerow([safe_cell(cell) for cell in cells])
    return out.getvalue().encode("utf-8")


async def _require_lot(conn: asyncpg.Connection, scope: Scope) -> None:
    if scope.lot_id is not None and not await lot_heads(conn, [scope.lot_id]):
        raise DomainError("lot_not_found", f"No lot {scope.lot_id}.", 404)


async def fsma_export(conn: asyncpg.Connection, scope: Scope) -> list[FsmaRow]:
    """The scope's critical tracking events with their key data elements."""
    await _require_lot(conn, scope)
    events = await ledger_events(conn, scope, FSMA_MOVEMENTS)
    heads = await lot_heads(conn, sorted({event.lot_id for event in events}))
    return fsma_rows(events, heads)


async def epcis_export(conn: asyncpg.Connection, scope: Scope) -> EpcisDocument:
    """The scope's movements and holds as an EPCIS 2.0 document."""
    await _require_lot(conn, scope)
    events = await ledger_events(conn, scope, EPCIS_MOVEMENTS)
    changes = await status_changes(conn, scope)
    lot_ids = {event.lot_id for event in events} | {change.lot_id for change in changes}
    heads = await lot_heads(conn, sorted(lot_ids))
    return epcis_document(events, changes, heads, datetime.now(UTC))
