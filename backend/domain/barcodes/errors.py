"""The error codes a barcode can be rejected with, each with what it means.

The codes are part of the public contract (`Parsed.errors[].code`, problem+json `code`):
`shared/barcode-error-codes.json` lists them and a unit test keeps that file equal to this
table, so a client can switch on a code knowing the parser can produce it.
"""

from __future__ import annotations

from .parsed import BarcodeError

__all__ = ["ERROR_CODES", "error"]

ERROR_CODES: dict[str, str] = {
    "empty_input": "Nothing was scanned: the input is empty (after trimming CR, LF and Tab).",
    "input_too_long": "The input is longer than any barcode can carry; it was not parsed.",
    "unknown_symbology": "The symbology identifier (]Xm) is malformed or not one we read.",
    "symbology_mismatch": "The symbology given separately differs from the one in the data.",
    "unrecognised": "The data is not GS1, a GTIN, an SSCC or a lotline label.",
    "invalid_label": "A lotline label (LOC-, BADGE-, TOTE-) with an empty or unprintable body.",
    "invalid_character": "A character not allowed here (for the AI's character set or input).",
    "unknown_ai": "An Application Identifier that the GS1 General Specifications do not define.",
    "invalid_length": "A value (or the whole code) is shorter or longer than its format allows.",
    "missing_gs": "A variable-length value runs past its maximum: a GS separator is missing.",
    "unexpected_gs": "A GS separator where an AI must start (leading GS in brackets, or doubled).",
    "invalid_check_digit": "The GS1 mod-10 (or alphanumeric) check digit does not match.",
    "invalid_date": "A date that does not exist (month 13, 31 April, 29 February off leap year, "
    "day 00 where the AI forbids it).",
    "invalid_time": "A time of day out of range (hour over 23, minute or second over 59).",
    "invalid_value": "A value that breaks its AI's content rule (a zero where non-zero is "
    "needed, a piece number over the total, a bad IBAN, a bad percent-escape in a name...).",
    "ai_requires": "An AI is present without the AI(s) it must be used with (GenSpec 4.14).",
    "ai_excludes": "Two AIs that must not appear together (GenSpec 4.14 invalid pairs).",
    "duplicate_ai": "The same AI appears twice with different values.",
    "bad_scheme": "A URI whose scheme is not http or https, so not a GS1 Digital Link.",
    "invalid_uri": "A Digital Link URI that is malformed (no host, bad percent-encoding...).",
    "dl_missing_key": "A URI with no GS1 primary key (/01/, /00/, /414/...) in its path.",
    "dl_invalid_path": "Digital Link path AIs out of order or not qualifiers of the key.",
    "dl_invalid_query": "A Digital Link query repeats a path AI or carries a key or qualifier.",
    "internal_error": "The parser itself failed (a bug): the scan could not be judged.",
}


def error(code: str, message: str) -> BarcodeError:
    """A coded error; the code must be one of `ERROR_CODES` (a test enforces it)."""
    return BarcodeError(code=code, message=message)
