"""`lotline parse` as a user runs it: one API-shaped JSON object per scan, exit 1 on any bad one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
GTIN = "09506000134352"


def lotline_parse(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    python = str(PYTHON) if PYTHON.exists() else sys.executable
    return subprocess.run(
        [python, "-m", "backend.cli", "parse", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_each_argument_gives_one_json_line_in_the_api_shape() -> None:
    result = lotline_parse(f"]d201{GTIN}17270131\x1d10LOT-0725-C3\x1d21SN123", "LOC-A-01")
    assert result.returncode == 0, result.stderr
    first, second = lines(result)
    assert first == {
        "valid": True, "kind": "gs1", "symbology": "]d2", "gtin": GTIN,
        "lot": "LOT-0725-C3", "serial": "SN123", "expiry": "2027-01-31",
        "bestBefore": None, "productionDate": None, "sscc": None, "count": None,
        "ais": {"01": GTIN, "17": "270131", "10": "LOT-0725-C3", "21": "SN123"},
        "label": None, "errors": [],
    }  # fmt: skip
    assert second["kind"] == "location" and second["label"] == "LOC-A-01"


def test_any_invalid_scan_makes_the_exit_status_1() -> None:
    result = lotline_parse(GTIN, "09506000134353")
    assert result.returncode == 1
    assert [line["valid"] for line in lines(result)] == [True, False]
    assert lines(result)[1]["errors"][0]["code"] == "invalid_check_digit"  # type: ignore[index]


def test_separator_option_stands_in_for_gs() -> None:
    result = lotline_parse(f"01{GTIN}10ABC|21X~17270131", "--separator", "|", "--separator", "~")
    assert result.returncode == 0, result.stdout
    assert lines(result)[0]["serial"] == "X"


def test_stdin_is_read_one_scan_per_line_keeping_gs() -> None:
    stdin = f"]C101{GTIN}10ABC\x1d21X\r\nBADGE-PICKER\n".encode()
    result = lotline_parse(stdin=stdin)
    assert result.returncode == 0, result.stdout
    gs1, badge = lines(result)
    assert (gs1["lot"], gs1["serial"]) == ("ABC", "X")
    assert badge["kind"] == "badge"
