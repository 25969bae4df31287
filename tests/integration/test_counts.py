"""Blind cycle counts over real HTTP and a real database: counters never see what is
expected, picks during a count make no variance, found lots are recorded, a variance past
the threshold is recounted by someone else, and only a supervisor's approval writes `count`
movements, keeping the ledger equal to the balances."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from backend.scanning.verdicts import COUNT_CODES
from tests.conftest import LiveServer, MakeUser, TestUser
from tests.integration.arrange import assert_problem, gs1, lotline_check, move, ok, scan_body
from tests.integration.test_fulfilment import (
    Item,
    balance,
    pick,
    place,
    product,
    stock,
    tasks_of,
    wave,
)

REACHED: set[str] = set()
"""Count verdict codes the tests of this module received, checked by the last test."""

HIDDEN = {"expected", "variance", "snapshot", "moved", "recount"}
"""Keys a counter's answer on a blind count must never carry."""

_bins = itertools.count(1)


@dataclass(frozen=True)
class Bin:
    name: str
    """WH/CODE."""
    label: str
    """The barcode printed on it."""


async def new_bin(admin: httpx.AsyncClient, warehouse: str = "FUL") -> Bin:
    """A bin of its own for each test, so counts of one test never meet another's."""
    code = f"C-{next(_bins):03d}"
    made = await ok(admin.post("/api/locations", json={"warehouse": warehouse, "code": code}))
    return Bin(name=f"{warehouse}/{code}", label=made["barcode"])


@dataclass(frozen=True)
class Crew:
    supervisor: httpx.AsyncClient
    first: httpx.AsyncClient
    second: httpx.AsyncClient
    picker: httpx.AsyncClient
    first_user: TestUser
    second_user: TestUser


@pytest.fixture(scope="module")
async def crew(live_server: LiveServer, make_user: MakeUser, floor: Any) -> AsyncIterator[Crew]:
    users = [
        await make_user(["supervisor"]),
        await make_user(["counter"]),
        await make_user(["counter"]),
        floor.picker,
    ]
    clients = [
        httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=user.headers)
        for user in users
    ]
    yield Crew(*clients, first_user=users[1], second_user=users[2])
    for client in clients:
        await client.aclose()


def hidden_keys(value: Any) -> set[str]:
    """Every key of HIDDEN anywhere in a JSON value."""
    if isinstance(value, dict):
        found = HIDDEN & set(value)
        for item in value.values():
            found |= hidden_keys(item)
        return found
    if isinstance(value, list):
        return set().union(*(hidden_keys(item) for item in value)) if value else set()
    return set()


def blind(response: httpx.Response) -> Any:
    """The JSON of a counter-facing answer, checked to carry nothing the count hides."""
    assert response.status_code < 300, response.text
    body = response.json()
    for task in body if isinstance(body, list) else [body]:
        if task.get("blind") is not False:  # a count made not blind shows what is expected
            assert hidden_keys(task) == set(), task
    return body


async def new_count(sup: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"warehouse": "FUL", **fields}
    made: dict[str, Any] = await ok(sup.post("/api/counts", json=body))
    return made


async def count_of_bin(sup: httpx.AsyncClient, where: Bin, **fields: Any) -> int:
    """A count of one bin; its task's id."""
    made = await new_count(sup, bins=[where.name], **fields)
    [task] = made["tasks"]
    task_id: int = task["id"]
    return task_id


