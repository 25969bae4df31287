"""Receiving: goods arrive into a lot at a location, creating the lot on its first receipt."""

from __future__ import annotations

import asyncpg

from backend.auth.schemas import Actor
from backend.catalog.service import resolve_location, resolve_product, resolve_supplier
from backend.domain.lot_codes import DEFAULT_TEMPLATE, LotCodeError, render_lot_code
from backend.domain.lot_records import derived_expiry, record_conflicts
from backend.errors import DomainError
from backend.ledger.idempotency import Key, Outcome, apply_once
from backend.ledger.service import Transfer, apply_transfer, movement_by_id
from backend.lots.service import lot_by_id
from backend.receiving.schemas import ReceiptIn, ReceiptOut

__all__ = ["UNTRACKED_LOT_CODE", "receive"]

UNTRACKED_LOT_CODE = "UNTRACKED"
"""The single lot that holds the stock of a product not tracked by lot or serial."""

_RECEIVABLE_KINDS = ("bin", "staging", "quarantine")
_SERIAL_TRACKING = ("serial", "lot_serial")
_GENERATION_ATTEMPTS = 50
_LOT_FIELDS = (
    "supplier_id",
    "supplier_lot_code",
    "production_date",
    "expiry_date",
    "best_before_date",
)


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
        async with conn.transaction():
            lot_id, lot_code, created = await _find_or_create_lot(conn, product, supplier, data)
            serial_ids = await _create_serials(conn, product["id"], lot_id, location["id"], data)
            movement = await apply_transfer(
                conn,
                Transfer(
                    kind="receipt",
                    lot_id=lot_id,
                    lot_code=lot_code,
                    sku=product["sku"],
                    quantity=data.quantity,
                    to_location=location,
                    serials=list(data.serials or []),
                    reference=data.reference,
                    actor=actor,
                    key=key,
                ),
                serial_ids=serial_ids,
            )
        return ReceiptOut(lot=await lot_by_id(conn, lot_id), movement=movement, lot_created=created)

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


async def _find_or_create_lot(
    conn: asyncpg.Connection,
    product: asyncpg.Record,
    supplier: asyncpg.Record | None,
    data: ReceiptIn,
) -> tuple[int, str, bool]:
    expiry = derived_expiry(data.expiry, data.production_date, product["shelf_life_days"])
    values = {
        "supplier_id": supplier["id"] if supplier else None,
        "supplier_lot_code": data.supplier_lot_code,
        "production_date": data.production_date,
        "expiry_date": expiry,
        "best_before_date": data.best_before,
    }
    if product["tracking"] == "none":
        return await _existing_or_new(conn, product["id"], UNTRACKED_LOT_CODE, {})
    if data.lot_code is not None:
        return await _existing_or_new(conn, product["id"], data.lot_code, values)
    for _ in range(_GENERATION_ATTEMPTS):
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
        lot_id = await _insert_lot(conn, product["id"], code, values)
        if lot_id is not None:
            return lot_id, code, True
    raise DomainError(
        "lot_code_exhausted", "Could not make an unused lot code from the template.", 409
    )


async def _insert_lot(
    conn: asyncpg.Connection, product_id: int, code: str, values: dict[str, object]
) -> int | None:
    lot_id: int | None = await conn.fetchval(
        """INSERT INTO lot (product_id, code, supplier_id, supplier_lot_code, production_date,
                            expiry_date, best_before_date)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (product_id, code) DO NOTHING RETURNING id""",
        product_id,
        code,
        values["supplier_id"],
        values["supplier_lot_code"],
        values["production_date"],
        values["expiry_date"],
        values["best_before_date"],
    )
    return lot_id


async def _existing_or_new(
    conn: asyncpg.Connection, product_id: int, code: str, values: dict[str, object]
) -> tuple[int, str, bool]:
    lot_id = await _insert_lot(conn, product_id, code, values or dict.fromkeys(_LOT_FIELDS))
    if lot_id is not None:
        return lot_id, code, True
    recorded = await conn.fetchrow(
        """SELECT id, supplier_id, supplier_lot_code, production_date, expiry_date,
                  best_before_date FROM lot WHERE product_id = $1 AND code = $2""",
        product_id,
        code,
    )
    conflicts = record_conflicts(dict(recorded), values)
    if conflicts:
        names = ", ".join(conflicts)
        raise DomainError(
            "lot_conflict",
            f"Lot {code} is already recorded with a different {names}.",
            409,
            fields=conflicts,
        )
    return recorded["id"], code, False


async def _create_serials(
    conn: asyncpg.Connection, product_id: int, lot_id: int, location_id: int, data: ReceiptIn
) -> list[int]:
    if not data.serials:
        return []
    rows = await conn.fetch(
        """INSERT INTO serial (product_id, lot_id, serial, location_id)
           SELECT $1, $2, unnest($3::text[]), $4
           ON CONFLICT (product_id, serial) DO NOTHING RETURNING id""",
        product_id,
        lot_id,
        data.serials,
        location_id,
    )
    if len(rows) != len(data.serials):
        raise DomainError("duplicate_serial", "A serial in this receipt was already received.", 409)
    return [row["id"] for row in rows]
