"""`commons user|token|org`: accounts, run against the configured database directly."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from modelcommons.db.engine import Session

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage access tokens.", no_args_is_help=True)
org_app = typer.Typer(help="Manage organizations and their members.", no_args_is_help=True)


def _session() -> AbstractContextManager[Session]:
    from modelcommons.cli.bootstrap import prepare_database
    from modelcommons.db.engine import write_session

    prepare_database()
    return write_session()


@user_app.command("create")
def create_user(
    name: str,
    password: Annotated[str | None, typer.Option(help="Password for the web login.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make a site administrator.")] = False,
) -> None:
    """Create a user."""
    from modelcommons.hub.accounts import create_user as create
    from modelcommons.hub.accounts import hash_password

    password_hash = hash_password(password) if password is not None else None
    with _session() as session:
        create(session, name, password_hash=password_hash, email=email, is_admin=admin)
    typer.echo(f"Created user {name}. Next: commons token create {name}")


@user_app.command("set-password")
def set_password(
    name: str,
    password: Annotated[
        str | None, typer.Option(help="The new password; asked for (hidden) when left out.")
    ] = None,
) -> None:
    """Give user NAME a new password and log them out of every browser (tokens keep working)."""
    from modelcommons.hub.accounts import get_account, hash_password
    from modelcommons.hub.sessions import set_password as replace

    with _session() as session:
        get_account(session, name, kind="user")  # a typo fails before any prompt
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    password_hash = hash_password(password)
    with _session() as session:
        replace(session, name, password_hash)
    typer.echo(f"Changed the password of {name}; their browser sessions are logged out.")


@user_app.command("invite")
def invite_user() -> None:
    """Print a one-time sign-up code, for hubs with COMMONS_SIGNUP=invite (valid 14 days)."""
    from modelcommons.hub.sessions import create_invite

    with _session() as session:
        code = create_invite(session, None)
    typer.echo(code)


@token_app.command("create")
def create_token(
    user: str,
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "cli",
    role: Annotated[str, typer.Option(help="read or write.")] = "write",
) -> None:
    """Create an access token for USER and print it (it is shown only this once)."""
    from modelcommons.hub.accounts import create_token as create
    from modelcommons.hub.accounts import parse_scope

    with _session() as session:
        _, secret = create(session, user, name=name, role=parse_scope(role))
    typer.echo(secret)


@org_app.command("create")
def create_org(
    name: str, owner: Annotated[str, typer.Option(help="The user who administers it.")]
) -> None:
    """Create an organization whose first admin is OWNER."""
    from modelcommons.hub.accounts import create_org as create

    with _session() as session:
        create(session, name, owner=owner)
    typer.echo(f"Created organization {name} (admin: {owner}).")


@org_app.command("add-member")
def add_member(
    org: str,
    user: str,
    role: Annotated[str, typer.Option(help="read, write or admin.")] = "write",
) -> None:
    """Add USER to ORG with ROLE (or change the role of a member)."""
    from modelcommons.hub.accounts import parse_role, set_member

    with _session() as session:
        set_member(session, org, user, role=parse_role(role))
    typer.echo(f"{user} is now a {role} member of {org}.")
