"""Model cards for tests: front matter with license, base models and datasets."""

from __future__ import annotations

import uuid

from huggingface_hub import HfApi

from tests.integration.conftest import User


def card(
    license_id: str | None = None,
    base: str | list[str] | None = None,
    relation: str | None = None,
    datasets: list[str] | None = None,
    extra: str = "",
) -> bytes:
    lines = ["---"]
    if license_id:
        lines.append(f"license: {license_id}")
    if isinstance(base, list):
        lines += ["base_model:", *[f"- {b}" for b in base]]
    elif base:
        lines.append(f"base_model: {base}")
    if relation:
        lines.append(f"base_model_relation: {relation}")
    if datasets:
        lines += ["datasets:", *[f"- {d}" for d in datasets]]
    return ("\n".join(lines) + "\n" + extra + "---\n# A model\n").encode()


def publish(api: HfApi, repo_id: str, readme: bytes, repo_type: str = "model") -> None:
    api.create_repo(repo_id, repo_type=repo_type, exist_ok=True)
    api.upload_file(
        path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo_id, repo_type=repo_type
    )


def unique(user: User, prefix: str) -> str:
    return f"{user.name}/{prefix}-{uuid.uuid4().hex[:6]}"


def make_chain(hub: str, alice: User, bob: User) -> dict[str, str]:
    """base → finetune → adapter → merge, alternating between two users, with data."""
    a, b = HfApi(endpoint=hub, token=alice.token), HfApi(endpoint=hub, token=bob.token)
    ids = {
        "data": unique(alice, "data"),
        "base": unique(alice, "base"),
        "ft": unique(bob, "ft"),
        "adapter": unique(alice, "adapter"),
        "other": unique(bob, "other"),
        "merge": unique(bob, "merge"),
    }
    publish(a, ids["data"], card("cc-by-4.0"), "dataset")
    publish(a, ids["base"], card("apache-2.0"))
    publish(b, ids["ft"], card("apache-2.0", ids["base"], "finetune", [ids["data"]]))
    publish(a, ids["adapter"], card("mit", ids["ft"], "adapter"))
    publish(b, ids["other"], card("mit"))
    publish(b, ids["merge"], card("mit", [ids["adapter"], ids["other"]], "merge"))
    return ids
