"""Holds, quarantines and recalls over real HTTP: choosing lots three ways, the impact shown
before placing, the effects in the same transaction (open tasks moved to the next eligible lot
or short, held stock out of allocation, picks refused), the outbox messages, and release."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx

from backend.scanning.verdicts import QUARANTINE_CODES
from tests.integration.arrange import assert_problem, gs1, ok
from tests.integration.test_fulfilment import (
    balance,
    get_order,
    pick,
    place,
    product,
    stock,
    tasks_of,
    wave,
)


def hold_body(**fields: Any) -> dict[str, Any]:
    return {"idempotencyKey": str(uuid.uuid4()), "kind": "hold", "reason": "Lab check", **fields}


async def messages(db: asyncpg.Connection, kind: str, after: int = 0) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT data FROM live_message WHERE type = $1 AND id > $2 ORDER BY id", kind, after
    )
    return [json.loads(row["data"]) for row in rows]


async def last_message_id(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM live_message"))


async def test_a_hold_moves_open_tasks_to_the_next_eligible_lot_and_tells_every_handheld(
    admin_client, as_picker, floor, db
):
    oats = await product(admin_client)
    first = await stock(admin_client, oats, "HOLD-ME", 5, floor.bins[0], "2040-01-31")
    second = await stock(admin_client, oats, "NEXT-UP", 5, floor.bins[2], "2040-06-30")
    order = await place(admin_client, [(oats, 3)])
    await wave(admin_client, [order], pickers=[floor.picker])
    [task] = await tasks_of(as_picker, order)
    assert task["lotCode"] == "HOLD-ME"
    await pick(as_picker, task, floor.bin_labels[0])
    before = await last_message_id(db)

    preview = await ok(admin_client.post("/api/holds/impact", json={"lots": [first]}))
    assert [(lot["code"], lot["status"]) for lot in preview["lots"]] == [("HOLD-ME", "released")]
    assert [(t["taskId"], t["units"]) for t in preview["openTasks"]] == [(task["id"], 3)]
    assert preview["unitsOnHand"] == 5
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", first) == "released"

    held = await ok(admin_client.post("/api/holds", json=hold_body(lots=[first])))
    assert held["kind"] == "hold" and held["lots"][0]["status"] == "hold"
    assert held["lots"][0]["statusBefore"] == "released"
    assert held["impact"]["openTasks"][0]["taskId"] == task["id"]
    [moved] = held["reallocated"]
    assert (moved["oldLot"], moved["newLot"], moved["bin"], moved["units"], moved["short"]) == (
        "HOLD-ME",
        "NEXT-UP",
        "A-03",
        3,
        False,
    )
    # The task itself now points at the new lot and bin, its bin to be scanned again.
    [now] = await tasks_of(as_picker, order)
    assert (now["id"], now["lotCode"], now["bin"]["code"], now["binConfirmed"]) == (
        task["id"],
        "NEXT-UP",
        "A-03",
        False,
    )
    assert await balance(db, first, floor.bins[0]) == (5, 0)
    assert await balance(db, second, floor.bins[2]) == (5, 3)
    [told] = await messages(db, "task.reallocated", before)
    assert told["taskId"] == task["id"] and told["newLot"]["code"] == "NEXT-UP"
    assert told["holdId"] == held["id"]
    assert told["oldLot"] == {"id": first, "code": "HOLD-ME"}
    assert told["bin"] == {"code": "A-03", "barcode": floor.bin_labels[2]}
    assert told["assignee"] == floor.picker.username
    held_messages = await messages(db, "lot.held", before)
    warehouses = await db.fetchval("SELECT count(*) FROM warehouse")
    assert len(held_messages) == warehouses  # every warehouse's handhelds hear of it
    assert held_messages[0]["lotCode"] == "HOLD-ME" and held_messages[0]["status"] == "hold"

    # The held lot is refused at the bin, whatever the handheld shows.
    refused = await pick(as_picker, now, gs1(oats.gtin, "HOLD-ME"))
    assert refused["verdict"] == "rejected"


async def test_a_hold_with_nothing_else_eligible_makes_the_task_short(
    admin_client, as_picker, floor, db
):
    oats = await product(admin_client)
    only = await stock(admin_client, oats, "ONLY-ONE", 4, floor.bins[1], "2040-01-31")
    order = await place(admin_client, [(oats, 2)])
    await wave(admin_client, [order], pickers=[floor.picker])
    held = await ok(admin_client.post("/api/holds", json=hold_body(kind="recall", lots=[only])))
    [moved] = held["reallocated"]
    assert (moved["newLot"], moved["short"], moved["units"]) == (None, True, 2)
    [line] = (await get_order(admin_client, order))["lines"]
    assert (line["short"], line["shortReason"]) == (2, "held")
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", only) == "recalled"
    assert await balance(db, only, floor.bins[1]) == (4, 0)


async def test_lots_are_chosen_by_product_and_production_dates_or_by_supplier_lot(
    admin_client, floor, db
):
    oats = await product(admin_client)
    for code, produced, supplier in (
        ("P-JAN", "2026-01-10", "SUP-A"),
        ("P-FEB", "2026-02-10", "SUP-A"),
        ("P-MAR", "2026-03-10", "SUP-B"),
    ):
        await ok(
            admin_client.post(
                "/api/receipts",
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "sku": oats.sku,
                    "lotCode": code,
                    "productionDate": produced,
                    "expiry": "2040-01-01",
                    "supplierLotCode": supplier,
                    "quantity": 2,
                    "location": floor.bins[0],
                },
            )
        )
    by_dates = await ok(
        admin_client.post(
            "/api/holds/impact",
            json={"sku": oats.sku, "producedFrom": "2026-01-01", "producedTo": "2026-02-28"},
        )
    )
    assert [lot["code"] for lot in by_dates["lots"]] == ["P-JAN", "P-FEB"]
    by_supplier = await ok(
        admin_client.post(
            "/api/holds",
            json=hold_body(kind="quarantine", supplierLotCode="SUP-B"),
        )
    )
    assert [(lot["code"], lot["status"]) for lot in by_supplier["lots"]] == [
        ("P-MAR", "quarantine")
    ]


async def test_release_restores_what_other_holds_say_and_tells_the_handhelds(
    admin_client, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "TWICE", 2, floor.bins[0])
    hold = await ok(admin_client.post("/api/holds", json=hold_body(lots=[lot])))
    recall = await ok(admin_client.post("/api/holds", json=hold_body(kind="recall", lots=[lot])))
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "recalled"
    before = await last_message_id(db)
    key = str(uuid.uuid4())
    released = await ok(
        admin_client.post(
            f"/api/holds/{recall['id']}/release",
            json={"idempotencyKey": key, "reason": "False alarm"},
        )
    )
    assert released["releasedAt"] and released["releaseReason"] == "False alarm"
    # The first hold still stands.
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "hold"
    assert await messages(db, "lot.released", before) == []
    again = await admin_client.post(
        f"/api/holds/{recall['id']}/release", json={"idempotencyKey": key, "reason": "False alarm"}
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert_problem(
        await admin_client.post(
            f"/api/holds/{recall['id']}/release",
            json={"idempotencyKey": str(uuid.uuid4()), "reason": "Twice"},
        ),
        409,
        "hold_released",
    )
    await ok(
        admin_client.post(
            f"/api/holds/{hold['id']}/release",
            json={"idempotencyKey": str(uuid.uuid4()), "reason": "Lab says fine"},
        )
    )
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "released"
    assert [m["lotId"] for m in await messages(db, "lot.released", before)] == [lot] * (
        await db.fetchval("SELECT count(*) FROM warehouse")
    )
    listed = await ok(admin_client.get("/api/holds", params={"active": "false"}))
    assert {hold["id"], recall["id"]} <= {h["id"] for h in listed}


async def test_a_retried_hold_applies_once(admin_client, floor, db):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "ONCE", 2, floor.bins[0])
    body = hold_body(lots=[lot])
    first = await admin_client.post("/api/holds", json=body)
    second = await admin_client.post("/api/holds", json=body)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert first.json() == second.json()
    assert await db.fetchval("SELECT count(*) FROM hold_lot WHERE lot_id = $1", lot) == 1
    # API.md's hold has no key: a console may leave it out, and gets a new hold each time.
    bare = {"kind": "quarantine", "reason": "Console", "lots": [lot]}
    third = await ok(admin_client.post("/api/holds", json=bare))
    assert third["id"] != first.json()["id"] and third["lots"][0]["status"] == "quarantine"


async def test_bad_holds_are_refused_and_change_nothing(admin_client, as_picker, floor, db):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "SAFE", 2, floor.bins[0])
    counts = "SELECT (SELECT count(*) FROM hold), (SELECT count(*) FROM live_message)"
    before = await db.fetchrow(counts)
    for body, status, code in (
        (hold_body(), 422, "hold_selector"),
        (hold_body(lots=[lot], supplierLotCode="X"), 422, "hold_selector"),
        (hold_body(lots=[10**9]), 422, "unknown_lot"),
        (hold_body(supplierLotCode="NOBODY-HAS-THIS"), 422, "no_lots"),
        (
            hold_body(sku=oats.sku, producedFrom="2026-03-01", producedTo="2026-01-01"),
            422,
            "hold_selector",
        ),
        (hold_body(lots=[lot], kind="freeze"), 400, "invalid_request"),
        (hold_body(lots=[lot], reason=""), 400, "invalid_request"),
    ):
        assert_problem(await admin_client.post("/api/holds", json=body), status, code)
    assert_problem(await as_picker.post("/api/holds", json=hold_body(lots=[lot])), 403, "forbidden")
    assert_problem(
        await admin_client.post(
            "/api/holds/999999/release", json={"idempotencyKey": str(uuid.uuid4()), "reason": "x"}
        ),
        404,
        "hold_not_found",
    )
    assert await db.fetchrow(counts) == before
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "released"


async def test_the_impact_lists_units_to_pull_back_and_the_customers_who_got_the_lot(
    admin_client, as_picker, as_packer, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "SPREAD", 10, floor.bins[3], "2040-01-31")
    shipped, packed, picked = [await place(admin_client, [(oats, n)]) for n in (2, 3, 1)]
    await wave(admin_client, [shipped, packed, picked], pickers=[floor.picker])
    for order in (shipped, packed, picked):
        [task] = await tasks_of(as_picker, order)
        await pick(as_picker, task, floor.bin_labels[3])
        await pick(as_picker, task, gs1(oats.gtin, "SPREAD"), quantity=task["quantity"])
    for order, units in ((shipped, 2), (packed, 3)):
        await ok(
            as_packer.post(
                "/api/scans",
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "context": "pack",
                    "orderId": order["id"],
                    "raw": gs1(oats.gtin, "SPREAD"),
                    "quantity": units,
                    "deviceId": "PACK-TEST",
                    "scannedAt": "2026-11-24T10:00:00Z",
                },
            )
        )
    await ok(
        as_packer.post(
            f"/api/orders/{shipped['id']}/ship", json={"idempotencyKey": str(uuid.uuid4())}
        )
    )
    found = await ok(admin_client.post("/api/holds/impact", json={"lots": [lot]}))
    assert [(s["orderExternalId"], s["units"]) for s in found["shipped"]] == [
        (shipped["externalId"], 2)
    ]
    assert found["customers"] == 1 and found["unitsShipped"] == 2
    flights = {(f["orderExternalId"], f["stage"], f["units"]) for f in found["inFlight"]}
    assert flights == {(packed["externalId"], "packed", 3), (picked["externalId"], "picked", 1)}
    assert {s["location"] for s in found["onHand"]} >= {floor.bins[3]}


async def quarantine(client: httpx.AsyncClient, raw: str, **fields: Any) -> dict[str, Any]:
    body = {
        "idempotencyKey": str(uuid.uuid4()),
        "context": "quarantine",
        "raw": raw,
        "deviceId": "HH-QA",
        "scannedAt": "2026-11-24T10:00:00Z",
        **fields,
    }
    answer: dict[str, Any] = await ok(client.post("/api/scans", json=body))
    QUARANTINE_REACHED.add(answer["code"])
    return answer


QUARANTINE_REACHED: set[str] = set()


async def test_recalled_stock_is_pulled_into_quarantine_by_scan(admin_client, floor, db):
    oats = await product(admin_client)
    recalled = await stock(admin_client, oats, "PULL-ME", 6, floor.bins[1])
    fine = await stock(admin_client, oats, "LEAVE-ME", 2, floor.bins[1])
    label = gs1(oats.gtin, "PULL-ME")
    await ok(admin_client.post("/api/holds", json=hold_body(kind="recall", lots=[recalled])))
    assert (await quarantine(admin_client, label, location=floor.bins[1]))["code"] == (
        "no_quarantine_location"
    )
    await ok(
        admin_client.post(
            "/api/locations", json={"warehouse": "FUL", "code": "QA-CAGE", "kind": "quarantine"}
        )
    )
    assert (await quarantine(admin_client, label))["code"] == "location_required"
    assert (await quarantine(admin_client, label, location=floor.bins[0]))["code"] == (
        "nothing_here"
    )
    released = await quarantine(admin_client, gs1(oats.gtin, "LEAVE-ME"), location=floor.bins[1])
    assert released["code"] == "lot_released"
    assert (await quarantine(admin_client, floor.bin_labels[1], location=floor.bins[1]))[
        "code"
    ] == "scan_a_unit"
    assert (await quarantine(admin_client, gs1(oats.gtin), location=floor.bins[1]))["code"] == (
        "lot_required"
    )
    some = await quarantine(admin_client, label, location=floor.bins[1], quantity=2)
    assert (some["verdict"], some["code"]) == ("accepted", "quarantined")
    rest = await quarantine(admin_client, label, location=floor.bins[1])
    assert "Moved 4" in rest["message"]
    assert await balance(db, recalled, floor.bins[1]) == (0, 0)
    assert await balance(db, recalled, "FUL/QA-CAGE") == (6, 0)
    assert await balance(db, fine, floor.bins[1]) == (2, 0)
    reasons = await db.fetch(
        "SELECT reason FROM movement WHERE lot_id = $1 AND kind = 'move'", recalled
    )
    assert all(r["reason"].startswith("Pulled to quarantine") for r in reasons)


async def test_quarantine_scans_need_a_supervisor_or_returns_clerk(as_picker, floor):
    refused = await as_picker.post(
        "/api/scans",
        json={
            "idempotencyKey": str(uuid.uuid4()),
            "context": "quarantine",
            "raw": "LOC-X",
            "deviceId": "HH",
            "scannedAt": "2026-11-24T10:00:00Z",
        },
    )
    assert_problem(refused, 403, "scan_context_forbidden")


def test_zz_every_quarantine_verdict_was_reached():
    assert set() == QUARANTINE_CODES - QUARANTINE_REACHED


async def test_the_hold_list_gives_each_hold_its_own_lots_newest_first(admin_client, floor):
    oats = await product(admin_client)
    lots = [await stock(admin_client, oats, code, 1, floor.bins[0]) for code in ("LA", "LB", "LC")]
    first = await ok(admin_client.post("/api/holds", json=hold_body(lots=lots[:2])))
    second = await ok(admin_client.post("/api/holds", json=hold_body(lots=lots[2:])))
    await ok(
        admin_client.post(
            f"/api/holds/{first['id']}/release",
            json={"idempotencyKey": str(uuid.uuid4()), "reason": "Lab says fine"},
        )
    )
    listed = await ok(admin_client.get("/api/holds", params={"limit": 500}))
    ids = [h["id"] for h in listed]
    assert ids == sorted(ids, reverse=True)
    by_id = {h["id"]: h for h in listed}
    assert [lot["id"] for lot in by_id[first["id"]]["lots"]] == lots[:2]
    assert [lot["id"] for lot in by_id[second["id"]]["lots"]] == lots[2:]
    for hold in (first, second):
        alone = await ok(admin_client.get(f"/api/holds/{hold['id']}"))
        assert by_id[hold["id"]] == alone
    active = {h["id"] for h in await ok(admin_client.get("/api/holds", params={"active": "true"}))}
    assert second["id"] in active and first["id"] not in active
