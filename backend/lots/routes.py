"""Lot search and the lot card."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import asyncpg
from litestar import Controller, get
from litestar.params import Parameter

from backend.lots import service
from backend.lots.schemas import LotDetail, LotOut, LotStatus

__all__ = ["LotController"]


class LotController(Controller):
    path = "/api/lots"
    tags = ["lots"]

    @get("/", operation_id="searchLots")
    async def search(
        self,
        db: asyncpg.Connection,
        sku: Annotated[str | None, Parameter(max_length=64)] = None,
        code: Annotated[str | None, Parameter(max_length=20)] = None,
        status: LotStatus | None = None,
        expiring_before: Annotated[date | None, Parameter(query="expiringBefore")] = None,
        supplier_lot_code: Annotated[
            str | None, Parameter(query="supplierLotCode", max_length=80)
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> list[LotOut]:
        """Lots by SKU, code, status, supplier lot code or expiry, soonest expiry first."""
        return await service.search_lots(
            db,
            sku=sku,
            code=code,
            status=status,
            expiring_before=expiring_before,
            supplier_lot_code=supplier_lot_code,
            limit=limit,
            offset=offset,
        )

    @get("/{lot_id:int}", operation_id="getLot")
    async def detail(self, lot_id: int, db: asyncpg.Connection) -> LotDetail:
        """The lot card: status, dates, on hand by location and every movement."""
        return await service.get_lot(db, lot_id)
