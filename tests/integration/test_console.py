"""The office console over HTTP against the real server: its session cookie, form posts from
its own origin only, roles, the dashboard's panels, search, the lot and product pages."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect

from backend.auth.passwords import hash_token
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import OATS_GTIN, gs1, ok, receive, scan_body
from tests.integration.console_frames import (
    as_cookie,
    origin,
    session_cookie,
    sign_in,
    token_of,
)


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> dict[str, Any]:
    """One warehouse, a product with a GTIN, a held lot, a lot expiring in 5 days, one in
    60 days, and one far off."""
    await ok(admin_client.post("/api/warehouses", json={"code": "CON", "name": "Console"}))
    for code in ("C-01", "C-02"):
        await ok(admin_client.post("/api/locations", json={"warehouse": "CON", "code": code}))
    await ok(admin_client.post("/api/suppliers", json={"code": "FARM", "name": "Farm"}))
    await ok(
        admin_client.post(
            "/api/products", json={"sku": "OATS", "name": "Rolled oats", "gtins": [OATS_GTIN]}
        )
    )
    today = date.today()
    lots = {}
    for code, days, quantity in (("HELD1", 400, 7), ("SOON1", 5, 11), ("LATER1", 60, 13)):
        made = await ok(
            receive(
                admin_client,
                sku="OATS",
                lotCode=code,
                quantity=quantity,
                location="CON/C-01",
                expiry=(today + timedelta(days=days)).isoformat(),
                supplier="FARM",
                supplierLotCode=f"FARM-{code}",
            )
        )
        lots[code] = made["lot"]["id"]
    await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "hold",
                "reason": "Lab check",
                "lots": [lots["HELD1"]],
            },
        )
    )
    return lots


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client per test: no cookie jar carried over from another test's sign-in."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0) as http:
        yield http


def attributes(set_cookie: str) -> list[str]:
    return [part.strip() for part in set_cookie.split(";")[1:]]


@pytest.fixture(scope="module")
async def supervisor(live_server: LiveServer, make_user: MakeUser) -> str:
    """A supervisor's console session token."""
    user = await make_user(["supervisor"], badge="BADGE-SUP-1", pin="4321")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        signed_in = await sign_in(
            client, live_server, username=user.username, password=user.password
        )
    return token_of(session_cookie(signed_in))


async def test_signing_in_sets_an_httponly_strict_cookie_and_opens_the_page_asked_for(
    client, live_server, make_user
):
    user = await make_user(["receiver"])
    signed_in = await sign_in(
        client,
        live_server,
        username=user.username,
        password=user.password,
        next="/console/search?q=OATS",
    )
    assert signed_in.status_code in (301, 302, 303, 307), signed_in.text
    assert signed_in.headers["location"] == "/console/search?q=OATS"
    cookie = session_cookie(signed_in).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in attributes(cookie)  # plain http here

    page = await client.get("/console/", headers=as_cookie(token_of(session_cookie(signed_in))))
    assert page.status_code == 200
    assert user.username in page.text
    assert "no-store" in page.headers["cache-control"]


async def test_the_cookie_is_secure_when_the_console_is_served_over_https(
    client, live_server, make_user
):
    user = await make_user(["supervisor"])
    https = live_server.url.replace("http://", "https://")
    signed_in = await client.post(
        "/console/login",
        data={"username": user.username, "password": user.password},
        headers={"X-Forwarded-Proto": "https", "Origin": https},
    )
    assert signed_in.status_code == 302, signed_in.text
    assert "secure" in attributes(session_cookie(signed_in).lower())


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/console",
        "/api/users",
        "/console\u00e9",
        "/console\r\nX: y",
    ],
)
async def test_after_sign_in_the_browser_only_goes_to_a_console_page(
    client, live_server, make_user, target
):
    user = await make_user(["supervisor"])
    signed_in = await sign_in(
        client, live_server, username=user.username, password=user.password, next=target
    )
    assert signed_in.status_code == 302
    assert signed_in.headers["location"] == "/console"


async def test_a_badge_and_pin_sign_in_the_console_too(client, live_server, supervisor):
    signed_in = await sign_in(client, live_server, badge="BADGE-SUP-1", pin="4321")
    assert signed_in.status_code == 302
    page = await client.get("/console/", headers=as_cookie(token_of(session_cookie(signed_in))))
    assert page.status_code == 200


