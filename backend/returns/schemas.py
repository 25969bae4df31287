"""Wire shapes of returns."""

from __future__ import annotations

import msgspec

__all__ = ["ReturnOut"]


class ReturnOut(msgspec.Struct, rename="camel", kw_only=True):
    """A return of an order: SCAFFOLD, to be completed by the returns capability."""

    id: int