async def count_scan(
    client: httpx.AsyncClient, task_id: int, raw: str, *, blind_count: bool = True, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/scans", json=scan_body(raw, "count", countId=task_id, **fields)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    REACHED.add(body["code"])
    if blind_count and body["count"] is not None:
        assert hidden_keys(body["count"]) == set(), body["count"]
    if blind_count and body["lot"] is not None:
        # The lot card would tell the units of a lot held in one bin.
        assert body["lot"]["onHandTotal"] is None, body["lot"]
        assert (body["lot"]["onHand"], body["lot"]["history"]) == (None, None), body["lot"]
    return body


async def counted(
    client: httpx.AsyncClient, task_id: int, where: Bin, lots: list[tuple[Item, str, int]]
) -> dict[str, Any]:
    """Scan the bin, then each lot with its units, then submit; the submitted task."""
    started = await count_scan(client, task_id, where.label)
    assert started["code"] == "count_started", started
    for item, lot, units in lots:
        answer = await count_scan(client, task_id, gs1(item.gtin, lot), quantity=units)
        assert answer["code"] == "counted", answer
    submitted: dict[str, Any] = blind(await client.post(f"/api/count-tasks/{task_id}/submit"))
    return submitted


async def review(sup: httpx.AsyncClient, task_id: int) -> dict[str, Any]:
    """The supervisor's view of a task, from its count."""
    counts = await ok(sup.get("/api/counts", params={"limit": 500}))
    for made in counts:
        for task in made["tasks"]:
            if task["id"] == task_id:
                found: dict[str, Any] = task
                return found
    raise AssertionError(f"no task {task_id}")


def lines_by_lot(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["lotCode"]: line for line in task["lines"]}


async def count_movements(db: asyncpg.Connection, lot_id: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM movement WHERE lot_id = $1 AND kind = 'count' ORDER BY id", lot_id
    )


def ledger_equal(database_url: str) -> None:
    checked = lotline_check(database_url)
    assert checked.returncode == 0, checked.stderr
    assert "no drift" in checked.stdout


# --- blind ------------------------------------------------------------------------------------


async def test_a_blind_count_never_shows_the_counter_what_is_expected(admin_client, crew):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    await stock(admin_client, oats, "BLIND-1", 10, where.name)
    task_id = await count_of_bin(crew.supervisor, where, note="Monday count")

    listed = blind(await crew.first.get("/api/count-tasks", params={"warehouse": "FUL"}))
    [mine] = [task for task in listed if task["id"] == task_id]
    assert mine["bin"] == {
        "id": mine["bin"]["id"],
        "code": where.name.split("/")[1],
        "barcode": where.label,
        "warehouse": "FUL",
    }
    assert (mine["status"], mine["blind"], mine["note"]) == ("open", True, "Monday count")

    started = await count_scan(crew.first, task_id, where.label)
    assert started["count"]["status"] == "counting" and started["count"]["lines"] == []
    first = await count_scan(crew.first, task_id, gs1(oats.gtin, "BLIND-1"), quantity=4)
    again = await count_scan(crew.first, task_id, gs1(oats.gtin, "BLIND-1"), quantity=3)
    assert first["code"] == again["code"] == "counted"
    [line] = again["count"]["lines"]
    assert (line["lotCode"], line["counted"]) == ("BLIND-1", 7)
    assert "10" not in again["message"]
    lot_id = line["lotId"]

    viewed = blind(await crew.first.get(f"/api/count-tasks/{task_id}"))
    assert viewed["lines"][0]["counted"] == 7
    corrected = blind(
        await crew.first.post(f"/api/count-tasks/{task_id}/lines/{lot_id}", json={"quantity": 9})
    )
    assert corrected["lines"][0]["counted"] == 9
    submitted = blind(await crew.first.post(f"/api/count-tasks/{task_id}/submit"))
    assert submitted["status"] == "submitted"
    # Even a supervisor's handheld view of a blind task is blind.
    blind(await crew.supervisor.get(f"/api/count-tasks/{task_id}"))

    supervised = lines_by_lot(await review(crew.supervisor, task_id))["BLIND-1"]
    assert (supervised["expected"], supervised["counted"], supervised["variance"]) == (10, 9, -1)
    assert supervised["recount"] is False


async def test_a_count_that_is_not_blind_shows_the_counter_what_is_expected(admin_client, crew):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    await stock(admin_client, oats, "OPEN-1", 6, where.name)
    task_id = await count_of_bin(crew.supervisor, where, blind=False)
    await count_scan(crew.first, task_id, where.label, blind_count=False)
    answer = await count_scan(
        crew.first, task_id, gs1(oats.gtin, "OPEN-1"), quantity=5, blind_count=False
    )
    [line] = answer["count"]["lines"]
    assert (line["expected"], line["counted"], line["variance"]) == (6, 5, -1)
    assert answer["count"]["blind"] is False


# --- the ledger position ----------------------------------------------------------------------


async def test_a_pick_and_a_move_during_the_count_make_no_false_variance(
    admin_client, crew, floor, db, database_url
):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    lot_id = await stock(admin_client, oats, "DURING-1", 10, where.name)
    other = await stock(admin_client, oats, "DURING-2", 4, where.name, "2041-01-31")
    order = await place(admin_client, [(oats, 3)])
    await wave(admin_client, [order], pickers=[floor.picker])
    [pick_task] = await tasks_of(crew.picker, order)
    assert pick_task["lotCode"] == "DURING-1"

    task_id = await count_of_bin(crew.supervisor, where)
    await count_scan(crew.first, task_id, where.label)  # the count starts: 10 and 4 here
    # While the counter works, a picker takes 3 of DURING-1 and 2 of DURING-2 move away.
    assert (await pick(crew.picker, pick_task, where.label))["code"] == "bin_confirmed"
    picked = await pick(crew.picker, pick_task, gs1(oats.gtin, "DURING-1"), quantity=3)
    assert picked["code"] == "picked", picked
    await ok(
        move(admin_client, lotId=other, quantity=2, **{"from": where.name, "to": floor.bins[3]})
    )
    await count_scan(crew.first, task_id, gs1(oats.gtin, "DURING-1"), quantity=7)
    await count_scan(crew.first, task_id, gs1(oats.gtin, "DURING-2"), quantity=2)
    # After DURING-2 was counted, one more leaves: it was counted before it left.
    await ok(
        move(admin_client, lotId=other, quantity=1, **{"from": where.name, "to": floor.bins[3]})
    )
    submitted = blind(await crew.first.post(f"/api/count-tasks/{task_id}/submit"))
    assert submitted["status"] == "submitted"

    lines = lines_by_lot(await review(crew.supervisor, task_id))
    assert {
        code: (line["snapshot"], line["moved"], line["expected"], line["counted"], line["variance"])
        for code, line in lines.items()
    } == {
        "DURING-1": (10, -3, 7, 7, 0),
        "DURING-2": (4, -2, 2, 2, 0),
    }
    approved = await ok(crew.supervisor.post(f"/api/count-tasks/{task_id}/approve"))
    assert approved["status"] == "approved" and approved["adjustments"] == []
    assert await count_movements(db, lot_id) == []
    assert await balance(db, lot_id, where.name) == (7, 0)
    ledger_equal(database_url)


async def test_lots_expected_but_not_scanned_count_as_none_and_a_found_lot_is_unexpected(
    admin_client, crew, db, database_url
):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    elsewhere = await new_bin(admin_client)
    gone = await stock(admin_client, oats, "GONE-1", 2, where.name)
    found = await stock(admin_client, oats, "FOUND-1", 5, elsewhere.name)
    task_id = await count_of_bin(crew.supervisor, where)
    await counted(crew.first, task_id, where, [(oats, "FOUND-1", 2)])

    lines = lines_by_lot(await review(crew.supervisor, task_id))
    assert (lines["GONE-1"]["counted"], lines["GONE-1"]["scanned"]) == (0, False)
    assert lines["GONE-1"]["variance"] == -2 and not lines["GONE-1"]["unexpected"]
    assert lines["FOUND-1"]["unexpected"] and lines["FOUND-1"]["variance"] == 2
    assert await count_movements(db, found) == []  # nothing written before approval

    approved = await ok(
        crew.supervisor.post(f"/api/count-tasks/{task_id}/approve", json={"note": "ok"})
    )
    assert len(approved["adjustments"]) == 2
    [gain] = await count_movements(db, found)
    [loss] = await count_movements(db, gone)
    assert (gain["from_location_id"], gain["quantity"]) == (None, 2)
    assert (loss["to_location_id"], loss["quantity"]) == (None, 2)
    assert f"task {task_id}" in gain["reason"] and gain["reference"] == f"count-task/{task_id}"
    assert await balance(db, found, where.name) == (2, 0)
    assert await balance(db, gone, where.name) == (0, 0)
    ledger_equal(database_url)


# --- recounts and approval --------------------------------------------------------------------


async def test_a_variance_past_the_threshold_is_recounted_by_someone_else_then_approved(
    admin_client, crew, db, database_url
):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    lot_id = await stock(admin_client, oats, "RECOUNT-1", 20, where.name)
    task_id = await count_of_bin(crew.supervisor, where)
    first = await counted(crew.first, task_id, where, [(oats, "RECOUNT-1", 10)])
    assert first["status"] == "recount_required"

    original = await review(crew.supervisor, task_id)
    recount_id = original["recount"]
    assert recount_id is not None
    mine = blind(await crew.first.get("/api/count-tasks"))
    assert recount_id not in [task["id"] for task in mine]
    refused = await count_scan(crew.first, recount_id, where.label)
    assert (refused["verdict"], refused["code"]) == ("rejected", "recount_by_same_counter")
    early = await crew.supervisor.post(f"/api/count-tasks/{task_id}/approve")
    assert_problem(early, 409, "recount_open")

    theirs = blind(await crew.second.get("/api/count-tasks"))
    [offered] = [task for task in theirs if task["id"] == recount_id]
    assert offered["recountOf"] == task_id
    second = await counted(crew.second, recount_id, where, [(oats, "RECOUNT-1", 11)])
    assert second["status"] == "submitted"
    assert (await review(crew.supervisor, task_id))["status"] == "recounted"
    assert await count_movements(db, lot_id) == []
    assert await balance(db, lot_id, where.name) == (20, 0)

    key = {"idempotencyKey": str(uuid.uuid4()), "note": "Recount agrees"}
    approved = await ok(crew.supervisor.post(f"/api/count-tasks/{task_id}/approve", json=key))
    assert (approved["id"], approved["status"]) == (recount_id, "approved")
    [line] = approved["lines"]
    assert (line["expected"], line["counted"], line["variance"]) == (20, 11, -9)
    retried = await crew.supervisor.post(f"/api/count-tasks/{task_id}/approve", json=key)
    assert retried.status_code == 200 and retried.json() == approved
    assert retried.headers.get("Idempotent-Replayed") == "true"
    again = await crew.supervisor.post(f"/api/count-tasks/{task_id}/approve")
    assert_problem(again, 409, "count_task_decided")

    [loss] = await count_movements(db, lot_id)
    assert (loss["quantity"], loss["to_location_id"]) == (9, None)
    assert await balance(db, lot_id, where.name) == (11, 0)
    assert (await review(crew.supervisor, task_id))["status"] == "approved"
    ledger_equal(database_url)


async def test_a_loss_larger_than_the_free_units_is_refused_and_nothing_is_written(
    admin_client, crew, floor, db, database_url
):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    lot_id = await stock(admin_client, oats, "ALLOC-1", 5, where.name)
    task_id = await count_of_bin(crew.supervisor, where)
    await counted(crew.first, task_id, where, [(oats, "ALLOC-1", 1)])
    recount_id = (await review(crew.supervisor, task_id))["recount"]
    await counted(crew.second, recount_id, where, [(oats, "ALLOC-1", 1)])
    # Meanwhile a wave allocates 3 of the 5: only 2 are free for a loss of 4.
    order = await place(admin_client, [(oats, 3)])
    await wave(admin_client, [order])
    assert await balance(db, lot_id, where.name) == (5, 3)

    refused = await crew.supervisor.post(f"/api/count-tasks/{recount_id}/approve")
    assert_problem(refused, 409, "insufficient_stock")
    assert await count_movements(db, lot_id) == []
    assert await balance(db, lot_id, where.name) == (5, 3)
    assert (await review(crew.supervisor, recount_id))["status"] == "submitted"

    rejected = await ok(crew.supervisor.post(f"/api/count-tasks/{task_id}/reject"))
    assert rejected["status"] == "rejected"
    assert await count_movements(db, lot_id) == []
    assert (await review(crew.supervisor, task_id))["status"] == "rejected"
    ledger_equal(database_url)


async def test_a_held_lot_is_counted_like_any_other(admin_client, crew):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    held = await stock(admin_client, oats, "HELD-C1", 3, where.name)
    await ok(
        admin_client.post(
            "/api/holds",
            json={"kind": "hold", "reason": "Lab check", "lots": [held]},
        )
    )
    task_id = await count_of_bin(crew.supervisor, where)
    await count_scan(crew.first, task_id, where.label)
    answer = await count_scan(crew.first, task_id, gs1(oats.gtin, "HELD-C1"), quantity=3)
    assert (answer["verdict"], answer["code"]) == ("accepted", "counted")
    assert answer["count"]["lines"][0]["counted"] == 3


async def test_a_retried_count_scan_counts_once(admin_client, crew):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    await stock(admin_client, oats, "RETRY-1", 8, where.name)
    task_id = await count_of_bin(crew.supervisor, where)
    await count_scan(crew.first, task_id, where.label)
    body = scan_body(gs1(oats.gtin, "RETRY-1"), "count", countId=task_id, quantity=3)
    first = await crew.first.post("/api/scans", json=body)
    second = await crew.first.post("/api/scans", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    view = blind(await crew.first.get(f"/api/count-tasks/{task_id}"))
    assert view["lines"][0]["counted"] == 3


async def test_scans_that_do_not_fit_the_task_are_refused_and_count_nothing(admin_client, crew):
    oats = await product(admin_client)
    serum = await product(admin_client, tracking="lot_serial")
    where = await new_bin(admin_client)
    other = await new_bin(admin_client)
    await stock(admin_client, oats, "FIT-1", 3, where.name)
    await stock(admin_client, serum, "SER-C1", 2, where.name, serials=["C1", "C2"])
    task_id = await count_of_bin(crew.supervisor, where, assignee=crew.first_user.username)

    def code(answer: dict[str, Any]) -> str:
        assert answer["verdict"] == "rejected", answer
        return str(answer["code"])

    assert code(await count_scan(crew.first, task_id, gs1(oats.gtin, "FIT-1"))) == (
        "bin_not_confirmed"
    )
    assert code(await count_scan(crew.first, task_id, other.label)) == "wrong_bin"
    assert code(await count_scan(crew.second, task_id, where.label)) == "count_task_not_yours"
    assert code(await count_scan(crew.first, 10**9, where.label)) == "unknown_count_task"
    await count_scan(crew.first, task_id, where.label)
    again = await count_scan(crew.first, task_id, where.label)
    assert again["code"] == "count_started"
    assert code(await count_scan(crew.first, task_id, f"]d201{oats.gtin}")) == "lot_required"
    assert (
        code(await count_scan(crew.first, task_id, gs1(oats.gtin, "FIT-1"), location=other.name))
        == "wrong_bin"
    )
    assert code(await count_scan(crew.first, task_id, gs1(serum.gtin, "SER-C1"))) == (
        "serial_required"
    )
    serial = gs1(serum.gtin, "SER-C1", "C1")
    assert (await count_scan(crew.first, task_id, serial, quantity=5))["code"] == "counted"
    assert code(await count_scan(crew.first, task_id, serial)) == "serial_counted"
    view = blind(await crew.first.get(f"/api/count-tasks/{task_id}"))
    assert {line["lotCode"]: line["counted"] for line in view["lines"]} == {"SER-C1": 1}
    await crew.first.post(f"/api/count-tasks/{task_id}/submit")
    closed = await count_scan(crew.first, task_id, gs1(oats.gtin, "FIT-1"))
    assert code(closed) == "count_task_closed"


async def test_a_serial_tracked_variance_is_not_adjusted_by_approval(
    admin_client, crew, db, database_url
):
    serum = await product(admin_client, tracking="lot_serial")
    where = await new_bin(admin_client)
    lot_id = await stock(admin_client, serum, "SER-D1", 2, where.name, serials=["D1", "D2"])
    task_id = await count_of_bin(crew.supervisor, where)
    await count_scan(crew.first, task_id, where.label)
    await count_scan(crew.first, task_id, gs1(serum.gtin, "SER-D1", "D1"))
    await crew.first.post(f"/api/count-tasks/{task_id}/submit")
    refused = await crew.supervisor.post(f"/api/count-tasks/{task_id}/approve")
    assert_problem(refused, 409, "serial_count_adjustment")
    assert await count_movements(db, lot_id) == []
    ledger_equal(database_url)


# --- scopes -----------------------------------------------------------------------------------


async def test_counts_choose_bins_by_product_lot_expiry_or_time_since_last_count(
    admin_client, crew
):
    oats = await product(admin_client)
    soon, late, empty = [await new_bin(admin_client) for _ in range(3)]
    in_ten_days = (date.today() + timedelta(days=10)).isoformat()
    expiring = await stock(admin_client, oats, "SOON-1", 2, soon.name, in_ten_days)
    await stock(admin_client, oats, "LATE-1", 2, late.name, "2045-01-10")

    def bins(made: dict[str, Any]) -> set[str]:
        return {f"{task['bin']['warehouse']}/{task['bin']['code']}" for task in made["tasks"]}

    by_sku = await new_count(crew.supervisor, sku=oats.sku)
    assert bins(by_sku) == {soon.name, late.name}
    assert by_sku["scope"] == {"sku": oats.sku}
    for task in by_sku["tasks"]:
        await ok(crew.supervisor.post(f"/api/count-tasks/{task['id']}/reject"))
    by_lot = await new_count(crew.supervisor, lotId=expiring)
    assert bins(by_lot) == {soon.name}
    await ok(crew.supervisor.post(f"/api/count-tasks/{by_lot['tasks'][0]['id']}/reject"))
    by_expiry = await new_count(crew.supervisor, rule={"expiringWithinDays": 30})
    assert soon.name in bins(by_expiry) and late.name not in bins(by_expiry)
    never = await new_count(crew.supervisor, rule={"notCountedForDays": 30})
    # Every bin not counted in 30 days that no count holds open, never-counted ones included.
    assert empty.name in bins(never) and late.name in bins(never)
    assert soon.name not in bins(never)  # the expiry count holds it open


# --- accuracy ---------------------------------------------------------------------------------


async def test_accuracy_per_bin_and_per_counter(admin_client, crew):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    await stock(admin_client, oats, "ACC-1", 4, where.name)
    await stock(admin_client, oats, "ACC-2", 4, where.name, "2041-01-31")
    task_id = await count_of_bin(crew.supervisor, where)
    await counted(crew.first, task_id, where, [(oats, "ACC-1", 4), (oats, "ACC-2", 3)])
    figures = await ok(crew.supervisor.get("/api/counts/accuracy", params={"warehouse": "FUL"}))
    [row] = [row for row in figures["byBin"] if row["name"] == where.name]
    assert (row["tasks"], row["lines"], row["exactLines"], row["varianceUnits"]) == (1, 2, 1, 1)
    assert row["accuracy"] == 0.5
    assert crew.first_user.username in [row["name"] for row in figures["byCounter"]]


# --- roles and bad input ----------------------------------------------------------------------


async def test_only_supervisors_create_review_and_decide_counts_and_only_counters_count(
    admin_client, crew
):
    where = await new_bin(admin_client)
    assert_problem(
        await crew.first.post("/api/counts", json={"warehouse": "FUL", "bins": [where.name]}),
        403,
        "forbidden",
    )
    assert_problem(await crew.first.get("/api/counts"), 403, "forbidden")
    assert_problem(await crew.first.get("/api/counts/accuracy"), 403, "forbidden")
    task_id = await count_of_bin(crew.supervisor, where)
    assert_problem(await crew.first.post(f"/api/count-tasks/{task_id}/approve"), 403, "forbidden")
    assert_problem(await crew.picker.get("/api/count-tasks"), 403, "forbidden")
    refused = await crew.picker.post(
        "/api/scans", json=scan_body(where.label, "count", countId=task_id)
    )
    assert_problem(refused, 403, "scan_context_forbidden")


async def test_a_correction_replayed_with_its_key_answers_the_first_and_undoes_no_later_one(
    admin_client, crew
):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    lot_id = await stock(admin_client, oats, "KEYED-1", 5, where.name)
    task_id = await count_of_bin(crew.supervisor, where)
    await count_scan(crew.first, task_id, where.label)
    line = f"/api/count-tasks/{task_id}/lines/{lot_id}"
    key = str(uuid.uuid4())
    first = await crew.first.post(line, json={"quantity": 4, "idempotencyKey": key})
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    later = blind(
        await crew.first.post(line, json={"quantity": 6, "idempotencyKey": str(uuid.uuid4())})
    )
    assert later["lines"][0]["counted"] == 6
    # The handheld's queue sends the first correction again: same answer, nothing changed.
    again = await crew.first.post(line, json={"quantity": 4, "idempotencyKey": key})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    now = blind(await crew.first.get(f"/api/count-tasks/{task_id}"))
    assert now["lines"][0]["counted"] == 6


async def test_counters_only_correct_and_submit_their_own_started_tasks(admin_client, crew):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    lot_id = await stock(admin_client, oats, "OWN-1", 2, where.name)
    task_id = await count_of_bin(crew.supervisor, where)
    line = f"/api/count-tasks/{task_id}/lines/{lot_id}"
    assert_problem(await crew.first.post(line, json={"quantity": 1}), 409, "count_not_started")
    assert_problem(
        await crew.first.post(f"/api/count-tasks/{task_id}/submit"), 409, "count_not_started"
    )
    assert_problem(
        await crew.supervisor.post(f"/api/count-tasks/{task_id}/approve"),
        409,
        "count_not_submitted",
    )
    await count_scan(crew.first, task_id, where.label)
    assert_problem(await crew.second.post(line, json={"quantity": 1}), 403, "count_task_not_yours")
    assert_problem(
        await crew.first.post(f"/api/count-tasks/{task_id}/lines/999999999", json={"quantity": 1}),
        404,
        "lot_not_found",
    )
    assert_problem(await crew.first.post(line, json={"quantity": -1}), 400, "invalid_request")
    assert_problem(await crew.first.get("/api/count-tasks/999999999"), 404, "count_task_not_found")
    assert_problem(await crew.supervisor.get("/api/counts/999999999"), 404, "count_not_found")
    view = blind(await crew.first.get(f"/api/count-tasks/{task_id}"))
    assert view["lines"] == []
    first = blind(await crew.first.post(f"/api/count-tasks/{task_id}/submit"))
    retry = blind(await crew.first.post(f"/api/count-tasks/{task_id}/submit"))
    assert first == retry
    assert_problem(await crew.first.post(line, json={"quantity": 1}), 409, "count_task_closed")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"warehouse": "FUL"}, 422, "count_scope"),
        ({"warehouse": "FUL", "sku": "X", "lotId": 1}, 422, "count_scope"),
        ({"warehouse": "FUL", "rule": {}}, 422, "count_scope"),
        (
            {"warehouse": "FUL", "rule": {"expiringWithinDays": 1, "notCountedForDays": 1}},
            422,
            "count_scope",
        ),
        ({"warehouse": "NOPE", "sku": "X"}, 422, "unknown_warehouse"),
        ({"warehouse": "FUL", "sku": "NO-SUCH-SKU"}, 422, "unknown_product"),
        ({"warehouse": "FUL", "lotId": 999999999}, 422, "unknown_lot"),
        ({"warehouse": "FUL", "bins": ["NOWHERE-9"]}, 422, "unknown_location"),
        ({"warehouse": "FUL", "bins": ["FUL/PACK-1"]}, 422, "invalid_location_kind"),
        ({"warehouse": "FUL", "rule": {"expiringWithinDays": -1}}, 400, "invalid_request"),
        ({"warehouse": "FUL", "bins": []}, 400, "invalid_request"),
        ({"warehouse": "FUL", "sku": "X", "colour": "red"}, 400, "invalid_request"),
        ({"warehouse": "FUL", "lotId": "7"}, 400, "invalid_request"),
        ({"bins": ["FUL/A-01"]}, 400, "invalid_request"),
        (
            {"warehouse": "FUL", "bins": ["FUL/A-01"], "assignee": "nobody-here"},
            422,
            "unknown_user",
        ),
    ],
)
async def test_bad_count_requests_are_problems_and_create_nothing(crew, db, body, status, code):
    before = await db.fetchval("SELECT count(*) FROM count_task")
    assert_problem(await crew.supervisor.post("/api/counts", json=body), status, code)
    assert await db.fetchval("SELECT count(*) FROM count_task") == before


