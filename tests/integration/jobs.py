"""Queueing a job through the API and waiting for it, as a client script would."""

from __future__ import annotations

import time
from typing import Any

import httpx

ACTIVE = ("queued", "running")


def wait_for_job(hub: str, token: str, job_id: int, *, seconds: float = 120) -> dict[str, Any]:
    """The job once it is no longer queued or running; fails the test after `seconds`."""
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    while True:
        job: dict[str, Any] = httpx.get(f"{hub}/api/jobs/{job_id}", headers=auth).json()
        if job["status"] not in ACTIVE:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job['status']}: {job['log']}")
        time.sleep(0.1)


def run_job(hub: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body` to a job route (`/api/jobs/tune`, `/api/evaluations`) and wait for it."""
    queued = httpx.post(f"{hub}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert queued.status_code == 200, queued.text
    return wait_for_job(hub, token, queued.json()["id"])
