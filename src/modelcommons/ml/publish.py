"""Pushing a tuned model: weights, a card whose front matter records lineage, license and
measured results (model-index), the metrics and the recipe that reproduces them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from modelcommons.licensing.compatibility import derive_license
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.text import TrainResult

# Metrics a card's model-index reports, by task: (metric key, display name).
REPORTED = {
    "classification": [("accuracy", None), ("f1_macro", "macro F1"), ("roc_auc", None)],
    "text-generation": [("perplexity", None), ("answer_accuracy", "answer accuracy")],
}


def input_licenses(recipe: Recipe, *, endpoint: str | None, token: str | None) -> list[str | None]:
    """The base's and the data's licenses, as their hub cards declare them."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=endpoint, token=token)
    found: list[str | None] = []
    for repo, kind in ((recipe.base, "model"), (recipe.data, "dataset")):
        if Path(repo).exists() or "/" not in repo or kind == "model" and _no_base(recipe):
            continue
        try:
            info = api.repo_info(repo, repo_type=kind)
        except HfHubHTTPError:
            continue
        card = getattr(info, "card_data", None)
        found.append(card.get("license") if card else None)
    return found


def _no_base(recipe: Recipe) -> bool:  # scikit-learn estimators start from nothing
    return recipe.task == "tabular-classification"


def card(recipe: Recipe, result: TrainResult, repo_id: str, license_id: str, reason: str) -> str:
    metrics = result.metrics
    front: dict[str, Any] = {
        "license": license_id,
        "library_name": result.library_name,
        "pipeline_tag": result.pipeline_tag,
        "tags": ["modelcommons", "tuned", recipe.method],
    }
    if not _no_base(recipe) and not Path(recipe.base).exists():
        front["base_model"] = recipe.base
        front["base_model_relation"] = result.relation
    if not Path(recipe.data).exists():
        front["datasets"] = [recipe.data]
    results = [
        {"type": key, **({"name": name} if name else {}), "value": metrics[key]}
        for key, name in REPORTED.get(result.pipeline_tag, REPORTED["classification"])
        if key in metrics
    ]
    front["model-index"] = [
        {
            "name": repo_id,
            "results": [
                {
                    "task": {"type": result.pipeline_tag},
                    "dataset": {"name": recipe.data, "type": recipe.data, "split": "test"},
                    "metrics": results,
                }
            ],
        }
    ]
    rows = "".join(f"| {m['type']} | {m['value']:.4f} |\n" for m in results)
    baselines = "".join(
        f"| baseline {key.removeprefix('baseline_')} | {value:.4f} |\n"
        for key, value in metrics.items()
        if key.startswith("baseline_")
    )
    return (
        f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n\n# {repo_id}\n\n"
        f"`{recipe.method}` tune of `{recipe.base}` for {recipe.task} on `{recipe.data}`, "
        f"made with Model Commons (`commons tune --recipe recipe.json` reproduces it).\n\n"
        f"| metric (test, {metrics['test_rows']} rows) | value |\n|---|---|\n{rows}{baselines}\n"
        f"License: {license_id} ({reason}).\n"
    )


def push(
    recipe: Recipe,
    result: TrainResult,
    repo_id: str,
    *,
    endpoint: str | None,
    token: str | None,
    private: bool = False,
) -> str:
    """Create (or update) `repo_id` with the tuned model; returns the commit id."""
    from huggingface_hub import HfApi

    license_id, reason = derive_license(
        input_licenses(recipe, endpoint=endpoint, token=token), recipe.license
    )
    folder = result.folder
    (folder / "README.md").write_text(card(recipe, result, repo_id, license_id, reason))
    (folder / "recipe.json").write_text(recipe.to_json())
    (folder / "metrics.json").write_text(json.dumps(result.metrics, indent=2) + "\n")
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id, folder_path=folder, commit_message=f"{recipe.method} tune of {recipe.base}"
    )
    return info.oid
