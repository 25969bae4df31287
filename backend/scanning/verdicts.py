"""The verdicts a scan can get, and the pure rules that judge a scanned lot.

Each verdict code has one verdict (accepted or rejected) and one feedback (the tone and
colour a handheld gives), so a client can switch on the code alone. shared/scan-codes.json
lists them; tests/unit/test_scan_codes.py keeps it equal to `SCAN_CODES`. A barcode the
parser finds invalid is rejected with the parser's first error code, one of
`backend.domain.barcodes.errors.ERROR_CODES` (shared/barcode-error-codes.json), feedback
`error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from backend.domain.barcodes import Parsed
from backend.domain.barcodes.errors import ERROR_CODES
from backend.ledger.service import lot_gate

__all__ = [
    "COUNT_CODES",
    "PICK_PACK_CODES",
    "QUARANTINE_CODES",
    "RETURN_CODES",
    "SCAN_CODES",
    "CodeEntry",
    "LotRecord",
    "Verdict",
    "barcode_verdict",
    "lot_verdict",
    "verdict",
]


@dataclass(frozen=True, slots=True)
class CodeEntry:
    verdict: Literal["accepted", "rejected"]
    feedback: Literal["ok", "warn", "error"]
    meaning: str


SCAN_CODES: dict[str, CodeEntry] = {
    "lot_identified": CodeEntry(
        "accepted",
        "ok",
        "The barcode names a known lot that is released, unexpired and "
        "whose dates on the label agree with its record.",
    ),
    "new_lot": CodeEntry(
        "accepted",
        "ok",
        "At receive: a known product with a lot code not recorded yet; "
        "receiving it creates the lot.",
    ),
    "product_identified": CodeEntry(
        "accepted",
        "ok",
        "The barcode names a known product but no one lot (a GTIN alone; at "
        "lookup the product's lots are listed, and a product's only lot is shown in full).",
    ),
    "location_identified": CodeEntry("accepted", "ok", "A location label of a known location."),
    "unknown_product": CodeEntry("rejected", "error", "No product has the barcode's GTIN."),
    "unknown_lot": CodeEntry(
        "rejected",
        "error",
        "The product is known but has no lot with the barcode's lot code (outside receive).",
    ),
    "unknown_serial": CodeEntry(
        "rejected",
        "error",
        "The product is known but the barcode's serial was never received (outside receive).",
    ),
    "unknown_location": CodeEntry("rejected", "error", "No location has this label."),
    "ambiguous_location": CodeEntry(
        "rejected", "error", "The label names a location code that exists in several warehouses."
    ),
    "unsupported_barcode": CodeEntry(
        "rejected",
        "error",
        "A valid barcode that names nothing a scan resolves to here: a "
        "badge, a tote, a pallet SSCC, or GS1 data without a GTIN.",
    ),
    "lot_on_hold": CodeEntry("rejected", "error", "The lot is on hold."),
    "lot_quarantined": CodeEntry("rejected", "error", "The lot is in quarantine."),
    "lot_recalled": CodeEntry("rejected", "error", "The lot is recalled."),
    "lot_not_released": CodeEntry("rejected", "error", "The lot is not released."),
    "lot_expired": CodeEntry(
        "rejected",
        "error",
        "The lot's recorded expiry (or, for a new lot at receive, the label's) is in the past.",
    ),
    "lot_data_mismatch": CodeEntry(
        "rejected",
        "error",
        "A date on the label (expiry 17, best before 15, production 11) or "
        "the serial's lot differs from the lot's record: a mislabelled unit or a different "
        "lot with the same code. A supervisor decides, so it is refused, not just flagged.",
    ),
    "duplicate_serial": CodeEntry(
        "rejected", "error", "At receive or return: the serial is already in stock."
    ),
    # Picking (a scan with `taskId`).
    "bin_confirmed": CodeEntry(
        "accepted", "ok", "At pick: the picker is at the task's bin; now scan the lot."
    ),
    "wrong_bin": CodeEntry(
        "rejected",
        "error",
        "At pick or count: not the task's bin; the message names the bin to go to.",
    ),
    "bin_not_confirmed": CodeEntry(
        "rejected", "error", "At pick or count: a lot was scanned before the task's bin label."
    ),
    "picked": CodeEntry(
        "accepted", "ok", "At pick: the units moved from the bin to the picker's tote."
    ),
    "lot_substituted": CodeEntry(
        "accepted",
        "warn",
        "At pick: another lot, equally eligible and in the same bin, was picked instead of "
        "the one allocated; the allocation moved to it.",
    ),
    "wrong_lot": CodeEntry(
        "rejected",
        "error",
        "At pick: not the allocated lot (and not one that may replace it); the message names "
        "the lot expected and its bin.",
    ),
    "wrong_product": CodeEntry("rejected", "error", "At pick: not the task's product."),
    "over_pick": CodeEntry(
        "rejected", "error", "At pick: more units than the task has left to pick."
    ),
    "task_done": CodeEntry("rejected", "error", "At pick: the task is already done."),
    "task_not_yours": CodeEntry("rejected", "error", "At pick: the task is another picker's."),
    "unknown_task": CodeEntry("rejected", "error", "At pick: there is no such pick task."),
    "lot_short_dated": CodeEntry(
        "rejected",
        "error",
        "At pick or pack: the lot has less shelf life left at the ship date than the "
        "order's channel or customer requires.",
    ),
    "lot_barred": CodeEntry(
        "rejected", "error", "At pick or pack: the lot may not ship to the order's country."
    ),
    "serial_required": CodeEntry(
        "rejected",
        "error",
        "At pick, pack, return or count: the product is tracked by serial; scan a serial.",
    ),
    # Packing (a scan with `orderId`).
    "packed": CodeEntry(
        "accepted", "ok", "At pack: the units moved from the tote to the pack station."
    ),
    "not_on_order": CodeEntry(
        "rejected", "error", "At pack: the product is not on the order (or none of it is picked)."
    ),
    "wrong_lot_for_order": CodeEntry(
        "rejected",
        "error",
        "At pack: a lot other than the one picked for the order; the message names the lots "
        "picked.",
    ),
    "already_packed": CodeEntry(
        "rejected", "error", "At pack: every picked unit of this lot is packed already."
    ),
    "lot_required": CodeEntry(
        "rejected",
        "error",
        "At pack, return or count: the product is tracked by lot; scan the unit's lot.",
    ),
    "scan_a_unit": CodeEntry(
        "rejected", "error", "At pack or return: the barcode names no product (a bin or a badge)."
    ),
    "unknown_order": CodeEntry("rejected", "error", "At pack: there is no such order."),
    "order_shipped": CodeEntry("rejected", "error", "At pack: the order has shipped already."),
    "no_pack_station": CodeEntry(
        "rejected", "error", "At pack: the warehouse has no pack station to pack at."
    ),
    "not_applied": CodeEntry(
        "rejected",
        "error",
        "At pick or pack: the scan was right but stock changed meanwhile, so nothing moved; "
        "the message says why. Scan again.",
    ),
    # Pulling held stock into quarantine (context `quarantine`).
    "quarantined": CodeEntry(
        "accepted",
        "ok",
        "At quarantine: the lot's units moved from the scanned location to the warehouse's "
        "quarantine.",
    ),
    "lot_released": CodeEntry(
        "rejected",
        "error",
        "At quarantine: the lot is released, so there is nothing to pull; only held, "
        "quarantined or recalled lots are.",
    ),
    "location_required": CodeEntry(
        "rejected", "error", "At quarantine: say which bin or tote the units come from."
    ),
    "nothing_here": CodeEntry(
        "rejected", "error", "At quarantine: none of the lot's units are at that location."
    ),
    "no_quarantine_location": CodeEntry(
        "rejected", "error", "At quarantine: the warehouse has no quarantine location."
    ),
    # Returns (a scan with `returnId`).
    "restocked": CodeEntry(
        "accepted", "ok", "At return: the units went back into their lot at the bin given."
    ),
    "return_quarantined": CodeEntry(
        "accepted", "ok", "At return: the units went to the warehouse's quarantine, as chosen."
    ),
    "return_disposed": CodeEntry(
        "accepted",
        "ok",
        "At return: the units went to the warehouse's disposal location, recorded on the return.",
    ),
    "returned_to_quarantine": CodeEntry(
        "accepted",
        "warn",
        "At return: the lot is held, quarantined or recalled (or expired, for a restock), so "
        "the units went to quarantine whatever was chosen.",
    ),
    "not_shipped_on_order": CodeEntry(
        "rejected",
        "error",
        "At return: the product or lot did not ship on the order; the item is flagged on the "
        "return for a supervisor and nothing moves.",
    ),
    "serial_not_shipped_on_order": CodeEntry(
        "rejected",
        "error",
        "At return: the serial did not ship on the order; the item is flagged on the return "
        "and nothing moves.",
    ),
    "return_exceeds_shipped": CodeEntry(
        "rejected",
        "error",
        "At return: more units of the lot than the order shipped and has not returned; the "
        "item is flagged on the return and nothing moves.",
    ),
    "return_reason_required": CodeEntry(
        "rejected", "error", "At return: say why the item came back (`reason`)."
    ),
    "return_disposition_required": CodeEntry(
        "rejected",
        "error",
        "At return: say where the item goes (`disposition`: restock, quarantine or dispose).",
    ),
    "restock_location_required": CodeEntry(
        "rejected", "error", "At return: a restock needs the bin (`location`) to put it in."
    ),
    "restock_not_a_bin": CodeEntry(
        "rejected",
        "error",
        "At return: the location given is not a bin of the warehouse the order shipped from.",
    ),
    "return_closed": CodeEntry(
        "rejected", "error", "At return: the return is closed; it takes no more items."
    ),
    "unknown_return": CodeEntry("rejected", "error", "At return: there is no such return."),
    # Counting (a scan with `countId`).
    "count_started": CodeEntry(
        "accepted",
        "ok",
        "At count: the bin's label; the count of the bin starts (where the ledger stands is "
        "recorded) or goes on. Now scan each lot.",
    ),
    "counted": CodeEntry(
        "accepted",
        "ok",
        "At count: the lot's units were added to what was counted of it in the bin (never "
        "what the system expects: counts are blind).",
    ),
    "count_task_closed": CodeEntry(
        "rejected", "error", "At count: the task is submitted or decided; nothing to count."
    ),
    "count_task_not_yours": CodeEntry(
        "rejected",
        "error",
        "At count: the task is assigned to, or being counted by, another counter.",
    ),
    "recount_by_same_counter": CodeEntry(
        "rejected",
        "error",
        "At count: a recount of a bin must be done by someone other than its first counter.",
    ),
    "serial_counted": CodeEntry(
        "rejected", "error", "At count: this serial was counted already in this bin."
    ),
    "unknown_count_task": CodeEntry("rejected", "error", "At count: there is no such count task."),
}
"""Every verdict code lotline gives a scan besides the parser's error codes."""

