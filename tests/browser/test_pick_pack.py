"""Picking and packing on the handheld, against the real server: a picker signs in to their
tasks, scans the bin and the lot (a wrong lot is refused on screen and on record), a packer
checks every unit against the order and ships it; the fake camera reads a bin's Code 128
label and a unit's GS1 DataMatrix; a unit of a lot not picked for the order blocks packing."""

from __future__ import annotations

from typing import Any

import httpx
import zxingcpp

from tests.browser.conftest import gs1_label, new_page, sign_in_over_http
from tests.browser.frames import barcode_image, write_y4m
from tests.integration.arrange import ok, scan_body

GS = "\x1d"


async def sign_in(page, user) -> None:
    """Sign in on the handheld's own form, with username and password."""
    await page.goto("/")
    await page.click("#switch-mode")
    await page.fill("#username", user.username)
    await page.fill("#password", user.password)
    await page.click("#sign-in")


async def wedge(page, text: str) -> None:
    """A keyboard-wedge scanner: the code typed in a burst and Enter, no field focused."""
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def feedback(page) -> Any:
    return await page.evaluate("document.body.dataset.feedback")


async def assert_thumb_friendly(page) -> None:
    """Every visible control at least 48 px each way, nothing wider than the phone, and the
    dock of controls at the very bottom."""
    sizes = await page.eval_on_selector_all(
        "button:not([hidden]), input",
        "els => els.filter(e => e.offsetParent).map(e => [e.id || e.className,"
        " e.getBoundingClientRect().height, e.getBoundingClientRect().width])",
    )
    assert sizes and all(h >= 48 and w >= 48 for _, h, w in sizes), sizes
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    dock = await page.eval_on_selector(".dock", "e => e.getBoundingClientRect().bottom")
    assert dock == 740


async def pick_over_http(live_server, pick_site, picker) -> None:
    """The picker's one task picked through the API: its bin, then all of it from its lot."""
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=picker.headers
    ) as client:
        [task] = await ok(client.get("/api/pick-tasks?assignee=me"))
        for raw, extra in (
            (task["bin"]["barcode"], {}),
            (gs1_label(pick_site.early), {"quantity": task["quantity"]}),
        ):
            body = scan_body(raw, "pick", taskId=task["id"], **extra)
            verdict = await ok(client.post("/api/scans", json=body))
            assert verdict["verdict"] == "accepted", verdict


