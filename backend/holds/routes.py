"""Holds, quarantines and recalls."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.holds import service
from backend.holds.schemas import HoldIn, HoldOut, Impact, ImpactIn, ReleaseIn
from backend.ledger.idempotency import replayed_response
from backend.web.deps import Db

__all__ = ["HoldController"]

SUPERVISORS = allow("supervisor")


class HoldController(Controller):
    path = "/api/holds"
    tags = ["holds"]
    opt = SUPERVISORS

    @post("/impact", status_code=200, operation_id="holdImpact")
    async def impact(self, data: JSONBody[ImpactIn], db: Db) -> Impact:
        """What holding these lots would touch, changing nothing: stock by location, open
        pick tasks, units picked or packed but not shipped, and the customers who got them."""
        return await service.impact(db, await service.select_lots(db, data))

    @post("/", status_code=HTTP_201_CREATED, operation_id="placeHold")
    async def place(
        self, data: JSONBody[HoldIn], request: Request[Actor, Any, Any], db: Db
    ) -> Response[HoldOut]:
        """Hold, quarantine or recall lots (by id, by product and production dates, or by
        supplier lot code). In the same transaction their open pick tasks move to the next
        eligible lot or go short, and every handheld is told. Once per `idempotencyKey`."""
        return replayed_response(await service.place_hold(db, data, request.user))

    @post("/{hold_id:int}/release", status_code=200, operation_id="releaseHold")
    async def release(
        self,
        hold_id: FromPath[int],
        data: JSONBody[ReleaseIn],
        request: Request[Actor, Any, Any],
        db: Db,
    ) -> Response[HoldOut]:
        """Release a hold; its lots take the status of their other active holds, or released."""
        return replayed_response(await service.release_hold(db, hold_id, data, request.user))

    @get("/", operation_id="listHolds")
    async def list_holds(
        self,
        db: Db,
        active: FromQuery[bool | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[HoldOut]:
        """Holds, newest first; `active=true` for those not released."""
        return await service.list_holds(db, active, limit)

    @get("/{hold_id:int}", operation_id="getHold")
    async def get_hold(self, hold_id: FromPath[int], db: Db) -> HoldOut:
        """One hold with its lots."""
        return await service.get_hold(db, hold_id)
