"""Job requests (issue 12): repo ids of this hub only, bounded recipes, a per-user limit of
active jobs, and job tokens that never have more scope than the job needs or its requester."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from modelcommons.hub.job_tokens import job_token
from modelcommons.jobs import runner
from tests.cluster import free_port, serve
from tests.integration.conftest import User, make_user
from tests.integration.web_client import Browser

LIMIT = 3
PATHS = [
    "/etc/passwd",
    "../../etc/passwd",
    "~/.ssh/id_rsa",
    "./train.csv",
    "http://evil.example/a/b",
    "file:///etc/passwd",
    "C:\\data\\train.csv",
    "a/b/c",
    "commons-data",
]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _tune(hub: str, token: str, **fields: object) -> httpx.Response:
    body = {
        "task": "tabular-classification",
        "method": "logistic-regression",
        "base": "scikit-learn",
        **fields,
    }
    return httpx.post(f"{hub}/api/jobs/tune", json=body, headers=_auth(token))


@pytest.fixture(scope="module")
def idle_hub(hub: str) -> Iterator[str]:
    """A second server on the same database whose worker is down: its jobs stay queued (so
    they count as active) until a test claims them as a worker would. Limit: 3 per user."""
    folder = Path(tempfile.mkdtemp(prefix="commons-idle-"))
    env = {
        **os.environ,
        "COMMONS_RUN_WORKER": "0",
        "COMMONS_QUEUE_URL": f"sqlite:///{folder}/queue.db",
        "COMMONS_MAX_ACTIVE_JOBS_PER_USER": str(LIMIT),
    }
    with serve(free_port(), env, folder / "server.log") as url:
        yield url


def _repos(hub: str, user: User, *, private: bool = False) -> tuple[str, str]:
    api = HfApi(endpoint=hub, token=user.token)
    model, data = f"{user.name}/m-{uuid.uuid4().hex[:6]}", f"{user.name}/d-{uuid.uuid4().hex[:6]}"
    api.create_repo(model, private=private)
    api.create_repo(data, repo_type="dataset", private=private)
    return model, data


def _cancel_all(hub: str, user: User) -> None:
    for job in httpx.get(f"{hub}/api/jobs", headers=_auth(user.token)).json():
        httpx.post(f"{hub}/api/jobs/{job['id']}/cancel", headers=_auth(user.token))


def test_tune_requests_take_repo_ids_of_this_hub_never_paths(hub: str, alice: User):
    _, data = _repos(hub, alice)
    for path in PATHS:
        as_data = _tune(hub, alice.token, data=path)
        assert as_data.status_code == 400, (path, as_data.text)
        assert "a repo id on this hub" in as_data.json()["error"], path
        as_base = _tune(
            hub, alice.token, task="text-classification", method="head", base=path, data=data
        )
        assert as_base.status_code == 400, (path, as_base.text)
        assert "a repo id on this hub" in as_base.json()["error"], path


def test_tune_requests_need_read_access_to_the_base_and_the_data(hub: str, alice: User, bob: User):
    model, data = _repos(hub, alice, private=True)
    _, bobs_data = _repos(hub, bob)
    text = {"task": "text-classification", "method": "head"}
    for fields in (
        {"data": data},
        {**text, "base": model, "data": bobs_data},
        {"data": f"{alice.name}/no-such-data"},
    ):
        refused = _tune(hub, bob.token, **fields)
        assert refused.status_code == 404, (fields, refused.text)
        assert refused.headers["x-error-code"] == "RepoNotFound"


def test_every_recipe_field_is_bounded(hub: str, alice: User):
    for field, value, words in (
        ("epochs", 1000, "epochs must be a whole number from 1 to 100"),
        ("epochs", 2.5, "epochs must be a whole number"),
        ("epochs", True, "epochs must be a whole number"),
        ("seed", -1, "seed must be a whole number from 0"),
        ("batch_size", 10**6, "batch_size must be a whole number from 1 to 512"),
        ("max_length", 10**7, "max_length must be a whole number from 8 to 4,096"),
        ("image_size", 100_000, "image_size must be a whole number from 16 to 512"),
        ("max_rows", 10**15, "max_rows must be a whole number from 1 to 10,000,000"),
        ("threads", 500, "threads must be a whole number from 1 to 32"),
        ("learning_rate", 1e9, "learning_rate must be a number from 1e-08 to 1"),
        ("learning_rate", "fast", "learning_rate must be a number"),
        ("label_column", "x" * 10_000, "label_column must be a text of 1 to 200 characters"),
        ("text_column", ["a"], "text_column must be a text"),
        ("license", "y" * 5000, "license must be a text of 1 to 200 characters"),
        ("data", "z" * 5000, "data must be a text of 1 to 1,000 characters"),
        ("push", 42, "push must be a repo id"),
    ):
        refused = _tune(hub, alice.token, **{"data": f"{alice.name}/data", field: value})
        assert refused.status_code == 400, (field, refused.text)
        assert words in refused.json()["error"], (field, refused.json())
    body = {"model": "a/b", "dataset": "c/d", "label_column": "x" * 1000}
    refused = httpx.post(f"{hub}/api/evaluations", json=body, headers=_auth(alice.token))
    assert refused.status_code == 400 and "label_column" in refused.json()["error"]


def test_the_tune_form_refuses_paths_and_unbounded_fields(hub: str):
    browser = Browser(hub)
    name = browser.sign_up()
    browser.new_repo(name, "encoder")
    form = {"task": "text-classification", "method": "head", "owner": name, "name": "t"}
    path = browser.post(f"/{name}/encoder/tune", {**form, "data": "/etc/passwd"})
    assert path.status_code == 400 and "a repo id on this hub" in path.text
    browser.new_repo(name, "data", "dataset")
    epochs = browser.post(
        f"/{name}/encoder/tune", {**form, "data": f"{name}/data", "epochs": "999"}
    )
    assert (
        epochs.status_code == 400 and "epochs must be a whole number from 1 to 100" in epochs.text
    )
    assert 'href="/jobs/' not in browser.client.get("/jobs").text  # nothing was queued


def _asker(hub: str, user: User) -> Callable[[int], httpx.Response]:
    """Evaluation request number n: one model and dataset, a label column of its own."""
    model, data = _repos(hub, user)

    def ask(n: int) -> httpx.Response:
        body = {"model": model, "dataset": data, "label_column": f"label{n}"}
        auth = _auth(user.token)
        return httpx.post(f"{hub}/api/evaluations", json=body, headers=auth, timeout=60)

    return ask


def test_a_user_has_at_most_the_limit_of_active_jobs(idle_hub: str):
    user = make_user(idle_hub)
    ask = _asker(idle_hub, user)
    try:
        queued = [ask(n) for n in range(LIMIT)]
        assert [answer.status_code for answer in queued] == [200] * LIMIT
        again = ask(0)  # the same request while it is queued: the same job, not one more
        assert again.status_code == 200 and again.json()["id"] == queued[0].json()["id"]
        over = ask(LIMIT)
        assert over.status_code == 429
        assert f"You have {LIMIT} jobs queued or running" in over.json()["error"]
        cancel = f"{idle_hub}/api/jobs/{queued[0].json()['id']}/cancel"
        httpx.post(cancel, headers=_auth(user.token))
        assert ask(LIMIT).status_code == 200  # a cancelled job no longer counts
    finally:
        _cancel_all(idle_hub, user)


def test_parallel_requests_cannot_pass_the_limit_together(idle_hub: str):
    user = make_user(idle_hub)
    ask = _asker(idle_hub, user)
    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(answer.status_code for answer in pool.map(ask, range(8)))
        assert statuses == [200] * LIMIT + [429] * (8 - LIMIT)
    finally:
        _cancel_all(idle_hub, user)


def _running_token(job_id: int) -> str:
    """Claim the queued job as the hub's worker does, and derive the token it would use."""
    job = runner.claim(job_id)
    assert job is not None, f"job {job_id} was not queued"
    return job_token(job)


