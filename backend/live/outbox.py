"""Writing live messages: an outbox row per message, numbered per warehouse, in the caller's
transaction (DESIGN.md rule 5).

The next number comes from `live_sequence`, whose row stays locked until the transaction
ends, so messages of one warehouse commit in the order of their numbers and none is skipped.
`NOTIFY lotline_live` carries only the warehouse id: it wakes the workers, which read what is
new from the table, so a notification lost with a connection loses no message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

__all__ = ["CHANNEL", "publish", "publish_everywhere", "publish_many"]

CHANNEL = "lotline_live"
"""The PostgreSQL notification channel the workers listen on."""

_PUBLISH = f"""
WITH next AS (
    INSERT INTO live_sequence AS s (warehouse_id, last_seq) VALUES ($1, $3)
    ON CONFLICT (warehouse_id) DO UPDATE SET last_seq = s.last_seq + $3
    RETURNING last_seq
), written AS (
    INSERT INTO live_message (warehouse_id, seq, type, data)
    SELECT $1, next.last_seq - $3 + m.n, $2, m.data::jsonb
      FROM next, unnest($4::text[]) WITH ORDINALITY AS m(data, n)
    RETURNING seq
)
SELECT max(seq) AS seq, pg_notify('{CHANNEL}', $1::text) FROM written"""

_encode = msgspec.json.Encoder().encode


async def publish(conn: asyncpg.Connection, warehouse_id: int, kind: str, data: Any) -> int:
    """Write one message for a warehouse's handhelds in the caller's transaction; its seq."""
    return await publish_many(conn, warehouse_id, kind, [data])


async def publish_many(
    conn: asyncpg.Connection, warehouse_id: int, kind: str, items: Sequence[Any]
) -> int:
    """Write messages of one kind for a warehouse, numbered in order, in one statement; the
    last seq (0 when there were none)."""
    if not items:
        return 0
    row = await conn.fetchrow(
        _PUBLISH, warehouse_id, kind, len(items), [_encode(item).decode() for item in items]
    )
    seq: int = row["seq"]
    return seq


async def publish_everywhere(conn: asyncpg.Connection, kind: str, items: Sequence[Any]) -> None:
    """Write the messages for every warehouse (a lot's status concerns them all), one
    statement per warehouse, in warehouse order so that two such writers cannot deadlock on
    the sequence rows."""
    if not items:
        return
    for warehouse in await conn.fetch("SELECT id FROM warehouse ORDER BY id"):
        await publish_many(conn, warehouse["id"], kind, items)
