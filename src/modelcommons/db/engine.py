"""Engine and sessions for SQLite (embedded) and PostgreSQL (scale-out).

On SQLite, write transactions start with BEGIN IMMEDIATE so that a read-then-write (the ref
compare-and-swap) never fails with a lock upgrade error; readers keep WAL's concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from modelcommons.config import get_settings

# Re-exported so that routes and pages can name the type without importing SQLAlchemy.
__all__ = [
    "Session",
    "get_engine",
    "in_batches",
    "make_engine",
    "read_session",
    "write_session",
]

_WRITE = "commons_write"


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def read_session() -> Iterator[Session]:
    with _session_factory()() as session:
        yield session


@contextmanager
def write_session() -> Iterator[Session]:
    """A session whose transaction holds SQLite's write lock from the start; commits on exit."""
    with _session_factory()() as session:
        session.connection(execution_options={_WRITE: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


IN_LIST = 500  # values per IN (...) list: far below every database's parameter limit


def in_batches(values: Iterable[str]) -> Iterator[list[str]]:
    """Distinct values, sorted, a few hundred at a time: one IN (...) query per batch."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), IN_LIST):
        yield ordered[start : start + IN_LIST]
