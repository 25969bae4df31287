"""Labels as PDF for office printers: a grid of labels on A4 or Letter, or one label a page."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from fpdf import FPDF

from backend.domain.labels import Label
from backend.labels.drawing import Drawing, lay_out

__all__ = ["SHEETS", "Paper", "pdf"]

Paper = Literal["a4", "letter", "label"]
SHEETS: dict[str, tuple[float, float, int, int]] = {
    "a4": (210.0, 297.0, 3, 8),
    "letter": (215.9, 279.4, 3, 7),
}
"""Sheet width and height in mm, and its grid of labels (columns, rows)."""

_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_PT_PER_MM = 72 / 25.4


def pdf(labels: Sequence[Label], paper: Paper, label_size: tuple[float, float]) -> bytes:
    """`labels` in order: on a sheet's grid (filling rows left to right, pages as needed) or,
    with `paper="label"`, each on its own page of `label_size` (width, height in mm). Copies
    are the same `Label` object repeated, laid out once."""
    if paper == "label":
        width, height = label_size
        document = _document((width, height))
        drawings: dict[int, Drawing] = {}
        for label in labels:
            document.add_page()
            if id(label) not in drawings:
                drawings[id(label)] = lay_out(label, width, height)
            _draw(document, drawings[id(label)], 0.0, 0.0)
        return bytes(document.output())
    page_width, page_height, columns, rows = SHEETS[paper]
    cell_width, cell_height = page_width / columns, page_height / rows
    document = _document((page_width, page_height))
    cells: dict[int, Drawing] = {}
    for n, label in enumerate(labels):
        slot = n % (columns * rows)
        if slot == 0:
            document.add_page()
        row, column = divmod(slot, columns)
        if id(label) not in cells:
            cells[id(label)] = lay_out(label, cell_width, cell_height)
        _draw(document, cells[id(label)], column * cell_width, row * cell_height)
    return bytes(document.output())


def _document(page: tuple[float, float]) -> FPDF:
    document = FPDF(unit="mm", format=page)
    document.set_auto_page_break(False)
    document.set_margin(0)
    document.set_creator("lotline")
    if _FONT.exists() and _BOLD_FONT.exists():
        document.add_font("label", "", str(_FONT))
        document.add_font("label", "B", str(_BOLD_FONT))
    return document


def _draw(document: FPDF, drawing: Drawing, left: float, top: float) -> None:
    document.set_fill_color(0)
    for rect in drawing.rects:
        document.rect(left + rect.x, top + rect.y, rect.width, rect.height, style="F")
    unicode = "label" in document.fonts
    for text in drawing.texts:
        style = "B" if text.bold else ""
        document.set_font("label" if unicode else "helvetica", style, text.size * _PT_PER_MM)
        line = text.text if unicode else text.text.encode("latin-1", "replace").decode("latin-1")
        document.text(left + text.x, top + text.y, _fit(document, line, drawing.width - 2 * text.x))


def _fit(document: FPDF, line: str, room: float) -> str:
    """`line`, shortened with an ellipsis until it fits `room` mm."""
    if document.get_string_width(line) <= room:
        return line
    while line and document.get_string_width(line + "...") > room:
        line = line[:-1]
    return line + "..."
