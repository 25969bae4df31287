"""Receive and print in real Chromium: a receiver scans a supplier's GS1 label into the receive
page like a keyboard wedge, the form fills, the receipt shows the lot and its label, and the
PDF behind the print link decodes to the lot's GTIN, lot and expiry. axe-core on every page."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, TIMEOUT_MS
from tests.browser.console_frames import serious_violations, signed_in_page
from tests.integration.arrange import GS, ok
from tests.integration.test_labels import decode, pages

GTIN = "09506000134352"


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> None:
    """A warehouse with two bins, a supplier, and a product with a GTIN."""
    await ok(admin_client.post("/api/warehouses", json={"code": "DOCK", "name": "Dock"}))
    for code in ("IN-01", "IN-02"):
        await ok(admin_client.post("/api/locations", json={"warehouse": "DOCK", "code": code}))
    await ok(admin_client.post("/api/suppliers", json={"code": "MILL", "name": "Mill"}))
    await ok(
        admin_client.post("/api/products", json={"sku": "FLOUR", "name": "Flour", "gtins": [GTIN]})
    )


@pytest.mark.parametrize("role", ["receiver", "supervisor"])
async def test_receive_and_print_from_a_scanned_supplier_label(desk, make_user, site, role):
    page = await signed_in_page(desk, make_user, (role,))
    await page.get_by_role("link", name="Receive", exact=True).click()
    await expect(page.get_by_role("heading", name="Receive goods", level=1)).to_be_visible()
    assert await serious_violations(page) == []

    scan = page.get_by_label("Scanned barcode")
    await expect(scan).to_be_focused()
    await page.get_by_label("Location").fill("DOCK/IN-02")
    await scan.focus()
    # As a wedge scanner types it: the element string with GS after the lot, then Enter.
    await page.keyboard.type(f"01{GTIN}1126031017270930" + f"10MILL-{role}{GS}3712")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("From the label")
    await expect(page.get_by_label("Product (SKU or GTIN)")).to_have_value("FLOUR")
    await expect(page.get_by_label("Supplier lot code")).to_have_value(f"MILL-{role}")
    await expect(page.get_by_label("Expiry")).to_have_value("2027-09-30")
    await expect(page.get_by_label("Production date")).to_have_value("2026-03-10")
    await expect(page.get_by_label("Quantity")).to_have_value("12")
    # The script filled the form in place: what was typed before the scan is still there.
    await expect(page.get_by_label("Location")).to_have_value("DOCK/IN-02")
    await expect(scan).to_be_focused()
    assert await serious_violations(page) == []

    await page.keyboard.type("LOC-DOCK-IN-01")
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Location")).to_have_value("DOCK/IN-01")
    await expect(page.get_by_label("Supplier lot code")).to_have_value(f"MILL-{role}")
    await page.get_by_label("Supplier code").fill("MILL")
    await page.get_by_role("button", name="Receive", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Received 12")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("FLOUR into lot")
    facts = page.locator("#receipt-facts")
    await expect(facts).to_contain_text("(generated)")
    await expect(facts).to_contain_text("DOCK/IN-01")
    await expect(facts).to_contain_text("2027-09-30")
    lot_code = (await facts.get_by_role("link").inner_text()).strip()

    preview = page.get_by_role("img", name=f"Label of lot {lot_code}")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.complete && img.naturalWidth > 0")
    assert await serious_violations(page) == []

    link = page.get_by_role("link", name="Print 12 labels")
    assert await link.get_attribute("target") == "_blank"
    pdf = await page.request.get(await link.get_attribute("href") or "")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    read = [
        (parsed.gtin, parsed.lot, parsed.expiry)
        for picture in pages(await pdf.body(), "pdf", dpi=300)
        for parsed in decode(picture)
    ]
    assert read == [(GTIN, lot_code, date(2027, 9, 30))] * 12


async def test_a_scan_of_an_unknown_product_is_announced_and_the_form_stays_empty(
    desk, make_user, site
):
    page = await signed_in_page(desk, make_user, ("receiver",))
    await page.goto("/console/receive")
    await page.get_by_label("Scanned barcode").fill("(01)09501101530003(10)X")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("09501101530003")
    await expect(page.get_by_label("Product (SKU or GTIN)")).to_have_value("")
    assert await serious_violations(page) == []


async def test_without_scripts_the_scan_fills_the_form_on_the_server(
    browser, live_server, make_user, site
):
    context = await browser.new_context(java_script_enabled=False, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        user = await make_user(["receiver"])
        page = await context.new_page()
        await page.goto("/console/receive")
        await page.get_by_label("Username").fill(user.username)
        await page.get_by_label("Password", exact=True).fill(user.password)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_label("Scanned barcode").fill(f"(01){GTIN}(15)271231(10)NOJS-1")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/console/receive?scan=*")
        await expect(page.get_by_label("Product (SKU or GTIN)")).to_have_value("FLOUR")
        await expect(page.get_by_label("Best before")).to_have_value("2027-12-31")
        await expect(page.get_by_label("Supplier lot code")).to_have_value("NOJS-1")
    finally:
        await context.close()


async def test_a_refused_receipt_keeps_the_values_and_announces_why(desk, make_user, site):
    page = await signed_in_page(desk, make_user, ("receiver",))
    await page.goto("/console/receive")
    await page.get_by_label("Product (SKU or GTIN)").fill("FLOUR")
    await page.get_by_label("Quantity").fill("3")
    await page.get_by_label("Location").fill("DOCK/NOWHERE")
    await page.get_by_label("Reference").fill("PO-77")
    await page.get_by_role("button", name="Receive", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("DOCK/NOWHERE")
    await expect(page.get_by_label("Reference")).to_have_value("PO-77")
    assert await serious_violations(page) == []


async def test_the_location_labels_page_passes_axe_and_offers_each_warehouse(desk, make_user, site):
    page = await signed_in_page(desk, make_user, ("receiver",))
    await page.goto("/console/receive")
    await page.get_by_role("link", name="Print location labels").click()
    await expect(page.get_by_role("heading", name="Location labels", level=1)).to_be_visible()
    await expect(page.get_by_label("Warehouse")).to_have_value("DOCK")
    assert await serious_violations(page) == []


async def test_the_receive_page_fits_a_phone_screen(browser, live_server, make_user, site):
    context = await browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await signed_in_page(context, make_user, ("receiver",))
        await page.goto(f"/console/receive?scan=(01){GTIN}(10)PHONE-1")
        await expect(page.get_by_label("Product (SKU or GTIN)")).to_have_value("FLOUR")
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0
        assert await serious_violations(page) == []
    finally:
        await context.close()
