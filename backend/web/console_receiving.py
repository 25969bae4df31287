"""The console's pages of receiving: receive goods into new or existing lots, and print their labels
(docs/console.md).
"""

from __future__ import annotations

from backend.web.console_kit import ConsolePages

__all__ = ["ReceivingPages"]


class ReceivingPages(ConsolePages):
    path = "/console"
