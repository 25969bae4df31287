"""Sign-in, sign-out, users and devices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.auth import service
from backend.auth.guards import PUBLIC, allow
from backend.auth.schemas import Actor, DeviceOut, LoginIn, LoginOut, UserIn, UserOut, UserPatch
from backend.settings import get_settings
from backend.web.deps import Db

__all__ = ["AuthController", "DeviceController", "UserController"]


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/login", opt=PUBLIC, status_code=HTTP_200_OK, operation_id="login")
    async def login(self, data: JSONBody[LoginIn], db: Db) -> LoginOut:
        """Sign in by username and password, or by badge and PIN; returns a bearer token."""
        ttl = timedelta(hours=get_settings().token_ttl_hours)
        return await service.login(db, data, ttl)

    @post("/logout", status_code=HTTP_200_OK, operation_id="logout")
    async def logout(self, request: Request[Actor, Any, Any], db: Db) -> dict[str, str]:
        """Revoke the calling token."""
        await service.revoke_token(db, request.user.token_id)
        return {"status": "signed_out"}

    @get("/me", operation_id="me")
    async def me(self, request: Request[Actor, Any, Any]) -> dict[str, Any]:
        """Who the token belongs to."""
        actor = request.user
        return {"id": actor.user_id, "username": actor.username, "roles": sorted(actor.roles)}


class UserController(Controller):
    path = "/api/users"
    tags = ["auth"]

    @get("/", opt=allow("admin"), operation_id="listUsers")
    async def list_users(self, db: Db) -> list[UserOut]:
        """Every user with their roles (admins only)."""
        return await service.list_users(db)

    @post("/", opt=allow("admin"), status_code=HTTP_201_CREATED, operation_id="createUser")
    async def create_user(self, data: JSONBody[UserIn], db: Db) -> UserOut:
        """Create a user (admins only)."""
        return await service.add_user(db, data)

    @patch("/{user_id:int}", opt=allow("admin"), operation_id="updateUser")
    async def update_user(
        self, user_id: FromPath[int], data: JSONBody[UserPatch], db: Db
    ) -> UserOut:
        """Change a user's display name, roles, badge, PIN, password or `active` (admins only).
        Deactivating ends all their sessions at once; the last active admin stays an admin."""
        return await service.update_user(db, user_id, data)


class DeviceController(Controller):
    path = "/api/devices"
    tags = ["auth"]

    @get("/", opt=allow("admin", "supervisor"), operation_id="listDevices")
    async def list_devices(self, db: Db) -> list[DeviceOut]:
        """Handhelds that have signed in."""
        return await service.list_devices(db)

    @post(
        "/{device_id:int}/revoke",
        opt=allow("admin", "supervisor"),
        status_code=HTTP_200_OK,
        operation_id="revokeDevice",
    )
    async def revoke(self, device_id: FromPath[int], db: Db) -> DeviceOut:
        """Revoke a lost handheld: its tokens stop working at once."""
        return await service.revoke_device(db, device_id)
