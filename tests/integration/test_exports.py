"""Exports over real HTTP: the recall report, the FDA's sortable spreadsheet (CSV and XLSX)
and an EPCIS 2.0 document validated against GS1's own JSON Schema."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jsonschema_rs
import pytest

from backend.settings import PROJECT_ROOT
from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import assert_problem, ok
from tests.integration.test_trace import (
    Item,
    TraceFloor,
    ada,
    add_item,
    bob,
    build_floor,
    move_units,
    pack_order,
    pick_order,
    place_order,
    receive_lot,
    ship_order,
)

EPCIS_SCHEMA = json.loads((PROJECT_ROOT / "shared" / "epcis-2.0-json-schema.json").read_text())
TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module")
async def floor(admin_client: httpx.AsyncClient, make_user: MakeUser) -> TraceFloor:
    return await build_floor(admin_client, make_user, "EXP")


@dataclass(frozen=True)
class Recalled:
    """A lot received from a supplier, shipped to two customers, then recalled."""

    item: Item
    lot_id: int
    supplier_lot: str
    orders: tuple[dict[str, Any], dict[str, Any]]


@pytest.fixture(scope="module")
async def recalled(admin_client, live_server: LiveServer, floor) -> Recalled:
    item = await add_item(admin_client)
    supplier_lot = f"SL-{uuid.uuid4().hex[:6]}"
    lot_id = await receive_lot(
        admin_client,
        item,
        "EXP-1",
        12,
        floor.bins[0],
        supplier=floor.supplier,
        supplierLotCode=supplier_lot,
        reference="ASN-4711",
    )
    async with (
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as picker,
        httpx.AsyncClient(base_url=live_server.url, headers=floor.packer.headers) as packer,
    ):
        first = await place_order(admin_client, floor, [(item, 3)], ada())
        second = await place_order(
            admin_client, floor, [(item, 2)], bob(name='=HYPERLINK("http://x")'), channel="market"
        )
        for order, units in ((first, 3), (second, 2)):
            await pick_order(admin_client, picker, floor, order, item)
            await pack_order(packer, order, item, {"EXP-1": units})
            await ship_order(packer, order)
    await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "recall",
                "reason": "Salmonella found in the mill",
                "lots": [lot_id],
            },
        )
    )
    return Recalled(item, lot_id, supplier_lot, (first, second))


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))


# --- recall report ------------------------------------------------------------------------


async def test_the_recall_report_lists_each_customer_with_contact_order_quantity_and_date(
    admin_client, recalled
):
    rows = csv_rows(await admin_client.get(f"/api/lots/{recalled.lot_id}/recall-report.csv"))
    first, second = recalled.orders
    assert [
        (
            r["customer_name"],
            r["customer_email"],
            r["customer_country"],
            r["channel"],
            r["order_external_id"],
            r["quantity"],
        )
        for r in rows
    ] == [
        ("Ada Lovelace", "ada@example.com", "DE", "shop", first["externalId"], "3"),
        ('\'=HYPERLINK("http://x")', "bob@example.org", "FR", "market", second["externalId"], "2"),
    ]
    for row in rows:
        assert (row["lot_code"], row["sku"]) == ("EXP-1", recalled.item.sku)
        assert row["supplier_lot_code"] == recalled.supplier_lot
        assert datetime.fromisoformat(row["first_shipped_at"]).date() == TODAY


async def test_a_lot_nobody_got_has_a_recall_report_with_only_its_header(admin_client, floor):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "QUIET-1", 2, floor.bins[1])
    response = await admin_client.get(f"/api/lots/{lot_id}/recall-report.csv")
    assert csv_rows(response) == []
    assert response.text.startswith("lot_id,lot_code,sku,product,supplier_lot_code,customer_ref")


# --- FSMA 204 -----------------------------------------------------------------------------


async def test_the_fsma_spreadsheet_has_a_row_per_receipt_and_per_shipment_with_its_kdes(
    admin_client, recalled, floor
):
    rows = csv_rows(
        await admin_client.get("/api/exports/fsma204.csv", params={"lot": recalled.lot_id})
    )
    assert [r["Critical Tracking Event"] for r in rows] == ["Receiving", "Shipping", "Shipping"]
    received, *shipped = rows
    for row in rows:
        assert row["Traceability Lot Code"] == recalled.supplier_lot
        assert row["Traceability Lot Code Source Description"] == "Acme Mills EXP"
        assert (
            row["Traceability Lot Code Source Reference"] == "https://id.gs1.org/417/9506000000011"
        )
        assert row["GTIN"] == recalled.item.gtin and row["Unit of Measure"] == "unit"
        assert row["Product Description"].endswith(f"(SKU {recalled.item.sku})")
        assert row["Event Date"] == TODAY.isoformat()
        assert (row["lotline Lot Code"], row["lotline Lot Id"]) == ("EXP-1", str(recalled.lot_id))
    assert received["Quantity"] == "12"
    assert received["Ship-From Location Description"] == "Acme Mills EXP"
    assert received["Ship-To Location Description"] == "Site EXP (lotline site EXP)"
    assert (received["Reference Document Type"], received["Reference Document Number"]) == (
        "Receipt reference",
        "ASN-4711",
    )
    first, second = recalled.orders
    assert [
        (
            r["Quantity"],
            r["Ship-From Location Description"],
            r["Reference Document Type"],
            r["Reference Document Number"],
            r["Sales Channel"],
        )
        for r in shipped
    ] == [
        ("3", "Site EXP (lotline site EXP)", "Sales order", first["externalId"], "shop"),
        ("2", "Site EXP (lotline site EXP)", "Sales order", second["externalId"], "market"),
    ]
    assert shipped[0]["Ship-To Location Description"].startswith("Ada Lovelace, DE (customer ")
    assert shipped[1]["Ship-To Location Description"].startswith("'=HYPERLINK")


async def test_the_fsma_spreadsheet_for_a_period_covers_every_lot_moved_in_it(
    admin_client, recalled, floor
):
    item = await add_item(admin_client)
    other = await receive_lot(admin_client, item, "EXP-2", 4, floor.bins[1])
    rows = csv_rows(
        await admin_client.get(
            "/api/exports/fsma204.csv", params={"from": TODAY.isoformat(), "to": TODAY.isoformat()}
        )
    )
    lots = {r["lotline Lot Id"] for r in rows}
    assert {str(recalled.lot_id), str(other)} <= lots
    # No supplier recorded: lotline's lot code, assigned where the lot arrived.
    [mine] = [r for r in rows if r["lotline Lot Id"] == str(other)]
    assert (mine["Traceability Lot Code"], mine["Traceability Lot Code Source Description"]) == (
        "EXP-2",
        "Site EXP (lotline site EXP)",
    )
    long_ago = {"from": "2001-01-01", "to": "2001-12-31"}
    assert csv_rows(await admin_client.get("/api/exports/fsma204.csv", params=long_ago)) == []
    narrowed = {
        "lot": recalled.lot_id,
        "from": (TODAY + timedelta(days=1)).isoformat(),
        "to": (TODAY + timedelta(days=9)).isoformat(),
    }
    assert csv_rows(await admin_client.get("/api/exports/fsma204.csv", params=narrowed)) == []


async def test_a_transfer_between_warehouses_is_a_shipping_and_a_receiving_event(
    admin_client, floor
):
    await ok(admin_client.post("/api/warehouses", json={"code": "EXP2", "name": "Annex"}))
    await ok(admin_client.post("/api/locations", json={"warehouse": "EXP2", "code": "B-01"}))
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "XFER-1", 6, floor.bins[0])
    await move_units(admin_client, lot_id, 2, floor.bins[0], "EXP2/B-01")
    rows = csv_rows(await admin_client.get("/api/exports/fsma204.csv", params={"lot": lot_id}))
    assert [
        (
            r["Critical Tracking Event"],
            r["Quantity"],
            r["Ship-From Location Description"],
            r["Ship-To Location Description"],
            r["Reference Document Type"],
        )
        for r in rows[1:]
    ] == [
        ("Receiving", "2", "Site EXP (lotline site EXP)", "Annex (lotline site EXP2)", "Transfer"),
        ("Shipping", "2", "Site EXP (lotline site EXP)", "Annex (lotline site EXP2)", "Transfer"),
    ]


async def test_units_back_from_a_customer_are_a_receiving_event_from_that_customer(
    admin_client, live_server, floor
):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "BACK-1", 4, floor.bins[0])
    order = await place_order(admin_client, floor, [(item, 2)], ada(name="Eve Returner"))
    async with (
        httpx.AsyncClient(base_url=live_server.url, headers=floor.picker.headers) as picker,
        httpx.AsyncClient(base_url=live_server.url, headers=floor.packer.headers) as packer,
    ):
        await pick_order(admin_client, picker, floor, order, item)
        await pack_order(packer, order, item, {"BACK-1": 2})
        await ship_order(packer, order)
    [shipment] = (await ok(admin_client.get(f"/api/trace/lots/{lot_id}")))["shipments"]
    await move_units(admin_client, lot_id, 1, shipment["destination"], floor.bins[1])
    rows = csv_rows(await admin_client.get("/api/exports/fsma204.csv", params={"lot": lot_id}))
    assert [(r["Critical Tracking Event"], r["Quantity"]) for r in rows] == [
        ("Receiving", "4"),
        ("Shipping", "2"),
        ("Receiving", "1"),
    ]
    back = rows[-1]
    assert back["Ship-From Location Description"].startswith("Eve Returner, DE (customer ")
    assert back["Ship-To Location Description"] == "Site EXP (lotline site EXP)"
    assert back["Reference Document Type"] == "lotline movement"


async def test_the_fsma_workbook_is_an_xlsx_with_the_spreadsheet_sheet(admin_client, recalled):
    response = await admin_client.get("/api/exports/fsma204.xlsx", params={"lot": recalled.lot_id})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        assert book.testzip() is None
        names = set(book.namelist())
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= names
        workbook = book.read("xl/workbook.xml").decode()
        assert re.findall(r'<sheet name="([^"]+)"', workbook) == ["FSMA 204", "About"]
        strings = book.read("xl/sharedStrings.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    for text in ("Traceability Lot Code", recalled.supplier_lot, "Ada Lovelace", "Receiving"):
        assert text in strings
    # Header and three events; the formula-like customer name is a string, not a formula.
    assert len(re.findall(r"<row ", sheet)) == 4
    assert "<f>" not in sheet


# --- EPCIS --------------------------------------------------------------------------------


async def test_the_epcis_document_validates_against_gs1s_schema_with_events_in_order(
    admin_client, recalled
):
    response = await admin_client.get("/api/exports/epcis.json", params={"lot": recalled.lot_id})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    validator = jsonschema_rs.Draft7Validator(EPCIS_SCHEMA, validate_formats=True)
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    events = document["epcisBody"]["eventList"]
    steps = [event.get("bizStep") for event in events]
    assert steps == ["receiving"] + ["picking", "packing", "shipping"] * 2 + ["holding"]
    assert [e["disposition"] for e in events if e.get("bizStep") == "shipping"] == [
        "in_transit"
    ] * 2
    held = events[-1]
    assert (held["disposition"], held["persistentDisposition"]) == (
        "recalled",
        {"set": ["recalled"]},
    )
    assert held["lotline:reason"] == "Salmonella found in the mill"
    epc_class = f"https://id.gs1.org/01/{recalled.item.gtin}/10/EXP-1"
    assert {q["epcClass"] for e in events for q in e["quantityList"]} == {epc_class}
    received = events[0]
    assert received["quantityList"][0]["quantity"] == 12
    assert received["sourceList"] == [
        {"type": "owning_party", "source": "https://id.gs1.org/417/9506000000011"}
    ]
    assert received["bizLocation"]["id"] == "https://id.lotline.example/location/EXP/A-01"
    first_ship = events[3]
    assert first_ship["bizTransactionList"][0]["type"] == "po"
    assert first_ship["bizTransactionList"][0]["bizTransaction"].endswith(
        f"/order/shop/{recalled.orders[0]['externalId']}"
    )
    assert len({event["eventID"] for event in events}) == len(events)
    times = [event["eventTime"] for event in events]
    assert times == sorted(times)


async def test_a_released_hold_is_a_holding_event_and_its_release(admin_client, floor):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "HOLD-1", 3, floor.bins[1])
    hold = await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "hold",
                "reason": "Lab check",
                "lots": [lot_id],
            },
        )
    )
    await ok(
        admin_client.post(
            f"/api/holds/{hold['id']}/release",
            json={"idempotencyKey": str(uuid.uuid4()), "reason": "Lab says fine"},
        )
    )
    document = await ok(admin_client.get("/api/exports/epcis.json", params={"lot": lot_id}))
    assert jsonschema_rs.Draft7Validator(EPCIS_SCHEMA, validate_formats=True).is_valid(document)
    events = document["epcisBody"]["eventList"]
    assert [
        (e.get("bizStep"), e["disposition"], e.get("persistentDisposition")) for e in events
    ] == [
        ("receiving", "sellable_not_accessible", None),
        ("holding", "non_sellable_other", {"set": ["non_sellable_other"]}),
        (None, "sellable_not_accessible", {"unset": ["non_sellable_other"]}),
    ]


async def test_a_lot_held_without_a_recorded_hold_has_a_holding_event_from_its_status(
    admin_client, floor, db: asyncpg.Connection
):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "OLD-HOLD", 3, floor.bins[1])
    await db.execute(
        "UPDATE lot SET status = 'quarantine', status_reason = 'Before holds', status_at = now()"
        " WHERE id = $1",
        lot_id,
    )
    document = await ok(admin_client.get("/api/exports/epcis.json", params={"lot": lot_id}))
    held = document["epcisBody"]["eventList"][-1]
    assert (held["bizStep"], held["disposition"], held["lotline:reason"]) == (
        "holding",
        "non_sellable_other",
        "Before holds",
    )


# --- refusals -----------------------------------------------------------------------------

EXPORTS = ("/api/exports/fsma204.csv", "/api/exports/fsma204.xlsx", "/api/exports/epcis.json")


async def counts(db: asyncpg.Connection) -> tuple[int, ...]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM movement), (SELECT count(*) FROM lot),"
        " (SELECT count(*) FROM hold), (SELECT count(*) FROM stock_balance)"
    )
    return tuple(row)


@pytest.mark.parametrize("path", EXPORTS)
@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"lot": 999999}, 404, "lot_not_found"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, 400, "invalid_request"),
        ({"from": "yesterday", "to": "2026-03-01"}, 400, "invalid_request"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, 422, "invalid_date_range"),
        ({}, 422, "lot_or_dates_required"),
        ({"from": "2026-03-01"}, 422, "lot_or_dates_required"),
        ({"lot": 0}, 400, "invalid_request"),
    ],
)
async def test_bad_export_requests_are_refused_with_a_problem_and_change_nothing(
    admin_client, recalled, db, path, params, status, code
):
    before = await counts(db)
    assert_problem(await admin_client.get(path, params=params), status, code)
    assert await counts(db) == before


async def test_exports_are_for_supervisors_and_admins(live_server, make_user, recalled):
    picker = await make_user(["picker"])
    async with httpx.AsyncClient(base_url=live_server.url, headers=picker.headers) as http:
        for path in EXPORTS:
            assert_problem(await http.get(path, params={"lot": recalled.lot_id}), 403, "forbidden")
        assert_problem(
            await http.get(f"/api/lots/{recalled.lot_id}/recall-report.csv"), 403, "forbidden"
        )
    assert_problem(
        await httpx.AsyncClient(base_url=live_server.url).get(
            f"/api/lots/{recalled.lot_id}/recall-report.csv"
        ),
        401,
        "unauthenticated",
    )


async def test_an_unknown_lot_has_no_recall_report(admin_client, floor):
    assert_problem(
        await admin_client.get("/api/lots/999999/recall-report.csv"), 404, "lot_not_found"
    )
