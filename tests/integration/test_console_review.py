"""The console's expiry report and its reviews of counts, returns and scan exceptions, over
HTTP against the real server and database: lots in the right expiry bucket (expired and
undated ones included) and the CSV equal to the page; a count's variance shown, approved
once into exactly its adjustments, rejected with nothing written, a loss past the free units
refused with nothing written; returns with their flagged items and the return-rate alert's
link to a hold; exceptions resolved once; and the 400, 403 and 404 pages."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import LiveServer, MakeUser
from tests.integration.arrange import Floor, gs1, ok, scan_body
from tests.integration.console_frames import as_cookie, console_session, origin
from tests.integration.test_fulfilment import Item, product, stock
from tests.integration.test_returns import item, open_return, ship

# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
async def web(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client per test, without a cookie jar carried over."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
async def supervisor(live_server: LiveServer, make_user: MakeUser) -> str:
    return await console_session(live_server, make_user, ("supervisor",))


@pytest.fixture(scope="module")
async def receiver(live_server: LiveServer, make_user: MakeUser) -> str:
    return await console_session(live_server, make_user, ("receiver",))


def table(html: str, table_id: str) -> str:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert found is not None, f"no table {table_id}"
    return found.group(1)


def numbers(row: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num[^"]*">([+-]?\d+)</td>', row)]


def bucket_rows(html: str) -> dict[str, list[int]]:
    """The report's summary: per bucket, lots, on hand, allocated, not released."""
    rows = re.findall(r'<tr data-bucket="([^"]+)">(.*?)</tr>', table(html, "expiry-buckets"), re.S)
    return {key: numbers(row) for key, row in rows}


def lot_rows(html: str) -> list[tuple[int, list[int], str]]:
    """The drill-down's rows: lot id, its numbers (days left, on hand, allocated), the row."""
    rows = re.findall(r'<tr data-lot="(\d+)">(.*?)</tr>', table(html, "expiry-lots"), re.S)
    return [(int(lot), numbers(row), row) for lot, row in rows]


def alert_text(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert found is not None, html
    return found.group(1)


async def balance_of(db: asyncpg.Connection, lot_id: int) -> int:
    return int(
        await db.fetchval(
            """SELECT coalesce(sum(b.quantity), 0) FROM stock_balance b
                 JOIN location l ON l.id = b.location_id
                WHERE b.lot_id = $1 AND l.kind <> 'customer'""",
            lot_id,
        )
    )


async def count_movements(db: asyncpg.Connection, lot_id: int) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM movement WHERE lot_id = $1 AND kind = 'count' ORDER BY id", lot_id
    )


# --- the expiry report --------------------------------------------------------------------


@dataclass(frozen=True)
class Shelf:
    sku: str
    other_sku: str
    lots: dict[str, int]


SHELF_LOTS = (
    # code, days to expiry (None: no date), units
    ("EXPIRED", -3, 4),
    ("WEEK", 5, 6),
    ("MONTH", 20, 8),
    ("QUARTER", 60, 10),
    ("HALF", 120, 12),
    ("FAR", 400, 14),
    ("NODATE", None, 3),
)


@pytest.fixture(scope="module")
async def shelf(admin_client: httpx.AsyncClient) -> Shelf:
    """Warehouse EXP: a lot in each bucket (one expired, one undated), one lot on hold, and a
    second product's lot in the 8-30 bucket in another bin."""
    await ok(admin_client.post("/api/warehouses", json={"code": "EXP", "name": "Expiry site"}))
    for code in ("E-01", "E-02"):
        await ok(admin_client.post("/api/locations", json={"warehouse": "EXP", "code": code}))
    today = date.today()
    lots = {}
    for sku in ("SHELF", "SHELF2"):
        await ok(admin_client.post("/api/products", json={"sku": sku, "name": f"Shelf {sku}"}))
    for code, days, units in SHELF_LOTS:
        fields: dict[str, Any] = {"sku": "SHELF", "lotCode": code, "quantity": units}
        if days is not None:
            fields["expiry"] = (today + timedelta(days=days)).isoformat()
        received = await ok(
            admin_client.post(
                "/api/receipts",
                json={"idempotencyKey": str(uuid.uuid4()), "location": "EXP/E-01", **fields},
            )
        )
        lots[code] = received["lot"]["id"]
    other = await ok(
        admin_client.post(
            "/api/receipts",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "sku": "SHELF2",
                "lotCode": "OTHER",
                "quantity": 5,
                "location": "EXP/E-02",
                "expiry": (today + timedelta(days=25)).isoformat(),
            },
        )
    )
    lots["OTHER"] = other["lot"]["id"]
    await ok(
        admin_client.post(
            "/api/holds",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "kind": "hold",
                "reason": "Lab check",
                "lots": [lots["MONTH"]],
            },
        )
    )
    return Shelf(sku="SHELF", other_sku="SHELF2", lots=lots)


