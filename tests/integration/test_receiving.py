"""Receiving over real HTTP into a real database: lots, generated codes, serials, retries."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from tests.integration.arrange import (
    OATS_GTIN,
    SERUM_GTIN,
    Site,
    add_product,
    assert_problem,
    build_site,
    ok,
    receive,
)


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> Site:
    built = await build_site(admin_client)
    await add_product(admin_client, sku="OATS", gtins=[OATS_GTIN], shelfLifeDays=365)
    await add_product(
        admin_client,
        sku="SERUM",
        gtins=[SERUM_GTIN],
        lotCodeTemplate="{SUPPLIER}{YY}{MM}-{SEQ:3}",
    )
    await add_product(admin_client, sku="PHONE", tracking="serial")
    await add_product(admin_client, sku="TEE", tracking="none")
    await ok(admin_client.post("/api/suppliers", json={"code": "ACME", "name": "Acme Foods"}))
    return built


async def movement_count(db: asyncpg.Connection) -> int:
    return await db.fetchval("SELECT count(*) FROM movement")


async def test_first_receipt_creates_the_lot_and_the_next_adds_to_it(admin_client, site, db):
    first = await ok(
        receive(
            admin_client,
            sku="OATS",
            lotCode="OAT-2611-A",
            quantity=12,
            location=site.bins[0],
            expiry="2027-06-30",
            supplier="ACME",
            supplierLotCode="ACME-77",
        )
    )
    assert first["lotCreated"] is True
    lot = first["lot"]
    assert (lot["code"], lot["status"], lot["expiry"]) == ("OAT-2611-A", "released", "2027-06-30")
    assert (lot["supplier"], lot["supplierLotCode"]) == ("ACME", "ACME-77")

    again = await ok(
        receive(
            admin_client, gtin=OATS_GTIN, lotCode="OAT-2611-A", quantity=8, location=site.bins[1]
        )
    )
    assert again["lotCreated"] is False
    assert again["lot"]["id"] == lot["id"]
    card = await ok(admin_client.get(f"/api/lots/{lot['id']}"))
    assert {(row["location"], row["quantity"]) for row in card["onHand"]} == {
        (site.bins[0], 12),
        (site.bins[1], 8),
    }
    assert card["onHandTotal"] == 20
    assert [entry["kind"] for entry in card["history"]] == ["receipt", "receipt"]


async def test_expiry_follows_from_production_date_and_shelf_life(admin_client, site):
    body = await ok(
        receive(
            admin_client, sku="OATS", quantity=1, location=site.bins[0], productionDate="2026-01-10"
        )
    )
    assert body["lot"]["expiry"] == "2027-01-10"


async def test_same_lot_code_with_other_dates_is_a_conflict_that_changes_nothing(
    admin_client, site, db
):
    await ok(
        receive(
            admin_client,
            sku="OATS",
            lotCode="OAT-C",
            quantity=5,
            location=site.bins[0],
            expiry="2027-01-31",
        )
    )
    before = await movement_count(db)
    response = await receive(
        admin_client,
        sku="OATS",
        lotCode="OAT-C",
        quantity=5,
        location=site.bins[0],
        expiry="2027-02-28",
    )
    body = assert_problem(response, 409, "lot_conflict")
    assert body["fields"] == ["expiry_date"]
    assert await movement_count(db) == before
    balance = await db.fetchval(
        """SELECT sum(quantity) FROM stock_balance b JOIN lot l ON l.id = b.lot_id
            WHERE l.code = 'OAT-C'"""
    )
    assert balance == 5


async def test_generated_codes_follow_the_template(admin_client, site, db):
    body = await ok(
        receive(admin_client, sku="SERUM", quantity=3, location=site.bins[2], supplier="ACME")
    )
    today = await db.fetchval("SELECT to_char(current_date, 'YYMM')")
    assert body["lot"]["code"] == f"ACME{today}-001"
    assert body["lotCreated"] is True


async def test_concurrent_receipts_never_generate_the_same_code(admin_client, site, db):
    responses = await asyncio.gather(
        *(receive(admin_client, sku="SERUM", quantity=1, location=site.bins[2]) for _ in range(30))
    )
    assert all(response.status_code == 201 for response in responses), [
        r.text for r in responses if r.status_code != 201
    ]
    codes = [response.json()["lot"]["code"] for response in responses]
    assert len(set(codes)) == 30
    sequences = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert sequences == list(range(sequences[0], sequences[0] + 30))


async def test_a_retried_receipt_applies_once_and_returns_the_first_result(admin_client, site, db):
    key = str(uuid.uuid4())
    body = {
        "idempotencyKey": key,
        "sku": "OATS",
        "lotCode": "OAT-R",
        "quantity": 4,
        "location": site.bins[0],
    }
    before = await movement_count(db)
    first = await admin_client.post("/api/receipts", json=body)
    second = await admin_client.post("/api/receipts", json=body)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await movement_count(db) == before + 1


async def test_racing_retries_of_one_receipt_apply_once(admin_client, site, db):
    body = {
        "idempotencyKey": str(uuid.uuid4()),
        "sku": "OATS",
        "lotCode": "OAT-RACE",
        "quantity": 2,
        "location": site.bins[0],
    }
    before = await movement_count(db)
    responses = await asyncio.gather(
        *(admin_client.post("/api/receipts", json=body) for _ in range(12))
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["movement"]["id"] for response in responses}) == 1
    assert await movement_count(db) == before + 1


async def test_a_key_reused_for_another_request_is_refused(admin_client, site, db):
    key = str(uuid.uuid4())
    await ok(
        admin_client.post(
            "/api/receipts",
            json={
                "idempotencyKey": key,
                "sku": "OATS",
                "lotCode": "OAT-K",
                "quantity": 1,
                "location": site.bins[0],
            },
        )
    )
    before = await movement_count(db)
    response = await admin_client.post(
        "/api/receipts",
        json={
            "idempotencyKey": key,
            "sku": "OATS",
            "lotCode": "OAT-K",
            "quantity": 9,
            "location": site.bins[0],
        },
    )
    assert_problem(response, 409, "idempotency_key_reused")
    assert await movement_count(db) == before


async def test_serial_tracked_receipts_need_one_unique_serial_per_unit(admin_client, site, db):
    before = await movement_count(db)
    short = await receive(
        admin_client, sku="PHONE", quantity=3, location=site.bins[3], serials=["SN1", "SN2"]
    )
    assert_problem(short, 422, "serial_count_mismatch")
    twice = await receive(
        admin_client, sku="PHONE", quantity=2, location=site.bins[3], serials=["SN1", "SN1"]
    )
    assert_problem(twice, 422, "duplicate_serial")
    assert await movement_count(db) == before

    body = await ok(
        receive(
            admin_client, sku="PHONE", quantity=2, location=site.bins[3], serials=["SN1", "SN2"]
        )
    )
    assert body["movement"]["serials"] == ["SN1", "SN2"]
    card = await ok(admin_client.get(f"/api/lots/{body['lot']['id']}"))
    assert card["onHand"][0]["serials"] == ["SN1", "SN2"]

    again = await receive(
        admin_client, sku="PHONE", quantity=1, location=site.bins[3], serials=["SN2"]
    )
    assert_problem(again, 409, "duplicate_serial")
    assert await movement_count(db) == before + 1


async def test_serials_on_a_product_without_them_are_refused(admin_client, site):
    response = await receive(
        admin_client, sku="OATS", quantity=1, location=site.bins[0], serials=["X1"]
    )
    assert_problem(response, 422, "serials_not_tracked")


async def test_untracked_products_keep_one_lot(admin_client, site):
    first = await ok(receive(admin_client, sku="TEE", quantity=5, location=site.bins[0]))
    second = await ok(receive(admin_client, sku="TEE", quantity=5, location=site.bins[1]))
    assert first["lot"]["id"] == second["lot"]["id"]
    assert second["lot"]["onHandTotal"] == 10
    with_code = await receive(
        admin_client, sku="TEE", lotCode="L1", quantity=1, location=site.bins[0]
    )
    assert_problem(with_code, 422, "lot_not_tracked")


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"sku": "NOPE"}, 422, "unknown_product"),
        ({"gtin": "09506000134353"}, 422, "invalid_check_digit"),
        ({"gtin": "09506000999999"}, 422, "unknown_product"),
        ({"sku": "OATS", "location": "NOWHERE"}, 422, "unknown_location"),
        ({"sku": "OATS", "supplier": "NOBODY"}, 422, "unknown_supplier"),
        ({"sku": "OATS", "gtin": SERUM_GTIN}, 422, "gtin_mismatch"),
        ({}, 422, "product_required"),
    ],
)
async def test_receipts_naming_unknown_things_are_refused(
    admin_client, site, db, fields, status, code
):
    before = await movement_count(db)
    body = {"quantity": 1, "location": site.bins[0], **fields}
    assert_problem(await receive(admin_client, **body), status, code)
    assert await movement_count(db) == before


async def test_goods_are_not_received_at_a_customer(admin_client, site):
    response = await receive(admin_client, sku="OATS", quantity=1, location=site.customer)
    assert_problem(response, 422, "invalid_location_kind")


async def test_lots_are_found_by_sku_code_status_and_expiry(admin_client, site):
    by_code = await ok(admin_client.get("/api/lots", params={"code": "OAT-2611-A"}))
    assert [lot["code"] for lot in by_code] == ["OAT-2611-A"]
    by_sku = await ok(admin_client.get("/api/lots", params={"sku": "OATS", "status": "released"}))
    assert "OAT-2611-A" in {lot["code"] for lot in by_sku}
    soon = await ok(admin_client.get("/api/lots", params={"expiringBefore": "2027-02-01"}))
    assert {lot["code"] for lot in soon} >= {"OAT-C"}
    assert all(lot["expiry"] < "2027-02-01" for lot in soon)
    by_supplier_lot = await ok(admin_client.get("/api/lots", params={"supplierLotCode": "ACME-77"}))
    assert [lot["code"] for lot in by_supplier_lot] == ["OAT-2611-A"]
