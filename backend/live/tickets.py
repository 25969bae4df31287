"""Tickets for the live channel's hello, for pages whose session token scripts cannot read
(the console's HttpOnly cookie). A ticket opens `/ws` for a minute and nothing else: the
API's bearer-token check never looks at tickets (migration 0009)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from backend.auth.passwords import hash_token, new_token
from backend.auth.schemas import Actor

__all__ = ["TICKET_PREFIX", "TICKET_TTL", "actor_for_ticket", "issue_ticket"]

TICKET_PREFIX = "ticket."
"""How a hello's token says it is a ticket, so a handheld's hello costs one lookup, not two."""

TICKET_TTL = timedelta(seconds=60)
"""How long a ticket may be used for a hello (a page may open several sockets with one)."""


async def issue_ticket(conn: asyncpg.Connection, user_id: int) -> str:
    """A new ticket of this user; tickets already expired are deleted on the way."""
    ticket = TICKET_PREFIX + new_token()
    async with conn.transaction():
        await conn.execute("DELETE FROM live_ticket WHERE expires_at <= now()")
        await conn.execute(
            """INSERT INTO live_ticket (ticket_hash, user_id, expires_at)
               VALUES ($1, $2, now() + $3)""",
            hash_token(ticket),
            user_id,
            TICKET_TTL,
        )
    return ticket


async def actor_for_ticket(conn: asyncpg.Connection | asyncpg.Pool, ticket: str) -> Actor | None:
    """Who a ticket was issued to, or None when it is unknown, expired or the user inactive.
    The actor has no token (`token_id` 0): it can say hello and acknowledge, nothing more."""
    row = await conn.fetchrow(
        """SELECT u.id AS user_id, u.username,
                  coalesce((SELECT array_agg(r.role) FROM user_role r WHERE r.user_id = u.id),
                           '{}') AS roles
             FROM live_ticket t JOIN app_user u ON u.id = t.user_id
            WHERE t.ticket_hash = $1 AND t.expires_at > now() AND u.active""",
        hash_token(ticket),
    )
    if row is None:
        return None
    return Actor(
        user_id=row["user_id"], username=row["username"], roles=frozenset(row["roles"]), token_id=0
    )
