"""The console's pages of users, roles, badges and devices (docs/console.md).

Admins create and edit users and print badges; supervisors and admins see the handhelds that
signed in and revoke a lost one. Every write goes through the auth service the API uses
(`POST /api/users`, `PATCH /api/users/{id}`, `POST /api/devices/{id}/revoke`), and badge
labels through the labels service of `GET /api/labels/badges/{username}`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from backend.auth import service
from backend.auth.schemas import Actor, UserIn, UserOut, UserPatch
from backend.errors import DomainError
from backend.labels import service as labels
from backend.labels.service import Format, Printing
from backend.web.console_kit import (
    ConsolePages,
    FormTooLong,
    check_origin,
    console_actor,
    download,
    form_fields,
    page,
)
from backend.web.deps import Db

__all__ = ["PeoplePages"]

USER_ROLES = ("admin",)
"""Who manages users and prints badges: `POST`/`PATCH /api/users` allow admins only."""

DEVICE_ROLES = ("admin", "supervisor")
"""Who sees and revokes devices: as `GET /api/devices` and its revoke."""

_USER_FIELDS = {"username": 64, "displayName": 200, "password": 200, "badge": 80, "pin": 12}
"""The user forms' text fields and their longest values (UserIn's and UserPatch's limits)."""

_BADGE_FILES: dict[str, Format] = {"badge.pdf": "pdf", "badge.svg": "svg", "badge.zpl": "zpl"}

_HINTS = {
    "username": "Username: lower-case letters, digits, '.', '_' or '-', up to 64, "
    "starting with a letter or digit.",
    "displayName": "Display name: 1 to 200 characters.",
    "password": "Password: 4 to 200 characters.",
    "roles": "Choose at least one role.",
    "badge": "Badge: 4 to 80 characters.",
    "pin": "PIN: 4 to 12 digits.",
}
"""What to tell a person about a field msgspec refused (its message names the JSON path)."""

_FIELD = re.compile(r"at `\$\.(\w+)")


class LastDevice(msgspec.Struct, frozen=True, kw_only=True):
    """The handheld a user signed in on most recently."""

    name: str
    device_key: str
    seen_at: datetime | None


async def _last_devices(db: asyncpg.Connection) -> dict[int, LastDevice]:
    """Each user's most recently seen device, by user id."""
    rows = await db.fetch(
        """SELECT DISTINCT ON (last_user_id) last_user_id, name, device_key, last_seen_at
             FROM device WHERE last_user_id IS NOT NULL
            ORDER BY last_user_id, last_seen_at DESC NULLS LAST, id DESC"""
    )
    return {
        row["last_user_id"]: LastDevice(
            name=row["name"], device_key=row["device_key"], seen_at=row["last_seen_at"]
        )
        for row in rows
    }


def _number(text: str) -> int:
    """A path's id, or the 404 page: ids are at most 18 digits."""
    if not text.isdigit() or len(text) > 18:
        raise HTTPException(status_code=404, detail=f"Nothing has the id {text}.")
    return int(text)


def _invalid(error: msgspec.ValidationError) -> DomainError:
    """A form value the API's schema refuses, said for people (400, as the API answers)."""
    match = _FIELD.search(str(error))
    hint = _HINTS.get(match.group(1), str(error)) if match else str(error)
    return DomainError("invalid_request", hint, 400)


async def _user_form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], list[str]]:
    """The user form's text fields and the roles ticked (each a known length)."""
    fields = await form_fields(request, _USER_FIELDS)
    roles = [str(role) for role in (await request.form()).getall("roles", [])]
    if len(roles) > len(service.ROLES) or any(len(role) > 20 for role in roles):
        raise FormTooLong("roles", 20)
    return fields, roles


async def _user_page(
    db: asyncpg.Connection, actor: Actor, user_id: int, status_code: int = HTTP_200_OK, **extra: Any
) -> Template:
    try:
        user = await service.user_by_id(db, user_id)
    except DomainError as error:
        raise HTTPException(status_code=404, detail=error.detail) from error
    device = (await _last_devices(db)).get(user.id)
    return page(
        "user.html",
        actor,
        status_code,
        user=user,
        device=device,
        all_roles=service.ROLES,
        **extra,
    )


async def _users_page(
    db: asyncpg.Connection, actor: Actor, status_code: int = HTTP_200_OK, **extra: Any
) -> Template:
    users: list[UserOut] = await service.list_users(db)
    return page(
        "users.html",
        actor,
        status_code,
        users=users,
        devices=await _last_devices(db),
        all_roles=service.ROLES,
        **extra,
    )


