"""Receiving: goods arrive into a lot at a location, creating the lot on its first receipt.

A receipt is one statement: it creates the lot (or finds it and checks that the receipt
agrees with its record), creates the serials, writes the movement and the balance, and
stores the idempotency key, all or nothing. A generated lot code takes one more statement
for the product's lot sequence, which never hands out the same number twice.
"""

from __future__ import annotations

import dataclasses

import asyncpg

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location, resolve_product, resolve_supplier
from backend.domain.lot_codes import DEFAULT_TEMPLATE, LotCodeError, render_lot_code
from backend.domain.lot_records import derived_expiry, record_conflicts
from backend.errors import DomainError
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import (
    Transfer,
    movement_by_id,
    transfer_arguments,
    transfer_statement,
    written_movement,
)
from backend.lots.service import lot_by_id, lot_card_select, lot_out
from backend.receiving.schemas import ReceiptIn, ReceiptOut

__all__ = ["UNTRACKED_LOT_CODE", "receive"]

UNTRACKED_LOT_CODE = "UNTRACKED"
"""The single lot that holds the stock of a product not tracked by lot or serial."""

_RECEIVABLE_KINDS = ("bin", "staging", "quarantine")
_SERIAL_TRACKING = ("serial", "lot_serial")
_ATTEMPTS = 50

# $2 is the product; $13-$18 what the receipt says of the lot; $19 whether the lot must be
# new (a generated code); $20 the serials. The match is `record_conflicts` in SQL: a field
# the receipt gives must equal the lot's record.
_RECEIPT = transfer_statement(
    before="""
given AS (
    SELECT $2::bigint AS product_id, $13::text AS code, $14::bigint AS supplier_id,
           $15::text AS supplier_lot_code, $16::date AS production_date,
           $17::date AS expiry_date, $18::date AS best_before_date
), inserted AS (
    INSERT INTO lot (product_id, code, supplier_id, supplier_lot_code, production_date,
                     expiry_date, best_before_date)
    SELECT * FROM given
    ON CONFLICT (product_id, code) DO NOTHING
    RETURNING *, true AS created
), found AS (
    SELECT * FROM inserted
    UNION ALL
    SELECT l.*, false
      FROM lot l JOIN given g ON l.product_id = g.product_id AND l.code = g.code
     WHERE NOT EXISTS (SELECT 1 FROM inserted)
),""",
    lot="""SELECT f.id FROM found f, given g
     WHERE f.created OR (NOT $19::boolean
           AND (g.supplier_id IS NULL OR g.supplier_id = f.supplier_id)
           AND (g.supplier_lot_code IS NULL OR g.supplier_lot_code = f.supplier_lot_code)
           AND (g.production_date IS NULL OR g.production_date = f.production_date)
           AND (g.expiry_date IS NULL OR g.expiry_date = f.expiry_date)
           AND (g.best_before_date IS NULL OR g.best_before_date = f.best_before_date))""",
    after=""", new_serials AS (
    INSERT INTO serial (product_id, lot_id, serial, location_id)
    SELECT $2, w.lot_id, unnest($20::text[]), $4 FROM written w
    RETURNING id
), linked AS (
    INSERT INTO movement_serial (movement_id, serial_id)
    SELECT w.id, s.id FROM written w, new_serials s
)""",
    result=f"""SELECT card.*, f.created, f.supplier_id, w.id AS movement_id,
           w.created_at AS moved_at
      FROM found f
      JOIN ({lot_card_select("found", "(SELECT count(*) * $5 FROM written)")}) card
        ON card.id = f.id
      LEFT JOIN written w ON true""",
)

_SERIAL_CONSTRAINT = "serial_product_id_serial_key"


