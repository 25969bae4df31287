"""Allocation: lot order (FEFO/FIFO), eligibility, bin order, shortfalls and substitution."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.allocation import (
    Allocation,
    LineDemand,
    Shortfall,
    StockSlot,
    WavePlan,
    allocate_wave,
    eligibility,
    substitution_refusal,
)

SHIP = date(2026, 6, 1)
MORNING = datetime(2026, 1, 5, 8, 0)
HELD_STATUSES = ["hold", "quarantine", "recalled"]


def days(offset: int) -> date:
    """The date `offset` days after the ship date."""
    return SHIP + timedelta(days=offset)


def demand(
    quantity: int,
    *,
    line_id: int = 1,
    product_id: int = 1,
    dated: bool = True,
    min_shelf_life_days: int = 0,
    country: str | None = "DE",
    allow_split: bool = True,
) -> LineDemand:
    return LineDemand(
        line_id=line_id,
        product_id=product_id,
        quantity=quantity,
        dated=dated,
        ship_date=SHIP,
        min_shelf_life_days=min_shelf_life_days,
        country=country,
        allow_split=allow_split,
    )


def slot(
    lot_id: int,
    free: int = 10,
    *,
    location_id: int | None = None,
    product_id: int = 1,
    status: str = "released",
    expiry: date | None = days(100),
    received_day: int = 0,
    walk_sequence: int | None = None,
    barred: frozenset[str] = frozenset(),
) -> StockSlot:
    """A slot of `lot_id`, by default alone in bin lot_id * 10, that bin's place on the walk."""
    location_id = lot_id * 10 if location_id is None else location_id
    return StockSlot(
        lot_id=lot_id,
        location_id=location_id,
        product_id=product_id,
        status=status,
        expiry=expiry,
        received_at=MORNING + timedelta(days=received_day),
        free=free,
        walk_sequence=location_id if walk_sequence is None else walk_sequence,
        barred_countries=barred,
    )


def taken(plan: WavePlan) -> list[tuple[int, int]]:
    """(lot, units) of each allocation, in order."""
    return [(allocation.lot_id, allocation.quantity) for allocation in plan.allocations]


# Lot order


def test_fefo_picks_the_soonest_expiring_eligible_lot():
    stock = [
        slot(1, expiry=days(300)),
        slot(2, expiry=days(100)),
        slot(3, expiry=days(20), status="hold"),
        slot(4, expiry=days(200)),
    ]
    plan = allocate_wave([demand(6)], stock)
    assert plan == WavePlan((Allocation(1, 2, 20, 6),), ())


def test_fefo_moves_to_the_next_lot_only_when_one_runs_out():
    stock = [slot(1, 4, expiry=days(50)), slot(2, 10, expiry=days(60)), slot(3, expiry=days(70))]
    assert taken(allocate_wave([demand(9)], stock)) == [(1, 4), (2, 5)]


def test_equal_expiry_goes_by_receipt_then_lot_id():
    stock = [
        slot(5, 2, expiry=days(40), received_day=3),
        slot(4, 2, expiry=days(40), received_day=1),
        slot(3, 2, expiry=days(40), received_day=3),
    ]
    assert taken(allocate_wave([demand(6)], stock)) == [(4, 2), (3, 2), (5, 2)]


def test_lots_without_expiry_come_after_dated_lots():
    stock = [slot(1, expiry=None, received_day=0), slot(2, 5, expiry=days(500), received_day=9)]
    assert taken(allocate_wave([demand(8)], stock)) == [(2, 5), (1, 3)]


def test_fifo_by_receipt_for_undated_products():
    stock = [
        slot(1, 3, expiry=None, received_day=5),
        slot(2, 3, expiry=None, received_day=2),
        slot(3, 3, expiry=None, received_day=2),
        slot(4, 3, expiry=None, received_day=9),
    ]
    assert taken(allocate_wave([demand(8, dated=False)], stock)) == [(2, 3), (3, 3), (1, 2)]


