"""The console's holds, recalls and trace over HTTP against the real server: the impact preview
that changes nothing, placing a hold once per key, bad selections re-rendering the form,
release, handhelds' acknowledgements, forward and backward trace, and every download."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect

from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import ok
from tests.integration.console_frames import as_cookie, console_session, origin
from tests.integration.test_trace import (
    Item,
    TraceFloor,
    ada,
    add_item,
    build_floor,
    pack_order,
    pick_order,
    place_order,
    receive_lot,
    ship_order,
)


@dataclass(frozen=True)
class Recall:
    """A lot shipped to Ada, with units left in a bin and an open pick task for another
    order; its item, for more lots."""

    floor: TraceFloor
    item: Item
    lot_id: int
    lot_code: str
    supplier_lot: str
    shipped: dict[str, Any]
    waiting: dict[str, Any]
    task_id: int


@pytest.fixture(scope="module")
async def floor(admin_client: httpx.AsyncClient, make_user: MakeUser) -> TraceFloor:
    return await build_floor(admin_client, make_user, "RCL")


@pytest.fixture(scope="module")
async def recall(
    admin_client: httpx.AsyncClient, live_server: LiveServer, floor: TraceFloor
) -> Recall:
    item = await add_item(admin_client)
    supplier_lot = f"SUP-{uuid.uuid4().hex[:6]}"
    lot_id = await receive_lot(
        admin_client,
        item,
        "RC-ONE",
        20,
        floor.bins[0],
        supplier=floor.supplier,
        supplierLotCode=supplier_lot,
        productionDate="2026-03-02",
    )
    async with (
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as picker,
        httpx.AsyncClient(base_url=live_server.url, headers=floor.packer.headers) as packer,
    ):
        shipped = await place_order(admin_client, floor, [(item, 3)], ada())
        await pick_order(admin_client, picker, floor, shipped, item)
        await pack_order(packer, shipped, item, {"RC-ONE": 3})
        await ship_order(packer, shipped)
        waiting = await place_order(admin_client, floor, [(item, 2)], ada(name="Grace Hopper"))
        await ok(
            admin_client.post(
                "/api/waves",
                json={"orderIds": [waiting["id"]], "pickers": [floor.picker.username]},
            )
        )
        mine = await ok(picker.get("/api/pick-tasks", params={"assignee": "me"}))
    [task] = [t for t in mine if t["orderId"] == waiting["id"]]
    return Recall(floor, item, lot_id, "RC-ONE", supplier_lot, shipped, waiting, task["id"])


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
async def supervisor(live_server: LiveServer, make_user: MakeUser) -> str:
    return await console_session(live_server, make_user, ["supervisor"])


@pytest.fixture(scope="module")
async def receiver(live_server: LiveServer, make_user: MakeUser) -> str:
    return await console_session(live_server, make_user, ["receiver"])


def posting(server: LiveServer, token: str) -> dict[str, str]:
    return {**as_cookie(token), **origin(server)}


async def new_lot(admin: httpx.AsyncClient, recall: Recall, code: str, quantity: int = 5) -> int:
    """Another lot of the recall's product (expiring later, so waves leave it alone)."""
    return await receive_lot(
        admin, recall.item, code, quantity, recall.floor.bins[1], expiry="2045-01-31"
    )


