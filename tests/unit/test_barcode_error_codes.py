"""The published error codes are exactly the ones the parser produces, each proven by a scan."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backend.domain.barcodes import ERROR_CODES, parse_barcode

PACKAGE = Path(__file__).parents[2] / "backend" / "domain" / "barcodes"
PUBLISHED = Path(__file__).parents[2] / "shared" / "barcode-error-codes.json"

EXAMPLES: dict[str, tuple[str, dict[str, str]]] = {
    "empty_input": ("\r\n", {}),
    "input_too_long": ("1" * 5000, {}),
    "unknown_symbology": ("]!!0109506000134352", {}),
    "symbology_mismatch": ("]C10109506000134352", {"symbology": "]d2"}),
    "unrecognised": ("hello world", {}),
    "invalid_label": ("LOC-", {}),
    "invalid_character": ("]C10109506000134352\x1d10AB CD", {}),
    "unknown_ai": ("]C12300", {}),
    "invalid_length": ("]C10109506", {}),
    "missing_gs": ("]C1010950600013435210ABCDEFGHIJKLMNOPQRSTUVWXYZ", {}),
    "unexpected_gs": ("]C10109506000134352\x1d\x1d10A", {}),
    "invalid_check_digit": ("09506000134353", {}),
    "invalid_date": ("]C1010950600013435217270231", {}),
    "invalid_time": ("]C10109506000134352800827010124", {}),
    "invalid_value": ("]C18006095060001343520302", {}),
    "ai_requires": ("]C11727013110ABC", {}),
    "ai_excludes": ("]C10109506000134352310300012331020000001", {}),
    "duplicate_ai": ("(01)09506000134352(10)A(10)B", {}),
    "bad_scheme": ("ftp://example.com/01/09506000134352", {}),
    "invalid_uri": ("https://id.gs1.org/01/09506000134352/10/A%2", {}),
    "dl_missing_key": ("https://example.com/products/123", {}),
    "dl_invalid_path": ("https://id.gs1.org/01/09506000134352/21/X/10/Y", {}),
    "dl_invalid_query": ("https://id.gs1.org/01/09506000134352?10=ABC", {}),
}
UNREACHABLE = {"internal_error"}
"""Only a bug in the parser gives it; the property tests show arbitrary text never does."""


def test_published_file_lists_exactly_the_parser_codes() -> None:
    assert json.loads(PUBLISHED.read_text()) == ERROR_CODES


def test_every_code_in_the_source_is_published_and_every_published_code_is_used() -> None:
    source = "".join(path.read_text() for path in PACKAGE.glob("*.py"))
    used = set(re.findall(r'error\(\s*"([a-z_]+)"', source))
    assert used == set(ERROR_CODES)


def test_codes_are_stable_snake_case() -> None:
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", code) for code in ERROR_CODES)


@pytest.mark.parametrize("code", sorted(set(ERROR_CODES) - UNREACHABLE))
def test_each_code_is_produced_by_a_real_scan(code: str) -> None:
    raw, options = EXAMPLES[code]
    parsed = parse_barcode(raw, **options)
    assert not parsed.valid
    assert code in {problem.code for problem in parsed.errors}
