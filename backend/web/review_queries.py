"""What the console's expiry report reads: stock by days to expiry, per warehouse and product,
and the lots behind each bucket (docs/console.md).

Reads only. Days to expiry are counted from the database's `current_date`, as the dashboard's
expiry panel and the lot cards do, so a lot shows the same days left everywhere. Stock in
customer locations is left out (it has shipped), as on the dashboard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

import asyncpg

from backend.trace.fsma import safe_cell

__all__ = [
    "BUCKETS",
    "EXPIRY_LOT_LIMIT",
    "Bucket",
    "BucketSum",
    "ExpiryFilter",
    "ExpiryLot",
    "ExpiryTotal",
    "bucket_named",
    "bucket_sums",
    "expiry_csv",
    "expiry_lots",
    "expiry_totals",
    "filter_problem",
    "in_bucket_order",
]

EXPIRY_LOT_LIMIT = 5000
"""Most lot rows a drill-down or download lists (one per lot and location)."""


@dataclass(frozen=True)
class Bucket:
    """Days to expiry from `low` to `high` (inclusive; None: unbounded)."""

    key: str
    label: str
    low: int | None
    high: int | None


BUCKETS = (
    Bucket("expired", "Expired", None, -1),
    Bucket("0-7", "0 to 7 days", 0, 7),
    Bucket("8-30", "8 to 30 days", 8, 30),
    Bucket("31-90", "31 to 90 days", 31, 90),
    Bucket("91-180", "91 to 180 days", 91, 180),
    Bucket("over-180", "Over 180 days", 181, None),
    Bucket("no-expiry", "No expiry date", None, None),
)
"""The report's buckets in order; a lot without an expiry date has a bucket of its own."""


def bucket_named(key: str) -> Bucket | None:
    return next((bucket for bucket in BUCKETS if bucket.key == key), None)


def _bucket_case() -> str:
    """The SQL that names a row's bucket from `days` (NULL: no expiry date)."""
    whens = []
    for bucket in BUCKETS:
        if bucket.key == "no-expiry":
            whens.append(f"WHEN days IS NULL THEN '{bucket.key}'")
        elif bucket.high is None:
            whens.append(f"WHEN days >= {bucket.low} THEN '{bucket.key}'")
        else:
            whens.append(f"WHEN days <= {bucket.high} THEN '{bucket.key}'")
    return "CASE " + " ".join(whens) + " END"


_STOCK = f"""
WITH stock AS (
  SELECT w.id AS warehouse_id, w.code AS warehouse, p.id AS product_id, p.sku,
         p.name AS product_name, l.id AS lot_id, l.code AS lot_code, l.status, l.expiry_date,
         l.expiry_date - current_date AS days, loc.code AS location, loc.kind,
         b.quantity, b.allocated
    FROM stock_balance b
    JOIN location loc ON loc.id = b.location_id AND loc.kind <> 'customer'
    JOIN warehouse w ON w.id = loc.warehouse_id
    JOIN lot l ON l.id = b.lot_id
    JOIN product p ON p.id = l.product_id
   WHERE b.quantity > 0
     AND ($1::text IS NULL OR w.code = $1)
     AND ($2::text IS NULL OR p.sku = $2)
), bucketed AS (
  SELECT stock.*, {_bucket_case()} AS bucket FROM stock
)"""

_TOTALS = (
    _STOCK
    + """
SELECT warehouse, product_id, sku, product_name, bucket, count(DISTINCT lot_id) AS lots,
       sum(quantity)::bigint AS on_hand, sum(allocated)::bigint AS allocated,
       (sum(quantity) FILTER (WHERE status <> 'released'))::bigint AS not_released
  FROM bucketed
 GROUP BY warehouse, product_id, sku, product_name, bucket
 ORDER BY warehouse, sku"""
)

_LOTS = (
    _STOCK
    + """
SELECT * FROM bucketed
 WHERE $3::text IS NULL OR bucket = $3
 ORDER BY expiry_date NULLS LAST, warehouse, sku, lot_code, location
 LIMIT $4"""
)


@dataclass(frozen=True)
class ExpiryFilter:
    """The report's filters: a warehouse code, a SKU, a bucket (each None for all)."""

    warehouse: str | None = None
    product: str | None = None
    bucket: str | None = None

    def query(self, **changes: str | None) -> str:
        """The query string of these filters with `changes`, for links and the download."""
        values = {"warehouse": self.warehouse, "product": self.product, "bucket": self.bucket}
        values.update(changes)
        return urlencode({name: value for name, value in values.items() if value})


