"""A live `commons serve` on a free port, and accounts made for each test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.cluster import serve
from tests.conftest import ENDPOINT, PORT, RUN_DIR
from tests.integration import pg, web_client


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here but the browser tests, the fuzzing pass (on a hub of its own) and the
    large-data tests (run once) speaks the HF protocol and runs again on PostgreSQL."""
    for item in items:
        if "/integration/" in str(item.path) and not any(
            item.get_closest_marker(mark) for mark in ("web", "fuzz", "large")
        ):
            item.add_marker(pytest.mark.protocol)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if os.environ.get("COMMONS_TEST_DATABASE") == "postgresql":
        with pg.temporary_database() as url:
            os.environ["COMMONS_DATABASE_URL"] = url
            os.environ["COMMONS_SECRET_KEY"] = uuid.uuid4().hex
            yield url
    else:
        url = f"sqlite:///{RUN_DIR}/home/commons.db"
        os.environ["COMMONS_DATABASE_URL"] = url
        yield url


def _commons(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"commons {' '.join(args)} failed: {result.stderr}")
    return result.stdout


RUNNING: dict[str, Any] = {}


@pytest.fixture(scope="session")
def running_cluster(hub: str) -> Any:
    """The cluster behind `hub`, for tests that kill and restart its processes."""
    if "cluster" not in RUNNING:
        pytest.skip("needs COMMONS_TEST_CLUSTER=1 (three servers behind nginx)")
    return RUNNING["cluster"]


@pytest.fixture(scope="session")
def hub(database_url: str) -> Iterator[str]:
    """The hub's URL, started once per session with the real CLI. COMMONS_TEST_CLUSTER=1
    makes it three servers behind nginx on PostgreSQL, SeaweedFS (S3) and Redis workers."""
    if os.environ.get("COMMONS_TEST_CLUSTER") == "1":
        from tests.cluster import cluster

        lease = {"COMMONS_JOB_LEASE_SECONDS": "6"}  # a killed worker's job moves on quickly
        with cluster(
            RUN_DIR / "cluster", database_url=database_url, port=PORT, extra_env=lease
        ) as running:
            # The tests' own CLI calls and signatures use the cluster's settings.
            os.environ.update({k: v for k, v in running.env.items() if k.startswith("COMMONS_")})
            RUNNING["cluster"] = running
            yield running.url
        return
    if not database_url.startswith("sqlite"):
        _commons("migrate")
    with serve(PORT, os.environ.copy(), RUN_DIR / "server.log") as url:
        assert url == ENDPOINT
        yield url


@dataclass(frozen=True)
class User:
    name: str
    token: str
    read_token: str


def make_user(hub: str, *, admin: bool = False) -> User:
    """A new user with a write and a read token, made with the real CLI."""
    name = "u" + uuid.uuid4().hex[:10]
    _commons("user", "create", name, *(["--admin"] if admin else []))
    token = _commons("token", "create", name).strip()
    read_token = _commons("token", "create", name, "--role", "read", "--name", "ro").strip()
    return User(name, token, read_token)


@pytest.fixture(scope="session")
def alice(hub: str) -> User:
    return make_user(hub)


@pytest.fixture(scope="session")
def bob(hub: str) -> User:
    return make_user(hub)


@pytest.fixture(scope="session")
def admin(hub: str) -> User:
    """A hub administrator (the only ones who see hub-wide figures)."""
    return make_user(hub, admin=True)


@pytest.fixture
def api(hub: str, alice: User):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub, token=alice.token)


@pytest.fixture
def repo_id(api, alice: User) -> str:
    """A fresh public model repo of alice's."""
    rid = f"{alice.name}/r-{uuid.uuid4().hex[:8]}"
    api.create_repo(rid)
    return rid


def commons_cli(*args: str) -> str:
    return _commons(*args)


@pytest.fixture(autouse=True)
def _close_web_clients() -> Iterator[None]:
    """The form clients a test made (tests/integration/web_client.py) close when it ends."""
    yield
    web_client.close_all()