async def test_pick_a_wrong_lot_then_the_right_one_then_pack_and_ship(
    browser, live_server, pick_site, make_user, db
):
    picker, packer = await make_user(["picker"]), await make_user(["packer"])
    early, late = pick_site.early, pick_site.late
    order = await pick_site.waved_order(2, picker=picker.username)

    context, page, traffic = await new_page(browser, live_server)
    try:
        await sign_in(page, picker)
        # A picker lands on their tasks, in walking order, with Lookup a tap away.
        await page.wait_for_selector("body[data-screen=tasks] #task-list .task")
        listed = await page.inner_text("#task-list")
        assert "A-01" in listed and early.code in listed and order["externalId"] in listed
        assert await page.is_visible("#nav-lookup")

        # At the first bin the picker just scans its label: the task opens, its bin confirmed.
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("body[data-screen=pick] #pick-step[data-step=lot]")
        assert await feedback(page) == "ok"
        assert await page.inner_text("#pick-bin") == "A-01"
        assert await page.inner_text("#pick-lot") == early.code
        expiry = await page.inner_text("#pick-expiry")
        assert early.expiry in expiry and "days left" in expiry
        assert await page.get_attribute("#pick-count", "data-picked") == "0"

        wrong = gs1_label(late, gs="|")
        await wedge(page, wrong)
        refusal = await page.wait_for_selector("#rejection[data-code=wrong_lot]")
        message = await refusal.inner_text()
        assert early.code in message and "A-01" in message, "it names the lot and bin to pick"
        assert await feedback(page) == "error"
        assert await page.get_attribute("#flash", "class") == "flash-error"
        assert await page.get_attribute("#pick-count", "data-picked") == "0"
        recorded = await db.fetchrow(
            "SELECT verdict, code, task_id FROM scan WHERE context = 'pick' AND raw = $1",
            wrong.replace("|", GS),
        )
        assert recorded is not None, "a refused scan is on record too"
        assert (recorded["verdict"], recorded["code"]) == ("rejected", "wrong_lot")

        # Both units with one scan: the stepper sends the quantity.
        await page.click(".stepper-more")
        assert await page.inner_text("#pick-quantity") == "2"
        await wedge(page, gs1_label(early, gs="|"))
        notice = await page.wait_for_selector("body[data-screen=tasks] #notice")
        assert "Wave done" in await notice.inner_text()
        assert await feedback(page) == "ok"
        picked = traffic.scans[-1]
        assert picked["raw"] == gs1_label(early) and picked["quantity"] == 2
        assert picked["context"] == "pick" and picked["taskId"] == recorded["task_id"]
        assert [scan["raw"] for scan in traffic.scans] == [
            pick_site.bin_barcodes["A-01"],
            wrong.replace("|", GS),
            gs1_label(early),
        ]
    finally:
        await context.close()

    context, page, traffic = await new_page(browser, live_server)
    try:
        await sign_in(page, packer)
        # A packer lands on the orders ready to pack.
        await page.click(f"body[data-screen=pack] #order-{order['id']}")
        await page.wait_for_selector("#pack-progress[data-picked='2'][data-packed='0']")
        line = order["lines"][0]
        assert early.code in await page.inner_text(f"#line-{line['id']}")
        assert await page.is_hidden("#ship")

        await wedge(page, gs1_label(early, gs="|"))
        await page.wait_for_selector("#pack-progress[data-packed='1']")
        assert await feedback(page) == "ok"
        await wedge(page, gs1_label(early, gs="|"))
        await page.wait_for_selector("#pack-progress[data-packed='2']")
        assert [scan["context"] for scan in traffic.scans] == ["pack", "pack"]
        assert all(scan["orderId"] == order["id"] for scan in traffic.scans)

        await page.click("#ship:not([hidden])")
        await page.wait_for_selector("#shipped")
        assert order["externalId"] in await page.inner_text("#ship-done")
    finally:
        await context.close()

    shipped = await pick_site.order(order["id"])
    assert shipped["status"] == "shipped"
    [line] = shipped["lines"]
    assert (line["picked"], line["packed"], line["shipped"]) == (2, 2, 2)
    [lot] = line["lots"]
    assert lot["lotCode"] == early.code
    assert (lot["picked"], lot["packed"], lot["shipped"]) == (2, 2, 2)


async def test_claim_and_pick_with_the_camera(
    camera_browser, live_server, pick_site, make_user, tmp_path
):
    picker = await make_user(["picker"])
    session = await sign_in_over_http(live_server, picker)
    early = pick_site.early
    order = await pick_site.waved_order(1, picker=None)
    bin_barcode = pick_site.bin_barcodes["A-01"]
    bin_label = barcode_image(bin_barcode, zxingcpp.BarcodeFormat.Code128, scale=3, gs1=False)
    unit = barcode_image(
        f"(01){early.gtin}(10){early.code}(17){early.expiry[2:].replace('-', '')}",
        zxingcpp.BarcodeFormat.DataMatrix,
        scale=8,
    )
    [printed] = zxingcpp.read_barcodes(unit)
    assert printed.symbology_identifier == "]d2", "a square GS1 DataMatrix, not a DMRE one"

    # One picture per camera: the first shows the bin's label.
    async with camera_browser(write_y4m(tmp_path / "bin.y4m", bin_label)) as browser:
        _, page, traffic = await new_page(browser, live_server, session)
        await page.goto("/#/tasks")
        await page.click("#get-work")
        task = await page.wait_for_selector(".task")
        assert order["externalId"] in await task.inner_text()
        await task.click()
        await page.wait_for_selector("#pick-step[data-step=bin]")
        await page.click(".camera-toggle")
        await page.wait_for_selector("#pick-step[data-step=lot]", timeout=15_000)
        assert await feedback(page) == "ok"
        [scan] = traffic.scans
        assert scan["raw"] == bin_barcode and scan["symbology"] == "]C0"
        assert scan["context"] == "pick" and scan["taskId"]
        task_id = scan["taskId"]

    # The second shows a unit: the server remembers the bin was confirmed.
    async with camera_browser(write_y4m(tmp_path / "unit.y4m", unit)) as browser:
        _, page, traffic = await new_page(browser, live_server, session)
        await page.goto(f"/#/pick/{task_id}")
        await page.wait_for_selector("#pick-step[data-step=lot]")
        await page.click(".camera-toggle")
        notice = await page.wait_for_selector("#notice", timeout=15_000)
        assert "Wave done" in await notice.inner_text()
        [scan] = traffic.scans
        assert scan["raw"] == gs1_label(early) and scan["symbology"] == "]d2"
        assert scan["taskId"] == task_id and scan["quantity"] == 1

    picked = await pick_site.order(order["id"])
    assert picked["status"] == "picked"
    assert [(lot["lotCode"], lot["picked"]) for lot in picked["lines"][0]["lots"]] == [
        (early.code, 1)
    ]


