"""The events exports are made of: a lot's (or a period's) movements with their places and
orders, and its holds, read once and shared by the FSMA 204 spreadsheet and EPCIS.

A period is whole days, `from` to `to` inclusive, each day in the time zone of the
warehouse where the event happened; a lot's exports may be narrowed to a period too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from backend.errors import DomainError
from backend.trace.service import TRACED_KINDS

__all__ = [
    "EXPORT_LIMIT",
    "Customer",
    "LedgerEvent",
    "Order",
    "Place",
    "Scope",
    "Selection",
    "StatusChange",
    "export_scope",
    "ledger_events",
    "status_changes",
]

EXPORT_LIMIT = 100_000
"""Movements one export reads at most; a wider request is refused (export_too_large)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What an export covers: one lot, a period, or one lot in a period."""

    lot_id: int | None
    first_day: date | None
    last_day: date | None

    def covers(self, day: date) -> bool:
        return (self.first_day is None or day >= self.first_day) and (
            self.last_day is None or day <= self.last_day
        )


def export_scope(lot_id: int | None, first_day: date | None, last_day: date | None) -> Scope:
    """The scope of an export request, or 422 when it names neither a lot nor a period."""
    if first_day is not None and last_day is not None and first_day > last_day:
        raise DomainError(
            "invalid_date_range",
            f"`from` ({first_day.isoformat()}) is after `to` ({last_day.isoformat()}).",
            422,
        )
    if lot_id is None and (first_day is None or last_day is None):
        raise DomainError(
            "lot_or_dates_required",
            "Name a lot (`lot`), or a period with both `from` and `to`, or both.",
            422,
        )
    return Scope(lot_id, first_day, last_day)


@dataclass(frozen=True, slots=True)
class Place:
    """A location and its warehouse."""

    id: int
    code: str
    kind: str
    warehouse: str
    warehouse_name: str
    timezone: str

    @property
    def name(self) -> str:
        return f"{self.warehouse}/{self.code}"


@dataclass(frozen=True, slots=True)
class Order:
    """The order a movement served."""

    id: int
    external_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class Customer:
    """The customer at the far end of a movement to or from a customer location: its
    order's, or (a movement outside any order) the one that location got the lot shipped."""

    id: int
    ref: str
    name: str
    country: str | None
    channel: str


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One movement of a lot."""

    movement_id: int
    kind: str
    lot_id: int
    at: datetime
    quantity: int
    reference: str | None
    source: Place | None
    destination: Place | None
    order: Order | None
    customer: Customer | None
    day: date
    """Its calendar day where it happened: where the units arrived, or where they left for
    a customer."""
    serials: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A lot put on hold, quarantined or recalled, or released from one."""

    lot_id: int
    kind: str
    """hold, quarantine or recall."""
    released: bool
    at: datetime
    reason: str
    hold_id: int | None
    """None when the lot's status has no hold behind it (set before holds were recorded)."""


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _bounds(
    conn: asyncpg.Connection, scope: Scope
) -> tuple[datetime | None, datetime | None]:
    """The UTC instants from the first day's start to the last day's end in every
    warehouse's time zone: the movements the scope's days can hold, and a few more."""
    zones = {
        _zone(row["timezone"])
        for row in await conn.fetch("SELECT DISTINCT timezone FROM warehouse")
    } or {ZoneInfo("UTC")}
    start = end = None
    if scope.first_day is not None and scope.first_day > date.min + timedelta(days=1):
        start = min(
            datetime.combine(scope.first_day, time.min, zone).astimezone(UTC) for zone in zones
        )
    if scope.last_day is not None and scope.last_day < date.max - timedelta(days=1):
        after = scope.last_day + timedelta(days=1)
        end = max(datetime.combine(after, time.min, zone).astimezone(UTC) for zone in zones)
    return start, end


