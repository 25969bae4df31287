"""Arrange a small site through the real API: warehouses, bins, products, receipts."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from backend.settings import PROJECT_ROOT
from tests.conftest import TestUser

OATS_GTIN = "09506000134352"
SERUM_GTIN = "4006381333931"
GS = "\x1d"
SCANNED_AT = "2026-11-23T10:15:00.250Z"


@dataclass(frozen=True)
class Site:
    """What `build_site` made; codes as the API takes them."""

    warehouse: str
    other_warehouse: str
    bins: tuple[str, ...]
    other_bin: str
    customer: str
    disposal: str


async def build_site(client: httpx.AsyncClient, suffix: str = "") -> Site:
    """Two warehouses with bins, a customer and disposal location, and four products."""
    wh, wh2 = f"WH{suffix}A", f"WH{suffix}B"
    for code in (wh, wh2):
        await ok(client.post("/api/warehouses", json={"code": code, "name": f"Site {code}"}))
    bins = tuple(f"A-0{n}" for n in range(1, 5))
    for n, code in enumerate(bins):
        await ok(
            client.post(
                "/api/locations", json={"warehouse": wh, "code": code, "walkSequence": n * 10}
            )
        )
    await ok(client.post("/api/locations", json={"warehouse": wh2, "code": "B-01"}))
    await ok(
        client.post(
            "/api/locations", json={"warehouse": wh, "code": "CUSTOMER", "kind": "customer"}
        )
    )
    await ok(
        client.post(
            "/api/locations", json={"warehouse": wh, "code": "DISPOSAL", "kind": "disposal"}
        )
    )
    return Site(
        warehouse=wh,
        other_warehouse=wh2,
        bins=tuple(f"{wh}/{code}" for code in bins),
        other_bin=f"{wh2}/B-01",
        customer=f"{wh}/CUSTOMER",
        disposal=f"{wh}/DISPOSAL",
    )


async def add_product(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": f"Product {fields['sku']}", **fields}
    return await ok(client.post("/api/products", json=body))


async def receive(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    """POST /api/receipts with a fresh idempotency key unless one is given."""
    body = {"idempotencyKey": str(uuid.uuid4()), **fields}
    return await client.post("/api/receipts", json=body)


async def move(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"idempotencyKey": str(uuid.uuid4()), **fields}
    return await client.post("/api/moves", json=body)


async def ok(request: Any) -> Any:
    """Await an HTTP call that must succeed, and return its JSON."""
    response: httpx.Response = await request
    assert response.status_code < 300, f"{response.status_code}: {response.text}"
    return response.json()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is problem+json with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
    return body


def gs1(gtin: str, lot: str | None = None, serial: str | None = None, **dates: str) -> str:
    """A GS1 DataMatrix as a scanner sends it: ]d2, fixed-length AIs first, GS after values."""
    ais = {"expiry": "17", "best_before": "15", "production": "11"}
    text = f"]d201{gtin}" + "".join(ais[name] + value for name, value in dates.items())
    if lot is not None:
        text += f"10{lot}" + (GS if serial is not None else "")
    if serial is not None:
        text += f"21{serial}"
    return text


def scan_body(raw: str, context: str = "lookup", **fields: Any) -> dict[str, Any]:
    return {
        "idempotencyKey": str(uuid.uuid4()),
        "context": context,
        "raw": raw,
        "deviceId": "HH-TEST-01",
        "scannedAt": SCANNED_AT,
        **fields,
    }


def lotline_check(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "check"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass(frozen=True)
class Floor:
    """A warehouse with four bins in walking order and a pack station, and its people."""

    warehouse: str
    bins: tuple[str, ...]
    """`WH/A-0n`, as the API names them."""
    bin_labels: tuple[str, ...]
    """The barcodes printed on the bins."""
    picker: TestUser
    other_picker: TestUser
    packer: TestUser
