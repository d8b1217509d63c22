"""Big commits and costs that grow with the repo, through the real clients.

- `upload_folder` of 10,000 small files in 100 folders: with Xet off (the client's one
  commit) and on (its pipeline: preupload 256 paths at a time, commits of 250 to 1,000 files).
- `upload_folder` of 200 LFS files of 64 KiB (`.bin`, so each is a pickle-scan candidate).
- `hf upload` of the 10,000-file folder (the CLI of the pinned huggingface_hub).
- Per-request costs on the repo afterwards: repo info, preupload of one path, paths-info of
  one path, resolve of one file, the tree's root, the repo's web page, and the first page of
  the history of a repo of 1,000 commits;
  each against the same request on a one-file repo in the same run (the reference), so a
  cost that grows with the number of files shows as a ratio well above 1.

BENCH_PROFILE=1 records the server with py-spy (`pip install --target /tmp/pyspy py-spy`)
into flame graphs beside the work folder.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

FILES, FOLDERS = 10_000, 100
LFS_FILES, LFS_BYTES = 200, 64 * 1024
ROUNDS = 20
HISTORY = 1_000
PY_SPY = os.environ.get("BENCH_PY_SPY", "/tmp/pyspy/bin/py-spy")


def _small_folder(root: Path, count: int = FILES) -> Path:
    for i in range(count):
        path = root / f"d{i % FOLDERS:03d}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n")
    return root


def _lfs_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for i in range(LFS_FILES):
        (root / f"shard-{i:03d}.bin").write_bytes(os.urandom(LFS_BYTES))
    return root


@contextmanager
def _hub(work: Path) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """A `commons serve` whose process the caller can profile: (endpoint, token, process)."""
    from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
    from tests.cluster import free_port, spawn, wait_for

    home = work / "home"
    env = {**os.environ, "COMMONS_HOME": str(home), "COMMONS_RUN_WORKER": "0"}
    port = free_port()
    log = work / "server.log"
    command = [sys.executable, "-m", "modelcommons.cli.main", "serve", "--port", str(port)]
    with spawn(command, log, env) as process:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/healthz", "the hub", process, log)
        yield url, read_credentials(home / CREDENTIALS_FILE)["token"], process


@contextmanager
def _profiled(process: subprocess.Popen[bytes], out: Path) -> Iterator[None]:
    if os.environ.get("BENCH_PROFILE") != "1":
        yield
        return
    spy = subprocess.Popen(
        [PY_SPY, "record", "-p", str(process.pid), "-o", str(out), "-f", "speedscope"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1)
        yield
    finally:
        spy.send_signal(2)
        spy.wait(timeout=60)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _upload(endpoint: str, token: str, name: str, folder: Path, *, xet: bool) -> float:
    """upload_folder in a fresh process (the client reads HF_HUB_DISABLE_XET at import)."""
    code = (
        "import sys, time; from huggingface_hub import HfApi;"
        "api = HfApi(endpoint=sys.argv[1], token=sys.argv[2]);"
        "api.create_repo(sys.argv[3]); t = time.perf_counter();"
        "api.upload_folder(repo_id=sys.argv[3], folder_path=sys.argv[4]);"
        "print(time.perf_counter() - t)"
    )
    env = {
        **os.environ,
        "HF_HUB_DISABLE_XET": "0" if xet else "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code, endpoint, token, name, str(folder)],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def _hf_upload(endpoint: str, token: str, name: str, folder: Path) -> float:
    hf = Path(sys.executable).parent / "hf"
    env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_TOKEN": token,
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}  # fmt: skip
    start = time.perf_counter()
    subprocess.run([str(hf), "upload", name, str(folder), "."], env=env, check=True,
                   capture_output=True)  # fmt: skip
    return time.perf_counter() - start


def _p50_ms(action: Callable[[], object]) -> float:
    action()  # warm
    return statistics.median(_timed(action) for _ in range(ROUNDS)) * 1000


def _request_costs(
    endpoint: str, token: str, big: str, small: str
) -> dict[str, tuple[float, float]]:
    """p50 ms of each read on the big repo and on the one-file reference repo."""
    client = httpx.Client(base_url=endpoint, headers={"authorization": f"Bearer {token}"})
    one_file = {big: "d000/f00000.txt", small: "README.md"}

    def requests(repo: str) -> dict[str, Callable[[], object]]:
        path = one_file[repo]

        def ok(response: httpx.Response) -> httpx.Response:
            response.raise_for_status()
            return response

        return {
            "repo info": lambda: ok(client.get(f"/api/models/{repo}")),
            "preupload 1 path": lambda: ok(client.post(
                f"/api/models/{repo}/preupload/main",
                json={"files": [{"path": path, "size": 10, "sample": ""}]})),
            "paths-info 1 path": lambda: ok(client.post(
                f"/api/models/{repo}/paths-info/main", data={"paths": [path]})),
            "resolve 1 file": lambda: ok(client.get(f"/{repo}/resolve/main/{path}")),
            "tree root": lambda: ok(client.get(f"/api/models/{repo}/tree/main")),
            "web repo page": lambda: ok(client.get(f"/{repo}")),
        }  # fmt: skip

    big_requests, small_requests = requests(big), requests(small)
    return {
        what: (_p50_ms(big_requests[what]), _p50_ms(small_requests[what])) for what in big_requests
    }


def _long_history(endpoint: str, token: str, name: str, count: int) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(name)
    for i in range(count):
        add = CommitOperationAdd(path_in_repo="n.txt", path_or_fileobj=f"{i}\n".encode())
        api.create_commit(name, operations=[add], commit_message=f"commit {i}")


def _history_costs(
    endpoint: str, token: str, long: str, short: str
) -> dict[str, tuple[float, float]]:
    """p50 ms of a history page on a repo of HISTORY commits and on a one-commit repo."""
    client = httpx.Client(base_url=endpoint, headers={"authorization": f"Bearer {token}"})

    def page(repo: str) -> Callable[[], object]:
        return lambda: client.get(f"/api/models/{repo}/commits/main").raise_for_status()

    return {f"commits page 1 of {HISTORY:,}": (_p50_ms(page(long)), _p50_ms(page(short)))}


def run() -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="commons-bench-big-"))
    seconds: dict[str, float] = {}
    try:
        small = _small_folder(work / "small")
        lfs = _lfs_folder(work / "lfs")
        with _hub(work) as (endpoint, token, server):
            admin = "admin"
            with _profiled(server, work / "legacy.json"):
                seconds["upload_folder 10k, Xet off"] = _upload(
                    endpoint, token, f"{admin}/small-legacy", small, xet=False
                )
            with _profiled(server, work / "xet.json"):
                seconds["upload_folder 10k, Xet on"] = _upload(
                    endpoint, token, f"{admin}/small-xet", small, xet=True
                )
            with _profiled(server, work / "lfs.json"):
                seconds["upload_folder 200 LFS, Xet off"] = _upload(
                    endpoint, token, f"{admin}/lfs-legacy", lfs, xet=False
                )
                seconds["upload_folder 200 LFS, Xet on"] = _upload(
                    endpoint, token, f"{admin}/lfs-xet", lfs, xet=True
                )
            with _profiled(server, work / "hf-upload.json"):
                seconds["hf upload 10k"] = _hf_upload(endpoint, token, f"{admin}/small-cli", small)
            one = work / "one"
            one.mkdir()
            (one / "README.md").write_text("one file\n")
            _upload(endpoint, token, f"{admin}/one", one, xet=False)
            _long_history(endpoint, token, f"{admin}/long", HISTORY)
            with _profiled(server, work / "reads.json"):
                costs = _request_costs(endpoint, token, f"{admin}/small-xet", f"{admin}/one")
                costs.update(_history_costs(endpoint, token, f"{admin}/long", f"{admin}/one"))
        for what, value in seconds.items():
            print(f"{what:34} {value:7.2f} s")
        for what, (big, ref) in costs.items():
            print(f"{what:34} {big:7.1f} ms   one-file repo {ref:6.1f} ms   {big / ref:5.1f}×")
            seconds[f"{what} ratio"] = big / ref
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return seconds


if __name__ == "__main__":
    run()
