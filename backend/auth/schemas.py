"""Wire shapes of sign-in, users and devices."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import msgspec

__all__ = [
    "Actor",
    "DeviceOut",
    "LoginIn",
    "LoginOut",
    "UserIn",
    "UserOut",
    "UserPatch",
]

Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Password = Annotated[str, msgspec.Meta(min_length=4, max_length=200)]
Roles = Annotated[list[str], msgspec.Meta(min_length=1, max_length=7)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Badge = Annotated[str, msgspec.Meta(min_length=4, max_length=80)]
Pin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4,12}$")]


class LoginIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Either `username` and `password`, or `badge` and `pin`."""

    username: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    password: Secret | None = None
    badge: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    pin: Annotated[str, msgspec.Meta(max_length=12)] | None = None
    device_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    device_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class UserOut(msgspec.Struct, rename="camel", kw_only=True):
    id: int
    username: str
    display_name: str
    roles: list[str]
    badge: str | None = None
    active: bool = True


class LoginOut(msgspec.Struct, rename="camel", kw_only=True):
    token: str
    expires_at: datetime
    user: UserOut


class UserIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    username: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    password: Password
    roles: Roles
    display_name: DisplayName | None = None
    badge: Badge | None = None
    pin: Pin | None = None


class UserPatch(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """What an admin changes about a user; a field left out (or null) stays as it is.
    Deactivating ends every session of the user at once."""

    display_name: DisplayName | None = None
    roles: Roles | None = None
    active: bool | None = None
    badge: Badge | None = None
    pin: Pin | None = None
    password: Password | None = None


class DeviceOut(msgspec.Struct, rename="camel", kw_only=True):
    id: int
    device_id: str
    name: str
    last_user: str | None
    last_seen_at: datetime | None
    revoked_at: datetime | None


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the signed-in user, their roles and the device, from the token."""

    user_id: int
    username: str
    roles: frozenset[str]
    token_id: int
    device_id: int | None = None

    def has_any(self, roles: Iterable[str]) -> bool:
        """Admins may do anything; others need one of `roles`."""
        return "admin" in self.roles or not self.roles.isdisjoint(roles)
