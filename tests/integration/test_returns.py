"""Returns over real HTTP into a real database: the order found by its label or by search,
items scanned back into their lot at a bin, into quarantine or disposal, held and expired
lots forced to quarantine (and shown on the recall's trace), items that did not ship on the
order flagged with nothing moved, retries applied once, the return-rate alert and its live
message, roles and bad input, and the ledger equal to the balances after all of it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from backend.scanning.verdicts import RETURN_CODES
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import Floor, assert_problem, gs1, lotline_check, ok, scan_body
from tests.integration.test_fulfilment import (
    Item,
    balance,
    pack,
    pick,
    place,
    product,
    stock,
    tasks_of,
    wave,
)

REACHED: set[str] = set()
"""Return verdict codes the tests of this module received, checked by the last test."""


@pytest.fixture(scope="module")
async def clerk(live_server: LiveServer, make_user: MakeUser) -> AsyncIterator[httpx.AsyncClient]:
    """A returns clerk's client."""
    user = await make_user(["returns"])
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=user.headers
    ) as http:
        yield http


async def ship(
    admin: httpx.AsyncClient,
    picker: httpx.AsyncClient,
    packer: httpx.AsyncClient,
    floor: Floor,
    lines: list[tuple[Item, int]],
    serials: list[str] | None = None,
) -> dict[str, Any]:
    """Place, wave, pick, pack and ship an order (units by serial when `serials` are given)."""
    order = await place(admin, lines)
    await wave(admin, [order], pickers=[floor.picker])
    gtins = {item.sku: item.gtin for item, _ in lines}
    units = iter(serials or [])
    for task in await tasks_of(picker, order):
        label = floor.bin_labels[floor.bins.index(f"{floor.warehouse}/{task['bin']['code']}")]
        assert (await pick(picker, task, label))["code"] == "bin_confirmed"
        gtin = gtins[task["sku"]]
        if serials is None:
            raw = gs1(gtin, task["lotCode"])
            assert (await pick(picker, task, raw, quantity=task["quantity"]))["code"] == "picked"
            assert (await pack(packer, order, raw, quantity=task["quantity"]))["code"] == "packed"
            continue
        for _ in range(task["quantity"]):
            raw = gs1(gtin, task["lotCode"], next(units))
            assert (await pick(picker, task, raw))["code"] == "picked"
            assert (await pack(packer, order, raw))["code"] == "packed"
    await ok(
        packer.post(f"/api/orders/{order['id']}/ship", json={"idempotencyKey": str(uuid.uuid4())})
    )
    return order


