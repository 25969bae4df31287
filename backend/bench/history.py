"""A year of shipped history, loaded in bulk on top of the benchmark warehouse.

`load_history` adds what a busy warehouse has after a year: channels, customers, shipped
orders with their lines and pick tasks, and in the ledger the story of every unit: each lot's
receipt into a bin of each site, for each order line a `pick` (bin to the picker's tote), a
`pack` (tote to a pack station) and a `ship` (pack station to the customer's own location,
`CUSTOMER-<id>` as shipping makes it), a few returns (customer location to the site's
returns area) and replenishment moves (a unit to the next bin and back), until the ledger
holds the number of rows asked for. The balances are then recomputed from the whole ledger
in one statement, so they equal it by construction.

Everything is generated inside PostgreSQL (`INSERT ... SELECT` over `generate_series`, with
a hash of the row number standing in for a seeded random number), in time order, so movement
ids follow time as the app writes them. Popularity is skewed as a shop's is: a product's
share of the lines falls with its rank (a few products are in thousands of orders a lot), and
a customer's share of the orders too. Each product has a new lot every 14 days, so a
popular lot goes to a few thousand orders and a typical one to a few dozen.

To be fast on two slow cores the load drops the secondary indexes of the tables it fills and
builds them again afterwards (from their own definitions, whatever the migrations made), and
skips the foreign-key triggers (`session_replication_role = replica`, when the role may):
every reference is generated from rows inserted just before.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from backend.auth.passwords import hash_secret

__all__ = ["History", "HistorySize", "load_history"]

SPAN_DAYS = 364
PERIOD_DAYS = 14
LOTS_PER_PRODUCT = SPAN_DAYS // PERIOD_DAYS
"""A new lot of every product each 14 days: 26 in the year."""

PICKERS_PER_SITE = 12
STATIONS_PER_SITE = 4
RECEIVERS_PER_SITE = 2
RETURN_SHARE = 0.02
"""Share of shipped lines that come back (some of their units)."""

CHANNELS = (
    # code, name, kind, share of customers (cumulative), min shelf life, allow split
    ("shop", "Own shop", "own_shop", 0.35, 0, True),
    ("amazon-de", "Amazon DE", "marketplace", 0.65, 60, True),
    ("ebay-de", "eBay DE", "marketplace", 0.75, 30, True),
    ("zalando", "Zalando", "marketplace", 0.85, 90, True),
    ("wholesale", "Wholesale", "wholesale", 0.90, 180, False),
    ("retail", "Retail partners", "retail", 1.00, 120, False),
)
COUNTRIES = ("DE", "DE", "DE", "DE", "FR", "NL", "AT", "BE", "PL", "IT", "ES", "DK", "SE", "CH")

INDEXED_TABLES = ("movement", "stock_balance", "order_line", "pick_task", "sales_order")
"""Tables whose secondary indexes are dropped for the load and built again after it."""


@dataclass(frozen=True)
class HistorySize:
    """How much history to load."""

    orders: int = 1_000_000
    movements: int = 10_000_000
    """Ledger rows in all (the warehouse's opening receipts included); replenishment moves
    fill what receipts, picks, packs, ships and returns leave."""
    customers: int | None = None
    """Default: 0.3 per order (about three orders a customer)."""

    def customer_count(self) -> int:
        return self.customers if self.customers is not None else max(10, self.orders * 3 // 10)


@dataclass
class History:
    """What was loaded."""

    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step of the load."""
    fk_checks_skipped: bool = False
    start_at: datetime | None = None
    end_at: datetime | None = None


def _u(expr: str, salt: int) -> str:
    """SQL: a number in [0, 1) that looks random but is fixed by `expr` and `salt`."""
    return f"((hashint8extended(({expr})::bigint, {salt}) & 4294967295)::float8 / 4294967296.0)"


def _ts(at: datetime) -> str:
    return f"'{at.isoformat()}'::timestamptz"


async def _max_id(conn: asyncpg.Connection, table: str) -> int:
    value: int = await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")
    return value


async def load_history(
    conn: asyncpg.Connection,
    size: HistorySize,
    *,
    user_id: int,
    note: Callable[[str], None] | None = None,
) -> History:
    """Load a year of shipped orders and their ledger into the benchmark warehouse (already
    loaded by `load_dataset`); the balances are recomputed from the whole ledger."""
    history = History()
    say = note or (lambda message: None)

    async def step(name: str, sql: str, *args: object) -> str:
        began = time.monotonic()
        status: str = await conn.execute(sql, *args)
        took = time.monotonic() - began
        history.timings[name] = round(history.timings.get(name, 0.0) + took, 2)
        say(f"history: {name} ({status}) in {took:.1f}s")
        return status

    await conn.execute(
        "SET work_mem = '1GB'; SET maintenance_work_mem = '1GB'; SET synchronous_commit = off"
    )
    try:
        await conn.execute("SET session_replication_role = replica")
        history.fk_checks_skipped = True
    except asyncpg.InsufficientPrivilegeError:
        say("history: not a superuser, foreign keys are checked row by row (slower)")

    sites = await conn.fetch("SELECT id, code FROM warehouse ORDER BY id")
    products = await conn.fetchrow(
        "SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM product"
    )
    if not sites or products["n"] == 0 or products["last"] - products["first"] + 1 != products["n"]:
        raise RuntimeError("load the benchmark warehouse first (contiguous product ids)")
    n_sites = len(sites)
    first_product, n_products = products["first"], products["n"]
    n_orders = size.orders
    n_customers = size.customer_count()
    end_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start_at = end_at - timedelta(days=SPAN_DAYS)
    history.start_at, history.end_at = start_at, end_at
    start = _ts(start_at)
    span_s = SPAN_DAYS * 86400
    period_s = PERIOD_DAYS * 86400

    base = {
        table: await _max_id(conn, table)
        for table in ("app_user", "location", "lot", "channel", "customer", "sales_order", "wave")
    }
    base["order_line"] = await _max_id(conn, "order_line")
    base["pick_task"] = await _max_id(conn, "pick_task")
    movements_before: int = await conn.fetchval("SELECT count(*) FROM movement")

    # -- indexes off ---------------------------------------------------------------------
    indexes = await conn.fetch(
        """SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = ANY($1::regclass[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)""",
        list(INDEXED_TABLES),
    )
    began = time.monotonic()
    for index in indexes:
        await conn.execute(f'DROP INDEX "{index["name"]}"')
    history.timings["drop indexes"] = round(time.monotonic() - began, 2)

    # -- the floor: staff, totes, pack stations, returns areas, channels -------------------
    password_hash = hash_secret(uuid.uuid4().hex)
    users: list[tuple[int, str, str, str]] = []
    roles: list[tuple[int, str]] = []
    site_rows: list[tuple[int, int, str, int, int, int]] = []
    picker_rows: list[tuple[int, int, int, int]] = []
    station_rows: list[tuple[int, int, int, int]] = []
    locations: list[tuple[int, int, str, str, str, str]] = []
    user_id_next = base["app_user"]
    location_id_next = base["location"]
    bins_per_site = {
        row["warehouse_id"]: row["n"]
        for row in await conn.fetch(
            "SELECT warehouse_id, count(*) AS n FROM location WHERE kind = 'bin' "
            "GROUP BY warehouse_id"
        )
    }

    def person(username: str, role: str) -> int:
        nonlocal user_id_next
        user_id_next += 1
        users.append((user_id_next, username, username.replace("-", " ").title(), password_hash))
        roles.append((user_id_next, role))
        return user_id_next

    def place(warehouse_id: int, code: str, barcode: str, kind: str, zone: str) -> int:
        nonlocal location_id_next
        location_id_next += 1
        locations.append((location_id_next, warehouse_id, code, barcode, kind, zone))
        return location_id_next

    for index, site in enumerate(sites):
        wh, code = site["id"], site["code"]
        slug = code.lower().replace("_", "-")
        for n in range(1, PICKERS_PER_SITE + 1):
            picker = person(f"floor-{slug}-picker-{n:02d}", "picker")
            tote_code = f"TOTE-FLOOR-{code}-PICKER-{n:02d}"
            tote = place(wh, tote_code, f"{tote_code}@{code}", "tote", "TOTES")
            picker_rows.append((wh, n, picker, tote))
        for n in range(1, STATIONS_PER_SITE + 1):
            packer = person(f"floor-{slug}-packer-{n:02d}", "packer")
            station = place(wh, f"PACK-{n:02d}", f"LOC-{code}-PACK-{n:02d}", "pack_station", "PACK")
            station_rows.append((wh, n, station, packer))
        receiver = person(f"floor-{slug}-receiver-01", "receiver")
        for n in range(2, RECEIVERS_PER_SITE + 1):
            person(f"floor-{slug}-receiver-{n:02d}", "receiver")
        returns = place(wh, "RETURNS", f"LOC-{code}-RETURNS", "staging", "RETURNS")
        site_rows.append((wh, index, code, returns, receiver, bins_per_site.get(wh, 0)))
    if any(row[5] == 0 for row in site_rows):
        raise RuntimeError("every warehouse needs bins")
    customer_locations = location_id_next
    channel_rows = [
        (base["channel"] + n, code, name, kind, days, split)
        for n, (code, name, kind, _, days, split) in enumerate(CHANNELS, start=1)
    ]

    began = time.monotonic()
    async with conn.transaction():
        await conn.copy_records_to_table(
            "app_user", records=users, columns=["id", "username", "display_name", "password_hash"]
        )
        await conn.copy_records_to_table("user_role", records=roles, columns=["user_id", "role"])
        await conn.copy_records_to_table(
            "location",
            records=locations,
            columns=["id", "warehouse_id", "code", "barcode", "kind", "zone"],
        )
        await conn.copy_records_to_table(
            "channel",
            records=channel_rows,
            columns=["id", "code", "name", "kind", "min_shelf_life_days", "allow_split"],
        )
    await conn.execute(
        """DROP TABLE IF EXISTS hist_site, hist_picker, hist_station, hist_bin, hist_lot_bin;
           CREATE TEMP TABLE hist_site (warehouse_id bigint PRIMARY KEY, wi int UNIQUE,
               code text, returns_id bigint, receiver_id bigint, bins int);
           CREATE TEMP TABLE hist_picker (warehouse_id bigint, n int, user_id bigint PRIMARY KEY,
               tote_id bigint, UNIQUE (warehouse_id, n));
           CREATE TEMP TABLE hist_station (warehouse_id bigint, n int,
               station_id bigint PRIMARY KEY, packer_id bigint, UNIQUE (warehouse_id, n));"""
    )
    await conn.copy_records_to_table("hist_site", records=site_rows)
    await conn.copy_records_to_table("hist_picker", records=picker_rows)
    await conn.copy_records_to_table("hist_station", records=station_rows)
    await conn.execute(
        """CREATE TEMP TABLE hist_bin AS
           SELECT warehouse_id, row_number() OVER (PARTITION BY warehouse_id ORDER BY id)::int
                      AS n, id, walk_sequence
             FROM location WHERE kind = 'bin';
           CREATE UNIQUE INDEX ON hist_bin (warehouse_id, n);
           ANALYZE hist_site; ANALYZE hist_picker; ANALYZE hist_station; ANALYZE hist_bin"""
    )
    history.timings["floor"] = round(time.monotonic() - began, 2)

    # -- waves (one per site and day), customers, orders, lines ----------------------------
    await step(
        "waves",
        f"""INSERT INTO wave (id, warehouse_id, created_by, created_at)
            SELECT {base["wave"]} + d * {n_sites} + s.wi + 1, s.warehouse_id, {user_id},
                   {start} + d * interval '1 day' - interval '10 hours'
              FROM generate_series(0, {SPAN_DAYS - 1}) d CROSS JOIN hist_site s""",
    )
    channel_of = " ".join(
        f"WHEN {_u('n', 7)} < {share} THEN {base['channel'] + number}"
        for number, (*_, share, _days, _split) in enumerate(CHANNELS, start=1)
    )
    countries = "ARRAY[" + ", ".join(f"'{c}'" for c in COUNTRIES) + "]"
    await step(
        "customers",
        f"""INSERT INTO customer (id, channel_id, ref, name, email, country, created_at)
            SELECT {base["customer"]} + n, CASE {channel_of} ELSE {base["channel"] + 1} END,
                   'C' || lpad(n::text, 8, '0'), 'Customer ' || n,
                   'customer' || n || '@example.com',
                   ({countries})[1 + floor({len(COUNTRIES)} * {_u("n", 11)})::int],
                   {start} - interval '30 days'
              FROM generate_series(1, {n_customers}) n""",
    )
    await conn.execute("ANALYZE customer")
    # Order n ships at its place in the year; its customer is drawn with a skew (some
    # customers order often) and ships from the customer's site.
    await step(
        "orders",
        f"""INSERT INTO sales_order (id, warehouse_id, channel_id, external_id, customer_id,
                                     country, ship_date, status, wave_id, pack_station_id,
                                     picker_id, created_by, created_at, shipped_at)
            SELECT {base["sales_order"]} + o.n, s.warehouse_id, cu.channel_id,
                   'SO-' || lpad(o.n::text, 9, '0'), cu.id, cu.country, o.shipped_at::date,
                   'shipped', {base["wave"]} + o.day * {n_sites} + s.wi + 1, st.station_id,
                   pk.user_id, {user_id}, o.shipped_at - interval '9 hours', o.shipped_at
              FROM (SELECT n,
                           {base["customer"]} + 1
                               + floor({n_customers} * power({_u("n", 21)}, 1.5))::bigint
                               AS customer_id,
                           {start} + ({span_s}::float8 * (n - 0.5) / {n_orders})
                               * interval '1 second' AS shipped_at,
                           floor({SPAN_DAYS}::float8 * (n - 0.5) / {n_orders})::int AS day
                      FROM generate_series(1, {n_orders}) n) o
              JOIN customer cu ON cu.id = o.customer_id
              JOIN hist_site s ON s.wi = o.customer_id % {n_sites}
              JOIN hist_station st ON st.warehouse_id = s.warehouse_id
                   AND st.n = 1 + floor({STATIONS_PER_SITE} * {_u("o.n", 23)})::int
              JOIN hist_picker pk ON pk.warehouse_id = s.warehouse_id
                   AND pk.n = 1 + floor({PICKERS_PER_SITE} * {_u("o.n", 25)})::int""",
    )
    await conn.execute("ANALYZE sales_order")
    # One to four lines an order; a product's chance falls with its rank (u^2: the first
    # product is in about 1 in sqrt(products) lines). Wholesale orders take cases.
    line_key = "o.id * 8 + k"
    await step(
        "order lines",
        f"""INSERT INTO order_line (order_id, line_no, product_id, quantity)
            SELECT o.id, k,
                   {first_product} + floor({n_products} * power({_u(line_key, 31)}, 2))::bigint,
                   CASE WHEN ch.kind = 'wholesale' THEN 6 + floor(43 * {_u(line_key, 33)})::int
                        ELSE 1 + floor(5 * power({_u(line_key, 33)}, 4))::int END
              FROM sales_order o
              JOIN channel ch ON ch.id = o.channel_id
             CROSS JOIN LATERAL generate_series(1, 1 + floor(4 * {_u("o.id", 29)})::int) k
             WHERE o.id > {base["sales_order"]}
             ORDER BY o.id, k""",
    )
    await conn.execute("ANALYZE order_line")

    # -- lots: one per product and 14 days, received two days before its period ------------
    lot_id_of = (
        f"{base['lot']} + (ol.product_id - {first_product}) * {LOTS_PER_PRODUCT} + least("
        f"{LOTS_PER_PRODUCT - 1}, floor(extract(epoch FROM o.shipped_at - {start}) "
        f"/ {period_s})::bigint) + 1"
    )
    await step(
        "lots",
        f"""INSERT INTO lot (id, product_id, code, production_date, expiry_date, status,
                             status_at, received_at, created_at)
            SELECT {base["lot"]} + (p.id - {first_product}) * {LOTS_PER_PRODUCT} + k + 1, p.id,
                   'B' || to_char(r.at, 'YYMMDD') || '-' || lpad((k + 1)::text, 2, '0'),
                   (r.at - interval '1 day')::date,
                   (r.at - interval '1 day')::date + coalesce(p.shelf_life_days, 365),
                   'released', r.at, r.at, r.at
              FROM product p
             CROSS JOIN generate_series(0, {LOTS_PER_PRODUCT - 1}) k
             CROSS JOIN LATERAL (SELECT {start} + (k * {PERIOD_DAYS} - 2) * interval '1 day'
                                        AS at) r""",
    )
    await conn.execute(
        f"""CREATE TEMP TABLE hist_lot_bin AS
            SELECT l.id AS lot_id, s.warehouse_id, b.id AS bin_id, b.walk_sequence,
                   nb.id AS neighbour_id,
                   ((l.id - {base["lot"]} - 1) % {LOTS_PER_PRODUCT})::int AS period
              FROM lot l
             CROSS JOIN hist_site s
              JOIN hist_bin b ON b.warehouse_id = s.warehouse_id
                   AND b.n = 1 + floor(s.bins * {_u("l.id * 8 + s.wi", 41)})::int
              JOIN hist_bin nb ON nb.warehouse_id = s.warehouse_id AND nb.n = b.n % s.bins + 1
             WHERE l.id > {base["lot"]};
            CREATE UNIQUE INDEX ON hist_lot_bin (lot_id, warehouse_id);
            ANALYZE lot; ANALYZE hist_lot_bin"""
    )

    # -- pick tasks: each line picked in full from its lot's bin at the order's site -------
    await step(
        "pick tasks",
        f"""INSERT INTO pick_task (wave_id, order_id, order_line_id, lot_id, location_id,
                                   walk_sequence, quantity, picked, short, packed, shipped,
                                   status, assignee_id, tote_id, bin_confirmed_at, updated_at)
            SELECT o.wave_id, o.id, ol.id, lb.lot_id, lb.bin_id, lb.walk_sequence,
                   ol.quantity, ol.quantity, 0, ol.quantity, ol.quantity, 'done', o.picker_id,
                   pk.tote_id, o.shipped_at - interval '5 hours', o.shipped_at
              FROM order_line ol
              JOIN sales_order o ON o.id = ol.order_id
              JOIN hist_picker pk ON pk.user_id = o.picker_id
              JOIN hist_lot_bin lb ON lb.warehouse_id = o.warehouse_id
                   AND lb.lot_id = {lot_id_of}
             WHERE ol.id > {base["order_line"]}
             ORDER BY ol.id""",
    )
    await conn.execute("ANALYZE pick_task")
    # The customer's own location, made by its first shipment.
    customer_location = f"{customer_locations} + (o.customer_id - {base['customer']})"
    await step(
        "customer locations",
        f"""INSERT INTO location (id, warehouse_id, code, barcode, kind, zone, created_at)
            SELECT {customer_locations} + (c.customer_id - {base["customer"]}), s.warehouse_id,
                   'CUSTOMER-' || c.customer_id, 'CUSTOMER-' || c.customer_id || '@' || s.code,
                   'customer', 'CUSTOMERS', c.first_at
              FROM (SELECT customer_id, min(shipped_at) AS first_at FROM sales_order
                     WHERE id > {base["sales_order"]} GROUP BY customer_id) c
              JOIN hist_site s ON s.wi = c.customer_id % {n_sites}""",
    )

    # -- the ledger --------------------------------------------------------------------------
    tasks = await conn.fetchrow(
        f"SELECT min(id) AS first, max(id) AS last, count(*) AS n FROM pick_task "
        f"WHERE id > {base['pick_task']}"
    )
    n_tasks = tasks["n"]
    if n_tasks and tasks["last"] - tasks["first"] + 1 != n_tasks:
        raise RuntimeError("pick task ids are not contiguous")
    returned_at = f"o.shipped_at + (3 + 25 * {_u('t.id', 53)}) * interval '1 day'"
    is_returned = f"{_u('t.id', 51)} < {RETURN_SHARE} AND {returned_at} < {_ts(end_at)}"
    n_returns: int = await conn.fetchval(
        f"""SELECT count(*) FROM pick_task t JOIN sales_order o ON o.id = t.order_id
             WHERE t.id > {base["pick_task"]} AND {is_returned}"""
    )
    n_receipts: int = await conn.fetchval("SELECT count(*) FROM hist_lot_bin")
    pairs = max(0, (size.movements - movements_before - 3 * n_tasks - n_returns - n_receipts) // 2)
    first_task = tasks["first"] or 0
    say(
        f"history: ledger of {n_receipts:,} receipts, {3 * n_tasks:,} picks, packs and "
        f"ships, {n_returns:,} returns, {2 * pairs:,} moves"
    )
    # Receipts cover every unit the lot's picks take at that site, plus what is left in
    # the bin (more for the lots of the last two months).
    receipts_sql = f"""
        SELECT 'receipt' AS kind, lb.lot_id, NULL::bigint AS from_id, lb.bin_id AS to_id,
               coalesce(t.units, 0) + 1 + floor(
                   CASE WHEN lb.period >= {LOTS_PER_PRODUCT - 4} THEN 400 ELSE 60 END
                   * {_u("lb.lot_id * 8 + s.wi", 43)})::bigint AS quantity,
               NULL::text AS reason, 'PO-' || lb.lot_id || '-' || s.code AS reference,
               s.receiver_id AS user_id, NULL::bigint AS line_id,
               l.received_at + s.wi * interval '30 minutes' AS at
          FROM hist_lot_bin lb
          JOIN hist_site s ON s.warehouse_id = lb.warehouse_id
          JOIN lot l ON l.id = lb.lot_id
          LEFT JOIN (SELECT t.lot_id, o.warehouse_id, sum(t.quantity) AS units
                       FROM pick_task t JOIN sales_order o ON o.id = t.order_id
                      WHERE t.id > {base["pick_task"]} GROUP BY 1, 2) t
            ON t.lot_id = lb.lot_id AND t.warehouse_id = lb.warehouse_id"""
    flow_sql = f"""
        SELECT step.kind, t.lot_id, step.from_id, step.to_id, t.quantity, NULL,
               'order ' || t.order_id, step.user_id, t.order_line_id, step.at
          FROM pick_task t
          JOIN sales_order o ON o.id = t.order_id
          JOIN hist_station st ON st.station_id = o.pack_station_id
         CROSS JOIN LATERAL (VALUES
               ('pick', t.location_id, t.tote_id, t.assignee_id,
                o.shipped_at - interval '5 hours' + {_u("t.id", 45)} * interval '2 hours'),
               ('pack', t.tote_id, o.pack_station_id, st.packer_id,
                o.shipped_at - interval '2 hours' + {_u("t.id", 47)} * interval '1 hour'),
               ('ship', o.pack_station_id, {customer_location}, st.packer_id, o.shipped_at))
               AS step(kind, from_id, to_id, user_id, at)
         WHERE t.id > {base["pick_task"]}"""
    returns_sql = f"""
        SELECT 'return', t.lot_id, {customer_location}, s.returns_id,
               least(t.quantity, 1 + floor(t.quantity * {_u("t.id", 55)}))::bigint,
               'customer return', 'RMA-' || t.id, s.receiver_id, t.order_line_id, {returned_at}
          FROM pick_task t
          JOIN sales_order o ON o.id = t.order_id
          JOIN hist_site s ON s.warehouse_id = o.warehouse_id
         WHERE t.id > {base["pick_task"]} AND {is_returned}"""
    # Replenishment: a unit to the next bin the day before a pick, and back an hour later
    # (it nets to nothing, so the bin never runs dry), spread over the lines by activity.
    moves_sql = f"""
        SELECT 'move', t.lot_id, leg.from_id, leg.to_id, 1, NULL, NULL, o.picker_id, NULL,
               leg.at
          FROM generate_series(0, {pairs - 1}) j
          JOIN pick_task t ON t.id = {first_task} + (j * {n_tasks}::bigint / {max(pairs, 1)})
          JOIN sales_order o ON o.id = t.order_id
          JOIN hist_lot_bin lb ON lb.lot_id = t.lot_id AND lb.warehouse_id = o.warehouse_id
         CROSS JOIN LATERAL (VALUES
               (lb.bin_id, lb.neighbour_id,
                o.shipped_at - interval '30 hours' + (j % 29) * interval '1 minute'),
               (lb.neighbour_id, lb.bin_id,
                o.shipped_at - interval '29 hours' + (j % 29) * interval '1 minute'))
               AS leg(from_id, to_id, at)"""
    parts = [receipts_sql, flow_sql, returns_sql]
    if pairs > 0 and n_tasks > 0:
        parts.append(moves_sql)
    await step(
        "movements",
        f"""INSERT INTO movement (kind, lot_id, from_location_id, to_location_id, quantity,
                                  reason, reference, user_id, order_line_id, created_at)
            SELECT * FROM ({" UNION ALL ".join(parts)}) AS ledger ORDER BY 10""",
    )
    # -- balances = the ledger ---------------------------------------------------------------
    await step("truncate balances", "TRUNCATE stock_balance")
    await step(
        "balances",
        """INSERT INTO stock_balance (lot_id, location_id, quantity, updated_at)
           SELECT lot_id, location_id, sum(delta), max(at)
             FROM (SELECT lot_id, to_location_id AS location_id, quantity AS delta,
                          created_at AS at
                     FROM movement WHERE to_location_id IS NOT NULL
                   UNION ALL
                   SELECT lot_id, from_location_id, -quantity, created_at
                     FROM movement WHERE from_location_id IS NOT NULL) AS legs
            GROUP BY lot_id, location_id
            ORDER BY lot_id, location_id""",
    )
    for table in ("app_user", "location", "lot", "channel", "customer", "sales_order", "wave"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    await conn.execute("RESET session_replication_role")

    # -- indexes back, statistics ----------------------------------------------------------
    for index in indexes:
        await step(f"index {index['name']}", index["definition"])
    await step("analyze", "ANALYZE")
    await conn.execute(
        "DROP TABLE hist_site, hist_picker, hist_station, hist_bin, hist_lot_bin; "
        "RESET work_mem; RESET maintenance_work_mem; RESET synchronous_commit"
    )
    for table in (
        "customer",
        "sales_order",
        "order_line",
        "pick_task",
        "lot",
        "location",
        "movement",
        "stock_balance",
    ):
        history.counts[table] = await conn.fetchval(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = $1::regclass", table
        )
    history.counts["movement"] = await conn.fetchval("SELECT count(*) FROM movement")
    history.counts["sales_order_shipped"] = n_orders
    history.counts["returns"] = n_returns
    history.counts["moves"] = 2 * pairs
    return history
