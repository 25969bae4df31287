"""A label laid out in millimetres: the symbol's dark modules as rectangles, and text lines.

The symbol's modules come from zxing-cpp's encoder (GS1 DataMatrix, GS1-128, Code 128), so
we never encode barcodes ourselves. SVG and PDF both draw the same `Drawing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import zxingcpp

from backend.domain.labels import Barcode, Label, LabelError

__all__ = ["Drawing", "Rect", "Text", "lay_out", "modules"]

_FORMATS = {
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "gs1-128": zxingcpp.BarcodeFormat.Code128,
    "code128": zxingcpp.BarcodeFormat.Code128,
}
_MARGIN = 3.0
_TITLE = 3.5
_LINE = 2.6
_LEADING = 1.25
_MATRIX_MODULE = 0.5
_MATRIX_QUIET = 2
"""Quiet zone of a DataMatrix in modules (the standard asks for one)."""
_LINEAR_MODULE = 0.33
_MIN_LINEAR_MODULE = 0.17
"""Narrower bars than this blur on office laser printers and cheap scanners miss them."""
_LINEAR_QUIET = 10
"""Quiet zone of Code 128 on each side, in modules."""
_MAX_BAR_HEIGHT = 15.0


@dataclass(frozen=True)
class Rect:
    """A dark rectangle, in mm from the label's top left corner."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Text:
    """A line of text: `y` is its baseline, `size` the font size in mm."""

    x: float
    y: float
    size: float
    text: str
    bold: bool = False


@dataclass
class Drawing:
    """Everything drawn on one label of `width` x `height` mm."""

    width: float
    height: float
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)


def modules(barcode: Barcode) -> np.ndarray:
    """The symbol's modules as booleans (True is dark), without quiet zones; a linear
    symbol is one row."""
    options = {"forceSquare": True} if barcode.symbology == "datamatrix" else {}
    # Square: the rectangular DMRE sizes zint would pick for long strings are not read by
    # every scanner.
    symbol = zxingcpp.create_barcode(
        barcode.data, _FORMATS[barcode.symbology], gs1=barcode.gs1, **options
    )
    pixels = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False, add_hrt=False))
    dark = pixels < 128
    return dark if barcode.symbology == "datamatrix" else dark[:1]


def lay_out(label: Label, width: float, height: float) -> Drawing:
    """`label` on a `width` x `height` mm label: text lines, the symbol below them with its
    quiet zones, and the human-readable interpretation under the symbol. A linear symbol too
    long for the label's width is refused (`LabelError` of field `size`)."""
    drawing = Drawing(width, height)
    y = _MARGIN
    *body, hri = label.lines
    for n, line in enumerate(body):
        size = _TITLE if n == 0 else _LINE
        y += size
        drawing.texts.append(Text(_MARGIN, y, size, line, bold=n == 0))
        y += size * (_LEADING - 1)
    y += 1.0
    dark = modules(label.barcode)
    rows, columns = dark.shape
    if label.barcode.symbology == "datamatrix":
        module = _MATRIX_MODULE
        left = _MARGIN + _MATRIX_QUIET * module
        top = y + _MATRIX_QUIET * module
        bar_height = module
        y = top + rows * module + _MATRIX_QUIET * module
    else:
        room = width - 2 * _MARGIN
        module = min(_LINEAR_MODULE, room / (columns + 2 * _LINEAR_QUIET))
        if module < _MIN_LINEAR_MODULE:
            raise LabelError(
                "size", f"{columns} bars' modules would be {module:.2f} mm on a {width:g} mm label."
            )
        left = _MARGIN + _LINEAR_QUIET * module
        top = y
        bar_height = max(4.0, min(_MAX_BAR_HEIGHT, height - y - _MARGIN - _LINE * _LEADING))
        y = top + bar_height
    for row in range(rows):
        start = None
        for column in range(columns + 1):
            is_dark = column < columns and bool(dark[row, column])
            if is_dark and start is None:
                start = column
            elif not is_dark and start is not None:
                drawing.rects.append(
                    Rect(
                        left + start * module,
                        top + row * module,
                        (column - start) * module,
                        bar_height,
                    )
                )
                start = None
    drawing.texts.append(Text(_MARGIN, y + _LINE * _LEADING, _LINE, hri))
    return drawing
