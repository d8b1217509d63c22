"""Our commits are real git: the objects we write pass `git fsck` and read back with git."""

import shutil
import subprocess
from pathlib import Path

import pytest

from modelcommons.storage.filesystem import FileSystemStore
from modelcommons.storage.git import GitObjects, TreeLeaf

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def test_objects_are_valid_git(tmp_path: Path):
    store = FileSystemStore(tmp_path / "store")
    git = GitObjects(store)
    files = {
        "README.md": git.add_blob(b"# hi\n"),
        "a/b/c.txt": git.add_blob(b"c\n"),
        "a/d.txt": git.add_blob(b"d\n"),
    }
    trees = git.write_trees({p: TreeLeaf(sha) for p, sha in files.items()})
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
    assert listing == ["README.md", "a/b/c.txt", "a/d.txt"]
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
