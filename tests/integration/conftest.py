"""HTTP clients for integration tests, talking to the module's real lotline server, and a
fulfilment floor (warehouse, bins, pack station, channels, picker and packer) for those that
need one.

The server, database and user fixtures live in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import Floor, ok


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


@pytest.fixture(scope="module")
async def floor(admin_client: httpx.AsyncClient, make_user: MakeUser) -> Floor:
    warehouse = "FUL"
    await ok(admin_client.post("/api/warehouses", json={"code": warehouse, "name": "Fulfilment"}))
    bins, labels = [], []
    for n in range(1, 5):
        made = await ok(
            admin_client.post(
                "/api/locations",
                json={"warehouse": warehouse, "code": f"A-0{n}", "walkSequence": 50 - n * 10},
            )
        )
        bins.append(f"{warehouse}/A-0{n}")
        labels.append(made["barcode"])
    await ok(
        admin_client.post(
            "/api/locations",
            json={"warehouse": warehouse, "code": "PACK-1", "kind": "pack_station"},
        )
    )
    for code, kind, days, split in (
        ("shop", "own_shop", 0, True),
        ("marketplace", "marketplace", 90, True),
        ("wholesale", "wholesale", 180, False),
    ):
        await ok(
            admin_client.post(
                "/api/channels",
                json={
                    "code": code,
                    "name": code.title(),
                    "kind": kind,
                    "minShelfLifeDays": days,
                    "allowSplit": split,
                },
            )
        )
    return Floor(
        warehouse=warehouse,
        bins=tuple(bins),
        bin_labels=tuple(labels),
        picker=await make_user(["picker"]),
        other_picker=await make_user(["picker"]),
        packer=await make_user(["packer"]),
    )


@pytest.fixture(scope="module")
async def as_picker(live_server: LiveServer, floor: Floor) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=floor.picker.headers
    ) as http:
        yield http


@pytest.fixture(scope="module")
async def as_packer(live_server: LiveServer, floor: Floor) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=floor.packer.headers
    ) as http:
        yield http