async def open_return(client: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    opened: dict[str, Any] = await ok(
        client.post("/api/returns", json={"orderId": order["id"], "note": "Parcel 1 of 1"})
    )
    return opened


async def item(
    client: httpx.AsyncClient, returned: dict[str, Any], raw: str, **fields: Any
) -> dict[str, Any]:
    """Scan an item into the return; the scan's answer."""
    body = scan_body(raw, "return", returnId=returned["id"], **fields)
    response = await client.post("/api/scans", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    REACHED.add(answer["code"])
    return answer


async def customer_units(db: asyncpg.Connection, lot_id: int) -> int:
    """Units of the lot at customers' locations."""
    return int(
        await db.fetchval(
            """SELECT coalesce(sum(b.quantity), 0) FROM stock_balance b
                 JOIN location l ON l.id = b.location_id
                WHERE b.lot_id = $1 AND l.kind = 'customer'""",
            lot_id,
        )
    )


async def serial_at(db: asyncpg.Connection, serial: str) -> tuple[str, str]:
    """The code and kind of the location a serial is at."""
    row = await db.fetchrow(
        """SELECT l.code, l.kind FROM serial s JOIN location l ON l.id = s.location_id
            WHERE s.serial = $1""",
        serial,
    )
    return row["code"], row["kind"]


async def movements(db: asyncpg.Connection, lot_id: int) -> int:
    return int(await db.fetchval("SELECT count(*) FROM movement WHERE lot_id = $1", lot_id))


# --- finding the order --------------------------------------------------------------------


async def test_the_order_is_found_by_its_label_its_order_number_or_a_search(
    admin_client, as_picker, as_packer, clerk, floor
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "FIND-ME", 4, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 2)])
    for raw in (f"ORDER-{order['id']}", f"]C1400{order['externalId']}", order["externalId"]):
        found = await ok(clerk.post("/api/returns/find", json={"raw": raw}))
        assert (found["id"], found["status"], found["openReturnId"]) == (
            order["id"],
            "shipped",
            None,
        )
        [line] = found["lines"]
        assert (line["sku"], line["shipped"], line["returned"]) == (oats.sku, 2, 0)
        assert line["lots"] == [{"lotId": lot, "lotCode": "FIND-ME", "shipped": 2, "returned": 0}]
    by_ref = await ok(clerk.get("/api/returns/orders", params={"q": order["customer"]["ref"]}))
    assert [o["id"] for o in by_ref] == [order["id"]]
    by_number = await ok(clerk.get("/api/returns/orders", params={"q": order["externalId"][:8]}))
    assert order["id"] in [o["id"] for o in by_number]
    assert len(await ok(clerk.get("/api/returns/orders", params={"q": "Ada"}))) <= 20
    # A wildcard in the search is a character, not a pattern.
    assert await ok(clerk.get("/api/returns/orders", params={"q": "%"})) == []

    waiting = await place(admin_client, [(oats, 1)])
    assert_problem(
        await clerk.post("/api/returns/find", json={"raw": f"ORDER-{waiting['id']}"}),
        409,
        "order_not_shipped",
    )
    assert_problem(
        await clerk.post("/api/returns/find", json={"raw": "NO-SUCH-ORDER"}), 404, "order_not_found"
    )


# --- restock, quarantine, dispose -----------------------------------------------------------


async def test_a_restocked_item_goes_back_into_its_lot_at_the_bin(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "BACK-IN", 5, floor.bins[1])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 3)])
    returned = await open_return(clerk, order)
    assert (returned["status"], returned["order"]["externalId"]) == ("open", order["externalId"])
    assert returned["order"]["customerName"] == "Ada Customer"
    [line] = returned["lines"]
    assert (line["lotCode"], line["shipped"], line["returned"]) == ("BACK-IN", 3, 0)
    # Opening again answers the open return.
    again = await clerk.post("/api/returns", json={"orderId": order["id"]})
    assert again.status_code == 200 and again.json()["id"] == returned["id"]

    answer = await item(
        clerk,
        returned,
        gs1(oats.gtin, "BACK-IN"),
        quantity=2,
        reason="unwanted",
        disposition="restock",
        location=floor.bin_labels[2],
    )
    assert (answer["verdict"], answer["code"], answer["feedback"]) == (
        "accepted",
        "restocked",
        "ok",
    )
    assert await balance(db, lot, floor.bins[2]) == (2, 0)
    assert await customer_units(db, lot) == 1
    [line] = answer["return"]["lines"]
    assert (line["shipped"], line["returned"]) == (3, 2)
    [kept] = answer["return"]["items"]
    assert (kept["lotCode"], kept["quantity"], kept["reason"], kept["disposition"]) == (
        "BACK-IN",
        2,
        "unwanted",
        "restock",
    )
    assert (kept["destination"], kept["flagged"], kept["forced"]) == (floor.bins[2], False, False)
    movement = await db.fetchrow(
        """SELECT m.kind, f.kind AS source, ol.order_id FROM movement m
             JOIN location f ON f.id = m.from_location_id
             JOIN order_line ol ON ol.id = m.order_line_id
            WHERE m.id = $1""",
        kept["movementId"],
    )
    assert dict(movement) == {"kind": "return", "source": "customer", "order_id": order["id"]}
    # The lot's trace lists the units under its returns, from the customer to the bin.
    trace = await ok(admin_client.get(f"/api/trace/lots/{lot}"))
    assert [(r["orderId"], r["to"], r["quantity"]) for r in trace["returns"]] == [
        (order["id"], floor.bins[2], 2)
    ]

    closed = await ok(clerk.post(f"/api/returns/{returned['id']}/close", json={}))
    assert closed["status"] == "closed" and closed["closedAt"]
    late = await item(
        clerk, returned, gs1(oats.gtin, "BACK-IN"), reason="late", disposition="quarantine"
    )
    assert late["code"] == "return_closed"
    assert await customer_units(db, lot) == 1
    listed = await ok(clerk.get("/api/returns", params={"status": "closed"}))
    assert returned["id"] in [r["id"] for r in listed]


