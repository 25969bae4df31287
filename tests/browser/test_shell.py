"""The installable shell: served at /, a manifest with icons, a service worker that takes
control and precaches the shell, and not one request leaving 127.0.0.1."""

from __future__ import annotations

import struct
from urllib.parse import urlsplit

import httpx

from tests.browser.conftest import new_page


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


async def test_the_shell_is_public_and_its_worker_is_served_from_the_root(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.get("/")
        worker = await client.get("/sw.js")
        again = await client.get("/sw.js")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<link rel="manifest"' in page.text
    assert worker.status_code == 200
    assert worker.headers["content-type"] == "text/javascript; charset=utf-8"
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.text.startswith("const SHELL_VERSION = ")
    assert worker.text == again.text, "the version is stable while the files are"
    assert "/static/vendor/zxing-wasm/zxing_reader.wasm" in worker.text


async def test_manifest_names_the_app_and_its_icons(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/static/manifest.webmanifest")
        assert response.headers["content-type"].startswith("application/manifest+json")
        manifest = response.json()
        assert manifest["display"] == "standalone"
        assert manifest["start_url"] == "/" and manifest["scope"] == "/"
        assert manifest["theme_color"]
        sizes = set()
        for icon in manifest["icons"]:
            image = await client.get(icon["src"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/png"
            width, height = png_size(image.content)
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


async def test_service_worker_controls_the_page_and_nothing_leaves_the_loopback(
    browser, live_server
):
    context, page, traffic = await new_page(browser, live_server)
    try:
        await page.goto("/")
        await page.wait_for_selector("#badge")
        scope = await page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.scope + ' ' + r.active.scriptURL)"
        )
        assert scope == f"{live_server.url}/ {live_server.url}/sw.js"
        # clients.claim(): the page that registered the worker is controlled without a reload.
        await page.wait_for_function("navigator.serviceWorker.controller !== null")
        cached = await page.evaluate(
            """async () => {
                const names = (await caches.keys()).filter(n => n.startsWith('lotline-shell-'));
                const cache = await caches.open(names[0]);
                return {names, urls: (await cache.keys()).map(r => new URL(r.url).pathname)};
            }"""
        )
        assert len(cached["names"]) == 1
        assert {"/", "/static/js/main.js", "/static/css/app.css"} <= set(cached["urls"])
        assert "/static/vendor/zxing-wasm/zxing_reader.wasm" in cached["urls"]
        assert not [url for url in cached["urls"] if url.startswith("/api/")]
        assert await page.evaluate("document.body.dataset.serviceWorker") == "registered"

        # A reload is served through the worker and still asks nothing of the outside world.
        await page.reload()
        await page.wait_for_selector("#badge")
        assert await page.evaluate("navigator.serviceWorker.controller.scriptURL") == (
            f"{live_server.url}/sw.js"
        )

        # The documented way out: /?unregister-sw removes the worker and its caches.
        await page.goto("/?unregister-sw")
        await page.wait_for_function("document.body.dataset.serviceWorker === 'unregistered'")
        assert await page.evaluate("navigator.serviceWorker.getRegistrations()") == []
        assert await page.evaluate("caches.keys()") == []
    finally:
        await context.close()
    hosts = {urlsplit(url).hostname for url in traffic.urls}
    assert hosts == {"127.0.0.1"}, traffic.urls
