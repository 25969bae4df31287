"""The console's review pages in real Chromium: a supervisor approves a count (the variance
shown, the approval adjusting the lot's stock as its page shows), reads the expiry report
down to a bucket's lots, a return with a flagged item, and resolves a scan exception; axe-core
on every one of these pages, and the pages reflow on a phone."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, TIMEOUT_MS
from tests.browser.console_frames import serious_violations, signed_in_page
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import Floor, gs1, ok, scan_body

# The integration tests' fulfilment floor and its clients, to ship an order to return.
from tests.integration.test_fulfilment import product, stock
from tests.integration.test_returns import item, open_return, ship

COUNTED = 98
"""What the counter finds in the bin of the 100 units the ledger holds (2%: no recount)."""


@dataclass(frozen=True)
class Desk:
    lot_id: int
    lot_code: str
    count_id: int
    task_id: int
    return_id: int
    exception_raw: str


@pytest.fixture(scope="module")
async def review(
    live_server: LiveServer,
    make_user: MakeUser,
    admin_client: httpx.AsyncClient,
    as_picker: httpx.AsyncClient,
    as_packer: httpx.AsyncClient,
    floor: Floor,
) -> AsyncIterator[Desk]:
    """A bin counted 2 short and submitted; an expired lot; a shipped order's return with a
    flagged item; an offline scan refused."""
    made = await ok(admin_client.post("/api/locations", json={"warehouse": "FUL", "code": "R-01"}))
    oats = await product(admin_client)
    lot_id = await stock(
        admin_client,
        oats,
        "REVLOT",
        100,
        "FUL/R-01",
        (date.today() + timedelta(days=45)).isoformat(),
    )
    await stock(
        admin_client, oats, "OLDLOT", 5, "FUL/R-01", (date.today() - timedelta(days=2)).isoformat()
    )
    boss, counter = await make_user(["supervisor"]), await make_user(["counter"])
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=boss.headers) as sup,
        httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=counter.headers) as cnt,
    ):
        count = await ok(sup.post("/api/counts", json={"warehouse": "FUL", "bins": ["R-01"]}))
        [task] = count["tasks"]
        for raw, fields in (
            (made["barcode"], {}),
            (gs1(oats.gtin, "REVLOT"), {"quantity": COUNTED}),
            (gs1(oats.gtin, "OLDLOT"), {"quantity": 5}),
        ):
            answer = await ok(
                cnt.post("/api/scans", json=scan_body(raw, "count", countId=task["id"], **fields))
            )
            assert answer["verdict"] == "accepted", answer
        submitted = await ok(cnt.post(f"/api/count-tasks/{task['id']}/submit"))
        assert submitted["status"] == "submitted", submitted

    shipped, stranger = await product(admin_client), await product(admin_client)
    await stock(admin_client, shipped, "SHIPLOT", 4, floor.bins[3])
    await stock(admin_client, stranger, "STRANGE", 2, floor.bins[2])
    order = await ship(admin_client, as_picker, as_packer, floor, [(shipped, 3)])
    clerk = await make_user(["returns"])
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=clerk.headers
    ) as http:
        opened = await open_return(http, order)
        fields = {"reason": "damaged box", "disposition": "quarantine"}
        assert (await item(http, opened, gs1(shipped.gtin, "SHIPLOT"), **fields))["verdict"] == (
            "accepted"
        )
        flagged = await item(http, opened, gs1(stranger.gtin, "STRANGE"), **fields)
        assert flagged["code"] == "not_shipped_on_order"

    raw = f"LOST-{uuid.uuid4().hex[:6]}"
    await ok(
        admin_client.post(
            "/api/scans", json=scan_body(raw, offline=True, queuedAt="2026-11-23T10:15:01Z")
        )
    )
    yield Desk(lot_id, "REVLOT", count["id"], task["id"], opened["id"], raw)


async def assert_accessible(page: Page) -> None:
    assert await serious_violations(page) == [], page.url


async def test_a_supervisor_approves_a_count_and_the_lot_page_shows_the_adjusted_stock(
    desk,
    make_user,
    review,
    admin_client,
):
    page = await signed_in_page(desk, make_user)
    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Counts").click()
    await expect(page.get_by_role("heading", name="Counts", level=1)).to_be_visible()
    row = page.locator(f"#count-{review.count_id}")
    await expect(row).to_have_attribute("data-waiting", "yes")
    await assert_accessible(page)

    await row.get_by_role("link", name=f"Count {review.count_id}").click()
    await expect(
        page.get_by_role("heading", name=f"Count {review.count_id}", level=1)
    ).to_be_visible()
    line = page.locator(f"#task-{review.task_id} tr[data-lot='{review.lot_id}']")
    await expect(line).to_contain_text(str(COUNTED))
    await expect(line.locator(".variance")).to_have_text("-2")
    await expect(line).to_contain_text("-2.0 %")
    await assert_accessible(page)

    await (
        page.locator(f"#task-{review.task_id}")
        .get_by_label("Note (optional)")
        .first.fill("Two packs crushed")
    )
    await page.get_by_role("button", name="Approve: adjust stock").click()
    await expect(page.get_by_role("status")).to_have_text("The bin was approved.")
    await expect(page.locator(f"#task-{review.task_id} .task-status")).to_have_text("approved")
    await expect(page.locator(f"#task-{review.task_id}")).to_contain_text("Two packs crushed")
    await expect(page.get_by_role("button", name="Approve: adjust stock")).to_have_count(0)
    await assert_accessible(page)

    await line.get_by_role("link", name=review.lot_code).click()
    await expect(
        page.get_by_role("heading", name=re.compile(f"Lot {review.lot_code}"))
    ).to_be_visible()
    facts = page.locator("#lot-facts")
    await expect(facts.locator("dt:text-is('On hand') + dd")).to_have_text(str(COUNTED))
    await expect(page.locator("#timeline tr.movement").first).to_contain_text("count")
    lot = await ok(admin_client.get(f"/api/lots/{review.lot_id}"))
    assert lot["onHandTotal"] == COUNTED


async def test_the_expiry_report_drills_down_to_a_buckets_lots(desk, make_user, review):
    page = await signed_in_page(desk, make_user, ("receiver",))
    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Expiry").click()
    await expect(page.get_by_role("heading", name="Expiry report", level=1)).to_be_visible()
    await assert_accessible(page)
    await page.get_by_label("Warehouse", exact=True).select_option("FUL")
    await page.get_by_label("Lots of").select_option("expired")
    await page.get_by_role("button", name="Show").click()
    lots = page.locator("#expiry-lots")
    await expect(lots.get_by_role("link", name="OLDLOT")).to_be_visible()
    await expect(lots.get_by_role("link", name="REVLOT")).to_have_count(0)
    await assert_accessible(page)
    await page.locator("#expiry-buckets").get_by_role("link", name="31 to 90 days").click()
    await expect(page.locator("#expiry-lots").get_by_role("link", name="REVLOT")).to_be_visible()
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download these lots as CSV").click()
    saved = await downloading.value
    assert saved.suggested_filename == "expiry.csv"


async def test_a_return_with_a_flagged_item_and_the_exceptions_page(desk, make_user, review):
    page = await signed_in_page(desk, make_user)
    await (
        page.get_by_role("navigation", name="Console")
        .get_by_role("link", name="Returns & exceptions")
        .click()
    )
    await expect(page.get_by_role("heading", name="Returns", level=1)).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("link", name=f"Return {review.return_id}", exact=True).click()
    await expect(page.locator("#return-items tr[data-flagged='yes']")).to_contain_text(
        "not_shipped_on_order"
    )
    await assert_accessible(page)

    await page.goto("/console/exceptions")
    row = page.locator("#exception-list tr", has_text=review.exception_raw)
    await expect(row).to_be_visible()
    await assert_accessible(page)
    await row.get_by_label("How").select_option("not_needed")
    await row.get_by_label("Note").fill("Scanned a label by mistake")
    await row.get_by_role("button", name="Resolve").click()
    await expect(page.get_by_role("status")).to_contain_text("is resolved")
    await expect(page.locator("#exception-list tr", has_text=review.exception_raw)).to_have_count(0)
    await assert_accessible(page)


@pytest.mark.parametrize("path", ["/console/expiry?bucket=31-90", "/console/counts", "counts/{id}"])
async def test_the_review_pages_fit_a_phone_screen(browser, live_server, make_user, review, path):
    context = await browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await signed_in_page(context, make_user)
        target = path if path.startswith("/") else f"/console/counts/{review.count_id}"
        await page.goto(target)
        await expect(page.locator("h1")).to_be_visible()
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0
        await assert_accessible(page)
    finally:
        await context.close()
