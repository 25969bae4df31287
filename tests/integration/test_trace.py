"""Trace over real HTTP into a real database: a lot forward to the customers, orders and
channels that got it and to the bins, totes and boxes that hold the rest; an order back to
its lots; a unit by its serial; every lot of a supplier lot. The floor is arranged through
the same API the handhelds use: receipts, orders, waves, pick and pack scans, shipping."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.domain.check_digits import gs1_check_digit
from tests.conftest import LiveServer, MakeUser, TestUser
from tests.integration.arrange import assert_problem, gs1, ok, receive, scan_body

_numbers = itertools.count(1)


# --- arranging a floor through the API (test_exports.py uses these too) -------------------


@dataclass(frozen=True)
class TraceFloor:
    """A warehouse with two bins and a pack station, two channels, a supplier, and people."""

    warehouse: str
    bins: tuple[str, ...]
    """`WH/A-0n`, as the API names them."""
    bin_labels: tuple[str, ...]
    supplier: str
    picker: TestUser
    packer: TestUser


@dataclass(frozen=True)
class Item:
    sku: str
    gtin: str


async def build_floor(admin: httpx.AsyncClient, make_user: MakeUser, warehouse: str) -> TraceFloor:
    await ok(admin.post("/api/warehouses", json={"code": warehouse, "name": f"Site {warehouse}"}))
    bins, labels = [], []
    for n in (1, 2):
        made = await ok(
            admin.post(
                "/api/locations",
                json={"warehouse": warehouse, "code": f"A-0{n}", "walkSequence": n * 10},
            )
        )
        bins.append(f"{warehouse}/A-0{n}")
        labels.append(made["barcode"])
    for code, kind in (("PACK-1", "pack_station"), ("CUSTOMER", "customer")):
        await ok(
            admin.post("/api/locations", json={"warehouse": warehouse, "code": code, "kind": kind})
        )
    for code, kind in (("shop", "own_shop"), ("market", "marketplace")):
        await ok(
            admin.post("/api/channels", json={"code": code, "name": code.title(), "kind": kind})
        )
    supplier = f"ACME{warehouse}"
    await ok(
        admin.post(
            "/api/suppliers",
            json={"code": supplier, "name": f"Acme Mills {warehouse}", "gln": "9506000000011"},
        )
    )
    return TraceFloor(
        warehouse=warehouse,
        bins=tuple(bins),
        bin_labels=tuple(labels),
        supplier=supplier,
        picker=await make_user(["picker"]),
        packer=await make_user(["packer"]),
    )


async def add_item(admin: httpx.AsyncClient, tracking: str = "lot") -> Item:
    number = next(_numbers)
    body = f"0950602{number:06d}"
    item = Item(sku=f"TRC-{uuid.uuid4().hex[:6]}-{number}", gtin=body + str(gs1_check_digit(body)))
    await ok(
        admin.post(
            "/api/products",
            json={
                "sku": item.sku,
                "name": f"Oat flakes {number}",
                "gtins": [item.gtin],
                "tracking": tracking,
            },
        )
    )
    return item


async def receive_lot(
    admin: httpx.AsyncClient, item: Item, code: str, quantity: int, where: str, **fields: Any
) -> int:
    """Receive units of a lot (expiring 2040-01-31 unless told); the lot's id."""
    body = {
        "sku": item.sku,
        "lotCode": code,
        "quantity": quantity,
        "location": where,
        "expiry": "2040-01-31",
        **fields,
    }
    received = await ok(receive(admin, **body))
    lot_id: int = received["lot"]["id"]
    return lot_id


async def place_order(
    admin: httpx.AsyncClient,
    floor: TraceFloor,
    lines: list[tuple[Item, int]],
    customer: dict[str, Any],
    channel: str = "shop",
) -> dict[str, Any]:
    body = {
        "channel": channel,
        "externalId": f"EXT-{uuid.uuid4().hex[:8]}",
        "customer": customer,
        "lines": [{"sku": item.sku, "quantity": quantity} for item, quantity in lines],
        "warehouse": floor.warehouse,
    }
    placed: dict[str, Any] = await ok(admin.post("/api/orders", json=body))
    return placed


