"""The handheld offline, against the real server and PostgreSQL: a picker who loses the
network mid-pick keeps picking (scans checked against the task and the warehouse snapshot,
queued in IndexedDB, the task advanced on screen), a reload with no network still opens the
app with the queue intact, and when the network is back the queue is replayed once: one
ledger movement per scan. A hold placed during the outage arrives on the live channel before
the replay, and turns the queued picks of its lot into exceptions the picker sees, reads and
acknowledges (and GET /api/scan-exceptions lists); two tabs replaying the same queue apply it
once. Packing, returns and blind counts work offline the same way (a flagged return item
queued and refused on replay becomes an exception; a count's Submit waits in the queue behind
its scans); the service worker replays the queue itself with no page open; signing out with
scans queued asks first."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx
from playwright.async_api import Page

from tests.browser.conftest import PickSite, gs1_label, new_page, sign_in_over_http
from tests.browser.test_count import assert_blind, enter_on_pad
from tests.browser.test_live import watch_live
from tests.browser.test_pick_pack import pick_over_http
from tests.browser.test_returns import shipped_order
from tests.integration.arrange import lotline_check, ok, receive

QUEUED = "#scan-queued"


async def wedge(page: Page, text: str) -> None:
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def queued_count(page: Page) -> int:
    return int(await page.get_attribute("#outbox", "data-pending") or 0)


async def outbox(page: Page, username: str) -> list[dict[str, Any]]:
    """The scans queued in the handheld's IndexedDB, oldest first, as outbox.js keeps them."""
    entries: list[dict[str, Any]] = await page.evaluate(
        "async (user) => (await import('/static/js/outbox.js')).pendingScans(user)", username
    )
    return entries


async def ready_offline(page: Page, pick_site: PickSite) -> None:
    """Open the picker's tasks online: the task list kept, the warehouse snapshot in."""
    await page.goto("/#/tasks")
    await page.wait_for_selector("#task-list .task")
    await page.wait_for_selector("body[data-live=connected]")
    await page.wait_for_selector("body[data-snapshot]")
    # The shell precached and the worker in control, so the app opens with no network.
    await page.evaluate("navigator.serviceWorker.ready")
    await page.wait_for_function("navigator.serviceWorker.controller !== null")


async def worker_ready(page: Page) -> None:
    """The warehouse snapshot in and the service worker in control (the app opens offline)."""
    await page.wait_for_selector("body[data-live=connected][data-snapshot]")
    await page.evaluate("navigator.serviceWorker.ready")
    await page.wait_for_function("navigator.serviceWorker.controller !== null")


async def pick_movements(db: Any, order_id: int) -> list[tuple[int, int]]:
    rows = await db.fetch(
        "SELECT lot_id, quantity FROM movement WHERE kind = 'pick' AND reference = $1 ORDER BY id",
        f"order {order_id}",
    )
    return [(row["lot_id"], row["quantity"]) for row in rows]