async def hold_count(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM hold"))


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', html)
    assert found is not None, html
    return found.group(1)


async def place_through_console(
    client: httpx.AsyncClient, server: LiveServer, token: str, **form: str
) -> httpx.Response:
    preview = await client.post(
        "/console/holds/preview",
        data={"kind": "hold", "reason": "Lab check", "by": "lots", **form},
        headers=posting(server, token),
    )
    assert preview.status_code == 200, preview.text
    return await client.post(
        "/console/holds", data=hidden_fields(preview.text), headers=posting(server, token)
    )


# --- holds --------------------------------------------------------------------------------


async def test_the_preview_shows_bins_tasks_and_customers_and_changes_nothing(
    client, live_server, supervisor, recall, db
):
    holds_before = await hold_count(db)
    task_before = await db.fetchrow("SELECT * FROM pick_task WHERE id = $1", recall.task_id)
    messages_before = await db.fetchval("SELECT count(*) FROM live_message")
    form = await client.get(
        "/console/holds/new", params={"lot": recall.lot_id}, headers=as_cookie(supervisor)
    )
    assert form.status_code == 200
    assert f">{recall.lot_code}</textarea>" in form.text  # prefilled from ?lot=

    preview = await client.post(
        "/console/holds/preview",
        data={"kind": "recall", "reason": "Salmonella at the mill", "by": "lots", "lots": "RC-ONE"},
        headers=posting(live_server, supervisor),
    )
    assert preview.status_code == 200, preview.text
    page = preview.text
    stock = page.split('id="impact-stock"')[1].split("</table>")[0]
    assert f"{recall.floor.warehouse}/A-01" in stock and ">17<" in stock  # 20 less 3 shipped
    tasks = page.split('id="impact-tasks"')[1].split("</table>")[0]
    assert recall.waiting["externalId"] in tasks and recall.floor.picker.username in tasks
    shipped = page.split('id="impact-shipped"')[1].split("</table>")[0]
    assert "Ada Lovelace" in shipped and recall.shipped["externalId"] in shipped
    fields = hidden_fields(page)
    assert fields["kind"] == "recall" and fields["lots"] == str(recall.lot_id)
    assert uuid.UUID(fields["idempotencyKey"])
    assert "/console/holds/new?" in page  # Back, to edit

    # Nothing changed: the lot is released, its task untouched, no hold, no message.
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", recall.lot_id) == "released"
    task_after = await db.fetchrow("SELECT * FROM pick_task WHERE id = $1", recall.task_id)
    assert dict(task_after) == dict(task_before)
    assert await hold_count(db) == holds_before
    assert await db.fetchval("SELECT count(*) FROM live_message") == messages_before


async def test_confirming_twice_with_the_same_key_places_one_hold(
    client, live_server, supervisor, recall, admin_client, db
):
    lot = await new_lot(admin_client, recall, "RC-TWICE")
    preview = await client.post(
        "/console/holds/preview",
        data={"kind": "quarantine", "reason": "Seal broken", "by": "lots", "lots": str(lot)},
        headers=posting(live_server, supervisor),
    )
    fields = hidden_fields(preview.text)
    first, second = [
        await client.post("/console/holds", data=fields, headers=posting(live_server, supervisor))
        for _ in range(2)
    ]
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    hold_id = int(first.headers["location"].rsplit("/", 1)[1])
    assert await db.fetchval("SELECT count(*) FROM hold_lot WHERE lot_id = $1", lot) == 1
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "quarantine"

    shown = await client.get(f"/console/holds/{hold_id}", headers=as_cookie(supervisor))
    assert shown.status_code == 200, shown.text
    assert "Seal broken" in shown.text and "RC-TWICE" in shown.text
    listed = await client.get("/console/holds", headers=as_cookie(supervisor))
    row = listed.text.split(f'data-hold="{hold_id}"')[1].split("</tr>")[0]
    assert "quarantine" in row and "Seal broken" in row and ">5<" in row  # its units


async def test_a_hold_placed_from_the_console_reallocates_like_the_api(
    client, live_server, supervisor, recall, db
):
    placed = await place_through_console(
        client, live_server, supervisor, kind="recall", lots="RC-ONE"
    )
    assert placed.status_code == 303
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", recall.lot_id) == "recalled"
    task = await db.fetchrow("SELECT lot_id, short FROM pick_task WHERE id = $1", recall.task_id)
    # Moved to the next eligible lot, or short when there is none: off the recalled lot.
    assert task["lot_id"] != recall.lot_id or task["short"] == 2
    shown = await client.get(placed.headers["location"], headers=as_cookie(supervisor))
    assert f'href="/console/trace/lots/{recall.lot_id}"' in shown.text
    # The hold's page lists the task it moved, as the picker was told.
    moved = shown.text.split('id="hold-moved"')[1].split("</table>")[0]
    row = moved.split(f'data-task="{recall.task_id}"')[1].split("</tr>")[0]
    assert "RC-ONE" in row
    if task["lot_id"] != recall.lot_id:
        new_code = await db.fetchval("SELECT code FROM lot WHERE id = $1", task["lot_id"])
        assert new_code in row
    else:
        assert "short" in row
    active = await client.get("/console/holds", headers=as_cookie(supervisor))
    assert "RC-ONE" in active.text


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"by": "lots", "lots": ""}, 422, "at least one lot"),
        ({"by": "lots", "lots": "NO-SUCH-LOT"}, 422, "No lot NO-SUCH-LOT"),
        ({"by": "lots", "lots": "987654321"}, 422, "No lot 987654321"),
        ({"by": "lots", "lots": " ".join(["RC-ONE"] * 1001)}, 422, "At most 1000"),
        ({"by": "product", "sku": "NO-SUCH-SKU"}, 422, "No product"),
        ({"by": "product", "sku": "X", "producedFrom": "2026-02-30"}, 400, "production date"),
        (
            {"by": "product", "sku": "X", "producedFrom": "2026-05-01", "producedTo": "2026-04-01"},
            422,
            "after",
        ),
        ({"by": "supplier", "supplierLotCode": "NOBODY"}, 422, "No lot matches"),
        ({"by": "lots", "lots": "RC-ONE", "reason": ""}, 400, "reason"),
        ({"by": "lots", "lots": "RC-ONE", "kind": "ban"}, 400, "kind"),
        ({"by": "everything"}, 400, "Choose the lots"),
    ],
)
async def test_a_bad_selection_shows_the_form_again_and_holds_nothing(
    client, live_server, supervisor, recall, db, form, status, says
):
    if form.get("sku") == "X":
        form = {**form, "sku": recall.item.sku}
    before = await hold_count(db)
    body = {"kind": "hold", "reason": "Lab check", **form}
    for path in ("/console/holds/preview", "/console/holds"):
        answer = await client.post(
            path,
            data={**body, "idempotencyKey": str(uuid.uuid4())},
            headers=posting(live_server, supervisor),
        )
        assert answer.status_code == status, (path, answer.text)
        assert says in alert(answer.text)
        assert 'action="/console/holds/preview"' in answer.text  # the form, filled again
    assert await hold_count(db) == before


