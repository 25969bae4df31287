"""Receiving and label printing in the office console, over HTTP against the real server:
the receipt form and its GS1 scan, refusals that receive nothing, one receipt per form key,
and lot and location labels decoded from the PDF and SVG the console serves."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import GS, OATS_GTIN, add_product, ok
from tests.integration.console_frames import as_cookie, console_session, origin
from tests.integration.test_labels import decode, pages
from tests.unit.test_labels import zpl_barcode_data

SERUM_GTIN = "04006381333931"
UNKNOWN_GTIN = "09501101530003"


@pytest.fixture(scope="module")
async def site(admin_client: httpx.AsyncClient) -> None:
    """Warehouse RCV with two bins, a pack station, a supplier, and products: oats (lot, GTIN),
    serum (serial-tracked), bulk (no GTIN)."""
    await ok(admin_client.post("/api/warehouses", json={"code": "RCV", "name": "Receiving"}))
    for code, kind in (("R-01", "bin"), ("R-02", "bin"), ("PACK", "pack_station")):
        await ok(
            admin_client.post(
                "/api/locations", json={"warehouse": "RCV", "code": code, "kind": kind}
            )
        )
    await ok(admin_client.post("/api/suppliers", json={"code": "FARM", "name": "Farm"}))
    await add_product(admin_client, sku="OATS", name="Rolled oats", gtins=[OATS_GTIN])
    await add_product(admin_client, sku="SERUM", gtins=[SERUM_GTIN], tracking="serial")
    await add_product(admin_client, sku="BULK", lotCodeTemplate="BK-{SEQ:3}")


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60.0) as http:
        yield http


@pytest.fixture(scope="module")
async def receiver(live_server: LiveServer, make_user: MakeUser, site: None) -> str:
    return await console_session(live_server, make_user, ("receiver",))


def form_key(page: str) -> str:
    found = re.search(r'name="idempotencyKey" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def field_value(page: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}"[^>]*value="([^"]*)"', page)
    assert found, f"no field {name}"
    return html.unescape(found.group(1))


def alert(page: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', page)
    assert found, "no alert on the page"
    return html.unescape(found.group(1))


async def post_receipt(
    client: httpx.AsyncClient, server: LiveServer, token: str, **fields: str
) -> httpx.Response:
    form = {"idempotencyKey": str(uuid.uuid4()), "quantity": "6", "location": "RCV/R-01", **fields}
    return await client.post(
        "/console/receive", data=form, headers={**as_cookie(token), **origin(server)}
    )


async def lots_of(db: asyncpg.Connection, sku: str) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT l.id, l.code, l.supplier_lot_code, l.expiry_date, l.production_date,
                  (SELECT coalesce(sum(quantity), 0) FROM movement m
                    WHERE m.lot_id = l.id AND m.kind = 'receipt') AS received
             FROM lot l JOIN product p ON p.id = l.product_id WHERE p.sku = $1 ORDER BY l.id""",
        sku,
    )


async def test_the_receipt_form_offers_every_field_a_fresh_key_and_receivable_locations(
    client, receiver
):
    page = await client.get("/console/receive", headers=as_cookie(receiver))
    assert page.status_code == 200
    for name in (
        "scan",
        "product",
        "quantity",
        "location",
        "supplier",
        "supplierLotCode",
        "productionDate",
        "expiry",
        "bestBefore",
        "lotCode",
        "serials",
        "reference",
    ):
        assert f'id="{name}"' in page.text and f'for="{name}"' in page.text, name
    uuid.UUID(form_key(page.text))
    again = await client.get("/console/receive", headers=as_cookie(receiver))
    assert form_key(again.text) != form_key(page.text)
    assert '<option value="RCV/R-01">' in page.text
    assert "RCV/PACK" not in page.text  # goods are not received into a pack station
    assert "Leave blank for a new lot" in page.text