def _may_create_repo(hub: str, token: str) -> int:
    user = HfApi(endpoint=hub, token=token).whoami()["name"]
    try:
        HfApi(endpoint=hub, token=token).create_repo(f"{user}/by-job-{uuid.uuid4().hex[:6]}")
    except HfHubHTTPError as exc:
        return exc.response.status_code
    return 200


def test_a_job_token_has_the_scope_its_job_needs_and_no_more(idle_hub: str):
    user = make_user(idle_hub)
    model, data = _repos(idle_hub, user, private=True)
    auth = _auth(user.token)
    try:
        evaluation = httpx.post(
            f"{idle_hub}/api/evaluations", json={"model": model, "dataset": data}, headers=auth
        )
        assert evaluation.status_code == 200, evaluation.text
        token = _running_token(evaluation.json()["id"])
        api = HfApi(endpoint=idle_hub, token=token)
        assert api.model_info(model).id == model  # it reads what it evaluates
        assert _may_create_repo(idle_hub, token) == 403
        with pytest.raises(HfHubHTTPError) as commit:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=model)
        assert commit.value.response.status_code == 403
        _cancel_all(idle_hub, user)

        tune = _tune(idle_hub, user.token, data=data, push=f"{user.name}/tuned")
        assert tune.status_code == 200, tune.text
        assert _may_create_repo(idle_hub, _running_token(tune.json()["id"])) == 200
        _cancel_all(idle_hub, user)
        no_push = _tune(idle_hub, user.token, data=data)
        assert _may_create_repo(idle_hub, _running_token(no_push.json()["id"])) == 403
    finally:
        _cancel_all(idle_hub, user)
