"""WHERE clauses built from the filters a search was given, and only those.

Pooled connections use generic plans (see `engine.init_connection`), and a generic plan
cannot drop `($1 IS NULL OR col = $1)` branches; a clause per given filter keeps each search
on its index.
"""

from __future__ import annotations

from typing import Any

__all__ = ["where"]


def where(conditions: dict[str, Any], first: int = 1) -> tuple[str, list[Any]]:
    """`WHERE a = $1 AND ...` for the conditions whose value is not None, and their values.

    Keys are SQL conditions with `{}` where the parameter goes, e.g. `"p.sku = {}"`.
    """
    clauses, values = [], []
    for condition, value in conditions.items():
        if value is None:
            continue
        values.append(value)
        clauses.append(condition.format(f"${first + len(values) - 1}"))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), values
