"""Load what a label says from the database and render it as SVG, PDF or ZPL."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg

from backend.domain.labels import (
    Dpi,
    Label,
    LabelError,
    LabelSize,
    LotFacts,
    Symbology,
    badge_label,
    location_label,
    lot_label,
    zpl,
)
from backend.errors import DomainError
from backend.labels.drawing import lay_out
from backend.labels.pdf import Paper, pdf
from backend.labels.svg import svg

__all__ = [
    "LABEL_SIZES",
    "MAX_LABELS",
    "MEDIA_TYPES",
    "Format",
    "LabelSizeName",
    "Printing",
    "Rendered",
    "badge",
    "label_path",
    "location",
    "location_codes",
    "locations",
    "lot",
    "render",
]

Format = Literal["svg", "pdf", "zpl"]
LabelSizeName = Literal["100x50", "100x70", "100x150", "70x37"]
LABEL_SIZES: dict[str, tuple[float, float]] = {
    "100x50": (100.0, 50.0),
    "100x70": (100.0, 70.0),
    "100x150": (100.0, 150.0),
    "70x37": (70.0, 37.0),
}
"""Label sizes in mm (width x height) a label printer or a single-label PDF page can use."""

MAX_LABELS = 2000
"""Most labels one file holds (labels times copies)."""

MEDIA_TYPES = {
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "zpl": "text/plain",
}
"""What each format is served as; ZPL is text a printer (or a person) reads."""
_PATH = re.compile(r"(?P<key>[^./]{1,80})\.(?P<format>svg|pdf|zpl)")


@dataclass(frozen=True)
class Printing:
    """How to print: the label size, the printer's resolution, the PDF paper and copies."""

    size: LabelSizeName = "100x50"
    dpi: Dpi = 203
    paper: Paper = "a4"
    copies: int = 1


@dataclass(frozen=True)
class Rendered:
    """A rendered label file: its bytes, media type and a file name to save it as."""

    content: bytes
    media_type: str
    filename: str


def label_path(name: str, *, numeric: bool) -> tuple[str, Format]:
    """Split `12.svg` (or `ana.pdf`) into its key and format; anything else is no label."""
    match = _PATH.fullmatch(name)
    if match is None or (numeric and not re.fullmatch(r"\d{1,18}", match["key"])):
        raise DomainError(
            "label_not_found",
            "A label path is its id (a username for badges) then .svg, .pdf or .zpl.",
            404,
        )
    return match["key"], match["format"]  # type: ignore[return-value]


def render(labels: Sequence[Label], form: Format, printing: Printing, filename: str) -> Rendered:
    """`labels` (each `printing.copies` times) as one SVG (the first label), PDF or ZPL file."""
    if len(labels) * printing.copies > MAX_LABELS:
        raise DomainError(
            "too_many_labels",
            f"{len(labels)} labels x {printing.copies} copies is more than {MAX_LABELS} a file.",
            422,
        )
    width, height = LABEL_SIZES[printing.size]
    try:
        if form == "svg":
            content = svg(lay_out(labels[0], width, height)).encode()
        elif form == "pdf":
            copies = [label for label in labels for _ in range(printing.copies)]
            content = pdf(copies, printing.paper, (width, height))
        else:
            size = LabelSize(width, height, printing.dpi)
            content = zpl(labels, size, printing.copies).encode()
    except LabelError as exc:
        raise DomainError(
            "label_too_small",
            f"{exc} Choose a larger size, a higher dpi, or a DataMatrix.",
            422,
        ) from exc
    return Rendered(content, MEDIA_TYPES[form], f"{filename}.{form}")


async def lot(
    db: asyncpg.Connection, lot_id: int, symbology: Symbology, serial: str | None
) -> Label:
    """A lot's GS1 label; refused when the product has no GTIN or the values cannot be
    carried in a GS1 symbol."""
    row = await db.fetchrow(
        """
        SELECT l.code, l.expiry_date, l.best_before_date, p.sku, p.name,
               (SELECT min(g.gtin) FROM product_gtin g WHERE g.product_id = p.id) AS gtin
        FROM lot l JOIN product p ON p.id = l.product_id
        WHERE l.id = $1
        """,
        lot_id,
    )
    if row is None:
        raise DomainError("lot_not_found", f"No lot {lot_id}.", 404)
    facts = LotFacts(
        gtin=row["gtin"],
        lot=row["code"],
        product_name=row["name"],
        sku=row["sku"],
        expiry=row["expiry_date"],
        best_before=row["best_before_date"],
    )
    try:
        return lot_label(facts, symbology, serial)
    except LabelError as exc:
        if exc.field == "serial":
            raise DomainError("invalid_label_serial", str(exc), 422) from exc
        raise DomainError("lot_not_labelable", str(exc), 409) from exc


async def location(db: asyncpg.Connection, location_id: int) -> Label:
    """One location's label."""
    row = await db.fetchrow(
        """
        SELECT l.barcode, l.code, w.code AS warehouse
        FROM location l JOIN warehouse w ON w.id = l.warehouse_id
        WHERE l.id = $1
        """,
        location_id,
    )
    if row is None:
        raise DomainError("location_not_found", f"No location {location_id}.", 404)
    return _printable(location_label, row["barcode"], row["warehouse"], row["code"])


def location_codes(codes: str | None) -> list[str] | None:
    """`A-01-01,A-01-02` (a query parameter) as a list, blanks dropped; None (every location)
    when not given."""
    if codes is None:
        return None
    named = [code.strip() for code in codes.split(",") if code.strip()]
    return named or None


async def locations(
    db: asyncpg.Connection, warehouse: str, codes: Sequence[str] | None
) -> list[Label]:
    """Labels of a warehouse's locations: those named by code, in the order named, or all its
    active ones in walking order."""
    warehouse_id = await db.fetchval("SELECT id FROM warehouse WHERE code = $1", warehouse)
    if warehouse_id is None:
        raise DomainError("unknown_warehouse", f"No warehouse {warehouse!r}.", 422)
    rows = await db.fetch(
        """
        SELECT code, barcode FROM location
        WHERE warehouse_id = $1 AND ($2::text[] IS NULL OR code = ANY($2)) AND
              ($2::text[] IS NOT NULL OR active)
        ORDER BY walk_sequence, code
        """,
        warehouse_id,
        list(codes) if codes is not None else None,
    )
    by_code = {row["code"]: row["barcode"] for row in rows}
    if codes is None:
        if not by_code:
            raise DomainError(
                "unknown_location", f"Warehouse {warehouse} has no active locations.", 422
            )
        return [
            _printable(location_label, barcode, warehouse, code)
            for code, barcode in by_code.items()
        ]
    missing = [code for code in codes if code not in by_code]
    if missing:
        raise DomainError(
            "unknown_location",
            f"No location {', '.join(missing)} in warehouse {warehouse}.",
            422,
            missing=missing,
        )
    return [_printable(location_label, by_code[code], warehouse, code) for code in codes]


async def badge(db: asyncpg.Connection, username: str) -> Label:
    """A person's badge label; refused when they have no badge."""
    row = await db.fetchrow(
        "SELECT display_name, badge FROM app_user WHERE username = $1", username
    )
    if row is None:
        raise DomainError("user_not_found", f"No user {username!r}.", 404)
    if row["badge"] is None:
        raise DomainError("badge_not_set", f"{username} has no badge to print.", 409)
    return _printable(badge_label, row["badge"], row["display_name"])


def _printable(make: Callable[..., Label], barcode: str, *lines: str) -> Label:
    try:
        return make(barcode, *lines)
    except LabelError as exc:
        raise DomainError("label_not_printable", str(exc), 409) from exc
