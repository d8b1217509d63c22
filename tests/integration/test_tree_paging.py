"""Tree listings of a folder of thousands of files, paged: the real client (list_repo_tree,
list_repo_files, HfFileSystem.find, snapshot_download) gets every path once, `limit` and the
Link header page as the Hub's do, and a bad `limit` or a cursor we never issued is a 400."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, HfFileSystem, snapshot_download

from tests.integration.conftest import User

BIG = [f"big/f{i:04d}.txt" for i in range(2400)]
SUB = [f"big/sub/g{i:03d}.txt" for i in range(150)]
# '-' sorts before '/': a name that starts like a folder's tells path order from a folder walk.
TOP = [".gitattributes", "big-x.txt", "zz.txt"]
FILES = sorted(BIG + SUB + TOP)
FOLDERS = ["big", "big/sub"]


@pytest.fixture(scope="module")
def big_repo(hub: str, alice: User) -> str:
    """A repo with 2,400 files in one folder and 150 in a sub-folder, made in one commit."""
    api = HfApi(endpoint=hub, token=alice.token)
    repo_id = f"{alice.name}/paged-{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    operations = [
        CommitOperationAdd(path, path.encode()) for path in FILES if path != ".gitattributes"
    ]
    api.create_commit(repo_id, operations=operations, commit_message="thousands of files")
    return repo_id


def _once(paths: list[str]) -> set[str]:
    twice = [path for path, count in Counter(paths).items() if count > 1]
    assert not twice, f"listed more than once: {twice[:5]}"
    return set(paths)


def _tree_url(hub: str, repo_id: str, path: str = "") -> str:
    return f"{hub}/api/models/{repo_id}/tree/main" + (f"/{path}" if path else "")


def _pages(url: str, alice: User, **params: str) -> list[list[str]]:
    """Each page's paths, following Link headers as the client does."""
    headers = {"Authorization": f"Bearer {alice.token}"}
    pages, response = [], httpx.get(url, params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        pages.append([entry["path"] for entry in response.json()])
        if "next" not in response.links:
            return pages
        response = httpx.get(response.links["next"]["url"], headers=headers)


def test_the_client_lists_every_path_once(hub: str, alice: User, big_repo: str) -> None:
    api = HfApi(endpoint=hub, token=alice.token)
    folder = _once([e.path for e in api.list_repo_tree(big_repo, path_in_repo="big")])
    assert folder == {*BIG, "big/sub"}
    root = _once([e.path for e in api.list_repo_tree(big_repo)])
    assert root == {*TOP, "big"}
    everything = _once([e.path for e in api.list_repo_tree(big_repo, recursive=True)])
    assert everything == {*FILES, *FOLDERS}
    expanded = list(api.list_repo_tree(big_repo, path_in_repo="big/sub", expand=True))
    assert [e.path for e in expanded] == SUB  # 2 pages of 100: in name order, with lastCommit
    assert all(e.last_commit.title == "thousands of files" for e in expanded)
    assert _once(api.list_repo_files(big_repo)) == set(FILES)


def test_link_pages_honour_limit(hub: str, alice: User, big_repo: str) -> None:
    pages = _pages(_tree_url(hub, big_repo, "big"), alice, limit="700")
    assert [len(page) for page in pages] == [700, 700, 700, 301]
    assert _once([path for page in pages for path in page]) == {*BIG, "big/sub"}
    # A folder that fills its pages exactly ends without an empty page.
    exact = _pages(_tree_url(hub, big_repo, "big/sub"), alice, limit="50", expand="true")
    assert [len(page) for page in exact] == [50, 50, 50]
    deep = _pages(_tree_url(hub, big_repo), alice, recursive="true", limit="1000")
    assert [len(page) for page in deep] == [1000, 1000, 555]
    assert _once([path for page in deep for path in page]) == {*FILES, *FOLDERS}


def test_filesystem_find_and_snapshot_download(
    hub: str, alice: User, big_repo: str, tmp_path: Path
) -> None:
    fs = HfFileSystem(endpoint=hub, token=alice.token, skip_instance_cache=True)
    found = fs.find(big_repo)
    assert _once([path.removeprefix(big_repo + "/") for path in found]) == set(FILES)
    # The snapshot lists the whole tree, page by page, and fetches what the pattern names.
    local = snapshot_download(
        big_repo,
        endpoint=hub,
        token=alice.token,
        allow_patterns="big/sub/*",
        cache_dir=tmp_path / "cache",
    )
    got = sorted(str(p.relative_to(local)) for p in Path(local).rglob("*") if p.is_file())
    assert got == SUB


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, "from 1 to 1000"),
        ({"limit": "1001"}, "from 1 to 1000"),
        ({"limit": "ten"}, "from 1 to 1000"),
        ({"limit": "²"}, "from 1 to 1000"),
        ({"limit": "101", "expand": "true"}, "from 1 to 100 with expand=true"),
    ],
)
def test_a_limit_out_of_range_is_refused(
    hub: str, alice: User, big_repo: str, params: dict[str, str], message: str
) -> None:
    headers = {"Authorization": f"Bearer {alice.token}"}
    response = httpx.get(_tree_url(hub, big_repo, "big"), params=params, headers=headers)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_cursor_never_issued_is_refused(hub: str, alice: User, big_repo: str) -> None:
    headers = {"Authorization": f"Bearer {alice.token}"}
    first = httpx.get(_tree_url(hub, big_repo, "big"), params={"limit": "10"}, headers=headers)
    issued = httpx.URL(first.links["next"]["url"]).params["cursor"]
    flipped = issued[:-1] + ("A" if issued[-1] != "A" else "B")
    forged = [
        ("big", "f0009.txt"),  # a plain path, as cursors once were
        ("big", flipped),
        ("big", ""),
        ("big", "%%%"),
        ("big/sub", issued),  # issued, but for another folder
        ("", issued),
    ]
    for path, cursor in forged:
        params = {"limit": "10", "cursor": cursor}
        response = httpx.get(_tree_url(hub, big_repo, path), params=params, headers=headers)
        assert response.status_code == 400, (path, cursor, response.text)
        assert "not issued for this listing" in response.json()["error"]
    recursive = {"limit": "10", "cursor": issued, "recursive": "true"}
    response = httpx.get(_tree_url(hub, big_repo, "big"), params=recursive, headers=headers)
    assert response.status_code == 400
    # The issued one goes on where the first page ended.
    following = httpx.get(first.links["next"]["url"], headers=headers).json()
    assert following[0]["path"] == "big/f0010.txt"
