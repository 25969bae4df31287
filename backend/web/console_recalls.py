"""The console's pages of holds and recalls: impact preview, acknowledgements, trace and reports
(docs/console.md).

Every page calls the same services as the API (backend/holds/service.py, backend/trace/), for
supervisors and admins as the API does. What only these pages read (units on hand per held
lot, which handhelds acknowledged a hold) is queried here.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from backend.auth.schemas import Actor
from backend.errors import DomainError
from backend.holds import service as hold_service
from backend.holds.schemas import HoldIn, HoldOut, ReleaseIn
from backend.trace import exports
from backend.trace.events import Scope
from backend.trace.fsma import FsmaRow, fsma_csv, fsma_xlsx
from backend.trace.routes import CSV, EPCIS_JSON_LD, XLSX
from backend.trace.schemas import EpcisDocument
from backend.trace.service import PAGE_DEFAULT, trace_lot, trace_order, trace_serial
from backend.trace.service import trace_supplier_lot as supplier_lot_trace
from backend.web.console_kit import (
    ConsolePages,
    check_origin,
    console_actor,
    download,
    form_fields,
    page,
)
from backend.web.console_queries import units_on_hand
from backend.web.deps import Db

__all__ = ["RecallPages"]

SUPERVISORS = ("supervisor",)
"""Who places holds and traces (the API's `allow("supervisor")`; admins pass too)."""

KINDS = ("hold", "quarantine", "recall")
WAYS = ("lots", "product", "supplier")
"""How the form names the lots: by lot, by product and production dates, by supplier lot."""

_HOLD_FIELDS = {
    "kind": 20,
    "reason": 500,
    "by": 20,
    "lots": 30_000,
    "sku": 64,
    "producedFrom": 10,
    "producedTo": 10,
    "supplierLotCode": 80,
    "idempotencyKey": 36,
}
"""The hold form's fields and their longest values (HoldIn's limits; `lots` holds up to 1000
lot codes or ids, ImpactIn's limit, which is checked after splitting)."""

_TOKENS = re.compile(r"[\s,;]+")


class BadForm(Exception):
    """A form value that cannot become the service's input: re-render the form."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


# --- what only these pages read -----------------------------------------------------------

_HOLD_MESSAGES = """
SELECT w.code AS warehouse, max(m.seq) AS seq, min(m.at) AS at
  FROM live_message m JOIN warehouse w ON w.id = m.warehouse_id
 WHERE m.type = 'lot.held' AND m.data->>'holdId' = $1::text
 GROUP BY w.code ORDER BY w.code"""

_HOLD_REALLOCATIONS = """
SELECT m.data FROM live_message m
 WHERE m.type = 'task.reallocated' AND m.data->>'holdId' = $1::text
 ORDER BY m.id
 LIMIT 1000"""
"""The skip-this-lot instructions the hold sent: each open pick task it moved, or left short."""


async def hold_reallocations(db: asyncpg.Connection, hold_id: int) -> list[dict[str, Any]]:
    """Each pick task the hold moved to another lot and bin, or left short, as the handhelds
    were told (the `task.reallocated` message's data)."""
    return [row["data"] for row in await db.fetch(_HOLD_REALLOCATIONS, str(hold_id))]


_SIGNED_IN = """EXISTS (SELECT 1 FROM auth_token t WHERE t.device_id = d.id
                  AND t.revoked_at IS NULL AND t.expires_at > now())"""
"""The device has a session now (a handheld signed out, or long gone, is not waited for)."""

_WAREHOUSE_DEVICES = f"""
SELECT a.device_key, d.name, w.code AS warehouse, u.username, a.seq, a.acked_at
  FROM unnest($1::text[], $2::bigint[]) AS sent(code, seq)
  JOIN warehouse w ON w.code = sent.code
  JOIN live_ack a ON a.warehouse_id = w.id
  JOIN app_user u ON u.id = a.user_id
  LEFT JOIN device d ON d.device_key = a.device_key
 WHERE d.revoked_at IS NULL AND (a.seq >= sent.seq OR {_SIGNED_IN})
 ORDER BY w.code, a.device_key
 LIMIT 1000"""
"""Handhelds on the channels that told of the hold: those that acknowledged it, and those
signed in that have not yet."""

_SIGNED_IN_DEVICES = f"""
SELECT d.device_key, d.name, u.username
  FROM device d LEFT JOIN app_user u ON u.id = d.last_user_id
 WHERE d.revoked_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM live_ack a WHERE a.device_key = d.device_key)
   AND {_SIGNED_IN}
 ORDER BY d.device_key
 LIMIT 500"""


@dataclass(frozen=True, slots=True)
class DeviceAck:
    """One handheld that should get a hold's message, and whether it acknowledged it."""

    device_id: str
    name: str
    """What the handheld calls itself at sign-in ("Android phone · Chrome"), or ''."""
    warehouse: str | None
    """None: signed in, but it never acknowledged a message in any warehouse."""
    username: str | None
    message_seq: int | None
    acked_seq: int | None
    acked_at: datetime | None

    @property
    def acknowledged(self) -> bool:
        return (
            self.message_seq is not None
            and self.acked_seq is not None
            and self.acked_seq >= self.message_seq
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "deviceId": self.device_id,
            "name": self.name,
            "warehouse": self.warehouse,
            "username": self.username,
            "messageSeq": self.message_seq,
            "ackedSeq": self.acked_seq,
            "ackedAt": self.acked_at.isoformat() if self.acked_at else None,
            "acknowledged": self.acknowledged,
        }


async def hold_acks(db: asyncpg.Connection, hold_id: int) -> tuple[dict[str, int], list[DeviceAck]]:
    """The hold's `lot.held` seq per warehouse, and every handheld that should acknowledge
    it: each device on those warehouses' channels that acknowledged it or is signed in (its
    last acked seq against the hold's), then devices signed in that never acknowledged
    anything."""
    sent = {row["warehouse"]: row["seq"] for row in await db.fetch(_HOLD_MESSAGES, str(hold_id))}
    devices = [
        DeviceAck(
            device_id=row["device_key"],
            name=row["name"] or "",
            warehouse=row["warehouse"],
            username=row["username"],
            message_seq=sent[row["warehouse"]],
            acked_seq=row["seq"],
            acked_at=row["acked_at"],
        )
        for row in await db.fetch(_WAREHOUSE_DEVICES, list(sent), list(sent.values()))
    ]
    if sent:
        devices += [
            DeviceAck(
                device_id=row["device_key"],
                name=row["name"] or "",
                warehouse=None,
                username=row["username"],
                message_seq=None,
                acked_seq=None,
                acked_at=None,
            )
            for row in await db.fetch(_SIGNED_IN_DEVICES)
        ]
    return sent, devices


# --- reading the hold form ----------------------------------------------------------------


async def _lot_ids(db: asyncpg.Connection, text: str) -> list[int]:
    """Lots named by code or id, separated by spaces, commas or lines: a code names every lot
    with that code (of any product); digits that are no lot's code are a lot id."""
    tokens = [token for token in _TOKENS.split(text) if token]
    if not tokens:
        raise BadForm("Name at least one lot, by its code or id.", 422)
    if len(tokens) > 1000:
        raise BadForm("At most 1000 lots in one hold.", 422)
    rows = await db.fetch(
        "SELECT id, code FROM lot WHERE code = ANY($1::text[]) ORDER BY id", tokens
    )
    by_code: dict[str, list[int]] = {}
    for row in rows:
        by_code.setdefault(row["code"], []).append(row["id"])
    ids: list[int] = []
    unknown: list[str] = []
    for token in tokens:
        if token in by_code:
            ids += by_code[token]
        elif token.isdigit() and len(token) <= 15 and int(token) > 0:
            ids.append(int(token))
        else:
            unknown.append(token)
    if unknown:
        raise BadForm(f"No lot {', '.join(unknown[:20])}.", 422)
    return sorted(set(ids))


async def _selection(db: asyncpg.Connection, fields: dict[str, str]) -> dict[str, Any]:
    """The form's choice of lots as ImpactIn's fields (camelCase)."""
    way = fields["by"] or "lots"
    if way == "lots":
        return {"lots": await _lot_ids(db, fields["lots"])}
    if way == "product":
        if not fields["sku"]:
            raise BadForm("Give the product's SKU.", 422)
        chosen: dict[str, Any] = {"sku": fields["sku"]}
        for name in ("producedFrom", "producedTo"):
            if fields[name]:
                chosen[name] = fields[name]
        return chosen
    if way == "supplier":
        if not fields["supplierLotCode"]:
            raise BadForm("Give the supplier lot code.", 422)
        return {"supplierLotCode": fields["supplierLotCode"]}
    raise BadForm("Choose the lots by lot, by product, or by supplier lot code.")


def _convert(body: dict[str, Any], kind: type[Any]) -> Any:
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as error:
        raise BadForm(_plain(str(error))) from error


def _plain(message: str) -> str:
    """msgspec's message in the form's words."""
    names = {
        "`$.producedFrom`": "the first production date",
        "`$.producedTo`": "the last production date",
        "`$.reason`": "the reason",
        "`$.sku`": "the SKU",
        "`$.supplierLotCode`": "the supplier lot code",
        "`$.kind`": "the kind",
        "`$.lots`": "the lots",
        "`$.idempotencyKey`": "the form's key (reload the form)",
    }
    for path, name in names.items():
        message = message.replace(path, name)
    return message


def _outcome_hold_id(body: Any) -> int:
    """The hold's id in a fresh answer (a HoldOut) or a replayed one (its stored JSON)."""
    if isinstance(body, HoldOut):
        return body.id
    if isinstance(body, (str, bytes)):
        body = json.loads(body)
    return int(body["id"])


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < len(text) <= 15 and int(text) > 0 else None


# --- reports, for a lot or for every lot of a hold ------------------------------------------

REPORTS = ("recall-report.csv", "fsma204.csv", "fsma204.xlsx", "epcis.json")
"""The downloads of a lot (`/console/trace/lots/{id}/<report>`) and of a hold
(`/console/holds/{id}/<report>`)."""


async def _recall_report(db: asyncpg.Connection, lot_ids: list[int]) -> bytes:
    """Every lot's recall report under one header row."""
    parts = [await exports.recall_report(db, lot_id) for lot_id in lot_ids]
    if not parts:
        return b""
    header, _, _ = parts[0].partition(b"\r\n")
    rows = b"".join(part.partition(b"\r\n")[2] for part in parts)
    return header + b"\r\n" + rows


async def _fsma_rows(db: asyncpg.Connection, lot_ids: list[int]) -> list[FsmaRow]:
    rows: list[FsmaRow] = []
    for lot_id in lot_ids:
        rows += await exports.fsma_export(db, Scope(lot_id, None, None))
    return rows


async def _epcis(db: asyncpg.Connection, lot_ids: list[int]) -> EpcisDocument:
    """One EPCIS document of every lot's events, oldest first."""
    documents = [await exports.epcis_export(db, Scope(lot_id, None, None)) for lot_id in lot_ids]
    first = documents[0]
    events = sorted(
        (event for document in documents for event in document.epcis_body.event_list),
        key=lambda event: event.event_time,
    )
    return msgspec.structs.replace(
        first, epcis_body=msgspec.structs.replace(first.epcis_body, event_list=events)
    )


async def _report(
    db: asyncpg.Connection, report: str, lot_ids: list[int], stem: str, covers: str = ""
) -> Response[Any]:
    """One of REPORTS of these lots, saved as `<report kind>_<stem>.<ext>`; one lot's
    workbook names it on its About sheet, several are described by `covers`."""
    if report == "recall-report.csv":
        return download(await _recall_report(db, lot_ids), CSV, f"recall_{stem}.csv")
    if report == "fsma204.csv":
        return download(fsma_csv(await _fsma_rows(db, lot_ids)), CSV, f"fsma204_{stem}.csv")
    if report == "fsma204.xlsx":
        scope = Scope(lot_ids[0] if len(lot_ids) == 1 and not covers else None, None, None)
        book = fsma_xlsx(await _fsma_rows(db, lot_ids), scope, datetime.now(UTC), covers)
        return download(book, XLSX, f"fsma204_{stem}.xlsx")
    if report == "epcis.json":
        document = msgspec.json.encode(await _epcis(db, lot_ids))
        return download(document, EPCIS_JSON_LD, f"epcis_{stem}.json")
    offered = ", ".join(REPORTS)
    raise HTTPException(status_code=404, detail=f"No report {report[:40]}; there are {offered}.")


class RecallPages(ConsolePages):
    path = "/console"

    # --- holds ----------------------------------------------------------------------------

    @get("/holds", name="console-holds")
    async def holds(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Active holds (or every hold with `?show=all`), newest first, with units on hand."""
        actor = await console_actor(request, db, SUPERVISORS)
        everything = request.query_params.get("show") == "all"
        listed = await hold_service.list_holds(db, None if everything else True, 200)
        units = await units_on_hand(db, [lot.id for hold in listed for lot in hold.lots])
        return page(
            "holds.html",
            actor,
            holds=listed,
            units={h.id: sum(units.get(lot.id, 0) for lot in h.lots) for h in listed},
            everything=everything,
        )

    @get("/holds/new", name="console-hold-new")
    async def new_hold(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """The hold form, filled from the query (`?lot=<id>` from a lot's page, or the
        preview's Back link)."""
        actor = await console_actor(request, db, SUPERVISORS)
        query = request.query_params
        form = {name: str(query.get(name) or "")[:limit] for name, limit in _HOLD_FIELDS.items()}
        lot = _id(str(query.get("lot") or ""))
        if lot is not None:
            code = await db.fetchval("SELECT code FROM lot WHERE id = $1", lot)
            form["lots"] = code or str(lot)
            form["by"] = "lots"
        return _hold_form(actor, form)

    @post("/holds/preview", name="console-hold-preview", status_code=HTTP_200_OK)
    async def preview(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """What the hold would touch, changing nothing; Confirm carries the same selection
        and a key made now, so confirming twice holds once."""
        check_origin(request)
        actor = await console_actor(request, db, SUPERVISORS)
        fields = await form_fields(request, _HOLD_FIELDS)
        try:
            selection = await _selection(db, fields)
            data = _convert(
                {**selection, "kind": fields["kind"], "reason": fields["reason"]}, HoldIn
            )
            found = await hold_service.impact(db, await hold_service.select_lots(db, data))
        except BadForm as error:
            return _hold_form(actor, fields, error.detail, error.status)
        except DomainError as error:
            return _hold_form(actor, fields, error.detail, error.status)
        confirm = {
            "kind": data.kind,
            "reason": data.reason,
            "by": fields["by"] or "lots",
            "lots": " ".join(map(str, selection.get("lots", []))),
            "sku": selection.get("sku", ""),
            "producedFrom": selection.get("producedFrom", ""),
            "producedTo": selection.get("producedTo", ""),
            "supplierLotCode": selection.get("supplierLotCode", ""),
            "idempotencyKey": str(uuid.uuid4()),
        }
        back = {name: value for name, value in fields.items() if name != "idempotencyKey"}
        return page(
            "hold_preview.html",
            actor,
            impact=found,
            confirm=confirm,
            back="/console/holds/new?" + urlencode(back),
        )

    @post("/holds", name="console-hold-place", status_code=HTTP_200_OK)
    async def place(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """Place the hold the preview showed (once per key), then show it."""
        check_origin(request)
        actor = await console_actor(request, db, SUPERVISORS)
        fields = await form_fields(request, _HOLD_FIELDS)
        try:
            selection = await _selection(db, fields)
            data = _convert(
                {
                    **selection,
                    "kind": fields["kind"],
                    "reason": fields["reason"],
                    "idempotencyKey": fields["idempotencyKey"] or None,
                },
                HoldIn,
            )
            if data.idempotency_key is None:
                raise BadForm("The form lost its key: preview the hold again.")
            outcome = await hold_service.place_hold(db, data, actor)
        except BadForm as error:
            return _hold_form(actor, fields, error.detail, error.status)
        except DomainError as error:
            return _hold_form(actor, fields, error.detail, error.status)
        return Redirect(f"/console/holds/{_outcome_hold_id(outcome.body)}", status_code=303)

    @get("/holds/{hold_id:str}", name="console-hold")
    async def hold(
        self, request: Request[Any, Any, Any], hold_id: FromPath[str], db: Db
    ) -> Template:
        """A hold, its lots with status and units, who acknowledged it, release, trace and
        downloads."""
        actor = await console_actor(request, db, SUPERVISORS)
        return await _hold_page(db, actor, await _hold_or_404(db, hold_id))

    @get("/holds/{hold_id:str}/acks.json", name="console-hold-acks")
    async def acks(
        self, request: Request[Any, Any, Any], hold_id: FromPath[str], db: Db
    ) -> Response[Any]:
        """The hold page's acknowledgements, for its script to poll."""
        await console_actor(request, db, SUPERVISORS)
        found = await _hold_or_404(db, hold_id)
        sent, devices = await hold_acks(db, found.id)
        return Response(
            {
                "holdId": found.id,
                "messages": [{"warehouse": code, "seq": seq} for code, seq in sent.items()],
                "devices": [device.as_json() for device in devices],
                "acknowledged": sum(device.acknowledged for device in devices),
                "pending": sum(not device.acknowledged for device in devices),
            },
            headers={"Cache-Control": "no-store"},
        )

    @post("/holds/{hold_id:str}/release", name="console-hold-release", status_code=HTTP_200_OK)
    async def release(
        self, request: Request[Any, Any, Any], hold_id: FromPath[str], db: Db
    ) -> Response[Any]:
        """Release the hold (once per key), then show it."""
        check_origin(request)
        actor = await console_actor(request, db, SUPERVISORS)
        fields = await form_fields(request, {"reason": 500, "idempotencyKey": 36})
        found = await _hold_or_404(db, hold_id)
        try:
            data = _convert(
                {"reason": fields["reason"], "idempotencyKey": fields["idempotencyKey"] or None},
                ReleaseIn,
            )
            await hold_service.release_hold(db, found.id, data, actor)
        except BadForm as error:
            return await _hold_page(db, actor, found, error.detail, error.status, fields["reason"])
        except DomainError as error:
            return await _hold_page(db, actor, found, error.detail, error.status, fields["reason"])
        return Redirect(f"/console/holds/{found.id}", status_code=303)

    @get("/holds/{hold_id:str}/{report:str}", name="console-hold-report")
    async def hold_report(
        self, request: Request[Any, Any, Any], hold_id: FromPath[str], report: FromPath[str], db: Db
    ) -> Response[Any]:
        """A report of every lot of the hold: the recall report, the FSMA 204 spreadsheet
        (CSV or workbook) or the EPCIS 2.0 document."""
        await console_actor(request, db, SUPERVISORS)
        found = await _hold_or_404(db, hold_id)
        lots = ", ".join(f"{lot.code} ({lot.sku}, id {lot.id})" for lot in found.lots)
        covers = f"{found.kind.capitalize()} #{found.id} ({found.reason}): lots {lots}"
        lot_ids = [lot.id for lot in found.lots]
        return await _report(db, report, lot_ids, f"hold-{found.id}", covers)

    # --- trace ----------------------------------------------------------------------------

    @get("/trace", name="console-trace")
    async def trace(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """Find what to trace: a lot (code or id), an order (external id), a serial, or a
        supplier lot; one match goes straight to its trace."""
        actor = await console_actor(request, db, SUPERVISORS)
        query = {
            name: str(request.query_params.get(name) or "").strip()
            for name in ("lot", "order", "serial", "supplierLot")
        }
        if any(len(value) > 80 or "\x00" in value for value in query.values()):
            return page(
                "trace.html",
                actor,
                400,
                query={k: v[:80].replace("\x00", "") for k, v in query.items()},
                error="Each field takes at most 80 characters, without NUL.",
            )
        try:
            return await _trace_search(db, actor, query)
        except DomainError as error:
            return page("trace.html", actor, error.status, query=query, error=error.detail)

    @get("/trace/lots/{lot_id:str}", name="console-trace-lot")
    async def trace_lot_page(
        self, request: Request[Any, Any, Any], lot_id: FromPath[str], db: Db
    ) -> Template:
        """Forward: the lot's totals, stock, customers and shipments (200 a page)."""
        actor = await console_actor(request, db, SUPERVISORS)
        lot = _id(lot_id)
        offset_text = str(request.query_params.get("offset") or "0")
        offset = int(offset_text) if offset_text.isdigit() and len(offset_text) < 10 else 0
        if lot is None:
            raise HTTPException(status_code=404, detail=f"No lot {lot_id}.")
        try:
            found = await trace_lot(db, lot, limit=PAGE_DEFAULT, offset=offset)
        except DomainError as error:
            raise HTTPException(status_code=404, detail=error.detail) from error
        holds_of = await db.fetch(
            """SELECT h.id, h.kind, h.reason FROM hold_lot hl JOIN hold h ON h.id = hl.hold_id
                WHERE hl.lot_id = $1 AND h.released_at IS NULL ORDER BY h.id""",
            lot,
        )
        return page(
            "trace_lot.html",
            actor,
            trace=found,
            holds=holds_of,
            page_size=PAGE_DEFAULT,
            previous=max(offset - PAGE_DEFAULT, 0) if offset > 0 else None,
        )

    @get("/trace/orders/{order_id:str}", name="console-trace-order")
    async def trace_order_page(
        self, request: Request[Any, Any, Any], order_id: FromPath[str], db: Db
    ) -> Template:
        """Backward: the lots in an order, per line."""
        actor = await console_actor(request, db, SUPERVISORS)
        order = _id(order_id)
        if order is None:
            raise HTTPException(status_code=404, detail=f"No order {order_id}.")
        try:
            found = await trace_order(db, order)
        except DomainError as error:
            raise HTTPException(status_code=404, detail=error.detail) from error
        return page("trace_order.html", actor, trace=found)

    # --- a lot's downloads ----------------------------------------------------------------

    @get("/trace/lots/{lot_id:str}/{report:str}", name="console-lot-report")
    async def lot_report(
        self, request: Request[Any, Any, Any], lot_id: FromPath[str], report: FromPath[str], db: Db
    ) -> Response[Any]:
        """A report of the lot, as the API's export routes give it: the recall report, the
        FSMA 204 spreadsheet (CSV or workbook) or the EPCIS 2.0 document."""
        await console_actor(request, db, SUPERVISORS)
        lot = await _lot_or_404(db, lot_id)
        return await _report(db, report, [lot], f"lot-{lot}")


def _hold_form(
    actor: Actor, form: dict[str, str], error: str | None = None, status: int = HTTP_200_OK
) -> Template:
    return page(
        "hold_new.html",
        actor,
        status,
        form={**form, "by": form.get("by") or "lots", "kind": form.get("kind") or "hold"},
        kinds=KINDS,
        error=error,
    )


async def _hold_or_404(db: asyncpg.Connection, hold_id: str) -> HoldOut:
    number = _id(hold_id)
    if number is None:
        raise HTTPException(status_code=404, detail=f"No hold {hold_id}.")
    try:
        return await hold_service.get_hold(db, number)
    except DomainError as error:
        raise HTTPException(status_code=404, detail=error.detail) from error


async def _lot_or_404(db: asyncpg.Connection, lot_id: str) -> int:
    number = _id(lot_id)
    if number is None or not await db.fetchval("SELECT 1 FROM lot WHERE id = $1", number):
        raise HTTPException(status_code=404, detail=f"No lot {lot_id}.")
    return number


async def _hold_page(
    db: asyncpg.Connection,
    actor: Actor,
    found: HoldOut,
    error: str | None = None,
    status: int = HTTP_200_OK,
    reason: str = "",
) -> Template:
    units = await units_on_hand(db, [lot.id for lot in found.lots])
    sent, devices = await hold_acks(db, found.id)
    return page(
        "hold.html",
        actor,
        status,
        hold=found,
        units=units,
        moved=await hold_reallocations(db, found.id),
        sent=sent,
        devices=devices,
        error=error,
        reason=reason,
        release_key=str(uuid.uuid4()),
    )


async def _trace_search(
    db: asyncpg.Connection, actor: Actor, query: dict[str, str]
) -> Response[Any]:
    if query["lot"]:
        rows = await db.fetch(
            """SELECT l.id, l.code, p.sku, l.status FROM lot l JOIN product p ON p.id = l.product_id
                WHERE l.code = $1 OR l.id = $2 ORDER BY l.id LIMIT 50""",
            query["lot"],
            _id(query["lot"]) or 0,
        )
        if len(rows) == 1:
            return Redirect(f"/console/trace/lots/{rows[0]['id']}", status_code=303)
        if not rows:
            raise DomainError("lot_not_found", f"No lot {query['lot']}.", 404)
        return page("trace.html", actor, query=query, lots=rows)
    if query["order"]:
        rows = await db.fetch(
            """SELECT o.id, o.external_id, c.code AS channel FROM sales_order o
                 JOIN channel c ON c.id = o.channel_id
                WHERE o.external_id = $1 ORDER BY o.id LIMIT 50""",
            query["order"],
        )
        if len(rows) == 1:
            return Redirect(f"/console/trace/orders/{rows[0]['id']}", status_code=303)
        if not rows:
            raise DomainError("order_not_found", f"No order {query['order']}.", 404)
        return page("trace.html", actor, query=query, orders=rows)
    if query["serial"]:
        if len(query["serial"]) > 20:
            raise DomainError("serial_not_found", f"No unit with serial {query['serial']}.", 404)
        unit = await trace_serial(db, query["serial"], None)
        return page("trace.html", actor, query=query, unit=unit)
    if query["supplierLot"]:
        supplier_lot = await supplier_lot_trace(db, query["supplierLot"], None)
        return page("trace.html", actor, query=query, supplier_lot=supplier_lot)
    return page("trace.html", actor, query=query)
