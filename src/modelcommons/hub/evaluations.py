"""Evaluations and leaderboards: self-reported results from cards' model-index, and verified
results measured by the hub's own workers at recorded commits."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from modelcommons.db.models import Evaluation as Evaluation  # re-exported: edges name it
from modelcommons.db.models import Repo
from modelcommons.errors import InvalidInputError
from modelcommons.hub.accounts import Principal
from modelcommons.hub.repos import can_see, find_repo

# Metrics where a smaller number is the better result; everything else sorts high first.
LOWER_IS_BETTER = ("loss", "perplexity", "error", "mse", "mae", "rmse", "wer", "cer")
# The self-reported results indexed from one card (a real model-index holds a few dozen):
# each is a row that every leaderboard view reads.
MAX_SELF_REPORTED = 1000


def lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def _results(card_data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """(task, dataset, metric, value, split) of each result in a card's model-index."""
    found = []
    model_index = (card_data or {}).get("model-index")
    for entry in model_index if isinstance(model_index, list) else []:
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            task = result.get("task") or {}
            dataset = result.get("dataset") or {}
            for metric in result.get("metrics") or []:
                if not isinstance(metric, dict):
                    continue
                value = metric.get("value")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if not math.isfinite(value) or not isinstance(dataset, dict):
                    continue
                found.append(
                    {
                        "task": str(task.get("type") or "unknown")
                        if isinstance(task, dict)
                        else "unknown",
                        "dataset": str(dataset.get("type") or dataset.get("name") or "unknown"),
                        "split": dataset.get("split"),
                        "metric": str(metric.get("type") or metric.get("name") or "unknown"),
                        "value": float(value),
                    }
                )
    return found


def index_self_reported(session: Session, repo: Repo) -> None:
    """Replace the repo's self-reported results with those of its card. Each keeps the
    dataset's name as the card gives it: the dataset's own name now (after a rename) is
    shown only to those who may read the dataset (_dataset_name)."""
    session.execute(
        delete(Evaluation).where(Evaluation.model_id == repo.id, Evaluation.verified.is_(False))
    )
    for result in _results(repo.card_data)[:MAX_SELF_REPORTED]:
        dataset = find_repo(session, "dataset", result["dataset"])
        session.add(
            Evaluation(
                model_id=repo.id,
                dataset_id=dataset.id if dataset else None,
                dataset_name=result["dataset"],
                task=result["task"],
                metric=result["metric"],
                value=result["value"],
                split=str(result["split"]) if result["split"] else None,
                verified=False,
            )
        )


def record_verified(
    session: Session,
    *,
    model: Repo,
    dataset: Repo,
    task: str,
    metrics: dict[str, float],
    model_commit: str,
    dataset_commit: str,
    job_id: int | None,
) -> list[Evaluation]:
    """Store what the hub measured; an earlier verified result at the same commits is replaced."""
    session.execute(
        delete(Evaluation).where(
            Evaluation.model_id == model.id,
            Evaluation.dataset_id == dataset.id,
            Evaluation.verified.is_(True),
            Evaluation.model_commit == model_commit,
            Evaluation.dataset_commit == dataset_commit,
        )
    )
    rows = [
        Evaluation(
            model_id=model.id,
            dataset_id=dataset.id,
            dataset_name=dataset.repo_id,
            task=task,
            metric=metric,
            value=float(value),
            split="test",
            verified=True,
            model_commit=model_commit,
            dataset_commit=dataset_commit,
            job_id=job_id,
        )
        for metric, value in metrics.items()
        if isinstance(value, int | float) and math.isfinite(value)
    ]
    session.add_all(rows)
    return rows


@dataclass(frozen=True)
class Board:
    task: str
    dataset: str
    metric: str
    entries: int


def boards(session: Session, principal: Principal) -> list[Board]:
    """Every (task, dataset, metric) with at least one result one may see."""
    counts: dict[tuple[str, str, str], set[int]] = {}
    for model, evaluation in _with_models(session, select(Evaluation)):
        if can_see(principal, model) and _shown(session, principal, evaluation):
            key = (
                evaluation.task,
                _dataset_name(session, principal, evaluation),
                evaluation.metric,
            )
            counts.setdefault(key, set()).add(model.id)
    return [Board(t, d, m, len(ids)) for (t, d, m), ids in sorted(counts.items())]


