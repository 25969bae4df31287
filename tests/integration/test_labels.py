"""Labels over real HTTP from a real database: every barcode is rendered (SVG and PDF by
MuPDF), decoded by zxing-cpp and read back by our own parser; ZPL is read back from its ^FD
fields."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import numpy as np
import pymupdf
import pytest
import zxingcpp

from backend.domain.barcodes import Parsed, parse_barcode
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import (
    GS,
    OATS_GTIN,
    Site,
    add_product,
    assert_problem,
    build_site,
    ok,
    receive,
)
from tests.unit.test_labels import zpl_barcode_data

TEA_GTIN = "09501101530003"
SHEET_GRID = {"a4": (3, 8), "letter": (3, 7)}


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> Site:
    built = await build_site(admin_client, "L")
    await add_product(admin_client, sku="OATS-L", gtins=[OATS_GTIN])
    await add_product(admin_client, sku="TEA-L", gtins=[TEA_GTIN])
    await add_product(admin_client, sku="NOGTIN-L")
    return built


async def received_lot(client: httpx.AsyncClient, site: Site, **fields: Any) -> dict[str, Any]:
    body = {"quantity": 5, "location": site.bins[0], **fields}
    return (await ok(receive(client, **body)))["lot"]


@pytest.fixture(scope="module")
async def oats(admin_client: httpx.AsyncClient, site: Site) -> dict[str, Any]:
    return await received_lot(
        admin_client, site, sku="OATS-L", lotCode="OL-26/A", expiry="2027-06-30"
    )


@pytest.fixture(scope="module")
async def as_receiver(
    live_server: LiveServer, make_user: MakeUser
) -> AsyncIterator[httpx.AsyncClient]:
    user = await make_user(["receiver"])
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {user.token}"}, timeout=60
    ) as client:
        yield client


def pages(content: bytes, filetype: str, dpi: int = 600) -> list[np.ndarray]:
    """Each page of a PDF, or the SVG, rasterised by MuPDF as grey pixels."""
    document = pymupdf.open(stream=content, filetype=filetype)
    pictures = []
    for page in document:
        pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        pictures.append(
            np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.width)
        )
    return pictures


def decode(picture: np.ndarray) -> list[Parsed]:
    """Every barcode zxing-cpp finds, read by our parser with the symbology it reported."""
    return [
        parse_barcode(found.symbology_identifier + found.bytes.decode())
        for found in zxingcpp.read_barcodes(picture)
    ]


def sheet_cells(picture: np.ndarray, paper: str) -> list[list[Parsed]]:
    """What each label position of a sheet decodes to, row by row."""
    columns, rows = SHEET_GRID[paper]
    height, width = picture.shape
    return [
        decode(
            picture[
                round(row * height / rows) : round((row + 1) * height / rows),
                round(column * width / columns) : round((column + 1) * width / columns),
            ]
        )
        for row in range(rows)
        for column in range(columns)
    ]


def lot_facts(parsed: Parsed) -> tuple[Any, ...]:
    return (parsed.symbology, parsed.gtin, parsed.lot, parsed.expiry, parsed.serial)


async def test_a_lot_label_svg_decodes_to_the_lots_gtin_lot_and_expiry(as_receiver, oats):
    response = await as_receiver.get(f"/api/labels/lots/{oats['id']}.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert f'filename="lot-{oats["id"]}.svg"' in response.headers["content-disposition"]
    [parsed] = decode(pages(response.content, "svg", dpi=300)[0])
    assert parsed.valid, parsed.errors
    assert lot_facts(parsed) == ("]d2", OATS_GTIN, "OL-26/A", date(2027, 6, 30), None)
    assert f"(01){OATS_GTIN}(17)270630(10)OL-26/A" in response.text
    assert "Product OATS-L" in response.text


async def test_a_gs1_128_lot_label_with_a_serial_decodes_with_the_serial(as_receiver, oats):
    response = await as_receiver.get(
        f"/api/labels/lots/{oats['id']}.svg", params={"symbol": "gs1-128", "serial": "SN-0042"}
    )
    [parsed] = decode(pages(response.content, "svg", dpi=300)[0])
    assert lot_facts(parsed) == ("]C1", OATS_GTIN, "OL-26/A", date(2027, 6, 30), "SN-0042")
    assert parsed.ais == {"01": OATS_GTIN, "17": "270630", "10": "OL-26/A", "21": "SN-0042"}


async def test_a_lot_without_expiry_carries_its_best_before_date(as_receiver, admin_client, site):
    lot = await received_lot(
        admin_client, site, sku="TEA-L", lotCode="TEA-BB-1", bestBefore="2027-01-15"
    )
    response = await as_receiver.get(f"/api/labels/lots/{lot['id']}.svg")
    [parsed] = decode(pages(response.content, "svg", dpi=300)[0])
    assert (parsed.gtin, parsed.lot, parsed.best_before, parsed.expiry) == (
        TEA_GTIN,
        "TEA-BB-1",
        date(2027, 1, 15),
        None,
    )


@pytest.mark.parametrize("symbol", ["datamatrix", "gs1-128"])
async def test_an_a4_sheet_holds_the_copies_in_its_grid_each_one_readable(
    as_receiver, oats, symbol
):
    response = await as_receiver.get(
        f"/api/labels/lots/{oats['id']}.pdf", params={"symbol": symbol, "copies": 5}
    )
    assert response.headers["content-type"] == "application/pdf"
    [page] = pages(response.content, "pdf")
    cells = sheet_cells(page, "a4")
    assert [len(found) for found in cells] == [1] * 5 + [0] * 19
    expected = ("]d2" if symbol == "datamatrix" else "]C1", OATS_GTIN, "OL-26/A")
    assert {lot_facts(found[0])[:3] for found in cells[:5]} == {expected}


async def test_a_letter_sheet_of_22_labels_fills_one_page_and_starts_another(as_receiver, oats):
    response = await as_receiver.get(
        f"/api/labels/lots/{oats['id']}.pdf", params={"paper": "letter", "copies": 22}
    )
    first, second = pages(response.content, "pdf", dpi=400)
    assert all(len(found) == 1 for found in sheet_cells(first, "letter"))
    assert [len(found) for found in sheet_cells(second, "letter")] == [1] + [0] * 20


async def test_a_label_printer_pdf_has_one_label_a_page_at_the_size_asked(as_receiver, oats):
    response = await as_receiver.get(
        f"/api/labels/lots/{oats['id']}.pdf",
        params={"paper": "label", "size": "70x37", "copies": 2, "serial": "S1"},
    )
    document = pymupdf.open(stream=response.content, filetype="pdf")
    assert [round(page.rect.width * 25.4 / 72) for page in document] == [70, 70]
    assert [round(page.rect.height * 25.4 / 72) for page in document] == [37, 37]
    for page in pages(response.content, "pdf"):
        [parsed] = decode(page)
        assert lot_facts(parsed) == ("]d2", OATS_GTIN, "OL-26/A", date(2027, 6, 30), "S1")


@pytest.mark.parametrize("symbol", ["datamatrix", "gs1-128"])
async def test_zpl_carries_the_lots_element_string_with_fnc1(as_receiver, oats, symbol):
    response = await as_receiver.get(
        f"/api/labels/lots/{oats['id']}.zpl",
        params={"symbol": symbol, "serial": "SN_9", "copies": 3, "dpi": 300, "size": "70x37"},
    )
    assert response.status_code == 200
    text = response.text
    assert zpl_barcode_data(text) == [f"01{OATS_GTIN}17270630" + f"10OL-26/A{GS}21SN_9"]
    assert "^PQ3" in text and "^PW827" in text and "^LL437" in text
    parsed = parse_barcode(("]d2" if symbol == "datamatrix" else "]C1") + zpl_barcode_data(text)[0])
    assert (parsed.gtin, parsed.lot, parsed.serial) == (OATS_GTIN, "OL-26/A", "SN_9")


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/labels/lots/99999999.svg", {}, 404, "lot_not_found"),
        ("/api/labels/lots/{id}.png", {}, 404, "label_not_found"),
        ("/api/labels/lots/abc.svg", {}, 404, "label_not_found"),
        ("/api/labels/lots/{id}.svg", {"serial": "SN 1"}, 422, "invalid_label_serial"),
        ("/api/labels/lots/{id}.svg", {"serial": "(21)"}, 422, "invalid_label_serial"),
        ("/api/labels/lots/{id}.svg", {"symbol": "qr"}, 400, "invalid_request"),
        ("/api/labels/lots/{id}.pdf", {"copies": 0}, 400, "invalid_request"),
        ("/api/labels/lots/{id}.zpl", {"dpi": 150}, 400, "invalid_request"),
        ("/api/labels/lots/{id}.pdf", {"paper": "a3"}, 400, "invalid_request"),
    ],
)
async def test_bad_lot_label_requests_are_problems_with_stable_codes(
    as_receiver, oats, path, params, status, code
):
    response = await as_receiver.get(path.format(id=oats["id"]), params=params)
    assert_problem(response, status, code)


@pytest.mark.parametrize("form", ["svg", "pdf", "zpl"])
async def test_a_gs1_128_too_long_for_a_small_label_is_refused_not_squeezed(
    as_receiver, oats, form
):
    params = {"symbol": "gs1-128", "serial": "SERIAL-ABCDEFGHIJKLM", "size": "70x37"}
    if form == "pdf":
        params["paper"] = "label"
    response = await as_receiver.get(f"/api/labels/lots/{oats['id']}.{form}", params=params)
    assert_problem(response, 422, "label_too_small")
    roomy = await as_receiver.get(
        f"/api/labels/lots/{oats['id']}.{form}", params={**params, "symbol": "datamatrix"}
    )
    assert roomy.status_code == 200


async def test_a_lot_of_a_product_without_gtin_has_no_gs1_label(as_receiver, admin_client, site):
    lot = await received_lot(admin_client, site, sku="NOGTIN-L", lotCode="NG-1")
    response = await as_receiver.get(f"/api/labels/lots/{lot['id']}.svg")
    assert "GTIN" in assert_problem(response, 409, "lot_not_labelable")["detail"]


async def test_pickers_may_not_print_labels(live_server, make_user_token, oats):
    token = await make_user_token(["picker", "packer"])
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as picker:
        response = await picker.get(f"/api/labels/lots/{oats['id']}.svg")
    assert_problem(response, 403, "forbidden")


async def test_location_labels_pdf_prints_the_codes_asked_in_that_order(as_receiver, site):
    response = await as_receiver.get(
        "/api/labels/locations.pdf", params={"warehouse": site.warehouse, "codes": "A-03,A-01"}
    )
    assert response.status_code == 200, response.text
    cells = sheet_cells(pages(response.content, "pdf")[0], "a4")
    assert [len(found) for found in cells] == [1, 1] + [0] * 22
    assert [(found[0].symbology, found[0].kind, found[0].label) for found in cells[:2]] == [
        ("]C0", "location", f"LOC-{site.warehouse}-A-03"),
        ("]C0", "location", f"LOC-{site.warehouse}-A-01"),
    ]


async def test_location_labels_zpl_without_codes_prints_every_active_location_in_walk_order(
    as_receiver, site
):
    response = await as_receiver.get(
        "/api/labels/locations.zpl", params={"warehouse": site.warehouse}
    )
    codes = zpl_barcode_data(response.text)
    # build_site numbers A-01..A-04 at walk 0, 10, 20, 30; CUSTOMER and DISPOSAL default to 0.
    walk = ["A-01", "CUSTOMER", "DISPOSAL", "A-02", "A-03", "A-04"]
    assert codes == [f"LOC-{site.warehouse}-{code}" for code in walk]
    assert response.text.count("^XA") == len(codes)
    assert all(parse_barcode("]C0" + code).kind == "location" for code in codes)


async def test_one_location_label_svg_decodes_to_its_barcode(as_receiver, admin_client, site):
    [location] = [
        row
        for row in await ok(
            admin_client.get("/api/locations", params={"warehouse": site.warehouse})
        )
        if row["code"] == "A-02"
    ]
    response = await as_receiver.get(f"/api/labels/locations/{location['id']}.svg")
    [parsed] = decode(pages(response.content, "svg", dpi=300)[0])
    assert (parsed.kind, parsed.label) == ("location", location["barcode"])
    assert f"{site.warehouse} A-02" in response.text


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/labels/locations.pdf", {"warehouse": "NOPE"}, 422, "unknown_warehouse"),
        (
            "/api/labels/locations.zpl",
            {"warehouse": "{wh}", "codes": "A-01,Z-9"},
            422,
            "unknown_location",
        ),
        ("/api/labels/locations.pdf", {}, 400, "invalid_request"),
        ("/api/labels/locations/99999999.svg", {}, 404, "location_not_found"),
        ("/api/labels/locations/1.gif", {}, 404, "label_not_found"),
        (
            "/api/labels/locations.zpl",
            {"warehouse": "{wh}", "codes": ",".join(["A-01"] * 21), "copies": 100},
            422,
            "too_many_labels",
        ),
    ],
)
async def test_bad_location_label_requests_are_problems_with_stable_codes(
    as_receiver, site, path, params, status, code
):
    params = {
        key: value.format(wh=site.warehouse) if isinstance(value, str) else value
        for key, value in params.items()
    }
    body = assert_problem(await as_receiver.get(path, params=params), status, code)
    if code == "unknown_location":
        assert body["missing"] == ["Z-9"]


async def test_a_badge_label_decodes_to_the_badge_under_the_persons_name(admin_client, make_user):
    badge = f"BADGE-{uuid.uuid4().hex[:8].upper()}"
    user = await make_user(["picker"], badge=badge, pin="4321")
    svg = await admin_client.get(f"/api/labels/badges/{user.username}.svg")
    [parsed] = decode(pages(svg.content, "svg", dpi=300)[0])
    assert (parsed.symbology, parsed.kind, parsed.label) == ("]C0", "badge", badge)
    assert user.username in svg.text
    pdf = await admin_client.get(
        f"/api/labels/badges/{user.username}.pdf", params={"paper": "label", "size": "70x37"}
    )
    [page] = pages(pdf.content, "pdf")
    assert [found.label for found in decode(page)] == [badge]
    zpl = await admin_client.get(f"/api/labels/badges/{user.username}.zpl")
    assert zpl_barcode_data(zpl.text) == [badge]


async def test_only_admins_print_badges(as_receiver, live_server, make_user, make_user_token):
    user = await make_user(["picker"], badge=f"BADGE-{uuid.uuid4().hex[:8]}", pin="4321")
    token = await make_user_token(["supervisor"])
    async with httpx.AsyncClient(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}
    ) as supervisor:
        assert_problem(
            await supervisor.get(f"/api/labels/badges/{user.username}.svg"), 403, "forbidden"
        )
    assert_problem(
        await as_receiver.get(f"/api/labels/badges/{user.username}.svg"), 403, "forbidden"
    )


async def test_a_person_without_a_badge_or_no_such_person_has_no_badge_label(
    admin_client, make_user
):
    user = await make_user(["picker"])
    response = await admin_client.get(f"/api/labels/badges/{user.username}.svg")
    assert_problem(response, 409, "badge_not_set")
    response = await admin_client.get("/api/labels/badges/nobody-here.zpl")
    assert_problem(response, 404, "user_not_found")
