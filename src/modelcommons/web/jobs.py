"""Work on the hub's workers from the browser: tune a model on your data, ask for a verified
evaluation, and watch your jobs' progress and logs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from modelcommons.errors import CommonsError
from modelcommons.hub import job_requests, jobs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.browsing import RepoView
from modelcommons.hub.job_requests import METHODS, TASKS
from modelcommons.hub.names import whole_number
from modelcommons.server.deps import ReadSession, WriteSession, base_url
from modelcommons.web.auth import SignedIn
from modelcommons.web.forms import SubmittedForm, read_form, text
from modelcommons.web.publish import open_main, owners
from modelcommons.web.rendering import form_page, render
from modelcommons.web.repo_pages import RepoAddress

router = APIRouter(include_in_schema=False)  # fixed paths: before the repo pages
model_router = APIRouter(include_in_schema=False)  # under a model: after the dataset pages


@router.get("/jobs", response_class=HTMLResponse)
def my_jobs(request: Request, principal: SignedIn, session: ReadSession) -> HTMLResponse:
    assert principal.user is not None
    found = jobs.jobs_of(session, principal.user)
    return render(request, "jobs.html", {"jobs": found})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, principal: SignedIn, job_id: int, session: ReadSession
) -> HTMLResponse:
    job = jobs.visible_job(session, principal, job_id)
    # While it runs the page reloads itself: progress without any JavaScript.
    return render(request, "job.html", {"job": job, "active": job.status in jobs.ACTIVE})


@router.post("/jobs/{job_id}/cancel")
def cancel_job(
    principal: SignedIn, job_id: int, _form: SubmittedForm, session: WriteSession
) -> Response:
    jobs.request_cancel(session, jobs.visible_job(session, principal, job_id))
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _model(principal: Principal, namespace: str, name: str) -> RepoView:
    """The model's main branch; anyone who can see it may tune or evaluate it."""
    return open_main(principal, RepoAddress("model", namespace, name), need="read")


def _tune_page(
    request: Request,
    principal: Principal,
    view: RepoView,
    values: dict[str, str],
    error: CommonsError | None = None,
) -> HTMLResponse:
    context = {
        **view.as_context(),
        "tab": "card",
        "tasks": TASKS,
        "methods": METHODS,
        "owners": owners(principal),
        "values": values,
    }
    return form_page(request, "tune.html", context, error)


def _tune_defaults(view: RepoView) -> dict[str, str]:
    task = view.repo.pipeline_tag if view.repo.pipeline_tag in TASKS else "text-classification"
    return {
        "task": task,
        "method": METHODS[task][0],
        "epochs": "3",
        "name": f"{view.repo.name}-tuned",
    }


@model_router.get("/{namespace}/{name}/tune", response_class=HTMLResponse)
def tune_form(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
    view = _model(principal, namespace, name)
    return _tune_page(request, principal, view, _tune_defaults(view))


@model_router.post("/{namespace}/{name}/tune")
async def tune(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
    view = await run_in_threadpool(_model, principal, namespace, name)
    form = await read_form(request)
    keys = ("task", "method", "data", "epochs", "max_rows", "label_column", "owner", "name")
    values = {k: text(form, k) for k in keys}
    fields: dict[str, Any] = {
        "task": values["task"],
        "method": values["method"],
        "base": view.repo.repo_id,
        "data": values["data"],
        "label_column": values["label_column"] or "label",
        "push": f"{values['owner']}/{values['name']}" if values["name"] else None,
    }
    try:
        fields["epochs"] = _whole(values["epochs"] or "3", "epochs")
        if values["max_rows"]:
            fields["max_rows"] = _whole(values["max_rows"], "max rows")
        job = await run_in_threadpool(
            job_requests.request_tune, principal, fields, endpoint=base_url(request)
        )
    except CommonsError as exc:
        return _tune_page(request, principal, view, values, exc)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _whole(value: str, what: str) -> int:
    return whole_number(value, what=f"The number of {what}", least=1)


def _evaluate_page(
    request: Request, view: RepoView, values: dict[str, str], error: CommonsError | None = None
) -> HTMLResponse:
    context = {**view.as_context(), "tab": "card", "values": values}
    return form_page(request, "evaluate.html", context, error)


@model_router.get("/{namespace}/{name}/evaluate", response_class=HTMLResponse)
def evaluate_form(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
    view = _model(principal, namespace, name)
    datasets = view.repo.datasets or []
    return _evaluate_page(request, view, {"dataset": datasets[0] if datasets else ""})


@model_router.post("/{namespace}/{name}/evaluate")
async def evaluate(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
    view = await run_in_threadpool(_model, principal, namespace, name)
    form = await read_form(request)
    values = {k: text(form, k) for k in ("dataset", "label_column", "text_column")}
    fields = {"model": view.repo.repo_id, **{k: v for k, v in values.items() if v}}
    try:
        job = await run_in_threadpool(job_requests.request_evaluation, principal, fields)
    except CommonsError as exc:
        return _evaluate_page(request, view, values, exc)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