async def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(client):
    page = await client.get("/console/search?q=OATS")
    assert page.status_code == 302
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fsearch%3Fq%3DOATS"
    stale = await client.get("/console/", headers=as_cookie("not-a-token"))
    assert stale.status_code == 302


@pytest.mark.parametrize(
    "form",
    [
        {"username": "nobody", "password": "wrong"},
        {"username": "x" * 500, "password": "y" * 5000},
        {"badge": "NOPE", "pin": "0000"},
        {},
        {"username": "only-a-name"},
        {"username": "nul\x00name", "password": "pass\x00word"},
        {"badge": "B\x00", "pin": "1\x002"},
    ],
)
async def test_wrong_or_missing_credentials_show_the_form_again_without_a_cookie(
    client, live_server, form
):
    answer = await sign_in(client, live_server, **form)
    assert answer.status_code in (400, 401)
    assert "set-cookie" not in answer.headers
    assert 'role="alert"' in answer.text and "<form" in answer.text


async def test_an_outside_page_cannot_post_the_console_forms(
    client, live_server, make_user, supervisor
):
    user = await make_user(["supervisor"])
    credentials = {"username": user.username, "password": user.password}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "http://evil.example/"}):
        answer = await client.post("/console/login", data=credentials, headers=headers)
        assert answer.status_code == 403
        assert "set-cookie" not in answer.headers
    for path in ("/console/logout", "/console/live-ticket"):
        answer = await client.post(
            path, headers={**as_cookie(supervisor), "Origin": "https://evil.example"}
        )
        assert answer.status_code == 403
    still = await client.get("/console/", headers=as_cookie(supervisor))
    assert still.status_code == 200


async def test_roles_outside_the_console_get_a_clear_403_page(client, live_server, make_user):
    picker = await make_user(["picker"])
    answer = await sign_in(client, live_server, username=picker.username, password=picker.password)
    assert answer.status_code == 403
    assert "not for your role" in answer.text
    assert "set-cookie" not in answer.headers
    # A picker's API token carried as a cookie does not open pages either.
    page = await client.get("/console/", headers=as_cookie(picker.token))
    assert page.status_code == 403
    assert "supervisor" in page.text


async def test_signing_out_revokes_the_session_and_clears_the_cookie(
    client, live_server, make_user
):
    user = await make_user(["admin"])
    token = token_of(
        session_cookie(
            await sign_in(client, live_server, username=user.username, password=user.password)
        )
    )
    out = await client.post("/console/logout", headers={**as_cookie(token), **origin(live_server)})
    assert out.status_code == 302 and out.headers["location"] == "/console/login"
    assert re.search(r'lotline_console="?"?;', session_cookie(out))
    again = await client.get("/console/", headers=as_cookie(token))
    assert again.status_code == 302
    api = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


async def test_the_dashboard_shows_held_lots_expiring_lots_tasks_and_exceptions(
    client, site, supervisor
):
    page = await client.get("/console/", headers=as_cookie(supervisor))
    assert page.status_code == 200
    held = section(page.text, "held")
    assert "HELD1" in held and "Lab check" in held and ">7<" in held
    assert "SOON1" not in held
    expiring = section(page.text, "expiring")
    within = {
        window: expiring.split(f'id="expiring-{window}"')[1].split("<h3")[0]
        for window in (7, 30, 90)
    }
    assert "SOON1" in within[7] and ">11<" in within[7] and "CON" in within[7]
    assert "LATER1" in within[90] and ">13<" in within[90]
    assert "LATER1" not in within[7] + within[30]
    assert "HELD1" not in expiring
    assert "Open scan exceptions" in section(page.text, "waiting")
    assert "Unassigned" in section(page.text, "pick-tasks")


def section(html: str, panel: str) -> str:
    return html.split(f'id="{panel}"')[1].split("</section>")[0]