async def scan(client: httpx.AsyncClient, raw: str, context: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = await ok(
        client.post("/api/scans", json=scan_body(raw, context, **fields))
    )
    assert body["verdict"] == "accepted", body
    return body


async def pick_order(
    admin: httpx.AsyncClient,
    picker: httpx.AsyncClient,
    floor: TraceFloor,
    order: dict[str, Any],
    item: Item,
    serials: list[str] | None = None,
) -> None:
    """Wave the order to the floor's picker, who picks every task (bin, then lot)."""
    await ok(
        admin.post(
            "/api/waves", json={"orderIds": [order["id"]], "pickers": [floor.picker.username]}
        )
    )
    mine = await ok(picker.get("/api/pick-tasks", params={"assignee": "me"}))
    units = iter(serials or [])
    for task in (t for t in mine if t["orderId"] == order["id"]):
        label = floor.bin_labels[floor.bins.index(f"{floor.warehouse}/{task['bin']['code']}")]
        await scan(picker, label, "pick", taskId=task["id"])
        if serials is None:
            raw = gs1(item.gtin, task["lotCode"])
            await scan(picker, raw, "pick", taskId=task["id"], quantity=task["quantity"])
        else:
            for _ in range(task["quantity"]):
                await scan(
                    picker, gs1(item.gtin, task["lotCode"], next(units)), "pick", taskId=task["id"]
                )


async def pack_order(
    packer: httpx.AsyncClient, order: dict[str, Any], item: Item, lots: dict[str, int]
) -> None:
    """Pack `lots` ({lot code: units}, or serial: 1 as `CODE/SERIAL`) of the order."""
    for code, quantity in lots.items():
        lot, _, serial = code.partition("/")
        raw = gs1(item.gtin, lot, serial or None)
        await scan(
            packer, raw, "pack", orderId=order["id"], **({} if serial else {"quantity": quantity})
        )


async def ship_order(packer: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    shipped: dict[str, Any] = await ok(
        packer.post(f"/api/orders/{order['id']}/ship", json={"idempotencyKey": str(uuid.uuid4())})
    )
    return shipped


async def move_units(
    admin: httpx.AsyncClient, lot_id: int, quantity: int, source: str, to: str
) -> None:
    await ok(
        admin.post(
            "/api/moves",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "lotId": lot_id,
                "quantity": quantity,
                "from": source,
                "to": to,
            },
        )
    )


def ada(**fields: Any) -> dict[str, Any]:
    return {
        "ref": f"ADA-{next(_numbers)}",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "country": "DE",
        **fields,
    }


def bob(**fields: Any) -> dict[str, Any]:
    return {
        "ref": f"BOB-{next(_numbers)}",
        "name": "Bob Marley",
        "email": "bob@example.org",
        "country": "FR",
        **fields,
    }


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def floor(admin_client: httpx.AsyncClient, make_user: MakeUser) -> TraceFloor:
    return await build_floor(admin_client, make_user, "TRC")


@pytest.fixture(scope="module")
async def as_picker(live_server: LiveServer, floor: TraceFloor) -> Any:
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=floor.picker.headers
    ) as http:
        yield http


@pytest.fixture(scope="module")
async def as_packer(live_server: LiveServer, floor: TraceFloor) -> Any:
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=floor.packer.headers
    ) as http:
        yield http


@dataclass(frozen=True)
class Spread:
    """One lot spread over the floor: shipped to two customers, the rest in a bin, a tote
    and a box."""

    item: Item
    lot_id: int
    other_lot_id: int
    supplier_lot: str
    shipped: tuple[dict[str, Any], dict[str, Any]]
    in_tote: dict[str, Any]
    in_box: dict[str, Any]
    before: datetime


