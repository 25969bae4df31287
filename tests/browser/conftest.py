"""Real Chromium against the module's real lotline server and PostgreSQL.

Debian's /usr/bin/chromium (never `playwright install`), headless and kept off the network:
every host but the loopback fails to resolve. One browser serves a module; a test that needs
the camera launches its own, with its own fake webcam file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

from tests.conftest import LiveServer, TestUser
from tests.integration.arrange import ok, receive

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Without the two EXCLUDEs the page itself would not load.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
PHONE = {"width": 360, "height": 740}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Playwright]:
    """Playwright's driver, once per session."""
    async with async_playwright() as playwright:
        yield playwright


async def launch(playwright: Playwright, *extra_args: str) -> Browser:
    return await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


@pytest.fixture(scope="module")
async def browser(chromium: Playwright) -> AsyncIterator[Browser]:
    """A Chromium without a camera, shared by the tests of a module."""
    browser = await launch(chromium)
    yield browser
    await browser.close()


@pytest.fixture
def camera_browser(
    chromium: Playwright,
) -> Callable[[Path], Any]:
    """`async with camera_browser(y4m) as browser:` a Chromium whose webcam shows that file."""

    @asynccontextmanager
    async def start(y4m: Path) -> AsyncIterator[Browser]:
        browser = await launch(
            chromium,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}",
        )
        try:
            yield browser
        finally:
            await browser.close()

    return start


@dataclass
class Traffic:
    """Every request the pages of a context made, service worker included."""

    urls: list[str]
    scans: list[dict[str, Any]]
    """Bodies of POST /api/scans, in order."""


async def new_page(
    browser: Browser,
    live_server: LiveServer,
    session: dict[str, Any] | None = None,
    storage: dict[str, str] | None = None,
) -> tuple[BrowserContext, Page, Traffic]:
    """A fresh context (empty storage) on a phone-sized screen, optionally signed in already;
    `storage` sets other localStorage keys of the handheld (its warehouse, say)."""
    context = await browser.new_context(
        viewport=PHONE, base_url=live_server.url, permissions=["camera"]
    )
    context.set_default_timeout(TIMEOUT_MS)
    traffic = Traffic(urls=[], scans=[])

    def record(request: Any) -> None:
        traffic.urls.append(request.url)
        if request.method == "POST" and request.url.endswith("/api/scans"):
            traffic.scans.append(json.loads(request.post_data or "{}"))

    context.on("request", record)
    settings = dict(storage or {})
    if session is not None:
        settings["lotline.session"] = json.dumps(session)
    for key, value in settings.items():
        await context.add_init_script(
            f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)});"
        )
    page = await context.new_page()
    return context, page, traffic


@dataclass(frozen=True)
class ReceivedLot:
    sku: str
    gtin: str
    code: str
    expiry: str
    location: str
    quantity: int


@dataclass(frozen=True)
class Stock:
    """What the browser tests scan: lots received through the API, and a picker to scan them."""

    lots: dict[str, ReceivedLot]
    picker_session: dict[str, Any]


@pytest.fixture(scope="module")
async def stock(live_server: LiveServer, admin_token: str, make_user: Any) -> Stock:
    """A warehouse, a bin, a product with a real GTIN and three received lots with expiry."""
    suffix = uuid.uuid4().hex[:4].upper()
    warehouse, gtin, sku = f"WB{suffix}", "09506000134352", f"OATS-{suffix}"
    async with httpx.AsyncClient(
        base_url=live_server.url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {admin_token}"},
    ) as admin:
        await ok(admin.post("/api/warehouses", json={"code": warehouse, "name": "Browser site"}))
        await ok(admin.post("/api/locations", json={"warehouse": warehouse, "code": "A-01"}))
        await ok(
            admin.post(
                "/api/products",
                json={"sku": sku, "name": "Rolled oats 1 kg", "gtins": [gtin]},
            )
        )
        lots = {}
        for name, code, quantity in (
            ("datamatrix", "DM-2611-A", 12),
            ("gs1_128", "C128-2611-B", 7),
            ("wedge", "WEDGE-2611-C", 5),
        ):
            lot = ReceivedLot(sku, gtin, code, "2027-06-30", f"{warehouse}/A-01", quantity)
            await ok(
                receive(
                    admin,
                    gtin=gtin,
                    lotCode=code,
                    expiry=lot.expiry,
                    quantity=quantity,
                    location=lot.location,
                )
            )
            lots[name] = lot
        picker = await make_user(["picker"])
        login = await ok(
            admin.post(
                "/api/auth/login", json={"username": picker.username, "password": picker.password}
            )
        )
    return Stock(lots=lots, picker_session=login)


def with_check_digit(body: str) -> str:
    """A GTIN from its digits but the last: the GS1 mod-10 check digit appended."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return body + str(-total % 10)


async def sign_in_over_http(live_server: LiveServer, user: TestUser) -> dict[str, Any]:
    """A fresh login of `user` as the handheld keeps it ({token, expiresAt, user})."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0) as client:
        login: dict[str, Any] = await ok(
            client.post(
                "/api/auth/login", json={"username": user.username, "password": user.password}
            )
        )
    return login