def _with_models(session: Session, stmt: Select[Evaluation]) -> Iterator[tuple[Repo, Evaluation]]:
    """Each evaluation with its model, each model read once: a join would repeat the model's
    row, card included, for every one of its results (15,000 results of one 1.3 MB card
    took the server past 20 GB on one view of /leaderboards). The models and datasets read
    are held here, as the session's identity map holds them only while someone does, so
    that `_dataset` finds them there instead of asking the database once per result."""
    held: dict[int, Repo | None] = {}
    for evaluation in session.scalars(stmt):
        for repo_id in (evaluation.model_id, evaluation.dataset_id):
            if repo_id is not None and repo_id not in held:
                held[repo_id] = session.get(Repo, repo_id)
        model = held[evaluation.model_id]
        if model is not None:
            yield model, evaluation


def _dataset(session: Session, principal: Principal, evaluation: Evaluation) -> Repo | None:
    """The dataset repo the result points at, if the principal may read it."""
    if evaluation.dataset_id is None:
        return None
    dataset = session.get(Repo, evaluation.dataset_id)
    return dataset if dataset is not None and can_see(principal, dataset) else None


def _shown(session: Session, principal: Principal, evaluation: Evaluation) -> bool:
    """A verified result on a dataset the principal cannot read is not shown: its name is
    the hub's, not a card's, so it would reveal the dataset."""
    if not evaluation.verified or evaluation.dataset_id is None:
        return True
    return _dataset(session, principal, evaluation) is not None


def _dataset_name(session: Session, principal: Principal, evaluation: Evaluation) -> str:
    """The dataset's current id when the principal may read it (renames keep boards
    together); otherwise the name the result was recorded with."""
    dataset = _dataset(session, principal, evaluation)
    return dataset.repo_id if dataset is not None else evaluation.dataset_name


@dataclass(frozen=True)
class Entry:
    model: Repo
    evaluation: Evaluation


@dataclass(frozen=True)
class BoardQuery:
    """One leaderboard: its task, dataset and metric; verified results only or all; `order`
    "asc" or "desc" (by default the metric's own direction)."""

    task: str
    dataset: str
    metric: str
    verified_only: bool = False
    order: str | None = None

    def __post_init__(self) -> None:
        if self.order not in (None, "", "asc", "desc"):
            raise InvalidInputError("order must be asc or desc.")

    @property
    def ascending(self) -> bool:
        return lower_is_better(self.metric) if not self.order else self.order == "asc"


def board_entries(session: Session, principal: Principal, query: BoardQuery) -> list[Entry]:
    """The rows of one leaderboard, best first."""
    found = find_repo(session, "dataset", query.dataset)
    if found is not None and not can_see(principal, found):  # not even by an old name
        found = None
    stmt = select(Evaluation).where(
        Evaluation.task == query.task, Evaluation.metric == query.metric
    )
    named = Evaluation.dataset_name == query.dataset
    stmt = stmt.where((Evaluation.dataset_id == found.id) | named if found else named)
    if query.verified_only:
        stmt = stmt.where(Evaluation.verified.is_(True))
    entries = [
        Entry(model, e)
        for model, e in _with_models(session, stmt)
        if can_see(principal, model) and _shown(session, principal, e)
    ]
    sign = 1 if query.ascending else -1
    entries.sort(key=lambda e: sign * e.evaluation.value)
    return entries


def model_evaluations(session: Session, principal: Principal, repo: Repo) -> list[Evaluation]:
    """The model's results the principal may see (_shown)."""
    stmt = select(Evaluation).where(Evaluation.model_id == repo.id)
    rows = session.scalars(stmt.order_by(Evaluation.verified.desc(), Evaluation.created_at))
    return [e for e in rows if _shown(session, principal, e)]
