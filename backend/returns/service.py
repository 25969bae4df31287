"""Returns: SCAFFOLD of the two calls the scanning service makes."""

from __future__ import annotations

import asyncpg

from backend.auth.schemas import Actor
from backend.errors import DomainError
from backend.fulfilment.picking import Scanned, Step
from backend.returns.schemas import ReturnOut
from backend.scanning.schemas import ScanIn

__all__ = ["return_scan", "return_view"]


async def return_scan(
    conn: asyncpg.Connection, return_id: int, scanned: Scanned, data: ScanIn, actor: Actor
) -> Step:
    """Judge and apply one item scanned into a return (inside the scan's transaction)."""
    raise DomainError("return_not_found", f"No return {return_id}.", 404)


async def return_view(conn: asyncpg.Connection, return_id: int) -> ReturnOut:
    """The return as the clerk's handheld shows it."""
    raise DomainError("return_not_found", f"No return {return_id}.", 404)
