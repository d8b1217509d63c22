"""Model and dataset cards: the YAML front matter of README.md, parsed at commit time.

A bad front matter never blocks a commit: it is kept as `error` and shown to the owner.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from modelcommons.licensing.terms import normalize_license

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^---[ \t]*$", re.S | re.M)
RELATIONS = ("adapter", "finetune", "quantized", "merge")
# YAML aliases let a few bytes stand for gigabytes once the front matter is stored as JSON,
# so what it expands to is bounded: values (an alias counts each time it is used), the
# characters of its strings, and its depth.
MAX_VALUES = 100_000
MAX_CHARS = 2_000_000
MAX_DEPTH = 32
# PyYAML's parser reads about 200 KB a second: a 3 MB front matter took 15 s to check,
# anonymously through validate-yaml, and as long inside a commit's write transaction.
MAX_FRONT_MATTER_CHARS = 500_000


@dataclass
class CardMetadata:
    data: dict[str, Any] | None = None
    error: str | None = None
    license: str | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    base_models: list[str] = field(default_factory=list)
    base_model_relation: str | None = None
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _str_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float) and str(v)]
    return []


def _unbounded(data: object) -> str | None:
    """Why the front matter is too big or strange to index as it is, or None."""
    stack, values, chars = [(data, 0)], 0, 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            return f"it holds over {MAX_VALUES:,} values (an alias counts each time it is used)"
        if depth > MAX_DEPTH:
            return f"it is nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, dict):
            stack += [(item, depth + 1) for pair in value.items() for item in pair]
        elif isinstance(value, list):
            stack += [(item, depth + 1) for item in value]
        elif isinstance(value, str):
            chars += len(value)
            if chars > MAX_CHARS:
                return f"it holds over {MAX_CHARS:,} characters once its aliases are expanded"
            if not value.isascii() and _SURROGATE.search(value):
                return "it holds text that is not valid Unicode (a lone surrogate escape)"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotJson(ValueError):
    pass


def _as_json(value: Any) -> Any:
    """The front matter as JSON can store it: YAML also reads dates (`2024-01-01`), binary
    (`!!binary`), sets and numbers JSON has no word for (`.inf`, `1e400`). Dates, such
    numbers and keys that are not text become text; anything else is refused. The depth
    was bounded by `_unbounded` before."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime.date):  # datetimes too
        return value.isoformat()
    raise _NotJson(type(value).__name__)


def _key(key: Any) -> str:
    plain = _as_json(key)
    if isinstance(plain, dict | list):
        raise _NotJson("a mapping or list used as a key")
    return json.dumps(plain) if not isinstance(plain, str) else plain


def _front_matter(text: str) -> tuple[dict[str, Any] | None, str | None]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, None
    if len(match.group(1)) > MAX_FRONT_MATTER_CHARS:
        return None, (
            "The card's front matter is not indexed: it is over "
            f"{MAX_FRONT_MATTER_CHARS:,} characters long."
        )
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        return None, f"Invalid YAML in the card's front matter: {exc}".replace("\n", " ")
    except RecursionError:
        return None, "The card's front matter is nested too deeply."
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, "The card's front matter must be a YAML mapping (key: value lines)."
    problem = _unbounded(data)
    if problem:
        return None, f"The card's front matter is not indexed: {problem}."
    try:
        return _as_json(data), None
    except _NotJson as exc:
        return None, f"The card's front matter is not indexed: it holds a value of type {exc}."


def parse_card(text: str) -> CardMetadata:
    data, error = _front_matter(text)
    if data is None:
        return CardMetadata(error=error)
    card = CardMetadata(data=data)
    card.license = normalize_license(data.get("license"))
    card.pipeline_tag = (
        data.get("pipeline_tag") if isinstance(data.get("pipeline_tag"), str) else None
    )
    card.library_name = (
        data.get("library_name") if isinstance(data.get("library_name"), str) else None
    )
    card.base_models = _str_list(data.get("base_model"))
    relation = data.get("base_model_relation")
    card.base_model_relation = relation if relation in RELATIONS else None
    card.datasets = _str_list(data.get("datasets"))
    warnings = []
    if relation is not None and card.base_model_relation is None:
        warnings.append(f"base_model_relation must be one of {', '.join(RELATIONS)}")
    card.error = "; ".join(warnings) or None
    card.tags = index_tags(card, languages=_str_list(data.get("language")))
    return card


def index_tags(card: CardMetadata, *, languages: list[str]) -> list[str]:
    """Everything `filter=` can match: card tags, library, task, license:, dataset:, base_model:."""
    tags = list(_str_list(card.data.get("tags") if card.data else None))
    tags += [t for t in (card.library_name, card.pipeline_tag) if t]
    tags += languages
    if card.license:
        tags.append(f"license:{card.license}")
    tags += [f"dataset:{d}" for d in card.datasets]
    tags += [f"base_model:{b}" for b in card.base_models]
    seen: dict[str, None] = {}
    for tag in tags:
        seen.setdefault(tag[:200], None)
    return list(seen)


def card_body(text: str) -> str:
    """The card's markdown without its front matter."""
    match = _FRONT_MATTER.match(text)
    return text[match.end() :].lstrip("\r\n") if match else text


def search_text(card: CardMetadata, text: str, *, limit: int = 20_000) -> str:
    """What free-text search matches besides the repo id: the tags and the card's words."""
    return " ".join([*card.tags, card_body(text)[:limit]]).lower()


def validate_card(text: str) -> list[str]:
    """Problems a person should see before committing; they are warnings, never refusals."""
    data, error = _front_matter(text)
    if error:
        return [error]
    card = parse_card(text) if data is not None else None
    return [card.error] if card and card.error else []
