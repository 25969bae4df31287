"""Sign-in, tokens, users and devices."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import asyncpg

from backend.auth.passwords import hash_secret, hash_token, new_token, verify_secret
from backend.auth.schemas import Actor, DeviceOut, LoginIn, LoginOut, UserIn, UserOut, UserPatch
from backend.db.reference_cache import ReferenceCache
from backend.errors import DomainError
from backend.settings import get_settings

__all__ = [
    "ROLES",
    "actor_for_token",
    "create_user",
    "list_devices",
    "list_users",
    "login",
    "revoke_device",
    "revoke_token",
    "update_user",
    "user_by_id",
]

ROLES = ("admin", "supervisor", "receiver", "picker", "packer", "counter", "returns")

_USER_COLUMNS = """
    u.id, u.username, u.display_name, u.badge, u.active, u.password_hash, u.pin_hash,
    coalesce((SELECT array_agg(r.role ORDER BY r.role) FROM user_role r WHERE r.user_id = u.id),
             '{}') AS roles
"""


def _user_out(row: asyncpg.Record) -> UserOut:
    return UserOut(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        roles=list(row["roles"]),
        badge=row["badge"],
        active=row["active"],
    )


async def create_user(
    conn: asyncpg.Connection,
    username: str,
    password: str,
    roles: list[str] | tuple[str, ...],
    *,
    display_name: str | None = None,
    badge: str | None = None,
    pin: str | None = None,
) -> int:
    """Create a user with hashed secrets and return its id."""
    _check_roles(roles)
    if (badge is None) != (pin is None):
        raise _badge_needs_pin()
    password_hash, pin_hash = await asyncio.gather(
        asyncio.to_thread(hash_secret, password),
        asyncio.to_thread(hash_secret, pin) if pin else asyncio.sleep(0, None),
    )
    async with conn.transaction():
        try:
            user_id: int = await conn.fetchval(
                """INSERT INTO app_user (username, display_name, password_hash, badge, pin_hash)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                username,
                display_name or username,
                password_hash,
                badge,
                pin_hash,
            )
        except asyncpg.UniqueViolationError as error:
            if "badge" in str(error.constraint_name):
                raise _badge_taken() from error
            raise DomainError("duplicate_username", "That username is taken.", 409) from error
        await conn.executemany(
            "INSERT INTO user_role (user_id, role) VALUES ($1, $2)",
            [(user_id, role) for role in sorted(set(roles))],
        )
    return user_id


def _check_roles(roles: list[str] | tuple[str, ...]) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise DomainError("unknown_role", f"No such role: {', '.join(unknown)}.")


def _badge_needs_pin() -> DomainError:
    return DomainError("badge_needs_pin", "A badge and its PIN are set together.")


def _badge_taken() -> DomainError:
    return DomainError("duplicate_badge", "That badge is taken.", 409)


async def add_user(conn: asyncpg.Connection, data: UserIn) -> UserOut:
    """Create a user from the API and return it."""
    user_id = await create_user(
        conn,
        data.username,
        data.password,
        data.roles,
        display_name=data.display_name,
        badge=data.badge,
        pin=data.pin,
    )
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.id = $1", user_id)
    return _user_out(row)


async def user_by_id(conn: asyncpg.Connection, user_id: int) -> UserOut:
    """One user with their roles; `user_not_found` (404) when there is none."""
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.id = $1", user_id)
    if row is None:
        raise DomainError("user_not_found", f"No user {user_id}.", 404)
    return _user_out(row)


async def update_user(conn: asyncpg.Connection, user_id: int, data: UserPatch) -> UserOut:
    """Change a user's name, roles, badge, PIN, password or whether they may sign in.

    Deactivating, or setting a new password or PIN, revokes every token of the user, so their
    handheld and console sessions end at once. The last active admin can neither be
    deactivated nor lose the admin role: no one could manage users after that.
    """
    if data.roles is not None:
        _check_roles(data.roles)
    password_hash, pin_hash = await asyncio.gather(
        asyncio.to_thread(hash_secret, data.password) if data.password else asyncio.sleep(0, None),
        asyncio.to_thread(hash_secret, data.pin) if data.pin else asyncio.sleep(0, None),
    )
    async with conn.transaction():
        # One user edit at a time, so two admins demoting each other cannot both pass the
        # last-admin check.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('lotline.user_edit'))")
        row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.id = $1", user_id
        )
        if row is None:
            raise DomainError("user_not_found", f"No user {user_id}.", 404)
        has_badge = (data.badge or row["badge"]) is not None
        if has_badge != ((pin_hash or row["pin_hash"]) is not None):
            raise _badge_needs_pin()
        stays_admin = (data.active is not False and row["active"]) and (
            "admin" in (data.roles if data.roles is not None else row["roles"])
        )
        if row["active"] and "admin" in row["roles"] and not stays_admin:
            others = await conn.fetchval(
                """SELECT count(*) FROM app_user u JOIN user_role r ON r.user_id = u.id
                    WHERE r.role = 'admin' AND u.active AND u.id <> $1""",
                user_id,
            )
            if others == 0:
                raise DomainError(
                    "last_admin",
                    "This is the last active admin: make another admin first.",
                    409,
                )
        try:
            await conn.execute(
                """UPDATE app_user
                      SET display_name = coalesce($2, display_name),
                          active = coalesce($3, active),
                          badge = coalesce($4, badge),
                          pin_hash = coalesce($5, pin_hash),
                          password_hash = coalesce($6, password_hash)
                    WHERE id = $1""",
                user_id,
                data.display_name,
                data.active,
                data.badge,
                pin_hash,
                password_hash,
            )
        except asyncpg.UniqueViolationError as error:
            raise _badge_taken() from error
        if data.roles is not None:
            await conn.execute("DELETE FROM user_role WHERE user_id = $1", user_id)
            await conn.executemany(
                "INSERT INTO user_role (user_id, role) VALUES ($1, $2)",
                [(user_id, role) for role in sorted(set(data.roles))],
            )
        if data.active is False or password_hash is not None or pin_hash is not None:
            # Deactivated, or a secret reset (lost or seen by someone else): every session
            # of the user ends, on every handheld and console.
            await conn.execute(
                """UPDATE auth_token SET revoked_at = now()
                    WHERE user_id = $1 AND revoked_at IS NULL""",
                user_id,
            )
        changed = await user_by_id(conn, user_id)
    if data.roles is not None or data.active is False or password_hash or pin_hash:
        # This worker's cached callers carry their roles and sessions: drop them so the change
        # applies now.
        _token_cache().forget(lambda actor: actor.user_id == user_id)
    return changed


