"""GS1 mod-10 check digits, used by GTINs, SSCCs and GLNs."""

from __future__ import annotations

__all__ = ["gs1_check_digit", "is_valid_gtin", "normalize_gtin"]


def gs1_check_digit(body: str) -> int:
    """The check digit for `body` (all digits, the check digit itself excluded)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = ord(char) - 48
        total += digit * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """Whether `code` is a GTIN-8, -12, -13 or -14 with a correct check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isascii() or not code.isdigit():
        return False
    return gs1_check_digit(code[:-1]) == int(code[-1])


def normalize_gtin(code: str) -> str | None:
    """The 14-digit form of a valid GTIN, or None when `code` is not one."""
    return code.rjust(14, "0") if is_valid_gtin(code) else None