async def test_quarantined_and_disposed_items_go_to_the_warehouses_own_locations(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "QA-DISP", 4, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 4)])
    returned = await open_return(clerk, order)
    raw = gs1(oats.gtin, "QA-DISP")
    quarantined = await item(clerk, returned, raw, reason="damaged", disposition="quarantine")
    assert (quarantined["code"], quarantined["feedback"]) == ("return_quarantined", "ok")
    disposed = await item(clerk, returned, raw, quantity=2, reason="opened", disposition="dispose")
    assert (disposed["code"], disposed["feedback"]) == ("return_disposed", "ok")
    # The warehouse had neither: the first return that needed each made it.
    assert await balance(db, lot, "FUL/QUARANTINE") == (1, 0)
    assert await balance(db, lot, "FUL/DISPOSAL") == (2, 0)
    kinds = await db.fetch(
        "SELECT code, kind FROM location WHERE code IN ('QUARANTINE', 'DISPOSAL') ORDER BY code"
    )
    assert [(r["code"], r["kind"]) for r in kinds] == [
        ("DISPOSAL", "disposal"),
        ("QUARANTINE", "quarantine"),
    ]
    items = disposed["return"]["items"]
    assert [(i["destination"], i["quantity"]) for i in items] == [
        ("FUL/QUARANTINE", 1),
        ("FUL/DISPOSAL", 2),
    ]
    assert await customer_units(db, lot) == 1


async def test_a_recalled_lots_item_goes_to_quarantine_whatever_was_chosen_and_shows_on_its_trace(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "RECALLED", 3, floor.bins[3])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 3)])
    await ok(
        admin_client.post(
            "/api/holds",
            json={"kind": "recall", "reason": "Supplier recall", "lots": [lot]},
        )
    )
    returned = await open_return(clerk, order)
    raw = gs1(oats.gtin, "RECALLED")
    answer = await item(
        clerk, returned, raw, reason="recall", disposition="restock", location=floor.bin_labels[3]
    )
    assert (answer["verdict"], answer["code"], answer["feedback"]) == (
        "accepted",
        "returned_to_quarantine",
        "warn",
    )
    assert "recalled" in answer["message"]
    disposed = await item(clerk, returned, raw, reason="recall", disposition="dispose")
    assert disposed["code"] == "returned_to_quarantine"
    assert await balance(db, lot, floor.bins[3]) == (0, 0)
    assert await balance(db, lot, "FUL/QUARANTINE") == (2, 0)
    assert [i["forced"] for i in disposed["return"]["items"]] == [True, True]
    trace = await ok(admin_client.get(f"/api/trace/lots/{lot}"))
    assert [(r["orderId"], r["to"]) for r in trace["returns"]] == [
        (order["id"], "FUL/QUARANTINE"),
        (order["id"], "FUL/QUARANTINE"),
    ]
    assert trace["totals"]["returned"] == 2


