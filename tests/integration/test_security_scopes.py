"""Scopes that hold: a read token never changes state, through any route.

Every route with a method other than GET/HEAD/OPTIONS is sent alice's READ token, with its
path filled with alice's own repos, job and org (so that authorization by repo cannot be what
refuses), and must refuse; afterwards nothing has changed. The few POSTs that only read
(deps.READ_ONLY_POSTS) are checked to work with a read token and change nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from modelcommons.server.deps import READ_ONLY_POSTS, READ_ONLY_REFUSAL, get_principal
from tests.integration.app_routes import api_headers, endpoints, fill
from tests.integration.conftest import User, commons_cli
from tests.integration.jobs import wait_for_job

SAFE = {"GET", "HEAD", "OPTIONS"}
# Forms for people without a session: a token signs nobody in there, and they touch no repo.
ANONYMOUS_FORMS = {"/login", "/signup", "/logout"}


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    uses_token: bool  # identifies its caller by token (others use signatures or sessions)
    web: bool
    query: tuple[str, ...]  # required query parameters, filled with "1" (no signature)


def _depends_on_principal(dependant: Any) -> bool:
    return any(d.call is get_principal or _depends_on_principal(d) for d in dependant.dependencies)


def state_changing_routes() -> list[Route]:
    """Every (path, method) of the app but GET/HEAD/OPTIONS, whatever module declares it."""
    found = []
    for route, web in endpoints():
        dependant = getattr(route, "dependant", None)  # None for plain Starlette routes
        uses_token = dependant is not None and _depends_on_principal(dependant)
        query = tuple(
            q.name for q in getattr(dependant, "query_params", []) if q.field_info.is_required()
        )
        for method in sorted(set(route.methods) - SAFE):
            found.append(Route(route.path, method, uses_token, web, query))
    return found


@dataclass(frozen=True)
class World:
    """Alice's things, which her read token must not be able to change."""

    alice: User
    admin: User
    model: str
    dataset: str
    org: str
    job: int

    def values(self, path: str) -> dict[str, str]:
        repo = self.dataset if path.startswith("/datasets/") else self.model
        name = repo.split("/")[1]
        return {
            "types": "models",
            "namespace": self.alice.name,
            "name": name + ".git" if "/info/lfs/" in path else name,
            "rev": "main",
            "branch": "dev",
            "tag": "v1",
            "job_id": str(self.job),
            "token_id": "1",
            "org": self.org,
            "oid": "a" * 64,
            "number": "1",
            "prefix": "default",
            "hash_hex": "b" * 64,
        }

    def url(self, path: str) -> str:
        values = self.values(path)
        return fill(path, values)

    def body(self, path: str) -> dict[str, Any]:
        """A body the route would act on with a write token, so that only the scope refuses."""
        bodies: dict[str, dict[str, Any]] = {
            "/api/jobs/tune": tune_request(self.dataset),
            "/api/evaluations": {"model": self.model, "dataset": self.dataset},
            "/api/repos/create": {"name": "made-" + uuid.uuid4().hex[:6], "type": "model"},
            "/api/repos/delete": {"name": self.model.split("/")[1], "type": "model"},
            "/api/repos/move": {"fromRepo": self.model, "toRepo": self.model + "-moved"},
            "/api/{types}/{namespace}/{name}/settings": {"private": True},
            "/api/{types}/{namespace}/{name}/tag/{rev}": {"tag": "v2"},
            "/api/{types}/{namespace}/{name}/preupload/{rev}": {
                "files": [{"path": "x.txt", "size": 1, "sample": "eA=="}]
            },
        }
        return bodies.get(path, {})


def tune_request(dataset: str) -> dict[str, Any]:
    """The cheapest tune there is: a logistic regression on a five-row table."""
    return {
        "task": "tabular-classification",
        "base": "scikit-learn",
        "data": dataset,
        "method": "logistic-regression",
    }


def _get(hub: str, path: str, token: str) -> Any:
    r = httpx.get(hub + path, headers=api_headers(token), timeout=30)
    assert r.status_code == 200, (path, r.text)
    return r.json()