async def test_the_expiry_report_puts_each_lot_in_its_bucket_expired_and_undated_included(
    web, shelf, supervisor
):
    page = await web.get(
        "/console/expiry", params={"warehouse": "EXP"}, headers=as_cookie(supervisor)
    )
    assert page.status_code == 200, page.text
    # lots, on hand, allocated, not released
    assert bucket_rows(page.text) == {
        "expired": [1, 4, 0, 0],
        "0-7": [1, 6, 0, 0],
        "8-30": [2, 8 + 5, 0, 8],
        "31-90": [1, 10, 0, 0],
        "91-180": [1, 12, 0, 0],
        "over-180": [1, 14, 0, 0],
        "no-expiry": [1, 3, 0, 0],
    }
    by_product = re.findall(
        r'<tr data-warehouse="EXP" data-sku="([^"]+)" data-bucket="([^"]+)">(.*?)</tr>',
        table(page.text, "expiry-totals"),
        re.S,
    )
    assert {(sku, bucket): numbers(row) for sku, bucket, row in by_product} == {
        ("SHELF", "expired"): [1, 4, 0, 0],
        ("SHELF", "0-7"): [1, 6, 0, 0],
        ("SHELF", "8-30"): [1, 8, 0, 8],
        ("SHELF", "31-90"): [1, 10, 0, 0],
        ("SHELF", "91-180"): [1, 12, 0, 0],
        ("SHELF", "over-180"): [1, 14, 0, 0],
        ("SHELF", "no-expiry"): [1, 3, 0, 0],
        ("SHELF2", "8-30"): [1, 5, 0, 0],
    }
    for bucket, code in (("expired", "EXPIRED"), ("no-expiry", "NODATE"), ("0-7", "WEEK")):
        drilled = await web.get(
            "/console/expiry",
            params={"warehouse": "EXP", "bucket": bucket},
            headers=as_cookie(supervisor),
        )
        [(lot, figures, row)] = lot_rows(drilled.text)
        assert lot == shelf.lots[code]
        assert f'href="/console/lots/{lot}">{code}</a>' in row and "E-01" in row
        if bucket == "expired":
            assert figures == [-3, 4, 0]
        elif bucket == "0-7":
            assert figures == [5, 6, 0]
        else:
            assert figures == [3, 0] and "—" in row
    month = await web.get(
        "/console/expiry",
        params={"warehouse": "EXP", "bucket": "8-30"},
        headers=as_cookie(supervisor),
    )
    assert {lot for lot, _, _ in lot_rows(month.text)} == {shelf.lots["MONTH"], shelf.lots["OTHER"]}
    assert "status-hold" in month.text


async def test_the_expiry_report_filters_by_product(web, shelf, supervisor):
    page = await web.get(
        "/console/expiry",
        params={"warehouse": "EXP", "product": "SHELF2", "bucket": "8-30"},
        headers=as_cookie(supervisor),
    )
    assert bucket_rows(page.text)["8-30"] == [1, 5, 0, 0]
    assert sum(row[1] for row in bucket_rows(page.text).values()) == 5
    assert [lot for lot, _, _ in lot_rows(page.text)] == [shelf.lots["OTHER"]]