async def test_an_expired_lots_item_is_never_restocked(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "OLD-NOW", 2, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 2)])
    # Time passes: the lot expired while the customer had it.
    await db.execute("UPDATE lot SET expiry_date = current_date - 1 WHERE id = $1", lot)
    returned = await open_return(clerk, order)
    answer = await item(
        clerk,
        returned,
        gs1(oats.gtin, "OLD-NOW"),
        reason="unwanted",
        disposition="restock",
        location=floor.bin_labels[0],
    )
    assert (answer["code"], answer["feedback"]) == ("returned_to_quarantine", "warn")
    assert "expired" in answer["message"]
    assert await balance(db, lot, floor.bins[0]) == (0, 0)
    assert await balance(db, lot, "FUL/QUARANTINE") == (1, 0)


async def test_an_untracked_products_item_is_named_by_its_gtin_alone(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    cups = await product(admin_client, tracking="none")
    received = await ok(
        admin_client.post(
            "/api/receipts",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "sku": cups.sku,
                "quantity": 3,
                "location": floor.bins[1],
            },
        )
    )
    lot = received["lot"]["id"]
    order = await ship(admin_client, as_picker, as_packer, floor, [(cups, 2)])
    returned = await open_return(clerk, order)
    answer = await item(
        clerk,
        returned,
        gs1(cups.gtin),
        reason="unwanted",
        disposition="restock",
        location=floor.bin_labels[1],
    )
    assert answer["code"] == "restocked"
    assert await balance(db, lot, floor.bins[1]) == (2, 0)
    assert await customer_units(db, lot) == 1


# --- flagged: did not ship on the order -----------------------------------------------------


async def test_an_item_that_did_not_ship_on_the_order_is_flagged_and_nothing_moves(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    other = await product(admin_client)
    shipped_lot = await stock(admin_client, oats, "ON-ORDER", 2, floor.bins[0])
    stranger = await stock(admin_client, oats, "NOT-ON-IT", 2, floor.bins[1], "2041-01-31")
    await stock(admin_client, other, "ELSEWHERE", 2, floor.bins[1])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 2)])
    returned = await open_return(clerk, order)
    before = await db.fetchval("SELECT count(*) FROM movement")
    wrong_lot = await item(
        clerk, returned, gs1(oats.gtin, "NOT-ON-IT"), reason="x", disposition="quarantine"
    )
    assert (wrong_lot["verdict"], wrong_lot["code"]) == ("rejected", "not_shipped_on_order")
    assert "ON-ORDER" in wrong_lot["message"]
    wrong_product = await item(clerk, returned, gs1(other.gtin, "ELSEWHERE"))
    assert wrong_product["code"] == "not_shipped_on_order"
    flagged = wrong_product["return"]["items"]
    assert [(i["lotCode"], i["flagged"], i["flagCode"], i["destination"]) for i in flagged] == [
        ("NOT-ON-IT", True, "not_shipped_on_order", None),
        ("ELSEWHERE", True, "not_shipped_on_order", None),
    ]
    assert wrong_product["return"]["flagged"] == 2
    assert await db.fetchval("SELECT count(*) FROM movement") == before
    assert await balance(db, stranger, floor.bins[1]) == (2, 0)
    assert await customer_units(db, shipped_lot) == 2
    # A supervisor sees the flagged items on the return.
    seen = await ok(admin_client.get(f"/api/returns/{returned['id']}"))
    assert seen["flagged"] == 2


