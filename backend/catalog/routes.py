"""Warehouses, locations, suppliers and products."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
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
from backend.web.deps import Db

__all__ = ["LocationController", "ProductController", "SupplierController", "WarehouseController"]

MANAGERS = allow("supervisor")


class WarehouseController(Controller):
    path = "/api/warehouses"
    tags = ["catalog"]

    @get("/", operation_id="listWarehouses")
    async def list_warehouses(self, db: Db) -> list[WarehouseOut]:
        """Every site."""
        return await service.list_warehouses(db)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createWarehouse")
    async def create_warehouse(self, data: JSONBody[WarehouseIn], db: Db) -> WarehouseOut:
        """Add a site."""
        return await service.create_warehouse(db, data)


class LocationController(Controller):
    path = "/api/locations"
    tags = ["catalog"]

    @get("/", operation_id="listLocations")
    async def list_locations(
        self,
        db: Db,
        warehouse: Annotated[str | None, QueryParameter(max_length=32)] = None,
        kind: FromQuery[LocationKind | None] = None,
    ) -> list[LocationOut]:
        """Bins and other locations, in walking order."""
        return await service.list_locations(db, warehouse, kind)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createLocation")
    async def create_location(self, data: JSONBody[LocationIn], db: Db) -> LocationOut:
        """Add a location; its barcode defaults to LOC-<WAREHOUSE>-<CODE>."""
        return await service.create_location(db, data)


class SupplierController(Controller):
    path = "/api/suppliers"
    tags = ["catalog"]

    @get("/", operation_id="listSuppliers")
    async def list_suppliers(self, db: Db) -> list[SupplierOut]:
        """Every supplier."""
        return await service.list_suppliers(db)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createSupplier")
    async def create_supplier(self, data: JSONBody[SupplierIn], db: Db) -> SupplierOut:
        """Add a supplier."""
        return await service.create_supplier(db, data)


class ProductController(Controller):
    path = "/api/products"
    tags = ["catalog"]

    @get("/", operation_id="listProducts")
    async def list_products(
        self,
        db: Db,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> list[ProductOut]:
        """Products, searched by SKU, name or exact GTIN."""
        return await service.list_products(db, q, limit, offset)

    @get("/{product_id:int}", operation_id="getProduct")
    async def get_product(self, product_id: FromPath[int], db: Db) -> ProductOut:
        """One product."""
        return await service.get_product(db, product_id)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createProduct")
    async def create_product(self, data: JSONBody[ProductIn], db: Db) -> ProductOut:
        """Add a product with its GTINs (check digits verified, stored as GTIN-14)."""
        return await service.create_product(db, data)
