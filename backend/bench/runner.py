"""`lotline bench NAME [options]`: run a registered benchmark and print what it found.

Progress goes to stderr; stdout gets a table, or with `--json` exactly one JSON object.
Exit status: 0 when the benchmark ran cleanly, 1 when it saw errors (non-201 answers, a
ledger that disagrees with the balances), 2 for bad usage, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import date
from typing import Any

import psutil
import uvloop

from backend.bench import fanout as _fanout  # noqa: F401  (registers "fanout")
from backend.bench import ledger as _ledger  # noqa: F401  (registers "ledger")
from backend.bench import pick as _pick  # noqa: F401  (registers "pick")
from backend.bench import replay as _replay  # noqa: F401  (registers "replay")
from backend.bench import scan as _scan  # noqa: F401  (registers "scan")
from backend.bench import trace as _trace  # noqa: F401  (registers "trace")
from backend.bench.harness import BenchOptions, Harness, Progress
from backend.bench.loadgen import HTTP_CLIENTS
from backend.bench.registry import BENCHMARKS, Benchmark, BenchResult

__all__ = ["main"]


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per run")
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are reported (3)")
    parser.add_argument(
        "--database-url",
        help="use this PostgreSQL server instead of a private embedded one "
        "(its role must be able to create databases; DATABASE_URL is ignored)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="size of the warehouse (1)")
    parser.add_argument(
        "--history", type=int, default=0, help="moves per lot loaded into the ledger (0)"
    )
    parser.add_argument(
        "--http-client", choices=HTTP_CLIENTS, default="raw", help="load generator client"
    )
    parser.add_argument("--pool-max", type=int, help="connections per server worker")
    parser.add_argument("--pgbench-scale", type=int, default=10, help="pgbench -s (10)")
    parser.add_argument("--pgbench-clients", type=int, default=32, help="pgbench -c (32)")
    parser.add_argument(
        "--profile-sql",
        action="store_true",
        help="load pg_stat_statements and report the costliest statements",
    )
    parser.add_argument(
        "--durable", action="store_true", help="synchronous_commit=on (default off)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lotline bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    names = parser.add_subparsers(dest="name", required=True, metavar="NAME")
    for bench in BENCHMARKS.values():
        sub = names.add_parser(bench.name, help=bench.summary, description=bench.summary)
        _common_arguments(sub)
        if bench.add_arguments is not None:
            bench.add_arguments(sub)
        sub.set_defaults(**bench.defaults)
    return parser


_COMMON = {
    "json",
    "workers",
    "clients",
    "duration",
    "warmup",
    "runs",
    "database_url",
    "scale",
    "history",
    "http_client",
    "pool_max",
    "pgbench_scale",
    "pgbench_clients",
    "durable",
    "name",
}


def _options(args: argparse.Namespace) -> BenchOptions:
    return BenchOptions(
        workers=args.workers,
        clients=args.clients,
        duration_s=args.duration,
        warmup_s=args.warmup,
        runs=args.runs,
        database_url=args.database_url,
        scale=args.scale,
        history=args.history,
        http_client=args.http_client,
        pool_max=args.pool_max,
        pgbench_scale=args.pgbench_scale,
        pgbench_clients=args.pgbench_clients,
        durable=args.durable,
        profile_sql=args.profile_sql,
        extra={k: v for k, v in vars(args).items() if k not in _COMMON},
    )


async def _run(bench: Benchmark, options: BenchOptions, progress: Progress) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM unwinds like Ctrl-C, so the harness stops what it started.
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    async with Harness(options, progress) as harness:
        result = await bench.run(harness)
        context = {
            "benchmark": bench.name,
            "date": date.today().isoformat(),
            "cpus": psutil.cpu_count(),
            "workers": options.workers,
            "clients": options.clients,
            "duration_s": options.duration_s,
            "warmup_s": options.warmup_s,
            "runs_count": options.runs,
            "http_client": options.http_client,
            "pool_max_per_worker": options.server_pool_max(),
            "postgres_settings": harness.settings,
            "dataset": harness.dataset.counts,
            "tmpdir": str(harness.folder),
            "server_pid": harness.server.pid if harness.server else None,
            "postgres_pid": harness.postgres_pid(),
        }
    context["phases_s"] = progress.timings
    return {"result": result, "context": context}


def _print_table(name: str, result: BenchResult, context: dict[str, Any]) -> None:
    title = (
        f"lotline bench {name} - {context['date']}, {context['cpus']} CPUs, "
        f"{context['workers']} workers, {context['clients']} clients, "
        f"{context['runs_count']} runs x {context['duration_s']:g} s (medians)"
    )
    rows = [
        ("metric", "value", "target", ""),
        *((r.metric, r.value, r.target, r.verdict) for r in result.rows),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print(title)
    for index, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))
    settings = ", ".join(f"{k}={v}" for k, v in context["postgres_settings"].items())
    print(f"postgres: {settings}")
    print(
        f"server: uvicorn, {context['workers']} workers, uvloop + httptools, "
        f"pool max {context['pool_max_per_worker']} per worker; load: {context['http_client']} "
        "HTTP/1.1 keep-alive client in this process"
    )
    for note in result.notes:
        print(f"note: {note}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of `lotline bench`; `argv` excludes the word "bench"."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    bench = BENCHMARKS[args.name]
    options = _options(args)
    progress = Progress()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            outcome = runner.run(_run(bench, options, progress))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: the server and the database were stopped", file=sys.stderr)
        return 130
    result: BenchResult = outcome["result"]
    context: dict[str, Any] = outcome["context"]
    if args.json:
        print(json.dumps({**result.metrics, **context}, default=str))
    else:
        _print_table(bench.name, result, context)
    sys.stdout.flush()
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
