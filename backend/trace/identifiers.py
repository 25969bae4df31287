"""The identifiers lotline's exports give things: GS1 where GS1 has an identifier for them,
lotline URIs under `IDENTIFIER_BASE` where it does not.

A lot is an EPC class: GS1 Digital Link `https://id.gs1.org/01/<GTIN-14>/10/<lot>`, which
EPCIS 2.0 accepts wherever an EPC URI goes and which needs no GS1 company prefix length (an
`urn:epc:class:lgtin:` URI does, and lotline does not know it). A supplier with a GLN is
`https://id.gs1.org/417/<GLN>` (AI 417, party GLN). Locations, customers, orders and
receipts have no GS1 identifier in lotline, so they get lotline URIs (docs/trace.md).
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from urllib.parse import quote

__all__ = [
    "IDENTIFIER_BASE",
    "customer_uri",
    "event_id",
    "lot_class",
    "order_uri",
    "place_uri",
    "receipt_uri",
    "supplier_uri",
]

IDENTIFIER_BASE = "https://id.lotline.example"
"""Where lotline's own identifiers live (a reserved example domain until a site has one)."""

_EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{IDENTIFIER_BASE}/epcis/event")


def _part(text: str) -> str:
    """One path segment, percent-encoded (Digital Link and RFC 3986 alike)."""
    return quote(text, safe="")


@lru_cache(maxsize=4096)
def lot_class(gtin: str | None, lot_code: str, sku: str) -> str:
    """The lot as an EPC class: GS1 Digital Link when the product has a GTIN."""
    if gtin is not None:
        return f"https://id.gs1.org/01/{gtin}/10/{_part(lot_code)}"
    return f"{IDENTIFIER_BASE}/product/{_part(sku)}/lot/{_part(lot_code)}"


@lru_cache(maxsize=4096)
def place_uri(warehouse: str, code: str | None = None) -> str:
    """A warehouse, or one of its locations (bin, tote, pack station, customer location)."""
    site = f"{IDENTIFIER_BASE}/location/{_part(warehouse)}"
    return site if code is None else f"{site}/{_part(code)}"


def supplier_uri(code: str, gln: str | None) -> str:
    return f"https://id.gs1.org/417/{gln}" if gln else f"{IDENTIFIER_BASE}/supplier/{_part(code)}"


def customer_uri(customer_id: int) -> str:
    return f"{IDENTIFIER_BASE}/customer/{customer_id}"


def order_uri(channel: str, external_id: str) -> str:
    """A sales order by its id in its channel (unique there)."""
    return f"{IDENTIFIER_BASE}/order/{_part(channel)}/{_part(external_id)}"


def receipt_uri(movement_id: int) -> str:
    return f"{IDENTIFIER_BASE}/receipt/{movement_id}"


def event_id(*key: object) -> str:
    """A stable event id: the same ledger fact gets the same id in every export."""
    return uuid.uuid5(_EVENT_NAMESPACE, "/".join(str(part) for part in key)).urn
