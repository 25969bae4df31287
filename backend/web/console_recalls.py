"""The console's pages of holds and recalls: impact preview, acknowledgements, trace and reports
(docs/console.md).
"""

from __future__ import annotations

from backend.web.console_kit import ConsolePages

__all__ = ["RecallPages"]


class RecallPages(ConsolePages):
    path = "/console"