@dataclass(frozen=True)
class PickSite:
    """A warehouse to pick and pack in, arranged through the API as an admin: bins A-01 and
    A-02 in walking order, a pack station, one product in two lots (`early`, in A-01, is the
    one FEFO allocates; `late`, in A-02, expires later) and a sales channel."""

    url: str
    admin_headers: dict[str, str]
    warehouse: str
    channel: str
    bin_barcodes: dict[str, str]
    """Bin code → the barcode on its label."""
    early: ReceivedLot
    late: ReceivedLot

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30.0, headers=self.admin_headers)

    async def waved_orders(self, *quantities: int, picker: str | None) -> list[dict[str, Any]]:
        """New orders, one per quantity of the product, waved together: their tasks dealt to
        `picker`, or (None) waiting to be claimed. Answers the orders as GET shows them."""
        async with self.admin() as admin:
            ids = []
            for quantity in quantities:
                external_id = f"ORD-{uuid.uuid4().hex[:6].upper()}"
                order = await ok(
                    admin.post(
                        "/api/orders",
                        json={
                            "channel": self.channel,
                            "externalId": external_id,
                            "warehouse": self.warehouse,
                            "customer": {"ref": f"C-{external_id}", "name": "Ada Lovelace"},
                            "lines": [{"sku": self.early.sku, "quantity": quantity}],
                        },
                    )
                )
                ids.append(order["id"])
            wave: dict[str, Any] = {"orderIds": ids}
            if picker is not None:
                wave["pickers"] = [picker]
            answer = await ok(admin.post("/api/waves", json=wave))
            assert answer["tasks"] == len(ids) and not answer["shortfalls"], answer
        return [await self.order(order_id) for order_id in ids]

    async def waved_order(self, quantity: int, picker: str | None) -> dict[str, Any]:
        """One new order for `quantity` units, waved as `waved_orders` does."""
        [order] = await self.waved_orders(quantity, picker=picker)
        return order

    async def order(self, order_id: int) -> dict[str, Any]:
        async with self.admin() as admin:
            found: dict[str, Any] = await ok(admin.get(f"/api/orders/{order_id}"))
        return found

    async def hold(self, lot_id: int, reason: str) -> dict[str, Any]:
        """Put a lot on hold as a supervisor does (POST /api/holds); answers the hold, with
        the tasks it moved in `reallocated`."""
        body = {
            "idempotencyKey": str(uuid.uuid4()),
            "kind": "hold",
            "reason": reason,
            "lots": [lot_id],
        }
        async with self.admin() as admin:
            placed: dict[str, Any] = await ok(admin.post("/api/holds", json=body))
        return placed


def gs1_label(lot: ReceivedLot, gs: str = "\x1d") -> str:
    """The element string on a unit of `lot`: GTIN, lot, then expiry after a GS."""
    yymmdd = lot.expiry[2:].replace("-", "")
    return f"01{lot.gtin}10{lot.code}{gs}17{yymmdd}"


@pytest.fixture(scope="module")
async def pick_site(live_server: LiveServer, admin_token: str) -> PickSite:
    """See PickSite. Its own GTIN, so the lookup tests' product is not this one."""
    suffix = uuid.uuid4().hex[:4].upper()
    warehouse, sku, channel = f"WF{suffix}", f"MUESLI-{suffix}", f"SHOP-{suffix}"
    gtin = with_check_digit("0950600013437")
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=headers) as admin:
        await ok(admin.post("/api/warehouses", json={"code": warehouse, "name": "Pick site"}))
        bin_barcodes = {}
        for walk, code in ((10, "A-01"), (20, "A-02")):
            location = await ok(
                admin.post(
                    "/api/locations",
                    json={"warehouse": warehouse, "code": code, "walkSequence": walk},
                )
            )
            bin_barcodes[code] = location["barcode"]
        await ok(
            admin.post(
                "/api/locations",
                json={"warehouse": warehouse, "code": "PACK-1", "kind": "pack_station"},
            )
        )
        await ok(
            admin.post(
                "/api/products", json={"sku": sku, "name": "Crunchy muesli 750 g", "gtins": [gtin]}
            )
        )
        lots = []
        # Fixed lot codes (the database is this module's own): with some others zxing-cpp
        # draws the DataMatrix in a rectangular DMRE size, which the camera test does not want.
        for code, expiry, bin_code in (
            ("MU-2703-E", "2027-03-31", "A-01"),
            ("MU-2709-L", "2027-09-30", "A-02"),
        ):
            lot = ReceivedLot(sku, gtin, code, expiry, f"{warehouse}/{bin_code}", 40)
            await ok(
                receive(
                    admin,
                    gtin=gtin,
                    lotCode=code,
                    expiry=expiry,
                    quantity=lot.quantity,
                    location=lot.location,
                )
            )
            lots.append(lot)
        await ok(
            admin.post(
                "/api/channels", json={"code": channel, "name": "Own shop", "kind": "own_shop"}
            )
        )
    return PickSite(
        url=live_server.url,
        admin_headers=headers,
        warehouse=warehouse,
        channel=channel,
        bin_barcodes=bin_barcodes,
        early=lots[0],
        late=lots[1],
    )


DESK = {"width": 1280, "height": 800}


@pytest.fixture
async def desk(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    """A desk-sized browser window on the test server, for the console."""
    context = await browser.new_context(viewport=DESK, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    await context.close()
