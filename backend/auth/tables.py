"""Piccolo tables of users, roles, devices and tokens (schema in backend/db/migrations)."""

from __future__ import annotations

from piccolo.columns import BigSerial, Boolean, Bytea, ForeignKey, Text, Timestamptz
from piccolo.table import Table

__all__ = ["AuthToken", "Device", "Role", "User", "UserRole"]


class User(Table, tablename="app_user"):
    id = BigSerial(primary_key=True)
    username = Text(unique=True)
    display_name = Text()
    password_hash = Text(secret=True)
    badge = Text(null=True, default=None, unique=True)
    pin_hash = Text(null=True, default=None, secret=True)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Role(Table, tablename="role"):
    name = Text(primary_key=True)
    description = Text()


class UserRole(Table, tablename="user_role"):
    id = BigSerial(primary_key=True)
    user = ForeignKey(User, db_column_name="user_id")
    role = ForeignKey(Role, db_column_name="role")


class Device(Table, tablename="device"):
    id = BigSerial(primary_key=True)
    device_key = Text(unique=True)
    name = Text(default="")
    last_user = ForeignKey(User, db_column_name="last_user_id", null=True)
    last_seen_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class AuthToken(Table, tablename="auth_token"):
    id = BigSerial(primary_key=True)
    token_hash = Bytea(unique=True)
    user = ForeignKey(User, db_column_name="user_id")
    device = ForeignKey(Device, db_column_name="device_id", null=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