async def list_users(conn: asyncpg.Connection) -> list[UserOut]:
    rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM app_user u ORDER BY u.username")
    return [_user_out(row) for row in rows]


async def login(conn: asyncpg.Connection, data: LoginIn, ttl: timedelta) -> LoginOut:
    """Check a username and password, or a badge and PIN, and issue a token."""
    if data.username is not None and data.password is not None:
        row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.username = $1", data.username
        )
        ok = await asyncio.to_thread(verify_secret, row and row["password_hash"], data.password)
    elif data.badge is not None and data.pin is not None:
        row = await conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.badge = $1", data.badge
        )
        ok = await asyncio.to_thread(verify_secret, row and row["pin_hash"], data.pin)
    else:
        raise DomainError(
            "credentials_required", "Send a username and password, or a badge and PIN.", 400
        )
    if not ok or row is None or not row["active"]:
        raise DomainError("invalid_credentials", "Wrong username, badge, password or PIN.", 401)

    token = new_token()
    expires_at = datetime.now(UTC) + ttl
    async with conn.transaction():
        device_id = None
        if data.device_id is not None:
            device = await conn.fetchrow(
                """INSERT INTO device (device_key, name, last_user_id, last_seen_at)
                   VALUES ($1, coalesce($2, ''), $3, now())
                   ON CONFLICT (device_key) DO UPDATE
                     SET last_user_id = EXCLUDED.last_user_id, last_seen_at = now(),
                         name = coalesce($2, device.name)
                   RETURNING id, revoked_at""",
                data.device_id,
                data.device_name,
                row["id"],
            )
            if device["revoked_at"] is not None:
                raise DomainError("device_revoked", "This device has been revoked.", 403)
            device_id = device["id"]
        await conn.execute(
            """INSERT INTO auth_token (token_hash, user_id, device_id, expires_at)
               VALUES ($1, $2, $3, $4)""",
            hash_token(token),
            row["id"],
            device_id,
            expires_at,
        )
    return LoginOut(token=token, expires_at=expires_at, user=_user_out(row))


async def actor_for_token(conn: asyncpg.Connection | asyncpg.Pool, token: str) -> Actor | None:
    """The caller behind a bearer token, or None when it is unknown, expired or revoked."""
    cached = _token_cache().get(token)
    if cached is not None:
        return cached
    row = await conn.fetchrow(
        """SELECT t.id AS token_id, t.device_id, t.expires_at, u.id AS user_id, u.username,
                  coalesce((SELECT array_agg(r.role) FROM user_role r WHERE r.user_id = u.id),
                           '{}') AS roles
             FROM auth_token t JOIN app_user u ON u.id = t.user_id
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
              AND u.active""",
        hash_token(token),
    )
    if row is None:
        return None
    actor = Actor(
        user_id=row["user_id"],
        username=row["username"],
        roles=frozenset(row["roles"]),
        token_id=row["token_id"],
        device_id=row["device_id"],
    )
    _token_cache().put(token, actor, (row["expires_at"] - datetime.now(UTC)).total_seconds())
    return actor


@lru_cache(maxsize=1)
def _token_cache() -> ReferenceCache[str, Actor]:
    """Tokens this worker checked recently, never kept past their expiry; signing out and
    revoking a device through this worker drop them at once."""
    return ReferenceCache(get_settings().token_cache_seconds, size=10_000)


async def revoke_token(conn: asyncpg.Connection, token_id: int) -> None:
    _token_cache().forget(lambda actor: actor.token_id == token_id)
    await conn.execute(
        "UPDATE auth_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", token_id
    )


async def list_devices(conn: asyncpg.Connection) -> list[DeviceOut]:
    rows = await conn.fetch(
        """SELECT d.*, u.username FROM device d LEFT JOIN app_user u ON u.id = d.last_user_id
           ORDER BY d.device_key"""
    )
    return [_device_out(row) for row in rows]


def _device_out(row: asyncpg.Record) -> DeviceOut:
    return DeviceOut(
        id=row["id"],
        device_id=row["device_key"],
        name=row["name"],
        last_user=row["username"],
        last_seen_at=row["last_seen_at"],
        revoked_at=row["revoked_at"],
    )


async def revoke_device(conn: asyncpg.Connection, device_id: int) -> DeviceOut:
    """Revoke a lost device: every token it holds stops working at once."""
    async with conn.transaction():
        row = await conn.fetchrow(
            """UPDATE device SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
               RETURNING *, (SELECT username FROM app_user WHERE id = last_user_id)""",
            device_id,
        )
        if row is None:
            raise DomainError("device_not_found", f"No device {device_id}.", 404)
        await conn.execute(
            "UPDATE auth_token SET revoked_at = now() WHERE device_id = $1 AND revoked_at IS NULL",
            device_id,
        )
    _token_cache().forget(lambda actor: actor.device_id == device_id)
    return _device_out(row)
