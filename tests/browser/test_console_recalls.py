"""Holds, recalls and trace in the office console, in real Chromium: place a hold and see its
impact before confirming, watch a handheld acknowledge it without reloading, trace a lot
forward and an order back, download every report; axe-core on every page."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, TIMEOUT_MS, PickSite, new_page
from tests.browser.console_frames import serious_violations, signed_in_page
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import ok, receive
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
class Shipped:
    """A lot with units in a bin and 3 shipped to Ada Lovelace."""

    floor: TraceFloor
    item: Item
    lot_id: int
    code: str
    order: dict[str, Any]


async def shipped_lot(
    admin_client: httpx.AsyncClient, live_server: LiveServer, floor: TraceFloor, code: str
) -> Shipped:
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, code, 12, floor.bins[0], supplier=floor.supplier)
    async with (
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as picker,
        httpx.AsyncClient(base_url=live_server.url, headers=floor.packer.headers) as packer,
    ):
        order = await place_order(admin_client, floor, [(item, 3)], ada())
        await pick_order(admin_client, picker, floor, order, item)
        await pack_order(packer, order, item, {code: 3})
        await ship_order(packer, order)
    return Shipped(floor, item, lot_id, code, order)


@pytest.fixture(scope="module")
async def floor(admin_client: httpx.AsyncClient, make_user: MakeUser) -> TraceFloor:
    return await build_floor(admin_client, make_user, "BRC")


async def no_violations(page: Page) -> None:
    assert await serious_violations(page) == [], page.url


async def test_place_a_hold_and_see_its_impact(desk, admin_client, live_server, floor, make_user):
    shipped = await shipped_lot(admin_client, live_server, floor, "IMPACT-1")
    page = await signed_in_page(desk, make_user, ["supervisor"])
    await (
        page.get_by_role("navigation", name="Console")
        .get_by_role("link", name="Holds & recalls")
        .click()
    )
    await expect(page.get_by_role("heading", name="Holds and recalls", level=1)).to_be_visible()
    await no_violations(page)
    await page.get_by_role("link", name="New hold or recall").click()
    await no_violations(page)

    # A selection that names no lot: the form again, with an alert, and nothing held.
    await page.get_by_label("Reason").fill("Undeclared peanuts")
    await page.get_by_label("Lot codes or ids").fill("NO-SUCH-LOT")
    await page.get_by_role("button", name="Preview the impact").click()
    await expect(page.get_by_role("alert")).to_contain_text("No lot NO-SUCH-LOT")
    await no_violations(page)

    await page.get_by_label("Recall", exact=True).check()
    await page.get_by_label("Lot codes or ids").fill(shipped.code)
    await page.get_by_role("button", name="Preview the impact").click()
    await expect(page.get_by_role("heading", name="Confirm the recall", level=1)).to_be_visible()
    stock = page.locator("#impact-stock")
    await expect(stock).to_contain_text(f"{floor.warehouse}/A-01")
    await expect(stock.locator("td.num").first).to_have_text("9")  # 12 less 3 shipped
    customers = page.locator("#impact-shipped")
    await expect(customers).to_contain_text("Ada Lovelace")
    await expect(customers).to_contain_text(shipped.order["externalId"])
    await no_violations(page)
    # Nothing changed yet.
    lot = await ok(admin_client.get(f"/api/lots/{shipped.lot_id}"))
    assert lot["status"] == "released"

    await page.get_by_role("button", name="Confirm the recall").click()
    await expect(page.get_by_role("heading", name="Recall #", level=1)).to_be_visible()
    await expect(page.locator("#hold-lots")).to_contain_text("recalled")
    await no_violations(page)
    lot = await ok(admin_client.get(f"/api/lots/{shipped.lot_id}"))
    assert lot["status"] == "recalled"

    await page.goto(f"/console/lots/{shipped.lot_id}")
    await expect(page.locator("#lot-facts")).to_contain_text("recalled")
    await page.goto("/console/holds")
    await expect(page.locator("#holds")).to_contain_text(shipped.code)
    await expect(page.locator("#holds")).to_contain_text("Undeclared peanuts")


async def test_the_hold_pages_reflow_on_a_phone(
    browser, admin_client, live_server, floor, make_user
):
    shipped = await shipped_lot(admin_client, live_server, floor, "PHONE-1")
    context = await browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await signed_in_page(context, make_user, ["supervisor"])
        await page.goto(f"/console/holds/new?lot={shipped.lot_id}")
        await page.get_by_label("Reason").fill("Phone check")
        await page.get_by_role("button", name="Preview the impact").click()
        await expect(page.locator("#impact-shipped")).to_contain_text("Ada Lovelace")
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, page.url
        await page.get_by_role("button", name="Confirm the hold").click()
        await expect(page.get_by_role("heading", name="Hold #", level=1)).to_be_visible()
        for path in (
            None,
            "/console/holds",
            "/console/trace",
            f"/console/trace/lots/{shipped.lot_id}",
            f"/console/trace/orders/{shipped.order['id']}",
        ):
            if path:
                await page.goto(path)
            overflow = await page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow == 0, page.url
    finally:
        await context.close()


async def test_watch_handhelds_acknowledge(
    desk, browser, live_server, pick_site: PickSite, make_user
):
    picker = await make_user(["picker"])
    code = f"ACK-{uuid.uuid4().hex[:4].upper()}"
    async with pick_site.admin() as site_admin:
        await ok(
            receive(
                site_admin,
                gtin=pick_site.early.gtin,
                lotCode=code,
                expiry="2029-12-31",
                quantity=4,
                location=f"{pick_site.warehouse}/A-02",
            )
        )
    context, handheld, _ = await new_page(
        browser, live_server, storage={"lotline.warehouse": pick_site.warehouse}
    )
    try:
        # Signed in through the handheld's own form, as a picker does: the device has a
        # session, so the console waits for it.
        await handheld.goto("/")
        await handheld.click("#switch-mode")
        await handheld.fill("#username", picker.username)
        await handheld.fill("#password", picker.password)
        await handheld.click("#sign-in")
        await handheld.wait_for_selector("#scan-entry")
        await handheld.goto("/#/tasks")
        await handheld.wait_for_selector("body[data-live=connected]")
        device = await handheld.evaluate("localStorage.getItem('lotline.deviceId')")
        # An order dealt to the picker: the handheld acknowledges the message by itself, so
        # the server knows this device is on the warehouse's channel.
        await pick_site.waved_order(1, picker=picker.username)
        async with pick_site.admin() as site_admin:
            for _ in range(100):
                acks = await ok(site_admin.get("/api/live/acks"))
                if any(ack["deviceId"] == device for ack in acks):
                    break
                await handheld.wait_for_timeout(100)
            else:
                raise AssertionError("the handheld never acknowledged the assignment")

        console = await signed_in_page(desk, make_user, ["supervisor"])
        await console.goto("/console/holds/new")
        await console.get_by_label("Reason").fill("Supplier recall notice")
        await console.get_by_label("Lot codes or ids").fill(code)
        await console.get_by_role("button", name="Preview the impact").click()
        await console.get_by_role("button", name="Confirm the hold").click()
        await expect(console.get_by_role("heading", name="Hold #", level=1)).to_be_visible()
        row = console.locator(f'#acks tr[data-device="{device}"]')
        await expect(row).to_have_attribute("data-state", "pending")
        await expect(row).to_contain_text(picker.username)
        await expect(row).to_contain_text(f"Linux · Chrome ({device[:8]})")
        await no_violations(console)
        url = console.url

        banner = await handheld.wait_for_selector(
            "#hold-banner:not([hidden])[data-type='lot.held']", timeout=TIMEOUT_MS
        )
        assert code in await banner.inner_text()
        await handheld.click("#hold-acknowledge:not([disabled])")

        # The console page follows without a reload, and says so to a screen reader.
        await expect(row).to_have_attribute("data-state", "acknowledged", timeout=TIMEOUT_MS)
        await expect(row).to_contain_text("Acknowledged")
        await expect(console.locator("#acks-changes")).to_contain_text(
            f"Device Linux · Chrome ({device[:8]}) in {pick_site.warehouse} acknowledged"
        )
        assert console.url == url
        await no_violations(console)
    finally:
        await context.close()


async def test_trace_a_lot_forward_and_back_and_download_every_report(
    desk, admin_client, live_server, floor, make_user
):
    shipped = await shipped_lot(admin_client, live_server, floor, "TRACE-1")
    page = await signed_in_page(desk, make_user, ["supervisor"])
    await page.goto("/console/trace")
    await no_violations(page)
    await page.get_by_label("Lot code or id").fill("NO-SUCH-LOT")
    await page.get_by_role("button", name="Trace the lot").click()
    await expect(page.get_by_role("alert")).to_contain_text("No lot NO-SUCH-LOT")
    await no_violations(page)

    await page.get_by_label("Lot code or id").fill(shipped.code)
    await page.get_by_role("button", name="Trace the lot").click()
    await expect(
        page.get_by_role("heading", name=f"Trace lot {shipped.code} forward")
    ).to_be_visible()
    await expect(page.locator("#trace-customers")).to_contain_text("Ada Lovelace")
    await expect(page.locator("#trace-stock")).to_contain_text(f"{floor.warehouse}/A-01")
    await no_violations(page)

    downloads = {}
    for name in (
        "Recall report (CSV)",
        "FSMA 204 sortable spreadsheet (CSV)",
        "FSMA 204 sortable spreadsheet (Excel)",
        "EPCIS 2.0 events (JSON-LD)",
    ):
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name=name).click()
        download = await waiting.value
        path = await download.path()
        downloads[download.suggested_filename] = path.read_bytes()
    lot = shipped.lot_id
    assert set(downloads) == {
        f"recall_lot-{lot}.csv",
        f"fsma204_lot-{lot}.csv",
        f"fsma204_lot-{lot}.xlsx",
        f"epcis_lot-{lot}.json",
    }
    report = list(csv.DictReader(io.StringIO(downloads[f"recall_lot-{lot}.csv"].decode())))
    assert [(r["customer_name"], r["quantity"]) for r in report] == [("Ada Lovelace", "3")]
    fsma = list(csv.DictReader(io.StringIO(downloads[f"fsma204_lot-{lot}.csv"].decode())))
    assert {row["Critical Tracking Event"] for row in fsma} == {"Receiving", "Shipping"}
    with zipfile.ZipFile(io.BytesIO(downloads[f"fsma204_lot-{lot}.xlsx"])) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    epcis = json.loads(downloads[f"epcis_lot-{lot}.json"])
    assert epcis["type"] == "EPCISDocument" and epcis["epcisBody"]["eventList"]

    await page.get_by_role("link", name=shipped.order["externalId"]).first.click()
    await expect(
        page.get_by_role("heading", name=f"Trace order {shipped.order['externalId']} back")
    ).to_be_visible()
    lots = page.locator("#order-lots")
    await expect(lots).to_contain_text(shipped.code)
    await no_violations(page)
    await lots.get_by_role("link", name=shipped.code).click()
    await expect(
        page.get_by_role("heading", name=f"Trace lot {shipped.code} forward")
    ).to_be_visible()
