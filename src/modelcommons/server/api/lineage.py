"""Lineage, license checks, evaluations and leaderboards (our extras to the HF protocol)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from modelcommons.hub import evaluations, lineage
from modelcommons.hub.evaluations import Evaluation
from modelcommons.hub.repos import get_repo
from modelcommons.server.api.hf.shapes import iso
from modelcommons.server.deps import CurrentPrincipal, ReadSession, RepoInUrl

router = APIRouter()
EVALUATE = "evaluate"


def _tree(nodes: list[lineage.Node]) -> list[dict[str, Any]]:
    return [{**n.as_json(), "children": _tree(n.children)} for n in nodes]


@router.get("/api/{types}/{namespace}/{name}/lineage")
def get_lineage(
    repo: RepoInUrl,
    principal: CurrentPrincipal,
    depth: int = Query(default=3, ge=1, le=lineage.MAX_DEPTH),
    *,
    session: ReadSession,
) -> dict[str, Any]:
    """Ancestors (nearest first) and descendants (a tree) to `depth`, with relation kinds,
    licenses and datasets; for a dataset, the models trained on it and what grew from them."""
    found = get_repo(session, principal, repo.type, repo.id)
    up = lineage.ancestors(session, principal, found, depth=depth)
    down = lineage.descendants(session, principal, found, depth=depth)
    return {
        "id": found.repo_id,
        "type": found.type,
        "license": found.license,
        "licenseCheck": lineage.license_check_for(session, principal, found),
        "ancestors": [n.as_json() for n in up],
        "descendants": _tree(down),
        "counts": lineage.relation_counts(down),
    }


@router.get("/api/{types}/{namespace}/{name}/license-check")
def license_check(
    repo: RepoInUrl, principal: CurrentPrincipal, session: ReadSession
) -> dict[str, Any]:
    found = get_repo(session, principal, repo.type, repo.id)
    verdict = lineage.license_check_for(session, principal, found)
    return {"id": found.repo_id, "license": found.license, **(verdict or {})}


def evaluation_json(evaluation: Evaluation, model_id: str) -> dict[str, Any]:
    return {
        "model": model_id,
        "dataset": evaluation.dataset_name,
        "task": evaluation.task,
        "metric": evaluation.metric,
        "value": evaluation.value,
        "split": evaluation.split,
        "verified": evaluation.verified,
        "modelCommit": evaluation.model_commit,
        "datasetCommit": evaluation.dataset_commit,
        "createdAt": iso(evaluation.created_at),
    }


@router.get("/api/{types}/{namespace}/{name}/evaluations")
def model_evaluations(
    repo: RepoInUrl, principal: CurrentPrincipal, session: ReadSession
) -> list[dict[str, Any]]:
    found = get_repo(session, principal, repo.type, repo.id)
    rows = evaluations.model_evaluations(session, principal, found)
    return [evaluation_json(e, found.repo_id) for e in rows]


@router.get("/api/leaderboards")
def list_leaderboards(principal: CurrentPrincipal, session: ReadSession) -> list[dict[str, Any]]:
    return [
        {"task": b.task, "dataset": b.dataset, "metric": b.metric, "models": b.entries}
        for b in evaluations.boards(session, principal)
    ]


@router.get("/api/leaderboards/entries")
def leaderboard_entries(
    principal: CurrentPrincipal,
    task: str,
    dataset: str,
    metric: str,
    verified: bool = False,
    order: str | None = None,
    *,
    session: ReadSession,
) -> list[dict[str, Any]]:
    """One leaderboard, best first; each row links to the model's lineage."""
    query = evaluations.BoardQuery(task, dataset, metric, verified, order)
    entries = evaluations.board_entries(session, principal, query)
    return [
        {
            "rank": rank,
            **evaluation_json(e.evaluation, e.model.repo_id),
            "lineage": f"/api/models/{e.model.repo_id}/lineage",
            "baseModels": e.model.base_models or [],
        }
        for rank, e in enumerate(entries, 1)
    ]
