"""Wire shapes of cycle counts."""

from __future__ import annotations

import msgspec

__all__ = ["CountTaskView"]


class CountTaskView(msgspec.Struct, rename="camel", kw_only=True):
    """A count task as its counter sees it: SCAFFOLD, to be completed by the counts
    capability."""

    id: int
