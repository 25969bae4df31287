"""Allocation of order lines to lots and bins: FEFO for dated products, FIFO otherwise.

A wave's lines compete for the same free stock in the order given, so earlier orders win the
soonest-expiring lots. Only released lots that keep the line's minimum shelf life at the ship
date, and that may go to the line's country, are allocated. What cannot be allocated comes back
as a shortfall saying why, so a supervisor knows whether to release a hold or reorder.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import attrgetter
from typing import Literal

__all__ = [
    "Allocation",
    "Eligibility",
    "LineDemand",
    "ShortReason",
    "Shortfall",
    "StockSlot",
    "WavePlan",
    "allocate_wave",
    "eligibility",
    "substitution_refusal",
]

Eligibility = Literal["eligible", "held", "short_dated", "barred"]
ShortReason = Literal[
    "no_stock",
    "only_short_dated_stock",
    "only_held_stock",
    "barred_for_country",
    "split_not_allowed",
]


@dataclass(frozen=True, slots=True)
class LineDemand:
    """One order line as allocation sees it: what, how many, when and where it ships."""

    line_id: int
    product_id: int
    quantity: int
    """Units ordered, at least 1."""
    dated: bool
    """The product's lots carry dates, so lots go out FEFO; otherwise FIFO by receipt."""
    ship_date: date
    min_shelf_life_days: int
    """Shelf life the customer must still have at the ship date; 0 for none."""
    country: str | None
    """Destination country (ISO 3166-1 alpha-2), or None when unknown."""
    allow_split: bool
    """Whether the line may be filled from more than one lot."""


@dataclass(frozen=True, slots=True)
class StockSlot:
    """The free units of one lot in one bin, with the lot's status, dates and bars."""

    lot_id: int
    location_id: int
    product_id: int
    status: str
    """The lot's status: released, hold, quarantine or recalled."""
    expiry: date | None
    """The governing date (expiry, else best-before); None when the lot has no date."""
    received_at: datetime
    free: int
    """Units on hand and not yet allocated (quantity - allocated)."""
    walk_sequence: int
    """The bin's place on the picker's walk."""
    barred_countries: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Allocation:
    """Units of a line reserved from one lot in one bin."""

    line_id: int
    lot_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Units of a line left unallocated, why, and the ineligible free units that were seen."""

    line_id: int
    quantity: int
    reason: ShortReason
    held: int = 0
    short_dated: int = 0
    barred: int = 0


@dataclass(frozen=True, slots=True)
class WavePlan:
    """The outcome of a wave: allocations and shortfalls, both in line order."""

    allocations: tuple[Allocation, ...]
    shortfalls: tuple[Shortfall, ...]


def _earliest_expiry(line: LineDemand) -> date:
    """The first expiry that still leaves the line's minimum shelf life at the ship date."""
    return line.ship_date + timedelta(days=max(line.min_shelf_life_days, 0))


def _category(slot: StockSlot, earliest_expiry: date, country: str | None) -> Eligibility:
    if slot.status != "released":
        return "held"
    if slot.expiry is not None and slot.expiry < earliest_expiry:
        return "short_dated"
    if country is not None and country in slot.barred_countries:
        return "barred"
    return "eligible"


def eligibility(slot: StockSlot, line: LineDemand) -> Eligibility:
    """Whether `slot` may fill `line`, else why not (checked as held, short-dated, barred).

    Hold, quarantine and recalled all count as held. A lot expiring on the ship date may still
    ship that day when the line asks for no minimum shelf life.
    """
    return _category(slot, _earliest_expiry(line), line.country)


_EXPIRY = attrgetter("expiry")
_RECEIVED = attrgetter("received_at")
_RECEIPT_ORDER = attrgetter("received_at", "lot_id")
_FREE = attrgetter("free")
_PRODUCT = attrgetter("product_id")