def snapshot(hub: str, world: World) -> dict[str, Any]:
    """What a write would change: repos, their refs and commits, likes, jobs, orgs, storage."""
    token, name = world.alice.token, world.alice.name
    state: dict[str, Any] = {}
    for kind, repo in (("models", world.model), ("datasets", world.dataset)):
        info = _get(hub, f"/api/{kind}/{repo}", token)
        state[kind] = {k: info.get(k) for k in ("id", "sha", "private", "likes")}
        state[kind + " refs"] = _get(hub, f"/api/{kind}/{repo}/refs", token)
        state[kind + " commits"] = [
            c["id"] for c in _get(hub, f"/api/{kind}/{repo}/commits/main", token)
        ]
        state[kind + " of alice"] = sorted(
            r["id"] for r in _get(hub, f"/api/{kind}?author={name}", token)
        )
    state["likes"] = _get(hub, f"/api/users/{name}/likes", token)
    state["jobs"] = [(j["id"], j["status"]) for j in _get(hub, "/api/jobs", token)]
    state["orgs"] = _get(hub, "/api/whoami-v2", token)["orgs"]
    state["storage"] = _get(hub, "/api/storage", world.admin.token)
    return state


@pytest.fixture(scope="module")
def world(hub: str, alice: User, admin: User) -> Iterator[World]:
    api = HfApi(endpoint=hub, token=alice.token)
    suffix = uuid.uuid4().hex[:8]
    model, dataset = f"{alice.name}/scoped-{suffix}", f"{alice.name}/scoped-data-{suffix}"
    api.create_repo(model)
    api.upload_file(path_or_fileobj=b"# scoped\n", path_in_repo="README.md", repo_id=model)
    api.create_branch(model, branch="dev")
    api.create_tag(model, tag="v1")
    api.create_repo(dataset, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"x,label\n1,0\n2,1\n3,0\n4,1\n",
        path_in_repo="train.csv",
        repo_id=dataset,
        repo_type="dataset",
    )
    org = "scoped" + suffix
    commons_cli("org", "create", org, "--owner", alice.name)
    queued = httpx.post(
        f"{hub}/api/jobs/tune", json=tune_request(dataset), headers=api_headers(alice.token)
    )
    assert queued.status_code == 200, queued.text
    job = queued.json()["id"]
    httpx.post(f"{hub}/api/jobs/{job}/cancel", headers=api_headers(alice.token))
    wait_for_job(hub, alice.token, job, seconds=60)
    yield World(alice, admin, model, dataset, org, job)


def _csrf(client: httpx.Client) -> str:
    """A real CSRF token of this client's, so that CSRF is not what refuses a form."""
    html = client.get("/login", headers={"Accept": "text/html"}).text
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _send(client: httpx.Client, world: World, route: Route) -> httpx.Response:
    url, headers = world.url(route.path), api_headers(world.alice.read_token)
    if route.query:
        url += "?" + "&".join(f"{name}=1" for name in route.query)
    if route.web:
        return client.request(route.method, url, data={"csrf": _csrf(client)}, headers=headers)
    if route.path.endswith("/commit/{rev}"):
        lines = (
            '{"key": "header", "value": {"summary": "read token"}}\n'
            '{"key": "file", "value": {"path": "x.txt", "content": "eA==", "encoding": "base64"}}\n'
        )
        headers = {**headers, "Content-Type": "application/x-ndjson"}
        return client.request(route.method, url, content=lines, headers=headers)
    return client.request(route.method, url, json=world.body(route.path), headers=headers)