async def test_a_serial_that_did_not_ship_on_the_order_is_flagged(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    phone = await product(admin_client, tracking="lot_serial")
    lot = await stock(
        admin_client, phone, "PH-1", 4, floor.bins[2], serials=["SN-A", "SN-B", "SN-C", "SN-D"]
    )
    mine = await ship(admin_client, as_picker, as_packer, floor, [(phone, 2)], ["SN-A", "SN-B"])
    theirs = await ship(admin_client, as_picker, as_packer, floor, [(phone, 1)], ["SN-C"])
    returned = await open_return(clerk, mine)
    assert returned["lines"][0]["serials"] == ["SN-A", "SN-B"]
    before = await movements(db, lot)
    other = await item(
        clerk, returned, gs1(phone.gtin, "PH-1", "SN-C"), reason="x", disposition="restock"
    )
    assert (other["verdict"], other["code"]) == ("rejected", "serial_not_shipped_on_order")
    [flag] = other["return"]["items"]
    assert (flag["serial"], flag["flagCode"]) == ("SN-C", "serial_not_shipped_on_order")
    assert await movements(db, lot) == before
    assert (await serial_at(db, "SN-C"))[1] == "customer"

    back = await item(
        clerk,
        returned,
        gs1(phone.gtin, "PH-1", "SN-A"),
        quantity=5,  # a unit by serial is one unit, whatever the handheld sends
        reason="faulty",
        disposition="restock",
        location=floor.bin_labels[2],
    )
    assert back["code"] == "restocked"
    assert back["return"]["lines"][0]["returnedSerials"] == ["SN-A"]
    assert await balance(db, lot, floor.bins[2]) == (2, 0)
    assert await serial_at(db, "SN-A") == ("A-03", "bin")
    # The same unit again is in stock already: the scan itself refuses it.
    twice = await item(
        clerk,
        returned,
        gs1(phone.gtin, "PH-1", "SN-A"),
        reason="faulty",
        disposition="restock",
        location=floor.bin_labels[2],
    )
    assert twice["code"] == "duplicate_serial"
    assert (await open_return(clerk, theirs))["lines"][0]["serials"] == ["SN-C"]


async def test_more_than_shipped_minus_returned_is_flagged(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "TWO-ONLY", 2, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 2)])
    returned = await open_return(clerk, order)
    raw = gs1(oats.gtin, "TWO-ONLY")
    fields = {"reason": "unwanted", "disposition": "quarantine"}
    over = await item(clerk, returned, raw, quantity=3, **fields)
    assert over["code"] == "return_exceeds_shipped"
    assert await customer_units(db, lot) == 2
    assert (await item(clerk, returned, raw, quantity=2, **fields))["code"] == "return_quarantined"
    again = await item(clerk, returned, raw, **fields)
    assert again["code"] == "return_exceeds_shipped"
    assert "0 unit(s)" in again["message"]
    assert [(i["flagged"], i["quantity"]) for i in again["return"]["items"]] == [
        (True, 3),
        (False, 2),
        (True, 1),
    ]
    assert await customer_units(db, lot) == 0


async def test_a_retried_item_scan_applies_once(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "RETRY", 3, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 3)])
    returned = await open_return(clerk, order)
    body = scan_body(
        gs1(oats.gtin, "RETRY"),
        "return",
        returnId=returned["id"],
        reason="unwanted",
        disposition="restock",
        location=floor.bins[1],
    )
    first = await clerk.post("/api/scans", json=body)
    second = await clerk.post("/api/scans", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["code"] == second.json()["code"] == "restocked"
    assert await balance(db, lot, floor.bins[1]) == (1, 0)
    assert (
        await db.fetchval("SELECT count(*) FROM return_item WHERE return_id = $1", returned["id"])
        == 1
    )
    assert await customer_units(db, lot) == 2
    # Opening with the same key twice opens once.
    key = {"orderId": order["id"], "idempotencyKey": str(uuid.uuid4())}
    await ok(clerk.post(f"/api/returns/{returned['id']}/close", json={}))
    reopened = await clerk.post("/api/returns", json=key)
    replay = await clerk.post("/api/returns", json=key)
    assert reopened.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["id"] == reopened.json()["id"] != returned["id"]


# --- the clerk's refusals -------------------------------------------------------------------


async def test_an_item_needs_its_lot_a_reason_a_disposition_and_for_a_restock_a_bin(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    phone = await product(admin_client, tracking="serial")
    lot = await stock(admin_client, oats, "NEEDS", 2, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 2)])
    returned = await open_return(clerk, order)
    raw = gs1(oats.gtin, "NEEDS")
    before = await db.fetchval("SELECT count(*) FROM movement")
    refusals = [
        ({"raw": raw}, "return_reason_required"),
        ({"raw": raw, "reason": "x"}, "return_disposition_required"),
        ({"raw": raw, "reason": "x", "disposition": "restock"}, "restock_location_required"),
        (
            {"raw": raw, "reason": "x", "disposition": "restock", "location": "FUL/PACK-1"},
            "restock_not_a_bin",
        ),
        (
            {"raw": raw, "reason": "x", "disposition": "restock", "location": "NOWHERE-9"},
            "unknown_location",
        ),
        ({"raw": floor.bin_labels[0], "reason": "x"}, "scan_a_unit"),
        ({"raw": gs1(oats.gtin), "reason": "x"}, "lot_required"),
        ({"raw": gs1(phone.gtin), "reason": "x"}, "serial_required"),
    ]
    for fields, code in refusals:
        answer = await item(clerk, returned, **fields)
        assert (answer["verdict"], answer["code"]) == ("rejected", code), answer
        assert answer["message"]
    assert await db.fetchval("SELECT count(*) FROM movement") == before
    assert (
        await db.fetchval("SELECT count(*) FROM return_item WHERE return_id = $1", returned["id"])
        == 0
    )
    assert await customer_units(db, lot) == 2
    gone = await clerk.post("/api/scans", json=scan_body(raw, "return", returnId=2**40, reason="x"))
    assert gone.status_code == 201 and gone.json()["code"] == "unknown_return"
    assert gone.json()["return"] is None
    REACHED.add("unknown_return")
    # Every refusal is recorded as a scan (DESIGN.md rule 4).
    recorded = await db.fetchval(
        "SELECT count(*) FROM scan WHERE context = 'return' AND verdict = 'rejected'"
    )
    assert recorded >= len(refusals) + 1