@pytest.mark.parametrize(
    "scan",
    [
        f"(01){OATS_GTIN}(11)260301(17)270630(10)FARM-77(37)24",
        f"01{OATS_GTIN}1126030117270630" + f"10FARM-77{GS}3724",
        f"]d201{OATS_GTIN}1126030117270630" + f"10FARM-77{GS}3724",
    ],
    ids=["bracketed", "wedge-with-gs", "with-symbology-identifier"],
)
async def test_a_scanned_supplier_label_fills_product_lot_dates_and_quantity(
    client, receiver, scan
):
    page = await client.get("/console/receive", params={"scan": scan}, headers=as_cookie(receiver))
    assert page.status_code == 200, page.text
    assert 'role="alert"' not in page.text
    assert field_value(page.text, "product") == "OATS"
    assert field_value(page.text, "supplierLotCode") == "FARM-77"
    assert field_value(page.text, "expiry") == "2027-06-30"
    assert field_value(page.text, "productionDate") == "2026-03-01"
    assert field_value(page.text, "bestBefore") == ""
    assert field_value(page.text, "quantity") == "24"
    assert "Rolled oats" in page.text


async def test_a_scan_of_an_unknown_gtin_says_so_and_fills_nothing(client, receiver):
    page = await client.get(
        "/console/receive",
        params={"scan": f"(01){UNKNOWN_GTIN}(10)X1"},
        headers=as_cookie(receiver),
    )
    assert page.status_code == 422
    assert UNKNOWN_GTIN in alert(page.text)
    assert field_value(page.text, "product") == ""
    assert field_value(page.text, "supplierLotCode") == ""


@pytest.mark.parametrize("scan", ["hello there", "(01)09506000134353(10)X1", "(17)271340"], ids=str)
async def test_an_unreadable_scan_is_announced_and_fills_nothing(client, receiver, scan):
    page = await client.get("/console/receive", params={"scan": scan}, headers=as_cookie(receiver))
    assert page.status_code == 422
    assert alert(page.text)
    assert field_value(page.text, "product") == ""
    assert field_value(page.text, "expiry") == ""


async def test_a_scan_suggests_the_supplier_and_location_of_the_products_last_receipt(
    client, receiver, admin_client
):
    gtin = "09506000134376"
    await add_product(admin_client, sku="BARLEY", name="Pearl barley", gtins=[gtin])
    scan = f"(01){gtin}(10)FARM-B1(17)280131"
    first = await client.get(
        "/console/receive-scan", params={"scan": scan}, headers=as_cookie(receiver)
    )
    assert first.json()["usual"] == {}, "no receipt yet: nothing to suggest"
    for location in ("RCV/R-01", "RCV/R-02"):
        await ok(
            admin_client.post(
                "/api/receipts",
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "sku": "BARLEY",
                    "quantity": 2,
                    "location": location,
                    "supplier": "FARM",
                    "supplierLotCode": f"FARM-{location[-1]}",
                    "expiry": "2028-01-31",
                },
            )
        )
    read = await client.get(
        "/console/receive-scan", params={"scan": scan}, headers=as_cookie(receiver)
    )
    body = read.json()
    assert body["usual"] == {"supplier": "FARM", "location": "RCV/R-02"}
    assert "supplier FARM and location RCV/R-02 as this product's last receipt" in body["message"]
    # The label's own facts stay the label's; the suggestion only fills what it does not say.
    assert "location" not in body["values"] and body["values"]["supplierLotCode"] == "FARM-B1"
    page = await client.get("/console/receive", params={"scan": scan}, headers=as_cookie(receiver))
    assert field_value(page.text, "supplier") == "FARM"
    assert field_value(page.text, "location") == "RCV/R-02"
    assert field_value(page.text, "supplierLotCode") == "FARM-B1"


async def test_a_scanned_location_label_fills_the_location(client, receiver):
    page = await client.get(
        "/console/receive", params={"scan": "LOC-RCV-R-02"}, headers=as_cookie(receiver)
    )
    assert page.status_code == 200
    assert field_value(page.text, "location") == "RCV/R-02"
    assert field_value(page.text, "product") == ""
    unknown = await client.get(
        "/console/receive", params={"scan": "LOC-RCV-R-99"}, headers=as_cookie(receiver)
    )
    assert unknown.status_code == 422
    assert "LOC-RCV-R-99" in alert(unknown.text)


