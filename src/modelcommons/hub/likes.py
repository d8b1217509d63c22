"""Likes: a user's bookmark of a repo, counted on the repo for sorting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from modelcommons.db.models import Like, Repo
from modelcommons.errors import UnauthorizedError
from modelcommons.hub.accounts import Principal


def _user_id(principal: Principal) -> int:
    if principal.user is None:
        raise UnauthorizedError("Log in to like a repo.")
    return principal.user.id


def set_like(session: Session, principal: Principal, repo: Repo, *, liked: bool) -> None:
    """Like or unlike; idempotent, and the repo's counter moves only on a change."""
    user_id = _user_id(principal)
    existing = session.get(Like, (user_id, repo.id))
    if liked == (existing is not None):
        return
    if liked:
        session.add(Like(user_id=user_id, repo_id=repo.id))
    else:
        session.delete(existing)
    step = 1 if liked else -1
    session.execute(update(Repo).where(Repo.id == repo.id).values(likes=Repo.likes + step))


def likes(session: Session, principal: Principal, repo: Repo) -> bool:
    if principal.user is None:
        return False
    return session.get(Like, (principal.user.id, repo.id)) is not None


def liked_repos(session: Session, user_id: int) -> list[tuple[Repo, datetime]]:
    """The repos a user likes, newest like first, with when; callers filter visibility."""
    stmt = (
        select(Repo, Like.created_at)
        .join(Like, Like.repo_id == Repo.id)
        .where(Like.user_id == user_id)
        .order_by(Like.created_at.desc())
    )
    return [(repo, liked_at) for repo, liked_at in session.execute(stmt)]
