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

__all__ = [
    "Outcome",
    "Replay",
    "apply_once",
    "claim_key",
    "remember_result",
    "replayed_response",
    "request_digest",
]


class _Keyed(Protocol):
    idempotency_key: uuid.UUID


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored result of an earlier request with the same key."""

    status_code: int
    body: Any


def request_digest(payload: msgspec.Struct) -> bytes:
    """A digest of the request, to tell a true retry from a reused key."""
    return hashlib.sha256(msgspec.json.encode(payload)).digest()


async def claim_key(
    conn: asyncpg.Connection, key: uuid.UUID, operation: str, user_id: int, digest: bytes
) -> Replay | None:
    """Claim `key` inside the caller's transaction, or return the result it already has.

    A concurrent request with the same key waits on the key's row until the first commits
    (then gets its result) or rolls back (then proceeds itself).
    """
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_key (key, operation, user_id, request_hash)
           VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING true""",
        key,
        operation,
        user_id,
        digest,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT operation, request_hash, status_code, response FROM idempotency_key WHERE key = $1",
        key,
    )
    if row["operation"] != operation or bytes(row["request_hash"]) != digest:
        raise DomainError(
            "idempotency_key_reused",
            "This idempotencyKey was used for a different request.",
            409,
        )
    return Replay(status_code=row["status_code"], body=row["response"])


async def remember_result(
    conn: asyncpg.Connection, key: uuid.UUID, status_code: int, body: Any
) -> None:
    """Store the result for `key` in the same transaction as its effect."""
    await conn.execute(
        "UPDATE idempotency_key SET status_code = $2, response = $3 WHERE key = $1",
        key,
        status_code,
        msgspec.to_builtins(body),
    )


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
    """Run `effect` and store its result under the request's key, all in one transaction."""
    assert isinstance(data, msgspec.Struct)
    async with conn.transaction():
        replay = await claim_key(
            conn, data.idempotency_key, operation, user_id, request_digest(data)
        )
        if replay is not None:
            return Outcome(replay.status_code, replay.body, replayed=True)
        body = await effect()
        await remember_result(conn, data.idempotency_key, status_code, body)
        return Outcome(status_code, body, replayed=False)


def replayed_response(outcome: Outcome) -> Response[Any]:
    """The HTTP response of a write, marked when it repeats an earlier result."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return Response(content=outcome.body, status_code=outcome.status_code, headers=headers)