async def test_an_overlong_field_is_a_400_page(client, live_server, supervisor, db):
    before = await hold_count(db)
    answer = await client.post(
        "/console/holds/preview",
        data={"kind": "hold", "reason": "x" * 501, "lots": "1"},
        headers=posting(live_server, supervisor),
    )
    assert answer.status_code == 400 and "reason" in answer.text
    assert await hold_count(db) == before


async def test_a_receiver_may_not_see_place_or_release_holds_nor_trace(
    client, live_server, receiver, recall, admin_client, db
):
    lot = await new_lot(admin_client, recall, "RC-RECV")
    before = await hold_count(db)
    for path in ("/console/holds", "/console/holds/new", "/console/trace"):
        page = await client.get(path, headers=as_cookie(receiver))
        assert page.status_code == 403 and "supervisor" in page.text
    for path in (
        f"/console/trace/lots/{lot}",
        f"/console/trace/lots/{lot}/recall-report.csv",
        f"/console/trace/lots/{lot}/epcis.json",
    ):
        assert (await client.get(path, headers=as_cookie(receiver))).status_code == 403
    placed = await client.post(
        "/console/holds",
        data={
            "kind": "hold",
            "reason": "Not mine to place",
            "by": "lots",
            "lots": str(lot),
            "idempotencyKey": str(uuid.uuid4()),
        },
        headers=posting(live_server, receiver),
    )
    assert placed.status_code == 403
    assert await hold_count(db) == before
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "released"


async def test_posts_from_another_origin_are_refused_and_change_nothing(
    client, live_server, supervisor, recall, admin_client, db
):
    lot = await new_lot(admin_client, recall, "RC-CSRF")
    before = await hold_count(db)
    foreign = {**as_cookie(supervisor), "Origin": "https://evil.example"}
    body = {
        "kind": "hold",
        "reason": "Forged",
        "by": "lots",
        "lots": str(lot),
        "idempotencyKey": str(uuid.uuid4()),
    }
    for path in ("/console/holds/preview", "/console/holds"):
        answer = await client.post(path, data=body, headers=foreign)
        assert answer.status_code == 403
    assert await hold_count(db) == before
    placed = await place_through_console(client, live_server, supervisor, lots=str(lot))
    released = await client.post(
        placed.headers["location"] + "/release",
        data={"reason": "Forged", "idempotencyKey": str(uuid.uuid4())},
        headers=foreign,
    )
    assert released.status_code == 403
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "hold"


