"""Users, badges and devices in the console, in real Chromium: an admin creates a user with a
badge, prints the badge (its PDF decodes to the badge), and the new user signs in with badge
and PIN; a supervisor revokes a lost handheld and its session is refused; axe-core on each."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import numpy as np
import pymupdf
import zxingcpp
from playwright.async_api import Browser, expect

from tests.browser.conftest import PHONE, TIMEOUT_MS
from tests.browser.console_frames import serious_violations, signed_in_page
from tests.conftest import LiveServer, MakeUser


def barcodes_in_pdf(content: bytes) -> list[str]:
    """The text of every barcode zxing-cpp finds on the PDF's pages, rasterised by MuPDF."""
    found = []
    for page in pymupdf.open(stream=content, filetype="pdf"):
        pixmap = page.get_pixmap(dpi=300, colorspace=pymupdf.csGRAY)
        picture = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width)
        found += [barcode.text for barcode in zxingcpp.read_barcodes(picture)]
    return found


async def test_an_admin_creates_a_user_prints_their_badge_and_they_sign_in_with_it(
    desk, make_user: MakeUser, tmp_path: Path
):
    holder = await make_user(["picker"], badge="BADGE-TAKEN-B", pin="1234")
    name = f"n{uuid.uuid4().hex[:8]}"
    badge = f"BADGE-{name.upper()}"
    page = await signed_in_page(desk, make_user, ["admin"])
    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Users").click()
    await expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text=holder.username)).to_be_visible()
    assert await serious_violations(page) == []

    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Display name").fill("Nadia New")
    await page.get_by_role("checkbox", name="receiver").check()
    await page.get_by_label("Password").fill("starter-pass")
    await page.get_by_label("Badge (optional)").fill("BADGE-TAKEN-B")
    await page.get_by_label("PIN").fill("2580")
    await page.get_by_role("button", name="Create user").click()
    # A taken badge: the form comes back with an alert and what was typed, nobody is created.
    await expect(page.get_by_role("alert")).to_have_text("That badge is taken.")
    await expect(page.get_by_label("Username")).to_have_value(name)
    assert await serious_violations(page) == []

    await page.get_by_label("Badge (optional)").fill(badge)
    await page.get_by_label("Password").fill("starter-pass")
    await page.get_by_label("PIN").fill("2580")
    await page.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("heading", name=f"User {name}", level=1)).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("User created.")
    assert await serious_violations(page) == []

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Print badge").click()
    download = await download_info.value
    assert download.suggested_filename == f"badge-{name}.pdf"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert barcodes_in_pdf(saved.read_bytes()) == [badge]

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Badge").fill(badge)
    await page.get_by_label("PIN").fill("2580")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    await expect(page.locator(".who")).to_have_text(name)


async def test_an_admin_deactivates_a_user_from_their_page(desk, make_user: MakeUser):
    leaver = await make_user(["packer"])
    page = await signed_in_page(desk, make_user, ["admin"])
    await page.goto(f"/console/users/{leaver.id}")
    await page.get_by_role("checkbox", name="Active").uncheck()
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status")).to_have_text("Changes saved.")
    await expect(page.get_by_text("no: cannot sign in")).to_be_visible()
    assert await serious_violations(page) == []


async def test_a_supervisor_revokes_a_lost_handheld_and_its_session_is_refused(
    desk, live_server: LiveServer, make_user: MakeUser
):
    picker = await make_user(["picker"])
    key = f"TC52-{uuid.uuid4().hex[:6].upper()}"
    async with httpx.AsyncClient(base_url=live_server.url) as api:
        signed_in = await api.post(
            "/api/auth/login",
            json={
                "username": picker.username,
                "password": picker.password,
                "deviceId": key,
                "deviceName": "Aisle 4 scanner",
            },
        )
        token = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        assert (await api.get("/api/auth/me", headers=token)).status_code == 200

        page = await signed_in_page(desk, make_user, ["supervisor"])
        await (
            page.get_by_role("navigation", name="Console")
            .get_by_role("link", name="Devices")
            .click()
        )
        await expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
        row = page.get_by_role("row").filter(has_text=key)
        await expect(row).to_contain_text(picker.username)
        assert await serious_violations(page) == []

        await row.get_by_role("checkbox", name="Aisle 4 scanner is lost").check()
        await row.get_by_role("button", name="Revoke Aisle 4 scanner").click()
        await expect(page.get_by_role("status")).to_contain_text("Aisle 4 scanner is revoked")
        await expect(page.get_by_role("row").filter(has_text=key)).to_contain_text("revoked")
        assert await serious_violations(page) == []

        refused = await api.get("/api/auth/me", headers=token)
        assert refused.status_code == 401


async def test_the_users_and_devices_pages_reflow_on_a_phone(
    browser: Browser, live_server: LiveServer, make_user: MakeUser
):
    context = await browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await signed_in_page(context, make_user, ["admin"])
        for path in ("/console/users", "/console/devices"):
            await page.goto(path)
            overflow = await page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow == 0, path
    finally:
        await context.close()