async def test_the_csv_download_has_the_rows_and_units_the_page_shows(web, shelf, supervisor):
    params = {"warehouse": "EXP", "bucket": "8-30"}
    shown = await web.get("/console/expiry", params=params, headers=as_cookie(supervisor))
    saved = await web.get("/console/expiry.csv", params=params, headers=as_cookie(supervisor))
    assert saved.status_code == 200
    assert saved.headers["content-type"].startswith("text/csv")
    assert saved.headers["content-disposition"].startswith('attachment; filename="expiry.csv"')
    rows = list(csv.DictReader(io.StringIO(saved.text)))
    assert [(int(r["lot_id"]), int(r["on_hand"])) for r in rows] == [
        (lot, figures[1]) for lot, figures, _ in lot_rows(shown.text)
    ]
    assert {r["bucket"] for r in rows} == {"8-30"}
    # Without a bucket, the download holds every bucket's lots, summing to the page's totals.
    everything = await web.get(
        "/console/expiry.csv", params={"warehouse": "EXP"}, headers=as_cookie(supervisor)
    )
    summary = await web.get(
        "/console/expiry", params={"warehouse": "EXP"}, headers=as_cookie(supervisor)
    )
    units: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(everything.text)):
        units[row["bucket"]] = units.get(row["bucket"], 0) + int(row["on_hand"])
    assert units == {key: row[1] for key, row in bucket_rows(summary.text).items() if row[1]}
    expired = [r for r in csv.DictReader(io.StringIO(everything.text)) if r["lot"] == "EXPIRED"]
    assert [(r["days_left"], r["expiry"]) for r in expired] == [
        ("-3", (date.today() - timedelta(days=3)).isoformat())
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"warehouse": "NOPE"},
        {"product": "NO-SUCH-SKU"},
        {"bucket": "tomorrow"},
        {"product": "X" * 65},
        {"warehouse": "EXP\x00"},
    ],
)
async def test_unknown_or_odd_expiry_filters_are_a_400_page(web, shelf, supervisor, params):
    page = await web.get("/console/expiry", params=params, headers=as_cookie(supervisor))
    assert page.status_code == 400
    assert alert_text(page.text)
    saved = await web.get("/console/expiry.csv", params=params, headers=as_cookie(supervisor))
    assert saved.status_code == 400 and "attachment" not in saved.headers.get(
        "content-disposition", ""
    )


async def test_every_console_role_reads_the_expiry_report(web, shelf, receiver):
    page = await web.get(
        "/console/expiry", params={"warehouse": "EXP"}, headers=as_cookie(receiver)
    )
    assert page.status_code == 200 and bucket_rows(page.text)["expired"] == [1, 4, 0, 0]


# --- counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counting:
    supervisor: httpx.AsyncClient
    counter: httpx.AsyncClient
    counter_name: str


@pytest.fixture(scope="module")
async def counting(
    live_server: LiveServer, make_user: MakeUser, floor: Floor
) -> AsyncIterator[Counting]:
    boss, counter = await make_user(["supervisor"]), await make_user(["counter"])
    async with (
        httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=boss.headers) as sup,
        httpx.AsyncClient(base_url=live_server.url, timeout=30.0, headers=counter.headers) as cnt,
    ):
        yield Counting(sup, cnt, counter.username)


_bins = iter(range(1, 1000))


@dataclass(frozen=True)
class Counted:
    count_id: int
    task_id: int
    lot_id: int
    bin: str


async def counted_bin(
    admin: httpx.AsyncClient, counting: Counting, on_hand: int, found: int
) -> Counted:
    """A bin of its own holding `on_hand` units of a new lot, counted as `found` by the
    counter and submitted (within the recount threshold)."""
    code = f"R-{next(_bins):03d}"
    made = await ok(admin.post("/api/locations", json={"warehouse": "FUL", "code": code}))
    oats = await product(admin)
    lot_code = f"CNT{code.replace('-', '')}"
    lot_id = await stock(admin, oats, lot_code, on_hand, f"FUL/{code}")
    count = await ok(
        counting.supervisor.post("/api/counts", json={"warehouse": "FUL", "bins": [code]})
    )
    [task] = count["tasks"]
    for raw, fields in ((made["barcode"], {}), (gs1(oats.gtin, lot_code), {"quantity": found})):
        answer = await ok(
            counting.counter.post(
                "/api/scans", json=scan_body(raw, "count", countId=task["id"], **fields)
            )
        )
        assert answer["verdict"] == "accepted", answer
    submitted = await ok(counting.counter.post(f"/api/count-tasks/{task['id']}/submit"))
    assert submitted["status"] == "submitted", submitted
    return Counted(count["id"], task["id"], lot_id, f"FUL/{code}")


def decision_path(made: Counted, verdict: str) -> str:
    return f"/console/counts/{made.count_id}/tasks/{made.task_id}/{verdict}"


async def task_status(db: asyncpg.Connection, task_id: int) -> str:
    return str(await db.fetchval("SELECT status FROM count_task WHERE id = $1", task_id))


