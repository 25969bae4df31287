"""Signing in on the handheld: a badge scanned by a wedge scanner plus the PIN, or a
username and password; a wrong PIN is refused on screen; signing out revokes the token."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import new_page

BADGE, PIN = "BADGE-BROWSER-7", "4821"


@pytest.fixture(scope="module")
async def badge_user(make_user):
    return await make_user(["picker"], badge=BADGE, pin=PIN)


async def scan_badge(page) -> None:
    """A wedge scanner reads the badge while no field has the focus."""
    await page.goto("/")
    await page.wait_for_selector("#badge")
    assert await page.evaluate("document.activeElement === document.body")
    await page.keyboard.type(BADGE)
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"document.querySelector('#badge').value === {BADGE!r}")
    assert await page.evaluate("document.activeElement.id") == "pin"


async def test_badge_scan_and_pin_sign_in_then_sign_out(
    browser, live_server, badge_user, admin_token
):
    context, page, _ = await new_page(browser, live_server)
    try:
        await scan_badge(page)
        await page.keyboard.type(PIN)
        await page.click("#sign-in")
        await page.wait_for_selector("#scan-entry")
        assert await page.inner_text("#who") == badge_user.username
        session = await page.evaluate("JSON.parse(localStorage.getItem('lotline.session'))")
        assert session["user"]["username"] == badge_user.username
        device = await page.evaluate("localStorage.getItem('lotline.deviceId')")
        assert len(device) == 36
        # The handheld says what it is, so a supervisor can tell devices apart.
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            listed = await client.get(
                "/api/devices", headers={"Authorization": f"Bearer {admin_token}"}
            )
        [known] = [d for d in listed.json() if d["deviceId"] == device]
        assert known["name"] == "Linux · Chrome", known  # Debian's headless Chromium

        await page.reload()
        await page.wait_for_selector("#scan-entry")
        assert await page.evaluate("localStorage.getItem('lotline.deviceId')") == device

        await page.click("#sign-out")
        await page.wait_for_selector("#badge")
        assert await page.evaluate("localStorage.getItem('lotline.session')") is None
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            me = await client.get(
                "/api/auth/me", headers={"Authorization": f"Bearer {session['token']}"}
            )
        assert me.status_code == 401, "signing out revokes the token"
    finally:
        await context.close()


async def test_wrong_pin_is_refused_with_an_error(browser, live_server, badge_user):
    context, page, _ = await new_page(browser, live_server)
    try:
        await scan_badge(page)
        await page.fill("#pin", "0000")
        await page.press("#pin", "Enter")
        error = await page.wait_for_selector("#signin-error:not([hidden])")
        assert await error.inner_text()
        assert await page.evaluate("document.body.dataset.feedback") == "error"
        assert await page.evaluate("localStorage.getItem('lotline.session')") is None
        assert await page.input_value("#pin") == ""
        assert await page.is_visible("#badge")
    finally:
        await context.close()


async def test_username_and_password_sign_in(browser, live_server, make_user):
    user = await make_user(["counter"])
    context, page, _ = await new_page(browser, live_server)
    try:
        await page.goto("/")
        await page.click("#switch-mode")
        await page.fill("#username", user.username)
        await page.fill("#password", user.password)
        await page.click("#sign-in")
        await page.wait_for_selector("#scan-entry")
        assert await page.inner_text("#who") == user.username
    finally:
        await context.close()
