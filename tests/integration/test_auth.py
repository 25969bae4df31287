"""Sign-in, tokens, devices and the role guard on every route of the app."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from litestar.routes import HTTPRoute

from backend.app import create_app
from backend.auth.service import ROLES
from tests.integration.arrange import assert_problem

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