async def test_the_dashboard_narrowed_to_a_warehouse_shows_only_its_lots_and_units(
    client, site, supervisor, admin_client
):
    """A second warehouse holding part of the held lot and a lot of its own expiring soon:
    each warehouse's dashboard shows its own units; every warehouse's shows both."""
    await ok(admin_client.post("/api/warehouses", json={"code": "CON2", "name": "Second"}))
    await ok(admin_client.post("/api/locations", json={"warehouse": "CON2", "code": "S-01"}))
    await ok(
        admin_client.post(
            "/api/moves",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "lotId": site["HELD1"],
                "from": "CON/C-01",
                "to": "CON2/S-01",
                "quantity": 3,
            },
        )
    )
    await ok(
        receive(
            admin_client,
            sku="OATS",
            lotCode="SOON2",
            quantity=5,
            location="CON2/S-01",
            expiry=(date.today() + timedelta(days=3)).isoformat(),
        )
    )
    second = await client.get(
        "/console/", params={"warehouse": "CON2"}, headers=as_cookie(supervisor)
    )
    assert second.status_code == 200
    assert "<h1>Dashboard: CON2</h1>" in second.text
    held = section(second.text, "held")
    assert "HELD1" in held and "Units in CON2" in held and ">3<" in held
    expiring = section(second.text, "expiring")
    assert "SOON2" in expiring and "SOON1" not in expiring
    assert 'data-warehouse="CON2"' in second.text
    first = await client.get(
        "/console/", params={"warehouse": "CON"}, headers=as_cookie(supervisor)
    )
    held = section(first.text, "held")
    assert "HELD1" in held and ">4<" in held
    assert "SOON1" in section(first.text, "expiring") and "SOON2" not in first.text
    every = await client.get("/console/", headers=as_cookie(supervisor))
    assert ">7<" in section(every.text, "held")  # the lot's units in every warehouse
    assert "SOON1" in every.text and "SOON2" in every.text


@pytest.mark.parametrize("warehouse", ["NOWHERE", "x" * 40, "CON\x00"])
async def test_a_dashboard_of_an_unknown_warehouse_is_a_400_page_showing_every_warehouse(
    client, site, supervisor, warehouse
):
    page = await client.get(
        "/console/", params={"warehouse": warehouse}, headers=as_cookie(supervisor)
    )
    assert page.status_code == 400
    assert 'role="alert"' in page.text and "No warehouse" in page.text
    assert "HELD1" in section(page.text, "held")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"(01){OATS_GTIN}(10)SOON1", {"SOON1"}),
        (f"{OATS_GTIN} LATER1", {"LATER1"}),
        ("FARM-HELD1", {"HELD1"}),
        ("SOON1", {"SOON1"}),
    ],
)
async def test_search_finds_a_lot_by_barcode_gtin_and_lot_supplier_lot_or_code(
    client, site, supervisor, query, expected
):
    page = await client.get("/console/search", params={"q": query}, headers=as_cookie(supervisor))
    assert page.status_code == 200
    found = set(re.findall(r'href="/console/lots/\d+">([A-Z0-9]+)<', page.text))
    assert found == expected


async def test_search_finds_products_by_sku_and_gtin_and_locations_by_code(
    client, site, supervisor
):
    for query in ("OATS", OATS_GTIN):
        page = await client.get(
            "/console/search", params={"q": query}, headers=as_cookie(supervisor)
        )
        assert re.search(r'href="/console/products/\d+">OATS<', page.text), query
    bin_page = await client.get(
        "/console/search", params={"q": "CON/C-01"}, headers=as_cookie(supervisor)
    )
    assert "CON/C-01" in bin_page.text and "SOON1" in bin_page.text


@pytest.mark.parametrize(
    "query", ["nothing-like-this", "'; DROP TABLE lot; --", "%", "\u00e9\u4e2d"]
)
async def test_search_for_unknown_or_odd_text_says_nothing_matches(client, site, supervisor, query):
    page = await client.get("/console/search", params={"q": query}, headers=as_cookie(supervisor))
    assert page.status_code == 200
    assert 'id="no-results"' in page.text


@pytest.mark.parametrize("query", ["x" * 201, "LOT\x00"])
async def test_search_refuses_an_overlong_or_nul_query_with_a_400_page(client, supervisor, query):
    page = await client.get("/console/search", params={"q": query}, headers=as_cookie(supervisor))
    assert page.status_code == 400
    assert "200 characters" in page.text


