"""Dashboard users: bcrypt-hashed passwords in `ops.dashboard_users` (owner-only table).

Roles: `admin` sees every tenant; `viewer` sees exactly one. `bi users add NAME --role viewer
--tenant T --password-env VAR` creates or updates a user; the password comes from the named env var
or an interactive prompt and is never printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from dataclasses import dataclass
from typing import Literal

import bcrypt
from sqlalchemy import text

Role = Literal["admin", "viewer"]
ROLES: tuple[str, ...] = ("admin", "viewer")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MIN_PASSWORD_LENGTH = 8
# bcrypt only looks at the first 72 bytes; longer passwords are rejected rather than truncated.
MAX_PASSWORD_BYTES = 72
# A hash of a random password: verifying unknown users costs the same as known ones (no timing oracle).
_DUMMY_HASH = bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(rounds=12))


class AuthError(ValueError):
    """A user cannot be created or changed; the message never holds a password."""


@dataclass(frozen=True)
class User:
    """A signed-in (or listed) dashboard user."""

    username: str
    role: Role
    tenant_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_session(self) -> dict[str, str | None]:
        """What the web session stores (no secret)."""
        return {"username": self.username, "role": self.role, "tenant_id": self.tenant_id}


def hash_password(password: str, rounds: int = 12) -> str:
    """A bcrypt hash (salted) of the password."""
    _check_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """True when the password matches the bcrypt hash (constant-time inside bcrypt)."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except (ValueError, TypeError):
        return False


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise AuthError(f"the password must be at most {MAX_PASSWORD_BYTES} bytes")


def _engine(url: str | None = None, role: str = "owner"):  # noqa: ANN202 - sqlalchemy Engine
    """`bi users` runs as the owner; sign-in as the dashboards login (functions of migration 051)."""
    from lib.db import get_engine

    return get_engine(role, url)  # type: ignore[arg-type]


def add_user(
    username: str,
    password: str,
    role: Role = "viewer",
    tenant_id: str | None = None,
    *,
    url: str | None = None,
) -> User:
    """Create the user, or replace its password/role/tenant when it exists."""
    if not _USERNAME.match(username or ""):
        raise AuthError("usernames are 1-100 characters: letters, digits, _ . @ -")
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    if role == "viewer" and not tenant_id:
        raise AuthError("a viewer needs --tenant")
    tenant = tenant_id if role == "viewer" else (tenant_id or None)
    digest = hash_password(password)
    with _engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ops.dashboard_users (username, password_hash, role, tenant_id) "
                "VALUES (:u, :h, :r, :t) ON CONFLICT (username) DO UPDATE SET "
                "password_hash = EXCLUDED.password_hash, role = EXCLUDED.role, "
                "tenant_id = EXCLUDED.tenant_id, is_active = true, updated_at = now()"
            ),
            {"u": username, "h": digest, "r": role, "t": tenant},
        )
    return User(username, role, tenant)


def verify_user(username: str, password: str, *, url: str | None = None) -> User | None:
    """The user when the credentials are right (and the user is active), else None."""
    if not username or not password or len(username) > 100:
        bcrypt.checkpw(b"x", _DUMMY_HASH)
        return None
    with _engine(url, "app").begin() as conn:
        row = conn.execute(
            text("SELECT username, password_hash, role, tenant_id FROM ops.dashboard_user_for_sign_in(:u)"),
            {"u": username},
        ).first()
        if row is None:
            bcrypt.checkpw(password.encode("utf-8")[:MAX_PASSWORD_BYTES], _DUMMY_HASH)
            return None
        if not check_password(password, row.password_hash):
            return None
        conn.execute(text("SELECT ops.dashboard_record_sign_in(:u)"), {"u": username})
    return User(row.username, row.role, row.tenant_id)


def list_users(*, url: str | None = None) -> list[User]:
    """Every active user, by name."""
    with _engine(url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT username, role, tenant_id FROM ops.dashboard_users WHERE is_active ORDER BY username"
            )
        ).all()
    return [User(r.username, r.role, r.tenant_id) for r in rows]


def remove_user(username: str, *, url: str | None = None) -> bool:
    """Delete the user; True when one existed."""
    with _engine(url).begin() as conn:
        result = conn.execute(text("DELETE FROM ops.dashboard_users WHERE username = :u"), {"u": username})
    return bool(result.rowcount)


def _read_password(env_var: str | None) -> str:
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise AuthError(f"environment variable {env_var} is not set or empty")
        return value
    if not sys.stdin.isatty():
        raise AuthError("no terminal to prompt for the password: use --password-env VAR")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise AuthError("the passwords do not match")
    return first


def cli_main(args: argparse.Namespace) -> int:
    """`bi users add|list|remove` (argparse namespace from lib.cli)."""
    action = args.action
    if action == "list":
        users = list_users()
        if not users:
            print("no dashboard users")
        for u in users:
            print(f"{u.username}\t{u.role}\t{u.tenant_id or '*'}")
        return 0
    if not args.username:
        print(f"bi users {action}: a USERNAME is required", file=sys.stderr)
        return 2
    if action == "remove":
        found = remove_user(args.username)
        print(f"removed {args.username}" if found else f"no user {args.username}")
        return 0 if found else 1
    try:
        tenant = getattr(args, "tenant", None)
        if args.role == "viewer" and not tenant:
            from lib.config import get_settings

            tenant = get_settings().tenant_id
        password = _read_password(getattr(args, "password_env", None))
        user = add_user(args.username, password, args.role, tenant)
    except AuthError as exc:
        print(f"bi users add: {exc}", file=sys.stderr)
        return 2
    scope = user.tenant_id or "all tenants"
    print(f"user {user.username} saved ({user.role}, {scope})")
    return 0


DEMO_USERNAME = "demo"


def reset_demo_user(tenant_id: str, *, url: str | None = None) -> tuple[str, str]:
    """Create or reset the demo sign-in (a viewer of `tenant_id`) with a fresh random password.

    For `bi demo` only: the password is printed once to the person running the demo.
    """
    import secrets

    password = secrets.token_urlsafe(12)
    add_user(DEMO_USERNAME, password, "viewer", tenant_id, url=url)
    return DEMO_USERNAME, password
