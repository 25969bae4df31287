"""Warehouses, locations, suppliers and products; resolving what a request names."""

from __future__ import annotations

import asyncpg

from backend.catalog.schemas import (
    LocationIn,
    LocationOut,
    ProductIn,
    ProductOut,
    SupplierIn,
    SupplierOut,
    WarehouseIn,
    WarehouseOut,
)
from backend.db.filters import where
from backend.db.reference_cache import ReferenceCache
from backend.domain.check_digits import normalize_gtin
from backend.domain.lot_codes import LotCodeError, validate_template
from backend.errors import DomainError

__all__ = [
    "create_location",
    "create_product",
    "create_supplier",
    "create_warehouse",
    "list_locations",
    "list_products",
    "list_suppliers",
    "list_warehouses",
    "location_barcode",
    "location_out",
    "resolve_location",
    "resolve_locations",
    "resolve_product",
    "resolve_supplier",
]

_LOCATION_SELECT = """
    SELECT l.id, w.code AS warehouse, l.warehouse_id, l.code, l.barcode, l.kind, l.zone,
           l.walk_sequence, l.active
      FROM location l JOIN warehouse w ON w.id = l.warehouse_id
"""
_PRODUCT_SELECT = """
    SELECT p.id, p.sku, p.name, p.tracking, p.category, p.shelf_life_days,
           p.lot_code_template, p.unit,
           coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin) FROM product_gtin g
                      WHERE g.product_id = p.id), '{}') AS gtins
      FROM product p
"""


_PRODUCT_FIXED = "p.id, p.sku, p.name, p.tracking, p.shelf_life_days, p.lot_code_template, p.unit"
"""A product's columns a write reads (not its lot sequence, which changes)."""


def location_barcode(warehouse: str, code: str) -> str:
    """The barcode printed on a location label when none is given."""
    return f"LOC-{warehouse}-{code}"


def location_out(row: asyncpg.Record) -> LocationOut:
    return LocationOut(
        id=row["id"],
        warehouse=row["warehouse"],
        code=row["code"],
        barcode=row["barcode"],
        kind=row["kind"],
        zone=row["zone"],
        walk_sequence=row["walk_sequence"],
        active=row["active"],
    )


def _product_out(row: asyncpg.Record) -> ProductOut:
    return ProductOut(
        id=row["id"],
        sku=row["sku"],
        name=row["name"],
        tracking=row["tracking"],
        gtins=list(row["gtins"]),
        category=row["category"],
        shelf_life_days=row["shelf_life_days"],
        lot_code_template=row["lot_code_template"],
        unit=row["unit"],
    )


async def create_warehouse(conn: asyncpg.Connection, data: WarehouseIn) -> WarehouseOut:
    try:
        row = await conn.fetchrow(
            """INSERT INTO warehouse (code, name, timezone, allow_lot_substitution)
               VALUES ($1, $2, $3, $4) RETURNING *""",
            data.code,
            data.name,
            data.timezone,
            data.allow_lot_substitution,
        )
    except asyncpg.UniqueViolationError as error:
        raise DomainError("duplicate_warehouse", f"Warehouse {data.code} exists.", 409) from error
    return _warehouse_out(row)


async def list_warehouses(conn: asyncpg.Connection) -> list[WarehouseOut]:
    rows = await conn.fetch("SELECT * FROM warehouse ORDER BY code")
    return [_warehouse_out(row) for row in rows]


def _warehouse_out(row: asyncpg.Record) -> WarehouseOut:
    return WarehouseOut(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        timezone=row["timezone"],
        allow_lot_substitution=row["allow_lot_substitution"],
    )