def test_fifo_line_goes_by_receipt_yet_still_keeps_shelf_life():
    stock = [
        slot(1, expiry=days(90), received_day=3),
        slot(2, expiry=days(30), received_day=1),
        slot(3, expiry=days(5), received_day=0),
    ]
    line = demand(12, dated=False, min_shelf_life_days=10)
    assert taken(allocate_wave([line], stock)) == [(2, 10), (1, 2)]


# Eligibility


@pytest.mark.parametrize("status", HELD_STATUSES)
def test_held_quarantined_and_recalled_lots_are_never_allocated(status):
    stock = [slot(1, 50, status=status, expiry=days(10)), slot(2, 3, expiry=days(90))]
    plan = allocate_wave([demand(5)], stock)
    assert taken(plan) == [(2, 3)]
    assert plan.shortfalls == (Shortfall(1, 2, "only_held_stock", held=50),)
    assert eligibility(stock[0], demand(5)) == "held"


def test_min_shelf_life_is_counted_at_the_ship_date():
    stock = [slot(1, expiry=days(29)), slot(2, expiry=days(30)), slot(3, expiry=days(31))]
    assert taken(allocate_wave([demand(4, min_shelf_life_days=30)], stock)) == [(2, 4)]
    assert eligibility(stock[0], demand(4, min_shelf_life_days=30)) == "short_dated"
    assert eligibility(stock[1], demand(4, min_shelf_life_days=30)) == "eligible"


def test_lot_expiring_on_the_ship_date_still_ships_that_day():
    on_the_day, day_before = slot(1, expiry=days(0)), slot(2, expiry=days(-1))
    assert eligibility(on_the_day, demand(1)) == "eligible"
    assert eligibility(day_before, demand(1)) == "short_dated"
    assert taken(allocate_wave([demand(4)], [day_before, on_the_day])) == [(1, 4)]


def test_lot_expiring_on_the_ship_date_is_short_dated_for_any_shelf_life():
    assert eligibility(slot(1, expiry=days(0)), demand(1, min_shelf_life_days=1)) == "short_dated"


def test_lot_without_a_date_is_never_short_dated():
    assert eligibility(slot(1, expiry=None), demand(1, min_shelf_life_days=9999)) == "eligible"


def test_barred_country_lot_is_skipped_for_that_country_only():
    stock = [slot(1, expiry=days(10), barred=frozenset({"US"})), slot(2, expiry=days(20))]
    assert taken(allocate_wave([demand(3, country="US")], stock)) == [(2, 3)]
    assert taken(allocate_wave([demand(3, country="FR")], stock)) == [(1, 3)]
    assert taken(allocate_wave([demand(3, country=None)], stock)) == [(1, 3)]


def test_eligibility_reports_held_before_short_dated_before_barred():
    line = demand(1, country="US", min_shelf_life_days=10)
    everything_wrong = slot(1, status="hold", expiry=days(1), barred=frozenset({"US"}))
    assert eligibility(everything_wrong, line) == "held"
    assert eligibility(replace(everything_wrong, status="released"), line) == "short_dated"
    assert eligibility(replace(everything_wrong, status="released", expiry=days(10)), line) == (
        "barred"
    )


# Lines that may not split


def test_unsplit_line_takes_the_first_lot_that_covers_it():
    stock = [slot(1, 5, expiry=days(10)), slot(2, 8, expiry=days(20)), slot(3, 30, expiry=days(30))]
    assert taken(allocate_wave([demand(8, allow_split=False)], stock)) == [(2, 8)]


def test_unsplit_line_may_span_bins_of_its_lot():
    stock = [slot(1, 5, location_id=11), slot(1, 5, location_id=12), slot(2, 3, expiry=days(1))]
    plan = allocate_wave([demand(8, allow_split=False)], stock)
    assert plan == WavePlan((Allocation(1, 1, 11, 5), Allocation(1, 1, 12, 3)), ())