async def test_the_pages_script_reads_a_scan_as_json_with_the_same_rules(
    client, live_server, receiver, make_user
):
    read = await client.get(
        "/console/receive-scan",
        params={"scan": f"01{OATS_GTIN}17270630" + f"10FARM-9{GS}3015"},
        headers=as_cookie(receiver),
    )
    assert read.status_code == 200
    assert read.headers["cache-control"] == "no-store"
    body = read.json()
    assert body["values"] == {
        "product": "OATS",
        "supplierLotCode": "FARM-9",
        "expiry": "2027-06-30",
        "quantity": "15",
    }
    assert body["productName"] == "Rolled oats"
    assert body["message"].startswith(
        f"From the label: product OATS (GTIN {OATS_GTIN}), supplier lot FARM-9, "
        "expiry 2027-06-30, quantity 15."
    )
    assert body["message"].endswith("Check the values, then receive.")
    place = await client.get(
        "/console/receive-scan", params={"scan": "LOC-RCV-R-01"}, headers=as_cookie(receiver)
    )
    assert place.json()["values"] == {"location": "RCV/R-01"}
    for scan, status, code in (
        (f"(01){UNKNOWN_GTIN}", 422, "unknown_product"),
        ("hello", 422, "unreadable_scan"),
        ("", 422, "unreadable_scan"),
        ("(00)106141411234567897", 422, "scan_without_gtin"),
        ("9" * 501, 400, "invalid_request"),
    ):
        refused = await client.get(
            "/console/receive-scan", params={"scan": scan}, headers=as_cookie(receiver)
        )
        assert (refused.status_code, refused.json()["code"]) == (status, code), scan
    picker = await make_user(["picker"])
    page = await client.get(
        "/console/receive-scan", params={"scan": "LOC-RCV-R-01"}, headers=as_cookie(picker.token)
    )
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")


async def test_a_scan_too_long_or_with_nul_is_a_400(client, receiver):
    for scan in ("1" * 501, "(01)\x00"):
        page = await client.get(
            "/console/receive", params={"scan": scan}, headers=as_cookie(receiver)
        )
        assert page.status_code == 400
        assert "500 characters" in alert(page.text)


async def test_receiving_shows_the_lot_with_its_label_and_print_links(
    client, live_server, receiver, db
):
    posted = await post_receipt(
        client,
        live_server,
        receiver,
        product=OATS_GTIN,
        quantity="12",
        supplier="FARM",
        supplierLotCode="FARM-12",
        lotCode="OATS-A1",
        productionDate="2026-02-01",
        expiry="2027-08-31",
        reference="PO-1",
    )
    assert posted.status_code == 303, posted.text
    receipt = await client.get(posted.headers["location"], headers=as_cookie(receiver))
    assert receipt.status_code == 200
    [lot] = [row for row in await lots_of(db, "OATS") if row["code"] == "OATS-A1"]
    assert (lot["received"], lot["supplier_lot_code"], lot["expiry_date"]) == (
        12,
        "FARM-12",
        date(2027, 8, 31),
    )
    text = receipt.text
    assert "OATS-A1" in text and "RCV/R-01" in text and "2027-08-31" in text and "PO-1" in text
    assert f'src="/console/labels/lots/{lot["id"]}.svg"' in text
    assert f'href="/console/labels/lots/{lot["id"]}.pdf?copies=12"' in text
    assert f"(01){OATS_GTIN}(17)270831(10)OATS-A1" in text


async def test_a_lot_code_left_blank_is_made_from_the_products_template(
    client, live_server, receiver, db
):
    posted = await post_receipt(client, live_server, receiver, product="BULK", quantity="3")
    assert posted.status_code == 303, posted.text
    receipt = await client.get(posted.headers["location"], headers=as_cookie(receiver))
    [lot] = [row for row in await lots_of(db, "BULK") if re.fullmatch(r"BK-\d{3}", row["code"])]
    assert f"its code {lot['code']} made from the product" in receipt.text
    # A product without a GTIN gets no GS1 label: said on the page, not a broken image.
    assert "No label for this lot" in receipt.text


async def test_a_double_submitted_form_receives_once(client, live_server, receiver, db):
    key = str(uuid.uuid4())
    fields = {"idempotencyKey": key, "product": "OATS", "lotCode": "TWICE", "quantity": "5"}
    first = await post_receipt(client, live_server, receiver, **fields)
    second = await post_receipt(client, live_server, receiver, **fields)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].split("?")[0] == second.headers["location"].split("?")[0]
    assert "replayed=1" in second.headers["location"]
    [lot] = [row for row in await lots_of(db, "OATS") if row["code"] == "TWICE"]
    assert lot["received"] == 5
    shown = await client.get(second.headers["location"], headers=as_cookie(receiver))
    assert "applied once" in shown.text


