"""Cycle counts: supervisors create, review and decide them; counters count their bins.

Counting itself is scans (`POST /api/scans`, context `count`, `countId`); these routes list
the tasks, correct a line and submit a bin.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.counts import service
from backend.counts.schemas import (
    AccuracyOut,
    CountIn,
    CountOut,
    CountTaskView,
    DecisionIn,
    LineIn,
    SubmitIn,
    TaskReview,
)
from backend.ledger.idempotency import replayed_response
from backend.web.deps import Db

__all__ = ["CountController", "CountTaskController"]

SUPERVISORS = allow("supervisor")
COUNTERS = allow("counter", "supervisor")

WarehouseCode = Annotated[str | None, QueryParameter(min_length=1, max_length=32)]


class CountController(Controller):
    path = "/api/counts"
    tags = ["counts"]

    @post("/", opt=SUPERVISORS, status_code=HTTP_201_CREATED, operation_id="createCount")
    async def create(
        self, data: JSONBody[CountIn], request: Request[Actor, Any, Any], db: Db
    ) -> CountOut:
        """Count a warehouse's bins chosen one way (`bins`, `sku`, `lotId` or `rule`): one
        task per bin. Blind unless `blind: false`."""
        return await service.create_count(db, data, request.user)

    @get("/", opt=SUPERVISORS, operation_id="listCounts")
    async def list_counts(
        self,
        db: Db,
        warehouse: WarehouseCode = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> list[CountOut]:
        """Counts, newest first, with their tasks' expected, counted and variance per lot."""
        return await service.list_counts(db, warehouse, limit)

    @get("/accuracy", opt=SUPERVISORS, operation_id="countAccuracy")
    async def accuracy(self, db: Db, warehouse: WarehouseCode = None) -> AccuracyOut:
        """Per bin and per counter: tasks, lines, exact lines, accuracy and units off."""
        return await service.count_accuracy(db, warehouse)

    @get("/{count_id:int}", opt=SUPERVISORS, operation_id="getCount")
    async def get_count(self, count_id: FromPath[int], db: Db) -> CountOut:
        """One count with every task and, per lot, snapshot, moves, expected and counted."""
        return await service.get_count(db, count_id)


class CountTaskController(Controller):
    path = "/api/count-tasks"
    tags = ["counts"]

    @get("/", opt=COUNTERS, operation_id="listCountTasks")
    async def list_tasks(
        self,
        request: Request[Actor, Any, Any],
        db: Db,
        warehouse: WarehouseCode = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> list[CountTaskView]:
        """The open tasks the caller may count, in walking order (blind: no expected
        quantities); a recount is never offered to the bin's first counter."""
        return await service.list_tasks(db, request.user, warehouse, limit)

    @get("/{task_id:int}", opt=COUNTERS, operation_id="getCountTask")
    async def get_task(
        self, task_id: FromPath[int], request: Request[Actor, Any, Any], db: Db
    ) -> CountTaskView:
        """One task as the counter sees it (blind unless its count is not)."""
        return await service.count_view(db, task_id, request.user)

    @post(
        "/{task_id:int}/lines/{lot_id:int}",
        opt=COUNTERS,
        status_code=200,
        operation_id="correctCountLine",
    )
    async def correct_line(
        self,
        task_id: FromPath[int],
        lot_id: FromPath[int],
        data: JSONBody[LineIn],
        request: Request[Actor, Any, Any],
        db: Db,
    ) -> Response[CountTaskView]:
        """Set what was counted of a lot (0 for none) in a bin being counted; once per
        `idempotencyKey`."""
        return replayed_response(
            await service.correct_line(db, task_id, lot_id, data, request.user)
        )

    @post("/{task_id:int}/submit", opt=COUNTERS, status_code=200, operation_id="submitCountTask")
    async def submit(
        self,
        task_id: FromPath[int],
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[SubmitIn | None] = None,
    ) -> CountTaskView:
        """Finish the bin: lots not scanned count as none; a variance past the threshold
        makes a recount for someone else. A retry answers the same."""
        return await service.submit_task(db, task_id, data or SubmitIn(), request.user)

    @post("/{task_id:int}/approve", opt=SUPERVISORS, status_code=200, operation_id="approveCount")
    async def approve(
        self,
        task_id: FromPath[int],
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[DecisionIn | None] = None,
    ) -> Response[TaskReview]:
        """Approve a counted bin (or its recount): each lot's variance becomes a ledger
        movement of kind `count`. 409 when a loss exceeds the free units; nothing written."""
        decision = data or DecisionIn()
        return replayed_response(await service.decide(db, task_id, True, decision, request.user))

    @post("/{task_id:int}/reject", opt=SUPERVISORS, status_code=200, operation_id="rejectCount")
    async def reject(
        self,
        task_id: FromPath[int],
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[DecisionIn | None] = None,
    ) -> Response[TaskReview]:
        """Reject a counted bin, or cancel one not counted: nothing is written to stock."""
        decision = data or DecisionIn()
        return replayed_response(await service.decide(db, task_id, False, decision, request.user))
