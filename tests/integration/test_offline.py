"""Offline handhelds over real HTTP: scans queued offline and sent later (one by one or in a
replay), the exceptions the refused ones become and their live message, the snapshot a
handheld checks scans against, and replays racing from two tabs of one handheld."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import Floor, assert_problem, gs1, lotline_check, ok, scan_body
from tests.integration.test_fulfilment import Item, balance, place, product, stock, tasks_of, wave

QUEUED_AT = "2026-11-23T10:15:01.000Z"
DEVICE = "HH-TEST-01"


def offline_scan(raw: str, context: str = "pick", **fields: Any) -> dict[str, Any]:
    """A scan as a handheld's outbox keeps it: judged offline, queued, sent later."""
    return scan_body(raw, context, offline=True, queuedAt=QUEUED_AT, **fields)


def replay_body(scans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"deviceId": DEVICE, "scans": scans}


async def picks_of(db: asyncpg.Connection, lot_id: int) -> list[int]:
    """The lot's pick movements, their quantities in ledger order."""
    rows = await db.fetch(
        "SELECT quantity FROM movement WHERE lot_id = $1 AND kind = 'pick' ORDER BY id", lot_id
    )
    return [row["quantity"] for row in rows]


async def exceptions_of(db: asyncpg.Connection, key: str) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT e.* FROM scan_exception e JOIN scan s ON s.id = e.scan_id
            WHERE s.idempotency_key = $1""",
        uuid.UUID(key),
    )


async def messages_after(db: asyncpg.Connection, after: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        """SELECT m.data, w.code FROM live_message m JOIN warehouse w ON w.id = m.warehouse_id
            WHERE m.type = 'scan.exception' AND m.id > $1 ORDER BY m.id""",
        after,
    )
    return [{**json.loads(row["data"]), "warehouse": row["code"]} for row in rows]


async def last_message(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM live_message"))


async def task_for(
    admin: httpx.AsyncClient, picker: httpx.AsyncClient, floor: Floor, quantity: int = 2
) -> tuple[Item, int, dict[str, Any]]:
    """A product with one lot of 10 in the second bin and a waved task to pick `quantity`."""
    item = await product(admin)
    lot = await stock(admin, item, f"OFF-{uuid.uuid4().hex[:6]}", 10, floor.bins[1])
    order = await place(admin, [(item, quantity)])
    await wave(admin, [order], pickers=[floor.picker])
    [task] = await tasks_of(picker, order)
    return item, lot, task


def queued_picks(item: Item, lot_code: str, task: dict[str, Any], floor: Floor) -> list[dict]:
    """The bin scan and one lot scan per unit of the task, as queued offline."""
    scans = [offline_scan(floor.bin_labels[1], taskId=task["id"])]
    scans += [
        offline_scan(gs1(item.gtin, lot_code), taskId=task["id"]) for _ in range(task["quantity"])
    ]
    return scans


@pytest.fixture(scope="module")
async def supervisor(
    live_server: LiveServer, make_user: MakeUser
) -> AsyncIterator[httpx.AsyncClient]:
    user = await make_user(["supervisor"])
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=user.headers
    ) as http:
        yield http


# --- exceptions ---------------------------------------------------------------------------


async def test_an_offline_pick_of_a_lot_held_meanwhile_becomes_an_exception_and_moves_nothing(
    admin_client, as_picker, supervisor, floor, db, database_url
):
    item, lot, task = await task_for(admin_client, as_picker, floor)
    lot_code = task["lotCode"]
    at_bin, lot_scan = queued_picks(item, lot_code, task, floor)[:2]
    # The picker confirms the bin, goes out of coverage and scans the lot, which is queued;
    # meanwhile a supervisor holds the lot (the task, with no other lot, goes short).
    at_bin = {**at_bin, "offline": False, "queuedAt": None}
    assert (await ok(as_picker.post("/api/scans", json=at_bin)))["code"] == "bin_confirmed"
    await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "hold",
                "reason": "Lab",
                "lots": [lot],
            },
        )
    )
    before = await last_message(db)

    answered = await ok(as_picker.post("/api/scans/replay", json=replay_body([lot_scan])))
    [lot_result] = answered["results"]
    assert (lot_result["status"], lot_result["replayed"]) == (201, False)
    refused = lot_result["scan"]
    assert (refused["verdict"], refused["code"]) == ("rejected", "lot_on_hold")
    assert lot_result["idempotencyKey"] == lot_scan["idempotencyKey"]

    assert await picks_of(db, lot) == []
    assert await balance(db, lot, floor.bins[1]) == (10, 0)
    [made] = await exceptions_of(db, lot_scan["idempotencyKey"])
    assert made["status"] == "open"
    assert await exceptions_of(db, at_bin["idempotencyKey"]) == []
    [told] = await messages_after(db, before)
    assert (told["warehouse"], told["exceptionId"], told["code"]) == (
        "FUL",
        made["id"],
        "lot_on_hold",
    )
    assert (told["taskId"], told["lotCode"], told["deviceId"]) == (task["id"], lot_code, DEVICE)

    listed = await ok(supervisor.get("/api/scan-exceptions", params={"status": "open"}))
    [shown] = [e for e in listed if e["id"] == made["id"]]
    assert (shown["code"], shown["lotId"], shown["taskId"], shown["warehouse"]) == (
        "lot_on_hold",
        lot,
        task["id"],
        "FUL",
    )
    assert shown["sku"] == item.sku and shown["queuedAt"] == "2026-11-23T10:15:01Z"
    assert shown["idempotencyKey"] == lot_scan["idempotencyKey"]
    assert lotline_check(database_url).returncode == 0


async def test_an_exception_is_resolved_once_by_a_supervisor(
    admin_client, as_picker, supervisor, floor, db
):
    made = await _exception(admin_client, as_picker, floor, db)
    path = f"/api/scan-exceptions/{made}/resolve"
    assert_problem(await as_picker.post(path, json={"resolution": "redone"}), 403, "forbidden")
    body = {"resolution": "written_off", "note": "Damaged", "idempotencyKey": str(uuid.uuid4())}
    first = await supervisor.post(path, json=body)
    assert first.status_code == 200, first.text
    resolved = first.json()
    assert (resolved["status"], resolved["resolution"], resolved["note"]) == (
        "resolved",
        "written_off",
        "Damaged",
    )
    assert resolved["resolvedBy"] and resolved["resolvedAt"]
    retried = await supervisor.post(path, json=body)
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == resolved
    assert_problem(
        await supervisor.post(path, json={"resolution": "other"}), 409, "exception_resolved"
    )
    after = await db.fetchrow("SELECT * FROM scan_exception WHERE id = $1", made)
    assert (after["resolution"], after["note"]) == ("written_off", "Damaged")
    resolved_now = await ok(supervisor.get("/api/scan-exceptions", params={"status": "resolved"}))
    assert made in [e["id"] for e in resolved_now]
    still_open = await ok(supervisor.get("/api/scan-exceptions", params={"status": "open"}))
    assert made not in [e["id"] for e in still_open]


async def test_a_picker_sees_only_their_own_exceptions(
    admin_client, as_picker, live_server, floor, db
):
    made = await _exception(admin_client, as_picker, floor, db)
    mine = await ok(as_picker.get("/api/scan-exceptions", params={"mine": "true"}))
    assert made in [e["id"] for e in mine]
    assert {e["user"] for e in mine} == {floor.picker.username}
    assert (await ok(as_picker.get(f"/api/scan-exceptions/{made}")))["id"] == made
    assert_problem(await as_picker.get("/api/scan-exceptions"), 403, "scan_exceptions_forbidden")
    async with httpx.AsyncClient(
        base_url=live_server.url, headers=floor.other_picker.headers
    ) as other:
        theirs = await ok(other.get("/api/scan-exceptions", params={"mine": "true"}))
        assert made not in [e["id"] for e in theirs]
        assert_problem(
            await other.get(f"/api/scan-exceptions/{made}"), 404, "scan_exception_not_found"
        )


async def _exception(
    admin: httpx.AsyncClient, picker: httpx.AsyncClient, floor: Floor, db: asyncpg.Connection
) -> int:
    """An open exception of the picker's: an offline lot scan refused as the wrong lot."""
    item, _, task = await task_for(admin, picker, floor)
    at_bin, _ = queued_picks(item, task["lotCode"], task, floor)[:2]
    wrong = offline_scan(gs1(item.gtin, "NOT-THIS-LOT"), taskId=task["id"])
    results = (await ok(picker.post("/api/scans/replay", json=replay_body([at_bin, wrong]))))[
        "results"
    ]
    assert results[1]["scan"]["verdict"] == "rejected"
    [made] = await exceptions_of(db, wrong["idempotencyKey"])
    return int(made["id"])


