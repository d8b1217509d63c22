"""JSON bodies: what every route taking one checks once it is parsed (its size is capped
as it arrives, server/limits.py)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from modelcommons.config import get_settings
from modelcommons.errors import InvalidInputError

# Set in the scope by routes that parse the body themselves, so that its size is capped
# whatever its Content-Type says.
PARSED_FLAG = "commons.parsed_whole"


def check_json(value: Any) -> Any:
    """Refuse JSON nested deeper than the hub's limit, or holding a lone surrogate (json
    accepts the escape `\\ud800`, but no database or response can encode it)."""
    limit = get_settings().max_json_depth
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                raise ValueError(f"JSON nested deeper than {limit} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and not _encodable(item):
            raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff): not Unicode")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, for routes that read it themselves (so that one whose
    Content-Type is missing is still parsed under the cap): a 400 for anything else."""
    request.scope[PARSED_FLAG] = True
    try:
        value = json.loads(await request.body())
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, or absurdly deep
        raise InvalidInputError(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInputError("The body must be a JSON object.")
    try:
        check_json(value)
    except ValueError as exc:
        raise InvalidInputError(f"Invalid JSON body: {exc}.") from exc
    return value
