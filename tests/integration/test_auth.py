"""Sign-in, tokens, devices and the role guard on every route of the app."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from litestar.routes import HTTPRoute

from backend.app import create_app
from backend.auth.service import ROLES
from tests.integration.arrange import assert_problem, ok

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def app_operations() -> Iterator[tuple[str, str, frozenset[str] | None, bool]]:
    """(method, concrete path, roles allowed or None, public) for every API operation."""
    for route in create_app().routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
        path = re.sub(r"\{[^}:]+(:str)?\}", "x", path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                yield (
                    method,
                    path,
                    handler.opt.get("roles"),
                    bool(handler.opt.get("exclude_from_auth")),
                )


OPERATIONS = sorted(app_operations(), key=lambda op: (op[1], op[0]))
PROTECTED = [(method, path) for method, path, _, public in OPERATIONS if not public]
GUARDED_WRITES = [
    (method, path, roles)
    for method, path, roles, public in OPERATIONS
    if method in MUTATING and roles is not None
]


def test_every_write_declares_who_may_use_it():
    open_writes = {
        (method, path)
        for method, path, roles, public in OPERATIONS
        if method in MUTATING and roles is None and not public
    }
    # Signing out is every signed-in user's own business; any role reads barcodes, and a
    # scan's role rule depends on its context (the scanning service answers 403
    # scan_context_forbidden, tested in test_scans.py); a replay of queued scans checks each
    # scan the same way (test_offline.py).
    assert open_writes == {
        ("POST", "/api/auth/logout"),
        ("POST", "/api/barcodes/parse"),
        ("POST", "/api/scans"),
        ("POST", "/api/scans/replay"),
    }
    assert len(GUARDED_WRITES) >= 8


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_route_refuses_a_caller_without_a_token(client, method, path):
    response = await client.request(method, path, json={})
    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_route_refuses_an_unknown_token(client, method, path):
    response = await client.request(
        method, path, json={}, headers={"Authorization": "Bearer not-a-real-token"}
    )
    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(("method", "path", "roles"), GUARDED_WRITES)
async def test_every_write_refuses_roles_that_may_not_use_it(
    client, make_user_token, method, path, roles
):
    outsiders = [role for role in ROLES if role not in roles and role != "admin"]
    assert outsiders, f"{method} {path} is open to every role"
    token = await make_user_token(outsiders)
    response = await client.request(
        method, path, json={}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 403, "forbidden")


async def test_admins_pass_every_role_guard(admin_client):
    response = await admin_client.get("/api/users")
    assert response.status_code == 200


async def test_sign_in_by_password_returns_a_token_and_the_user(client, make_user):
    user = await make_user(["picker", "packer"], username="pat")
    response = await client.post(
        "/api/auth/login", json={"username": "pat", "password": user.password}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "pat"
    assert body["user"]["roles"] == ["packer", "picker"]
    assert body["expiresAt"] > "2026"
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["roles"] == ["packer", "picker"]


async def test_sign_in_by_badge_and_pin(client, make_user):
    await make_user(["picker"], username="bea", badge="BADGE-BEA", pin="4321")
    good = await client.post("/api/auth/login", json={"badge": "BADGE-BEA", "pin": "4321"})
    assert good.status_code == 200
    assert good.json()["user"]["username"] == "bea"
    bad = await client.post("/api/auth/login", json={"badge": "BADGE-BEA", "pin": "0000"})
    assert_problem(bad, 401, "invalid_credentials")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "nobody-here", "password": "demo"},
        {"username": "pat", "password": "wrong"},
        {"badge": "BADGE-NONE", "pin": "1234"},
    ],
)
async def test_wrong_credentials_are_refused_alike(client, body):
    assert_problem(await client.post("/api/auth/login", json=body), 401, "invalid_credentials")


async def test_sign_in_without_credentials_is_a_bad_request(client):
    response = await client.post("/api/auth/login", json={"username": "pat"})
    assert_problem(response, 400, "credentials_required")


async def test_secrets_are_stored_hashed_with_argon2(make_user, db):
    await make_user(["counter"], username="cora", password="s3cret-pass")
    stored = await db.fetchval("SELECT password_hash FROM app_user WHERE username = 'cora'")
    assert stored.startswith("$argon2id$")
    assert "s3cret-pass" not in stored


async def test_signing_out_revokes_the_token(client, make_user):
    user = await make_user(["picker"])
    assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 200
    assert_problem(await client.get("/api/lots", headers=user.headers), 401, "unauthenticated")


async def test_an_expired_token_is_refused(client, make_user, db):
    user = await make_user(["picker"])
    await db.execute(
        """UPDATE auth_token SET created_at = now() - interval '2 days',
                                 expires_at = now() - interval '1 second'
            WHERE user_id = $1""",
        user.id,
    )
    assert_problem(await client.get("/api/lots", headers=user.headers), 401, "unauthenticated")


async def test_revoking_a_lost_device_ends_its_sessions(client, make_user, admin_client):
    user = await make_user(["picker"], username="dev-user")
    login = await client.post(
        "/api/auth/login",
        json={"username": "dev-user", "password": user.password, "deviceId": "TC52-0042"},
    )
    token = login.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/lots", headers=headers)).status_code == 200

    devices = (await admin_client.get("/api/devices")).json()
    device = next(d for d in devices if d["deviceId"] == "TC52-0042")
    assert device["lastUser"] == "dev-user"
    revoked = await admin_client.post(f"/api/devices/{device['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revokedAt"] is not None

    assert_problem(await client.get("/api/lots", headers=headers), 401, "unauthenticated")
    again = await client.post(
        "/api/auth/login",
        json={"username": "dev-user", "password": user.password, "deviceId": "TC52-0042"},
    )
    assert_problem(again, 403, "device_revoked")


async def test_admins_create_users_with_known_roles_only(admin_client, client):
    created = await admin_client.post(
        "/api/users",
        json={
            "username": "newbie",
            "password": "pass1234",
            "roles": ["receiver"],
            "badge": "BADGE-NEWBIE",
            "pin": "2468",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == ["receiver"]
    login = await client.post("/api/auth/login", json={"badge": "BADGE-NEWBIE", "pin": "2468"})
    assert login.status_code == 200
    bad_role = await admin_client.post(
        "/api/users", json={"username": "x1", "password": "pass1234", "roles": ["janitor"]}
    )
    assert_problem(bad_role, 422, "unknown_role")
    taken = await admin_client.post(
        "/api/users", json={"username": "newbie", "password": "pass1234", "roles": ["picker"]}
    )
    assert_problem(taken, 409, "duplicate_username")


async def test_no_token_is_needed_for_health_and_the_schema(client):
    assert (await client.get("/health")).status_code == 200
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")


def test_the_route_walk_covers_the_whole_api():
    paths = {path for _, path in PROTECTED}
    assert {"/api/receipts", "/api/moves", "/api/lots", "/api/lots/1", "/api/users"} <= paths
    assert isinstance(httpx.AsyncClient, type)


async def test_admins_change_a_users_name_roles_badge_pin_and_password(admin_client, client):
    user = await make_user_via_api(admin_client, "cleo", ["picker"])
    changed = await admin_client.patch(
        f"/api/users/{user['id']}",
        json={
            "displayName": "Cleo P.",
            "roles": ["packer", "counter"],
            "badge": "BADGE-CLEO",
            "pin": "97531",
            "password": "new-pass-1",
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["displayName"], body["roles"], body["badge"], body["active"]) == (
        "Cleo P.",
        ["counter", "packer"],
        "BADGE-CLEO",
        True,
    )
    old = await client.post("/api/auth/login", json={"username": "cleo", "password": "pass1234"})
    assert_problem(old, 401, "invalid_credentials")
    by_password = await client.post(
        "/api/auth/login", json={"username": "cleo", "password": "new-pass-1"}
    )
    assert by_password.json()["user"]["roles"] == ["counter", "packer"]
    by_badge = await client.post("/api/auth/login", json={"badge": "BADGE-CLEO", "pin": "97531"})
    assert by_badge.status_code == 200, by_badge.text
    untouched = await admin_client.patch(f"/api/users/{user['id']}", json={})
    assert untouched.json() == body


async def make_user_via_api(
    admin_client: httpx.AsyncClient, username: str, roles: list[str], **extra: str
) -> dict[str, object]:
    created = await admin_client.post(
        "/api/users",
        json={"username": username, "password": "pass1234", "roles": roles, **extra},
    )
    assert created.status_code == 201, created.text
    body: dict[str, object] = created.json()
    return body


@pytest.fixture(scope="module")
async def badge_holder(make_user):
    """Someone holding the badge BADGE-TAKEN."""
    return await make_user(["picker"], badge="BADGE-TAKEN", pin="1111")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"roles": ["janitor"]}, 422, "unknown_role"),
        ({"roles": []}, 400, "invalid_request"),
        ({"badge": "BADGE-TAKEN", "pin": "1234"}, 409, "duplicate_badge"),
        ({"pin": "12a4"}, 400, "invalid_request"),
        ({"pin": "123"}, 400, "invalid_request"),
        ({"badge": "BADGE-NO-PIN"}, 422, "badge_needs_pin"),
        ({"password": "abc"}, 400, "invalid_request"),
        ({"active": "no"}, 400, "invalid_request"),
        ({"username": "renamed"}, 400, "invalid_request"),
    ],
)
async def test_updating_a_user_refuses_bad_input_and_changes_nothing(
    admin_client, make_user, badge_holder, body, status, code
):
    user = await make_user(["receiver"])
    refused = await admin_client.patch(f"/api/users/{user.id}", json=body)
    assert_problem(refused, status, code)
    [after] = [u for u in (await admin_client.get("/api/users")).json() if u["id"] == user.id]
    assert (after["roles"], after["badge"], after["active"]) == (["receiver"], None, True)


async def test_updating_an_unknown_user_is_not_found(admin_client):
    missing = await admin_client.patch("/api/users/987654321", json={"displayName": "Ghost"})
    assert_problem(missing, 404, "user_not_found")


async def test_only_admins_update_users(client, make_user):
    supervisor = await make_user(["supervisor"])
    target = await make_user(["picker"])
    refused = await client.patch(
        f"/api/users/{target.id}", json={"roles": ["admin"]}, headers=supervisor.headers
    )
    assert_problem(refused, 403, "forbidden")
    me = await client.get("/api/auth/me", headers=target.headers)
    assert me.json()["roles"] == ["picker"]


async def test_deactivating_a_user_ends_every_session_and_sign_in(admin_client, client, make_user):
    user = await make_user(["picker"], badge="BADGE-GONE", pin="2468")
    handheld = await client.post(
        "/api/auth/login",
        json={"badge": "BADGE-GONE", "pin": "2468", "deviceId": "TC52-GONE"},
    )
    tokens = [user.token, handheld.json()["token"]]
    for token in tokens:
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200

    off = await admin_client.patch(f"/api/users/{user.id}", json={"active": False})
    assert off.json()["active"] is False
    for token in tokens:
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(me, 401, "unauthenticated")
    again = await client.post("/api/auth/login", json={"badge": "BADGE-GONE", "pin": "2468"})
    assert_problem(again, 401, "invalid_credentials")

    await admin_client.patch(f"/api/users/{user.id}", json={"active": True})
    back = await client.post("/api/auth/login", json={"badge": "BADGE-GONE", "pin": "2468"})
    assert back.status_code == 200, back.text


@pytest.mark.parametrize("reset", [{"password": "a-new-secret"}, {"pin": "97531"}])
async def test_a_new_password_or_pin_ends_the_users_sessions_but_a_new_name_does_not(
    admin_client, client, make_user, reset
):
    badge = f"BADGE-{uuid.uuid4().hex[:8].upper()}"
    user = await make_user(["picker"], badge=badge, pin="2468")
    renamed = await admin_client.patch(f"/api/users/{user.id}", json={"displayName": "Renamed"})
    assert renamed.status_code == 200
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.status_code == 200, "a new name keeps the session"
    await ok(admin_client.patch(f"/api/users/{user.id}", json=reset))
    assert_problem(await client.get("/api/auth/me", headers=user.headers), 401, "unauthenticated")
    if "password" in reset:
        login = {"username": user.username, "password": reset["password"]}
    else:
        login = {"badge": badge, "pin": reset["pin"]}
    signed_in = await client.post("/api/auth/login", json=login)
    assert signed_in.status_code == 200, signed_in.text


async def test_a_role_change_applies_to_the_users_existing_token(admin_client, client, make_user):
    user = await make_user(["picker"])
    assert (await client.get("/api/auth/me", headers=user.headers)).json()["roles"] == ["picker"]
    await admin_client.patch(f"/api/users/{user.id}", json={"roles": ["counter"]})
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.json()["roles"] == ["counter"]


async def test_the_last_active_admin_can_neither_leave_nor_be_demoted(admin_client, make_user):
    me = (await admin_client.get("/api/auth/me")).json()
    other = await make_user(["admin"])
    others = [
        u
        for u in (await admin_client.get("/api/users")).json()
        if "admin" in u["roles"] and u["active"] and u["id"] != me["id"]
    ]
    assert other.id in [u["id"] for u in others]
    # With another admin, an admin may be demoted.
    demoted = await admin_client.patch(f"/api/users/{other.id}", json={"roles": ["supervisor"]})
    assert demoted.status_code == 200, demoted.text
    await admin_client.patch(f"/api/users/{other.id}", json={"roles": ["admin"]})
    try:
        for user in others:
            await ok(admin_client.patch(f"/api/users/{user['id']}", json={"active": False}))
        demote = await admin_client.patch(f"/api/users/{me['id']}", json={"roles": ["picker"]})
        assert_problem(demote, 409, "last_admin")
        leave = await admin_client.patch(f"/api/users/{me['id']}", json={"active": False})
        assert_problem(leave, 409, "last_admin")
        still = await admin_client.get("/api/auth/me")
        assert still.json()["roles"] == ["admin"]
    finally:
        for user in others:
            await ok(admin_client.patch(f"/api/users/{user['id']}", json={"active": True}))
