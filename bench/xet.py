"""Xet against plain LFS for the same 1 GiB file (upload and download through the real
huggingface_hub client, each in a fresh process and cache), and stored-vs-logical bytes for
the deduplication scenarios of the Xet acceptance tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.hubproc import running_hub
from bench.transfer import _write_random

SIZE = int(os.environ.get("BENCH_TRANSFER_BYTES", 1024**3))
MB = 1000**2

_CLIENT = """
import sys, time
from huggingface_hub import HfApi, hf_hub_download
action, repo, path = sys.argv[1:4]
start = time.perf_counter()
if action == "upload":
    HfApi().upload_file(path_or_fileobj=path, path_in_repo=path.rsplit("/", 1)[1], repo_id=repo)
else:
    hf_hub_download(repo, path)
print(time.perf_counter() - start)
"""


def _client(
    endpoint: str, token: str, home: Path, action: str, repo: str, path: str, *, xet: bool
) -> float:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_XET"}
    env.update(
        HF_ENDPOINT=endpoint, HF_TOKEN=token, HF_HOME=str(home), HF_HUB_DISABLE_PROGRESS_BARS="1"
    )
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT, action, repo, path],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def _stored(endpoint: str, token: str) -> int:
    r = httpx.get(f"{endpoint}/api/storage", headers={"Authorization": f"Bearer {token}"})
    return int(r.json()["stored_bytes"])


def _throughput(endpoint: str, token: str, work: Path) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    gib = SIZE / 1024**3
    rows = []
    for xet in (True, False):
        label = "xet" if xet else "lfs"
        payload = work / f"{label}.bin"
        _write_random(payload, SIZE)  # fresh bytes: no dedup between the two runs
        repo = f"admin/bench-{label}"
        api.create_repo(repo, exist_ok=True)
        os.sync()
        up = _client(
            endpoint, token, work / f"home-{label}-up", "upload", repo, str(payload), xet=xet
        )
        down = _client(
            endpoint, token, work / f"home-{label}-down", "download", repo, payload.name, xet=xet
        )
        rows.append((label, up, down))
        payload.unlink()
    (_, xup, xdown), (_, lup, ldown) = rows
    print(
        f"xet  {gib:.2f} GiB: upload {xup:.2f} s ({gib / xup:.2f} GiB/s), "
        f"download {xdown:.2f} s ({gib / xdown:.2f} GiB/s)"
    )
    print(
        f"lfs  {gib:.2f} GiB: upload {lup:.2f} s ({gib / lup:.2f} GiB/s), "
        f"download {ldown:.2f} s ({gib / ldown:.2f} GiB/s)"
    )
    print(f"xet/lfs throughput ratio: upload {lup / xup:.2f}x, download {ldown / xdown:.2f}x")


def _dedup(endpoint: str, token: str, work: Path) -> None:
    from huggingface_hub import HfApi
    from safetensors.numpy import save_file

    api = HfApi(endpoint=endpoint, token=token)
    rows = []

    def scenario(name: str, slug: str, first: Path, second: Path) -> None:
        for i, path in enumerate((first, second)):
            repo = f"admin/dedup-{slug}-{i}"
            api.create_repo(repo, exist_ok=True)
            before = _stored(endpoint, token)
            _client(endpoint, token, work / f"home-{slug}-{i}", "upload", repo, str(path), xet=True)
            rows.append(
                (
                    f"{name}: {'first' if i == 0 else 'second'}",
                    path.stat().st_size,
                    _stored(endpoint, token) - before,
                )
            )

    (work / "a").mkdir()
    (work / "b").mkdir()
    original = work / "a" / "model.bin"
    _write_random(original, 60 * MB)
    edited = bytearray(original.read_bytes())
    edited[30 * MB : 31 * MB] = os.urandom(MB)
    (work / "b" / "model.bin").write_bytes(edited)
    scenario("60 MB, 1 MB changed", "edit", original, work / "b" / "model.bin")

    rng = np.random.default_rng(0)
    tensors = {
        f"layers.{i:02d}.weight": rng.standard_normal(1_250_000, dtype=np.float32)
        for i in range(20)
    }
    save_file(tensors, str(work / "a" / "model.safetensors"))
    tensors["layers.19.weight"] = rng.standard_normal(1_250_000, dtype=np.float32)
    save_file(tensors, str(work / "b" / "model.safetensors"))
    scenario(
        "100 MB fine-tune",
        "finetune",
        work / "a" / "model.safetensors",
        work / "b" / "model.safetensors",
    )

    print(f"{'upload':34s} {'logical':>10s} {'stored':>10s} {'stored/logical':>15s}")
    for label, logical, stored in rows:
        print(f"{label:34s} {logical / MB:8.1f}MB {stored / MB:8.1f}MB {stored / logical:14.3f}x")


def run() -> None:
    work = Path(tempfile.mkdtemp(prefix="commons-bench-xet-", dir=os.environ.get("BENCH_DIR")))
    try:
        with running_hub(work / "hub") as (endpoint, token, _env):
            start = time.perf_counter()
            _throughput(endpoint, token, work)
            _dedup(endpoint, token, work)
            print(f"(xet benchmark took {time.perf_counter() - start:.0f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run()
