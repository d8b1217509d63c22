"""Tree listings and paths-info, read from the per-commit file index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from modelcommons.db.engine import Session
from modelcommons.errors import InvalidInputError
from modelcommons.hub import cursors, files, history, refs
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
# The Hub's page sizes and the most a `limit` may ask for (1000 plain, 100 with expand=true).
PAGE, EXPANDED_PAGE = 1000, 100


def _entries_json(
    session: Session, repo: Repo, entries: list[FileEntry], *, expand: bool
) -> list[dict[str, Any]]:
    shas = {e.last_commit_sha for e in entries if e.last_commit_sha} if expand else set()
    commits = history.commits_by_sha(session, repo, shas)  # none asked for: no query
    return [shapes.tree_entry(session, e, expand=expand, commits=commits) for e in entries]


@dataclass(frozen=True)
class TreeQuery:
    """A tree listing's options; `cursor` is the signed token a Link header carried."""

    recursive: bool
    expand: bool
    limit: int
    cursor: str | None


def _tree_query(
    recursive: str | None = None,
    expand: str | None = None,
    limit: str | None = None,
    cursor: str | None = None,
) -> TreeQuery:
    """Read by hand, not typed for FastAPI: a `limit` out of the Hub's range is our 400 naming
    the range (not a clamp, not a validation error of another shape)."""
    wide = is_true(expand)
    most = EXPANDED_PAGE if wide else PAGE
    if limit is not None and not (
        limit.isascii() and limit.isdigit() and len(limit) <= 10 and 1 <= int(limit) <= most
    ):
        with_expand = " with expand=true" if wide else ""
        raise InvalidInputError(f"'limit' must be a whole number from 1 to {most}{with_expand}.")
    return TreeQuery(is_true(recursive), wide, int(limit) if limit is not None else most, cursor)


TreeOptions = Annotated[TreeQuery, Depends(_tree_query)]


def _tree(
    session: Session,
    principal: Principal,
    repo: RepoPath,
    rev: str,
    path: str,
    query: TreeQuery,
    request: Request,
    response: Response,
    base: str,
) -> list[dict[str, Any]]:
    found = get_repo(session, principal, repo.type, repo.id)
    sha = refs.resolve_revision(session, found, decoded(rev))
    listing = cursors.Listing(found.id, decoded(path).strip("/"), query.recursive)
    start = cursors.read(listing, query.cursor) if query.cursor is not None else cursors.START
    # One entry more than the page tells whether a next page exists without asking for it.
    entries = files.list_tree(
        session,
        found,
        sha,
        path=listing.path,
        recursive=query.recursive,
        after=start.after,
        limit=query.limit + 1,
    )
    page = entries[: query.limit]
    if len(entries) > query.limit:
        following = cursors.issue(listing, start.then(page[-1].path, len(page)))
        response.headers["Link"] = next_link(request, base, cursor=following)
    return _entries_json(session, found, page, expand=query.expand)


@router.get(REPO + "/tree/{rev}")
def tree_root(
    repo: RepoInUrl,
    rev: str,
    query: TreeOptions,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    base: BaseUrl,
    session: ReadSession,
) -> list[dict[str, Any]]:
    return _tree(session, principal, repo, rev, "", query, request, response, base)


@router.get(REPO + "/tree/{rev}/{path:path}")
def tree_path(
    repo: RepoInUrl,
    rev: str,
    path: str,
    query: TreeOptions,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    base: BaseUrl,
    session: ReadSession,
) -> list[dict[str, Any]]:
    return _tree(session, principal, repo, rev, path, query, request, response, base)


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
