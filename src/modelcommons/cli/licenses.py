"""`commons license check MODEL`: the license verdict along a repo's whole ancestry."""

from __future__ import annotations

from typing import Annotated

import typer

from modelcommons.cli.tune import Endpoint, Token

license_app = typer.Typer(help="License checks along lineage.", no_args_is_help=True)
LABELS = {"ok": "compatible", "needs_review": "needs review", "flagged": "incompatible"}
COLORS = {"ok": "green", "needs_review": "yellow", "flagged": "red"}


@license_app.command("check")
def check(
    repo: Annotated[str, typer.Argument(help="owner/name of a model (or dataset).")],
    repo_type: Annotated[str, typer.Option("--type", help="model or dataset.")] = "model",
    endpoint: Endpoint = "http://127.0.0.1:8080",
    token: Token = None,
) -> None:
    """Print the stored verdict with its reasons and duties; exit 1 if incompatible."""
    import httpx

    from modelcommons.errors import CommonsError

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(
        f"{(endpoint or '').rstrip('/')}/api/{repo_type}s/{repo}/license-check", headers=headers
    )
    if response.status_code != 200:
        raise CommonsError(response.json().get("error", f"HTTP {response.status_code}"))
    verdict = response.json()
    status = verdict.get("status", "needs_review")
    typer.secho(
        f"{verdict['id']}: {verdict.get('license') or 'no license'}, {LABELS[status]}",
        fg=COLORS[status],
        bold=True,
    )
    for reason in verdict.get("reasons", []):
        typer.echo(f"  - {reason}")
    for duty in verdict.get("obligations", []):
        typer.echo(f"  obligation: {duty}")
    if status == "flagged":
        raise typer.Exit(1)
