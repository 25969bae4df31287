"""Receiving goods."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.ledger.idempotency import replayed_response
from backend.receiving import service
from backend.receiving.schemas import ReceiptIn, ReceiptOut
from backend.web.deps import Db

__all__ = ["ReceiptController"]


class ReceiptController(Controller):
    path = "/api/receipts"
    tags = ["receiving"]

    @post("/", opt=allow("receiver", "supervisor"), status_code=201, operation_id="receive")
    async def receive(
        self, data: JSONBody[ReceiptIn], request: Request[Actor, Any, Any], db: Db
    ) -> Response[ReceiptOut]:
        """Receive goods into a lot; the first receipt of a lot code creates the lot.

        Without `lotCode` the code is made from the product's template. Retrying with the
        same `idempotencyKey` returns the first result and applies nothing again.
        """
        return replayed_response(await service.receive(db, data, request.user))
