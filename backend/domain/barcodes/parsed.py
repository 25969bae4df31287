"""The result of reading one barcode: the shape API.md calls "Parsed barcode".

Every input, however broken, gives a `Parsed`; garbage gives `valid=False` with at least one
coded error, never an exception.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

__all__ = ["BarcodeError", "Kind", "Parsed"]

Kind = Literal["gs1", "digital_link", "gtin", "sscc", "location", "badge", "internal", "unknown"]


class BarcodeError(msgspec.Struct, frozen=True):
    """One thing wrong with a barcode: a stable `code` and a message a person can act on."""

    code: str
    message: str


class Parsed(msgspec.Struct, rename="camel", kw_only=True):
    """What a barcode says. Absent values are null; `gtin` is always 14 digits."""

    valid: bool
    kind: Kind
    symbology: str | None = None
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    best_before: date | None = None
    production_date: date | None = None
    sscc: str | None = None
    count: int | None = None
    ais: dict[str, str] = msgspec.field(default_factory=dict)
    """Every GS1 Application Identifier read, in the order read, with its raw value."""
    label: str | None = None
    """lotline's own labels (location, badge, tote): the label's text as printed."""
    errors: list[BarcodeError] = msgspec.field(default_factory=list)
