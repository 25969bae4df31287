"""The console's pages of receiving: receive goods into new or existing lots, and print their labels
(docs/console.md).

Receiving calls the receiving service, as `POST /api/receipts` does; labels come from the
labels service with the same options and refusals as `/api/labels`, but signed in by the
console's cookie (the API's routes take a bearer token). A supplier's GS1 label, scanned or
typed into the page's first field, is read by our own barcode parser and fills the form.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location, resolve_product
from backend.domain.barcodes import parse_barcode
from backend.errors import DomainError
from backend.labels import service as labels
from backend.labels.routes import Codes, Copies, Dpi, LotSymbol, PaperOption, Size
from backend.labels.service import LABEL_SIZES, MAX_LABELS, Printing, Rendered
from backend.ledger.service import movement_by_id
from backend.lots.service import lot_by_id
from backend.receiving.schemas import ReceiptIn, ReceiptOut
from backend.receiving.service import receive
from backend.web.console_kit import (
    ConsolePages,
    check_origin,
    console_actor,
    download,
    form_fields,
    page,
)
from backend.web.deps import Db

__all__ = ["ReceivingPages"]

Warehouse = Annotated[str, QueryParameter(max_length=32)]
"""A warehouse code; the form always sends one, and a blank one is a 400 page."""

RECEIVING_ROLES = ("receiver", "supervisor")
"""Who may receive and print labels: the roles of `POST /api/receipts` and `/api/labels`."""

MAX_COPIES = 100
"""Most copies of a label one link asks for (the labels routes' `copies` limit)."""

_FORM_LIMITS = {
    "idempotencyKey": 36,
    "product": 64,
    "quantity": 8,
    "location": 100,
    "supplier": 32,
    "supplierLotCode": 80,
    "lotCode": 20,
    "productionDate": 10,
    "expiry": 10,
    "bestBefore": 10,
    "serials": 100_000,
    "reference": 200,
}
"""The receipt form's fields (ReceiptIn's names) and their longest values."""

_FIELD_NAMES = {
    "idempotencyKey": "Form key",
    "sku": "Product",
    "gtin": "Product",
    "quantity": "Quantity",
    "location": "Location",
    "supplier": "Supplier",
    "supplierLotCode": "Supplier lot code",
    "lotCode": "Lot code",
    "productionDate": "Production date",
    "expiry": "Expiry",
    "bestBefore": "Best before",
    "serials": "Serials",
    "reference": "Reference",
}
"""The form's label for each ReceiptIn field, to name it in a validation message."""

_LOT_DATES_CONSTRAINT = "lot_check"
"""The lot table's check that an expiry is not before the production date."""

MAX_SCAN = 500
"""Longest scan the form reads: more than any supplier label carries."""

_CHOICES_LIMIT = 1000
"""Most suggestions a field's list offers (products, locations, suppliers)."""


@dataclass
class Prefill:
    """What a scanned supplier label says, as the receipt form's field values."""

    values: dict[str, str] = field(default_factory=dict)
    usual: dict[str, str] = field(default_factory=dict)
    """Supplier and location as the product's last receipt: for the fields still empty."""
    product_name: str | None = None
    read: list[str] = field(default_factory=list)
    """Which facts the scan gave, for the message above the form."""


def _bad_options(_: Request[Any, Any, Any], error: ValidationException) -> Response[Any]:
    """A label's query parameter out of its range: a 400 page naming the parameter."""
    problems = [item for item in (error.extra or []) if isinstance(item, dict)]
    named = ", ".join(f"{item.get('key')}: {item.get('message')}" for item in problems)
    return page("error.html", None, 400, message=f"Bad label options. {named}".strip())


class ReceivingPages(ConsolePages):
    path = "/console"
    exception_handlers = {**ConsolePages.exception_handlers, ValidationException: _bad_options}

    @get("/receive", name="console-receive")
    async def receive_form(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """The receipt form; `?scan=` fills it from a supplier's GS1 label or a location label."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        scan = request.query_params.get("scan")
        if scan is None or not scan.strip("\r\n\t "):
            return await _form_page(db, actor, {})
        try:
            prefill = await _read_scan(db, scan)
        except DomainError as error:
            return await _form_page(db, actor, {}, error.status, error=error.detail)
        return await _form_page(db, actor, {**prefill.usual, **prefill.values}, prefill=prefill)

    @get("/receive-scan", name="console-receive-scan")
    async def read_scan(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """What `?scan=` fills in the form, as JSON for the page's script, which fills the
        fields without a reload and keeps what was already typed."""
        await console_actor(request, db, roles=RECEIVING_ROLES)
        try:
            prefill = await _read_scan(db, request.query_params.get("scan") or "")
        except DomainError as error:
            return Response(
                {"code": error.code, "detail": error.detail},
                status_code=error.status,
                headers={"Cache-Control": "no-store"},
            )
        return Response(
            {
                "values": prefill.values,
                "usual": prefill.usual,
                "productName": prefill.product_name,
                "message": _filled_message(prefill),
            },
            headers={"Cache-Control": "no-store"},
        )

    @post("/receive", name="console-receive-post", status_code=HTTP_200_OK)
    async def receive_goods(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """Receive through the receiving service, then show the receipt and its labels."""
        check_origin(request)
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        fields = await form_fields(request, _FORM_LIMITS)
        try:
            data = await _receipt(db, fields)
            outcome = await receive(db, data, actor)
        except msgspec.ValidationError as error:
            return await _form_page(db, actor, fields, 400, error=_validation_message(error))
        except DomainError as error:
            if error.code == "idempotency_key_reused":
                fields["idempotencyKey"] = ""  # the form gets a fresh key
            return await _form_page(db, actor, fields, error.status, error=error.detail)
        except asyncpg.IntegrityConstraintViolationError as error:
            # The database holds the lot's date rule; the API answers it 409 as well.
            message = (
                "The expiry is before the production date."
                if error.constraint_name == _LOT_DATES_CONSTRAINT
                else "The receipt breaks a stock rule."
            )
            return await _form_page(db, actor, fields, 409, error=message)
        body = outcome.body
        received = body if isinstance(body, ReceiptOut) else msgspec.convert(body, ReceiptOut)
        generated = "&generated=1" if data.lot_code is None and received.lot_created else ""
        replayed = "&replayed=1" if outcome.replayed else ""
        return Redirect(
            f"/console/receive/{received.movement.id}?new={int(received.lot_created)}"
            + generated
            + replayed,
            status_code=303,
        )

    @get("/receive/{movement_id:str}", name="console-receipt")
    async def receipt(
        self, request: Request[Any, Any, Any], movement_id: FromPath[str], db: Db
    ) -> Template:
        """A receipt: its lot, quantity, location and dates, the lot's label and print links."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        found = (
            await db.fetchval(
                "SELECT kind = 'receipt' FROM movement WHERE id = $1", int(movement_id)
            )
            if movement_id.isdigit() and len(movement_id) <= 18
            else None
        )
        if not found:
            raise HTTPException(status_code=404, detail=f"No receipt {movement_id}.")
        movement = await movement_by_id(db, int(movement_id))
        lot = await lot_by_id(db, movement.lot_id)
        try:
            label = await labels.lot(db, lot.id, "datamatrix", None)
            label_text, label_problem = label.lines[-1], None
        except DomainError as error:
            label_text, label_problem = None, error.detail
        query = request.query_params
        return page(
            "receive_done.html",
            actor,
            movement=movement,
            lot=lot,
            lot_created=query.get("new") == "1",
            generated=query.get("generated") == "1",
            replayed=query.get("replayed") == "1",
            label_text=label_text,
            label_problem=label_problem,
            copies=min(movement.quantity, MAX_COPIES),
            max_copies=MAX_COPIES,
            sizes=list(LABEL_SIZES),
        )

    @get("/labels", name="console-labels")
    async def labels_form(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Print a warehouse's location labels (or some of them) as PDF or ZPL."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        warehouses = await db.fetch(
            f"SELECT code, name FROM warehouse ORDER BY code LIMIT {_CHOICES_LIMIT}"
        )
        return page(
            "labels.html",
            actor,
            warehouses=warehouses,
            sizes=list(LABEL_SIZES),
            max_copies=MAX_COPIES,
            max_labels=MAX_LABELS,
        )

    @get("/labels/lots/{name:str}", name="console-lot-label")
    async def lot_label(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        db: Db,
        symbol: LotSymbol = "datamatrix",
        serial: Annotated[str | None, QueryParameter(max_length=20)] = None,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
        paper: PaperOption = "a4",
    ) -> Response[Any]:
        """A lot's label as `GET /api/labels/lots/{id}` draws it (`12.svg`, `.pdf`, `.zpl`)."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        try:
            key, form = labels.label_path(name, numeric=True)
            label = await labels.lot(db, int(key), symbol, serial)
            rendered = labels.render(
                [label], form, Printing(size, dpi, paper, copies), f"lot-{key}"
            )
        except DomainError as error:
            return _label_refused(actor, error)
        return _label_file(rendered)

    @get("/labels/locations.pdf", name="console-location-labels-pdf")
    async def locations_pdf(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        warehouse: Warehouse = "",
        codes: Codes = None,
        copies: Copies = 1,
        size: Size = "100x50",
        paper: PaperOption = "a4",
    ) -> Response[Any]:
        """A warehouse's location labels as a PDF, as `GET /api/labels/locations.pdf`."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        printing = Printing(size=size, paper=paper, copies=copies)
        return await _location_labels(db, actor, warehouse, codes, "pdf", printing)

    @get("/labels/locations.zpl", name="console-location-labels-zpl")
    async def locations_zpl(
        self,
        request: Request[Any, Any, Any],
        db: Db,
        warehouse: Warehouse = "",
        codes: Codes = None,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
    ) -> Response[Any]:
        """A warehouse's location labels as ZPL, as `GET /api/labels/locations.zpl`."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        printing = Printing(size=size, dpi=dpi, copies=copies)
        return await _location_labels(db, actor, warehouse, codes, "zpl", printing)

    @get("/labels/locations/{name:str}", name="console-location-label")
    async def location_label(
        self,
        request: Request[Any, Any, Any],
        name: FromPath[str],
        db: Db,
        copies: Copies = 1,
        size: Size = "100x50",
        dpi: Dpi = 203,
        paper: PaperOption = "a4",
    ) -> Response[Any]:
        """One location's label (`7.svg`, `.pdf`, `.zpl`)."""
        actor = await console_actor(request, db, roles=RECEIVING_ROLES)
        try:
            key, form = labels.label_path(name, numeric=True)
            label = await labels.location(db, int(key))
            rendered = labels.render(
                [label], form, Printing(size, dpi, paper, copies), f"location-{key}"
            )
        except DomainError as error:
            return _label_refused(actor, error)
        return _label_file(rendered)


async def _location_labels(
    db: asyncpg.Connection,
    actor: Actor,
    warehouse: str,
    codes: str | None,
    form: labels.Format,
    printing: Printing,
) -> Response[Any]:
    try:
        if not 1 <= len(warehouse) <= 32:
            raise DomainError("invalid_request", "Choose a warehouse (1-32 characters).", 400)
        found = await labels.locations(db, warehouse, labels.location_codes(codes))
        rendered = labels.render(found, form, printing, f"locations-{warehouse}")
    except DomainError as error:
        return _label_refused(actor, error)
    return _label_file(rendered)


def _label_file(rendered: Rendered) -> Response[Any]:
    """PDF and SVG open in the browser, ready to print; ZPL is saved for the printer."""
    if rendered.media_type == labels.MEDIA_TYPES["zpl"]:
        return download(rendered.content, rendered.media_type, rendered.filename)
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{rendered.filename}"',
            "Cache-Control": "no-store",
        },
    )


