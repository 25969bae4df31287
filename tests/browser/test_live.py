"""The live channel on the handheld, against the real server: a hold placed by a supervisor
interrupts a picker mid-task with the hold banner and the skip-this-lot instruction, the
pick screen moves to the new lot and bin by itself, the ack reaches the server only after
Acknowledge, and the held lot is still refused; a handheld that was offline gets the hold it
missed when it is back, and again after a reload until it is acknowledged; a token the
channel refuses signs the handheld out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page

from tests.browser.conftest import PickSite, gs1_label, new_page, sign_in_over_http
from tests.integration.arrange import ok, receive

BANNER = "#hold-banner:not([hidden])"
SECONDS = 5.0
"""How soon a hold must reach a connected handheld."""


@dataclass
class LiveFrames:
    """What the page's WebSockets sent and received, decoded, in order."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def hellos(self) -> list[dict[str, Any]]:
        return [frame for frame in self.sent if frame["type"] == "hello"]

    def acks(self) -> list[int]:
        return [frame["seq"] for frame in self.sent if frame["type"] == "ack"]

    def message(self, kind: str, **data: Any) -> dict[str, Any] | None:
        """The first message of `kind` whose data has these values."""
        return next(
            (
                frame
                for frame in self.received
                if frame.get("type") == kind
                and all(frame["data"].get(name) == value for name, value in data.items())
            ),
            None,
        )