async def test_offline_picks_are_queued_survive_a_reload_and_move_stock_once_when_back(
    browser, live_server, pick_site, make_user, db
):
    picker = await make_user(["picker"])
    early, late = pick_site.early, pick_site.late
    order = await pick_site.waved_order(3, picker=picker.username)
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, picker),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    replays: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/api/scans/replay") and replays.append(request.post_data_json)
        ),
    )
    try:
        await ready_offline(page, pick_site)
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")

        # The first bin's label at the task list: the task opens, its bin confirmed offline.
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector(f"{QUEUED}[data-code=bin_confirmed]")
        await page.wait_for_selector("#pick-step[data-step=lot]")
        assert "Offline check" in await page.inner_text(QUEUED)

        # A unit of the wrong lot is refused on the handheld, and not queued.
        await wedge(page, gs1_label(late, gs="|"))
        refusal = await page.wait_for_selector("#rejection[data-code=wrong_lot]")
        assert (
            "Offline check" in await refusal.inner_text()
            and early.code in await refusal.inner_text()
        )
        assert await queued_count(page) == 1

        for picked in (1, 2):
            await wedge(page, gs1_label(early, gs="|"))
            await page.wait_for_selector(f"#pick-count[data-picked='{picked}']")
            assert await page.get_attribute(QUEUED, "data-code") == "picked"
        assert await page.inner_text("#outbox-count") == "3"

        # A reload with no network: the shell from the service worker, the task from
        # IndexedDB with the queued picks on it, the queue intact.
        await page.reload()
        await page.wait_for_selector("body[data-screen=pick] #pick-step[data-step=lot]")
        assert await page.get_attribute("#pick-count", "data-picked") == "2"
        await page.wait_for_selector("#outbox:not([hidden])")
        assert await queued_count(page) == 3

        await wedge(page, gs1_label(early, gs="|"))
        notice = await page.wait_for_selector("body[data-screen=tasks] #notice")
        assert "Wave done" in await notice.inner_text()
        queue = await outbox(page, picker.username)
        assert [entry["body"]["raw"] for entry in queue] == [
            pick_site.bin_barcodes["A-01"],
            *[gs1_label(early)] * 3,
        ]
        assert all(entry["body"]["offline"] and entry["body"]["queuedAt"] for entry in queue)
        keys = [entry["body"]["idempotencyKey"] for entry in queue]
        assert not await db.fetch(
            "SELECT 1 FROM scan WHERE idempotency_key = ANY($1::uuid[])", keys
        ), "nothing reached the server while offline"

        await context.set_offline(False)
        report = await page.wait_for_selector("#replay-report:not([hidden])", timeout=15_000)
        assert await report.get_attribute("data-accepted") == "4"
        assert await report.get_attribute("data-refused") == "0"
        await page.wait_for_selector("#outbox", state="hidden")
        assert [[scan["idempotencyKey"] for scan in replay["scans"]] for replay in replays] == [
            keys
        ]
    finally:
        await context.close()

    recorded = await db.fetch(
        "SELECT idempotency_key::text AS key, verdict, code, offline FROM scan"
        " WHERE idempotency_key = ANY($1::uuid[]) ORDER BY id",
        keys,
    )
    assert [(row["key"], row["verdict"], row["offline"]) for row in recorded] == [
        (key, "accepted", True) for key in keys
    ]
    early_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", early.code)
    assert await pick_movements(db, order["id"]) == [(early_id, 1)] * 3, "one movement per scan"
    line = (await pick_site.order(order["id"]))["lines"][0]
    assert line["picked"] == 3
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_two_tabs_replaying_the_same_queue_apply_each_scan_once(
    browser, live_server, pick_site, make_user, db
):
    picker = await make_user(["picker"])
    order = await pick_site.waved_order(1, picker=picker.username)
    session = await sign_in_over_http(live_server, picker)
    context, first, _ = await new_page(
        browser, live_server, session, storage={"lotline.warehouse": pick_site.warehouse}
    )
    second = await context.new_page()
    replays: list[str] = []
    context.on(
        "request",
        lambda request: (
            request.url.endswith("/api/scans/replay")
            and replays.append(request.frame.page.url if request.frame else "?")
        ),
    )
    try:
        await ready_offline(first, pick_site)
        await second.goto("/#/tasks")
        await second.wait_for_selector("body[data-live=connected]")
        await context.set_offline(True)
        await first.wait_for_selector("body[data-live=offline]")

        await wedge(first, pick_site.bin_barcodes["A-01"])
        await first.wait_for_selector(f"{QUEUED}[data-code=bin_confirmed]")
        await wedge(first, gs1_label(pick_site.early, gs="|"))
        await first.wait_for_selector("body[data-screen=tasks] #notice")
        # One queue for the handheld: the other tab sees it at once, and reads it.
        await second.wait_for_selector("#outbox:not([hidden])")
        assert await second.inner_text("#outbox-count") == "2"
        stale = [entry["body"] for entry in await outbox(second, picker.username)]
        assert len(stale) == 2

        # Both tabs hear the network come back; one replays, the other finds nothing left.
        await context.set_offline(False)
        await first.wait_for_selector("#outbox", state="hidden", timeout=15_000)
        await second.wait_for_selector("#outbox", state="hidden")
        await first.wait_for_timeout(500)
        assert len(replays) == 1, replays

        # A tab that read the queue before the other drained it sends it again: the server
        # answers each scan as it first did, and moves nothing more.
        again = await second.evaluate(
            """async ([token, scans]) => {
                const response = await fetch("/api/scans/replay", {
                    method: "POST",
                    headers: {"Content-Type": "application/json", Authorization: `Bearer ${token}`},
                    body: JSON.stringify({deviceId: scans[0].deviceId, scans}),
                });
                return response.json();
            }""",
            [session["token"], stale],
        )
        assert [(result["replayed"], result["scan"]["verdict"]) for result in again["results"]] == [
            (True, "accepted"),
            (True, "accepted"),
        ]
    finally:
        await context.close()

    keys = [body["idempotencyKey"] for body in stale]
    assert (
        await db.fetchval("SELECT count(*) FROM scan WHERE idempotency_key = ANY($1::uuid[])", keys)
        == 2
    )
    assert [quantity for _, quantity in await pick_movements(db, order["id"])] == [1]
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_a_hold_placed_while_offline_arrives_first_and_turns_queued_picks_into_exceptions(
    browser, live_server, pick_site, make_user, db
):
    picker = await make_user(["picker"])
    code = f"MU-OFF{uuid.uuid4().hex[:4].upper()}"
    async with pick_site.admin() as admin:
        # The earliest expiry of the product: the wave allocates this lot.
        made = await ok(
            receive(
                admin,
                gtin=pick_site.early.gtin,
                lotCode=code,
                expiry="2027-01-31",
                quantity=5,
                location=f"{pick_site.warehouse}/A-02",
            )
        )
    lot_id = made["lot"]["id"]  # in A-02: the lot the hold moves the task to is in A-01
    order = await pick_site.waved_order(2, picker=picker.username)
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, picker),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    frames = watch_live(page)
    events: list[tuple[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            request.url.endswith("/api/scans/replay")
            and events.append(("replay", len(frames.received)))
        ),
    )
    lot_label = gs1_label(replace(pick_site.early, code=code, expiry="2027-01-31"), gs="|")
    try:
        await ready_offline(page, pick_site)
        assert code in await page.inner_text("#task-list")
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")
        await wedge(page, pick_site.bin_barcodes["A-02"])
        await page.wait_for_selector(f"{QUEUED}[data-code=bin_confirmed]")
        await page.click(".stepper-more")
        await wedge(page, lot_label)
        await page.wait_for_selector("body[data-screen=tasks] #notice")

        placed = await pick_site.hold(lot_id, reason="Label misprint")
        [moved] = placed["reallocated"]
        assert moved["newLot"] == pick_site.early.code, "the server still had nothing picked"

        await context.set_offline(False)
        banner = await page.wait_for_selector("#hold-banner:not([hidden])", timeout=15_000)
        assert code in await banner.inner_text()
        report = await page.wait_for_selector("#replay-report:not([hidden])", timeout=15_000)
        assert await report.get_attribute("data-accepted") == "0"
        assert await report.get_attribute("data-refused") == "2"
        # The hold (and the task moved off the lot) came before the replay was sent.
        held = frames.message("lot.held", lotId=lot_id)
        reallocated = frames.message("task.reallocated", taskId=moved["taskId"])
        assert held is not None and reallocated is not None
        [(_, received_before)] = [event for event in events if event[0] == "replay"]
        assert frames.received.index(reallocated) < received_before

        while await page.is_visible("#hold-banner"):
            await page.click("#hold-acknowledge:not([disabled])")
            await page.wait_for_timeout(700)
        # The refused scans: in the bar, and in the queue sheet with the server's reasons.
        assert await page.inner_text("#exceptions-count") == "!2"
        await page.click("#outbox")
        await page.wait_for_selector("#queue-sheet:not([hidden])")
        exceptions = await page.query_selector_all("#exception-list li")
        codes = [await item.get_attribute("data-code") for item in exceptions]
        assert codes[1] == "lot_on_hold", codes
        assert code in await exceptions[1].inner_text()
        for _ in codes:
            await page.click("#exception-list li .acknowledge")
            await page.wait_for_timeout(200)
        await page.wait_for_selector("#exception-list li", state="detached")
        await page.click("#queue-close")
        await page.wait_for_selector("#outbox", state="hidden")
        # The task list has the task again, moved to the other lot and bin.
        await page.wait_for_selector(f"#task-{moved['taskId']}")
        assert pick_site.early.code in await page.inner_text("#task-list")
    finally:
        await context.close()

    async with pick_site.admin() as admin:
        listed = await ok(admin.get("/api/scan-exceptions?status=open"))
    mine = [item for item in listed if item["user"] == picker.username]
    assert sorted(item["code"] for item in mine) == sorted(codes)
    assert all(item["taskId"] == moved["taskId"] and item["queuedAt"] for item in mine)
    assert await pick_movements(db, order["id"]) == [], "nothing moved for the refused picks"
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_offline_packing_is_checked_against_the_order_and_packs_once_when_back(
    browser, live_server, pick_site, make_user, db
):
    picker, packer = await make_user(["picker"]), await make_user(["packer"])
    order = await pick_site.waved_order(2, picker=picker.username)
    await pick_over_http(live_server, pick_site, picker)
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, packer),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    try:
        await page.goto(f"/#/pack/{order['id']}")
        await page.wait_for_selector("#pack-progress[data-picked='2'][data-packed='0']")
        await page.wait_for_selector("body[data-live=connected][data-snapshot]")
        await page.evaluate("navigator.serviceWorker.ready")
        await page.wait_for_function("navigator.serviceWorker.controller !== null")
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")

        # A unit of a lot not picked for the order: refused on the handheld, not queued.
        await wedge(page, gs1_label(pick_site.late, gs="|"))
        await page.wait_for_selector("#blocker #rejection[data-code=wrong_lot_for_order]")
        await page.click("#dismiss")
        for packed in (1, 2):
            await wedge(page, gs1_label(pick_site.early, gs="|"))
            await page.wait_for_selector(f"#pack-progress[data-packed='{packed}']")
            assert await page.get_attribute(QUEUED, "data-code") == "packed"
        assert await page.inner_text("#outbox-count") == "2"

        await page.reload()
        await page.wait_for_selector("#pack-progress[data-packed='2']")
        await context.set_offline(False)
        report = await page.wait_for_selector("#replay-report:not([hidden])", timeout=15_000)
        assert await report.get_attribute("data-accepted") == "2"
        await page.wait_for_selector("#outbox", state="hidden")
        await page.wait_for_selector("#ship:not([hidden])")
    finally:
        await context.close()

    [line] = (await pick_site.order(order["id"]))["lines"]
    assert line["packed"] == 2
    packs = await db.fetch(
        "SELECT quantity FROM movement WHERE kind = 'pack' AND reference = $1",
        f"order {order['id']}",
    )
    assert [row["quantity"] for row in packs] == [1, 1], "one movement per offline scan"
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_an_offline_return_is_queued_with_its_flag_and_replayed_once(
    browser, live_server, pick_site, make_user, db
):
    order = await shipped_order(live_server, pick_site, make_user, 2)
    early_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", pick_site.early.code)
    clerk = await make_user(["returns"])
    storage = {
        "lotline.warehouse": pick_site.warehouse,
        "lotline.returns.reason": "damaged",
        "lotline.returns.disposition": "restock",
    }
    context, page, _ = await new_page(
        browser, live_server, await sign_in_over_http(live_server, clerk), storage
    )
    early_line = f".return-line[data-lot-code='{pick_site.early.code}']"
    try:
        await page.goto("/#/returns")
        await wedge(page, f"ORDER-{order['id']}")
        await page.wait_for_selector(f"#order-preview[data-order-id='{order['id']}']")
        await page.click("#open-return")
        await page.wait_for_selector("body[data-screen=return] #return-card[data-status=open]")
        return_id = int(page.url.rsplit("/", 1)[1])
        await worker_ready(page)
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")

        # The restock bin from the snapshot, then a unit of the lot that shipped: back at once.
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("#bin-chosen")
        await wedge(page, gs1_label(pick_site.early, gs="|"))
        queued = await page.wait_for_selector(f"{QUEUED}[data-code=restocked]")
        assert "Offline check" in await queued.inner_text()
        assert await page.get_attribute(early_line, "data-returned") == "1"

        # A unit of a lot that never shipped on the order: flagged on the handheld, in red,
        # and queued all the same (the server keeps the flag on the return).
        await wedge(page, gs1_label(pick_site.late, gs="|"))
        await page.wait_for_selector(
            "#blocker:not([hidden]) #rejection[data-code=not_shipped_on_order]"
        )
        assert "did not ship" in (await page.inner_text("#flag-title")).lower()
        await page.click("#dismiss")
        assert await queued_count(page) == 2
        pending = page.locator("#return-items .return-item[data-pending=true]")
        assert await pending.count() == 2
        assert (
            await page.locator("#return-items .return-item.flagged").get_attribute("data-lot-code")
            == pick_site.late.code
        )

        # A reload with no network: the return as last loaded, with the queued items on it.
        await page.reload()
        await page.wait_for_selector(f"{early_line}[data-returned='1']")
        assert await pending.count() == 2
        queue = await outbox(page, clerk.username)
        keys = [entry["body"]["idempotencyKey"] for entry in queue]
        assert [entry["body"]["context"] for entry in queue] == ["return", "return"]
        assert queue[0]["body"]["location"] == pick_site.bin_barcodes["A-01"]
        assert not await db.fetch(
            "SELECT 1 FROM scan WHERE idempotency_key = ANY($1::uuid[])", keys
        ), "nothing reached the server while offline"

        await context.set_offline(False)
        report = await page.wait_for_selector("#replay-report:not([hidden])", timeout=15_000)
        assert await report.get_attribute("data-accepted") == "1"
        assert await report.get_attribute("data-refused") == "1"
        await page.wait_for_selector("#exceptions-count:not([hidden])")
        assert await page.inner_text("#exceptions-count") == "!1"
        # The return as the server has it: the item back, the other flagged, none pending.
        await page.wait_for_selector(
            "#return-items .return-item[data-pending=true]", state="detached"
        )
        assert await page.get_attribute(early_line, "data-returned") == "1"
        assert await page.locator("#return-items .return-item").count() == 2
        await page.click("#outbox")
        await page.wait_for_selector("#queue-sheet:not([hidden]) #exception-list li")
        [exception] = await page.query_selector_all("#exception-list li")
        assert await exception.get_attribute("data-code") == "not_shipped_on_order"
    finally:
        await context.close()

    recorded = await db.fetch(
        "SELECT verdict, code, offline FROM scan"
        " WHERE idempotency_key = ANY($1::uuid[]) ORDER BY id",
        keys,
    )
    assert [(row["verdict"], row["code"], row["offline"]) for row in recorded] == [
        ("accepted", "restocked", True),
        ("rejected", "not_shipped_on_order", True),
    ]
    moved = await db.fetch(
        "SELECT lot_id, quantity FROM movement WHERE kind = 'return' AND reference = $1",
        f"return {return_id}",
    )
    assert [(row["lot_id"], row["quantity"]) for row in moved] == [(early_id, 1)], "once"
    async with pick_site.admin() as admin:
        listed = await ok(admin.get("/api/scan-exceptions?status=open"))
        returned = await ok(admin.get(f"/api/returns/{return_id}"))
    mine = [item for item in listed if item["user"] == clerk.username]
    assert [(item["code"], item["returnId"]) for item in mine] == [
        ("not_shipped_on_order", return_id)
    ]
    assert sorted((item["lotCode"], item["flagged"]) for item in returned["items"]) == sorted(
        [(pick_site.early.code, False), (pick_site.late.code, True)]
    )
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_the_service_worker_replays_the_queue_with_no_page_open(
    browser, live_server, pick_site, make_user, db
):
    picker = await make_user(["picker"])
    order = await pick_site.waved_order(2, picker=picker.username)
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, picker),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    try:
        await ready_offline(page, pick_site)
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector(f"{QUEUED}[data-code=bin_confirmed]")
        await page.click(".stepper-more")
        await wedge(page, gs1_label(pick_site.early, gs="|"))
        await page.wait_for_selector("body[data-screen=tasks] #notice")
        keys = [entry["body"]["idempotencyKey"] for entry in await outbox(page, picker.username)]
        assert len(keys) == 2
        # Every page of the app closed; the network back.
        await page.close()
        await context.set_offline(False)

        # The browser's background sync, as Chromium fires it: through DevTools, at the
        # worker's registration (a blank page only to reach DevTools; it is no client).
        blank = await context.new_page()
        cdp = await context.new_cdp_session(blank)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        await cdp.send("ServiceWorker.enable")
        for _ in range(50):
            if registrations:
                break
            await blank.wait_for_timeout(100)
        [registration] = [r for r in registrations if r["scopeURL"] == f"{live_server.url}/"]

        async def sync() -> None:
            await cdp.send(
                "ServiceWorker.dispatchSyncEvent",
                {
                    "origin": live_server.url,
                    "registrationId": registration["registrationId"],
                    "tag": "lotline-outbox",
                    "lastChance": False,
                },
            )

        async def recorded() -> int:
            found: int = await db.fetchval(
                "SELECT count(*) FROM scan WHERE idempotency_key = ANY($1::uuid[])", keys
            )
            return found

        await sync()
        for _ in range(100):
            if await recorded() == 2:
                break
            await blank.wait_for_timeout(100)
        assert await recorded() == 2
        # Again: the queue is empty, nothing more is sent or applied.
        await sync()
        await blank.wait_for_timeout(1000)
        assert await recorded() == 2

        # The next page opened finds the queue drained and the server's answers in the log.
        page = await context.new_page()
        await page.goto("/#/tasks")
        await page.wait_for_selector("body[data-screen=tasks]")
        assert await outbox(page, picker.username) == []
        log = await page.evaluate(
            "async (user) => (await import('/static/js/outbox.js')).replayLog(user)",
            picker.username,
        )
        assert sorted((entry["idempotencyKey"], entry["verdict"]) for entry in log) == sorted(
            (key, "accepted") for key in keys
        )
    finally:
        await context.close()

    early_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", pick_site.early.code)
    assert await pick_movements(db, order["id"]) == [(early_id, 2)], "applied once"
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_signing_out_with_scans_queued_asks_and_keeps_them_for_that_user(
    browser, live_server, pick_site, make_user
):
    picker = await make_user(["picker"])
    await pick_site.waved_order(1, picker=picker.username)
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, picker),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    try:
        await ready_offline(page, pick_site)
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector(f"{QUEUED}[data-code=bin_confirmed]")

        await page.click("#sign-out")
        sheet = await page.wait_for_selector("#signout-sheet")
        assert await page.get_attribute("#signout-waiting", "data-pending") == "1"
        assert "No connection" in await sheet.inner_text()
        assert await page.is_disabled("#signout-replay")
        await page.click("#signout-cancel")
        await page.wait_for_selector("#signout-sheet", state="detached")
        assert await page.get_attribute("body", "data-screen") == "pick"

        await page.click("#sign-out")
        await page.click("#signout-keep")
        await page.wait_for_selector("body[data-screen=signin]")
        assert len(await outbox(page, picker.username)) == 1, "kept for that user"
    finally:
        await context.close()


