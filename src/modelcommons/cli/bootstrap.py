"""What commands that run on the hub's own database need first: an up-to-date schema, and the
site admin with its credentials file (COMMONS_HOME/admin-credentials, 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer

CREDENTIALS_FILE = "admin-credentials"


def prepare_database() -> None:
    """Embedded: create or upgrade the schema. Elsewhere: refuse to run on an old schema."""
    from modelcommons.config import get_settings
    from modelcommons.db.engine import get_engine
    from modelcommons.db.migrate import is_current, upgrade

    if get_settings().database_url.startswith("sqlite"):
        upgrade(get_engine())
    elif not is_current(get_engine()):
        from modelcommons.errors import CommonsError

        raise CommonsError("The database schema is not up to date. Next: commons migrate")


def require_hub() -> None:
    """Commands that inspect a hub (gc, storage) refuse a SQLite database that is not there:
    run from another folder, they would create an empty hub and report that it holds nothing."""
    from modelcommons.config import get_settings
    from modelcommons.errors import CommonsError

    settings = get_settings()
    url = settings.database_url
    path = url.split("///", 1)[1].split("?", 1)[0] if url.startswith("sqlite") else ""
    if path and path != ":memory:" and not Path(path).exists():
        raise CommonsError(
            f"No hub at {settings.home} ({path} does not exist): run this from the folder "
            "that holds commons-data, or set COMMONS_HOME."
        )


def read_credentials(path: Path) -> dict[str, str]:
    """The key=value lines of the admin-credentials file."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def ensure_admin() -> str:
    """The first start creates an admin and a write token, saved (0600) in COMMONS_HOME.
    Returns the token the demo seeds with. Servers starting at once on a new database race
    to create the admin; the loser finds it on its second try."""
    from modelcommons.errors import ConflictError

    try:
        return _ensure_admin()
    except ConflictError:
        return _ensure_admin()


def _ensure_admin() -> str:
    from modelcommons.config import get_settings
    from modelcommons.db.engine import write_session
    from modelcommons.hub.accounts import create_token, create_user, first_admin, hash_password

    path = get_settings().home / CREDENTIALS_FILE
    with write_session() as session:
        admin = first_admin(session)
        if admin is not None and path.exists():
            creds = read_credentials(path)
            if "token" in creds:
                typer.echo(f"Admin credentials: {path}")
                return creds["token"]
        password = None
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = create_user(
                session, "admin", password_hash=hash_password(password), is_admin=True
            )
        _, token = create_token(session, admin.name, name="admin", role="write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f"user={admin.name}\n"
            + (f"password={password}\n" if password else "")
            + f"token={token}\n"
        )
    typer.secho(
        f"Admin user: {admin.name}" + (f"  password: {password}" if password else ""), bold=True
    )
    typer.secho(f"Admin token (write): {token}", bold=True)
    typer.echo(f"Saved in {path}")
    return token
