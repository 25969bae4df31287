"""Offline handhelds: the snapshot, batch replay and scan exceptions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.ledger.idempotency import replayed_response
from backend.offline import service
from backend.offline.schemas import (
    ExceptionStatus,
    ReplayIn,
    ReplayOut,
    ResolveIn,
    ScanExceptionOut,
    Snapshot,
)
from backend.web.deps import Db

__all__ = ["OfflineController", "ReplayController", "ScanExceptionController"]

SUPERVISORS = allow("supervisor")


class OfflineController(Controller):
    path = "/api/offline"
    tags = ["offline"]

    @get("/snapshot", operation_id="offlineSnapshot")
    async def snapshot(
        self, warehouse: FromQuery[str], request: Request[Actor, Any, Any], db: Db
    ) -> Response[Snapshot]:
        """What a handheld checks scans against while offline: products with their GTINs,
        lots with stock in the warehouse and every lot not released, the warehouse's
        locations, and `asOfSeq` to resume the live channel from. Send the `ETag` back as
        `If-None-Match`: an unchanged snapshot is 304 with no body."""
        found = await service.snapshot(db, warehouse)
        etag = service.snapshot_etag(found)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in request.headers.get("if-none-match", "").replace(", ", ",").split(","):
            unchanged: Response[Any] = Response(
                content=b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers
            )
            return unchanged
        return Response(content=found, headers=headers)


class ReplayController(Controller):
    path = "/api/scans/replay"
    tags = ["scanning"]

    # Each scan checks its own context's roles, as at POST /api/scans.
    @post("/", status_code=200, operation_id="replayScans")
    async def replay(
        self, data: JSONBody[ReplayIn], request: Request[Actor, Any, Any], db: Db
    ) -> ReplayOut:
        """A handheld's queued scans (1 to 200, oldest first), each recorded in order as
        POST /api/scans would, in its own transaction: `results` says, per scan, its status
        (201 or its problem's), whether it repeats an earlier answer, and its verdict or
        problem. A refused scan does not stop the ones after it."""
        return await service.replay(db, data, request.user)


class ScanExceptionController(Controller):
    path = "/api/scan-exceptions"
    tags = ["offline"]

    @get("/", operation_id="listScanExceptions")
    async def list_exceptions(
        self,
        request: Request[Actor, Any, Any],
        db: Db,
        status: FromQuery[ExceptionStatus | None] = None,
        mine: FromQuery[bool] = False,
        warehouse: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[ScanExceptionOut]:
        """Offline scans the server refused, newest first. Supervisors see everyone's;
        anyone sees their own with `mine=true`."""
        return await service.list_exceptions(db, request.user, status, mine, warehouse, limit)

    @get("/{exception_id:int}", operation_id="getScanException")
    async def get_exception(
        self, exception_id: FromPath[int], request: Request[Actor, Any, Any], db: Db
    ) -> ScanExceptionOut:
        """One exception with its scan as recorded."""
        return await service.get_exception(db, exception_id, request.user)

    @post(
        "/{exception_id:int}/resolve",
        opt=SUPERVISORS,
        status_code=200,
        operation_id="resolveScanException",
    )
    async def resolve(
        self,
        exception_id: FromPath[int],
        data: JSONBody[ResolveIn],
        request: Request[Actor, Any, Any],
        db: Db,
    ) -> Response[ScanExceptionOut]:
        """Settle an exception: redone, written off, not needed, or other (with a note).
        409 `exception_resolved` when it is settled already; once per `idempotencyKey`."""
        return replayed_response(
            await service.resolve_exception(db, exception_id, data, request.user)
        )
