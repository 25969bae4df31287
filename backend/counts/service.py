"""Cycle counts: SCAFFOLD of the two calls the scanning service makes."""

from __future__ import annotations

import asyncpg

from backend.auth.schemas import Actor
from backend.counts.schemas import CountTaskView
from backend.errors import DomainError
from backend.fulfilment.picking import Scanned, Step
from backend.scanning.schemas import ScanIn

__all__ = ["count_scan", "count_view"]


async def count_scan(
    conn: asyncpg.Connection,
    task_id: int,
    scanned: Scanned,
    data: ScanIn,
    actor: Actor,
) -> Step:
    """Judge and apply one scan of a count task (inside the scan's transaction)."""
    raise DomainError("count_task_not_found", f"No count task {task_id}.", 404)


async def count_view(conn: asyncpg.Connection, task_id: int, actor: Actor) -> CountTaskView:
    """The count task as its counter's handheld shows it (blind unless it is not)."""
    raise DomainError("count_task_not_found", f"No count task {task_id}.", 404)
