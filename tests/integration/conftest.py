"""HTTP clients for integration tests, talking to the module's real lotline server.

The server, database and user fixtures live in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import LiveServer


@pytest.fixture(scope="module")
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client without credentials, based at the live server's URL."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
async def admin_client(
    live_server: LiveServer, admin_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in as an admin."""
    async with httpx.AsyncClient(
        base_url=live_server.url,
        timeout=30.0,
        headers={"Authorization": f"Bearer {admin_token}"},
    ) as http:
        yield http
