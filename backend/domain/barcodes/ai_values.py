"""Checking one AI's value against its format: character sets, lengths and content checks.

Dates follow GenSpec 7.12: a two-digit year is placed within 49 years before and 50 years
after the current year, and day `00` (where the AI allows it) means the month's last day.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from backend.domain.check_digits import gs1_check_digit

from .dictionary import AIDefinition, Component
from .errors import error
from .parsed import BarcodeError

__all__ = [
    "CSET82",
    "check_value",
    "gmn_check_pair",
    "resolve_gs1_date",
    "resolve_two_digit_year",
]

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
"""GenSpec figure 7.11-1: the characters allowed in X (alphanumeric) AI values, in order."""
_CSET39 = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CSET82_VALUE = {char: index for index, char in enumerate(CSET82)}
_GMN_WEIGHTS = (
    2,
    3,
    5,
    7,
    11,
    13,
    17,
    19,
    23,
    29,
    31,
    37,
    41,
    43,
    47,
    53,
    59,
    61,
    67,
    71,
    73,
    79,
    83,
)

_CHARSET_PATTERNS = {
    "N": re.compile(r"[0-9]*"),
    "X": re.compile(r"[!\"%-?A-Z_a-z]*"),
    "Y": re.compile(r"[#\-/0-9A-Z]*"),
    "Z": re.compile(r"[\-0-9A-Z_a-z]*={0,2}"),
}
_CHARSET_NAMES = {
    "N": "digits",
    "X": "GS1 CSET 82",
    "Y": "GS1 CSET 39",
    "Z": "GS1 CSET 64",
}
_CHARSET_ALPHABETS = {
    "N": "0123456789",
    "X": CSET82,
    "Y": _CSET39,
    "Z": "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz=",
}
_PERCENT_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def resolve_two_digit_year(yy: int, current_year: int) -> int:
    """The full year for `yy` per GenSpec 7.12 (within -49..+50 years of `current_year`)."""
    century = current_year - current_year % 100
    difference = yy - current_year % 100
    if difference >= 51:
        return century - 100 + yy
    if difference <= -50:
        return century + 100 + yy
    return century + yy


@lru_cache(maxsize=4096)
def resolve_gs1_date(yymmdd: str, current_year: int) -> date | None:
    """The date a YYMMDD value stands for (DD=00: the month's last day), or None if invalid.

    Callers check `allow_day_zero` separately; this resolves the value as GenSpec 7.12 says.
    """
    if len(yymmdd) != 6 or not (yymmdd.isascii() and yymmdd.isdigit()):
        return None
    year = resolve_two_digit_year(int(yymmdd[:2]), current_year)
    month = int(yymmdd[2:4])
    day = int(yymmdd[4:6])
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    if day == 0:
        day = last
    elif day > last:
        return None
    return date(year, month, day)


def gmn_check_pair(body: str) -> str | None:
    """The two check characters GenSpec 7.9.5 defines for a GMN body, or None if it can't."""
    if len(body) > len(_GMN_WEIGHTS) or any(char not in _CSET82_VALUE for char in body):
        return None
    weights = _GMN_WEIGHTS[: len(body)][::-1]
    total = sum(_CSET82_VALUE[char] * weight for char, weight in zip(body, weights, strict=True))
    total %= 1021
    return _CSET32[total >> 5] + _CSET32[total & 31]


def _date_error(ai: str, value: str, current_year: int, *, day_zero: bool) -> BarcodeError | None:
    if not day_zero and value[4:6] == "00":
        return error("invalid_date", f"AI ({ai}): day 00 is not allowed in {value}")
    if resolve_gs1_date(value, current_year) is None:
        return error("invalid_date", f"AI ({ai}): {value} is not a valid YYMMDD date")
    return None


def _check_yyyymmdd(ai: str, value: str) -> BarcodeError | None:
    year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(max(year, 1), month)[1]:
        return error("invalid_date", f"AI ({ai}): {value} is not a valid YYYYMMDD date")
    return None


def _check_hhmm(ai: str, value: str) -> BarcodeError | None:
    if int(value[:2]) > 23 or int(value[2:4]) > 59:
        return error("invalid_time", f"AI ({ai}): {value} is not a valid HHMM time")
    return None


def _check_iban(ai: str, value: str) -> BarcodeError | None:
    if (
        len(value) < 5
        or not value[:2].isalpha()
        or not value[2:4].isdigit()
        or not value.isascii()
        or not value.isalnum()
        or value.upper() != value
    ):
        return error("invalid_value", f"AI ({ai}): {value} is not an IBAN")
    digits = "".join(str(int(char, 36)) for char in value[4:] + value[:4])
    if int(digits) % 97 != 1:
        return error("invalid_check_digit", f"AI ({ai}): the IBAN check digits do not match")
    return None


def _content_check(name: str, ai: str, part: str, current_year: int) -> BarcodeError | None:
    """Run the named content check on one component of an AI's value."""
    if name == "csum":
        if gs1_check_digit(part[:-1]) != ord(part[-1]) - 48:
            return error(
                "invalid_check_digit",
                f"AI ({ai}): check digit of {part} should be {gs1_check_digit(part[:-1])}",
            )
        return None
    if name == "yymmd0":
        return _date_error(ai, part, current_year, day_zero=True)
    if name == "yymmdd":
        return _date_error(ai, part, current_year, day_zero=False)
    if name == "yymmddhh":
        return _date_error(ai, part[:6], current_year, day_zero=False) or (
            error("invalid_time", f"AI ({ai}): hour {part[6:8]} is out of range")
            if int(part[6:8]) > 23
            else None
        )
    check = _SIMPLE_CHECKS.get(name)
    if check is None:
        return None
    return check(ai, part)


def _invalid(ai: str, part: str, rule: str) -> BarcodeError:
    return error("invalid_value", f"AI ({ai}): {part!r} {rule}")


def _mmoptss(ai: str, part: str) -> BarcodeError | None:
    if len(part) not in (2, 4):
        return error("invalid_length", f"AI ({ai}): minutes[seconds] must be 2 or 4 digits")
    if int(part[:2]) > 59 or (len(part) == 4 and int(part[2:]) > 59):
        return error("invalid_time", f"AI ({ai}): {part} is not valid MM[SS]")
    return None


def _yyyymmddhhmm(ai: str, part: str) -> BarcodeError | None:
    return _check_yyyymmdd(ai, part[:8]) or _check_hhmm(ai, part[8:])


def _pieceoftotal(ai: str, part: str) -> BarcodeError | None:
    piece, total = int(part[:2]), int(part[2:])
    if piece == 0 or total == 0 or piece > total:
        return _invalid(ai, part, "is not a piece number within a non-zero total")
    return None


def _pcenc(ai: str, part: str) -> BarcodeError | None:
    if _PERCENT_ESCAPE.search(part):
        return _invalid(ai, part, "has a % not followed by two hex digits")
    return None


_SIMPLE_CHECKS: dict[str, Callable[[str, str], BarcodeError | None]] = {
    "yyyymmdd": _check_yyyymmdd,
    "yyyymmddhhmm": _yyyymmddhhmm,
    "hhmm": _check_hhmm,
    "mmoptss": _mmoptss,
    "iban": _check_iban,
    "pieceoftotal": _pieceoftotal,
    "pcenc": _pcenc,
    "yesno": lambda ai, p: None if p in ("0", "1") else _invalid(ai, p, "must be 0 or 1"),
    "zero": lambda ai, p: None if p == "0" else _invalid(ai, p, "must be 0"),
    "nonzero": lambda ai, p: None if int(p) else _invalid(ai, p, "must not be zero"),
    "winding": lambda ai, p: None if p in "019" else _invalid(ai, p, "must be 0, 1 or 9"),
    "hyphen": lambda ai, p: None if p == "-" else _invalid(ai, p, "must be '-'"),
    "slash": lambda ai, p: None if p == "/" else _invalid(ai, p, "must be '/'"),
    "nozeroprefix": lambda ai, p: (
        _invalid(ai, p, "must not start with 0") if len(p) > 1 and p[0] == "0" else None
    ),
    "alpha2": lambda ai, p: (
        None
        if p.isalpha() and p.isupper()
        else _invalid(ai, p, "must be two capital letters (ISO 3166 alpha-2)")
    ),
    "iso3166list": lambda ai, p: (
        None if len(p) % 3 == 0 else _invalid(ai, p, "must be a list of 3-digit country codes")
    ),
    "latitude": lambda ai, p: None if int(p) <= 1800000000 else _invalid(ai, p, "is out of range"),
    "longitude": lambda ai, p: None if int(p) <= 3600000000 else _invalid(ai, p, "is out of range"),
    "csumalpha": lambda ai, p: (
        None
        if len(p) >= 3 and gmn_check_pair(p[:-2]) == p[-2:]
        else error("invalid_check_digit", f"AI ({ai}): the check character pair does not match")
    ),
}


def _charset_error(ai: str, component: Component, part: str) -> BarcodeError:
    alphabet = _CHARSET_ALPHABETS[component.charset]
    bad = next((char for char in part if char not in alphabet), "=")
    return error(
        "invalid_character",
        f"AI ({ai}): {bad!r} is not allowed ({_CHARSET_NAMES[component.charset]} only)",
    )


def check_value(definition: AIDefinition, value: str, current_year: int) -> list[BarcodeError]:
    """Every way `value` breaks the format of `definition` (empty list: it is valid)."""
    ai = definition.ai
    if not definition.min_length <= len(value) <= definition.max_length:
        expected = (
            str(definition.max_length)
            if definition.min_length == definition.max_length
            else f"{definition.min_length} to {definition.max_length}"
        )
        return [
            error(
                "invalid_length",
                f"AI ({ai}) takes {expected} characters, got {len(value)}",
            )
        ]
    components = definition.components
    if len(components) == 1:
        # The common case (GTIN, dates, lot, serial): the whole value is the one component.
        component = components[0]
        if not _CHARSET_PATTERNS[component.charset].fullmatch(value):
            return [_charset_error(ai, component, value)]
        found = [_content_check(name, ai, value, current_year) for name in component.checks]
        return [problem for problem in found if problem is not None]
    errors: list[BarcodeError] = []
    position = 0
    last = len(components) - 1
    for index, component in enumerate(components):
        if index == last:
            part = value[position:]
        else:
            part = value[position : position + component.max_length]
        position += len(part)
        if not part:
            if component.optional:
                continue
            errors.append(error("invalid_length", f"AI ({ai}) is missing a part"))
            break
        if len(part) < component.min_length:
            errors.append(error("invalid_length", f"AI ({ai}): {part!r} is too short"))
            break
        if not _CHARSET_PATTERNS[component.charset].fullmatch(part):
            errors.append(_charset_error(ai, component, part))
            continue
        for name in component.checks:
            problem = _content_check(name, ai, part, current_year)
            if problem is not None:
                errors.append(problem)
    return errors