async def test_a_count_review_shows_expected_counted_variance_and_its_counter(
    web, admin_client, counting, supervisor
):
    made = await counted_bin(admin_client, counting, 40, 39)
    page = await web.get(f"/console/counts/{made.count_id}", headers=as_cookie(supervisor))
    assert page.status_code == 200, page.text
    task = page.text.split(f'id="task-{made.task_id}"')[1]
    row = re.search(rf'<tr data-lot="{made.lot_id}" data-variance="-1">(.*?)</tr>', task, re.S)
    assert row is not None, task
    # at start, moved, expected, counted, variance
    assert numbers(row.group(1)) == [40, 0, 40, 39, -1]
    assert "-2.5 %" in row.group(1)
    assert counting.counter_name in task
    assert f'action="{decision_path(made, "approve")}"' in task
    assert f'action="{decision_path(made, "reject")}"' in task
    assert re.search(r'name="idempotencyKey" value="[0-9a-f-]{36}"', task)
    # Accuracy: this bin had one line, not exact.
    by_bin = table(page.text, "accuracy-bin")
    bin_row = re.search(rf"<td>{made.bin}</td>(.*?)</tr>", by_bin, re.S)
    assert bin_row is not None and numbers(bin_row.group(1)) == [1, 1, 0, 1]