async def test_the_lot_page_lists_movements_and_scans_newest_first_in_pages(
    client, admin_client, site, supervisor, db: asyncpg.Connection
):
    lot = site["SOON1"]
    expiry = (date.today() + timedelta(days=5)).strftime("%y%m%d")
    scanned = await ok(
        admin_client.post("/api/scans", json=scan_body(gs1(OATS_GTIN, "SOON1", expiry=expiry)))
    )
    assert scanned["lot"]["id"] == lot
    for _ in range(3):
        await ok(
            admin_client.post(
                "/api/moves",
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "lotId": lot,
                    "from": "CON/C-01",
                    "to": "CON/C-02",
                    "quantity": 1,
                },
            )
        )
    page = await client.get(f"/console/lots/{lot}", headers=as_cookie(supervisor))
    assert page.status_code == 200
    assert "CON/C-02" in section(page.text, "stock-heading")
    rows = re.findall(
        r'<tr class="(movement|scan)"><td class="date"><time datetime="([^"]+)"', page.text
    )
    kinds = [kind for kind, _ in rows]
    assert kinds.count("movement") == 4 and kinds.count("scan") == 1
    stamps = [at for _, at in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert "move" in page.text.split('id="timeline"')[1].split("</tr>")[1]

    count = await db.fetchval("SELECT count(*) FROM movement WHERE lot_id = $1", lot)
    assert count == 4
    second = await client.get(f"/console/lots/{lot}?page=2", headers=as_cookie(supervisor))
    assert second.status_code == 200 and "Nothing on this page" in second.text
    for odd in ("0", "-1", "abc", "9" * 30):
        first = await client.get(f"/console/lots/{lot}?page={odd}", headers=as_cookie(supervisor))
        assert first.status_code == 200 and first.text.count('<tr class="movement">') == 4


@pytest.mark.parametrize(
    "path",
    [
        "/console/lots/999999999",
        "/console/lots/abc",
        "/console/lots/" + "9" * 40,
        "/console/products/0",
        "/console/products/x",
    ],
)
async def test_unknown_lots_and_products_are_a_404_page(client, supervisor, path):
    page = await client.get(path, headers=as_cookie(supervisor))
    assert page.status_code == 404
    assert "<main" in page.text


async def test_the_product_page_lists_its_lots(client, site, supervisor):
    page = await client.get("/console/search", params={"q": "OATS"}, headers=as_cookie(supervisor))
    product = re.search(r'href="(/console/products/\d+)"', page.text)
    assert product is not None
    lots = await client.get(product.group(1), headers=as_cookie(supervisor))
    assert {"HELD1", "SOON1", "LATER1"} <= set(re.findall(r">([A-Z]+1)</a>", lots.text))


async def hello_with(server: LiveServer, token: str) -> dict[str, Any]:
    """The live channel's first answer to a hello carrying `token`."""
    socket = await connect(server.url.replace("http://", "ws://") + "/ws", open_timeout=10)
    async with socket:
        await socket.send(
            json.dumps({"type": "hello", "token": token, "deviceId": "console", "warehouse": "CON"})
        )
        answer: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 10))
    return answer


async def test_a_live_ticket_opens_the_live_channel_only_and_for_a_minute(
    client, live_server, supervisor, site, db: asyncpg.Connection
):
    answer = await client.post(
        "/console/live-ticket", headers={**as_cookie(supervisor), **origin(live_server)}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["ticket"] != supervisor and "CON" in body["warehouses"]
    lifetime = await db.fetchval(
        "SELECT extract(epoch FROM expires_at - now()) FROM live_ticket WHERE ticket_hash = $1",
        hash_token(body["ticket"]),
    )
    assert 0 < lifetime <= 60
    welcome = await hello_with(live_server, body["ticket"])
    assert welcome["type"] == "welcome" and welcome["warehouse"] == "CON"
    # One ticket opens a socket per warehouse within its minute.
    assert (await hello_with(live_server, body["ticket"]))["type"] == "welcome"
    # It is no bearer token: the API refuses it.
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['ticket']}"})
    assert me.status_code == 401
    # Once expired it opens nothing, and the next ticket issued deletes it.
    await db.execute(
        "UPDATE live_ticket SET expires_at = now() - interval '1 second' WHERE ticket_hash = $1",
        hash_token(body["ticket"]),
    )
    refused = await hello_with(live_server, body["ticket"])
    assert refused["type"] == "error" and refused["code"] == "unauthenticated"
    again = await client.post(
        "/console/live-ticket", headers={**as_cookie(supervisor), **origin(live_server)}
    )
    assert again.status_code == 200
    assert not await db.fetchval(
        "SELECT count(*) FROM live_ticket WHERE ticket_hash = $1", hash_token(body["ticket"])
    )
    nobody = await client.post("/console/live-ticket", headers=origin(live_server))
    assert nobody.status_code == 302


