"""Guarantees a refactor of routes, pages and jobs (issue 13) could silently lose, checked on
a live hub: a private repo is a 404 to others on every route and page, whatever the method,
exactly as a repo that does not exist; job requests do not reveal private repos; a refused
download does not count; uploads do not hold the database's write lock while their body
arrives."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from modelcommons.hub.xet import format
from tests.integration import web_client
from tests.integration.app_routes import api_headers, endpoints, fill
from tests.integration.conftest import User
from tests.integration.web_client import Browser


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    web: bool


def repo_routes() -> list[Route]:
    """Every (path, method) of the app that names a repo by namespace and name."""
    found = []
    for route, web in endpoints():
        if "{namespace}" not in route.path or "{name}" not in route.path:
            continue
        if route.path.startswith("/spaces/"):  # a 501 for every name: no Spaces here
            continue
        for method in sorted(set(route.methods) - {"HEAD", "OPTIONS"}):
            found.append(Route(route.path, method, web))
    return found


@dataclass(frozen=True)
class Private:
    alice: User
    model: str
    dataset: str
    sha: str


@pytest.fixture(scope="module")
def private(hub: str, alice: User) -> Iterator[Private]:
    api = HfApi(endpoint=hub, token=alice.token)
    suffix = uuid.uuid4().hex[:8]
    model, dataset = f"{alice.name}/secret-{suffix}", f"{alice.name}/secret-data-{suffix}"
    api.create_repo(model, private=True)
    api.upload_file(path_or_fileobj=b"# secret\n", path_in_repo="README.md", repo_id=model)
    api.create_branch(model, branch="dev")
    api.create_tag(model, tag="v1")
    api.create_repo(dataset, repo_type="dataset", private=True)
    api.upload_file(
        path_or_fileobj=b"x,label\n1,0\n2,1\n3,0\n4,1\n",
        path_in_repo="train.csv",
        repo_id=dataset,
        repo_type="dataset",
    )
    sha = api.model_info(model).sha
    assert sha
    yield Private(alice, model, dataset, sha)


def _url(path: str, repo: str, sha: str) -> str:
    namespace, name = repo.split("/")
    values = {
        "types": "datasets" if "data" in name else "models",
        "namespace": namespace,
        "name": name + ".git" if "/info/lfs/" in path else name,
        "rev": "main",
        "branch": "dev2",
        "tag": "v1",
        "path": "README.md",
        "sha": sha,
        "fanout": "ab",
        "rest": "c" * 38,
    }
    return fill(path, values)


def _body(path: str, repo: str) -> dict[str, Any]:
    if path.endswith("/paths-info/{rev}"):
        return {"paths": ["README.md"]}
    if "/info/lfs/" in path:
        return {"operation": "upload", "objects": [{"oid": "e" * 64, "size": 1}]}
    if path.endswith("/preupload/{rev}"):
        return {"files": [{"path": "x.txt", "size": 1, "sample": "eA=="}]}
    if path.endswith("/settings"):
        return {"private": False}
    if path.endswith("/tag/{rev}"):
        return {"tag": "v2"}
    return {}


def _send(
    client: httpx.Client,
    browser: Browser | None,
    route: Route,
    url: str,
    token: str | None,
    repo: str,
) -> httpx.Response:
    if route.web:
        if browser is None:
            return client.request(route.method, url, headers={"Accept": "text/html"})
        if route.method == "GET":
            return browser.client.get(url)
        form = {"private": "", "summary": "x", "content": "x", "recipe": "x"}
        return browser.post(url, form)
    headers = api_headers(token) if token else {"Accept": "application/json"}
    if route.path.endswith("/commit/{rev}"):
        lines = (
            '{"key": "header", "value": {"summary": "not yours"}}\n'
            '{"key": "file", "value": {"path": "x.txt", "content": "eA==", "encoding": "base64"}}\n'
        )
        headers = {**headers, "Content-Type": "application/x-ndjson"}
        return client.request(route.method, url, content=lines, headers=headers)
    if route.method == "GET":
        return client.get(url, headers=headers)
    return client.request(route.method, url, json=_body(route.path, repo), headers=headers)


def _snapshot(hub: str, private: Private) -> dict[str, Any]:
    token = private.alice.token
    state: dict[str, Any] = {}
    for kind, repo in (("models", private.model), ("datasets", private.dataset)):
        info = httpx.get(f"{hub}/api/{kind}/{repo}", headers=api_headers(token)).json()
        state[kind] = {k: info.get(k) for k in ("id", "sha", "private", "likes", "downloads")}
        state[kind + " refs"] = httpx.get(
            f"{hub}/api/{kind}/{repo}/refs", headers=api_headers(token)
        ).json()
    return state


@pytest.mark.parametrize("who", ["bob's token", "anonymous", "bob's session"])
def test_another_users_private_repo_is_a_404_on_every_route(
    hub: str, private: Private, bob: User, who: str
):
    """Every route and page naming a repo answers for alice's private repo exactly what it
    answers for a repo that does not exist, and that answer is a 404 (a 401 for an anonymous
    caller of a route that needs a token, or a form's redirect to log in, is as blind),
    whatever the method; nothing changes."""
    browser = None
    if who == "bob's session":
        browser = Browser(hub)
        browser.sign_up()
    token = bob.token if who == "bob's token" else None
    before = _snapshot(hub, private)
    wrong = []
    with httpx.Client(base_url=hub, timeout=30, follow_redirects=False) as client:
        for route in repo_routes():
            if route.web != (who == "bob's session") and who != "anonymous":
                continue
            repo = private.dataset if route.path.startswith("/datasets/") else private.model
            ghost = (
                repo.split("/")[0]
                + "/ghost-"
                + uuid.uuid4().hex[:8]
                + ("-data" if "data" in repo else "")
            )
            seen = _send(client, browser, route, _url(route.path, repo, private.sha), token, repo)
            blind = _send(
                client, browser, route, _url(route.path, ghost, private.sha), token, ghost
            )
            label = f"{route.method} {route.path}"
            if seen.status_code != blind.status_code:
                wrong.append(
                    f"{label}: private {seen.status_code} {seen.text[:120]!r}"
                    f" but missing {blind.status_code} {blind.text[:120]!r}"
                )
            elif seen.status_code not in (404, 401 if token is None else 404) and not (
                browser is None
                and token is None
                and seen.status_code == 303
                and seen.headers["location"].startswith("/login")  # forms: log in first
            ):
                wrong.append(f"{label}: {seen.status_code} {seen.text[:160]!r}")
    assert not wrong, "a private repo is seen:\n" + "\n".join(wrong)
    assert _snapshot(hub, private) == before


def _post(hub: str, path: str, body: dict[str, Any], token: str) -> httpx.Response:
    return httpx.post(hub + path, json=body, headers=api_headers(token), timeout=30)


def test_job_requests_naming_a_private_repo_answer_as_for_a_missing_one(
    hub: str, private: Private, bob: User
):
    """Base, data, evaluated model and dataset, and the push target: another user's private
    repo is refused exactly as a repo that does not exist, and no job is queued."""
    owner = private.alice.name
    api = HfApi(endpoint=hub, token=bob.token)
    bobs_data = f"{bob.name}/open-data-{uuid.uuid4().hex[:6]}"
    api.create_repo(bobs_data, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"x,label\n1,0\n2,1\n",
        path_in_repo="train.csv",
        repo_id=bobs_data,
        repo_type="dataset",
    )
    bobs_model = f"{bob.name}/open-model-{uuid.uuid4().hex[:6]}"
    api.create_repo(bobs_model)
    ghost = f"{owner}/ghost-{uuid.uuid4().hex[:8]}"
    tabular = {
        "task": "tabular-classification",
        "base": "scikit-learn",
        "method": "logistic-regression",
    }
    text = {"task": "text-classification", "method": "head"}
    cases: dict[str, Callable[[str], tuple[str, dict[str, Any]]]] = {
        "tune data": lambda repo: ("/api/jobs/tune", {**tabular, "data": repo}),
        "tune base": lambda repo: ("/api/jobs/tune", {**text, "base": repo, "data": bobs_data}),
        "tune push": lambda repo: ("/api/jobs/tune", {**tabular, "data": bobs_data, "push": repo}),
        "evaluated model": lambda repo: ("/api/evaluations", {"model": repo, "dataset": bobs_data}),
        "evaluated dataset": lambda repo: (
            "/api/evaluations",
            {"model": bobs_model, "dataset": repo},
        ),
    }
    jobs_before = httpx.get(f"{hub}/api/jobs", headers=api_headers(bob.token)).json()
    wrong = []
    for label, case in cases.items():
        real = private.dataset if "data" in label and "base" not in label else private.model
        seen = _post(hub, *case(real), bob.token)
        blind = _post(hub, *case(ghost), bob.token)
        said = seen.text.replace(real, ghost)
        same = (seen.status_code, said) == (blind.status_code, blind.text)
        if not same or seen.status_code not in (403, 404):
            wrong.append(
                f"{label}: {seen.status_code} {seen.text} / {blind.status_code} {blind.text}"
            )
    assert not wrong, "\n".join(wrong)
    assert httpx.get(f"{hub}/api/jobs", headers=api_headers(bob.token)).json() == jobs_before


def _downloads(hub: str, token: str, repo: str) -> int:
    return httpx.get(f"{hub}/api/models/{repo}", headers=api_headers(token)).json()["downloads"]


def test_a_refused_download_does_not_count(hub: str, alice: User, bob: User):
    api = HfApi(endpoint=hub, token=alice.token)
    repo = f"{alice.name}/counted-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b'{"a": 1}\n', path_in_repo="config.json", repo_id=repo)
    url = f"{hub}/{repo}/resolve/main/config.json"
    refusals = [
        ({}, 401),
        ({"Authorization": "Bearer hf_not_a_token"}, 401),
        ({"Authorization": f"Bearer {bob.token}"}, 404),
        ({"Authorization": f"Bearer {bob.read_token}"}, 404),
    ]
    for headers, _ in refusals:
        answer = httpx.get(url, headers=headers)
        assert answer.status_code in (401, 404), (headers, answer.status_code, answer.text)
    missing = httpx.get(
        f"{hub}/{repo}/resolve/no-such-rev/config.json", headers=api_headers(alice.token)
    )
    assert missing.status_code == 404
    assert _downloads(hub, alice.token, repo) == 0
    assert httpx.get(url, headers=api_headers(alice.token)).status_code == 200
    assert _downloads(hub, alice.token, repo) == 1
    # A range the hub refuses (416) sends nothing: no download either.
    for bad_range in (
        "bytes=0-x",
        "bytes=0-1,0-2,0-3",
        "bytes=0-99999999999999999999999",
        "bytes=0--1",
        "bytes=0-0 , 5-1",
    ):
        count = _downloads(hub, alice.token, repo)
        answer = httpx.get(url, headers={**api_headers(alice.token), "Range": bad_range})
        assert answer.status_code in (200, 206, 416), (bad_range, answer.status_code)
        sent = answer.status_code != 416
        assert _downloads(hub, alice.token, repo) == count + sent, (bad_range, answer.status_code)


SLOW_SECONDS = 6.0


def _slowly(body: bytes, seconds: float = SLOW_SECONDS) -> Iterator[bytes]:
    """`body` in pieces spread over `seconds`: the hub waits for it the whole time."""
    pieces = 12
    step = max(1, -(-len(body) // pieces))
    for start in range(0, len(body), step):
        yield body[start : start + step]
        time.sleep(seconds / pieces)


def _ndjson_commit(path: str, data: bytes) -> bytes:
    import base64
    import json

    lines = [
        {"key": "header", "value": {"summary": "slow"}},
        {
            "key": "file",
            "value": {
                "path": path,
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            },
        },
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def _slow_upload(hub: str, alice: User, kind: str) -> tuple[str, dict[str, str], Iterator[bytes]]:
    """(url, headers, slow body) of one upload route of alice's."""
    import hashlib

    from tests.integration import xet_upload

    api = HfApi(endpoint=hub, token=alice.token)
    repo = f"{alice.name}/slow-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo)
    if kind == "ndjson commit":
        body = _ndjson_commit("slow.txt", b"slow\n" * 1000)
        headers = {**api_headers(alice.token), "Content-Type": "application/x-ndjson"}
        return f"{hub}/api/models/{repo}/commit/main", headers, _slowly(body)
    if kind == "lfs put":
        data = uuid.uuid4().bytes * 4096
        oid = hashlib.sha256(data).hexdigest()
        batch = httpx.post(
            f"{hub}/{repo}.git/info/lfs/objects/batch",
            json={
                "operation": "upload",
                "transfers": ["basic"],
                "objects": [{"oid": oid, "size": len(data)}],
            },
            headers={**api_headers(alice.token), "Content-Type": "application/vnd.git-lfs+json"},
        )
        assert batch.status_code == 200, batch.text
        action = batch.json()["objects"][0]["actions"]["upload"]
        return action["href"], dict(action.get("header") or {}), _slowly(data)
    cas, auth = xet_upload.xet_cas(hub, alice.token, repo, "write")
    body, _, xorb = xet_upload.build_xorb(16, compressible=False)
    if kind == "xet xorb":
        return f"{cas}/v1/xorbs/default/{format.to_hex(xorb)}", auth, _slowly(body)
    assert kind == "xet shard"
    return f"{cas}/v1/shards", auth, _slowly(b"not a shard" * 1000)


def _web_upload(hub: str) -> tuple[str, dict[str, str], Iterator[bytes], Browser]:
    browser = Browser(hub)
    owner = browser.sign_up()
    name = "slow-" + uuid.uuid4().hex[:8]
    browser.new_repo(owner, name)
    csrf = browser.csrf(f"/{owner}/{name}/upload")
    boundary = "slowboundary" + uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + b"slow\n" * 2000
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "text/html"}
    return f"/{owner}/{name}/upload", headers, _slowly(body), browser