async def test_approving_a_count_writes_exactly_its_adjustment_once(
    web, admin_client, counting, supervisor, live_server, db
):
    made = await counted_bin(admin_client, counting, 100, 97)  # 3%: no recount
    key = str(uuid.uuid4())
    for _ in range(2):  # the same form sent twice
        answer = await web.post(
            decision_path(made, "approve"),
            data={"idempotencyKey": key, "note": "Checked the shelf"},
            headers={**as_cookie(supervisor), **origin(live_server)},
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(
            f"/console/counts/{made.count_id}?decided=approved"
        )
    [movement] = await count_movements(db, made.lot_id)
    assert (movement["quantity"], movement["to_location_id"]) == (3, None)
    assert movement["reference"] == f"count-task/{made.task_id}"
    lot = await ok(admin_client.get(f"/api/lots/{made.lot_id}"))
    assert lot["onHandTotal"] == 97
    assert await task_status(db, made.task_id) == "approved"
    shown = await web.get(answer.headers["location"], headers=as_cookie(supervisor))
    assert "The bin was approved." in shown.text
    assert f"movements {movement['id']}" in shown.text
    # Another approval (a new form) is refused and writes nothing more.
    again = await web.post(
        decision_path(made, "approve"),
        data={"idempotencyKey": str(uuid.uuid4())},
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert again.status_code == 409
    assert "approved" in alert_text(again.text)
    assert len(await count_movements(db, made.lot_id)) == 1


async def test_rejecting_a_count_writes_nothing(
    web, admin_client, counting, supervisor, live_server, db
):
    made = await counted_bin(admin_client, counting, 20, 19)
    answer = await web.post(
        decision_path(made, "reject"),
        data={"idempotencyKey": str(uuid.uuid4()), "note": "Miscounted"},
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert answer.status_code == 303, answer.text
    assert await task_status(db, made.task_id) == "rejected"
    assert await count_movements(db, made.lot_id) == []
    assert await balance_of(db, made.lot_id) == 20


async def test_a_loss_larger_than_the_free_units_is_refused_and_writes_nothing(
    web, admin_client, counting, supervisor, live_server, db
):
    made = await counted_bin(admin_client, counting, 10, 9)
    # Every unit moves out of the bin after the count: the loss of 1 has nothing to take.
    code = f"R-{next(_bins):03d}"
    await ok(admin_client.post("/api/locations", json={"warehouse": "FUL", "code": code}))
    await ok(
        admin_client.post(
            "/api/moves",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "lotId": made.lot_id,
                "from": made.bin,
                "to": f"FUL/{code}",
                "quantity": 10,
            },
        )
    )
    answer = await web.post(
        decision_path(made, "approve"),
        data={"idempotencyKey": str(uuid.uuid4())},
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert answer.status_code == 409
    assert "Nothing was written" in alert_text(answer.text)
    assert await count_movements(db, made.lot_id) == []
    assert await task_status(db, made.task_id) == "submitted"
    assert await balance_of(db, made.lot_id) == 10


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"idempotencyKey": "not-a-uuid"}, 400),
        ({}, 400),
        ({"idempotencyKey": str(uuid.uuid4()), "note": "n" * 501}, 400),
        ({"idempotencyKey": str(uuid.uuid4()), "note": "bad\x00note"}, 400),
    ],
)
async def test_a_bad_decision_form_is_a_400_page_and_writes_nothing(
    web, admin_client, counting, supervisor, live_server, db, form, status
):
    made = await counted_bin(admin_client, counting, 12, 11)
    answer = await web.post(
        decision_path(made, "approve"),
        data=form,
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert answer.status_code == status
    assert "characters" in answer.text or "reload the page" in alert_text(answer.text)
    assert await task_status(db, made.task_id) == "submitted"
    assert await count_movements(db, made.lot_id) == []


async def test_unknown_counts_and_tasks_are_404_pages(
    web, admin_client, counting, supervisor, live_server, db
):
    for path in ("/console/counts/999999", "/console/counts/abc", "/console/counts/0"):
        page = await web.get(path, headers=as_cookie(supervisor))
        assert page.status_code == 404, path
    made = await counted_bin(admin_client, counting, 8, 7)
    other = await counted_bin(admin_client, counting, 8, 7)
    # A task of another count, and a task that does not exist.
    for path in (
        f"/console/counts/{made.count_id}/tasks/{other.task_id}/approve",
        f"/console/counts/{made.count_id}/tasks/999999/approve",
        f"/console/counts/999999/tasks/{made.task_id}/approve",
    ):
        answer = await web.post(
            path,
            data={"idempotencyKey": str(uuid.uuid4())},
            headers={**as_cookie(supervisor), **origin(live_server)},
        )
        assert answer.status_code == 404, path
    for done in (made, other):
        assert await task_status(db, done.task_id) == "submitted"
        assert await count_movements(db, done.lot_id) == []


async def test_the_counts_list_puts_counts_waiting_for_approval_first(
    web, admin_client, counting, supervisor, live_server
):
    waiting = await counted_bin(admin_client, counting, 6, 6)
    decided = await counted_bin(admin_client, counting, 6, 6)
    answer = await web.post(
        decision_path(decided, "approve"),
        data={"idempotencyKey": str(uuid.uuid4())},
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert answer.status_code == 303
    page = await web.get("/console/counts", headers=as_cookie(supervisor))
    order = re.findall(r'<tr id="count-(\d+)" data-waiting="(yes|no)">', page.text)
    flags = [flag for _, flag in order]
    assert flags == sorted(flags, key=lambda flag: flag != "yes")  # every yes before every no
    assert (str(waiting.count_id), "yes") in order and (str(decided.count_id), "no") in order
    only = await web.get(
        "/console/counts", params={"state": "waiting"}, headers=as_cookie(supervisor)
    )
    ids = re.findall(r'<tr id="count-(\d+)" data-waiting="yes">', only.text)
    assert str(waiting.count_id) in ids and str(decided.count_id) not in ids
    assert 'data-waiting="no"' not in only.text
    assert counting.counter_name in table(page.text, "accuracy-counter")
    bad = await web.get("/console/counts", params={"state": "later"}, headers=as_cookie(supervisor))
    assert bad.status_code == 400 and alert_text(bad.text)


# --- returns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Returned:
    return_id: int
    lot_id: int
    order: dict[str, Any]
    item: Item


@pytest.fixture(scope="module")
async def returned(
    live_server: LiveServer,
    make_user: MakeUser,
    admin_client: httpx.AsyncClient,
    as_picker: httpx.AsyncClient,
    as_packer: httpx.AsyncClient,
    floor: Floor,
) -> AsyncIterator[Returned]:
    """20 of 25 units shipped, 2 returned into quarantine (a 10% rate: an alert), and an item
    of a lot that never shipped on the order, flagged."""
    oats, other = await product(admin_client), await product(admin_client)
    lot_id = await stock(admin_client, oats, "RETLOT", 25, floor.bins[3])
    await stock(admin_client, other, "NEVERSHIPPED", 2, floor.bins[2])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 20)])
    clerk = await make_user(["returns"])
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=clerk.headers
    ) as http:
        opened = await open_return(http, order)
        fields = {"reason": "tastes odd", "disposition": "quarantine"}
        for _ in range(2):
            answer = await item(http, opened, gs1(oats.gtin, "RETLOT"), **fields)
            assert answer["verdict"] == "accepted", answer
        flagged = await item(http, opened, gs1(other.gtin, "NEVERSHIPPED"), **fields)
        assert flagged["code"] == "not_shipped_on_order", flagged
    yield Returned(opened["id"], lot_id, order, oats)


