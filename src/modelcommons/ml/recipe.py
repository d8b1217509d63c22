"""A recipe: everything `commons tune` needs to re-run a tune and get the same metrics."""

from __future__ import annotations

import json
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
        if self.epochs < 1 or self.batch_size < 1 or self.threads < 1:
            raise InvalidInputError("epochs, batch size and threads must be at least 1.")

    def to_json(self) -> str:
        return json.dumps({"format": "modelcommons-recipe/1", **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Recipe:
        try:
            data = json.loads(path.read_text())
            data.pop("format", None)
            return cls(**data)
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise InvalidInputError(f"{path} is not a readable recipe: {exc}") from None