@pytest.fixture(scope="module")
async def spread(admin_client, as_picker, as_packer, floor) -> Spread:
    before = datetime.now(UTC)
    item = await add_item(admin_client)
    supplier_lot = f"SUP-{uuid.uuid4().hex[:6]}"
    lot_id = await receive_lot(
        admin_client,
        item,
        "L-ONE",
        20,
        floor.bins[0],
        supplier=floor.supplier,
        supplierLotCode=supplier_lot,
        expiry="2039-06-30",
    )
    # A second lot of the same supplier lot, expiring later: waves take L-ONE first.
    other = await receive_lot(
        admin_client,
        item,
        "L-TWO",
        5,
        floor.bins[1],
        supplier=floor.supplier,
        supplierLotCode=supplier_lot,
    )
    first = await place_order(admin_client, floor, [(item, 3)], ada())
    second = await place_order(admin_client, floor, [(item, 2)], bob(), channel="market")
    for order, units in ((first, 3), (second, 2)):
        await pick_order(admin_client, as_picker, floor, order, item)
        await pack_order(as_packer, order, item, {"L-ONE": units})
        await ship_order(as_packer, order)
    in_tote = await place_order(admin_client, floor, [(item, 4)], ada(name="Cy Twombly"))
    await pick_order(admin_client, as_picker, floor, in_tote, item)
    in_box = await place_order(admin_client, floor, [(item, 1)], bob(name="Di Fosse"))
    await pick_order(admin_client, as_picker, floor, in_box, item)
    await pack_order(as_packer, in_box, item, {"L-ONE": 1})
    return Spread(item, lot_id, other, supplier_lot, (first, second), in_tote, in_box, before)


# --- forward ------------------------------------------------------------------------------


async def test_a_lot_shipped_to_two_customers_traces_forward_to_both_with_quantities_and_dates(
    admin_client, spread
):
    trace = await ok(admin_client.get(f"/api/trace/lots/{spread.lot_id}"))
    assert trace["lot"]["code"] == "L-ONE" and trace["lot"]["sku"] == spread.item.sku
    assert trace["lot"]["supplierLotCode"] == spread.supplier_lot
    assert trace["lot"]["gtins"] == [spread.item.gtin]
    first, second = spread.shipped
    got = [
        (
            s["externalId"],
            s["channel"],
            s["customer"]["name"],
            s["customer"]["email"],
            s["customer"]["country"],
            s["quantity"],
        )
        for s in trace["shipments"]
    ]
    assert got == [
        (first["externalId"], "shop", "Ada Lovelace", "ada@example.com", "DE", 3),
        (second["externalId"], "market", "Bob Marley", "bob@example.org", "FR", 2),
    ]
    now = datetime.now(UTC)
    for shipment in trace["shipments"]:
        shipped_at = datetime.fromisoformat(shipment["firstShippedAt"])
        assert spread.before <= shipped_at <= now
        assert shipment["destination"].startswith("TRC/CUSTOMER-")
    assert [
        (c["customer"]["name"], c["shipped"], c["holding"], c["orders"]) for c in trace["customers"]
    ] == [("Ada Lovelace", 3, 3, 1), ("Bob Marley", 2, 2, 1)]
    assert [
        (c["channel"], c["orders"], c["customers"], c["shipped"]) for c in trace["channels"]
    ] == [("market", 1, 1, 2), ("shop", 1, 1, 3)]


async def test_forward_trace_shows_units_on_hand_by_bin_and_in_totes_and_boxes_by_order(
    admin_client, spread, floor
):
    trace = await ok(admin_client.get(f"/api/trace/lots/{spread.lot_id}"))
    tote = f"TRC/TOTE-{floor.picker.username.upper()}"
    assert {(p["location"], p["kind"], p["quantity"]) for p in trace["onHand"]} == {
        (floor.bins[0], "bin", 10),
        (tote, "tote", 4),
        ("TRC/PACK-1", "pack_station", 1),
    }
    assert [(f["externalId"], f["location"], f["quantity"]) for f in trace["inTotes"]] == [
        (spread.in_tote["externalId"], tote, 4)
    ]
    assert trace["inTotes"][0]["customer"] == "Cy Twombly"
    assert [(f["externalId"], f["location"], f["quantity"]) for f in trace["inBoxes"]] == [
        (spread.in_box["externalId"], "TRC/PACK-1", 1)
    ]
    assert trace["totals"] == {
        "received": 20,
        "onHand": 15,
        "inTotes": 4,
        "inBoxes": 1,
        "shipped": 5,
        "returned": 0,
        "atCustomers": 5,
    }
    assert trace["returns"] == []