async def test_the_timeline_pages_hold_fifty_entries_each_without_gaps_or_overlap(
    client, admin_client, site, supervisor
):
    lot = site["LATER1"]
    for n in range(52):
        ends = ("CON/C-01", "CON/C-02") if n % 2 == 0 else ("CON/C-02", "CON/C-01")
        await ok(
            admin_client.post(
                "/api/moves",
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "lotId": lot,
                    "from": ends[0],
                    "to": ends[1],
                    "quantity": 1,
                },
            )
        )
    pages = []
    for page in (1, 2):
        answer = await client.get(f"/console/lots/{lot}?page={page}", headers=as_cookie(supervisor))
        pages.append(answer.text)
    first = re.findall(r'<tr class="movement"><td class="date"><time datetime="([^"]+)"', pages[0])
    second = re.findall(r'<tr class="movement"><td class="date"><time datetime="([^"]+)"', pages[1])
    assert (len(first), len(second)) == (50, 3)  # 52 moves and the receipt
    assert min(first) >= max(second)
    assert 'rel="next"' in pages[0] and 'rel="next"' not in pages[1]
    assert 'rel="prev"' in pages[1]
    assert "movement: receipt" in pages[1].split('id="timeline"')[1].split("</tr>")[-2]


async def test_search_finds_an_order_and_a_serial_and_the_dashboard_counts_open_tasks(
    client, admin_client, site, supervisor
):
    await ok(
        admin_client.post(
            "/api/channels", json={"code": "shop", "name": "Shop", "kind": "own_shop"}
        )
    )
    order = await ok(
        admin_client.post(
            "/api/orders",
            json={
                "channel": "shop",
                "externalId": "SHOP-9001",
                "customer": {"ref": "C1", "name": "Ada"},
                "lines": [{"sku": "OATS", "quantity": 2}],
                "warehouse": "CON",
            },
        )
    )
    await ok(admin_client.post("/api/waves", json={"orderIds": [order["id"]]}))
    found = await client.get(
        "/console/search", params={"q": "SHOP-9001"}, headers=as_cookie(supervisor)
    )
    orders = found.text.split('id="orders-heading"')[1].split("</section>")[0]
    assert "SHOP-9001" in orders and "CON" in orders
    assert set(re.findall(r'href="/console/lots/\d+">([A-Z0-9]+)<', orders)) == {"SOON1"}
    board = await client.get("/console/", headers=as_cookie(supervisor))
    tasks = section(board.text, "pick-tasks")
    assert re.search(r"<dt>Unassigned</dt><dd>1</dd>", tasks), tasks

    await ok(
        admin_client.post(
            "/api/products", json={"sku": "PHONE", "name": "Phone", "tracking": "serial"}
        )
    )
    phone = await ok(
        receive(
            admin_client,
            sku="PHONE",
            lotCode="PH1",
            quantity=2,
            location="CON/C-02",
            serials=["SN-CON-1", "SN-CON-2"],
        )
    )
    by_serial = await client.get(
        "/console/search", params={"q": "SN-CON-2"}, headers=as_cookie(supervisor)
    )
    assert re.findall(r'href="/console/lots/(\d+)">', by_serial.text) == [str(phone["lot"]["id"])]


def waiting(html: str, label: str) -> int:
    found = re.search(rf"<dt>{label}</dt><dd>(\d+)</dd>", section(html, "waiting"))
    assert found is not None, label
    return int(found.group(1))


async def test_an_offline_scan_refused_shows_as_one_more_exception_waiting(
    client, admin_client, supervisor
):
    before = await client.get("/console/", headers=as_cookie(supervisor))
    refused = await ok(
        admin_client.post(
            "/api/scans",
            json=scan_body("NOT-A-KNOWN-BARCODE", offline=True, queuedAt="2026-11-23T10:15:01Z"),
        )
    )
    assert refused["verdict"] == "rejected"
    after = await client.get("/console/", headers=as_cookie(supervisor))
    label = "Open scan exceptions"
    assert waiting(after.text, label) == waiting(before.text, label) + 1
    assert waiting(after.text, "Open return alerts") == waiting(before.text, "Open return alerts")