async def test_the_returns_list_shows_order_clerk_items_and_flagged(web, returned, supervisor):
    page = await web.get("/console/returns", headers=as_cookie(supervisor))
    assert page.status_code == 200
    row = re.search(
        rf'<tr id="return-{returned.return_id}" data-flagged="1">(.*?)</tr>', page.text, re.S
    )
    assert row is not None, page.text
    assert returned.order["externalId"] in row.group(1) and "open" in row.group(1)
    assert numbers(row.group(1))[:2] == [3, 2]  # items scanned, units back
    closed = await web.get(
        "/console/returns", params={"status": "closed"}, headers=as_cookie(supervisor)
    )
    assert f'id="return-{returned.return_id}"' not in closed.text
    bad = await web.get(
        "/console/returns", params={"status": "lost"}, headers=as_cookie(supervisor)
    )
    assert bad.status_code == 400 and alert_text(bad.text)


async def test_a_return_page_lists_items_with_lot_disposition_reason_and_flagged_refusals(
    web, returned, supervisor
):
    page = await web.get(f"/console/returns/{returned.return_id}", headers=as_cookie(supervisor))
    assert page.status_code == 200
    items = table(page.text, "return-items")
    accepted = re.findall(r'data-flagged="no">(.*?)</tr>', items, re.S)
    flagged = re.findall(r'data-flagged="yes">(.*?)</tr>', items, re.S)
    assert len(accepted) == 2 and len(flagged) == 1
    assert f'href="/console/lots/{returned.lot_id}">RETLOT</a>' in accepted[0]
    assert "tastes odd" in accepted[0] and "quarantine" in accepted[0]
    assert "Flagged, refused: not_shipped_on_order" in flagged[0]
    lines = table(page.text, "return-lines")
    assert numbers(lines)[-2:] == [20, 2]


async def test_a_return_rate_alert_links_to_a_hold_prefilled_with_its_lot(
    web, returned, supervisor
):
    page = await web.get("/console/returns", headers=as_cookie(supervisor))
    alerts = page.text.split('id="return-alerts"')[1].split("</section>")[0]
    row = re.search(rf'<tr data-lot="{returned.lot_id}">(.*?)</tr>', alerts, re.S)
    assert row is not None, alerts
    assert f'href="/console/holds/new?lot={returned.lot_id}"' in row.group(1)
    assert "10.0 %" in row.group(1) and "5.0 %" in row.group(1)
    form = await web.get(f"/console/holds/new?lot={returned.lot_id}", headers=as_cookie(supervisor))
    assert form.status_code == 200 and "RETLOT" in form.text


