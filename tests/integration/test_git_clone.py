"""`git clone` works over HTTP (git's dumb protocol), with git-lfs where it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
HAS_LFS = shutil.which("git-lfs") is not None


@pytest.fixture(scope="module")
def git_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """git with its own global config (git-lfs filters installed there, not in ~/.gitconfig)."""
    config = tmp_path_factory.mktemp("git") / "gitconfig"
    config.touch()
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_GLOBAL": str(config)}
    if HAS_LFS:
        subprocess.run(
            ["git", "lfs", "install", "--skip-repo"], env=env, check=True, capture_output=True
        )
    return env


def _clone(url: str, target: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "clone", "-q", url, str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_git_clone_public_and_private(api, hub, alice, tmp_path, git_env):
    weights = os.urandom(4096)
    rid = f"{alice.name}/clone-{os.urandom(4).hex()}"
    api.create_repo(rid, private=True)
    api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="docs/a.txt", repo_id=rid)
    api.upload_file(path_or_fileobj=weights, path_in_repo="w.bin", repo_id=rid)

    refused = _clone(f"{hub}/{rid}", tmp_path / "anonymous", git_env)
    assert refused.returncode != 0 and not (tmp_path / "anonymous" / "w.bin").exists()

    host = hub.removeprefix("http://")
    done = _clone(f"http://{alice.name}:{alice.token}@{host}/{rid}", tmp_path / "clone", git_env)
    assert done.returncode == 0, done.stderr
    clone = tmp_path / "clone"
    assert (clone / "docs" / "a.txt").read_bytes() == b"hello\n"
    head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert head == api.model_info(rid).sha
    subprocess.run(["git", "-C", str(clone), "fsck", "--strict"], check=True, capture_output=True)
    if HAS_LFS:
        assert (clone / "w.bin").read_bytes() == weights
    else:
        assert (
            (clone / "w.bin").read_text().startswith("version https://git-lfs.github.com/spec/v1")
        )


def test_git_cannot_fetch_objects_of_other_repos(api, hub, alice, repo_id):
    import httpx

    other = f"{alice.name}/other-{os.urandom(4).hex()}"
    api.create_repo(other, private=True)
    secret = api.upload_file(path_or_fileobj=b"secret", path_in_repo="s.txt", repo_id=other)
    sha = secret.oid
    r = httpx.get(f"{hub}/{repo_id}/objects/{sha[:2]}/{sha[2:]}")
    assert r.status_code == 404
