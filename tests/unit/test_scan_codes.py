"""shared/scan-codes.json lists exactly the verdict codes a scan can get, as the service does."""

from __future__ import annotations

import json
import re
from pathlib import Path

from backend.domain.barcodes import ERROR_CODES
from backend.ledger.service import _NOT_RELEASED
from backend.scanning.verdicts import SCAN_CODES, verdict

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = json.loads((ROOT / "shared" / "scan-codes.json").read_text())["codes"]

GIVEN = re.compile(r'(?:verdict|Step)\(\s*"([a-z_]+)"')
PASSED_ON = {"unknown_location", "ambiguous_location"}
"""Codes of `resolve_location`'s refusals, which the service passes on as verdicts."""


def produced_codes() -> set[str]:
    """Codes the scanning service gives: literal ones, the lot gate's, the location's."""
    codes = set(_NOT_RELEASED.values()) | {"lot_not_released", "lot_expired"} | PASSED_ON
    codes |= {"lot_short_dated", "lot_barred"}  # the fulfilment gate's, by eligibility
    sources = [*(ROOT / "backend" / "scanning").rglob("*.py")]
    sources += [*(ROOT / "backend" / "fulfilment").rglob("*.py")]
    sources += [*(ROOT / "backend" / "holds").rglob("*.py")]
    sources += [*(ROOT / "backend" / "counts").rglob("*.py")]
    sources += [*(ROOT / "backend" / "returns").rglob("*.py")]
    for source in sources:
        codes.update(GIVEN.findall(source.read_text()))
    return codes


def test_the_contract_equals_the_service_catalogue():
    assert set(CONTRACT) == set(SCAN_CODES)
    for code, entry in SCAN_CODES.items():
        assert CONTRACT[code] == {
            "verdict": entry.verdict,
            "feedback": entry.feedback,
            "meaning": entry.meaning,
        }, code


def test_every_code_the_service_gives_is_catalogued_and_every_catalogued_code_is_given():
    assert produced_codes() - set(ERROR_CODES) == set(SCAN_CODES)


def test_scan_codes_and_barcode_error_codes_do_not_overlap():
    assert set(SCAN_CODES) & set(ERROR_CODES) == set()


def test_an_invalid_barcode_is_rejected_with_the_parsers_code():
    for code in ERROR_CODES:
        judged = verdict(code, "why")
        assert (judged.verdict, judged.feedback) == ("rejected", "error")


def test_accepted_codes_never_sound_the_error_tone_and_rejected_ones_never_the_ok_tone():
    for code, entry in SCAN_CODES.items():
        assert entry.feedback != ("error" if entry.verdict == "accepted" else "ok"), code
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code)
        assert entry.meaning.strip()
