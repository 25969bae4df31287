"""Barcode parsing and scans."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from backend.auth.schemas import Actor
from backend.domain.barcodes import Parsed
from backend.ledger.idempotency import replayed_response
from backend.scanning import service
from backend.scanning.schemas import BarcodeIn, ScanIn, ScanOut
from backend.web.deps import Db

__all__ = ["BarcodeController", "ScanController"]


class BarcodeController(Controller):
    path = "/api/barcodes"
    tags = ["scanning"]

    # Open to every signed-in user: parsing reads nothing and changes nothing.
    @post("/parse", status_code=200, operation_id="parseBarcode")
    async def parse(self, data: JSONBody[BarcodeIn]) -> Parsed:
        """What a barcode says (GS1 element string, bracketed text, Digital Link, GTIN, SSCC,
        lotline label). An unreadable barcode is not an error: it is `valid: false` with its
        coded errors. Nothing is looked up or recorded."""
        return service.parse(data)


class ScanController(Controller):
    path = "/api/scans"
    tags = ["scanning"]

    # Any signed-in user may scan at `lookup`; the other contexts check the caller's roles
    # per context (403 scan_context_forbidden), since one route serves every workflow.
    @post("/", status_code=201, operation_id="recordScan")
    async def scan(
        self, data: JSONBody[ScanIn], request: Request[Actor, Any, Any], db: Db
    ) -> Response[ScanOut]:
        """Resolve a scan to a product, lot, serial or location, judge it in its context and
        record it, accepted or rejected. Retrying with the same `idempotencyKey` returns the
        first response (header `Idempotent-Replayed: true`) and records nothing again."""
        return replayed_response(await service.record_scan(db, data, request.user))
