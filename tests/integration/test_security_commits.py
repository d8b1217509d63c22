"""Commits cost what they change: a cap on operations per commit, and path checks that do
not scan the whole tree per operation (tests/unit/test_commit_cost.py counts the queries)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.errors import HfHubHTTPError

from modelcommons.config import get_settings


def _ndjson(summary: str, operations: list[dict[str, Any]]) -> bytes:
    lines = [{"key": "header", "value": {"summary": summary}}, *operations]
    return "\n".join(json.dumps(line) for line in lines).encode()


def test_a_commit_over_the_cap_is_refused_whole(hub, api, alice, repo_id):
    cap = get_settings().max_commit_operations  # the server runs with the same settings
    head = api.repo_info(repo_id).sha
    operations = [
        {"key": "file", "value": {"path": f"f{i}.txt", "content": "eA==", "encoding": "base64"}}
        for i in range(cap + 1)
    ]
    r = httpx.post(
        f"{hub}/api/models/{repo_id}/commit/main",
        content=_ndjson("too many files", operations),
        headers={"Authorization": f"Bearer {alice.token}", "Content-Type": "application/x-ndjson"},
        timeout=120,
    )
    assert r.status_code == 413, r.text
    assert f"at most {cap} operations" in r.json()["error"]
    assert api.repo_info(repo_id).sha == head
    assert [e.path for e in api.list_repo_tree(repo_id)] == [".gitattributes"]


def test_a_file_cannot_sit_under_a_file(api, repo_id):
    api.upload_file(path_or_fileobj=b"x", path_in_repo="a", repo_id=repo_id)
    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=b"y", path_in_repo="a/b.txt", repo_id=repo_id)
    assert refused.value.response.status_code == 409
    assert "a is a file" in refused.value.response.json()["error"]


def test_folders_come_and_go_within_one_commit(api, repo_id):
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd(path_in_repo=f"data/{split}/{i}.txt", path_or_fileobj=b"1")
            for split in ("train", "test")
            for i in range(3)
        ],
        commit_message="data",
    )
    api.create_commit(
        repo_id,
        operations=[
            CommitOperationDelete(path_in_repo="data/train/"),
            CommitOperationAdd(path_in_repo="data/train", path_or_fileobj=b"now a file"),
            CommitOperationDelete(path_in_repo="data/test/0.txt"),
        ],
        commit_message="reshape",
    )
    files = sorted(api.list_repo_files(repo_id))
    assert files == [".gitattributes", "data/test/1.txt", "data/test/2.txt", "data/train"]
    api.create_commit(
        repo_id,
        operations=[CommitOperationDelete(path_in_repo=f"data/test/{i}.txt") for i in (1, 2)],
        commit_message="empty folder",
    )
    with pytest.raises(HfHubHTTPError) as gone:  # the emptied folder went with its files
        api.delete_folder("data/test", repo_id=repo_id)
    assert gone.value.response.status_code == 404
