"""What the console's HTTP tests share: signing in through the form with the console's own
Origin, and sending the session cookie by hand (each test's client keeps no cookie jar)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from tests.conftest import LiveServer, MakeUser

COOKIE = "lotline_console"


def origin(server: LiveServer) -> dict[str, str]:
    """The header a form posted from the console's own pages carries."""
    return {"Origin": server.url}


async def sign_in(client: httpx.AsyncClient, server: LiveServer, **form: str) -> httpx.Response:
    return await client.post("/console/login", data=form, headers=origin(server))


def session_cookie(response: httpx.Response) -> str:
    """The Set-Cookie header of the session cookie."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert len(headers) == 1, response.headers
    return headers[0]


def token_of(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1].strip('"')


def as_cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={token}"}


async def console_session(
    server: LiveServer, make_user: MakeUser, roles: Sequence[str] = ("supervisor",)
) -> str:
    """A new user's console session token, signed in through the form."""
    user = await make_user(list(roles))
    async with httpx.AsyncClient(base_url=server.url) as client:
        signed_in = await sign_in(client, server, username=user.username, password=user.password)
    return token_of(session_cookie(signed_in))
