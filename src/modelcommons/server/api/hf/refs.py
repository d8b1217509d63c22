"""Refs, branches, tags and commit history: /api/{type}s/{ns}/{name}/(refs|branch|tag|commits)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from modelcommons.errors import InvalidInputError
from modelcommons.hub import refs as hub_refs
from modelcommons.hub.repos import get_repo
from modelcommons.server.api.hf import shapes
from modelcommons.server.api.hf.common import is_true, next_link
from modelcommons.server.deps import (
    BaseUrl,
    CurrentPrincipal,
    JsonBody,
    OptionalJsonBody,
    ReadSession,
    RepoInUrl,
    WriteSession,
    decoded,
)

router = APIRouter()
REPO = "/api/{types}/{namespace}/{name}"
COMMITS_PER_PAGE = 100


@router.get(REPO + "/refs")
def list_refs(
    repo: RepoInUrl,
    principal: CurrentPrincipal,
    include_prs: str | None = None,
    *,
    session: ReadSession,
) -> dict[str, Any]:
    found = hub_refs.list_refs(session, get_repo(session, principal, repo.type, repo.id))
    as_json = {
        kind: [{"name": r.name, "ref": r.ref, "targetCommit": r.target} for r in items]
        for kind, items in found.items()
    }
    body: dict[str, Any] = {
        "branches": as_json["branches"],
        "converts": [],
        "tags": as_json["tags"],
    }
    if is_true(include_prs):
        body["pullRequests"] = as_json["pullRequests"]
    return body


@router.get(REPO + "/commits/{rev}")
def list_commits(
    repo: RepoInUrl,
    rev: str,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    base: BaseUrl,
    p: int = Query(default=0, ge=0),
    limit: int = Query(default=COMMITS_PER_PAGE, ge=1, le=1000),
    *,
    session: ReadSession,
) -> list[dict[str, Any]]:
    formatted = "formatted" in request.query_params.getlist("expand[]")
    found = get_repo(session, principal, repo.type, repo.id)
    head = hub_refs.resolve_revision(session, found, decoded(rev))
    page = hub_refs.commit_history(session, found, head, skip=p * limit, limit=limit)
    if page.more:
        response.headers["Link"] = next_link(request, base, p=p + 1)
    return [shapes.commit_entry(c, formatted=formatted) for c in page.commits]


@router.post(REPO + "/branch/{branch}")
def create_branch(
    repo: RepoInUrl,
    branch: str,
    principal: CurrentPrincipal,
    body: OptionalJsonBody = None,
    *,
    session: WriteSession,
) -> dict[str, str]:
    starting_point = (body or {}).get("startingPoint")
    if starting_point is not None and not isinstance(starting_point, str):
        raise InvalidInputError("'startingPoint' must be a revision string.")
    found = get_repo(session, principal, repo.type, repo.id, need="write")
    hub_refs.create_branch(session, found, decoded(branch), starting_point=starting_point)
    return {"branch": decoded(branch)}


@router.delete(REPO + "/branch/{branch}")
def delete_branch(
    repo: RepoInUrl, branch: str, principal: CurrentPrincipal, session: WriteSession
) -> dict[str, str]:
    found = get_repo(session, principal, repo.type, repo.id, need="write")
    hub_refs.delete_branch(session, found, decoded(branch))
    return {"deleted": decoded(branch)}


@router.post(REPO + "/tag/{rev}")
def create_tag(
    repo: RepoInUrl, rev: str, principal: CurrentPrincipal, body: JsonBody, session: WriteSession
) -> dict[str, str]:
    tag = body.get("tag")
    if not isinstance(tag, str):
        raise InvalidInputError("Missing 'tag' in the request body.")
    found = get_repo(session, principal, repo.type, repo.id, need="write")
    hub_refs.create_tag(session, found, tag, revision=decoded(rev))
    return {"tag": tag}


@router.delete(REPO + "/tag/{tag}")
def delete_tag(
    repo: RepoInUrl, tag: str, principal: CurrentPrincipal, session: WriteSession
) -> dict[str, str]:
    found = get_repo(session, principal, repo.type, repo.id, need="write")
    hub_refs.delete_tag(session, found, decoded(tag))
    return {"deleted": decoded(tag)}