class PeoplePages(ConsolePages):
    path = "/console"

    @get("/users", name="console-users")
    async def users(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Every user with roles, badge (set or not), active, last device; a create form."""
        actor = await console_actor(request, db, roles=USER_ROLES)
        return await _users_page(db, actor, form={}, ticked=[])

    @post("/users", name="console-create-user", status_code=HTTP_200_OK)
    async def create_user(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """Create a user as `POST /api/users` does, then show their page."""
        check_origin(request)
        actor = await console_actor(request, db, roles=USER_ROLES)
        fields, roles = await _user_form(request)
        try:
            try:
                data = msgspec.convert(
                    {
                        "username": fields["username"],
                        "password": fields["password"],
                        "roles": roles,
                        "displayName": fields["displayName"] or None,
                        "badge": fields["badge"] or None,
                        "pin": fields["pin"] or None,
                    },
                    UserIn,
                )
            except msgspec.ValidationError as error:
                raise _invalid(error) from error
            created = await service.add_user(db, data)
        except DomainError as error:
            return await _users_page(
                db, actor, error.status, error=error.detail, form=fields, ticked=roles
            )
        return Redirect(f"/console/users/{created.id}?created=1", status_code=303)

    @get("/users/{user_id:str}", name="console-user")
    async def user(
        self, request: Request[Any, Any, Any], user_id: FromPath[str], db: Db
    ) -> Template:
        """One user's edit form and their badge label links."""
        actor = await console_actor(request, db, roles=USER_ROLES)
        notice = {"created": "User created.", "saved": "Changes saved."}
        said = next((text for key, text in notice.items() if key in request.query_params), None)
        return await _user_page(db, actor, _number(user_id), notice=said)

    @post("/users/{user_id:str}", name="console-update-user", status_code=HTTP_200_OK)
    async def update_user(
        self, request: Request[Any, Any, Any], user_id: FromPath[str], db: Db
    ) -> Response[Any]:
        """Change a user as `PATCH /api/users/{id}` does; blank PIN, password or badge keep
        theirs, and an unticked Active deactivates (ending their sessions)."""
        check_origin(request)
        actor = await console_actor(request, db, roles=USER_ROLES)
        number = _number(user_id)
        fields, roles = await _user_form(request)
        active = (await request.form()).get("active") == "yes"
        try:
            try:
                data = msgspec.convert(
                    {
                        "displayName": fields["displayName"],
                        "roles": roles,
                        "active": active,
                        "badge": fields["badge"] or None,
                        "pin": fields["pin"] or None,
                        "password": fields["password"] or None,
                    },
                    UserPatch,
                )
            except msgspec.ValidationError as error:
                raise _invalid(error) from error
            await service.update_user(db, number, data)
        except DomainError as error:
            if error.code == "user_not_found":
                raise HTTPException(status_code=404, detail=error.detail) from error
            return await _user_page(db, actor, number, error.status, error=error.detail)
        if number == actor.user_id and not active:
            return Redirect("/console/login", status_code=303)
        return Redirect(f"/console/users/{number}?saved=1", status_code=303)

    @get("/users/{user_id:str}/{file:str}", name="console-badge-label")
    async def badge_label(
        self, request: Request[Any, Any, Any], user_id: FromPath[str], file: FromPath[str], db: Db
    ) -> Response[Any]:
        """The user's badge label (`badge.pdf`, `badge.svg`, `badge.zpl`), as
        `GET /api/labels/badges/{username}` renders it; no badge is a 409 page."""
        actor = await console_actor(request, db, roles=USER_ROLES)
        form = _BADGE_FILES.get(file)
        if form is None:
            raise HTTPException(status_code=404, detail="A badge label is badge.pdf, .svg or .zpl.")
        try:
            user = await service.user_by_id(db, _number(user_id))
            label = await labels.badge(db, user.username)
            rendered = labels.render([label], form, Printing(), f"badge-{user.username}")
        except DomainError as error:
            return page("error.html", actor, error.status, message=error.detail)
        return download(rendered.content, rendered.media_type, rendered.filename)

    @get("/devices", name="console-devices")
    async def devices(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Handhelds that signed in: name, last user, last seen, revoked; a revoke form each."""
        actor = await console_actor(request, db, roles=DEVICE_ROLES)
        revoked = request.query_params.get("revoked")
        return await _devices_page(db, actor, revoked=revoked if revoked else None)

    @post("/devices/{device_id:str}/revoke", name="console-revoke-device", status_code=HTTP_200_OK)
    async def revoke_device(
        self, request: Request[Any, Any, Any], device_id: FromPath[str], db: Db
    ) -> Response[Any]:
        """Revoke a lost handheld as `POST /api/devices/{id}/revoke` does, once the form's
        confirm box is ticked: its tokens stop working at once."""
        check_origin(request)
        actor = await console_actor(request, db, roles=DEVICE_ROLES)
        fields = await form_fields(request, {"confirm": 3})
        number = _number(device_id)
        if fields["confirm"] != "yes":
            return await _devices_page(
                db, actor, 400, error="Tick the box to confirm the device is lost; nothing changed."
            )
        try:
            revoked = await service.revoke_device(db, number)
        except DomainError as error:
            return await _devices_page(db, actor, error.status, error=error.detail)
        return Redirect(f"/console/devices?revoked={revoked.id}", status_code=303)


async def _devices_page(
    db: asyncpg.Connection, actor: Actor, status_code: int = HTTP_200_OK, **extra: Any
) -> Template:
    devices = await service.list_devices(db)
    return page("devices.html", actor, status_code, devices=devices, **extra)
