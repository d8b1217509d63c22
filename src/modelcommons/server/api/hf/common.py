"""Helpers shared by the HF protocol routes."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from modelcommons.errors import NotFoundError
from modelcommons.hub.names import RepoType

REPO_TYPES: dict[str, RepoType] = {"models": "model", "datasets": "dataset", "spaces": "space"}


def repo_type_of(plural: str) -> RepoType:
    try:
        return REPO_TYPES[plural]
    except KeyError as exc:
        raise NotFoundError(f"Unknown repo type {plural!r}.") from exc


def is_true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def next_link(request: Request, base: str, **changes: object) -> str:
    """A `Link: <...>; rel="next"` header value keeping every query parameter."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items()]
    return f'<{base}{request.url.path}?{urlencode(params)}>; rel="next"'
