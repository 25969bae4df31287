"""Returns on the handheld, against the real server: a returns clerk finds a shipped order by
scanning its label with a wedge, opens its return, chooses a reason and a disposition (restock,
into a bin scanned for it), scans back a unit of the lot that shipped (accepted, back in its
lot and bin) and then a unit of a lot that did not ship on the order (flagged in red, the
screen blocked until Continue); only the first moved stock."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.browser.conftest import PickSite, gs1_label, new_page, sign_in_over_http
from tests.browser.test_pick_pack import assert_thumb_friendly, feedback, pick_over_http, wedge
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import lotline_check, ok, scan_body


async def shipped_order(
    live_server: LiveServer, pick_site: PickSite, make_user: MakeUser, quantity: int
) -> dict[str, Any]:
    """An order for `quantity` units picked, packed and shipped through the API (FEFO gives
    it the early lot); answers the order as GET shows it."""
    picker, packer = await make_user(["picker"]), await make_user(["packer"])
    order = await pick_site.waved_order(quantity, picker=picker.username)
    await pick_over_http(live_server, pick_site, picker)
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=packer.headers
    ) as client:
        body = scan_body(gs1_label(pick_site.early), "pack", orderId=order["id"], quantity=quantity)
        verdict = await ok(client.post("/api/scans", json=body))
        assert verdict["verdict"] == "accepted", verdict
        await ok(
            client.post(
                f"/api/orders/{order['id']}/ship", json={"idempotencyKey": str(uuid.uuid4())}
            )
        )
    return await pick_site.order(order["id"])


async def on_hand(pick_site: PickSite, lot_id: int) -> dict[str, int]:
    """A lot's units by location, as GET /api/lots/{id} gives them."""
    async with pick_site.admin() as admin:
        lot = await ok(admin.get(f"/api/lots/{lot_id}"))
    return {row["location"]: row["quantity"] for row in lot["onHand"] if row["quantity"]}