async def test_an_unknown_hold_is_a_404_page(client, supervisor):
    for path in (
        "/console/holds/987654321",
        "/console/holds/abc",
        "/console/holds/987654321/acks.json",
        "/console/holds/987654321/recall-report.csv",
    ):
        page = await client.get(path, headers=as_cookie(supervisor))
        assert page.status_code == 404, path
        assert "No hold" in page.text


async def test_releasing_from_the_console_releases_once(
    client, live_server, supervisor, recall, admin_client, db
):
    lot = await new_lot(admin_client, recall, "RC-FREE")
    placed = await place_through_console(client, live_server, supervisor, lots=str(lot))
    page = placed.headers["location"]
    shown = await client.get(page, headers=as_cookie(supervisor))
    key = hidden_fields(shown.text)["idempotencyKey"]

    empty = await client.post(
        page + "/release",
        data={"reason": "", "idempotencyKey": key},
        headers=posting(live_server, supervisor),
    )
    assert empty.status_code == 400 and "reason" in alert(empty.text)
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "hold"

    form = {"reason": "Lab says fine", "idempotencyKey": key}
    for _ in range(2):  # a double submit answers the first release
        released = await client.post(
            page + "/release", data=form, headers=posting(live_server, supervisor)
        )
        assert released.status_code == 303 and released.headers["location"] == page
    assert await db.fetchval("SELECT status FROM lot WHERE id = $1", lot) == "released"
    after = await client.get(page, headers=as_cookie(supervisor))
    assert "Lab says fine" in after.text and 'action="' + page + '/release"' not in after.text

    again = await client.post(
        page + "/release",
        data={"reason": "Once more", "idempotencyKey": str(uuid.uuid4())},
        headers=posting(live_server, supervisor),
    )
    assert again.status_code == 409 and "released already" in alert(again.text)
    everything = await client.get("/console/holds?show=all", headers=as_cookie(supervisor))
    active = await client.get("/console/holds", headers=as_cookie(supervisor))
    hold_id = page.rsplit("/", 1)[1]
    assert f'data-hold="{hold_id}"' in everything.text
    assert f'data-hold="{hold_id}"' not in active.text