def test_unsplit_line_short_of_any_one_lot_reports_split_not_allowed():
    # The other lot holds exactly the 4 units still missing.
    stock = [slot(1, 4, expiry=days(10)), slot(2, 6, expiry=days(20))]
    plan = allocate_wave([demand(10, allow_split=False)], stock)
    assert taken(plan) == [(2, 6)]
    assert plan.shortfalls == (Shortfall(1, 4, "split_not_allowed"),)


def test_unsplit_line_takes_the_earliest_of_equally_large_lots():
    stock = [slot(1, 6, expiry=days(30)), slot(2, 6, expiry=days(10)), slot(3, 1, expiry=days(5))]
    plan = allocate_wave([demand(10, allow_split=False)], stock)
    assert taken(plan) == [(2, 6)]
    assert plan.shortfalls == (Shortfall(1, 4, "split_not_allowed"),)


def test_unsplit_line_without_enough_stock_anywhere_gives_the_usual_reason():
    stock = [slot(1, 4, expiry=days(10)), slot(2, 6, expiry=days(20)), slot(3, 20, status="hold")]
    plan = allocate_wave([demand(12, allow_split=False)], stock)
    assert taken(plan) == [(2, 6)]
    assert plan.shortfalls == (Shortfall(1, 6, "only_held_stock", held=20),)


# Shortfalls


@pytest.mark.parametrize(
    ("stock", "expected"),
    [
        ([], Shortfall(1, 10, "no_stock")),
        ([slot(1, 0), slot(2, 0, status="hold", expiry=days(-5))], Shortfall(1, 10, "no_stock")),
        (
            [slot(1, 7, status="quarantine"), slot(2, 3, expiry=days(-1))],
            Shortfall(1, 10, "only_held_stock", held=7, short_dated=3),
        ),
        (
            [slot(1, 2, status="recalled"), slot(2, 3, expiry=days(-1)), slot(3, 4, expiry=None)],
            Shortfall(1, 6, "only_short_dated_stock", held=2, short_dated=3),
        ),
        (
            [slot(1, 5, barred=frozenset({"DE"})), slot(2, 4, expiry=days(-9))],
            Shortfall(1, 10, "barred_for_country", short_dated=4, barred=5),
        ),
        (
            [slot(1, 3, status="hold"), slot(2, 3, expiry=days(-1))],
            Shortfall(1, 10, "only_held_stock", held=3, short_dated=3),
        ),
        (
            [slot(1, 3, barred=frozenset({"DE"})), slot(2, 3, expiry=days(-1))],
            Shortfall(1, 10, "only_short_dated_stock", short_dated=3, barred=3),
        ),
    ],
    ids=[
        "no_slots",
        "only_empty_slots",
        "held",
        "short_dated",
        "barred",
        "held_ties_short_dated",
        "short_dated_ties_barred",
    ],
)
def test_shortfall_names_the_largest_kind_of_ineligible_stock(stock, expected):
    assert allocate_wave([demand(10)], stock).shortfalls == (expected,)


def test_shortfall_counts_what_earlier_lines_left():
    stock = [slot(1, 10, barred=frozenset({"US"}))]
    lines = [demand(6, line_id=1, country="DE"), demand(5, line_id=2, country="US")]
    plan = allocate_wave(lines, stock)
    assert plan.shortfalls == (Shortfall(2, 5, "barred_for_country", barred=4),)


def test_a_line_of_a_product_nobody_stocks_is_short_of_everything():
    plan = allocate_wave([demand(4, product_id=7)], [slot(1, 50, product_id=1)])
    assert plan == WavePlan((), (Shortfall(1, 4, "no_stock"),))


def test_split_line_never_blames_the_split():
    plan = allocate_wave([demand(10)], [slot(1, 4), slot(2, 3, expiry=days(200))])
    assert taken(plan) == [(1, 4), (2, 3)]
    assert plan.shortfalls == (Shortfall(1, 3, "no_stock"),)


def test_line_of_no_units_is_refused():
    with pytest.raises(ValueError):
        allocate_wave([demand(0)], [slot(1)])


# Bins within a lot