async def test_units_moved_back_from_a_customer_show_as_returned(
    admin_client, floor, as_picker, as_packer
):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "RET-1", 6, floor.bins[0])
    order = await place_order(admin_client, floor, [(item, 4)], ada())
    await pick_order(admin_client, as_picker, floor, order, item)
    await pack_order(as_packer, order, item, {"RET-1": 4})
    await ship_order(as_packer, order)
    [shipment] = (await ok(admin_client.get(f"/api/trace/lots/{lot_id}")))["shipments"]
    await move_units(admin_client, lot_id, 1, shipment["destination"], floor.bins[1])

    trace = await ok(admin_client.get(f"/api/trace/lots/{lot_id}"))
    [back] = trace["returns"]
    assert (back["from"], back["to"], back["quantity"]) == (
        shipment["destination"],
        floor.bins[1],
        1,
    )
    assert back["customer"]["name"] == "Ada Lovelace"
    [customer] = trace["customers"]
    assert (customer["shipped"], customer["returned"], customer["holding"]) == (4, 1, 3)
    assert (trace["totals"]["returned"], trace["totals"]["atCustomers"]) == (1, 3)


async def test_units_moved_to_a_customer_location_outside_any_order_are_traced_too(
    admin_client, floor
):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "HAND-1", 5, floor.bins[0])
    await move_units(admin_client, lot_id, 2, floor.bins[0], "TRC/CUSTOMER")
    trace = await ok(admin_client.get(f"/api/trace/lots/{lot_id}"))
    [shipment] = trace["shipments"]
    assert (
        shipment["orderId"],
        shipment["customer"],
        shipment["destination"],
        shipment["quantity"],
    ) == (None, None, "TRC/CUSTOMER", 2)
    assert (trace["totals"]["shipped"], trace["totals"]["atCustomers"]) == (2, 2)


async def test_a_lot_nobody_got_traces_to_its_bins_only(admin_client, floor):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "IDLE-1", 7, floor.bins[1])
    trace = await ok(admin_client.get(f"/api/trace/lots/{lot_id}"))
    assert (trace["shipments"], trace["customers"], trace["channels"]) == ([], [], [])
    assert [(p["location"], p["quantity"]) for p in trace["onHand"]] == [(floor.bins[1], 7)]


async def test_a_lot_shipped_to_many_orders_lists_them_a_page_at_a_time_with_whole_totals(
    admin_client, floor, as_picker, as_packer
):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "PAGED-1", 12, floor.bins[0])
    people = [ada(), bob(), ada(name="Cy Twombly"), bob(name="Di Fosse", country="IT")]
    orders = []
    for units, person in enumerate(people, start=1):
        order = await place_order(admin_client, floor, [(item, units)], person)
        await pick_order(admin_client, as_picker, floor, order, item)
        await pack_order(as_packer, order, item, {"PAGED-1": units})
        await ship_order(as_packer, order)
        orders.append(order)
    whole = await ok(admin_client.get(f"/api/trace/lots/{lot_id}"))
    assert whole["page"] == {
        "limit": 200,
        "offset": 0,
        "shipments": 4,
        "customers": 4,
        "orders": 4,
        "nextOffset": None,
    }
    pages = []
    offset: int | None = 0
    while offset is not None:
        page = await ok(
            admin_client.get(f"/api/trace/lots/{lot_id}", params={"limit": 3, "offset": offset})
        )
        # Totals, channels and stock are the whole lot's on every page.
        assert page["totals"] == whole["totals"] and page["totals"]["shipped"] == 10
        assert page["channels"] == whole["channels"] and page["onHand"] == whole["onHand"]
        assert page["page"]["shipments"] == 4 and len(page["shipments"]) <= 3
        pages.append(page)
        offset = page["page"]["nextOffset"]
    assert [page["page"]["offset"] for page in pages] == [0, 3]
    listed = [s for page in pages for s in page["shipments"]]
    assert listed == whole["shipments"]
    assert [s["externalId"] for s in listed] == [o["externalId"] for o in orders]
    assert [s["quantity"] for s in listed] == [1, 2, 3, 4]
    assert [c for page in pages for c in page["customers"]] == whole["customers"]
    assert [c["customer"]["name"] for c in whole["customers"]] == [p["name"] for p in people]

    counted = await ok(admin_client.get(f"/api/trace/lots/{lot_id}", params={"limit": 0}))
    assert (counted["shipments"], counted["customers"]) == ([], [])
    assert counted["page"]["nextOffset"] is None and counted["totals"] == whole["totals"]
    for params in ({"limit": -1}, {"limit": 5001}, {"offset": -1}, {"limit": "ten"}):
        assert_problem(
            await admin_client.get(f"/api/trace/lots/{lot_id}", params=params),
            400,
            "invalid_request",
        )