async def acks_of(client: httpx.AsyncClient, page: str, token: str) -> dict[str, Any]:
    answer = await client.get(page + "/acks.json", headers=as_cookie(token))
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def test_the_hold_page_shows_each_handheld_pending_then_acknowledged(
    client, live_server, supervisor, recall, admin_client
):
    lot = await new_lot(admin_client, recall, "RC-ACK")
    picker = recall.floor.picker
    device, gone = (f"handheld-{uuid.uuid4().hex[:8]}" for _ in range(2))
    signed_in = await ok(
        client.post(
            "/api/auth/login",
            json={
                "username": picker.username,
                "password": picker.password,
                "deviceId": device,
                "deviceName": "Android phone · Chrome",
            },
        )
    )
    url = live_server.url.replace("http://", "ws://") + "/ws"

    def hello(token: str, device_id: str) -> str:
        return json.dumps(
            {
                "type": "hello",
                "token": token,
                "deviceId": device_id,
                "warehouse": recall.floor.warehouse,
            }
        )

    # A handheld that acknowledged earlier but has no session now is not waited for.
    async with connect(url, open_timeout=10) as old:
        await old.send(hello(picker.token, gone))
        welcome = json.loads(await asyncio.wait_for(old.recv(), 10))
        await old.send(json.dumps({"type": "ack", "seq": welcome["seq"]}))
    async with connect(url, open_timeout=10) as socket:
        await socket.send(hello(signed_in["token"], device))
        welcome = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert welcome["type"] == "welcome" and welcome["seq"] > 0
        await socket.send(json.dumps({"type": "ack", "seq": welcome["seq"]}))

        placed = await place_through_console(client, live_server, supervisor, lots=str(lot))
        page = placed.headers["location"]
        held = json.loads(await asyncio.wait_for(socket.recv(), 10))
        # First what the warehouse had before (afterSeq 0), then this hold's message.
        while held["type"] != "lot.held" or held["data"]["lotId"] != lot:
            held = json.loads(await asyncio.wait_for(socket.recv(), 10))

        deadline = time.monotonic() + 10
        while True:
            body = await acks_of(client, page, supervisor)
            mine = [d for d in body["devices"] if d["deviceId"] == device]
            if mine or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        [pending] = mine
        assert pending["name"] == "Android phone · Chrome"
        assert gone not in {d["deviceId"] for d in body["devices"]}
        assert pending["warehouse"] == recall.floor.warehouse
        assert pending["username"] == recall.floor.picker.username
        assert pending["messageSeq"] == held["seq"] and not pending["acknowledged"]
        shown = await client.get(page, headers=as_cookie(supervisor))
        row = shown.text.split(f'data-device="{device}"')[1].split("</tr>")[0]
        assert 'data-state="pending"' in row and "Pending" in row
        assert f"Android phone · Chrome <small>({device[:8]})</small>" in row

        await socket.send(json.dumps({"type": "ack", "seq": held["seq"]}))
        while True:
            body = await acks_of(client, page, supervisor)
            [mine_now] = [d for d in body["devices"] if d["deviceId"] == device]
            if mine_now["acknowledged"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert mine_now["acknowledged"] and mine_now["ackedAt"]
        assert body["acknowledged"] >= 1


# --- trace --------------------------------------------------------------------------------


async def test_a_lot_traces_forward_to_its_customer_and_the_order_back_to_the_lot(
    client, supervisor, recall
):
    found = await client.get(
        "/console/trace", params={"lot": recall.lot_code}, headers=as_cookie(supervisor)
    )
    assert found.status_code == 303
    forward_path = f"/console/trace/lots/{recall.lot_id}"
    assert found.headers["location"] == forward_path
    forward = await client.get(forward_path, headers=as_cookie(supervisor))
    assert forward.status_code == 200
    customers = forward.text.split('id="trace-customers"')[1].split("</table>")[0]
    assert "Ada Lovelace" in customers and "ada@example.com" in customers
    order_link = f'href="/console/trace/orders/{recall.shipped["id"]}"'
    assert order_link in forward.text
    for report in ("recall-report.csv", "fsma204.csv", "fsma204.xlsx", "epcis.json"):
        assert f'href="{forward_path}/{report}"' in forward.text
    # The API's paging: a page past the shipments lists none, the totals stay whole.
    later = await client.get(forward_path, params={"offset": 200}, headers=as_cookie(supervisor))
    assert later.status_code == 200 and "No shipment on this page" in later.text
    assert 'rel="prev"' in later.text

    by_order = await client.get(
        "/console/trace",
        params={"order": recall.shipped["externalId"]},
        headers=as_cookie(supervisor),
    )
    assert by_order.status_code == 303
    backward = await client.get(by_order.headers["location"], headers=as_cookie(supervisor))
    assert backward.status_code == 200
    lots = backward.text.split('id="order-lots"')[1].split("</table>")[0]
    assert f'href="{forward_path}">{recall.lot_code}</a>' in lots


async def test_trace_by_supplier_lot_lists_its_lots(client, supervisor, recall):
    page = await client.get(
        "/console/trace", params={"supplierLot": recall.supplier_lot}, headers=as_cookie(supervisor)
    )
    assert page.status_code == 200
    assert f'href="/console/trace/lots/{recall.lot_id}">{recall.lot_code}</a>' in page.text


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"lot": "NO-SUCH-LOT"}, 404),
        ({"order": "NO-SUCH-ORDER"}, 404),
        ({"serial": "NO-SUCH-SERIAL"}, 404),
        ({"serial": "S" * 21}, 404),
        ({"supplierLot": "NO-SUCH-SUPPLIER-LOT"}, 404),
        ({"lot": "L" * 81}, 400),
    ],
)
async def test_tracing_something_unknown_says_so(client, supervisor, params, status):
    page = await client.get("/console/trace", params=params, headers=as_cookie(supervisor))
    assert page.status_code == status
    assert alert(page.text)


