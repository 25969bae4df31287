"""A realistic warehouse to benchmark against, loaded with COPY in about a second.

Two sites of bins, a catalogue with GTINs, lots with production and expiry dates, and the
opening stock: one `receipt` movement per opening balance and the matching `stock_balance`
row, so the ledger and the balances agree from the first request on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg

__all__ = ["Dataset", "LotRef", "gtin14", "ledger_mismatches", "load_dataset"]

BINS_PER_WAREHOUSE = 2_500
PRODUCTS = 2_000
LOTS_PER_PRODUCT = 10
WAREHOUSES = ("WH1", "WH2")


@dataclass(frozen=True, slots=True)
class LotRef:
    """What a client needs to name a lot and where its stock is."""

    id: int
    sku: str
    code: str
    bins: tuple[str, ...]
    """Barcodes of the bins holding its opening stock."""

    gtin: str = ""
    """The product's first GTIN-14, as printed on the lot's cartons."""

    expiry: date | None = None


@dataclass
class Dataset:
    """What was loaded, for benchmarks to pick their requests from."""

    bins: list[str] = field(default_factory=list)
    """Barcodes of every bin."""

    skus: list[str] = field(default_factory=list)
    lots: list[LotRef] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    """Rows loaded per table."""


def gtin14(body13: str) -> str:
    """A GTIN-14 from 13 digits and its GS1 mod-10 check digit."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(body13))
    return body13 + str((10 - total % 10) % 10)


