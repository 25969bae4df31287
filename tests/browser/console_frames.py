"""What the console's browser tests share: signing in through the form, and axe-core's serious
and critical violations. (The desk-sized window is the `desk` fixture of conftest.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from tests.conftest import MakeUser

AXE = "/static/vendor/axe-core/axe.min.js"


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(url=AXE)
    result: dict[str, Any] = await page.evaluate("() => axe.run(document)")
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def signed_in_page(
    context: BrowserContext, make_user: MakeUser, roles: Sequence[str] = ("supervisor",)
) -> Page:
    """A new page of the console's dashboard, signed in through the form as a new user."""
    user = await make_user(list(roles))
    page = await context.new_page()
    await page.goto("/console/")
    assert "/console/login" in page.url
    await page.get_by_label("Username").fill(user.username)
    await page.get_by_label("Password", exact=True).fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    return page
