"""Trace a lot forward and an order backward, a unit by serial and a supplier lot; export
the recall report, the FDA's sortable spreadsheet and EPCIS events. Supervisors and admins."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import PathParameter, QueryParameter

from backend.auth.guards import allow
from backend.trace import exports, service
from backend.trace.events import export_scope
from backend.trace.fsma import fsma_csv, fsma_xlsx
from backend.trace.schemas import EpcisDocument, LotTrace, OrderTrace, SerialTrace, SupplierLotTrace
from backend.web.deps import Db

__all__ = ["ExportController", "RecallReportController", "TraceController"]

TRACERS = allow("supervisor")
"""On each handler, not the controller: a controller's `opt` reaches the OPTIONS handlers
Litestar adds, which run without authentication, so the role guard would find no user."""

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EPCIS_JSON_LD = "application/ld+json"

LotId = Annotated[int, PathParameter(ge=1, le=2**53)]
OrderId = Annotated[int, PathParameter(ge=1, le=2**53)]
ExportLot = Annotated[
    int | None, QueryParameter(ge=1, le=2**53, description="A lot's id: its events only.")
]
FromDay = Annotated[
    date | None,
    QueryParameter(name="from", description="First day (YYYY-MM-DD), inclusive."),
]
ToDay = Annotated[date | None, QueryParameter(name="to", description="Last day, inclusive.")]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _export_name(stem: str, lot: int | None, first: date | None, last: date | None) -> str:
    parts = [stem]
    if lot is not None:
        parts.append(f"lot-{lot}")
    if first is not None and last is not None:
        parts.append(f"{first.isoformat()}-{last.isoformat()}")
    return "_".join(parts)


class TraceController(Controller):
    path = "/api/trace"
    tags = ["trace"]

    @get("/lots/{lot_id:int}", opt=TRACERS, operation_id="traceLot")
    async def trace_lot(
        self,
        lot_id: LotId,
        db: Db,
        limit: Annotated[
            int,
            QueryParameter(
                ge=0,
                le=service.PAGE_MAX,
                description="Shipments and customers to list (the page's size).",
            ),
        ] = service.PAGE_DEFAULT,
        offset: Annotated[
            int,
            QueryParameter(
                ge=0,
                le=2**31 - 1,
                description="Shipments and customers to skip: `page.nextOffset` of the last page.",
            ),
        ] = 0,
    ) -> LotTrace:
        """Forward trace: the lot's shipments by order, customer and channel with quantities
        and dates, its stock by location, the orders its units in totes and at pack stations
        are for, and what came back from customers. Totals, counts, channels, stock and
        returns are whole; `shipments` and `customers` come a page at a time, in order of
        first shipment (the recall report CSV lists every shipment at once)."""
        return await service.trace_lot(db, lot_id, limit=limit, offset=offset)

    @get("/orders/{order_id:int}", opt=TRACERS, operation_id="traceOrder")
    async def trace_order(self, order_id: OrderId, db: Db) -> OrderTrace:
        """Backward trace: the lots in an order, per line, with quantities and serials."""
        return await service.trace_order(db, order_id)

    @get("/serials/{serial:str}", opt=TRACERS, operation_id="traceSerial")
    async def trace_serial(
        self,
        serial: Annotated[str, PathParameter(min_length=1, max_length=20)],
        db: Db,
        sku: Annotated[
            str | None,
            QueryParameter(max_length=64, description="The product, when two share the serial."),
        ] = None,
    ) -> SerialTrace:
        """One unit: where it is, its lot, its movements, and the order and customer it
        last shipped to."""
        return await service.trace_serial(db, serial, sku)

    @get("/supplier-lots/{code:str}", opt=TRACERS, operation_id="traceSupplierLot")
    async def trace_supplier_lot(
        self,
        code: Annotated[str, PathParameter(min_length=1, max_length=80)],
        db: Db,
        supplier: Annotated[
            str | None,
            QueryParameter(max_length=32, description="Only this supplier's (its code)."),
        ] = None,
    ) -> SupplierLotTrace:
        """Every lot received under a supplier lot code, each with its forward trace
        summary."""
        return await service.trace_supplier_lot(db, code, supplier)


class RecallReportController(Controller):
    path = "/api/lots"
    tags = ["trace"]

    @get(
        "/{lot_id:int}/recall-report.csv",
        opt=TRACERS,
        media_type=CSV,
        operation_id="lotRecallReport",
    )
    async def recall_report(self, lot_id: LotId, db: Db) -> Response[bytes]:
        """The recall report: one row per shipment of the lot, with the customer's contact
        (name, email, country), the order (external id, channel), quantities and dates."""
        body = await exports.recall_report(db, lot_id)
        return Response(body, media_type=CSV, headers=_attachment(f"recall_lot-{lot_id}.csv"))


class ExportController(Controller):
    path = "/api/exports"
    tags = ["exports"]

    @get("/fsma204.csv", opt=TRACERS, media_type=CSV, operation_id="exportFsma204Csv")
    async def fsma204_csv(
        self, db: Db, lot: ExportLot = None, from_: FromDay = None, to: ToDay = None
    ) -> Response[bytes]:
        """The FDA's electronic sortable spreadsheet (FSMA 204) as CSV: one row per shipping
        or receiving event of a lot, or of every lot in a period, with its key data
        elements. Give `lot`, or `from` and `to`, or both."""
        scope = export_scope(lot, from_, to)
        body = fsma_csv(await exports.fsma_export(db, scope))
        name = _export_name("fsma204", lot, from_, to) + ".csv"
        return Response(body, media_type=CSV, headers=_attachment(name))

    @get("/fsma204.xlsx", opt=TRACERS, media_type=XLSX, operation_id="exportFsma204Xlsx")
    async def fsma204_xlsx(
        self, db: Db, lot: ExportLot = None, from_: FromDay = None, to: ToDay = None
    ) -> Response[bytes]:
        """The same spreadsheet as an Excel workbook (sheet `FSMA 204`, and `About`)."""
        scope = export_scope(lot, from_, to)
        body = fsma_xlsx(await exports.fsma_export(db, scope), scope, datetime.now(UTC))
        name = _export_name("fsma204", lot, from_, to) + ".xlsx"
        return Response(body, media_type=XLSX, headers=_attachment(name))

    @get("/epcis.json", opt=TRACERS, media_type=EPCIS_JSON_LD, operation_id="exportEpcis")
    async def epcis(
        self, db: Db, lot: ExportLot = None, from_: FromDay = None, to: ToDay = None
    ) -> Response[EpcisDocument]:
        """An EPCIS 2.0 JSON-LD document of a lot's events, or of every lot's in a period:
        receiving, storing, picking, packing, shipping, returns and holds."""
        document = await exports.epcis_export(db, export_scope(lot, from_, to))
        return Response(document, media_type=EPCIS_JSON_LD)
