"""`commons storage stats`: logical vs stored bytes, for the hub or one repo."""

from __future__ import annotations

from typing import Annotated

import typer

storage_app = typer.Typer(help="Storage accounting.", no_args_is_help=True)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{size} B"
        value /= 1000
    raise AssertionError("unreachable")


@storage_app.command("stats")
def stats(
    repo: Annotated[
        str | None, typer.Argument(help="owner/name; the whole hub if omitted.")
    ] = None,
    repo_type: Annotated[str, typer.Option("--type", help="model or dataset.")] = "model",
) -> None:
    """Print logical bytes, stored bytes and the deduplication ratio."""
    from rich.console import Console
    from rich.table import Table

    from modelcommons.cli.bootstrap import prepare_database, require_hub
    from modelcommons.db.engine import read_session
    from modelcommons.hub import accounting
    from modelcommons.hub.accounts import local_admin
    from modelcommons.hub.names import validate_repo_type
    from modelcommons.hub.repos import get_repo

    require_hub()
    prepare_database()
    with read_session() as session:
        if repo is None:
            figures, title = accounting.hub_stats(session), "The hub's large files"
        else:
            admin = local_admin("commons-cli")
            found = get_repo(session, admin, validate_repo_type(repo_type), repo)
            figures, title = accounting.repo_stats(session, found), f"{repo_type} {found.repo_id}"
    table = Table(title=title, show_header=False)
    table.add_row("logical bytes", human_bytes(figures.logical_bytes))
    table.add_row("stored bytes", human_bytes(figures.stored_bytes))
    table.add_row("dedup ratio", f"{figures.dedup_ratio:.2f}x")
    table.add_row("LFS/Xet files", f"{figures.lfs_objects} ({figures.xet_files} in Xet)")
    table.add_row("xorbs", str(figures.xorbs))
    Console().print(table)


@storage_app.command("convert")
def convert() -> None:
    """Queue jobs converting files stored through LFS into Xet (the job worker runs them)."""
    from modelcommons.cli.bootstrap import prepare_database, require_hub
    from modelcommons.hub.xet.convert import queue_conversions

    require_hub()
    prepare_database()
    queued = queue_conversions()
    typer.echo(f"Queued {len(queued)} conversion job(s); the job worker runs them.")
