"""Text classification on transformer encoders: a head on the frozen encoder (`head`), LoRA
adapters (`lora`, via peft) or full fine-tuning (`full`). The result is a standard
transformers sequence-classification model (or a peft adapter on the hub's base)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelcommons.errors import InvalidInputError
from modelcommons.ml.data import TEXT_COLUMNS, Splits, pick_column
from modelcommons.ml.metrics import classification_metrics
from modelcommons.ml.recipe import Recipe

LEARNING_RATES = {"lora": 1e-3, "full": 5e-5}
CLASSIFIER_FILE = "classifier.json"  # the labels of a sentence-transformers head
DECODER_MARKERS = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")
Progress = Callable[[float, str], None]


@dataclass
class TrainResult:
    folder: Path
    metrics: dict[str, Any]
    pipeline_tag: str
    library_name: str
    relation: str | None  # base_model_relation for the card
    labels: list[str]


def check_encoder(base: str, token: str | None) -> Any:
    from huggingface_hub.errors import LocalEntryNotFoundError
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(base, token=token)
    except (OSError, ValueError) as exc:
        if isinstance(exc.__cause__, LocalEntryNotFoundError):
            raise  # the hub did not answer: not the request's fault (a 400), the network's
        raise InvalidInputError(f"Cannot load the base {base!r}: {exc}") from exc
    architectures = getattr(config, "architectures", None) or []
    if getattr(config, "is_decoder", False) or any(
        marker in a for a in architectures for marker in DECODER_MARKERS
    ):
        raise InvalidInputError(
            f"{base} is a {config.model_type} decoder ({', '.join(architectures)}), not an "
            "encoder: text classification needs an encoder such as BERT or MiniLM."
        )
    return config


def _texts_and_labels(splits: Splits, recipe: Recipe) -> tuple[str, list[str]]:
    column = pick_column(splits.train, recipe.text_column, TEXT_COLUMNS, "text")
    for frame in (splits.train, splits.validation, splits.test):
        if not frame[column].map(lambda v: isinstance(v, str)).all():
            raise InvalidInputError(f"The text column {column!r} holds values that are not text.")
    labels = sorted({str(v) for v in splits.train[recipe.label_column]})
    return column, labels


def train(
    recipe: Recipe, splits: Splits, out: Path, *, token: str | None, progress: Progress
) -> TrainResult:
    check_encoder(recipe.base, token)
    text_column, labels = _texts_and_labels(splits, recipe)
    from modelcommons.ml.determinism import make_deterministic

    make_deterministic(recipe.seed, recipe.threads)
    if recipe.method == "head":
        return _train_head(recipe, splits, out, text_column, labels, token, progress)
    return _train_encoder(recipe, splits, out, text_column, labels, token, progress)


def _train_head(
    recipe: Recipe,
    splits: Splits,
    out: Path,
    text_column: str,
    labels: list[str],
    token: str | None,
    progress: Progress,
) -> TrainResult:
    """A linear head on the frozen encoder's sentence embeddings, appended to the
    sentence-transformers pipeline as a Dense layer: `encode` then returns class scores."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense

    from modelcommons.ml.heads import fit_linear_head

    encoder = SentenceTransformer(recipe.base, device="cpu", token=token)
    encoder.max_seq_length = recipe.max_length

    def embed(frame: Any) -> Any:
        return encoder.encode(list(frame[text_column]), batch_size=recipe.batch_size * 4)

    progress(0.1, f"embedding {len(splits.train)} training texts")
    features = embed(splits.train)
    targets = [str(v) for v in splits.train[recipe.label_column]]
    head = fit_linear_head(features, targets, labels, recipe.seed)
    dense = Dense(features.shape[1], len(labels), activation_function=torch.nn.Identity())
    dense.linear.load_state_dict(head.state_dict())
    progress(0.8, f"measuring on {len(splits.test)} test texts")
    with torch.no_grad():
        scores = torch.softmax(head(torch.tensor(embed(splits.test))), dim=-1)
    predicted = [labels[i] for i in scores.argmax(dim=-1).tolist()]
    truth = [str(v) for v in splits.test[recipe.label_column]]
    metrics = classification_metrics(
        truth, predicted, labels=labels, positive_scores=scores[:, -1].tolist()
    )
    encoder.append(dense)
    encoder.save(str(out), safe_serialization=True)
    (out / CLASSIFIER_FILE).write_text(json.dumps({"labels": labels}, indent=2) + "\n")
    return TrainResult(
        out, metrics, "text-classification", "sentence-transformers", "finetune", labels
    )


def _train_encoder(
    recipe: Recipe,
    splits: Splits,
    out: Path,
    text_column: str,
    labels: list[str],
    token: str | None,
    progress: Progress,
) -> TrainResult:
    """LoRA adapters or full fine-tuning of a transformers sequence classifier."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(recipe.base, token=token)
    model: Any = AutoModelForSequenceClassification.from_pretrained(
        recipe.base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id=label2id,
        token=token,
    )
    if recipe.method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(
            model, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.0)
        )

    def batches(frame: Any, *, shuffle: bool, epoch: int = 0) -> Any:
        order = list(range(len(frame)))
        if shuffle:
            generator = torch.Generator().manual_seed(recipe.seed + epoch)
            order = torch.randperm(len(frame), generator=generator).tolist()
        for start in range(0, len(order), recipe.batch_size):
            rows = frame.iloc[order[start : start + recipe.batch_size]]
            encoded = tokenizer(
                list(rows[text_column]),
                padding=True,
                truncation=True,
                max_length=recipe.max_length,
                return_tensors="pt",
            )
            yield encoded, torch.tensor([label2id[str(v)] for v in rows[recipe.label_column]])

    trainable = [p for p in model.parameters() if p.requires_grad]
    rate = recipe.learning_rate or LEARNING_RATES[recipe.method]
    optimizer = torch.optim.AdamW(trainable, lr=rate)
    steps = recipe.epochs * -(-len(splits.train) // recipe.batch_size)
    done = 0
    for epoch in range(recipe.epochs):
        model.train()
        for encoded, target in batches(splits.train, shuffle=True, epoch=epoch):
            loss = model(**encoded, labels=target).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            done += 1
            progress(0.1 + 0.8 * done / steps, f"epoch {epoch + 1}: loss {loss.item():.4f}")
    model.eval()
    predicted, scores = [], []
    with torch.no_grad():
        for encoded, _ in batches(splits.test, shuffle=False):
            probabilities = torch.softmax(model(**encoded).logits, dim=-1)
            predicted += [labels[i] for i in probabilities.argmax(dim=-1).tolist()]
            scores += probabilities[:, -1].tolist()
    truth = [str(v) for v in splits.test[recipe.label_column]]
    metrics = classification_metrics(truth, predicted, labels=labels, positive_scores=scores)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    if recipe.method == "lora":
        # The classification config (labels) beside the adapter, for loading it on the base.
        model.base_model.model.config.save_pretrained(out)
        return TrainResult(out, metrics, "text-classification", "peft", "adapter", labels)
    return TrainResult(out, metrics, "text-classification", "transformers", "finetune", labels)
