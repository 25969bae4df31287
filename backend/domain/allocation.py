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
from itertools import chain, groupby
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
    """Free units of the product on hold, in quarantine or recalled; likewise the next two."""
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


def eligibility(slot: StockSlot, line: LineDemand) -> Eligibility:
    """Whether `slot` may fill `line`, else why not (checked as held, short-dated, barred).

    Hold, quarantine and recalled all count as held. A lot expiring on the ship date may still
    ship that day when the line asks for no minimum shelf life.
    """
    if slot.status != "released":
        return "held"
    if slot.expiry is not None and slot.expiry < _earliest_expiry(line):
        return "short_dated"
    if line.country is not None and line.country in slot.barred_countries:
        return "barred"
    return "eligible"


_EXPIRY = attrgetter("expiry")
_RECEIVED = attrgetter("received_at")
_RECEIPT_ORDER = attrgetter("received_at", "lot_id")
_PRODUCT = attrgetter("product_id")


class _ProductStock:
    """One product's stock during a wave, sorted once and drawn down line by line.

    `slots` are in FEFO order: dated slots by expiry, then undated slots by receipt. The sort
    key is one attribute, not a tuple: a tuple per slot would cost more than the rest of the
    wave, so slots with equal dates are put in lot order only when a line reaches them.
    `taken` counts the units allocated so far from each slot. Held and empty slots stay in
    place: lines pass over them.
    """

    __slots__ = (
        "barring",
        "dated_count",
        "fefo_start",
        "fifo",
        "fifo_start",
        "held",
        "slots",
        "taken",
    )

    def __init__(self, slots: list[StockSlot]) -> None:
        try:
            slots.sort(key=_EXPIRY)
        except TypeError:
            # None compares with nothing: some slots have no expiry. Undated go after dated.
            if list(map(_EXPIRY, slots)).count(None) == len(slots):
                slots.sort(key=_RECEIVED)
                self.dated_count = 0
            else:
                dated = sorted((slot for slot in slots if slot.expiry is not None), key=_EXPIRY)
                undated = (slot for slot in slots if slot.expiry is None)
                slots = dated + sorted(undated, key=_RECEIVED)
                self.dated_count = len(dated)
        else:
            # The sort compared every slot (when there were two or more): all have an expiry.
            self.dated_count = 0 if slots[0].expiry is None else len(slots)
        self.slots = slots
        self.taken = [0] * len(slots)
        self.fefo_start = 0
        self.fifo: list[int] | None = None
        self.fifo_start = 0
        # Read on the product's first shortfall: units on hold never change during a wave.
        self.held: int | None = None
        self.barring: list[int] = []

    def fill(self, line: LineDemand, earliest_expiry: date) -> tuple[list[Allocation], int, bool]:
        """Allocate `line`: its allocations, the units missing, and whether a split would fill."""
        allocations: list[Allocation] = []
        missing = line.quantity
        if line.allow_split:
            for total, bins, units in self._lots(line, earliest_expiry):
                given = min(total, missing)
                self._take(bins, units, given, line.line_id, allocations)
                missing -= given
                if not missing:
                    break
            return allocations, missing, False
        best_bins: list[int] = []
        best_units: list[int] = []
        best_total = seen = 0
        for total, bins, units in self._lots(line, earliest_expiry):
            if total >= missing:
                best_bins, best_units, best_total = bins, units, total
                break
            seen += total
            if total > best_total:
                best_bins, best_units, best_total = bins, units, total
        given = min(best_total, missing)
        if given:
            self._take(best_bins, best_units, given, line.line_id, allocations)
        # Short although the eligible lots together held enough: only the split is missing.
        return allocations, missing - given, given < missing <= seen

    def _lots(
        self, line: LineDemand, earliest_expiry: date
    ) -> Iterator[tuple[int, list[int], list[int]]]:
        """The lots with units eligible for `line`, in its order (see `_lots_from`)."""
        if line.dated or not self.dated_count:
            order: Sequence[int] = range(len(self.slots))
            start = self.fefo_start = self._usable_from(order, self.fefo_start)
            if start < self.dated_count and _EXPIRY(self.slots[start]) < earliest_expiry:
                # Slots expiring before `earliest_expiry` are short-dated for this line.
                start = self._first_fresh(earliest_expiry, start)
            dated_count = self.dated_count
        else:
            if self.fifo is None:
                slots = self.slots
                self.fifo = sorted(range(len(slots)), key=lambda i: _RECEIPT_ORDER(slots[i]))
            order = self.fifo
            start = self.fifo_start = self._usable_from(order, self.fifo_start)
            dated_count = 0
        return self._lots_from(order, start, dated_count, earliest_expiry, line.country)

    def _first_fresh(self, earliest_expiry: date, start: int = 0) -> int:
        """The first slot from `start` on expiring on or after `earliest_expiry`, or undated."""
        return bisect_left(self.slots, earliest_expiry, start, self.dated_count, key=_EXPIRY)

    def _usable_from(self, order: Sequence[int], start: int) -> int:
        """The first position from `start` on whose slot is released and has units left."""
        slots, taken = self.slots, self.taken
        while start < len(order):
            slot = slots[order[start]]
            if slot.free > taken[order[start]] and slot.status == "released":
                break
            start += 1
        return start

    def _lots_from(
        self,
        order: Sequence[int],
        start: int,
        dated_count: int,
        earliest: date,
        country: str | None,
    ) -> Iterator[tuple[int, list[int], list[int]]]:
        """Each lot from position `start` of `order` with eligible units: how many in all, and
        its eligible slots with the units left in each.

        `order` is sorted by expiry up to `dated_count`, by receipt after; a run of slots with
        equal sort keys is read whole and split into lots in receipt and lot id order.
        """
        slots, taken = self.slots, self.taken
        end = len(order)
        position = start
        while position < end:
            sort_key = _EXPIRY if position < dated_count else _RECEIVED
            index = order[position]
            slot = slots[index]
            run_key = sort_key(slot)
            lot_id = slot.lot_id
            bins: list[int] = []
            units: list[int] = []
            one_lot = True
            while True:
                left = slot.free - taken[index]
                # `eligibility`, inlined: this runs for every slot a wave looks at.
                if (
                    left > 0
                    and slot.status == "released"
                    and (slot.expiry is None or slot.expiry >= earliest)
                    and (country is None or country not in slot.barred_countries)
                ):
                    bins.append(index)
                    units.append(left)
                    one_lot = one_lot and slot.lot_id == lot_id
                position += 1
                if position == end:
                    break
                index = order[position]
                slot = slots[index]
                if sort_key(slot) != run_key:
                    break
            if one_lot:
                if bins:
                    yield sum(units), bins, units
                continue
            # Several lots share the date: the earlier receipt goes first, then the lower id.
            left_in = dict(zip(bins, units, strict=True))
            bins.sort(key=lambda i: _RECEIPT_ORDER(slots[i]))
            for _, group in groupby(bins, lambda i: slots[i].lot_id):
                lot_bins = list(group)
                lot_units = [left_in[i] for i in lot_bins]
                yield sum(lot_units), lot_bins, lot_units

    def _take(
        self, bins: list[int], units: list[int], quantity: int, line_id: int, out: list[Allocation]
    ) -> None:
        """Take `quantity` of one lot's eligible `units` in `bins`, in the picker's order."""
        slots, taken = self.slots, self.taken
        bins, units = list(bins), list(units)
        while quantity:
            k = 0
            if len(bins) > 1:
                k = min(
                    range(len(bins)), key=lambda j: self._preference(bins[j], units[j], quantity)
                )
            # Each bin is visited once: it covers the rest, or it is emptied.
            index, picked = bins.pop(k), min(units.pop(k), quantity)
            quantity -= picked
            taken[index] += picked
            slot = slots[index]
            out.append(Allocation(line_id, slot.lot_id, slot.location_id, picked))

    def _preference(self, index: int, left: int, quantity: int) -> tuple[bool, int, int, int]:
        """How much the picker prefers slot `index` with `left` units when `quantity` are due.

        A bin that covers the quantity alone comes first, the earliest on the walk; otherwise
        the fullest bin (the earliest on the walk among equals), so the picker makes the fewest
        stops.
        """
        slot = self.slots[index]
        covers = left >= quantity
        return not covers, 0 if covers else -left, slot.walk_sequence, slot.location_id

    def shortfall(
        self, line: LineDemand, missing: int, earliest_expiry: date, split_would_fill: bool
    ) -> Shortfall:
        """Why `missing` units of `line` found no stock, with the ineligible units left.

        Counted as `eligibility` would, from what the sort already knows: the short-dated slots
        are the ones before the first fresh one, and only a few slots carry bars.
        """
        slots, taken = self.slots, self.taken
        if self.held is None:
            self.held = sum(max(slot.free, 0) for slot in slots if slot.status != "released")
            self.barring = [
                index
                for index, slot in enumerate(slots)
                if slot.barred_countries and slot.status == "released"
            ]
        fresh = self._first_fresh(earliest_expiry)
        short_dated = sum(
            max(slots[index].free - taken[index], 0)
            for index in range(fresh)
            if slots[index].status == "released"
        )
        barred = sum(
            max(slots[index].free - taken[index], 0)
            for index in self.barring
            if index >= fresh and line.country in slots[index].barred_countries
        )
        held = self.held
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
    stock_by_product: dict[int, list[StockSlot]] = {}
    for product_id, group in groupby(stock, _PRODUCT):
        slots = stock_by_product.get(product_id)
        if slots is None:
            stock_by_product[product_id] = list(group)
        else:
            slots.extend(group)
    # Lines of different products never compete, so each product's lines are allocated
    # together, in wave order, while its stock is in the CPU's cache.
    lines_by_product: dict[int, list[int]] = {}
    for position, line in enumerate(lines):
        if line.quantity < 1:
            raise ValueError(f"Line {line.line_id} asks for {line.quantity} units.")
        lines_by_product.setdefault(line.product_id, []).append(position)

    earliest_by_need: dict[tuple[date, int], date] = {}
    allocated: list[list[Allocation]] = [[] for _ in lines]
    short: list[Shortfall | None] = [None] * len(lines)
    for product_id, positions in lines_by_product.items():
        slots = stock_by_product.get(product_id)
        if slots is None:
            for position in positions:
                line = lines[position]
                short[position] = Shortfall(line.line_id, line.quantity, "no_stock")
            continue
        product = _ProductStock(slots)
        for position in positions:
            line = lines[position]
            need = (line.ship_date, line.min_shelf_life_days)
            earliest = earliest_by_need.get(need)
            if earliest is None:
                earliest = earliest_by_need[need] = _earliest_expiry(line)
            allocations, missing, split_would_fill = product.fill(line, earliest)
            allocated[position] = allocations if len(allocations) < 2 else _merged(allocations)
            if missing:
                short[position] = product.shortfall(line, missing, earliest, split_would_fill)
    return WavePlan(
        tuple(chain.from_iterable(allocated)),
        tuple(shortfall for shortfall in short if shortfall is not None),
    )


_REFUSED_AS: dict[Eligibility, str] = {
    "held": "not_eligible_held",
    "short_dated": "not_eligible_short_dated",
    "barred": "not_eligible_barred",
}


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
        return _REFUSED_AS[verdict]
    if (
        line.dated
        and expected.expiry is not None
        and (candidate.expiry is None or candidate.expiry > expected.expiry)
    ):
        return "later_expiry"
    if candidate.free < quantity:
        return "insufficient_free"
    return None
