"""The handheld offline, against the real server and PostgreSQL: a picker who loses the
network mid-pick keeps picking (scans checked against the task and the warehouse snapshot,
queued in IndexedDB, the task advanced on screen), a reload with no network still opens the
app with the queue intact, and when the network is back the queue is replayed once: one
ledger movement per scan. A hold placed during the outage arrives on the live channel before
the replay, and turns the queued picks of its lot into exceptions the picker sees, reads and
acknowledges (and GET /api/scan-exceptions lists); two tabs replaying the same queue apply it
once."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import PickSite, gs1_label, new_page, sign_in_over_http
from tests.browser.test_live import watch_live
from tests.browser.test_pick_pack import pick_over_http
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
