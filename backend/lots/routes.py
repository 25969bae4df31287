"""Lot search and the lot card."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, QueryParameter

from backend.lots import service
from backend.lots.schemas import LotDetail, LotOut, LotStatus
from backend.web.deps import Db

__all__ = ["LotController"]


class LotController(Controller):
    path = "/api/lots"
    tags = ["lots"]

    @get("/", operation_id="searchLots")
    async def search(
        self,
        db: Db,
        sku: Annotated[str | None, QueryParameter(max_length=64)] = None,
        code: Annotated[str | None, QueryParameter(max_length=20)] = None,
        status: FromQuery[LotStatus | None] = None,
        expiring_before: Annotated[date | None, QueryParameter(name="expiringBefore")] = None,
        supplier_lot_code: Annotated[
            str | None, QueryParameter(name="supplierLotCode", max_length=80)
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
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
    async def detail(self, lot_id: FromPath[int], db: Db) -> LotDetail:
        """The lot card: status, dates, on hand by location and every movement."""
        return await service.get_lot(db, lot_id)
