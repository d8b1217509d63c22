"""Uploading and downloading with the real huggingface_hub client."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("upload")
    (root / "weights.bin").write_bytes(os.urandom(25 * 1000**2))
    (root / "config.json").write_text('{"hidden_size": 8}\n')
    (root / "notes").mkdir()
    (root / "notes" / "a.txt").write_text("first note\n")
    (root / "notes" / "b.md").write_text("# second\n")
    return root


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_upload_folder_and_download_identical_bytes(api, repo_id, folder, hub, alice):
    api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="add files")
    files = sorted(api.list_repo_files(repo_id))
    assert files == [".gitattributes", "config.json", "notes/a.txt", "notes/b.md", "weights.bin"]

    info = api.model_info(repo_id, files_metadata=True)
    weights = next(s for s in info.siblings if s.rfilename == "weights.bin")
    assert weights.lfs is not None and weights.lfs.sha256 == _sha256(folder / "weights.bin")
    assert weights.size == 25 * 1000**2
    config = next(s for s in info.siblings if s.rfilename == "config.json")
    assert config.lfs is None

    path = hf_hub_download(repo_id, "weights.bin", token=alice.token)
    assert _sha256(path) == _sha256(folder / "weights.bin")
    snapshot = Path(snapshot_download(repo_id, token=alice.token))
    for name in ("config.json", "notes/a.txt", "notes/b.md", "weights.bin"):
        assert (snapshot / name).read_bytes() == (folder / name).read_bytes()
    assert snapshot.name == info.sha
    # A second snapshot asks for metadata only: config.json's one GET is still the only one.
    assert Path(snapshot_download(repo_id, token=alice.token)) == snapshot
    assert api.model_info(repo_id).downloads == 1


def test_second_download_reuses_the_cache(api, repo_id, alice):
    api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo_id)
    first = hf_hub_download(repo_id, "config.json", token=alice.token)
    assert api.model_info(repo_id).downloads == 1
    second = hf_hub_download(repo_id, "config.json", token=alice.token)
    assert first == second
    # The second call asked for metadata only: no second GET was counted.
    assert api.model_info(repo_id).downloads == 1


def test_revisions_by_commit_branch_and_tag(api, repo_id, alice):
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id=repo_id)
    api.create_tag(repo_id, tag="v1")
    api.create_branch(repo_id, branch="dev")
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"dev", path_in_repo="f.txt", repo_id=repo_id, revision="dev")

    def read(rev: str) -> bytes:
        return Path(hf_hub_download(repo_id, "f.txt", revision=rev, token=alice.token)).read_bytes()

    assert read("main") == b"v2"
    assert read("v1") == b"v1"
    assert read("dev") == b"dev"
    assert read(first.oid) == b"v1"
    with pytest.raises(RevisionNotFoundError):
        read("no-such-branch")


def test_refs_branches_tags_and_commits(api, repo_id):
    api.upload_file(
        path_or_fileobj=b"x",
        path_in_repo="x.txt",
        repo_id=repo_id,
        commit_message="add x",
        commit_description="the letter x",
    )
    api.create_branch(repo_id, branch="feature/one")
    api.create_tag(repo_id, tag="release-1", tag_message="first")
    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "feature/one"}
    assert [t.name for t in refs.tags] == ["release-1"]
    head = api.model_info(repo_id).sha
    assert all(b.target_commit == head for b in refs.branches)

    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["add x", "initial commit"]
    assert commits[0].commit_id == head and commits[0].message == "the letter x"
    assert commits[0].authors

    api.delete_branch(repo_id, branch="feature/one")
    api.delete_tag(repo_id, tag="release-1")
    refs = api.list_repo_refs(repo_id)
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(repo_id, tag="release-1")


def test_delete_file_and_folder(api, repo_id, alice):
    api.upload_file(path_or_fileobj=b"1", path_in_repo="d/one.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"2", path_in_repo="d/two.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"3", path_in_repo="keep.txt", repo_id=repo_id)
    api.delete_file("d/one.txt", repo_id=repo_id)
    assert "d/one.txt" not in api.list_repo_files(repo_id)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "d/one.txt", token=alice.token, force_download=True)
    api.delete_folder("d", repo_id=repo_id)
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "keep.txt"]
    with pytest.raises(EntryNotFoundError):
        api.delete_file("never-there.txt", repo_id=repo_id)


def test_unchanged_upload_makes_no_commit(api, repo_id):
    first = api.upload_file(path_or_fileobj=b"same", path_in_repo="s.txt", repo_id=repo_id)
    again = api.upload_file(path_or_fileobj=b"same", path_in_repo="s.txt", repo_id=repo_id)
    assert again.oid == first.oid
    assert len(api.list_repo_commits(repo_id)) == 2


def test_tree_paths_info_and_range(api, repo_id, hub, alice):
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="a/b/c.txt", repo_id=repo_id)
    top = {e.path for e in api.list_repo_tree(repo_id)}
    assert top == {".gitattributes", "a"}
    deep = {e.path for e in api.list_repo_tree(repo_id, path_in_repo="a", recursive=True)}
    assert deep == {"a/b", "a/b/c.txt"}
    [info] = api.get_paths_info(repo_id, ["a/b/c.txt", "missing.txt"])
    assert info.path == "a/b/c.txt" and info.size == 10
    url = f"{hub}/{repo_id}/resolve/main/a/b/c.txt"
    headers = {"Authorization": f"Bearer {alice.token}"}
    partial = httpx.get(url, headers={**headers, "Range": "bytes=2-5"})
    assert partial.status_code == 206 and partial.content == b"2345"
    assert partial.headers["content-range"] == "bytes 2-5/10"
    head = httpx.head(url, headers=headers)
    assert head.headers["x-repo-commit"] == api.model_info(repo_id).sha
    assert head.headers["content-length"] == "10"


def test_tree_pages_follow_link_headers(api, repo_id):
    operations = [CommitOperationAdd(f"many/f{i:03d}.txt", str(i).encode()) for i in range(130)]
    api.create_commit(repo_id, operations=operations, commit_message="many files")
    expanded = list(api.list_repo_tree(repo_id, path_in_repo="many", expand=True))
    assert [e.path for e in expanded] == [f"many/f{i:03d}.txt" for i in range(130)]
    assert all(e.last_commit.title == "many files" for e in expanded)
    assert len(api.list_repo_files(repo_id)) == 131
