"""The app's own routes, for tests that try every one of them (a read token on each, a
stranger on each repo route), so that a route is covered the day it is added."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import iter_route_contexts

from modelcommons.server.app import create_app

PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def api_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def endpoints() -> Iterator[tuple[Any, bool]]:
    """Each route with an endpoint and methods, and whether it is a page (web/) or the API."""
    for route in iter_route_contexts(create_app().routes):
        if route.endpoint is None or not route.methods:
            continue
        yield route, route.endpoint.__module__.startswith("modelcommons.web")


def fill(path: str, values: dict[str, str]) -> str:
    """A route's path with each {parameter} replaced by its value."""
    return PARAM.sub(lambda m: values[m.group(1)], path)
