"""Our commits are real git: the objects we write pass `git fsck` and read back with git."""

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from modelcommons.storage.filesystem import FileSystemStore
from modelcommons.storage.git import GitObjects, TreeLeaf

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def test_objects_are_valid_git(tmp_path: Path):
    store = FileSystemStore(tmp_path / "store")
    git = GitObjects(store)
    folder = stat.S_IFDIR
    b = git.edit_tree(None, {"c.txt": TreeLeaf(git.add_blob(b"c\n"))})
    assert b is not None
    # "a.txt" beside folder "a": git orders a folder as if its name ended in "/".
    a = git.edit_tree(None, {"b": TreeLeaf(b, folder), "d.txt": TreeLeaf(git.add_blob(b"d\n"))})
    assert a is not None
    root = git.edit_tree(
        None,
        {
            "README.md": TreeLeaf(git.add_blob(b"# hi\n")),
            "a": TreeLeaf(a, folder),
            "a.txt": TreeLeaf(git.add_blob(b"x\n")),
            "gone.txt": TreeLeaf(git.add_blob(b"soon gone\n")),
        },
    )
    # An edit of an existing tree: one entry replaced, one removed.
    root = git.edit_tree(root, {"a.txt": TreeLeaf(git.add_blob(b"y\n")), "gone.txt": None})
    assert root is not None
    assert git.edit_tree(b, {"c.txt": None}) is None  # git has no empty folders
    trees = {"": root, "a/b": b}
    sha = git.write_commit(
        tree_id=trees[""], parents=[], author="alice", message="first\n", timestamp=1_700_000_000
    )

    repo = tmp_path / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    shutil.copytree(store.root / "git", repo / "objects", dirs_exist_ok=True)
    subprocess.run(["git", "-C", str(repo), "update-ref", "refs/heads/main", sha], check=True)
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-dangling"], check=True)
    listing = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert listing == ["README.md", "a.txt", "a/b/c.txt", "a/d.txt"]
    shown = subprocess.run(
        ["git", "-C", str(repo), "show", "main:a/b/c.txt"], check=True, capture_output=True
    ).stdout
    assert shown == b"c\n"
    assert (
        trees["a/b"]
        == subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "main:a/b"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
