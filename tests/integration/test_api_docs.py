"""The interactive API docs work on a warehouse network with no internet: nothing from a CDN."""

from __future__ import annotations

import re

import httpx


async def test_the_docs_page_loads_every_asset_from_this_server(client: httpx.AsyncClient):
    page = await client.get("/schema")
    assert page.status_code == 200
    assert not re.search(r"https?://", page.text), "the docs page must not reach the internet"
    assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)", page.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 0, asset


async def test_the_openapi_document_is_served_without_a_token(client: httpx.AsyncClient):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/api/receipts" in response.json()["paths"]
