"""Process lifecycle (issue 12): `commons serve` stopped by SIGTERM (what systemd sends) or
SIGINT leaves no process behind, its embedded job worker included; `commons worker` stops
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import COMMONS, free_port, serve, wait_for


def _parents() -> dict[int, int]:
    """Every live process's parent, from /proc (zombies are dead already)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if state != "Z":
            found[int(entry.name)] = int(parent)
    return found


def _descendants(pid: int) -> set[int]:
    parents, found, todo = _parents(), set[int](), [pid]
    while todo:
        current = todo.pop()
        children = {child for child, parent in parents.items() if parent == current}
        todo.extend(children - found)
        found |= children
    return found


def _alive(pids: set[int]) -> set[int]:
    return pids & set(_parents())


def _gone_within(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMMONS_QUEUE_URL"}
    return {
        **env,
        "COMMONS_HOME": str(home),
        "COMMONS_DATABASE_URL": f"sqlite:///{home}/commons.db",
        "COMMONS_RUN_WORKER": "1",
        "COMMONS_WORKER_STOP_SECONDS": "3",
    }


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _start(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = home / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [*COMMONS, "serve", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    wait_for(f"http://127.0.0.1:{port}/healthz", "the hub", server, log)
    return server


def _wait_for_process(server: subprocess.Popen[bytes], words: str, seconds: float) -> set[int]:
    """The server's process tree once one of its processes' command lines holds `words`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tree = _descendants(server.pid)
        if any(words in _cmdline(pid) for pid in tree):
            return tree
        time.sleep(0.02)
    raise AssertionError(f"no process with {words!r} under the server")


def _stop(
    server: subprocess.Popen[bytes],
    tree: set[int],
    signum: int,
    exit_codes: tuple[int, ...] = (0, 1),  # Ctrl-C's "Aborted!" is 1
) -> None:
    """Signal the process; it must exit, and its whole tree be gone, within seconds."""
    try:
        server.send_signal(signum)
        assert server.wait(timeout=30) in exit_codes
        left = _gone_within(tree, 10)
        assert not left, {pid: _cmdline(pid) for pid in left}
    finally:
        for pid in _alive(tree | {server.pid}):
            os.kill(pid, signal.SIGKILL)


def _queue_evaluation(endpoint: str, token: str) -> dict[str, Any]:
    """A job whose child process lives for a while (it starts Python and pandas)."""
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo("admin/model")
    api.create_repo("admin/data", repo_type="dataset")
    body = {"model": "admin/model", "dataset": "admin/data"}
    auth = {"Authorization": f"Bearer {token}"}
    queued = httpx.post(f"{endpoint}/api/evaluations", json=body, headers=auth)
    assert queued.status_code == 200, queued.text
    return dict(queued.json())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_its_worker_and_every_child_on_a_signal(signum: int):
    home = Path(tempfile.mkdtemp(prefix="commons-stop-"))
    server = _start(home, free_port(), _env(home))
    _stop(server, _wait_for_process(server, "spawn_main", 30), signum)


@pytest.mark.ml
def test_a_job_interrupted_by_sigterm_loses_its_child_and_folder_and_is_requeued():
    home = Path(tempfile.mkdtemp(prefix="commons-stop-job-"))
    (home / "tmp").mkdir()
    port, env = free_port(), {**_env(home), "TMPDIR": str(home / "tmp")}
    server = _start(home, port, env)
    endpoint, token = f"http://127.0.0.1:{port}", read_credentials(home / CREDENTIALS_FILE)["token"]
    job = _queue_evaluation(endpoint, token)
    _stop(server, _wait_for_process(server, "modelcommons.jobs.child", 60), signal.SIGTERM)
    assert list((home / "tmp").iterdir()) == []  # the job's folder went with it

    with serve(port, {**env, "COMMONS_RUN_WORKER": "0"}, home / "again.log"):
        auth = {"Authorization": f"Bearer {token}"}
        again = httpx.get(f"{endpoint}/api/jobs/{job['id']}", headers=auth).json()
    assert again["status"] == "queued", again["log"]
    assert "its worker stopped: re-queued" in again["log"]


@pytest.mark.ml
def test_a_worker_on_sigterm_stops_its_job_child_requeues_the_job_and_exits_cleanly():
    home = Path(tempfile.mkdtemp(prefix="commons-worker-stop-"))
    (home / "tmp").mkdir()
    port = free_port()
    env = {**_env(home), "TMPDIR": str(home / "tmp"), "COMMONS_RUN_WORKER": "0"}
    env["COMMONS_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    with serve(port, env, home / "server.log") as endpoint:
        token = read_credentials(home / CREDENTIALS_FILE)["token"]
        job = _queue_evaluation(endpoint, token)
        with open(home / "worker.log", "w") as out:
            # Its own session, as systemd or a container starts it.
            worker = subprocess.Popen(
                [*COMMONS, "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        tree = _wait_for_process(worker, "modelcommons.jobs.child", 60)
        _stop(worker, tree, signal.SIGTERM, exit_codes=(0,))
        assert list((home / "tmp").iterdir()) == []
        auth = {"Authorization": f"Bearer {token}"}
        again = httpx.get(f"{endpoint}/api/jobs/{job['id']}", headers=auth).json()
        assert again["status"] == "queued", again["log"]
        assert "its worker stopped: re-queued" in again["log"]
