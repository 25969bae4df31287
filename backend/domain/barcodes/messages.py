"""GS1 messages: element strings (GS-separated), bracketed text and the rules over their AIs.

Reading yields (AI, value) pairs in order; `validate_pairs` then checks each value's format,
duplicates, and the GenSpec 4.14 invalid pairs and mandatory associations, the same checks
whatever the message arrived as (element string, bracketed text or Digital Link).
"""

from __future__ import annotations

from functools import lru_cache

from .ai_values import check_value
from .dictionary import AI_TABLE, lookup_ai
from .errors import error
from .parsed import BarcodeError

__all__ = ["GS", "read_bracketed", "read_element_string", "validate_pairs"]

GS = "\x1d"
"""ASCII group separator: FNC1 as a scanner transmits it between variable-length values."""

Pair = tuple[str, str]


def _unknown_ai(data: str, start: int) -> BarcodeError:
    shown = data[start : start + 4]
    if shown[:2].isascii() and shown[:2].isdigit():
        return error("unknown_ai", f"no GS1 Application Identifier starts {shown!r}")
    return error("invalid_character", f"expected an Application Identifier, found {shown!r}")


def read_element_string(data: str) -> tuple[list[Pair], list[BarcodeError]]:
    """Split an element string (the data after FNC1 in first position) into AI/value pairs.

    Predefined-length AIs (GenSpec 7.8.5) take exactly their length and may be followed by a
    superfluous GS; every other AI runs to the next GS or the end. Reading stops at the first
    unknown AI, since nothing after it can be delimited.
    """
    pairs: list[Pair] = []
    errors: list[BarcodeError] = []
    position = 1 if data.startswith(GS) else 0
    end = len(data)
    while position < end:
        if data[position] == GS:
            errors.append(error("unexpected_gs", f"a GS at {position} where an AI must start"))
            position += 1
            continue
        definition = lookup_ai(data, position)
        if definition is None:
            errors.append(_unknown_ai(data, position))
            break
        position += len(definition.ai)
        if definition.predefined_length:
            stop = position + definition.max_length
            value = data[position:stop]
            separator = value.find(GS)
            if separator >= 0:
                value = value[:separator]
                stop = position + separator
            position = stop
            if position < end and data[position] == GS:
                position += 1
        else:
            separator = data.find(GS, position)
            stop = end if separator < 0 else separator
            value = data[position:stop]
            position = stop + 1
        pairs.append((definition.ai, value))
    return pairs, errors


def read_bracketed(text: str) -> tuple[list[Pair], list[BarcodeError]]:
    """Read human-readable bracketed text `(01)...(10)...`; `\\(` is a literal bracket."""
    pairs: list[Pair] = []
    errors: list[BarcodeError] = []
    position = 0
    end = len(text)
    while position < end:
        if text[position] != "(":
            errors.append(error("invalid_character", f"expected '(' at {position}"))
            break
        close = text.find(")", position + 1)
        ai = text[position + 1 : close] if close > 0 else ""
        if not (2 <= len(ai) <= 4 and ai.isascii() and ai.isdigit()):
            errors.append(error("invalid_character", f"no (AI) in brackets at {position}: {ai!r}"))
            break
        if ai not in AI_TABLE:
            errors.append(error("unknown_ai", f"({ai}) is not a GS1 Application Identifier"))
            break
        position = close + 1
        chars: list[str] = []
        while position < end:
            char = text[position]
            if char == "(":
                break
            if char == "\\" and text.startswith("(", position + 1):
                char = "("
                position += 1
            chars.append(char)
            position += 1
        pairs.append((ai, "".join(chars)))
    return pairs, errors


@lru_cache(maxsize=4096)
def _pairing_errors(ordered: tuple[str, ...]) -> tuple[BarcodeError, ...]:
    """What the GS1 pairing rules say of a set of AIs read in this order.

    A floor scans the same few AI combinations all day, so the answer is remembered.
    """
    found: list[BarcodeError] = []
    present = frozenset(ordered)
    for index, ai in enumerate(ordered):
        definition = AI_TABLE[ai]
        for group, sets in zip(definition.requires, definition.required_sets, strict=True):
            if not any(all(not s.isdisjoint(present) for s in alt) for alt in sets):
                wanted = " or ".join("+".join(f"({p})" for p in alt) for alt in group)
                found.append(error("ai_requires", f"AI ({ai}) must be used with {wanted}"))
        if definition.conflicts:
            for other in ordered[index + 1 :]:
                if other in definition.conflicts:
                    found.append(error("ai_excludes", f"AI ({ai}) must not be used with ({other})"))
    return tuple(found)


def validate_pairs(
    pairs: list[Pair], current_year: int, errors: list[BarcodeError], *, gs_delimited: bool
) -> tuple[dict[str, str], set[str]]:
    """Check every pair and the rules between them; append problems to `errors`.

    Returns the AIs in the order read, and the AIs whose own value is malformed. A repeat
    of an AI with the same value is harmless (GenSpec allows it, e.g. across two carriers);
    with another value it is `duplicate_ai`.
    `gs_delimited`: values were cut at GS, so an overlong one means a GS went missing.
    """
    ais: dict[str, str] = {}
    malformed: set[str] = set()
    for ai, value in pairs:
        known = ais.get(ai)
        if known is not None:
            if known != value:
                errors.append(
                    error("duplicate_ai", f"AI ({ai}) appears twice: {known!r} and {value!r}")
                )
            continue
        ais[ai] = value
        definition = AI_TABLE[ai]
        if gs_delimited and len(value) > definition.max_length:
            errors.append(
                error(
                    "missing_gs",
                    f"AI ({ai}) value has {len(value)} characters, more than its "
                    f"{definition.max_length}: is a GS separator missing?",
                )
            )
            malformed.add(ai)
            continue
        problems = check_value(definition, value, current_year)
        if problems:
            errors.extend(problems)
            malformed.add(ai)
    errors.extend(_pairing_errors(tuple(ais)))
    return ais, malformed