# --- roles and bad input --------------------------------------------------------------------


async def test_only_returns_clerks_and_supervisors_take_returns(as_picker, clerk, floor):
    assert_problem(await as_picker.post("/api/returns", json={"orderId": 1}), 403, "forbidden")
    assert_problem(await as_picker.get("/api/returns/orders", params={"q": "x"}), 403, "forbidden")
    refused = await as_picker.post(
        "/api/scans", json=scan_body("LOC-X", "return", returnId=1, reason="x")
    )
    assert_problem(refused, 403, "scan_context_forbidden")
    # Alerts are for supervisors.
    assert_problem(await clerk.get("/api/returns/alerts"), 403, "forbidden")
    assert_problem(await clerk.post("/api/returns/alerts/1/dismiss", json={}), 403, "forbidden")


async def test_bad_requests_are_refused_and_change_nothing(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    await stock(admin_client, oats, "BAD-IN", 1, floor.bins[0])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 1)])
    unshipped = await place(admin_client, [(oats, 1)])
    before = await db.fetchval("SELECT count(*) FROM customer_return")
    cases = [
        (clerk.post("/api/returns", json={"orderId": 0}), 400, "invalid_request"),
        (clerk.post("/api/returns", json={"orderId": "one"}), 400, "invalid_request"),
        (clerk.post("/api/returns", json={"orderId": order["id"], "x": 1}), 400, "invalid_request"),
        (
            clerk.post("/api/returns", json={"orderId": order["id"], "note": ""}),
            400,
            "invalid_request",
        ),
        (clerk.post("/api/returns", json={"orderId": 2**40}), 404, "order_not_found"),
        (clerk.post("/api/returns", json={"orderId": unshipped["id"]}), 409, "order_not_shipped"),
        (clerk.get("/api/returns/99999999"), 404, "return_not_found"),
        (clerk.get("/api/returns", params={"status": "lost"}), 400, "invalid_request"),
        (clerk.get("/api/returns/orders"), 400, "invalid_request"),
        (clerk.post("/api/returns/find", json={"raw": ""}), 400, "invalid_request"),
        (clerk.post("/api/returns/99999999/close", json={}), 404, "return_not_found"),
        (
            admin_client.post("/api/returns/alerts/99999999/dismiss", json={}),
            404,
            "alert_not_found",
        ),
        (
            clerk.post("/api/scans", json=scan_body("x", "return", returnId=1, disposition="burn")),
            400,
            "invalid_request",
        ),
    ]
    for request, status, code in cases:
        assert_problem(await request, status, code)
    assert await db.fetchval("SELECT count(*) FROM customer_return") == before
    returned = await open_return(clerk, order)
    await ok(clerk.post(f"/api/returns/{returned['id']}/close"))
    assert_problem(
        await clerk.post(f"/api/returns/{returned['id']}/close", json={}), 409, "return_closed"
    )


