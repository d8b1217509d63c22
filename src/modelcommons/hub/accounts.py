"""Users, organizations, memberships and access tokens, and who a request acts as."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from functools import cache
from typing import get_args

from argon2 import PasswordHasher
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modelcommons.db.models import Account, Membership, Token
from modelcommons.db.vocabulary import AccountKind
from modelcommons.db.vocabulary import Role as Role  # re-exported: edges name them here
from modelcommons.db.vocabulary import Scope as Scope
from modelcommons.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
)
from modelcommons.hub.names import MAX_INTEGER, validate_namespace

ROLES: tuple[Role, ...] = get_args(Role)
SCOPES: tuple[Scope, ...] = get_args(Scope)
TOKEN_PREFIX = "mc_"
PASSWORDS = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user with a token's scope, or nobody."""

    user: Account | None = None
    token_role: Scope | None = None
    token_name: str | None = None
    org_roles: dict[str, Role] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        return self.user.name if self.user else None

    def role_in(self, namespace: str) -> Role | None:
        """The role this principal holds over a namespace: admin of its own, its org role."""
        if self.user is None:
            return None
        if self.user.is_admin or namespace == self.user.name:
            return "admin"
        return self.org_roles.get(namespace)

    @property
    def can_write(self) -> bool:
        return self.user is not None and self.token_role == "write"

    @property
    def read_only(self) -> bool:
        """Signed in, but with a scope that may only read: such a request changes nothing."""
        return self.user is not None and self.token_role != "write"


ANONYMOUS = Principal()


def local_admin(name: str) -> Principal:
    """A site administrator for tools that run on the hub's own database (the CLI); the
    account is not stored."""
    return Principal(user=Account(name=name, kind="user", is_admin=True), token_role="write")


def parse_role(value: str) -> Role:
    """A role from a form or the command line, checked and narrowed once at the edge."""
    for role in ROLES:
        if value == role:
            return role
    raise InvalidInputError(f"Invalid role {value!r}: expected one of {', '.join(ROLES)}.")


def parse_scope(value: str) -> Scope:
    """A token's scope from a form, the command line or a Xet token, checked and narrowed."""
    for scope in SCOPES:
        if value == scope:
            return scope
    raise InvalidInputError(f"Invalid token role {value!r}: expected read or write.")


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get_account(session: Session, name: str, *, kind: AccountKind | None = None) -> Account:
    account = session.scalar(select(Account).where(Account.name == name))
    if account is None or (kind and account.kind != kind):
        raise NotFoundError(f"No {kind or 'user or organization'} named {name!r}.")
    return account


def _new_account(session: Session, name: str, kind: AccountKind, **fields: object) -> Account:
    validate_namespace(name)
    taken = session.scalar(select(Account.id).where(Account.name.ilike(name)))
    if taken is not None:
        raise ConflictError(f"The name {name!r} is already taken.")
    account = Account(name=name, kind=kind, **fields)
    session.add(account)
    session.flush()
    return account


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


def hash_password(password: str) -> str:
    """An argon2 hash of an acceptable password. Deliberately slow: call it outside any database
    transaction, so that hashing never holds the write lock others wait for."""
    validate_password(password)
    return PASSWORDS.hash(password)


@cache
def dummy_password_hash() -> str:
    """A hash no password matches, checked for unknown names so that the time a failed log-in
    takes does not tell whether the name exists."""
    return PASSWORDS.hash(secrets.token_urlsafe(32))


def create_user(
    session: Session,
    name: str,
    *,
    password_hash: str | None = None,
    email: str | None = None,
    fullname: str = "",
    is_admin: bool = False,
) -> Account:
    """A new user; `password_hash` comes from hash_password, computed before the transaction."""
    return _new_account(
        session,
        name,
        "user",
        email=email,
        fullname=fullname or name,
        is_admin=is_admin,
        password_hash=password_hash,
    )