_EVENTS = """
SELECT m.id, m.kind, m.lot_id, m.created_at, m.quantity, m.reference,
       f.id AS f_id, f.code AS f_code, f.kind AS f_kind, fw.code AS f_wh, fw.name AS f_wh_name,
       fw.timezone AS f_tz,
       t.id AS t_id, t.code AS t_code, t.kind AS t_kind, tw.code AS t_wh, tw.name AS t_wh_name,
       tw.timezone AS t_tz,
       o.id AS order_id, o.external_id, oc.code AS order_channel, cu.id AS customer_id,
       cu.ref AS customer_ref, cu.name AS customer_name, cu.country AS customer_country,
       ch.code AS channel,
       CASE WHEN p.tracking IN ('serial', 'lot_serial') THEN coalesce(
           (SELECT array_agg(s.serial ORDER BY s.serial) FROM movement_serial ms
              JOIN serial s ON s.id = ms.serial_id WHERE ms.movement_id = m.id), '{}')
       END AS serials
  FROM movement m
  JOIN lot l ON l.id = m.lot_id
  JOIN product p ON p.id = l.product_id
  LEFT JOIN location f ON f.id = m.from_location_id
  LEFT JOIN warehouse fw ON fw.id = f.warehouse_id
  LEFT JOIN location t ON t.id = m.to_location_id
  LEFT JOIN warehouse tw ON tw.id = t.warehouse_id
  LEFT JOIN order_line ol ON ol.id = m.order_line_id
  LEFT JOIN sales_order o ON o.id = ol.order_id
  LEFT JOIN channel oc ON oc.id = o.channel_id
  LEFT JOIN LATERAL (
      SELECT so.customer_id FROM movement s
        JOIN order_line sl ON sl.id = s.order_line_id
        JOIN sales_order so ON so.id = sl.order_id
       WHERE m.order_line_id IS NULL AND (t.kind = 'customer' OR f.kind = 'customer')
         AND s.lot_id = m.lot_id AND s.kind = 'ship'
         AND s.to_location_id = CASE WHEN t.kind = 'customer' THEN t.id ELSE f.id END
       ORDER BY s.id DESC LIMIT 1) shipped_to ON true
  LEFT JOIN customer cu ON cu.id = coalesce(o.customer_id, shipped_to.customer_id)
  LEFT JOIN channel ch ON ch.id = cu.channel_id
"""


def _place(row: asyncpg.Record, end: str, places: dict[int, Place]) -> Place | None:
    """The location at one end of a movement (`f` or `t`), made once per location."""
    location_id = row[f"{end}_id"]
    if location_id is None:
        return None
    place = places.get(location_id)
    if place is None:
        place = places[location_id] = Place(
            id=location_id,
            code=row[f"{end}_code"],
            kind=row[f"{end}_kind"],
            warehouse=row[f"{end}_wh"],
            warehouse_name=row[f"{end}_wh_name"],
            timezone=row[f"{end}_tz"],
        )
    return place


