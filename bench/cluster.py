"""Scale-out: throughput with 1, 2 and 3 `commons serve` processes behind nginx, and the S3
store (SeaweedFS) against the filesystem store, all in one run on this machine.

- Metadata: model_info requests from 4 client processes for a fixed time; requests/s.
- Download: 8 parallel curl downloads of a 64 MB LFS file streamed by the servers
  (`?stream=true`, so the bytes go through them rather than straight from the store); MB/s.
- Store: one 256 MB download from a single server: filesystem store, S3 streamed by the
  server, and S3 through the presigned redirect (the client fetches from SeaweedFS).
Ratios are against one server process (and against the filesystem store).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.cluster import cluster, free_port
from tests.integration import pg

METADATA_SECONDS = 8
CLIENTS = 4
DOWNLOADS = 8


def _count_requests(url: str, token: str, seconds: float, queue: multiprocessing.Queue) -> None:
    done = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        while time.monotonic() < deadline:
            client.get(url).raise_for_status()
            done += 1
    queue.put(done)


def _metadata_rps(url: str, token: str) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_count_requests, args=(url, token, METADATA_SECONDS, queue))
        for _ in range(CLIENTS)
    ]
    for w in workers:
        w.start()
    total = sum(queue.get() for _ in workers)
    for w in workers:
        w.join()
    return total / METADATA_SECONDS


def _download_mbps(url: str, token: str, count: int, size: int) -> float:
    start = time.perf_counter()
    curls = [
        subprocess.Popen(
            ["curl", "-sfL", "-o", "/dev/null", "-H", f"Authorization: Bearer {token}", url]
        )
        for _ in range(count)
    ]
    assert all(c.wait() == 0 for c in curls), "a download failed"
    return count * size / (time.perf_counter() - start) / 1e6


def _upload(endpoint: str, token: str, size: int) -> str:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    repo = f"admin/bench-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=repo)
    api.upload_file(path_or_fileobj=os.urandom(size), path_in_repo="blob.bin", repo_id=repo)
    return repo


def _token(home: Path) -> str:
    from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials

    return read_credentials(home / CREDENTIALS_FILE)["token"]


def scaling() -> list[tuple[int, float, float]]:
    rows = []
    size = 64 * 1024**2
    for servers in (1, 2, 3):
        with tempfile.TemporaryDirectory() as tmp, pg.temporary_database() as database:
            with cluster(
                Path(tmp), database_url=database, port=free_port(), servers=servers, workers=0
            ) as running:
                token = _token(running.home)
                repo = _upload(running.url, token, size)
                rps = _metadata_rps(f"{running.url}/api/models/{repo}", token)
                url = f"{running.url}/{repo}/resolve/main/blob.bin?stream=true"
                mbps = _download_mbps(url, token, DOWNLOADS, size)
                rows.append((servers, rps, mbps))
    return rows


def stores() -> dict[str, float]:
    from bench.hubproc import running_hub

    size = 256 * 1024**2
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        with running_hub(Path(tmp) / "fs") as (endpoint, token, _env):
            repo = _upload(endpoint, token, size)
            results["filesystem"] = _download_mbps(
                f"{endpoint}/{repo}/resolve/main/blob.bin", token, 1, size
            )
        with tempfile.TemporaryDirectory() as s3tmp, pg.temporary_database() as database:
            with cluster(
                Path(s3tmp), database_url=database, port=free_port(), servers=1, workers=0
            ) as running:
                token = _token(running.home)
                repo = _upload(running.url, token, size)
                base = f"{running.url}/{repo}/resolve/main/blob.bin"
                results["s3 streamed by the hub"] = _download_mbps(
                    base + "?stream=true", token, 1, size
                )
                results["s3 presigned redirect"] = _download_mbps(base, token, 1, size)
    return results


def run() -> None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        print("cluster: skipped (nginx is not installed)")
        return
    rows = scaling()
    one_rps, one_mbps = rows[0][1], rows[0][2]
    print("cluster scaling (behind nginx, PostgreSQL + SeaweedFS):")
    print(
        f"{'servers':>8} {'model_info req/s':>17} {'ratio':>6} {'download MB/s':>14} {'ratio':>6}"
    )
    for servers, rps, mbps in rows:
        print(
            f"{servers:>8} {rps:>17.0f} {rps / one_rps:>6.2f} {mbps:>14.0f} {mbps / one_mbps:>6.2f}"
        )
    results = stores()
    reference = results["filesystem"]
    print("store, one 256 MB download from one server:")
    for name, mbps in results.items():
        print(f"  {name:<24} {mbps:>7.0f} MB/s  {mbps / reference:.2f}x filesystem")


if __name__ == "__main__":
    run()
