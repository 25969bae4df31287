"""Bearer-token authentication on every route, and the role guard.

A mutating route declares the roles that may use it in its `opt={"roles": ...}`; the guard
runs on every route and lets admins through everywhere. Routes without `roles` are reads
open to any signed-in user.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from backend.auth.schemas import Actor
from backend.auth.service import actor_for_token
from backend.db.engine import connection_pool

__all__ = ["PUBLIC", "TokenAuthMiddleware", "allow", "role_guard"]

PUBLIC = {"exclude_from_auth": True}
"""`opt` of a route that needs no token (sign-in, health, pages)."""


def allow(*roles: str) -> dict[str, Any]:
    """`opt` of a route only these roles (and admins) may use."""
    return {"roles": frozenset(roles)}


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolve `Authorization: Bearer <token>` (or `?token=` on websockets) to an Actor."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("Sign in first: send Authorization: Bearer <token>.")
        actor = await actor_for_token(connection_pool(), token.strip())
        if actor is None:
            raise NotAuthorizedException("The token is unknown, expired or revoked.")
        return AuthenticationResult(user=actor, auth=token)


async def role_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Refuse callers whose roles may not use this route."""
    roles = handler.opt.get("roles")
    if roles is None or handler.opt.get("exclude_from_auth"):
        return
    if connection.scope.get("method") == "OPTIONS":
        # Litestar's own OPTIONS answers inherit a controller's `opt`, but the token
        # middleware lets them through unauthenticated: there is no caller to check.
        return
    actor: Actor = connection.user
    if not actor.has_any(roles):
        needed = ", ".join(sorted(roles))
        raise PermissionDeniedException(f"This needs one of the roles: {needed}.")
