"""Objects stay in their repos: knowing a private file's sha256 gets nobody its bytes.

Bob knows the sha256 of a file in Alice's private repo. Through his own repo he tries the
LFS batch download, a commit naming the object, and the upload batch as an oracle; each
answer must be the one an unknown object gets. Uploading the same bytes himself still works
and stores nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError

from tests.integration.xet_upload import upload_elsewhere

LFS_JSON = "application/vnd.git-lfs+json"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _batch(hub: str, token: str, repo_id: str, operation: str, oid: str, size: int) -> Any:
    r = httpx.post(
        f"{hub}/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": operation,
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": size}],
        },
        headers={**_auth(token), "Accept": LFS_JSON, "Content-Type": LFS_JSON},
    )
    assert r.status_code == 200, r.text
    [answer] = r.json()["objects"]
    return answer


def _commit_lfs(hub: str, token: str, repo_id: str, path: str, oid: str, size: int) -> Any:
    """A commit naming an LFS object by sha256 alone, as a client that skipped the upload."""
    lines = [
        {"key": "header", "value": {"summary": "add a file I never uploaded"}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}},
    ]
    return httpx.post(
        f"{hub}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**_auth(token), "Content-Type": "application/x-ndjson"},
    )


def _private_file(api: HfApi, alice: Any, data: bytes) -> tuple[str, str]:
    """Alice's private repo holding `data` as weights.bin; returns (repo id, sha256)."""
    private = f"{alice.name}/secret-{uuid.uuid4().hex[:8]}"
    api.create_repo(private, private=True)
    api.upload_file(path_or_fileobj=data, path_in_repo="weights.bin", repo_id=private)
    return private, hashlib.sha256(data).hexdigest()


@pytest.fixture
def bob_api(hub: str, bob: Any) -> HfApi:
    return HfApi(endpoint=hub, token=bob.token)


@pytest.fixture
def bob_repo(bob_api: HfApi, bob: Any) -> str:
    rid = f"{bob.name}/mine-{uuid.uuid4().hex[:8]}"
    bob_api.create_repo(rid)
    return rid


def _same_answer(refused: httpx.Response, unknown: httpx.Response, oid: str, other: str) -> None:
    assert refused.status_code == unknown.status_code == 400
    assert refused.json()["error"] == unknown.json()["error"].replace(other, oid)


def test_batch_download_serves_only_objects_of_the_repo(hub, api, alice, bob, bob_repo):
    data = os.urandom(100_000)
    private, oid = _private_file(api, alice, data)

    answer = _batch(hub, bob.token, bob_repo, "download", oid, len(data))
    assert answer["error"]["code"] == 404 and "actions" not in answer
    # Alice, through another repo of hers that never held it, is refused the same way.
    other = f"{alice.name}/other-{uuid.uuid4().hex[:8]}"
    api.create_repo(other)
    assert _batch(hub, alice.token, other, "download", oid, len(data))["error"]["code"] == 404
    # From the repo that holds it, the object downloads.
    answer = _batch(hub, alice.token, private, "download", oid, len(data))
    assert httpx.get(answer["actions"]["download"]["href"]).content == data


def test_commit_cannot_name_an_object_it_never_uploaded(hub, api, alice, bob, bob_api, bob_repo):
    data = os.urandom(100_000)
    _private, oid = _private_file(api, alice, data)
    head = bob_api.repo_info(bob_repo).sha

    refused = _commit_lfs(hub, bob.token, bob_repo, "stolen.bin", oid, len(data))
    unknown_oid = hashlib.sha256(os.urandom(16)).hexdigest()
    unknown = _commit_lfs(hub, bob.token, bob_repo, "stolen.bin", unknown_oid, len(data))
    _same_answer(refused, unknown, oid, unknown_oid)
    # Without the size, too (the form a copy takes).
    refused = _commit_lfs(hub, bob.token, bob_repo, "stolen.bin", oid, None)
    assert refused.status_code == 400 and "never uploaded" in refused.json()["error"]

    assert bob_api.repo_info(bob_repo).sha == head
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(
            bob_repo,
            "stolen.bin",
            token=bob.token,
            cache_dir=str(Path(os.environ["HF_HOME"]) / "bob"),
        )
    assert httpx.get(f"{hub}/{bob_repo}/resolve/main/stolen.bin").status_code == 404


