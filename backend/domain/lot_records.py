"""What a receipt may say about a lot that already exists, and dates derived on receipt."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

__all__ = ["derived_expiry", "record_conflicts"]


def derived_expiry(
    expiry: date | None, production_date: date | None, shelf_life_days: int | None
) -> date | None:
    """The expiry given, or else production date plus the product's shelf life."""
    if expiry is not None or production_date is None or shelf_life_days is None:
        return expiry
    return production_date + timedelta(days=shelf_life_days)


def record_conflicts(recorded: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Fields a receipt gives that differ from the lot's record (omitted fields never do)."""
    return sorted(
        name for name, value in given.items() if value is not None and recorded.get(name) != value
    )
