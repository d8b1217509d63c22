"""The "use this" panel: copy-paste code that points the official clients at this hub.

Every value that comes from a card or a name is quoted for the language it lands in (a
card's `pipeline_tag` is written by anyone), so a pasted snippet does only what it says."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from modelcommons.hub.repos import Repo


@dataclass(frozen=True)
class Snippet:
    label: str
    language: str  # for highlighting: "python" or "bash"
    code: str


def _py(value: str) -> str:
    """A Python string literal (JSON's escapes are all valid Python ones)."""
    return json.dumps(value)


def _endpoint(base: str) -> str:
    return f'import os\nos.environ["HF_ENDPOINT"] = {_py(base)}  # this hub, not huggingface.co\n'


def snippets_for(repo: Repo, base: str) -> list[Snippet]:
    """Snippets for the libraries that can load this repo, most specific first."""
    rid, found = _py(repo.repo_id), []
    if repo.type == "dataset":
        found.append(
            Snippet(
                "datasets",
                "python",
                _endpoint(base) + f"from datasets import load_dataset\n\nds = load_dataset({rid})",
            )
        )
    elif repo.library_name == "sentence-transformers":
        found.append(
            Snippet(
                "sentence-transformers",
                "python",
                _endpoint(base) + "from sentence_transformers import SentenceTransformer\n\n"
                f"model = SentenceTransformer({rid})\n"
                'embeddings = model.encode(["A sentence to embed"])',
            )
        )
    elif repo.library_name in ("transformers", "peft") or repo.pipeline_tag:
        task = _py(repo.pipeline_tag or "text-classification")
        found.append(
            Snippet(
                "transformers",
                "python",
                _endpoint(base) + "from transformers import pipeline\n\n"
                f"pipe = pipeline({task}, model={rid})",
            )
        )
    kind = "" if repo.type == "model" else f", repo_type={_py(repo.type)}"
    found.append(
        Snippet(
            "huggingface_hub",
            "python",
            _endpoint(base) + "from huggingface_hub import snapshot_download\n\n"
            f"path = snapshot_download({rid}{kind})",
        )
    )
    flag = "" if repo.type == "model" else f" --repo-type {repo.type}"
    found.append(
        Snippet(
            "CLI",
            "bash",
            f"HF_ENDPOINT={shlex.quote(base)} hf download {shlex.quote(repo.repo_id)}{flag}",
        )
    )
    prefix = "" if repo.type == "model" else f"{repo.type}s/"
    found.append(
        Snippet("git", "bash", f"git clone {shlex.quote(f'{base}/{prefix}{repo.repo_id}')}")
    )
    return found