def test_upload_batch_answers_alike_whether_the_object_exists(hub, api, alice, bob, bob_repo):
    data = os.urandom(100_000)
    private, oid = _private_file(api, alice, data)
    unknown_oid = hashlib.sha256(os.urandom(16)).hexdigest()

    stored = _batch(hub, bob.token, bob_repo, "upload", oid, len(data))
    missing = _batch(hub, bob.token, bob_repo, "upload", unknown_oid, len(data))
    assert "actions" in stored and stored.keys() == missing.keys()
    assert stored["actions"].keys() == missing["actions"].keys()
    assert (
        stored["actions"]["upload"]["href"].split("?")[0].replace(oid, unknown_oid)
        == (missing["actions"]["upload"]["href"].split("?")[0])
    )
    # Alice can read the object already, so her other repo skips the upload.
    other = f"{alice.name}/copy-{uuid.uuid4().hex[:8]}"
    api.create_repo(other)
    assert "actions" not in _batch(hub, alice.token, other, "upload", oid, len(data))
    assert _batch(hub, alice.token, private, "upload", oid, len(data)) == {
        "oid": oid,
        "size": len(data),
    }


def test_the_same_bytes_uploaded_again_are_stored_once(hub, api, alice, bob, bob_api, bob_repo):
    data = os.urandom(300_000)
    private, oid = _private_file(api, alice, data)
    # Bob has the bytes himself: the client uploads them, the hub verifies and keeps one copy.
    bob_api.upload_file(path_or_fileobj=data, path_in_repo="mine.bin", repo_id=bob_repo)
    [entry] = [e for e in bob_api.list_repo_tree(bob_repo) if e.path == "mine.bin"]
    assert entry.lfs.sha256 == oid
    assert (
        httpx.get(f"{hub}/{bob_repo}/resolve/main/mine.bin", follow_redirects=True).content == data
    )
    url = f"{hub}/{private}/resolve/main/weights.bin"
    assert httpx.get(url, headers=_auth(alice.token), follow_redirects=True).content == data
    # Alice's own second repo and a re-upload to the same repo keep their dedup.
    mirror = f"{alice.name}/mirror-{uuid.uuid4().hex[:8]}"
    api.create_repo(mirror)
    api.upload_file(path_or_fileobj=data, path_in_repo="again.bin", repo_id=mirror)
    api.upload_file(path_or_fileobj=data, path_in_repo="again2.bin", repo_id=mirror)
    assert (
        httpx.get(f"{hub}/{mirror}/resolve/main/again2.bin", follow_redirects=True).content == data
    )


# Xet: the commit path and the CAS follow the same rule.


def test_xet_commit_and_cas_keep_objects_in_their_repos(
    hub, api, alice, bob, bob_api, bob_repo, tmp_path, monkeypatch
):
    data = os.urandom(3_000_000)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    private, oid = _private_file(api, alice, data)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    [entry] = [e for e in api.list_repo_tree(private) if e.path == "weights.bin"]
    assert entry.xet_hash and entry.lfs.sha256 == oid

    refused = _commit_lfs(hub, bob.token, bob_repo, "stolen.bin", oid, len(data))
    unknown_oid = hashlib.sha256(os.urandom(16)).hexdigest()
    unknown = _commit_lfs(hub, bob.token, bob_repo, "stolen.bin", unknown_oid, len(data))
    _same_answer(refused, unknown, oid, unknown_oid)
    # Bob's CAS token is for his repo, which holds no such file.
    r = httpx.get(f"{hub}/api/models/{bob_repo}/xet-read-token/main", headers=_auth(bob.token))
    cas, token = r.headers["x-xet-cas-url"], r.headers["x-xet-access-token"]
    r = httpx.get(f"{cas}/v1/reconstructions/{entry.xet_hash}", headers=_auth(token))
    assert r.status_code == 404

    # With the bytes in hand, Bob's hf_xet proves the file through its shard, and commits it.
    (tmp_path / "up").mkdir()
    source = tmp_path / "up" / "same.bin"
    source.write_bytes(data)
    upload_elsewhere(hub, bob.token, bob_repo, source, tmp_path / "bob-machine")
    [mine] = [e for e in bob_api.list_repo_tree(bob_repo) if e.path == "same.bin"]
    assert mine.lfs.sha256 == oid and mine.xet_hash == entry.xet_hash
    assert httpx.get(f"{hub}/{bob_repo}/resolve/main/same.bin").content == data


def test_copies_within_a_readable_repo_keep_working(api, alice):
    from huggingface_hub import CommitOperationCopy

    data = os.urandom(100_000)
    private, oid = _private_file(api, alice, data)
    api.create_commit(
        private,
        operations=[CommitOperationCopy(src_path_in_repo="weights.bin", path_in_repo="copy.bin")],
        commit_message="copy",
    )
    [copy] = [e for e in api.list_repo_tree(private) if e.path == "copy.bin"]
    assert copy.lfs.sha256 == oid
