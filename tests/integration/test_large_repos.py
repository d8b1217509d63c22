"""A dataset of 20,000 files, grown in four commits: listings page through all of it (Link
headers, at most a page each, a pre-order walk in name order), single files and folders are
found deep inside it, a folder of 5,000 files goes in one commit, and history keeps it all."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    RepoFile,
    RepoFolder,
    hf_hub_download,
)
from huggingface_hub.errors import EntryNotFoundError

pytestmark = pytest.mark.large

PAGE = 1000  # entries per tree page without expand (the Hub's page size; huggingface_hub asks none)
DEEP_FILE = "deep/a/b/c/d3/f0999.txt"
# Root files named "data-…" sort after the folder "data" and all of its contents in a
# pre-order walk, but before "data/…" in plain path order: the cursor must walk folders.
BATCHES = [
    [f"big/part-{p:02d}/f{i:04d}.txt" for p in range(5) for i in range(1000)],
    [f"data/d{d:02d}/f{i:04d}.txt" for d in range(5) for i in range(1000)],
    [f"data/d{d:02d}/f{i:04d}.txt" for d in range(5, 10) for i in range(1000)],
    [f"deep/a/b/c/d{d}/f{i:04d}.txt" for d in range(4) for i in range(1000)]
    + [f"data-{i:04d}.txt" for i in range(1000)],
]


def _content(path: str) -> bytes:
    return f"{path}\n".encode()


def _with_folders(files: set[str]) -> set[str]:
    """The paths a recursive listing holds: the files and every folder above them."""
    folders = {f.rsplit("/", n)[0] for f in files for n in range(1, f.count("/") + 1)}
    return files | folders


def _pre_order(paths: set[str]) -> list[str]:
    """Each folder's entries by name, a folder before its contents: the listing's order."""
    return sorted(paths, key=lambda p: p.split("/"))


def _raw_pages(url: str, token: str) -> list[httpx.Response]:
    """Every page of a listing, following `Link: rel="next"` as huggingface_hub does."""
    pages = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        next_url: str | None = url
        while next_url:
            response = client.get(next_url)
            assert response.status_code == 200, response.text
            pages.append(response)
            next_url = response.links.get("next", {}).get("url")
            assert len(pages) <= 100, "the listing does not end"
    return pages


@pytest.fixture(scope="module")
def grown(hub: str, alice) -> dict:
    """A public dataset grown to 20,000 files in four commits of 5,000."""
    api = HfApi(endpoint=hub, token=alice.token)
    rid = f"{alice.name}/large-{uuid.uuid4().hex[:8]}"
    api.create_repo(rid, repo_type="dataset")
    initial = set(api.list_repo_files(rid, repo_type="dataset"))
    for number, batch in enumerate(BATCHES):
        api.create_commit(
            rid,
            repo_type="dataset",
            operations=[CommitOperationAdd(p, _content(p)) for p in batch],
            commit_message=f"batch {number}",
        )
    files = initial | {p for batch in BATCHES for p in batch}
    assert len(files - initial) == 20_000
    return {"api": api, "rid": rid, "files": files, "sha": api.dataset_info(rid).sha}


def test_recursive_listing_gives_every_file_once(grown):
    api, rid, sha = grown["api"], grown["rid"], grown["sha"]
    listed = list(api.list_repo_tree(rid, repo_type="dataset", recursive=True, revision=sha))
    paths = [e.path for e in listed]
    assert len(paths) == len(set(paths))
    assert set(paths) == _with_folders(grown["files"])
    assert sum(isinstance(e, RepoFile) for e in listed) == len(grown["files"])


def test_raw_pages_are_bounded_linked_and_in_walk_order(grown, hub, alice):
    url = f"{hub}/api/datasets/{grown['rid']}/tree/{grown['sha']}?recursive=true"
    pages = _raw_pages(url, alice.token)
    assert all(len(page.json()) <= PAGE for page in pages)
    assert all("next" in page.links for page in pages[:-1])
    assert "next" not in pages[-1].links
    entries = [entry for page in pages for entry in page.json()]
    expected = _pre_order(_with_folders(grown["files"]))
    assert [e["path"] for e in entries] == expected
    assert len(pages) == -(-len(expected) // PAGE)
    deep = next(e for e in entries if e["path"] == DEEP_FILE)
    assert deep["type"] == "file" and deep["size"] == len(_content(DEEP_FILE))


def test_a_file_and_a_folder_deep_inside(grown, alice, tmp_path: Path):
    api, rid, sha = grown["api"], grown["rid"], grown["sha"]
    asked = [DEEP_FILE, "data/d07", "data/nope.txt"]
    info = api.get_paths_info(rid, asked, repo_type="dataset", revision=sha)
    by_path = {i.path: i for i in info}
    assert set(by_path) == {DEEP_FILE, "data/d07"}
    assert isinstance(by_path[DEEP_FILE], RepoFile)
    assert by_path[DEEP_FILE].size == len(_content(DEEP_FILE))
    assert isinstance(by_path["data/d07"], RepoFolder)
    local = hf_hub_download(
        rid, DEEP_FILE, repo_type="dataset", revision=sha, token=alice.token, cache_dir=tmp_path
    )
    assert Path(local).read_bytes() == _content(DEEP_FILE)
    folder = api.list_repo_tree(rid, path_in_repo="data/d07", repo_type="dataset", revision=sha)
    assert [e.path for e in folder] == [f"data/d07/f{i:04d}.txt" for i in range(1000)]


def test_deleting_a_folder_of_5000_files_keeps_the_rest_and_history(grown, alice, tmp_path):
    api, rid, before = grown["api"], grown["rid"], grown["sha"]
    api.create_commit(
        rid,
        repo_type="dataset",
        operations=[CommitOperationDelete(path_in_repo="big/", is_folder=True)],
        commit_message="drop big/",
    )
    rest = {p for p in grown["files"] if not p.startswith("big/")}
    assert len(grown["files"] - rest) == 5000
    now = [e.path for e in api.list_repo_tree(rid, repo_type="dataset", recursive=True)]
    assert sorted(now) == sorted(_with_folders(rest))
    assert api.get_paths_info(rid, ["big/part-00/f0000.txt", "big"], repo_type="dataset") == []
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(
            rid, "big/part-04/f0999.txt", repo_type="dataset", token=alice.token, cache_dir=tmp_path
        )
    # The commit before still has all 20,000, and their bytes.
    old = api.list_repo_tree(rid, repo_type="dataset", recursive=True, revision=before)
    assert sorted(e.path for e in old if isinstance(e, RepoFile)) == sorted(grown["files"])
    local = hf_hub_download(
        rid,
        "big/part-04/f0999.txt",
        repo_type="dataset",
        revision=before,
        token=alice.token,
        cache_dir=tmp_path,
    )
    assert Path(local).read_bytes() == _content("big/part-04/f0999.txt")