async def test_a_blind_count_done_offline_is_submitted_after_its_scans_and_counted_once(
    browser, live_server, pick_site, make_user, db
):
    early = pick_site.early
    lot_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", early.code)
    supervisor, counter = await make_user(["supervisor"]), await make_user(["counter"])
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=supervisor.headers
    ) as supervising:
        count = await ok(
            supervising.post(
                "/api/counts",
                json={
                    "warehouse": pick_site.warehouse,
                    "bins": ["A-01"],
                    "assignee": counter.username,
                },
            )
        )
    [task] = count["tasks"]
    expected = await db.fetchval(
        "SELECT coalesce(sum(quantity), 0) FROM stock_balance sb"
        " JOIN location l ON l.id = sb.location_id WHERE sb.lot_id = $1 AND l.code = 'A-01'",
        lot_id,
    )
    first, more = 3, 4
    assert expected not in (first, more, first + more), expected
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, counter),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    try:
        await page.goto("/#/count")
        await page.wait_for_selector(f"#count-task-{task['id']}")
        await worker_ready(page)
        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline]")

        # The bin's label opens the task as last listed, and starts it (queued).
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("body[data-screen=count-task] #count-step[data-step=lot]")
        assert await page.get_attribute(QUEUED, "data-code") == "count_started"
        await assert_blind(page, expected)
        # A bin not this task's is refused on the handheld.
        await wedge(page, pick_site.bin_barcodes["A-02"])
        await page.wait_for_selector("#rejection[data-code=wrong_bin]")

        # The lot scanned twice: one line, pending, adding up; never the expected quantity.
        for units, total in ((first, first), (more, first + more)):
            await wedge(page, gs1_label(early, gs="|"))
            await page.wait_for_selector("#count-sheet:not([hidden]) #pad-value")
            assert early.code in await page.inner_text("#pad-title")
            await assert_blind(page, expected)
            await enter_on_pad(page, units)
            await page.wait_for_selector(
                f"#count-line-{lot_id}[data-counted='{total}'][data-pending=true]"
            )
            assert await page.get_attribute(QUEUED, "data-code") == "counted"
            await assert_blind(page, expected)
        assert await page.locator(".count-line").count() == 1

        await page.click("#submit-count")
        await assert_blind(page, expected)
        await page.click("#submit-confirm")
        notice = await page.wait_for_selector("body[data-screen=count] #notice")
        assert "queued" in (await notice.inner_text()).lower()
        await page.wait_for_selector(f"#count-task-{task['id']}", state="detached")
        assert await queued_count(page) == 4
        queue = await outbox(page, counter.username)
        assert [entry.get("write", {}).get("path") for entry in queue] == [
            None,
            None,
            None,
            f"/api/count-tasks/{task['id']}/submit",
        ]
        await assert_blind(page, expected)

        await context.set_offline(False)
        report = await page.wait_for_selector("#replay-report:not([hidden])", timeout=15_000)
        assert await report.get_attribute("data-accepted") == "4", await report.inner_text()
        await page.wait_for_selector("#outbox", state="hidden")
        await assert_blind(page, expected)
    finally:
        await context.close()

    lines = await db.fetch(
        "SELECT lot_id, counted FROM count_line WHERE task_id = $1 ORDER BY lot_id", task["id"]
    )
    assert [(row["lot_id"], row["counted"]) for row in lines] == [(lot_id, first + more)]
    status = await db.fetchval("SELECT status FROM count_task WHERE id = $1", task["id"])
    assert status in ("submitted", "recount_required"), status
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_a_scan_whose_answer_was_lost_is_not_counted_twice_on_fresh_data(
    browser, live_server, pick_site, make_user, db
):
    picker = await make_user(["picker"])
    order = await pick_site.waved_order(2, picker=picker.username)
    context, page, _ = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, picker),
        storage={"lotline.warehouse": pick_site.warehouse},
    )

    async def answer_lost(route: Any) -> None:
        await route.fetch()  # the server applies the scan...
        await route.abort()  # ...and the handheld never hears back

    try:
        await ready_offline(page, pick_site)
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("#scan-accepted[data-code=bin_confirmed]")
        await page.route("**/api/scans", answer_lost)
        await page.route("**/api/scans/replay", lambda route: route.abort())
        await wedge(page, gs1_label(pick_site.early, gs="|"))
        await page.wait_for_selector(f"{QUEUED}[data-code=picked]")
        await page.wait_for_selector("#pick-count[data-picked='1']")
        [entry] = await outbox(page, picker.username)
        assert entry["sentAt"], "marked as sent: the server may have it"

        # Fresh from the server, the task has the pick already: the queued scan is not added.
        await page.reload()
        await page.wait_for_selector("body[data-screen=pick] #pick-step[data-step=lot]")
        await page.wait_for_selector("#outbox:not([hidden])")
        assert await page.get_attribute("#pick-count", "data-picked") == "1"

        await page.unroute("**/api/scans/replay")
        await page.evaluate("async () => (await import('/static/js/offline.js')).replayNow()")
        report = await page.wait_for_selector("#replay-report:not([hidden])", timeout=15_000)
        assert await report.get_attribute("data-accepted") == "1"
        await page.wait_for_selector("#outbox", state="hidden")
        assert await page.get_attribute("#pick-count", "data-picked") == "1"
    finally:
        await context.close()

    replayed = await db.fetchval(
        "SELECT count(*) FROM scan WHERE idempotency_key = $1::uuid",
        entry["body"]["idempotencyKey"],
    )
    assert replayed == 1
    early_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", pick_site.early.code)
    assert await pick_movements(db, order["id"]) == [(early_id, 1)]