async def test_a_replayed_refused_offline_scan_makes_one_exception(
    admin_client, as_picker, floor, db
):
    item, _, task = await task_for(admin_client, as_picker, floor)
    early = offline_scan(gs1(item.gtin, task["lotCode"]), taskId=task["id"])  # bin not scanned
    before = await last_message(db)
    answers = await asyncio.gather(*(as_picker.post("/api/scans", json=early) for _ in range(4)))
    assert {a.status_code for a in answers} == {201}
    assert {a.json()["code"] for a in answers} == {"bin_not_confirmed"}
    assert [a.headers.get("Idempotent-Replayed") for a in answers].count(None) == 1
    again = await ok(as_picker.post("/api/scans/replay", json=replay_body([early])))
    assert again["results"][0]["replayed"] is True
    assert len(await exceptions_of(db, early["idempotencyKey"])) == 1
    assert len(await messages_after(db, before)) == 1


async def test_accepted_offline_scans_make_no_exception_and_record_how_they_were_sent(
    admin_client, as_picker, floor, db
):
    item, lot, task = await task_for(admin_client, as_picker, floor)
    scans = queued_picks(item, task["lotCode"], task, floor)
    answered = await ok(as_picker.post("/api/scans/replay", json=replay_body(scans)))
    assert [r["scan"]["code"] for r in answered["results"]] == ["bin_confirmed", "picked", "picked"]
    assert await picks_of(db, lot) == [1, 1]
    keys = [uuid.UUID(s["idempotencyKey"]) for s in scans]
    rows = await db.fetch(
        "SELECT offline, queued_at, task_id FROM scan WHERE idempotency_key = ANY($1)", keys
    )
    assert len(rows) == 3
    assert all(
        r["offline"] and r["queued_at"].isoformat() == "2026-11-23T10:15:01+00:00" for r in rows
    )
    assert (
        await db.fetchval(
            """SELECT count(*) FROM scan_exception e JOIN scan s ON s.id = e.scan_id
            WHERE s.idempotency_key = ANY($1)""",
            keys,
        )
        == 0
    )