async def test_packing_a_lot_not_picked_for_the_order_is_blocked(
    browser, live_server, pick_site, make_user
):
    picker, packer = await make_user(["picker"]), await make_user(["packer"])
    early, late = pick_site.early, pick_site.late
    order = await pick_site.waved_order(1, picker=picker.username)
    await pick_over_http(live_server, pick_site, picker)

    context, page, traffic = await new_page(
        browser, live_server, await sign_in_over_http(live_server, packer)
    )
    try:
        await page.goto("/#/pack")
        await page.wait_for_selector(f"#order-{order['id']}")
        # The order's number typed (or scanned off the packing slip) opens it.
        await page.fill("#scan-entry", order["externalId"])
        await page.press("#scan-entry", "Enter")
        await page.wait_for_selector("#pack-progress[data-picked='1'][data-packed='0']")
        await assert_thumb_friendly(page)

        await wedge(page, gs1_label(late, gs="|"))
        refusal = await page.wait_for_selector(
            "#blocker:not([hidden]) #rejection[data-code=wrong_lot_for_order]"
        )
        assert early.code in await refusal.inner_text(), "it names the lot that was picked"
        assert await feedback(page) == "error"
        assert await page.get_attribute("#flash", "class") == "flash-error"
        assert await page.get_attribute("#pack-progress", "data-packed") == "0"

        # While the refusal shows, scanning on is refused on the handheld itself.
        await wedge(page, gs1_label(early, gs="|"))
        await page.wait_for_timeout(300)
        assert len(traffic.scans) == 1
        await page.click("#dismiss")
        assert await page.is_hidden("#blocker")

        await wedge(page, gs1_label(early, gs="|"))
        await page.wait_for_selector("#pack-progress[data-packed='1']")
        assert await page.is_visible("#ship")
    finally:
        await context.close()


async def test_short_with_a_reason_then_on_to_the_next_task(
    browser, live_server, pick_site, make_user
):
    picker = await make_user(["picker"])
    order, following = await pick_site.waved_orders(3, 1, picker=picker.username)
    context, page, _ = await new_page(
        browser, live_server, await sign_in_over_http(live_server, picker)
    )
    try:
        await page.goto("/#/tasks")
        await page.wait_for_selector("#task-list .task >> nth=1")
        await page.click("#start-picking")
        await page.wait_for_selector("#pick-step[data-step=bin]")
        assert order["externalId"] in await page.inner_text("#pick-card")
        await assert_thumb_friendly(page)
        await page.click("#short")
        assert "3 of" in await page.inner_text("#short-sheet")
        await page.click("#short-damaged")

        # The next task in walking order comes up by itself, its bin to be scanned.
        done = await page.wait_for_selector("#task-done")
        assert "3 short" in await done.inner_text()
        assert await feedback(page) == "warn"
        assert following["externalId"] in await page.inner_text("#pick-card")
        assert await page.get_attribute("#pick-step", "data-step") == "bin"
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("#pick-step[data-step=lot]")
        await wedge(page, gs1_label(pick_site.early, gs="|"))
        notice = await page.wait_for_selector("body[data-screen=tasks] #notice")
        assert "Wave done" in await notice.inner_text()

        # Lookup stays a tap away for a picker.
        await page.click("#nav-lookup")
        await page.wait_for_selector("body[data-screen=lookup] #scan-entry")
    finally:
        await context.close()

    shorted = await pick_site.order(order["id"])
    [line] = shorted["lines"]
    assert (line["picked"], line["short"], line["shortReason"]) == (0, 3, "damaged")
