"""Strict JSON bodies: a string where a number belongs is an error, not a guess.

Litestar converts request data leniently (`"1"` becomes `1`). Warehouse writes should not
guess, so before a handler runs its JSON body is decoded strictly against the same msgspec
Struct, and any mismatch is a 400 naming the field.
"""

from __future__ import annotations

import re
import typing
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.handlers.http_handlers import HTTPRouteHandler

__all__ = ["check_body_strictly"]

_PATH = re.compile(r"at `\$\.?([^`]*)`")


@cache
def _body_type(handler: HTTPRouteHandler) -> type[msgspec.Struct] | None:
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return None
    annotation = parameter.annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    return None


async def check_body_strictly(request: Request[Any, Any, Any]) -> None:
    """Before-request hook: refuse a JSON body whose types do not match exactly."""
    body_type = _body_type(request.route_handler)
    if body_type is None:
        return
    body = await request.body()
    if not body:
        return
    try:
        msgspec.json.decode(body, type=body_type, strict=True)
    except msgspec.ValidationError as error:
        message = str(error)
        match = _PATH.search(message)
        key = match.group(1) if match and match.group(1) else "data"
        raise ValidationException(
            detail=message,
            extra=[{"message": message.split(" - at ")[0], "key": key, "source": "body"}],
        ) from error
    except msgspec.DecodeError:
        return  # Litestar reports malformed JSON itself.
