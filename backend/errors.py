"""Errors as values with stable codes, turned into RFC 9457 problem+json once, at the edge."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

__all__ = ["PROBLEM_RESPONSES", "DomainError", "Problem", "exception_handlers", "problem"]

log = logging.getLogger("lotline")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


class DomainError(Exception):
    """A refusal with a stable machine `code`, an HTTP status and a message for people."""

    def __init__(self, code: str, detail: str, status: int = 422, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra

    def as_problem(self) -> dict[str, Any]:
        """The problem+json body of this error."""
        return problem(self.status, self.code, self.detail, **self.extra)


def problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """Build a problem+json body."""
    body: dict[str, Any] = {
        "type": f"https://lotline.dev/problems/{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


def _response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=msgspec.json.encode(body),
        status_code=body["status"],
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _response(exc.as_problem())


_MALFORMED = ("malformed", "truncated", "trailing characters", "invalid utf-8")


def _is_malformed_json(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _MALFORMED)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = [error for error in (exc.extra or []) if isinstance(error, dict)]
    messages = "; ".join(str(error.get("message", "")) for error in errors)
    if any(error.get("key") == "data" and error.get("message") == "'data'" for error in errors):
        return _response(problem(400, "body_required", "This request needs a JSON body."))
    if _is_malformed_json(messages or str(exc.detail)):
        return _response(problem(400, "malformed_json", "The body is not valid JSON."))
    fields = ", ".join(
        str(error["key"]) for error in errors if error.get("key") not in (None, "data")
    )
    detail = f"{fields}: {messages}" if fields else messages or str(exc.detail)
    return _response(problem(400, "invalid_request", detail, errors=errors))


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 400 and _is_malformed_json(str(exc.detail)):
        return _response(problem(400, "malformed_json", "The body is not valid JSON."))
    if status >= 500:
        log.error("server error: %s", exc.detail)
        return _response(problem(status, "internal_error", "Something went wrong on the server."))
    code = _STATUS_CODES.get(status, "bad_request")
    headers = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else None
    return _response(problem(status, code, str(exc.detail)), headers)


_DATABASE_AWAY = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.InterfaceError,
    OSError,
)
"""Errors that mean the database is unreachable or shutting down, not that the request or
the code is wrong."""


def _database_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, _DATABASE_AWAY):
        log.warning("database unavailable: %s", exc)
        return _response(problem(503, "database_unavailable", "The database is unavailable."))
    if isinstance(exc, asyncpg.exceptions.DataError):
        return _response(problem(422, "invalid_value", "A value is out of range or malformed."))
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        # A rule the database holds caught what the service's own checks did not.
        log.warning("constraint violation: %s", exc)
        return _response(problem(409, "constraint_violation", "The change breaks a stock rule."))
    log.exception("database error", exc_info=exc)
    return _response(problem(500, "internal_error", "Something went wrong on the server."))


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error", exc_info=exc)
    return _response(problem(500, "internal_error", "Something went wrong on the server."))


exception_handlers: dict[Any, Any] = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    asyncpg.PostgresError: _database_error,
    asyncpg.InterfaceError: _database_error,
    OSError: _database_error,
    Exception: _unexpected,
}


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem; `code` is the stable machine code. More members may follow."""

    type: str
    title: str
    status: int
    detail: str
    code: str


PROBLEM_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_JSON,
        description=description,
        generate_examples=False,
    )
    for status, description in {
        400: "Malformed JSON or a body that does not match the schema",
        401: "Missing, unknown, expired or revoked token",
        403: "The caller's roles may not use this route",
        404: "No such resource",
        409: "Conflicts with the current state (stock, lot record, idempotency key)",
        413: "The body is too large",
        422: "Well-formed but refused by a rule",
    }.items()
}
"""The error responses every route documents, all as problem+json."""
