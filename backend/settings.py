"""Settings read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = ["PROJECT_ROOT", "Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Process-wide settings, each overridable by an environment variable."""

    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    """PostgreSQL URL; when unset, `lotline serve` starts an embedded server and sets it."""

    data_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("LOTLINE_DATA_DIR", str(PROJECT_ROOT / ".lotline"))
        )
    )
    """Folder holding the embedded PostgreSQL data directory."""

    host: str = field(default_factory=lambda: os.environ.get("LOTLINE_HOST", "127.0.0.1"))
    """Interface the HTTP server binds to."""

    port: int = field(default_factory=lambda: _env_int("LOTLINE_PORT", 8000))
    """Port the HTTP server listens on."""

    token_ttl_hours: int = field(default_factory=lambda: _env_int("LOTLINE_TOKEN_TTL_HOURS", 12))
    """Lifetime of a sign-in token: one shift by default."""

    token_cache_seconds: float = field(
        default_factory=lambda: float(os.environ.get("LOTLINE_TOKEN_CACHE_SECONDS", "5"))
    )
    """How long a worker trusts a token it checked; a revocation made through another worker
    takes effect there within this time (through the same worker, at once). 0 disables."""

    reference_cache_seconds: float = field(
        default_factory=lambda: float(os.environ.get("LOTLINE_REFERENCE_CACHE_SECONDS", "30"))
    )
    """How long a worker remembers locations, products and lots it looked up. 0 disables."""

    max_body_bytes: int = field(
        default_factory=lambda: _env_int("LOTLINE_MAX_BODY_BYTES", 1_048_576)
    )
    """Largest request body accepted; bigger bodies get 413 `body_too_large`."""

    pool_min: int = field(default_factory=lambda: _env_int("LOTLINE_POOL_MIN", 2))
    """Connections each worker keeps open to PostgreSQL."""

    pool_max: int = field(default_factory=lambda: _env_int("LOTLINE_POOL_MAX", 16))
    """Most connections one worker opens to PostgreSQL."""

    return_rate_threshold: float = field(
        default_factory=lambda: float(os.environ.get("LOTLINE_RETURN_RATE_THRESHOLD", "0.05"))
    )
    """Share of a lot's shipped units returned (0.05: 5%) above which a supervisor is alerted."""

    return_rate_min_shipped: int = field(
        default_factory=lambda: _env_int("LOTLINE_RETURN_RATE_MIN_SHIPPED", 20)
    )
    """Units of a lot that must have shipped before its return rate can alert."""

    count_recount_units: int = field(
        default_factory=lambda: _env_int("LOTLINE_COUNT_RECOUNT_UNITS", 2)
    )
    """A counted lot off by more than this many units (and the percent) needs a recount."""

    count_recount_percent: float = field(
        default_factory=lambda: float(os.environ.get("LOTLINE_COUNT_RECOUNT_PERCENT", "5"))
    )
    """A counted lot off by more than this percent of expected (and the units) needs a
    recount."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings, read from the environment on first use."""
    return Settings()
