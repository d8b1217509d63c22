"""`commons eval`: a model's metrics on the test split of a dataset, optionally recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from modelcommons.ml import data
from modelcommons.ml.metrics import classification_metrics
from modelcommons.ml.predict import predict

# What a verified evaluation may download: never pickles (or code), so nothing it loads can
# run code; a model without safetensors or skops weights fails to load instead.
UNSAFE_PATTERNS = ["*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "*.joblib", "*.py"]


def evaluate_model(
    model: str,
    dataset: str,
    *,
    label_column: str,
    text_column: str | None,
    seed: int,
    endpoint: str | None,
    token: str | None,
    record: bool,
) -> dict[str, Any]:
    splits = data.load_splits(
        dataset, label_column=label_column, seed=seed, endpoint=endpoint, token=token
    )
    test = splits.test
    features = [c for c in test.columns if c != label_column]
    if text_column or any(c in test.columns for c in data.TEXT_COLUMNS):
        column = data.pick_column(test, text_column, data.TEXT_COLUMNS, "text")
        inputs: list[Any] = list(test[column])
    else:
        inputs = test[features].to_dict(orient="records")
    results = predict(model, inputs, endpoint=endpoint, token=token)
    truth = [str(v) for v in test[label_column]]
    labels = sorted(set(truth) | {r["label"] for r in results})
    metrics = classification_metrics(truth, [r["label"] for r in results], labels=labels)
    if record:
        from huggingface_hub import HfApi

        name = dataset.replace("/", "--")
        HfApi(endpoint=endpoint, token=token).upload_file(
            path_or_fileobj=(json.dumps({"dataset": dataset, **metrics}, indent=2) + "\n").encode(),
            path_in_repo=f"evaluations/{name}.json",
            repo_id=model,
            commit_message=f"Record evaluation on {dataset}",
        )
    return metrics


def evaluate_pinned(
    model: str,
    model_commit: str,
    dataset: str,
    dataset_commit: str,
    *,
    label_column: str,
    text_column: str | None,
    endpoint: str,
    token: str | None,
    log: Callable[[float, str], None],
) -> dict[str, Any]:
    """A verified evaluation's measure: the model's metrics on the dataset's test split, both
    fetched from the hub at the pinned commits, without any pickle or code."""
    from huggingface_hub import snapshot_download

    log(0.05, f"Fetching {model} at {model_commit[:8]}")
    model_dir = snapshot_download(
        model,
        revision=model_commit,
        ignore_patterns=UNSAFE_PATTERNS,
        endpoint=endpoint,
        token=token,
    )
    log(0.2, f"Fetching {dataset} at {dataset_commit[:8]}")
    data_dir = snapshot_download(
        dataset,
        repo_type="dataset",
        revision=dataset_commit,
        endpoint=endpoint,
        token=token,
    )
    log(0.4, "Predicting on the test split")
    return evaluate_model(
        model_dir,
        data_dir,
        label_column=label_column,
        text_column=text_column,
        seed=0,
        endpoint=endpoint,
        token=token,
        record=False,
    )
