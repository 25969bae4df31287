"""Request-scoped dependencies shared by every route."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TypeAlias

import asyncpg
from litestar.di import NamedDependency

from backend.db.engine import connection_pool

__all__ = ["Db", "provide_db"]

Db: TypeAlias = NamedDependency[asyncpg.Connection]
"""A handler parameter `db: Db` gets a pooled connection for the request."""


async def provide_db() -> AsyncGenerator[asyncpg.Connection, None]:
    """A pooled connection for the length of one request."""
    async with connection_pool().acquire() as connection:
        yield connection
