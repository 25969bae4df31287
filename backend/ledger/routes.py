"""Moves and adjustments."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.ledger import service
from backend.ledger.idempotency import replayed_response
from backend.ledger.schemas import AdjustmentIn, MoveIn, MovementResult
from backend.web.deps import Db

__all__ = ["StockController"]


class StockController(Controller):
    path = "/api"
    tags = ["stock"]

    @post("/moves", opt=allow("receiver", "supervisor"), status_code=201, operation_id="move")
    async def move(
        self, data: JSONBody[MoveIn], request: Request[Actor, Any, Any], db: Db
    ) -> Response[MovementResult]:
        """Move units of a lot between locations or warehouses; the lot goes with them."""
        return replayed_response(await service.move(db, data, request.user))

    @post("/adjustments", opt=allow("supervisor"), status_code=201, operation_id="adjust")
    async def adjust(
        self, data: JSONBody[AdjustmentIn], request: Request[Actor, Any, Any], db: Db
    ) -> Response[MovementResult]:
        """Correct stock at a location, up or down, with a reason."""
        return replayed_response(await service.adjust(db, data, request.user))
