"""The demo seed fills a fresh database through the services, and a second run changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest

from backend.auth.schemas import LoginIn
from backend.auth.service import ROLES, login
from backend.domain.check_digits import is_valid_gtin
from backend.domain.lot_codes import is_printable_lot_code
from backend.ledger.check import find_drift
from backend.seed import seed_demo

pytestmark = pytest.mark.slow

_COUNTS = """
SELECT (SELECT count(*) FROM app_user) AS users,
       (SELECT count(*) FROM user_role) AS user_roles,
       (SELECT count(*) FROM warehouse) AS warehouses,
       (SELECT count(*) FROM location) AS locations,
       (SELECT count(*) FROM supplier) AS suppliers,
       (SELECT count(*) FROM product) AS products,
       (SELECT count(*) FROM product_gtin) AS gtins,
       (SELECT count(*) FROM lot) AS lots,
       (SELECT count(*) FROM serial) AS serials,
       (SELECT count(*) FROM movement) AS movements,
       (SELECT count(*) FROM stock_balance) AS balances,
       (SELECT coalesce(sum(quantity), 0) FROM stock_balance) AS units,
       (SELECT count(*) FROM idempotency_key) AS keys
"""

_LEDGER_VS_BALANCES = """
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
SELECT coalesce(l.lot_id, b.lot_id) AS lot_id, coalesce(l.location_id, b.location_id) AS loc,
       l.quantity AS ledger, b.quantity AS balance
  FROM ledger l FULL OUTER JOIN stock_balance b
    ON b.lot_id = l.lot_id AND b.location_id = l.location_id
 WHERE l.quantity IS DISTINCT FROM b.quantity
