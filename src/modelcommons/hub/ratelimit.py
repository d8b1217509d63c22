"""Fixed-window counters shared by every server process (they live in the database), used to
slow down password guessing and sign-up floods."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelcommons.db.models import RateCounter, utcnow
from modelcommons.errors import TooManyRequestsError


def check(session: Session, key: str, *, limit: int, window: timedelta, what: str) -> None:
    """Refuse when `key` already reached `limit` attempts in the current window."""
    counter = session.get(RateCounter, key)
    if counter is None or counter.window_start + window <= utcnow():
        return
    if counter.count >= limit:
        wait = counter.window_start + window - utcnow()
        minutes = max(1, round(wait.total_seconds() / 60))
        raise TooManyRequestsError(f"Too many {what}; try again in {minutes} minute(s).")


def count(session: Session, key: str, *, window: timedelta) -> None:
    """One more attempt for `key` (call it in a write session, which serializes writers)."""
    now = utcnow()
    counter = session.get(RateCounter, key, with_for_update=True)
    if counter is None:
        try:
            with session.begin_nested():
                session.add(RateCounter(key=key, window_start=now, count=1))
            return
        except IntegrityError:  # another process counted the first attempt just now
            counter = session.get(RateCounter, key, with_for_update=True, populate_existing=True)
            assert counter is not None
    if counter.window_start + window <= now:
        counter.window_start, counter.count = now, 1
    else:
        counter.count += 1


def forget(session: Session, key: str) -> None:
    session.execute(delete(RateCounter).where(RateCounter.key == key))
