"""The ledger's invariants over real HTTP: no oversell, lots kept, append-only, checked."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from tests.integration.arrange import (
    Site,
    add_product,
    assert_problem,
    build_site,
    lotline_check,
    move,
    ok,
    receive,
)


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> Site:
    built = await build_site(admin_client)
    await add_product(admin_client, sku="TEA", shelfLifeDays=400)
    await add_product(admin_client, sku="CAM", tracking="lot_serial")
    return built


async def stocked_lot(client: httpx.AsyncClient, site: Site, quantity: int, code: str) -> int:
    body = await ok(
        receive(
            client,
            sku="TEA",
            lotCode=code,
            quantity=quantity,
            location=site.bins[0],
            expiry="2030-01-01",
        )
    )
    return int(body["lot"]["id"])


async def test_fifty_concurrent_takes_of_ten_units_sell_exactly_ten(
    admin_client, site, db, database_url
):
    lot_id = await stocked_lot(admin_client, site, 10, "TEA-LAST10")
    responses = await asyncio.gather(
        *(
            move(
                admin_client, lotId=lot_id, quantity=1, **{"from": site.bins[0], "to": site.bins[1]}
            )
            for _ in range(50)
        )
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"insufficient_stock"}
    balances = dict(
        await db.fetch(
            """SELECT l.code || '/' || loc.code, b.quantity FROM stock_balance b
                JOIN location loc ON loc.id = b.location_id JOIN lot l ON l.id = b.lot_id
               WHERE b.lot_id = $1""",
            lot_id,
        )
    )
    assert balances == {"TEA-LAST10/A-01": 0, "TEA-LAST10/A-02": 10}
    result = lotline_check(database_url)
    assert result.returncode == 0, result.stderr
    assert "no drift" in result.stdout


async def test_a_move_between_warehouses_keeps_the_lot(admin_client, site):
    lot_id = await stocked_lot(admin_client, site, 6, "TEA-XFER")
    body = await ok(
        move(
            admin_client,
            lotId=lot_id,
            quantity=4,
            reason="rebalance",
            **{"from": site.bins[0], "to": site.other_bin},
        )
    )
    assert body["movement"]["lotId"] == lot_id
    assert (body["movement"]["from"], body["movement"]["to"]) == (site.bins[0], site.other_bin)
    card = await ok(admin_client.get(f"/api/lots/{lot_id}"))
    assert {(row["warehouse"], row["quantity"]) for row in card["onHand"]} == {
        (site.warehouse, 2),
        (site.other_warehouse, 4),
    }


async def test_taking_more_than_is_there_is_refused_and_changes_nothing(admin_client, site, db):
    lot_id = await stocked_lot(admin_client, site, 3, "TEA-SHORT")
    before = await db.fetchval("SELECT count(*) FROM movement")
    response = await move(
        admin_client, lotId=lot_id, quantity=4, **{"from": site.bins[0], "to": site.bins[1]}
    )
    body = assert_problem(response, 409, "insufficient_stock")
    assert body["available"] == 3
    assert await db.fetchval("SELECT count(*) FROM movement") == before


async def test_a_move_needs_two_places_and_a_known_lot(admin_client, site):
    lot_id = await stocked_lot(admin_client, site, 1, "TEA-SAME")
    same = await move(
        admin_client, lotId=lot_id, quantity=1, **{"from": site.bins[0], "to": site.bins[0]}
    )
    assert_problem(same, 422, "same_location")
    unknown = await move(
        admin_client, lotId=987654, quantity=1, **{"from": site.bins[0], "to": site.bins[1]}
    )
    assert_problem(unknown, 422, "unknown_lot")


async def test_a_lot_that_is_not_released_never_reaches_a_customer(admin_client, site, db):
    lot_id = await stocked_lot(admin_client, site, 2, "TEA-HELD")
    await db.execute(
        "UPDATE lot SET status = 'hold', status_reason = 'supplier alert' WHERE id = $1", lot_id
    )
    response = await move(
        admin_client, lotId=lot_id, quantity=1, **{"from": site.bins[0], "to": site.customer}
    )
    assert_problem(response, 409, "lot_on_hold")
    inside = await move(
        admin_client, lotId=lot_id, quantity=1, **{"from": site.bins[0], "to": site.bins[2]}
    )
    assert inside.status_code == 201, inside.text


async def test_an_expired_lot_never_reaches_a_customer(admin_client, site):
    body = await ok(
        receive(
            admin_client,
            sku="TEA",
            lotCode="TEA-OLD",
            quantity=1,
            location=site.bins[0],
            expiry="2020-01-01",
        )
    )
    assert body["lot"]["expired"] is True
    response = await move(
        admin_client,
        lotId=body["lot"]["id"],
        quantity=1,
        **{"from": site.bins[0], "to": site.customer},
    )
    assert_problem(response, 409, "lot_expired")


async def test_adjustments_need_a_reason_and_a_change(admin_client, site, db):
    lot_id = await stocked_lot(admin_client, site, 5, "TEA-ADJ")
    base = {"lotId": lot_id, "location": site.bins[0]}
    no_reason = await admin_client.post(
        "/api/adjustments", json={"idempotencyKey": str(uuid.uuid4()), "delta": -1, **base}
    )
    assert_problem(no_reason, 400, "invalid_request")
    zero = await admin_client.post(
        "/api/adjustments",
        json={"idempotencyKey": str(uuid.uuid4()), "delta": 0, "reason": "x", **base},
    )
    assert_problem(zero, 422, "zero_adjustment")
    down = await ok(
        admin_client.post(
            "/api/adjustments",
            json={"idempotencyKey": str(uuid.uuid4()), "delta": -2, "reason": "damaged", **base},
        )
    )
    assert (down["movement"]["kind"], down["movement"]["from"], down["movement"]["to"]) == (
        "adjustment",
        site.bins[0],
        None,
    )
    too_far = await admin_client.post(
        "/api/adjustments",
        json={"idempotencyKey": str(uuid.uuid4()), "delta": -4, "reason": "lost", **base},
    )
    assert_problem(too_far, 409, "insufficient_stock")
    card = await ok(admin_client.get(f"/api/lots/{lot_id}"))
    assert card["onHandTotal"] == 3


async def test_serials_move_with_their_units(admin_client, site, db):
    body = await ok(
        receive(
            admin_client,
            sku="CAM",
            lotCode="CAM-1",
            quantity=3,
            location=site.bins[0],
            serials=["C1", "C2", "C3"],
        )
    )
    lot_id = body["lot"]["id"]
    missing = await move(
        admin_client, lotId=lot_id, quantity=1, **{"from": site.bins[0], "to": site.bins[1]}
    )
    assert_problem(missing, 422, "serials_required")
    elsewhere = await move(
        admin_client,
        lotId=lot_id,
        quantity=1,
        serials=["C9"],
        **{"from": site.bins[0], "to": site.bins[1]},
    )
    assert_problem(elsewhere, 409, "serial_not_here")
    moved = await ok(
        move(
            admin_client,
            lotId=lot_id,
            quantity=2,
            serials=["C3", "C1"],
            **{"from": site.bins[0], "to": site.bins[1]},
        )
    )
    assert moved["movement"]["serials"] == ["C1", "C3"]
    card = await ok(admin_client.get(f"/api/lots/{lot_id}"))
    assert {row["location"]: row["serials"] for row in card["onHand"]} == {
        site.bins[0]: ["C2"],
        site.bins[1]: ["C1", "C3"],
    }


async def test_the_ledger_is_append_only(site, db):
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await db.execute("UPDATE movement SET quantity = quantity + 1")
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await db.execute("DELETE FROM movement")


async def test_the_database_refuses_negative_stock_whatever_the_code_does(site, db):
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE stock_balance SET quantity = -1")


async def test_check_passes_after_all_of_the_above(site, database_url):
    result = lotline_check(database_url)
    assert result.returncode == 0, result.stderr


async def test_racing_retries_of_a_move_of_the_last_unit_apply_once(admin_client, site, db):
    lot_id = await stocked_lot(admin_client, site, 1, "TEA-ONE")
    body = {
        "idempotencyKey": str(uuid.uuid4()),
        "lotId": lot_id,
        "from": site.bins[0],
        "to": site.bins[3],
        "quantity": 1,
    }
    responses = await asyncio.gather(
        *(admin_client.post("/api/moves", json=body) for _ in range(8))
    )
    assert {response.status_code for response in responses} == {201}, [r.text for r in responses]
    assert len({response.json()["movement"]["id"] for response in responses}) == 1
    moves = await db.fetchval(
        "SELECT count(*) FROM movement WHERE lot_id = $1 AND kind = 'move'", lot_id
    )
    assert moves == 1


async def test_a_retry_after_the_stock_is_gone_returns_the_first_result(admin_client, site):
    lot_id = await stocked_lot(admin_client, site, 1, "TEA-GONE")
    body = {
        "idempotencyKey": str(uuid.uuid4()),
        "lotId": lot_id,
        "from": site.bins[0],
        "to": site.bins[3],
        "quantity": 1,
    }
    first = await admin_client.post("/api/moves", json=body)
    retry = await admin_client.post("/api/moves", json=body)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