# --- the return rate ------------------------------------------------------------------------


async def test_a_lots_return_rate_passing_the_threshold_alerts_a_supervisor_once(
    admin_client, as_picker, as_packer, clerk, floor, db
):
    oats = await product(admin_client)
    lot = await stock(admin_client, oats, "RATE", 25, floor.bins[3])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 20)])
    returned = await open_return(clerk, order)
    raw = gs1(oats.gtin, "RATE")
    after = await db.fetchval("SELECT coalesce(max(id), 0) FROM live_message")
    fields = {"reason": "tastes odd", "disposition": "quarantine"}
    await item(clerk, returned, raw, **fields)  # 1 of 20: 5%, not above
    assert await db.fetchval("SELECT count(*) FROM return_alert WHERE lot_id = $1", lot) == 0
    await item(clerk, returned, raw, **fields)  # 2 of 20: 10%
    [alert] = await ok(admin_client.get("/api/returns/alerts", params={"dismissed": "false"}))
    assert (alert["lotId"], alert["returned"], alert["shipped"], alert["threshold"]) == (
        lot,
        2,
        20,
        0.05,
    )
    assert alert["rate"] == pytest.approx(0.1)
    rows = await db.fetch(
        "SELECT warehouse_id, data FROM live_message WHERE type = 'lot.return_rate' AND id > $1",
        after,
    )
    assert len(rows) == await db.fetchval("SELECT count(*) FROM warehouse")
    told = json.loads(rows[0]["data"])
    assert (told["lotId"], told["lotCode"], told["sku"], told["returned"], told["shipped"]) == (
        lot,
        "RATE",
        oats.sku,
        2,
        20,
    )
    assert told["rate"] == pytest.approx(0.1) and told["threshold"] == 0.05
    assert told["suggestedHold"]["lots"] == [lot] and told["suggestedHold"]["kind"] == "hold"
    # Once: the next return of the lot raises nothing more.
    await item(clerk, returned, raw, **fields)
    assert await db.fetchval("SELECT count(*) FROM return_alert WHERE lot_id = $1", lot) == 1
    assert await db.fetchval(
        "SELECT count(*) FROM live_message WHERE type = 'lot.return_rate' AND id > $1", after
    ) == len(rows)
    # The suggested hold is a body POST /api/holds takes as it is.
    held = await ok(admin_client.post("/api/holds", json=told["suggestedHold"]))
    assert held["lots"][0]["status"] == "hold"
    dismissed = await ok(
        admin_client.post(
            f"/api/returns/alerts/{alert['id']}/dismiss", json={"note": "Held for the lab"}
        )
    )
    assert dismissed["dismissedAt"] and dismissed["dismissNote"] == "Held for the lab"
    assert_problem(
        await admin_client.post(f"/api/returns/alerts/{alert['id']}/dismiss"),
        409,
        "alert_dismissed",
    )
    # Still above the threshold after the dismissal: no new alert until it passes anew.
    await item(clerk, returned, raw, **fields)
    assert await db.fetchval("SELECT count(*) FROM return_alert WHERE lot_id = $1", lot) == 1


# --- invariants ------------------------------------------------------------------------------


async def test_zz_the_ledger_equals_the_balances_after_every_return(database_url, db):
    assert await db.fetchval("SELECT count(*) FROM movement WHERE kind = 'return'") > 10
    result = lotline_check(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout


def test_zz_every_return_verdict_was_reached():
    assert set() == RETURN_CODES - REACHED
