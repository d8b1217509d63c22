"""Job children hold no hub secrets, work in a folder of their own that is removed afterwards,
and are killed, with what they started, on cancel and at the time limit.

The children here run the real `python -m modelcommons.jobs.child` on tiny targets from this
module (importable in the child through PYTHONPATH, which the sandbox passes on)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modelcommons.config import get_settings
from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import utcnow
from modelcommons.errors import InvalidInputError, JobTimeoutError
from modelcommons.hub import jobs
from modelcommons.hub.jobs import Job, JobKind, JobStatus
from modelcommons.jobs import confine, runner
from modelcommons.jobs.context import JobContext
from modelcommons.jobs.handlers import HANDLERS
from modelcommons.jobs.sandbox import run_in_child

ROOT = Path(__file__).resolve().parents[2]
HERE = "tests.unit.test_sandbox"


def report_environment(args: dict[str, Any], *, token: str | None, report: Any) -> dict[str, Any]:
    from huggingface_hub import constants

    report.log(0.5, "looked around")
    (Path.cwd() / "downloaded.bin").write_bytes(b"someone's private data")
    return {
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "hf_cache": constants.HF_HUB_CACHE,
        "token": token,
        "args": args,
    }


def try_the_workers_files(
    args: dict[str, Any], *, token: str | None, report: Any
) -> dict[str, Any]:
    """What of the worker's files the child could read or write: nothing, it should be."""
    reached = []
    for path in args["read"]:
        try:
            Path(path).read_bytes()
            reached.append(f"read {path}")
        except PermissionError:
            continue
    try:
        Path(args["write"]).write_text("x")
        reached.append(f"wrote {args['write']}")
    except PermissionError:
        pass
    return {"reached": reached}


def refuse(args: dict[str, Any], *, token: str | None, report: Any) -> dict[str, Any]:
    raise InvalidInputError("model.skops holds types this hub will not load: x.y")


def sleep_with_a_grandchild(args: dict[str, Any], *, token: str | None, report: Any) -> None:
    sleeper = subprocess.Popen(["sleep", "300"])
    report.log(0.1, f"pids {os.getpid()} {sleeper.pid}")
    time.sleep(300)


def _sleepy(job: Job, context: JobContext) -> dict[str, Any]:
    return run_in_child(
        f"{HERE}:sleep_with_a_grandchild",
        {},
        context=context,
        token=None,
        timeout=float(job.args["timeout"]),
    )


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())  # the test home's SQLite database, as `commons serve` makes it


@pytest.fixture(autouse=True)
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))


