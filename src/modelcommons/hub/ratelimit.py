"""Fixed-window counters shared by every server process (they live in the database), used to
slow down password guessing and sign-up floods.

An attempt is counted and checked in one statement (an upsert that returns the new count), so
parallel attempts cannot slip past a limit between a check and a count.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modelcommons.db.models import RateCounter, utcnow
from modelcommons.errors import TooManyRequestsError

COUNTERS = RateCounter.__table__


def address_key(host: str | None) -> str:
    """The bucket a client address counts in: the address itself, or its /64 for IPv6, where
    one subscriber holds a whole /64 and could otherwise rotate through addresses."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return (host or "unknown")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def take(session: Session, key: str, *, limit: int, window: timedelta, what: str) -> None:
    """Count one attempt for `key`, and refuse it when that makes more than `limit` in the
    current window (the caller's transaction then rolls the count back)."""
    now = utcnow()
    expired = COUNTERS.c.window_start <= now - window
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(COUNTERS).values(key=key, window_start=now, count=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=[COUNTERS.c.key],
        set_={
            "count": case((expired, 1), else_=COUNTERS.c.count + 1),
            "window_start": case((expired, now), else_=COUNTERS.c.window_start),
        },
    )
    count, start = session.execute(
        upsert.returning(COUNTERS.c.count, COUNTERS.c.window_start)
    ).one()
    if count > limit:
        raise too_many(what, start + window - now)


def too_many(what: str, wait: timedelta) -> TooManyRequestsError:
    """A 429 that says, in words and in Retry-After, when the window ends."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    when = f"{seconds} seconds" if seconds < 90 else f"{math.ceil(seconds / 60)} minutes"
    return TooManyRequestsError(f"Too many {what}; try again in {when}.", retry_after=seconds)


def refund(session: Session, key: str, *, window: timedelta) -> None:
    """Take back one attempt of the current window (one that turned out legitimate)."""
    session.execute(
        update(RateCounter)
        .where(
            RateCounter.key == key,
            RateCounter.count > 0,
            RateCounter.window_start > utcnow() - window,
        )
        .values(count=RateCounter.count - 1)
    )


def forget(session: Session, key: str) -> None:
    session.execute(delete(RateCounter).where(RateCounter.key == key))
