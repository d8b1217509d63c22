"""`commons tune`, `commons eval` and `commons run`: customize hub models on your own data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

Endpoint = Annotated[str | None, typer.Option(envvar="HF_ENDPOINT", help="The hub's URL.")]
Token = Annotated[str | None, typer.Option(envvar="HF_TOKEN", help="A token for the hub.")]


def _use_endpoint(endpoint: str | None) -> None:
    """The HF libraries read HF_ENDPOINT when first imported: set it before they are."""
    if endpoint:
        os.environ["HF_ENDPOINT"] = endpoint


def tune(
    base: Annotated[
        str | None,
        typer.Argument(help="Base model repo (or folder); 'scikit-learn' for tabular tasks."),
    ] = None,
    data: Annotated[str | None, typer.Option(help="Dataset repo, file or folder.")] = None,
    task: Annotated[
        str, typer.Option(help="text-classification or tabular-classification.")
    ] = "text-classification",
    method: Annotated[
        str | None, typer.Option(help="head, lora or full (text); logistic-regression (tabular).")
    ] = None,
    epochs: Annotated[int, typer.Option()] = 3,
    seed: Annotated[int, typer.Option()] = 0,
    learning_rate: Annotated[float | None, typer.Option()] = None,
    max_rows: Annotated[int | None, typer.Option(help="Train on a seeded sample.")] = None,
    text_column: Annotated[str | None, typer.Option()] = None,
    label_column: Annotated[str, typer.Option()] = "label",
    license: Annotated[str | None, typer.Option(help="Derivative license (checked).")] = None,
    recipe: Annotated[Path | None, typer.Option(help="Re-run a recipe.json.")] = None,
    push: Annotated[str | None, typer.Option(help="owner/name to publish to.")] = None,
    endpoint: Endpoint = None,
    token: Token = None,
) -> None:
    """Tune BASE on DATA, print held-out metrics, and optionally push the result."""
    from modelcommons.errors import InvalidInputError
    from modelcommons.ml.recipe import METHODS, Recipe

    _use_endpoint(endpoint)
    if recipe is not None:
        plan = Recipe.from_file(recipe)
    else:
        if base is None or data is None:
            raise InvalidInputError("Give BASE and --data, or --recipe FILE.")
        plan = Recipe(
            task=task,
            base=base,
            data=data,
            method=method or METHODS.get(task, ("head",))[0],
            epochs=epochs,
            seed=seed,
            learning_rate=learning_rate,
            max_rows=max_rows,
            text_column=text_column,
            label_column=label_column,
            license=license,
        )
    from modelcommons.ml.tune import run_tune

    with _progress_bar() as report:
        result, commit = run_tune(
            plan, push_to=push, endpoint=endpoint, token=token, progress=report
        )
    _print_metrics(result.metrics)
    if push:
        typer.echo(f"Pushed {push} at {commit}")


def evaluate(
    model: str,
    data: Annotated[str, typer.Option(help="Dataset repo, file or folder.")],
    label_column: Annotated[str, typer.Option()] = "label",
    text_column: Annotated[str | None, typer.Option()] = None,
    seed: Annotated[int, typer.Option()] = 0,
    record: Annotated[bool, typer.Option("--record", help="Save the results on the hub.")] = False,
    endpoint: Endpoint = None,
    token: Token = None,
) -> None:
    """Measure MODEL on the test split of DATA."""
    _use_endpoint(endpoint)
    from modelcommons.ml.evaluate import evaluate_model

    metrics = evaluate_model(
        model,
        data,
        label_column=label_column,
        text_column=text_column,
        seed=seed,
        endpoint=endpoint,
        token=token,
        record=record,
    )
    _print_metrics(metrics)


def run(
    model: str,
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Texts, or JSON objects of features for tabular models."),
    ] = None,
    file: Annotated[Path | None, typer.Option(help="A CSV or text file of inputs.")] = None,
    endpoint: Endpoint = None,
    token: Token = None,
) -> None:
    """Print MODEL's prediction for each input."""
    _use_endpoint(endpoint)
    from modelcommons.errors import InvalidInputError
    from modelcommons.ml.predict import predict

    items: list[Any] = list(inputs or [])
    if file is not None:
        items += file.read_text().splitlines()
    if not items:
        raise InvalidInputError("Nothing to predict: give INPUT arguments or --file.")
    parsed = [_parse(item) for item in items]
    for item, result in zip(
        items, predict(model, parsed, endpoint=endpoint, token=token), strict=True
    ):
        if "reply" in result:  # a chat model answers in words
            typer.echo(result["reply"])
        else:
            typer.echo(f"{result['label']}\t{result['score']:.4f}\t{item}")


def _parse(item: str) -> Any:
    if item.lstrip().startswith("{"):
        try:
            return json.loads(item)
        except json.JSONDecodeError:
            return item
    return item


def _print_metrics(metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="held-out test metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("accuracy", "f1_macro", "roc_auc", "baseline_accuracy", "test_rows"):
        if key in metrics:
            value = metrics[key]
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


class _progress_bar:
    """A Rich progress bar fed by the (fraction, message) callbacks of long work."""

    def __enter__(self) -> Any:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
        )
        self.bar.start()
        self.task = self.bar.add_task("starting", total=1.0)
        return self.report

    def report(self, fraction: float, message: str) -> None:
        self.bar.update(self.task, completed=fraction, description=message[:60])

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
