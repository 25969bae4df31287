"""The handheld app's shell at `/` and its service worker at `/sw.js`.

The shell is static (pwa/static/index.html and the ES modules under pwa/static/js/); the
only thing computed here is the service worker's precache list and its version, a hash of
the precached files' contents, so any change to a shell file installs a new worker and
replaces the old cache without anyone bumping a constant by hand.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import lru_cache
from pathlib import Path

from litestar import Response, get

from backend.auth.guards import PUBLIC
from backend.settings import PROJECT_ROOT

__all__ = ["SHELL_DIR", "precached_shell", "service_worker", "shell_page"]

SHELL_DIR = PROJECT_ROOT / "pwa" / "static"
"""pwa/static: served at /static by the app's static router; index.html and sw.js live here."""

PRECACHED_FOLDERS = ("js", "css", "icons", "vendor/zxing-wasm", "vendor/idb")
"""Folders of SHELL_DIR whose every file the service worker precaches (the app shell)."""

PRECACHED_FILES = ("manifest.webmanifest",)
"""Single files of SHELL_DIR the service worker precaches besides those folders."""

# Some systems' mime.types lack these; the camera decoder streams its wasm only when served
# as application/wasm, and browsers want the manifest's own type.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/manifest+json", ".webmanifest")

_NO_CACHE = {"Cache-Control": "no-cache"}
"""The shell page and the worker are revalidated on every load, so updates arrive at once."""


def _static_shell_files() -> list[Path]:
    paths = [SHELL_DIR / name for name in PRECACHED_FILES]
    for folder in PRECACHED_FOLDERS:
        root = SHELL_DIR / folder
        if root.is_dir():
            paths.extend(sorted(p for p in root.rglob("*") if p.is_file()))
    return paths


@lru_cache(maxsize=4)
def _hash_files(signature: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in signature:
        digest.update(name.encode())
        digest.update((SHELL_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def precached_shell() -> tuple[str, list[str]]:
    """The shell's version (a hash of its files) and the URLs the service worker precaches."""
    static = _static_shell_files()
    signature = tuple(
        (p.relative_to(SHELL_DIR).as_posix(), p.stat().st_mtime_ns, p.stat().st_size)
        for p in [SHELL_DIR / "index.html", SHELL_DIR / "sw.js", *static]
    )
    urls = ["/", *(f"/static/{p.relative_to(SHELL_DIR).as_posix()}" for p in static)]
    return _hash_files(signature), urls


@get("/", opt=PUBLIC, include_in_schema=False, name="pwa-shell")
async def shell_page() -> Response[bytes]:
    """The handheld app: a static page that loads /static/js/main.js."""
    return Response(
        (SHELL_DIR / "index.html").read_bytes(),
        media_type="text/html",
        headers=_NO_CACHE,
    )


@get("/sw.js", opt=PUBLIC, include_in_schema=False, name="pwa-service-worker")
async def service_worker() -> Response[bytes]:
    """The service worker, served from the root so its scope is the whole app.

    Its first two lines, written here, name the shell version and the files to precache.
    """
    version, urls = precached_shell()
    prelude = (
        f"const SHELL_VERSION = {json.dumps(version)};\nconst SHELL_FILES = {json.dumps(urls)};\n"
    )
    return Response(
        prelude.encode() + (SHELL_DIR / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={**_NO_CACHE, "Service-Worker-Allowed": "/"},
    )