def test_covering_bin_earliest_on_the_walk_is_used_alone():
    stock = [
        slot(1, 10, location_id=31, walk_sequence=5),
        slot(1, 10, location_id=32, walk_sequence=2),
        slot(1, 3, location_id=33, walk_sequence=1),
    ]
    assert allocate_wave([demand(8)], stock).allocations == (Allocation(1, 1, 32, 8),)


def test_covering_bins_tied_on_the_walk_go_by_location_id():
    stock = [
        slot(1, 9, location_id=42, walk_sequence=1),
        slot(1, 9, location_id=41, walk_sequence=1),
    ]
    assert allocate_wave([demand(8)], stock).allocations == (Allocation(1, 1, 41, 8),)


def test_without_a_covering_bin_the_fullest_goes_first_for_fewest_stops():
    stock = [
        slot(1, 5, location_id=51, walk_sequence=1),
        slot(1, 8, location_id=52, walk_sequence=9),
        slot(1, 4, location_id=53, walk_sequence=2),
        slot(1, 8, location_id=54, walk_sequence=10),
    ]
    plan = allocate_wave([demand(20)], stock)
    # 52 and 54 tie on units, 52 comes first on the walk; then 51 alone covers the last 4.
    assert plan.allocations == (
        Allocation(1, 1, 52, 8),
        Allocation(1, 1, 54, 8),
        Allocation(1, 1, 51, 4),
    )


def test_a_bin_listed_twice_gives_one_allocation():
    stock = [slot(1, 3, location_id=11), slot(1, 4, location_id=11)]
    assert allocate_wave([demand(6)], stock).allocations == (Allocation(1, 1, 11, 6),)


# A wave


def test_two_lines_compete_for_the_last_units_in_wave_order():
    stock = [slot(1, 10)]
    first, second = demand(7, line_id=1), demand(7, line_id=2)
    plan = allocate_wave([first, second], stock)
    assert plan == WavePlan(
        (Allocation(1, 1, 10, 7), Allocation(2, 1, 10, 3)), (Shortfall(2, 4, "no_stock"),)
    )
    plan = allocate_wave([second, first], stock)
    assert plan == WavePlan(
        (Allocation(2, 1, 10, 7), Allocation(1, 1, 10, 3)), (Shortfall(1, 4, "no_stock"),)
    )


def test_allocations_and_shortfalls_come_in_line_order_across_products():
    stock = [slot(1, 5, product_id=1), slot(2, 5, product_id=2)]
    lines = [
        demand(2, line_id=1, product_id=2),
        demand(9, line_id=2, product_id=1),
        demand(4, line_id=3, product_id=2),
        demand(1, line_id=4, product_id=9),
        demand(1, line_id=5, product_id=1),
    ]
    plan = allocate_wave(lines, stock)
    assert [allocation.line_id for allocation in plan.allocations] == [1, 2, 3]
    assert [shortfall.line_id for shortfall in plan.shortfalls] == [2, 3, 4, 5]


# Substitution at the bin


def test_substitution_allowed_for_an_eligible_lot_no_later_in_fefo():
    expected = slot(1, 10, location_id=70, expiry=days(50))
    for expiry in (days(50), days(9)):
        candidate = slot(2, 5, location_id=70, expiry=expiry)
        assert substitution_refusal(demand(5), expected, candidate, 5) is None


