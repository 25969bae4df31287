"""The `lotline` command: serve, migrate, seed, check, bench and the embedded database.

Without `DATABASE_URL` every command uses the embedded PostgreSQL in `LOTLINE_DATA_DIR`.
A command that starts the embedded server stops it again when it ends; one that finds it
already running (started by `lotline db-url`, another `lotline serve`, or left by a crashed
run) uses it and leaves it running, because someone else may still be using it.
`lotline db-stop` stops it explicitly.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from backend.db.migrate import migrate
from backend.db.provision import (
    Provisioned,
    embedded_pgdata,
    ensure_database,
    provision,
    stop_embedded_checked,
)
from backend.settings import get_settings

__all__ = ["DEMO_ROLES", "main"]

DEMO_ROLES = ("admin", "supervisor", "receiver", "picker", "packer", "counter", "returns")
"""`--demo` seeds one user per role, named after it (password `demo`, PIN `1234`)."""


class _Stop(Exception):
    """Raised by the SIGTERM handler so cleanup runs as it does for Ctrl-C."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


async def _prepare(*, demo: bool) -> Provisioned:
    """Provision the database, migrate it and optionally seed the demo data.

    Every command that reads or writes lotline's tables goes through here, so each one works
    on a fresh data folder as well as on an existing database.
    """
    db = await provision()
    try:
        await migrate(db.url)
        if demo:
            from backend.seed import seed_demo

            await seed_demo(db.url)
    except BaseException:
        db.stop_if_started()
        raise
    return db


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def _print_banner(db: Provisioned, host: str, port: int, workers: int, demo: bool) -> None:
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    lines = [f"lotline on http://{shown_host}:{port}/  ({workers} worker(s))"]
    if db.pgdata is not None:
        state = "started" if db.started_embedded else "reused (already running; left running)"
        lines.append(f"embedded PostgreSQL {state}: {db.pgdata}")
    lines.append(f"database: {_without_password(db.url)}")
    if demo:
        lines.append("demo logins (password demo): " + ", ".join(DEMO_ROLES))
        lines.append("demo badges: BADGE-<ROLE> (e.g. BADGE-PICKER), PIN 1234")
    lines.append("Ctrl-C stops the server.")
    print("\n".join(lines), flush=True)


def _serve(args: argparse.Namespace) -> int:
    from backend.serving import run_workers

    settings = get_settings()
    code = 0
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    previous_term = signal.signal(signal.SIGTERM, _raise_stop)
    db: Provisioned | None = None
    try:
        db = asyncio.run(_prepare(demo=args.demo))
        _print_banner(db, host, port, args.workers, args.demo)
        # Workers import the app themselves and inherit DATABASE_URL from this process.
        code = run_workers(host, port, args.workers)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        if db is not None:
            db.stop_if_started()
        signal.signal(signal.SIGTERM, previous_term)
    print("lotline stopped.", flush=True)
    return code


def _migrate(args: argparse.Namespace) -> int:
    db = asyncio.run(_prepare(demo=False))
    db.stop_if_started()
    print(f"migrated {db.url}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    if not args.demo:
        print("lotline seed: nothing to do; pass --demo to load the demo data", file=sys.stderr)
        return 2
    db = asyncio.run(_prepare(demo=True))
    db.stop_if_started()
    print("demo logins (password demo): " + ", ".join(DEMO_ROLES))
    return 0


def _check(args: argparse.Namespace) -> int:
    from backend.ledger.check import run_check

    db = asyncio.run(_prepare(demo=False))
    try:
        return int(run_check(db.url))
    finally:
        db.stop_if_started()


def _bench(args: argparse.Namespace) -> int:
    from backend.bench.runner import main as bench_main

    argv = [args.name, *(["--json"] if args.json else []), *args.rest]
    return int(bench_main(argv))


def _db_url(args: argparse.Namespace) -> int:
    print(asyncio.run(ensure_database()))
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    pgdata = embedded_pgdata().resolve()
    if not stop_embedded_checked(pgdata):
        return 1
    print(f"embedded PostgreSQL stopped: {pgdata}")
    return 0


def _parse(args: argparse.Namespace) -> int:
    """Print one Parsed JSON object per input; exit 1 when any input is not valid.

    Stdin is split on LF only: `str.splitlines()` would also split on GS (0x1D).
    """
    import msgspec

    from backend.domain.barcodes import parse_barcode

    if args.raw:
        inputs = list(args.raw)
    else:
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        inputs = [line for line in text.split("\n") if line.rstrip("\r")]
    all_valid = True
    out = sys.stdout.buffer
    for raw in inputs:
        parsed = parse_barcode(raw, separators=args.separator)
        all_valid = all_valid and parsed.valid
        out.write(msgspec.json.encode(parsed) + b"\n")
    out.flush()
    return 0 if all_valid else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lotline", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server (and the embedded database)")
    serve.add_argument("--demo", action="store_true", help="seed the demo users and stock")
    serve.add_argument("--host", help="interface to bind (default LOTLINE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default LOTLINE_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(handler=_serve)

    commands.add_parser("migrate", help="bring the schema up to date").set_defaults(
        handler=_migrate
    )

    seed = commands.add_parser("seed", help="load data into the database")
    seed.add_argument("--demo", action="store_true", help="the demo users, products and stock")
    seed.set_defaults(handler=_seed)

    commands.add_parser(
        "check", help="recompute balances from the ledger; non-zero exit on mismatch"
    ).set_defaults(handler=_check)

    bench = commands.add_parser("bench", help="run a named benchmark")
    bench.add_argument("name", help="benchmark name")
    bench.add_argument("--json", action="store_true", help="print results as JSON")
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="passed to the benchmark")
    bench.set_defaults(handler=_bench)

    parse = commands.add_parser(
        "parse", help="parse barcode scans and print one JSON object per input per line"
    )
    parse.add_argument("raw", nargs="*", help="scans to parse (default: one per line on stdin)")
    parse.add_argument(
        "--separator",
        action="append",
        default=[],
        metavar="CHAR",
        help="a stand-in the scanner sends for GS (0x1D); repeatable",
    )
    parse.set_defaults(handler=_parse)

    commands.add_parser(
        "db-url", help="print the database URL, starting the embedded server if needed"
    ).set_defaults(handler=_db_url)
    commands.add_parser("db-stop", help="stop the embedded PostgreSQL server").set_defaults(
        handler=_db_stop
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lotline` console script."""
    args = _parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