async def test_serials_one_a_line_are_received_with_a_serial_tracked_product(
    client, live_server, receiver, db
):
    posted = await post_receipt(
        client,
        live_server,
        receiver,
        product="SERUM",
        quantity="2",
        lotCode="SER-1",
        serials="SN-1\r\n\r\nSN-2\r\n",
    )
    assert posted.status_code == 303, posted.text
    serials = await db.fetch("SELECT serial FROM serial ORDER BY serial")
    assert [row["serial"] for row in serials] == ["SN-1", "SN-2"]


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"product": "NOPE"}, 422, "NOPE"),
        ({"product": UNKNOWN_GTIN}, 422, UNKNOWN_GTIN),
        ({"product": ""}, 422, "sku or gtin"),
        ({"product": "OATS", "quantity": "0"}, 400, "Quantity"),
        ({"product": "OATS", "quantity": "lots"}, 400, "Quantity"),
        ({"product": "OATS", "location": "RCV/PACK"}, 422, "pack_station"),
        ({"product": "OATS", "location": "NOWHERE"}, 422, "NOWHERE"),
        ({"product": "OATS", "supplier": "nobody"}, 400, "Supplier"),
        ({"product": "OATS", "supplier": "NOBODY"}, 422, "NOBODY"),
        ({"product": "OATS", "expiry": "2027-02-30"}, 400, "Expiry"),
        (
            {"product": "OATS", "productionDate": "2027-03-01", "expiry": "2027-02-01"},
            409,
            "before the production date",
        ),
        ({"product": "SERUM", "quantity": "2", "serials": "S-9"}, 422, "2 units, 1 serials"),
        ({"product": "SERUM", "quantity": "2", "serials": "S-8\nS-8"}, 422, "twice"),
        ({"product": "OATS", "serials": "S-7"}, 422, "not tracked by serial"),
        ({"product": "OATS", "idempotencyKey": "not-a-key"}, 400, "Form key"),
    ],
    ids=[
        "unknown-sku",
        "unknown-gtin",
        "no-product",
        "zero-quantity",
        "quantity-not-a-number",
        "pack-station",
        "unknown-location",
        "supplier-not-a-code",
        "unknown-supplier",
        "impossible-date",
        "expiry-before-production",
        "too-few-serials",
        "serial-twice",
        "serials-untracked",
        "bad-key",
    ],
)
async def test_a_refused_receipt_shows_the_form_again_with_its_values_and_receives_nothing(
    client, live_server, receiver, db, fields, status, message
):
    before = await db.fetchval("SELECT count(*) FROM movement")
    code = f"REF-{uuid.uuid4().hex[:8]}"
    posted = await post_receipt(
        client, live_server, receiver, lotCode=code, reference="kept", **fields
    )
    assert posted.status_code == status, posted.text
    assert message in alert(posted.text)
    assert field_value(posted.text, "lotCode") == code
    assert field_value(posted.text, "reference") == "kept"
    assert await db.fetchval("SELECT count(*) FROM movement") == before
    assert await db.fetchval("SELECT count(*) FROM lot WHERE code = $1", code) == 0


async def test_a_refused_form_keeps_its_key_so_the_corrected_post_receives_once(
    client, live_server, receiver, db
):
    refused = await post_receipt(
        client, live_server, receiver, product="OATS", lotCode="FIXED", quantity="0"
    )
    key = form_key(refused.text)
    fields = {"idempotencyKey": key, "product": "OATS", "lotCode": "FIXED", "quantity": "4"}
    for _ in range(2):
        posted = await post_receipt(client, live_server, receiver, **fields)
        assert posted.status_code == 303
    [lot] = [row for row in await lots_of(db, "OATS") if row["code"] == "FIXED"]
    assert lot["received"] == 4


async def test_an_overlong_field_is_a_400_page_and_receives_nothing(
    client, live_server, receiver, db
):
    before = await db.fetchval("SELECT count(*) FROM movement")
    for name, limit in (("reference", 200), ("supplierLotCode", 80), ("lotCode", 20)):
        posted = await post_receipt(
            client, live_server, receiver, product="OATS", **{name: "X" * (limit + 1)}
        )
        assert posted.status_code == 400
        assert name in posted.text
    nul = await post_receipt(client, live_server, receiver, product="OATS", reference="a\x00b")
    assert nul.status_code == 400
    assert await db.fetchval("SELECT count(*) FROM movement") == before


