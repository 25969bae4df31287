"""shared/problem-codes.json lists exactly the error codes the backend can answer with."""

from __future__ import annotations

import json
import re
from pathlib import Path

from backend.errors import _STATUS_CODES
from backend.ledger.service import _NOT_RELEASED

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = json.loads((ROOT / "shared" / "problem-codes.json").read_text())["codes"]

RAISED = re.compile(r'(?:DomainError|LotCodeError)\(\s*"([a-z_]+)"|problem\(\s*\d+,\s*"([a-z_]+)"')


def backend_codes() -> set[str]:
    codes: set[str] = set(_STATUS_CODES.values()) | set(_NOT_RELEASED.values())
    codes.add("lot_not_released")
    for source in (ROOT / "backend").rglob("*.py"):
        for match in RAISED.finditer(source.read_text()):
            codes.add(match.group(1) or match.group(2))
    return codes


def test_every_code_the_backend_raises_is_in_the_contract():
    assert backend_codes() - set(CONTRACT) == set()


def test_the_contract_lists_no_code_the_backend_never_raises():
    assert set(CONTRACT) - backend_codes() == set()


def test_every_contract_code_has_a_status_and_a_meaning():
    for code, entry in CONTRACT.items():
        assert 400 <= entry["status"] <= 599, code
        assert entry["meaning"].strip(), code


def test_codes_are_snake_case():
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in CONTRACT)
