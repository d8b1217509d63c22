"""Tabular classification with scikit-learn, saved with skops (never raw pickle)."""

from __future__ import annotations

import json
from pathlib import Path

from modelcommons.errors import InvalidInputError
from modelcommons.ml.data import Splits
from modelcommons.ml.metrics import classification_metrics
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.text import Progress, TrainResult

MODEL_FILE = "model.skops"


def _features(splits: Splits, label: str) -> list[str]:
    columns = [c for c in splits.train.columns if c != label]
    bad = [
        c for c in columns if not str(splits.train[c].dtype).startswith(("int", "float", "bool"))
    ]
    if bad:
        raise InvalidInputError(
            f"Tabular tuning needs numeric features; these are not: {', '.join(map(str, bad))}."
        )
    if not columns:
        raise InvalidInputError("The data has no feature columns besides the label.")
    return [str(c) for c in columns]


def train(
    recipe: Recipe, splits: Splits, out: Path, *, token: str | None, progress: Progress
) -> TrainResult:
    import skops.io
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = _features(splits, recipe.label_column)
    labels = sorted({str(v) for v in splits.train[recipe.label_column]})
    model = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=recipe.seed)
    )
    target = splits.train[recipe.label_column].astype(str)
    progress(0.3, f"fitting logistic regression on {len(splits.train)} rows")
    model.fit(splits.train[features], target)
    predicted = list(model.predict(splits.test[features]))
    scores = list(model.predict_proba(splits.test[features])[:, -1])
    truth = [str(v) for v in splits.test[recipe.label_column]]
    metrics = classification_metrics(truth, predicted, labels=labels, positive_scores=scores)
    out.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, out / MODEL_FILE)
    config = {
        "library": "sklearn",
        "task": "tabular-classification",
        "model_file": MODEL_FILE,
        "features": features,
        "labels": labels,
        "label_column": recipe.label_column,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return TrainResult(out, metrics, "tabular-classification", "sklearn", None, labels)