async def create_location(conn: asyncpg.Connection, data: LocationIn) -> LocationOut:
    warehouse_id = await conn.fetchval("SELECT id FROM warehouse WHERE code = $1", data.warehouse)
    if warehouse_id is None:
        raise DomainError("unknown_warehouse", f"No warehouse {data.warehouse}.", 422)
    barcode = data.barcode or location_barcode(data.warehouse, data.code)
    try:
        location_id = await conn.fetchval(
            """INSERT INTO location (warehouse_id, code, barcode, kind, zone, walk_sequence)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            warehouse_id,
            data.code,
            barcode,
            data.kind,
            data.zone,
            data.walk_sequence,
        )
    except asyncpg.UniqueViolationError as error:
        raise DomainError(
            "duplicate_location",
            f"Location {data.code} or barcode {barcode} exists in {data.warehouse}.",
            409,
        ) from error
    row = await conn.fetchrow(_LOCATION_SELECT + " WHERE l.id = $1", location_id)
    return location_out(row)


async def list_locations(
    conn: asyncpg.Connection, warehouse: str | None = None, kind: str | None = None
) -> list[LocationOut]:
    clause, values = where({"w.code = {}": warehouse, "l.kind = {}": kind})
    rows = await conn.fetch(
        _LOCATION_SELECT + clause + " ORDER BY w.code, l.walk_sequence, l.code", *values
    )
    return [location_out(row) for row in rows]


_RESOLVE_LOCATIONS = (
    """SELECT ref.n, found.* FROM unnest($1::text[]) WITH ORDINALITY AS ref(value, n)
    CROSS JOIN LATERAL (
        SELECT * FROM (
            SELECT 1 AS rank, r.* FROM ("""
    + _LOCATION_SELECT
    + """ WHERE l.barcode = ref.value) r
            UNION ALL
            SELECT 2, r.* FROM ("""
    + _LOCATION_SELECT
    + """ WHERE strpos(ref.value, '/') > 0 AND w.code = split_part(ref.value, '/', 1)
                    AND l.code = substr(ref.value, strpos(ref.value, '/') + 1)) r
            UNION ALL
            SELECT 3, r.* FROM ("""
    + _LOCATION_SELECT
    + """ WHERE l.code = ref.value) r
        ) candidates ORDER BY rank LIMIT 2
    ) found ORDER BY ref.n, found.rank"""
)


_locations: ReferenceCache[str, asyncpg.Record] = ReferenceCache()
_products: ReferenceCache[tuple[str, str], asyncpg.Record] = ReferenceCache()


async def resolve_locations(conn: asyncpg.Connection, *refs: str) -> list[asyncpg.Record]:
    """The locations requests name, in at most one round trip: each by barcode,
    `WAREHOUSE/CODE`, or a code unique to one site."""
    known = {ref: _locations.get(ref) for ref in refs}
    missing = [ref for ref, row in known.items() if row is None]
    rows = await conn.fetch(_RESOLVE_LOCATIONS, missing) if missing else []
    for n, ref in enumerate(missing, start=1):
        candidates = [row for row in rows if row["n"] == n]
        if not candidates:
            raise DomainError("unknown_location", f"No location {ref!r}.", 422)
        if len(candidates) > 1 and candidates[0]["rank"] == candidates[1]["rank"] == 3:
            raise DomainError(
                "ambiguous_location",
                f"Location {ref!r} exists in more than one warehouse: use WAREHOUSE/{ref}.",
                422,
            )
        known[ref] = candidates[0]
        _locations.put(ref, candidates[0])
    return [known[ref] for ref in refs]


async def resolve_location(conn: asyncpg.Connection, ref: str) -> asyncpg.Record:
    """The location a request names (see `resolve_locations`)."""
    return (await resolve_locations(conn, ref))[0]


async def create_supplier(conn: asyncpg.Connection, data: SupplierIn) -> SupplierOut:
    try:
        row = await conn.fetchrow(
            "INSERT INTO supplier (code, name, gln) VALUES ($1, $2, $3) RETURNING *",
            data.code,
            data.name,
            data.gln,
        )
    except asyncpg.UniqueViolationError as error:
        raise DomainError("duplicate_supplier", f"Supplier {data.code} exists.", 409) from error
    return _supplier_out(row)


async def list_suppliers(conn: asyncpg.Connection) -> list[SupplierOut]:
    rows = await conn.fetch("SELECT * FROM supplier ORDER BY code")
    return [_supplier_out(row) for row in rows]


def _supplier_out(row: asyncpg.Record) -> SupplierOut:
    return SupplierOut(id=row["id"], code=row["code"], name=row["name"], gln=row["gln"])


async def resolve_supplier(conn: asyncpg.Connection, code: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, code FROM supplier WHERE code = $1", code)
    if row is None:
        raise DomainError("unknown_supplier", f"No supplier {code!r}.", 422)
    return row


async def create_product(conn: asyncpg.Connection, data: ProductIn) -> ProductOut:
    gtins = []
    for raw in data.gtins:
        gtin = normalize_gtin(raw)
        if gtin is None:
            raise DomainError("invalid_check_digit", f"GTIN {raw} has a wrong check digit.", 422)
        gtins.append(gtin)
    if len(set(gtins)) != len(gtins):
        raise DomainError("duplicate_gtin", "The same GTIN is listed twice.", 422)
    if data.lot_code_template is not None:
        try:
            validate_template(data.lot_code_template)
        except LotCodeError as error:
            raise DomainError(error.code, str(error), 422) from error
    async with conn.transaction():
        try:
            product_id = await conn.fetchval(
                """INSERT INTO product (sku, name, category, tracking, shelf_life_days,
                                        lot_code_template, unit)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
                data.sku,
                data.name,
                data.category,
                data.tracking,
                data.shelf_life_days,
                data.lot_code_template,
                data.unit,
            )
        except asyncpg.UniqueViolationError as error:
            raise DomainError("duplicate_sku", f"SKU {data.sku} exists.", 409) from error
        try:
            await conn.executemany(
                "INSERT INTO product_gtin (gtin, product_id) VALUES ($1, $2)",
                [(gtin, product_id) for gtin in gtins],
            )
        except asyncpg.UniqueViolationError as error:
            raise DomainError(
                "duplicate_gtin", "A GTIN is already assigned to another product.", 409
            ) from error
    row = await conn.fetchrow(_PRODUCT_SELECT + " WHERE p.id = $1", product_id)
    return _product_out(row)


