"""The console's pages of users, roles, badges and devices (docs/console.md)."""

from __future__ import annotations

from backend.web.console_kit import ConsolePages

__all__ = ["PeoplePages"]


class PeoplePages(ConsolePages):
    path = "/console"