async def test_a_return_takes_back_the_lot_that_shipped_and_flags_one_that_did_not(
    browser, live_server, pick_site, make_user, db
):
    order = await shipped_order(live_server, pick_site, make_user, 2)
    [line] = order["lines"]
    [shipped_lot] = line["lots"]
    assert shipped_lot["lotCode"] == pick_site.early.code
    early_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", pick_site.early.code)
    late_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", pick_site.late.code)
    bin_a01 = f"{pick_site.warehouse}/A-01"
    early_before, late_before = (
        await on_hand(pick_site, early_id),
        await on_hand(pick_site, late_id),
    )
    assert early_before[bin_a01] == pick_site.early.quantity - 2

    clerk = await make_user(["returns"])
    context, page, traffic = await new_page(
        browser, live_server, await sign_in_over_http(live_server, clerk)
    )
    try:
        await page.goto("/#/returns")
        # The parcel's label names the order.
        await page.wait_for_selector("body[data-screen=returns] #returns-hint")
        await wedge(page, f"ORDER-{order['id']}")
        preview = await page.wait_for_selector(f"#order-preview[data-order-id='{order['id']}']")
        assert order["externalId"] in await preview.inner_text()
        assert await feedback(page) == "ok"
        await page.click("#open-return")

        # A first return on this handheld asks why and where to; the choice then stays.
        await page.wait_for_selector("body[data-screen=return] #return-sheet:not([hidden])")
        assert order["externalId"] in await page.inner_text("#return-order")
        await page.click("#reason-damaged")
        await page.click("#disposition-restock")
        await page.click("#choice-done")
        # Restock asks for the bin: its label scanned.
        await page.wait_for_selector("#need-bin")
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("#bin-chosen")
        assert await page.inner_text("#restock-bin") == "A-01"
        assert await page.get_attribute("#chosen-disposition", "data-disposition") == "restock"
        await assert_thumb_friendly(page)

        # A unit of the lot that shipped goes back into it, in A-01.
        await wedge(page, gs1_label(pick_site.early, gs="|"))
        accepted = await page.wait_for_selector("#item-accepted")
        assert await accepted.get_attribute("data-code") == "restocked", await accepted.inner_text()
        assert await feedback(page) == "ok"
        returned_line = page.locator(f".return-line[data-lot-code='{pick_site.early.code}']")
        assert await returned_line.get_attribute("data-returned") == "1"
        assert await returned_line.get_attribute("data-shipped") == "2"
        item = traffic.scans[-1]
        assert (item["context"], item["reason"], item["disposition"]) == (
            "return",
            "damaged",
            "restock",
        )
        assert item["location"] == pick_site.bin_barcodes["A-01"] and item["quantity"] == 1
        return_id = item["returnId"]

        # A unit of a lot that never shipped on this order is flagged, never taken in.
        await wedge(page, gs1_label(pick_site.late, gs="|"))
        flagged = await page.wait_for_selector("#blocker:not([hidden])")
        assert "did not ship on this order" in (await flagged.inner_text()).lower()
        assert await page.get_attribute("#blocker #rejection", "data-code") == (
            "not_shipped_on_order"
        )
        assert await feedback(page) == "error"
        assert await page.get_attribute("#flash", "class") == "flash-error"
        # While it shows, scanning on is refused on the handheld itself.
        await wedge(page, gs1_label(pick_site.early, gs="|"))
        await page.wait_for_timeout(300)
        assert [scan["context"] for scan in traffic.scans] == ["lookup", "return", "return"]
        await page.click("#dismiss")
        assert await page.is_hidden("#blocker")
        items = page.locator("#return-items .return-item")
        assert await items.count() == 2
        flag = page.locator("#return-items .return-item.flagged")
        assert await flag.get_attribute("data-lot-code") == pick_site.late.code
        text = await page.inner_text("#return")
        assert "null" not in text and "undefined" not in text, text
    finally:
        await context.close()

    # Only the accepted unit moved: back into the early lot at A-01, the late lot untouched.
    early_after, late_after = await on_hand(pick_site, early_id), await on_hand(pick_site, late_id)
    assert early_after[bin_a01] == early_before[bin_a01] + 1
    assert late_after == late_before
    async with pick_site.admin() as admin:
        answer = await ok(admin.get(f"/api/returns/{return_id}"))
    assert answer["order"]["id"] == order["id"] and answer["status"] == "open"
    by_flag = {item["flagged"]: item for item in answer["items"]}
    assert by_flag[False]["lotCode"] == pick_site.early.code
    assert by_flag[False]["disposition"] == "restock" and by_flag[False]["quantity"] == 1
    assert by_flag[True]["lotCode"] == pick_site.late.code
    moved = await db.fetch(
        "SELECT lot_id, quantity FROM movement WHERE kind = 'return' ORDER BY id"
    )
    assert [(row["lot_id"], row["quantity"]) for row in moved] == [(early_id, 1)]
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_an_order_searched_by_its_customer_name_opens_its_return_already_open(
    browser, live_server, pick_site, make_user
):
    first = await shipped_order(live_server, pick_site, make_user, 1)
    order = await shipped_order(live_server, pick_site, make_user, 1)
    clerk = await make_user(["returns"])
    session = await sign_in_over_http(live_server, clerk)
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=clerk.headers
    ) as client:
        opened = await ok(client.post("/api/returns", json={"orderId": order["id"]}))

    context, page, traffic = await new_page(browser, live_server, session)
    try:
        await page.goto("/#/returns")
        await page.wait_for_selector(f"#return-{opened['id']}")
        # A parcel without its label: the customer's name typed lists their shipped orders.
        await page.fill("#scan-entry", "Ada Lovelace")
        await page.press("#scan-entry", "Enter")
        await page.wait_for_selector(f"#found-{first['id']}")
        assert await feedback(page) == "warn"
        await page.click(f"#found-{order['id']}")
        await page.wait_for_selector(f"#order-preview[data-order-id='{order['id']}']")
        await page.click("#open-return")
        # The order's open return comes up, not a second one.
        await page.wait_for_selector("body[data-screen=return] #return-card[data-status=open]")
        assert page.url.endswith(f"#/returns/{opened['id']}")
        assert order["externalId"] in await page.inner_text("#return-order")
        assert not traffic.scans
    finally:
        await context.close()
