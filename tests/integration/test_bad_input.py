"""Bad input: each gets a clear 4xx with an {"error": ...} body, and nothing is written."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest
from huggingface_hub.errors import HfHubHTTPError


def _commit(hub: str, token: str, repo_id: str, lines: list[dict] | bytes, rev: str = "main"):
    body = (
        lines
        if isinstance(lines, bytes)
        else "\n".join(json.dumps(line) for line in lines).encode()
    )
    return httpx.post(
        f"{hub}/api/models/{repo_id}/commit/{rev}",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )


def _header(summary: str = "bad") -> dict:
    return {"key": "header", "value": {"summary": summary, "description": ""}}


def _file(path: str, data: bytes = b"x") -> dict:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"},
    }


@pytest.mark.parametrize("name", ["bad name", "a--b", "-lead", "x" * 97, "dots..dots", "trail."])
def test_invalid_repo_names(hub, alice, name):
    r = httpx.post(
        f"{hub}/api/repos/create",
        json={"name": f"{alice.name}/{name}"},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert r.status_code == 400 and "Invalid repo name" in r.json()["error"]


@pytest.mark.parametrize(
    "path", ["../x", "/etc/x", "a/../../b", "a//b", "./a", ".git/config", "a\\b"]
)
def test_path_traversal_is_refused(api, hub, alice, repo_id, path):
    head = api.model_info(repo_id).sha
    r = _commit(hub, alice.token, repo_id, [_header(), _file(path)])
    assert r.status_code == 400, r.text
    assert "Invalid path" in r.json()["error"]
    assert api.model_info(repo_id).sha == head


def test_traversal_in_preupload_is_refused(hub, alice, repo_id):
    r = httpx.post(
        f"{hub}/api/models/{repo_id}/preupload/main",
        json={"files": [{"path": "../../etc/passwd", "sample": "", "size": 1}]},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert r.status_code == 400 and "Invalid path" in r.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json}\n",
        b'{"key": "header"}\n',
        json.dumps({"key": "file", "value": {"path": "a.txt", "content": "eA=="}}).encode(),
        b'{"key":"header","value":{"summary":"s"}}\n{"key":"teleport","value":{"path":"a"}}',
        b'{"key":"header","value":{"summary":"s"}}\n{"key":"file","value":{"path":"a","content":"!!"}}',
    ],
    ids=["not-json", "header-without-value", "no-header", "unknown-op", "bad-base64"],
)
def test_malformed_ndjson(api, hub, alice, repo_id, body):
    head = api.model_info(repo_id).sha
    r = _commit(hub, alice.token, repo_id, body)
    assert r.status_code == 400 and r.json()["error"]
    assert api.model_info(repo_id).sha == head


def test_upload_over_the_size_limit(api, repo_id, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:  # sparse: the test hub accepts 600 MB per file
        f.truncate(601 * 1000**2)
    head = api.model_info(repo_id).sha
    with pytest.raises(HfHubHTTPError) as caught:
        api.upload_file(path_or_fileobj=str(big), path_in_repo="big.bin", repo_id=repo_id)
    assert caught.value.response.status_code == 413
    assert api.model_info(repo_id).sha == head


def test_lfs_batch_refuses_objects_over_the_limit(hub, alice, repo_id):
    r = httpx.post(
        f"{hub}/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic"],
            "objects": [{"oid": "a" * 64, "size": 601 * 1000**2}],
        },
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert r.status_code == 200
    assert r.json()["objects"][0]["error"]["code"] == 413


def test_unsigned_or_tampered_upload_urls_are_refused(hub, alice, repo_id):
    data = b"payload" * 100
    oid = hashlib.sha256(data).hexdigest()
    batch = httpx.post(
        f"{hub}/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": len(data)}],
        },
        headers={"Authorization": f"Bearer {alice.token}"},
    ).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]
    assert httpx.put(href.split("?")[0] + f"?size={len(data)}", content=data).status_code == 401
    assert httpx.put(href.replace("sig=", "sig=0"), content=data).status_code == 401
    # Right URL, wrong bytes: refused, and the object does not appear.
    wrong = httpx.put(href, content=b"other" * 140)
    assert wrong.status_code == 400
    assert httpx.put(href, content=data).status_code == 200


def test_unknown_revision(api, hub, alice, repo_id):
    r = httpx.get(f"{hub}/api/models/{repo_id}/revision/nope")
    assert r.status_code == 404 and r.headers["x-error-code"] == "RevisionNotFound"
    r = httpx.head(f"{hub}/{repo_id}/resolve/{'0' * 40}/README.md")
    assert r.status_code == 404 and r.headers["x-error-code"] == "RevisionNotFound"
    r = _commit(hub, alice.token, repo_id, [_header(), _file("a.txt")], rev="nope")
    assert r.status_code == 404 and r.headers["x-error-code"] == "RevisionNotFound"


def test_missing_entry_has_commit_header(hub, repo_id, api):
    r = httpx.head(f"{hub}/{repo_id}/resolve/main/missing.txt")
    assert r.status_code == 404 and r.headers["x-error-code"] == "EntryNotFound"
    assert r.headers["x-repo-commit"] == api.model_info(repo_id).sha


def test_missing_lfs_object_referenced_by_commit(api, hub, alice, repo_id):
    head = api.model_info(repo_id).sha
    line = {
        "key": "lfsFile",
        "value": {"path": "w.bin", "algo": "sha256", "oid": "b" * 64, "size": 5},
    }
    r = _commit(hub, alice.token, repo_id, [_header(), line])
    assert r.status_code == 400 and "never uploaded" in r.json()["error"]
    assert api.model_info(repo_id).sha == head


def test_unknown_repo_and_routes(hub):
    r = httpx.get(f"{hub}/api/models/nobody/nothing")
    assert r.status_code == 404 and r.headers["x-error-code"] == "RepoNotFound"
    assert r.json()["error"]
    r = httpx.get(f"{hub}/api/teapots")
    assert r.status_code == 404 and r.json()["error"]


def test_stale_parent_gets_412(api, hub, alice, repo_id):
    head = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=b"new", path_in_repo="n.txt", repo_id=repo_id)
    r = _commit(
        hub,
        alice.token,
        repo_id,
        [{"key": "header", "value": {"summary": "late", "parentCommit": head}}, _file("late.txt")],
    )
    assert r.status_code == 412 and r.json()["error"]
    assert "late.txt" not in api.list_repo_files(repo_id)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("get", "/api/models/{repo}/lineage?depth=0", None, 400, "depth"),
        ("get", "/api/models/{repo}/lineage?depth=999", None, 400, "depth"),
        ("get", "/api/models/nobody/nothing/lineage", None, 404, "not found"),
        ("get", "/api/models/nobody/nothing/license-check", None, 404, "not found"),
        ("post", "/api/evaluations", {"model": "{repo}"}, 400, "dataset"),
        ("post", "/api/evaluations", {"model": "{repo}", "dataset": "x/y", "seed": 1}, 400, "seed"),
        (
            "post",
            "/api/evaluations",
            {"model": "{repo}", "dataset": "nobody/nothing"},
            404,
            "nothing",
        ),
        ("get", "/api/leaderboards/entries?task=t&dataset=d&metric=m&order=up", None, 400, "order"),
        ("get", "/api/leaderboards/entries?task=t&dataset=d", None, 400, "metric"),
        ("post", "/api/models/nobody/nothing/like", None, 404, "not found"),
    ],
)
def test_bad_lineage_evaluation_and_leaderboard_requests(
    hub, alice, repo_id, method, path, body, status, words
):
    url = hub + path.replace("{repo}", repo_id)
    if body is not None:
        body = {
            k: v.replace("{repo}", repo_id) if isinstance(v, str) else v for k, v in body.items()
        }
    response = httpx.request(
        method, url, json=body, headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert response.status_code == status, response.text
    assert words in response.json()["error"].lower() or words in response.json()["error"]


def test_queueing_an_evaluation_needs_a_token(hub, repo_id):
    response = httpx.post(f"{hub}/api/evaluations", json={"model": repo_id, "dataset": "a/b"})
    assert response.status_code == 401 and "token" in response.json()["error"]