_ORDER = list(SCAN_CODES)


def _section(first: str, last: str) -> frozenset[str]:
    """The codes of `SCAN_CODES` from `first` to `last`, both included."""
    return frozenset(_ORDER[_ORDER.index(first) : _ORDER.index(last) + 1])


PICK_PACK_CODES = _section("bin_confirmed", "not_applied")
"""The codes only a pick scan of a task or a pack scan of an order gets (the fulfilment
service's), listed after the lookup and receiving ones in `SCAN_CODES`."""
QUARANTINE_CODES = _section("quarantined", "no_quarantine_location")
"""The codes only a scan that pulls held stock into quarantine gets."""
RETURN_CODES = _section("restocked", "unknown_return")
"""The codes only a scan of an item into a return gets."""
COUNT_CODES = _section("count_started", "unknown_count_task")
"""The codes only a scan of a count task gets."""


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: Literal["accepted", "rejected"]
    code: str
    message: str
    feedback: Literal["ok", "warn", "error"]

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"


def verdict(code: str, message: str) -> Verdict:
    """The verdict of `code` (one of `SCAN_CODES` or the parser's), with a specific message."""
    entry = SCAN_CODES.get(code)
    if entry is None:
        assert code in ERROR_CODES, code
        return Verdict("rejected", code, message, "error")
    return Verdict(entry.verdict, code, message, entry.feedback)


