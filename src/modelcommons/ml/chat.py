"""Chat: LoRA on a small causal LM, trained on conversations through the model's own chat
template; the loss counts only the assistant's answers. Measured on held-out conversations
as loss / perplexity and answer accuracy, with the untouched base as the baseline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from modelcommons.errors import InvalidInputError
from modelcommons.ml.data import Splits
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.text import Progress, TrainResult

MESSAGES = "messages"
ANSWER_SAMPLE = 20  # held-out conversations whose answers are generated and compared


def _conversations(frame: Any) -> list[list[dict[str, str]]]:
    if MESSAGES not in frame.columns:
        raise InvalidInputError("Chat data needs a 'messages' column of {role, content} lists.")
    conversations = []
    for value in frame[MESSAGES]:
        turns = list(value) if not isinstance(value, str) else []
        if (
            not turns
            or not all(isinstance(t, dict) and "role" in t and "content" in t for t in turns)
            or turns[-1]["role"] != "assistant"
        ):
            raise InvalidInputError(
                "Each conversation must be role/content turns ending with the assistant's answer."
            )
        conversations.append(
            [{"role": str(t["role"]), "content": str(t["content"])} for t in turns]
        )
    return conversations


def _ids(tokenizer: Any, messages: list[dict[str, str]], *, prompt: bool) -> list[int]:
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=prompt, tokenize=True)
    ids = encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded
    return list(ids)


def _example(tokenizer: Any, conversation: list[dict[str, str]], limit: int) -> tuple[Any, Any]:
    import torch

    prompt = _ids(tokenizer, conversation[:-1], prompt=True)
    full = _ids(tokenizer, conversation, prompt=False)[:limit]
    labels = [-100] * min(len(prompt), len(full)) + full[len(prompt) :]
    return torch.tensor([full]), torch.tensor([labels])


def _loss(model: Any, tokenizer: Any, conversations: list[Any], limit: int) -> float:
    import torch

    total = 0.0
    with torch.no_grad():
        for conversation in conversations:
            ids, labels = _example(tokenizer, conversation, limit)
            total += float(model(input_ids=ids, labels=labels).loss)
    return total / len(conversations)


def reply(
    model: Any, tokenizer: Any, messages: list[dict[str, str]], max_new_tokens: int = 48
) -> str:
    import torch

    prompt = torch.tensor([_ids(tokenizer, messages, prompt=True)])
    with torch.no_grad():
        output = model.generate(
            prompt,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id,
        )
    return str(tokenizer.decode(output[0, prompt.shape[1] :], skip_special_tokens=True)).strip()


def _answer_accuracy(model: Any, tokenizer: Any, conversations: list[Any]) -> float:
    sample = conversations[:ANSWER_SAMPLE]
    hits = sum(
        reply(model, tokenizer, c[:-1], max_new_tokens=8)
        .lower()
        .startswith(c[-1]["content"].strip().lower())
        for c in sample
    )
    return round(hits / len(sample), 6)


def train(
    recipe: Recipe, splits: Splits, out: Path, *, token: str | None, progress: Progress
) -> TrainResult:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from modelcommons.ml.determinism import make_deterministic

    train_set, test_set = _conversations(splits.train), _conversations(splits.test)
    make_deterministic(recipe.seed, recipe.threads)
    tokenizer = AutoTokenizer.from_pretrained(recipe.base, token=token)
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInputError(f"{recipe.base} has no chat template: it is not a chat model.")
    model: Any = AutoModelForCausalLM.from_pretrained(recipe.base, token=token, dtype=torch.float32)
    limit = recipe.max_length
    progress(0.05, "measuring the base model")
    base_loss = _loss(model, tokenizer, test_set, limit)
    base_accuracy = _answer_accuracy(model, tokenizer, test_set)
    model = get_peft_model(
        model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=8, lora_alpha=16, lora_dropout=0.0)
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=recipe.learning_rate or 2e-4
    )
    steps, done = recipe.epochs * len(train_set), 0
    for epoch in range(recipe.epochs):
        model.train()
        generator = torch.Generator().manual_seed(recipe.seed + epoch)
        for index in torch.randperm(len(train_set), generator=generator).tolist():
            ids, labels = _example(tokenizer, train_set[index], limit)
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            done += 1
            progress(0.1 + 0.75 * done / steps, f"epoch {epoch + 1}: loss {loss.item():.4f}")
    model.eval()
    progress(0.9, "measuring the tuned model")
    loss = _loss(model, tokenizer, test_set, limit)
    metrics = {
        "loss": round(loss, 6),
        "perplexity": round(math.exp(loss), 6),
        "answer_accuracy": _answer_accuracy(model, tokenizer, test_set),
        "baseline_loss": round(base_loss, 6),
        "baseline_perplexity": round(math.exp(base_loss), 6),
        "baseline_answer_accuracy": base_accuracy,
        "test_rows": len(test_set),
    }
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return TrainResult(out, metrics, "text-generation", "peft", "adapter", [])
