"""Count variance: expected quantity rolled forward from the snapshot, the recount threshold,
accuracy per bin and per counter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.domain.counts import (
    BinMovement,
    CountedLine,
    RecountThreshold,
    accuracy,
    expected_quantity,
    line_variance,
    needs_recount,
)

DEFAULT = RecountThreshold(units=2, percent=5)


def test_expected_is_the_snapshot_when_nothing_moved():
    assert expected_quantity(10, [], start=100, counted_at=120) == 10


def test_a_pick_before_the_line_was_counted_lowers_expected_so_it_makes_no_variance():
    picked = [BinMovement(movement_id=105, quantity=-2)]
    expected = expected_quantity(10, picked, start=100, counted_at=110)
    assert expected == 8
    assert line_variance(expected, counted=8, threshold=DEFAULT).variance == 0


def test_movements_before_the_start_are_already_in_the_snapshot():
    earlier = [BinMovement(movement_id=90, quantity=-3), BinMovement(movement_id=100, quantity=5)]
    assert expected_quantity(10, earlier, start=100, counted_at=130) == 10


def test_movements_after_the_line_was_counted_do_not_change_what_was_expected_then():
    later = [BinMovement(movement_id=131, quantity=-4)]
    assert expected_quantity(10, later, start=100, counted_at=130) == 10


def test_a_movement_at_the_lines_own_position_counts():
    assert expected_quantity(0, [BinMovement(130, 6)], start=100, counted_at=130) == 6


def test_a_line_cannot_be_counted_before_its_task_started():
    with pytest.raises(ValueError):
        expected_quantity(1, [], start=100, counted_at=99)


@pytest.mark.parametrize(
    ("expected", "counted", "recount"),
    [
        (100, 97, False),  # 3 units but 3 %: within the percent
        (100, 94, True),  # 6 units and 6 %: both passed
        (10, 8, False),  # 20 % but only 2 units
        (10, 7, True),  # 3 units and 30 %
        (10, 13, True),  # a gain counts the same as a loss
        (0, 2, False),  # a found lot within the units
        (0, 3, True),  # a found lot past the units: any percent of nothing
        (5, 5, False),
    ],
)
def test_a_recount_needs_both_the_units_and_the_percent_passed(expected, counted, recount):
    assert needs_recount(expected, counted, DEFAULT) is recount


def test_line_variance_is_counted_minus_expected():
    line = line_variance(expected=12, counted=9, threshold=DEFAULT)
    assert (line.expected, line.counted, line.variance, line.recount) == (12, 9, -3, True)


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError):
        line_variance(3, -1, DEFAULT)


movements = st.lists(
    st.builds(
        BinMovement,
        movement_id=st.integers(min_value=1, max_value=1000),
        quantity=st.integers(min_value=-50, max_value=50).filter(bool),
    ),
    max_size=30,
)


@given(
    snapshot=st.integers(min_value=0, max_value=1000),
    moved=movements,
    start=st.integers(min_value=0, max_value=1000),
    offset=st.integers(min_value=0, max_value=1000),
)
def test_expected_equals_the_balance_replayed_at_the_lines_position(snapshot, moved, start, offset):
    counted_at = start + offset
    balance = snapshot
    for movement in sorted(moved, key=lambda m: m.movement_id):
        if start < movement.movement_id <= counted_at:
            balance += movement.quantity
    assert expected_quantity(snapshot, moved, start, counted_at) == balance


@given(
    snapshot=st.integers(min_value=0, max_value=1000),
    moved=movements,
    start=st.integers(min_value=0, max_value=500),
    first=st.integers(min_value=0, max_value=500),
    second=st.integers(min_value=0, max_value=500),
)
def test_expected_at_a_later_position_adds_exactly_the_movements_in_between(
    snapshot, moved, start, first, second
):
    early, late = start + min(first, second), start + max(first, second)
    between = sum(m.quantity for m in moved if early < m.movement_id <= late)
    assert expected_quantity(snapshot, moved, start, late) == (
        expected_quantity(snapshot, moved, start, early) + between
    )


@given(
    expected=st.integers(min_value=0, max_value=10_000),
    counted=st.integers(min_value=0, max_value=10_000),
    units=st.integers(min_value=0, max_value=50),
    percent=st.floats(min_value=0, max_value=100),
)
def test_an_exact_count_never_needs_a_recount_and_a_recount_always_passes_the_units(
    expected, counted, units, percent
):
    threshold = RecountThreshold(units, percent)
    assert not needs_recount(expected, expected, threshold)
    if needs_recount(expected, counted, threshold):
        assert abs(counted - expected) > units


def test_accuracy_per_bin_and_per_counter():
    lines = [
        CountedLine(bin="A-01", counter="ann", task_id=1, variance=0),
        CountedLine(bin="A-01", counter="ann", task_id=1, variance=-2),
        CountedLine(bin="A-02", counter="bob", task_id=2, variance=3),
        CountedLine(bin="A-01", counter="bob", task_id=3, variance=0),
    ]
    by_bin = {a.name: a for a in accuracy(lines, by="bin")}
    assert by_bin["A-01"].tasks == 2
    assert (by_bin["A-01"].lines, by_bin["A-01"].exact_lines) == (3, 2)
    assert by_bin["A-01"].accuracy == pytest.approx(2 / 3)
    assert by_bin["A-01"].variance_units == 2
    assert (by_bin["A-02"].accuracy, by_bin["A-02"].variance_units) == (0.0, 3)
    by_counter = {a.name: a for a in accuracy(lines, by="counter")}
    assert (by_counter["ann"].tasks, by_counter["ann"].accuracy) == (1, 0.5)
    assert (by_counter["bob"].tasks, by_counter["bob"].variance_units) == (2, 3)


def test_accuracy_of_nothing_is_empty_and_needs_a_known_grouping():
    assert accuracy([], by="bin") == []
    with pytest.raises(ValueError):
        accuracy([], by="lot")
