"""The `commons` command: one module per noun, imported lazily so that --help is instant."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import typer

from modelcommons.cli import accounts, demo, gc, licenses, serve, storage, tune

app = typer.Typer(
    name="commons",
    help="Model Commons: a self-hostable hub for open models and datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.command("migrate")(serve.migrate)
app.command("demo")(demo.demo)
app.command("tune")(tune.tune)
app.command("eval")(tune.evaluate)
app.command("run")(tune.run)
app.command("gc")(gc.gc)
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.token_app, name="token")
app.add_typer(accounts.org_app, name="org")
app.add_typer(storage.storage_app, name="storage")
app.add_typer(licenses.license_app, name="license")


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit code 1."""
    from modelcommons.errors import CommonsError

    try:
        app()
    except CommonsError as exc:
        typer.secho(f"Error: {exc.message}", err=True, fg="red")
        sys.exit(1)
    except Exception as exc:
        message = _hub_failure(exc)
        if message is None:
            raise
        typer.secho(f"Error: {message}", err=True, fg="red")
        sys.exit(1)


def _transport_errors() -> tuple[type[Exception], ...]:
    """Network failures of httpx (our own calls) and of httpx2 (huggingface_hub's client)."""
    import httpx

    try:
        import httpx2
    except ImportError:  # the HF client comes with the ml extra
        return (httpx.TransportError,)
    return (httpx.TransportError, httpx2.TransportError)


def _hub_failure(exc: Exception) -> str | None:
    """One line for a hub that cannot be reached or refused a request; None for a bug.

    The HF libraries wrap a network failure (huggingface_hub in LocalEntryNotFoundError,
    transformers in OSError), keeping it as the cause: the whole chain is searched.
    """
    chain = list(_causes(exc))
    for error in chain:
        if isinstance(error, _transport_errors()):
            return f"cannot reach the hub ({error}). Is it running?"
    try:
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError:  # the HF client comes with the ml extra
        return None
    for error in chain:
        if isinstance(error, LocalEntryNotFoundError):  # not downloaded, and no answer
            reason = str(error.__cause__ or error).splitlines()[0]
            return f"cannot reach the hub ({reason}). Is it running?"
        if isinstance(error, HfHubHTTPError):
            return f"the hub refused: {str(error).splitlines()[0]}"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then what caused it (explicitly, or while handling), outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


if __name__ == "__main__":
    main()