@pytest.mark.parametrize(
    ("changes", "line", "code"),
    [
        ({"product_id": 2}, demand(5), "other_product"),
        ({"location_id": 71}, demand(5), "other_location"),
        ({"status": "quarantine"}, demand(5), "not_eligible_held"),
        ({"expiry": days(20)}, demand(5, min_shelf_life_days=30), "not_eligible_short_dated"),
        ({"barred_countries": frozenset({"DE"})}, demand(5), "not_eligible_barred"),
        ({"expiry": days(51)}, demand(5), "later_expiry"),
        ({"expiry": None}, demand(5), "later_expiry"),
        ({"free": 4}, demand(5), "insufficient_free"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_substitution_refusals(changes: dict[str, Any], line: LineDemand, code: str):
    expected = slot(1, 10, location_id=70, expiry=days(50))
    candidate = replace(slot(2, 10, location_id=70, expiry=days(40)), **changes)
    assert substitution_refusal(line, expected, candidate, 5) == code


def test_fifo_line_may_substitute_a_later_expiry():
    expected = slot(1, location_id=70, expiry=days(50))
    later = slot(2, location_id=70, expiry=days(80))
    assert substitution_refusal(demand(5), expected, later, 5) == "later_expiry"
    assert substitution_refusal(demand(5, dated=False), expected, later, 5) is None


def test_dated_lot_may_replace_an_undated_one():
    expected = slot(1, location_id=70, expiry=None)
    assert substitution_refusal(demand(5), expected, slot(2, location_id=70), 5) is None


# Properties over random waves

COUNTRIES = ["DE", "FR", "US"]


# A lot: status, expiry, hour of receipt, barred countries, and its bins as
# {location: (free units, walk sequence)}.
lot_fields = st.tuples(
    st.sampled_from(["released", "released", "released", *HELD_STATUSES]),
    st.none() | st.integers(-3, 12).map(days),
    st.integers(0, 3),
    st.sampled_from([frozenset(), frozenset({"DE"}), frozenset({"US"})]),
    st.dictionaries(
        st.integers(1, 9), st.tuples(st.integers(0, 12), st.integers(0, 3)), min_size=1, max_size=3
    ),
)
# A line's fields after its id, as LineDemand takes them.
line_fields = st.tuples(
    st.integers(1, 3),
    st.integers(1, 20),
    st.booleans(),
    st.integers(0, 2).map(days),
    st.integers(0, 8),
    st.none() | st.sampled_from(COUNTRIES),
    st.booleans(),
)


@st.composite
def waves(draw: st.DrawFn) -> tuple[list[LineDemand], list[StockSlot]]:
    """Up to 10 lines for products 1-3 over up to 6 lots of each of products 1-2, in any order.

    Dates, receipts and walk places come from small ranges so that ties happen.
    """
    stock: list[StockSlot] = []
    products = draw(st.lists(st.lists(lot_fields, max_size=6), min_size=2, max_size=2))
    lot_ids = iter(range(1, 100))
    for product_id, product_lots in enumerate(products, start=1):
        for status, expiry, hour, barred, bins in product_lots:
            lot_id = next(lot_ids)
            received_at = MORNING + timedelta(hours=hour)
            stock += [
                StockSlot(
                    lot_id, location_id, product_id, status, expiry, received_at, free, walk, barred
                )
                for location_id, (free, walk) in bins.items()
            ]
    draw(st.randoms(use_true_random=False)).shuffle(stock)
    wave = [
        LineDemand(line_id, *fields)
        for line_id, fields in enumerate(draw(st.lists(line_fields, max_size=10)), start=1)
    ]
    return wave, stock


def lot_order(line: LineDemand, slot: StockSlot) -> tuple[Any, ...]:
    """The place of `slot`'s lot in the line's order: FEFO for dated lines, FIFO otherwise."""
    if line.dated:
        return (slot.expiry is None, slot.expiry or date.min, slot.received_at, slot.lot_id)
    return (slot.received_at, slot.lot_id)


def bin_of(allocation: Allocation) -> tuple[int, int]:
    return allocation.lot_id, allocation.location_id


def replay(
    lines: list[LineDemand], stock: list[StockSlot], plan: WavePlan
) -> list[tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]]:
    """For each line, the free units of every (lot, bin) just before it and just after it."""
    left = {(s.lot_id, s.location_id): s.free for s in stock}
    by_line = defaultdict(list)
    for allocation in plan.allocations:
        by_line[allocation.line_id].append(allocation)
    states = []
    for line in lines:
        before = dict(left)
        for allocation in by_line[line.line_id]:
            left[bin_of(allocation)] -= allocation.quantity
        states.append((before, dict(left)))
    return states


def eligible_units(
    line: LineDemand, stock: list[StockSlot], left: dict[tuple[int, int], int]
) -> Counter[int]:
    """Free units eligible for `line` in `left`, by lot."""
    units: Counter[int] = Counter()
    for s in stock:
        if s.product_id == line.product_id and eligibility(s, line) == "eligible":
            units[s.lot_id] += left[(s.lot_id, s.location_id)]
    return units


@settings(max_examples=200)
@given(waves())
def test_no_bin_gives_more_than_its_free_units_over_the_wave(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    free = {(s.lot_id, s.location_id): s.free for s in stock}
    allocated = Counter()
    for allocation in plan.allocations:
        assert allocation.quantity > 0
        allocated[bin_of(allocation)] += allocation.quantity
    assert all(units <= free[key] for key, units in allocated.items())


@settings(max_examples=200)
@given(waves())
def test_only_bins_of_the_lines_product_eligible_for_it_are_used(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    slots = {(s.lot_id, s.location_id): s for s in stock}
    line_by_id = {line.line_id: line for line in lines}
    for allocation in plan.allocations:
        used, line = slots[bin_of(allocation)], line_by_id[allocation.line_id]
        assert used.product_id == line.product_id
        assert eligibility(used, line) == "eligible"


@settings(max_examples=200)
@given(waves())
def test_every_unit_is_allocated_or_reported_short_once(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    allocated = Counter()
    for allocation in plan.allocations:
        allocated[allocation.line_id] += allocation.quantity
    short = {shortfall.line_id: shortfall.quantity for shortfall in plan.shortfalls}
    assert len(short) == len(plan.shortfalls)
    assert all(units > 0 for units in short.values())
    for line in lines:
        assert allocated[line.line_id] + short.get(line.line_id, 0) == line.quantity


@settings(max_examples=200)
@given(waves())
def test_output_is_in_line_order_with_one_allocation_per_lot_and_bin(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    position = {line.line_id: index for index, line in enumerate(lines)}
    allocation_lines = [position[allocation.line_id] for allocation in plan.allocations]
    assert allocation_lines == sorted(allocation_lines)
    shortfall_lines = [position[shortfall.line_id] for shortfall in plan.shortfalls]
    assert shortfall_lines == sorted(shortfall_lines)
    keys = [(allocation.line_id, *bin_of(allocation)) for allocation in plan.allocations]
    assert len(keys) == len(set(keys))


@settings(max_examples=200)
@given(waves())
def test_unsplit_line_takes_one_lot_the_first_that_covers_it_else_the_largest(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    for line, (before, _) in zip(lines, replay(lines, stock, plan), strict=True):
        if line.allow_split:
            continue
        used = {a.lot_id for a in plan.allocations if a.line_id == line.line_id}
        assert len(used) <= 1
        eligible = eligible_units(line, stock, before)
        first_slot = {s.lot_id: s for s in stock}
        in_order = sorted(
            (lot for lot in eligible if eligible[lot]),
            key=lambda lot: lot_order(line, first_slot[lot]),
        )
        covering = [lot for lot in in_order if eligible[lot] >= line.quantity]
        if covering:
            assert used == {covering[0]}
        elif in_order:
            assert used == {max(in_order, key=lambda lot: eligible[lot])}
        else:
            assert not used


@settings(max_examples=200)
@given(waves())
def test_split_line_empties_each_earlier_eligible_lot_before_using_a_later_one(wave):
    """For a line that may split, let L be the last lot (in its FEFO/FIFO order) it took from:
    every bin eligible for the line in a lot before L has no free units left just after the
    line, so none after the wave either, since later lines only take. And a line that is
    short leaves no unit eligible for it at all."""
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    short = {shortfall.line_id for shortfall in plan.shortfalls}
    for line, (_, after) in zip(lines, replay(lines, stock, plan), strict=True):
        if not line.allow_split:
            continue
        eligible = [
            s
            for s in stock
            if s.product_id == line.product_id and eligibility(s, line) == "eligible"
        ]
        used = {a.lot_id for a in plan.allocations if a.line_id == line.line_id}
        if line.line_id in short:
            assert all(after[(s.lot_id, s.location_id)] == 0 for s in eligible)
        if used:
            last = max(lot_order(line, s) for s in eligible if s.lot_id in used)
            earlier = [s for s in eligible if lot_order(line, s) < last]
            assert all(after[(s.lot_id, s.location_id)] == 0 for s in earlier)


@settings(max_examples=200)
@given(waves())
def test_shortfall_counts_ineligible_units_left_and_names_the_largest_kind(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    shortfalls = {shortfall.line_id: shortfall for shortfall in plan.shortfalls}
    for line, (before, after) in zip(lines, replay(lines, stock, plan), strict=True):
        shortfall = shortfalls.get(line.line_id)
        if shortfall is None:
            continue
        seen = Counter()
        for s in stock:
            if s.product_id == line.product_id:
                seen[eligibility(s, line)] += after[(s.lot_id, s.location_id)]
        assert (shortfall.held, shortfall.short_dated, shortfall.barred) == (
            seen["held"],
            seen["short_dated"],
            seen["barred"],
        )
        if (
            not line.allow_split
            and sum(eligible_units(line, stock, before).values()) >= line.quantity
        ):
            assert shortfall.reason == "split_not_allowed"
        elif seen["held"] + seen["short_dated"] + seen["barred"] == 0:
            assert shortfall.reason == "no_stock"
        else:
            reasons = [
                (seen["held"], "only_held_stock"),
                (seen["short_dated"], "only_short_dated_stock"),
                (seen["barred"], "barred_for_country"),
            ]
            largest = max(units for units, _ in reasons)
            assert shortfall.reason == next(r for units, r in reasons if units == largest)


def pickers_order(bins: dict[int, tuple[int, int]], quantity: int) -> dict[int, int]:
    """Units per location, by the rule: the covering bin earliest on the walk, else the fullest.

    `bins` maps location to (walk sequence, free units).
    """
    free = {location: units for location, (_, units) in bins.items()}
    picked: Counter[int] = Counter()
    while quantity:
        covering = [location for location in free if free[location] >= quantity]
        if covering:
            location = min(covering, key=lambda c: (bins[c][0], c))
        else:
            location = min((c for c in free if free[c]), key=lambda c: (-free[c], bins[c][0], c))
        units = min(free[location], quantity)
        free[location] -= units
        picked[location] += units
        quantity -= units
    return dict(picked)


@settings(max_examples=200)
@given(waves())
def test_bins_of_a_lot_are_taken_in_the_pickers_order(wave):
    lines, stock = wave
    plan = allocate_wave(lines, stock)
    for line, (before, _) in zip(lines, replay(lines, stock, plan), strict=True):
        per_lot: dict[int, dict[int, int]] = defaultdict(dict)
        for a in plan.allocations:
            if a.line_id == line.line_id:
                per_lot[a.lot_id][a.location_id] = a.quantity
        for lot_id, picked in per_lot.items():
            bins = {
                s.location_id: (s.walk_sequence, before[(s.lot_id, s.location_id)])
                for s in stock
                if s.lot_id == lot_id and eligibility(s, line) == "eligible"
            }
            assert picked == pickers_order(bins, sum(picked.values()))


@settings(max_examples=200)
@given(waves())
def test_a_wave_is_its_lines_allocated_one_after_another(wave):
    lines, stock = wave
    left = {(s.lot_id, s.location_id): s.free for s in stock}
    allocations: list[Allocation] = []
    shortfalls: list[Shortfall] = []
    for line in lines:
        alone = allocate_wave(
            [line], [replace(s, free=left[(s.lot_id, s.location_id)]) for s in stock]
        )
        allocations += alone.allocations
        shortfalls += alone.shortfalls
        for allocation in alone.allocations:
            left[bin_of(allocation)] -= allocation.quantity
    assert allocate_wave(lines, stock) == WavePlan(tuple(allocations), tuple(shortfalls))


@settings(max_examples=200)
@given(waves())
def test_plan_does_not_depend_on_the_order_stock_is_listed_in(wave):
    lines, stock = wave
    assert allocate_wave(lines, stock) == allocate_wave(lines, stock[::-1])
