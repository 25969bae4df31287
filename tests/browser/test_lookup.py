"""Lookup on the handheld: a lot shown by the fake camera (GS1 DataMatrix, GS1-128) or typed
by a keyboard-wedge scanner comes back as its lot card from the real server."""

from __future__ import annotations

import zxingcpp

from tests.browser.conftest import new_page
from tests.browser.frames import barcode_image, write_y4m

GS = "\x1d"


async def lot_card_shows(page, lot) -> None:
    await page.wait_for_selector("#lot-card", timeout=15_000)
    assert await page.inner_text("#lot-code") == lot.code
    assert await page.get_attribute("#lot-status", "data-status") == "released"
    assert (await page.inner_text("#lot-status")).strip() == "RELEASED"
    assert lot.expiry in await page.inner_text("#lot-expiry")
    assert "days left" in await page.inner_text("#lot-expiry")
    on_hand = await page.inner_text("#on-hand")
    assert lot.location in on_hand and str(lot.quantity) in on_hand
    assert "receipt" in (await page.inner_text("#history")).lower()
    assert await page.evaluate("document.body.dataset.feedback") == "ok"


async def turn_camera_on(browser, live_server, stock):
    """A signed-in lookup screen with its camera scanning (closed with its browser)."""
    _, page, traffic = await new_page(browser, live_server, stock.picker_session)
    await page.goto("/")
    await page.click(".camera-toggle")
    await page.wait_for_selector(".camera[data-state=scanning]")
    return page, traffic


async def test_camera_reads_a_gs1_datamatrix_and_shows_its_lot(
    camera_browser, live_server, stock, tmp_path
):
    lot = stock.lots["datamatrix"]
    picture = barcode_image(
        f"(01){lot.gtin}(10){lot.code}(17)270630", zxingcpp.BarcodeFormat.DataMatrix, scale=8
    )
    async with camera_browser(write_y4m(tmp_path / "datamatrix.y4m", picture)) as browser:
        page, traffic = await turn_camera_on(browser, live_server, stock)
        await lot_card_shows(page, lot)
        scan = traffic.scans[0]
        assert scan["raw"] == f"01{lot.gtin}10{lot.code}{GS}17270630"
        assert scan["symbology"] == "]d2"
        assert scan["context"] == "lookup" and scan["deviceId"]
        await page.wait_for_timeout(600)
        assert len(traffic.scans) == 1, "the same label held in view counts once"


async def test_camera_reads_a_gs1_128_and_shows_its_lot(
    camera_browser, live_server, stock, tmp_path
):
    lot = stock.lots["gs1_128"]
    picture = barcode_image(
        f"(01){lot.gtin}(10){lot.code}(17)270630", zxingcpp.BarcodeFormat.Code128, scale=2
    )
    async with camera_browser(write_y4m(tmp_path / "gs1-128.y4m", picture)) as browser:
        page, traffic = await turn_camera_on(browser, live_server, stock)
        await lot_card_shows(page, lot)
        scan = traffic.scans[0]
        assert scan["raw"] == f"01{lot.gtin}10{lot.code}{GS}17270630"
        assert scan["symbology"] == "]C1"


async def test_wedge_scan_with_a_gs_stand_in_shows_the_lot(browser, live_server, stock):
    lot = stock.lots["wedge"]
    context, page, traffic = await new_page(browser, live_server, stock.picker_session)
    try:
        await page.goto("/")
        await page.wait_for_selector("#scan-entry")
        await page.keyboard.type(f"]C101{lot.gtin}10{lot.code}|17270630")
        await page.keyboard.press("Enter")
        await lot_card_shows(page, lot)
        assert traffic.scans[0]["raw"] == f"]C101{lot.gtin}10{lot.code}{GS}17270630"
        assert "symbology" not in traffic.scans[0]
    finally:
        await context.close()


