"""A classification head on frozen features: logistic regression, as a torch Linear layer."""

from __future__ import annotations

from typing import Any


def fit_linear_head(features: Any, targets: list[str], labels: list[str], seed: int) -> Any:
    """One output per label (sorted, as scikit-learn orders classes). A binary regression has
    one weight row; the scores [0, w·x + b] give the same argmax and softmax."""
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression

    head = LogisticRegression(max_iter=3000, random_state=seed).fit(features, targets)
    weight, bias = head.coef_, head.intercept_
    if len(labels) == 2:
        weight = np.vstack([np.zeros_like(weight), weight])
        bias = np.concatenate([[0.0], bias])
    layer = torch.nn.Linear(features.shape[1], len(labels))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return layer
