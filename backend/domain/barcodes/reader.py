"""`parse_barcode`: turn whatever a scanner sent into a `Parsed`, never raising.

What a scan is, in the order we decide it:
1. A symbology identifier (`]C1`, `]d2`...; in the data or given separately) says how to read
   the rest: GS1-128/DataMatrix/QR/DataBar/DotCode carry element strings, EAN/UPC/ITF carry
   GTINs, others carry text.
2. Text is a lotline label (`LOC-`, `BADGE-`, `TOTE-`), a URI (a GS1 Digital Link when it is
   http(s) with a primary key), bracketed GS1 text `(01)...`, a plain GTIN-8/12/13/14 or
   SSCC, or an element string sent without a symbology identifier.

Wedge scanners cannot type GS (0x1D). Besides the real character we accept the textual forms
scanners and people use for it, `<GS>`, `{GS}`, `\\x1d`, `\\u001d`, `^]` and U+241D (none of
them can occur inside a GS1 value, except `<GS>`, whose characters are in CSET 82 but which
no real value spells), plus any stand-ins the caller configures in `separators`. Only
trailing CR, LF and Tab are trimmed: `str.strip()` would also eat GS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from backend.domain.check_digits import gs1_check_digit

from .ai_values import resolve_gs1_date
from .dictionary import AI_TABLE, lookup_ai
from .digital_link import SCHEME, read_digital_link
from .errors import error
from .messages import GS, read_bracketed, read_element_string, validate_pairs
from .parsed import BarcodeError, Kind, Parsed

__all__ = ["GS_TEXT_FORMS", "MAX_INPUT_LENGTH", "parse_barcode"]

MAX_INPUT_LENGTH = 4096
"""Longer than any barcode carries (a QR code tops out near 4,300 characters of text)."""

GS_TEXT_FORMS = ("<GS>", "{GS}", "\\x1d", "\\x1D", "\\u001d", "\\u001D", "^]", "\u241d")
"""Textual stand-ins for GS that scanners and hand-typed test data use; always accepted."""

_GS_TEXT = re.compile("|".join(re.escape(form) for form in GS_TEXT_FORMS))
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_ELEMENT_STRING_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]J1"})
_GTIN_SYMBOLOGIES = {"]E0": (13,), "]E4": (8,), "]I1": (14,)}
_LABELS: tuple[tuple[str, Kind], ...] = (
    ("LOC-", "location"),
    ("BADGE-", "badge"),
    ("TOTE-", "internal"),
)
_LABEL_BODY = re.compile(r"[!-~]+")
_KEY_AIS = frozenset(ai for ai, d in AI_TABLE.items() if d.dl_primary_key or ai[:2] == "41") | {
    "02",
    "03",
}
_TRAILING = "\r\n\t"


def parse_barcode(
    raw: str, *, symbology: str | None = None, separators: Sequence[str] = ()
) -> Parsed:
    """What `raw` (one scan, as the scanner sent it) says; problems come back as errors.

    `symbology` is the AIM identifier when the reader reports it apart from the data (with
    or without the leading `]`). `separators` are characters or strings the scanner was
    configured to send instead of GS.
    """
    try:
        return _parse(raw, symbology, separators, date.today().year)
    except Exception as exc:  # pragma: no cover - the property tests keep this unreachable
        return Parsed(
            valid=False,
            kind="unknown",
            errors=[error("internal_error", f"the parser failed: {type(exc).__name__}")],
        )


def _invalid(kind: Kind, symbology: str | None, *errors: BarcodeError) -> Parsed:
    return Parsed(valid=False, kind=kind, symbology=symbology, errors=list(errors))


def _parse(raw: str, symbology: str | None, separators: Sequence[str], current_year: int) -> Parsed:
    if not isinstance(raw, str):
        return _invalid("unknown", None, error("unrecognised", "the input is not text"))
    text = raw.rstrip(_TRAILING)
    if len(text) > MAX_INPUT_LENGTH:
        return _invalid(
            "unknown", None, error("input_too_long", f"{len(text)} characters is too long")
        )
    errors: list[BarcodeError] = []
    given = None
    if symbology:
        given = symbology if symbology.startswith("]") else "]" + symbology
        if not _SYMBOLOGY.fullmatch(given):
            errors.append(error("unknown_symbology", f"{symbology!r} is not an AIM identifier"))
            given = None
    found = None
    if text.startswith("]"):
        found = text[:3]
        if not _SYMBOLOGY.fullmatch(found):
            return _invalid(
                "unknown", None, error("unknown_symbology", f"{found!r} is not an AIM identifier")
            )
        text = text[3:]
        if given is not None and given != found:
            errors.append(
                error("symbology_mismatch", f"the data says {found}, the reader said {given}")
            )
    sid = found or given
    if not text:
        errors.append(error("empty_input", "nothing was scanned"))
        return Parsed(valid=False, kind="unknown", symbology=sid, errors=errors)
    if sid in _ELEMENT_STRING_SYMBOLOGIES:
        result = _gs1(_normalise_gs(text, separators), sid, current_year, errors, bracketed=False)
    elif sid in _GTIN_SYMBOLOGIES:
        result = _digits(text, sid, _GTIN_SYMBOLOGIES[sid], errors)
    else:
        result = _text(text, sid, separators, current_year, errors, element_strings=sid is None)
    return result


def _normalise_gs(text: str, separators: Sequence[str]) -> str:
    if "<" in text or "{" in text or "\\" in text or "^" in text or "\u241d" in text:
        text = _GS_TEXT.sub(GS, text)
    for separator in separators:
        if separator:
            text = text.replace(separator, GS)
    return text


def _text(
    text: str,
    sid: str | None,
    separators: Sequence[str],
    current_year: int,
    errors: list[BarcodeError],
    *,
    element_strings: bool,
) -> Parsed:
    first = text[0]
    if first in "LBT":
        for prefix, kind in _LABELS:
            if text.startswith(prefix):
                return _label(text, prefix, kind, sid, errors)
    if first == "(":
        return _gs1(text, sid, current_year, errors, bracketed=True)
    if text.isascii() and text.isdigit() and len(text) in (8, 12, 13, 14, 18):
        return _digits(text, sid, (8, 12, 13, 14, 18), errors)
    if SCHEME.match(text):
        return _digital_link(text, sid, current_year, errors)
    if element_strings:
        data = _normalise_gs(text, separators)
        definition = lookup_ai(data, 1 if data.startswith(GS) else 0)
        if definition is not None:
            parsed = _gs1(data, sid, current_year, list(errors), bracketed=False)
            # Without a symbology identifier, digits that happen to start like an AI are
            # only called GS1 when they parse, carry a GS, or start with an identification key.
            if parsed.valid or GS in data or definition.ai in _KEY_AIS:
                return parsed
    errors.append(error("unrecognised", "not GS1 data, a GTIN, an SSCC or a lotline label"))
    return Parsed(valid=False, kind="unknown", symbology=sid, errors=errors)


def _label(
    text: str, prefix: str, kind: Kind, sid: str | None, errors: list[BarcodeError]
) -> Parsed:
    if not _LABEL_BODY.fullmatch(text, len(prefix)):
        errors.append(
            error("invalid_label", f"a {prefix} label needs printable ASCII after the prefix")
        )
    return Parsed(valid=not errors, kind=kind, symbology=sid, label=text, errors=errors)


def _digits(
    text: str, sid: str | None, lengths: tuple[int, ...], errors: list[BarcodeError]
) -> Parsed:
    kind: Kind = "sscc" if len(text) == 18 else "gtin"
    if not (text.isascii() and text.isdigit()):
        errors.append(error("invalid_character", f"{sid or 'a GTIN'} carries digits only"))
        return Parsed(valid=False, kind=kind, symbology=sid, errors=errors)
    if len(text) not in lengths:
        wanted = " or ".join(str(n) for n in lengths)
        errors.append(error("invalid_length", f"{len(text)} digits, expected {wanted}"))
        return Parsed(valid=False, kind=kind, symbology=sid, errors=errors)
    if gs1_check_digit(text[:-1]) != ord(text[-1]) - 48:
        errors.append(
            error(
                "invalid_check_digit",
                f"check digit of {text} should be {gs1_check_digit(text[:-1])}",
            )
        )
        return Parsed(valid=False, kind=kind, symbology=sid, errors=errors)
    if kind == "sscc":
        return Parsed(valid=not errors, kind=kind, symbology=sid, sscc=text, errors=errors)
    return Parsed(
        valid=not errors, kind=kind, symbology=sid, gtin=text.rjust(14, "0"), errors=errors
    )


def _gs1(
    data: str, sid: str | None, current_year: int, errors: list[BarcodeError], *, bracketed: bool
) -> Parsed:
    pairs, read_errors = read_bracketed(data) if bracketed else read_element_string(data)
    errors.extend(read_errors)
    return _message("gs1", pairs, sid, current_year, errors, gs_delimited=not bracketed)


def _digital_link(
    uri: str, sid: str | None, current_year: int, errors: list[BarcodeError]
) -> Parsed:
    pairs, read_errors, is_link = read_digital_link(uri)
    errors.extend(read_errors)
    if not is_link:
        return Parsed(valid=False, kind="unknown", symbology=sid, errors=errors)
    return _message("digital_link", pairs, sid, current_year, errors, gs_delimited=False)


def _message(
    kind: Kind,
    pairs: list[tuple[str, str]],
    sid: str | None,
    current_year: int,
    errors: list[BarcodeError],
    *,
    gs_delimited: bool,
) -> Parsed:
    ais, malformed = validate_pairs(pairs, current_year, errors, gs_delimited=gs_delimited)
    if not ais and not errors:
        errors.append(error("invalid_length", "no element strings in the data"))

    def good(ai: str) -> str | None:
        value = ais.get(ai)
        return None if value is None or ai in malformed else value

    def day(ai: str) -> date | None:
        value = good(ai)
        return None if value is None else resolve_gs1_date(value, current_year)

    count = good("37")
    return Parsed(
        valid=not errors,
        kind=kind,
        symbology=sid,
        gtin=good("01") or good("02"),
        lot=good("10"),
        serial=good("21"),
        expiry=day("17"),
        best_before=day("15"),
        production_date=day("11"),
        sscc=good("00"),
        count=None if count is None else int(count),
        ais=ais,
        errors=errors,
    )