class _ProductStock:
    """One product's stock during a wave, sorted once and drawn down line by line.

    `slots` are in FEFO order: dated slots by expiry, then undated slots by receipt; `keys`
    holds that sort key per slot and `left` the units not yet allocated. The sort uses one
    attribute only (tuples of keys for 100,000s of slots cost more than the rest of the wave);
    slots with equal keys are put in lot order when a line reaches them. Held and empty slots
    stay in place: lines skip them.
    """

    __slots__ = ("dated_count", "fefo_start", "fifo", "fifo_start", "keys", "left", "slots")

    def __init__(self, slots: list[StockSlot]) -> None:
        undated = list(map(_EXPIRY, slots)).count(None)
        if not undated:
            slots.sort(key=_EXPIRY)
        elif undated == len(slots):
            slots.sort(key=_RECEIVED)
        else:
            dated = [slot for slot in slots if slot.expiry is not None]
            slots = sorted(dated, key=_EXPIRY) + sorted(
                (slot for slot in slots if slot.expiry is None), key=_RECEIVED
            )
        self.dated_count = len(slots) - undated
        self.slots = slots
        self.left = list(map(_FREE, slots))
        self.keys: list[date | datetime] = [
            *map(_EXPIRY, slots[: self.dated_count]),
            *map(_RECEIVED, slots[self.dated_count :]),
        ]
        self.fefo_start = 0
        self.fifo: tuple[list[int], list[datetime]] | None = None
        self.fifo_start = 0

    def _usable_from(self, order: Sequence[int], start: int) -> int:
        """The first position from `start` on whose slot is released and has units left."""
        slots, left = self.slots, self.left
        while start < len(order):
            index = order[start]
            if left[index] > 0 and slots[index].status == "released":
                break
            start += 1
        return start

    def lots(self, line: LineDemand, earliest_expiry: date) -> Iterator[tuple[int, list[int]]]:
        """The lots with units eligible for `line`, in its order: how many, in which slots."""
        if line.dated or not self.dated_count:
            order: Sequence[int] = range(len(self.slots))
            keys: Sequence[date | datetime] = self.keys
            start = self.fefo_start = self._usable_from(order, self.fefo_start)
            if start < self.dated_count:
                # Slots expiring before `earliest_expiry` are short-dated for this line.
                start = max(start, bisect_left(self.keys, earliest_expiry, hi=self.dated_count))
        else:
            if self.fifo is None:
                slots = self.slots
                fifo = sorted(range(len(slots)), key=lambda i: _RECEIPT_ORDER(slots[i]))
                self.fifo = fifo, [slots[i].received_at for i in fifo]
            order, keys = self.fifo
            start = self.fifo_start = self._usable_from(order, self.fifo_start)
        return _lots(self, order, keys, start, earliest_expiry, line.country)

    def ineligible(self, earliest_expiry: date, country: str | None) -> tuple[int, int, int]:
        """Free units left in slots that are held, short-dated, and barred for a line."""
        units = {"held": 0, "short_dated": 0, "barred": 0, "eligible": 0}
        for slot, left in zip(self.slots, self.left, strict=True):
            if left > 0:
                units[_category(slot, earliest_expiry, country)] += left
        return units["held"], units["short_dated"], units["barred"]


def _lots(
    product: _ProductStock,
    order: Sequence[int],
    keys: Sequence[date | datetime],
    start: int,
    earliest: date,
    country: str | None,
) -> Iterator[tuple[int, list[int]]]:
    """Each lot from position `start` of `order` with eligible units: how many, which slots."""
    slots, left = product.slots, product.left
    end = len(order)
    position = start
    while position < end:
        key = keys[position]
        lot_id = slots[order[position]].lot_id
        bins: list[int] = []
        total = 0
        one_lot = True
        while position < end and keys[position] == key:
            index = order[position]
            position += 1
            units = left[index]
            if units > 0:
                # `eligibility` inlined: this loop runs for every slot a wave looks at.
                slot = slots[index]
                expiry = slot.expiry
                if (
                    slot.status == "released"
                    and (expiry is None or expiry >= earliest)
                    and (country is None or country not in slot.barred_countries)
                ):
                    bins.append(index)
                    total += units
                    one_lot = one_lot and slot.lot_id == lot_id
        if one_lot:
            if total:
                yield total, bins
        else:
            # Lots with equal dates: the earlier receipt goes first, then the lower lot id.
            bins.sort(key=lambda i: _RECEIPT_ORDER(slots[i]))
            for _, group in groupby(bins, lambda i: slots[i].lot_id):
                lot_bins = list(group)
                yield sum(left[i] for i in lot_bins), lot_bins


def _take(
    product: _ProductStock, bins: list[int], quantity: int, line_id: int, out: list[Allocation]
) -> None:
    """Take `quantity` units of one lot from its eligible `bins`, in the picker's order.

    A bin that covers what is still needed is used alone, the earliest on the walk; otherwise
    the fullest bin is emptied first (the earliest on the walk among equals), so the picker
    makes the fewest stops.
    """
    slots, left = product.slots, product.left
    if len(bins) > 1:
        bins = sorted(bins, key=lambda i: (slots[i].walk_sequence, slots[i].location_id))
    while quantity:
        index = next((i for i in bins if left[i] >= quantity), -1)
        if index < 0:
            index = max(bins, key=left.__getitem__)
        units = min(left[index], quantity)
        left[index] -= units
        quantity -= units
        slot = slots[index]
        out.append(Allocation(line_id, slot.lot_id, slot.location_id, units))