@pytest.mark.parametrize(
    "kind", ["ndjson commit", "lfs put", "xet xorb", "xet shard", "web upload"]
)
def test_an_upload_whose_body_is_slow_does_not_hold_the_write_lock(
    hub: str, alice: User, bob: User, kind: str
):
    """While an upload's body arrives over seconds, another user's commit and repo creation
    (each a write transaction) finish in well under a second."""
    if kind == "web upload":
        url, headers, body, browser = _web_upload(hub)
        client = browser.client
    else:
        url, headers, body = _slow_upload(hub, alice, kind)
        client = httpx.Client(timeout=60)
        web_client.OPEN.append(client)  # closed when the test ends
    bobs = HfApi(endpoint=hub, token=bob.token)
    bobs_repo = f"{bob.name}/quick-{uuid.uuid4().hex[:8]}"
    bobs.create_repo(bobs_repo)
    answers: list[httpx.Response] = []
    method = "PUT" if kind == "lfs put" else "POST"
    sender = threading.Thread(
        target=lambda: answers.append(client.request(method, url, content=body, headers=headers))
    )
    started = time.monotonic()
    sender.start()
    slowest = 0.0
    try:
        time.sleep(1.5)  # the upload is well under way
        for i in range(3):
            t = time.monotonic()
            made = httpx.post(
                f"{hub}/api/models/{bobs_repo}/commit/main",
                content=_ndjson_commit(f"f{i}.txt", b"quick\n"),
                headers={**api_headers(bob.token), "Content-Type": "application/x-ndjson"},
                timeout=30,
            )
            assert made.status_code == 200, made.text
            created = httpx.post(
                f"{hub}/api/repos/create",
                json={"name": f"quick-{uuid.uuid4().hex[:8]}", "type": "model"},
                headers=api_headers(bob.token),
                timeout=30,
            )
            assert created.status_code == 200, created.text
            slowest = max(slowest, time.monotonic() - t)
        still_sending = time.monotonic() - started < SLOW_SECONDS
    finally:
        sender.join(60)
    assert still_sending, "the writes did not overlap the upload"
    assert answers and answers[0].status_code < 500, answers and answers[0].text
    assert slowest < 1.0, f"{kind}: another user's writes took {slowest:.2f}s during the upload"
