"""`lotline check`: recompute every balance from the ledger and report any drift.

DESIGN.md rule 1: the balance of each (lot, location) equals the sum of its movements, and
no balance is negative. Serial locations must agree with the balances too.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import asyncpg

__all__ = ["Drift", "find_drift", "run_check"]

_DRIFT_SQL = """
WITH flows AS (
    SELECT lot_id, to_location_id AS location_id, quantity FROM movement
     WHERE to_location_id IS NOT NULL
    UNION ALL
    SELECT lot_id, from_location_id, -quantity FROM movement
     WHERE from_location_id IS NOT NULL
), ledger AS (
    SELECT lot_id, location_id, sum(quantity)::bigint AS quantity FROM flows
     GROUP BY lot_id, location_id
)
SELECT coalesce(l.lot_id, b.lot_id) AS lot_id,
       coalesce(l.location_id, b.location_id) AS location_id,
       coalesce(l.quantity, 0) AS ledger, coalesce(b.quantity, 0) AS balance
  FROM ledger l FULL OUTER JOIN stock_balance b
    ON b.lot_id = l.lot_id AND b.location_id = l.location_id
 WHERE coalesce(l.quantity, 0) <> coalesce(b.quantity, 0) OR coalesce(l.quantity, 0) < 0
 ORDER BY 1, 2
"""

_SERIAL_SQL = """
SELECT b.lot_id, b.location_id, b.quantity AS balance, count(s.id) AS serials
  FROM stock_balance b
  JOIN lot l ON l.id = b.lot_id
  JOIN product p ON p.id = l.product_id AND p.tracking IN ('serial', 'lot_serial')
  LEFT JOIN serial s ON s.lot_id = b.lot_id AND s.location_id = b.location_id
 GROUP BY b.lot_id, b.location_id, b.quantity
HAVING count(s.id) <> b.quantity
"""


@dataclass(frozen=True, slots=True)
class Drift:
    """A (lot, location) whose balance disagrees with the ledger or its serials."""

    lot_id: int
    location_id: int
    expected: int
    found: int
    what: str


async def find_drift(conn: asyncpg.Connection) -> list[Drift]:
    """Every disagreement between the ledger, the balances and the serials."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        drift = [
            Drift(row["lot_id"], row["location_id"], row["ledger"], row["balance"], "balance")
            for row in await conn.fetch(_DRIFT_SQL)
        ]
        drift += [
            Drift(row["lot_id"], row["location_id"], row["balance"], row["serials"], "serials")
            for row in await conn.fetch(_SERIAL_SQL)
        ]
    return drift


async def _check(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        drift = await find_drift(conn)
        movements = await conn.fetchval("SELECT count(*) FROM movement")
        balances = await conn.fetchval("SELECT count(*) FROM stock_balance")
    finally:
        await conn.close()
    if not drift:
        print(f"ledger ok: {movements} movements, {balances} balances, no drift")
        return 0
    for item in drift:
        print(
            f"DRIFT lot={item.lot_id} location={item.location_id} {item.what}: "
            f"ledger says {item.expected}, found {item.found}",
            file=sys.stderr,
        )
    print(f"ledger drift in {len(drift)} places", file=sys.stderr)
    return 1


def run_check(database_url: str) -> int:
    """Exit code of `lotline check`: 0 when the ledger and balances agree, 1 otherwise."""
    return asyncio.run(_check(database_url))