async def load_dataset(
    conn: asyncpg.Connection,
    *,
    scale: float,
    user_id: int,
    history: int = 0,
    seed: int = 20261123,
) -> Dataset:
    """Fill an empty, migrated database; `scale` multiplies the number of bins and products.

    `history` adds that many moves per lot after its receipt, there and back between two
    bins of its site (rounded down to an even number, so they net to nothing): lot cards
    and traces then read a ledger of realistic depth while the balances stay those of the
    opening stock.
    """
    rng = random.Random(seed)
    today = date.today()
    bins_per_site = max(10, int(BINS_PER_WAREHOUSE * scale))
    products = max(10, int(PRODUCTS * scale))
    dataset = Dataset()

    warehouses = [(index + 1, code, f"Site {code}") for index, code in enumerate(WAREHOUSES)]
    locations: list[tuple[int, int, str, str, str, str | None, int]] = []
    bins_by_site: dict[int, list[tuple[int, str]]] = {}
    location_id = 0
    for warehouse_id, site, _ in warehouses:
        site_bins = bins_by_site.setdefault(warehouse_id, [])
        for index in range(bins_per_site):
            aisle, rest = divmod(index, 100)
            bay, level = divmod(rest, 4)
            code = f"A{aisle + 1:02d}-{bay + 1:02d}-{level + 1}"
            location_id += 1
            barcode = f"LOC-{site}-{code}"
            locations.append(
                (location_id, warehouse_id, code, barcode, "bin", f"Z{aisle // 5 + 1}", index)
            )
            site_bins.append((location_id, barcode))
        for code, kind in (("DOCK-IN", "staging"), ("QUAR", "quarantine"), ("CUST", "customer")):
            location_id += 1
            locations.append((location_id, warehouse_id, code, f"LOC-{site}-{code}", kind, None, 0))
    dataset.bins = [barcode for site_bins in bins_by_site.values() for _, barcode in site_bins]

    product_rows: list[tuple[int, str, str, str, str, int]] = []
    gtin_rows: list[tuple[str, int]] = []
    for product_id in range(1, products + 1):
        sku = f"SKU-{product_id:06d}"
        shelf_life = rng.choice((21, 45, 90, 180, 365, 730))
        product_rows.append(
            (
                product_id,
                sku,
                f"Product {product_id}",
                rng.choice(("food", "cosmetics", "pet")),
                "lot",
                shelf_life,
            )
        )
        gtin_rows.append((gtin14(f"0950600{product_id:06d}"), product_id))
        if product_id % 2 == 0:
            gtin_rows.append((gtin14(f"1950600{product_id:06d}"), product_id))
        dataset.skus.append(sku)

    lot_rows: list[tuple[int, int, str, date, date]] = []
    movement_rows: list[tuple[str, int, int | None, int, int, int]] = []
    balance_rows: list[tuple[int, int, int]] = []
    lot_id = 0
    first_gtin = {product_id: gtin for gtin, product_id in reversed(gtin_rows)}
    for product_id, sku, *_, shelf_life in product_rows:
        for number in range(1, LOTS_PER_PRODUCT + 1):
            lot_id += 1
            code = f"L{product_id:06d}-{number:02d}"
            produced = today - timedelta(days=rng.randint(0, 60))
            expiry = produced + timedelta(shelf_life)
            lot_rows.append((lot_id, product_id, code, produced, expiry))
            site_bins = bins_by_site[rng.choice(list(bins_by_site))]
            held_in = rng.sample(site_bins, rng.choice((1, 2, 2, 3)))
            for bin_id, _ in held_in:
                quantity = rng.randint(50, 500)
                movement_rows.append(("receipt", lot_id, None, bin_id, quantity, user_id))
                balance_rows.append((lot_id, bin_id, quantity))
            here = held_in[0][0]
            there = rng.choice([bin_id for bin_id, _ in site_bins[:8] if bin_id != here])
            for leg in range(history // 2 * 2):
                source, target = (here, there) if leg % 2 == 0 else (there, here)
                movement_rows.append(("move", lot_id, source, target, 1, user_id))
            dataset.lots.append(
                LotRef(
                    lot_id,
                    sku,
                    code,
                    tuple(barcode for _, barcode in held_in),
                    gtin=first_gtin[product_id],
                    expiry=expiry,
                )
            )

    async with conn.transaction():
        await conn.copy_records_to_table(
            "warehouse", records=warehouses, columns=["id", "code", "name"]
        )
        await conn.copy_records_to_table(
            "location",
            records=locations,
            columns=["id", "warehouse_id", "code", "barcode", "kind", "zone", "walk_sequence"],
        )
        await conn.copy_records_to_table(
            "product",
            records=product_rows,
            columns=["id", "sku", "name", "category", "tracking", "shelf_life_days"],
        )
        await conn.copy_records_to_table(
            "product_gtin", records=gtin_rows, columns=["gtin", "product_id"]
        )
        await conn.copy_records_to_table(
            "lot",
            records=lot_rows,
            columns=["id", "product_id", "code", "production_date", "expiry_date"],
        )
        await conn.copy_records_to_table(
            "movement",
            records=movement_rows,
            columns=["kind", "lot_id", "from_location_id", "to_location_id", "quantity", "user_id"],
        )
        await conn.copy_records_to_table(
            "stock_balance", records=balance_rows, columns=["lot_id", "location_id", "quantity"]
        )
        for table in ("warehouse", "location", "product", "lot"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    await conn.execute("ANALYZE")
    dataset.counts = {
        "warehouse": len(warehouses),
        "location": len(locations),
        "product": len(product_rows),
        "product_gtin": len(gtin_rows),
        "lot": len(lot_rows),
        "movement": len(movement_rows),
        "stock_balance": len(balance_rows),
    }
    return dataset


async def ledger_mismatches(conn: asyncpg.Connection) -> int:
    """(lot, location) pairs whose balance differs from the sum of their movements."""
    count: int = await conn.fetchval(
        """WITH ledger AS (
               SELECT lot_id, location_id, sum(delta) AS quantity FROM (
                   SELECT lot_id, to_location_id AS location_id, quantity AS delta
                     FROM movement WHERE to_location_id IS NOT NULL
                   UNION ALL
                   SELECT lot_id, from_location_id, -quantity
                     FROM movement WHERE from_location_id IS NOT NULL) AS legs
                GROUP BY lot_id, location_id)
           SELECT count(*) FROM ledger l
             FULL JOIN stock_balance b USING (lot_id, location_id)
            WHERE coalesce(l.quantity, 0) <> coalesce(b.quantity, 0)"""
    )
    return count
