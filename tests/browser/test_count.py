"""Blind cycle counts on the handheld, against the real server: a supervisor counts a bin; a
counter scans it and its lot and enters fewer units than the ledger holds, corrects the line
and submits, without ever seeing the expected quantity; the variance needs a recount, which the
first counter is not offered and a second counter does in the browser; only the supervisor's
approval then adjusts the balance."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Page

from tests.browser.conftest import PickSite, gs1_label, new_page, sign_in_over_http
from tests.browser.test_pick_pack import assert_thumb_friendly, feedback, wedge
from tests.conftest import LiveServer, MakeUser, TestUser
from tests.integration.arrange import lotline_check, ok

COUNTED = 35
"""What the counters find in A-01, of the 40 units the ledger holds there."""


def as_user(live_server: LiveServer, user: TestUser) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=user.headers)


def expected_shown(text: str, quantity: int) -> bool:
    """Whether `quantity` appears in `text` as a number of its own."""
    return re.search(rf"(?<!\d){quantity}(?!\d)", text) is not None


async def screen_text(page: Page) -> str:
    """What the counter can read: the screen's content and any sheet over it."""
    parts = await page.eval_on_selector_all(
        "#count, #count-tasks, .sheet:not([hidden])", "els => els.map(e => e.innerText)"
    )
    return "\n".join(parts)


async def assert_blind(page: Page, expected: int) -> None:
    text = await screen_text(page)
    assert not expected_shown(text, expected), text
    assert "expected" not in text.lower() and "system" not in text.lower(), text
    assert "null" not in text and "undefined" not in text, text


async def enter_on_pad(page: Page, quantity: int) -> None:
    for digit in str(quantity):
        await page.click(f"#pad-{digit}")
    assert await page.inner_text("#pad-value") == str(quantity)
    await page.click("#pad-ok")


async def count_bin(
    page: Page, pick_site: PickSite, task_id: int, quantity: int, expected: int
) -> None:
    """On the counter's task list: the task opened by its bin's label, the early lot scanned
    and `quantity` entered, then submitted; blind all along."""
    await page.wait_for_selector(f"#count-task-{task_id}")
    await assert_blind(page, expected)
    await wedge(page, pick_site.bin_barcodes["A-01"])
    await page.wait_for_selector("body[data-screen=count-task] #count-step[data-step=lot]")
    assert await feedback(page) == "ok"
    await assert_blind(page, expected)
    await wedge(page, gs1_label(pick_site.early, gs="|"))
    await page.wait_for_selector("#count-sheet:not([hidden]) #pad-value")
    assert pick_site.early.code in await page.inner_text("#pad-title")
    await assert_blind(page, expected)
    await enter_on_pad(page, quantity)
    line = await page.wait_for_selector(f".count-line[data-counted='{quantity}']")
    assert pick_site.early.code in await line.inner_text()
    assert await feedback(page) == "ok"
    await assert_blind(page, expected)
    await page.click("#submit-count")
    await page.click("#submit-confirm")
    notice = await page.wait_for_selector("body[data-screen=count] #notice")
    assert "A-01" in await notice.inner_text()


async def test_a_blind_count_with_a_variance_is_recounted_by_another_counter_then_approved(
    browser, live_server: LiveServer, pick_site: PickSite, make_user: MakeUser, db
):
    early = pick_site.early
    lot_id = await db.fetchval("SELECT id FROM lot WHERE code = $1", early.code)
    bin_a01 = f"{pick_site.warehouse}/A-01"
    supervisor = await make_user(["supervisor"])
    first, second = await make_user(["counter"]), await make_user(["counter"])
    async with as_user(live_server, supervisor) as supervising:
        count = await ok(
            supervising.post(
                "/api/counts", json={"warehouse": pick_site.warehouse, "bins": ["A-01"]}
            )
        )
    [task] = count["tasks"]
    storage = {"lotline.warehouse": pick_site.warehouse}

    context, page, traffic = await new_page(
        browser, live_server, await sign_in_over_http(live_server, first), storage
    )
    try:
        await page.goto("/#/count")
        # The counter's bins to count; the bin's label opens its task.
        await page.wait_for_selector("body[data-screen=count] #count-list")
        await wedge(page, pick_site.bin_barcodes["A-01"])
        await page.wait_for_selector("#count-step[data-step=lot]")
        await assert_thumb_friendly(page)
        await assert_blind(page, early.quantity)

        # 30 counted, then the line corrected to 35 on the pad.
        await wedge(page, gs1_label(early, gs="|"))
        await page.wait_for_selector("#count-sheet:not([hidden]) #pad-value")
        await assert_blind(page, early.quantity)
        await enter_on_pad(page, 30)
        await page.wait_for_selector(f"#count-line-{lot_id}[data-counted='30']")
        scan = traffic.scans[-1]
        assert (scan["context"], scan["countId"], scan["quantity"]) == ("count", task["id"], 30)
        await page.click(f"#count-line-{lot_id}")
        await page.click("#pad-3")
        await page.click("#pad-5")
        await page.click("#pad-ok")
        await page.wait_for_selector(f"#count-line-{lot_id}[data-counted='{COUNTED}']")
        await assert_blind(page, early.quantity)
        await page.click("#submit-count")
        await assert_blind(page, early.quantity)
        await page.click("#submit-confirm")
        await page.wait_for_selector("body[data-screen=count] #notice")
        # The recount is not this counter's to do.
        await page.wait_for_selector("#no-count-tasks")
        await assert_blind(page, early.quantity)
    finally:
        await context.close()

    async with as_user(live_server, supervisor) as supervising:
        counted = await ok(supervising.get(f"/api/counts/{count['id']}"))
    by_id = {found["id"]: found for found in counted["tasks"]}
    assert by_id[task["id"]]["status"] == "recount_required"
    recount = by_id[by_id[task["id"]]["recount"]]
    assert recount["recountOf"] == task["id"] and recount["status"] == "open"

    context, page, traffic = await new_page(
        browser, live_server, await sign_in_over_http(live_server, second), storage
    )
    try:
        await page.goto("/#/count")
        chip = await page.wait_for_selector(f"#count-task-{recount['id']}")
        assert "Recount" in await chip.inner_text()
        await count_bin(page, pick_site, recount["id"], COUNTED, early.quantity)
        assert {scan["countId"] for scan in traffic.scans} == {recount["id"]}
    finally:
        await context.close()

    # Nothing is adjusted until a supervisor approves; then the bin holds what was counted.
    before: Any = await db.fetchval(
        "SELECT count(*) FROM movement WHERE kind = 'count' AND lot_id = $1", lot_id
    )
    assert before == 0
    async with as_user(live_server, supervisor) as supervising:
        await ok(supervising.post(f"/api/count-tasks/{recount['id']}/approve"))
        lot = await ok(supervising.get(f"/api/lots/{lot_id}"))
    assert {row["location"]: row["quantity"] for row in lot["onHand"]}[bin_a01] == COUNTED
    adjustment = await db.fetchrow(
        "SELECT quantity, to_location_id FROM movement WHERE kind = 'count' AND lot_id = $1",
        lot_id,
    )
    assert adjustment["quantity"] == early.quantity - COUNTED
    assert adjustment["to_location_id"] is None
    checked = lotline_check(live_server.database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
