"""Likes as the Hub serves them: like, unlike (`HfApi.unlike`) and a user's likes
(`HfApi.list_liked_repos`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelcommons.db.engine import Session
from modelcommons.hub import likes
from modelcommons.hub.accounts import get_account
from modelcommons.hub.repos import can_see, get_repo
from modelcommons.server.api.hf.shapes import iso
from modelcommons.server.deps import CurrentPrincipal, ReadSession, RepoInUrl, WriteSession

router = APIRouter()


def _set(
    session: Session, repo: RepoInUrl, principal: CurrentPrincipal, *, liked: bool
) -> dict[str, Any]:
    found = get_repo(session, principal, repo.type, repo.id)
    likes.set_like(session, principal, found, liked=liked)
    return {"liked": liked}


@router.post("/api/{types}/{namespace}/{name}/like")
def like(repo: RepoInUrl, principal: CurrentPrincipal, session: WriteSession) -> dict[str, Any]:
    return _set(session, repo, principal, liked=True)


@router.delete("/api/{types}/{namespace}/{name}/like")
def unlike(repo: RepoInUrl, principal: CurrentPrincipal, session: WriteSession) -> dict[str, Any]:
    return _set(session, repo, principal, liked=False)


@router.get("/api/users/{user}/likes")
def user_likes(
    user: str, principal: CurrentPrincipal, session: ReadSession
) -> list[dict[str, Any]]:
    account = get_account(session, user, kind="user")
    return [
        {"createdAt": iso(liked_at), "repo": {"name": repo.repo_id, "type": repo.type}}
        for repo, liked_at in likes.liked_repos(session, account.id)
        if can_see(principal, repo)
    ]