async def test_an_online_refusal_makes_no_exception(admin_client, as_picker, floor, db):
    item, _, task = await task_for(admin_client, as_picker, floor)
    online = scan_body(gs1(item.gtin, task["lotCode"]), "pick", taskId=task["id"])
    assert (await ok(as_picker.post("/api/scans", json=online)))["verdict"] == "rejected"
    assert await exceptions_of(db, online["idempotencyKey"]) == []


async def test_a_scan_sent_online_and_again_from_the_outbox_is_the_same_scan(
    admin_client, as_picker, floor, db
):
    # The first try reached the server, but the handheld saw a network error and queued it.
    item, lot, task = await task_for(admin_client, as_picker, floor)
    at_bin = scan_body(floor.bin_labels[1], "pick", taskId=task["id"])
    await ok(as_picker.post("/api/scans", json=at_bin))
    picked = scan_body(gs1(item.gtin, task["lotCode"]), "pick", taskId=task["id"])
    first = await ok(as_picker.post("/api/scans", json=picked))
    queued = {**picked, "offline": True, "queuedAt": QUEUED_AT}
    again = await ok(as_picker.post("/api/scans/replay", json=replay_body([queued])))
    [result] = again["results"]
    assert (result["status"], result["replayed"]) == (201, True)
    assert result["scan"] == first
    assert await picks_of(db, lot) == [1]


# --- the snapshot -------------------------------------------------------------------------


async def test_the_snapshot_holds_what_an_offline_check_needs_and_where_to_resume(
    admin_client, as_picker, floor, db
):
    item = await product(admin_client)
    here = await stock(admin_client, item, "SNAP-HERE", 3, floor.bins[0])
    await ok(admin_client.post("/api/warehouses", json={"code": "SNAPX", "name": "Elsewhere"}))
    await ok(admin_client.post("/api/locations", json={"warehouse": "SNAPX", "code": "X-01"}))
    away = await stock(admin_client, item, "SNAP-AWAY", 3, "SNAPX/X-01")
    held_away = await stock(admin_client, item, "SNAP-HELD", 3, "SNAPX/X-01")
    await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "quarantine",
                "reason": "Lab",
                "lots": [held_away],
            },
        )
    )
    response = await as_picker.get("/api/offline/snapshot", params={"warehouse": "FUL"})
    assert response.status_code == 200, response.text
    found = response.json()
    seq = await db.fetchval(
        """SELECT q.last_seq FROM live_sequence q JOIN warehouse w ON w.id = q.warehouse_id
            WHERE w.code = 'FUL'"""
    )
    assert (found["warehouse"], found["asOfSeq"]) == ("FUL", seq)
    [mine] = [p for p in found["products"] if p["sku"] == item.sku]
    assert (mine["gtins"], mine["tracking"]) == ([item.gtin], "lot")
    lots = {lot["id"]: lot for lot in found["lots"]}
    assert lots[here] == {
        "id": here,
        "productId": mine["id"],
        "code": "SNAP-HERE",
        "status": "released",
        "expiry": "2040-01-31",
    }
    assert lots[held_away]["status"] == "quarantine"  # not released: wherever it is
    assert away not in lots  # released, and none of it here
    barcodes = {loc["barcode"]: loc for loc in found["locations"]}
    assert set(floor.bin_labels) <= set(barcodes)
    assert barcodes[floor.bin_labels[0]]["code"] == "A-01"
    assert barcodes[floor.bin_labels[0]]["kind"] == "bin"
    assert "X-01" not in {loc["code"] for loc in found["locations"]}