def test_every_state_changing_route_refuses_a_read_token(hub: str, world: World):
    routes = [r for r in state_changing_routes() if r.path not in READ_ONLY_POSTS]
    assert {"/api/jobs/tune", "/api/evaluations", "/api/{types}/{namespace}/{name}/like"} <= {
        r.path for r in routes
    }
    before = snapshot(hub, world)
    wrong = []
    with httpx.Client(base_url=hub, timeout=30) as client:
        for route in routes:
            answer = _send(client, world, route)
            if route.path in ANONYMOUS_FORMS:
                refused = "mc_session" not in answer.cookies and answer.status_code != 500
            elif route.uses_token:
                refused = answer.status_code == 403 and answer.json() == {
                    "error": READ_ONLY_REFUSAL
                }
            else:  # signed URLs, Xet grants and browser sessions: the token grants nothing
                refused = answer.status_code in (401, 403)
            if not refused:
                wrong.append(f"{route.method} {route.path}: {answer.status_code} {answer.text}")
    assert not wrong, "a read token was not refused:\n" + "\n".join(wrong)
    assert snapshot(hub, world) == before


def _read_only_request(world: World, path: str) -> dict[str, Any]:
    if path.endswith("/paths-info/{rev}"):
        return {"paths": ["README.md"]}
    if path == "/api/validate-yaml":
        return {"content": "---\nlicense: mit\n---\n", "repoType": "model"}
    if "/info/lfs/" in path:
        return {"operation": "download", "objects": [{"oid": "c" * 64, "size": 1}]}
    return {}


def test_the_read_only_posts_work_with_a_read_token_and_change_nothing(hub: str, world: World):
    declared = {r.path for r in state_changing_routes()}
    assert READ_ONLY_POSTS <= declared, "READ_ONLY_POSTS names a route that no longer exists"
    before = snapshot(hub, world)
    for path in sorted(READ_ONLY_POSTS):
        url = world.url(path)
        answer = httpx.post(
            hub + url,
            json=_read_only_request(world, path),
            headers=api_headers(world.alice.read_token),
        )
        expected = 501 if path.startswith("/spaces/") else 200  # no Spaces on this hub
        assert answer.status_code == expected, (path, answer.text)
    assert snapshot(hub, world) == before


def test_a_read_token_gets_no_write_capability(hub: str, world: World):
    """Write capabilities handed out by a GET, or by a listed POST, still need write scope."""
    reader = api_headers(world.alice.read_token)
    token = httpx.get(f"{hub}/api/models/{world.model}/xet-write-token/main", headers=reader)
    assert token.status_code == 403, token.text
    batch = {"operation": "upload", "objects": [{"oid": "d" * 64, "size": 1}]}
    upload = httpx.post(
        f"{hub}/{world.model}.git/info/lfs/objects/batch", json=batch, headers=reader
    )
    assert upload.status_code == 403, upload.text


def test_the_hf_client_with_a_read_token_reads_but_cannot_unlike(hub: str, world: World):
    writer = HfApi(endpoint=hub, token=world.alice.token)
    reader = HfApi(endpoint=hub, token=world.alice.read_token)
    assert reader.whoami()["auth"]["accessToken"]["role"] == "read"
    assert writer.whoami()["auth"]["accessToken"]["role"] == "write"
    assert [p.path for p in reader.get_paths_info(world.model, ["README.md"])] == ["README.md"]
    path = hf_hub_download(world.model, "README.md", token=world.alice.read_token)
    assert Path(path).read_bytes() == b"# scoped\n"
    like = httpx.post(
        f"{hub}/api/models/{world.model}/like", headers=api_headers(world.alice.token)
    )
    assert like.status_code == 200, like.text
    try:
        with pytest.raises(HfHubHTTPError) as caught:
            reader.unlike(world.model)
        assert caught.value.response.status_code == 403
        assert READ_ONLY_REFUSAL in str(caught.value)
        assert reader.model_info(world.model).likes == 1
    finally:
        writer.unlike(world.model)


def test_hub_wide_storage_is_for_admins(hub: str, world: World, bob: User):
    assert httpx.get(f"{hub}/api/storage").status_code == 401
    for token in (world.alice.token, bob.read_token):
        answer = httpx.get(f"{hub}/api/storage", headers=api_headers(token))
        assert answer.status_code == 403, answer.text
        assert "administrators" in answer.json()["error"]
    assert "stored_bytes" in _get(hub, "/api/storage", world.admin.read_token)
    repo = _get(hub, f"/api/models/{world.model}/storage", world.alice.read_token)
    assert repo["id"] == world.model
