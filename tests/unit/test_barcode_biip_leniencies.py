"""Where biip 5.2 accepts what the GS1 General Specifications forbid, and we refuse it.

Each case asserts biip's leniency first (so the test tells us when biip changes) and then
that our parser rejects the input with the right code.
"""

from __future__ import annotations

import biip
import pytest

from backend.domain.barcodes import parse_barcode

GTIN = "09506000134352"

LENIENCIES = [
    # (what biip gets wrong, input, our error code)
    ("day 00 where the AI requires a real day", f"]C101{GTIN}7006270100", "invalid_date"),
    ("(01) with (02)", f"]C101{GTIN}02{GTIN}371", "ai_excludes"),
    ("(37) without (02)", "]C100106141412345678908375", "ai_requires"),
    ("the same AI with two values", f"]C101{GTIN}0109506000134345", "duplicate_ai"),
    ("two net weights in kg", f"]C101{GTIN}31030001233102000001", "ai_excludes"),
    ("a GLN check digit", "]C14141234567890120", "invalid_check_digit"),
    ("the GMN check character pair", "]C180131987654Ad4X4bL5ttr2310cXK", "invalid_check_digit"),
    ("piece number over the total", "]C18006095060001343520302", "invalid_value"),
    ("a doubled GS", f"]C101{GTIN}\x1d\x1d10A", "unexpected_gs"),
    ("a path qualifier in the query", f"https://id.gs1.org/01/{GTIN}?10=ABC", "dl_invalid_query"),
    ("a broken percent-escape", f"https://id.gs1.org/01/{GTIN}/10/A%2", "invalid_uri"),
    ("an AI in path and query", f"https://id.gs1.org/01/{GTIN}/10/A?10=B", "dl_invalid_query"),
    ("an unknown numeric query AI", f"https://id.gs1.org/01/{GTIN}?9999=1", "unknown_ai"),
]


def _biip_accepts(raw: str) -> bool:
    result = biip.parse(raw)
    return bool(result.gs1_message or result.gs1_digital_link_uri) and not (
        result.gs1_message_error or result.gs1_digital_link_uri_error
    )


@pytest.mark.parametrize(("what", "raw", "code"), LENIENCIES, ids=[c[0] for c in LENIENCIES])
def test_biip_accepts_but_we_reject(what: str, raw: str, code: str) -> None:
    assert _biip_accepts(raw), f"biip now rejects {what}: this case can go"
    parsed = parse_barcode(raw)
    assert not parsed.valid
    assert code in {problem.code for problem in parsed.errors}


def test_biip_strips_gs_off_the_ends_and_we_keep_it() -> None:
    # biip.parse() begins with value.strip(), which treats 0x1D as whitespace.
    raw = f"]C101{GTIN}10ABC\x1d"
    assert biip.parse(raw).value.endswith("ABC")
    assert parse_barcode(raw).lot == "ABC"
    assert "\x1d".strip() == ""
