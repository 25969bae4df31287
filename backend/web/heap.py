"""Keep Python's cyclic garbage collector out of the way of requests.

A worker's heap after start-up (Litestar's routes, signature models, msgspec types, Piccolo
tables) is some 60,000 objects that live as long as the worker. Left alone, every full
collection walks all of them: 60-100 ms with the CPU shared with PostgreSQL, every few
seconds under load, and every request in flight waits (py-spy and gc.callbacks showed it was
most of the benchmark's p99). Freezing them after start-up moves them out of the collector's
sight; later collections walk only what requests and caches made since.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_long_lived", "settle_heap"]

YOUNG_THRESHOLD = 7_000
"""Allocations between young collections (CPython's default is 700): a request allocates
a few hundred short-lived objects, so the default collected several times a request."""


def freeze_long_lived() -> None:
    """Collect once, then keep everything alive now out of every later collection."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, gc.get_threshold()[0]), middle, old)


async def settle_heap() -> None:
    """Start-up hook, once the app and its pool exist."""
    freeze_long_lived()
