"""The console's pages of the expiry report, and reviewing counts, returns and scan exceptions
(docs/console.md).

Counts, returns and exceptions are read and decided through their own services (the same
calls as `/api/counts`, `/api/returns` and `/api/scan-exceptions`), with the same roles; the
expiry report reads `review_queries`.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from backend.auth.schemas import Actor
from backend.counts import service as counts
from backend.counts.schemas import CountOut, DecisionIn
from backend.errors import DomainError
from backend.offline import service as offline
from backend.offline.schemas import ResolveIn
from backend.returns import service as returns
from backend.returns.schemas import DismissIn
from backend.web import review_queries as report
from backend.web.console_kit import (
    ConsolePages,
    check_origin,
    console_actor,
    download,
    form_fields,
    page,
)
from backend.web.deps import Db

__all__ = ["ReviewPages"]

SUPERVISORS = ("supervisor",)
"""Counts, return-rate alerts and scan exceptions (as their API routes)."""
CLERKS = ("returns", "supervisor")
"""Returns (as `/api/returns`)."""

COUNT_LIST_LIMIT = 200
"""Counts the list reads, newest first."""
RETURN_LIST_LIMIT = 100
EXCEPTION_LIST_LIMIT = 200

_RETURN_STATES: dict[str, Literal["open", "closed"]] = {"open": "open", "closed": "closed"}
"""`?status=` of the returns list (none: all)."""

COUNT_STATES = {
    "waiting": "Waiting for approval",
    "open": "Not decided",
    "done": "Done",
    "all": "All",
}
"""The counts list's filter: `waiting` has a bin counted and not decided yet."""
_WAITING = ("submitted", "recounted")
_UNDECIDED = ("open", "counting", "submitted", "recount_required", "recounted")

_DECISION_FIELDS = {"note": 500, "idempotencyKey": 36}
_RESOLVE_FIELDS = {"resolution": 20, "note": 500, "idempotencyKey": 36}
RESOLUTIONS = {
    "redone": "Redone properly",
    "written_off": "Written off",
    "not_needed": "Not needed",
    "other": "Other (say why in the note)",
}


def _id(text: str, what: str) -> int:
    """A path's id, or the 404 page."""
    if not text.isdigit() or len(text) > 15 or int(text) == 0:
        raise HTTPException(status_code=404, detail=f"No {what} {text[:40]}.")
    return int(text)


def _query_text(request: Request[Any, Any, Any], name: str, limit: int = 64) -> str | None:
    """A query parameter, stripped; None when empty; ValueError past `limit` or with NUL."""
    value = (request.query_params.get(name) or "").strip()
    if len(value) > limit or "\x00" in value:
        raise ValueError(f"{name} takes at most {limit} characters, without NUL.")
    return value or None


def _form_problem(problem: msgspec.ValidationError) -> str:
    """What a person can do about a form the service's input refuses."""
    text = str(problem)
    if "$.idempotencyKey" in text:
        return "This form's key is missing or damaged: reload the page and send it again."
    if "$.resolution" in text:
        return "Choose how the exception was settled."
    return f"This form cannot be taken: {text}."


def _waiting(count: CountOut) -> bool:
    return any(task.status in _WAITING for task in count.tasks)


def _with_keys(count: CountOut) -> dict[int, tuple[str, str]]:
    """Fresh idempotency keys for each task's approve and reject forms, so a form sent twice
    applies once."""
    return {task.id: (str(uuid.uuid4()), str(uuid.uuid4())) for task in count.tasks}


