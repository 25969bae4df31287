"""Apply a retried write once, and answer its retries with the first result.

A ledger write stores its key in the same statement that writes its movement (the key row
points at the movement, which never changes), so the key costs no round trip of its own.
A retry that races the first try blocks on the rows the first one changes (its stock, its
lot, its key) until that commits; then its key insert fails on the key's primary key, or
its effect is refused for the stock the first one took. Either way nothing of it applies,
and it answers with the first try's result instead.
"""

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

__all__ = ["Key", "Outcome", "apply_once", "replayed_response", "request_digest"]

_KEY_CONSTRAINT = "idempotency_key_pkey"


class _Keyed(Protocol):
    @property
    def idempotency_key(self) -> uuid.UUID | None: ...


@dataclass(frozen=True, slots=True)
class Key:
    """What a write stores with its result: the client's key, the operation, a digest."""

    value: uuid.UUID
    operation: str
    user_id: int
    digest: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a write: fresh, or the result of an earlier try with the same key."""

    status_code: int
    body: Any
    replayed: bool


def request_digest(payload: msgspec.Struct) -> bytes:
    """A digest of the request, to tell a true retry from a reused key."""
    return hashlib.sha256(msgspec.json.encode(payload)).digest()


async def apply_once(
    conn: asyncpg.Connection,
    data: _Keyed,
    operation: str,
    user_id: int,
    effect: Callable[[Key], Awaitable[Any]],
    replay: Callable[[int], Awaitable[Any]],
    status_code: int = 201,
) -> Outcome:
    """Run `effect`, which stores `Key` with its movement atomically with its change.

    `replay(movement_id)` rebuilds the result of an earlier try from its movement.
    """
    assert isinstance(data, msgspec.Struct)
    assert data.idempotency_key is not None, "a write without a key is given one first"
    key = Key(data.idempotency_key, operation, user_id, request_digest(data))
    try:
        body = await effect(key)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != _KEY_CONSTRAINT:
            raise
        earlier = await _earlier(conn, key, replay)
        assert earlier is not None, "the key's row is committed when its insert conflicts"
        return earlier
    except DomainError:
        earlier = await _earlier(conn, key, replay)
        if earlier is None:
            raise
        return earlier
    return Outcome(status_code, body, replayed=False)


async def _earlier(
    conn: asyncpg.Connection, key: Key, replay: Callable[[int], Awaitable[Any]]
) -> Outcome | None:
    row = await conn.fetchrow(
        """SELECT operation, request_hash, status_code, response, movement_id
             FROM idempotency_key WHERE key = $1""",
        key.value,
    )
    if row is None:
        return None
    if row["operation"] != key.operation or bytes(row["request_hash"]) != key.digest:
        raise DomainError(
            "idempotency_key_reused",
            "This idempotencyKey was used for a different request.",
            409,
        )
    body = row["response"] if row["response"] is not None else await replay(row["movement_id"])
    return Outcome(row["status_code"], body, replayed=True)


def replayed_response(outcome: Outcome) -> Response[Any]:
    """The HTTP response of a write, marked when it repeats an earlier result."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(content=outcome.body, status_code=outcome.status_code, headers=headers)
