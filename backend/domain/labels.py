"""What a label says and how a Zebra printer is told to print it: pure values, no I/O.

A lot label carries a GS1 element string: the product's GTIN (AI 01), the expiry (AI 17) or,
without one, the best-before date (AI 15), the lot (AI 10) and, when given, a serial (AI 21).
Fixed-length AIs come first so only the variable ones need a separator (FNC1, read back as
GS) after them, and none after the last. Location and badge labels carry lotline's own text
(`LOC-<WH>-<CODE>`, `BADGE-...`) as plain Code 128.

`zpl` turns labels into ZPL II: `^BC` in automatic mode with `>8` for FNC1 (GS1-128 and
Code 128), `^BX` quality 200 with `_1` for FNC1 (GS1 DataMatrix), and `^A0` text fields for
what people read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from backend.domain.barcodes.messages import GS
from backend.domain.check_digits import gs1_check_digit

__all__ = [
    "GS1_SYMBOLS",
    "Barcode",
    "Dpi",
    "Label",
    "LabelError",
    "LabelSize",
    "LotFacts",
    "Symbology",
    "badge_label",
    "bracketed",
    "code128_modules",
    "datamatrix_side",
    "element_string",
    "location_label",
    "lot_ais",
    "lot_label",
    "zpl",
]

Symbology = Literal["datamatrix", "gs1-128", "code128"]
GS1_SYMBOLS: tuple[Symbology, ...] = ("datamatrix", "gs1-128")
Dpi = Literal[203, 300, 600]
"""Zebra print-head resolutions, dots per inch."""

_CSET82 = re.compile(r"[!\"%&'*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
"""A GS1 AI 10 or 21 value on our labels: 1-20 characters of CSET 82 without parentheses
(the symbol encoders take bracketed text, where a parenthesis would read as an AI)."""
_CODE128_TEXT = re.compile(r"[!-\]_-}]{1,80}")
"""Our own labels' text: printable ASCII without space, `^` and `~` (ZPL's command marks)."""
_FIXED_LENGTH = frozenset({"01", "11", "15", "17"})
_DATAMATRIX_SQUARES = (
    (10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36), (26, 44),
    (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204),
)  # fmt: skip
"""ECC 200 square symbols: modules per side and data codewords they hold."""
_DIGITS = frozenset("0123456789")
_ZPL_TEXT_ESCAPES = {"^": "\\5E", "~": "\\7E", "\\": "\\5C"}


class LabelError(ValueError):
    """A label that cannot be made; `field` says which value is at fault."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


@dataclass(frozen=True)
class LotFacts:
    """What a lot label needs to know about the lot."""

    gtin: str | None
    lot: str
    product_name: str
    sku: str
    expiry: date | None = None
    best_before: date | None = None


@dataclass(frozen=True)
class Barcode:
    """One symbol: for GS1 symbologies `data` is the bracketed element string."""

    symbology: Symbology
    data: str
    ais: tuple[tuple[str, str], ...] = ()
    """The GS1 AIs and values, in order; empty for plain Code 128."""

    @property
    def gs1(self) -> bool:
        """Whether the symbol carries a GS1 element string (FNC1 first)."""
        return self.symbology in GS1_SYMBOLS


@dataclass(frozen=True)
class Label:
    """A barcode with the lines people read: the first is the title, the last the HRI."""

    barcode: Barcode
    lines: tuple[str, ...]


@dataclass(frozen=True)
class LabelSize:
    """A label's printable area in millimetres and the printer's resolution."""

    width_mm: float = 100.0
    height_mm: float = 50.0
    dpi: Dpi = 203

    def dots(self, mm: float) -> int:
        """`mm` in printer dots at this resolution."""
        return round(mm * self.dpi / 25.4)


