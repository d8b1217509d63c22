"""Loading a tuned model from a hub (or folder) with its ordinary library, and predicting."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelcommons.ml.data import local_or_hub
from modelcommons.ml.safe_skops import load_skops
from modelcommons.ml.text import CLASSIFIER_FILE


def chat(folder: Path, messages: Sequence[Any], *, token: str | None) -> list[str]:
    """One reply per user message, through the model's chat template (a LoRA on its base)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from modelcommons.ml.chat import reply

    base = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base, token=token), str(folder)
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return [reply(model, tokenizer, [{"role": "user", "content": str(m)}]) for m in messages]


def predict(
    model: str, inputs: Sequence[Any], *, endpoint: str | None = None, token: str | None = None
) -> list[dict[str, Any]]:
    """Label and score for each input: text for text models, a feature dict for tabular ones."""
    folder = local_or_hub(model, endpoint=endpoint, token=token)
    config = (
        json.loads((folder / "config.json").read_text())
        if (folder / "config.json").exists()
        else {}
    )
    if config.get("task") == "image-classification":
        from modelcommons.ml import image

        return image.predict(folder, [Path(i) if isinstance(i, str) else i for i in inputs])
    if config.get("library") == "sklearn":
        import pandas as pd

        estimator = load_skops(folder / config["model_file"])
        frame = pd.DataFrame(list(inputs), columns=config["features"])
        labels = estimator.predict(frame)
        scores = estimator.predict_proba(frame).max(axis=1)
        return [
            {"label": str(lab), "score": float(s)} for lab, s in zip(labels, scores, strict=True)
        ]
    if (folder / CLASSIFIER_FILE).exists():
        import torch
        from sentence_transformers import SentenceTransformer

        labels = json.loads((folder / CLASSIFIER_FILE).read_text())["labels"]
        logits = SentenceTransformer(str(folder), device="cpu").encode(
            list(inputs), convert_to_tensor=True
        )
        probabilities = torch.softmax(logits, dim=-1)
        return [
            {"label": labels[int(row.argmax())], "score": float(row.max())} for row in probabilities
        ]
    adapter = folder / "adapter_config.json"
    if adapter.exists() and json.loads(adapter.read_text()).get("task_type") == "CAUSAL_LM":
        return [{"reply": text} for text in chat(folder, inputs, token=token)]
    if adapter.exists():
        from peft import PeftModel
        from transformers import (
            AutoConfig,
            AutoModelForSequenceClassification,
            AutoTokenizer,
            pipeline,
        )

        base = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
        base_model = AutoModelForSequenceClassification.from_pretrained(
            base, config=AutoConfig.from_pretrained(str(folder)), token=token
        )
        adapted = PeftModel.from_pretrained(base_model, str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        classifier = pipeline(
            "text-classification", model=adapted.merge_and_unload(), tokenizer=tokenizer
        )
    else:
        from transformers import pipeline

        classifier = pipeline("text-classification", model=str(folder))
    return [{"label": r["label"], "score": float(r["score"])} for r in classifier(list(inputs))]