@dataclass(frozen=True)
class ExpiryTotal:
    """Units and lots of one product in one warehouse, in one bucket."""

    warehouse: str
    product_id: int
    sku: str
    product_name: str
    bucket: str
    lots: int
    on_hand: int
    allocated: int
    not_released: int
    """Units of lots on hold, in quarantine or recalled."""


@dataclass(frozen=True)
class ExpiryLot:
    """Units of one lot in one location."""

    warehouse: str
    sku: str
    product_name: str
    lot_id: int
    lot_code: str
    status: str
    expiry: date | None
    days: int | None
    bucket: str
    location: str
    quantity: int
    allocated: int


async def filter_problem(conn: asyncpg.Connection, chosen: ExpiryFilter) -> str | None:
    """Why these filters name nothing that exists, or None."""
    if chosen.bucket is not None and bucket_named(chosen.bucket) is None:
        return f"There is no bucket {chosen.bucket}."
    if chosen.warehouse is not None and (
        await conn.fetchval("SELECT 1 FROM warehouse WHERE code = $1", chosen.warehouse) is None
    ):
        return f"There is no warehouse {chosen.warehouse}."
    if chosen.product is not None and (
        await conn.fetchval("SELECT 1 FROM product WHERE sku = $1", chosen.product) is None
    ):
        return f"There is no product with SKU {chosen.product}."
    return None


async def expiry_totals(conn: asyncpg.Connection, chosen: ExpiryFilter) -> list[ExpiryTotal]:
    """Per warehouse, product and bucket: lots, units on hand, allocated and not released."""
    rows = await conn.fetch(_TOTALS, chosen.warehouse, chosen.product)
    return [
        ExpiryTotal(
            warehouse=row["warehouse"],
            product_id=row["product_id"],
            sku=row["sku"],
            product_name=row["product_name"],
            bucket=row["bucket"],
            lots=row["lots"],
            on_hand=row["on_hand"],
            allocated=row["allocated"],
            not_released=row["not_released"] or 0,
        )
        for row in rows
    ]


async def expiry_lots(conn: asyncpg.Connection, chosen: ExpiryFilter) -> list[ExpiryLot]:
    """The lots behind the chosen bucket (every bucket when none), one row per location,
    soonest expiry first; at most EXPIRY_LOT_LIMIT rows."""
    rows = await conn.fetch(
        _LOTS, chosen.warehouse, chosen.product, chosen.bucket, EXPIRY_LOT_LIMIT
    )
    return [
        ExpiryLot(
            warehouse=row["warehouse"],
            sku=row["sku"],
            product_name=row["product_name"],
            lot_id=row["lot_id"],
            lot_code=row["lot_code"],
            status=row["status"],
            expiry=row["expiry_date"],
            days=row["days"],
            bucket=row["bucket"],
            location=row["location"],
            quantity=row["quantity"],
            allocated=row["allocated"],
        )
        for row in rows
    ]


def expiry_csv(lots: list[ExpiryLot]) -> str:
    """The lot rows as CSV, one line per lot and location, with a header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "warehouse",
            "sku",
            "product",
            "lot_id",
            "lot",
            "status",
            "expiry",
            "days_left",
            "bucket",
            "location",
            "on_hand",
            "allocated",
        ]
    )
    for lot in lots:
        writer.writerow(
            [
                safe_cell(cell)
                for cell in (
                    lot.warehouse,
                    lot.sku,
                    lot.product_name,
                    lot.lot_id,
                    lot.lot_code,
                    lot.status,
                    lot.expiry or "",
                    "" if lot.days is None else lot.days,
                    lot.bucket,
                    lot.location,
                    lot.quantity,
                    lot.allocated,
                )
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class BucketSum:
    """One bucket's lots and units over the rows shown."""

    bucket: Bucket
    lots: int
    on_hand: int
    allocated: int
    not_released: int


def bucket_sums(totals: list[ExpiryTotal]) -> list[BucketSum]:
    """Each bucket's sums over `totals`, in the buckets' order (a lot in two warehouses
    counts in each)."""
    return [
        BucketSum(
            bucket=bucket,
            lots=sum(t.lots for t in totals if t.bucket == bucket.key),
            on_hand=sum(t.on_hand for t in totals if t.bucket == bucket.key),
            allocated=sum(t.allocated for t in totals if t.bucket == bucket.key),
            not_released=sum(t.not_released for t in totals if t.bucket == bucket.key),
        )
        for bucket in BUCKETS
    ]


def in_bucket_order(totals: list[ExpiryTotal]) -> list[ExpiryTotal]:
    """`totals` by warehouse, SKU, then the buckets' order (soonest first)."""
    order = {bucket.key: n for n, bucket in enumerate(BUCKETS)}
    return sorted(totals, key=lambda t: (t.warehouse, t.sku, order[t.bucket]))
