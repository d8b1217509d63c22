"""p50/p99 latency of model_info and list_models(search=...) with 10,000 repos in the
database, on SQLite and on PostgreSQL (the machine's server, a throwaway database).

One repo is made through the API; 9,999 more are copies of its rows (repo, ref, commit and
file index), inserted in bulk, so every one of them resolves like a real repo.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select

from bench.hubproc import running_hub

REPOS = int(os.environ.get("BENCH_REPOS", 10_000))
REQUESTS = 300
CARD = b"---\nlicense: mit\npipeline_tag: text-classification\ntags: [bench]\n---\n# Bench\n"


def _fill(database_url: str, template: str, count: int) -> None:
    from modelcommons.db.models import Commit, FileEntry, Ref, Repo, RepoTag

    engine = create_engine(database_url)
    with engine.begin() as conn:
        namespace, name = template.split("/")
        repo = conn.execute(
            select(Repo).where(Repo.namespace == namespace, Repo.name == name)
        ).one()
        rows = {
            model: [
                dict(r._mapping)
                for r in conn.execute(select(model).where(model.repo_id == repo.id))
            ]
            for model in (Ref, Commit, FileEntry, RepoTag)
        }
        base = dict(repo._mapping)
        base.pop("id")
        for start in range(0, count, 1000):
            batch = [
                dict(base, name=f"bench-{i:05d}") for i in range(start, min(count, start + 1000))
            ]
            ids = [
                conn.execute(insert(Repo).values(**r).returning(Repo.id)).scalar_one()
                for r in batch
            ]
            for model, template_rows in rows.items():
                conn.execute(
                    insert(model), [dict(r, repo_id=i) for i in ids for r in template_rows]
                )
    engine.dispose()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def _measure(endpoint: str, token: str) -> dict[str, tuple[float, float]]:
    results = {}
    with httpx.Client(base_url=endpoint, headers={"Authorization": f"Bearer {token}"}) as client:
        for label, url in (
            ("model_info", lambda: f"/api/models/admin/bench-{random.randrange(REPOS - 1):05d}"),
            (
                "list_models(search)",
                lambda: f"/api/models?search=bench-{random.randrange(100):02d}&limit=100",
            ),
        ):
            samples = []
            for _ in range(REQUESTS):
                start = time.perf_counter()
                client.get(url()).raise_for_status()
                samples.append(time.perf_counter() - start)
            results[label] = _percentiles(samples)
    return results


def run_on(database: str) -> dict[str, tuple[float, float]]:
    work = Path(tempfile.mkdtemp(prefix="commons-bench-meta-"))
    settings: dict[str, str] = {}
    drop = None
    if database == "postgresql":
        from tests.integration.pg import temporary_database

        drop = temporary_database()
        settings = {
            "COMMONS_DATABASE_URL": drop.__enter__(),
            "COMMONS_SECRET_KEY": uuid.uuid4().hex,
        }
    try:
        with running_hub(work / "home", **settings) as (endpoint, token, env):
            from huggingface_hub import HfApi

            api = HfApi(endpoint=endpoint, token=token)
            api.create_repo("admin/template")
            api.upload_file(
                path_or_fileobj=CARD, path_in_repo="README.md", repo_id="admin/template"
            )
            _fill(
                env.get("COMMONS_DATABASE_URL") or f"sqlite:///{work}/home/commons.db",
                "admin/template",
                REPOS - 1,
            )
            results = _measure(endpoint, token)
    finally:
        if drop is not None:
            drop.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
    for label, (p50, p99) in results.items():
        print(f"{database:10s} {label:22s} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   ({REPOS} repos)")
    return results


def run() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    for database in ("sqlite", "postgresql"):
        run_on(database)


if __name__ == "__main__":
    run()