async def test_dismissing_a_return_rate_alert_with_a_note_closes_it_once(
    web, live_server, make_user, admin_client, as_picker, as_packer, floor, supervisor
):
    oats = await product(admin_client)
    lot_id = await stock(admin_client, oats, "DISMISS", 20, floor.bins[3])
    order = await ship(admin_client, as_picker, as_packer, floor, [(oats, 20)])
    clerk = await make_user(["returns"])
    async with httpx.AsyncClient(
        base_url=live_server.url, timeout=30.0, headers=clerk.headers
    ) as http:
        opened = await open_return(http, order)
        fields = {"reason": "damaged in transit", "disposition": "quarantine"}
        for _ in range(2):  # 2 of 20: past the test server's threshold
            await item(http, opened, gs1(oats.gtin, "DISMISS"), **fields)
    [alert] = [
        a
        for a in await ok(admin_client.get("/api/returns/alerts", params={"dismissed": "false"}))
        if a["lotId"] == lot_id
    ]
    form = {"note": "Carrier damage, not the lot"}
    path = f"/console/returns/alerts/{alert['id']}/dismiss"
    foreign = await web.post(
        path, data=form, headers={**as_cookie(supervisor), "Origin": "http://elsewhere.example"}
    )
    assert foreign.status_code == 403
    done = await web.post(path, data=form, headers={**as_cookie(supervisor), **origin(live_server)})
    assert done.status_code == 303 and done.headers["location"].endswith(f"dismissed={alert['id']}")
    listed = await ok(admin_client.get("/api/returns/alerts", params={"dismissed": "true"}))
    [closed] = [a for a in listed if a["id"] == alert["id"]]
    assert closed["dismissNote"] == "Carrier damage, not the lot" and closed["dismissedBy"]
    page = await web.get("/console/returns", headers=as_cookie(supervisor))
    assert (
        f'data-lot="{lot_id}"'
        not in page.text.split('id="return-alerts"')[1].split("</section>")[0]
    )
    again = await web.post(
        path, data=form, headers={**as_cookie(supervisor), **origin(live_server)}
    )
    assert again.status_code == 409 and "dismissed already" in again.text
    unknown = await web.post(
        "/console/returns/alerts/999999/dismiss",
        data=form,
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert unknown.status_code == 404
    clerk_session = await console_session(live_server, make_user, ["returns", "receiver"])
    refused = await web.post(
        path, data=form, headers={**as_cookie(clerk_session), **origin(live_server)}
    )
    assert refused.status_code == 403


async def test_the_expiry_report_leaves_out_units_at_customers(web, returned, supervisor):
    page = await web.get(
        "/console/expiry", params={"product": returned.item.sku}, headers=as_cookie(supervisor)
    )
    # 25 received, 20 shipped, 2 back in quarantine.
    assert sum(row[1] for row in bucket_rows(page.text).values()) == 7


async def test_unknown_returns_are_404_pages(web, supervisor):
    for path in ("/console/returns/999999", "/console/returns/x1"):
        assert (await web.get(path, headers=as_cookie(supervisor))).status_code == 404


# --- scan exceptions --------------------------------------------------------------------------


async def refused_offline(admin: httpx.AsyncClient) -> int:
    """A queued offline scan the server refuses; its exception's id."""
    raw = f"UNKNOWN-{uuid.uuid4().hex[:8]}"
    await ok(
        admin.post(
            "/api/scans",
            json=scan_body(raw, offline=True, queuedAt="2026-11-23T10:15:01Z"),
        )
    )
    listed = await ok(admin.get("/api/scan-exceptions", params={"status": "open"}))
    [found] = [e for e in listed if e["raw"] == raw]
    exception_id: int = found["id"]
    return exception_id


async def test_open_exceptions_list_device_user_scan_and_why_it_was_refused(
    web, admin_client, supervisor
):
    exception_id = await refused_offline(admin_client)
    page = await web.get("/console/exceptions", headers=as_cookie(supervisor))
    assert page.status_code == 200
    row = re.search(
        rf'<tr id="exception-{exception_id}" data-status="open">(.*?)</tr>', page.text, re.S
    )
    assert row is not None
    for text in ("HH-TEST-01", "UNKNOWN-", "queued 2026-11-23 10:15:01", "Resolve"):
        assert text in row.group(1), text


async def test_resolving_an_exception_settles_it_once_with_its_note(
    web, admin_client, supervisor, live_server
):
    exception_id = await refused_offline(admin_client)
    form = {"resolution": "other", "note": "Rescanned by hand", "idempotencyKey": str(uuid.uuid4())}
    for _ in range(2):
        answer = await web.post(
            f"/console/exceptions/{exception_id}/resolve",
            data=form,
            headers={**as_cookie(supervisor), **origin(live_server)},
        )
        assert answer.status_code == 303, answer.text
    settled = await ok(admin_client.get(f"/api/scan-exceptions/{exception_id}"))
    assert (settled["status"], settled["resolution"], settled["note"]) == (
        "resolved",
        "other",
        "Rescanned by hand",
    )
    shown = await web.get(answer.headers["location"], headers=as_cookie(supervisor))
    assert f'id="exception-{exception_id}"' not in shown.text
    assert f"Exception {exception_id} is resolved." in shown.text
    again = await web.post(
        f"/console/exceptions/{exception_id}/resolve",
        data={**form, "idempotencyKey": str(uuid.uuid4()), "note": "Second try"},
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert again.status_code == 409 and "resolved already" in alert_text(again.text)
    assert (await ok(admin_client.get(f"/api/scan-exceptions/{exception_id}")))["note"] == (
        "Rescanned by hand"
    )
    history = await web.get(
        "/console/exceptions", params={"status": "resolved"}, headers=as_cookie(supervisor)
    )
    assert f'<tr id="exception-{exception_id}" data-status="resolved">' in history.text


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"resolution": "forgotten"}, 400),
        ({"resolution": "redone", "idempotencyKey": "x"}, 400),
        ({"resolution": "redone", "note": "n" * 501}, 400),
    ],
)
async def test_a_bad_resolution_form_is_a_400_page_and_changes_nothing(
    web, admin_client, supervisor, live_server, form, status
):
    exception_id = await refused_offline(admin_client)
    body = {"idempotencyKey": str(uuid.uuid4()), **form}
    answer = await web.post(
        f"/console/exceptions/{exception_id}/resolve",
        data=body,
        headers={**as_cookie(supervisor), **origin(live_server)},
    )
    assert answer.status_code == status
    assert "characters" in answer.text or "not resolved" in alert_text(answer.text)
    assert (await ok(admin_client.get(f"/api/scan-exceptions/{exception_id}")))["status"] == "open"