# --- backward -----------------------------------------------------------------------------


async def test_an_order_traces_back_to_the_lots_it_was_filled_from(
    admin_client, as_picker, as_packer, floor
):
    item = await add_item(admin_client)
    soon = await receive_lot(
        admin_client,
        item,
        "B-SOON",
        2,
        floor.bins[0],
        expiry="2035-01-31",
        supplier=floor.supplier,
        supplierLotCode="SUP-B1",
    )
    late = await receive_lot(admin_client, item, "B-LATE", 10, floor.bins[1], expiry="2036-01-31")
    order = await place_order(admin_client, floor, [(item, 5)], bob())
    await pick_order(admin_client, as_picker, floor, order, item)
    await pack_order(as_packer, order, item, {"B-SOON": 2, "B-LATE": 3})
    await ship_order(as_packer, order)

    trace = await ok(admin_client.get(f"/api/trace/orders/{order['id']}"))
    assert trace["order"]["externalId"] == order["externalId"]
    assert (
        trace["order"]["customer"]["name"] == "Bob Marley" and trace["order"]["status"] == "shipped"
    )
    assert [
        (
            lot["lotId"],
            lot["lotCode"],
            lot["supplierLotCode"],
            lot["expiry"],
            lot["allocated"],
            lot["picked"],
            lot["packed"],
            lot["shipped"],
            lot["returned"],
        )
        for lot in trace["lots"]
    ] == [
        (soon, "B-SOON", "SUP-B1", "2035-01-31", 2, 2, 2, 2, 0),
        (late, "B-LATE", None, "2036-01-31", 3, 3, 3, 3, 0),
    ]
    assert {lot["lineNo"] for lot in trace["lots"]} == {1}


async def test_an_order_not_yet_picked_traces_back_to_its_allocated_lots(admin_client, floor):
    item = await add_item(admin_client)
    lot_id = await receive_lot(admin_client, item, "ALLOC-1", 4, floor.bins[0])
    order = await place_order(admin_client, floor, [(item, 3)], ada())
    await ok(admin_client.post("/api/waves", json={"orderIds": [order["id"]]}))
    [lot] = (await ok(admin_client.get(f"/api/trace/orders/{order['id']}")))["lots"]
    assert (lot["lotId"], lot["allocated"], lot["picked"], lot["shipped"]) == (lot_id, 3, 0, 0)


# --- by serial ----------------------------------------------------------------------------


async def test_a_serial_traces_to_its_lot_its_movements_and_the_customer_it_shipped_to(
    admin_client, as_picker, as_packer, floor
):
    item = await add_item(admin_client, tracking="lot_serial")
    lot_id = await receive_lot(
        admin_client, item, "SER-1", 3, floor.bins[0], serials=["SN-A1", "SN-A2", "SN-A3"]
    )
    order = await place_order(admin_client, floor, [(item, 1)], ada())
    await pick_order(admin_client, as_picker, floor, order, item, serials=["SN-A2"])
    await pack_order(as_packer, order, item, {"SER-1/SN-A2": 1})
    await ship_order(as_packer, order)

    unit = await ok(admin_client.get("/api/trace/serials/SN-A2"))
    assert (unit["serial"], unit["sku"], unit["lot"]["id"]) == ("SN-A2", item.sku, lot_id)
    assert unit["atCustomer"] and unit["locationKind"] == "customer"
    assert [m["kind"] for m in unit["movements"]] == ["receipt", "pick", "pack", "ship"]
    assert unit["movements"][-1]["externalId"] == order["externalId"]
    shipped_to = unit["shippedTo"]
    assert (shipped_to["externalId"], shipped_to["customer"]["name"]) == (
        order["externalId"],
        "Ada Lovelace",
    )
    stayed = await ok(admin_client.get("/api/trace/serials/SN-A1", params={"sku": item.sku}))
    assert (stayed["location"], stayed["atCustomer"], stayed["shippedTo"]) == (
        floor.bins[0],
        False,
        None,
    )
    assert [m["kind"] for m in stayed["movements"]] == ["receipt"]


