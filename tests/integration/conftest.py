"""A live `commons serve` on a free port, and accounts made for each test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ENDPOINT, PORT, RUN_DIR
from tests.integration import pg


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here but the browser tests speaks the HF protocol and runs again on
    PostgreSQL."""
    for item in items:
        if "/integration/" in str(item.path) and item.get_closest_marker("web") is None:
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


@contextmanager
def running_hub(port: int, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`commons serve` on a port with the given environment, until the block ends."""
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "modelcommons.cli.main", "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text())
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the hub did not start in 60 s:\n" + log_path.read_text())
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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
    with running_hub(PORT, os.environ.copy(), RUN_DIR / "server.log") as url:
        assert url == ENDPOINT
        yield url


@dataclass(frozen=True)
class User:
    name: str
    token: str
    read_token: str


def make_user(hub: str) -> User:
    """A new user with a write and a read token, made with the real CLI."""
    name = "u" + uuid.uuid4().hex[:10]
    _commons("user", "create", name)
    token = _commons("token", "create", name).strip()
    read_token = _commons("token", "create", name, "--role", "read", "--name", "ro").strip()
    return User(name, token, read_token)


@pytest.fixture(scope="session")
def alice(hub: str) -> User:
    return make_user(hub)


@pytest.fixture(scope="session")
def bob(hub: str) -> User:
    return make_user(hub)


@pytest.fixture
def api(hub: str, alice: User):  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub, token=alice.token)


@pytest.fixture
def repo_id(api, alice: User) -> str:  # type: ignore[no-untyped-def]
    """A fresh public model repo of alice's."""
    rid = f"{alice.name}/r-{uuid.uuid4().hex[:8]}"
    api.create_repo(rid)
    return rid


def commons_cli(*args: str) -> str:
    return _commons(*args)
