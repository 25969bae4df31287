"""Scans: a barcode parsed, resolved to a product, lot, serial or location, judged, recorded.

Every scan is recorded, accepted or rejected (DESIGN.md rule 4). The scan row carries the
client's key (unique per user) and the verdict as first given, so a retry finds the row and
answers with that verdict (a lookup's live parts, its stock and history, read afresh).
Rows are written by the worker's recorder (`recorder.py`) in batches, one statement for the
scans that arrive together; each request waits for its own row's commit.

Products and locations come from the workers' reference caches; the lot a barcode names is
read in one query (its card, and at `lookup` its stock by location and recent history), so
a scan costs at most one read of its own and a share of one write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import msgspec

from backend.auth.schemas import Actor
from backend.catalog.service import location_out, resolve_location, resolve_product
from backend.counts.schemas import CountTaskView
from backend.counts.service import count_scan, count_view
from backend.domain.barcodes import Parsed, parse_barcode
from backend.errors import DomainError
from backend.fulfilment.orders import get_order
from backend.fulfilment.packing import pack_scan
from backend.fulfilment.picking import Scanned, Step, pick_scan, task_by_id
from backend.fulfilment.schemas import OrderOut, PickTaskOut
from backend.holds.service import quarantine_scan
from backend.ledger.idempotency import Outcome, request_digest
from backend.ledger.schemas import MovementOut
from backend.ledger.service import movements_json
from backend.lots.schemas import LotOut, OnHand
from backend.lots.service import lot_card_select, lot_out, on_hand_json
from backend.returns.schemas import ReturnOut
from backend.returns.service import return_scan, return_view
from backend.scanning.recorder import ScanRow, record, record_in
from backend.scanning.schemas import (
    BarcodeIn,
    LocationStock,
    ScanContext,
    ScanIn,
    ScanLocation,
    ScanLot,
    ScanOut,
    ScanProduct,
)
from backend.scanning.verdicts import LotRecord, Verdict, barcode_verdict, lot_verdict, verdict

__all__ = ["CONTEXT_ROLES", "HISTORY_LENGTH", "parse", "record_scan"]

CONTEXT_ROLES: dict[ScanContext, frozenset[str] | None] = {
    "lookup": None,
    "receive": frozenset({"receiver", "supervisor"}),
    "pick": frozenset({"picker", "supervisor"}),
    "pack": frozenset({"packer", "supervisor"}),
    "return": frozenset({"returns", "supervisor"}),
    "count": frozenset({"counter", "supervisor"}),
    "quarantine": frozenset({"supervisor", "returns"}),
}
"""Who may scan in each context (admins may everywhere); None: any signed-in user."""

HISTORY_LENGTH = 10
"""Movements a lookup shows of a lot, newest first (the lot card shows them all)."""

_LIST_LENGTH = 50
_LOCATION_BARCODE_LENGTH = 80
"""The longest barcode a location may have (location.barcode's CHECK)."""
_CONTENTS_LENGTH = 200
_SERIAL_RETURNS = ("receive", "return")
"""Contexts in which a serial comes (back) into stock, so must not be in stock already."""


def parse(data: BarcodeIn) -> Parsed:
    """What a barcode says; an unreadable one is `valid: false` with its errors."""
    return parse_barcode(data.raw, symbology=data.symbology, separators=data.separators or ())


# --- reading what a barcode names ------------------------------------------------------


def _named_lots(detail: bool) -> str:
    """The lots a barcode names by lot code ($2) or serial ($3) of product $1, each with the
    serial's record when the serial is in that lot; with `detail` the lookup's lot card."""
    extras = (
        f"{on_hand_json('card')} AS on_hand, {movements_json('card', HISTORY_LENGTH)} AS history"
        if detail
        else "NULL AS on_hand, NULL AS history"
    )
    return f"""
WITH named_serial AS (
    SELECT s.id, s.lot_id, s.location_id, sl.kind AS location_kind
      FROM serial s LEFT JOIN location sl ON sl.id = s.location_id
     WHERE s.product_id = $1 AND s.serial = $3
), named AS (
    SELECT * FROM lot WHERE product_id = $1 AND code = $2
    UNION
    SELECT * FROM lot WHERE id = (SELECT lot_id FROM named_serial)
)
SELECT card.*, current_date AS today, ns.id AS serial_id,
       ns.location_id IS NOT NULL AND ns.location_kind <> 'customer' AS serial_in_stock,
       {extras}
  FROM ({lot_card_select("named")}) card
  LEFT JOIN named_serial ns ON ns.lot_id = card.id"""


_NAMED_LOTS = _named_lots(detail=False)
_NAMED_LOTS_DETAIL = _named_lots(detail=True)

_PRODUCT_LOTS = f"""
SELECT card.*, count(*) OVER () AS lots,
       CASE WHEN count(*) OVER () = 1 THEN {on_hand_json("card")} END AS on_hand,
       CASE WHEN count(*) OVER () = 1 THEN {movements_json("card", HISTORY_LENGTH)} END
           AS history
  FROM ({lot_card_select()} WHERE l.product_id = $1) card
 ORDER BY card.expiry_date NULLS LAST, card.id
 LIMIT {_LIST_LENGTH}"""
"""A product's lots, soonest expiry first; an only lot with its whole card."""

_LOCATION_CONTENTS = f"""
SELECT b.lot_id, l.code AS lot_code, p.sku, p.name AS product_name, l.status AS lot_status,
       l.expiry_date AS expiry, b.quantity, b.allocated
  FROM stock_balance b
  JOIN lot l ON l.id = b.lot_id
  JOIN product p ON p.id = l.product_id
 WHERE b.location_id = $1 AND b.quantity > 0
 ORDER BY p.sku, l.expiry_date NULLS LAST, l.code
 LIMIT {_CONTENTS_LENGTH}"""


def _scan_lot(row: asyncpg.Record) -> ScanLot:
    """A lot card row as the scan shows it, with on hand and history when they were read."""
    lot = lot_out(row)
    on_hand, history = row["on_hand"], row["history"]
    return ScanLot(
        **{name: getattr(lot, name) for name in LotOut.__struct_fields__},
        on_hand=None if on_hand is None else msgspec.json.decode(on_hand, type=list[OnHand]),
        history=None if history is None else msgspec.json.decode(history, type=list[MovementOut]),
    )


def _lot_record(row: asyncpg.Record) -> LotRecord:
    return LotRecord(
        code=row["code"],
        status=row["status"],
        production_date=row["production_date"],
        expiry=row["expiry_date"],
        best_before=row["best_before_date"],
    )


# --- resolving and judging -------------------------------------------------------------


@dataclass(slots=True)
class Resolution:
    """What a scan resolved to and the verdict on it."""

    verdict: Verdict
    product: asyncpg.Record | None = None
    lot: ScanLot | None = None
    lots: list[LotOut] | None = None
    serial_id: int | None = None
    location: ScanLocation | None = None


_UNSUPPORTED = {
    "badge": "A badge signs a person in; it names no stock.",
    "sscc": "A pallet or case SSCC: lotline does not track logistic units yet; scan an item.",
    "internal": "A lotline tote or internal label names no stock.",
}


async def _resolve(conn: asyncpg.Connection, context: str, parsed: Parsed, raw: str) -> Resolution:
    refused = barcode_verdict(parsed)
    if refused is not None:
        if refused.code == "unrecognised" and len(raw) <= _LOCATION_BARCODE_LENGTH:
            # A location label printed before lotline (any text) is still a location.
            return await _resolve_location(conn, context, raw, fallback=refused)
        return Resolution(refused)
    if parsed.kind == "location":
        return await _resolve_location(conn, context, parsed.label or raw)
    if parsed.gtin is None:
        kind = "sscc" if parsed.sscc is not None else parsed.kind
        message = _UNSUPPORTED.get(kind, "This barcode names no product.")
        return Resolution(verdict("unsupported_barcode", message))
    try:
        product = await resolve_product(conn, sku=None, gtin=parsed.gtin)
    except DomainError as error:
        if error.code != "unknown_product":
            raise
        return Resolution(verdict("unknown_product", f"No product has GTIN {parsed.gtin}."))
    if (parsed.lot is None and parsed.serial is None) or product["tracking"] == "none":
        # An untracked product keeps no lots or serials of its own (its stock is in one
        # lot, UNTRACKED), so a lot code or serial on its label names nothing more.
        return await _resolve_product(conn, context, product)
    return await _resolve_lot(conn, context, parsed, product)


async def _resolve_location(
    conn: asyncpg.Connection, context: str, label: str, fallback: Verdict | None = None
) -> Resolution:
    try:
        row = await resolve_location(conn, label)
    except DomainError as error:
        if fallback is not None:
            return Resolution(fallback)
        if error.code not in ("unknown_location", "ambiguous_location"):
            raise
        return Resolution(verdict(error.code, error.detail))
    contents = None
    if context == "lookup":
        rows = await conn.fetch(_LOCATION_CONTENTS, row["id"])
        contents = [
            LocationStock(
                lot_id=r["lot_id"],
                lot_code=r["lot_code"],
                sku=r["sku"],
                product_name=r["product_name"],
                lot_status=r["lot_status"],
                expiry=r["expiry"],
                quantity=r["quantity"],
                allocated=r["allocated"],
            )
            for r in rows
        ]
    location = ScanLocation(**msgspec.structs.asdict(location_out(row)), contents=contents)
    name = f"{row['warehouse']}/{row['code']}"
    return Resolution(verdict("location_identified", f"Location {name}."), location=location)


async def _resolve_product(
    conn: asyncpg.Connection, context: str, product: asyncpg.Record
) -> Resolution:
    """A GTIN alone: the product; at lookup also its lots, in full when it has just one."""
    found = verdict("product_identified", f"{product['sku']}: {product['name']}.")
    if context != "lookup":
        return Resolution(found, product=product)
    rows = await conn.fetch(_PRODUCT_LOTS, product["id"])
    lots = [lot_out(row) for row in rows]
    only = _scan_lot(rows[0]) if len(rows) == 1 else None
    return Resolution(found, product=product, lot=only, lots=lots)


async def _resolve_lot(
    conn: asyncpg.Connection, context: str, parsed: Parsed, product: asyncpg.Record
) -> Resolution:
    """A GTIN with a lot code, a serial or both: the lot, judged by the universal rules."""
    query = _NAMED_LOTS_DETAIL if context == "lookup" else _NAMED_LOTS
    rows = await conn.fetch(query, product["id"], parsed.lot, parsed.serial)
    by_code = next((row for row in rows if row["code"] == parsed.lot), None)
    by_serial = next((row for row in rows if row["serial_id"] is not None), None)
    today = rows[0]["today"] if rows else datetime.now(UTC).date()
    if parsed.serial is not None and by_serial is not None:
        lot = _scan_lot(by_serial)
        found = Resolution(
            lot_verdict(_lot_record(by_serial), parsed, today),
            product=product,
            lot=lot,
            serial_id=by_serial["serial_id"],
        )
        if parsed.lot is not None and by_serial["code"] != parsed.lot:
            found.verdict = verdict(
                "lot_data_mismatch",
                f"Serial {parsed.serial} was received in lot {lot.code}, "
                f"but the label says lot {parsed.lot}.",
            )
        elif found.verdict.accepted and context in _SERIAL_RETURNS and by_serial["serial_in_stock"]:
            found.verdict = verdict(
                "duplicate_serial", f"Serial {parsed.serial} is already in stock (lot {lot.code})."
            )
        return found
    if parsed.serial is not None and context != "receive":
        return Resolution(
            verdict(
                "unknown_serial", f"Serial {parsed.serial} of {product['sku']} was never received."
            ),
            product=product,
            lot=_scan_lot(by_code) if by_code is not None else None,
        )
    if by_code is not None:
        return Resolution(
            lot_verdict(_lot_record(by_code), parsed, today),
            product=product,
            lot=_scan_lot(by_code),
        )
    if parsed.lot is None:  # a new serial at receive, in no lot the label names
        return Resolution(
            verdict("product_identified", f"{product['sku']}: new serial {parsed.serial}."),
            product=product,
        )
    if context != "receive":
        return Resolution(
            verdict("unknown_lot", f"{product['sku']} has no lot {parsed.lot}."), product=product
        )
    return Resolution(_new_lot_verdict(parsed, product, today), product=product)


def _new_lot_verdict(parsed: Parsed, product: asyncpg.Record, today: date) -> Verdict:
    if parsed.expiry is not None and parsed.expiry < today:
        return verdict(
            "lot_expired",
            f"The label's expiry {parsed.expiry.isoformat()} is past: do not receive lot "
            f"{parsed.lot} as stock.",
        )
    return verdict("new_lot", f"New lot {parsed.lot} of {product['sku']}: receiving creates it.")


# --- recording -------------------------------------------------------------------------

_EARLIER = """SELECT request_hash, response::text FROM scan
               WHERE user_id = $1 AND idempotency_key = $2"""


def _check_context(context: ScanContext, actor: Actor) -> None:
    roles = CONTEXT_ROLES[context]
    if roles is not None and not actor.has_any(roles):
        raise DomainError(
            "scan_context_forbidden",
            f"Scanning in {context} needs one of the roles: {', '.join(sorted(roles))}.",
            403,
        )


async def record_scan(conn: asyncpg.Connection, data: ScanIn, actor: Actor) -> Outcome:
    """Judge and record one scan; a retry with the same key gets the first verdict.

    A pick scan of a task, or a pack scan of an order, moves stock when it is right: it is
    judged, applied and recorded in one transaction, so a retry applies nothing twice.
    """
    _check_context(data.context, actor)
    # Whether it was queued is how the scan was sent, not what it asks: a scan that reached
    # the server while its handheld thought the network was down is the same scan.
    digest = request_digest(msgspec.structs.replace(data, offline=False, queued_at=None))
    if data.offline and _is_step(data):
        # A handheld's queue is often sent again (its answer lost, two tabs, a retry after a
        # timeout): answer a step already recorded from its row, before judging it afresh
        # only to undo it when its key is found taken. Racing copies still meet the key.
        earlier = await _recorded(conn, data, actor, digest)
        if earlier is not None:
            return Outcome(201, msgspec.json.encode(earlier), replayed=True)
    parsed = parse_barcode(data.raw, symbology=data.symbology, separators=data.separators or ())
    found = await _resolve(conn, data.context, parsed, data.raw)
    if data.context == "count" and found.lot is not None:
        # A blind count must not learn the lot's stock from its card.
        found.lot = msgspec.structs.replace(found.lot, on_hand_total=None)
    if _is_step(data):
        return await _record_step(conn, data, actor, parsed, found, digest)
    answer = _answer(parsed, found, found.verdict)
    if not await record(_scan_row(data, actor, parsed, found, found.verdict, answer, digest)):
        return await _earlier(conn, data, actor, digest, found)
    return Outcome(201, msgspec.json.encode(answer), replayed=False)


def _is_step(data: ScanIn) -> bool:
    """Whether the scan moves stock or advances a task when it is right (else it only
    identifies what it names)."""
    return (
        (data.context == "pick" and data.task_id is not None)
        or (data.context == "pack" and data.order_id is not None)
        or data.context == "quarantine"
        or (data.context == "return" and data.return_id is not None)
        or (data.context == "count" and data.count_id is not None)
    )


def _applies(data: ScanIn, found: Resolution) -> bool:
    """Whether a step scan goes on to its capability. Picks and packs only of what the
    scan's verdict accepted; a quarantine, a return or a count also of a held, recalled or
    (returns and counts) expired lot, which those exist to handle."""
    judged = found.verdict
    if judged.accepted:
        return True
    if found.lot is None:
        return False
    if data.context == "quarantine":
        return judged.code in _HELD
    if data.context in ("return", "count"):
        return judged.code in _HELD or judged.code == "lot_expired"
    return False


class _Retried(Exception):
    """The scan's key is taken: its first try committed; undo this one's effect."""


async def _record_step(
    conn: asyncpg.Connection,
    data: ScanIn,
    actor: Actor,
    parsed: Parsed,
    found: Resolution,
    digest: bytes,
) -> Outcome:
    """Judge, apply and record a pick or pack scan in one transaction."""
    product = found.product
    scanned = Scanned(
        product_id=product["id"] if product is not None else None,
        tracking=product["tracking"] if product is not None else None,
        lot_id=found.lot.id if found.lot is not None else None,
        serial=parsed.serial,
        location_id=found.location.id if found.location is not None else None,
    )
    try:
        async with conn.transaction():
            judged, task = found.verdict, None
            if _applies(data, found):
                step = await _apply_step(conn, data, scanned, actor)
                judged, task = verdict(step.code, step.message), step.task
            answer, row = await _step_answer(conn, data, actor, parsed, found, judged, task, digest)
            if not await record_in(conn, row):
                raise _Retried
    except _Retried:
        return await _earlier(conn, data, actor, digest, found)
    except DomainError as error:
        # The ledger refused the step (its stock was taken meanwhile): the transaction undid
        # all of it; the scan is still recorded, with why nothing moved.
        if error.code not in _NOT_APPLIED:
            raise
        judged = verdict("not_applied", error.detail)
        answer, row = await _step_answer(conn, data, actor, parsed, found, judged, None, digest)
        if not await record_in(conn, row):
            return await _earlier(conn, data, actor, digest, found)
    return Outcome(201, msgspec.json.encode(answer), replayed=False)


_HELD = frozenset({"lot_on_hold", "lot_quarantined", "lot_recalled", "lot_not_released"})
"""Refusals of a lot by its status: what a quarantine scan is for."""

_NOT_APPLIED = frozenset(
    {"insufficient_stock", "serial_not_here", "serial_count_mismatch", "duplicate_serial"}
)
"""Refusals of the ledger a right pick or pack scan can meet when stock moved meanwhile."""


async def _step_answer(
    conn: asyncpg.Connection,
    data: ScanIn,
    actor: Actor,
    parsed: Parsed,
    found: Resolution,
    judged: Verdict,
    task: PickTaskOut | None,
    digest: bytes,
) -> tuple[ScanOut, ScanRow]:
    """The answer to a pick or pack scan and its row: at pick the task as the scan left
    it, at pack the order with its progress."""
    order = None
    if data.context == "pick" and task is None and data.task_id is not None:
        task = await _task_if_any(conn, data.task_id)
    if data.context == "pack" and data.order_id is not None:
        order = await _order_if_any(conn, data.order_id)
    returned = counting = None
    if data.context == "return" and data.return_id is not None:
        returned = await _return_if_any(conn, data.return_id)
    if data.context == "count" and data.count_id is not None:
        counting = await _count_if_any(conn, data.count_id, actor)
    answer = _answer(
        parsed, found, judged, task=task, order=order, returned=returned, counting=counting
    )
    return answer, _scan_row(data, actor, parsed, found, judged, answer, digest)


async def _apply_step(
    conn: asyncpg.Connection, data: ScanIn, scanned: Scanned, actor: Actor
) -> Step:
    """The pick of a task, or the pack of a unit of an order."""
    if data.context == "pick":
        assert data.task_id is not None
        return await pick_scan(conn, data.task_id, scanned, data.quantity, actor)
    if data.context == "quarantine":
        return await quarantine_scan(conn, scanned, data.location, data.quantity, actor)
    if data.context == "return":
        assert data.return_id is not None
        return await return_scan(conn, data.return_id, scanned, data, actor)
    if data.context == "count":
        assert data.count_id is not None
        return await count_scan(conn, data.count_id, scanned, data, actor)
    assert data.order_id is not None
    return await pack_scan(conn, data.order_id, scanned, data.quantity, data.station, actor)


async def _task_if_any(conn: asyncpg.Connection, task_id: int) -> PickTaskOut | None:
    try:
        return await task_by_id(conn, task_id)
    except DomainError:
        return None


async def _order_if_any(conn: asyncpg.Connection, order_id: int) -> OrderOut | None:
    try:
        return await get_order(conn, order_id)
    except DomainError:
        return None


async def _return_if_any(conn: asyncpg.Connection, return_id: int) -> ReturnOut | None:
    try:
        return await return_view(conn, return_id)
    except DomainError:
        return None


async def _count_if_any(
    conn: asyncpg.Connection, task_id: int, actor: Actor
) -> CountTaskView | None:
    try:
        return await count_view(conn, task_id, actor)
    except DomainError:
        return None


def _answer(
    parsed: Parsed,
    found: Resolution,
    judged: Verdict,
    *,
    task: PickTaskOut | None = None,
    order: OrderOut | None = None,
    returned: ReturnOut | None = None,
    counting: CountTaskView | None = None,
) -> ScanOut:
    product = found.product
    return ScanOut(
        verdict=judged.verdict,
        code=judged.code,
        message=judged.message,
        feedback=judged.feedback,
        parsed=parsed,
        product=_scan_product(product) if product is not None else None,
        lot=found.lot,
        lots=found.lots,
        serial=parsed.serial,
        location=found.location,
        task=task,
        order=order,
        return_=returned,
        count=counting,
    )


def _scan_row(
    data: ScanIn,
    actor: Actor,
    parsed: Parsed,
    found: Resolution,
    judged: Verdict,
    answer: ScanOut,
    digest: bytes,
) -> ScanRow:
    product = found.product
    return ScanRow(
        idempotency_key=data.idempotency_key,
        request_hash=digest,
        user_id=actor.user_id,
        device_key=data.device_id,
        device_id=actor.device_id,
        context=data.context,
        raw=data.raw,
        symbology=data.symbology or parsed.symbology,
        parsed=msgspec.json.encode(parsed).decode(),
        verdict=judged.verdict,
        code=judged.code,
        message=judged.message,
        feedback=judged.feedback,
        product_id=product["id"] if product is not None else None,
        lot_id=found.lot.id if found.lot is not None else None,
        serial=parsed.serial,
        serial_id=found.serial_id,
        location_id=found.location.id if found.location is not None else None,
        task_id=data.task_id,
        order_id=data.order_id,
        return_id=data.return_id,
        count_id=data.count_id,
        quantity=data.quantity,
        response=msgspec.json.encode(_verdict_only(answer)).decode(),
        scanned_at=data.scanned_at,
        offline=data.offline,
        queued_at=data.queued_at,
    )


def _verdict_only(answer: ScanOut) -> ScanOut:
    """What a scan row keeps of its answer: the verdict and what it named, without the
    live parts (stock, history, a product's lots, a bin's contents) that a lookup shows and
    that are read afresh whenever they are shown again."""
    lot = answer.lot
    location = answer.location
    return msgspec.structs.replace(
        answer,
        lot=msgspec.structs.replace(lot, on_hand=None, history=None) if lot else None,
        lots=None,
        location=msgspec.structs.replace(location, contents=None) if location else None,
    )


async def _recorded(
    conn: asyncpg.Connection, data: ScanIn, actor: Actor, digest: bytes
) -> ScanOut | None:
    """The first answer to the scan this user sent with this key, as recorded; None when
    the key is not taken. A key used for another request is 409."""
    row = await conn.fetchrow(_EARLIER, actor.user_id, data.idempotency_key)
    if row is None:
        return None
    if bytes(row["request_hash"]) != digest:
        raise DomainError(
            "idempotency_key_reused",
            "This idempotencyKey was used for a different request.",
            409,
        )
    return msgspec.json.decode(row["response"], type=ScanOut)


async def _earlier(
    conn: asyncpg.Connection, data: ScanIn, actor: Actor, digest: bytes, now: Resolution
) -> Outcome:
    """The first answer to the scan this user sent with this key: its verdict as recorded,
    with the live parts of a lookup as they are `now`."""
    first = await _recorded(conn, data, actor, digest)
    assert first is not None, "the key's row is committed when its insert conflicts"
    if first.lot is not None and now.lot is not None and now.lot.id == first.lot.id:
        first.lot.on_hand, first.lot.history = now.lot.on_hand, now.lot.history
    if first.product is not None and now.lots is not None:
        first.lots = now.lots
    if first.location is not None and now.location is not None:
        first.location.contents = now.location.contents
    return Outcome(201, msgspec.json.encode(first), replayed=True)


def _scan_product(row: asyncpg.Record) -> ScanProduct:
    return ScanProduct(
        id=row["id"], sku=row["sku"], name=row["name"], tracking=row["tracking"], unit=row["unit"]
    )