class ReviewPages(ConsolePages):
    path = "/console"

    # --- expiry report --------------------------------------------------------------------

    async def _expiry_filter(
        self, request: Request[Any, Any, Any], db: Db
    ) -> tuple[report.ExpiryFilter, str | None]:
        try:
            chosen = report.ExpiryFilter(
                warehouse=_query_text(request, "warehouse", 32),
                product=_query_text(request, "product", 64),
                bucket=_query_text(request, "bucket", 16),
            )
        except ValueError as error:
            return report.ExpiryFilter(), str(error)
        problem = await report.filter_problem(db, chosen)
        return (report.ExpiryFilter(), problem) if problem else (chosen, None)

    @get("/expiry", name="console-expiry")
    async def expiry(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Stock by days to expiry, per warehouse and product; a bucket's lots below."""
        actor = await console_actor(request, db)
        chosen, problem = await self._expiry_filter(request, db)
        totals = await report.expiry_totals(db, chosen)
        lots = await report.expiry_lots(db, chosen) if chosen.bucket else []
        warehouses = await db.fetch("SELECT code, name FROM warehouse ORDER BY code")
        today = await db.fetchval("SELECT current_date")
        return page(
            "expiry.html",
            actor,
            400 if problem else 200,
            error=problem,
            chosen=chosen,
            warehouses=warehouses,
            buckets=report.BUCKETS,
            sums=report.bucket_sums(totals),
            totals=report.in_bucket_order(totals),
            lots=lots,
            bucket=report.bucket_named(chosen.bucket) if chosen.bucket else None,
            limit=report.EXPIRY_LOT_LIMIT,
            today=today,
        )

    @get("/expiry.csv", name="console-expiry-csv")
    async def expiry_download(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """The lot rows of the report's filters (every bucket unless one is chosen) as CSV."""
        actor = await console_actor(request, db)
        chosen, problem = await self._expiry_filter(request, db)
        if problem:
            return page("error.html", actor, 400, message=problem)
        lots = await report.expiry_lots(db, chosen)
        return download(report.expiry_csv(lots), "text/csv; charset=utf-8", "expiry.csv")

    # --- counts ---------------------------------------------------------------------------

    @get("/counts", name="console-counts")
    async def count_list(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Counts, those waiting for approval first, and how exact counts were."""
        actor = await console_actor(request, db, roles=SUPERVISORS)
        state = request.query_params.get("state") or "all"
        if state not in COUNT_STATES:
            return page(
                "counts.html",
                actor,
                400,
                error="Choose a state from the list.",
                state="all",
                states=COUNT_STATES,
                counts=[],
                accuracy=None,
            )
        found = await counts.list_counts(db, None, COUNT_LIST_LIMIT)
        if state == "waiting":
            found = [count for count in found if _waiting(count)]
        elif state == "open":
            found = [count for count in found if count.status == "open"]
        elif state == "done":
            found = [count for count in found if count.status == "done"]
        found.sort(key=lambda count: (not _waiting(count), -count.id))
        accuracy = await counts.count_accuracy(db, None)
        return page(
            "counts.html",
            actor,
            state=state,
            states=COUNT_STATES,
            counts=found,
            waiting=_waiting,
            accuracy=accuracy,
            limit=COUNT_LIST_LIMIT,
        )

    async def _count_page(
        self,
        actor: Actor,
        db: Db,
        count_id: int,
        status_code: int = HTTP_200_OK,
        error: str | None = None,
        failed_task: int | None = None,
        decided: str | None = None,
    ) -> Template:
        try:
            count = await counts.get_count(db, count_id)
        except DomainError as problem:
            raise HTTPException(status_code=404, detail=problem.detail) from problem
        accuracy = await counts.count_accuracy(db, count.warehouse)
        bins = {f"{task.bin.warehouse}/{task.bin.code}" for task in count.tasks}
        counters = {task.counted_by for task in count.tasks if task.counted_by}
        return page(
            "count.html",
            actor,
            status_code,
            count=count,
            keys=_with_keys(count),
            error=error,
            failed_task=failed_task,
            decided=decided,
            waiting=_WAITING,
            undecided=_UNDECIDED,
            by_bin=[row for row in accuracy.by_bin if row.name in bins],
            by_counter=[row for row in accuracy.by_counter if row.name in counters],
        )

    @get("/counts/{count_id:str}", name="console-count")
    async def count_review(
        self, request: Request[Any, Any, Any], count_id: FromPath[str], db: Db
    ) -> Template:
        """A count's tasks per bin, each lot's expected, counted and variance, and the
        approve and reject forms of the bins waiting for a decision."""
        actor = await console_actor(request, db, roles=SUPERVISORS)
        decided = request.query_params.get("decided")
        return await self._count_page(
            actor,
            db,
            _id(count_id, "count"),
            decided=decided if decided in ("approved", "rejected") else None,
        )

    async def _decide(
        self, request: Request[Any, Any, Any], db: Db, count_id: str, task_id: str, approve: bool
    ) -> Response[Any]:
        check_origin(request)
        actor = await console_actor(request, db, roles=SUPERVISORS)
        fields = await form_fields(request, _DECISION_FIELDS)
        count, task = _id(count_id, "count"), _id(task_id, "count task")
        found = await db.fetchval(
            "SELECT 1 FROM count_task WHERE id = $1 AND count_id = $2", task, count
        )
        if found is None:
            raise HTTPException(status_code=404, detail=f"No task {task} in count {count}.")
        try:
            decision = msgspec.convert(
                {"note": fields["note"] or None, "idempotencyKey": fields["idempotencyKey"]},
                DecisionIn,
            )
        except msgspec.ValidationError as problem:
            return await self._count_page(actor, db, count, 400, _form_problem(problem), task)
        try:
            await counts.decide(db, task, approve, decision, actor)
        except DomainError as problem:
            return await self._count_page(actor, db, count, problem.status, problem.detail, task)
        verdict = "approved" if approve else "rejected"
        return Redirect(f"/console/counts/{count}?decided={verdict}#task-{task}", status_code=303)

    @post(
        "/counts/{count_id:str}/tasks/{task_id:str}/approve",
        name="console-count-approve",
        status_code=HTTP_200_OK,
    )
    async def approve(
        self,
        request: Request[Any, Any, Any],
        count_id: FromPath[str],
        task_id: FromPath[str],
        db: Db,
    ) -> Response[Any]:
        """Approve a counted bin as `POST /api/count-tasks/{id}/approve` does."""
        return await self._decide(request, db, count_id, task_id, True)

    @post(
        "/counts/{count_id:str}/tasks/{task_id:str}/reject",
        name="console-count-reject",
        status_code=HTTP_200_OK,
    )
    async def reject(
        self,
        request: Request[Any, Any, Any],
        count_id: FromPath[str],
        task_id: FromPath[str],
        db: Db,
    ) -> Response[Any]:
        """Reject a counted bin, or cancel one not counted, as `POST
        /api/count-tasks/{id}/reject` does: nothing is written to stock."""
        return await self._decide(request, db, count_id, task_id, False)

    # --- returns --------------------------------------------------------------------------

    async def _returns_page(
        self,
        actor: Actor,
        db: Db,
        status: Literal["open", "closed"] | None = None,
        status_code: int = HTTP_200_OK,
        error: str | None = None,
        dismissed: str | None = None,
    ) -> Template:
        alerts = (
            await returns.list_alerts(db, False, RETURN_LIST_LIMIT)
            if actor.has_any(SUPERVISORS)
            else None
        )
        found = await returns.list_returns(db, status, RETURN_LIST_LIMIT)
        return page(
            "returns.html",
            actor,
            status_code,
            status=status,
            found=found,
            alerts=alerts,
            limit=RETURN_LIST_LIMIT,
            error=error,
            dismissed=dismissed,
        )

    @get("/returns", name="console-returns")
    async def return_list(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Returns, newest first (open or closed), and the open return-rate alerts."""
        actor = await console_actor(request, db, roles=CLERKS)
        shown = request.query_params.get("status") or ""
        if shown and shown not in _RETURN_STATES:
            return await self._returns_page(actor, db, None, 400, "Choose open, closed or all.")
        dismissed = request.query_params.get("dismissed")
        return await self._returns_page(
            actor,
            db,
            _RETURN_STATES.get(shown),
            dismissed=dismissed if dismissed and dismissed.isdigit() else None,
        )

    @post(
        "/returns/alerts/{alert_id:str}/dismiss",
        name="console-return-alert-dismiss",
        status_code=HTTP_200_OK,
    )
    async def dismiss_alert(
        self, request: Request[Any, Any, Any], alert_id: FromPath[str], db: Db
    ) -> Response[Any]:
        """Dismiss a return-rate alert with an optional note, as `POST
        /api/returns/alerts/{id}/dismiss` does; the lot alerts again only anew."""
        check_origin(request)
        actor = await console_actor(request, db, roles=SUPERVISORS)
        fields = await form_fields(request, {"note": 500})
        which = _id(alert_id, "return-rate alert")
        try:
            await returns.dismiss_alert(db, which, DismissIn(note=fields["note"] or None), actor)
        except DomainError as problem:
            return await self._returns_page(
                actor, db, status_code=problem.status, error=problem.detail
            )
        return Redirect(f"/console/returns?dismissed={which}", status_code=303)

    @get("/returns/{return_id:str}", name="console-return")
    async def return_detail(
        self, request: Request[Any, Any, Any], return_id: FromPath[str], db: Db
    ) -> Template:
        """A return: its order, what shipped and came back per line and lot, every item."""
        actor = await console_actor(request, db, roles=CLERKS)
        try:
            found = await returns.get_return(db, _id(return_id, "return"))
        except DomainError as problem:
            raise HTTPException(status_code=404, detail=problem.detail) from problem
        return page("return.html", actor, found=found)

    # --- scan exceptions ------------------------------------------------------------------

    async def _exceptions_page(
        self,
        actor: Actor,
        db: Db,
        status: str = "open",
        status_code: int = HTTP_200_OK,
        error: str | None = None,
        failed: int | None = None,
        resolved: str | None = None,
    ) -> Template:
        found = await offline.list_exceptions(
            db,
            actor,
            "resolved" if status == "resolved" else "open",
            False,
            None,
            EXCEPTION_LIST_LIMIT,
        )
        return page(
            "exceptions.html",
            actor,
            status_code,
            status=status,
            found=found,
            keys={found_one.id: str(uuid.uuid4()) for found_one in found},
            resolutions=RESOLUTIONS,
            error=error,
            failed=failed,
            resolved=resolved,
            limit=EXCEPTION_LIST_LIMIT,
        )

    @get("/exceptions", name="console-exceptions")
    async def exception_list(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Offline scans the server refused, open ones (or resolved), newest first, each
        with a form to resolve it."""
        actor = await console_actor(request, db, roles=SUPERVISORS)
        status = request.query_params.get("status") or "open"
        if status not in ("open", "resolved"):
            return await self._exceptions_page(
                actor, db, status_code=400, error="Choose open or resolved."
            )
        resolved = request.query_params.get("resolved")
        return await self._exceptions_page(
            actor, db, status, resolved=resolved if resolved and resolved.isdigit() else None
        )

    @post(
        "/exceptions/{exception_id:str}/resolve",
        name="console-exception-resolve",
        status_code=HTTP_200_OK,
    )
    async def resolve(
        self, request: Request[Any, Any, Any], exception_id: FromPath[str], db: Db
    ) -> Response[Any]:
        """Settle an exception as `POST /api/scan-exceptions/{id}/resolve` does."""
        check_origin(request)
        actor = await console_actor(request, db, roles=SUPERVISORS)
        fields = await form_fields(request, _RESOLVE_FIELDS)
        which = _id(exception_id, "scan exception")
        try:
            data = msgspec.convert(
                {
                    "resolution": fields["resolution"],
                    "note": fields["note"] or None,
                    "idempotencyKey": fields["idempotencyKey"],
                },
                ResolveIn,
            )
        except msgspec.ValidationError as problem:
            return await self._exceptions_page(
                actor,
                db,
                status_code=400,
                error=f"Exception {which} was not resolved. {_form_problem(problem)}",
                failed=which,
            )
        try:
            await offline.resolve_exception(db, which, data, actor)
        except DomainError as problem:
            return await self._exceptions_page(
                actor, db, status_code=problem.status, error=problem.detail, failed=which
            )
        return Redirect(f"/console/exceptions?resolved={which}", status_code=303)