def _label_refused(actor: Actor, error: DomainError) -> Template:
    return page("error.html", actor, error.status, message=f"{error.detail} ({error.code})")


async def _receipt(db: asyncpg.Connection, fields: dict[str, str]) -> ReceiptIn:
    """The form as the receiving service's input; the product field takes a SKU or a GTIN."""
    values: dict[str, Any] = {name: value for name, value in fields.items() if value}
    product = values.pop("product", None)
    if product is not None:
        values["sku"] = await _product_sku(db, product)
    serials = [line.strip() for line in fields["serials"].splitlines() if line.strip()]
    values["serials"] = serials or None
    return msgspec.convert(values, ReceiptIn, strict=False)


async def _product_sku(db: asyncpg.Connection, product: str) -> str:
    """The SKU of the product typed or scanned: a SKU, else a GTIN of one."""
    try:
        return str((await resolve_product(db, sku=product, gtin=None))["sku"])
    except DomainError:
        if not (product.isascii() and product.isdigit() and 8 <= len(product) <= 14):
            raise
    return str((await resolve_product(db, sku=None, gtin=product))["sku"])


async def _read_scan(db: asyncpg.Connection, scan: str) -> Prefill:
    """The receipt fields a scan fills: a supplier's GS1 label gives its product (by GTIN),
    supplier lot, dates and quantity; one of our location labels gives the location.
    Unreadable text, an unknown GTIN or location is refused whole."""
    if len(scan) > MAX_SCAN or "\x00" in scan:
        raise DomainError(
            "invalid_request", f"A scan is at most {MAX_SCAN} characters, without NUL.", 400
        )
    parsed = parse_barcode(scan.strip(" "))
    if parsed.kind == "location" and parsed.valid and parsed.label is not None:
        place = await resolve_location(db, parsed.label)
        ref = f"{place['warehouse']}/{place['code']}"
        return Prefill(values={"location": ref}, read=[f"location {ref}"])
    if not parsed.valid and parsed.gtin is None:
        reasons = "; ".join(problem.message for problem in parsed.errors)
        raise DomainError("unreadable_scan", f"The scan could not be read: {reasons}.", 422)
    if parsed.gtin is None:
        raise DomainError(
            "scan_without_gtin",
            "The scan names no product: scan the label's GTIN (01) or a location label.",
            422,
        )
    product = await resolve_product(db, sku=None, gtin=parsed.gtin)
    prefill = Prefill(product_name=product["name"])
    prefill.values["product"] = product["sku"]
    prefill.read.append(f"product {product['sku']} (GTIN {parsed.gtin})")
    facts = (
        ("supplierLotCode", "supplier lot", parsed.lot),
        ("expiry", "expiry", parsed.expiry),
        ("bestBefore", "best before", parsed.best_before),
        ("productionDate", "production date", parsed.production_date),
    )
    for name, what, value in facts:
        if value is not None:
            prefill.values[name] = str(value)
            prefill.read.append(f"{what} {value}")
    count = parsed.ais.get("30") or parsed.ais.get("37")
    if count is not None and count.isdigit() and 0 < int(count) <= 1_000_000:
        prefill.values["quantity"] = str(int(count))
        prefill.read.append(f"quantity {int(count)}")
    last = await db.fetchrow(_LAST_RECEIPT, product["id"])
    if last is not None:
        prefill.usual = {"location": last["location"]}
        if last["supplier"] is not None:
            prefill.usual["supplier"] = last["supplier"]
    return prefill