def lot_ais(facts: LotFacts, serial: str | None = None) -> list[tuple[str, str]]:
    """The lot's AIs in label order: fixed-length ones (01, 17 or 15) first, then 10, 21."""
    if facts.gtin is None:
        raise LabelError("gtin", f"Product {facts.sku} has no GTIN to put on a GS1 label.")
    if not (
        re.fullmatch(r"\d{14}", facts.gtin)
        and gs1_check_digit(facts.gtin[:13]) == int(facts.gtin[13])
    ):
        raise LabelError("gtin", f"{facts.gtin!r} is not a GTIN-14 with a right check digit.")
    if not _CSET82.fullmatch(facts.lot):
        raise LabelError("lot", f"Lot code {facts.lot!r} has characters a GS1 label cannot carry.")
    if serial is not None and not _CSET82.fullmatch(serial):
        raise LabelError(
            "serial",
            "A serial is 1-20 GS1 characters (letters, digits, -./_ ...), no parentheses.",
        )
    ais = [("01", facts.gtin)]
    if facts.expiry is not None:
        ais.append(("17", facts.expiry.strftime("%y%m%d")))
    elif facts.best_before is not None:
        ais.append(("15", facts.best_before.strftime("%y%m%d")))
    ais.append(("10", facts.lot))
    if serial is not None:
        ais.append(("21", serial))
    return ais


def element_string(ais: Sequence[tuple[str, str]]) -> str:
    """The AIs as a scanner transmits them: GS after each variable-length value but the last."""
    parts = []
    for n, (ai, value) in enumerate(ais):
        parts.append(ai + value)
        if ai not in _FIXED_LENGTH and n < len(ais) - 1:
            parts.append(GS)
    return "".join(parts)


def bracketed(ais: Sequence[tuple[str, str]]) -> str:
    """The human-readable interpretation, `(01)...(17)...(10)...`."""
    return "".join(f"({ai}){value}" for ai, value in ais)


def lot_label(facts: LotFacts, symbology: Symbology, serial: str | None = None) -> Label:
    """A lot's label: product, SKU, lot, date and serial lines above a GS1 symbol."""
    ais = lot_ais(facts, serial)
    lines = [facts.product_name, f"SKU {facts.sku}   LOT {facts.lot}"]
    if facts.expiry is not None:
        lines.append(f"EXP {facts.expiry.isoformat()}")
    elif facts.best_before is not None:
        lines.append(f"BEST BEFORE {facts.best_before.isoformat()}")
    if serial is not None:
        lines.append(f"SN {serial}")
    text = bracketed(ais)
    lines.append(text)
    return Label(Barcode(symbology, text, tuple(ais)), tuple(lines))


def location_label(barcode: str, warehouse: str, code: str) -> Label:
    """A location's label: its own barcode text as Code 128, under the warehouse and code."""
    _check_code128(barcode)
    return Label(Barcode("code128", barcode), (f"{warehouse} {code}", barcode))


def badge_label(badge: str, display_name: str) -> Label:
    """A person's badge: their badge text as Code 128 under their display name."""
    _check_code128(badge)
    return Label(Barcode("code128", badge), (display_name, badge))


def _check_code128(text: str) -> None:
    if not _CODE128_TEXT.fullmatch(text):
        raise LabelError("barcode", f"{text!r} has characters our Code 128 labels do not carry.")


def zpl(labels: Sequence[Label], size: LabelSize = LabelSize(), copies: int = 1) -> str:
    """ZPL II for `labels`, one `^XA...^XZ` format each, every one printed `copies` times."""
    return "".join(_zpl_format(label, size, copies) for label in labels)


