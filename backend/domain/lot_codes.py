"""Lot codes made from a product's template.

A template mixes literal text with placeholders: `{YY}` `{YYYY}` `{MM}` `{DD}` (the receipt
date), `{SKU}`, `{SUPPLIER}` (the supplier's code) and `{SEQ:n}` (the product's lot sequence,
zero-padded to at least n digits). The result must fit GS1's AI (10): at most 20 characters
from the GS1 "CSET 82" set, so every code can be printed on a GS1 label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "DEFAULT_TEMPLATE",
    "LotCodeError",
    "is_printable_lot_code",
    "render_lot_code",
    "validate_template",
]

DEFAULT_TEMPLATE = "{YY}{MM}{DD}-{SEQ:4}"

_PLACEHOLDER = re.compile(r"\{([A-Z]+)(?::(\d+))?\}")
_KNOWN = {"YY", "YYYY", "MM", "DD", "SKU", "SUPPLIER", "SEQ"}
# GS1 CSET 82: the characters allowed in a lot (AI 10) or serial (AI 21).
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")


class LotCodeError(ValueError):
    """A template that cannot make valid lot codes, with a stable `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class _Values:
    day: date
    sku: str
    supplier: str
    sequence: int


def validate_template(template: str) -> None:
    """Raise LotCodeError unless `template` has only known placeholders and a `{SEQ:n}`."""
    names = [match.group(1) for match in _PLACEHOLDER.finditer(template)]
    unknown = sorted(set(names) - _KNOWN)
    if unknown:
        raise LotCodeError("invalid_lot_template", f"Unknown placeholder: {', '.join(unknown)}.")
    if "SEQ" not in names:
        raise LotCodeError(
            "invalid_lot_template", "A lot code template needs {SEQ:n} so codes never repeat."
        )
    leftover = _PLACEHOLDER.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise LotCodeError("invalid_lot_template", "Unbalanced braces in the lot code template.")
    for match in _PLACEHOLDER.finditer(template):
        width = match.group(2)
        if width is not None and not 1 <= int(width) <= 12:
            raise LotCodeError("invalid_lot_template", "{SEQ:n} takes a width from 1 to 12.")


def render_lot_code(
    template: str, *, day: date, sku: str, supplier: str | None, sequence: int
) -> str:
    """Fill `template` for one receipt; raise LotCodeError if the code is not printable."""
    validate_template(template)
    values = _Values(day=day, sku=sku, supplier=supplier or "", sequence=sequence)

    def fill(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if name == "SEQ":
            return str(values.sequence).zfill(int(width or 1))
        if width is not None:
            raise LotCodeError("invalid_lot_template", f"{{{name}}} takes no width.")
        return {
            "YY": f"{values.day.year % 100:02d}",
            "YYYY": f"{values.day.year:04d}",
            "MM": f"{values.day.month:02d}",
            "DD": f"{values.day.day:02d}",
            "SKU": values.sku,
            "SUPPLIER": values.supplier,
        }[name]

    code = _PLACEHOLDER.sub(fill, template)
    if not is_printable_lot_code(code):
        raise LotCodeError(
            "invalid_lot_code",
            f"The template makes {code!r}: a lot code is 1-20 GS1 characters (AI 10).",
        )
    return code


def is_printable_lot_code(code: str) -> bool:
    """Whether `code` can be carried in GS1 AI (10): 1-20 characters of CSET 82."""
    return bool(_CSET82.match(code))