_LAST_RECEIPT = """
SELECT s.code AS supplier, w.code || '/' || loc.code AS location
  FROM lot l
  JOIN movement m ON m.lot_id = l.id AND m.kind = 'receipt'
  JOIN location loc ON loc.id = m.to_location_id AND loc.active
  JOIN warehouse w ON w.id = loc.warehouse_id
  LEFT JOIN supplier s ON s.id = l.supplier_id
 WHERE l.product_id = $1
 ORDER BY m.id DESC LIMIT 1"""
"""Where the product's last receipt went, and from which supplier."""


def _filled_message(prefill: Prefill) -> str:
    """What the scan filled, said above the form."""
    usual = " and ".join(
        f"{what} {prefill.usual[name]}"
        for name, what in (("supplier", "supplier"), ("location", "location"))
        if name in prefill.usual
    )
    also = f" Unless already given, {usual} as this product's last receipt." if usual else ""
    return f"From the label: {', '.join(prefill.read)}.{also} Check the values, then receive."


def _validation_message(error: msgspec.ValidationError) -> str:
    """msgspec's message with the form's name for the field (`at $.quantity`)."""
    text = str(error)
    message, _, where = text.partition(" - at `$.")
    name = where.split("`", 1)[0].split("[", 1)[0]
    return f"{_FIELD_NAMES.get(name, name)}: {message}" if name else message


