"""Verified evaluations cannot run a model's code, and their jobs stop at the time limit.

Through the real interfaces: models uploaded with the HF client, `POST /api/evaluations`,
the job's state read back over HTTP, the hub's processes read from /proc."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from huggingface_hub import HfApi
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils._testing import assert_run_python_script_without_output

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import free_port, serve
from tests.integration.jobs import run_job

pytestmark = [pytest.mark.ml, pytest.mark.filterwarnings("ignore::UserWarning")]


def _upload_model(api: HfApi, repo: str, estimator: Any, features: list[str], folder: Path) -> None:
    folder.mkdir()
    skops.io.dump(estimator, folder / "model.skops")
    config = {
        "library": "sklearn",
        "task": "tabular-classification",
        "model_file": "model.skops",
        "features": features,
        "labels": ["a", "b"],
    }
    (folder / "config.json").write_text(json.dumps(config))
    api.create_repo(repo)
    api.upload_folder(repo_id=repo, folder_path=folder)


def _upload_table(api: HfApi, repo: str, frame: pd.DataFrame, folder: Path) -> None:
    (folder / "data").mkdir(parents=True)
    half = len(frame) // 2
    frame[:half].to_csv(folder / "data" / "train.csv", index=False)
    frame[half:].to_csv(folder / "data" / "test.csv", index=False)
    api.create_repo(repo, repo_type="dataset")
    api.upload_folder(repo_id=repo, repo_type="dataset", folder_path=folder)


def _numbers(rows: int = 40) -> pd.DataFrame:
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.rand(rows, 2), columns=["x", "y"])
    frame["label"] = np.where(frame["x"] > 0.5, "a", "b")
    return frame


def _classifier() -> Any:
    frame = _numbers()
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(
        frame[["x", "y"]], frame["label"]
    )


def test_a_function_transformer_model_cannot_run_code(hub, alice, tmp_path):
    """The attack of the issue: numpy and sklearn functions chained so that a dataset cell
    becomes a Python script that sklearn's test helper runs."""
    marker = tmp_path / "the-payload-ran"
    script = f"open({str(marker)!r}, 'w').write('pwned')\n"
    payload = make_pipeline(
        FunctionTransformer(np.ravel),
        FunctionTransformer(np.sum),
        FunctionTransformer(assert_run_python_script_without_output),
        LogisticRegression().fit([[0.0], [1.0]], ["a", "b"]),
    )
    api = HfApi(endpoint=hub, token=alice.token)
    suffix = uuid.uuid4().hex[:6]
    model, dataset = f"{alice.name}/evil-{suffix}", f"{alice.name}/scripts-{suffix}"
    _upload_model(api, model, payload, ["code"], tmp_path / "model")
    cells = pd.DataFrame({"code": [script] * 20, "label": ["a", "b"] * 10})
    _upload_table(api, dataset, cells, tmp_path / "data")

    job = run_job(hub, alice.token, "/api/evaluations", {"model": model, "dataset": dataset})
    assert job["status"] == "failed", job["log"]
    assert not marker.exists()
    assert "InvalidInputError" in job["log"] and "FunctionTransformer" in job["log"], job["log"]
    assert "assert_run_python_script_without_output (a function)" in job["log"]


def test_a_tabular_model_still_gets_a_verified_evaluation(hub, alice, tmp_path):
    api = HfApi(endpoint=hub, token=alice.token)
    suffix = uuid.uuid4().hex[:6]
    model, dataset = f"{alice.name}/fine-{suffix}", f"{alice.name}/numbers-{suffix}"
    _upload_model(api, model, _classifier(), ["x", "y"], tmp_path / "model")
    _upload_table(api, dataset, _numbers(), tmp_path / "data")
    job = run_job(hub, alice.token, "/api/evaluations", {"model": model, "dataset": dataset})
    assert job["status"] == "succeeded", job["log"]
    assert job["result"]["metrics"]["accuracy"] >= 0.8 and "Recorded: accuracy" in job["log"]


def _descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its command line."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
        except (FileNotFoundError, ProcessLookupError):
            continue
        if stat[0] not in ("Z", "X"):
            parents[int(entry.name)] = int(stat[1])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = commands[child]
                frontier.append(child)
    return found


def test_an_evaluation_past_the_time_limit_is_stopped(tmp_path):
    home = Path(tempfile.mkdtemp(prefix="commons-timeout-"))
    port = free_port()
    env = {
        **os.environ,
        "COMMONS_HOME": str(home),
        "COMMONS_DATABASE_URL": f"sqlite:///{home}/commons.db",
        "COMMONS_QUEUE_URL": f"sqlite:///{home}/queue.db",
        "COMMONS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "COMMONS_JOB_TIMEOUT_SECONDS": "1",  # starting Python and pandas alone takes longer
    }
    with serve(port, env, home / "server.log") as endpoint:
        token = read_credentials(home / CREDENTIALS_FILE)["token"]
        api = HfApi(endpoint=endpoint, token=token)
        _upload_model(api, "admin/slow", _classifier(), ["x", "y"], tmp_path / "model")
        _upload_table(api, "admin/numbers", _numbers(), tmp_path / "data")
        job = run_job(
            endpoint, token, "/api/evaluations", {"model": "admin/slow", "dataset": "admin/numbers"}
        )
        assert job["status"] == "failed", job["log"]
        assert "JobTimeoutError" in job["log"] and "COMMONS_JOB_TIMEOUT_SECONDS" in job["log"]
        mine = _descendants(os.getpid())
        [server] = [pid for pid, command in mine.items() if f"serve --port {port}" in command]
        children = {p: c for p, c in _descendants(server).items() if "jobs.child" in c}
        assert children == {}, children