"""


@pytest.fixture(scope="module")
async def seeded(database_url: str) -> str:
    await seed_demo(database_url)
    return database_url


async def test_one_demo_user_per_role_signs_in_with_password_and_badge(seeded, db):
    rows = await db.fetch(
        """SELECT u.username, array_agg(r.role) AS roles, u.badge FROM app_user u
           JOIN user_role r ON r.user_id = u.id GROUP BY u.id ORDER BY u.username"""
    )
    assert len(rows) == 7
    assert {row["username"] for row in rows} == set(ROLES)
    for row in rows:
        assert list(row["roles"]) == [row["username"]]
        assert row["badge"] == f"BADGE-{row['username'].upper()}"
    for role in ROLES:
        by_password = await login(
            db, LoginIn(username=role, password="demo"), ttl=timedelta(minutes=5)
        )
        assert by_password.user.roles == [role]
        by_badge = await login(
            db, LoginIn(badge=f"BADGE-{role.upper()}", pin="1234"), ttl=timedelta(minutes=5)
        )
        assert by_badge.user.username == role


async def test_two_warehouses_with_bins_and_working_locations(seeded, db):
    warehouses = await db.fetch("SELECT code, id FROM warehouse ORDER BY code")
    assert [row["code"] for row in warehouses] == ["EAST", "MAIN"]
    kinds = await db.fetch(
        """SELECT w.code, l.kind, count(*) AS n FROM location l
           JOIN warehouse w ON w.id = l.warehouse_id GROUP BY 1, 2"""
    )
    per = {(row["code"], row["kind"]): row["n"] for row in kinds}
    assert per[("MAIN", "bin")] >= 30
    assert per[("EAST", "bin")] >= 15
    for site in ("MAIN", "EAST"):
        for kind, n in (
            ("staging", 1),
            ("pack_station", 2),
            ("quarantine", 1),
            ("disposal", 1),
        ):
            assert per[(site, kind)] == n, (site, kind)
    # The walk-in customer location, and one per customer that shipping made (MAIN); those
    # and the picker's tote, made on first use, have barcodes of their own.
    assert per[("EAST", "customer")] == 1 and per[("MAIN", "customer")] >= 2
    wrong = await db.fetchval(
        """SELECT count(*) FROM location l JOIN warehouse w ON w.id = l.warehouse_id
            WHERE l.barcode <> 'LOC-' || w.code || '-' || l.code
              AND l.code NOT LIKE 'CUSTOMER-%' AND l.code NOT LIKE 'TOTE-%'"""
    )
    assert wrong == 0
    # Walking order visits every bin once, in the order of its walk sequence.
    duplicates = await db.fetchval(
        """SELECT count(*) FROM (SELECT warehouse_id, walk_sequence FROM location
            WHERE kind = 'bin' GROUP BY 1, 2 HAVING count(*) > 1) d"""
    )
    assert duplicates == 0


async def test_catalogue_spans_five_categories_with_valid_gtins(seeded, db):
    products = await db.fetch("SELECT sku, category, tracking FROM product")
    assert len(products) >= 25
    categories = {row["category"] for row in products}
    assert categories == {"food", "supplements", "cosmetics", "electronics", "apparel"}
    tracking = {(row["category"], row["tracking"]) for row in products}
    assert ("apparel", "none") in tracking
    assert {t for c, t in tracking if c == "electronics"} <= {"serial", "lot_serial"}
    gtins = [row["gtin"] for row in await db.fetch("SELECT gtin FROM product_gtin")]
    assert len(gtins) >= len(products)
    assert all(is_valid_gtin(gtin) for gtin in gtins), gtins
    without_gtin = await db.fetchval(
        """SELECT count(*) FROM product p
            WHERE NOT EXISTS (SELECT 1 FROM product_gtin g WHERE g.product_id = p.id)"""
    )
    assert without_gtin == 0
    glns = [row["gln"] for row in await db.fetch("SELECT gln FROM supplier WHERE gln IS NOT NULL")]
    assert glns and all(is_valid_gtin(gln) for gln in glns)
    assert await db.fetchval("SELECT count(*) FROM supplier") >= 5


async def test_lots_are_dated_across_expired_soon_and_later(seeded, db):
    row = await db.fetchrow(
        """SELECT count(*) FILTER (WHERE expiry_date < current_date) AS expired,
                  count(*) FILTER (WHERE expiry_date >= current_date
                                     AND expiry_date < current_date + 30) AS soon,
                  count(*) FILTER (WHERE expiry_date >= current_date + 90) AS later
             FROM lot"""
    )
    assert row["expired"] >= 1
    assert row["soon"] >= 1
    assert row["later"] >= 10
    codes = [r["code"] for r in await db.fetch("SELECT code FROM lot")]
    assert all(is_printable_lot_code(code) for code in codes), codes
    # Every lot-tracked lot records its supplier and supplier lot code.
    missing = await db.fetchval(
        """SELECT count(*) FROM lot l JOIN product p ON p.id = l.product_id
            WHERE p.tracking = 'lot' AND (l.supplier_id IS NULL OR l.supplier_lot_code IS NULL
                                          OR l.expiry_date IS NULL)"""
    )
    assert missing == 0
    # Stock sits in both warehouses, and serials match serial-tracked stock.
    sites = await db.fetchval(
        """SELECT count(DISTINCT l.warehouse_id) FROM stock_balance b
           JOIN location l ON l.id = b.location_id WHERE b.quantity > 0"""
    )
    assert sites == 2
    assert await db.fetchval("SELECT count(*) FROM serial") > 0


async def test_history_has_moves_between_bins_and_warehouses(seeded, db):
    kinds = {
        row["kind"]: row["n"]
        for row in await db.fetch("SELECT kind, count(*) AS n FROM movement GROUP BY kind")
    }
    assert kinds["receipt"] >= 50
    assert kinds["move"] >= 3
    assert kinds["adjustment"] >= 1
    across = await db.fetchval(
        """SELECT count(*) FROM movement m
           JOIN location f ON f.id = m.from_location_id
           JOIN location t ON t.id = m.to_location_id
          WHERE m.kind = 'move' AND f.warehouse_id <> t.warehouse_id"""
    )
    assert across >= 1


async def test_orders_wait_with_a_wave_already_dealt_to_the_picker_and_two_have_shipped(seeded, db):
    statuses = {
        row["status"]: row["n"]
        for row in await db.fetch("SELECT status, count(*) AS n FROM sales_order GROUP BY status")
    }
    assert statuses == {"allocated": 3, "open": 1, "shipped": 2}
    # Every unit of the shipped orders is at their customers' locations, for returns.
    at_customers = await db.fetchval(
        """SELECT coalesce(sum(b.quantity), 0) FROM stock_balance b
             JOIN location l ON l.id = b.location_id WHERE l.kind = 'customer'"""
    )
    ordered = await db.fetchval(
        """SELECT sum(ol.quantity) FROM order_line ol
             JOIN sales_order o ON o.id = ol.order_id WHERE o.status = 'shipped'"""
    )
    assert at_customers == ordered > 0
    channels = await db.fetch("SELECT code, min_shelf_life_days, allow_split FROM channel")
    assert {(r["code"], r["min_shelf_life_days"], r["allow_split"]) for r in channels} == {
        ("shop", 0, True),
        ("amazon", 90, True),
        ("wholesale", 180, False),
    }
    tasks = await db.fetch(
        """SELECT u.username, t.quantity, b.allocated, b.quantity AS on_hand, l.status
             FROM pick_task t JOIN app_user u ON u.id = t.assignee_id
             JOIN stock_balance b ON b.lot_id = t.lot_id AND b.location_id = t.location_id
             JOIN lot l ON l.id = t.lot_id"""
    )
    assert tasks and {task["username"] for task in tasks} == {"picker"}
    assert all(t["status"] == "released" and t["allocated"] <= t["on_hand"] for t in tasks)


async def test_a_blind_count_of_the_short_dated_bins_waits_for_the_counter(seeded, db):
    tasks = await db.fetch(
        """SELECT t.status, c.blind, t.location_id,
                  (SELECT min(l.expiry_date) FROM stock_balance b JOIN lot l ON l.id = b.lot_id
                    WHERE b.location_id = t.location_id AND b.quantity > 0) AS soonest
             FROM count_task t JOIN cycle_count c ON c.id = t.count_id"""
    )
    assert tasks and all(t["status"] == "open" and t["blind"] for t in tasks)
    soon = date.today() + timedelta(days=60)
    assert all(t["soonest"] is not None and t["soonest"] <= soon for t in tasks)


async def test_ledger_equals_balances(seeded, db):
    assert await db.fetch(_LEDGER_VS_BALANCES) == []
    assert await find_drift(db) == []


async def test_second_run_changes_nothing(seeded, db, capsys):
    before = dict(await db.fetchrow(_COUNTS))
    await seed_demo(seeded)
    after = dict(await db.fetchrow(_COUNTS))
    assert after == before
    assert "already" in capsys.readouterr().out


async def test_concurrent_runs_seed_once(seeded, postgres, db):
    """Two processes seeding one empty database at once: one seeds, the other finds it done."""
    import asyncio
    import uuid

    from backend.db.provision import create_database, drop_database

    name = f"t_{uuid.uuid4().hex}"
    url = await create_database(
        postgres.admin_url, name, template=postgres.template, exist_ok=False
    )
    try:
        await asyncio.gather(seed_demo(url), seed_demo(url))
        conn = await asyncpg.connect(url)
        try:
            # Deterministic: the same demo as this module's database, loaded once.
            assert dict(await conn.fetchrow(_COUNTS)) == dict(await db.fetchrow(_COUNTS))
        finally:
            await conn.close()
    finally:
        await drop_database(postgres.admin_url, name)
