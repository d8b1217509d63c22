"""Tree listings and paths-info, read from the per-commit file index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from modelcommons.db.engine import Session
from modelcommons.errors import InvalidInputError
from modelcommons.hub import files, history, refs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.files import FileEntry
from modelcommons.hub.repos import Repo, get_repo
from modelcommons.server.api.hf import shapes
from modelcommons.server.api.hf.common import is_true, next_link
from modelcommons.server.bodies import json_object
from modelcommons.server.deps import (
    BaseUrl,
    CurrentPrincipal,
    ReadSession,
    RepoInUrl,
    RepoPath,
    decoded,
)

router = APIRouter()
REPO = "/api/{types}/{namespace}/{name}"
PAGE, EXPANDED_PAGE = 1000, 100


def _entries_json(
    session: Session, repo: Repo, entries: list[FileEntry], *, expand: bool
) -> list[dict[str, Any]]:
    shas = {e.last_commit_sha for e in entries if e.last_commit_sha} if expand else set()
    commits = history.commits_by_sha(session, repo, shas)  # none asked for: no query
    return [shapes.tree_entry(session, e, expand=expand, commits=commits) for e in entries]


def _tree(
    session: Session,
    repo: RepoPath,
    rev: str,
    path: str,
    request: Request,
    response: Response,
    principal: Principal,
    base: str,
) -> list[dict[str, Any]]:
    expand = is_true(request.query_params.get("expand"))
    recursive = is_true(request.query_params.get("recursive"))
    cursor = request.query_params.get("cursor")
    page = EXPANDED_PAGE if expand else PAGE
    found = get_repo(session, principal, repo.type, repo.id)
    sha = refs.resolve_revision(session, found, decoded(rev))
    entries = files.list_tree(
        session, found, sha, path=decoded(path), recursive=recursive, after=cursor, limit=page
    )
    body = _entries_json(session, found, entries, expand=expand)
    if len(entries) == page:
        response.headers["Link"] = next_link(request, base, cursor=entries[-1].path)
    return body


@router.get(REPO + "/tree/{rev}")
def tree_root(
    repo: RepoInUrl,
    rev: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    base: BaseUrl,
    session: ReadSession,
) -> list[dict[str, Any]]:
    return _tree(session, repo, rev, "", request, response, principal, base)


@router.get(REPO + "/tree/{rev}/{path:path}")
def tree_path(
    repo: RepoInUrl,
    rev: str,
    path: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    base: BaseUrl,
    session: ReadSession,
) -> list[dict[str, Any]]:
    return _tree(session, repo, rev, path, request, response, principal, base)


# The body is read by hand (JSON, or a form as older clients send it); declared for the schema.
_PATHS_INFO_FIELDS = {
    "type": "object",
    "properties": {
        "paths": {"type": "array", "items": {"type": "string"}},
        "expand": {"type": "boolean"},
    },
}
_PATHS_INFO_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": _PATHS_INFO_FIELDS},
            "application/x-www-form-urlencoded": {"schema": _PATHS_INFO_FIELDS},
        }
    }
}


@dataclass(frozen=True)
class PathsQuery:
    paths: list[str]
    expand: bool


async def _paths_query(request: Request) -> PathsQuery:
    """The paths asked for, as JSON or as a form (older clients send one)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        payload = await json_object(request)
        paths, expand = payload.get("paths", []), bool(payload.get("expand"))
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise InvalidInputError("'paths' must be a list of strings.")
        return PathsQuery(paths, expand)
    form = await request.form()
    return PathsQuery([str(p) for p in form.getlist("paths")], is_true(str(form.get("expand", ""))))


@router.post(REPO + "/paths-info/{rev}", openapi_extra=_PATHS_INFO_BODY)
def paths_info(
    repo: RepoInUrl,
    rev: str,
    principal: CurrentPrincipal,
    query: Annotated[PathsQuery, Depends(_paths_query)],
    session: ReadSession,
) -> list[dict[str, Any]]:
    found = get_repo(session, principal, repo.type, repo.id)
    sha = refs.resolve_revision(session, found, decoded(rev))
    entries = files.paths_info(session, found, sha, query.paths)
    return _entries_json(session, found, entries, expand=query.expand)
