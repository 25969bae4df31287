"""The office console under `/console`: server-rendered pages for supervisors, receivers and
admins (docs/console.md).

Pages sign in through the same auth service as the API and keep its session token in an
HttpOnly, SameSite=Strict cookie that scripts never see. Every form post must come from the
console's own origin. The dashboard's live activity opens the live channel with a ticket: a
token of the same user that expires a minute after it is issued.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from backend.auth import service
from backend.auth.schemas import LoginIn
from backend.errors import DomainError
from backend.live.tickets import issue_ticket
from backend.lots.service import lot_by_id
from backend.settings import get_settings
from backend.web import console_queries as queries
from backend.web.console_kit import (
    CONSOLE_ROLES,
    SESSION_COOKIE,
    ConsolePages,
    NotForYou,
    check_origin,
    console_actor,
    forbidden,
    page,
    page_number,
)
from backend.web.deps import Db

__all__ = ["ConsoleController"]

_FIELD_LIMITS = {"username": 64, "password": 200, "badge": 80, "pin": 12}
"""The sign-in form's fields and their longest values (LoginIn's limits)."""


def _safe_next(target: str | None) -> str:
    """Only console paths: never send a browser elsewhere after signing in."""
    if target and target.startswith("/console") and target.isascii() and target.isprintable():
        return target
    return "/console"


class ConsoleController(ConsolePages):
    path = "/console"

    @get("/login", name="console-login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Template:
        """The sign-in form: username and password, or badge and PIN."""
        return page("login.html", None, next=_safe_next(request.query_params.get("next")))

    @post("/login", name="console-sign-in", status_code=HTTP_200_OK)
    async def sign_in(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """Check the form with the auth service, set the session cookie, go to `next`."""
        check_origin(request)
        form = await request.form()
        fields = {name: str(form.get(name) or "").strip() for name in _FIELD_LIMITS}
        target = _safe_next(str(form.get("next") or ""))
        # PostgreSQL text cannot hold NUL: such a value cannot match anyone.
        unusable = [
            name
            for name, limit in _FIELD_LIMITS.items()
            if len(fields[name]) > limit or "\x00" in fields[name]
        ]
        data = LoginIn(**{name: value or None for name, value in fields.items()})
        try:
            if unusable:
                raise DomainError(
                    "invalid_credentials", "Wrong username, badge, password or PIN.", 401
                )
            signed_in = await service.login(
                db, data, timedelta(hours=get_settings().token_ttl_hours)
            )
        except DomainError as error:
            return page(
                "login.html",
                None,
                error.status,
                next=target,
                error=error.detail,
                username=fields["username"][:64],
                badge=fields["badge"][:80],
            )
        if not CONSOLE_ROLES & set(signed_in.user.roles):
            actor = await service.actor_for_token(db, signed_in.token)
            if actor is not None:
                await service.revoke_token(db, actor.token_id)
                return forbidden(request, NotForYou(actor))
        response: Response[Any] = Redirect(target)
        response.set_cookie(
            SESSION_COOKIE,
            signed_in.token,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=int((signed_in.expires_at - datetime.now(UTC)).total_seconds()),
        )
        return response

    @post("/logout", name="console-sign-out", status_code=HTTP_200_OK)
    async def sign_out(self, request: Request[Any, Any, Any], db: Db) -> Response[Any]:
        """Revoke the session's token and clear the cookie."""
        check_origin(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        actor = await service.actor_for_token(db, token) if 0 < len(token) <= 200 else None
        if actor is not None:
            await service.revoke_token(db, actor.token_id)
        response: Response[Any] = Redirect("/console/login")
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response

    @get("/", name="console-dashboard")
    async def dashboard(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Lots not released, lots expiring, open pick tasks, exceptions waiting, live activity."""
        actor = await console_actor(request, db)
        wanted = request.query_params.get("warehouse") or None
        board = (
            await queries.dashboard(db, wanted)
            if wanted is None or (len(wanted) <= 32 and wanted.isprintable())
            else None
        )
        if board is None:
            every = await queries.dashboard(db)
            return page(
                "dashboard.html",
                actor,
                400,
                board=every,
                windows=queries.EXPIRY_WINDOWS,
                error=f"No warehouse {(wanted or '')[:32]}: showing every warehouse.",
            )
        return page("dashboard.html", actor, board=board, windows=queries.EXPIRY_WINDOWS)

    @post("/live-ticket", name="console-live-ticket", status_code=HTTP_200_OK)
    async def live_ticket(self, request: Request[Any, Any, Any], db: Db) -> dict[str, Any]:
        """A ticket for the live channel's hello: it expires in a minute and opens nothing
        else, so the page never holds the session token itself."""
        check_origin(request)
        actor = await console_actor(request, db)
        ticket = await issue_ticket(db, actor.user_id)
        warehouses = await db.fetch("SELECT code FROM warehouse ORDER BY id LIMIT 20")
        return {"ticket": ticket, "warehouses": [row["code"] for row in warehouses]}

    @get("/search", name="console-search")
    async def search(self, request: Request[Any, Any, Any], db: Db) -> Template:
        """Everything a typed or scanned text names."""
        actor = await console_actor(request, db)
        query = (request.query_params.get("q") or "").strip()
        if len(query) > 200 or "\x00" in query:
            return page(
                "search.html",
                actor,
                400,
                q=query[:200].replace("\x00", ""),
                error="Search for at most 200 characters, without NUL.",
            )
        found = await queries.search(db, query) if query else None
        return page("search.html", actor, q=query, found=found)

    @get("/lots/{lot_id:str}", name="console-lot")
    async def lot(self, request: Request[Any, Any, Any], lot_id: FromPath[str], db: Db) -> Template:
        """A lot's status, dates, stock by location, and its timeline, newest first."""
        actor = await console_actor(request, db)
        if not lot_id.isdigit() or len(lot_id) > 18:
            raise HTTPException(status_code=404, detail=f"No lot {lot_id}.")
        try:
            lot = await lot_by_id(db, int(lot_id))
        except DomainError as error:
            raise HTTPException(status_code=404, detail=error.detail) from error
        number = page_number(request.query_params.get("page"))
        entries, more = await queries.lot_timeline(db, lot.id, number)
        on_hand = await queries.lot_on_hand(db, lot.id)
        return page(
            "lot.html", actor, lot=lot, on_hand=on_hand, entries=entries, page=number, more=more
        )

    @get("/products/{product_id:str}", name="console-product")
    async def product(
        self, request: Request[Any, Any, Any], product_id: FromPath[str], db: Db
    ) -> Template:
        """A product, its GTINs and its lots."""
        actor = await console_actor(request, db)
        found = (
            await queries.product_page(db, int(product_id))
            if product_id.isdigit() and len(product_id) <= 18
            else None
        )
        if found is None:
            raise HTTPException(status_code=404, detail=f"No product {product_id}.")
        product, lots = found
        return page("product.html", actor, product=product, lots=lots)