async def test_an_unchanged_snapshot_is_a_304_and_a_hold_changes_it(admin_client, as_picker, floor):
    item = await product(admin_client)
    lot = await stock(admin_client, item, "SNAP-TAG", 3, floor.bins[0])
    first = await as_picker.get("/api/offline/snapshot", params={"warehouse": "FUL"})
    etag = first.headers["ETag"]
    unchanged = await as_picker.get(
        "/api/offline/snapshot", params={"warehouse": "FUL"}, headers={"If-None-Match": etag}
    )
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag
    await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "hold",
                "reason": "Lab",
                "lots": [lot],
            },
        )
    )
    changed = await as_picker.get(
        "/api/offline/snapshot", params={"warehouse": "FUL"}, headers={"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert {lot_["id"]: lot_["status"] for lot_ in changed.json()["lots"]}[lot] == "hold"
    assert changed.json()["asOfSeq"] > first.json()["asOfSeq"]


async def test_a_snapshot_of_no_warehouse_is_refused(as_picker, client):
    assert_problem(
        await as_picker.get("/api/offline/snapshot", params={"warehouse": "NOPE"}),
        422,
        "unknown_warehouse",
    )
    assert_problem(await as_picker.get("/api/offline/snapshot"), 400, "invalid_request")
    assert_problem(
        await client.get("/api/offline/snapshot", params={"warehouse": "FUL"}),
        401,
        "unauthenticated",
    )


# --- replay -------------------------------------------------------------------------------


async def test_a_replay_applies_the_queue_in_order_and_again_applies_nothing(
    admin_client, as_picker, floor, db, database_url
):
    item, lot, task = await task_for(admin_client, as_picker, floor, quantity=3)
    # The lot scans come first in the list they would be refused: the bin is scanned first.
    scans = queued_picks(item, task["lotCode"], task, floor)
    first = await ok(as_picker.post("/api/scans/replay", json=replay_body(scans)))
    assert [(r["status"], r["replayed"], r["scan"]["code"]) for r in first["results"]] == [
        (201, False, "bin_confirmed"),
        (201, False, "picked"),
        (201, False, "picked"),
        (201, False, "picked"),
    ]
    assert first["results"][-1]["scan"]["task"]["status"] == "done"
    again = await ok(as_picker.post("/api/scans/replay", json=replay_body(scans)))
    assert [r["replayed"] for r in again["results"]] == [True] * 4
    assert [r["scan"] for r in again["results"]] == [r["scan"] for r in first["results"]]
    assert await picks_of(db, lot) == [1, 1, 1]
    assert lotline_check(database_url).returncode == 0


async def test_a_bad_scan_in_a_replay_gets_its_own_problem_and_the_others_apply(
    admin_client, as_picker, floor, db
):
    item, lot, task = await task_for(admin_client, as_picker, floor)
    at_bin, picked, _ = queued_picks(item, task["lotCode"], task, floor)
    malformed = {**offline_scan("x"), "quantity": "2"}
    elsewhere = {**offline_scan(gs1(item.gtin, task["lotCode"])), "deviceId": "HH-OTHER"}
    receiving = offline_scan(gs1(item.gtin, "NEW-LOT"), "receive")  # a picker may not receive
    reused = {**picked, "raw": floor.bin_labels[0]}  # the key of another scan
    nothing = {"context": "pick"}
    answered = await ok(
        as_picker.post(
            "/api/scans/replay",
            json=replay_body([at_bin, malformed, elsewhere, receiving, picked, reused, nothing]),
        )
    )
    results = answered["results"]
    assert [(r["status"], (r["problem"] or {}).get("code")) for r in results] == [
        (201, None),
        (400, "invalid_request"),
        (422, "replay_device_mismatch"),
        (403, "scan_context_forbidden"),
        (201, None),
        (409, "idempotency_key_reused"),
        (400, "invalid_request"),
    ]
    assert results[1]["idempotencyKey"] == malformed["idempotencyKey"]
    assert "quantity" in results[1]["problem"]["detail"]
    assert results[6]["idempotencyKey"] is None and results[6]["scan"] is None
    assert all(r["scan"] is None for r in results if r["status"] != 201)
    assert results[4]["scan"]["code"] == "picked"
    assert await picks_of(db, lot) == [1]
    refused = [uuid.UUID(s["idempotencyKey"]) for s in (malformed, elsewhere, receiving)]
    assert (
        await db.fetchval("SELECT count(*) FROM scan WHERE idempotency_key = ANY($1)", refused) == 0
    )


@pytest.mark.parametrize(
    "body",
    [
        {"deviceId": DEVICE, "scans": []},
        {"deviceId": DEVICE, "scans": [offline_scan("x") for _ in range(201)]},
        {"scans": [offline_scan("x")]},
        {"deviceId": "", "scans": [offline_scan("x")]},
        {"deviceId": DEVICE, "scans": ["x"]},
        {"deviceId": DEVICE, "scans": {"a": 1}},
        {"deviceId": DEVICE, "scans": [offline_scan("x")], "extra": 1},
        [offline_scan("x")],
    ],
)
async def test_a_bad_replay_envelope_is_a_400_and_records_nothing(as_picker, db, body):
    before = await db.fetchval("SELECT count(*) FROM scan")
    response = await as_picker.post("/api/scans/replay", json=body)
    assert_problem(response, 400, "invalid_request")
    assert await db.fetchval("SELECT count(*) FROM scan") == before


async def test_a_replay_needs_a_token(client):
    response = await client.post("/api/scans/replay", json=replay_body([offline_scan("x")]))
    assert_problem(response, 401, "unauthenticated")


async def test_two_tabs_replaying_the_same_queue_at_once_apply_each_scan_once(
    admin_client, live_server, floor, db, database_url
):
    # Two tabs of one handheld (one user, one token) both find the same queue and send it,
    # one as a replay, the other scan by scan, both at once, twice over.
    async with (
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as tab_a,
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as tab_b,
    ):
        item, lot, task = await task_for(admin_client, tab_a, floor, quantity=4)
        scans = queued_picks(item, task["lotCode"], task, floor)

        async def one_by_one(tab: httpx.AsyncClient) -> list[dict[str, Any]]:
            return [await ok(tab.post("/api/scans", json=scan)) for scan in scans]

        async def replayed(tab: httpx.AsyncClient) -> list[dict[str, Any]]:
            answered = await ok(tab.post("/api/scans/replay", json=replay_body(scans)))
            return [r["scan"] for r in answered["results"]]

        answers = await asyncio.gather(
            replayed(tab_a), one_by_one(tab_b), replayed(tab_b), one_by_one(tab_a)
        )
    assert all(answer == answers[0] for answer in answers)
    assert [a["code"] for a in answers[0]] == ["bin_confirmed"] + ["picked"] * 4
    assert await picks_of(db, lot) == [1, 1, 1, 1]
    keys = [uuid.UUID(s["idempotencyKey"]) for s in scans]
    assert await db.fetchval("SELECT count(*) FROM scan WHERE idempotency_key = ANY($1)", keys) == 5
    assert await balance(db, lot, floor.bins[1]) == (6, 0)
    assert lotline_check(database_url).returncode == 0


async def test_a_queued_pick_of_a_lot_held_during_the_outage_is_an_exception_from_either_tab(
    admin_client, live_server, floor, db
):
    async with (
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as tab_a,
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as tab_b,
    ):
        item, lot, task = await task_for(admin_client, tab_a, floor)
        scans = queued_picks(item, task["lotCode"], task, floor)
        await ok(
            admin_client.post(
                "/api/holds",
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "kind": "hold",
                    "reason": "Lab",
                    "lots": [lot],
                },
            )
        )
        answered = await asyncio.gather(
            *(tab.post("/api/scans/replay", json=replay_body(scans)) for tab in (tab_a, tab_b))
        )
    for response in answered:
        assert response.status_code == 200
        assert all(r["scan"]["verdict"] == "rejected" for r in response.json()["results"])
    assert await picks_of(db, lot) == []
    for scan in scans:
        assert len(await exceptions_of(db, scan["idempotencyKey"])) == 1
