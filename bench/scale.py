"""How commits, listings and downloads scale with a repo's file count, through the real
huggingface_hub client against one `commons serve` on the embedded defaults (SQLite and the
filesystem store).

1. Dataset repos of 100, 10,000 and 100,000 tiny files in folders of 1,000: the build rate
   (commits of 5,000 files), a one-file commit (median of 5) and the database growth it
   causes, and a recursive listing read to the end. Goal: a one-file commit at 100,000 files
   costs at most 2× one at 100.
2. One flat folder of 100,000 files: a one-file commit beside `git commit` of the same change
   in a git repository of the same shape (the reference, same run).
3. `snapshot_download` of the 10,000-file repo.
4. 200 one-file commits without parent_commit from 32 threads to one branch: all must land,
   none may be refused.

`python -m bench.scale` (`--quick` stops at 10,000 files; `--max-files N`).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from shutil import rmtree

from bench.hubproc import running_hub

SIZES = (100, 10_000, 100_000)
FOLDER = 1_000  # files per folder in the sized repos
BATCH = 5_000  # operations per building commit
ROUNDS = 5  # one-file commits per measurement
SNAPSHOT_FILES = 10_000
CONCURRENT_COMMITS = 200
THREADS = 32
GOAL = 2.0  # one-file commit at the largest size / at 100 files


@dataclass
class Sized:
    files: int
    build_rate: float  # files/s over the whole build
    last_batch_rate: float  # files/s of the last building commit (the slowest, if any is)
    commit_seconds: float  # median one-file commit
    growth_bytes: float  # database bytes per one-file commit
    listing_seconds: float  # recursive list_repo_tree, consumed to the end


class Hub:
    """One running hub: its client, and its SQLite file for measuring growth."""

    def __init__(self, endpoint: str, token: str, database: Path) -> None:
        from huggingface_hub import HfApi

        self.endpoint, self.token, self.database = endpoint, token, database
        self.api = HfApi(endpoint=endpoint, token=token)

    def used_bytes(self) -> int:
        """The bytes of database pages in use, after folding the WAL into the file (freed pages
        are left out: SQLite reuses them before it grows the file)."""
        with closing(sqlite3.connect(self.database, timeout=30)) as conn:
            for _ in range(50):  # a reader still on an old snapshot makes the checkpoint busy
                if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0:
                    break
                time.sleep(0.1)
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def add(self, repo: str, files: dict[str, bytes], message: str) -> None:
        from huggingface_hub import CommitOperationAdd

        operations = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)
            for path, content in files.items()
        ]
        self.api.create_commit(
            repo, repo_type="dataset", operations=operations, commit_message=message
        )


def _sized_paths(count: int) -> Iterator[str]:
    return (f"d{i // FOLDER:03d}/f{i:06d}.txt" for i in range(count))


def _flat_paths(count: int) -> Iterator[str]:
    return (f"f{i:06d}.txt" for i in range(count))


def _build(hub: Hub, repo: str, paths: Iterator[str]) -> tuple[float, float]:
    """Commit every path (tiny contents) in batches; (files/s overall, files/s of the last)."""
    hub.api.create_repo(repo, repo_type="dataset")
    total = 0
    elapsed = 0.0
    last = 0.0
    batch: dict[str, bytes] = {}
    for path in [*paths, None]:
        if path is not None:
            batch[path] = f"{path}\n".encode()
        if len(batch) == BATCH or (path is None and batch):
            start = time.perf_counter()
            hub.add(repo, batch, f"{len(batch)} files")
            seconds = time.perf_counter() - start
            total, elapsed, last = total + len(batch), elapsed + seconds, len(batch) / seconds
            batch = {}
    return total / elapsed, last


def _one_file_commits(hub: Hub, changes: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Per repo, (median seconds, database bytes per commit) of ROUNDS commits each changing
    one file (`changes`: repo → path). The repos take turns, so that a burst of load on the
    machine falls on every size alike."""
    samples: dict[str, list[float]] = {repo: [] for repo in changes}
    growth = dict.fromkeys(changes, 0)
    for n in range(ROUNDS):
        for repo, path in changes.items():
            before = hub.used_bytes()
            start = time.perf_counter()
            hub.add(repo, {path: f"change {n}\n".encode()}, f"change {n}")
            samples[repo].append(time.perf_counter() - start)
            growth[repo] += hub.used_bytes() - before
    return {r: (statistics.median(samples[r]), growth[r] / ROUNDS) for r in changes}


def _listing_seconds(hub: Hub, repo: str) -> float:
    start = time.perf_counter()
    count = sum(1 for _ in hub.api.list_repo_tree(repo, repo_type="dataset", recursive=True))
    seconds = time.perf_counter() - start
    if count < 1:
        raise RuntimeError(f"the listing of {repo} came back empty")
    return seconds


def _sized(hub: Hub, sizes: list[int]) -> list[Sized]:
    """Build every size first, then time their one-file commits in turns, then list them."""
    repos = {files: f"admin/scale-{files}" for files in sizes}
    builds = {files: _build(hub, repo, _sized_paths(files)) for files, repo in repos.items()}
    first = next(_sized_paths(1))
    commits = _one_file_commits(hub, dict.fromkeys(repos.values(), first))
    return [
        Sized(files, *builds[files], *commits[repo], _listing_seconds(hub, repo))
        for files, repo in repos.items()
    ]


