"""Warehouses, locations, suppliers and products."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Controller, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from backend.auth.guards import allow
from backend.catalog import service
from backend.catalog.schemas import (
    LocationIn,
    LocationKind,
    LocationOut,
    ProductIn,
    ProductOut,
    SupplierIn,
    SupplierOut,
    WarehouseIn,
    WarehouseOut,
)

__all__ = ["LocationController", "ProductController", "SupplierController", "WarehouseController"]

MANAGERS = allow("supervisor")


class WarehouseController(Controller):
    path = "/api/warehouses"
    tags = ["catalog"]

    @get("/", operation_id="listWarehouses")
    async def list_warehouses(self, db: asyncpg.Connection) -> list[WarehouseOut]:
        """Every site."""
        return await service.list_warehouses(db)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createWarehouse")
    async def create_warehouse(self, data: WarehouseIn, db: asyncpg.Connection) -> WarehouseOut:
        """Add a site."""
        return await service.create_warehouse(db, data)


class LocationController(Controller):
    path = "/api/locations"
    tags = ["catalog"]

    @get("/", operation_id="listLocations")
    async def list_locations(
        self,
        db: asyncpg.Connection,
        warehouse: Annotated[str | None, Parameter(max_length=32)] = None,
        kind: LocationKind | None = None,
    ) -> list[LocationOut]:
        """Bins and other locations, in walking order."""
        return await service.list_locations(db, warehouse, kind)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createLocation")
    async def create_location(self, data: LocationIn, db: asyncpg.Connection) -> LocationOut:
        """Add a location; its barcode defaults to LOC-<WAREHOUSE>-<CODE>."""
        return await service.create_location(db, data)


class SupplierController(Controller):
    path = "/api/suppliers"
    tags = ["catalog"]

    @get("/", operation_id="listSuppliers")
    async def list_suppliers(self, db: asyncpg.Connection) -> list[SupplierOut]:
        """Every supplier."""
        return await service.list_suppliers(db)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createSupplier")
    async def create_supplier(self, data: SupplierIn, db: asyncpg.Connection) -> SupplierOut:
        """Add a supplier."""
        return await service.create_supplier(db, data)


class ProductController(Controller):
    path = "/api/products"
    tags = ["catalog"]

    @get("/", operation_id="listProducts")
    async def list_products(
        self,
        db: asyncpg.Connection,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> list[ProductOut]:
        """Products, searched by SKU, name or exact GTIN."""
        return await service.list_products(db, q, limit, offset)

    @get("/{product_id:int}", operation_id="getProduct")
    async def get_product(self, product_id: int, db: asyncpg.Connection) -> ProductOut:
        """One product."""
        return await service.get_product(db, product_id)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createProduct")
    async def create_product(self, data: ProductIn, db: asyncpg.Connection) -> ProductOut:
        """Add a product with its GTINs (check digits verified, stored as GTIN-14)."""
        return await service.create_product(db, data)