def watch_live(page: Page) -> LiveFrames:
    frames = LiveFrames()

    def on_socket(socket: Any) -> None:
        socket.on("framesent", lambda payload: frames.sent.append(json.loads(payload)))
        socket.on("framereceived", lambda payload: frames.received.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return frames


async def until(check: Callable[[], Any], seconds: float = SECONDS) -> Any:
    """Poll `check` until it answers something true; that answer."""
    deadline = time.monotonic() + seconds
    while not (answer := check()):
        assert time.monotonic() < deadline, f"nothing within {seconds} s"
        await asyncio.sleep(0.05)
    return answer


async def wedge(page: Page, text: str) -> None:
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def feedback(page: Page) -> Any:
    return await page.evaluate("document.body.dataset.feedback")


async def new_lot(pick_site: PickSite, code: str) -> int:
    """Another lot of the site's product, received into A-01; its id."""
    async with pick_site.admin() as admin:
        made = await ok(
            receive(
                admin,
                gtin=pick_site.early.gtin,
                lotCode=code,
                expiry="2027-12-31",
                quantity=5,
                location=f"{pick_site.warehouse}/A-01",
            )
        )
    lot_id: int = made["lot"]["id"]
    return lot_id


async def test_a_hold_interrupts_the_picker_and_moves_the_task_on_screen(
    browser, live_server, pick_site, make_user
):
    picker = await make_user(["picker"])
    early, late = pick_site.early, pick_site.late
    order = await pick_site.waved_order(3, picker=picker.username)
    context, page, traffic = await new_page(
        browser,
        live_server,
        await sign_in_over_http(live_server, picker),
        storage={"lotline.warehouse": pick_site.warehouse},
    )
    frames = watch_live(page)
    try:
        await page.goto("/#/tasks")
        await page.wait_for_selector("#task-list .task")
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("#pick-step[data-step=lot]")
        assert await page.inner_text("#pick-lot") == early.code
        await page.wait_for_selector("body[data-live=connected] #live-state[data-state=connected]")
        [hello] = frames.hellos()
        device = await page.evaluate("localStorage.getItem('lotline.deviceId')")
        assert hello["warehouse"] == pick_site.warehouse and hello["deviceId"] == device
        task_id = traffic.scans[-1]["taskId"]
        async with pick_site.admin() as admin:
            early_id = (await ok(admin.get(f"/api/pick-tasks/{task_id}")))["lotId"]

        placed = await pick_site.hold(early_id, reason="Foreign body found at the supplier")
        assert [(moved["taskId"], moved["newLot"]) for moved in placed["reallocated"]] == [
            (task_id, late.code)
        ]

        # Within seconds, over whatever screen: the hold, big, with its reason.
        banner = await page.wait_for_selector(
            f"{BANNER}[data-type='lot.held']", timeout=SECONDS * 1000
        )
        text = await banner.inner_text()
        assert "HOLD" in text and f"Lot {early.code} ({early.sku})" in text
        assert "Do not pick, pack or ship it." in text
        assert "Reason: Foreign body found at the supplier" in text
        assert await page.get_attribute("#hold-banner", "role") == "alertdialog"
        assert await feedback(page) == "error"
        acknowledge = await page.wait_for_selector("#hold-acknowledge:not([disabled])")
        box = await acknowledge.bounding_box()
        assert box is not None and box["height"] >= 56
        held = await until(lambda: frames.message("lot.held", lotId=early_id))
        moved = await until(lambda: frames.message("task.reallocated", taskId=task_id))
        assert moved["seq"] > held["seq"] and moved["data"]["newTaskId"] == task_id
        assert not [seq for seq in frames.acks() if seq >= held["seq"]], "no ack before a tap"

        # The unit in hand is not judged while the hold is on screen.
        scans = len(traffic.scans)
        await wedge(page, gs1_label(early, gs="|"))
        await page.wait_for_timeout(300)
        assert len(traffic.scans) == scans and await feedback(page) == "error"

        await acknowledge.click()
        banner = await page.wait_for_selector(f"{BANNER}[data-type='task.reallocated']")
        text = await banner.inner_text()
        assert f"Skip lot {early.code}" in text
        assert f"Pick lot {late.code} from bin A-02" in text
        assert order["externalId"] in text
        await until(lambda: held["seq"] in frames.acks())
        assert max(frames.acks()) < moved["seq"], "the instruction still waits for its tap"

        await page.click("#hold-acknowledge:not([disabled])")
        await page.wait_for_selector("#hold-banner", state="hidden")
        await until(lambda: moved["seq"] in frames.acks())

        # Behind the banner the pick screen already went to the new lot, its bin to scan.
        assert await page.inner_text("#pick-lot") == late.code
        assert await page.inner_text("#pick-bin") == "A-02"
        assert await page.get_attribute("#pick-step", "data-step") == "bin"
        assert early.code in await page.inner_text("#task-moved")

        async with pick_site.admin() as admin:
            for _ in range(50):
                acks = await ok(admin.get("/api/live/acks"))
                mine = [ack for ack in acks if ack["deviceId"] == device]
                if mine and mine[0]["seq"] >= moved["seq"]:
                    break
                await asyncio.sleep(0.1)
        [ack] = mine
        assert ack["warehouse"] == pick_site.warehouse and ack["username"] == picker.username
        assert ack["seq"] >= moved["seq"]

        # At the new bin, the unit of the held lot still in hand: the server refuses it.
        await wedge(page, pick_site.bin_barcodes["A-02"])
        await page.wait_for_selector("#pick-step[data-step=lot]")
        await wedge(page, gs1_label(early, gs="|"))
        refusal = await page.wait_for_selector("#rejection[data-code=lot_on_hold]")
        assert early.code in await refusal.inner_text()
        assert await feedback(page) == "error"
        assert await page.get_attribute("#pick-count", "data-picked") == "0"
    finally:
        await context.close()


async def test_a_hold_missed_while_offline_shows_when_back_and_until_acknowledged(
    browser, live_server, pick_site, make_user
):
    picker = await make_user(["picker"])
    lot_id = await new_lot(pick_site, f"MU-R{uuid.uuid4().hex[:4].upper()}")
    context, page, _ = await new_page(
        browser, live_server, await sign_in_over_http(live_server, picker)
    )
    frames = watch_live(page)
    try:
        await page.goto("/#/tasks")
        await page.wait_for_selector("body[data-live=connected]")
        # A handheld new to the warehouse starts from now, and keeps the warehouse it got.
        [welcome] = [frame for frame in frames.received if frame["type"] == "welcome"]
        assert frames.hellos()[0]["afterSeq"] == 0 and "warehouse" not in frames.hellos()[0]
        learned = await page.evaluate("localStorage.getItem('lotline.warehouse')")
        assert learned == welcome["warehouse"]
        await page.wait_for_timeout(300)
        assert await page.query_selector(BANNER) is None, "none for holds before it came"

        await context.set_offline(True)
        await page.wait_for_selector("body[data-live=offline] #live-state[data-state=offline]")
        assert "Offline" in await page.inner_text("#live-state")
        placed = await pick_site.hold(lot_id, reason="Seal broken")
        code = placed["lots"][0]["code"]
        await page.wait_for_timeout(1000)
        assert frames.message("lot.held", lotId=lot_id) is None
        assert await page.query_selector(BANNER) is None

        await context.set_offline(False)
        banner = await page.wait_for_selector(BANNER, timeout=SECONDS * 1000)
        assert f"Lot {code}" in await banner.inner_text()
        resumed = frames.hellos()[-1]
        assert resumed["afterSeq"] == welcome["seq"], "it asks for what came after its last"
        held = frames.message("lot.held", lotId=lot_id)
        assert held is not None and held["seq"] > welcome["seq"]

        # Not acknowledged yet: after a reload it is asked for, and shown, again.
        await page.reload()
        banner = await page.wait_for_selector(BANNER, timeout=SECONDS * 1000)
        assert f"Lot {code}" in await banner.inner_text()
        assert frames.hellos()[-1]["afterSeq"] < held["seq"]
        await page.click("#hold-acknowledge:not([disabled])")
        await until(lambda: held["seq"] in frames.acks())

        await page.reload()
        await page.wait_for_selector("body[data-live=connected]")
        assert frames.hellos()[-1]["afterSeq"] >= held["seq"]
        await page.wait_for_timeout(500)
        assert await page.query_selector(BANNER) is None
    finally:
        await context.close()


async def test_a_token_the_channel_refuses_signs_the_handheld_out(browser, live_server, make_user):
    picker = await make_user(["picker"])
    session = await sign_in_over_http(live_server, picker)
    context, page, _ = await new_page(browser, live_server, {**session, "token": "not-a-token"})
    frames = watch_live(page)
    try:
        # Lookup asks the server nothing on its own: only the live channel finds out.
        await page.goto("/#/lookup")
        await page.wait_for_selector("body[data-screen=signin] #badge")
        refused = await until(
            lambda: [frame for frame in frames.received if frame["type"] == "error"]
        )
        assert refused[0]["code"] == "unauthenticated"
        assert await page.evaluate("localStorage.getItem('lotline.session')") is None
        assert await page.evaluate("document.body.dataset.live") is None
    finally:
        await context.close()
