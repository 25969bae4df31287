"""Returns: where a returned unit may go, whether it fits what shipped, and when a lot's
return rate calls for a supervisor.

A returned unit goes back into its own lot. Restocking puts it where pickers find it, so it
is allowed only for a released, unexpired lot; a held, quarantined or recalled lot's unit
goes to quarantine whatever the clerk chose, and so does an expired lot's unit meant for a
bin. A return never takes back more of a lot than the order shipped minus what came back
already. A lot whose returned units pass a share of its shipped units (once enough shipped
to judge) raises one alert until a supervisor dismisses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from backend.domain.barcodes import Parsed

__all__ = [
    "Disposition",
    "OrderReference",
    "Placement",
    "ReturnRate",
    "ShippedLine",
    "alert_due",
    "order_reference",
    "placement",
    "rate_passes",
    "split_return",
]

Disposition = Literal["restock", "quarantine", "dispose"]
"""What the clerk chose for a returned unit."""

Destination = Literal["bin", "quarantine", "disposal"]
"""The kind of location a returned unit goes to."""

_ORDER_LABEL = re.compile(r"^ORDER-([1-9][0-9]{0,15})$")
_ORDER_NUMBER_AI = "400"
"""GS1 AI (400): the customer's purchase order number, on our labels the order's externalId."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a returned unit goes, and whether its lot overrode what the clerk chose."""

    destination: Destination
    forced: bool = False
    """The lot is held, quarantined, recalled or expired: quarantine was not the clerk's call
    (or it was, but the clerk must know the lot is held)."""
    why: Literal["held", "expired"] | None = None


def placement(disposition: Disposition, status: str, expiry: date | None, today: date) -> Placement:
    """Where a unit of a lot with `status` and `expiry` goes when the clerk chose `disposition`.

    A held lot's unit always goes to quarantine (a recall must find it there); an expired
    lot's unit never goes back to a bin. Disposal of a released or expired lot is the clerk's
    call.
    """
    if status != "released":
        return Placement("quarantine", forced=True, why="held")
    expired = expiry is not None and expiry < today
    if disposition == "restock":
        return Placement("quarantine", forced=True, why="expired") if expired else Placement("bin")
    if disposition == "dispose":
        return Placement("disposal")
    return Placement("quarantine")


@dataclass(frozen=True, slots=True)
class ShippedLine:
    """What one order line shipped of a lot, and what of it came back already."""

    line_id: int
    shipped: int
    returned: int

    @property
    def open(self) -> int:
        """Units still at the customer that this line may take back."""
        return max(self.shipped - self.returned, 0)


def split_return(lines: Sequence[ShippedLine], quantity: int) -> list[tuple[int, int]] | None:
    """The order lines a return of `quantity` units of a lot is booked against, as
    `(line_id, units)`, earlier lines first; None when more than shipped minus returned."""
    if quantity <= 0 or quantity > sum(line.open for line in lines):
        return None
    booked, left = [], quantity
    for line in lines:
        units = min(left, line.open)
        if units:
            booked.append((line.line_id, units))
            left -= units
        if left == 0:
            break
    return booked


@dataclass(frozen=True, slots=True)
class ReturnRate:
    """A lot's returned units over its shipped units, across every order."""

    returned: int
    shipped: int

    @property
    def rate(self) -> float:
        return self.returned / self.shipped if self.shipped else 0.0


def rate_passes(rate: ReturnRate, threshold: float, min_shipped: int) -> bool:
    """Whether the rate is above `threshold`, counted only once `min_shipped` units shipped
    (two returns of three units shipped say nothing yet)."""
    return rate.shipped >= max(min_shipped, 1) and rate.returned > threshold * rate.shipped


def alert_due(
    before: ReturnRate,
    after: ReturnRate,
    threshold: float,
    min_shipped: int,
    *,
    open_alert: bool,
    alerted_before: bool,
) -> bool:
    """Whether the return that took the lot from `before` to `after` raises an alert.

    One alert per lot until dismissed; after a dismissal the lot alerts again only when its
    rate passes the threshold anew (it was at or under it before this return).
    """
    if open_alert or not rate_passes(after, threshold, min_shipped):
        return False
    return not alerted_before or not rate_passes(before, threshold, min_shipped)


@dataclass(frozen=True, slots=True)
class OrderReference:
    """How a shipping label or packing slip names an order: by id or by its externalId."""

    order_id: int | None = None
    external_id: str | None = None


def order_reference(raw: str, parsed: Parsed) -> OrderReference:
    """The order a scanned label or typed text names: lotline's `ORDER-<id>`, a GS1 barcode
    with AI (400) (the customer's order number, our externalId), or the text itself as an
    externalId (a packing slip's number typed or scanned as plain Code 128)."""
    text = raw.strip(" \t\r\n")
    label = _ORDER_LABEL.match(text)
    if label is not None:
        return OrderReference(order_id=int(label.group(1)))
    if parsed.valid and _ORDER_NUMBER_AI in parsed.ais:
        return OrderReference(external_id=parsed.ais[_ORDER_NUMBER_AI])
    return OrderReference(external_id=text)
