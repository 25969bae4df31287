"""Apply a retried write once: the first result is stored with its key and returned again."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import msgspec
from litestar import Response

from backend.errors import DomainError

__all__ = ["Outcome", "apply_once", "replayed_response", "request_digest"]


class _Keyed(Protocol):
    idempotency_key: uuid.UUID


def request_digest(payload: msgspec.Struct) -> bytes:
    """A digest of the request, to tell a true retry from a reused key."""
    return hashlib.sha256(msgspec.json.encode(payload)).digest()


class _AlreadyApplied(Exception):
    """Another request with the same key committed first."""


async def _earlier(
    conn: asyncpg.Connection, key: uuid.UUID, operation: str, digest: bytes
) -> Outcome | None:
    """The committed result stored under `key`, if any; a different request is refused."""
    row = await conn.fetchrow(
        "SELECT operation, request_hash, status_code, response FROM idempotency_key WHERE key = $1",
        key,
    )
    if row is None:
        return None
    if row["operation"] != operation or bytes(row["request_hash"]) != digest:
        raise DomainError(
            "idempotency_key_reused",
            "This idempotencyKey was used for a different request.",
            409,
        )
    return Outcome(row["status_code"], row["response"], replayed=True)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a write: fresh, or the stored result of an earlier try."""

    status_code: int
    body: Any
    replayed: bool


async def apply_once(
    conn: asyncpg.Connection,
    data: _Keyed,
    operation: str,
    user_id: int,
    effect: Callable[[], Awaitable[Any]],
    status_code: int = 201,
) -> Outcome:
    """Run `effect` and store its result under the request's key, in one transaction.

    The key is written last, with the result, so a write costs one statement for its key.
    A retry that races the first try blocks on the rows the first one changed (its stock,
    its lot, its key) until that commits; then its own key insert finds the key taken, or
    its effect is refused for the stock the first one took. Either way it rolls back and
    returns the first result instead, so the effect applies once. A refusal with no stored
    result for its key stands.
    """
    assert isinstance(data, msgspec.Struct)
    digest = request_digest(data)
    key = data.idempotency_key
    try:
        async with conn.transaction():
            body = await effect()
            stored = await conn.fetchval(
                """INSERT INTO idempotency_key
                       (key, operation, user_id, request_hash, status_code, response)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (key) DO NOTHING RETURNING true""",
                key,
                operation,
                user_id,
                digest,
                status_code,
                msgspec.to_builtins(body),
            )
            if not stored:
                raise _AlreadyApplied
    except (_AlreadyApplied, DomainError):
        earlier = await _earlier(conn, key, operation, digest)
        if earlier is None:
            raise
        return earlier
    return Outcome(status_code, body, replayed=False)


def replayed_response(outcome: Outcome) -> Response[Any]:
    """The HTTP response of a write, marked when it repeats an earlier result."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(content=outcome.body, status_code=outcome.status_code, headers=headers)
