"""The `commons` command: one module per noun, imported lazily so that --help is instant."""

from __future__ import annotations

import sys

import typer

from modelcommons.cli import accounts, demo, licenses, serve, storage, tune

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


def _hub_failure(exc: Exception) -> str | None:
    """One line for a hub that cannot be reached or refused a request; None for a bug."""
    import httpx

    if isinstance(exc, httpx.TransportError):
        return f"cannot reach the hub ({exc}). Is it running?"
    try:
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError:  # the HF client comes with the ml extra
        return None
    if isinstance(exc, HfHubHTTPError):
        return f"the hub refused: {str(exc).splitlines()[0]}"
    return None


if __name__ == "__main__":
    main()
