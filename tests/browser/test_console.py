"""The office console in real Chromium: sign in, the dashboard's held and expiring lots, a hold
arriving live, search, the lot page's timeline, the keyboard, and axe-core on every page."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, TIMEOUT_MS
from tests.browser.console_frames import serious_violations, signed_in_page
from tests.integration.arrange import ok, receive

GTIN = "09506000134352"


@pytest.fixture(scope="module")
async def lots(admin_client: httpx.AsyncClient) -> dict[str, int]:
    """A held lot far from expiry, a released lot expiring in 3 days, and one to hold live."""
    await ok(admin_client.post("/api/warehouses", json={"code": "DESK", "name": "Desk site"}))
    await ok(admin_client.post("/api/locations", json={"warehouse": "DESK", "code": "D-01"}))
    await ok(admin_client.post("/api/suppliers", json={"code": "MILL", "name": "Mill"}))
    await ok(
        admin_client.post("/api/products", json={"sku": "FLOUR", "name": "Flour", "gtins": [GTIN]})
    )
    today = date.today()
    made = {}
    for code, days in (("HOLDME", 300), ("SOONER", 3), ("LIVE9", 200)):
        received = await ok(
            receive(
                admin_client,
                sku="FLOUR",
                lotCode=code,
                quantity=9,
                location="DESK/D-01",
                expiry=(today + timedelta(days=days)).isoformat(),
                supplier="MILL",
                supplierLotCode=f"MILL-{code}",
            )
        )
        made[code] = received["lot"]["id"]
    await hold(admin_client, made["HOLDME"], "Moisture check")
    return made


async def hold(admin_client: httpx.AsyncClient, lot: int, reason: str) -> int:
    body = {"idempotencyKey": str(uuid.uuid4()), "kind": "hold", "reason": reason, "lots": [lot]}
    placed = await ok(admin_client.post("/api/holds", json=body))
    return int(placed["id"])


async def test_signing_in_with_the_keyboard_and_the_sign_in_page_passes_axe(
    desk, live_server, make_user
):
    user = await make_user(["receiver"])
    page = await desk.new_page()
    await page.goto("/console/search?q=FLOUR")
    assert page.url.startswith(f"{live_server.url}/console/login?next=")
    assert await serious_violations(page) == []
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("main")).to_be_focused()
    await page.get_by_label("Username").focus()
    await page.keyboard.type(user.username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(user.password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Search: FLOUR", level=1)).to_be_visible()
    cookies = await desk.cookies()
    session = next(c for c in cookies if c["name"] == "lotline_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert await page.evaluate("() => document.cookie") == ""


async def test_a_wrong_password_is_announced_and_the_page_passes_axe(desk, make_user):
    user = await make_user(["supervisor"])
    page = await desk.new_page()
    await page.goto("/console/login")
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password", exact=True).fill("not-it")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong username")
    assert await serious_violations(page) == []


async def test_the_dashboard_shows_a_held_and_an_expiring_lot_and_a_hold_arriving_live(
    desk, make_user, lots, admin_client
):
    page = await signed_in_page(desk, make_user)
    held = page.locator("#held")
    await expect(held.get_by_role("row", name="HOLDME")).to_contain_text("Moisture check")
    await expect(held.get_by_role("row", name="HOLDME")).to_contain_text("9")
    soon = page.get_by_role("table", name="Within 7 days")
    await expect(soon.get_by_role("row", name="SOONER")).to_contain_text("DESK")
    await expect(page.locator("#live-state")).to_have_attribute("data-connected", "true")
    assert await serious_violations(page) == []

    held = await hold(admin_client, lots["LIVE9"], "Live from the lab")
    arrived = page.locator("#activity li").filter(has_text="Live from the lab")
    await expect(arrived).to_contain_text("Lot LIVE9 (FLOUR) put on hold")
    await ok(admin_client.post(f"/api/holds/{held}/release", json={"reason": "Lab says fine"}))
    entries = page.locator("#activity li")
    await expect(entries.first).to_contain_text("Lot LIVE9 (FLOUR) released")
    await expect(entries.nth(1)).to_contain_text("Live from the lab")
    await arrived.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Lot LIVE9 FLOUR")).to_be_visible()
    await expect(page.locator("#lot-facts")).to_contain_text("released")


@pytest.mark.parametrize(
    ("query", "lot"), [(f"(01){GTIN}(10)SOONER", "SOONER"), ("MILL-HOLDME", "HOLDME")]
)
async def test_search_finds_a_lot_by_gtin_and_lot_and_by_supplier_lot_code(
    desk, make_user, lots, query, lot
):
    page = await signed_in_page(desk, make_user)
    await page.get_by_role("searchbox", name="Search").fill(query)
    await page.keyboard.press("Enter")
    results = page.get_by_role("table", name="Lots matching the search")
    await expect(results.get_by_role("link")).to_have_text([lot])
    assert await serious_violations(page) == []
    await results.get_by_role("link", name=lot).click()
    await expect(page.get_by_role("heading", name=f"Lot {lot} FLOUR")).to_be_visible()


async def test_the_lot_page_shows_its_timeline_newest_first_and_passes_axe(
    desk, make_user, lots, admin_client
):
    lot = lots["SOONER"]
    await ok(admin_client.post("/api/locations", json={"warehouse": "DESK", "code": "D-02"}))
    await ok(
        admin_client.post(
            "/api/moves",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "lotId": lot,
                "from": "DESK/D-01",
                "to": "DESK/D-02",
                "quantity": 4,
            },
        )
    )
    page = await signed_in_page(desk, make_user)
    await page.goto(f"/console/lots/{lot}")
    rows = page.locator("#timeline tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("movement: move")
    await expect(rows.nth(0)).to_contain_text("DESK/D-01 → DESK/D-02")
    await expect(rows.nth(1)).to_contain_text("movement: receipt")
    stock = page.get_by_role("region", name="On hand by location")
    await expect(stock.get_by_role("row", name="DESK/D-02")).to_contain_text("4")
    assert await serious_violations(page) == []
    await page.get_by_role("link", name="FLOUR — Flour").click()
    await expect(page.get_by_role("heading", name="FLOUR Flour")).to_be_visible()
    assert await serious_violations(page) == []


async def test_signing_out_ends_the_session(desk, make_user):
    page = await signed_in_page(desk, make_user)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.goto("/console/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_the_dashboard_fits_a_phone_screen_and_passes_axe_there(
    browser, live_server, make_user, lots
):
    context = await browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await signed_in_page(context, make_user)
        await expect(page.locator("#held").get_by_role("row", name="HOLDME")).to_be_visible()
        # Wide tables scroll inside their panel; the page itself never scrolls sideways.
        overflow = await page.evaluate(
            """() => document.documentElement.scrollWidth - document.documentElement.clientWidth"""
        )
        assert overflow == 0
        assert await serious_violations(page) == []
    finally:
        await context.close()


async def test_choosing_a_warehouse_narrows_the_dashboard_and_passes_axe(
    desk, make_user, lots, admin_client
):
    await ok(admin_client.post("/api/warehouses", json={"code": "DESK2", "name": "Second desk"}))
    page = await signed_in_page(desk, make_user)
    await page.get_by_label("Warehouse").select_option("DESK2")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_role("heading", name="Dashboard: DESK2", level=1)).to_be_visible()
    assert page.url.endswith("/console?warehouse=DESK2")
    # HOLDME's units are all in DESK: nothing of it is held here.
    await expect(page.locator("#held")).to_contain_text("No lot is held")
    await expect(page.locator("#live-state")).to_contain_text("Connected")
    assert await serious_violations(page) == []
    await page.get_by_label("Warehouse").select_option("DESK")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#held").get_by_role("row", name="HOLDME")).to_be_visible()
