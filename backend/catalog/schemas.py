"""Wire shapes of warehouses, locations, suppliers and products."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "LocationIn",
    "LocationKind",
    "LocationOut",
    "ProductIn",
    "ProductOut",
    "SupplierIn",
    "SupplierOut",
    "Tracking",
    "WarehouseIn",
    "WarehouseOut",
]

Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Gtin = Annotated[str, msgspec.Meta(pattern=r"^([0-9]{8}|[0-9]{12}|[0-9]{13}|[0-9]{14})$")]
LocationKind = Literal[
    "bin", "staging", "pack_station", "quarantine", "customer", "supplier", "disposal", "tote"
]
Tracking = Literal["none", "lot", "serial", "lot_serial"]


class _In(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    pass


class _Out(msgspec.Struct, rename="camel", kw_only=True):
    pass


class WarehouseIn(_In):
    code: Code
    name: Name
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"
    allow_lot_substitution: bool = True
    """Whether a picker may take another lot than the one allocated when it is equally
    eligible (same bin, released, meets the order's rules, expires no later)."""


class WarehouseOut(_Out):
    id: int
    code: str
    name: str
    timezone: str
    allow_lot_substitution: bool


class LocationIn(_In):
    warehouse: Code
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9_.-]{0,63}$")]
    kind: LocationKind = "bin"
    barcode: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] | None = None
    zone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    walk_sequence: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0


class LocationOut(_Out):
    id: int
    warehouse: str
    code: str
    barcode: str
    kind: str
    zone: str | None
    walk_sequence: int
    active: bool


class SupplierIn(_In):
    code: Code
    name: Name
    gln: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")] | None = None


class SupplierOut(_Out):
    id: int
    code: str
    name: str
    gln: str | None


class ProductIn(_In):
    sku: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    name: Name
    tracking: Tracking = "lot"
    gtins: Annotated[list[Gtin], msgspec.Meta(max_length=20)] = []
    category: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    shelf_life_days: Annotated[int, msgspec.Meta(ge=1, le=36_500)] | None = None
    lot_code_template: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] = "unit"


class ProductOut(_Out):
    id: int
    sku: str
    name: str
    tracking: str
    gtins: list[str]
    category: str | None
    shelf_life_days: int | None
    lot_code_template: str | None
    unit: str