async def test_resolving_an_unknown_exception_is_a_404_page(web, supervisor, live_server):
    for path in ("/console/exceptions/999999/resolve", "/console/exceptions/abc/resolve"):
        answer = await web.post(
            path,
            data={"resolution": "redone", "idempotencyKey": str(uuid.uuid4())},
            headers={**as_cookie(supervisor), **origin(live_server)},
        )
        assert answer.status_code == 404, path


# --- roles and origins ----------------------------------------------------------------------


async def test_review_pages_are_for_supervisors_only(
    web, admin_client, counting, receiver, returned, live_server, db
):
    made = await counted_bin(admin_client, counting, 5, 4)
    exception_id = await refused_offline(admin_client)
    for path in (
        "/console/counts",
        f"/console/counts/{made.count_id}",
        "/console/returns",
        f"/console/returns/{returned.return_id}",
        "/console/exceptions",
    ):
        page = await web.get(path, headers=as_cookie(receiver))
        assert page.status_code == 403, path
    for path, form in (
        (decision_path(made, "approve"), {"idempotencyKey": str(uuid.uuid4())}),
        (
            f"/console/exceptions/{exception_id}/resolve",
            {"resolution": "redone", "idempotencyKey": str(uuid.uuid4())},
        ),
    ):
        answer = await web.post(
            path, data=form, headers={**as_cookie(receiver), **origin(live_server)}
        )
        assert answer.status_code == 403, path
    assert await task_status(db, made.task_id) == "submitted"
    assert (await ok(admin_client.get(f"/api/scan-exceptions/{exception_id}")))["status"] == "open"


async def test_a_returns_clerk_with_a_console_role_reads_returns_but_not_alerts(
    web, live_server, make_user, returned
):
    clerk = await console_session(live_server, make_user, ("receiver", "returns"))
    page = await web.get("/console/returns", headers=as_cookie(clerk))
    assert page.status_code == 200
    assert f'id="return-{returned.return_id}"' in page.text
    assert 'id="return-alerts"' not in page.text


@pytest.mark.parametrize("sent", [{"Origin": "https://evil.example"}, {}])
async def test_review_forms_from_another_origin_are_refused(
    web, admin_client, counting, supervisor, db, sent
):
    made = await counted_bin(admin_client, counting, 5, 4)
    exception_id = await refused_offline(admin_client)
    for path, form in (
        (decision_path(made, "approve"), {"idempotencyKey": str(uuid.uuid4())}),
        (decision_path(made, "reject"), {"idempotencyKey": str(uuid.uuid4())}),
        (
            f"/console/exceptions/{exception_id}/resolve",
            {"resolution": "redone", "idempotencyKey": str(uuid.uuid4())},
        ),
    ):
        answer = await web.post(path, data=form, headers={**as_cookie(supervisor), **sent})
        assert answer.status_code == 403, path
    assert await task_status(db, made.task_id) == "submitted"
    assert await count_movements(db, made.lot_id) == []
    assert (await ok(admin_client.get(f"/api/scan-exceptions/{exception_id}")))["status"] == "open"


async def test_review_pages_without_a_session_send_the_browser_to_sign_in(web):
    for path in ("/console/expiry", "/console/counts", "/console/returns", "/console/exceptions"):
        page = await web.get(path)
        assert page.status_code in (302, 303, 307), path
        assert page.headers["location"].startswith("/console/login?next=")
