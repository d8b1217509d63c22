"""Metrics on held-out data, with the majority-class baseline beside them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def classification_metrics(
    truth: Sequence[Any],
    predicted: Sequence[Any],
    *,
    labels: list[Any],
    positive_scores: Sequence[float] | None = None,
) -> dict[str, Any]:
    from collections import Counter

    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

    majority = Counter(truth).most_common(1)[0][0]
    metrics: dict[str, Any] = {
        "accuracy": round(float(accuracy_score(truth, predicted)), 6),
        "f1_macro": round(float(f1_score(truth, predicted, average="macro")), 6),
        "baseline_accuracy": round(sum(t == majority for t in truth) / len(truth), 6),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        "labels": [str(label) for label in labels],
        "test_rows": len(truth),
    }
    if positive_scores is not None and len(labels) == 2:
        positives = [t == labels[1] for t in truth]
        metrics["roc_auc"] = round(float(roc_auc_score(positives, positive_scores)), 6)
    return metrics
