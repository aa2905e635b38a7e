"""Dashboard users: bcrypt-hashed passwords in `ops.dashboard_users` (owner-only table).

Roles: `admin` sees every tenant; `viewer` sees exactly one. `bi users add NAME --role viewer
--tenant T --password-env VAR` creates or updates a user; the password comes from the named env var
or an interactive prompt and is never printed or logged.

Managing users (`bi users`) uses the owner's login. The web process signs users in and checks their
sessions with the dashboards login (`get_engine("app")`), through narrow SECURITY DEFINER functions
(`ops.dashboard_user_for_sign_in`, `ops.dashboard_record_sign_in` of migration 051;
`ops.session_lookup`, `ops.session_end` of 090): it never reads the table itself. Every sign-in attempt costs exactly one bcrypt check at the same cost,
whether the user exists or not and whatever the password's length.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import bcrypt
from sqlalchemy import text

from lib import clock

Role = Literal["admin", "viewer"]
ROLES: tuple[str, ...] = ("admin", "viewer")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MIN_PASSWORD_LENGTH = 8
# bcrypt only looks at the first 72 bytes; longer passwords are rejected rather than truncated.
MAX_PASSWORD_BYTES = 72
# A sign-in form field longer than this is not even encoded (the attempt still costs one bcrypt).
MAX_FIELD_CHARS = 4096
BCRYPT_ROUNDS = 12
# A stored hash above this cost is refused: one attempt never costs more than ~4× a normal one.
MAX_BCRYPT_ROUNDS = 14
_BCRYPT_HASH = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
# A hash of a random password at the same cost as real ones: unknown users cost what known ones do.
_DUMMY_HASH = bcrypt.hashpw(os.urandom(16).hex().encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS))


def clock_now() -> datetime:
    """The current UTC time through `lib.clock` (tests set BI_CLOCK_NOW)."""
    return clock.now()


class UserError(ValueError):
    """A user cannot be created or changed; the message never holds a password."""


@dataclass(frozen=True)
class User:
    """A signed-in (or listed) dashboard user."""

    username: str
    role: Role
    tenant_id: str | None
    uid: int | None = field(default=None, compare=False)
    session_version: int | None = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_session(self, issued_at: datetime) -> dict[str, str | int]:
        """What the web session cookie stores: who, which session version, since when (no secret)."""
        if self.uid is None or self.session_version is None:
            raise UserError("only a user read from the database can start a session")
        return {
            "username": self.username,
            "uid": self.uid,
            "sv": self.session_version,
            "iat": int(issued_at.timestamp()),
        }


def hash_password(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """A bcrypt hash (salted) of the password."""
    _check_password(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """True when the password matches the bcrypt hash; always one full bcrypt check.

    A password over 72 bytes cannot match (none is ever stored), but it is still checked (its first
    72 bytes) so that its answer takes as long as any other.
    """
    raw = password[:MAX_FIELD_CHARS].encode("utf-8") if isinstance(password, str) else b""
    shape = _BCRYPT_HASH.match(password_hash) if isinstance(password_hash, str) else None
    if shape is None or int(shape.group(1)) > MAX_BCRYPT_ROUNDS:
        bcrypt.checkpw(raw[:MAX_PASSWORD_BYTES], _DUMMY_HASH)
        return False
    ok = bcrypt.checkpw(raw[:MAX_PASSWORD_BYTES], password_hash.encode("ascii"))
    return ok and len(raw) <= MAX_PASSWORD_BYTES


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UserError(f"the password must be at most {MAX_PASSWORD_BYTES} bytes")


def _engine(url: str | None = None, role: str = "owner"):  # sqlalchemy Engine
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
        raise UserError("usernames are 1-100 characters: letters, digits, _ . @ -")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role == "viewer" and not tenant_id:
        raise UserError("a viewer needs --tenant")
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


def app_engine(url: str | None = None):
    """The dashboards login (APP_DATABASE_URL): sign-in, session checks, throttling."""
    return _engine(url, "app")


def verify_user(username: str, password: str, *, url: str | None = None) -> User | None:
    """The user when the credentials are right (and the user is active), else None.

    Known or unknown user, short or over-long password: one lookup and one bcrypt check each.
    """
    name = username if isinstance(username, str) and _USERNAME.match(username) else ""  # "" matches none
    with app_engine(url).begin() as conn:
        row = conn.execute(
            text(
                "SELECT id, username, password_hash, role, tenant_id, session_version "
                "FROM ops.dashboard_user_for_sign_in(:u)"
            ),
            {"u": name},
        ).first()
    ok = check_password(password, row.password_hash if row is not None else _DUMMY_HASH.decode("ascii"))
    if row is None or not ok:
        return None
    with app_engine(url).begin() as conn:
        conn.execute(text("SELECT ops.dashboard_record_sign_in(:u)"), {"u": row.username})
    return User(row.username, row.role, row.tenant_id, row.id, row.session_version)


def session_user(uid: int, *, url: str | None = None) -> User | None:
    """The active user behind a session id (with its current session version), or None."""
    with app_engine(url).begin() as conn:
        row = conn.execute(text("SELECT * FROM ops.session_lookup(:i)"), {"i": uid}).first()
    if row is None:
        return None
    return User(row.username, row.role, row.tenant_id, row.id, row.session_version)


def end_sessions(uid: int, version: int, *, url: str | None = None) -> bool:
    """Sign-out everywhere: bump the user's session version (only from the current one)."""
    with app_engine(url).begin() as conn:
        new = conn.execute(text("SELECT ops.session_end(:i, :v)"), {"i": uid, "v": version}).scalar()
    return new is not None


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
            raise UserError(f"environment variable {env_var} is not set or empty")
        return value
    if not sys.stdin.isatty():
        raise UserError("no terminal to prompt for the password: use --password-env VAR")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise UserError("the passwords do not match")
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
    except UserError as exc:
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
