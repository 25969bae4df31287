"""The plain HTTP client of integration tests, talking to the module's real lotline server.

The server, database and user fixtures, the admin, picker and packer clients and the
fulfilment floor live in tests/conftest.py (browser tests use them too).
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