@pytest.fixture
def sleepy_tunes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tune jobs run _sleepy here: a child that sleeps with a grandchild, until stopped."""
    monkeypatch.setitem(HANDLERS, "tune", _sleepy)


def _job(kind: JobKind, args: dict[str, Any], status: JobStatus = "queued") -> int:
    with write_session() as session:
        job = jobs.create_job(session, kind, args)
        job.status = status
        # Handed to this test's own runner: no worker's sweep (a hub running in the same
        # session, on the same database) hands it to another.
        job.dispatched_at = utcnow()
        return job.id


def _log(job_id: int) -> tuple[str, str]:
    with read_session() as session:
        job = jobs.get_job(session, job_id)
        return job.status, job.log


def test_the_child_holds_no_secrets_and_a_folder_of_its_own(monkeypatch):
    job_id = _job("tune", {}, status="running")  # the parent's settings are read
    secrets = {
        "COMMONS_SECRET_KEY": "the-hub-secret",
        "COMMONS_STORAGE_URL": "s3://bucket?aws_secret_access_key=store-secret",
        "COMMONS_QUEUE_URL": "redis://:queue-secret@127.0.0.1:6379/0",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "HF_TOKEN": "hf-secret",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    assert os.environ.get("COMMONS_HOME")  # set for the whole test run
    context = JobContext(job_id)
    seen = [
        run_in_child(
            f"{HERE}:report_environment", {"n": n}, context=context, token="job1.t", timeout=60
        )
        for n in range(2)
    ]
    for n, child in enumerate(seen):
        env = child["env"]
        assert not [k for k in env if k.startswith(("COMMONS_", "AWS_"))], env
        assert not set(secrets.values()) & set(env.values())
        assert "HF_TOKEN" not in env and child["token"] == "job1.t" and child["args"] == {"n": n}
        folder = Path(child["cwd"])
        assert env["HOME"] == str(folder) and Path(child["hf_cache"]).is_relative_to(folder)
        assert not folder.exists()  # removed, with what the job downloaded
    assert seen[0]["cwd"] != seen[1]["cwd"]
    assert "looked around" in _log(job_id)[1]


def test_a_hub_error_in_the_child_keeps_its_type():
    context = JobContext(_job("tune", {}, status="running"))
    with pytest.raises(InvalidInputError, match="will not load: x.y"):
        run_in_child(f"{HERE}:refuse", {}, context=context, token=None, timeout=60)


def _pids(job_id: int) -> list[int]:
    for _ in range(300):
        words = [line.split() for line in _log(job_id)[1].splitlines() if line.startswith("pids ")]
        if words:
            return [int(p) for p in words[0][1:]]
        time.sleep(0.1)
    raise AssertionError(f"the child never said its pids: {_log(job_id)}")


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for init to reap it: nothing left running."""
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def test_a_job_past_its_time_limit_fails_and_its_processes_are_gone(sleepy_tunes):
    job_id = _job("tune", {"timeout": 6})
    with pytest.raises(JobTimeoutError):
        runner.run(job_id)
    status, log = _log(job_id)
    assert status == "failed" and "COMMONS_JOB_TIMEOUT_SECONDS" in log, log
    assert all(_gone(pid) for pid in _pids(job_id))


def test_cancel_kills_the_child_and_what_it_started(sleepy_tunes):
    job_id = _job("tune", {"timeout": 120})
    running = threading.Thread(target=runner.run, args=(job_id,))
    running.start()
    pids = _pids(job_id)
    with write_session() as session:
        jobs.request_cancel(session, jobs.get_job(session, job_id))
    running.join(30)
    assert not running.is_alive()
    assert _log(job_id)[0] == "cancelled"
    assert all(_gone(pid) for pid in pids)


def test_a_tune_naming_a_path_on_the_worker_is_refused_in_the_child(tmp_path):
    """Even a job queued before requests were checked cannot read the worker's files."""
    (tmp_path / "private.csv").write_text("x,label\n1,a\n2,b\n" * 10)
    recipe = {
        "task": "tabular-classification",
        "base": "scikit-learn",
        "data": str(tmp_path),
        "method": "logistic-regression",
    }
    context = JobContext(_job("tune", {}, status="running"))
    work = {"recipe": recipe, "push": None, "endpoint": "http://127.0.0.1:9"}
    with pytest.raises(InvalidInputError, match="repo id on this hub"):
        run_in_child(
            "modelcommons.jobs.child_work:tune", work, context=context, token=None, timeout=60
        )


@pytest.mark.skipif(confine._abi() == 0, reason="this kernel has no Landlock")
def test_the_child_cannot_reach_the_workers_files(tmp_path):
    """Code that got to run in a job (say, through a model) reads neither the hub's secret key
    nor the worker's environment nor another job's folder, and writes nowhere but its own."""
    job_id = _job("tune", {}, status="running")
    other_job = tmp_path / "commons-job-0-other"
    other_job.mkdir()
    (other_job / "downloaded.bin").write_bytes(b"someone's private data")
    targets = {
        "read": [
            str(get_settings().home / "secret_key"),
            f"/proc/{os.getpid()}/environ",
            str(other_job / "downloaded.bin"),
        ],
        "write": str(tmp_path / "planted.py"),
    }
    assert all(Path(p).read_bytes() for p in targets["read"])  # the worker itself can
    context = JobContext(job_id)
    done = run_in_child(
        f"{HERE}:try_the_workers_files", targets, context=context, token=None, timeout=60
    )
    assert done == {"reached": []}
    assert not (tmp_path / "planted.py").exists()
    assert "not confined" not in _log(job_id)[1]
