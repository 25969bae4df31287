"""What every console page shares: who is signed in, the page response, the same-origin check
on form posts, reading a form within limits, downloads, and the controller base that turns
these into the sign-in redirect, the 403 page and error pages (docs/console.md).

A console controller subclasses `ConsolePages`, calls `console_actor(request, db)` (with the
roles the matching API route allows, when narrower than the console's) first in each handler,
and `check_origin(request)` first in each post.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
from litestar import Controller, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from backend.auth import service
from backend.auth.guards import PUBLIC
from backend.auth.schemas import Actor

__all__ = [
    "CONSOLE_ROLES",
    "SESSION_COOKIE",
    "ConsolePages",
    "FormTooLong",
    "NotForYou",
    "check_origin",
    "console_actor",
    "download",
    "forbidden",
    "form_fields",
    "page",
    "page_number",
]

SESSION_COOKIE = "lotline_console"
"""The cookie holding the console's session token (HttpOnly: pages read it, scripts cannot)."""

CONSOLE_ROLES = frozenset({"supervisor", "receiver", "admin"})
"""Roles the console is for; other users are shown a 403 page."""


class SignInFirst(Exception):
    """No valid session cookie: the page sends the browser to the sign-in form."""


class NotForYou(Exception):
    """Signed in, but without a role this page needs."""

    def __init__(self, actor: Actor, roles: Iterable[str] = CONSOLE_ROLES) -> None:
        super().__init__(actor.username)
        self.actor = actor
        self.roles = sorted(roles)


class ForeignPost(Exception):
    """A form post without this console's own Origin (or Referer)."""


class FormTooLong(Exception):
    """A form field past its limit, or holding a NUL: the form is refused whole."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(field)
        self.field = field
        self.limit = limit


def page(
    name: str, actor: Actor | None, status_code: int = HTTP_200_OK, **context: Any
) -> Template:
    """A console template (`pwa/templates/console/<name>`), never cached."""
    return Template(
        template_name=f"console/{name}",
        context={"actor": actor, **context},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def download(body: bytes | str, media_type: str, filename: str) -> Response[Any]:
    """A file the browser saves under `filename`."""
    return Response(
        content=body,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''"
            + quote(filename),
            "Cache-Control": "no-store",
        },
    )


async def console_actor(
    request: Request[Any, Any, Any],
    db: asyncpg.Connection,
    roles: Iterable[str] = CONSOLE_ROLES,
) -> Actor:
    """The signed-in console user holding one of `roles` (admins hold every role); raises to
    the sign-in page or to the 403 page."""
    token = request.cookies.get(SESSION_COOKIE, "")
    actor = await service.actor_for_token(db, token) if 0 < len(token) <= 200 else None
    if actor is None:
        raise SignInFirst
    wanted = frozenset(roles)
    if not actor.has_any(CONSOLE_ROLES) or not actor.has_any(wanted):
        raise NotForYou(actor, wanted)
    return actor


def check_origin(request: Request[Any, Any, Any]) -> None:
    """Refuse a form post that a page of another origin could have sent."""
    sent = request.headers.get("origin") or request.headers.get("referer") or ""
    parts = urlsplit(sent)
    own = urlsplit(str(request.base_url))
    if (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
        raise ForeignPost


async def form_fields(request: Request[Any, Any, Any], limits: dict[str, int]) -> dict[str, str]:
    """The form's fields named in `limits`, stripped ('' when missing); one longer than its
    limit or holding a NUL raises FormTooLong (a 400 page unless the handler catches it)."""
    form = await request.form()
    fields = {name: str(form.get(name) or "").strip() for name in limits}
    for name, limit in limits.items():
        if len(fields[name]) > limit or "\x00" in fields[name]:
            raise FormTooLong(name, limit)
    return fields


def page_number(text: str | None) -> int:
    """`?page=` as a page from 1; anything else is the first page."""
    return int(text) if text and text.isdigit() and len(text) < 7 and int(text) > 0 else 1


def _redirect_to_sign_in(request: Request[Any, Any, Any], _: SignInFirst) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response: Response[Any] = Redirect(f"/console/login?next={quote(target, safe='')}")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def forbidden(_: Request[Any, Any, Any], error: NotForYou) -> Response[Any]:
    """The 403 page: who is signed in, and which roles the page is for."""
    return page("forbidden.html", error.actor, 403, roles=error.roles)


def _foreign_post(_: Request[Any, Any, Any], __: ForeignPost) -> Response[Any]:
    return page("error.html", None, 403, message="This form was not sent from this console.")


def _form_too_long(_: Request[Any, Any, Any], error: FormTooLong) -> Response[Any]:
    return page(
        "error.html",
        None,
        400,
        message=f"The field {error.field} takes at most {error.limit} characters, without NUL.",
    )


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    return page("error.html", None, error.status_code, message=error.detail or "Nothing here.")


class ConsolePages(Controller):
    """Base of the console's controllers: outside the API's token auth and its schema, with
    the console's own answers to signing in, roles, foreign posts and bad forms."""

    opt = PUBLIC
    include_in_schema = False
    exception_handlers = {
        SignInFirst: _redirect_to_sign_in,
        NotForYou: forbidden,
        ForeignPost: _foreign_post,
        FormTooLong: _form_too_long,
        HTTPException: _http_error,
    }
