"""The console's pages of the expiry report, and reviewing counts, returns and scan exceptions
(docs/console.md).
"""

from __future__ import annotations

from backend.web.console_kit import ConsolePages

__all__ = ["ReviewPages"]


class ReviewPages(ConsolePages):
    path = "/console"