def _zpl_format(label: Label, size: LabelSize, copies: int) -> str:
    margin = size.dots(2)
    title, text_height = size.dots(4), size.dots(3)
    commands = ["^XA", "^CI28", f"^PW{size.dots(size.width_mm)}", f"^LL{size.dots(size.height_mm)}"]
    y = margin
    body, hri = label.lines[:-1], label.lines[-1]
    for n, line in enumerate(body):
        height = title if n == 0 else text_height
        commands.append(f"^FO{margin},{y}^A0N,{height},{height}^FH\\^FD{_zpl_text(line)}^FS")
        y += height + size.dots(1)
    y += size.dots(1)
    data = element_string(label.barcode.ais) if label.barcode.gs1 else label.barcode.data
    if label.barcode.symbology == "datamatrix":
        module = max(1, size.dots(0.5))
        commands.append(f"^FO{margin},{y}^BXN,{module},200,,,,_^FD{_datamatrix_data(label)}^FS")
        y += module * (datamatrix_side(data, gs1=True) + 2)
    else:
        # The widest module up to 0.25 mm at which the symbol and its quiet zones fit.
        room = size.dots(size.width_mm) - 2 * margin
        modules = code128_modules(data, gs1=label.barcode.gs1) + 20
        module = min(size.dots(0.25), room // modules)
        if module < 1:
            raise LabelError(
                "size", f"The barcode needs {modules} dots across; this label has {room}."
            )
        bar_height = size.dots(12)
        left = margin + 10 * module  # Code 128's quiet zone
        commands.append(
            f"^FO{left},{y}^BY{module}^BCN,{bar_height},N,N,N,A^FD{_code128_data(label)}^FS"
        )
        y += bar_height + size.dots(1)
    commands.append(f"^FO{margin},{y}^A0N,{text_height},{text_height}^FH\\^FD{_zpl_text(hri)}^FS")
    commands.append(f"^PQ{copies}")
    commands.append("^XZ")
    return "\n".join(commands) + "\n"


def datamatrix_side(text: str, *, gs1: bool) -> int:
    """Modules per side of the smallest square DataMatrix holding `text` (GS for FNC1) in
    ASCII encodation, where a digit pair is one codeword: an upper bound, encoders may pack
    tighter. Lets ZPL leave room for the symbol the printer will draw."""
    codewords, n = int(gs1), 0
    while n < len(text):
        pair = text[n : n + 2]
        if len(pair) == 2 and pair[0] in _DIGITS and pair[1] in _DIGITS:
            n += 2
        else:
            n += 1
        codewords += 1
    for side, capacity in _DATAMATRIX_SQUARES:
        if codewords <= capacity:
            return side
    raise LabelError("barcode", "The label's data is too long for one DataMatrix.")


def code128_modules(text: str, *, gs1: bool) -> int:
    """Modules of a Code 128 symbol of `text` (GS for FNC1) without quiet zones, for code B
    with runs of four or more digits in code C: an upper bound of what an encoder draws."""
    codewords = 2 + int(gs1)  # start and check character, and the leading FNC1
    n = 0
    while n < len(text):
        run = n
        while run < len(text) and text[run] in _DIGITS:
            run += 1
        digits = run - n
        if digits >= 4:
            codewords += 2 + digits // 2 + digits % 2  # switch to C and back, odd digit in B
            n = run
        else:
            codewords += 1
            n += 1
    return codewords * 11 + 13


def _zpl_text(text: str) -> str:
    """Text for an `^FH\\` field: the characters ZPL reads as commands, as hex."""
    return "".join(_ZPL_TEXT_ESCAPES.get(char, char) for char in text)


def _code128_data(label: Label) -> str:
    """`^BC` field data: `>8` is FNC1 (first for GS1, then after variable values); `><` is `>`."""
    if not label.barcode.gs1:
        return label.barcode.data.replace(">", "><")
    data = element_string(label.barcode.ais).replace(">", "><")
    return ">;>8" + data.replace(GS, ">8")


def _datamatrix_data(label: Label) -> str:
    """`^BX` field data with `_` as escape: `_1` is FNC1, `_d095` a literal underscore."""
    data = element_string(label.barcode.ais).replace("_", "_d095")
    return "_1" + data.replace(GS, "_1")