async def list_products(
    conn: asyncpg.Connection, q: str | None = None, limit: int = 100, offset: int = 0
) -> list[ProductOut]:
    rows = await conn.fetch(
        _PRODUCT_SELECT
        + """ WHERE $1::text IS NULL
                 OR p.sku ILIKE '%' || $1 || '%' OR p.name ILIKE '%' || $1 || '%'
                 OR EXISTS (SELECT 1 FROM product_gtin g WHERE g.product_id = p.id AND g.gtin = $1)
              ORDER BY p.sku LIMIT $2 OFFSET $3""",
        q,
        limit,
        offset,
    )
    return [_product_out(row) for row in rows]


async def get_product(conn: asyncpg.Connection, product_id: int) -> ProductOut:
    row = await conn.fetchrow(_PRODUCT_SELECT + " WHERE p.id = $1", product_id)
    if row is None:
        raise DomainError("product_not_found", f"No product {product_id}.", 404)
    return _product_out(row)


async def resolve_product(
    conn: asyncpg.Connection, *, sku: str | None, gtin: str | None
) -> asyncpg.Record:
    """The product a request names by SKU or GTIN (any length; check digit verified)."""
    if sku is not None:
        row = _products.get(("sku", sku)) or await conn.fetchrow(
            f"SELECT {_PRODUCT_FIXED} FROM product p WHERE p.sku = $1", sku
        )
        if row is None:
            raise DomainError("unknown_product", f"No product with SKU {sku!r}.", 422)
        _products.put(("sku", sku), row)
    elif gtin is not None:
        normal = normalize_gtin(gtin)
        if normal is None:
            raise DomainError("invalid_check_digit", f"GTIN {gtin} has a wrong check digit.", 422)
        row = _products.get(("gtin", normal)) or await conn.fetchrow(
            f"""SELECT {_PRODUCT_FIXED} FROM product p JOIN product_gtin g ON g.product_id = p.id
               WHERE g.gtin = $1""",
            normal,
        )
        if row is None:
            raise DomainError("unknown_product", f"No product with GTIN {gtin}.", 422)
        _products.put(("gtin", normal), row)
    else:
        raise DomainError("product_required", "Name the product by sku or gtin.", 422)
    if sku is not None and gtin is not None:
        normal = normalize_gtin(gtin)
        owned = await conn.fetchval(
            "SELECT 1 FROM product_gtin WHERE gtin = $1 AND product_id = $2", normal, row["id"]
        )
        if owned is None:
            raise DomainError("gtin_mismatch", f"GTIN {gtin} does not belong to SKU {sku}.", 422)
    return row
