"""Returns of shipped orders: find the order, open and close its return, and the alerts on
lots returned too often. Items come in as scans (POST /api/scans, context `return`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.ledger.idempotency import replayed_response
from backend.returns import service
from backend.returns.schemas import (
    CloseIn,
    DismissIn,
    FindIn,
    ReturnAlertOut,
    ReturnIn,
    ReturnOrder,
    ReturnOut,
    ReturnStatus,
)
from backend.web.deps import Db

__all__ = ["ReturnController"]

CLERKS = allow("returns", "supervisor")
"""On each handler, not the controller (see backend/trace/routes.py)."""
SUPERVISORS = allow("supervisor")

ReturnId = Annotated[int, PathParameter(ge=1, le=2**53)]
AlertId = Annotated[int, PathParameter(ge=1, le=2**53)]


class ReturnController(Controller):
    path = "/api/returns"
    tags = ["returns"]

    @post("/find", opt=CLERKS, status_code=200, operation_id="findReturnOrder")
    async def find(self, data: JSONBody[FindIn], db: Db) -> ReturnOrder:
        """The shipped order a shipping label or packing slip names: `ORDER-<id>`, a GS1
        barcode with AI (400) (the customer's order number, our externalId), or the
        externalId as text; with what each line shipped, by lot."""
        return await service.find_order(db, data)

    @get("/orders", opt=CLERKS, operation_id="searchReturnOrders")
    async def search(
        self, db: Db, q: Annotated[str, QueryParameter(min_length=1, max_length=200)]
    ) -> list[ReturnOrder]:
        """Shipped orders by external id (prefix), customer name or email (part) or customer
        ref (exact), most recently shipped first (at most 20)."""
        return await service.search_orders(db, q)

    @post("/", opt=CLERKS, status_code=HTTP_201_CREATED, operation_id="openReturn")
    async def open_return(
        self, data: JSONBody[ReturnIn], request: Request[Actor, Any, Any], db: Db
    ) -> Response[ReturnOut]:
        """Open a return (RMA) of a shipped order; when the order has an open return, that
        one is answered (200). Retrying with the same `idempotencyKey` answers the first."""
        return replayed_response(await service.open_return(db, data, request.user))

    @get("/", opt=CLERKS, operation_id="listReturns")
    async def list_returns(
        self,
        db: Db,
        status: Annotated[ReturnStatus | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[ReturnOut]:
        """Returns, newest first; `status=open` for those still taking items."""
        return await service.list_returns(db, status, limit)

    @get("/{return_id:int}", opt=CLERKS, operation_id="getReturn")
    async def get_return(self, return_id: ReturnId, db: Db) -> ReturnOut:
        """A return with what shipped per line and lot, what came back, and every item."""
        return await service.get_return(db, return_id)

    @post("/{return_id:int}/close", opt=CLERKS, status_code=200, operation_id="closeReturn")
    async def close(
        self,
        return_id: ReturnId,
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[CloseIn | None] = None,
    ) -> Response[ReturnOut]:
        """Close a return: it takes no more items. Once per `idempotencyKey`."""
        return replayed_response(
            await service.close_return(db, return_id, data or CloseIn(), request.user)
        )

    @get("/alerts", opt=SUPERVISORS, operation_id="listReturnAlerts")
    async def list_alerts(
        self,
        db: Db,
        dismissed: Annotated[bool | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[ReturnAlertOut]:
        """Lots whose return rate passed the threshold, newest first, each with a hold ready
        to place; `dismissed=false` for those still open."""
        return await service.list_alerts(db, dismissed, limit)

    @post(
        "/alerts/{alert_id:int}/dismiss",
        opt=SUPERVISORS,
        status_code=200,
        operation_id="dismissReturnAlert",
    )
    async def dismiss(
        self,
        alert_id: AlertId,
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[DismissIn | None] = None,
    ) -> ReturnAlertOut:
        """Dismiss an alert; the lot alerts again only when its rate passes the threshold
        anew."""
        return await service.dismiss_alert(db, alert_id, data or DismissIn(), request.user)
