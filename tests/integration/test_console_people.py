"""The console's users, badges and devices over HTTP against the real server: creating and
changing users through the same service as the API, badge labels, revoking a lost handheld,
bad forms re-shown with nothing changed, roles and foreign-origin posts refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import assert_problem
from tests.integration.console_frames import as_cookie, console_session, origin


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client per test: no cookie jar carried over from another test's sign-in."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
async def admin_session(live_server: LiveServer, make_user: MakeUser) -> str:
    return await console_session(live_server, make_user, ["admin"])


@pytest.fixture(scope="module")
async def supervisor_session(live_server: LiveServer, make_user: MakeUser) -> str:
    return await console_session(live_server, make_user, ["supervisor"])


def headers(live_server: LiveServer, session: str) -> dict[str, str]:
    """A form post's headers: the session cookie and the console's own Origin."""
    return {**as_cookie(session), **origin(live_server)}


async def user_named(admin_client: httpx.AsyncClient, username: str) -> dict[str, Any] | None:
    users = (await admin_client.get("/api/users")).json()
    return next((user for user in users if user["username"] == username), None)


def new_name() -> str:
    return f"p{uuid.uuid4().hex[:10]}"


async def test_an_admin_creates_a_user_who_then_signs_in_by_badge(
    client, live_server, admin_session, admin_client
):
    name = new_name()
    form = {
        "username": name,
        "displayName": "Nia Okafor",
        "roles": ["receiver", "counter"],
        "password": "first-pass",
        "badge": f"BADGE-{name.upper()}",
        "pin": "8642",
    }
    created = await client.post(
        "/console/users", data=form, headers=headers(live_server, admin_session)
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"].startswith("/console/users/")
    user = await user_named(admin_client, name)
    assert user is not None
    assert (user["displayName"], user["roles"], user["badge"]) == (
        "Nia Okafor",
        ["counter", "receiver"],
        f"BADGE-{name.upper()}",
    )
    shown = await client.get(created.headers["location"], headers=as_cookie(admin_session))
    assert shown.status_code == 200
    assert "User created." in shown.text
    assert f'href="/console/users/{user["id"]}/badge.pdf"' in shown.text
    signed_in = await client.post(
        "/api/auth/login", json={"badge": f"BADGE-{name.upper()}", "pin": "8642"}
    )
    assert signed_in.status_code == 200, signed_in.text


async def test_the_users_page_lists_roles_badge_active_and_last_device(
    client, live_server, admin_session, make_user
):
    user = await make_user(["picker"], badge=f"BADGE-{uuid.uuid4().hex[:8]}", pin="1234")
    await client.post(
        "/api/auth/login",
        json={
            "username": user.username,
            "password": user.password,
            "deviceId": "TC52-LIST",
            "deviceName": "Dock scanner 3",
        },
    )
    listed = await client.get("/console/users", headers=as_cookie(admin_session))
    assert listed.status_code == 200
    row = next(line for line in listed.text.split("<tr>") if f">{user.username}<" in line)
    assert "picker" in row and ">set<" in row and ">yes<" in row and "Dock scanner 3" in row


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"roles": ["janitor"]}, 422, "No such role: janitor"),
        ({"roles": []}, 400, "Choose at least one role"),
        ({"pin": "12ab"}, 400, "PIN: 4 to 12 digits"),
        ({"badge": "BADGE-SOLO"}, 422, "A badge and its PIN are set together"),
        ({"username": "Bad Name!"}, 400, "Username: lower-case letters"),
        ({"password": "abc"}, 400, "Password: 4 to 200 characters"),
    ],
)
async def test_a_bad_new_user_form_is_shown_again_with_an_alert_and_nobody_is_created(
    client, live_server, admin_session, admin_client, change, status, message
):
    name = new_name()
    form = {"username": name, "roles": ["picker"], "password": "good-pass", **change}
    refused = await client.post(
        "/console/users", data=form, headers=headers(live_server, admin_session)
    )
    assert refused.status_code == status, refused.text
    assert 'role="alert"' in refused.text and message in refused.text
    assert await user_named(admin_client, form["username"]) is None


@pytest.mark.parametrize(
    "form",
    [
        {"password": "p" * 201},
        {"badge": "B" * 81},
        {"displayName": "bad\x00name"},
        {"roles": ["picker"] * 8},
    ],
)
async def test_an_overlong_or_nul_field_is_a_400_page_and_nobody_is_created(
    client, live_server, admin_session, admin_client, form
):
    name = new_name()
    refused = await client.post(
        "/console/users",
        data={"username": name, "roles": ["picker"], "password": "pass1", **form},
        headers=headers(live_server, admin_session),
    )
    assert refused.status_code == 400, refused.text
    assert await user_named(admin_client, name) is None


async def test_a_taken_badge_or_username_is_a_409_page(
    client, live_server, admin_session, admin_client, make_user
):
    holder = await make_user(["picker"], badge="BADGE-HELD-1", pin="1234")
    name = new_name()
    for form in (
        {
            "username": name,
            "roles": "picker",
            "password": "pass1",
            "badge": "BADGE-HELD-1",
            "pin": "4321",
        },
        {"username": holder.username, "roles": "picker", "password": "pass1"},
    ):
        refused = await client.post(
            "/console/users", data=form, headers=headers(live_server, admin_session)
        )
        assert refused.status_code == 409, refused.text
        assert 'role="alert"' in refused.text
    assert await user_named(admin_client, name) is None


async def test_an_admin_changes_a_user_through_the_edit_form(
    client, live_server, admin_session, admin_client, make_user
):
    user = await make_user(["picker"])
    page = await client.get(f"/console/users/{user.id}", headers=as_cookie(admin_session))
    assert page.status_code == 200 and "No badge yet" in page.text
    saved = await client.post(
        f"/console/users/{user.id}",
        data={
            "displayName": "Pat Renamed",
            "roles": ["packer"],
            "active": "yes",
            "badge": f"BADGE-{user.username.upper()}",
            "pin": "5555",
            "password": "",
        },
        headers=headers(live_server, admin_session),
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/console/users/{user.id}?saved=1"
    after = await user_named(admin_client, user.username)
    assert after is not None
    assert (after["displayName"], after["roles"], after["active"]) == (
        "Pat Renamed",
        ["packer"],
        True,
    )
    # A blank password keeps the old one.
    old = await client.post(
        "/api/auth/login", json={"username": user.username, "password": user.password}
    )
    assert old.status_code == 200
    by_badge = await client.post(
        "/api/auth/login", json={"badge": f"BADGE-{user.username.upper()}", "pin": "5555"}
    )
    assert by_badge.status_code == 200


async def test_unticking_active_ends_the_users_console_and_handheld_sessions(
    client, live_server, admin_session, make_user
):
    user = await make_user(["supervisor"])
    async with httpx.AsyncClient(base_url=live_server.url) as other:
        signed_in = await other.post(
            "/console/login",
            data={"username": user.username, "password": user.password},
            headers=origin(live_server),
        )
    cookie = signed_in.cookies.get("lotline_console") or ""
    assert (await client.get("/console/", headers=as_cookie(cookie))).status_code == 200

    off = await client.post(
        f"/console/users/{user.id}",
        data={"displayName": user.username, "roles": ["supervisor"]},
        headers=headers(live_server, admin_session),
    )
    assert off.status_code == 303, off.text
    assert_problem(await client.get("/api/auth/me", headers=user.headers), 401, "unauthenticated")
    page = await client.get("/console/", headers=as_cookie(cookie))
    assert page.status_code in (302, 303) and "/console/login" in page.headers["location"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"roles": ["janitor"]}, 422, "No such role: janitor"),
        ({"roles": []}, 400, "Choose at least one role"),
        ({"pin": "99"}, 400, "PIN: 4 to 12 digits"),
        ({"badge": "BADGE-HELD-2"}, 409, "That badge is taken"),
        ({"displayName": ""}, 400, "Display name: 1 to 200 characters"),
    ],
)
async def test_a_bad_edit_is_shown_again_with_an_alert_and_changes_nothing(
    client, live_server, admin_session, admin_client, make_user, change, status, message
):
    if not await user_named(admin_client, "badge-two"):
        await make_user(["picker"], username="badge-two", badge="BADGE-HELD-2", pin="1234")
    user = await make_user(["receiver"], badge=f"BADGE-{uuid.uuid4().hex[:8]}", pin="1234")
    before = await user_named(admin_client, user.username)
    form = {"displayName": "Changed", "roles": ["picker"], "active": "yes", **change}
    refused = await client.post(
        f"/console/users/{user.id}", data=form, headers=headers(live_server, admin_session)
    )
    assert refused.status_code == status, refused.text
    assert 'role="alert"' in refused.text and message in refused.text
    assert await user_named(admin_client, user.username) == before


async def test_the_last_active_admin_cannot_untick_their_own_admin_role(
    client, live_server, make_user, admin_client, db
):
    admin = await make_user(["admin"])
    others = await db.fetch(
        """SELECT u.id FROM app_user u JOIN user_role r ON r.user_id = u.id
            WHERE r.role = 'admin' AND u.active AND u.id <> $1""",
        admin.id,
    )
    async with httpx.AsyncClient(base_url=live_server.url) as sign:
        signed_in = await sign.post(
            "/console/login",
            data={"username": admin.username, "password": admin.password},
            headers=origin(live_server),
        )
    cookie = signed_in.cookies.get("lotline_console") or ""
    await db.execute(
        "UPDATE app_user SET active = false WHERE id = ANY($1::bigint[])",
        [row["id"] for row in others],
    )
    try:
        refused = await client.post(
            f"/console/users/{admin.id}",
            data={"displayName": admin.username, "roles": ["supervisor"], "active": "yes"},
            headers=headers(live_server, cookie),
        )
        assert refused.status_code == 409, refused.text
        assert "last active admin" in refused.text and 'role="alert"' in refused.text
        roles = await db.fetchval(
            "SELECT array_agg(role) FROM user_role WHERE user_id = $1", admin.id
        )
        assert roles == ["admin"]
    finally:
        await db.execute(
            "UPDATE app_user SET active = true WHERE id = ANY($1::bigint[])",
            [row["id"] for row in others],
        )


async def test_an_unknown_user_is_a_404_page(client, live_server, admin_session):
    for path in ("/console/users/987654321", "/console/users/x1", "/console/users/" + "9" * 19):
        assert (await client.get(path, headers=as_cookie(admin_session))).status_code == 404
    post = await client.post(
        "/console/users/987654321",
        data={"displayName": "Ghost", "roles": ["picker"]},
        headers=headers(live_server, admin_session),
    )
    assert post.status_code == 404


@pytest.mark.parametrize("form", ["pdf", "svg", "zpl"])
async def test_a_badge_label_downloads_in_each_format(client, admin_session, make_user, form):
    badge = f"BADGE-{uuid.uuid4().hex[:6].upper()}"
    user = await make_user(["picker"], badge=badge, pin="1234")
    label = await client.get(
        f"/console/users/{user.id}/badge.{form}", headers=as_cookie(admin_session)
    )
    assert label.status_code == 200, label.text
    assert f'filename="badge-{user.username}.{form}"' in label.headers["content-disposition"]
    expected = {"pdf": b"%PDF", "svg": b"<svg", "zpl": b"^XA"}[form]
    assert expected in label.content[:200]
    if form != "pdf":
        assert badge.encode() in label.content


async def test_a_badge_label_for_someone_without_a_badge_is_a_409_page(
    client, admin_session, make_user
):
    user = await make_user(["picker"])
    label = await client.get(
        f"/console/users/{user.id}/badge.pdf", headers=as_cookie(admin_session)
    )
    assert label.status_code == 409
    assert "has no badge to print" in label.text
    for path in (f"/console/users/{user.id}/badge.png", "/console/users/987654321/badge.pdf"):
        assert (await client.get(path, headers=as_cookie(admin_session))).status_code == 404


async def test_users_pages_are_for_admins_only(client, live_server, supervisor_session, make_user):
    user = await make_user(["picker"])
    for path in (
        "/console/users",
        f"/console/users/{user.id}",
        f"/console/users/{user.id}/badge.pdf",
    ):
        page = await client.get(path, headers=as_cookie(supervisor_session))
        assert page.status_code == 403, path
    refused = await client.post(
        f"/console/users/{user.id}",
        data={"displayName": "Hijack", "roles": ["admin"], "active": "yes"},
        headers=headers(live_server, supervisor_session),
    )
    assert refused.status_code == 403
    created = await client.post(
        "/console/users",
        data={"username": "by-supervisor", "roles": ["admin"], "password": "pass1"},
        headers=headers(live_server, supervisor_session),
    )
    assert created.status_code == 403
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.json()["roles"] == ["picker"]


async def test_foreign_origin_posts_change_nothing(
    client, live_server, admin_session, admin_client, make_user
):
    user = await make_user(["picker"])
    device = await handheld(client, admin_client, make_user, f"TC52-{uuid.uuid4().hex[:6]}")
    evil = {**as_cookie(admin_session), "Origin": "https://evil.example"}
    posts = [
        ("/console/users", {"username": "evil-made", "roles": ["admin"], "password": "pass1"}),
        (f"/console/users/{user.id}", {"displayName": "Evil", "roles": ["admin"]}),
        (f"/console/devices/{device['id']}/revoke", {"confirm": "yes"}),
    ]
    for path, form in posts:
        refused = await client.post(path, data=form, headers=evil)
        assert refused.status_code == 403, path
        bare = await client.post(path, data=form, headers=as_cookie(admin_session))
        assert bare.status_code == 403, path
    assert await user_named(admin_client, "evil-made") is None
    assert (await user_named(admin_client, user.username) or {})["roles"] == ["picker"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {device['token']}"})
    assert me.status_code == 200


async def handheld(
    client: httpx.AsyncClient, admin_client: httpx.AsyncClient, make_user: MakeUser, key: str
) -> dict[str, Any]:
    """A picker signed in on the handheld `key`: the device's id and the picker's token."""
    picker = await make_user(["picker"])
    signed_in = await client.post(
        "/api/auth/login",
        json={
            "username": picker.username,
            "password": picker.password,
            "deviceId": key,
            "deviceName": f"Scanner {key}",
        },
    )
    assert signed_in.status_code == 200, signed_in.text
    devices = (await admin_client.get("/api/devices")).json()
    device_id = next(d["id"] for d in devices if d["deviceId"] == key)
    return {"id": device_id, "token": signed_in.json()["token"], "username": picker.username}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_supervisor_revokes_a_lost_handheld_and_its_session_is_refused(
    client, live_server, supervisor_session, admin_client, make_user
):
    device = await handheld(client, admin_client, make_user, "TC52-LOST-1")
    assert (await client.get("/api/auth/me", headers=bearer(device["token"]))).status_code == 200
    listed = await client.get("/console/devices", headers=as_cookie(supervisor_session))
    assert listed.status_code == 200
    row = next(line for line in listed.text.split("<tr>") if "TC52-LOST-1" in line)
    assert "Scanner TC52-LOST-1" in row and device["username"] in row
    assert f'action="/console/devices/{device["id"]}/revoke"' in row

    revoked = await client.post(
        f"/console/devices/{device['id']}/revoke",
        data={"confirm": "yes"},
        headers=headers(live_server, supervisor_session),
    )
    assert revoked.status_code == 303, revoked.text
    assert revoked.headers["location"] == f"/console/devices?revoked={device['id']}"
    me = await client.get("/api/auth/me", headers=bearer(device["token"]))
    assert_problem(me, 401, "unauthenticated")
    again = await client.post(
        "/api/auth/login",
        json={
            "username": device["username"],
            "password": "test-password",
            "deviceId": "TC52-LOST-1",
        },
    )
    assert_problem(again, 403, "device_revoked")
    shown = await client.get(revoked.headers["location"], headers=as_cookie(supervisor_session))
    assert "Scanner TC52-LOST-1 is revoked" in shown.text
    row = next(line for line in shown.text.split("<tr>") if "TC52-LOST-1" in line)
    assert "/revoke" not in row

    twice = await client.post(
        f"/console/devices/{device['id']}/revoke",
        data={"confirm": "yes"},
        headers=headers(live_server, supervisor_session),
    )
    assert twice.status_code == 303
    [after] = [
        d for d in (await admin_client.get("/api/devices")).json() if d["id"] == device["id"]
    ]
    assert after["revokedAt"] is not None


async def test_revoking_without_the_confirm_box_changes_nothing(
    client, live_server, supervisor_session, admin_client, make_user
):
    device = await handheld(client, admin_client, make_user, "TC52-KEPT-1")
    for form in ({}, {"confirm": "no"}):
        refused = await client.post(
            f"/console/devices/{device['id']}/revoke",
            data=form,
            headers=headers(live_server, supervisor_session),
        )
        assert refused.status_code == 400, refused.text
        assert 'role="alert"' in refused.text and "Tick the box" in refused.text
    assert (await client.get("/api/auth/me", headers=bearer(device["token"]))).status_code == 200


async def test_revoking_an_unknown_device_is_a_404_page(client, live_server, supervisor_session):
    for device_id in ("987654321", "x", "9" * 19):
        missing = await client.post(
            f"/console/devices/{device_id}/revoke",
            data={"confirm": "yes"},
            headers=headers(live_server, supervisor_session),
        )
        assert missing.status_code == 404, device_id


async def test_devices_are_for_supervisors_and_admins_only(
    client, live_server, admin_session, admin_client, make_user
):
    assert (
        await client.get("/console/devices", headers=as_cookie(admin_session))
    ).status_code == 200
    device = await handheld(client, admin_client, make_user, "TC52-RECV-1")
    receiver = await console_session(live_server, make_user, ["receiver"])
    assert (await client.get("/console/devices", headers=as_cookie(receiver))).status_code == 403
    refused = await client.post(
        f"/console/devices/{device['id']}/revoke",
        data={"confirm": "yes"},
        headers=headers(live_server, receiver),
    )
    assert refused.status_code == 403
    assert (await client.get("/api/auth/me", headers=bearer(device["token"]))).status_code == 200