async def test_wedge_sending_alt_0029_for_gs(browser, live_server, stock):
    lot = stock.lots["wedge"]
    context, page, traffic = await new_page(browser, live_server, stock.picker_session)
    try:
        await page.goto("/")
        await page.wait_for_selector("#scan-entry")
        await page.keyboard.type(f"01{lot.gtin}10{lot.code}")
        await page.keyboard.down("Alt")
        for key in ("Numpad0", "Numpad0", "Numpad2", "Numpad9"):
            await page.keyboard.press(key)
        await page.keyboard.up("Alt")
        await page.keyboard.type("17270630")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#lot-card")
        assert traffic.scans[0]["raw"] == f"01{lot.gtin}10{lot.code}{GS}17270630"
    finally:
        await context.close()


async def test_wedge_sending_ctrl_bracket_for_gs_and_a_typed_code(browser, live_server, stock):
    lot = stock.lots["wedge"]
    context, page, traffic = await new_page(browser, live_server, stock.picker_session)
    try:
        await page.goto("/")
        await page.wait_for_selector("#scan-entry")
        await page.keyboard.type(f"01{lot.gtin}10{lot.code}")
        await page.keyboard.press("Control+BracketRight")
        await page.keyboard.type("17270630")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#lot-card")
        assert traffic.scans[0]["raw"] == f"01{lot.gtin}10{lot.code}{GS}17270630"

        # Slow typing outside a field is a person, not a scanner: nothing is sent.
        await page.keyboard.type("ABC", delay=120)
        await page.keyboard.press("Enter")
        await page.wait_for_timeout(200)
        assert len(traffic.scans) == 1

        # The typed field: a person types the human-readable text and taps Scan.
        await page.fill("#scan-entry", f"(01){lot.gtin}(10){lot.code}")
        async with page.expect_response("**/api/scans") as answer:
            await page.click(".typed-entry button")
        assert (await (await answer.value).json())["lot"]["code"] == lot.code
        assert traffic.scans[-1]["raw"] == f"(01){lot.gtin}(10){lot.code}"
        await page.wait_for_selector("#lot-card")
        assert await page.inner_text("#lot-code") == lot.code
    finally:
        await context.close()


async def test_a_refused_scan_shows_the_message_big(browser, live_server, stock):
    context, page, _ = await new_page(browser, live_server, stock.picker_session)
    try:
        await page.goto("/")
        await page.fill("#scan-entry", "]C10109506000134353")
        await page.press("#scan-entry", "Enter")
        await page.wait_for_selector("#rejection")
        assert await page.inner_text(".rejection-message")
        assert await page.evaluate("document.body.dataset.feedback") == "error"
        assert await page.get_attribute("#flash", "class") == "flash-error"
    finally:
        await context.close()


async def test_a_location_label_shows_the_location_and_its_lots(browser, live_server, stock):
    lot = stock.lots["wedge"]
    context, page, _ = await new_page(browser, live_server, stock.picker_session)
    try:
        await page.goto("/")
        await page.fill("#scan-entry", lot.location)
        await page.press("#scan-entry", "Enter")
        await page.wait_for_selector("#location-card")
        assert await page.inner_text("#location-code") == lot.location
        assert lot.code in await page.inner_text("#location-card")
    finally:
        await context.close()


async def test_phone_sized_screen_has_big_targets_and_no_sideways_scroll(
    browser, live_server, stock
):
    lot = stock.lots["wedge"]
    context, page, _ = await new_page(browser, live_server, stock.picker_session)
    try:
        await page.goto("/")
        await page.fill("#scan-entry", f"(01){lot.gtin}(10){lot.code}")
        await page.press("#scan-entry", "Enter")
        await page.wait_for_selector("#lot-card")
        sizes = await page.eval_on_selector_all(
            "button:not([hidden]), input",
            "els => els.filter(e => e.offsetParent).map(e => [e.id || e.className,"
            " e.getBoundingClientRect().height, e.getBoundingClientRect().width])",
        )
        assert sizes and all(h >= 48 and w >= 48 for _, h, w in sizes), sizes
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        dock = await page.eval_on_selector(".dock", "e => e.getBoundingClientRect().bottom")
        assert dock == 740, "the scan controls sit at the bottom, under the thumb"
    finally:
        await context.close()