def barcode_verdict(parsed: Parsed) -> Verdict | None:
    """The rejection of a barcode the parser refused, or None when it is valid."""
    if parsed.valid:
        return None
    first = parsed.errors[0] if parsed.errors else None
    if first is None or first.code not in ERROR_CODES:
        return verdict("unrecognised", "The barcode could not be read.")
    return verdict(first.code, first.message)


@dataclass(frozen=True, slots=True)
class LotRecord:
    """What a lot's record says, as far as judging a scan goes."""

    code: str
    status: str
    production_date: date | None
    expiry: date | None
    best_before: date | None


_LABEL_DATES = (
    ("expiry", "expiry (17)"),
    ("best_before", "best before (15)"),
    ("production_date", "production date (11)"),
)


def lot_verdict(lot: LotRecord, parsed: Parsed, today: date) -> Verdict:
    """Judge a scanned lot that exists: its status, its expiry, then the label's dates.

    Status comes first because a held or recalled lot must be stopped whatever its label
    says; a label date differing from the record is refused because the handheld cannot tell
    a misprinted label from a second lot that shares the code.
    """
    refusal = lot_gate(lot.status, lot.expiry, today)
    if refusal is not None:
        if refusal.code == "lot_expired":
            assert lot.expiry is not None
            message = f"Lot {lot.code} expired on {lot.expiry.isoformat()}."
        else:
            message = f"Lot {lot.code} is {lot.status}: set it aside and tell a supervisor."
        return verdict(refusal.code, message)
    differences = [
        f"{label}: label {given.isoformat()}, record {_show(recorded)}"
        for name, label in _LABEL_DATES
        if (given := getattr(parsed, name)) is not None
        and given != (recorded := getattr(lot, name))
    ]
    if differences:
        return verdict(
            "lot_data_mismatch",
            f"Lot {lot.code}'s label disagrees with its record ({'; '.join(differences)}).",
        )
    return verdict("lot_identified", f"Lot {lot.code}.")


def _show(value: date | None) -> str:
    return value.isoformat() if value is not None else "none"