def _git_commit_seconds(work: Path, files: int) -> float:
    """Median `git add` + `git commit` of one changed file in a git repo of `files` files in
    one folder, the same change the hub makes."""
    root = work / "git-flat"
    root.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=bench",
                "-c",
                "user.email=b@localhost",
                "-c",
                "gc.auto=0",
                *args,
            ],
            cwd=root,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    for path in _flat_paths(files):
        (root / path).write_text(f"{path}\n")
    git("add", "-A")
    git("commit", "-q", "-m", f"{files} files")
    samples = []
    first = next(_flat_paths(1))
    for n in range(ROUNDS):
        start = time.perf_counter()
        (root / first).write_text(f"change {n}\n")
        git("add", first)
        git("commit", "-q", "-m", f"change {n}")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _snapshot(hub: Hub, repo: str, cache: Path) -> tuple[int, float]:
    """(files downloaded, seconds) of one snapshot_download into an empty cache."""
    from huggingface_hub import snapshot_download

    start = time.perf_counter()
    folder = snapshot_download(
        repo, repo_type="dataset", cache_dir=cache, endpoint=hub.endpoint, token=hub.token
    )
    seconds = time.perf_counter() - start
    got = sum(1 for p in Path(folder).rglob("*") if p.is_file())
    if got < SNAPSHOT_FILES:  # the repo also holds the .gitattributes it was created with
        raise RuntimeError(f"snapshot_download of {repo} gave {got} files, not {SNAPSHOT_FILES}")
    return got, seconds


def _concurrent_commits(hub: Hub) -> tuple[int, list[str], float]:
    """(commits landed, errors of the refused ones, seconds) for CONCURRENT_COMMITS one-file
    commits from THREADS threads to one branch, none naming a parent."""
    repo = "admin/scale-concurrent"
    hub.api.create_repo(repo, repo_type="dataset")

    def commit(n: int) -> str | None:
        try:
            hub.add(repo, {f"c/{n:03d}.txt": f"{n}\n".encode()}, f"commit {n}")
        except Exception as exc:  # a refused commit is what we count, whatever its kind
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return None

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(commit, range(CONCURRENT_COMMITS)))
    seconds = time.perf_counter() - start
    landed = sum(1 for _ in hub.api.list_repo_tree(repo, repo_type="dataset", path_in_repo="c"))
    return landed, [o for o in outcomes if o is not None], seconds


def _sized_section(hub: Hub, max_files: int) -> None:
    print("scale, dataset repos in folders of 1,000 files (SQLite + filesystem store)")
    print(
        f"{'files':>8} {'build files/s':>14} {'last batch':>11} {'1-file commit':>14} "
        f"{'db growth/commit':>17} {'recursive list':>15}",
        flush=True,
    )
    sized = _sized(hub, [files for files in SIZES if files <= max_files])
    for s in sized:
        print(
            f"{s.files:>8,} {s.build_rate:>14,.0f} {s.last_batch_rate:>11,.0f} "
            f"{s.commit_seconds:>12.3f} s {s.growth_bytes / 1024:>14,.1f} KB "
            f"{s.listing_seconds:>13.2f} s",
            flush=True,
        )
    low, high = sized[0], sized[-1]
    ratio = high.commit_seconds / low.commit_seconds
    print(
        f"one-file commit at {high.files:,} files / at {low.files:,}: {ratio:.2f}× "
        f"(goal ≤ {GOAL:.0f}×: {'met' if ratio <= GOAL else 'missed'})",
        flush=True,
    )


def _flat_section(hub: Hub, work: Path, files: int) -> None:
    repo = f"admin/scale-flat-{files}"
    build_rate, _last = _build(hub, repo, _flat_paths(files))
    seconds, growth = _one_file_commits(hub, {repo: next(_flat_paths(1))})[repo]
    git_seconds = _git_commit_seconds(work, files)
    print(
        f"flat folder of {files:,} files (built at {build_rate:,.0f} files/s), one-file commit: "
        f"hub {seconds:.3f} s (+{growth / 1024:,.1f} KB db), git {git_seconds:.3f} s: "
        f"{seconds / git_seconds:.1f}× git",
        flush=True,
    )


def _transfer_section(hub: Hub, work: Path) -> None:
    got, seconds = _snapshot(hub, f"admin/scale-{SNAPSHOT_FILES}", work / "cache")
    print(
        f"snapshot_download of {got:,} files: {seconds:.1f} s ({got / seconds:,.0f} files/s)",
        flush=True,
    )
    landed, refused, seconds = _concurrent_commits(hub)
    print(
        f"{CONCURRENT_COMMITS} concurrent one-file commits from {THREADS} threads: "
        f"{landed} landed, {len(refused)} refused, {CONCURRENT_COMMITS / seconds:.1f} commits/s",
        flush=True,
    )
    for error in sorted(set(refused))[:5]:
        print(f"  refused: {error}")


def run(max_files: int = SIZES[-1]) -> None:
    """Every section, each printed as soon as it is measured."""
    if max_files < SNAPSHOT_FILES:
        raise ValueError(f"max_files must be at least {SNAPSHOT_FILES:,}, got {max_files:,}")
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    work = Path(tempfile.mkdtemp(prefix="commons-bench-scale-"))
    try:
        with running_hub(work / "home") as (endpoint, token, _env):
            hub = Hub(endpoint, token, work / "home" / "commons.db")
            _sized_section(hub, max_files)
            _flat_section(hub, work, max_files)
            _transfer_section(hub, work)
    finally:
        rmtree(work, ignore_errors=True)


def _arguments() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-files", type=int, default=SIZES[-1], help="largest repo size")
    parser.add_argument("--quick", action="store_true", help="stop at 10,000 files")
    args = parser.parse_args()
    max_files = SNAPSHOT_FILES if args.quick else args.max_files
    if max_files < SNAPSHOT_FILES:
        parser.error(f"--max-files must be at least {SNAPSHOT_FILES:,}")
    return int(max_files)


if __name__ == "__main__":
    run(_arguments())
