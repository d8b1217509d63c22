"""The "use this" panel: copy-paste code that points the official clients at this hub."""

from __future__ import annotations

from dataclasses import dataclass

from modelcommons.db.models import Repo


@dataclass(frozen=True)
class Snippet:
    label: str
    language: str  # for highlighting: "python" or "bash"
    code: str


def _endpoint(base: str) -> str:
    return f'import os\nos.environ["HF_ENDPOINT"] = "{base}"  # this hub, not huggingface.co\n'


def snippets_for(repo: Repo, base: str) -> list[Snippet]:
    """Snippets for the libraries that can load this repo, most specific first."""
    rid, found = repo.repo_id, []
    if repo.type == "dataset":
        found.append(
            Snippet(
                "datasets",
                "python",
                _endpoint(base)
                + f'from datasets import load_dataset\n\nds = load_dataset("{rid}")',
            )
        )
    elif repo.library_name == "sentence-transformers":
        found.append(
            Snippet(
                "sentence-transformers",
                "python",
                _endpoint(base) + "from sentence_transformers import SentenceTransformer\n\n"
                f'model = SentenceTransformer("{rid}")\n'
                'embeddings = model.encode(["A sentence to embed"])',
            )
        )
    elif repo.library_name in ("transformers", "peft") or repo.pipeline_tag:
        task = repo.pipeline_tag or "text-classification"
        found.append(
            Snippet(
                "transformers",
                "python",
                _endpoint(base) + "from transformers import pipeline\n\n"
                f'pipe = pipeline("{task}", model="{rid}")',
            )
        )
    kind = "" if repo.type == "model" else f', repo_type="{repo.type}"'
    found.append(
        Snippet(
            "huggingface_hub",
            "python",
            _endpoint(base) + "from huggingface_hub import snapshot_download\n\n"
            f'path = snapshot_download("{rid}"{kind})',
        )
    )
    flag = "" if repo.type == "model" else f" --repo-type {repo.type}"
    found.append(Snippet("CLI", "bash", f"HF_ENDPOINT={base} hf download {rid}{flag}"))
    prefix = "" if repo.type == "model" else f"{repo.type}s/"
    found.append(Snippet("git", "bash", f"git clone {base}/{prefix}{rid}"))
    return found
