"""A recipe: everything `commons tune` needs to re-run a tune and get the same metrics."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from modelcommons.errors import InvalidInputError

TASKS = ("text-classification", "tabular-classification", "image-classification", "text-generation")
METHODS = {
    "text-classification": ("head", "lora", "full"),
    "tabular-classification": ("logistic-regression",),
    "image-classification": ("head",),
    "text-generation": ("lora",),
}
# Bases that are not repos: scikit-learn estimators start from nothing.
BUILTIN_BASES = {"tabular-classification": ("scikit-learn",)}
# Generous for real tunes, yet no recipe can make a worker train for days or allocate
# without limit (the job timeout bounds what is left).
WHOLE_BOUNDS = {
    "epochs": (1, 100),
    "seed": (0, 2**31 - 1),
    "batch_size": (1, 512),
    "max_length": (8, 4096),
    "image_size": (16, 512),
    "max_rows": (1, 10_000_000),
    "threads": (1, 32),
}
LEARNING_RATE_BOUNDS = (1e-8, 1.0)
TEXT_BOUNDS = {  # most characters: column names and licenses; base and data may be paths
    "base": 1000,
    "data": 1000,
    "text_column": 200,
    "label_column": 200,
    "license": 200,
}
OPTIONAL = {"max_rows", "learning_rate", "text_column", "license"}


@dataclass
class Recipe:
    task: str
    base: str
    data: str
    method: str
    epochs: int = 3
    seed: int = 0
    learning_rate: float | None = None
    batch_size: int = 16
    max_length: int = 128
    image_size: int = 64  # pixels images are resized to (image tasks)
    max_rows: int | None = None
    text_column: str | None = None
    label_column: str = "label"
    threads: int = 2
    license: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InvalidInputError(f"Unknown task {self.task!r}: use one of {', '.join(TASKS)}.")
        if self.method not in METHODS[self.task]:
            raise InvalidInputError(
                f"Method {self.method!r} does not apply to {self.task}: "
                f"use one of {', '.join(METHODS[self.task])}."
            )
        for field, (low, high) in WHOLE_BOUNDS.items():
            _check_whole(field, getattr(self, field), low, high)
        for field, longest in TEXT_BOUNDS.items():
            _check_text(field, getattr(self, field), longest)
        self.learning_rate = _learning_rate(self.learning_rate)

    def to_json(self) -> str:
        return json.dumps({"format": "modelcommons-recipe/1", **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Recipe:
        try:
            data = json.loads(path.read_text())
            data.pop("format", None)
            return cls(**data)
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise InvalidInputError(f"{path} is not a readable recipe: {exc}") from exc


def _check_whole(field: str, value: object, low: int, high: int) -> None:
    if value is None and field in OPTIONAL:
        return
    # bool is an int to Python, never a count to a person
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInputError(
            f"{field} must be a whole number from {low:,} to {high:,}, not {value!r}."
        )


def _check_text(field: str, value: object, longest: int) -> None:
    if value is None and field in OPTIONAL:
        return
    if not isinstance(value, str) or not value or len(value) > longest:
        shown = value[:80] + "..." if isinstance(value, str) and len(value) > 80 else value
        raise InvalidInputError(
            f"{field} must be a text of 1 to {longest:,} characters, not {shown!r}."
        )


def _learning_rate(value: object) -> float | None:
    low, high = LEARNING_RATE_BOUNDS
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and low <= value <= high:
            return float(value)
    raise InvalidInputError(
        f"learning_rate must be a number from {low:g} to {high:g}, not {value!r}."
    )
