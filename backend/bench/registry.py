"""Benchmarks by name, and the shape of what they report.

A benchmark is an async function taking a started `Harness` and returning a `BenchResult`;
`@benchmark("name", ...)` registers it for `lotline bench name`. The harness owns the
database, the data, the server and the clients; the function owns its workload.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from backend.bench.harness import Harness

__all__ = ["BENCHMARKS", "BenchResult", "Benchmark", "TableRow", "benchmark", "sql_profile_notes"]


@dataclass(frozen=True)
class TableRow:
    """One line of the printed table."""

    metric: str
    value: str
    target: str = ""
    verdict: str = ""


@dataclass
class BenchResult:
    """What a benchmark found: the JSON object and the table that shows it."""

    metrics: dict[str, Any]
    rows: list[TableRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ok: bool = True
    """False when something went wrong that the numbers alone would hide (errors, mismatches)."""


BenchFunction = Callable[[Harness], Awaitable[BenchResult]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    run: BenchFunction
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    needs_server: bool = True
    needs_pgbench: bool = True
    defaults: dict[str, Any] = field(default_factory=dict)
    """Defaults of common options for this benchmark (e.g. its data size and clients)."""


BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(
    name: str,
    summary: str,
    *,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    needs_server: bool = True,
    needs_pgbench: bool = True,
    defaults: dict[str, Any] | None = None,
) -> Callable[[BenchFunction], BenchFunction]:
    """Register the decorated function as benchmark `name`."""

    def register(run: BenchFunction) -> BenchFunction:
        BENCHMARKS[name] = Benchmark(
            name, summary, run, add_arguments, needs_server, needs_pgbench, defaults or {}
        )
        return run

    return register


def sql_profile_notes(sql_profile: list[dict[str, Any]]) -> list[str]:
    """Lines for the notes under a table: the statements that took the database's time."""
    return [
        f"sql {entry['total_ms']:>9.0f} ms {entry['calls']:>7} calls "
        f"{entry['mean_ms']:.3f} ms/call: {entry['query'][:110]}"
        for entry in sql_profile
    ]
