"""Count variance: what a bin should have held of a lot when it was counted, and whether the
difference needs a recount.

A count starts when its counter scans the bin: the bin's balances then are the snapshot, and
the highest movement id then is the start. Stock keeps moving while the counter works (a
picker takes two units of a lot already counted, a receiver puts a pallet away), so a lot's
expected quantity is the snapshot rolled forward by that lot's movements in the bin after the
start and up to the moment its line was counted: a pick during the count makes no variance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Accuracy",
    "BinMovement",
    "CountedLine",
    "LineVariance",
    "RecountThreshold",
    "accuracy",
    "expected_quantity",
    "line_variance",
    "needs_recount",
]


@dataclass(frozen=True, slots=True)
class BinMovement:
    """One ledger movement of a lot, as seen from the bin being counted."""

    movement_id: int
    quantity: int
    """Units into the bin (positive) or out of it (negative)."""


@dataclass(frozen=True, slots=True)
class RecountThreshold:
    """A variance needs a recount when it passes both: units and percent of expected."""

    units: int
    percent: float


@dataclass(frozen=True, slots=True)
class LineVariance:
    expected: int
    counted: int
    variance: int
    """counted - expected: positive a gain, negative a loss."""
    recount: bool
    """The variance passes the threshold: someone else counts the bin again."""


def expected_quantity(
    snapshot: int, movements: Iterable[BinMovement], start: int, counted_at: int
) -> int:
    """The lot's units in the bin at ledger position `counted_at`: its `snapshot` at position
    `start`, plus its movements after `start` up to and including `counted_at`."""
    if counted_at < start:
        raise ValueError("a line is counted after its task started")
    return snapshot + sum(m.quantity for m in movements if start < m.movement_id <= counted_at)


def needs_recount(expected: int, counted: int, threshold: RecountThreshold) -> bool:
    """Whether the difference passes both the units and the percent threshold. A lot found
    where none was expected passes the percent threshold whatever its units."""
    difference = abs(counted - expected)
    if difference <= threshold.units:
        return False
    if expected <= 0:
        return True
    return difference * 100 > threshold.percent * expected


def line_variance(expected: int, counted: int, threshold: RecountThreshold) -> LineVariance:
    if counted < 0:
        raise ValueError("a counted quantity is never negative")
    return LineVariance(
        expected=expected,
        counted=counted,
        variance=counted - expected,
        recount=needs_recount(expected, counted, threshold),
    )


@dataclass(frozen=True, slots=True)
class CountedLine:
    """A counted line, for accuracy: who counted which bin, and how far off it was."""

    bin: str
    counter: str
    task_id: int
    variance: int


@dataclass(frozen=True, slots=True)
class Accuracy:
    """How exact the counts of one bin, or of one counter, were."""

    name: str
    tasks: int
    lines: int
    exact_lines: int
    accuracy: float
    """Exact lines / lines."""
    variance_units: int
    """Sum of the absolute variances."""


def accuracy(lines: Iterable[CountedLine], by: str) -> list[Accuracy]:
    """Accuracy per bin (`by="bin"`) or per counter (`by="counter"`), sorted by name; a
    bin or counter with no counted line has none."""
    if by not in ("bin", "counter"):
        raise ValueError(f"accuracy by bin or counter, not {by!r}")
    groups: dict[str, list[CountedLine]] = {}
    for line in lines:
        groups.setdefault(getattr(line, by), []).append(line)
    result = []
    for name in sorted(groups):
        group = groups[name]
        exact = sum(1 for line in group if line.variance == 0)
        result.append(
            Accuracy(
                name=name,
                tasks=len({line.task_id for line in group}),
                lines=len(group),
                exact_lines=exact,
                accuracy=exact / len(group),
                variance_units=sum(abs(line.variance) for line in group),
            )
        )
    return result
