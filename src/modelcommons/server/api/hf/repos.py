"""Repo lifecycle, info and listings: /api/repos/*, /api/{type}s[/{ns}/{name}[/revision/{rev}]]."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from modelcommons.db.engine import Session
from modelcommons.errors import ConflictError, InvalidInputError
from modelcommons.hub import lifecycle, refs
from modelcommons.hub import repos as hub_repos
from modelcommons.hub.accounts import Principal
from modelcommons.hub.files import folder_counts, iter_files, main_files
from modelcommons.hub.names import validate_repo_type
from modelcommons.server.api.hf import shapes
from modelcommons.server.api.hf.common import is_true, next_link, repo_type_of
from modelcommons.server.deps import (
    BaseUrl,
    CurrentPrincipal,
    JsonBody,
    ReadSession,
    RepoInUrl,
    RepoPath,
    WriteSession,
    decoded,
)

router = APIRouter()
MAX_PAGE = 1000
# Siblings one page of `full=true` lists: a page stops at the repo that passes it, and its
# Link names the rest. 1,000 repos of 25,000 files each (a commit's cap) made one anonymous
# listing load and send 25 million.
MAX_SIBLINGS_PER_PAGE = 100_000
# Siblings one repo's info lists. Past 50,000 (huggingface_hub's VERY_LARGE_REPO_THRESHOLD
# before 1.0) clients distrust `siblings` and list the tree instead, as they must on the Hub;
# newer ones always list the tree. So a repo of a million files costs a bounded answer.
MAX_SIBLINGS = 50_001


def _repo_id(body: dict[str, Any], key: str = "name") -> str:
    name = body.get(key)
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"Missing {key!r} in the request body.")
    organization = body.get("organization")
    if "/" in name or not organization:
        return name
    return f"{organization}/{name}"


def _qualified(principal: CurrentPrincipal, repo_id: str) -> str:
    """Repo ids without a namespace belong to the caller, as on the Hub."""
    if "/" not in repo_id and principal.user is not None:
        return f"{principal.user.name}/{repo_id}"
    return repo_id


@router.post("/api/repos/create")
def create_repo(principal: CurrentPrincipal, base: BaseUrl, body: JsonBody) -> dict[str, Any]:
    repo_type = body.get("type") or "model"
    repo_id = _qualified(principal, _repo_id(body))
    visibility = body.get("visibility", "private" if body.get("private") else "public")
    if visibility not in ("public", "private"):
        raise InvalidInputError(f"Invalid visibility {visibility!r}: public or private.")
    try:
        repo = lifecycle.create_repo(
            principal,
            repo_type=validate_repo_type(repo_type),
            repo_id=repo_id,
            private=visibility == "private",
        )
    except ConflictError as exc:
        prefix = shapes.URL_PREFIX.get(repo_type, "")
        exc.extra["url"] = f"{base}/{prefix}{exc.extra.get('repo_id', repo_id)}"
        raise
    return {"url": shapes.repo_url(base, repo), "name": repo.repo_id, "id": str(repo.id)}


@router.delete("/api/repos/delete")
def delete_repo(
    principal: CurrentPrincipal, body: JsonBody, session: WriteSession
) -> dict[str, str]:
    repo_id = _qualified(principal, _repo_id(body))
    lifecycle.delete_repo(session, principal, validate_repo_type(body.get("type")), repo_id)
    return {"deleted": repo_id}


@router.post("/api/repos/move")
def move_repo(
    principal: CurrentPrincipal, base: BaseUrl, body: JsonBody, session: WriteSession
) -> dict[str, str]:
    from_id, to_id = _repo_id(body, "fromRepo"), _repo_id(body, "toRepo")
    repo_type = validate_repo_type(body.get("type"))
    repo = lifecycle.move_repo(session, principal, repo_type, from_id, to_id)
    return {"url": shapes.repo_url(base, repo)}


@router.put("/api/{types}/{namespace}/{name}/settings")
def update_settings(
    repo: RepoInUrl, principal: CurrentPrincipal, body: JsonBody, session: WriteSession
) -> dict[str, Any]:
    visibility = body.get("visibility")
    private = body.get("private")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise InvalidInputError(f"Invalid visibility {visibility!r}: public or private.")
        private = visibility == "private"
    elif private is not None and not isinstance(private, bool):
        raise InvalidInputError("'private' must be true or false.")
    gated = body.get("gated")
    if gated not in (None, False, "auto", "manual"):  # the Hub's values (we support false)
        raise InvalidInputError("'gated' must be false, 'auto' or 'manual'.")
    updated = lifecycle.update_settings(
        session, principal, repo.type, repo.id, private=private, gated=gated
    )
    return {"private": updated.private, "gated": False}


@router.get("/api/{types}")
def list_repos(
    types: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    base: BaseUrl,
    search: str | None = None,
    author: str | None = None,
    filter: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    sort: str | None = None,
    limit: int | None = Query(default=None, ge=1),
    offset: int = Query(default=0, ge=0),
    full: str | None = None,
    cardData: str | None = None,
    *,
    session: ReadSession,
) -> list[dict[str, Any]]:
    repo_type = repo_type_of(types)
    page = min(limit or MAX_PAGE, MAX_PAGE)
    query = hub_repos.RepoQuery(
        search=search, author=author, filters=tuple(filter), sort=sort, limit=page, offset=offset
    )
    repos, more = hub_repos.list_repos(session, principal, repo_type, query)
    found = len(repos)
    repos, heads = (
        main_files(session, repos, max_files=MAX_SIBLINGS_PER_PAGE)
        if is_true(full)
        else (repos, {})
    )
    cut = len(repos) < found  # the page's siblings ran out: the rest on the next page
    tags = hub_repos.tags_by_repo(session, repos)
    items = []
    for repo in repos:
        item = shapes.repo_summary(repo, tags[repo.id])
        if is_true(full) or is_true(cardData):
            item["cardData"] = repo.card_data or {}
        if repo.id in heads:
            sha, files = heads[repo.id]
            item["sha"] = sha
            item["siblings"] = [shapes.sibling(f, blobs=False) for f in files]
        items.append(item)
    if cut or (more and (limit is None or limit > page)):
        response.headers["Link"] = next_link(request, base, offset=offset + len(repos))
    return items


def _repo_info(
    session: Session, repo: RepoPath, rev: str, principal: Principal, blobs: bool
) -> dict[str, Any]:
    found = hub_repos.get_repo(session, principal, repo.type, repo.id)
    sha = refs.resolve_revision(session, found, rev)
    files = list(islice(iter_files(session, found, sha), MAX_SIBLINGS))
    return shapes.repo_info(
        found,
        hub_repos.repo_tags(session, found),
        sha=sha,
        files=files,
        used_storage=folder_counts(session, found, sha)[1],
        blobs=blobs,
    )


@router.get("/api/{types}/{namespace}/{name}")
def repo_info(
    repo: RepoInUrl, principal: CurrentPrincipal, blobs: str | None = None, *, session: ReadSession
) -> dict[str, Any]:
    return _repo_info(session, repo, refs.DEFAULT_BRANCH, principal, is_true(blobs))


@router.get("/api/{types}/{namespace}/{name}/revision/{rev}")
def revision_info(
    repo: RepoInUrl,
    rev: str,
    principal: CurrentPrincipal,
    blobs: str | None = None,
    *,
    session: ReadSession,
) -> dict[str, Any]:
    return _repo_info(session, repo, decoded(rev), principal, is_true(blobs))