async def receive(conn: asyncpg.Connection, data: ReceiptIn, actor: Actor) -> Outcome:
    """Receive goods; a retry with the same idempotency key gets the first receipt's movement
    again, with the lot as it is now."""

    async def effect(key: Key) -> ReceiptOut:
        product = await resolve_product(conn, sku=data.sku, gtin=data.gtin)
        location = await resolve_location(conn, data.location)
        if location["kind"] not in _RECEIVABLE_KINDS:
            raise DomainError(
                "invalid_location_kind",
                f"Goods are received into a bin, staging or quarantine, not a {location['kind']}.",
                422,
            )
        _check_serials(product["tracking"], data)
        supplier = await resolve_supplier(conn, data.supplier) if data.supplier else None
        transfer = Transfer(
            kind="receipt",
            lot_id=product["id"],
            lot_code="",
            sku=product["sku"],
            quantity=data.quantity,
            to_location=location,
            serials=list(data.serials or []),
            reference=data.reference,
            actor=actor,
            key=key,
        )
        record = _lot_record(product, supplier, data)
        for _ in range(_ATTEMPTS):
            code, must_create = await _lot_code(conn, product, supplier, data)
            try:
                rows = await conn.fetch(
                    _RECEIPT,
                    *transfer_arguments(transfer),
                    code,
                    *record.values(),
                    must_create,
                    transfer.serials,
                )
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != _SERIAL_CONSTRAINT:
                    raise
                raise DomainError(
                    "duplicate_serial", "A serial in this receipt was already received.", 409
                ) from error
            if not rows:
                continue  # another receipt created this lot a moment ago: look again
            row = rows[0]
            if row["movement_id"] is not None:
                received = dataclasses.replace(transfer, lot_id=row["id"], lot_code=code)
                return ReceiptOut(
                    lot=lot_out(row),
                    movement=written_movement(received, row["movement_id"], row["moved_at"]),
                    lot_created=row["created"],
                )
            if not must_create:
                conflicts = record_conflicts(dict(row), record)
                raise DomainError(
                    "lot_conflict",
                    f"Lot {code} is already recorded with a different {', '.join(conflicts)}.",
                    409,
                    fields=conflicts,
                )
        raise DomainError(
            "lot_code_exhausted", "Could not find an unused lot code for this receipt.", 409
        )

    async def replay(movement_id: int) -> ReceiptOut:
        movement = await movement_by_id(conn, movement_id)
        first = await conn.fetchval(
            "SELECT min(id) FROM movement WHERE lot_id = $1", movement.lot_id
        )
        return ReceiptOut(
            lot=await lot_by_id(conn, movement.lot_id),
            movement=movement,
            lot_created=first == movement_id,
        )

    return await apply_once(conn, data, "receipt", actor.user_id, effect, replay)


def _check_serials(tracking: str, data: ReceiptIn) -> None:
    serials = data.serials or []
    if tracking in _SERIAL_TRACKING:
        if len(serials) != data.quantity:
            raise DomainError(
                "serial_count_mismatch",
                f"A serial-tracked product needs one serial per unit: {data.quantity} units, "
                f"{len(serials)} serials.",
                422,
            )
        if len(set(serials)) != len(serials):
            raise DomainError("duplicate_serial", "The same serial is listed twice.", 422)
    elif serials:
        raise DomainError("serials_not_tracked", "This product is not tracked by serial.", 422)
    if tracking == "none" and data.lot_code is not None:
        raise DomainError("lot_not_tracked", "This product is not tracked by lot.", 422)


def _lot_record(
    product: asyncpg.Record, supplier: asyncpg.Record | None, data: ReceiptIn
) -> dict[str, object]:
    """What the receipt says of its lot, in the lot table's columns ($14-$18)."""
    record: dict[str, object] = {
        "supplier_id": supplier["id"] if supplier else None,
        "supplier_lot_code": data.supplier_lot_code,
        "production_date": data.production_date,
        "expiry_date": derived_expiry(
            data.expiry, data.production_date, product["shelf_life_days"]
        ),
        "best_before_date": data.best_before,
    }
    # An untracked product's single lot keeps no dates or supplier data.
    return dict.fromkeys(record) if product["tracking"] == "none" else record


async def _lot_code(
    conn: asyncpg.Connection,
    product: asyncpg.Record,
    supplier: asyncpg.Record | None,
    data: ReceiptIn,
) -> tuple[str, bool]:
    """The lot code to receive into, and whether that lot must be a new one."""
    if product["tracking"] == "none":
        return UNTRACKED_LOT_CODE, False
    if data.lot_code is not None:
        return data.lot_code, False
    sequence, today = await conn.fetchrow(
        """UPDATE product SET lot_sequence = lot_sequence + 1 WHERE id = $1
           RETURNING lot_sequence, current_date""",
        product["id"],
    )
    try:
        code = render_lot_code(
            product["lot_code_template"] or DEFAULT_TEMPLATE,
            day=today,
            sku=product["sku"],
            supplier=supplier["code"] if supplier else None,
            sequence=sequence,
        )
    except LotCodeError as error:
        raise DomainError(error.code, str(error), 422) from error
    return code, True