def _shortfall(
    line: LineDemand,
    product: _ProductStock | None,
    missing: int,
    earliest: date,
    split_would_fill: bool,
) -> Shortfall:
    """Why `missing` units of `line` found no stock, with the ineligible units seen."""
    if product is None:
        return Shortfall(line.line_id, missing, "no_stock")
    held, short_dated, barred = product.ineligible(earliest, line.country)
    reason: ShortReason
    if split_would_fill:
        reason = "split_not_allowed"
    elif not (held or short_dated or barred):
        reason = "no_stock"
    elif held >= short_dated and held >= barred:
        reason = "only_held_stock"
    elif short_dated >= barred:
        reason = "only_short_dated_stock"
    else:
        reason = "barred_for_country"
    return Shortfall(line.line_id, missing, reason, held, short_dated, barred)


def _merged(allocations: list[Allocation]) -> list[Allocation]:
    """One allocation per (lot, bin) of a line, in the order first taken.

    Two takes from one (lot, bin) happen only when the stock lists that bin twice.
    """
    units: dict[tuple[int, int], int] = {}
    for allocation in allocations:
        key = (allocation.lot_id, allocation.location_id)
        units[key] = units.get(key, 0) + allocation.quantity
    if len(units) == len(allocations):
        return allocations
    line_id = allocations[0].line_id
    return [Allocation(line_id, lot, location, n) for (lot, location), n in units.items()]


def allocate_wave(lines: Sequence[LineDemand], stock: Iterable[StockSlot]) -> WavePlan:
    """Allocate a wave's lines, earliest first, to lots in FEFO (dated) or FIFO order.

    A line takes whole lots in order until filled; a line that may not split takes the first
    lot that covers it, else the largest. No slot gives more than its free units over the
    whole wave. Stock listed product by product, in FEFO order, is read fastest. Raises
    ValueError for a line of fewer than one unit.
    """
    by_product: dict[int, list[StockSlot]] = {}
    for product_id, group in groupby(stock, _PRODUCT):
        bucket = by_product.get(product_id)
        if bucket is None:
            by_product[product_id] = list(group)
        else:
            bucket.extend(group)
    products: dict[int, _ProductStock] = {}
    earliest_by_need: dict[tuple[date, int], date] = {}
    allocations: list[Allocation] = []
    shortfalls: list[Shortfall] = []

    for line in lines:
        missing = line.quantity
        if missing < 1:
            raise ValueError(f"Line {line.line_id} asks for {missing} units.")
        need = (line.ship_date, line.min_shelf_life_days)
        earliest = earliest_by_need.get(need)
        if earliest is None:
            earliest = earliest_by_need[need] = _earliest_expiry(line)
        product = products.get(line.product_id)
        if product is None:
            bucket = by_product.pop(line.product_id, None)
            if bucket is None:
                shortfalls.append(Shortfall(line.line_id, missing, "no_stock"))
                continue
            product = products[line.product_id] = _ProductStock(bucket)

        taken: list[Allocation] = []
        split_would_fill = False
        if line.allow_split:
            for total, bins in product.lots(line, earliest):
                units = min(total, missing)
                _take(product, bins, units, line.line_id, taken)
                missing -= units
                if not missing:
                    break
        else:
            best: list[int] = []
            best_total = seen = 0
            for total, bins in product.lots(line, earliest):
                if total >= missing:
                    best, best_total = bins, total
                    break
                seen += total
                if total > best_total:
                    best, best_total = bins, total
            units = min(best_total, missing)
            if units:
                _take(product, best, units, line.line_id, taken)
            # Short although the eligible lots together held enough: only the split is missing.
            split_would_fill = units < missing <= seen
            missing -= units
        allocations.extend(taken if len(taken) < 2 else _merged(taken))
        if missing:
            shortfalls.append(_shortfall(line, product, missing, earliest, split_would_fill))
    return WavePlan(tuple(allocations), tuple(shortfalls))


def substitution_refusal(
    line: LineDemand, expected: StockSlot, candidate: StockSlot, quantity: int
) -> str | None:
    """Why the picker may not pick `quantity` units of `candidate` instead of `expected`, or None.

    The picker stands at `expected`'s bin and scanned another lot. It may stand in only if it
    is the same product in the same bin, eligible for the line, has the units, and (for a dated
    line) does not expire later, so a substitution never breaks FEFO.
    """
    if candidate.product_id != expected.product_id:
        return "other_product"
    if candidate.location_id != expected.location_id:
        return "other_location"
    verdict = eligibility(candidate, line)
    if verdict != "eligible":
        return f"not_eligible_{verdict}"
    if (
        line.dated
        and expected.expiry is not None
        and (candidate.expiry is None or candidate.expiry > expected.expiry)
    ):
        return "later_expiry"
    if candidate.free < quantity:
        return "insufficient_free"
    return None
