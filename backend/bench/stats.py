"""Latency and throughput statistics shared by every benchmark.

Machines here are shared and noisy, so a benchmark repeats its measurement and reports the
median of the runs; within one run, latency is summarised by percentiles.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil

__all__ = [
    "RunStats",
    "cpu_ms_per_request",
    "median",
    "median_of_runs",
    "percentile",
    "verdict",
]


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        return float("nan")
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    rank = (len(sorted_values) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    fraction = rank - low
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction)


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return float(statistics.median(values)) if values else float("nan")


@dataclass
class RunStats:
    """What one timed run of a closed-loop load saw inside its measurement window."""

    duration_s: float
    """Length of the measurement window (warm-up excluded)."""

    latencies_ms: list[float] = field(default_factory=list)
    """Latency of every request completed in the window, any status."""

    statuses: Counter[str] = field(default_factory=Counter)
    """Responses by status code ("201", "409"...) plus "transport" for failed connections."""

    by_kind: Counter[str] = field(default_factory=Counter)
    """Successful requests by kind of request ("receipt", "move"...)."""

    successes: int = 0
    """Requests that got the expected status (for writes: 201)."""

    unsent: int = 0
    """Paced runs: requests due in the window that a client, hopelessly behind, never sent."""

    def summary(self) -> dict[str, float]:
        """Throughput and latency percentiles of this run."""
        ordered = sorted(self.latencies_ms)
        return {
            "per_s": self.successes / self.duration_s if self.duration_s else 0.0,
            "requests": float(len(ordered)),
            "unsent": float(self.unsent),
            "p50_ms": percentile(ordered, 50),
            "p90_ms": percentile(ordered, 90),
            "p99_ms": percentile(ordered, 99),
            "max_ms": ordered[-1] if ordered else float("nan"),
        }

    @property
    def errors(self) -> int:
        """Requests that did not get the expected status, transport failures included."""
        return len(self.latencies_ms) - self.successes + self.statuses.get("transport", 0)


def median_of_runs(summaries: Sequence[dict[str, float]]) -> dict[str, float]:
    """Each metric's median over the runs."""
    keys = summaries[0].keys() if summaries else ()
    return {key: median([summary[key] for summary in summaries]) for key in keys}


def verdict(ok: bool) -> str:
    """A target's verdict as the tables print it."""
    return "ok" if ok else "MISS"


def cpu_ms_per_request(cpu: dict[str, float], duration_s: float, requests: int) -> dict[str, float]:
    """CPU milliseconds each component spent per answered request."""
    cores = psutil.cpu_count() or 1
    return {
        key: round(share * cores * duration_s * 1000 / requests, 3) if requests else 0.0
        for key, share in cpu.items()
        if key != "machine_idle"
    }
