"""Racing writers: the branch moves by compare-and-swap; nobody's commit is lost."""

from __future__ import annotations

import threading

from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import HfHubHTTPError


def _race(workers: list) -> list:
    results: list = [None] * len(workers)
    barrier = threading.Barrier(len(workers))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = workers[i]()
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_commits_on_the_same_parent(api, repo_id):
    parent = api.model_info(repo_id).sha

    def commit(name: str):
        return lambda: api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(name, name.encode())],
            commit_message=f"add {name}",
            parent_commit=parent,
        )

    results = _race([commit("a.txt"), commit("b.txt")])
    landed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, HfHubHTTPError)]
    assert len(landed) == 1 and len(refused) == 1, results
    assert refused[0].response.status_code == 412
    files = set(api.list_repo_files(repo_id))
    assert len(files & {"a.txt", "b.txt"}) == 1
    assert api.model_info(repo_id).sha == landed[0].oid


def test_concurrent_commits_without_parent_all_land(api, repo_id):
    names = [f"f{i}.txt" for i in range(6)]
    results = _race(
        [
            (
                lambda n=n: api.upload_file(
                    path_or_fileobj=n.encode(), path_in_repo=n, repo_id=repo_id
                )
            )
            for n in names
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(names) <= set(api.list_repo_files(repo_id))
    assert len(api.list_repo_commits(repo_id)) == len(names) + 1