async def test_unknown_lots_and_orders_are_404_pages(client, supervisor):
    for path in (
        "/console/trace/lots/987654321",
        "/console/trace/lots/x",
        "/console/trace/orders/987654321",
        "/console/trace/lots/987654321/recall-report.csv",
        "/console/trace/lots/987654321/fsma204.xlsx",
    ):
        page = await client.get(path, headers=as_cookie(supervisor))
        assert page.status_code == 404, path


async def test_a_report_nobody_offers_is_a_404_page(client, live_server, supervisor, recall, db):
    hold_id = await db.fetchval(
        "SELECT max(hold_id) FROM hold_lot WHERE lot_id = $1", recall.lot_id
    )
    if hold_id is None:
        placed = await place_through_console(
            client, live_server, supervisor, kind="recall", lots=str(recall.lot_id)
        )
        hold_id = placed.headers["location"].rsplit("/", 1)[1]
    for path in (
        f"/console/trace/lots/{recall.lot_id}/stock.xls",
        f"/console/holds/{hold_id}/recall-report.pdf",
    ):
        page = await client.get(path, headers=as_cookie(supervisor))
        assert page.status_code == 404 and "recall-report.csv" in page.text, path


# --- downloads ----------------------------------------------------------------------------


def xlsx_text(body: bytes) -> str:
    """Every string of a workbook (openpyxl is not installed: read the zip)."""
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        names = book.namelist()
        assert "xl/workbook.xml" in names and "xl/worksheets/sheet1.xml" in names
        return book.read("xl/sharedStrings.xml").decode()


async def test_every_report_downloads_for_a_lot_and_for_its_hold(
    client, live_server, supervisor, recall, db
):
    hold_id = await db.fetchval("SELECT hold_id FROM hold_lot WHERE lot_id = $1", recall.lot_id)
    if hold_id is None:
        placed = await place_through_console(
            client, live_server, supervisor, kind="recall", lots=str(recall.lot_id)
        )
        hold_id = placed.headers["location"].rsplit("/", 1)[1]
    for base in (f"/console/trace/lots/{recall.lot_id}", f"/console/holds/{hold_id}"):
        report = await client.get(base + "/recall-report.csv", headers=as_cookie(supervisor))
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
        assert report.headers["content-disposition"].startswith("attachment;")
        rows = list(csv.DictReader(io.StringIO(report.text)))
        assert [(r["lot_code"], r["customer_name"], r["quantity"]) for r in rows] == [
            (recall.lot_code, "Ada Lovelace", "3")
        ]

        fsma = await client.get(base + "/fsma204.csv", headers=as_cookie(supervisor))
        assert fsma.status_code == 200
        events = list(csv.DictReader(io.StringIO(fsma.text)))
        kinds = {row["Critical Tracking Event"] for row in events}
        assert kinds == {"Receiving", "Shipping"}

        book = await client.get(base + "/fsma204.xlsx", headers=as_cookie(supervisor))
        assert book.status_code == 200 and book.headers["content-disposition"].endswith(".xlsx")
        assert "Shipping" in xlsx_text(book.content)
        if base.startswith("/console/holds/"):  # the About sheet says what the hold covers
            assert f"#{hold_id} " in xlsx_text(book.content)
            assert f"{recall.lot_code} (" in xlsx_text(book.content)

        epcis = await client.get(base + "/epcis.json", headers=as_cookie(supervisor))
        assert epcis.status_code == 200
        assert epcis.headers["content-type"].startswith("application/ld+json")
        document = epcis.json()
        assert document["type"] == "EPCISDocument"
        steps = [event.get("bizStep", "") for event in document["epcisBody"]["eventList"]]
        assert any(step.endswith("shipping") for step in steps), steps
        assert all(
            recall.lot_code in json.dumps(event["quantityList"])
            for event in document["epcisBody"]["eventList"]
        )