def first_admin(session: Session) -> Account | None:
    """The oldest site administrator, if the hub has one yet."""
    return session.scalar(
        select(Account).where(Account.kind == "user", Account.is_admin).order_by(Account.id)
    )


def create_org(session: Session, name: str, *, owner: str, fullname: str = "") -> Account:
    owner_account = get_account(session, owner, kind="user")
    org = _new_account(session, name, "org", fullname=fullname or name)
    session.add(Membership(org_id=org.id, user_id=owner_account.id, role="admin"))
    return org


def set_member(session: Session, org: str, user: str, *, role: Role) -> Membership:
    """Add a member, or change a member's role (never demoting the last admin)."""
    org_account = get_account(session, org, kind="org")
    user_account = get_account(session, user, kind="user")
    membership = session.get(Membership, (org_account.id, user_account.id))
    if membership is None:
        membership = Membership(org_id=org_account.id, user_id=user_account.id, role=role)
        session.add(membership)
    elif membership.role == "admin" and role != "admin":
        admins = [a for a, r in members(session, org_account) if r == "admin"]
        if len(admins) == 1:
            raise ConflictError(
                f"{user} is the last admin of {org}: make someone else admin first."
            )
    membership.role = role
    return membership


def remove_member(session: Session, org: str, user: str) -> None:
    """Take a user out of an organization; its last admin stays, so that someone can manage it."""
    org_account = get_account(session, org, kind="org")
    user_account = get_account(session, user, kind="user")
    membership = session.get(Membership, (org_account.id, user_account.id))
    if membership is None:
        raise NotFoundError(f"{user} is not a member of {org}.")
    admins = [a for a, role in members(session, org_account) if role == "admin"]
    if membership.role == "admin" and len(admins) == 1:
        raise ConflictError(f"{user} is the last admin of {org}: make someone else admin first.")
    session.delete(membership)


def authorize_org_admin(principal: Principal, org: str) -> None:
    if principal.role_in(org) != "admin":
        raise PermissionDeniedError(f"Only admins of {org} can manage its members.")


def org_roles(session: Session, user: Account) -> dict[str, Role]:
    rows = session.execute(
        select(Account.name, Membership.role)
        .join(Membership, Membership.org_id == Account.id)
        .where(Membership.user_id == user.id)
    )
    return {name: role for name, role in rows}


def create_token(session: Session, user: str, *, name: str, role: Scope) -> tuple[Token, str]:
    """A new token; the secret is returned once and only its hash is stored."""
    account = get_account(session, user, kind="user")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = Token(user_id=account.id, name=name, role=role, token_hash=_hash_token(secret))
    session.add(token)
    session.flush()
    return token, secret


def authenticate_token(session: Session, secret: str) -> Principal:
    token = session.scalar(select(Token).where(Token.token_hash == _hash_token(secret)))
    if token is None:
        raise UnauthorizedError("Invalid credentials in Authorization header")
    user = session.get(Account, token.user_id)
    assert user is not None
    return Principal(
        user=user, token_role=token.role, token_name=token.name, org_roles=org_roles(session, user)
    )


def list_tokens(session: Session, user: Account) -> list[Token]:
    stmt = select(Token).where(Token.user_id == user.id).order_by(Token.created_at.desc())
    return list(session.scalars(stmt))


def revoke_token(session: Session, user: Account, token_id: int) -> None:
    """Delete one of the user's tokens; clients using it get 401 from the next request."""
    if not 0 < token_id <= MAX_INTEGER:  # the database would refuse it with a 500
        raise NotFoundError("No such token.")
    result = session.execute(delete(Token).where(Token.id == token_id, Token.user_id == user.id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError("No such token.")


def members(session: Session, org: Account) -> list[tuple[Account, Role]]:
    rows = session.execute(
        select(Account, Membership.role)
        .join(Membership, Membership.user_id == Account.id)
        .where(Membership.org_id == org.id)
        .order_by(Account.name)
    )
    return [(account, role) for account, role in rows]