async def test_a_receipt_posted_from_another_origin_is_refused(client, receiver, db):
    before = await db.fetchval("SELECT count(*) FROM movement")
    form = {
        "idempotencyKey": str(uuid.uuid4()),
        "product": "OATS",
        "quantity": "1",
        "location": "RCV/R-01",
    }
    for headers in ({"Origin": "https://evil.example"}, {}):
        posted = await client.post(
            "/console/receive", data=form, headers={**as_cookie(receiver), **headers}
        )
        assert posted.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM movement") == before


async def test_receiving_and_labels_are_for_receivers_and_supervisors(
    client, live_server, make_user, receiver, db
):
    supervisor = await console_session(live_server, make_user, ("supervisor",))
    page = await client.get("/console/receive", headers=as_cookie(supervisor))
    assert page.status_code == 200
    picker = await make_user(["picker", "counter"])
    # A picker cannot hold a console session; their API token as a cookie is still refused.
    for path in ("/console/receive", "/console/labels", "/console/labels/lots/1.svg"):
        refused = await client.get(path, headers=as_cookie(picker.token))
        assert refused.status_code == 403, path
    before = await db.fetchval("SELECT count(*) FROM movement")
    posted = await post_receipt(client, live_server, picker.token, product="OATS")
    assert posted.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM movement") == before
    anonymous = await client.get("/console/receive")
    assert anonymous.status_code in (302, 303)
    assert anonymous.headers["location"].startswith("/console/login?next=")


async def test_a_receipt_page_of_no_receipt_is_a_404(client, live_server, receiver, db):
    await post_receipt(client, live_server, receiver, product="OATS", lotCode="MOVED")
    lot_id = await db.fetchval("SELECT id FROM lot WHERE code = 'MOVED'")
    moved = await db.fetchval(
        "SELECT id FROM movement WHERE lot_id = $1 AND kind = 'receipt'", lot_id
    )
    for missing in ("999999", "abc", "1" * 30):
        page = await client.get(f"/console/receive/{missing}", headers=as_cookie(receiver))
        assert page.status_code == 404, missing
    shown = await client.get(f"/console/receive/{moved}", headers=as_cookie(receiver))
    assert shown.status_code == 200


