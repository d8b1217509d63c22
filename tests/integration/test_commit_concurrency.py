"""Racing writers and commits that cannot apply. A branch moves by compare-and-swap: a commit
naming a stale parent gets 412, one naming none is rebased onto whatever landed first, so
nobody's work is lost and history stays one line; a commit that cannot apply changes nothing."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable

import httpx
import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.errors import HfHubHTTPError

WRITERS = 50


def _race(workers: list[Callable[[], object]]) -> list:
    """Each worker's result or exception, all started at the same moment from threads."""
    results: list = [None] * len(workers)
    barrier = threading.Barrier(len(workers))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = workers[i]()
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _parents(hub: str, repo_id: str, sha: str, token: str) -> list[str]:
    """A commit's parents as its git object says (fetched the way `git clone` does)."""
    url = f"{hub}/{repo_id}/objects/{sha[:2]}/{sha[2:]}"
    response = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    header, _, body = zlib.decompress(response.content).partition(b"\0")
    assert header.startswith(b"commit ")
    lines = body.decode().split("\n\n", 1)[0].splitlines()
    return [line.removeprefix("parent ") for line in lines if line.startswith("parent ")]


def _status(exc: Exception) -> int | None:
    return exc.response.status_code if isinstance(exc, HfHubHTTPError) else None


def _why(exc: Exception) -> str:
    """The server's own error message for a refused request, else the exception."""
    if isinstance(exc, HfHubHTTPError) and exc.response.headers.get("content-type") == (
        "application/json"
    ):
        return f"{exc.response.status_code} {exc.response.json().get('error')}"
    return repr(exc)


def test_fifty_commits_without_parent_all_land_on_one_line(api, repo_id, hub, alice):
    start = api.model_info(repo_id).sha
    titles = [f"writer {i:02d}" for i in range(WRITERS)]

    def commit(i: int) -> Callable[[], object]:
        return lambda: api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(f"w/{i:02d}.txt", titles[i].encode())],
            commit_message=titles[i],
        )

    results = _race([commit(i) for i in range(WRITERS)])
    failed = [_why(r) for r in results if isinstance(r, Exception)]
    assert not failed, f"{len(failed)} of {WRITERS} refused, first: {failed[0]}"
    landed = {r.oid for r in results}
    assert len(landed) == WRITERS

    history = api.list_repo_commits(repo_id)
    assert len(history) == WRITERS + 1 and history[-1].commit_id == start
    assert sorted(c.title for c in history[:-1]) == titles  # each exactly once
    assert {c.commit_id for c in history[:-1]} == landed
    for newer, older in zip(history, history[1:], strict=False):
        assert _parents(hub, repo_id, newer.commit_id, alice.token) == [older.commit_id]
    assert history[0].commit_id == api.model_info(repo_id).sha
    files = set(api.list_repo_files(repo_id))
    assert {f"w/{i:02d}.txt" for i in range(WRITERS)} <= files


def test_a_stale_parent_commit_gets_412(api, repo_id):
    stale = api.model_info(repo_id).sha
    api.upload_file(path_or_fileobj=b"first", path_in_repo="first.txt", repo_id=repo_id)
    head = api.model_info(repo_id).sha
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit(
            repo_id,
            operations=[CommitOperationAdd("late.txt", b"late")],
            commit_message="late",
            parent_commit=stale,
        )
    assert refused.value.response.status_code == 412
    assert api.model_info(repo_id).sha == head
    assert "late.txt" not in api.list_repo_files(repo_id)


def test_two_commits_on_the_same_parent_one_wins(api, repo_id):
    parent = api.model_info(repo_id).sha

    def commit(name: str) -> Callable[[], object]:
        return lambda: api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(name, name.encode())],
            commit_message=f"add {name}",
            parent_commit=parent,
        )

    results = _race([commit("a.txt"), commit("b.txt")])
    landed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(landed) == 1 and [_status(r) for r in refused] == [412], results
    files = set(api.list_repo_files(repo_id))
    assert len(files & {"a.txt", "b.txt"}) == 1
    assert api.model_info(repo_id).sha == landed[0].oid


def _refused(api, repo_id: str, operations: list) -> httpx2.Response:
    """The answer to a commit that must fail, after checking that it changed nothing."""
    head = api.model_info(repo_id).sha
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit(repo_id, operations=operations, commit_message="must fail")
    assert api.model_info(repo_id).sha == head
    return refused.value.response


def test_deleting_a_missing_folder_is_404(api, repo_id):
    api.upload_file(path_or_fileobj=b"x", path_in_repo="real/x.txt", repo_id=repo_id)
    for missing in ("nope/", "real/x.txt/", "real/sub/"):
        response = _refused(api, repo_id, [CommitOperationDelete(missing, is_folder=True)])
        assert response.status_code == 404
        error = response.json()["error"]
        assert missing.rstrip("/") in error and "folder" in error.lower(), error


def test_a_file_under_a_file_is_409(api, repo_id):
    api.upload_file(path_or_fileobj=b"x", path_in_repo="a/file.txt", repo_id=repo_id)
    for operations in (
        [CommitOperationAdd("a/file.txt/inner.txt", b"y")],
        [CommitOperationAdd("b.txt", b"1"), CommitOperationAdd("b.txt/c.txt", b"2")],
        [CommitOperationAdd("a", b"a folder of that name exists")],
    ):
        response = _refused(api, repo_id, operations)
        assert response.status_code == 409, response.text
        assert response.json()["error"], response.text
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", "a/file.txt"}
