"""Garbage collection (`commons gc`): what nothing reaches goes, nothing reachable is lost,
also while uploads and commits race it; a store it cannot reach stops it with one line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download

from modelcommons.storage import open_store
from modelcommons.storage.base import ContentStore, git_key, lfs_key
from modelcommons.storage.filesystem import FileSystemStore
from tests.integration.cli_runs import closed_port, commons
from tests.integration.xet_upload import upload_elsewhere

GRACE = "2"  # seconds: what the collections in these tests spare (a loaded CI box may
# take a second between an LFS batch answer and the commit that follows it)


def _store() -> ContentStore:
    """The hub's own store, as the server sees it (filesystem, or S3 on the cluster)."""
    home = Path(os.environ["COMMONS_HOME"])
    return open_store(os.environ.get("COMMONS_STORAGE_URL") or f"file://{home}/store")


def _run_gc(*options: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return commons("gc", *options, environ={**os.environ, **env}, timeout=600)


def _collect(*options: str) -> str:
    """`commons gc` with a short grace, for which upload grants last as long: an object its
    uploader may still commit is a root until the grant ends (seven days by default)."""
    result = _run_gc("--grace", GRACE, *options, env={"COMMONS_UPLOAD_GRANT_SECONDS": GRACE})
    assert result.returncode == 0, result.stderr
    return result.stdout


def _gc(*options: str) -> str:
    time.sleep(float(GRACE) + 0.2)  # what the test just made is older than the grace period
    return _collect(*options)


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _text(size: int) -> bytes:
    """Random text (no NUL byte, so it stays a regular git file)."""
    return os.urandom(size).hex()[:size].encode()


def _download(repo_id: str, path: str, folder: Path, revision: str = "main") -> bytes:
    return Path(
        hf_hub_download(repo_id, path, revision=revision, cache_dir=folder / uuid.uuid4().hex)
    ).read_bytes()


def _stats(hub: str, token: str) -> dict:
    r = httpx.get(f"{hub}/api/storage", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return r.json()


def test_store_lists_touches_and_deletes_only_stale_objects(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path / "store")
    store.put_bytes("git/ab/cdef", b"one")
    store.put_bytes("git/ab/0123", b"four")
    store.put_bytes("lfs/aa/bb/aabb", b"x" * 10)
    listed = {item.key: item for item in store.iter_keys("git/")}
    assert sorted(listed) == ["git/ab/0123", "git/ab/cdef"]
    assert listed["git/ab/cdef"].size == 3
    assert ".staging" not in {k.key.split("/")[0] for k in store.iter_keys("")}
    assert [k.key for k in store.iter_keys("lfs/aa/")] == ["lfs/aa/bb/aabb"]
    assert list(store.iter_keys("xorbs/")) == []

    old = time.time() - 100
    os.utime(store.root / "git/ab/cdef", (old, old))
    os.utime(store.root / "git/ab/0123", (old, old))
    assert store.touch("git/ab/0123")  # reused: young again
    assert not store.touch("git/ff/missing")
    cutoff = time.time() - 10
    assert store.delete_stale("git/ab/cdef", cutoff)
    assert not store.delete_stale("git/ab/0123", cutoff)
    assert not store.delete_stale("git/ab/cdef", cutoff)  # gone already
    assert not store.exists("git/ab/cdef")
    assert store.get_bytes("git/ab/0123") == b"four"
    assert [p.name for p in store.staging_dir().iterdir()] == []


def test_gc_on_an_unreachable_store_is_one_line_and_deletes_nothing(tmp_path: Path) -> None:
    """COMMONS_STORAGE_URL on an S3 endpoint nothing listens on: exit 1, one line."""
    port = closed_port()
    env = {
        **os.environ,
        "COMMONS_HOME": str(tmp_path / "home"),
        "COMMONS_DATABASE_URL": f"sqlite:///{tmp_path}/gc.db",
        "COMMONS_STORAGE_URL": f"s3://bucket?endpoint_url=http://127.0.0.1:{port}",
    }
    assert commons("migrate", environ=env, timeout=120).returncode == 0  # a hub, no store
    result = commons("gc", "--grace", "0", environ=env, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cannot reach the S3 store" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_gc_on_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COMMONS_HOME": str(tmp_path / "home"),
        "COMMONS_DATABASE_URL": f"postgresql+psycopg://gc@127.0.0.1:{closed_port()}/gc",
        "COMMONS_SECRET_KEY": "test",
    }
    result = commons("gc", "--dry-run", environ=env, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "database" in lines[0], result.stderr


def test_gc_and_storage_stats_outside_a_hub_say_so(tmp_path: Path) -> None:
    """Run from another folder, they used to create an empty hub there and report 0 B."""
    env = {**os.environ, "COMMONS_HOME": str(tmp_path / "commons-data")}
    env.pop("COMMONS_DATABASE_URL", None)
    for command in (["gc", "--dry-run"], ["storage", "stats"]):
        result = commons(*command, environ=env, timeout=120)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "No hub at" in lines[0], result.stderr
        assert not (tmp_path / "commons-data" / "commons.db").exists()


def test_a_deleted_branch_loses_its_own_objects_and_main_keeps_its(api, repo_id, tmp_path):
    """(c) and (e): a dry run deletes nothing; a run removes the branch's own blob, LFS
    object and commit, and nothing of main's, even what the branch shared with main."""
    shared, main_only = os.urandom(2000), _text(300)
    branch_text, branch_lfs = _text(500), os.urandom(3 * 1024 * 1024)
    api.upload_file(path_or_fileobj=shared, path_in_repo="weights.bin", repo_id=repo_id)
    api.upload_file(path_or_fileobj=main_only, path_in_repo="notes.txt", repo_id=repo_id)
    api.create_branch(repo_id, branch="feature")
    api.upload_file(
        path_or_fileobj=branch_text, path_in_repo="b.txt", repo_id=repo_id, revision="feature"
    )
    done = api.upload_file(
        path_or_fileobj=branch_lfs, path_in_repo="big.bin", repo_id=repo_id, revision="feature"
    )
    feature_sha = done.oid
    api.delete_branch(repo_id, branch="feature")
    store, lfs_sha = _store(), hashlib.sha256(branch_lfs).hexdigest()
    assert store.exists(lfs_key(lfs_sha)) and store.exists(git_key(_blob_id(branch_text)))

    unreachable_store = {
        "COMMONS_STORAGE_URL": f"s3://b?endpoint_url=http://127.0.0.1:{closed_port()}"
    }
    failed = _run_gc("--grace", "0", env=unreachable_store)
    assert failed.returncode == 1 and "Cannot reach the S3 store" in failed.stderr
    assert api.list_repo_files(repo_id, revision=feature_sha)  # (d): nothing was deleted

    dry = _gc("--dry-run")
    assert "Would free" in dry
    assert store.exists(lfs_key(lfs_sha)) and store.exists(git_key(_blob_id(branch_text)))
    assert api.list_repo_files(repo_id, revision=feature_sha)  # the commit row is still there

    out = _gc()
    assert "Freed" in out
    assert not store.exists(lfs_key(lfs_sha))
    assert not store.exists(git_key(_blob_id(branch_text)))
    assert not store.exists(git_key(feature_sha))
    with pytest.raises(Exception, match="(?i)revision|not found|404"):
        api.list_repo_files(repo_id, revision=feature_sha)
    assert store.exists(lfs_key(hashlib.sha256(shared).hexdigest()))
    assert _download(repo_id, "weights.bin", tmp_path) == shared
    assert _download(repo_id, "notes.txt", tmp_path) == main_only
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "notes.txt", "weights.bin"]


def test_a_deleted_repo_frees_its_unshared_bytes(hub, alice, bob, admin, tmp_path):
    """(b): an LFS file and a Xet file go with their repo; an object another repo holds
    stays, and storage accounting shows the difference."""
    api, other_api = HfApi(endpoint=hub, token=alice.token), HfApi(endpoint=hub, token=bob.token)
    doomed, keeper = f"{alice.name}/gc-doomed-{uuid.uuid4().hex[:6]}", f"{bob.name}/gc-keep"
    keeper += uuid.uuid4().hex[:6]
    api.create_repo(doomed)
    other_api.create_repo(keeper)
    lfs_only, shared = os.urandom(4 * 1024 * 1024), os.urandom(1024 * 1024)
    api.upload_file(path_or_fileobj=lfs_only, path_in_repo="only.bin", repo_id=doomed)
    api.upload_file(path_or_fileobj=shared, path_in_repo="shared.bin", repo_id=doomed)
    other_api.upload_file(path_or_fileobj=shared, path_in_repo="copy.bin", repo_id=keeper)
    xet_file = tmp_path / "xet.bin"
    xet_file.write_bytes(os.urandom(5 * 1024 * 1024))
    upload_elsewhere(hub, alice.token, doomed, xet_file, tmp_path / "hf-home")
    xet_sha = hashlib.sha256(xet_file.read_bytes()).hexdigest()
    _gc()  # earlier tests' garbage goes first, so the next figures are this repo's alone
    before = _stats(hub, admin.token)

    api.delete_repo(doomed)
    _gc()
    after = _stats(hub, admin.token)
    freed = len(lfs_only) + len(xet_file.read_bytes())
    assert before["stored_bytes"] - after["stored_bytes"] >= freed * 0.95  # xorbs compress a bit
    assert before["lfs_objects"] - after["lfs_objects"] == 2
    assert before["xet_files"] - after["xet_files"] == 1
    store = _store()
    assert not store.exists(lfs_key(hashlib.sha256(lfs_only).hexdigest()))
    assert not store.exists(lfs_key(xet_sha))
    assert store.exists(lfs_key(hashlib.sha256(shared).hexdigest()))
    assert _download(keeper, "copy.bin", tmp_path) == shared


def test_uploads_and_commits_racing_gc_lose_nothing(api, repo_id, tmp_path):
    """(a): writers commit (new content, and content a deleted branch made garbage) while
    collections with a one-second grace run back to back; then everything downloads."""
    expected: dict[str, bytes] = {}
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def writer(number: int) -> None:
        try:
            for step in range(6):
                text, big = _text(700), os.urandom(1024 * 1024 + step)
                branch = f"tmp-{number}-{step}"
                api.create_branch(repo_id, branch=branch)
                api.upload_file(
                    path_or_fileobj=text, path_in_repo="t.txt", repo_id=repo_id, revision=branch
                )
                api.upload_file(
                    path_or_fileobj=big, path_in_repo="b.bin", repo_id=repo_id, revision=branch
                )
                api.delete_branch(repo_id, branch=branch)
                time.sleep(float(GRACE) * step / 3)  # some reuse garbage older than the grace
                # The same bytes again, now on main: garbage reached again.
                for path, data in ((f"{number}/{step}.txt", text), (f"{number}/{step}.bin", big)):
                    api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id)
                    expected[path] = data
        except BaseException as exc:  # reported by the test's own thread
            errors.append(exc)

    collections: list[str] = []

    def collector() -> None:
        try:
            while writing.is_set():
                collections.append(_collect())
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    gc_thread = threading.Thread(target=collector)
    gc_thread.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    gc_thread.join()
    assert not errors, errors
    assert any("Freed 0 B." not in out for out in collections)  # they did collect meanwhile
    _gc()
    files = set(api.list_repo_files(repo_id)) - {".gitattributes"}
    assert files == set(expected)
    for path, data in expected.items():
        assert _download(repo_id, path, tmp_path) == data, path


def test_the_periodic_gc_job_runs_on_the_worker(hub):
    """The worker queues a "gc" job every COMMONS_GC_INTERVAL_SECONDS; queued here, as the
    worker's timer would, its sweep hands it over and the job records what went."""
    from modelcommons.db.engine import get_engine, read_session
    from modelcommons.hub import gc, jobs

    try:
        queued = gc.queue_periodic()
        assert queued, "a gc job was queued already within the interval"
        assert gc.queue_periodic() == []  # one per interval, however many workers ask
        deadline, status = time.monotonic() + 120, "queued"
        while status in jobs.ACTIVE and time.monotonic() < deadline:
            time.sleep(0.5)
            with read_session() as session:
                job = jobs.get_job(session, queued[0])
                status, result, log = job.status, job.result, job.log
        assert status == "succeeded", log
        assert result is not None and "freed_bytes" in result and result["dry_run"] is False
    finally:
        get_engine().dispose()  # this process's connections close now, not at its exit
