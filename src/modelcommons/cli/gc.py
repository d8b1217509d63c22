"""`commons gc`: remove what nothing can reach (see hub/gc.py for what that means)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelcommons.cli.storage import human_bytes

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class _Bar:
    """hub.jobs.Progress on a Rich progress bar (the CLI's side: nothing cancels it)."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar, self._task = bar, task

    def step(self, fraction: float, line: str) -> None:
        self.progress(fraction, line)

    def progress(self, fraction: float, line: str | None = None) -> bool:
        self._bar.update(self._task, completed=fraction, description=line or "collecting")
        return True


def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go, delete nothing.")
    ] = False,
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            help="Spare what is younger than this many seconds "
            "(default: COMMONS_GC_GRACE_SECONDS, one hour).",
            min=0,
        ),
    ] = None,
) -> None:
    """Delete unreachable git objects, LFS blobs, Xet xorbs and abandoned upload parts."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn
    from rich.table import Table

    from modelcommons.cli.bootstrap import prepare_database, require_hub
    from modelcommons.config import get_settings
    from modelcommons.hub import gc as hub_gc

    require_hub()
    try:
        prepare_database()
    except Exception as exc:
        unavailable = hub_gc.unavailable(exc)
        if unavailable is None:
            raise
        raise unavailable from exc
    grace_seconds = get_settings().gc_grace_seconds if grace is None else grace
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("collecting", total=1.0)
        report = hub_gc.collect(
            grace_seconds=grace_seconds, dry_run=dry_run, progress=_Bar(bar, task)
        )
    verb = "Would remove" if dry_run else "Removed"
    # A caption, not a long title: a title wider than the table wraps mid-figure.
    table = Table(title=verb, caption=f"grace {grace_seconds:g} s, took {report.seconds:.1f} s")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("bytes", justify="right")
    for kind in (*hub_gc.ROW_KINDS, *hub_gc.BYTE_KINDS):
        swept = report.kinds[kind]
        size = human_bytes(swept.bytes) if kind in hub_gc.BYTE_KINDS else ""
        table.add_row(kind, str(swept.count), size)
    Console().print(table)
    typer.echo(f"{'Would free' if dry_run else 'Freed'} {human_bytes(report.freed_bytes)}.")