async def test_a_serial_two_products_share_needs_the_sku_and_an_unknown_one_is_404(
    admin_client, floor
):
    one, two = await add_item(admin_client, "serial"), await add_item(admin_client, "serial")
    await receive_lot(admin_client, one, "TWIN-1", 1, floor.bins[0], serials=["SN-TWIN"])
    await receive_lot(admin_client, two, "TWIN-2", 1, floor.bins[0], serials=["SN-TWIN"])
    both = assert_problem(
        await admin_client.get("/api/trace/serials/SN-TWIN"), 422, "ambiguous_serial"
    )
    assert sorted(both["skus"]) == sorted([one.sku, two.sku])
    named = await ok(admin_client.get("/api/trace/serials/SN-TWIN", params={"sku": two.sku}))
    assert named["lot"]["code"] == "TWIN-2"
    assert_problem(await admin_client.get("/api/trace/serials/SN-NOBODY"), 404, "serial_not_found")


# --- by supplier lot ----------------------------------------------------------------------


async def test_a_supplier_lot_traces_to_every_lot_received_under_it(admin_client, spread, floor):
    trace = await ok(admin_client.get(f"/api/trace/supplier-lots/{spread.supplier_lot}"))
    assert trace["supplierLotCode"] == spread.supplier_lot
    assert [(lot["lot"]["id"], lot["lot"]["code"]) for lot in trace["lots"]] == [
        (spread.lot_id, "L-ONE"),
        (spread.other_lot_id, "L-TWO"),
    ]
    one, two = trace["lots"]
    assert (one["orders"], one["customers"], one["channels"], one["totals"]["shipped"]) == (
        2,
        2,
        ["market", "shop"],
        5,
    )
    assert (two["orders"], two["totals"]["onHand"], two["totals"]["received"]) == (0, 5, 5)
    assert trace["totals"]["received"] == 25
    mine = await ok(
        admin_client.get(
            f"/api/trace/supplier-lots/{spread.supplier_lot}", params={"supplier": floor.supplier}
        )
    )
    assert len(mine["lots"]) == 2
    assert_problem(
        await admin_client.get(
            f"/api/trace/supplier-lots/{spread.supplier_lot}", params={"supplier": "SOMEONE-ELSE"}
        ),
        404,
        "supplier_lot_not_found",
    )


# --- refusals -----------------------------------------------------------------------------


async def test_unknown_lots_orders_and_supplier_lots_are_404_problems(admin_client, floor):
    assert_problem(await admin_client.get("/api/trace/lots/999999"), 404, "lot_not_found")
    assert_problem(await admin_client.get("/api/trace/orders/999999"), 404, "order_not_found")
    assert_problem(
        await admin_client.get("/api/trace/supplier-lots/NO-SUCH"), 404, "supplier_lot_not_found"
    )
    too_big = await admin_client.get(f"/api/trace/lots/{2**63}")
    assert too_big.status_code == 400, too_big.text


async def test_trace_is_for_supervisors_and_admins(live_server, make_user, spread):
    supervisor = await make_user(["supervisor"])
    for roles in (["picker"], ["packer"], ["receiver"], ["returns"]):
        user = await make_user(roles)
        async with httpx.AsyncClient(base_url=live_server.url, headers=user.headers) as http:
            for path in (
                f"/api/trace/lots/{spread.lot_id}",
                f"/api/trace/orders/{spread.shipped[0]['id']}",
            ):
                assert_problem(await http.get(path), 403, "forbidden")
    async with httpx.AsyncClient(base_url=live_server.url, headers=supervisor.headers) as http:
        await ok(http.get(f"/api/trace/lots/{spread.lot_id}"))