async def received_lot(server: LiveServer, token: str, **fields: str) -> int:
    """The id of the lot a console receipt went into, read from its receipt page."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        posted = await post_receipt(client, server, token, **fields)
        assert posted.status_code == 303, posted.text
        page = await client.get(posted.headers["location"], headers=as_cookie(token))
    found = re.search(r'href="/console/lots/(\d+)"', page.text)
    assert found, page.text
    return int(found.group(1))


@pytest.fixture(scope="module")
async def oats_lot(live_server: LiveServer, receiver: str) -> int:
    return await received_lot(
        live_server, receiver, product="OATS", quantity="7", lotCode="OL-26/A", expiry="2027-06-30"
    )


@pytest.fixture(scope="module")
async def bulk_lot(live_server: LiveServer, receiver: str) -> int:
    """A lot of a product without a GTIN: it has no GS1 label."""
    return await received_lot(live_server, receiver, product="BULK", lotCode="BK-LABEL")


def oats_facts(parsed: Any) -> tuple[Any, ...]:
    return (parsed.gtin, parsed.lot, parsed.expiry)


async def test_the_lot_label_svg_and_pdf_decode_to_the_lots_gtin_lot_and_expiry(
    client, receiver, oats_lot
):
    svg = await client.get(f"/console/labels/lots/{oats_lot}.svg", headers=as_cookie(receiver))
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    [parsed] = decode(pages(svg.content, "svg", dpi=300)[0])
    assert (parsed.symbology, *oats_facts(parsed)) == (
        "]d2",
        OATS_GTIN,
        "OL-26/A",
        date(2027, 6, 30),
    )
    pdf = await client.get(
        f"/console/labels/lots/{oats_lot}.pdf",
        params={"copies": 7, "symbol": "gs1-128", "paper": "label"},
        headers=as_cookie(receiver),
    )
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline;")
    pictures = pages(pdf.content, "pdf", dpi=300)
    assert len(pictures) == 7
    for picture in pictures:
        [parsed] = decode(picture)
        assert (parsed.symbology, *oats_facts(parsed)) == (
            "]C1",
            OATS_GTIN,
            "OL-26/A",
            date(2027, 6, 30),
        )


async def test_the_lot_label_zpl_is_a_download_with_the_element_string(client, receiver, oats_lot):
    zpl = await client.get(
        f"/console/labels/lots/{oats_lot}.zpl",
        params={"copies": 3, "dpi": 300},
        headers=as_cookie(receiver),
    )
    assert zpl.status_code == 200
    assert zpl.headers["content-disposition"].startswith("attachment;")
    assert f"lot-{oats_lot}.zpl" in zpl.headers["content-disposition"]
    assert "^PQ3" in zpl.text
    assert zpl_barcode_data(zpl.text) == [f"01{OATS_GTIN}17270630" + "10OL-26/A"]


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("lots/{lot}.pdf", {"symbol": "qr"}, 400, "symbol"),
        ("lots/{lot}.pdf", {"copies": "0"}, 400, "copies"),
        ("lots/{lot}.pdf", {"copies": "many"}, 400, "copies"),
        ("lots/{lot}.zpl", {"dpi": "150"}, 400, "dpi"),
        ("lots/{lot}.svg", {"size": "1x1"}, 400, "size"),
        ("lots/{lot}.svg", {"serial": "S" * 21}, 400, "serial"),
        ("lots/{lot}.svg", {"serial": "S N"}, 422, "invalid_label_serial"),
        ("lots/{lot}.png", {}, 404, "label_not_found"),
        ("lots/999999.pdf", {}, 404, "lot_not_found"),
        ("lots/{bulk}.pdf", {}, 409, "lot_not_labelable"),
        ("locations.pdf", {}, 400, "warehouse"),
        ("locations.pdf", {"warehouse": "NOPE"}, 422, "unknown_warehouse"),
        ("locations.zpl", {"warehouse": "RCV", "codes": "R-01,R-99"}, 422, "unknown_location"),
        ("locations.pdf", {"warehouse": "RCV", "codes": "R" * 1001}, 400, "codes"),
        (
            "locations.pdf",
            {"warehouse": "RCV", "copies": "100", "codes": "R-01," * 21},
            422,
            "too_many_labels",
        ),
        ("locations/999999.svg", {}, 404, "location_not_found"),
    ],
    ids=str,
)
async def test_bad_label_options_are_an_error_page_never_a_500(
    client, receiver, oats_lot, bulk_lot, path, params, status, message
):
    url = "/console/labels/" + path.format(lot=oats_lot, bulk=bulk_lot)
    page = await client.get(url, params=params, headers=as_cookie(receiver))
    assert page.status_code == status, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert message in html.unescape(page.text)


async def test_location_labels_pdf_and_single_label_decode_to_each_bins_barcode(
    client, receiver, db
):
    form = await client.get("/console/labels", headers=as_cookie(receiver))
    assert form.status_code == 200
    assert '<option value="RCV">' in form.text
    pdf = await client.get(
        "/console/labels/locations.pdf",
        params={"warehouse": "RCV", "codes": "R-02,R-01", "paper": "label"},
        headers=as_cookie(receiver),
    )
    assert pdf.status_code == 200, pdf.text
    read = [decode(picture)[0].label for picture in pages(pdf.content, "pdf", dpi=300)]
    assert read == ["LOC-RCV-R-02", "LOC-RCV-R-01"]
    everything = await client.get(
        "/console/labels/locations.zpl", params={"warehouse": "RCV"}, headers=as_cookie(receiver)
    )
    assert everything.status_code == 200
    assert everything.text.count("^XA") == 3  # every active location, the pack station too
    bin_id = await db.fetchval("SELECT id FROM location WHERE code = 'R-01'")
    svg = await client.get(f"/console/labels/locations/{bin_id}.svg", headers=as_cookie(receiver))
    [parsed] = decode(pages(svg.content, "svg", dpi=300)[0])
    assert (parsed.kind, parsed.label) == ("location", "LOC-RCV-R-01")
