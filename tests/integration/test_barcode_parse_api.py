"""POST /api/barcodes/parse over real HTTP: the parser's answer, exactly, for any signed-in role."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from backend.auth.service import ROLES
from backend.domain.barcodes import parse_barcode
from tests.integration.arrange import OATS_GTIN, assert_problem

GS = "\x1d"
DATAMATRIX = f"]d201{OATS_GTIN}1727013110LOT-0725-C3{GS}21SN123"


async def parse(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/api/barcodes/parse", json=body)


async def test_a_gs1_datamatrix_is_parsed_with_its_gs_separators(admin_client):
    response = await parse(admin_client, raw=DATAMATRIX)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "valid": True,
        "kind": "gs1",
        "symbology": "]d2",
        "gtin": OATS_GTIN,
        "lot": "LOT-0725-C3",
        "serial": "SN123",
        "expiry": "2027-01-31",
        "bestBefore": None,
        "productionDate": None,
        "sscc": None,
        "count": None,
        "ais": {"01": OATS_GTIN, "17": "270131", "10": "LOT-0725-C3", "21": "SN123"},
        "label": None,
        "errors": [],
    }


@pytest.mark.parametrize(
    "raw",
    [
        DATAMATRIX,
        f"(01){OATS_GTIN}(10)ABC",
        f"https://id.gs1.org/01/{OATS_GTIN}/10/ABC?17=270131",
        "4006381333931",
        "00106141411234567897",
        "LOC-WHA-A-01",
        "BADGE-PICKER",
        "TOTE-7",
        "not a barcode at all",
        f"(01){OATS_GTIN[:-1]}3(10)ABC",
    ],
)
async def test_the_answer_is_the_parsers_parsed_object_exactly(admin_client, raw):
    response = await parse(admin_client, raw=raw)
    assert response.status_code == 200, response.text
    assert response.json() == msgspec.to_builtins(parse_barcode(raw))


async def test_an_unreadable_barcode_is_valid_false_not_an_http_error(admin_client):
    response = await parse(admin_client, raw=f"(01){OATS_GTIN[:-1]}3")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["errors"][0]["code"] == "invalid_check_digit"
    assert body["errors"][0]["message"]


async def test_symbology_and_separator_stand_ins_are_passed_to_the_parser(admin_client):
    raw = f"01{OATS_GTIN}10ABC|21SN9"
    response = await parse(admin_client, raw=raw, symbology="]C1", separators=["|"])
    body = response.json()
    assert body == msgspec.to_builtins(parse_barcode(raw, symbology="]C1", separators=["|"]))
    assert (body["symbology"], body["lot"], body["serial"]) == ("]C1", "ABC", "SN9")


@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
async def test_every_signed_in_role_may_parse(client, make_user_token, role):
    token = await make_user_token([role])
    response = await client.post(
        "/api/barcodes/parse",
        json={"raw": DATAMATRIX},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


async def test_parsing_needs_a_token(client):
    assert_problem(await parse(client, raw=DATAMATRIX), 401, "unauthenticated")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"raw": ""},
        {"raw": 12345},
        {"raw": "x" * 4097},
        {"raw": "ab\u0000cd"},
        {"raw": DATAMATRIX, "symbology": "d2"},
        {"raw": DATAMATRIX, "separators": "|"},
        {"raw": DATAMATRIX, "separators": ["|"] * 5},
        {"raw": DATAMATRIX, "separators": [""]},
        {"raw": DATAMATRIX, "context": "lookup"},
    ],
)
async def test_a_bad_body_is_a_400_problem(admin_client, body):
    response = await admin_client.post("/api/barcodes/parse", json=body)
    assert_problem(response, 400, "invalid_request")


async def test_malformed_json_is_a_400_problem(admin_client):
    response = await admin_client.post(
        "/api/barcodes/parse", content=b'{"raw": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")