async def test_counts_of_a_bin_in_another_warehouse_or_an_empty_scope_are_refused(
    admin_client, crew, floor, make_user, db
):
    oats = await product(admin_client)
    where = await new_bin(admin_client)
    await ok(admin_client.post("/api/warehouses", json={"code": "CNT2", "name": "Counts 2"}))
    away = await new_bin(admin_client, "CNT2")
    picker = floor.picker.username
    before = await db.fetchval("SELECT count(*) FROM count_task")
    cases = [
        ({"bins": [away.name]}, 422, "location_in_other_warehouse"),
        ({"sku": oats.sku}, 422, "empty_count_scope"),  # no stock of it anywhere
        ({"bins": [where.name], "assignee": picker}, 422, "assignee_not_counter"),
    ]
    for fields, status, code in cases:
        response = await crew.supervisor.post("/api/counts", json={"warehouse": "FUL", **fields})
        assert_problem(response, status, code)
    await count_of_bin(crew.supervisor, where)
    busy = await crew.supervisor.post(
        "/api/counts", json={"warehouse": "FUL", "bins": [where.name]}
    )
    assert_problem(busy, 409, "bin_being_counted")
    assert await db.fetchval("SELECT count(*) FROM count_task") == before + 1


# --- last: the whole catalogue was reached ----------------------------------------------------


def test_zz_every_count_verdict_was_reached():
    assert set() == COUNT_CODES - REACHED