async def _form_page(
    db: asyncpg.Connection,
    actor: Actor,
    values: dict[str, str],
    status_code: int = HTTP_200_OK,
    *,
    error: str | None = None,
    prefill: Prefill | None = None,
) -> Template:
    """The receipt form with `values` (a fresh key when it has none), and what to suggest."""
    products = await db.fetch(f"SELECT sku, name FROM product ORDER BY sku LIMIT {_CHOICES_LIMIT}")
    locations = await db.fetch(
        f"""SELECT w.code || '/' || l.code AS ref, l.kind
              FROM location l JOIN warehouse w ON w.id = l.warehouse_id
             WHERE l.active AND l.kind IN ('bin', 'staging', 'quarantine')
             ORDER BY w.code, l.walk_sequence, l.code LIMIT {_CHOICES_LIMIT}"""
    )
    suppliers = await db.fetch(
        f"SELECT code, name FROM supplier ORDER BY code LIMIT {_CHOICES_LIMIT}"
    )
    form = {name: values.get(name, "") for name in _FORM_LIMITS}
    # A form shown again after a refusal keeps its key: nothing was applied under it, and a
    # retry of a post that did apply must answer with that receipt, not receive again.
    if error is None or not _is_uuid(form["idempotencyKey"]):
        form["idempotencyKey"] = str(uuid.uuid4())
    return page(
        "receive.html",
        actor,
        status_code,
        form=form,
        error=error,
        prefill=prefill,
        filled=_filled_message(prefill) if prefill else None,
        products=products,
        locations=locations,
        suppliers=suppliers,
    )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
