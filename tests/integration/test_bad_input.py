"""Bad input gets a clear 4xx problem+json with a stable code, and changes nothing."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.integration.arrange import Site, add_product, assert_problem, build_site, ok, receive

TABLES = ("movement", "stock_balance", "lot", "serial", "product", "idempotency_key", "location")


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> Site:
    built = await build_site(admin_client)
    await add_product(admin_client, sku="FLOUR")
    await ok(receive(admin_client, sku="FLOUR", lotCode="F1", quantity=5, location=built.bins[0]))
    return built


async def snapshot(db: asyncpg.Connection) -> dict[str, int]:
    return {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}


def receipt(site: Site, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "idempotencyKey": str(uuid.uuid4()),
        "sku": "FLOUR",
        "lotCode": "F1",
        "quantity": 1,
        "location": site.bins[0],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "body_required"),
        (b"{", "malformed_json"),
        (b'{"quantity": 1,,}', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[]", "invalid_request"),
        (b"null", "invalid_request"),
    ],
)
async def test_malformed_bodies_are_refused(admin_client, site, db, content, code):
    before = await snapshot(db)
    response = await admin_client.post(
        "/api/receipts", content=content, headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, code)
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": "1"},
        {"quantity": 1.5},
        {"quantity": 0},
        {"quantity": -3},
        {"quantity": 10**12},
        {"quantity": True},
        {"idempotencyKey": "not-a-uuid"},
        {"idempotencyKey": None},
        {"expiry": "2027-02-30"},
        {"expiry": "31/01/2027"},
        {"lotCode": ""},
        {"lotCode": "X" * 21},
        {"serials": "SN1"},
        {"location": ""},
        {"gtin": "12ab"},
        {"unexpected": "field"},
    ],
)
async def test_wrong_types_absurd_values_and_unknown_fields_are_refused(
    admin_client, site, db, overrides
):
    before = await snapshot(db)
    response = await admin_client.post("/api/receipts", json=receipt(site, **overrides))
    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"], body
    assert await snapshot(db) == before


async def test_a_missing_required_field_names_the_field(admin_client, site, db):
    body = receipt(site)
    del body["quantity"]
    problem = assert_problem(
        await admin_client.post("/api/receipts", json=body), 400, "invalid_request"
    )
    assert "quantity" in problem["detail"]


async def test_an_oversized_body_is_refused_before_it_is_read(admin_client, site, db):
    before = await snapshot(db)
    huge = receipt(site, reference="x" * 2_000_000)
    response = await admin_client.post("/api/receipts", json=huge)
    assert_problem(response, 413, "body_too_large")
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/lots/999999", "lot_not_found"),
        ("/api/products/999999", "product_not_found"),
        ("/api/lots/not-a-number", "not_found"),
        ("/api/nothing-here", "not_found"),
    ],
)
async def test_unknown_ids_and_paths_are_404(admin_client, site, path, code):
    assert_problem(await admin_client.get(path), 404, code)


async def test_a_wrong_method_is_405(admin_client, site):
    assert_problem(await admin_client.delete("/api/receipts"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"expiringBefore": "soon"}, "expiring"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
async def test_bad_query_parameters_are_refused(admin_client, site, params, field):
    body = assert_problem(
        await admin_client.get("/api/lots", params=params), 400, "invalid_request"
    )
    assert field in body["detail"]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/products", {"sku": "FLOUR", "name": "Again"}, 409, "duplicate_sku"),
        (
            "/api/products",
            {"sku": "P2", "name": "x", "gtins": ["09506000134353"]},
            422,
            "invalid_check_digit",
        ),
        (
            "/api/products",
            {"sku": "P3", "name": "x", "lotCodeTemplate": "{YY}"},
            422,
            "invalid_lot_template",
        ),
        ("/api/products", {"sku": "bad sku", "name": "x"}, 400, "invalid_request"),
        ("/api/products", {"sku": "P4", "name": "x", "tracking": "batch"}, 400, "invalid_request"),
        ("/api/locations", {"warehouse": "NOPE", "code": "X-1"}, 422, "unknown_warehouse"),
        ("/api/locations", {"warehouse": "WHA", "code": "A-01"}, 409, "duplicate_location"),
        (
            "/api/locations",
            {"warehouse": "WHA", "code": "Z-1", "kind": "attic"},
            400,
            "invalid_request",
        ),
        ("/api/warehouses", {"code": "WHA", "name": "Again"}, 409, "duplicate_warehouse"),
        ("/api/warehouses", {"code": "lower", "name": "x"}, 400, "invalid_request"),
    ],
)
async def test_catalogue_writes_refuse_bad_input(admin_client, site, db, path, body, status, code):
    before = await snapshot(db)
    assert_problem(await admin_client.post(path, json=body), status, code)
    assert await snapshot(db) == before
