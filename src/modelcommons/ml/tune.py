"""Orchestrating a tune: check and split the data, train, measure, and push the result."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from modelcommons.ml import data
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.text import TrainResult

Progress = Callable[[float, str], None]


def run_tune(
    recipe: Recipe,
    *,
    push_to: str | None,
    endpoint: str | None,
    token: str | None,
    progress: Progress,
    workdir: Path | None = None,
) -> tuple[TrainResult, str | None]:
    """Train per the recipe; push to `push_to` if given. Bad data stops before training."""
    progress(0.0, f"loading {recipe.data}")
    splits = data.load_splits(
        recipe.data,
        label_column=None if recipe.task == "text-generation" else recipe.label_column,
        seed=recipe.seed,
        endpoint=endpoint,
        token=token,
        max_rows=recipe.max_rows,
    )
    progress(
        0.05,
        f"{len(splits.train)} train / {len(splits.validation)} validation / "
        f"{len(splits.test)} test rows",
    )
    out = workdir or Path(tempfile.mkdtemp(prefix="commons-tune-"))
    if recipe.task == "tabular-classification":
        from modelcommons.ml import tabular

        result = tabular.train(recipe, splits, out, token=token, progress=progress)
    elif recipe.task == "text-generation":
        from modelcommons.ml import chat

        result = chat.train(recipe, splits, out, token=token, progress=progress)
    elif recipe.task == "image-classification":
        from modelcommons.ml import image

        result = image.train(recipe, splits, out, token=token, progress=progress)
    else:
        from modelcommons.ml import text

        result = text.train(recipe, splits, out, token=token, progress=progress)
    commit = None
    if push_to is not None:
        from modelcommons.ml.publish import push

        progress(0.95, f"pushing to {push_to}")
        commit = push(recipe, result, push_to, endpoint=endpoint, token=token)
    progress(1.0, "done")
    return result, commit
