"""GS1 Digital Link URIs: `https://any.domain/[stem/]01/{gtin}[/22/..][/10/..][/21/..]?17=..`.

The primary key and its qualifiers are read from the end of the path backwards (so a
domain's own path stem is allowed in front), qualifiers must follow the key's order from
the AI table, and the query carries the other AIs as numeric keys. Non-numeric query keys
(`linkType`, `context`...) are not data and are ignored; the deprecated convenience
alphas (`exp`, `lot`...) are not read as AIs. Values are percent-decoded before checking.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .dictionary import AI_TABLE
from .errors import error
from .parsed import BarcodeError

__all__ = ["SCHEME", "read_digital_link"]

SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
"""A URI scheme and authority marker: what tells a URI from other scanned text."""

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%#\[\]]*")
_HOST = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+")

Pair = tuple[str, str]


def _decode(text: str, errors: list[BarcodeError]) -> str | None:
    if _BAD_PERCENT.search(text):
        errors.append(error("invalid_uri", f"bad percent-encoding in {text!r}"))
        return None
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        errors.append(error("invalid_uri", f"percent-encoding of {text!r} is not UTF-8"))
        return None


def _qualifiers_fit(key: str, qualifiers: list[str]) -> bool:
    """Whether `qualifiers` appear in one of the key's allowed sequences, in order."""
    if not qualifiers:
        return True
    for sequence in AI_TABLE[key].dl_qualifiers:
        position = 0
        for ai in qualifiers:
            try:
                position = sequence.index(ai, position) + 1
            except ValueError:
                break
        else:
            return True
    return False


def read_digital_link(uri: str) -> tuple[list[Pair], list[BarcodeError], bool]:
    """The AI/value pairs a Digital Link URI carries, with problems found.

    The flag says whether a GS1 primary key was found, i.e. whether this is a Digital Link
    at all rather than some other web address.
    """
    errors: list[BarcodeError] = []
    scheme_end = uri.find("://")
    scheme = uri[:scheme_end].lower()
    if scheme not in ("http", "https"):
        errors.append(error("bad_scheme", f"scheme {scheme!r}: a Digital Link is http(s)"))
        return [], errors, False
    if not _URI_CHARS.fullmatch(uri):
        bad = next(char for char in uri if not _URI_CHARS.fullmatch(char))
        errors.append(error("invalid_character", f"{bad!r} is not allowed in a URI"))
        return [], errors, False
    rest = uri[scheme_end + 3 :]
    rest, _, _fragment = rest.partition("#")
    rest, has_query, query = rest.partition("?")
    host, slash, path = rest.partition("/")
    if not _HOST.fullmatch(host):
        errors.append(error("invalid_uri", "the URI has no host"))
        return [], errors, False
    segments = path.split("/") if slash else []
    if segments and segments[-1] == "":
        segments.pop()
    pairs: list[Pair] = []
    end = len(segments)
    while end >= 2 and segments[end - 2] in AI_TABLE:
        pairs.append((segments[end - 2], segments[end - 1]))
        end -= 2
    pairs.reverse()
    if not pairs or not AI_TABLE[pairs[0][0]].dl_primary_key:
        if any(AI_TABLE[ai].dl_primary_key for ai, _ in pairs):
            errors.append(error("dl_invalid_path", "the path has AIs before its primary key"))
        else:
            errors.append(error("dl_missing_key", "no GS1 primary key (/01/, /00/...) in path"))
        return [], errors, bool(pairs)
    key = pairs[0][0]
    qualifiers = [ai for ai, _ in pairs[1:]]
    if not _qualifiers_fit(key, qualifiers):
        allowed = " or ".join("/".join(seq) for seq in AI_TABLE[key].dl_qualifiers) or "none"
        errors.append(
            error(
                "dl_invalid_path",
                f"path qualifiers {'/'.join(qualifiers)} do not fit key ({key}); "
                f"allowed in this order: {allowed}",
            )
        )
    decoded: list[Pair] = []
    for ai, raw in pairs:
        value = _decode(raw, errors)
        if value is not None:
            decoded.append((ai, value))
    in_path = {ai for ai, _ in pairs}
    path_qualifiers = {ai for seq in AI_TABLE[key].dl_qualifiers for ai in seq}
    if has_query:
        for parameter in query.split("&"):
            name, _, raw = parameter.partition("=")
            if not (name.isascii() and name.isdigit()):
                continue
            if name not in AI_TABLE:
                errors.append(error("unknown_ai", f"query key {name} is not a GS1 AI"))
                continue
            if AI_TABLE[name].dl_primary_key or name in path_qualifiers:
                where = "path qualifier" if name in path_qualifiers else "primary key"
                errors.append(
                    error("dl_invalid_query", f"AI ({name}) is a {where}; it belongs in the path")
                )
                continue
            if name in in_path:
                errors.append(error("dl_invalid_query", f"AI ({name}) is already in the path"))
                continue
            value = _decode(raw, errors)
            if value is not None:
                decoded.append((name, value))
    return decoded, errors, True