def _event(row: asyncpg.Record, places: dict[int, Place]) -> LedgerEvent:
    order = customer = None
    if row["order_id"] is not None:
        order = Order(
            id=row["order_id"], external_id=row["external_id"], channel=row["order_channel"]
        )
    if row["customer_id"] is not None:
        customer = Customer(
            id=row["customer_id"],
            ref=row["customer_ref"],
            name=row["customer_name"],
            country=row["customer_country"],
            channel=row["channel"],
        )
    source, destination = _place(row, "f", places), _place(row, "t", places)
    site = source if destination is None or destination.kind == "customer" else destination
    site = site or destination
    return LedgerEvent(
        movement_id=row["id"],
        kind=row["kind"],
        lot_id=row["lot_id"],
        at=row["created_at"],
        quantity=row["quantity"],
        reference=row["reference"],
        source=source,
        destination=destination,
        order=order,
        customer=customer,
        day=row["created_at"].astimezone(_zone(site.timezone if site else "UTC")).date(),
        serials=list(row["serials"] or []),
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """Which movements an export reads."""

    kinds: tuple[str, ...]
    others: str = "true"
    """SQL condition (on `m`, `f`, `t`) on the movements of kinds `movement_trace_idx` does
    not hold: those are most of the ledger, so an export may want few of them."""
    others_only_if: str = "true"
    """For one lot's export ($1 the lot's id): SQL condition on the lot that must hold
    before its other movements are read at all."""


def _kinds(kinds: tuple[str, ...]) -> str:
    assert all(kind.isalpha() and kind.islower() for kind in kinds)
    return ", ".join(f"'{kind}'" for kind in kinds)


async def ledger_events(
    conn: asyncpg.Connection, scope: Scope, selection: Selection
) -> list[LedgerEvent]:
    """The scope's movements the selection names, oldest first; 422 export_too_large when
    there are more than `EXPORT_LIMIT`. For one lot, its receipts, shipments and returns come
    from the trace index, and its other movements are read only when they may matter."""
    start, end = await _bounds(conn, scope)
    traced = tuple(kind for kind in selection.kinds if kind in TRACED_KINDS)
    others = tuple(kind for kind in selection.kinds if kind not in TRACED_KINDS)
    queries = []
    if scope.lot_id is not None:
        if traced:
            queries.append(f"m.lot_id = $1 AND m.kind IN ({_kinds(traced)})")
        if others:
            queries.append(
                f"m.lot_id = $1 AND m.kind IN ({_kinds(others)}) AND ({selection.others})"
                f" AND ({selection.others_only_if})"
            )
    else:
        condition = f"m.kind IN ({_kinds(selection.kinds)})"
        if others:
            condition += f" AND (m.kind NOT IN ({_kinds(others)}) OR ({selection.others}))"
        queries.append(condition)
    arguments: list[object] = [] if scope.lot_id is None else [scope.lot_id]
    bounds = ""
    for condition, instant in (("m.created_at >= ", start), ("m.created_at < ", end)):
        if instant is not None:
            arguments.append(instant)
            bounds += f" AND {condition}${len(arguments)}"
    rows: list[asyncpg.Record] = []
    for condition in queries:
        rows += await conn.fetch(
            f"{_EVENTS} WHERE {condition}{bounds} ORDER BY m.created_at, m.id"
            f" LIMIT {EXPORT_LIMIT + 1}",
            *arguments,
        )
    if len(rows) > EXPORT_LIMIT:
        raise DomainError(
            "export_too_large",
            f"More than {EXPORT_LIMIT} movements: ask for one lot or a shorter period.",
            422,
        )
    places: dict[int, Place] = {}
    events = (_event(row, places) for row in rows)
    chosen = [event for event in events if scope.covers(event.day)]
    return sorted(chosen, key=lambda event: (event.at, event.movement_id))


_ORIGIN_ZONE = """LEFT JOIN LATERAL (
      SELECT w.timezone FROM movement m
        JOIN location loc ON loc.id = m.to_location_id
        JOIN warehouse w ON w.id = loc.warehouse_id
       WHERE m.lot_id = l.id ORDER BY m.id LIMIT 1) origin ON true"""
"""The time zone of the warehouse a lot first arrived at: its status changes' days are
counted there."""

_HOLDS = f"""
SELECT hl.lot_id, h.id AS hold_id, h.kind, h.reason, h.placed_at, h.released_at,
       h.release_reason, origin.timezone
  FROM hold_lot hl
  JOIN hold h ON h.id = hl.hold_id
  JOIN lot l ON l.id = hl.lot_id
  {_ORIGIN_ZONE}"""

_UNRECORDED = f"""
SELECT l.id AS lot_id, l.status, l.status_reason, l.status_at, origin.timezone
  FROM lot l
  {_ORIGIN_ZONE}
 WHERE l.status <> 'released'
   AND NOT EXISTS (SELECT 1 FROM hold_lot hl JOIN hold h ON h.id = hl.hold_id
                    WHERE hl.lot_id = l.id AND h.released_at IS NULL)"""

_EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 31, tzinfo=UTC)

_KIND_OF_STATUS = {"hold": "hold", "quarantine": "quarantine", "recalled": "recall"}


async def status_changes(conn: asyncpg.Connection, scope: Scope) -> list[StatusChange]:
    """Holds placed and released in the scope, from the holds' history; a lot whose status
    is not released with no hold behind it counts as held since its `status_at`."""
    start, end = await _bounds(conn, scope)
    start, end = start or _EARLIEST, end or _LATEST
    if scope.lot_id is not None:
        holds = await conn.fetch(_HOLDS + " WHERE hl.lot_id = $1", scope.lot_id)
        bare = await conn.fetch(_UNRECORDED + " AND l.id = $1", scope.lot_id)
    else:
        holds = await conn.fetch(
            _HOLDS
            + """ WHERE (h.placed_at >= $1 AND h.placed_at < $2)
                     OR (h.released_at >= $1 AND h.released_at < $2)""",
            start,
            end,
        )
        bare = await conn.fetch(
            _UNRECORDED + " AND l.status_at >= $1 AND l.status_at < $2", start, end
        )
    changes = []
    for row in holds:
        zone = _zone(row["timezone"] or "UTC")
        placed = StatusChange(
            row["lot_id"], row["kind"], False, row["placed_at"], row["reason"], row["hold_id"]
        )
        changes.append((placed, zone))
        if row["released_at"] is not None:
            released = StatusChange(
                row["lot_id"],
                row["kind"],
                True,
                row["released_at"],
                row["release_reason"],
                row["hold_id"],
            )
            changes.append((released, zone))
    for row in bare:
        status = StatusChange(
            row["lot_id"],
            _KIND_OF_STATUS[row["status"]],
            False,
            row["status_at"],
            row["status_reason"],
            None,
        )
        changes.append((status, _zone(row["timezone"] or "UTC")))
    return sorted(
        (change for change, zone in changes if scope.covers(change.at.astimezone(zone).date())),
        key=lambda change: (change.at, change.lot_id),
    )
