"""Image classification: a head on a frozen image encoder (EfficientNet-Lite0).

Architectures without a transformers class are stored as safetensors plus a config.json that
names the architecture and its preprocessing (ARCHITECTURE.md), and load through here.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from modelcommons.errors import InvalidInputError
from modelcommons.ml.data import Splits, local_or_hub
from modelcommons.ml.metrics import classification_metrics
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.text import Progress, TrainResult

ARCHITECTURES = ("efficientnet-lite0",)
WEIGHTS = "model.safetensors"


def base_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    if config.get("architecture") not in ARCHITECTURES:
        raise InvalidInputError(
            f"Not an image encoder this hub can tune (architecture "
            f"{config.get('architecture')!r}; known: {', '.join(ARCHITECTURES)})."
        )
    return config


def build(config: dict[str, Any], folder: Path, num_classes: int | None = None) -> Any:
    """The network of `config` with the weights in `folder` (a new head if num_classes given)."""
    from efficientnet_lite_pytorch import EfficientNet
    from safetensors.torch import load_file

    classes = num_classes or len(config.get("labels") or []) or config.get("num_classes", 1000)
    model = EfficientNet.from_name(config["architecture"], num_classes=classes)
    state = load_file(str(folder / WEIGHTS))
    if num_classes is not None:
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    model.load_state_dict(state, strict=num_classes is None)
    return model.eval()


def to_tensor(images: list[Any], config: dict[str, Any]) -> Any:
    """Images (paths, raw bytes or {"bytes": ...} cells) → a normalized batch."""
    import numpy as np
    import torch
    from PIL import Image

    size = int(config["image_size"])
    arrays = []
    for item in images:
        data = item.get("bytes") if isinstance(item, dict) else item
        source: Any = io.BytesIO(data) if isinstance(data, bytes) else data
        try:
            picture = Image.open(source).convert("RGB")
            picture = picture.resize((size, size), Image.Resampling.BILINEAR)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"Not a readable image: {exc}") from exc
        arrays.append(np.asarray(picture, dtype=np.float32) / 255.0)
    batch = torch.tensor(np.stack(arrays)).permute(0, 3, 1, 2)
    mean = torch.tensor(config["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(config["std"]).view(1, 3, 1, 1)
    return (batch - mean) / std


def features(model: Any, images: list[Any], config: dict[str, Any], batch: int = 128) -> Any:
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            maps = model.extract_features(to_tensor(images[start : start + batch], config))
            out.append(torch.nn.functional.adaptive_avg_pool2d(maps, 1).flatten(1))
    return torch.cat(out).numpy()


def train(
    recipe: Recipe, splits: Splits, out: Path, *, token: str | None, progress: Progress
) -> TrainResult:
    import torch
    from safetensors.torch import save_file

    from modelcommons.ml.determinism import make_deterministic
    from modelcommons.ml.heads import fit_linear_head

    folder = local_or_hub(recipe.base, token=token)
    config = {**base_config(folder), "image_size": recipe.image_size}
    if "image" not in splits.train.columns:
        raise InvalidInputError("Image data needs an 'image' column (PNG or JPEG bytes).")
    labels = sorted({str(v) for v in splits.train[recipe.label_column]})
    make_deterministic(recipe.seed, recipe.threads)
    encoder = build(config, folder, num_classes=len(labels))
    progress(0.1, f"encoding {len(splits.train)} training images")
    train_features = features(encoder, list(splits.train["image"]), config)
    targets = [str(v) for v in splits.train[recipe.label_column]]
    head = fit_linear_head(train_features, targets, labels, recipe.seed)
    encoder._fc.load_state_dict(head.state_dict())
    progress(0.7, f"measuring on {len(splits.test)} test images")
    with torch.no_grad():
        test_features = torch.tensor(features(encoder, list(splits.test["image"]), config))
        scores = torch.softmax(head(test_features), dim=-1)
    predicted = [labels[i] for i in scores.argmax(dim=-1).tolist()]
    truth = [str(v) for v in splits.test[recipe.label_column]]
    positive = scores[:, -1].tolist() if len(labels) == 2 else None
    metrics = classification_metrics(truth, predicted, labels=labels, positive_scores=positive)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(out / WEIGHTS))
    config.update(labels=labels, task="image-classification", num_classes=len(labels))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return TrainResult(out, metrics, "image-classification", "modelcommons", "finetune", labels)


def predict(folder: Path, images: list[Any]) -> list[dict[str, Any]]:
    import torch

    config = base_config(folder)
    model = build(config, folder)
    with torch.no_grad():
        scores = torch.softmax(model(to_tensor(images, config)), dim=-1)
    labels = config["labels"]
    return [{"label": labels[int(row.argmax())], "score": float(row.max())} for row in scores]
