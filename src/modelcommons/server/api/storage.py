"""Storage accounting routes (our extra): logical vs stored bytes for a repo (whoever may
read it) and for the whole hub (administrators: the totals describe everyone's content)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelcommons.errors import PermissionDeniedError, UnauthorizedError
from modelcommons.hub import accounting
from modelcommons.hub.repos import get_repo
from modelcommons.server.deps import CurrentPrincipal, ReadSession, RepoInUrl

router = APIRouter()


@router.get("/api/storage")
def hub_storage(principal: CurrentPrincipal, session: ReadSession) -> dict[str, Any]:
    if principal.user is None:
        raise UnauthorizedError("Hub storage figures are for administrators; pass a token.")
    if not principal.user.is_admin:
        raise PermissionDeniedError("Hub-wide storage figures are for administrators only.")
    return accounting.hub_stats(session).as_json()


@router.get("/api/{types}/{namespace}/{name}/storage")
def repo_storage(
    repo: RepoInUrl, principal: CurrentPrincipal, session: ReadSession
) -> dict[str, Any]:
    found = get_repo(session, principal, repo.type, repo.id)
    return {"id": found.repo_id, **accounting.repo_stats(session, found).as_json()}
