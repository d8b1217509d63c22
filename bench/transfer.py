"""Download and upload throughput of a 1 GiB LFS file, against references in the same run.

- Download: GET through our `resolve` vs nginx serving the very same file from disk, both
  fetched by curl to /dev/null (same client). Target ≥ 0.8× nginx's throughput.
- Upload: `upload_folder` of a folder holding the 1 GiB file vs the least a server must do with
  those bytes: one sha256 pass plus one copy on the same disk. Target ≥ 0.7×.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.hubproc import free_port, running_hub

SIZE = int(os.environ.get("BENCH_TRANSFER_BYTES", 1024**3))
ROUNDS = 3


def _write_random(path: Path, size: int) -> None:
    """Incompressible bytes that never repeat (repeats would flatter chunk deduplication)."""
    import numpy as np

    rng = np.random.default_rng()
    block = 16 * 1024**2
    with open(path, "wb") as f:
        for offset in range(0, size, block):
            f.write(rng.bytes(min(block, size - offset)))


def _curl_seconds(url: str, headers: dict[str, str] | None = None) -> float:
    args = ["curl", "-s", "-f", "-o", "/dev/null", "-w", "%{time_total}", url]
    for key, value in (headers or {}).items():
        args += ["-H", f"{key}: {value}"]
    return float(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def _nginx(root: Path, work: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.getuid() == 0 else "")  # else workers cannot read our files
        + f"daemon off; worker_processes 1; pid {work}/nginx.pid; error_log stderr;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ access_log off; sendfile on; client_body_temp_path {work};"
        f" proxy_temp_path {work}; fastcgi_temp_path {work}; uwsgi_temp_path {work};"
        f" scgi_temp_path {work};\n"
        f"  server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n"
    )
    process = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    return process, port


def _reference_upload_seconds(source: Path, target: Path) -> float:
    os.sync()
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        while block := f.read(8 * 1024**2):
            digest.update(block)
    shutil.copyfile(source, target)
    elapsed = time.perf_counter() - start
    target.unlink()
    return elapsed


def run() -> dict[str, float]:
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from huggingface_hub import HfApi

    work = Path(tempfile.mkdtemp(prefix="commons-bench-", dir=os.environ.get("BENCH_DIR")))
    folder = work / "upload"
    folder.mkdir()
    payload = folder / "weights.bin"
    _write_random(payload, SIZE)
    gib = SIZE / 1024**3
    results: dict[str, float] = {}
    try:
        with running_hub(work / "home") as (endpoint, token, _env):
            api = HfApi(endpoint=endpoint, token=token)
            ours, reference = [], []
            for i in range(ROUNDS):
                rid = f"admin/bench-{i}"
                api.create_repo(rid, exist_ok=True)
                os.sync()  # both sides start with no dirty pages to flush
                start = time.perf_counter()
                api.upload_folder(repo_id=rid, folder_path=folder)
                ours.append(time.perf_counter() - start)
                reference.append(_reference_upload_seconds(payload, work / "copy.bin"))
                if i < ROUNDS - 1:  # a fresh object each round: no dedup shortcut
                    _write_random(payload, SIZE)
            results["upload_hub_s"], results["upload_ref_s"] = min(ours), min(reference)
            results["upload_ratio"] = min(reference) / min(ours)

            sha = hashlib.sha256(payload.read_bytes()).hexdigest()
            url = f"{endpoint}/admin/bench-{ROUNDS - 1}/resolve/main/weights.bin"
            stored = work / "home" / "store" / "lfs" / sha[:2] / sha[2:4] / sha
            nginx, port = _nginx(stored.parent, work)
            try:
                hub_times = [_curl_seconds(url) for _ in range(ROUNDS)]
                nginx_times = [
                    _curl_seconds(f"http://127.0.0.1:{port}/{sha}") for _ in range(ROUNDS)
                ]
            finally:
                nginx.terminate()
            results["download_hub_s"], results["download_nginx_s"] = (
                min(hub_times),
                min(nginx_times),
            )
            results["download_ratio"] = min(nginx_times) / min(hub_times)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"upload   {gib:.2f} GiB: hub {results['upload_hub_s']:.2f} s "
        f"({gib / results['upload_hub_s']:.2f} GiB/s), sha256+copy {results['upload_ref_s']:.2f} s"
        f" -> ratio {results['upload_ratio']:.2f}x (target >= 0.7x)"
    )
    print(
        f"download {gib:.2f} GiB: hub {results['download_hub_s']:.2f} s "
        f"({gib / results['download_hub_s']:.2f} GiB/s), nginx {results['download_nginx_s']:.2f} s"
        f" -> ratio {results['download_ratio']:.2f}x (target >= 0.8x)"
    )
    return results


if __name__ == "__main__":
    run()
